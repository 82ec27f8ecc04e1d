/* The `cascade` command end to end: tokenize and forward against the golden cases, encode
 * through a model directory assembled from them, and clear errors for bad input. */
#include <glib.h>
#include <math.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cascade/image-io.h"
#include "cascade/safetensors.h"
#include "test-common.h"
#include "cli-run.h"
#include "tiny-cascade.h"

static int need_golden(void **state) {
    (void)state;
    return 0;
}

/* `cascade tokenize` prints the reference ids for every single text of a golden tokenizer
 * case; the folder (spiece.model, or vocab.json + merges.txt) picks T5 or CLIP. */
static void tokenize_matches_golden(const char *case_dir, const char *nul_stand_in) {
    char *cases = g_build_filename(test_golden_path(case_dir), "tokenizer_cases.json", NULL);
    if (!g_file_test(cases, G_FILE_TEST_EXISTS)) {
        g_free(cases);
        skip();
    }
    JsonParser *p = json_parser_new();
    assert_true(test_json_load_nul_as(p, cases, nul_stand_in, NULL));
    JsonArray *single = json_object_get_array_member(json_node_get_object(json_parser_get_root(p)), "single");
    char      *model = g_strdup(test_golden_path(case_dir));
    for (guint i = 0; i < json_array_get_length(single); i++) {
        JsonObject *e = json_array_get_object_element(single, i);
        const char *text = json_object_get_string_member(e, "text");
        result      r = run_cli((const char *[]){"tokenize", "--model", model, "--", text, NULL});
        assert_int_equal(r.status, 0);
        JsonParser *rp = json_parser_new();
        assert_true(json_parser_load_from_data(rp, r.out, -1, NULL));
        JsonArray *got = json_node_get_array(json_parser_get_root(rp));
        JsonArray *want = json_object_get_array_member(e, "ids");
        assert_int_equal(json_array_get_length(got), json_array_get_length(want));
        for (guint k = 0; k < json_array_get_length(want); k++)
            assert_int_equal(json_array_get_int_element(got, k), json_array_get_int_element(want, k));
        g_object_unref(rp);
        result_clear(&r);
    }
    g_free(model);
    g_free(cases);
    g_object_unref(p);
}

static void test_cli_tokenize_matches_golden(void **state) {
    (void)state;
    tokenize_matches_golden("t5_tokenizer", NULL);
}

/* CLIP's BasicTokenizer drops U+0000 as it drops U+0001, which can pass through argv. */
static void test_cli_tokenize_clip_matches_golden(void **state) {
    (void)state;
    tokenize_matches_golden("clip_tokenizer", "\\u0001");
}

/* --max-length pads with the pad id and keeps eos last when truncating. */
static void test_cli_tokenize_max_length(void **state) {
    (void)state;
    if (!test_golden_exists("t5_tokenizer/spiece.model")) skip();
    char  *model = g_strdup(test_golden_path("t5_tokenizer"));
    result r = run_cli((const char *[]){"tokenize", "-m", model, "-n", "4", "--",
                                        "a photo of an astronaut riding a horse", NULL});
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, ", 1]"));
    result_clear(&r);
    r = run_cli((const char *[]){"tokenize", "-m", model, "-n", "0", "--", "x", NULL});
    assert_int_not_equal(r.status, 0);
    assert_non_null(strstr(r.err, "--max-length"));
    result_clear(&r);
    g_free(model);
}

static float *read_tensor(const char *path, const char *name, int64_t *n) {
    cascade_safetensors *st = NULL;
    cascade_tensor      *t = NULL;
    cascade_error        err;
    cascade_error_init(&err);
    if (cascade_safetensors_open(path, &st, &err) ||
        cascade_safetensors_load(st, name, CASCADE_DTYPE_F32, &t, &err))
        fail_msg("%s", err.message);
    *n = cascade_tensor_numel(t);
    float *v = malloc(sizeof(float) * (size_t)*n);
    memcpy(v, t->data, sizeof(float) * (size_t)*n);
    cascade_tensor_free(t);
    cascade_safetensors_close(st);
    return v;
}

/* The tensor `got` of file a is within atol + rtol |want| of the tensor `want` of file b. */
static void assert_tensor_close(const char *a, const char *got, const char *b, const char *want,
                                double atol, double rtol) {
    int64_t n_got, n_want;
    float  *g = read_tensor(a, got, &n_got);
    float  *w = read_tensor(b, want, &n_want);
    assert_int_equal(n_got, n_want);
    test_diff d;
    bool      ok = test_compare(g, w, (size_t)n_got, atol, rtol, &d);
    if (!ok) test_diff_print(want, g, w, (size_t)n_got, &d);
    assert_true(ok);
    free(g);
    free(w);
}

/* `cascade forward --debug` run on a golden component with its io inputs. */
typedef struct forward_run {
    char *dir, *out, *comp, *io;
} forward_run;

static forward_run forward_golden(const char *case_name) {
    forward_run f = {.dir = test_make_tmpdir(), .comp = g_strdup(test_golden_path(case_name))};
    f.out = g_build_filename(f.dir, "out.safetensors", NULL);
    f.io = g_build_filename(f.comp, "io.safetensors", NULL);
    result r = run_cli((const char *[]){"forward", "--component", f.comp, "--inputs", f.io,
                                        "--outputs", f.out, "--debug", NULL});
    if (r.status) fail_msg("forward %s: %s", case_name, r.err);
    result_clear(&r);
    return f;
}

