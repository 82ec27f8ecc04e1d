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
        CASCADE_TRY(cascade_backend_vulkan_new(&opt, out, err));
        /* fp16 must really mean fp16 storage on the device, not a silent fp32 fallback */
        if (opt.precision == CASCADE_VULKAN_PRECISION_FP16 &&
            !cascade_vulkan_backend_uses_fp16(*out)) {
            cascade_backend_free(*out);
            *out = NULL;
            return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                                     "vulkan: fp16 asked for, but plans store fp32");
        }
        return CASCADE_STATUS_OK;
    }
#endif
    return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED, "unknown backend '%s'", name);
}

uint64_t golden_backend_validation_messages(const cascade_backend *be) {
#ifdef CASCADE_HAVE_VULKAN
    return cascade_vulkan_validation_messages(be);
#else
    (void)be;
    return 0;
#endif
}
