/* Running a CascadeJob to completion on a private main context, for the ui tests: the
 * callbacks record what they saw (counts, stages, whether any ran off the main thread). */
#ifndef JOB_RUNNER_H
#define JOB_RUNNER_H

#include <glib.h>

#include "cascade-job.h"

typedef struct {
    GMainContext *ctx;
    GThread      *main_thread;
    gboolean      finished, off_thread;
    GPtrArray    *results;
    guint64       seeds[16];
    GError       *error;
    gint          progress_calls, previews, max_stage, last_step, last_total;
    gint          stage_calls[4]; /* progress reports per stage (1..3) */
    gboolean      cancel_on_progress;
    CascadeJob   *job;
} run_state;

/* Starts a job (through cache when not NULL) and iterates a private main context until
 * `done`; cancel_on_progress cancels at the first progress report. Fails the test when the
 * job cannot start. */
run_state job_runner_run(const CascadeRecipe *r, const CascadeImage *image,
                         const CascadeImage *mask, gboolean cancel_on_progress,
                         CascadeJobCache *cache);
void      run_state_clear(run_state *s);
/* The `done` callback run_job installs (user_data: the run_state), for tests that only
 * need a valid callback table. */
void job_runner_on_done(GPtrArray *results, const guint64 *seeds, const GError *error, gpointer ud);
/* Fails the test unless the job succeeded with results. */
void expect_ok(const run_state *s);

#endif
