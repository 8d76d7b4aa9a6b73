/*
 * kernels_avx512.c: the x86-64 AVX-512 (F, BW, VL, VNNI) variant of every kernel table entry.
 *
 * Compiled with -mavx512f -mavx512bw -mavx512vl -mavx512vnni -mavx2 -mfma -mf16c (MSVC
 * /arch:AVX512) and called only when the CPU probe says the CPU and the OS support those
 * (including the opmask/ZMM state); nothing in this file runs before that (no constructors).
 * It mirrors kernels_avx2.c and, like it, is bit-identical to kernels_ref.c for all inputs.
 *
 * Integer dots use vpdpbusd (unsigned bytes x signed bytes, four products summed into an int32
 * lane, no saturation): the I2_S codes are the unsigned operand directly, so there is no int16
 * stage at all. |four products| <= 4 * 3 * 128 = 1536 (I2_S) or 4 * 128 * 127 = 65024 (int8),
 * added into int32 lanes exactly.
 *
 * Tiling (rows [r0, r1) of the weight, tokens [0, n_tokens)):
 *   i2s_gemm   n_tokens == 1: rows one at a time from two halves of the range (two sequential
 *              weight streams), software prefetch; 8 rows share one vector epilogue.
 *              n_tokens > 1: 1 row x up to 16 tokens; a block's codes are decoded once (two
 *              zmm of 64 codes: groups 0|1 and 2|3) and feed 2 vpdpbusd per token; the k axis is
 *              walked in chunks whose activations stay in L1 while a block of rows passes.
 *   f16_gemm   lanes 0-15 and 16-31 as two zmm accumulators, FMA in element order; two rows at a
 *              time (two streams) for one token, 1 row x 3 tokens otherwise.
 *   i8_gemm    vpdpbusd on |q| x (w negated where q < 0); two streams for one token,
 *              1 row x up to 8 tokens otherwise.
 *   quantize_row  16 floats per step with masked loads and stores for the tail.
 *   read_sum   two streams of 64-byte loads into four accumulators.
 */
#include "internal.h"

#ifdef BN_ARCH_X86_64

#include "simd_x86.h"

/* Sum of the 16 int32 lanes as 8 lanes (lane i + lane i + 8), to reuse the 256-bit helpers. */
BN_INLINE __m256i fold_epi32_512(__m512i v) {
    return _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
}

/* ---------------------------------------------------------------------------------------------
 * I2_S ternary GEMV / GEMM
 * ------------------------------------------------------------------------------------------- */

/* The reference's epilogue for one output, same operations in the same order. */
BN_INLINE float i2s_out(int32_t d, int32_t sum, float scale, float alpha) {
    return (float)(d - sum) / scale * alpha;
}

/* Codes of one 32-byte block as two vectors of 64 codes, matching the activation order:
 * c01 = groups 0 and 1 (activations 0..63 of the block), c23 = groups 2 and 3 (64..127).
 * The block is broadcast to both 256-bit halves and each half shifted by its own count
 * (16-bit lanes; the bits moved over from the neighbouring byte are masked off by & 3). */
BN_INLINE void i2s_codes_512(const uint8_t *wb, __m512i *c01, __m512i *c23) {
    const __m512i sh01 = _mm512_inserti64x4(_mm512_set1_epi16(6), _mm256_set1_epi16(4), 1);
    const __m512i sh23 = _mm512_inserti64x4(_mm512_set1_epi16(2), _mm256_set1_epi16(0), 1);
    const __m512i mask3 = _mm512_set1_epi8(3);
    const __m512i wv = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)wb));
    *c01 = _mm512_and_si512(_mm512_srlv_epi16(wv, sh01), mask3);
    *c23 = _mm512_and_si512(_mm512_srlv_epi16(wv, sh23), mask3);
}

/* ---- GEMM micro-kernel: 1 row x T (1..16) tokens ---- */
#define I2S_T_MAX 16
#define I2S_ROW_BLOCK 16
#define I2S_K_CHUNK 10            /* blocks per chunk: 16 tokens x 1280 bytes stay in L1 */
#define I2S_SMALL_TILE_BYTES 24576

#define I2S_STEP(t)                                                                            \
    if (T > t) {                                                                               \
        acc##t = _mm512_dpbusd_epi32(acc##t, c01,                                              \
                                     _mm512_loadu_si512((const void *)(qb + t * k)));          \
        acc##t = _mm512_dpbusd_epi32(acc##t, c23,                                              \
                                     _mm512_loadu_si512((const void *)(qb + t * k + 64)));     \
    }
