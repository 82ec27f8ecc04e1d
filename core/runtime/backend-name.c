/* cascade_backend_new_by_name (see backend-name.h). */
#include "cascade/backend-name.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef CASCADE_HAVE_VULKAN
#include "cascade/vulkan.h"
#endif

static cascade_status cpu_new(int threads, cascade_backend **out, cascade_error *err) {
    cascade_cpu_options opt;
    cascade_cpu_options_init(&opt);
    opt.n_threads = threads;
    return cascade_backend_cpu_new(&opt, out, err);
}

#ifdef CASCADE_HAVE_VULKAN
/* True when a Vulkan device is a real GPU (not a CPU driver such as lavapipe). */
static bool have_gpu(void) {
    cascade_vulkan_device_info *devs = NULL;
    int                         n = 0;
    bool                        gpu = false;
    cascade_error               ignored;
    cascade_error_init(&ignored);
    if (cascade_vulkan_list_devices(&devs, &n, &ignored) == CASCADE_STATUS_OK)
        for (int i = 0; i < n; i++)
            gpu |= devs[i].type == CASCADE_VULKAN_DEVICE_DISCRETE ||
                   devs[i].type == CASCADE_VULKAN_DEVICE_INTEGRATED;
    free(devs);
    return gpu;
}
#endif

cascade_status cascade_backend_new_by_name(const char *name, int threads, cascade_backend **out,
                                           cascade_error *err) {
    *out = NULL;
    if (!name || !*name || !strcmp(name, "cpu")) return cpu_new(threads, out, err);
#ifdef CASCADE_HAVE_VULKAN
    if (!strcmp(name, "auto")) {
        cascade_vulkan_options opt;
        cascade_vulkan_options_init(&opt);
        cascade_error ignored;
        cascade_error_init(&ignored);
        if (have_gpu() && cascade_backend_vulkan_new(&opt, out, &ignored) == CASCADE_STATUS_OK)
            return CASCADE_STATUS_OK;
        return cpu_new(threads, out, err);
    }
    const char *colon = strchr(name, ':');
    size_t      kind = colon ? (size_t)(colon - name) : strlen(name);
    bool        fp32 = kind == 6 && !strncmp(name, "vulkan", 6);
    bool        fp16 = kind == 11 && !strncmp(name, "vulkan-fp16", 11);
    bool        int8 = kind == 11 && !strncmp(name, "vulkan-int8", 11);
    if (fp32 || fp16 || int8) {
        cascade_vulkan_options opt;
        cascade_vulkan_options_init(&opt);
        opt.precision = fp16 ? CASCADE_VULKAN_PRECISION_FP16 : CASCADE_VULKAN_PRECISION_FP32;
        opt.weights_int8 = int8;
        if (colon) {
            const char *dev = colon + 1;
            char       *end = NULL;
            long        idx = strtol(dev, &end, 10);
            if (!*dev)
                return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                         "backend '%s': no device after ':'", name);
            if (*end == '\0' && idx >= 0 && idx < 1024)
                opt.device_index = (int)idx;
            else if (strlen(dev) < sizeof opt.name_contains)
                snprintf(opt.name_contains, sizeof opt.name_contains, "%s", dev);
            else
                return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                         "backend '%s': device name too long", name);
        }
        return cascade_backend_vulkan_new(&opt, out, err);
    }
    return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                             "unknown backend '%s' (auto, cpu, vulkan[:DEVICE], "
                             "vulkan-fp16[:DEVICE], vulkan-int8[:DEVICE])",
                             name);
#else
    if (!strcmp(name, "auto")) return cpu_new(threads, out, err);
    return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                             "backend '%s' is not available in this build (auto, cpu)", name);
#endif
}
