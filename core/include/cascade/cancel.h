/* A cancel flag shared between the thread that runs a model and the one that may stop it. */
#ifndef CASCADE_CANCEL_H
#define CASCADE_CANCEL_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Thread-safe: any thread may raise it; runners poll it between nodes and steps. */
typedef struct cascade_cancel {
    volatile int raised; /* accessed with atomic builtins only */
} cascade_cancel;

void cascade_cancel_init(cascade_cancel *c);
void cascade_cancel_raise(cascade_cancel *c);
void cascade_cancel_reset(cascade_cancel *c);
/* NULL-safe: a NULL flag is never raised. */
bool cascade_cancel_is_raised(const cascade_cancel *c);

#ifdef __cplusplus
}
#endif

#endif
