/* cascade bench --component DIR --inputs IN.safetensors [--iterations N] [--warmup N]
 * Times one component's forward pass: load, plan, and per-run latency, as JSON. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cascade/backend-name.h"
#include "bench.h"
#include "cascade.h"
#include "forward.h"

static void usage(FILE *f) {
    fprintf(f, "usage: cascade bench [--model DIR] [--sr-model DIR] [--no-sr] [--steps N] [--sr-steps N]\n"
               "                     [--batch N] [--runs N] [--prompt TEXT] [--backend NAME]\n"
               "                     [--threads N]\n"
               "       cascade bench --component DIR --inputs IN.safetensors [--iterations N]\n"
               "                     [--warmup N] [--backend cpu|vulkan|vulkan-fp16] [--threads N]\n"
               "       cascade bench --vae DIR --size WxH [--budget-mib N] [--tile N] [--encode]\n"
               "                     [--batch N] [--backend NAME] [--threads N]\n\n"
               "Without --component: runs the cascade --runs times in one engine session (default:\n"
               "the shipped model) and prints JSON: per run, the time spent loading models and\n"
               "making plans with the session's counters (models loaded, plans built, constants\n"
               "bound, text encodes: 0 in runs that reuse what the first one made), per-step\n"
               "latency of each stage and the total; then peak host memory. With --component: runs one component (as `cascade forward` does)\n"
               "repeatedly and prints JSON:\n"
               "load and plan time, per-run latency (min, median, mean), peak host memory (VmHWM)\n"
               "and what it is made of (host_memory: the process before loading, the backend's\n"
               "weights, planned activations, inputs/outputs and scratch, and the rest, of\n"
               "which code: program and library pages first touched), the\n"
               "backend's planned vs naive activation memory and its peak device memory, and the\n"
               "FLOPs of its matrix products, convolutions and attention (gemm_flops) with the\n"
               "rate at the median latency (tflops).\n"
               "With --vae: one AutoencoderKL decode (or --encode) of a WxH image from seeded\n"
               "latents; prints JSON with the time, how it was tiled, the bytes the VAE planned\n"
               "and the host memory the run added (VmHWM after it minus VmRSS before it).\n\n"
               "  -c, --component DIR   component directory (config.json + safetensors)\n"
               "  -i, --inputs FILE     input tensors, named as for `cascade forward`\n"
               "  -n, --iterations N    timed runs (default 10)\n"
               "  -w, --warmup N        untimed runs first (default 1)\n"
               "  -b, --backend NAME    cpu (default), vulkan, vulkan-fp16, vulkan-int8; :DEVICE\n"
               "                        picks a device by index or name (see `cascade devices`)\n"
               "  -t, --threads N       CPU threads (default: all cores)\n"
               "  -m, --model DIR       cascade mode: stage I model (default: the shipped model)\n"
               "  -s, --sr-model DIR    cascade mode: stage II model (default: the shipped one)\n"
               "      --no-sr           cascade mode: stage I only\n"
               "      --steps N         cascade mode: stage I steps (default 20)\n"
               "      --sr-steps N      cascade mode: stage II steps (default 10)\n"
               "      --batch N         cascade mode: images (default 1)\n"
               "      --runs N          cascade mode: generates in one session (default 1)\n"
               "  -p, --prompt TEXT     cascade mode: prompt (default \"red apple, flat style\")\n"
               "      --vae DIR         VAE mode: an AutoencoderKL folder\n"
               "      --size WxH        VAE mode: image size in pixels (default 1024x1024)\n"
               "      --budget-mib N    VAE mode: memory budget (default: none)\n"
               "      --tile N          VAE mode: tile edge in latent px (default: auto)\n"
               "      --encode          VAE mode: encode instead of decode\n"
               "  -h, --help            this help\n");
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

uint64_t bench_proc_status_bytes(const char *key) {
    FILE              *f = fopen("/proc/self/status", "r");
    char               line[256];
    unsigned long long kb = 0;
    size_t             n = strlen(key);
    if (!f) return 0;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, n) && line[n] == ':') {
            sscanf(line + n + 1, "%llu", &kb);
            break;
        }
    fclose(f);
    return (uint64_t)kb * 1024;
}

/* Resident bytes of the program's and its shared libraries' mappings (code, read-only data):
 * what a run first touches of them is part of its peak, though clean, shared with every
 * process using the same libraries and dropped by the kernel under pressure. */
