/* Conversion of a TensorFlow.js layers model (model.json + group*-shard*.bin, as the
 * UpscalerJS npm packages ship them) into an engine model directory: config.json (the layer
 * graph as wired by model.json, plus scale and value range) and model.safetensors (conv
 * kernels transposed from Keras HWIO to OIHW, named "<layer>.weight" / "<layer>.bias").
 *
 * Only the Keras layers the super-resolution networks use are accepted (InputLayer, Conv2D,
 * Activation relu, Concatenate, Add, UpSampling2D nearest, UpscalerJS' MultiplyBeta and
 * PixelShuffle<s>x); anything else is UNSUPPORTED naming the layer and the field. */
#ifndef CASCADE_TFJS_CONVERT_H
#define CASCADE_TFJS_CONVERT_H

#include <stdbool.h>

#include "cascade/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cascade_tfjs_convert_options {
    /* Pixel value that the network's input and output use for white: 255 (RDN packages feed
     * raw 0..255 pixels) or 1 (RRDN: pixels / 255). 0 picks it from the architecture as
     * UpscalerJS 1.0.0 does: nearest-upsampling RDN -> 255, pixel-shuffle RRDN -> 1. */
    double value_range;
    bool   verbose; /* prints one line per converted layer to stderr */
} cascade_tfjs_convert_options;

void cascade_tfjs_convert_options_init(cascade_tfjs_convert_options *opt);

/* Reads model_dir/model.json and its weight shards, writes out_dir/config.json and
 * out_dir/model.safetensors (out_dir is created). Nothing is left in out_dir on failure. */
cascade_status cascade_tfjs_convert(const char *model_dir, const char *out_dir,
                                    const cascade_tfjs_convert_options *opt, cascade_error *err);

#ifdef __cplusplus
}
#endif

#endif
