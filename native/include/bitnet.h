/*
 * bitnet.h: public C API of libbitnet, the ternary kernel library of BitNet Desktop.
 *
 * Everything between the BN_CDEF markers is read verbatim by the Python binding (cffi cdef), so
 * that block holds only declarations cffi understands: no preprocessor conditionals, no macros
 * other than plain integer #defines, and BN_API (removed by the binding before parsing).
 *
 * Contract: no function exits, aborts or prints. Every function that can fail returns a bn_status
 * and checks every size, count and buffer length it is given. Buffers are row-major, little-endian.
 */
#ifndef BITNET_H
#define BITNET_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#  define BN_API __declspec(dllexport)
#else
#  define BN_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* BN_CDEF_BEGIN */
#define BN_ABI_VERSION 5

typedef enum {
    BN_OK = 0,
    BN_ERR_NULL_POINTER = 1,       /* a required pointer was NULL */
    BN_ERR_BAD_SHAPE = 2,          /* a dimension is <= 0, or K is not a multiple of the block size */
    BN_ERR_BUFFER_TOO_SMALL = 3,   /* a buffer length is smaller than its shape needs */
    BN_ERR_KERNEL_UNAVAILABLE = 4, /* the kernel variant is not compiled in or the CPU lacks it */
    BN_ERR_OUT_OF_MEMORY = 5,
    BN_ERR_CANCELLED = 6,          /* the context's cancel flag was raised */
    BN_ERR_THREADS = 7,            /* thread count out of range, or a thread could not start */
    BN_ERR_BAD_VALUE = 8           /* a value is out of its allowed range (e.g. int8 weight -128) */
} bn_status;

/* Kernel variants. One build carries every variant of its architecture; the CPU probe decides
 * which may run. */
typedef enum {
    BN_KERNEL_REF = 0,      /* portable scalar reference: the definition of correct */
    BN_KERNEL_AVX2 = 1,     /* x86-64 AVX2 + FMA + F16C */
    BN_KERNEL_AVX512 = 2,   /* x86-64 AVX-512 F/BW/VL + VNNI (+ FMA, F16C) */
    BN_KERNEL_NEON = 3,     /* AArch64 Advanced SIMD */
    BN_KERNEL_DOTPROD = 4,  /* AArch64 Advanced SIMD + dot product (sdot) */
    BN_KERNEL_COUNT = 5
} bn_kernel;

/* CPU feature bits returned by bn_cpu_features(). x86 AVX / AVX-512 bits are set only when the
 * operating system has enabled the matching register state (XGETBV), not merely when CPUID
 * reports the instructions. */
#define BN_CPU_SSSE3 1
#define BN_CPU_AVX 2
#define BN_CPU_AVX2 4
#define BN_CPU_FMA 8
#define BN_CPU_F16C 16
#define BN_CPU_AVX512F 32
#define BN_CPU_AVX512BW 64
#define BN_CPU_AVX512VL 128
#define BN_CPU_AVX512VNNI 256
#define BN_CPU_AVXVNNI 512
#define BN_CPU_NEON 1024
#define BN_CPU_DOTPROD 2048
#define BN_CPU_I8MM 4096
#define BN_CPU_FEATURE_COUNT 13

#define BN_I2S_BLOCK 128        /* weights per I2_S block (32 bytes) */
#define BN_I2S_TAIL_BYTES 32    /* per-tensor tail after the packed codes; bytes 0..3 = alpha (f32 LE) */

typedef struct bn_ctx bn_ctx;

/* ---- library identity and CPU ---- */
BN_API int bn_abi_version(void);
BN_API const char *bn_version_string(void);
BN_API const char *bn_status_string(int status);
BN_API uint32_t bn_cpu_features(void);
BN_API const char *bn_cpu_feature_name(int bit_index);       /* bit_index in [0, BN_CPU_FEATURE_COUNT) */
BN_API const char *bn_cpu_arch(void);                        /* "x86_64", "aarch64" or "other" */
BN_API void bn_cpu_brand(char *out, size_t out_len);         /* NUL-terminated, may be "" */
BN_API const char *bn_kernel_name(int kernel);               /* "ref", "avx2", ... or NULL */
BN_API int bn_kernel_compiled(int kernel);                   /* 1 if this build carries it */
BN_API int bn_kernel_supported(int kernel);                  /* 1 if compiled and the CPU can run it */
BN_API int bn_kernel_best(void);                             /* the fastest supported variant */

