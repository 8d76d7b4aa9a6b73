/*
 * model_forward.c: bn_model_forward, the layer loop of docs/architectures.md#the-bitnet-b158-graph over chunks of at
 * most
 * max_batch tokens. The same loop runs the LLaMA graph (arch llama: no sub-norms, RoPE on adjacent
 * pairs, docs/architectures.md). Per-token steps (embedding, RMSNorm + quantization, RoPE + cache store, the
 * FFN activation, the head input) are pool jobs with one task per token (run inline for a single
 * token); matmuls split over output rows (model_matmul.c); attention over (token, heads)
 * (attention.c). Nothing is allocated here unless the context's thread count grew.
 */
#include <math.h>

#include "model.h"

/* RMSNorm as ggml computes it (docs/numerics.md#rmsnorm): f32 squares summed in double (here
 * in four
 * interleaved partial sums, k % 4 == 0: the double total can differ from a sequential sum only
 * in its last bits, which the cast of the mean to float removes), mean cast to float,
 * scale = 1/sqrtf(mean + eps), then (x * scale) * gain in f32. y may alias x. */
static void rms_norm(const float *x, const float *gain, int64_t k, float eps, float *y) {
    double part[4] = {0.0, 0.0, 0.0, 0.0};
    for (int64_t i = 0; i < k; i += 4) {
        part[0] += (double)(x[i] * x[i]);
        part[1] += (double)(x[i + 1] * x[i + 1]);
        part[2] += (double)(x[i + 2] * x[i + 2]);
        part[3] += (double)(x[i + 3] * x[i + 3]);
    }
    const double sum = (part[0] + part[1]) + (part[2] + part[3]);
    const float mean = (float)(sum / (double)k);
    const float scale = 1.0f / sqrtf(mean + eps);
    for (int64_t i = 0; i < k; i++) {
        const float v = x[i] * scale;
        y[i] = v * gain[i];
    }
}

/* NeoX rotation of one head in place: pairs (i, i + hd/2); cs = cos[hd/2] then sin[hd/2]. */
static void rope_neox(float *x, const float *cs, int64_t hd) {
    const int64_t half = hd / 2;
    const float *sn = cs + half;
    for (int64_t i = 0; i < half; i++) {
        const float x0 = x[i], x1 = x[i + half];
        x[i] = x0 * cs[i] - x1 * sn[i];
        x[i + half] = x0 * sn[i] + x1 * cs[i];
    }
}

/* Normal (GPT-J) rotation of one head in place: pairs (2i, 2i + 1), as llama.cpp rotates arch
 * llama, whose converter permuted the Q/K rows so that these pairs are Hugging Face's (i, i + hd/2). */
static void rope_normal(float *x, const float *cs, int64_t hd) {
    const int64_t half = hd / 2;
    const float *sn = cs + half;
    for (int64_t i = 0; i < half; i++) {
        const float x0 = x[2 * i], x1 = x[2 * i + 1];
        x[2 * i] = x0 * cs[i] - x1 * sn[i];
        x[2 * i + 1] = x0 * sn[i] + x1 * cs[i];
    }
}

/* ---- per-token jobs ---- */

typedef struct {
    bn_model *m;
    const bn_kernel_table *kt;
    const int32_t *tokens;
    int64_t pos, layer;
    /* norm + quantize: row t of src (stride k) += row t of add (if any), normed with gain into
     * m->xn (stride k), then quantized into m->q8 (stride k) */
    float *src;
    const float *add;
    const float *gain;
    int64_t k;
    int64_t first; /* head input: source row of output row 0 */
} token_job;

