/* safetensors reader and writer. The format (huggingface/safetensors): u64 little-endian
 * header length N, N bytes of UTF-8 JSON {"name": {"dtype", "shape", "data_offsets"},
 * "__metadata__": {str: str}}, then the data area; offsets are relative to its start.
 * Every check happens at open, so later lookups cannot fail on a malformed file. */
#include "cascade/safetensors.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

#include "io-json.h"
#include "io-reason.h"
#include "out-file.h"
#include "runtime/map-guard.h"

/* The reference library refuses headers over 100 MB; so do we (nothing sane is close). */
#define ST_MAX_HEADER ((uint64_t)100 * 1000 * 1000)

struct cascade_safetensors {
    char             *label;  /* path, or the caller's label for memory images */
    GMappedFile      *mapped; /* NULL for memory images */
    const uint8_t    *data_area;
    uint64_t          data_size;
    cascade_st_entry *entries; /* sorted by name */
    size_t            n;
    char            **meta; /* key, value, key, value, ... */
    size_t            n_meta;
};

typedef struct range {
    uint64_t begin, end;
    size_t   idx;
} range;

static int cmp_entry_name(const void *a, const void *b) {
    return strcmp(((const cascade_st_entry *)a)->name, ((const cascade_st_entry *)b)->name);
}

static int cmp_range(const void *a, const void *b) {
    const range *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

static void st_free_contents(cascade_safetensors *st) {
    for (size_t i = 0; i < st->n; i++) g_free((char *)st->entries[i].name);
    g_free(st->entries);
    for (size_t i = 0; i < 2 * st->n_meta; i++) g_free(st->meta[i]);
    g_free(st->meta);
    if (st->mapped) {
        cascade_map_guard_remove(g_mapped_file_get_contents(st->mapped));
        g_mapped_file_unref(st->mapped);
    }
    g_free(st->label);
}

void cascade_safetensors_close(cascade_safetensors *st) {
    if (!st) return;
    st_free_contents(st);
    g_free(st);
}

static cascade_status parse_metadata(cascade_safetensors *st, JsonNode *node, cascade_error *err) {
    if (JSON_NODE_HOLDS_NULL(node)) return CASCADE_STATUS_OK;
    if (!JSON_NODE_HOLDS_OBJECT(node))
        return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                 "%s: '__metadata__' must be an object of strings, got %s",
                                 st->label, cascade_io_json_kind(node));
    JsonObject *obj = json_node_get_object(node);
    GList      *members = json_object_get_members(obj);
    size_t      n = g_list_length(members);
    st->meta = g_new0(char *, 2 * n + 1);
    for (GList *l = members; l; l = l->next) {
        const char *key = l->data;
        JsonNode   *v = json_object_get_member(obj, key);
        if (!JSON_NODE_HOLDS_VALUE(v) || json_node_get_value_type(v) != G_TYPE_STRING) {
            g_list_free(members);
            return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                     "%s: '__metadata__' field '%s' must be a string, got %s",
                                     st->label, key, cascade_io_json_kind(v));
        }
        st->meta[2 * st->n_meta] = g_strdup(key);
        st->meta[2 * st->n_meta + 1] = g_strdup(json_node_get_string(v));
        st->n_meta++;
    }
    g_list_free(members);
    return CASCADE_STATUS_OK;
}

