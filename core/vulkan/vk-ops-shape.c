/* Dispatch set-up for data movement: reshape (when it cannot alias), permute, concat,
 * slice, nearest upsample, bilinear resize, average pooling, get_rows. */
#include "vk-internal.h"

static cascade_vk_shader copy_shader(const cascade_vk_plan *p) {
    return cascade_vk_pick(p, CASCADE_VK_SHADER_copy_f32_f32, CASCADE_VK_SHADER_copy_f16_f16);
}

static void outer_inner(const cascade_node *n, int32_t axis, int64_t *outer, int64_t *inner) {
    *outer = *inner = 1;
    for (int32_t d = 0; d < axis; d++) *outer *= n->shape[d];
    for (int32_t d = axis + 1; d < n->ndim; d++) *inner *= n->shape[d];
}

static cascade_status resample(cascade_vk_plan *p, cascade_value_id id, const cascade_node *n,
                               cascade_pc_resample *pc, cascade_error *err) {
    const cascade_node *x = cascade_graph_node(p->g, n->inputs[0]);
    pc->H = (uint32_t)x->shape[2];
    pc->W = (uint32_t)x->shape[3];
    pc->OH = (uint32_t)n->shape[2];
    pc->OW = (uint32_t)n->shape[3];
    pc->n = (uint32_t)cascade_vk_numel(n);
    cascade_value_id bind[2] = {n->inputs[0], id};
    return cascade_vk_dispatch_1d(
        p, cascade_vk_pick(p, CASCADE_VK_SHADER_resample_f32_f32, CASCADE_VK_SHADER_resample_f16_f16),
        bind, 2, pc, sizeof *pc, pc->n, err);
}

cascade_status cascade_vk_record_shape(cascade_vk_plan *p, cascade_value_id id,
                                       const cascade_node *n, cascade_error *err) {
    int64_t numel = cascade_vk_numel(n);
    switch (n->op) {
    case CASCADE_OP_RESHAPE: {
        /* only reached when the planner gave the reshape its own storage (an output) */
        cascade_pc_copy  pc = {.n0 = 1, .n1 = 1, .n2 = (uint32_t)numel};
        cascade_value_id bind[2] = {n->inputs[0], id};
        return cascade_vk_dispatch_1d(p, copy_shader(p), bind, 2, &pc, sizeof pc,
                                      (uint64_t)numel, err);
    }
    case CASCADE_OP_PERMUTE: {
        const cascade_node *x = cascade_graph_node(p->g, n->inputs[0]);
        int64_t             st[CASCADE_MAX_DIMS], s = 1;
        for (int32_t d = x->ndim - 1; d >= 0; d--) {
            st[d] = s;
            s *= x->shape[d];
        }
        cascade_pc_permute pc = {.n = (uint32_t)numel, .ndim = (uint32_t)n->ndim};
        for (int32_t d = 0; d < n->ndim; d++) {
            pc.ne[d] = (uint32_t)n->shape[d];
            pc.st[d] = (uint32_t)st[n->iparams[d]];
        }
        cascade_value_id bind[2] = {n->inputs[0], id};
        return cascade_vk_dispatch_1d(
            p, cascade_vk_pick(p, CASCADE_VK_SHADER_permute_f32_f32, CASCADE_VK_SHADER_permute_f16_f16),
            bind, 2, &pc, sizeof pc, (uint64_t)numel, err);
    }
    case CASCADE_OP_CONCAT: {
        int32_t axis = n->iparams[0] < 0 ? n->iparams[0] + n->ndim : n->iparams[0];
        int64_t outer, inner, off = 0;
        outer_inner(n, axis, &outer, &inner);
        for (int32_t i = 0; i < n->n_inputs; i++) {
            const cascade_node *x = cascade_graph_node(p->g, n->inputs[i]);
            int64_t             m = x->shape[axis];
            cascade_pc_copy     pc = {.n0 = (uint32_t)outer,
                                      .n1 = (uint32_t)m,
                                      .n2 = (uint32_t)inner,
                                      .is0 = (uint32_t)(m * inner),
                                      .is1 = (uint32_t)inner,
                                      .os0 = (uint32_t)(n->shape[axis] * inner),
                                      .os1 = (uint32_t)inner,
                                      .obase = (uint32_t)(off * inner)};
            cascade_value_id    bind[2] = {n->inputs[i], id};
            CASCADE_TRY(cascade_vk_dispatch_1d(p, copy_shader(p), bind, 2, &pc, sizeof pc,
                                               (uint64_t)(outer * m * inner), err));
            off += m;
        }
        return CASCADE_STATUS_OK;
    }
    case CASCADE_OP_SLICE: {
        const cascade_node *x = cascade_graph_node(p->g, n->inputs[0]);
        int32_t             axis = n->iparams[0] < 0 ? n->iparams[0] + n->ndim : n->iparams[0];
        int64_t             start = n->iparams[1] < 0 ? n->iparams[1] + x->shape[axis] : n->iparams[1];
        int64_t             len = n->shape[axis], outer, inner;
        outer_inner(n, axis, &outer, &inner);
        cascade_pc_copy  pc = {.n0 = (uint32_t)outer,
                               .n1 = (uint32_t)len,
                               .n2 = (uint32_t)inner,
                               .is0 = (uint32_t)(x->shape[axis] * inner),
                               .is1 = (uint32_t)(n->iparams[2] * inner),
                               .ibase = (uint32_t)(start * inner),
                               .os0 = (uint32_t)(len * inner),
                               .os1 = (uint32_t)inner};
        cascade_value_id bind[2] = {n->inputs[0], id};
        return cascade_vk_dispatch_1d(p, copy_shader(p), bind, 2, &pc, sizeof pc,
                                      (uint64_t)numel, err);
    }
    case CASCADE_OP_UPSAMPLE_NEAREST: {
        cascade_pc_resample pc = {.mode = 0};
        return resample(p, id, n, &pc, err);
    }
    case CASCADE_OP_RESIZE_BILINEAR: {
        cascade_pc_resample pc = {.mode = 1, .align_corners = n->iparams[2] != 0};
        return resample(p, id, n, &pc, err);
    }
    case CASCADE_OP_AVG_POOL2D: {
        cascade_pc_resample pc = {.mode = 2,
                                  .kh = (uint32_t)n->iparams[0],
                                  .kw = (uint32_t)n->iparams[1],
                                  .sh = (uint32_t)n->iparams[2],
                                  .sw = (uint32_t)n->iparams[3]};
        return resample(p, id, n, &pc, err);
    }
    case CASCADE_OP_GET_ROWS: {
        const cascade_node *t = cascade_graph_node(p->g, n->inputs[0]);
        const cascade_node *ids = cascade_graph_node(p->g, n->inputs[1]);
        cascade_pc_rows     pc = {.V = (uint32_t)t->shape[0],
                                  .D = (uint32_t)t->shape[1],
                                  .n_ids = (uint32_t)cascade_vk_numel(ids)};
        cascade_value_id    bind[3] = {n->inputs[0], n->inputs[1], id};
        return cascade_vk_dispatch_1d(
            p, cascade_vk_pick(p, CASCADE_VK_SHADER_get_rows_f32_f32, CASCADE_VK_SHADER_get_rows_f16_f16),
            bind, 3, &pc, sizeof pc, (uint64_t)numel, err);
    }
    default:
        return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED, "vulkan: node '%s': op %s",
                                 n->name, cascade_op_name(n->op));
    }
}
