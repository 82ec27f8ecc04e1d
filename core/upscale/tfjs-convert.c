/* TensorFlow.js layers-model -> engine model directory (see tfjs-convert.h).
 *
 * model.json (tfjs converter "layers-model" format) holds the Keras functional config under
 * modelTopology.model_config and a weightsManifest: groups of shard files that, concatenated
 * in `paths` order, hold the group's weights back to back in `weights` order (float32, no
 * padding). Shards are cut every 4 MiB whatever the tensor boundaries, so the shards of a
 * group are concatenated first. The weights order is not the graph order (layer names sorted
 * as strings), so weights are looked up by "<layer>/kernel" and "<layer>/bias". */
#include "cascade/tfjs-convert.h"

#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/io-json.h"
#include "io/io-reason.h"

#include "cascade/safetensors.h"
#include "cascade/tensor.h"

#define MAX_JSON_BYTES  (64u << 20)
#define MAX_GROUP_BYTES (1ull << 32)
#define MAX_LAYERS      4096
#define MAX_INPUTS      64

typedef enum layer_kind {
    KIND_INPUT,
    KIND_CONV,
    KIND_RELU,
    KIND_CONCAT,
    KIND_ADD,
    KIND_SCALE,    /* UpscalerJS MultiplyBeta: x * 0.2 */
    KIND_D2S,      /* UpscalerJS PixelShuffle<s>x: tf.depthToSpace(x, s, 'NHWC') */
    KIND_UPSAMPLE, /* UpSampling2D, nearest */
} layer_kind;

static const char *const kind_op[] = {"input", "conv2d", "relu",           "concat",
                                      "add",   "scale",  "depth_to_space", "upsample_nearest"};

typedef struct tf_layer {
    const char *name; /* into the parsed JSON */
    const char *cls;
    layer_kind  kind;
    int         n_inputs;
    int         inputs[MAX_INPUTS]; /* layer indices */
    int64_t     channels;           /* output channels */
    int64_t     in_channels;
    int64_t     kh, kw;
    int64_t     pad[4]; /* top, left, bottom, right */
    bool        bias;
    bool        relu;   /* Conv2D with activation "relu" */
    int64_t     factor; /* upsample / depth-to-space block */
    double      scale;  /* KIND_SCALE */
} tf_layer;

typedef struct tf_weight {
    const char  *name;
    int32_t      ndim;
    int64_t      shape[CASCADE_MAX_DIMS];
    const float *data; /* into the group blob (may be unaligned: copied with memcpy) */
    bool         used;
} tf_weight;

typedef struct converter {
    const char                         *dir;
    JsonParser                         *parser;
    char                               *json_text;
    gsize                               json_len;
    tf_layer                           *layers;
    int                                 n_layers;
    GHashTable                         *layer_index; /* name -> index + 1 */
    GPtrArray                          *blobs;       /* one per manifest group */
    tf_weight                          *weights;
    size_t                              n_weights;
    GHashTable                         *weight_index; /* name -> tf_weight* */
    int                                 input_layer, output_layer;
    int64_t                             scale;
    bool                                has_d2s, has_upsample;
    const char                         *generated_by, *converted_by, *model_name;
    const cascade_tfjs_convert_options *opt;
} converter;

void cascade_tfjs_convert_options_init(cascade_tfjs_convert_options *opt) {
    memset(opt, 0, sizeof *opt);
}

/* ---- typed JSON access: a wrong type is a FORMAT error naming the field ---- */

static JsonNode *member(JsonObject *o, const char *key) {
    return o && json_object_has_member(o, key) ? json_object_get_member(o, key) : NULL;
}

