/* rows_i8.c: see rows_i8.h. */
#include "rows_i8.h"

#include <math.h>
#include <stdlib.h>

#include "internal.h"

float *bn_f16_value_table(void) {
    float *f16_value = (float *)malloc(65536 * sizeof(float));
    if (!f16_value) return NULL;
    for (uint32_t h = 0; h < 65536; h++) f16_value[h] = bn_f16_to_f32_scalar((uint16_t)h);
    return f16_value;
}

void bn_f16_row_to_i8(const uint16_t *row, int64_t k, const float *f16_value, int8_t *out, float *scale) {
    float amax = 0.0f;
    for (int64_t i = 0; i < k; i++) {
        const float a = fabsf(f16_value[row[i]]);
        if (a > amax && a <= 65504.0f) amax = a; /* inf and NaN never set the scale */
    }
    if (amax == 0.0f) {
        memset(out, 0, (size_t)k);
        *scale = 0.0f;
        return;
    }
    const float inv = 127.0f / amax;
    for (int64_t i = 0; i < k; i++) {
        float v = f16_value[row[i]] * inv;
        if (!(v >= -127.0f)) v = -127.0f; /* NaN too */
        if (v > 127.0f) v = 127.0f;
        out[i] = (int8_t)bn_nearest_int(v);
    }
    *scale = amax / 127.0f;
}
