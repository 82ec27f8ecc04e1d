/* Makes the backend the runner was asked for ("cpu", "vulkan"). */
#ifndef CASCADE_GOLDEN_BACKEND_H
#define CASCADE_GOLDEN_BACKEND_H

#include "cascade/backend.h"

cascade_status golden_backend_new(const char *name, const char *precision, cascade_backend **out,
                                  cascade_error *err);

#endif
