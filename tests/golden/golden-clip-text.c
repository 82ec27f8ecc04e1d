/* Family: transformers.CLIPTextModel (and CLIPTextModelWithProjection). One graph gives
 * last_hidden_state, pooler_output (text_embeds) and hidden_states.*; "clip_skip_<k>" and
 * "last_hidden_state_masked" each come from a graph built with that option. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cascade/clip-text.h"
#include "golden.h"

static bool clip_matches(const golden_case *c) {
    return c->class_name && (!strcmp(c->class_name, "transformers.CLIPTextModel") ||
                             !strcmp(c->class_name, "transformers.CLIPTextModelWithProjection"));
}

typedef struct clip_ctx {
    const golden_case         *c;
    const cascade_safetensors *io;
    const cascade_clip_text   *m;
    const cascade_tensor      *ids, *mask; /* (B, N) I32, F32 */
    int32_t                   *rows;       /* (B) pooled rows */
} clip_ctx;

/* Builds the encoder with o, runs it on the case's inputs and checks the graph's value
 * `value` against each golden name in `names` (n of them). */
static cascade_status run_checked(const clip_ctx *x, const cascade_clip_text_build_options *o,
                                  const char *value, const char *const *names, size_t n,
                                  golden_result *r, cascade_error *err) {
    cascade_graph *g = NULL;
    cascade_plan  *p = NULL;
    int64_t        B = x->ids->shape[0];
    cascade_status st;
    if ((st = cascade_graph_new(&g, err))) return st;
    if ((st = cascade_clip_text_build_ex(x->m, g, o, err))) goto done;
    if ((st = cascade_plan_new(x->c->be, g, &p, err))) goto done;
    if ((st = cascade_plan_write_named(p, "input_ids", x->ids->data, cascade_tensor_nbytes(x->ids), err)))
        goto done;
    if (o->attention_mask &&
        (st = cascade_plan_write_named(p, "attention_mask", x->mask->data,
                                       cascade_tensor_nbytes(x->mask), err)))
        goto done;
    if (o->pooled &&
        (st = cascade_plan_write_named(p, "pooled_rows", x->rows, sizeof(int32_t) * (size_t)B, err)))
        goto done;
    if ((st = cascade_plan_run(p, NULL, err))) goto done;
    for (size_t i = 0; i < n && st == CASCADE_STATUS_OK; i++)
        st = golden_check_plan(x->c, x->io, p, value ? value : names[i], names[i], r, err);
done:
    cascade_plan_free(p);
    cascade_graph_free(g);
    return st;
}

static cascade_status check_all(const clip_ctx *x, golden_result *r, cascade_error *err) {
    GList                          *outs = golden_output_names(x->c);
    GPtrArray                      *plain = g_ptr_array_new();
    cascade_clip_text_build_options o;
    cascade_status                  st = CASCADE_STATUS_OK;
    cascade_clip_text_build_options_init(&o, x->m);
    o.batch = x->ids->shape[0];
    o.seq = x->ids->shape[1];
    for (GList *l = outs; l && st == CASCADE_STATUS_OK; l = l->next) {
        const char                     *name = l->data;
        cascade_clip_text_build_options v = o;
        long long                       k = 0;
        char                            tail;
        if (sscanf(name, "clip_skip_%lld%c", &k, &tail) == 1) {
            v.skip_layers = k;
            st = run_checked(x, &v, "last_hidden_state", &name, 1, r, err);
        } else if (!strcmp(name, "last_hidden_state_masked")) {
            if (!x->mask) {
                st = cascade_error_set(err, CASCADE_STATUS_FORMAT, "%s: %s needs the input attention_mask",
                                       x->c->name, name);
                break;
            }
            v.attention_mask = true;
            st = run_checked(x, &v, "last_hidden_state", &name, 1, r, err);
        } else {
            g_ptr_array_add(plain, (gpointer)name); /* named as the graph names them */
        }
    }
    if (st == CASCADE_STATUS_OK && plain->len) {
        o.pooled = o.debug = true;
        st = run_checked(x, &o, NULL, (const char *const *)plain->pdata, plain->len, r, err);
    }
    g_ptr_array_free(plain, TRUE);
    g_list_free(outs);
    return st;
}

static cascade_status clip_run(const golden_case *c, golden_result *r, cascade_error *err) {
    cascade_safetensors *io = NULL;
    cascade_clip_text   *m = NULL;
    cascade_tensor      *ids = NULL, *mask = NULL;
    int32_t             *rows = NULL;
    cascade_dtype        wdt = golden_is_fp16(c) ? CASCADE_DTYPE_F16 : CASCADE_DTYPE_F32;
    cascade_status       st;
    if ((st = golden_open_io(c, "io.safetensors", &io, err))) goto done;
    if ((st = golden_load(io, "input_ids", CASCADE_DTYPE_I32, &ids, err))) goto done;
    if (ids->ndim != 2) {
        st = cascade_error_set(err, CASCADE_STATUS_FORMAT, "input_ids: expected (batch, seq)");
        goto done;
    }
    if (cascade_safetensors_find(io, "attention_mask")) {
        if ((st = golden_load(io, "attention_mask", CASCADE_DTYPE_F32, &mask, err))) goto done;
        if (cascade_tensor_numel(mask) != cascade_tensor_numel(ids)) {
            st = cascade_error_set(err, CASCADE_STATUS_FORMAT, "attention_mask: expected input_ids' shape");
            goto done;
        }
    }
    rows = malloc(sizeof *rows * (size_t)ids->shape[0]);
    if (!rows) {
        st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    cascade_clip_text_pooled_rows(ids->data, ids->shape[0], ids->shape[1], rows);
    if ((st = cascade_clip_text_load(c->dir, wdt, &m, err))) goto done;
    clip_ctx x = {c, io, m, ids, mask, rows};
    st = check_all(&x, r, err);
done:
    cascade_clip_text_free(m);
    free(rows);
    cascade_tensor_free(ids);
    cascade_tensor_free(mask);
    cascade_safetensors_close(io);
    return st;
}

const golden_family golden_family_clip_text = {"clip_text", clip_matches, clip_run};
