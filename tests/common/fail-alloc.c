/* The allocator wrappers behind fail-alloc.h. The linker's --wrap=malloc sends every call to
 * malloc of the statically linked objects to __wrap_malloc and makes __real_malloc the real
 * one (libc's, or the sanitizer's interceptor under -fsanitize=address, so ASan and LeakSanitizer
 * still see every block). Counting is atomic: the CPU backend's workers run ops on their own
 * threads. */
#include "fail-alloc.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void  __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
void  __wrap_free(void *p);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

static atomic_uint_fast64_t counter;  /* allocations since arm */
static atomic_uint_fast64_t armed_at; /* 0: none */
static atomic_bool          fired;
static atomic_bool          tracking;

/* Live blocks: an open-addressing table (linear probing, backward-shift deletion), so the
 * tracker itself never allocates. */
#define TABLE_BITS 19
#define TABLE_SIZE ((size_t)1 << TABLE_BITS)
typedef struct slot {
    void    *p;
    uint64_t seq;
} slot;
static slot            table[TABLE_SIZE];
static size_t          n_live;
static bool            overflowed;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

#define MAX_MARKS 16
#define MAX_RUNS  4096
static bool     recording; /* fail_alloc_mark records into marks[] */
static uint64_t marks[MAX_MARKS];
static int      n_marks;

static size_t hash_of(const void *p) {
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return (size_t)x & (TABLE_SIZE - 1);
}

static void table_insert(void *p, uint64_t seq) {
    if (n_live + 1 >= TABLE_SIZE / 2) {
        overflowed = true;
        return;
    }
    size_t i = hash_of(p);
    while (table[i].p)
        i = (i + 1) & (TABLE_SIZE - 1);
    table[i] = (slot){p, seq};
    n_live++;
}

static void table_remove(const void *p) {
    size_t i = hash_of(p);
    while (table[i].p && table[i].p != p)
        i = (i + 1) & (TABLE_SIZE - 1);
    if (!table[i].p) return; /* not allocated while tracking */
    n_live--;
    /* shift later entries of the probe run back into the hole */
    size_t j = i;
    for (;;) {
        table[i].p = NULL;
        for (;;) {
            j = (j + 1) & (TABLE_SIZE - 1);
            if (!table[j].p) return;
            size_t k = hash_of(table[j].p);
            bool   stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
            if (!stays) break;
        }
        table[i] = table[j];
        i = j;
    }
}

/* Counts one allocation; true when it is the one to fail. */
static bool next_fails(uint64_t *seq) {
    *seq = atomic_fetch_add(&counter, 1) + 1;
    uint64_t at = atomic_load(&armed_at);
    if (at && *seq == at) {
        atomic_store(&fired, true);
        errno = ENOMEM;
        return true;
    }
    return false;
}

static void *tracked(void *p, uint64_t seq) {
    if (p && atomic_load(&tracking)) {
        pthread_mutex_lock(&mu);
        table_insert(p, seq);
        pthread_mutex_unlock(&mu);
    }
    return p;
}

static void untrack(const void *p) {
    if (p && atomic_load(&tracking)) {
        pthread_mutex_lock(&mu);
        table_remove(p);
        pthread_mutex_unlock(&mu);
    }
}

void *__wrap_malloc(size_t n) {
    uint64_t seq;
    if (next_fails(&seq)) return NULL;
    return tracked(__real_malloc(n), seq);
}

void *__wrap_calloc(size_t n, size_t size) {
    uint64_t seq;
    if (next_fails(&seq)) return NULL;
    return tracked(__real_calloc(n, size), seq);
}

void *__wrap_realloc(void *p, size_t n) {
    if (p && n == 0) {
        untrack(p);
        return __real_realloc(p, n);
    }
    uint64_t seq;
    if (next_fails(&seq)) return NULL; /* p stays valid, as realloc leaves it */
    void *q = __real_realloc(p, n);
    if (q) {
        untrack(p);
        tracked(q, seq);
    }
    return q;
}

void __wrap_free(void *p) {
    untrack(p);
    __real_free(p);
}

char *__wrap_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char  *d = __wrap_malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

