/* The T5 tokenizer against transformers' T5Tokenizer (golden t5_tokenizer case), read
 * data-driven from tokenizer_cases.json so new cases in the same layout need no code
 * change, plus the error paths: missing and corrupt model files, bad configs, bad
 * arguments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>
#include <json-glib/json-glib.h>

#include "cascade/safetensors.h"
#include "cascade/tokenizer.h"
#include "test-common.h"
/* The internal SentencePiece layer, tested on its own to localise a mismatch. */
#include "../../core/text/sentencepiece-shim.h"

#define CASE_DIR "t5_tokenizer"

typedef struct fixture {
    cascade_tokenizer *tok;
    JsonParser        *parser;
    JsonObject        *cases; /* root of tokenizer_cases.json */
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    if (!f) return -1;
    *state = f;
    if (!test_golden_exists(CASE_DIR "/tokenizer_cases.json")) return 0; /* tests skip */
    cascade_error err;
    cascade_error_init(&err);
    if (cascade_tokenizer_load(test_golden_path(CASE_DIR), &f->tok, &err)) {
        fprintf(stderr, "load failed: %s\n", err.message);
        return -1;
    }
    f->parser = json_parser_new();
    GError *gerr = NULL;
    if (!json_parser_load_from_file(f->parser, test_golden_path(CASE_DIR "/tokenizer_cases.json"),
                                    &gerr)) {
        fprintf(stderr, "tokenizer_cases.json: %s\n", gerr->message);
        g_error_free(gerr);
        return -1;
    }
    f->cases = json_node_get_object(json_parser_get_root(f->parser));
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    cascade_tokenizer_free(f->tok);
    if (f->parser) g_object_unref(f->parser);
    free(f);
    return 0;
}

static fixture *need_golden(void **state) {
    fixture *f = *state;
    if (!f->tok) skip();
    return f;
}

/* JSON int array -> int32 array (malloc'd). */
static int32_t *ints_of(JsonArray *a, size_t *n) {
    *n = json_array_get_length(a);
    int32_t *v = malloc((*n ? *n : 1) * sizeof *v);
    assert_non_null(v);
    for (size_t i = 0; i < *n; i++) v[i] = (int32_t)json_array_get_int_element(a, (guint)i);
    return v;
}

static void print_ids(const char *label, const int32_t *v, size_t n) {
    fprintf(stderr, "  %s [", label);
    for (size_t i = 0; i < n; i++) fprintf(stderr, "%s%d", i ? ", " : "", (int)v[i]);
    fprintf(stderr, "]\n");
}

/* Every `single` case: ids (with eos) exact, and decode(ids, skip_special_tokens) exact. */
static void test_tokenizer_golden_single(void **state) {
    fixture   *f = need_golden(state);
    JsonArray *single = json_object_get_array_member(f->cases, "single");
    assert_non_null(single);
    guint n_cases = json_array_get_length(single);
    assert_true(n_cases > 0);
    int failures = 0;
    for (guint c = 0; c < n_cases; c++) {
        JsonObject   *o = json_array_get_object_element(single, c);
        const char   *text = json_object_get_string_member(o, "text");
        size_t        n_want;
        int32_t      *want = ints_of(json_object_get_array_member(o, "ids"), &n_want);
        int32_t      *got = NULL;
        size_t        n_got = 0;
        cascade_error err;
        cascade_error_init(&err);
        if (cascade_tokenizer_encode(f->tok, text, &got, &n_got, &err)) {
            fprintf(stderr, "case %u %s: encode failed: %s\n", c, text, err.message);
            failures++;
        } else if (n_got != n_want || memcmp(got, want, n_want * sizeof *want)) {
            fprintf(stderr, "case %u: ids differ for \"%s\"\n", c, text);
            print_ids("got ", got, n_got);
            print_ids("want", want, n_want);
            failures++;
        }
        free(got);

        const char *want_text = json_object_get_string_member(o, "decoded");
        char       *dec = NULL;
        cascade_error_init(&err);
        if (cascade_tokenizer_decode(f->tok, want, n_want, &dec, &err)) {
            fprintf(stderr, "case %u %s: decode failed: %s\n", c, text, err.message);
            failures++;
        } else if (strcmp(dec, want_text)) {
            fprintf(stderr, "case %u: decode differs for \"%s\"\n  got  \"%s\"\n  want \"%s\"\n", c,
                    text, dec, want_text);
            failures++;
        }
        free(dec);
        free(want);
    }
    fprintf(stderr, "# %u single cases checked, %d mismatches\n", n_cases, failures);
    assert_int_equal(failures, 0);
}

