/*
 * simd_x86.h: small helpers shared by the x86-64 kernel files (kernels_avx2.c, kernels_avx512.c).
 *
 * Include it only from files compiled with at least -mavx2 -mfma -mf16c (MSVC: /arch:AVX2): the
 * helpers use AVX2 instructions, and nothing here may run on a CPU the dispatcher did not clear.
 * Everything is static inline, so no code or data exists unless a kernel file uses it.
 */
#ifndef BN_SIMD_X86_H
#define BN_SIMD_X86_H

#include "internal.h"

#ifdef BN_ARCH_X86_64

#include <immintrin.h>

/* BN_INLINE forces inlining: the tile kernels take their tile shape as arguments and must be
 * specialised at each constant call site. BN_NOINLINE keeps a function out of line (used where
 * inlining would make GCC spill the caller's accumulators). */
#if defined(_MSC_VER) && !defined(__clang__)
#  define BN_INLINE static __forceinline
#  define BN_NOINLINE __declspec(noinline)
#else
#  define BN_INLINE static inline __attribute__((always_inline))
#  define BN_NOINLINE __attribute__((noinline))
#endif

/* Wrapping int32 sum of the 8 lanes (exact: the lanes and the result are int32 mod 2^32). */
BN_INLINE int32_t bn_hsum_epi32_256(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

/* Sums lane l of each of 4 vectors: returns {hsum(a), hsum(b), hsum(c), hsum(d)} (wrapping). */
BN_INLINE __m128i bn_hsum4_epi32_256(__m256i a, __m256i b, __m256i c, __m256i d) {
    const __m256i ab = _mm256_hadd_epi32(a, b);   /* a01 a23 b01 b23 | a45 a67 b45 b67 */
    const __m256i cd = _mm256_hadd_epi32(c, d);
    const __m256i abcd = _mm256_hadd_epi32(ab, cd); /* a0-3 b0-3 c0-3 d0-3 | a4-7 ... */
    return _mm_add_epi32(_mm256_castsi256_si128(abcd), _mm256_extracti128_si256(abcd, 1));
}

/* Sums of 8 vectors: lane i of the result is the wrapping sum of the 8 lanes of v[i]. */
BN_INLINE __m256i bn_hsum8_epi32_256(const __m256i *v) {
    const __m256i s01 = _mm256_hadd_epi32(v[0], v[1]);   /* 0 0 1 1 | 0 0 1 1 (pair sums) */
    const __m256i s23 = _mm256_hadd_epi32(v[2], v[3]);
    const __m256i s45 = _mm256_hadd_epi32(v[4], v[5]);
    const __m256i s67 = _mm256_hadd_epi32(v[6], v[7]);
    const __m256i s0123 = _mm256_hadd_epi32(s01, s23);  /* 0 1 2 3 | 0 1 2 3 (half sums) */
    const __m256i s4567 = _mm256_hadd_epi32(s45, s67);  /* 4 5 6 7 | 4 5 6 7 */
    const __m256i lo = _mm256_permute2x128_si256(s0123, s4567, 0x20); /* low halves */
    const __m256i hi = _mm256_permute2x128_si256(s0123, s4567, 0x31); /* high halves */
    return _mm256_add_epi32(lo, hi);
}

/* Largest element of 8 floats that hold no NaN. */
BN_INLINE float bn_hmax_ps_256(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}

/* The reference's 32-lane reduction (internal.h, f16_gemm) on lanes 0-7 in a0, 8-15 in a1,
 * 16-23 in a2 and 24-31 in a3: h = 16, 8, 4, 2, 1, each step acc[j] = acc[j] + acc[j + h] with
 * the lower lane as the first operand exactly as the reference writes it. */
BN_INLINE float bn_reduce_32_lanes_256(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
    a0 = _mm256_add_ps(a0, a2);                                   /* h = 16: lanes 0-7 */
    a1 = _mm256_add_ps(a1, a3);                                   /* h = 16: lanes 8-15 */
    a0 = _mm256_add_ps(a0, a1);                                   /* h = 8 */
    __m128 v = _mm_add_ps(_mm256_castps256_ps128(a0), _mm256_extractf128_ps(a0, 1)); /* h = 4 */
    v = _mm_add_ps(v, _mm_movehl_ps(v, v));                       /* h = 2: lanes 0, 1 */
    v = _mm_add_ss(v, _mm_shuffle_ps(v, v, 1));                   /* h = 1 */
    return _mm_cvtss_f32(v);
}

/* quantize_row's scalar pieces, the same expressions as the reference (docs/numerics.md#activation-quantization). */
BN_INLINE float bn_quant_scale(float max_abs) {
    double amax = 1e-5;
    if ((double)max_abs > amax) amax = (double)max_abs;
    return (float)(127.0 / amax);
}

BN_INLINE int32_t bn_quant_one(float x, float s) {
    float v = x * s;
    if (!(v >= -128.0f)) v = -128.0f; /* also maps NaN to -128 */
    if (v > 127.0f) v = 127.0f;
    return bn_nearest_int(v);
}

#endif /* BN_ARCH_X86_64 */
#endif /* BN_SIMD_X86_H */
