/* Component weights: directory discovery, pickled-checkpoint refusal, shards, lookup,
 * shape checks, dtype conversion and used-tracking. */
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
#include <glib.h>
#include <glib/gstdio.h>

#include "cascade/backend.h"
#include "cascade/graph.h"
#include "cascade/safetensors.h"
#include "cascade/weights.h"
#include "test-common.h"

static void rm_rf(const char *dir) {
    GDir *d = g_dir_open(dir, 0, NULL);
    if (!d) return;
    for (const char *n; (n = g_dir_read_name(d));) {
        gchar *p = g_build_filename(dir, n, NULL);
        if (g_file_test(p, G_FILE_TEST_IS_DIR))
            rm_rf(p);
        else
            g_remove(p);
        g_free(p);
    }
    g_dir_close(d);
    g_rmdir(dir);
}

static int setup(void **state) {
    *state = test_make_tmpdir();
    return *state ? 0 : -1;
}

static int teardown(void **state) {
    rm_rf(*state);
    free(*state);
    return 0;
}

/* Writes a safetensors file dir/file with F32 tensors named names[i], shape [2, 3] except
 * those starting with 'h' (F16 [4]); values i*10 + k. */
static void write_st(const char *dir, const char *file, size_t n, const char *const *names) {
    cascade_tensor *ts[8];
    cascade_error   err;
    cascade_error_init(&err);
    int64_t s23[2] = {2, 3}, s4[1] = {4};
    for (size_t i = 0; i < n; i++) {
        if (names[i][0] == 'h') {
            assert_int_equal(cascade_tensor_new(CASCADE_DTYPE_F16, 1, s4, &ts[i], &err), 0);
            for (int k = 0; k < 4; k++)
                ((uint16_t *)ts[i]->data)[k] = cascade_fp32_to_fp16((float)(i * 10 + k));
        } else {
            assert_int_equal(cascade_tensor_new(CASCADE_DTYPE_F32, 2, s23, &ts[i], &err), 0);
            for (int k = 0; k < 6; k++) ((float *)ts[i]->data)[k] = (float)(i * 10 + k);
        }
    }
    gchar *p = g_build_filename(dir, file, NULL);
    assert_int_equal(
        cascade_safetensors_write(p, n, names, (const cascade_tensor *const *)ts, NULL, &err),
        CASCADE_STATUS_OK);
    g_free(p);
    for (size_t i = 0; i < n; i++) cascade_tensor_free(ts[i]);
}

static void write_text(const char *dir, const char *file, const char *text) {
    gchar *p = g_build_filename(dir, file, NULL);
    assert_true(test_write_file(p, text, strlen(text)));
    g_free(p);
}

static cascade_status open_dir(const char *dir, cascade_dtype dt, cascade_weights **w,
                               cascade_error *err) {
    cascade_error_init(err);
    *w = (cascade_weights *)0x1;
    cascade_status s = cascade_weights_open_dir(dir, dt, w, err);
    if (s != CASCADE_STATUS_OK) assert_null(*w);
    return s;
}

/* model.safetensors is found; tensors come back with their values, F16 converted to F32. */
static void test_weights_open_dir_model_safetensors(void **state) {
    const char           *dir = *state;
    const char *const     names[] = {"b.weight", "a.weight", "h.bias"};
    cascade_weights      *w;
    cascade_error         err;
    const cascade_tensor *t;
    write_st(dir, "model.safetensors", 3, names);
    assert_int_equal(open_dir(dir, CASCADE_DTYPE_F32, &w, &err), CASCADE_STATUS_OK);
    assert_int_equal(cascade_weights_count(w), 3);
    assert_string_equal(cascade_weights_name(w, 0), "a.weight");
    assert_true(cascade_weights_has(w, "h.bias"));
    assert_false(cascade_weights_has(w, "c"));
    int64_t s23[2] = {2, 3};
    assert_int_equal(cascade_weights_get(w, "a.weight", 2, s23, &t, &err), CASCADE_STATUS_OK);
    assert_int_equal(t->dtype, CASCADE_DTYPE_F32);
    assert_true(((const float *)t->data)[5] == 15.0f);
    int64_t s4[1] = {4};
    assert_int_equal(cascade_weights_get(w, "h.bias", 1, s4, &t, &err), CASCADE_STATUS_OK);
    assert_int_equal(t->dtype, CASCADE_DTYPE_F32);
    assert_true(((const float *)t->data)[3] == 23.0f);
    /* shape NULL accepts any shape */
    assert_int_equal(cascade_weights_get(w, "b.weight", 0, NULL, &t, &err), CASCADE_STATUS_OK);
    assert_true(((const float *)t->data)[0] == 0.0f);
    cascade_weights_free(w);
}

