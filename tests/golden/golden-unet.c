/* Family: diffusers.UNet2DConditionModel. Data-driven: shapes come from io.safetensors, the
 * model from config.json + weights.safetensors. Every output under "outputs" is checked:
 * names containing "masked" are computed with encoder_attention_mask, the others without.
 * Debug tensors "hook/<module>" are compared too (tolerance scaled by their magnitude) and
 * printed when verbose or when an output fails, to locate the first diverging module; the
 * verdict rests on the outputs, as the golden README says. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cascade/unet.h"
#include "golden.h"
#include "test-common.h"

static bool unet_matches(const golden_case *c) {
    return c->class_name && !strcmp(c->class_name, "diffusers.UNet2DConditionModel");
}

typedef struct unet_io {
    cascade_tensor *sample, *timestep, *ehs, *mask, *labels;
} unet_io;

static void unet_io_free(unet_io *x) {
    cascade_tensor_free(x->sample);
    cascade_tensor_free(x->timestep);
    cascade_tensor_free(x->ehs);
    cascade_tensor_free(x->mask);
    cascade_tensor_free(x->labels);
}

static cascade_status load_opt(const cascade_safetensors *io, const char *name,
                               cascade_tensor **out, cascade_error *err) {
    if (!cascade_safetensors_find(io, name)) return CASCADE_STATUS_OK;
    return golden_load(io, name, CASCADE_DTYPE_F32, out, err);
}

static double json_absmax(const golden_case *c, const char *section, const char *name) {
    if (!json_object_has_member(c->json, section)) return 0;
    JsonObject *s = json_object_get_object_member(c->json, section);
    if (!s || !json_object_has_member(s, name)) return 0;
    JsonObject *e = json_object_get_object_member(s, name);
    if (!e || !json_object_has_member(e, "absmax")) return 0;
    return json_object_get_double_member(e, "absmax");
}

/* Compares every hook the graph exposes with io's debug tensors; prints one line each. */
static void check_hooks(const golden_case *c, const cascade_safetensors *io, cascade_plan *p,
                        const cascade_graph *g, double atol, double rtol, double out_absmax) {
    for (size_t i = 0; i < cascade_safetensors_count(io); i++) {
        const cascade_st_entry *e = cascade_safetensors_entry(io, i);
        if (strncmp(e->name, "hook/", 5) || cascade_graph_find(g, e->name) == CASCADE_NO_VALUE)
            continue;
        cascade_tensor *want = NULL;
        cascade_error   err;
        cascade_error_init(&err);
        if (golden_load(io, e->name, CASCADE_DTYPE_F32, &want, &err)) continue;
        size_t n = (size_t)cascade_tensor_numel(want);
        float *got = malloc(sizeof *got * n);
        if (got && !cascade_plan_read_named(p, e->name, got, sizeof *got * n, &err)) {
            double    hmax = json_absmax(c, "debug", e->name);
            double    s = out_absmax > 0 && hmax > out_absmax ? hmax / out_absmax : 1.0;
            test_diff d;
            bool      ok = test_compare(got, want->data, n, atol * s, rtol, &d);
            fprintf(stderr, "  %-28s %s max_abs=%.3g nmse=%.3g\n", e->name, ok ? "ok  " : "DIFF",
                    d.max_abs, d.nmse);
        }
        free(got);
        cascade_tensor_free(want);
    }
}

/* Builds, plans and runs the U-Net on the io inputs (with or without the mask), then checks
 * `output` against io. */
