/* config.json: typed getters, defaults, type errors, used-field tracking, golden configs. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cascade/config.h"
#include "test-common.h"

static const char *UNET_JSON =
    "{\"_class_name\": \"UNet2DConditionModel\", \"sample_size\": 64, \"in_channels\": 3,"
    " \"norm_eps\": 1e-05, \"scale\": 2, \"center_input_sample\": false,"
    " \"act_fn\": \"silu\", \"block_out_channels\": [32, 64, 96],"
    " \"attention_head_dim\": 8, \"down_block_types\": [\"DownBlock2D\", null],"
    " \"class_embed_type\": null, \"betas\": [0.5, 1], \"flags\": [true, false],"
    " \"float_size\": 64.0, \"huge\": 1e999, \"dropout\": 0.0, \"extra_field\": 1}";

static cascade_config *parse(const char *json, cascade_error *err) {
    cascade_config *cfg = NULL;
    cascade_error_init(err);
    assert_int_equal(cascade_config_parse(json, strlen(json), "unet/config.json", &cfg, err),
                     CASCADE_STATUS_OK);
    return cfg;
}

/* Scalars of each type read back with their values; missing and null fields give def. */
static void test_config_scalars_and_defaults(void **state) {
    (void)state;
    cascade_error   err;
    cascade_config *cfg = parse(UNET_JSON, &err);
    int64_t         i;
    double          d;
    bool            b;
    const char     *s;
    assert_int_equal(cascade_config_int(cfg, "sample_size", 0, &i, &err), CASCADE_STATUS_OK);
    assert_int_equal(i, 64);
    assert_int_equal(cascade_config_int(cfg, "float_size", 0, &i, &err), CASCADE_STATUS_OK);
    assert_int_equal(i, 64);
    assert_int_equal(cascade_config_float(cfg, "norm_eps", 0, &d, &err), CASCADE_STATUS_OK);
    assert_float_equal(d, 1e-5, 1e-12);
    assert_int_equal(cascade_config_float(cfg, "scale", 0, &d, &err), CASCADE_STATUS_OK);
    assert_float_equal(d, 2.0, 0);
    assert_int_equal(cascade_config_bool(cfg, "center_input_sample", true, &b, &err),
                     CASCADE_STATUS_OK);
    assert_false(b);
    assert_int_equal(cascade_config_string(cfg, "act_fn", NULL, &s, &err), CASCADE_STATUS_OK);
    assert_string_equal(s, "silu");
    assert_int_equal(cascade_config_int(cfg, "missing", 7, &i, &err), CASCADE_STATUS_OK);
    assert_int_equal(i, 7);
    assert_int_equal(cascade_config_string(cfg, "class_embed_type", "dflt", &s, &err),
                     CASCADE_STATUS_OK);
    assert_string_equal(s, "dflt");
    assert_true(cascade_config_has(cfg, "class_embed_type"));
    assert_true(cascade_config_is_null(cfg, "class_embed_type"));
    assert_false(cascade_config_is_null(cfg, "act_fn"));
    assert_false(cascade_config_has(cfg, "missing"));
    assert_string_equal(cascade_config_path(cfg), "unet/config.json");
    cascade_config_free(cfg);
}

