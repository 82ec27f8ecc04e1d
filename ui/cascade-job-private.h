/* Between the job's thread bridge (cascade-job.c) and the engine run on the worker thread
 * (cascade-job-run.c). Not installed, not for the plug-in. */
#ifndef CASCADE_JOB_PRIVATE_H
#define CASCADE_JOB_PRIVATE_H

#include "cascade-job.h"
#include "cascade/backend.h"
#include "cascade/cancel.h"
#include "cascade/pipeline.h"
#include "cascade/upscaler.h"

G_BEGIN_DECLS

/* The worker's view of a job: its own copies, read-only while the thread runs (the cancel
 * flag excepted). */
typedef struct {
    CascadeRecipe    recipe; /* seed already drawn when random */
    CascadeImage    *image, *mask;
    cascade_cancel   cancel;
    CascadeJobCache *cache; /* borrowed; NULL: load everything for this run */
} CascadeJobRun;

/* A backend and pipeline kept between runs (cascade_job_start_cached). */
struct _CascadeJobCache {
    GMutex            lock; /* held by the run using it */
    gchar            *backend_name, *s1, *sr;
    cascade_backend  *backend;
    cascade_pipeline *pipeline; /* loaded on backend from s1 (+ sr) */
    gchar            *upscaler_dir;
    cascade_upscaler *upscaler; /* loaded from upscaler_dir (backend-independent) */
    guint             loads;
};
/* Frees what the cache holds (lock held or no run alive). */
void job_cache_drop(CascadeJobCache *c);

/* Worker thread. Runs the recipe; TRUE with *results (CascadeImage per item) and *seeds,
 * else FALSE with error (G_IO_ERROR_CANCELLED on cancel). */
gboolean job_run_engine(CascadeJobRun *run, GPtrArray **results, guint64 **seeds, GError **error);

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
