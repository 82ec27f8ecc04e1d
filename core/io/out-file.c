/* Write-to-temporary-then-rename output files (see out-file.h). */
#include "out-file.h"
#include "io-reason.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

/* The file a write to path lands in: path itself, or where its chain of symbolic links ends
 * (renaming over a link would replace the link, not the file the user pointed it at). NULL
 * with errno ELOOP for a loop. */
static char *resolve_target(const char *path) {
    char *cur = g_strdup(path);
    for (int hops = 0; hops < 40; hops++) {
        if (!g_file_test(cur, G_FILE_TEST_IS_SYMLINK)) return cur;
        char *link = g_file_read_link(cur, NULL);
        if (!link) return cur; /* vanished meanwhile: write to the name itself */
        char *next;
        if (g_path_is_absolute(link)) {
            next = g_strdup(link);
        } else {
            char *dir = g_path_get_dirname(cur);
            next = g_build_filename(dir, link, NULL);
            g_free(dir);
        }
        g_free(link);
        g_free(cur);
        cur = next;
    }
    g_free(cur);
    errno = ELOOP;
    return NULL;
}

cascade_status cascade_io_out_open(const char *path, cascade_io_out *o, cascade_error *err) {
    o->f = NULL;
    o->tmp = NULL;
    o->target = resolve_target(path);
    if (!o->target)
        return cascade_error_set(err, CASCADE_STATUS_IO, "%s: cannot create: %s", path,
                                 cascade_io_errno_reason(ELOOP));
    o->tmp = g_strdup_printf("%s.tmp-XXXXXX", o->target);
    int fd = g_mkstemp(o->tmp);
    if (fd < 0) {
        int e = errno;
        cascade_io_out_abort(o);
        return cascade_error_set(err, CASCADE_STATUS_IO, "%s: cannot create: %s", path,
                                 cascade_io_errno_reason(e));
    }
    /* mkstemp makes the file 0600; a written output is an ordinary file. */
    (void)fchmod(fd, 0644);
    o->f = fdopen(fd, "wb");
    if (!o->f) {
        int e = errno;
        close(fd);
        cascade_io_out_abort(o);
        return cascade_error_set(err, CASCADE_STATUS_IO, "%s: cannot create: %s", path,
                                 cascade_io_errno_reason(e));
    }
    return CASCADE_STATUS_OK;
}

cascade_status cascade_io_out_commit(cascade_io_out *o, const char *path, cascade_error *err) {
    int rc = fflush(o->f) == 0 && !ferror(o->f) ? 0 : -1, e = errno;
    if (fclose(o->f) != 0 && rc == 0) rc = -1, e = errno;
    o->f = NULL;
    if (rc == 0 && rename(o->tmp, o->target) != 0) {
        e = errno;
        cascade_io_out_abort(o);
        return cascade_error_set(err, CASCADE_STATUS_IO, "%s: cannot rename into place: %s",
                                 path, cascade_io_errno_reason(e));
    }
    if (rc != 0) {
        cascade_io_out_abort(o);
        return cascade_error_set(err, CASCADE_STATUS_IO, "%s: write failed: %s", path,
                                 cascade_io_errno_reason(e));
    }
    g_free(o->tmp);
    o->tmp = NULL;
    g_free(o->target);
    o->target = NULL;
    return CASCADE_STATUS_OK;
}

void cascade_io_out_abort(cascade_io_out *o) {
    if (o->f) fclose(o->f);
    o->f = NULL;
    if (o->tmp) g_unlink(o->tmp);
    g_free(o->tmp);
    o->tmp = NULL;
    g_free(o->target);
    o->target = NULL;
}