#define I2S_LOAD(t) if (T > t) acc##t = wide[t];
#define I2S_SAVE(t) if (T > t) wide[t] = acc##t;
#define I2S_ALL(M)                                                                             \
    M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10) M(11) M(12) M(13) M(14) M(15)

/* Blocks [b0, b1) of n_rows rows (row_bytes apart from w) x T tokens (k apart from q): adds D
 * into wide[row * T + t] (16 int32 lanes each, still to be summed). */
BN_INLINE void i2s_tile(const uint8_t *w, int64_t row_bytes, int64_t n_rows, int64_t b0,
                        int64_t b1, const int8_t *q, int64_t k, const int T, __m512i *wide) {
    for (int64_t r = 0; r < n_rows; r++, w += row_bytes, wide += T) {
        const __m512i z = _mm512_setzero_si512();
        __m512i acc0 = z, acc1 = z, acc2 = z, acc3 = z, acc4 = z, acc5 = z, acc6 = z, acc7 = z;
        __m512i acc8 = z, acc9 = z, acc10 = z, acc11 = z, acc12 = z, acc13 = z, acc14 = z,
                acc15 = z;
        I2S_ALL(I2S_LOAD)
        const int8_t *qb = q + BN_I2S_BLOCK * b0;
        for (const uint8_t *wb = w + 32 * b0; wb < w + 32 * b1; wb += 32, qb += BN_I2S_BLOCK) {
            __m512i c01, c23;
            i2s_codes_512(wb, &c01, &c23);
            I2S_ALL(I2S_STEP)
        }
        I2S_ALL(I2S_SAVE)
    }
}

typedef void (*i2s_tile_fn)(const uint8_t *w, int64_t row_bytes, int64_t n_rows, int64_t b0,
                            int64_t b1, const int8_t *q, int64_t k, __m512i *wide);

#define I2S_TILE_FN(TT)                                                                        \
    static void i2s_tile_##TT(const uint8_t *w, int64_t row_bytes, int64_t n_rows, int64_t b0, \
                              int64_t b1, const int8_t *q, int64_t k, __m512i *wide) {         \
        i2s_tile(w, row_bytes, n_rows, b0, b1, q, k, TT, wide);                                \
    }
I2S_TILE_FN(1) I2S_TILE_FN(2) I2S_TILE_FN(3) I2S_TILE_FN(4) I2S_TILE_FN(5) I2S_TILE_FN(6)
I2S_TILE_FN(7) I2S_TILE_FN(8) I2S_TILE_FN(9) I2S_TILE_FN(10) I2S_TILE_FN(11) I2S_TILE_FN(12)
I2S_TILE_FN(13) I2S_TILE_FN(14) I2S_TILE_FN(15) I2S_TILE_FN(16)

/* Epilogue of one row for T tokens: wide holds T vectors of 16 int32 partial sums; sv / cv are
 * the tile's sums and scales padded with 0 / 1 to I2S_T_MAX. The reference's
 * (float)(D - sum) / scale * alpha on 8 lanes at once (the same IEEE operations). */
static void i2s_store_row(const __m512i *wide, int T, const int32_t *sv, const float *cv,
                          float alpha, float *y, int64_t y_stride) {
    const __m256i zz = _mm256_setzero_si256();
    const __m256 va = _mm256_set1_ps(alpha);
    for (int t = 0; t < T; t += 8) {
        const int n = T - t < 8 ? T - t : 8;
        __m256i a[8];
        for (int j = 0; j < 8; j++) a[j] = j < n ? fold_epi32_512(wide[t + j]) : zz;
        const __m256i d = _mm256_sub_epi32(bn_hsum8_epi32_256(a),
                                           _mm256_loadu_si256((const __m256i *)(sv + t)));
        const __m256 v = _mm256_mul_ps(_mm256_div_ps(_mm256_cvtepi32_ps(d), _mm256_loadu_ps(cv + t)),
                                       va);
        float out[8];
        _mm256_storeu_ps(out, v);
        for (int j = 0; j < n; j++) y[(t + j) * y_stride] = out[j];
    }
}