static JsonObject *obj_member(JsonObject *o, const char *key) {
    JsonNode *n = member(o, key);
    return n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

static JsonArray *arr_member(JsonObject *o, const char *key) {
    JsonNode *n = member(o, key);
    return n && JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;
}

static const char *str_node(JsonNode *n) {
    return n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING
               ? json_node_get_string(n)
               : NULL;
}

static const char *str_member(JsonObject *o, const char *key) {
    return str_node(member(o, key));
}

static bool int_node(JsonNode *n, int64_t *out) {
    if (!n || !JSON_NODE_HOLDS_VALUE(n)) return false;
    GType t = json_node_get_value_type(n);
    if (t == G_TYPE_INT64) {
        *out = json_node_get_int(n);
        return true;
    }
    if (t == G_TYPE_DOUBLE) {
        double d = json_node_get_double(n);
        if (d != floor(d) || fabs(d) > 1e15) return false;
        *out = (int64_t)d;
        return true;
    }
    return false;
}

/* An array of exactly n small non-negative ints (n = 0: any length up to max). */
static bool int_array(JsonArray *a, int64_t *out, guint n) {
    if (!a || json_array_get_length(a) != n) return false;
    for (guint i = 0; i < n; i++)
        if (!int_node(json_array_get_element(a, i), &out[i]) || out[i] < 0 || out[i] > 1 << 20)
            return false;
    return true;
}

static bool bool_member(JsonObject *o, const char *key, bool *out) {
    JsonNode *n = member(o, key);
    if (!n || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_BOOLEAN)
        return false;
    *out = json_node_get_boolean(n);
    return true;
}

/* ---- layers ---- */

/* FORMAT / UNSUPPORTED naming the file, the layer and its class. */
static cascade_status lfail(const converter *c, const tf_layer *L, cascade_error *err,
                            cascade_status st, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static cascade_status lfail(const converter *c, const tf_layer *L, cascade_error *err,
                            cascade_status st, const char *fmt, ...) {
    char    msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cascade_error_set(err, st, "%s/model.json: layer '%s' (%s): %s", c->dir, L->name, L->cls,
                             msg);
}
#define LFAIL(...) return lfail(c, L, err, __VA_ARGS__)

static cascade_status parse_inbound(converter *c, tf_layer *L, JsonObject *lo, cascade_error *err) {
    JsonArray *nodes = arr_member(lo, "inbound_nodes");
    if (!nodes) LFAIL(CASCADE_STATUS_FORMAT, "no inbound_nodes array");
    guint n_nodes = json_array_get_length(nodes);
    if (L->kind == KIND_INPUT) {
        if (n_nodes != 0) LFAIL(CASCADE_STATUS_FORMAT, "an InputLayer with inbound nodes");
        return CASCADE_STATUS_OK;
    }
    if (n_nodes != 1)
        LFAIL(CASCADE_STATUS_UNSUPPORTED, "%u inbound nodes (shared layers are not supported)",
              n_nodes);
    JsonNode *nn = json_array_get_element(nodes, 0);
    if (!JSON_NODE_HOLDS_ARRAY(nn)) LFAIL(CASCADE_STATUS_FORMAT, "inbound node is not an array");
    JsonArray *ins = json_node_get_array(nn);
    guint      n = json_array_get_length(ins);
    if (n == 0 || n > MAX_INPUTS) LFAIL(CASCADE_STATUS_FORMAT, "%u inputs", n);
    for (guint i = 0; i < n; i++) {
        JsonNode *e = json_array_get_element(ins, i);
        if (!JSON_NODE_HOLDS_ARRAY(e)) LFAIL(CASCADE_STATUS_FORMAT, "input %u is not an array", i);
        JsonArray  *ea = json_node_get_array(e);
        int64_t     node_i = -1, tensor_i = -1;
        const char *src =
            json_array_get_length(ea) >= 3 ? str_node(json_array_get_element(ea, 0)) : NULL;
        if (!src || !int_node(json_array_get_element(ea, 1), &node_i) ||
            !int_node(json_array_get_element(ea, 2), &tensor_i))
            LFAIL(CASCADE_STATUS_FORMAT, "input %u is not [layer, node, tensor, kwargs]", i);
        if (node_i != 0 || tensor_i != 0)
            LFAIL(CASCADE_STATUS_UNSUPPORTED, "input '%s' uses node %lld tensor %lld", src,
                  (long long)node_i, (long long)tensor_i);
        if (json_array_get_length(ea) > 3) {
            JsonNode *kw = json_array_get_element(ea, 3);
            if (!JSON_NODE_HOLDS_OBJECT(kw) || json_object_get_size(json_node_get_object(kw)))
                LFAIL(CASCADE_STATUS_UNSUPPORTED, "input '%s' has call arguments", src);
        }
        gpointer idx = g_hash_table_lookup(c->layer_index, src);
        if (!idx) LFAIL(CASCADE_STATUS_FORMAT, "input '%s' is not an earlier layer", src);
        L->inputs[L->n_inputs++] = GPOINTER_TO_INT(idx) - 1;
    }
    return CASCADE_STATUS_OK;
}

/* "same" padding as TensorFlow computes it for stride 1: k-1 in total, the extra one (even
 * kernels) at the bottom/right. */
static void same_pad(int64_t k, int64_t *before, int64_t *after) {
    *before = (k - 1) / 2;
    *after = k - 1 - *before;
}

static cascade_status parse_conv(converter *c, tf_layer *L, JsonObject *cfg, cascade_error *err) {
    int64_t     ks[2], st[2], dil[2] = {1, 1}, filters = 0, groups = 1;
    const char *padding = str_member(cfg, "padding");
    const char *act = str_member(cfg, "activation");
    const char *fmt = str_member(cfg, "data_format");
    if (!int_node(member(cfg, "filters"), &filters) || filters <= 0 || filters > 1 << 16)
        LFAIL(CASCADE_STATUS_FORMAT, "field 'filters' missing or invalid");
    if (!int_array(arr_member(cfg, "kernel_size"), ks, 2) || ks[0] < 1 || ks[1] < 1 || ks[0] > 63 ||
        ks[1] > 63)
        LFAIL(CASCADE_STATUS_FORMAT, "field 'kernel_size' is not two ints in 1..63");
    if (!int_array(arr_member(cfg, "strides"), st, 2) || st[0] != 1 || st[1] != 1)
        LFAIL(CASCADE_STATUS_UNSUPPORTED, "field 'strides': only [1, 1] is supported");
    if (member(cfg, "dilation_rate") &&
        (!int_array(arr_member(cfg, "dilation_rate"), dil, 2) || dil[0] != 1 || dil[1] != 1))
        LFAIL(CASCADE_STATUS_UNSUPPORTED, "field 'dilation_rate': only [1, 1] is supported");
    if (member(cfg, "groups") && (!int_node(member(cfg, "groups"), &groups) || groups != 1))
        LFAIL(CASCADE_STATUS_UNSUPPORTED, "field 'groups': only 1 is supported");
    if (fmt && strcmp(fmt, "channels_last"))
        LFAIL(CASCADE_STATUS_UNSUPPORTED, "field 'data_format' '%s'", fmt);
    if (!bool_member(cfg, "use_bias", &L->bias))
        LFAIL(CASCADE_STATUS_FORMAT, "field 'use_bias' missing or not a boolean");
    if (!act || (strcmp(act, "linear") && strcmp(act, "relu")))
        LFAIL(CASCADE_STATUS_UNSUPPORTED, "field 'activation' '%s'", act ? act : "(missing)");
    L->relu = !strcmp(act, "relu");
    L->kh = ks[0], L->kw = ks[1], L->channels = filters;
    if (padding && !strcmp(padding, "same")) {
        same_pad(ks[0], &L->pad[0], &L->pad[2]);
        same_pad(ks[1], &L->pad[1], &L->pad[3]);
    } else if (padding && !strcmp(padding, "valid")) {
        if (ks[0] != 1 || ks[1] != 1)
            /* 'valid' shrinks the image: the output would no longer be s x the input */
            LFAIL(CASCADE_STATUS_UNSUPPORTED, "padding 'valid' with a %lldx%lld kernel",
                  (long long)ks[0], (long long)ks[1]);
    } else {
        LFAIL(CASCADE_STATUS_UNSUPPORTED, "field 'padding' '%s'", padding ? padding : "(missing)");
    }
    const tf_layer *in = &c->layers[L->inputs[0]];
    if (L->n_inputs != 1) LFAIL(CASCADE_STATUS_FORMAT, "%d inputs", L->n_inputs);
    L->in_channels = in->channels;
    return CASCADE_STATUS_OK;
}

static bool is_pixel_shuffle(const char *cls, int64_t *factor) {
    /* UpscalerJS registers PixelShuffle2x, PixelShuffle3x, PixelShuffle4x, PixelShuffle8x */
    const char *p = "PixelShuffle";
    size_t      n = strlen(p);
    if (strncmp(cls, p, n)) return false;
    char *end = NULL;
    long  v = strtol(cls + n, &end, 10);
    if (end == cls + n || strcmp(end, "x") || v < 2 || v > 16) return false;
    *factor = v;
    return true;
}

static cascade_status parse_layer(converter *c, tf_layer *L, JsonObject *lo, cascade_error *err) {
    JsonObject *cfg = obj_member(lo, "config");
    if (!cfg) LFAIL(CASCADE_STATUS_FORMAT, "no config object");
    const char *dt = str_member(cfg, "dtype");
    if (dt && strcmp(dt, "float32")) LFAIL(CASCADE_STATUS_UNSUPPORTED, "dtype '%s'", dt);

    if (!strcmp(L->cls, "InputLayer"))
        L->kind = KIND_INPUT;
    else if (!strcmp(L->cls, "Conv2D"))
        L->kind = KIND_CONV;
    else if (!strcmp(L->cls, "Activation"))
        L->kind = KIND_RELU;
    else if (!strcmp(L->cls, "Concatenate"))
        L->kind = KIND_CONCAT;
    else if (!strcmp(L->cls, "Add"))
        L->kind = KIND_ADD;
    else if (!strcmp(L->cls, "MultiplyBeta"))
        L->kind = KIND_SCALE;
    else if (!strcmp(L->cls, "UpSampling2D"))
        L->kind = KIND_UPSAMPLE;
    else if (is_pixel_shuffle(L->cls, &L->factor))
        L->kind = KIND_D2S;
    else
        LFAIL(CASCADE_STATUS_UNSUPPORTED, "layer class not supported");

    CASCADE_TRY(parse_inbound(c, L, lo, err));
    const tf_layer *in0 = L->n_inputs ? &c->layers[L->inputs[0]] : NULL;

    switch (L->kind) {
    case KIND_INPUT: {
        JsonArray *shape = arr_member(cfg, "batch_input_shape");
        int64_t    ch = 0;
        if (!shape || json_array_get_length(shape) != 4 ||
            !int_node(json_array_get_element(shape, 3), &ch) || ch < 1 || ch > 4)
            LFAIL(CASCADE_STATUS_UNSUPPORTED, "batch_input_shape is not [null, H, W, 1..4]");
        L->channels = ch;
        break;
    }
    case KIND_CONV: CASCADE_TRY(parse_conv(c, L, cfg, err)); break;
    case KIND_RELU: {
        const char *act = str_member(cfg, "activation");
        if (!act || strcmp(act, "relu"))
            LFAIL(CASCADE_STATUS_UNSUPPORTED, "activation '%s'", act ? act : "(missing)");
        if (L->n_inputs != 1) LFAIL(CASCADE_STATUS_FORMAT, "%d inputs", L->n_inputs);
        L->channels = in0->channels;
        break;
    }
    case KIND_CONCAT: {
        int64_t axis = -1;
        if (member(cfg, "axis") && !int_node(member(cfg, "axis"), &axis)) axis = 0;
        if (axis != 3 && axis != -1)
            LFAIL(CASCADE_STATUS_UNSUPPORTED, "field 'axis': only the channel axis is supported");
        L->channels = 0;
        for (int i = 0; i < L->n_inputs; i++)
            L->channels += c->layers[L->inputs[i]].channels;
        break;
    }
    case KIND_ADD:
        if (L->n_inputs < 2) LFAIL(CASCADE_STATUS_FORMAT, "%d inputs", L->n_inputs);
        for (int i = 1; i < L->n_inputs; i++)
            if (c->layers[L->inputs[i]].channels != in0->channels)
                LFAIL(CASCADE_STATUS_FORMAT, "adds %lld and %lld channels",
                      (long long)in0->channels, (long long)c->layers[L->inputs[i]].channels);
        L->channels = in0->channels;
        break;
    case KIND_SCALE: {
        /* MultiplyBeta.call hard-codes BETA = 0.2 whatever its config says; refuse a config
         * that claims another value rather than silently disagreeing with it. */
        JsonNode *b = member(cfg, "beta");
        if (b && (!JSON_NODE_HOLDS_VALUE(b) || fabs(json_node_get_double(b) - 0.2) > 1e-9))
            LFAIL(CASCADE_STATUS_UNSUPPORTED, "field 'beta' is not 0.2 (the layer ignores it)");
        if (L->n_inputs != 1) LFAIL(CASCADE_STATUS_FORMAT, "%d inputs", L->n_inputs);
        L->scale = 0.2;
        L->channels = in0->channels;
        break;
    }
    case KIND_D2S:
        if (L->n_inputs != 1) LFAIL(CASCADE_STATUS_FORMAT, "%d inputs", L->n_inputs);
        if (in0->channels % (L->factor * L->factor))
            LFAIL(CASCADE_STATUS_FORMAT, "%lld channels are not a multiple of %lld^2",
                  (long long)in0->channels, (long long)L->factor);
        L->channels = in0->channels / (L->factor * L->factor);
        break;
    case KIND_UPSAMPLE: {
        int64_t     size[2];
        const char *interp = str_member(cfg, "interpolation");
        const char *fmt = str_member(cfg, "data_format");
        if (!int_array(arr_member(cfg, "size"), size, 2) || size[0] != size[1] || size[0] < 1 ||
            size[0] > 16)
            LFAIL(CASCADE_STATUS_UNSUPPORTED, "field 'size': only equal factors 1..16");
        if (interp && strcmp(interp, "nearest"))
            LFAIL(CASCADE_STATUS_UNSUPPORTED, "field 'interpolation' '%s'", interp);
        if (fmt && strcmp(fmt, "channels_last"))
            LFAIL(CASCADE_STATUS_UNSUPPORTED, "field 'data_format' '%s'", fmt);
        if (L->n_inputs != 1) LFAIL(CASCADE_STATUS_FORMAT, "%d inputs", L->n_inputs);
        L->factor = size[0];
        L->channels = in0->channels;
        break;
    }
    }
    return CASCADE_STATUS_OK;
}

static cascade_status parse_graph(converter *c, JsonObject *root, cascade_error *err) {
    const char *format = str_member(root, "format");
    if (!format || strcmp(format, "layers-model"))
        return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                                 "%s/model.json: format '%s' (only TensorFlow.js layers-model)",
                                 c->dir, format ? format : "(missing)");
    c->generated_by = str_member(root, "generatedBy");
    c->converted_by = str_member(root, "convertedBy");
    JsonObject *topo = obj_member(root, "modelTopology");
    JsonObject *mc = obj_member(topo, "model_config");
    if (!mc) mc = topo; /* older converters put class_name/config at the top */
    const char *cls = str_member(mc, "class_name");
    JsonObject *cfg = obj_member(mc, "config");
    if (!cls || (strcmp(cls, "Functional") && strcmp(cls, "Model")) || !cfg)
        return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                                 "%s/model.json: modelTopology is not a Keras functional model "
                                 "(class '%s')",
                                 c->dir, cls ? cls : "(missing)");
    c->model_name = str_member(cfg, "name");
    JsonArray *layers = arr_member(cfg, "layers");
    guint      n = layers ? json_array_get_length(layers) : 0;
    if (n == 0 || n > MAX_LAYERS)
        return cascade_error_set(err, CASCADE_STATUS_FORMAT, "%s/model.json: %u layers", c->dir, n);
    c->layers = g_new0(tf_layer, n);
    for (guint i = 0; i < n; i++) {
        tf_layer   *L = &c->layers[i];
        JsonNode   *ln = json_array_get_element(layers, i);
        JsonObject *lo = JSON_NODE_HOLDS_OBJECT(ln) ? json_node_get_object(ln) : NULL;
        L->name = str_member(lo, "name");
        L->cls = str_member(lo, "class_name");
        if (!L->name || !L->cls || strchr(L->name, '/') || !L->name[0])
            return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                     "%s/model.json: layer %u has no valid name/class_name", c->dir,
                                     i);
        if (g_hash_table_contains(c->layer_index, L->name))
            return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                     "%s/model.json: layer name '%s' appears twice", c->dir,
                                     L->name);
        CASCADE_TRY(parse_layer(c, L, lo, err));
        g_hash_table_insert(c->layer_index, (gpointer)L->name, GINT_TO_POINTER(i + 1));
        c->n_layers = (int)i + 1;
        if (L->kind == KIND_D2S) c->has_d2s = true;
        if (L->kind == KIND_UPSAMPLE) c->has_upsample = true;
    }

    /* one input, one output */
    const char *io_key[2] = {"input_layers", "output_layers"};
    int        *io_idx[2] = {&c->input_layer, &c->output_layer};
    for (int k = 0; k < 2; k++) {
        JsonArray  *a = arr_member(cfg, io_key[k]);
        JsonNode   *e = a && json_array_get_length(a) == 1 ? json_array_get_element(a, 0) : NULL;
        JsonArray  *ea = e && JSON_NODE_HOLDS_ARRAY(e) ? json_node_get_array(e) : NULL;
        const char *nm =
            ea && json_array_get_length(ea) >= 1 ? str_node(json_array_get_element(ea, 0)) : NULL;
        gpointer idx = nm ? g_hash_table_lookup(c->layer_index, nm) : NULL;
        if (!idx)
            return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                                     "%s/model.json: '%s' must name exactly one layer", c->dir,
                                     io_key[k]);
        *io_idx[k] = GPOINTER_TO_INT(idx) - 1;
    }
    if (c->layers[c->input_layer].kind != KIND_INPUT)
        return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                 "%s/model.json: input_layers names a %s", c->dir,
                                 c->layers[c->input_layer].cls);
    for (int i = 0; i < c->n_layers; i++)
        if (c->layers[i].kind == KIND_INPUT && i != c->input_layer)
            return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                                     "%s/model.json: more than one InputLayer", c->dir);

    /* the scale is the product of the upsampling factors along the graph */
    int64_t *sc = g_new0(int64_t, c->n_layers);
    for (int i = 0; i < c->n_layers; i++) {
        const tf_layer *L = &c->layers[i];
        sc[i] = L->kind == KIND_INPUT ? 1 : sc[L->inputs[0]];
        for (int j = 1; j < L->n_inputs; j++)
            if (sc[L->inputs[j]] != sc[L->inputs[0]]) {
                g_free(sc);
                LFAIL(CASCADE_STATUS_FORMAT, "joins inputs of different resolutions");
            }
        if (L->kind == KIND_UPSAMPLE || L->kind == KIND_D2S) sc[i] *= L->factor;
        if (sc[i] > 64) {
            g_free(sc);
            LFAIL(CASCADE_STATUS_UNSUPPORTED, "upsamples more than 64x in total");
        }
    }
    c->scale = sc[c->output_layer];
    g_free(sc);
    if (c->layers[c->output_layer].channels != c->layers[c->input_layer].channels)
        return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                                 "%s/model.json: %lld input but %lld output channels", c->dir,
                                 (long long)c->layers[c->input_layer].channels,
                                 (long long)c->layers[c->output_layer].channels);
    return CASCADE_STATUS_OK;
}

