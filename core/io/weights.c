/* The weights of one model component: one safetensors file or the shards of an index,
 * merged into one name-sorted table. Tensors are converted to the requested dtype on first
 * use and cached; a tensor already in that dtype and suitably aligned in the mapping is
 * used in place, so fp32 checkpoints on the CPU backend cost no extra memory. */
#include "cascade/weights.h"

#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "cascade/safetensors.h"
#include "io-json.h"
#include "io-reason.h"
#include "runtime/map-guard.h"

typedef struct weight {
    const char             *name; /* owned by the safetensors entry */
    size_t                  file;
    const cascade_st_entry *e;
    bool                    used;
    cascade_tensor         *tensor; /* converted (or view), created on first get */
    bool                    converted; /* tensor is a copy, not a view of the mapping */
} weight;

struct cascade_weights {
    char                 *label; /* the directory, file or index named in messages */
    cascade_dtype         dtype;
    cascade_safetensors **files;
    size_t                n_files;
    weight               *w; /* sorted by name */
    size_t                n;
    size_t                n_materialised; /* weights with a tensor */
};

static const char *const pickled_ext[] = {".bin", ".ckpt", ".pth", ".pt", NULL};

static bool has_suffix(const char *s, const char *suffix) {
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

static bool is_pickled(const char *name) {
    for (size_t i = 0; pickled_ext[i]; i++)
        if (has_suffix(name, pickled_ext[i])) return true;
    return false;
}

static cascade_status refuse_pickle(const char *where, const char *file, cascade_error *err) {
    return cascade_error_set(
        err, CASCADE_STATUS_UNSUPPORTED,
        "%s: '%s' is a pickled checkpoint, which is not loaded because unpickling runs "
        "arbitrary code; convert it to safetensors, e.g. in Python with diffusers/transformers: "
        "Model.from_pretrained(DIR).save_pretrained(OUT, safe_serialization=True), or "
        "safetensors.torch.save_file(torch.load(FILE), 'model.safetensors')",
        where, file);
}

static int cmp_weight(const void *a, const void *b) {
    return strcmp(((const weight *)a)->name, ((const weight *)b)->name);
}

void cascade_weights_free(cascade_weights *w) {
    if (!w) return;
    for (size_t i = 0; i < w->n; i++) cascade_tensor_free(w->w[i].tensor);
    g_free(w->w);
    for (size_t i = 0; i < w->n_files; i++) cascade_safetensors_close(w->files[i]);
    g_free(w->files);
    g_free(w->label);
    g_free(w);
}

/* Builds the merged, sorted table over w->files; names must be unique across shards. */
static cascade_status build_table(cascade_weights *w, cascade_error *err) {
    size_t total = 0;
    for (size_t f = 0; f < w->n_files; f++) total += cascade_safetensors_count(w->files[f]);
    w->w = g_new0(weight, total + 1);
    for (size_t f = 0; f < w->n_files; f++) {
        for (size_t i = 0; i < cascade_safetensors_count(w->files[f]); i++) {
            const cascade_st_entry *e = cascade_safetensors_entry(w->files[f], i);
            w->w[w->n++] = (weight){.name = e->name, .file = f, .e = e};
        }
    }
    qsort(w->w, w->n, sizeof *w->w, cmp_weight);
    for (size_t i = 1; i < w->n; i++) {
        if (strcmp(w->w[i - 1].name, w->w[i].name) == 0)
            return cascade_error_set(
                err, CASCADE_STATUS_FORMAT, "%s: tensor '%s' appears in both %s and %s", w->label,
                w->w[i].name, cascade_safetensors_path(w->files[w->w[i - 1].file]),
                cascade_safetensors_path(w->files[w->w[i].file]));
    }
    return CASCADE_STATUS_OK;
}

static weight *find(const cascade_weights *w, const char *name) {
    if (!w || !name) return NULL;
    weight key = {.name = name};
    return bsearch(&key, w->w, w->n, sizeof key, cmp_weight);
}

/* A shard name from an index must be a plain file name in the same directory. */
static bool plain_file_name(const char *s) {
    return s[0] && !strchr(s, '/') && !strchr(s, '\\') && strcmp(s, ".") && strcmp(s, "..");
}

static cascade_status open_index(cascade_weights *w, const char *index_path, cascade_error *err) {
    cascade_status st = CASCADE_STATUS_OK;
    gchar         *text = NULL, *dir = NULL;
    gsize          len = 0;
    GError        *gerr = NULL;
    JsonParser    *parser = NULL;
    JsonNode      *root = NULL;
    GList         *members = NULL;
    GPtrArray     *shards = g_ptr_array_new(); /* unique shard names, borrowed from the tree */

    if (!g_file_get_contents(index_path, &text, &len, &gerr)) {
        st = cascade_error_set(err, CASCADE_STATUS_IO, "%s: cannot read: %s", index_path,
                               cascade_io_gerror_reason(gerr));
        goto fail;
    }
    st = cascade_io_json_parse(text, len, index_path, "index", 0, &parser, &root, err);
    if (st != CASCADE_STATUS_OK) goto fail;
    JsonNode *map = json_object_get_member(json_node_get_object(root), "weight_map");
    if (!map || !JSON_NODE_HOLDS_OBJECT(map)) {
        st = cascade_error_set(err, CASCADE_STATUS_FORMAT,
                               "%s: field 'weight_map' must be an object, got %s", index_path,
                               cascade_io_json_kind(map));
        goto fail;
    }
    JsonObject *mo = json_node_get_object(map);
    members = json_object_get_members(mo);
    for (GList *l = members; l; l = l->next) {
        JsonNode *v = json_object_get_member(mo, l->data);
        if (!JSON_NODE_HOLDS_VALUE(v) || json_node_get_value_type(v) != G_TYPE_STRING ||
            !plain_file_name(json_node_get_string(v))) {
            st = cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                   "%s: weight_map entry '%s' must name a file in the same "
                                   "directory",
                                   index_path, (const char *)l->data);
            goto fail;
        }
        const char *shard = json_node_get_string(v);
        if (is_pickled(shard)) {
            st = refuse_pickle(index_path, shard, err);
            goto fail;
        }
        bool seen = false;
        for (guint k = 0; k < shards->len && !seen; k++)
            seen = strcmp(g_ptr_array_index(shards, k), shard) == 0;
        if (!seen) g_ptr_array_add(shards, (gpointer)shard);
    }
    if (shards->len == 0) {
        st = cascade_error_set(err, CASCADE_STATUS_FORMAT, "%s: weight_map lists no tensors",
                               index_path);
        goto fail;
    }
    dir = g_path_get_dirname(index_path);
    w->files = g_new0(cascade_safetensors *, shards->len);
    for (guint k = 0; k < shards->len; k++) {
        gchar *p = g_build_filename(dir, g_ptr_array_index(shards, k), NULL);
        st = cascade_safetensors_open(p, &w->files[k], err);
        g_free(p);
        if (st != CASCADE_STATUS_OK) goto fail;
        w->n_files++;
    }
    st = build_table(w, err);
    if (st != CASCADE_STATUS_OK) goto fail;
    /* Every tensor the index promises must be in the shard it names. */
    for (GList *l = members; l; l = l->next) {
        const char *shard = json_node_get_string(json_object_get_member(mo, l->data));
        weight     *e = find(w, l->data);
        gchar *base = e ? g_path_get_basename(cascade_safetensors_path(w->files[e->file])) : NULL;
        bool   ok = e && strcmp(base, shard) == 0;
        g_free(base);
        if (!ok) {
            st = cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                   "%s: tensor '%s' is listed in shard '%s' but is not there",
                                   index_path, (const char *)l->data, shard);
            goto fail;
        }
    }

