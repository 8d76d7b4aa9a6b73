"""llama.cpp (through llama-cpp-python) as the baseline of the model benchmark: the same weights as
a TQ2_0 file of llama.cpp's `bitnet` architecture, the same token ids, the same thread count.

What llama.cpp runs differs from our graph in ways that do not change the cost
(docs/file-formats.md#ternary-weights-in-other-files):
its `bitnet` graph gates the FFN with SiLU where BitNet-b1.58-2B-4T uses ReLU² (one elementwise op
per FFN element either way), it quantizes activations per 256-element block (Q8_K) instead of per
token, and every TQ2_0 block carries its own f16 scale (here all equal to fp16(alpha)). Its head is
the f16 token embedding, like our exact mode.

An arch-`llama` model (Falcon3, Falcon-E, Llama3-8B-1.58) runs on llama.cpp's own `llama` graph,
the same graph as ours (plain LLaMA, permuted Q/K, normal RoPE), so there the baseline differs
from us only in the activation quantization.

The file comes from the synthetic-model writer (`--shape`: same seed, so the same T and alpha) or
from `convert_to_tq2_0`, which rewrites any BitNet GGUF this engine reads: ternary weights become
TQ2_0 with every block's d = fp16(alpha) (a `.scale` tensor is folded into alpha), everything else
is copied byte for byte, and the metadata keys move to the `bitnet.` prefix (a `llama` file keeps
its arch and keys). A pre-tokenizer upstream llama.cpp does not know (`falcon_e`) is renamed to
one it does (UPSTREAM_PRE): llama.cpp refuses to load the file otherwise, and the benchmark feeds
token ids, so the name does not change what is timed.

llama-cpp-python is optional at run time: `unavailable_reason()` says why it cannot be used.
"""
from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import BitNetError
from ..formats import dequantize_tensor, encode_tq2_0, load_ternary
from ..gguf import TQ2_0, GGUFWriter, ValueType, open_gguf
from ..runtime.weights import TERNARY_NAMES

LLAMA_CPP_ARCH = "bitnet"
LLAMA_ARCH = "llama"  # runs on llama.cpp's own llama graph
FILE_TYPE_TQ2_0 = 37  # llama.cpp's LLAMA_FTYPE_MOSTLY_TQ2_0
TQ2_0_BLOCK = 256
GRAPH_NOTE = ("llama.cpp's `bitnet` graph (SiLU FFN gate) on TQ2_0 weights, Q8_K activations per "
              "256-block, f16 head")
LLAMA_GRAPH_NOTE = ("llama.cpp's `llama` graph (the same graph as ours) on TQ2_0 weights, Q8_K activations "
                    "per 256-block, f16 head")
# Pre-tokenizers bitnet.cpp's fork knows and upstream llama.cpp refuses to load: the copy names
# the nearest one upstream knows. The benchmark feeds token ids, so the timed pass is unchanged.
UPSTREAM_PRE = {"falcon_e": "falcon3"}
_TERNARY_WEIGHT = re.compile(r"^blk\.\d+\.(" + "|".join(TERNARY_NAMES) + r")\.weight$")


class BaselineUnavailableError(BitNetError):
    """llama.cpp cannot run this model (missing package, unsupported shape, failed load)."""


def unavailable_reason() -> str | None:
    """None when llama-cpp-python imports, else why not."""
    try:
        import llama_cpp  # noqa: F401
    except (ImportError, OSError, RuntimeError) as exc:  # missing, or its native library is broken
        return f"llama-cpp-python is not importable ({type(exc).__name__}: {exc})"
    return None


def llama_cpp_version() -> str:
    import llama_cpp

    return str(getattr(llama_cpp, "__version__", "unknown"))


# ---- the TQ2_0 file ----

def llama_cpp_arch(arch: str) -> str:
    """The arch llama.cpp runs a TQ2_0 copy of an `arch` model as: `llama` stays `llama`, the
    BitNet archs become llama.cpp's `bitnet`."""
    return LLAMA_ARCH if arch == LLAMA_ARCH else LLAMA_CPP_ARCH


def graph_note(arch: str) -> str:
    return LLAMA_GRAPH_NOTE if arch == LLAMA_ARCH else GRAPH_NOTE


def is_ready_for_llama_cpp(path: str | Path) -> bool:
    """True when the file already is llama.cpp's `bitnet` or `llama` arch with TQ2_0 ternary weights."""
    with open_gguf(path) as g:
        if g.architecture not in (LLAMA_CPP_ARCH, LLAMA_ARCH):
            return False
        return all(t.type is TQ2_0 for n, t in g.tensors.items() if _TERNARY_WEIGHT.match(n))


def _tq2_0_bytes(info, scale: float | None) -> np.ndarray:
    t, alpha = load_ternary(info, scale)
    return encode_tq2_0(t, alpha)


