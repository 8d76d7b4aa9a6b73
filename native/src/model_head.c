/*
 * model_head.c: what bn_model_create builds for the head from the caller's table (F16, Q8_0 or
 * Q6_K rows), one pool job over row chunks:
 *  - BN_HEAD_I8: the int8 head. A Q8_0 / Q6_K row is decoded to f16 (embedding_rows.c) into a
 *    per-thread row, then quantized as bn_quantize_rows_i8 quantizes an f16 row (rows_i8.c), so
 *    the head is bit-identical to one built from an f16 copy of the table, which never exists.
 *  - BN_HEAD_F16 with a Q8_0 / Q6_K table: its f16 decode, owned by the model.
 */
#include <math.h>
#include <stdlib.h>

#include "embedding_rows.h"
#include "model.h"
#include "rows_i8.h"

#define ALIGN 64

typedef struct {
    const model_table *t;
    int64_t d, vocab, rows_per_task;
    const float *f16_value;  /* int8 build: bn_f16_value_table */
    uint16_t *thread_rows;   /* int8 build from Q8_0 / Q6_K: [n_threads][d] decoded rows */
    int8_t *head_i8;         /* int8 build: [vocab, d] */
    float *scales;           /* int8 build: [vocab] */
    uint16_t *decoded;       /* f16 decode: [vocab, d] */
} head_build_job;

static void row_range(const head_build_job *j, int64_t task, int64_t *r0, int64_t *r1) {
    *r0 = task * j->rows_per_task;
    *r1 = *r0 + j->rows_per_task < j->vocab ? *r0 + j->rows_per_task : j->vocab;
}

/* 1 when no value of the f16 row is NaN or infinite (exponent bits all ones). */
static int f16_row_finite(const uint16_t *row, int64_t d) {
    uint16_t special = 0;
    for (int64_t i = 0; i < d; i++) special |= (uint16_t)((row[i] & 0x7c00) == 0x7c00);
    return !special;
}

/* A row holding NaN or infinity gets a NaN scale, which marks it for run_build: int8
 * quantization would map those values to finite codes (bn_quantize_rows_i8's definition) and the
 * head would give meaningless finite logits instead of failing. */
static void build_i8_task(void *arg, int64_t task, int thread_index) {
    const head_build_job *j = (const head_build_job *)arg;
    const model_table *t = j->t;
    int64_t r0, r1;
    row_range(j, task, &r0, &r1);
    uint16_t *decoded = j->thread_rows ? j->thread_rows + (int64_t)thread_index * j->d : NULL;
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *stored = t->data + (uint64_t)r * t->row_bytes;
        const uint16_t *row = (const uint16_t *)stored; /* an F16 table is quantized in place */
        if (decoded) {
            bn_embedding_row_to_f16(t->type, stored, j->d, decoded);
            row = decoded;
        }
        bn_f16_row_to_i8(row, j->d, j->f16_value, j->head_i8 + r * j->d, &j->scales[r]);
        if (!f16_row_finite(row, j->d)) j->scales[r] = NAN;
    }
}

static void decode_task(void *arg, int64_t task, int thread_index) {
    (void)thread_index;
    const head_build_job *j = (const head_build_job *)arg;
    int64_t r0, r1;
    row_range(j, task, &r0, &r1);
    for (int64_t r = r0; r < r1; r++) {
        bn_embedding_row_to_f16(j->t->type, j->t->data + (uint64_t)r * j->t->row_bytes, j->d,
                                j->decoded + r * j->d);
    }
}

/* Runs under the context lock (the pool is the context's; its thread count cannot change). */
static int run_build(bn_model *m, head_build_job *job, int64_t *bad_row) {
    bn_ctx *ctx = m->ctx;
    const int64_t n_tasks = (job->vocab + job->rows_per_task - 1) / job->rows_per_task;
    if (m->cfg.head_mode == BN_HEAD_F16) {
        bn_pool_run(ctx->pool, decode_task, job, n_tasks);
        return BN_OK;
    }
    float *f16_value = bn_f16_value_table();
    uint16_t *thread_rows = NULL;
    if (job->t->type != BN_GGML_F16) {
        /* <= 256 threads * 2^16 values * 2 bytes */
        thread_rows = (uint16_t *)malloc((size_t)bn_pool_threads(ctx->pool) * (size_t)job->d * sizeof(uint16_t));
    }
    int status = BN_ERR_OUT_OF_MEMORY;
    if (f16_value && (thread_rows || job->t->type == BN_GGML_F16)) {
        job->f16_value = f16_value;
        job->thread_rows = thread_rows;
        bn_pool_run(ctx->pool, build_i8_task, job, n_tasks);
        status = BN_OK;
        for (int64_t r = 0; r < job->vocab; r++) {
            if (isnan(job->scales[r])) { /* the first one, whatever the thread count */
                *bad_row = r;
                status = BN_ERR_BAD_VALUE;
                break;
            }
        }
    }
    free(thread_rows);
    free(f16_value);
    return status;
}

int bn_model_build_head(bn_model *m, const model_table *t, int64_t *bad_row) {
    const int decode = m->cfg.head_mode == BN_HEAD_F16;
    if (decode && t->type == BN_GGML_F16) return BN_OK; /* the head streams the caller's table */
    if (decode) {
        m->head_decoded = (uint16_t *)bn_aligned_alloc(ALIGN, (size_t)m->dm.decoded_head_bytes);
        if (!m->head_decoded) return BN_ERR_OUT_OF_MEMORY;
    }
    head_build_job job = {t, m->dm.d, m->dm.vocab, 0, NULL, NULL, m->head_i8, m->head_i8_scales,
                          m->head_decoded};
    bn_ctx *ctx = m->ctx;
    if (bn_ctx_cancelled(ctx)) return BN_ERR_CANCELLED;
    bn_mutex_lock(&ctx->op_lock);
    job.rows_per_task = bn_rows_per_task(ctx, job.vocab);
    const int status = run_build(m, &job, bad_row);
    bn_mutex_unlock(&ctx->op_lock);
    return status;
}
