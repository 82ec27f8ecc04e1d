/* cascade tokenize --model DIR [--max-length N] [--mask] -- TEXT */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cascade.h"
#include "cascade/tokenizer.h"
#include "model-paths.h"

static void usage(FILE *f) {
    fprintf(f, "usage: cascade tokenize [--model DIR] [--max-length N] [--mask] [--] TEXT\n\n"
               "Prints the T5 token ids of TEXT (eos appended) as one JSON array.\n\n"
               "  -m, --model DIR       model directory (its tokenizer/), a tokenizer directory\n"
               "                        or a spiece.model file (default: the shipped model)\n"
               "  -n, --max-length N    truncate/pad to N ids, as the pipelines do\n"
               "      --mask            print the attention mask instead of the ids\n"
               "  -h, --help            this help\n");
}

static void print_array(const int32_t *v, size_t n) {
    putchar('[');
    for (size_t i = 0; i < n; i++) printf("%s%d", i ? ", " : "", v[i]);
    printf("]\n");
}

int cmd_tokenize(int argc, char **argv) {
    static const struct option opts[] = {{"model", required_argument, NULL, 'm'},
                                         {"max-length", required_argument, NULL, 'n'},
                                         {"mask", no_argument, NULL, 'k'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0}};
    const char *model = NULL;
    long        max_length = 0;
    int         want_mask = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:n:h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'n': {
            char *end;
            max_length = strtol(optarg, &end, 10);
            if (*end || max_length < 1 || max_length > 1 << 20)
                return cli_failf("tokenize", "--max-length must be a positive integer, got '%s'", optarg);
            break;
        }
        case 'k': want_mask = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    const char *text = argv[optind];
    char       *dir = cli_model_dir(model);
    if (!dir) return cli_failf("tokenize", "no --model given and no default model is installed");
    char *tok_dir = cli_component_dir(dir, "tokenizer");
    free(dir);
    cascade_error      err;
    cascade_tokenizer *tok = NULL;
    cascade_error_init(&err);
    int rc = 0;
    if (cascade_tokenizer_load(tok_dir, &tok, &err) != CASCADE_STATUS_OK) {
        rc = cli_fail("tokenize", &err);
    } else if (max_length > 0) {
        int32_t *ids = malloc(sizeof *ids * (size_t)max_length);
        int32_t *mask = malloc(sizeof *mask * (size_t)max_length);
        if (!ids || !mask) rc = cli_failf("tokenize", "out of memory");
        else if (cascade_tokenizer_encode_padded(tok, text, (int32_t)max_length, ids, mask, &err))
            rc = cli_fail("tokenize", &err);
        else print_array(want_mask ? mask : ids, (size_t)max_length);
        free(ids);
        free(mask);
    } else {
        int32_t *ids = NULL;
        size_t   n = 0;
        if (cascade_tokenizer_encode(tok, text, &ids, &n, &err) != CASCADE_STATUS_OK) {
            rc = cli_fail("tokenize", &err);
        } else if (want_mask) {
            for (size_t i = 0; i < n; i++) ids[i] = 1;
            print_array(ids, n);
        } else {
            print_array(ids, n);
        }
        free(ids);
    }
    cascade_tokenizer_free(tok);
    free(tok_dir);
    return rc;
}
