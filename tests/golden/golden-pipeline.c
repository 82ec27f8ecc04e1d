/* Golden family for the IF pipelines (pipeline_if_*), dispatched on the exact class:
 * IFPipeline, IFSuperResolutionPipeline, IFImg2ImgPipeline, IFImg2ImgSuperResolutionPipeline,
 * IFInpaintingPipeline and IFInpaintingSuperResolutionPipeline.
 * The case folder is a diffusers pipeline directory; the U-Net (unet/) runs on the runner's
 * backend behind the denoiser seam, the schedulers come from scheduler/ and
 * image_noising_scheduler/. Everything else is read from the case: the call arguments
 * (num_inference_steps, guidance_scale, noise_level, strength, eta), the prompt embeddings,
 * the images and mask, the image size (that of noise/initial) and every noise the reference
 * drew, replayed by name (noise/initial, noise/augmentation, noise/step<i>). The check is
 * on out_image. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cascade/pipeline.h"
#include "cascade/scheduler.h"
#include "golden.h"
#include "test-common.h"

/* What each IF pipeline class feeds the loop: a low-res image to upscale (stage II), a
 * start image (img2img) and a mask (inpainting). */
typedef struct if_class {
    const char *name;
    bool        sr, img2img, inpaint;
} if_class;

static const if_class if_classes[] = {
    {"diffusers.IFPipeline", false, false, false},
    {"diffusers.IFSuperResolutionPipeline", true, false, false},
    {"diffusers.IFImg2ImgPipeline", false, true, false},
    {"diffusers.IFImg2ImgSuperResolutionPipeline", true, true, false},
    {"diffusers.IFInpaintingPipeline", false, true, true},
    {"diffusers.IFInpaintingSuperResolutionPipeline", true, true, true},
};

static const if_class *find_if_class(const char *name) {
    for (size_t i = 0; name && i < G_N_ELEMENTS(if_classes); i++)
        if (!strcmp(if_classes[i].name, name)) return &if_classes[i];
    return NULL;
}

static bool pipe_matches(const golden_case *c) {
    return find_if_class(c->class_name) != NULL;
}


/* With -v, compares the loop's intermediate values with the reference's loop<i>/ debug
 * tensors where the case stored them: informational (the verdict is on out_image), to show
 * where a mismatch starts. */
static void debug_tap(void *user, size_t step, const char *name, const float *data,
                      const int64_t shape[4]) {
    golden_replay *rp = user;
    char    key[96];
    snprintf(key, sizeof key, "loop%zu/%s", step, name);
    if (!rp->c->verbose || !cascade_safetensors_find(rp->io, key)) return;
    cascade_tensor *want = NULL;
    if (golden_load(rp->io, key, CASCADE_DTYPE_F32, &want, NULL)) return;
    size_t n = (size_t)(shape[0] * shape[1] * shape[2] * shape[3]);
    if ((size_t)cascade_tensor_numel(want) == n) {
        test_diff d;
        test_compare(data, want->data, n, 0, 0, &d);
        fprintf(stderr, "  %-28s max|d| %.3g  nmse %.3g\n", key, d.max_abs, d.nmse);
    } else {
        fprintf(stderr, "  %-28s %zu values, reference %lld\n", key, n,
                (long long)cascade_tensor_numel(want));
    }
    cascade_tensor_free(want);
}

static double call_number(const golden_case *c, const char *key, double def) {
    if (!json_object_has_member(c->json, "call")) return def;
    JsonObject *call = json_object_get_object_member(c->json, "call");
    if (!json_object_has_member(call, key)) return def;
    JsonNode *n = json_object_get_member(call, key);
    return JSON_NODE_HOLDS_VALUE(n) ? json_node_get_double(n) : def;
}

/* t repeated to batch items when it holds one (IF repeats the image per prompt). */
static cascade_status load_batched(const cascade_safetensors *io, const char *name, int64_t batch,
                                   cascade_tensor **out, cascade_error *err) {
    cascade_tensor *t = NULL;
    *out = NULL;
    CASCADE_TRY(golden_load(io, name, CASCADE_DTYPE_F32, &t, err));
    if (t->ndim != 4 || (t->shape[0] != 1 && t->shape[0] != batch)) {
        cascade_tensor_free(t);
        return cascade_error_set(err, CASCADE_STATUS_FORMAT, "%s: expected (1 or %lld, C, H, W)",
                                 name, (long long)batch);
    }
    if (t->shape[0] == batch) {
        *out = t;
        return CASCADE_STATUS_OK;
    }
    int64_t         shape[4] = {batch, t->shape[1], t->shape[2], t->shape[3]};
    cascade_tensor *r = NULL;
    cascade_status  st = cascade_tensor_new(CASCADE_DTYPE_F32, 4, shape, &r, err);
    if (!st) {
        size_t per = (size_t)cascade_tensor_numel(t);
        for (int64_t b = 0; b < batch; b++)
            memcpy((float *)r->data + (size_t)b * per, t->data, per * sizeof(float));
        *out = r;
    }
    cascade_tensor_free(t);
    return st;
}

