/* cascade upscale --model DIR --scale N in.png -o out.png [--tile N] [--context N]
 *                 [--feather N] [--memory MIB] [--backend NAME] [--threads N] [--bench N] [-q]
 * Enlarges a PNG with a converted super-resolution model (cascade convert --from tfjs), tile
 * by tile; alpha is enlarged bilinearly. --bench N times N runs after one warm-up and prints
 * JSON (tools/bench/upscale-vs-tfjs.sh compares it with TensorFlow.js). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "backend-choice.h"
#include "cascade.h"
#include "cmd-sd.h"
#include "cascade/backend.h"
#include "cascade/image-io.h"
#include "cascade/upscaler.h"

static cascade_cancel g_cancel; /* raised by SIGINT: the one global the CLI needs */

static void on_sigint(int sig) {
    (void)sig;
    cascade_cancel_raise(&g_cancel);
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: cascade upscale --model DIR [--scale N] IN.png -o OUT.png [options]\n\n"
            "Enlarges IN.png N times with the super-resolution model in DIR (made by\n"
            "`cascade convert --from tfjs`, e.g. models/upscalers/esrgan-slim_x4; see\n"
            "tools/upscalers/fetch.sh). Large images are cut into overlapping tiles that are\n"
            "blended without seams; an alpha channel is enlarged bilinearly.\n\n"
            "  --model DIR      converted model directory\n"
            "  --scale N        the model's scale (checked against DIR; optional)\n"
            "  -o, --output F   output PNG\n"
            "  --tile N         core tile edge in input pixels (default: from the memory budget)\n"
            "  --context N      input pixels of context around each tile (default: the\n"
            "                   network's receptive field, at most 32)\n"
            "  --feather N      cross-fade width between tiles, input pixels (default 8)\n"
            "  --memory MIB     activation memory budget per tile (default: half the device\n"
            "                   memory the backend reports, else 1024)\n"
            "  --backend NAME   cpu (default), vulkan, vulkan-fp16\n"
            "  --threads N      CPU threads (default: all cores)\n"
            "  --bench N        time N runs after one warm-up; print JSON on stdout\n"
            "  -q, --quiet      no progress on stderr\n\n"
            "With an x4 diffusion upscaler folder (StableDiffusionUpscalePipeline, DeepFloyd\n"
            "IF's stage III) as --model, it takes a --prompt and the diffusion options: see\n"
            "'cascade upscale --model X4-DIR --help'.\n");
}

static bool parse_int(const char *s, long lo, long hi, long *out) {
    char *end = NULL;
    errno = 0; /* strtol saturates out-of-range input: refused, not clamped */
    long  v = strtol(s, &end, 10);
    if (!end || *end || end == s || errno == ERANGE || v < lo || v > hi) return false;
    *out = v;
    return true;
}

