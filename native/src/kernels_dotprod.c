/*
 * kernels_dotprod.c: AArch64 Advanced SIMD + dot product (SDOT, ARMv8.2-A DotProd; every Apple
 * M-series, Cortex-A55/A76 and later, Graviton 2+). Table name "dotprod".
 *
 * Build flags for this file only (the rest of the library stays plain ARMv8.0-A, and the CPU
 * probe decides at run time whether this table may be used):
 *   gcc / clang:   -march=armv8.2-a+dotprod
 *   Apple clang:   -march=armv8.2-a+dotprod (or -mcpu=apple-m1; arm64 macOS always has it)
 *   MSVC (ARM64):  no flag; vdotq_s32 comes with <arm_neon.h> (VS 2022 17.x), untested here
 * On other architectures the file compiles to a getter that returns NULL.
 *
 * Every entry is bit-identical to kernels_ref.c (native/tests/kernel_check.c checks it).
 */
#include "internal.h"

#ifdef BN_ARCH_AARCH64

#if !defined(_MSC_VER) && !defined(__ARM_FEATURE_DOTPROD)
#  error "kernels_dotprod.c needs -march=armv8.2-a+dotprod (or an -mcpu that has it)"
#endif

#include "simd_arm.h"

/* ---- I2_S, one token, RB (1 or 2) rows ----
 * The token's 128 activations of a block stay in 8 registers for the RB rows. The codes are not
 * shifted down: plane 0 is byte >> 6 (codes 0..3), planes 1, 2, 3 are byte & 0x30, & 0x0c,
 * & 0x03, i.e. 16*c, 4*c and c (all <= 48, valid int8). Each plane has its own accumulator (four
 * independent SDOT chains per row), and at the end
 *     D = acc0 + (acc1 >> 4) + (acc2 >> 2) + acc3   (per lane, then across lanes).
 * Exact: every product in acc1 is a multiple of 16 (acc2: of 4), so the shifts drop only zero
 * bits. No overflow: a lane of acc1 collects k/16 products of magnitude <= 16*3*128, so
 * |lane| <= 384*k, the same bound the reference's own int32 D needs (k*3*128 < 2^31). */
BN_ALWAYS_INLINE void i2s_gemv_rows_dotprod(const uint8_t *w, int64_t row_bytes, int64_t nb,
                                            const int8_t *qt, int RB, int32_t *d) {
    const uint8x16_t m30 = vdupq_n_u8(0x30);
    const uint8x16_t m0c = vdupq_n_u8(0x0c);
    const uint8x16_t m03 = vdupq_n_u8(0x03);
    int32x4_t acc[2][4];
    BN_UNROLL(2)
    for (int r = 0; r < RB; r++) {
        BN_UNROLL(4)
        for (int p = 0; p < 4; p++) acc[r][p] = vdupq_n_s32(0);
    }
    for (int64_t b = 0; b < nb; b++) {
        const int8_t *qb = qt + BN_I2S_BLOCK * b;
        int8x16_t qv[8];
        BN_UNROLL(8)
        for (int i = 0; i < 8; i++) qv[i] = vld1q_s8(qb + 16 * i);
        BN_UNROLL(2)
        for (int r = 0; r < RB; r++) {
            const uint8_t *blk = w + r * row_bytes + 32 * b;
            const uint8x16_t lo = vld1q_u8(blk);
            const uint8x16_t hi = vld1q_u8(blk + 16);
            acc[r][0] = vdotq_s32(acc[r][0], vreinterpretq_s8_u8(vshrq_n_u8(lo, 6)), qv[0]);
            acc[r][0] = vdotq_s32(acc[r][0], vreinterpretq_s8_u8(vshrq_n_u8(hi, 6)), qv[1]);
            acc[r][1] = vdotq_s32(acc[r][1], vreinterpretq_s8_u8(vandq_u8(lo, m30)), qv[2]);
            acc[r][1] = vdotq_s32(acc[r][1], vreinterpretq_s8_u8(vandq_u8(hi, m30)), qv[3]);
            acc[r][2] = vdotq_s32(acc[r][2], vreinterpretq_s8_u8(vandq_u8(lo, m0c)), qv[4]);
            acc[r][2] = vdotq_s32(acc[r][2], vreinterpretq_s8_u8(vandq_u8(hi, m0c)), qv[5]);
            acc[r][3] = vdotq_s32(acc[r][3], vreinterpretq_s8_u8(vandq_u8(lo, m03)), qv[6]);
            acc[r][3] = vdotq_s32(acc[r][3], vreinterpretq_s8_u8(vandq_u8(hi, m03)), qv[7]);
        }
    }
    BN_UNROLL(2)
    for (int r = 0; r < RB; r++) {
        const int32x4_t s = vaddq_s32(vaddq_s32(acc[r][0], vshrq_n_s32(acc[r][1], 4)),
                                      vaddq_s32(vshrq_n_s32(acc[r][2], 2), acc[r][3]));
        d[r] = vaddvq_s32(s);
    }
}

