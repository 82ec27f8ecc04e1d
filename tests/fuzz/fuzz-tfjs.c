/* libFuzzer harness: a TensorFlow.js model.json (cascade_tfjs_convert, `cascade convert
 * --from tfjs`) beside the valid weight shard of data/tfjs (1344 bytes: a 3x3 conv to 12
 * channels and its bias). A refusal names the folder and leaves no output; a conversion that
 * succeeds writes a config.json + model.safetensors that cascade_upscaler_load must accept. */
#include <stddef.h>
#include <stdint.h>

#include "cascade/tfjs-convert.h"
#include "cascade/upscaler.h"
#include "fuzz-common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char *in, *out;
    fuzz_init();
    if (!in) {
        fuzz_copy_data("tfjs/group1-shard1of1.bin", "tfjs/group1-shard1of1.bin");
        in = fuzz_path("tfjs");
        out = fuzz_path("tfjs-out");
    }
    g_free(fuzz_write("tfjs/model.json", data, size));
    fuzz_rm_rf(out);

    cascade_tfjs_convert_options opt;
    cascade_tfjs_convert_options_init(&opt);
    cascade_error err;
    cascade_error_init(&err);
    cascade_status st = cascade_tfjs_convert(in, out, &opt, &err);
    fuzz_check_failure(st, &err, in);
    char *cfg = g_build_filename(out, "config.json", NULL);
    char *wts = g_build_filename(out, "model.safetensors", NULL);
    if (st != CASCADE_STATUS_OK) {
        FUZZ_ASSERT(!g_file_test(cfg, G_FILE_TEST_EXISTS) && !g_file_test(wts, G_FILE_TEST_EXISTS));
    } else {
        cascade_upscaler *u = NULL;
        cascade_error_init(&err);
        st = cascade_upscaler_load(out, &u, &err);
        if (st != CASCADE_STATUS_OK)
            fprintf(stderr, "fuzz: converted model refused: %s\n", err.message);
        FUZZ_ASSERT(st == CASCADE_STATUS_OK && u);
        FUZZ_ASSERT(cascade_upscaler_scale(u) >= 1 && cascade_upscaler_scale(u) <= 64);
        cascade_upscaler_free(u);
    }
    g_free(cfg);
    g_free(wts);
    return 0;
}
