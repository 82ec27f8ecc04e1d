/* cascade generate / cascade inpaint: a prompt through the cascade (stage I, then stage II
 * when a super-resolution model is loaded) to PNG files, with a progress bar on stderr and
 * Ctrl-C cancelling within one denoising step. */
#include <errno.h>
#include <getopt.h>
#include <glib.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend-choice.h"
#include "cascade.h"
#include "cascade/image-io.h"
#include "cascade/pipeline.h"
#include "model-paths.h"

static cascade_cancel g_cancel; /* raised by SIGINT: the one global the CLI needs */

static void on_sigint(int sig) {
    (void)sig;
    cascade_cancel_raise(&g_cancel);
}

typedef struct gen_opts {
    const char *model, *sr_model, *prompt, *negative, *output, *backend, *image, *mask;
    long        seed, steps1, steps2, batch, noise_level, threads;
    double      guidance1, guidance2;
    bool        no_sr, quiet, have_seed;
    bool        have_steps1, have_steps2, have_guidance1, have_guidance2, have_noise;
} gen_opts;

static void usage(FILE *f, bool inpaint) {
    fprintf(f,
            "usage: cascade %s [OPTIONS] [--prompt] TEXT -o OUT.png\n\n"
            "%s\n\n"
            "  -m, --model DIR        stage I model (IFPipeline layout; default: the shipped model)\n"
            "  -s, --sr-model DIR     stage II super-resolution model (IFSuperResolutionPipeline\n"
            "                         layout; default: the shipped model's stage2)\n"
            "      --no-sr            stop after stage I\n"
            "  -p, --prompt TEXT      what to draw\n"
            "  -n, --negative TEXT    what to avoid (the unconditional prompt)\n"
            "      --seed N           random seed (default: from the clock; printed)\n"
            "      --steps N          stage I denoising steps (default 50)\n"
            "      --guidance X       stage I classifier-free guidance (default 7)\n"
            "      --sr-steps N       stage II steps (default 25)\n"
            "      --sr-guidance X    stage II guidance (default 4)\n"
            "      --noise-level N    stage II noise augmentation, 0..999 (default 250)\n"
            "                         (a model's generation_defaults.json overrides these\n"
            "                         defaults; the shipped model recommends fewer steps)\n"
            "      --batch N          images per prompt (default 1); OUT-1.png, OUT-2.png, ...\n"
            "%s"
            "  -b, --backend NAME     cpu (default), vulkan, vulkan-fp16\n"
            "  -t, --threads N        CPU threads (default: all cores)\n"
            "  -q, --quiet            no progress bar\n"
            "  -o, --output FILE      the PNG to write (required)\n"
            "  -h, --help             this help\n\n"
            "Ctrl-C cancels within one denoising step and writes nothing.\n",
            inpaint ? "inpaint --image IN.png --mask MASK.png" : "generate",
            inpaint ? "Repaints the white part of MASK in IN from a prompt; the rest of IN is kept\n"
                      "exactly. The image is resized to the model's size for the diffusion and back."
                    : "Generates images from a text prompt with the cascaded diffusion model.",
            inpaint ? "      --image FILE       the PNG to repaint\n"
                      "      --mask FILE        PNG, white (or opaque) = repaint, black = keep\n"
                    : "");
}

static bool parse_long(const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0; /* strtol saturates out-of-range input at LONG_MAX: refused, not clamped */
    long  v = strtol(s, &end, 10);
    if (!*s || *end || errno == ERANGE || v < lo || v > hi) return false;
    *out = v;
    return true;
}

static bool parse_double(const char *s, double lo, double hi, double *out) {
    char  *end;
    double v = strtod(s, &end);
    if (!*s || *end || !(v >= lo && v <= hi)) return false;
    *out = v;
    return true;
}

