/* The CLIP tokenizer of Stable Diffusion's tokenizer/ folder: byte-level BPE over vocab.json
 * (with "</w>" end-of-word tokens) and merges.txt, behaving like transformers 4.31's slow
 * CLIPTokenizer without ftfy (its BasicTokenizer text clean-up and lower-casing, CLIP's
 * pre-tokenising regex), with <|startoftext|> ... <|endoftext|> around the text and
 * batches truncated (eos kept last) and padded with the folder's pad token. */
#ifndef CASCADE_CLIP_TOKENIZER_H
#define CASCADE_CLIP_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "cascade/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CASCADE_CLIP_TOKENIZER_DEFAULT_MAX_LENGTH 77

typedef struct cascade_clip_tokenizer cascade_clip_tokenizer;

/* dir: a folder with vocab.json and merges.txt, and optionally tokenizer_config.json and
 * special_tokens_map.json (read as from_pretrained does: the map overrides the config). */
cascade_status cascade_clip_tokenizer_load(const char *dir, cascade_clip_tokenizer **out,
                                           cascade_error *err);
void cascade_clip_tokenizer_free(cascade_clip_tokenizer *tok); /* NULL-safe */

/* True when dir holds a CLIP tokenizer: its tokenizer_config.json names a CLIPTokenizer
 * class, or, without a tokenizer_class there, it has both vocab.json and merges.txt. */
int cascade_clip_tokenizer_is_dir(const char *dir);

int32_t cascade_clip_tokenizer_vocab_size(const cascade_clip_tokenizer *tok); /* len(tokenizer) */
int32_t cascade_clip_tokenizer_bos_id(const cascade_clip_tokenizer *tok);
int32_t cascade_clip_tokenizer_eos_id(const cascade_clip_tokenizer *tok);
int32_t cascade_clip_tokenizer_pad_id(const cascade_clip_tokenizer *tok);
/* tokenizer_config.json's model_max_length (77 when absent; INT32_MAX when it is
 * transformers' "no limit" value). */
int32_t cascade_clip_tokenizer_model_max_length(const cascade_clip_tokenizer *tok);

/* tokenizer(text).input_ids: bos, the text's ids, eos; no length limit. *ids is malloc'd;
 * free() it. text must be UTF-8. */
cascade_status cascade_clip_tokenizer_encode(const cascade_clip_tokenizer *tok, const char *text,
                                             int32_t **ids, size_t *n_ids, cascade_error *err);
/* tokenizer(text, padding='max_length', truncation=True, max_length=max_length): ids and
 * mask hold max_length entries; the text's ids are cut to max_length - 2, eos stays last,
 * the rest is pad id; mask is 1 on bos, text and eos. max_length >= 2; a non-empty text
 * needs max_length >= 3 (transformers then gives up truncating). */
cascade_status cascade_clip_tokenizer_encode_padded(const cascade_clip_tokenizer *tok,
                                                    const char *text, int32_t max_length,
                                                    int32_t *ids, int32_t *mask,
                                                    cascade_error *err);
/* Row i of ids/mask (n * max_length entries each) is encode_padded(texts[i]). On failure the
 * message names the row and the rows' contents are unspecified. */
cascade_status cascade_clip_tokenizer_encode_batch(const cascade_clip_tokenizer *tok,
                                                   const char *const *texts, size_t n,
                                                   int32_t max_length, int32_t *ids,
                                                   int32_t *mask, cascade_error *err);
/* decode(ids, skip_special_tokens=True). malloc'd; free() it. */
cascade_status cascade_clip_tokenizer_decode(const cascade_clip_tokenizer *tok,
                                             const int32_t *ids, size_t n_ids, char **text,
                                             cascade_error *err);

#ifdef __cplusplus
}
#endif

#endif
