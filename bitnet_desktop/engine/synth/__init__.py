"""Deterministic synthetic BitNet b1.58 models in the exact on-disk formats, so tests and benchmarks
never download anything.

    from bitnet_desktop.engine.synth import write_synthetic_model, SyntheticModel
    write_synthetic_model(path, shape="tiny", fmt="i2_s", arch=None, seed=0, **overrides) -> Path
    m = SyntheticModel("tiny", "tq2_0", arch="bitnet-b1.58", seed=0)
    T, alpha = m.ternary("blk.0.attn_q.weight")     # ground truth, identical in every format
    m.decoded("token_embd.weight")                   # float32 values as a reader decodes them
    m.layout()                                       # sizes and offsets, without generating data

Keyword arguments: `embedding_type` (f16 | f32 | bf16 | q8_0 | q6_k), `tokenizer` (gpt2 | llama),
`scales` (bool), and any `SynthShape` field as an override (`tied=False`, `n_layer=1`, ...).
CLI: `bitnet-desktop synth --shape S --format F [--arch A] [--seed N] [--embedding-type T]
[--tokenizer gpt2|llama] [--scales] [--untied] OUT.gguf` (`synth.cli.main_synth(argv)`).

Shapes (`shapes.SHAPES`; d, ffn, layers, heads, KV heads, head_dim, vocab, ctx):
    tiny         256,  512,  2,  4, 2,  64,   1024,  512   (GQA 2)
    tiny-mha     256,  512,  2,  4, 4,  64,   1024,  512   (H == Hkv)
    tiny-untied  like tiny, with a separate output.weight
    small        512, 1536,  3,  8, 2,  64,   2048, 1024   (GQA 4)
    2b4t        2560, 6912, 30, 20, 5, 128, 128256, 4096   (BitNet-b1.58-2B-4T,
    docs/architectures.md#2b-4t-hyperparameters)
All use rope theta 500000 and RMS eps 1e-5. Arch `llama` shapes (untied F16 output, default arch llama):
    tiny-llama   256,  512,  2,  4, 2,  64,   1024,  512   (theta 500000, pre llama-bpe, no template)
    falcon3-1b  2048, 8192, 18,  8, 4, 256, 131072, 8192   (theta 1000042, eps 1e-6, pre falcon3)
    falcon-e-3b 2304, 9216, 32,  9, 3, 256,  32768, 32768  (theta 100000, pre falcon_e)
    llama3-8b   4096, 14336, 32, 32, 8, 128, 128256, 8192  (theta 500000, pre llama-bpe, no template)
Sources are in shapes.py.

Formats and architectures (`fmt`, default `arch`):
    i2_s   -> bitnet-b1.58   bitnet.cpp's file: I2_S weights (alpha in the tail, random bytes 4..31)
    tq2_0  -> bitnet         llama.cpp's file: TQ2_0 weights, every block d = alpha
    tq1_0  -> bitnet         llama.cpp's file: TQ1_0 weights, every block d = alpha
    f16    -> bitnet         alpha*T as F16 (flavour (b) of docs/file-formats.md#ternary-weights-in-other-files)
`arch` may be `bitnet-b1.58` / `bitnet-25` (ReLU² graph, bitnet.cpp metadata layout), `bitnet`
(SiLU graph, llama.cpp layout) or `llama` (bitnet.cpp's LlamaModel converter: no sub-norms, Q/K rows
permuted, llama.* keys, the shape's `tokenizer.ggml.pre`, Falcon3's template for falcon shapes) with
any format. Same seed => same T and alpha in every format
(alpha = k/1024 in [0.25, 2), exact in f16), same norms and embeddings. With `scales=True`
the weights are sign-only (alpha 1) and each is followed by an F32 [1] `blk.N.<proj>.scale`
holding alpha (flavour (a)). Tensor list and order: see `model.py`.

Metadata written — bitnet.cpp layout (arch A = bitnet-b1.58 or bitnet-25), exactly these 24 keys
in this order (docs/file-formats.md#metadata-keys-the-engine-reads), no `tokenizer.ggml.pre`, no `general.alignment`:
    general.architecture str A;  general.name str "synthetic-<shape>"
    A.vocab_size u32, A.context_length u32, A.embedding_length u32, A.block_count u32,
    A.feed_forward_length u32, A.rope.dimension_count u32 (= head_dim),
    A.attention.head_count u32, A.attention.head_count_kv u32
    tokenizer.ggml.add_bos_token bool true
    A.attention.layer_norm_rms_epsilon f32, A.rope.freq_base f32
    general.file_type u32 (i2_s 40, tq1_0 36, tq2_0 37, f16 1)
    tokenizer.ggml.model str "gpt2"
    tokenizer.ggml.tokens arr[str], tokenizer.ggml.scores arr[f32] (all 0.0),
    tokenizer.ggml.token_type arr[i32], tokenizer.ggml.merges arr[str]
    tokenizer.ggml.bos_token_id u32, tokenizer.ggml.eos_token_id u32,
    tokenizer.ggml.padding_token_id u32 (= eos)
    tokenizer.chat_template str: convert-ms-to-gguf-bitnet.py's placeholder, verbatim:
        {% for message in messages %}{% if loop.first %}{{ bos_token }}{% endif %}{% if
        message['role'] == 'user' %}{{ 'Human: ' + message['content'] + '\\n\\nBITNETAssistant: '
        + eos_token }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token }}
        {% endif %}{% endfor %}      (one line; \\n are backslash-n inside the Jinja string literal)
    general.quantization_version u32 2

Metadata written — llama.cpp layout (arch bitnet), in this order:
    general.architecture "bitnet", general.name, bitnet.vocab_size, bitnet.context_length,
    bitnet.embedding_length, bitnet.feed_forward_length, bitnet.block_count,
    bitnet.attention.head_count, bitnet.attention.head_count_kv (all u32),
    bitnet.rope.freq_base f32, bitnet.attention.layer_norm_rms_epsilon f32,
    bitnet.rope.dimension_count u32, bitnet.rope.scaling.type str "linear",
    bitnet.rope.scaling.factor f32 1.0, general.file_type u32, general.quantization_version u32 2,
    tokenizer.ggml.model str, then
    for "gpt2": tokenizer.ggml.pre str "llama-bpe", tokens, token_type, merges (NO scores),
        bos_token_id u32, eos_token_id u32, add_bos_token bool true, tokenizer.chat_template =
        the training format of docs/chat-formats.md#2b-4t-training-format:
        {{ bos_token }}{% for message in messages %}{{ message['role'] | capitalize }}:
        {{ message['content'] | trim }}<|eot_id|>{% endfor %}{% if add_generation_prompt %}Assistant: {% endif %}
        (one line; a single space after "}}:" )
    for "llama": tokens, scores, token_type, bos_token_id u32 1, eos_token_id u32 2,
        unknown_token_id u32 0, add_bos_token bool true, add_eos_token bool false
        (no merges, no pre, no chat template).

Vocabulary "gpt2" (Llama-3 style byte-level BPE, `vocab.llama3_vocab`), n_vocab = V:
    ids 0..255     the 256 byte tokens, GPT-2 bytes_to_unicode characters in GPT-2/Llama-3 order
                   (id 0 "!", ..., id 198 "Ċ" = b"\\n", id 220 "Ġ" = b" ")
    next           one token per learned merge result, in merge order (BPE trained on the built-in
                   corpus, `corpus.py`, pre-tokenised with an approximation of the Llama-3 regex);
                   merges are written "left right" (one space), in rank order, and every merge's
                   left, right and concatenation are tokens. tiny/tiny-mha/tiny-untied 300 merges,
                   small 800
    next           when a shape asks for more merges than the corpus gives (1813), as 2b4t does:
                   derived tokens: words of 2-4 short corpus tokens, each with one merge per
                   split into two tokens (`derived.py`), filling the vocabulary; 2b4t has
                   127,744 ordinary tokens and 280,147 merges, like the real model
    up to V-257    filler tokens "<filler_ID>" (ID = the token id), reachable by no merge
    V-256..V-1     the 256 Llama-3 specials: <|begin_of_text|>, <|end_of_text|>,
                   <|reserved_special_token_0..3|>, <|start_header_id|>, <|end_header_id|>,
                   <|reserved_special_token_4|>, <|eot_id|>, <|reserved_special_token_5..250|>
    token_type 1 (normal) for ids < V-256, 3 (control) for the specials; scores 0.0;
    bos = V-256 (<|begin_of_text|>), eos = padding = V-255 (<|end_of_text|>), <|eot_id|> = V-247.
    For 2b4t: bos 128000, eos 128001, eot 128009, exactly as the real model.

Vocabulary "llama" (SentencePiece / Llama-2 style, `vocab.spm_vocab`), arch bitnet only:
    0 "<unk>" type 2, 1 "<s>" type 3, 2 "</s>" type 3 (scores 0.0),
    3..258 "<0x00>".."<0xFF>" type 6 (score 0.0),
    then learned pieces ("▁" U+2581 marks a word start; BPE over the corpus' whitespace-split words,
    each prefixed with "▁") in merge order, then the corpus' single printable characters not yet
    present (most frequent first, "▁" among them), all type 1 with scores 0, -1, -2, ... in id order,
    then filler "<filler_ID>" type 1 with score -(ID+1). Newlines and other control characters
    are not in the vocabulary (byte fallback). bos 1, eos 2, unk 0.
"""

from bitnet_desktop.engine.synth.model import (
    EMBEDDING_TYPES,
    TERNARY_FORMATS,
    SyntheticModel,
    TensorSpec,
    write_synthetic_model,
)
from bitnet_desktop.engine.synth.shapes import SHAPES, SynthShape, get_shape
from bitnet_desktop.engine.synth.vocab import SynthVocab, llama3_special_tokens, llama3_vocab, spm_vocab

__all__ = [
    "EMBEDDING_TYPES",
    "SHAPES",
    "TERNARY_FORMATS",
    "SynthShape",
    "SynthVocab",
    "SyntheticModel",
    "TensorSpec",
    "get_shape",
    "llama3_special_tokens",
    "llama3_vocab",
    "spm_vocab",
    "write_synthetic_model",
]
