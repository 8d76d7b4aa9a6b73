/*
 * kernels_avx2.c: the x86-64 AVX2 + FMA + F16C variant of every kernel table entry.
 *
 * Compiled with -mavx2 -mfma -mf16c (MSVC /arch:AVX2) and called only when the CPU probe says the
 * CPU and the OS support those; nothing in this file runs before that (no constructors). Every
 * entry is bit-identical to kernels_ref.c for all inputs: integer dots are exact (the int16 bounds
 * are proven where they are used), float work repeats the reference's operations in its order.
 *
 * Tiling (rows [r0, r1) of the weight, tokens [0, n_tokens)):
 *   i2s_gemm   n_tokens == 1 (GEMV, memory-bound): one row at a time, 13 vector operations per
 *              32 weight bytes; the rows of the two halves of the range alternate (two
 *              sequential weight streams) with software prefetch; 8 rows share one epilogue.
 *              n_tokens > 1: 1 row x up to 12 tokens; each code group of a block is decoded
 *              once and multiplied with the 12 tokens' activations (maddubs, int16 accumulators
 *              widened every 10 blocks). Token tiles are the outer loop; the k axis is walked in
 *              10-block chunks whose activations (12 x 1280 bytes) stay in L1 while a block of
 *              32 rows passes over them.
 *   f16_gemm   lanes 0-7, 8-15, 16-23, 24-31 as four ymm accumulators, FMA in element order.
 *              n_tokens == 1: two rows at a time, one from each half of the range (two streams,
 *              eight FMA chains), prefetch; otherwise 1 row x 3 tokens, each converted weight
 *              vector feeding 3 FMAs, blocks of 12 tokens outside the row loop.
 *   i8_gemm    |q| is the unsigned maddubs operand, sign(w, q) the signed one; n_tokens == 1:
 *              two rows (two streams) sharing each activation vector, prefetch; otherwise
 *              1 row x up to 8 tokens.
 *   quantize_row  32 floats per step; scalar tail in the reference's own expressions.
 *   read_sum   two streams (halves of the buffer, 1 KiB of each in turn), four accumulators of
 *              aligned 32-byte loads.
 */
#include "internal.h"

#ifdef BN_ARCH_X86_64

#include "simd_x86.h"

/* acc + v in 16-bit lanes (_mm256_add_epi16). With GCC this is written as one vpaddw in inline
 * asm whose output is the accumulator's own register: GCC otherwise computes loop-carried sums
 * into a scratch register and copies them back every iteration (a measurable cost in the
 * memory-bound GEMV). Same instruction, same result. */
#if defined(__GNUC__) || defined(__clang__)
BN_INLINE __m256i bn_acc_epi16(__m256i acc, __m256i v) {
    __asm__("vpaddw {%1, %0, %0|%0, %0, %1}" : "+x"(acc) : "x"(v)); /* AT&T | Intel syntax */
    return acc;
}
#else
BN_INLINE __m256i bn_acc_epi16(__m256i acc, __m256i v) { return _mm256_add_epi16(acc, v); }
#endif

/* I2_S blocks whose maddubs products may be summed in int16 before widening to int32.
 * One maddubs lane is c[2l]*q[2l] + c[2l+1]*q[2l+1] with codes c in [0, 3] (code 3 included) and
 * q in [-128, 127], so |lane| <= 2*3*128 = 768 (maddubs cannot saturate: 768 < 32767). A block
 * adds 4 maddubs results per lane (one per code group): |lane| <= 4*768 = 3072 per block. After
 * 10 blocks |lane| <= 30720 <= 32767, so an int16 accumulator of at most 10 blocks never wraps;
 * it is then widened exactly with madd(acc16, 1) into int32. */
#define BN_I2S_I16_BLOCKS 10

/* ---------------------------------------------------------------------------------------------
 * I2_S ternary GEMV / GEMM
 * ------------------------------------------------------------------------------------------- */

/* The reference's epilogue for one output, same operations in the same order. */
BN_INLINE float i2s_out(int32_t d, int32_t sum, float scale, float alpha) {
    return (float)(d - sum) / scale * alpha;
}