static void forward_run_clear(forward_run *f) {
    g_unlink(f->out);
    g_rmdir(f->dir);
    g_free(f->out);
    free(f->dir);
    g_free(f->comp);
    g_free(f->io);
}

/* `cascade forward` on the T5 golden component reproduces last_hidden_state. */
static void test_cli_forward_t5_matches_golden(void **state) {
    (void)state;
    if (!test_golden_exists("t5_encoder/io.safetensors")) skip();
    forward_run f = forward_golden("t5_encoder");
    /* case.json tolerance */
    assert_tensor_close(f.out, "last_hidden_state", f.io, "last_hidden_state", 2e-5, 1e-4);
    int64_t n_dbg, n_want;
    free(read_tensor(f.out, "hidden_states.0", &n_dbg));
    free(read_tensor(f.io, "last_hidden_state", &n_want));
    assert_int_equal(n_dbg, n_want);
    forward_run_clear(&f);
}

/* `cascade forward` runs a CLIPTextModel folder (recognised by its architectures): with
 * the io's attention_mask it gives last_hidden_state_masked, and the pooled output. */
static void test_cli_forward_clip_text_matches_golden(void **state) {
    (void)state;
    if (!test_golden_exists("clip_text_model/io.safetensors")) skip();
    forward_run f = forward_golden("clip_text_model");
    /* case.json tolerance */
    assert_tensor_close(f.out, "last_hidden_state", f.io, "last_hidden_state_masked", 4e-5, 1e-4);
    assert_tensor_close(f.out, "pooler_output", f.io, "pooler_output", 4e-5, 1e-4);
    forward_run_clear(&f);
}

/* `cascade forward` on each U-Net golden component reproduces out_sample within the case's
 * tolerance (stage II needs class_labels, taken from the io file like the rest). */
static void test_cli_forward_unet_matches_golden(void **state) {
    (void)state;
    static const char *const cases[] = {"unet_if_stage1", "unet_if_stage2", "unet_sd"};
    int ran = 0;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char rel[128];
        snprintf(rel, sizeof rel, "%s/case.json", cases[k]);
        if (!test_golden_exists(rel)) continue;
        JsonParser *jp = json_parser_new();
        assert_true(json_parser_load_from_file(jp, test_golden_path(rel), NULL));
        JsonObject *tol = json_object_get_object_member(
            json_node_get_object(json_parser_get_root(jp)), "tolerance");
        double atol = json_object_get_double_member(tol, "atol");
        double rtol = json_object_get_double_member(tol, "rtol");
        g_object_unref(jp);
        char *comp = g_strdup(test_golden_path(cases[k]));
        char *io = g_build_filename(comp, "io.safetensors", NULL);
        char *dir = test_make_tmpdir();
        char *out = g_build_filename(dir, "out.safetensors", NULL);
        result r = run_cli((const char *[]){"forward", "-c", comp, "-i", io, "-o", out, NULL});
        if (r.status) fail_msg("forward %s: %s", cases[k], r.err);
        int64_t n_got, n_want;
        float  *got = read_tensor(out, "out_sample", &n_got);
        /* the CLI uses the mask when the inputs hold one: compare with the masked output */
        cascade_safetensors *st = NULL;
        assert_int_equal(cascade_safetensors_open(io, &st, NULL), 0);
        const char *ref = cascade_safetensors_find(st, "out_sample_masked") &&
                                  cascade_safetensors_find(st, "encoder_attention_mask")
                              ? "out_sample_masked" : "out_sample";
        cascade_safetensors_close(st);
        float *want = read_tensor(io, ref, &n_want);
        assert_int_equal(n_got, n_want);
        test_diff d;
        bool      ok = test_compare(got, want, (size_t)n_got, atol, rtol, &d);
        if (!ok) test_diff_print(cases[k], got, want, (size_t)n_got, &d);
        assert_true(ok);
        ran++;
        free(got), free(want), result_clear(&r);
        g_unlink(out);
        g_rmdir(dir);
        g_free(out), g_free(dir), g_free(io), g_free(comp);
    }
    if (!ran) skip();
}

/* `cascade encode` through a model dir (tokenizer/ + text_encoder/) gives the golden row of
 * the same prompt: tokenizer and encoder agree end to end. */
static void test_cli_encode_model_dir(void **state) {
    (void)state;
    if (!test_golden_exists("t5_encoder/io.safetensors")) skip();
    char *dir = test_make_tmpdir();
    char *tok = g_build_filename(dir, "tokenizer", NULL), *enc = g_build_filename(dir, "text_encoder", NULL);
    char *tok_src = g_canonicalize_filename(test_golden_path("t5_tokenizer"), NULL);
    char *enc_src = g_canonicalize_filename(test_golden_path("t5_encoder"), NULL);
    assert_int_equal(symlink(tok_src, tok), 0);
    assert_int_equal(symlink(enc_src, enc), 0);
    char  *out = g_build_filename(dir, "emb.safetensors", NULL);
    result r = run_cli((const char *[]){"encode", "--model", dir, "--max-length", "12", "a red fox",
                                        "-o", out, NULL});
    if (r.status) fail_msg("encode: %s", r.err);
    int64_t n_got, n_want;
    float  *got = read_tensor(out, "last_hidden_state", &n_got);
    char   *io = g_build_filename(enc_src, "io.safetensors", NULL);
    float  *want = read_tensor(io, "last_hidden_state", &n_want); /* row 0 = "a red fox" */
    assert_int_equal(n_got * 2, n_want);
    test_diff d;
    bool      ok = test_compare(got, want, (size_t)n_got, 2e-5, 1e-4, &d);
    if (!ok) test_diff_print("encode row 0", got, want, (size_t)n_got, &d);
    assert_true(ok);
    free(got);
    free(want);
    result_clear(&r);
    g_unlink(out);
    g_unlink(tok);
    g_unlink(enc);
    g_rmdir(dir);
    g_free(io), g_free(out), g_free(tok), g_free(enc), g_free(tok_src), g_free(enc_src), g_free(dir);
}

