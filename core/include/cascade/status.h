/* Status codes and the caller-owned error record every fallible core call fills. */
#ifndef CASCADE_STATUS_H
#define CASCADE_STATUS_H

#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cascade_status {
    CASCADE_STATUS_OK = 0,
    CASCADE_STATUS_INVALID_ARG,   /* caller passed something unusable (shape, option, value) */
    CASCADE_STATUS_UNSUPPORTED,   /* valid, but this engine or backend does not implement it */
    CASCADE_STATUS_OUT_OF_MEMORY, /* host or device allocation failed */
    CASCADE_STATUS_DEVICE_LOST,   /* the GPU went away; retry on another device */
    CASCADE_STATUS_CANCELLED,     /* the cancel flag was raised */
    CASCADE_STATUS_IO,            /* a file could not be opened, read or written */
    CASCADE_STATUS_FORMAT,        /* a file's content is malformed or inconsistent */
} cascade_status;

/* Caller-owned, usually on the stack. The first failure wins: later calls to
 * cascade_error_set keep the original message, so the root cause is reported. */
typedef struct cascade_error {
    cascade_status status;
    char           message[512];
} cascade_error;

void cascade_error_init(cascade_error *err);

/* Records the failure in err (may be NULL) unless one is already recorded; returns status.
 * An OUT_OF_MEMORY message that does not mention memory gets ": out of memory" appended, so
 * allocation sites may name just what they could not allocate. */
cascade_status cascade_error_set(cascade_error *err, cascade_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
cascade_status cascade_error_setv(cascade_error *err, cascade_status status, const char *fmt,
                                  va_list ap);

/* Prefixes the recorded message with context ("unet/config.json: "), keeping the status. */
void cascade_error_prefix(cascade_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

const char *cascade_status_name(cascade_status status);

#define CASCADE_TRY(expr)                                                                         \
    do {                                                                                          \
        cascade_status cascade_try_st_ = (expr);                                                  \
        if (cascade_try_st_ != CASCADE_STATUS_OK) return cascade_try_st_;                         \
    } while (0)

#ifdef __cplusplus
}
#endif

#endif
