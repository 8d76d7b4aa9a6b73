"""The native Q8_0 / Q6_K row decoders give the f16 values of the Python decoders (float32 decode,
NumPy's f16 cast) bit for bit, on random blocks with odd and extreme values: negative and
subnormal scales, 65504, inf and NaN scales, every quant.

bn_model_embedding_from_file compares the first and last rows it decodes from the file with the
model's token_embd and refuses the file when they differ, so a two-row model whose token_embd is
the Python decode of random rows accepts them exactly when the two decoders agree."""
from __future__ import annotations

import numpy as np
import pytest

from bitnet_desktop.engine.formats.q6_k import decode_q6_k
from bitnet_desktop.engine.formats.q8_0 import decode_q8_0
from bitnet_desktop.engine.native import KernelContext
from bitnet_desktop.engine.runtime.native_model import ModelConfigError, NativeModel
from tests.engine.runtime.native_helpers import native_config
from tests.engine.runtime.reference_forward import make_model

D = 512
ROWS_PER_MODEL = 2
MODELS = 40
FORMATS = {  # name -> (block values, block bytes, scale byte offset, Python decoder)
    "Q8_0": (32, 34, 0, decode_q8_0),
    "Q6_K": (256, 210, 208, decode_q6_k),
}
EXTREME_SCALES = np.array([0x0001, 0x03ff, 0x0400, 0x8001, 0x3c00, 0xbc00, 0x7bff, 0xfbff, 0x7c00,
                           0xfc00, 0x7e00, 0x0000, 0x8000, 0x1234, 0x5555], np.uint16)


def random_rows(rng, fmt: str, n_rows: int) -> np.ndarray:
    """Random stored rows: random bytes, the scale of a block drawn from EXTREME_SCALES half the time."""
    block, block_bytes, scale_at, _ = FORMATS[fmt]
    blocks = rng.integers(0, 256, (n_rows * D // block, block_bytes), dtype=np.uint8)
    extreme = rng.random(len(blocks)) < 0.5
    scales = rng.choice(EXTREME_SCALES, len(blocks)).astype("<u2").view(np.uint8).reshape(-1, 2)
    blocks[extreme, scale_at:scale_at + 2] = scales[extreme]
    return blocks.reshape(n_rows, -1)


def python_f16(fmt: str, raw: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        return FORMATS[fmt][3](raw.reshape(-1), len(raw), D).astype(np.float16).view(np.uint16)


@pytest.fixture(scope="module")
def two_row_model():
    # Untied f16 head: the int8 head build (which refuses non-finite rows) never sees token_embd.
    return make_model(7, n_layers=1, d_model=D, n_heads=4, n_kv_heads=2, d_ffn=128, vocab=ROWS_PER_MODEL,
                      tied=False)


def native_with_rows(m, token_embd: np.ndarray) -> NativeModel:
    return NativeModel(KernelContext(threads=1), native_config(m, head="f16", max_context=8, max_batch=4),
                       m.engine_layers(), token_embd, m.output_norm, m.output)


@pytest.mark.parametrize("fmt", FORMATS)
def test_native_rows_equal_the_python_decode(tmp_path, two_row_model, fmt):
    rng = np.random.default_rng(11)
    path = tmp_path / "rows.bin"
    for _ in range(MODELS):
        raw = random_rows(rng, fmt, ROWS_PER_MODEL)
        path.write_bytes(b"\x00" * 3 + raw.tobytes())  # reads need no alignment
        native = native_with_rows(two_row_model, python_f16(fmt, raw))
        native.read_embedding_from_file(path, 3, fmt)


@pytest.mark.parametrize("fmt", FORMATS)
def test_one_changed_quant_is_noticed(tmp_path, two_row_model, fmt):
    rng = np.random.default_rng(12)
    raw = random_rows(rng, fmt, ROWS_PER_MODEL)
    block, block_bytes, scale_at, _ = FORMATS[fmt]
    raw[-1, :block_bytes] = 0 if fmt == "Q8_0" else 1  # Q6_K: sub-block scales 1
    raw[-1, scale_at:scale_at + 2] = [0x00, 0x3c]  # scale 1.0: every quant gives a distinct value
    native = native_with_rows(two_row_model, python_f16(fmt, raw))
    raw[-1, 5] ^= 1
    path = tmp_path / "rows.bin"
    path.write_bytes(raw.tobytes())
    with pytest.raises(ModelConfigError, match=f"does not hold this model's token_embd as {fmt}"):
        native.read_embedding_from_file(path, 0, fmt)
