/*
 * attention.c: causal multi-head attention with grouped KV heads over the F16 cache, as
 * bitnet.cpp computes it without flash attention (docs/numerics.md#attention-and-the-f16-kv-cache):
 *   s_j = f32 dot(Q_f16, K_f16[j])                (context's f16 kernel, 32 lanes)
 *   w_j = s_j * (1/sqrtf(head_dim)); m = max_j w_j; e_j = expf(w_j - m); S = sum e_j (double,
 *   four interleaved partial sums: ggml's order differs too, and double makes it immaterial)
 *   p_j = f16(e_j * (float)(1/S));  o = sum_j p_j * V_f16[j]
 * P·V is summed per block of BN_MODEL_V_BLOCK positions by the f16 kernel (32 lanes), and the
 * block results are added in position order in f32.
 *
 * One task = one token and `hpt` query heads of one KV head: the K and V it reads serve all of
 * them. Tasks of later tokens (longer contexts) are handed out first.
 *
 * Layouts that make every step one kernel call per block of positions:
 *   K rows [position][hd_pad] (zero pad): scores of a block = f16 GEMM with positions as rows
 *     and the hpt queries as tokens, written as p[block][head][V_BLOCK];
 *   V [block][dim][V_BLOCK]: P·V of a block = f16 GEMM with dims as rows and the hpt
 *     probability rows of that block as tokens (k = V_BLOCK).
 * Probabilities past the last position are zero; the V values there are finite (zero from
 * allocation, or older positions), so they add nothing.
 */
#include <math.h>

#include "model.h"

#define VB BN_MODEL_V_BLOCK

typedef struct {
    bn_model *m;
    const bn_kernel_table *kt;
    int64_t layer, n_tokens, pos;
    int64_t hpt;             /* query heads per task (divides the group size) */
    int64_t splits;          /* group / hpt */
    int64_t tasks_per_token; /* n_kv * splits */
    int64_t slot_floats;     /* per-thread scratch stride */
} attention_job;

/* Softmax over positions [0, n) of head h, stored at p[(b * hpt + h) * VB + j % VB] with
 * b = j / VB; the rest of the last block is zeroed. */
static void softmax_blocked(float *p, int64_t hpt, int64_t h, int64_t n, float scale) {
    const int64_t n_blocks = (n + VB - 1) / VB;
    float mx = -INFINITY;
    for (int64_t b = 0; b < n_blocks; b++) {
        float *s = p + (b * hpt + h) * VB;
        const int64_t len = n - b * VB < VB ? n - b * VB : VB;
        for (int64_t j = 0; j < len; j++) {
            s[j] *= scale;
            mx = s[j] > mx ? s[j] : mx;
        }
    }
    double part[4] = {0.0, 0.0, 0.0, 0.0}; /* the double sum in 4 interleaved chains */
    for (int64_t b = 0; b < n_blocks; b++) {
        float *s = p + (b * hpt + h) * VB;
        const int64_t len = n - b * VB < VB ? n - b * VB : VB;
        for (int64_t j = 0; j < len; j++) {
            const float e = expf(s[j] - mx);
            s[j] = e;
            part[j & 3] += (double)e;
        }
    }
    const float inv = (float)(1.0 / ((part[0] + part[1]) + (part[2] + part[3])));
    for (int64_t b = 0; b < n_blocks; b++) {
        float *s = p + (b * hpt + h) * VB;
        const int64_t len = n - b * VB < VB ? n - b * VB : VB;
        for (int64_t j = 0; j < len; j++) s[j] = bn_round_f16(s[j] * inv);
        for (int64_t j = len; j < VB; j++) s[j] = 0.0f;
    }
}

static void attention_task(void *arg, int64_t task, int thread_index) {
    const attention_job *j = (const attention_job *)arg;
    bn_model *m = j->m;
    const model_dims *dm = &m->dm;
    const int64_t hpt = j->hpt, hd = dm->hd;
    const int64_t t = j->n_tokens - 1 - task / j->tasks_per_token;
    const int64_t rem = task % j->tasks_per_token;
    const int64_t g = rem / j->splits;                             /* KV head */
    const int64_t h0 = g * dm->group + (rem % j->splits) * hpt;    /* first query head */
    const int64_t n_ctx = j->pos + t + 1;                          /* causal: 0..pos+t */
    const int64_t n_blocks = (n_ctx + VB - 1) / VB;

    float *p = m->att_scratch + (int64_t)thread_index * j->slot_floats; /* [n_blocks][hpt][VB] */
    float *partial = p + dm->group * dm->ctx_alloc;                     /* [hpt][hd] */
    const int64_t kv_index = j->layer * dm->n_kv + g;
    const uint16_t *k_rows = m->k_cache + kv_index * dm->ctx_alloc * dm->hd_pad;
    const uint16_t *v_blocks = m->v_cache + kv_index * dm->ctx_alloc * hd;
    const float *q = m->qh + (t * dm->n_heads + h0) * dm->hd_pad;

    for (int64_t b = 0; b < n_blocks; b++) {
        const int64_t rows = n_ctx - b * VB < VB ? n_ctx - b * VB : VB;
        j->kt->f16_gemm(k_rows + b * VB * dm->hd_pad, dm->hd_pad, 0, rows, q, hpt,
                        p + b * hpt * VB, VB);
    }
    for (int64_t h = 0; h < hpt; h++) softmax_blocked(p, hpt, h, n_ctx, m->attn_scale);

    float *o = m->att + t * dm->d + h0 * hd; /* head h0+h, dim i at o[h * hd + i] */
    for (int64_t b = 0; b < n_blocks; b++) {
        float *y = b == 0 ? o : partial;
        j->kt->f16_gemm(v_blocks + b * VB * hd, VB, 0, hd, p + b * hpt * VB, hpt, y, hd);
        if (b > 0) {
            for (int64_t i = 0; i < hpt * hd; i++) o[i] = o[i] + partial[i];
        }
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
