/* One encode or decode within the memory budget (diffusers' AutoencoderKL.tiled_encode /
 * tiled_decode with the tile size chosen by the planner): untiled when the plan fits, else
 * overlapping windows of one size (so one plan serves every tile) blended linearly across
 * the overlap. The geometry and weights are cascade_tiler's (tiler.h) in latent pixels with
 * no extra context: windows overlap by `overlap` latent px and each output pixel there is
 * (1 - t) x one tile + t x the next, t ramping linearly across the overlap, the blend_v /
 * blend_h rule. Windows are shifted inwards at the border instead of shrinking, unlike
 * diffusers' edge tiles. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cascade/tiler.h"
#include "vae-internal.h"

#define MIN_TILE 8 /* latent px: smaller windows are mostly border */

typedef struct vae_choice {
    bool     tiled;
    int64_t  batch;          /* images per run */
    int64_t  tile, overlap;  /* latent px (tiled) */
    uint64_t bytes;          /* the plan's estimate plus our buffers */
    bool     fits;
} vae_choice;

typedef struct vae_job {
    vae_dir       dir;
    int64_t       b, h, w;         /* batch and latent size */
    int64_t       cin, cout;       /* channels in and out */
    int64_t       s_in, s_out;     /* input / output px per latent px */
    uint64_t      budget;          /* 0: none */
} vae_job;

static const char *dir_name(vae_dir d) { return d == VAE_ENCODE ? "encode" : "decode"; }

static double mib(uint64_t b) { return (double)b / (1 << 20); }

/* The tiler over the latent grid for windows of `tile` latent px overlapping by `overlap`. */
static cascade_status make_tiler(const vae_job *j, int64_t tile, int64_t overlap,
                                 cascade_tiler **out, cascade_error *err) {
    cascade_tiler_params tp = {.width = j->w,
                               .height = j->h,
                               .scale = (int32_t)j->s_out,
                               .tile = (int32_t)(tile - overlap),
                               .context = 0,
                               .feather = (int32_t)overlap};
    return cascade_tiler_new(&tp, out, err);
}

/* Plan estimate for windows of wh x ww latent px and batch b, plus the host buffers of a
 * tiled run (one window in and out) or of the posterior (encode). */
static cascade_status estimate(cascade_vae *v, const vae_job *j, int64_t b, int64_t wh,
                               int64_t ww, bool tiled, vae_choice *c, cascade_error *err) {
    cascade_plan_estimate est;
    CASCADE_TRY(vae_plan_bytes(v, j->dir, b, wh * j->s_in, ww * j->s_in, &est, err));
    uint64_t extra = 0;
    if (tiled)
        extra += sizeof(float) * (uint64_t)(b * wh * ww) *
                 (uint64_t)(j->cin * j->s_in * j->s_in + j->cout * j->s_out * j->s_out);
    if (j->dir == VAE_ENCODE) extra += sizeof(float) * (uint64_t)(j->b * j->cout * j->h * j->w);
    c->bytes = est.total_bytes + extra;
    c->fits = (!j->budget || c->bytes <= j->budget) &&
              (!est.value_limit_bytes || est.largest_value_bytes <= est.value_limit_bytes);
    return CASCADE_STATUS_OK;
}

static cascade_status try_tile(cascade_vae *v, const vae_job *j, int64_t b, int64_t tile,
                               int64_t overlap, vae_choice *c, cascade_error *err) {
    cascade_tiler *t = NULL;
    CASCADE_TRY(make_tiler(j, tile, overlap, &t, err));
    int64_t wh = cascade_tiler_window_height(t), ww = cascade_tiler_window_width(t);
    cascade_tiler_free(t);
    *c = (vae_choice){.tiled = true, .batch = b, .tile = tile, .overlap = overlap};
    return estimate(v, j, b, wh, ww, true, c, err);
}

static int64_t auto_overlap(int64_t tile) { return (tile / 4) & ~(int64_t)1; }

/* Untiled if it fits (whole batch, then one image at a time), else the largest tile that
 * fits (binary search: a plan's size grows with its window), else OUT_OF_MEMORY. */
