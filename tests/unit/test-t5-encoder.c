/* T5 encoder loading: config and weight errors name the field or tensor; aliases load. */
#include <glib.h>
#include <glib/gstdio.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cascade/safetensors.h"
#include "cascade/t5.h"
#include "test-common.h"

typedef test_component_fixture fixture; /* a copy of the golden component, assembled */

static void write_config(fixture *f, const char *text) {
    char *p = g_build_filename(f->dir, "config.json", NULL);
    assert_true(test_write_file(p, text, strlen(text)));
    g_free(p);
}

/* Copies the golden weights, dropping `drop` (may be NULL) and adding `alias` of shared. */
static void write_weights(fixture *f, const char *drop, const char *alias) {
    char *p = g_build_filename(f->dir, "model.safetensors", NULL);
    assert_true(test_copy_weights(test_golden_path("t5_encoder/weights.safetensors"), p, drop, alias,
                                  "shared.weight"));
    g_free(p);
}

static cascade_status load(fixture *f, cascade_error *err) {
    cascade_t5 *t5 = NULL;
    cascade_error_init(err);
    cascade_status st = cascade_t5_load(f->dir, CASCADE_DTYPE_F32, &t5, err);
    if (st == CASCADE_STATUS_OK) assert_non_null(t5);
    else assert_null(t5);
    cascade_t5_free(t5);
    return st;
}

/* A checkpoint holding the embedding under both of its names loads. */
static void test_t5_encoder_loads_with_tied_alias(void **state) {
    fixture *f = *state;
    if (!f) skip();
    write_config(f, f->config);
    write_weights(f, NULL, "encoder.embed_tokens.weight");
    cascade_error err;
    assert_int_equal(load(f, &err), CASCADE_STATUS_OK);
}

/* A config field the encoder does not implement is refused by name. */
static void test_t5_encoder_unknown_field(void **state) {
    fixture *f = *state;
    if (!f) skip();
    char *cfg = g_strdup(f->config);
    char *brace = strrchr(cfg, '}');
    *brace = '\0';
    char *text = g_strdup_printf("%s, \"rotary_embedding\": true}", cfg);
    write_config(f, text);
    write_weights(f, NULL, NULL);
    cascade_error err;
    assert_int_equal(load(f, &err), CASCADE_STATUS_UNSUPPORTED);
    assert_non_null(strstr(err.message, "rotary_embedding"));
    assert_non_null(strstr(err.message, "config.json"));
    g_free(cfg);
    g_free(text);
}

/* Config sizes whose products overflow (num_heads * d_kv) and bucket settings that give NaN
 * bucket indices (num_buckets 2 or 3, max_distance within the exact range) are FORMAT errors
 * naming the field, at load (issue 14; run under UBSan in CI). */
static void test_t5_encoder_hostile_sizes(void **state) {
    fixture *f = *state;
    if (!f) skip();
    static const struct {
        const char *from, *to, *field;
    } cases[] = {
        {"\"num_heads\": 4", "\"num_heads\": 4611686018427387904", "num_heads"},
        {"\"d_kv\": 16", "\"d_kv\": 4611686018427387904", "d_kv"},
        {"\"relative_attention_num_buckets\": 32", "\"relative_attention_num_buckets\": 2",
         "relative_attention_num_buckets"},
        {"\"relative_attention_num_buckets\": 32", "\"relative_attention_num_buckets\": 3",
         "relative_attention_num_buckets"},
        {"\"relative_attention_max_distance\": 128", "\"relative_attention_max_distance\": 1",
         "relative_attention_max_distance"},
        {"\"relative_attention_max_distance\": 128", "\"relative_attention_max_distance\": 8",
         "relative_attention_max_distance"},
    };
    write_weights(f, NULL, NULL);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        GString *s = g_string_new(f->config);
        assert_int_equal(g_string_replace(s, cases[i].from, cases[i].to, 0), 1);
        write_config(f, s->str);
        cascade_error err;
        assert_int_equal(load(f, &err), CASCADE_STATUS_FORMAT);
        if (!strstr(err.message, cases[i].field)) fail_msg("case %zu: %s", i, err.message);
        g_string_free(s, TRUE);
    }
    /* the bucket function itself stays defined on such values */
    assert_int_equal(cascade_t5_relative_bucket(5, 2, 128), 1);
    assert_int_equal(cascade_t5_relative_bucket(-5, 3, 1), 0);
}

/* An unsupported activation value is refused by value. */
static void test_t5_encoder_bad_activation(void **state) {
    fixture *f = *state;
    if (!f) skip();
    GString *s = g_string_new(f->config);
    g_string_replace(s, "\"gated-gelu\"", "\"gated-mish\"", 0);
    g_string_replace(s, "\"dense_act_fn\": \"gelu_new\",", "", 0);
    write_config(f, s->str);
    write_weights(f, NULL, NULL);
    cascade_error err;
    assert_int_not_equal(load(f, &err), CASCADE_STATUS_OK);
    assert_non_null(strstr(err.message, "mish"));
    g_string_free(s, TRUE);
}

/* A missing tensor is named. */
static void test_t5_encoder_missing_tensor(void **state) {
    fixture *f = *state;
    if (!f) skip();
    write_config(f, f->config);
    write_weights(f, "encoder.block.1.layer.1.DenseReluDense.wi_1.weight", NULL);
    cascade_error err;
    assert_int_equal(load(f, &err), CASCADE_STATUS_FORMAT);
    assert_non_null(strstr(err.message, "encoder.block.1.layer.1.DenseReluDense.wi_1.weight"));
}

/* A config that disagrees with the weights' shapes names the tensor. */
static void test_t5_encoder_wrong_shape(void **state) {
    fixture *f = *state;
    if (!f) skip();
    GString *s = g_string_new(f->config);
    g_string_replace(s, "\"d_kv\": 16", "\"d_kv\": 8", 0);
    write_config(f, s->str);
    write_weights(f, NULL, NULL);
    cascade_error err;
    assert_int_equal(load(f, &err), CASCADE_STATUS_FORMAT);
    assert_non_null(strstr(err.message, "SelfAttention.q.weight"));
    g_string_free(s, TRUE);
}

/* The bucket function follows T5's rule at its landmarks (32 buckets, distance 128). */
static void test_t5_encoder_relative_buckets(void **state) {
    (void)state;
    assert_int_equal(cascade_t5_relative_bucket(0, 32, 128), 0);
    assert_int_equal(cascade_t5_relative_bucket(-1, 32, 128), 1);
    assert_int_equal(cascade_t5_relative_bucket(1, 32, 128), 17);
    assert_int_equal(cascade_t5_relative_bucket(-7, 32, 128), 7);
    assert_int_equal(cascade_t5_relative_bucket(-8, 32, 128), 8);
    assert_int_equal(cascade_t5_relative_bucket(-128, 32, 128), 15);
    assert_int_equal(cascade_t5_relative_bucket(1000, 32, 128), 31);
}

int main(void) {
#define T(fn)                                                                              \
    cmocka_unit_test_prestate_setup_teardown(fn, test_component_setup, test_component_teardown, \
                                             (void *)"t5_encoder")
    const struct CMUnitTest tests[] = {
        T(test_t5_encoder_loads_with_tied_alias), T(test_t5_encoder_unknown_field),
        T(test_t5_encoder_bad_activation),        T(test_t5_encoder_missing_tensor),
        T(test_t5_encoder_wrong_shape),           cmocka_unit_test(test_t5_encoder_relative_buckets),
        T(test_t5_encoder_hostile_sizes),
    };
    return cmocka_run_group_tests_name("t5-encoder", tests, NULL, NULL);
}
