/* The Vulkan backend's vtable: plans (memory placement, constant upload, one recorded
 * command buffer per plan), runs, input writes and output reads through staging. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk-internal.h"

#define GUARD_BYTES 256u
#define GUARD_WORD 0xA5C3A5C3u
#define SLAB_BYTES (256ull << 20)

typedef struct vk_backend {
    cascade_backend base;
    cascade_vk_ctx *vk;
} vk_backend;

static cascade_vk_ctx *ctx_of(const cascade_backend *be) { return ((vk_backend *)be)->vk; }

static bool is_float_dtype(cascade_dtype dt) {
    return dt == CASCADE_DTYPE_F32 || dt == CASCADE_DTYPE_F16 || dt == CASCADE_DTYPE_BF16;
}

/* Bytes per element as stored: I32 stays int32; every float value is the storage type. */
static size_t elem_size(const cascade_node *n, void *ud) {
    const cascade_vk_ctx *vk = ud;
    if (n->dtype == CASCADE_DTYPE_I32) return 4;
    return vk->fp16 ? 2 : 4;
}

static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

/* ---- supports ---- */

bool cascade_vk_supports_node(const cascade_vk_ctx *vk, const cascade_graph *g,
                              const cascade_node *n) {
    (void)vk;
    if (n->op == CASCADE_OP_CONSTANT) {
        const cascade_tensor *t = n->constant;
        if (!t || !cascade_tensor_is_contiguous(t)) return false;
        switch (t->dtype) {
        case CASCADE_DTYPE_F32:
        case CASCADE_DTYPE_F16:
        case CASCADE_DTYPE_BF16:
        case CASCADE_DTYPE_F64:
        case CASCADE_DTYPE_I8:
        case CASCADE_DTYPE_I32: return true;
        default: return false;
        }
    }
    if (!is_float_dtype(n->dtype) && n->dtype != CASCADE_DTYPE_I32) return false;
    if (cascade_vk_numel(n) > (int64_t)UINT32_MAX / 2) return false;
    for (int32_t i = 0; i < n->n_inputs; i++) {
        if (n->inputs[i] == CASCADE_NO_VALUE) continue;
        const cascade_node *x = cascade_graph_node(g, n->inputs[i]);
        /* only GET_ROWS ids, CAST and RESHAPE take integer values */
        bool int_ok = (n->op == CASCADE_OP_GET_ROWS && i == 1) || n->op == CASCADE_OP_CAST ||
                      n->op == CASCADE_OP_RESHAPE;
        if (x->dtype == CASCADE_DTYPE_I32 && !int_ok) return false;
        if (x->dtype != CASCADE_DTYPE_I32 && n->op == CASCADE_OP_GET_ROWS && i == 1) return false;
    }
    switch (n->op) {
    case CASCADE_OP_INPUT:
    case CASCADE_OP_ADD:
    case CASCADE_OP_SUB:
    case CASCADE_OP_MUL:
    case CASCADE_OP_DIV:
    case CASCADE_OP_SCALE:
    case CASCADE_OP_CLAMP:
    case CASCADE_OP_MATMUL:
    case CASCADE_OP_LINEAR:
    case CASCADE_OP_CONV2D:
    case CASCADE_OP_GROUP_NORM:
    case CASCADE_OP_LAYER_NORM:
    case CASCADE_OP_RMS_NORM:
    case CASCADE_OP_SOFTMAX:
    case CASCADE_OP_RESHAPE:
    case CASCADE_OP_PERMUTE:
    case CASCADE_OP_CONCAT:
    case CASCADE_OP_SLICE:
    case CASCADE_OP_UPSAMPLE_NEAREST:
    case CASCADE_OP_AVG_POOL2D:
    case CASCADE_OP_GET_ROWS:
    case CASCADE_OP_MEAN: return true;
    case CASCADE_OP_UNARY: return n->iparams[0] >= 0 && n->iparams[0] < CASCADE_UNARY_COUNT;
    case CASCADE_OP_RESIZE_BILINEAR: return n->iparams[3] == 0; /* no antialias kernel */
    case CASCADE_OP_CAST: return is_float_dtype(n->dtype) || n->dtype == CASCADE_DTYPE_I32;
    case CASCADE_OP_ATTENTION: {
        const cascade_node *q = cascade_graph_node(g, n->inputs[0]);
        const cascade_node *v = cascade_graph_node(g, n->inputs[2]);
        return q->ndim == 4 && v->ndim == 4 && q->shape[3] <= 256 && v->shape[3] <= 256;
    }
    default: return false;
    }
}