/* ---- context: kernel choice + persistent thread pool + cancel flag ----
 * One context runs one operation at a time (calls from several threads are serialised).
 * bn_ctx_cancel may be called from any thread at any time; operations started while the flag is
 * raised return BN_ERR_CANCELLED until bn_ctx_clear_cancel. */
BN_API int bn_ctx_create(int n_threads, int kernel, bn_ctx **out);
BN_API void bn_ctx_free(bn_ctx *ctx);
BN_API int bn_ctx_set_threads(bn_ctx *ctx, int n_threads);
BN_API int bn_ctx_threads(const bn_ctx *ctx);
BN_API int bn_ctx_set_kernel(bn_ctx *ctx, int kernel);
BN_API int bn_ctx_kernel(const bn_ctx *ctx);
BN_API void bn_ctx_cancel(bn_ctx *ctx);
BN_API void bn_ctx_clear_cancel(bn_ctx *ctx);
BN_API int bn_ctx_cancelled(const bn_ctx *ctx);

/* ---- activation quantization (docs/numerics.md#activation-quantization), per row of x[n_rows, k] ----
 * amax = max(1e-5, max|x|) in double; s = (float)(127/amax); q = clamp(rne(x*s), -128, 127);
 * scales[r] = s, sums[r] = sum of q over the row. */
BN_API int bn_quantize_activations(bn_ctx *ctx, const float *x, int64_t n_rows, int64_t k,
                                   int8_t *q, size_t q_len, float *scales, int32_t *sums);

/* ---- ternary matmul on I2_S weights ----
 * w: I2_S bytes of a [m, k] weight (m*k/4 code bytes then a 32-byte tail), w_len its length.
 * q: [n_tokens, k] int8, scales/sums: [n_tokens] from bn_quantize_activations.
 * y: [n_tokens, m] float, y[t*m + r] = (float)(D - S_q) / scale[t] * alpha, where D = sum of
 * code*q in exact int32 and alpha = the f32 at byte m*k/4 of w. k must be a multiple of 128. */
BN_API int bn_i2s_matmul(bn_ctx *ctx, const uint8_t *w, size_t w_len, int64_t m, int64_t k,
                         const int8_t *q, size_t q_len, const float *scales, const int32_t *sums,
                         int64_t n_tokens, float *y, size_t y_len);

/* ---- output head, exact mode: f16 weights [m, k] times f32 activations [n_tokens, k] ----
 * Products are accumulated with fused multiply-add into 32 lane sums (lane = k mod 32), then the
 * lanes are added pairwise (j += j+16, j += j+8, +4, +2, +1). k must be a multiple of 32. */
BN_API int bn_f16_matmul(bn_ctx *ctx, const uint16_t *w, size_t w_len, int64_t m, int64_t k,
                         const float *x, size_t x_len, int64_t n_tokens, float *y, size_t y_len);

/* ---- output head, fast mode: int8 weights [m, k] with one f32 scale per row ----
 * y[t*m + r] = (float)D / scale[t] * w_scales[r], D = exact int32 dot of w row r and q row t.
 * Weights must lie in [-127, 127] (bn_quantize_rows_i8 produces that). k multiple of 32. */
BN_API int bn_i8_matmul(bn_ctx *ctx, const int8_t *w, size_t w_len, const float *w_scales,
                        int64_t m, int64_t k, const int8_t *q, size_t q_len, const float *scales,
                        int64_t n_tokens, float *y, size_t y_len);

/* Per-row symmetric int8 quantization of f16 rows (for the fast head): amax = max|w| over the
 * finite values (f32), out = rne(w * (127 / amax)) clamped to [-127, 127], row_scales[r] =
 * amax / 127 (rows of zeros give 0 and zeros). The multiply (not a divide per element) is part of
 * the definition: results at rounding ties depend on it. */
BN_API int bn_quantize_rows_i8(bn_ctx *ctx, const uint16_t *w, size_t w_len, int64_t m, int64_t k,
                               int8_t *out, size_t out_len, float *row_scales);

/* ---- I2_S packing (docs/file-formats.md#i2_s) ----
 * t: ternary int8 [m, k] with values in {-1, 0, 1}; out gets m*k/4 + 32 bytes (tail: alpha then
 * 28 zero bytes). unpack decodes codes 0/1/2/3 to -1/0/+1/0 and returns alpha. */
