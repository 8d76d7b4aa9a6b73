/*
 * kernels_neon.c: AArch64 Advanced SIMD without the dot product extension (ARMv8.0-A: Cortex-A53,
 * A57, A72 as in the Raspberry Pi 3/4, and older phones/boards). Table name "neon".
 * Compiled with the default AArch64 flags (no -march needed); on other architectures the file
 * compiles to a getter that returns NULL.
 *
 * Integer dots use SMULL/SMLAL (int8 x int8 -> int16) and are widened to int32 with SADALP
 * (vpadalq_s16) before an int16 lane can overflow; each kernel states its bound.
 * Every entry is bit-identical to kernels_ref.c (native/tests/kernel_check.c checks it).
 */
#include "internal.h"

#ifdef BN_ARCH_AARCH64

#include "simd_arm.h"

/* I2_S int16 bound: a code is 0..3 and an activation -128..127, so |code * q| <= 3 * 128 = 384.
 * Each int16 accumulator below takes, per block, one SMLAL (low halves) or one SMLAL2 (high
 * halves) for each of the 8 code vectors: 8 products per lane per block. After
 * BN_NEON_I2S_CHUNK = 8 blocks |lane| <= 8 * 8 * 384 = 24576 < 32767; then it is added pairwise
 * into int32 (vpadalq_s16) and restarted from zero. */
#define BN_NEON_I2S_CHUNK 8

/* ---- I2_S, one token, RB (1 or 2) rows. The token's 8 activation vectors of a block are loaded
 * once for both rows. Per row: two int16 accumulators (low / high halves of each 16-code vector,
 * two independent SMLAL chains), two int32 accumulators. */
BN_ALWAYS_INLINE void i2s_gemv_rows_neon(const uint8_t *w, int64_t row_bytes, int64_t nb,
                                         const int8_t *qt, int RB, int32_t *d) {
    int32x4_t acc[2][2];
    BN_UNROLL(2)
    for (int r = 0; r < RB; r++) acc[r][0] = acc[r][1] = vdupq_n_s32(0);
    for (int64_t b0 = 0; b0 < nb; b0 += BN_NEON_I2S_CHUNK) {
        const int64_t b1 = (nb - b0 < BN_NEON_I2S_CHUNK) ? nb : b0 + BN_NEON_I2S_CHUNK;
        int16x8_t a16[2][2];
        BN_UNROLL(2)
        for (int r = 0; r < RB; r++) a16[r][0] = a16[r][1] = vdupq_n_s16(0);
        for (int64_t b = b0; b < b1; b++) {
            const int8_t *qb = qt + BN_I2S_BLOCK * b;
            int8x16_t qv[8];
            BN_UNROLL(8)
            for (int i = 0; i < 8; i++) qv[i] = vld1q_s8(qb + 16 * i);
            BN_UNROLL(2)
            for (int r = 0; r < RB; r++) {
                int8x16_t c[8];
                bn_arm_i2s_decode(w + r * row_bytes + 32 * b, c);
                BN_UNROLL(8)
                for (int i = 0; i < 8; i++) {
                    a16[r][0] = vmlal_s8(a16[r][0], vget_low_s8(c[i]), vget_low_s8(qv[i]));
                    a16[r][1] = vmlal_high_s8(a16[r][1], c[i], qv[i]);
                }
            }
        }
        BN_UNROLL(2)
        for (int r = 0; r < RB; r++) {
            acc[r][0] = vpadalq_s16(acc[r][0], a16[r][0]);
            acc[r][1] = vpadalq_s16(acc[r][1], a16[r][1]);
        }
    }
    BN_UNROLL(2)
    for (int r = 0; r < RB; r++) d[r] = vaddvq_s32(vaddq_s32(acc[r][0], acc[r][1]));
}

/* ---- I2_S, one row x TB (1..4) tokens: the block is decoded once (8 code registers) and used
 * for every token of the tile. Same int16 accumulators and bound as above, per token. */
