"""The model benchmark's accounting (bytes read per token) and its llama.cpp baseline file."""
import numpy as np
import pytest

from bitnet_desktop.engine.benchmarks import llama_cpp_baseline as baseline
from bitnet_desktop.engine.benchmarks.model_bench import (
    GEN_TOKENS,
    SHORT_PROMPT_TOKENS,
    bytes_per_generated_token,
    mean_kv_positions,
)
from bitnet_desktop.engine.gguf import TQ2_0, open_gguf
from bitnet_desktop.engine.runtime.model_spec import ModelSpec, read_model_spec
from bitnet_desktop.engine.synth import SyntheticModel, write_synthetic_model


def spec_of(m: SyntheticModel) -> ModelSpec:
    s = m.shape
    return ModelSpec(arch=m.arch, name=m.name, n_layers=s.n_layer, d_model=s.n_embd, d_ffn=s.n_ff,
                     n_heads=s.n_head, n_kv_heads=s.n_head_kv, head_dim=s.head_dim, vocab_size=s.n_vocab,
                     context_length=s.n_ctx, rope_theta=s.rope_theta, rms_eps=s.rms_eps, activation="relu2")


def independent_bytes(m: SyntheticModel, head: str, kv_positions: float) -> int:
    """From the I2_S file's own tensor sizes: ternary and norm tensors as stored, the head as read."""
    s = m.shape
    stored = sum(t.nbytes for t in m.layout() if m.specs[t.name].role in ("ternary", "norm"))
    head_bytes = s.n_vocab * s.n_embd * 2 if head == "f16" else s.n_vocab * (s.n_embd + 4)
    kv = kv_positions * s.n_layer * 2 * s.n_embd_kv * 2   # K and V, f16, every layer
    return stored + head_bytes + round(kv)


def test_tg_attends_to_the_average_position_of_its_run():
    # 128 tokens at positions 8..135 attend to 9..136 cached positions.
    assert mean_kv_positions(SHORT_PROMPT_TOKENS, GEN_TOKENS) == np.mean(np.arange(9, 137))


@pytest.mark.parametrize("shape", ["tiny", "small", "2b4t"])
@pytest.mark.parametrize("head", ["f16", "i8"])
def test_bytes_per_token_is_what_the_file_stores_plus_head_and_kv(shape, head):
    m = SyntheticModel(shape, "i2_s")
    kv_positions = mean_kv_positions(SHORT_PROMPT_TOKENS, GEN_TOKENS)
    b = bytes_per_generated_token(spec_of(m), head, kv_positions)
    assert b.total == b.ternary + b.norms + b.head + b.kv_cache
    assert b.total == independent_bytes(m, head, kv_positions)


def test_bytes_per_token_of_2b4t_match_the_spec():
    b = bytes_per_generated_token(spec_of(SyntheticModel("2b4t", "i2_s")), "f16", 1.0)
    assert b.kv_cache == 76_800                    # docs/published-numbers.md#memory-of-the-official-file
    assert b.head == 128256 * 2560 * 2             # the tied f16 embedding, 656.7 MB


def test_spec_from_the_written_file_gives_the_same_count(tmp_path):
    m = SyntheticModel("tiny", "i2_s")
    with open_gguf(m.write(tmp_path / "tiny.gguf")) as g:
        spec = read_model_spec(g.metadata, str(g.path), g.tensors["token_embd.weight"].shape[0])
    assert bytes_per_generated_token(spec, "i8", 10.0) == bytes_per_generated_token(spec_of(m), "i8", 10.0)


# ---- the llama.cpp file ----

@pytest.mark.parametrize("scales", [False, True])
def test_conversion_writes_llama_cpps_bitnet_tq2_0_file(tmp_path, scales):
    src = write_synthetic_model(tmp_path / "i2s.gguf", "tiny", "i2_s", seed=3, scales=scales)
    dst = baseline.convert_to_tq2_0(src, tmp_path / "tq2.gguf")
    reference = SyntheticModel("tiny", "tq2_0", "bitnet", seed=3)
    with open_gguf(src) as a, open_gguf(dst) as b:
        assert b.metadata["general.architecture"] == "bitnet"
        assert b.metadata["general.file_type"] == baseline.FILE_TYPE_TQ2_0
        assert not [k for k in b.metadata if k.startswith("bitnet-b1.58")]
        for key, value in a.metadata.items():
            if key.startswith("bitnet-b1.58."):
                assert b.metadata["bitnet." + key[len("bitnet-b1.58."):]] == value
            elif key not in ("general.architecture", "general.file_type"):
                assert b.metadata[key] == value
        assert list(b.tensors) == [n for n in a.tensors if not n.endswith(".scale")]
        for name, t in b.tensors.items():
            if reference.specs[name].role == "ternary":
                # every block's d = fp16(alpha): byte for byte what the synth writes for TQ2_0
                assert t.type is TQ2_0
                np.testing.assert_array_equal(t.data, reference.tensor_bytes(name))
            else:
                assert t.type is a.tensors[name].type
                np.testing.assert_array_equal(t.data, a.tensors[name].data)