fail:
    g_free(dir);
    g_list_free(members);
    g_ptr_array_free(shards, TRUE);
    if (parser) g_object_unref(parser);
    g_clear_error(&gerr);
    g_free(text);
    return st;
}

static cascade_status open_any(const char *path, const char *label, cascade_dtype dtype,
                               cascade_weights **out, cascade_error *err) {
    *out = NULL;
    if ((unsigned)dtype >= CASCADE_DTYPE_COUNT)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "%s: bad dtype %d", path,
                                 (int)dtype);
    gchar *base = g_path_get_basename(path);
    if (is_pickled(base)) {
        cascade_status st = refuse_pickle(path, base, err);
        g_free(base);
        return st;
    }
    g_free(base);
    cascade_weights *w = g_new0(cascade_weights, 1);
    cascade_status   st;
    w->label = g_strdup(label);
    w->dtype = dtype;
    if (has_suffix(path, ".safetensors.index.json")) {
        st = open_index(w, path, err);
    } else {
        w->files = g_new0(cascade_safetensors *, 1);
        st = cascade_safetensors_open(path, &w->files[0], err);
        if (st == CASCADE_STATUS_OK) {
            w->n_files = 1;
            st = build_table(w, err);
        }
    }
    if (st != CASCADE_STATUS_OK) {
        cascade_weights_free(w);
        return st;
    }
    *out = w;
    return CASCADE_STATUS_OK;
}

