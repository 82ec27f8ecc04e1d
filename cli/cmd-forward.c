/* cascade forward --component DIR --inputs IN.safetensors --outputs OUT.safetensors
 * Runs one model component on named tensors (the names of the golden cases' io files). */
#include <getopt.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cascade.h"
#include "cascade/backend.h"
#include "cascade/clip-text.h"
#include "cascade/config.h"
#include "cascade/safetensors.h"
#include "cascade/t5.h"
#include "cascade/unet.h"
#include "cascade/weights.h"
#include "cascade/backend-name.h"
#include "forward.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: cascade forward --component DIR --inputs IN.safetensors --outputs OUT.safetensors\n"
            "                       [--debug] [--threads N]\n\n"
            "Runs one model component (config.json + safetensors weights in DIR) on the named\n"
            "input tensors of IN and writes its named outputs to OUT.\n\n"
            "Components and their tensors:\n"
            "  T5EncoderModel        in: input_ids (B, N) ints, [attention_mask (B, N)]\n"
            "                        out: last_hidden_state (B, N, d_model)\n"
            "                             [--debug: hidden_states.<i>, the input of block i]\n"
            "  CLIPTextModel         in: input_ids (B, N) ints, [attention_mask (B, N)]\n"
            "                        out: last_hidden_state (B, N, D), pooler_output (B, D),\n"
            "                             [CLIPTextModelWithProjection: text_embeds (B, proj)]\n"
            "                             [--debug: hidden_states.<i>, the output of layer i]\n"
            "  UNet2DConditionModel  in: sample (B, C, H, W), timestep (B), encoder_hidden_states\n"
            "                        (B, N, D), [encoder_attention_mask (B, N)], [class_labels]\n"
            "                        out: out_sample [--debug: hook/<module> intermediates]\n\n"
            "  -c, --component DIR   the component directory\n"
            "  -i, --inputs FILE     input tensors\n"
            "  -o, --outputs FILE    where to write the outputs\n"
            "  -d, --debug           also write intermediate tensors\n"
            "  -b, --backend NAME    cpu (default), vulkan, vulkan-fp16\n"
            "  -t, --threads N       CPU threads (default: all cores)\n"
            "  -h, --help            this help\n");
}

/* The class a component's config.json declares: diffusers' "_class_name", else the first of
 * transformers' "architectures". g_free() it. */
char *forward_component_class(const char *dir, cascade_error *err) {
    char           *path = g_build_filename(dir, "config.json", NULL);
    cascade_config *cfg = NULL;
    char           *cls = NULL;
    const char     *name = NULL;
    const char     *arch[16] = {NULL};
    size_t          n_arch = 0;
    cascade_error   probe;
    cascade_error_init(&probe);
    /* the strict reader (depth cap, unique keys) as for every JSON; wrong types read as absent */
    if (cascade_config_load(path, &cfg, err) == CASCADE_STATUS_OK) {
        if (cascade_config_string(cfg, "_class_name", NULL, &name, &probe) == CASCADE_STATUS_OK &&
            name) {
            cls = g_strdup(name);
        } else if (cascade_config_string_array(cfg, "architectures", arch, 16, &n_arch, &probe) ==
                       CASCADE_STATUS_OK &&
                   n_arch > 0 && arch[0]) {
            cls = g_strdup(arch[0]);
        }
        if (!cls)
            cascade_error_set(err, CASCADE_STATUS_FORMAT,
                              "%s: neither '_class_name' nor 'architectures' names the model class",
                              path);
    }
    cascade_config_free(cfg);
    g_free(path);
    return cls;
}

static void t5_free(void *m) { cascade_t5_free(m); }
static void clip_text_free(void *m) { cascade_clip_text_free(m); }

/* input_ids (B, N) as I32 and, when rq has one, attention_mask of the same shape as F32
 * (*mask stays NULL otherwise). */
