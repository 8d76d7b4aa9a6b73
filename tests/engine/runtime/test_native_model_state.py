"""NativeModel's KV cache state (truncation, reuse, cancellation), argument errors, creation-time
validation with named errors, and its memory facts."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from bitnet_desktop.engine.errors import CancelledError, ShapeError
from bitnet_desktop.engine.native import KernelContext
from bitnet_desktop.engine.native._loader import load
from bitnet_desktop.engine.runtime.native_model import (
    ContextFullError,
    ModelConfigError,
    NativeModel,
    PositionError,
    TokenRangeError,
    WeightSizeError,
)
from tests.engine.runtime.native_helpers import build, native_config
from tests.engine.runtime.reference_forward import make_model


@pytest.fixture(scope="module")
def small():
    return make_model(11, n_layers=2, d_model=256, n_heads=4, n_kv_heads=2, d_ffn=384)


@pytest.fixture
def ctx():
    return KernelContext(threads=2)


def _tokens(m, n, seed=0):
    return np.random.default_rng(seed).integers(0, m.vocab, n)


# ---- KV cache ----

def test_truncate_then_suffix_equals_fresh_run(small, ctx):
    a, b, c = _tokens(small, 7, 1), _tokens(small, 5, 2), _tokens(small, 4, 3)
    model = build(small, ctx)
    model.forward(np.concatenate([a, b]), 0)
    assert model.kv_length == 12
    model.truncate(len(a))
    assert model.kv_length == 7
    reused = model.forward(c, len(a), all_logits=True)
    fresh = build(small, ctx).forward(np.concatenate([a, c]), 0, all_logits=True)
    np.testing.assert_array_equal(reused, fresh[len(a):])
    # a smaller pos truncates implicitly (chat KV-prefix reuse)
    again = model.forward(c, len(a), all_logits=True)
    np.testing.assert_array_equal(again, reused)
    assert model.kv_length == len(a) + len(c)


def test_prefill_then_generate_equals_single_call(small, ctx):
    tokens = _tokens(small, 9, 4)
    model = build(small, ctx)
    model.prefill(tokens[:8], 0)
    assert model.kv_length == 8
    step = model.forward(tokens[8:], None)   # pos defaults to kv_length
    full = build(small, ctx).forward(tokens, 0)
    np.testing.assert_array_equal(step, full)


def test_prompt_longer_than_max_batch_runs_in_chunks(small, ctx):
    tokens = _tokens(small, 23, 5)
    chunked = build(small, ctx, max_batch=5).forward(tokens, 0, all_logits=True)
    whole = build(small, ctx, max_batch=64).forward(tokens, 0, all_logits=True)
    np.testing.assert_array_equal(chunked, whole)


def test_thread_count_change_after_creation(small):
    ctx = KernelContext(threads=1)
    model = build(small, ctx)
    tokens = _tokens(small, 6, 6)
    one = model.forward(tokens, 0, all_logits=True).copy()
    before = model.scratch_bytes
    ctx.threads = 3                      # per-thread attention scratch grows on the next call
    three = model.forward(tokens, 0, all_logits=True)
    np.testing.assert_array_equal(one, three)
    assert model.scratch_bytes > before


def test_cancel_mid_forward_keeps_completed_chunks(ctx):
    m = make_model(12, n_layers=6, d_model=512, n_heads=8, n_kv_heads=2, d_ffn=1024)
    tokens = _tokens(m, 256, 7)
    model = build(m, ctx, max_context=256, max_batch=8)
    errors = []

    def run():
        try:
            model.forward(tokens, 0)
        except CancelledError as exc:
            errors.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    deadline = time.monotonic() + 30
    while model.kv_length < 8 and worker.is_alive() and time.monotonic() < deadline:
        time.sleep(0.0005)
    model.cancel()                       # after the first chunk, long before the 32nd
    worker.join()
    kept = model.kv_length
    assert errors, "the forward call finished before it could be cancelled"
    assert 8 <= kept < 256 and kept % 8 == 0
    # raised flag: every call is refused until cleared, and the cache is untouched
    with pytest.raises(CancelledError):
        model.forward(tokens[kept:kept + 1], kept)
    assert model.kv_length == kept
    model.clear_cancel()
    resumed = model.forward(tokens[kept:], kept)
    fresh = build(m, ctx, max_context=256, max_batch=8).forward(tokens, 0)
    np.testing.assert_array_equal(resumed, fresh)


# ---- argument errors at forward time ----

def test_token_out_of_range_is_an_error(small, ctx):
    model = build(small, ctx)
    model.forward([1, 2, 3], 0)
    for bad in ([small.vocab], [-1], [0, 5, small.vocab + 100]):
        with pytest.raises(TokenRangeError, match="outside the vocabulary"):
            model.forward(bad, 3)
    assert model.kv_length == 3
    # the library checks too (a caller that bypasses the wrapper gets a status, not a crash)
    ffi, lib = load()
    bad = np.array([1, small.vocab], np.int32)
    out = np.empty(small.vocab, np.float32)
    status = lib.bn_model_forward(model._model, ffi.cast("int32_t *", ffi.from_buffer(bad)), 2, 3,
                                  ffi.cast("float *", ffi.from_buffer(out)), out.size, 0)
    assert status == lib.BN_ERR_TOKEN_RANGE
    assert model.kv_length == 3


def test_positions_and_context_limits(small, ctx):
    model = build(small, ctx, max_context=16)
    model.forward([1, 2], 0)
    with pytest.raises(PositionError):
        model.forward([3], 5)            # gap: positions 2..4 were never computed
    with pytest.raises(PositionError):
        model.forward([3], -1)
    with pytest.raises(PositionError):
        model.truncate(3)
    with pytest.raises(ContextFullError):
        model.forward(list(range(15)), 2)
    model.forward(list(range(14)), 2)    # exactly fills the context
    assert model.kv_length == 16
    with pytest.raises(ShapeError):
        model.forward([], 0)
    with pytest.raises(ShapeError):
        model.forward([1, 2], 0, out=np.empty(small.vocab, np.float32), all_logits=True)


# ---- validation at creation ----

def _layers(m):
    return m.engine_layers()


_SAME = object()


def _create(m, ctx, layers=None, config=None, embd=None, norm=None, output=_SAME):
    return NativeModel(ctx, config or native_config(m), layers if layers is not None else _layers(m),
                       m.token_embd if embd is None else embd,
                       m.output_norm if norm is None else norm,
                       m.output if output is _SAME else output)


def test_weight_lengths_are_checked_with_named_errors(small, ctx):
    layers = _layers(small)
    data, scale = layers[1]["attn_k"]
    layers[1]["attn_k"] = (data[:-1], scale)
    with pytest.raises(WeightSizeError, match=r"blk\.1\.attn_k has \d+ bytes"):
        _create(small, ctx, layers)
    layers = _layers(small)
    layers[0]["attn_k"], layers[0]["attn_q"] = layers[0]["attn_q"], layers[0]["attn_k"]
    with pytest.raises(WeightSizeError, match=r"blk\.0\.attn_q"):
        _create(small, ctx, layers)
    layers = _layers(small)
    layers[0]["ffn_sub_norm"] = layers[0]["ffn_norm"]          # [d] where [f] is needed
    with pytest.raises(WeightSizeError, match=r"blk\.0\.ffn_sub_norm has 256 floats"):
        _create(small, ctx, layers)
    with pytest.raises(WeightSizeError, match="token_embd"):
        _create(small, ctx, embd=small.token_embd[:-1])
    with pytest.raises(WeightSizeError, match="output has"):
        _create(small, ctx, output=small.token_embd[:-1])
    with pytest.raises(WeightSizeError, match="output_norm"):
        _create(small, ctx, norm=small.output_norm[:-1])
    with pytest.raises(ShapeError, match="layers given"):
        _create(small, ctx, layers=_layers(small)[:1])
    layers = _layers(small)
    del layers[0]["ffn_up"]
    with pytest.raises(ShapeError, match="ffn_up"):
        _create(small, ctx, layers)
    layers = _layers(small)
    layers[0]["attn_norm"] = layers[0]["attn_norm"].astype(np.float64)
    with pytest.raises(ShapeError, match="float32"):
        _create(small, ctx, layers)


def test_bad_values_are_refused(small, ctx):
    layers = _layers(small)
    data, _ = layers[0]["ffn_down"]
    broken = data.copy()
    broken[-32:-28] = np.frombuffer(np.float32(np.nan).tobytes(), np.uint8)
    layers[0]["ffn_down"] = (broken, 1.0)
    with pytest.raises(ModelConfigError, match=r"blk\.0\.ffn_down has a non-finite alpha"):
        _create(small, ctx, layers)
    layers = _layers(small)
    layers[1]["attn_v"] = (layers[1]["attn_v"][0], 0.0)
    with pytest.raises(ModelConfigError, match=r"blk\.1\.attn_v scale"):
        _create(small, ctx, layers)
    layers = _layers(small)
    layers[0]["attn_sub_norm"] = layers[0]["attn_sub_norm"].copy()
    layers[0]["attn_sub_norm"][3] = np.inf
    with pytest.raises(ModelConfigError, match=r"attn_sub_norm\[3\]"):
        _create(small, ctx, layers)


@pytest.mark.parametrize("change, error, message", [
    (dict(head_dim=32), ShapeError, "n_heads \\* head_dim"),
    (dict(n_kv_heads=3), ShapeError, "n_kv_heads = 3 must divide"),
    (dict(d_model=192, n_heads=4, head_dim=48), ShapeError, "multiple of 128"),
    (dict(d_ffn=200), ShapeError, "d_ffn = 200"),
    (dict(n_heads=8, head_dim=33, d_model=264), ShapeError, "multiple of 128"),
    (dict(max_context=0), ModelConfigError, "max_context"),
    (dict(rms_eps=float("nan")), ModelConfigError, "rms_eps"),
    (dict(rope_theta=-1.0), ModelConfigError, "rope_theta"),
    (dict(activation="gelu"), ModelConfigError, "activation"),
    (dict(head="q4"), ModelConfigError, "head mode"),
])
def test_bad_configs_are_refused(small, ctx, change, error, message):
    fields = native_config(small).__dict__ | change
    config = type(native_config(small))(**fields)
    with pytest.raises(error, match=message):
        _create(small, ctx, config=config)


def test_odd_head_dim_is_refused_by_the_library(ctx):
    ffi, lib = load()
    cfg = ffi.new("bn_model_config *", dict(n_layers=1, d_model=128, n_heads=2, n_kv_heads=1,
                                            head_dim=64, d_ffn=128, vocab=10, rope_theta=1e4,
                                            rms_eps=1e-5, activation=0, head_mode=0,
                                            max_context=8, max_batch=8, tok_embd_type=lib.BN_GGML_F16,
                                            output_type=lib.BN_GGML_F16))
    assert lib.bn_model_memory_estimate(cfg, 1, ffi.NULL, ffi.NULL, ffi.NULL, ffi.NULL) == 0
    cfg.head_dim, cfg.n_heads, cfg.d_model = 3, 128, 384      # odd: RoPE needs pairs
    assert lib.bn_model_memory_estimate(cfg, 1, ffi.NULL, ffi.NULL, ffi.NULL, ffi.NULL) == lib.BN_ERR_BAD_SHAPE
    cfg.head_dim, cfg.n_heads = 2, 64
    cfg.max_context = 1 << 30
    assert lib.bn_model_memory_estimate(cfg, 1, ffi.NULL, ffi.NULL, ffi.NULL, ffi.NULL) == lib.BN_ERR_BAD_SHAPE


# ---- memory facts ----

def test_memory_facts(small, ctx):
    config = native_config(small, max_context=100, max_batch=16)
    model = NativeModel(ctx, config, _layers(small), small.token_embd, small.output_norm)
    hd, ctx_alloc = small.head_dim, 128          # 100 positions rounded up to 128
    expected_kv = 2 * small.n_layers * small.n_kv_heads * ctx_alloc * (hd + hd)
    assert model.kv_bytes == expected_kv
    assert model.head_bytes == 0
    estimate = NativeModel.estimate_memory(config, ctx.threads)
    assert estimate == {"kv": model.kv_bytes, "scratch": model.scratch_bytes, "head": 0, "decoded_head": 0}
    fast = NativeModel(ctx, native_config(small, max_context=100, max_batch=16, head="i8"),
                       _layers(small), small.token_embd, small.output_norm)
    assert fast.head_bytes == small.vocab * small.d_model + ((4 * small.vocab + 63) // 64) * 64
    assert fast.allocated_bytes == fast.kv_bytes + fast.scratch_bytes + fast.head_bytes
    # 2B-4T: 76,800 KV bytes per position (docs/numerics.md#attention-and-the-f16-kv-cache)
    big = type(config)(n_layers=30, d_model=2560, n_heads=20, n_kv_heads=5, head_dim=128,
                       d_ffn=6912, vocab=128256, max_context=4096)
    assert NativeModel.estimate_memory(big, 4)["kv"] == 76800 * 4096


def test_from_named_tensors_uses_gguf_names(ctx):
    m = make_model(13, n_layers=2, d_model=128, n_heads=2, n_kv_heads=1, d_ffn=256,
                   activation="silu", scales=True, tied=False)
    tensors = {"token_embd.weight": m.token_embd.view(np.float16), "output.weight": m.output,
               "output_norm.weight": m.output_norm}
    for i, layer in enumerate(m.layers):
        for name, value in layer.items():
            if name.endswith(".scale"):
                tensors[f"blk.{i}.{name}"] = np.array([value], np.float32)
            else:
                tensors[f"blk.{i}.{name}.weight"] = value
    model = NativeModel.from_named_tensors(ctx, native_config(m), tensors)
    tokens = _tokens(m, 5, 8)
    np.testing.assert_array_equal(model.forward(tokens, 0, all_logits=True),
                                  build(m, ctx).forward(tokens, 0, all_logits=True))
    del tensors["blk.1.ffn_down.weight"]
    with pytest.raises(ShapeError, match="blk.1.ffn_down.weight"):
        NativeModel.from_named_tensors(ctx, native_config(m), tensors)