/* The tiny golden cascade (tests/common/tiny-cascade.h); NULL when the golden files are not
 * there, a failure when they are and it cannot be assembled. */
static char *make_test_cascade(void) {
    char *root = tiny_cascade_make();
    if (!root && test_golden_exists("pipeline_if_stage1/model_index.json") &&
        test_golden_exists("pipeline_if_stage2/model_index.json") &&
        test_golden_exists("t5_encoder/config.json"))
        fail_msg("could not assemble the test cascade from the golden cases");
    return root;
}

/* generate: a batch of two 32 px PNGs (stage II size); the same seed gives the same bytes. */
static void test_cli_generate_two_stages(void **state) {
    (void)state;
    char *root = make_test_cascade();
    if (!root) skip();
    char  *out = g_build_filename(root, "fox.png", NULL);
    char  *out1 = g_build_filename(root, "fox-1.png", NULL), *out2 = g_build_filename(root, "fox-2.png", NULL);
    result r = run_cli((const char *[]){"generate", "-m", root, "a red fox", "--seed", "7", "--steps",
                                        "6", "--sr-steps", "3", "--batch", "2", "-o", out, NULL});
    if (r.status) fail_msg("generate: %s", r.err);
    cascade_image *a = read_png(out1), *b = read_png(out2);
    assert_int_equal(a->width, 32);
    assert_int_equal(a->height, 32);
    assert_int_equal(b->width, 32);
    assert_memory_not_equal(a->pixels, b->pixels, 32 * 32 * 3); /* two different samples */
    result_clear(&r);
    char *again = g_build_filename(root, "again.png", NULL);
    char *again1 = g_build_filename(root, "again-1.png", NULL);
    r = run_cli((const char *[]){"generate", "-m", root, "a red fox", "--seed", "7", "--steps", "6",
                                 "--sr-steps", "3", "--batch", "2", "-o", again, NULL});
    assert_int_equal(r.status, 0);
    cascade_image *c = read_png(again1);
    assert_memory_equal(a->pixels, c->pixels, 32 * 32 * 3);
    cascade_image_free(a), cascade_image_free(b), cascade_image_free(c);
    result_clear(&r);
    tiny_cascade_rm_tree(root);
    g_free(root), g_free(out), g_free(out1), g_free(out2), g_free(again), g_free(again1);
}

/* generate with no --model uses the shipped default cascade and writes a 256x256 PNG
 * (stage II's size), the same bytes again for the same seed. */
static void test_cli_generate_default_model_256(void **state) {
    (void)state;
    const char *src = getenv("CASCADE_SOURCE_DIR");
    char *idx = src ? g_build_filename(src, "models", "emoji-cascade", "stage2", "model_index.json",
                                       NULL)
                    : NULL;
    bool have = idx && g_file_test(idx, G_FILE_TEST_IS_REGULAR);
    g_free(idx);
    if (!have) skip();
    g_unsetenv("CASCADE_MODEL");
    char *dir = test_make_tmpdir();
    char *out = g_build_filename(dir, "apple.png", NULL), *out2 = g_build_filename(dir, "b.png", NULL);
    /* few steps: this checks the path and the size, not the picture */
    result r = run_cli((const char *[]){"generate", "--prompt", "red apple, flat style", "--seed",
                                        "3", "--steps", "3", "--sr-steps", "2", "-q", "-o", out, NULL});
    if (r.status) fail_msg("generate: %s", r.err);
    result_clear(&r);
    r = run_cli((const char *[]){"generate", "--prompt", "red apple, flat style", "--seed", "3",
                                 "--steps", "3", "--sr-steps", "2", "-q", "-o", out2, NULL});
    assert_int_equal(r.status, 0);
    cascade_image *a = read_png(out), *b = read_png(out2);
    assert_int_equal(a->width, 256);
    assert_int_equal(a->height, 256);
    assert_memory_equal(a->pixels, b->pixels, 256 * 256 * 3);
    cascade_image_free(a), cascade_image_free(b);
    result_clear(&r);
    tiny_cascade_rm_tree(dir);
    g_free(dir), g_free(out), g_free(out2);
}

/* generate without --steps/--guidance takes them from the model's generation_defaults.json;
 * options given on the command line win; a bad value there is an error naming the file. */
