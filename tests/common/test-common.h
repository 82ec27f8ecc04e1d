/* Helpers shared by the tests: golden-file locations, seeded fills, tensor comparison in
 * llm.c's style (first values side by side, max |diff|, NMSE, worst index), temp files. */
#ifndef CASCADE_TEST_COMMON_H
#define CASCADE_TEST_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* $CASCADE_GOLDEN_DIR, else "../shared/golden" (tests run from the source root). */
const char *test_golden_dir(void);
/* "<golden dir>/<rel>" in a static buffer (valid until the next call). */
const char *test_golden_path(const char *rel);
bool        test_golden_exists(const char *rel);

/* Deterministic uniform fill in [lo, hi) (splitmix64). */
void test_fill_uniform(float *x, size_t n, uint64_t seed, float lo, float hi);

typedef struct test_diff {
    double  max_abs;    /* max |got - want| */
    double  max_rel;    /* max |got - want| / |want| over |want| > 1e-6 */
    double  nmse;       /* sum (got-want)^2 / sum want^2 */
    size_t  worst;      /* index of the largest excess over the tolerance (or max_abs) */
    size_t  n_bad;      /* elements outside atol + rtol |want| */
} test_diff;

/* Elementwise |got - want| <= atol + rtol |want|; NaN anywhere fails. Fills d. */
bool test_compare(const float *got, const float *want, size_t n, double atol, double rtol,
                  test_diff *d);
/* Prints the first values side by side and the summary to stderr. */
void test_diff_print(const char *label, const float *got, const float *want, size_t n,
                     const test_diff *d);

/* mkdtemp under $TMPDIR; the returned path is malloc'd. */
char *test_make_tmpdir(void);
bool  test_write_file(const char *path, const void *data, size_t n);

/* How test_edit_weights changes a safetensors file (every field may be NULL). */
typedef struct test_weight_edit {
    const char *drop;  /* a tensor left out */
    const char *grow;  /* a tensor whose first dim gets one more row (zero data) */
    const char *extra; /* a (1) tensor added under this name */
    /* new name of a tensor (into buf, or name itself when unchanged) */
    const char *(*rename)(const char *name, char *buf, size_t n);
} test_weight_edit;

/* Writes the tensors of safetensors file src, as F32 and edited by e, to dst. */
bool test_edit_weights(const char *src, const char *dst, const test_weight_edit *e);

#endif
