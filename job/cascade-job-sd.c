/* The Stable Diffusion side of a CascadeJob, on the worker thread. A model folder that
 * cascade_sd_pipeline_is_dir recognises (core's one rule: model_index.json's class) runs
 * through sd-pipeline.h instead of the IF cascade: generate (text to image at the model's
 * size), inpaint and variations (img2img) at about the model's own area with the crop's
 * aspect, and, for an upscaler folder given as the upscaler, the x4 diffusion upscaler
 * conditioned on the prompt. Steps and guidance are the recipe's stage I values; the
 * upscaler runs at its folder's defaults (diffusers': 75 steps, guidance 9, noise level 20).
 * Batch items run one at a time with seed + i, as the IF cascade's do. Also the IF cascade's
 * stage III: an x4 upscaler folder after stage II, at noise level 100 as `cascade generate
 * --stage3` runs it. */
#include <glib/gi18n-lib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cascade-job-private.h"

gchar *job_sd_dir(const CascadeRecipe *r) {
    g_autofree gchar *dir = NULL;
    if (r->mode == CASCADE_MODE_UPSCALE)
        dir = r->upscaler_dir && *r->upscaler_dir ? g_strdup(r->upscaler_dir)
                                                  : cascade_job_default_upscaler_dir();
    else if (r->model_dir && *r->model_dir)
        dir = g_strdup(r->model_dir);
    return dir && cascade_sd_pipeline_is_dir(dir) ? g_steal_pointer(&dir) : NULL;
}

gboolean cascade_job_upscaler_is_diffusion(const CascadeRecipe *r) {
    CascadeRecipe up;
    cascade_recipe_copy(&up, r);
    up.mode = CASCADE_MODE_UPSCALE;
    g_autofree gchar *dir = job_sd_dir(&up);
    cascade_recipe_clear(&up);
    return dir != NULL;
}

gint cascade_job_stages(const CascadeRecipe *r) {
    if (r->mode == CASCADE_MODE_UPSCALE) return 1;
    g_autofree gchar *sd = job_sd_dir(r);
    if (sd || !r->stage2) return 1;
    g_autofree gchar *s3 = r->mode == CASCADE_MODE_GENERATE ? job_stage3_dir(r) : NULL;
    return s3 ? 3 : 2;
}

/* The latents' x0 is no picture: progress only, no preview. */
static void on_sd_progress(void *ud, int stage, int step, int total, const float *x0,
                           const int64_t shape[4]) {
    (void)x0, (void)shape;
    job_on_progress(ud, stage, step, total, NULL, NULL);
}

static gboolean cannot(const gchar *dir, cascade_sd_task task, GError **error) {
    const gchar *fmt = task == CASCADE_SD_TASK_TEXT2IMG
                           ? _("The Stable Diffusion model in %s cannot generate from text")
                       : task == CASCADE_SD_TASK_INPAINT
                           ? _("The Stable Diffusion model in %s cannot inpaint")
                       : task == CASCADE_SD_TASK_IMG2IMG
                           ? _("The Stable Diffusion model in %s cannot make variations")
                           : _("The model in %s is no x4 upscaler: it cannot enlarge a layer");
    g_set_error(error, CASCADE_JOB_ERROR, CASCADE_STATUS_UNSUPPORTED, fmt, dir);
    return FALSE;
}

/* A size with the model's pixel area and (about) w:h's aspect, in multiples of k. */
static void model_size(const cascade_sd_pipeline *p, gint w, gint h, int64_t *mh, int64_t *mw) {
    int64_t H0 = 0, W0 = 0, k = MAX(cascade_sd_pipeline_size_multiple(p), 1);
    cascade_sd_pipeline_default_size(p, &H0, &W0);
    double scale = sqrt((double)H0 * (double)W0 / ((double)w * (double)h));
    *mh = MAX(k, (int64_t)llround(h * scale / (double)k) * k);
    *mw = MAX(k, (int64_t)llround(w * scale / (double)k) * k);
}

/* run->image (and mask) at (mh, mw) as the pipeline's planar floats. */
static void image_floats(const CascadeImage *im, const CascadeImage *mk, int64_t mh, int64_t mw,
                         float **x, float **m) {
    g_autofree guint8 *xs = g_malloc((gsize)(mh * mw) * im->channels);
    job_resample(im->pixels, im->width, im->height, im->channels, xs, (gint)mw, (gint)mh);
    *x = g_new(float, (gsize)(3 * mh * mw));
    cascade_image_from_rgb8(xs, mh, mw, im->channels, *x);
    *m = NULL;
    if (!mk) return;
    g_autofree guint8 *ms = g_malloc((gsize)(mh * mw));
    job_resample(mk->pixels, mk->width, mk->height, 1, ms, (gint)mw, (gint)mh);
    *m = g_new(float, (gsize)(mh * mw));
    cascade_mask_from_grey8(ms, mh, mw, *m);
}