static bool vk_supports(const cascade_backend *be, const cascade_graph *g, const cascade_node *n) {
    return cascade_vk_supports_node(ctx_of(be), g, n);
}

/* ---- plans ---- */

/* Bytes a value takes on the device: an int8 weight's own layout, else the plan's. */
static uint64_t value_bytes(const cascade_vk_plan *vp, int32_t i) {
    if (vp->q8 && vp->q8[i]) return cascade_vk_q8_bytes(cascade_graph_node(vp->g, i));
    if (vp->f32s && vp->f32s[i]) return (uint64_t)cascade_vk_numel(cascade_graph_node(vp->g, i)) * 4;
    return vp->mp->values[i].nbytes;
}

static void plan_destroy(cascade_vk_plan *vp) {
    if (!vp) return;
    cascade_vk_ctx *vk = vp->vk;
    if (vk->dev) vkQueueWaitIdle(vk->queue);
    cascade_vk_profile_report_free(vp);
    cascade_vk_check_free(vp);
    if (vp->cmd) vkFreeCommandBuffers(vk->dev, vk->cmd_pool, 1, &vp->cmd);
    if (vp->dpool) vkDestroyDescriptorPool(vk->dev, vp->dpool, NULL);
    for (int32_t i = 0; i < vp->n_bufs; i++) cascade_vk_buffer_free(vk, &vp->bufs[i]);
    free(vp->bufs);
    free(vp->loc);
    free(vp->guards);
    free(vp->rd);
    free(vp->wr);
    free(vp->q8);
    free(vp->angle);
    free(vp->f32s);
    cascade_memory_plan_free(vp->mp);
    free(vp);
}

static cascade_status upload_constant(cascade_vk_plan *vp, cascade_value_id id,
                                      const cascade_node *n, cascade_error *err) {
    const cascade_tensor *t = n->constant;
    int64_t               numel = cascade_tensor_numel(t);
    if (vp->q8 && vp->q8[id]) {
        uint64_t qb = cascade_vk_q8_bytes(n);
        void    *q = malloc((size_t)qb);
        if (!q)
            return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY,
                                     "vulkan: constant '%s': %llu bytes", n->name,
                                     (unsigned long long)qb);
        cascade_status st = cascade_vk_q8_pack(n, q, err);
        if (!st) st = cascade_vk_upload(vp->vk, vp->loc[id].buf, vp->loc[id].off, q, qb, err);
        free(q);
        return st;
    }
    bool                  as_int = t->dtype == CASCADE_DTYPE_I32 && n->dtype == CASCADE_DTYPE_I32;
    bool                  f32 = !vp->vk->fp16 || (vp->f32s && vp->f32s[id]);
    cascade_dtype         dst = as_int ? CASCADE_DTYPE_I32
                                       : (f32 ? CASCADE_DTYPE_F32 : CASCADE_DTYPE_F16);
    size_t                bytes = (size_t)numel * cascade_dtype_size(dst);
    if (bytes != vp->loc[id].size)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "vulkan: constant '%s' has %zu bytes, planned %llu", n->name,
                                 bytes, (unsigned long long)vp->loc[id].size);
    if (bytes == 0) return CASCADE_STATUS_OK;
    const void *src = t->data;
    void       *tmp = NULL;
    if (t->dtype != dst) {
        tmp = malloc(bytes);
        if (!tmp)
            return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY,
                                     "vulkan: constant '%s': %zu bytes", n->name, bytes);
        cascade_status st = cascade_convert(t->dtype, t->data, dst, tmp, (size_t)numel, err);
        if (st) {
            free(tmp);
            cascade_error_prefix(err, "vulkan: constant '%s': ", n->name);
            return st;
        }
        src = tmp;
    }
    cascade_status st =
        cascade_vk_upload(vp->vk, vp->loc[id].buf, vp->loc[id].off, src, bytes, err);
    free(tmp);
    return st;
}

