/* Dispatch set-up for elementwise ops: binary with broadcasting, unary, scale, clamp, cast. */
#include <string.h>

#include "vk-internal.h"

int64_t cascade_vk_numel(const cascade_node *n) {
    int64_t e = 1;
    for (int32_t i = 0; i < n->ndim; i++)
        e *= n->shape[i];
    return e;
}

/* Broadcast strides of x (right-aligned to out's ndim), 0 on broadcast dims. */
static void bstrides(const cascade_node *out, const cascade_node *x, int64_t *st) {
    int64_t s = 1;
    for (int32_t d = out->ndim - 1; d >= 0; d--) {
        int32_t xd = d - (out->ndim - x->ndim);
        int64_t ne = xd >= 0 ? x->shape[xd] : 1;
        st[d] = ne == 1 ? 0 : s;
        s *= ne;
    }
}

/* Push constants of the binary op n = a (op) b: broadcast strides with size-1 dims dropped
 * and dims that stay affine for both operands merged, at most 4 left. */
static cascade_status binary_pc(const cascade_vk_plan *p, const cascade_node *n,
                                cascade_pc_binary *out, cascade_error *err) {
    int64_t             numel = cascade_vk_numel(n);
    const cascade_node *a = cascade_graph_node(p->g, n->inputs[0]);
    const cascade_node *b = cascade_graph_node(p->g, n->inputs[1]);
    int64_t             sa[CASCADE_MAX_DIMS], sb[CASCADE_MAX_DIMS];
    bstrides(n, a, sa);
    bstrides(n, b, sb);
    /* drop size-1 dims, merge dims that stay affine for both operands */
    int64_t ne[CASCADE_MAX_DIMS], ca[CASCADE_MAX_DIMS], cb[CASCADE_MAX_DIMS];
    int32_t k = 0;
    for (int32_t d = 0; d < n->ndim; d++) {
        if (n->shape[d] == 1) continue;
        if (k > 0 && ca[k - 1] == sa[d] * n->shape[d] && cb[k - 1] == sb[d] * n->shape[d]) {
            ne[k - 1] *= n->shape[d];
            ca[k - 1] = sa[d];
            cb[k - 1] = sb[d];
            continue;
        }
        ne[k] = n->shape[d];
        ca[k] = sa[d];
        cb[k] = sb[d];
        k++;
    }
    if (k > 4)
        return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                                 "vulkan: node '%s': broadcast needs %d dims (max 4)", n->name, k);
    cascade_pc_binary pc = {.n = (uint32_t)numel, .op = (uint32_t)(n->op - CASCADE_OP_ADD)};
    int32_t           off = 4 - k;
    for (int32_t d = 0; d < 4; d++) {
        pc.ne[d] = d < off ? 1 : (uint32_t)ne[d - off];
        pc.sa[d] = d < off ? 0 : (uint32_t)ca[d - off];
        pc.sb[d] = d < off ? 0 : (uint32_t)cb[d - off];
    }
    *out = pc;
    return CASCADE_STATUS_OK;
}

cascade_status cascade_vk_record_elementwise(cascade_vk_plan *p, cascade_value_id id,
                                             const cascade_node *n, cascade_error *err) {
    int64_t numel = cascade_vk_numel(n);
    switch (n->op) {
    case CASCADE_OP_ADD:
    case CASCADE_OP_SUB:
    case CASCADE_OP_MUL:
    case CASCADE_OP_DIV: {
        cascade_pc_binary pc;
        CASCADE_TRY(binary_pc(p, n, &pc, err));
        cascade_value_id bind[3] = {n->inputs[0], n->inputs[1], id};
        return cascade_vk_dispatch_1d(
            p,
            cascade_vk_pick(p, CASCADE_VK_SHADER_binary_f32_f32, CASCADE_VK_SHADER_binary_f16_f16),
            bind, 3, &pc, sizeof pc, (uint64_t)numel, err);
    }
    case CASCADE_OP_UNARY:
        if (p->angle && p->angle[n->inputs[0]]) {
            /* sin/cos of a fused fp32 product (vk-fuse.c): the factors' roots are bound */
            const cascade_node *m = cascade_graph_node(p->g, n->inputs[0]);
            cascade_pc_binary   pc;
            CASCADE_TRY(binary_pc(p, m, &pc, err));
            pc.op = n->iparams[0] == CASCADE_UNARY_SIN ? 4u : 5u;
            cascade_value_id bind[3] = {cascade_memory_plan_root(p->mp, m->inputs[0]),
                                        cascade_memory_plan_root(p->mp, m->inputs[1]), id};
            return cascade_vk_dispatch_1d(p, CASCADE_VK_SHADER_binary_f32_f16_sincos, bind, 3, &pc,
                                          sizeof pc, (uint64_t)numel, err);
        }
        /* fall through */
    case CASCADE_OP_SCALE:
    case CASCADE_OP_CLAMP: {
        cascade_pc_unary pc = {.n = (uint32_t)numel, .f0 = n->fparams[0], .f1 = n->fparams[1]};
        pc.op = n->op == CASCADE_OP_UNARY   ? (uint32_t)n->iparams[0]
                : n->op == CASCADE_OP_SCALE ? 100u
                                            : 101u;
        cascade_value_id bind[2] = {n->inputs[0], id};
        return cascade_vk_dispatch_1d(
            p, cascade_vk_pick(p, CASCADE_VK_SHADER_unary_f32_f32, CASCADE_VK_SHADER_unary_f16_f16),
            bind, 2, &pc, sizeof pc, (uint64_t)numel, err);
    }
    case CASCADE_OP_CAST: {
        const cascade_node *x = cascade_graph_node(p->g, n->inputs[0]);
        bool                in_int = x->dtype == CASCADE_DTYPE_I32;
        bool                out_int = n->dtype == CASCADE_DTYPE_I32;
        cascade_pc_cast     pc = {.n = (uint32_t)numel};
        if (in_int)
            pc.mode = out_int ? 5 : 4;
        else if (out_int)
            pc.mode = 3;
        else
            pc.mode = n->dtype == CASCADE_DTYPE_F16 ? 1 : n->dtype == CASCADE_DTYPE_BF16 ? 2 : 0;
        cascade_value_id bind[2] = {n->inputs[0], id};
        return cascade_vk_dispatch_1d(
            p, cascade_vk_pick(p, CASCADE_VK_SHADER_cast_f32_f32, CASCADE_VK_SHADER_cast_f16_f16),
            bind, 2, &pc, sizeof pc, (uint64_t)numel, err);
    }
    default:
        return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED, "vulkan: node '%s': op %s",
                                 n->name, cascade_op_name(n->op));
    }
}
