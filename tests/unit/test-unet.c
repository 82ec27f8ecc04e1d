/* U-Net (UNet2DConditionModel): config errors name the field and value, weight errors name
 * the tensor, parameter counts match diffusers' and the published DeepFloyd IF sizes. */
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cascade/backend.h"
#include "cascade/safetensors.h"
#include "cascade/unet.h"
#include "test-common.h"

#define SD_CASE "unet_sd"

/* ---- helpers ---- */

/* The golden case's config.json as a JSON object (caller unrefs), or NULL to skip. */
static JsonObject *golden_config(const char *case_name) {
    char rel[128];
    snprintf(rel, sizeof rel, "%s/config.json", case_name);
    if (!test_golden_exists(rel)) return NULL;
    JsonParser *p = json_parser_new();
    assert_true(json_parser_load_from_file(p, test_golden_path(rel), NULL));
    JsonObject *o = json_object_ref(json_node_get_object(json_parser_get_root(p)));
    g_object_unref(p);
    return o;
}

/* Parses o as a config and makes a U-Net; returns the status, err filled. */
static cascade_status unet_from_object(JsonObject *o, cascade_unet **u, cascade_error *err) {
    JsonNode *root = json_node_new(JSON_NODE_OBJECT);
    json_node_set_object(root, o);
    JsonGenerator *gen = json_generator_new();
    json_generator_set_root(gen, root);
    gsize           len = 0;
    gchar          *text = json_generator_to_data(gen, &len);
    cascade_config *cfg = NULL;
    cascade_status  st = cascade_config_parse(text, len, "test/config.json", &cfg, err);
    if (st == CASCADE_STATUS_OK) st = cascade_unet_new(cfg, u, err);
    cascade_config_free(cfg);
    g_free(text);
    g_object_unref(gen);
    json_node_free(root);
    return st;
}

#define SKIP_WITHOUT(o)                                                                            \
    do {                                                                                           \
        if (!(o)) {                                                                                \
            skip();                                                                                \
            return;                                                                                \
        }                                                                                          \
    } while (0)

/* Expects cascade_unet_new to fail with status st and a message containing every needle. */
static void expect_config_error(JsonObject *o, cascade_status want, const char *n1,
                                const char *n2) {
    cascade_unet *u = NULL;
    cascade_error err;
    cascade_error_init(&err);
    cascade_status st = unet_from_object(o, &u, &err);
    if (st != want) fprintf(stderr, "got %s: %s\n", cascade_status_name(st), err.message);
    assert_int_equal(st, want);
    assert_null(u);
    if (n1) assert_non_null(strstr(err.message, n1));
    if (n2) assert_non_null(strstr(err.message, n2));
}

/* ---- config ---- */

/* An unknown config field is UNSUPPORTED and the message names it. */
static void test_unet_config_unknown_field(void **state) {
    (void)state;
    JsonObject *o = golden_config(SD_CASE);
    SKIP_WITHOUT(o);
    json_object_set_int_member(o, "frobnication_level", 3);
    expect_config_error(o, CASCADE_STATUS_UNSUPPORTED, "frobnication_level", NULL);
    json_object_unref(o);
}