cascade_status cascade_vk_record_node(cascade_vk_plan *vp, cascade_value_id i,
                                      cascade_error *err) {
    const cascade_node *n = cascade_graph_node(vp->g, i);
    cascade_status      st = CASCADE_STATUS_OK;
    switch (n->op) {
    case CASCADE_OP_INPUT:
    case CASCADE_OP_CONSTANT: break;
    case CASCADE_OP_RESHAPE:
        if (vp->mp->values[i].placement != CASCADE_PLACE_ALIAS)
            st = cascade_vk_record_shape(vp, i, n, err);
        break;
    case CASCADE_OP_MUL:
        /* a product only sin/cos read is formed inside their kernel (vk-fuse.c) */
        if (!(vp->angle && vp->angle[i])) st = cascade_vk_record_elementwise(vp, i, n, err);
        break;
    case CASCADE_OP_ADD:
    case CASCADE_OP_SUB:
    case CASCADE_OP_DIV:
    case CASCADE_OP_UNARY:
    case CASCADE_OP_SCALE:
    case CASCADE_OP_CLAMP:
    case CASCADE_OP_CAST: st = cascade_vk_record_elementwise(vp, i, n, err); break;
    case CASCADE_OP_MATMUL:
    case CASCADE_OP_LINEAR:
    case CASCADE_OP_CONV2D:
    case CASCADE_OP_ATTENTION: st = cascade_vk_record_matmul(vp, i, n, err); break;
    case CASCADE_OP_GROUP_NORM:
    case CASCADE_OP_LAYER_NORM:
    case CASCADE_OP_RMS_NORM:
    case CASCADE_OP_SOFTMAX:
    case CASCADE_OP_MEAN: st = cascade_vk_record_norm(vp, i, n, err); break;
    default: st = cascade_vk_record_shape(vp, i, n, err); break;
    }
    if (st) cascade_error_prefix(err, "node '%s': ", n->name);
    return st;
}

static cascade_status record(cascade_vk_plan *vp, cascade_error *err) {
    CASCADE_TRY(cascade_vk_record_begin(vp, err));
    cascade_status st = cascade_vk_profile_begin(vp, err);
    for (int32_t i = 0; !st && i < cascade_graph_n_nodes(vp->g); i++)
        st = cascade_vk_record_node(vp, i, err);
    if (st) {
        vkEndCommandBuffer(vp->cmd);
        return st;
    }
    return cascade_vk_record_end(vp, err);
}

static cascade_status add_guard(cascade_vk_plan *vp, VkBuffer buf, uint64_t off) {
    vp->guards[vp->n_guards++] = (cascade_vk_range){buf, off, off + GUARD_BYTES};
    return CASCADE_STATUS_OK;
}

