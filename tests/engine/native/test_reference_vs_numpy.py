"""The scalar reference kernels against independent NumPy statements of the same formulas."""
import numpy as np
import pytest

from bitnet_desktop.engine.native import i2s_pack, i2s_unpack

from tests.engine.native import numpy_reference as npref


@pytest.mark.parametrize("n,k", [(1, 1), (3, 7), (5, 128), (2, 2560), (1, 6912)])
def test_quantize_matches_numpy(ref_ctx, rng, n, k):
    x = (rng.standard_normal((n, k)) * rng.uniform(0.01, 100, (n, 1))).astype(np.float32)
    q, s, sums = ref_ctx.quantize_activations(x)
    eq, es, esums = npref.quantize_activations(x)
    assert np.array_equal(q, eq) and np.array_equal(s, es) and np.array_equal(sums, esums)


def test_quantize_rounds_ties_to_even(ref_ctx):
    # amax 127 gives s == 1.0 exactly, so x*s == x and the .5 ties survive to the rounding.
    x = np.array([[127.0, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.49, -3.51]], np.float32)
    q, s, sums = ref_ctx.quantize_activations(x)
    assert s[0] == 1.0
    assert q.tolist() == [[127, 0, 2, 2, 0, -2, -2, 3, -4]]
    assert sums[0] == sum(q[0].astype(int))


def test_quantize_zero_row_uses_floor(ref_ctx):
    q, s, sums = ref_ctx.quantize_activations(np.zeros((1, 64), np.float32))
    assert s[0] == np.float32(127.0 / 1e-5) and not q.any() and sums[0] == 0


@pytest.mark.parametrize("m,k,n", [(1, 128, 1), (7, 256, 3), (33, 384, 5), (64, 2560, 2)])
def test_i2s_matmul_matches_numpy(ref_ctx, rng, m, k, n):
    t = rng.integers(-1, 2, (m, k), dtype=np.int8)
    w = npref.i2s_pack(t, 0.8125)
    x = rng.standard_normal((n, k)).astype(np.float32)
    q, s, sums = ref_ctx.quantize_activations(x)
    y = ref_ctx.i2s_matmul(w, m, k, q, s, sums)
    assert np.array_equal(y, npref.i2s_matmul(w, m, k, q, s, sums))


def test_i2s_matmul_is_exact_for_extreme_activations(ref_ctx, rng):
    # all -128 / +127 with every weight +1 or -1: |D| = 2*128*6912 would wrap any int16 sum.
    m, k = 4, 6912
    t = np.array([[1] * k, [-1] * k, [0] * k, list(rng.integers(-1, 2, k))], np.int8)
    w = npref.i2s_pack(t, 1.0)
    q = np.stack([np.full(k, -128, np.int8), np.full(k, 127, np.int8)])
    s = np.ones(2, np.float32)
    sums = q.astype(np.int32).sum(axis=1).astype(np.int32)
    y = ref_ctx.i2s_matmul(w, m, k, q, s, sums)
    assert y[0, 0] == -128.0 * k and y[1, 0] == 127.0 * k and y[0, 1] == 128.0 * k
    assert np.array_equal(y, npref.i2s_matmul(w, m, k, q, s, sums))


@pytest.mark.parametrize("m,k,n", [(1, 32, 1), (9, 64, 2), (31, 2560, 3)])
def test_i8_matmul_matches_numpy(ref_ctx, rng, m, k, n):
    w = rng.integers(-127, 128, (m, k), dtype=np.int8)
    ws = rng.uniform(0.001, 0.1, m).astype(np.float32)
    q = rng.integers(-128, 128, (n, k), dtype=np.int8)
    s = rng.uniform(1, 100, n).astype(np.float32)
    assert np.array_equal(ref_ctx.i8_matmul(w, ws, q, s), npref.i8_matmul(w, ws, q, s))


@pytest.mark.parametrize("m,k,n", [(1, 32, 1), (17, 96, 2), (8, 2560, 3)])
def test_f16_matmul_close_to_exact_product(ref_ctx, rng, m, k, n):
    w = rng.standard_normal((m, k)).astype(np.float16)
    x = rng.standard_normal((n, k)).astype(np.float32)
    y = ref_ctx.f16_matmul(w, x)
    exact = npref.f16_matmul_f64(w.view(np.uint16), x)
    bound = (np.abs(x).astype(np.float64) @ np.abs(w.astype(np.float64)).T) * k * 2.0 ** -24
    assert np.all(np.abs(y - exact) <= bound)


def test_quantize_rows_i8_matches_definition(ref_ctx, rng):
    w = (rng.standard_normal((13, 64)) * 0.05).astype(np.float16)
    w[3] = 0
    out, scales = ref_ctx.quantize_rows_i8(w)
    wf = w.astype(np.float32)
    amax = np.abs(wf).max(axis=1)
    with np.errstate(divide="ignore"):
        inv = np.where(amax > 0, np.float32(127) / amax, 0).astype(np.float32)
    expected = np.clip(np.rint(wf * inv[:, None]), -127, 127).astype(np.int8)
    assert np.array_equal(out, expected)
    assert np.array_equal(scales, np.where(amax > 0, amax / np.float32(127), 0).astype(np.float32))
    assert out.min() >= -127


def test_i2s_pack_matches_numpy_and_round_trips(rng):
    t = rng.integers(-1, 2, (5, 384), dtype=np.int8)
    w = i2s_pack(t, 1.25)
    assert np.array_equal(w, npref.i2s_pack(t, 1.25))
    t2, alpha = i2s_unpack(w, 5, 384)
    assert np.array_equal(t, t2) and alpha == 1.25


def test_i2s_worked_example_from_the_spec():
    # docs/file-formats.md#i2_s: elements 0, 32, 64, 96 = +1, 0, -1, +1 give byte 0 == 0x92.
    t = np.zeros((1, 128), np.int8)
    t[0, [0, 32, 64, 96]] = [1, 0, -1, 1]
    assert i2s_pack(t, 1.0)[0] == 0x92


def test_i2s_unpack_reads_code_3_as_zero_and_ignores_tail_garbage():
    w = np.full(32 + 32, 0xFF, np.uint8)  # every code is 3; tail bytes 4..31 are garbage
    w[32:36] = np.frombuffer(np.float32(2.0).tobytes(), np.uint8)
    t, alpha = i2s_unpack(w, 1, 128)
    assert not t.any() and alpha == 2.0
