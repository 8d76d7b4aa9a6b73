/*
 * model_embedding.c: bn_model_embedding_from_file, reading embedding rows from the model file
 * with positional reads instead of through its memory map.
 *
 * Why: in fast mode the f16 embedding is needed only for the rows of tokens seen, but a mapping
 * faults in whole folios (up to 2 MiB on Linux with large page-cache folios), so a few thousand
 * scattered lookups bring nearly all of a 656 MB embedding back into the resident set. A
 * positional read copies 2*d bytes out of the page cache and maps nothing.
 */
#include <string.h>

#include "model.h"

/* Row r of the file equals row r of the mapped tok_embd: catches a wrong path or offset. */
static int row_matches(bn_file *f, uint64_t offset, const uint16_t *tok_embd, int64_t r, int64_t d,
                       uint16_t *buf, int *read_ok) {
    const size_t bytes = (size_t)d * sizeof(uint16_t);
    *read_ok = bn_file_read_at(f, buf, bytes, offset + (uint64_t)r * bytes) == 0;
    return *read_ok && memcmp(buf, tok_embd + r * d, bytes) == 0;
}

int bn_model_embedding_from_file(bn_model *m, const char *path, uint64_t offset, char *err,
                                 size_t err_len) {
    if (err && err_len > 0) err[0] = '\0';
    if (!m) FAIL(BN_ERR_NULL_POINTER, "model is NULL");
    if (!path) FAIL(BN_ERR_NULL_POINTER, "path is NULL");
    const int64_t d = m->dm.d, vocab = m->dm.vocab;
    const uint64_t row_bytes = (uint64_t)d * sizeof(uint16_t);
    const uint64_t table_bytes = (uint64_t)vocab * row_bytes; /* <= 2^24 * 2^17 */

    bn_file *f = NULL;
    uint64_t size = 0;
    if (bn_file_open(path, &f, &size) != 0) FAIL(BN_ERR_IO, "cannot open %s for reading", path);
    if (offset > size || size - offset < table_bytes) {
        bn_file_close(f);
        FAIL(BN_ERR_BAD_VALUE, "%s has %llu bytes: no room for token_embd (%llu bytes) at offset %llu", path,
             (unsigned long long)size, (unsigned long long)table_bytes, (unsigned long long)offset);
    }
    uint16_t *rows = (uint16_t *)malloc((size_t)(m->dm.batch * row_bytes));
    if (!rows) {
        bn_file_close(f);
        FAIL(BN_ERR_OUT_OF_MEMORY, "cannot allocate the embedding row buffer");
    }
    int read_ok = 1;
    if (!row_matches(f, offset, m->tok_embd, 0, d, rows, &read_ok) ||
        !row_matches(f, offset, m->tok_embd, vocab - 1, d, rows, &read_ok)) {
        free(rows);
        bn_file_close(f);
        if (!read_ok) FAIL(BN_ERR_IO, "cannot read token_embd from %s", path);
        FAIL(BN_ERR_BAD_VALUE, "%s at offset %llu does not hold this model's token_embd", path,
             (unsigned long long)offset);
    }

    bn_mutex_lock(&m->ctx->op_lock); /* no forward call is reading the old source */
    bn_file *old_file = m->embd_file;
    uint16_t *old_rows = m->embd_rows;
    m->embd_file = f;
    m->embd_offset = offset;
    m->embd_rows = rows;
    bn_mutex_unlock(&m->ctx->op_lock);
    bn_file_close(old_file);
    free(old_rows);
    return BN_OK;
}

int bn_model_read_embedding_rows(bn_model *m, const int32_t *tokens, int64_t n) {
    if (!m->embd_file) return BN_OK;
    const size_t row_bytes = (size_t)m->dm.d * sizeof(uint16_t);
    for (int64_t t = 0; t < n; t++) {
        const uint64_t at = m->embd_offset + (uint64_t)tokens[t] * row_bytes;
        if (bn_file_read_at(m->embd_file, m->embd_rows + t * m->dm.d, row_bytes, at) != 0) return BN_ERR_IO;
    }
    return BN_OK;
}
