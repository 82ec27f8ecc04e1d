/* Makes the backend the runner was asked for ("cpu", "vulkan"). */
#ifndef CASCADE_GOLDEN_BACKEND_H
#define CASCADE_GOLDEN_BACKEND_H

#include "cascade/backend.h"

cascade_status golden_backend_new(const char *name, const char *precision, cascade_backend **out,
                                  cascade_error *err);

/* Validation-layer messages the backend has seen so far (0 for CPU or without validation). */
uint64_t golden_backend_validation_messages(const cascade_backend *be);

#endif
