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

#include "cascade/tokenizer.h"
#include "test-common.h"

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

/* Vocabulary, eos and pad ids follow T5's layout: pieces + 100 sentinels, eos 1, pad 0. */
static void test_tokenizer_ids(void **state) {
    fixture *f = need_golden(state);
    assert_int_equal(cascade_tokenizer_vocab_size(f->tok), 2100);
    assert_int_equal(cascade_tokenizer_eos_id(f->tok), 1);
    assert_int_equal(cascade_tokenizer_pad_id(f->tok), 0);
}

/* A path to spiece.model itself loads with T5's defaults and encodes like the directory. */
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
    assert_int_equal(a[0], 2099);
    free(a);
    free(b);
    cascade_tokenizer_free(t);
}

/* Truncation keeps eos last; an eos that lands last after truncation is not doubled, as
 * transformers truncates to max_length - 1 and then adds eos only if absent. */
static void test_tokenizer_truncation(void **state) {
    fixture      *f = need_golden(state);
    cascade_error err;
    cascade_error_init(&err);
    int32_t *full = NULL;
    size_t   n = 0;
    assert_int_equal(cascade_tokenizer_encode(f->tok, "hello </s> world", &full, &n, &err), 0);
    assert_int_equal(n, 8); /* h e l l o </s> _ world </s> as 7 20 385 52 1 7 1651 1 */
    int32_t ids[8], mask[8];
    assert_int_equal(
        cascade_tokenizer_encode_padded(f->tok, "hello </s> world", 6, ids, mask, &err), 0);
    const int32_t want6[6] = {7, 20, 385, 52, 1, 0}, mask6[6] = {1, 1, 1, 1, 1, 0};
    assert_memory_equal(ids, want6, sizeof want6);
    assert_memory_equal(mask, mask6, sizeof mask6);
    assert_int_equal(
        cascade_tokenizer_encode_padded(f->tok, "hello </s> world", 4, ids, mask, &err), 0);
    const int32_t want4[4] = {7, 20, 385, 1};
    assert_memory_equal(ids, want4, sizeof want4);
    assert_int_equal(cascade_tokenizer_encode_padded(f->tok, "hello world", 1, ids, mask, &err), 0);
    assert_int_equal(ids[0], 1);
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
    const int32_t bad[3] = {7, 2100, 1};
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

static char *copy_case(void) {
    char *dir = test_make_tmpdir();
    assert_non_null(dir);
    const char *names[] = {"spiece.model", "tokenizer_config.json", "special_tokens_map.json"};
    for (size_t i = 0; i < 3; i++) {
        gchar *data = NULL;
        gsize  n = 0;
        char  *src = g_build_filename(test_golden_path(CASE_DIR), names[i], NULL);
        assert_true(g_file_get_contents(src, &data, &n, NULL));
        char *dst = g_build_filename(dir, names[i], NULL);
        assert_true(test_write_file(dst, data, n));
        g_free(src);
        g_free(dst);
        g_free(data);
    }
    return dir;
}

static void remove_dir(char *dir) {
    const char *names[] = {"spiece.model", "tokenizer_config.json", "special_tokens_map.json"};
    for (size_t i = 0; i < 3; i++) {
        char *p = g_build_filename(dir, names[i], NULL);
        remove(p);
        g_free(p);
    }
    remove(dir);
    free(dir);
}

static void write_in(const char *dir, const char *name, const void *data, size_t n) {
    char *p = g_build_filename(dir, name, NULL);
    assert_true(test_write_file(p, data, n));
    g_free(p);
}

/* Loading dir must fail with status and a message containing needle; *out stays NULL. */
static void expect_load_error(const char *dir, cascade_status want, const char *needle) {
    cascade_tokenizer *t = (cascade_tokenizer *)&t;
    cascade_error      err;
    cascade_error_init(&err);
    cascade_status st = cascade_tokenizer_load(dir, &t, &err);
    if (st != want || !strstr(err.message, needle))
        fprintf(stderr, "got %s: %s (wanted %s containing '%s')\n", cascade_status_name(st),
                err.message, cascade_status_name(want), needle);
    assert_int_equal(st, want);
    assert_null(t);
    assert_non_null(strstr(err.message, needle));
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
    const char *bad_type = "{\"extra_ids\": \"many\"}";
    write_in(dir, "tokenizer_config.json", bad_type, strlen(bad_type));
    expect_load_error(dir, CASCADE_STATUS_FORMAT, "extra_ids");
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
    assert_int_equal(cascade_tokenizer_vocab_size(t), 2008);
    int32_t *ids = NULL;
    size_t   n = 0;
    assert_int_equal(cascade_tokenizer_encode(t, "<extra_id_0><extra_id_7>", &ids, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_int_equal(ids[0], 2007);
    assert_int_equal(ids[1], 2000);
    free(ids);
    cascade_tokenizer_free(t);
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
    const char *conf = "{\"clean_up_tokenization_spaces\": false, \"legacy\": null,"
                       " \"model_max_length\": 77, \"tokenizer_class\": \"T5Tokenizer\"}";
    write_in(dir, "tokenizer_config.json", conf, strlen(conf));
    cascade_tokenizer *t = NULL;
    cascade_error      err;
    cascade_error_init(&err);
    assert_int_equal(cascade_tokenizer_load(dir, &t, &err), CASCADE_STATUS_OK);
    assert_int_equal(cascade_tokenizer_vocab_size(t), 2100);
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
        cmocka_unit_test(test_tokenizer_golden_batches),
        cmocka_unit_test(test_tokenizer_ids),
        cmocka_unit_test(test_tokenizer_load_model_file),
        cmocka_unit_test(test_tokenizer_truncation),
        cmocka_unit_test(test_tokenizer_bad_max_length),
        cmocka_unit_test(test_tokenizer_bad_arguments),
        cmocka_unit_test(test_tokenizer_missing_model),
        cmocka_unit_test(test_tokenizer_corrupt_model),
        cmocka_unit_test(test_tokenizer_bad_config),
        cmocka_unit_test(test_tokenizer_config_variants),
    };
    return cmocka_run_group_tests_name("tokenizer", tests, setup, teardown);
}