uint64_t bench_code_rss_bytes(void) {
    char    exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = '\0';
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f) return 0;
    char               line[4096];
    bool               code = false;
    unsigned long long kb = 0, sum = 0;
    unsigned long      lo, hi;
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "Rss:", 4)) {
            if (code && sscanf(line + 4, "%llu", &kb) == 1) sum += kb;
        } else if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
            /* a mapping's header: "lo-hi perms offset dev inode [path]" */
            const char *path = strchr(line, '/');
            size_t      len = path ? strcspn(path, "\n") : 0;
            code = path && (strstr(path, ".so") ||
                            (exe[0] && len == strlen(exe) && !strncmp(path, exe, len)));
        }
    }
    fclose(f);
    return (uint64_t)sum * 1024;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static long parse_count(const char *s, long lo, long hi, bool *ok) {
    char *end;
    errno = 0; /* strtol saturates out-of-range input: refused, not clamped */
    long  v = strtol(s, &end, 10);
    *ok = *s && !*end && errno != ERANGE && v >= lo && v <= hi;
    return v;
}

int cmd_bench(int argc, char **argv) {
    static const struct option opts[] = {{"component", required_argument, NULL, 'c'},
                                         {"inputs", required_argument, NULL, 'i'},
                                         {"iterations", required_argument, NULL, 'n'},
                                         {"warmup", required_argument, NULL, 'w'},
                                         {"backend", required_argument, NULL, 'b'},
                                         {"threads", required_argument, NULL, 't'},
                                         {"model", required_argument, NULL, 'm'},
                                         {"sr-model", required_argument, NULL, 's'},
                                         {"prompt", required_argument, NULL, 'p'},
                                         {"no-sr", no_argument, NULL, 1},
                                         {"steps", required_argument, NULL, 2},
                                         {"sr-steps", required_argument, NULL, 3},
                                         {"batch", required_argument, NULL, 4},
                                         {"vae", required_argument, NULL, 5},
                                         {"size", required_argument, NULL, 6},
                                         {"budget-mib", required_argument, NULL, 7},
                                         {"tile", required_argument, NULL, 8},
                                         {"encode", no_argument, NULL, 9},
                                         {"runs", required_argument, NULL, 10},
                                         {"help", no_argument, NULL, 'h'},
                                         {0}};
    bench_pipeline_args pa = {.prompt = "red apple, flat style", .steps1 = 20, .steps2 = 10,
                              .batch = 1, .runs = 1};
    bench_vae_args  va = {.width = 1024, .height = 1024, .batch = 1};
    forward_request rq = {0};
    const char     *backend = "cpu";
    long            iters = 10, warmup = 1, threads = 0;
    bool            ok = true;
    int             c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:i:n:w:b:t:m:s:p:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': rq.component_dir = optarg; break;
        case 'i': rq.inputs_path = optarg; break;
        case 'n': iters = parse_count(optarg, 1, 100000, &ok); break;
        case 'w': warmup = parse_count(optarg, 0, 100000, &ok); break;
        case 'b': backend = optarg; break;
        case 't': threads = parse_count(optarg, 0, 1024, &ok); break;
        case 'm': pa.model = optarg; break;
        case 's': pa.sr_model = optarg; break;
        case 'p': pa.prompt = optarg; break;
        case 1: pa.no_sr = true; break;
        case 2: pa.steps1 = parse_count(optarg, 1, 1000, &ok); break;
        case 3: pa.steps2 = parse_count(optarg, 1, 1000, &ok); break;
        case 4: va.batch = pa.batch = parse_count(optarg, 1, 64, &ok); break;
        case 5: va.vae_dir = optarg; break;
        case 6: {
            long long w = 0, h = 0;
            char      x = 0, tail = 0;
            ok = sscanf(optarg, "%lld%c%lld%c", &w, &x, &h, &tail) == 3 && x == 'x' && w > 0 &&
                 h > 0 && w <= (1 << 16) && h <= (1 << 16);
            if (!ok) return cli_failf("bench", "--size: expected WxH, got '%s'", optarg);
            va.width = w;
            va.height = h;
            break;
        }
        case 7: va.budget_bytes = (uint64_t)parse_count(optarg, 1, 1 << 24, &ok) << 20; break;
        case 8: va.tile = parse_count(optarg, 8, 1 << 16, &ok); break;
        case 9: va.encode = true; break;
        case 10: pa.runs = (int)parse_count(optarg, 1, 1000, &ok); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
        if (!ok) return cli_failf("bench", "option -%c: bad number '%s'", c, optarg);
    }
    if (va.vae_dir) {
        if (rq.component_dir || rq.inputs_path || optind != argc) {
            usage(stderr);
            return 2;
        }
        va.backend = backend;
        va.threads = (int)threads;
        return bench_vae(&va);
    }
    if (!rq.component_dir && !rq.inputs_path && optind == argc) {
        pa.backend = backend;
        pa.threads = (int)threads;
        return bench_pipeline(&pa);
    }
    if (!rq.component_dir || !rq.inputs_path || optind != argc) {
        usage(stderr);
        return 2;
    }
    cascade_error        err;
    cascade_safetensors *in = NULL;
    cascade_backend     *be = NULL;
    forward_session      sess = {0};
    double              *lat = calloc((size_t)iters, sizeof *lat);
    int                  rc = 0;
    cascade_error_init(&err);
    /* the process before any loading (code, libraries): the floor of every breakdown below */
    uint64_t                 baseline = bench_proc_status_bytes("VmRSS");
    uint64_t                 code_baseline = bench_code_rss_bytes();
    const forward_component *fc = forward_find_component(rq.component_dir, &err);
    double                   t0 = now_ms(), t_load = 0;
    if (!lat || !fc || cascade_safetensors_open(rq.inputs_path, &in, &err) ||
        cascade_backend_new_by_name(backend, (int)threads, &be, &err)) {
        rc = lat ? cli_fail("bench", &err) : cli_failf("bench", "out of memory");
        goto done;
    }
    rq.inputs = in;
    rq.backend = be;
    if (fc->prepare(&rq, &sess, &err)) {
        rc = cli_fail("bench", &err);
        goto done;
    }
    t_load = now_ms() - t0;
    /* the inputs are in the plan now; their mapping would count as host memory of the run */
    cascade_safetensors_close(in);
    in = NULL;
    rq.inputs = NULL;
    for (long i = 0; i < warmup + iters; i++) {
        double t = now_ms();
        if (cascade_plan_run(sess.plan, NULL, &err)) {
            rc = cli_fail("bench", &err);
            goto done;
        }
        if (i >= warmup) lat[i - warmup] = now_ms() - t;
    }
    double mean = 0;
    for (long i = 0; i < iters; i++) mean += lat[i] / (double)iters;
    qsort(lat, (size_t)iters, sizeof *lat, cmp_double);
    double median = iters % 2 ? lat[iters / 2] : 0.5 * (lat[iters / 2 - 1] + lat[iters / 2]);
    double flops = cascade_graph_matmul_flops(sess.graph);
    cascade_memory_stats ms;
    cascade_backend_memory_stats(be, &ms);
    /* peak host memory, by where it goes; rest = peak - everything named (library code first
     * run, mapped weight files, the graph, allocator slack, per-thread stacks). Of the rest,
     * code is what the program's and libraries' pages grew by, read at the end, where a
     * component run has its peak (everything is allocated). */
    uint64_t peak = bench_proc_status_bytes("VmHWM");
    uint64_t code_now = bench_code_rss_bytes();
    uint64_t code = code_now > code_baseline ? code_now - code_baseline : 0;
    uint64_t named = baseline + ms.weights_bytes + ms.planned_peak_bytes + ms.io_bytes +
                     ms.scratch_bytes;
    printf("{\"component\": \"%s\", \"backend\": \"%s\", \"threads\": %ld, \"load_and_plan_ms\": %.3f, "
           "\"iterations\": %ld, \"latency_ms\": {\"min\": %.3f, \"median\": %.3f, \"mean\": %.3f}, "
           "\"peak_host_bytes\": %llu, \"host_memory\": {\"baseline_bytes\": %llu, "
           "\"weights_bytes\": %llu, \"planned_bytes\": %llu, \"io_bytes\": %llu, "
           "\"scratch_bytes\": %llu, \"rest_bytes\": %lld, \"code_bytes\": %llu}, "
           "\"activations\": {\"planned_bytes\": %llu, "
           "\"naive_bytes\": %llu}, \"weights_bytes\": %llu, \"peak_device_bytes\": %llu, "
           "\"gemm_flops\": %.6g, \"tflops\": %.4g}\n",
           fc->class_name, cascade_backend_name(be), threads, t_load, iters, lat[0], median, mean,
           (unsigned long long)peak, (unsigned long long)baseline,
           (unsigned long long)ms.weights_bytes, (unsigned long long)ms.planned_peak_bytes,
           (unsigned long long)ms.io_bytes, (unsigned long long)ms.scratch_bytes,
           (long long)peak - (long long)named, (unsigned long long)code,
           (unsigned long long)ms.planned_peak_bytes,
           (unsigned long long)ms.naive_bytes, (unsigned long long)ms.weights_bytes,
           (unsigned long long)ms.device_peak_bytes, flops,
           median > 0 ? flops / (median * 1e-3) / 1e12 : 0.0);
done:
    forward_session_clear(&sess);
    cascade_backend_free(be);
    cascade_safetensors_close(in);
    free(lat);
    return rc;
}