/* Values the engine does not implement are UNSUPPORTED naming field and value. */
static void test_unet_config_unsupported_values(void **state) {
    (void)state;
    static const struct {
        const char *field, *value;
    } cases[] = {
        {"mid_block_type", "UNetMidBlock2DWhatever"}, {"act_fn", "mish"},
        {"time_embedding_type", "fourier"},           {"attention_type", "gated"},
        {"addition_embed_type", "text_time"},         {"class_embed_type", "sinusoidal"},
        {"resnet_time_scale_shift", "spatial"},       {"cross_attention_norm", "rms_norm"},
        {"encoder_hid_dim_type", "image_proj"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        JsonObject *o = golden_config(SD_CASE);
        SKIP_WITHOUT(o);
        json_object_set_string_member(o, cases[i].field, cases[i].value);
        if (!strcmp(cases[i].field, "encoder_hid_dim_type"))
            json_object_set_int_member(o, "encoder_hid_dim", 64);
        expect_config_error(o, CASCADE_STATUS_UNSUPPORTED, cases[i].field, cases[i].value);
        json_object_unref(o);
    }
    /* a block type in a list names its index */
    JsonObject *o = golden_config(SD_CASE);
    SKIP_WITHOUT(o);
    JsonArray *a = json_object_get_array_member(o, "down_block_types");
    json_array_remove_element(a, 2);
    json_array_add_string_element(a, "AttnDownBlock2D");
    expect_config_error(o, CASCADE_STATUS_UNSUPPORTED, "down_block_types[2]", "AttnDownBlock2D");
    json_object_unref(o);
    /* a null in the list (the config reader lets it through) is refused, not dereferenced */
    o = golden_config(SD_CASE);
    a = json_object_get_array_member(o, "up_block_types");
    json_array_remove_element(a, 0);
    json_array_add_null_element(a);
    expect_config_error(o, CASCADE_STATUS_UNSUPPORTED, "up_block_types[", "null");
    json_object_unref(o);
    /* booleans that switch on unimplemented paths */
    o = golden_config(SD_CASE);
    json_object_set_boolean_member(o, "dual_cross_attention", true);
    expect_config_error(o, CASCADE_STATUS_UNSUPPORTED, "dual_cross_attention", "true");
    json_object_unref(o);
    o = golden_config(SD_CASE);
    json_object_set_int_member(o, "num_attention_heads", 8);
    expect_config_error(o, CASCADE_STATUS_UNSUPPORTED, "num_attention_heads", NULL);
    json_object_unref(o);
}

/* Inconsistent lists are FORMAT errors naming the field. */
static void test_unet_config_inconsistent(void **state) {
    (void)state;
    JsonObject *o = golden_config(SD_CASE);
    SKIP_WITHOUT(o);
    json_array_add_int_element(json_object_get_array_member(o, "block_out_channels"), 64);
    expect_config_error(o, CASCADE_STATUS_FORMAT, "block_out_channels", NULL);
    json_object_unref(o);
    o = golden_config(SD_CASE);
    JsonArray *l = json_array_new();
    json_array_add_int_element(l, 2);
    json_array_add_int_element(l, 2);
    json_object_set_array_member(o, "layers_per_block", l);
    expect_config_error(o, CASCADE_STATUS_FORMAT, "layers_per_block", NULL);
    json_object_unref(o);
    o = golden_config(SD_CASE); /* a one-element list is not "every block" */
    l = json_array_new();
    json_array_add_int_element(l, 2);
    json_object_set_array_member(o, "transformer_layers_per_block", l);
    expect_config_error(o, CASCADE_STATUS_FORMAT, "transformer_layers_per_block", NULL);
    json_object_unref(o);
    o = golden_config(SD_CASE);
    json_object_set_string_member(o, "in_channels", "four");
    expect_config_error(o, CASCADE_STATUS_FORMAT, "in_channels", NULL);
    json_object_unref(o);
}

/* A channel count whose x4 (time embedding) overflows int64 is a FORMAT error naming the
 * field (issue 14: it was signed overflow under UBSan). */
static void test_unet_config_huge_channels(void **state) {
    (void)state;
    static const char *const fields[] = {"block_out_channels", "cross_attention_dim",
                                         "time_embedding_dim", "attention_head_dim"};
    static const char *const values[] = {"[4611686018427387904, 24, 32]", "4611686018427387904",
                                         "4611686018427387904", "4611686018427387904"};
    for (size_t i = 0; i < G_N_ELEMENTS(fields); i++) {
        JsonObject *o = golden_config(SD_CASE);
        SKIP_WITHOUT(o);
        JsonParser *p = json_parser_new();
        assert_true(json_parser_load_from_data(p, values[i], -1, NULL));
        json_object_set_member(o, fields[i], json_node_copy(json_parser_get_root(p)));
        g_object_unref(p);
        expect_config_error(o, CASCADE_STATUS_FORMAT, fields[i], "2^24");
        json_object_unref(o);
    }
    /* a negative norm_eps (NaN images, issue 14 item 10) is refused by name */
    JsonObject *o = golden_config(SD_CASE);
    json_object_set_double_member(o, "norm_eps", -1.0);
    expect_config_error(o, CASCADE_STATUS_FORMAT, "norm_eps", ">= 0");
    json_object_unref(o);
    /* nor is a sample_size of 0 silently replaced by 64 */
    o = golden_config(SD_CASE);
    json_object_set_int_member(o, "sample_size", 0);
    expect_config_error(o, CASCADE_STATUS_FORMAT, "sample_size", NULL);
    json_object_unref(o);
}

/* Hostile values give a config or build error, never a crash (run under ASan/UBSan in CI). */
static void test_unet_config_hostile_values(void **state) {
    (void)state;
    static const struct {
        const char *field, *json;
    } cases[] = {
        {"block_out_channels", "[7, 9, 11]"},
        {"block_out_channels", "[0, 16, 32]"},
        {"block_out_channels", "[]"},
        {"block_out_channels", "[4611686018427387904, 24, 32]"},
        {"layers_per_block", "100000"},
        {"layers_per_block", "-1"},
        {"attention_head_dim", "0"},
        {"attention_head_dim", "1000"},
        {"norm_num_groups", "0"},
        {"norm_num_groups", "5"},
        {"cross_attention_dim", "-5"},
        {"freq_shift", "8"},
        {"time_embedding_dim", "4000000000"},
        {"in_channels", "9223372036854775807"},
        {"conv_in_kernel", "0"},
        {"conv_out_kernel", "2"},
        {"downsample_padding", "-3"},
        {"sample_size", "[1, 2, 3]"},
        {"mid_block_scale_factor", "0"},
        {"down_block_types", "[1, 2, 3]"},
        {"only_cross_attention", "[true]"},
        {"transformer_layers_per_block", "[1, 2, 1]"},
        {"num_class_embeds", "-2"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        JsonObject *o = golden_config(SD_CASE);
        SKIP_WITHOUT(o);
        JsonParser *p = json_parser_new();
        assert_true(json_parser_load_from_data(p, cases[i].json, -1, NULL));
        json_object_set_member(o, cases[i].field, json_node_copy(json_parser_get_root(p)));
        g_object_unref(p);
        cascade_unet *u = NULL;
        cascade_error err;
        cascade_error_init(&err);
        if (unet_from_object(o, &u, &err) == CASCADE_STATUS_OK) {
            int64_t        n = 0;
            cascade_status st = cascade_unet_count_params(u, &n, &err);
            if (st == CASCADE_STATUS_OK)
                assert_true(n > 0);
            else
                assert_true(err.message[0] != '\0');
            cascade_unet_free(u);
        } else {
            assert_null(u);
            assert_true(err.message[0] != '\0');
        }
        json_object_unref(o);
    }
}

/* ---- weights ---- */

/* Writes the golden weights to a temp file with `name` dropped, reshaped or joined by an
 * extra tensor; returns the path (g_free) and the dir for cleanup. */
typedef enum { EDIT_DROP, EDIT_RESHAPE, EDIT_EXTRA } weight_edit;

static char *edited_weights(const char *case_name, weight_edit edit, const char *name, char **dir) {
    char rel[128];
    snprintf(rel, sizeof rel, "%s/weights.safetensors", case_name);
    test_weight_edit e = {.drop = edit == EDIT_DROP ? name : NULL,
                          .grow = edit == EDIT_RESHAPE ? name : NULL,
                          .extra = edit == EDIT_EXTRA ? name : NULL};
    *dir = test_make_tmpdir();
    char *path = g_build_filename(*dir, "weights.safetensors", NULL);
    assert_true(test_edit_weights(test_golden_path(rel), path, &e));
    return path;
}

/* Builds the golden case's U-Net with the given weights file; returns the status. */
static cascade_status build_with(const char *case_name, const char *weights, bool check_used,
                                 cascade_error *err) {
    char rel[128];
    snprintf(rel, sizeof rel, "%s/config.json", case_name);
    cascade_unet    *u = NULL;
    cascade_weights *w = NULL;
    cascade_graph   *g = NULL;
    cascade_status   st = cascade_unet_new_from_file(test_golden_path(rel), &u, err);
    if (!st) st = cascade_weights_open_file(weights, CASCADE_DTYPE_F32, &w, err);
    if (!st) st = cascade_graph_new(&g, err);
    if (!st) {
        cascade_unet_build_options o;
        cascade_unet_build_options_init(&o, u);
        o.batch = 1;
        o.seq_len = 5;
        st = cascade_unet_build(u, w, g, &o, err);
    }
    if (!st && check_used) st = cascade_weights_check_all_used(w, err);
    cascade_graph_free(g);
    cascade_weights_free(w);
    cascade_unet_free(u);
    return st;
}

static void remove_tmp(char *path, char *dir) {
    g_unlink(path);
    g_rmdir(dir);
    g_free(path);
    free(dir);
}

/* A weight of the wrong shape is a FORMAT error naming the tensor. */
static void test_unet_weight_wrong_shape(void **state) {
    (void)state;
    if (!test_golden_exists(SD_CASE "/weights.safetensors")) {
        skip();
        return;
    }
    static const char *const names[] = {
        "conv_in.weight",
        "down_blocks.0.attentions.1.transformer_blocks.0.attn2.to_k.weight",
        "up_blocks.2.resnets.2.conv_shortcut.weight",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        char         *dir = NULL;
        char         *path = edited_weights(SD_CASE, EDIT_RESHAPE, names[i], &dir);
        cascade_error err;
        cascade_error_init(&err);
        assert_int_equal(build_with(SD_CASE, path, false, &err), CASCADE_STATUS_FORMAT);
        assert_non_null(strstr(err.message, names[i]));
        remove_tmp(path, dir);
    }
}

/* A missing weight names the tensor; an extra one is caught by check_all_used. */
static void test_unet_weight_missing_and_extra(void **state) {
    (void)state;
    if (!test_golden_exists("unet_if_stage1/weights.safetensors")) {
        skip();
        return;
    }
    char         *dir = NULL;
    const char   *gone = "add_embedding.pool.positional_embedding";
    char         *path = edited_weights("unet_if_stage1", EDIT_DROP, gone, &dir);
    cascade_error err;
    cascade_error_init(&err);
    assert_int_equal(build_with("unet_if_stage1", path, false, &err), CASCADE_STATUS_FORMAT);
    assert_non_null(strstr(err.message, gone));
    remove_tmp(path, dir);

    const char *extra = "mid_block.attentions.0.surplus.weight";
    path = edited_weights("unet_if_stage1", EDIT_EXTRA, extra, &dir);
    cascade_error_init(&err);
    assert_int_equal(build_with("unet_if_stage1", path, false, &err), CASCADE_STATUS_OK);
    cascade_error_init(&err);
    assert_int_not_equal(build_with("unet_if_stage1", path, true, &err), CASCADE_STATUS_OK);
    assert_non_null(strstr(err.message, "surplus"));
    remove_tmp(path, dir);
}

/* ---- shapes and counts ---- */

/* A weight-free build has the documented inputs and output shape; sizes that are not a
 * multiple of the downsampling factor are refused, not mis-built. */
static void test_unet_build_weight_free(void **state) {
    (void)state;
    if (!test_golden_exists("unet_if_stage2/config.json")) {
        skip();
        return;
    }
    cascade_unet *u = NULL;
    cascade_error err;
    cascade_error_init(&err);
    assert_int_equal(
        cascade_unet_new_from_file(test_golden_path("unet_if_stage2/config.json"), &u, &err), 0);
    cascade_unet_info info;
    cascade_unet_get_info(u, &info);
    assert_int_equal(info.in_channels, 6);
    assert_int_equal(info.out_channels, 6);
    assert_true(info.needs_class_labels);
    assert_int_equal(info.class_labels_dim, 0);
    assert_int_equal(info.encoder_dim, 64);
    assert_int_equal(info.cross_attention_dim, 32);
    assert_int_equal(info.size_multiple, 4);

    cascade_graph *g = NULL;
    assert_int_equal(cascade_graph_new(&g, &err), 0);
    cascade_unet_build_options o;
    cascade_unet_build_options_init(&o, u);
    o.batch = 3;
    o.height = 8;
    o.width = 12;
    o.seq_len = 7;
    o.encoder_attention_mask = true;
    assert_int_equal(cascade_unet_build(u, NULL, g, &o, &err), 0);
    int32_t nd;
    int64_t s[CASCADE_MAX_DIMS];
    assert_true(cascade_graph_shape(g, cascade_graph_find(g, CASCADE_UNET_OUT_SAMPLE), &nd, s));
    assert_int_equal(nd, 4);
    assert_int_equal(s[0], 3);
    assert_int_equal(s[1], 6);
    assert_int_equal(s[2], 8);
    assert_int_equal(s[3], 12);
    assert_int_not_equal(cascade_graph_find(g, CASCADE_UNET_CLASS_LABELS), CASCADE_NO_VALUE);
    assert_int_not_equal(cascade_graph_find(g, CASCADE_UNET_ENCODER_ATTENTION_MASK),
                         CASCADE_NO_VALUE);
    cascade_graph_free(g);

    assert_int_equal(cascade_graph_new(&g, &err), 0);
    o.height = 10; /* not a multiple of 4 */
    assert_int_equal(cascade_unet_build(u, NULL, g, &o, &err), CASCADE_STATUS_UNSUPPORTED);
    cascade_graph_free(g);
    cascade_unet_free(u);
}

/* The weight-free count equals diffusers' parameter count for every golden U-Net case. */
static void test_unet_param_count_golden(void **state) {
    (void)state;
    static const char *const cases[] = {"unet_if_stage1", "unet_if_stage2", "unet_sd",
                                        "unet_sd_x4_upscaler"};
    int                      checked = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "%s/case.json", cases[i]);
        if (!test_golden_exists(rel)) continue;
        JsonParser *p = json_parser_new();
        assert_true(json_parser_load_from_file(p, test_golden_path(rel), NULL));
        JsonObject *pb = json_object_get_object_member(
            json_node_get_object(json_parser_get_root(p)), "produced_by");
        int64_t want = json_object_get_int_member(pb, "parameters");
        g_object_unref(p);
        snprintf(rel, sizeof rel, "%s/config.json", cases[i]);
        cascade_unet *u = NULL;
        cascade_error err;
        cascade_error_init(&err);
        assert_int_equal(cascade_unet_new_from_file(test_golden_path(rel), &u, &err), 0);
        int64_t n = 0;
        assert_int_equal(cascade_unet_count_params(u, &n, &err), 0);
        assert_int_equal(n, want);
        cascade_unet_free(u);
        checked++;
    }
    if (!checked) skip();
}