/* The SentencePiece layer alone: every `single` text encodes to sentencepiece_encode_ids
 * (no special-token splitting, no eos), and those ids decode without error. */
static void test_tokenizer_golden_sentencepiece(void **state) {
    fixture      *f = need_golden(state);
    cascade_spm  *spm = NULL;
    cascade_error err;
    cascade_error_init(&err);
    char *model = g_build_filename(test_golden_path(CASE_DIR), "spiece.model", NULL);
    assert_int_equal(cascade_spm_load(model, &spm, &err), CASCADE_STATUS_OK);
    g_free(model);
    JsonArray *single = json_object_get_array_member(f->cases, "single");
    int        failures = 0;
    for (guint c = 0; c < json_array_get_length(single); c++) {
        JsonObject *o = json_array_get_object_element(single, c);
        const char *text = json_object_get_string_member(o, "text");
        size_t      n_want, n_got = 0;
        int32_t    *want =
            ints_of(json_object_get_array_member(o, "sentencepiece_encode_ids"), &n_want);
        int32_t *got = NULL;
        if (cascade_spm_encode(spm, text, strlen(text), &got, &n_got, &err) || n_got != n_want ||
            (n_want && memcmp(got, want, n_want * sizeof *got))) {
            fprintf(stderr, "case %u: sentencepiece ids differ for \"%s\" %s\n", c, text,
                    err.message);
            print_ids("got ", got, n_got);
            print_ids("want", want, n_want);
            failures++;
        }
        char *dec = NULL;
        assert_int_equal(cascade_spm_decode(spm, want, n_want, &dec, &err), CASCADE_STATUS_OK);
        free(dec);
        free(got);
        free(want);
    }
    const int32_t bad[1] = {cascade_spm_piece_size(spm)};
    char         *dec = NULL;
    assert_int_equal(cascade_spm_decode(spm, bad, 1, &dec, NULL), CASCADE_STATUS_INVALID_ARG);
    assert_null(dec);
    cascade_spm_free(spm);
    cascade_spm_free(NULL);
    assert_int_equal(failures, 0);
}

/* Every row of every `batches` entry: padded/truncated ids and attention mask exact. */
static void test_tokenizer_golden_batches(void **state) {
    fixture   *f = need_golden(state);
    JsonArray *batches = json_object_get_array_member(f->cases, "batches");
    assert_non_null(batches);
    assert_true(json_array_get_length(batches) > 0);
    int    failures = 0;
    size_t rows = 0;
    for (guint b = 0; b < json_array_get_length(batches); b++) {
        JsonObject *o = json_array_get_object_element(batches, b);
        const char *name = json_object_get_string_member(o, "name");
        int32_t     max_length = (int32_t)json_object_get_int_member(o, "max_length");
        JsonArray  *texts = json_object_get_array_member(o, "texts");
        JsonArray  *ids = json_object_get_array_member(o, "input_ids");
        JsonArray  *masks = json_object_get_array_member(o, "attention_mask");
        assert_true(max_length > 0);
        assert_int_equal(json_array_get_length(ids), json_array_get_length(texts));
        assert_int_equal(json_array_get_length(masks), json_array_get_length(texts));
        int32_t *got = malloc(2 * (size_t)max_length * sizeof *got), *got_mask = got + max_length;
        assert_non_null(got);
        for (guint r = 0; r < json_array_get_length(texts); r++, rows++) {
            const char   *text = json_array_get_string_element(texts, r);
            size_t        n_id, n_mask;
            int32_t      *want = ints_of(json_array_get_array_element(ids, r), &n_id);
            int32_t      *want_mask = ints_of(json_array_get_array_element(masks, r), &n_mask);
            cascade_error err;
            cascade_error_init(&err);
            assert_int_equal(n_id, (size_t)max_length);
            assert_int_equal(n_mask, (size_t)max_length);
            if (cascade_tokenizer_encode_padded(f->tok, text, max_length, got, got_mask, &err)) {
                fprintf(stderr, "%s row %u: failed: %s\n", name, r, err.message);
                failures++;
            } else if (memcmp(got, want, n_id * sizeof *got) ||
                       memcmp(got_mask, want_mask, n_id * sizeof *got)) {
                fprintf(stderr, "%s row %u: differs for \"%s\"\n", name, r, text);
                print_ids("got ids  ", got, n_id);
                print_ids("want ids ", want, n_id);
                print_ids("got mask ", got_mask, n_id);
                print_ids("want mask", want_mask, n_id);
                failures++;
            }
            free(want);
            free(want_mask);
        }
        free(got);
    }
    fprintf(stderr, "# %zu batch rows checked, %d mismatches\n", rows, failures);
    assert_int_equal(failures, 0);
}

