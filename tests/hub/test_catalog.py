"""The shipped catalog: the entries the issue requires with their published sizes and sha256, shape
facts consistent with the file sizes, strict parsing, and entries added by hand."""
import fnmatch
import json
import tomllib
from pathlib import Path

import pytest

import bitnet_desktop
from bitnet_desktop.engine.synth import get_shape
from bitnet_desktop.hub.catalog import (
    CatalogError,
    add_user_entry,
    load_catalog,
    parse_catalog,
    remove_user_entry,
    user_catalog_path,
)

REQUIRED = {
    ("microsoft/bitnet-b1.58-2B-4T-gguf", 1_187_801_280,
     "4221b252fdd5fd25e15847adfeb5ee88886506ba50b8a34548374492884c2162"),
    ("tiiuae/Falcon-E-1B-Instruct-GGUF", 666_324_256,
     "feb7478007e916d26bb807cb1a01cc45ac16f197e355d8c30aed25e550ecd73b"),
    ("tiiuae/Falcon-E-3B-Instruct-GGUF", 999_908_608,
     "acef6896311c5d0713d80e4c7f7bc2ffa1fa183d905e2ca9236545372f434255"),
    ("tiiuae/Falcon3-1B-Instruct-1.58bit-GGUF", 1_361_904_672,
     "0ecef8ad9bcb1b7d3b73bac7b0237daf2faa962b60cbbaf62c86ff51a39444b4"),
    ("tiiuae/Falcon3-3B-Instruct-1.58bit-GGUF", 2_221_465_632,
     "2ee9723dc1abcc53f231ef1637bdd7c1ec1dbaf132c2c59873100cfb48b41455"),
    ("tiiuae/Falcon3-7B-Instruct-1.58bit-GGUF", 3_278_680_768,
     "612ab67d4c5fb77d9f810eb521eb4a477dae46df1a85ca501018490e2dac35c6"),
    ("tiiuae/Falcon3-10B-Instruct-1.58bit-GGUF", 3_991_393_696,
     "e37945ee82693a6541b5fa5484f0e24787c04a9ce95e6e377f68a6b15f139c1f"),
}


@pytest.fixture
def catalog(tmp_path):
    return load_catalog(config_dir=tmp_path / "config")


def test_every_required_model_with_its_published_size_and_sha256(catalog):
    found = {(e.repo, e.size, e.sha256) for e in catalog}
    assert REQUIRED <= found
    for e in catalog:
        assert e.file == "ggml-model-i2_s.gguf" and e.format == "I2_S"
        assert e.licence is not None and e.licence.url.startswith("https://")
        assert e.kind in ("base", "instruct") and e.parameters


def test_licences_2b4t_mit_falcon_accepted_first(catalog):
    first = catalog.first_run()
    assert first.repo == "microsoft/bitnet-b1.58-2B-4T-gguf"
    assert first.licence.name == "MIT" and not first.licence.accept_before_download
    falcons = [e for e in catalog if e.repo.startswith("tiiuae/")]
    assert len(falcons) == 6
    assert all(e.licence.accept_before_download and "falcon" in e.licence.name.lower() for e in falcons)


def test_2b4t_shape_is_the_spec_and_adds_up_to_the_file_size(catalog):
    e = catalog.find("bitnet-b1.58-2b-4t")
    s, spec_shape = e.shape, get_shape("2b4t")   # the synth shape is docs/architectures.md#2b-4t-hyperparameters
    assert (s.n_layers, s.d_model, s.d_ffn, s.n_heads, s.n_kv_heads, s.vocab_size, s.tied) == \
        (spec_shape.n_layer, spec_shape.n_embd, spec_shape.n_ff, spec_shape.n_head, spec_shape.n_head_kv,
         spec_shape.n_vocab, spec_shape.tied)
    assert s.head_dim == s.d_model // s.n_heads and e.context_length == 4096 and e.engine == "yes"
    spec = s.to_spec(e.context_length)
    assert spec.kv_bytes_per_token() == 76_800  # docs/numerics.md#attention-and-the-f16-kv-cache
    ternary = s.n_layers * (2 * s.d_model * s.d_model + 2 * s.n_kv_heads * s.head_dim * s.d_model
                            + 3 * s.d_ffn * s.d_model) // 4
    tensors = ternary + 2 * s.vocab_size * s.d_model + 4 * s.n_layers * (3 * s.d_model + s.d_ffn)
    assert 0 < e.size - tensors < 16 << 20   # the rest is metadata (the tokenizer) and padding
    assert e.parameter_count == 2_412_820_480


def test_models_without_a_checked_configuration_say_so(catalog):
    for e in catalog:
        if e.shape is None:
            assert "unknown" in e.shape_source and "file size" in e.shape_source
    falcon3 = [e for e in catalog if e.repo.startswith("tiiuae/Falcon3")]
    assert falcon3 and all(e.engine == "yes" and e.architecture == "llama" for e in falcon3)
    falcon_e = [e for e in catalog if e.repo.startswith("tiiuae/Falcon-E")]
    assert falcon_e and all(e.engine == "unknown" and "checked after download" in e.engine_note for e in falcon_e)


