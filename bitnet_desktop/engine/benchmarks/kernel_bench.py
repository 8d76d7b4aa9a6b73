"""Times every kernel variant on the BitNet-b1.58-2B-4T matrix shapes, and the machine's memory
read bandwidth in the same run, so speeds are reported as ratios that survive a noisy machine.

GEMV (one token) streams its weights from memory: each shape is copied until the copies exceed
`working_set_bytes` (far beyond the last-level cache) and the calls cycle through the copies, as
a forward pass over 30 layers does. GEMM (prompt processing) reuses one copy: it is compute-bound.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

from ..native import KernelContext, cpu_info, i2s_nbytes

# (name, m, k) of the 2B-4T ternary matrices and its tied f16 output head.
TERNARY_SHAPES = (
    ("attn_q/attn_output", 2560, 2560),
    ("attn_k/attn_v", 640, 2560),
    ("ffn_gate/ffn_up", 6912, 2560),
    ("ffn_down", 2560, 6912),
)
HEAD_SHAPE = ("output head", 128256, 2560)

# bitnet.cpp's best published I2_S GEMM rate (docs/published-numbers.md#i2_s-kernel-microbenchmarks):
# [128,2048]x[2048,2048] in
# 5.81 ms on one EPYC 7V13 thread.
BITNET_CPP_GEMM_GMACS_PER_THREAD = 128 * 2048 * 2048 / 5.81e-3 / 1e9


@dataclass
class KernelResult:
    kernel: str
    op: str            # "i2s", "f16" (exact head) or "i8" (fast head)
    shape: str
    m: int
    k: int
    weight_bytes: int
    gemv_ms: float
    gemv_gbps: float
    gemv_fraction_of_bandwidth: float
    gemm_tokens: int = 0
    gemm_ms: float | None = None
    gemm_gmacs: float | None = None
    gemm_gmacs_per_thread: float | None = None
    gemm_vs_bitnet_cpp_per_thread: float | None = None
    note: str = ""


@dataclass
class KernelBenchReport:
    cpu: dict
    threads: int
    read_bandwidth_gbps: float
    working_set_bytes: int
    results: list[KernelResult] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["bitnet_cpp_gemm_gmacs_per_thread"] = BITNET_CPP_GEMM_GMACS_PER_THREAD
        return d


def random_i2s_weight(m: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """I2_S bytes of a random ternary [m, k] weight (codes 0..2 only) with alpha 1.0."""
    codes = rng.integers(0, 3, size=(m * k // 4, 4), dtype=np.uint8)
    packed = (codes[:, 0] << 6) | (codes[:, 1] << 4) | (codes[:, 2] << 2) | codes[:, 3]
    tail = np.zeros(32, np.uint8)
    tail[:4] = np.frombuffer(np.float32(1.0).tobytes(), np.uint8)
    out = np.concatenate([packed.astype(np.uint8), tail])
    assert out.size == i2s_nbytes(m, k)
    return out


def random_f16_matrix(m: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """Finite random f16 bit patterns with |value| < 2 (exponent bit 14 cleared)."""
    return rng.integers(0, 1 << 16, size=(m, k), dtype=np.uint16) & np.uint16(0xBFFF)


def _timed(run: Callable[[int], float], min_seconds: float, min_iterations: int) -> tuple[float, int]:
    """(seconds per iteration, iterations) after a warm-up call, calibrated to min_seconds."""
    run(1)
    t = run(min_iterations)
    iterations = min_iterations
    if t < min_seconds:
        iterations = max(min_iterations, math.ceil(min_iterations * min_seconds / max(t, 1e-9)))
        t = run(iterations)
    return t / iterations, iterations


def run_kernel_benchmark(
    threads: int,
    kernels: list[str],
    working_set_bytes: int = 512 << 20,
    gemm_tokens: int = 128,
    min_seconds: float = 0.3,
    bandwidth_bytes: int = 1 << 30,
    progress: Callable[[str], None] | None = None,
    seed: int = 0,
) -> KernelBenchReport:
    say = progress or (lambda _msg: None)
    rng = np.random.default_rng(seed)
    ctx = KernelContext(threads=threads, kernel=kernels[0])
    info = cpu_info()

    def bandwidth() -> float:
        # The fastest reader decides what the hardware can do: every supported variant tries.
        best = 0.0
        for name in info.supported_kernels:
            ctx.kernel = name
            best = max(best, ctx.measure_read_bandwidth(bandwidth_bytes, repeats=3))
        return best

    say(f"measuring memory read bandwidth ({bandwidth_bytes >> 20} MiB, {threads} threads)")
    bw = bandwidth()
    report = KernelBenchReport(cpu=asdict(info), threads=threads, read_bandwidth_gbps=bw,
                               working_set_bytes=working_set_bytes)

    def add_result(kernel, op, shape, m, k, weight_bytes, gemv_s, gemm_s, note=""):
        gemv_gbps = weight_bytes / gemv_s / 1e9
        r = KernelResult(kernel=kernel, op=op, shape=shape, m=m, k=k, weight_bytes=weight_bytes,
                         gemv_ms=gemv_s * 1e3, gemv_gbps=gemv_gbps,
                         gemv_fraction_of_bandwidth=gemv_gbps / bw, note=note)
        if gemm_s is not None:
            gmacs = m * k * gemm_tokens / gemm_s / 1e9
            r.gemm_tokens = gemm_tokens
            r.gemm_ms = gemm_s * 1e3
            r.gemm_gmacs = gmacs
            r.gemm_gmacs_per_thread = gmacs / threads
            r.gemm_vs_bitnet_cpp_per_thread = gmacs / threads / BITNET_CPP_GEMM_GMACS_PER_THREAD
        report.results.append(r)
        return r

    for name, m, k in TERNARY_SHAPES:
        base = random_i2s_weight(m, k, rng)
        copies = [base.copy() for _ in range(max(1, math.ceil(working_set_bytes / base.size)))]
        for kernel in kernels:
            ctx.kernel = kernel
            say(f"{kernel}: {name} [{m} x {k}] ternary")
            gemv_s, _ = _timed(lambda n: ctx.bench_matmul("i2s", copies, m, k, 1, n),
                               min_seconds, len(copies))
            gemm_s, _ = _timed(lambda n: ctx.bench_matmul("i2s", copies[:1], m, k, gemm_tokens, n),
                               min_seconds, 1)
            add_result(kernel, "i2s", name, m, k, m * k // 4, gemv_s, gemm_s)
        del copies

    name, m, k = HEAD_SHAPE
    say(f"preparing the {name} [{m} x {k}] in f16 and int8")
    head_f16 = random_f16_matrix(m, k, rng)
    head_i8, head_scales = ctx.quantize_rows_i8(head_f16)
    for kernel in kernels:
        ctx.kernel = kernel
        # The scalar reference would need minutes per 128-token head GEMM: GEMV only.
        do_gemm = kernel != "ref"
        note = "" if do_gemm else "GEMM skipped for the scalar reference (minutes per call)"
        say(f"{kernel}: {name} f16 (exact mode)")
        gemv_s, _ = _timed(lambda n: ctx.bench_matmul("f16", [head_f16], m, k, 1, n), min_seconds, 1)
        gemm_s = _timed(lambda n: ctx.bench_matmul("f16", [head_f16], m, k, gemm_tokens, n),
                        0.0, 1)[0] if do_gemm else None
        add_result(kernel, "f16", name, m, k, head_f16.nbytes, gemv_s, gemm_s, note)
        say(f"{kernel}: {name} int8 (fast mode)")
        gemv_s, _ = _timed(lambda n: ctx.bench_matmul("i8", [head_i8], m, k, 1, n, [head_scales]),
                           min_seconds, 1)
        gemm_s = _timed(lambda n: ctx.bench_matmul("i8", [head_i8], m, k, gemm_tokens, n, [head_scales]),
                        0.0, 1)[0] if do_gemm else None
        add_result(kernel, "i8", name, m, k, head_i8.nbytes + head_scales.nbytes, gemv_s, gemm_s, note)

    # Bandwidth drifts on a shared machine: keep the better of the two measurements.
    say("measuring memory read bandwidth again")
    final_bw = bandwidth()
    if final_bw > report.read_bandwidth_gbps:
        report.read_bandwidth_gbps = final_bw
        for r in report.results:
            r.gemv_fraction_of_bandwidth = r.gemv_gbps / final_bw
    return report
