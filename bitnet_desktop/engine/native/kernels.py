"""Typed wrappers of libbitnet's operations on NumPy arrays, and the KernelContext that owns a
native context (kernel variant + thread pool + cancel flag).

Every wrapper checks dtypes, contiguity and shapes before calling; the library checks the sizes
again and its status becomes an exception. cffi releases the GIL during each call, so a worker
thread can compute while the UI thread stays responsive.
"""
from __future__ import annotations

import os

import numpy as np
import psutil

from ..errors import KernelUnavailableError, ShapeError
from ._loader import load
from .status import check

KERNEL_NAMES = ("ref", "avx2", "avx512", "neon", "dotprod")
KERNEL_REQUIREMENTS = {
    "ref": "nothing",
    "avx2": "x86-64 with AVX2, FMA and F16C",
    "avx512": "x86-64 with AVX-512 F, BW, VL and VNNI",
    "neon": "AArch64 Advanced SIMD",
    "dotprod": "AArch64 with the dot-product extension",
}
KERNEL_ENV_VAR = "BITNET_KERNEL"


def _supported_names() -> list[str]:
    _, lib = load()
    return [n for i, n in enumerate(KERNEL_NAMES) if lib.bn_kernel_supported(i)]


def resolve_kernel(name: str | None = None) -> str:
    """The variant to use: `name`, else $BITNET_KERNEL, else the best one this CPU supports.

    Asking for a variant the build or the CPU lacks raises KernelUnavailableError (never an
    illegal instruction later)."""
    _, lib = load()
    source = "requested"
    if not name:
        name, source = os.environ.get(KERNEL_ENV_VAR, "").strip(), f"${KERNEL_ENV_VAR}"
    if not name or name == "auto":
        return KERNEL_NAMES[lib.bn_kernel_best()]
    if name not in KERNEL_NAMES:
        raise KernelUnavailableError(
            f"unknown kernel variant {name!r} ({source}); known: {', '.join(KERNEL_NAMES)}"
        )
    index = KERNEL_NAMES.index(name)
    if not lib.bn_kernel_supported(index):
        why = "this build does not include it" if not lib.bn_kernel_compiled(index) else \
            f"it needs {KERNEL_REQUIREMENTS[name]}, which this CPU or OS does not provide"
        raise KernelUnavailableError(
            f"kernel variant {name!r} ({source}) cannot run here: {why}; "
            f"available: {', '.join(_supported_names())}"
        )
    return name


def default_threads() -> int:
    """Physical cores: the kernels are memory- and SIMD-bound, so SMT siblings add little."""
    return psutil.cpu_count(logical=False) or os.cpu_count() or 1


def _array(a, dtype, ndim: int, what: str) -> np.ndarray:
    if not isinstance(a, np.ndarray):
        a = np.asarray(a)
    if a.dtype != dtype:
        raise ShapeError(f"{what} must be {np.dtype(dtype).name}, got {a.dtype}")
    if a.ndim != ndim:
        raise ShapeError(f"{what} must have {ndim} dimension(s), got shape {a.shape}")
    if not a.flags.c_contiguous:
        raise ShapeError(f"{what} must be C-contiguous")
    return a


def _f16_bits(a, what: str) -> np.ndarray:
    """An f16 matrix as its uint16 bit pattern (accepts float16 or uint16 arrays)."""
    a = np.asarray(a)
    if a.dtype == np.float16:
        a = a.view(np.uint16)
    return _array(a, np.uint16, 2, what)


def _ptr(ffi, a: np.ndarray, ctype: str):
    return ffi.cast(ctype, ffi.from_buffer(a, require_writable=False))