BN_ALWAYS_INLINE void i2s_tile_neon(const uint8_t *row, int64_t nb, const int8_t *q, int64_t k,
                                    int TB, int32_t *d) {
    int32x4_t acc[4];
    BN_UNROLL(4)
    for (int t = 0; t < TB; t++) acc[t] = vdupq_n_s32(0);
    for (int64_t b0 = 0; b0 < nb; b0 += BN_NEON_I2S_CHUNK) {
        const int64_t b1 = (nb - b0 < BN_NEON_I2S_CHUNK) ? nb : b0 + BN_NEON_I2S_CHUNK;
        int16x8_t a16[4][2];
        BN_UNROLL(4)
        for (int t = 0; t < TB; t++) a16[t][0] = a16[t][1] = vdupq_n_s16(0);
        for (int64_t b = b0; b < b1; b++) {
            int8x16_t c[8];
            bn_arm_i2s_decode(row + 32 * b, c);
            BN_UNROLL(4)
            for (int t = 0; t < TB; t++) {
                const int8_t *qb = q + t * k + BN_I2S_BLOCK * b;
                BN_UNROLL(8)
                for (int i = 0; i < 8; i++) {
                    const int8x16_t qv = vld1q_s8(qb + 16 * i);
                    a16[t][0] = vmlal_s8(a16[t][0], vget_low_s8(c[i]), vget_low_s8(qv));
                    a16[t][1] = vmlal_high_s8(a16[t][1], c[i], qv);
                }
            }
        }
        BN_UNROLL(4)
        for (int t = 0; t < TB; t++)
            acc[t] = vpadalq_s16(vpadalq_s16(acc[t], a16[t][0]), a16[t][1]);
    }
    BN_UNROLL(4)
    for (int t = 0; t < TB; t++) d[t] = vaddvq_s32(acc[t]);
}

static void i2s_gemm_neon(const uint8_t *w, int64_t k, int64_t r0, int64_t r1, float alpha,
                          const int8_t *q, const float *scales, const int32_t *sums,
                          int64_t n_tokens, float *y, int64_t y_stride) {
    const int64_t row_bytes = k / 4;
    const int64_t nb = k / BN_I2S_BLOCK;
    const int64_t chunk = bn_arm_rows_per_chunk(row_bytes, 2);
    for (int64_t rc = r0; rc < r1; rc += chunk) {
        const int64_t rce = (r1 - rc < chunk) ? r1 : rc + chunk;
        int64_t t = 0;
        for (; t + 4 <= n_tokens; t += 4) {  /* GEMM: tiles of 4 tokens over this row chunk */
            for (int64_t r = rc; r < rce; r++) {
                int32_t d[4];
                i2s_tile_neon(w + r * row_bytes, nb, q + t * k, k, 4, d);
                for (int j = 0; j < 4; j++)
                    bn_arm_store_i2s(y, y_stride, t + j, r, d[j], sums, scales, alpha);
            }
        }
        for (; t < n_tokens; t++) {  /* GEMV for the remaining tokens */
            const int8_t *qt = q + t * k;
            int64_t r = rc;
            for (; r + 2 <= rce; r += 2) {
                int32_t d[2];
                i2s_gemv_rows_neon(w + r * row_bytes, row_bytes, nb, qt, 2, d);
                bn_arm_store_i2s(y, y_stride, t, r, d[0], sums, scales, alpha);
                bn_arm_store_i2s(y, y_stride, t, r + 1, d[1], sums, scales, alpha);
            }
            for (; r < rce; r++) {
                int32_t d[2];
                i2s_gemv_rows_neon(w + r * row_bytes, row_bytes, nb, qt, 1, d);
                bn_arm_store_i2s(y, y_stride, t, r, d[0], sums, scales, alpha);
            }
        }
    }
}

/* ---- int8 head: RB (1 or 2) rows x TB (1 or 4) tokens, 16 inputs per step.
 * Bound: weights are in [-127, 127] (the table contract; bn_i8_matmul rejects -128) and
 * activations in [-128, 127], so |w * q| <= 127 * 128 = 16256. SMULL + SMLAL2 put two products in
 * an int16 lane, |sum| <= 32512 < 32767, which SADALP adds into int32 right away. */
