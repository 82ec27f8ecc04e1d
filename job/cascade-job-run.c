/* The engine side of a CascadeJob, on the worker thread: backend choice, model lookup, and
 * generate / inpaint / variations / upscale through libcascade's public API (pipeline.h,
 * upscaler.h); Stable Diffusion folders go to cascade-job-sd.c.
 *
 * Batch items run one at a time with seed + i, so every item is reproducible alone (a
 * candidate picked from a stage-I-only batch reruns through stage II with its own seed). */
#include <gio/gio.h>
#include <glib/gi18n-lib.h>
#include <stdlib.h>
#include <string.h>

#include "cascade-job-private.h"
#include "cascade-upscalers.h"
#include "cascade/backend.h"
#include "cascade/inpaint-blend.h"
#include "cascade/model-search.h"
#include "cascade/pipeline.h"
#include "cascade/upscaler.h"
#ifdef CASCADE_HAVE_VULKAN
#include "cascade/vulkan.h"
#endif

/* ---- errors ----------------------------------------------------------------------------- */

gboolean job_fail_core(const cascade_error *err, GError **error) {
    if (err->status == CASCADE_STATUS_CANCELLED)
        g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_CANCELLED, _("Cancelled"));
    else
        g_set_error_literal(error, CASCADE_JOB_ERROR, (gint)err->status, err->message);
    return FALSE;
}

/* ---- model lookup: core's one rule (cascade_model_resolve) ------------------------------ */

/* core's malloc'd strings as GLib-owned ones. */
static gchar *to_gstr(char *s) {
    gchar *r = g_strdup(s);
    free(s);
    return r;
}

gchar *cascade_job_default_model_dir(void) {
    char *s1 = NULL, *s2 = NULL;
    if (cascade_model_resolve(NULL, NULL, FALSE, &s1, &s2, NULL)) return NULL;
    return to_gstr(s1);
}

gchar *cascade_job_default_sr_model_dir(void) {
    char *s1 = NULL, *s2 = NULL;
    if (cascade_model_resolve(NULL, NULL, TRUE, &s1, &s2, NULL)) return NULL;
    free(s1);
    return to_gstr(s2);
}

gchar *cascade_job_default_upscaler_dir(void) {
    const gchar *env = g_getenv("CASCADE_UPSCALER");
    if (env && *env) return g_strdup(env);
    static const char *const candidates[] = {CASCADE_UPSCALERS_INSTALL_DIR,
                                             CASCADE_UPSCALERS_SOURCE_DIR};
    for (gsize i = 0; i < G_N_ELEMENTS(candidates); i++)
        if (g_file_test(candidates[i], G_FILE_TEST_IS_DIR)) return g_strdup(candidates[i]);
    return NULL;
}

/* The upscaler directory: the recipe's (a converted model, or a folder of them), else the
 * default folder; inside a folder, esrgan-slim_x<factor> (the dialog's picker resolves a
 * recipe by the same rule). */
static gchar *resolve_upscaler(const CascadeRecipe *r) {
    return cascade_upscalers_resolve(r->upscaler_dir, r->upscale_factor);
}

/* ---- progress from the pipeline --------------------------------------------------------- */

CascadeImage *job_to_rgb(const float *img, int64_t h, int64_t w) {
    CascadeImage *im = cascade_job_image_new((gint)w, (gint)h, 3);
    cascade_image_to_rgb8(img, h, w, im->pixels);
    return im;
}

void job_on_progress(void *ud, int stage, int step, int total, const float *x0,
                     const int64_t shape[4]) {
    job_progress *p = ud;
    job_post_progress(p->run, stage, p->item * total + step, p->n_items * total);
    /* previews at most ~6 a second, and always the first and the last of each stage */
    gint64 now = g_get_monotonic_time();
    if (!x0 || !job_wants_preview(p->run)) return;
    if (step != 1 && step != total && now - p->last_preview < 150000) return;
    p->last_preview = now;
    const size_t plane = (size_t)(shape[1] * shape[2] * shape[3]);
    for (int64_t b = 0; b < shape[0]; b++) /* a batch of candidates: one preview each */
        job_post_preview(p->run, p->item + (gint)b, job_to_rgb(x0 + b * plane, shape[2], shape[3]));
}