BN_API size_t bn_i2s_nbytes(int64_t m, int64_t k);
BN_API int bn_i2s_pack(const int8_t *t, size_t t_len, int64_t m, int64_t k, float alpha,
                       uint8_t *out, size_t out_len);
BN_API int bn_i2s_unpack(const uint8_t *w, size_t w_len, int64_t m, int64_t k,
                         int8_t *t, size_t t_len, float *alpha);

/* ---- f16 conversion (IEEE binary16, round to nearest even) ---- */
BN_API int bn_f32_to_f16(const float *x, uint16_t *out, size_t n);
BN_API int bn_f16_to_f32(const uint16_t *x, float *out, size_t n);

/* ---- memory read bandwidth: every thread of ctx reads its share of a `bytes` buffer with the
 * context's kernel variant, `repeats` times; *gbps = best pass, in 1e9 bytes per second. */
BN_API int bn_measure_read_bandwidth(bn_ctx *ctx, size_t bytes, int repeats, double *gbps);
/* ---- benchmark support: runs `iterations` matmuls of one kind natively (no Python between
 * calls), cycling through n_weights weight buffers of the same shape so that a working set larger
 * than the caches is streamed from memory. Activations are seeded pseudo-random rows quantized
 * with the context's kernel. kind: BN_BENCH_I2S (weights: I2_S bytes), BN_BENCH_F16 (f16 [m, k]),
 * BN_BENCH_I8 (int8 [m, k]; w_scales: n_weights pointers to m row scales, else may be NULL).
 * w_len is the element count of every weight buffer. *seconds = wall time of all iterations. */
#define BN_BENCH_I2S 0
#define BN_BENCH_F16 1
#define BN_BENCH_I8 2
BN_API int bn_bench_matmul(bn_ctx *ctx, int kind, const void *const *weights, size_t w_len,
                           const float *const *w_scales, int64_t n_weights, int64_t m, int64_t k,
                           int64_t n_tokens, int64_t iterations, double *seconds);
/* ==== model: the whole BitNet b1.58 forward pass in one call (docs/numerics.md) ====
 *
 * A bn_model holds pointers to the caller's weights, its own F16 KV cache and scratch buffers
 * sized once at creation. bn_model_forward runs every layer of a token chunk on the context's
 * thread pool (one lock acquisition per call, no allocation per call) and writes logits.
 *
 * Ownership: every weight pointer given to bn_model_create must stay valid and unchanged until
 * bn_model_free (a memory-mapped GGUF file or arrays the caller keeps alive), except where the
 * model has stopped reading it: tok_embd once bn_model_embedding_from_file succeeds (see there);
 * output in BN_HEAD_I8 mode (it serves only to build the int8 head) and a Q8_0 / Q6_K head table
 * in BN_HEAD_F16 mode (decoded into the model's own f16 copy; tok_embd too when tied) once
 * bn_model_create returns. The model never frees them. The context must outlive the model; the
 * model computes with the context's current thread count and kernel variant, and serialises with
 * its other operations.
 *
 * Buffer lengths are element counts of the buffer's own type (bytes for I2_S data and for Q8_0 /
 * Q6_K tables, uint16 for f16, floats for f32) and must equal what the shape needs exactly.
 *
 * Numerics (what the tests' NumPy reference implements):
 *  - embedding row f16 -> f32 (exact); a Q8_0 / Q6_K table is decoded to f16 first (see
 *    BN_GGML_Q8_0 below), so it gives the results of an F16 table holding the decoded values;
 *  - RMSNorm: sum of the f32 squares accumulated in double (4 partial sums), mean cast to float,
 *    scale = 1/sqrtf(mean + eps), y = (x * scale) * gain as two f32 multiplies;
 *  - BitLinear: per-token int8 activations (docs/numerics.md#activation-quantization) shared by q/k/v and by gate/up,
 *    exact integer dot, y = (float)(D - S_q) / s * alpha, then * scale when scale != 1;
 *  - sub-norms: with attn_sub_norm / ffn_sub_norm (bitnet archs) the attention output and the
 *    gated FFN product are RMS-normed before their BitLinear; without them (arch llama: every
 *    layer passes NULL) they are quantized as they are;
 *  - RoPE over pairs (i, i + head_dim/2) (BN_ROPE_NEOX: bitnet archs) or (2i, 2i + 1)
 *    (BN_ROPE_NORMAL: arch llama, whose converter permuted the Q/K rows), angles theta_0 = pos,
 *    theta_{i+1} = theta_i * beta, beta = powf(rope_theta, -2/head_dim), pair i rotated by
 *    theta_i / rope_freqs[i] when the file has rope_freqs (llama.cpp's freq factors), cosf/sinf, f32;
 *  - attention as bitnet.cpp computes it: K and V stored as F16, Q rounded to F16, scores
 *    accumulated in f32 by the context's f16 kernel (32 lanes), s * (1/sqrtf(head_dim)),
 *    max-subtracted expf with the sum in double (4 partial sums), p = e * (float)(1/sum), p
 *    rounded to F16,
 *    output = sum of p * V in f32: per block of 128 positions by the same kernel, block sums
 *    added in position order; GQA: head h reads KV head h / (n_heads / n_kv_heads);
 *  - ReLU2: r = max(g, 0), (r * r) * up; SiLU: g / (1 + expf(-g)) * up; residual adds in f32;
 *  - head, BN_HEAD_F16: final norm output rounded to F16, times the f16 head, f32 accumulation
 *    (bitnet.cpp parity); BN_HEAD_I8: final norm output quantized per token (A.3) times an int8
 *    copy of the head made at creation as bn_quantize_rows_i8 makes it from the f16 rows (per-row
 *    scale; rows of a Q8_0 / Q6_K table are decoded to f16 one at a time, no f16 table is made);
 *    a token whose final norm output holds NaN or infinity gets NaN logits, as the f16 head gives.
 * The results do not depend on the thread count or on how a prompt is split into chunks or
 * calls: batched prompt processing and token-by-token processing give bit-identical logits.
 *
 * KV cache layout (F16, zero-initialised, allocated at creation):
 *   K: [n_layers][n_kv_heads][ctx_alloc][hd_pad]   (hd_pad = head_dim rounded up to 32, zero pad)
 *   V: [n_layers][n_kv_heads][ctx_alloc/128][head_dim][128] (transposed within blocks of 128
 *      positions: one block of one KV head is a contiguous [head_dim][128] tile)
 *   ctx_alloc = max_context rounded up to 128. Bytes = 2 * n_layers * n_kv_heads * ctx_alloc *
 *   (hd_pad + head_dim); 2B-4T: 76,800 B per position (300 MiB at 4096).
 */
