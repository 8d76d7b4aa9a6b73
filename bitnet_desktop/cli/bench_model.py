"""`bitnet-desktop bench MODEL|--shape NAME`: pp128 and tg128 of the engine on one model, against
the read bandwidth measured in the same run and against llama.cpp on the same weights.

(`bench model ...` is the registered name; main() routes `bench <anything but kernels>` here.)"""
from __future__ import annotations

import json
import sys

from ..engine.benchmarks.model_bench import GEN_TOKENS, PROMPT_TOKENS, SHORT_PROMPT_TOKENS, ModelBenchReport, \
    run_model_benchmark
from ..engine.errors import BitNetError
from ..engine.runtime.model import DEFAULT_HEAD
from ..engine.synth import SHAPES
from .arguments import MAX_CONTEXT, MAX_THREADS, context_length, in_range, sampling, threads

MB = 1e6
MIB = 1 << 20
MIN_CONTEXT = max(PROMPT_TOKENS, SHORT_PROMPT_TOKENS + GEN_TOKENS)  # pp128 and tg128 must fit


def register(sub) -> None:
    p = sub.add_parser("model", help="pp128 / tg128 of a model (MODEL or --shape NAME), with llama.cpp beside it",
                       description="`bitnet-desktop bench MODEL|--shape NAME`: prompt processing (pp128) and "
                                   "generation (tg128) speed against the memory bandwidth of the same run and "
                                   "against llama.cpp (llama-cpp-python) on a TQ2_0 copy of the same weights.")
    p.add_argument("model", metavar="MODEL", nargs="?", help="path of a BitNet GGUF file")
    p.add_argument("--shape", choices=sorted(SHAPES),
                   help="benchmark a synthetic model of this shape instead (written to a temporary folder)")
    p.add_argument("--seed", type=sampling("--seed"), default=0, metavar="N",
                   help="seed of the synthetic model (default 0)")
    p.add_argument("--threads", type=threads, default=None, metavar="N",
                   help=f"threads for both engines, 1..{MAX_THREADS} (default: physical cores)")
    p.add_argument("--kernel", default=None, help="kernel variant (default: $BITNET_KERNEL or the best)")
    p.add_argument("--head", choices=["fast", "exact"], default=DEFAULT_HEAD,
                   help=f"output head: fast = int8, exact = f16 as bitnet.cpp (default {DEFAULT_HEAD})")
    p.add_argument("--ctx", type=context_length(MIN_CONTEXT), default=None, metavar="N",
                   help=f"context length, {MIN_CONTEXT}..{MAX_CONTEXT}; resident memory is measured after "
                        "generating at its end (default 2048)")
    p.add_argument("--repeats", type=in_range(int, 1, 1000, "1..1000"), default=3, metavar="N",
                   help="timed repeats after the warm-up, 1..1000; the best counts")
    p.add_argument("--no-llama-cpp", action="store_true", help="skip the llama.cpp baseline")
    p.add_argument("--no-fill", action="store_true",
                   help="measure resident memory without first filling the context (faster)")
    p.add_argument("--bandwidth-mib", type=in_range(int, 1, 1 << 20, f"1..{1 << 20}"), default=1024, metavar="MIB",
                   help="buffer of the bandwidth measurement (default 1024)")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.set_defaults(run=run)


def run(args) -> int:
    if (args.model is None) == (args.shape is None):
        raise BitNetError("bench needs a MODEL path or --shape NAME (not both); `bench kernels` times the kernels")
    progress = None if args.json else (lambda msg: print(f"  ... {msg}", file=sys.stderr, flush=True))
    report = run_model_benchmark(
        model_path=args.model, shape=args.shape, seed=args.seed, threads=args.threads, kernel=args.kernel,
        head=args.head, context=args.ctx, repeats=args.repeats, llama_cpp=not args.no_llama_cpp,
        fill_context=not args.no_fill, bandwidth_bytes=args.bandwidth_mib * MIB, progress=progress)
    if args.json:
        json.dump(report.to_dict(), sys.stdout, indent=2)
        print()
    else:
        print_report(report)
    return 0


def _ratio(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}x"


def print_report(r: ModelBenchReport) -> None:
    b = r.bytes_per_token
    head = "f16 (exact)" if r.head == "exact" else "int8 (fast)"
    print(f"{r.model}: {r.arch}, {r.n_layers} layers, d {r.d_model}, vocab {r.vocab}")
    print(f"CPU: {r.cpu}  threads: {r.threads}  kernel: {r.kernel}  head: {head}  context: {r.context}")
    lc = r.llama_cpp
    header = f"{'':28} {'ours':>10} {'llama.cpp':>10} {'ours/l.cpp':>10}"
    print(header)
    print("-" * len(header))
    for name, ours, theirs, ratio in (
            (f"pp{r.prompt_tokens} (tok/s)", r.pp_tokens_per_second, lc and lc.pp_tokens_per_second,
             r.pp_ratio_vs_llama_cpp),
            (f"tg{r.gen_tokens} (tok/s)", r.tg_tokens_per_second, lc and lc.tg_tokens_per_second,
             r.tg_ratio_vs_llama_cpp)):
        print(f"{name:28} {ours:10.2f} {'-' if theirs is None else format(theirs, '10.2f'):>10} {_ratio(ratio):>10}")
    print(f"{'tg bound (tok/s)':28} {r.tg_bound_tokens_per_second:10.2f}   = {r.read_bandwidth_gbps:.1f} GB/s read "
          f"bandwidth (same run) / {b.total / MB:,.1f} MB per token")
    print(f"{'tg / bound':28} {r.tg_fraction_of_bound:10.0%}")
    print(f"bytes per generated token: ternary {b.ternary / MB:,.1f} MB + norms {b.norms / MB:,.2f} MB + "
          f"head {b.head / MB:,.1f} MB ({head}) + KV cache {b.kv_cache / MB:,.2f} MB "
          f"({b.kv_positions:g} positions on average)")
    m = r.memory_estimate
    where = f"with all {r.context} context positions filled" if r.rss_context_filled else "after the tg run"
    print(f"load (warm page cache): {r.load_seconds:.2f} s (first load {r.first_load_seconds:.2f} s)")
    print(f"resident memory {where}: {r.rss_bytes / MIB:,.0f} MiB, of which {r.rss_file_backed_bytes / MIB:,.0f} "
          f"file-backed (mapped model pages, reclaimable); before loading {r.rss_before_load_bytes / MIB:,.0f}, "
          f"after loading {r.rss_after_load_bytes / MIB:,.0f}")
    print(f"memory estimate (runtime.memory): {m['total'] / MIB:,.0f} MiB = weights read {m['weights'] / MIB:,.0f} "
          f"+ KV cache {m['kv_cache'] / MIB:,.0f} + scratch {m['scratch'] / MIB:,.0f} "
          f"+ fast head {m['fast_head'] / MIB:,.0f}")
    if lc is not None:
        print(f"llama.cpp {lc.version} (threads: {lc.threads}): {lc.note}; load {lc.load_seconds:.2f} s")
    else:
        print(f"llama.cpp: not run: {r.llama_cpp_missing}")
    for note in r.notes:
        print(f"note: {note}")
