/* cascade generate / cascade inpaint: a prompt through the cascade (stage I, then stage II
 * when a super-resolution model is loaded) to PNG files, with a progress bar on stderr and
 * Ctrl-C cancelling within one denoising step. */
#include <getopt.h>
#include <glib.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cascade/model-search.h"
#include "cascade/session.h"
#include "cascade.h"
#include "cascade/generation-defaults.h"
#include "cascade/image-io.h"
#include "cascade/model-prompts.h"
#include "cascade/pipeline.h"
#include "cascade/sd-pipeline.h"
#include "cli-images.h"
#include "cmd-sd.h"
#include "model-paths.h"

static cascade_cancel g_cancel; /* raised by SIGINT: the one global the CLI needs */

static void on_sigint(int sig) {
    (void)sig;
    cascade_cancel_raise(&g_cancel);
}

typedef struct gen_opts {
    const char *model, *sr_model, *prompt, *negative, *output, *backend, *image, *mask, *stage3,
        *aspect;
    long        seed, steps1, steps2, batch, noise_level, threads, steps3, noise3, width, height;
    long        feather; /* inpaint: -1 automatic */
    double      guidance1, guidance2, strength;
    bool        no_sr, quiet, have_seed, list_prompts, no_colour_match;
    bool        have_steps1, have_steps2, have_guidance1, have_guidance2, have_noise;
} gen_opts;

static void usage(FILE *f, const char *cmd) {
    bool inpaint = !strcmp(cmd, "inpaint"), img2img = !strcmp(cmd, "img2img");
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
            "      --width N, --height N  generate: the image's size (default: the model's\n"
            "                         square; multiples of stage II's factor x 2^levels)\n"
            "      --aspect W:H       generate: or this shape (e.g. 16:9) at about the model's\n"
            "                         pixel count (same time and memory as its square)\n"
            "      --stage3 DIR       then enlarge 4x with this x4 diffusion upscaler\n"
            "                         (StableDiffusionUpscalePipeline: IF's stage III)\n"
            "      --stage3-steps N   its steps (default 75); --stage3-noise-level N (default 100)\n"
            "%s"
            "  -b, --backend NAME     cpu (default), vulkan, vulkan-fp16\n"
            "  -t, --threads N        CPU threads (default: all cores)\n"
            "  -q, --quiet            no progress bar\n"
            "      --list-prompts     print what the model was trained to draw (its prompts.json:\n"
            "                         styles, subjects, prompts) and exit\n"
            "  -o, --output FILE      the PNG to write (required)\n"
            "  -h, --help             this help\n\n"
            "Ctrl-C cancels within one denoising step and writes nothing.\n",
            inpaint ? "inpaint --image IN.png --mask MASK.png" : img2img ? "img2img --image IN.png" : "generate",
            inpaint ? "Repaints the white part of MASK in IN from a prompt; the rest of IN is kept\n"
                      "exactly. The image is resized to the model's size for the diffusion and back.\n"
                      "A Stable Diffusion folder as --model takes the options of 'cascade inpaint\n"
                      "--model SD-DIR --help'."
            : img2img ? "Makes variations of IN from a prompt (IF image-to-image: strength 0 keeps IN,\n"
                        "1 ignores it). A Stable Diffusion folder as --model works too."
                      : "Generates images from a text prompt with the cascaded diffusion model.\n"
                        "A Stable Diffusion folder as --model runs that model instead\n"
                        "('cascade generate --model SD-DIR --help' lists its options).",
            inpaint ? "      --image FILE       the PNG to repaint\n"
                      "      --mask FILE        PNG, white (or opaque) = repaint, black = keep\n"
                      "      --feather N        fade the repainted area in over N pixels inside\n"
                      "                         the mask's edge (default: 2 % of the image)\n"
                      "      --no-colour-match  keep the model's colours (by default its drift,\n"
                      "                         measured just outside the mask, is removed)\n"
            : img2img ? "      --image FILE       the PNG to vary\n"
                        "      --strength X       0..1 (default 0.7)\n"
                      : "");
}

