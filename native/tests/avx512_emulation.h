/*
 * avx512_emulation.h (tests only): lets kernels_avx512.c run on a CPU without AVX-512, so its
 * bit-exactness is checked on every machine. The test build replaces `#include <immintrin.h>` in
 * copies of kernels_avx512.c and simd_x86.h with this header: SIMDe (Debian libsimde-dev) supplies
 * portable implementations of the AVX-512 intrinsics, and the few that SIMDe 0.7.4 lacks or gets
 * wrong (masked byte loads, vcvtph2ps NaN quieting, vcvtps2dq, single-rounding fmadd) are written
 * here from Intel's documentation. Never part of the library build.
 */
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>
#ifndef __mmask64
typedef simde__mmask64 __mmask64;
typedef simde__mmask16 __mmask16;
#endif
#include <string.h>
#include <math.h>

static inline simde__m512i shim_maskz_loadu_epi8(uint64_t k, const void *p) {
    int8_t t[64]; const int8_t *s = (const int8_t *)p;
    for (int i = 0; i < 64; i++) t[i] = ((k >> i) & 1) ? s[i] : 0;
    return simde_mm512_loadu_si512(t);
}
#define _mm512_maskz_loadu_epi8(k, p) shim_maskz_loadu_epi8((uint64_t)(k), (p))

static inline simde__m512 shim_maskz_loadu_ps(uint16_t k, const float *p) {
    float t[16];
    for (int i = 0; i < 16; i++) t[i] = ((k >> i) & 1) ? p[i] : 0.0f;
    return simde_mm512_loadu_ps(t);
}
#define _mm512_maskz_loadu_ps(k, p) shim_maskz_loadu_ps((uint16_t)(k), (p))

static inline void shim_mask_cvtepi32_storeu_epi8(void *p, uint16_t k, simde__m512i v) {
    int32_t t[16]; simde_mm512_storeu_si512(t, v);
    for (int i = 0; i < 16; i++) if ((k >> i) & 1) ((int8_t *)p)[i] = (int8_t)t[i];
}
#define _mm512_mask_cvtepi32_storeu_epi8(p, k, v) shim_mask_cvtepi32_storeu_epi8((p), (uint16_t)(k), (v))

/* exact f16 -> f32 with quiet-bit set on NaN like vcvtph2ps */
static inline float shim_h2f(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0x1f) bits = sign | 0x7f800000u | (man << 13) | (man ? 0x400000u : 0);
    else if (exp) bits = sign | ((exp + 112u) << 23) | (man << 13);
    else if (!man) bits = sign;
    else { int s = 0; while (!(man & 0x400)) { man <<= 1; s++; } man &= 0x3ff; bits = sign | ((uint32_t)(113 - s) << 23) | (man << 13); }
    float f; memcpy(&f, &bits, 4); return f;
}
static inline simde__m512 shim_cvtph_ps(simde__m256i h) {
    uint16_t t[16]; float o[16]; simde_mm256_storeu_si256(t, h);
    for (int i = 0; i < 16; i++) o[i] = shim_h2f(t[i]);
    return simde_mm512_loadu_ps(o);
}
#define _mm512_cvtph_ps(h) shim_cvtph_ps(h)

/* round to nearest even (MXCSR default), out of range / NaN -> INT_MIN */
static inline simde__m512i shim_cvtps_epi32(simde__m512 v) {
    float t[16]; int32_t o[16]; simde_mm512_storeu_ps(t, v);
    for (int i = 0; i < 16; i++) {
        if (isnan(t[i]) || t[i] >= 2147483648.0f || t[i] < -2147483648.0f) o[i] = INT32_MIN;
        else o[i] = (int32_t)nearbyintf(t[i]);
    }
    return simde_mm512_loadu_si512(o);
}
#define _mm512_cvtps_epi32(v) shim_cvtps_epi32(v)

/* SIMDe's portable fmadd rounds twice; the instruction rounds once. */
static inline simde__m512 shim_fmadd_ps(simde__m512 a, simde__m512 b, simde__m512 c) {
    float x[16], y[16], z[16];
    simde_mm512_storeu_ps(x, a); simde_mm512_storeu_ps(y, b); simde_mm512_storeu_ps(z, c);
    for (int i = 0; i < 16; i++) x[i] = fmaf(x[i], y[i], z[i]);
    return simde_mm512_loadu_ps(x);
}
#undef _mm512_fmadd_ps
#define _mm512_fmadd_ps(a, b, c) shim_fmadd_ps(a, b, c)
