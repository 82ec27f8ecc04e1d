/* Internal to core/text: what the T5 and CLIP tokenizers share, both mirroring transformers
 * 4.31's slow PreTrainedTokenizer: Python's notion of whitespace, a growable id buffer,
 * special tokens as the JSON files declare them and as the text is split at them, the batch
 * loop, and the clean-up of tokenization spaces decode applies. */
#ifndef CASCADE_TEXT_COMMON_H
#define CASCADE_TEXT_COMMON_H

#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cascade/status.h"

/* Python's str.isspace() for one code point (Python 3.11's tables): what str.strip() and
 * str.split() cut at. Wider than Unicode's White_Space, e.g. U+001C..U+001F. */
bool cascade_text_py_isspace(gunichar c);
/* str.lstrip() / str.rstrip() of the UTF-8 range [*s, end) / [s, *end), moving the bound. */
void cascade_text_py_lstrip(const char **s, const char *end);
void cascade_text_py_rstrip(const char *s, const char **end);

typedef struct cascade_id_buf {
    int32_t *v; /* malloc'd; free() it */
    size_t   n, cap;
} cascade_id_buf;

cascade_status cascade_id_buf_push(cascade_id_buf *b, const int32_t *ids, size_t n,
                                   cascade_error *err);

/* A special token as tokenizer_config.json / special_tokens_map.json declare it: a plain
 * string strips whitespace on both sides of it in the text (transformers' default for str
 * tokens); an AddedToken object only where its lstrip/rstrip flags say. */
typedef struct cascade_tok_def {
    char *content; /* g_malloc'd; NULL: not set */
    bool  lstrip, rstrip;
} cascade_tok_def;

void           cascade_tok_def_clear(cascade_tok_def *d);
/* node: the field's value (a string or an object with a string 'content'); field names it
 * in messages. Replaces *out on success. */
cascade_status cascade_tok_def_parse(JsonNode *node, const char *file, const char *field,
                                     cascade_tok_def *out, cascade_error *err);

/* The tokenizer_config.json keys both slow tokenizers treat alike: padding_side and
 * truncation_side ("right" only), split_special_tokens (false only), extra_special_tokens
 * (empty only) and bookkeeping (name_or_path, file names, processor_class,
 * model_input_names). *known is false for any other key. */
cascade_status cascade_text_shared_key(const char *k, JsonNode *v, const char *path, bool *known,
                                       cascade_error *err);

/* added_tokens_decoder (newer transformers write it in tokenizer_config.json, file) must
 * agree with the ids the tokenizer gave: id_of(tok, content) for each entry. NULL or null
 * node: nothing to check. */
cascade_status cascade_text_check_added_decoder(JsonNode *node, const char *file,
                                                int32_t (*id_of)(const void *tok,
                                                                 const char *content),
                                                const void *tok, cascade_error *err);

/* A no-split token with its id, as the text is split at it. */
typedef struct cascade_special_tok {
    char   *text; /* g_malloc'd */
    size_t  len;
    int32_t id;
    bool    lstrip, rstrip;
} cascade_special_tok;

/* The leftmost special token at or after p (and before end), the longest if several start
 * there, with *at its start; NULL when none. first_byte[b]: some token starts with byte b. */
const cascade_special_tok *cascade_special_next(const cascade_special_tok *s, size_t n,
                                                const bool first_byte[256], const char *p,
                                                const char *end, const char **at);

/* One padded row: ids and mask hold max_length entries. */
typedef cascade_status (*cascade_text_row_fn)(const void *tok, const char *text,
                                              int32_t max_length, int32_t *ids, int32_t *mask,
                                              cascade_error *err);
/* Rows i = 0..n-1 of ids/mask (n * max_length entries each) are row(texts[i]); a failure's
 * message names the row. who names the caller in argument errors. */
cascade_status cascade_text_encode_rows(cascade_text_row_fn row, const void *tok,
                                        const char *const *texts, size_t n, int32_t max_length,
                                        int32_t *ids, int32_t *mask, const char *who,
                                        cascade_error *err);

/* transformers' clean_up_tokenization, in place: " ." -> "." and the other English
 * punctuation and contraction fix-ups. */
void cascade_text_clean_up_spaces(char *s);

#endif
