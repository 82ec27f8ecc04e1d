/* A backend chosen by name: the one rule every front end (the CLI's --backend, the dialog's
 * device list, the plug-in's recipe) follows. */
#ifndef CASCADE_BACKEND_NAME_H
#define CASCADE_BACKEND_NAME_H

#include "cascade/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* name:
 *   NULL, "" or "cpu"   the CPU backend (threads: 0 = one per core)
 *   "auto"              Vulkan on a real GPU (discrete or integrated) when there is one,
 *                       else the CPU: a CPU Vulkan driver (lavapipe) is slower than it
 *   "vulkan", "vulkan-fp16", "vulkan-int8"
 *                       Vulkan with fp32 activations, fp16 storage (fp32 accumulation), or
 *                       fp32 activations with int8 weight-only LINEAR/CONV2D weights
 *   any of these + ":DEVICE"
 *                       a device by index or by a case-insensitive substring of its name, as
 *                       `cascade devices` lists them ($CASCADE_VK_DEVICE overrides it)
 * UNSUPPORTED for an unknown name or Vulkan in a build without it, naming the choices. */
cascade_status cascade_backend_new_by_name(const char *name, int threads, cascade_backend **out,
                                           cascade_error *err);

#ifdef __cplusplus
}
#endif

#endif
