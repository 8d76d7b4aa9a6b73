"""GGUF metadata of synthetic models, in the two layouts real BitNet files come in.

* bitnet.cpp layout (arch `bitnet-b1.58` / `bitnet-25`): exactly the 24 keys of the official
  2B-4T file, in its order and with its value types (docs/file-formats.md#metadata-keys-the-engine-reads): no
  `tokenizer.ggml.pre`,
  no `general.alignment`, the placeholder `Human: … BITNETAssistant:` chat template.
* llama.cpp layout (arch `bitnet`): what upstream convert_hf_to_gguf.py writes for a BitNet model:
  `bitnet.*` hyperparameters incl. rope scaling keys, `tokenizer.ggml.pre = "llama-bpe"` and no
  scores for the byte-level BPE vocabulary, or a SentencePiece vocabulary with scores and
  `unknown_token_id`.
* arch `llama` (Falcon3, Falcon-E, Llama3-8B-1.58): what bitnet.cpp's LlamaModel converter
  (convert-hf-to-gguf-bitnet.py, through gguf-py's writer) writes: `llama.*` hyperparameters,
  byte-level BPE with the family's `tokenizer.ggml.pre`, and the chat template of instruct models.
"""

from __future__ import annotations

from typing import Any

from bitnet_desktop.engine.gguf.values import GGUFArray, ValueType
from bitnet_desktop.engine.synth.shapes import SynthShape
from bitnet_desktop.engine.synth.vocab import SynthVocab

V = ValueType
Entry = tuple[str, ValueType, Any]

BITNET_CPP_ARCHS = ("bitnet-b1.58", "bitnet-25")
LLAMA_CPP_ARCHS = ("bitnet",)
LLAMA_ARCHS = ("llama",)

# Falcon3's chat format (tiiuae/Falcon3-*-Instruct tokenizer_config.json, reduced to its messages):
# "<|system|>\n…\n<|user|>\n…\n<|assistant|>\n", an answer ending on the EOS token.
FALCON3_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}{{ '<|system|>\n' + message['content'] + '\n' }}"
    "{% elif message['role'] == 'user' %}{{ '<|user|>\n' + message['content'] + '\n' }}"
    "{% elif message['role'] == 'assistant' %}{{ '<|assistant|>\n' + message['content'] + eos_token + '\n' }}"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)
# Instruct models carry a chat template; Llama3-8B-1.58-100B-tokens is a base model and has none.
CHAT_TEMPLATE_BY_PRE = {"falcon3": FALCON3_TEMPLATE, "falcon_e": FALCON3_TEMPLATE}

# The template utils/convert-ms-to-gguf-bitnet.py hard-codes (the \n are backslash-n in the
# Jinja source, as in the original).
BITNET_CPP_PLACEHOLDER_TEMPLATE = (
    "{% for message in messages %}{% if loop.first %}{{ bos_token }}{% endif %}"
    "{% if message['role'] == 'user' %}{{ 'Human: ' + message['content'] + '\\n\\nBITNETAssistant: ' + eos_token }}"
    "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token }}{% endif %}{% endfor %}"
)

# The training chat format of docs/chat-formats.md#2b-4t-training-format ("Role: content<|eot_id|>", "Assistant: "
# prompt),
# written by us for llama.cpp-layout synthetic files with a Llama-3 vocabulary.
TRAINING_FORMAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}{{ message['role'] | capitalize }}: "
    "{{ message['content'] | trim }}<|eot_id|>{% endfor %}"
    "{% if add_generation_prompt %}Assistant: {% endif %}"
)

# general.file_type per ternary format: fork's LLAMA_FTYPE_MOSTLY_I2_S = 40, llama.cpp's
# MOSTLY_TQ1_0 = 36, MOSTLY_TQ2_0 = 37, MOSTLY_F16 = 1.
FILE_TYPES = {"i2_s": 40, "tq1_0": 36, "tq2_0": 37, "f16": 1}


def _u32(key: str, value: int) -> Entry:
    return (key, V.UINT32, int(value))