static void i2s_gemm_tiles(const uint8_t *w, int64_t k, int64_t r0, int64_t r1, float alpha,
                           const int8_t *q, const float *scales, const int32_t *sums,
                           int64_t n_tokens, float *y, int64_t y_stride) {
    static const i2s_tile_fn tiles[I2S_T_MAX] = {
        i2s_tile_1, i2s_tile_2, i2s_tile_3, i2s_tile_4, i2s_tile_5, i2s_tile_6,
        i2s_tile_7, i2s_tile_8, i2s_tile_9, i2s_tile_10, i2s_tile_11, i2s_tile_12,
        i2s_tile_13, i2s_tile_14, i2s_tile_15, i2s_tile_16};
    const int64_t row_bytes = k / 4, nb = k / BN_I2S_BLOCK;
    __m512i wide[I2S_ROW_BLOCK * I2S_T_MAX];
    int32_t sv[I2S_T_MAX];
    float cv[I2S_T_MAX];
    /* the tokens are split into equal tiles of at most I2S_T_MAX (16 = 8 + 8, not 12 + 4) */
    const int64_t n_tiles = (n_tokens + I2S_T_MAX - 1) / I2S_T_MAX;
    int T = 0;
    for (int64_t t0 = 0, tile_i = 0; t0 < n_tokens; t0 += T, tile_i++) {
        T = (int)((n_tokens - t0 + (n_tiles - tile_i) - 1) / (n_tiles - tile_i));
        const i2s_tile_fn tile = tiles[T - 1];
        const int8_t *qt = q + t0 * k;
        for (int t = 0; t < I2S_T_MAX; t++) {
            sv[t] = t < T ? sums[t0 + t] : 0;
            cv[t] = t < T ? scales[t0 + t] : 1.0f;
        }
        float *yt = y + t0 * y_stride;
        const int64_t row_block = (int64_t)T * k <= I2S_SMALL_TILE_BYTES ? 1 : I2S_ROW_BLOCK;
        for (int64_t rb = r0; rb < r1; rb += row_block) {
            const int64_t n_rows = r1 - rb < row_block ? r1 - rb : row_block;
            for (int64_t i = 0; i < n_rows * T; i++) wide[i] = _mm512_setzero_si512();
            for (int64_t b0 = 0; b0 < nb; b0 += I2S_K_CHUNK) {
                const int64_t b1 = nb - b0 < I2S_K_CHUNK ? nb : b0 + I2S_K_CHUNK;
                tile(w + rb * row_bytes, row_bytes, n_rows, b0, b1, qt, k, wide);
            }
            for (int64_t i = 0; i < n_rows; i++) {
                i2s_store_row(wide + i * T, T, sv, cv, alpha, yt + rb + i, y_stride);
            }
        }
    }
}

/* ---- GEMV: one token (see kernels_avx2.c for the stream layout) ---- */
#define I2S_GEMV_PREFETCH 2048

/* D of one row as 8 int32 lanes (to be summed). Two blocks per iteration into four
 * accumulators (independent vpdpbusd chains). */
BN_INLINE __m256i i2s_gemv_row(const uint8_t *wr, const int8_t *q, int64_t nb) {
    const __m512i z = _mm512_setzero_si512();
    __m512i a0 = z, a1 = z, a2 = z, a3 = z;
    int64_t b = 0;
    for (; b + 2 <= nb; b += 2, wr += 64, q += 2 * BN_I2S_BLOCK) {
        _mm_prefetch((const char *)(wr + I2S_GEMV_PREFETCH), _MM_HINT_T0);
        __m512i c01, c23, d01, d23;
        i2s_codes_512(wr, &c01, &c23);
        i2s_codes_512(wr + 32, &d01, &d23);
        a0 = _mm512_dpbusd_epi32(a0, c01, _mm512_loadu_si512((const void *)q));
        a1 = _mm512_dpbusd_epi32(a1, c23, _mm512_loadu_si512((const void *)(q + 64)));
        a2 = _mm512_dpbusd_epi32(a2, d01, _mm512_loadu_si512((const void *)(q + 128)));
        a3 = _mm512_dpbusd_epi32(a3, d23, _mm512_loadu_si512((const void *)(q + 192)));
    }
    if (b < nb) {
        __m512i c01, c23;
        i2s_codes_512(wr, &c01, &c23);
        a0 = _mm512_dpbusd_epi32(a0, c01, _mm512_loadu_si512((const void *)q));
        a1 = _mm512_dpbusd_epi32(a1, c23, _mm512_loadu_si512((const void *)(q + 64)));
    }
    return fold_epi32_512(_mm512_add_epi32(_mm512_add_epi32(a0, a1), _mm512_add_epi32(a2, a3)));
}

