"""Kernel selection (BITNET_KERNEL and the API), thread counts, and cancellation."""
import threading

import numpy as np
import pytest

from bitnet_desktop.engine.errors import CancelledError, KernelError, KernelUnavailableError
from bitnet_desktop.engine.native import KernelContext, cpu_info, resolve_kernel

from tests.engine.native import numpy_reference as npref


@pytest.mark.parametrize("name", ["ref", "avx2", "avx512", "neon", "dotprod"])
def test_forcing_each_variant_through_the_environment(monkeypatch, name):
    info = cpu_info()
    monkeypatch.setenv("BITNET_KERNEL", name)
    if name in info.supported_kernels:
        assert KernelContext(threads=1).kernel == name
    else:
        with pytest.raises(KernelUnavailableError, match=f"{name!r} \\(\\$BITNET_KERNEL\\) cannot run here"):
            KernelContext(threads=1)


def test_unknown_variant_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("BITNET_KERNEL", "sse9")
    with pytest.raises(KernelUnavailableError, match="unknown kernel variant 'sse9'.*known: ref, avx2"):
        resolve_kernel()


def test_api_argument_overrides_environment(monkeypatch):
    monkeypatch.setenv("BITNET_KERNEL", "sse9")
    assert KernelContext(threads=1, kernel="ref").kernel == "ref"


def test_default_is_the_best_supported_variant(monkeypatch):
    monkeypatch.delenv("BITNET_KERNEL", raising=False)
    assert KernelContext(threads=1).kernel == cpu_info().best_kernel


def test_unsupported_variant_via_api_and_setter():
    info = cpu_info()
    missing = [k for k in ("avx2", "avx512", "neon", "dotprod") if k not in info.supported_kernels]
    ctx = KernelContext(threads=1, kernel="ref")
    for name in missing:
        with pytest.raises(KernelUnavailableError, match="available: ref"):
            KernelContext(threads=1, kernel=name)
        with pytest.raises(KernelUnavailableError):
            ctx.kernel = name
        assert ctx.kernel == "ref"


def test_thread_count_can_change_and_results_do_not(rng):
    m, k = 333, 1280
    w = npref.i2s_pack(rng.integers(-1, 2, (m, k), dtype=np.int8), 1.5)
    ctx = KernelContext(threads=1)
    q, s, sums = ctx.quantize_activations(rng.standard_normal((3, k)).astype(np.float32))
    first = ctx.i2s_matmul(w, m, k, q, s, sums)
    for n in (2, 3, 4, 1):
        ctx.threads = n
        assert ctx.threads == n
        assert np.array_equal(ctx.i2s_matmul(w, m, k, q, s, sums), first)


def test_invalid_thread_counts_are_refused():
    with pytest.raises(KernelError, match="thread"):
        KernelContext(threads=0)
    ctx = KernelContext(threads=2)
    with pytest.raises(KernelError, match="thread"):
        ctx.threads = 100000
    assert ctx.threads == 2


def test_cancel_flag_stops_operations_until_cleared(rng):
    ctx = KernelContext(threads=2)
    x = rng.standard_normal((2, 256)).astype(np.float32)
    ctx.cancel()
    assert ctx.cancelled
    with pytest.raises(CancelledError, match="quantize_activations: cancelled"):
        ctx.quantize_activations(x)
    ctx.clear_cancel()
    assert not ctx.cancelled
    assert ctx.quantize_activations(x)[0].shape == (2, 256)


def test_native_calls_release_the_gil():
    """A long native call in a worker thread must leave the calling thread free to run Python."""
    ctx = KernelContext(threads=1)
    worker = threading.Thread(target=lambda: ctx.measure_read_bandwidth(256 << 20, repeats=4))
    ticks = 0
    worker.start()
    while worker.is_alive():
        ticks += 1
    worker.join()
    assert ticks > 1000


def test_concurrent_callers_on_one_context_get_correct_results(rng):
    m, k = 200, 2560
    w = npref.i2s_pack(rng.integers(-1, 2, (m, k), dtype=np.int8), 1.0)
    ctx = KernelContext(threads=2)
    q, s, sums = ctx.quantize_activations(rng.standard_normal((2, k)).astype(np.float32))
    expected = ctx.i2s_matmul(w, m, k, q, s, sums)
    failures = []

    def hammer():
        for _ in range(50):
            if not np.array_equal(ctx.i2s_matmul(w, m, k, q, s, sums), expected):
                failures.append(1)

    threads = [threading.Thread(target=hammer) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
