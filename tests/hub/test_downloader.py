"""The Range downloader against the hub-compatible test server (tests/hub/hub_server.py): real HTTP on
127.0.0.1, a hub that redirects to a CDN on another port, faults injected per test. Every wait is bounded."""
from __future__ import annotations

import base64
import errno
import hashlib
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import namedtuple
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bitnet_desktop.engine.synth import write_synthetic_model
from bitnet_desktop.hub import downloader as downloader_module
from bitnet_desktop.hub.downloader import Download, DownloadProgress, DownloadRequest
from bitnet_desktop.hub.errors import (
    AccessDeniedError, AlreadyDownloadingError, AuthenticationRequiredError, ChecksumMismatchError,
    DiskWriteError, DownloadCancelled, DownloadPaused, InsufficientDiskSpaceError, NetworkError,
    OfflineModeError, PermissionDeniedError, RemoteFileChangedError, RemoteNotFoundError, ServerError,
)
from bitnet_desktop.hub.part_file import load_state, part_path, sidecar_path
from bitnet_desktop.meters.display import format_bytes

REPO = "org/bitnet-test-gguf"
FILE = "ggml-model-i2_s.gguf"
ROOT = Path(__file__).resolve().parents[2]
FAST = {"backoff": 0.01, "stall_timeout": 5.0}
DiskUsage = namedtuple("DiskUsage", "total used free")


