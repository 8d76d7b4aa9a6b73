/*
 * bitnet.h: public C API of libbitnet, the ternary kernel library of BitNet Desktop.
 *
 * Everything between the BN_CDEF markers is read verbatim by the Python binding (cffi cdef), so
 * that block holds only declarations cffi understands: no preprocessor conditionals, no macros
 * other than plain integer #defines, and BN_API (removed by the binding before parsing).
 *
 * Contract: no function exits, aborts or prints. Every function that can fail returns a bn_status
 * and checks every size, count and buffer length it is given. Buffers are row-major, little-endian.
 */
#ifndef BITNET_H
#define BITNET_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#  define BN_API __declspec(dllexport)
#else
#  define BN_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* BN_CDEF_BEGIN */
#define BN_ABI_VERSION 1

typedef enum {
    BN_OK = 0,
    BN_ERR_NULL_POINTER = 1,       /* a required pointer was NULL */
    BN_ERR_BAD_SHAPE = 2,          /* a dimension is <= 0, or K is not a multiple of the block size */
    BN_ERR_BUFFER_TOO_SMALL = 3,   /* a buffer length is smaller than its shape needs */
    BN_ERR_KERNEL_UNAVAILABLE = 4, /* the kernel variant is not compiled in or the CPU lacks it */
    BN_ERR_OUT_OF_MEMORY = 5,
    BN_ERR_CANCELLED = 6,          /* the context's cancel flag was raised */
    BN_ERR_THREADS = 7,            /* thread count out of range, or a thread could not start */
    BN_ERR_BAD_VALUE = 8           /* a value is out of its allowed range (e.g. int8 weight -128) */
} bn_status;

/* Kernel variants. One build carries every variant of its architecture; the CPU probe decides
 * which may run. */
typedef enum {
    BN_KERNEL_REF = 0,      /* portable scalar reference: the definition of correct */
    BN_KERNEL_AVX2 = 1,     /* x86-64 AVX2 + FMA + F16C */
    BN_KERNEL_AVX512 = 2,   /* x86-64 AVX-512 F/BW/VL + VNNI (+ FMA, F16C) */
    BN_KERNEL_NEON = 3,     /* AArch64 Advanced SIMD */
    BN_KERNEL_DOTPROD = 4,  /* AArch64 Advanced SIMD + dot product (sdot) */
    BN_KERNEL_COUNT = 5
} bn_kernel;

/* CPU feature bits returned by bn_cpu_features(). x86 AVX / AVX-512 bits are set only when the
 * operating system has enabled the matching register state (XGETBV), not merely when CPUID
 * reports the instructions. */
#define BN_CPU_SSSE3 1
#define BN_CPU_AVX 2
#define BN_CPU_AVX2 4
#define BN_CPU_FMA 8
#define BN_CPU_F16C 16
#define BN_CPU_AVX512F 32
#define BN_CPU_AVX512BW 64
#define BN_CPU_AVX512VL 128
#define BN_CPU_AVX512VNNI 256
#define BN_CPU_AVXVNNI 512
#define BN_CPU_NEON 1024
#define BN_CPU_DOTPROD 2048
#define BN_CPU_I8MM 4096
#define BN_CPU_FEATURE_COUNT 13

#define BN_I2S_BLOCK 128        /* weights per I2_S block (32 bytes) */
#define BN_I2S_TAIL_BYTES 32    /* per-tensor tail after the packed codes; bytes 0..3 = alpha (f32 LE) */

typedef struct bn_ctx bn_ctx;

/* ---- library identity and CPU ---- */
BN_API int bn_abi_version(void);
BN_API const char *bn_version_string(void);
BN_API const char *bn_status_string(int status);
BN_API uint32_t bn_cpu_features(void);
BN_API const char *bn_cpu_feature_name(int bit_index);       /* bit_index in [0, BN_CPU_FEATURE_COUNT) */
BN_API const char *bn_cpu_arch(void);                        /* "x86_64", "aarch64" or "other" */
BN_API void bn_cpu_brand(char *out, size_t out_len);         /* NUL-terminated, may be "" */
BN_API const char *bn_kernel_name(int kernel);               /* "ref", "avx2", ... or NULL */
BN_API int bn_kernel_compiled(int kernel);                   /* 1 if this build carries it */
BN_API int bn_kernel_supported(int kernel);                  /* 1 if compiled and the CPU can run it */
BN_API int bn_kernel_best(void);                             /* the fastest supported variant */

/* ---- context: kernel choice + persistent thread pool + cancel flag ----
 * One context runs one operation at a time (calls from several threads are serialised).
 * bn_ctx_cancel may be called from any thread at any time; operations started while the flag is
 * raised return BN_ERR_CANCELLED until bn_ctx_clear_cancel. */
BN_API int bn_ctx_create(int n_threads, int kernel, bn_ctx **out);
BN_API void bn_ctx_free(bn_ctx *ctx);
BN_API int bn_ctx_set_threads(bn_ctx *ctx, int n_threads);
BN_API int bn_ctx_threads(const bn_ctx *ctx);
BN_API int bn_ctx_set_kernel(bn_ctx *ctx, int kernel);
BN_API int bn_ctx_kernel(const bn_ctx *ctx);
BN_API void bn_ctx_cancel(bn_ctx *ctx);
BN_API void bn_ctx_clear_cancel(bn_ctx *ctx);
BN_API int bn_ctx_cancelled(const bn_ctx *ctx);

