/* cascade encode [--model DIR] [--max-length N] PROMPT -o emb.safetensors */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cascade.h"
#include "cascade/backend.h"
#include "cascade/safetensors.h"
#include "cascade/t5.h"
#include "cascade/tokenizer.h"
#include "cascade/model-search.h"
#include "model-paths.h"

static void usage(FILE *f) {
    fprintf(f, "usage: cascade encode [--model DIR] [--max-length N] PROMPT -o OUT.safetensors\n\n"
               "Tokenizes PROMPT and runs the model's T5 text encoder on it. Writes input_ids,\n"
               "attention_mask and last_hidden_state (batch 1, N tokens, d_model) to OUT.\n\n"
               "  -m, --model DIR       model directory with tokenizer/ and text_encoder/\n"
               "                        (default: the shipped model)\n"
               "  -n, --max-length N    pad/truncate to N tokens (default 77)\n"
               "  -o, --output FILE     where to write the tensors (required)\n"
               "  -t, --threads N       CPU threads (default: all cores)\n"
               "  -h, --help            this help\n");
}

int cmd_encode(int argc, char **argv) {
    static const struct option opts[] = {{"model", required_argument, NULL, 'm'},
                                         {"max-length", required_argument, NULL, 'n'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"threads", required_argument, NULL, 't'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0}};
    const char *model = NULL, *output = NULL;
    long        max_length = CASCADE_TOKENIZER_DEFAULT_MAX_LENGTH, threads = 0;
    int         c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:n:o:t:h", opts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 'm': model = optarg; break;
        case 'o': output = optarg; break;
        case 'n':
            max_length = strtol(optarg, &end, 10);
            if (*end || max_length < 1 || max_length > 4096)
                return cli_failf("encode", "--max-length must be 1..4096, got '%s'", optarg);
            break;
        case 't':
            threads = strtol(optarg, &end, 10);
            if (*end || threads < 0 || threads > 1024)
                return cli_failf("encode", "--threads must be 0..1024, got '%s'", optarg);
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc - 1 || !output) {
        usage(stderr);
        return 2;
    }
    char         *dir = NULL, *no_sr = NULL;
    cascade_error rerr;
    cascade_error_init(&rerr);
    if (cascade_model_resolve(model, NULL, false, &dir, &no_sr, &rerr)) return cli_fail("encode", &rerr);
    char *tok_dir = cli_component_dir(dir, "tokenizer");
    char *enc_dir = cli_component_dir(dir, "text_encoder");
    free(dir);

    cascade_error       err;
    cascade_tokenizer  *tok = NULL;
    cascade_t5         *t5 = NULL;
    cascade_backend    *be = NULL;
    cascade_tensor     *ids = NULL, *mask = NULL, *hidden = NULL;
    cascade_cpu_options copt;
    int                 rc = 1;
    int64_t             N = max_length;
    cascade_error_init(&err);
    cascade_cpu_options_init(&copt);
    copt.n_threads = (int)threads;
    if (cascade_tokenizer_load(tok_dir, &tok, &err) ||
        cascade_t5_load(enc_dir, CASCADE_DTYPE_F32, &t5, &err) ||
        cascade_backend_cpu_new(&copt, &be, &err) ||
        cascade_tensor_new(CASCADE_DTYPE_I32, 2, (int64_t[]){1, N}, &ids, &err) ||
        cascade_tensor_new(CASCADE_DTYPE_I32, 2, (int64_t[]){1, N}, &mask, &err) ||
        cascade_tensor_new(CASCADE_DTYPE_F32, 3,
                           (int64_t[]){1, N, cascade_t5_get_config(t5)->d_model}, &hidden, &err) ||
        cascade_tokenizer_encode_padded(tok, argv[optind], (int32_t)N, ids->data, mask->data, &err) ||
        cascade_t5_encode(t5, be, ids->data, mask->data, 1, N, hidden->data, &err)) {
        rc = cli_fail("encode", &err);
        goto done;
    }
    const char *const           names[] = {"input_ids", "attention_mask", "last_hidden_state"};
    const cascade_tensor *const tensors[] = {ids, mask, hidden};
    const char *const           meta[] = {"prompt", argv[optind], "producer", "cascade encode", NULL};
    if (cascade_safetensors_write(output, 3, names, tensors, meta, &err)) {
        rc = cli_fail("encode", &err);
        goto done;
    }
    fprintf(stderr, "cascade encode: wrote %s (1 x %lld x %lld)\n", output, (long long)N,
            (long long)cascade_t5_get_config(t5)->d_model);
    rc = 0;
done:
    cascade_tensor_free(ids);
    cascade_tensor_free(mask);
    cascade_tensor_free(hidden);
    cascade_backend_free(be);
    cascade_t5_free(t5);
    cascade_tokenizer_free(tok);
    free(tok_dir);
    free(enc_dir);
    return rc;
}
