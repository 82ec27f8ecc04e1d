/* UpscalerJS ESRGAN networks (idealo image-super-resolution's RDN and RRDN as Keras
 * functional models, converted by tfjs-convert.c). The converted config.json lists the
 * Keras layers in graph order with their wiring from model.json, so one builder covers
 * both architectures:
 *
 *   RDN  (esrgan-slim/medium, default-model): F_m1 -> F_0 -> D residual dense blocks
 *        (F_d_1 relu, cat, 1x1 LFF_d, add) -> cat of LRLs -> GFF_1 (1x1) -> GFF_2 -> FDF
 *        (+F_m1) -> UPN1..3 -> UpSampling2D (nearest, s) -> SR conv at HR.
 *   RRDN (esrgan-thick): Pre_blocks_conv -> 10 RRDBs of 3 RDBs of 4 dense convs, 3x3 LFF,
 *        MultiplyBeta (x0.2) residuals -> post_blocks_conv + P (GRL) -> PreShuffle ->
 *        PixelShuffle<s>x = tf.depthToSpace (TF's DCR channel order) -> SR conv at HR.
 *
 * Keras is NHWC, the graph is NCHW: kernels were transposed to OIHW by the converter,
 * concatenation runs on axis 1 in the inbound order, and depth-to-space is written as
 * reshape/permute in TF's order (see depth_to_space). No-weight layers: Activation,
 * Concatenate, Add, MultiplyBeta, UpSampling2D, PixelShuffle. */
#include "cascade/upscaler.h"

#include <glib.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cascade/safetensors.h"
#include "cascade/tensor.h"
#include "io/io-json.h"
#include "upsample-fold.h"

#define MAX_IN 64

typedef enum net_op {
    OP_INPUT,
    OP_CONV,
    OP_RELU,
    OP_CONCAT,
    OP_ADD,
    OP_SCALE,
    OP_D2S,
    OP_UP
} net_op;

static const char *const op_names[] = {"input", "conv2d", "relu",           "concat",
                                       "add",   "scale",  "depth_to_space", "upsample_nearest"};

typedef struct net_layer {
    char           *name;
    net_op          op;
    int32_t         n_in;
    int32_t         in[MAX_IN];
    int64_t         channels, in_channels;
    int64_t         kh, kw, pad[4];
    bool            relu;
    bool            has_bias;
    int32_t         block;
    float           factor;
    cascade_tensor *weight; /* (O, I, kh, kw) */
    cascade_tensor *bias;   /* (O) or NULL */
    /* OP_UP whose only reader is a conv: the conv runs folded at the low resolution */
    bool            folded;
    cascade_tensor *fold_weight, *fold_bias; /* conv after a folded OP_UP (upsample-fold.h) */
    int32_t         fold_pad, fold_block;
} net_layer;

struct cascade_upscaler {
    char      *dir;
    char      *arch;
    int32_t    scale, channels, rf;
    double     value_range;
    net_layer *layers;
    int32_t    n_layers, input, output;
};

int32_t cascade_upscaler_scale(const cascade_upscaler *u) {
    return u->scale;
}
int32_t cascade_upscaler_channels(const cascade_upscaler *u) {
    return u->channels;
}
const char *cascade_upscaler_architecture(const cascade_upscaler *u) {
    return u->arch;
}
double cascade_upscaler_value_range(const cascade_upscaler *u) {
    return u->value_range;
}
int32_t cascade_upscaler_receptive_field(const cascade_upscaler *u) {
    return u->rf;
}

void cascade_upscaler_free(cascade_upscaler *u) {
    if (!u) return;
    for (int32_t i = 0; i < u->n_layers; i++) {
        g_free(u->layers[i].name);
        cascade_tensor_free(u->layers[i].weight);
        cascade_tensor_free(u->layers[i].bias);
        cascade_tensor_free(u->layers[i].fold_weight);
        cascade_tensor_free(u->layers[i].fold_bias);
    }
    g_free(u->layers);
    g_free(u->arch);
    g_free(u->dir);
    g_free(u);
}

/* ---- config.json ---- */

