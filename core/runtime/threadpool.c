/* A fixed pool of worker threads for parallel_for. The U-Nets run hundreds of small ops per
 * step, so handing work over must cost little: chunks are claimed with one atomic add, and a
 * thread that waits (a worker for the next op, the caller for the workers) spins briefly
 * before it sleeps on a condition variable: the next op usually comes within microseconds,
 * and a futex sleep and wake-up took a fifth of the shipped stage I's time. */
#include "threadpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

/* About 20-70 microseconds of pause instructions: long enough for the gap between two ops, short
 * enough that a thread waiting for a descheduled one soon sleeps instead (yielding in the spin
 * was tried: with other processes busy on every core, each yield gave away a whole time
 * slice, and a step took 40 times longer). */
enum { SPIN_ROUNDS = 500 };

struct cascade_threadpool {
    int              n_threads;
    pthread_t       *threads;
    pthread_mutex_t  mu;
    pthread_cond_t   work_cv, done_cv;
    _Atomic uint64_t generation; /* bumped (under mu) for each parallel_for */
    _Atomic int      pending;    /* workers still busy with this generation */
    bool             quit;       /* under mu */
    /* the current job, written before generation is bumped */
    cascade_range_fn fn;
    void            *ctx;
    int64_t          n, chunk;
    _Atomic int64_t  next; /* next unclaimed index */
};

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static bool claim(cascade_threadpool *tp, int64_t *b, int64_t *e) {
    int64_t s = atomic_fetch_add_explicit(&tp->next, tp->chunk, memory_order_relaxed);
    if (s >= tp->n) return false;
    *b = s;
    *e = s + tp->chunk < tp->n ? s + tp->chunk : tp->n;
    return true;
}

/* Spins until generation moves past seen; false when it did not within the spin. */
static bool spin_for_work(cascade_threadpool *tp, uint64_t seen) {
    for (int i = 0; i < SPIN_ROUNDS; i++) {
        if (atomic_load_explicit(&tp->generation, memory_order_acquire) != seen) return true;
        cpu_relax();
    }
    return false;
}

static void *worker(void *arg) {
    cascade_threadpool *tp = arg;
    uint64_t            seen = 0;
    for (;;) {
        if (!spin_for_work(tp, seen)) {
            pthread_mutex_lock(&tp->mu);
            while (!tp->quit && atomic_load(&tp->generation) == seen)
                pthread_cond_wait(&tp->work_cv, &tp->mu);
            bool quit = tp->quit;
            pthread_mutex_unlock(&tp->mu);
            if (quit) return NULL;
        }
        seen = atomic_load_explicit(&tp->generation, memory_order_acquire);
        if (!tp->fn) return NULL; /* cascade_threadpool_free's wake-up */
        int64_t b, e;
        while (claim(tp, &b, &e)) tp->fn(tp->ctx, b, e);
        if (atomic_fetch_sub_explicit(&tp->pending, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&tp->mu); /* the caller may be asleep on done_cv */
            pthread_cond_signal(&tp->done_cv);
            pthread_mutex_unlock(&tp->mu);
        }
    }
}

cascade_status cascade_threadpool_new(int n_threads, cascade_threadpool **out, cascade_error *err) {
    *out = NULL;
    if (n_threads < 1) n_threads = 1;
    cascade_threadpool *tp = calloc(1, sizeof *tp);
    if (!tp) return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "threadpool: out of memory");
    tp->n_threads = n_threads;
    pthread_mutex_init(&tp->mu, NULL);
    pthread_cond_init(&tp->work_cv, NULL);
    pthread_cond_init(&tp->done_cv, NULL);
    if (n_threads > 1) {
        tp->threads = calloc((size_t)n_threads - 1, sizeof *tp->threads);
        if (!tp->threads) {
            cascade_threadpool_free(tp);
            return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "threadpool: out of memory");
        }
        for (int i = 0; i < n_threads - 1; i++) {
            if (pthread_create(&tp->threads[i], NULL, worker, tp) != 0) {
                tp->n_threads = i + 1; /* the ones that started, plus the caller */
                break;
            }
        }
    }
    *out = tp;
    return CASCADE_STATUS_OK;
}

void cascade_threadpool_free(cascade_threadpool *tp) {
    if (!tp) return;
    pthread_mutex_lock(&tp->mu);
    tp->quit = true;
    tp->fn = NULL; /* a spinning worker sees the bumped generation with no job, and leaves */
    atomic_fetch_add_explicit(&tp->generation, 1, memory_order_release);
    pthread_cond_broadcast(&tp->work_cv);
    pthread_mutex_unlock(&tp->mu);
    for (int i = 0; i < tp->n_threads - 1 && tp->threads; i++) pthread_join(tp->threads[i], NULL);
    free(tp->threads);
    pthread_mutex_destroy(&tp->mu);
    pthread_cond_destroy(&tp->work_cv);
    pthread_cond_destroy(&tp->done_cv);
    free(tp);
}

int cascade_threadpool_size(const cascade_threadpool *tp) { return tp ? tp->n_threads : 1; }

void cascade_threadpool_parallel_for(cascade_threadpool *tp, int64_t n, int64_t min_chunk,
                                     cascade_range_fn fn, void *ctx) {
    if (n <= 0) return;
    if (!tp) { /* no pool: the caller does it all */
        fn(ctx, 0, n);
        return;
    }
    if (min_chunk < 1) min_chunk = 1;
    int64_t chunk = (n + tp->n_threads * 4 - 1) / (tp->n_threads * 4);
    if (chunk < min_chunk) chunk = min_chunk;
    if (tp->n_threads == 1 || chunk >= n) {
        fn(ctx, 0, n);
        return;
    }
    pthread_mutex_lock(&tp->mu);
    tp->fn = fn;
    tp->ctx = ctx;
    tp->n = n;
    tp->chunk = chunk;
    atomic_store_explicit(&tp->next, 0, memory_order_relaxed);
    atomic_store_explicit(&tp->pending, tp->n_threads - 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&tp->generation, 1, memory_order_release); /* publishes the job */
    pthread_cond_broadcast(&tp->work_cv);
    pthread_mutex_unlock(&tp->mu);
    int64_t b, e;
    while (claim(tp, &b, &e)) fn(ctx, b, e);
    for (int i = 0; i < SPIN_ROUNDS; i++) {
        if (atomic_load_explicit(&tp->pending, memory_order_acquire) == 0) return;
        cpu_relax();
    }
    pthread_mutex_lock(&tp->mu);
    while (atomic_load_explicit(&tp->pending, memory_order_acquire) > 0)
        pthread_cond_wait(&tp->done_cv, &tp->mu);
    pthread_mutex_unlock(&tp->mu);
}
