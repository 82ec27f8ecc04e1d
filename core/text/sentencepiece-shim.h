/* A thin C interface over libsentencepiece's SentencePieceProcessor, so the tokenizer
 * logic can stay in C. The implementation (sentencepiece-shim.cpp) is the only C++ in
 * libcascade: every call catches all exceptions and reports a status instead. Internal
 * header: not part of the public API. */
#ifndef CASCADE_SENTENCEPIECE_SHIM_H
#define CASCADE_SENTENCEPIECE_SHIM_H

#include <stddef.h>
#include <stdint.h>

#include "cascade/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cascade_spm cascade_spm;

/* Loads a serialized ModelProto (spiece.model) from path. *out stays NULL on failure. */
cascade_status cascade_spm_load(const char *path, cascade_spm **out, cascade_error *err);
void           cascade_spm_free(cascade_spm *spm); /* NULL-safe */

int32_t cascade_spm_piece_size(const cascade_spm *spm);
int32_t cascade_spm_unk_id(const cascade_spm *spm); /* -1 when the model has no unk piece */
/* Id of piece (n bytes, not NUL-terminated), or the unk id when the piece is absent. */
int32_t cascade_spm_piece_to_id(const cascade_spm *spm, const char *piece, size_t n);

/* Encodes text (n bytes of UTF-8) into ids, as SentencePieceProcessor::Encode does.
 * *ids is malloc'd (may be NULL when *n_ids is 0); free() it. */
cascade_status cascade_spm_encode(const cascade_spm *spm, const char *text, size_t n, int32_t **ids,
                                  size_t *n_ids, cascade_error *err);
/* Decodes ids (each in [0, piece_size)) into malloc'd, NUL-terminated UTF-8. */
cascade_status cascade_spm_decode(const cascade_spm *spm, const int32_t *ids, size_t n_ids,
                                  char **text, cascade_error *err);

#ifdef __cplusplus
}
#endif

#endif