static void test_cli_generate_model_defaults(void **state) {
    (void)state;
    char *root = make_test_cascade();
    if (!root) skip();
    char *defaults = g_build_filename(root, "stage1", "generation_defaults.json", NULL);
    char *out = g_build_filename(root, "d.png", NULL);
    static const char good[] = "{\"steps\": 3, \"guidance\": 1.5}\n";
    assert_true(test_write_file(defaults, good, strlen(good)));
    result r = run_cli((const char *[]){"generate", "-m", root, "--no-sr", "a red fox", "--seed", "1",
                                        "-o", out, NULL});
    if (r.status) fail_msg("generate: %s", r.err);
    assert_non_null(strstr(r.err, "step 3/3"));
    assert_null(strstr(r.err, "/50"));
    result_clear(&r);
    r = run_cli((const char *[]){"generate", "-m", root, "--no-sr", "a red fox", "--seed", "1",
                                 "--steps", "2", "-o", out, NULL});
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.err, "step 2/2"));
    result_clear(&r);
    static const char bad[] = "{\"steps\": 0}\n";
    assert_true(test_write_file(defaults, bad, strlen(bad)));
    r = run_cli((const char *[]){"generate", "-m", root, "--no-sr", "x", "-o", out, NULL});
    assert_int_not_equal(r.status, 0);
    assert_non_null(strstr(r.err, "generation_defaults.json"));
    assert_non_null(strstr(r.err, "steps"));
    result_clear(&r);
    static const char bad_strength[] = "{\"strength\": 1.5}\n";
    assert_true(test_write_file(defaults, bad_strength, strlen(bad_strength)));
    r = run_cli((const char *[]){"generate", "-m", root, "--no-sr", "x", "-o", out, NULL});
    assert_int_not_equal(r.status, 0);
    assert_non_null(strstr(r.err, "strength"));
    result_clear(&r);
    /* stage II's recommended start (strength 0.8) with one step asked for: that step runs,
     * instead of "strength 0.8 leaves no step of 1" for a strength the user never chose */
    char *sr = g_build_filename(root, "sr", NULL); /* a folder of our own: stage2/ is a link
                                                      into the golden files */
    assert_int_equal(g_mkdir(sr, 0755), 0);
    static const char *const parts[] = {"model_index.json", "unet", "scheduler",
                                        "image_noising_scheduler"};
    for (size_t i = 0; i < G_N_ELEMENTS(parts); i++) {
        char *dst = g_build_filename(sr, parts[i], NULL);
        char *src = g_canonicalize_filename(test_golden_path("pipeline_if_stage2"), NULL);
        char *from = g_build_filename(src, parts[i], NULL);
        assert_int_equal(symlink(from, dst), 0);
        g_free(dst), g_free(src), g_free(from);
    }
    char *sr_defaults = g_build_filename(sr, "generation_defaults.json", NULL);
    static const char sr_start[] = "{\"strength\": 0.8}\n";
    assert_true(test_write_file(defaults, good, strlen(good)));
    assert_true(test_write_file(sr_defaults, sr_start, strlen(sr_start)));
    r = run_cli((const char *[]){"generate", "-m", root, "-s", sr, "x", "--sr-steps", "1", "-o",
                                 out, NULL});
    if (r.status) fail_msg("generate --sr-steps 1: %s", r.err);
    result_clear(&r);
    g_free(sr_defaults), g_free(sr);
    static const char unknown[] = "{\"stepz\": 4}\n";
    assert_true(test_write_file(defaults, unknown, strlen(unknown)));
    r = run_cli((const char *[]){"generate", "-m", root, "--no-sr", "x", "-o", out, NULL});
    assert_int_not_equal(r.status, 0);
    assert_non_null(strstr(r.err, "stepz"));
    result_clear(&r);
    tiny_cascade_rm_tree(root);
    g_free(root), g_free(defaults), g_free(out);
}

/* Symbolic links (issue 14 item 12): a loop is reported as a loop, for a model folder, an
 * input image and an output; an output that is a link is written where the link points and
 * the link stays; an empty config is a plain error without GLib's CRITICAL noise. */
static void test_cli_symlinks_and_reasons(void **state) {
    (void)state;
    char *dir = test_make_tmpdir();
    char *a = g_build_filename(dir, "a", NULL), *b = g_build_filename(dir, "b", NULL);
    assert_int_equal(symlink(b, a), 0);
    assert_int_equal(symlink(a, b), 0);
    result r = run_cli((const char *[]){"generate", "-m", a, "x", "-o", "/tmp/never.png", NULL});
    assert_int_not_equal(r.status, 0);
    if (!strstr(r.err, "loop of symbolic links")) fail_msg("%s", r.err);
    assert_null(strstr(r.err, "diffusers model directory"));
    result_clear(&r);
    r = run_cli((const char *[]){"img2img", "--image", a, "x", "-o", "/tmp/never.png", NULL});
    assert_int_not_equal(r.status, 0);
    if (!strstr(r.err, "loop of symbolic links")) fail_msg("%s", r.err);
    result_clear(&r);
    r = run_cli((const char *[]){"generate", "-m", "/nonexistent/model", "x", "-o", a, NULL});
    assert_int_not_equal(r.status, 0);
    if (!strstr(r.err, "loop of symbolic links")) fail_msg("%s", r.err);
    assert_true(g_file_test(a, G_FILE_TEST_IS_SYMLINK)); /* the link itself is untouched */
    result_clear(&r);
    /* a missing model folder keeps its hint */
    r = run_cli((const char *[]){"generate", "-m", dir, "x", "-o", "/tmp/never.png", NULL});
    assert_int_not_equal(r.status, 0);
    if (!strstr(r.err, "diffusers model directory")) fail_msg("%s", r.err);
    result_clear(&r);

    char *root = make_test_cascade();
    if (root) {
        char *target = g_build_filename(dir, "target.png", NULL);
        char *link = g_build_filename(dir, "link.png", NULL);
        assert_int_equal(symlink("target.png", link), 0);
        r = run_cli((const char *[]){"generate", "-m", root, "--no-sr", "x", "--steps", "2",
                                     "-o", link, NULL});
        if (r.status) fail_msg("generate: %s", r.err);
        result_clear(&r);
        assert_true(g_file_test(link, G_FILE_TEST_IS_SYMLINK));
        assert_true(g_file_test(target, G_FILE_TEST_IS_REGULAR));
        /* stage1/unet links to the golden case: replace the link by a folder of our own, so
         * the golden file is never written through it */
        char *unet = g_build_filename(root, "stage1", "unet", NULL);
        char *cfg = g_build_filename(unet, "config.json", NULL);
        assert_true(g_file_test(unet, G_FILE_TEST_IS_SYMLINK));
        assert_int_equal(g_unlink(unet), 0);
        assert_int_equal(g_mkdir(unet, 0755), 0);
        assert_true(test_write_file(cfg, "", 0));
        r = run_cli((const char *[]){"generate", "-m", root, "--no-sr", "x", "-o", target, NULL});
        assert_int_not_equal(r.status, 0);
        assert_non_null(strstr(r.err, "config.json"));
        assert_null(strstr(r.err, "CRITICAL"));
        result_clear(&r);
        g_unlink(link), g_unlink(target), g_unlink(cfg);
        tiny_cascade_rm_tree(root);
        g_free(target), g_free(link), g_free(cfg), g_free(unet), g_free(root);
    }
    g_unlink(a), g_unlink(b), g_rmdir(dir);
    g_free(a), g_free(b), g_free(dir);
}