BN_ALWAYS_INLINE void i8_tile_neon(const int8_t *w, int64_t k, const int8_t *q, int RB, int TB,
                                   int32_t d[2][4]) {
    int32x4_t acc[2][4];
    BN_UNROLL(2)
    for (int r = 0; r < RB; r++) {
        BN_UNROLL(4)
        for (int t = 0; t < TB; t++) acc[r][t] = vdupq_n_s32(0);
    }
    for (int64_t i = 0; i < k; i += 16) {
        int8x16_t wv[2];
        BN_UNROLL(2)
        for (int r = 0; r < RB; r++) wv[r] = vld1q_s8(w + r * k + i);
        BN_UNROLL(4)
        for (int t = 0; t < TB; t++) {
            const int8x16_t qv = vld1q_s8(q + t * k + i);
            BN_UNROLL(2)
            for (int r = 0; r < RB; r++) {
                int16x8_t p = vmull_s8(vget_low_s8(wv[r]), vget_low_s8(qv));
                p = vmlal_high_s8(p, wv[r], qv);
                acc[r][t] = vpadalq_s16(acc[r][t], p);
            }
        }
    }
    BN_UNROLL(2)
    for (int r = 0; r < RB; r++) {
        BN_UNROLL(4)
        for (int t = 0; t < TB; t++) d[r][t] = vaddvq_s32(acc[r][t]);
    }
}

static void i8_gemm_neon(const int8_t *w, const float *w_scales, int64_t k, int64_t r0,
                         int64_t r1, const int8_t *q, const float *scales, int64_t n_tokens,
                         float *y, int64_t y_stride) {
    const int64_t chunk = bn_arm_rows_per_chunk(k, 2);
    for (int64_t rc = r0; rc < r1; rc += chunk) {
        const int64_t rce = (r1 - rc < chunk) ? r1 : rc + chunk;
        int64_t t = 0;
        for (; t + 4 <= n_tokens; t += 4) {
            int64_t r = rc;
            for (; r + 2 <= rce; r += 2) {
                int32_t d[2][4];
                i8_tile_neon(w + r * k, k, q + t * k, 2, 4, d);
                for (int i = 0; i < 2; i++)
                    for (int j = 0; j < 4; j++)
                        bn_arm_store_i8(y, y_stride, t + j, r + i, d[i][j], scales, w_scales);
            }
            for (; r < rce; r++) {
                int32_t d[2][4];
                i8_tile_neon(w + r * k, k, q + t * k, 1, 4, d);
                for (int j = 0; j < 4; j++)
                    bn_arm_store_i8(y, y_stride, t + j, r, d[0][j], scales, w_scales);
            }
        }
        for (; t < n_tokens; t++) {
            int64_t r = rc;
            for (; r + 2 <= rce; r += 2) {
                int32_t d[2][4];
                i8_tile_neon(w + r * k, k, q + t * k, 2, 1, d);
                bn_arm_store_i8(y, y_stride, t, r, d[0][0], scales, w_scales);
                bn_arm_store_i8(y, y_stride, t, r + 1, d[1][0], scales, w_scales);
            }
            for (; r < rce; r++) {
                int32_t d[2][4];
                i8_tile_neon(w + r * k, k, q + t * k, 1, 1, d);
                bn_arm_store_i8(y, y_stride, t, r, d[0][0], scales, w_scales);
            }
        }
    }
}

static const bn_kernel_table table = {
    .name = "neon",
    .i2s_gemm = i2s_gemm_neon,
    .f16_gemm = bn_arm_f16_gemm,
    .i8_gemm = i8_gemm_neon,
    .quantize_row = bn_arm_quantize_row,
    .read_sum = bn_arm_read_sum,
};

const bn_kernel_table *bn_kernels_neon(void) { return &table; }

#else /* not AArch64 */

const bn_kernel_table *bn_kernels_neon(void) { return NULL; }

#endif