static void embed_task(void *arg, int64_t t, int thread_index) {
    (void)thread_index;
    const token_job *j = (const token_job *)arg;
    bn_model *m = j->m;
    const int64_t d = m->dm.d, hd = m->dm.hd, half = hd / 2;
    const uint16_t *row = bn_model_embedding_row(m, j->tokens, t);
    float *x = m->x + t * d;
    for (int64_t i = 0; i < d; i++) x[i] = bn_f16_to_f32_scalar(row[i]);
    /* RoPE angles of this position, shared by every layer: theta_0 = p, theta_{i+1} = theta_i * beta. */
    float *cs = m->rope + t * hd;
    float theta = (float)(j->pos + t);
    const float *ff = m->rope_freqs;
    for (int64_t i = 0; i < half; i++) {
        const float angle = ff ? theta / ff[i] : theta; /* ggml: theta / freq_factor[i] */
        cs[i] = cosf(angle);
        cs[half + i] = sinf(angle);
        theta *= m->rope_beta;
    }
}

static void norm_quant_task(void *arg, int64_t t, int thread_index) {
    (void)thread_index;
    const token_job *j = (const token_job *)arg;
    bn_model *m = j->m;
    const int64_t k = j->k;
    float *x = j->src + t * k;
    if (j->add) {
        const float *a = j->add + t * k;
        for (int64_t i = 0; i < k; i++) x[i] = x[i] + a[i];
    }
    const float *row = x;
    if (j->gain) { /* NULL: a sub-norm the graph does not have; the row is quantized as it is */
        float *xn = m->xn + t * k;
        rms_norm(x, j->gain, k, m->cfg.rms_eps, xn);
        row = xn;
    }
    j->kt->quantize_row(row, k, m->q8 + t * k, &m->q8_scales[t], &m->q8_sums[t]);
}

static void ffn_act_task(void *arg, int64_t t, int thread_index) {
    (void)thread_index;
    const token_job *j = (const token_job *)arg;
    bn_model *m = j->m;
    const int64_t f = m->dm.f;
    const float *g = m->gate + t * f, *u = m->up + t * f;
    float *z = m->xn + t * f;
    if (m->cfg.activation == BN_ACT_RELU2) {
        for (int64_t i = 0; i < f; i++) {
            const float r = g[i] > 0.0f ? g[i] : 0.0f;
            z[i] = (r * r) * u[i];
        }
    } else {
        for (int64_t i = 0; i < f; i++) z[i] = (g[i] / (1.0f + expf(-g[i]))) * u[i];
    }
    if (j->gain) rms_norm(z, j->gain, f, m->cfg.rms_eps, z); /* ffn_sub_norm, when the graph has it */
    j->kt->quantize_row(z, f, m->q8 + t * f, &m->q8_scales[t], &m->q8_sums[t]);
}

static void rope_store_task(void *arg, int64_t t, int thread_index) {
    (void)thread_index;
    const token_job *j = (const token_job *)arg;
    bn_model *m = j->m;
    const model_dims *dm = &m->dm;
    const int64_t hd = dm->hd, p = j->pos + t;
    float *q = m->qkv + t * dm->qkv_dim;
    float *k = q + dm->d;
    const float *v = k + dm->kv_dim;
    const float *cs = m->rope + t * hd;
    void (*rope)(float *, const float *, int64_t) = m->cfg.rope_style == BN_ROPE_NORMAL ? rope_normal : rope_neox;
    for (int64_t h = 0; h < dm->n_heads; h++) {
        rope(q + h * hd, cs, hd);
        float *dst = m->qh + (t * dm->n_heads + h) * dm->hd_pad;
        for (int64_t i = 0; i < hd; i++) dst[i] = bn_round_f16(q[h * hd + i]);
        for (int64_t i = hd; i < dm->hd_pad; i++) dst[i] = 0.0f;
    }
    for (int64_t g = 0; g < dm->n_kv; g++) {
        const int64_t kv_index = j->layer * dm->n_kv + g;
        rope(k + g * hd, cs, hd);
        uint16_t *kd = m->k_cache + (kv_index * dm->ctx_alloc + p) * dm->hd_pad; /* pad stays 0 */
        for (int64_t i = 0; i < hd; i++) kd[i] = bn_f32_to_f16_scalar(k[g * hd + i]);
        uint16_t *vd = m->v_cache + (kv_index * dm->ctx_alloc + p / BN_MODEL_V_BLOCK * BN_MODEL_V_BLOCK) * hd
                       + p % BN_MODEL_V_BLOCK;            /* block of p, column p % V_BLOCK */
        for (int64_t i = 0; i < hd; i++) vd[i * BN_MODEL_V_BLOCK] = bn_f32_to_f16_scalar(v[g * hd + i]);
    }
}