/* A run that cannot fit (issue 14 item 8) is refused before its first step, naming what it
 * needs and what is available, with a suggestion; the estimate grows with the batch; with
 * the budget lifted the same command runs. */
static void test_cli_generate_refuses_what_cannot_fit(void **state) {
    (void)state;
    char *root = make_test_cascade();
    if (!root) skip();
    char *out = g_build_filename(root, "m.png", NULL);
    setenv("CASCADE_MEMORY_BUDGET_MIB", "2", 1);
    result r = run_cli((const char *[]){"generate", "-m", root, "x", "--batch", "64", "--steps",
                                        "2", "--sr-steps", "2", "-o", out, NULL});
    unsetenv("CASCADE_MEMORY_BUDGET_MIB");
    assert_int_not_equal(r.status, 0);
    if (!strstr(r.err, "stage I and II together (batch 64")) fail_msg("%s", r.err);
    assert_non_null(strstr(r.err, "smaller batch"));
    assert_null(strstr(r.err, "step 1/"));
    double need64 = 0, avail = 0;
    const char *n = strstr(r.err, "needs ");
    assert_non_null(n);
    assert_int_equal(sscanf(n, "needs %lf MiB of host memory but only %lf MiB", &need64, &avail),
                     2);
    assert_true(avail == 2.0 && need64 > avail);
    assert_false(g_file_test(out, G_FILE_TEST_EXISTS));
    result_clear(&r);
    setenv("CASCADE_MEMORY_BUDGET_MIB", "1", 1);
    r = run_cli((const char *[]){"generate", "-m", root, "x", "--batch", "2", "--steps", "2",
                                 "--sr-steps", "2", "-o", out, NULL});
    unsetenv("CASCADE_MEMORY_BUDGET_MIB");
    double need2 = 0;
    n = strstr(r.err, "needs ");
    if (n && strstr(r.err, "batch 2")) { /* the text encoder's plan may be refused first */
        assert_int_equal(sscanf(n, "needs %lf MiB", &need2), 1);
        assert_true(need2 < need64 / 8);
    }
    result_clear(&r);
    r = run_cli((const char *[]){"generate", "-m", root, "x", "--batch", "2", "--steps", "2",
                                 "--sr-steps", "2", "-o", out, NULL});
    if (r.status) fail_msg("%s", r.err);
    result_clear(&r);
    tiny_cascade_rm_tree(root);
    g_free(out), g_free(root);
}

/* inpaint: pixels outside the mask are the input's exactly; inside they change. */
static void test_cli_inpaint_keeps_unmasked(void **state) {
    (void)state;
    char *root = make_test_cascade();
    if (!root) skip();
    int64_t        W = 40, H = 30;
    cascade_image *in = NULL, *mask = NULL;
    assert_int_equal(cascade_image_new(W, H, 3, &in, NULL), 0);
    assert_int_equal(cascade_image_new(W, H, 3, &mask, NULL), 0);
    for (int64_t y = 0; y < H; y++)
        for (int64_t x = 0; x < W; x++)
            for (int c = 0; c < 3; c++) {
                in->pixels[(y * W + x) * 3 + c] = (uint8_t)((x * 6 + y * 3 + c * 50) & 255);
                mask->pixels[(y * W + x) * 3 + c] = (x >= 10 && x < 30 && y >= 8 && y < 22) ? 255 : 0;
            }
    char *in_path = g_build_filename(root, "in.png", NULL), *mask_path = g_build_filename(root, "mask.png", NULL);
    char *out = g_build_filename(root, "out.png", NULL);
    assert_int_equal(cascade_image_write_png(in_path, in, NULL), 0);
    assert_int_equal(cascade_image_write_png(mask_path, mask, NULL), 0);
    result r = run_cli((const char *[]){"inpaint", "-m", root, "--image", in_path, "--mask", mask_path,
                                        "a red fox", "--seed", "1", "--steps", "5", "--sr-steps", "3",
                                        "-o", out, NULL});
    if (r.status) fail_msg("inpaint: %s", r.err);
    cascade_image *res = read_png(out);
    assert_int_equal(res->width, W);
    assert_int_equal(res->height, H);
    int64_t changed_inside = 0;
    for (int64_t i = 0; i < W * H * 3; i++) {
        if (mask->pixels[i] == 0) assert_int_equal(res->pixels[i], in->pixels[i]);
        else changed_inside += res->pixels[i] != in->pixels[i];
    }
    assert_true(changed_inside > 20 * 14 * 3 / 2);
    /* an all-black mask is an error that says so */
    memset(mask->pixels, 0, (size_t)(W * H * 3));
    assert_int_equal(cascade_image_write_png(mask_path, mask, NULL), 0);
    result_clear(&r);
    r = run_cli((const char *[]){"inpaint", "-m", root, "--image", in_path, "--mask", mask_path, "x",
                                 "-o", out, NULL});
    assert_int_not_equal(r.status, 0);
    assert_non_null(strstr(r.err, "nothing to inpaint"));
    result_clear(&r);
    cascade_image_free(in), cascade_image_free(mask), cascade_image_free(res);
    tiny_cascade_rm_tree(root);
    g_free(root), g_free(in_path), g_free(mask_path), g_free(out);
}