def bitnet_cpp_metadata(arch: str, name: str, shape: SynthShape, fmt: str, vocab: SynthVocab) -> list[Entry]:
    """The 24 keys of the official bitnet.cpp file, same order and types."""
    if vocab.model != "gpt2":
        raise ValueError(f"arch {arch!r} files carry a Llama-3 (gpt2) vocabulary")
    return [
        ("general.architecture", V.STRING, arch),
        ("general.name", V.STRING, name),
        _u32(f"{arch}.vocab_size", shape.n_vocab),
        _u32(f"{arch}.context_length", shape.n_ctx),
        _u32(f"{arch}.embedding_length", shape.n_embd),
        _u32(f"{arch}.block_count", shape.n_layer),
        _u32(f"{arch}.feed_forward_length", shape.n_ff),
        _u32(f"{arch}.rope.dimension_count", shape.head_dim),
        _u32(f"{arch}.attention.head_count", shape.n_head),
        _u32(f"{arch}.attention.head_count_kv", shape.n_head_kv),
        ("tokenizer.ggml.add_bos_token", V.BOOL, True),
        (f"{arch}.attention.layer_norm_rms_epsilon", V.FLOAT32, shape.rms_eps),
        (f"{arch}.rope.freq_base", V.FLOAT32, shape.rope_theta),
        _u32("general.file_type", FILE_TYPES[fmt]),
        ("tokenizer.ggml.model", V.STRING, "gpt2"),
        ("tokenizer.ggml.tokens", V.ARRAY, GGUFArray(V.STRING, vocab.tokens)),
        ("tokenizer.ggml.scores", V.ARRAY, GGUFArray(V.FLOAT32, vocab.scores)),
        ("tokenizer.ggml.token_type", V.ARRAY, GGUFArray(V.INT32, vocab.token_types)),
        ("tokenizer.ggml.merges", V.ARRAY, GGUFArray(V.STRING, vocab.merges)),
        _u32("tokenizer.ggml.bos_token_id", vocab.bos_id),
        _u32("tokenizer.ggml.eos_token_id", vocab.eos_id),
        _u32("tokenizer.ggml.padding_token_id", vocab.eos_id),
        ("tokenizer.chat_template", V.STRING, BITNET_CPP_PLACEHOLDER_TEMPLATE),
        _u32("general.quantization_version", 2),
    ]


def llama_cpp_metadata(arch: str, name: str, shape: SynthShape, fmt: str, vocab: SynthVocab) -> list[Entry]:
    """Upstream llama.cpp's layout for the `bitnet` arch."""
    entries: list[Entry] = [
        ("general.architecture", V.STRING, arch),
        ("general.name", V.STRING, name),
        _u32(f"{arch}.vocab_size", shape.n_vocab),
        _u32(f"{arch}.context_length", shape.n_ctx),
        _u32(f"{arch}.embedding_length", shape.n_embd),
        _u32(f"{arch}.feed_forward_length", shape.n_ff),
        _u32(f"{arch}.block_count", shape.n_layer),
        _u32(f"{arch}.attention.head_count", shape.n_head),
        _u32(f"{arch}.attention.head_count_kv", shape.n_head_kv),
        (f"{arch}.rope.freq_base", V.FLOAT32, shape.rope_theta),
        (f"{arch}.attention.layer_norm_rms_epsilon", V.FLOAT32, shape.rms_eps),
        _u32(f"{arch}.rope.dimension_count", shape.head_dim),
        (f"{arch}.rope.scaling.type", V.STRING, "linear"),
        (f"{arch}.rope.scaling.factor", V.FLOAT32, 1.0),
        _u32("general.file_type", FILE_TYPES[fmt]),
        _u32("general.quantization_version", 2),
        ("tokenizer.ggml.model", V.STRING, vocab.model),
    ]
    if vocab.model == "gpt2":
        entries += [
            ("tokenizer.ggml.pre", V.STRING, "llama-bpe"),
            ("tokenizer.ggml.tokens", V.ARRAY, GGUFArray(V.STRING, vocab.tokens)),
            ("tokenizer.ggml.token_type", V.ARRAY, GGUFArray(V.INT32, vocab.token_types)),
            ("tokenizer.ggml.merges", V.ARRAY, GGUFArray(V.STRING, vocab.merges)),
            _u32("tokenizer.ggml.bos_token_id", vocab.bos_id),
            _u32("tokenizer.ggml.eos_token_id", vocab.eos_id),
            ("tokenizer.ggml.add_bos_token", V.BOOL, True),
            ("tokenizer.chat_template", V.STRING, TRAINING_FORMAT_TEMPLATE),
        ]
    else:
        entries += [
            ("tokenizer.ggml.tokens", V.ARRAY, GGUFArray(V.STRING, vocab.tokens)),
            ("tokenizer.ggml.scores", V.ARRAY, GGUFArray(V.FLOAT32, vocab.scores)),
            ("tokenizer.ggml.token_type", V.ARRAY, GGUFArray(V.INT32, vocab.token_types)),
            _u32("tokenizer.ggml.bos_token_id", vocab.bos_id),
            _u32("tokenizer.ggml.eos_token_id", vocab.eos_id),
            _u32("tokenizer.ggml.unknown_token_id", vocab.unk_id),
            ("tokenizer.ggml.add_bos_token", V.BOOL, True),
            ("tokenizer.ggml.add_eos_token", V.BOOL, False),
        ]
    return entries


