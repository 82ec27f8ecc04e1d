/* Write-to-temporary-then-rename output files (see out-file.h). */
#include "out-file.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

cascade_status cascade_io_out_open(const char *path, cascade_io_out *o, cascade_error *err) {
    o->f = NULL;
    o->tmp = g_strdup_printf("%s.tmp-XXXXXX", path);
    int fd = g_mkstemp(o->tmp);
    if (fd < 0) {
        int e = errno;
        g_free(o->tmp);
        o->tmp = NULL;
        return cascade_error_set(err, CASCADE_STATUS_IO, "%s: cannot create: %s", path,
                                 g_strerror(e));
    }
    /* mkstemp makes the file 0600; a written output is an ordinary file. */
    (void)fchmod(fd, 0644);
    o->f = fdopen(fd, "wb");
    if (!o->f) {
        int e = errno;
        close(fd);
        cascade_io_out_abort(o);
        return cascade_error_set(err, CASCADE_STATUS_IO, "%s: cannot create: %s", path,
                                 g_strerror(e));
    }
    return CASCADE_STATUS_OK;
}

cascade_status cascade_io_out_commit(cascade_io_out *o, const char *path, cascade_error *err) {
    int rc = fflush(o->f) == 0 && !ferror(o->f) ? 0 : -1, e = errno;
    if (fclose(o->f) != 0 && rc == 0) rc = -1, e = errno;
    o->f = NULL;
    if (rc == 0 && rename(o->tmp, path) != 0) {
        e = errno;
        cascade_io_out_abort(o);
        return cascade_error_set(err, CASCADE_STATUS_IO, "%s: cannot rename into place: %s",
                                 path, g_strerror(e));
    }
    if (rc != 0) {
        cascade_io_out_abort(o);
        return cascade_error_set(err, CASCADE_STATUS_IO, "%s: write failed: %s", path,
                                 g_strerror(e));
    }
    g_free(o->tmp);
    o->tmp = NULL;
    return CASCADE_STATUS_OK;
}

void cascade_io_out_abort(cascade_io_out *o) {
    if (o->f) fclose(o->f);
    o->f = NULL;
    if (o->tmp) g_unlink(o->tmp);
    g_free(o->tmp);
    o->tmp = NULL;
}