typedef struct cfg_ctx {
    const char    *path;
    JsonObject    *o;
    const char    *layer; /* NULL at the top level */
    GHashTable    *used;
    cascade_error *err;
} cfg_ctx;

static cascade_status cfg_fail(cfg_ctx *c, cascade_status st, const char *key, const char *what) {
    if (c->layer)
        return cascade_error_set(c->err, st, "%s: layer '%s': field '%s' %s", c->path, c->layer,
                                 key, what);
    return cascade_error_set(c->err, st, "%s: field '%s' %s", c->path, key, what);
}

static JsonNode *cfg_get(cfg_ctx *c, const char *key) {
    g_hash_table_add(c->used, (gpointer)key);
    return json_object_has_member(c->o, key) ? json_object_get_member(c->o, key) : NULL;
}

static cascade_status cfg_int(cfg_ctx *c, const char *key, int64_t lo, int64_t hi, int64_t *out) {
    JsonNode *n = cfg_get(c, key);
    if (!n || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_INT64)
        return cfg_fail(c, CASCADE_STATUS_FORMAT, key, "is missing or not an integer");
    *out = json_node_get_int(n);
    if (*out < lo || *out > hi)
        return cfg_fail(c, CASCADE_STATUS_UNSUPPORTED, key, "is out of range");
    return CASCADE_STATUS_OK;
}

static cascade_status cfg_num(cfg_ctx *c, const char *key, double *out) {
    JsonNode *n = cfg_get(c, key);
    GType     t = n && JSON_NODE_HOLDS_VALUE(n) ? json_node_get_value_type(n) : G_TYPE_INVALID;
    if (t != G_TYPE_INT64 && t != G_TYPE_DOUBLE)
        return cfg_fail(c, CASCADE_STATUS_FORMAT, key, "is missing or not a number");
    *out = json_node_get_double(n);
    if (!isfinite(*out)) return cfg_fail(c, CASCADE_STATUS_FORMAT, key, "is not finite");
    return CASCADE_STATUS_OK;
}

