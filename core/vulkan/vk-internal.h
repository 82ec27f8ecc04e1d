/* Internals of the Vulkan backend shared by its files: the device context, buffers,
 * pipelines, plans and the recorder the per-op files call. Not a public header. */
#ifndef CASCADE_VK_INTERNAL_H
#define CASCADE_VK_INTERNAL_H

#include <vulkan/vulkan.h>

#include "cascade-shaders.h"
#include "cascade/backend.h"
#include "cascade/vulkan.h"
#include "runtime/planner.h"
#include "vk-push.h"

/* Maps a failed VkResult to a status (OUT_OF_MEMORY, DEVICE_LOST, UNSUPPORTED) with a
 * message naming the call; never aborts. */
cascade_status cascade_vk_error(cascade_error *err, VkResult r, const char *what);
const char    *cascade_vk_result_name(VkResult r);

#define CASCADE_VK_TRY(err, call)                                                                 \
    do {                                                                                          \
        VkResult cascade_vk_r_ = (call);                                                          \
        if (cascade_vk_r_ != VK_SUCCESS) return cascade_vk_error((err), cascade_vk_r_, #call);    \
    } while (0)

/* For goto-fail ladders: sets st and jumps. */
#define CASCADE_VK_TRY_GOTO(err, st, call, label)                                                 \
    do {                                                                                          \
        VkResult cascade_vk_r_ = (call);                                                          \
        if (cascade_vk_r_ != VK_SUCCESS) {                                                        \
            (st) = cascade_vk_error((err), cascade_vk_r_, #call);                                 \
            goto label;                                                                           \
        }                                                                                         \
    } while (0)

typedef struct cascade_vk_buffer {
    VkBuffer       buf;
    VkDeviceMemory mem;
    VkDeviceSize   size;
    VkDeviceSize   alloc; /* bytes of device memory behind it (counted in the stats) */
    void          *map;   /* host-visible buffers only */
} cascade_vk_buffer;

typedef struct cascade_vk_pipeline {
    VkDescriptorSetLayout dsl;
    VkPipelineLayout      layout;
    VkPipeline            pipe;
} cascade_vk_pipeline;

typedef struct cascade_vk_ctx {
    cascade_vulkan_options     opt;
    cascade_vulkan_device_info info;
    VkInstance                 instance;
    VkDebugUtilsMessengerEXT   messenger;
    uint64_t                   n_validation; /* written by the messenger callback */
    VkPhysicalDevice           phys;
    VkPhysicalDeviceProperties props;
    VkPhysicalDeviceMemoryProperties memprops;
    VkDevice                   dev;
    VkQueue                    queue;
    uint32_t                   qfam;
    bool                       fp16;          /* plans store values as float16 */
    bool                       has_budget;    /* VK_EXT_memory_budget enabled */
    bool                       coopmat;       /* GEMMs on the tensor-core variant (vk-coopmat.c) */
    VkCommandPool              cmd_pool;
    VkCommandBuffer            xfer_cmd;      /* staging copies */
    VkFence                    fence;
    cascade_vk_buffer          staging;       /* host-visible, for uploads and read-backs */
    cascade_vk_buffer          dummy;         /* bound where an optional input is absent */
    cascade_vk_pipeline        pipes[CASCADE_VK_SHADER_COUNT];
    cascade_memory_stats       stats;
    /* Fault injection (cascade_vulkan_inject_faults): countdowns to the device allocation
     * that fails and the submission that reports a lost device; 0: off. */
    uint32_t                   fault_alloc, fault_submit;
    uint64_t                   n_faults; /* injected faults that happened */
    bool                       lost; /* a submission reported VK_ERROR_DEVICE_LOST */
} cascade_vk_ctx;

/* Counts one device allocation (buffer, memory, descriptor pool or set, command buffer):
 * VK_ERROR_OUT_OF_DEVICE_MEMORY when it is the injected failure, else VK_SUCCESS. */
static inline VkResult cascade_vk_fault_alloc(cascade_vk_ctx *vk) {
    if (!vk->fault_alloc || --vk->fault_alloc > 0) return VK_SUCCESS;
    vk->n_faults++;
    return VK_ERROR_OUT_OF_DEVICE_MEMORY;
}
/* DEVICE_LOST once the device was lost: the backend then frees but runs nothing more. */
cascade_status cascade_vk_alive(const cascade_vk_ctx *vk, cascade_error *err);

/* ---- vk-device.c ---- */
cascade_status cascade_vk_ctx_new(const cascade_vulkan_options *opt, cascade_vk_ctx **out,
                                  cascade_error *err);
void           cascade_vk_ctx_free(cascade_vk_ctx *vk); /* NULL-safe */
/* Device-local bytes still available (budget - usage, or the heap size); 0 if unknown. */
uint64_t cascade_vk_available_bytes(const cascade_vk_ctx *vk);

/* ---- vk-coopmat.c ---- */
/* Fills info's coopmat_nv, n_coopmat and coopmat[] (cleared when the device has none); false
 * when out of memory. */
bool cascade_vk_coopmat_probe(VkInstance inst, VkPhysicalDevice pd,
                              cascade_vulkan_device_info *info);

/* ---- vk-memory.c ---- */
/* host_visible: mappable staging memory; else device-local (host-visible where that is
 * the same memory, as on lavapipe and integrated GPUs, which the guard check uses). */
cascade_status cascade_vk_buffer_new(cascade_vk_ctx *vk, VkDeviceSize size, bool host_visible,
                                     cascade_vk_buffer *out, cascade_error *err);
void           cascade_vk_buffer_free(cascade_vk_ctx *vk, cascade_vk_buffer *b); /* zeroed */
/* Copies between host memory and a device range through the staging buffer, in chunks;
 * each waits for the queue. */
cascade_status cascade_vk_upload(cascade_vk_ctx *vk, VkBuffer dst, VkDeviceSize off,
                                 const void *src, VkDeviceSize n, cascade_error *err);
cascade_status cascade_vk_download(cascade_vk_ctx *vk, VkBuffer src, VkDeviceSize off, void *dst,
                                   VkDeviceSize n, cascade_error *err);
cascade_status cascade_vk_fill(cascade_vk_ctx *vk, VkBuffer dst, VkDeviceSize off,
                               VkDeviceSize n, uint32_t word, cascade_error *err);
cascade_status cascade_vk_submit_wait(cascade_vk_ctx *vk, VkCommandBuffer cmd,
                                      cascade_error *err);

/* ---- vk-pipeline.c ---- */
/* Bindings and workgroup size of a shader (from the table next to the pipelines). */
uint32_t       cascade_vk_shader_bindings(cascade_vk_shader s);
uint32_t       cascade_vk_shader_wg(cascade_vk_shader s);
/* Creates the pipeline on first use. */
cascade_status cascade_vk_pipeline_get(cascade_vk_ctx *vk, cascade_vk_shader s,
                                       const cascade_vk_pipeline **out, cascade_error *err);
void           cascade_vk_pipelines_free(cascade_vk_ctx *vk);

/* ---- plans (backend-vulkan.c, vk-recorder.c) ---- */
typedef struct cascade_vk_loc {
    VkBuffer     buf;
    VkDeviceSize off;
    VkDeviceSize size;
} cascade_vk_loc;

typedef struct cascade_vk_range {
    VkBuffer     buf;
    VkDeviceSize lo, hi;
} cascade_vk_range;

typedef struct cascade_vk_plan {
    cascade_vk_ctx      *vk;
    const cascade_graph *g;
    cascade_memory_plan *mp;
    cascade_vk_buffer   *bufs; /* slabs for constants and I/O, then the arena */
    int32_t              n_bufs;
    cascade_vk_loc      *loc;  /* per value, resolved through aliases */
    bool                *q8;   /* per value: an int8 weight (vk-quant.c); NULL when off */
    bool                *angle; /* per value: a product only sin/cos read, fused (vk-fuse.c) */
    bool                *f32s;  /* per value: kept in fp32 storage in an fp16 plan */
    cascade_vk_range    *guards;
    int32_t              n_guards;
    VkDescriptorPool     dpool;
    uint32_t             dpool_sets;
    uint32_t             n_sets;
    VkCommandBuffer      cmd;
    /* recorder state: ranges read/written since the last barrier */
    cascade_vk_range    *rd, *wr;
    int32_t              n_rd, n_wr, cap_rw;
    uint32_t             n_dispatches, n_barriers;
    /* CASCADE_VK_PROFILE (vk-profile.c): a timestamp per dispatch, totals per shader */
    VkQueryPool          qpool;
    uint32_t             q_cap, q_n, prof_runs;
    uint16_t            *q_shader;
    double               prof_ms[CASCADE_VK_SHADER_COUNT];
    uint32_t             prof_calls[CASCADE_VK_SHADER_COUNT];
    /* CASCADE_VK_CHECK (vk-check.c): per-node command buffers; NULL when off */
    struct cascade_vk_check *check;
} cascade_vk_plan;

/* Which variant the plan's storage type needs (fp16 or fp32 of one family). */
static inline cascade_vk_shader cascade_vk_pick(const cascade_vk_plan *p, cascade_vk_shader f32,
                                                cascade_vk_shader f16) {
    return p->vk->fp16 ? f16 : f32;
}

/* Records one dispatch. bind[0..n) are value ids in the shader's binding order, the last
 * one written, the others read; CASCADE_NO_VALUE binds the dummy buffer. A barrier is
 * inserted first only when this dispatch reads what an earlier unbarriered one wrote, or
 * writes what one read or wrote (arena bytes are reused, so WAR hazards are real). */
cascade_status cascade_vk_dispatch(cascade_vk_plan *p, cascade_vk_shader s,
                                   const cascade_value_id *bind, uint32_t n_bind,
                                   const void *push, uint32_t push_size, uint32_t gx,
                                   uint32_t gy, uint32_t gz, cascade_error *err);
/* 1-D dispatch over n invocations of the shader's workgroup size (2-D past 65535 groups). */
cascade_status cascade_vk_dispatch_1d(cascade_vk_plan *p, cascade_vk_shader s,
                                      const cascade_value_id *bind, uint32_t n_bind,
                                      const void *push, uint32_t push_size, uint64_t n,
                                      cascade_error *err);
/* One workgroup per row, rows spread over x and y. */
cascade_status cascade_vk_dispatch_rows(cascade_vk_plan *p, cascade_vk_shader s,
                                        const cascade_value_id *bind, uint32_t n_bind,
                                        const void *push, uint32_t push_size, uint64_t rows,
                                        cascade_error *err);

/* Recording p->cmd (begin/end in vk-recorder.c, nodes in backend-vulkan.c): begun with the
 * barrier every recording starts with (hazard tracking cleared), then each node's
 * dispatches, then ended with the barrier that makes results readable by transfers and the
 * host. */
cascade_status cascade_vk_record_begin(cascade_vk_plan *p, cascade_error *err);
cascade_status cascade_vk_record_node(cascade_vk_plan *p, cascade_value_id id,
                                      cascade_error *err);
cascade_status cascade_vk_record_end(cascade_vk_plan *p, cascade_error *err);

/* ---- per-op files: dispatch set-up only ---- */
bool cascade_vk_supports_node(const cascade_vk_ctx *vk, const cascade_graph *g,
                              const cascade_node *n);
cascade_status cascade_vk_record_elementwise(cascade_vk_plan *p, cascade_value_id id,
                                             const cascade_node *n, cascade_error *err);
cascade_status cascade_vk_record_matmul(cascade_vk_plan *p, cascade_value_id id,
                                        const cascade_node *n, cascade_error *err);
cascade_status cascade_vk_record_norm(cascade_vk_plan *p, cascade_value_id id,
                                      const cascade_node *n, cascade_error *err);
cascade_status cascade_vk_record_shape(cascade_vk_plan *p, cascade_value_id id,
                                       const cascade_node *n, cascade_error *err);

/* ---- vk-quant.c: int8 weight-only quantization ---- */
/* Marks the constants used only as LINEAR/CONV2D weights; *out has one flag per value. */
cascade_status cascade_vk_q8_mark(const cascade_graph *g, bool **out, cascade_error *err);
/* Bytes of a quantized constant: R fp32 scales, then R x L int8, padded to 4. */
uint64_t       cascade_vk_q8_bytes(const cascade_node *n);
/* Quantizes the constant's data into dst (cascade_vk_q8_bytes of it). */
cascade_status cascade_vk_q8_pack(const cascade_node *n, void *dst, cascade_error *err);

/* ---- vk-profile.c: CASCADE_VK_PROFILE=1 ---- */
cascade_status cascade_vk_profile_begin(cascade_vk_plan *p, cascade_error *err); /* recording */
void           cascade_vk_profile_mark(cascade_vk_plan *p, cascade_vk_shader s); /* per dispatch */
cascade_status cascade_vk_profile_collect(cascade_vk_plan *p, cascade_error *err); /* per run */
void           cascade_vk_profile_report_free(cascade_vk_plan *p); /* prints, releases */

/* ---- vk-fuse.c: fp32 islands in fp16 plans ---- */
/* Fills p->angle and p->f32s (fp16 plans only; both stay NULL otherwise). */
cascade_status cascade_vk_fuse_mark(cascade_vk_plan *p, cascade_error *err);

/* ---- vk-check.c: CASCADE_VK_CHECK=1, each node against the CPU ---- */
/* Records one command buffer per node (instead of p->cmd) and makes the check's state. */
cascade_status cascade_vk_check_record(cascade_vk_plan *p, cascade_error *err);
/* Runs the plan node by node, comparing each with the CPU; FORMAT names the first node
 * past the tolerance. */
cascade_status cascade_vk_check_run(cascade_vk_plan *p, const cascade_cancel *cancel,
                                    cascade_error *err);
/* Test aid: adds delta to element index of value id on the device after it is computed
 * (CASCADE_NO_VALUE clears it). */
cascade_status cascade_vk_check_set_fault(cascade_vk_plan *p, cascade_value_id id,
                                          int64_t index, float delta, cascade_error *err);
void           cascade_vk_check_free(cascade_vk_plan *p); /* NULL-safe state */

/* Element count of a node (shapes were checked by the graph builder). */
int64_t cascade_vk_numel(const cascade_node *n);

#endif
