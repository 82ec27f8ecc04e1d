/* Dispatch set-up for the GEMM family: matmul (batched, broadcast, transposed), linear,
 * conv2d as implicit GEMM, and tiled attention. */
#include <string.h>

#include "vk-internal.h"

#define GEMM_TILE         64u  /* gemm.comp's BM = BN */
#define GEMM_TILE_COOPMAT 128u /* the same with COOPMAT */

/* The output tile of a GEMM variant (one workgroup each). */
static uint32_t gemm_tile(cascade_vk_shader s) {
    return s == CASCADE_VK_SHADER_matmul_f16_f16_coopmat ||
                   s == CASCADE_VK_SHADER_conv2d_f16_f16_coopmat
               ? GEMM_TILE_COOPMAT
               : GEMM_TILE;
}

static uint32_t ceil_div(uint64_t a, uint64_t b) { return (uint32_t)((a + b - 1) / b); }

/* The GEMM variant for a weight: the int8 one when the weight was quantized at upload, then
 * the tensor-core one where the context chose it (fp16 plans only), then fp32 or fp16
 * storage as the plan's precision picks. weight CASCADE_NO_VALUE: an activation product. */
static cascade_vk_shader pick_gemm(const cascade_vk_plan *p, cascade_value_id weight,
                                   cascade_vk_shader f32, cascade_vk_shader f16,
                                   cascade_vk_shader q8_f32, cascade_vk_shader q8_f16,
                                   cascade_vk_shader coopmat) {
    if (weight != CASCADE_NO_VALUE && p->q8 && p->q8[weight])
        return cascade_vk_pick(p, q8_f32, q8_f16);
    if (p->vk->coopmat && p->vk->fp16) return coopmat;
    return cascade_vk_pick(p, f32, f16);
}

/* Batch dims of a matmul: out batch shape (nd dims), each operand's batch strides (0 where
 * it broadcasts), collapsed to at most 2 dims. */
static cascade_status matmul_batch(const cascade_node *n, const cascade_node *a,
                                   const cascade_node *b, cascade_pc_matmul *pc, uint32_t *nb,
                                   cascade_error *err) {
    int32_t nd = n->ndim - 2;
    int64_t ne[CASCADE_MAX_DIMS], sa[CASCADE_MAX_DIMS], sb[CASCADE_MAX_DIMS];
    int64_t mat_a = a->shape[a->ndim - 1] * a->shape[a->ndim - 2];
    int64_t mat_b = b->shape[b->ndim - 1] * b->shape[b->ndim - 2];
    int64_t stride_a = mat_a, stride_b = mat_b;
    for (int32_t d = nd - 1; d >= 0; d--) {
        int32_t ad = d - (nd - (a->ndim - 2)), bd = d - (nd - (b->ndim - 2));
        int64_t na = ad >= 0 ? a->shape[ad] : 1, nbd = bd >= 0 ? b->shape[bd] : 1;
        ne[d] = n->shape[d];
        sa[d] = na == 1 ? 0 : stride_a;
        sb[d] = nbd == 1 ? 0 : stride_b;
        stride_a *= na;
        stride_b *= nbd;
    }
    int64_t ce[2] = {1, 1}, ca[2] = {0, 0}, cb[2] = {0, 0};
    int32_t k = 0;
    int64_t te[CASCADE_MAX_DIMS], ta[CASCADE_MAX_DIMS], tb[CASCADE_MAX_DIMS];
    for (int32_t d = 0; d < nd; d++) {
        if (ne[d] == 1) continue;
        if (k > 0 && ta[k - 1] == sa[d] * ne[d] && tb[k - 1] == sb[d] * ne[d]) {
            te[k - 1] *= ne[d];
            ta[k - 1] = sa[d];
            tb[k - 1] = sb[d];
            continue;
        }
        te[k] = ne[d];
        ta[k] = sa[d];
        tb[k] = sb[d];
        k++;
    }
    if (k > 2)
        return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                                 "vulkan: node '%s': batch broadcast needs %d dims (max 2)",
                                 n->name, k);
    for (int32_t i = 0; i < k; i++) {
        ce[2 - k + i] = te[i];
        ca[2 - k + i] = ta[i];
        cb[2 - k + i] = tb[i];
    }
    pc->nb1 = (uint32_t)ce[1];
    pc->sa_b0 = (uint32_t)ca[0];
    pc->sa_b1 = (uint32_t)ca[1];
    pc->sb_b0 = (uint32_t)cb[0];
    pc->sb_b1 = (uint32_t)cb[1];
    *nb = (uint32_t)(ce[0] * ce[1]);
    return CASCADE_STATUS_OK;
}

