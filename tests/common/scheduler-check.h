/* Helpers the scheduler tests share: a scheduler from config text, and closed-form checks. */
#ifndef CASCADE_TEST_SCHEDULER_CHECK_H
#define CASCADE_TEST_SCHEDULER_CHECK_H

#include <stddef.h>

#include "cascade/scheduler.h"

/* A scheduler from scheduler_config.json text (the error names that file). */
cascade_status test_scheduler_make(const char *json, cascade_scheduler **out, cascade_error *err);
/* The same, failing the test (printing the config and the message) unless it loads. */
cascade_scheduler *test_scheduler_make_ok(const char *json);
/* got (float32, the engine) against want (double, a closed form): |d| <= atol + rtol |want|,
 * else the difference is printed under what and the test fails. */
void test_expect_close(const char *what, const float *got, const double *want, size_t n,
                       double atol, double rtol);
/* a and b differ by more than that tolerance somewhere, so a check against a can tell them
 * apart (an option's closed form and the one it would be confused with). */
void test_expect_distinct(const double *a, const double *b, size_t n, double atol, double rtol);

#endif