static cascade_status cfg_str(cfg_ctx *c, const char *key, const char **out) {
    JsonNode *n = cfg_get(c, key);
    if (!n || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
        return cfg_fail(c, CASCADE_STATUS_FORMAT, key, "is missing or not a string");
    *out = json_node_get_string(n);
    return CASCADE_STATUS_OK;
}

static cascade_status cfg_ints(cfg_ctx *c, const char *key, int64_t *out, guint n, int64_t hi) {
    JsonNode *a = cfg_get(c, key);
    if (!a || !JSON_NODE_HOLDS_ARRAY(a) || json_array_get_length(json_node_get_array(a)) != n)
        return cfg_fail(c, CASCADE_STATUS_FORMAT, key, "is not an array of the right length");
    for (guint i = 0; i < n; i++) {
        JsonNode *e = json_array_get_element(json_node_get_array(a), i);
        if (!JSON_NODE_HOLDS_VALUE(e) || json_node_get_value_type(e) != G_TYPE_INT64)
            return cfg_fail(c, CASCADE_STATUS_FORMAT, key, "holds a non-integer");
        out[i] = json_node_get_int(e);
        if (out[i] < 0 || out[i] > hi)
            return cfg_fail(c, CASCADE_STATUS_UNSUPPORTED, key, "is out of range");
    }
    return CASCADE_STATUS_OK;
}

/* UNSUPPORTED for the first member nobody read. */
static cascade_status cfg_check_used(cfg_ctx *c) {
    GList         *m = json_object_get_members(c->o);
    cascade_status st = CASCADE_STATUS_OK;
    for (GList *l = m; l && st == CASCADE_STATUS_OK; l = l->next)
        if (!g_hash_table_contains(c->used, l->data))
            st = cfg_fail(c, CASCADE_STATUS_UNSUPPORTED, l->data, "is not implemented");
    g_list_free(m);
    return st;
}

static cascade_status parse_layer(cascade_upscaler *u, GHashTable *index, JsonObject *lo, int32_t i,
                                  const char *path, cascade_error *err) {
    net_layer *L = &u->layers[i];
    cfg_ctx    c = {
           .path = path, .o = lo, .used = g_hash_table_new(g_str_hash, g_str_equal), .err = err};
    const char    *name = NULL, *op = NULL;
    int64_t        v;
    cascade_status st = cfg_str(&c, "name", &name);
    if (st == CASCADE_STATUS_OK) {
        L->name = g_strdup(name);
        c.layer = L->name;
        if (g_hash_table_contains(index, name))
            st = cfg_fail(&c, CASCADE_STATUS_FORMAT, "name", "repeats an earlier layer");
    }
    if (st == CASCADE_STATUS_OK) st = cfg_str(&c, "op", &op);
    if (st == CASCADE_STATUS_OK) {
        L->op = (net_op)-1;
        for (size_t k = 0; k < G_N_ELEMENTS(op_names); k++)
            if (!strcmp(op, op_names[k])) L->op = (net_op)k;
        if ((int)L->op < 0)
            st = cfg_fail(&c, CASCADE_STATUS_UNSUPPORTED, "op", "names an unknown op");
    }
    if (st == CASCADE_STATUS_OK) st = cfg_int(&c, "channels", 1, 1 << 16, &L->channels);
    JsonNode *ins = st == CASCADE_STATUS_OK ? cfg_get(&c, "inputs") : NULL;
    if (st == CASCADE_STATUS_OK && (!ins || !JSON_NODE_HOLDS_ARRAY(ins)))
        st = cfg_fail(&c, CASCADE_STATUS_FORMAT, "inputs", "is not an array");
    if (st == CASCADE_STATUS_OK) {
        JsonArray *a = json_node_get_array(ins);
        guint      n = json_array_get_length(a);
        if (n > MAX_IN)
            st = cfg_fail(&c, CASCADE_STATUS_UNSUPPORTED, "inputs", "has too many entries");
        for (guint k = 0; k < n && st == CASCADE_STATUS_OK; k++) {
            JsonNode   *e = json_array_get_element(a, k);
            const char *s = JSON_NODE_HOLDS_VALUE(e) && json_node_get_value_type(e) == G_TYPE_STRING
                                ? json_node_get_string(e)
                                : NULL;
            gpointer    idx = s ? g_hash_table_lookup(index, s) : NULL;
            if (!idx)
                st = cfg_fail(&c, CASCADE_STATUS_FORMAT, "inputs", "names no earlier layer");
            else
                L->in[L->n_in++] = GPOINTER_TO_INT(idx) - 1;
        }
    }
    /* arity and channel bookkeeping per op */
    const net_layer *in0 = L->n_in ? &u->layers[L->in[0]] : NULL;
    if (st == CASCADE_STATUS_OK) {
        bool arity_ok = L->op == OP_INPUT                       ? L->n_in == 0
                        : L->op == OP_CONCAT || L->op == OP_ADD ? L->n_in >= 2
                                                                : L->n_in == 1;
        if (!arity_ok) st = cfg_fail(&c, CASCADE_STATUS_FORMAT, "inputs", "has the wrong count");
    }
    if (st == CASCADE_STATUS_OK) switch (L->op) {
        case OP_CONV: {
            int64_t     k[2];
            const char *act = NULL;
            bool        has_bias = false;
            JsonNode   *b = cfg_get(&c, "bias");
            if (!b || !JSON_NODE_HOLDS_VALUE(b) || json_node_get_value_type(b) != G_TYPE_BOOLEAN)
                st = cfg_fail(&c, CASCADE_STATUS_FORMAT, "bias", "is missing or not a boolean");
            else
                has_bias = json_node_get_boolean(b);
            if (st == CASCADE_STATUS_OK)
                st = cfg_int(&c, "in_channels", 1, 1 << 16, &L->in_channels);
            if (st == CASCADE_STATUS_OK) st = cfg_ints(&c, "kernel", k, 2, 63);
            if (st == CASCADE_STATUS_OK) st = cfg_ints(&c, "pad", L->pad, 4, 63);
            if (st == CASCADE_STATUS_OK) st = cfg_str(&c, "activation", &act);
            if (st == CASCADE_STATUS_OK && strcmp(act, "linear") && strcmp(act, "relu"))
                st =
                    cfg_fail(&c, CASCADE_STATUS_UNSUPPORTED, "activation", "is not linear or relu");
            if (st == CASCADE_STATUS_OK &&
                (k[0] < 1 || k[1] < 1 || L->pad[0] + L->pad[2] != k[0] - 1 ||
                 L->pad[1] + L->pad[3] != k[1] - 1))
                st = cfg_fail(&c, CASCADE_STATUS_UNSUPPORTED, "pad",
                              "does not keep the size (k - 1 in total)");
            if (st == CASCADE_STATUS_OK && L->in_channels != in0->channels)
                st = cfg_fail(&c, CASCADE_STATUS_FORMAT, "in_channels", "differs from the input's");
            if (st == CASCADE_STATUS_OK) {
                L->kh = k[0], L->kw = k[1];
                L->relu = !strcmp(act, "relu");
                L->has_bias = has_bias;
            }
            break;
        }
        case OP_RELU:
            if (L->channels != in0->channels)
                st = cfg_fail(&c, CASCADE_STATUS_FORMAT, "channels", "differs from the input's");
            break;
        case OP_SCALE: {
            double f = 0;
            st = cfg_num(&c, "factor", &f);
            L->factor = (float)f;
            if (st == CASCADE_STATUS_OK && L->channels != in0->channels)
                st = cfg_fail(&c, CASCADE_STATUS_FORMAT, "channels", "differs from the input's");
            break;
        }
        case OP_CONCAT: {
            int64_t sum = 0;
            for (int32_t k = 0; k < L->n_in; k++)
                sum += u->layers[L->in[k]].channels;
            if (sum != L->channels)
                st = cfg_fail(&c, CASCADE_STATUS_FORMAT, "channels", "is not the inputs' sum");
            break;
        }
        case OP_ADD:
            for (int32_t k = 0; k < L->n_in && st == CASCADE_STATUS_OK; k++)
                if (u->layers[L->in[k]].channels != L->channels)
                    st = cfg_fail(&c, CASCADE_STATUS_FORMAT, "channels", "differs from an input's");
            break;
        case OP_D2S:
        case OP_UP:
            st = cfg_int(&c, "block", 1, 16, &v);
            L->block = (int32_t)v;
            if (st == CASCADE_STATUS_OK &&
                L->channels * (L->op == OP_D2S ? v * v : 1) != in0->channels)
                st = cfg_fail(&c, CASCADE_STATUS_FORMAT, "channels", "does not fit the block size");
            break;
        case OP_INPUT: break;
        }
    if (st == CASCADE_STATUS_OK) st = cfg_check_used(&c);
    if (st == CASCADE_STATUS_OK) g_hash_table_insert(index, L->name, GINT_TO_POINTER(i + 1));
    g_hash_table_destroy(c.used);
    return st;
}

static cascade_status load_config(cascade_upscaler *u, const char *path, cascade_error *err) {
    JsonParser *p = NULL;
    JsonNode   *root = NULL;
    GHashTable *index = g_hash_table_new(g_str_hash, g_str_equal);
    cfg_ctx     c = {.path = path, .used = g_hash_table_new(g_str_hash, g_str_equal), .err = err};
    cascade_status st =
        cascade_io_json_load_file(path, "config", CASCADE_IO_JSON_PY_INFINITY, &p, &root, err);
    const char *cls = NULL, *arch = NULL, *in_name = NULL, *out_name = NULL;
    int64_t     v = 0;
    if (st == CASCADE_STATUS_OK) {
        c.o = json_node_get_object(root);
        st = cfg_str(&c, "_class_name", &cls);
        if (st == CASCADE_STATUS_OK && strcmp(cls, "UpscalerJSNetwork"))
            st = cfg_fail(&c, CASCADE_STATUS_UNSUPPORTED, "_class_name",
                          "is not UpscalerJSNetwork (convert with `cascade convert --from tfjs`)");
    }
    if (st == CASCADE_STATUS_OK) st = cfg_str(&c, "architecture", &arch);
    if (st == CASCADE_STATUS_OK) st = cfg_int(&c, "scale", 1, 64, &v), u->scale = (int32_t)v;
    if (st == CASCADE_STATUS_OK) st = cfg_int(&c, "channels", 3, 3, &v), u->channels = (int32_t)v;
    if (st == CASCADE_STATUS_OK) st = cfg_num(&c, "value_range", &u->value_range);
    if (st == CASCADE_STATUS_OK && !(u->value_range > 0 && u->value_range <= 65535))
        st = cfg_fail(&c, CASCADE_STATUS_UNSUPPORTED, "value_range", "is not in (0, 65535]");
    if (st == CASCADE_STATUS_OK) st = cfg_str(&c, "input", &in_name);
    if (st == CASCADE_STATUS_OK) st = cfg_str(&c, "output", &out_name);
    if (st == CASCADE_STATUS_OK) cfg_get(&c, "source"); /* provenance only */
    JsonNode *ln = st == CASCADE_STATUS_OK ? cfg_get(&c, "layers") : NULL;
    if (st == CASCADE_STATUS_OK &&
        (!ln || !JSON_NODE_HOLDS_ARRAY(ln) || json_array_get_length(json_node_get_array(ln)) == 0 ||
         json_array_get_length(json_node_get_array(ln)) > 4096))
        st = cfg_fail(&c, CASCADE_STATUS_FORMAT, "layers", "is not a non-empty array");
    if (st == CASCADE_STATUS_OK) st = cfg_check_used(&c);
    if (st == CASCADE_STATUS_OK) {
        JsonArray *a = json_node_get_array(ln);
        u->arch = g_strdup(arch);
        u->layers = g_new0(net_layer, json_array_get_length(a));
        for (guint i = 0; i < json_array_get_length(a) && st == CASCADE_STATUS_OK; i++) {
            JsonNode *e = json_array_get_element(a, i);
            u->n_layers = (int32_t)i + 1;
            if (!JSON_NODE_HOLDS_OBJECT(e))
                st = cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                       "%s: layers[%u] is not an object", path, i);
            else
                st = parse_layer(u, index, json_node_get_object(e), (int32_t)i, path, err);
        }
    }
    if (st == CASCADE_STATUS_OK) {
        gpointer a = g_hash_table_lookup(index, in_name), b = g_hash_table_lookup(index, out_name);
        if (!a || !b || u->layers[GPOINTER_TO_INT(a) - 1].op != OP_INPUT)
            st = cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                   "%s: 'input'/'output' do not name an input layer / a layer",
                                   path);
        else {
            u->input = GPOINTER_TO_INT(a) - 1, u->output = GPOINTER_TO_INT(b) - 1;
            for (int32_t i = 0; i < u->n_layers && st == CASCADE_STATUS_OK; i++)
                if (u->layers[i].op == OP_INPUT && i != u->input)
                    st = cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                                           "%s: more than one input layer", path);
            if (u->layers[u->input].channels != u->channels ||
                u->layers[u->output].channels != u->channels)
                st = cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                       "%s: input/output layers do not have %d channels", path,
                                       u->channels);
        }
    }
    g_hash_table_destroy(c.used);
    g_hash_table_destroy(index);
    if (p) g_object_unref(p);
    return st;
}

