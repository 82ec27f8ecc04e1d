#include "test-common.h"

#include <glib.h>
#include <json-glib/json-glib.h>

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "cascade/safetensors.h"

const char *test_golden_dir(void) {
    const char *d = getenv("CASCADE_GOLDEN_DIR");
    return (d && *d) ? d : "../shared/golden";
}

const char *test_golden_path(const char *rel) {
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s", test_golden_dir(), rel);
    return buf;
}

bool test_golden_exists(const char *rel) { return access(test_golden_path(rel), R_OK) == 0; }

void test_fill_uniform(float *x, size_t n, uint64_t seed, float lo, float hi) {
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) {
        uint64_t z = (s += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        x[i] = lo + (hi - lo) * (float)((z >> 11) * (1.0 / 9007199254740992.0));
    }
}

bool test_compare(const float *got, const float *want, size_t n, double atol, double rtol,
                  test_diff *d) {
    memset(d, 0, sizeof *d);
    double num = 0, den = 0, worst_excess = -INFINITY;
    bool   ok = true;
    for (size_t i = 0; i < n; i++) {
        double g = got[i], w = want[i], a = fabs(g - w);
        if (isnan(g) || isnan(w)) {
            if (ok || worst_excess < INFINITY) d->worst = i;
            worst_excess = INFINITY;
            ok = false;
            d->n_bad++;
            continue;
        }
        num += (g - w) * (g - w);
        den += w * w;
        if (a > d->max_abs) d->max_abs = a;
        if (fabs(w) > 1e-6 && a / fabs(w) > d->max_rel) d->max_rel = a / fabs(w);
        double excess = a - (atol + rtol * fabs(w));
        if (excess > 0) {
            ok = false;
            d->n_bad++;
        }
        if (excess > worst_excess) {
            worst_excess = excess;
            d->worst = i;
        }
    }
    d->nmse = den > 0 ? num / den : num;
    return ok;
}

void test_diff_print(const char *label, const float *got, const float *want, size_t n,
                     const test_diff *d) {
    fprintf(stderr, "%s: n=%zu max|d|=%.3g max rel=%.3g nmse=%.3g bad=%zu worst[%zu]", label, n,
            d->max_abs, d->max_rel, d->nmse, d->n_bad, d->worst);
    if (d->worst < n) fprintf(stderr, " got %.7g want %.7g", got[d->worst], want[d->worst]);
    fprintf(stderr, "\n  first:");
    for (size_t i = 0; i < n && i < 5; i++) fprintf(stderr, " %.6g/%.6g", got[i], want[i]);
    fprintf(stderr, "\n");
}

char *test_make_tmpdir(void) {
    const char *base = getenv("TMPDIR");
    char        buf[4096];
    snprintf(buf, sizeof buf, "%s/cascade-test-XXXXXX", (base && *base) ? base : "/tmp");
    if (!mkdtemp(buf)) return NULL;
    return strdup(buf);
}

bool test_write_nested_json(const char *path, size_t depth) {
    size_t n = 6 + 2 * depth + 1;
    char  *text = malloc(n + 1);
    if (!text) return false;
    memcpy(text, "{\"k\": ", 6);
    memset(text + 6, '[', depth);
    memset(text + 6 + depth, ']', depth);
    text[n - 1] = '}';
    text[n] = '\0';
    bool ok = test_write_file(path, text, n);
    free(text);
    return ok;
}

