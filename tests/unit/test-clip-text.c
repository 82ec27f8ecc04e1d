/* CLIP text encoder loading and building: config and weight errors name the field or
 * tensor; build options are checked; the convenience encoder meets the golden case. */
#include <glib.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cascade/clip-text.h"
#include "cascade/safetensors.h"
#include "test-common.h"

#define CASE "clip_text_model"

typedef test_component_fixture fixture; /* a copy of the golden component, assembled */

static void write_config(fixture *f, const char *from, const char *to) {
    GString *s = g_string_new(f->config);
    if (from) assert_int_equal(g_string_replace(s, from, to, 1), 1);
    char *p = g_build_filename(f->dir, "config.json", NULL);
    assert_true(test_write_file(p, s->str, s->len));
    g_free(p);
    g_string_free(s, TRUE);
}

/* Copies the golden weights without `drop`, plus `extra_from` under the name `extra`. */
static void write_weights(fixture *f, const char *drop, const char *extra, const char *extra_from) {
    char *p = g_build_filename(f->dir, "model.safetensors", NULL);
    assert_true(test_copy_weights(test_golden_path(CASE "/weights.safetensors"), p, drop, extra,
                                  extra_from));
    g_free(p);
}

/* Loads f->dir; on success *out (if given) receives the model, else it is freed. */
static cascade_status load(fixture *f, cascade_clip_text **out, cascade_error *err) {
    cascade_clip_text *m = NULL;
    cascade_error_init(err);
    cascade_status st = cascade_clip_text_load(f->dir, CASCADE_DTYPE_F32, &m, err);
    if (st == CASCADE_STATUS_OK) assert_non_null(m);
    else assert_null(m);
    if (out) *out = m;
    else cascade_clip_text_free(m);
    return st;
}

/* The golden folder loads with its config's sizes and no projection. */
static void test_clip_text_loads_config(void **state) {
    fixture *f = *state;
    if (!f) skip();
    write_config(f, NULL, NULL);
    write_weights(f, NULL, NULL, NULL);
    cascade_clip_text *m = NULL;
    cascade_error      err;
    assert_int_equal(load(f, &m, &err), CASCADE_STATUS_OK);
    const cascade_clip_text_config *c = cascade_clip_text_get_config(m);
    assert_int_equal(c->hidden_size, 32);
    assert_int_equal(c->num_hidden_layers, 3);
    assert_int_equal(c->num_attention_heads, 4);
    assert_int_equal(c->hidden_act, CASCADE_CLIP_TEXT_ACT_QUICK_GELU);
    assert_false(c->has_projection);
    cascade_clip_text_free(m);
}

/* The position_ids buffer older transformers saved is accepted and not used. */
static void test_clip_text_accepts_position_ids_buffer(void **state) {
    fixture *f = *state;
    if (!f) skip();
    write_config(f, NULL, NULL);
    write_weights(f, NULL, "text_model.embeddings.position_ids",
                  "text_model.embeddings.position_embedding.weight");
    cascade_error err;
    assert_int_equal(load(f, NULL, &err), CASCADE_STATUS_OK);
}

/* A config field the encoder does not implement is refused by name. */
static void test_clip_text_unknown_field(void **state) {
    fixture *f = *state;
    if (!f) skip();
    write_config(f, "\"vocab_size\"", "\"rotary_embedding\": true, \"vocab_size\"");
    write_weights(f, NULL, NULL, NULL);
    cascade_error err;
    assert_int_equal(load(f, NULL, &err), CASCADE_STATUS_UNSUPPORTED);
    assert_non_null(strstr(err.message, "rotary_embedding"));
    assert_non_null(strstr(err.message, "config.json"));
}

/* An activation ACT2FN has but the engine does not is refused naming the value. */
static void test_clip_text_unsupported_activation(void **state) {
    fixture *f = *state;
    if (!f) skip();
    write_config(f, "\"quick_gelu\"", "\"mish\"");
    write_weights(f, NULL, NULL, NULL);
    cascade_error err;
    assert_int_equal(load(f, NULL, &err), CASCADE_STATUS_UNSUPPORTED);
    assert_non_null(strstr(err.message, "hidden_act"));
    assert_non_null(strstr(err.message, "'mish'"));
}

/* Another CLIP config (the full CLIPModel's model_type) is refused by name. */
static void test_clip_text_wrong_model_type(void **state) {
    fixture *f = *state;
    if (!f) skip();
    write_config(f, "\"clip_text_model\"", "\"clip\"");
    write_weights(f, NULL, NULL, NULL);
    cascade_error err;
    assert_int_equal(load(f, NULL, &err), CASCADE_STATUS_UNSUPPORTED);
    assert_non_null(strstr(err.message, "model_type"));
}

