/* The CPU reference kernels: fp32, threaded over the backend's pool, GEMM through BLAS.
 * Each takes the node, its output buffer and its input buffers (NULL for absent optional
 * inputs; F32 except ids, which are I32), all contiguous in the node's shape. */
#ifndef CASCADE_CPU_OPS_H
#define CASCADE_CPU_OPS_H

#include <stdlib.h>
#include <string.h>

#include "cascade/graph.h"
#include "runtime/threadpool.h"

typedef struct cpu_exec {
    const cascade_graph *g;
    cascade_threadpool  *tp;
    void                *scratch;       /* the plan's scratch buffer, or NULL */
    size_t               scratch_bytes; /* its size: the largest *_scratch_bytes of the graph */
    int64_t              col_budget;    /* conv scratch floats per band: im2col columns or
                                           padded input rows (0: the most) */
} cpu_exec;

/* bytes of temporary memory for one op: the plan's scratch buffer when it is large enough
 * (always, in a plan: its size is the graph's largest need), else a malloc'd block handed
 * back in *owned for the caller to free (callers without a plan, e.g. CASCADE_VK_CHECK). */
static inline void *cpu_scratch(const cpu_exec *ex, size_t bytes, void **owned) {
    *owned = NULL;
    if (ex->scratch && bytes <= ex->scratch_bytes) return ex->scratch;
    return *owned = malloc(bytes ? bytes : 1);
}

/* The element-wise kernels are also built for x86-64-v3 (AVX2 and FMA: 8 lanes and fused
 * multiply-adds), and the loader picks that copy on CPUs that have it (ifunc). The rest of
 * the build targets baseline x86-64 (4-lane SSE2, no FMA) so that it runs everywhere; the
 * matrix products are OpenBLAS's, which picks its kernels itself. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CPU_KERNEL __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define CPU_KERNEL
#endif
/* A helper of CPU_KERNEL functions, inlined into each copy so it shares its instruction set. */
#define CPU_KERNEL_HELPER __attribute__((always_inline)) static inline

/* Where the hand-tiled kernels (the direct conv, the small GEMM) were measured faster than
 * BLAS: x86-64 with AVX2 and FMA, a tile in 8 of the 16 vector registers. Elsewhere (the
 * baseline copy's SSE halves spill, other architectures were not measured) BLAS computes. */
static inline bool cpu_has_avx2_fma(void) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return false;
#endif
}

/* 8 floats, for the hand-tiled kernels: gcc and clang lower it to one AVX register in the
 * x86-64-v3 copy, two SSE ones in the baseline copy. aligned(4): loads and stores at any float
 * offset. LOAD8 is an unaligned load (a macro: a function returning a v8f would change the
 * baseline ABI). */
typedef float v8f __attribute__((vector_size(32), aligned(4)));
#define LOAD8(dst, p) memcpy(&(dst), (p), sizeof(v8f))

/* Fewest floats one piece of a parallel op handles. Waking a worker costs tens of
 * microseconds here (a futex and a context switch), more than a few thousand floats of
 * element-wise work: at 32 px most ops are that small, and ran slower split. */
#define CPU_MIN_PIECE_FLOATS 16384

/* min_chunk for cascade_threadpool_parallel_for over items of per_item floats each. */
static inline int64_t cpu_min_chunk(int64_t per_item) {
    return 1 + CPU_MIN_PIECE_FLOATS / (per_item > 0 ? per_item : 1);
}

/* Input k's node. */
static inline const cascade_node *cpu_in(const cpu_exec *ex, const cascade_node *n, int k) {
    return cascade_graph_node(ex->g, n->inputs[k]);
}

/* C = alpha op(A) op(B) + beta C, row-major (op: transpose when ta / tb), over the pool:
 * small products (cpu_gemm_small_takes) by cpu_gemm_small, the rest by BLAS. */
void cpu_sgemm(const cpu_exec *ex, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
               const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
               int64_t ldc);

/* cpu-gemm-small.c: whether it computes a product of M N K multiply-adds, and the product
 * itself (A never transposed; arguments as cpu_sgemm's, on the calling thread). */
bool cpu_gemm_small_takes(bool ta, int64_t M, int64_t N, int64_t K);
void cpu_gemm_small(bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                    int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc);

