"""`bitnet-desktop bench ui MODEL|--shape NAME`: does the desktop app keep up with its engine?
Generation speed through the window against the engine alone, the UI thread's stalls, start time,
idle memory and CPU, and opening a long conversation, each against its goal."""
from __future__ import annotations

import json
import sys

from ..engine.benchmarks.ui_bench import format_report
from ..engine.errors import BitNetError
from ..engine.synth import SHAPES
from . import arguments


def register(sub) -> None:
    p = sub.add_parser("ui", help="the window against the engine alone, UI stalls, start time, idle cost",
                       description="`bitnet-desktop bench ui MODEL|--shape NAME`: generation speed through the "
                                   "window (offscreen) against ChatSession alone, the UI thread's largest and "
                                   "p99 gaps while reading the prompt and while generating, the start time, "
                                   "memory with no model, CPU time while idle, and opening a long conversation.")
    p.add_argument("model", metavar="MODEL", nargs="?", help="path of a BitNet GGUF file")
    p.add_argument("--shape", choices=sorted(SHAPES),
                   help="use a synthetic model of this shape instead (written to a temporary folder)")
    p.add_argument("--seed", type=arguments.in_range(int, 0, arguments.MAX_SEED, f"0..{arguments.MAX_SEED}"),
                   default=0, help="seed of the synthetic model (default 0)")
    p.add_argument("--threads", type=arguments.threads, default=None, help="engine threads (default: physical cores)")
    p.add_argument("--tokens", type=arguments.in_range(int, 2, 100_000, "2..100000"), default=128,
                   help="tokens generated per run (default 128)")
    p.add_argument("--prompt-tokens", type=arguments.in_range(int, 1, 100_000, "1..100000"), default=500,
                   help="prompt length in tokens (default 500)")
    p.add_argument("--pairs", type=arguments.in_range(int, 1, 100, "1..100"), default=2,
                   help="engine-then-window run pairs; medians are compared (default 2)")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.set_defaults(run=run)


def run(args) -> int:
    if (args.model is None) == (args.shape is None):
        raise BitNetError("bench ui needs a MODEL path or --shape NAME (not both)")
    from ..ui.bench_ui import run_ui_benchmark  # Qt is imported only for this command

    progress = None if args.json else (lambda msg: print(f"  ... {msg}", file=sys.stderr, flush=True))
    report = run_ui_benchmark(model_path=args.model, shape=args.shape, seed=args.seed, threads=args.threads,
                              gen_tokens=args.tokens, prompt_tokens=args.prompt_tokens, pairs=args.pairs,
                              progress=progress)
    if args.json:
        json.dump(report.to_dict(), sys.stdout, indent=2)
        print()
    else:
        print(format_report(report))
    return 0