/* Heads that do not divide hidden_size are a FORMAT error naming the field. */
static void test_clip_text_heads_must_divide(void **state) {
    fixture *f = *state;
    if (!f) skip();
    write_config(f, "\"num_attention_heads\": 4", "\"num_attention_heads\": 5");
    write_weights(f, NULL, NULL, NULL);
    cascade_error err;
    assert_int_equal(load(f, NULL, &err), CASCADE_STATUS_FORMAT);
    assert_non_null(strstr(err.message, "num_attention_heads"));
}

/* A missing tensor is named. */
static void test_clip_text_missing_tensor(void **state) {
    fixture *f = *state;
    if (!f) skip();
    write_config(f, NULL, NULL);
    write_weights(f, "text_model.encoder.layers.1.self_attn.v_proj.bias", NULL, NULL);
    cascade_error err;
    assert_int_equal(load(f, NULL, &err), CASCADE_STATUS_FORMAT);
    assert_non_null(strstr(err.message, "text_model.encoder.layers.1.self_attn.v_proj.bias"));
}

/* A huge layer count with a small checkpoint is refused naming the missing last layer,
 * before anything is allocated for it. */
static void test_clip_text_missing_layer(void **state) {
    fixture *f = *state;
    if (!f) skip();
    write_config(f, "\"num_hidden_layers\": 3", "\"num_hidden_layers\": 1000000000");
    write_weights(f, NULL, NULL, NULL);
    cascade_error err;
    assert_int_equal(load(f, NULL, &err), CASCADE_STATUS_FORMAT);
    assert_non_null(strstr(err.message, "text_model.encoder.layers.999999999."));
}

/* A config that disagrees with the weights' shapes names the tensor. */
static void test_clip_text_wrong_shape(void **state) {
    fixture *f = *state;
    if (!f) skip();
    write_config(f, "\"intermediate_size\": 128", "\"intermediate_size\": 64");
    write_weights(f, NULL, NULL, NULL);
    cascade_error err;
    assert_int_equal(load(f, NULL, &err), CASCADE_STATUS_FORMAT);
    assert_non_null(strstr(err.message, "text_model.encoder.layers.0.mlp.fc1.weight"));
}

/* A text_projection of another shape than (projection_dim, hidden_size) is named. */
static void test_clip_text_wrong_projection_shape(void **state) {
    fixture *f = *state;
    if (!f) skip();
    write_config(f, NULL, NULL);
    write_weights(f, NULL, "text_projection.weight", "text_model.encoder.layers.0.mlp.fc1.weight");
    cascade_error err;
    assert_int_equal(load(f, NULL, &err), CASCADE_STATUS_FORMAT);
    assert_non_null(strstr(err.message, "text_projection.weight"));
}

/* A tensor the config does not account for (a 4th layer) is named. */
static void test_clip_text_unused_tensor(void **state) {
    fixture *f = *state;
    if (!f) skip();
    write_config(f, NULL, NULL);
    write_weights(f, NULL, "text_model.encoder.layers.3.mlp.fc2.bias",
                  "text_model.encoder.layers.2.mlp.fc2.bias");
    cascade_error err;
    assert_int_equal(load(f, NULL, &err), CASCADE_STATUS_FORMAT);
    assert_non_null(strstr(err.message, "text_model.encoder.layers.3.mlp.fc2.bias"));
}

/* Builds with o; the graph is kept in *keep when given, else freed. */
static cascade_status build(const cascade_clip_text *m, const cascade_clip_text_build_options *o,
                            cascade_graph **keep, cascade_error *err) {
    cascade_graph *g = NULL;
    cascade_error_init(err);
    assert_int_equal(cascade_graph_new(&g, err), CASCADE_STATUS_OK);
    cascade_status st = cascade_clip_text_build_ex(m, g, o, err);
    if (keep) *keep = g;
    else cascade_graph_free(g);
    return st;
}

/* skip_layers past the layer count and sequences past the position table are refused;
 * with a projection the pooled graph also gives text_embeds (B, projection_dim). */
