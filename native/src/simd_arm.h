/*
 * simd_arm.h: AArch64 Advanced SIMD pieces shared by kernels_neon.c and kernels_dotprod.c.
 *
 * Only included from inside `#ifdef BN_ARCH_AARCH64`. Everything here is static, so each kernel
 * file gets its own copy compiled with its own flags (the dotprod file's copy may use ARMv8.2
 * instructions; the plain NEON file's copy may not): nothing is shared at link level.
 *
 * What lives here: the entries that dot product instructions do not speed up (f16_gemm,
 * quantize_row, read_sum), the I2_S block decoder, and the f32 epilogues. Every function
 * reproduces the reference (kernels_ref.c) bit for bit; the comments say why.
 */
#ifndef BN_SIMD_ARM_H
#define BN_SIMD_ARM_H

#include <arm_neon.h>
#include <math.h>

#include "internal.h"

#if defined(_MSC_VER) && !defined(__clang__)
#  define BN_ALWAYS_INLINE static __forceinline
#  define BN_UNROLL(n)
#else
#  define BN_ALWAYS_INLINE static inline __attribute__((always_inline))
#  define BN_STR_(x) #x
#  define BN_UNROLL(n) _Pragma(BN_STR_(GCC unroll n))
#endif

/* GEMM loops take the weight rows in chunks of about this many bytes, and run every token tile
 * over one chunk before moving on, so a chunk is read from memory once and then from L2. */
#define BN_ARM_CHUNK_BYTES (64 * 1024)

static inline int64_t bn_arm_rows_per_chunk(int64_t row_bytes, int64_t min_rows) {
    int64_t rows = BN_ARM_CHUNK_BYTES / row_bytes;
    return rows < min_rows ? min_rows : rows;
}

/* ---- epilogues: the exact f32 expressions of the reference (no FMA: a divide then a multiply) */

static inline void bn_arm_store_i2s(float *y, int64_t y_stride, int64_t t, int64_t r, int32_t d,
                                    const int32_t *sums, const float *scales, float alpha) {
    y[t * y_stride + r] = (float)(d - sums[t]) / scales[t] * alpha;
}

static inline void bn_arm_store_i8(float *y, int64_t y_stride, int64_t t, int64_t r, int32_t d,
                                   const float *scales, const float *w_scales) {
    y[t * y_stride + r] = (float)d / scales[t] * w_scales[r];
}

/* ---- I2_S block decoder (docs/file-formats.md#i2_s; the on-disk 128-element / 32-byte block) ----
 * Byte j (0..31) of a block holds codes of elements j, 32+j, 64+j, 96+j at shifts 6, 4, 2, 0.
 * With lo = bytes 0..15 and hi = bytes 16..31, c[2g + h] gets the 16 codes of elements
 * 32g + 16h .. 32g + 16h + 15, i.e. c[i] pairs with activations q[16i .. 16i + 15] of the block.
 * Codes are 0..3 (code 3 is kept as 3, as the reference does), so they are valid int8. */
BN_ALWAYS_INLINE void bn_arm_i2s_decode(const uint8_t *blk, int8x16_t c[8]) {
    const uint8x16_t m3 = vdupq_n_u8(3);
    const uint8x16_t lo = vld1q_u8(blk);
    const uint8x16_t hi = vld1q_u8(blk + 16);
    c[0] = vreinterpretq_s8_u8(vshrq_n_u8(lo, 6));
    c[1] = vreinterpretq_s8_u8(vshrq_n_u8(hi, 6));
    c[2] = vreinterpretq_s8_u8(vandq_u8(vshrq_n_u8(lo, 4), m3));
    c[3] = vreinterpretq_s8_u8(vandq_u8(vshrq_n_u8(hi, 4), m3));
    c[4] = vreinterpretq_s8_u8(vandq_u8(vshrq_n_u8(lo, 2), m3));
    c[5] = vreinterpretq_s8_u8(vandq_u8(vshrq_n_u8(hi, 2), m3));
    c[6] = vreinterpretq_s8_u8(vandq_u8(lo, m3));
    c[7] = vreinterpretq_s8_u8(vandq_u8(hi, m3));
}

/* ---- f16_gemm ----
 * The reference keeps 32 f32 lane sums, acc[i % 32] = fmaf(w_i, x_i, acc[i % 32]), then adds
 * them pairwise. Here lane j lives in register j / 4, element j % 4, so one step of 32 inputs is
 * 8 vfmaq_f32 (fused, one rounding, exactly fmaf per lane) in the same per-lane order. f16 -> f32
 * with vcvt_f32_f16 is exact, like bn_f16_to_f32_scalar. */