/* ---- GEMM micro-kernel: 1 row x T (1..12) tokens ----
 *
 * The inner loop handles 32 activations per token: code group g of a block, shift 6 - 2g. The
 * row's codes are decoded once (16-bit shift, then & 3: the bits the 16-bit shift moves over
 * from the neighbouring byte land in bits 2..7 and are masked off) and multiplied with the T
 * tokens' activations by maddubs (codes unsigned, activations signed).
 *
 * Exactness: the int16 accumulators take at most BN_I2S_I16_BLOCKS blocks (|lane| <= 10 * 4 *
 * 768 = 30720 <= 32767, see above); each finished chunk is widened exactly with madd(acc, 1)
 * into int32 vectors.
 *
 * Written for GCC's register allocator: one named variable per accumulator (arrays of vectors
 * indexed in unrolled loops end up in memory), a group loop that is not unrolled (so the add
 * chains of different groups cannot be reassociated into more live values than the 16 ymm
 * registers hold), and the widening out of line. Unused accumulators are removed as dead code. */
#define I2S_T_MAX 12

#define I2S_STEP(t)                                                                            \
    if (T > t) {                                                                               \
        const __m256i a = _mm256_loadu_si256((const __m256i *)(qi + t * k));                   \
        acc##t = _mm256_add_epi16(acc##t, _mm256_maddubs_epi16(c, a));                         \
    }
#define I2S_OUT(t) if (T > t) out16[t] = acc##t;
#define I2S_ALL(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10) M(11)

/* wide[i] += madd(out16[i], 1): the exact int16 -> int32 widening of a finished chunk. */
static BN_NOINLINE void i2s_widen(const __m256i *out16, __m256i *wide, int n) {
    const __m256i ones = _mm256_set1_epi16(1);
    for (int i = 0; i < n; i++) {
        wide[i] = _mm256_add_epi32(wide[i], _mm256_madd_epi16(out16[i], ones));
    }
}

/* Blocks [b0, b1) (at most BN_I2S_I16_BLOCKS) of n_rows rows (row_bytes apart from w) x T tokens
 * (k apart from q): adds D into wide[row * T + t] (8 int32 lanes each, still to be summed).
 * out16: scratch for T vectors. */
BN_INLINE void i2s_tile(const uint8_t *w, int64_t row_bytes, int64_t n_rows, int64_t b0,
                        int64_t b1, const int8_t *q, int64_t k, const int T, __m256i *out16,
                        __m256i *wide) {
    for (int64_t r = 0; r < n_rows; r++, w += row_bytes, wide += T) {
        const __m256i mask3 = _mm256_set1_epi8(3);
        const __m256i z = _mm256_setzero_si256();
        __m256i acc0 = z, acc1 = z, acc2 = z, acc3 = z, acc4 = z, acc5 = z, acc6 = z, acc7 = z;
        __m256i acc8 = z, acc9 = z, acc10 = z, acc11 = z;
        const int8_t *qi = q + BN_I2S_BLOCK * b0;
        for (const uint8_t *wb = w + 32 * b0; wb < w + 32 * b1; wb += 32) {
            for (int sh = 6; sh >= 0; sh -= 2, qi += 32) {
                const __m256i c = _mm256_and_si256(
                    _mm256_srl_epi16(_mm256_loadu_si256((const __m256i *)wb),
                                     _mm_cvtsi32_si128(sh)),
                    mask3);
                I2S_ALL(I2S_STEP)
            }
        }
        I2S_ALL(I2S_OUT)
        i2s_widen(out16, wide, T);
    }
}

typedef void (*i2s_tile_fn)(const uint8_t *w, int64_t row_bytes, int64_t n_rows, int64_t b0,
                            int64_t b1, const int8_t *q, int64_t k, __m256i *out16,
                            __m256i *wide);

/* Constant-shape instances, one function each so that registers are allocated per shape. */
#define I2S_TILE_FN(TT)                                                                        \
    static void i2s_tile_##TT(const uint8_t *w, int64_t row_bytes, int64_t n_rows, int64_t b0, \
                              int64_t b1, const int8_t *q, int64_t k, __m256i *out16,          \
                              __m256i *wide) {                                                 \
        i2s_tile(w, row_bytes, n_rows, b0, b1, q, k, TT, out16, wide);                         \
    }
I2S_TILE_FN(1) I2S_TILE_FN(2) I2S_TILE_FN(3) I2S_TILE_FN(4) I2S_TILE_FN(5) I2S_TILE_FN(6)
I2S_TILE_FN(7) I2S_TILE_FN(8) I2S_TILE_FN(9) I2S_TILE_FN(10) I2S_TILE_FN(11) I2S_TILE_FN(12)

