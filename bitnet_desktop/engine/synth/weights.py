"""Deterministic synthetic weight values, independent of the file format they are written in.

Every tensor draws from its own generator seeded by (seed, crc32(tensor name), purpose), so a
tensor's values depend only on the seed, its name and its shape — never on the format, the order
of writing or the other tensors. That is what makes the same seed give the same T and alpha in
I2_S, TQ2_0, TQ1_0 and F16 files.

* Ternary weights: codes uniform in {0, 1, 2} (t = code - 1, so -1/0/+1 balanced).
* alpha per weight: k / 1024 for k uniform in [256, 2048), i.e. in [0.25, 2), exactly
  representable in f16 and f32, so every format decodes to the same alpha*T.
* Norm gains: 1 + 0.1·N(0, 1), float32.
* RoPE frequency factors (rope_freqs.weight): uniform in [1, 8), float32.
* Embedding (and untied output) rows: N(0, sigma²) with sigma = 3/sqrt(d), so that with unit-RMS
  final hidden states the logits have a standard deviation of about 3: peaked enough to give a
  clear argmax, flat enough that sampling is not degenerate.
* I2_S tail bytes 4..31: random, to catch readers that do not ignore them.
"""

from __future__ import annotations

import zlib

import numpy as np

PURPOSE_VALUES, PURPOSE_ALPHA, PURPOSE_TAIL = 0, 1, 2
ALPHA_STEP = 1.0 / 1024
EMBEDDING_CHUNK_ROWS = 8192


def tensor_rng(seed: int, name: str, purpose: int = PURPOSE_VALUES) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(name.encode("utf-8")), purpose])


def ternary_codes(seed: int, name: str, M: int, K: int) -> np.ndarray:
    """uint8 [M, K] codes 0/1/2 (= t + 1)."""
    return tensor_rng(seed, name).integers(0, 3, size=(M, K), dtype=np.uint8)


def ternary_alpha(seed: int, name: str) -> np.float32:
    k = int(tensor_rng(seed, name, PURPOSE_ALPHA).integers(256, 2048))
    return np.float32(k * ALPHA_STEP)


def i2s_tail_padding(seed: int, name: str) -> bytes:
    return tensor_rng(seed, name, PURPOSE_TAIL).bytes(28)


def norm_gain(seed: int, name: str, n: int) -> np.ndarray:
    rng = tensor_rng(seed, name)
    return (1.0 + 0.1 * rng.standard_normal(n, dtype=np.float32)).astype(np.float32)


def rope_freq_factors(seed: int, name: str, n: int) -> np.ndarray:
    """float32 [n] in [1, 8): Llama-3.1's scaling divides the low frequencies by up to 8."""
    return (1.0 + 7.0 * tensor_rng(seed, name).random(n, dtype=np.float32)).astype(np.float32)


def embedding_sigma(n_embd: int) -> float:
    return 3.0 / float(np.sqrt(n_embd))


def embedding_chunks(seed: int, name: str, n_rows: int, n_embd: int):
    """Yield (first_row, float32 [rows, n_embd]) chunks of the N(0, sigma²) table, in order."""
    rng = tensor_rng(seed, name)
    sigma = np.float32(embedding_sigma(n_embd))
    for r0 in range(0, n_rows, EMBEDDING_CHUNK_ROWS):
        rows = min(EMBEDDING_CHUNK_ROWS, n_rows - r0)
        chunk = rng.standard_normal((rows, n_embd), dtype=np.float32)
        chunk *= sigma
        yield r0, chunk
