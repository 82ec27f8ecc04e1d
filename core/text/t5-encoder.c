/* transformers.T5EncoderModel (T5Stack, encoder side) as a graph. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "cascade/config.h"
#include "cascade/t5.h"
#include "cascade/weights.h"

#define T5_MAX_DIM (1 << 24) /* config sizes: far above T5-XXL, small enough for products */

struct cascade_t5 {
    cascade_t5_config cfg;
    cascade_weights  *w;
    /* the tensors the graph uses, resolved and shape-checked at load */
    const cascade_tensor  *embed, *rel_bias, *final_norm;
    struct t5_block_w {
        const cascade_tensor *ln0, *q, *k, *v, *o, *ln1, *wi0, *wi1, *wo;
    } *blocks;
};

/* Config fields that do not change what the encoder computes. */
static const char *const t5_ignored_fields[] = {
    "_name_or_path", "architectures", "decoder_start_token_id", "dropout_rate",
    "eos_token_id", "pad_token_id", "bos_token_id", "initializer_factor", "is_encoder_decoder",
    "num_decoder_layers", "tie_word_embeddings", "torch_dtype", "transformers_version",
    "use_cache", "output_past", "n_positions", "task_specific_params", "gradient_checkpointing",
    "classifier_dropout", "_commit_hash", NULL};

static cascade_status parse_act(const char *name, const char *path, cascade_t5_act *act,
                                cascade_error *err) {
    if (!strcmp(name, "relu")) *act = CASCADE_T5_ACT_RELU;
    else if (!strcmp(name, "gelu")) *act = CASCADE_T5_ACT_GELU;
    else if (!strcmp(name, "gelu_new") || !strcmp(name, "gelu_pytorch_tanh"))
        *act = CASCADE_T5_ACT_GELU_NEW;
    else if (!strcmp(name, "silu") || !strcmp(name, "swish")) *act = CASCADE_T5_ACT_SILU;
    else
        return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                                 "%s: activation '%s' is not supported (relu, gelu, gelu_new, silu)",
                                 path, name);
    return CASCADE_STATUS_OK;
}