/* ---- I2_S, RB (1 or 2) rows x TB (4) tokens: each weight block is decoded once (16 code
 * registers for 2 rows) and used for all tokens of the tile; each activation vector loaded once
 * serves both rows. One int32 accumulator per (row, token): a lane gets k/4 products of
 * magnitude <= 3*128, |lane| <= 96*k, far from overflow. */
BN_ALWAYS_INLINE void i2s_tile_dotprod(const uint8_t *w, int64_t row_bytes, int64_t nb,
                                       const int8_t *q, int64_t k, int RB, int TB,
                                       int32_t d[2][4]) {
    int32x4_t acc[2][4];
    BN_UNROLL(2)
    for (int r = 0; r < RB; r++) {
        BN_UNROLL(4)
        for (int t = 0; t < TB; t++) acc[r][t] = vdupq_n_s32(0);
    }
    for (int64_t b = 0; b < nb; b++) {
        int8x16_t c[2][8];
        BN_UNROLL(2)
        for (int r = 0; r < RB; r++) bn_arm_i2s_decode(w + r * row_bytes + 32 * b, c[r]);
        BN_UNROLL(4)
        for (int t = 0; t < TB; t++) {
            const int8_t *qb = q + t * k + BN_I2S_BLOCK * b;
            BN_UNROLL(8)
            for (int i = 0; i < 8; i++) {
                const int8x16_t qv = vld1q_s8(qb + 16 * i);
                BN_UNROLL(2)
                for (int r = 0; r < RB; r++) acc[r][t] = vdotq_s32(acc[r][t], c[r][i], qv);
            }
        }
    }
    BN_UNROLL(2)
    for (int r = 0; r < RB; r++) {
        BN_UNROLL(4)
        for (int t = 0; t < TB; t++) d[r][t] = vaddvq_s32(acc[r][t]);
    }
}

static void i2s_gemm_dotprod(const uint8_t *w, int64_t k, int64_t r0, int64_t r1, float alpha,
                             const int8_t *q, const float *scales, const int32_t *sums,
                             int64_t n_tokens, float *y, int64_t y_stride) {
    const int64_t row_bytes = k / 4;
    const int64_t nb = k / BN_I2S_BLOCK;
    const int64_t chunk = bn_arm_rows_per_chunk(row_bytes, 4);
    for (int64_t rc = r0; rc < r1; rc += chunk) {
        const int64_t rce = (r1 - rc < chunk) ? r1 : rc + chunk;
        int64_t t = 0;
        for (; t + 4 <= n_tokens; t += 4) {  /* GEMM: tiles of 4 tokens over this row chunk */
            const int8_t *qt = q + t * k;
            int64_t r = rc;
            for (; r + 2 <= rce; r += 2) {
                int32_t d[2][4];
                i2s_tile_dotprod(w + r * row_bytes, row_bytes, nb, qt, k, 2, 4, d);
                for (int i = 0; i < 2; i++)
                    for (int j = 0; j < 4; j++)
                        bn_arm_store_i2s(y, y_stride, t + j, r + i, d[i][j], sums, scales, alpha);
            }
            for (; r < rce; r++) {
                int32_t d[2][4];
                i2s_tile_dotprod(w + r * row_bytes, row_bytes, nb, qt, k, 1, 4, d);
                for (int j = 0; j < 4; j++)
                    bn_arm_store_i2s(y, y_stride, t + j, r, d[0][j], sums, scales, alpha);
            }
        }
        for (; t < n_tokens; t++) {  /* GEMV for the remaining tokens */
            const int8_t *qt = q + t * k;
            int64_t r = rc;
            for (; r + 2 <= rce; r += 2) {
                int32_t d[2];
                i2s_gemv_rows_dotprod(w + r * row_bytes, row_bytes, nb, qt, 2, d);
                bn_arm_store_i2s(y, y_stride, t, r, d[0], sums, scales, alpha);
                bn_arm_store_i2s(y, y_stride, t, r + 1, d[1], sums, scales, alpha);
            }
            for (; r < rce; r++) {
                int32_t d[2];
                i2s_gemv_rows_dotprod(w + r * row_bytes, row_bytes, nb, qt, 1, d);
                bn_arm_store_i2s(y, y_stride, t, r, d[0], sums, scales, alpha);
            }
        }
    }
}

