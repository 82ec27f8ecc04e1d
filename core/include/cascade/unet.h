/* The denoising U-Net: diffusers' UNet2DConditionModel (v0.25.1), built from its config.json
 * into an op graph and loaded from safetensors in diffusers' naming. It covers the blocks used
 * by DeepFloyd IF stage I/II and by Stable Diffusion 1.x/2.x and its x4 upscaler; any config
 * field or value the engine does not implement is an UNSUPPORTED error naming it.
 *
 * The model only builds a graph; the caller plans it on a backend and runs it:
 *
 *     cascade_unet_new_from_file("unet/config.json", &u, &err);
 *     cascade_weights_open_dir("unet", CASCADE_DTYPE_F32, &w, &err);
 *     cascade_unet_build_options_init(&o); o.batch = 2; o.height = o.width = 64; o.seq_len = 77;
 *     cascade_graph_new(&g, &err);
 *     cascade_unet_build(u, w, g, &o, &err);        // inputs/outputs named below
 *     cascade_plan_new(backend, g, &plan, &err);  ... cascade_plan_write_named(plan, "sample", ...)
 *
 * Graph inputs (all F32):
 *   "sample"                 (B, in_channels, H, W)
 *   "timestep"               (B)            diffusion timestep per batch item
 *   "encoder_hidden_states"  (B, N, encoder_dim)
 *   "encoder_attention_mask" (B, N)         1 keep, 0 drop; only with build option set
 *   "class_labels"           (B) or (B, class_labels_dim), only when info.needs_class_labels;
 *                                           integer ids are passed as floats
 * Graph output: "out_sample" (B, out_channels, H, W). */
#ifndef CASCADE_UNET_H
#define CASCADE_UNET_H

#include <stdbool.h>
#include <stdint.h>

#include "cascade/config.h"
#include "cascade/graph.h"
#include "cascade/status.h"
#include "cascade/weights.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CASCADE_UNET_SAMPLE                 "sample"
#define CASCADE_UNET_TIMESTEP               "timestep"
#define CASCADE_UNET_ENCODER_HIDDEN_STATES  "encoder_hidden_states"
#define CASCADE_UNET_ENCODER_ATTENTION_MASK "encoder_attention_mask"
#define CASCADE_UNET_CLASS_LABELS           "class_labels"
#define CASCADE_UNET_OUT_SAMPLE             "out_sample"

typedef struct cascade_unet cascade_unet; /* a validated config; immutable after _new */

typedef struct cascade_unet_info {
    int64_t in_channels;
    int64_t out_channels;        /* 2 x in_channels for learned-range variance models */
    int64_t sample_size[2];      /* h, w from the config; 0 when unset */
    int64_t encoder_dim;         /* last dim of encoder_hidden_states the caller passes */
    int64_t cross_attention_dim; /* width the attention layers see (after encoder_hid_proj) */
    bool    needs_class_labels;  /* class_embed_type / num_class_embeds configured */
    int64_t class_labels_dim;    /* 0: class_labels is (B); else (B, class_labels_dim) */
    int64_t num_class_embeds;    /* > 0: class_labels are ids below this */
    int32_t size_multiple;       /* H and W must be multiples of this (2^downsamplers) */
} cascade_unet_info;

/* Reads and validates every field of cfg (borrowed; marks fields used). Unknown fields and
 * unsupported values are UNSUPPORTED errors naming the field and the value; inconsistent
 * values (list lengths, channel counts) are FORMAT errors. *out stays NULL on failure. */
cascade_status cascade_unet_new(cascade_config *cfg, cascade_unet **out, cascade_error *err);
/* The same from a config.json path. */
cascade_status cascade_unet_new_from_file(const char *path, cascade_unet **out, cascade_error *err);
void           cascade_unet_free(cascade_unet *u); /* NULL-safe */
void           cascade_unet_get_info(const cascade_unet *u, cascade_unet_info *info);

typedef struct cascade_unet_build_options {
    int64_t batch;                  /* B */
    int64_t height, width;          /* H, W of sample */
    int64_t seq_len;                /* N, tokens of encoder_hidden_states */
    bool    encoder_attention_mask; /* add the "encoder_attention_mask" input */
    bool    hooks;                  /* also mark intermediate outputs "hook/<module>"
                                       (time_proj, time_embedding, conv_in, down_blocks.i, ...)
                                       as diffusers' forward hooks would see them */
} cascade_unet_build_options;

/* batch 1, sample_size (or 64) square, seq_len 77, no mask, no hooks. */
void cascade_unet_build_options_init(cascade_unet_build_options *o, const cascade_unet *u);

/* Adds the forward pass to g. w is borrowed and must outlive every plan made from g; its
 * tensors become constants. With w NULL every weight becomes a shape-only placeholder
 * INPUT node named by its checkpoint key and nothing is allocated: the graph is then good
 * for shapes and parameter counting only. Missing or misshapen tensors are FORMAT errors
 * naming the tensor; call cascade_weights_check_all_used() afterwards to catch extras.
 * One U-Net per graph: its inputs and output have the fixed names above. */
cascade_status cascade_unet_build(const cascade_unet *u, cascade_weights *w, cascade_graph *g,
                                  const cascade_unet_build_options *o, cascade_error *err);

/* Number of parameters of the model (every tensor of its state_dict), computed by building a
 * weight-free graph: no weight memory is touched. */
cascade_status cascade_unet_count_params(const cascade_unet *u, int64_t *n_params,
                                         cascade_error *err);

#ifdef __cplusplus
}
#endif

#endif