/* Scale and receptive field by walking the graph: a conv running at r x the input
 * resolution widens the field by its half-width / r input pixels. */
static cascade_status analyse(cascade_upscaler *u, const char *path, cascade_error *err) {
    int64_t *res = g_new0(int64_t, u->n_layers);
    double  *rf = g_new0(double, u->n_layers);
    for (int32_t i = 0; i < u->n_layers; i++) {
        const net_layer *L = &u->layers[i];
        res[i] = 1;
        if (L->n_in) {
            res[i] = res[L->in[0]];
            for (int32_t k = 0; k < L->n_in; k++) {
                if (res[L->in[k]] != res[i]) {
                    g_free(res), g_free(rf);
                    return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                             "%s: layer '%s' joins different resolutions", path,
                                             L->name);
                }
                rf[i] = fmax(rf[i], rf[L->in[k]]);
            }
        }
        if (L->op == OP_CONV)
            rf[i] += (double)MAX(MAX(L->pad[0], L->pad[2]), MAX(L->pad[1], L->pad[3])) / res[i];
        if (L->op == OP_D2S || L->op == OP_UP) res[i] *= L->block;
        if (res[i] > 64) res[i] = 65; /* caught below */
    }
    int64_t s = res[u->output];
    u->rf = (int32_t)ceil(rf[u->output] - 1e-9);
    g_free(res), g_free(rf);
    if (s != u->scale)
        return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                 "%s: 'scale' is %d but the layers upsample %lld x", path, u->scale,
                                 (long long)s);
    return CASCADE_STATUS_OK;
}

