/* CascadeJob: the worker thread and the bridge back to the main context.
 *
 * The worker (cascade-job-run.c) calls job_post_* from its thread; each post becomes a
 * source on the context the job was started from, so the receiver's callbacks always run on
 * the main thread. Posted messages share a small refcounted `job_link` with the job: when the
 * job is freed first, messages still queued are dropped (and their results freed) instead
 * of calling into a receiver that may be gone. */
#include "cascade-job-private.h"

#include <gio/gio.h>
#include <glib/gi18n-lib.h>
#include <string.h>

G_DEFINE_QUARK(cascade - job - error - quark, cascade_job_error)

CascadeImage *cascade_job_image_new(gint width, gint height, gint channels) {
    g_return_val_if_fail(width > 0 && height > 0 && channels >= 1 && channels <= 4, NULL);
    CascadeImage *im = g_new0(CascadeImage, 1);
    im->width = width;
    im->height = height;
    im->channels = channels;
    im->pixels = g_malloc0_n((gsize)width * (gsize)height, (gsize)channels);
    return im;
}

void cascade_job_image_free(CascadeImage *image) {
    if (!image) return;
    g_free(image->pixels);
    g_free(image);
}

static CascadeImage *image_dup(const CascadeImage *src) {
    if (!src) return NULL;
    CascadeImage *im = cascade_job_image_new(src->width, src->height, src->channels);
    memcpy(im->pixels, src->pixels, (gsize)src->width * src->height * src->channels);
    return im;
}

typedef struct {
    gint                ref;   /* atomic */
    gboolean            alive; /* main thread only: FALSE once the job is freed */
    CascadeJobCallbacks cb;
} job_link;

static job_link *link_ref(job_link *l) {
    g_atomic_int_inc(&l->ref);
    return l;
}

static void link_unref(job_link *l) {
    if (g_atomic_int_dec_and_test(&l->ref)) g_free(l);
}

struct _CascadeJob {
    CascadeJobRun run; /* what the worker reads (first: the worker gets &job->run) */
    GMainContext *context;
    GThread      *thread;
    job_link     *job_link;
};

/* ---- messages ------------------------------------------------------------------------- */

typedef enum { MSG_PROGRESS, MSG_PREVIEW, MSG_DONE } msg_kind;

typedef struct {
    msg_kind      kind;
    job_link     *job_link;
    gint          stage, step, total, index;
    CascadeImage *image;   /* preview */
    GPtrArray    *results; /* done */
    guint64      *seeds;
    GError       *error;
} msg;

static gboolean msg_dispatch(gpointer data) {
    msg *m = data;
    if (!m->job_link->alive) return G_SOURCE_REMOVE;
    const CascadeJobCallbacks *cb = &m->job_link->cb;
    switch (m->kind) {
    case MSG_PROGRESS:
        if (cb->progress) cb->progress(m->stage, m->step, m->total, cb->user_data);
        break;
    case MSG_PREVIEW:
        if (cb->preview) cb->preview(m->index, m->image, cb->user_data);
        break;
    case MSG_DONE:
        if (cb->done) cb->done(g_steal_pointer(&m->results), m->seeds, m->error, cb->user_data);
        break;
    }
    return G_SOURCE_REMOVE;
}

static void msg_free(gpointer data) {
    msg *m = data;
    cascade_job_image_free(m->image);
    if (m->results) g_ptr_array_unref(m->results);
    g_free(m->seeds);
    if (m->error) g_error_free(m->error);
    link_unref(m->job_link);
    g_free(m);
}

static void post(CascadeJob *job, msg *m) {
    m->job_link = link_ref(job->job_link);
    g_main_context_invoke_full(job->context, G_PRIORITY_DEFAULT, msg_dispatch, m, msg_free);
}

void job_post_progress(CascadeJobRun *run, gint stage, gint step, gint total) {
    msg *m = g_new0(msg, 1);
    m->kind = MSG_PROGRESS;
    m->stage = stage, m->step = step, m->total = total;
    post((CascadeJob *)run, m);
}

void job_post_preview(CascadeJobRun *run, gint index, CascadeImage *image) {
    msg *m = g_new0(msg, 1);
    m->kind = MSG_PREVIEW;
    m->index = index;
    m->image = image;
    post((CascadeJob *)run, m);
}

gboolean job_wants_preview(const CascadeJobRun *run) {
    return ((const CascadeJob *)run)->job_link->cb.preview != NULL;
}

static gpointer worker(gpointer data) {
    CascadeJob *job = data;
    GPtrArray  *results = NULL;
    guint64    *seeds = NULL;
    GError     *error = NULL;
    if (!job_run_engine(&job->run, &results, &seeds, &error)) {
        g_clear_pointer(&results, g_ptr_array_unref);
        g_clear_pointer(&seeds, g_free);
        if (!error) /* the engine always sets one; never report success without results */
            g_set_error(&error, CASCADE_JOB_ERROR, 0, _("The run failed"));
    }
    msg *m = g_new0(msg, 1);
    m->kind = MSG_DONE;
    m->results = results;
    m->seeds = seeds;
    m->error = error;
    post(job, m);
    return NULL;
}

