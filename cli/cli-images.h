/* What every image-making command shares: number parsing, the progress line, PNG results. */
#ifndef CASCADE_CLI_IMAGES_H
#define CASCADE_CLI_IMAGES_H

#include <stdbool.h>
#include <stdint.h>

#include "cascade/cancel.h"
#include "cascade/image-io.h"
#include "cascade/status.h"

/* Whole strings only, within [lo, hi]. */
bool cli_parse_long(const char *s, long lo, long hi, long *out);
bool cli_parse_double(const char *s, double lo, double hi, double *out);

typedef struct cli_progress_state {
    bool   quiet;
    bool   tty; /* redraw one line; otherwise print a line per quarter */
    double t0;
} cli_progress_state;

double cli_now_s(void); /* monotonic seconds */
/* A cascade_progress_fn: the stage, its image size and a bar on stderr (ud: the state). */
void cli_on_progress(void *ud, int stage, int step, int total, const float *x0,
                     const int64_t shape[4]);

/* Inpainting's results (B, 3, h, w) blended into the input x (3, h, w) through mask (h, w)
 * by core's rule (cascade/inpaint-blend.h: feather px, -1 automatic; colour matching), in
 * place; unless quiet, says on stderr how large the colour step at the mask's edge was
 * before and after. */
cascade_status cli_blend_inpainted(const float *x, const float *mask, int64_t batch, int64_t h,
                                   int64_t w, long feather, bool colour_match, bool quiet,
                                   float *results, cascade_error *err);

/* Says on stderr that a prompt of n_tokens is cut to the max_tokens the model reads (nothing
 * when it fits). */
void cli_warn_prompt_cut(const char *cmd, int64_t n_tokens, int64_t max_tokens);

/* Writes each image of (B, 3, H, W) in [-1, 1] to output (OUT-1.png, OUT-2.png, ... when
 * B > 1) and says so on stderr with the item's seed, seed + b (the CLI runs its pipelines
 * with per-item seeds, so `--seed` with that number and `--batch 1` makes that image); RGBA with alpha (H * W bytes, shared by the batch) when not
 * NULL. Each file is written whole or not at all; cancel (may be NULL) stops it. */
cascade_status cli_write_images(const char *output, long seed, const float *img,
                                const int64_t shape[4], const uint8_t *alpha,
                                const cascade_cancel *cancel, cascade_error *err);
/* Before any compute: every file cli_write_images will write for batch can be written (IO
 * naming the path and the reason otherwise). */
cascade_status cli_check_outputs(const char *output, long batch, cascade_error *err);
/* Bilinear resize of planes (n, h, w) -> (n, oh, ow), align_corners false; malloc'd, NULL
 * when out of memory. */
float *cli_resize_planes(const float *x, int64_t n, int64_t h, int64_t w, int64_t oh, int64_t ow);

/* An 8-bit PNG as planar floats (3, h, w) in [-1, 1] (malloc'd); *alpha gets its alpha
 * plane (h * w bytes, malloc'd) when it has one, else NULL. */
cascade_status cli_read_rgb(const char *path, float **out, uint8_t **alpha, int64_t *h,
                            int64_t *w, cascade_error *err);
/* A mask PNG as its luminance times its alpha, in [0, 1] (h * w floats, malloc'd); it must be
 * h x w (INVALID_ARG naming both sizes otherwise). */
cascade_status cli_read_mask(const char *path, int64_t h, int64_t w, float **out,
                             cascade_error *err);

#endif