static cascade_status load_weights(cascade_upscaler *u, const char *path, cascade_error *err) {
    cascade_safetensors *st = NULL;
    CASCADE_TRY(cascade_safetensors_open(path, &st, err));
    cascade_status s = CASCADE_STATUS_OK;
    size_t         used = 0;
    for (int32_t i = 0; i < u->n_layers && s == CASCADE_STATUS_OK; i++) {
        net_layer *L = &u->layers[i];
        if (L->op != OP_CONV) continue;
        bool    want_bias = L->has_bias;
        int64_t ws[4] = {L->channels, L->in_channels, L->kh, L->kw};
        char    name[300], a[96], b[96];
        for (int k = 0; k < 1 + want_bias && s == CASCADE_STATUS_OK; k++) {
            snprintf(name, sizeof name, "%s.%s", L->name, k ? "bias" : "weight");
            const cascade_st_entry *e = cascade_safetensors_find(st, name);
            int32_t                 nd = k ? 1 : 4;
            bool                    ok = e && e->ndim == nd;
            for (int d = 0; ok && d < nd; d++)
                ok = e->shape[d] == ws[d];
            if (!e)
                s = cascade_error_set(err, CASCADE_STATUS_FORMAT, "%s: tensor '%s' missing", path,
                                      name);
            else if (!ok)
                s = cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                      "%s: tensor '%s': got %s, expected %s", path, name,
                                      cascade_shape_format(e->ndim, e->shape, a, sizeof a),
                                      cascade_shape_format(nd, ws, b, sizeof b));
            else
                s = cascade_safetensors_load(st, name, CASCADE_DTYPE_F32, k ? &L->bias : &L->weight,
                                             err);
            used++;
        }
    }
    if (s == CASCADE_STATUS_OK && used != cascade_safetensors_count(st))
        s = cascade_error_set(err, CASCADE_STATUS_FORMAT,
                              "%s: holds %zu tensors, the config uses %zu", path,
                              cascade_safetensors_count(st), used);
    cascade_safetensors_close(st);
    return s;
}

