/* transformers.CLIPTextModel (CLIPTextModel.text_model, a CLIPTextTransformer) as a graph;
 * CLIPTextModelWithProjection adds text_projection on the pooled output. */
#include <float.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "cascade/clip-text.h"
#include "cascade/config.h"
#include "cascade/weights.h"

struct cascade_clip_text {
    cascade_clip_text_config cfg;
    cascade_weights         *w;
    /* the tensors the graph uses, resolved and shape-checked at load */
    const cascade_tensor *tok_embed, *pos_embed, *final_ln_w, *final_ln_b, *projection;
    struct clip_layer_w {
        const cascade_tensor *ln1_w, *ln1_b, *q_w, *q_b, *k_w, *k_b, *v_w, *v_b, *o_w, *o_b;
        const cascade_tensor *ln2_w, *ln2_b, *fc1_w, *fc1_b, *fc2_w, *fc2_b;
    } *layers;
};

/* Config fields that do not change what the encoder computes: metadata, dropout and init
 * scales (training only), the tokenizer's special ids (transformers 4.31 pools at the
 * argmax of the ids, not at eos_token_id). */
static const char *const clip_ignored_fields[] = {
    "_name_or_path", "architectures", "torch_dtype", "transformers_version", "_commit_hash",
    "attention_dropout", "dropout", "initializer_range", "initializer_factor", "pad_token_id",
    "bos_token_id", "eos_token_id", "gradient_checkpointing", NULL};

/* transformers 4.31's ACT2FN names; mish and laplace have no graph op and are refused. */
static const struct {
    const char           *name;
    cascade_clip_text_act act;
} clip_acts[] = {
    {"quick_gelu", CASCADE_CLIP_TEXT_ACT_QUICK_GELU},
    {"gelu", CASCADE_CLIP_TEXT_ACT_GELU},
    {"gelu_python", CASCADE_CLIP_TEXT_ACT_GELU},
    {"gelu_new", CASCADE_CLIP_TEXT_ACT_GELU_TANH},
    {"gelu_pytorch_tanh", CASCADE_CLIP_TEXT_ACT_GELU_TANH},
    {"gelu_fast", CASCADE_CLIP_TEXT_ACT_GELU_TANH},
    {"gelu_accurate", CASCADE_CLIP_TEXT_ACT_GELU_TANH},
    {"gelu_10", CASCADE_CLIP_TEXT_ACT_GELU_10},
    {"relu", CASCADE_CLIP_TEXT_ACT_RELU},
    {"relu2", CASCADE_CLIP_TEXT_ACT_RELU2},
    {"relu6", CASCADE_CLIP_TEXT_ACT_RELU6},
    {"silu", CASCADE_CLIP_TEXT_ACT_SILU},
    {"swish", CASCADE_CLIP_TEXT_ACT_SILU},
    {"sigmoid", CASCADE_CLIP_TEXT_ACT_SIGMOID},
    {"tanh", CASCADE_CLIP_TEXT_ACT_TANH},
    {"linear", CASCADE_CLIP_TEXT_ACT_LINEAR},
};

