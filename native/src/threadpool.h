/*
 * threadpool.h: a persistent pool of worker threads (ggml-style). The calling thread takes part
 * as thread 0. A job is n_tasks independent tasks handed out through an atomic counter; bn_pool_run
 * returns when all are done. Workers spin briefly after a job (so back-to-back jobs during
 * generation cost no wake-up) and then sleep on a condition variable (no CPU use while idle).
 */
#ifndef BN_THREADPOOL_H
#define BN_THREADPOOL_H

#include <stdint.h>

typedef struct bn_pool bn_pool;

/* task(arg, task_index, thread_index); thread_index is in [0, n_threads). */
typedef void (*bn_task_fn)(void *arg, int64_t task_index, int thread_index);

#define BN_MAX_THREADS 256

bn_pool *bn_pool_create(int n_threads); /* NULL if n_threads is out of range or a thread fails */
void bn_pool_free(bn_pool *pool);
int bn_pool_threads(const bn_pool *pool);
/* Not re-entrant: one job at a time per pool (the context lock guarantees it). */
void bn_pool_run(bn_pool *pool, bn_task_fn task, void *arg, int64_t n_tasks);

#endif /* BN_THREADPOOL_H */
