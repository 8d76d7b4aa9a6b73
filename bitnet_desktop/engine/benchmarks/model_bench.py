"""Whole-model benchmark: prompt processing and generation speed of the native engine on one model,
judged against the memory read bandwidth measured in the same run and against llama.cpp on the
same weights.

* pp: `prompt_tokens` (128) token ids processed as one batch (`NativeModel.forward(ids, 0)`, the
  last token's logits computed), in tokens/s.
* tg: `gen_tokens` (128) single-token forward calls after a `short_prompt_tokens` (8) prompt, in
  tokens/s. No sampling: the ids are fixed, so only the forward pass is timed.
* Both after a warm-up, best of `repeats`.
* Bytes read per generated token: every layer's ternary weights as I2_S (with their 32-byte
  tails), the f32 norm gains, the head actually read (f16 vocab×d×2 in exact mode, int8 plus one
  f32 scale per row, vocab×(d+4), in fast mode) and the F16 KV cache at the average position of
  the tg run. A generated token cannot be faster than read bandwidth / those bytes ("the bound");
  tg is reported as a fraction of it.
* Load time with a warm page cache (the model is loaded twice, the second load is reported), and
  the process's resident memory after generating at the last position of the context, next to the
  estimate of runtime.memory.
* llama.cpp (see llama_cpp_baseline) on a TQ2_0 file of the same weights, same ids and threads:
  its `bitnet` graph for the BitNet archs, its own `llama` graph for arch llama (`--shape
  falcon3-1b | falcon-e-3b | llama3-8b`).
"""
from __future__ import annotations

import gc
import multiprocessing
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import psutil

from ..errors import BitNetError
from ..native import KernelContext, cpu_info
from ..runtime.model import BitNetModel, LoadOptions
from ..runtime.model_spec import ModelSpec
from ..runtime.native_model import NativeModelConfig
from ..synth import get_shape, write_synthetic_model
from . import llama_cpp_baseline as baseline

PROMPT_TOKENS = 128
GEN_TOKENS = 128
SHORT_PROMPT_TOKENS = 8
WARMUP_GEN_TOKENS = 16
FILL_CHUNK = 256           # tokens per call while filling the context (keeps Ctrl-C responsive)
TOKEN_SEED = 20250101      # the fixed token ids both engines are fed


@dataclass
class BytesPerToken:
    """Bytes one generated token reads from memory (see the module docstring)."""
    ternary: int
    norms: int
    head: int
    kv_cache: int
    kv_positions: float    # average number of cached positions attended to

    @property
    def total(self) -> int:
        return self.ternary + self.norms + self.head + self.kv_cache

    def to_dict(self) -> dict:
        return {**asdict(self), "total": self.total}


@dataclass
class ModelBenchReport:
    model: str
    synthetic_shape: str | None
    arch: str
    n_layers: int
    d_model: int
    vocab: int
    cpu: str
    threads: int
    kernel: str
    head: str                         # "exact" (f16) or "fast" (int8)
    context: int
    prompt_tokens: int
    gen_tokens: int
    short_prompt_tokens: int
    repeats: int
    pp_tokens_per_second: float
    tg_tokens_per_second: float
    pp_seconds: float                 # best of the repeats
    tg_seconds: float
    read_bandwidth_gbps: float
    bytes_per_token: BytesPerToken
    tg_bound_tokens_per_second: float
    tg_fraction_of_bound: float
    load_seconds: float               # second load, warm page cache
    first_load_seconds: float
    rss_bytes: int                    # after generating at the last position of `context`
    rss_file_backed_bytes: int        # of which pages of mapped files (the model, libraries): reclaimable
    rss_before_load_bytes: int        # the process before the model (Python, NumPy, ...)
    rss_after_load_bytes: int
    rss_context_filled: bool
    memory_estimate: dict             # runtime.memory.MemoryEstimate fields + total
    other_cpu_load: float = 0.0       # CPU share other processes used during the run (0..1)
    llama_cpp: baseline.LlamaCppResult | None = None
    llama_cpp_missing: str | None = None
    pp_ratio_vs_llama_cpp: float | None = None
    tg_ratio_vs_llama_cpp: float | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["bytes_per_token"] = self.bytes_per_token.to_dict()
        return d


def token_ids(vocab: int, n: int, seed: int) -> np.ndarray:
    """Fixed pseudo-random token ids in [0, vocab) (int32)."""
    return np.random.default_rng([TOKEN_SEED, seed]).integers(0, vocab, size=n, dtype=np.int32)


