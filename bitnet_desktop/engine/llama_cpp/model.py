"""An ordinary (not ternary) GGUF model run by llama.cpp, behind BitNetModel's interface:

    model = LlamaCppModel.load("qwen2.5-0.5b-instruct-q8_0.gguf", LoadOptions(threads=2))
    ids = model.chat_format.render_ids([{"role": "user", "content": "Hi"}])
    for event in model.generator.generate(ids, SamplingParams(seed=1)):
        ...

The same attributes with the same meanings: `path`, `spec` (llama_cpp.spec), `tokenizer`
(llama.cpp's own, llama_cpp.tokenizer), `chat_format` (the file's chat template rendered in the
engine's sandboxed Jinja format; None for a base model), `generator` (the engine's Generator over a
llama.cpp context: the same events, cancel semantics, stats and sampling), `native` (the forward
model: `max_context`, `forward(ids, 0, all_logits=True)` for perplexity), `ctx` (`threads`, and
`kernel` = "llama.cpp"), `memory` (the estimate checked against free memory before loading),
`load_seconds`, `engine_name` ("llama.cpp") and `close()`.

Sampling is the engine's own Sampler on llama.cpp's logits: the same seed, parameters and logits
give the same tokens as on our engine, and stop tokens, stop strings and statistics are the
Generator's. It costs a copy of the logits per token (0.5 MB for a 128k vocabulary), which is small
next to a forward pass.

Of LoadOptions, `threads`, `context_length` and `max_batch` apply. `kernel`, `head` and
`activation` choose among our engine's kernels and graphs and mean nothing here; `head` reads
"file": llama.cpp computes the head from the file's own output table in its stored type.

Loading reports "reading the model file", "loading the weights (llama.cpp)" (llama.cpp's own
progress), "creating the context" and "ready" to `progress(stage, fraction)`, and stops with
LoadCancelledError when `cancel` is set: between stages and, while llama.cpp reads the weights,
through its progress callback.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import psutil

from ..chat import chat_format_for_model, stop_token_ids
from ..errors import KernelError, ModelFormatError
from ..gguf import open_gguf
from ..runtime.generator import Generator
from ..runtime.model import DEFAULT_CONTEXT, LoadCancelledError, LoadOptions, LoadProgress
from ..runtime.memory import MemoryEstimate
from .forward import LlamaCppForward, LlamaCppForwardConfig
from .library import LOG, llama_cpp_library, repacked_weights_are_safe
from .memory import check_fits, estimate_memory
from .spec import LlamaCppModelSpec, metadata_text, read_llama_cpp_spec
from .tokenizer import LlamaCppTokenizer

ENGINE_NAME = "llama.cpp"
HEAD = "file"
LOADING_WEIGHTS = "loading the weights (llama.cpp)"
WEIGHTS_START, WEIGHTS_END = 0.1, 0.85  # the part of the load bar llama.cpp's own progress fills
SENTENCEPIECE = 1  # LLAMA_VOCAB_TYPE_SPM


@dataclass(frozen=True)
class LlamaCppThreads:
    """What callers read of BitNetModel.ctx: the thread count and the kernel (here, the engine)."""
    threads: int
    kernel: str = ENGINE_NAME


def _report(progress: LoadProgress | None, cancel: threading.Event | None, stage: str, fraction: float) -> None:
    if cancel is not None and cancel.is_set():
        raise LoadCancelledError("loading was cancelled")
    if progress is not None:
        progress(stage, fraction)


def _default_threads() -> int:
    return psutil.cpu_count(logical=False) or psutil.cpu_count() or 1


def _load_weights(lib, path: str, progress: LoadProgress | None, cancel: threading.Event | None):
    """llama.cpp's model of the file, its progress passed on and a cancel honoured while it reads."""
    failure: list[BaseException] = []

    def on_progress(fraction: float, _data) -> bool:
        try:
            if cancel is not None and cancel.is_set():
                return False
            if progress is not None:
                progress(LOADING_WEIGHTS, WEIGHTS_START + (WEIGHTS_END - WEIGHTS_START) * fraction)
            return True
        except BaseException as error:  # noqa: BLE001 - raised again below, never into C
            failure.append(error)
            return False

    callback = lib.llama_progress_callback(on_progress)
    params = lib.llama_model_default_params()
    params.n_gpu_layers = 0
    params.progress_callback = callback
    if "use_extra_bufts" in dict(params._fields_):
        params.use_extra_bufts = repacked_weights_are_safe()
    LOG.clear()
    model = lib.llama_model_load_from_file(path.encode(), params)
    if model:
        return model
    if failure:
        raise failure[0]
    if cancel is not None and cancel.is_set():
        raise LoadCancelledError("loading was cancelled")
    raise ModelFormatError(f"llama.cpp could not load {path}: {LOG.recent() or 'it gave no reason'}")


