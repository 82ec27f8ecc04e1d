/* gemm-bench [--tiny] [--iterations N]
 *
 * Large single products on the Vulkan backend with fp16 storage, plain GEMM against the
 * tensor-core one (tools/bench/gpu.sh): a square matrix product and two 3x3 convolutions of
 * U-Net widths, each planned alone and run repeatedly. Prints one JSON line per op and
 * kernel: median milliseconds and TFLOP/s (2 per multiply-add). The tensor-core lines are
 * left out, with the reason on stderr, where the device does not run that variant. --tiny
 * uses small shapes (for lavapipe). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cascade/backend.h"
#include "cascade/graph.h"
#include "cascade/scheduler.h"
#include "cascade/vulkan.h"

typedef struct op_shape {
    const char *name;
    int64_t     a, b, c, d, e; /* matmul: M K N; conv: N C H W O (3x3, pad 1) */
    bool        conv;
} op_shape;

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* Builds the op's graph; *flops gets its multiply-adds x 2. */
static cascade_status build(const op_shape *s, cascade_graph *g, double *flops,
                            cascade_error *err) {
    cascade_value_id out;
    if (s->conv) {
        int64_t xs[4] = {s->a, s->b, s->c, s->d}, ws[4] = {s->e, s->b, 3, 3};
        cascade_conv2d_params p;
        cascade_conv2d_params_init(&p);
        p.pad[0] = p.pad[1] = p.pad[2] = p.pad[3] = 1;
        out = cascade_graph_conv2d(g, cascade_graph_input(g, "x", CASCADE_DTYPE_F32, 4, xs),
                                   cascade_graph_input(g, "w", CASCADE_DTYPE_F32, 4, ws),
                                   CASCADE_NO_VALUE, &p);
        *flops = 2.0 * (double)(s->a * s->c * s->d * s->e) * (double)(s->b * 9);
    } else {
        int64_t as[2] = {s->a, s->b}, bs[2] = {s->b, s->c};
        out = cascade_graph_matmul(g, cascade_graph_input(g, "a", CASCADE_DTYPE_F32, 2, as),
                                   cascade_graph_input(g, "b", CASCADE_DTYPE_F32, 2, bs), false);
        *flops = 2.0 * (double)s->a * (double)s->b * (double)s->c;
    }
    cascade_graph_mark_output(g, out, "out");
    return cascade_graph_status(g, err);
}

/* Plans the op on be, fills its inputs, runs it warmup + iters times; *ms the median. */
static cascade_status time_op(cascade_backend *be, const cascade_graph *g, int iters,
                              double *ms, cascade_error *err) {
    cascade_plan  *plan = NULL;
    double        *t = calloc((size_t)iters, sizeof *t);
    float         *buf = NULL;
    cascade_status st = t ? cascade_plan_new(be, g, &plan, err)
                          : cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "timings");
    cascade_rng    rng;
    cascade_rng_init(&rng, 1);
    for (int32_t i = 0; !st && i < cascade_graph_n_nodes(g); i++) {
        const cascade_node *n = cascade_graph_node(g, i);
        if (n->op != CASCADE_OP_INPUT) continue;
        int64_t numel = 1;
        for (int32_t d = 0; d < n->ndim; d++) numel *= n->shape[d];
        free(buf);
        buf = malloc((size_t)numel * sizeof *buf);
        if (!buf) {
            st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "input '%s'", n->name);
            break;
        }
        cascade_rng_normal(&rng, buf, (size_t)numel);
        for (int64_t k = 0; k < numel; k++) buf[k] *= 0.05f; /* products stay in fp16 range */
        st = cascade_plan_write(plan, i, buf, (size_t)numel * sizeof *buf, err);
    }
    for (int i = 0; !st && i < iters + 2; i++) {
        double t0 = now_ms();
        st = cascade_plan_run(plan, NULL, err);
        if (i >= 2) t[i - 2] = now_ms() - t0;
    }
    if (!st) {
        qsort(t, (size_t)iters, sizeof *t, cmp_double);
        *ms = t[iters / 2];
    }
    free(buf);
    free(t);
    cascade_plan_free(plan);
    return st;
}

int main(int argc, char **argv) {
    bool tiny = false;
    int  iters = 10;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--tiny")) {
            tiny = true;
        } else if (!strcmp(argv[i], "--iterations") && i + 1 < argc) {
            iters = atoi(argv[++i]);
            if (iters < 1 || iters > 10000) iters = 10;
        } else {
            fprintf(stderr, "usage: gemm-bench [--tiny] [--iterations N]\n");
            return 2;
        }
    }
    static const op_shape big[] = {
        {"matmul 4096x4096x4096", 4096, 4096, 4096, 0, 0, false},
        {"conv3x3 2x320x128x128->320", 2, 320, 128, 128, 320, true},
        {"conv3x3 8x640x64x64->640", 8, 640, 64, 64, 640, true},
    };
    static const op_shape small[] = {
        {"matmul 130x150x200", 130, 150, 200, 0, 0, false},
        {"conv3x3 2x16x20x20->24", 2, 16, 20, 20, 24, true},
    };
    const op_shape *ops = tiny ? small : big;
    size_t          n_ops = tiny ? sizeof small / sizeof small[0] : sizeof big / sizeof big[0];
    cascade_error   err;
    cascade_error_init(&err);
    cascade_backend *be[2] = {NULL, NULL};
    int              rc = 1;
    for (int k = 0; k < 2; k++) {
        cascade_vulkan_options o;
        cascade_vulkan_options_init(&o);
        o.precision = CASCADE_VULKAN_PRECISION_FP16;
        o.no_coopmat = k == 0;
        if (cascade_backend_vulkan_new(&o, &be[k], &err)) goto fail;
    }
    if (!cascade_vulkan_backend_uses_coopmat(be[1])) {
        cascade_vulkan_device_info info;
        const char                *why = "no device information";
        if (cascade_vulkan_backend_device(be[1], &info))
            cascade_vulkan_coopmat_pick(&info, true, false, getenv("CASCADE_VK_COOPMAT"), &why);
        fprintf(stderr, "gemm-bench: tensor-core GEMM not run: %s\n", why);
        cascade_backend_free(be[1]);
        be[1] = NULL;
    }
    for (size_t i = 0; i < n_ops; i++) {
        cascade_graph *g = NULL;
        double         flops = 0;
        if (cascade_graph_new(&g, &err) || build(&ops[i], g, &flops, &err)) {
            cascade_graph_free(g);
            goto fail;
        }
        for (int k = 0; k < 2; k++) {
            double ms = 0;
            if (!be[k]) continue;
            if (time_op(be[k], g, iters, &ms, &err)) {
                cascade_graph_free(g);
                goto fail;
            }
            printf("{\"op\": \"%s\", \"kernel\": \"%s\", \"median_ms\": %.4f, \"tflops\": %.4g}\n",
                   ops[i].name, k ? "tensor-core" : "plain", ms,
                   ms > 0 ? flops / (ms * 1e-3) / 1e12 : 0.0);
            fflush(stdout);
        }
        cascade_graph_free(g);
    }
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "gemm-bench: %s\n", err.message);
done:
    cascade_backend_free(be[0]);
    cascade_backend_free(be[1]);
    return rc;
}