cascade_status cascade_weights_open_file(const char *path, cascade_dtype dtype,
                                         cascade_weights **out, cascade_error *err) {
    return open_any(path, path, dtype, out, err);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

cascade_status cascade_weights_open_dir(const char *dir, cascade_dtype dtype, cascade_weights **out,
                                        cascade_error *err) {
    static const char *const preferred[] = {
        "model.safetensors", "diffusion_pytorch_model.safetensors", "weights.safetensors", NULL};
    static const char *const preferred_index[] = {
        "model.safetensors.index.json", "diffusion_pytorch_model.safetensors.index.json", NULL};
    cascade_status st = CASCADE_STATUS_OK;
    GError        *gerr = NULL;
    GPtrArray     *single = g_ptr_array_new_with_free_func(g_free);
    GPtrArray     *index = g_ptr_array_new_with_free_func(g_free);
    GPtrArray     *pickle = g_ptr_array_new_with_free_func(g_free);
    const char    *pick = NULL;
    gchar         *path = NULL;

    *out = NULL;
    GDir *d = g_dir_open(dir, 0, &gerr);
    if (!d) {
        st = cascade_error_set(err, CASCADE_STATUS_IO, "%s: cannot open directory: %s", dir,
                               cascade_io_gerror_reason(gerr));
        goto done;
    }
    for (const char *name; (name = g_dir_read_name(d));) {
        if (has_suffix(name, ".safetensors"))
            g_ptr_array_add(single, g_strdup(name));
        else if (has_suffix(name, ".safetensors.index.json"))
            g_ptr_array_add(index, g_strdup(name));
        else if (is_pickled(name))
            g_ptr_array_add(pickle, g_strdup(name));
    }
    g_dir_close(d);
    /* directory order is arbitrary; sort so choices and messages are reproducible */
    g_ptr_array_sort(single, cmp_str);
    g_ptr_array_sort(index, cmp_str);
    g_ptr_array_sort(pickle, cmp_str);

    for (size_t i = 0; preferred[i] && !pick; i++)
        for (guint k = 0; k < single->len && !pick; k++)
            if (strcmp(g_ptr_array_index(single, k), preferred[i]) == 0) pick = preferred[i];
    for (size_t i = 0; preferred_index[i] && !pick; i++)
        for (guint k = 0; k < index->len && !pick; k++)
            if (strcmp(g_ptr_array_index(index, k), preferred_index[i]) == 0)
                pick = preferred_index[i];
    if (!pick && index->len == 1) pick = g_ptr_array_index(index, 0);
    if (!pick && index->len == 0 && single->len == 1) pick = g_ptr_array_index(single, 0);

    if (!pick) {
        if (index->len > 1) {
            st = cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                   "%s: several shard indices (%s, %s, ...) and none is "
                                   "model.safetensors.index.json; open one with "
                                   "cascade_weights_open_file",
                                   dir, (char *)g_ptr_array_index(index, 0),
                                   (char *)g_ptr_array_index(index, 1));
        } else if (single->len > 1) {
            st = cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                   "%s: several .safetensors files (%s, %s, ...) and none is "
                                   "named model.safetensors, diffusion_pytorch_model.safetensors "
                                   "or weights.safetensors",
                                   dir, (char *)g_ptr_array_index(single, 0),
                                   (char *)g_ptr_array_index(single, 1));
        } else if (pickle->len > 0) {
            st = refuse_pickle(dir, g_ptr_array_index(pickle, 0), err);
        } else {
            st = cascade_error_set(err, CASCADE_STATUS_IO,
                                   "%s: no weights found (expected model.safetensors, "
                                   "diffusion_pytorch_model.safetensors, weights.safetensors or "
                                   "a *.safetensors.index.json)",
                                   dir);
        }
        goto done;
    }
    path = g_build_filename(dir, pick, NULL);
    /* messages name the file that was chosen, so the user sees which one was read */
    st = open_any(path, path, dtype, out, err);

