"""An ordinary GGUF loads through load_model on llama.cpp: the engine chosen from the file, progress
stages in order, a cancel at any stage, the memory refusal, the facts callers read, and close."""
import gc
import threading

import psutil
import pytest

from bitnet_desktop.engine.errors import KernelError, ModelFormatError, TokenizerError
from bitnet_desktop.engine.gguf import open_gguf
from bitnet_desktop.engine.llama_cpp import LlamaCppModel
from bitnet_desktop.engine.runtime.loader import load_model
from bitnet_desktop.engine.runtime.memory import InsufficientMemoryError
from bitnet_desktop.engine.runtime.model import LoadCancelledError, LoadOptions
from bitnet_desktop.engine.runtime.model_kind import is_ternary_model
from bitnet_desktop.engine.synth import write_synthetic_model
from tests.engine.llama_cpp.ordinary_gguf import write_ordinary_gguf

OPTIONS = LoadOptions(threads=1, context_length=256)


@pytest.mark.parametrize("fmt", ["f16", "q8_0"])
def test_an_ordinary_file_loads_on_llama_cpp_with_the_facts_callers_read(tmp_path, fmt):
    path = write_ordinary_gguf(tmp_path / f"m-{fmt}.gguf", fmt=fmt, tied=fmt == "f16")
    model = load_model(path, OPTIONS)
    try:
        assert isinstance(model, LlamaCppModel) and model.engine_name == "llama.cpp"
        spec = model.spec
        assert (spec.arch, spec.name, spec.n_layers, spec.d_model, spec.n_heads, spec.n_kv_heads) == \
            ("llama", "ordinary-test", 2, 128, 4, 2)
        assert spec.vocab_size == 1024 and spec.context_length == 512
        assert model.native.max_context == 256 and model.ctx.threads == 1 and model.ctx.kernel == "llama.cpp"
        assert model.path == path and model.load_seconds > 0 and not model.is_base_model
        assert model.memory.kv_cache == 256 * 2 * 2 * (32 + 32) * 2  # positions * layers * kv heads * (k + v) * f16
        assert model.memory.total > model.memory.weights > 0
    finally:
        model.close()
    model.close()  # idempotent


def test_the_engine_is_chosen_from_the_file(tmp_path, ordinary_path):
    bitnet = write_synthetic_model(tmp_path / "bitnet.gguf", shape="tiny", seed=1)
    with open_gguf(bitnet) as g:
        assert is_ternary_model(g)
    with open_gguf(ordinary_path) as g:
        assert not is_ternary_model(g)
    ternary_llama = write_ordinary_gguf(tmp_path / "llama-tq2_0.gguf", fmt="tq2_0", n_embd=256, n_ff=512)
    with open_gguf(ternary_llama) as g:
        assert g.metadata["general.architecture"] == "llama" and is_ternary_model(g)
    for path, arch in ((bitnet, "bitnet-b1.58"), (ternary_llama, "llama")):
        model = load_model(path, LoadOptions(threads=1))
        try:
            assert type(model).__name__ == "BitNetModel" and model.spec.arch == arch
        finally:
            model.close()


def test_progress_reports_each_stage_in_order(ordinary_path):
    seen = []
    load_model(ordinary_path, OPTIONS, progress=lambda stage, f: seen.append((stage, f))).close()
    fractions = [f for _, f in seen]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    stages = list(dict.fromkeys(s for s, _ in seen))
    assert stages == ["reading the model file", "loading the weights (llama.cpp)", "creating the context", "ready"]
    assert len([s for s, _ in seen if s == "loading the weights (llama.cpp)"]) > 3  # llama.cpp's own progress


def _mapped(path) -> bool:
    return str(path) in [m.path for m in psutil.Process().memory_maps()]


@pytest.mark.parametrize("stop_at", ["reading the model file", "loading the weights (llama.cpp)",
                                     "creating the context"])
def test_a_cancel_stops_the_load_at_any_stage(ordinary_path, stop_at):
    cancel = threading.Event()

    def progress(stage, fraction):
        if stage == stop_at:
            cancel.set()

    with pytest.raises(LoadCancelledError):
        load_model(ordinary_path, OPTIONS, progress=progress, cancel=cancel)
    gc.collect()
    assert not _mapped(ordinary_path)  # llama.cpp's model (and our reader's mapping) are gone


def test_a_progress_callback_that_fails_inside_llama_cpp_is_raised_after_it(ordinary_path):
    def progress(stage, fraction):
        if stage == "loading the weights (llama.cpp)" and fraction > 0.1:
            raise RuntimeError("the window went away")

    with pytest.raises(RuntimeError, match="the window went away"):
        load_model(ordinary_path, OPTIONS, progress=progress)
    gc.collect()
    assert not _mapped(ordinary_path)


def test_a_model_larger_than_free_memory_is_refused_before_loading(ordinary_path):
    per_position = 2 * 2 * (32 + 32) * 2  # layers * kv heads * (k + v) * f16
    too_long = 2 * psutil.virtual_memory().total // per_position
    refusal = r"needs about .* MiB under llama.cpp \(weights .* KV cache .* choose a smaller context length"
    with pytest.raises(InsufficientMemoryError, match=refusal) as raised:
        load_model(ordinary_path, LoadOptions(threads=1, context_length=too_long))
    del raised  # its traceback's frames hold views of the mapping
    gc.collect()
    assert not _mapped(ordinary_path)


def test_close_unmaps_the_file_and_later_calls_are_errors_not_crashes(ordinary_path):
    model = load_model(ordinary_path, OPTIONS)
    assert _mapped(ordinary_path)
    model.close()
    gc.collect()  # what earlier tests' exceptions may still hold
    assert model.generator is None and not _mapped(ordinary_path)
    with pytest.raises(TokenizerError, match="unloaded"):
        model.tokenizer.encode("Hello")
    with pytest.raises(KernelError, match="unloaded"):
        model.native.forward([1, 2], 0)


def test_a_file_llama_cpp_cannot_load_is_refused_with_its_reason(tmp_path):
    path = write_ordinary_gguf(tmp_path / "unknown-arch.gguf", arch="no-such-arch")
    with pytest.raises(ModelFormatError, match=r"llama.cpp could not load .*unknown-arch.gguf: .*no-such-arch"):
        load_model(path, OPTIONS)
