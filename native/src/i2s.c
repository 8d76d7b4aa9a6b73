/*
 * i2s.c: I2_S packing and unpacking (docs/file-formats.md#i2_s). A [m, k] ternary weight is stored as
 * m*k/4 bytes of 2-bit codes (code = t + 1), k % 128 == 0, in blocks of 128 elements / 32 bytes:
 * byte j of a block holds elements j, 32+j, 64+j, 96+j at bit shifts 6, 4, 2, 0. A 32-byte tail
 * follows: bytes 0..3 are alpha (f32, little-endian), bytes 4..31 unspecified (we write zeros).
 */
#include "context.h"

int bn_i2s_pack(const int8_t *t, size_t t_len, int64_t m, int64_t k, float alpha, uint8_t *out,
                size_t out_len) {
    if (!t || !out) return BN_ERR_NULL_POINTER;
    if (m <= 0 || k <= 0 || k % BN_I2S_BLOCK != 0) return BN_ERR_BAD_SHAPE;
    int64_t n;
    if (!bn_mul_ok(m, k, &n)) return BN_ERR_BAD_SHAPE;
    if ((uint64_t)n > (uint64_t)t_len || bn_i2s_nbytes(m, k) > out_len) return BN_ERR_BUFFER_TOO_SMALL;
    for (int64_t i = 0; i < n; i++) {
        if (t[i] < -1 || t[i] > 1) return BN_ERR_BAD_VALUE;
    }
    for (int64_t b = 0; b < n / BN_I2S_BLOCK; b++) {
        const int8_t *src = t + b * BN_I2S_BLOCK;
        uint8_t *dst = out + b * 32;
        for (int j = 0; j < 32; j++) {
            dst[j] = (uint8_t)(((src[j] + 1) << 6) | ((src[32 + j] + 1) << 4) |
                               ((src[64 + j] + 1) << 2) | (src[96 + j] + 1));
        }
    }
    uint8_t *tail = out + n / 4;
    memset(tail, 0, BN_I2S_TAIL_BYTES);
    memcpy(tail, &alpha, sizeof alpha);
    return BN_OK;
}

int bn_i2s_unpack(const uint8_t *w, size_t w_len, int64_t m, int64_t k, int8_t *t, size_t t_len,
                  float *alpha) {
    static const int8_t code_value[4] = {-1, 0, 1, 0};
    if (!w || !t || !alpha) return BN_ERR_NULL_POINTER;
    if (m <= 0 || k <= 0 || k % BN_I2S_BLOCK != 0) return BN_ERR_BAD_SHAPE;
    int64_t n;
    if (!bn_mul_ok(m, k, &n)) return BN_ERR_BAD_SHAPE;
    if (bn_i2s_nbytes(m, k) > w_len || (uint64_t)n > (uint64_t)t_len) return BN_ERR_BUFFER_TOO_SMALL;
    for (int64_t b = 0; b < n / BN_I2S_BLOCK; b++) {
        const uint8_t *src = w + b * 32;
        int8_t *dst = t + b * BN_I2S_BLOCK;
        for (int j = 0; j < 32; j++) {
            dst[j] = code_value[(src[j] >> 6) & 3];
            dst[32 + j] = code_value[(src[j] >> 4) & 3];
            dst[64 + j] = code_value[(src[j] >> 2) & 3];
            dst[96 + j] = code_value[src[j] & 3];
        }
    }
    memcpy(alpha, w + n / 4, sizeof *alpha);
    return BN_OK;
}

int bn_f32_to_f16(const float *x, uint16_t *out, size_t n) {
    if (!x || !out) return BN_ERR_NULL_POINTER;
    for (size_t i = 0; i < n; i++) out[i] = bn_f32_to_f16_scalar(x[i]);
    return BN_OK;
}

int bn_f16_to_f32(const uint16_t *x, float *out, size_t n) {
    if (!x || !out) return BN_ERR_NULL_POINTER;
    for (size_t i = 0; i < n; i++) out[i] = bn_f16_to_f32_scalar(x[i]);
    return BN_OK;
}
