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

#include "cascade/session.h"
#include "cascade.h"
#include "cmd-sd.h"
#include "cascade/backend.h"
#include "cascade/image-io.h"
#include "cascade/png-stream.h"
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
            "  --memory MIB     memory budget for one tile's activations and the bands of\n"
            "                   image rows in flight (default: half the device memory the\n"
            "                   backend reports, else 1024); the image itself is streamed\n"
            "                   from IN.png and into OUT.png row by row, never held whole\n"
            "  --backend NAME   cpu (default), auto, vulkan, vulkan-fp16, vulkan-int8\n"
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

/* The streamed run's source and sink: the input PNG's rows, the output PNG's rows. */
typedef struct png_io {
    cascade_png_reader *in;
    cascade_png_writer *out;
} png_io;

static cascade_status read_rows(void *io, uint8_t *rows, size_t stride, int64_t n,
                                cascade_error *err) {
    return cascade_png_reader_read_rows(((png_io *)io)->in, rows, stride, n, err);
}

static cascade_status write_rows(void *io, const uint8_t *rows, size_t stride, int64_t n,
                                 cascade_error *err) {
    return cascade_png_writer_write_rows(((png_io *)io)->out, rows, stride, n, &g_cancel, err);
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

static void set_options(const up_args *a, cascade_upscale_options *opt) {
    cascade_upscale_options_init(opt);
    opt->tile = (int32_t)a->tile;
    opt->context = (int32_t)a->context;
    opt->feather = (int32_t)a->feather;
    opt->memory_budget = (uint64_t)a->memory << 20;
    opt->cancel = &g_cancel;
    if (!a->quiet && !a->bench) opt->progress = progress;
}

/* The run itself: IN.png's rows stream through the tiles into OUT.png, which replaces the
 * previous file only when complete (Ctrl-C, a failure or a full disk keep it). */
static cascade_status upscale_file(const up_args *a, cascade_session *ses,
                                   const cascade_upscaler *u, cascade_error *err) {
    const int64_t    s = cascade_upscaler_scale(u);
    png_io           io = {0};
    CASCADE_TRY(cascade_png_reader_open(a->in, cascade_image_max_pixels(), &io.in, err));
    const int64_t  w = cascade_png_reader_width(io.in), h = cascade_png_reader_height(io.in);
    const int32_t  ch = cascade_png_reader_channels(io.in);
    /* the output file is created before the compute: a bad path fails at once, with its reason */
    cascade_status st = cascade_png_writer_open(a->out, w * s, h * s, ch, &io.out, err);
    cascade_upscale_options opt;
    set_options(a, &opt);
    double t0 = now_s();
    struct sigaction sa = {0}, old;
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, &old);
    if (st == CASCADE_STATUS_OK)
        st = cascade_session_upscale_stream(ses, u, w, h, ch, read_rows, write_rows, &io, &opt,
                                            err);
    if (st == CASCADE_STATUS_OK && cascade_cancel_is_raised(&g_cancel))
        st = cascade_error_set(err, CASCADE_STATUS_CANCELLED, "cancelled");
    /* the handler stays through the commit: Ctrl-C there keeps the previous file */
    if (st == CASCADE_STATUS_OK) {
        st = cascade_png_writer_commit(io.out, err);
    } else {
        cascade_png_writer_abort(io.out);
    }
    sigaction(SIGINT, &old, NULL);
    if (st == CASCADE_STATUS_OK && !a->quiet)
        fprintf(stderr, "%s: %lldx%lld -> %lldx%lld in %.3f s (%s)\n", a->out, (long long)w,
                (long long)h, (long long)(w * s), (long long)(h * s), now_s() - t0,
                cascade_backend_name(cascade_session_backend(ses)));
    cascade_png_reader_free(io.in);
    return st;
}

