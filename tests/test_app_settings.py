import json
import os

import pytest

from bitnet_desktop import paths
from bitnet_desktop.app_settings import MAX_RECENT_MODELS, AppSettings, Preset
from bitnet_desktop.engine.runtime.model import LoadOptions


def test_defaults():
    s = AppSettings()
    assert (s.threads, s.kernel, s.head, s.context_length) == (None, "auto", "fast", 2048)
    assert (s.context_policy, s.theme, s.font_size, s.watts_per_core) == ("stop_and_ask", "system", 11.0, None)
    assert s.recent_models == [] and s.presets == [] and s.default_sampling == {}
    assert s.default_system_prompt == "You are a helpful assistant."
    assert s.load_problem is None
    s.validate()
    assert AppSettings().recent_models is not s.recent_models  # no shared mutable defaults


def test_missing_file_gives_defaults_without_a_problem():
    s = AppSettings.load()
    assert s == AppSettings()
    assert not paths.settings_path().exists()


def _custom() -> AppSettings:
    return AppSettings(
        threads=3, kernel="ref", head="exact", context_length=4096, context_policy="drop_oldest",
        theme="dark", font_size=13.5, watts_per_core=7.5, recent_models=["/m/b.gguf", "/m/a.gguf"],
        last_model="/m/b.gguf", open_conversation=12, window_geometry="AdnQywAD", splitter_state="AAAA/w==",
        default_system_prompt="Be brief. ✓", default_sampling={"temperature": 0.2, "seed": 7},
        presets=[Preset("Precise", "Answer exactly.", {"temperature": 0.0, "top_k": 1}),
                 Preset("Loose", "", {})],
    )


def test_save_and_load_round_trip_in_the_default_place():
    original = _custom()
    original.save()
    assert paths.settings_path().is_file()
    assert AppSettings.load() == original


def test_save_creates_the_folder_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "deep" / "er" / "settings.json"
    AppSettings(theme="light").save(path)
    assert [p.name for p in path.parent.iterdir()] == ["settings.json"]
    assert json.loads(path.read_text(encoding="utf-8"))["theme"] == "light"
    assert "load_problem" not in json.loads(path.read_text(encoding="utf-8"))


def test_save_is_atomic_when_the_replace_fails(tmp_path, monkeypatch):
    path = tmp_path / "settings.json"
    AppSettings(theme="light").save(path)
    before = path.read_bytes()

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        AppSettings(theme="dark").save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["settings.json"]


def test_save_refuses_invalid_values(tmp_path):
    path = tmp_path / "settings.json"
    with pytest.raises(ValueError, match="context_length"):
        AppSettings(context_length=10).save(path)
    assert not path.exists()


@pytest.mark.parametrize("content", [b"{not json", b"\xff\xfe\x00garbage", b"[1, 2, 3]", b""])
def test_a_corrupt_file_is_moved_aside(tmp_path, content):
    path = tmp_path / "settings.json"
    path.write_bytes(content)
    s = AppSettings.load(path)
    assert s == AppSettings(load_problem=s.load_problem)
    assert s.load_problem and "moved to settings.json.corrupt-" in s.load_problem
    assert not path.exists()
    (aside,) = tmp_path.glob("settings.json.corrupt-*")
    assert aside.read_bytes() == content


def test_a_second_corrupt_file_in_the_same_second_does_not_overwrite_the_first(tmp_path):
    path = tmp_path / "settings.json"
    for content in (b"{one", b"{two"):
        path.write_bytes(content)
        AppSettings.load(path)
    assert sorted(p.read_bytes() for p in tmp_path.glob("settings.json.corrupt-*")) == [b"{one", b"{two"]


def test_unknown_keys_are_ignored(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"theme": "dark", "from_the_future": 1}), encoding="utf-8")
    s = AppSettings.load(path)
    assert s.theme == "dark" and s.load_problem is None


@pytest.mark.parametrize("key, bad", [
    ("threads", 0), ("threads", 257), ("threads", "4"), ("threads", True), ("threads", 2.0),
    ("kernel", "sse9"), ("kernel", 1),
    ("head", "slow"),
    ("context_length", 63), ("context_length", 131073), ("context_length", None),
    ("context_policy", "truncate"),
    ("theme", "sepia"),
    ("font_size", 5.9), ("font_size", 49), ("font_size", "11"), ("font_size", False),
    ("watts_per_core", 0), ("watts_per_core", -3), ("watts_per_core", 500.5), ("watts_per_core", "10"),
    ("recent_models", "/a.gguf"), ("recent_models", ["/a.gguf", 3]),
    ("last_model", 5), ("open_conversation", "7"), ("window_geometry", 1), ("splitter_state", []),
    ("default_system_prompt", None),
    ("default_sampling", []), ("default_sampling", {"temperature": "hot"}),
    ("default_sampling", {"min_p": 2.0}), ("default_sampling", {"top_k": 1.5}),
    ("default_sampling", {"seed": -1}), ("default_sampling", {"max_tokens": 0}),
])
def test_a_bad_value_falls_back_to_that_keys_default(tmp_path, key, bad):
    path = tmp_path / "settings.json"
    other, kept = ("theme", "dark") if key != "theme" else ("head", "exact")
    path.write_text(json.dumps({key: bad, other: kept}), encoding="utf-8")
    s = AppSettings.load(path)
    assert getattr(s, key) == getattr(AppSettings(), key)
    assert getattr(s, other) == kept  # the other keys are kept
    assert s.load_problem and key in s.load_problem
    assert path.exists()  # a readable file is not moved aside


