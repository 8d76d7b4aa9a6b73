"""A BitNet model ready to run: GGUF file, tokenizer, chat format, native forward pass.

    model = BitNetModel.load("ggml-model-i2_s.gguf", LoadOptions(threads=2, head="i8"))
    ids = model.chat_format.render_ids([{"role": "user", "content": "Hi"}])
    for event in model.generator.generate(ids, SamplingParams(seed=1)):
        ...

A base model (no chat template in the file and no chat format known from its vocabulary) loads too:
`model.chat_format is None` and `model.is_base_model`; its text goes in as written
(`model.tokenizer.encode(text)`, BOS as the vocabulary says) and the generator, which stops on the
vocabulary's end-of-generation tokens for every model, continues it.

Loading memory-maps the file (I2_S weights and F16 / Q8_0 / Q6_K tables are used in place),
checks the memory need against what is available first, and converts only what must be converted
(see runtime.weights). Unless the head streams the embedding table (exact mode, tied), the native
model then reads embedding rows from the file (F16, Q8_0 or Q6_K rows, decoded in C), and the
mapped pages of every table the native model no longer reads are given back.

Loading reports its stages to an optional `progress(stage, fraction)` callback (called on the
loading thread) and stops with LoadCancelledError when an optional `cancel` event is set: between
stages, and inside the native model's build through the kernel context's cancel flag. `close()`
frees the native model, its context and the mapping at once.

The file stays mapped while the model is loaded: truncating it in place from outside then ends the
process with SIGBUS on POSIX systems (see gguf.reader), so it is replaced only by renaming a new file over
it, or deleted after `close()`.
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor, TimeoutError
from dataclasses import dataclass
from typing import Callable

from ..chat import ChatFormat, chat_format_for_model, stop_token_ids
from ..errors import BitNetError, CancelledError
from ..gguf import open_gguf
from ..native import KernelContext
from ..tokenizer import Tokenizer
from .generator import Generator
from .memory import MemoryEstimate, check_fits, copies_at_load, embedding_rows_from_file, weight_bytes_read
from .model_spec import ModelSpec, read_model_spec
from .native_model import DEFAULT_MAX_BATCH, QUANTIZED_TABLE_TYPES, NativeModel, NativeModelConfig
from .weights import load_weights, native_table_types

HEAD_MODES = {"exact": "f16", "fast": "i8", "f16": "f16", "i8": "i8"}
# Fast (int8 head) is the default: the tied head is 55 % of the bytes read per token, and an
# 8-bit embedding costs 0.06 % perplexity on 2B-4T (17.120 with Q8_0 vs 17.109,
# docs/file-formats.md#embedding-tables-f16-q8_0-q6_k).
DEFAULT_HEAD = "fast"
DEFAULT_CONTEXT = 2048

LoadProgress = Callable[[str, float], None]


class LoadCancelledError(BitNetError):
    """Loading stopped because it was cancelled; nothing stays allocated."""


def _report(progress: LoadProgress | None, cancel: threading.Event | None, stage: str, fraction: float) -> None:
    if cancel is not None and cancel.is_set():
        raise LoadCancelledError("loading was cancelled")
    if progress is not None:
        progress(stage, fraction)


def _wait_for_native(future, ctx: KernelContext, cancel: threading.Event | None) -> "NativeModel":
    """The native model being built, passing a cancel on to its kernel context."""
    while True:
        try:
            return future.result(timeout=0.05 if cancel is not None else None)
        except TimeoutError:
            if cancel.is_set():
                ctx.cancel()
        except CancelledError:
            raise LoadCancelledError("loading was cancelled") from None


@dataclass(frozen=True)
class LoadOptions:
    threads: int | None = None       # default: physical cores
    kernel: str | None = None        # default: $BITNET_KERNEL, else the best variant
    context_length: int | None = None  # default: min(DEFAULT_CONTEXT, the model's)
    head: str = DEFAULT_HEAD         # "fast" (int8) or "exact" (f16, bitnet.cpp parity)
    activation: str | None = None    # override for mislabelled files ("relu2" / "silu")
    max_batch: int = DEFAULT_MAX_BATCH  # prompt tokens per internal chunk
    bitnet_cpp_chat: bool = False    # render bitnet.cpp's chat string instead of the training one


def _keep_only_needed_pages(g, native: NativeModel, head: str) -> None:
    """Gives back the mapped pages of tables the native model no longer reads: an untied output
    that served only to build the int8 head, and a Q8_0 / Q6_K head table the exact head decoded.
    Where only the rows of tokens seen are needed (see memory.embedding_rows_from_file), those are
    read from the file and the table's pages go back too. Through the mapping, scattered row
    lookups would fault nearly the whole table back in (large page-cache folios)."""
    embd = g.tensors["token_embd.weight"]
    output = g.tensors.get("output.weight")
    if output is not None and (head == "i8" or output.type.name in QUANTIZED_TABLE_TYPES):
        g.release_pages("output.weight")
    if embedding_rows_from_file(g, head):
        native.read_embedding_from_file(g.path, embd.file_offset, embd.type.name)
        g.release_pages("token_embd.weight")
    elif output is None and head == "f16" and embd.type.name in QUANTIZED_TABLE_TYPES:
        g.release_pages("token_embd.weight")  # decoded: the copy serves the head and the rows


def _native_model(g, spec: ModelSpec, ctx: KernelContext, context: int, max_batch: int,
                  head: str) -> NativeModel:
    """The native model of g's weights. No reference to the weights stays behind: a converted
    table is freed with the native model."""
    return NativeModel.from_model_weights(ctx, load_weights(g, spec), context, max_batch, head)


class BitNetModel:
    def __init__(self, path, spec: ModelSpec, gguf, tokenizer, chat_format: ChatFormat | None, ctx, native,
                 memory: MemoryEstimate, load_seconds: float, head: str):
        self.path = path
        self.spec = spec
        self.gguf = gguf
        self.tokenizer = tokenizer
        self.chat_format = chat_format  # None: a base model
        self.ctx = ctx
        self.native = native
        self.memory = memory
        self.load_seconds = load_seconds
        self.head = head
        self.generator = Generator(native, tokenizer, stop_token_ids(tokenizer))

    @property
    def is_base_model(self) -> bool:
        """True when the model has no chat format: it continues text rather than answering a chat."""
        return self.chat_format is None

    @classmethod
    def load(cls, path, options: LoadOptions = LoadOptions(), progress: LoadProgress | None = None,
             cancel: threading.Event | None = None) -> "BitNetModel":
        t0 = time.perf_counter()
        head = HEAD_MODES.get(options.head)
        if head is None:
            raise ValueError(f"unknown head mode {options.head!r}; use 'fast' or 'exact'")
        _report(progress, cancel, "reading the model file", 0.0)
        g = open_gguf(path)
        ctx = native = None
        try:
            embd = g.tensors.get("token_embd.weight")
            vocab_rows = embd.shape[0] if embd is not None and len(embd.shape) == 2 else 0
            spec = read_model_spec(g.metadata, str(path), vocab_rows, options.activation)
            context = options.context_length or min(DEFAULT_CONTEXT, spec.context_length)
            ctx = KernelContext(threads=options.threads, kernel=options.kernel)
            config = NativeModelConfig.from_spec(spec, context, options.max_batch, head, *native_table_types(g))
            native_bytes = NativeModel.estimate_memory(config, ctx.threads)
            memory = MemoryEstimate(weight_bytes_read(g, head), native_bytes["kv"],
                                    native_bytes["scratch"], native_bytes["head"],
                                    copies_at_load(g, head))
            check_fits(memory, str(path))
            _report(progress, cancel, "building the model and the tokenizer", 0.1)
            # The native model (its int8 head build is most of it, in C without the GIL) is made
            # on another thread while this one builds the tokenizer in Python: the load takes the
            # longer of the two instead of their sum. A tokenizer error is raised first, as the
            # tokenizer comes first in the file's checks.
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bitnet-load") as background:
                native_made = background.submit(_native_model, g, spec, ctx, context, options.max_batch, head)
                tokenizer = Tokenizer.from_gguf_metadata(g.metadata)
                chat_format = chat_format_for_model(g.metadata, tokenizer, bitnet_cpp_compat=options.bitnet_cpp_chat)
                g.release_metadata_pages()  # ~8 MiB of vocabulary strings, read once to build the tokenizer
                if cancel is not None and cancel.is_set():
                    ctx.cancel()
                native = _wait_for_native(native_made, ctx, cancel)
            _report(progress, cancel, "giving back unneeded pages", 0.9)
            _keep_only_needed_pages(g, native, head)
            _report(progress, cancel, "ready", 1.0)
        except BaseException:
            if native is not None:
                native.close()
            if ctx is not None:
                ctx.close()
            g.close()
            raise
        return cls(path, spec, g, tokenizer, chat_format, ctx, native, memory,
                   time.perf_counter() - t0, head)

    def close(self) -> None:
        """Unloads the model: frees the native model (KV cache, head copy, scratch), stops the
        context's threads and unmaps the file. The object is unusable afterwards."""
        if self.native is not None:
            self.native.close()
            self.ctx.close()
        self.native = None
        self.generator = None
        self.gguf.close()