/* One I64 [rows, cols] tensor of io.safetensors as int32 (malloc'd), checked for shape. */
static int32_t *io_i64(const cascade_safetensors *st, const char *name, size_t rows, size_t cols) {
    const cascade_st_entry *e = cascade_safetensors_find(st, name);
    if (!e) {
        fprintf(stderr, "io.safetensors: no tensor '%s'\n", name);
        return NULL;
    }
    assert_int_equal(e->dtype, CASCADE_DTYPE_I64);
    assert_int_equal(e->ndim, 2);
    assert_int_equal(e->shape[0], (int64_t)rows);
    assert_int_equal(e->shape[1], (int64_t)cols);
    int32_t *v = malloc(rows * cols * sizeof *v);
    assert_non_null(v);
    for (size_t i = 0; i < rows * cols; i++) {
        int64_t x;
        memcpy(&x, (const char *)e->data + i * sizeof x, sizeof x); /* may be unaligned */
        v[i] = (int32_t)x;
    }
    return v;
}

/* Every `batches` entry against io.safetensors' <name>/input_ids and <name>/attention_mask
 * (the tensors transformers returned), row i = texts[i]. */
static void test_tokenizer_golden_io_safetensors(void **state) {
    fixture *f = need_golden(state);
    if (!test_golden_exists(CASE_DIR "/io.safetensors")) skip();
    cascade_safetensors *st = NULL;
    cascade_error        err;
    cascade_error_init(&err);
    if (cascade_safetensors_open(test_golden_path(CASE_DIR "/io.safetensors"), &st, &err))
        fail_msg("io.safetensors: %s", err.message);
    JsonArray *batches = json_object_get_array_member(f->cases, "batches");
    int        failures = 0;
    size_t     rows_checked = 0;
    for (guint b = 0; b < json_array_get_length(batches); b++) {
        JsonObject *o = json_array_get_object_element(batches, b);
        const char *name = json_object_get_string_member(o, "name");
        int32_t     max_length = (int32_t)json_object_get_int_member(o, "max_length");
        JsonArray  *texts = json_object_get_array_member(o, "texts");
        size_t      rows = json_array_get_length(texts);
        char        key[256];
        snprintf(key, sizeof key, "%s/input_ids", name);
        int32_t *want = io_i64(st, key, rows, (size_t)max_length);
        snprintf(key, sizeof key, "%s/attention_mask", name);
        int32_t *want_mask = io_i64(st, key, rows, (size_t)max_length);
        assert_non_null(want);
        assert_non_null(want_mask);
        int32_t *got = malloc(2 * (size_t)max_length * sizeof *got), *got_mask = got + max_length;
        assert_non_null(got);
        /* The whole batch in one call must give the same tensors. */
        const char **tv = malloc((rows ? rows : 1) * sizeof *tv);
        int32_t     *all = malloc(2 * (rows ? rows : 1) * (size_t)max_length * sizeof *all);
        assert_non_null(tv);
        assert_non_null(all);
        for (size_t r = 0; r < rows; r++) tv[r] = json_array_get_string_element(texts, (guint)r);
        assert_int_equal(cascade_tokenizer_encode_batch(f->tok, tv, rows, max_length, all,
                                                        all + rows * (size_t)max_length, &err),
                         CASCADE_STATUS_OK);
        if (memcmp(all, want, rows * (size_t)max_length * sizeof *all) ||
            memcmp(all + rows * (size_t)max_length, want_mask,
                   rows * (size_t)max_length * sizeof *all)) {
            fprintf(stderr, "%s: encode_batch differs from io.safetensors\n", name);
            failures++;
        }
        free(tv);
        free(all);
        for (size_t r = 0; r < rows; r++, rows_checked++) {
            const char  *text = json_array_get_string_element(texts, (guint)r);
            const size_t off = r * (size_t)max_length, nb = (size_t)max_length * sizeof *got;
            cascade_error_init(&err);
            if (cascade_tokenizer_encode_padded(f->tok, text, max_length, got, got_mask, &err)) {
                fprintf(stderr, "%s row %zu: failed: %s\n", name, r, err.message);
                failures++;
            } else if (memcmp(got, want + off, nb) || memcmp(got_mask, want_mask + off, nb)) {
                fprintf(stderr, "%s row %zu (io.safetensors): differs for \"%s\"\n", name, r, text);
                print_ids("got ids  ", got, (size_t)max_length);
                print_ids("want ids ", want + off, (size_t)max_length);
                failures++;
            }
        }
        free(got);
        free(want);
        free(want_mask);
    }
    cascade_safetensors_close(st);
    fprintf(stderr, "# %zu io.safetensors rows checked, %d mismatches\n", rows_checked, failures);
    assert_true(rows_checked > 0);
    assert_int_equal(failures, 0);
}