/* The real DeepFloyd IF U-Nets (tests/data/if-configs) count within 2 % of their published
 * sizes, without allocating their weights. */
static void test_unet_param_count_if(void **state) {
    (void)state;
    static const struct {
        const char *name;
        double      published;
    } models[] = {
        {"IF-I-M-v1.0", 0.4e9},   {"IF-I-L-v1.0", 0.9e9},  {"IF-I-XL-v1.0", 4.3e9},
        {"IF-II-M-v1.0", 0.45e9}, {"IF-II-L-v1.0", 1.2e9},
    };
    const char *src = getenv("CASCADE_SOURCE_DIR");
    for (size_t i = 0; i < G_N_ELEMENTS(models); i++) {
        char         *path = g_build_filename(src ? src : ".", "tests", "data", "if-configs",
                                      models[i].name, "config.json", NULL);
        cascade_unet *u = NULL;
        cascade_error err;
        cascade_error_init(&err);
        cascade_status st = cascade_unet_new_from_file(path, &u, &err);
        if (st) fprintf(stderr, "%s: %s\n", path, err.message);
        assert_int_equal(st, 0);
        int64_t n = 0;
        assert_int_equal(cascade_unet_count_params(u, &n, &err), 0);
        double rel = fabs((double)n - models[i].published) / models[i].published;
        fprintf(stderr, "# %-14s %lld parameters (published %.2f B, %+.1f %%)\n", models[i].name,
                (long long)n, models[i].published / 1e9,
                100.0 * ((double)n - models[i].published) / models[i].published);
        assert_true(rel < 0.02);
        cascade_unet_free(u);
        g_free(path);
    }
}