def blob(n: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(n)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def request_for(hub, dest: Path, data: bytes | None, *, name: str = FILE, repo: str = REPO, **kw) -> DownloadRequest:
    kw.setdefault("expected_size", len(data) if data is not None else None)
    kw.setdefault("expected_sha256", sha(data) if data is not None else None)
    return DownloadRequest(hub.resolve_url(repo, name), dest, label=f"{repo}/{name}", **kw)


def ranges(hub, server: str = "cdn") -> list[str | None]:
    return [r.header("range") for r in hub.requests_to(server, "GET")]


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def wait_for(predicate, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


class InThread:
    """run() on a thread, joined with a bound."""

    def __init__(self, download: Download) -> None:
        self.download = download
        self.result = self.error = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.result = self.download.run()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            self.error = exc

    def join(self, timeout: float = 30.0):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "download thread did not finish"
        return self.result, self.error


# ---- the good path -------------------------------------------------------------------------------
def test_full_download_of_a_gguf_is_verified_and_renamed(hub_server, tmp_path):
    model = write_synthetic_model(tmp_path / "src.gguf", "tiny")
    data = model.read_bytes()
    commit = hub_server.add_repo(REPO, {FILE: data})
    out = tmp_path / "models"
    events: list[DownloadProgress] = []
    req = request_for(hub_server, out / FILE, data, headers={"Authorization": "Bearer secret"})
    assert "secret" not in repr(req)

    assert Download(req, on_progress=events.append).run() == out / FILE

    assert (out / FILE).read_bytes() == data
    assert leftovers(out) == [FILE]                       # no .part, no sidecar
    states = [e.state for e in events]
    assert states[0] == "starting" and states[-1] == "done" and "verifying" in states
    assert events[-1].done == events[-1].total == len(data)
    hub_get, = hub_server.requests_to("hub", "GET")
    cdn_get, = hub_server.requests_to("cdn", "GET")
    assert hub_get.header("authorization") == "Bearer secret"
    assert cdn_get.header("authorization") is None       # the token never leaves the hub
    assert hub_get.header("range") is None and f"/{REPO}/resolve/main/{FILE}" == hub_get.path
    assert commit


def test_non_lfs_file_served_by_the_hub_itself(hub_server, tmp_path):
    data = b"small config file\n" * 10
    hub_server.add_repo(REPO, {"config.json": data}, lfs_min_size=1 << 20)
    Download(request_for(hub_server, tmp_path / "config.json", data, name="config.json")).run()
    assert (tmp_path / "config.json").read_bytes() == data
    assert hub_server.requests_to("cdn") == []


def test_unknown_size_and_hash_still_downloads_whole_file(hub_server, tmp_path):
    data = blob(700_000)
    hub_server.add_repo(REPO, {FILE: data})
    Download(request_for(hub_server, tmp_path / FILE, None)).run()
    assert (tmp_path / FILE).read_bytes() == data


# ---- resume ---------------------------------------------------------------------------------------
def test_dropped_connection_resumes_with_range_to_a_verified_file(hub_server, tmp_path):
    data = blob(3_000_000)
    hub_server.add_repo(REPO, {FILE: data})
    hub_server.faults.drop_after = 1_000_000
    events = []
    Download(request_for(hub_server, tmp_path / FILE, data), on_progress=events.append, **FAST).run()
    assert (tmp_path / FILE).read_bytes() == data
    assert ranges(hub_server) == [None, "bytes=1000000-"]
    assert ranges(hub_server, "hub") == [None, "bytes=1000000-"]
    retry = next(e for e in events if e.state == "retrying")
    assert "connection dropped" in retry.message and "retry 1 of 8" in retry.message


def test_connection_dropping_every_time_still_finishes(hub_server, tmp_path):
    data = blob(2_000_000)
    hub_server.add_repo(REPO, {FILE: data})
    hub_server.faults.drop_after, hub_server.faults.drop_times = 300_000, None
    Download(request_for(hub_server, tmp_path / FILE, data), max_retries=2, **FAST).run()
    assert (tmp_path / FILE).read_bytes() == data
    starts = [int(r.split("=")[1].rstrip("-")) for r in ranges(hub_server)[1:]]
    assert starts == [300_000 * i for i in range(1, 7)]   # progress resets the retry count


def test_stall_is_retried_automatically(hub_server, tmp_path):
    data = blob(1_500_000)
    hub_server.add_repo(REPO, {FILE: data})
    hub_server.faults.stall_after, hub_server.faults.stall_seconds = 500_000, 20.0
    events = []
    t0 = time.monotonic()
    Download(request_for(hub_server, tmp_path / FILE, data), on_progress=events.append,
             stall_timeout=0.5, backoff=0.01).run()
    assert time.monotonic() - t0 < 15          # not the server's 20 s stall
    assert (tmp_path / FILE).read_bytes() == data
    assert ranges(hub_server) == [None, "bytes=500000-"]
    assert any(e.state == "retrying" and "no data for 0.5 s (stalled)" in e.message for e in events)


_KILLED_CLIENT = """
import sys
from pathlib import Path
from bitnet_desktop.hub.downloader import Download, DownloadRequest
url, dest, size, digest = sys.argv[1:5]
Download(DownloadRequest(url, Path(dest), int(size), digest)).run()
print("finished")
"""


def test_client_killed_with_sigkill_resumes_from_the_part_file(hub_server, tmp_path):
    data = blob(6_000_000)
    hub_server.add_repo(REPO, {FILE: data})
    hub_server.faults.rate = 1_000_000          # ~6 s for the whole file: the kill lands mid-file
    dest = tmp_path / FILE
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_CLIENT, hub_server.resolve_url(REPO, FILE), str(dest),
                             str(len(data)), sha(data)], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        def part_has_a_megabyte() -> bool:
            assert proc.poll() is None, proc.communicate(timeout=5)
            state = load_state(dest)
            return (part_path(dest).exists() and part_path(dest).stat().st_size >= 1_000_000
                    and state is not None and state.done > 0)
        wait_for(part_has_a_megabyte, 60, "1 MB in the .part")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    assert not dest.exists()
    kept = min(load_state(dest).done, part_path(dest).stat().st_size)
    assert 0 < kept < len(data)

    hub_server.faults.rate = None
    hub_server.clear_requests()
    events = []
    Download(DownloadRequest(hub_server.resolve_url(REPO, FILE), dest, len(data), sha(data)),
             on_progress=events.append).run()
    assert dest.read_bytes() == data
    first_range = ranges(hub_server)[0]
    assert first_range == f"bytes={kept}-" and kept > 0
    assert any(e.state == "verifying" and e.message.startswith("checking the") for e in events)


def test_unflushed_tail_past_the_sidecar_is_cut_off(hub_server, tmp_path):
    """A crash can leave more bytes in the .part than the sidecar counts: only the counted ones are trusted."""
    data = blob(1_000_000)
    hub_server.add_repo(REPO, {FILE: data})
    dest = tmp_path / FILE
    req = request_for(hub_server, dest, data)
    part_path(dest).write_bytes(data[:400_000] + b"\0" * 100_000)      # 100 kB of garbage never counted
    sidecar_path(dest).write_text(json.dumps({"version": 1, "url": req.url, "size": len(data), "sha256": sha(data),
                                              "etag": None, "commit": None, "done": 400_000}))
    Download(req).run()
    assert dest.read_bytes() == data
    assert ranges(hub_server) == ["bytes=400000-"]


def test_complete_part_left_by_a_crash_is_verified_without_the_network(hub_server, tmp_path):
    data = blob(500_000)
    hub_server.add_repo(REPO, {FILE: data})
    dest = tmp_path / FILE
    req = request_for(hub_server, dest, data)
    part_path(dest).write_bytes(data)
    sidecar_path(dest).write_text(json.dumps({"version": 1, "url": req.url, "size": len(data), "sha256": sha(data),
                                              "etag": sha(data), "commit": None, "done": len(data)}))
    Download(req).run()
    assert dest.read_bytes() == data
    assert hub_server.requests == []


def test_part_from_another_request_is_not_reused(hub_server, tmp_path):
    data = blob(500_000)
    hub_server.add_repo(REPO, {FILE: data})
    dest = tmp_path / FILE
    req = request_for(hub_server, dest, data)
    part_path(dest).write_bytes(b"x" * 200_000)
    sidecar_path(dest).write_text(json.dumps({"version": 1, "url": req.url, "size": len(data), "sha256": "0" * 64,
                                              "etag": None, "commit": None, "done": 200_000}))
    Download(req).run()
    assert dest.read_bytes() == data
    assert ranges(hub_server) == [None]


# ---- the server does something else -------------------------------------------------------------------
def test_server_ignoring_range_restarts_from_zero_visibly(hub_server, tmp_path):
    data = blob(2_000_000)
    hub_server.add_repo(REPO, {FILE: data})
    hub_server.faults.drop_after = 800_000
    hub_server.faults.ignore_range = True
    events = []
    Download(request_for(hub_server, tmp_path / FILE, data), on_progress=events.append, **FAST).run()
    assert (tmp_path / FILE).read_bytes() == data
    assert ranges(hub_server) == [None, "bytes=800000-"]      # asked to resume, got the whole file
    restart = [e for e in events if "ignored the Range request" in e.message]
    assert restart and restart[0].done == 0


def test_file_changed_between_tries_restarts_cleanly(hub_server, tmp_path):
    old, new = blob(2_000_000, 1), blob(2_100_000, 2)
    hub_server.add_repo(REPO, {FILE: old})
    hub_server.faults.drop_after = 1_000_000
    hub_server.faults.on_drop = lambda: hub_server.set_file(REPO, FILE, new)
    events = []
    Download(request_for(hub_server, tmp_path / FILE, None), on_progress=events.append, **FAST).run()
    assert (tmp_path / FILE).read_bytes() == new
    assert ranges(hub_server, "hub") == [None, "bytes=1000000-", None]
    assert ranges(hub_server) == [None, None]          # the hub's redirect told: the old range is not asked
    assert any("changed on the server; starting again from zero" in e.message for e in events)


def test_file_changing_on_every_try_gives_up(hub_server, tmp_path):
    hub_server.add_repo(REPO, {FILE: blob(1_000_000, 0)})
    versions = iter(range(1, 100))
    hub_server.faults.drop_after, hub_server.faults.drop_times = 200_000, None
    hub_server.faults.on_drop = lambda: hub_server.set_file(REPO, FILE, blob(1_000_000, next(versions)))
    with pytest.raises(RemoteFileChangedError, match="changed on the server 4 times"):
        Download(request_for(hub_server, tmp_path / FILE, None), **FAST).run()


def test_file_no_longer_the_listed_one_is_refused_before_downloading(hub_server, tmp_path):
    listed, now = blob(1_000_000, 1), blob(1_000_000, 2)
    hub_server.add_repo(REPO, {FILE: now})
    with pytest.raises(RemoteFileChangedError, match="not the expected file"):
        Download(request_for(hub_server, tmp_path / FILE, listed)).run()
    assert hub_server.requests_to("cdn") == []
    assert not (tmp_path / FILE).exists()


def test_416_restarts_from_zero(hub_server, tmp_path):
    """The sidecar counts more bytes than the server's file has (it shrank, same name, no ETag recorded)."""
    data = blob(600_000)
    hub_server.add_repo(REPO, {FILE: data})
    dest = tmp_path / FILE
    req = request_for(hub_server, dest, None)
    part_path(dest).write_bytes(blob(900_000, 9))
    sidecar_path(dest).write_text(json.dumps({"version": 1, "url": req.url, "size": None, "sha256": None,
                                              "etag": None, "commit": None, "done": 900_000}))
    events = []
    Download(req, on_progress=events.append).run()
    assert dest.read_bytes() == data
    assert ranges(hub_server) == ["bytes=900000-", None]
    assert any("HTTP 416" in e.message for e in events)


def test_corrupted_bytes_are_rejected_and_deleted(hub_server, tmp_path):
    data = blob(1_000_000)
    hub_server.add_repo(REPO, {FILE: data})
    hub_server.faults.corrupt_offset = 654_321
    events = []
    with pytest.raises(ChecksumMismatchError) as info:
        Download(request_for(hub_server, tmp_path / FILE, data), on_progress=events.append).run()
    assert "arrived damaged" in str(info.value) and "was deleted" in str(info.value)
    assert f"{REPO}/{FILE}" in str(info.value)
    assert info.value.expected == sha(data) and info.value.actual != sha(data)
    assert leftovers(tmp_path) == []               # never listed: no file, no .part
    assert events[-1].state == "failed"


# ---- HTTP errors ------------------------------------------------------------------------------------
def test_gated_repo_without_token_asks_for_one(hub_server, tmp_path):
    data = blob(100_000)
    hub_server.add_repo(REPO, {FILE: data}, gated=True, token="T")
    with pytest.raises(AuthenticationRequiredError, match="needs a Hugging Face access token") as info:
        Download(request_for(hub_server, tmp_path / FILE, data), **FAST).run()
    assert f"{REPO}/{FILE}" in str(info.value)
    assert len(hub_server.requests) == 1          # not retried
    Download(request_for(hub_server, tmp_path / FILE, data, headers={"Authorization": "Bearer T"})).run()
    assert (tmp_path / FILE).read_bytes() == data


def test_gated_repo_with_a_token_without_access_names_the_repo_page(hub_server, tmp_path):
    data = blob(100_000)
    hub_server.add_repo(REPO, {FILE: data}, gated=True, token="T")
    with pytest.raises(AccessDeniedError) as info:
        Download(request_for(hub_server, tmp_path / FILE, data, headers={"Authorization": "Bearer other"})).run()
    assert info.value.repo_url == f"{hub_server.endpoint}/{REPO}"
    assert info.value.repo_url in str(info.value) and "licence" in str(info.value)
    assert leftovers(tmp_path) == []


def test_missing_file_is_not_found(hub_server, tmp_path):
    hub_server.add_repo(REPO, {FILE: blob(10)})
    with pytest.raises(RemoteNotFoundError, match=r"nope\.gguf was not found on the hub \(HTTP 404\)"):
        Download(request_for(hub_server, tmp_path / "nope.gguf", None, name="nope.gguf")).run()
    assert leftovers(tmp_path) == []


def test_server_error_gives_up_after_retries(hub_server, tmp_path):
    data = blob(100_000)
    hub_server.add_repo(REPO, {FILE: data})
    hub_server.faults.status, hub_server.faults.status_where = 500, "cdn"
    with pytest.raises(ServerError, match=r"HTTP 500 after 3 retries") as info:
        Download(request_for(hub_server, tmp_path / FILE, data), max_retries=3, backoff=0.01).run()
    assert info.value.status == 500
    assert len(hub_server.requests_to("cdn")) == 4


def test_passing_503_is_retried(hub_server, tmp_path):
    data = blob(100_000)
    hub_server.add_repo(REPO, {FILE: data})
    hub_server.faults.status, hub_server.faults.status_where, hub_server.faults.status_times = 503, "resolve", 2
    Download(request_for(hub_server, tmp_path / FILE, data), backoff=0.01).run()
    assert (tmp_path / FILE).read_bytes() == data


def test_refused_connection_is_a_network_error(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]        # closed again: nothing listens there
    req = DownloadRequest(f"http://127.0.0.1:{port}/{REPO}/resolve/main/{FILE}", tmp_path / FILE, 10, None)
    with pytest.raises(NetworkError, match="refused the connection"):
        Download(req, max_retries=1, backoff=0.01).run()


def test_name_that_does_not_resolve_is_a_network_error(tmp_path, monkeypatch):
    def no_dns(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    req = DownloadRequest(f"https://huggingface.co/{REPO}/resolve/main/{FILE}", tmp_path / FILE, 10, None,
                          label=f"{REPO}/{FILE}")
    events = []
    with pytest.raises(NetworkError, match=f"Could not download {REPO}/{FILE}: huggingface.co could not be found "
                                           r"\(no network, or DNS failed\) \(after 2 retries\)"):
        Download(req, on_progress=events.append, max_retries=2, backoff=0.01).run()
    assert [e.state for e in events] == ["starting", "retrying", "retrying", "failed"]
    assert leftovers(tmp_path) == []


def test_offline_mode_opens_no_socket(hub_server, tmp_path, monkeypatch):
    data = blob(1000)
    hub_server.add_repo(REPO, {FILE: data})
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def no_connect(*args, **kwargs):
        raise AssertionError("a socket was connected in offline mode")
    monkeypatch.setattr(socket.socket, "connect", no_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", no_connect)
    with pytest.raises(OfflineModeError, match="HF_HUB_OFFLINE"):
        Download(request_for(hub_server, tmp_path / FILE, data)).run()
    assert hub_server.requests == []
    assert leftovers(tmp_path) == []


# ---- the disk ------------------------------------------------------------------------------------
def test_too_little_free_space_is_refused_before_starting(hub_server, tmp_path, monkeypatch):
    data = blob(1000)
    hub_server.add_repo(REPO, {FILE: data})
    monkeypatch.setattr(downloader_module.shutil, "disk_usage", lambda p: DiskUsage(10**9, 0, 5_000_000))
    req = request_for(hub_server, tmp_path / FILE, None, expected_size=1_200_000_000)
    with pytest.raises(InsufficientDiskSpaceError) as info:
        Download(req).run()
    err = info.value
    assert err.free == 5_000_000 and err.needed == 1_200_000_000 + downloader_module.FREE_SPACE_MARGIN
    assert f"{format_bytes(5_000_000)} free" in str(err)
    assert f"{format_bytes(1_200_000_000)} still to download" in str(err)
    assert hub_server.requests == [] and leftovers(tmp_path) == []


@pytest.fixture
def tmpfs(tmp_path):
    """A 2 MiB tmpfs (we are root in the test sandbox); skipped where mounting is not permitted."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
                              capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"cannot mount a tmpfs here: {exc}")
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True, timeout=10)


def test_disk_full_mid_download_keeps_the_part_and_resumes_once_space_is_freed(hub_server, tmpfs, monkeypatch):
    data = blob(3_000_000)
    hub_server.add_repo(REPO, {FILE: data})
    # The free-space check passes (as if another program filled the disk after it): the write fails.
    monkeypatch.setattr(downloader_module.shutil, "disk_usage", lambda p: DiskUsage(10**12, 0, 10**12))
    # Checkpoints every 256 kB instead of 8 MB, so some land before the 2 MiB disk is full (once it is, not
    # even the small sidecar can be written and the bytes since the last checkpoint are cut on resume).
    monkeypatch.setattr(downloader_module, "CHECKPOINT_BYTES", 256 * 1024)
    dest = tmpfs / FILE
    with pytest.raises(DiskWriteError, match="The disk is full") as info:
        Download(request_for(hub_server, dest, data), **FAST).run()
    assert type(info.value) is DiskWriteError and f"{REPO}/{FILE}" in str(info.value)
    assert not dest.exists() and part_path(dest).exists()
    kept = min(load_state(dest).done, part_path(dest).stat().st_size)

    subprocess.run(["mount", "-o", "remount,size=8m", str(tmpfs)], check=True, capture_output=True, timeout=10)
    hub_server.clear_requests()
    Download(request_for(hub_server, dest, data), **FAST).run()
    assert dest.read_bytes() == data
    assert kept > 0 and ranges(hub_server) == [f"bytes={kept}-"]


def test_read_only_folder_is_permission_denied(hub_server, tmp_path):
    """As root, chmod does not stop writes, so root gets a read-only tmpfs (EROFS) and others a 0555 folder
    (EACCES): both are PermissionDeniedError."""
    data = blob(1000)
    hub_server.add_repo(REPO, {FILE: data})
    folder = tmp_path / "ro"
    folder.mkdir()
    mounted = False
    if os.geteuid() == 0:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)],
                              capture_output=True, timeout=10)
        if done.returncode != 0:
            pytest.skip(f"root, and cannot mount a read-only tmpfs: {done.stderr.decode().strip()}")
        mounted = True
    else:
        folder.chmod(0o555)
    try:
        with pytest.raises(PermissionDeniedError, match="Cannot write .* to .*ro: ") as info:
            Download(request_for(hub_server, folder / FILE, data)).run()
        assert isinstance(info.value, DiskWriteError)
        assert hub_server.requests == []
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(folder)], capture_output=True, timeout=10)
        else:
            folder.chmod(0o755)


def test_file_where_the_folder_should_be_is_a_write_error(hub_server, tmp_path):
    """A plain file in place of the models folder (ENOTDIR) is not a permission problem: DiskWriteError."""
    data = blob(1000)
    hub_server.add_repo(REPO, {FILE: data})
    (tmp_path / "models").write_bytes(b"not a folder")
    with pytest.raises(DiskWriteError, match="Could not write") as info:
        Download(request_for(hub_server, tmp_path / "models" / FILE, data)).run()
    assert not isinstance(info.value, PermissionDeniedError)
    assert os.strerror(errno.EEXIST) in str(info.value) or os.strerror(errno.ENOTDIR) in str(info.value)


# ---- pause, cancel, concurrent use ----------------------------------------------------------------------
def test_pause_keeps_the_part_and_a_new_run_resumes(hub_server, tmp_path):
    data = blob(4_000_000)
    hub_server.add_repo(REPO, {FILE: data})
    hub_server.faults.rate = 1_000_000
    dest = tmp_path / FILE
    events = []
    download = Download(request_for(hub_server, dest, data), on_progress=events.append)
    runner = InThread(download)
    wait_for(lambda: any(e.done >= 300_000 for e in events), 30, "300 kB downloaded")
    t0 = time.monotonic()
    download.pause()
    _, error = runner.join(10)
    assert time.monotonic() - t0 < 5
    assert isinstance(error, DownloadPaused) and events[-1].state == "paused"
    kept = min(load_state(dest).done, part_path(dest).stat().st_size)
    assert kept >= 300_000 and not dest.exists()
    moving = [e for e in events if e.state == "downloading" and e.speed is not None]
    assert moving and all(0 < e.speed < 5_000_000 for e in moving)     # the server sends 1 MB/s
    assert moving[-1].eta == pytest.approx((len(data) - moving[-1].done) / moving[-1].speed)

    hub_server.faults.rate = None
    hub_server.clear_requests()
    Download(request_for(hub_server, dest, data)).run()
    assert dest.read_bytes() == data
    assert ranges(hub_server) == [f"bytes={kept}-"]


def test_cancel_deletes_the_part(hub_server, tmp_path):
    data = blob(4_000_000)
    hub_server.add_repo(REPO, {FILE: data})
    hub_server.faults.rate = 1_000_000
    events = []
    download = Download(request_for(hub_server, tmp_path / FILE, data), on_progress=events.append)
    runner = InThread(download)
    wait_for(lambda: any(e.done >= 200_000 for e in events), 30, "200 kB downloaded")
    download.cancel()
    _, error = runner.join(10)
    assert isinstance(error, DownloadCancelled) and events[-1].state == "cancelled"
    assert leftovers(tmp_path) == []


def test_pause_during_the_backoff_wait_returns_at_once(hub_server, tmp_path):
    data = blob(100_000)
    hub_server.add_repo(REPO, {FILE: data})
    hub_server.faults.status, hub_server.faults.status_where = 503, "cdn"
    events = []
    download = Download(request_for(hub_server, tmp_path / FILE, data), on_progress=events.append, backoff=30)
    runner = InThread(download)
    wait_for(lambda: any(e.state == "retrying" for e in events), 30, "a retry")
    download.pause()
    _, error = runner.join(5)
    assert isinstance(error, DownloadPaused)


def test_a_second_downloader_of_the_same_file_is_refused(hub_server, tmp_path):
    data = blob(3_000_000)
    hub_server.add_repo(REPO, {FILE: data})
    hub_server.faults.rate = 1_000_000
    events = []
    first = Download(request_for(hub_server, tmp_path / FILE, data), on_progress=events.append)
    runner = InThread(first)
    wait_for(lambda: any(e.state == "downloading" for e in events), 30, "the first download")
    with pytest.raises(AlreadyDownloadingError, match="already being downloaded"):
        Download(request_for(hub_server, tmp_path / FILE, data)).run()
    first.cancel()
    runner.join(10)


# ---- proxy -----------------------------------------------------------------------------------------------
class _ForwardingProxy(BaseHTTPRequestHandler):
    """A plain-HTTP proxy: takes absolute-form requests and fetches them from 127.0.0.1 at the same port."""
    protocol_version = "HTTP/1.1"
    seen: list = []

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        self.seen.append((self.path, self.headers.get("Proxy-Authorization")))
        target = urlsplit(self.path)
        upstream = http.client.HTTPConnection("127.0.0.1", target.port, timeout=10)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("proxy-authorization", "host")}
            upstream.request("GET", target.path + (f"?{target.query}" if target.query else ""), headers=headers)
            resp = upstream.getresponse()
            body = resp.read()
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() not in ("connection", "transfer-encoding", "content-length"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        finally:
            upstream.close()


def test_http_proxy_from_the_environment_is_used_and_loopback_bypasses_it(hub_server, tmp_path, monkeypatch):
    data = blob(200_000)
    hub_server.add_repo(REPO, {FILE: data})
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), _ForwardingProxy)
    proxy.daemon_threads = False
    _ForwardingProxy.seen = []
    thread = threading.Thread(target=proxy.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        for name in ("http_proxy", "HTTP_PROXY", "no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("http_proxy", f"http://user:p%40ss@127.0.0.1:{proxy.server_address[1]}")
        url = hub_server.resolve_url(REPO, FILE).replace("127.0.0.1", "hub.invalid")   # only the proxy can
        req = DownloadRequest(url, tmp_path / FILE, len(data), sha(data), headers={"Authorization": "Bearer T"})
        Download(req, **FAST).run()
    finally:
        proxy.shutdown()
        proxy.server_close()
        thread.join(10)
    assert (tmp_path / FILE).read_bytes() == data
    (path, proxy_auth), = _ForwardingProxy.seen         # the hub through the proxy; the 127.0.0.1 CDN direct
    assert path == url and proxy_auth == "Basic " + base64.b64encode(b"user:p@ss").decode()
    assert hub_server.requests_to("hub")[0].header("authorization") == "Bearer T"
    assert len(hub_server.requests_to("cdn")) == 1
