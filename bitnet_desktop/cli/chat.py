"""`bitnet-desktop chat`: a terminal chat. Each turn reuses the KV cache of the conversation so
far and processes only the new tokens. Ctrl-C stops a reply; /reset, /system TEXT, /exit."""
from __future__ import annotations

import sys

from ..engine.runtime.generation_events import FinishedEvent, TokenEvent
from ..engine.sampling import SamplingParams
from .model_options import add_load_options, load_model

HELP = "commands: /system TEXT (set the system prompt and restart), /reset, /exit"


def register(sub) -> None:
    p = sub.add_parser("chat", help="chat with a model in the terminal")
    add_load_options(p)
    p.add_argument("--system", default="You are a helpful assistant.", help="system prompt")
    p.add_argument("--max-tokens", type=int, default=512)
    p.add_argument("--temperature", type=float, default=0.8)
    p.add_argument("--seed", type=int, default=None)
    p.set_defaults(run=run)


def run(args) -> int:
    model = load_model(args)
    params = SamplingParams(temperature=args.temperature, seed=args.seed, max_tokens=args.max_tokens)
    system = args.system
    messages = [{"role": "system", "content": system}] if system else []
    print(HELP, file=sys.stderr)
    while True:
        try:
            line = input("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not line:
            continue
        if line == "/exit":
            return 0
        if line in ("/reset", "/system") or line.startswith("/system "):
            system = line[len("/system"):].strip() if line.startswith("/system") else system
            messages = [{"role": "system", "content": system}] if system else []
            print("(conversation restarted)", file=sys.stderr)
            continue
        messages.append({"role": "user", "content": line})
        ids = model.chat_format.render_ids(messages)
        reply, finished = [], None  # reply collects the text shown, for an interrupted turn
        print("assistant> ", end="", flush=True)
        events = model.generator.generate(ids, params)
        try:
            for event in events:
                if isinstance(event, TokenEvent):
                    reply.append(event.text)
                    print(event.text, end="", flush=True)
                elif isinstance(event, FinishedEvent):
                    finished = event
        except KeyboardInterrupt:
            events.close()
            print("\n(stopped)", file=sys.stderr)
            reply_text = "".join(reply)
        else:
            reply_text = finished.text
            s = finished.stats
            print(f"\n[{s.processed_prompt_tokens} new prompt tokens ({s.reused_tokens} reused) at "
                  f"{s.prompt_tokens_per_second:.1f} tok/s; {s.generated_tokens} tokens at "
                  f"{s.generation_tokens_per_second:.1f} tok/s]", file=sys.stderr)
        messages.append({"role": "assistant", "content": reply_text})
