"""Hub metadata through huggingface_hub against the test server on 127.0.0.1: the commit pinned, size and
LFS sha256, GGUF browsing, the endpoint / token / offline conventions, and every failure as a HubError."""
import hashlib
import socket

import pytest

from bitnet_desktop.hub import token_store
from bitnet_desktop.hub.errors import (
    AuthenticationRequiredError,
    NetworkError,
    OfflineModeError,
    RemoteNotFoundError,
    ServerError,
)
from bitnet_desktop.hub.remote import HubClient, hub_endpoint, offline_mode, resolve_token
from tests.hub.model_fixtures import hub_env, other_tiny_gguf, tiny_gguf  # noqa: F401 - fixtures


def client(tmp_path, **kwargs):
    return HubClient(config_dir=tmp_path / "config", **kwargs)


def test_file_info_pins_the_commit_and_reads_size_and_sha256(hub_env, tmp_path, tiny_gguf, other_tiny_gguf):
    first = hub_env.add_repo("org/m", {"m.gguf": tiny_gguf})
    info = client(tmp_path).file_info("org/m", "m.gguf")
    assert (info.commit, info.size, info.sha256) == (first, len(tiny_gguf), hashlib.sha256(tiny_gguf).hexdigest())
    assert info.url == f"{hub_env.endpoint}/org/m/resolve/{first}/m.gguf" and not info.gated
    second = hub_env.set_file("org/m", "m.gguf", other_tiny_gguf)
    assert client(tmp_path).file_info("org/m", "m.gguf").commit == second
    old = client(tmp_path).file_info("org/m", "m.gguf", revision=first)
    assert (old.commit, old.sha256) == (first, hashlib.sha256(tiny_gguf).hexdigest())
    # paths-info was asked at the commit, not at "main"
    assert any(r.path == f"/api/models/org/m/paths-info/{first}" for r in hub_env.requests_to("hub", "POST"))


def test_list_gguf_files_of_a_repo(hub_env, tmp_path, tiny_gguf):
    commit = hub_env.add_repo("org/many", {"a.gguf": tiny_gguf, "sub/b.GGUF": tiny_gguf[:100], "README.md": b"x"})
    files = client(tmp_path).list_gguf_files("org/many")
    assert [(f.file, f.size, f.commit) for f in files] == [("a.gguf", len(tiny_gguf), commit),
                                                          ("sub/b.GGUF", 100, commit)]


def test_unknown_repo_file_and_revision(hub_env, tmp_path, tiny_gguf):
    hub_env.add_repo("org/m", {"m.gguf": tiny_gguf})
    c = client(tmp_path)
    # Without a token the hub answers 401 for a repo that does not exist (it might be private).
    with pytest.raises(AuthenticationRequiredError, match="not found, or it is private or gated.*HF_TOKEN"):
        c.file_info("org/nope", "m.gguf")
    with pytest.raises(RemoteNotFoundError, match="does not exist"):
        client(tmp_path, token="hf_some_token").file_info("org/nope", "m.gguf")
    with pytest.raises(RemoteNotFoundError, match="no file 'other.gguf'"):
        c.file_info("org/m", "other.gguf")
    with pytest.raises(RemoteNotFoundError, match="no revision"):
        c.file_info("org/m", "m.gguf", revision="0123456789abcdef")


def test_private_repo_needs_its_token_from_env_or_the_store(hub_env, tmp_path, monkeypatch, tiny_gguf):
    hub_env.add_repo("org/private", {"m.gguf": tiny_gguf}, private=True, token="hf_secret")
    with pytest.raises(AuthenticationRequiredError) as caught:
        client(tmp_path).file_info("org/private", "m.gguf")
    assert "token" in str(caught.value) and caught.value.label == "org/private/m.gguf"
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    assert client(tmp_path).file_info("org/private", "m.gguf").size == len(tiny_gguf)
    monkeypatch.delenv("HF_TOKEN")
    token_store.save_token("hf_secret", tmp_path / "config", use_keyring=False)
    c = client(tmp_path)
    assert c.token_source == "stored" and c.file_info("org/private", "m.gguf").size == len(tiny_gguf)
    assert c.download_headers() == {"Authorization": "Bearer hf_secret"}
    assert all(r.header("authorization") == "Bearer hf_secret" for r in hub_env.requests_to("hub")[-2:])