/* Stable Diffusion 1.5 / 2.1 U-Nets (tests/data/sd-configs) count exactly the parameters
 * diffusers gives them: the Transformer2DModel blocks at full size. */
static void test_unet_param_count_sd(void **state) {
    (void)state;
    static const struct {
        const char *name;
        int64_t     params;
    } models[] = {{"stable-diffusion-v1-5", 859520964}, {"stable-diffusion-2-1", 865910724}};
    const char *src = getenv("CASCADE_SOURCE_DIR");
    for (size_t i = 0; i < G_N_ELEMENTS(models); i++) {
        char         *path = g_build_filename(src ? src : ".", "tests", "data", "sd-configs",
                                      models[i].name, "config.json", NULL);
        cascade_unet *u = NULL;
        cascade_error err;
        cascade_error_init(&err);
        assert_int_equal(cascade_unet_new_from_file(path, &u, &err), 0);
        int64_t n = 0;
        assert_int_equal(cascade_unet_count_params(u, &n, &err), 0);
        assert_int_equal(n, models[i].params);
        cascade_unet_free(u);
        g_free(path);
    }
}

/* ---- runs on the CPU backend ---- */

/* Runs the golden case's U-Net on its io inputs; mask: NULL (no mask input) or B*N floats.
 * Returns out_sample (malloc'd) and its size. */