static cascade_status read_config(cascade_config *c, cascade_clip_text_config *t,
                                  cascade_error *err) {
    const char *path = cascade_config_path(c);
    const char *model_type = NULL, *act = NULL;
    /* defaults: CLIPTextConfig's */
    CASCADE_TRY(cascade_config_string(c, "model_type", "clip_text_model", &model_type, err));
    if (strcmp(model_type, "clip_text_model") != 0)
        return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                                 "%s: field 'model_type' = '%s' is not supported (clip_text_model)",
                                 path, model_type);
    CASCADE_TRY(cascade_config_int(c, "vocab_size", 49408, &t->vocab_size, err));
    CASCADE_TRY(cascade_config_int(c, "hidden_size", 512, &t->hidden_size, err));
    CASCADE_TRY(cascade_config_int(c, "intermediate_size", 2048, &t->intermediate_size, err));
    CASCADE_TRY(cascade_config_int(c, "projection_dim", 512, &t->projection_dim, err));
    CASCADE_TRY(cascade_config_int(c, "num_hidden_layers", 12, &t->num_hidden_layers, err));
    CASCADE_TRY(cascade_config_int(c, "num_attention_heads", 8, &t->num_attention_heads, err));
    CASCADE_TRY(cascade_config_int(c, "max_position_embeddings", 77, &t->max_position_embeddings,
                                   err));
    CASCADE_TRY(cascade_config_float(c, "layer_norm_eps", 1e-5, &t->layer_norm_eps, err));
    CASCADE_TRY(cascade_config_string(c, "hidden_act", "quick_gelu", &act, err));
    size_t i = 0;
    while (i < G_N_ELEMENTS(clip_acts) && strcmp(clip_acts[i].name, act) != 0) i++;
    if (i == G_N_ELEMENTS(clip_acts))
        return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                                 "%s: field 'hidden_act' = '%s' is not supported (quick_gelu, "
                                 "gelu, gelu_new, gelu_fast, gelu_10, relu, relu2, relu6, silu, "
                                 "sigmoid, tanh, linear)", path, act);
    t->hidden_act = clip_acts[i].act;
    /* sizes reach the backends as 32-bit dims */
    const int64_t sizes[] = {t->vocab_size, t->hidden_size, t->intermediate_size,
                             t->projection_dim, t->num_hidden_layers, t->num_attention_heads,
                             t->max_position_embeddings};
    for (size_t k = 0; k < G_N_ELEMENTS(sizes); k++)
        if (sizes[k] < 1 || sizes[k] > INT32_MAX)
            return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                     "%s: sizes must be 1..2^31-1 (vocab_size, hidden_size, "
                                     "intermediate_size, projection_dim, num_hidden_layers, "
                                     "num_attention_heads, max_position_embeddings)", path);
    if (t->hidden_size % t->num_attention_heads != 0)
        return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                 "%s: hidden_size %lld is not a multiple of num_attention_heads "
                                 "%lld", path, (long long)t->hidden_size,
                                 (long long)t->num_attention_heads);
    if (!(t->layer_norm_eps >= 0 && t->layer_norm_eps < 1))
        return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                 "%s: field 'layer_norm_eps' must be in [0, 1)", path);
    cascade_config_ignore(c, clip_ignored_fields);
    return cascade_config_check_all_used(c, err);
}

/* "text_model.encoder.layers.<i>.<suffix>" into buf. */
static const char *layer_name(char *buf, size_t n, int64_t i, const char *suffix) {
    snprintf(buf, n, "text_model.encoder.layers.%lld.%s", (long long)i, suffix);
    return buf;
}

/* CLIPEncoderLayer's tensors: name, field, shape in sizes 'D' (hidden) and 'F'
 * (intermediate); cols 0 for a vector. */
static const struct {
    const char *suffix;
    size_t      field;
    char        rows, cols;
} clip_layer_tensors[] = {
    {"layer_norm1.weight", offsetof(struct clip_layer_w, ln1_w), 'D', 0},
    {"layer_norm1.bias", offsetof(struct clip_layer_w, ln1_b), 'D', 0},
    {"self_attn.q_proj.weight", offsetof(struct clip_layer_w, q_w), 'D', 'D'},
    {"self_attn.q_proj.bias", offsetof(struct clip_layer_w, q_b), 'D', 0},
    {"self_attn.k_proj.weight", offsetof(struct clip_layer_w, k_w), 'D', 'D'},
    {"self_attn.k_proj.bias", offsetof(struct clip_layer_w, k_b), 'D', 0},
    {"self_attn.v_proj.weight", offsetof(struct clip_layer_w, v_w), 'D', 'D'},
    {"self_attn.v_proj.bias", offsetof(struct clip_layer_w, v_b), 'D', 0},
    {"self_attn.out_proj.weight", offsetof(struct clip_layer_w, o_w), 'D', 'D'},
    {"self_attn.out_proj.bias", offsetof(struct clip_layer_w, o_b), 'D', 0},
    {"layer_norm2.weight", offsetof(struct clip_layer_w, ln2_w), 'D', 0},
    {"layer_norm2.bias", offsetof(struct clip_layer_w, ln2_b), 'D', 0},
    {"mlp.fc1.weight", offsetof(struct clip_layer_w, fc1_w), 'F', 'D'},
    {"mlp.fc1.bias", offsetof(struct clip_layer_w, fc1_b), 'F', 0},
    {"mlp.fc2.weight", offsetof(struct clip_layer_w, fc2_w), 'D', 'F'},
    {"mlp.fc2.bias", offsetof(struct clip_layer_w, fc2_b), 'D', 0},
};