/* Head input row i from chunk row first + i: finish the last residual, output_norm, then round
 * to f16 (exact head) or quantize (int8 head). */
static void head_input_task(void *arg, int64_t i, int thread_index) {
    (void)thread_index;
    const token_job *j = (const token_job *)arg;
    bn_model *m = j->m;
    const int64_t d = m->dm.d, t = j->first + i;
    float *x = m->x + t * d;
    const float *a = m->proj + t * d;
    for (int64_t c = 0; c < d; c++) x[c] = x[c] + a[c];
    float *xn = m->xn + i * d;
    rms_norm(x, m->output_norm, d, m->cfg.rms_eps, xn);
    if (m->cfg.head_mode == BN_HEAD_I8) {
        j->kt->quantize_row(xn, d, m->q8 + i * d, &m->q8_scales[i], &m->q8_sums[i]);
        /* Quantization maps NaN and infinity to finite codes; a NaN scale gives this token NaN
         * logits instead, as the f16 head would, so damaged weights cannot pass for a model. */
        for (int64_t c = 0; c < d; c++) {
            if (!isfinite(xn[c])) {
                m->q8_scales[i] = NAN;
                break;
            }
        }
    } else {
        for (int64_t c = 0; c < d; c++) xn[c] = bn_round_f16(xn[c]);
    }
}

/* ---- one chunk ---- */

static void run_norm_quant(bn_model *m, token_job *job, float *src, const float *add,
                           const float *gain, int64_t k, int64_t n) {
    job->src = src;
    job->add = add;
    job->gain = gain;
    job->k = k;
    bn_pool_run(m->ctx->pool, norm_quant_task, job, n);
}

static int run_chunk(bn_model *m, const int32_t *tokens, int64_t n, int64_t pos, float *logits,
                     int head_rows, int64_t head_first) {
    const model_dims *dm = &m->dm;
    bn_pool *pool = m->ctx->pool;
    token_job job = {0};
    job.m = m;
    job.kt = m->ctx->kt;
    job.tokens = tokens;
    job.pos = pos;
    const int status = bn_model_read_embedding_rows(m, tokens, n);
    if (status != BN_OK) return status;
    bn_pool_run(pool, embed_task, &job, n);

    for (int64_t l = 0; l < dm->n_layers; l++) {
        if (bn_ctx_cancelled(m->ctx)) return BN_ERR_CANCELLED;
        const model_layer *L = &m->layers[l];
        job.layer = l;

        /* attention block */
        run_norm_quant(m, &job, m->x, l > 0 ? m->proj : NULL, L->attn_norm, dm->d, n);
        {
            const model_ternary *w[3] = {&L->wq, &L->wk, &L->wv};
            float *y[3] = {m->qkv, m->qkv + dm->d, m->qkv + dm->d + dm->kv_dim};
            const int64_t stride[3] = {dm->qkv_dim, dm->qkv_dim, dm->qkv_dim};
            bn_model_ternary(m, 3, w, y, stride, m->q8, m->q8_scales, m->q8_sums, n);
        }
        bn_pool_run(pool, rope_store_task, &job, n);
        bn_model_attention(m, l, n, pos);
        run_norm_quant(m, &job, m->att, NULL, L->attn_sub_norm, dm->d, n);
        {
            const model_ternary *w[1] = {&L->wo};
            float *y[1] = {m->proj};
            const int64_t stride[1] = {dm->d};
            bn_model_ternary(m, 1, w, y, stride, m->q8, m->q8_scales, m->q8_sums, n);
        }

        /* feed-forward block (x += attention projection first) */
        run_norm_quant(m, &job, m->x, m->proj, L->ffn_norm, dm->d, n);
        {
            const model_ternary *w[2] = {&L->gate, &L->up};
            float *y[2] = {m->gate, m->up};
            const int64_t stride[2] = {dm->f, dm->f};
            bn_model_ternary(m, 2, w, y, stride, m->q8, m->q8_scales, m->q8_sums, n);
        }
        job.gain = L->ffn_sub_norm;
        bn_pool_run(pool, ffn_act_task, &job, n);
        {
            const model_ternary *w[1] = {&L->down};
            float *y[1] = {m->proj};
            const int64_t stride[1] = {dm->d};
            bn_model_ternary(m, 1, w, y, stride, m->q8, m->q8_scales, m->q8_sums, n);
        }
    }

    if (head_rows > 0) {
        job.first = head_first;
        bn_pool_run(pool, head_input_task, &job, head_rows);
        bn_model_head(m, head_rows, logits);
    }
    return BN_OK;
}

