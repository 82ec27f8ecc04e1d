/* libFuzzer harness: a scheduler_config.json (cascade_scheduler_new), then a short run of the
 * schedule it describes: set_timesteps, scale_model_input and step on a 1x1x2x2 sample, and
 * add_noise. A config is refused with a message, or its timesteps are finite; nothing may
 * read out of bounds or overflow. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "cascade/config.h"
#include "cascade/scheduler.h"
#include "fuzz-common.h"

static void run(cascade_scheduler *s, int64_t n) {
    cascade_error err;
    cascade_error_init(&err);
    if (cascade_scheduler_set_timesteps(s, n, &err) != CASCADE_STATUS_OK) {
        FUZZ_ASSERT(err.message[0]);
        return;
    }
    size_t        nt = 0;
    const double *t = cascade_scheduler_timesteps(s, &nt);
    FUZZ_ASSERT(t && nt >= 1);
    for (size_t i = 0; i < nt; i++)
        FUZZ_ASSERT(isfinite(t[i]));
    size_t ns = 0;
    (void)cascade_scheduler_sigmas(s, &ns);

    const int64_t shape[4] = {1, 1, 2, 2};
    float         x[4] = {0.5f, -0.25f, 1.0f, 0.0f}, in[4], model[8], prev[4], x0[4];
    float         noise[4] = {0.1f, -0.2f, 0.3f, -0.4f};
    cascade_rng   rng;
    cascade_rng_init(&rng, 1);
    cascade_step_options opt;
    cascade_step_options_init(&opt);
    opt.rng = &rng;
    const int64_t mc = cascade_scheduler_learned_variance(s) ? 2 : 1;
    for (size_t i = 0; i < nt && i < 8; i++) {
        cascade_error_init(&err);
        if (cascade_scheduler_scale_model_input(s, t[i], x, 4, in, &err)) break;
        for (int k = 0; k < 8; k++)
            model[k] = 0.1f * (float)k - 0.3f;
        if (cascade_scheduler_step(s, t[i], model, mc, x, shape, &opt, prev, x0, &err)) {
            FUZZ_ASSERT(err.message[0]);
            break;
        }
        memcpy(x, prev, sizeof x);
    }
    float out[4];
    cascade_error_init(&err);
    (void)cascade_scheduler_add_noise(s, x, noise, shape, &t[0], 1, out, &err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_init();
    cascade_config *cfg = NULL;
    cascade_error   err;
    cascade_error_init(&err);
    cascade_status st =
        cascade_config_parse((const char *)data, size, "scheduler_config.json", &cfg, &err);
    fuzz_check_failure(st, &err, "scheduler_config.json");
    if (st) return 0;
    cascade_scheduler *s = NULL;
    st = cascade_scheduler_new(cfg, &s, &err);
    fuzz_check_failure(st, &err, NULL);
    FUZZ_ASSERT((st == CASCADE_STATUS_OK) == (s != NULL));
    if (s) {
        const int64_t T = cascade_scheduler_num_train_timesteps(s);
        FUZZ_ASSERT(T >= 1);
        FUZZ_ASSERT(cascade_scheduler_alphas_cumprod(s));
        run(s, 1);
        run(s, T < 7 ? T : 7);
        if (T <= 1000) run(s, T);
        cascade_scheduler_free(s);
    }
    cascade_config_free(cfg);
    return 0;
}
