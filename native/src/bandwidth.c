/*
 * bandwidth.c: measures the memory read bandwidth the kernels are judged against, in the same
 * process, with the same threads and the same kernel variant's widest loads. The buffer must be
 * much larger than the last-level cache (the caller picks; the CLI uses >= 1 GiB by default).
 */
#include <stdlib.h>

#include "context.h"

typedef struct {
    const bn_kernel_table *kt;
    const uint8_t *buf;
    size_t chunk; /* bytes per task, a multiple of 256 */
    uint64_t sums[BN_MAX_THREADS];
} read_job;

static void read_task(void *arg, int64_t task, int thread_index) {
    read_job *j = (read_job *)arg;
    j->sums[thread_index] += j->kt->read_sum(j->buf + (size_t)task * j->chunk, j->chunk);
}

int bn_measure_read_bandwidth(bn_ctx *ctx, size_t bytes, int repeats, double *gbps) {
    if (!ctx || !gbps) return BN_ERR_NULL_POINTER;
    if (repeats < 1 || bytes < ((size_t)1 << 20)) return BN_ERR_BAD_VALUE;

    if (bn_ctx_cancelled(ctx)) return BN_ERR_CANCELLED;
    bn_mutex_lock(&ctx->op_lock);
    /* Many small tasks rather than one per thread, so a late-waking worker cannot skew the result. */
    const int threads = bn_pool_threads(ctx->pool);
    const size_t chunk = (size_t)1 << 20;
    const int64_t n_tasks = (int64_t)(bytes / chunk);
    const size_t total = (size_t)n_tasks * chunk;
    uint8_t *buf = (uint8_t *)bn_aligned_alloc(64, total);
    if (!buf) { bn_mutex_unlock(&ctx->op_lock); return BN_ERR_OUT_OF_MEMORY; }
    for (size_t i = 0; i < total; i++) buf[i] = (uint8_t)(i * 131u); /* commit pages */
    read_job *job = (read_job *)calloc(1, sizeof *job);
    if (!job) { bn_aligned_free(buf); bn_mutex_unlock(&ctx->op_lock); return BN_ERR_OUT_OF_MEMORY; }
    job->kt = ctx->kt;
    job->buf = buf;
    job->chunk = chunk;
    double best = 0.0;
    for (int r = 0; r < repeats; r++) {
        const double t0 = bn_now_seconds();
        bn_pool_run(ctx->pool, read_task, job, n_tasks);
        const double dt = bn_now_seconds() - t0;
        const double rate = (double)total / dt / 1e9;
        if (rate > best) best = rate;
    }
    volatile uint64_t sink = 0;
    for (int i = 0; i < threads; i++) sink += job->sums[i];
    (void)sink;
    free(job);
    bn_aligned_free(buf);
    bn_mutex_unlock(&ctx->op_lock);
    *gbps = best;
    return BN_OK;
}
