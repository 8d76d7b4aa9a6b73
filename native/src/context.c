/* context.c: library identity, kernel selection and the bn_ctx lifecycle. */
#include <stdlib.h>

#include "context.h"

#define BN_VERSION "0.1.0"

int bn_abi_version(void) { return BN_ABI_VERSION; }
const char *bn_version_string(void) { return BN_VERSION; }

const char *bn_status_string(int status) {
    switch (status) {
    case BN_OK: return "ok";
    case BN_ERR_NULL_POINTER: return "a required pointer was NULL";
    case BN_ERR_BAD_SHAPE: return "a dimension is invalid for this operation";
    case BN_ERR_BUFFER_TOO_SMALL: return "a buffer is smaller than its shape requires";
    case BN_ERR_KERNEL_UNAVAILABLE: return "the kernel variant is not available on this CPU or build";
    case BN_ERR_OUT_OF_MEMORY: return "out of memory";
    case BN_ERR_CANCELLED: return "cancelled";
    case BN_ERR_THREADS: return "invalid thread count, or a thread could not be started";
    case BN_ERR_BAD_VALUE: return "a value is outside its allowed range";
    case BN_ERR_WEIGHT_SIZE: return "a weight buffer's length differs from what its shape needs";
    case BN_ERR_TOKEN_RANGE: return "a token id is outside the vocabulary";
    case BN_ERR_POSITION: return "the position is negative or past the cached positions";
    case BN_ERR_CONTEXT_FULL: return "the tokens do not fit in the model's context (max_context)";
    case BN_ERR_IO: return "a file could not be read";
    default: return "unknown status";
    }
}

/* CPU features each variant needs (beyond being compiled for this architecture). */
static const uint32_t kernel_requirements[BN_KERNEL_COUNT] = {
    [BN_KERNEL_REF] = 0,
    [BN_KERNEL_AVX2] = BN_CPU_AVX | BN_CPU_AVX2 | BN_CPU_FMA | BN_CPU_F16C,
    [BN_KERNEL_AVX512] = BN_CPU_AVX | BN_CPU_AVX2 | BN_CPU_FMA | BN_CPU_F16C | BN_CPU_AVX512F |
                         BN_CPU_AVX512BW | BN_CPU_AVX512VL | BN_CPU_AVX512VNNI,
    [BN_KERNEL_NEON] = BN_CPU_NEON,
    [BN_KERNEL_DOTPROD] = BN_CPU_NEON | BN_CPU_DOTPROD,
};

static const char *const kernel_names[BN_KERNEL_COUNT] = {
    "ref", "avx2", "avx512", "neon", "dotprod",
};

const bn_kernel_table *bn_kernel_table_get(int kernel) {
    switch (kernel) {
    case BN_KERNEL_REF: return bn_kernels_ref();
    case BN_KERNEL_AVX2: return bn_kernels_avx2();
    case BN_KERNEL_AVX512: return bn_kernels_avx512();
    case BN_KERNEL_NEON: return bn_kernels_neon();
    case BN_KERNEL_DOTPROD: return bn_kernels_dotprod();
    default: return NULL;
    }
}

const char *bn_kernel_name(int kernel) {
    if (kernel < 0 || kernel >= BN_KERNEL_COUNT) return NULL;
    return kernel_names[kernel];
}

int bn_kernel_compiled(int kernel) { return bn_kernel_table_get(kernel) != NULL; }

int bn_kernel_supported(int kernel) {
    if (!bn_kernel_compiled(kernel)) return 0;
    const uint32_t need = kernel_requirements[kernel];
    return (bn_cpu_features() & need) == need;
}

int bn_kernel_best(void) {
    static const int preference[] = {
        BN_KERNEL_AVX512, BN_KERNEL_AVX2, BN_KERNEL_DOTPROD, BN_KERNEL_NEON, BN_KERNEL_REF,
    };
    for (size_t i = 0; i < sizeof preference / sizeof preference[0]; i++) {
        if (bn_kernel_supported(preference[i])) return preference[i];
    }
    return BN_KERNEL_REF;
}