def convert_to_tq2_0(src: str | Path, dst: str | Path) -> Path:
    """Writes `dst`: the model `src` as llama.cpp's `bitnet` arch (`llama` for a llama file) with
    TQ2_0 ternary weights."""
    with open_gguf(src) as g:
        arch = g.architecture
        if not arch:
            raise BaselineUnavailableError(f"{src}: general.architecture is missing")
        target = llama_cpp_arch(arch)
        w = GGUFWriter(dst, alignment=g.alignment, write_alignment_key=g.alignment != 32)
        prefix = arch + "."
        for key, value in g.fields.items():
            if key == "general.alignment":
                continue
            if key == "general.architecture":
                w.add(key, ValueType.STRING, target)
            elif key == "general.file_type":
                w.add(key, ValueType.UINT32, FILE_TYPE_TQ2_0)
            elif key == "tokenizer.ggml.pre" and value.value in UPSTREAM_PRE:
                w.add(key, ValueType.STRING, UPSTREAM_PRE[value.value])
            else:
                name = target + "." + key[len(prefix):] if key.startswith(prefix) else key
                w.add(name, value.type, value.value)
        for name, info in g.tensors.items():
            weight = name[: -len(".scale")] + ".weight"
            if name.endswith(".scale") and _TERNARY_WEIGHT.match(weight) and weight in g.tensors:
                continue  # folded into the TQ2_0 block scales
            if not _TERNARY_WEIGHT.match(name):
                w.add_tensor(name, info.ne, info.type, lambda info=info: info.data)
                continue
            k = info.ne[0]
            if k % TQ2_0_BLOCK:
                raise BaselineUnavailableError(
                    f"{src}: {name} has {k} inputs; TQ2_0 needs a multiple of {TQ2_0_BLOCK}")
            scale_info = g.tensors.get(name[: -len(".weight")] + ".scale")
            scale = None if scale_info is None else float(dequantize_tensor(scale_info).reshape(-1)[0])
            w.add_tensor(name, info.ne, TQ2_0, lambda info=info, scale=scale: _tq2_0_bytes(info, scale))
        return w.write()


# ---- the measurement ----

@dataclass
class LlamaCppResult:
    version: str
    file: str
    file_bytes: int
    threads: int
    load_seconds: float
    pp_seconds: float                 # best of the repeats
    tg_seconds: float
    pp_tokens_per_second: float
    tg_tokens_per_second: float
    system_info: str
    note: str = GRAPH_NOTE


def _token_array(ids: Sequence[int]):
    import llama_cpp

    return (llama_cpp.llama_token * len(ids))(*[int(t) for t in ids])


def run_llama_cpp_benchmark(path: str | Path, threads: int, prompt: Sequence[int], short_prompt: Sequence[int],
                            generated: Sequence[int], repeats: int = 3, warmup_tokens: int = 16,
                            note: str = GRAPH_NOTE) -> LlamaCppResult:
    """pp (one `llama_decode` of `prompt`) and tg (one decode per token of `generated` after
    `short_prompt`), best of `repeats` after a warm-up, with llama.cpp's low-level API so no
    Python-side sampling or logits copies are timed. Only the last token's logits are computed,
    as in our engine's timed calls."""
    import llama_cpp

    n_batch = max(512, len(prompt))
    n_ctx = max(len(prompt), len(short_prompt) + len(generated)) + 16
    t0 = time.perf_counter()
    try:
        llm = llama_cpp.Llama(str(path), n_gpu_layers=0, use_mmap=False, use_mlock=False, n_ctx=n_ctx,
                              n_batch=n_batch, n_ubatch=n_batch, n_threads=threads, n_threads_batch=threads,
                              logits_all=False, flash_attn=False, verbose=False)
    except Exception as exc:  # llama-cpp-python raises ValueError / RuntimeError on a failed load
        raise BaselineUnavailableError(f"llama.cpp could not load {path}: {exc}") from exc
    load_seconds = time.perf_counter() - t0
    try:
        ctx = llm.ctx
        memory = llama_cpp.llama_get_memory(ctx)
        prompt_arr, short_arr = _token_array(prompt), _token_array(short_prompt)
        singles = [_token_array([t]) for t in generated]

        def decode(arr, n: int) -> None:
            status = llama_cpp.llama_decode(ctx, llama_cpp.llama_batch_get_one(arr, n))
            if status != 0:
                raise BaselineUnavailableError(f"llama_decode returned {status}")

        def time_prompt() -> float:
            llama_cpp.llama_memory_clear(memory, True)
            t = time.perf_counter()
            decode(prompt_arr, len(prompt))
            return time.perf_counter() - t

        def time_generation(tokens) -> float:
            llama_cpp.llama_memory_clear(memory, True)
            decode(short_arr, len(short_prompt))
            t = time.perf_counter()
            for arr in tokens:
                decode(arr, 1)
            return time.perf_counter() - t

        time_prompt()
        time_generation(singles[:warmup_tokens])
        pp = min(time_prompt() for _ in range(repeats))
        tg = min(time_generation(singles) for _ in range(repeats))
        system_info = llama_cpp.llama_print_system_info().decode("utf-8", "replace").strip()
    finally:
        llm.close()
    return LlamaCppResult(
        version=llama_cpp_version(), file=str(path), file_bytes=Path(path).stat().st_size, threads=threads,
        load_seconds=load_seconds, pp_seconds=pp, tg_seconds=tg, pp_tokens_per_second=len(prompt) / pp,
        tg_tokens_per_second=len(generated) / tg, system_info=system_info, note=note)