static cascade_status read_config(cascade_config *c, cascade_t5_config *t, cascade_error *err) {
    const char *path = cascade_config_path(c);
    const char *model_type = NULL, *ff = NULL, *dense_act = NULL;
    bool        gated_field = false;
    CASCADE_TRY(cascade_config_string(c, "model_type", "t5", &model_type, err));
    if (strcmp(model_type, "t5") != 0)
        return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                                 "%s: field 'model_type' = '%s' is not supported (t5)", path,
                                 model_type);
    CASCADE_TRY(cascade_config_int(c, "vocab_size", 32128, &t->vocab_size, err));
    CASCADE_TRY(cascade_config_int(c, "d_model", 512, &t->d_model, err));
    CASCADE_TRY(cascade_config_int(c, "d_kv", 64, &t->d_kv, err));
    CASCADE_TRY(cascade_config_int(c, "d_ff", 2048, &t->d_ff, err));
    CASCADE_TRY(cascade_config_int(c, "num_layers", 6, &t->num_layers, err));
    CASCADE_TRY(cascade_config_int(c, "num_heads", 8, &t->num_heads, err));
    CASCADE_TRY(cascade_config_int(c, "relative_attention_num_buckets", 32,
                                   &t->relative_attention_num_buckets, err));
    CASCADE_TRY(cascade_config_int(c, "relative_attention_max_distance", 128,
                                   &t->relative_attention_max_distance, err));
    CASCADE_TRY(cascade_config_float(c, "layer_norm_epsilon", 1e-6, &t->layer_norm_epsilon, err));
    CASCADE_TRY(cascade_config_string(c, "feed_forward_proj", "relu", &ff, err));
    /* transformers derives these two from feed_forward_proj; written configs repeat them */
    CASCADE_TRY(cascade_config_string(c, "dense_act_fn", NULL, &dense_act, err));
    CASCADE_TRY(cascade_config_bool(c, "is_gated_act", false, &gated_field, err));
    const char *act = ff;
    t->is_gated_act = strncmp(ff, "gated-", 6) == 0;
    if (t->is_gated_act) act = ff + 6;
    if (!strcmp(ff, "gated-gelu")) act = "gelu_new"; /* transformers' backwards-compat rule */
    CASCADE_TRY(parse_act(act, path, &t->act, err));
    if (dense_act) {
        cascade_t5_act a2;
        CASCADE_TRY(parse_act(dense_act, path, &a2, err));
        if (a2 != t->act)
            return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                     "%s: dense_act_fn '%s' contradicts feed_forward_proj '%s'",
                                     path, dense_act, ff);
    }
    if (cascade_config_has(c, "is_gated_act") && gated_field != t->is_gated_act)
        return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                 "%s: is_gated_act contradicts feed_forward_proj '%s'", path, ff);
    if (t->vocab_size < 1 || t->d_model < 1 || t->d_kv < 1 || t->d_ff < 1 || t->num_layers < 1 ||
        t->num_heads < 1 || t->relative_attention_num_buckets < 2 ||
        t->relative_attention_max_distance < 1 || t->layer_norm_epsilon < 0)
        return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                 "%s: sizes must be positive (d_model, d_kv, d_ff, num_layers, "
                                 "num_heads, buckets)", path);
    /* the builders multiply these (num_heads * d_kv, vocab_size * d_model): bounded first */
    const struct {
        const char *name;
        int64_t     v;
    } sizes[] = {{"vocab_size", t->vocab_size}, {"d_model", t->d_model}, {"d_kv", t->d_kv},
                 {"d_ff", t->d_ff},             {"num_heads", t->num_heads},
                 {"num_layers", t->num_layers},
                 {"relative_attention_num_buckets", t->relative_attention_num_buckets},
                 {"relative_attention_max_distance", t->relative_attention_max_distance}};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
        if (sizes[i].v > T5_MAX_DIM)
            return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                     "%s: field '%s' = %lld is above 2^24", path, sizes[i].name,
                                     (long long)sizes[i].v);
    /* T5's bucketing needs an exact range (num_buckets / 4 >= 1) and a log range beyond it;
     * otherwise transformers computes log(0) buckets (NaN indices) */
    int64_t max_exact = t->relative_attention_num_buckets / 4;
    if (max_exact < 1)
        return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                 "%s: field 'relative_attention_num_buckets' = %lld: T5 needs at "
                                 "least 4",
                                 path, (long long)t->relative_attention_num_buckets);
    if (t->relative_attention_max_distance <= max_exact)
        return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                 "%s: field 'relative_attention_max_distance' = %lld must exceed "
                                 "relative_attention_num_buckets / 4 = %lld, or positions past it "
                                 "get no bucket",
                                 path, (long long)t->relative_attention_max_distance,
                                 (long long)max_exact);
    cascade_config_ignore(c, t5_ignored_fields);
    return cascade_config_check_all_used(c, err);
}

static cascade_status load_weights(cascade_t5 *t5, cascade_error *err) {
    const cascade_t5_config *c = &t5->cfg;
    cascade_weights         *w = t5->w;
    int64_t                  inner = c->num_heads * c->d_kv;
    static const char *const embed_names[] = {"shared.weight", "encoder.embed_tokens.weight"};
    CASCADE_TRY(cascade_weights_get_any(w, embed_names, 2, 2,
                                        (int64_t[]){c->vocab_size, c->d_model}, &t5->embed, err));
    /* tied alias of the same table */
    cascade_weights_mark_used(w, "shared.weight");
    cascade_weights_mark_used(w, "encoder.embed_tokens.weight");
    CASCADE_TRY(cascade_weights_get_2d(
        w, "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
        c->relative_attention_num_buckets, c->num_heads, &t5->rel_bias, err));
    CASCADE_TRY(cascade_weights_get_1d(w, "encoder.final_layer_norm.weight", c->d_model,
                                       &t5->final_norm, err));
    char name[160];
    for (int64_t i = 0; i < c->num_layers; i++) {
        struct t5_block_w *b = &t5->blocks[i];
#define NAME(fmt) (snprintf(name, sizeof name, "encoder.block.%lld." fmt, (long long)i), name)
        CASCADE_TRY(
            cascade_weights_get_1d(w, NAME("layer.0.layer_norm.weight"), c->d_model, &b->ln0, err));
        CASCADE_TRY(cascade_weights_get_2d(w, NAME("layer.0.SelfAttention.q.weight"), inner,
                                           c->d_model, &b->q, err));
        CASCADE_TRY(cascade_weights_get_2d(w, NAME("layer.0.SelfAttention.k.weight"), inner,
                                           c->d_model, &b->k, err));
        CASCADE_TRY(cascade_weights_get_2d(w, NAME("layer.0.SelfAttention.v.weight"), inner,
                                           c->d_model, &b->v, err));
        CASCADE_TRY(cascade_weights_get_2d(w, NAME("layer.0.SelfAttention.o.weight"), c->d_model,
                                           inner, &b->o, err));
        CASCADE_TRY(
            cascade_weights_get_1d(w, NAME("layer.1.layer_norm.weight"), c->d_model, &b->ln1, err));
        if (c->is_gated_act) {
            CASCADE_TRY(cascade_weights_get_2d(w, NAME("layer.1.DenseReluDense.wi_0.weight"),
                                               c->d_ff, c->d_model, &b->wi0, err));
            CASCADE_TRY(cascade_weights_get_2d(w, NAME("layer.1.DenseReluDense.wi_1.weight"),
                                               c->d_ff, c->d_model, &b->wi1, err));
        } else {
            CASCADE_TRY(cascade_weights_get_2d(w, NAME("layer.1.DenseReluDense.wi.weight"), c->d_ff,
                                               c->d_model, &b->wi0, err));
        }
        CASCADE_TRY(cascade_weights_get_2d(w, NAME("layer.1.DenseReluDense.wo.weight"), c->d_model,
                                           c->d_ff, &b->wo, err));
#undef NAME
    }
    /* a full encoder-decoder checkpoint: the decoder and lm_head are not ours to use */
    for (size_t i = 0; i < cascade_weights_count(w); i++) {
        const char *n = cascade_weights_name(w, i);
        if (!strncmp(n, "decoder.", 8) || !strncmp(n, "lm_head.", 8))
            cascade_weights_mark_used(w, n);
    }
    return cascade_weights_check_all_used(w, err);
}