static gboolean sd_diffusion(CascadeJobRun *run, cascade_sd_pipeline *p, const gchar *dir,
                             GPtrArray *results, guint64 *seeds, GError **error) {
    const CascadeRecipe  *r = &run->recipe;
    const CascadeImage   *im = run->image, *mk = run->mask;
    const gboolean        inpaint = r->mode == CASCADE_MODE_INPAINT;
    const gboolean        vary = r->mode == CASCADE_MODE_VARIATIONS;
    const cascade_sd_task task = inpaint ? CASCADE_SD_TASK_INPAINT
                                 : vary  ? CASCADE_SD_TASK_IMG2IMG
                                         : CASCADE_SD_TASK_TEXT2IMG;
    if (!cascade_sd_pipeline_can(p, task)) return cannot(dir, task, error);
    if (inpaint && !job_check_mask(mk, error)) return FALSE;

    g_autofree gchar *prompt = cascade_recipe_full_prompt(r);
    job_progress      pc = {run, 0, r->candidate >= 0 ? 1 : r->batch, 0};
    cascade_sd_params g;
    cascade_sd_params_init(&g);
    g.prompt = prompt;
    g.negative_prompt = r->negative_prompt;
    g.batch = 1;
    g.steps = r->steps1;
    g.guidance = r->guidance1;
    g.strength = vary ? r->strength : inpaint ? r->inpaint_strength : -1.0;
    cascade_error aerr;
    cascade_error_init(&aerr);
    if (!im && cascade_sd_pipeline_aspect_size(p, r->aspect, &g.height, &g.width, &aerr))
        return job_fail_core(&aerr, error); /* text to image: the chosen shape */
    g.progress = on_sd_progress;
    g.user_data = &pc;
    g.cancel = &run->cancel;
    int64_t           mh = 0, mw = 0;
    g_autofree float *x = NULL, *m = NULL;
    if (im) {
        model_size(p, im->width, im->height, &mh, &mw);
        image_floats(im, inpaint ? mk : NULL, mh, mw, &x, &m);
    }

    cascade_error err;
    cascade_error_init(&err);
    cascade_blend_options blend;
    job_blend_options(r, &blend);
    gint first = r->candidate >= 0 ? r->candidate : 0;
    gint last = r->candidate >= 0 ? r->candidate + 1 : r->batch;
    for (gint i = first; i < last; i++) {
        float  *img = NULL;
        int64_t shape[4];
        pc.item = i - first;
        g.seed = r->seed + (guint64)i;
        cascade_status st =
            inpaint ? cascade_sd_pipeline_inpaint(p, &g, x, m, mh, mw, &img, shape, &err)
            : vary  ? cascade_sd_pipeline_img2img(p, &g, x, mh, mw, &img, shape, &err)
                    : cascade_sd_pipeline_generate(p, &g, &img, shape, &err);
        if (st) return job_fail_core(&err, error);
        job_add_result(results, img, shape, im, inpaint ? mk : NULL, &blend);
        seeds[i - first] = g.seed;
    }
    return TRUE;
}

/* The upscaler's parameters for run: prompt (borrowed), r's negative prompt, seed; the
 * folder's defaults for the rest. */
static void upscale_params(CascadeJobRun *run, const gchar *prompt, job_progress *pc, guint64 seed,
                           cascade_sd_params *g) {
    cascade_sd_params_init(g);
    g->prompt = prompt;
    g->negative_prompt = run->recipe.negative_prompt;
    g->seed = seed;
    g->progress = on_sd_progress;
    g->user_data = pc;
    g->cancel = &run->cancel;
}