static void on_tiles(int32_t done, int32_t total, void *ud) {
    job_post_progress(ud, 3, done, total);
}

/* ---- the three modes ---------------------------------------------------------------------- */

/* Inpainting: the result blended into the original by core's rule (colour drift removed,
 * edge feathered inward); alpha opaque where repainted. FALSE when it cannot be (memory). */
static gboolean blend_into(const CascadeImage *orig, const CascadeImage *mask, const guint8 *up,
                           const cascade_blend_options *bo, CascadeImage *out) {
    gint              W = orig->width, H = orig->height, C = orig->channels;
    gsize             hw = (gsize)W * H;
    g_autofree float *xo = g_try_malloc(3 * hw * sizeof(float));
    g_autofree float *xg = g_try_malloc(3 * hw * sizeof(float));
    g_autofree float *res = g_try_malloc(3 * hw * sizeof(float));
    g_autofree float *m = g_try_malloc(hw * sizeof(float));
    g_autofree guint8 *rgb = g_try_malloc(3 * hw);
    cascade_error      err;
    cascade_error_init(&err);
    if (!xo || !xg || !res || !m || !rgb) return FALSE;
    cascade_image_from_rgb8(orig->pixels, H, W, C, xo);
    cascade_image_from_rgb8(up, H, W, 3, xg);
    cascade_mask_from_grey8(mask->pixels, H, W, m);
    if (cascade_inpaint_blend(xo, xg, m, H, W, bo, res, NULL, &err)) return FALSE;
    cascade_image_to_rgb8(res, H, W, rgb);
    for (gsize i = 0; i < hw; i++) {
        guint8 *px = out->pixels + i * C;
        for (gint c = 0; c < 3; c++)
            px[c] = m[i] > 0.0f ? rgb[i * 3 + c] : orig->pixels[i * C + c];
        if (C == 4) {
            guint a = orig->pixels[i * C + 3], mk = mask->pixels[i];
            px[3] = (guint8)((255 * mk + a * (255 - mk) + 127) / 255);
        }
    }
    return TRUE;
}

CascadeImage *job_composite(const CascadeImage *orig, const CascadeImage *mask,
                            const CascadeImage *gen, const cascade_blend_options *bo) {
    gint               W = orig->width, H = orig->height, C = orig->channels;
    CascadeImage      *out = cascade_job_image_new(W, H, C);
    g_autofree guint8 *up = g_malloc((gsize)W * H * 3);
    job_resample(gen->pixels, gen->width, gen->height, 3, up, W, H);
    if (mask && bo && blend_into(orig, mask, up, bo, out)) return out;
    for (gsize i = 0; i < (gsize)W * H; i++) {
        guint m = mask ? mask->pixels[i] : 255;
        for (gint c = 0; c < C; c++) {
            guint o = orig->pixels[i * C + c], g = c < 3 ? up[i * 3 + c] : 255;
            if (c == 3 && !mask) g = o; /* a variation keeps the layer's alpha */
            out->pixels[i * C + c] = (guint8)((g * m + o * (255 - m) + 127) / 255);
        }
    }
    return out;
}

void job_add_result(GPtrArray *results, float *img, const int64_t shape[4],
                    const CascadeImage *orig, const CascadeImage *mask,
                    const cascade_blend_options *bo) {
    CascadeImage *rgb = job_to_rgb(img, shape[2], shape[3]);
    free(img);
    if (!orig) {
        g_ptr_array_add(results, rgb);
        return;
    }
    g_ptr_array_add(results, job_composite(orig, mask, rgb, bo));
    cascade_job_image_free(rgb);
}