def _new_context(lib, model, context: int, max_batch: int, threads: int):
    params = lib.llama_context_default_params()
    params.n_ctx = context
    params.n_batch = params.n_ubatch = max_batch
    params.n_seq_max = 1
    params.n_threads = params.n_threads_batch = threads
    params.no_perf = True
    LOG.clear()
    made = lib.llama_init_from_model(model, params)
    if not made:
        raise KernelError(f"llama.cpp could not create a context of {context} positions: "
                          f"{LOG.recent() or 'it gave no reason'}")
    return made, LOG.buffer_bytes()


def _tokenizer(lib, model) -> LlamaCppTokenizer:
    vocab = lib.llama_model_get_vocab(model)
    # llama.cpp puts a space before the text for SentencePiece vocabularies unless the file says not to.
    space_prefix = (lib.llama_vocab_type(vocab) == SENTENCEPIECE
                    and metadata_text(lib, model, "tokenizer.ggml.add_space_prefix") != "false")
    return LlamaCppTokenizer(lib, vocab, metadata_text(lib, model, "tokenizer.ggml.pre") or None, space_prefix)


class LlamaCppModel:
    engine_name = ENGINE_NAME

    def __init__(self, path, spec: LlamaCppModelSpec, lib, model, native: LlamaCppForward,
                 tokenizer: LlamaCppTokenizer, chat_format, memory: MemoryEstimate, load_seconds: float):
        self.path = path
        self.spec = spec
        self.tokenizer = tokenizer
        self.chat_format = chat_format  # None: a base model
        self.native = native
        self.ctx = LlamaCppThreads(native.config.threads)
        self.memory = memory
        self.load_seconds = load_seconds
        self.head = HEAD
        self.generator = Generator(native, tokenizer, stop_token_ids(tokenizer))
        self._lib = lib
        self._model = model

    @property
    def is_base_model(self) -> bool:
        """True when the model has no chat format: it continues text rather than answering a chat."""
        return self.chat_format is None

    @classmethod
    def load(cls, path, options: LoadOptions = LoadOptions(), progress: LoadProgress | None = None,
             cancel: threading.Event | None = None) -> "LlamaCppModel":
        t0 = time.perf_counter()
        _report(progress, cancel, "reading the model file", 0.0)
        lib = llama_cpp_library()
        threads = options.threads or _default_threads()
        model = native = None
        with open_gguf(path) as g:
            arch = g.metadata.get("general.architecture")
            trained = g.metadata.get(f"{arch}.context_length")
            trained = trained if isinstance(trained, int) and trained > 0 else DEFAULT_CONTEXT
            context = options.context_length or min(DEFAULT_CONTEXT, trained)
            memory = estimate_memory(g, context, options.max_batch)
            check_fits(memory, str(path))
            try:
                _report(progress, cancel, LOADING_WEIGHTS, WEIGHTS_START)
                model = _load_weights(lib, str(path), progress, cancel)
                _report(progress, cancel, "creating the context", WEIGHTS_END)
                llama_context, allocated = _new_context(lib, model, context, options.max_batch, threads)
                config = LlamaCppForwardConfig(vocab=int(lib.llama_vocab_n_tokens(lib.llama_model_get_vocab(model))),
                                               max_context=context, max_batch=options.max_batch, threads=threads,
                                               allocated_bytes=allocated)
                native = LlamaCppForward(lib, llama_context, config)
                tokenizer = _tokenizer(lib, model)
                chat_format = chat_format_for_model(g.metadata, tokenizer, bitnet_cpp_compat=options.bitnet_cpp_chat)
                spec = read_llama_cpp_spec(lib, model)
                _report(progress, cancel, "ready", 1.0)
            except BaseException:
                if native is not None:
                    native.close()
                if model is not None:
                    lib.llama_model_free(model)
                raise
        return cls(path, spec, lib, model, native, tokenizer, chat_format, memory, time.perf_counter() - t0)

    def close(self) -> None:
        """Unloads the model: frees llama.cpp's context (KV cache, buffers) and model (the mapping).
        The object is unusable afterwards. Idempotent."""
        if self._model is not None:
            self.native.close()
            self.tokenizer.close()
            self._lib.llama_model_free(self._model)
        self._model = None
        self.generator = None
