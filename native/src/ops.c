/*
 * ops.c: the public operations. Each one validates every pointer, shape and buffer length,
 * honours the cancel flag, then splits its rows across the context's thread pool and calls the
 * context's kernel table. Buffer lengths are element counts of the buffer's own type.
 */
#include <stdlib.h>

#include "context.h"
#include "rows_i8.h"

#define CHECK(cond, status) do { if (!(cond)) return (status); } while (0)

/* Runs under the context lock; returns BN_ERR_CANCELLED if the flag is up. */
#define BEGIN_OP(ctx)                                              \
    do {                                                           \
        if (!(ctx)) return BN_ERR_NULL_POINTER;                    \
        if (bn_ctx_cancelled(ctx)) return BN_ERR_CANCELLED;        \
        bn_mutex_lock(&(ctx)->op_lock);                            \
    } while (0)
#define END_OP(ctx) bn_mutex_unlock(&(ctx)->op_lock)

/* ---- activation quantization: one task per row ---- */

typedef struct {
    const bn_kernel_table *kt;
    const float *x;
    int64_t k;
    int8_t *q;
    float *scales;
    int32_t *sums;
} quantize_job;

static void quantize_task(void *arg, int64_t row, int thread_index) {
    (void)thread_index;
    const quantize_job *j = (const quantize_job *)arg;
    j->kt->quantize_row(j->x + row * j->k, j->k, j->q + row * j->k, &j->scales[row], &j->sums[row]);
}

int bn_quantize_activations(bn_ctx *ctx, const float *x, int64_t n_rows, int64_t k, int8_t *q,
                            size_t q_len, float *scales, int32_t *sums) {
    CHECK(ctx && x && q && scales && sums, BN_ERR_NULL_POINTER);
    CHECK(n_rows > 0 && k > 0, BN_ERR_BAD_SHAPE);
    int64_t n;
    CHECK(bn_mul_ok(n_rows, k, &n), BN_ERR_BAD_SHAPE);
    CHECK((uint64_t)n <= (uint64_t)q_len, BN_ERR_BUFFER_TOO_SMALL);
    BEGIN_OP(ctx);
    quantize_job job = {ctx->kt, x, k, q, scales, sums};
    bn_pool_run(ctx->pool, quantize_task, &job, n_rows);
    END_OP(ctx);
    return BN_OK;
}

/* ---- matmuls: one task per chunk of output rows, all tokens ---- */

typedef enum { MM_I2S, MM_F16, MM_I8 } matmul_kind;

typedef struct {
    const bn_kernel_table *kt;
    matmul_kind kind;
    const void *w;
    const float *w_scales; /* MM_I8 */
    float alpha;           /* MM_I2S */
    int64_t m, k, n_tokens, rows_per_task;
    const void *act;       /* int8 q (I2S, I8) or float x (F16) */
    const float *scales;
    const int32_t *sums;
    float *y;
} matmul_job;

static void matmul_task(void *arg, int64_t task, int thread_index) {
    (void)thread_index;
    const matmul_job *j = (const matmul_job *)arg;
    const int64_t r0 = task * j->rows_per_task;
    const int64_t r1 = r0 + j->rows_per_task < j->m ? r0 + j->rows_per_task : j->m;
    switch (j->kind) {
    case MM_I2S:
        j->kt->i2s_gemm((const uint8_t *)j->w, j->k, r0, r1, j->alpha, (const int8_t *)j->act,
                        j->scales, j->sums, j->n_tokens, j->y, j->m);
        break;
    case MM_F16:
        j->kt->f16_gemm((const uint16_t *)j->w, j->k, r0, r1, (const float *)j->act, j->n_tokens,
                        j->y, j->m);
        break;
    case MM_I8:
        j->kt->i8_gemm((const int8_t *)j->w, j->w_scales, j->k, r0, r1, (const int8_t *)j->act,
                       j->scales, j->n_tokens, j->y, j->m);
        break;
    }
}

static void run_matmul(bn_ctx *ctx, matmul_job *job) {
    job->kt = ctx->kt;
    job->rows_per_task = bn_rows_per_task(ctx, job->m);
    const int64_t n_tasks = (job->m + job->rows_per_task - 1) / job->rows_per_task;
    bn_pool_run(ctx->pool, matmul_task, job, n_tasks);
}

/* Shared checks: positive dims, k a multiple of `k_block`, activation and output lengths. */
static int check_matmul_shape(int64_t m, int64_t k, int64_t k_block, int64_t n_tokens,
                              size_t act_len, size_t y_len) {
    CHECK(m > 0 && k > 0 && n_tokens > 0, BN_ERR_BAD_SHAPE);
    CHECK(k % k_block == 0, BN_ERR_BAD_SHAPE);
    int64_t n_w, n_act, n_y;
    CHECK(bn_mul_ok(m, k, &n_w) && bn_mul_ok(n_tokens, k, &n_act) && bn_mul_ok(n_tokens, m, &n_y),
          BN_ERR_BAD_SHAPE);
    CHECK((uint64_t)n_act <= (uint64_t)act_len && (uint64_t)n_y <= (uint64_t)y_len,
          BN_ERR_BUFFER_TOO_SMALL);
    return BN_OK;
}

size_t bn_i2s_nbytes(int64_t m, int64_t k) {
    int64_t n;
    if (m <= 0 || k <= 0 || !bn_mul_ok(m, k, &n)) return 0;
    return (size_t)(n / 4 + BN_I2S_TAIL_BYTES);
}