static cascade_status load_layer(cascade_weights *w, const cascade_clip_text_config *c,
                                 int64_t i, struct clip_layer_w *l, cascade_error *err) {
    char n[160];
    for (size_t k = 0; k < G_N_ELEMENTS(clip_layer_tensors); k++) {
        const char            *suffix = clip_layer_tensors[k].suffix;
        int64_t                rows = clip_layer_tensors[k].rows == 'F' ? c->intermediate_size
                                                                        : c->hidden_size;
        int64_t                cols = clip_layer_tensors[k].cols == 'F' ? c->intermediate_size
                                                                        : c->hidden_size;
        const cascade_tensor **out =
            (const cascade_tensor **)((char *)l + clip_layer_tensors[k].field);
        layer_name(n, sizeof n, i, suffix);
        CASCADE_TRY(clip_layer_tensors[k].cols
                        ? cascade_weights_get_2d(w, n, rows, cols, out, err)
                        : cascade_weights_get_1d(w, n, rows, out, err));
    }
    return CASCADE_STATUS_OK;
}

static cascade_status load_weights(cascade_clip_text *m, cascade_error *err) {
    cascade_clip_text_config *c = &m->cfg;
    cascade_weights          *w = m->w;
    int64_t                   D = c->hidden_size;
    CASCADE_TRY(cascade_weights_get_2d(w, "text_model.embeddings.token_embedding.weight",
                                       c->vocab_size, D, &m->tok_embed, err));
    CASCADE_TRY(cascade_weights_get_2d(w, "text_model.embeddings.position_embedding.weight",
                                       c->max_position_embeddings, D, &m->pos_embed, err));
    /* transformers before 4.31 saved the position_ids buffer (0..max-1); 4.31 recomputes it
     * and drops the saved copy on load, as the graph does */
    cascade_weights_mark_used(w, "text_model.embeddings.position_ids");
    /* check the last layer exists before allocating num_hidden_layers of them */
    char n[160];
    layer_name(n, sizeof n, c->num_hidden_layers - 1, "mlp.fc2.bias");
    if (!cascade_weights_has(w, n))
        return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                 "clip text: tensor '%s' is missing (num_hidden_layers %lld)", n,
                                 (long long)c->num_hidden_layers);
    m->layers = calloc((size_t)c->num_hidden_layers, sizeof *m->layers);
    if (!m->layers)
        return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "clip text: out of memory");
    for (int64_t i = 0; i < c->num_hidden_layers; i++)
        CASCADE_TRY(load_layer(w, c, i, &m->layers[i], err));
    CASCADE_TRY(cascade_weights_get_1d(w, "text_model.final_layer_norm.weight", D, &m->final_ln_w,
                                       err));
    CASCADE_TRY(cascade_weights_get_1d(w, "text_model.final_layer_norm.bias", D, &m->final_ln_b,
                                       err));
    /* CLIPTextModelWithProjection: pooled output -> text_embeds (nn.Linear, no bias) */
    c->has_projection = cascade_weights_has(w, "text_projection.weight");
    if (c->has_projection)
        CASCADE_TRY(cascade_weights_get_2d(w, "text_projection.weight", c->projection_dim, D,
                                           &m->projection, err));
    return cascade_weights_check_all_used(w, err);
}

cascade_status cascade_clip_text_load(const char *dir, cascade_dtype weight_dtype,
                                      cascade_clip_text **out, cascade_error *err) {
    *out = NULL;
    cascade_clip_text *m = calloc(1, sizeof *m);
    if (!m) return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "clip text: out of memory");
    /* the config is only read here: the model keeps the values it parsed */
    char           *cfg_path = g_build_filename(dir, "config.json", NULL);
    cascade_config *cfg = NULL;
    cascade_status  st = cascade_config_load(cfg_path, &cfg, err);
    if (st == CASCADE_STATUS_OK) st = read_config(cfg, &m->cfg, err);
    cascade_config_free(cfg);
    g_free(cfg_path);
    if (st == CASCADE_STATUS_OK) st = cascade_weights_open_dir(dir, weight_dtype, &m->w, err);
    if (st == CASCADE_STATUS_OK) st = load_weights(m, err);
    if (st != CASCADE_STATUS_OK) {
        cascade_clip_text_free(m);
        return st;
    }
    *out = m;
    return CASCADE_STATUS_OK;
}

void cascade_clip_text_free(cascade_clip_text *m) {
    if (!m) return;
    cascade_weights_free(m->w);
    free(m->layers);
    free(m);
}