/* Lane vectors of rows wa + i * row_bytes and wb + i * row_bytes (i < 4) into out[i], out[4 + i]. */
static BN_NOINLINE void i2s_gemv_rows8(const uint8_t *wa, const uint8_t *wb, int64_t row_bytes,
                                       const int8_t *q, int64_t nb, __m256i *out) {
    for (int i = 0; i < 4; i++) {
        out[i] = i2s_gemv_row(wa + i * row_bytes, q, nb);
        out[4 + i] = i2s_gemv_row(wb + i * row_bytes, q, nb);
    }
}

static void i2s_gemv(const uint8_t *w, int64_t k, int64_t r0, int64_t r1, float alpha,
                     const int8_t *q, float scale, int32_t sum, float *y) {
    const int64_t row_bytes = k / 4, nb = k / BN_I2S_BLOCK;
    const int64_t half = (r1 - r0) / 8 * 4;  /* rows per stream, a multiple of 4 */
    /* the in-loop prefetch runs I2S_GEMV_PREFETCH bytes ahead: start both streams here */
    for (int64_t b = 0; b < I2S_GEMV_PREFETCH; b += 64) {
        _mm_prefetch((const char *)(w + r0 * row_bytes + b), _MM_HINT_T0);
        _mm_prefetch((const char *)(w + (r0 + half) * row_bytes + b), _MM_HINT_T0);
    }
    __m256i a[8];
    for (int64_t r = r0; r < r0 + half; r += 4) {
        i2s_gemv_rows8(w + r * row_bytes, w + (r + half) * row_bytes, row_bytes, q, nb, a);
        const __m256i d = _mm256_sub_epi32(bn_hsum8_epi32_256(a), _mm256_set1_epi32(sum));
        const __m256 v = _mm256_mul_ps(_mm256_div_ps(_mm256_cvtepi32_ps(d), _mm256_set1_ps(scale)),
                                       _mm256_set1_ps(alpha));
        _mm_storeu_ps(y + r, _mm256_castps256_ps128(v));
        _mm_storeu_ps(y + r + half, _mm256_extractf128_ps(v, 1));
    }
    for (int64_t r = r0 + 2 * half; r < r1; r++) {  /* fewer than 8 rows remain */
        y[r] = i2s_out(bn_hsum_epi32_256(i2s_gemv_row(w + r * row_bytes, q, nb)), sum, scale,
                       alpha);
    }
}

static void i2s_gemm_avx512(const uint8_t *w, int64_t k, int64_t r0, int64_t r1, float alpha,
                            const int8_t *q, const float *scales, const int32_t *sums,
                            int64_t n_tokens, float *y, int64_t y_stride) {
    if (n_tokens == 1) {
        i2s_gemv(w, k, r0, r1, alpha, q, scales[0], sums[0], y);
    } else {
        i2s_gemm_tiles(w, k, r0, r1, alpha, q, scales, sums, n_tokens, y, y_stride);
    }
}

/* ---------------------------------------------------------------------------------------------
 * f16 weights x f32 activations (exact head): lanes 0-15 in one zmm, 16-31 in another, one FMA
 * per element in element order (fmaf(w, x, acc) = fmadd(w, x, acc)), then the reference's
 * pairwise reduction: h = 16 adds the two vectors, h = 8 the two halves of the sum, and
 * h = 4, 2, 1 continue as in the 256-bit helper.
 * ------------------------------------------------------------------------------------------- */

BN_INLINE float f16_reduce_512(__m512 a0, __m512 a1) {
    const __m512 s = _mm512_add_ps(a0, a1);                                   /* h = 16 */
    const __m256 lo = _mm512_castps512_ps256(s);
    const __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(s), 1));
    const __m256 h8 = _mm256_add_ps(lo, hi);                                  /* h = 8 */
    __m128 v = _mm_add_ps(_mm256_castps256_ps128(h8), _mm256_extractf128_ps(h8, 1)); /* h = 4 */
    v = _mm_add_ps(v, _mm_movehl_ps(v, v));                                   /* h = 2 */
    v = _mm_add_ss(v, _mm_shuffle_ps(v, v, 1));                               /* h = 1 */
    return _mm_cvtss_f32(v);
}

#define F16_PREFETCH 1024

#define F16_FMA(acc, wp, xp)                                                                   \
    acc = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(wp))),         \
                          _mm512_loadu_ps(xp), acc)