static float *run_case(const char *case_name, const float *mask, size_t *n_out) {
    char rel[128];
    snprintf(rel, sizeof rel, "%s/io.safetensors", case_name);
    cascade_safetensors *io = NULL;
    assert_int_equal(cascade_safetensors_open(test_golden_path(rel), &io, NULL), 0);
    const char     *names[] = {CASCADE_UNET_SAMPLE, CASCADE_UNET_TIMESTEP,
                               CASCADE_UNET_ENCODER_HIDDEN_STATES, CASCADE_UNET_CLASS_LABELS};
    cascade_tensor *in[4] = {NULL};
    for (int i = 0; i < 4; i++)
        if (cascade_safetensors_find(io, names[i]))
            assert_int_equal(
                cascade_safetensors_load(io, names[i], CASCADE_DTYPE_F32, &in[i], NULL), 0);
    snprintf(rel, sizeof rel, "%s/config.json", case_name);
    cascade_unet *u = NULL;
    assert_int_equal(cascade_unet_new_from_file(test_golden_path(rel), &u, NULL), 0);
    snprintf(rel, sizeof rel, "%s/weights.safetensors", case_name);
    cascade_weights *w = NULL;
    assert_int_equal(cascade_weights_open_file(test_golden_path(rel), CASCADE_DTYPE_F32, &w, NULL),
                     0);
    cascade_graph *g = NULL;
    assert_int_equal(cascade_graph_new(&g, NULL), 0);
    cascade_unet_build_options o;
    cascade_unet_build_options_init(&o, u);
    o.batch = in[0]->shape[0];
    o.height = in[0]->shape[2];
    o.width = in[0]->shape[3];
    o.seq_len = in[2]->shape[1];
    o.encoder_attention_mask = mask != NULL;
    cascade_error err;
    cascade_error_init(&err);
    cascade_status st = cascade_unet_build(u, w, g, &o, &err);
    if (st) fail_msg("%s", err.message);
    cascade_backend    *be = NULL;
    cascade_cpu_options co;
    cascade_cpu_options_init(&co);
    co.n_threads = 1;
    assert_int_equal(cascade_backend_cpu_new(&co, &be, NULL), 0);
    cascade_plan *p = NULL;
    assert_int_equal(cascade_plan_new(be, g, &p, NULL), 0);
    for (int i = 0; i < 4; i++)
        if (in[i] && cascade_graph_find(g, names[i]) != CASCADE_NO_VALUE)
            assert_int_equal(cascade_plan_write_named(p, names[i], in[i]->data,
                                                      cascade_tensor_nbytes(in[i]), NULL),
                             0);
    if (mask)
        assert_int_equal(cascade_plan_write_named(p, CASCADE_UNET_ENCODER_ATTENTION_MASK, mask,
                                                  sizeof(float) * (size_t)(o.batch * o.seq_len),
                                                  NULL),
                         0);
    assert_int_equal(cascade_plan_run(p, NULL, NULL), 0);
    cascade_unet_info info;
    cascade_unet_get_info(u, &info);
    *n_out = (size_t)(o.batch * info.out_channels * o.height * o.width);
    float *out = malloc(sizeof *out * *n_out);
    assert_int_equal(
        cascade_plan_read_named(p, CASCADE_UNET_OUT_SAMPLE, out, sizeof *out * *n_out, NULL), 0);
    cascade_plan_free(p);
    cascade_backend_free(be);
    cascade_graph_free(g);
    cascade_weights_free(w);
    cascade_unet_free(u);
    for (int i = 0; i < 4; i++)
        cascade_tensor_free(in[i]);
    cascade_safetensors_close(io);
    return out;
}

