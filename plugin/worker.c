/* Thread <-> main loop: the engine runs in a CascadeJob on its own thread and reports
 * through the main context; this file spins the main loop until the job is done and
 * turns its reports into gimp_progress_* calls. libgimp is only ever called here, on the
 * main thread, from those callbacks (dialog-host.c does the same for the dialog). */
#include "config-plugin.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "cascade-plugin.h"
#include "cascade-upscalers.h"

/* ---- final runs: gimp_progress ---- */

typedef struct {
    GMainLoop *loop;
    GPtrArray *results;
    guint64   *seeds;
    GError    *error;
    gint       n_stages;   /* diffusion stages this run has (for the overall fraction) */
    gboolean   upscaling;  /* stage 3 is upscaler tiles, not a diffusion stage */
    gdouble    base, span; /* this job's share of the progress bar (upscale chunks) */
    gint       last_stage;
} RunState;

static void run_progress(gint stage, gint step, gint total, gpointer user_data) {
    RunState *s = user_data;
    if (stage != s->last_stage) {
        s->last_stage = stage;
        if (s->upscaling)
            gimp_progress_set_text(_("Upscaling…"));
        else
            gimp_progress_set_text_printf(_("Stage %d of %d…"), stage, s->n_stages);
    }
    gdouble within = total > 0 ? (gdouble)step / total : 0.0;
    gdouble frac = s->upscaling ? within : ((stage - 1) + within) / MAX(s->n_stages, 1);
    gimp_progress_update(s->base + s->span * CLAMP(frac, 0.0, 1.0));
}

static void run_done(GPtrArray *results, const guint64 *seeds, const GError *error,
                     gpointer user_data) {
    RunState *s = user_data;
    if (error) {
        s->error = g_error_copy(error);
        if (results) g_ptr_array_unref(results);
    } else {
        s->results = results;
        s->seeds = g_memdup2(seeds, sizeof(guint64) * MAX(results ? results->len : 0, 1));
    }
    g_main_loop_quit(s->loop);
}

static gboolean run_job(const CascadeRecipe *r, const CascadeImage *image, const CascadeImage *mask,
                        RunState *s, GError **error) {
    CascadeJobCallbacks cb = {run_progress, NULL, run_done, s};
    s->loop = g_main_loop_new(NULL, FALSE);
    s->n_stages = cascade_job_stages(r);
    s->upscaling = r->mode == CASCADE_MODE_UPSCALE;
    s->last_stage = 0;
    CascadeJob *job = cascade_job_start_cached(r, image, mask, &cb, cascade_worker_cache(), error);
    if (job) g_main_loop_run(s->loop);
    cascade_job_free(job);
    g_main_loop_unref(s->loop);
    if (!job) return FALSE;
    if (s->error) {
        g_propagate_error(error, s->error);
        s->error = NULL;
        return FALSE;
    }
    return TRUE;
}

/* One per plug-in process: the dialog's candidates, the final run and every upscale chunk
 * load the models once (and, in the resident engine, every later call until it idles). */
static CascadeJobCache *cache;

CascadeJobCache *cascade_worker_cache(void) {
    if (!cache) cache = cascade_job_cache_new();
    return cache;
}

void cascade_worker_cache_free(void) {
    cascade_job_cache_free(cache);
    cache = NULL;
}

gboolean cascade_worker_has_cache(void) {
    return cache != NULL;
}

guint cascade_worker_cache_loads(void) {
    return cache ? cascade_job_cache_loads(cache) : 0;
}

void cascade_worker_cache_counters(cascade_session_counters *out) {
    if (cache)
        cascade_job_cache_counters(cache, out);
    else
        memset(out, 0, sizeof *out);
}

gboolean cascade_worker_run(const CascadeRecipe *r, const CascadeImage *image,
                            const CascadeImage *mask, GPtrArray **results, guint64 **seeds,
                            GError **error) {
    RunState s = {.base = 0.0, .span = 1.0};
    gimp_progress_init(r->mode == CASCADE_MODE_INPAINT      ? _("Inpainting…")
                       : r->mode == CASCADE_MODE_VARIATIONS ? _("Making variations…")
                                                            : _("Generating…"));
    gboolean ok = run_job(r, image, mask, &s, error);
    gimp_progress_end();
    *results = s.results;
    *seeds = s.seeds;
    return ok;
}

