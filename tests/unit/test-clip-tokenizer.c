/* The CLIP tokenizer (Stable Diffusion's tokenizer/ folder) on the golden clip_tokenizer
 * case: the special ids and lengths case.json states, texts the golden file holds (empty,
 * emoji, CJK, control characters), truncation of a very long text, an SD 2.x style "!" pad
 * token, and the error paths: missing and malformed vocab.json / merges.txt / configs, bad
 * arguments. Expected values come from the golden files (case.json, vocab.json,
 * tokenizer_cases.json), never from this tokenizer's own output. */
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

#include "cascade/clip-tokenizer.h"
#include "test-common.h"

#define CASE_DIR "clip_tokenizer"

static const char *const case_files[] = {"vocab.json", "merges.txt", "tokenizer_config.json",
                                         "special_tokens_map.json"};

typedef struct fixture {
    cascade_clip_tokenizer *tok;
    JsonParser             *vocab_p, *cases_p, *case_p;
    JsonObject             *vocab;  /* vocab.json */
    JsonArray              *single; /* tokenizer_cases.json "single" */
    JsonObject             *call;   /* case.json call.vocab */
} fixture;

static JsonObject *load_json(JsonParser **p, const char *rel) {
    *p = json_parser_new();
    if (!json_parser_load_from_file(*p, test_golden_path(rel), NULL)) return NULL;
    return json_node_get_object(json_parser_get_root(*p));
}

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    if (!f) return -1;
    *state = f;
    if (!test_golden_exists(CASE_DIR "/tokenizer_cases.json")) return 0; /* tests skip */
    cascade_error err;
    cascade_error_init(&err);
    if (cascade_clip_tokenizer_load(test_golden_path(CASE_DIR), &f->tok, &err)) {
        fprintf(stderr, "load failed: %s\n", err.message);
        return -1;
    }
    JsonObject *cases = load_json(&f->cases_p, CASE_DIR "/tokenizer_cases.json");
    JsonObject *cj = load_json(&f->case_p, CASE_DIR "/case.json");
    f->vocab = load_json(&f->vocab_p, CASE_DIR "/vocab.json");
    if (!cases || !cj || !f->vocab) return -1;
    f->single = json_object_get_array_member(cases, "single");
    f->call = json_object_get_object_member(json_object_get_object_member(cj, "call"), "vocab");
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    cascade_clip_tokenizer_free(f->tok);
    if (f->vocab_p) g_object_unref(f->vocab_p);
    if (f->cases_p) g_object_unref(f->cases_p);
    if (f->case_p) g_object_unref(f->case_p);
    free(f);
    return 0;
}

static fixture *need_golden(void **state) {
    fixture *f = *state;
    if (!f->tok) skip();
    return f;
}

/* case.json call.vocab[key][1]: the id transformers gave bos/eos/pad. */
static int32_t golden_special(const fixture *f, const char *key) {
    return (int32_t)json_array_get_int_element(json_object_get_array_member(f->call, key), 1);
}

static int32_t vocab_id(const fixture *f, const char *token) {
    assert_true(json_object_has_member(f->vocab, token));
    return (int32_t)json_object_get_int_member(f->vocab, token);
}

/* The golden entry of tokenizer_cases.json whose text starts with prefix. */
static JsonObject *golden_text(const fixture *f, const char *prefix) {
    for (guint i = 0; i < json_array_get_length(f->single); i++) {
        JsonObject *e = json_array_get_object_element(f->single, i);
        if (g_str_has_prefix(json_object_get_string_member(e, "text"), prefix)) return e;
    }
    fail_msg("no golden text starting with '%s'", prefix);
    return NULL;
}

static void assert_ids(const int32_t *ids, size_t n, JsonArray *want) {
    assert_int_equal(n, json_array_get_length(want));
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ids[i], json_array_get_int_element(want, (guint)i));
}

/* ---- behaviour on the golden vocabulary ---- */

static void test_clip_special_ids(void **state) {
    fixture *f = need_golden(state);
    assert_int_equal(cascade_clip_tokenizer_bos_id(f->tok), golden_special(f, "bos"));
    assert_int_equal(cascade_clip_tokenizer_eos_id(f->tok), golden_special(f, "eos"));
    assert_int_equal(cascade_clip_tokenizer_pad_id(f->tok), golden_special(f, "pad"));
    assert_int_equal(cascade_clip_tokenizer_vocab_size(f->tok),
                     json_object_get_int_member(f->call, "len(tokenizer)"));
    assert_int_equal(cascade_clip_tokenizer_model_max_length(f->tok),
                     json_object_get_int_member(f->call, "model_max_length"));
    assert_true(cascade_clip_tokenizer_is_dir(test_golden_path(CASE_DIR)));
    assert_false(cascade_clip_tokenizer_is_dir(test_golden_path("t5_tokenizer")));
    assert_false(cascade_clip_tokenizer_is_dir(NULL));
}

