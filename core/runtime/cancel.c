#include "cascade/cancel.h"

void cascade_cancel_init(cascade_cancel *c) { __atomic_store_n(&c->raised, 0, __ATOMIC_SEQ_CST); }
void cascade_cancel_raise(cascade_cancel *c) { __atomic_store_n(&c->raised, 1, __ATOMIC_SEQ_CST); }
void cascade_cancel_reset(cascade_cancel *c) { __atomic_store_n(&c->raised, 0, __ATOMIC_SEQ_CST); }

bool cascade_cancel_is_raised(const cascade_cancel *c) {
    return c && __atomic_load_n(&c->raised, __ATOMIC_SEQ_CST) != 0;
}