#define I2S_ROW_BLOCK 32
#define I2S_SMALL_TILE_BYTES 16384 /* T * k at most this: one row at a time (see below) */

/* Epilogue of one row for T tokens: wide holds T vectors of 8 int32 partial sums; sv / cv are the
 * tile's sums and scales padded with 0 / 1 to I2S_T_MAX. The reference's (float)(D - sum) /
 * scale * alpha runs on 4 lanes at once (the same IEEE operations, so the same bits). */
static void i2s_store_row(const __m256i *wide, int T, const int32_t *sv, const float *cv,
                          float alpha, float *y, int64_t y_stride) {
    const __m256i zz = _mm256_setzero_si256();
    const __m128 va = _mm_set1_ps(alpha);
    for (int t = 0; t < T; t += 4) {
        const int n = T - t < 4 ? T - t : 4;
        const __m128i d = bn_hsum4_epi32_256(wide[t], n > 1 ? wide[t + 1] : zz,
                                             n > 2 ? wide[t + 2] : zz, n > 3 ? wide[t + 3] : zz);
        const __m128i dd = _mm_sub_epi32(d, _mm_loadu_si128((const __m128i *)(sv + t)));
        const __m128 v = _mm_mul_ps(_mm_div_ps(_mm_cvtepi32_ps(dd), _mm_loadu_ps(cv + t)), va);
        float out[4];
        _mm_storeu_ps(out, v);
        for (int j = 0; j < n; j++) y[(t + j) * y_stride] = out[j];
    }
}

/* GEMM: token tiles of up to 12 (outer), then blocks of I2S_ROW_BLOCK rows; within a row block
 * the k axis is walked in chunks of BN_I2S_I16_BLOCKS blocks, each chunk's activations (at most
 * 12 x 1280 bytes) staying in L1 while every row of the block passes over them. */
static void i2s_gemm_tiles(const uint8_t *w, int64_t k, int64_t r0, int64_t r1, float alpha,
                           const int8_t *q, const float *scales, const int32_t *sums,
                           int64_t n_tokens, float *y, int64_t y_stride) {
    static const i2s_tile_fn tiles[I2S_T_MAX] = {
        i2s_tile_1, i2s_tile_2, i2s_tile_3, i2s_tile_4, i2s_tile_5, i2s_tile_6,
        i2s_tile_7, i2s_tile_8, i2s_tile_9, i2s_tile_10, i2s_tile_11, i2s_tile_12};
    const int64_t row_bytes = k / 4, nb = k / BN_I2S_BLOCK;
    __m256i out16[I2S_T_MAX], wide[I2S_ROW_BLOCK * I2S_T_MAX];
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
        /* Few tokens: their activations fit L1 anyway; one row at a time keeps the weights a
         * single sequential stream (this case is closer to memory-bound). */
        const int64_t row_block = (int64_t)T * k <= I2S_SMALL_TILE_BYTES ? 1 : I2S_ROW_BLOCK;
        for (int64_t rb = r0; rb < r1; rb += row_block) {
            const int64_t n_rows = r1 - rb < row_block ? r1 - rb : row_block;
            for (int64_t i = 0; i < n_rows * T; i++) wide[i] = _mm256_setzero_si256();
            for (int64_t b0 = 0; b0 < nb; b0 += BN_I2S_I16_BLOCKS) {
                const int64_t b1 = nb - b0 < BN_I2S_I16_BLOCKS ? nb : b0 + BN_I2S_I16_BLOCKS;
                tile(w + rb * row_bytes, row_bytes, n_rows, b0, b1, qt, k, out16, wide);
            }
            for (int64_t i = 0; i < n_rows; i++) {
                i2s_store_row(wide + i * T, T, sv, cv, alpha, yt + rb + i, y_stride);
            }
        }
    }
}