/* Converting to F16 at load yields F16 data, cached: the same tensor on the second get. */
static void test_weights_convert_and_cache(void **state) {
    const char           *dir = *state;
    const char *const     names[] = {"x"};
    cascade_weights      *w;
    cascade_error         err;
    const cascade_tensor *t1, *t2;
    write_st(dir, "weights.safetensors", 1, names);
    assert_int_equal(open_dir(dir, CASCADE_DTYPE_F16, &w, &err), CASCADE_STATUS_OK);
    assert_int_equal(cascade_weights_get(w, "x", 0, NULL, &t1, &err), CASCADE_STATUS_OK);
    assert_int_equal(t1->dtype, CASCADE_DTYPE_F16);
    assert_true(cascade_fp16_to_fp32(((const uint16_t *)t1->data)[4]) == 4.0f);
    assert_int_equal(cascade_weights_get(w, "x", 0, NULL, &t2, &err), CASCADE_STATUS_OK);
    assert_ptr_equal(t1, t2);
    cascade_weights_free(w);
}

/* The diffusers name wins over a variant file beside it. */
static void test_weights_prefers_standard_name(void **state) {
    const char       *dir = *state;
    const char *const a[] = {"std"}, *b[] = {"variant"};
    cascade_weights  *w;
    cascade_error     err;
    write_st(dir, "diffusion_pytorch_model.fp16.safetensors", 1, b);
    write_st(dir, "diffusion_pytorch_model.safetensors", 1, a);
    assert_int_equal(open_dir(dir, CASCADE_DTYPE_F32, &w, &err), CASCADE_STATUS_OK);
    assert_true(cascade_weights_has(w, "std"));
    assert_false(cascade_weights_has(w, "variant"));
    cascade_weights_free(w);
}

/* A single file of any name is used; two unknown names are ambiguous (FORMAT). */
static void test_weights_single_any_name_and_ambiguity(void **state) {
    const char       *dir = *state;
    const char *const a[] = {"a"};
    cascade_weights  *w;
    cascade_error     err;
    write_st(dir, "custom.safetensors", 1, a);
    assert_int_equal(open_dir(dir, CASCADE_DTYPE_F32, &w, &err), CASCADE_STATUS_OK);
    assert_true(cascade_weights_has(w, "a"));
    cascade_weights_free(w);
    write_st(dir, "other.safetensors", 1, a);
    assert_int_equal(open_dir(dir, CASCADE_DTYPE_F32, &w, &err), CASCADE_STATUS_FORMAT);
    assert_non_null(strstr(err.message, "custom.safetensors"));
    assert_non_null(strstr(err.message, dir));
}

/* A directory with nothing loadable is IO naming it. */
static void test_weights_empty_dir(void **state) {
    const char      *dir = *state;
    cascade_weights *w;
    cascade_error    err;
    assert_int_equal(open_dir(dir, CASCADE_DTYPE_F32, &w, &err), CASCADE_STATUS_IO);
    assert_non_null(strstr(err.message, dir));
    gchar *missing = g_build_filename(dir, "nope", NULL);
    assert_int_equal(open_dir(missing, CASCADE_DTYPE_F32, &w, &err), CASCADE_STATUS_IO);
    assert_non_null(strstr(err.message, "nope"));
    g_free(missing);
}

