"""What the Hugging Face Hub says about a model file, through huggingface_hub: the commit a revision
points to, the file's size and LFS sha256 at that commit, its resolve URL, and a repo's GGUF files.
The bytes themselves move through our own downloader (downloader.py; docs/downloads.md#why-our-own-downloader). No Qt.

Conventions honoured, read when a HubClient is made (not when Python started, unlike
huggingface_hub's constants): $HF_ENDPOINT (another hub, or the test server), $HF_HUB_OFFLINE (no
request at all: OfflineModeError before any socket is opened), and the token from
`resolve_token` ($HF_TOKEN, the one the user stored, `hf auth login`'s).

Every failure is one of errors.py's HubErrors, written for the user: a gated or private repo without a
token asks for one, a licence not accepted says where to accept it, a repo, revision or file that does
not exist says which.

huggingface_hub's shared HTTP client has no timeout; HubClient gives it one (METADATA_TIMEOUT), so a
hub that stops answering fails a metadata call instead of hanging it. The setting is process-wide,
which is right in this app (nothing else uses huggingface_hub).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

from . import token_store
from .errors import (
    AccessDeniedError,
    AuthenticationRequiredError,
    HubError,
    NetworkError,
    OfflineModeError,
    RemoteNotFoundError,
    ServerError,
    UnexpectedResponseError,
)

DEFAULT_ENDPOINT = "https://huggingface.co"
METADATA_TIMEOUT = 30.0      # seconds per metadata request (connect 10 s)
GGUF_SUFFIX = ".gguf"
TOKEN_HINT = ("create a read token at https://huggingface.co/settings/tokens, then enter it in the app's "
              "Models panel, run `bitnet-desktop models login`, or set HF_TOKEN")

T = TypeVar("T")
_TRUE = ("1", "on", "yes", "true")   # huggingface_hub's reading of HF_HUB_OFFLINE


def hub_endpoint(endpoint: str | None = None) -> str:
    """`endpoint`, else $HF_ENDPOINT, else https://huggingface.co (no trailing slash)."""
    chosen = endpoint or os.environ.get("HF_ENDPOINT", "").strip() or DEFAULT_ENDPOINT
    return chosen.rstrip("/")


def offline_mode(offline: bool | None = None) -> bool:
    """`offline`, else whether $HF_HUB_OFFLINE (or $TRANSFORMERS_OFFLINE) is set to a true value."""
    if offline is not None:
        return offline
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return value.strip().lower() in _TRUE


