/*
 * model_matmul.c: the forward pass's matmuls as single pool jobs split over output rows, calling
 * the context's kernel table directly (the caller holds the context lock). Several ternary
 * weights that share one activation quantization (q/k/v, gate/up) form one job, so a decode
 * step costs one dispatch per group instead of one per matrix.
 */
#include "model.h"

#define MAX_PARTS 3

/* With several tokens, a task's weight rows should stay cache-resident while the kernel walks
 * the tokens: cap a task at about this many weight bytes. */
#define TILE_BYTES (128 * 1024)

static int64_t rows_per_task(const bn_ctx *ctx, int64_t m, int64_t row_bytes, int64_t n_tokens) {
    int64_t rows = bn_rows_per_task(ctx, m);
    if (n_tokens > 1) {
        int64_t cap = TILE_BYTES / row_bytes / 16 * 16;
        if (cap < 16) cap = 16;
        if (rows > cap) rows = cap;
    }
    return rows;
}

typedef struct {
    const bn_kernel_table *kt;
    int n_parts;
    const model_ternary *w[MAX_PARTS];
    float *y[MAX_PARTS];
    int64_t y_stride[MAX_PARTS];
    int64_t rows[MAX_PARTS];           /* rows per task of each part */
    int64_t first_task[MAX_PARTS + 1]; /* task index where each part starts; [n_parts] = total */
    const int8_t *q;
    const float *scales;
    const int32_t *sums;
    int64_t n_tokens;
} ternary_job;

static void ternary_task(void *arg, int64_t task, int thread_index) {
    (void)thread_index;
    const ternary_job *j = (const ternary_job *)arg;
    int p = 0;
    while (task >= j->first_task[p + 1]) p++;
    const model_ternary *w = j->w[p];
    const int64_t r0 = (task - j->first_task[p]) * j->rows[p];
    const int64_t r1 = r0 + j->rows[p] < w->m ? r0 + j->rows[p] : w->m;
    float *y = j->y[p];
    const int64_t stride = j->y_stride[p];
    j->kt->i2s_gemm(w->codes, w->k, r0, r1, w->alpha, j->q, j->scales, j->sums, j->n_tokens, y, stride);
    if (w->scale != 1.0f) { /* bitnet arch `*.scale`: a separate f32 multiply, as ggml_mul does */
        for (int64_t t = 0; t < j->n_tokens; t++) {
            for (int64_t r = r0; r < r1; r++) y[t * stride + r] *= w->scale;
        }
    }
}

void bn_model_ternary(bn_model *m, int n_parts, const model_ternary *const *w, float *const *y,
                      const int64_t *y_stride, const int8_t *q, const float *scales,
                      const int32_t *sums, int64_t n_tokens) {
    ternary_job job;
    job.kt = m->ctx->kt;
    job.n_parts = n_parts;
    job.q = q;
    job.scales = scales;
    job.sums = sums;
    job.n_tokens = n_tokens;
    job.first_task[0] = 0;
    for (int p = 0; p < n_parts; p++) {
        job.w[p] = w[p];
        job.y[p] = y[p];
        job.y_stride[p] = y_stride[p];
        job.rows[p] = rows_per_task(m->ctx, w[p]->m, w[p]->k / 4, n_tokens);
        job.first_task[p + 1] = job.first_task[p] + (w[p]->m + job.rows[p] - 1) / job.rows[p];
    }
    bn_pool_run(m->ctx->pool, ternary_task, &job, job.first_task[n_parts]);
}

/* ---- output head ---- */

typedef struct {
    const bn_kernel_table *kt;
    const bn_model *m;
    int64_t rows, n_rows;
    float *y;
} head_job;

static void head_task(void *arg, int64_t task, int thread_index) {
    (void)thread_index;
    const head_job *j = (const head_job *)arg;
    const bn_model *m = j->m;
    const int64_t vocab = m->dm.vocab, d = m->dm.d;
    const int64_t r0 = task * j->rows;
    const int64_t r1 = r0 + j->rows < vocab ? r0 + j->rows : vocab;
    if (m->cfg.head_mode == BN_HEAD_I8) {
        j->kt->i8_gemm(m->head_i8, m->head_i8_scales, d, r0, r1, m->q8, m->q8_scales, j->n_rows,
                       j->y, vocab);
    } else {
        j->kt->f16_gemm(m->head_f16, d, r0, r1, m->xn, j->n_rows, j->y, vocab);
    }
}

void bn_model_head(bn_model *m, int64_t n_rows, float *logits) {
    const int64_t row_bytes = m->dm.d * (m->cfg.head_mode == BN_HEAD_I8 ? 1 : 2);
    head_job job = {m->ctx->kt, m, rows_per_task(m->ctx, m->dm.vocab, row_bytes, n_rows), n_rows, logits};
    bn_pool_run(m->ctx->pool, head_task, &job, (m->dm.vocab + job.rows - 1) / job.rows);
}