/* Empty, emoji (multi-byte, ZWJ sequences), CJK and control characters, as in the golden
 * file, each also through decode. */
static void test_clip_unicode_texts(void **state) {
    fixture          *f = need_golden(state);
    const char *const prefixes[] = {"", "emoji ", "日本語", "中文", "한국어", "café", "Straße",
                                    "no-break", "Ελληνικά"};
    for (size_t k = 0; k < G_N_ELEMENTS(prefixes); k++) {
        JsonObject *e = k == 0 ? json_array_get_object_element(f->single, 0)
                               : golden_text(f, prefixes[k]);
        const char *text = json_object_get_string_member(e, "text");
        int32_t    *ids = NULL;
        size_t      n = 0;
        char       *dec = NULL;
        assert_int_equal(cascade_clip_tokenizer_encode(f->tok, text, &ids, &n, NULL),
                         CASCADE_STATUS_OK);
        assert_ids(ids, n, json_object_get_array_member(e, "ids"));
        assert_int_equal(cascade_clip_tokenizer_decode(f->tok, ids, n, &dec, NULL),
                         CASCADE_STATUS_OK);
        assert_string_equal(dec, json_object_get_string_member(e, "decoded"));
        free(dec);
        free(ids);
    }
    assert_string_equal(json_object_get_string_member(json_array_get_object_element(f->single, 0),
                                                      "text"),
                        "");
}

/* 200 words: the row keeps bos, the first 75 text ids and eos; the mask is all ones. */
static void test_clip_long_text_truncation(void **state) {
    fixture *f = need_golden(state);
    GString *s = g_string_new(NULL);
    for (int i = 0; i < 200; i++) g_string_append(s, "the ");
    const int32_t the = vocab_id(f, "the</w>");
    int32_t       ids[77], mask[77];
    assert_int_equal(cascade_clip_tokenizer_encode_padded(f->tok, s->str, 77, ids, mask, NULL),
                     CASCADE_STATUS_OK);
    assert_int_equal(ids[0], golden_special(f, "bos"));
    for (int i = 1; i < 76; i++) assert_int_equal(ids[i], the);
    assert_int_equal(ids[76], golden_special(f, "eos"));
    for (int i = 0; i < 77; i++) assert_int_equal(mask[i], 1);
    int32_t *all = NULL;
    size_t   n = 0;
    assert_int_equal(cascade_clip_tokenizer_encode(f->tok, s->str, &all, &n, NULL),
                     CASCADE_STATUS_OK);
    assert_int_equal(n, 202); /* no limit without truncation */
    free(all);
    /* A text with no room: max_length 2 leaves none, an empty one fits exactly. */
    cascade_error err;
    cascade_error_init(&err);
    assert_int_equal(cascade_clip_tokenizer_encode_padded(f->tok, "the", 2, ids, mask, &err),
                     CASCADE_STATUS_INVALID_ARG);
    assert_non_null(strstr(err.message, "max_length 2"));
    assert_int_equal(cascade_clip_tokenizer_encode_padded(f->tok, "", 2, ids, mask, NULL),
                     CASCADE_STATUS_OK);
    assert_int_equal(ids[0], golden_special(f, "bos"));
    assert_int_equal(ids[1], golden_special(f, "eos"));
    assert_int_equal(cascade_clip_tokenizer_encode_padded(f->tok, "", 1, ids, mask, NULL),
                     CASCADE_STATUS_INVALID_ARG);
    g_string_free(s, TRUE);
}

