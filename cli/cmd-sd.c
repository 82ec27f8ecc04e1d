/* cascade generate / inpaint / img2img / upscale on a Stable Diffusion folder (diffusers
 * layout: StableDiffusion{,Img2Img,Inpaint,Upscale}Pipeline, recognised by model_index.json).
 * The commands hand over here when --model names such a folder. */
#include <getopt.h>
#include <glib.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cascade/session.h"
#include "cascade.h"
#include "cascade/sd-pipeline.h"
#include "cli-images.h"
#include "cmd-sd.h"

static cascade_cancel g_cancel; /* raised by SIGINT */

static void on_sigint(int sig) {
    (void)sig;
    cascade_cancel_raise(&g_cancel);
}

typedef struct sd_opts {
    const char *model, *prompt, *negative, *output, *backend, *image, *mask, *aspect;
    long        seed, steps, batch, width, height, noise_level, clip_skip, tile, threads;
    long        feather; /* inpaint: -1 automatic */
    double      guidance, strength, eta;
    bool        quiet, have_seed, no_colour_match;
} sd_opts;

static void usage(FILE *f, const char *cmd) {
    bool up = !strcmp(cmd, "upscale"), inp = !strcmp(cmd, "inpaint"),
         i2i = !strcmp(cmd, "img2img");
    fprintf(f,
            "usage: cascade %s --model SD-DIR [OPTIONS] %s[--prompt] TEXT -o OUT.png\n\n"
            "%s\n\n"
            "  -m, --model DIR        a Stable Diffusion folder in the diffusers layout\n"
            "  -p, --prompt TEXT      what to draw\n"
            "  -n, --negative TEXT    what to avoid\n"
            "      --seed N           random seed (default: from the clock; printed)\n"
            "      --steps N          denoising steps (default 50; the upscaler 75)\n"
            "      --guidance X       classifier-free guidance (default 7.5; the upscaler 9)\n"
            "      --eta X            DDIM's eta (default 0)\n"
            "      --clip-skip N      take the prompt from N layers before the text encoder's last\n"
            "      --batch N          images per prompt (default 1); OUT-1.png, OUT-2.png, ...\n"
            "%s"
            "  -b, --backend NAME     cpu (default), vulkan, vulkan-fp16\n"
            "  -t, --threads N        CPU threads (default: all cores)\n"
            "  -q, --quiet            no progress bar\n"
            "  -o, --output FILE      the PNG to write (required)\n"
            "  -h, --help             this help\n\n"
            "Ctrl-C cancels within one denoising step and writes nothing.\n",
            cmd, up ? "IN.png " : (inp || i2i) ? "--image IN.png " : "",
            up    ? "Enlarges IN.png 4x with a diffusion upscaler (StableDiffusionUpscalePipeline,\n"
                    "DeepFloyd IF's stage III), in overlapping tiles so any size fits."
            : inp ? "Repaints the white part of MASK in IN; the rest of IN is kept exactly."
            : i2i ? "Makes variations of IN: strength 0 keeps it, 1 ignores it."
                  : "Generates images from a text prompt with a Stable Diffusion model.",
            up ? "      --noise-level N    noise added to IN before upscaling (default 20)\n"
                 "      --tile N           low-res tile edge in pixels (default 128)\n"
            : inp ? "      --image FILE       the PNG to repaint\n"
                    "      --mask FILE        PNG, white = repaint, black = keep\n"
                    "      --feather N        fade the repainted area in over N pixels inside\n"
                    "                         the mask's edge (default: 2 % of the image)\n"
                    "      --no-colour-match  keep the model's colours (by default its drift,\n"
                    "                         measured just outside the mask, is removed)\n"
                    "      --strength X       0..1 (default 1)\n"
            : i2i ? "      --image FILE       the PNG to vary\n"
                    "      --strength X       0..1 (default 0.8)\n"
                  : "      --width N, --height N  image size (default: the model's)\n"
                    "      --aspect W:H       or this shape (e.g. 16:9) at about the model's pixel count\n");
}