/* inpaint keeps an RGBA input RGBA (issue 14): alpha and colour untouched where the mask is
 * 0, the generated pixels opaque where it is 1. */
static void test_cli_inpaint_keeps_alpha(void **state) {
    (void)state;
    char *root = make_test_cascade();
    if (!root) skip();
    int64_t        W = 24, H = 20;
    cascade_image *in = NULL, *mask = NULL;
    assert_int_equal(cascade_image_new(W, H, 4, &in, NULL), 0);
    assert_int_equal(cascade_image_new(W, H, 3, &mask, NULL), 0);
    for (int64_t y = 0; y < H; y++)
        for (int64_t x = 0; x < W; x++) {
            uint8_t *q = in->pixels + (y * W + x) * 4;
            for (int c = 0; c < 3; c++) q[c] = (uint8_t)((x * 9 + y * 5 + c * 70) & 255);
            q[3] = (uint8_t)((x * 11 + y * 7) & 255); /* transparent to opaque */
            memset(mask->pixels + (y * W + x) * 3, (x >= 6 && x < 18 && y >= 5 && y < 15) ? 255 : 0, 3);
        }
    char *in_path = g_build_filename(root, "in.png", NULL), *mask_path = g_build_filename(root, "mask.png", NULL);
    char *out = g_build_filename(root, "out.png", NULL);
    assert_int_equal(cascade_image_write_png(in_path, in, NULL), 0);
    assert_int_equal(cascade_image_write_png(mask_path, mask, NULL), 0);
    result r = run_cli((const char *[]){"inpaint", "-m", root, "--image", in_path, "--mask", mask_path,
                                        "a red fox", "--seed", "1", "--steps", "3", "--sr-steps", "2",
                                        "-o", out, NULL});
    if (r.status) fail_msg("inpaint: %s", r.err);
    cascade_image *res = read_png(out);
    assert_int_equal(res->channels, 4);
    for (int64_t i = 0; i < W * H; i++) {
        if (mask->pixels[i * 3] == 0)
            assert_memory_equal(res->pixels + i * 4, in->pixels + i * 4, 4);
        else
            assert_int_equal(res->pixels[i * 4 + 3], 255);
    }
    result_clear(&r);
    cascade_image_free(in), cascade_image_free(mask), cascade_image_free(res);
    tiny_cascade_rm_tree(root);
    g_free(root), g_free(in_path), g_free(mask_path), g_free(out);
}

/* generate into a folder that does not exist fails before any compute (no model is even
 * loaded: the model path is bogus too), naming the output and the reason. */
static void test_cli_generate_unwritable_output(void **state) {
    (void)state;
    result r = run_cli((const char *[]){"generate", "-m", "/nonexistent/model", "a cat", "-o",
                                        "/nonexistent-folder/out.png", NULL});
    assert_int_equal(r.status, 1);
    if (!strstr(r.err, "/nonexistent-folder/out.png")) fail_msg("%s", r.err);
    assert_non_null(strstr(r.err, "No such file"));
    result_clear(&r);
    /* a seed beyond the range is refused, not clamped to LONG_MAX (issue 14 item 11) */
    r = run_cli((const char *[]){"generate", "a cat", "--seed", "99999999999999999999", "-o",
                                 "/tmp/never.png", NULL});
    assert_int_not_equal(r.status, 0);
    assert_non_null(strstr(r.err, "seed"));
    result_clear(&r);
}

/* NaN weights (issue 14 item 10): generate fails naming the stage instead of writing a black
 * PNG with exit 0, and writes nothing. */