void job_blend_options(const CascadeRecipe *r, cascade_blend_options *bo) {
    cascade_blend_options_init(bo);
    bo->feather = r->feather;
    bo->match_colour = r->colour_match;
}

gboolean job_check_mask(const CascadeImage *mask, GError **error) {
    for (gsize i = 0; i < (gsize)mask->width * mask->height; i++)
        if (mask->pixels[i] > 0) return TRUE;
    g_set_error(error, CASCADE_JOB_ERROR, CASCADE_STATUS_INVALID_ARG,
                _("The selection is empty: there is nothing to inpaint"));
    return FALSE;
}

/* Splits a pipeline's (B, 3, h, w) result into results (composited for inpainting). */
static void add_batch(GPtrArray *results, float *img, const int64_t shape[4],
                      const CascadeImage *orig, const CascadeImage *mask,
                      const cascade_blend_options *bo) {
    const size_t plane = (size_t)(shape[1] * shape[2] * shape[3]);
    const int64_t one[4] = {1, shape[1], shape[2], shape[3]};
    for (int64_t b = 0; b < shape[0]; b++) {
        float *item = g_memdup2(img + b * plane, plane * sizeof *img);
        job_add_result(results, item, one, orig, mask, bo);
    }
    free(img);
}

static gboolean run_diffusion(CascadeJobRun *run, cascade_pipeline *p, GPtrArray *results,
                              guint64 *seeds, GError **error) {
    const CascadeRecipe *r = &run->recipe;
    cascade_error        err;
    cascade_error_init(&err);
    g_autofree gchar       *prompt = cascade_recipe_full_prompt(r);
    job_progress            pc = {run, 0, r->candidate >= 0 ? 1 : r->batch, 0};
    cascade_generate_params g;
    cascade_generate_params_init(&g);
    g.prompt = prompt;
    g.negative_prompt = r->negative_prompt;
    g.batch = 1;
    cascade_generation_defaults rec1, rec2; /* for settings left to the model */
    cascade_pipeline_recommended(p, 1, &rec1);
    cascade_pipeline_recommended(p, 2, &rec2);
    g.steps1 = r->steps1 > 0 ? r->steps1 : (gint)rec1.steps;
    g.steps2 = r->steps2 > 0 ? r->steps2 : (gint)rec2.steps;
    g.guidance1 = r->guidance1 >= 0 ? r->guidance1 : rec1.guidance;
    g.guidance2 = r->guidance2 >= 0 ? r->guidance2 : rec2.guidance;
    g.stage2 = r->stage2 && cascade_pipeline_has_stage2(p);
    g.noise_level = r->noise_level;
    if (r->mode == CASCADE_MODE_GENERATE && /* the chosen shape at the model's pixel count */
        cascade_pipeline_aspect_size(p, g.stage2, r->aspect, &g.height, &g.width, &err))
        return job_fail_core(&err, error);
    g.progress = job_on_progress;
    g.user_data = &pc;
    g.cancel = &run->cancel;

    /* inpainting: the crop and its mask at the model's size; variations: inpainting with a
     * full mask from strength (IF's img2img) */
    int64_t             mh = 0, mw = 0;
    g_autofree float   *x = NULL, *m = NULL;
    const CascadeImage *im = run->image, *mk = run->mask;
    const gboolean      vary = r->mode == CASCADE_MODE_VARIATIONS;
    if (r->mode == CASCADE_MODE_INPAINT || vary) {
        if (!vary && !job_check_mask(mk, error)) return FALSE;
        cascade_pipeline_image_size(p, g.stage2, &mh, &mw);
        g_autofree guint8 *xs = g_malloc((gsize)(mh * mw) * im->channels);
        g_autofree guint8 *ms = g_malloc((gsize)(mh * mw));
        job_resample(im->pixels, im->width, im->height, im->channels, xs, (gint)mw, (gint)mh);
        if (vary)
            memset(ms, 255, (gsize)(mh * mw));
        else
            job_resample(mk->pixels, mk->width, mk->height, 1, ms, (gint)mw, (gint)mh);
        x = g_new(float, (gsize)(3 * mh * mw));
        m = g_new(float, (gsize)(mh * mw));
        cascade_image_from_rgb8(xs, mh, mw, im->channels, x);
        cascade_mask_from_grey8(ms, mh, mw, m);
        g.strength = vary ? r->strength : r->inpaint_strength;
    }

    cascade_blend_options blend;
    job_blend_options(r, &blend);

    /* stage III (an x4 diffusion upscaler) after a full generate run */
    g_autofree gchar *s3 = r->mode == CASCADE_MODE_GENERATE && g.stage2 ? job_stage3_dir(r) : NULL;
    gint     first = r->candidate >= 0 ? r->candidate : 0;
    gint     last = r->candidate >= 0 ? r->candidate + 1 : r->batch;
    /* stage I candidates: the whole batch in one call (one text encode, one batched U-Net
     * run), each item with its own generator, so a picked one is finished alone */
    if (!x && !g.stage2 && last - first > 1) {
        float  *img = NULL;
        int64_t shape[4];
        g.batch = last - first;
        g.seed_per_item = true;
        g.seed = r->seed + (guint64)first;
        pc.n_items = 1;
        if (cascade_session_generate(run->session, p, &g, &img, shape, &err))
            return job_fail_core(&err, error);
        add_batch(results, img, shape, NULL, NULL, &blend);
        for (gint i = first; i < last; i++)
            seeds[i - first] = r->seed + (guint64)i;
        return TRUE;
    }
    gboolean ok = TRUE;
    for (gint i = first; i < last && ok; i++) {
        float  *img = NULL;
        int64_t shape[4];
        pc.item = i - first;
        g.seed = r->seed + (guint64)i;
        cascade_status st = x ? cascade_pipeline_inpaint(p, &g, x, m, mh, mw, &img, shape, &err)
                              : cascade_session_generate(run->session, p, &g, &img, shape, &err);
        if (st) {
            ok = job_fail_core(&err, error);
            break;
        }
        if (s3 && !job_stage3(run, s3, g.seed, &img, shape, error)) {
            free(img);
            ok = FALSE;
            break;
        }
        job_add_result(results, img, shape, x ? im : NULL, vary ? NULL : mk, &blend);
        seeds[i - first] = g.seed;
    }
    return ok;
}

