/* Internal to core/io: output files written whole or not at all. The data goes to a
 * temporary file beside the target (same folder, so same file system) that is renamed over
 * it once complete: a failed or cancelled write leaves the previous file byte-identical and
 * no truncated output. Used by the safetensors and PNG writers. */
#ifndef CASCADE_OUT_FILE_H
#define CASCADE_OUT_FILE_H

#include <stdio.h>

#include "cascade/status.h"

typedef struct cascade_io_out {
    char *target; /* path, or the file its symbolic links lead to */
    char *tmp;    /* "<target>.tmp-XXXXXX" */
    FILE *f;
} cascade_io_out;

/* Creates the temporary file; o->f is ready for writing. IO naming path and the reason. */
cascade_status cascade_io_out_open(const char *path, cascade_io_out *o, cascade_error *err);
/* Closes (flushing) and renames over the target (path names it in messages); on failure the temporary file is removed. */
cascade_status cascade_io_out_commit(cascade_io_out *o, const char *path, cascade_error *err);
/* Closes and removes the temporary file; NULL-safe on a never-opened (zeroed) o. */
void cascade_io_out_abort(cascade_io_out *o);

#endif