/* ---- GEMV: one token ----
 *
 * Memory-bound: each row is read as one sequential run, with few operations per weight byte
 * (and rows of two far-apart parts of the range alternate, see i2s_gemv). Per 32-byte block W (codes c0..c3 of groups 0..3 at bits 7-6, 5-4, 3-2, 1-0):
 *   c3 = W & 3, 4*c2 = W & 12, c1 = (W >> 4) & 3, 4*c0 = (W >> 4) & 12   (one shift, four ands)
 *   acc1 += maddubs(c1, a1) + maddubs(c3, a3)       (unscaled products)
 *   acc4 += maddubs(4c0, a0) + maddubs(4c2, a2)     (products times 4, exact multiples of 4)
 * Even and odd blocks go to separate accumulator pairs (two independent chains; it also keeps
 * GCC from reassociating the adds into more live values than registers).
 * Bounds (int16 lanes; a maddubs lane sums 2 products of |code * q| <= 3 * 128 = 384):
 *   a scaled maddubs lane is <= 2 * 12 * 128 = 3072 (no saturation);
 *   each acc4 gains <= 2 * 3072 = 6144 per block: after 5 of its blocks <= 30720;
 *   each acc1 gains <= 2 * 768 = 1536 per block: after 5 of its blocks <= 7680.
 * A chunk is I2S_GEMV_CHUNK = 10 blocks (5 per pair); then the int16 sum
 * acc1a + acc1b + (acc4a >> 2) + (acc4b >> 2) (arithmetic shifts, exact on multiples of 4) is at
 * most 4 * 7680 = 30720 and is widened with madd(., 1) into the int32 accumulator. */
#define I2S_GEMV_CHUNK 10
#define I2S_GEMV_PREFETCH 2048 /* bytes ahead in the weight stream (prefetch never faults) */

#define I2S_GEMV_BLOCK(wb, qb, acc1, acc4)                                                     \
    do {                                                                                       \
        const __m256i W = _mm256_loadu_si256((const __m256i *)(wb));                           \
        const __m256i X = _mm256_srli_epi16(W, 4);                                             \
        const __m256i p0 = _mm256_maddubs_epi16(_mm256_and_si256(X, m12),                      \
                                                _mm256_loadu_si256((const __m256i *)(qb)));    \
        const __m256i p1 = _mm256_maddubs_epi16(                                               \
            _mm256_and_si256(X, m3), _mm256_loadu_si256((const __m256i *)((qb) + 32)));        \
        const __m256i p2 = _mm256_maddubs_epi16(                                               \
            _mm256_and_si256(W, m12), _mm256_loadu_si256((const __m256i *)((qb) + 64)));       \
        const __m256i p3 = _mm256_maddubs_epi16(                                               \
            _mm256_and_si256(W, m3), _mm256_loadu_si256((const __m256i *)((qb) + 96)));        \
        acc1 = bn_acc_epi16(acc1, _mm256_add_epi16(p1, p3));                                   \
        acc4 = bn_acc_epi16(acc4, _mm256_add_epi16(p0, p2));                                   \
    } while (0)

/* D of one row as 8 int32 lanes (to be summed). */
BN_INLINE __m256i i2s_gemv_row(const uint8_t *wr, const int8_t *q, int64_t nb) {
    const __m256i m3 = _mm256_set1_epi8(3), m12 = _mm256_set1_epi8(12);
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i acc32 = _mm256_setzero_si256();
    const uint8_t *const wend = wr + 32 * (nb & ~(int64_t)1);
    while (wr < wend) {
        const uint8_t *const cend = wend - wr < 32 * I2S_GEMV_CHUNK ? wend : wr + 32 * I2S_GEMV_CHUNK;
        __m256i acc1a = _mm256_setzero_si256(), acc4a = acc1a, acc1b = acc1a, acc4b = acc1a;
        do {
            _mm_prefetch((const char *)(wr + I2S_GEMV_PREFETCH), _MM_HINT_T0);
            I2S_GEMV_BLOCK(wr, q, acc1a, acc4a);
            I2S_GEMV_BLOCK(wr + 32, q + BN_I2S_BLOCK, acc1b, acc4b);
            wr += 64;
            q += 2 * BN_I2S_BLOCK;
        } while (wr < cend);
        const __m256i s = _mm256_add_epi16(
            _mm256_add_epi16(acc1a, acc1b),
            _mm256_add_epi16(_mm256_srai_epi16(acc4a, 2), _mm256_srai_epi16(acc4b, 2)));
        acc32 = _mm256_add_epi32(acc32, _mm256_madd_epi16(s, ones));
    }
    if (nb & 1) {
        __m256i acc1 = _mm256_setzero_si256(), acc4 = acc1;
        I2S_GEMV_BLOCK(wr, q, acc1, acc4);
        const __m256i s = _mm256_add_epi16(acc1, _mm256_srai_epi16(acc4, 2));
        acc32 = _mm256_add_epi32(acc32, _mm256_madd_epi16(s, ones));
    }
    return acc32;
}

