/*
 * model_embedding.c: where embedding rows come from: the caller's F16 table in place, a Q8_0 /
 * Q6_K table (bitnet.cpp's --quant-embd files) decoded per token, or, after
 * bn_model_embedding_from_file, the model file read with positional reads.
 *
 * Why the file: in fast mode the embedding is needed only for the rows of tokens seen, but a
 * mapping faults in whole folios (up to 2 MiB on Linux with large page-cache folios), so a few
 * thousand scattered lookups bring nearly all of a 656 MB f16 embedding back into the resident
 * set. A positional read copies one row out of the page cache and maps nothing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "embedding_rows.h"
#include "model.h"

/* Row r of a table stored as `type` at `offset` of f, decoded into out[d]; raw holds one stored
 * row. 0, or -1 when the read fails. */
static int read_row(bn_file *f, uint64_t offset, int type, uint64_t row_bytes, int64_t d, int64_t r,
                    uint8_t *raw, uint16_t *out) {
    if (bn_file_read_at(f, raw, (size_t)row_bytes, offset + (uint64_t)r * row_bytes) != 0) return -1;
    bn_embedding_row_to_f16(type, raw, d, out);
    return 0;
}

/* Stored row r of the current file, or else of embd_q, decoded into out[d]. 0, or -1 when the
 * file cannot be read. */
static int decode_current_row(bn_model *m, int64_t r, uint16_t *out) {
    if (m->embd_file)
        return read_row(m->embd_file, m->embd_offset, m->embd_type, m->embd_row_bytes, m->dm.d, r, m->embd_raw, out);
    bn_embedding_row_to_f16(m->embd_type, m->embd_q + (uint64_t)r * m->embd_row_bytes, m->dm.d, out);
    return 0;
}

/* Row r as the model reads it now: tok_embd's, or decoded into the current row buffer (the
 * caller holds op_lock, so no forward call uses that buffer). NULL when the current file cannot
 * be read. */
static const uint16_t *current_row(bn_model *m, int64_t r) {
    if (m->tok_embd) return m->tok_embd + r * m->dm.d;
    return decode_current_row(m, r, m->embd_rows) == 0 ? m->embd_rows : NULL;
}

/* f16 rows for one chunk, then one stored row (embd_raw), in one allocation; NULL when out of
 * memory. */
static uint16_t *alloc_row_buffer(const model_dims *dm, uint64_t row_bytes) {
    /* <= 2^16 * 2^16 * 2 + 2^17 */
    const uint64_t rows_bytes = (uint64_t)dm->batch * (uint64_t)dm->d * sizeof(uint16_t);
    if (rows_bytes + row_bytes > SIZE_MAX) return NULL;
    return (uint16_t *)malloc((size_t)(rows_bytes + row_bytes));
}

static uint8_t *raw_row_of(const model_dims *dm, uint16_t *rows) { return (uint8_t *)(rows + dm->batch * dm->d); }

int bn_model_embedding_from_table(bn_model *m, const model_table *t) {
    if (t->type == BN_GGML_F16) {
        m->tok_embd = (const uint16_t *)t->data;
        return BN_OK;
    }
    m->embd_rows = alloc_row_buffer(&m->dm, 0);
    if (!m->embd_rows) return BN_ERR_OUT_OF_MEMORY;
    m->embd_q = t->data;
    m->embd_type = t->type;
    m->embd_row_bytes = t->row_bytes;
    return BN_OK;
}

static int is_nan_f16(uint16_t h) {
    return (h & 0x7c00u) == 0x7c00u && (h & 0x03ffu) != 0;
}

/* Equal f16 rows, any NaN matching any NaN: NumPy's cast and ours agree on every other value but
 * need not on a NaN's payload bits. */
static int same_values(const uint16_t *a, const uint16_t *b, int64_t d) {
    for (int64_t i = 0; i < d; i++) {
        if (a[i] != b[i] && !(is_nan_f16(a[i]) && is_nan_f16(b[i]))) return 0;
    }
    return 1;
}