/* --bench N: the image in memory, N timed runs after a warm-up, JSON on stdout. */
static cascade_status upscale_bench(const up_args *a, cascade_session *ses,
                                    const cascade_upscaler *u, cascade_error *err) {
    cascade_image   *src = NULL, *dst = NULL;
    cascade_backend *be = cascade_session_backend(ses);
    const int64_t    s = cascade_upscaler_scale(u);
    const long       runs = a->bench + 1;
    double          *times = calloc((size_t)runs, sizeof *times);
    double          *cpu = calloc((size_t)runs, sizeof *cpu);
    cascade_status   st = times && cpu ? CASCADE_STATUS_OK
                                       : cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY,
                                                           "out of memory");
    if (st == CASCADE_STATUS_OK) st = cascade_image_read_png(a->in, &src, err);
    if (st == CASCADE_STATUS_OK)
        st = cascade_image_new(src->width * s, src->height * s, src->channels, &dst, err);
    cascade_upscale_options opt;
    set_options(a, &opt);
    for (long r = 0; r < runs && st == CASCADE_STATUS_OK; r++) { /* the first plans, the rest reuse */
        double t0 = now_s(), c0 = cpu_s();
        st = cascade_session_upscale_image(ses, u, src->pixels, src->width, src->height, src->channels,
                                   (size_t)(src->width * src->channels), dst->pixels,
                                   (size_t)(dst->width * dst->channels), &opt, err);
        times[r] = now_s() - t0;
        cpu[r] = cpu_s() - c0;
    }
    if (st == CASCADE_STATUS_OK) {
        /* times[0] is the warm-up (includes planning); median of the rest */
        qsort(times + 1, (size_t)a->bench, sizeof *times, cmp_double);
        qsort(cpu + 1, (size_t)a->bench, sizeof *cpu, cmp_double);
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        cascade_memory_stats ms = {0};
        cascade_backend_memory_stats(be, &ms);
        printf(
            "{\"model\": \"%s\", \"architecture\": \"%s\", \"scale\": %lld, \"backend\": \"%s\", "
            "\"input\": [%lld, %lld], \"output\": [%lld, %lld], \"runs\": %ld, "
            "\"first_s\": %.4f, \"min_s\": %.4f, \"median_s\": %.4f, \"median_cpu_s\": %.4f, "
            "\"peak_rss_mib\": %.1f, \"planned_peak_mib\": %.1f}\n",
            a->model, cascade_upscaler_architecture(u), (long long)s, cascade_backend_name(be),
            (long long)src->width, (long long)src->height, (long long)dst->width,
            (long long)dst->height, a->bench, times[0], times[1], times[1 + a->bench / 2],
            cpu[1 + a->bench / 2], (double)ru.ru_maxrss / 1024.0,
            (double)ms.planned_peak_bytes / 1048576.0);
    }
    free(times);
    free(cpu);
    cascade_image_free(dst);
    cascade_image_free(src);
    return st;
}

int cmd_upscale(int argc, char **argv) {
    if (cli_args_name_sd_model(argc, argv)) return cli_sd_main("upscale", argc, argv);
    up_args a;
    bool    done;
    int     rc = parse_args(argc, argv, &a, &done);
    if (rc || done) return rc;

    cascade_error     err;
    cascade_session  *ses = NULL;
    cascade_upscaler *u = NULL; /* the session's */
    cascade_error_init(&err);
    if (cascade_session_new(a.backend, (int)a.threads, &ses, &err) ||
        cascade_session_upscaler(ses, a.model, &u, &err)) {
        cascade_session_free(ses);
        return cli_fail("upscale", &err);
    }
    if (a.scale && a.scale != cascade_upscaler_scale(u)) {
        rc = cli_failf("upscale", "--scale %ld: the model in %s is x%d", a.scale, a.model,
                       cascade_upscaler_scale(u));
        cascade_session_free(ses);
        return rc;
    }
    cascade_status st =
        a.bench ? upscale_bench(&a, ses, u, &err) : upscale_file(&a, ses, u, &err);
    cascade_session_free(ses);
    if (st == CASCADE_STATUS_CANCELLED) {
        fprintf(stderr, "\ncascade upscale: cancelled; nothing written\n");
        return 130;
    }
    return st == CASCADE_STATUS_OK ? 0 : cli_fail("upscale", &err);
}
