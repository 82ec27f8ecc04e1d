/* libFuzzer harness: cascade_config_parse on arbitrary bytes, then the typed getters on the
 * keys a U-Net or T5 config uses, then check_all_used. Nothing may crash or read out of
 * bounds, whatever the JSON types. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cascade/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cascade_config *cfg = NULL;
    cascade_error   err;
    cascade_error_init(&err);
    if (cascade_config_parse((const char *)data, size, "fuzz.json", &cfg, &err) !=
        CASCADE_STATUS_OK) {
        if (err.status == CASCADE_STATUS_OK || !strstr(err.message, "fuzz.json")) __builtin_trap();
        return 0;
    }
    int64_t       i, iv[4];
    double        d, dv[4];
    bool          b, bv[4];
    const char   *s, *sv[4];
    size_t        n;
    cascade_error e;
    /* each getter on its own error record so every one runs */
#define G(call) (cascade_error_init(&e), (void)(call))
    G(cascade_config_int(cfg, "sample_size", 64, &i, &e));
    G(cascade_config_float(cfg, "norm_eps", 1e-5, &d, &e));
    G(cascade_config_bool(cfg, "flip_sin_to_cos", true, &b, &e));
    static const char def_act[] = "silu";
    G(cascade_config_string(cfg, "act_fn", def_act, &s, &e));
    if (s && s != def_act && strlen(s) > size) __builtin_trap(); /* must point into the parse */
    G(cascade_config_int_array(cfg, "attention_head_dim", true, iv, 4, &n, &e));
    if (n > 4) __builtin_trap();
    G(cascade_config_int_array(cfg, "block_out_channels", false, iv, 4, &n, &e));
    if (n > 4) __builtin_trap();
    G(cascade_config_float_array(cfg, "betas", true, dv, 4, &n, &e));
    if (n > 4) __builtin_trap();
    G(cascade_config_bool_array(cfg, "only_cross_attention", true, bv, 4, &n, &e));
    if (n > 4) __builtin_trap();
    G(cascade_config_string_array(cfg, "down_block_types", sv, 4, &n, &e));
    if (n > 4) __builtin_trap();
    (void)cascade_config_has(cfg, "mid_block_type");
    (void)cascade_config_is_null(cfg, "class_embed_type");
    static const char *const ign[] = {"_class_name", "_diffusers_version", NULL};
    cascade_config_ignore(cfg, ign);
    cascade_error_init(&e);
    if (cascade_config_check_all_used(cfg, &e) != CASCADE_STATUS_OK &&
        (e.status != CASCADE_STATUS_UNSUPPORTED || !strstr(e.message, "is not supported")))
        __builtin_trap();
#undef G
    cascade_config_free(cfg);
    return 0;
}
