/* The --backend / --threads options shared by the commands that run models. */
#ifndef CASCADE_CLI_BACKEND_CHOICE_H
#define CASCADE_CLI_BACKEND_CHOICE_H

#include "cascade/backend.h"

/* name: "cpu" (default when NULL), or where built "vulkan" / "vulkan-fp16" / "vulkan-int8"
 * (fp32 activations, int8 weight-only LINEAR/CONV2D weights), optionally
 * followed by ":DEVICE", a device index or a case-insensitive substring of its name as
 * `cascade devices` lists them ($CASCADE_VK_DEVICE overrides it); threads 0 = all cores. */
cascade_status cli_backend_new(const char *name, int threads, cascade_backend **out,
                               cascade_error *err);

#endif
