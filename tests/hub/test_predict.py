"""Predicted generation speed: measured once and cached per CPU, kernel and threads; bytes per token from
the file, the catalog's shape or the size; and checked against the engine really generating on the
"small" synthetic shape (a generous factor: the point is catching unit errors, not a benchmark)."""
import dataclasses
import json
import time

import pytest

from bitnet_desktop.engine.benchmarks.model_bench import bytes_per_generated_token
from bitnet_desktop.engine.native import cpu_info, resolve_kernel
from bitnet_desktop.engine.runtime.generation_events import TokenEvent
from bitnet_desktop.engine.runtime.model import BitNetModel, LoadOptions
from bitnet_desktop.engine.sampling import SamplingParams
from bitnet_desktop.engine.synth import get_shape, write_synthetic_model
from bitnet_desktop.hub import predict
from bitnet_desktop.hub.catalog import ModelShape, load_catalog
from bitnet_desktop.hub.predict import (
    MachineProfile,
    cached_profile,
    machine_profile,
    measure_machine,
    predict_for_entry,
    predict_for_file,
    predict_for_shape,
    predict_from_size,
    profile_path,
    save_profile,
)

PROMPT = list(range(1, 9))
GEN_TOKENS = 48


@pytest.fixture(scope="module")
def measured():
    """One real measurement with one thread (a second busy core on a loaded machine then slows the model
    and the measurement alike, instead of stalling a two-thread barrier)."""
    return measure_machine(threads=1)


def fake_profile(threads=1, **changes) -> MachineProfile:
    info = cpu_info()
    values = dict(cpu=info.brand or info.arch, kernel=resolve_kernel(None), threads=threads, read_bandwidth_gbps=10.0,
                  ternary_efficiency=0.8, int8_head_efficiency=0.5, f16_head_efficiency=1.0,
                  sampling_seconds_per_logit=1e-9, measured_at=0.0, measure_seconds=1.0)
    values.update(changes)
    return MachineProfile(**values)


def test_measurement_is_sane_and_quick(measured):
    assert measured.threads == 1 and measured.kernel == resolve_kernel(None)
    assert 0.1 < measured.read_bandwidth_gbps < 10_000
    for e in (measured.ternary_efficiency, measured.int8_head_efficiency, measured.f16_head_efficiency):
        assert 0.01 < e <= 1.0
    assert 0 < measured.sampling_seconds_per_logit < 1e-6
    assert measured.measure_seconds < 20   # about a second on an idle machine


def test_cached_per_cpu_kernel_and_threads(tmp_path, monkeypatch):
    config = tmp_path / "config"
    calls = []

    def fake_measure(threads=None, kernel=None):
        calls.append(threads)
        return fake_profile(threads or 1, measured_at=time.time())

    monkeypatch.setattr(predict, "measure_machine", fake_measure)
    first = machine_profile(threads=1, config_dir=config)
    assert machine_profile(threads=1, config_dir=config) == first and calls == [1]
    machine_profile(threads=2, config_dir=config)
    assert calls == [1, 2]
    keys = json.loads(profile_path(config).read_text())["profiles"].keys()
    assert {k.rsplit("|", 1)[1] for k in keys} == {"1", "2"}
    machine_profile(threads=1, config_dir=config, refresh=True)
    assert calls == [1, 2, 1]


def test_a_damaged_cache_is_measured_again(tmp_path, monkeypatch):
    config = tmp_path / "config"
    save_profile(fake_profile(), config)
    assert cached_profile(1, None, config) == fake_profile()
    path = profile_path(config)
    data = json.loads(path.read_text())
    next(iter(data["profiles"].values()))["read_bandwidth_gbps"] = "fast"
    path.write_text(json.dumps(data))
    assert cached_profile(1, None, config) is None
    path.write_text("{")
    monkeypatch.setattr(predict, "measure_machine", lambda threads=None, kernel=None: fake_profile(threads))
    assert machine_profile(1, None, config) == fake_profile()


def test_bytes_and_seconds_per_token_add_up(tmp_path):
    profile = fake_profile()
    path = write_synthetic_model(tmp_path / "m.gguf", "small", seed=1)
    s = get_shape("small")
    shape = ModelShape(s.n_layer, s.n_embd, s.n_ff, s.n_head, s.n_head_kv, s.head_dim, s.n_vocab, s.tied)
    from_file = predict_for_file(path, profile, "fast", position=100)
    from_shape = predict_for_shape(shape, profile, "fast", context=s.n_ctx, position=100)
    assert dataclasses.replace(from_shape, basis="file") == from_file and from_file.label == "predicted"
    b = bytes_per_generated_token(shape.to_spec(s.n_ctx), "i8", 100)
    expected = (b.ternary / 8e9 + b.head / 5e9 + (b.norms + b.kv_cache) / 10e9 + s.n_vocab * 1e-9)
    assert from_file.bytes_per_token == b.total
    assert from_file.seconds_per_token == pytest.approx(expected)
    assert from_file.tokens_per_second == pytest.approx(1 / expected)
    exact = predict_for_file(path, profile, "exact", position=100)
    assert exact.head == "exact" and exact.bytes_per_token > from_file.bytes_per_token


def test_catalog_entries_get_a_prediction_labelled_by_its_basis():
    profile = fake_profile(read_bandwidth_gbps=20.0)
    catalog = load_catalog(with_user_entries=False)
    p = predict_for_entry(catalog.find("bitnet-b1.58-2b-4t"), profile)
    # 2B-4T reads ~0.85 GB per token in fast mode: at 20 GB/s (x0.8 / x0.5 efficiency) about 15-20 tokens/s
    assert 0.8e9 < p.bytes_per_token < 0.9e9 and 10 < p.tokens_per_second < 25 and p.basis == "catalog shape"
    assert "predicted" in p.summary()
    falcon = catalog.find("falcon3-10b-instruct-1.58bit")
    q = predict_for_entry(falcon, profile)
    assert q.basis == "file size" and q.bytes_per_token == falcon.size and "rough" in q.summary()
    assert predict_from_size(16e9 * 0.8, profile).tokens_per_second == pytest.approx(20 / 16)


def test_prediction_against_the_engine_generating(tmp_path, measured):
    path = write_synthetic_model(tmp_path / "small.gguf", "small", seed=1)
    prediction = predict_for_file(path, measured, "fast", position=len(PROMPT) + GEN_TOKENS // 2)
    model = BitNetModel.load(path, LoadOptions(threads=1, context_length=256, head="fast"))
    try:
        best = float("inf")
        for _ in range(3):   # best of three: the machine may be shared
            count, first = 0, None
            for event in model.generator.generate(PROMPT, SamplingParams(seed=1, max_tokens=GEN_TOKENS)):
                if isinstance(event, TokenEvent):
                    count += 1
                    if count == 1:
                        first = time.perf_counter()
            best = min(best, (time.perf_counter() - first) / (count - 1))
    finally:
        model.close()
    measured_tps = 1.0 / best
    ratio = prediction.tokens_per_second / measured_tps
    print(f"\npredicted {prediction.tokens_per_second:,.0f} tokens/s, measured {measured_tps:,.0f} tokens/s "
          f"(1 thread, {measured.kernel}): prediction/measured = {ratio:.2f}, error {100 * (ratio - 1):+.0f} %")
    assert 0.25 <= ratio <= 4.0