/* Fills e (name already set) from the tensor's JSON description; r gets its byte range. */
static cascade_status parse_entry(const cascade_safetensors *st, JsonNode *node,
                                  cascade_st_entry *e, range *r, cascade_error *err) {
    const char *L = st->label, *name = e->name;
    if (!JSON_NODE_HOLDS_OBJECT(node))
        return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                 "%s: tensor '%s': description must be an object, got %s", L, name,
                                 cascade_io_json_kind(node));
    JsonObject *obj = json_node_get_object(node);

    GList *members = json_object_get_members(obj);
    for (GList *l = members; l; l = l->next) {
        const char *k = l->data;
        if (strcmp(k, "dtype") && strcmp(k, "shape") && strcmp(k, "data_offsets")) {
            cascade_status s = cascade_error_set(
                err, CASCADE_STATUS_FORMAT, "%s: tensor '%s': unexpected field '%s'", L, name, k);
            g_list_free(members);
            return s;
        }
    }
    g_list_free(members);

    JsonNode *dt = json_object_get_member(obj, "dtype");
    if (!dt || !JSON_NODE_HOLDS_VALUE(dt) || json_node_get_value_type(dt) != G_TYPE_STRING)
        return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                 "%s: tensor '%s': 'dtype' must be a string, got %s", L, name,
                                 cascade_io_json_kind(dt));
    if (!cascade_dtype_from_name(json_node_get_string(dt), &e->dtype))
        return cascade_error_set(err, CASCADE_STATUS_FORMAT, "%s: tensor '%s': unknown dtype '%s'",
                                 L, name, json_node_get_string(dt));

    JsonNode *sh = json_object_get_member(obj, "shape");
    if (!sh || !JSON_NODE_HOLDS_ARRAY(sh))
        return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                 "%s: tensor '%s': 'shape' must be an array, got %s", L, name,
                                 cascade_io_json_kind(sh));
    JsonArray *sha = json_node_get_array(sh);
    guint      nd = json_array_get_length(sha);
    if (nd > CASCADE_MAX_DIMS)
        return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                                 "%s: tensor '%s': %u dimensions, at most %d are supported", L,
                                 name, nd, CASCADE_MAX_DIMS);
    e->ndim = (int32_t)nd;
    for (guint i = 0; i < nd; i++) {
        gint64 d;
        if (!cascade_io_json_get_int(json_array_get_element(sha, i), &d) || d < 0)
            return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                     "%s: tensor '%s': shape[%u] must be a non-negative integer", L,
                                     name, i);
        e->shape[i] = d;
    }

    JsonNode *off = json_object_get_member(obj, "data_offsets");
    gint64    b = -1, en = -1;
    if (!off || !JSON_NODE_HOLDS_ARRAY(off) ||
        json_array_get_length(json_node_get_array(off)) != 2 ||
        !cascade_io_json_get_int(json_array_get_element(json_node_get_array(off), 0), &b) ||
        !cascade_io_json_get_int(json_array_get_element(json_node_get_array(off), 1), &en) ||
        b < 0 || en < 0)
        return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                 "%s: tensor '%s': 'data_offsets' must be [begin, end] with "
                                 "non-negative integers",
                                 L, name);
    if (b > en)
        return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                 "%s: tensor '%s': data_offsets begin %lld > end %lld", L, name,
                                 (long long)b, (long long)en);
    if ((uint64_t)en > st->data_size)
        return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                 "%s: tensor '%s': data_offsets [%lld, %lld] run past the data "
                                 "area (%llu bytes; file truncated?)",
                                 L, name, (long long)b, (long long)en,
                                 (unsigned long long)st->data_size);

    int64_t numel;
    size_t  esz = cascade_dtype_size(e->dtype);
    char    shp[160];
    if (!cascade_shape_numel(e->ndim, e->shape, &numel) || (uint64_t)numel > UINT64_MAX / esz)
        return cascade_error_set(err, CASCADE_STATUS_FORMAT, "%s: tensor '%s': shape %s overflows",
                                 L, name, cascade_shape_format(e->ndim, e->shape, shp, sizeof shp));
    uint64_t want = (uint64_t)numel * esz;
    if (want != (uint64_t)(en - b))
        return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                 "%s: tensor '%s': %s %s needs %llu bytes but data_offsets span "
                                 "%llu",
                                 L, name, cascade_dtype_name(e->dtype),
                                 cascade_shape_format(e->ndim, e->shape, shp, sizeof shp),
                                 (unsigned long long)want, (unsigned long long)(en - b));
    e->nbytes = want;
    e->data = st->data_area ? st->data_area + b : NULL;
    r->begin = (uint64_t)b;
    r->end = (uint64_t)en;
    return CASCADE_STATUS_OK;
}

static cascade_status check_overlaps(const cascade_safetensors *st, range *r, cascade_error *err) {
    qsort(r, st->n, sizeof *r, cmp_range);
    /* Empty tensors own no bytes and may sit anywhere. */
    size_t prev = SIZE_MAX;
    for (size_t i = 0; i < st->n; i++) {
        if (r[i].begin == r[i].end) continue;
        if (prev != SIZE_MAX && r[i].begin < r[prev].end)
            return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                     "%s: tensors '%s' [%llu, %llu] and '%s' [%llu, %llu] overlap",
                                     st->label, st->entries[r[prev].idx].name,
                                     (unsigned long long)r[prev].begin,
                                     (unsigned long long)r[prev].end, st->entries[r[i].idx].name,
                                     (unsigned long long)r[i].begin, (unsigned long long)r[i].end);
        prev = i;
    }
    return CASCADE_STATUS_OK;
}

