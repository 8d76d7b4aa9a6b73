"""resolve -> download -> verify -> validate -> install, against the hub-compatible test server: the manifest
records the pinned commit and sha256; tokens, licences, the catalog's checksums, offline mode, and files
the engine cannot run (deleted after download, never listed)."""
import dataclasses
import hashlib
import json
import socket

import pytest

from bitnet_desktop.hub import token_store
from bitnet_desktop.hub.catalog import load_catalog
from bitnet_desktop.hub.errors import (
    AccessDeniedError,
    AuthenticationRequiredError,
    ChecksumMismatchError,
    DownloadPaused,
    OfflineModeError,
    RemoteFileChangedError,
)
from bitnet_desktop.hub.installed import ModelLibrary, ModelRejectedError
from bitnet_desktop.hub.pull import (
    ChooseFileError,
    LicenceNotAcceptedError,
    Pull,
    UnverifiableFileError,
    accept_licence,
    download_path,
    licence_accepted,
    plan_pull,
)
from bitnet_desktop.hub.remote import HubClient
from tests.hub.model_fixtures import hub_env, other_tiny_gguf, tiny_gguf  # noqa: F401 - fixtures

REPO = "org/tiny-bitnet-gguf"
FILE = "ggml-model-i2_s.gguf"
FAST = {"backoff": 0.01, "max_retries": 2}


@pytest.fixture
def library(tmp_path):
    return ModelLibrary(tmp_path / "data" / "models")


@pytest.fixture
def config(tmp_path):
    return tmp_path / "data" / "config"


def pull(name, library, config, file=None, revision=None, catalog=None, **kwargs):
    client = HubClient(config_dir=config)
    catalog = catalog if catalog is not None else load_catalog(config_dir=config)
    plan = plan_pull(name, file, revision, client=client, catalog=catalog)
    job = Pull(plan, library, client, stall_timeout=5.0, download_options=FAST, **kwargs)
    return job, job.run()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def nothing_left(library) -> bool:
    downloads = library.downloads_dir
    return library.list() == [] and (not downloads.exists() or list(downloads.iterdir()) == [])


def test_pull_end_to_end_lists_the_model_with_its_manifest(hub_env, library, config, tiny_gguf):
    commit = hub_env.add_repo(REPO, {FILE: tiny_gguf, "README.md": b"# tiny"})
    _, model = pull(REPO, library, config)
    [listed] = library.list()
    assert listed == model and model.name == "tiny-bitnet-gguf" and model.file == FILE
    assert (model.repo, model.commit, model.sha256, model.size) == (REPO, commit, sha(tiny_gguf), len(tiny_gguf))
    assert (model.format, model.architecture, model.source, model.how) == ("I2_S", "bitnet-b1.58", "hub", "download")
    assert model.path.read_bytes() == tiny_gguf
    manifest = json.loads((model.folder / "model.json").read_text())
    assert (manifest["repo"], manifest["commit"], manifest["sha256"], manifest["size"]) == \
        (REPO, commit, sha(tiny_gguf), len(tiny_gguf))
    assert list(library.downloads_dir.iterdir()) == []            # no .part or sidecar left
    resolves = [r.path for r in hub_env.requests_to("hub") if "/resolve/" in r.path]
    assert resolves == [f"/{REPO}/resolve/{commit}/{FILE}"]       # pinned to the commit, not "main"
    # Pulling again finds it installed and moves no byte.
    hub_env.clear_requests()
    job, again = pull(REPO, library, config)
    assert job.already_installed and again == model and hub_env.requests_to("cdn") == []


def test_revision_pins_the_commit_the_server_reports(hub_env, library, config, tiny_gguf, other_tiny_gguf):
    first = hub_env.add_repo(REPO, {FILE: tiny_gguf})
    second = hub_env.set_file(REPO, FILE, other_tiny_gguf)
    _, old = pull(REPO, library, config, FILE, revision=first)
    assert (old.commit, old.sha256) == (first, sha(tiny_gguf)) and old.path.read_bytes() == tiny_gguf
    _, new = pull(REPO, library, config, FILE)                     # main: the second commit, another model
    assert (new.commit, new.sha256, new.name) == (second, sha(other_tiny_gguf), "tiny-bitnet-gguf-2")


