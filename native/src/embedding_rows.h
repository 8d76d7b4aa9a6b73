/*
 * embedding_rows.h: one token-embedding row as stored in a GGUF file (F16, Q8_0 or Q6_K) decoded
 * to the f16 row the model reads: per token (model_embedding.c), and for every row of a head table
 * at creation (model_head.c). Scalar, one row at a time.
 *
 * The decoded values are bit-identical to the Python loader's (formats/q8_0.py decode_q8_0,
 * formats/q6_k.py decode_q6_k in float32, then NumPy's round-to-nearest-even cast to f16), so a
 * model gives the same logits whichever side decoded its table.
 *
 * Row layouts (d values, little-endian, blocks back to back):
 *   F16   d * 2 bytes
 *   Q8_0  d/32 blocks of 34 bytes: f16 scale, int8 q[32]; value = scale * q
 *   Q6_K  d/256 blocks of 210 bytes: ql[128], qh[64], int8 sc[16], f16 scale
 * (docs/file-formats.md#embedding-tables-f16-q8_0-q6_k)
 */
#ifndef BN_EMBEDDING_ROWS_H
#define BN_EMBEDDING_ROWS_H

#include <stdint.h>

/* Bytes of one row of d values stored as `type` (BN_GGML_F16, BN_GGML_Q8_0, BN_GGML_Q6_K), or 0
 * when the type is not one of these or d <= 0 or d is not a multiple of the type's block. */
uint64_t bn_embedding_row_bytes(int type, int64_t d);

/* Values per block of `type` (1 for F16), or 0 for another type. */
int bn_embedding_block(int type);

/* "F16", "Q8_0" or "Q6_K", or "unknown". */
const char *bn_embedding_type_name(int type);

/* Decodes one stored row (bn_embedding_row_bytes(type, d) bytes at raw) into f16 bits out[d].
 * type and d must have been accepted by bn_embedding_row_bytes. */
void bn_embedding_row_to_f16(int type, const uint8_t *raw, int64_t d, uint16_t *out);

#endif /* BN_EMBEDDING_ROWS_H */