/* An all-ones encoder_attention_mask changes nothing; masking a token changes the output,
 * for Transformer2DModel (unet_sd) and SimpleCrossAttn (unet_if_stage1) blocks alike. */
static void test_unet_mask_semantics(void **state) {
    (void)state;
    static const struct {
        const char *name;
        int64_t     b, n;
    } cases[] = {{"unet_sd", 2, 7}, {"unet_if_stage1", 2, 12}};
    int ran = 0;
    for (size_t c = 0; c < G_N_ELEMENTS(cases); c++) {
        char rel[96];
        snprintf(rel, sizeof rel, "%s/io.safetensors", cases[c].name);
        if (!test_golden_exists(rel)) continue;
        size_t n0, n1, n2;
        size_t nm = (size_t)(cases[c].b * cases[c].n);
        float *ones = malloc(sizeof *ones * nm);
        for (size_t i = 0; i < nm; i++)
            ones[i] = 1.0f;
        float *plain = run_case(cases[c].name, NULL, &n0);
        float *all = run_case(cases[c].name, ones, &n1);
        ones[nm - 1] = 0.0f; /* drop the last token of the last batch item */
        float *dropped = run_case(cases[c].name, ones, &n2);
        assert_int_equal(n0, n1);
        assert_int_equal(n0, n2);
        double same = 0, first = 0, last = 0;
        size_t half = n0 / 2;
        for (size_t i = 0; i < n0; i++) {
            same = fmax(same, fabs(plain[i] - all[i]));
            if (i < half)
                first = fmax(first, fabs(plain[i] - dropped[i]));
            else
                last = fmax(last, fabs(plain[i] - dropped[i]));
        }
        assert_true(same <= 1e-6);
        assert_true(first <= 1e-6); /* batch item 0 kept all its tokens */
        assert_true(last > 1e-4);
        free(plain);
        free(all);
        free(dropped);
        free(ones);
        ran++;
    }
    if (!ran) skip();
}

