/* Internal to core: why a file could not be read or written, in words a user can act on.
 * strerror(ELOOP) reads "Too many levels of symbolic links", which hides that the path is a
 * loop; GLib's file errors repeat the path the caller already names. */
#ifndef CASCADE_IO_REASON_H
#define CASCADE_IO_REASON_H

#include <glib.h>

/* The reason for errno value e ("a loop of symbolic links", else strerror). Static text. */
const char *cascade_io_errno_reason(int e);

/* The reason behind a GLib file error (g_file_get_contents, g_mapped_file_new, ...): the
 * errno reason when it is a G_FILE_ERROR, else its message. Borrowed from gerr or static. */
const char *cascade_io_gerror_reason(const GError *gerr);

#endif