/* y for 8 rows from their lane vectors: a transposing add tree, then the reference's
 * (float)(D - sum) / scale * alpha on 8 lanes (the same IEEE operations, so the same bits). */
BN_INLINE __m256 i2s_gemv_out8(const __m256i *a, int32_t sum, float scale, float alpha) {
    const __m256i d = _mm256_sub_epi32(bn_hsum8_epi32_256(a), _mm256_set1_epi32(sum));
    return _mm256_mul_ps(_mm256_div_ps(_mm256_cvtepi32_ps(d), _mm256_set1_ps(scale)),
                         _mm256_set1_ps(alpha));
}

/* Lane vectors of rows wa + i * row_bytes and wb + i * row_bytes (i < 4) into out[i], out[4 + i].
 * Out of line with out in the caller's memory: kept in registers, finished rows would take the
 * registers the row loop needs. */
static BN_NOINLINE void i2s_gemv_rows8(const uint8_t *wa, const uint8_t *wb, int64_t row_bytes,
                                       const int8_t *q, int64_t nb, __m256i *out) {
    for (int i = 0; i < 4; i++) {
        out[i] = i2s_gemv_row(wa + i * row_bytes, q, nb);
        out[4 + i] = i2s_gemv_row(wb + i * row_bytes, q, nb);
    }
}

/* The rows of the range are taken as two halves read side by side (4 rows of one, 4 of the
 * other): one core keeps more DRAM reads in flight with two sequential streams than with one.
 * Each stream is also prefetched I2S_GEMV_PREFETCH bytes ahead (see i2s_gemv_row). */
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
        const __m256 v = i2s_gemv_out8(a, sum, scale, alpha);
        _mm_storeu_ps(y + r, _mm256_castps256_ps128(v));
        _mm_storeu_ps(y + r + half, _mm256_extractf128_ps(v, 1));
    }
    for (int64_t r = r0 + 2 * half; r < r1; r++) {  /* fewer than 8 rows remain */
        y[r] = i2s_out(bn_hsum_epi32_256(i2s_gemv_row(w + r * row_bytes, q, nb)), sum, scale,
                       alpha);
    }
}

static void i2s_gemm_avx2(const uint8_t *w, int64_t k, int64_t r0, int64_t r1, float alpha,
                          const int8_t *q, const float *scales, const int32_t *sums,
                          int64_t n_tokens, float *y, int64_t y_stride) {
    if (n_tokens == 1) {
        i2s_gemv(w, k, r0, r1, alpha, q, scales[0], sums[0], y);
    } else {
        i2s_gemm_tiles(w, k, r0, r1, alpha, q, scales, sums, n_tokens, y, y_stride);
    }
}

/* ---------------------------------------------------------------------------------------------
 * f16 weights x f32 activations (exact head): the reference's 32 lanes as 4 vectors of 8
 * (lanes 0-7, 8-15, 16-23, 24-31), one FMA per element in element order (fmaf(w, x, acc) =
 * _mm256_fmadd_ps(w, x, acc), one rounding), then its pairwise lane reduction
 * (bn_reduce_32_lanes_256). F16C's conversion is exact, like bn_f16_to_f32_scalar.
 * ------------------------------------------------------------------------------------------- */

#define F16_PREFETCH 1024 /* bytes ahead in each weight stream */

#define F16_FMA(acc, wp, xp)                                                                   \
    acc = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(wp))),             \
                          _mm256_loadu_ps(xp), acc)

/* GEMV of two rows at once (eight independent FMA chains). */
BN_INLINE void f16_dot2(const uint16_t *wa, const uint16_t *wb, const float *x, int64_t k,
                        float *ya, float *yb) {
    const __m256 z = _mm256_setzero_ps();
    __m256 a0 = z, a1 = z, a2 = z, a3 = z, b0 = z, b1 = z, b2 = z, b3 = z;
    for (int64_t i = 0; i < k; i += 32) {
        _mm_prefetch((const char *)(wa + i) + F16_PREFETCH, _MM_HINT_T0);
        _mm_prefetch((const char *)(wb + i) + F16_PREFETCH, _MM_HINT_T0);
        F16_FMA(a0, wa + i, x + i);
        F16_FMA(b0, wb + i, x + i);
        F16_FMA(a1, wa + i + 8, x + i + 8);
        F16_FMA(b1, wb + i + 8, x + i + 8);
        F16_FMA(a2, wa + i + 16, x + i + 16);
        F16_FMA(b2, wb + i + 16, x + i + 16);
        F16_FMA(a3, wa + i + 24, x + i + 24);
        F16_FMA(b3, wb + i + 24, x + i + 24);
    }
    *ya = bn_reduce_32_lanes_256(a0, a1, a2, a3);
    *yb = bn_reduce_32_lanes_256(b0, b1, b2, b3);
}

