/*
 * model.c: bn_model creation (every size and buffer validated, messages naming the field),
 * destruction, KV length / truncation and memory facts. The forward pass is model_forward.c.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "embedding_rows.h"
#include "model.h"

#define ALIGN 64

int bn_model_fail(char *err, size_t err_len, int status, const char *fmt, ...) {
    if (err && err_len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return status;
}

static int64_t round_up(int64_t v, int64_t to) { return (v + to - 1) / to * to; }

/* Adds `count` elements of `elem` bytes to a running 64-byte-aligned byte total; 0 on overflow. */
static int add_buffer(uint64_t *total, int64_t count, int64_t elem) {
    int64_t bytes;
    if (!bn_mul_ok(count, elem, &bytes)) return 0;
    const uint64_t padded = ((uint64_t)bytes + ALIGN - 1) / ALIGN * ALIGN;
    if (*total > ((uint64_t)1 << 62) - padded) return 0;
    *total += padded;
    return 1;
}

/* Per-chunk buffers, carved in this order from one block (see struct bn_model for shapes). */
enum { BUF_X, BUF_XN, BUF_Q8, BUF_Q8_SCALES, BUF_Q8_SUMS, BUF_QKV, BUF_QH, BUF_ATT, BUF_GATE,
       BUF_UP, BUF_PROJ, BUF_ROPE, BUF_COUNT };

typedef struct { int64_t count, elem; } buffer_spec; /* elements, bytes per element */

static int chunk_buffers(const model_dims *dm, buffer_spec out[BUF_COUNT]) {
    const int64_t B = dm->batch;
    int64_t x, xn, qkv, qh, f, rope;
    if (!bn_mul_ok(B, dm->d, &x) || !bn_mul_ok(B, dm->act_max, &xn) ||
        !bn_mul_ok(B, dm->qkv_dim, &qkv) || !bn_mul_ok(B, dm->n_heads * dm->hd_pad, &qh) ||
        !bn_mul_ok(B, dm->f, &f) || !bn_mul_ok(B, dm->hd, &rope)) {
        return 0;
    }
    out[BUF_X] = (buffer_spec){x, 4};
    out[BUF_XN] = (buffer_spec){xn, 4};
    out[BUF_Q8] = (buffer_spec){xn, 1};
    out[BUF_Q8_SCALES] = (buffer_spec){B, 4};
    out[BUF_Q8_SUMS] = (buffer_spec){B, 4};
    out[BUF_QKV] = (buffer_spec){qkv, 4};
    out[BUF_QH] = (buffer_spec){qh, 4};
    out[BUF_ATT] = (buffer_spec){x, 4};
    out[BUF_GATE] = (buffer_spec){f, 4};
    out[BUF_UP] = (buffer_spec){f, 4};
    out[BUF_PROJ] = (buffer_spec){x, 4};
    out[BUF_ROPE] = (buffer_spec){rope, 4};
    return 1;
}

/* A token_embd / output type the model takes, with whole blocks per row of d values. */
static int check_table_type(const char *field, int type, int64_t d, char *err, size_t err_len) {
    if (type != BN_GGML_F16 && type != BN_GGML_Q8_0 && type != BN_GGML_Q6_K)
        FAIL(BN_ERR_BAD_VALUE, "%s = %d, must be BN_GGML_F16 (%d), BN_GGML_Q8_0 (%d) or BN_GGML_Q6_K (%d)", field,
             type, BN_GGML_F16, BN_GGML_Q8_0, BN_GGML_Q6_K);
    if (bn_embedding_row_bytes(type, d) == 0)
        FAIL(BN_ERR_BAD_VALUE, "%s = %s needs d_model to be a multiple of its block of %d values, d_model = %lld",
             field, bn_embedding_type_name(type), bn_embedding_block(type), (long long)d);
    return BN_OK;
}

static uint64_t padded_bytes(buffer_spec b) { return ((uint64_t)(b.count * b.elem) + ALIGN - 1) / ALIGN * ALIGN; }

