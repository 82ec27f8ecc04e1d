/* libFuzzer harness: the CLIP tokenizer folder (cascade_clip_tokenizer_load): vocab.json,
 * merges.txt, tokenizer_config.json and special_tokens_map.json. The first byte picks the
 * file the rest becomes; the others are the valid ones of data/clip (a 554-token cut of the
 * golden vocabulary). A refusal names the folder; a tokenizer that loads must encode, pad,
 * batch and decode with ids inside its vocabulary. */
#include <stddef.h>
#include <stdint.h>

#include "cascade/clip-tokenizer.h"
#include "fuzz-common.h"

static const char *const files[] = {"vocab.json", "merges.txt", "tokenizer_config.json",
                                    "special_tokens_map.json"};

static void exercise(const cascade_clip_tokenizer *tok) {
    static const char *const texts[] = {"A photo of THE cat, <|endoftext|> there's 12 dogs!", "",
                                        "Zürich\tcafé 一个苹果 <|startoftext|>x", "   the   "};
    const int32_t            V = cascade_clip_tokenizer_vocab_size(tok);
    FUZZ_ASSERT(V > 0);
    cascade_error err;
    for (size_t i = 0; i < 4; i++) {
        int32_t *ids = NULL;
        size_t   n = 0;
        cascade_error_init(&err);
        if (cascade_clip_tokenizer_encode(tok, texts[i], &ids, &n, &err) == CASCADE_STATUS_OK) {
            for (size_t k = 0; k < n; k++)
                FUZZ_ASSERT(ids[k] >= 0 && ids[k] < V);
            char *back = NULL;
            cascade_error_init(&err);
            if (cascade_clip_tokenizer_decode(tok, ids, n, &back, &err) == CASCADE_STATUS_OK)
                FUZZ_ASSERT(back);
            free(back);
        } else {
            FUZZ_ASSERT(err.message[0]);
        }
        free(ids);
    }
    int32_t ids[2 * 8], mask[2 * 8];
    cascade_error_init(&err);
    if (cascade_clip_tokenizer_encode_batch(tok, texts, 2, 8, ids, mask, &err) == CASCADE_STATUS_OK)
        for (int k = 0; k < 16; k++)
            FUZZ_ASSERT(ids[k] >= 0 && ids[k] < V && mask[k] <= 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_init();
    const char *dir = fuzz_folder_input("clip", files, 4, data, size);
    if (!dir) return 0;
    cascade_clip_tokenizer *tok = NULL;
    cascade_error          err;
    cascade_error_init(&err);
    cascade_status st = cascade_clip_tokenizer_load(dir, &tok, &err);
    fuzz_check_failure(st, &err, dir);
    FUZZ_ASSERT((st == CASCADE_STATUS_OK) == (tok != NULL));
    if (tok) {
        exercise(tok);
        cascade_clip_tokenizer_free(tok);
    }
    return 0;
}
