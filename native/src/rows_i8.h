/*
 * rows_i8.h: the per-row symmetric int8 quantization of f16 rows that defines the fast head
 * (bitnet.h, bn_quantize_rows_i8), shared by that operation (ops.c) and the model's head build
 * (model_head.c) so both give the same bits.
 */
#ifndef BN_ROWS_I8_H
#define BN_ROWS_I8_H

#include <stdint.h>

/* [65536] f32 value of every f16 bit pattern (malloc'd, free with free), or NULL when out of
 * memory. 256 KiB, L2-resident: faster than the branchy conversion per element, same values
 * (2B-4T fast-mode load, 1 thread: 2.00 -> 1.38 s). */
float *bn_f16_value_table(void);

/* Quantizes one f16 row of k values into out[k] and *scale (bn_quantize_rows_i8's definition).
 * f16_value: the table of bn_f16_value_table. */
void bn_f16_row_to_i8(const uint16_t *row, int64_t k, const float *f16_value, int8_t *out, float *scale);

#endif /* BN_ROWS_I8_H */
