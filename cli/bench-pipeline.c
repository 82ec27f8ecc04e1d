/* cascade bench --model: the whole cascade, timed per denoising step of each stage. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cascade/backend-name.h"
#include "bench.h"
#include "cascade.h"
#include "cascade/pipeline.h"
#include "model-paths.h"

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

static void print_stage(const stage_times *t, int s) {
    int n = t->n[s];
    double *v = t->steps[s], sum = 0;
    for (int i = 0; i < n; i++) sum += v[i];
    /* the first step of a stage includes its text encoding / upscaling; the median is not
     * moved by it */
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    double med = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
    printf("\"stage%d\": {\"steps\": %d, \"step_ms\": {\"min\": %.3f, \"median\": %.3f, "
           "\"max\": %.3f}, \"total_ms\": %.3f}",
           s, n, v[0], med, v[n - 1], sum);
}

int bench_pipeline(const bench_pipeline_args *a) {
    char *model = cli_model_dir(a->model);
    if (!model) return cli_failf("bench", "no --model given and no default model is installed");
    char *sr = a->no_sr ? NULL : cli_sr_model_dir(a->sr_model, a->model);

    cascade_error            err;
    cascade_backend         *be = NULL;
    cascade_pipeline        *p = NULL;
    cascade_pipeline_options po;
    stage_times              t = {0};
    float                   *img = NULL;
    int                      rc = 0;
    cascade_error_init(&err);
    cascade_pipeline_options_init(&po);
    po.model_dir = model;
    po.sr_model_dir = sr;
    double t0 = now_ms();
    if (cascade_backend_new_by_name(a->backend, a->threads, &be, &err)) {
        rc = cli_fail("bench", &err);
        goto done;
    }
    po.backend = be;
    if (cascade_pipeline_load(&po, &p, &err)) {
        rc = cli_fail("bench", &err);
        goto done;
    }
    double load_ms = now_ms() - t0;
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
    int64_t shape[4];
    t.last = t0 = now_ms();
    if (cascade_pipeline_generate(p, &g, &img, shape, &err)) {
        rc = cli_fail("bench", &err);
        goto done;
    }
    double        total = now_ms() - t0;
    cascade_memory_stats ms;
    cascade_backend_memory_stats(be, &ms);
    printf("{\"model\": \"%s\", \"sr_model\": %s%s%s, \"backend\": \"%s\", \"threads\": %d, "
           "\"batch\": %lld, \"image\": [%lld, %lld], \"load_ms\": %.3f, ",
           model, sr ? "\"" : "", sr ? sr : "null", sr ? "\"" : "", cascade_backend_name(be),
           a->threads, (long long)a->batch, (long long)shape[2], (long long)shape[3], load_ms);
    if (t.n[1]) print_stage(&t, 1);
    if (t.n[2]) {
        printf(", ");
        print_stage(&t, 2);
    }
    printf(", \"generate_ms\": %.3f, \"peak_host_bytes\": %lld, \"activations\": "
           "{\"planned_bytes\": %llu, \"naive_bytes\": %llu}, \"peak_device_bytes\": %llu}\n",
           total, (long long)bench_proc_status_bytes("VmHWM"), (unsigned long long)ms.planned_peak_bytes,
           (unsigned long long)ms.naive_bytes, (unsigned long long)ms.device_peak_bytes);
done:
    free(img);
    for (int s = 0; s < 3; s++) free(t.steps[s]);
    cascade_pipeline_free(p);
    cascade_backend_free(be);
    free(model);
    free(sr);
    return rc;
}
