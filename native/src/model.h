/*
 * model.h: the bn_model object (see bitnet.h, "model") shared by model.c (creation, validation,
 * memory facts), model_forward.c (the layer loop), model_matmul.c (row-parallel matmul jobs) and
 * attention.c (causal GQA attention over the F16 KV cache).
 */
#ifndef BN_MODEL_H
#define BN_MODEL_H

#include "context.h"
#include "file_read.h"

/* One ternary weight as the forward pass uses it. */
typedef struct {
    const uint8_t *codes; /* I2_S codes [m, k/4]: row r at codes + r*k/4 (caller's memory) */
    int64_t m, k;
    float alpha;          /* the f32 at byte m*k/4 (tail) */
    float scale;          /* extra output multiplier; 1.0f = none (then no multiply at all) */
} model_ternary;

typedef struct {
    const float *attn_norm, *attn_sub_norm, *ffn_norm, *ffn_sub_norm; /* [d], [d], [d], [f] */
    model_ternary wq, wk, wv, wo, gate, up, down;
} model_layer;

/* Positions per V block: V is stored transposed ([dim][position]) inside blocks of this many
 * positions, so one f16 GEMM per block computes P·V for all dims of a head group. */
#define BN_MODEL_V_BLOCK 128

/* Sizes derived from a validated configuration. Element counts unless named _bytes. */
typedef struct {
    int64_t n_layers, d, f, vocab, n_heads, n_kv, hd, kv_dim;
    int64_t hd_pad;     /* head_dim rounded up to 32: K rows and query rows are read by the f16
                           kernel, whose k must be a multiple of 32 (the pad is zero) */
    int64_t group;      /* query heads per KV head */
    int64_t ctx_len;    /* max_context */
    int64_t ctx_alloc;  /* max_context rounded up to BN_MODEL_V_BLOCK (cache rows allocated) */
    int64_t batch;      /* max tokens per chunk */
    int64_t qkv_dim;    /* d + 2 * kv_dim: one token's q, k, v side by side */
    int64_t act_max;    /* max(d, f): the widest activation row */
    uint64_t kv_bytes;
    uint64_t chunk_bytes;      /* all per-chunk scratch buffers together */
    uint64_t thread_bytes;     /* attention scratch of one worker thread */
    uint64_t head_bytes;       /* int8 head + row scales (BN_HEAD_I8), else 0 */
} model_dims;

struct bn_model {
    bn_ctx *ctx;
    bn_model_config cfg;
    model_dims dm;
    model_layer *layers;        /* [n_layers], pointers into the caller's weights */
    const uint16_t *tok_embd;   /* f16 [vocab, d] (caller's); NULL once embd_file is set */
    const uint16_t *head_f16;   /* f16 [vocab, d]: output.weight, or tok_embd when tied. Unused
                                   in BN_HEAD_I8 mode once the int8 head is built: NULL from then
                                   on when untied, and once embd_file is set when tied */
    const float *output_norm;   /* [d] (caller's) */
    int8_t *head_i8;            /* BN_HEAD_I8: int8 [vocab, d] (owned) */
    float *head_i8_scales;      /* BN_HEAD_I8: [vocab] per-row scales (owned) */
    bn_file *embd_file;         /* when set (bn_model_embedding_from_file), embedding rows are read
                                   from this file instead of tok_embd (owned) */
    uint64_t embd_offset;       /* byte offset of token_embd in embd_file */
    int embd_type;              /* BN_GGML_F16 / _Q8_0 / _Q6_K: how embd_file stores a row */
    uint64_t embd_row_bytes;    /* bytes of one stored row (embedding_rows.h) */
    uint16_t *embd_rows;        /* [B, d] f16: the rows read for the current chunk, then one
                                   stored row's bytes (embd_raw), in one allocation (owned) */
    uint8_t *embd_raw;          /* [embd_row_bytes]: the row being decoded, inside embd_rows' block */

    uint16_t *k_cache;          /* f16 [n_layers][n_kv][ctx_alloc][hd_pad] */
    uint16_t *v_cache;          /* f16 [n_layers][n_kv][ctx_alloc / V_BLOCK][hd][V_BLOCK]:
                                   transposed within blocks of positions */
    volatile int64_t n_past;    /* positions [0, n_past) hold valid K/V (atomic reads) */

    float rope_beta;            /* powf(rope_theta, -2/head_dim) */
    float attn_scale;           /* 1/sqrtf(head_dim) */

