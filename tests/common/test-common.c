#include "test-common.h"

#include <glib.h>
#include <json-glib/json-glib.h>

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

bool test_write_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return false;
    bool ok = fwrite(data, 1, n, f) == n;
    return fclose(f) == 0 && ok;
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
            test_remove_dir(dir, names, i, NULL);
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

void test_remove_dir(char *dir, const char *const *names, size_t n, const char *extra) {
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
