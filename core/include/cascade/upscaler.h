/* GAN super-resolution networks (stage III): the UpscalerJS ESRGAN family, RDN
 * (esrgan-slim, esrgan-medium, default-model) and RRDN (esrgan-thick), loaded from a
 * directory made by `cascade convert --from tfjs` (config.json + model.safetensors).
 *
 * The upscaler only builds graphs; callers plan them on a backend. cascade_upscale_image()
 * does that for a whole image, tile by tile (see tiler.h), with bounded memory. */
#ifndef CASCADE_UPSCALER_H
#define CASCADE_UPSCALER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cascade/backend.h"
#include "cascade/cancel.h"
#include "cascade/graph.h"
#include "cascade/status.h"
#include "cascade/tiler.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cascade_upscaler cascade_upscaler;

/* Loads dir/config.json and dir/model.safetensors. Every config field is checked; an
 * unknown field or op is UNSUPPORTED naming it. *out stays NULL on failure. */
cascade_status cascade_upscaler_load(const char *dir, cascade_upscaler **out, cascade_error *err);
void           cascade_upscaler_free(cascade_upscaler *u); /* NULL-safe */

int32_t     cascade_upscaler_scale(const cascade_upscaler *u);
int32_t     cascade_upscaler_channels(const cascade_upscaler *u);     /* 3 */
const char *cascade_upscaler_architecture(const cascade_upscaler *u); /* "rdn", "rrdn" */
/* Pixel value of white at the network's input and output (255 for RDN, 1 for RRDN): the
 * network sees pixels * (value_range / 255) and its output is clipped to 0..value_range. */
double cascade_upscaler_value_range(const cascade_upscaler *u);
/* How far (in input pixels) an output pixel can see: the sum of the kernels' half-widths,
 * counted at the resolution each conv runs at. Tiles whose context is at least this wide
 * give exactly the untiled result. */
int32_t cascade_upscaler_receptive_field(const cascade_upscaler *u);

/* Bytes of activations per input pixel at the peak of a forward pass, from a liveness walk
 * over the layers (a layer's output lives until its last reader; outputs at r x the input
 * resolution count r^2 per input pixel). For sizing tiles: backends' own plans may differ
 * by their scratch and by the order they free values in. */
double cascade_upscaler_activation_bytes_per_pixel(const cascade_upscaler *u);

/* Builds the forward pass for one (1, C, h, w) F32 input named "input" (values already
 * scaled to the value range) into a new graph with the raw, unclipped output named
 * "output": (1, C, h*scale, w*scale). The graph borrows the upscaler's weights: free it
 * (and its plans) before the upscaler. */
cascade_status cascade_upscaler_build_graph(const cascade_upscaler *u, int64_t h, int64_t w,
                                            cascade_graph **out, cascade_error *err);

/* ---- whole images, tiled ---- */

/* Tile plans kept between calls (an engine session's, cascade/session.h): a plan per recent
 * window size, upscaler and backend, made on first use. The upscalers and backends it saw
 * must outlive it, or it must be freed first. */
typedef struct cascade_upscale_plans cascade_upscale_plans;
cascade_upscale_plans *cascade_upscale_plans_new(void); /* NULL: out of memory */
void                   cascade_upscale_plans_free(cascade_upscale_plans *c); /* NULL-safe */
/* The kept plan of u's (h x w) window on be, or a new one (kept; borrowed by the caller). */
cascade_status cascade_upscale_plans_get(cascade_upscale_plans *c, const cascade_upscaler *u,
                                         cascade_backend *be, int64_t h, int64_t w,
                                         cascade_plan **out, cascade_error *err);

/* done tiles out of total, called after each tile on the calling thread. */
typedef void (*cascade_upscale_progress_fn)(int32_t done, int32_t total, void *user_data);

typedef struct cascade_upscale_options {
    int32_t tile;           /* core tile edge in input pixels; 0: from the memory budget */
    int32_t context;        /* input pixels of context around each tile; -1: the receptive
                               field, capped at max_context */
    int32_t  max_context;   /* cap for context = -1 (default 32: RRDN's field is 154 px) */
    int32_t  feather;       /* width of the cross-fade between neighbours, input pixels (-1: 8) */
    uint64_t memory_budget; /* bytes for one tile's activations + the blended rows; 0: half
                               of cascade_backend_available_bytes (on the CPU at most 1 GiB) */
    const cascade_cancel       *cancel;   /* checked between tiles (and inside plan runs) */
    cascade_upscale_progress_fn progress; /* may be NULL */
    void                       *user_data;
    cascade_upscale_plans      *plans; /* kept plans to use and fill; NULL: one made and freed
                                          per call */
} cascade_upscale_options;

void cascade_upscale_options_init(cascade_upscale_options *opt);

/* The tiling cascade_upscale_image() uses for a width x height image: context from the
 * receptive field (capped at max_context), tile edge from opt->tile or else the largest one
 * whose peak memory (cascade_tiler_peak_bytes: one window's activations, estimated by
 * cascade_upscaler_activation_bytes_per_pixel, plus the blended band of output rows) fits the
 * memory budget, at least 32. *peak_bytes (may be NULL) gets that peak. Runs no network:
 * sizes of any canvas can be planned. */
cascade_status cascade_upscale_plan_tiles(const cascade_upscaler *u, cascade_backend *be,
                                          int64_t width, int64_t height,
                                          const cascade_upscale_options *opt,
                                          cascade_tiler_params *out, uint64_t *peak_bytes,
                                          cascade_error *err);

/* Upscales an 8-bit image: src (height rows of width * channels bytes, row stride
 * src_stride), channels 3 (RGB) or 4 (RGBA; alpha is enlarged by bilinear interpolation,
 * not by the network), into dst (height*scale rows of width*scale*channels bytes, row
 * stride dst_stride), postprocessed as UpscalerJS does: clip to the value range, x 255 /
 * range, round. Colour values are sRGB bytes as the models were trained on.
 * CANCELLED leaves dst partly written. */
cascade_status cascade_upscale_image(const cascade_upscaler *u, cascade_backend *be,
                                     const uint8_t *src, int64_t width, int64_t height,
                                     int32_t channels, size_t src_stride, uint8_t *dst,
                                     size_t dst_stride, const cascade_upscale_options *opt,
                                     cascade_error *err);

/* Row source and sink for cascade_upscale_stream, each called in order from the top: read
 * fills the next n input rows (width * channels bytes each, stride apart), write takes the
 * next n finished output rows. A status other than OK stops the run and is returned. */
typedef cascade_status (*cascade_upscale_read_fn)(void *io, uint8_t *rows, size_t stride,
                                                  int64_t n, cascade_error *err);
typedef cascade_status (*cascade_upscale_write_fn)(void *io, const uint8_t *rows, size_t stride,
                                                   int64_t n, cascade_error *err);

/* cascade_upscale_image with the image streamed: input rows are read as the tiles reach them
 * and output rows written as soon as no later tile touches them, so memory holds one window's
 * band of input rows and one tile row of output (the tile plan's peak), never the image.
 * Every input row is read, even after the last tile needs it. */
cascade_status cascade_upscale_stream(const cascade_upscaler *u, cascade_backend *be,
                                      int64_t width, int64_t height, int32_t channels,
                                      cascade_upscale_read_fn read, cascade_upscale_write_fn write,
                                      void *io, const cascade_upscale_options *opt,
                                      cascade_error *err);

#ifdef __cplusplus
}
#endif

#endif