    /* Per-chunk scratch: one allocation, every buffer 64-byte aligned. B = dm.batch. */
    void *chunk_block;
    float *x;          /* [B, d]        residual stream */
    float *xn;         /* [B, act_max]  normed activations (f32), also the head input */
    int8_t *q8;        /* [B, act_max]  int8 activations */
    float *q8_scales;  /* [B] */
    int32_t *q8_sums;  /* [B] */
    float *qkv;        /* [B, qkv_dim]  q | k | v of each token */
    float *qh;         /* [B, n_heads, hd_pad] queries after RoPE, rounded to f16, zero-padded */
    float *att;        /* [B, d]        attention output, heads side by side */
    float *gate;       /* [B, f] */
    float *up;         /* [B, f] */
    float *proj;       /* [B, d]        attn_output / ffn_down result before the residual add */
    float *rope;       /* [B, hd]       cos (hd/2) then sin (hd/2) of each token's position */

    /* Per-thread attention scratch, [n_slots] of: probabilities [group * ctx_alloc] then one
     * block's partial output [group * hd] (f32). Grows (the only allocation a forward call can
     * make) when the context's thread count grew. */
    float *att_scratch;
    int n_slots;
};

/* Derives and checks the sizes of cfg for n_threads worker threads. BN_OK or a status with a
 * message in err (may be NULL). */
int bn_model_dims(const bn_model_config *cfg, int n_threads, model_dims *dm,
                  char *err, size_t err_len);

/* Per-thread attention scratch for n_threads workers; allocates only when the count grew. */
int bn_model_reserve_threads(bn_model *m, int n_threads);

/* Formats a message into err (when not NULL) and returns status. */
int bn_model_fail(char *err, size_t err_len, int status, const char *fmt, ...);

/* In functions with `char *err, size_t err_len` parameters: fail with a message. */
#define FAIL(status, ...) return bn_model_fail(err, err_len, (status), __VA_ARGS__)

/* ---- model_embedding.c ---- */

/* With an embedding file set, reads and decodes the rows of tokens[0..n) (ids already checked)
 * into m->embd_rows (BN_ERR_IO when the file cannot be read); otherwise does nothing. */
int bn_model_read_embedding_rows(bn_model *m, const int32_t *tokens, int64_t n);

/* Row t of the current chunk's embeddings (f16 [d]). */
static inline const uint16_t *bn_model_embedding_row(const bn_model *m, const int32_t *tokens, int64_t t) {
    return m->embd_file ? m->embd_rows + t * m->dm.d : m->tok_embd + (int64_t)tokens[t] * m->dm.d;
}

/* ---- model_matmul.c ---- */

/* Up to three ternary matmuls sharing one int8 activation set q [n_tokens, k] run as one pool
 * job over their output rows: y[p][t * y_stride[p] + r] for r in [0, w[p]->m). */
void bn_model_ternary(bn_model *m, int n_parts, const model_ternary *const *w,
                      float *const *y, const int64_t *y_stride, const int8_t *q,
                      const float *scales, const int32_t *sums, int64_t n_tokens);

/* The output head over n_rows head-input rows (exact mode: m->xn as f16-rounded f32; fast mode:
 * m->q8 / q8_scales), logits row t at logits + t * vocab. */
void bn_model_head(bn_model *m, int64_t n_rows, float *logits);

/* ---- attention.c ---- */

/* Causal attention of chunk tokens [0, n_tokens) at positions pos.. for one layer: reads m->qh
 * and the KV cache (this chunk's K/V already stored), writes m->att. */
void bn_model_attention(bn_model *m, int64_t layer, int64_t n_tokens, int64_t pos);

/* The f16 round trip of one value (round to nearest even, back to f32). Values whose result is
 * a normal f16 (2^-14 <= |v| < 65520) take a branch-free path: drop 13 mantissa bits with
 * round-half-even directly in the f32 encoding (same result as converting to f16 and back). */
static inline float bn_round_f16(float v) {
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    const uint32_t a = u & 0x7fffffffu;
    if (a >= 0x38800000u && a < 0x477ff000u) {
        u = (u + 0xfffu + ((u >> 13) & 1u)) & ~0x1fffu;
        memcpy(&v, &u, sizeof v);
        return v;
    }
    return bn_f16_to_f32_scalar(bn_f32_to_f16_scalar(v));
}

#endif /* BN_MODEL_H */