def test_gated_repo_asks_for_a_token_then_works_with_one(hub_env, library, config, monkeypatch, tiny_gguf):
    hub_env.add_repo(REPO, {FILE: tiny_gguf}, gated=True, token="hf_granted")
    with pytest.raises(AuthenticationRequiredError, match="gated: sign in with a Hugging Face token.*HF_TOKEN"):
        pull(REPO, library, config)
    assert hub_env.requests_to("cdn") == [] and nothing_left(library)
    monkeypatch.setenv("HF_TOKEN", "hf_granted")
    _, model = pull(REPO, library, config)
    assert model.sha256 == sha(tiny_gguf)
    assert all(r.header("authorization") is None for r in hub_env.requests_to("cdn"))   # never to the CDN


def test_gated_repo_with_the_stored_token(hub_env, library, config, tiny_gguf):
    hub_env.add_repo(REPO, {FILE: tiny_gguf}, gated=True, token="hf_granted")
    token_store.save_token("hf_granted", config, use_keyring=False)
    _, model = pull(REPO, library, config)
    assert model.repo == REPO and library.list() == [model]


def test_the_servers_401_and_403_at_download_time(hub_env, library, config, monkeypatch, tiny_gguf):
    hub_env.add_repo(REPO, {FILE: tiny_gguf}, gated=True, token="hf_granted")
    client = HubClient(config_dir=config)
    plan = plan_pull(REPO, client=client, catalog=load_catalog(config_dir=config))
    # Without our own gated check the resolve itself answers 401.
    ungated = dataclasses.replace(plan, remote=dataclasses.replace(plan.remote, gated=False))
    with pytest.raises(AuthenticationRequiredError) as caught:
        Pull(ungated, library, client, download_options=FAST).run()
    assert "token" in str(caught.value).lower() and nothing_left(library)
    monkeypatch.setenv("HF_TOKEN", "hf_someone_else")
    with pytest.raises(AccessDeniedError):
        pull(REPO, library, config)
    assert nothing_left(library)


@pytest.mark.parametrize("damage, reason", [
    (lambda data: b"<html>not a model</html>" * 50, "not a GGUF file"),
    (lambda data: data[: len(data) * 2 // 3], "truncated"),
])
def test_a_file_the_engine_cannot_open_is_deleted_after_download(hub_env, library, config, tiny_gguf, damage, reason):
    bad = damage(tiny_gguf)
    hub_env.add_repo(REPO, {FILE: bad})
    with pytest.raises(ModelRejectedError, match=f"downloaded and verified, but .*{reason}.*the file was deleted"):
        pull(REPO, library, config)
    assert hub_env.requests_to("cdn", "GET")       # it was downloaded...
    assert nothing_left(library)                   # ...and nothing stays or is listed


def test_corrupted_bytes_are_rejected_and_never_listed(hub_env, library, config, tiny_gguf):
    hub_env.add_repo(REPO, {FILE: tiny_gguf})
    hub_env.faults.corrupt_offset = 5000
    with pytest.raises(ChecksumMismatchError):
        pull(REPO, library, config)
    assert nothing_left(library)


def test_offline_mode_requests_nothing(hub_env, library, config, monkeypatch, tiny_gguf):
    hub_env.add_repo(REPO, {FILE: tiny_gguf})
    plan = plan_pull(REPO, client=HubClient(config_dir=config), catalog=load_catalog(config_dir=config))
    hub_env.clear_requests()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def no_connect(self, *args):
        raise AssertionError("a socket was connected in offline mode")

    monkeypatch.setattr(socket.socket, "connect", no_connect)
    with pytest.raises(OfflineModeError):
        pull(REPO, library, config)
    with pytest.raises(OfflineModeError):   # a plan made before going offline does not download either
        Pull(plan, library, HubClient(config_dir=config), download_options=FAST).run()
    assert hub_env.requests == [] and nothing_left(library)


def write_catalog(tmp_path, **changes):
    item = {"id": "tiny-test", "name": "Tiny test model", "repo": REPO, "file": FILE, "format": "I2_S",
            "engine": "yes", "kind": "base",
            "licence": {"name": "Test Licence", "url": "https://example.org/licence", "accept_before_download": False}}
    item.update(changes)
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"models": [item]}))
    return load_catalog(path, with_user_entries=False)


