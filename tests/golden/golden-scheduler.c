/* Golden family for the diffusers schedulers (case folders scheduler_*): builds the scheduler
 * from config.json and replays the recorded runs. Everything comes from the case: the runs
 * are the members of case.json's "call" that hold set_timesteps (their name is the tensor
 * prefix, step_kwargs the step options), the steps are as many as the scheduler's
 * timesteps, the model output of each step and, where the reference drew one, its noise are
 * read from io.safetensors. The chain starts from <run>/sample_0 and feeds each of our
 * prev_samples into the next step. Every name under "outputs" must be produced and checked:
 * alphas_cumprod, <run>/{timesteps,sigmas,init_noise_sigma},
 * <run>/step<i>/{scaled_input,prev_sample,pred_original_sample}, add_noise/noisy. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cascade/scheduler.h"
#include "golden.h"

static bool sched_matches(const golden_case *c) {
    return c->class_name && cascade_scheduler_supports_class(c->class_name);
}

typedef struct sched_ctx {
    const golden_case         *c;
    const cascade_safetensors *io;
    golden_result             *r;
    GHashTable                *outputs; /* name -> checked? (GINT_TO_POINTER 0/1) */
} sched_ctx;

static bool is_output(sched_ctx *x, const char *name) {
    return g_hash_table_contains(x->outputs, name);
}

/* Checks name when the case lists it as an output. */
static cascade_status check(sched_ctx *x, const char *name, const float *got, size_t n,
                            cascade_error *err) {
    if (!is_output(x, name)) return CASCADE_STATUS_OK;
    g_hash_table_insert(x->outputs, g_strdup(name), GINT_TO_POINTER(1));
    return golden_check(x->c, x->io, name, got, n, x->r, err);
}

static cascade_status load(sched_ctx *x, const char *name, cascade_tensor **out,
                           cascade_error *err) {
    return golden_load(x->io, name, CASCADE_DTYPE_F32, out, err);
}

static cascade_status step_options(JsonObject *run, cascade_step_options *opt, cascade_error *err) {
    cascade_step_options_init(opt);
    if (!json_object_has_member(run, "step_kwargs")) return CASCADE_STATUS_OK;
    JsonObject    *kw = json_object_get_object_member(run, "step_kwargs");
    GList         *members = json_object_get_members(kw);
    cascade_status st = CASCADE_STATUS_OK;
    for (GList *l = members; l && st == CASCADE_STATUS_OK; l = l->next) {
        const char *k = l->data;
        if (!strcmp(k, "generator")) continue; /* its draws are recorded as <run>/step<i>/noise */
        JsonNode *v = json_object_get_member(kw, k);
        double    d = JSON_NODE_HOLDS_VALUE(v) ? json_node_get_double(v) : NAN;
        if (!strcmp(k, "eta"))
            opt->eta = d;
        else if (!strcmp(k, "use_clipped_model_output"))
            opt->use_clipped_model_output = json_node_get_boolean(v);
        else if (!strcmp(k, "s_churn"))
            opt->s_churn = d;
        else if (!strcmp(k, "s_tmin"))
            opt->s_tmin = d;
        else if (!strcmp(k, "s_tmax"))
            opt->s_tmax = d;
        else if (!strcmp(k, "s_noise"))
            opt->s_noise = d;
        else
            st = cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED, "step kwarg '%s'", k);
    }
    g_list_free(members);
    return st;
}

static cascade_status run_chain(sched_ctx *x, cascade_scheduler *s, const char *prefix,
                                JsonObject *run, cascade_error *err) {
    char                 name[256];
    cascade_step_options opt;
    CASCADE_TRY(step_options(run, &opt, err));
    int64_t n_steps = json_object_get_int_member(run, "set_timesteps");
    CASCADE_TRY(cascade_scheduler_set_timesteps(s, n_steps, err));

    size_t        nt, ns;
    const double *ts = cascade_scheduler_timesteps(s, &nt);
    const float  *sig = cascade_scheduler_sigmas(s, &ns);
    float        *tsf = g_new(float, nt);
    for (size_t i = 0; i < nt; i++)
        tsf[i] = (float)ts[i];
    snprintf(name, sizeof name, "%s/timesteps", prefix);
    cascade_status st = check(x, name, tsf, nt, err);
    g_free(tsf);
    CASCADE_TRY(st);
    snprintf(name, sizeof name, "%s/sigmas", prefix);
    if (sig) CASCADE_TRY(check(x, name, sig, ns, err));
    float ins = cascade_scheduler_init_noise_sigma(s);
    snprintf(name, sizeof name, "%s/init_noise_sigma", prefix);
    CASCADE_TRY(check(x, name, &ins, 1, err));

    cascade_tensor *sample = NULL, *model = NULL, *noise = NULL;
    float          *scaled = NULL, *prev = NULL, *x0 = NULL;
    snprintf(name, sizeof name, "%s/sample_0", prefix);
    CASCADE_TRY(load(x, name, &sample, err));
    size_t n = (size_t)cascade_tensor_numel(sample);
    if (sample->ndim != 4) {
        cascade_tensor_free(sample);
        return cascade_error_set(err, CASCADE_STATUS_FORMAT, "%s is not (B, C, H, W)", name);
    }
    scaled = g_new(float, n);
    prev = g_new(float, n);
    x0 = g_new(float, n);
    for (size_t i = 0; i < nt && st == CASCADE_STATUS_OK; i++) {
        snprintf(name, sizeof name, "%s/step%zu/scaled_input", prefix, i);
        st = cascade_scheduler_scale_model_input(s, ts[i], sample->data, n, scaled, err);
        if (st == CASCADE_STATUS_OK) st = check(x, name, scaled, n, err);
        snprintf(name, sizeof name, "%s/step%zu/model_output", prefix, i);
        if (st == CASCADE_STATUS_OK) st = load(x, name, &model, err);
        if (st != CASCADE_STATUS_OK) break;
        snprintf(name, sizeof name, "%s/step%zu/noise", prefix, i);
        opt.noise = NULL;
        if (cascade_safetensors_find(x->io, name)) {
            st = load(x, name, &noise, err);
            if (st != CASCADE_STATUS_OK) break;
            if ((size_t)cascade_tensor_numel(noise) != n) {
                st = cascade_error_set(err, CASCADE_STATUS_FORMAT, "%s: not sample-shaped", name);
                break;
            }
            opt.noise = noise->data;
        }
        st = cascade_scheduler_step(s, ts[i], model->data, model->ndim == 4 ? model->shape[1] : 0,
                                    sample->data, sample->shape, &opt, prev, x0, err);
        snprintf(name, sizeof name, "%s/step%zu/prev_sample", prefix, i);
        if (st == CASCADE_STATUS_OK) st = check(x, name, prev, n, err);
        snprintf(name, sizeof name, "%s/step%zu/pred_original_sample", prefix, i);
        if (st == CASCADE_STATUS_OK) st = check(x, name, x0, n, err);
        memcpy(sample->data, prev, n * sizeof(float)); /* chain our own result */
        cascade_tensor_free(model);
        cascade_tensor_free(noise);
        model = noise = NULL;
    }
    cascade_tensor_free(model);
    cascade_tensor_free(noise);
    cascade_tensor_free(sample);
    g_free(scaled);
    g_free(prev);
    g_free(x0);
    return st;
}