/* The reference's reduction, "for h in 16, 8, 4, 2, 1: acc[j] = acc[j] + acc[j + h], j < h",
 * with the same operand order, register by register. */
BN_ALWAYS_INLINE float bn_arm_reduce_32_lanes(const float32x4_t a[8]) {
    const float32x4_t h16_0 = vaddq_f32(a[0], a[4]);   /* lanes 0..3   += lanes 16..19 */
    const float32x4_t h16_1 = vaddq_f32(a[1], a[5]);   /* lanes 4..7   += lanes 20..23 */
    const float32x4_t h16_2 = vaddq_f32(a[2], a[6]);   /* lanes 8..11  += lanes 24..27 */
    const float32x4_t h16_3 = vaddq_f32(a[3], a[7]);   /* lanes 12..15 += lanes 28..31 */
    const float32x4_t h8_0 = vaddq_f32(h16_0, h16_2);  /* lanes 0..3 += lanes 8..11 */
    const float32x4_t h8_1 = vaddq_f32(h16_1, h16_3);  /* lanes 4..7 += lanes 12..15 */
    const float32x4_t h4 = vaddq_f32(h8_0, h8_1);      /* lanes 0..3 += lanes 4..7 */
    const float32x2_t h2 = vadd_f32(vget_low_f32(h4), vget_high_f32(h4)); /* 0,1 += 2,3 */
    return vget_lane_f32(h2, 0) + vget_lane_f32(h2, 1);                  /* 0 += 1 */
}

/* TB (1 or 2) tokens times one weight row: the row is converted once per 32 inputs and used for
 * both tokens (8 weight + 16 accumulator registers). */
BN_ALWAYS_INLINE void bn_arm_f16_dot_tile(const uint16_t *row, const float *x, int64_t k, int TB,
                                          float *out) {
    float32x4_t acc[2][8];
    BN_UNROLL(2)
    for (int t = 0; t < TB; t++) {
        BN_UNROLL(8)
        for (int j = 0; j < 8; j++) acc[t][j] = vdupq_n_f32(0.0f);
    }
    for (int64_t i = 0; i < k; i += 32) {
        BN_UNROLL(2)
        for (int hf = 0; hf < 2; hf++) {  /* lanes 16*hf .. 16*hf + 15 */
            const uint16_t *wi = row + i + 16 * hf;
            const float16x8_t h0 = vreinterpretq_f16_u16(vld1q_u16(wi));
            const float16x8_t h1 = vreinterpretq_f16_u16(vld1q_u16(wi + 8));
            const float32x4_t wf[4] = {
                vcvt_f32_f16(vget_low_f16(h0)), vcvt_f32_f16(vget_high_f16(h0)),
                vcvt_f32_f16(vget_low_f16(h1)), vcvt_f32_f16(vget_high_f16(h1)),
            };
            BN_UNROLL(2)
            for (int t = 0; t < TB; t++) {
                const float *xi = x + t * k + i + 16 * hf;
                BN_UNROLL(4)
                for (int j = 0; j < 4; j++) {
                    float32x4_t *a = &acc[t][4 * hf + j];
                    *a = vfmaq_f32(*a, wf[j], vld1q_f32(xi + 4 * j));
                }
            }
        }
    }
    BN_UNROLL(2)
    for (int t = 0; t < TB; t++) out[t] = bn_arm_reduce_32_lanes(acc[t]);
}

static inline void bn_arm_f16_gemm(const uint16_t *w, int64_t k, int64_t r0, int64_t r1,
                                   const float *x, int64_t n_tokens, float *y, int64_t y_stride) {
    const int64_t chunk = bn_arm_rows_per_chunk(k * 2, 1);
    for (int64_t rc = r0; rc < r1; rc += chunk) {
        const int64_t rce = (r1 - rc < chunk) ? r1 : rc + chunk;
        int64_t t = 0;
        for (; t + 2 <= n_tokens; t += 2) {
            for (int64_t r = rc; r < rce; r++) {
                float out[2];
                bn_arm_f16_dot_tile(w + r * k, x + t * k, k, 2, out);
                y[t * y_stride + r] = out[0];
                y[(t + 1) * y_stride + r] = out[1];
            }
        }
        for (; t < n_tokens; t++) {
            for (int64_t r = rc; r < rce; r++) {
                float out[1];
                bn_arm_f16_dot_tile(w + r * k, x + t * k, k, 1, out);
                y[t * y_stride + r] = out[0];
            }
        }
    }
}