BN_INLINE void f16_dot2(const uint16_t *wa, const uint16_t *wb, const float *x, int64_t k,
                        float *ya, float *yb) {
    const __m512 z = _mm512_setzero_ps();
    __m512 a0 = z, a1 = z, b0 = z, b1 = z;
    for (int64_t i = 0; i < k; i += 32) {
        _mm_prefetch((const char *)(wa + i) + F16_PREFETCH, _MM_HINT_T0);
        _mm_prefetch((const char *)(wb + i) + F16_PREFETCH, _MM_HINT_T0);
        F16_FMA(a0, wa + i, x + i);
        F16_FMA(b0, wb + i, x + i);
        F16_FMA(a1, wa + i + 16, x + i + 16);
        F16_FMA(b1, wb + i + 16, x + i + 16);
    }
    *ya = f16_reduce_512(a0, a1);
    *yb = f16_reduce_512(b0, b1);
}

BN_INLINE float f16_dot1(const uint16_t *w, const float *x, int64_t k) {
    const __m512 z = _mm512_setzero_ps();
    __m512 a0 = z, a1 = z;
    for (int64_t i = 0; i < k; i += 32) {
        F16_FMA(a0, w + i, x + i);
        F16_FMA(a1, w + i + 16, x + i + 16);
    }
    return f16_reduce_512(a0, a1);
}

/* One row x T tokens (T <= 3, tokens k apart from x); out[t] = y of token t. */
#define F16_TOK(t)                                                                             \
    if (T > t) {                                                                               \
        acc##t##_0 = _mm512_fmadd_ps(w0, _mm512_loadu_ps(x + t * k + i), acc##t##_0);          \
        acc##t##_1 = _mm512_fmadd_ps(w1, _mm512_loadu_ps(x + t * k + i + 16), acc##t##_1);     \
    }
#define F16_OUT(t) if (T > t) out[t] = f16_reduce_512(acc##t##_0, acc##t##_1);

BN_INLINE void f16_row_tokens(const uint16_t *w, const float *x, int64_t k, const int T,
                              float *out) {
    const __m512 z = _mm512_setzero_ps();
    __m512 acc0_0 = z, acc0_1 = z, acc1_0 = z, acc1_1 = z, acc2_0 = z, acc2_1 = z;
    for (int64_t i = 0; i < k; i += 32) {
        const __m512 w0 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + i)));
        const __m512 w1 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + i + 16)));
        F16_TOK(0) F16_TOK(1) F16_TOK(2)
    }
    F16_OUT(0) F16_OUT(1) F16_OUT(2)
}

static void f16_row_tokens_1(const uint16_t *w, const float *x, int64_t k, float *out) {
    f16_row_tokens(w, x, k, 1, out);
}
static void f16_row_tokens_2(const uint16_t *w, const float *x, int64_t k, float *out) {
    f16_row_tokens(w, x, k, 2, out);
}
static void f16_row_tokens_3(const uint16_t *w, const float *x, int64_t k, float *out) {
    f16_row_tokens(w, x, k, 3, out);
}

#define F16_TOKEN_BLOCK 12

