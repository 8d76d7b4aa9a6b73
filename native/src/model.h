/*
 * model.h: the bn_model object (see bitnet.h, "model") shared by model.c (creation, validation,
 * memory facts), model_head.c (the int8 head or decoded f16 head built at creation),
 * model_embedding.c (where embedding rows come from), model_forward.c (the layer loop),
 * model_matmul.c (row-parallel matmul jobs) and attention.c (causal GQA attention over the F16
 * KV cache).
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
    const float *attn_norm, *attn_sub_norm, *ffn_norm, *ffn_sub_norm; /* [d], [d], [d], [f]; the
                                                 sub-norms NULL in a graph without them (llama) */
    model_ternary wq, wk, wv, wo, gate, up, down;
} model_layer;

/* A token_embd or output table as the caller stores it. */
typedef struct {
    const uint8_t *data;  /* rows [vocab][row_bytes] (caller's memory) */
    int type;             /* BN_GGML_F16, _Q8_0 or _Q6_K */
    uint64_t row_bytes;   /* bn_embedding_row_bytes(type, d) */
} model_table;

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
    uint64_t decoded_head_bytes; /* f16 decode of a Q8_0 / Q6_K head table (BN_HEAD_F16), else 0 */
    uint64_t embd_row_bytes;   /* one stored row of tok_embd as cfg.tok_embd_type */
    uint64_t head_row_bytes;   /* one stored row of output as cfg.output_type */
} model_dims;

struct bn_model {
    bn_ctx *ctx;
    bn_model_config cfg;
    model_dims dm;
    model_layer *layers;        /* [n_layers], pointers into the caller's weights */
    /* Embedding rows come from tok_embd when it is set, else they are decoded per chunk into
     * embd_rows from embd_file when set, else from embd_q. */
    const uint16_t *tok_embd;   /* f16 [vocab, d]: the caller's F16 table, or head_decoded when
                                   tied; NULL for a Q8_0 / Q6_K table and once embd_file is set */
    const uint8_t *embd_q;      /* the caller's Q8_0 / Q6_K tok_embd rows [vocab][embd_row_bytes];
                                   NULL for an F16 table and once embd_file is set */
    const uint16_t *head_f16;   /* BN_HEAD_F16: f16 [vocab, d] the head streams: the caller's F16
                                   output (or tok_embd when tied), or head_decoded. NULL in
                                   BN_HEAD_I8 mode (the head table served only the int8 build) */
    uint16_t *head_decoded;     /* BN_HEAD_F16 with a Q8_0 / Q6_K head table: its f16 decode
                                   [vocab, d] (owned), else NULL */
    const float *output_norm;   /* [d] (caller's) */
    int8_t *head_i8;            /* BN_HEAD_I8: int8 [vocab, d] (owned) */
    float *head_i8_scales;      /* BN_HEAD_I8: [vocab] per-row scales (owned) */
    bn_file *embd_file;         /* when set (bn_model_embedding_from_file), embedding rows are read
                                   from this file (owned) */
    uint64_t embd_offset;       /* byte offset of token_embd in embd_file */
    int embd_type;              /* BN_GGML_F16 / _Q8_0 / _Q6_K: how embd_file or embd_q stores a row */
    uint64_t embd_row_bytes;    /* bytes of one stored row (embedding_rows.h) */
    uint16_t *embd_rows;        /* [B, d] f16: the rows decoded for the current chunk, then one
                                   stored row's bytes (embd_raw), in one allocation (owned) */
    uint8_t *embd_raw;          /* [embd_row_bytes]: the file row being decoded, inside embd_rows' block */

    uint16_t *k_cache;          /* f16 [n_layers][n_kv][ctx_alloc][hd_pad] */
    uint16_t *v_cache;          /* f16 [n_layers][n_kv][ctx_alloc / V_BLOCK][hd][V_BLOCK]:
                                   transposed within blocks of positions */
    volatile int64_t n_past;    /* positions [0, n_past) hold valid K/V (atomic reads) */

    float rope_beta;            /* powf(rope_theta, -2/head_dim) */
    float *rope_freqs;          /* [hd/2] divisors of the RoPE angles (owned copy), or NULL */
    int has_sub_norms;          /* 1: attn/ffn sub-norms before wo / ffn_down (bitnet); 0: llama */
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

/* ---- model_head.c ---- */

/* Builds, on the context's threads, what the head needs from table t: the int8 head (BN_HEAD_I8,
 * into m->head_i8 / head_i8_scales, allocated by the caller) or, for a Q8_0 / Q6_K table in
 * BN_HEAD_F16 mode, m->head_decoded (allocated here). BN_OK, BN_ERR_OUT_OF_MEMORY,
 * BN_ERR_CANCELLED, or BN_ERR_BAD_VALUE when a row of the int8 head's table holds NaN or
 * infinity as f16 (*bad_row: the first such row). */
int bn_model_build_head(bn_model *m, const model_table *t, int64_t *bad_row);

/* ---- model_embedding.c ---- */

/* Makes a new model read embedding rows from table t: an F16 table in place, a Q8_0 / Q6_K one
 * decoded per token into a row buffer allocated here. BN_OK or BN_ERR_OUT_OF_MEMORY. */
int bn_model_embedding_from_table(bn_model *m, const model_table *t);

/* Unless tok_embd is set, decodes the rows of tokens[0..n) (ids already checked) into
 * m->embd_rows from the file or embd_q (BN_ERR_IO when the file cannot be read). */
int bn_model_read_embedding_rows(bn_model *m, const int32_t *tokens, int64_t n);

/* Row t of the current chunk's embeddings (f16 [d]). */
static inline const uint16_t *bn_model_embedding_row(const bn_model *m, const int32_t *tokens, int64_t t) {
    return m->tok_embd ? m->tok_embd + (int64_t)tokens[t] * m->dm.d : m->embd_rows + t * m->dm.d;
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
