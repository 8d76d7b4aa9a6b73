"""Getting a model from the hub into the models folder: resolve -> download -> verify -> validate ->
install. No Qt; the CLI (`models pull`) and the Models panel both drive a `Pull`.

1. plan_pull: which repo and file (a catalog id, a repo with one GGUF, or repo + file), the commit the
   revision points to, the file's size and LFS sha256 at that commit (huggingface_hub). A catalog
   entry's size and sha256 must agree with the hub's: a file that changed upstream is refused, not
   trusted. A model the catalog knows the engine cannot run is refused before a byte moves; so is a
   file whose sha256 the hub does not publish (it could not be verified).
2. Pull.run: the licence accepted where the catalog asks for it; a gated repo needs a token; then
   our Download (downloader.py) moves the bytes into models/.downloads/<repo>--<file>.part, resuming
   whatever an earlier run left, and renames the file into place only when its sha256 matches.
3. The engine's reader checks the file (installed.inspect_model_file): one it cannot run is deleted
   and refused with the reason. Otherwise it is moved into its model folder with its manifest (repo,
   commit, sha256, size) and listed.
"""
from __future__ import annotations

import json
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..atomic_file import write_json_atomically
from .. import paths
from .catalog import Catalog, CatalogEntry, load_catalog
from .errors import AuthenticationRequiredError, HubError, RemoteFileChangedError
from .installed import InstalledModel, ModelLibrary, ModelRejectedError, inspect_model_file, model_name_for
from .remote import TOKEN_HINT, HubClient, RemoteFile

LICENCES_FILE = "licences_accepted.json"


class LicenceNotAcceptedError(HubError):
    """The catalog says the model's licence must be accepted before downloading, and it was not."""

    def __init__(self, message: str, *, label: str = "", licence_name: str = "", licence_url: str = "") -> None:
        super().__init__(message, label=label)
        self.licence_name = licence_name
        self.licence_url = licence_url


class ChooseFileError(HubError):
    """The repo holds several GGUF files (or none): say which one."""

    def __init__(self, message: str, *, label: str = "", files: tuple[str, ...] = ()) -> None:
        super().__init__(message, label=label)
        self.files = files


class UnverifiableFileError(HubError):
    """The hub publishes no sha256 for the file (kept in git, not LFS): it could not be verified."""


@dataclass(frozen=True)
class PullPlan:
    remote: RemoteFile
    entry: CatalogEntry | None       # the catalog's entry for this repo and file, if any
    name: str                        # the model's folder name once installed

    @property
    def label(self) -> str:
        return self.remote.label


# ---- licences ----


def _licences_path(config_dir) -> Path:
    return (Path(config_dir) if config_dir is not None else paths.config_dir()) / LICENCES_FILE


