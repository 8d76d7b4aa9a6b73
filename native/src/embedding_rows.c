/*
 * embedding_rows.c: see embedding_rows.h.
 *
 * The float operations are those of the Python decoders, in their order: Q8_0 scale * q, Q6_K
 * (scale * sc) * q, each in f32 (the build's -ffp-contract=off keeps them unfused), then one
 * round-to-nearest-even conversion to f16.
 */
#include "embedding_rows.h"

#include "internal.h"

#define Q8_0_BLOCK 32
#define Q8_0_BLOCK_BYTES 34
#define Q6_K_BLOCK 256
#define Q6_K_BLOCK_BYTES 210

static float f16_le(const uint8_t *p) {
    return bn_f16_to_f32_scalar((uint16_t)(p[0] | (uint16_t)(p[1] << 8)));
}

int bn_embedding_block(int type) {
    switch (type) {
    case BN_GGML_F16: return 1;
    case BN_GGML_Q8_0: return Q8_0_BLOCK;
    case BN_GGML_Q6_K: return Q6_K_BLOCK;
    default: return 0;
    }
}

const char *bn_embedding_type_name(int type) {
    switch (type) {
    case BN_GGML_F16: return "F16";
    case BN_GGML_Q8_0: return "Q8_0";
    case BN_GGML_Q6_K: return "Q6_K";
    default: return "unknown";
    }
}

uint64_t bn_embedding_row_bytes(int type, int64_t d) {
    if (d <= 0) return 0;
    switch (type) {
    case BN_GGML_F16: return (uint64_t)d * 2u;
    case BN_GGML_Q8_0: return d % Q8_0_BLOCK ? 0 : (uint64_t)(d / Q8_0_BLOCK) * Q8_0_BLOCK_BYTES;
    case BN_GGML_Q6_K: return d % Q6_K_BLOCK ? 0 : (uint64_t)(d / Q6_K_BLOCK) * Q6_K_BLOCK_BYTES;
    default: return 0;
    }
}

static void q8_0_row_to_f16(const uint8_t *raw, int64_t d, uint16_t *out) {
    for (int64_t b = 0; b < d / Q8_0_BLOCK; b++) {
        const uint8_t *block = raw + b * Q8_0_BLOCK_BYTES;
        const float scale = f16_le(block);
        const int8_t *q = (const int8_t *)(block + 2);
        for (int i = 0; i < Q8_0_BLOCK; i++) out[b * Q8_0_BLOCK + i] = bn_f32_to_f16_scalar(scale * (float)q[i]);
    }
}

/* ggml's dequantize_row_q6_K: each half of a block (128 values) takes 64 ql bytes, 32 qh bytes
 * and 8 scales; value l of quarter r (l < 32) has its low nibble in ql[l] (r = 0, 2) or ql[l + 32]
 * (r = 1, 3), low for r < 2 and high for r >= 2, its two high bits at qh[l] >> 2r, and the scale
 * sc[l / 16 + 2r]. */
static void q6_k_row_to_f16(const uint8_t *raw, int64_t d, uint16_t *out) {
    for (int64_t b = 0; b < d / Q6_K_BLOCK; b++) {
        const uint8_t *ql = raw + b * Q6_K_BLOCK_BYTES;
        const uint8_t *qh = ql + 128;
        const int8_t *sc = (const int8_t *)(ql + 192);
        const float scale = f16_le(ql + 208);
        uint16_t *y = out + b * Q6_K_BLOCK;
        for (int half = 0; half < 2; half++) {
            for (int l = 0; l < 32; l++) {
                const int is = l / 16;
                const int q1 = ((ql[l] & 15) | ((qh[l] >> 0) & 3) << 4) - 32;
                const int q2 = ((ql[l + 32] & 15) | ((qh[l] >> 2) & 3) << 4) - 32;
                const int q3 = ((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32;
                const int q4 = ((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32;
                y[l] = bn_f32_to_f16_scalar(scale * (float)sc[is] * (float)q1);
                y[l + 32] = bn_f32_to_f16_scalar(scale * (float)sc[is + 2] * (float)q2);
                y[l + 64] = bn_f32_to_f16_scalar(scale * (float)sc[is + 4] * (float)q3);
                y[l + 96] = bn_f32_to_f16_scalar(scale * (float)sc[is + 6] * (float)q4);
            }
            y += 128;
            ql += 64;
            qh += 32;
            sc += 8;
        }
    }
}

void bn_embedding_row_to_f16(int type, const uint8_t *raw, int64_t d, uint16_t *out) {
    switch (type) {
    case BN_GGML_F16: memcpy(out, raw, (size_t)d * sizeof(uint16_t)); break;
    case BN_GGML_Q8_0: q8_0_row_to_f16(raw, d, out); break;
    case BN_GGML_Q6_K: q6_k_row_to_f16(raw, d, out); break;
    default: break;
    }
}