int bn_model_dims(const bn_model_config *c, int n_threads, model_dims *dm, char *err,
                  size_t err_len) {
    if (!c || !dm) FAIL(BN_ERR_NULL_POINTER, "config is NULL");
    memset(dm, 0, sizeof *dm);
    if (n_threads < 1 || n_threads > BN_MAX_THREADS) FAIL(BN_ERR_THREADS, "thread count %d out of range", n_threads);
    if (c->n_layers < 1 || c->n_layers > BN_MODEL_MAX_LAYERS)
        FAIL(BN_ERR_BAD_SHAPE, "n_layers = %d, must be in [1, %d]", c->n_layers, BN_MODEL_MAX_LAYERS);
    if (c->d_model < BN_I2S_BLOCK || c->d_model > BN_MODEL_MAX_DIM || c->d_model % BN_I2S_BLOCK)
        FAIL(BN_ERR_BAD_SHAPE, "d_model = %d, must be a multiple of %d in [%d, %d]", c->d_model,
             BN_I2S_BLOCK, BN_I2S_BLOCK, BN_MODEL_MAX_DIM);
    if (c->d_ffn < BN_I2S_BLOCK || c->d_ffn > BN_MODEL_MAX_DIM || c->d_ffn % BN_I2S_BLOCK)
        FAIL(BN_ERR_BAD_SHAPE, "d_ffn = %d, must be a multiple of %d in [%d, %d]", c->d_ffn,
             BN_I2S_BLOCK, BN_I2S_BLOCK, BN_MODEL_MAX_DIM);
    if (c->head_dim < 2 || c->head_dim > BN_MODEL_MAX_HEAD_DIM || c->head_dim % 2)
        FAIL(BN_ERR_BAD_SHAPE, "head_dim = %d, must be even and in [2, %d] (RoPE rotates pairs)",
             c->head_dim, BN_MODEL_MAX_HEAD_DIM);
    if (c->n_heads < 1 || c->n_heads > c->d_model)
        FAIL(BN_ERR_BAD_SHAPE, "n_heads = %d out of range", c->n_heads);
    if ((int64_t)c->n_heads * c->head_dim != c->d_model)
        FAIL(BN_ERR_BAD_SHAPE, "n_heads * head_dim = %d * %d differs from d_model = %d", c->n_heads,
             c->head_dim, c->d_model);
    if (c->n_kv_heads < 1 || c->n_kv_heads > c->n_heads || c->n_heads % c->n_kv_heads)
        FAIL(BN_ERR_BAD_SHAPE, "n_kv_heads = %d must divide n_heads = %d", c->n_kv_heads, c->n_heads);
    if (c->vocab < 1 || c->vocab > BN_MODEL_MAX_VOCAB)
        FAIL(BN_ERR_BAD_SHAPE, "vocab = %d, must be in [1, %d]", c->vocab, BN_MODEL_MAX_VOCAB);
    if (c->max_context < 1 || c->max_context > BN_MODEL_MAX_CONTEXT)
        FAIL(BN_ERR_BAD_SHAPE, "max_context = %d, must be in [1, %d]", c->max_context, BN_MODEL_MAX_CONTEXT);
    if (c->max_batch < 1 || c->max_batch > BN_MODEL_MAX_BATCH)
        FAIL(BN_ERR_BAD_SHAPE, "max_batch = %d, must be in [1, %d]", c->max_batch, BN_MODEL_MAX_BATCH);
    if (!(isfinite(c->rope_theta) && c->rope_theta > 0.0f))
        FAIL(BN_ERR_BAD_VALUE, "rope_theta = %g, must be finite and > 0", (double)c->rope_theta);
    if (!(isfinite(c->rms_eps) && c->rms_eps > 0.0f))
        FAIL(BN_ERR_BAD_VALUE, "rms_eps = %g, must be finite and > 0", (double)c->rms_eps);
    if (c->activation != BN_ACT_RELU2 && c->activation != BN_ACT_SILU)
        FAIL(BN_ERR_BAD_VALUE, "activation = %d, must be BN_ACT_RELU2 (0) or BN_ACT_SILU (1)", c->activation);
    if (c->head_mode != BN_HEAD_F16 && c->head_mode != BN_HEAD_I8)
        FAIL(BN_ERR_BAD_VALUE, "head_mode = %d, must be BN_HEAD_F16 (0) or BN_HEAD_I8 (1)", c->head_mode);
    if (c->rope_style != BN_ROPE_NEOX && c->rope_style != BN_ROPE_NORMAL)
        FAIL(BN_ERR_BAD_VALUE, "rope_style = %d, must be BN_ROPE_NEOX (0) or BN_ROPE_NORMAL (1)", c->rope_style);
    if (c->rope_freqs) {
        if (c->rope_freqs_len != c->head_dim / 2)
            FAIL(BN_ERR_WEIGHT_SIZE, "rope_freqs has %d values, head_dim / 2 = %d needs as many",
                 c->rope_freqs_len, c->head_dim / 2);
        for (int32_t i = 0; i < c->rope_freqs_len; i++) {
            if (!(isfinite(c->rope_freqs[i]) && c->rope_freqs[i] > 0.0f))
                FAIL(BN_ERR_BAD_VALUE, "rope_freqs[%d] = %g, must be finite and > 0", i, (double)c->rope_freqs[i]);
        }
    } else if (c->rope_freqs_len != 0) {
        FAIL(BN_ERR_NULL_POINTER, "rope_freqs is NULL but rope_freqs_len = %d", c->rope_freqs_len);
    }
    int s = check_table_type("tok_embd_type", c->tok_embd_type, c->d_model, err, err_len);
    if (s == BN_OK) s = check_table_type("output_type", c->output_type, c->d_model, err, err_len);
    if (s != BN_OK) return s;

    /* Every product below is of values capped above, so 64-bit arithmetic cannot overflow until
     * the cache/scratch totals, which are checked. */
    dm->n_layers = c->n_layers;
    dm->d = c->d_model;
    dm->f = c->d_ffn;
    dm->vocab = c->vocab;
    dm->n_heads = c->n_heads;
    dm->n_kv = c->n_kv_heads;
    dm->hd = c->head_dim;
    dm->kv_dim = dm->n_kv * dm->hd;
    dm->hd_pad = round_up(dm->hd, 32);
    dm->group = dm->n_heads / dm->n_kv;
    dm->ctx_len = c->max_context;
    dm->ctx_alloc = round_up(dm->ctx_len, BN_MODEL_V_BLOCK);
    dm->batch = c->max_batch < c->max_context ? c->max_batch : c->max_context;
    dm->qkv_dim = dm->d + 2 * dm->kv_dim;
    dm->act_max = dm->d > dm->f ? dm->d : dm->f;
    dm->embd_row_bytes = bn_embedding_row_bytes(c->tok_embd_type, dm->d);
    dm->head_row_bytes = bn_embedding_row_bytes(c->output_type, dm->d);

    /* KV: 2 bytes * n_layers * n_kv * ctx_alloc * (hd_pad + hd), in 64-bit with checks. */
    int64_t per_layer, total;
    if (!bn_mul_ok(dm->n_kv * dm->ctx_alloc, dm->hd_pad + dm->hd, &per_layer) ||
        !bn_mul_ok(per_layer, dm->n_layers * 2, &total) || (uint64_t)total > (uint64_t)SIZE_MAX / 2)
        FAIL(BN_ERR_OUT_OF_MEMORY, "the KV cache for max_context = %d does not fit in memory", c->max_context);
    dm->kv_bytes = (uint64_t)total;

    buffer_spec specs[BUF_COUNT];
    uint64_t chunk = 0;
    int ok = chunk_buffers(dm, specs);
    for (int i = 0; ok && i < BUF_COUNT; i++) ok = add_buffer(&chunk, specs[i].count, specs[i].elem);
    uint64_t thread = 0;
    ok = ok && add_buffer(&thread, dm->group * (dm->ctx_alloc + dm->hd), 4);
    uint64_t head = 0;
    if (c->head_mode == BN_HEAD_I8) {
        ok = ok && add_buffer(&head, dm->vocab * dm->d, 1) && add_buffer(&head, dm->vocab, 4);
    }
    if (!ok || chunk > (uint64_t)SIZE_MAX / 2 || head > (uint64_t)SIZE_MAX / 2)
        FAIL(BN_ERR_OUT_OF_MEMORY, "scratch buffers for max_batch = %d do not fit in memory", c->max_batch);
    dm->chunk_bytes = chunk;
    dm->thread_bytes = thread;
    dm->head_bytes = head;
    if (c->head_mode == BN_HEAD_F16 && c->output_type != BN_GGML_F16)
        dm->decoded_head_bytes = (uint64_t)(dm->vocab * dm->d) * sizeof(uint16_t); /* <= 2^24 * 2^16 * 2 */
    return BN_OK;
}