/* Vocabulary size, eos and pad ids as case.json states them (len(tokenizer), the
 * SentencePiece trainer's eos_id/pad_id): pieces plus extra_ids sentinels. */
static void test_tokenizer_ids(void **state) {
    fixture    *f = need_golden(state);
    JsonParser *p = json_parser_new();
    assert_true(json_parser_load_from_file(p, test_golden_path(CASE_DIR "/case.json"), NULL));
    JsonObject *call =
        json_object_get_object_member(json_node_get_object(json_parser_get_root(p)), "call");
    assert_non_null(call);
    JsonObject *vocab = json_object_get_object_member(call, "vocab");
    JsonObject *trainer = json_object_get_object_member(call, "sentencepiece_trainer_args");
    assert_non_null(vocab);
    assert_non_null(trainer);
    assert_int_equal(cascade_tokenizer_vocab_size(f->tok),
                     json_object_get_int_member(vocab, "len(tokenizer)"));
    assert_int_equal(cascade_tokenizer_vocab_size(f->tok),
                     json_object_get_int_member(vocab, "sentencepiece_pieces") +
                         json_object_get_int_member(vocab, "extra_ids"));
    assert_int_equal(cascade_tokenizer_eos_id(f->tok),
                     json_object_get_int_member(trainer, "eos_id"));
    assert_int_equal(cascade_tokenizer_pad_id(f->tok),
                     json_object_get_int_member(trainer, "pad_id"));
    g_object_unref(p);
}

/* A path to spiece.model itself loads with T5's defaults and encodes like the directory;
 * <extra_id_0> is the last id. */
static void test_tokenizer_load_model_file(void **state) {
    fixture           *f = need_golden(state);
    cascade_tokenizer *t = NULL;
    cascade_error      err;
    cascade_error_init(&err);
    char *path = g_build_filename(test_golden_path(CASE_DIR), "spiece.model", NULL);
    assert_int_equal(cascade_tokenizer_load(path, &t, &err), CASCADE_STATUS_OK);
    g_free(path);
    assert_int_equal(cascade_tokenizer_vocab_size(t), cascade_tokenizer_vocab_size(f->tok));
    const char *text = "<extra_id_0> a photo of </s> mars";
    int32_t    *a = NULL, *b = NULL;
    size_t      na = 0, nb = 0;
    assert_int_equal(cascade_tokenizer_encode(t, text, &a, &na, &err), CASCADE_STATUS_OK);
    assert_int_equal(cascade_tokenizer_encode(f->tok, text, &b, &nb, &err), CASCADE_STATUS_OK);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na * sizeof *a);
    assert_int_equal(a[0], cascade_tokenizer_vocab_size(t) - 1);
    free(a);
    free(b);
    cascade_tokenizer_free(t);
}

/* Truncation keeps eos last; an eos that lands last after truncation is not doubled, as
 * transformers truncates to max_length - 1 and then adds eos only if absent. */