const cascade_clip_text_config *cascade_clip_text_get_config(const cascade_clip_text *m) {
    return &m->cfg;
}

void cascade_clip_text_build_options_init(cascade_clip_text_build_options *o,
                                          const cascade_clip_text *m) {
    memset(o, 0, sizeof *o);
    o->batch = 1;
    o->seq = m->cfg.max_position_embeddings;
}

static cascade_value_id K(cascade_graph *g, const char *name, const cascade_tensor *t) {
    return cascade_graph_constant(g, name, t);
}

static cascade_value_id act(cascade_graph *g, cascade_clip_text_act a, cascade_value_id x) {
    switch (a) {
    case CASCADE_CLIP_TEXT_ACT_QUICK_GELU:
        return cascade_graph_unary(g, CASCADE_UNARY_QUICK_GELU, x);
    case CASCADE_CLIP_TEXT_ACT_GELU: return cascade_graph_unary(g, CASCADE_UNARY_GELU, x);
    case CASCADE_CLIP_TEXT_ACT_GELU_TANH: return cascade_graph_unary(g, CASCADE_UNARY_GELU_TANH, x);
    case CASCADE_CLIP_TEXT_ACT_GELU_10:
        return cascade_graph_clamp(g, cascade_graph_unary(g, CASCADE_UNARY_GELU, x), -10.0f, 10.0f);
    case CASCADE_CLIP_TEXT_ACT_RELU: return cascade_graph_unary(g, CASCADE_UNARY_RELU, x);
    case CASCADE_CLIP_TEXT_ACT_RELU2: {
        cascade_value_id r = cascade_graph_unary(g, CASCADE_UNARY_RELU, x);
        return cascade_graph_mul(g, r, r);
    }
    case CASCADE_CLIP_TEXT_ACT_RELU6: return cascade_graph_clamp(g, x, 0.0f, 6.0f);
    case CASCADE_CLIP_TEXT_ACT_SILU: return cascade_graph_unary(g, CASCADE_UNARY_SILU, x);
    case CASCADE_CLIP_TEXT_ACT_SIGMOID: return cascade_graph_unary(g, CASCADE_UNARY_SIGMOID, x);
    case CASCADE_CLIP_TEXT_ACT_TANH: return cascade_graph_unary(g, CASCADE_UNARY_TANH, x);
    case CASCADE_CLIP_TEXT_ACT_LINEAR: break;
    }
    return x;
}

/* CLIPEncoderLayer i: x (B, N, D) -> (B, N, D); bias (.., N, N) the additive attention mask. */
static cascade_value_id encoder_layer(const cascade_clip_text *m, cascade_graph *g, int64_t i,
                                      cascade_value_id h, cascade_value_id bias, int64_t B,
                                      int64_t N) {
    const cascade_clip_text_config *c = &m->cfg;
    const struct clip_layer_w      *l = &m->layers[i];
    int64_t                         D = c->hidden_size, H = c->num_attention_heads, Dh = D / H;
    float                           eps = (float)c->layer_norm_eps;

    cascade_graph_set_scope(g, "text_model.encoder.layers.%lld.self_attn", (long long)i);
    cascade_value_id x = cascade_graph_layer_norm(g, h, K(g, "layer_norm1.weight", l->ln1_w),
                                                  K(g, "layer_norm1.bias", l->ln1_b), eps);
    const cascade_tensor *pw[3] = {l->q_w, l->k_w, l->v_w}, *pb[3] = {l->q_b, l->k_b, l->v_b};
    cascade_value_id      qkv[3];
    for (int k = 0; k < 3; k++) {
        cascade_value_id t =
            cascade_graph_linear(g, x, K(g, "proj.weight", pw[k]), K(g, "proj.bias", pb[k]));
        t = cascade_graph_reshape(g, t, 4, (int64_t[]){B, N, H, Dh});
        qkv[k] = cascade_graph_permute(g, t, (int32_t[]){0, 2, 1, 3}); /* (B, H, N, Dh) */
    }
    cascade_value_id a = cascade_graph_attention(g, qkv[0], qkv[1], qkv[2], bias,
                                                 1.0f / sqrtf((float)Dh));
    a = cascade_graph_permute(g, a, (int32_t[]){0, 2, 1, 3});
    a = cascade_graph_reshape(g, a, 3, (int64_t[]){B, N, D});
    a = cascade_graph_linear(g, a, K(g, "out_proj.weight", l->o_w), K(g, "out_proj.bias", l->o_b));
    h = cascade_graph_add(g, h, a);

    cascade_graph_set_scope(g, "text_model.encoder.layers.%lld.mlp", (long long)i);
    x = cascade_graph_layer_norm(g, h, K(g, "layer_norm2.weight", l->ln2_w),
                                 K(g, "layer_norm2.bias", l->ln2_b), eps);
    x = cascade_graph_linear(g, x, K(g, "fc1.weight", l->fc1_w), K(g, "fc1.bias", l->fc1_b));
    x = act(g, c->hidden_act, x);
    x = cascade_graph_linear(g, x, K(g, "fc2.weight", l->fc2_w), K(g, "fc2.bias", l->fc2_b));
    return cascade_graph_add(g, h, x);
}