BN_INLINE float f16_dot1(const uint16_t *w, const float *x, int64_t k) {
    const __m256 z = _mm256_setzero_ps();
    __m256 a0 = z, a1 = z, a2 = z, a3 = z;
    for (int64_t i = 0; i < k; i += 32) {
        F16_FMA(a0, w + i, x + i);
        F16_FMA(a1, w + i + 8, x + i + 8);
        F16_FMA(a2, w + i + 16, x + i + 16);
        F16_FMA(a3, w + i + 24, x + i + 24);
    }
    return bn_reduce_32_lanes_256(a0, a1, a2, a3);
}

/* One row x T tokens (T <= 3, tokens k apart from x): each converted weight vector feeds T
 * FMAs. out[t] = y of token t. Named accumulators (see i2s_tile); unused ones are dead code. */
#define F16_TOK(t)                                                                             \
    if (T > t) {                                                                               \
        acc##t##_0 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + t * k + i), acc##t##_0);         \
        acc##t##_1 = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x + t * k + i + 8), acc##t##_1);      \
        acc##t##_2 = _mm256_fmadd_ps(w2, _mm256_loadu_ps(x + t * k + i + 16), acc##t##_2);     \
        acc##t##_3 = _mm256_fmadd_ps(w3, _mm256_loadu_ps(x + t * k + i + 24), acc##t##_3);     \
    }
#define F16_OUT(t)                                                                             \
    if (T > t) out[t] = bn_reduce_32_lanes_256(acc##t##_0, acc##t##_1, acc##t##_2, acc##t##_3);

BN_INLINE void f16_row_tokens(const uint16_t *w, const float *x, int64_t k, const int T,
                              float *out) {
    const __m256 z = _mm256_setzero_ps();
    __m256 acc0_0 = z, acc0_1 = z, acc0_2 = z, acc0_3 = z;
    __m256 acc1_0 = z, acc1_1 = z, acc1_2 = z, acc1_3 = z;
    __m256 acc2_0 = z, acc2_1 = z, acc2_2 = z, acc2_3 = z;
    for (int64_t i = 0; i < k; i += 32) {
        const __m256 w0 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + i)));
        const __m256 w1 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + i + 8)));
        const __m256 w2 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + i + 16)));
        const __m256 w3 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + i + 24)));
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

/* Tokens per outer block of the multi-token path: their activations (F16_TOKEN_BLOCK * k f32)
 * stay in L2 while the rows stream past; each row (in L1) serves all of them, 3 at a time. */
#define F16_TOKEN_BLOCK 12