/* Arrays read with counts; a scalar counts as one element only when scalar_ok. */
static void test_config_arrays(void **state) {
    (void)state;
    cascade_error   err;
    cascade_config *cfg = parse(UNET_JSON, &err);
    int64_t         iv[4];
    double          dv[4];
    bool            bv[4];
    const char     *sv[4];
    size_t          n;
    assert_int_equal(cascade_config_int_array(cfg, "block_out_channels", false, iv, 4, &n, &err),
                     CASCADE_STATUS_OK);
    assert_int_equal(n, 3);
    assert_int_equal(iv[0], 32);
    assert_int_equal(iv[2], 96);
    assert_int_equal(cascade_config_int_array(cfg, "attention_head_dim", true, iv, 4, &n, &err),
                     CASCADE_STATUS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(iv[0], 8);
    assert_int_equal(cascade_config_float_array(cfg, "betas", false, dv, 4, &n, &err),
                     CASCADE_STATUS_OK);
    assert_int_equal(n, 2);
    assert_float_equal(dv[1], 1.0, 0);
    assert_int_equal(cascade_config_bool_array(cfg, "flags", false, bv, 4, &n, &err),
                     CASCADE_STATUS_OK);
    assert_int_equal(n, 2);
    assert_true(bv[0]);
    assert_false(bv[1]);
    assert_int_equal(cascade_config_string_array(cfg, "down_block_types", sv, 4, &n, &err),
                     CASCADE_STATUS_OK);
    assert_int_equal(n, 2);
    assert_string_equal(sv[0], "DownBlock2D");
    assert_null(sv[1]);
    assert_int_equal(cascade_config_int_array(cfg, "nothing", false, iv, 4, &n, &err),
                     CASCADE_STATUS_OK);
    assert_int_equal(n, 0);
    /* scalar where an array is required */
    assert_int_equal(cascade_config_int_array(cfg, "attention_head_dim", false, iv, 4, &n, &err),
                     CASCADE_STATUS_FORMAT);
    assert_non_null(strstr(err.message, "'attention_head_dim'"));
    cascade_config_free(cfg);
}

/* More elements than the caller's buffer holds is FORMAT, never an overflow. */
static void test_config_array_too_long(void **state) {
    (void)state;
    cascade_error   err;
    cascade_config *cfg = parse(UNET_JSON, &err);
    int64_t         iv[2] = {-1, -1};
    size_t          n = 99;
    assert_int_equal(cascade_config_int_array(cfg, "block_out_channels", false, iv, 2, &n, &err),
                     CASCADE_STATUS_FORMAT);
    assert_non_null(strstr(err.message, "block_out_channels"));
    assert_non_null(strstr(err.message, "unet/config.json"));
    assert_int_equal(iv[0], -1);
    cascade_config_free(cfg);
}

/* A field of the wrong JSON type is FORMAT naming the file and the field. */
static void test_config_wrong_type(void **state) {
    (void)state;
    cascade_error   err;
    cascade_config *cfg = parse(UNET_JSON, &err);
    int64_t         i;
    bool            b;
    double          d;
    const char     *s;
    int64_t         iv[4];
    size_t          n;
    assert_int_equal(cascade_config_int(cfg, "act_fn", 0, &i, &err), CASCADE_STATUS_FORMAT);
    assert_string_equal(err.message,
                        "unet/config.json: field 'act_fn' must be an integer, got a string");
    cascade_error_init(&err);
    assert_int_equal(cascade_config_int(cfg, "norm_eps", 0, &i, &err), CASCADE_STATUS_FORMAT);
    cascade_error_init(&err);
    assert_int_equal(cascade_config_bool(cfg, "sample_size", false, &b, &err),
                     CASCADE_STATUS_FORMAT);
    cascade_error_init(&err);
    assert_int_equal(cascade_config_float(cfg, "act_fn", 0, &d, &err), CASCADE_STATUS_FORMAT);
    cascade_error_init(&err);
    assert_int_equal(cascade_config_int(cfg, "huge", 0, &i, &err), CASCADE_STATUS_FORMAT);

    cascade_error_init(&err);
    assert_int_equal(cascade_config_string(cfg, "sample_size", NULL, &s, &err),
                     CASCADE_STATUS_FORMAT);
    cascade_error_init(&err);
    assert_int_equal(cascade_config_int_array(cfg, "down_block_types", false, iv, 4, &n, &err),
                     CASCADE_STATUS_FORMAT);
    assert_non_null(strstr(err.message, "'down_block_types'[0]"));
    cascade_config_free(cfg);
}

/* Python's bare -Infinity / Infinity (json.dumps of float('inf')) read as infinities, also
 * in arrays; they stay text inside strings; NaN is refused. */
static void test_config_python_infinity(void **state) {
    (void)state;
    cascade_error   err;
    cascade_config *cfg = parse("{\"lambda_min_clipped\": -Infinity, \"hi\": Infinity,"
                                " \"s\": \"-Infinity\", \"a\": [1, -Infinity], \"big\": 1e999}",
                                &err);
    double          d, dv[2];
    size_t          n;
    const char     *s;
    assert_int_equal(cascade_config_float(cfg, "lambda_min_clipped", 0, &d, &err),
                     CASCADE_STATUS_OK);
    assert_true(isinf(d) && d < 0);
    assert_int_equal(cascade_config_float(cfg, "hi", 0, &d, &err), CASCADE_STATUS_OK);
    assert_true(isinf(d) && d > 0);
    assert_int_equal(cascade_config_float(cfg, "big", 0, &d, &err), CASCADE_STATUS_OK);
    assert_true(isinf(d));
    assert_int_equal(cascade_config_string(cfg, "s", NULL, &s, &err), CASCADE_STATUS_OK);
    assert_string_equal(s, "-Infinity");
    assert_int_equal(cascade_config_float_array(cfg, "a", false, dv, 2, &n, &err),
                     CASCADE_STATUS_OK);
    assert_int_equal(n, 2);
    assert_true(isinf(dv[1]) && dv[1] < 0);
    int64_t i;
    assert_int_equal(cascade_config_int(cfg, "hi", 0, &i, &err), CASCADE_STATUS_FORMAT);
    cascade_config_free(cfg);

    cfg = (cascade_config *)0x1;
    cascade_error_init(&err);
    const char *nan_json = "{\"x\": NaN}";
    assert_int_equal(cascade_config_parse(nan_json, strlen(nan_json), "c.json", &cfg, &err),
                     CASCADE_STATUS_FORMAT);
    assert_null(cfg);
    assert_non_null(strstr(err.message, "NaN"));
}

/* The golden DPM-Solver++ scheduler config, which holds -Infinity, loads. */
static void test_config_golden_scheduler_infinity(void **state) {
    (void)state;
    if (!test_golden_exists("scheduler_dpmpp_2m/config.json")) skip();
    cascade_config *cfg = NULL;
    cascade_error   err;
    cascade_error_init(&err);
    assert_int_equal(
        cascade_config_load(test_golden_path("scheduler_dpmpp_2m/config.json"), &cfg, &err),
        CASCADE_STATUS_OK);
    double d = 0;
    assert_int_equal(cascade_config_float(cfg, "lambda_min_clipped", 0, &d, &err),
                     CASCADE_STATUS_OK);
    assert_true(isinf(d) && d < 0);
    cascade_config_free(cfg);
}

/* The first field nobody read, in file order, is UNSUPPORTED with the exact message. */
static void test_config_unknown_field(void **state) {
    (void)state;
    cascade_error   err;
    cascade_config *cfg = parse("{\"a\": 1, \"zz\": 2, \"b\": 3, \"c\": 4}", &err);
    int64_t         i;
    assert_int_equal(cascade_config_int(cfg, "a", 0, &i, &err), CASCADE_STATUS_OK);
    assert_int_equal(cascade_config_check_all_used(cfg, &err), CASCADE_STATUS_UNSUPPORTED);
    assert_string_equal(err.message,
                        "unet/config.json: field 'zz' is not supported by this engine");
    static const char *const ign[] = {"zz", "not-there", NULL};
    cascade_config_ignore(cfg, ign);
    assert_int_equal(cascade_config_int(cfg, "b", 0, &i, &err), CASCADE_STATUS_OK);
    cascade_error_init(&err);
    assert_int_equal(cascade_config_check_all_used(cfg, &err), CASCADE_STATUS_UNSUPPORTED);
    assert_non_null(strstr(err.message, "'c'"));
    assert_int_equal(cascade_config_int(cfg, "c", 0, &i, &err), CASCADE_STATUS_OK);
    cascade_error_init(&err);
    assert_int_equal(cascade_config_check_all_used(cfg, &err), CASCADE_STATUS_OK);
    cascade_config_free(cfg);
}

/* Reading a null field still counts as using it. */
static void test_config_null_counts_as_used(void **state) {
    (void)state;
    cascade_error   err;
    cascade_config *cfg = parse("{\"x\": null}", &err);
    const char     *s;
    assert_int_equal(cascade_config_string(cfg, "x", NULL, &s, &err), CASCADE_STATUS_OK);
    assert_null(s);
    assert_int_equal(cascade_config_check_all_used(cfg, &err), CASCADE_STATUS_OK);
    cascade_config_free(cfg);
}

/* Malformed text: not JSON, not an object, not UTF-8, duplicate keys: FORMAT naming the file. */
static void test_config_invalid_text(void **state) {
    (void)state;
    static const char *bad[] = {"{\"a\": ", "[1, 2]", "{\"a\xc3\": 1}", "{\"a\": 1, \"a\": 2}",
                                "",         "42"};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        cascade_config *cfg = (cascade_config *)0x1;
        cascade_error   err;
        cascade_error_init(&err);
        assert_int_equal(cascade_config_parse(bad[k], strlen(bad[k]), "c.json", &cfg, &err),
                         CASCADE_STATUS_FORMAT);
        assert_null(cfg);
        assert_non_null(strstr(err.message, "c.json"));
    }
}