static cascade_status vk_plan_new(cascade_backend *be, const cascade_graph *g, cascade_plan **out,
                                  cascade_error *err) {
    *out = NULL;
    cascade_vk_ctx  *vk = ctx_of(be);
    CASCADE_TRY(cascade_vk_alive(vk, err));
    cascade_status   st = CASCADE_STATUS_OK;
    cascade_plan    *plan = calloc(1, sizeof *plan);
    cascade_vk_plan *vp = calloc(1, sizeof *vp);
    int32_t          n = cascade_graph_n_nodes(g);
    int32_t         *slab_of = NULL;
    uint64_t        *slab_off = NULL, *slab_size = NULL;
    if (!plan || !vp) {
        free(plan);
        free(vp);
        return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "vulkan: plan");
    }
    vp->vk = vk;
    vp->g = g;
    uint64_t align = vk->props.limits.minStorageBufferOffsetAlignment;
    if (align < 16) align = 16;
    if ((st = cascade_memory_plan_new(g, align, elem_size, vk, &vp->mp, err))) goto fail;
    if (vk->opt.weights_int8 && (st = cascade_vk_q8_mark(g, &vp->q8, err))) goto fail;
    if ((st = cascade_vk_fuse_mark(vp, err))) goto fail;
    const cascade_memory_plan *mp = vp->mp;
    bool                       guards = vk->opt.guards;
    uint64_t                   guard = guards ? align_up(GUARD_BYTES, align) : 0;

    /* constants and I/O values packed into slabs, each followed by a guard */
    vp->loc = calloc((size_t)n + 1, sizeof *vp->loc);
    vp->guards = calloc((size_t)n + 2, sizeof *vp->guards);
    slab_of = calloc((size_t)n + 1, sizeof *slab_of);
    slab_off = calloc((size_t)n + 1, sizeof *slab_off);
    slab_size = calloc((size_t)n + 2, sizeof *slab_size);
    if (!vp->loc || !vp->guards || !slab_of || !slab_off || !slab_size) {
        st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "vulkan: plan tables");
        goto fail;
    }
    int32_t  n_slabs = 0;
    uint64_t weights = 0, io = 0;
    uint64_t max_range = vk->props.limits.maxStorageBufferRange;
    for (int32_t i = 0; i < n; i++) {
        const cascade_value_plan *v = &mp->values[i];
        if (v->nbytes > max_range) {
            st = cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                                   "vulkan: value '%s' is %.1f MiB, more than device '%s' can "
                                   "bind (maxStorageBufferRange %.1f MiB)",
                                   cascade_graph_node(g, i)->name, (double)v->nbytes / (1 << 20),
                                   vk->info.name, (double)max_range / (1 << 20));
            goto fail;
        }
        if (v->placement != CASCADE_PLACE_OWN && v->placement != CASCADE_PLACE_CONSTANT) continue;
        uint64_t vb = value_bytes(vp, i);
        uint64_t need = align_up(vb ? vb : 4, align) + guard;
        if (n_slabs == 0 || slab_size[n_slabs - 1] + need > SLAB_BYTES) {
            if (n_slabs == 0 || slab_size[n_slabs - 1] > 0) n_slabs++;
        }
        slab_of[i] = n_slabs - 1;
        slab_off[i] = slab_size[n_slabs - 1];
        slab_size[n_slabs - 1] += need;
        if (v->placement == CASCADE_PLACE_CONSTANT)
            weights += vb;
        else
            io += v->nbytes;
    }
    uint64_t arena = mp->arena_bytes + 2 * guard;
    uint64_t total = arena;
    for (int32_t s = 0; s < n_slabs; s++) total += slab_size[s];
    uint64_t avail = cascade_vk_available_bytes(vk);
    if (avail && total > avail) {
        st = cascade_error_set(
            err, CASCADE_STATUS_OUT_OF_MEMORY,
            "vulkan: the plan needs %.1f MiB on '%s' (weights %.1f, activations %.1f after reuse "
            "[%.1f without], inputs/outputs %.1f) but only %.1f MiB is available; use a smaller "
            "batch or image, fp16 precision, or the CPU backend",
            (double)total / (1 << 20), vk->info.name, (double)weights / (1 << 20),
            (double)mp->arena_bytes / (1 << 20), (double)mp->naive_bytes / (1 << 20),
            (double)io / (1 << 20), (double)avail / (1 << 20));
        goto fail;
    }
    vp->bufs = calloc((size_t)n_slabs + 1, sizeof *vp->bufs);
    if (!vp->bufs) {
        st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "vulkan: plan buffers");
        goto fail;
    }
    for (int32_t s = 0; s < n_slabs; s++) {
        if ((st = cascade_vk_buffer_new(vk, align_up(slab_size[s], 4), false, &vp->bufs[s], err)))
            goto fail;
        vp->n_bufs++;
    }
    cascade_vk_buffer *ab = &vp->bufs[n_slabs];
    if ((st = cascade_vk_buffer_new(vk, align_up(arena ? arena : 4, 4), false, ab, err))) goto fail;
    vp->n_bufs++;
    if (guards)
        for (int32_t s = 0; s < vp->n_bufs; s++)
            if ((st = cascade_vk_fill(vk, vp->bufs[s].buf, 0, VK_WHOLE_SIZE, GUARD_WORD, err)))
                goto fail;
    if (guards) {
        add_guard(vp, ab->buf, 0);
        add_guard(vp, ab->buf, guard + mp->arena_bytes);
    }
    for (int32_t i = 0; i < n; i++) {
        const cascade_value_plan *v = &mp->values[i];
        cascade_vk_loc           *l = &vp->loc[i];
        l->size = value_bytes(vp, i);
        if (v->placement == CASCADE_PLACE_OWN || v->placement == CASCADE_PLACE_CONSTANT) {
            l->buf = vp->bufs[slab_of[i]].buf;
            l->off = slab_off[i];
            if (guards) add_guard(vp, l->buf, l->off + align_up(l->size ? l->size : 4, align));
        } else if (v->placement == CASCADE_PLACE_ARENA) {
            l->buf = ab->buf;
            l->off = guard + v->offset;
        }
    }
    for (int32_t i = 0; i < n; i++)
        if (mp->values[i].placement == CASCADE_PLACE_ALIAS) {
            const cascade_vk_loc *r = &vp->loc[cascade_memory_plan_root(mp, i)];
            vp->loc[i].buf = r->buf;
            vp->loc[i].off = r->off;
        }
    for (int32_t i = 0; i < n; i++) {
        const cascade_node *nd = cascade_graph_node(g, i);
        if (nd->op == CASCADE_OP_CONSTANT && (st = upload_constant(vp, i, nd, err))) goto fail;
    }

    uint32_t sets = 1;
    for (int32_t i = 0; i < n; i++) {
        const cascade_node *nd = cascade_graph_node(g, i);
        sets += nd->op == CASCADE_OP_CONCAT ? (uint32_t)nd->n_inputs : 1u;
    }
    VkDescriptorPoolSize       ps = {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, sets * 5};
    VkDescriptorPoolCreateInfo dpi = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                                      .maxSets = sets,
                                      .poolSizeCount = 1,
                                      .pPoolSizes = &ps};
    VkResult r = cascade_vk_fault_alloc(vk);
    if (r == VK_SUCCESS) r = vkCreateDescriptorPool(vk->dev, &dpi, NULL, &vp->dpool);
    if (r != VK_SUCCESS) {
        st = cascade_vk_error(err, r, "vkCreateDescriptorPool");
        goto fail;
    }
    vp->dpool_sets = sets;
    if (vk->opt.check) {
        /* CASCADE_VK_CHECK: a command buffer per node instead (vk-check.c) */
        if ((st = cascade_vk_check_record(vp, err))) goto fail;
    } else {
        VkCommandBufferAllocateInfo cai = {
            .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
            .commandPool = vk->cmd_pool,
            .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
            .commandBufferCount = 1};
        r = cascade_vk_fault_alloc(vk);
        if (r == VK_SUCCESS) r = vkAllocateCommandBuffers(vk->dev, &cai, &vp->cmd);
        if (r != VK_SUCCESS) {
            st = cascade_vk_error(err, r, "vkAllocateCommandBuffers");
            goto fail;
        }
        if ((st = record(vp, err))) goto fail;
    }

    if (mp->arena_bytes > vk->stats.planned_peak_bytes) {
        vk->stats.planned_peak_bytes = mp->arena_bytes;
        vk->stats.naive_bytes = mp->naive_bytes;
    }
    vk->stats.weights_bytes += weights;
    vk->stats.device_budget_bytes = cascade_vk_available_bytes(vk);
    free(slab_of);
    free(slab_off);
    free(slab_size);
    plan->backend = be;
    plan->graph = g;
    plan->impl = vp;
    *out = plan;
    return CASCADE_STATUS_OK;