static void test_clip_bad_arguments(void **state) {
    fixture *f = need_golden(state);
    int32_t *ids = NULL, row[8], mask[8];
    size_t   n = 0;
    char    *text = NULL;
    cascade_error err;
    cascade_error_init(&err);
    assert_int_equal(cascade_clip_tokenizer_encode(f->tok, "bad \xff utf-8", &ids, &n, &err),
                     CASCADE_STATUS_INVALID_ARG);
    assert_non_null(strstr(err.message, "UTF-8"));
    assert_null(ids);
    const char *const texts[] = {"fine", "bad \xc3 utf-8"};
    int32_t           rows[16], masks[16];
    cascade_error_init(&err);
    assert_int_equal(cascade_clip_tokenizer_encode_batch(f->tok, texts, 2, 8, rows, masks, &err),
                     CASCADE_STATUS_INVALID_ARG);
    assert_non_null(strstr(err.message, "row 1"));
    const int32_t out_of_range[] = {cascade_clip_tokenizer_vocab_size(f->tok)}, neg[] = {-1};
    assert_int_equal(cascade_clip_tokenizer_decode(f->tok, out_of_range, 1, &text, NULL),
                     CASCADE_STATUS_INVALID_ARG);
    assert_int_equal(cascade_clip_tokenizer_decode(f->tok, neg, 1, &text, NULL),
                     CASCADE_STATUS_INVALID_ARG);
    assert_int_equal(cascade_clip_tokenizer_encode(NULL, "x", &ids, &n, NULL),
                     CASCADE_STATUS_INVALID_ARG);
    assert_int_equal(cascade_clip_tokenizer_encode_padded(f->tok, NULL, 8, row, mask, NULL),
                     CASCADE_STATUS_INVALID_ARG);
    assert_int_equal(cascade_clip_tokenizer_decode(f->tok, NULL, 0, &text, NULL),
                     CASCADE_STATUS_OK);
    assert_string_equal(text, "");
    free(text);
    cascade_clip_tokenizer_free(NULL);
}

/* ---- files ---- */

static char *copy_case(void) {
    char *dir = test_copy_golden(CASE_DIR, case_files, G_N_ELEMENTS(case_files));
    assert_non_null(dir);
    return dir;
}

static void write_in(const char *dir, const char *name, const char *text) {
    assert_true(test_write_in(dir, name, text, strlen(text)));
}

static void remove_in(const char *dir, const char *name) {
    char *p = g_build_filename(dir, name, NULL);
    remove(p);
    g_free(p);
}

static void remove_dir(char *dir) {
    test_remove_copies(dir, case_files, G_N_ELEMENTS(case_files), "added_tokens.json");
}

/* Loading dir must fail with status and a message containing needle; *out stays NULL. */
static void expect_load_error(const char *dir, cascade_status want, const char *needle) {
    cascade_clip_tokenizer *t = (cascade_clip_tokenizer *)&t;
    cascade_error           err;
    cascade_error_init(&err);
    assert_true(test_error_is(cascade_clip_tokenizer_load(dir, &t, &err), &err, want, needle));
    assert_null(t);
}

static void test_clip_missing_files(void **state) {
    need_golden(state);
    char *dir = copy_case();
    remove_in(dir, "merges.txt");
    expect_load_error(dir, CASCADE_STATUS_IO, "merges.txt");
    remove_in(dir, "vocab.json");
    expect_load_error(dir, CASCADE_STATUS_IO, "vocab.json");
    expect_load_error("/nonexistent/clip", CASCADE_STATUS_IO, "/nonexistent/clip");
    remove_dir(dir);
}

static void test_clip_malformed_vocab(void **state) {
    need_golden(state);
    char *dir = copy_case();
    static const struct {
        const char *json, *needle;
    } bad[] = {
        {"{\"a\": 0, \"b\": ", "vocab.json"},                  /* truncated */
        {"[0, 1]", "vocab.json"},                              /* not an object */
        {"{\"a\": 0, \"b\": \"1\"}", "'b': id is a string"},   /* non-integer id */
        {"{\"a\": 0, \"b\": 1.5}", "'b': id is a number"},     /* fractional id */
        {"{\"a\": 0, \"b\": 0}", "same id 0"},                 /* duplicate id */
        {"{\"a\": 0, \"b\": 7}", "id 7 outside [0, 2)"},       /* id gap */
        {"{\"a\": 0, \"a\": 1}", "'a' twice"},                 /* duplicate key */
        {"{}", "0 tokens"},                                    /* empty */
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        write_in(dir, "vocab.json", bad[i].json);
        expect_load_error(dir, CASCADE_STATUS_FORMAT, bad[i].needle);
    }
    remove_dir(dir);
}

