#include <string.h>

#include "golden-backend.h"

#ifdef CASCADE_HAVE_VULKAN
#include "cascade/vulkan.h"
#endif

cascade_status golden_backend_new(const char *name, const char *precision, cascade_backend **out,
                                  cascade_error *err) {
    *out = NULL;
    if (strcmp(name, "cpu") == 0) {
        if (strcmp(precision, "fp32") != 0)
            return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                                     "the CPU backend computes in fp32 only");
        cascade_cpu_options opt;
        cascade_cpu_options_init(&opt);
        return cascade_backend_cpu_new(&opt, out, err);
    }
#ifdef CASCADE_HAVE_VULKAN
    if (strcmp(name, "vulkan") == 0) {
        cascade_vulkan_options opt;
        cascade_vulkan_options_init(&opt);
        if (strcmp(precision, "fp32") == 0)
            opt.precision = CASCADE_VULKAN_PRECISION_FP32;
        else if (strcmp(precision, "fp16") == 0)
            opt.precision = CASCADE_VULKAN_PRECISION_FP16;
        else
            return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                     "unknown precision '%s' (fp32, fp16)", precision);
        return cascade_backend_vulkan_new(&opt, out, err);
    }
#endif
    return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED, "unknown backend '%s'", name);
}