static void test_tokenizer_truncation(void **state) {
    fixture      *f = need_golden(state);
    const char   *text = "hello </s> world";
    const int32_t eos = cascade_tokenizer_eos_id(f->tok), pad = cascade_tokenizer_pad_id(f->tok);
    cascade_error err;
    cascade_error_init(&err);
    int32_t *full = NULL;
    size_t   n = 0, k = 0;
    assert_int_equal(cascade_tokenizer_encode(f->tok, text, &full, &n, &err), 0);
    while (k < n && full[k] != eos) k++; /* the eos written in the text */
    assert_true(k >= 2 && k + 2 < n && n < 32);
    int32_t ids[32], mask[32];

    /* Room for the ids up to the written eos: that eos ends the row, padding follows. */
    const int32_t L = (int32_t)k + 2;
    assert_int_equal(cascade_tokenizer_encode_padded(f->tok, text, L, ids, mask, &err), 0);
    assert_memory_equal(ids, full, (k + 1) * sizeof *ids);
    assert_int_equal(ids[k + 1], pad);
    for (int32_t i = 0; i < L; i++) assert_int_equal(mask[i], i <= (int32_t)k);

    /* One less: the written eos is cut and the appended one takes its place. */
    assert_int_equal(cascade_tokenizer_encode_padded(f->tok, text, (int32_t)k, ids, mask, &err), 0);
    assert_memory_equal(ids, full, (k - 1) * sizeof *ids);
    assert_int_equal(ids[k - 1], eos);
    for (size_t i = 0; i < k; i++) assert_int_equal(mask[i], 1);

    /* max_length 1 holds eos alone. */
    assert_int_equal(cascade_tokenizer_encode_padded(f->tok, "hello world", 1, ids, mask, &err), 0);
    assert_int_equal(ids[0], eos);
    assert_int_equal(mask[0], 1);
    free(full);
}

/* max_length < 1 is INVALID_ARG and leaves the output untouched. */
static void test_tokenizer_bad_max_length(void **state) {
    fixture      *f = need_golden(state);
    int32_t       ids[2] = {-7, -7}, mask[2] = {-7, -7};
    cascade_error err;
    cascade_error_init(&err);
    assert_int_equal(cascade_tokenizer_encode_padded(f->tok, "hi", 0, ids, mask, &err),
                     CASCADE_STATUS_INVALID_ARG);
    assert_non_null(strstr(err.message, "max_length"));
    cascade_error_init(&err);
    assert_int_equal(cascade_tokenizer_encode_padded(f->tok, "hi", -3, ids, mask, &err),
                     CASCADE_STATUS_INVALID_ARG);
    const char *texts[1] = {"hi"};
    cascade_error_init(&err);
    assert_int_equal(cascade_tokenizer_encode_batch(f->tok, texts, 1, 0, ids, mask, &err),
                     CASCADE_STATUS_INVALID_ARG);
    const char *bad_rows[2] = {"fine", "bad \xc3"};
    cascade_error_init(&err);
    int32_t ids2[4], mask2[4];
    assert_int_equal(cascade_tokenizer_encode_batch(f->tok, bad_rows, 2, 2, ids2, mask2, &err),
                     CASCADE_STATUS_INVALID_ARG);
    assert_non_null(strstr(err.message, "row 1"));
    assert_int_equal(ids[0], -7);
    assert_int_equal(mask[0], -7);
}

/* Invalid UTF-8 text, out-of-range ids and NULL arguments are errors, not crashes. */
static void test_tokenizer_bad_arguments(void **state) {
    fixture      *f = need_golden(state);
    cascade_error err;
    cascade_error_init(&err);
    int32_t *ids = (int32_t *)&err;
    size_t   n = 5;
    assert_int_equal(cascade_tokenizer_encode(f->tok, "ab\xff\xfe", &ids, &n, &err),
                     CASCADE_STATUS_INVALID_ARG);
    assert_null(ids);
    assert_int_equal(n, 0);
    assert_non_null(strstr(err.message, "UTF-8"));
    const int32_t bad[3] = {7, cascade_tokenizer_vocab_size(f->tok), 1};
    char         *text = (char *)&err;
    cascade_error_init(&err);
    assert_int_equal(cascade_tokenizer_decode(f->tok, bad, 3, &text, &err),
                     CASCADE_STATUS_INVALID_ARG);
    assert_null(text);
    const int32_t neg[1] = {-1};
    assert_int_equal(cascade_tokenizer_decode(f->tok, neg, 1, &text, NULL),
                     CASCADE_STATUS_INVALID_ARG);
    assert_int_equal(cascade_tokenizer_encode(NULL, "x", &ids, &n, NULL),
                     CASCADE_STATUS_INVALID_ARG);
    assert_int_equal(cascade_tokenizer_decode(f->tok, NULL, 0, &text, NULL), CASCADE_STATUS_OK);
    assert_string_equal(text, "");
    free(text);
    cascade_tokenizer_free(NULL);
}