def test_the_catalogs_checksum_must_match_the_hubs(hub_env, library, config, tmp_path, tiny_gguf):
    hub_env.add_repo(REPO, {FILE: tiny_gguf})
    wrong = write_catalog(tmp_path, sha256="0" * 64, size=len(tiny_gguf))
    with pytest.raises(RemoteFileChangedError, match="not the file the catalog lists"):
        pull("tiny-test", library, config, catalog=wrong)
    wrong_size = write_catalog(tmp_path, sha256=sha(tiny_gguf), size=len(tiny_gguf) + 1)
    with pytest.raises(RemoteFileChangedError, match="the catalog says"):
        pull("tiny-test", library, config, catalog=wrong_size)
    assert hub_env.requests_to("cdn") == [] and nothing_left(library)
    right = write_catalog(tmp_path, sha256=sha(tiny_gguf), size=len(tiny_gguf))
    _, model = pull("tiny-test", library, config, catalog=right)
    assert (model.name, model.catalog_id) == ("tiny-test", "tiny-test")


def test_a_licence_to_accept_first(hub_env, library, config, tmp_path, tiny_gguf):
    hub_env.add_repo(REPO, {FILE: tiny_gguf})
    catalog = write_catalog(tmp_path, licence={"name": "Falcon-like Licence", "url": "https://example.org/l",
                                               "accept_before_download": True})
    entry = catalog.find("tiny-test")
    with pytest.raises(LicenceNotAcceptedError, match="Falcon-like Licence.*accept it") as caught:
        pull(REPO, library, config, FILE, catalog=catalog)
    assert caught.value.licence_url == "https://example.org/l" and hub_env.requests_to("cdn") == []
    assert not licence_accepted(entry, config)
    accept_licence(entry, config)
    assert licence_accepted(entry, config)
    _, model = pull(REPO, library, config, FILE, catalog=catalog, licence_accepted=True)
    assert model.catalog_id == "tiny-test"


def test_a_model_the_catalog_knows_cannot_run_is_refused_before_any_request(hub_env, library, config, tmp_path):
    catalog = write_catalog(tmp_path, engine="no", engine_note="plain LLaMA graph")
    with pytest.raises(ModelRejectedError, match="not downloaded: plain LLaMA graph"):
        pull("tiny-test", library, config, catalog=catalog)
    assert hub_env.requests == []


def test_choose_among_several_gguf_files(hub_env, library, config, tiny_gguf, other_tiny_gguf):
    hub_env.add_repo(REPO, {"a.gguf": tiny_gguf, "b.gguf": other_tiny_gguf})
    with pytest.raises(ChooseFileError, match="2 GGUF files; name one: a.gguf, b.gguf") as caught:
        pull(REPO, library, config)
    assert caught.value.files == ("a.gguf", "b.gguf")
    _, model = pull(REPO, library, config, "b.gguf")
    assert (model.file, model.name, model.sha256) == ("b.gguf", "tiny-bitnet-gguf-b", sha(other_tiny_gguf))
    hub_env.add_repo("org/empty", {"README.md": b"x"})
    with pytest.raises(ChooseFileError, match="no .gguf file"):
        pull("org/empty", library, config)


def test_a_file_without_a_published_sha256_is_not_downloaded(hub_env, library, config, tiny_gguf):
    hub_env.add_repo(REPO, {FILE: tiny_gguf}, lfs_min_size=1 << 30)   # kept in git: no LFS sha256
    with pytest.raises(UnverifiableFileError, match="publishes no sha256"):
        pull(REPO, library, config)
    assert hub_env.requests_to("cdn") == [] and nothing_left(library)


def test_pause_keeps_the_part_and_the_next_pull_resumes(hub_env, library, config, tiny_gguf):
    hub_env.add_repo(REPO, {FILE: tiny_gguf})
    hub_env.faults.rate = 1_000_000   # about a second for the whole file
    client = HubClient(config_dir=config)
    plan = plan_pull(REPO, client=client, catalog=load_catalog(config_dir=config))
    job = None

    def on_progress(p):
        if p.state == "downloading" and p.done >= 128 * 1024:
            job.pause()

    job = Pull(plan, library, client, on_progress=on_progress, download_options=FAST)
    with pytest.raises(DownloadPaused):
        job.run()
    part = download_path(library, plan.remote).with_name(download_path(library, plan.remote).name + ".part")
    assert part.is_file() and 0 < part.stat().st_size < len(tiny_gguf) and library.list() == []
    hub_env.faults.rate = None
    model = Pull(plan, library, client, download_options=FAST).run()
    assert model.path.read_bytes() == tiny_gguf
    resumed_from = hub_env.requests_to("cdn", "GET")[-1].header("range")
    assert resumed_from is not None and int(resumed_from.removeprefix("bytes=").split("-")[0]) > 0
