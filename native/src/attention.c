/*
 * attention.c: causal multi-head attention with grouped KV heads over the F16 cache, as
 * bitnet.cpp computes it without flash attention (BITNET_SPEC 1.5):
 *   s_j = f32 dot(Q_f16, K_f16[j])                (context's f16 kernel, 32 lanes)
 *   w_j = s_j * (1/sqrtf(head_dim)); m = max_j w_j; e_j = expf(w_j - m); S = sum e_j (double)
 *   p_j = f16(e_j * (float)(1/S));  o = sum_j p_j * V_f16[j]   (same f16 kernel)
 * One task = one token and `hpt` query heads of one KV head: the K rows and V rows it reads
 * serve all of them. Tasks of later tokens (longer contexts) are handed out first.
 *
 * K rows are [position][hd_pad] (zero pad), so the scores of hpt heads are one f16 GEMM with the
 * positions as "rows". V is stored transposed ([dim][position]), so each output dim is one f16
 * dot over the probabilities; the probability rows are zero-padded to a multiple of 32 positions
 * (the V values there are finite: zero from allocation, or older positions).
 */
#include <math.h>

#include "model.h"

typedef struct {
    bn_model *m;
    const bn_kernel_table *kt;
    int64_t layer, n_tokens, pos;
    int64_t hpt;             /* query heads per task (divides the group size) */
    int64_t splits;          /* group / hpt */
    int64_t tasks_per_token; /* n_kv * splits */
    int64_t slot_floats;     /* per-thread scratch stride */
} attention_job;

static void softmax_row(float *s, int64_t n, int64_t n_pad, float scale) {
    float mx = -INFINITY;
    for (int64_t j = 0; j < n; j++) {
        s[j] *= scale;
        mx = s[j] > mx ? s[j] : mx;
    }
    double sum = 0.0;
    for (int64_t j = 0; j < n; j++) {
        const float e = expf(s[j] - mx);
        s[j] = e;
        sum += (double)e;
    }
    const float inv = (float)(1.0 / sum);
    for (int64_t j = 0; j < n; j++) s[j] = bn_round_f16(s[j] * inv);
    for (int64_t j = n; j < n_pad; j++) s[j] = 0.0f;
}

static void attention_task(void *arg, int64_t task, int thread_index) {
    const attention_job *j = (const attention_job *)arg;
    bn_model *m = j->m;
    const model_dims *dm = &m->dm;
    const int64_t t = j->n_tokens - 1 - task / j->tasks_per_token;
    const int64_t rem = task % j->tasks_per_token;
    const int64_t g = rem / j->splits;                       /* KV head */
    const int64_t h0 = g * dm->group + (rem % j->splits) * j->hpt; /* first query head */
    const int64_t n_ctx = j->pos + t + 1;                    /* causal: positions 0..pos+t */
    const int64_t n_pad = (n_ctx + 31) / 32 * 32;            /* <= ctx_alloc */

    float *p = m->att_scratch + (int64_t)thread_index * j->slot_floats; /* [hpt][n_pad] */
    const int64_t kv_index = j->layer * dm->n_kv + g;
    const uint16_t *k_rows = m->k_cache + kv_index * dm->ctx_alloc * dm->hd_pad;
    const uint16_t *v_rows = m->v_cache + kv_index * dm->hd * dm->ctx_alloc;
    const float *q = m->qh + (t * dm->n_heads + h0) * dm->hd_pad;

    j->kt->f16_gemm(k_rows, dm->hd_pad, 0, n_ctx, q, j->hpt, p, n_pad);
    for (int64_t h = 0; h < j->hpt; h++) softmax_row(p + h * n_pad, n_ctx, n_pad, m->attn_scale);

    float *o = m->att + t * dm->d + h0 * dm->hd; /* head h0+h, dim i at o[h * hd + i] */
    for (int64_t i = 0; i < dm->hd; i++) {
        j->kt->f16_gemm(v_rows + i * dm->ctx_alloc, n_pad, 0, 1, p, j->hpt, o + i, dm->hd);
    }
}

void bn_model_attention(bn_model *m, int64_t layer, int64_t n_tokens, int64_t pos) {
    const model_dims *dm = &m->dm;
    const int64_t want = 4 * (int64_t)bn_pool_threads(m->ctx->pool);
    /* The most heads per task that still gives every thread about four tasks (tasks of one
     * token are equal in cost, so fewer would leave threads idle at the end). */
    int64_t hpt = 1;
    for (int64_t h = dm->group; h >= 1; h--) {
        if (dm->group % h == 0 && n_tokens * dm->n_kv * (dm->group / h) >= want) { hpt = h; break; }
    }
    attention_job job;
    job.m = m;
    job.kt = m->ctx->kt;
    job.layer = layer;
    job.n_tokens = n_tokens;
    job.pos = pos;
    job.hpt = hpt;
    job.splits = dm->group / hpt;
    job.tasks_per_token = dm->n_kv * job.splits;
    job.slot_floats = (int64_t)(dm->thread_bytes / sizeof(float));
    bn_pool_run(m->ctx->pool, attention_task, &job, n_tokens * job.tasks_per_token);
}