/* --list-prompts: the model's prompts.json as text, one entry a line under a heading. */
static int list_prompts(const char *cmd, const char *model) {
    cascade_model_prompts *mp = NULL;
    cascade_error          err;
    cascade_error_init(&err);
    if (cascade_model_prompts_load(model, &mp, &err)) return cli_fail(cmd, &err);
    if (!mp) {
        printf("%s lists no prompts (it has no prompts.json): it was not trained on a known\n"
               "set of captions, so any prompt may be tried.\n",
               model);
        return 0;
    }
    const struct {
        const char *title;
        char      **list;
        size_t      n;
    } parts[] = {{"styles", mp->styles, mp->n_styles},
                 {"subjects", mp->subjects, mp->n_subjects},
                 {"prompts", mp->prompts, mp->n_prompts}};
    for (size_t k = 0; k < sizeof parts / sizeof *parts; k++) {
        if (!parts[k].n) continue;
        printf("%s (%zu):\n", parts[k].title, parts[k].n);
        for (size_t i = 0; i < parts[k].n; i++)
            printf("  %s\n", parts[k].list[i]);
    }
    cascade_model_prompts_free(mp);
    return 0;
}

/* Inpaints at the model's size, then composites at the input's size through the input's mask,
 * so unmasked pixels are exactly the input's. */
static cascade_status run_inpaint(cascade_pipeline *p, const gen_opts *o,
                                  cascade_generate_params *g, cascade_error *err) {
    float *x = NULL, *m = NULL, *xs = NULL, *ms = NULL, *res = NULL, *up = NULL, *comp = NULL;
    uint8_t       *alpha = NULL;
    int64_t        H = 0, W = 0, mh = 0, mw = 0;
    cascade_status st = cli_read_rgb(o->image, &x, &alpha, &H, &W, err);
    if (!st && o->mask) st = cli_read_mask(o->mask, H, W, &m, err);
    if (st) goto done;
    int64_t HW = H * W;
    if (!m) { /* img2img: everywhere */
        if (!(m = malloc(sizeof *m * (size_t)HW))) goto oom;
        for (int64_t i = 0; i < HW; i++)
            m[i] = 1.0f;
    }
    bool any = false;
    for (int64_t i = 0; i < HW; i++)
        any |= m[i] > 0;
    if (!any) {
        st = cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                               "%s is black everywhere: nothing to inpaint", o->mask);
        goto done;
    }
    cascade_pipeline_image_size(p, g->stage2, &mh, &mw);
    xs = cli_resize_planes(x, 3, H, W, mh, mw);
    ms = cli_resize_planes(m, 1, H, W, mh, mw);
    if (!xs || !ms) goto oom;
    int64_t shape[4];
    if ((st = cascade_pipeline_inpaint(p, g, xs, ms, mh, mw, &res, shape, err))) goto done;
    up = cli_resize_planes(res, shape[0] * 3, shape[2], shape[3], H, W);
    comp = malloc(sizeof *comp * (size_t)(shape[0] * 3 * HW));
    if (!up || !comp) goto oom;
    memcpy(comp, up, sizeof *comp * (size_t)(shape[0] * 3 * HW));
    /* img2img repaints everything: no edge to blend */
    if (o->mask && (st = cli_blend_inpainted(x, m, shape[0], H, W, o->feather,
                                             !o->no_colour_match, o->quiet, comp, err)))
        goto done;
    /* an RGBA input stays RGBA: alpha blended like the colours, so it is untouched where the
     * mask is 0 and the generated pixels are opaque where it is 1 */
    for (int64_t i = 0; alpha && i < HW; i++)
        alpha[i] = (uint8_t)lrintf(m[i] > 0 ? 255.0f * m[i] + (1 - m[i]) * alpha[i] : alpha[i]);
    int64_t out_shape[4] = {shape[0], 3, H, W};
    st = cli_write_images(o->output, o->seed, comp, out_shape, alpha, &g_cancel, err);
    goto done;