cascade_status cascade_vk_record_matmul(cascade_vk_plan *p, cascade_value_id id,
                                        const cascade_node *n, cascade_error *err) {
    switch (n->op) {
    case CASCADE_OP_MATMUL: {
        const cascade_node *a = cascade_graph_node(p->g, n->inputs[0]);
        const cascade_node *b = cascade_graph_node(p->g, n->inputs[1]);
        bool                bt = n->iparams[0] == 1;
        cascade_pc_matmul   pc = {0};
        pc.M = (uint32_t)a->shape[a->ndim - 2];
        pc.K = (uint32_t)a->shape[a->ndim - 1];
        pc.N = (uint32_t)n->shape[n->ndim - 1];
        pc.sa_m = pc.K;
        pc.sa_k = 1;
        pc.sb_k = bt ? 1 : pc.N;
        pc.sb_n = bt ? pc.K : 1;
        uint32_t nb = 1;
        CASCADE_TRY(matmul_batch(n, a, b, &pc, &nb, err));
        if (nb > 65535)
            return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                                     "vulkan: node '%s': %u batches (max 65535)", n->name, nb);
        cascade_value_id bind[4] = {n->inputs[0], n->inputs[1], CASCADE_NO_VALUE, id};
        cascade_vk_shader s = pick_gemm(p, CASCADE_NO_VALUE, CASCADE_VK_SHADER_matmul_f32_f32,
                                        CASCADE_VK_SHADER_matmul_f16_f16,
                                        CASCADE_VK_SHADER_matmul_f32_f32,
                                        CASCADE_VK_SHADER_matmul_f16_f16,
                                        CASCADE_VK_SHADER_matmul_f16_f16_coopmat);
        return cascade_vk_dispatch(p, s, bind, 4, &pc, sizeof pc, ceil_div(pc.N, gemm_tile(s)),
                                   ceil_div(pc.M, gemm_tile(s)), nb, err);
    }
    case CASCADE_OP_LINEAR: {
        const cascade_node *x = cascade_graph_node(p->g, n->inputs[0]);
        cascade_pc_matmul   pc = {0};
        pc.K = (uint32_t)x->shape[x->ndim - 1];
        pc.N = (uint32_t)n->shape[n->ndim - 1];
        pc.M = (uint32_t)(cascade_vk_numel(x) / (pc.K ? pc.K : 1));
        pc.nb1 = 1;
        pc.sa_m = pc.K;
        pc.sa_k = 1;
        pc.sb_k = 1;
        pc.sb_n = pc.K;
        cascade_value_id bias = n->n_inputs > 2 ? n->inputs[2] : CASCADE_NO_VALUE;
        pc.has_bias = bias != CASCADE_NO_VALUE;
        cascade_value_id  bind[4] = {n->inputs[0], n->inputs[1], bias, id};
        cascade_vk_shader s = pick_gemm(p, n->inputs[1], CASCADE_VK_SHADER_matmul_f32_f32,
                                        CASCADE_VK_SHADER_matmul_f16_f16,
                                        CASCADE_VK_SHADER_matmul_f32_f32_q8,
                                        CASCADE_VK_SHADER_matmul_f16_f16_q8,
                                        CASCADE_VK_SHADER_matmul_f16_f16_coopmat);
        return cascade_vk_dispatch(p, s, bind, 4, &pc, sizeof pc, ceil_div(pc.N, gemm_tile(s)),
                                   ceil_div(pc.M, gemm_tile(s)), 1, err);
    }
    case CASCADE_OP_CONV2D: {
        const cascade_node *x = cascade_graph_node(p->g, n->inputs[0]);
        const cascade_node *w = cascade_graph_node(p->g, n->inputs[1]);
        cascade_value_id    bias = n->n_inputs > 2 ? n->inputs[2] : CASCADE_NO_VALUE;
        cascade_pc_conv2d   pc = {
              .N = (uint32_t)x->shape[0],
              .C = (uint32_t)x->shape[1],
              .H = (uint32_t)x->shape[2],
              .W = (uint32_t)x->shape[3],
              .O = (uint32_t)n->shape[1],
              .OH = (uint32_t)n->shape[2],
              .OW = (uint32_t)n->shape[3],
              .kh = (uint32_t)w->shape[2],
              .kw = (uint32_t)w->shape[3],
              .sh = (uint32_t)n->iparams[0],
              .sw = (uint32_t)n->iparams[1],
              .pt = (uint32_t)n->iparams[2],
              .pl = (uint32_t)n->iparams[3],
              .dh = (uint32_t)n->iparams[6],
              .dw = (uint32_t)n->iparams[7],
              .groups = (uint32_t)(n->iparams[8] > 0 ? n->iparams[8] : 1),
              .has_bias = bias != CASCADE_NO_VALUE,
        };
        uint64_t cols = (uint64_t)pc.N * pc.OH * pc.OW;
        if ((uint64_t)pc.C / pc.groups * pc.kh * pc.kw >= (1u << 24))
            return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                                     "vulkan: node '%s': conv reduction of %llu exceeds 2^24",
                                     n->name,
                                     (unsigned long long)pc.C / pc.groups * pc.kh * pc.kw);
        cascade_value_id  bind[4] = {n->inputs[0], n->inputs[1], bias, id};
        cascade_vk_shader s = pick_gemm(p, n->inputs[1], CASCADE_VK_SHADER_conv2d_f32_f32,
                                        CASCADE_VK_SHADER_conv2d_f16_f16,
                                        CASCADE_VK_SHADER_conv2d_f32_f32_q8,
                                        CASCADE_VK_SHADER_conv2d_f16_f16_q8,
                                        CASCADE_VK_SHADER_conv2d_f16_f16_coopmat);
        return cascade_vk_dispatch(p, s, bind, 4, &pc, sizeof pc, ceil_div(cols, gemm_tile(s)),
                                   ceil_div(pc.O / pc.groups, gemm_tile(s)), pc.groups, err);
    }
    case CASCADE_OP_ATTENTION: {
        const cascade_node *q = cascade_graph_node(p->g, n->inputs[0]);
        const cascade_node *k = cascade_graph_node(p->g, n->inputs[1]);
        const cascade_node *v = cascade_graph_node(p->g, n->inputs[2]);
        cascade_value_id    bias = n->n_inputs > 3 ? n->inputs[3] : CASCADE_NO_VALUE;
        cascade_pc_attention pc = {
            .H = (uint32_t)q->shape[1],
            .Nq = (uint32_t)q->shape[2],
            .Nk = (uint32_t)k->shape[2],
            .D = (uint32_t)q->shape[3],
            .Dv = (uint32_t)v->shape[3],
            .has_bias = bias != CASCADE_NO_VALUE,
            .scale = n->fparams[0],
        };
        if (bias != CASCADE_NO_VALUE) {
            const cascade_node *bn = cascade_graph_node(p->g, bias);
            int64_t             s = 1;
            for (int32_t d = 3; d >= 0; d--) {
                int32_t bd = d - (4 - bn->ndim);
                int64_t ne = bd >= 0 ? bn->shape[bd] : 1;
                pc.bs[d] = ne == 1 ? 0 : (uint32_t)s;
                s *= ne;
            }
        }
        uint64_t bh = (uint64_t)q->shape[0] * q->shape[1];
        if (bh > 65535)
            return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                                     "vulkan: node '%s': %llu batch x heads (max 65535)", n->name,
                                     (unsigned long long)bh);
        cascade_value_id bind[5] = {n->inputs[0], n->inputs[1], n->inputs[2], bias, id};
        return cascade_vk_dispatch(p,
                                   cascade_vk_pick(p, CASCADE_VK_SHADER_attention_f32_f32,
                                                   CASCADE_VK_SHADER_attention_f16_f16),
                                   bind, 5, &pc, sizeof pc, ceil_div(pc.Nq, 8), (uint32_t)bh, 1,
                                   err);
    }
    default:
        return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED, "vulkan: node '%s': op %s",
                                 n->name, cascade_op_name(n->op));
    }
}