static void f16_gemm_avx2(const uint16_t *w, int64_t k, int64_t r0, int64_t r1,
                          const float *x, int64_t n_tokens, float *y, int64_t y_stride) {
    if (n_tokens == 1) {
        /* two streams: the halves of the range side by side (see i2s_gemv) */
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
        /* rows of the two halves alternate: two weight streams (see i2s_gemv) */
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
 * maddubs needs one unsigned operand: |q| (|-128| = 128 fits u8) times sign(w, q) = w * sgn(q)
 * (w in [-127, 127], so the negation cannot wrap; q = 0 gives 0) is q * w. A maddubs lane sums
 * two such products: |lane| <= 2 * 128 * 127 = 32512 <= 32767, so no saturation; each is
 * widened at once with madd(., 1) and added in int32 (exact).
 * y = (float)D / scale * w_scale, the reference's operations in its order.
 * ------------------------------------------------------------------------------------------- */

#define I8_PREFETCH 1024 /* bytes ahead in each weight stream */

#define I8_STEP(acc, wv, qv, aq)                                                               \
    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(                                             \
                                    _mm256_maddubs_epi16(aq, _mm256_sign_epi8(wv, qv)), ones))

/* Lane vectors (8 int32, to be summed) of rows wa + i * k and wb + i * k (i < 4) for one token,
 * into out[i] and out[4 + i]: two streams, each pair of rows sharing the activation loads. */
static BN_NOINLINE void i8_gemv_rows8(const int8_t *wa, const int8_t *wb, const int8_t *q,
                                      int64_t k, __m256i *out) {
    const __m256i ones = _mm256_set1_epi16(1);
    for (int r = 0; r < 4; r++, wa += k, wb += k) {
        __m256i acc_a = _mm256_setzero_si256(), acc_b = acc_a;
        for (int64_t i = 0; i < k; i += 32) {
            _mm_prefetch((const char *)(wa + i) + I8_PREFETCH, _MM_HINT_T0);
            _mm_prefetch((const char *)(wb + i) + I8_PREFETCH, _MM_HINT_T0);
            const __m256i qv = _mm256_loadu_si256((const __m256i *)(q + i));
            const __m256i aq = _mm256_abs_epi8(qv);
            I8_STEP(acc_a, _mm256_loadu_si256((const __m256i *)(wa + i)), qv, aq);
            I8_STEP(acc_b, _mm256_loadu_si256((const __m256i *)(wb + i)), qv, aq);
        }
        out[r] = acc_a;
        out[4 + r] = acc_b;
    }
}

/* Lane vectors of one row for T tokens (T <= 8, tokens k apart from q) into out[t]. */
#define I8_TOK(t)                                                                              \
    if (T > t) {                                                                               \
        const __m256i qv = _mm256_loadu_si256((const __m256i *)(q + t * k + i));               \
        I8_STEP(acc##t, wv, qv, _mm256_abs_epi8(qv));                                          \
    }
#define I8_OUT(t) if (T > t) out[t] = acc##t;

BN_INLINE void i8_row_tokens(const int8_t *w, const int8_t *q, int64_t k, const int T,
                             __m256i *out) {
    const __m256i ones = _mm256_set1_epi16(1);
    const __m256i z = _mm256_setzero_si256();
    __m256i acc0 = z, acc1 = z, acc2 = z, acc3 = z, acc4 = z, acc5 = z, acc6 = z, acc7 = z;
    for (int64_t i = 0; i < k; i += 32) {
        const __m256i wv = _mm256_loadu_si256((const __m256i *)(w + i));
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
#define I8_TOKEN_BLOCK 32 /* activations of a token block (32 * k bytes) stay in L2 */

static void i8_gemm_avx2(const int8_t *w, const float *w_scales, int64_t k, int64_t r0,
                         int64_t r1, const int8_t *q, const float *scales, int64_t n_tokens,
                         float *y, int64_t y_stride) {
    __m256i a[8];
    if (n_tokens == 1) {
        const float s = scales[0];
        const int64_t half = (r1 - r0) / 8 * 4; /* rows per stream, a multiple of 4 */
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
        /* rows of the two halves alternate: two weight streams (see i2s_gemv) */
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

static void quantize_row_avx2(const float *x, int64_t k, int8_t *q, float *scale, int32_t *sum) {
    /* max|x| over the non-NaN elements: vmaxps returns its second operand when either is NaN,
     * so max(|x|, acc) keeps acc for a NaN x. The float maximum, widened to double, equals the
     * reference's double maximum (|x| widens exactly). */
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 m0 = _mm256_setzero_ps(), m1 = m0, m2 = m0, m3 = m0;
    int64_t i = 0;
    for (; i + 32 <= k; i += 32) {
        m0 = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(x + i), abs_mask), m0);
        m1 = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(x + i + 8), abs_mask), m1);
        m2 = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(x + i + 16), abs_mask), m2);
        m3 = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(x + i + 24), abs_mask), m3);
    }
    for (; i + 8 <= k; i += 8) m0 = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(x + i), abs_mask), m0);
    float amax = bn_hmax_ps_256(_mm256_max_ps(_mm256_max_ps(m0, m1), _mm256_max_ps(m2, m3)));
    for (; i < k; i++) {
        const float a = x[i] < 0.0f ? -x[i] : x[i];
        if (a > amax) amax = a; /* NaN compares false: ignored */
    }
    const float s = bn_quant_scale(amax);

    /* v = x * s; max(v, -128) gives -128 for NaN (second operand) and for v < -128; min(v, 127);
     * cvtps rounds half to even (MXCSR default), equal to bn_nearest_int for |v| <= 128. */
    const __m256 vs = _mm256_set1_ps(s);
    const __m256 lo = _mm256_set1_ps(-128.0f), hi = _mm256_set1_ps(127.0f);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    __m256i total = _mm256_setzero_si256();
    i = 0;
    for (; i + 32 <= k; i += 32) {
        __m256i n[4];
        for (int v = 0; v < 4; v++) {
            const __m256 p = _mm256_mul_ps(_mm256_loadu_ps(x + i + 8 * v), vs);
            n[v] = _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(p, lo), hi));
        }
        total = _mm256_add_epi32(total, _mm256_add_epi32(_mm256_add_epi32(n[0], n[1]),
                                                         _mm256_add_epi32(n[2], n[3])));
        /* packs interleave the 128-bit lanes: bytes come out as 32-bit groups 0,2,4,6,1,3,5,7
         * of the wanted order; the permute puts them back. Values are in [-128, 127]: no
         * saturation happens. */
        const __m256i w16a = _mm256_packs_epi32(n[0], n[1]);
        const __m256i w16b = _mm256_packs_epi32(n[2], n[3]);
        const __m256i b8 = _mm256_packs_epi16(w16a, w16b);
        _mm256_storeu_si256((__m256i *)(q + i), _mm256_permutevar8x32_epi32(b8, order));
    }
    int32_t tot = bn_hsum_epi32_256(total);
    for (; i < k; i++) {
        const int32_t n = bn_quant_one(x[i], s);
        q[i] = (int8_t)n;
        tot += n;
    }
    *scale = s;
    *sum = tot;
}