/* mid_block_type null and "UNetMidBlock2D" build from exactly the tensors diffusers gives
 * those models: the golden weights minus the mid block (or minus its attention and second
 * resnet), every tensor used. */
static bool keep_for_mid(const char *name, const char *mid_type) {
    if (strncmp(name, "mid_block.", 10)) return true;
    return mid_type && !strncmp(name, "mid_block.resnets.0.", 20);
}

static void test_unet_mid_block_variants(void **state) {
    (void)state;
    if (!test_golden_exists(SD_CASE "/weights.safetensors")) {
        skip();
        return;
    }
    const char *const types[] = {NULL, "UNetMidBlock2D"};
    for (int v = 0; v < 2; v++) {
        cascade_safetensors *st = NULL;
        assert_int_equal(
            cascade_safetensors_open(test_golden_path(SD_CASE "/weights.safetensors"), &st, NULL),
            0);
        size_t           n = cascade_safetensors_count(st), k = 0;
        const char     **names = calloc(n, sizeof *names);
        cascade_tensor **ts = calloc(n, sizeof *ts);
        for (size_t i = 0; i < n; i++) {
            const cascade_st_entry *e = cascade_safetensors_entry(st, i);
            if (!keep_for_mid(e->name, types[v])) continue;
            assert_int_equal(cascade_safetensors_load(st, e->name, CASCADE_DTYPE_F32, &ts[k], NULL),
                             0);
            names[k++] = e->name;
        }
        char *dir = test_make_tmpdir();
        char *wpath = g_build_filename(dir, "diffusion_pytorch_model.safetensors", NULL);
        assert_int_equal(cascade_safetensors_write(wpath, k, names,
                                                   (const cascade_tensor *const *)ts, NULL, NULL),
                         0);
        for (size_t i = 0; i < k; i++)
            cascade_tensor_free(ts[i]);
        free(ts);
        free(names);
        cascade_safetensors_close(st);

        JsonObject *o = golden_config(SD_CASE);
        if (types[v])
            json_object_set_string_member(o, "mid_block_type", types[v]);
        else
            json_object_set_null_member(o, "mid_block_type");
        cascade_unet *u = NULL;
        cascade_error err;
        cascade_error_init(&err);
        assert_int_equal(unet_from_object(o, &u, &err), 0);
        json_object_unref(o);
        cascade_weights *w = NULL;
        cascade_graph   *g = NULL;
        assert_int_equal(cascade_weights_open_file(wpath, CASCADE_DTYPE_F32, &w, &err), 0);
        assert_int_equal(cascade_graph_new(&g, &err), 0);
        cascade_unet_build_options bo;
        cascade_unet_build_options_init(&bo, u);
        cascade_status s = cascade_unet_build(u, w, g, &bo, &err);
        if (!s) s = cascade_weights_check_all_used(w, &err);
        if (s) fail_msg("%s: %s", types[v] ? types[v] : "null", err.message);
        cascade_graph_free(g);
        cascade_weights_free(w);
        cascade_unet_free(u);
        g_unlink(wpath);
        g_rmdir(dir);
        g_free(wpath);
        free(dir);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unet_config_unknown_field),
        cmocka_unit_test(test_unet_config_unsupported_values),
        cmocka_unit_test(test_unet_config_inconsistent),
        cmocka_unit_test(test_unet_config_hostile_values),
        cmocka_unit_test(test_unet_config_huge_channels),
        cmocka_unit_test(test_unet_weight_wrong_shape),
        cmocka_unit_test(test_unet_weight_missing_and_extra),
        cmocka_unit_test(test_unet_build_weight_free),
        cmocka_unit_test(test_unet_param_count_golden),
        cmocka_unit_test(test_unet_param_count_if),
        cmocka_unit_test(test_unet_param_count_sd),
        cmocka_unit_test(test_unet_mask_semantics),
        cmocka_unit_test(test_unet_mid_block_variants),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
