/* The Vulkan compute backend: device listing and choice, options, and the hooks the
 * CPU-vs-Vulkan tests use (validation-message count, guard-byte check). Available when
 * libcascade was built with Vulkan (CASCADE_HAVE_VULKAN); plain C types only. */
#ifndef CASCADE_VULKAN_H
#define CASCADE_VULKAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cascade/backend.h"
#include "cascade/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cascade_vulkan_precision {
    CASCADE_VULKAN_PRECISION_AUTO = 0, /* fp16 storage where the device has it, else fp32 */
    CASCADE_VULKAN_PRECISION_FP32,     /* weights and activations stored as fp32 */
    CASCADE_VULKAN_PRECISION_FP16,     /* stored as fp16 (UNSUPPORTED without 16-bit storage) */
} cascade_vulkan_precision;

typedef struct cascade_vulkan_options {
    /* Device choice: index >= 0 picks that device; else name_contains (case-insensitive
     * substring) when non-empty; else discrete > integrated > virtual > CPU driver.
     * $CASCADE_VK_DEVICE (an index or a name substring) overrides both when set. */
    int                      device_index;      /* -1: not set */
    char                     name_contains[128];
    cascade_vulkan_precision precision;         /* accumulation is fp32 in every case */
    /* Enables VK_LAYER_KHRONOS_validation and a debug-utils messenger that counts (and
     * prints) every warning and error; $CASCADE_VK_VALIDATION=1 turns it on too. */
    bool                     validation;
    /* Guard bytes after every device buffer and around the activation arena, checked by
     * cascade_vulkan_check_guards(); $CASCADE_VK_GUARDS=1 turns it on too. */
    bool                     guards;
    /* Weight-only int8: LINEAR and CONV2D weights stored as int8 with one fp32 scale per
     * output channel, dequantized inside the GEMM (activations keep `precision`);
     * $CASCADE_VK_INT8=1 turns it on too. */
    bool                     weights_int8;
    /* Most device memory this backend may hold (0: what the device reports available,
     * through VK_EXT_memory_budget where present). A plan that would not fit is refused
     * with OUT_OF_MEMORY before anything is allocated, so the caller can retry smaller or
     * on the CPU backend. */
    uint64_t                 max_device_bytes;
    /* Keeps the plain GEMM even where the tensor-core one would be picked (fp16 plans on a
     * device reporting VK_NV_cooperative_matrix with a 16x16x16 fp16 x fp16 + fp32 shape);
     * $CASCADE_VK_COOPMAT=0 does the same. */
    bool                     no_coopmat;
    /* Debug aid: every run goes node by node and compares each node's result with the CPU
     * backend's kernel on the same inputs (read back from the device); the first node past
     * the precision's tolerance fails the run with FORMAT naming it ("<scope>/<op>"), its
     * op, the worst element's index and error. Slow (a submission and read-backs per node);
     * $CASCADE_VK_CHECK=1 turns it on too. */
    bool                     check;
    /* Fault injection, for tests: the fault_alloc-th device allocation (a buffer, its memory,
     * a descriptor pool or set, a command buffer; counted from the backend's creation) fails
     * with VK_ERROR_OUT_OF_DEVICE_MEMORY, and the fault_submit-th queue submission reports
     * VK_ERROR_DEVICE_LOST (after its work is done, where a real loss is seen); 0: never. */
    uint32_t                 fault_alloc, fault_submit;
} cascade_vulkan_options;

void           cascade_vulkan_options_init(cascade_vulkan_options *opt);
cascade_status cascade_backend_vulkan_new(const cascade_vulkan_options *opt,
                                          cascade_backend **out, cascade_error *err);

typedef enum cascade_vulkan_device_type {
    CASCADE_VULKAN_DEVICE_OTHER = 0,
    CASCADE_VULKAN_DEVICE_INTEGRATED,
    CASCADE_VULKAN_DEVICE_DISCRETE,
    CASCADE_VULKAN_DEVICE_VIRTUAL,
    CASCADE_VULKAN_DEVICE_CPU,
} cascade_vulkan_device_type;

#define CASCADE_VULKAN_MAX_HEAPS 16
#define CASCADE_VULKAN_MAX_COOPMAT 32

/* One VkCooperativeMatrixPropertiesNV: D (M x N) = A (M x K) B (K x N) + C, component types
 * as VkComponentTypeNV (0 fp16, 1 fp32, ...), scope as VkScopeNV (3 subgroup). */
typedef struct cascade_vulkan_coopmat_shape {
    uint32_t m, n, k;
    uint32_t a_type, b_type, c_type, d_type;
    uint32_t scope;
} cascade_vulkan_coopmat_shape;