cascade_status cascade_t5_load(const char *dir, cascade_dtype weight_dtype, cascade_t5 **out,
                               cascade_error *err) {
    *out = NULL;
    cascade_t5     *t5 = calloc(1, sizeof *t5);
    cascade_config *cfg = NULL;
    cascade_status  st;
    char           *cfg_path = g_strdup_printf("%s/config.json", dir);
    if (!t5) {
        g_free(cfg_path);
        return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "t5: out of memory");
    }
    st = cascade_config_load(cfg_path, &cfg, err);
    if (st != CASCADE_STATUS_OK) goto fail;
    st = read_config(cfg, &t5->cfg, err);
    if (st != CASCADE_STATUS_OK) goto fail;
    t5->blocks = calloc((size_t)t5->cfg.num_layers, sizeof *t5->blocks);
    if (!t5->blocks) {
        st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "t5: out of memory");
        goto fail;
    }
    st = cascade_weights_open_dir(dir, weight_dtype, &t5->w, err);
    if (st != CASCADE_STATUS_OK) goto fail;
    st = load_weights(t5, err);
    if (st != CASCADE_STATUS_OK) goto fail;
    cascade_config_free(cfg);
    g_free(cfg_path);
    *out = t5;
    return CASCADE_STATUS_OK;
fail:
    cascade_config_free(cfg);
    g_free(cfg_path);
    cascade_t5_free(t5);
    return st;
}

void cascade_t5_free(cascade_t5 *t5) {
    if (!t5) return;
    cascade_weights_free(t5->w);
    free(t5->blocks);
    free(t5);
}

const cascade_t5_config *cascade_t5_get_config(const cascade_t5 *t5) { return &t5->cfg; }

int32_t cascade_t5_relative_bucket(int64_t rel, int64_t num_buckets, int64_t max_distance) {
    int32_t bucket = 0;
    num_buckets /= 2; /* bidirectional: half the buckets for keys after the query */
    if (rel > 0) bucket += (int32_t)num_buckets;
    int64_t n = rel < 0 ? -rel : rel;
    int64_t max_exact = num_buckets / 2;
    if (n < max_exact) return bucket + (int32_t)n;
    /* torch: log of a float32 tensor, divided by a python (double) log that becomes a
     * float32 scalar, times an int, then truncation toward zero (.to(long)) */
    if (max_exact < 1 || max_distance <= max_exact) return bucket; /* refused at load */
    float denom = (float)log((double)max_distance / (double)max_exact);
    float f = logf((float)n / (float)max_exact) / denom * (float)(num_buckets - max_exact);
    /* clamped before the conversion: a float beyond int64 (or NaN) is undefined there */
    int64_t large = num_buckets - 1;
    if (f >= 0.0f && f < (float)(num_buckets - 1 - max_exact)) large = max_exact + (int64_t)f;
    return bucket + (int32_t)large;
}

static cascade_value_id K(cascade_graph *g, const char *name, const cascade_tensor *t) {
    return cascade_graph_constant(g, name, t);
}