/* ---- weights ---- */

static bool safe_file_name(const char *p) {
    return p && p[0] && p[0] != '.' && !strchr(p, '/') && !strchr(p, '\\');
}

static cascade_status read_group(converter *c, JsonObject *g, guint gi, cascade_error *err) {
    JsonArray *paths = arr_member(g, "paths");
    JsonArray *ws = arr_member(g, "weights");
    if (!paths || !ws)
        return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                 "%s/model.json: weightsManifest[%u] lacks paths or weights",
                                 c->dir, gi);
    GByteArray *blob = g_byte_array_new();
    g_ptr_array_add(c->blobs, blob);
    for (guint i = 0; i < json_array_get_length(paths); i++) {
        const char *p = str_node(json_array_get_element(paths, i));
        if (!safe_file_name(p))
            return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                     "%s/model.json: weightsManifest[%u].paths[%u] is not a "
                                     "plain file name",
                                     c->dir, gi, i);
        char   *path = g_build_filename(c->dir, p, NULL);
        gchar  *data = NULL;
        gsize   len = 0;
        GError *ge = NULL;
        if (!g_file_get_contents(path, &data, &len, &ge)) {
            cascade_error_set(err, CASCADE_STATUS_IO, "%s: %s", path, cascade_io_gerror_reason(ge));
            g_error_free(ge);
            g_free(path);
            return CASCADE_STATUS_IO;
        }
        g_free(path);
        if ((uint64_t)blob->len + len > MAX_GROUP_BYTES) {
            g_free(data);
            return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                                     "%s: weight group %u exceeds 4 GiB", c->dir, gi);
        }
        g_byte_array_append(blob, (const guint8 *)data, (guint)len);
        g_free(data);
    }

    uint64_t off = 0;
    guint    n = json_array_get_length(ws);
    c->weights = g_renew(tf_weight, c->weights, c->n_weights + n);
    for (guint i = 0; i < n; i++) {
        tf_weight  *w = &c->weights[c->n_weights];
        JsonNode   *wn = json_array_get_element(ws, i);
        JsonObject *wo = JSON_NODE_HOLDS_OBJECT(wn) ? json_node_get_object(wn) : NULL;
        memset(w, 0, sizeof *w);
        w->name = str_member(wo, "name");
        const char *dt = str_member(wo, "dtype");
        JsonArray  *shape = arr_member(wo, "shape");
        if (!w->name || !shape)
            return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                     "%s/model.json: weightsManifest[%u].weights[%u] lacks name "
                                     "or shape",
                                     c->dir, gi, i);
        if (!dt || strcmp(dt, "float32") || member(wo, "quantization"))
            return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                                     "%s/model.json: weight '%s': dtype '%s'%s (only unquantized "
                                     "float32)",
                                     c->dir, w->name, dt ? dt : "(missing)",
                                     member(wo, "quantization") ? " quantized" : "");
        guint nd = json_array_get_length(shape);
        if (nd > CASCADE_MAX_DIMS || !int_array(shape, w->shape, nd))
            return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                     "%s/model.json: weight '%s': invalid shape", c->dir, w->name);
        w->ndim = (int32_t)nd;
        int64_t numel = 0;
        if (!cascade_shape_numel(w->ndim, w->shape, &numel) ||
            numel > (int64_t)(MAX_GROUP_BYTES / 4) || off + (uint64_t)numel * 4 > blob->len)
            return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                     "%s: weight '%s' ends past the %u bytes of its shards", c->dir,
                                     w->name, blob->len);
        w->data = (const float *)(blob->data + off);
        off += (uint64_t)numel * 4;
        if (g_hash_table_contains(c->weight_index, w->name))
            return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                     "%s/model.json: weight '%s' listed twice", c->dir, w->name);
        g_hash_table_insert(c->weight_index, (gpointer)w->name, w);
        c->n_weights++;
    }
    if (off != blob->len)
        return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                 "%s: weight group %u: shards hold %u bytes, manifest %llu", c->dir,
                                 gi, blob->len, (unsigned long long)off);
    return CASCADE_STATUS_OK;
}

