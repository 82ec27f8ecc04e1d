/* cascade bench: one component (cmd-bench.c) or the whole cascade (bench-pipeline.c). */
#ifndef CASCADE_CLI_BENCH_H
#define CASCADE_CLI_BENCH_H

#include <stdbool.h>
#include <stdint.h>

typedef struct bench_pipeline_args {
    const char *model, *sr_model, *backend, *prompt;
    bool        no_sr;
    int         threads;
    int64_t     steps1, steps2, batch;
    int         runs; /* generates in one session */
} bench_pipeline_args;

int bench_pipeline(const bench_pipeline_args *a);

typedef struct bench_vae_args {
    const char *vae_dir, *backend;
    int         threads;
    int64_t     width, height, batch;
    uint64_t    budget_bytes; /* 0: none */
    int64_t     tile;         /* latent px; 0: auto */
    bool        encode;
} bench_vae_args;

int bench_vae(const bench_vae_args *a);

/* "VmRSS" / "VmHWM" of /proc/self/status in bytes; 0 where there is none. VmHWM, unlike
 * getrusage's ru_maxrss, is this process image's own peak: ru_maxrss keeps the parent's
 * peak across fork + exec, so a bench started from a large Python process reported that. */
uint64_t bench_proc_status_bytes(const char *key);
/* Resident bytes of the program's and its shared libraries' mappings. */
uint64_t bench_code_rss_bytes(void);

#endif