static cascade_status fold_upsampling(cascade_upscaler *u, cascade_error *err);

cascade_status cascade_upscaler_load(const char *dir, cascade_upscaler **out, cascade_error *err) {
    if (!out) return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "upscaler_load: no out");
    *out = NULL;
    if (!dir) return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "upscaler_load: no dir");
    cascade_upscaler *u = g_new0(cascade_upscaler, 1);
    u->dir = g_strdup(dir);
    char          *cfg = g_build_filename(dir, "config.json", NULL);
    char          *wts = g_build_filename(dir, "model.safetensors", NULL);
    cascade_status st = load_config(u, cfg, err);
    if (st == CASCADE_STATUS_OK) st = analyse(u, cfg, err);
    if (st == CASCADE_STATUS_OK) st = load_weights(u, wts, err);
    if (st == CASCADE_STATUS_OK) st = fold_upsampling(u, err);
    g_free(cfg), g_free(wts);
    if (st != CASCADE_STATUS_OK) {
        cascade_upscaler_free(u);
        return st;
    }
    *out = u;
    return CASCADE_STATUS_OK;
}

/* Nearest upsampling read only by a square odd "same" conv (RDN's UpSampling2D -> SR) is
 * folded into that conv at the low resolution + depth-to-space: same numbers up to summation
 * order, s^2 x less memory and no high-resolution im2col (see upsample-fold.c). */