int bn_model_embedding_from_file(bn_model *m, const char *path, uint64_t offset, int type, char *err,
                                 size_t err_len) {
    if (err && err_len > 0) err[0] = '\0';
    if (!m) FAIL(BN_ERR_NULL_POINTER, "model is NULL");
    if (!path) FAIL(BN_ERR_NULL_POINTER, "path is NULL");
    if (type != BN_GGML_F16 && type != BN_GGML_Q8_0 && type != BN_GGML_Q6_K)
        FAIL(BN_ERR_BAD_VALUE, "token_embd of ggml type %d cannot be read from the file (F16 = %d, Q8_0 = %d, "
             "Q6_K = %d can)", type, BN_GGML_F16, BN_GGML_Q8_0, BN_GGML_Q6_K);
    const int64_t d = m->dm.d, vocab = m->dm.vocab;
    const uint64_t row_bytes = bn_embedding_row_bytes(type, d);
    if (row_bytes == 0)
        FAIL(BN_ERR_BAD_VALUE, "token_embd rows of %lld values cannot be %s: a row must be whole blocks of %d",
             (long long)d, bn_embedding_type_name(type), bn_embedding_block(type));
    const uint64_t table_bytes = (uint64_t)vocab * row_bytes; /* <= 2^24 * 2^17 */

    bn_file *f = NULL;
    uint64_t size = 0;
    if (bn_file_open(path, &f, &size) != 0) FAIL(BN_ERR_IO, "cannot open %s for reading", path);
    if (offset > size || size - offset < table_bytes) {
        bn_file_close(f);
        FAIL(BN_ERR_BAD_VALUE, "%s has %llu bytes: no room for token_embd (%s, %llu bytes) at offset %llu", path,
             (unsigned long long)size, bn_embedding_type_name(type), (unsigned long long)table_bytes,
             (unsigned long long)offset);
    }
    uint16_t *rows = alloc_row_buffer(&m->dm, row_bytes);
    if (!rows) {
        bn_file_close(f);
        FAIL(BN_ERR_OUT_OF_MEMORY, "cannot allocate the embedding row buffer");
    }
    uint8_t *raw = raw_row_of(&m->dm, rows);

    /* The first and last rows must decode to what the model reads now: catches a wrong path,
     * offset or type, and checks this decoder against the one that made tok_embd (when an f16
     * table is read now). */
    bn_mutex_lock(&m->ctx->op_lock); /* no forward call is reading the old source */
    int status = BN_OK;
    const int64_t checked[2] = {0, vocab - 1};
    for (int i = 0; i < 2 && status == BN_OK; i++) {
        const uint16_t *now = current_row(m, checked[i]);
        if (!now) status = BN_ERR_IO;
        else if (read_row(f, offset, type, row_bytes, d, checked[i], raw, rows) != 0) status = BN_ERR_IO;
        else if (!same_values(now, rows, d)) status = BN_ERR_BAD_VALUE;
    }
    if (status != BN_OK) {
        bn_mutex_unlock(&m->ctx->op_lock);
        free(rows);
        bn_file_close(f);
        if (status == BN_ERR_IO) FAIL(BN_ERR_IO, "cannot read token_embd from %s or from the current source", path);
        FAIL(BN_ERR_BAD_VALUE, "%s at offset %llu does not hold this model's token_embd as %s", path,
             (unsigned long long)offset, bn_embedding_type_name(type));
    }

    bn_file *old_file = m->embd_file;
    uint16_t *old_rows = m->embd_rows;
    m->embd_file = f;
    m->embd_offset = offset;
    m->embd_type = type;
    m->embd_row_bytes = row_bytes;
    m->embd_rows = rows;
    m->embd_raw = raw;
    /* The caller may now free or unmap tok_embd; only a tied f16 head still reads that table. */
    m->tok_embd = NULL;
    m->embd_q = NULL;
    bn_mutex_unlock(&m->ctx->op_lock);
    bn_file_close(old_file);
    free(old_rows);
    return BN_OK;
}

int bn_model_read_embedding_rows(bn_model *m, const int32_t *tokens, int64_t n) {
    if (m->tok_embd) return BN_OK;
    for (int64_t t = 0; t < n; t++) {
        if (decode_current_row(m, tokens[t], m->embd_rows + t * m->dm.d) != 0) return BN_ERR_IO;
    }
    return BN_OK;
}