static cascade_status run_add_noise(sched_ctx *x, cascade_scheduler *s, cascade_error *err) {
    if (!cascade_safetensors_find(x->io, "add_noise/original")) return CASCADE_STATUS_OK;
    cascade_tensor *orig = NULL, *noise = NULL, *ts = NULL;
    float          *out = NULL;
    cascade_status  st = load(x, "add_noise/original", &orig, err);
    if (st == CASCADE_STATUS_OK) st = load(x, "add_noise/noise", &noise, err);
    if (st == CASCADE_STATUS_OK)
        st = golden_load(x->io, "add_noise/timesteps", CASCADE_DTYPE_F64, &ts, err);
    if (st == CASCADE_STATUS_OK &&
        (orig->ndim != 4 || cascade_tensor_numel(noise) != cascade_tensor_numel(orig)))
        st = cascade_error_set(err, CASCADE_STATUS_FORMAT, "add_noise tensors: bad shapes");
    if (st == CASCADE_STATUS_OK) {
        size_t n = (size_t)cascade_tensor_numel(orig);
        out = g_new(float, n);
        st = cascade_scheduler_add_noise(s, orig->data, noise->data, orig->shape, ts->data,
                                         (size_t)cascade_tensor_numel(ts), out, err);
        if (st == CASCADE_STATUS_OK) st = check(x, "add_noise/noisy", out, n, err);
    }
    g_free(out);
    cascade_tensor_free(ts);
    cascade_tensor_free(noise);
    cascade_tensor_free(orig);
    return st;
}

static cascade_status sched_run(const golden_case *c, golden_result *r, cascade_error *err) {
    cascade_scheduler   *s = NULL;
    cascade_safetensors *io = NULL;
    char                *cfg = golden_path(c, "config.json");
    cascade_status       st = cascade_scheduler_load(cfg, &s, err);
    g_free(cfg);
    if (st == CASCADE_STATUS_OK) st = golden_open_io(c, "io.safetensors", &io, err);
    sched_ctx x = {.c = c,
                   .io = io,
                   .r = r,
                   .outputs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL)};
    GList    *outs = golden_output_names(c);
    for (GList *l = outs; l; l = l->next)
        g_hash_table_insert(x.outputs, g_strdup(l->data), GINT_TO_POINTER(0));
    g_list_free(outs);

    if (st == CASCADE_STATUS_OK)
        st = check(&x, "alphas_cumprod", cascade_scheduler_alphas_cumprod(s),
                   (size_t)cascade_scheduler_num_train_timesteps(s), err);
    JsonObject *call = json_object_has_member(c->json, "call")
                           ? json_object_get_object_member(c->json, "call")
                           : NULL;
    GList      *runs = call ? json_object_get_members(call) : NULL;
    for (GList *l = runs; l && st == CASCADE_STATUS_OK; l = l->next) {
        JsonNode *rn = json_object_get_member(call, l->data);
        if (!JSON_NODE_HOLDS_OBJECT(rn)) continue;
        JsonObject *run = json_node_get_object(rn);
        if (!json_object_has_member(run, "set_timesteps")) continue;
        st = run_chain(&x, s, l->data, run, err);
        if (st != CASCADE_STATUS_OK) cascade_error_prefix(err, "run %s: ", (const char *)l->data);
    }
    g_list_free(runs);
    if (st == CASCADE_STATUS_OK) st = run_add_noise(&x, s, err);

    /* every golden output must have been produced */
    GHashTableIter it;
    gpointer       k, v;
    g_hash_table_iter_init(&it, x.outputs);
    while (st == CASCADE_STATUS_OK && g_hash_table_iter_next(&it, &k, &v))
        if (!GPOINTER_TO_INT(v)) golden_fail(r, "output %s was not produced", (const char *)k);
    g_hash_table_destroy(x.outputs);
    cascade_safetensors_close(io);
    cascade_scheduler_free(s);
    return st;
}

const golden_family golden_family_scheduler = {
    .name = "scheduler",
    .matches = sched_matches,
    .run = sched_run,
};