bool test_write_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return false;
    bool ok = fwrite(data, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

void test_remove_dir(const char *dir) {
    if (!dir) return;
    GDir       *d = g_dir_open(dir, 0, NULL);
    const char *e;
    while (d && (e = g_dir_read_name(d))) {
        char *p = g_build_filename(dir, e, NULL);
        g_unlink(p);
        g_free(p);
    }
    if (d) g_dir_close(d);
    g_rmdir(dir);
}

bool test_copy_weights(const char *src, const char *dst, const char *drop, const char *extra_name,
                       const char *extra_from) {
    cascade_safetensors *st = NULL;
    if (cascade_safetensors_open(src, &st, NULL) != CASCADE_STATUS_OK) return false;
    size_t           n = cascade_safetensors_count(st), k = 0;
    const char     **names = calloc(n + 1, sizeof *names);
    cascade_tensor **ts = calloc(n + 1, sizeof *ts);
    bool             ok = names && ts;
    for (size_t i = 0; ok && i < n; i++) {
        const cascade_st_entry *e = cascade_safetensors_entry(st, i);
        if (drop && !strcmp(e->name, drop)) continue;
        names[k] = e->name;
        ok = cascade_safetensors_load(st, e->name, CASCADE_DTYPE_F32, &ts[k++], NULL) == CASCADE_STATUS_OK;
    }
    if (ok && extra_name) {
        names[k] = extra_name;
        ok = cascade_safetensors_load(st, extra_from, CASCADE_DTYPE_F32, &ts[k++], NULL) == CASCADE_STATUS_OK;
    }
    if (ok)
        ok = cascade_safetensors_write(dst, k, names, (const cascade_tensor *const *)ts, NULL, NULL) ==
             CASCADE_STATUS_OK;
    for (size_t i = 0; ts && i < k; i++) cascade_tensor_free(ts[i]);
    free(ts);
    free(names);
    cascade_safetensors_close(st);
    return ok;
}

bool test_edit_weights(const char *src, const char *dst, const test_weight_edit *e) {
    cascade_safetensors *st = NULL;
    if (cascade_safetensors_open(src, &st, NULL)) return false;
    size_t           n = cascade_safetensors_count(st), k = 0;
    const char     **names = calloc(n + 1, sizeof *names);
    char           **owned = calloc(n + 1, sizeof *owned);
    cascade_tensor **ts = calloc(n + 1, sizeof *ts);
    bool             ok = names && owned && ts;
    for (size_t i = 0; i < n && ok; i++) {
        const cascade_st_entry *en = cascade_safetensors_entry(st, i);
        if (e->drop && !strcmp(en->name, e->drop)) continue;
        ok = !cascade_safetensors_load(st, en->name, CASCADE_DTYPE_F32, &ts[k], NULL);
        if (ok && e->grow && !strcmp(en->name, e->grow)) {
            int64_t shape[CASCADE_MAX_DIMS];
            memcpy(shape, ts[k]->shape, sizeof shape);
            shape[0] += 1;
            cascade_tensor *t = NULL;
            ok = !cascade_tensor_new(CASCADE_DTYPE_F32, ts[k]->ndim, shape, &t, NULL);
            cascade_tensor_free(ts[k]);
            ts[k] = t;
        }
        char buf[512];
        owned[k] = strdup(e->rename ? e->rename(en->name, buf, sizeof buf) : en->name);
        names[k] = owned[k];
        ok = ok && owned[k];
        k++;
    }
    if (ok && e->extra) {
        int64_t one = 1;
        ok = !cascade_tensor_new(CASCADE_DTYPE_F32, 1, &one, &ts[k], NULL);
        owned[k] = strdup(e->extra);
        names[k] = owned[k];
        k++;
    }
    ok = ok && !cascade_safetensors_write(dst, k, names, (const cascade_tensor *const *)ts, NULL,
                                          NULL);
    for (size_t i = 0; i < k; i++) {
        cascade_tensor_free(ts[i]);
        free(owned[i]);
    }
    free(ts);
    free(owned);
    free(names);
    cascade_safetensors_close(st);
    return ok;
}

test_component_fixture *test_component_fixture_new(const char *case_name) {
    char *rel = g_build_filename(case_name, "config.json", NULL);
    test_component_fixture *f = NULL;
    if (test_golden_exists(rel)) {
        f = calloc(1, sizeof *f);
        f->dir = test_make_tmpdir();
        if (!f->dir || !g_file_get_contents(test_golden_path(rel), &f->config, NULL, NULL)) {
            test_component_fixture_free(f);
            f = NULL;
        }
    }
    g_free(rel);
    return f;
}

void test_component_fixture_free(test_component_fixture *f) {
    if (!f) return;
    test_remove_dir(f->dir);
    free(f->dir);
    g_free(f->config);
    free(f);
}

int test_component_setup(void **state) {
    *state = test_component_fixture_new(*state);
    return 0;
}

int test_component_teardown(void **state) {
    test_component_fixture_free(*state);
    return 0;
}

bool test_json_load_nul_as(JsonParser *parser, const char *path, const char *stand_in,
                           GError **err) {
    gchar *text = NULL;
    gsize  len = 0;
    if (!g_file_get_contents(path, &text, &len, err)) return false;
    for (char *p = stand_in ? strstr(text, "\\u0000") : NULL; p; p = strstr(p + 1, "\\u0000")) {
        size_t backslashes = 0; /* "\\\\u0000" is an escaped backslash, then "u0000" */
        while (p - (ptrdiff_t)backslashes > text && p[-(ptrdiff_t)backslashes - 1] == '\\')
            backslashes++;
        if (backslashes % 2 == 0) memcpy(p, stand_in, 6);
    }
    bool ok = json_parser_load_from_data(parser, text, (gssize)len, err);
    g_free(text);
    return ok;
}

char *test_copy_golden(const char *case_dir, const char *const *names, size_t n) {
    char *dir = test_make_tmpdir();
    for (size_t i = 0; dir && i < n; i++) {
        gchar *data = NULL;
        gsize  len = 0;
        char  *src = g_build_filename(test_golden_path(case_dir), names[i], NULL);
        bool   ok = g_file_get_contents(src, &data, &len, NULL) &&
                  test_write_in(dir, names[i], data, len);
        g_free(src);
        g_free(data);
        if (!ok) {
            test_remove_copies(dir, names, i, NULL);
            return NULL;
        }
    }
    return dir;
}

bool test_write_in(const char *dir, const char *name, const void *data, size_t n) {
    char *p = g_build_filename(dir, name, NULL);
    bool  ok = test_write_file(p, data, n);
    g_free(p);
    return ok;
}

void test_remove_copies(char *dir, const char *const *names, size_t n, const char *extra) {
    for (size_t i = 0; i <= n; i++) {
        const char *name = i < n ? names[i] : extra;
        if (!name) continue;
        char *p = g_build_filename(dir, name, NULL);
        remove(p);
        g_free(p);
    }
    remove(dir);
    free(dir);
}

bool test_error_is(cascade_status got, const cascade_error *err, cascade_status want,
                   const char *needle) {
    if (got == want && strstr(err->message, needle)) return true;
    fprintf(stderr, "got %s: %s (wanted %s containing '%s')\n", cascade_status_name(got),
            err->message, cascade_status_name(want), needle);
    return false;
}