def benchmark_ids(vocab: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(prompt, short prompt, generated) token ids both engines are fed."""
    return (token_ids(vocab, PROMPT_TOKENS, seed=0), token_ids(vocab, SHORT_PROMPT_TOKENS, seed=1),
            token_ids(vocab, GEN_TOKENS, seed=2))


def bytes_per_generated_token(spec: ModelSpec, head: str, kv_positions: float) -> BytesPerToken:
    """Bytes read per generated token; head is "f16" (exact) or "i8" (fast)."""
    config = NativeModelConfig.from_spec(spec, head=head)
    # Python ints: no overflow anywhere (2B-4T's head alone is 657 MB).
    ternary = spec.n_layers * sum(m * k // 4 + 32 for m, k in config.ternary_shapes().values())
    norms = 4 * (spec.n_layers * sum(config.norm_lengths().values()) + spec.d_model)
    d, v = spec.d_model, spec.vocab_size
    head_bytes = v * d * 2 if head == "f16" else v * (d + 4)
    kv = round(kv_positions * spec.kv_bytes_per_token())
    return BytesPerToken(ternary, norms, head_bytes, kv, kv_positions)


def mean_kv_positions(short_prompt: int, gen: int) -> float:
    """The token at position p attends to p + 1 cached positions; tg runs p = short .. short+gen-1."""
    return short_prompt + (gen + 1) / 2


def measure_bandwidth(threads: int, nbytes: int) -> float:
    """Best read bandwidth (GB/s) over every supported kernel variant, as bench kernels measures it."""
    ctx = KernelContext(threads=threads)
    best = 0.0
    for name in cpu_info().supported_kernels:
        ctx.kernel = name
        best = max(best, ctx.measure_read_bandwidth(nbytes, repeats=3))
    del ctx
    return best


def _time_prompt(native, ids: np.ndarray) -> float:
    t0 = time.perf_counter()
    native.forward(ids, 0)
    return time.perf_counter() - t0


def _time_generation(native, short: np.ndarray, singles: list[np.ndarray], out: np.ndarray) -> float:
    native.forward(short, 0)
    pos = len(short)
    t0 = time.perf_counter()
    for i, t in enumerate(singles):
        native.forward(t, pos + i, out=out)
    return time.perf_counter() - t0


def _fill_context(native, vocab: int) -> None:
    """Runs the model up to its last position, so every page of the KV cache is resident."""
    n = native.max_context
    ids = token_ids(vocab, n, seed=3)
    for start in range(0, n - 1, FILL_CHUNK):
        native.prefill(ids[start:min(start + FILL_CHUNK, n - 1)], start)
    native.forward(ids[n - 1:], n - 1)


def write_in_child_process(path: Path, shape: str, seed: int, fmt: str = "i2_s", arch: str | None = None,
                           **overrides) -> Path:
    """Writes the synthetic model from a separate process: building 1 GB of weights in this one
    would leave ~50 MiB of freed heap behind and inflate the resident memory we report."""
    context = multiprocessing.get_context("spawn")  # also works in the frozen app (freeze_support)
    child = context.Process(target=write_synthetic_model, args=(path, shape, fmt, arch),
                            kwargs={"seed": seed, **overrides})
    child.start()
    child.join()
    if child.exitcode != 0 or not path.exists():
        raise BitNetError(f"writing the synthetic {shape} model failed (exit code {child.exitcode})")
    return path


def _rss() -> int:
    return psutil.Process().memory_info().rss


def _rss_file_backed() -> int:
    """Resident pages backed by files (Linux: RssFile + RssShmem); 0 where the OS does not say."""
    return int(getattr(psutil.Process().memory_info(), "shared", 0))


class OtherLoad:
    """How much of the machine's CPU time other processes took while we measured: timings on a
    busy machine are reported with that number rather than silently."""

    def __init__(self):
        self._t0 = time.perf_counter()
        self._busy0 = self._busy()
        self._ours0 = self._ours()

    @staticmethod
    def _busy() -> float:
        t = psutil.cpu_times()
        return t.user + t.system + getattr(t, "nice", 0.0) + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0)

    @staticmethod
    def _ours() -> float:
        t = psutil.Process().cpu_times()
        return t.user + t.system

    def fraction(self) -> float:
        wall = time.perf_counter() - self._t0
        others = (self._busy() - self._busy0) - (self._ours() - self._ours0)
        return max(0.0, others / (wall * (psutil.cpu_count() or 1))) if wall > 0 else 0.0


def run_model_benchmark(
    model_path: str | Path | None = None,
    shape: str | None = None,
    seed: int = 0,
    threads: int | None = None,
    kernel: str | None = None,
    head: str = "fast",
    context: int | None = None,
    repeats: int = 3,
    llama_cpp: bool = True,
    fill_context: bool = True,
    bandwidth_bytes: int = 1 << 30,
    progress: Callable[[str], None] | None = None,
) -> ModelBenchReport:
    """Benchmarks a GGUF file (`model_path`) or a synthetic model (`shape`, written as I2_S to a
    temporary directory and deleted afterwards). `head` is "fast" or "exact"."""
    if (model_path is None) == (shape is None):
        raise ValueError("give either a model path or a synthetic shape")
    say = progress or (lambda _msg: None)
    with tempfile.TemporaryDirectory(prefix="bitnet-bench-") as tmp:
        tmp_dir = Path(tmp)
        if shape is not None:
            get_shape(shape)  # unknown names fail before anything is written
            say(f"writing the synthetic {shape} model (I2_S, seed {seed})")
            path = write_in_child_process(tmp_dir / f"synthetic-{shape}-i2_s.gguf", shape, seed)
        else:
            path = Path(model_path)
        report = _run(path, shape, seed, threads, kernel, head, context, repeats, llama_cpp, fill_context,
                      bandwidth_bytes, tmp_dir, say)
        say("removing temporary files")
    return report


@dataclass
class _EngineRun:
    """What one pass over our engine measured (see ModelBenchReport for the fields)."""
    spec: ModelSpec
    threads: int
    kernel: str
    head: str
    context: int
    pp_seconds: float
    tg_seconds: float
    bandwidth_gbps: float
    load_seconds: float
    first_load_seconds: float
    rss_before_load: int
    rss_after_load: int
    rss: int
    rss_file_backed: int
    memory: dict


def _measure_engine(path: Path, options: LoadOptions, repeats: int, fill_context: bool, bandwidth_bytes: int,
                    say) -> _EngineRun:
    rss_before = _rss()
    say("loading the model (twice: the second load is timed with a warm page cache)")
    model = BitNetModel.load(path, options)
    first_load = model.load_seconds
    model.close()
    del model
    gc.collect()
    model = BitNetModel.load(path, options)
    rss_after_load = _rss()
    native, spec = model.native, model.spec
    threads = model.ctx.threads
    say(f"measuring memory read bandwidth ({bandwidth_bytes >> 20} MiB, {threads} threads)")
    bandwidth = measure_bandwidth(threads, bandwidth_bytes)

    prompt, short, gen = benchmark_ids(spec.vocab_size)
    singles = [gen[i:i + 1] for i in range(len(gen))]
    out = np.empty(spec.vocab_size, np.float32)
    say(f"ours: pp{len(prompt)} and tg{len(gen)}, warm-up then best of {repeats}")
    _time_prompt(native, prompt)
    _time_generation(native, short, singles[:WARMUP_GEN_TOKENS], out)
    pp = min(_time_prompt(native, prompt) for _ in range(repeats))
    tg = min(_time_generation(native, short, singles, out) for _ in range(repeats))
    if fill_context:
        say(f"generating at the end of the context ({native.max_context} positions) for the resident memory")
        _fill_context(native, spec.vocab_size)
    m = model.memory
    run = _EngineRun(
        spec=spec, threads=threads, kernel=model.ctx.kernel, head=model.head, context=native.max_context,
        pp_seconds=pp, tg_seconds=tg, bandwidth_gbps=bandwidth, load_seconds=model.load_seconds,
        first_load_seconds=first_load, rss_before_load=rss_before, rss_after_load=rss_after_load, rss=_rss(),
        rss_file_backed=_rss_file_backed(),
        memory={"weights": m.weights, "kv_cache": m.kv_cache, "scratch": m.scratch, "fast_head": m.fast_head,
                "total": m.total})
    model.close()
    del model, native
    gc.collect()
    say("measuring memory read bandwidth again")
    # Bandwidth drifts on a shared machine: keep the better of the two measurements.
    run.bandwidth_gbps = max(bandwidth, measure_bandwidth(threads, bandwidth_bytes))
    return run


def _run(path: Path, shape, seed, threads, kernel, head, context, repeats, llama_cpp, fill_context,
         bandwidth_bytes, tmp_dir: Path, say) -> ModelBenchReport:
    options = LoadOptions(threads=threads, kernel=kernel, context_length=context, head=head)
    other_load = OtherLoad()
    e = _measure_engine(path, options, repeats, fill_context, bandwidth_bytes, say)
    spec = e.spec
    bpt = bytes_per_generated_token(spec, e.head, mean_kv_positions(SHORT_PROMPT_TOKENS, GEN_TOKENS))
    tg_tps = GEN_TOKENS / e.tg_seconds
    bound = e.bandwidth_gbps * 1e9 / bpt.total
    head_mode = "fast" if e.head == "i8" else "exact"
    report = ModelBenchReport(
        model=str(path) if shape is None else f"synthetic {shape} (I2_S, seed {seed})",
        synthetic_shape=shape, arch=spec.arch, n_layers=spec.n_layers, d_model=spec.d_model,
        vocab=spec.vocab_size, cpu=cpu_info().brand, threads=e.threads, kernel=e.kernel, head=head_mode,
        context=e.context, prompt_tokens=PROMPT_TOKENS, gen_tokens=GEN_TOKENS,
        short_prompt_tokens=SHORT_PROMPT_TOKENS, repeats=repeats,
        pp_tokens_per_second=PROMPT_TOKENS / e.pp_seconds, tg_tokens_per_second=tg_tps,
        pp_seconds=e.pp_seconds, tg_seconds=e.tg_seconds, read_bandwidth_gbps=e.bandwidth_gbps,
        bytes_per_token=bpt, tg_bound_tokens_per_second=bound, tg_fraction_of_bound=tg_tps / bound,
        load_seconds=e.load_seconds, first_load_seconds=e.first_load_seconds, rss_bytes=e.rss,
        rss_file_backed_bytes=e.rss_file_backed,
        rss_before_load_bytes=e.rss_before_load, rss_after_load_bytes=e.rss_after_load,
        rss_context_filled=fill_context, memory_estimate=e.memory)
    if llama_cpp and spec.activation == "relu2":
        report.notes.append("llama.cpp's bitnet graph gates the FFN with SiLU where this model uses ReLU²: "
                            "the same cost, one elementwise op per FFN element")
    if report.tg_fraction_of_bound > 1:
        report.notes.append("tg beats the bandwidth bound: the caches hold much of what a token reads (small "
                            "model), or the bandwidth measurement was disturbed")
    if head_mode == "fast":
        report.notes.append("our fast head reads int8 rows; llama.cpp's head is the f16 embedding")
    if llama_cpp:
        _add_baseline(report, path, shape, seed, repeats, tmp_dir, say)
    else:
        report.llama_cpp_missing = "not requested (--no-llama-cpp)"
    report.other_cpu_load = other_load.fraction()
    if report.other_cpu_load > 0.1:
        report.notes.append(f"other processes used {report.other_cpu_load:.0%} of the CPUs during the run: "
                            "timings are lower and noisier than on an idle machine")
    return report


def _baseline_file(path: Path, shape: str | None, seed: int, tmp_dir: Path, say) -> Path:
    if shape is not None:
        arch = baseline.llama_cpp_arch(get_shape(shape).arch or "")
        say(f"writing the synthetic {shape} model for llama.cpp (TQ2_0, arch {arch}, seed {seed})")
        return _write_tq2_0_in_child_process(tmp_dir / f"synthetic-{shape}-tq2_0.gguf", shape, arch, seed)
    if baseline.is_ready_for_llama_cpp(path):
        return path
    say("converting the model to TQ2_0 (llama.cpp's bitnet arch) for llama.cpp")
    return baseline.convert_to_tq2_0(path, tmp_dir / (path.stem + "-tq2_0.gguf"))


def _write_tq2_0_in_child_process(path: Path, shape: str, arch: str, seed: int) -> Path:
    """The TQ2_0 copy, named with a pre-tokenizer upstream llama.cpp loads (see llama_cpp_baseline)."""
    pre = get_shape(shape).pre
    overrides = {"pre": baseline.UPSTREAM_PRE[pre]} if pre in baseline.UPSTREAM_PRE else {}
    return write_in_child_process(path, shape, seed, "tq2_0", arch, **overrides)


def _add_baseline(report: ModelBenchReport, path: Path, shape, seed, repeats, tmp_dir: Path, say) -> None:
    reason = baseline.unavailable_reason()
    if reason is not None:
        report.llama_cpp_missing = reason
        return
    try:
        tq2_path = _baseline_file(path, shape, seed, tmp_dir, say)
        prompt, short, gen = benchmark_ids(report.vocab)
        say(f"llama.cpp: pp{PROMPT_TOKENS} and tg{GEN_TOKENS}, warm-up then best of {repeats}")
        result = baseline.run_llama_cpp_benchmark(tq2_path, report.threads, prompt.tolist(), short.tolist(),
                                                  gen.tolist(), repeats, WARMUP_GEN_TOKENS,
                                                  baseline.graph_note(report.arch))
    except BitNetError as exc:  # the file cannot be converted, or llama.cpp refuses it
        report.llama_cpp_missing = str(exc)
        return
    report.llama_cpp = result
    report.pp_ratio_vs_llama_cpp = report.pp_tokens_per_second / result.pp_tokens_per_second
    report.tg_ratio_vs_llama_cpp = report.tg_tokens_per_second / result.tg_tokens_per_second
