"""`bitnet-desktop generate`: complete a prompt (text or token ids), streaming, or as JSON."""
from __future__ import annotations

import json
import sys

from ..engine.runtime.generation_events import FinishedEvent, TokenEvent
from ..engine.sampling import SamplingParams
from .arguments import SAMPLING_RANGES, in_range, non_empty, sampling, shown_range, token_ids
from .model_options import add_load_options, load_model

MAX_TOP_LOGITS = 1_000_000


def register(sub) -> None:
    p = sub.add_parser("generate", help="generate text from a prompt")
    add_load_options(p)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--prompt", help="prompt text, as written: no chat template, also for a chat model "
                                      "(BOS is added as the model's metadata says)")
    src.add_argument("--prompt-ids", type=token_ids, metavar="IDS", help="comma-separated token ids, used as given")
    for option, default, meaning in (
            ("--max-tokens", 128, "default 128"),
            ("--temperature", 0.0, "0 = greedy (default)"),
            ("--top-k", 40, "0 = off; default 40"),
            ("--top-p", 0.95, "1 = off; default 0.95"),
            ("--min-p", 0.05, "0 = off; default 0.05"),
            ("--repeat-penalty", 1.0, "1 = off, the default"),
            ("--seed", None, "default: a new one")):
        p.add_argument(option, type=sampling(option), default=default,
                       metavar="N" if SAMPLING_RANGES[option][0] is int else "X",
                       help=f"{shown_range(option)}: {meaning}")
    p.add_argument("--stop", type=non_empty, action="append", default=[], help="stop string (repeatable)")
    p.add_argument("--top-logits", type=in_range(int, 0, MAX_TOP_LOGITS, f"0..{MAX_TOP_LOGITS}"), default=0,
                   metavar="K", help=f"report the K best logits per step, 0..{MAX_TOP_LOGITS}")
    p.add_argument("--json", action="store_true", help="print one JSON object at the end")
    p.set_defaults(run=run)


def run(args) -> int:
    model = load_model(args, quiet=args.json)
    ids = args.prompt_ids or model.tokenizer.encode(args.prompt)
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
        if finished.error is not None:
            out["error"] = str(finished.error)
        json.dump(out, sys.stdout)
        print()
    else:
        print()
        print(f"[{finished.reason}] prompt {stats.prompt_tokens} tok at {stats.prompt_tokens_per_second:.1f} tok/s, "
              f"generated {stats.generated_tokens} tok at {stats.generation_tokens_per_second:.1f} tok/s, "
              f"first token after {stats.time_to_first_token * 1000:.0f} ms", file=sys.stderr)
    if finished.error is not None:  # the text so far was printed; the error ends the command
        print(f"bitnet-desktop: error: {finished.error}", file=sys.stderr)
        return 2
    return 0
