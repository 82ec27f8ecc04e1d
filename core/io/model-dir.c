/* A diffusers model directory. model_index.json (written by DiffusionPipeline.save_pretrained)
 * maps each pipeline attribute to [library, class]; [null, null] marks a component the
 * pipeline was saved without. Other top-level values (e.g. "requires_safety_checker": false)
 * are pipeline options, not components. */
#include "cascade/model-dir.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "io-json.h"
#include "io-reason.h"

struct cascade_model_dir {
    char                    *path;
    char                    *pipeline_class;
    char                    *diffusers_version; /* NULL when absent */
    cascade_model_component *comp;              /* file order */
    size_t                   n;
};

void cascade_model_dir_free(cascade_model_dir *md) {
    if (!md) return;
    for (size_t i = 0; i < md->n; i++) {
        g_free((char *)md->comp[i].name);
        g_free((char *)md->comp[i].library);
        g_free((char *)md->comp[i].class_name);
        g_free((char *)md->comp[i].path);
    }
    g_free(md->comp);
    g_free(md->diffusers_version);
    g_free(md->pipeline_class);
    g_free(md->path);
    g_free(md);
}

static bool is_string(JsonNode *n) {
    return n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING;
}

/* [library, class] with each a string or null. */
static bool is_component(JsonNode *n) {
    if (!n || !JSON_NODE_HOLDS_ARRAY(n)) return false;
    JsonArray *a = json_node_get_array(n);
    if (json_array_get_length(a) != 2) return false;
    for (guint i = 0; i < 2; i++) {
        JsonNode *e = json_array_get_element(a, i);
        if (!JSON_NODE_HOLDS_NULL(e) && !is_string(e)) return false;
    }
    return true;
}

static char *dup_or_null(JsonNode *n) {
    return JSON_NODE_HOLDS_NULL(n) ? NULL : g_strdup(json_node_get_string(n));
}

static cascade_status parse_index(cascade_model_dir *md, const char *index_path, JsonObject *obj,
                                  cascade_error *err) {
    JsonNode *cls = json_object_get_member(obj, "_class_name");
    if (!is_string(cls))
        return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                 "%s: field '_class_name' must be a string, got %s", index_path,
                                 cascade_io_json_kind(cls));
    md->pipeline_class = g_strdup(json_node_get_string(cls));
    JsonNode *ver = json_object_get_member(obj, "_diffusers_version");
    if (ver && !is_string(ver))
        return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                 "%s: field '_diffusers_version' must be a string, got %s",
                                 index_path, cascade_io_json_kind(ver));
    if (ver) md->diffusers_version = g_strdup(json_node_get_string(ver));

    cascade_status st = CASCADE_STATUS_OK;
    GList         *members = json_object_get_members(obj);
    md->comp = g_new0(cascade_model_component, g_list_length(members) + 1);
    for (GList *l = members; l; l = l->next) {
        const char *name = l->data;
        JsonNode   *v = json_object_get_member(obj, name);
        if (name[0] == '_' || !is_component(v)) continue;
        /* the name becomes a path: keep it inside the model directory */
        if (!name[0] || strchr(name, '/') || strchr(name, '\\') || strcmp(name, ".") == 0 ||
            strcmp(name, "..") == 0) {
            st = cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                   "%s: component name '%s' is not a plain directory name",
                                   index_path, name);
            break;
        }
        JsonArray               *a = json_node_get_array(v);
        cascade_model_component *c = &md->comp[md->n++];
        c->name = g_strdup(name);
        c->library = dup_or_null(json_array_get_element(a, 0));
        c->class_name = dup_or_null(json_array_get_element(a, 1));
        c->path = g_build_filename(md->path, name, NULL);
    }
    g_list_free(members);
    return st;
}

cascade_status cascade_model_dir_open(const char *path, cascade_model_dir **out,
                                      cascade_error *err) {
    cascade_status     st = CASCADE_STATUS_OK;
    cascade_model_dir *md = NULL;
    gchar             *index_path = g_build_filename(path, "model_index.json", NULL);
    gchar             *text = NULL;
    gsize              len = 0;
    GError            *gerr = NULL;
    JsonParser        *parser = NULL;
    JsonNode          *root = NULL;

    *out = NULL;
    if (!g_file_get_contents(index_path, &text, &len, &gerr)) {
        /* the hint only where the file is missing: a loop or a permission is its own reason */
        gboolean missing = gerr && g_error_matches(gerr, G_FILE_ERROR, G_FILE_ERROR_NOENT);
        st = cascade_error_set(err, CASCADE_STATUS_IO, "%s: cannot read: %s%s", index_path,
                               cascade_io_gerror_reason(gerr),
                               missing ? " (is this a diffusers model directory?)" : "");
        goto fail;
    }
    st = cascade_io_json_parse(text, len, index_path, "model index", 0, &parser, &root, err);
    if (st != CASCADE_STATUS_OK) goto fail;
    md = g_new0(cascade_model_dir, 1);
    md->path = g_strdup(path);
    st = parse_index(md, index_path, json_node_get_object(root), err);
    if (st != CASCADE_STATUS_OK) goto fail;
    *out = md;
    md = NULL;

fail:
    cascade_model_dir_free(md);
    if (parser) g_object_unref(parser);
    g_clear_error(&gerr);
    g_free(text);
    g_free(index_path);
    return st;
}

const char *cascade_model_dir_path(const cascade_model_dir *md) { return md->path; }

const char *cascade_model_dir_pipeline_class(const cascade_model_dir *md) {
    return md->pipeline_class;
}

const char *cascade_model_dir_diffusers_version(const cascade_model_dir *md) {
    return md->diffusers_version;
}

size_t cascade_model_dir_count(const cascade_model_dir *md) { return md ? md->n : 0; }

const cascade_model_component *cascade_model_dir_component(const cascade_model_dir *md, size_t i) {
    return (md && i < md->n) ? &md->comp[i] : NULL;
}

const cascade_model_component *cascade_model_dir_find(const cascade_model_dir *md,
                                                      const char              *name) {
    if (!md || !name) return NULL;
    for (size_t i = 0; i < md->n; i++) {
        const cascade_model_component *c = &md->comp[i];
        if (strcmp(c->name, name) == 0) return (c->library || c->class_name) ? c : NULL;
    }
    return NULL;
}

/* malloc'd (not g_malloc'd): the header promises free(). */
static char *join(const char *dir, const char *file) {
    size_t n = strlen(dir) + 1 + strlen(file) + 1;
    char  *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, file);
    return p;
}

char *cascade_component_config_path(const char *component_dir, cascade_error *err) {
    static const char *const names[] = {"config.json", "scheduler_config.json"};
    for (size_t i = 0; i < 2; i++) {
        char *p = join(component_dir, names[i]);
        if (!p) {
            cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "%s: out of memory",
                              component_dir);
            return NULL;
        }
        if (g_file_test(p, G_FILE_TEST_IS_REGULAR)) return p;
        free(p);
    }
    cascade_error_set(err, CASCADE_STATUS_IO, "%s: no config.json or scheduler_config.json",
                      component_dir);
    return NULL;
}