/* Validates the image base[0..size) into st (label set, mapping owned by the caller). */
static cascade_status st_parse(cascade_safetensors *st, const uint8_t *base, size_t size,
                               cascade_error *err) {
    cascade_status st_ = CASCADE_STATUS_OK;
    JsonParser    *parser = NULL;
    JsonNode      *root = NULL;
    GList         *members = NULL;
    range         *ranges = NULL;

    if (size < 8)
        return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                 "%s: truncated file (%zu bytes; the 8-byte header length is "
                                 "missing)",
                                 st->label, size);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | base[i];
    if (hlen > size - 8)
        return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                 "%s: header length %llu runs past the end of the file (%zu "
                                 "bytes; truncated?)",
                                 st->label, (unsigned long long)hlen, size);
    if (hlen > ST_MAX_HEADER)
        return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                 "%s: header length %llu is over the 100 MB limit", st->label,
                                 (unsigned long long)hlen);
    if (hlen < 2 || base[8] != '{')
        return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                 "%s: header must be a JSON object starting with '{'", st->label);
    st->data_area = base + 8 + hlen;
    st->data_size = size - 8 - hlen;

    st_ = cascade_io_json_parse((const char *)base + 8, (size_t)hlen, st->label, "header",
                                CASCADE_IO_JSON_FEW_KEYS, &parser, &root, err);
    if (st_ != CASCADE_STATUS_OK) goto fail;

    JsonObject *obj = json_node_get_object(root);
    members = json_object_get_members(obj);
    size_t n_members = g_list_length(members);
    st->entries = g_new0(cascade_st_entry, n_members + 1);
    ranges = g_new0(range, n_members + 1);
    for (GList *l = members; l; l = l->next) {
        const char *key = l->data;
        JsonNode   *node = json_object_get_member(obj, key);
        if (strcmp(key, "__metadata__") == 0) {
            st_ = parse_metadata(st, node, err);
        } else {
            cascade_st_entry *e = &st->entries[st->n];
            e->name = g_strdup(key);
            st->n++; /* counted before parsing so the name is freed on failure */
            ranges[st->n - 1].idx = st->n - 1;
            st_ = parse_entry(st, node, e, &ranges[st->n - 1], err);
        }
        if (st_ != CASCADE_STATUS_OK) goto fail;
    }
    st_ = check_overlaps(st, ranges, err);
    if (st_ != CASCADE_STATUS_OK) goto fail;
    /* Names are unique (the JSON parser refused duplicate keys); sort for lookups. */
    qsort(st->entries, st->n, sizeof *st->entries, cmp_entry_name);

fail:
    g_free(ranges);
    g_list_free(members);
    if (parser) g_object_unref(parser);
    return st_;
}

cascade_status cascade_safetensors_open_memory(const void *data, size_t size, const char *label,
                                               cascade_safetensors **out, cascade_error *err) {
    *out = NULL;
    if (!data && size)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "%s: NULL data",
                                 label ? label : "safetensors");
    cascade_safetensors *st = g_new0(cascade_safetensors, 1);
    st->label = g_strdup(label ? label : "<memory>");
    cascade_status s = st_parse(st, data, size, err);
    if (s != CASCADE_STATUS_OK) {
        cascade_safetensors_close(st);
        return s;
    }
    *out = st;
    return CASCADE_STATUS_OK;
}

cascade_status cascade_safetensors_open(const char *path, cascade_safetensors **out,
                                        cascade_error *err) {
    *out = NULL;
    GError      *gerr = NULL;
    GMappedFile *mf = g_mapped_file_new(path, FALSE, &gerr);
    if (!mf) {
        cascade_status s = cascade_error_set(err, CASCADE_STATUS_IO, "%s: cannot open: %s", path,
                                             cascade_io_gerror_reason(gerr));
        g_clear_error(&gerr);
        return s;
    }
    cascade_safetensors *st = g_new0(cascade_safetensors, 1);
    st->label = g_strdup(path);
    st->mapped = mf;
    const uint8_t       *base = (const uint8_t *)g_mapped_file_get_contents(mf);
    size_t               size = g_mapped_file_get_length(mf);
    static const uint8_t empty[1] = {0};
    /* data is used in place: a truncation on disk must not SIGBUS (map-guard.h) */
    cascade_status       s = cascade_map_guard_add(base, base ? size : 0, path, err);
    if (s == CASCADE_STATUS_OK) s = st_parse(st, base ? base : empty, base ? size : 0, err);
    if (s == CASCADE_STATUS_OK) s = cascade_map_guard_check("header", err);
    if (s != CASCADE_STATUS_OK) {
        cascade_safetensors_close(st);
        return s;
    }
    *out = st;
    return CASCADE_STATUS_OK;
}

