/* See cascade/generation-defaults.h. */
#include "cascade/generation-defaults.h"

#include <glib.h>
#include <stdint.h>

#include "cascade/config.h"

static cascade_status range_error(cascade_config *cfg, const char *key, const char *range,
                                  cascade_error *err) {
    return cascade_error_set(err, CASCADE_STATUS_FORMAT, "%s: \"%s\" must be %s",
                             cascade_config_path(cfg), key, range);
}

cascade_status cascade_generation_defaults_load(const char *dir, cascade_generation_defaults *d,
                                                cascade_error *err) {
    cascade_config *cfg = NULL;
    cascade_status  st = cascade_config_load_optional(dir, "generation_defaults.json", &cfg, err);
    if (st || !cfg) return st;
    int64_t steps = 0, noise = 0;
    double  guidance = 0, strength = 0;
    if (!(st = cascade_config_int(cfg, "steps", d->steps, &steps, err)) &&
        !(st = cascade_config_float(cfg, "guidance", d->guidance, &guidance, err)) &&
        !(st = cascade_config_int(cfg, "noise_level", d->noise_level, &noise, err)) &&
        !(st = cascade_config_float(cfg, "strength", d->strength, &strength, err))) {
        if (steps < 1 || steps > 1000) st = range_error(cfg, "steps", "1..1000", err);
        else if (!(guidance >= 0 && guidance <= 100))
            st = range_error(cfg, "guidance", "0..100", err);
        else if (noise < 0 || noise > 999) st = range_error(cfg, "noise_level", "0..999", err);
        else if (!(strength > 0 && strength <= 1))
            st = range_error(cfg, "strength", "in (0, 1]", err);
        else st = cascade_config_check_all_used(cfg, err);
    }
    if (!st) {
        d->steps = (long)steps;
        d->guidance = guidance;
        d->noise_level = (long)noise;
        d->strength = strength;
    }
    cascade_config_free(cfg);
    return st;
}

void cascade_generation_defaults_init(cascade_generation_defaults *d, int stage) {
    *d = (cascade_generation_defaults){
        .steps = stage == 1 ? 50 : 25, .guidance = stage == 1 ? 7.0 : 4.0, .noise_level = 250,
        .strength = 1.0};
}

cascade_status cascade_generation_defaults_resolve(const char *dir, int stage,
                                                   cascade_generation_defaults *d,
                                                   cascade_error *err) {
    cascade_generation_defaults_init(d, stage);
    return dir ? cascade_generation_defaults_load(dir, d, err) : CASCADE_STATUS_OK;
}
