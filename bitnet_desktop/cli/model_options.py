"""Command-line options shared by the commands that load a model, and the loading itself."""
from __future__ import annotations

import sys

from ..engine.runtime.loader import load_model as load_model_file
from ..engine.runtime.model import DEFAULT_CONTEXT, DEFAULT_HEAD, BitNetModel, LoadOptions
from .arguments import MAX_CONTEXT, MAX_THREADS, context_length, threads


def add_load_options(p, default_head: str = DEFAULT_HEAD, default_context: int = DEFAULT_CONTEXT,
                     min_context: int = 1) -> None:
    p.add_argument("model", metavar="MODEL", help="path of a GGUF file: a BitNet model (I2_S, TQ2_0 or TQ1_0) runs on this "
                   "engine, any other on llama.cpp (the [llama] extra)")
    p.add_argument("--threads", type=threads, default=None, metavar="N",
                   help=f"threads, 1..{MAX_THREADS} (default: physical cores)")
    p.add_argument("--kernel", default=None, help="kernel variant (default: $BITNET_KERNEL or the best)")
    p.add_argument("--ctx", type=context_length(min_context), default=None, metavar="N",
                   help=f"context length in tokens, {min_context}..{MAX_CONTEXT} (default {default_context})")
    p.add_argument("--head", choices=["fast", "exact"], default=default_head,
                   help=f"output head: fast = int8, exact = f16 as bitnet.cpp (default {default_head})")


def load_model(args, quiet: bool = False) -> BitNetModel:
    options = LoadOptions(threads=args.threads, kernel=args.kernel, context_length=args.ctx, head=args.head)
    model = load_model_file(args.model, options)
    if not quiet:
        m = model.memory
        kind = ", base model" if model.is_base_model else ""
        print(f"loaded {model.spec.name or model.path} ({model.spec.arch}, {model.spec.n_layers} layers{kind}) in "
              f"{model.load_seconds:.2f} s: kernel {model.ctx.kernel}, {model.ctx.threads} threads, "
              f"{model.head} head, context {model.native.max_context}, ~{m.total / 2**20:,.0f} MiB",
              file=sys.stderr)
    return model