static gboolean sd_upscale(CascadeJobRun *run, cascade_sd_pipeline *p, const gchar *dir,
                           GPtrArray *results, guint64 *seeds, GError **error) {
    const CascadeRecipe *r = &run->recipe;
    const CascadeImage  *im = run->image;
    if (!cascade_sd_pipeline_can(p, CASCADE_SD_TASK_UPSCALE))
        return cannot(dir, CASCADE_SD_TASK_UPSCALE, error);
    if (r->upscale_factor != 4) {
        g_set_error(error, CASCADE_JOB_ERROR, CASCADE_STATUS_INVALID_ARG,
                    _("The diffusion upscaler in %s enlarges ×4, but ×%d was asked for"), dir,
                    r->upscale_factor);
        return FALSE;
    }
    if (im->width > G_MAXINT / 4 || im->height > G_MAXINT / 4) {
        g_set_error(error, CASCADE_JOB_ERROR, CASCADE_STATUS_INVALID_ARG,
                    _("The image is too large to enlarge ×%d"), 4);
        return FALSE;
    }
    g_autofree gchar *prompt = cascade_recipe_full_prompt(r);
    job_progress      pc = {run, 0, 1, 0};
    cascade_sd_params g;
    upscale_params(run, prompt, &pc, r->seed, &g);
    g_autofree float *x = NULL, *m = NULL;
    image_floats(im, NULL, im->height, im->width, &x, &m);
    float        *big = NULL;
    int64_t       shape[4];
    cascade_error err;
    cascade_error_init(&err);
    if (cascade_sd_pipeline_upscale(p, &g, x, im->height, im->width, &big, shape, &err))
        return job_fail_core(&err, error);
    CascadeImage *rgb = job_to_rgb(big, shape[2], shape[3]);
    free(big);
    /* RGB from the upscaler (at 4x by its VAE's factor), alpha enlarged beside it */
    const gint         W = im->width * 4, H = im->height * 4, C = im->channels;
    CascadeImage      *out = cascade_job_image_new(W, H, C);
    g_autofree guint8 *up = g_malloc((gsize)W * H * 3), *a = NULL, *A = NULL;
    job_resample(rgb->pixels, rgb->width, rgb->height, 3, up, W, H);
    if (C == 4) {
        a = g_malloc((gsize)im->width * im->height);
        A = g_malloc((gsize)W * H);
        for (gsize i = 0; i < (gsize)im->width * im->height; i++)
            a[i] = im->pixels[i * 4 + 3];
        job_resample(a, im->width, im->height, 1, A, W, H);
    }
    for (gsize i = 0; i < (gsize)W * H; i++) {
        memcpy(out->pixels + i * C, up + i * 3, 3);
        if (C == 4) out->pixels[i * 4 + 3] = A[i];
    }
    cascade_job_image_free(rgb);
    g_ptr_array_add(results, out);
    seeds[0] = r->seed;
    return TRUE;
}

/* The SD folder dir from the run's session (slot 1: the cascade's stage III). */
static cascade_sd_pipeline *sd_get(CascadeJobRun *run, const gchar *dir, gboolean stage3,
                                   GError **error) {
    cascade_sd_pipeline *p = NULL;
    cascade_error        err;
    cascade_error_init(&err);
    if (cascade_session_sd(run->session, stage3 ? 1 : 0, dir, &p, &err)) {
        job_fail_core(&err, error);
        return NULL;
    }
    return p;
}

gchar *job_stage3_dir(const CascadeRecipe *r) {
    if (r->stage3_dir && *r->stage3_dir) return g_strdup(r->stage3_dir);
    if (!r->model_dir || !*r->model_dir) return NULL;
    g_autofree gchar *dir = g_build_filename(r->model_dir, "stage3", NULL);
    return cascade_sd_pipeline_is_dir(dir) ? g_steal_pointer(&dir) : NULL;
}

gboolean job_stage3(CascadeJobRun *run, const gchar *dir, guint64 seed, float **img,
                    int64_t shape[4], GError **error) {
    const CascadeRecipe *r = &run->recipe;
    cascade_sd_pipeline *p = sd_get(run, dir, TRUE, error);
    if (!p) return FALSE;
    gboolean ok = FALSE;
    if (!cascade_sd_pipeline_can(p, CASCADE_SD_TASK_UPSCALE)) {
        cannot(dir, CASCADE_SD_TASK_UPSCALE, error);
    } else {
        g_autofree gchar *prompt = cascade_recipe_full_prompt(r);
        job_progress      pc = {run, 0, 1, 0};
        cascade_sd_params g;
        upscale_params(run, prompt, &pc, seed, &g);
        g.noise_level = 100;
        float        *big = NULL;
        int64_t       s[4];
        cascade_error err;
        cascade_error_init(&err);
        if (cascade_sd_pipeline_upscale(p, &g, *img, shape[2], shape[3], &big, s, &err)) {
            job_fail_core(&err, error);
        } else {
            free(*img);
            *img = big;
            memcpy(shape, s, sizeof s);
            ok = TRUE;
        }
    }
    return ok;
}

gboolean job_run_sd(CascadeJobRun *run, const gchar *dir, GPtrArray *results, guint64 *seeds,
                    GError **error) {
    const CascadeRecipe *r = &run->recipe;
    cascade_sd_pipeline *p = sd_get(run, dir, FALSE, error);
    if (!p) return FALSE;
    return r->mode == CASCADE_MODE_UPSCALE ? sd_upscale(run, p, dir, results, seeds, error)
                                           : sd_diffusion(run, p, dir, results, seeds, error);
}