static cascade_status pipe_run(const golden_case *c, golden_result *r, cascade_error *err) {
    cascade_safetensors   *io = NULL;
    cascade_unet_denoiser *unet = NULL;
    cascade_scheduler     *sched = NULL, *noising = NULL;
    cascade_tensor        *cond = NULL, *uncond = NULL, *init = NULL, *low = NULL, *image = NULL,
                   *mask = NULL;
    float          *out = NULL;
    char           *p = NULL;
    cascade_status  st;
    const if_class *k = find_if_class(c->class_name);
    bool            sr = k->sr, inpaint = k->inpaint;

    if ((st = golden_open_io(c, "io.safetensors", &io, err))) goto done;
    p = golden_path(c, "unet");
    st = cascade_unet_denoiser_new(
        p, c->be, strcmp(c->precision, "fp16") ? CASCADE_DTYPE_F32 : CASCADE_DTYPE_F16, &unet, err);
    g_free(p);
    if (st) goto done;
    p = golden_path(c, "scheduler/scheduler_config.json");
    st = cascade_scheduler_load(p, &sched, err);
    g_free(p);
    if (st) goto done;
    if (sr) {
        p = golden_path(c, "image_noising_scheduler/scheduler_config.json");
        st = cascade_scheduler_load(p, &noising, err);
        g_free(p);
        if (st) goto done;
    }
    if ((st = golden_load(io, "prompt_embeds", CASCADE_DTYPE_F32, &cond, err))) goto done;
    if ((st = golden_load(io, "noise/initial", CASCADE_DTYPE_F32, &init, err))) goto done;
    if (cond->ndim != 3 || init->ndim != 4 || cond->shape[0] != init->shape[0]) {
        st = cascade_error_set(err, CASCADE_STATUS_FORMAT,
                               "%s: prompt_embeds (B, N, D) and noise/initial (B, C, H, W)",
                               c->name);
        goto done;
    }
    cascade_diffusion_args a;
    cascade_diffusion_args_init(&a);
    a.denoiser = cascade_unet_denoiser_get(unet);
    a.scheduler = sched;
    a.batch = init->shape[0];
    a.channels = init->shape[1];
    a.height = init->shape[2];
    a.width = init->shape[3];
    a.steps = (int64_t)call_number(c, "num_inference_steps", 100);
    a.guidance_scale = call_number(c, "guidance_scale", 7.0);
    a.eta = call_number(c, "eta", 0.0);
    a.cond = cond->data;
    a.seq = cond->shape[1];
    a.dim = cond->shape[2];
    if (a.guidance_scale > 1.0) {
        if ((st = golden_load(io, "negative_prompt_embeds", CASCADE_DTYPE_F32, &uncond, err)))
            goto done;
        a.uncond = uncond->data;
    }
    if (sr) {
        if ((st = load_batched(io, "image", a.batch, &low, err))) goto done;
        a.low_res = low->data;
        a.low_h = low->shape[2];
        a.low_w = low->shape[3];
        a.image_noising_scheduler = noising;
        a.noise_level = (int64_t)call_number(c, "noise_level", 250);
    }
    if (k->img2img) { /* the start image: stage II's hi-res original_image */
        const char *orig = sr ? "original_image" : "image";
        if ((st = load_batched(io, orig, a.batch, &image, err))) goto done;
        a.image = image->data;
        /* the pipelines' defaults: 0.7 (img2img), 0.8 (stage II), 1.0 (stage I inpaint) */
        a.strength = call_number(c, "strength", sr ? 0.8 : inpaint ? 1.0 : 0.7);
    }
    if (inpaint) {
        if ((st = golden_load(io, "mask_image", CASCADE_DTYPE_F32, &mask, err))) goto done;
        a.mask = mask->data;
        a.mask_batch = mask->ndim == 4 ? mask->shape[0] : 1;
    }
    golden_replay rp = {io, "", c};
    a.noise_fn = golden_replay_noise;
    a.noise_user = &rp;
    a.tap = debug_tap;
    a.tap_user = &rp;
    size_t n = (size_t)cascade_tensor_numel(init);
    out = g_new(float, n);
    if ((st = cascade_diffusion_run(&a, out, err))) goto done;
    st = golden_check(c, io, "out_image", out, n, r, err);
done:
    g_free(out);
    cascade_tensor_free(mask);
    cascade_tensor_free(image);
    cascade_tensor_free(low);
    cascade_tensor_free(init);
    cascade_tensor_free(uncond);
    cascade_tensor_free(cond);
    cascade_scheduler_free(noising);
    cascade_scheduler_free(sched);
    cascade_unet_denoiser_free(unet);
    cascade_safetensors_close(io);
    return st;
}

const golden_family golden_family_pipeline = {
    .name = "pipeline",
    .matches = pipe_matches,
    .run = pipe_run,
};