static cascade_status fold_upsampling(cascade_upscaler *u, cascade_error *err) {
    for (int32_t i = 0; i < u->n_layers; i++) {
        net_layer *U = &u->layers[i];
        if (U->op != OP_UP || U->block < 2) continue;
        int32_t reader = -1, n_readers = 0;
        for (int32_t j = 0; j < u->n_layers; j++)
            for (int32_t k = 0; k < u->layers[j].n_in; k++)
                if (u->layers[j].in[k] == i) reader = j, n_readers++;
        if (i == u->output || n_readers != 1) continue;
        net_layer *L = &u->layers[reader];
        if (L->op != OP_CONV || L->kh != L->kw || L->kh % 2 == 0 || L->pad[0] != L->kh / 2 ||
            L->pad[1] != L->kh / 2 || L->pad[2] != L->kh / 2 || L->pad[3] != L->kh / 2)
            continue;
        CASCADE_TRY(cascade_upsample_conv_fold(L->weight, L->bias, U->block, &L->fold_weight,
                                               &L->fold_bias, &L->fold_pad, err));
        L->fold_block = U->block;
        U->folded = true;
    }
    return CASCADE_STATUS_OK;
}

double cascade_upscaler_activation_bytes_per_pixel(const cascade_upscaler *u) {
    const int32_t n = u->n_layers;
    int32_t      *last = g_new(int32_t, n);
    double       *size = g_new(double, n), live = 0, peak = 0;
    int64_t      *res = g_new(int64_t, n);
    for (int32_t i = 0; i < n; i++) {
        const net_layer *L = &u->layers[i];
        last[i] = i == u->output ? n : i;
        res[i] = L->n_in ? res[L->in[0]] : 1;
        if (L->op == OP_D2S || L->op == OP_UP) res[i] *= L->block;
        for (int32_t k = 0; k < L->n_in; k++)
            last[L->in[k]] = i;
        size[i] = (double)L->channels * (double)(res[i] * res[i]);
    }
    for (int32_t i = 0; i < n; i++) {
        live += size[i];
        peak = live > peak ? live : peak;
        for (int32_t k = 0; k <= i; k++)
            if (last[k] == i) live -= size[k];
    }
    g_free(last), g_free(size), g_free(res);
    return peak * sizeof(float);
}

/* ---- graph ---- */

/* tf.depthToSpace(x, s, 'NHWC'), DCR order: out[h*s+i, w*s+j, c] = in[h, w, (i*s + j)*C + c].
 * x: (N, s*s*C, H, W) -> view (N, s, s, C, H, W) -> permute to (N, C, H, s_i, W, s_j) ->
 * (N, C, H*s, W*s). PyTorch's PixelShuffle would read channel c*s*s + i*s + j instead. */
static cascade_value_id depth_to_space(cascade_graph *g, cascade_value_id x, int64_t n, int64_t c,
                                       int64_t h, int64_t w, int64_t s) {
    int64_t       v6[6] = {n, s, s, c, h, w};
    const int32_t perm[6] = {0, 3, 4, 1, 5, 2};
    int64_t       o4[4] = {n, c, h * s, w * s};
    x = cascade_graph_reshape(g, x, 6, v6);
    x = cascade_graph_permute(g, x, perm);
    return cascade_graph_reshape(g, x, 4, o4);
}

/* The graph op takes at most CASCADE_NODE_MAX_INPUTS inputs: longer concatenations (RDN's
 * LRLs_Concat has D inputs) are chained, which keeps the channel order. */
static cascade_value_id concat_n(cascade_graph *g, int32_t n, const cascade_value_id *xs) {
    cascade_value_id acc = CASCADE_NO_VALUE;
    int32_t          i = 0;
    while (i < n) {
        cascade_value_id part[CASCADE_NODE_MAX_INPUTS];
        int32_t          k = 0;
        if (acc != CASCADE_NO_VALUE) part[k++] = acc;
        while (k < CASCADE_NODE_MAX_INPUTS && i < n)
            part[k++] = xs[i++];
        acc = k == 1 ? part[0] : cascade_graph_concat(g, k, part, 1);
    }
    return acc;
}

