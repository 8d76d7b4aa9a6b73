/*
 * kernels_ref.c: the portable scalar reference of every kernel. It defines what correct means
 * (the SIMD variants must match it bit for bit) and is the fallback on CPUs without SIMD support.
 * Written for clarity, not speed.
 */
#include <math.h>
#include <string.h>

#include "internal.h"

static void i2s_gemm_ref(const uint8_t *w, int64_t k, int64_t r0, int64_t r1, float alpha,
                         const int8_t *q, const float *scales, const int32_t *sums,
                         int64_t n_tokens, float *y, int64_t y_stride) {
    const int64_t row_bytes = k / 4;
    for (int64_t t = 0; t < n_tokens; t++) {
        const int8_t *qt = q + t * k;
        for (int64_t r = r0; r < r1; r++) {
            const uint8_t *row = w + r * row_bytes;
            int32_t d = 0;
            for (int64_t b = 0; b < k / BN_I2S_BLOCK; b++) {
                const uint8_t *blk = row + 32 * b;
                const int8_t *qb = qt + BN_I2S_BLOCK * b;
                for (int j = 0; j < 32; j++) {
                    const uint8_t byte = blk[j];
                    d += ((byte >> 6) & 3) * qb[j];        /* group 0: elements 0..31 */
                    d += ((byte >> 4) & 3) * qb[32 + j];   /* group 1: elements 32..63 */
                    d += ((byte >> 2) & 3) * qb[64 + j];   /* group 2: elements 64..95 */
                    d += (byte & 3) * qb[96 + j];          /* group 3: elements 96..127 */
                }
            }
            y[t * y_stride + r] = (float)(d - sums[t]) / scales[t] * alpha;
        }
    }
}

/* The lane-order reduction every f16_gemm variant reproduces (see internal.h). */
static float reduce_32_lanes(float acc[32]) {
    for (int h = 16; h >= 1; h /= 2) {
        for (int j = 0; j < h; j++) acc[j] = acc[j] + acc[j + h];
    }
    return acc[0];
}

/* fmaf(a, b, c) with one rounding, independent of the C runtime's fmaf (MinGW-w64's computes it
 * in x87 long double and rounds twice: about a quarter of random cases are an ulp off).
 * a*b is exact in double (24 + 24 bits); the sum a*b + c is rounded to odd in double (the nearest
 * double, moved to its odd neighbour on the side of the exact value when inexact, the exact error
 * coming from TwoSum); rounding that to float is then correctly rounded, subnormal results
 * included, as double has more than 24 + 2 bits (Boldo & Melquiond, "Emulation of FMA and
 * correctly rounded sums: proved algorithms using rounding to odd", 2008). */
static float fmaf_one_rounding(float a, float b, float c) {
    const double p = (double)a * (double)b, z = (double)c;
    const double s = p + z;
    if (!isfinite(s)) return (float)s; /* inf / NaN operands, or overflow: no error term */
    const double z_part = s - p;       /* TwoSum: s + err == p + z exactly */
    const double err = (p - (s - z_part)) + (z - z_part);
    uint64_t bits;
    memcpy(&bits, &s, sizeof bits);
    if (err != 0.0 && (bits & 1u) == 0) {
        /* one ulp away from zero when the exact value is farther from zero than s, else toward */
        if ((err > 0.0) == (s > 0.0)) bits++;
        else bits--;
    }
    double odd;
    memcpy(&odd, &bits, sizeof odd);
    return (float)odd;
}

static void f16_gemm_ref(const uint16_t *w, int64_t k, int64_t r0, int64_t r1,
                         const float *x, int64_t n_tokens, float *y, int64_t y_stride) {
    for (int64_t t = 0; t < n_tokens; t++) {
        const float *xt = x + t * k;
        for (int64_t r = r0; r < r1; r++) {
            const uint16_t *row = w + r * k;
            float acc[32] = {0};
            for (int64_t i = 0; i < k; i++) {
                acc[i % 32] = fmaf_one_rounding(bn_f16_to_f32_scalar(row[i]), xt[i], acc[i % 32]);
            }
            y[t * y_stride + r] = reduce_32_lanes(acc);
        }
    }
}

static void i8_gemm_ref(const int8_t *w, const float *w_scales, int64_t k, int64_t r0,
                        int64_t r1, const int8_t *q, const float *scales, int64_t n_tokens,
                        float *y, int64_t y_stride) {
    for (int64_t t = 0; t < n_tokens; t++) {
        const int8_t *qt = q + t * k;
        for (int64_t r = r0; r < r1; r++) {
            const int8_t *row = w + r * k;
            int32_t d = 0;
            for (int64_t i = 0; i < k; i++) d += row[i] * qt[i];
            y[t * y_stride + r] = (float)d / scales[t] * w_scales[r];
        }
    }
}

static void quantize_row_ref(const float *x, int64_t k, int8_t *q, float *scale, int32_t *sum) {
    double amax = 1e-5;
    for (int64_t i = 0; i < k; i++) {
        const double a = fabs((double)x[i]);
        if (a > amax) amax = a;  /* NaN compares false: ignored */
    }
    const float s = (float)(127.0 / amax);
    int32_t total = 0;
    for (int64_t i = 0; i < k; i++) {
        float v = x[i] * s;
        if (!(v >= -128.0f)) v = -128.0f;  /* also maps NaN to -128 */
        if (v > 127.0f) v = 127.0f;
        const int32_t n = bn_nearest_int(v);
        q[i] = (int8_t)n;
        total += n;
    }
    *scale = s;
    *sum = total;
}

static uint64_t read_sum_ref(const uint8_t *p, size_t n) {
    uint64_t a = 0, b = 0, c = 0, d = 0;
    for (size_t i = 0; i < n; i += 32) {
        uint64_t w[4];
        memcpy(w, p + i, sizeof w);
        a += w[0]; b += w[1]; c += w[2]; d += w[3];
    }
    return a + b + c + d;
}

static const bn_kernel_table table = {
    .name = "ref",
    .i2s_gemm = i2s_gemm_ref,
    .f16_gemm = f16_gemm_ref,
    .i8_gemm = i8_gemm_ref,
    .quantize_row = quantize_row_ref,
    .read_sum = read_sum_ref,
};

const bn_kernel_table *bn_kernels_ref(void) { return &table; }