/* The additive mask (B or 1, 1, N, N): float32 min above the diagonal (causal), plus
 * (1 - attention_mask) * float32 min on padded keys when the mask is an input. */
static cascade_value_id attention_bias(cascade_graph *g, int64_t B, int64_t N, bool masked) {
    float *causal = malloc(sizeof *causal * (size_t)(N * N));
    if (!causal) return CASCADE_NO_VALUE;
    for (int64_t i = 0; i < N; i++)
        for (int64_t j = 0; j < N; j++) causal[i * N + j] = j > i ? -FLT_MAX : 0.0f;
    cascade_value_id bias = cascade_graph_constant_copy(
        g, "causal_attention_mask", CASCADE_DTYPE_F32, 4, (int64_t[]){1, 1, N, N}, causal);
    free(causal);
    if (masked) {
        cascade_value_id mask = cascade_graph_input(g, "attention_mask", CASCADE_DTYPE_F32, 2,
                                                    (int64_t[]){B, N});
        cascade_value_id ext = cascade_graph_scale(g, mask, FLT_MAX, -FLT_MAX); /* 0 or min */
        ext = cascade_graph_reshape(g, ext, 4, (int64_t[]){B, 1, 1, N});
        bias = cascade_graph_add(g, bias, ext); /* min + min = -inf, as in torch */
    }
    return bias;
}

static cascade_value_id final_norm(const cascade_clip_text *m, cascade_graph *g,
                                   cascade_value_id h) {
    cascade_graph_set_scope(g, "text_model.final_layer_norm");
    return cascade_graph_layer_norm(g, h, K(g, "weight", m->final_ln_w),
                                    K(g, "bias", m->final_ln_b), (float)m->cfg.layer_norm_eps);
}