def test_numbers_are_normalised_on_load(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"font_size": 12, "watts_per_core": 10,
                                "default_sampling": {"temperature": 1, "top_k": 5, "stop": ["x"]}}),
                    encoding="utf-8")
    s = AppSettings.load(path)
    assert s.font_size == 12.0 and isinstance(s.font_size, float)
    assert s.default_sampling == {"temperature": 1.0, "top_k": 5}  # only SAMPLING_KEYS
    assert s.load_problem is None


def test_recent_models_from_the_file_are_deduplicated_and_capped(tmp_path):
    path = tmp_path / "settings.json"
    names = ["/a", "/b", "/a"] + [f"/m{i}" for i in range(20)]
    path.write_text(json.dumps({"recent_models": names}), encoding="utf-8")
    s = AppSettings.load(path)
    assert s.recent_models[:3] == ["/a", "/b", "/m0"]
    assert len(s.recent_models) == MAX_RECENT_MODELS


def test_one_bad_preset_is_dropped_and_the_others_kept(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"presets": [
        {"name": "Good", "system_prompt": "Hi", "sampling": {"top_p": 0.5}},
        {"name": "Bad", "system_prompt": "Hi", "sampling": {"repetition_penalty": 0}},
        {"name": "", "system_prompt": "Hi", "sampling": {}},
        "not a preset",
        {"name": "Good", "system_prompt": "again", "sampling": {}},
    ]}), encoding="utf-8")
    s = AppSettings.load(path)
    assert s.presets == [Preset("Good", "Hi", {"top_p": 0.5})]
    assert "Bad" in s.load_problem and "appears twice" in s.load_problem


def test_presets_that_are_not_a_list_fall_back(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"presets": {"name": "x"}}), encoding="utf-8")
    s = AppSettings.load(path)
    assert s.presets == [] and "presets" in s.load_problem


def test_add_recent_model_puts_it_first_without_duplicates_and_caps_the_list():
    s = AppSettings()
    for i in range(12):
        s.add_recent_model(f"/models/{i}.gguf")
    assert len(s.recent_models) == MAX_RECENT_MODELS
    assert s.recent_models[0] == "/models/11.gguf" and s.recent_models[-1] == "/models/2.gguf"
    s.add_recent_model("/models/5.gguf")
    assert s.recent_models[0] == "/models/5.gguf"
    assert s.recent_models.count("/models/5.gguf") == 1
    assert len(s.recent_models) == MAX_RECENT_MODELS


def test_load_options_maps_the_engine_settings():
    assert AppSettings().load_options() == LoadOptions(threads=None, kernel=None, context_length=2048,
                                                       head="fast")
    options = AppSettings(threads=4, kernel="ref", head="exact", context_length=512).load_options()
    assert options == LoadOptions(threads=4, kernel="ref", context_length=512, head="exact")


@pytest.mark.parametrize("changes, field_name, range_text", [
    ({"threads": 0}, "threads", "1..256"),
    ({"threads": 300}, "threads", "1..256"),
    ({"context_length": 32}, "context_length", "64..131072"),
    ({"font_size": 100.0}, "font_size", "6..48"),
    ({"watts_per_core": 0.0}, "watts_per_core", "(0, 500]"),
    ({"kernel": "mmx"}, "kernel", "auto, ref, avx2"),
    ({"head": "i8"}, "head", "fast, exact"),
    ({"context_policy": "x"}, "context_policy", "stop_and_ask, drop_oldest"),
    ({"theme": "x"}, "theme", "system, light, dark"),
    ({"default_sampling": {"top_p": -1.0}}, "default_sampling", "top_p"),
])
def test_validate_names_the_field_and_its_range(changes, field_name, range_text):
    with pytest.raises(ValueError) as caught:
        AppSettings(**changes).validate()
    assert field_name in str(caught.value) and range_text in str(caught.value)


def test_validate_checks_presets():
    with pytest.raises(ValueError, match="preset 'P'.*min_p"):
        AppSettings(presets=[Preset("P", "", {"min_p": 3.0})]).validate()
    with pytest.raises(ValueError, match="name"):
        AppSettings(presets=[Preset("  ", "", {})]).validate()
