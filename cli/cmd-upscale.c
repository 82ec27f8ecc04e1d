/* cascade upscale --model DIR --scale N in.png -o out.png [--tile N] [--context N]
 *                 [--feather N] [--memory MIB] [--threads N] [-q]
 * Enlarges a PNG with a converted super-resolution model (cascade convert --from tfjs), tile
 * by tile on the CPU backend; alpha is enlarged bilinearly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cascade.h"
#include "cascade/backend.h"
#include "cascade/image-io.h"
#include "cascade/upscaler.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: cascade upscale --model DIR --scale N IN.png -o OUT.png [options]\n\n"
            "Enlarges IN.png N times with the super-resolution model in DIR (made by\n"
            "`cascade convert --from tfjs`, e.g. models/upscalers/esrgan-slim_x4).\n\n"
            "  --model DIR      converted model directory\n"
            "  --scale N        the model's scale (checked against DIR; optional)\n"
            "  -o, --output F   output PNG\n"
            "  --tile N         core tile edge in input pixels (default: from --memory)\n"
            "  --context N      input pixels of context around each tile (default: the\n"
            "                   network's receptive field, at most 32)\n"
            "  --feather N      cross-fade width between tiles, input pixels (default 8)\n"
            "  --memory MIB     activation memory budget per tile (default: 1024)\n"
            "  --threads N      CPU threads (default: all cores)\n"
            "  -q, --quiet      no progress on stderr\n");
}

static bool parse_int(const char *s, long lo, long hi, long *out) {
    char *end = NULL;
    long  v = strtol(s, &end, 10);
    if (!end || *end || end == s || v < lo || v > hi) return false;
    *out = v;
    return true;
}

static void progress(int32_t done, int32_t total, void *ud) {
    (void)ud;
    fprintf(stderr, "\rtile %d/%d", done, total);
    if (done == total) fputc('\n', stderr);
}

int cmd_upscale(int argc, char **argv) {
    const char *model = NULL, *in = NULL, *out = NULL;
    long        scale = 0, tile = 0, context = -1, feather = -1, memory = 0, threads = 0;
    bool        quiet = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool        has = i + 1 < argc;
        if (cli_is_help(a)) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--model") && has) {
            model = argv[++i];
        } else if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && has) {
            out = argv[++i];
        } else if (!strcmp(a, "--scale") && has) {
            if (!parse_int(argv[++i], 1, 64, &scale)) return cli_failf("upscale", "--scale: '%s'", argv[i]);
        } else if (!strcmp(a, "--tile") && has) {
            if (!parse_int(argv[++i], 1, 1 << 16, &tile)) return cli_failf("upscale", "--tile: '%s'", argv[i]);
        } else if (!strcmp(a, "--context") && has) {
            if (!parse_int(argv[++i], 0, 1 << 12, &context))
                return cli_failf("upscale", "--context: '%s'", argv[i]);
        } else if (!strcmp(a, "--feather") && has) {
            if (!parse_int(argv[++i], 0, 1 << 12, &feather))
                return cli_failf("upscale", "--feather: '%s'", argv[i]);
        } else if (!strcmp(a, "--memory") && has) {
            if (!parse_int(argv[++i], 1, 1 << 24, &memory))
                return cli_failf("upscale", "--memory: '%s' (MiB)", argv[i]);
        } else if (!strcmp(a, "--threads") && has) {
            if (!parse_int(argv[++i], 0, 1024, &threads))
                return cli_failf("upscale", "--threads: '%s'", argv[i]);
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            quiet = true;
        } else if (a[0] == '-') {
            usage(stderr);
            return cli_failf("upscale", "unknown option '%s'", a);
        } else if (!in) {
            in = a;
        } else {
            return cli_failf("upscale", "unexpected argument '%s'", a);
        }
    }
    if (!model || !in || !out) {
        usage(stderr);
        return 2;
    }

    cascade_error     err;
    cascade_upscaler *u = NULL;
    cascade_image    *src = NULL, *dst = NULL;
    cascade_backend  *be = NULL;
    int               rc = 1;
    cascade_error_init(&err);
    if (cascade_upscaler_load(model, &u, &err)) goto fail;
    if (scale && scale != cascade_upscaler_scale(u)) {
        rc = cli_failf("upscale", "--scale %ld: the model in %s is x%d", scale, model,
                       cascade_upscaler_scale(u));
        goto done;
    }
    if (cascade_image_read_png(in, &src, &err)) goto fail;
    const int64_t s = cascade_upscaler_scale(u);
    if (cascade_image_new(src->width * s, src->height * s, src->channels, &dst, &err)) goto fail;
    cascade_cpu_options copt;
    cascade_cpu_options_init(&copt);
    copt.n_threads = (int)threads;
    if (cascade_backend_cpu_new(&copt, &be, &err)) goto fail;

    cascade_upscale_options opt;
    cascade_upscale_options_init(&opt);
    opt.tile = (int32_t)tile;
    opt.context = (int32_t)context;
    opt.feather = (int32_t)feather;
    opt.memory_budget = (uint64_t)memory << 20;
    if (!quiet) opt.progress = progress;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (cascade_upscale_image(u, be, src->pixels, src->width, src->height, src->channels,
                              (size_t)(src->width * src->channels), dst->pixels,
                              (size_t)(dst->width * dst->channels), &opt, &err))
        goto fail;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (cascade_image_write_png(out, dst, &err)) goto fail;
    if (!quiet)
        fprintf(stderr, "%s: %lldx%lld -> %lldx%lld in %.3f s\n", out, (long long)src->width,
                (long long)src->height, (long long)dst->width, (long long)dst->height,
                (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
    rc = 0;
    goto done;
fail:
    rc = cli_fail("upscale", &err);
done:
    cascade_backend_free(be);
    cascade_image_free(dst);
    cascade_image_free(src);
    cascade_upscaler_free(u);
    return rc;
}
