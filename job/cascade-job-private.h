/* Between the job's thread bridge (cascade-job.c) and the engine run on the worker thread
 * (cascade-job-run.c). Not installed, not for the plug-in. */
#ifndef CASCADE_JOB_PRIVATE_H
#define CASCADE_JOB_PRIVATE_H

#include "cascade-job.h"
#include "cascade/backend.h"
#include "cascade/cancel.h"
#include "cascade/inpaint-blend.h"
#include "cascade/pipeline.h"
#include "cascade/sd-pipeline.h"
#include "cascade/session.h"
#include "cascade/upscaler.h"

G_BEGIN_DECLS

/* The worker's view of a job: its own copies, read-only while the thread runs (the cancel
 * flag excepted). */
typedef struct {
    CascadeRecipe    recipe; /* seed already drawn when random */
    CascadeImage    *image, *mask;
    cascade_cancel   cancel;
    CascadeJobCache *cache;   /* borrowed; NULL: a session of its own for this run */
    cascade_session *session; /* while the engine runs: the cache's, or the run's own */
} CascadeJobRun;

/* The engine session kept between runs (cascade_job_start_cached). */
struct _CascadeJobCache {
    GMutex           lock;    /* held by the run using it */
    cascade_session *session; /* NULL until the first run; replaced when the backend changes */
    guint            dropped_loads; /* loads of sessions since replaced */
};

/* Worker thread. Runs the recipe; TRUE with *results (CascadeImage per item) and *seeds,
 * else FALSE with error (G_IO_ERROR_CANCELLED on cancel). */
gboolean job_run_engine(CascadeJobRun *run, GPtrArray **results, guint64 **seeds, GError **error);

/* cascade-job-run.c, shared with the Stable Diffusion runner (worker thread). */
gboolean      job_fail_core(const cascade_error *err, GError **error); /* FALSE */
CascadeImage *job_to_rgb(const float *img, int64_t h, int64_t w);
/* An RGB item at the model's size back at orig's size: inpainting blends it in through mask
 * by core's rule (cascade/inpaint-blend.h with bo; pixels outside the mask exactly the
 * original's); variations (mask NULL) take it whole, keeping orig's alpha. */
CascadeImage *job_composite(const CascadeImage *orig, const CascadeImage *mask,
                            const CascadeImage *gen, const cascade_blend_options *bo);
/* Appends a pipeline's image (1, 3, h, w) to results (frees img): as it is when orig is
 * NULL (generate), else through job_composite with mask. */
void job_add_result(GPtrArray *results, float *img, const int64_t shape[4],
                    const CascadeImage *orig, const CascadeImage *mask,
                    const cascade_blend_options *bo);
/* The recipe's inpainting blend (feather, colour match). */
void job_blend_options(const CascadeRecipe *r, cascade_blend_options *bo);
/* FALSE with an error when mask selects nothing. */
gboolean job_check_mask(const CascadeImage *mask, GError **error);
/* The progress callback of a diffusion run; user data a job_progress. x0 may be NULL. */
typedef struct {
    CascadeJobRun *run;
    gint           item, n_items; /* progress runs over the whole batch */
    gint64         last_preview;  /* monotonic µs */
} job_progress;
void job_on_progress(void *ud, int stage, int step, int total, const float *x0,
                     const int64_t shape[4]);

/* cascade-job-sd.c: the Stable Diffusion folder r names (its model, or for upscale its
 * upscaler), g_free; NULL when r runs the IF cascade or a GAN upscaler. */
gchar *job_sd_dir(const CascadeRecipe *r);
/* The x4 diffusion upscaler a generate run ends with (IF's stage III): r's stage3-model, else
 * the model root's stage3/ when that is an SD folder; NULL when none (g_free). */
gchar *job_stage3_dir(const CascadeRecipe *r);
/* Stage III on *img (1, 3, H, W) with r's prompt and seed: *img and shape replaced by the
 * x4 image. */
gboolean job_stage3(CascadeJobRun *run, const gchar *dir, guint64 seed, float **img,
                    int64_t shape[4], GError **error);
/* Runs r on the SD folder dir, loaded by the run's session. */
gboolean job_run_sd(CascadeJobRun *run, const gchar *dir, GPtrArray *results, guint64 *seeds,
                    GError **error);

/* Worker thread -> main context. preview takes ownership of image. */
void     job_post_progress(CascadeJobRun *run, gint stage, gint step, gint total);
void     job_post_preview(CascadeJobRun *run, gint index, CascadeImage *image);
gboolean job_wants_preview(const CascadeJobRun *run);

/* Resamples 8-bit interleaved pixels (channels 1..4) to another size: a triangle filter
 * widened by the shrink factor when shrinking (no aliasing), bilinear when enlarging. */
void job_resample(const guint8 *src, gint sw, gint sh, gint channels, guint8 *dst, gint dw,
                  gint dh);

G_END_DECLS

#endif
