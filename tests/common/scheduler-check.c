/* See scheduler-check.h. */
#include "scheduler-check.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cascade/config.h"
#include "test-common.h"

cascade_status test_scheduler_make(const char *json, cascade_scheduler **out, cascade_error *err) {
    cascade_config *cfg = NULL;
    cascade_error_init(err);
    *out = NULL;
    cascade_status st =
        cascade_config_parse(json, strlen(json), "scheduler_config.json", &cfg, err);
    if (st == CASCADE_STATUS_OK) st = cascade_scheduler_new(cfg, out, err);
    cascade_config_free(cfg);
    return st;
}

cascade_scheduler *test_scheduler_make_ok(const char *json) {
    cascade_error      err;
    cascade_scheduler *s = NULL;
    cascade_status     st = test_scheduler_make(json, &s, &err);
    if (st != CASCADE_STATUS_OK) fprintf(stderr, "%s: %s\n", json, err.message);
    assert_int_equal(st, CASCADE_STATUS_OK);
    assert_non_null(s);
    return s;
}

void test_expect_close(const char *what, const float *got, const double *want, size_t n,
                       double atol, double rtol) {
    float *w = malloc(n * sizeof *w);
    assert_non_null(w);
    for (size_t i = 0; i < n; i++)
        w[i] = (float)want[i];
    test_diff d;
    bool      ok = test_compare(got, w, n, atol, rtol, &d);
    if (!ok) test_diff_print(what, got, w, n, &d);
    free(w);
    assert_true(ok);
}

void test_expect_distinct(const double *a, const double *b, size_t n, double atol, double rtol) {
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double ex = fabs(a[i] - b[i]) - (atol + rtol * fabs(b[i]));
        worst = ex > worst ? ex : worst;
    }
    assert_true(worst > 0);
}
