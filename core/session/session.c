/* The engine session (cascade/session.h): a backend, the models loaded on it with their kept
 * plans, and the last batch of stage I candidates. */
#include "cascade/session.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cascade/backend-name.h"
#include "cascade/model-search.h"

/* The stage I settings a candidate depends on: a finishing run with equal ones (and its
 * item's seed) continues from the kept image. */
typedef struct stage1_key {
    char    *prompt, *negative;
    uint64_t seed; /* of item 0; item k has seed + k */
    int64_t  batch, steps1, max_length, height, width;
    double   guidance1;
} stage1_key;

struct cascade_session {
    char            *backend_name;
    cascade_backend *be;
    /* the IF cascade */
    char             *s1, *s2;
    cascade_pipeline *pipeline;
    cascade_pipeline_counters released; /* counters of model sets since freed */
    /* a GAN upscaler, and two SD folders (a model, the cascade's stage III) */
    char                  *up_dir;
    cascade_upscaler      *upscaler;
    cascade_upscale_plans *up_plans; /* its tile plans */
    char                *sd_dir[2];
    cascade_sd_pipeline *sd[2];
    /* the last stage-I-only batch, (batch, 3, h1, w1) */
    stage1_key key;
    float     *cands;
    int64_t    cand_shape[4];
    uint64_t   model_loads, load_ns, finished;
};

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static bool same(const char *a, const char *b) {
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static char *dup_or_null(const char *s) {
    return s ? strdup(s) : NULL;
}

cascade_status cascade_session_new(const char *backend_name, int threads, cascade_session **out,
                                   cascade_error *err) {
    *out = NULL;
    const char      *name = backend_name && *backend_name ? backend_name : "auto";
    cascade_session *s = calloc(1, sizeof *s);
    if (!s || !(s->backend_name = strdup(name))) {
        free(s);
        return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "session");
    }
    cascade_status st = cascade_backend_new_by_name(name, threads, &s->be, err);
    if (st) {
        cascade_session_free(s);
        return st;
    }
    *out = s;
    return CASCADE_STATUS_OK;
}

static void drop_candidates(cascade_session *s) {
    free(s->key.prompt);
    free(s->key.negative);
    free(s->cands);
    memset(&s->key, 0, sizeof s->key);
    s->cands = NULL;
}

/* sum += the counters of p (NULL: none) */
static void add_pipeline_counters(cascade_pipeline_counters *sum, const cascade_pipeline *p) {
    if (!p) return;
    cascade_pipeline_counters c;
    cascade_pipeline_get_counters(p, &c);
    sum->text_encodes += c.text_encodes;
    sum->stage_steps[0] += c.stage_steps[0];
    sum->stage_steps[1] += c.stage_steps[1];
}

static void drop_pipeline(cascade_session *s) {
    add_pipeline_counters(&s->released, s->pipeline);
    cascade_pipeline_free(s->pipeline);
    free(s->s1);
    free(s->s2);
    s->pipeline = NULL;
    s->s1 = s->s2 = NULL;
    drop_candidates(s);
}

static void drop_upscaler(cascade_session *s) {
    cascade_upscale_plans_free(s->up_plans); /* before the upscaler its plans were made of */
    cascade_upscaler_free(s->upscaler);
    free(s->up_dir);
    s->up_plans = NULL;
    s->upscaler = NULL;
    s->up_dir = NULL;
}

void cascade_session_release(cascade_session *s) {
    drop_pipeline(s);
    drop_upscaler(s);
    for (int i = 0; i < 2; i++) {
        cascade_sd_pipeline_free(s->sd[i]);
        free(s->sd_dir[i]);
        s->sd[i] = NULL;
        s->sd_dir[i] = NULL;
    }
}

void cascade_session_free(cascade_session *s) {
    if (!s) return;
    cascade_session_release(s);
    cascade_backend_free(s->be);
    free(s->backend_name);
    free(s);
}

const char *cascade_session_backend_name(const cascade_session *s) { return s->backend_name; }

cascade_backend *cascade_session_backend(cascade_session *s) { return s->be; }