def test_gated_repo_metadata_is_public(hub_env, tmp_path, tiny_gguf):
    hub_env.add_repo("org/gated", {"m.gguf": tiny_gguf}, gated=True, token="hf_ok")
    info = client(tmp_path).file_info("org/gated", "m.gguf")
    assert info.gated and info.sha256 == hashlib.sha256(tiny_gguf).hexdigest()


def test_server_error_is_a_server_error(hub_env, tmp_path, tiny_gguf):
    hub_env.add_repo("org/m", {"m.gguf": tiny_gguf})
    hub_env.faults.status, hub_env.faults.status_where = 503, "api"
    with pytest.raises(ServerError, match="503") as caught:
        client(tmp_path).file_info("org/m", "m.gguf")
    assert caught.value.status == 503


def test_offline_mode_opens_no_socket(hub_env, tmp_path, monkeypatch, tiny_gguf):
    hub_env.add_repo("org/m", {"m.gguf": tiny_gguf})
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def no_connect(self, *args):
        raise AssertionError("a socket was connected in offline mode")

    monkeypatch.setattr(socket.socket, "connect", no_connect)
    c = client(tmp_path)
    assert c.offline
    for call in (lambda: c.file_info("org/m", "m.gguf"), lambda: c.list_gguf_files("org/m")):
        with pytest.raises(OfflineModeError, match="offline mode"):
            call()
    assert hub_env.requests == []


def test_unreachable_hub_is_a_network_error(tmp_path, monkeypatch):
    from tests.hub.model_fixtures import isolate_hub_env

    isolate_hub_env(monkeypatch, tmp_path)
    with socket.socket() as s:   # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(NetworkError, match="cannot be reached"):
        HubClient(endpoint=f"http://127.0.0.1:{port}", config_dir=tmp_path).file_info("org/m", "m.gguf")


def test_conventions_are_read_when_used(monkeypatch, tmp_path):
    from tests.hub.model_fixtures import isolate_hub_env

    isolate_hub_env(monkeypatch, tmp_path)
    assert hub_endpoint() == "https://huggingface.co"
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9/")
    assert hub_endpoint() == "http://127.0.0.1:9" and hub_endpoint("http://x") == "http://x"
    assert not offline_mode()
    for value, expected in (("1", True), ("TRUE", True), ("yes", True), ("0", False), ("", False)):
        monkeypatch.setenv("HF_HUB_OFFLINE", value)
        assert offline_mode() is expected
    assert offline_mode(False) is False
    config = tmp_path / "config"
    assert resolve_token(config_dir=config) == (None, "none")
    token_store.save_token("hf_stored", config, use_keyring=False)
    assert resolve_token(config_dir=config) == ("hf_stored", "stored")
    monkeypatch.setenv("HF_TOKEN", "hf_env")
    assert resolve_token(config_dir=config) == ("hf_env", "HF_TOKEN")
    assert resolve_token("hf_given", config) == ("hf_given", "given")


def test_a_hub_that_stops_answering_fails_instead_of_hanging(tmp_path, monkeypatch):
    import time

    import huggingface_hub

    from bitnet_desktop.hub import remote
    from tests.hub.model_fixtures import isolate_hub_env

    isolate_hub_env(monkeypatch, tmp_path)
    huggingface_hub.close_session()          # a fresh shared client: HubClient gives it its timeout
    monkeypatch.setattr(remote, "METADATA_TIMEOUT", 0.5)
    with socket.socket() as silent:          # accepts connections (the backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        t0 = time.monotonic()
        try:
            with pytest.raises(NetworkError, match="did not answer within 0.5 s"):
                endpoint = f"http://127.0.0.1:{silent.getsockname()[1]}"
                HubClient(endpoint=endpoint, config_dir=tmp_path).repo_commit("o/m")
        finally:
            huggingface_hub.close_session()  # the next test's client gets the normal timeout
    assert time.monotonic() - t0 < 10
