#include "cascade/status.h"

#include <stdio.h>
#include <string.h>

void cascade_error_init(cascade_error *err) {
    if (!err) return;
    err->status = CASCADE_STATUS_OK;
    err->message[0] = '\0';
}

cascade_status cascade_error_setv(cascade_error *err, cascade_status status, const char *fmt,
                                  va_list ap) {
    if (err && err->status == CASCADE_STATUS_OK && status != CASCADE_STATUS_OK) {
        err->status = status;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        /* out-of-memory sites name only what they could not allocate ("stage I image"):
         * say what happened, so the message read alone (the CLI prints just it) is clear */
        if (status == CASCADE_STATUS_OUT_OF_MEMORY && !strcasestr(err->message, "memory")) {
            size_t n = strlen(err->message);
            snprintf(err->message + n, sizeof err->message - n, "%sout of memory", n ? ": " : "");
        }
    }
    return status;
}

cascade_status cascade_error_set(cascade_error *err, cascade_status status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    cascade_error_setv(err, status, fmt, ap);
    va_end(ap);
    return status;
}

void cascade_error_prefix(cascade_error *err, const char *fmt, ...) {
    if (!err || err->status == CASCADE_STATUS_OK) return;
    char    prefix[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    size_t np = strlen(prefix), cap = sizeof err->message;
    if (np >= cap) np = cap - 1;
    size_t nm = strnlen(err->message, cap - 1);
    if (np + nm >= cap) nm = cap - 1 - np;
    memmove(err->message + np, err->message, nm);
    memcpy(err->message, prefix, np);
    err->message[np + nm] = '\0';
}

const char *cascade_status_name(cascade_status status) {
    switch (status) {
    case CASCADE_STATUS_OK: return "ok";
    case CASCADE_STATUS_INVALID_ARG: return "invalid argument";
    case CASCADE_STATUS_UNSUPPORTED: return "unsupported";
    case CASCADE_STATUS_OUT_OF_MEMORY: return "out of memory";
    case CASCADE_STATUS_DEVICE_LOST: return "device lost";
    case CASCADE_STATUS_CANCELLED: return "cancelled";
    case CASCADE_STATUS_IO: return "i/o error";
    case CASCADE_STATUS_FORMAT: return "format error";
    }
    return "unknown status";
}