typedef struct progress_state {
    bool   quiet;
    bool   tty;       /* redraw one line; otherwise print a line per quarter */
    double t0;
} progress_state;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void on_progress(void *ud, int stage, int step, int total, const float *x0,
                        const int64_t shape[4]) {
    (void)x0;
    progress_state *ps = ud;
    if (ps->quiet) return;
    if (!ps->tty) {
        if (step == total || (total >= 4 && step % (total / 4) == 0))
            fprintf(stderr, "stage %d %lldpx: step %d/%d %.1fs\n", stage, (long long)shape[3],
                    step, total, now_s() - ps->t0);
        return;
    }
    int width = 30, done = total > 0 ? step * width / total : width;
    fprintf(stderr, "\rstage %d %lldpx [", stage, (long long)shape[3]);
    for (int i = 0; i < width; i++) fputc(i < done ? '#' : '.', stderr);
    fprintf(stderr, "] %d/%d %.1fs", step, total, now_s() - ps->t0);
    if (step == total) fputc('\n', stderr);
    fflush(stderr);
}

/* (B, 3, H, W) in [-1, 1] -> 8-bit RGB, image b; RGBA when alpha (H * W bytes) is given. */
static cascade_status to_image(const float *x, const int64_t shape[4], int64_t b,
                               const uint8_t *alpha, cascade_image **out, cascade_error *err) {
    int64_t H = shape[2], W = shape[3];
    int32_t C = alpha ? 4 : 3;
    CASCADE_TRY(cascade_image_new(W, H, C, out, err));
    const float *p = x + b * 3 * H * W;
    for (int64_t c = 0; c < 3; c++)
        for (int64_t i = 0; i < H * W; i++) {
            float v = (p[c * H * W + i] + 1.0f) * 127.5f;
            v = v < 0 ? 0 : (v > 255 ? 255 : v);
            (*out)->pixels[i * C + c] = (uint8_t)lrintf(v);
        }
    for (int64_t i = 0; alpha && i < H * W; i++) (*out)->pixels[i * 4 + 3] = alpha[i];
    return CASCADE_STATUS_OK;
}

static char *numbered(const char *path, long i, long n) {
    if (n == 1) return g_strdup(path);
    const char *dot = strrchr(path, '.');
    if (!dot || strchr(dot, '/')) return g_strdup_printf("%s-%ld", path, i + 1);
    return g_strdup_printf("%.*s-%ld%s", (int)(dot - path), path, i + 1, dot);
}

/* Before any compute: every output the run will write can be written (named with the reason). */
static cascade_status check_outputs(const gen_opts *o, long batch, cascade_error *err) {
    for (long b = 0; b < batch; b++) {
        char          *path = numbered(o->output, b, batch);
        cascade_status st = cascade_image_check_output(path, err);
        g_free(path);
        if (st) return st;
    }
    return CASCADE_STATUS_OK;
}

static cascade_status write_results(const gen_opts *o, const float *img, const int64_t shape[4],
                                    const uint8_t *alpha, cascade_error *err) {
    for (int64_t b = 0; b < shape[0]; b++) {
        cascade_image *im = NULL;
        CASCADE_TRY(to_image(img, shape, b, alpha, &im, err));
        char          *path = numbered(o->output, (long)b, (long)shape[0]);
        /* whole or not at all, and Ctrl-C still cancels while it is written */
        cascade_status st = cascade_image_write_png_cancel(path, im, &g_cancel, err);
        if (!st) fprintf(stderr, "wrote %s (%lldx%lld, seed %ld)\n", path, (long long)shape[3],
                         (long long)shape[2], o->seed);
        g_free(path);
        cascade_image_free(im);
        if (st) return st;
    }
    return CASCADE_STATUS_OK;
}