/* ---- int8 head: RB (1 or 4) rows x TB (1 or 4) tokens, 32 inputs per step, SDOT straight on
 * the int8 weights and activations (a lane gets k/4 products of magnitude <= 127*128). */
BN_ALWAYS_INLINE void i8_tile_dotprod(const int8_t *w, int64_t k, const int8_t *q, int RB, int TB,
                                      int32_t d[4][4]) {
    int32x4_t acc[4][4];
    BN_UNROLL(4)
    for (int r = 0; r < RB; r++) {
        BN_UNROLL(4)
        for (int t = 0; t < TB; t++) acc[r][t] = vdupq_n_s32(0);
    }
    for (int64_t i = 0; i < k; i += 32) {
        int8x16_t wv[4][2];
        BN_UNROLL(4)
        for (int r = 0; r < RB; r++) {
            wv[r][0] = vld1q_s8(w + r * k + i);
            wv[r][1] = vld1q_s8(w + r * k + i + 16);
        }
        BN_UNROLL(4)
        for (int t = 0; t < TB; t++) {
            const int8x16_t q0 = vld1q_s8(q + t * k + i);
            const int8x16_t q1 = vld1q_s8(q + t * k + i + 16);
            BN_UNROLL(4)
            for (int r = 0; r < RB; r++) {
                acc[r][t] = vdotq_s32(acc[r][t], wv[r][0], q0);
                acc[r][t] = vdotq_s32(acc[r][t], wv[r][1], q1);
            }
        }
    }
    BN_UNROLL(4)
    for (int r = 0; r < RB; r++) {
        BN_UNROLL(4)
        for (int t = 0; t < TB; t++) d[r][t] = vaddvq_s32(acc[r][t]);
    }
}

static void i8_gemm_dotprod(const int8_t *w, const float *w_scales, int64_t k, int64_t r0,
                            int64_t r1, const int8_t *q, const float *scales, int64_t n_tokens,
                            float *y, int64_t y_stride) {
    const int64_t chunk = bn_arm_rows_per_chunk(k, 4);
    for (int64_t rc = r0; rc < r1; rc += chunk) {
        const int64_t rce = (r1 - rc < chunk) ? r1 : rc + chunk;
        int64_t t = 0;
        for (; t + 4 <= n_tokens; t += 4) {
            int64_t r = rc;
            for (; r + 4 <= rce; r += 4) {
                int32_t d[4][4];
                i8_tile_dotprod(w + r * k, k, q + t * k, 4, 4, d);
                for (int i = 0; i < 4; i++)
                    for (int j = 0; j < 4; j++)
                        bn_arm_store_i8(y, y_stride, t + j, r + i, d[i][j], scales, w_scales);
            }
            for (; r < rce; r++) {
                int32_t d[4][4];
                i8_tile_dotprod(w + r * k, k, q + t * k, 1, 4, d);
                for (int j = 0; j < 4; j++)
                    bn_arm_store_i8(y, y_stride, t + j, r, d[0][j], scales, w_scales);
            }
        }
        for (; t < n_tokens; t++) {
            int64_t r = rc;
            for (; r + 4 <= rce; r += 4) {
                int32_t d[4][4];
                i8_tile_dotprod(w + r * k, k, q + t * k, 4, 1, d);
                for (int i = 0; i < 4; i++)
                    bn_arm_store_i8(y, y_stride, t, r + i, d[i][0], scales, w_scales);
            }
            for (; r < rce; r++) {
                int32_t d[4][4];
                i8_tile_dotprod(w + r * k, k, q + t * k, 1, 1, d);
                bn_arm_store_i8(y, y_stride, t, r, d[0][0], scales, w_scales);
            }
        }
    }
}

static const bn_kernel_table table = {
    .name = "dotprod",
    .i2s_gemm = i2s_gemm_dotprod,
    .f16_gemm = bn_arm_f16_gemm,
    .i8_gemm = i8_gemm_dotprod,
    .quantize_row = bn_arm_quantize_row,
    .read_sum = bn_arm_read_sum,
};

const bn_kernel_table *bn_kernels_dotprod(void) { return &table; }

#else /* not AArch64 */

const bn_kernel_table *bn_kernels_dotprod(void) { return NULL; }

#endif