#define BN_ERR_WEIGHT_SIZE 20   /* a weight buffer's length differs from what its shape needs */
#define BN_ERR_TOKEN_RANGE 21   /* a token id is outside [0, vocab) */
#define BN_ERR_POSITION 22      /* pos (or a truncation length) is negative or past the cached positions */
#define BN_ERR_CONTEXT_FULL 23  /* pos + n_tokens would exceed the model's max_context */
#define BN_ERR_IO 24            /* a file could not be opened or read */

#define BN_ACT_RELU2 0          /* relu(gate)^2 * up: arch bitnet-b1.58 / bitnet-25 (2B-4T) */
#define BN_ACT_SILU 1           /* silu(gate) * up: arch bitnet (1bitLLM) */
#define BN_HEAD_F16 0           /* exact head: f16 weights x f16-rounded activations */
#define BN_HEAD_I8 1            /* fast head: int8 per-row copy built at creation (vocab*d bytes + 4*vocab) */
#define BN_ROPE_NEOX 0          /* RoPE pairs (i, i + head_dim/2): bitnet, bitnet-b1.58, bitnet-25 */
#define BN_ROPE_NORMAL 1        /* RoPE pairs (2i, 2i + 1): llama (Q/K rows permuted by the converter) */
#define BN_LOGITS_LAST 0        /* logits of the last token only: logits[vocab] */
#define BN_LOGITS_ALL 1         /* logits of every token: logits[n_tokens][vocab] (perplexity) */
#define BN_LOGITS_NONE 2        /* no logits (fill the KV cache only); logits may be NULL */

#define BN_MODEL_MAX_LAYERS 1024
#define BN_MODEL_MAX_DIM 65536        /* d_model, d_ffn */
#define BN_MODEL_MAX_HEAD_DIM 1024
#define BN_MODEL_MAX_VOCAB 16777216
#define BN_MODEL_MAX_CONTEXT 4194304
#define BN_MODEL_MAX_BATCH 65536

typedef struct bn_model bn_model;

