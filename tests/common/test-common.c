#include "test-common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

bool test_write_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return false;
    bool ok = fwrite(data, 1, n, f) == n;
    return fclose(f) == 0 && ok;
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