/* ---- activation quantization (BITNET_SPEC 1.4 / A.3), per row of x[n_rows, k] ----
 * amax = max(1e-5, max|x|) in double; s = (float)(127/amax); q = clamp(rne(x*s), -128, 127);
 * scales[r] = s, sums[r] = sum of q over the row. */
BN_API int bn_quantize_activations(bn_ctx *ctx, const float *x, int64_t n_rows, int64_t k,
                                   int8_t *q, size_t q_len, float *scales, int32_t *sums);

/* ---- ternary matmul on I2_S weights ----
 * w: I2_S bytes of a [m, k] weight (m*k/4 code bytes then a 32-byte tail), w_len its length.
 * q: [n_tokens, k] int8, scales/sums: [n_tokens] from bn_quantize_activations.
 * y: [n_tokens, m] float, y[t*m + r] = (float)(D - S_q) / scale[t] * alpha, where D = sum of
 * code*q in exact int32 and alpha = the f32 at byte m*k/4 of w. k must be a multiple of 128. */
BN_API int bn_i2s_matmul(bn_ctx *ctx, const uint8_t *w, size_t w_len, int64_t m, int64_t k,
                         const int8_t *q, size_t q_len, const float *scales, const int32_t *sums,
                         int64_t n_tokens, float *y, size_t y_len);

/* ---- output head, exact mode: f16 weights [m, k] times f32 activations [n_tokens, k] ----
 * Products are accumulated with fused multiply-add into 32 lane sums (lane = k mod 32), then the
 * lanes are added pairwise (j += j+16, j += j+8, +4, +2, +1). k must be a multiple of 32. */
BN_API int bn_f16_matmul(bn_ctx *ctx, const uint16_t *w, size_t w_len, int64_t m, int64_t k,
                         const float *x, size_t x_len, int64_t n_tokens, float *y, size_t y_len);

/* ---- output head, fast mode: int8 weights [m, k] with one f32 scale per row ----
 * y[t*m + r] = (float)D / scale[t] * w_scales[r], D = exact int32 dot of w row r and q row t.
 * Weights must lie in [-127, 127] (bn_quantize_rows_i8 produces that). k multiple of 32. */
BN_API int bn_i8_matmul(bn_ctx *ctx, const int8_t *w, size_t w_len, const float *w_scales,
                        int64_t m, int64_t k, const int8_t *q, size_t q_len, const float *scales,
                        int64_t n_tokens, float *y, size_t y_len);

/* Per-row symmetric int8 quantization of f16 rows (for the fast head):
 * d = max|w| / 127 (f32), out = rne(w / d) in [-127, 127], row_scales[r] = d (0 rows give 0). */
BN_API int bn_quantize_rows_i8(bn_ctx *ctx, const uint16_t *w, size_t w_len, int64_t m, int64_t k,
                               int8_t *out, size_t out_len, float *row_scales);

/* ---- I2_S packing (BITNET_SPEC 2.5) ----
 * t: ternary int8 [m, k] with values in {-1, 0, 1}; out gets m*k/4 + 32 bytes (tail: alpha then
 * 28 zero bytes). unpack decodes codes 0/1/2/3 to -1/0/+1/0 and returns alpha. */
BN_API size_t bn_i2s_nbytes(int64_t m, int64_t k);
BN_API int bn_i2s_pack(const int8_t *t, size_t t_len, int64_t m, int64_t k, float alpha,
                       uint8_t *out, size_t out_len);
BN_API int bn_i2s_unpack(const uint8_t *w, size_t w_len, int64_t m, int64_t k,
                         int8_t *t, size_t t_len, float *alpha);

/* ---- f16 conversion (IEEE binary16, round to nearest even) ---- */
BN_API int bn_f32_to_f16(const float *x, uint16_t *out, size_t n);
BN_API int bn_f16_to_f32(const uint16_t *x, float *out, size_t n);

/* ---- memory read bandwidth: every thread of ctx reads its share of a `bytes` buffer with the
 * context's kernel variant, `repeats` times; *gbps = best pass, in 1e9 bytes per second. */
BN_API int bn_measure_read_bandwidth(bn_ctx *ctx, size_t bytes, int repeats, double *gbps);
/* ---- benchmark support: runs `iterations` matmuls of one kind natively (no Python between
 * calls), cycling through n_weights weight buffers of the same shape so that a working set larger
 * than the caches is streamed from memory. Activations are seeded pseudo-random rows quantized
 * with the context's kernel. kind: BN_BENCH_I2S (weights: I2_S bytes), BN_BENCH_F16 (f16 [m, k]),
 * BN_BENCH_I8 (int8 [m, k]; w_scales: n_weights pointers to m row scales, else may be NULL).
 * w_len is the element count of every weight buffer. *seconds = wall time of all iterations. */
#define BN_BENCH_I2S 0
#define BN_BENCH_F16 1
#define BN_BENCH_I8 2
BN_API int bn_bench_matmul(bn_ctx *ctx, int kind, const void *const *weights, size_t w_len,
                           const float *const *w_scales, int64_t n_weights, int64_t m, int64_t k,
                           int64_t n_tokens, int64_t iterations, double *seconds);
/* BN_CDEF_END */

#ifdef __cplusplus
}
#endif

#endif /* BITNET_H */
