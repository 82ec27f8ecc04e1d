/* The CLIP text encoder (transformers' CLIPTextModel, Stable Diffusion's text encoder):
 * token + learned position embeddings, pre-LayerNorm blocks of causal self-attention and
 * an MLP (quick-GELU, GELU, ...), a final LayerNorm. Also loads a
 * CLIPTextModelWithProjection folder, whose text_projection gives "text_embeds".
 *
 *     cascade_clip_text_load(dir, CASCADE_DTYPE_F32, &m, &err);
 *     cascade_clip_text_encode(m, be, ids, 2, 77, 0, out, &err);  // prompt_embeds (2, 77, D)
 */
#ifndef CASCADE_CLIP_TEXT_H
#define CASCADE_CLIP_TEXT_H

#include <stdbool.h>
#include <stdint.h>

#include "cascade/backend.h"
#include "cascade/graph.h"
#include "cascade/status.h"
#include "cascade/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* config.json's hidden_act, as transformers' ACT2FN maps it. */
typedef enum cascade_clip_text_act {
    CASCADE_CLIP_TEXT_ACT_QUICK_GELU = 0, /* x * sigmoid(1.702 x) */
    CASCADE_CLIP_TEXT_ACT_GELU,           /* exact (erf): gelu, gelu_python */
    CASCADE_CLIP_TEXT_ACT_GELU_TANH,      /* tanh form: gelu_new, gelu_pytorch_tanh, gelu_fast,
                                             gelu_accurate */
    CASCADE_CLIP_TEXT_ACT_GELU_10,        /* clamp(gelu(x), -10, 10) */
    CASCADE_CLIP_TEXT_ACT_RELU,
    CASCADE_CLIP_TEXT_ACT_RELU2,          /* relu(x)^2 */
    CASCADE_CLIP_TEXT_ACT_RELU6,
    CASCADE_CLIP_TEXT_ACT_SILU,           /* silu, swish */
    CASCADE_CLIP_TEXT_ACT_SIGMOID,
    CASCADE_CLIP_TEXT_ACT_TANH,
    CASCADE_CLIP_TEXT_ACT_LINEAR,         /* identity */
} cascade_clip_text_act;

typedef struct cascade_clip_text_config {
    int64_t               vocab_size, hidden_size, intermediate_size, projection_dim;
    int64_t               num_hidden_layers, num_attention_heads, max_position_embeddings;
    double                layer_norm_eps;
    cascade_clip_text_act hidden_act;
    bool                  has_projection; /* the checkpoint has text_projection.weight */
} cascade_clip_text_config;

typedef struct cascade_clip_text cascade_clip_text;

/* Loads config.json and the weights (names as save_pretrained writes them,
 * "text_model.embeddings.token_embedding.weight", ...) of a CLIPTextModel or
 * CLIPTextModelWithProjection directory, converted to weight_dtype (F32 for the CPU
 * backend). Unknown config fields, unknown tensors and other shapes are errors naming
 * them. *out stays NULL on failure. */
cascade_status cascade_clip_text_load(const char *dir, cascade_dtype weight_dtype,
                                      cascade_clip_text **out, cascade_error *err);
void                            cascade_clip_text_free(cascade_clip_text *m); /* NULL-safe */
const cascade_clip_text_config *cascade_clip_text_get_config(const cascade_clip_text *m);

typedef struct cascade_clip_text_build_options {
    int64_t batch, seq;  /* seq <= max_position_embeddings */
    /* 0: "last_hidden_state" is final_layer_norm(output of the last layer); k > 0: of
     * hidden_states[-(k+1)], the output of layer L - k, as diffusers' clip_skip = k
     * (k = L: of the embeddings). Layers past L - k are not built unless pooled. */
    int64_t skip_layers;
    /* adds the input "attention_mask" F32 (B, N): 1 attend, 0 padding, on top of the causal
     * mask (Stable Diffusion pipelines pass none) */
    bool attention_mask;
    /* adds the input "pooled_rows" I32 (B) (fill it with cascade_clip_text_pooled_rows) and
     * the output "pooler_output" (B, D), pooled from the full model's last_hidden_state
     * whatever skip_layers is; with a projection also "text_embeds" (B, projection_dim) */
    bool pooled;
    bool debug; /* outputs "hidden_states.<i>": the embeddings (0), the output of layer i */
} cascade_clip_text_build_options;

/* batch 1, seq max_position_embeddings, the rest 0/false. */
void cascade_clip_text_build_options_init(cascade_clip_text_build_options *o,
                                          const cascade_clip_text *m);

/* Adds the encoder to g: input "input_ids" I32 (B, N), output "last_hidden_state"
 * (B, N, hidden_size), plus what the options ask for. The graph borrows m's weights: m
 * must outlive plans made from it. */
cascade_status cascade_clip_text_build_ex(const cascade_clip_text *m, cascade_graph *g,
                                          const cascade_clip_text_build_options *o,
                                          cascade_error *err);
/* The same with only batch, seq, skip_layers and debug set. */
cascade_status cascade_clip_text_build(const cascade_clip_text *m, cascade_graph *g,
                                       int64_t batch, int64_t seq, int64_t skip_layers,
                                       bool debug, cascade_error *err);

/* rows[b] = b * seq + the first position of the largest id in ids[b] (where
 * transformers 4.31 pools: the first end-of-text token). ids: (batch, seq). */
void cascade_clip_text_pooled_rows(const int32_t *ids, int64_t batch, int64_t seq,
                                   int32_t *rows);

/* Convenience: builds, plans and runs the encoder once. out: (B, N, hidden_size), the
 * prompt embeddings for skip_layers (see the options). */
cascade_status cascade_clip_text_encode(const cascade_clip_text *m, cascade_backend *be,
                                        const int32_t *ids, int64_t batch, int64_t seq,
                                        int64_t skip_layers, float *out, cascade_error *err);

#ifdef __cplusplus
}
#endif

#endif