def test_only_bitnet_tq2_0_files_are_used_as_they_are(tmp_path):
    assert baseline.is_ready_for_llama_cpp(write_synthetic_model(tmp_path / "a.gguf", "tiny", "tq2_0", "bitnet"))
    assert not baseline.is_ready_for_llama_cpp(write_synthetic_model(tmp_path / "b.gguf", "tiny", "i2_s"))
    assert not baseline.is_ready_for_llama_cpp(write_synthetic_model(tmp_path / "c.gguf", "tiny", "tq1_0"))


def test_llama_cpp_computes_the_same_logits_from_the_converted_file(tmp_path):
    from llama_cpp import Llama

    converted = baseline.convert_to_tq2_0(write_synthetic_model(tmp_path / "i2s.gguf", "tiny", "i2_s"),
                                          tmp_path / "converted.gguf")
    written = write_synthetic_model(tmp_path / "written.gguf", "tiny", "tq2_0", "bitnet")
    ids = list(range(300, 340))
    logits = []
    for path in (converted, written):
        llm = Llama(str(path), n_ctx=64, n_threads=1, n_threads_batch=1, logits_all=True, verbose=False)
        try:
            llm.eval(ids)
            logits.append(np.array(llm.scores[: len(ids)]))
        finally:
            llm.close()
    np.testing.assert_array_equal(logits[0], logits[1])


def test_llama_cpp_benchmark_reports_both_rates(tmp_path):
    path = write_synthetic_model(tmp_path / "tq2.gguf", "tiny", "tq2_0", "bitnet")
    r = baseline.run_llama_cpp_benchmark(path, 1, list(range(32)), [1, 2], list(range(40, 56)), repeats=1,
                                         warmup_tokens=2)
    assert r.threads == 1 and r.version
    assert r.pp_tokens_per_second == pytest.approx(32 / r.pp_seconds)
    assert r.tg_tokens_per_second == pytest.approx(16 / r.tg_seconds)


def test_a_file_llama_cpp_cannot_load_is_reported_not_raised_raw(tmp_path):
    path = write_synthetic_model(tmp_path / "i2s.gguf", "tiny", "i2_s")   # arch bitnet-b1.58: unknown there
    with pytest.raises(baseline.BaselineUnavailableError, match="could not load"):
        baseline.run_llama_cpp_benchmark(path, 1, [1, 2], [1], [3], repeats=1)


# ---- arch llama ----

def test_llama_bytes_per_token_count_no_sub_norms():
    m = SyntheticModel("falcon3-1b", "i2_s")
    spec = ModelSpec(**{**spec_of(m).__dict__, "activation": "silu", "rope_style": "normal", "sub_norms": False})
    kv_positions = mean_kv_positions(SHORT_PROMPT_TOKENS, GEN_TOKENS)
    b = bytes_per_generated_token(spec, "f16", kv_positions)
    assert b.total == independent_bytes(m, "f16", kv_positions)   # the file has no sub-norm tensors
    assert b.norms == 4 * (2 * 2048 * 18 + 2048)


def test_llama_file_converts_to_llama_cpps_llama_tq2_0(tmp_path):
    src = write_synthetic_model(tmp_path / "i2s.gguf", "tiny-llama", "i2_s", seed=5)
    dst = baseline.convert_to_tq2_0(src, tmp_path / "tq2.gguf")
    reference = SyntheticModel("tiny-llama", "tq2_0", seed=5)
    with open_gguf(src) as a, open_gguf(dst) as b:
        assert b.metadata["general.architecture"] == "llama"
        assert {k: v for k, v in b.metadata.items() if k != "general.file_type"} == \
               {k: v for k, v in a.metadata.items() if k != "general.file_type"}
        for name, t in b.tensors.items():
            if reference.specs[name].role == "ternary":
                np.testing.assert_array_equal(t.data, reference.tensor_bytes(name))  # permuted rows kept
    assert baseline.is_ready_for_llama_cpp(dst)
    assert baseline.llama_cpp_arch("llama") == "llama" and baseline.llama_cpp_arch("bitnet-b1.58") == "bitnet"
    assert "`llama` graph" in baseline.graph_note("llama")


def test_a_pre_tokenizer_upstream_does_not_know_is_renamed_for_llama_cpp(tmp_path):
    from llama_cpp import Llama

    src = write_synthetic_model(tmp_path / "i2s.gguf", "tiny-llama", "i2_s", pre="falcon_e")
    dst = baseline.convert_to_tq2_0(src, tmp_path / "tq2.gguf")
    with open_gguf(dst) as g:
        assert g.metadata["tokenizer.ggml.pre"] == "falcon3"
    llm = Llama(str(dst), n_ctx=64, n_threads=1, verbose=False)  # loads: upstream knows falcon3
    llm.close()
    with pytest.raises(ValueError):  # and would not have loaded the original name
        Llama(str(write_synthetic_model(tmp_path / "e.gguf", "tiny-llama", "tq2_0", pre="falcon_e")),
              n_ctx=64, n_threads=1, verbose=False)