static void progress(int32_t done, int32_t total, void *ud) {
    (void)ud;
    fprintf(stderr, "\rtile %d/%d", done, total);
    if (done == total) fputc('\n', stderr);
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* CPU seconds (user + system) of this process so far: robust to other load on the machine. */
static double cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
           (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct up_args {
    const char *model, *in, *out, *backend;
    long        scale, tile, context, feather, memory, threads, bench;
    bool        quiet;
} up_args;

/* 0: parsed; otherwise the exit code to return (help: 0 through *done). */
static int parse_args(int argc, char **argv, up_args *a, bool *done) {
    *a = (up_args){.context = -1, .feather = -1};
    *done = false;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        bool        has = i + 1 < argc;
        long       *num = NULL, lo = 0, hi = 0;
        if (cli_is_help(s)) {
            usage(stdout);
            *done = true;
            return 0;
        } else if (!strcmp(s, "--model") && has) {
            a->model = argv[++i];
        } else if ((!strcmp(s, "-o") || !strcmp(s, "--output")) && has) {
            a->out = argv[++i];
        } else if (!strcmp(s, "--backend") && has) {
            a->backend = argv[++i];
        } else if (!strcmp(s, "--scale") && has) {
            num = &a->scale, lo = 1, hi = 64;
        } else if (!strcmp(s, "--tile") && has) {
            num = &a->tile, lo = 1, hi = 1 << 16;
        } else if (!strcmp(s, "--context") && has) {
            num = &a->context, lo = 0, hi = 1 << 12;
        } else if (!strcmp(s, "--feather") && has) {
            num = &a->feather, lo = 0, hi = 1 << 12;
        } else if (!strcmp(s, "--memory") && has) {
            num = &a->memory, lo = 1, hi = 1 << 24;
        } else if (!strcmp(s, "--threads") && has) {
            num = &a->threads, lo = 0, hi = 1024;
        } else if (!strcmp(s, "--bench") && has) {
            num = &a->bench, lo = 1, hi = 1000;
        } else if (!strcmp(s, "-q") || !strcmp(s, "--quiet")) {
            a->quiet = true;
        } else if (s[0] == '-' && s[1]) {
            usage(stderr);
            return cli_failf("upscale", "unknown option '%s'%s", s,
                             has ? "" : " (or its value is missing)");
        } else if (!a->in) {
            a->in = s;
        } else {
            return cli_failf("upscale", "unexpected argument '%s'", s);
        }
        if (num && !parse_int(argv[++i], lo, hi, num))
            return cli_failf("upscale", "%s: '%s' is not an integer in %ld..%ld", s, argv[i], lo,
                             hi);
    }
    if (!a->model || !a->in || (!a->out && !a->bench)) {
        usage(stderr);
        return cli_failf("upscale", "%s is required",
                         !a->model ? "--model DIR"
                         : !a->in  ? "an input PNG"
                                   : "-o OUT.png");
    }
    return 0;
}

int cmd_upscale(int argc, char **argv) {
    if (cli_args_name_sd_model(argc, argv)) return cli_sd_main("upscale", argc, argv);
    up_args a;
    bool    done;
    int     rc = parse_args(argc, argv, &a, &done);
    if (rc || done) return rc;

    cascade_error     err;
    cascade_upscaler *u = NULL;
    cascade_image    *src = NULL, *dst = NULL;
    cascade_backend  *be = NULL;
    double           *times = NULL, *cpu = NULL;
    rc = 1;
    cascade_error_init(&err);
    if (cascade_upscaler_load(a.model, &u, &err)) goto fail;
    if (a.scale && a.scale != cascade_upscaler_scale(u)) {
        rc = cli_failf("upscale", "--scale %ld: the model in %s is x%d", a.scale, a.model,
                       cascade_upscaler_scale(u));
        goto done;
    }
    if (cascade_image_read_png(a.in, &src, &err)) goto fail;
    /* before the compute, not after it: a bad output path fails at once, with its reason */
    if (a.out && cascade_image_check_output(a.out, &err)) goto fail;
    const int64_t s = cascade_upscaler_scale(u);
    if (cascade_image_new(src->width * s, src->height * s, src->channels, &dst, &err)) goto fail;
    if (cli_backend_new(a.backend, (int)a.threads, &be, &err)) goto fail;

    cascade_upscale_options opt;
    cascade_upscale_options_init(&opt);
    opt.tile = (int32_t)a.tile;
    opt.context = (int32_t)a.context;
    opt.feather = (int32_t)a.feather;
    opt.memory_budget = (uint64_t)a.memory << 20;
    opt.cancel = &g_cancel;
    if (!a.quiet && !a.bench) opt.progress = progress;
    const long runs = a.bench ? a.bench + 1 : 1;
    times = calloc((size_t)runs, sizeof *times);
    cpu = calloc((size_t)runs, sizeof *cpu);
    if (!times || !cpu) {
        rc = cli_failf("upscale", "out of memory");
        goto done;
    }
    struct sigaction sa = {0}, old;
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, &old);
    cascade_status st = CASCADE_STATUS_OK;
    for (long r = 0; r < runs && !st; r++) {
        double t0 = now_s(), c0 = cpu_s();
        st = cascade_upscale_image(u, be, src->pixels, src->width, src->height, src->channels,
                                   (size_t)(src->width * src->channels), dst->pixels,
                                   (size_t)(dst->width * dst->channels), &opt, &err);
        times[r] = now_s() - t0;
        cpu[r] = cpu_s() - c0;
    }
    /* the handler stays through the write, which is whole or not at all: Ctrl-C there leaves
     * the previous file (or none), never a truncated PNG */
    if (!st && a.out) st = cascade_image_write_png_cancel(a.out, dst, &g_cancel, &err);
    sigaction(SIGINT, &old, NULL);
    if (st == CASCADE_STATUS_CANCELLED) {
        fprintf(stderr, "\ncascade upscale: cancelled; nothing written\n");
        rc = 130;
        goto done;
    }
    if (st) goto fail;
    if (a.bench) {
        /* times[0] is the warm-up (includes planning); median of the rest */
        qsort(times + 1, (size_t)a.bench, sizeof *times, cmp_double);
        qsort(cpu + 1, (size_t)a.bench, sizeof *cpu, cmp_double);
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        cascade_memory_stats ms = {0};
        cascade_backend_memory_stats(be, &ms);
        printf(
            "{\"model\": \"%s\", \"architecture\": \"%s\", \"scale\": %lld, \"backend\": \"%s\", "
            "\"input\": [%lld, %lld], \"output\": [%lld, %lld], \"runs\": %ld, "
            "\"first_s\": %.4f, \"min_s\": %.4f, \"median_s\": %.4f, \"median_cpu_s\": %.4f, "
            "\"peak_rss_mib\": %.1f, \"planned_peak_mib\": %.1f}\n",
            a.model, cascade_upscaler_architecture(u), (long long)s, cascade_backend_name(be),
            (long long)src->width, (long long)src->height, (long long)dst->width,
            (long long)dst->height, a.bench, times[0], times[1], times[1 + a.bench / 2],
            cpu[1 + a.bench / 2], (double)ru.ru_maxrss / 1024.0,
            (double)ms.planned_peak_bytes / 1048576.0);
    } else if (!a.quiet) {
        fprintf(stderr, "%s: %lldx%lld -> %lldx%lld in %.3f s (%s)\n", a.out, (long long)src->width,
                (long long)src->height, (long long)dst->width, (long long)dst->height, times[0],
                cascade_backend_name(be));
    }
    rc = 0;
    goto done;
fail:
    rc = cli_fail("upscale", &err);
done:
    free(times);
    free(cpu);
    cascade_backend_free(be);
    cascade_image_free(dst);
    cascade_image_free(src);
    cascade_upscaler_free(u);
    return rc;
}
