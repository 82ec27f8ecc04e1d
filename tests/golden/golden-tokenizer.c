/* Family: transformers.T5Tokenizer, and the check every tokenizer family shares: exact ids
 * for every single text of tokenizer_cases.json (and its decode), and every padded batch
 * row of io.safetensors. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cascade/tokenizer.h"
#include "golden.h"
#include "test-common.h"


static void count(golden_result *r, bool ok, const char *fmt, const char *text) {
    r->n_checked++;
    if (!ok) {
        r->max_abs = 1;
        golden_fail(r, fmt, text);
    }
}

static cascade_status check_single(const golden_case *c, const void *tok,
                                   const golden_tok_ops *ops, JsonObject *e, golden_result *r,
                                   cascade_error *err) {
    const char *text = json_object_get_string_member(e, "text");
    JsonArray  *want = json_object_get_array_member(e, "ids");
    int32_t    *ids = NULL;
    size_t      n = 0;
    CASCADE_TRY(ops->encode(tok, text, &ids, &n, err));
    bool ok = n == json_array_get_length(want);
    for (size_t i = 0; ok && i < n; i++) ok = ids[i] == json_array_get_int_element(want, (guint)i);
    count(r, ok, "ids of '%s' differ", text);
    if (ok && json_object_has_member(e, "decoded")) {
        char *dec = NULL;
        cascade_status st = ops->decode(tok, ids, n, &dec, err);
        if (st != CASCADE_STATUS_OK) {
            free(ids);
            return st;
        }
        count(r, !strcmp(dec, json_object_get_string_member(e, "decoded")),
              "decode of '%s' differs", text);
        free(dec);
    }
    if (c->verbose && !ok) fprintf(stderr, "  text: %s\n", text);
    free(ids);
    return CASCADE_STATUS_OK;
}

static cascade_status check_batch(const golden_case *c, const void *tok,
                                  const golden_tok_ops *ops, const cascade_safetensors *io,
                                  JsonObject *b, golden_result *r, cascade_error *err) {
    const char     *name = json_object_get_string_member(b, "name");
    int64_t         max_len = json_object_get_int_member(b, "max_length");
    JsonArray      *texts = json_object_get_array_member(b, "texts");
    char            key_ids[128], key_mask[128];
    cascade_tensor *want_ids = NULL, *want_mask = NULL;
    cascade_status  st;
    snprintf(key_ids, sizeof key_ids, "%s/input_ids", name);
    snprintf(key_mask, sizeof key_mask, "%s/attention_mask", name);
    if ((st = golden_load(io, key_ids, CASCADE_DTYPE_I32, &want_ids, err)) ||
        (st = golden_load(io, key_mask, CASCADE_DTYPE_I32, &want_mask, err)))
        goto done;
    guint rows = json_array_get_length(texts);
    if (want_ids->ndim != 2 || want_ids->shape[0] != rows || want_ids->shape[1] != max_len) {
        st = cascade_error_set(err, CASCADE_STATUS_FORMAT, "%s: %s has the wrong shape", c->name, key_ids);
        goto done;
    }
    int32_t *ids = malloc(sizeof *ids * (size_t)max_len), *mask = malloc(sizeof *mask * (size_t)max_len);
    for (guint i = 0; ids && mask && i < rows; i++) {
        const char *text = json_array_get_string_element(texts, i);
        if ((st = ops->encode_padded(tok, text, (int32_t)max_len, ids, mask, err))) break;
        const int32_t *wi = (const int32_t *)want_ids->data + i * max_len;
        const int32_t *wm = (const int32_t *)want_mask->data + i * max_len;
        count(r, !memcmp(ids, wi, sizeof *ids * (size_t)max_len) &&
                     !memcmp(mask, wm, sizeof *mask * (size_t)max_len),
              "padded row of '%s' differs", text);
    }
    if (!ids || !mask) st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "out of memory");
    free(ids);
    free(mask);
done:
    cascade_tensor_free(want_ids);
    cascade_tensor_free(want_mask);
    return st;
}

cascade_status golden_tokenizer_check(const golden_case *c, const void *tok,
                                      const golden_tok_ops *ops, golden_result *r,
                                      cascade_error *err) {
    cascade_safetensors *io = NULL;
    JsonParser          *jp = json_parser_new();
    char                *cases = golden_path(c, "tokenizer_cases.json");
    GError              *gerr = NULL;
    cascade_status       st = CASCADE_STATUS_OK;
    if (!test_json_load_nul_as(jp, cases, ops->nul_stand_in, &gerr)) {
        st = cascade_error_set(err, CASCADE_STATUS_FORMAT, "%s: %s", cases, gerr->message);
        g_error_free(gerr);
        goto done;
    }
    JsonObject *root = json_node_get_object(json_parser_get_root(jp));
    JsonArray  *single = json_object_get_array_member(root, "single");
    for (guint i = 0; single && i < json_array_get_length(single) && !st; i++)
        st = check_single(c, tok, ops, json_array_get_object_element(single, i), r, err);
    JsonArray *batches = json_object_has_member(root, "batches")
                             ? json_object_get_array_member(root, "batches") : NULL;
    if (!st && batches && json_array_get_length(batches) > 0) {
        if ((st = golden_open_io(c, "io.safetensors", &io, err))) goto done;
        for (guint i = 0; i < json_array_get_length(batches) && !st; i++)
            st = check_batch(c, tok, ops, io, json_array_get_object_element(batches, i), r, err);
    }
done:
    cascade_safetensors_close(io);
    g_object_unref(jp);
    g_free(cases);
    return st;
}

/* ---- transformers.T5Tokenizer ---- */

static bool tok_matches(const golden_case *c) {
    return c->class_name && !strcmp(c->class_name, "transformers.T5Tokenizer");
}

static cascade_status t5_encode(const void *tok, const char *text, int32_t **ids, size_t *n,
                                cascade_error *err) {
    return cascade_tokenizer_encode(tok, text, ids, n, err);
}

static cascade_status t5_encode_padded(const void *tok, const char *text, int32_t max_length,
                                       int32_t *ids, int32_t *mask, cascade_error *err) {
    return cascade_tokenizer_encode_padded(tok, text, max_length, ids, mask, err);
}

static cascade_status t5_decode(const void *tok, const int32_t *ids, size_t n, char **text,
                                cascade_error *err) {
    return cascade_tokenizer_decode(tok, ids, n, text, err);
}

static cascade_status tok_run(const golden_case *c, golden_result *r, cascade_error *err) {
    static const golden_tok_ops ops = {t5_encode, t5_encode_padded, t5_decode, NULL};
    cascade_tokenizer *tok = NULL;
    cascade_status     st = cascade_tokenizer_load(c->dir, &tok, err);
    if (!st) st = golden_tokenizer_check(c, tok, &ops, r, err);
    cascade_tokenizer_free(tok);
    return st;
}

const golden_family golden_family_t5_tokenizer = {"t5_tokenizer", tok_matches, tok_run};