static void test_clip_malformed_merges(void **state) {
    need_golden(state);
    char *dir = copy_case();
    write_in(dir, "merges.txt", "#version: 0.2\nt h\nzq\xc3\xa9x h\n");
    expect_load_error(dir, CASCADE_STATUS_FORMAT, "line 3: 'zq\xc3\xa9x' is not a token");
    write_in(dir, "merges.txt", "#version: 0.2\nt h\nt h e\n");
    expect_load_error(dir, CASCADE_STATUS_FORMAT, "line 3: expected two tokens");
    write_in(dir, "merges.txt", "#version: 0.2\n\nt h\n");
    expect_load_error(dir, CASCADE_STATUS_FORMAT, "line 2: expected two tokens");
    write_in(dir, "merges.txt", "#version: 0.2\nq q\n"); /* "qq" is no token of vocab.json */
    expect_load_error(dir, CASCADE_STATUS_FORMAT, "merged token 'qq'");
    write_in(dir, "merges.txt", "#version: 0.2\nt \xff\n");
    expect_load_error(dir, CASCADE_STATUS_FORMAT, "not valid UTF-8");
    /* Header only: no merges, every word falls apart into byte symbols. */
    write_in(dir, "merges.txt", "#version: 0.2\n");
    cascade_clip_tokenizer *t = NULL;
    assert_int_equal(cascade_clip_tokenizer_load(dir, &t, NULL), CASCADE_STATUS_OK);
    int32_t *ids = NULL;
    size_t   n = 0;
    assert_int_equal(cascade_clip_tokenizer_encode(t, "ab", &ids, &n, NULL), CASCADE_STATUS_OK);
    assert_int_equal(n, 4);
    fixture *f = *state;
    assert_int_equal(ids[1], vocab_id(f, "a"));
    assert_int_equal(ids[2], vocab_id(f, "b</w>"));
    free(ids);
    cascade_clip_tokenizer_free(t);
    remove_dir(dir);
}