gboolean cascade_worker_run_part(const CascadeRecipe *r, const CascadeImage *image,
                                 const CascadeImage *mask, gdouble base, gdouble span,
                                 GPtrArray **results, guint64 **seeds, GError **error) {
    RunState s = {.base = base, .span = span};
    gboolean ok = run_job(r, image, mask, &s, error);
    *results = s.results;
    *seeds = s.seeds;
    return ok;
}

/* ---- upscale: the drawable streamed through the upscaler chunk by chunk ---- */

/* The drawable is read, upscaled and written one chunk at a time: r->tile input pixels a
 * side (by default 1024 / factor, so an output chunk is about 1024 px a side; the rule is
 * cascade_upscale_chunk_edge, which the dialog's estimate follows too), plus a context margin
 * on every side that the upscaler sees but whose output is dropped, so seams match the
 * whole-image result as far as the network's receptive field goes. Memory stays that of one
 * chunk whatever the canvas; GIMP's tile store holds the rest. */
#define CHUNK_MARGIN  CASCADE_UPSCALE_CHUNK_MARGIN
#define GIMP_MAX_EDGE 524288

gint32 cascade_worker_upscale(gint32 drawable, const CascadeRecipe *r, GError **error) {
    gint w = gimp_drawable_width(drawable), h = gimp_drawable_height(drawable);
    gint f = r->upscale_factor;
    if ((gint64)w * f > GIMP_MAX_EDGE || (gint64)h * f > GIMP_MAX_EDGE) {
        g_set_error(error, CASCADE_PLUGIN_ERROR, CASCADE_PLUGIN_ERROR_FAILED,
                    _("%d × %d enlarged %d× exceeds GIMP's largest image (%d px)."), w, h, f,
                    GIMP_MAX_EDGE);
        return -1;
    }
    gint   channels = gimp_drawable_has_alpha(drawable) ? 4 : 3;
    gint32 layer =
        cascade_layers_new(gimp_item_get_image(drawable), "upscaled", w * f, h * f, error);
    if (layer < 0) return -1;

    gint     chunk = cascade_upscale_chunk_edge(f, r->tile, cascade_job_upscaler_is_diffusion(r));
    gint     nx = (w + chunk - 1) / chunk, ny = (h + chunk - 1) / chunk, done = 0;
    gboolean ok = TRUE;
    gimp_progress_init(_("Upscaling…"));
    for (gint cy = 0; ok && cy < h; cy += chunk) {
        for (gint cx = 0; ok && cx < w; cx += chunk, done++) {
            gint cw = MIN(chunk, w - cx), ch = MIN(chunk, h - cy);
            /* the chunk plus its margin, clipped to the drawable (no invented border) */
            gint rx = MAX(cx - CHUNK_MARGIN, 0), ry = MAX(cy - CHUNK_MARGIN, 0);
            gint rw = MIN(cx + cw + CHUNK_MARGIN, w) - rx, rh = MIN(cy + ch + CHUNK_MARGIN, h) - ry;
            CascadeImage *in = cascade_drawable_read(drawable, rx, ry, rw, rh, channels);
            RunState      s = {.base = (gdouble)done / (nx * ny), .span = 1.0 / (nx * ny)};
            ok = run_job(r, in, NULL, &s, error);
            cascade_job_image_free(in);
            CascadeImage *big = ok && s.results->len ? g_ptr_array_index(s.results, 0) : NULL;
            if (ok && (!big || big->width != rw * f || big->height != rh * f ||
                       big->channels != channels)) {
                g_set_error(error, CASCADE_PLUGIN_ERROR, CASCADE_PLUGIN_ERROR_FAILED,
                            _("The upscaler returned %d × %d for a %d × %d tile at ×%d."),
                            big ? big->width : 0, big ? big->height : 0, rw, rh, f);
                ok = FALSE;
            }
            if (ok) {
                /* keep the chunk's own part of the output, row by row */
                CascadeImage *part = cascade_job_image_new(cw * f, ch * f, channels);
                gsize         row = (gsize)cw * f * channels;
                for (gint y = 0; y < ch * f; y++)
                    memcpy(part->pixels + y * row,
                           big->pixels +
                               ((gsize)((cy - ry) * f + y) * big->width + (gsize)(cx - rx) * f) *
                                   channels,
                           row);
                cascade_drawable_write(layer, cx * f, cy * f, part);
                cascade_job_image_free(part);
            }
            if (s.results) g_ptr_array_unref(s.results);
            g_free(s.seeds);
        }
    }
    gimp_progress_end();
    if (!ok) {
        gimp_item_delete(layer);
        return -1;
    }
    return layer;
}