typedef struct cascade_vulkan_device_info {
    int                        index;
    char                       name[256];
    cascade_vulkan_device_type type;
    uint32_t                   api_version; /* VK_MAKE_API_VERSION packing */
    uint32_t                   n_heaps;
    uint64_t                   heap_bytes[CASCADE_VULKAN_MAX_HEAPS];
    bool                       heap_device_local[CASCADE_VULKAN_MAX_HEAPS];
    bool                       fp16_storage;    /* storageBuffer16BitAccess */
    bool                       fp16_arith;      /* shaderFloat16 */
    bool                       subgroup_size_control;
    uint32_t                   subgroup_size;
    bool                       cooperative_matrix; /* VK_KHR_cooperative_matrix */
    bool                       memory_budget;      /* VK_EXT_memory_budget */
    /* VK_NV_cooperative_matrix with its cooperativeMatrix feature, the shapes it lists, and
     * the vulkanMemoryModel feature its SPIR-V needs */
    bool                         coopmat_nv;
    bool                         vulkan_memory_model;
    uint32_t                     n_coopmat;
    cascade_vulkan_coopmat_shape coopmat[CASCADE_VULKAN_MAX_COOPMAT];
} cascade_vulkan_device_info;

const char *cascade_vulkan_device_type_name(cascade_vulkan_device_type t);

/* "f16", "f32", ... for a VkComponentTypeNV value. */
const char *cascade_vulkan_component_name(uint32_t type);
/* Whether a plan would use the tensor-core GEMM (vulkan_shaders/gemm.comp, COOPMAT) on a
 * device described by info: fp16 storage plans only, VK_NV_cooperative_matrix with a
 * 16x16x16 fp16 x fp16 + fp32 -> fp32 subgroup shape, shaderFloat16, vulkanMemoryModel,
 * subgroups of 32, and
 * neither the option nor env_coopmat ($CASCADE_VK_COOPMAT; NULL when unset) equal to "0".
 * *why (may be NULL) gets a short reason either way. */
bool cascade_vulkan_coopmat_pick(const cascade_vulkan_device_info *info, bool fp16_plan,
                                 bool no_coopmat, const char *env_coopmat, const char **why);

/* Lists the Vulkan devices (for `cascade devices`). *out is malloc'd (free() it) and
 * stays NULL on failure; no devices (or no loader) is OK with *n = 0. */
cascade_status cascade_vulkan_list_devices(cascade_vulkan_device_info **out, int *n,
                                           cascade_error *err);

/* Properties of the device a Vulkan backend runs on; false if be is not a Vulkan backend. */
bool cascade_vulkan_backend_device(const cascade_backend *be, cascade_vulkan_device_info *out);
/* Whether plans of this backend store values as fp16. */
bool cascade_vulkan_backend_uses_fp16(const cascade_backend *be);
/* Whether plans of this backend run GEMMs and convolutions on the tensor-core variant. */
bool cascade_vulkan_backend_uses_coopmat(const cascade_backend *be);
/* Whether plans of this backend store GEMM weights as int8 (weights_int8). */
bool cascade_vulkan_backend_uses_int8(const cascade_backend *be);
/* Whether plans of this backend are checked node by node against the CPU (check). */
bool cascade_vulkan_backend_checks(const cascade_backend *be);
/* Test aid for the check: in a checked plan, after value id is computed on the device,
 * delta is added to its element index there (as a faulty kernel would write it), at every
 * run until cleared with id CASCADE_NO_VALUE. INVALID_ARG unless p is a checked Vulkan plan
 * and id a computed value with that element. */
cascade_status cascade_vulkan_check_inject(cascade_plan *p, cascade_value_id id, int64_t index,
                                           float delta, cascade_error *err);
/* Re-arms the backend's fault injection (see fault_alloc, fault_submit) counting from now:
 * 1 makes the next allocation or submission fail, 0 turns that one off. After a device loss,
 * real or injected, the backend refuses every call that would use the device with
 * DEVICE_LOST; it can still be freed, with its plans. False if be is not a Vulkan backend. */
bool     cascade_vulkan_inject_faults(cascade_backend *be, uint32_t alloc_nth, uint32_t submit_nth);
/* Injected faults that have happened on this backend (0 if be is not a Vulkan backend). */
uint64_t cascade_vulkan_faults_injected(const cascade_backend *be);
/* Validation-layer warnings and errors seen since the backend was made (0 without
 * validation). */
uint64_t cascade_vulkan_validation_messages(const cascade_backend *be);
/* Reads back every guard region of the plan's buffers: FORMAT naming the first buffer whose
 * guard bytes changed (a kernel wrote out of bounds); OK when guards are off. */
cascade_status cascade_vulkan_check_guards(const cascade_plan *p, cascade_error *err);

#ifdef __cplusplus
}
#endif

#endif
