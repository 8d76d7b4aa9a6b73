"""`bitnet-desktop models ...` through the real CLI entry point, against the hub-compatible test server
($HF_ENDPOINT): pull with progress, list, rm, import, info, search, files, licences, tokens, offline mode."""
import io
import json
import socket

import pytest

from bitnet_desktop.cli.main import main
from bitnet_desktop.hub import catalog as catalog_module
from bitnet_desktop.hub.catalog import load_catalog
from bitnet_desktop.hub.installed import ModelLibrary
from bitnet_desktop.hub.predict import measure_machine, save_profile
from bitnet_desktop.paths import config_dir
from tests.hub.hub_server import HubServer
from tests.hub.model_fixtures import isolate_hub_env, tiny_gguf  # noqa: F401 - fixture

REPO = "org/tiny-bitnet-gguf"
FILE = "ggml-model-i2_s.gguf"


@pytest.fixture
def hub(monkeypatch, tmp_path):
    import huggingface_hub

    isolate_hub_env(monkeypatch, tmp_path)
    server = HubServer()
    monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
    try:
        yield server
    finally:
        server.close()
        huggingface_hub.close_session()


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


@pytest.fixture(scope="module")
def one_thread_profile():
    return measure_machine(threads=1)


def models(capsys, *args):
    code = main(["models", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_pull_list_rm(capsys, hub, data_dir, tiny_gguf):
    commit = hub.add_repo(REPO, {FILE: tiny_gguf})
    assert models(capsys, "list", "--data-dir", data_dir)[1].startswith("No models installed")
    code, out, err = models(capsys, "pull", REPO, "--data-dir", data_dir)
    assert code == 0, err
    assert out.startswith("Installed tiny-bitnet-gguf:") and "sha256 verified" in out and commit[:12] in out
    assert f"{REPO}/{FILE} at commit {commit[:12]}" in err and "downloading" in err and "done:" in err
    code, out, _ = models(capsys, "list", "--data-dir", data_dir)
    assert code == 0 and "tiny-bitnet-gguf" in out and "I2_S" in out and "1 model," in out
    code, out, _ = models(capsys, "list", "--json", "--data-dir", data_dir)
    listed = json.loads(out)
    [m] = listed["models"]
    assert (m["repo"], m["commit"], m["size"], m["name"]) == (REPO, commit, len(tiny_gguf), "tiny-bitnet-gguf")
    assert len(m["sha256"]) == 64 and listed["total_bytes"] >= len(tiny_gguf)
    code, out, _ = models(capsys, "pull", REPO, FILE, "--data-dir", data_dir)
    assert code == 0 and "already installed" in out
    code, out, _ = models(capsys, "rm", "tiny-bitnet-gguf", "--data-dir", data_dir)
    assert code == 0 and out.startswith("Deleted tiny-bitnet-gguf") and "KiB freed" in out
    assert ModelLibrary.open(data_dir).list() == []
    code, _, err = models(capsys, "rm", "tiny-bitnet-gguf", "--data-dir", data_dir)
    assert code == 2 and "no installed model is called 'tiny-bitnet-gguf'" in err


def test_pull_failures_exit_2_with_one_clear_line(capsys, hub, data_dir, tiny_gguf):
    hub.add_repo(REPO, {FILE: tiny_gguf[:5000]})
    code, out, err = models(capsys, "pull", REPO, "missing.gguf", "--data-dir", data_dir)
    assert code == 2 and err.strip().splitlines()[-1].startswith("bitnet-desktop: error:") and "missing.gguf" in err
    code, _, err = models(capsys, "pull", REPO, "--data-dir", data_dir)   # truncated at the server
    assert code == 2 and "cannot fit in the 4246 bytes left in the file; the file was deleted" in err
    assert "Traceback" not in err
    code, _, err = models(capsys, "pull", "org/secret", "--revision", "v1", "--data-dir", data_dir)
    assert code == 2 and "HF_TOKEN" in err
    assert models(capsys, "list", "--data-dir", data_dir)[1].startswith("No models installed")


def test_offline_list_works_and_pull_requests_nothing(capsys, hub, data_dir, monkeypatch, tiny_gguf):
    hub.add_repo(REPO, {FILE: tiny_gguf})
    assert models(capsys, "pull", REPO, "--data-dir", data_dir)[0] == 0
    hub.clear_requests()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def no_connect(self, *args):
        raise AssertionError("a socket was connected in offline mode")

    monkeypatch.setattr(socket.socket, "connect", no_connect)
    code, out, _ = models(capsys, "list", "--data-dir", data_dir)
    assert code == 0 and "tiny-bitnet-gguf" in out
    code, out, err = models(capsys, "pull", "org/other", "--data-dir", data_dir)
    assert code == 2 and "offline mode is on (HF_HUB_OFFLINE is set)" in err
    assert hub.requests == []


def test_import_copy_move_link_and_refusal(capsys, data_dir, tmp_path, tiny_gguf):
    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.gguf").write_bytes(tiny_gguf)
    code, out, _ = models(capsys, "import", tmp_path / "a.gguf", "--data-dir", data_dir)
    assert code == 0 and out.startswith("Copied a.gguf as a: I2_S bitnet-b1.58")
    code, out, _ = models(capsys, "import", tmp_path / "b.gguf", "--move", "--name", "Moved One", "--data-dir",
                          data_dir)
    assert code == 0 and "as moved-one" in out and not (tmp_path / "b.gguf").exists()
    code, out, _ = models(capsys, "import", tmp_path / "c.gguf", "--link", "--json", "--data-dir", data_dir)
    assert code == 0 and json.loads(out)["how"] == "link"
    (tmp_path / "bad.gguf").write_bytes(tiny_gguf[: len(tiny_gguf) // 3])
    code, _, err = models(capsys, "import", tmp_path / "bad.gguf", "--data-dir", data_dir)
    assert code == 2 and "bad.gguf cannot be used" in err and "truncated" in err
    assert [m.name for m in ModelLibrary.open(data_dir).list()] == ["a", "c", "moved-one"]
    code, out, _ = models(capsys, "default", "c", "--data-dir", data_dir)
    assert (code, out) == (0, "c\n")
    assert "*c " in models(capsys, "list", "--data-dir", data_dir)[1]


def test_info_prints_the_fields(capsys, data_dir, tmp_path, tiny_gguf, one_thread_profile):
    save_profile(one_thread_profile, config_dir(data_dir))
    (tmp_path / "m.gguf").write_bytes(tiny_gguf)
    assert models(capsys, "import", tmp_path / "m.gguf", "--data-dir", data_dir)[0] == 0
    code, out, err = models(capsys, "info", "m", "--threads", "1", "--ctx", "256", "--data-dir", data_dir)
    assert code == 0, err
    fields = dict(line.split(":", 1) for line in out.splitlines())
    assert fields["format"].strip() == "I2_S" and fields["architecture"].strip() == "bitnet-b1.58"
    assert fields["tensors"].strip() == "24" and fields["context length"].strip() == "512"
    assert "KV cache" in fields["memory at 256"] and fields["fits now"].strip().startswith("yes")
    assert "tokens/s (predicted for 1 thread" in fields["predicted speed"]
    assert "measuring" not in err   # the cached measurement was used
    code, out, _ = models(capsys, "info", "m", "--threads", "1", "--json", "--data-dir", data_dir)
    info = json.loads(out)
    assert info["memory"]["source"] == "file" and info["predicted_speed"]["label"] == "predicted"
    assert info["tensor_count"] == 24 and info["sha256"]


def test_info_of_catalog_entries_and_unknown_names(capsys, data_dir, one_thread_profile):
    save_profile(one_thread_profile, config_dir(data_dir))
    code, out, _ = models(capsys, "info", "bitnet-b1.58-2b-4t", "--threads", "1", "--data-dir", data_dir)
    assert code == 0 and "(not installed)" in out and "MIT" in out and "memory at 2048" in out
    assert "predicted" in out and "rough" not in out
    code, out, _ = models(capsys, "info", "falcon3-1b-instruct-1.58bit", "--threads", "1", "--data-dir", data_dir)
    assert code == 0 and "predicted" in out and "rough" not in out and "runs here:        yes" in out
    code, out, _ = models(capsys, "info", "falcon-e-1b-instruct", "--threads", "1", "--data-dir", data_dir)
    assert code == 0 and "rough: from the file size" in out and "runs here:        checked after download" in out
    code, _, err = models(capsys, "info", "nothing-like-this", "--data-dir", data_dir)
    assert code == 2 and "neither an installed model" in err


def test_search_and_files(capsys, hub, data_dir, tiny_gguf):
    code, out, _ = models(capsys, "search", "falcon 3b", "--data-dir", data_dir)
    assert code == 0 and "falcon-e-3b-instruct" in out and "falcon3-3b-instruct-1.58bit" in out
    assert "checked after download" in out and "accept before download" in out
    code, out, _ = models(capsys, "search", "--json", "--data-dir", data_dir)
    assert len(json.loads(out)["catalog"]) == 7
    assert models(capsys, "search", "zzz", "--data-dir", data_dir)[1] == "No matches.\n"
    commit = hub.add_repo(REPO, {FILE: tiny_gguf, "x/other.gguf": tiny_gguf[:10], "README.md": b"x"})
    code, out, _ = models(capsys, "files", REPO, "--data-dir", data_dir)
    assert code == 0 and FILE in out and "x/other.gguf" in out and f"at commit {commit}" in out


def test_the_catalogs_checksum_guards_a_pull(capsys, hub, data_dir, tiny_gguf):
    hub.add_repo("tiiuae/Falcon-E-1B-Instruct-GGUF", {FILE: tiny_gguf})
    code, _, err = models(capsys, "pull", "falcon-e-1b-instruct", "--accept-licence", "--data-dir", data_dir)
    assert code == 2 and "not the file the catalog lists" in err and hub.requests_to("cdn") == []


def test_licence_asked_then_accepted_with_the_flag(capsys, hub, data_dir, tmp_path, monkeypatch, tiny_gguf):
    import hashlib

    hub.add_repo(REPO, {FILE: tiny_gguf})
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"models": [{
        "id": "tiny-licensed", "name": "Tiny licensed", "repo": REPO, "file": FILE, "size": len(tiny_gguf),
        "sha256": hashlib.sha256(tiny_gguf).hexdigest(), "engine": "yes",
        "licence": {"name": "Tiny Licence 1.0", "url": "https://example.org/tiny", "accept_before_download": True}}]}))
    real = load_catalog
    monkeypatch.setattr(catalog_module, "load_catalog", lambda path_=None, **kw: real(path, **kw))
    monkeypatch.setattr("sys.stdin", io.StringIO(""))   # not a terminal: no question can be asked
    code, _, err = models(capsys, "pull", "tiny-licensed", "--data-dir", data_dir)
    assert code == 2 and "Tiny Licence 1.0 (https://example.org/tiny)" in err and "--accept-licence" in err
    assert hub.requests_to("cdn") == []
    code, out, _ = models(capsys, "pull", "tiny-licensed", "--accept-licence", "--data-dir", data_dir)
    assert code == 0 and out.startswith("Installed tiny-licensed")
    assert "tiny-licensed" in (config_dir(data_dir) / "licences_accepted.json").read_text()


def test_login_and_logout(capsys, data_dir, monkeypatch):
    from bitnet_desktop.hub import token_store

    monkeypatch.setattr(token_store, "_keyring", lambda: None)
    monkeypatch.setattr("sys.stdin", io.StringIO("hf_from_stdin\n"))
    code, out, _ = models(capsys, "login", "--data-dir", data_dir)
    assert code == 0 and "Token stored in" in out and "hf_from_stdin" not in out
    assert token_store.load_token(config_dir(data_dir)) == "hf_from_stdin"
    assert models(capsys, "logout", "--data-dir", data_dir)[1] == "Token forgotten.\n"
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    code, _, err = models(capsys, "login", "--data-dir", data_dir)
    assert code == 2 and "one word" in err
