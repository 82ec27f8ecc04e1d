#include "threadpool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct cascade_threadpool {
    int              n_threads;
    pthread_t       *threads;
    pthread_mutex_t  mu;
    pthread_cond_t   work_cv, done_cv;
    uint64_t         generation; /* bumped for each parallel_for */
    int              pending;    /* workers still busy with this generation */
    bool             quit;
    /* the current job */
    cascade_range_fn fn;
    void            *ctx;
    int64_t          n, chunk;
    int64_t          next; /* next unclaimed index, taken under mu */
};

static bool claim(cascade_threadpool *tp, int64_t *b, int64_t *e) {
    pthread_mutex_lock(&tp->mu);
    bool ok = tp->next < tp->n;
    if (ok) {
        *b = tp->next;
        *e = tp->next + tp->chunk < tp->n ? tp->next + tp->chunk : tp->n;
        tp->next = *e;
    }
    pthread_mutex_unlock(&tp->mu);
    return ok;
}

static void *worker(void *arg) {
    cascade_threadpool *tp = arg;
    uint64_t            seen = 0;
    for (;;) {
        pthread_mutex_lock(&tp->mu);
        while (!tp->quit && tp->generation == seen) pthread_cond_wait(&tp->work_cv, &tp->mu);
        if (tp->quit) {
            pthread_mutex_unlock(&tp->mu);
            return NULL;
        }
        seen = tp->generation;
        pthread_mutex_unlock(&tp->mu);
        int64_t b, e;
        while (claim(tp, &b, &e)) tp->fn(tp->ctx, b, e);
        pthread_mutex_lock(&tp->mu);
        if (--tp->pending == 0) pthread_cond_signal(&tp->done_cv);
        pthread_mutex_unlock(&tp->mu);
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
    pthread_cond_broadcast(&tp->work_cv);
    pthread_mutex_unlock(&tp->mu);
    for (int i = 0; i < tp->n_threads - 1 && tp->threads; i++) pthread_join(tp->threads[i], NULL);
    free(tp->threads);
    pthread_mutex_destroy(&tp->mu);
    pthread_cond_destroy(&tp->work_cv);
    pthread_cond_destroy(&tp->done_cv);
    free(tp);
}

int cascade_threadpool_size(const cascade_threadpool *tp) { return tp->n_threads; }

void cascade_threadpool_parallel_for(cascade_threadpool *tp, int64_t n, int64_t min_chunk,
                                     cascade_range_fn fn, void *ctx) {
    if (n <= 0) return;
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
    tp->next = 0;
    tp->pending = tp->n_threads - 1;
    tp->generation++;
    pthread_cond_broadcast(&tp->work_cv);
    pthread_mutex_unlock(&tp->mu);
    int64_t b, e;
    while (claim(tp, &b, &e)) fn(ctx, b, e);
    pthread_mutex_lock(&tp->mu);
    while (tp->pending > 0) pthread_cond_wait(&tp->done_cv, &tp->mu);
    pthread_mutex_unlock(&tp->mu);
}
