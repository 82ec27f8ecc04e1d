/* int8 weight-only quantization, a load option (cascade_vulkan_options.weights_int8):
 * LINEAR and CONV2D weights are stored as int8 with one fp32 scale per output channel
 * (symmetric, scale = max|w_row| / 127), and the GEMM dequantizes them as it loads its
 * tiles, so activations and accumulation keep the plan's precision. A quantized constant
 * is laid out as R fp32 scales, then the R x L int8 values row-major (four to a 32-bit
 * word, little-endian), padded to 4 bytes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vk-internal.h"

/* Output channels and row length: LINEAR w (N, K), CONV2D w (O, Cg, kh, kw). */
static void rows_of(const cascade_node *n, uint64_t *rows, uint64_t *len) {
    uint64_t l = 1;
    for (int32_t d = 1; d < n->ndim; d++)
        l *= (uint64_t)n->shape[d];
    *rows = (uint64_t)n->shape[0];
    *len = l;
}

uint64_t cascade_vk_q8_bytes(const cascade_node *n) {
    uint64_t r, l;
    rows_of(n, &r, &l);
    return 4 * r + (r * l + 3) / 4 * 4;
}

static bool is_float(cascade_dtype dt) {
    return dt == CASCADE_DTYPE_F32 || dt == CASCADE_DTYPE_F16 || dt == CASCADE_DTYPE_BF16 ||
           dt == CASCADE_DTYPE_F64;
}

cascade_status cascade_vk_q8_mark(const cascade_graph *g, bool **out, cascade_error *err) {
    *out = NULL;
    int32_t n = cascade_graph_n_nodes(g);
    bool   *q = calloc((size_t)n + 1, sizeof *q);
    bool   *used = calloc((size_t)n + 1, sizeof *used);
    if (!q || !used) {
        free(q);
        free(used);
        return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "vulkan: int8 weight table");
    }
    for (int32_t i = 0; i < n; i++) {
        const cascade_node *c = cascade_graph_node(g, i);
        q[i] = c->op == CASCADE_OP_CONSTANT && c->constant && is_float(c->constant->dtype) &&
               c->ndim >= 2 && c->shape[0] > 0 && cascade_vk_numel(c) > 0 && !c->is_output;
    }
    /* only a constant used as nothing but a GEMM weight is quantized */
    for (int32_t i = 0; i < n; i++) {
        const cascade_node *c = cascade_graph_node(g, i);
        for (int32_t j = 0; j < c->n_inputs; j++) {
            cascade_value_id id = c->inputs[j];
            if (id == CASCADE_NO_VALUE) continue;
            if ((c->op == CASCADE_OP_LINEAR || c->op == CASCADE_OP_CONV2D) && j == 1)
                used[id] = true;
            else
                q[id] = false;
        }
    }
    for (int32_t i = 0; i < n; i++)
        q[i] = q[i] && used[i];
    free(used);
    *out = q;
    return CASCADE_STATUS_OK;
}

cascade_status cascade_vk_q8_pack(const cascade_node *n, void *dst, cascade_error *err) {
    const cascade_tensor *t = n->constant;
    uint64_t              rows, len;
    rows_of(n, &rows, &len);
    float *w = malloc(sizeof *w * (size_t)(rows * len));
    if (!w)
        return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY,
                                 "vulkan: constant '%s': int8 quantization", n->name);
    cascade_status st =
        cascade_convert(t->dtype, t->data, CASCADE_DTYPE_F32, w, (size_t)(rows * len), err);
    if (st) {
        free(w);
        cascade_error_prefix(err, "vulkan: constant '%s': ", n->name);
        return st;
    }
    float  *scale = dst;
    int8_t *q = (int8_t *)((uint8_t *)dst + 4 * rows);
    memset(q, 0, (size_t)(cascade_vk_q8_bytes(n) - 4 * rows));
    for (uint64_t r = 0; r < rows; r++) {
        const float *row = w + r * len;
        float        amax = 0;
        for (uint64_t i = 0; i < len; i++)
            amax = fmaxf(amax, fabsf(row[i]));
        if (!isfinite(amax)) {
            free(w);
            return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                     "vulkan: constant '%s': row %llu has a non-finite value; "
                                     "int8 quantization needs finite weights",
                                     n->name, (unsigned long long)r);
        }
        float s = amax / 127.0f, inv = amax > 0 ? 127.0f / amax : 0.0f;
        scale[r] = s;
        for (uint64_t i = 0; i < len; i++) {
            float v = rintf(row[i] * inv);
            q[r * len + i] = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
        }
    }
    free(w);
    return CASCADE_STATUS_OK;
}