static cascade_status read_weights(converter *c, JsonObject *root, cascade_error *err) {
    JsonArray *man = arr_member(root, "weightsManifest");
    if (!man)
        return cascade_error_set(err, CASCADE_STATUS_FORMAT, "%s/model.json: no weightsManifest",
                                 c->dir);
    for (guint i = 0; i < json_array_get_length(man); i++) {
        JsonNode *g = json_array_get_element(man, i);
        if (!JSON_NODE_HOLDS_OBJECT(g))
            return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                     "%s/model.json: weightsManifest[%u] is not an object", c->dir,
                                     i);
        CASCADE_TRY(read_group(c, json_node_get_object(g), i, err));
    }
    return CASCADE_STATUS_OK;
}

/* The weight name, checked against the expected shape. */
static cascade_status take_weight(converter *c, const tf_layer *L, const char *what, int32_t ndim,
                                  const int64_t *shape, const tf_weight **out, cascade_error *err) {
    char name[512];
    snprintf(name, sizeof name, "%s/%s", L->name, what);
    tf_weight *w = g_hash_table_lookup(c->weight_index, name);
    char       a[96], b[96];
    if (!w) LFAIL(CASCADE_STATUS_FORMAT, "weight '%s' missing from the manifest", name);
    bool same = w->ndim == ndim;
    for (int i = 0; same && i < ndim; i++)
        same = w->shape[i] == shape[i];
    if (!same)
        LFAIL(CASCADE_STATUS_FORMAT, "weight '%s' is %s, expected %s", name,
              cascade_shape_format(w->ndim, w->shape, a, sizeof a),
              cascade_shape_format(ndim, shape, b, sizeof b));
    w->used = true;
    *out = w;
    return CASCADE_STATUS_OK;
}

