/* libFuzzer harness: an upscaler folder's config.json (cascade_upscaler_load: the layer graph
 * written by `cascade convert`) beside a valid model.safetensors (data/tfjs converted at
 * start-up). A refusal names the folder; an upscaler that loads must report sane figures,
 * build its graph and upscale a 6x5 RGBA image on the CPU backend. */
#include <stddef.h>
#include <stdint.h>

#include "cascade/backend.h"
#include "cascade/graph.h"
#include "cascade/tfjs-convert.h"
#include "cascade/upscaler.h"
#include "fuzz-common.h"

static cascade_backend *cpu;
static char            *dir;

static void setup(void) {
    fuzz_copy_data("tfjs/model.json", "tfjs/model.json");
    fuzz_copy_data("tfjs/group1-shard1of1.bin", "tfjs/group1-shard1of1.bin");
    char                        *in = fuzz_path("tfjs");
    cascade_tfjs_convert_options opt;
    cascade_tfjs_convert_options_init(&opt);
    cascade_error err;
    cascade_error_init(&err);
    dir = fuzz_path("up");
    FUZZ_ASSERT(cascade_tfjs_convert(in, dir, &opt, &err) == CASCADE_STATUS_OK);
    g_free(in);
    cascade_cpu_options copt;
    cascade_cpu_options_init(&copt);
    copt.n_threads = 1;
    FUZZ_ASSERT(cascade_backend_cpu_new(&copt, &cpu, &err) == CASCADE_STATUS_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_init();
    if (!dir) setup();
    g_free(fuzz_write("up/config.json", data, size));
    cascade_upscaler *u = NULL;
    cascade_error     err;
    cascade_error_init(&err);
    cascade_status st = cascade_upscaler_load(dir, &u, &err);
    fuzz_check_failure(st, &err, dir);
    FUZZ_ASSERT((st == CASCADE_STATUS_OK) == (u != NULL));
    if (!u) return 0;
    const int32_t s = cascade_upscaler_scale(u);
    FUZZ_ASSERT(s >= 1 && s <= 64 && cascade_upscaler_channels(u) == 3);
    FUZZ_ASSERT(cascade_upscaler_architecture(u));
    FUZZ_ASSERT(cascade_upscaler_receptive_field(u) >= 0);
    FUZZ_ASSERT(cascade_upscaler_activation_bytes_per_pixel(u) > 0);
    cascade_graph *g = NULL;
    cascade_error_init(&err);
    if (cascade_upscaler_build_graph(u, 4, 5, &g, &err) == CASCADE_STATUS_OK)
        cascade_graph_free(g);
    else
        FUZZ_ASSERT(err.message[0]);
    if (s <= 8) {
        uint8_t src[5 * 6 * 4];
        for (size_t i = 0; i < sizeof src; i++)
            src[i] = (uint8_t)(i * 37);
        uint8_t                *dst = g_malloc((size_t)(5 * s) * (size_t)(6 * s) * 4);
        cascade_upscale_options opt;
        cascade_upscale_options_init(&opt);
        cascade_error_init(&err);
        if (cascade_upscale_image(u, cpu, src, 6, 5, 4, 6 * 4, dst, (size_t)(6 * s) * 4, &opt,
                                  &err) != CASCADE_STATUS_OK)
            FUZZ_ASSERT(err.message[0]);
        g_free(dst);
    }
    cascade_upscaler_free(u);
    return 0;
}
