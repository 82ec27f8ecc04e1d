/* Family: transformers.T5EncoderModel. */
#include <stdlib.h>
#include <string.h>

#include "cascade/t5.h"
#include "golden.h"

static bool t5_matches(const golden_case *c) {
    return c->class_name && !strcmp(c->class_name, "transformers.T5EncoderModel");
}

/* Reads every output the case lists from the plan and checks it. */
static cascade_status check_outputs(const golden_case *c, const cascade_safetensors *io,
                                    cascade_plan *p, golden_result *r, cascade_error *err) {
    GList         *names = golden_output_names(c);
    cascade_status st = CASCADE_STATUS_OK;
    for (GList *l = names; l && st == CASCADE_STATUS_OK; l = l->next)
        st = golden_check_plan(c, io, p, l->data, l->data, r, err);
    g_list_free(names);
    return st;
}

static cascade_status t5_run(const golden_case *c, golden_result *r, cascade_error *err) {
    cascade_safetensors *io = NULL;
    cascade_t5          *t5 = NULL;
    cascade_graph       *g = NULL;
    cascade_plan        *p = NULL;
    cascade_tensor      *ids = NULL, *mask = NULL;
    cascade_dtype        wdt = !strcmp(c->precision, "fp16") ? CASCADE_DTYPE_F16 : CASCADE_DTYPE_F32;
    cascade_status       st;
    if ((st = golden_open_io(c, "io.safetensors", &io, err))) goto done;
    if ((st = golden_load(io, "input_ids", CASCADE_DTYPE_I32, &ids, err))) goto done;
    if ((st = golden_load(io, "attention_mask", CASCADE_DTYPE_F32, &mask, err))) goto done;
    if (ids->ndim != 2) {
        st = cascade_error_set(err, CASCADE_STATUS_FORMAT, "input_ids: expected (batch, seq)");
        goto done;
    }
    if ((st = cascade_t5_load(c->dir, wdt, &t5, err))) goto done;
    if ((st = cascade_graph_new(&g, err))) goto done;
    if ((st = cascade_t5_build(t5, g, ids->shape[0], ids->shape[1], true, err))) goto done;
    if ((st = cascade_plan_new(c->be, g, &p, err))) goto done;
    if ((st = cascade_plan_write_named(p, "input_ids", ids->data, cascade_tensor_nbytes(ids), err)))
        goto done;
    if ((st = cascade_plan_write_named(p, "attention_mask", mask->data, cascade_tensor_nbytes(mask),
                                       err)))
        goto done;
    if ((st = cascade_plan_run(p, NULL, err))) goto done;
    st = check_outputs(c, io, p, r, err);
done:
    cascade_plan_free(p);
    cascade_graph_free(g);
    cascade_t5_free(t5);
    cascade_tensor_free(ids);
    cascade_tensor_free(mask);
    cascade_safetensors_close(io);
    return st;
}

const golden_family golden_family_t5_encoder = {"t5_encoder", t5_matches, t5_run};