/* Keras HWIO [kh, kw, cin, cout] -> OIHW [cout, cin, kh, kw]. */
static cascade_status conv_tensors(converter *c, const tf_layer *L, cascade_tensor **wt,
                                   cascade_tensor **bt, cascade_error *err) {
    const tf_weight *k = NULL, *b = NULL;
    int64_t          kshape[4] = {L->kh, L->kw, L->in_channels, L->channels};
    CASCADE_TRY(take_weight(c, L, "kernel", 4, kshape, &k, err));
    if (L->bias) CASCADE_TRY(take_weight(c, L, "bias", 1, &L->channels, &b, err));
    int64_t oshape[4] = {L->channels, L->in_channels, L->kh, L->kw};
    CASCADE_TRY(cascade_tensor_new(CASCADE_DTYPE_F32, 4, oshape, wt, err));
    float  *dst = (*wt)->data;
    int64_t KH = L->kh, KW = L->kw, CI = L->in_channels, CO = L->channels;
    for (int64_t i = 0; i < KH; i++)
        for (int64_t j = 0; j < KW; j++)
            for (int64_t ci = 0; ci < CI; ci++)
                for (int64_t co = 0; co < CO; co++) {
                    float v;
                    memcpy(&v, k->data + ((i * KW + j) * CI + ci) * CO + co, sizeof v);
                    dst[((co * CI + ci) * KH + i) * KW + j] = v;
                }
    if (b) {
        cascade_status st = cascade_tensor_new(CASCADE_DTYPE_F32, 1, &L->channels, bt, err);
        if (st != CASCADE_STATUS_OK) return st;
        memcpy((*bt)->data, b->data, (size_t)L->channels * 4);
    }
    return CASCADE_STATUS_OK;
}