static cascade_status choose(cascade_vae *v, const vae_job *j, vae_choice *out,
                             cascade_error *err) {
    const int64_t tile = v->opt.tile_latent, big = j->h > j->w ? j->h : j->w;
    int64_t       batches[2] = {j->b, 1};
    int           nb = j->b > 1 ? 2 : 1;
    vae_choice    c, untiled = {0}, smallest = {0};
    if (tile < 0 || v->opt.overlap_latent < 0 || (tile > 0 && v->opt.overlap_latent >= tile))
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "vae %s: tile %lld, overlap %lld latent px", dir_name(j->dir),
                                 (long long)tile, (long long)v->opt.overlap_latent);
    if (tile == 0 || (j->h <= tile && j->w <= tile)) {
        for (int k = 0; k < nb; k++) {
            c = (vae_choice){.batch = batches[k]};
            CASCADE_TRY(estimate(v, j, batches[k], j->h, j->w, false, &c, err));
            if (k == 0) untiled = c;
            if (c.fits) {
                *out = c;
                return CASCADE_STATUS_OK;
            }
        }
        if (tile > 0) goto refuse;
    }
    for (int k = 0; k < nb; k++) {
        if (tile > 0) {
            int64_t ov = v->opt.overlap_latent ? v->opt.overlap_latent & ~(int64_t)1
                                               : auto_overlap(tile);
            CASCADE_TRY(try_tile(v, j, batches[k], tile, ov, &c, err));
            smallest = c;
            if (c.fits) {
                *out = c;
                return CASCADE_STATUS_OK;
            }
            continue;
        }
        int64_t lo = MIN_TILE, hi = big; /* the largest fitting tile in [lo, hi] */
        CASCADE_TRY(try_tile(v, j, batches[k], lo, auto_overlap(lo), &c, err));
        smallest = c;
        if (!c.fits) continue;
        vae_choice best = c;
        while (lo < hi) {
            int64_t mid = lo + (hi - lo + 1) / 2;
            CASCADE_TRY(try_tile(v, j, batches[k], mid, auto_overlap(mid), &c, err));
            if (c.fits) {
                lo = mid;
                best = c;
            } else {
                hi = mid - 1;
            }
        }
        *out = best;
        return CASCADE_STATUS_OK;
    }
refuse:;
    char untiled_text[64] = "";
    if (untiled.bytes)
        snprintf(untiled_text, sizeof untiled_text, "untiled %.1f MiB, ", mib(untiled.bytes));
    return cascade_error_set(
        err, CASCADE_STATUS_OUT_OF_MEMORY,
        "vae %s: %s: [%lld, %lld, %lld, %lld] does not fit: %sthe smallest tiles (%lld latent "
        "px, batch %lld) %.1f MiB; budget %.1f MiB%s",
        dir_name(j->dir), v->dir, (long long)j->b, (long long)j->cin, (long long)(j->h * j->s_in),
        (long long)(j->w * j->s_in), untiled_text, (long long)smallest.tile,
        (long long)smallest.batch, mib(smallest.bytes), mib(j->budget),
        j->budget ? "" : " (none: a value exceeds what the device can bind)");
}

/* Copies the window of tile tl (all channels, batch b0..b0+nb) out of src (B, C, H, W). */
static void gather(const vae_job *j, const cascade_tile *tl, const float *src, int64_t b0,
                   int64_t nb, float *win) {
    const int64_t S = j->s_in, H = j->h * S, W = j->w * S;
    const int64_t wh = tl->y.in_len * S, ww = tl->x.in_len * S;
    const int64_t y0 = tl->y.in0 * S, x0 = tl->x.in0 * S;
    for (int64_t b = 0; b < nb; b++)
        for (int64_t c = 0; c < j->cin; c++)
            for (int64_t y = 0; y < wh; y++)
                memcpy(win + ((b * j->cin + c) * wh + y) * ww,
                       src + (((b0 + b) * j->cin + c) * H + y0 + y) * W + x0,
                       sizeof *win * (size_t)ww);
}

/* dst (B, C, H, W) += weight x the tile's output, over the pixels the tile counts for. */
static void blend(const vae_job *j, const cascade_tiler *t, const cascade_tile *tl,
                  const float *win, int64_t b0, int64_t nb, float *wx, float *dst) {
    const int64_t S = j->s_out, H = j->h * S, W = j->w * S;
    const int64_t wh = tl->y.in_len * S, ww = tl->x.in_len * S;
    const int64_t y0 = tl->y.in0 * S, x0 = tl->x.in0 * S;
    for (int64_t X = tl->x.out0; X < tl->x.out1; X++)
        wx[X - tl->x.out0] = cascade_tiler_weight(t, &tl->x, X, j->w);
    for (int64_t Y = tl->y.out0; Y < tl->y.out1; Y++) {
        const float wy = cascade_tiler_weight(t, &tl->y, Y, j->h);
        if (wy == 0.0f) continue;
        for (int64_t b = 0; b < nb; b++)
            for (int64_t c = 0; c < j->cout; c++) {
                const float *s = win + ((b * j->cout + c) * wh + Y - y0) * ww - x0;
                float       *d = dst + (((b0 + b) * j->cout + c) * H + Y) * W;
                for (int64_t X = tl->x.out0; X < tl->x.out1; X++)
                    d[X] += wy * wx[X - tl->x.out0] * s[X];
            }
    }
}

