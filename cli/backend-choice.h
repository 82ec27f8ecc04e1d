/* The --backend / --threads options shared by the commands that run models. */
#ifndef CASCADE_CLI_BACKEND_CHOICE_H
#define CASCADE_CLI_BACKEND_CHOICE_H

#include "cascade/backend.h"

/* name: "cpu" (default when NULL) or "vulkan" where built; threads 0 = all cores. */
cascade_status cli_backend_new(const char *name, int threads, cascade_backend **out,
                               cascade_error *err);

#endif