fail:
    free(slab_of);
    free(slab_off);
    free(slab_size);
    plan_destroy(vp);
    free(plan);
    return st;
}

static void vk_plan_free(cascade_backend *be, cascade_plan *p) {
    if (!p) return;
    cascade_vk_plan *vp = p->impl;
    cascade_vk_ctx  *vk = ctx_of(be);
    uint64_t         w = 0;
    for (int32_t i = 0; i < vp->mp->n_values; i++)
        if (vp->mp->values[i].placement == CASCADE_PLACE_CONSTANT) w += value_bytes(vp, i);
    vk->stats.weights_bytes -= w < vk->stats.weights_bytes ? w : vk->stats.weights_bytes;
    plan_destroy(vp);
    free(p);
}

static cascade_status vk_plan_run(cascade_backend *be, cascade_plan *p,
                                  const cascade_cancel *cancel, cascade_error *err) {
    (void)be;
    cascade_vk_plan *vp = p->impl;
    /* the whole forward is one submission; cancel is honoured between runs (steps) */
    if (cascade_cancel_is_raised(cancel))
        return cascade_error_set(err, CASCADE_STATUS_CANCELLED, "cancelled");
    if (vp->check) return cascade_vk_check_run(vp, cancel, err);
    CASCADE_TRY(cascade_vk_submit_wait(vp->vk, vp->cmd, err));
    return cascade_vk_profile_collect(vp, err);
}

