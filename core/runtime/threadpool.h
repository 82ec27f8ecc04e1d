/* A fixed pool of worker threads that split index ranges: parallel-for for the CPU ops. */
#ifndef CASCADE_THREADPOOL_H
#define CASCADE_THREADPOOL_H

#include <stdint.h>

#include "cascade/status.h"

typedef struct cascade_threadpool cascade_threadpool;

/* fn processes [begin, end) of the range; it may run on any thread, never twice for an index. */
typedef void (*cascade_range_fn)(void *ctx, int64_t begin, int64_t end);

/* n_threads includes the caller's thread; 1 makes no workers. */
cascade_status cascade_threadpool_new(int n_threads, cascade_threadpool **out, cascade_error *err);
void           cascade_threadpool_free(cascade_threadpool *tp); /* NULL-safe */
int            cascade_threadpool_size(const cascade_threadpool *tp); /* NULL: 1 */

/* Runs fn over [0, n) in chunks of at least min_chunk and returns when all are done (a NULL
 * pool: on the calling thread). Not reentrant: call it from one thread at a time. */
void cascade_threadpool_parallel_for(cascade_threadpool *tp, int64_t n, int64_t min_chunk,
                                     cascade_range_fn fn, void *ctx);

#endif