/* ggml type ids of the token_embd / output tables the model takes (bn_model_config) and of the
 * token_embd tables bn_model_embedding_from_file can read. Row layouts (little-endian, blocks back
 * to back; docs/file-formats.md#embedding-tables-f16-q8_0-q6_k): */
#define BN_GGML_F16 1           /* d * 2 bytes per row */
#define BN_GGML_Q8_0 8          /* d/32 blocks of 34 bytes: f16 scale, int8 q[32]; value = scale * q */
#define BN_GGML_Q6_K 14         /* d/256 blocks of 210 bytes: ql[128], qh[64], int8 sc[16], f16 scale */
/* A Q8_0 / Q6_K value is decoded in f32 as ggml does (scale * q; Q6_K: scale * sub-block scale *
 * q), then rounded to f16 to nearest even. */

typedef struct {
    int32_t n_layers;
    int32_t d_model;      /* must equal n_heads * head_dim; multiple of 128 */
    int32_t n_heads;
    int32_t n_kv_heads;   /* divides n_heads */
    int32_t head_dim;     /* even (RoPE pairs) */
    int32_t d_ffn;        /* multiple of 128 */
    int32_t vocab;
    float rope_theta;     /* > 0, finite */
    float rms_eps;        /* > 0, finite */
    int32_t activation;   /* BN_ACT_* */
    int32_t head_mode;    /* BN_HEAD_* */
    int32_t max_context;  /* KV cache length in positions */
    int32_t max_batch;    /* tokens per internal chunk (scratch size); e.g. 128 */
    int32_t tok_embd_type; /* BN_GGML_F16, _Q8_0 or _Q6_K: how tok_embd stores its rows (Q6_K
                              needs d_model a multiple of 256) */
    int32_t output_type;  /* the same for output; equal to tok_embd_type when tied (output NULL) */
    int32_t rope_style;   /* BN_ROPE_NEOX or BN_ROPE_NORMAL */
    const float *rope_freqs; /* head_dim/2 finite divisors > 0 of the RoPE angles (llama.cpp's
                                rope_freqs.weight), or NULL for none; copied at creation */
    int32_t rope_freqs_len;  /* head_dim/2 when rope_freqs is set, else 0 */
} bn_model_config;

/* One ternary [m, k] weight: I2_S bytes (m*k/4 codes + 32-byte tail with alpha, docs/file-formats.md#i2_s),
 * len == m*k/4 + 32, and an extra output multiplier (the bitnet arch's `*.scale` tensor): pass
 * 1.0f when there is none (0 and non-finite values are refused). */
typedef struct {
    const uint8_t *data;
    size_t len;
    float scale;
} bn_ternary_weight;

/* One layer; GGUF names blk.{i}.<field>.weight. Shapes [out, in] with d = d_model, f = d_ffn,
 * kv = n_kv_heads * head_dim: norms f32 attn_norm[d], attn_sub_norm[d], ffn_norm[d],
 * ffn_sub_norm[f]; attn_q [d, d], attn_k [kv, d], attn_v [kv, d], attn_output [d, d],
 * ffn_gate [f, d], ffn_up [f, d], ffn_down [d, f]. The two sub-norms are NULL (length 0) in
 * every layer of a graph without them (arch llama), else set in every layer. */
typedef struct {
    const float *attn_norm;     size_t attn_norm_len;
    const float *attn_sub_norm; size_t attn_sub_norm_len;
    const float *ffn_norm;      size_t ffn_norm_len;
    const float *ffn_sub_norm;  size_t ffn_sub_norm_len;
    bn_ternary_weight attn_q, attn_k, attn_v, attn_output, ffn_gate, ffn_up, ffn_down;
} bn_layer_weights;

/* Validates the configuration and every buffer (null pointers, exact lengths, finite gains,
 * alphas and scales, overflow-free sizes), then allocates the KV cache and scratch and, on the
 * context's threads, builds what the head needs: in BN_HEAD_I8 mode the int8 head (BN_ERR_BAD_VALUE
 * naming the first row of the table that holds NaN or infinity as f16; one pass over
 * the head table, 1.4 s for 2B-4T's 656 MB f16 head on one core, divided by the thread count; it
 * allocates vocab*d + 4*vocab bytes, 328 MB for 2B-4T); in BN_HEAD_F16 mode with a Q8_0 / Q6_K
 * head table, its f16 decode (vocab*d*2 bytes, bn_model_decoded_head_bytes).
 * tok_embd: [vocab, d] stored as cfg->tok_embd_type, tok_embd_len = vocab*d f16 values, or for
 * Q8_0 / Q6_K vocab * (bytes of a row) bytes; output: the same as cfg->output_type, or NULL when
 * tied to tok_embd; output_norm: f32 [d]. Rows of a Q8_0 / Q6_K tok_embd are decoded per token.
 * On failure *out is NULL and, when error is not NULL, a NUL-terminated message naming the
 * offending field is written to error[0..error_len). */