def test_falcon3_1b_shape_accounts_for_the_published_file(catalog):
    """The configuration gives the published file's size: I2_S projections (a quarter byte a weight plus
    32 bytes each), F16 embedding and untied F16 output, f32 norms; the rest is the header."""
    e = catalog.find("falcon3-1b-instruct-1.58bit")
    s = e.shape
    assert (s.architecture, s.activation, s.tied) == ("llama", "silu", False)
    kv = s.n_kv_heads * s.head_dim
    ternary = s.n_layers * sum(m * k // 4 + 32 for m, k in [(s.d_model, s.d_model), (kv, s.d_model), (kv, s.d_model),
                                                           (s.d_model, s.d_model), (s.d_ffn, s.d_model),
                                                           (s.d_ffn, s.d_model), (s.d_model, s.d_ffn)])
    tensors = ternary + 2 * 2 * s.vocab_size * s.d_model + 4 * (2 * s.n_layers * s.d_model + s.d_model)
    assert 0 < e.size - tensors < 8 << 20
    spec = s.to_spec(2048)
    assert spec.arch == "llama" and spec.kv_bytes_per_token() == 2 * 18 * 1024 * 2


def test_found_as_package_data_listed_in_pyproject():
    package = Path(bitnet_desktop.__file__).parent
    assert (package / "resources" / "catalog.json").is_file()
    pyproject = tomllib.loads((package.parent / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["bitnet_desktop"]
    assert any(fnmatch.fnmatch("resources/catalog.json", p) for p in patterns)


def test_find_and_search(catalog):
    e = catalog.find("bitnet-b1.58-2b-4t")
    assert catalog.find("microsoft/bitnet-b1.58-2B-4T-gguf") is e
    assert catalog.find("MICROSOFT/bitnet-b1.58-2B-4T-gguf/ggml-model-i2_s.gguf") is e
    assert catalog.find_file("microsoft/bitnet-b1.58-2B-4T-gguf", "ggml-model-i2_s.gguf") is e
    assert catalog.find("nope") is None
    assert [x.id for x in catalog.search("falcon3 10b")] == ["falcon3-10b-instruct-1.58bit"]
    assert len(catalog.search("")) == len(catalog)
    assert catalog.search("microsoft") == [e]


def _catalog(**changes):
    item = {"id": "x", "name": "X", "repo": "org/x", "file": "x.gguf", "size": 10, "sha256": "a" * 64}
    item.update(changes)
    return json.dumps({"models": [item]})


@pytest.mark.parametrize("changes, key", [
    ({"sha256": "ABC"}, "sha256"),
    ({"size": -1}, "size"),
    ({"size": True}, "size"),
    ({"repo": "no-slash"}, "repo"),
    ({"engine": "maybe"}, "engine"),
    ({"kind": "chatty"}, "kind"),
    ({"licence": {"name": "MIT"}}, "url"),
    ({"shape": {"n_layers": 2}}, "d_model"),
    ({"shape": {"n_layers": 2, "d_model": 256, "d_ffn": 512, "n_heads": 4, "n_kv_heads": 3, "head_dim": 64,
                "vocab_size": 10}}, "n_heads"),
])
def test_a_malformed_entry_names_the_entry_and_key(changes, key):
    with pytest.raises(CatalogError, match=rf"models\[0\] \(x\).*'{key}'"):
        parse_catalog(_catalog(**changes), "test.json")


def test_duplicate_ids_and_bad_json_are_refused():
    with pytest.raises(CatalogError, match="appears 2 times"):
        parse_catalog(json.dumps({"models": [json.loads(_catalog())["models"][0]] * 2}))
    with pytest.raises(CatalogError, match="not JSON"):
        parse_catalog("{")


def test_entries_added_by_hand_are_kept_and_listed_last(tmp_path):
    config = tmp_path / "config"
    entry = add_user_entry("someone/my-bitnet", "models/q.gguf", config)
    assert entry.user_added and entry.size is None and entry.sha256 is None and entry.engine == "unknown"
    assert add_user_entry("someone/my-bitnet", "models/q.gguf", config) == entry  # once
    catalog = load_catalog(config_dir=config)
    assert catalog.entries[-1] == entry and catalog.find(entry.id) == entry
    assert json.loads(user_catalog_path(config).read_text())["models"][0]["repo"] == "someone/my-bitnet"
    with pytest.raises(CatalogError, match="not a hub repo id"):
        add_user_entry("no slash", "a.gguf", config)
    with pytest.raises(CatalogError, match="not a file path"):
        add_user_entry("a/b", "../x.gguf", config)
    assert remove_user_entry(entry.id, config) and not remove_user_entry(entry.id, config)
    assert load_catalog(config_dir=config).find(entry.id) is None