char *__wrap_strndup(const char *s, size_t n) {
    size_t len = strnlen(s, n);
    char  *d = __wrap_malloc(len + 1);
    if (d) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

void fail_alloc_arm(uint64_t nth) {
    atomic_store(&armed_at, 0);
    atomic_store(&fired, false);
    atomic_store(&counter, 0);
    atomic_store(&armed_at, nth);
}

bool fail_alloc_fired(void) {
    return atomic_load(&fired);
}
uint64_t fail_alloc_count(void) {
    return atomic_load(&counter);
}

void fail_alloc_track(bool on) {
    pthread_mutex_lock(&mu);
    if (on) {
        memset(table, 0, sizeof table);
        n_live = 0;
        overflowed = false;
    }
    atomic_store(&tracking, on);
    pthread_mutex_unlock(&mu);
}

size_t fail_alloc_live(uint64_t *first_seq) {
    pthread_mutex_lock(&mu);
    uint64_t first = UINT64_MAX;
    for (size_t i = 0; i < TABLE_SIZE; i++)
        if (table[i].p && table[i].seq < first) first = table[i].seq;
    size_t n = n_live;
    bool   over = overflowed;
    pthread_mutex_unlock(&mu);
    if (over) fail_msg("fail-alloc: more than %zu live blocks to track", TABLE_SIZE / 2);
    if (first_seq) *first_seq = n ? first : 0;
    return n;
}

void fail_alloc_mark(const char *phase) {
    (void)phase;
    if (recording && n_marks < MAX_MARKS) marks[n_marks++] = fail_alloc_count();
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static size_t sort_unique(uint64_t *ns, size_t k) {
    qsort(ns, k, sizeof *ns, cmp_u64);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (u == 0 || ns[i] != ns[u - 1]) ns[u++] = ns[i];
    return u;
}

/* The Ns to fail, sorted and unique, into ns (room for 2 * max_runs + 2): all of 1..total when
 * they are at most max_runs; else about half dense after the start and each mark (and the
 * last allocation), the rest spread evenly over the allocations not picked yet. */
static size_t pick_runs(uint64_t total, uint64_t max_runs, uint64_t *ns) {
    size_t k = 0;
    if (total <= max_runs) {
        for (uint64_t i = 1; i <= total; i++)
            ns[k++] = i;
        return k;
    }
    uint64_t dense = max_runs / 2 / (uint64_t)(n_marks + 1);
    if (dense == 0) dense = 1;
    for (int m = -1; m < n_marks; m++) {
        uint64_t from = m < 0 ? 0 : marks[m];
        for (uint64_t i = 1; i <= dense && from + i <= total; i++)
            ns[k++] = from + i;
    }
    ns[k++] = total;
    size_t u = sort_unique(ns, k);
    if (u >= max_runs) return u;
    /* the j-th of the c allocations not picked, for j = i c / r, i < r */
    uint64_t r = max_runs - u, c = total - u, j = 0, next = 0;
    size_t   d = 0, n = u;
    for (uint64_t a = 1; a <= total && j < r; a++) {
        while (d < u && ns[d] < a)
            d++;
        if (d < u && ns[d] == a) continue; /* picked already */
        if (next == j * c / r) {
            ns[n++] = a;
            j++;
        }
        next++;
    }
    return sort_unique(ns, n);
}

/* One run of op with allocation nth failing (0: none): its status, whether the failure
 * happened (*hit), the allocations it made (*count) and the blocks it left (*live, the
 * first of them *first). */
static cascade_status run_once(fail_alloc_op op, void *ctx, uint64_t nth, bool *hit,
                               uint64_t *count, size_t *live, uint64_t *first, cascade_error *err) {
    cascade_error_init(err);
    fail_alloc_track(true);
    fail_alloc_arm(nth);
    cascade_status st = op(ctx, err);
    *hit = fail_alloc_fired();
    *count = fail_alloc_count();
    fail_alloc_arm(0);
    *live = fail_alloc_live(first);
    fail_alloc_track(false);
    return st;
}

/* Checks one run; false (after printing why) when it went wrong. */
static bool run_checked(const char *label, fail_alloc_op op, void *ctx, uint64_t nth,
                        uint64_t *count, cascade_error *err) {
    bool           hit;
    size_t         live;
    uint64_t       first;
    cascade_status st = run_once(op, ctx, nth, &hit, count, &live, &first, err);
    bool           ok = true;
    if (live) {
        fprintf(stderr,
                "# %s: allocation %llu failing (%s: %s): %zu blocks stay allocated, the first "
                "is allocation %llu\n",
                label, (unsigned long long)nth, cascade_status_name(st), err->message, live,
                (unsigned long long)first);
        ok = false;
    }
    if (!hit) {
        /* no failure happened (a clean run, or fewer allocations this time): it must work */
        if (st) {
            fprintf(stderr, "# %s: %s with no allocation failing (%s)\n", label,
                    cascade_status_name(st), err->message);
            ok = false;
        }
    } else if (st == CASCADE_STATUS_OK) {
        fprintf(stderr, "# %s: allocation %llu failed, yet the run reports success\n", label,
                (unsigned long long)nth);
        ok = false;
    } else if (st != CASCADE_STATUS_OUT_OF_MEMORY || !strcasestr(err->message, "memory") ||
               strlen(err->message) <= strlen("out of memory")) {
        fprintf(stderr,
                "# %s: allocation %llu failing gave %s '%s'; want OUT_OF_MEMORY and a message "
                "saying so and naming what\n",
                label, (unsigned long long)nth, cascade_status_name(st), err->message);
        ok = false;
    }
    return ok;
}

void fail_alloc_sweep(const char *label, fail_alloc_op op, void *ctx, uint64_t max_runs,
                      fail_alloc_report *out) {
    cascade_error err;
    uint64_t      count;
    memset(out, 0, sizeof *out);
    if (!run_checked(label, op, ctx, 0, &count, &err))
        fail_msg("%s: the warm-up run failed", label);
    n_marks = 0;
    recording = true;
    bool clean = run_checked(label, op, ctx, 0, &out->allocations, &err);
    recording = false;
    if (!clean) fail_msg("%s: the clean run failed", label);
    if (out->allocations == 0) fail_msg("%s: no allocation to fail", label);
    static uint64_t ns[2 * MAX_RUNS + 2];
    if (max_runs > MAX_RUNS) max_runs = MAX_RUNS;
    size_t   n = pick_runs(out->allocations, max_runs, ns);
    uint64_t n_bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (!run_checked(label, op, ctx, ns[i], &count, &err)) n_bad++;
        if (count >= ns[i]) out->runs++;
    }
    fprintf(stderr, "# %s: %llu allocations, %llu failing runs checked, %llu wrong\n", label,
            (unsigned long long)out->allocations, (unsigned long long)out->runs,
            (unsigned long long)n_bad);
    if (n_bad)
        fail_msg("%s: %llu runs went wrong (listed above)", label, (unsigned long long)n_bad);
}