/* ---------------------------------------------------------------------------------------------
 * Streaming read (memory bandwidth probe)
 * ------------------------------------------------------------------------------------------- */

#define RS_STREAMS 2
#define RS_STEP 1024

/* One 128-byte step into four 64-bit-lane accumulators. */
#define RS_128(ptr)                                                                            \
    do {                                                                                       \
        const __m256i *v_ = (const __m256i *)(ptr);                                            \
        a0 = _mm256_add_epi64(a0, _mm256_load_si256(v_ + 0));                                  \
        a1 = _mm256_add_epi64(a1, _mm256_load_si256(v_ + 1));                                  \
        a2 = _mm256_add_epi64(a2, _mm256_load_si256(v_ + 2));                                  \
        a3 = _mm256_add_epi64(a3, _mm256_load_si256(v_ + 3));                                  \
    } while (0)

/* The buffer is read as RS_STREAMS sequential streams (equal parts, multiples of 128 bytes),
 * alternating RS_STEP bytes of each: one core reaches a clearly higher DRAM read rate with
 * several streams in flight than with one (Zen 3: about 27 against 21 GB/s). The checksum is a
 * wrapping sum of 64-bit words, so the order of the reads does not change it. */
static uint64_t read_sum_avx2(const uint8_t *p, size_t n) {
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    const size_t part = n / RS_STREAMS / 128 * 128;
    size_t i = 0;
    for (; i + RS_STEP <= part; i += RS_STEP) {
        for (int s = 0; s < RS_STREAMS; s++) {
            const uint8_t *b = p + (size_t)s * part + i;
            for (size_t j = 0; j < RS_STEP; j += 128) RS_128(b + j);
        }
    }
    for (; i < part; i += 128) {
        for (int s = 0; s < RS_STREAMS; s++) RS_128(p + (size_t)s * part + i);
    }
    for (i = RS_STREAMS * part; i < n; i += 128) RS_128(p + i);  /* n % 128 == 0 */
    const __m256i t = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
    const __m128i h = _mm_add_epi64(_mm256_castsi256_si128(t), _mm256_extracti128_si256(t, 1));
    return (uint64_t)_mm_cvtsi128_si64(h) + (uint64_t)_mm_extract_epi64(h, 1);
}

static const bn_kernel_table table = {
    .name = "avx2",
    .i2s_gemm = i2s_gemm_avx2,
    .f16_gemm = f16_gemm_avx2,
    .i8_gemm = i8_gemm_avx2,
    .quantize_row = quantize_row_avx2,
    .read_sum = read_sum_avx2,
};

const bn_kernel_table *bn_kernels_avx2(void) { return &table; }

#else /* !BN_ARCH_X86_64 */

const bn_kernel_table *bn_kernels_avx2(void) { return NULL; }

#endif