def llama_metadata(arch: str, name: str, shape: SynthShape, fmt: str, vocab: SynthVocab) -> list[Entry]:
    """bitnet.cpp's LlamaModel converter layout (arch llama)."""
    if vocab.model != "gpt2":
        raise ValueError("arch 'llama' synthetic files carry a byte-level BPE (gpt2) vocabulary")
    entries: list[Entry] = [
        ("general.architecture", V.STRING, arch),
        ("general.name", V.STRING, name),
        _u32(f"{arch}.vocab_size", shape.n_vocab),
        _u32(f"{arch}.context_length", shape.n_ctx),
        _u32(f"{arch}.embedding_length", shape.n_embd),
        _u32(f"{arch}.block_count", shape.n_layer),
        _u32(f"{arch}.feed_forward_length", shape.n_ff),
        _u32(f"{arch}.rope.dimension_count", shape.head_dim),
        _u32(f"{arch}.attention.head_count", shape.n_head),
        _u32(f"{arch}.attention.head_count_kv", shape.n_head_kv),
        (f"{arch}.rope.freq_base", V.FLOAT32, shape.rope_theta),
        (f"{arch}.attention.layer_norm_rms_epsilon", V.FLOAT32, shape.rms_eps),
        _u32("general.file_type", FILE_TYPES[fmt]),
        ("tokenizer.ggml.model", V.STRING, "gpt2"),
        ("tokenizer.ggml.pre", V.STRING, shape.pre),
        ("tokenizer.ggml.tokens", V.ARRAY, GGUFArray(V.STRING, vocab.tokens)),
        ("tokenizer.ggml.token_type", V.ARRAY, GGUFArray(V.INT32, vocab.token_types)),
        ("tokenizer.ggml.merges", V.ARRAY, GGUFArray(V.STRING, vocab.merges)),
        _u32("tokenizer.ggml.bos_token_id", vocab.bos_id),
        _u32("tokenizer.ggml.eos_token_id", vocab.eos_id),
        ("tokenizer.ggml.add_bos_token", V.BOOL, True),
    ]
    template = CHAT_TEMPLATE_BY_PRE.get(shape.pre)
    if template is not None:
        entries.append(("tokenizer.chat_template", V.STRING, template))
    entries.append(_u32("general.quantization_version", 2))
    return entries


ARCHS = BITNET_CPP_ARCHS + LLAMA_CPP_ARCHS + LLAMA_ARCHS


def synthetic_metadata(arch: str, name: str, shape: SynthShape, fmt: str, vocab: SynthVocab) -> list[Entry]:
    if arch in BITNET_CPP_ARCHS:
        return bitnet_cpp_metadata(arch, name, shape, fmt, vocab)
    if arch in LLAMA_CPP_ARCHS:
        return llama_cpp_metadata(arch, name, shape, fmt, vocab)
    if arch in LLAMA_ARCHS:
        return llama_metadata(arch, name, shape, fmt, vocab)
    raise ValueError(f"unknown arch {arch!r}; choose from {', '.join(ARCHS)}")
