#include <string.h>

#include "golden-backend.h"

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
    return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED, "unknown backend '%s'", name);
}
