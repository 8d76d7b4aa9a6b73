"""The models folder: import (checked by the engine's reader, then copied, moved or linked), the manifest,
delete (frees the files; refused while loaded), the default model, disk use, and what a crash leaves."""
import hashlib
import json
import os

import pytest

from bitnet_desktop.engine.gguf import ValueType
from bitnet_desktop.engine.runtime.model import BitNetModel, LoadOptions
from bitnet_desktop.engine.synth import write_synthetic_model
from bitnet_desktop.hub.installed import (
    InstallError,
    ModelInUseError,
    ModelLibrary,
    ModelNotInstalledError,
    ModelRejectedError,
    inspect_model_file,
    model_name_for,
    models_dir,
)
from tests.engine.llama_cpp.ordinary_gguf import write_ordinary_gguf
from tests.engine.runtime.gguf_files import rewrite


@pytest.fixture
def library(tmp_path):
    return ModelLibrary(tmp_path / "data" / "models")


@pytest.fixture
def gguf(tmp_path):
    (tmp_path / "src").mkdir()
    return write_synthetic_model(tmp_path / "src" / "My Model.gguf", "tiny", seed=2)


def folder_contents(library):
    return sorted(p.name for p in library.root.iterdir()) if library.root.exists() else []


def test_import_copy_lists_the_model_with_its_manifest(library, gguf):
    data = gguf.read_bytes()
    model = library.import_file(gguf, "copy")
    assert model.name == "my-model" and model.path.read_bytes() == data and gguf.exists()
    assert (model.format, model.architecture, model.size, model.how, model.source) == \
        ("I2_S", "bitnet-b1.58", len(data), "copy", "import")
    assert model.sha256 == hashlib.sha256(data).hexdigest() and model.tensor_count == 24
    manifest = json.loads((model.folder / "model.json").read_text())
    assert manifest["sha256"] == model.sha256 and manifest["original_path"] == str(gguf.resolve())
    [listed] = library.list()
    assert listed == model and library.get("my-model") == model and library.find(gguf) == model
    assert library.total_bytes() == len(data) + (model.folder / "model.json").stat().st_size
    with pytest.raises(InstallError, match="already installed as 'my-model'"):
        library.import_file(gguf, "copy")
    with pytest.raises(InstallError, match="already installed"):
        library.import_file(model.path, "copy")   # the installed copy itself


def test_import_move_and_link(library, tmp_path, gguf):
    second = write_synthetic_model(tmp_path / "src" / "second.gguf", "tiny", seed=5)
    moved = library.import_file(gguf, "move")
    assert not gguf.exists() and moved.path.is_file() and not moved.path.is_symlink()
    linked = library.import_file(second, "link")
    assert linked.path.is_symlink() and linked.path.resolve() == second.resolve() and linked.sha256 is None
    assert linked.disk_bytes() < 4096   # the manifest only
    freed = library.delete(linked.name)
    assert second.is_file() and freed < 4096 and [m.name for m in library.list()] == [moved.name]


