/* unet-random CONFIG.json OUTDIR [--batch B] [--size H] [--seq N] [--seed S] [--f32]
 *
 * A U-Net component folder with random weights for benchmarks (tools/bench/gpu.sh): copies
 * the config, builds the model's graph without weights (every parameter is then an input
 * named by its checkpoint key, with its shape) and writes
 *   OUTDIR/config.json
 *   OUTDIR/diffusion_pytorch_model.safetensors  every parameter: 1-D ".weight" 1, 1-D
 *       ".bias" 0 (norms), others normal / sqrt(fan in), so activations stay in fp16 range
 *   OUTDIR/inputs.safetensors  sample, timestep (500), encoder_hidden_states[, class_labels]
 *       at (B, in_channels, H, H) and (B, N, encoder_dim), for `cascade bench --component`.
 * Weights are F16 unless --f32 (half the bytes to write; the loader converts). --dry-run
 * writes nothing and only prints the summary (parameter count). */
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cascade/safetensors.h"
#include "cascade/scheduler.h"
#include "cascade/tensor.h"
#include "cascade/unet.h"

static bool is_input_name(const char *n) {
    static const char *const in[] = {
        CASCADE_UNET_SAMPLE, CASCADE_UNET_TIMESTEP, CASCADE_UNET_ENCODER_HIDDEN_STATES,
        CASCADE_UNET_ENCODER_ATTENTION_MASK, CASCADE_UNET_CLASS_LABELS};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++)
        if (!strcmp(n, in[i])) return true;
    return false;
}

static bool ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

/* Fills one tensor's values (as F32, converted to dt) by the rules above. */
static cascade_status make_tensor(const cascade_node *n, cascade_dtype dt, cascade_rng *rng,
                                  cascade_tensor **out, cascade_error *err) {
    int64_t numel = 0;
    if (!cascade_shape_numel(n->ndim, n->shape, &numel) || (uint64_t)numel > SIZE_MAX / 4)
        return cascade_error_set(err, CASCADE_STATUS_FORMAT, "%s: too large", n->name);
    float *f = malloc((size_t)numel * sizeof *f + 4);
    if (!f) return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "%s", n->name);
    bool input = is_input_name(n->name);
    if (!input && n->ndim == 1 && ends_with(n->name, ".weight")) {
        for (int64_t i = 0; i < numel; i++)
            f[i] = 1.0f;
    } else if (!strcmp(n->name, CASCADE_UNET_TIMESTEP)) {
        for (int64_t i = 0; i < numel; i++)
            f[i] = 500.0f;
    } else if (!strcmp(n->name, CASCADE_UNET_CLASS_LABELS) ||
               !strcmp(n->name, CASCADE_UNET_ENCODER_ATTENTION_MASK) || (!input && n->ndim == 1)) {
        for (int64_t i = 0; i < numel; i++)
            f[i] = 0.0f;
    } else {
        cascade_rng_normal(rng, f, (size_t)numel);
        double fan_in = n->ndim > 1 && n->shape[0] > 0 ? (double)numel / (double)n->shape[0] : 1;
        float  s = input ? 1.0f : (float)(1.0 / sqrt(fan_in));
        for (int64_t i = 0; i < numel; i++)
            f[i] *= s;
    }
    cascade_status st =
        cascade_tensor_new(input ? CASCADE_DTYPE_F32 : dt, n->ndim, n->shape, out, err);
    if (!st)
        st = cascade_convert(CASCADE_DTYPE_F32, f, (*out)->dtype, (*out)->data, (size_t)numel, err);
    free(f);
    return st;
}

static bool parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *v) {
    char     *end = NULL;
    long long x = strtoll(s, &end, 10);
    *v = x;
    return *s && end && !*end && x >= lo && x <= hi;
}