static void f16_gemm_avx512(const uint16_t *w, int64_t k, int64_t r0, int64_t r1,
                            const float *x, int64_t n_tokens, float *y, int64_t y_stride) {
    if (n_tokens == 1) {
        const int64_t half = (r1 - r0) / 2;
        for (int64_t r = r0; r < r0 + half; r++) {
            f16_dot2(w + r * k, w + (r + half) * k, x, k, y + r, y + r + half);
        }
        if ((r1 - r0) & 1) y[r1 - 1] = f16_dot1(w + (r1 - 1) * k, x, k);
        return;
    }
    static void (*const tiles[3])(const uint16_t *, const float *, int64_t, float *) = {
        f16_row_tokens_1, f16_row_tokens_2, f16_row_tokens_3};
    float out[3];
    const int64_t half = (r1 - r0 + 1) / 2;
    for (int64_t tb = 0; tb < n_tokens; tb += F16_TOKEN_BLOCK) {
        const int64_t te = n_tokens - tb < F16_TOKEN_BLOCK ? n_tokens : tb + F16_TOKEN_BLOCK;
        for (int64_t i = 0; i < 2 * half; i++) {
            const int64_t r = r0 + (i >> 1) + (i & 1) * half;
            if (r >= r1) continue;
            for (int64_t t0 = tb; t0 < te; t0 += 3) {
                const int T = (int)(te - t0 < 3 ? te - t0 : 3);
                tiles[T - 1](w + r * k, x + t0 * k, k, out);
                for (int t = 0; t < T; t++) y[(t0 + t) * y_stride + r] = out[t];
            }
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * int8 weights x int8 activations (fast head)
 * vpdpbusd needs one unsigned operand: |q| (|-128| = 128 fits u8) times w negated where q < 0
 * (w in [-127, 127], so the negation cannot wrap; q = 0 gives 0 through |q|) is q * w.
 * k is a multiple of 32 only: the 64-byte loop ends with a masked 32-byte step (zeros beyond).
 * ------------------------------------------------------------------------------------------- */

#define I8_PREFETCH 1024

/* acc += q * w over 64 bytes (4 products per int32 lane). */
BN_INLINE __m512i i8_dot64(__m512i acc, __m512i wv, __m512i aq, __mmask64 neg) {
    const __m512i sw = _mm512_mask_sub_epi8(wv, neg, _mm512_setzero_si512(), wv);
    return _mm512_dpbusd_epi32(acc, aq, sw);
}

/* Lane vectors of rows wa + i * k and wb + i * k (i < 4) for one token into out[i], out[4 + i]. */
static BN_NOINLINE void i8_gemv_rows8(const int8_t *wa, const int8_t *wb, const int8_t *q,
                                      int64_t k, __m256i *out) {
    const int64_t k64 = k & ~(int64_t)63;
    const __mmask64 tail = 0xffffffffull; /* the last 32 bytes when k % 64 == 32 */
    for (int r = 0; r < 4; r++, wa += k, wb += k) {
        __m512i acc_a = _mm512_setzero_si512(), acc_b = acc_a;
        for (int64_t i = 0; i < k64; i += 64) {
            _mm_prefetch((const char *)(wa + i) + I8_PREFETCH, _MM_HINT_T0);
            _mm_prefetch((const char *)(wb + i) + I8_PREFETCH, _MM_HINT_T0);
            const __m512i qv = _mm512_loadu_si512((const void *)(q + i));
            const __m512i aq = _mm512_abs_epi8(qv);
            const __mmask64 neg = _mm512_movepi8_mask(qv);
            acc_a = i8_dot64(acc_a, _mm512_loadu_si512((const void *)(wa + i)), aq, neg);
            acc_b = i8_dot64(acc_b, _mm512_loadu_si512((const void *)(wb + i)), aq, neg);
        }
        if (k64 < k) {
            const __m512i qv = _mm512_maskz_loadu_epi8(tail, q + k64);
            const __m512i aq = _mm512_abs_epi8(qv);
            const __mmask64 neg = _mm512_movepi8_mask(qv);
            acc_a = i8_dot64(acc_a, _mm512_maskz_loadu_epi8(tail, wa + k64), aq, neg);
            acc_b = i8_dot64(acc_b, _mm512_maskz_loadu_epi8(tail, wb + k64), aq, neg);
        }
        out[r] = fold_epi32_512(acc_a);
        out[4 + r] = fold_epi32_512(acc_b);
    }
}

/* Lane vectors of one row for T tokens (T <= 8, tokens k apart from q) into out[t]. */
#define I8_TOK(t)                                                                              \
    if (T > t) {                                                                               \
        const __m512i qv = _mm512_maskz_loadu_epi8(m, q + t * k + i);                          \
        acc##t = i8_dot64(acc##t, wv, _mm512_abs_epi8(qv), _mm512_movepi8_mask(qv));           \
    }
#define I8_OUT(t) if (T > t) out[t] = fold_epi32_512(acc##t);

BN_INLINE void i8_row_tokens(const int8_t *w, const int8_t *q, int64_t k, const int T,
                             __m256i *out) {
    const __m512i z = _mm512_setzero_si512();
    __m512i acc0 = z, acc1 = z, acc2 = z, acc3 = z, acc4 = z, acc5 = z, acc6 = z, acc7 = z;
    for (int64_t i = 0; i < k; i += 64) {
        const __mmask64 m = k - i >= 64 ? ~(__mmask64)0 : 0xffffffffull;
        const __m512i wv = _mm512_maskz_loadu_epi8(m, w + i);
        I8_TOK(0) I8_TOK(1) I8_TOK(2) I8_TOK(3) I8_TOK(4) I8_TOK(5) I8_TOK(6) I8_TOK(7)
    }
    I8_OUT(0) I8_OUT(1) I8_OUT(2) I8_OUT(3) I8_OUT(4) I8_OUT(5) I8_OUT(6) I8_OUT(7)
}

#define I8_ROW_FN(TT)                                                                          \
    static void i8_row_tokens_##TT(const int8_t *w, const int8_t *q, int64_t k, __m256i *out) { \
        i8_row_tokens(w, q, k, TT, out);                                                       \
    }
I8_ROW_FN(1) I8_ROW_FN(2) I8_ROW_FN(3) I8_ROW_FN(4) I8_ROW_FN(5) I8_ROW_FN(6) I8_ROW_FN(7)
I8_ROW_FN(8)

#define I8_TOKEN_TILE 8
#define I8_TOKEN_BLOCK 32

static void i8_gemm_avx512(const int8_t *w, const float *w_scales, int64_t k, int64_t r0,
                           int64_t r1, const int8_t *q, const float *scales, int64_t n_tokens,
                           float *y, int64_t y_stride) {
    __m256i a[8];
    if (n_tokens == 1) {
        const float s = scales[0];
        const int64_t half = (r1 - r0) / 8 * 4;
        for (int64_t r = r0; r < r0 + half; r += 4) {
            i8_gemv_rows8(w + r * k, w + (r + half) * k, q, k, a);
            const __m256 d = _mm256_cvtepi32_ps(bn_hsum8_epi32_256(a));
            const __m256 v = _mm256_div_ps(d, _mm256_set1_ps(s));
            _mm_storeu_ps(y + r, _mm_mul_ps(_mm256_castps256_ps128(v), _mm_loadu_ps(w_scales + r)));
            _mm_storeu_ps(y + r + half,
                          _mm_mul_ps(_mm256_extractf128_ps(v, 1), _mm_loadu_ps(w_scales + r + half)));
        }
        for (int64_t r = r0 + 2 * half; r < r1; r++) {
            i8_row_tokens_1(w + r * k, q, k, a);
            y[r] = (float)bn_hsum_epi32_256(a[0]) / s * w_scales[r];
        }
        return;
    }
    static void (*const tiles[I8_TOKEN_TILE])(const int8_t *, const int8_t *, int64_t,
                                              __m256i *) = {
        i8_row_tokens_1, i8_row_tokens_2, i8_row_tokens_3, i8_row_tokens_4,
        i8_row_tokens_5, i8_row_tokens_6, i8_row_tokens_7, i8_row_tokens_8};
    const int64_t half = (r1 - r0 + 1) / 2;
    for (int64_t tb = 0; tb < n_tokens; tb += I8_TOKEN_BLOCK) {
        const int64_t te = n_tokens - tb < I8_TOKEN_BLOCK ? n_tokens : tb + I8_TOKEN_BLOCK;
        for (int64_t i = 0; i < 2 * half; i++) {
            const int64_t r = r0 + (i >> 1) + (i & 1) * half;
            if (r >= r1) continue;
            for (int64_t t0 = tb; t0 < te; t0 += I8_TOKEN_TILE) {
                const int T = (int)(te - t0 < I8_TOKEN_TILE ? te - t0 : I8_TOKEN_TILE);
                tiles[T - 1](w + r * k, q + t0 * k, k, a);
                for (int t = 0; t < T; t++) {
                    y[(t0 + t) * y_stride + r] =
                        (float)bn_hsum_epi32_256(a[t]) / scales[t0 + t] * w_scales[r];
                }
            }
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * Activation quantization (docs/numerics.md#activation-quantization)
 * ------------------------------------------------------------------------------------------- */

static void quantize_row_avx512(const float *x, int64_t k, int8_t *q, float *scale,
                                int32_t *sum) {
    /* max|x| over the non-NaN elements: vmaxps returns its second operand when either is NaN,
     * so max(|x|, acc) keeps acc for a NaN x; masked-off tail lanes load as 0. The float
     * maximum, widened to double, equals the reference's double maximum. */
    const __m512i abs_mask = _mm512_set1_epi32(0x7fffffff);
    __m512 m0 = _mm512_setzero_ps(), m1 = m0;
    int64_t i = 0;
    for (; i + 32 <= k; i += 32) {
        m0 = _mm512_max_ps(_mm512_castsi512_ps(_mm512_and_si512(
                               _mm512_castps_si512(_mm512_loadu_ps(x + i)), abs_mask)), m0);
        m1 = _mm512_max_ps(_mm512_castsi512_ps(_mm512_and_si512(
                               _mm512_castps_si512(_mm512_loadu_ps(x + i + 16)), abs_mask)), m1);
    }
    for (; i < k; i += 16) {
        const __mmask16 m = k - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (k - i)) - 1u);
        m0 = _mm512_max_ps(_mm512_castsi512_ps(_mm512_and_si512(
                               _mm512_castps_si512(_mm512_maskz_loadu_ps(m, x + i)), abs_mask)), m0);
    }
    const __m512 mm = _mm512_max_ps(m0, m1);
    const __m256 m8 = _mm256_max_ps(_mm512_castps512_ps256(mm),
                                    _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(mm), 1)));
    const float s = bn_quant_scale(bn_hmax_ps_256(m8));

    /* v = x * s; max(v, -128) gives -128 for NaN (second operand) and for v < -128; min(v, 127);
     * cvtps rounds half to even (MXCSR default), equal to bn_nearest_int for |v| <= 128. */
    const __m512 vs = _mm512_set1_ps(s);
    const __m512 lo = _mm512_set1_ps(-128.0f), hi = _mm512_set1_ps(127.0f);
    __m512i total = _mm512_setzero_si512();
    for (i = 0; i < k; i += 16) {
        const __mmask16 m = k - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (k - i)) - 1u);
        const __m512 p = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), vs);
        const __m512i n = _mm512_cvtps_epi32(_mm512_min_ps(_mm512_max_ps(p, lo), hi));
        total = _mm512_mask_add_epi32(total, m, total, n);
        _mm512_mask_cvtepi32_storeu_epi8(q + i, m, n); /* values in [-128, 127]: exact */
    }
    *scale = s;
    *sum = bn_hsum_epi32_256(fold_epi32_512(total));
}