@pytest.mark.parametrize("damage, reason", [
    (lambda data: data[: len(data) // 2], "truncated"),
    (lambda data: data[:-5], "truncated"),
    (lambda data: b"PK\x03\x04 not a model" * 100, "not a GGUF file"),
    (lambda data: b"", "not a GGUF file"),
])
def test_import_of_a_damaged_file_is_refused_with_the_reason(library, tmp_path, gguf, damage, reason):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(damage(gguf.read_bytes()))
    with pytest.raises(ModelRejectedError, match=reason) as caught:
        library.import_file(bad, "move")
    assert "bad.gguf" in str(caught.value) and caught.value.reason
    assert bad.exists() and library.list() == [] and not [n for n in folder_contents(library) if n.startswith(".inc")]


def test_a_model_the_engine_cannot_run_is_refused(library, tmp_path, gguf):
    other = rewrite(gguf, tmp_path / "qwen2.gguf", meta={"general.architecture": (ValueType.STRING, "qwen2")})
    with pytest.raises(ModelRejectedError, match="'qwen2' is not a BitNet model .* llama.cpp cannot run it "
                                                 "either: it holds I2_S tensors"):
        library.import_file(other)
    missing = rewrite(gguf, tmp_path / "missing.gguf", drop=("blk.1.ffn_up.weight",))
    with pytest.raises(ModelRejectedError, match="'blk.1.ffn_up.weight' is missing"):
        library.import_file(missing)
    lut = rewrite(gguf, tmp_path / "lut.gguf", retype={"blk.0.attn_q.weight": "TL2"})
    with pytest.raises(ModelRejectedError, match="TL2"):
        library.import_file(lut)
    with pytest.raises(ModelRejectedError, match="not a file"):
        library.import_file(tmp_path / "nothing.gguf")
    assert library.list() == []


def test_an_ordinary_gguf_is_installed_for_the_llama_cpp_engine(library, tmp_path):
    (tmp_path / "src").mkdir()
    path = write_ordinary_gguf(tmp_path / "src" / "ordinary.gguf", fmt="q8_0", n_ctx=768)
    facts = inspect_model_file(path)
    assert (facts.engine, facts.architecture, facts.format, facts.n_layers, facts.d_model, facts.vocab_size,
            facts.context_length, facts.tied) == ("llama.cpp", "llama", "Q8_0", 2, 128, 1024, 768, False)
    model = library.import_file(path, "copy")
    assert (model.engine, model.format) == ("llama.cpp", "Q8_0")
    assert library.get(model.name).engine == "llama.cpp"  # kept in the manifest


def test_inspect_reports_what_the_engine_reads(gguf):
    facts = inspect_model_file(gguf)
    assert (facts.format, facts.n_layers, facts.d_model, facts.vocab_size, facts.context_length, facts.tied) == \
        ("I2_S", 2, 256, 1024, 512, True)
    assert facts.engine == "bitnet"
    assert facts.file_size == gguf.stat().st_size and facts.parameter_count > 1_000_000


def test_delete_frees_the_files(library, gguf):
    model = library.import_file(gguf, "copy")
    size = model.disk_bytes()
    assert library.delete(model.name) == size
    assert library.list() == [] and folder_contents(library) == [] and library.total_bytes() == 0
    with pytest.raises(ModelNotInstalledError, match="no installed model is called 'my-model'"):
        library.delete(model.name)


def test_delete_is_refused_while_the_model_is_loaded(library, gguf):
    model = library.import_file(gguf, "copy")
    loaded = BitNetModel.load(model.path, LoadOptions(threads=1, context_length=64))
    try:
        def is_loaded(path):
            return os.path.samefile(path, loaded.path)

        with pytest.raises(ModelInUseError, match="is loaded: unload it"):
            library.delete(model.name, is_loaded=is_loaded)
        assert model.path.is_file() and library.get(model.name) == model
    finally:
        loaded.close()
    assert library.delete(model.name, is_loaded=lambda path: False) > 0


def test_default_model_and_last_used(library, tmp_path, gguf):
    assert library.default() is None
    model = library.import_file(gguf, "copy")
    with pytest.raises(ModelNotInstalledError):
        library.set_default("other")
    library.set_default(model.name)
    assert library.default().name == model.name
    recorded = library.record_run(model.path, tokens_per_second=42.5, threads=2, kernel="avx2", head="fast")
    assert recorded.last_used is not None and library.get(model.name).measured["tokens_per_second"] == 42.5
    assert library.record_run(tmp_path / "not-installed.gguf") is None
    library.delete(model.name)
    assert library.default() is None and "default" in (library.root / "library.json").read_text()


def test_broken_manifests_and_missing_files_are_reported_not_fatal(library, gguf):
    model = library.import_file(gguf, "copy")
    (library.root / "junk").mkdir()
    (library.root / "bad").mkdir()
    (library.root / "bad" / "model.json").write_text("{")
    model.path.unlink()
    [listed] = library.list()
    assert listed.missing and len(library.problems) == 2
    assert any("junk" in p for p in library.problems) and any("bad" in p for p in library.problems)


def test_a_crashed_install_is_never_listed_and_is_cleaned_up(library, gguf):
    library.root.mkdir(parents=True)
    stale = library.root / ".incoming-crashed"
    stale.mkdir()
    (stale / "model.gguf").write_bytes(b"half")
    os.utime(stale, (0, 0))
    assert library.list() == []
    library.import_file(gguf, "copy")
    assert not stale.exists()


def test_names_and_folders(tmp_path, monkeypatch):
    assert model_name_for("microsoft/bitnet-b1.58-2B-4T-gguf", "ggml-model-i2_s.gguf") == "bitnet-b1.58-2b-4t-gguf"
    assert model_name_for("org/repo", "Q2 weights.gguf") == "repo-q2-weights"
    assert model_name_for(None, "A B.gguf") == "a-b"
    monkeypatch.setenv("BITNET_DESKTOP_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.delenv("BITNET_DESKTOP_MODELS_DIR", raising=False)
    assert models_dir() == (tmp_path / "d" / "models").resolve()
    monkeypatch.setenv("BITNET_DESKTOP_MODELS_DIR", str(tmp_path / "elsewhere"))
    assert models_dir() == (tmp_path / "elsewhere").resolve()
    assert models_dir(tmp_path / "x") == (tmp_path / "x").resolve() / "models"   # --data-dir moves everything


def test_same_name_gets_a_suffix(library, tmp_path, gguf):
    (tmp_path / "other").mkdir()
    other = write_synthetic_model(tmp_path / "other" / "My Model.gguf", "tiny", seed=9)
    a, b = library.import_file(gguf), library.import_file(other)
    assert (a.name, b.name) == ("my-model", "my-model-2")


def test_a_failed_install_gives_the_file_back(library, gguf, monkeypatch):
    from bitnet_desktop.hub import installed

    def failing_rename(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(installed.os, "rename", failing_rename)
    with pytest.raises(InstallError, match="could not be installed .*No space left on device"):
        library.import_file(gguf, "move")
    assert gguf.is_file() and library.list() == [] and [n for n in folder_contents(library)
                                                          if n.startswith(".incoming-")] == []