static void test_cli_generate_nan_weights(void **state) {
    (void)state;
    char *root = make_test_cascade();
    if (!root) skip();
    char *unet = g_build_filename(root, "stage1", "unet", NULL);
    char *cfg = g_build_filename(unet, "config.json", NULL);
    char *wts = g_build_filename(unet, "diffusion_pytorch_model.safetensors", NULL);
    char *src = g_canonicalize_filename(test_golden_path("pipeline_if_stage1/unet"), NULL);
    char *src_cfg = g_build_filename(src, "config.json", NULL);
    char *src_wts = g_build_filename(src, "diffusion_pytorch_model.safetensors", NULL);
    assert_int_equal(g_unlink(unet), 0); /* a symlink to the golden folder: replaced */
    assert_int_equal(g_mkdir(unet, 0755), 0);
    assert_int_equal(symlink(src_cfg, cfg), 0);
    cascade_safetensors *st = NULL;
    assert_int_equal(cascade_safetensors_open(src_wts, &st, NULL), CASCADE_STATUS_OK);
    size_t           n = cascade_safetensors_count(st);
    const char     **names = calloc(n, sizeof *names);
    cascade_tensor **ts = calloc(n, sizeof *ts);
    for (size_t i = 0; i < n; i++) {
        names[i] = cascade_safetensors_entry(st, i)->name;
        assert_int_equal(cascade_safetensors_load(st, names[i], CASCADE_DTYPE_F32, &ts[i], NULL), 0);
        if (!strcmp(names[i], "conv_out.bias")) ((float *)ts[i]->data)[0] = NAN;
    }
    assert_int_equal(cascade_safetensors_write(wts, n, names, (const cascade_tensor *const *)ts, NULL, NULL), 0);
    char  *out = g_build_filename(root, "out.png", NULL);
    result r = run_cli((const char *[]){"generate", "-m", root, "a red fox", "--steps", "2",
                                        "--sr-steps", "2", "-o", out, NULL});
    assert_int_equal(r.status, 1);
    if (!strstr(r.err, "non-finite")) fail_msg("%s", r.err);
    assert_non_null(strstr(r.err, "stage I"));
    assert_false(g_file_test(out, G_FILE_TEST_EXISTS));
    result_clear(&r);
    for (size_t i = 0; i < n; i++) cascade_tensor_free(ts[i]);
    free(ts), free(names);
    cascade_safetensors_close(st);
    tiny_cascade_rm_tree(root);
    g_free(root), g_free(unet), g_free(cfg), g_free(wts), g_free(src), g_free(src_cfg);
    g_free(src_wts), g_free(out);
}

/* bench over the cascade reports every step of both stages as JSON, per run; the second run
 * of one session loads nothing, builds no plan and does not encode the prompt again. */
static void test_cli_bench_cascade_json(void **state) {
    (void)state;
    char *root = make_test_cascade();
    if (!root) skip();
    result r = run_cli((const char *[]){"bench", "-m", root, "--steps", "3", "--sr-steps", "2",
                                        "-t", "1", "--runs", "2", NULL});
    if (r.status) fail_msg("bench: %s", r.err);
    JsonParser *jp = json_parser_new();
    assert_true(json_parser_load_from_data(jp, r.out, -1, NULL));
    JsonObject *o = json_node_get_object(json_parser_get_root(jp));
    JsonArray  *runs = json_object_get_array_member(o, "runs");
    assert_int_equal(json_array_get_length(runs), 2);
    for (guint i = 0; i < 2; i++) {
        JsonObject *ro = json_array_get_object_element(runs, i);
        assert_int_equal(json_object_get_int_member(json_object_get_object_member(ro, "stage1"), "steps"), 3);
        assert_int_equal(json_object_get_int_member(json_object_get_object_member(ro, "stage2"), "steps"), 2);
        const gint64 want = i == 0; /* the first run loads and plans, the second reuses */
        assert_int_equal(json_object_get_int_member(ro, "models_loaded"), want);
        assert_int_equal(json_object_get_int_member(ro, "text_encodes"), want);
        if (i == 0) assert_true(json_object_get_int_member(ro, "plans_built") >= 3);
        else assert_int_equal(json_object_get_int_member(ro, "plans_built"), 0);
        if (i == 1) assert_int_equal(json_object_get_int_member(ro, "constants_bound"), 0);
        if (i == 1) assert_true(json_object_get_double_member(ro, "load_ms") == 0.0);
    }
    assert_true(json_object_get_int_member(o, "peak_host_bytes") > 0);
    JsonArray *img = json_object_get_array_member(o, "image");
    assert_int_equal(json_array_get_int_element(img, 0), 32);
    g_object_unref(jp);
    result_clear(&r);
    tiny_cascade_rm_tree(root);
    g_free(root);
}

/* Ctrl-C stops a long generation within a step: exit status 130 and no file. */
static void test_cli_generate_sigint_cancels(void **state) {
    (void)state;
    char *root = make_test_cascade();
    if (!root) skip();
    char       *out = g_build_filename(root, "never.png", NULL);
    const char *exe = getenv("CASCADE_CLI");
    const char *argv[] = {exe ? exe : "build/cli/cascade", "generate", "-m", root, "a red fox",
                          "--steps", "1000", "--no-sr", "-q", "-o", out, NULL};
    GPid        pid;
    gint        err_fd;
    assert_true(g_spawn_async_with_pipes(NULL, (gchar **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                                         NULL, &pid, NULL, NULL, &err_fd, NULL));
    g_usleep(1500 * 1000);
    kill(pid, SIGINT);
    int status = 0;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 130);
    assert_false(g_file_test(out, G_FILE_TEST_EXISTS));
    close(err_fd);
    g_spawn_close_pid(pid);
    tiny_cascade_rm_tree(root);
    g_free(root), g_free(out);
}

/* `cascade forward` on a component whose config.json is nested 80,000 deep (issue 14) exits
 * with an error naming the file (status 1, not a crash). */
static void test_cli_forward_hostile_config(void **state) {
    (void)state;
    char *dir = test_make_tmpdir();
    char *cfg = g_build_filename(dir, "config.json", NULL);
    assert_true(test_write_nested_json(cfg, 80000));
    result r = run_cli((const char *[]){"forward", "-c", dir, "-i", "x", "-o", "y", NULL});
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "config.json"));
    assert_non_null(strstr(r.err, "nested too deeply"));
    result_clear(&r);
    g_unlink(cfg);
    g_rmdir(dir);
    g_free(cfg), free(dir);
}