/* ---- quantize_row (docs/numerics.md#activation-quantization) ----
 * amax: the reference takes max(1e-5, max_i (double)|x_i|) skipping NaN. float -> double is exact
 * and monotonic, so the max of the floats converted once is the same number. NaN must be skipped:
 * vmaxq_f32 would propagate it and vmaxnmq_f32 still propagates signalling NaN, so the running
 * max is updated with a compare/select (a > m is false for NaN).
 * Values: v = x * s (f32 multiply); "!(v >= -128) -> -128" also maps NaN to -128; then
 * min(v, 127) (v is no longer NaN); vcvtnq_s32_f32 rounds half to even, which for |v| <= 128 is
 * exactly bn_nearest_int. */
static inline void bn_arm_quantize_row(const float *x, int64_t k, int8_t *q, float *scale,
                                       int32_t *sum) {
    float32x4_t m[4];
    for (int j = 0; j < 4; j++) m[j] = vdupq_n_f32(0.0f);
    int64_t i = 0;
    for (; i + 16 <= k; i += 16) {
        BN_UNROLL(4)
        for (int j = 0; j < 4; j++) {
            const float32x4_t a = vabsq_f32(vld1q_f32(x + i + 4 * j));
            m[j] = vbslq_f32(vcgtq_f32(a, m[j]), a, m[j]);
        }
    }
    /* m holds no NaN, so the ordinary max is fine from here on. */
    float mx = vmaxvq_f32(vmaxq_f32(vmaxq_f32(m[0], m[1]), vmaxq_f32(m[2], m[3])));
    for (int64_t j = i; j < k; j++) {
        const float a = fabsf(x[j]);
        if (a > mx) mx = a;
    }
    double amax = 1e-5;
    if ((double)mx > amax) amax = (double)mx;
    const float s = (float)(127.0 / amax);

    const float32x4_t vs = vdupq_n_f32(s);
    const float32x4_t lo = vdupq_n_f32(-128.0f);
    const float32x4_t hi = vdupq_n_f32(127.0f);
    int32x4_t acc = vdupq_n_s32(0);
    i = 0;
    for (; i + 16 <= k; i += 16) {
        int32x4_t n[4];
        BN_UNROLL(4)
        for (int j = 0; j < 4; j++) {
            float32x4_t v = vmulq_f32(vld1q_f32(x + i + 4 * j), vs);
            v = vbslq_f32(vcgeq_f32(v, lo), v, lo);
            v = vminq_f32(v, hi);
            n[j] = vcvtnq_s32_f32(v);
        }
        acc = vaddq_s32(acc, vaddq_s32(vaddq_s32(n[0], n[1]), vaddq_s32(n[2], n[3])));
        const int16x8_t n01 = vcombine_s16(vmovn_s32(n[0]), vmovn_s32(n[1]));
        const int16x8_t n23 = vcombine_s16(vmovn_s32(n[2]), vmovn_s32(n[3]));
        vst1q_s8(q + i, vcombine_s8(vmovn_s16(n01), vmovn_s16(n23)));
    }
    int32_t total = vaddvq_s32(acc);
    for (; i < k; i++) {  /* tail: the reference's own expression */
        float v = x[i] * s;
        if (!(v >= -128.0f)) v = -128.0f;
        if (v > 127.0f) v = 127.0f;
        const int32_t n = bn_nearest_int(v);
        q[i] = (int8_t)n;
        total += n;
    }
    *scale = s;
    *sum = total;
}

/* ---- read_sum: wrapping u64 sum of the words, 64 bytes per step (n % 256 == 0). Modular
 * addition is associative, so any grouping gives the reference's value. */
static inline uint64_t bn_arm_read_sum(const uint8_t *p, size_t n) {
    uint64x2_t a = vdupq_n_u64(0), b = a, c = a, d = a;
    for (size_t i = 0; i < n; i += 64) {
        a = vaddq_u64(a, vreinterpretq_u64_u8(vld1q_u8(p + i)));
        b = vaddq_u64(b, vreinterpretq_u64_u8(vld1q_u8(p + i + 16)));
        c = vaddq_u64(c, vreinterpretq_u64_u8(vld1q_u8(p + i + 32)));
        d = vaddq_u64(d, vreinterpretq_u64_u8(vld1q_u8(p + i + 48)));
    }
    const uint64x2_t s = vaddq_u64(vaddq_u64(a, b), vaddq_u64(c, d));
    return vgetq_lane_u64(s, 0) + vgetq_lane_u64(s, 1);
}

#endif /* BN_SIMD_ARM_H */