static cascade_status run_one(const golden_case *c, const cascade_safetensors *io,
                              const cascade_unet *u, const unet_io *x, const char *output,
                              bool masked, golden_result *r, cascade_error *err) {
    cascade_weights *w = NULL;
    cascade_graph   *g = NULL;
    cascade_plan    *p = NULL;
    float           *got = NULL;
    cascade_dtype    wdt = !strcmp(c->precision, "fp16") ? CASCADE_DTYPE_F16 : CASCADE_DTYPE_F32;
    cascade_status   st;
    char            *wpath = golden_path(c, "weights.safetensors");
    cascade_unet_build_options o;
    cascade_unet_build_options_init(&o, u);
    o.batch = x->sample->shape[0];
    o.height = x->sample->shape[2];
    o.width = x->sample->shape[3];
    o.seq_len = x->ehs->shape[1];
    o.encoder_attention_mask = masked;
    o.hooks = !masked;
    if ((st = cascade_weights_open_file(wpath, wdt, &w, err))) goto done;
    if ((st = cascade_graph_new(&g, err))) goto done;
    if ((st = cascade_unet_build(u, w, g, &o, err))) goto done;
    if ((st = cascade_weights_check_all_used(w, err))) goto done;
    if ((st = cascade_plan_new(c->be, g, &p, err))) goto done;
    st = cascade_plan_write_named(p, CASCADE_UNET_SAMPLE, x->sample->data,
                                  cascade_tensor_nbytes(x->sample), err);
    if (!st)
        st = cascade_plan_write_named(p, CASCADE_UNET_TIMESTEP, x->timestep->data,
                                      cascade_tensor_nbytes(x->timestep), err);
    if (!st)
        st = cascade_plan_write_named(p, CASCADE_UNET_ENCODER_HIDDEN_STATES, x->ehs->data,
                                      cascade_tensor_nbytes(x->ehs), err);
    if (!st && masked)
        st = cascade_plan_write_named(p, CASCADE_UNET_ENCODER_ATTENTION_MASK, x->mask->data,
                                      cascade_tensor_nbytes(x->mask), err);
    if (!st && cascade_graph_find(g, CASCADE_UNET_CLASS_LABELS) != CASCADE_NO_VALUE) {
        if (!x->labels) {
            st = cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                   "%s: the config needs class_labels, io has none", c->name);
            goto done;
        }
        st = cascade_plan_write_named(p, CASCADE_UNET_CLASS_LABELS, x->labels->data,
                                      cascade_tensor_nbytes(x->labels), err);
    }
    if (st) goto done;
    if ((st = cascade_plan_run(p, NULL, err))) goto done;
    {
        cascade_unet_info info;
        cascade_unet_get_info(u, &info);
        size_t n = (size_t)(o.batch * info.out_channels * o.height * o.width);
        got = malloc(sizeof *got * n);
        if (!got) {
            st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "out of memory");
            goto done;
        }
        if ((st = cascade_plan_read_named(p, CASCADE_UNET_OUT_SAMPLE, got, sizeof *got * n, err)))
            goto done;
        golden_verdict before = r->verdict;
        if ((st = golden_check(c, io, output, got, n, r, err))) goto done;
        if (o.hooks && (c->verbose || r->verdict != before)) {
            double atol = 0, rtol = 0;
            golden_tolerance(c, output, &atol, &rtol);
            fprintf(stderr, "%s: debug hooks (first DIFF locates the mismatch):\n", c->name);
            check_hooks(c, io, p, g, atol, rtol, json_absmax(c, "outputs", output));
        }
    }
done:
    cascade_plan_free(p);
    cascade_graph_free(g);
    cascade_weights_free(w);
    free(got);
    g_free(wpath);
    return st;
}

static cascade_status unet_run(const golden_case *c, golden_result *r, cascade_error *err) {
    cascade_safetensors *io = NULL;
    cascade_unet        *u = NULL;
    unet_io              x = {0};
    GList               *names = NULL;
    cascade_status       st;
    char                *cfg = golden_path(c, "config.json");
    if ((st = golden_open_io(c, "io.safetensors", &io, err))) goto done;
    if ((st = golden_load(io, CASCADE_UNET_SAMPLE, CASCADE_DTYPE_F32, &x.sample, err))) goto done;
    if ((st = golden_load(io, CASCADE_UNET_TIMESTEP, CASCADE_DTYPE_F32, &x.timestep, err)))
        goto done;
    if ((st = golden_load(io, CASCADE_UNET_ENCODER_HIDDEN_STATES, CASCADE_DTYPE_F32, &x.ehs, err)))
        goto done;
    if ((st = load_opt(io, CASCADE_UNET_ENCODER_ATTENTION_MASK, &x.mask, err))) goto done;
    if ((st = load_opt(io, CASCADE_UNET_CLASS_LABELS, &x.labels, err))) goto done;
    if (x.sample->ndim != 4 || x.ehs->ndim != 3 || x.timestep->ndim != 1) {
        st = cascade_error_set(err, CASCADE_STATUS_FORMAT,
                               "%s: expected sample (B,C,H,W), timestep (B), "
                               "encoder_hidden_states (B,N,D)",
                               c->name);
        goto done;
    }
    if ((st = cascade_unet_new_from_file(cfg, &u, err))) goto done;
    names = golden_output_names(c);
    for (GList *l = names; l && !st; l = l->next) {
        const char *out = l->data;
        bool        masked = strstr(out, "masked") != NULL;
        if (masked && !x.mask) {
            st = cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                   "%s: output '%s' needs encoder_attention_mask in io", c->name,
                                   out);
            break;
        }
        st = run_one(c, io, u, &x, out, masked, r, err);
    }
done:
    g_list_free(names);
    cascade_unet_free(u);
    unet_io_free(&x);
    cascade_safetensors_close(io);
    g_free(cfg);
    return st;
}

const golden_family golden_family_unet = {"unet", unet_matches, unet_run};
