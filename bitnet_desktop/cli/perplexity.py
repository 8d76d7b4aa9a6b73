"""`bitnet-desktop perplexity`: perplexity and top-1 accuracy of a model on a text or token file."""
from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

from ..engine.errors import BitNetError
from ..engine.runtime.perplexity import perplexity, text_tokens
from .model_options import add_load_options, load_model

DEFAULT_WINDOW = 512
MIN_WINDOW = 4  # runtime.perplexity scores the second half of each window


def register(sub) -> None:
    p = sub.add_parser("perplexity", help="perplexity over non-overlapping windows (as llama.cpp)")
    # exact head by default: this is the command that checks numerical faithfulness
    add_load_options(p, default_head="exact", default_context=DEFAULT_WINDOW, min_context=MIN_WINDOW)
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


def read_token_file(path: str) -> list[int]:
    """Token ids separated by commas or whitespace; an error names --tokens, the file and the line."""
    ids = []
    for number, line in enumerate(_read(path).splitlines(), 1):
        for word in line.replace(",", " ").split():
            try:
                ids.append(int(word))
            except ValueError:
                ids.append(-1)
            if ids[-1] < 0:
                raise BitNetError(f"--tokens {path} line {number}: {word[:40]!r} is not a token id "
                                  "(an integer >= 0)")
    if not ids:
        raise BitNetError(f"--tokens {path} holds no token ids")
    return ids


def run(args) -> int:
    window = args.ctx or DEFAULT_WINDOW
    args.ctx = window
    # Files are read before the model loads: a bad file fails at once.
    tokens = read_token_file(args.tokens) if args.tokens else None
    text = _read(args.text) if args.text else None
    model = load_model(args, quiet=args.json)
    if tokens is None:
        tokens = text_tokens(model.tokenizer, text)
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