/* Only pickled checkpoints: UNSUPPORTED, naming the file and how to convert it. */
static void test_weights_pickled_only_refused(void **state) {
    const char      *dir = *state;
    cascade_weights *w;
    cascade_error    err;
    write_text(dir, "pytorch_model.bin", "PK\x03\x04 not really");
    write_text(dir, "config.json", "{}");
    assert_int_equal(open_dir(dir, CASCADE_DTYPE_F32, &w, &err), CASCADE_STATUS_UNSUPPORTED);
    assert_non_null(strstr(err.message, "pytorch_model.bin"));
    assert_non_null(strstr(err.message, "safe_serialization=True"));
    assert_non_null(strstr(err.message, "arbitrary code"));
    gchar *p = g_build_filename(dir, "model.ckpt", NULL);
    write_text(dir, "model.ckpt", "x");
    cascade_error_init(&err);
    w = NULL;
    assert_int_equal(cascade_weights_open_file(p, CASCADE_DTYPE_F32, &w, &err),
                     CASCADE_STATUS_UNSUPPORTED);
    assert_null(w);
    assert_non_null(strstr(err.message, "model.ckpt"));
    g_free(p);
}

/* Safetensors beside a pickled checkpoint (as hub repos ship) is loaded. */
static void test_weights_pickled_beside_safetensors(void **state) {
    const char       *dir = *state;
    const char *const a[] = {"a"};
    cascade_weights  *w;
    cascade_error     err;
    write_text(dir, "diffusion_pytorch_model.bin", "x");
    write_st(dir, "diffusion_pytorch_model.safetensors", 1, a);
    assert_int_equal(open_dir(dir, CASCADE_DTYPE_F32, &w, &err), CASCADE_STATUS_OK);
    assert_true(cascade_weights_has(w, "a"));
    cascade_weights_free(w);
}

/* A missing tensor is FORMAT naming the file and the tensor. */
static void test_weights_missing_tensor(void **state) {
    const char           *dir = *state;
    const char *const     a[] = {"a"};
    cascade_weights      *w;
    cascade_error         err;
    const cascade_tensor *t = (const cascade_tensor *)0x1;
    write_st(dir, "model.safetensors", 1, a);
    assert_int_equal(open_dir(dir, CASCADE_DTYPE_F32, &w, &err), CASCADE_STATUS_OK);
    assert_int_equal(cascade_weights_get(w, "encoder.final_layer_norm.weight", 0, NULL, &t, &err),
                     CASCADE_STATUS_FORMAT);
    assert_null(t);
    assert_non_null(strstr(err.message, "model.safetensors"));
    assert_non_null(strstr(err.message, "'encoder.final_layer_norm.weight' is missing"));
    cascade_weights_free(w);
}

/* A wrong shape is FORMAT naming the file, the tensor, and both shapes. */
static void test_weights_wrong_shape(void **state) {
    const char           *dir = *state;
    const char *const     a[] = {"proj.weight"};
    cascade_weights      *w;
    cascade_error         err;
    const cascade_tensor *t;
    write_st(dir, "model.safetensors", 1, a);
    assert_int_equal(open_dir(dir, CASCADE_DTYPE_F32, &w, &err), CASCADE_STATUS_OK);
    int64_t want[2] = {3, 2};
    assert_int_equal(cascade_weights_get(w, "proj.weight", 2, want, &t, &err),
                     CASCADE_STATUS_FORMAT);
    assert_non_null(strstr(err.message, "model.safetensors: tensor 'proj.weight': got [2, 3], "
                                        "expected [3, 2]"));
    int64_t want3[3] = {2, 3, 1};
    cascade_error_init(&err);
    assert_int_equal(cascade_weights_get(w, "proj.weight", 3, want3, &t, &err),
                     CASCADE_STATUS_FORMAT);
    assert_non_null(strstr(err.message, "expected [2, 3, 1]"));
    cascade_weights_free(w);
}