/* Integers outside int64 are refused (json-glib alone would wrap -99999999999999999999 to 1);
 * the extremes of the range are read exactly. */
static void test_config_integer_range(void **state) {
    (void)state;
    static const char *bad[] = {"{\"x\": 99999999999999999999}", "{\"x\": 9223372036854775808}",
                                "{\"x\": -9223372036854775809}", "{\"x\": -99999999999999999999}"};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        cascade_config *cfg = (cascade_config *)0x1;
        cascade_error   err;
        cascade_error_init(&err);
        assert_int_equal(cascade_config_parse(bad[k], strlen(bad[k]), "c.json", &cfg, &err),
                         CASCADE_STATUS_FORMAT);
        assert_null(cfg);
        assert_non_null(strstr(err.message, "64-bit range"));
    }
    cascade_error   err;
    cascade_config *cfg =
        parse("{\"hi\": 9223372036854775807, \"lo\": -9223372036854775808, \"f\": 1e30}", &err);
    int64_t i;
    assert_int_equal(cascade_config_int(cfg, "hi", 0, &i, &err), CASCADE_STATUS_OK);
    assert_true(i == INT64_MAX);
    assert_int_equal(cascade_config_int(cfg, "lo", 0, &i, &err), CASCADE_STATUS_OK);
    assert_true(i == INT64_MIN);
    assert_int_equal(cascade_config_int(cfg, "f", 0, &i, &err), CASCADE_STATUS_FORMAT);
    cascade_config_free(cfg);
}