static cascade_status run_tiled(cascade_vae *v, const vae_job *j, const vae_choice *c,
                                const float *src, float *dst, cascade_error *err) {
    cascade_tiler *t = NULL;
    float         *in = NULL, *out = NULL, *wx = NULL;
    vae_plan      *p = NULL;
    CASCADE_TRY(make_tiler(j, c->tile, c->overlap, &t, err));
    const int64_t  wh = cascade_tiler_window_height(t), ww = cascade_tiler_window_width(t);
    const int32_t  n = cascade_tiler_count(t);
    cascade_status st = vae_plan_get(v, j->dir, c->batch, wh * j->s_in, ww * j->s_in, &p, err);
    if (st == CASCADE_STATUS_OK) {
        in = malloc(sizeof *in * (size_t)(c->batch * j->cin * wh * ww * j->s_in * j->s_in));
        out = malloc(sizeof *out * (size_t)(c->batch * j->cout * wh * ww * j->s_out * j->s_out));
        wx = malloc(sizeof *wx * (size_t)(j->w * j->s_out));
        if (!in || !out || !wx)
            st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY,
                                   "vae %s: out of memory for %lldx%lld tiles", dir_name(j->dir),
                                   (long long)ww, (long long)wh);
    }
    if (st == CASCADE_STATUS_OK)
        memset(dst, 0, sizeof *dst * (size_t)(j->b * j->cout * j->h * j->s_out * j->w * j->s_out));
    for (int64_t b0 = 0; b0 < j->b && st == CASCADE_STATUS_OK; b0 += c->batch)
        for (int32_t i = 0; i < n && st == CASCADE_STATUS_OK; i++) {
            if (cascade_cancel_is_raised(v->opt.cancel)) {
                st = cascade_error_set(err, CASCADE_STATUS_CANCELLED,
                                       "vae %s: cancelled after %d of %d tiles", dir_name(j->dir),
                                       i, n);
                break;
            }
            cascade_tile tl;
            cascade_tiler_get(t, i, &tl);
            gather(j, &tl, src, b0, c->batch, in);
            st = vae_plan_run(v, p, in, out, err);
            if (st == CASCADE_STATUS_OK) blend(j, t, &tl, out, b0, c->batch, wx, dst);
        }
    v->last = (cascade_vae_run_info){.tiled = 1, .batch = c->batch, .window_h = wh,
                                     .window_w = ww, .overlap = cascade_tiler_feather(t),
                                     .n_tiles = n, .planned_bytes = c->bytes};
    free(wx);
    free(out);
    free(in);
    cascade_tiler_free(t);
    return st;
}

cascade_status vae_run(cascade_vae *v, vae_dir dir, const float *src, const int64_t shape[4],
                       float *dst, cascade_error *err) {
    const vae_cfg *cfg = &v->cfg;
    const int64_t  f = cascade_vae_downscale(v);
    vae_job        j = {.dir = dir, .b = shape[0]};
    if (dir == VAE_ENCODE) {
        j = (vae_job){.dir = dir, .b = shape[0], .h = shape[2] / f, .w = shape[3] / f,
                      .cin = cfg->in_channels, .cout = 2 * cfg->latent_channels, .s_in = f,
                      .s_out = 1};
    } else {
        j = (vae_job){.dir = dir, .b = shape[0], .h = shape[2], .w = shape[3],
                      .cin = cfg->latent_channels, .cout = cfg->out_channels, .s_in = 1,
                      .s_out = f};
    }
    cascade_memory_stats ms = {0};
    cascade_backend_memory_stats(v->be, &ms);
    j.budget = v->opt.max_bytes ? v->opt.max_bytes : ms.device_budget_bytes;
    if (!j.budget) { /* nothing said: half the machine's memory, not an untiled plan that cannot
                        be allocated */
        long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
        if (pages > 0 && page > 0) j.budget = (uint64_t)pages * (uint64_t)page / 2;
    }
    v->budget = j.budget;
    vae_choice c = {0};
    CASCADE_TRY(choose(v, &j, &c, err));
    if (c.tiled) return run_tiled(v, &j, &c, src, dst, err);

    vae_plan *p = NULL;
    CASCADE_TRY(vae_plan_get(v, dir, c.batch, j.h * j.s_in, j.w * j.s_in, &p, err));
    const size_t in_n = (size_t)(j.cin * j.h * j.w * j.s_in * j.s_in);
    const size_t out_n = (size_t)(j.cout * j.h * j.w * j.s_out * j.s_out);
    for (int64_t b0 = 0; b0 < j.b; b0 += c.batch) {
        if (cascade_cancel_is_raised(v->opt.cancel))
            return cascade_error_set(err, CASCADE_STATUS_CANCELLED, "vae %s: cancelled",
                                     dir_name(dir));
        CASCADE_TRY(vae_plan_run(v, p, src + (size_t)b0 * in_n, dst + (size_t)b0 * out_n, err));
    }
    v->last = (cascade_vae_run_info){.tiled = 0, .batch = c.batch, .window_h = j.h,
                                     .window_w = j.w, .n_tiles = 1, .planned_bytes = c.bytes};
    return CASCADE_STATUS_OK;
}