/* Bilinear resize of planes (n, h, w) -> (n, oh, ow), align_corners false. */
static float *resize_planes(const float *x, int64_t n, int64_t h, int64_t w, int64_t oh,
                            int64_t ow) {
    float *y = malloc(sizeof *y * (size_t)(n * oh * ow));
    if (!y) return NULL;
    for (int64_t p = 0; p < n; p++)
        for (int64_t i = 0; i < oh; i++) {
            double fy = ((double)i + 0.5) * (double)h / (double)oh - 0.5;
            fy = fy < 0 ? 0 : fy;
            int64_t y0 = (int64_t)fy, y1 = y0 + 1 < h ? y0 + 1 : h - 1;
            double  ly = fy - (double)y0;
            for (int64_t j = 0; j < ow; j++) {
                double fx = ((double)j + 0.5) * (double)w / (double)ow - 0.5;
                fx = fx < 0 ? 0 : fx;
                int64_t x0 = (int64_t)fx, x1 = x0 + 1 < w ? x0 + 1 : w - 1;
                double  lx = fx - (double)x0;
                const float *s = x + p * h * w;
                double top = s[y0 * w + x0] * (1 - lx) + s[y0 * w + x1] * lx;
                double bot = s[y1 * w + x0] * (1 - lx) + s[y1 * w + x1] * lx;
                y[(p * oh + i) * ow + j] = (float)(top * (1 - ly) + bot * ly);
            }
        }
    return y;
}

/* Inpaints at the model's size, then composites at the input's size through the input's mask,
 * so unmasked pixels are exactly the input's. */
static cascade_status run_inpaint(cascade_pipeline *p, const gen_opts *o,
                                  cascade_generate_params *g, cascade_error *err) {
    cascade_image *im = NULL, *mk = NULL;
    float *x = NULL, *m = NULL, *xs = NULL, *ms = NULL, *res = NULL, *up = NULL, *comp = NULL;
    uint8_t       *alpha = NULL;
    cascade_status st;
    if ((st = cascade_image_read_png(o->image, &im, err)) ||
        (st = cascade_image_read_png(o->mask, &mk, err)))
        goto done;
    if (im->width != mk->width || im->height != mk->height) {
        st = cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                               "%s is %lldx%lld but %s is %lldx%lld: they must match", o->mask,
                               (long long)mk->width, (long long)mk->height, o->image,
                               (long long)im->width, (long long)im->height);
        goto done;
    }
    int64_t H = im->height, W = im->width, HW = H * W, mh = 0, mw = 0;
    cascade_pipeline_image_size(p, g->stage2, &mh, &mw);
    x = malloc(sizeof *x * (size_t)(3 * HW));
    m = malloc(sizeof *m * (size_t)HW);
    if (!x || !m) goto oom;
    bool any = false;
    for (int64_t i = 0; i < HW; i++) {
        for (int c = 0; c < 3; c++) x[c * HW + i] = im->pixels[i * im->channels + c] / 127.5f - 1.0f;
        /* the mask's luminance, times its alpha when it has one */
        const uint8_t *q = mk->pixels + i * mk->channels;
        float v = (0.299f * q[0] + 0.587f * q[1] + 0.114f * q[2]) / 255.0f;
        if (mk->channels == 4) v *= q[3] / 255.0f;
        m[i] = v;
        any |= v > 0;
    }
    if (!any) {
        st = cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                               "%s is black everywhere: nothing to inpaint", o->mask);
        goto done;
    }
    xs = resize_planes(x, 3, H, W, mh, mw);
    ms = resize_planes(m, 1, H, W, mh, mw);
    if (!xs || !ms) goto oom;
    int64_t shape[4];
    if ((st = cascade_pipeline_inpaint(p, g, xs, ms, mh, mw, &res, shape, err))) goto done;
    up = resize_planes(res, shape[0] * 3, shape[2], shape[3], H, W);
    comp = malloc(sizeof *comp * (size_t)(shape[0] * 3 * HW));
    if (!up || !comp) goto oom;
    for (int64_t b = 0; b < shape[0]; b++)
        for (int64_t c = 0; c < 3; c++)
            for (int64_t i = 0; i < HW; i++) {
                float a = m[i];
                comp[(b * 3 + c) * HW + i] = a * up[(b * 3 + c) * HW + i] + (1 - a) * x[c * HW + i];
            }
    /* an RGBA input stays RGBA: alpha blended like the colours, so it is untouched where the
     * mask is 0 and the generated pixels are opaque where it is 1 */
    if (im->channels == 4) {
        alpha = malloc((size_t)HW);
        if (!alpha) goto oom;
        for (int64_t i = 0; i < HW; i++)
            alpha[i] = (uint8_t)lrintf(m[i] * 255.0f + (1 - m[i]) * im->pixels[i * 4 + 3]);
    }
    int64_t out_shape[4] = {shape[0], 3, H, W};
    st = write_results(o, comp, out_shape, alpha, err);
    goto done;