/* ---- output ---- */

static void add_int_array(JsonBuilder *b, const char *key, const int64_t *v, int n) {
    json_builder_set_member_name(b, key);
    json_builder_begin_array(b);
    for (int i = 0; i < n; i++)
        json_builder_add_int_value(b, v[i]);
    json_builder_end_array(b);
}

static char *config_json(const converter *c, double value_range, const char *sha256) {
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "_class_name");
    json_builder_add_string_value(b, "UpscalerJSNetwork");
    json_builder_set_member_name(b, "architecture");
    json_builder_add_string_value(b, c->has_d2s ? "rrdn" : c->has_upsample ? "rdn" : "other");
    json_builder_set_member_name(b, "scale");
    json_builder_add_int_value(b, c->scale);
    json_builder_set_member_name(b, "channels");
    json_builder_add_int_value(b, c->layers[c->input_layer].channels);
    json_builder_set_member_name(b, "value_range");
    json_builder_add_double_value(b, value_range);
    json_builder_set_member_name(b, "input");
    json_builder_add_string_value(b, c->layers[c->input_layer].name);
    json_builder_set_member_name(b, "output");
    json_builder_add_string_value(b, c->layers[c->output_layer].name);
    json_builder_set_member_name(b, "source");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "format");
    json_builder_add_string_value(b, "tfjs layers-model");
    json_builder_set_member_name(b, "model_json_sha256");
    json_builder_add_string_value(b, sha256);
    const char *keys[3] = {"generated_by", "converted_by", "model_name"};
    const char *vals[3] = {c->generated_by, c->converted_by, c->model_name};
    for (int i = 0; i < 3; i++)
        if (vals[i]) {
            json_builder_set_member_name(b, keys[i]);
            json_builder_add_string_value(b, vals[i]);
        }
    json_builder_end_object(b);

    json_builder_set_member_name(b, "layers");
    json_builder_begin_array(b);
    for (int i = 0; i < c->n_layers; i++) {
        const tf_layer *L = &c->layers[i];
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "name");
        json_builder_add_string_value(b, L->name);
        json_builder_set_member_name(b, "op");
        json_builder_add_string_value(b, kind_op[L->kind]);
        json_builder_set_member_name(b, "inputs");
        json_builder_begin_array(b);
        for (int j = 0; j < L->n_inputs; j++)
            json_builder_add_string_value(b, c->layers[L->inputs[j]].name);
        json_builder_end_array(b);
        json_builder_set_member_name(b, "channels");
        json_builder_add_int_value(b, L->channels);
        switch (L->kind) {
        case KIND_CONV: {
            int64_t k[2] = {L->kh, L->kw};
            json_builder_set_member_name(b, "in_channels");
            json_builder_add_int_value(b, L->in_channels);
            add_int_array(b, "kernel", k, 2);
            add_int_array(b, "pad", L->pad, 4);
            json_builder_set_member_name(b, "bias");
            json_builder_add_boolean_value(b, L->bias);
            json_builder_set_member_name(b, "activation");
            json_builder_add_string_value(b, L->relu ? "relu" : "linear");
            break;
        }
        case KIND_SCALE:
            json_builder_set_member_name(b, "factor");
            json_builder_add_double_value(b, L->scale);
            break;
        case KIND_D2S:
        case KIND_UPSAMPLE:
            json_builder_set_member_name(b, "block");
            json_builder_add_int_value(b, L->factor);
            break;
        default: break;
        }
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);

    JsonGenerator *gen = json_generator_new();
    JsonNode      *root = json_builder_get_root(b);
    json_generator_set_root(gen, root);
    json_generator_set_pretty(gen, TRUE);
    json_generator_set_indent(gen, 1);
    char *text = json_generator_to_data(gen, NULL);
    json_node_unref(root);
    g_object_unref(gen);
    g_object_unref(b);
    return text;
}