void cascade_safetensors_release(const cascade_safetensors *st, const cascade_st_entry *e) {
#if defined(__linux__) && defined(MADV_DONTNEED)
    if (!st || !e || !st->mapped || !e->nbytes) return;
    /* whole pages, rounded outwards: a neighbour's page dropped here is only re-read from the
     * file (the mapping is private, read-only and never written, so nothing is lost) */
    const uint8_t *base = (const uint8_t *)g_mapped_file_get_contents(st->mapped);
    size_t         len = g_mapped_file_get_length(st->mapped);
    uintptr_t      page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t      lo = (uintptr_t)e->data & ~(page - 1);
    uintptr_t      hi = ((uintptr_t)e->data + e->nbytes + page - 1) & ~(page - 1);
    uintptr_t      end = ((uintptr_t)base + len + page - 1) & ~(page - 1);
    if (lo < (uintptr_t)base) lo = (uintptr_t)base; /* the mapping starts page-aligned */
    if (hi > end) hi = end;
    if (hi > lo) (void)madvise((void *)lo, hi - lo, MADV_DONTNEED); /* failure is harmless */
#else
    (void)st;
    (void)e;
#endif
}

const char *cascade_safetensors_path(const cascade_safetensors *st) { return st->label; }

size_t cascade_safetensors_count(const cascade_safetensors *st) { return st ? st->n : 0; }

const cascade_st_entry *cascade_safetensors_entry(const cascade_safetensors *st, size_t i) {
    return (st && i < st->n) ? &st->entries[i] : NULL;
}

const cascade_st_entry *cascade_safetensors_find(const cascade_safetensors *st, const char *name) {
    if (!st || !name) return NULL;
    cascade_st_entry key = {.name = name};
    return bsearch(&key, st->entries, st->n, sizeof key, cmp_entry_name);
}

const char *cascade_safetensors_metadata(const cascade_safetensors *st, const char *key) {
    if (!st || !key) return NULL;
    for (size_t i = 0; i < st->n_meta; i++)
        if (strcmp(st->meta[2 * i], key) == 0) return st->meta[2 * i + 1];
    return NULL;
}

cascade_status cascade_safetensors_load(const cascade_safetensors *st, const char *name,
                                        cascade_dtype dtype, cascade_tensor **out,
                                        cascade_error *err) {
    *out = NULL;
    const cascade_st_entry *e = cascade_safetensors_find(st, name);
    if (!e)
        return cascade_error_set(err, CASCADE_STATUS_FORMAT, "%s: tensor '%s' is missing",
                                 st->label, name);
    cascade_tensor *t = NULL;
    cascade_status  s = cascade_tensor_new(dtype, e->ndim, e->shape, &t, err);
    /* Empty tensors skip conversion: cascade_convert probes element 0 of dst even for n = 0,
     * which would write past the 1-byte allocation of an empty tensor. */
    if (s == CASCADE_STATUS_OK && e->nbytes > 0) {
        cascade_error sub;
        cascade_error_init(&sub);
        s = cascade_convert(e->dtype, e->data, dtype, t->data, (size_t)cascade_tensor_numel(t),
                            &sub);
        if (s != CASCADE_STATUS_OK) {
            cascade_tensor_free(t);
            return cascade_error_set(err, s, "%s: tensor '%s': %s", st->label, name, sub.message);
        }
    } else if (s != CASCADE_STATUS_OK) {
        cascade_error_prefix(err, "%s: tensor '%s': ", st->label, name);
        return s;
    }
    *out = t;
    return CASCADE_STATUS_OK;
}

/* ---- writer ---- */

static void json_append_string(GString *s, const char *str) {
    g_string_append_c(s, '"');
    for (const unsigned char *p = (const unsigned char *)str; *p; p++) {
        if (*p == '"' || *p == '\\') {
            g_string_append_c(s, '\\');
            g_string_append_c(s, (char)*p);
        } else if (*p < 0x20) {
            g_string_append_printf(s, "\\u%04x", *p);
        } else {
            g_string_append_c(s, (char)*p);
        }
    }
    g_string_append_c(s, '"');
}

typedef struct named {
    const char           *name;
    const cascade_tensor *t;
} named;

static int cmp_named(const void *a, const void *b) {
    return strcmp(((const named *)a)->name, ((const named *)b)->name);
}