def licence_accepted(entry: CatalogEntry, config_dir: str | os.PathLike | None = None) -> bool:
    """Whether the entry needs no acceptance, or the user accepted its licence (name and link) before."""
    if entry.licence is None or not entry.licence.accept_before_download:
        return True
    try:
        accepted = json.loads(_licences_path(config_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(accepted, dict) and accepted.get(entry.id) == entry.licence.url


def accept_licence(entry: CatalogEntry, config_dir: str | os.PathLike | None = None) -> None:
    """Records that the user accepted the entry's licence (asked again if its link changes)."""
    if entry.licence is None:
        return
    path = _licences_path(config_dir)
    try:
        accepted = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(accepted, dict):
            accepted = {}
    except (OSError, ValueError):
        accepted = {}
    accepted[entry.id] = entry.licence.url
    write_json_atomically(path, accepted)


# ---- planning ----


def catalog_entry_for(name: str, file: str | None, catalog: Catalog) -> CatalogEntry | None:
    """The entry `models pull NAME [FILE]` means: a catalog id, repo/file, or a repo (+ file)."""
    if file is not None:
        return catalog.find_file(name, file)
    return catalog.find(name)


def plan_pull(name: str, file: str | None = None, revision: str | None = None, *, client: HubClient,
              catalog: Catalog | None = None) -> PullPlan:
    """Resolves what to download (see the module docstring, step 1). Network: the hub's metadata."""
    catalog = catalog if catalog is not None else load_catalog()
    entry = catalog_entry_for(name, file, catalog)
    if entry is not None:
        repo, file = entry.repo, entry.file
    else:
        repo = name
    if entry is not None and entry.engine == "no":
        raise ModelRejectedError(f"{entry.name} is not downloaded: {entry.engine_note}", label=entry.key,
                                 reason=entry.engine_note)
    if file is None:
        files = client.list_gguf_files(repo, revision)
        if len(files) != 1:
            names = tuple(f.file for f in files)
            if not names:
                raise ChooseFileError(f"{repo} holds no .gguf file", label=repo)
            raise ChooseFileError(f"{repo} holds {len(names)} GGUF files; name one: " + ", ".join(names),
                                  label=repo, files=names)
        file = files[0].file
        entry = entry or catalog.find_file(repo, file)
    remote = client.file_info(repo, file, revision)
    if remote.sha256 is None:
        raise UnverifiableFileError(f"{remote.label}: the hub publishes no sha256 for this file (it is not stored "
                                    "with Git LFS), so it could not be verified; it is not downloaded",
                                    label=remote.label)
    if entry is not None:
        if entry.sha256 is not None and entry.sha256 != remote.sha256:
            raise RemoteFileChangedError(
                f"{remote.label} on the hub (commit {remote.commit[:12]}) is not the file the catalog lists: sha256 "
                f"{remote.sha256[:16]}... instead of {entry.sha256[:16]}...; it is not downloaded (an update of "
                "the app will list the new file)", label=remote.label)
        if entry.size is not None and entry.size != remote.size:
            raise RemoteFileChangedError(
                f"{remote.label} on the hub is {remote.size:,} bytes, the catalog says {entry.size:,}: it changed "
                "upstream and is not downloaded", label=remote.label)
    name = entry.id if entry is not None else model_name_for(repo, file)
    return PullPlan(remote, entry, name)


def download_path(library: ModelLibrary, remote: RemoteFile) -> Path:
    """Where the bytes land (and a partial file waits for a resume): models/.downloads/<repo>--<file>."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{remote.repo.replace('/', '--')}--{remote.file}")
    return library.downloads_dir / safe


# ---- running ----


class Pull:
    """One pull: `run()` blocks (call it on a worker thread in the app); `pause()` and `cancel()` may be
    called from any thread (the partial file is kept on pause and deleted on cancel)."""

    def __init__(self, plan: PullPlan, library: ModelLibrary, client: HubClient, *,
                 on_progress: Callable[[object], None] | None = None, licence_accepted: bool = False,
                 stall_timeout: float = 30.0, download_options: dict | None = None):
        self.plan = plan
        self.library = library
        self.client = client
        self.on_progress = on_progress
        self.licence_accepted = licence_accepted
        self.stall_timeout = stall_timeout
        self.download_options = dict(download_options or {})
        self.already_installed = False
        self._download = None
        self._lock = threading.Lock()
        self._stopped: str | None = None

    def pause(self) -> None:
        self._stop("pause")

    def cancel(self) -> None:
        self._stop("cancel")

    def _stop(self, how: str) -> None:
        with self._lock:
            self._stopped = how
            download = self._download
        if download is not None:
            getattr(download, how)()

    def run(self) -> InstalledModel:
        from .downloader import Download, DownloadRequest

        plan, remote = self.plan, self.plan.remote
        entry = plan.entry
        if entry is not None and entry.licence is not None and entry.licence.accept_before_download \
                and not self.licence_accepted:
            raise LicenceNotAcceptedError(
                f"{entry.name} is under the {entry.licence.name} ({entry.licence.url}): read and accept it "
                "before downloading", label=plan.label, licence_name=entry.licence.name,
                licence_url=entry.licence.url)
        if remote.gated and not self.client.token:
            raise AuthenticationRequiredError(
                f"{remote.repo} is gated: sign in with a Hugging Face token ({TOKEN_HINT}), and accept its "
                f"terms at {remote.endpoint}/{remote.repo}", label=plan.label)
        existing = self.library.find_download(remote.repo, remote.file, remote.sha256)
        if existing is not None:
            self.already_installed = True
            return existing
        dest = download_path(self.library, remote)
        dest.parent.mkdir(parents=True, exist_ok=True)
        request = DownloadRequest(url=remote.url, dest=dest, expected_size=remote.size,
                                  expected_sha256=remote.sha256, headers=self.client.download_headers(),
                                  label=plan.label)
        download = Download(request, on_progress=self.on_progress, stall_timeout=self.stall_timeout,
                            **self.download_options)
        with self._lock:
            self._download = download
            stopped = self._stopped
        if stopped is not None:
            getattr(download, stopped)()
        path = download.run()
        try:
            facts = inspect_model_file(path)
        except ModelRejectedError as error:
            path.unlink(missing_ok=True)
            raise ModelRejectedError(f"{plan.label} was downloaded and verified, but {error.reason}; the file was "
                                     "deleted", label=plan.label, reason=error.reason) from None
        return self.library.install(path, plan.name, facts, how="download", source="hub", repo=remote.repo,
                                    commit=remote.commit, sha256=remote.sha256,
                                    catalog_id=entry.id if entry is not None else None,
                                    file_name=Path(remote.file).name)
