#include "backend-choice.h"

#include <string.h>

cascade_status cli_backend_new(const char *name, int threads, cascade_backend **out,
                               cascade_error *err) {
    *out = NULL;
    if (!name || !strcmp(name, "cpu")) {
        cascade_cpu_options opt;
        cascade_cpu_options_init(&opt);
        opt.n_threads = threads;
        return cascade_backend_cpu_new(&opt, out, err);
    }
    return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                             "backend '%s' is not available in this build (cpu)", name);
}
