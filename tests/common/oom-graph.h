/* The op graph of the out-of-memory tests (test-oom, test-vulkan-oom): x (1, 2, 5, 5) ->
 * conv2d 3x3 (fp16 weight, bias, padding 1) -> tokens (1, 1, 25, 3) -> self-attention (scale
 * 0.5) -> linear (fp16 weight, bias) -> "out" (1, 1, 25, 4); its reference by naive loops in
 * double. The fp16 weights make the CPU backend convert, conv2d and attention take scratch. */
#ifndef CASCADE_OOM_GRAPH_H
#define CASCADE_OOM_GRAPH_H

#include "cascade/backend.h"
#include "cascade/graph.h"

enum { OOM_C_IN = 2, OOM_C_OUT = 3, OOM_S = 5, OOM_T = OOM_S * OOM_S, OOM_D_OUT = 4 };

typedef struct oom_graph_case {
    float  x[OOM_C_IN * OOM_T];         /* input (1, C_IN, S, S) */
    float  w[OOM_C_OUT * OOM_C_IN * 9]; /* conv weight (C_OUT, C_IN, 3, 3), exact in fp16 */
    float  b[OOM_C_OUT];
    float  w2[OOM_D_OUT * OOM_C_OUT]; /* linear weight (D_OUT, C_OUT), exact in fp16 */
    float  b2[OOM_D_OUT];
    float  want[OOM_T * OOM_D_OUT]; /* out (1, 1, T, D_OUT) */
    double atol, rtol;              /* |got - want| <= atol + rtol |want|: 1e-4 each, fp32's */
} oom_graph_case;

void           oom_graph_case_init(oom_graph_case *c);
cascade_status oom_graph_build(const oom_graph_case *c, cascade_graph **out, cascade_error *err);
/* Builds the graph, plans it on be, writes x, runs, reads "out" and compares it with the
 * reference (FORMAT when wrong); frees all it made. Marks the phases for fail_alloc_sweep. */
cascade_status oom_graph_run(const oom_graph_case *c, cascade_backend *be, cascade_error *err);

#endif
