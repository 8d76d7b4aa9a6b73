"""Model shapes for synthetic BitNet models: small ones for tests, and the exact shapes of real ones.

`2b4t` is BitNet-b1.58-2B-4T (docs/architectures.md#2b-4t-hyperparameters). `falcon3-1b`, `falcon-e-3b` and
`llama3-8b` are the
arch-`llama` models bitnet.cpp runs (docs/architectures.md), with their Hugging Face config.json
values; `tiny-llama` is their graph at test size. The small shapes keep d and ffn multiples of 256
so every format (I2_S needs K % 128, TQ1_0/TQ2_0 need K % 256) can store them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class SynthShape:
    name: str
    n_embd: int  # d, hidden size
    n_ff: int  # feed-forward (intermediate) size
    n_layer: int
    n_head: int
    n_head_kv: int
    n_vocab: int
    n_ctx: int
    rope_theta: float = 500000.0
    rms_eps: float = 1e-5
    tied: bool = True  # False: a separate output.weight
    n_merges: int | None = None  # BPE merges in the vocabulary; None = all the corpus gives (see vocab.py)
    arch: str | None = None  # the arch files of this shape get by default (None: by format, see model.py)
    pre: str = "llama-bpe"  # tokenizer.ggml.pre of arch-llama files (the model family's pre-tokenizer)

    def __post_init__(self):
        if self.n_embd % self.n_head:
            raise ValueError(f"shape {self.name}: n_embd {self.n_embd} is not divisible by n_head {self.n_head}")
        if self.n_head % self.n_head_kv:
            raise ValueError(f"shape {self.name}: n_head {self.n_head} is not a multiple of n_head_kv {self.n_head_kv}")
        if self.n_embd % 128 or self.n_ff % 128:
            raise ValueError(f"shape {self.name}: n_embd and n_ff must be multiples of 128 (I2_S blocks)")

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head

    @property
    def n_embd_kv(self) -> int:
        return self.head_dim * self.n_head_kv

    @property
    def gqa(self) -> int:
        return self.n_head // self.n_head_kv

    def with_overrides(self, **overrides) -> "SynthShape":
        """A copy with some fields changed (unknown field names raise TypeError)."""
        return dataclasses.replace(self, **overrides) if overrides else self


SHAPES: dict[str, SynthShape] = {
    s.name: s
    for s in (
        # GQA 2, two layers: the default for unit tests.
        SynthShape(
            "tiny", n_embd=256, n_ff=512, n_layer=2, n_head=4, n_head_kv=2, n_vocab=1024, n_ctx=512, n_merges=300
        ),
        # Multi-head attention (H == Hkv).
        SynthShape(
            "tiny-mha", n_embd=256, n_ff=512, n_layer=2, n_head=4, n_head_kv=4, n_vocab=1024, n_ctx=512, n_merges=300
        ),
        # Untied LM head: a separate output.weight.
        SynthShape(
            "tiny-untied",
            n_embd=256,
            n_ff=512,
            n_layer=2,
            n_head=4,
            n_head_kv=2,
            n_vocab=1024,
            n_ctx=512,
            tied=False,
            n_merges=300,
        ),
        # Three layers, GQA 4 like 2B-4T, head_dim 64.
        SynthShape(
            "small", n_embd=512, n_ff=1536, n_layer=3, n_head=8, n_head_kv=2, n_vocab=2048, n_ctx=1024, n_merges=800
        ),
        # BitNet-b1.58-2B-4T exactly (docs/architectures.md#2b-4t-hyperparameters), with as many merges as its
        # vocabulary.
        SynthShape(
            "2b4t",
            n_embd=2560,
            n_ff=6912,
            n_layer=30,
            n_head=20,
            n_head_kv=5,
            n_vocab=128256,
            n_ctx=4096,
            n_merges=280_147,
        ),
        # Arch llama at test size: GQA 2, untied F16 output like the real files.
        SynthShape(
            "tiny-llama", n_embd=256, n_ff=512, n_layer=2, n_head=4, n_head_kv=2, n_vocab=1024, n_ctx=512,
            rope_theta=500000.0, tied=False, n_merges=300, arch="llama",
        ),
        # tiiuae/Falcon3-1B-Instruct(-1.58bit) config.json: hidden_size 2048, intermediate_size 8192,
        # 18 layers, 8 heads (head_dim 256), 4 KV heads, vocab 131072, rope_theta 1000042,
        # rms_norm_eps 1e-6, max_position_embeddings 8192, tie_word_embeddings false.
        SynthShape(
            "falcon3-1b", n_embd=2048, n_ff=8192, n_layer=18, n_head=8, n_head_kv=4, n_vocab=131072, n_ctx=8192,
            rope_theta=1000042.0, rms_eps=1e-6, tied=False, arch="llama", pre="falcon3",
        ),
        # tiiuae/Falcon-E-3B-Instruct: 32 layers, hidden 2304, intermediate 9216, 9 heads of 256,
        # 3 KV heads, vocab 32768, rope_theta 100000, rms 1e-5, context 32768, untied. NOT checked
        # against the published config.json (the search tool found no copy); the sizes give a
        # 0.92 GB I2_S file, near the published ~1 GB ggml-model-i2_s.gguf.
        SynthShape(
            "falcon-e-3b", n_embd=2304, n_ff=9216, n_layer=32, n_head=9, n_head_kv=3, n_vocab=32768,
            n_ctx=32768, rope_theta=100000.0, rms_eps=1e-5, tied=False, arch="llama", pre="falcon_e",
        ),
        # HF1BitLLM/Llama3-8B-1.58-100B-tokens (Llama-3-8B-Instruct's config.json,
        # docs/architectures.md#the-llama-graph-falcon3-falcon-e-llama3-8b):
        # hidden 4096, intermediate 14336, 32 layers, 32 heads (128), 8 KV heads, vocab 128256,
        # rope_theta 500000, rms_norm_eps 1e-5, max_position_embeddings 8192, untied.
        SynthShape(
            "llama3-8b", n_embd=4096, n_ff=14336, n_layer=32, n_head=32, n_head_kv=8, n_vocab=128256,
            n_ctx=8192, rope_theta=500000.0, rms_eps=1e-5, tied=False, arch="llama", pre="llama-bpe",
        ),
    )
}


def get_shape(shape: "str | SynthShape", **overrides) -> SynthShape:
    if isinstance(shape, SynthShape):
        return shape.with_overrides(**overrides)
    try:
        return SHAPES[shape].with_overrides(**overrides)
    except KeyError:
        raise ValueError(f"unknown synthetic shape {shape!r}; choose from {', '.join(SHAPES)}") from None
