/* Host allocation-failure injection for the out-of-memory tests (issue 14), as ncnn's _oom
 * tests do. An executable linked with fail_alloc_dep (meson: -Wl,--wrap=malloc,...) routes
 * malloc, calloc, realloc, strdup, strndup and free of every object linked statically (all of
 * libcascade, the test itself) through tests/common/fail-alloc.c; shared libraries (GLib and
 * json-glib, whose g_malloc aborts on failure by design, OpenBLAS, sentencepiece, the Vulkan
 * driver) keep the real allocator and are neither failed nor counted.
 *
 * fail_alloc_sweep() runs an operation with its 1st, 2nd, 3rd ... allocation failing and
 * checks every path: the failure is reported as OUT_OF_MEMORY with a message that says so,
 * and every block the operation took is freed again. */
#ifndef CASCADE_FAIL_ALLOC_H
#define CASCADE_FAIL_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cascade/status.h"

/* The nth allocation from now fails (1: the next one); 0 disarms. Counting restarts. */
void fail_alloc_arm(uint64_t nth);
/* Whether the armed allocation has failed since fail_alloc_arm. */
bool fail_alloc_fired(void);
/* Allocations seen since fail_alloc_arm (the failed one included). */
uint64_t fail_alloc_count(void);
/* Live-block tracking: blocks allocated while on are recorded until freed (on clears the
 * record). fail_alloc_live() is the number still held; *first_seq (may be NULL) gets the
 * smallest allocation number (as counted from arm, 1-based) among them. */
void   fail_alloc_track(bool on);
size_t fail_alloc_live(uint64_t *first_seq);

/* Called inside a swept operation at the start of a phase ("load", "plan", "run"): the sweep
 * fails the allocations just after each mark densely, so no phase is skipped by a stride. */
void fail_alloc_mark(const char *phase);

/* The operation: makes, uses and frees everything it needs; returns its status. A run that
 * succeeds checks its own result (returning FORMAT when it is wrong). */
typedef cascade_status (*fail_alloc_op)(void *ctx, cascade_error *err);

typedef struct fail_alloc_report {
    uint64_t allocations; /* in one clean run */
    uint64_t runs;        /* runs checked in which an allocation failed */
} fail_alloc_report;

/* Runs op once clean (a warm-up, so caches a backend keeps across runs exist), once more to
 * count its allocations, then with allocation N failing for N = 1, 2, ... (every N when there
 * are at most max_runs, at most 4096; else the first ones after each mark plus an even
 * stride). Fails the test (cmocka) unless every run that hit its failure returned
 * OUT_OF_MEMORY with "memory" in the message (a failure swallowed into success is wrong
 * too), every run that did not succeeded, and no run left a block allocated; each wrong run
 * is printed, labelled. */
void fail_alloc_sweep(const char *label, fail_alloc_op op, void *ctx, uint64_t max_runs,
                      fail_alloc_report *out);

#endif
