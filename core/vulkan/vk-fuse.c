/* fp32 islands in fp16 plans: sin/cos of a product of inputs or constants (the sinusoidal
 * timestep embedding, t * freqs). Stored as fp16, t = 999 times a frequency near 1 lands
 * where fp16 values are 0.5 apart, so sin and cos would be off by up to 0.25; the reference
 * pipelines compute this embedding in fp32 even in fp16 models (diffusers casts after it).
 * So the factors are kept in fp32 storage and the product is formed inside the sin/cos
 * kernel (binary_f32_f16_sincos), which writes the plan's fp16 like any other op. */
#include <stdlib.h>

#include "vk-internal.h"

static bool is_trig(const cascade_node *n) {
    return n->op == CASCADE_OP_UNARY &&
           (n->iparams[0] == CASCADE_UNARY_SIN || n->iparams[0] == CASCADE_UNARY_COS);
}

static bool is_leaf(const cascade_node *n) {
    if (n->is_output) return false;
    if (n->op == CASCADE_OP_INPUT) return n->dtype == CASCADE_DTYPE_F32;
    return n->op == CASCADE_OP_CONSTANT && n->constant &&
           (n->constant->dtype == CASCADE_DTYPE_F32 || n->constant->dtype == CASCADE_DTYPE_F64 ||
            n->constant->dtype == CASCADE_DTYPE_F16 || n->constant->dtype == CASCADE_DTYPE_BF16);
}

/* Whether node c uses value v as an input. */
static bool uses(const cascade_node *c, cascade_value_id v) {
    for (int32_t j = 0; j < c->n_inputs; j++)
        if (c->inputs[j] == v) return true;
    return false;
}

cascade_status cascade_vk_fuse_mark(cascade_vk_plan *vp, cascade_error *err) {
    const cascade_graph       *g = vp->g;
    const cascade_memory_plan *mp = vp->mp;
    int32_t                    n = cascade_graph_n_nodes(g);
    if (!vp->vk->fp16) return CASCADE_STATUS_OK;
    vp->angle = calloc((size_t)n + 1, sizeof *vp->angle);
    vp->f32s = calloc((size_t)n + 1, sizeof *vp->f32s);
    if (!vp->angle || !vp->f32s)
        return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "vulkan: fusion tables");
    /* candidates: a MUL of two leaves (through reshape aliases) read only by sin/cos */
    for (int32_t i = 0; i < n; i++) {
        const cascade_node *m = cascade_graph_node(g, i);
        if (m->op != CASCADE_OP_MUL || m->is_output) continue;
        bool ok = true;
        for (int32_t j = 0; j < 2 && ok; j++)
            ok = is_leaf(cascade_graph_node(g, cascade_memory_plan_root(mp, m->inputs[j])));
        for (int32_t k = i + 1; k < n && ok; k++) {
            const cascade_node *c = cascade_graph_node(g, k);
            if (uses(c, i) && !is_trig(c)) ok = false;
        }
        vp->angle[i] = ok;
    }
    /* a leaf stays fp32 only when every reader is such a product (or an alias of it that
     * only such products read); otherwise its products are not fused. Repeat until stable. */
    for (bool changed = true; changed;) {
        changed = false;
        for (int32_t i = 0; i < n; i++)
            vp->f32s[i] = false;
        for (int32_t i = 0; i < n; i++)
            if (vp->angle[i])
                for (int32_t j = 0; j < 2; j++)
                    vp->f32s[cascade_memory_plan_root(mp, cascade_graph_node(g, i)->inputs[j])] =
                        true;
        for (int32_t k = 0; k < n; k++) {
            const cascade_node *c = cascade_graph_node(g, k);
            bool                alias = mp->values[k].placement == CASCADE_PLACE_ALIAS;
            for (int32_t j = 0; j < c->n_inputs; j++) {
                cascade_value_id x = c->inputs[j];
                if (x == CASCADE_NO_VALUE) continue;
                cascade_value_id r = cascade_memory_plan_root(mp, x);
                if (!vp->f32s[r] || vp->angle[k] || alias) continue;
                /* a reader that is neither a fused product nor an alias: unfuse r's users */
                for (int32_t i = 0; i < n; i++) {
                    if (!vp->angle[i]) continue;
                    const cascade_node *m = cascade_graph_node(g, i);
                    if (cascade_memory_plan_root(mp, m->inputs[0]) == r ||
                        cascade_memory_plan_root(mp, m->inputs[1]) == r) {
                        vp->angle[i] = false;
                        changed = true;
                    }
                }
            }
        }
    }
    return CASCADE_STATUS_OK;
}
