#include "backend-choice.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef CASCADE_HAVE_VULKAN
#include "cascade/vulkan.h"
#endif

cascade_status cli_backend_new(const char *name, int threads, cascade_backend **out,
                               cascade_error *err) {
    *out = NULL;
    if (!name || !strcmp(name, "cpu")) {
        cascade_cpu_options opt;
        cascade_cpu_options_init(&opt);
        opt.n_threads = threads;
        return cascade_backend_cpu_new(&opt, out, err);
    }
#ifdef CASCADE_HAVE_VULKAN
    /* vulkan-fp16 keeps weights and activations in fp16 storage (fp32 accumulation);
     * ":DEVICE" picks a device by index or by a substring of its name (`cascade devices`) */
    const char *colon = strchr(name, ':');
    size_t      kind = colon ? (size_t)(colon - name) : strlen(name);
    bool        fp32 = kind == 6 && !strncmp(name, "vulkan", 6);
    bool        fp16 = kind == 11 && !strncmp(name, "vulkan-fp16", 11);
    bool        int8 = kind == 11 && !strncmp(name, "vulkan-int8", 11);
    if (fp32 || fp16 || int8) {
        cascade_vulkan_options opt;
        cascade_vulkan_options_init(&opt);
        opt.precision = fp16 ? CASCADE_VULKAN_PRECISION_FP16 : CASCADE_VULKAN_PRECISION_FP32;
        opt.weights_int8 = int8; /* fp32 activations, int8 GEMM weights */
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
                             "unknown backend '%s' (cpu, vulkan[:DEVICE], vulkan-fp16[:DEVICE], "
                             "vulkan-int8[:DEVICE])",
                             name);
#else
    return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                             "backend '%s' is not available in this build (cpu)", name);
#endif
}