cascade_status cascade_safetensors_write(const char *path, size_t n, const char *const *names,
                                         const cascade_tensor *const *tensors,
                                         const char *const *metadata_kv, cascade_error *err) {
    cascade_status st = CASCADE_STATUS_OK;
    named         *order = NULL;
    GString       *hdr = NULL;
    cascade_io_out out = {0};

    if (n && (!names || !tensors))
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "%s: NULL names or tensors",
                                 path);
    order = g_new0(named, n + 1);
    for (size_t i = 0; i < n; i++) {
        if (!names[i] || !tensors[i] || !g_utf8_validate(names[i], -1, NULL) ||
            strcmp(names[i], "__metadata__") == 0) {
            st = cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                   "%s: tensor %zu: missing, reserved or non-UTF-8 name", path, i);
            goto fail;
        }
        const cascade_tensor *t = tensors[i];
        if ((unsigned)t->dtype >= CASCADE_DTYPE_COUNT || !cascade_tensor_is_contiguous(t) ||
            (t->data == NULL && cascade_tensor_numel(t) != 0)) {
            st = cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                   "%s: tensor '%s': bad dtype, not contiguous or no data", path,
                                   names[i]);
            goto fail;
        }
        order[i].name = names[i];
        order[i].t = t;
    }
    qsort(order, n, sizeof *order, cmp_named);
    for (size_t i = 1; i < n; i++) {
        if (strcmp(order[i - 1].name, order[i].name) == 0) {
            st = cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "%s: tensor '%s' given twice",
                                   path, order[i].name);
            goto fail;
        }
    }

    hdr = g_string_new("{");
    if (metadata_kv && metadata_kv[0]) {
        g_string_append(hdr, "\"__metadata__\":{");
        for (size_t k = 0; metadata_kv[k]; k += 2) {
            if (!metadata_kv[k + 1] || !g_utf8_validate(metadata_kv[k], -1, NULL) ||
                !g_utf8_validate(metadata_kv[k + 1], -1, NULL)) {
                st = cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                       "%s: metadata key %zu has no value or is not UTF-8", path,
                                       k / 2);
                goto fail;
            }
            if (k) g_string_append_c(hdr, ',');
            json_append_string(hdr, metadata_kv[k]);
            g_string_append_c(hdr, ':');
            json_append_string(hdr, metadata_kv[k + 1]);
        }
        g_string_append(hdr, "}");
        if (n) g_string_append_c(hdr, ',');
    }
    uint64_t off = 0;
    for (size_t i = 0; i < n; i++) {
        const cascade_tensor *t = order[i].t;
        int64_t               numel;
        if (!cascade_shape_numel(t->ndim, t->shape, &numel) ||
            (uint64_t)numel > UINT64_MAX / cascade_dtype_size(t->dtype)) {
            st = cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "%s: tensor '%s': bad shape",
                                   path, order[i].name);
            goto fail;
        }
        uint64_t nb = (uint64_t)numel * cascade_dtype_size(t->dtype);
        if (off > UINT64_MAX - nb) {
            st = cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "%s: total size overflows",
                                   path);
            goto fail;
        }
        if (i) g_string_append_c(hdr, ',');
        json_append_string(hdr, order[i].name);
        g_string_append_printf(hdr, ":{\"dtype\":\"%s\",\"shape\":[", cascade_dtype_name(t->dtype));
        for (int32_t d = 0; d < t->ndim; d++)
            g_string_append_printf(hdr, "%s%lld", d ? "," : "", (long long)t->shape[d]);
        g_string_append_printf(hdr, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                               (unsigned long long)(off + nb));
        off += nb;
    }
    g_string_append_c(hdr, '}');
    /* Pad with spaces so the data area starts 8-aligned, as the reference writer does. */
    while ((8 + hdr->len) % 8) g_string_append_c(hdr, ' ');

    st = cascade_io_out_open(path, &out, err);
    if (st != CASCADE_STATUS_OK) goto fail;
    uint8_t  lenbuf[8];
    uint64_t hl = hdr->len;
    for (int i = 0; i < 8; i++) lenbuf[i] = (uint8_t)(hl >> (8 * i));
    int ok = fwrite(lenbuf, 1, 8, out.f) == 8 && fwrite(hdr->str, 1, hdr->len, out.f) == hdr->len;
    for (size_t i = 0; ok && i < n; i++) {
        size_t nb = cascade_tensor_nbytes(order[i].t);
        if (nb) ok = fwrite(order[i].t->data, 1, nb, out.f) == nb;
    }
    if (!ok) {
        st = cascade_error_set(err, CASCADE_STATUS_IO, "%s: write failed: %s", path,
                               cascade_io_errno_reason(errno));
        goto fail;
    }
    st = cascade_io_out_commit(&out, path, err);
    if (st != CASCADE_STATUS_OK) goto fail;
    g_string_free(hdr, TRUE);
    g_free(order);
    return CASCADE_STATUS_OK;

fail:
    cascade_io_out_abort(&out);
    if (hdr) g_string_free(hdr, TRUE);
    g_free(order);
    return st;
}