static void test_clip_bad_config(void **state) {
    need_golden(state);
    char *dir = copy_case();
    static const struct {
        const char    *config, *map; /* tokenizer_config.json, special_tokens_map.json */
        cascade_status want;
        const char    *needle;
    } bad[] = {
        {"{\"tokenizer_class\": \"T5Tokenizer\"}", "{}", CASCADE_STATUS_UNSUPPORTED,
         "tokenizer_class"},
        {"{\"frobnicate\": 1}", "{}", CASCADE_STATUS_UNSUPPORTED, "'frobnicate'"},
        {"{\"padding_side\": \"left\"}", "{}", CASCADE_STATUS_UNSUPPORTED, "padding_side"},
        {"{\"errors\": \"backslashreplace\"}", "{}", CASCADE_STATUS_UNSUPPORTED, "errors"},
        {"{\"model_max_length\": \"77\"}", "{}", CASCADE_STATUS_FORMAT, "model_max_length"},
        {"{\"model_max_length\": 77, \"model_max_length\": 78}", "{}", CASCADE_STATUS_FORMAT,
         "twice"},
        {"{}", "{\"unk_token\": \"<never-seen>\"}", CASCADE_STATUS_FORMAT,
         "unk token '<never-seen>'"},
        {"{}", "{\"bos_token\": null}", CASCADE_STATUS_FORMAT, "bos_token"},
        {"{}", "{\"eos_token\": {\"lstrip\": false}}", CASCADE_STATUS_FORMAT, "content"},
        {"{}", "{\"model_max_length\": 77}", CASCADE_STATUS_UNSUPPORTED, "model_max_length"},
        {"{\"added_tokens_decoder\": {\"7\": {\"content\": \"<|endoftext|>\"}}}", "{}",
         CASCADE_STATUS_UNSUPPORTED, "added_tokens_decoder[7]"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        write_in(dir, "tokenizer_config.json", bad[i].config);
        write_in(dir, "special_tokens_map.json", bad[i].map);
        expect_load_error(dir, bad[i].want, bad[i].needle);
    }
    write_in(dir, "added_tokens.json", "{\"<cat-toy>\": 2514}");
    expect_load_error(dir, CASCADE_STATUS_UNSUPPORTED, "added_tokens.json");
    remove_dir(dir);
}

/* Stable Diffusion 2.x pads with "!": its id pads the rows, and, being a special token, a
 * "!" in the text is split out as that token (not BPE'd to "!</w>"), as transformers does. A
 * config without model_max_length, and transformers' int(1e30) "no limit", load too. */
static void test_clip_sd2_pad(void **state) {
    fixture *f = need_golden(state);
    char    *dir = copy_case();
    write_in(dir, "special_tokens_map.json", "{\"pad_token\": \"!\"}");
    /* added_tokens_decoder as newer transformers write it: consistent with vocab.json */
    char *conf = g_strdup_printf(
        "{\"tokenizer_class\": \"CLIPTokenizer\", \"do_lower_case\": true, "
        "\"model_max_length\": 1000000000000000019884624838656, \"added_tokens_decoder\": "
        "{\"%d\": {\"content\": \"<|endoftext|>\", \"special\": true}}}",
        (int)golden_special(f, "eos"));
    write_in(dir, "tokenizer_config.json", conf);
    g_free(conf);
    cascade_clip_tokenizer *t = NULL;
    cascade_error           err;
    cascade_error_init(&err);
    assert_int_equal(cascade_clip_tokenizer_load(dir, &t, &err), CASCADE_STATUS_OK);
    const int32_t bang = vocab_id(f, "!");
    assert_int_equal(cascade_clip_tokenizer_pad_id(t), bang);
    assert_int_equal(cascade_clip_tokenizer_model_max_length(t), INT32_MAX);
    int32_t ids[8], mask[8];
    assert_int_equal(cascade_clip_tokenizer_encode_padded(t, "hello!", 8, ids, mask, NULL),
                     CASCADE_STATUS_OK);
    int32_t *ref = NULL;
    size_t   n = 0;
    assert_int_equal(cascade_clip_tokenizer_encode(f->tok, "hello", &ref, &n, NULL),
                     CASCADE_STATUS_OK);
    /* bos, hello's ids, "!", eos, then pads */
    for (size_t i = 0; i + 1 < n; i++) assert_int_equal(ids[i], ref[i]);
    assert_int_equal(ids[n - 1], bang);
    assert_int_equal(ids[n], golden_special(f, "eos"));
    for (size_t i = n + 1; i < 8; i++) {
        assert_int_equal(ids[i], bang);
        assert_int_equal(mask[i], 0);
    }
    assert_int_equal(mask[n], 1);
    free(ref);
    cascade_clip_tokenizer_free(t);
    remove_in(dir, "tokenizer_config.json");
    assert_int_equal(cascade_clip_tokenizer_load(dir, &t, NULL), CASCADE_STATUS_OK);
    assert_int_equal(cascade_clip_tokenizer_model_max_length(t),
                     CASCADE_CLIP_TOKENIZER_DEFAULT_MAX_LENGTH);
    cascade_clip_tokenizer_free(t);
    remove_dir(dir);
}

/* Flipped bytes in merges.txt and vocab.json: each load fails with a message or gives a
 * tokenizer that encodes and decodes; never a crash. */
static void test_clip_mutated_files(void **state) {
    need_golden(state);
    char         *dir = copy_case();
    const char   *names[] = {"merges.txt", "vocab.json"};
    guint32       seed = 12345;
    for (size_t f = 0; f < 2; f++) {
        gchar *orig = NULL;
        gsize  n = 0;
        char  *src = g_build_filename(test_golden_path(CASE_DIR), names[f], NULL);
        assert_true(g_file_get_contents(src, &orig, &n, NULL));
        g_free(src);
        for (int round = 0; round < 12; round++) {
            gchar *data = g_memdup2(orig, n);
            for (int k = 0; k < 4; k++) {
                seed = seed * 1664525u + 1013904223u;
                data[(seed >> 8) % n] = (char)(seed >> 24);
            }
            assert_true(test_write_in(dir, names[f], data, round == 11 ? n / 2 : n));
            cascade_clip_tokenizer *t = NULL;
            cascade_error           err;
            cascade_error_init(&err);
            if (cascade_clip_tokenizer_load(dir, &t, &err) == CASCADE_STATUS_OK) {
                int32_t *ids = NULL;
                size_t   k = 0;
                char    *dec = NULL;
                assert_int_equal(cascade_clip_tokenizer_encode(t, "a photo of an astronaut", &ids,
                                                               &k, &err),
                                 CASCADE_STATUS_OK);
                cascade_clip_tokenizer_decode(t, ids, k, &dec, &err);
                free(dec);
                free(ids);
                cascade_clip_tokenizer_free(t);
            } else {
                assert_null(t);
                assert_non_null(strstr(err.message, names[f]));
            }
            g_free(data);
        }
        assert_true(test_write_in(dir, names[f], orig, n));
        g_free(orig);
    }
    remove_dir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clip_special_ids),
        cmocka_unit_test(test_clip_unicode_texts),
        cmocka_unit_test(test_clip_long_text_truncation),
        cmocka_unit_test(test_clip_bad_arguments),
        cmocka_unit_test(test_clip_missing_files),
        cmocka_unit_test(test_clip_malformed_vocab),
        cmocka_unit_test(test_clip_malformed_merges),
        cmocka_unit_test(test_clip_bad_config),
        cmocka_unit_test(test_clip_sd2_pad),
        cmocka_unit_test(test_clip_mutated_files),
    };
    return cmocka_run_group_tests_name("clip-tokenizer", tests, setup, teardown);
}