cascade_status cascade_clip_text_build_ex(const cascade_clip_text *m, cascade_graph *g,
                                          const cascade_clip_text_build_options *o,
                                          cascade_error *err) {
    const cascade_clip_text_config *c = &m->cfg;
    int64_t B = o->batch, N = o->seq, D = c->hidden_size, L = c->num_hidden_layers, n;
    /* pooled rows index B*N as I32; the causal mask holds N*N floats, the output B*N*D */
    if (B < 1 || N < 1 || N > c->max_position_embeddings ||
        !cascade_shape_numel(2, (int64_t[]){B, N}, &n) || n > INT32_MAX ||
        !cascade_shape_numel(3, (int64_t[]){N, N, (int64_t)sizeof(float)}, &n) ||
        !cascade_shape_numel(4, (int64_t[]){B, N, D, (int64_t)sizeof(float)}, &n))
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "clip text: batch %lld and length %lld must be positive, the "
                                 "length at most max_position_embeddings %lld", (long long)B,
                                 (long long)N, (long long)c->max_position_embeddings);
    if (o->skip_layers < 0 || o->skip_layers > L)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "clip text: skip_layers %lld is outside 0..num_hidden_layers %lld",
                                 (long long)o->skip_layers, (long long)L);
    int64_t keep = L - o->skip_layers, run = o->pooled ? L : keep;

    /* CLIPTextEmbeddings: token_embedding(ids) + position_embedding(0..N-1) */
    cascade_graph_set_scope(g, "text_model.embeddings");
    cascade_value_id ids =
        cascade_graph_input(g, "input_ids", CASCADE_DTYPE_I32, 2, (int64_t[]){B, N});
    cascade_value_id h =
        cascade_graph_get_rows(g, K(g, "token_embedding.weight", m->tok_embed), ids);
    cascade_value_id pos =
        cascade_graph_slice(g, K(g, "position_embedding.weight", m->pos_embed), 0, 0, N, 1);
    h = cascade_graph_add(g, h, pos); /* (B, N, D) + (N, D) */
    cascade_graph_set_scope(g, "text_model.encoder");
    cascade_value_id bias = attention_bias(g, B, N, o->attention_mask);
    if (bias == CASCADE_NO_VALUE && cascade_graph_status(g, NULL) == CASCADE_STATUS_OK)
        return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "clip text: out of memory");

    char             name[64];
    cascade_value_id prompt = CASCADE_NO_VALUE;
    for (int64_t i = 0; i <= run; i++) {
        if (i > 0) h = encoder_layer(m, g, i - 1, h, bias, B, N);
        if (o->debug) {
            snprintf(name, sizeof name, "hidden_states.%lld", (long long)i);
            cascade_graph_mark_output(g, cascade_graph_scale(g, h, 1.0f, 0.0f), name);
        }
        if (i == keep) prompt = h;
    }
    cascade_value_id last = final_norm(m, g, prompt);
    cascade_graph_mark_output(g, last, "last_hidden_state");
    if (o->pooled) {
        /* CLIPTextTransformer's pooled_output: the full model's last_hidden_state at each
         * row's first largest id, gathered as rows of (B*N, D) */
        if (keep != L) last = final_norm(m, g, h);
        cascade_graph_set_scope(g, "text_model.pooler");
        cascade_value_id rows =
            cascade_graph_input(g, "pooled_rows", CASCADE_DTYPE_I32, 1, (int64_t[]){B});
        cascade_value_id flat = cascade_graph_reshape(g, last, 2, (int64_t[]){B * N, D});
        cascade_value_id pooled = cascade_graph_get_rows(g, flat, rows);
        cascade_graph_mark_output(g, pooled, "pooler_output");
        if (c->has_projection) {
            cascade_graph_set_scope(g, "text_projection");
            cascade_value_id e = cascade_graph_linear(g, pooled, K(g, "weight", m->projection),
                                                      CASCADE_NO_VALUE);
            cascade_graph_mark_output(g, e, "text_embeds");
        }
    }
    cascade_graph_set_scope(g, "%s", "");
    return cascade_graph_status(g, err);
}

cascade_status cascade_clip_text_build(const cascade_clip_text *m, cascade_graph *g,
                                       int64_t batch, int64_t seq, int64_t skip_layers,
                                       bool debug, cascade_error *err) {
    cascade_clip_text_build_options o;
    cascade_clip_text_build_options_init(&o, m);
    o.batch = batch;
    o.seq = seq;
    o.skip_layers = skip_layers;
    o.debug = debug;
    return cascade_clip_text_build_ex(m, g, &o, err);
}

void cascade_clip_text_pooled_rows(const int32_t *ids, int64_t batch, int64_t seq,
                                   int32_t *rows) {
    for (int64_t b = 0; b < batch; b++) {
        const int32_t *r = ids + b * seq;
        int64_t        best = 0;
        for (int64_t j = 1; j < seq; j++)
            if (r[j] > r[best]) best = j; /* strict: the first of equal maxima */
        rows[b] = (int32_t)(b * seq + best);
    }
}

cascade_status cascade_clip_text_encode(const cascade_clip_text *m, cascade_backend *be,
                                        const int32_t *ids, int64_t batch, int64_t seq,
                                        int64_t skip_layers, float *out, cascade_error *err) {
    cascade_graph *g = NULL;
    cascade_plan  *p = NULL;
    cascade_status st = cascade_graph_new(&g, err);
    if (st != CASCADE_STATUS_OK) return st;
    /* the build checks that B * N * D floats fit in size_t */
    if ((st = cascade_clip_text_build(m, g, batch, seq, skip_layers, false, err))) goto done;
    if ((st = cascade_plan_new(be, g, &p, err))) goto done;
    if ((st = cascade_plan_write_named(p, "input_ids", ids,
                                       sizeof(int32_t) * (size_t)(batch * seq), err)))
        goto done;
    if ((st = cascade_plan_run(p, NULL, err))) goto done;
    st = cascade_plan_read_named(p, "last_hidden_state", out,
                                 sizeof(float) * (size_t)(batch * seq * m->cfg.hidden_size), err);
done:
    cascade_plan_free(p);
    cascade_graph_free(g);
    return st;
}