/* Tensors nobody asked for are FORMAT naming the first; mark_used clears them. */
static void test_weights_check_all_used(void **state) {
    const char           *dir = *state;
    const char *const     a[] = {"a", "b", "c"};
    cascade_weights      *w;
    cascade_error         err;
    const cascade_tensor *t;
    write_st(dir, "model.safetensors", 3, a);
    assert_int_equal(open_dir(dir, CASCADE_DTYPE_F32, &w, &err), CASCADE_STATUS_OK);
    assert_int_equal(cascade_weights_get(w, "a", 0, NULL, &t, &err), CASCADE_STATUS_OK);
    assert_int_equal(cascade_weights_check_all_used(w, &err), CASCADE_STATUS_FORMAT);
    assert_non_null(strstr(err.message, "tensor 'b' is not used"));
    cascade_weights_mark_used(w, "b");
    cascade_weights_mark_used(w, "c");
    cascade_weights_mark_used(w, "not-there");
    cascade_error_init(&err);
    assert_int_equal(cascade_weights_check_all_used(w, &err), CASCADE_STATUS_OK);
    cascade_weights_free(w);
}

/* get_any returns the first present name and counts the other aliases as used. */
static void test_weights_get_any_aliases(void **state) {
    const char           *dir = *state;
    const char *const     a[] = {"shared.weight", "encoder.embed_tokens.weight"};
    cascade_weights      *w;
    cascade_error         err;
    const cascade_tensor *t;
    write_st(dir, "model.safetensors", 2, a);
    assert_int_equal(open_dir(dir, CASCADE_DTYPE_F32, &w, &err), CASCADE_STATUS_OK);
    const char *const try[] = {"missing.weight", "encoder.embed_tokens.weight", "shared.weight"};
    assert_int_equal(cascade_weights_get_any(w, try, 3, 0, NULL, &t, &err), CASCADE_STATUS_OK);
    assert_true(((const float *)t->data)[0] == 10.0f); /* the embed_tokens copy */
    assert_int_equal(cascade_weights_check_all_used(w, &err), CASCADE_STATUS_OK);
    const char *const none[] = {"x", "y"};
    assert_int_equal(cascade_weights_get_any(w, none, 2, 0, NULL, &t, &err), CASCADE_STATUS_FORMAT);
    assert_non_null(strstr(err.message, "'x', 'y'"));
    cascade_weights_free(w);
}

/* A sharded checkpoint: lookups cross shards, errors name the shard holding the tensor. */
static void test_weights_sharded_index(void **state) {
    const char           *dir = *state;
    const char *const     s1[] = {"a", "b"}, *s2[] = {"c"};
    cascade_weights      *w;
    cascade_error         err;
    const cascade_tensor *t;
    write_st(dir, "model-00001-of-00002.safetensors", 2, s1);
    write_st(dir, "model-00002-of-00002.safetensors", 1, s2);
    write_text(dir, "model.safetensors.index.json",
               "{\"metadata\": {\"total_size\": 72}, \"weight_map\": {"
               "\"a\": \"model-00001-of-00002.safetensors\","
               "\"b\": \"model-00001-of-00002.safetensors\","
               "\"c\": \"model-00002-of-00002.safetensors\"}}");
    /* the index can also be opened directly */
    gchar *index = g_build_filename(dir, "model.safetensors.index.json", NULL);
    assert_int_equal(cascade_weights_open_file(index, CASCADE_DTYPE_F32, &w, &err),
                     CASCADE_STATUS_OK);
    assert_int_equal(cascade_weights_count(w), 3);
    cascade_weights_free(w);
    g_free(index);
    assert_int_equal(open_dir(dir, CASCADE_DTYPE_F32, &w, &err), CASCADE_STATUS_OK);
    assert_int_equal(cascade_weights_count(w), 3);
    assert_int_equal(cascade_weights_get(w, "c", 0, NULL, &t, &err), CASCADE_STATUS_OK);
    assert_true(((const float *)t->data)[1] == 1.0f);
    assert_int_equal(cascade_weights_get(w, "b", 0, NULL, &t, &err), CASCADE_STATUS_OK);
    assert_true(((const float *)t->data)[1] == 11.0f);
    int64_t bad[1] = {6};
    assert_int_equal(cascade_weights_get(w, "c", 1, bad, &t, &err), CASCADE_STATUS_FORMAT);
    assert_non_null(strstr(err.message, "model-00002-of-00002.safetensors"));
    cascade_error_init(&err);
    assert_int_equal(cascade_weights_check_all_used(w, &err), CASCADE_STATUS_FORMAT);
    assert_non_null(strstr(err.message, "'a'"));
    cascade_weights_free(w);
}