class KernelContext:
    """A native context: one kernel variant, a persistent thread pool, a cancel flag.

    One operation runs at a time per context (the library serialises calls); `cancel()` may be
    called from any thread and makes the next operation raise CancelledError until
    `clear_cancel()`."""

    def __init__(self, threads: int | None = None, kernel: str | None = None):
        ffi, lib = load()
        self._ffi, self._lib = ffi, lib
        threads = default_threads() if threads is None else int(threads)
        name = resolve_kernel(kernel)
        out = ffi.new("bn_ctx **")
        check(lib.bn_ctx_create(threads, KERNEL_NAMES.index(name), out),
              f"creating a kernel context ({threads} threads, kernel {name})")
        self._ctx = ffi.gc(out[0], lib.bn_ctx_free)

    @property
    def handle(self):
        """The bn_ctx pointer, for other native objects that compute with this context."""
        return self._ctx

    @property
    def threads(self) -> int:
        return self._lib.bn_ctx_threads(self._ctx)

    @threads.setter
    def threads(self, n: int) -> None:
        check(self._lib.bn_ctx_set_threads(self._ctx, int(n)), f"setting {n} threads")

    @property
    def kernel(self) -> str:
        return KERNEL_NAMES[self._lib.bn_ctx_kernel(self._ctx)]

    @kernel.setter
    def kernel(self, name: str) -> None:
        name = resolve_kernel(name)
        check(self._lib.bn_ctx_set_kernel(self._ctx, KERNEL_NAMES.index(name)),
              f"switching to kernel {name}")

    def close(self) -> None:
        """Stops the thread pool and frees the context now; unusable afterwards. Idempotent."""
        ctx, self._ctx = getattr(self, "_ctx", None), None
        if ctx is not None:
            self._ffi.release(ctx)

    def cancel(self) -> None:
        self._lib.bn_ctx_cancel(self._ctx)

    def clear_cancel(self) -> None:
        self._lib.bn_ctx_clear_cancel(self._ctx)

    @property
    def cancelled(self) -> bool:
        return bool(self._lib.bn_ctx_cancelled(self._ctx))

    # ---- operations ----

    def quantize_activations(self, x) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-row int8 quantization (docs/numerics.md#activation-quantization) of x [n, k]: (q int8 [n, k], scales,
        sums)."""
        x = _array(x, np.float32, 2, "activations")
        n, k = x.shape
        q = np.empty((n, k), np.int8)
        scales = np.empty(n, np.float32)
        sums = np.empty(n, np.int32)
        ffi = self._ffi
        check(self._lib.bn_quantize_activations(
            self._ctx, _ptr(ffi, x, "float *"), n, k, _ptr(ffi, q, "int8_t *"), q.size,
            _ptr(ffi, scales, "float *"), _ptr(ffi, sums, "int32_t *")), "quantize_activations")
        return q, scales, sums

    def _activation_triplet(self, q, scales, sums, k: int):
        q = _array(q, np.int8, 2, "quantized activations")
        if q.shape[1] != k:
            raise ShapeError(f"activation rows have length {q.shape[1]}, the weight has k={k}")
        scales = _array(scales, np.float32, 1, "activation scales")
        if scales.shape[0] != q.shape[0]:
            raise ShapeError(f"{scales.shape[0]} activation scales for {q.shape[0]} rows")
        if sums is not None:
            sums = _array(sums, np.int32, 1, "activation sums")
            if sums.shape[0] != q.shape[0]:
                raise ShapeError(f"{sums.shape[0]} activation sums for {q.shape[0]} rows")
        return q, scales, sums

    def i2s_matmul(self, w, m: int, k: int, q, scales, sums) -> np.ndarray:
        """y [n_tokens, m] = ternary I2_S weight [m, k] (bytes incl. tail) times int8 rows q."""
        w = _array(w, np.uint8, 1, "I2_S weight bytes")
        q, scales, sums = self._activation_triplet(q, scales, sums, k)
        y = np.empty((q.shape[0], m), np.float32)
        ffi = self._ffi
        check(self._lib.bn_i2s_matmul(
            self._ctx, _ptr(ffi, w, "uint8_t *"), w.size, m, k, _ptr(ffi, q, "int8_t *"), q.size,
            _ptr(ffi, scales, "float *"), _ptr(ffi, sums, "int32_t *"), q.shape[0],
            _ptr(ffi, y, "float *"), y.size), f"i2s_matmul [{m} x {k}]")
        return y

    def f16_matmul(self, w, x) -> np.ndarray:
        """y [n_tokens, m] = f16 weight [m, k] times f32 rows x [n_tokens, k] (exact head)."""
        w = _f16_bits(w, "f16 weight")
        x = _array(x, np.float32, 2, "activations")
        m, k = w.shape
        if x.shape[1] != k:
            raise ShapeError(f"activation rows have length {x.shape[1]}, the weight has k={k}")
        y = np.empty((x.shape[0], m), np.float32)
        ffi = self._ffi
        check(self._lib.bn_f16_matmul(
            self._ctx, _ptr(ffi, w, "uint16_t *"), w.size, m, k, _ptr(ffi, x, "float *"), x.size,
            x.shape[0], _ptr(ffi, y, "float *"), y.size), f"f16_matmul [{m} x {k}]")
        return y

    def i8_matmul(self, w, w_scales, q, scales) -> np.ndarray:
        """y [n_tokens, m] = int8 weight [m, k] with row scales times int8 rows q (fast head)."""
        w = _array(w, np.int8, 2, "int8 weight")
        m, k = w.shape
        w_scales = _array(w_scales, np.float32, 1, "weight row scales")
        if w_scales.shape[0] != m:
            raise ShapeError(f"{w_scales.shape[0]} row scales for a weight of {m} rows")
        q, scales, _ = self._activation_triplet(q, scales, None, k)
        y = np.empty((q.shape[0], m), np.float32)
        ffi = self._ffi
        check(self._lib.bn_i8_matmul(
            self._ctx, _ptr(ffi, w, "int8_t *"), w.size, _ptr(ffi, w_scales, "float *"), m, k,
            _ptr(ffi, q, "int8_t *"), q.size, _ptr(ffi, scales, "float *"), q.shape[0],
            _ptr(ffi, y, "float *"), y.size), f"i8_matmul [{m} x {k}]")
        return y

    def quantize_rows_i8(self, w) -> tuple[np.ndarray, np.ndarray]:
        """Per-row symmetric int8 of an f16 matrix [m, k]: (int8 [m, k] in [-127, 127], scales)."""
        w = _f16_bits(w, "f16 weight")
        m, k = w.shape
        out = np.empty((m, k), np.int8)
        scales = np.empty(m, np.float32)
        ffi = self._ffi
        check(self._lib.bn_quantize_rows_i8(
            self._ctx, _ptr(ffi, w, "uint16_t *"), w.size, m, k, _ptr(ffi, out, "int8_t *"),
            out.size, _ptr(ffi, scales, "float *")), f"quantize_rows_i8 [{m} x {k}]")
        return out, scales

    def bench_matmul(self, kind: str, weights: list, m: int, k: int, n_tokens: int,
                     iterations: int, w_scales: list | None = None) -> float:
        """Seconds for `iterations` native matmuls cycling through `weights` (same shape each).

        kind: "i2s" (uint8 I2_S bytes), "f16" (uint16/float16 [m, k]) or "i8" (int8 [m, k] with
        `w_scales`, one float32 [m] array per weight)."""
        kinds = {"i2s": (0, np.uint8), "f16": (1, np.uint16), "i8": (2, np.int8)}
        if kind not in kinds:
            raise ShapeError(f"unknown matmul kind {kind!r}; known: {', '.join(kinds)}")
        code, dtype = kinds[kind]
        arrays = [np.asarray(w).view(np.uint16) if kind == "f16" else np.asarray(w) for w in weights]
        if not arrays or any(a.dtype != dtype or not a.flags.c_contiguous for a in arrays):
            raise ShapeError(f"bench_matmul({kind}) needs C-contiguous {np.dtype(dtype).name} weights")
        w_len = min(a.size for a in arrays)
        ffi = self._ffi
        keep = [ffi.from_buffer(a, require_writable=False) for a in arrays]
        ptrs = ffi.new("void *[]", [ffi.cast("void *", p) for p in keep])
        scale_ptrs = ffi.NULL
        if kind == "i8":
            if w_scales is None or len(w_scales) != len(arrays):
                raise ShapeError("bench_matmul(i8) needs one float32 row-scale array per weight")
            scales = [_array(s, np.float32, 1, "row scales") for s in w_scales]
            if any(s.shape[0] < m for s in scales):
                raise ShapeError(f"row-scale arrays must hold {m} values")
            scale_buffers = [ffi.from_buffer(s, require_writable=False) for s in scales]
            keep += scale_buffers
            scale_ptrs = ffi.new("float *[]", [ffi.cast("float *", b) for b in scale_buffers])
        seconds = ffi.new("double *")
        check(self._lib.bn_bench_matmul(self._ctx, code, ptrs, w_len, scale_ptrs, len(arrays), m, k,
                                        n_tokens, iterations, seconds),
              f"bench_matmul {kind} [{m} x {k}] x {n_tokens} tokens")
        del keep
        return float(seconds[0])

    def measure_read_bandwidth(self, nbytes: int = 1 << 30, repeats: int = 3) -> float:
        """Best of `repeats` parallel read passes over a fresh `nbytes` buffer, in GB/s (1e9)."""
        out = self._ffi.new("double *")
        check(self._lib.bn_measure_read_bandwidth(self._ctx, int(nbytes), int(repeats), out),
              f"measuring read bandwidth over {nbytes} bytes")
        return float(out[0])


# ---- context-free helpers ----

def i2s_nbytes(m: int, k: int) -> int:
    """Bytes of an I2_S tensor [m, k]: m*k/4 codes + 32-byte tail (0 if the shape is invalid)."""
    _, lib = load()
    return int(lib.bn_i2s_nbytes(m, k))


def i2s_pack(t, alpha: float) -> np.ndarray:
    """Ternary int8 [m, k] (values -1, 0, 1; k % 128 == 0) → I2_S bytes with alpha in the tail."""
    t = _array(t, np.int8, 2, "ternary weight")
    m, k = t.shape
    out = np.empty(max(i2s_nbytes(m, k), 1), np.uint8)
    ffi, lib = load()
    check(lib.bn_i2s_pack(_ptr(ffi, t, "int8_t *"), t.size, m, k, float(alpha),
                          _ptr(ffi, out, "uint8_t *"), out.size), f"i2s_pack [{m} x {k}]")
    return out


def i2s_unpack(w, m: int, k: int) -> tuple[np.ndarray, float]:
    """I2_S bytes of a [m, k] weight → (ternary int8 [m, k], alpha)."""
    w = _array(w, np.uint8, 1, "I2_S weight bytes")
    t = np.empty((max(m, 0), max(k, 0)), np.int8)
    ffi, lib = load()
    alpha = ffi.new("float *")
    check(lib.bn_i2s_unpack(_ptr(ffi, w, "uint8_t *"), w.size, m, k, _ptr(ffi, t, "int8_t *"),
                            t.size, alpha), f"i2s_unpack [{m} x {k}]")
    return t, float(alpha[0])


def f32_to_f16(x) -> np.ndarray:
    """IEEE half, round to nearest even, as uint16 bits."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    out = np.empty(x.shape, np.uint16)
    ffi, lib = load()
    check(lib.bn_f32_to_f16(_ptr(ffi, x, "float *"), _ptr(ffi, out, "uint16_t *"), x.size), "f32_to_f16")
    return out


def f16_to_f32(h) -> np.ndarray:
    h = np.ascontiguousarray(h, dtype=np.uint16)
    out = np.empty(h.shape, np.float32)
    ffi, lib = load()
    check(lib.bn_f16_to_f32(_ptr(ffi, h, "uint16_t *"), _ptr(ffi, out, "float *"), h.size), "f16_to_f32")
    return out