cascade_status cascade_t5_build(const cascade_t5 *t5, cascade_graph *g, int64_t B, int64_t N,
                                bool debug, cascade_error *err) {
    const cascade_t5_config *c = &t5->cfg;
    if (B < 1 || N < 1)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "t5: batch %lld and length %lld must be positive", (long long)B,
                                 (long long)N);
    int64_t H = c->num_heads, Dk = c->d_kv, inner = H * Dk, D = c->d_model;
    float   eps = (float)c->layer_norm_epsilon;

    cascade_graph_set_scope(g, "t5");
    cascade_value_id ids = cascade_graph_input(g, "input_ids", CASCADE_DTYPE_I32, 2, (int64_t[]){B, N});
    cascade_value_id mask = cascade_graph_input(g, "attention_mask", CASCADE_DTYPE_F32, 2, (int64_t[]){B, N});
    cascade_value_id h = cascade_graph_get_rows(g, K(g, "shared.weight", t5->embed), ids);

    /* position bias (1, H, N, N) from block 0's table, plus the padding mask (B, 1, 1, N)
     * as (1 - mask) * float32 min, the additive form transformers uses */
    int32_t *buckets = malloc(sizeof *buckets * (size_t)(N * N));
    if (!buckets) return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "t5: out of memory");
    for (int64_t i = 0; i < N; i++)
        for (int64_t j = 0; j < N; j++)
            buckets[i * N + j] = cascade_t5_relative_bucket(j - i, c->relative_attention_num_buckets,
                                                            c->relative_attention_max_distance);
    cascade_value_id bucket_ids =
        cascade_graph_constant_copy(g, "t5.relative_buckets", CASCADE_DTYPE_I32, 1, (int64_t[]){N * N}, buckets);
    free(buckets);
    cascade_value_id pos = cascade_graph_get_rows(
        g, K(g, "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", t5->rel_bias),
        bucket_ids);                                                        /* (N*N, H) */
    pos = cascade_graph_reshape(g, pos, 3, (int64_t[]){N, N, H});
    pos = cascade_graph_permute(g, pos, (int32_t[]){2, 0, 1});              /* (H, N, N) */
    pos = cascade_graph_reshape(g, pos, 4, (int64_t[]){1, H, N, N});
    cascade_value_id ext = cascade_graph_scale(g, mask, FLT_MAX, -FLT_MAX); /* 0 or min */
    ext = cascade_graph_reshape(g, ext, 4, (int64_t[]){B, 1, 1, N});
    cascade_value_id bias = cascade_graph_add(g, pos, ext);                 /* (B, H, N, N) */

    char name[96];
    for (int64_t i = 0; i < c->num_layers; i++) {
        const struct t5_block_w *bw = &t5->blocks[i];
        if (debug) {
            snprintf(name, sizeof name, "hidden_states.%lld", (long long)i);
            cascade_graph_mark_output(g, cascade_graph_scale(g, h, 1.0f, 0.0f), name);
        }
        cascade_graph_set_scope(g, "encoder.block.%lld.layer.0", (long long)i);
        cascade_value_id x = cascade_graph_rms_norm(g, h, K(g, "ln0", bw->ln0), eps);
        cascade_value_id qkv[3];
        const cascade_tensor *wqkv[3] = {bw->q, bw->k, bw->v};
        for (int k = 0; k < 3; k++) {
            cascade_value_id t = cascade_graph_linear(g, x, K(g, "qkv", wqkv[k]), CASCADE_NO_VALUE);
            t = cascade_graph_reshape(g, t, 4, (int64_t[]){B, N, H, Dk});
            qkv[k] = cascade_graph_permute(g, t, (int32_t[]){0, 2, 1, 3}); /* (B, H, N, Dk) */
        }
        /* T5 does not scale scores by 1/sqrt(d_kv): the init accounts for it */
        cascade_value_id a = cascade_graph_attention(g, qkv[0], qkv[1], qkv[2], bias, 1.0f);
        a = cascade_graph_permute(g, a, (int32_t[]){0, 2, 1, 3});
        a = cascade_graph_reshape(g, a, 3, (int64_t[]){B, N, inner});
        h = cascade_graph_add(g, h, cascade_graph_linear(g, a, K(g, "o", bw->o), CASCADE_NO_VALUE));

        cascade_graph_set_scope(g, "encoder.block.%lld.layer.1", (long long)i);
        x = cascade_graph_rms_norm(g, h, K(g, "ln1", bw->ln1), eps);
        static const cascade_unary acts[] = {
            [CASCADE_T5_ACT_RELU] = CASCADE_UNARY_RELU,
            [CASCADE_T5_ACT_GELU] = CASCADE_UNARY_GELU,
            [CASCADE_T5_ACT_GELU_NEW] = CASCADE_UNARY_GELU_TANH,
            [CASCADE_T5_ACT_SILU] = CASCADE_UNARY_SILU,
        };
        cascade_value_id f = cascade_graph_unary(
            g, acts[c->act], cascade_graph_linear(g, x, K(g, "wi_0", bw->wi0), CASCADE_NO_VALUE));
        if (c->is_gated_act)
            f = cascade_graph_mul(g, f, cascade_graph_linear(g, x, K(g, "wi_1", bw->wi1), CASCADE_NO_VALUE));
        h = cascade_graph_add(g, h, cascade_graph_linear(g, f, K(g, "wo", bw->wo), CASCADE_NO_VALUE));
    }
    cascade_graph_set_scope(g, "encoder.final_layer_norm");
    h = cascade_graph_rms_norm(g, h, K(g, "encoder.final_layer_norm.weight", t5->final_norm), eps);
    cascade_graph_mark_output(g, h, "last_hidden_state");
    cascade_graph_set_scope(g, "%s", "");
    (void)D;
    return cascade_graph_status(g, err);
}