int bn_i2s_matmul(bn_ctx *ctx, const uint8_t *w, size_t w_len, int64_t m, int64_t k,
                  const int8_t *q, size_t q_len, const float *scales, const int32_t *sums,
                  int64_t n_tokens, float *y, size_t y_len) {
    CHECK(ctx && w && q && scales && sums && y, BN_ERR_NULL_POINTER);
    int status = check_matmul_shape(m, k, BN_I2S_BLOCK, n_tokens, q_len, y_len);
    if (status != BN_OK) return status;
    const size_t need = bn_i2s_nbytes(m, k);
    CHECK(need != 0, BN_ERR_BAD_SHAPE);
    CHECK(w_len >= need, BN_ERR_BUFFER_TOO_SMALL);
    matmul_job job = {0};
    job.kind = MM_I2S;
    job.w = w;
    memcpy(&job.alpha, w + (need - BN_I2S_TAIL_BYTES), sizeof job.alpha); /* little-endian f32 */
    job.m = m; job.k = k; job.n_tokens = n_tokens;
    job.act = q; job.scales = scales; job.sums = sums; job.y = y;
    BEGIN_OP(ctx);
    run_matmul(ctx, &job);
    END_OP(ctx);
    return BN_OK;
}

int bn_f16_matmul(bn_ctx *ctx, const uint16_t *w, size_t w_len, int64_t m, int64_t k,
                  const float *x, size_t x_len, int64_t n_tokens, float *y, size_t y_len) {
    CHECK(ctx && w && x && y, BN_ERR_NULL_POINTER);
    int status = check_matmul_shape(m, k, 32, n_tokens, x_len, y_len);
    if (status != BN_OK) return status;
    int64_t n_w;
    CHECK(bn_mul_ok(m, k, &n_w), BN_ERR_BAD_SHAPE);
    CHECK((uint64_t)n_w <= (uint64_t)w_len, BN_ERR_BUFFER_TOO_SMALL);
    matmul_job job = {0};
    job.kind = MM_F16;
    job.w = w; job.m = m; job.k = k; job.n_tokens = n_tokens; job.act = x; job.y = y;
    BEGIN_OP(ctx);
    run_matmul(ctx, &job);
    END_OP(ctx);
    return BN_OK;
}

int bn_i8_matmul(bn_ctx *ctx, const int8_t *w, size_t w_len, const float *w_scales, int64_t m,
                 int64_t k, const int8_t *q, size_t q_len, const float *scales, int64_t n_tokens,
                 float *y, size_t y_len) {
    CHECK(ctx && w && w_scales && q && scales && y, BN_ERR_NULL_POINTER);
    int status = check_matmul_shape(m, k, 32, n_tokens, q_len, y_len);
    if (status != BN_OK) return status;
    int64_t n_w;
    CHECK(bn_mul_ok(m, k, &n_w), BN_ERR_BAD_SHAPE);
    CHECK((uint64_t)n_w <= (uint64_t)w_len, BN_ERR_BUFFER_TOO_SMALL);
    matmul_job job = {0};
    job.kind = MM_I8;
    job.w = w; job.w_scales = w_scales; job.m = m; job.k = k; job.n_tokens = n_tokens;
    job.act = q; job.scales = scales; job.y = y;
    BEGIN_OP(ctx);
    run_matmul(ctx, &job);
    END_OP(ctx);
    return BN_OK;
}

/* ---- per-row int8 quantization of f16 rows (fast head), one task per row chunk ---- */

typedef struct {
    const uint16_t *w;
    int64_t m, k, rows_per_task;
    int8_t *out;
    float *row_scales;
    const float *f16_value; /* [65536]: bn_f16_to_f32_scalar of every bit pattern */
} rows_i8_job;

static void quantize_rows_i8_task(void *arg, int64_t task, int thread_index) {
    (void)thread_index;
    const rows_i8_job *j = (const rows_i8_job *)arg;
    const int64_t r0 = task * j->rows_per_task;
    const int64_t r1 = r0 + j->rows_per_task < j->m ? r0 + j->rows_per_task : j->m;
    for (int64_t r = r0; r < r1; r++) {
        bn_f16_row_to_i8(j->w + r * j->k, j->k, j->f16_value, j->out + r * j->k, &j->row_scales[r]);
    }
}

int bn_quantize_rows_i8(bn_ctx *ctx, const uint16_t *w, size_t w_len, int64_t m, int64_t k,
                        int8_t *out, size_t out_len, float *row_scales) {
    CHECK(ctx && w && out && row_scales, BN_ERR_NULL_POINTER);
    CHECK(m > 0 && k > 0, BN_ERR_BAD_SHAPE);
    int64_t n;
    CHECK(bn_mul_ok(m, k, &n), BN_ERR_BAD_SHAPE);
    CHECK((uint64_t)n <= (uint64_t)w_len && (uint64_t)n <= (uint64_t)out_len,
          BN_ERR_BUFFER_TOO_SMALL);
    BEGIN_OP(ctx);
    float *f16_value = bn_f16_value_table();
    if (!f16_value) {
        END_OP(ctx);
        return BN_ERR_OUT_OF_MEMORY;
    }
    rows_i8_job job = {w, m, k, bn_rows_per_task(ctx, m), out, row_scales, f16_value};
    bn_pool_run(ctx->pool, quantize_rows_i8_task, &job, (m + job.rows_per_task - 1) / job.rows_per_task);
    END_OP(ctx);
    free(f16_value);
    return BN_OK;
}
