"""`bitnet-desktop synth`: write a synthetic BitNet model GGUF from the command line."""

from __future__ import annotations

import argparse
import sys
import time

from bitnet_desktop.engine.synth.metadata import ARCHS
from bitnet_desktop.engine.synth.model import EMBEDDING_TYPES, TERNARY_FORMATS, TOKENIZERS, SyntheticModel
from bitnet_desktop.engine.synth.shapes import SHAPES


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bitnet-desktop synth",
        description="Write a deterministic synthetic BitNet b1.58 model in a real on-disk format "
        "(for tests and benchmarks; the weights are random, the text it writes is nonsense).",
    )
    p.add_argument("out", metavar="OUT.gguf", help="file to write")
    p.add_argument("--shape", choices=list(SHAPES), default="tiny", help="model shape (default: tiny)")
    p.add_argument(
        "--format",
        dest="fmt",
        choices=list(TERNARY_FORMATS),
        default="i2_s",
        help="ternary weight format (default: i2_s)",
    )
    p.add_argument(
        "--arch",
        choices=list(ARCHS),
        default=None,
        help="architecture string (default: the shape's, e.g. llama for falcon3-1b; else bitnet-b1.58 for "
        "i2_s, bitnet otherwise)",
    )
    p.add_argument("--seed", type=int, default=0, help="weights seed (default: 0)")
    p.add_argument(
        "--embedding-type",
        choices=list(EMBEDDING_TYPES),
        default="f16",
        help="type of token_embd / output (default: f16)",
    )
    p.add_argument(
        "--tokenizer",
        choices=list(TOKENIZERS),
        default="gpt2",
        help="gpt2 = Llama-3 style BPE (default); llama = SentencePiece style (arch bitnet)",
    )
    p.add_argument(
        "--scales",
        action="store_true",
        help="sign-only weights plus F32 [1] blk.N.<proj>.scale tensors (upstream flavour a)",
    )
    p.add_argument("--untied", action="store_true", help="write a separate output.weight")
    p.add_argument(
        "--rope-freqs",
        action="store_true",
        help="arch llama: write rope_freqs.weight (llama.cpp's RoPE frequency factors, Llama-3.1 style)",
    )
    return p


def main_synth(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    overrides = {"tied": False} if args.untied else {}
    try:
        model = SyntheticModel(
            args.shape,
            args.fmt,
            args.arch,
            args.seed,
            embedding_type=args.embedding_type,
            tokenizer=args.tokenizer,
            scales=args.scales,
            rope_freqs=args.rope_freqs,
            **overrides,
        )
    except ValueError as e:
        print(f"bitnet-desktop synth: {e}", file=sys.stderr)
        return 2
    start = time.monotonic()
    try:
        path = model.write(args.out)
    except OSError as e:
        print(f"bitnet-desktop synth: cannot write {args.out}: {e.strerror or e}", file=sys.stderr)
        return 1
    size = path.stat().st_size
    print(
        f"{path}  {size:,} bytes  ({model.shape.name}, {model.fmt}, arch {model.arch}, seed {model.seed}, "
        f"{time.monotonic() - start:.1f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main_synth())
