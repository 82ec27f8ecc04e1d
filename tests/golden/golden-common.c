#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden.h"
#include "test-common.h"

char *golden_path(const golden_case *c, const char *rel) {
    return g_build_filename(c->dir, rel, NULL);
}

cascade_status golden_open_io(const golden_case *c, const char *file, cascade_safetensors **out,
                              cascade_error *err) {
    char          *p = golden_path(c, file);
    cascade_status st = cascade_safetensors_open(p, out, err);
    g_free(p);
    return st;
}

cascade_status golden_load(const cascade_safetensors *io, const char *name, cascade_dtype dtype,
                           cascade_tensor **out, cascade_error *err) {
    return cascade_safetensors_load(io, name, dtype, out, err);
}

static bool tolerance_entry(JsonObject *o, double *atol, double *rtol) {
    if (!json_object_has_member(o, "atol")) return false;
    *atol = json_object_get_double_member(o, "atol");
    *rtol = json_object_has_member(o, "rtol") ? json_object_get_double_member(o, "rtol") : 0.0;
    return true;
}

static bool names_output(const char *key, const char *list, const char *output) {
    if (fnmatch(key, output, 0) == 0) return true;
    if (!list) return false;
    /* "last_hidden_state, pooler_output": a comma-separated list of names */
    gchar **parts = g_strsplit(list, ",", -1);
    bool    hit = false;
    for (gchar **p = parts; *p && !hit; p++) {
        gchar *s = g_strstrip(*p);
        hit = strcmp(s, output) == 0;
    }
    g_strfreev(parts);
    return hit;
}

bool golden_tolerance(const golden_case *c, const char *output, double *atol, double *rtol) {
    if (!json_object_has_member(c->json, "tolerance")) return false;
    JsonNode *tn = json_object_get_member(c->json, "tolerance");
    if (!JSON_NODE_HOLDS_OBJECT(tn)) return false;
    JsonObject *t = json_node_get_object(tn);
    if (tolerance_entry(t, atol, rtol)) return true;
    GList *members = json_object_get_members(t);
    bool   found = false;
    double first_a = 0, first_r = 0;
    bool   have_first = false;
    for (GList *l = members; l && !found; l = l->next) {
        const char *key = l->data;
        JsonNode   *en = json_object_get_member(t, key);
        if (JSON_NODE_HOLDS_VALUE(en) && json_node_get_value_type(en) == G_TYPE_STRING &&
            strcmp(json_node_get_string(en), "exact") == 0) {
            if (strcmp(key, "all") == 0 || strcmp(key, output) == 0) {
                *atol = *rtol = 0;
                found = true;
            }
            continue;
        }
        if (!JSON_NODE_HOLDS_OBJECT(en)) continue;
        JsonObject *e = json_node_get_object(en);
        double      a, r;
        if (!tolerance_entry(e, &a, &r)) continue;
        if (!have_first) {
            first_a = a, first_r = r;
            have_first = true;
        }
        const char *applies = json_object_has_member(e, "applies_to")
                                  ? json_object_get_string_member(e, "applies_to")
                                  : NULL;
        if (names_output(key, applies, output)) {
            *atol = a, *rtol = r;
            found = true;
        }
    }
    g_list_free(members);
    if (!found && have_first) {
        *atol = first_a, *rtol = first_r;
        found = true;
    }
    return found;
}

void golden_check_values(const golden_case *c, const char *name, const float *got,
                         const float *want, size_t n, double atol, double rtol,
                         golden_result *r) {
    test_diff d;
    bool      ok = test_compare(got, want, n, atol, rtol, &d);
    r->n_checked++;
    if (d.max_abs > r->max_abs || isnan(d.max_abs)) r->max_abs = d.max_abs;
    if (d.max_rel > r->max_rel) r->max_rel = d.max_rel;
    if (!ok) {
        golden_fail(r, "%s: %zu of %zu outside atol %.2g rtol %.2g (worst [%zu] got %.7g want %.7g)",
                    name, d.n_bad, n, atol, rtol, d.worst, got[d.worst], want[d.worst]);
        r->max_abs = isnan(d.max_abs) ? INFINITY : r->max_abs;
    }
    if (c->verbose || !ok) test_diff_print(name, got, want, n, &d);
}

cascade_status golden_check(const golden_case *c, const cascade_safetensors *io,
                            const char *name, const float *got, size_t n, golden_result *r,
                            cascade_error *err) {
    cascade_tensor *want = NULL;
    CASCADE_TRY(golden_load(io, name, CASCADE_DTYPE_F32, &want, err));
    if ((size_t)cascade_tensor_numel(want) != n) {
        cascade_status st =
            cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                              "%s: output '%s' has %lld values, engine produced %zu", c->name,
                              name, (long long)cascade_tensor_numel(want), n);
        cascade_tensor_free(want);
        return st;
    }
    double atol = 0, rtol = 0;
    if (!golden_tolerance(c, name, &atol, &rtol)) {
        cascade_tensor_free(want);
        return cascade_error_set(err, CASCADE_STATUS_FORMAT, "%s: case.json has no tolerance",
                                 c->name);
    }
    golden_check_values(c, name, got, want->data, n, atol, rtol, r);
    cascade_tensor_free(want);
    return CASCADE_STATUS_OK;
}

static void set_note(golden_result *r, golden_verdict v, const char *fmt, va_list ap) {
    if (r->verdict == GOLDEN_PASS || (v == GOLDEN_FAIL && r->verdict == GOLDEN_SKIP)) {
        r->verdict = v;
        vsnprintf(r->note, sizeof r->note, fmt, ap);
    }
}

void golden_skip(golden_result *r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    set_note(r, GOLDEN_SKIP, fmt, ap);
    va_end(ap);
}

void golden_fail(golden_result *r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    set_note(r, GOLDEN_FAIL, fmt, ap);
    va_end(ap);
}

GList *golden_output_names(const golden_case *c) {
    if (!json_object_has_member(c->json, "outputs")) return NULL;
    JsonNode *n = json_object_get_member(c->json, "outputs");
    if (!JSON_NODE_HOLDS_OBJECT(n)) return NULL;
    return json_object_get_members(json_node_get_object(n));
}