static gboolean run_upscale(CascadeJobRun *run, GPtrArray *results, guint64 *seeds,
                            GError **error) {
    const CascadeRecipe *r = &run->recipe;
    g_autofree gchar    *dir = resolve_upscaler(r);
    if (!dir) {
        g_set_error(error, CASCADE_JOB_ERROR, CASCADE_STATUS_IO,
                    _("No upscaler model is installed: choose an upscaler folder (or set "
                      "CASCADE_UPSCALER)"));
        return FALSE;
    }
    cascade_error err;
    cascade_error_init(&err);
    cascade_upscaler *u = NULL;
    if (cascade_session_upscaler(run->session, dir, &u, &err)) return job_fail_core(&err, error);
    if (cascade_upscaler_scale(u) != r->upscale_factor) {
        g_set_error(error, CASCADE_JOB_ERROR, CASCADE_STATUS_INVALID_ARG,
                    _("The upscaler in %s enlarges ×%d, but ×%d was asked for"), dir,
                    cascade_upscaler_scale(u), r->upscale_factor);
        return FALSE;
    }
    const CascadeImage *im = run->image;
    const gint          s = r->upscale_factor;
    if (im->width > G_MAXINT / s || im->height > G_MAXINT / s) {
        g_set_error(error, CASCADE_JOB_ERROR, CASCADE_STATUS_INVALID_ARG,
                    _("The image is too large to enlarge ×%d"), s);
        return FALSE;
    }
    CascadeImage *out = cascade_job_image_new(im->width * s, im->height * s, im->channels);
    cascade_upscale_options opt;
    cascade_upscale_options_init(&opt);
    opt.tile = r->tile;
    opt.cancel = &run->cancel;
    opt.progress = on_tiles;
    opt.user_data = run;
    cascade_status st = cascade_session_upscale_image(
        run->session, u, im->pixels, im->width, im->height, im->channels, (size_t)im->width * im->channels,
        out->pixels, (size_t)out->width * out->channels, &opt, &err);
    if (st) {
        cascade_job_image_free(out);
        return job_fail_core(&err, error);
    }
    g_ptr_array_add(results, out);
    seeds[0] = r->seed;
    return TRUE;
}