/* An index naming a tensor its shard lacks, or a shard outside the directory, is FORMAT. */
static void test_weights_index_inconsistent(void **state) {
    const char       *dir = *state;
    const char *const s1[] = {"a"};
    cascade_weights  *w;
    cascade_error     err;
    write_st(dir, "s1.safetensors", 1, s1);
    write_text(dir, "model.safetensors.index.json",
               "{\"weight_map\": {\"a\": \"s1.safetensors\", \"zz\": \"s1.safetensors\"}}");
    assert_int_equal(open_dir(dir, CASCADE_DTYPE_F32, &w, &err), CASCADE_STATUS_FORMAT);
    assert_non_null(strstr(err.message, "'zz'"));
    write_text(dir, "model.safetensors.index.json",
               "{\"weight_map\": {\"a\": \"../s1.safetensors\"}}");
    assert_int_equal(open_dir(dir, CASCADE_DTYPE_F32, &w, &err), CASCADE_STATUS_FORMAT);
    assert_non_null(strstr(err.message, "same directory"));
    write_text(dir, "model.safetensors.index.json", "{\"weight_map\": [1]}");
    assert_int_equal(open_dir(dir, CASCADE_DTYPE_F32, &w, &err), CASCADE_STATUS_FORMAT);
    assert_non_null(strstr(err.message, "weight_map"));
    write_text(dir, "model.safetensors.index.json",
               "{\"weight_map\": {\"a\": \"missing.safetensors\"}}");
    assert_int_equal(open_dir(dir, CASCADE_DTYPE_F32, &w, &err), CASCADE_STATUS_IO);
    assert_non_null(strstr(err.message, "missing.safetensors"));
}

/* The same tensor in two shards is FORMAT naming both files. */
static void test_weights_duplicate_across_shards(void **state) {
    const char       *dir = *state;
    const char *const s[] = {"a"};
    cascade_weights  *w;
    cascade_error     err;
    write_st(dir, "s1.safetensors", 1, s);
    write_st(dir, "s2.safetensors", 1, s);
    write_text(dir, "model.safetensors.index.json",
               "{\"weight_map\": {\"a\": \"s1.safetensors\", \"b\": \"s2.safetensors\"}}");
    assert_int_equal(open_dir(dir, CASCADE_DTYPE_F32, &w, &err), CASCADE_STATUS_FORMAT);
    assert_non_null(strstr(err.message, "s1.safetensors"));
    assert_non_null(strstr(err.message, "s2.safetensors"));
}

