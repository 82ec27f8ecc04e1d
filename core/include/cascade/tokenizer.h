/* The T5 tokenizer: a SentencePiece unigram model (spiece.model) with T5's conventions,
 * behaving like transformers' slow T5Tokenizer with legacy=True (DeepFloyd IF's setting):
 * special tokens written in the text (</s>, <pad>, <unk>, <extra_id_N>) are split out
 * first, eos (</s>) is appended, and batches are truncated/padded to a max length. */
#ifndef CASCADE_TOKENIZER_H
#define CASCADE_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "cascade/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CASCADE_TOKENIZER_DEFAULT_MAX_LENGTH 77

typedef struct cascade_tokenizer cascade_tokenizer;

/* path: a tokenizer directory (spiece.model, optional tokenizer_config.json and
 * special_tokens_map.json) or the spiece.model file itself. */
cascade_status cascade_tokenizer_load(const char *path, cascade_tokenizer **out,
                                      cascade_error *err);
void cascade_tokenizer_free(cascade_tokenizer *tok); /* NULL-safe */

int32_t cascade_tokenizer_vocab_size(const cascade_tokenizer *tok); /* incl. extra ids */
int32_t cascade_tokenizer_pad_id(const cascade_tokenizer *tok);
int32_t cascade_tokenizer_eos_id(const cascade_tokenizer *tok);

/* All ids of text with eos appended, no truncation. *ids is malloc'd; free() it. */
cascade_status cascade_tokenizer_encode(const cascade_tokenizer *tok, const char *text,
                                        int32_t **ids, size_t *n_ids, cascade_error *err);
/* ids and mask hold max_length entries: truncated (eos kept last, as transformers does),
 * then padded with pad id; mask is 1 for real tokens (eos included), 0 for padding. */
cascade_status cascade_tokenizer_encode_padded(const cascade_tokenizer *tok, const char *text,
                                               int32_t max_length, int32_t *ids, int32_t *mask,
                                               cascade_error *err);
/* A batch: row i of ids/mask (n * max_length entries each) is encode_padded(texts[i]), as
 * tokenizer(texts, padding='max_length', truncation=True, max_length=...) returns it. On
 * failure the message names the row and the rows' contents are unspecified. */
cascade_status cascade_tokenizer_encode_batch(const cascade_tokenizer *tok,
                                              const char *const *texts, size_t n,
                                              int32_t max_length, int32_t *ids, int32_t *mask,
                                              cascade_error *err);
/* Text of ids, special tokens skipped. malloc'd; free() it. */
cascade_status cascade_tokenizer_decode(const cascade_tokenizer *tok, const int32_t *ids,
                                        size_t n_ids, char **text, cascade_error *err);

#ifdef __cplusplus
}
#endif

#endif
