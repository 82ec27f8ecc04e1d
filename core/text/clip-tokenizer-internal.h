/* Internal to core/text: the CLIP tokenizer's tables, shared by clip-tokenizer.c (loading
 * vocab.json, merges.txt and the two JSON configs) and clip-encode.c (text -> ids -> text). */
#ifndef CASCADE_CLIP_TOKENIZER_INTERNAL_H
#define CASCADE_CLIP_TOKENIZER_INTERNAL_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "cascade/clip-tokenizer.h"
#include "text-common.h"

/* CLIPTokenizer reads merges.txt lines 1 .. 49152 - 256 - 2 (after the header) only. */
#define CLIP_MAX_MERGES (49152 - 256 - 2)

/* Number of code points bytes_to_unicode maps bytes to: U+0021 .. U+0143. */
#define CLIP_BYTE_CHARS 0x144

typedef enum clip_errors { CLIP_ERRORS_REPLACE, CLIP_ERRORS_IGNORE, CLIP_ERRORS_STRICT } clip_errors;

struct cascade_clip_tokenizer {
    GHashTable *ids;     /* token text -> id + 1: vocab.json, then added special tokens */
    char      **tokens;  /* [n_ids]: id -> token text (owned; the keys of ids) */
    int32_t     n_vocab; /* entries of vocab.json: ids 0 .. n_vocab - 1 */
    int32_t     n_ids;   /* n_vocab + special tokens absent from vocab.json */

    /* BPE: symbols are vocab ids; a merge turns the pair (a, b) into merged[rank]. */
    GHashTable *ranks;     /* pair key (a << 32 | b, in pair_keys) -> rank + 1 */
    gint64     *pair_keys; /* [n_merges] */
    int32_t    *merged;    /* [n_merges] */
    int32_t     n_merges;
    int32_t     byte_id[256];     /* id of byte b's symbol, -1 when vocab.json lacks it */
    int32_t     byte_end_id[256]; /* the same with "</w>" (a word's last byte) */
    int16_t     byte_of[CLIP_BYTE_CHARS]; /* symbol code point -> byte, -1 for none */

    cascade_special_tok *specials; /* no-split tokens, split out of the raw text first */
    size_t               n_specials;
    bool                 first_byte[256];
    uint8_t             *is_special; /* [n_ids]: 1 for the ids decode skips */

    int32_t     bos_id, eos_id, unk_id, pad_id; /* pad_id -1: no pad token */
    int32_t     model_max_length;
    bool        clean_up;
    clip_errors errors;
};

/* bytes_to_unicode(): the code point byte b stands for in vocab.json and merges.txt. */
gunichar cascade_clip_byte_char(int b);

/* Id of a whole token text (vocab or added special), or the unk id. */
int32_t cascade_clip_token_id(const cascade_clip_tokenizer *tok, const char *text);

#endif