static cascade_status load_ids_mask(const forward_request *rq, cascade_tensor **ids,
                                    cascade_tensor **mask, cascade_error *err) {
    CASCADE_TRY(cascade_safetensors_load(rq->inputs, "input_ids", CASCADE_DTYPE_I32, ids, err));
    if ((*ids)->ndim != 2)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "%s: input_ids must be (batch, seq)", rq->inputs_path);
    if (!cascade_safetensors_find(rq->inputs, "attention_mask")) return CASCADE_STATUS_OK;
    CASCADE_TRY(cascade_safetensors_load(rq->inputs, "attention_mask", CASCADE_DTYPE_F32, mask, err));
    if ((*mask)->ndim != 2 || (*mask)->shape[0] != (*ids)->shape[0] ||
        (*mask)->shape[1] != (*ids)->shape[1])
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "%s: attention_mask must have input_ids' shape", rq->inputs_path);
    return CASCADE_STATUS_OK;
}

static cascade_status prepare_t5(const forward_request *rq, forward_session *s, cascade_error *err) {
    cascade_tensor *ids = NULL, *mask = NULL;
    cascade_status  st;
    if ((st = load_ids_mask(rq, &ids, &mask, err))) goto done;
    if (!mask) {
        if ((st = cascade_tensor_new(CASCADE_DTYPE_F32, 2, ids->shape, &mask, err))) goto done;
        for (int64_t i = 0; i < cascade_tensor_numel(mask); i++) ((float *)mask->data)[i] = 1.0f;
    }
    cascade_t5 *t5 = NULL;
    if ((st = cascade_t5_load(rq->component_dir, CASCADE_DTYPE_F32, &t5, err))) goto done;
    s->model = t5;
    s->model_free = t5_free;
    if ((st = cascade_graph_new(&s->graph, err))) goto done;
    if ((st = cascade_t5_build(t5, s->graph, ids->shape[0], ids->shape[1], rq->debug, err))) goto done;
    if ((st = cascade_plan_new(rq->backend, s->graph, &s->plan, err))) goto done;
    if ((st = cascade_plan_write_named(s->plan, "input_ids", ids->data, cascade_tensor_nbytes(ids), err)))
        goto done;
    st = cascade_plan_write_named(s->plan, "attention_mask", mask->data, cascade_tensor_nbytes(mask), err);
done:
    cascade_tensor_free(ids);
    cascade_tensor_free(mask);
    return st;
}

/* CLIPTextModel: last_hidden_state, pooler_output (and text_embeds with a projection);
 * the causal mask always, attention_mask when the inputs hold one. */
static cascade_status prepare_clip_text(const forward_request *rq, forward_session *s,
                                        cascade_error *err) {
    cascade_tensor    *ids = NULL, *mask = NULL;
    cascade_clip_text *m = NULL;
    int32_t           *rows = NULL;
    cascade_status     st;
    if ((st = load_ids_mask(rq, &ids, &mask, err))) goto done;
    if ((st = cascade_clip_text_load(rq->component_dir, CASCADE_DTYPE_F32, &m, err))) goto done;
    s->model = m;
    s->model_free = clip_text_free;
    cascade_clip_text_build_options o;
    cascade_clip_text_build_options_init(&o, m);
    o.batch = ids->shape[0];
    o.seq = ids->shape[1];
    o.attention_mask = mask != NULL;
    o.pooled = true;
    o.debug = rq->debug;
    if ((st = cascade_graph_new(&s->graph, err)) ||
        (st = cascade_clip_text_build_ex(m, s->graph, &o, err)) ||
        (st = cascade_plan_new(rq->backend, s->graph, &s->plan, err)))
        goto done;
    if (!(rows = malloc(sizeof *rows * (size_t)o.batch))) {
        st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    cascade_clip_text_pooled_rows(ids->data, o.batch, o.seq, rows);
    if ((st = cascade_plan_write_named(s->plan, "input_ids", ids->data, cascade_tensor_nbytes(ids), err)) ||
        (st = cascade_plan_write_named(s->plan, "pooled_rows", rows, sizeof *rows * (size_t)o.batch, err)))
        goto done;
    if (mask)
        st = cascade_plan_write_named(s->plan, "attention_mask", mask->data, cascade_tensor_nbytes(mask), err);
done:
    free(rows);
    cascade_tensor_free(ids);
    cascade_tensor_free(mask);
    return st;
}

/* A U-Net and the weights its graph borrows. */
typedef struct unet_model {
    cascade_unet    *unet;
    cascade_weights *weights;
} unet_model;

static void unet_model_free(void *m) {
    unet_model *um = m;
    if (!um) return;
    cascade_unet_free(um->unet);
    cascade_weights_free(um->weights);
    free(um);
}

/* The entry of input name, or NULL (an error when required). */
static const cascade_st_entry *find_input(const forward_request *rq, const char *name,
                                          bool required, cascade_status *st, cascade_error *err) {
    const cascade_st_entry *e = cascade_safetensors_find(rq->inputs, name);
    if (!e && required)
        *st = cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "%s: input '%s' is missing",
                                rq->inputs_path, name);
    return e;
}

