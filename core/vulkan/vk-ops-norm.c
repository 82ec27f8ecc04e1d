/* Dispatch set-up for normalisations and reductions: group norm (+ SiLU), layer norm,
 * RMS norm, softmax, mean. */
#include "vk-internal.h"

static cascade_value_id opt_input(const cascade_node *n, int32_t i) {
    return i < n->n_inputs ? n->inputs[i] : CASCADE_NO_VALUE;
}

cascade_status cascade_vk_record_norm(cascade_vk_plan *p, cascade_value_id id,
                                      const cascade_node *n, cascade_error *err) {
    int64_t numel = cascade_vk_numel(n);
    switch (n->op) {
    case CASCADE_OP_GROUP_NORM:
    case CASCADE_OP_LAYER_NORM:
    case CASCADE_OP_RMS_NORM: {
        cascade_value_id w = opt_input(n, 1), b = opt_input(n, 2);
        cascade_pc_norm  pc = {.G = 1, .S = 1, .eps = n->fparams[0]};
        if (n->op == CASCADE_OP_GROUP_NORM) {
            int64_t s = 1;
            for (int32_t d = 2; d < n->ndim; d++) s *= n->shape[d];
            pc.G = (uint32_t)n->iparams[0];
            pc.S = (uint32_t)s;
            pc.rows = (uint32_t)(n->shape[0] * pc.G);
            pc.L = (uint32_t)(n->shape[1] / pc.G * s);
            if (n->iparams[1]) pc.flags |= 1u;
        } else {
            pc.L = (uint32_t)n->shape[n->ndim - 1];
            pc.rows = (uint32_t)(pc.L ? numel / pc.L : 0);
            pc.mode = n->op == CASCADE_OP_RMS_NORM;
            if (n->op == CASCADE_OP_RMS_NORM) b = CASCADE_NO_VALUE;
        }
        if (w != CASCADE_NO_VALUE) pc.flags |= 2u;
        if (b != CASCADE_NO_VALUE) pc.flags |= 4u;
        cascade_value_id bind[4] = {n->inputs[0], w, b, id};
        return cascade_vk_dispatch_rows(
            p, cascade_vk_pick(p, CASCADE_VK_SHADER_norm_f32_f32, CASCADE_VK_SHADER_norm_f16_f16),
            bind, 4, &pc, sizeof pc, pc.rows, err);
    }
    case CASCADE_OP_SOFTMAX: {
        cascade_pc_reduce pc = {.len = (uint32_t)n->shape[n->ndim - 1], .inner = 1};
        pc.outer = (uint32_t)(pc.len ? numel / pc.len : 0);
        cascade_value_id bind[2] = {n->inputs[0], id};
        return cascade_vk_dispatch_rows(
            p, cascade_vk_pick(p, CASCADE_VK_SHADER_softmax_f32_f32, CASCADE_VK_SHADER_softmax_f16_f16),
            bind, 2, &pc, sizeof pc, pc.outer, err);
    }
    case CASCADE_OP_MEAN: {
        const cascade_node *x = cascade_graph_node(p->g, n->inputs[0]);
        int32_t             axis = n->iparams[0] < 0 ? n->iparams[0] + x->ndim : n->iparams[0];
        cascade_pc_reduce   pc = {.outer = 1, .len = (uint32_t)x->shape[axis], .inner = 1};
        for (int32_t d = 0; d < axis; d++) pc.outer *= (uint32_t)x->shape[d];
        for (int32_t d = axis + 1; d < x->ndim; d++) pc.inner *= (uint32_t)x->shape[d];
        cascade_value_id bind[2] = {n->inputs[0], id};
        return cascade_vk_dispatch_1d(
            p, cascade_vk_pick(p, CASCADE_VK_SHADER_mean_f32_f32, CASCADE_VK_SHADER_mean_f16_f16),
            bind, 2, &pc, sizeof pc, (uint64_t)pc.outer * pc.inner, err);
    }
    default:
        return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED, "vulkan: node '%s': op %s",
                                 n->name, cascade_op_name(n->op));
    }
}