static cascade_status write_outputs(converter *c, const char *out_dir, cascade_error *err) {
    double vr = c->opt && c->opt->value_range > 0 ? c->opt->value_range : c->has_d2s ? 1.0 : 255.0;
    char  *sha =
        g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)c->json_text, c->json_len);
    char *cfg_text = config_json(c, vr, sha);
    g_free(sha);

    /* tensors, in layer order */
    GPtrArray     *names = g_ptr_array_new_with_free_func(g_free);
    GPtrArray     *tensors = g_ptr_array_new_with_free_func((GDestroyNotify)cascade_tensor_free);
    cascade_status st = CASCADE_STATUS_OK;
    for (int i = 0; i < c->n_layers && st == CASCADE_STATUS_OK; i++) {
        const tf_layer *L = &c->layers[i];
        if (L->kind != KIND_CONV) continue;
        cascade_tensor *w = NULL, *bt = NULL;
        st = conv_tensors(c, L, &w, &bt, err);
        if (w) {
            g_ptr_array_add(names, g_strdup_printf("%s.weight", L->name));
            g_ptr_array_add(tensors, w);
        }
        if (bt) {
            g_ptr_array_add(names, g_strdup_printf("%s.bias", L->name));
            g_ptr_array_add(tensors, bt);
        }
        if (c->opt && c->opt->verbose && st == CASCADE_STATUS_OK)
            fprintf(stderr, "  %-24s conv %lldx%lld %lld->%lld\n", L->name, (long long)L->kh,
                    (long long)L->kw, (long long)L->in_channels, (long long)L->channels);
    }
    for (size_t i = 0; i < c->n_weights && st == CASCADE_STATUS_OK; i++)
        if (!c->weights[i].used)
            st = cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                   "%s/model.json: weight '%s' belongs to no converted layer",
                                   c->dir, c->weights[i].name);

    char *st_path = g_build_filename(out_dir, "model.safetensors", NULL);
    char *cfg_path = g_build_filename(out_dir, "config.json", NULL);
    char *st_tmp = g_strconcat(st_path, ".tmp", NULL);
    char *cfg_tmp = g_strconcat(cfg_path, ".tmp", NULL);
    if (st == CASCADE_STATUS_OK && g_mkdir_with_parents(out_dir, 0755) != 0)
        st = cascade_error_set(err, CASCADE_STATUS_IO, "%s: %s", out_dir, cascade_io_errno_reason(errno));
    if (st == CASCADE_STATUS_OK) {
        const char *meta[] = {"format", "pt", "source", "tfjs layers-model", NULL};
        st = cascade_safetensors_write(st_tmp, names->len, (const char *const *)names->pdata,
                                       (const cascade_tensor *const *)tensors->pdata, meta, err);
    }
    GError *ge = NULL;
    if (st == CASCADE_STATUS_OK && !g_file_set_contents(cfg_tmp, cfg_text, -1, &ge)) {
        st = cascade_error_set(err, CASCADE_STATUS_IO, "%s: %s", cfg_tmp, cascade_io_gerror_reason(ge));
        g_error_free(ge);
    }
    if (st == CASCADE_STATUS_OK &&
        (g_rename(st_tmp, st_path) != 0 || g_rename(cfg_tmp, cfg_path) != 0))
        st = cascade_error_set(err, CASCADE_STATUS_IO, "%s: %s", out_dir, cascade_io_errno_reason(errno));
    if (st != CASCADE_STATUS_OK) {
        g_remove(st_tmp);
        g_remove(cfg_tmp);
    }
    g_free(st_tmp), g_free(cfg_tmp), g_free(st_path), g_free(cfg_path);
    g_ptr_array_free(tensors, TRUE);
    g_ptr_array_free(names, TRUE);
    g_free(cfg_text);
    return st;
}