def resolve_token(token: str | None = None, config_dir: str | os.PathLike | None = None,
                  use_hf_login: bool = True) -> tuple[str | None, str]:
    """(token, where it came from): `token`, else $HF_TOKEN (or $HUGGING_FACE_HUB_TOKEN), else the one
    stored with token_store, else the one `hf auth login` saved. (None, "none") when there is none."""
    if token:
        return token.strip(), "given"
    env = (os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN") or "").strip()
    if env:
        return env, "HF_TOKEN"
    stored = token_store.load_token(config_dir)
    if stored:
        return stored, "stored"
    if use_hf_login:
        try:
            from huggingface_hub import get_token

            saved = get_token()
        except Exception:  # noqa: BLE001 - an unreadable login (or a failed OIDC exchange) is no token
            saved = None
        if saved:
            return saved, "hf login"
    return None, "none"


@dataclass(frozen=True)
class RemoteFile:
    """One file of a repo at a pinned commit."""
    repo: str
    file: str
    commit: str              # 40-hex commit sha the revision resolved to
    size: int
    sha256: str | None       # LFS sha256 (None for a small file kept in git itself)
    url: str                 # resolve URL at the commit
    endpoint: str
    gated: bool

    @property
    def label(self) -> str:
        return f"{self.repo}/{self.file}"


def _ensure_timeouts() -> None:
    """huggingface_hub's shared client waits forever by default; give it METADATA_TIMEOUT (checked on
    every use: close_session() makes a fresh client without one)."""
    import httpx2
    from huggingface_hub import get_session

    session = get_session()
    if session.timeout.read is None:
        session.timeout = httpx2.Timeout(METADATA_TIMEOUT, connect=10.0)


class HubClient:
    """Metadata from one hub (endpoint) with one token. Cheap to make; not shared between threads
    that change its token."""

    def __init__(self, endpoint: str | None = None, token: str | None = None, offline: bool | None = None,
                 config_dir: str | os.PathLike | None = None, use_hf_login: bool = True):
        self.endpoint = hub_endpoint(endpoint)
        self.offline = offline_mode(offline)
        self.token, self.token_source = resolve_token(token, config_dir, use_hf_login)

    # ---- requests ----

    def _api(self):
        from huggingface_hub import HfApi

        _ensure_timeouts()
        return HfApi(endpoint=self.endpoint, token=self.token or False, library_name="bitnet-desktop")

    def _call(self, what: str, repo: str, fn: Callable[[Any], T], file: str | None = None) -> T:
        if self.offline:
            raise OfflineModeError(f"cannot {what}: offline mode is on (HF_HUB_OFFLINE is set); "
                                   "installed models still work", label=repo if file is None else f"{repo}/{file}")
        try:
            return fn(self._api())
        except HubError:
            raise
        except Exception as error:  # noqa: BLE001 - every library error becomes a HubError below
            raise self._translate(error, what, repo, file) from error

    def _translate(self, error: Exception, what: str, repo: str, file: str | None) -> HubError:
        import httpx2
        from huggingface_hub import errors as hf

        label = repo if file is None else f"{repo}/{file}"
        page = f"{self.endpoint}/{repo}"
        status = getattr(getattr(error, "response", None), "status_code", None)
        if isinstance(error, hf.OfflineModeIsEnabled):
            return OfflineModeError(f"cannot {what}: offline mode is on (HF_HUB_OFFLINE)", label=label)
        if isinstance(error, hf.GatedRepoError):
            if status == 403 or self.token:
                return AccessDeniedError(
                    f"{repo} is gated and this token has no access yet: open {page}, accept its licence "
                    "(or ask for access) with the same account, then try again", label=label, repo_url=page)
            return AuthenticationRequiredError(f"{repo} is gated: sign in with a Hugging Face token "
                                               f"({TOKEN_HINT}), and accept its licence at {page}", label=label)
        if isinstance(error, hf.RevisionNotFoundError):
            return RemoteNotFoundError(f"{repo} has no revision like that: {_first_line(error)}", label=label)
        if isinstance(error, hf.RemoteEntryNotFoundError):
            return RemoteNotFoundError(f"{repo} has no file {file!r}", label=label)
        if isinstance(error, hf.RepositoryNotFoundError):
            if status == 401 and not self.token:
                return AuthenticationRequiredError(
                    f"{repo} was not found, or it is private or gated: if it exists, sign in with a token that "
                    f"can read it ({TOKEN_HINT})", label=label)
            if status == 401:
                return AuthenticationRequiredError(
                    f"{repo} was not found with the token from {self.token_source}: check the repo id, or use a "
                    f"token that can read it ({TOKEN_HINT})", label=label)
            return RemoteNotFoundError(f"{repo} does not exist on {self.endpoint} (check the repo id)", label=label)
        if isinstance(error, hf.HfHubHTTPError):
            if status == 401:
                return AuthenticationRequiredError(f"{self.endpoint} refused the token ({self.token_source}): "
                                                   f"{TOKEN_HINT}", label=label)
            if status == 403:
                return AccessDeniedError(f"{self.endpoint} denied access to {repo}: open {page} and accept its "
                                         "licence or ask for access", label=label, repo_url=page)
            if status == 404:
                return RemoteNotFoundError(f"{label} was not found on {self.endpoint}", label=label)
            if status is not None and (status >= 500 or status == 429):
                return ServerError(f"{self.endpoint} answered {status} while trying to {what}; try again later",
                                   label=label, status=status)
            return UnexpectedResponseError(f"{self.endpoint} answered {status} while trying to {what}",
                                           label=label, status=status or 0)
        if isinstance(error, httpx2.TimeoutException):
            return NetworkError(f"cannot {what}: {self.endpoint} did not answer within {METADATA_TIMEOUT:g} s; "
                                "check the network connection and try again", label=label)
        if isinstance(error, (httpx2.TransportError, OSError)):
            reason = _first_line(error) or type(error).__name__
            return NetworkError(f"cannot {what}: {self.endpoint} cannot be reached ({reason}); check the network "
                                "connection", label=label)
        if isinstance(error, (ValueError, KeyError, TypeError)):
            return UnexpectedResponseError(f"{self.endpoint} sent an answer that cannot be read while trying to "
                                           f"{what} ({_first_line(error)})", label=label)
        return HubError(f"cannot {what}: {_first_line(error) or type(error).__name__}", label=label)

    # ---- what callers use ----

    def repo_commit(self, repo: str, revision: str | None = None, file: str | None = None) -> tuple[str, bool]:
        """(the commit sha `revision` (default: main) points to, whether the repo is gated); `file` only
        names what was asked for in an error."""
        info = self._call(f"read {repo}'s metadata", repo,
                          lambda api: api.model_info(repo, revision=revision, timeout=METADATA_TIMEOUT), file)
        if not isinstance(info.sha, str) or not info.sha:
            raise UnexpectedResponseError(f"{self.endpoint} did not say which commit {repo} is at", label=repo)
        return info.sha, bool(info.gated)

    def file_info(self, repo: str, file: str, revision: str | None = None) -> RemoteFile:
        """The file at the commit `revision` resolves to: size, LFS sha256 and the resolve URL pinned to
        that commit (so a push to the repo mid-download cannot mix two versions)."""
        from huggingface_hub import hf_hub_url
        from huggingface_hub.hf_api import RepoFile

        commit, gated = self.repo_commit(repo, revision, file)
        infos = self._call(f"read {repo}/{file}'s size and checksum", repo,
                           lambda api: api.get_paths_info(repo, [file], revision=commit), file)
        entry = next((i for i in infos if isinstance(i, RepoFile) and i.path == file), None)
        if entry is None:
            raise RemoteNotFoundError(f"{repo} has no file {file!r} at commit {commit[:12]}", label=f"{repo}/{file}")
        url = hf_hub_url(repo, file, revision=commit, endpoint=self.endpoint)
        return RemoteFile(repo=repo, file=file, commit=commit, size=int(entry.size),
                          sha256=entry.lfs.sha256 if entry.lfs is not None else None, url=url,
                          endpoint=self.endpoint, gated=gated)

    def list_gguf_files(self, repo: str, revision: str | None = None) -> list[RemoteFile]:
        """Every .gguf file of the repo at the revision's commit, by path."""
        from huggingface_hub import hf_hub_url
        from huggingface_hub.hf_api import RepoFile

        commit, gated = self.repo_commit(repo, revision)
        tree = self._call(f"list {repo}'s files", repo,
                          lambda api: list(api.list_repo_tree(repo, recursive=True, revision=commit)))
        return [RemoteFile(repo=repo, file=e.path, commit=commit, size=int(e.size),
                           sha256=e.lfs.sha256 if e.lfs is not None else None,
                           url=hf_hub_url(repo, e.path, revision=commit, endpoint=self.endpoint),
                           endpoint=self.endpoint, gated=gated)
                for e in sorted((e for e in tree if isinstance(e, RepoFile)), key=lambda e: e.path)
                if e.path.lower().endswith(GGUF_SUFFIX)]

    def download_headers(self) -> dict[str, str]:
        """What the downloader sends to the hub (never to the CDN it redirects to)."""
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else ""