int bn_mul_ok(int64_t a, int64_t b, int64_t *out) {
    const int64_t limit = (int64_t)1 << 62;
    if (a < 0 || b < 0) return 0;
    if (a != 0 && b > limit / a) return 0;
    *out = a * b;
    return 1;
}

int64_t bn_rows_per_task(const bn_ctx *ctx, int64_t m) {
    /* Few, large tasks: a GEMV streams its weights, and a long contiguous row range per task reads
     * faster than many short ones (measured: 16 short tasks lost up to a third of the bandwidth).
     * Two per thread still lets the atomic counter even out a late-starting worker. */
    const int64_t target_tasks = (int64_t)bn_pool_threads(ctx->pool) * 2;
    int64_t rows = (m + target_tasks - 1) / target_tasks;
    rows = (rows + 15) / 16 * 16;
    return rows < 16 ? 16 : rows;
}

int bn_ctx_create(int n_threads, int kernel, bn_ctx **out) {
    if (!out) return BN_ERR_NULL_POINTER;
    *out = NULL;
    if (n_threads < 1 || n_threads > BN_MAX_THREADS) return BN_ERR_THREADS;
    if (!bn_kernel_supported(kernel)) return BN_ERR_KERNEL_UNAVAILABLE;
    bn_ctx *ctx = (bn_ctx *)calloc(1, sizeof *ctx);
    if (!ctx) return BN_ERR_OUT_OF_MEMORY;
    ctx->pool = bn_pool_create(n_threads);
    if (!ctx->pool) { free(ctx); return BN_ERR_THREADS; }
    ctx->kernel = kernel;
    ctx->kt = bn_kernel_table_get(kernel);
    bn_mutex_init(&ctx->op_lock);
    *out = ctx;
    return BN_OK;
}

void bn_ctx_free(bn_ctx *ctx) {
    if (!ctx) return;
    bn_pool_free(ctx->pool);
    bn_mutex_destroy(&ctx->op_lock);
    free(ctx);
}

int bn_ctx_set_threads(bn_ctx *ctx, int n_threads) {
    if (!ctx) return BN_ERR_NULL_POINTER;
    if (n_threads < 1 || n_threads > BN_MAX_THREADS) return BN_ERR_THREADS;
    bn_mutex_lock(&ctx->op_lock);
    int status = BN_OK;
    if (n_threads != bn_pool_threads(ctx->pool)) {
        bn_pool *pool = bn_pool_create(n_threads);
        if (pool) {
            bn_pool_free(ctx->pool);
            ctx->pool = pool;
        } else {
            status = BN_ERR_THREADS; /* the old pool stays in service */
        }
    }
    bn_mutex_unlock(&ctx->op_lock);
    return status;
}

int bn_ctx_threads(const bn_ctx *ctx) { return ctx ? bn_pool_threads(ctx->pool) : 0; }

int bn_ctx_set_kernel(bn_ctx *ctx, int kernel) {
    if (!ctx) return BN_ERR_NULL_POINTER;
    if (!bn_kernel_supported(kernel)) return BN_ERR_KERNEL_UNAVAILABLE;
    bn_mutex_lock(&ctx->op_lock);
    ctx->kernel = kernel;
    ctx->kt = bn_kernel_table_get(kernel);
    bn_mutex_unlock(&ctx->op_lock);
    return BN_OK;
}

int bn_ctx_kernel(const bn_ctx *ctx) { return ctx ? ctx->kernel : -1; }
void bn_ctx_cancel(bn_ctx *ctx) { if (ctx) bn_atomic_store32(&ctx->cancelled, 1); }
void bn_ctx_clear_cancel(bn_ctx *ctx) { if (ctx) bn_atomic_store32(&ctx->cancelled, 0); }
int bn_ctx_cancelled(const bn_ctx *ctx) {
    return ctx ? bn_atomic_load32((volatile int32_t *)&ctx->cancelled) : 0;
}