done:
    g_free(path);
    g_ptr_array_free(pickle, TRUE);
    g_ptr_array_free(index, TRUE);
    g_ptr_array_free(single, TRUE);
    g_clear_error(&gerr);
    return st;
}

bool cascade_weights_has(const cascade_weights *w, const char *name) {
    return find(w, name) != NULL;
}

size_t cascade_weights_count(const cascade_weights *w) { return w ? w->n : 0; }

const char *cascade_weights_name(const cascade_weights *w, size_t i) {
    return (w && i < w->n) ? w->w[i].name : NULL;
}

static bool shape_equal(int32_t nd, const int64_t *a, int32_t nd2, const int64_t *b) {
    if (nd != nd2) return false;
    for (int32_t i = 0; i < nd; i++)
        if (a[i] != b[i]) return false;
    return true;
}

/* A converted weight's mapped bytes are not read again, so they leave resident memory as
 * soon as it is converted: otherwise the whole checkpoint is held twice at the end of
 * loading (IF-I-M: 743 MB mapped fp16 beside 1.49 GB fp32). The kernel maps pages around
 * each later fault, so a few neighbours' pages come back; once every weight has its
 * tensor, one more sweep drops those. */
static void release_converted(cascade_weights *w) {
    for (size_t i = 0; i < w->n; i++)
        if (w->w[i].converted) cascade_safetensors_release(w->files[w->w[i].file], w->w[i].e);
}

/* Converted tensor of one entry, created on first use. */
static cascade_status materialise(cascade_weights *w, weight *x, cascade_error *err) {
    if (x->tensor) return CASCADE_STATUS_OK;
    const cascade_st_entry *e = x->e;
    const char             *file = cascade_safetensors_path(w->files[x->file]);
    size_t                  esz = cascade_dtype_size(w->dtype);
    cascade_status          st;
    if (e->dtype == w->dtype && e->nbytes > 0 && ((uintptr_t)e->data % esz) == 0) {
        /* read-only mapping: the tensor is handed out as const */
        st = cascade_tensor_new_view(w->dtype, e->ndim, e->shape, (void *)e->data, &x->tensor, err);
    } else {
        cascade_tensor *t = NULL;
        st = cascade_tensor_new(w->dtype, e->ndim, e->shape, &t, err);
        if (st == CASCADE_STATUS_OK && e->nbytes > 0) {
            cascade_error sub;
            cascade_error_init(&sub);
            st = cascade_convert(e->dtype, e->data, w->dtype, t->data,
                                 (size_t)cascade_tensor_numel(t), &sub);
            if (st == CASCADE_STATUS_OK) st = cascade_map_guard_check("conversion", &sub);
            if (st != CASCADE_STATUS_OK) {
                cascade_tensor_free(t);
                return cascade_error_set(err, st, "%s: tensor '%s': %s", file, x->name,
                                         sub.message);
            }
        }
        x->tensor = t;
        x->converted = true;
        if (st == CASCADE_STATUS_OK) cascade_safetensors_release(w->files[x->file], e);
    }
    if (st == CASCADE_STATUS_OK && ++w->n_materialised == w->n) release_converted(w);
    if (st != CASCADE_STATUS_OK) cascade_error_prefix(err, "%s: tensor '%s': ", file, x->name);
    return st;
}

