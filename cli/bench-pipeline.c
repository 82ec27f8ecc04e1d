/* cascade bench --model: the whole cascade through one engine session, --runs times, each run
 * timed per denoising step of each stage with what it loaded and planned. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench.h"
#include "cascade.h"
#include "cascade/model-search.h"
#include "cascade/session.h"

typedef struct stage_times {
    double  last;        /* time of the previous callback (or of the stage's start) */
    double *steps[3];    /* per stage: step durations, ms */
    int     n[3], cap[3];
} stage_times;

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void on_step(void *ud, int stage, int step, int total, const float *x0,
                    const int64_t shape[4]) {
    (void)step, (void)total, (void)x0, (void)shape;
    stage_times *t = ud;
    double       now = now_ms();
    if (stage < 1 || stage > 2) return;
    if (t->n[stage] == t->cap[stage]) {
        int     cap = t->cap[stage] ? 2 * t->cap[stage] : 64;
        double *p = realloc(t->steps[stage], sizeof *p * (size_t)cap);
        if (!p) return;
        t->steps[stage] = p;
        t->cap[stage] = cap;
    }
    t->steps[stage][t->n[stage]++] = now - t->last;
    t->last = now;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void print_stage(stage_times *t, int s) {
    int n = t->n[s];
    double *v = t->steps[s], sum = 0;
    for (int i = 0; i < n; i++) sum += v[i];
    /* the first step of a stage includes its text encoding / upscaling / planning; the median
     * is not moved by it */
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    double med = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
    printf(", \"stage%d\": {\"steps\": %d, \"step_ms\": {\"min\": %.3f, \"median\": %.3f, "
           "\"max\": %.3f}, \"total_ms\": %.3f}",
           s, n, v[0], med, v[n - 1], sum);
}

/* One generate through the session, printed as one element of "runs": what it had to load and
 * plan (the session's counters before and after: 0 when everything was kept) and its steps. */
static cascade_status bench_run(cascade_session *ses, const bench_pipeline_args *a,
                                const char *sr, int run, int64_t shape[4], cascade_error *err) {
    stage_times              t = {0};
    cascade_session_counters c0, c1;
    cascade_pipeline        *p = NULL;
    float                   *img = NULL;
    cascade_session_get_counters(ses, &c0);
    double t0 = now_ms();
    cascade_status st = cascade_session_pipeline(ses, a->model, sr, sr != NULL, &p, err);
    double t_loaded = now_ms();
    if (!st) {
        cascade_generate_params g;
        cascade_generate_params_init(&g);
        g.prompt = a->prompt;
        g.seed = 0;
        g.batch = a->batch;
        g.steps1 = a->steps1;
        g.steps2 = a->steps2;
        g.stage2 = sr != NULL;
        g.progress = on_step;
        g.user_data = &t;
        t.last = t_loaded;
        st = cascade_session_generate(ses, p, &g, &img, shape, err);
    }
    if (!st) {
        double total = now_ms() - t0;
        cascade_session_get_counters(ses, &c1);
        printf("%s{\"run\": %d, \"load_ms\": %.3f, \"models_loaded\": %llu, \"plan_ms\": %.3f, "
               "\"plans_built\": %llu, \"constants_bound\": %llu, \"text_encodes\": %llu",
               run > 1 ? ", " : "", run, (double)(c1.load_ns - c0.load_ns) / 1e6,
               (unsigned long long)(c1.model_loads - c0.model_loads),
               (double)(c1.backend.plan_ns - c0.backend.plan_ns) / 1e6,
               (unsigned long long)(c1.backend.plans_built - c0.backend.plans_built),
               (unsigned long long)(c1.backend.constants_bound - c0.backend.constants_bound),
               (unsigned long long)(c1.pipeline.text_encodes - c0.pipeline.text_encodes));
        if (t.n[1]) print_stage(&t, 1);
        if (t.n[2]) print_stage(&t, 2);
        printf(", \"generate_ms\": %.3f}", total);
    }
    free(img);
    for (int s = 0; s < 3; s++) free(t.steps[s]);
    return st;
}

int bench_pipeline(const bench_pipeline_args *a) {
    char *s1 = NULL, *sr = NULL;
    cascade_error err;
    cascade_error_init(&err);
    if (cascade_model_resolve(a->model, a->sr_model, !a->no_sr, &s1, &sr, &err))
        return cli_fail("bench", &err);
    cascade_session *ses = NULL;
    int              rc = 0;
    int64_t          shape[4] = {0};
    if (cascade_session_new(a->backend, a->threads, &ses, &err)) {
        rc = cli_fail("bench", &err);
        goto done;
    }
    printf("{\"model\": \"%s\", \"sr_model\": %s%s%s, \"backend\": \"%s\", \"threads\": %d, "
           "\"batch\": %lld, \"runs\": [",
           s1, sr ? "\"" : "", sr ? sr : "null", sr ? "\"" : "",
           cascade_backend_name(cascade_session_backend(ses)), a->threads, (long long)a->batch);
    for (int run = 1; run <= a->runs; run++)
        if (bench_run(ses, a, sr, run, shape, &err)) {
            printf("]}\n");
            rc = cli_fail("bench", &err);
            goto done;
        }
    cascade_memory_stats ms;
    cascade_backend_memory_stats(cascade_session_backend(ses), &ms);
    printf("], \"image\": [%lld, %lld], \"peak_host_bytes\": %lld, \"activations\": "
           "{\"planned_bytes\": %llu, \"naive_bytes\": %llu}, \"peak_device_bytes\": %llu}\n",
           (long long)shape[2], (long long)shape[3],
           (long long)bench_proc_status_bytes("VmHWM"), (unsigned long long)ms.planned_peak_bytes,
           (unsigned long long)ms.naive_bytes, (unsigned long long)ms.device_peak_bytes);
done:
    cascade_session_free(ses);
    free(s1);
    free(sr);
    return rc;
}
