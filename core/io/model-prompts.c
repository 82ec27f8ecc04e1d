/* prompts.json of a model folder: see cascade/model-prompts.h. */
#include "cascade/model-prompts.h"

#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "cascade/config.h"

static void free_list(char **list, size_t n) {
    for (size_t i = 0; i < n; i++) free(list[i]);
    free(list);
}

void cascade_model_prompts_free(cascade_model_prompts *p) {
    if (!p) return;
    free_list(p->styles, p->n_styles);
    free_list(p->subjects, p->n_subjects);
    free_list(p->prompts, p->n_prompts);
    free(p);
}

/* Copies the string array cfg[key] into *out (owned); empty strings and nulls (which
 * cascade_config_string_array lets through) are refused, since a list of what a model draws
 * has no use for them. */
static cascade_status read_list(cascade_config *cfg, const char *key, char ***out, size_t *n,
                                cascade_error *err) {
    const char   **tmp = malloc(CASCADE_MODEL_PROMPTS_MAX * sizeof *tmp);
    cascade_status st;
    if (!tmp) return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "out of memory");
    *n = 0;
    st = cascade_config_string_array(cfg, key, tmp, CASCADE_MODEL_PROMPTS_MAX, n, err);
    if (!st && *n) {
        *out = calloc(*n, sizeof **out);
        if (!*out) st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "out of memory");
        for (size_t i = 0; !st && i < *n; i++) {
            if (!tmp[i] || !tmp[i][0])
                st = cascade_error_set(err, CASCADE_STATUS_FORMAT, "%s: \"%s\"[%zu] is %s",
                                       cascade_config_path(cfg), key, i, tmp[i] ? "empty" : "null");
            else if (!((*out)[i] = strdup(tmp[i])))
                st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "out of memory");
        }
        if (st) {
            free_list(*out, *n);
            *out = NULL;
            *n = 0;
        }
    }
    free(tmp);
    return st;
}

cascade_status cascade_model_prompts_load(const char *dir, cascade_model_prompts **out,
                                          cascade_error *err) {
    *out = NULL;
    cascade_config *cfg = NULL;
    cascade_status  st = cascade_config_load_optional(dir, "prompts.json", &cfg, err);
    if (st || !cfg) return st;
    cascade_model_prompts *p = calloc(1, sizeof *p);
    if (!p) st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "out of memory");
    if (!st) st = read_list(cfg, "styles", &p->styles, &p->n_styles, err);
    if (!st) st = read_list(cfg, "subjects", &p->subjects, &p->n_subjects, err);
    if (!st) st = read_list(cfg, "prompts", &p->prompts, &p->n_prompts, err);
    if (!st) st = cascade_config_check_all_used(cfg, err);
    cascade_config_free(cfg);
    if (st) cascade_model_prompts_free(p);
    else *out = p;
    return st;
}