int bn_model_forward(bn_model *m, const int32_t *tokens, int64_t n_tokens, int64_t pos,
                     float *logits, size_t logits_len, int logits_mode) {
    if (!m || !tokens) return BN_ERR_NULL_POINTER;
    if (n_tokens < 1) return BN_ERR_BAD_SHAPE;
    if (logits_mode != BN_LOGITS_LAST && logits_mode != BN_LOGITS_ALL && logits_mode != BN_LOGITS_NONE)
        return BN_ERR_BAD_VALUE;
    const model_dims *dm = &m->dm;
    if (pos < 0) return BN_ERR_POSITION;
    if (n_tokens > dm->ctx_len || pos > dm->ctx_len - n_tokens) return BN_ERR_CONTEXT_FULL;
    if (logits_mode != BN_LOGITS_NONE) {
        if (!logits) return BN_ERR_NULL_POINTER;
        /* n_tokens <= max_context <= 2^22 and vocab <= 2^24: the product fits. */
        const uint64_t need = (uint64_t)dm->vocab * (logits_mode == BN_LOGITS_ALL ? (uint64_t)n_tokens : 1u);
        if ((uint64_t)logits_len < need) return BN_ERR_BUFFER_TOO_SMALL;
    }
    for (int64_t i = 0; i < n_tokens; i++) {
        if (tokens[i] < 0 || tokens[i] >= dm->vocab) return BN_ERR_TOKEN_RANGE;
    }
    bn_ctx *ctx = m->ctx;
    if (bn_ctx_cancelled(ctx)) return BN_ERR_CANCELLED;

    bn_mutex_lock(&ctx->op_lock);
    int status = BN_OK;
    if (pos > m->n_past) status = BN_ERR_POSITION;
    if (status == BN_OK) status = bn_model_reserve_threads(m, bn_pool_threads(ctx->pool));
    if (status == BN_OK) {
        bn_atomic_store64(&m->n_past, pos); /* drop cached positions >= pos */
        for (int64_t c = 0; c < n_tokens && status == BN_OK; c += dm->batch) {
            const int64_t n = n_tokens - c < dm->batch ? n_tokens - c : dm->batch;
            const int last = c + n == n_tokens;
            int head_rows = 0;
            int64_t head_first = 0;
            float *out = logits;
            if (logits_mode == BN_LOGITS_ALL) {
                head_rows = (int)n;
                out = logits + c * dm->vocab;
            } else if (logits_mode == BN_LOGITS_LAST && last) {
                head_rows = 1;
                head_first = n - 1;
            }
            status = run_chunk(m, tokens + c, n, pos + c, out, head_rows, head_first);
            if (status == BN_OK) bn_atomic_store64(&m->n_past, pos + c + n);
        }
    }
    bn_mutex_unlock(&ctx->op_lock);
    return status;
}
