/* bench.c: the native timing loop behind `bitnet-desktop bench kernels` (see bn_bench_matmul). */
#include <stdlib.h>

#include "context.h"

typedef struct {
    float *x;      /* [n_tokens, k] */
    int8_t *q;     /* [n_tokens, k] */
    float *scales; /* [n_tokens] */
    int32_t *sums; /* [n_tokens] */
    float *y;      /* [n_tokens, m] */
} bench_buffers;

static void free_buffers(bench_buffers *b) {
    bn_aligned_free(b->x); bn_aligned_free(b->q); bn_aligned_free(b->scales);
    bn_aligned_free(b->sums); bn_aligned_free(b->y);
}

static int alloc_buffers(bench_buffers *b, int64_t m, int64_t k, int64_t n_tokens) {
    memset(b, 0, sizeof *b);
    b->x = (float *)bn_aligned_alloc(64, (size_t)(n_tokens * k) * sizeof(float));
    b->q = (int8_t *)bn_aligned_alloc(64, (size_t)(n_tokens * k));
    b->scales = (float *)bn_aligned_alloc(64, (size_t)n_tokens * sizeof(float));
    b->sums = (int32_t *)bn_aligned_alloc(64, (size_t)n_tokens * sizeof(int32_t));
    b->y = (float *)bn_aligned_alloc(64, (size_t)(n_tokens * m) * sizeof(float));
    if (!b->x || !b->q || !b->scales || !b->sums || !b->y) { free_buffers(b); return 0; }
    uint32_t state = 12345u;
    for (int64_t i = 0; i < n_tokens * k; i++) {
        state = state * 1664525u + 1013904223u;           /* LCG: reproducible, no libc rand */
        b->x[i] = (float)((int32_t)(state >> 8) - (1 << 23)) / (float)(1 << 23);
    }
    return 1;
}

int bn_bench_matmul(bn_ctx *ctx, int kind, const void *const *weights, size_t w_len,
                    const float *const *w_scales,
                    int64_t n_weights, int64_t m, int64_t k, int64_t n_tokens, int64_t iterations,
                    double *seconds) {
    if (!ctx || !weights || !seconds) return BN_ERR_NULL_POINTER;
    if (kind < BN_BENCH_I2S || kind > BN_BENCH_I8 || n_weights < 1 || iterations < 1) return BN_ERR_BAD_VALUE;
    if (kind == BN_BENCH_I8 && !w_scales) return BN_ERR_NULL_POINTER;
    const int64_t k_block = kind == BN_BENCH_I2S ? BN_I2S_BLOCK : 32;
    int64_t n_act, n_out;
    if (m <= 0 || k <= 0 || n_tokens <= 0 || k % k_block != 0 || !bn_mul_ok(n_tokens, k, &n_act) ||
        !bn_mul_ok(n_tokens, m, &n_out)) {
        return BN_ERR_BAD_SHAPE;
    }
    for (int64_t i = 0; i < n_weights; i++) {
        if (!weights[i] || (kind == BN_BENCH_I8 && !w_scales[i])) return BN_ERR_NULL_POINTER;
    }
    bench_buffers b;
    if (!alloc_buffers(&b, m, k, n_tokens)) return BN_ERR_OUT_OF_MEMORY;
    int status = bn_quantize_activations(ctx, b.x, n_tokens, k, b.q, (size_t)n_act, b.scales, b.sums);
    const double t0 = bn_now_seconds();
    for (int64_t it = 0; it < iterations && status == BN_OK; it++) {
        const void *w = weights[it % n_weights];
        switch (kind) {
        case BN_BENCH_I2S:
            status = bn_i2s_matmul(ctx, (const uint8_t *)w, w_len, m, k, b.q, (size_t)n_act, b.scales,
                                   b.sums, n_tokens, b.y, (size_t)n_out);
            break;
        case BN_BENCH_F16:
            status = bn_f16_matmul(ctx, (const uint16_t *)w, w_len, m, k, b.x, (size_t)n_act, n_tokens,
                                   b.y, (size_t)n_out);
            break;
        default:
            status = bn_i8_matmul(ctx, (const int8_t *)w, w_len, w_scales[it % n_weights], m, k, b.q,
                                  (size_t)n_act, b.scales, n_tokens, b.y, (size_t)n_out);
            break;
        }
    }
    *seconds = bn_now_seconds() - t0;
    free_buffers(&b);
    return status;
}