struct cascade_t5_runner {
    const cascade_t5 *t5;
    cascade_graph    *g;
    cascade_plan     *p;
    int64_t           batch, seq;
    float            *maskf;
};

void cascade_t5_runner_free(cascade_t5_runner *r) {
    if (!r) return;
    cascade_plan_free(r->p);
    cascade_graph_free(r->g);
    free(r->maskf);
    free(r);
}

cascade_status cascade_t5_runner_new(const cascade_t5 *t5, cascade_backend *be, int64_t batch,
                                     int64_t seq, cascade_t5_runner **out, cascade_error *err) {
    *out = NULL;
    if (batch < 1 || seq < 1 || batch > 65536 || seq > 65536)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "t5: bad batch or length");
    const size_t n = (size_t)batch * (size_t)seq;
    cascade_t5_runner *r = calloc(1, sizeof *r);
    if (r) r->maskf = malloc(sizeof *r->maskf * n);
    if (!r || !r->maskf) {
        cascade_t5_runner_free(r);
        return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "t5: out of memory");
    }
    r->t5 = t5;
    r->batch = batch;
    r->seq = seq;
    cascade_status st = cascade_graph_new(&r->g, err);
    if (!st) st = cascade_t5_build(t5, r->g, batch, seq, false, err);
    if (!st) st = cascade_plan_new(be, r->g, &r->p, err);
    if (st) {
        cascade_t5_runner_free(r);
        return st;
    }
    *out = r;
    return CASCADE_STATUS_OK;
}

void cascade_t5_runner_shape(const cascade_t5_runner *r, int64_t *batch, int64_t *seq) {
    *batch = r->batch;
    *seq = r->seq;
}

cascade_status cascade_t5_runner_encode(cascade_t5_runner *r, const int32_t *ids,
                                        const int32_t *mask, float *out, cascade_error *err) {
    const int64_t n = r->batch * r->seq;
    for (int64_t i = 0; i < n; i++) r->maskf[i] = mask ? (float)(mask[i] != 0) : 1.0f;
    CASCADE_TRY(cascade_plan_write_named(r->p, "input_ids", ids, sizeof(int32_t) * (size_t)n, err));
    CASCADE_TRY(cascade_plan_write_named(r->p, "attention_mask", r->maskf, sizeof(float) * (size_t)n,
                                         err));
    CASCADE_TRY(cascade_plan_run(r->p, NULL, err));
    return cascade_plan_read_named(r->p, "last_hidden_state", out,
                                   sizeof(float) * (size_t)n * (size_t)r->t5->cfg.d_model, err);
}

cascade_status cascade_t5_encode(const cascade_t5 *t5, cascade_backend *be, const int32_t *ids,
                                 const int32_t *mask, int64_t B, int64_t N, float *out,
                                 cascade_error *err) {
    cascade_t5_runner *r = NULL;
    CASCADE_TRY(cascade_t5_runner_new(t5, be, B, N, &r, err));
    cascade_status st = cascade_t5_runner_encode(r, ids, mask, out, err);
    cascade_t5_runner_free(r);
    return st;
}