int bn_model_memory_estimate(const bn_model_config *cfg, int n_threads, uint64_t *kv_bytes,
                             uint64_t *scratch_bytes, uint64_t *head_bytes, uint64_t *decoded_head_bytes) {
    model_dims dm;
    const int status = bn_model_dims(cfg, n_threads, &dm, NULL, 0);
    if (status != BN_OK) return status;
    if (kv_bytes) *kv_bytes = dm.kv_bytes;
    if (scratch_bytes) *scratch_bytes = dm.chunk_bytes + dm.thread_bytes * (uint64_t)n_threads;
    if (head_bytes) *head_bytes = dm.head_bytes;
    if (decoded_head_bytes) *decoded_head_bytes = dm.decoded_head_bytes;
    return BN_OK;
}

/* ---- validation of the caller's buffers ---- */

static int check_gain(const float *g, size_t len, int64_t need, int64_t layer, const char *name,
                      char *err, size_t err_len) {
    if (!g) FAIL(BN_ERR_NULL_POINTER, "blk.%lld.%s is NULL", (long long)layer, name);
    if ((uint64_t)len != (uint64_t)need)
        FAIL(BN_ERR_WEIGHT_SIZE, "blk.%lld.%s has %llu floats, the shape needs %lld", (long long)layer,
             name, (unsigned long long)len, (long long)need);
    for (int64_t i = 0; i < need; i++) {
        if (!isfinite(g[i]))
            FAIL(BN_ERR_BAD_VALUE, "blk.%lld.%s[%lld] is not finite", (long long)layer, name, (long long)i);
    }
    return BN_OK;
}