cascade_status cascade_upscaler_build_graph(const cascade_upscaler *u, int64_t h, int64_t w,
                                            cascade_graph **out, cascade_error *err) {
    if (!out) return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "build_graph: no out");
    *out = NULL;
    if (!u || h < 1 || w < 1 || h > (1 << 20) || w > (1 << 20))
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "upscaler: input size %lldx%lld",
                                 (long long)w, (long long)h);
    cascade_graph *g = NULL;
    CASCADE_TRY(cascade_graph_new(&g, err));
    cascade_value_id *val = g_new(cascade_value_id, u->n_layers);
    int64_t           hh = h, ww = w;
    int64_t          *res = g_new0(int64_t, u->n_layers);
    for (int32_t i = 0; i < u->n_layers; i++) {
        const net_layer *L = &u->layers[i];
        cascade_value_id x = L->n_in ? val[L->in[0]] : CASCADE_NO_VALUE;
        res[i] = L->n_in ? res[L->in[0]] : 1;
        hh = h * res[i], ww = w * res[i];
        cascade_graph_set_scope(g, "%s", L->name);
        switch (L->op) {
        case OP_INPUT: {
            int64_t shape[4] = {1, L->channels, h, w};
            val[i] = cascade_graph_input(g, "input", CASCADE_DTYPE_F32, 4, shape);
            break;
        }
        case OP_CONV: {
            /* Keras Conv2D: cross-correlation, "same" = k//2 before, the rest after */
            cascade_conv2d_params p;
            cascade_conv2d_params_init(&p);
            for (int k = 0; k < 4; k++)
                p.pad[k] = (int32_t)L->pad[k];
            char wn[300], bn[300];
            snprintf(wn, sizeof wn, "%s.weight", L->name);
            snprintf(bn, sizeof bn, "%s.bias", L->name);
            if (L->fold_weight)
                for (int k = 0; k < 4; k++)
                    p.pad[k] = L->fold_pad;
            cascade_value_id wv =
                cascade_graph_constant(g, wn, L->fold_weight ? L->fold_weight : L->weight);
            const cascade_tensor *b = L->fold_weight ? L->fold_bias : L->bias;
            cascade_value_id      bv = b ? cascade_graph_constant(g, bn, b) : CASCADE_NO_VALUE;
            val[i] = cascade_graph_conv2d(g, x, wv, bv, &p);
            if (L->fold_weight) /* the input is still at the low resolution: (hh/s, ww/s) */
                val[i] = depth_to_space(g, val[i], 1, L->channels, hh / L->fold_block,
                                        ww / L->fold_block, L->fold_block);
            if (L->relu) val[i] = cascade_graph_unary(g, CASCADE_UNARY_RELU, val[i]);
            break;
        }
        case OP_RELU: val[i] = cascade_graph_unary(g, CASCADE_UNARY_RELU, x); break;
        case OP_SCALE: val[i] = cascade_graph_scale(g, x, L->factor, 0.0f); break;
        case OP_CONCAT: {
            cascade_value_id xs[MAX_IN];
            for (int32_t k = 0; k < L->n_in; k++)
                xs[k] = val[L->in[k]];
            val[i] = concat_n(g, L->n_in, xs);
            break;
        }
        case OP_ADD: {
            /* Keras Add sums in input order */
            val[i] = x;
            for (int32_t k = 1; k < L->n_in; k++)
                val[i] = cascade_graph_add(g, val[i], val[L->in[k]]);
            break;
        }
        case OP_UP:
            val[i] = L->folded ? x : cascade_graph_upsample_nearest(g, x, L->block, L->block);
            res[i] *= L->block;
            break;
        case OP_D2S:
            val[i] = depth_to_space(g, x, 1, L->channels, hh, ww, L->block);
            res[i] *= L->block;
            break;
        }
    }
    cascade_graph_mark_output(g, val[u->output], "output");
    g_free(val);
    g_free(res);
    cascade_status st = cascade_graph_status(g, err);
    if (st != CASCADE_STATUS_OK) {
        cascade_error_prefix(err, "%s: ", u->dir);
        cascade_graph_free(g);
        return st;
    }
    *out = g;
    return CASCADE_STATUS_OK;
}