/* The golden T5 component directory: weights.safetensors, F32 and F16 agree. */
static void test_weights_golden_t5(void **state) {
    (void)state;
    if (!test_golden_exists("t5_encoder/weights.safetensors")) skip();
    cascade_weights      *w32 = NULL, *w16 = NULL;
    cascade_error         err;
    const cascade_tensor *a, *b;
    gchar                *dir = g_strdup(test_golden_path("t5_encoder"));
    assert_int_equal(open_dir(dir, CASCADE_DTYPE_F32, &w32, &err), CASCADE_STATUS_OK);
    assert_int_equal(open_dir(dir, CASCADE_DTYPE_F16, &w16, &err), CASCADE_STATUS_OK);
    assert_int_equal(cascade_weights_count(w32), 30);
    int64_t     shape[2] = {64, 64};
    const char *n = "encoder.block.0.layer.0.SelfAttention.q.weight";
    assert_int_equal(cascade_weights_get(w32, n, 2, shape, &a, &err), CASCADE_STATUS_OK);
    assert_int_equal(cascade_weights_get(w16, n, 2, shape, &b, &err), CASCADE_STATUS_OK);
    for (int i = 0; i < 64 * 64; i++) {
        float x = ((const float *)a->data)[i];
        float y = cascade_fp16_to_fp32(((const uint16_t *)b->data)[i]);
        assert_true(fabsf(y - x) <= 1e-3f * fabsf(x) + 1e-6f);
    }
    const char *const emb[] = {"encoder.embed_tokens.weight", "shared.weight"};
    int64_t           eshape[2] = {2176, 64};
    assert_int_equal(cascade_weights_get_any(w32, emb, 2, 2, eshape, &a, &err), CASCADE_STATUS_OK);
    cascade_weights_free(w16);
    cascade_weights_free(w32);
    g_free(dir);
}

/* The golden IF stage-I U-Net directory uses diffusers' file name. */
static void test_weights_golden_unet_dir(void **state) {
    (void)state;
    if (!test_golden_exists("pipeline_if_stage1/unet/diffusion_pytorch_model.safetensors")) skip();
    cascade_weights      *w = NULL;
    cascade_error         err;
    const cascade_tensor *t;
    gchar                *dir = g_strdup(test_golden_path("pipeline_if_stage1/unet"));
    assert_int_equal(open_dir(dir, CASCADE_DTYPE_F32, &w, &err), CASCADE_STATUS_OK);
    assert_int_equal(cascade_weights_count(w), 433);
    int64_t shape[4] = {16, 3, 3, 3};
    assert_int_equal(cascade_weights_get(w, "conv_in.weight", 4, shape, &t, &err),
                     CASCADE_STATUS_OK);
    cascade_weights_free(w);
    g_free(dir);
}

/* Writes dir/file holding one F32 tensor "big.weight" of n values v (several pages). */
static void write_big(const char *dir, const char *file, int64_t n, float v) {
    cascade_tensor *t = NULL;
    cascade_error   err;
    cascade_error_init(&err);
    assert_int_equal(cascade_tensor_new(CASCADE_DTYPE_F32, 1, &n, &t, &err), CASCADE_STATUS_OK);
    for (int64_t k = 0; k < n; k++) ((float *)t->data)[k] = v;
    gchar            *p = g_build_filename(dir, file, NULL);
    const char *const names[] = {"big.weight"};
    assert_int_equal(cascade_safetensors_write(p, 1, names, (const cascade_tensor *const *)&t,
                                               NULL, &err),
                     CASCADE_STATUS_OK);
    g_free(p);
    cascade_tensor_free(t);
}

