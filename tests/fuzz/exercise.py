"""What is done with each hostile file: load it, render a chat (a base model: encode the text), encode
and decode text, generate a few tokens; and how the outcome is classified."""
from __future__ import annotations

import traceback
from pathlib import Path

from bitnet_desktop.engine.errors import BitNetError, KernelError
from bitnet_desktop.engine.runtime.model import BitNetModel, LoadOptions
from bitnet_desktop.engine.sampling import SamplingParams

LOADED_FINE = "loaded fine"
OWN_ERROR = "own error"
GENERIC = "generic exception"
SIGNAL = "signal"
TIMEOUT = "timeout"
MEMORY = "memory cap"
CLASSES = (LOADED_FINE, OWN_ERROR, GENERIC, SIGNAL, TIMEOUT, MEMORY)

BN_ERR_OUT_OF_MEMORY = 5
MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello, wörld! 12 3 <|eot_id|>"}]


def exercise(path: Path, head: str = "fast", seed: int = 0, max_tokens: int = 3) -> None:
    """Raises whatever the engine raises, including an error a generation ended with."""
    model = BitNetModel.load(path, LoadOptions(threads=1, head=head))
    try:
        if model.is_base_model:  # no chat format: the text is continued as written
            ids = model.tokenizer.encode(MESSAGES[-1]["content"])
        else:
            ids = model.chat_format.render_ids(MESSAGES)
        text_ids = model.tokenizer.encode("Plain text, wörds and 😀 emoji.")
        model.tokenizer.decode(text_ids)
        ids = ids[-max(1, model.native.max_context - max_tokens - 1):]
        events = list(model.generator.generate(ids, SamplingParams(temperature=0.8, seed=seed, max_tokens=max_tokens)))
        finished = events[-1]
        if finished.error is not None:
            raise finished.error
        model.tokenizer.decode(finished.token_ids)
    finally:
        model.close()


def classify(exc: BaseException | None) -> str:
    if exc is None:
        return LOADED_FINE
    if isinstance(exc, MemoryError) or (isinstance(exc, KernelError) and exc.status == BN_ERR_OUT_OF_MEMORY):
        return MEMORY
    if isinstance(exc, BitNetError):
        return OWN_ERROR
    return GENERIC


def where(exc: BaseException) -> str:
    """file:line function of the deepest frame in the project (else the deepest frame)."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "bitnet_desktop" in f.filename] or frames
    if not ours:
        return "?"
    f = ours[-1]
    short = f.filename[f.filename.find("bitnet_desktop"):] if "bitnet_desktop" in f.filename else f.filename
    return f"{short}:{f.lineno} {f.name}"
