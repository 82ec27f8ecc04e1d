/* The dialog's flow timed as a designer meets it, through the job runner with one kept engine
 * (the plug-in's CascadeJobCache): Generate (a stage-I-only batch of candidates), then OK on
 * one of them (the finished image), twice with different seeds: the first pair includes
 * loading the model, the second reuses it.
 *
 *   dialog-flow [--model DIR] [--backend NAME] [--candidates N] [--pick K] [--prompt TEXT]
 *
 * Prints one JSON line: per round, ms until the candidates are shown and ms from OK to the
 * finished image. Uses only cascade-job.h, so the same file builds against older trees for a
 * before/after comparison. */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cascade-job.h"

typedef struct {
    gboolean done;
    GError  *error;
} wait_state;

static void on_done(GPtrArray *results, const guint64 *seeds, const GError *error, gpointer ud) {
    wait_state *w = ud;
    (void)seeds;
    if (error) w->error = g_error_copy(error);
    if (results) g_ptr_array_unref(results);
    w->done = TRUE;
}

/* Runs r through cache to completion on the default main context; ms taken. */
static double run(const CascadeRecipe *r, CascadeJobCache *cache) {
    wait_state          w = {0};
    CascadeJobCallbacks cb = {NULL, NULL, on_done, &w};
    GError             *error = NULL;
    gint64              t0 = g_get_monotonic_time();
    CascadeJob         *job = cascade_job_start_cached(r, NULL, NULL, &cb, cache, &error);
    if (!job) {
        fprintf(stderr, "dialog-flow: %s\n", error->message);
        exit(1);
    }
    while (!w.done)
        g_main_context_iteration(NULL, TRUE);
    double ms = (double)(g_get_monotonic_time() - t0) / 1000.0;
    cascade_job_free(job);
    if (w.error) {
        fprintf(stderr, "dialog-flow: %s\n", w.error->message);
        exit(1);
    }
    return ms;
}

int main(int argc, char **argv) {
    const char *model = NULL, *backend = "cpu", *prompt = "red apple, flat style";
    int         n = 4, pick = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--model")) model = argv[i + 1];
        else if (!strcmp(argv[i], "--backend")) backend = argv[i + 1];
        else if (!strcmp(argv[i], "--candidates")) n = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--pick")) pick = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--prompt")) prompt = argv[i + 1];
        else {
            fprintf(stderr, "dialog-flow: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (n < 1 || n > 16 || pick < 0 || pick >= n) {
        fprintf(stderr, "dialog-flow: --candidates 1..16 and --pick below it\n");
        return 2;
    }
    CascadeJobCache *cache = cascade_job_cache_new();
    printf("{\"backend\": \"%s\", \"candidates\": %d, \"rounds\": [", backend, n);
    for (int round = 0; round < 2; round++) {
        CascadeRecipe r;
        cascade_recipe_init(&r);
        g_free(r.prompt);
        r.prompt = g_strdup(prompt);
        g_free(r.backend);
        r.backend = g_strdup(backend);
        if (model) {
            g_free(r.model_dir);
            r.model_dir = g_strdup(model);
        }
        r.random_seed = FALSE;
        r.seed = 100 + 10 * (guint64)round;
        r.batch = n;
        r.stage2 = FALSE; /* Generate: the candidates */
        double cand = run(&r, cache);
        r.stage2 = TRUE; /* OK on candidate pick */
        r.candidate = pick;
        double fin = run(&r, cache);
        printf("%s{\"round\": %d, \"candidates_ms\": %.1f, \"finish_ms\": %.1f}", round ? ", " : "",
               round + 1, cand, fin);
        cascade_recipe_clear(&r);
    }
    printf("], \"model_loads\": %u}\n", cascade_job_cache_loads(cache));
    cascade_job_cache_free(cache);
    return 0;
}