static cascade_status get_entry(cascade_weights *w, weight *x, int32_t ndim, const int64_t *shape,
                                const cascade_tensor **out, cascade_error *err) {
    const cascade_st_entry *e = x->e;
    if (shape && !shape_equal(e->ndim, e->shape, ndim, shape)) {
        char got[160], want[160];
        return cascade_error_set(err, CASCADE_STATUS_FORMAT, "%s: tensor '%s': got %s, expected %s",
                                 cascade_safetensors_path(w->files[x->file]), x->name,
                                 cascade_shape_format(e->ndim, e->shape, got, sizeof got),
                                 cascade_shape_format(ndim, shape, want, sizeof want));
    }
    CASCADE_TRY(materialise(w, x, err));
    x->used = true;
    *out = x->tensor;
    return CASCADE_STATUS_OK;
}

cascade_status cascade_weights_get(cascade_weights *w, const char *name, int32_t ndim,
                                   const int64_t *shape, const cascade_tensor **out,
                                   cascade_error *err) {
    *out = NULL;
    weight *x = find(w, name);
    if (!x)
        return cascade_error_set(err, CASCADE_STATUS_FORMAT, "%s: tensor '%s' is missing", w->label,
                                 name ? name : "(null)");
    return get_entry(w, x, ndim, shape, out, err);
}

cascade_status cascade_weights_get_any(cascade_weights *w, const char *const *names, size_t n_names,
                                       int32_t ndim, const int64_t *shape,
                                       const cascade_tensor **out, cascade_error *err) {
    *out = NULL;
    weight *first = NULL;
    for (size_t i = 0; i < n_names; i++) {
        weight *x = find(w, names[i]);
        if (!x) continue;
        if (!first)
            first = x;
        else
            x->used = true; /* the others are aliases of the same tensor (tied weights) */
    }
    if (first) return get_entry(w, first, ndim, shape, out, err);
    GString *list = g_string_new("");
    for (size_t i = 0; i < n_names; i++)
        g_string_append_printf(list, "%s'%s'", i ? ", " : "", names[i] ? names[i] : "(null)");
    cascade_status st = cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                          "%s: tensor missing (tried %s)", w->label, list->str);
    g_string_free(list, TRUE);
    return st;
}

cascade_status cascade_weights_get_1d(cascade_weights *w, const char *name, int64_t a,
                                      const cascade_tensor **out, cascade_error *err) {
    return cascade_weights_get(w, name, 1, (int64_t[]){a}, out, err);
}

cascade_status cascade_weights_get_2d(cascade_weights *w, const char *name, int64_t a, int64_t b,
                                      const cascade_tensor **out, cascade_error *err) {
    return cascade_weights_get(w, name, 2, (int64_t[]){a, b}, out, err);
}

void cascade_weights_mark_used(cascade_weights *w, const char *name) {
    weight *x = find(w, name);
    if (x) x->used = true;
}

cascade_status cascade_weights_check_all_used(const cascade_weights *w, cascade_error *err) {
    for (size_t i = 0; i < w->n; i++)
        if (!w->w[i].used)
            return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                     "%s: tensor '%s' is not used by the model (the config and "
                                     "the weights disagree)",
                                     cascade_safetensors_path(w->files[w->w[i].file]),
                                     w->w[i].name);
    return CASCADE_STATUS_OK;
}
