/* cascade tokenize --model DIR [--max-length N] [--mask] -- TEXT (T5 or CLIP tokenizer) */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cascade.h"
#include "cascade/clip-tokenizer.h"
#include "cascade/tokenizer.h"
#include "cascade/model-search.h"
#include "model-paths.h"

static void usage(FILE *f) {
    fprintf(f, "usage: cascade tokenize [--model DIR] [--max-length N] [--mask] [--] TEXT\n\n"
               "Prints the token ids of TEXT as one JSON array: T5's (eos appended) or, for a\n"
               "CLIP tokenizer (Stable Diffusion), CLIP's (between bos and eos).\n\n"
               "  -m, --model DIR       model directory (its tokenizer/), a tokenizer directory\n"
               "                        (spiece.model, or vocab.json and merges.txt) or a\n"
               "                        spiece.model file (default: the shipped model)\n"
               "  -n, --max-length N    truncate/pad to N ids, as the pipelines do\n"
               "      --mask            print the attention mask instead of the ids\n"
               "  -h, --help            this help\n");
}

/* The T5 or the CLIP tokenizer, whichever the folder holds (its tokenizer_config.json's
 * tokenizer_class, else the files: vocab.json and merges.txt are CLIP's). */
typedef struct any_tok {
    cascade_tokenizer      *t5;
    cascade_clip_tokenizer *clip;
} any_tok;

static cascade_status any_load(const char *dir, any_tok *t, cascade_error *err) {
    if (cascade_clip_tokenizer_is_dir(dir)) return cascade_clip_tokenizer_load(dir, &t->clip, err);
    return cascade_tokenizer_load(dir, &t->t5, err);
}

static cascade_status any_encode(const any_tok *t, const char *text, int32_t **ids, size_t *n,
                                 cascade_error *err) {
    return t->clip ? cascade_clip_tokenizer_encode(t->clip, text, ids, n, err)
                   : cascade_tokenizer_encode(t->t5, text, ids, n, err);
}

static cascade_status any_encode_padded(const any_tok *t, const char *text, int32_t max_length,
                                        int32_t *ids, int32_t *mask, cascade_error *err) {
    return t->clip ? cascade_clip_tokenizer_encode_padded(t->clip, text, max_length, ids, mask, err)
                   : cascade_tokenizer_encode_padded(t->t5, text, max_length, ids, mask, err);
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
    char         *dir = NULL, *no_sr = NULL;
    cascade_error err;
    cascade_error_init(&err);
    if (cascade_model_resolve(model, NULL, false, &dir, &no_sr, &err)) return cli_fail("tokenize", &err);
    char *tok_dir = cli_component_dir(dir, "tokenizer");
    free(dir);
    any_tok       tok = {0};
    int rc = 0;
    if (any_load(tok_dir, &tok, &err) != CASCADE_STATUS_OK) {
        rc = cli_fail("tokenize", &err);
    } else if (max_length > 0) {
        int32_t *ids = malloc(sizeof *ids * (size_t)max_length);
        int32_t *mask = malloc(sizeof *mask * (size_t)max_length);
        if (!ids || !mask) rc = cli_failf("tokenize", "out of memory");
        else if (any_encode_padded(&tok, text, (int32_t)max_length, ids, mask, &err))
            rc = cli_fail("tokenize", &err);
        else print_array(want_mask ? mask : ids, (size_t)max_length);
        free(ids);
        free(mask);
    } else {
        int32_t *ids = NULL;
        size_t   n = 0;
        if (any_encode(&tok, text, &ids, &n, &err) != CASCADE_STATUS_OK) {
            rc = cli_fail("tokenize", &err);
        } else if (want_mask) {
            for (size_t i = 0; i < n; i++) ids[i] = 1;
            print_array(ids, n);
        } else {
            print_array(ids, n);
        }
        free(ids);
    }
    cascade_tokenizer_free(tok.t5);
    cascade_clip_tokenizer_free(tok.clip);
    free(tok_dir);
    return rc;
}