/* ---- files ---- */

/* The number of SentencePiece pieces: vocab size with T5's default 100 extra ids. */
static int32_t sp_pieces(void) {
    cascade_tokenizer *t = NULL;
    char              *path = g_build_filename(test_golden_path(CASE_DIR), "spiece.model", NULL);
    assert_int_equal(cascade_tokenizer_load(path, &t, NULL), CASCADE_STATUS_OK);
    g_free(path);
    const int32_t n = cascade_tokenizer_vocab_size(t) - 100;
    cascade_tokenizer_free(t);
    return n;
}

static const char *const case_files[] = {"spiece.model", "tokenizer_config.json",
                                         "special_tokens_map.json"};

static char *copy_case(void) {
    char *dir = test_copy_golden(CASE_DIR, case_files, G_N_ELEMENTS(case_files));
    assert_non_null(dir);
    return dir;
}

static void remove_dir(char *dir) { test_remove_copies(dir, case_files, G_N_ELEMENTS(case_files), NULL); }

static void write_in(const char *dir, const char *name, const void *data, size_t n) {
    assert_true(test_write_in(dir, name, data, n));
}

/* Loading dir must fail with status and a message containing needle; *out stays NULL. */
static void expect_load_error(const char *dir, cascade_status want, const char *needle) {
    cascade_tokenizer *t = (cascade_tokenizer *)&t;
    cascade_error      err;
    cascade_error_init(&err);
    assert_true(test_error_is(cascade_tokenizer_load(dir, &t, &err), &err, want, needle));
    assert_null(t);
}

/* A directory without spiece.model, and a path that does not exist, are IO errors. */
static void test_tokenizer_missing_model(void **state) {
    (void)state;
    char *dir = test_make_tmpdir();
    assert_non_null(dir);
    expect_load_error(dir, CASCADE_STATUS_IO, "spiece.model");
    char *nothing = g_build_filename(dir, "no-such.model", NULL);
    expect_load_error(nothing, CASCADE_STATUS_IO, "no-such.model");
    g_free(nothing);
    remove(dir);
    free(dir);
}

/* Garbage, truncated and empty spiece.model give FORMAT errors naming the file. */
static void test_tokenizer_corrupt_model(void **state) {
    need_golden(state);
    char *dir = copy_case();
    write_in(dir, "spiece.model", "this is not a protobuf\xff\x01\x02", 25);
    expect_load_error(dir, CASCADE_STATUS_FORMAT, "spiece.model");

    gchar *data = NULL;
    gsize  n = 0;
    char  *src = g_build_filename(test_golden_path(CASE_DIR), "spiece.model", NULL);
    assert_true(g_file_get_contents(src, &data, &n, NULL));
    g_free(src);
    write_in(dir, "spiece.model", data, n / 2);
    expect_load_error(dir, CASCADE_STATUS_FORMAT, "spiece.model");
    /* Flipped bytes in the middle: whatever the parser makes of it, no crash. */
    for (gsize i = n / 3; i < n / 3 + 64 && i < n; i++) data[i] ^= 0x5a;
    write_in(dir, "spiece.model", data, n);
    cascade_tokenizer *t = NULL;
    cascade_error      err;
    cascade_error_init(&err);
    if (cascade_tokenizer_load(dir, &t, &err) == CASCADE_STATUS_OK) {
        int32_t *ids = NULL;
        size_t   k = 0;
        cascade_tokenizer_encode(t, "a photo of an astronaut", &ids, &k, &err);
        free(ids);
        cascade_tokenizer_free(t);
    } else {
        assert_null(t);
        assert_true(err.message[0] != '\0');
    }
    g_free(data);
    write_in(dir, "spiece.model", "", 0);
    expect_load_error(dir, CASCADE_STATUS_FORMAT, "spiece.model");
    remove_dir(dir);
}

/* Config problems name the file and field: bad JSON, unknown or unimplemented fields,
 * an extra_ids count that the token list contradicts. */