/* ---- the public API ---------------------------------------------------------------------- */

static gboolean check_inputs(const CascadeRecipe *r, const CascadeImage *image,
                             const CascadeImage *mask, GError **error) {
    const char *what = NULL;
    if (r->mode == CASCADE_MODE_OUTPAINT) {
        /* the plug-in grows the canvas and runs inpainting jobs on context boxes */
        what = _("outpainting runs as inpainting jobs on its context boxes");
    } else if (r->mode == CASCADE_MODE_GENERATE) {
        if (image || mask) what = _("generating takes no input image");
    } else if (!image || !image->pixels || image->width < 1 || image->height < 1 ||
               (image->channels != 3 && image->channels != 4)) {
        what = _("an RGB or RGBA input image is required");
    } else if (r->mode == CASCADE_MODE_INPAINT &&
               (!mask || !mask->pixels || mask->channels != 1 || mask->width != image->width ||
                mask->height != image->height)) {
        what = _("inpainting needs a one-channel mask of the image's size");
    } else if (r->mode == CASCADE_MODE_UPSCALE && mask) {
        what = _("upscaling takes no mask");
    } else if (r->mode == CASCADE_MODE_VARIATIONS && mask) {
        what = _("variations take no mask");
    }
    if (!what) return TRUE;
    g_set_error(error, CASCADE_JOB_ERROR, 1 /* CASCADE_STATUS_INVALID_ARG */, "%s", what);
    return FALSE;
}

CascadeJob *cascade_job_start(const CascadeRecipe *recipe, const CascadeImage *image,
                              const CascadeImage *mask, const CascadeJobCallbacks *callbacks,
                              GError **error) {
    return cascade_job_start_cached(recipe, image, mask, callbacks, NULL, error);
}

CascadeJob *cascade_job_start_cached(const CascadeRecipe *recipe, const CascadeImage *image,
                                     const CascadeImage *mask, const CascadeJobCallbacks *callbacks,
                                     CascadeJobCache *cache, GError **error) {
    g_return_val_if_fail(recipe && callbacks, NULL);
    if (!cascade_recipe_validate(recipe, error) || !check_inputs(recipe, image, mask, error))
        return NULL;
    CascadeJob *job = g_new0(CascadeJob, 1);
    cascade_recipe_copy(&job->run.recipe, recipe);
    if (job->run.recipe.random_seed && job->run.recipe.candidate < 0)
        job->run.recipe.seed = g_random_int_range(0, G_MAXINT32); /* fits a PDB int32 */
    job->run.image = image_dup(image);
    job->run.mask = image_dup(mask);
    cascade_cancel_init(&job->run.cancel);
    job->run.cache = cache;
    job->context = g_main_context_ref_thread_default();
    job->job_link = g_new0(job_link, 1);
    job->job_link->ref = 1;
    job->job_link->alive = TRUE;
    job->job_link->cb = *callbacks;
    job->thread = g_thread_try_new("cascade-job", worker, job, error);
    if (!job->thread) {
        job->job_link->alive = FALSE;
        cascade_job_free(job);
        return NULL;
    }
    return job;
}

void cascade_job_cancel(CascadeJob *job) {
    if (job) cascade_cancel_raise(&job->run.cancel);
}

void cascade_job_free(CascadeJob *job) {
    if (!job) return;
    if (job->thread) {
        cascade_cancel_raise(&job->run.cancel); /* a no-op when it already finished */
        g_thread_join(job->thread);
    }
    job->job_link->alive = FALSE;
    link_unref(job->job_link);
    g_main_context_unref(job->context);
    cascade_recipe_clear(&job->run.recipe);
    cascade_job_image_free(job->run.image);
    cascade_job_image_free(job->run.mask);
    g_free(job);
}

/* ---- the cache ------------------------------------------------------------------------------- */

CascadeJobCache *cascade_job_cache_new(void) {
    CascadeJobCache *c = g_new0(CascadeJobCache, 1);
    g_mutex_init(&c->lock);
    return c;
}

void cascade_job_cache_free(CascadeJobCache *c) {
    if (!c) return;
    cascade_session_free(c->session);
    g_mutex_clear(&c->lock);
    g_free(c);
}

guint cascade_job_cache_loads(CascadeJobCache *c) {
    cascade_session_counters n;
    cascade_job_cache_counters(c, &n);
    return (guint)n.model_loads;
}

void cascade_job_cache_counters(CascadeJobCache *c, cascade_session_counters *out) {
    g_mutex_lock(&c->lock);
    memset(out, 0, sizeof *out);
    if (c->session) cascade_session_get_counters(c->session, out);
    out->model_loads += c->dropped_loads;
    g_mutex_unlock(&c->lock);
}

void cascade_job_cache_release(CascadeJobCache *c) {
    g_mutex_lock(&c->lock);
    if (c->session) cascade_session_release(c->session);
    g_mutex_unlock(&c->lock);
}
