/* The T5 text encoder (transformers' T5EncoderModel): token embeddings, pre-norm blocks of
 * self-attention with bucketed relative position bias (computed by block 0, shared by all)
 * and a feed-forward (relu or gated-gelu/silu), T5's RMS norm, a final norm. */
#ifndef CASCADE_T5_H
#define CASCADE_T5_H

#include <stdbool.h>
#include <stdint.h>

#include "cascade/backend.h"
#include "cascade/graph.h"
#include "cascade/status.h"
#include "cascade/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cascade_t5_act {
    CASCADE_T5_ACT_RELU = 0,
    CASCADE_T5_ACT_GELU,     /* exact (erf) */
    CASCADE_T5_ACT_GELU_NEW, /* tanh approximation */
    CASCADE_T5_ACT_SILU,
} cascade_t5_act;

typedef struct cascade_t5_config {
    int64_t        vocab_size, d_model, d_kv, d_ff, num_layers, num_heads;
    int64_t        relative_attention_num_buckets, relative_attention_max_distance;
    double         layer_norm_epsilon;
    bool           is_gated_act;
    cascade_t5_act act;
} cascade_t5_config;

typedef struct cascade_t5 cascade_t5;

/* Loads config.json and the weights of a transformers T5EncoderModel directory (also a
 * full T5ForConditionalGeneration checkpoint: decoder tensors are then ignored). Weights
 * are converted to weight_dtype (F32 for the CPU backend). */
cascade_status cascade_t5_load(const char *dir, cascade_dtype weight_dtype, cascade_t5 **out,
                               cascade_error *err);
void                     cascade_t5_free(cascade_t5 *t5); /* NULL-safe */
const cascade_t5_config *cascade_t5_get_config(const cascade_t5 *t5);

/* Adds the encoder for (batch, seq) tokens to g. Inputs: "input_ids" I32 (B, N),
 * "attention_mask" F32 (B, N) (1 attend, 0 padding). Output "last_hidden_state"
 * (B, N, d_model); with debug, also "hidden_states.<i>" (input of block i). The graph
 * borrows t5's weights: t5 must outlive plans made from it. */
cascade_status cascade_t5_build(const cascade_t5 *t5, cascade_graph *g, int64_t batch,
                                int64_t seq, bool debug, cascade_error *err);

/* Bucket of a relative position (key - query), bidirectional, as T5Attention does. */
int32_t cascade_t5_relative_bucket(int64_t relative_position, int64_t num_buckets,
                                   int64_t max_distance);

/* The encoder planned for (batch, seq) on a backend, kept to encode many times: a session
 * builds it once instead of per prompt. t5 and be must outlive it. */
typedef struct cascade_t5_runner cascade_t5_runner;
cascade_status cascade_t5_runner_new(const cascade_t5 *t5, cascade_backend *be, int64_t batch,
                                     int64_t seq, cascade_t5_runner **out, cascade_error *err);
void           cascade_t5_runner_free(cascade_t5_runner *r); /* NULL-safe */
/* The (batch, seq) it was planned for. */
void           cascade_t5_runner_shape(const cascade_t5_runner *r, int64_t *batch, int64_t *seq);
/* ids and mask (batch, seq) (mask NULL: all attended) -> out (batch, seq, d_model). */
cascade_status cascade_t5_runner_encode(cascade_t5_runner *r, const int32_t *ids,
                                        const int32_t *mask, float *out, cascade_error *err);

/* Convenience: a runner made, run once and freed. out: (B, N, d_model). */
cascade_status cascade_t5_encode(const cascade_t5 *t5, cascade_backend *be, const int32_t *ids,
                                 const int32_t *mask, int64_t batch, int64_t seq, float *out,
                                 cascade_error *err);

#ifdef __cplusplus
}
#endif

#endif
