"""Memory needed at a context, from the file, from the catalog's shape or from the size alone, and whether
it fits: the shape estimate must equal what BitNetModel.load computes for the same model."""
import pytest

from bitnet_desktop.engine.runtime.model import BitNetModel, LoadOptions
from bitnet_desktop.engine.synth import get_shape, write_synthetic_model
from bitnet_desktop.hub.catalog import ModelShape, load_catalog
from bitnet_desktop.hub.fit import (
    check_fit,
    memory_for_entry,
    memory_for_file,
    memory_for_shape,
    memory_from_file_size,
)


def shape_of(name: str) -> ModelShape:
    s = get_shape(name)
    return ModelShape(s.n_layer, s.n_embd, s.n_ff, s.n_head, s.n_head_kv, s.head_dim, s.n_vocab, s.tied)


@pytest.mark.parametrize("shape", ["small", "tiny-untied"])
@pytest.mark.parametrize("head", ["fast", "exact"])
def test_shape_estimate_equals_the_files_and_the_loaders(tmp_path, shape, head):
    path = write_synthetic_model(tmp_path / "m.gguf", shape, seed=1)
    from_file = memory_for_file(path, 320, head, threads=1)
    from_shape = memory_for_shape(shape_of(shape), 320, head, threads=1)
    model = BitNetModel.load(path, LoadOptions(threads=1, context_length=320, head=head))
    try:
        assert from_file.estimate == from_shape.estimate == model.memory
    finally:
        model.close()
    assert (from_file.source, from_shape.source, from_file.context, from_file.head) == \
        ("file", "catalog shape", 320, head)
    assert from_file.total == model.memory.total and from_file.peak == model.memory.peak


def test_file_estimate_defaults_to_the_loaders_context(tmp_path):
    path = write_synthetic_model(tmp_path / "m.gguf", "tiny", seed=1)   # n_ctx 512
    need = memory_for_file(path, threads=1)
    assert need.context == 512
    assert memory_for_file(path, 2048, threads=1).estimate.kv_cache == 4 * need.estimate.kv_cache


def test_an_ordinary_gguf_is_estimated_as_the_llama_cpp_engine_loads_it(tmp_path):
    from bitnet_desktop.engine.runtime.loader import load_model
    from bitnet_desktop.engine.runtime.model import LoadOptions
    from tests.engine.llama_cpp.ordinary_gguf import write_ordinary_gguf

    path = write_ordinary_gguf(tmp_path / "ordinary.gguf", fmt="q8_0", n_ctx=768)
    need = memory_for_file(path, threads=1)
    assert (need.source, need.context) == ("file", 768)
    model = load_model(path, LoadOptions(threads=1))
    try:
        assert model.engine_name == "llama.cpp" and need.estimate == model.memory
    finally:
        model.close()
    assert memory_for_file(path, 384, threads=1).estimate.kv_cache * 2 == need.estimate.kv_cache


def test_2b4t_from_the_catalog():
    entry = load_catalog(with_user_entries=False).find("bitnet-b1.58-2b-4t")
    need = memory_for_entry(entry, 4096, "fast", threads=2)
    e = need.estimate
    assert e.kv_cache == 76_800 * 4096                          # docs/numerics.md#attention-and-the-f16-kv-cache: 300 MiB at 4096
    assert 500e6 < e.weights < 540e6                             # I2_S layers + norms; the F16 table stays on disk
    assert e.fast_head == 128256 * (2560 + 4)                    # int8 rows + one f32 scale per row
    exact = memory_for_entry(entry, 4096, "exact", threads=2).estimate
    assert exact.weights - e.weights == 2 * 128256 * 2560 and exact.fast_head == 0
    assert memory_for_entry(entry, threads=2).context == 2048    # min(2048, 4096)


def test_unknown_shape_is_estimated_from_the_size_and_says_so():
    falcon = load_catalog(with_user_entries=False).find("falcon3-10b-instruct-1.58bit")
    need = memory_for_entry(falcon, 2048)
    assert need.source == "file size" and need.estimate is None and "file size" in need.note
    assert need.total == int(falcon.size * 1.15)
    assert memory_from_file_size(1000, 64).peak == 1150


def test_fits_now_against_the_available_memory():
    need = memory_from_file_size(1 << 30, 2048)
    assert check_fit(need, available=2 << 30).fits
    result = check_fit(need, available=1 << 30)
    assert not result.fits and "does not fit" in result.summary() and "rough" in result.summary()
    assert check_fit(need).available > 0   # psutil's figure now


def test_unknown_head_is_refused():
    with pytest.raises(ValueError, match="fast' or 'exact"):
        memory_from_file_size(10, 64, head="turbo")
