"""Tiny ordinary (not ternary) GGUF models for the llama.cpp engine's tests, written with the
project's own GGUF writer: arch `llama`, F16 or Q8_0 projections, the synth's Llama-3 style
byte-level BPE vocabulary (`tokenizer.ggml.pre = llama-bpe`) with a ChatML chat template, or
(`vocabulary="llama"`) its SentencePiece vocabulary without a template (a base model).

Weights are random (seeded) and small (std 0.02), so the residual stream stays close to the
embedding. `eot_first=True` makes the model answer <|eot_id|> at once: the embedding's first
column is a large constant in every row, and the head row of <|eot_id|> reads only that column,
so its logit dominates whatever the context (the stop-token tests need a model that stops).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from bitnet_desktop.engine.formats.q8_0 import encode_q8_0
from bitnet_desktop.engine.formats.tq2_0 import encode_tq2_0
from bitnet_desktop.engine.gguf import F16, F32, Q8_0, TQ2_0, GGUFArray, ValueType, write_gguf
from bitnet_desktop.engine.synth.vocab import llama3_vocab, spm_vocab

V = ValueType
CHATML_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + "
    "'<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
# tq2_0: the same graph with ternary projections, i.e. a BitNet file in arch `llama` (not an ordinary one).
FILE_TYPES = {"f16": 1, "q8_0": 7, "tq2_0": 37}
WEIGHT_TYPES = {"f16": F16, "q8_0": Q8_0, "tq2_0": TQ2_0}


def _encoded(x: np.ndarray, fmt: str) -> np.ndarray:
    if fmt == "tq2_0":
        return encode_tq2_0(np.sign(np.round(x / 0.02)).astype(np.int8), np.float32(0.02))
    return x.astype(np.float16) if fmt == "f16" else encode_q8_0(x)


def write_ordinary_gguf(path: Path, *, fmt: str = "f16", n_layer: int = 2, n_embd: int = 128, n_ff: int = 256,
                        n_head: int = 4, n_head_kv: int = 2, n_vocab: int = 1024, n_ctx: int = 512,
                        tied: bool = False, eot_first: bool = False, chat_template: str | None = CHATML_TEMPLATE,
                        arch: str = "llama", vocabulary: str = "gpt2", seed: int = 0) -> Path:
    vocab = llama3_vocab(n_vocab, 300) if vocabulary == "gpt2" else spm_vocab(n_vocab, None)
    tokens = list(vocab.tokens)
    if vocabulary == "gpt2":  # ChatML's markers as two reserved control tokens, so the template's text gives them
        tokens[vocab.bos_id + 10], tokens[vocab.bos_id + 11] = "<|im_start|>", "<|im_end|>"
    a = arch
    metadata = [
        ("general.architecture", V.STRING, a),
        ("general.name", V.STRING, "ordinary-test"),
        (f"{a}.vocab_size", V.UINT32, n_vocab),
        (f"{a}.context_length", V.UINT32, n_ctx),
        (f"{a}.embedding_length", V.UINT32, n_embd),
        (f"{a}.feed_forward_length", V.UINT32, n_ff),
        (f"{a}.block_count", V.UINT32, n_layer),
        (f"{a}.attention.head_count", V.UINT32, n_head),
        (f"{a}.attention.head_count_kv", V.UINT32, n_head_kv),
        (f"{a}.rope.freq_base", V.FLOAT32, 10000.0),
        (f"{a}.attention.layer_norm_rms_epsilon", V.FLOAT32, 1e-5),
        (f"{a}.rope.dimension_count", V.UINT32, n_embd // n_head),
        ("general.file_type", V.UINT32, FILE_TYPES[fmt]),
        ("general.quantization_version", V.UINT32, 2),
        ("tokenizer.ggml.model", V.STRING, vocabulary),
        ("tokenizer.ggml.tokens", V.ARRAY, GGUFArray(V.STRING, tokens)),
        ("tokenizer.ggml.token_type", V.ARRAY, GGUFArray(V.INT32, vocab.token_types)),
        ("tokenizer.ggml.bos_token_id", V.UINT32, vocab.bos_id),
        ("tokenizer.ggml.eos_token_id", V.UINT32, vocab.eos_id),
        ("tokenizer.ggml.add_bos_token", V.BOOL, True),
    ]
    if vocabulary == "gpt2":
        metadata += [("tokenizer.ggml.pre", V.STRING, "llama-bpe"),
                     ("tokenizer.ggml.merges", V.ARRAY, GGUFArray(V.STRING, vocab.merges))]
    else:
        metadata += [("tokenizer.ggml.scores", V.ARRAY, GGUFArray(V.FLOAT32, vocab.scores)),
                     ("tokenizer.ggml.unknown_token_id", V.UINT32, vocab.unk_id)]
        chat_template = None
    if chat_template is not None:
        metadata.append(("tokenizer.chat_template", V.STRING, chat_template))

    rng = np.random.default_rng(seed)

    def weight(rows: int, cols: int) -> np.ndarray:
        return rng.normal(0.0, 0.02, (rows, cols)).astype(np.float32)

    embedding = rng.normal(0.0, 1.0, (n_vocab, n_embd)).astype(np.float32)
    head = weight(n_vocab, n_embd) * 50
    if eot_first:
        embedding[:, 0] = 30.0
        head[vocab.eot_id] = 0.0
        head[vocab.eot_id, 0] = 10.0
    ones = np.ones(n_embd, np.float32)
    kv = n_head_kv * (n_embd // n_head)
    tensors = [("token_embd.weight", (n_embd, n_vocab), F16, embedding.astype(np.float16))]
    for i in range(n_layer):
        p = f"blk.{i}."
        tensors += [
            (p + "attn_norm.weight", (n_embd,), F32, ones),
            (p + "attn_q.weight", (n_embd, n_embd), WEIGHT_TYPES[fmt], _encoded(weight(n_embd, n_embd), fmt)),
            (p + "attn_k.weight", (n_embd, kv), WEIGHT_TYPES[fmt], _encoded(weight(kv, n_embd), fmt)),
            (p + "attn_v.weight", (n_embd, kv), WEIGHT_TYPES[fmt], _encoded(weight(kv, n_embd), fmt)),
            (p + "attn_output.weight", (n_embd, n_embd), WEIGHT_TYPES[fmt], _encoded(weight(n_embd, n_embd), fmt)),
            (p + "ffn_norm.weight", (n_embd,), F32, ones),
            (p + "ffn_gate.weight", (n_embd, n_ff), WEIGHT_TYPES[fmt], _encoded(weight(n_ff, n_embd), fmt)),
            (p + "ffn_up.weight", (n_embd, n_ff), WEIGHT_TYPES[fmt], _encoded(weight(n_ff, n_embd), fmt)),
            (p + "ffn_down.weight", (n_ff, n_embd), WEIGHT_TYPES[fmt], _encoded(weight(n_embd, n_ff), fmt)),
        ]
    tensors.append(("output_norm.weight", (n_embd,), F32, ones))
    if not tied:
        tensors.append(("output.weight", (n_embd, n_vocab), F16, head.astype(np.float16)))
    return write_gguf(path, metadata, tensors)
