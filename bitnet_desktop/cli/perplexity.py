"""`bitnet-desktop perplexity`: perplexity and top-1 accuracy of a model on a text or token file."""
from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

from ..engine.errors import BitNetError
from ..engine.runtime.perplexity import perplexity
from .generate import parse_ids
from .model_options import add_load_options, load_model


def register(sub) -> None:
    p = sub.add_parser("perplexity", help="perplexity over non-overlapping windows (as llama.cpp)")
    # exact head by default: this is the command that checks numerical faithfulness
    add_load_options(p, default_head="exact")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--text", help="UTF-8 text file")
    src.add_argument("--tokens", help="file of token ids separated by commas or whitespace")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run)


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BitNetError(f"cannot read {path}: {exc}") from exc


def run(args) -> int:
    window = args.ctx or 512
    args.ctx = window
    model = load_model(args, quiet=args.json)
    if args.tokens:
        tokens = parse_ids(",".join(_read(args.tokens).split()))
    else:
        tokens = model.tokenizer.encode(_read(args.text), add_bos=False)
    bos = model.tokenizer.bos_id if model.tokenizer.vocabulary.add_bos else None

    def forward_all(ids):
        return model.native.forward(ids, 0, all_logits=True)

    def progress(done, total):
        if not args.json:
            print(f"\r  window {done}/{total}", end="", file=sys.stderr, flush=True)

    result = perplexity(forward_all, tokens, window, bos, progress)
    if args.json:
        json.dump({**asdict(result), "head": model.head, "kernel": model.ctx.kernel}, sys.stdout)
        print()
    else:
        print(file=sys.stderr)
        print(f"perplexity {result.perplexity:.4f}  top-1 accuracy {result.top1_accuracy:.2%}  "
              f"({result.scored_tokens} tokens scored in {result.windows} windows of {window}, {model.head} head)")
    return 0
