/* cascade bench --vae DIR --size WxH: one AutoencoderKL decode (or encode) of an image of that
 * size from seeded latents, with the memory the VAE planned for it (untiled or tiled within
 * --budget) against the host memory the process actually added while running it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cascade/backend-name.h"
#include "bench.h"
#include "cascade.h"
#include "cascade/vae.h"

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Resets the kernel's peak RSS to the current RSS (Linux >= 4.0); false where unsupported. */
static bool reset_peak_rss(void) {
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f) return false;
    bool ok = fputs("5", f) >= 0;
    return fclose(f) == 0 && ok;
}

/* splitmix64 -> roughly normal values (sum of 4 uniforms), reproducible latents */
static void fill(float *x, size_t n, uint64_t seed, float amp) {
    for (size_t i = 0; i < n; i++) {
        float s = 0;
        for (int k = 0; k < 4; k++) {
            uint64_t z = (seed += 0x9e3779b97f4a7c15ull);
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
            z ^= z >> 31;
            s += (float)(z >> 40) / (float)(1 << 24) - 0.5f;
        }
        x[i] = s * amp;
    }
}

int bench_vae(const bench_vae_args *a) {
    cascade_error    err;
    cascade_backend *be = NULL;
    cascade_vae     *v = NULL;
    float           *src = NULL, *dst = NULL;
    int              rc = 0;
    cascade_error_init(&err);
    double        t0 = now_ms();
    cascade_dtype wdt = a->backend && strstr(a->backend, "fp16") ? CASCADE_DTYPE_F16
                                                                 : CASCADE_DTYPE_F32;
    if (cascade_backend_new_by_name(a->backend, a->threads, &be, &err) ||
        cascade_vae_load(a->vae_dir, be, wdt, &v, &err)) {
        rc = cli_fail("bench", &err);
        goto done;
    }
    double        t_load = now_ms() - t0;
    const int64_t f = cascade_vae_downscale(v), lc = cascade_vae_latent_channels(v);
    if (a->width % f || a->height % f) {
        rc = cli_failf("bench", "--size %lldx%lld is not a multiple of the VAE's factor %lld",
                       (long long)a->width, (long long)a->height, (long long)f);
        goto done;
    }
    const int64_t b = a->batch, h = a->height / f, w = a->width / f;
    const size_t  n_lat = (size_t)(b * lc * h * w), n_img = (size_t)(b * 3 * a->height * a->width);
    src = malloc(sizeof *src * (a->encode ? n_img : n_lat));
    dst = malloc(sizeof *dst * (a->encode ? n_lat : n_img));
    if (!src || !dst) {
        rc = cli_failf("bench", "out of memory for a %lldx%lld image", (long long)a->width,
                       (long long)a->height);
        goto done;
    }
    fill(src, a->encode ? n_img : n_lat, 42, a->encode ? 1.0f : 2.0f);
    memset(dst, 0, sizeof *dst * (a->encode ? n_lat : n_img)); /* resident before the baseline */
    cascade_vae_options o;
    cascade_vae_options_init(&o);
    o.max_bytes = (size_t)a->budget_bytes;
    o.tile_latent = a->tile;
    cascade_vae_set_options(v, &o);

    bool     reset = reset_peak_rss();
    uint64_t base = bench_proc_status_bytes("VmRSS");
    double   t1 = now_ms();
    int64_t  lat_shape[4] = {b, lc, h, w}, img_shape[4] = {b, 3, a->height, a->width};
    cascade_status st = a->encode ? cascade_vae_encode(v, src, img_shape, NULL, dst, &err)
                                  : cascade_vae_decode(v, src, lat_shape, dst, &err);
    double t_run = now_ms() - t1;
    if (st) {
        rc = cli_fail("bench", &err);
        goto done;
    }
    uint64_t      peak = bench_proc_status_bytes("VmHWM");
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    cascade_vae_run_info info;
    cascade_vae_last_run(v, &info);
    cascade_memory_stats ms;
    cascade_backend_memory_stats(be, &ms);
    printf("{\"vae\": \"%s\", \"op\": \"%s\", \"backend\": \"%s\", \"image\": [%lld, 3, %lld, %lld], "
           "\"latents\": [%lld, %lld, %lld, %lld], \"load_ms\": %.3f, \"run_ms\": %.3f, "
           "\"budget_bytes\": %llu, \"tiled\": %s, \"tiles\": %d, \"window_latent\": [%lld, %lld], "
           "\"overlap_latent\": %lld, \"batch_per_run\": %lld, \"planned_bytes\": %llu, "
           "\"host_baseline_bytes\": %llu, \"host_peak_bytes\": %llu, \"host_added_bytes\": %lld, "
           "\"peak_is_for_this_run\": %s, \"process_peak_rss_bytes\": %lld, "
           "\"backend_stats\": {\"activations_planned_bytes\": %llu, \"weights_bytes\": %llu, "
           "\"device_peak_bytes\": %llu}}\n",
           a->vae_dir, a->encode ? "encode" : "decode", cascade_backend_name(be), (long long)b,
           (long long)a->height, (long long)a->width, (long long)b, (long long)lc, (long long)h,
           (long long)w, t_load, t_run, (unsigned long long)a->budget_bytes,
           info.tiled ? "true" : "false", info.n_tiles, (long long)info.window_h,
           (long long)info.window_w, (long long)info.overlap, (long long)info.batch,
           (unsigned long long)info.planned_bytes, (unsigned long long)base,
           (unsigned long long)peak, (long long)(peak - base), reset ? "true" : "false",
           (long long)ru.ru_maxrss * 1024, (unsigned long long)ms.planned_peak_bytes,
           (unsigned long long)ms.weights_bytes, (unsigned long long)ms.device_peak_bytes);
done:
    free(dst);
    free(src);
    cascade_vae_free(v);
    cascade_backend_free(be);
    return rc;
}