/* A missing file is IO naming it. */
static void test_config_missing_file(void **state) {
    (void)state;
    cascade_config *cfg = NULL;
    cascade_error   err;
    cascade_error_init(&err);
    assert_int_equal(cascade_config_load("/nonexistent/config.json", &cfg, &err),
                     CASCADE_STATUS_IO);
    assert_null(cfg);
    assert_non_null(strstr(err.message, "/nonexistent/config.json"));
}

/* The golden T5 config loads from disk; reading its fields leaves only the unread ones. */
static void test_config_golden_t5(void **state) {
    (void)state;
    if (!test_golden_exists("t5_encoder/config.json")) skip();
    cascade_config *cfg = NULL;
    cascade_error   err;
    cascade_error_init(&err);
    assert_int_equal(cascade_config_load(test_golden_path("t5_encoder/config.json"), &cfg, &err),
                     CASCADE_STATUS_OK);
    int64_t     i;
    double      eps;
    const char *s;
    const char *arch[2];
    size_t      n;
    assert_int_equal(cascade_config_int(cfg, "d_model", 0, &i, &err), CASCADE_STATUS_OK);
    assert_int_equal(i, 64);
    assert_int_equal(cascade_config_float(cfg, "layer_norm_epsilon", 0, &eps, &err),
                     CASCADE_STATUS_OK);
    assert_float_equal(eps, 1e-6, 1e-15);
    assert_int_equal(cascade_config_string(cfg, "feed_forward_proj", NULL, &s, &err),
                     CASCADE_STATUS_OK);
    assert_string_equal(s, "gated-gelu");
    assert_int_equal(cascade_config_string_array(cfg, "architectures", arch, 2, &n, &err),
                     CASCADE_STATUS_OK);
    assert_int_equal(n, 1);
    assert_string_equal(arch[0], "T5EncoderModel");
    assert_int_equal(cascade_config_check_all_used(cfg, &err), CASCADE_STATUS_UNSUPPORTED);
    assert_non_null(strstr(err.message, "'d_ff'"));
    cascade_config_free(cfg);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_scalars_and_defaults),
        cmocka_unit_test(test_config_arrays),
        cmocka_unit_test(test_config_array_too_long),
        cmocka_unit_test(test_config_wrong_type),
        cmocka_unit_test(test_config_python_infinity),
        cmocka_unit_test(test_config_golden_scheduler_infinity),
        cmocka_unit_test(test_config_unknown_field),
        cmocka_unit_test(test_config_null_counts_as_used),
        cmocka_unit_test(test_config_invalid_text),
        cmocka_unit_test(test_config_integer_range),
        cmocka_unit_test(test_config_missing_file),
        cmocka_unit_test(test_config_golden_t5),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