/* The run's session: the cache's (made on the first run, made again when another backend is
 * asked for), else one of its own (*owned). The cache's lock is held by the caller. */
static gboolean get_session(CascadeJobRun *run, gboolean *owned, GError **error) {
    const CascadeRecipe *r = &run->recipe;
    CascadeJobCache     *c = run->cache;
    const gchar         *be_name = r->backend && *r->backend ? r->backend : "auto";
    cascade_error        err;
    cascade_error_init(&err);
    *owned = c == NULL;
    if (c && c->session && !g_strcmp0(cascade_session_backend_name(c->session), be_name)) {
        run->session = c->session;
        return TRUE;
    }
    if (c && c->session) {
        cascade_session_counters n;
        cascade_session_get_counters(c->session, &n);
        c->dropped_loads += (guint)n.model_loads;
        g_clear_pointer(&c->session, cascade_session_free);
    }
    if (cascade_session_new(be_name, 0, &run->session, &err)) return job_fail_core(&err, error);
    if (c) c->session = run->session;
    return TRUE;
}

gboolean job_run_engine(CascadeJobRun *run, GPtrArray **results, guint64 **seeds, GError **error) {
    const CascadeRecipe *r = &run->recipe;
    gint n = r->mode == CASCADE_MODE_UPSCALE ? 1 : (r->candidate >= 0 ? 1 : r->batch);
    g_autofree gchar    *sd = job_sd_dir(r);
    *results = g_ptr_array_new_with_free_func((GDestroyNotify)cascade_job_image_free);
    *seeds = g_new0(guint64, n);
    gboolean owned = FALSE;
    if (run->cache) g_mutex_lock(&run->cache->lock); /* one run at a time uses the cache */
    gboolean ok = get_session(run, &owned, error);
    if (ok && sd) {
        ok = job_run_sd(run, sd, *results, *seeds, error);
    } else if (ok && r->mode == CASCADE_MODE_UPSCALE) {
        ok = run_upscale(run, *results, *seeds, error);
    } else if (ok) {
        cascade_pipeline *p = NULL;
        cascade_error     err;
        cascade_error_init(&err);
        const gboolean    given = r->model_dir && *r->model_dir;
        g_autofree gchar *def = NULL;
        /* a kept session loads stage II even for stage I candidates: the run after them
         * finishes one */
        if (cascade_session_pipeline(run->session, r->model_dir, r->sr_model_dir,
                                     run->cache ? TRUE : r->stage2, &p, &err)) {
            if (!given && !(def = cascade_job_default_model_dir())) /* said in the UI's words */
                g_set_error(error, CASCADE_JOB_ERROR, CASCADE_STATUS_IO,
                            _("No model is installed: choose a model folder (or set "
                              "CASCADE_MODEL)"));
            else
                job_fail_core(&err, error);
            ok = FALSE;
        } else {
            ok = run_diffusion(run, p, *results, *seeds, error);
        }
    }
    if (owned) cascade_session_free(run->session);
    run->session = NULL;
    if (run->cache) g_mutex_unlock(&run->cache->lock);
    if (ok && cascade_cancel_is_raised(&run->cancel)) { /* raised after the last step */
        g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_CANCELLED, _("Cancelled"));
        ok = FALSE;
    }
    return ok;
}
