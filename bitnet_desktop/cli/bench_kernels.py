"""`bitnet-desktop bench kernels`: every kernel variant on the 2B-4T shapes, against the memory
read bandwidth measured in the same run."""
from __future__ import annotations

import json
import sys

from ..engine.benchmarks.kernel_bench import BITNET_CPP_GEMM_GMACS_PER_THREAD, run_kernel_benchmark
from ..engine.native import cpu_info, resolve_kernel
from ..engine.native.kernels import default_threads
from .arguments import MAX_THREADS, in_range, threads


def register(sub) -> None:
    p = sub.add_parser("kernels", help="time GEMV and 128-token GEMM of every kernel variant")
    p.add_argument("--threads", type=threads, default=None, metavar="N",
                   help=f"threads, 1..{MAX_THREADS} (default: physical cores)")
    p.add_argument("--kernel", default=None,
                   help="only this variant (ref, avx2, avx512, neon, dotprod); default: all usable")
    p.add_argument("--tokens", type=in_range(int, 1, 65536, "1..65536"), default=128, metavar="N",
                   help="tokens per GEMM, 1..65536 (default 128)")
    p.add_argument("--working-set-mib", type=in_range(int, 1, 1 << 20, f"1..{1 << 20}"), default=512, metavar="MIB",
                   help="GEMV cycles through weight copies totalling this much (default 512)")
    p.add_argument("--min-seconds", type=in_range(float, 0, 3600, "(0, 3600]", low_open=True), default=0.3,
                   metavar="S", help="minimum timed span per case, (0, 3600] (default 0.3)")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.set_defaults(run=run)


def _fmt(v, spec):
    """`v` formatted by `spec`, or a dash of the same width when there is no value."""
    return format(v, spec) if v is not None else "-".rjust(int(spec.split(".")[0]))


def run(args) -> int:
    n_threads = args.threads or default_threads()
    kernels = [resolve_kernel(args.kernel)] if args.kernel else list(cpu_info().supported_kernels)
    # Fastest first so the first context starts on the variant that matters most.
    kernels.sort(key=lambda k: k == "ref")
    progress = None if args.json else (lambda msg: print(f"  ... {msg}", file=sys.stderr, flush=True))
    report = run_kernel_benchmark(n_threads, kernels, working_set_bytes=args.working_set_mib << 20,
                                  gemm_tokens=args.tokens, min_seconds=args.min_seconds,
                                  progress=progress)
    if args.json:
        json.dump(report.to_dict(), sys.stdout, indent=2)
        print()
        return 0
    print(f"CPU: {report.cpu['brand']}  threads: {n_threads}  "
          f"memory read bandwidth (same run): {report.read_bandwidth_gbps:.1f} GB/s")
    print(f"GEMV streams {report.working_set_bytes >> 20} MiB of weight copies; GEMM: "
          f"{args.tokens} tokens; bitnet.cpp reference {BITNET_CPP_GEMM_GMACS_PER_THREAD:.0f} GMAC/s per thread")
    header = (f"{'kernel':8} {'op':4} {'shape':20} {'m x k':>13} {'GEMV ms':>9} {'GB/s':>7} "
              f"{'of BW':>6} {'GEMM ms':>9} {'GMAC/s':>8} {'/thread':>8} {'vs b.cpp':>8}")
    print(header)
    print("-" * len(header))
    for r in report.results:
        print(f"{r.kernel:8} {r.op:4} {r.shape:20} {f'{r.m}x{r.k}':>13} {r.gemv_ms:9.3f} "
              f"{r.gemv_gbps:7.1f} {r.gemv_fraction_of_bandwidth:6.0%} {_fmt(r.gemm_ms, '9.2f')} "
              f"{_fmt(r.gemm_gmacs, '8.1f')} {_fmt(r.gemm_gmacs_per_thread, '8.1f')} "
              f"{_fmt(r.gemm_vs_bitnet_cpp_per_thread, '7.2f') + ('x' if r.gemm_ms is not None else ' '):>8}"
              + (f"  ({r.note})" if r.note else ""))
    return 0