static int check_ternary(const bn_ternary_weight *w, int64_t m, int64_t k, int64_t layer,
                         const char *name, model_ternary *out, char *err, size_t err_len) {
    if (!w->data) FAIL(BN_ERR_NULL_POINTER, "blk.%lld.%s data is NULL", (long long)layer, name);
    /* m, k <= BN_MODEL_MAX_DIM: m*k/4 + 32 cannot overflow. */
    const uint64_t need = (uint64_t)(m * k / 4) + BN_I2S_TAIL_BYTES;
    if ((uint64_t)w->len != need)
        FAIL(BN_ERR_WEIGHT_SIZE, "blk.%lld.%s has %llu bytes, an I2_S [%lld, %lld] weight needs %llu",
             (long long)layer, name, (unsigned long long)w->len, (long long)m, (long long)k,
             (unsigned long long)need);
    float alpha;
    memcpy(&alpha, w->data + (need - BN_I2S_TAIL_BYTES), sizeof alpha); /* little-endian f32 */
    if (!isfinite(alpha))
        FAIL(BN_ERR_BAD_VALUE, "blk.%lld.%s has a non-finite alpha in its I2_S tail", (long long)layer, name);
    if (!isfinite(w->scale) || w->scale == 0.0f)
        FAIL(BN_ERR_BAD_VALUE, "blk.%lld.%s scale = %g, must be finite and non-zero (1.0 when the "
             "file has no .scale tensor)", (long long)layer, name, (double)w->scale);
    out->codes = w->data;
    out->m = m;
    out->k = k;
    out->alpha = alpha;
    out->scale = w->scale;
    return BN_OK;
}

/* Layer i's weights. sub_norms: whether the graph has sub-norms (layer 0's attn_sub_norm decides,
 * every layer must agree). */
