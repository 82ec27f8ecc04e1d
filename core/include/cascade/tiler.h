/* Tile geometry and blending for enlarging images of any size with a fixed-size network
 * pass (pure arithmetic: no backend calls, no allocation beyond the tiler itself).
 *
 * The input (width x height) is cut into a grid of cores (balanced sizes, at most `tile`
 * pixels). Each tile's network input is a window of one fixed size (so one plan serves every
 * tile) that holds its core, `feather / 2` pixels beyond it on each inner side, and `context`
 * more pixels of context; windows are shifted inwards at the image border, never padded.
 * Each tile's output counts over core +- feather/2 (times scale), with weights that ramp
 * linearly across the feather band and sum to exactly 1 over neighbours (a partition of
 * unity, separable in x and y). With context >= the network's receptive field every counted
 * output pixel equals the untiled one, so blending changes nothing; with less, the ramps
 * hide the seams. */
#ifndef CASCADE_TILER_H
#define CASCADE_TILER_H

#include <stddef.h>
#include <stdint.h>

#include "cascade/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cascade_tiler_params {
    int64_t width, height; /* input image, pixels (>= 1) */
    int32_t scale;         /* output pixels per input pixel (1..64) */
    int32_t tile;          /* largest core edge, input pixels (>= 1) */
    int32_t context;       /* extra input pixels around the blended region (>= 0) */
    int32_t feather;       /* cross-fade width, input pixels (>= 0; even; clamped to the
                              smallest core) */
} cascade_tiler_params;

/* One axis of a tile: input pixels [in0, in0 + in_len) feed the network; the output pixels
 * [out0, out1) (output coordinates) receive a non-zero weight; core [core0, core1) is where
 * the weight is 1 away from the feather bands. */
typedef struct cascade_tile_span {
    int64_t core0, core1;
    int64_t in0, in_len;
    int64_t out0, out1;
} cascade_tile_span;

typedef struct cascade_tile {
    int32_t           index, col, row;
    cascade_tile_span x, y;
} cascade_tile;

typedef struct cascade_tiler cascade_tiler;

/* INVALID_ARG for sizes out of range; *out stays NULL on failure. */
cascade_status cascade_tiler_new(const cascade_tiler_params *p, cascade_tiler **out,
                                 cascade_error *err);
void           cascade_tiler_free(cascade_tiler *t); /* NULL-safe */

int32_t cascade_tiler_cols(const cascade_tiler *t);
int32_t cascade_tiler_rows(const cascade_tiler *t);
int32_t cascade_tiler_count(const cascade_tiler *t);
/* The window every tile feeds to the network (input pixels): the same for all tiles. */
int64_t cascade_tiler_window_width(const cascade_tiler *t);
int64_t cascade_tiler_window_height(const cascade_tiler *t);
/* The feather actually used (after clamping), input pixels. */
int32_t cascade_tiler_feather(const cascade_tiler *t);
/* Tiles in row-major order: index = row * cols + col. index must be < count. */
void cascade_tiler_get(const cascade_tiler *t, int32_t index, cascade_tile *out);

/* Blend weight of the tile whose span is s at output coordinate X along that axis (0 outside
 * [out0, out1)). A pixel's weight is weight(x) * weight(y). */
float cascade_tiler_weight(const cascade_tiler *t, const cascade_tile_span *s, int64_t X,
                           int64_t extent);

/* Adds the tile's weighted output into an interleaved float accumulator.
 * src: the network output for the tile's window, planar (channels, in_len_y*scale,
 *      in_len_x*scale). acc: rows [acc_y0, acc_y0 + acc_rows) of the output image, each
 *      width*scale*channels floats. Only the part of the tile inside those rows is added. */
void cascade_tiler_accumulate(const cascade_tiler *t, const cascade_tile *tile, const float *src,
                              int32_t channels, float *acc, int64_t acc_y0, int64_t acc_rows);

/* Bytes one run over this tiling holds at peak, besides the source and destination images:
 * the network's working set for one window (bytes_per_pixel per window input pixel, its
 * input and output buffers included) plus the float band of output rows being blended
 * (the tallest tile row's output height x width*scale x channels floats). */
uint64_t cascade_tiler_peak_bytes(const cascade_tiler *t, double bytes_per_pixel, int32_t channels);

/* The largest core edge whose square window (core + feather + 2 context) fits in
 * budget_bytes at bytes_per_pixel input-pixel cost, clamped to [min_tile, max_tile]. */
int32_t cascade_tiler_tile_for_budget(uint64_t budget_bytes, double bytes_per_pixel,
                                      int32_t context, int32_t feather, int32_t min_tile,
                                      int32_t max_tile);

#ifdef __cplusplus
}
#endif

#endif