int main(int argc, char **argv) {
    if (argc < 3 || argv[1][0] == '-') {
        fprintf(stderr, "usage: unet-random CONFIG.json OUTDIR [--batch B] [--size H] "
                        "[--seq N] [--seed S] [--f32] [--dry-run]\n");
        return 2;
    }
    int64_t       batch = 2, size = 0, seq = 77, seed = 0;
    cascade_dtype dt = CASCADE_DTYPE_F16;
    bool          dry = false;
    for (int i = 3; i < argc; i++) {
        int64_t *v = !strcmp(argv[i], "--batch")  ? &batch
                     : !strcmp(argv[i], "--size") ? &size
                     : !strcmp(argv[i], "--seq")  ? &seq
                     : !strcmp(argv[i], "--seed") ? &seed
                                                  : NULL;
        if (!strcmp(argv[i], "--f32")) {
            dt = CASCADE_DTYPE_F32;
        } else if (!strcmp(argv[i], "--dry-run")) {
            dry = true;
        } else if (!v || i + 1 >= argc || !parse_i64(argv[++i], 0, 1 << 20, v)) {
            fprintf(stderr, "unet-random: bad option '%s'\n", argv[i]);
            return 2;
        }
    }
    cascade_error    err;
    cascade_unet    *u = NULL;
    cascade_graph   *g = NULL;
    cascade_tensor **w = NULL, **in = NULL;
    const char     **wn = NULL, **inn = NULL;
    size_t           nw = 0, nin = 0;
    char            *json = NULL, *cfg_out = NULL, *w_out = NULL, *in_out = NULL;
    gsize            json_len = 0;
    int              rc = 1;
    cascade_error_init(&err);
    if (!dry && g_mkdir_with_parents(argv[2], 0755) != 0) {
        fprintf(stderr, "unet-random: cannot create %s\n", argv[2]);
        return 1;
    }
    cfg_out = g_build_filename(argv[2], "config.json", NULL);
    w_out = g_build_filename(argv[2], "diffusion_pytorch_model.safetensors", NULL);
    in_out = g_build_filename(argv[2], "inputs.safetensors", NULL);
    if (!dry && (!g_file_get_contents(argv[1], &json, &json_len, NULL) ||
                 !g_file_set_contents(cfg_out, json, (gssize)json_len, NULL))) {
        fprintf(stderr, "unet-random: cannot copy %s to %s\n", argv[1], cfg_out);
        goto done;
    }
    if (cascade_unet_new_from_file(argv[1], &u, &err) || cascade_graph_new(&g, &err)) goto fail;
    cascade_unet_build_options o;
    cascade_unet_build_options_init(&o, u);
    o.batch = batch ? batch : 1;
    if (size) o.height = o.width = size;
    o.seq_len = seq ? seq : 1;
    if (cascade_unet_build(u, NULL, g, &o, &err)) goto fail;
    int32_t nn = cascade_graph_n_nodes(g);
    w = calloc((size_t)nn, sizeof *w);
    in = calloc((size_t)nn, sizeof *in);
    wn = calloc((size_t)nn, sizeof *wn);
    inn = calloc((size_t)nn, sizeof *inn);
    if (!w || !in || !wn || !inn) {
        cascade_error_set(&err, CASCADE_STATUS_OUT_OF_MEMORY, "out of memory");
        goto fail;
    }
    cascade_rng rng;
    cascade_rng_init(&rng, (uint64_t)seed);
    int64_t params = 0;
    for (int32_t i = 0; i < nn; i++) {
        const cascade_node *n = cascade_graph_node(g, i);
        if (n->op != CASCADE_OP_INPUT) continue;
        bool            input = is_input_name(n->name);
        cascade_tensor *t = NULL;
        if (dry) {
            int64_t k = 0;
            if (!input && cascade_shape_numel(n->ndim, n->shape, &k)) params += k;
            nw += !input;
            continue;
        }
        if (make_tensor(n, dt, &rng, &t, &err)) goto fail;
        if (input) {
            in[nin] = t;
            inn[nin++] = n->name;
        } else {
            w[nw] = t;
            wn[nw++] = n->name;
            params += (int64_t)(cascade_tensor_nbytes(t) / cascade_dtype_size(t->dtype));
        }
    }
    if (!dry &&
        (cascade_safetensors_write(w_out, nw, wn, (const cascade_tensor *const *)w, NULL, &err) ||
         cascade_safetensors_write(in_out, nin, inn, (const cascade_tensor *const *)in, NULL,
                                   &err)))
        goto fail;
    printf("{\"dir\": \"%s\", \"tensors\": %zu, \"params\": %lld, \"batch\": %lld, "
           "\"size\": %lld, \"seq\": %lld}\n",
           argv[2], nw, (long long)params, (long long)o.batch, (long long)o.height,
           (long long)o.seq_len);
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "unet-random: %s\n", err.message);
done:
    for (size_t i = 0; i < nw; i++)
        cascade_tensor_free(w[i]);
    for (size_t i = 0; i < nin; i++)
        cascade_tensor_free(in[i]);
    free(w);
    free(in);
    free(wn);
    free(inn);
    cascade_graph_free(g);
    cascade_unet_free(u);
    g_free(json);
    g_free(cfg_out);
    g_free(w_out);
    g_free(in_out);
    return rc;
}