static void test_clip_text_build_options(void **state) {
    fixture *f = *state;
    if (!f) skip();
    cascade_clip_text *m = NULL;
    cascade_error      err;
    write_config(f, NULL, NULL);
    /* a (32, 32) tensor of the checkpoint stands in for a projection (projection_dim 32) */
    write_weights(f, NULL, "text_projection.weight", "text_model.encoder.layers.0.self_attn.q_proj.weight");
    assert_int_equal(load(f, &m, &err), CASCADE_STATUS_OK);
    assert_true(cascade_clip_text_get_config(m)->has_projection);

    cascade_clip_text_build_options o;
    cascade_clip_text_build_options_init(&o, m);
    assert_int_equal(o.seq, 77);
    o.skip_layers = 4;
    assert_int_equal(build(m, &o, NULL, &err), CASCADE_STATUS_INVALID_ARG);
    assert_non_null(strstr(err.message, "skip_layers"));
    o.skip_layers = 0;
    o.seq = 78;
    assert_int_equal(build(m, &o, NULL, &err), CASCADE_STATUS_INVALID_ARG);
    assert_non_null(strstr(err.message, "max_position_embeddings"));

    cascade_graph *g = NULL;
    o.seq = 5;
    o.batch = 2;
    o.skip_layers = 3; /* the embeddings through final_layer_norm */
    o.pooled = o.attention_mask = true;
    assert_int_equal(build(m, &o, &g, &err), CASCADE_STATUS_OK);
    int32_t nd;
    int64_t shape[CASCADE_MAX_DIMS];
    assert_true(cascade_graph_shape(g, cascade_graph_find(g, "text_embeds"), &nd, shape));
    assert_int_equal(nd, 2);
    assert_int_equal(shape[0], 2);
    assert_int_equal(shape[1], 32);
    assert_int_not_equal(cascade_graph_find(g, "attention_mask"), CASCADE_NO_VALUE);
    assert_int_not_equal(cascade_graph_find(g, "pooled_rows"), CASCADE_NO_VALUE);
    cascade_graph_free(g);
    cascade_clip_text_free(m);
}

/* Pooling takes the first position of each row's largest id (padding repeats eos). */
static void test_clip_text_pooled_rows(void **state) {
    (void)state;
    const int32_t ids[2 * 5] = {7, 3, 9, 9, 9, /* row 1 */ 1, 50, 2, 50, 0};
    int32_t       rows[2];
    cascade_clip_text_pooled_rows(ids, 2, 5, rows);
    assert_int_equal(rows[0], 2);
    assert_int_equal(rows[1], 5 + 1);
}

/* cascade_clip_text_encode on the CPU gives the case's last_hidden_state and clip_skip_1. */
static void test_clip_text_encode_matches_golden(void **state) {
    fixture *f = *state;
    if (!f) skip();
    cascade_clip_text   *m = NULL;
    cascade_backend     *be = NULL;
    cascade_safetensors *io = NULL;
    cascade_tensor      *ids = NULL, *want = NULL;
    cascade_error        err;
    cascade_error_init(&err);
    assert_int_equal(cascade_clip_text_load(test_golden_path(CASE), CASCADE_DTYPE_F32, &m, &err), 0);
    assert_int_equal(cascade_backend_cpu_new(NULL, &be, &err), 0);
    assert_int_equal(cascade_safetensors_open(test_golden_path(CASE "/io.safetensors"), &io, &err), 0);
    assert_int_equal(cascade_safetensors_load(io, "input_ids", CASCADE_DTYPE_I32, &ids, &err), 0);
    int64_t B = ids->shape[0], N = ids->shape[1], n = B * N * 32;
    float  *got = malloc(sizeof *got * (size_t)n);
    static const char *const names[] = {"last_hidden_state", "clip_skip_1"};
    for (int k = 0; k < 2; k++) {
        assert_int_equal(cascade_clip_text_encode(m, be, ids->data, B, N, k, got, &err), 0);
        assert_int_equal(cascade_safetensors_load(io, names[k], CASCADE_DTYPE_F32, &want, &err), 0);
        test_diff d;
        bool      ok = test_compare(got, want->data, (size_t)n, 4e-5, 1e-4, &d); /* case.json */
        if (!ok) test_diff_print(names[k], got, want->data, (size_t)n, &d);
        assert_true(ok);
        cascade_tensor_free(want);
    }
    free(got);
    cascade_tensor_free(ids);
    cascade_safetensors_close(io);
    cascade_backend_free(be);
    cascade_clip_text_free(m);
}

int main(void) {
#define T(fn)                                                                              \
    cmocka_unit_test_prestate_setup_teardown(fn, test_component_setup, test_component_teardown, \
                                             (void *)CASE)
    const struct CMUnitTest tests[] = {
        T(test_clip_text_loads_config),
        T(test_clip_text_accepts_position_ids_buffer),
        T(test_clip_text_unknown_field),
        T(test_clip_text_unsupported_activation),
        T(test_clip_text_wrong_model_type),
        T(test_clip_text_heads_must_divide),
        T(test_clip_text_missing_tensor),
        T(test_clip_text_missing_layer),
        T(test_clip_text_wrong_shape),
        T(test_clip_text_wrong_projection_shape),
        T(test_clip_text_unused_tensor),
        T(test_clip_text_build_options),
        cmocka_unit_test(test_clip_text_pooled_rows),
        T(test_clip_text_encode_matches_golden),
    };
    return cmocka_run_group_tests_name("clip-text", tests, NULL, NULL);
}