static int check_layer(const bn_layer_weights *lw, const model_dims *dm, int64_t i, int sub_norms,
                       model_layer *out, char *err, size_t err_len) {
    const int64_t d = dm->d, f = dm->f, kv = dm->kv_dim;
    int s;
#define GAIN(field, n) \
    if ((s = check_gain(lw->field, lw->field##_len, n, i, #field, err, err_len)) != BN_OK) return s; \
    out->field = lw->field
    GAIN(attn_norm, d);
    GAIN(ffn_norm, d);
    if (sub_norms) {
        GAIN(attn_sub_norm, d);
        GAIN(ffn_sub_norm, f);
    } else if (lw->attn_sub_norm || lw->ffn_sub_norm || lw->attn_sub_norm_len || lw->ffn_sub_norm_len) {
        FAIL(BN_ERR_BAD_VALUE, "blk.%lld has a sub-norm but blk.0.attn_sub_norm is NULL: the sub-norms "
             "are set in every layer (bitnet graph) or in none (llama graph)", (long long)i);
    }
#undef GAIN
#define TERNARY(field, dst, rows, cols) \
    if ((s = check_ternary(&lw->field, rows, cols, i, #field, &out->dst, err, err_len)) != BN_OK) return s
    TERNARY(attn_q, wq, d, d);
    TERNARY(attn_k, wk, kv, d);
    TERNARY(attn_v, wv, kv, d);
    TERNARY(attn_output, wo, d, d);
    TERNARY(ffn_gate, gate, f, d);
    TERNARY(ffn_up, up, f, d);
    TERNARY(ffn_down, down, d, f);
#undef TERNARY
    return BN_OK;
}

/* The caller's token_embd or output stored as `type`: vocab*d f16 values, or vocab rows of
 * Q8_0 / Q6_K bytes. */
static int check_table(const char *name, const void *data, size_t len, int type, uint64_t row_bytes,
                       const model_dims *dm, model_table *out, char *err, size_t err_len) {
    const uint64_t values = (uint64_t)(dm->vocab * dm->d); /* <= 2^24 * 2^16 */
    if (type == BN_GGML_F16 && (uint64_t)len != values)
        FAIL(BN_ERR_WEIGHT_SIZE, "%s has %llu f16 values, [vocab %lld, d %lld] needs %llu", name,
             (unsigned long long)len, (long long)dm->vocab, (long long)dm->d, (unsigned long long)values);
    const uint64_t bytes = (uint64_t)dm->vocab * row_bytes; /* <= 2^24 * 2^17 */
    if (type != BN_GGML_F16 && (uint64_t)len != bytes)
        FAIL(BN_ERR_WEIGHT_SIZE, "%s has %llu bytes, [vocab %lld, d %lld] as %s needs %llu", name,
             (unsigned long long)len, (long long)dm->vocab, (long long)dm->d, bn_embedding_type_name(type),
             (unsigned long long)bytes);
    out->data = (const uint8_t *)data;
    out->type = type;
    out->row_bytes = row_bytes;
    return BN_OK;
}

/* ---- lifecycle ---- */

static int carve_chunk_buffers(bn_model *m) {
    buffer_spec specs[BUF_COUNT];
    chunk_buffers(&m->dm, specs); /* sizes already checked by bn_model_dims */
    m->chunk_block = bn_aligned_alloc(ALIGN, (size_t)m->dm.chunk_bytes);
    if (!m->chunk_block) return BN_ERR_OUT_OF_MEMORY;
    memset(m->chunk_block, 0, (size_t)m->dm.chunk_bytes); /* qh's padding must be zero */
    void *ptr[BUF_COUNT];
    uint8_t *p = (uint8_t *)m->chunk_block;
    for (int i = 0; i < BUF_COUNT; i++) {
        ptr[i] = p;
        p += padded_bytes(specs[i]);
    }
    m->x = ptr[BUF_X];
    m->xn = ptr[BUF_XN];
    m->q8 = ptr[BUF_Q8];
    m->q8_scales = ptr[BUF_Q8_SCALES];
    m->q8_sums = ptr[BUF_Q8_SUMS];
    m->qkv = ptr[BUF_QKV];
    m->qh = ptr[BUF_QH];
    m->att = ptr[BUF_ATT];
    m->gate = ptr[BUF_GATE];
    m->up = ptr[BUF_UP];
    m->proj = ptr[BUF_PROJ];
    m->rope = ptr[BUF_ROPE];
    return BN_OK;
}

/* Ensures per-thread attention scratch for n_threads workers (called at creation and, under the
 * context lock, at the start of each forward call; allocates only when the count grew). */
int bn_model_reserve_threads(bn_model *m, int n_threads) {
    if (n_threads <= m->n_slots) return BN_OK;
    const size_t bytes = (size_t)m->dm.thread_bytes * (size_t)n_threads;
    float *p = (float *)bn_aligned_alloc(ALIGN, bytes);
    if (!p) return BN_ERR_OUT_OF_MEMORY;
    memset(p, 0, bytes);
    bn_aligned_free(m->att_scratch);
    m->att_scratch = p;
    m->n_slots = n_threads;
    return BN_OK;
}

void bn_model_free(bn_model *m) {
    if (!m) return;
    free(m->layers);
    free(m->rope_freqs);
    bn_aligned_free(m->head_i8);
    bn_aligned_free(m->head_i8_scales);
    bn_aligned_free(m->head_decoded);
    free(m->k_cache);
    free(m->v_cache);
    bn_aligned_free(m->chunk_block);
    bn_aligned_free(m->att_scratch);
    bn_file_close(m->embd_file);
    free(m->embd_rows);
    free(m);
}

int bn_model_create(bn_ctx *ctx, const bn_model_config *cfg, const bn_layer_weights *layers,
                    int64_t n_layers, const void *tok_embd, size_t tok_embd_len,
                    const void *output, size_t output_len, const float *output_norm,
                    size_t output_norm_len, char *err, size_t err_len, bn_model **out) {
    if (err && err_len > 0) err[0] = '\0';
    if (!out) FAIL(BN_ERR_NULL_POINTER, "out is NULL");
    *out = NULL;
    if (!ctx) FAIL(BN_ERR_NULL_POINTER, "ctx is NULL");
    if (!cfg) FAIL(BN_ERR_NULL_POINTER, "config is NULL");
    if (!layers) FAIL(BN_ERR_NULL_POINTER, "layers is NULL");
    if (!tok_embd) FAIL(BN_ERR_NULL_POINTER, "token_embd is NULL");
    if (!output_norm) FAIL(BN_ERR_NULL_POINTER, "output_norm is NULL");

    const int n_threads = bn_ctx_threads(ctx);
    model_dims dm;
    int s = bn_model_dims(cfg, n_threads, &dm, err, err_len);
    if (s != BN_OK) return s;
    if (n_layers != dm.n_layers)
        FAIL(BN_ERR_BAD_SHAPE, "%lld layer structs given, the config says n_layers = %lld",
             (long long)n_layers, (long long)dm.n_layers);
    if (!output && cfg->output_type != cfg->tok_embd_type)
        FAIL(BN_ERR_BAD_VALUE, "output is NULL (tied to token_embd) but output_type = %s differs from "
             "tok_embd_type = %s", bn_embedding_type_name(cfg->output_type), bn_embedding_type_name(cfg->tok_embd_type));
    model_table embd_table, head_table;
    s = check_table("token_embd", tok_embd, tok_embd_len, cfg->tok_embd_type, dm.embd_row_bytes, &dm, &embd_table,
                    err, err_len);
    if (s != BN_OK) return s;
    head_table = embd_table;
    if (output) {
        s = check_table("output", output, output_len, cfg->output_type, dm.head_row_bytes, &dm, &head_table, err,
                        err_len);
        if (s != BN_OK) return s;
    }
    if ((uint64_t)output_norm_len != (uint64_t)dm.d)
        FAIL(BN_ERR_WEIGHT_SIZE, "output_norm has %llu floats, d = %lld", (unsigned long long)output_norm_len,
             (long long)dm.d);
    for (int64_t i = 0; i < dm.d; i++) {
        if (!isfinite(output_norm[i])) FAIL(BN_ERR_BAD_VALUE, "output_norm[%lld] is not finite", (long long)i);
    }

    bn_model *m = (bn_model *)calloc(1, sizeof *m);
    if (!m) FAIL(BN_ERR_OUT_OF_MEMORY, "out of memory");
    m->layers = (model_layer *)calloc((size_t)dm.n_layers, sizeof(model_layer));
    if (!m->layers) { bn_model_free(m); FAIL(BN_ERR_OUT_OF_MEMORY, "out of memory"); }
    m->has_sub_norms = layers[0].attn_sub_norm != NULL;
    for (int64_t i = 0; i < dm.n_layers; i++) {
        s = check_layer(&layers[i], &dm, i, m->has_sub_norms, &m->layers[i], err, err_len);
        if (s != BN_OK) { bn_model_free(m); return s; }
    }
    m->ctx = ctx;
    m->cfg = *cfg;
    if (cfg->rope_freqs) {
        m->rope_freqs = (float *)malloc((size_t)cfg->rope_freqs_len * sizeof(float));
        if (!m->rope_freqs) { bn_model_free(m); FAIL(BN_ERR_OUT_OF_MEMORY, "out of memory"); }
        memcpy(m->rope_freqs, cfg->rope_freqs, (size_t)cfg->rope_freqs_len * sizeof(float));
        m->cfg.rope_freqs = m->rope_freqs; /* the caller's array may go */
    }
    m->dm = dm;
    m->output_norm = output_norm;
    m->rope_beta = powf(cfg->rope_theta, -2.0f / (float)cfg->head_dim);
    m->attn_scale = 1.0f / sqrtf((float)cfg->head_dim);

    /* calloc: the OS hands out zero pages lazily, and V rows must hold finite values beyond the
     * filled positions (they are multiplied by zero probabilities). */
    const int64_t k_elems = dm.n_layers * dm.n_kv * dm.ctx_alloc * dm.hd_pad; /* checked in dims */
    const int64_t v_elems = dm.n_layers * dm.n_kv * dm.ctx_alloc * dm.hd;
    m->k_cache = (uint16_t *)calloc((size_t)k_elems, sizeof(uint16_t));
    m->v_cache = (uint16_t *)calloc((size_t)v_elems, sizeof(uint16_t));
    if (!m->k_cache || !m->v_cache) {
        bn_model_free(m);
        FAIL(BN_ERR_OUT_OF_MEMORY, "cannot allocate the KV cache (%llu bytes)", (unsigned long long)dm.kv_bytes);
    }
    if (carve_chunk_buffers(m) != BN_OK || bn_model_reserve_threads(m, n_threads) != BN_OK) {
        bn_model_free(m);
        FAIL(BN_ERR_OUT_OF_MEMORY, "cannot allocate the scratch buffers (%llu bytes)",
             (unsigned long long)(dm.chunk_bytes + dm.thread_bytes * (uint64_t)n_threads));
    }
    const int fast = cfg->head_mode == BN_HEAD_I8;
    if (fast) {
        m->head_i8 = (int8_t *)bn_aligned_alloc(ALIGN, (size_t)(dm.vocab * dm.d));
        m->head_i8_scales = (float *)bn_aligned_alloc(ALIGN, (size_t)dm.vocab * sizeof(float));
        if (!m->head_i8 || !m->head_i8_scales) {
            bn_model_free(m);
            FAIL(BN_ERR_OUT_OF_MEMORY, "cannot allocate the int8 head (%llu bytes)",
                 (unsigned long long)dm.head_bytes);
        }
    }
    int64_t bad_row = -1;
    s = bn_model_build_head(m, &head_table, &bad_row);
    if (s != BN_OK) {
        bn_model_free(m);
        if (s == BN_ERR_BAD_VALUE)
            FAIL(s, "%s row %lld holds NaN or infinity (as f16): the int8 head cannot be built from it",
                 output ? "output" : "token_embd", (long long)bad_row);
        FAIL(s, "%s: %s", fast ? "building the int8 head" : "decoding the head to f16", bn_status_string(s));
    }
    /* From here on the head never reads the caller's table in fast mode (it served only the int8
     * build), nor a Q8_0 / Q6_K one in exact mode (decoded): the caller may unmap or free it. */
    if (!fast) m->head_f16 = m->head_decoded ? m->head_decoded : (const uint16_t *)head_table.data;
    if (!output && m->head_decoded) {
        m->tok_embd = m->head_decoded; /* tied: rows come from the decoded table too */
    } else if (bn_model_embedding_from_table(m, &embd_table) != BN_OK) {
        bn_model_free(m);
        FAIL(BN_ERR_OUT_OF_MEMORY, "cannot allocate the embedding row buffer");
    }
    *out = m;
    return BN_OK;
}

/* ---- state and facts ---- */

int64_t bn_model_kv_length(const bn_model *m) {
    if (!m) return -1;
    return bn_atomic_load64((volatile int64_t *)&m->n_past);
}

int bn_model_truncate(bn_model *m, int64_t n_positions) {
    if (!m) return BN_ERR_NULL_POINTER;
    bn_mutex_lock(&m->ctx->op_lock);
    int s = BN_OK;
    if (n_positions < 0 || n_positions > m->n_past) s = BN_ERR_POSITION;
    else bn_atomic_store64(&m->n_past, n_positions);
    bn_mutex_unlock(&m->ctx->op_lock);
    return s;
}

int bn_model_get_config(const bn_model *m, bn_model_config *out) {
    if (!m || !out) return BN_ERR_NULL_POINTER;
    *out = m->cfg;
    return BN_OK;
}

int bn_model_has_sub_norms(const bn_model *m) { return m ? m->has_sub_norms : -1; }

uint64_t bn_model_kv_bytes(const bn_model *m) { return m ? m->dm.kv_bytes : 0; }

uint64_t bn_model_scratch_bytes(const bn_model *m) {
    return m ? m->dm.chunk_bytes + m->dm.thread_bytes * (uint64_t)m->n_slots : 0;
}

uint64_t bn_model_head_bytes(const bn_model *m) { return m ? m->dm.head_bytes : 0; }

uint64_t bn_model_decoded_head_bytes(const bn_model *m) { return m ? m->dm.decoded_head_bytes : 0; }
