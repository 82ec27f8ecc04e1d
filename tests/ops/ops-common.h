/* Shared by the Vulkan op tests: one CPU backend and Vulkan fp32 / fp16 / fp32 + int8
 * weights backends for a whole test group, graph helpers, and running a graph on one
 * backend (plan, seeded inputs, two replays, read-back, guard check). */
#ifndef CASCADE_OPS_COMMON_H
#define CASCADE_OPS_COMMON_H

#include <stdbool.h>
#include <stddef.h>

#include "cascade/backend.h"
#include "cascade/graph.h"

#define NMSE_F32 1e-9

/* fx.vk[] index: fp32, fp16 (plain GEMM), fp32 + int8 weights, fp16 on the tensor-core GEMM
 * (NULL unless the device has VK_NV_cooperative_matrix with the kernel's shape) */
#define OPS_COOPMAT 3

typedef struct fixture {
    cascade_backend *cpu;
    cascade_backend *vk[4];
    char             why[512];
} fixture;

extern fixture fx;

int ops_group_setup(void **state); /* cmocka group setup: makes fx's backends */
int ops_group_teardown(void **state);

bool require_vulkan(void); /* CASCADE_REQUIRE_VULKAN=1 */
/* fx.vk[precision]: skips without it, fails when CASCADE_REQUIRE_VULKAN=1. */
cascade_backend *need_vulkan(int precision);
/* Whether the device the backend picks runs the tensor-core GEMM; *why says why (not). Made
 * before the group (meson reads cmocka's skips as failures, so the cases that need it are
 * registered only where it runs, and the output says so either way). */
bool ops_coopmat_probe(const char **why);

cascade_value_id in4(cascade_graph *g, const char *name, int32_t nd, int64_t a, int64_t b,
                     int64_t c, int64_t d);
/* A constant of shape sh filled from a seed in [lo, hi), as F32 or converted to F16 / BF16. */
cascade_value_id konst(cascade_graph *g, const char *name, cascade_dtype dt, int32_t nd,
                       const int64_t *sh, uint64_t seed, float lo, float hi);

typedef struct run_result {
    float *out; /* malloc'd, n values */
    size_t n;
} run_result;

/* Plans g on be, fills its inputs from seeds (input "t": timesteps in [0, 1000)), runs it
 * twice, reads `out` as F32 and checks the guard bytes; any failure fails the test. */
void run_on(cascade_backend *be, const cascade_graph *g, cascade_value_id out, run_result *r);

#endif
