"""`bitnet-desktop bench kernels` measures every shape against the bandwidth of the same run."""
import json

import pytest

from bitnet_desktop.engine.benchmarks.kernel_bench import HEAD_SHAPE, TERNARY_SHAPES
from bitnet_desktop.engine.native import cpu_info
from tests.cli.test_info import run_cli


@pytest.mark.slow
def test_bench_kernels_json_covers_every_shape():
    kernel = cpu_info().best_kernel
    result = run_cli("bench", "kernels", "--kernel", kernel, "--threads", "2", "--tokens", "8",
                     "--working-set-mib", "64", "--min-seconds", "0.01", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["threads"] == 2 and report["read_bandwidth_gbps"] > 0
    rows = {(r["op"], r["m"], r["k"]) for r in report["results"]}
    expected = {("i2s", m, k) for _, m, k in TERNARY_SHAPES}
    expected |= {("f16", HEAD_SHAPE[1], HEAD_SHAPE[2]), ("i8", HEAD_SHAPE[1], HEAD_SHAPE[2])}
    assert rows == expected
    for r in report["results"]:
        assert r["kernel"] == kernel
        assert r["gemv_fraction_of_bandwidth"] == pytest.approx(r["gemv_gbps"] / report["read_bandwidth_gbps"])
        assert r["gemv_gbps"] == pytest.approx(r["weight_bytes"] / r["gemv_ms"] / 1e6)
        if kernel != "ref":
            assert r["gemm_tokens"] == 8
            assert r["gemm_gmacs"] == pytest.approx(r["m"] * r["k"] * 8 / r["gemm_ms"] / 1e6)


def test_bench_refuses_unavailable_kernel():
    missing = [k for k in ("avx512", "avx2", "dotprod") if k not in cpu_info().supported_kernels]
    result = run_cli("bench", "kernels", "--kernel", missing[0])
    assert result.returncode == 2 and "cannot run here" in result.stderr
