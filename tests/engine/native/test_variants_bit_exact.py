"""Every SIMD variant against the scalar reference, bit for bit, on seeded random and adversarial
inputs, for many shapes and 1, 2 and 3 threads. A variant this CPU cannot run is reported as
skipped with the reason (it is still covered where the hardware has it)."""
import numpy as np
import pytest

from bitnet_desktop.engine.native import KernelContext, cpu_info

from tests.engine.native import numpy_reference as npref

SIMD_VARIANTS = ["avx2", "avx512", "neon", "dotprod"]
I2S_SHAPES = [(1, 128), (3, 128), (5, 256), (17, 384), (31, 640), (64, 2560), (7, 6912), (130, 1280)]
DENSE_SHAPES = [(1, 32), (3, 64), (19, 96), (33, 2560), (5, 6912)]
TOKENS = [1, 2, 3, 4, 5, 8, 13, 17]


def _variant(name):
    info = cpu_info()
    if name not in info.compiled_kernels:
        pytest.skip(f"{name} is not compiled for {info.arch}")
    if name not in info.supported_kernels:
        pytest.skip(f"this CPU ({info.brand or info.arch}) cannot run {name}")
    return name


def _activations(rng, n, k, mode):
    if mode == "random":
        return (rng.standard_normal((n, k)) * rng.uniform(0.1, 10, (n, 1))).astype(np.float32)
    if mode == "max":
        return np.full((n, k), 3.0, np.float32)  # quantizes to all +127
    return np.where(rng.random((n, k)) < 0.5, -1.0, 1.0).astype(np.float32)  # all ±127


def _int8_extremes(n, k):
    q = np.full((n, k), -128, np.int8)
    q[1::2] = 127
    return q


@pytest.fixture(params=[1, 2, 3], ids=lambda t: f"{t}threads")
def threads(request):
    return request.param


@pytest.mark.parametrize("variant", SIMD_VARIANTS)
def test_quantize_activations(variant, threads, rng):
    ctx = KernelContext(threads=threads, kernel=_variant(variant))
    ref = KernelContext(threads=1, kernel="ref")
    for k in list(range(1, 70)) + [127, 128, 129, 255, 2560, 6912]:
        x = _activations(rng, 3, k, "random")
        x[0, k // 2] = np.float32(1e-30)
        for a, b in zip(ctx.quantize_activations(x), ref.quantize_activations(x)):
            assert np.array_equal(a, b), f"k={k}"
    special = np.array([[np.nan, 1.0, -2.0, np.inf, 0.5] * 8, [np.nan] * 40, [0.0] * 40], np.float32)
    for a, b in zip(ctx.quantize_activations(special), ref.quantize_activations(special)):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("variant", SIMD_VARIANTS)
@pytest.mark.parametrize("mode", ["random", "max", "signs"])
def test_i2s_matmul(variant, threads, mode, rng):
    ctx = KernelContext(threads=threads, kernel=_variant(variant))
    ref = KernelContext(threads=1, kernel="ref")
    for m, k in I2S_SHAPES:
        t = rng.integers(-1, 2, (m, k), dtype=np.int8)
        if mode != "random":
            t[: m // 2] = 1 if mode == "max" else -1
        w = npref.i2s_pack(t, float(rng.uniform(0.5, 3)))
        for n in TOKENS:
            q, s, sums = ref.quantize_activations(_activations(rng, n, k, mode))
            expected = ref.i2s_matmul(w, m, k, q, s, sums)
            assert np.array_equal(ctx.i2s_matmul(w, m, k, q, s, sums), expected), f"{m}x{k} n={n}"


@pytest.mark.parametrize("variant", SIMD_VARIANTS)
def test_i2s_matmul_int8_extremes_and_code_3(variant, threads, rng):
    ctx = KernelContext(threads=threads, kernel=_variant(variant))
    ref = KernelContext(threads=1, kernel="ref")
    for m, k in [(5, 6912), (9, 2560)]:
        w = rng.integers(0, 256, m * k // 4 + 32, dtype=np.uint8)  # codes 0..3, code 3 included
        w[m * k // 4: m * k // 4 + 4] = np.frombuffer(np.float32(1.0).tobytes(), np.uint8)
        for n in (1, 4, 7):
            q = _int8_extremes(n, k)
            s = np.ones(n, np.float32)
            sums = q.astype(np.int32).sum(axis=1).astype(np.int32)
            expected = ref.i2s_matmul(w, m, k, q, s, sums)
            assert np.array_equal(expected, npref.i2s_matmul(w, m, k, q, s, sums))
            assert np.array_equal(ctx.i2s_matmul(w, m, k, q, s, sums), expected)


@pytest.mark.parametrize("variant", SIMD_VARIANTS)
def test_f16_matmul(variant, threads, rng):
    ctx = KernelContext(threads=threads, kernel=_variant(variant))
    ref = KernelContext(threads=1, kernel="ref")
    for m, k in DENSE_SHAPES:
        w = rng.standard_normal((m, k)).astype(np.float16)
        w.flat[:: 7] = np.float16(6e-8)  # subnormals
        for n in TOKENS:
            x = rng.standard_normal((n, k)).astype(np.float32)
            assert np.array_equal(ctx.f16_matmul(w, x), ref.f16_matmul(w, x)), f"{m}x{k} n={n}"


@pytest.mark.parametrize("variant", SIMD_VARIANTS)
def test_i8_matmul(variant, threads, rng):
    ctx = KernelContext(threads=threads, kernel=_variant(variant))
    ref = KernelContext(threads=1, kernel="ref")
    for m, k in DENSE_SHAPES:
        w = rng.integers(-127, 128, (m, k), dtype=np.int8)
        w[0] = -127
        ws = rng.uniform(1e-3, 1e-1, m).astype(np.float32)
        for n in TOKENS:
            q = rng.integers(-128, 128, (n, k), dtype=np.int8)
            if n > 1:
                q[:2] = _int8_extremes(2, k)
            s = rng.uniform(1, 100, n).astype(np.float32)
            assert np.array_equal(ctx.i8_matmul(w, ws, q, s), ref.i8_matmul(w, ws, q, s)), f"{m}x{k} n={n}"
