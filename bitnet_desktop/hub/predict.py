"""Predicted generation speed on THIS machine, before a model is downloaded. No Qt.

Generating a token reads every ternary weight, the norms, the head and the KV cache once, so its
time is about the bytes read divided by the rate this machine reads them (docs/published-numbers.md#2b-4t-speed-on-cpu:
tg is memory-bound). The rates are measured once, with the engine's own kernels, and cached:

    seconds/token = ternary bytes / (bandwidth x ternary GEMV efficiency)
                  + head bytes    / (bandwidth x head GEMV efficiency)      (int8 fast / f16 exact)
                  + (norm + KV-cache bytes) / bandwidth
                  + vocabulary x sampling seconds per logit                 (the default sampler)

* bandwidth: the best parallel read of a 256 MiB buffer (KernelContext.measure_read_bandwidth, as
  `bench kernels` measures it), with the threads and kernel generation will use;
* efficiency: GEMV bytes/s over that bandwidth, for an I2_S [2560 x 2560] weight cycled through
  128 MiB of copies (so it streams from memory like 30 layers do) and for an int8 / f16 head of 128 MiB
  (kernel_bench's gemv_fraction_of_bandwidth, measured smaller and faster);
* bytes per token: model_bench.bytes_per_generated_token, from the file's spec, the catalog's shape,
  or (shape unknown) the file size.

The measurement takes about a second; it is cached in the config folder keyed by CPU, kernel and
threads, and re-measured only on request. Everything shown is labelled a prediction; once a model has
run, its measured speed (installed.ModelLibrary.record_run) is shown beside it.

Attention's arithmetic, thread wake-ups per layer and the tokenizer are not modelled: small models
that fit in the caches run faster than predicted, and very long contexts slower.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from ..atomic_file import write_json_atomically
from .. import paths
from .catalog import CatalogEntry, ModelShape

PROFILE_FILE = "speed_profile.json"
PROFILE_VERSION = 1
BANDWIDTH_BYTES = 256 << 20
WORKING_SET_BYTES = 128 << 20
GEMV_SHAPE = (2560, 2560)          # 2B-4T's attn_q / attn_output
HEAD_COLUMNS = 2560
SAMPLING_VOCAB = 128256
DEFAULT_POSITION = 256             # KV positions a token attends to in the prediction (an early chat)
MIN_SECONDS = 0.08                 # each timed GEMV series runs at least this long


@dataclass(frozen=True)
class MachineProfile:
    """What this machine measured, for one (CPU, kernel, threads)."""
    cpu: str
    kernel: str
    threads: int
    read_bandwidth_gbps: float       # 1e9 bytes/s
    ternary_efficiency: float        # I2_S GEMV bytes/s over read bandwidth (at most 1)
    int8_head_efficiency: float      # fast head
    f16_head_efficiency: float       # exact head
    sampling_seconds_per_logit: float
    measured_at: float
    measure_seconds: float

    @property
    def key(self) -> str:
        return profile_key(self.cpu, self.kernel, self.threads)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "MachineProfile":
        values = {f.name: data[f.name] for f in fields(cls)}
        profile = cls(**values)
        for name in ("read_bandwidth_gbps", "ternary_efficiency", "int8_head_efficiency", "f16_head_efficiency"):
            value = getattr(profile, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"{name} = {value!r}")
        return profile


@dataclass(frozen=True)
class SpeedPrediction:
    tokens_per_second: float
    seconds_per_token: float
    bytes_per_token: int
    basis: str                       # "file", "catalog shape" or "file size"
    head: str                        # "fast" or "exact"
    position: int                    # KV positions attended to
    profile: MachineProfile
    label: str = "predicted"
    note: str = ""

    def summary(self) -> str:
        rough = ", rough: from the file size" if self.basis == "file size" else ""
        return (f"about {self.tokens_per_second:.1f} tokens/s (predicted for {self.profile.threads} "
                f"thread{'s' if self.profile.threads != 1 else ''}, {self.profile.kernel}{rough})")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["profile"] = self.profile.to_dict()
        return d


def profile_key(cpu: str, kernel: str, threads: int) -> str:
    return f"{cpu.strip()}|{kernel}|{threads}"


# ---- measuring ----


def measure_machine(threads: int | None = None, kernel: str | None = None) -> MachineProfile:
    """Measures read bandwidth, GEMV efficiencies and the sampler's cost (about a second)."""
    import numpy as np

    from ..engine.benchmarks.kernel_bench import random_i2s_weight
    from ..engine.native import KernelContext, cpu_info

    t_start = time.perf_counter()
    ctx = KernelContext(threads=threads, kernel=kernel)
    try:
        used_threads, used_kernel = ctx.threads, ctx.kernel
        bandwidth = ctx.measure_read_bandwidth(BANDWIDTH_BYTES, repeats=3) * 1e9
        rng = np.random.default_rng(0)

        m, k = GEMV_SHAPE
        base = random_i2s_weight(m, k, rng)
        copies = [base.copy() for _ in range(max(1, WORKING_SET_BYTES // base.size))]
        seconds = _time_series(lambda n: ctx.bench_matmul("i2s", copies, m, k, 1, n), len(copies))
        ternary = (m * k // 4) / seconds / bandwidth
        del copies, base

        rows = WORKING_SET_BYTES // HEAD_COLUMNS
        head_i8 = np.ones((rows, HEAD_COLUMNS), np.int8)          # np.ones touches every page (zeros would not)
        scales = np.ones(rows, np.float32)
        seconds = _time_series(lambda n: ctx.bench_matmul("i8", [head_i8], rows, HEAD_COLUMNS, 1, n, [scales]), 1)
        int8 = (head_i8.nbytes + scales.nbytes) / seconds / bandwidth
        del head_i8, scales

        rows //= 2
        head_f16 = np.full((rows, HEAD_COLUMNS), 0x3C00, np.uint16)  # 1.0
        seconds = _time_series(lambda n: ctx.bench_matmul("f16", [head_f16], rows, HEAD_COLUMNS, 1, n), 1)
        f16 = head_f16.nbytes / seconds / bandwidth
        del head_f16
    finally:
        ctx.close()  # its threads must not compete with a model's afterwards
    sampling = _sampling_seconds_per_logit()
    return MachineProfile(cpu=cpu_info().brand or cpu_info().arch, kernel=used_kernel, threads=used_threads,
                          read_bandwidth_gbps=bandwidth / 1e9, ternary_efficiency=min(1.0, ternary),
                          int8_head_efficiency=min(1.0, int8), f16_head_efficiency=min(1.0, f16),
                          sampling_seconds_per_logit=sampling, measured_at=time.time(),
                          measure_seconds=time.perf_counter() - t_start)


def _time_series(run, iterations: int) -> float:
    """Seconds per iteration: a warm-up call, then the best of a few series of at least MIN_SECONDS."""
    run(1)
    per = []
    n = iterations
    for _ in range(3):
        t = run(n)
        if t < MIN_SECONDS:
            n = max(n, int(n * MIN_SECONDS / max(t, 1e-9)) + 1)
            t = run(n)
        per.append(t / n)
    return min(per)


def _sampling_seconds_per_logit() -> float:
    import numpy as np

    from ..engine.sampling import Sampler, SamplingParams

    logits = np.random.default_rng(0).standard_normal(SAMPLING_VOCAB).astype(np.float32)
    sampler = Sampler(SamplingParams(seed=0))
    sampler.sample(logits)
    n = 10
    t0 = time.perf_counter()
    for _ in range(n):
        sampler.sample(logits)
    return (time.perf_counter() - t0) / n / SAMPLING_VOCAB


# ---- the cache ----


def profile_path(config_dir: str | os.PathLike | None = None) -> Path:
    return (Path(config_dir) if config_dir is not None else paths.config_dir()) / PROFILE_FILE


def cached_profile(threads: int | None = None, kernel: str | None = None,
                   config_dir: str | os.PathLike | None = None) -> MachineProfile | None:
    """The cached measurement for this CPU, kernel and thread count, if any."""
    key = _current_key(threads, kernel)
    entry = _read_cache(profile_path(config_dir)).get(key)
    if entry is None:
        return None
    try:
        return MachineProfile.from_dict(entry)
    except (KeyError, TypeError, ValueError):
        return None


def machine_profile(threads: int | None = None, kernel: str | None = None,
                    config_dir: str | os.PathLike | None = None, refresh: bool = False) -> MachineProfile:
    """The cached measurement, or a new one (about a second) saved for next time."""
    if not refresh:
        cached = cached_profile(threads, kernel, config_dir)
        if cached is not None:
            return cached
    profile = measure_machine(threads, kernel)
    save_profile(profile, config_dir)
    return profile


def save_profile(profile: MachineProfile, config_dir: str | os.PathLike | None = None) -> None:
    path = profile_path(config_dir)
    profiles = _read_cache(path)
    profiles[profile.key] = profile.to_dict()
    write_json_atomically(path, {"version": PROFILE_VERSION, "profiles": profiles})


def _read_cache(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != PROFILE_VERSION \
            or not isinstance(data.get("profiles"), dict):
        return {}
    return data["profiles"]


def _current_key(threads: int | None, kernel: str | None) -> str:
    from ..engine.native import cpu_info, resolve_kernel
    from ..engine.native.kernels import default_threads

    info = cpu_info()
    return profile_key(info.brand or info.arch, resolve_kernel(kernel),
                       default_threads() if threads is None else threads)


# ---- predicting ----


def predict_for_spec(spec, profile: MachineProfile, head: str = "fast", position: int | None = None,
                     basis: str = "file") -> SpeedPrediction:
    """From an engine ModelSpec (or anything with its fields)."""
    from ..engine.benchmarks.model_bench import bytes_per_generated_token

    mode = {"fast": "i8", "exact": "f16", "i8": "i8", "f16": "f16"}.get(head)
    if mode is None:
        raise ValueError(f"unknown head mode {head!r}; use 'fast' or 'exact'")
    position = DEFAULT_POSITION if position is None else position
    position = min(position, spec.context_length)
    b = bytes_per_generated_token(spec, mode, position)
    bw = profile.read_bandwidth_gbps * 1e9
    head_efficiency = profile.int8_head_efficiency if mode == "i8" else profile.f16_head_efficiency
    seconds = (b.ternary / (bw * profile.ternary_efficiency) + b.head / (bw * head_efficiency)
               + (b.norms + b.kv_cache) / bw + spec.vocab_size * profile.sampling_seconds_per_logit)
    return SpeedPrediction(1.0 / seconds, seconds, b.total, basis, "fast" if mode == "i8" else "exact",
                           position, profile)


def predict_for_shape(shape: ModelShape, profile: MachineProfile, head: str = "fast", context: int = 4096,
                      position: int | None = None) -> SpeedPrediction:
    return predict_for_spec(shape.to_spec(context), profile, head, position, basis="catalog shape")


def predict_for_file(path: str | os.PathLike, profile: MachineProfile, head: str = "fast",
                     position: int | None = None) -> SpeedPrediction:
    from ..engine.gguf import open_gguf
    from ..engine.runtime.model_spec import read_model_spec

    with open_gguf(path) as g:
        embd = g.tensors.get("token_embd.weight")
        vocab_rows = embd.shape[0] if embd is not None and len(embd.shape) == 2 else 0
        spec = read_model_spec(g.metadata, str(path), vocab_rows)
    return predict_for_spec(spec, profile, head, position, basis="file")


def predict_from_size(size: int, profile: MachineProfile) -> SpeedPrediction:
    """Shape unknown: every byte of the file read once per token at the ternary GEMV's rate. An
    untied F16 output read as int8 (fast head) costs half its bytes, so this leans slow."""
    seconds = size / (profile.read_bandwidth_gbps * 1e9 * profile.ternary_efficiency)
    return SpeedPrediction(1.0 / seconds, seconds, size, "file size", "fast", 0, profile,
                           note="the model's shape is not known before download: every byte of the file is "
                                "counted as read per token")


def predict_for_entry(entry: CatalogEntry, profile: MachineProfile, head: str = "fast",
                      position: int | None = None) -> SpeedPrediction | None:
    if entry.shape is not None:
        return predict_for_shape(entry.shape, profile, head, entry.context_length or 4096, position)
    if entry.size is not None:
        return replace(predict_from_size(entry.size, profile), head=head)
    return None