BN_API int bn_model_create(bn_ctx *ctx, const bn_model_config *cfg,
                           const bn_layer_weights *layers, int64_t n_layers,
                           const void *tok_embd, size_t tok_embd_len,
                           const void *output, size_t output_len,
                           const float *output_norm, size_t output_norm_len,
                           char *error, size_t error_len, bn_model **out);
BN_API void bn_model_free(bn_model *m);

/* Runs tokens[0..n_tokens) at positions pos..pos+n_tokens-1. pos must be <= bn_model_kv_length:
 * a smaller pos first drops the cached positions >= pos (KV prefix reuse). Prompts are processed
 * in chunks of max_batch tokens with batched matmuls. logits_mode BN_LOGITS_LAST needs
 * logits_len >= vocab, BN_LOGITS_ALL >= n_tokens * vocab, BN_LOGITS_NONE ignores logits.
 * Every argument is checked before anything changes. The cancel flag is checked between layers:
 * BN_ERR_CANCELLED leaves the cache holding the chunks that completed (bn_model_kv_length says
 * how many positions), the logits buffer then has unspecified contents. */
BN_API int bn_model_forward(bn_model *m, const int32_t *tokens, int64_t n_tokens, int64_t pos,
                            float *logits, size_t logits_len, int logits_mode);

/* Makes the model read embedding rows from a file (token_embd's table at byte `offset` of `path`,
 * UTF-8, stored as ggml type `type`: BN_GGML_F16, _Q8_0 or _Q6_K, decoded as above) with
 * positional reads instead of from the tok_embd pointer. Checks the type (another one, or a d
 * that is not a multiple of its block, is BN_ERR_BAD_VALUE), the file's size, and that its first
 * and last rows decode to what the model reads now (tok_embd, or the previous file): a wrong path,
 * offset or type is BN_ERR_BAD_VALUE and changes nothing. Results are unchanged. Afterwards the
 * model never reads the tok_embd pointer again; only a tied BN_HEAD_F16 head over an F16 table
 * keeps reading that table. So for a mapped table the caller can release its pages (only the
 * int8 head stays resident) and a converted private copy can be freed. A read failure during a
 * forward call returns BN_ERR_IO with the cache holding the chunks that completed. */
BN_API int bn_model_embedding_from_file(bn_model *m, const char *path, uint64_t offset, int type,
                                        char *error, size_t error_len);

BN_API int64_t bn_model_kv_length(const bn_model *m);           /* cached positions, -1 if m is NULL */
BN_API int bn_model_truncate(bn_model *m, int64_t n_positions); /* keep positions [0, n) */
BN_API int bn_model_get_config(const bn_model *m, bn_model_config *out); /* rope_freqs: the model's copy */
BN_API int bn_model_has_sub_norms(const bn_model *m); /* 1 (bitnet graph), 0 (llama graph), -1 if m is NULL */

/* Memory the model allocated (bytes): KV cache, scratch (chunk buffers + per-thread attention
 * buffers), int8 head (0 in BN_HEAD_F16 mode), f16 head decoded from a Q8_0 / Q6_K head table
 * (BN_HEAD_F16 mode only, else 0). Weights are the caller's and not counted. */
BN_API uint64_t bn_model_kv_bytes(const bn_model *m);
BN_API uint64_t bn_model_scratch_bytes(const bn_model *m);
BN_API uint64_t bn_model_head_bytes(const bn_model *m);
BN_API uint64_t bn_model_decoded_head_bytes(const bn_model *m);
/* The same four numbers for a configuration before creating a model (n_threads: the context's
 * thread count); validates cfg like bn_model_create. Any output pointer may be NULL. */
BN_API int bn_model_memory_estimate(const bn_model_config *cfg, int n_threads,
                                    uint64_t *kv_bytes, uint64_t *scratch_bytes,
                                    uint64_t *head_bytes, uint64_t *decoded_head_bytes);
/* BN_CDEF_END */

#ifdef __cplusplus
}
#endif

#endif /* BITNET_H */