cascade_status cpu_binary(const cpu_exec *ex, const cascade_node *n, float *out,
                          const float *a, const float *b, cascade_error *err);
cascade_status cpu_unary(const cpu_exec *ex, const cascade_node *n, float *out, const float *x,
                         cascade_error *err); /* UNARY, SCALE, CLAMP */
cascade_status cpu_matmul(const cpu_exec *ex, const cascade_node *n, float *out, const float *a,
                          const float *b, cascade_error *err);
cascade_status cpu_linear(const cpu_exec *ex, const cascade_node *n, float *out, const float *x,
                          const float *w, const float *bias, cascade_error *err);
/* Bytes of temporary memory the op allocates while it runs (for plan estimates). */
/* Floats of im2col columns one conv band of g may use (the plan's scratch follows from it). */
int64_t  cpu_col_budget_floats(const cascade_graph *g);
uint64_t cpu_conv2d_scratch_bytes(const cascade_graph *g, const cascade_node *n, int64_t budget);
uint64_t cpu_attention_scratch_bytes(const cascade_graph *g, const cascade_node *n);
cascade_status cpu_conv2d(const cpu_exec *ex, const cascade_node *n, float *out, const float *x,
                          const float *w, const float *bias, cascade_error *err);
/* The direct path cpu_conv2d takes for stride-1 convolutions with few output channels
 * (ops-conv-direct.c): whether n takes it, its scratch, and the op itself. */
bool           cpu_conv2d_is_direct(const cascade_graph *g, const cascade_node *n);
uint64_t       cpu_conv2d_direct_scratch_bytes(const cascade_graph *g, const cascade_node *n,
                                               int64_t budget);
cascade_status cpu_conv2d_direct(const cpu_exec *ex, const cascade_node *n, int64_t budget,
                                 float *out, const float *x, const float *w, const float *bias,
                                 cascade_error *err);
cascade_status cpu_group_norm(const cpu_exec *ex, const cascade_node *n, float *out,
                              const float *x, const float *w, const float *b, cascade_error *err);
/* The same, then act (an element-wise node, e.g. the GELU after a resnet's norm) applied to
 * each channel while it is in cache: one pass over the tensor instead of two. */
cascade_status cpu_group_norm_then(const cpu_exec *ex, const cascade_node *n,
                                   const cascade_node *act, float *out, const float *x,
                                   const float *w, const float *b, cascade_error *err);
cascade_status cpu_row_norm(const cpu_exec *ex, const cascade_node *n, float *out,
                            const float *x, const float *w, const float *b,
                            cascade_error *err); /* LAYER_NORM, RMS_NORM, SOFTMAX */
cascade_status cpu_attention(const cpu_exec *ex, const cascade_node *n, float *out,
                             const float *q, const float *k, const float *v, const float *bias,
                             cascade_error *err);
cascade_status cpu_permute(const cpu_exec *ex, const cascade_node *n, void *out, const void *x,
                           cascade_error *err);
cascade_status cpu_concat(const cpu_exec *ex, const cascade_node *n, void *out,
                          const void *const *xs, cascade_error *err);
cascade_status cpu_slice(const cpu_exec *ex, const cascade_node *n, void *out, const void *x,
                         cascade_error *err);
cascade_status cpu_resample(const cpu_exec *ex, const cascade_node *n, float *out,
                            const float *x, cascade_error *err); /* upsample, bilinear, pool */
cascade_status cpu_get_rows(const cpu_exec *ex, const cascade_node *n, float *out,
                            const float *table, const int32_t *ids, cascade_error *err);
cascade_status cpu_mean(const cpu_exec *ex, const cascade_node *n, float *out, const float *x,
                        cascade_error *err);
cascade_status cpu_cast(const cpu_exec *ex, const cascade_node *n, void *out, const void *x,
                        cascade_error *err);

int64_t cpu_numel(const cascade_node *n);

/* Runs one node: out and in[0..n_inputs) as above (INPUT, CONSTANT and RESHAPE do nothing:
 * the CPU plan aliases a reshape). The CPU backend's step, and CASCADE_VK_CHECK's reference
 * (core/vulkan/vk-check.c). */
cascade_status cpu_run_node(const cpu_exec *ex, const cascade_node *n, void *out,
                            void *const *in, cascade_error *err);

#endif