static cascade_status vk_value_write(cascade_backend *be, cascade_plan *p, cascade_value_id id,
                                     const void *src, size_t n_bytes, cascade_error *err) {
    (void)be;
    cascade_vk_plan    *vp = p->impl;
    const cascade_node *n = cascade_graph_node(vp->g, id);
    bool                f32 = !vp->vk->fp16 || (vp->f32s && vp->f32s[id]);
    cascade_dtype       dst = n->dtype == CASCADE_DTYPE_I32
                                  ? CASCADE_DTYPE_I32
                                  : (f32 ? CASCADE_DTYPE_F32 : CASCADE_DTYPE_F16);
    const cascade_vk_loc *l = &vp->loc[id];
    if (n->dtype == dst) return cascade_vk_upload(vp->vk, l->buf, l->off, src, n_bytes, err);
    size_t numel = (size_t)cascade_vk_numel(n);
    void  *tmp = malloc(l->size ? l->size : 1);
    if (!tmp) return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "vulkan: write");
    cascade_status st = cascade_convert(n->dtype, src, dst, tmp, numel, err);
    if (!st) st = cascade_vk_upload(vp->vk, l->buf, l->off, tmp, l->size, err);
    free(tmp);
    return st;
}

static cascade_status vk_value_read(cascade_backend *be, const cascade_plan *p,
                                    cascade_value_id id, void *dst, size_t n_bytes,
                                    cascade_error *err) {
    (void)be;
    (void)n_bytes;
    const cascade_vk_plan *vp = p->impl;
    const cascade_node    *n = cascade_graph_node(vp->g, id);
    const cascade_vk_loc  *l = &vp->loc[id];
    if (n->dtype == CASCADE_DTYPE_I32 || !vp->vk->fp16 || (vp->f32s && vp->f32s[id]))
        return cascade_vk_download(vp->vk, l->buf, l->off, dst, l->size, err);
    size_t    numel = (size_t)cascade_vk_numel(n);
    uint16_t *tmp = malloc(l->size ? l->size : 1);
    if (!tmp) return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "vulkan: read");
    cascade_status st = cascade_vk_download(vp->vk, l->buf, l->off, tmp, l->size, err);
    if (!st) st = cascade_convert(CASCADE_DTYPE_F16, tmp, CASCADE_DTYPE_F32, dst, numel, err);
    free(tmp);
    return st;
}

static void vk_memory_stats(const cascade_backend *be, cascade_memory_stats *out) {
    *out = ctx_of(be)->stats;
}

static void vk_destroy(cascade_backend *be) {
    if (!be) return;
    cascade_vk_ctx_free(ctx_of(be));
    free(be);
}

/* The plan's buffers as vk_plan_new sizes them (weights at the storage type; int8 weights
 * count as fp16 here, an overestimate); attention and conv keep no scratch on the device. */
static cascade_status vk_plan_estimate(const cascade_backend *be, const cascade_graph *g,
                                       cascade_plan_estimate *out, cascade_error *err) {
    cascade_vk_ctx *vk = ctx_of(be);
    uint64_t        align = vk->props.limits.minStorageBufferOffsetAlignment;
    if (align < 16) align = 16;
    CASCADE_TRY(cascade_memory_plan_estimate(g, align, elem_size, vk, 0, out, err));
    out->value_limit_bytes = vk->props.limits.maxStorageBufferRange;
    return CASCADE_STATUS_OK;
}