cascade_status cascade_tfjs_convert(const char *model_dir, const char *out_dir,
                                    const cascade_tfjs_convert_options *opt, cascade_error *err) {
    if (!model_dir || !out_dir)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "tfjs convert: no directory");
    converter c = {.dir = model_dir, .opt = opt};
    c.layer_index = g_hash_table_new(g_str_hash, g_str_equal);
    c.weight_index = g_hash_table_new(g_str_hash, g_str_equal);
    c.blobs = g_ptr_array_new_with_free_func((GDestroyNotify)g_byte_array_unref);
    cascade_status st = CASCADE_STATUS_OK;

    char     *path = g_build_filename(model_dir, "model.json", NULL);
    GError   *ge = NULL;
    JsonNode *root_node = NULL;
    if (!g_file_get_contents(path, &c.json_text, &c.json_len, &ge)) {
        st = cascade_error_set(err, CASCADE_STATUS_IO, "%s: %s", path, cascade_io_gerror_reason(ge));
        g_clear_error(&ge);
    } else if (c.json_len > MAX_JSON_BYTES) {
        st = cascade_error_set(err, CASCADE_STATUS_FORMAT, "%s: larger than 64 MiB", path);
    } else {
        st = cascade_io_json_parse(c.json_text, c.json_len, path, "model.json",
                                   CASCADE_IO_JSON_PY_INFINITY, &c.parser, &root_node, err);
    }
    JsonObject *root = st == CASCADE_STATUS_OK ? json_node_get_object(root_node) : NULL;
    if (st == CASCADE_STATUS_OK) st = parse_graph(&c, root, err);
    if (st == CASCADE_STATUS_OK) st = read_weights(&c, root, err);
    if (st == CASCADE_STATUS_OK) st = write_outputs(&c, out_dir, err);

    g_free(path);
    g_free(c.weights);
    g_free(c.layers);
    g_ptr_array_free(c.blobs, TRUE);
    g_hash_table_destroy(c.weight_index);
    g_hash_table_destroy(c.layer_index);
    if (c.parser) g_object_unref(c.parser);
    g_free(c.json_text);
    return st;
}