/* Bad input: missing component, unsupported class, truncated inputs, unknown command. */
static void test_cli_errors_are_clear(void **state) {
    (void)state;
    result r = run_cli((const char *[]){"forward", "--component", "/nonexistent/comp", "--inputs",
                                        "x", "--outputs", "y", NULL});
    assert_int_not_equal(r.status, 0);
    assert_non_null(strstr(r.err, "/nonexistent/comp"));
    result_clear(&r);

    if (test_golden_exists("vae/config.json")) {
        char *vae = g_strdup(test_golden_path("vae"));
        r = run_cli((const char *[]){"forward", "-c", vae, "-i", "x", "-o", "y", NULL});
        assert_int_not_equal(r.status, 0);
        assert_non_null(strstr(r.err, "AutoencoderKL"));
        result_clear(&r);
        g_free(vae);
    }
    if (test_golden_exists("t5_encoder/io.safetensors")) {
        char  *dir = test_make_tmpdir();
        char  *bad = g_build_filename(dir, "in.safetensors", NULL);
        gchar *data = NULL;
        gsize  len = 0;
        assert_true(g_file_get_contents(test_golden_path("t5_encoder/io.safetensors"), &data, &len, NULL));
        assert_true(test_write_file(bad, data, len / 2));
        char *comp = g_strdup(test_golden_path("t5_encoder"));
        r = run_cli((const char *[]){"forward", "-c", comp, "-i", bad, "-o", "/tmp/never", NULL});
        assert_int_not_equal(r.status, 0);
        assert_non_null(strstr(r.err, "in.safetensors"));
        result_clear(&r);
        g_unlink(bad);
        g_rmdir(dir);
        g_free(data), g_free(bad), g_free(dir), g_free(comp);
    }
    r = run_cli((const char *[]){"no-such-command", NULL});
    assert_int_not_equal(r.status, 0);
    assert_non_null(strstr(r.err, "unknown command"));
    result_clear(&r);
    r = run_cli((const char *[]){"--help", NULL});
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "forward"));
    result_clear(&r);
}

/* bench --backend vulkan:DEVICE picks a device by index, reports peak device memory and a
 * planned activation peak below the naive one; an unknown device name is a clear error. */
static void test_cli_bench_vulkan_device(void **state) {
    (void)state;
    if (!test_golden_exists("unet_if_stage1/config.json")) skip();
    const char *dir = test_golden_path("unet_if_stage1");
    char       *io = g_build_filename(dir, "io.safetensors", NULL);
    result r = run_cli((const char *[]){"bench", "-c", dir, "-i", io, "-n", "1", "-w", "0", "-b",
                                        "vulkan:0", NULL});
    const char *req = getenv("CASCADE_REQUIRE_VULKAN");
    if (r.status && (strstr(r.err, "not available in this build") || strstr(r.err, "no Vulkan")) &&
        !(req && !strcmp(req, "1"))) {
        result_clear(&r);
        g_free(io);
        skip();
    }
    if (r.status) fail_msg("bench: %s", r.err);
    JsonParser *jp = json_parser_new();
    assert_true(json_parser_load_from_data(jp, r.out, -1, NULL));
    JsonObject *o = json_node_get_object(json_parser_get_root(jp));
    assert_string_equal(json_object_get_string_member(o, "backend"), "vulkan");
    JsonObject *act = json_object_get_object_member(o, "activations");
    gint64      planned = json_object_get_int_member(act, "planned_bytes");
    assert_true(planned > 0 && planned < json_object_get_int_member(act, "naive_bytes"));
    assert_true(json_object_get_int_member(o, "peak_device_bytes") >=
                planned + json_object_get_int_member(o, "weights_bytes"));
    g_object_unref(jp);
    result_clear(&r);
    r = run_cli((const char *[]){"bench", "-c", dir, "-i", io, "-n", "1", "-b",
                                 "vulkan:no-such-device-name", NULL});
    assert_int_not_equal(r.status, 0);
    assert_non_null(strstr(r.err, "no-such-device-name"));
    result_clear(&r);
    g_free(io);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_tokenize_matches_golden),
        cmocka_unit_test(test_cli_tokenize_clip_matches_golden),
        cmocka_unit_test(test_cli_tokenize_max_length),
        cmocka_unit_test(test_cli_forward_t5_matches_golden),
        cmocka_unit_test(test_cli_forward_clip_text_matches_golden),
        cmocka_unit_test(test_cli_forward_unet_matches_golden),
        cmocka_unit_test(test_cli_encode_model_dir),
        cmocka_unit_test(test_cli_errors_are_clear),
        cmocka_unit_test(test_cli_forward_hostile_config),
        cmocka_unit_test(test_cli_generate_two_stages),
        cmocka_unit_test(test_cli_generate_model_defaults),
        cmocka_unit_test(test_cli_generate_default_model_256),
        cmocka_unit_test(test_cli_inpaint_keeps_unmasked),
        cmocka_unit_test(test_cli_inpaint_keeps_alpha),
        cmocka_unit_test(test_cli_generate_unwritable_output),
        cmocka_unit_test(test_cli_symlinks_and_reasons),
        cmocka_unit_test(test_cli_generate_refuses_what_cannot_fit),
        cmocka_unit_test(test_cli_generate_nan_weights),
        cmocka_unit_test(test_cli_generate_sigint_cancels),
        cmocka_unit_test(test_cli_bench_cascade_json),
        cmocka_unit_test(test_cli_bench_vulkan_device),
    };
    return cmocka_run_group_tests_name("cli", tests, need_golden, NULL);
}
