"""GGUF tensors → the arrays the native model runs on, checked against the model's shapes.

I2_S ternary tensors, F16 / Q8_0 / Q6_K embedding and output tables and F32 norms are zero-copy
views of the memory-mapped file: the native model decodes Q8_0 / Q6_K rows itself (building the
int8 head from them, or an f16 copy it owns when the exact head reads the table). Everything else
is converted once at load (and counted in `converted_bytes` / `convert_seconds`): TQ2_0 / TQ1_0 /
F16 / F32 / BF16 ternary weights are re-ternarized (docs/file-formats.md#ternary-weights-in-other-files) and packed as
I2_S; BF16 /
F32 embedding and output tables become F16 private copies. TL1 / TL2 files are refused with a
message saying how to get an I2_S file.

Arch `llama` (Falcon3, Falcon-E, Llama3-8B-1.58) has no sub-norms and may carry llama.cpp's
`rope_freqs.weight`; a `llama` file whose projections are not stored ternary is an ordinary
model, refused here with OrdinaryModelError (model_kind.is_ternary_model says so up front).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..errors import ModelFormatError
from ..formats import dequantize_tensor, load_ternary
from ..formats.tl import refuse_lut_format
from ..gguf import GGUFFile, TensorInfo
from ..native import i2s_pack
from .model_kind import OrdinaryModelError, is_ternary_model
from .model_spec import ModelSpec
from .native_model import TABLE_TYPES, TERNARY_NAMES, NativeModelConfig

LUT_TYPES = ("TL1", "TL2")


@dataclass
class TernaryWeight:
    """I2_S bytes of a [m, k] weight (codes + 32-byte tail holding alpha) and an extra multiplier
    (the `bitnet` arch's optional `.scale` tensor, else 1)."""
    i2s: np.ndarray
    m: int
    k: int
    multiplier: float = 1.0


@dataclass
class LayerWeights:
    ternary: dict[str, TernaryWeight]
    norms: dict[str, np.ndarray]  # f32 gains


@dataclass
class ModelWeights:
    spec: ModelSpec
    layers: list[LayerWeights]
    token_embd: np.ndarray        # [vocab, ...] rows as token_embd_type: a file view, or a converted F16 copy
    output: np.ndarray | None     # the same as output_type, None when tied to token_embd
    output_norm: np.ndarray       # f32 [d]
    token_embd_type: str = "F16"  # F16: uint16 bits [vocab, d]; Q8_0 / Q6_K: stored bytes [vocab, row bytes]
    output_type: str | None = None  # None when tied
    rope_freqs: np.ndarray | None = None  # f32 [head_dim/2]: llama.cpp's rope_freqs.weight, when the file has it
    mapped_bytes: int = 0         # bytes used in place from the mapped file
    converted_bytes: int = 0      # bytes created by conversion at load
    convert_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def native_table_type(info: TensorInfo) -> str:
    """How a token_embd / output tensor reaches the native model: as stored, or converted to F16."""
    return info.type.name if info.type.name in TABLE_TYPES else "F16"


def native_table_types(g: GGUFFile) -> tuple[str, str | None]:
    """(token_embd_type, output_type) of the ModelWeights load_weights will make (output_type None
    when tied)."""
    output = g.tensors.get("output.weight")
    return native_table_type(g.tensors["token_embd.weight"]), native_table_type(output) if output else None


def _expected_shapes(spec: ModelSpec) -> dict[str, tuple[int, ...]]:
    config = NativeModelConfig.from_spec(spec)
    return {**config.ternary_shapes(), **{name: (n,) for name, n in config.norm_lengths().items()}}


class _Builder:
    def __init__(self, g: GGUFFile):
        self.g = g
        self.mapped = 0
        self.converted = 0
        self.seconds = 0.0

    def tensor(self, name: str, shape: tuple[int, ...]) -> TensorInfo:
        if name not in self.g.tensors:
            raise ModelFormatError(f"{self.g.path}: tensor {name!r} is missing")
        info = self.g.tensors[name]
        if info.shape != shape:
            raise ModelFormatError(
                f"{self.g.path}: tensor {name!r} has shape {list(info.shape)}, the model needs {list(shape)}")
        return info

    def scale_of(self, name: str) -> float | None:
        scale_name = name.replace(".weight", ".scale")
        info = self.g.tensors.get(scale_name)
        if info is None:
            return None
        values = dequantize_tensor(info).reshape(-1)
        if values.size != 1 or not np.isfinite(values[0]) or values[0] == 0:
            raise ModelFormatError(f"{self.g.path}: {scale_name!r} must hold one finite, non-zero number")
        return float(values[0])

    def check_finite(self, name: str, values: np.ndarray) -> None:
        """Refuses NaN or infinity in a small table (norm gains, alphas), naming the first index."""
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            raise ModelFormatError(f"{self.g.path}: tensor {name!r} holds {values[bad[0]]} at index {bad[0]} "
                                   f"({bad.size} of {values.size} values are not finite)")

    def ternary(self, name: str, shape: tuple[int, int]) -> TernaryWeight:
        info = self.tensor(name, shape)
        m, k = shape
        if info.type.name in LUT_TYPES:
            refuse_lut_format(name, info.type.name)
        if k % 128:
            raise ModelFormatError(f"{self.g.path}: tensor {name!r} has {k} inputs; ternary kernels need a multiple of 128")
        scale = self.scale_of(name)
        if info.type.name == "I2_S":
            tail = info.data[m * k // 4:m * k // 4 + 4]  # alpha: f32 LE
            alpha = tail.view("<f4")[0] if tail.size == 4 else 0.0
            if not np.isfinite(alpha):
                raise ModelFormatError(f"{self.g.path}: tensor {name!r} has alpha = {alpha} in its I2_S tail; "
                                       "it must be finite")
            self.mapped += info.nbytes
            return TernaryWeight(info.data, m, k, 1.0 if scale is None else scale)
        t0 = time.perf_counter()
        with _quiet_floats():  # reternarize refuses what is not finite
            t, alpha = load_ternary(info, scale)
        packed = i2s_pack(np.ascontiguousarray(t, dtype=np.int8), float(alpha))
        self.seconds += time.perf_counter() - t0
        self.converted += packed.nbytes
        return TernaryWeight(packed, m, k)

    def f32_vector(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        info = self.tensor(name, shape)
        if info.type.name == "F32":
            values = info.data.view(np.float32)
            self.mapped += info.nbytes
        else:
            with _quiet_floats():
                values = dequantize_tensor(info).astype(np.float32).reshape(-1)
            self.converted += values.nbytes
        self.check_finite(name, values)
        return values

    def table(self, name: str, shape: tuple[int, int]) -> tuple[np.ndarray, str]:
        """An embedding or output table as the native model takes it, and its type."""
        info = self.tensor(name, shape)
        table_type = native_table_type(info)
        if table_type == info.type.name:
            self.mapped += info.nbytes
            rows = info.data.view(np.uint16) if table_type == "F16" else info.data
            return rows.reshape(shape[0], -1), table_type
        t0 = time.perf_counter()
        with _quiet_floats():
            halves = dequantize_tensor(info).reshape(shape).astype(np.float16)
        # A converted table is scanned anyway: NaN, infinity or a value past float16's range is
        # refused here, naming the row, in both heads.
        bad = np.flatnonzero(~np.isfinite(halves).all(axis=1))
        if bad.size:
            raise ModelFormatError(
                f"{self.g.path}: tensor {name!r} row {bad[0]} holds NaN, infinity or a value beyond float16's "
                f"±65504 ({bad.size} of {shape[0]} rows do)")
        bits = np.ascontiguousarray(halves.view(np.uint16))
        self.seconds += time.perf_counter() - t0
        self.converted += bits.nbytes
        return bits, table_type


def _quiet_floats():
    """numpy's overflow and invalid-value warnings off: the results are checked for NaN and infinity."""
    return np.errstate(over="ignore", invalid="ignore")


def load_weights(g: GGUFFile, spec: ModelSpec) -> ModelWeights:
    """Every tensor the graph needs, validated; raises ModelFormatError naming file and tensor.
    NaN or infinity is refused here in what is small (norm gains, alphas, scales) and in a table
    converted to F16; in a table used as stored the int8 head's build finds it (fast mode), else
    the sampler (NonFiniteLogitsError)."""
    if not is_ternary_model(g):
        raise OrdinaryModelError(f"{g.path}: arch {spec.arch!r} with {g.tensors['blk.0.attn_q.weight'].type.name} "
                                 "projections is an ordinary (not ternary) model; it runs on the llama.cpp engine")
    b = _Builder(g)
    shapes = _expected_shapes(spec)
    norm_names = NativeModelConfig.from_spec(spec).norm_lengths()
    layers = []
    for i in range(spec.n_layers):
        ternary = {n: b.ternary(f"blk.{i}.{n}.weight", shapes[n]) for n in TERNARY_NAMES}
        norms = {n: b.f32_vector(f"blk.{i}.{n}.weight", shapes[n]) for n in norm_names}
        layers.append(LayerWeights(ternary, norms))
    rope_freqs = None
    if "rope_freqs.weight" in g.tensors:
        rope_freqs = b.f32_vector("rope_freqs.weight", (spec.head_dim // 2,))
        if not np.all(rope_freqs > 0):
            raise ModelFormatError(f"{g.path}: tensor 'rope_freqs.weight' holds a value <= 0 at index "
                                   f"{int(np.flatnonzero(rope_freqs <= 0)[0])}; its values divide the RoPE angles")
    vd = (spec.vocab_size, spec.d_model)
    token_embd, token_embd_type = b.table("token_embd.weight", vd)
    output, output_type = b.table("output.weight", vd) if "output.weight" in g.tensors else (None, None)
    output_norm = b.f32_vector("output_norm.weight", (spec.d_model,))
    return ModelWeights(spec, layers, token_embd, output, output_norm, token_embd_type, output_type,
                        rope_freqs, b.mapped, b.converted, b.seconds)
