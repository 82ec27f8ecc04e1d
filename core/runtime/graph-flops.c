/* The matrix-product work of a graph: what benchmarks report as FLOP/s and what the CPU
 * backend weighs before spreading a plan over threads. */
#include "cascade/graph.h"

static double numel(const cascade_node *n) {
    double v = 1;
    for (int32_t d = 0; d < n->ndim; d++) v *= (double)n->shape[d];
    return v;
}

double cascade_graph_matmul_flops(const cascade_graph *g) {
    double f = 0;
    for (int32_t i = 0; g && i < cascade_graph_n_nodes(g); i++) {
        const cascade_node *n = cascade_graph_node(g, i);
        const cascade_node *a = n->n_inputs > 0 ? cascade_graph_node(g, n->inputs[0]) : NULL;
        const cascade_node *b = n->n_inputs > 1 ? cascade_graph_node(g, n->inputs[1]) : NULL;
        switch (n->op) {
        case CASCADE_OP_MATMUL:
        case CASCADE_OP_LINEAR: f += 2 * numel(n) * (double)a->shape[a->ndim - 1]; break;
        case CASCADE_OP_CONV2D: f += 2 * numel(n) * numel(b) / (double)b->shape[0]; break;
        case CASCADE_OP_ATTENTION: {
            const cascade_node *v = cascade_graph_node(g, n->inputs[2]);
            f += 2 * numel(a) / (double)a->shape[3] * (double)b->shape[2] *
                 (double)(a->shape[3] + v->shape[3]);
            break;
        }
        default: break;
        }
    }
    return f;
}