/* y = x + w on the CPU backend, with w used in place from the mapped file. */
static cascade_status run_add(cascade_weights *w, int64_t n, float *y, cascade_error *err) {
    const cascade_tensor *wt = NULL;
    cascade_graph        *g = NULL;
    cascade_backend      *be = NULL;
    cascade_plan         *plan = NULL;
    cascade_cpu_options   copt;
    cascade_cpu_options_init(&copt);
    copt.n_threads = 2;
    cascade_status st = cascade_weights_get(w, "big.weight", 1, &n, &wt, err);
    if (st == CASCADE_STATUS_OK) st = cascade_graph_new(&g, err);
    if (st == CASCADE_STATUS_OK) {
        cascade_value_id x = cascade_graph_input(g, "x", CASCADE_DTYPE_F32, 1, &n);
        cascade_value_id c = cascade_graph_constant(g, "w", wt);
        cascade_graph_mark_output(g, cascade_graph_add(g, x, c), "y");
        st = cascade_backend_cpu_new(&copt, &be, err);
    }
    if (st == CASCADE_STATUS_OK) st = cascade_plan_new(be, g, &plan, err);
    float *x = calloc((size_t)n, sizeof *x);
    for (int64_t k = 0; x && k < n; k++) x[k] = 1.0f;
    if (st == CASCADE_STATUS_OK)
        st = cascade_plan_write_named(plan, "x", x, (size_t)n * sizeof *x, err);
    if (st == CASCADE_STATUS_OK) st = cascade_plan_run(plan, NULL, err);
    if (st == CASCADE_STATUS_OK)
        st = cascade_plan_read_named(plan, "y", y, (size_t)n * sizeof *y, err);
    free(x);
    cascade_plan_free(plan);
    cascade_backend_free(be);
    cascade_graph_free(g);
    return st;
}

/* A weights file truncated on disk while its fp32 data is used in place from the map (issue
 * 14): the run ends with an IO error naming the file instead of SIGBUS, and keeps failing
 * until the weights are reopened, after which a run of the rewritten file is right. */
static void test_weights_truncated_while_mapped(void **state) {
    const char   *dir = *state;
    const int64_t n = 1 << 16; /* 256 KiB: many pages past the cut */
    float        *y = malloc((size_t)n * sizeof *y);
    write_big(dir, "model.safetensors", n, 2.0f);
    cascade_weights *w = NULL;
    cascade_error    err;
    assert_int_equal(open_dir(dir, CASCADE_DTYPE_F32, &w, &err), CASCADE_STATUS_OK);
    assert_int_equal(run_add(w, n, y, &err), CASCADE_STATUS_OK);
    assert_true(y[0] == 3.0f && y[n - 1] == 3.0f);

    gchar *p = g_build_filename(dir, "model.safetensors", NULL);
    assert_int_equal(truncate(p, 4096), 0);
    for (int k = 0; k < 2; k++) { /* the loss is sticky: a second run fails the same way */
        cascade_error_init(&err);
        assert_int_equal(run_add(w, n, y, &err), CASCADE_STATUS_IO);
        assert_non_null(strstr(err.message, "model.safetensors"));
        assert_non_null(strstr(err.message, "truncated"));
    }
    cascade_weights_free(w);

    write_big(dir, "model.safetensors", n, 5.0f);
    assert_int_equal(open_dir(dir, CASCADE_DTYPE_F32, &w, &err), CASCADE_STATUS_OK);
    assert_int_equal(run_add(w, n, y, &err), CASCADE_STATUS_OK);
    assert_true(y[0] == 6.0f && y[n - 1] == 6.0f);
    cascade_weights_free(w);
    g_free(p);
    free(y);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        T(test_weights_open_dir_model_safetensors),
        T(test_weights_convert_and_cache),
        T(test_weights_prefers_standard_name),
        T(test_weights_single_any_name_and_ambiguity),
        T(test_weights_empty_dir),
        T(test_weights_pickled_only_refused),
        T(test_weights_pickled_beside_safetensors),
        T(test_weights_missing_tensor),
        T(test_weights_wrong_shape),
        T(test_weights_check_all_used),
        T(test_weights_get_any_aliases),
        T(test_weights_sharded_index),
        T(test_weights_index_inconsistent),
        T(test_weights_duplicate_across_shards),
        T(test_weights_golden_t5),
        T(test_weights_golden_unet_dir),
        T(test_weights_truncated_while_mapped),
    };
    return cmocka_run_group_tests_name("weights", tests, NULL, NULL);
}