cascade_status cascade_session_pipeline(cascade_session *s, const char *model,
                                        const char *sr_model, bool want_sr,
                                        cascade_pipeline **out, cascade_error *err) {
    char *s1 = NULL, *s2 = NULL;
    *out = NULL;
    CASCADE_TRY(cascade_model_resolve(model, sr_model, want_sr, &s1, &s2, err));
    /* a model set loaded with stage II serves a stage-I-only run too (the candidates) */
    if (s->pipeline && same(s->s1, s1) && (same(s->s2, s2) || (!want_sr && s->s2))) {
        free(s1);
        free(s2);
        *out = s->pipeline;
        return CASCADE_STATUS_OK;
    }
    drop_pipeline(s);
    cascade_pipeline_options o;
    cascade_pipeline_options_init(&o);
    o.model_dir = s1;
    o.sr_model_dir = s2;
    o.backend = s->be;
    uint64_t       t0 = now_ns();
    cascade_status st = cascade_pipeline_load(&o, &s->pipeline, err);
    if (st) {
        free(s1);
        free(s2);
        return st;
    }
    s->load_ns += now_ns() - t0;
    s->model_loads++;
    s->s1 = s1;
    s->s2 = s2;
    *out = s->pipeline;
    return CASCADE_STATUS_OK;
}

cascade_status cascade_session_upscaler(cascade_session *s, const char *dir,
                                        cascade_upscaler **out, cascade_error *err) {
    *out = NULL;
    if (!s->upscaler || !same(s->up_dir, dir)) {
        drop_upscaler(s);
        uint64_t t0 = now_ns();
        CASCADE_TRY(cascade_upscaler_load(dir, &s->upscaler, err));
        s->load_ns += now_ns() - t0;
        s->model_loads++;
        s->up_dir = dup_or_null(dir);
    }
    *out = s->upscaler;
    return CASCADE_STATUS_OK;
}

/* opt with the session's kept tile plans, for u (which must be the session's upscaler). */
static cascade_status upscale_options(cascade_session *s, const cascade_upscaler *u,
                                      const cascade_upscale_options *opt,
                                      cascade_upscale_options *o, cascade_error *err) {
    if (!u || u != s->upscaler)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "session: the upscaler is not this session's");
    if (!s->up_plans && !(s->up_plans = cascade_upscale_plans_new()))
        return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "upscale plans");
    if (opt)
        *o = *opt;
    else
        cascade_upscale_options_init(o);
    o->plans = s->up_plans;
    return CASCADE_STATUS_OK;
}

cascade_status cascade_session_upscale_image(cascade_session *s, const cascade_upscaler *u,
                                             const uint8_t *src, int64_t width, int64_t height,
                                             int32_t channels, size_t src_stride, uint8_t *dst,
                                             size_t dst_stride, const cascade_upscale_options *opt,
                                             cascade_error *err) {
    cascade_upscale_options o;
    CASCADE_TRY(upscale_options(s, u, opt, &o, err));
    return cascade_upscale_image(u, s->be, src, width, height, channels, src_stride, dst,
                                 dst_stride, &o, err);
}

cascade_status cascade_session_upscale_stream(cascade_session *s, const cascade_upscaler *u,
                                              int64_t width, int64_t height, int32_t channels,
                                              cascade_upscale_read_fn read,
                                              cascade_upscale_write_fn write, void *io,
                                              const cascade_upscale_options *opt,
                                              cascade_error *err) {
    cascade_upscale_options o;
    CASCADE_TRY(upscale_options(s, u, opt, &o, err));
    return cascade_upscale_stream(u, s->be, width, height, channels, read, write, io, &o, err);
}

cascade_status cascade_session_sd(cascade_session *s, int slot, const char *dir,
                                  cascade_sd_pipeline **out, cascade_error *err) {
    *out = NULL;
    if (slot < 0 || slot > 1)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "session: SD slot %d", slot);
    if (!s->sd[slot] || !same(s->sd_dir[slot], dir)) {
        cascade_sd_pipeline_free(s->sd[slot]);
        free(s->sd_dir[slot]);
        s->sd[slot] = NULL;
        s->sd_dir[slot] = NULL;
        /* fp16 storage on a Vulkan fp16 backend, fp32 elsewhere */
        cascade_dtype dt = strstr(s->backend_name, "fp16") ? CASCADE_DTYPE_F16 : CASCADE_DTYPE_F32;
        uint64_t      t0 = now_ns();
        CASCADE_TRY(cascade_sd_pipeline_load(dir, s->be, dt, &s->sd[slot], err));
        s->load_ns += now_ns() - t0;
        s->model_loads++;
        s->sd_dir[slot] = dup_or_null(dir);
    }
    *out = s->sd[slot];
    return CASCADE_STATUS_OK;
}

