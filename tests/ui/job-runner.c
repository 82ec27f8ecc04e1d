/* Running a CascadeJob to completion for the ui tests (job-runner.h). */
#include "job-runner.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

static void on_progress(gint stage, gint step, gint total, gpointer ud) {
    run_state *s = ud;
    s->off_thread |= g_thread_self() != s->main_thread;
    s->progress_calls++;
    s->max_stage = MAX(s->max_stage, stage);
    if (stage >= 1 && stage <= 3) s->stage_calls[stage]++;
    s->last_step = step, s->last_total = total;
    if (s->cancel_on_progress) cascade_job_cancel(s->job);
}

static void on_preview(gint index, const CascadeImage *image, gpointer ud) {
    run_state *s = ud;
    s->off_thread |= g_thread_self() != s->main_thread;
    assert_true(index >= 0 && image && image->channels == 3 && image->width > 0);
    s->previews++;
}

void job_runner_on_done(GPtrArray *results, const guint64 *seeds, const GError *error,
                        gpointer ud) {
    run_state *s = ud;
    s->off_thread |= g_thread_self() != s->main_thread;
    s->finished = TRUE;
    s->results = results;
    if (results)
        for (guint i = 0; i < results->len && i < 16; i++)
            s->seeds[i] = seeds[i];
    if (error) s->error = g_error_copy(error);
}

run_state job_runner_run(const CascadeRecipe *r, const CascadeImage *image,
                         const CascadeImage *mask, gboolean cancel_on_progress,
                         CascadeJobCache *cache) {
    run_state s = {0};
    s.ctx = g_main_context_new();
    s.main_thread = g_thread_self();
    s.cancel_on_progress = cancel_on_progress;
    g_main_context_push_thread_default(s.ctx);
    CascadeJobCallbacks cb = {on_progress, on_preview, job_runner_on_done, &s};
    GError             *e = NULL;
    s.job = cascade_job_start_cached(r, image, mask, &cb, cache, &e);
    if (!s.job) fail_msg("start: %s", e->message);
    while (!s.finished)
        g_main_context_iteration(s.ctx, TRUE);
    cascade_job_free(s.job);
    while (g_main_context_iteration(s.ctx, FALSE)) {
    }
    g_main_context_pop_thread_default(s.ctx);
    g_main_context_unref(s.ctx);
    return s;
}

void run_state_clear(run_state *s) {
    if (s->results) g_ptr_array_unref(s->results);
    g_clear_error(&s->error);
}

void expect_ok(const run_state *s) {
    if (s->error) fail_msg("job failed: %s", s->error->message);
    assert_non_null(s->results);
}
