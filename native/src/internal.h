/*
 * internal.h: what the library's own files share: the kernel table every variant fills in,
 * the f16 conversions, and small portable helpers. Not installed, not seen by Python.
 */
#ifndef BN_INTERNAL_H
#define BN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../include/bitnet.h"

#if defined(__x86_64__) || defined(_M_X64)
#  define BN_ARCH_X86_64 1
#elif defined(__aarch64__) || defined(_M_ARM64)
#  define BN_ARCH_AARCH64 1
#endif

/*
 * One table per kernel variant (ggml's traits-table pattern): model code and the public
 * operations never branch on the instruction set. Every entry of a SIMD table must give results
 * bit-identical to the reference table for all inputs; the tests check that.
 *
 * Common arguments: rows [r0, r1) of a weight matrix with row length k are computed for every
 * token t in [0, n_tokens); output element (t, r) is written to y[t * y_stride + r].
 * Activation rows are contiguous: token t's row starts at t * k.
 */
typedef struct bn_kernel_table {
    const char *name;

    /* Ternary I2_S weights (docs/file-formats.md#i2_s): row r is the k/4 bytes at w + r*k/4, k % 128 == 0.
     * D = sum over k of code * q, with the raw 2-bit code (0, 1, 2; code 3 counts as 3 exactly as
     * bitnet.cpp's kernels do; valid files never contain it). Exact in int32 for any int8 input.
     * y = (float)(D - sums[t]) / scales[t] * alpha  (f32: subtract in int32, divide, multiply). */
    void (*i2s_gemm)(const uint8_t *w, int64_t k, int64_t r0, int64_t r1, float alpha,
                     const int8_t *q, const float *scales, const int32_t *sums, int64_t n_tokens,
                     float *y, int64_t y_stride);

    /* f16 weights (row r at w + r*k), f32 activations x, k % 32 == 0.
     * acc[j] (j = 0..31, all 0.0f) ; for each i: acc[i % 32] = fmaf(f32(w[i]), x[i], acc[i % 32]);
     * then for h in 16, 8, 4, 2, 1: acc[j] = acc[j] + acc[j + h] for j < h; y = acc[0]. */
    void (*f16_gemm)(const uint16_t *w, int64_t k, int64_t r0, int64_t r1,
                     const float *x, int64_t n_tokens, float *y, int64_t y_stride);

    /* int8 weights in [-127, 127] (row r at w + r*k) with row scales, int8 activations, k % 32 == 0.
     * D = exact int32 dot; y = (float)D / scales[t] * w_scales[r]. */
    void (*i8_gemm)(const int8_t *w, const float *w_scales, int64_t k, int64_t r0, int64_t r1,
                    const int8_t *q, const float *scales, int64_t n_tokens,
                    float *y, int64_t y_stride);

    /* docs/numerics.md#activation-quantization for one row of length k (any k >= 1):
     * amax = max(1e-5, max |x_i|) in double, NaN elements ignored; s = (float)(127.0 / amax);
     * v = x_i * s (f32); NaN -> -128; clamp to [-128, 127]; q_i = round half to even;
     * *scale = s; *sum = sum of q_i. */
    void (*quantize_row)(const float *x, int64_t k, int8_t *q, float *scale, int32_t *sum);

    /* Reads n bytes (n % 256 == 0, p 64-byte aligned) with the widest loads of the variant and
     * returns a checksum (wrapping sum of the 64-bit words) so the reads cannot be elided. */
    uint64_t (*read_sum)(const uint8_t *p, size_t n);
} bn_kernel_table;

/* Each variant file defines its getter; it returns NULL when the file was compiled for another
 * architecture (the library always links all of them). */
const bn_kernel_table *bn_kernels_ref(void);
const bn_kernel_table *bn_kernels_avx2(void);
const bn_kernel_table *bn_kernels_avx512(void);
const bn_kernel_table *bn_kernels_neon(void);
const bn_kernel_table *bn_kernels_dotprod(void);

/* The table of a variant if it is compiled in (not necessarily supported by this CPU). */
const bn_kernel_table *bn_kernel_table_get(int kernel);

/* Round-to-nearest-even of a float with |v| < 2^22 (docs/numerics.md#activation-quantization: ggml's nearest_int). */
static inline int32_t bn_nearest_int(float v) {
    float t = v + 12582912.0f; /* 1.5 * 2^23 */
    int32_t i;
    memcpy(&i, &t, sizeof i);
    return (i & 0x007fffff) - 0x00400000;
}

/* IEEE binary16 <-> binary32, exact up-conversion, round-to-nearest-even down-conversion
 * (what F16C's vcvtps2ph with imm 0 and NEON's fcvtn do). */
static inline float bn_f16_to_f32_scalar(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (man << 13);           /* inf / NaN (payload kept) */
    } else if (exp != 0) {
        bits = sign | ((exp + 112u) << 23) | (man << 13);  /* normal: rebias 15 -> 127 */
    } else if (man == 0) {
        bits = sign;                                       /* signed zero */
    } else {                                               /* subnormal: normalise */
        int shift = 0;
        while ((man & 0x400u) == 0) { man <<= 1; shift++; }
        man &= 0x3ffu;
        bits = sign | ((uint32_t)(113 - shift) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static inline uint16_t bn_f32_to_f16_scalar(float f) {
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t absx = x & 0x7fffffffu;
    if (absx > 0x7f800000u) {                      /* NaN: quiet, keep top payload bits */
        return (uint16_t)(sign | 0x7e00u | ((absx >> 13) & 0x1ffu));
    }
    if (absx >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* rounds to >= 65520: inf */
    if (absx >= 0x38800000u) {                     /* normal half (>= 2^-14) */
        uint32_t mant_round = absx + 0xfffu + ((absx >> 13) & 1u); /* RNE at bit 13 */
        return (uint16_t)(sign | ((mant_round - 0x38000000u) >> 13));
    }
    if (absx < 0x33000000u) return sign;           /* < 2^-25: rounds to zero */
    /* subnormal half: value = m * 2^-24 with m in [0, 1024] */
    uint32_t e = absx >> 23;
    uint32_t m = (absx & 0x7fffffu) | 0x800000u;
    uint32_t shift = 126u - e;                     /* 14 + (113 - e) - 1 */
    uint32_t q = m >> shift;
    uint32_t rem = m & ((1u << shift) - 1u);
    uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (q & 1u))) q++;
    return (uint16_t)(sign | q);
}

#endif /* BN_INTERNAL_H */