static const cascade_backend_vtable vk_vtable = {
    .name = "vulkan",
    .destroy = vk_destroy,
    .supports = vk_supports,
    .plan_new = vk_plan_new,
    .plan_run = vk_plan_run,
    .value_write = vk_value_write,
    .value_read = vk_value_read,
    .plan_free = vk_plan_free,
    .memory_stats = vk_memory_stats,
    .plan_estimate = vk_plan_estimate,
};

cascade_status cascade_backend_vulkan_new(const cascade_vulkan_options *opt,
                                          cascade_backend **out, cascade_error *err) {
    *out = NULL;
    cascade_vulkan_options defaults;
    if (!opt) {
        cascade_vulkan_options_init(&defaults);
        opt = &defaults;
    }
    vk_backend *b = calloc(1, sizeof *b);
    if (!b) return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "vulkan: backend");
    cascade_status st = cascade_vk_ctx_new(opt, &b->vk, err);
    if (st) {
        free(b);
        return st;
    }
    b->base.vt = &vk_vtable;
    b->base.impl = b->vk;
    *out = &b->base;
    return CASCADE_STATUS_OK;
}

/* ---- hooks for tools and tests ---- */

static bool is_vulkan(const cascade_backend *be) { return be && be->vt == &vk_vtable; }

bool cascade_vulkan_backend_device(const cascade_backend *be, cascade_vulkan_device_info *out) {
    if (!is_vulkan(be)) return false;
    *out = ctx_of(be)->info;
    return true;
}

bool cascade_vulkan_backend_uses_fp16(const cascade_backend *be) {
    return is_vulkan(be) && ctx_of(be)->fp16;
}

bool cascade_vulkan_backend_uses_coopmat(const cascade_backend *be) {
    return is_vulkan(be) && ctx_of(be)->coopmat;
}

bool cascade_vulkan_backend_uses_int8(const cascade_backend *be) {
    return is_vulkan(be) && ctx_of(be)->opt.weights_int8;
}

bool cascade_vulkan_backend_checks(const cascade_backend *be) {
    return is_vulkan(be) && ctx_of(be)->opt.check;
}

cascade_status cascade_vulkan_check_inject(cascade_plan *p, cascade_value_id id, int64_t index,
                                           float delta, cascade_error *err) {
    if (!p || !is_vulkan(p->backend) || !((cascade_vk_plan *)p->impl)->check)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "vulkan: a fault can be injected only into a plan made with "
                                 "CASCADE_VK_CHECK");
    return cascade_vk_check_set_fault(p->impl, id, index, delta, err);
}

bool cascade_vulkan_inject_faults(cascade_backend *be, uint32_t alloc_nth, uint32_t submit_nth) {
    if (!is_vulkan(be)) return false;
    ctx_of(be)->fault_alloc = alloc_nth;
    ctx_of(be)->fault_submit = submit_nth;
    return true;
}

uint64_t cascade_vulkan_faults_injected(const cascade_backend *be) {
    return is_vulkan(be) ? ctx_of(be)->n_faults : 0;
}

uint64_t cascade_vulkan_validation_messages(const cascade_backend *be) {
    if (!is_vulkan(be)) return 0;
    return __atomic_load_n(&ctx_of(be)->n_validation, __ATOMIC_RELAXED);
}

cascade_status cascade_vulkan_check_guards(const cascade_plan *p, cascade_error *err) {
    if (!p || !is_vulkan(p->backend)) return CASCADE_STATUS_OK;
    const cascade_vk_plan *vp = p->impl;
    uint32_t               words[GUARD_BYTES / 4];
    for (int32_t i = 0; i < vp->n_guards; i++) {
        const cascade_vk_range *g = &vp->guards[i];
        CASCADE_TRY(cascade_vk_download(vp->vk, g->buf, g->lo, words, GUARD_BYTES, err));
        for (uint32_t w = 0; w < GUARD_BYTES / 4; w++)
            if (words[w] != GUARD_WORD)
                return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                         "vulkan: guard %d (buffer offset %llu, word %u) was "
                                         "overwritten: 0x%08x",
                                         i, (unsigned long long)g->lo, w, words[w]);
    }
    return CASCADE_STATUS_OK;
}
