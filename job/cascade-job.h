/* CascadeJob: one run of the engine (generate, inpaint, upscale or variations) on a worker
 * thread. The model is the IF cascade, or a Stable Diffusion folder (diffusers layout, told
 * apart by cascade_sd_pipeline_is_dir); the upscaler a GAN one or the x4 diffusion upscaler.
 *
 * The job owns a copy of the recipe and of the input pixels, runs libcascade on its own
 * GThread, and reports back on the GMainContext that was current when it was started
 * (through g_main_context_invoke/g_idle_add), so every callback runs on the main thread:
 * that is where the dialog draws and where the plug-in calls libgimp. cancel() raises the
 * core's cancel flag: the run stops within one denoising step (or one upscaler tile) and
 * `done` reports G_IO_ERROR_CANCELLED. GLib only (no GTK, no GIMP). */
#ifndef CASCADE_JOB_H
#define CASCADE_JOB_H

#include <glib.h>

#include "cascade-recipe.h"
#include "cascade/session.h"

G_BEGIN_DECLS

/* 8-bit pixels, rows of width * channels bytes (channels 3 RGB or 4 RGBA), tightly packed. */
typedef struct {
    gint    width, height, channels;
    guint8 *pixels; /* owned (g_free) */
} CascadeImage;

/* Named cascade_job_image_* because core's image-io.h already exports cascade_image_new/free
 * (a binary linking both would have duplicate symbols). */
CascadeImage *cascade_job_image_new(gint width, gint height, gint channels); /* zeroed */
void          cascade_job_image_free(CascadeImage *image);                   /* NULL-safe */

typedef struct _CascadeJob CascadeJob;

typedef struct {
    /* stage 1, 2, 3 (diffusion; upscaling reports its tiles as stage 3); step of total
     * within that stage. */
    void (*progress)(gint stage, gint step, gint total, gpointer user_data);
    /* The current x0 estimate of image `index` of the batch (RGB, model resolution). May be
     * NULL: then no preview is read back. The image is borrowed for the call. */
    void (*preview)(gint index, const CascadeImage *image, gpointer user_data);
    /* Finished: results (one CascadeImage per batch item, owned by the receiver: free with
     * g_ptr_array_unref) and the seeds they were made with (seed[i] for results[i]); or
     * error (G_IO_ERROR_CANCELLED on cancel, CASCADE_JOB_ERROR otherwise) with results NULL. */
    void (*done)(GPtrArray *results, const guint64 *seeds, const GError *error,
                 gpointer user_data);
    gpointer user_data;
} CascadeJobCallbacks;

/* Inputs by mode:
 *   generate: none (image and mask NULL);
 *   inpaint:  image (RGB/RGBA crop) and mask (1 channel, 255 = repaint, soft values allowed),
 *             same size; the result has the image's size, unmasked pixels unchanged;
 *   upscale:  image; the result is image * upscale_factor, alpha enlarged too (the x4
 *             diffusion upscaler: factor 4, conditioned on the prompt);
 *   variations: image; each result has its size (img2img at the model's size with
 *             recipe->strength, resampled back), its alpha kept.
 * Batch items use seeds recipe->seed + i, each item reproducible alone (so a candidate
 * picked from a stage-I-only batch can be rerun through stage II with its own seed).
 * recipe->random_seed draws a new base seed (0 .. G_MAXINT32-1, reported through `done`)
 * unless recipe->candidate >= 0: a candidate names an item of a run already made, so its
 * seed is kept. recipe->candidate >= 0 runs that one item only (results has one image).
 * recipe->backend: "auto" (a GPU through Vulkan when there is one, else the CPU), "cpu",
 * "vulkan", "vulkan-fp16", "vulkan:<device name substring>".
 * Copies what it needs; FALSE with an error if the recipe is invalid or the thread could
 * not start. */
CascadeJob *cascade_job_start(const CascadeRecipe *recipe, const CascadeImage *image,
                              const CascadeImage *mask, const CascadeJobCallbacks *callbacks,
                              GError **error);
/* Keeps the backend and the loaded models between jobs (the dialog's candidates, then the
 * full run; Repeat Last), so they load once. Jobs sharing a cache run one after the other.
 * Free it only when no job started with it is alive. */
typedef struct _CascadeJobCache CascadeJobCache;
CascadeJobCache *cascade_job_cache_new(void);
void             cascade_job_cache_free(CascadeJobCache *cache); /* NULL-safe */
/* How many diffusion model sets and upscalers the cache has loaded so far. */
guint            cascade_job_cache_loads(CascadeJobCache *cache);
/* The engine session's counters (cascade/session.h): loads, plans built, text encodes, steps
 * per stage, candidates finished without stage I. Waits for a running job. */
void cascade_job_cache_counters(CascadeJobCache *cache, cascade_session_counters *out);
/* Frees the loaded models and kept plans (an idle front end gives memory back); the next run
 * loads again. Waits for a running job. */
void cascade_job_cache_release(CascadeJobCache *cache);
/* cascade_job_start with a cache (borrowed; NULL is cascade_job_start). */
CascadeJob *cascade_job_start_cached(const CascadeRecipe *recipe, const CascadeImage *image,
                                     const CascadeImage *mask,
                                     const CascadeJobCallbacks *callbacks,
                                     CascadeJobCache *cache, GError **error);
void        cascade_job_cancel(CascadeJob *job); /* any thread; idempotent */
/* Joins the thread (after `done` was delivered, or after cancel) and frees the job. */
void        cascade_job_free(CascadeJob *job); /* NULL-safe */

/* The default model directories (installed data dir, then the source tree, or
 * $CASCADE_MODEL), g_free; NULL when none is found. */
gchar *cascade_job_default_model_dir(void);
gchar *cascade_job_default_sr_model_dir(void);
gchar *cascade_job_default_upscaler_dir(void);
/* How many diffusion stages r runs, as progress numbers them (1 for an SD folder; IF: stage
 * I, II when on, III when an x4 upscaler follows stage II); 1 for upscaling. */
gint cascade_job_stages(const CascadeRecipe *r);
/* TRUE when r's upscaler is an x4 diffusion upscaler folder (a Stable Diffusion folder). */
gboolean cascade_job_upscaler_is_diffusion(const CascadeRecipe *r);

#define CASCADE_JOB_ERROR (cascade_job_error_quark())
GQuark cascade_job_error_quark(void);
/* Codes are the core's cascade_status values (INVALID_ARG, UNSUPPORTED, OUT_OF_MEMORY,
 * DEVICE_LOST, IO, FORMAT, ...); the message is the core's, which names the file/field. */

G_END_DECLS

#endif
