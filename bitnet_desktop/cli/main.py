"""Entry point of `bitnet-desktop`: parses the subcommand and turns engine errors into messages."""
from __future__ import annotations

import argparse
import sys

from ..chats.errors import StoreError
from ..engine.errors import BitNetError
from . import bench_kernels, bench_model, bench_ui, chat, generate, info, perplexity
from . import chats, models


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bitnet-desktop",
        description="Run BitNet b1.58 ternary language models offline on this CPU.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    sub.add_parser("app", help="open the desktop window (also what no command does)")
    info.register(sub)
    generate.register(sub)
    chat.register(sub)
    perplexity.register(sub)
    chats.register(sub)
    models.register(sub)
    # synth has its own parser (engine/synth/cli.py); main() hands it the arguments untouched.
    sub.add_parser("synth", help="write a synthetic BitNet model GGUF (see `synth --help`)", add_help=False)
    bench = sub.add_parser("bench", help="benchmarks: `bench MODEL|--shape NAME` or `bench kernels`")
    bench_sub = bench.add_subparsers(dest="bench_target", metavar="TARGET", required=True)
    bench_kernels.register(bench_sub)
    bench_model.register(bench_sub)
    bench_ui.register(bench_sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] == "app" or argv[0].startswith("--data-dir"):
        from ..ui.app import main as run_window  # Qt is imported only for the window

        return run_window(argv[1:] if argv[:1] == ["app"] else argv)
    if argv[:1] == ["synth"]:
        from ..engine.synth.cli import main_synth

        return main_synth(argv[1:])
    if argv[:1] == ["bench"] and argv[1:2] and argv[1] not in ("kernels", "model", "ui", "-h", "--help"):
        argv = ["bench", "model", *argv[1:]]  # `bench MODEL|--shape NAME` is `bench model ...`
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (BitNetError, StoreError) as exc:
        print(f"bitnet-desktop: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bitnet-desktop: interrupted", file=sys.stderr)
        return 130
