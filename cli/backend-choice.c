#include "backend-choice.h"

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
    /* vulkan-fp16 keeps weights and activations in fp16 storage (fp32 accumulation) */
    if (!strcmp(name, "vulkan") || !strcmp(name, "vulkan-fp16")) {
        cascade_vulkan_options opt;
        cascade_vulkan_options_init(&opt);
        opt.precision = strcmp(name, "vulkan") ? CASCADE_VULKAN_PRECISION_FP16
                                               : CASCADE_VULKAN_PRECISION_FP32;
        return cascade_backend_vulkan_new(&opt, out, err);
    }
    return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                             "unknown backend '%s' (cpu, vulkan, vulkan-fp16)", name);
#else
    return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                             "backend '%s' is not available in this build (cpu)", name);
#endif
}
