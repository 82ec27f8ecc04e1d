/* cascade convert --from tfjs MODEL_DIR -o OUT_DIR [--value-range R] [-v]
 * Converts a TensorFlow.js layers model (an UpscalerJS package's models/xN folder) into an
 * engine model directory (config.json + model.safetensors). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cascade.h"
#include "cascade/tfjs-convert.h"

static void usage(FILE *f) {
    fprintf(
        f,
        "usage: cascade convert --from tfjs MODEL_DIR -o OUT_DIR [--value-range R] [-v]\n\n"
        "Converts a TensorFlow.js layers model (model.json + weight shards, e.g.\n"
        "node_modules/@upscalerjs/esrgan-slim/models/x4) into OUT_DIR/config.json and\n"
        "OUT_DIR/model.safetensors for `cascade upscale --model OUT_DIR`.\n\n"
        "  --from tfjs        the source format (the only one so far)\n"
        "  -o, --output DIR   where to write the converted model (created)\n"
        "  --value-range R    pixel value of white the network expects: 255 or 1\n"
        "                     (default: 255 for RDN, 1 for RRDN, as UpscalerJS 1.0.0 feeds them)\n"
        "  -v, --verbose      list the converted layers\n");
}

int cmd_convert(int argc, char **argv) {
    const char                  *from = NULL, *in = NULL, *out = NULL;
    cascade_tfjs_convert_options opt;
    cascade_tfjs_convert_options_init(&opt);
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--from") && i + 1 < argc) {
            from = argv[++i];
        } else if ((!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) && i + 1 < argc) {
            out = argv[++i];
        } else if (!strcmp(argv[i], "--value-range") && i + 1 < argc) {
            char *end = NULL;
            opt.value_range = strtod(argv[++i], &end);
            if (!end || *end || !(opt.value_range > 0 && opt.value_range <= 65535))
                return cli_failf("convert", "--value-range: '%s' is not a number in (0, 65535]",
                                 argv[i]);
        } else if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
            opt.verbose = true;
        } else if (argv[i][0] == '-') {
            usage(stderr);
            return cli_failf("convert", "unknown option '%s'", argv[i]);
        } else if (!in) {
            in = argv[i];
        } else {
            return cli_failf("convert", "unexpected argument '%s'", argv[i]);
        }
    }
    if (!from || !in || !out) {
        usage(stderr);
        return 2;
    }
    if (strcmp(from, "tfjs"))
        return cli_failf("convert", "--from %s: only 'tfjs' is supported", from);
    cascade_error err;
    cascade_error_init(&err);
    if (cascade_tfjs_convert(in, out, &opt, &err) != CASCADE_STATUS_OK)
        return cli_fail("convert", &err);
    printf("%s -> %s\n", in, out);
    return 0;
}