oom:
    st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "out of memory");
done:
    free(x), free(m), free(xs), free(ms), free(res), free(up), free(comp), free(alpha);
    cascade_image_free(im);
    cascade_image_free(mk);
    return st;
}

static int run(int argc, char **argv, bool inpaint) {
    const char *cmd = inpaint ? "inpaint" : "generate";
    enum { O_SEED = 256, O_STEPS, O_GUIDANCE, O_SR_STEPS, O_SR_GUIDANCE, O_NOISE, O_BATCH,
           O_NO_SR, O_IMAGE, O_MASK };
    static const struct option opts[] = {
        {"model", required_argument, NULL, 'm'},       {"sr-model", required_argument, NULL, 's'},
        {"prompt", required_argument, NULL, 'p'},      {"negative", required_argument, NULL, 'n'},
        {"output", required_argument, NULL, 'o'},      {"backend", required_argument, NULL, 'b'},
        {"threads", required_argument, NULL, 't'},     {"quiet", no_argument, NULL, 'q'},
        {"seed", required_argument, NULL, O_SEED},     {"steps", required_argument, NULL, O_STEPS},
        {"guidance", required_argument, NULL, O_GUIDANCE},
        {"sr-steps", required_argument, NULL, O_SR_STEPS},
        {"sr-guidance", required_argument, NULL, O_SR_GUIDANCE},
        {"noise-level", required_argument, NULL, O_NOISE},
        {"batch", required_argument, NULL, O_BATCH},   {"no-sr", no_argument, NULL, O_NO_SR},
        {"image", required_argument, NULL, O_IMAGE},   {"mask", required_argument, NULL, O_MASK},
        {"help", no_argument, NULL, 'h'},              {0}};
    gen_opts o = {.backend = "cpu", .steps1 = 50, .steps2 = 25, .batch = 1, .noise_level = 250,
                  .guidance1 = 7.0, .guidance2 = 4.0};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:s:p:n:o:b:t:qh", opts, NULL)) != -1) {
        bool ok = true;
        switch (c) {
        case 'm': o.model = optarg; break;
        case 's': o.sr_model = optarg; break;
        case 'p': o.prompt = optarg; break;
        case 'n': o.negative = optarg; break;
        case 'o': o.output = optarg; break;
        case 'b': o.backend = optarg; break;
        case 'q': o.quiet = true; break;
        case 't': ok = parse_long(optarg, 0, 1024, &o.threads); break;
        case O_SEED: ok = parse_long(optarg, 0, LONG_MAX, &o.seed); o.have_seed = true; break;
        case O_STEPS: ok = parse_long(optarg, 1, 1000, &o.steps1); o.have_steps1 = true; break;
        case O_SR_STEPS: ok = parse_long(optarg, 1, 1000, &o.steps2); o.have_steps2 = true; break;
        case O_GUIDANCE:
            ok = parse_double(optarg, 0, 100, &o.guidance1);
            o.have_guidance1 = true;
            break;
        case O_SR_GUIDANCE:
            ok = parse_double(optarg, 0, 100, &o.guidance2);
            o.have_guidance2 = true;
            break;
        case O_NOISE: ok = parse_long(optarg, 0, 999, &o.noise_level); o.have_noise = true; break;
        case O_BATCH: ok = parse_long(optarg, 1, 64, &o.batch); break;
        case O_NO_SR: o.no_sr = true; break;
        case O_IMAGE: o.image = optarg; break;
        case O_MASK: o.mask = optarg; break;
        case 'h': usage(stdout, inpaint); return 0;
        default: usage(stderr, inpaint); return 2;
        }
        if (!ok) {
            const char *name = "?";
            for (size_t k = 0; k < sizeof opts / sizeof *opts && opts[k].name; k++)
                if (opts[k].val == c) name = opts[k].name;
            return cli_failf(cmd, "--%s: value '%s' is out of range or not a number (see --help)",
                             name, optarg);
        }
    }
    if (!o.prompt && optind == argc - 1) o.prompt = argv[optind++];
    if (!o.prompt || !o.output || optind != argc || (inpaint && (!o.image || !o.mask))) {
        usage(stderr, inpaint);
        return 2;
    }
    if (!o.have_seed) o.seed = (long)(time(NULL) % 1000000);

    char *model = cli_model_dir(o.model);
    if (!model) return cli_failf(cmd, "no --model given and no default model is installed");
    char *sr = o.no_sr ? NULL : cli_sr_model_dir(o.sr_model, o.model);

    cascade_error            err;
    cascade_backend         *be = NULL;
    cascade_pipeline        *p = NULL;
    cascade_pipeline_options po;
    int                      rc = 0;
    cascade_error_init(&err);
    cascade_cancel_init(&g_cancel);
    cascade_pipeline_options_init(&po);
    po.model_dir = model;
    po.sr_model_dir = sr;
    /* options not given take the model's recommendations (generation_defaults.json) */
    cli_stage_defaults d1 = {o.steps1, o.guidance1, o.noise_level};
    cli_stage_defaults d2 = {o.steps2, o.guidance2, o.noise_level};
    if (cli_stage_defaults_load(model, &d1, &err) || (sr && cli_stage_defaults_load(sr, &d2, &err))) {
        rc = cli_fail(cmd, &err);
        goto done;
    }
    if (!o.have_steps1) o.steps1 = d1.steps;
    if (!o.have_guidance1) o.guidance1 = d1.guidance;
    if (!o.have_steps2) o.steps2 = d2.steps;
    if (!o.have_guidance2) o.guidance2 = d2.guidance;
    if (!o.have_noise) o.noise_level = d2.noise_level;
    if (check_outputs(&o, o.batch, &err) ||
        cli_backend_new(o.backend, (int)o.threads, &be, &err)) {
        rc = cli_fail(cmd, &err);
        goto done;
    }
    po.backend = be;
    if (cascade_pipeline_load(&po, &p, &err)) {
        rc = cli_fail(cmd, &err);
        goto done;
    }
    progress_state ps = {o.quiet, isatty(STDERR_FILENO) != 0, now_s()};
    cascade_generate_params g;
    cascade_generate_params_init(&g);
    g.prompt = o.prompt;
    g.negative_prompt = o.negative;
    g.seed = (uint64_t)o.seed;
    g.batch = o.batch;
    g.steps1 = o.steps1;
    g.steps2 = o.steps2;
    g.guidance1 = o.guidance1;
    g.guidance2 = o.guidance2;
    g.stage2 = sr != NULL;
    g.noise_level = o.noise_level;
    g.progress = on_progress;
    g.user_data = &ps;
    g.cancel = &g_cancel;
    struct sigaction sa = {0}, old;
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, &old);
    cascade_status st;
    if (inpaint) {
        st = run_inpaint(p, &o, &g, &err);
    } else {
        float  *img = NULL;
        int64_t shape[4];
        st = cascade_pipeline_generate(p, &g, &img, shape, &err);
        if (!st) st = write_results(&o, img, shape, NULL, &err);
        free(img);
    }
    sigaction(SIGINT, &old, NULL);
    if (st == CASCADE_STATUS_CANCELLED) {
        fprintf(stderr, "\ncascade %s: cancelled; nothing written\n", cmd);
        rc = 130;
    } else if (st) {
        rc = cli_fail(cmd, &err);
    }
done:
    cascade_pipeline_free(p);
    cascade_backend_free(be);
    free(model);
    free(sr);
    return rc;
}

int cmd_generate(int argc, char **argv) { return run(argc, argv, false); }
int cmd_inpaint(int argc, char **argv) { return run(argc, argv, true); }
