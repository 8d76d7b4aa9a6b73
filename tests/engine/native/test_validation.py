"""Bad sizes, shapes and values are refused with an error that names the problem; nothing crashes."""
import numpy as np
import pytest

from bitnet_desktop.engine.errors import KernelError, ShapeError
from bitnet_desktop.engine.native import i2s_nbytes, i2s_pack, i2s_unpack
from bitnet_desktop.engine.native._loader import load

from tests.engine.native import numpy_reference as npref


def test_i2s_refuses_k_not_multiple_of_128(ref_ctx):
    q, s, sums = ref_ctx.quantize_activations(np.ones((1, 100), np.float32))
    with pytest.raises(ShapeError, match="dimension is invalid"):
        ref_ctx.i2s_matmul(np.zeros(64, np.uint8), 2, 100, q, s, sums)
    with pytest.raises(ShapeError, match="i2s_pack"):
        i2s_pack(np.zeros((2, 100), np.int8), 1.0)


def test_i2s_refuses_short_weight_buffer(ref_ctx):
    m, k = 4, 256
    w = npref.i2s_pack(np.zeros((m, k), np.int8), 1.0)
    q, s, sums = ref_ctx.quantize_activations(np.ones((1, k), np.float32))
    with pytest.raises(ShapeError, match="smaller than its shape"):
        ref_ctx.i2s_matmul(w[:-1], m, k, q, s, sums)  # the tail's last byte is missing
    with pytest.raises(ShapeError, match="smaller than its shape"):
        i2s_unpack(w[:100], m, k)


def test_activation_length_must_match_weight(ref_ctx):
    w = npref.i2s_pack(np.zeros((4, 256), np.int8), 1.0)
    q, s, sums = ref_ctx.quantize_activations(np.ones((1, 128), np.float32))
    with pytest.raises(ShapeError, match="length 128, the weight has k=256"):
        ref_ctx.i2s_matmul(w, 4, 256, q, s, sums)


def test_wrong_dtype_and_layout_are_refused(ref_ctx):
    with pytest.raises(ShapeError, match="float32"):
        ref_ctx.quantize_activations(np.ones((2, 8), np.float64))
    with pytest.raises(ShapeError, match="C-contiguous"):
        ref_ctx.quantize_activations(np.ones((8, 2), np.float32).T)
    with pytest.raises(ShapeError, match="2 dimension"):
        ref_ctx.quantize_activations(np.ones(8, np.float32))


def test_head_k_must_be_multiple_of_32(ref_ctx):
    with pytest.raises(ShapeError):
        ref_ctx.f16_matmul(np.zeros((2, 40), np.float16), np.zeros((1, 40), np.float32))


def test_pack_refuses_non_ternary_values():
    t = np.zeros((1, 128), np.int8)
    t[0, 5] = 2
    with pytest.raises(KernelError, match="outside its allowed range"):
        i2s_pack(t, 1.0)


def test_native_layer_checks_sizes_itself():
    """Below the Python checks: the library refuses lengths and shapes on its own."""
    ffi, lib = load()
    ctx = ffi.new("bn_ctx **")
    assert lib.bn_ctx_create(1, 0, ctx) == 0
    ctx = ffi.gc(ctx[0], lib.bn_ctx_free)
    w = ffi.new("uint8_t[]", 64)
    q = ffi.new("int8_t[]", 128)
    s = ffi.new("float[]", 1)
    sums = ffi.new("int32_t[]", 1)
    y = ffi.new("float[]", 1)
    assert lib.bn_i2s_matmul(ctx, w, 64, 1, 128, q, 128, s, sums, 1, y, 1) == lib.BN_OK
    assert lib.bn_i2s_matmul(ctx, w, 63, 1, 128, q, 128, s, sums, 1, y, 1) == lib.BN_ERR_BUFFER_TOO_SMALL
    assert lib.bn_i2s_matmul(ctx, w, 64, 1, 128, q, 127, s, sums, 1, y, 1) == lib.BN_ERR_BUFFER_TOO_SMALL
    assert lib.bn_i2s_matmul(ctx, w, 64, 1, 128, q, 128, s, sums, 1, y, 0) == lib.BN_ERR_BUFFER_TOO_SMALL
    assert lib.bn_i2s_matmul(ctx, w, 64, 1, 64, q, 128, s, sums, 1, y, 1) == lib.BN_ERR_BAD_SHAPE
    assert lib.bn_i2s_matmul(ctx, w, 64, -1, 128, q, 128, s, sums, 1, y, 1) == lib.BN_ERR_BAD_SHAPE
    assert lib.bn_i2s_matmul(ctx, ffi.NULL, 64, 1, 128, q, 128, s, sums, 1, y, 1) == lib.BN_ERR_NULL_POINTER
    huge = 1 << 40  # m * k overflows the 2^62 guard: refused before any arithmetic wraps
    assert lib.bn_i2s_matmul(ctx, w, 64, huge, huge, q, 128, s, sums, 1, y, 1) == lib.BN_ERR_BAD_SHAPE
    assert lib.bn_i2s_nbytes(huge, huge) == 0
    assert i2s_nbytes(2560, 2560) == 2560 * 2560 // 4 + 32