/* Runs an image task at the model's size multiple: the input is resized to the nearest
 * multiple for the run and the result back to the input's size (x4 for the upscaler). */
static cascade_status run_image_task(cascade_sd_pipeline *p, const char *cmd, const sd_opts *o,
                                     const cascade_sd_params *g, float **res, int64_t shape[4],
                                     uint8_t **alpha_out, cascade_error *err) {
    float         *x = NULL, *m = NULL, *xs = NULL, *ms = NULL, *r = NULL;
    int64_t        h = 0, w = 0;
    uint8_t       *alpha = NULL;
    cascade_status st = cli_read_rgb(o->image, &x, &alpha, &h, &w, err);
    if (!st && o->mask) st = cli_read_mask(o->mask, h, w, &m, err);
    bool any = !m;
    for (int64_t i = 0; m && i < h * w; i++)
        any |= m[i] >= 0.5f; /* the pipelines repaint where the mask is at least 0.5 */
    if (!st && !any)
        st = cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                               "%s has no white pixel: nothing to repaint", o->mask);
    if (st) goto done;
    if (!strcmp(cmd, "upscale")) {
        st = cascade_sd_pipeline_upscale(p, g, x, h, w, res, shape, err);
        if (!st && alpha) { /* alpha enlarged bilinearly, as the GAN upscaler does */
            float *af = malloc(sizeof *af * (size_t)(h * w)), *big = NULL;
            uint8_t *a2 = malloc((size_t)(shape[2] * shape[3]));
            for (int64_t i = 0; af && i < h * w; i++)
                af[i] = alpha[i];
            if (af) big = cli_resize_planes(af, 1, h, w, shape[2], shape[3]);
            if (!big || !a2) {
                free(a2);
                st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "out of memory");
            } else {
                for (int64_t i = 0; i < shape[2] * shape[3]; i++)
                    a2[i] = (uint8_t)(big[i] < 0 ? 0 : big[i] > 255 ? 255 : big[i] + 0.5f);
                *alpha_out = a2;
            }
            free(af);
            free(big);
        }
        goto done;
    }
    int64_t k = cascade_sd_pipeline_size_multiple(p);
    int64_t rh = (h + k / 2) / k * k, rw = (w + k / 2) / k * k;
    rh = rh < k ? k : rh;
    rw = rw < k ? k : rw;
    xs = cli_resize_planes(x, 3, h, w, rh, rw);
    ms = m ? cli_resize_planes(m, 1, h, w, rh, rw) : NULL;
    if (!xs || (m && !ms)) {
        st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    int64_t s[4];
    st = m ? cascade_sd_pipeline_inpaint(p, g, xs, ms, rh, rw, &r, s, err)
           : cascade_sd_pipeline_img2img(p, g, xs, rh, rw, &r, s, err);
    if (st) goto done;
    float *back = cli_resize_planes(r, s[0] * 3, rh, rw, h, w);
    if (!back) {
        st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    if (m && alpha) /* alpha kept outside the mask, opaque where repainted */
        for (int64_t i = 0; i < h * w; i++)
            alpha[i] = (uint8_t)lrintf(m[i] > 0 ? 255.0f * m[i] + (1 - m[i]) * alpha[i] : alpha[i]);
    /* blended in as every front end does; outside the mask the input exactly */
    if (m && (st = cli_blend_inpainted(x, m, s[0], h, w, o->feather, !o->no_colour_match,
                                       o->quiet, back, err))) {
        free(back);
        goto done;
    }
    shape[0] = s[0], shape[1] = 3, shape[2] = h, shape[3] = w;
    *res = back;
    *alpha_out = alpha; /* an RGBA input stays RGBA */
    alpha = NULL;
done:
    free(alpha);
    free(x), free(m), free(xs), free(ms), free(r);
    return st;
}

int cli_sd_main(const char *cmd, int argc, char **argv) {
    enum { O_SEED = 256, O_STEPS, O_GUIDANCE, O_BATCH, O_WIDTH, O_HEIGHT, O_STRENGTH, O_IMAGE,
           O_MASK, O_NOISE, O_CLIP_SKIP, O_TILE, O_ETA, O_ASPECT, O_FEATHER, O_NO_COLOUR };
    static const struct option opts[] = {
        {"model", required_argument, NULL, 'm'},     {"prompt", required_argument, NULL, 'p'},
        {"negative", required_argument, NULL, 'n'},  {"output", required_argument, NULL, 'o'},
        {"backend", required_argument, NULL, 'b'},   {"threads", required_argument, NULL, 't'},
        {"quiet", no_argument, NULL, 'q'},           {"seed", required_argument, NULL, O_SEED},
        {"steps", required_argument, NULL, O_STEPS}, {"guidance", required_argument, NULL, O_GUIDANCE},
        {"batch", required_argument, NULL, O_BATCH}, {"width", required_argument, NULL, O_WIDTH},
        {"height", required_argument, NULL, O_HEIGHT},
        {"strength", required_argument, NULL, O_STRENGTH},
        {"image", required_argument, NULL, O_IMAGE}, {"mask", required_argument, NULL, O_MASK},
        {"noise-level", required_argument, NULL, O_NOISE},
        {"clip-skip", required_argument, NULL, O_CLIP_SKIP},
        {"tile", required_argument, NULL, O_TILE},   {"eta", required_argument, NULL, O_ETA},
        {"aspect", required_argument, NULL, O_ASPECT},
        {"feather", required_argument, NULL, O_FEATHER},
        {"no-colour-match", no_argument, NULL, O_NO_COLOUR},
        {"help", no_argument, NULL, 'h'},            {0}};
    sd_opts o = {.backend = "cpu", .batch = 1, .guidance = -1, .strength = -1,
                 .noise_level = -1, .feather = -1};
    int     c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:p:n:o:b:t:qh", opts, NULL)) != -1) {
        bool ok = true;
        switch (c) {
        case 'm': o.model = optarg; break;
        case 'p': o.prompt = optarg; break;
        case 'n': o.negative = optarg; break;
        case 'o': o.output = optarg; break;
        case 'b': o.backend = optarg; break;
        case 'q': o.quiet = true; break;
        case 't': ok = cli_parse_long(optarg, 0, 1024, &o.threads); break;
        case O_SEED: ok = cli_parse_long(optarg, 0, LONG_MAX, &o.seed), o.have_seed = true; break;
        case O_STEPS: ok = cli_parse_long(optarg, 1, 1000, &o.steps); break;
        case O_GUIDANCE: ok = cli_parse_double(optarg, 0, 100, &o.guidance); break;
        case O_BATCH: ok = cli_parse_long(optarg, 1, 64, &o.batch); break;
        case O_WIDTH: ok = cli_parse_long(optarg, 8, 16384, &o.width); break;
        case O_HEIGHT: ok = cli_parse_long(optarg, 8, 16384, &o.height); break;
        case O_STRENGTH: ok = cli_parse_double(optarg, 0.001, 1, &o.strength); break;
        case O_IMAGE: o.image = optarg; break;
        case O_MASK: o.mask = optarg; break;
        case O_NOISE: ok = cli_parse_long(optarg, 0, 999, &o.noise_level); break;
        case O_CLIP_SKIP: ok = cli_parse_long(optarg, 0, 64, &o.clip_skip); break;
        case O_TILE: ok = cli_parse_long(optarg, 16, 4096, &o.tile); break;
        case O_ETA: ok = cli_parse_double(optarg, 0, 1, &o.eta); break;
        case O_ASPECT: o.aspect = optarg; break;
        case O_FEATHER: ok = cli_parse_long(optarg, 0, 4096, &o.feather); break;
        case O_NO_COLOUR: o.no_colour_match = true; break;
        case 'h': usage(stdout, cmd); return 0;
        default: usage(stderr, cmd); return 2;
        }
        if (!ok)
            return cli_failf(cmd, "value '%s' is out of range or not a number (see --help)",
                             optarg);
    }
    bool up = !strcmp(cmd, "upscale");
    if (up && !o.image && optind < argc) o.image = argv[optind++];
    if (!o.prompt && optind == argc - 1) o.prompt = argv[optind++];
    bool needs_image = up || !strcmp(cmd, "inpaint") || !strcmp(cmd, "img2img");
    if (!o.model || !o.prompt || !o.output || optind != argc || (needs_image && !o.image) ||
        (!strcmp(cmd, "inpaint") && !o.mask)) {
        usage(stderr, cmd);
        return 2;
    }
    if (o.aspect && (o.width || o.height || needs_image))
        return cli_failf(cmd, "--aspect sets the size of a new image: not with --width/--height "
                              "or an input image");
    if (!o.have_seed) o.seed = (long)(time(NULL) % 1000000);

    cascade_error        err;
    cascade_session     *ses = NULL;
    cascade_sd_pipeline *p = NULL; /* the session's */
    float               *img = NULL;
    int                  rc = 0;
    cascade_error_init(&err);
    cascade_cancel_init(&g_cancel);
    int64_t ah = o.height, aw = o.width; /* --aspect: the model's pixel count in that shape */
    if (cli_check_outputs(o.output, o.batch, &err) ||
        cascade_session_new(o.backend, (int)o.threads, &ses, &err) ||
        cascade_session_sd(ses, 0, o.model, &p, &err) ||
        (o.aspect && cascade_sd_pipeline_aspect_size(p, o.aspect, &ah, &aw, &err))) {
        rc = cli_fail(cmd, &err);
        goto done;
    }
    o.height = (long)ah;
    o.width = (long)aw;
    int64_t n_tokens = 0, max_tokens = 0;
    if (cascade_sd_pipeline_prompt_tokens(p, o.prompt, &n_tokens, &max_tokens, &err)) {
        rc = cli_fail(cmd, &err);
        goto done;
    }
    cli_warn_prompt_cut(cmd, n_tokens, max_tokens);
    cli_progress_state ps = {o.quiet, isatty(STDERR_FILENO) != 0, cli_now_s()};
    cascade_sd_params  g;
    cascade_sd_params_init(&g);
    g.prompt = o.prompt;
    g.negative_prompt = o.negative;
    g.seed = (uint64_t)o.seed;
    g.seed_per_item = true; /* each file reproducible from the seed printed for it */
    g.batch = o.batch;
    g.steps = o.steps;
    g.guidance = o.guidance;
    g.eta = o.eta;
    g.strength = o.strength;
    g.noise_level = o.noise_level;
    g.clip_skip = o.clip_skip;
    g.width = o.width;
    g.height = o.height;
    g.tile = o.tile;
    g.progress = cli_on_progress;
    g.user_data = &ps;
    g.cancel = &g_cancel;
    struct sigaction sa = {0}, old;
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, &old);
    int64_t        shape[4];
    uint8_t       *alpha = NULL;
    cascade_status st = needs_image ? run_image_task(p, cmd, &o, &g, &img, shape, &alpha, &err)
                                    : cascade_sd_pipeline_generate(p, &g, &img, shape, &err);
    if (!st) st = cli_write_images(o.output, o.seed, img, shape, alpha, &g_cancel, &err);
    free(alpha);
    sigaction(SIGINT, &old, NULL);
    if (st == CASCADE_STATUS_CANCELLED) {
        fprintf(stderr, "\ncascade %s: cancelled; nothing written\n", cmd);
        rc = 130;
    } else if (st) {
        rc = cli_fail(cmd, &err);
    }
done:
    free(img);
    cascade_session_free(ses);
    return rc;
}

bool cli_args_name_sd_model(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        if ((!strcmp(argv[i], "-m") || !strcmp(argv[i], "--model")) && i + 1 < argc)
            v = argv[i + 1];
        else if (!strncmp(argv[i], "--model=", 8))
            v = argv[i] + 8;
        if (v) return cascade_sd_pipeline_is_dir(v);
    }
    return false;
}
