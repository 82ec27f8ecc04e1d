/* Golden family for Stable Diffusion's pipelines (pipeline_sd*): StableDiffusionPipeline,
 * StableDiffusionImg2ImgPipeline, StableDiffusionInpaintPipeline and
 * StableDiffusionUpscalePipeline, dispatched on the exact class. The case folder is a
 * diffusers pipeline directory: unet/ and vae/ run on the runner's backend, the schedulers
 * come from scheduler/ (low_res_scheduler/ for the upscaler). The case may hold several runs
 * of one folder: the unprefixed one with scheduler/, and one per call.<run> object naming its
 * scheduler_subfolder, whose tensors are under "<run>/". Every draw is replayed by name
 * (noise/initial, noise/image_latents, ...); the checks are on out_latents and out_image
 * ((decoded / 2 + 0.5) clamped to [0, 1], as output_type "pt" returns it). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cascade/sd.h"
#include "golden.h"
#include "test-common.h"

typedef struct sd_class {
    const char     *name;
    cascade_sd_task task;
} sd_class;

static const sd_class sd_classes[] = {
    {"diffusers.StableDiffusionPipeline", CASCADE_SD_TASK_TEXT2IMG},
    {"diffusers.StableDiffusionImg2ImgPipeline", CASCADE_SD_TASK_IMG2IMG},
    {"diffusers.StableDiffusionInpaintPipeline", CASCADE_SD_TASK_INPAINT},
    {"diffusers.StableDiffusionUpscalePipeline", CASCADE_SD_TASK_UPSCALE},
};

static const sd_class *find_class(const char *name) {
    for (size_t i = 0; name && i < G_N_ELEMENTS(sd_classes); i++)
        if (!strcmp(sd_classes[i].name, name)) return &sd_classes[i];
    return NULL;
}

static bool sd_matches(const golden_case *c) { return find_class(c->class_name) != NULL; }

/* The call object of a run: call, or call.<run>. */
static JsonObject *run_call(const golden_case *c, const char *run) {
    if (!json_object_has_member(c->json, "call")) return NULL;
    JsonObject *call = json_object_get_object_member(c->json, "call");
    if (!run) return call;
    JsonNode *n = json_object_get_member(call, run);
    return n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

static double number(JsonObject *o, const char *key, double def) {
    JsonNode *n = o ? json_object_get_member(o, key) : NULL;
    return n && JSON_NODE_HOLDS_VALUE(n) ? json_node_get_double(n) : def;
}

/* A tensor of io mapped from [0, 1] (what the pipelines take as tensors) to [-1, 1]. */
static cascade_status load_image(const cascade_safetensors *io, const char *name,
                                 cascade_tensor **out, cascade_error *err) {
    CASCADE_TRY(golden_load(io, name, CASCADE_DTYPE_F32, out, err));
    float *p = (*out)->data;
    for (int64_t i = 0; i < cascade_tensor_numel(*out); i++)
        p[i] = 2.0f * p[i] - 1.0f;
    return CASCADE_STATUS_OK;
}

/* One run of the case; run NULL: the unprefixed one with scheduler/. */
static cascade_status run_one(const golden_case *c, const sd_class *k,
                              const cascade_safetensors *io, const cascade_denoiser *den,
                              cascade_vae *vae, const char *run, golden_result *r,
                              cascade_error *err) {
    JsonObject *call = run_call(c, run);
    char        prefix[64] = "", rel[128];
    if (run) snprintf(prefix, sizeof prefix, "%s/", run);
    const char *sub = "scheduler";
    if (run && call && json_object_has_member(call, "scheduler_subfolder"))
        sub = json_object_get_string_member(call, "scheduler_subfolder");
    snprintf(rel, sizeof rel, "%s/scheduler_config.json", sub);

    cascade_scheduler *sched = NULL, *low = NULL;
    cascade_tensor    *cond = NULL, *uncond = NULL, *image = NULL, *mask = NULL, *lat_want = NULL;
    float             *lat = NULL, *img = NULL;
    char              *p = golden_path(c, rel);
    cascade_status     st = cascade_scheduler_load(p, &sched, err);
    g_free(p);
    if (st) goto done;
    if (k->task == CASCADE_SD_TASK_UPSCALE) {
        p = golden_path(c, "low_res_scheduler/scheduler_config.json");
        st = cascade_scheduler_load(p, &low, err);
        g_free(p);
        if (st) goto done;
    }
    if ((st = golden_load(io, "prompt_embeds", CASCADE_DTYPE_F32, &cond, err))) goto done;
    if ((st = golden_load(io, "out_latents", CASCADE_DTYPE_F32, &lat_want, err))) goto done;
    cascade_sd_args a;
    cascade_sd_args_init(&a);
    a.task = k->task;
    a.denoiser = den;
    a.scheduler = sched;
    a.vae = vae;
    a.batch = cond->shape[0];
    a.cond = cond->data;
    a.seq = cond->shape[1];
    a.dim = cond->shape[2];
    a.steps = (int64_t)number(call, "num_inference_steps", 50);
    a.guidance_scale = number(call, "guidance_scale", 7.5);
    a.eta = number(call, "eta", 0.0);
    a.strength = number(call, "strength", k->task == CASCADE_SD_TASK_INPAINT ? 1.0 : 0.8);
    a.noise_level = (int64_t)number(call, "noise_level", 20);
    a.low_res_scheduler = low;
    int64_t f = cascade_vae_downscale(vae);
    a.height = lat_want->shape[2] * f;
    a.width = lat_want->shape[3] * f;
    if (a.guidance_scale > 1.0) {
        if ((st = golden_load(io, "negative_prompt_embeds", CASCADE_DTYPE_F32, &uncond, err)))
            goto done;
        a.uncond = uncond->data;
    }
    if (k->task != CASCADE_SD_TASK_TEXT2IMG) {
        if ((st = load_image(io, "image", &image, err))) goto done;
        a.image = image->data;
        a.image_batch = image->shape[0];
    }
    if (k->task == CASCADE_SD_TASK_INPAINT) {
        if ((st = golden_load(io, "mask_image", CASCADE_DTYPE_F32, &mask, err))) goto done;
        a.mask = mask->data;
        a.mask_batch = mask->shape[0];
    }
    golden_replay rp = {io, prefix, c};
    a.noise_fn = golden_replay_noise;
    a.noise_user = &rp;
    size_t n_lat = (size_t)cascade_tensor_numel(lat_want);
    size_t n_img = (size_t)(a.batch * 3 * a.height * a.width);
    lat = g_new(float, n_lat);
    img = g_new(float, n_img);
    if ((st = cascade_sd_run(&a, lat, img, err))) goto done;
    for (size_t i = 0; i < n_img; i++) { /* output_type "pt": (x / 2 + 0.5).clamp(0, 1) */
        float v = img[i] / 2 + 0.5f;
        img[i] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
    char name[96];
    snprintf(name, sizeof name, "%sout_latents", prefix);
    if ((st = golden_check(c, io, name, lat, n_lat, r, err))) goto done;
    snprintf(name, sizeof name, "%sout_image", prefix);
    st = golden_check(c, io, name, img, n_img, r, err);
done:
    g_free(lat);
    g_free(img);
    cascade_tensor_free(lat_want);
    cascade_tensor_free(mask);
    cascade_tensor_free(image);
    cascade_tensor_free(uncond);
    cascade_tensor_free(cond);
    cascade_scheduler_free(low);
    cascade_scheduler_free(sched);
    return st;
}

static cascade_status sd_run(const golden_case *c, golden_result *r, cascade_error *err) {
    const sd_class        *k = find_class(c->class_name);
    cascade_safetensors   *io = NULL;
    cascade_unet_denoiser *unet = NULL;
    cascade_vae           *vae = NULL;
    cascade_dtype  dt = strcmp(c->precision, "fp16") ? CASCADE_DTYPE_F32 : CASCADE_DTYPE_F16;
    char          *p = NULL;
    cascade_status st;
    if ((st = golden_open_io(c, "io.safetensors", &io, err))) goto done;
    p = golden_path(c, "unet");
    st = cascade_unet_denoiser_new(p, c->be, dt, &unet, err);
    g_free(p);
    if (st) goto done;
    p = golden_path(c, "vae");
    st = cascade_vae_load(p, c->be, dt, &vae, err);
    g_free(p);
    if (st) goto done;
    const cascade_denoiser *den = cascade_unet_denoiser_get(unet);
    if ((st = run_one(c, k, io, den, vae, NULL, r, err))) goto done;
    /* further runs: call members that are objects with a scheduler_subfolder */
    JsonObject *call = run_call(c, NULL);
    GList      *keys = call ? json_object_get_members(call) : NULL;
    for (GList *l = keys; l && !st; l = l->next) {
        JsonObject *o = run_call(c, l->data);
        if (o && json_object_has_member(o, "scheduler_subfolder"))
            st = run_one(c, k, io, den, vae, l->data, r, err);
    }
    g_list_free(keys);
done:
    cascade_vae_free(vae);
    cascade_unet_denoiser_free(unet);
    cascade_safetensors_close(io);
    return st;
}

const golden_family golden_family_sd = {
    .name = "sd",
    .matches = sd_matches,
    .run = sd_run,
};