/* ---------------------------------------------------------------------------------------------
 * Streaming read (memory bandwidth probe): two streams (see kernels_avx2.c), 64-byte loads.
 * ------------------------------------------------------------------------------------------- */

#define RS_STREAMS 2
#define RS_STEP 1024

#define RS_256(ptr)                                                                            \
    do {                                                                                       \
        const uint8_t *p_ = (ptr);                                                             \
        a0 = _mm512_add_epi64(a0, _mm512_load_si512((const void *)(p_ + 0)));                  \
        a1 = _mm512_add_epi64(a1, _mm512_load_si512((const void *)(p_ + 64)));                 \
        a2 = _mm512_add_epi64(a2, _mm512_load_si512((const void *)(p_ + 128)));                \
        a3 = _mm512_add_epi64(a3, _mm512_load_si512((const void *)(p_ + 192)));                \
    } while (0)

static uint64_t read_sum_avx512(const uint8_t *p, size_t n) {
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    const size_t part = n / RS_STREAMS / 256 * 256;
    size_t i = 0;
    for (; i + RS_STEP <= part; i += RS_STEP) {
        for (int s = 0; s < RS_STREAMS; s++) {
            const uint8_t *b = p + (size_t)s * part + i;
            for (size_t j = 0; j < RS_STEP; j += 256) RS_256(b + j);
        }
    }
    for (; i < part; i += 256) {
        for (int s = 0; s < RS_STREAMS; s++) RS_256(p + (size_t)s * part + i);
    }
    for (i = RS_STREAMS * part; i < n; i += 256) RS_256(p + i);  /* n % 256 == 0 */
    const __m512i t = _mm512_add_epi64(_mm512_add_epi64(a0, a1), _mm512_add_epi64(a2, a3));
    const __m256i h = _mm256_add_epi64(_mm512_castsi512_si256(t), _mm512_extracti64x4_epi64(t, 1));
    const __m128i g = _mm_add_epi64(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
    return (uint64_t)_mm_cvtsi128_si64(g) + (uint64_t)_mm_extract_epi64(g, 1);
}

static const bn_kernel_table table = {
    .name = "avx512",
    .i2s_gemm = i2s_gemm_avx512,
    .f16_gemm = f16_gemm_avx512,
    .i8_gemm = i8_gemm_avx512,
    .quantize_row = quantize_row_avx512,
    .read_sum = read_sum_avx512,
};

const bn_kernel_table *bn_kernels_avx512(void) { return &table; }

#else /* !BN_ARCH_X86_64 */

const bn_kernel_table *bn_kernels_avx512(void) { return NULL; }

#endif