static cascade_status prepare_unet(const forward_request *rq, forward_session *s,
                                   cascade_error *err) {
    static const char *const names[] = {CASCADE_UNET_SAMPLE, CASCADE_UNET_TIMESTEP,
                                        CASCADE_UNET_ENCODER_HIDDEN_STATES,
                                        CASCADE_UNET_ENCODER_ATTENTION_MASK,
                                        CASCADE_UNET_CLASS_LABELS};
    const cascade_st_entry *in[5] = {0};
    unet_model             *um = calloc(1, sizeof *um);
    char                   *cfg = g_build_filename(rq->component_dir, "config.json", NULL);
    cascade_status          st = um ? CASCADE_STATUS_OK
                                    : cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "out of memory");
    for (int i = 0; i < 5 && !st; i++) in[i] = find_input(rq, names[i], i < 3, &st, err);
    if (st) goto done;
    s->model = um;
    s->model_free = unet_model_free;
    if ((st = cascade_unet_new_from_file(cfg, &um->unet, err)) ||
        (st = cascade_weights_open_dir(rq->component_dir, CASCADE_DTYPE_F32, &um->weights, err)))
        goto done;
    if (in[0]->ndim != 4 || in[2]->ndim != 3) {
        st = cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                               "%s: sample must be (B, C, H, W) and encoder_hidden_states (B, N, D)",
                               rq->inputs_path);
        goto done;
    }
    cascade_unet_build_options o;
    cascade_unet_build_options_init(&o, um->unet);
    o.batch = in[0]->shape[0];
    o.height = in[0]->shape[2];
    o.width = in[0]->shape[3];
    o.seq_len = in[2]->shape[1];
    o.encoder_attention_mask = in[3] != NULL;
    o.hooks = rq->debug;
    if ((st = cascade_graph_new(&s->graph, err)) ||
        (st = cascade_unet_build(um->unet, um->weights, s->graph, &o, err)) ||
        (st = cascade_weights_check_all_used(um->weights, err)) ||
        (st = cascade_plan_new(rq->backend, s->graph, &s->plan, err)))
        goto done;
    /* each input converted only now, and freed once written: not held beside the plan */
    for (int i = 0; i < 5 && !st; i++) {
        if (!in[i] || cascade_graph_find(s->graph, names[i]) == CASCADE_NO_VALUE) continue;
        cascade_tensor *t = NULL;
        st = cascade_safetensors_load(rq->inputs, names[i], CASCADE_DTYPE_F32, &t, err);
        if (!st)
            st = cascade_plan_write_named(s->plan, names[i], t->data, cascade_tensor_nbytes(t), err);
        cascade_tensor_free(t);
    }
    if (!st && cascade_graph_find(s->graph, CASCADE_UNET_CLASS_LABELS) != CASCADE_NO_VALUE && !in[4])
        st = cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                               "%s: this U-Net needs the input 'class_labels'", rq->inputs_path);
done:
    if (um && !s->model) unet_model_free(um);
    g_free(cfg);
    return st;
}

static const forward_component components[] = {
    {"UNet2DConditionModel", prepare_unet},
    {"T5EncoderModel", prepare_t5},
    {"T5ForConditionalGeneration", prepare_t5},
    {"CLIPTextModel", prepare_clip_text},
    {"CLIPTextModelWithProjection", prepare_clip_text},
};

