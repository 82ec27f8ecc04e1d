/* Readable reasons for file errors (see io-reason.h). */
#include <errno.h>

#include "io-reason.h"

const char *cascade_io_errno_reason(int e) {
    if (e == ELOOP) return "a loop of symbolic links (or too many links in a row)";
    return g_strerror(e);
}

static int errno_of_file_error(int code) {
    switch (code) {
    case G_FILE_ERROR_EXIST: return EEXIST;
    case G_FILE_ERROR_ISDIR: return EISDIR;
    case G_FILE_ERROR_ACCES: return EACCES;
    case G_FILE_ERROR_NAMETOOLONG: return ENAMETOOLONG;
    case G_FILE_ERROR_NOENT: return ENOENT;
    case G_FILE_ERROR_NOTDIR: return ENOTDIR;
    case G_FILE_ERROR_NXIO: return ENXIO;
    case G_FILE_ERROR_NODEV: return ENODEV;
    case G_FILE_ERROR_ROFS: return EROFS;
    case G_FILE_ERROR_LOOP: return ELOOP;
    case G_FILE_ERROR_NOSPC: return ENOSPC;
    case G_FILE_ERROR_NOMEM: return ENOMEM;
    case G_FILE_ERROR_MFILE: return EMFILE;
    case G_FILE_ERROR_NFILE: return ENFILE;
    case G_FILE_ERROR_BADF: return EBADF;
    case G_FILE_ERROR_INVAL: return EINVAL;
    case G_FILE_ERROR_IO: return EIO;
    case G_FILE_ERROR_PERM: return EPERM;
    default: return 0;
    }
}

const char *cascade_io_gerror_reason(const GError *gerr) {
    if (!gerr) return "unknown error";
    int e = gerr->domain == G_FILE_ERROR ? errno_of_file_error(gerr->code) : 0;
    return e ? cascade_io_errno_reason(e) : gerr->message;
}
