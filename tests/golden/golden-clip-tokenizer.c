/* Family: transformers.CLIPTokenizer (Stable Diffusion's tokenizer/ folder). The checks are
 * those of every tokenizer family (golden-tokenizer.c): exact ids and decode of each single
 * text, exact padded ids and attention masks of each batch row. */
#include <string.h>

#include "cascade/clip-tokenizer.h"
#include "golden.h"

static bool clip_matches(const golden_case *c) {
    return c->class_name && !strcmp(c->class_name, "transformers.CLIPTokenizer");
}

static cascade_status clip_encode(const void *tok, const char *text, int32_t **ids, size_t *n,
                                  cascade_error *err) {
    return cascade_clip_tokenizer_encode(tok, text, ids, n, err);
}

static cascade_status clip_encode_padded(const void *tok, const char *text, int32_t max_length,
                                         int32_t *ids, int32_t *mask, cascade_error *err) {
    return cascade_clip_tokenizer_encode_padded(tok, text, max_length, ids, mask, err);
}

static cascade_status clip_decode(const void *tok, const int32_t *ids, size_t n, char **text,
                                  cascade_error *err) {
    return cascade_clip_tokenizer_decode(tok, ids, n, text, err);
}

static cascade_status clip_run(const golden_case *c, golden_result *r, cascade_error *err) {
    /* BasicTokenizer drops U+0000 and every other Cc character alike */
    static const golden_tok_ops ops = {clip_encode, clip_encode_padded, clip_decode, "\\u0001"};
    cascade_clip_tokenizer     *tok = NULL;
    cascade_status              st = cascade_clip_tokenizer_load(c->dir, &tok, err);
    if (!st) st = golden_tokenizer_check(c, tok, &ops, r, err);
    cascade_clip_tokenizer_free(tok);
    return st;
}

const golden_family golden_family_clip_tokenizer = {"clip_tokenizer", clip_matches, clip_run};