/* ---- candidates ---- */

static void key_of(const cascade_pipeline *p, const cascade_generate_params *g, stage1_key *k) {
    k->prompt = (char *)g->prompt;
    k->negative = (char *)(g->negative_prompt ? g->negative_prompt : "");
    k->seed = g->seed;
    k->batch = g->batch;
    k->steps1 = g->steps1;
    k->max_length = g->max_length;
    cascade_pipeline_stage1_size(p, g, &k->height, &k->width);
    k->guidance1 = g->guidance1;
}

/* The kept stage I image for a one-item finishing run g, or NULL. */
static const float *kept_item(const cascade_session *s, const cascade_generate_params *g) {
    const stage1_key *k = &s->key;
    if (!s->cands || g->batch != 1 || !g->stage2 || g->noise_fn || g->stage1_image) return NULL;
    stage1_key w;
    key_of(s->pipeline, g, &w);
    if (strcmp(k->prompt, w.prompt) || strcmp(k->negative, w.negative) || k->steps1 != w.steps1 ||
        k->max_length != w.max_length || k->height != w.height || k->width != w.width ||
        k->guidance1 != w.guidance1)
        return NULL;
    if (g->seed < k->seed || g->seed - k->seed >= (uint64_t)k->batch) return NULL;
    size_t item = (size_t)(s->cand_shape[1] * s->cand_shape[2] * s->cand_shape[3]);
    return s->cands + (size_t)(g->seed - k->seed) * item;
}

static void keep_candidates(cascade_session *s, const cascade_generate_params *g,
                            const float *img, const int64_t shape[4]) {
    drop_candidates(s);
    /* only a batch whose items are reproducible alone can be finished item by item */
    if (g->noise_fn || (g->batch > 1 && !g->seed_per_item)) return;
    size_t n = (size_t)(shape[0] * shape[1] * shape[2] * shape[3]);
    stage1_key k;
    key_of(s->pipeline, g, &k);
    s->cands = malloc(n * sizeof *s->cands);
    s->key.prompt = strdup(k.prompt);
    s->key.negative = strdup(k.negative);
    if (!s->cands || !s->key.prompt || !s->key.negative) { /* only an optimisation is lost */
        drop_candidates(s);
        return;
    }
    memcpy(s->cands, img, n * sizeof *s->cands);
    k.prompt = s->key.prompt;
    k.negative = s->key.negative;
    s->key = k;
    memcpy(s->cand_shape, shape, sizeof s->cand_shape);
}

cascade_status cascade_session_generate(cascade_session *s, cascade_pipeline *p,
                                        const cascade_generate_params *g, float **image,
                                        int64_t shape[4], cascade_error *err) {
    *image = NULL;
    if (p != s->pipeline)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "session: the pipeline is not this session's");
    const float *kept = kept_item(s, g);
    if (!kept) {
        CASCADE_TRY(cascade_pipeline_generate(p, g, image, shape, err));
        if (!g->stage2 && cascade_pipeline_has_stage2(p)) keep_candidates(s, g, *image, shape);
        return CASCADE_STATUS_OK;
    }
    cascade_generate_params f = *g;
    f.stage1_image = kept;
    CASCADE_TRY(cascade_pipeline_generate(p, &f, image, shape, err));
    s->finished++;
    return CASCADE_STATUS_OK;
}

void cascade_session_get_counters(const cascade_session *s, cascade_session_counters *out) {
    memset(out, 0, sizeof *out);
    out->model_loads = s->model_loads;
    out->load_ns = s->load_ns;
    out->finished_from_candidates = s->finished;
    cascade_backend_get_counters(s->be, &out->backend);
    out->pipeline = s->released;
    add_pipeline_counters(&out->pipeline, s->pipeline);
}