oom:
    st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "out of memory");
done:
    free(x), free(m), free(xs), free(ms), free(res), free(up), free(comp), free(alpha);
    return st;
}

/* Stage III: each image x4 through the diffusion upscaler with the same prompt; *img and
 * shape are replaced by the enlarged batch. */
static cascade_status run_stage3(cascade_sd_pipeline *up, const gen_opts *o, cli_progress_state *ps,
                                 float **img, int64_t shape[4], cascade_error *err) {
    float         *all = NULL;
    int64_t        s[4] = {0};
    size_t         per_in = (size_t)(3 * shape[2] * shape[3]);
    cascade_status st = CASCADE_STATUS_OK;
    for (int64_t b = 0; b < shape[0] && !st; b++) {
        cascade_sd_params g;
        cascade_sd_params_init(&g);
        g.prompt = o->prompt;
        g.negative_prompt = o->negative;
        g.seed = (uint64_t)o->seed + (uint64_t)b;
        g.steps = o->steps3;
        g.noise_level = o->noise3;
        g.progress = cli_on_progress;
        g.user_data = ps;
        g.cancel = &g_cancel;
        float *one = NULL;
        st = cascade_sd_pipeline_upscale(up, &g, *img + (size_t)b * per_in, shape[2], shape[3],
                                         &one, s, err);
        if (!st && !all && !(all = malloc((size_t)(shape[0] * 3 * s[2] * s[3]) * sizeof *all)))
            st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "stage III images");
        if (!st) memcpy(all + (size_t)(b * 3 * s[2] * s[3]), one, (size_t)(3 * s[2] * s[3]) * sizeof *all);
        free(one);
    }
    if (st) {
        free(all);
        return st;
    }
    free(*img);
    *img = all;
    shape[2] = s[2];
    shape[3] = s[3];
    return CASCADE_STATUS_OK;
}

typedef enum gen_mode { MODE_GENERATE, MODE_INPAINT, MODE_IMG2IMG } gen_mode;