static void test_tokenizer_bad_config(void **state) {
    need_golden(state);
    char *dir = copy_case();
    write_in(dir, "tokenizer_config.json", "{\"extra_ids\": 100,", 18);
    expect_load_error(dir, CASCADE_STATUS_FORMAT, "tokenizer_config.json");
    const char *unknown = "{\"extra_ids\": 100, \"frobnicate\": 1}";
    write_in(dir, "tokenizer_config.json", unknown, strlen(unknown));
    expect_load_error(dir, CASCADE_STATUS_UNSUPPORTED, "frobnicate");
    const char *legacy = "{\"legacy\": false}";
    write_in(dir, "tokenizer_config.json", legacy, strlen(legacy));
    expect_load_error(dir, CASCADE_STATUS_UNSUPPORTED, "legacy");
    const char *count = "{\"extra_ids\": 99}";
    write_in(dir, "tokenizer_config.json", count, strlen(count));
    expect_load_error(dir, CASCADE_STATUS_FORMAT, "extra_ids");
    const char *wrong_id = "{\"added_tokens_decoder\": {\"5\": {\"content\": \"<pad>\"}}}";
    write_in(dir, "tokenizer_config.json", wrong_id, strlen(wrong_id));
    expect_load_error(dir, CASCADE_STATUS_UNSUPPORTED, "added_tokens_decoder[5]");
    const char *bad_type = "{\"extra_ids\": \"many\"}";
    write_in(dir, "tokenizer_config.json", bad_type, strlen(bad_type));
    expect_load_error(dir, CASCADE_STATUS_FORMAT, "extra_ids");
    /* a token of the files that is no sentinel names the folder (found by fuzz-t5-tokenizer) */
    const char *sentinel = "{\"additional_special_tokens\": [\"<extra_id_0*\"]}";
    write_in(dir, "tokenizer_config.json", "{\"extra_ids\": 1}", 16);
    write_in(dir, "special_tokens_map.json", sentinel, strlen(sentinel));
    expect_load_error(dir, CASCADE_STATUS_FORMAT, "<extra_id_N>");
    expect_load_error(dir, CASCADE_STATUS_FORMAT, dir);
    const char *array = "[1, 2]";
    write_in(dir, "special_tokens_map.json", array, strlen(array));
    write_in(dir, "tokenizer_config.json", "{}", 2);
    expect_load_error(dir, CASCADE_STATUS_FORMAT, "special_tokens_map.json");

    /* Without either JSON file's token list, extra_ids=8 makes <extra_id_0> id sp+7. */
    const char *small = "{\"extra_ids\": 8}";
    write_in(dir, "tokenizer_config.json", small, strlen(small));
    write_in(dir, "special_tokens_map.json", "{}", 2);
    cascade_tokenizer *t = NULL;
    cascade_error      err;
    cascade_error_init(&err);
    assert_int_equal(cascade_tokenizer_load(dir, &t, &err), CASCADE_STATUS_OK);
    const int32_t sp = sp_pieces();
    assert_int_equal(cascade_tokenizer_vocab_size(t), sp + 8);
    int32_t *ids = NULL;
    size_t   n = 0;
    assert_int_equal(cascade_tokenizer_encode(t, "<extra_id_0><extra_id_7>", &ids, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_int_equal(ids[0], sp + 7);
    assert_int_equal(ids[1], sp);
    free(ids);
    cascade_tokenizer_free(t);
    remove_dir(dir);
}

/* Hostile JSON (issue 14): both files nested 80,000 deep, a duplicate key and a comment are
 * FORMAT errors naming the file, read by the project's one strict reader (no stack overflow). */
static void test_tokenizer_hostile_json(void **state) {
    need_golden(state);
    char *dir = copy_case();
    char *cfg = g_build_filename(dir, "tokenizer_config.json", NULL);
    char *map = g_build_filename(dir, "special_tokens_map.json", NULL);
    assert_true(test_write_nested_json(cfg, 80000));
    expect_load_error(dir, CASCADE_STATUS_FORMAT, "nested too deeply");
    expect_load_error(dir, CASCADE_STATUS_FORMAT, "tokenizer_config.json");
    write_in(dir, "tokenizer_config.json", "{}", 2);
    assert_true(test_write_nested_json(map, 80000));
    expect_load_error(dir, CASCADE_STATUS_FORMAT, "special_tokens_map.json");
    const char *dup = "{\"pad_token\": \"<pad>\", \"pad_token\": \"<pad>\"}";
    write_in(dir, "special_tokens_map.json", dup, strlen(dup));
    expect_load_error(dir, CASCADE_STATUS_FORMAT, "twice");
    const char *comment = "{/* c */}";
    write_in(dir, "special_tokens_map.json", comment, strlen(comment));
    expect_load_error(dir, CASCADE_STATUS_FORMAT, "special_tokens_map.json");
    g_free(cfg);
    g_free(map);
    remove_dir(dir);
}

/* special_tokens_map.json may hold AddedToken objects; clean_up_tokenization_spaces=false
 * keeps the spaces that transformers' clean-up would remove before ' and punctuation. */
static void test_tokenizer_config_variants(void **state) {
    fixture    *f = need_golden(state);
    char       *dir = copy_case();
    const char *map = "{\"eos_token\": {\"content\": \"</s>\", \"lstrip\": true, \"rstrip\": true,"
                      " \"single_word\": false, \"normalized\": true}, \"pad_token\": \"<pad>\"}";
    write_in(dir, "special_tokens_map.json", map, strlen(map));
    /* The bookkeeping keys DeepFloyd IF's and newer transformers' configs carry. */
    const int32_t sp = sp_pieces();
    char         *conf =
        g_strdup_printf("{\"clean_up_tokenization_spaces\": false, \"legacy\": null,"
                        " \"model_max_length\": 512, \"tokenizer_class\": \"T5Tokenizer\","
                        " \"name_or_path\": \"t5-11b\", \"special_tokens_map_file\": null,"
                        " \"sp_model_kwargs\": {}, \"extra_ids\": 100, \"add_prefix_space\": null,"
                        " \"extra_special_tokens\": {}, \"added_tokens_decoder\": {\"%d\": "
                        "{\"content\": \"<pad>\", \"special\": true}, \"%d\": {\"content\":"
                        " \"<extra_id_0>\", \"special\": true}}}",
                        (int)cascade_tokenizer_pad_id(f->tok), (int)(sp + 99));
    write_in(dir, "tokenizer_config.json", conf, strlen(conf));
    g_free(conf);
    cascade_tokenizer *t = NULL;
    cascade_error      err;
    cascade_error_init(&err);
    assert_int_equal(cascade_tokenizer_load(dir, &t, &err), CASCADE_STATUS_OK);
    assert_int_equal(cascade_tokenizer_vocab_size(t), sp + 100);
    const char *text = "hello </s> world";
    int32_t    *a = NULL, *b = NULL;
    size_t      na = 0, nb = 0;
    assert_int_equal(cascade_tokenizer_encode(t, text, &a, &na, &err), CASCADE_STATUS_OK);
    assert_int_equal(cascade_tokenizer_encode(f->tok, text, &b, &nb, &err), CASCADE_STATUS_OK);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na * sizeof *a);
    free(a);
    free(b);

    const char *quotes = "quotes: \"double\" 'single' `back` and ...";
    char       *with = NULL, *without = NULL;
    assert_int_equal(cascade_tokenizer_encode(t, quotes, &a, &na, &err), CASCADE_STATUS_OK);
    assert_int_equal(cascade_tokenizer_decode(t, a, na, &without, &err), CASCADE_STATUS_OK);
    assert_int_equal(cascade_tokenizer_decode(f->tok, a, na, &with, &err), CASCADE_STATUS_OK);
    assert_string_equal(without, quotes);
    assert_string_equal(with, "quotes: \"double\"'single' `back` and...");
    free(with);
    free(without);
    free(a);
    cascade_tokenizer_free(t);
    remove_dir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokenizer_golden_single),
        cmocka_unit_test(test_tokenizer_golden_sentencepiece),
        cmocka_unit_test(test_tokenizer_golden_batches),
        cmocka_unit_test(test_tokenizer_golden_io_safetensors),
        cmocka_unit_test(test_tokenizer_ids),
        cmocka_unit_test(test_tokenizer_load_model_file),
        cmocka_unit_test(test_tokenizer_truncation),
        cmocka_unit_test(test_tokenizer_bad_max_length),
        cmocka_unit_test(test_tokenizer_bad_arguments),
        cmocka_unit_test(test_tokenizer_missing_model),
        cmocka_unit_test(test_tokenizer_corrupt_model),
        cmocka_unit_test(test_tokenizer_bad_config),
        cmocka_unit_test(test_tokenizer_config_variants),
        cmocka_unit_test(test_tokenizer_hostile_json),
    };
    return cmocka_run_group_tests_name("tokenizer", tests, setup, teardown);
}
