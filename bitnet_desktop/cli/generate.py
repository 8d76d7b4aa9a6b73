"""`bitnet-desktop generate`: complete a prompt (text or token ids), streaming, or as JSON."""
from __future__ import annotations

import json
import sys

from ..engine.errors import BitNetError
from ..engine.runtime.generation_events import FinishedEvent, TokenEvent
from ..engine.sampling import SamplingParams
from .model_options import add_load_options, load_model


def register(sub) -> None:
    p = sub.add_parser("generate", help="generate text from a prompt")
    add_load_options(p)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--prompt", help="prompt text (BOS is added as the model's metadata says)")
    src.add_argument("--prompt-ids", help="comma-separated token ids, used as given")
    p.add_argument("--max-tokens", type=int, default=128)
    p.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default)")
    p.add_argument("--top-k", type=int, default=40)
    p.add_argument("--top-p", type=float, default=0.95)
    p.add_argument("--min-p", type=float, default=0.05)
    p.add_argument("--repeat-penalty", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--stop", action="append", default=[], help="stop string (repeatable)")
    p.add_argument("--top-logits", type=int, default=0, metavar="K", help="report the K best logits per step")
    p.add_argument("--json", action="store_true", help="print one JSON object at the end")
    p.set_defaults(run=run)


def parse_ids(text: str) -> list[int]:
    try:
        ids = [int(t) for t in text.replace(" ", "").split(",") if t]
    except ValueError:
        raise BitNetError(f"--prompt-ids must be comma-separated integers, got {text!r}") from None
    if not ids:
        raise BitNetError("--prompt-ids is empty")
    return ids


def run(args) -> int:
    model = load_model(args, quiet=args.json)
    ids = parse_ids(args.prompt_ids) if args.prompt_ids else model.tokenizer.encode(args.prompt)
    params = SamplingParams(temperature=args.temperature, top_k=args.top_k, top_p=args.top_p,
                            min_p=args.min_p, repetition_penalty=args.repeat_penalty, seed=args.seed,
                            max_tokens=args.max_tokens, stop=tuple(args.stop))
    steps = []
    finished = None
    for event in model.generator.generate(ids, params, top_logits=args.top_logits):
        if isinstance(event, TokenEvent):
            steps.append(event)
            if not args.json:
                print(event.text, end="", flush=True)
        elif isinstance(event, FinishedEvent):
            finished = event
    stats = finished.stats
    timings = {
        "prompt_tokens": stats.prompt_tokens,
        "prompt_seconds": stats.prompt_seconds,
        "prompt_tokens_per_second": stats.prompt_tokens_per_second,
        "generated_tokens": stats.generated_tokens,
        "generation_seconds": stats.generation_seconds,
        "generation_tokens_per_second": stats.generation_tokens_per_second,
        "time_to_first_token": stats.time_to_first_token,
        "load_seconds": model.load_seconds,
    }
    if args.json:
        out = {"prompt_ids": ids, "token_ids": finished.token_ids, "text": finished.text,
               "stop_reason": finished.reason, "timings": timings,
               "kernel": model.ctx.kernel, "threads": model.ctx.threads, "head": model.head}
        if args.top_logits:
            out["top_logits"] = [[[i, v] for i, v in e.top_logits] for e in steps]
        json.dump(out, sys.stdout)
        print()
    else:
        print()
        print(f"[{finished.reason}] prompt {stats.prompt_tokens} tok at {stats.prompt_tokens_per_second:.1f} tok/s, "
              f"generated {stats.generated_tokens} tok at {stats.generation_tokens_per_second:.1f} tok/s, "
              f"first token after {stats.time_to_first_token * 1000:.0f} ms", file=sys.stderr)
    return 0