static int run(int argc, char **argv, gen_mode mode) {
    const char *cmd = mode == MODE_INPAINT ? "inpaint" : mode == MODE_IMG2IMG ? "img2img" : "generate";
    bool        inpaint = mode != MODE_GENERATE; /* img2img: inpainting with an all-white mask */
    if (cli_args_name_sd_model(argc, argv)) return cli_sd_main(cmd, argc, argv);
    enum { O_SEED = 256, O_STEPS, O_GUIDANCE, O_SR_STEPS, O_SR_GUIDANCE, O_NOISE, O_BATCH,
           O_NO_SR, O_IMAGE, O_MASK, O_STRENGTH, O_STAGE3, O_STEPS3, O_NOISE3, O_WIDTH,
           O_HEIGHT, O_LIST_PROMPTS, O_ASPECT, O_FEATHER, O_NO_COLOUR };
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
        {"strength", required_argument, NULL, O_STRENGTH},
        {"stage3", required_argument, NULL, O_STAGE3},
        {"width", required_argument, NULL, O_WIDTH},   {"height", required_argument, NULL, O_HEIGHT},
        {"stage3-steps", required_argument, NULL, O_STEPS3},
        {"stage3-noise-level", required_argument, NULL, O_NOISE3},
        {"list-prompts", no_argument, NULL, O_LIST_PROMPTS},
        {"aspect", required_argument, NULL, O_ASPECT},
        {"feather", required_argument, NULL, O_FEATHER},
        {"no-colour-match", no_argument, NULL, O_NO_COLOUR},
        {"help", no_argument, NULL, 'h'},              {0}};
    /* steps, guidance and noise level not given come from the model folders, over the
     * engine's defaults (cascade_generation_defaults_resolve) */
    gen_opts o = {.backend = "cpu", .batch = 1, .strength = 0.7, .steps3 = 75, .noise3 = 100,
                  .feather = -1};
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
        case 't': ok = cli_parse_long(optarg, 0, 1024, &o.threads); break;
        case O_SEED: ok = cli_parse_long(optarg, 0, LONG_MAX, &o.seed); o.have_seed = true; break;
        case O_STEPS: ok = cli_parse_long(optarg, 1, 1000, &o.steps1); o.have_steps1 = true; break;
        case O_SR_STEPS: ok = cli_parse_long(optarg, 1, 1000, &o.steps2); o.have_steps2 = true; break;
        case O_GUIDANCE:
            ok = cli_parse_double(optarg, 0, 100, &o.guidance1);
            o.have_guidance1 = true;
            break;
        case O_SR_GUIDANCE:
            ok = cli_parse_double(optarg, 0, 100, &o.guidance2);
            o.have_guidance2 = true;
            break;
        case O_NOISE: ok = cli_parse_long(optarg, 0, 999, &o.noise_level); o.have_noise = true; break;
        case O_BATCH: ok = cli_parse_long(optarg, 1, 64, &o.batch); break;
        case O_NO_SR: o.no_sr = true; break;
        case O_IMAGE: o.image = optarg; break;
        case O_MASK: o.mask = optarg; break;
        case O_STRENGTH: ok = cli_parse_double(optarg, 0.001, 1, &o.strength); break;
        case O_STAGE3: o.stage3 = optarg; break;
        case O_WIDTH: ok = cli_parse_long(optarg, 1, 16384, &o.width); break;
        case O_HEIGHT: ok = cli_parse_long(optarg, 1, 16384, &o.height); break;
        case O_STEPS3: ok = cli_parse_long(optarg, 1, 1000, &o.steps3); break;
        case O_NOISE3: ok = cli_parse_long(optarg, 0, 999, &o.noise3); break;
        case O_LIST_PROMPTS: o.list_prompts = true; break;
        case O_ASPECT: o.aspect = optarg; break;
        case O_FEATHER: ok = cli_parse_long(optarg, 0, 4096, &o.feather); break;
        case O_NO_COLOUR: o.no_colour_match = true; break;
        case 'h': usage(stdout, cmd); return 0;
        default: usage(stderr, cmd); return 2;
        }
        if (!ok) {
            const char *name = "?";
            for (size_t k = 0; k < sizeof opts / sizeof *opts && opts[k].name; k++)
                if (opts[k].val == c) name = opts[k].name;
            return cli_failf(cmd, "--%s: value '%s' is out of range or not a number (see --help)",
                             name, optarg);
        }
    }
    cascade_error err;
    cascade_error_init(&err);
    if (o.list_prompts) {
        char *dir = NULL, *no_sr = NULL;
        if (cascade_model_resolve(o.model, NULL, false, &dir, &no_sr, &err)) return cli_fail(cmd, &err);
        int rc = list_prompts(cmd, dir);
        free(dir);
        return rc;
    }
    if (!o.prompt && optind == argc - 1) o.prompt = argv[optind++];
    if (!o.prompt || !o.output || optind != argc || (inpaint && !o.image) ||
        (mode == MODE_INPAINT && !o.mask) || (o.stage3 && mode != MODE_GENERATE)) {
        usage(stderr, cmd);
        return 2;
    }
    if (o.aspect && (o.width || o.height || mode != MODE_GENERATE))
        return cli_failf(cmd, "--aspect sets the size of a new image: not with --width/--height "
                              "or an input image");
    if (!o.have_seed) o.seed = (long)(time(NULL) % 1000000);

    char *model = NULL, *sr = NULL;
    if (cascade_model_resolve(o.model, o.sr_model, !o.no_sr, &model, &sr, &err))
        return cli_fail(cmd, &err);

    cascade_session     *ses = NULL;
    cascade_pipeline    *p = NULL;
    cascade_sd_pipeline *up = NULL; /* --stage3 */
    int                  rc = 0;
    cascade_cancel_init(&g_cancel);
    /* options not given take the model's recommendations (generation_defaults.json) */
    cascade_generation_defaults d1, d2;
    if (cascade_generation_defaults_resolve(model, 1, &d1, &err) ||
        cascade_generation_defaults_resolve(sr, 2, &d2, &err)) {
        rc = cli_fail(cmd, &err);
        goto done;
    }
    if (!o.have_steps1) o.steps1 = d1.steps;
    if (!o.have_guidance1) o.guidance1 = d1.guidance;
    if (!o.have_steps2) o.steps2 = d2.steps;
    if (!o.have_guidance2) o.guidance2 = d2.guidance;
    if (!o.have_noise) o.noise_level = d2.noise_level;
    if (cli_check_outputs(o.output, o.batch, &err) ||
        cascade_session_new(o.backend, (int)o.threads, &ses, &err)) {
        rc = cli_fail(cmd, &err);
        goto done;
    }
    if (cascade_session_pipeline(ses, model, sr, sr != NULL, &p, &err) ||
        (o.stage3 && cascade_session_sd(ses, 1, o.stage3, &up, &err))) {
        rc = cli_fail(cmd, &err);
        goto done;
    }
    if (o.aspect) { /* the model's pixel count in that shape */
        int64_t h, w;
        if (cascade_pipeline_aspect_size(p, sr != NULL && cascade_pipeline_has_stage2(p),
                                         o.aspect, &h, &w, &err)) {
            rc = cli_fail(cmd, &err);
            goto done;
        }
        o.height = (long)h;
        o.width = (long)w;
    }
    if (up && !cascade_sd_pipeline_can(up, CASCADE_SD_TASK_UPSCALE)) {
        rc = cli_failf(cmd, "--stage3 %s is not an x4 upscaler (StableDiffusionUpscalePipeline)",
                       o.stage3);
        goto done;
    }
    cli_progress_state ps = {o.quiet, isatty(STDERR_FILENO) != 0, cli_now_s()};
    cascade_generate_params g;
    cascade_generate_params_init(&g);
    int64_t n_tokens = 0;
    if (cascade_pipeline_prompt_tokens(p, o.prompt, &n_tokens, &err)) {
        rc = cli_fail(cmd, &err);
        goto done;
    }
    cli_warn_prompt_cut(cmd, n_tokens, g.max_length);
    g.prompt = o.prompt;
    g.negative_prompt = o.negative;
    g.seed = (uint64_t)o.seed;
    g.seed_per_item = true; /* each file reproducible from the seed printed for it */
    g.batch = o.batch;
    g.steps1 = o.steps1;
    g.steps2 = o.steps2;
    g.guidance1 = o.guidance1;
    g.guidance2 = o.guidance2;
    g.stage2 = sr != NULL;
    g.noise_level = o.noise_level;
    if (mode == MODE_IMG2IMG) g.strength = o.strength;
    g.width = o.width;
    g.height = o.height;
    g.progress = cli_on_progress;
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
        st = cascade_session_generate(ses, p, &g, &img, shape, &err);
        if (!st && up) st = run_stage3(up, &o, &ps, &img, shape, &err);
        if (!st) st = cli_write_images(o.output, o.seed, img, shape, NULL, &g_cancel, &err);
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
    cascade_session_free(ses); /* the models it loaded with it */
    free(model);
    free(sr);
    return rc;
}

int cmd_generate(int argc, char **argv) { return run(argc, argv, MODE_GENERATE); }
int cmd_inpaint(int argc, char **argv) { return run(argc, argv, MODE_INPAINT); }
int cmd_img2img(int argc, char **argv) { return run(argc, argv, MODE_IMG2IMG); }
