/* Helpers shared by the tests: golden-file locations, seeded fills, tensor comparison in
 * llm.c's style (first values side by side, max |diff|, NMSE, worst index), temp files. */
#ifndef CASCADE_TEST_COMMON_H
#define CASCADE_TEST_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-glib/json-glib.h>

#include "cascade/status.h"

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

/* Loads the JSON file at path into parser. U+0000 cannot pass through a C string (json-glib
 * cuts strings there): when stand_in is set, each "\\u0000" escape in the file is first
 * replaced by that 6-character escape (e.g. "\\u0001" for a tokenizer that drops both alike).
 * False with *err set when the file cannot be read or parsed. */
bool test_json_load_nul_as(JsonParser *parser, const char *path, const char *stand_in,
                           GError **err);

/* A new temp dir (malloc'd path) holding copies of the named files of the golden case
 * folder case_dir; NULL when one cannot be read or written. */
char *test_copy_golden(const char *case_dir, const char *const *names, size_t n);
/* Writes n bytes of data to dir/name; false on failure. */
bool  test_write_in(const char *dir, const char *name, const void *data, size_t n);
/* Removes dir/name for each of the n names (and extra, when set), then dir; frees dir. */
void  test_remove_copies(char *dir, const char *const *names, size_t n, const char *extra);
/* True when got is want and err's message holds needle; else prints what came instead. */
bool  test_error_is(cascade_status got, const cascade_error *err, cascade_status want,
                    const char *needle);

/* mkdtemp under $TMPDIR; the returned path is malloc'd. */
char *test_make_tmpdir(void);
bool  test_write_file(const char *path, const void *data, size_t n);
/* For loader tests: an empty temp dir to assemble a component in, and the text of a
 * golden component's config.json to edit. */
typedef struct test_component_fixture {
    char *dir;
    char *config;
} test_component_fixture;
/* NULL when the golden case "<case_name>/config.json" is absent (the test then skips). */
test_component_fixture *test_component_fixture_new(const char *case_name);
void                    test_component_fixture_free(test_component_fixture *f); /* NULL-safe */
/* cmocka setup/teardown around them: the prestate is the case name, the state becomes the
 * fixture (NULL when the case is absent): cmocka_unit_test_prestate_setup_teardown(fn,
 * test_component_setup, test_component_teardown, (void *)"t5_encoder"). */
int test_component_setup(void **state);
int test_component_teardown(void **state);
/* Removes the files of a flat directory, then the directory. NULL-safe. */
void test_remove_dir(const char *dir);
/* Copies the safetensors file src to dst as F32, leaving out the tensor `drop` and adding
 * a copy of src's tensor `extra_from` under the name `extra_name` (NULL: neither). */
bool test_copy_weights(const char *src, const char *dst, const char *drop, const char *extra_name,
                       const char *extra_from);
/* Writes {"k": [[[...depth arrays...]]]} to path: a hostile JSON that overflows the stack of a
 * recursive parser at depth 80,000 (issue 14); generated, never committed. */
bool test_write_nested_json(const char *path, size_t depth);

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