const forward_component *forward_find_component(const char *dir, cascade_error *err) {
    char *cls = forward_component_class(dir, err);
    if (!cls) return NULL;
    const forward_component *fc = NULL;
    for (size_t i = 0; i < G_N_ELEMENTS(components) && !fc; i++)
        if (!strcmp(cls, components[i].class_name)) fc = &components[i];
    if (!fc)
        cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED, "%s: model class '%s' is not supported",
                          dir, cls);
    g_free(cls);
    return fc;
}

void forward_session_clear(forward_session *s) {
    cascade_plan_free(s->plan);
    cascade_graph_free(s->graph);
    if (s->model_free) s->model_free(s->model);
    s->plan = NULL;
    s->graph = NULL;
    s->model = NULL;
    s->model_free = NULL;
}

cascade_status forward_write_outputs(const forward_request *rq, const cascade_graph *g,
                                     cascade_plan *p, cascade_error *err) {
    GPtrArray     *names = g_ptr_array_new();
    GPtrArray     *tensors = g_ptr_array_new_with_free_func((GDestroyNotify)cascade_tensor_free);
    cascade_status st = CASCADE_STATUS_OK;
    for (int32_t i = 0; i < cascade_graph_n_nodes(g) && st == CASCADE_STATUS_OK; i++) {
        const cascade_node *n = cascade_graph_node(g, i);
        if (!n->is_output || n->op == CASCADE_OP_INPUT) continue;
        cascade_tensor *t = NULL;
        st = cascade_tensor_new(CASCADE_DTYPE_F32, n->ndim, n->shape, &t, err);
        if (st == CASCADE_STATUS_OK) {
            g_ptr_array_add(tensors, t);
            g_ptr_array_add(names, (gpointer)n->name);
            st = cascade_plan_read(p, i, t->data, cascade_tensor_nbytes(t), err);
        }
    }
    if (st == CASCADE_STATUS_OK)
        st = cascade_safetensors_write(rq->outputs_path, names->len, (const char *const *)names->pdata,
                                       (const cascade_tensor *const *)tensors->pdata, NULL, err);
    g_ptr_array_free(names, TRUE);
    g_ptr_array_free(tensors, TRUE);
    return st;
}

int cmd_forward(int argc, char **argv) {
    static const struct option opts[] = {{"component", required_argument, NULL, 'c'},
                                         {"inputs", required_argument, NULL, 'i'},
                                         {"outputs", required_argument, NULL, 'o'},
                                         {"debug", no_argument, NULL, 'd'},
                                         {"threads", required_argument, NULL, 't'},
                                         {"backend", required_argument, NULL, 'b'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0}};
    forward_request rq = {0};
    long            threads = 0;
    const char     *backend = "cpu";
    int             c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:i:o:dt:b:h", opts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 'c': rq.component_dir = optarg; break;
        case 'i': rq.inputs_path = optarg; break;
        case 'o': rq.outputs_path = optarg; break;
        case 'd': rq.debug = true; break;
        case 'b': backend = optarg; break;
        case 't':
            threads = strtol(optarg, &end, 10);
            if (*end || threads < 0 || threads > 1024)
                return cli_failf("forward", "--threads must be 0..1024, got '%s'", optarg);
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!rq.component_dir || !rq.inputs_path || !rq.outputs_path || optind != argc) {
        usage(stderr);
        return 2;
    }
    cascade_error       err;
    cascade_safetensors *in = NULL;
    cascade_backend     *be = NULL;
    int                  rc = 0;
    cascade_error_init(&err);
    forward_session          sess = {0};
    const forward_component *fc = forward_find_component(rq.component_dir, &err);
    if (!fc || cascade_safetensors_open(rq.inputs_path, &in, &err) ||
        cascade_backend_new_by_name(backend, (int)threads, &be, &err)) {
        rc = cli_fail("forward", &err);
    } else {
        rq.inputs = in;
        rq.backend = be;
        if (fc->prepare(&rq, &sess, &err) || cascade_plan_run(sess.plan, NULL, &err) ||
            forward_write_outputs(&rq, sess.graph, sess.plan, &err))
            rc = cli_fail("forward", &err);
    }
    forward_session_clear(&sess);
    cascade_backend_free(be);
    cascade_safetensors_close(in);
    return rc;
}
