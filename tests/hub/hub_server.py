"""A Hugging Face Hub look-alike for tests: real HTTP on 127.0.0.1, no internet.

Two stdlib `ThreadingHTTPServer`s on ephemeral ports:

- the **hub** (`server.endpoint`, give it to `HfApi(endpoint=...)` or `HF_ENDPOINT`) answers what
  huggingface_hub 2.x calls: `GET /api/models/{repo}` and `/api/models/{repo}/revision/{rev}` (`sha`,
  `siblings`; with `?blobs=true` each sibling has `size`, `blobId` and `lfs`), `POST
  /api/models/{repo}/paths-info/{rev}` (form or JSON `paths`), `GET /api/models/{repo}/tree/{rev}[/{path}]`,
  `GET /api/whoami-v2`, and `HEAD`/`GET /{repo}/resolve/{rev}/{filename}`. A resolve of an LFS file is a
  302 to the CDN carrying `ETag`, `X-Repo-Commit`, `X-Linked-Size` and `X-Linked-Etag` (the sha256), as the
  real hub does; a non-LFS file is served by the hub itself with its git blob id as ETag.
- the **CDN** (another port, so another origin: a client must not send it the hub's Authorization header)
  serves blobs by sha256 with `Range` (206 + `Content-Range`, 416 + `Content-Range: bytes */N`).

Errors carry the hub's `X-Error-Code` (`RepoNotFound`, `RevisionNotFound`, `EntryNotFound`, `GatedRepo`) so
huggingface_hub raises its own typed errors. A gated repo's metadata is public and its files need
`Authorization: Bearer <token>` (401 without one, 403 with another); a private repo is 401 everywhere
without its token.

Faults are set per test on `server.faults` (see `Faults`); every request is recorded in `server.requests`
(`Recorded(server, method, path, headers)`, header names lower-case). `close()` stops both servers, wakes
every stalled or throttled response and closes every connection; nothing ever listens beyond 127.0.0.1.

    with HubServer() as hub:
        commit = hub.add_repo("org/model", {"model.gguf": data})
        url = hub.resolve_url("org/model", "model.gguf")
"""
from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import parse_qs, quote, unquote, urlsplit

HOST = "127.0.0.1"
_CHUNK = 64 * 1024


@dataclass
class Faults:
    """What the servers do wrong, set by a test. Counters (`*_times`) count down per affected response;
    None means every time. Byte counts are within one response body."""

    # Answer `status` instead of the real response on `status_where`: "resolve" (the hub's /resolve/),
    # "cdn" (blob GET/HEAD), "api" (every /api/ call) or "any".
    status: int | None = None
    status_where: str = "cdn"
    status_times: int | None = None
    # CDN: close the connection abruptly after this many body bytes.
    drop_after: int | None = None
    drop_times: int | None = 1
    on_drop: Callable[[], None] | None = None   # called after a drop, before the client can retry
    # CDN: send this many body bytes, then send nothing for `stall_seconds` (bounded; `close()` ends it)
    # and close.
    stall_after: int | None = None
    stall_seconds: float = 5.0
    stall_times: int | None = 1
    # CDN: the byte at this absolute file offset is served flipped (every response).
    corrupt_offset: int | None = None
    # CDN: answer every Range request with 200 and the whole body.
    ignore_range: bool = False
    # CDN: send at most this many body bytes per second.
    rate: float | None = None


@dataclass(frozen=True)
class Recorded:
    server: str              # "hub" or "cdn"
    method: str
    path: str                # as sent, query included
    headers: dict[str, str]  # lower-case names

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class _Commit:
    sha: str
    files: dict[str, bytes]
    date: str


@dataclass
class _Repo:
    repo_id: str
    commits: list[_Commit] = field(default_factory=list)  # newest last; "main" is the newest
    gated: bool = False
    private: bool = False
    token: str | None = None
    lfs_min_size: int = 0   # files at least this big are LFS (0: every file)


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def lfs_pointer(data: bytes) -> bytes:
    return (b"version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n"
            % (hashlib.sha256(data).hexdigest().encode(), len(data)))


class HubServer:
    def __init__(self) -> None:
        self.faults = Faults()
        self.requests: list[Recorded] = []
        self._repos: dict[str, _Repo] = {}
        self._blobs: dict[str, bytes] = {}     # sha256 -> bytes, what the CDN serves
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._connections: set[socket.socket] = set()
        self._hub = _Server((HOST, 0), _HubHandler, self, "hub")
        self._cdn = _Server((HOST, 0), _CdnHandler, self, "cdn")
        self._threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.05},
                                          name=f"test-{s.name}", daemon=True) for s in (self._hub, self._cdn)]
        for t in self._threads:
            t.start()

    # ---- set-up -------------------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self._hub.server_address[1]}"

    @property
    def cdn_endpoint(self) -> str:
        return f"http://{HOST}:{self._cdn.server_address[1]}"

    def add_repo(self, repo_id: str, files: dict[str, bytes], *, gated: bool = False, private: bool = False,
                 token: str | None = None, lfs_min_size: int = 0) -> str:
        """Create (or replace) a repo with one commit; returns the commit sha."""
        repo = _Repo(repo_id, gated=gated, private=private, token=token, lfs_min_size=lfs_min_size)
        with self._lock:
            self._repos[repo_id] = repo
        return self.commit(repo_id, files)

    def commit(self, repo_id: str, files: dict[str, bytes]) -> str:
        """A new commit on main replacing the named files (others stay); returns its sha."""
        with self._lock:
            repo = self._repos[repo_id]
            merged = dict(repo.commits[-1].files) if repo.commits else {}
            merged.update(files)
            sha = hashlib.sha1(os.urandom(16)).hexdigest()
            date = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
            repo.commits.append(_Commit(sha, merged, date))
            for data in merged.values():
                self._blobs[hashlib.sha256(data).hexdigest()] = data
        return sha

    def set_file(self, repo_id: str, filename: str, data: bytes) -> str:
        """The file changes on main (a new commit): a new ETag and a new CDN location."""
        return self.commit(repo_id, {filename: data})

    def resolve_url(self, repo_id: str, filename: str, revision: str = "main") -> str:
        return f"{self.endpoint}/{repo_id}/resolve/{quote(revision, safe='')}/{quote(filename)}"

    def requests_to(self, server: str | None = None, method: str | None = None) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests
                    if (server is None or r.server == server) and (method is None or r.method == method)]

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    # ---- lifetime -----------------------------------------------------------------------------
    def close(self) -> None:
        self._stop.set()
        for s in (self._hub, self._cdn):
            s.shutdown()
        with self._lock:
            connections = list(self._connections)
        for c in connections:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for s in (self._hub, self._cdn):
            s.server_close()   # joins the handler threads (block_on_close)
        for t in self._threads:
            t.join(timeout=10)

    def __enter__(self) -> HubServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- used by the handlers -----------------------------------------------------------------
    def _record(self, server: str, handler: BaseHTTPRequestHandler) -> None:
        rec = Recorded(server, handler.command, handler.path, {k.lower(): v for k, v in handler.headers.items()})
        with self._lock:
            self.requests.append(rec)

    def _take(self, counter: str) -> bool:
        """Whether a fault limited by `faults.<counter>` applies now; counts it down."""
        with self._lock:
            left = getattr(self.faults, counter)
            if left is None:
                return True
            if left <= 0:
                return False
            setattr(self.faults, counter, left - 1)
            return True

    def _status_fault(self, where: str) -> int | None:
        f = self.faults
        if f.status is None or f.status_where not in (where, "any"):
            return None
        return f.status if self._take("status_times") else None

    def _wait(self, seconds: float) -> bool:
        """Sleep, waking early at close(); True when closing."""
        return self._stop.wait(seconds)


class _Server(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True

    def __init__(self, address, handler, hub: HubServer, name: str) -> None:
        self.hub = hub
        self.name = name
        super().__init__(address, handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind asks getfqdn(), which can wait on DNS; the name is not needed.
        import socketserver
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format, *args) -> None:  # noqa: A002 - quiet; the test reads server.requests
        pass

    def setup(self) -> None:
        super().setup()
        with self.server.hub._lock:
            self.server.hub._connections.add(self.connection)

    def finish(self) -> None:
        with self.server.hub._lock:
            self.server.hub._connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (ConnectionError, socket.timeout, OSError):
            self.close_connection = True

    # ---- small helpers ------------------------------------------------------------------------
    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None,
              content_type: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def _json(self, obj, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(obj).encode(), headers, "application/json")

    def _error(self, status: int, code: str | None = None, message: str = "") -> None:
        headers = {}
        if code:
            headers["X-Error-Code"] = code
        if message:
            headers["X-Error-Message"] = message
        self._json({"error": message or code or str(status)}, status, headers)

    def _drain_body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _drop(self) -> None:
        self.wfile.flush()
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.close_connection = True

    def _serve_bytes(self, data: bytes, etag: str, extra: dict[str, str], *, faulty: bool) -> None:
        """200 or 206 with Range; faults only where `faulty` (the CDN)."""
        hub = self.server.hub
        f = hub.faults
        size = len(data)
        start, end = 0, size - 1
        status = 200
        rng = self.headers.get("Range")
        if rng and not (faulty and f.ignore_range):
            parsed = _parse_range(rng, size)
            if parsed is None:
                self._send(416, b"", {"Content-Range": f"bytes */{size}", **extra})
                return
            start, end = parsed
            status = 206
        headers = {"ETag": etag, "Accept-Ranges": "bytes", **extra}
        if status == 206:
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(end - start + 1))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command == "HEAD":
            return
        body = bytearray(data[start:end + 1])
        if faulty and f.corrupt_offset is not None and start <= f.corrupt_offset <= end:
            body[f.corrupt_offset - start] ^= 0xFF
        drop_at = f.drop_after if faulty and f.drop_after is not None and hub._take("drop_times") else None
        stall_at = f.stall_after if faulty and f.stall_after is not None and hub._take("stall_times") else None
        rate = f.rate if faulty else None
        sent = 0
        t0 = time.monotonic()
        while sent < len(body):
            limit = len(body)
            for mark in (drop_at, stall_at):
                if mark is not None and mark >= sent:
                    limit = min(limit, mark)
            piece = min(_CHUNK, limit - sent)
            if rate:
                piece = max(1, min(piece, int(rate / 20)))
            if piece > 0:
                self.wfile.write(body[sent:sent + piece])
                sent += piece
            if drop_at is not None and sent >= drop_at:
                self._drop()
                if f.on_drop is not None:
                    f.on_drop()
                return
            if stall_at is not None and sent >= stall_at:
                self.wfile.flush()
                hub._wait(f.stall_seconds)
                self._drop()
                return
            if rate:
                ahead = sent / rate - (time.monotonic() - t0)
                if ahead > 0 and hub._wait(ahead):
                    self._drop()
                    return
            if hub._stop.is_set():
                self._drop()
                return


def _parse_range(value: str, size: int) -> tuple[int, int] | None:
    """`bytes=a-b`, `bytes=a-` or `bytes=-n` (one range) -> inclusive (start, end); None if unsatisfiable."""
    try:
        unit, spec = value.split("=", 1)
        if unit.strip() != "bytes" or "," in spec:
            return None
        a, b = spec.strip().split("-", 1)
        if a == "":
            n = int(b)
            return (max(0, size - n), size - 1) if n > 0 and size > 0 else None
        start = int(a)
        end = int(b) if b else size - 1
    except ValueError:
        return None
    if start >= size or end < start:
        return None
    return start, min(end, size - 1)


class _HubHandler(_Handler):
    def do_GET(self) -> None:
        self._route()

    def do_HEAD(self) -> None:
        self._route()

    def do_POST(self) -> None:
        self._route()

    def _route(self) -> None:
        hub = self.server.hub
        hub._record("hub", self)
        body = self._drain_body() if self.command == "POST" else b""
        url = urlsplit(self.path)
        path = url.path
        query = parse_qs(url.query)
        is_api = path.startswith("/api/")
        if is_api:
            status = hub._status_fault("api")
            if status is not None:
                self._error(status, message=f"injected {status}")
                return
        if path == "/api/whoami-v2":
            return self._whoami()
        if path.startswith("/api/models/"):
            return self._api(path[len("/api/models/"):], query, body)
        if "/resolve/" in path:
            status = hub._status_fault("resolve")
            if status is not None:
                self._error(status, message=f"injected {status}")
                return
            return self._resolve(path)
        self._error(404, message="not a hub route")

    # ---- access -------------------------------------------------------------------------------
    def _token(self) -> str | None:
        auth = self.headers.get("Authorization") or ""
        return auth[len("Bearer "):] if auth.startswith("Bearer ") else None

    def _repo(self, repo_id: str, *, files: bool) -> _Repo | None:
        """The repo if this request may see it (its files too when `files`); else answers the error."""
        hub = self.server.hub
        with hub._lock:
            repo = hub._repos.get(repo_id)
        token = self._token()
        if repo is None or (repo.private and token != repo.token):
            self._error(401 if repo is not None or token is None else 404, "RepoNotFound",
                        "Repository not found")
            return None
        if files and repo.gated and token != repo.token:
            if token is None:
                self._error(401, "GatedRepo", f"Access to model {repo_id} is restricted. You must have access "
                            "to it and be authenticated to access it. Please log in.")
            else:
                self._error(403, "GatedRepo", f"Access to model {repo_id} is restricted and you are not in "
                            "the authorized list. Visit https://huggingface.co/" + repo_id + " to ask for access.")
            return None
        return repo

    def _commit(self, repo: _Repo, revision: str) -> _Commit | None:
        revision = unquote(revision)
        if revision == "main":
            return repo.commits[-1]
        for c in repo.commits:
            if c.sha == revision or (len(revision) >= 7 and c.sha.startswith(revision)):
                return c
        self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        return None

    # ---- /api ---------------------------------------------------------------------------------
    def _whoami(self) -> None:
        hub = self.server.hub
        token = self._token()
        with hub._lock:
            known = {r.token for r in hub._repos.values() if r.token}
        if token is None or token not in known:
            self._error(401, message="Invalid credentials in Authorization header")
            return
        self._json({"type": "user", "name": "test-user", "fullname": "Test User",
                    "auth": {"type": "access_token", "accessToken": {"role": "read"}}})

    def _api(self, rest: str, query: dict, body: bytes) -> None:
        parts = rest.split("/")
        if len(parts) < 2:
            self._error(404, "RepoNotFound", "Repository not found")
            return
        repo_id, tail = "/".join(parts[:2]), parts[2:]
        repo = self._repo(repo_id, files=False)
        if repo is None:
            return
        if not tail:
            return self._model_info(repo, repo.commits[-1], query)
        if tail[0] == "revision" and len(tail) == 2:
            commit = self._commit(repo, tail[1])
            return None if commit is None else self._model_info(repo, commit, query)
        if tail[0] == "paths-info" and len(tail) == 2 and self.command == "POST":
            commit = self._commit(repo, tail[1])
            return None if commit is None else self._paths_info(repo, commit, body)
        if tail[0] == "tree" and len(tail) >= 2:
            commit = self._commit(repo, tail[1])
            sub = unquote("/".join(tail[2:])).strip("/")
            return None if commit is None else self._tree(repo, commit, sub, query)
        self._error(404, message="not an api route")

    def _file_entry(self, repo: _Repo, name: str, data: bytes) -> dict:
        entry = {"type": "file", "path": name, "size": len(data), "oid": git_blob_sha1(data)}
        if len(data) >= repo.lfs_min_size:
            pointer = lfs_pointer(data)
            entry["oid"] = git_blob_sha1(pointer)
            entry["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data),
                            "pointerSize": len(pointer)}
        return entry

    def _model_info(self, repo: _Repo, commit: _Commit, query: dict) -> None:
        blobs = query.get("blobs", ["false"])[0].lower() == "true"
        siblings = []
        for name, data in sorted(commit.files.items()):
            sib: dict = {"rfilename": name}
            if blobs:
                e = self._file_entry(repo, name, data)
                sib.update(size=e["size"], blobId=e["oid"])
                if "lfs" in e:
                    sib["lfs"] = {"sha256": e["lfs"]["oid"], "size": e["lfs"]["size"],
                                  "pointerSize": e["lfs"]["pointerSize"]}
            siblings.append(sib)
        self._json({
            "_id": hashlib.md5(repo.repo_id.encode()).hexdigest()[:24], "id": repo.repo_id,
            "modelId": repo.repo_id, "author": repo.repo_id.split("/")[0], "sha": commit.sha,
            "lastModified": commit.date, "createdAt": repo.commits[0].date, "private": repo.private,
            "gated": "manual" if repo.gated else False, "disabled": False, "downloads": 0, "likes": 0,
            "library_name": "gguf", "tags": ["gguf"], "siblings": siblings,
            "usedStorage": sum(len(d) for d in commit.files.values()),
        })

    def _paths_info(self, repo: _Repo, commit: _Commit, body: bytes) -> None:
        ctype = self.headers.get("Content-Type") or ""
        if "json" in ctype:
            paths = json.loads(body or b"{}").get("paths", [])
        else:
            paths = parse_qs(body.decode()).get("paths", [])
        out = []
        for p in paths:
            p = p.strip("/")
            if p in commit.files:
                out.append(self._file_entry(repo, p, commit.files[p]))
            elif any(name.startswith(p + "/") for name in commit.files):
                out.append({"type": "directory", "path": p, "oid": hashlib.sha1(p.encode()).hexdigest()})
        self._json(out)

    def _tree(self, repo: _Repo, commit: _Commit, sub: str, query: dict) -> None:
        recursive = query.get("recursive", ["false"])[0].lower() == "true"
        prefix = sub + "/" if sub else ""
        files, dirs = [], set()
        for name, data in sorted(commit.files.items()):
            if not name.startswith(prefix):
                continue
            rel = name[len(prefix):]
            if "/" in rel:
                parts = rel.split("/")
                for i in range(1, len(parts) if recursive else 2):
                    dirs.add(prefix + "/".join(parts[:i]))
                if not recursive:
                    continue
            files.append(self._file_entry(repo, name, data))
        if sub and not files and not dirs:
            self._error(404, "EntryNotFound", f"{sub} does not exist on {commit.sha}")
            return
        out = [{"type": "directory", "path": d, "oid": hashlib.sha1(d.encode()).hexdigest()}
               for d in sorted(dirs)]
        self._json(out + files)

    # ---- /{repo}/resolve/{rev}/{file} ----------------------------------------------------------
    def _resolve(self, path: str) -> None:
        hub = self.server.hub
        repo_part, _, rest = path.lstrip("/").partition("/resolve/")
        revision, _, filename = rest.partition("/")
        repo = self._repo(unquote(repo_part), files=True)
        if repo is None:
            return
        commit = self._commit(repo, revision)
        if commit is None:
            return
        filename = unquote(filename)
        data = commit.files.get(filename)
        if data is None:
            self._error(404, "EntryNotFound", f"{filename} does not exist on {commit.sha}")
            return
        entry = self._file_entry(repo, filename, data)
        headers = {"X-Repo-Commit": commit.sha}
        if "lfs" in entry:
            sha256 = entry["lfs"]["oid"]
            location = f"{hub.cdn_endpoint}/repos/{quote(repo.repo_id, safe='')}/{sha256}?name={quote(filename)}"
            headers.update({"Location": location, "ETag": f'"{sha256}"', "X-Linked-Size": str(len(data)),
                            "X-Linked-Etag": f'"{sha256}"'})
            self._send(302, f"Found. Redirecting to {location}".encode(), headers)
            return
        self._serve_bytes(data, f'"{entry["oid"]}"', headers, faulty=False)


class _CdnHandler(_Handler):
    def do_GET(self) -> None:
        self._blob()

    def do_HEAD(self) -> None:
        self._blob()

    def _blob(self) -> None:
        hub = self.server.hub
        hub._record("cdn", self)
        status = hub._status_fault("cdn")
        if status is not None:
            self._send(status, f"injected {status}".encode())
            return
        sha256 = urlsplit(self.path).path.rsplit("/", 1)[-1]
        with hub._lock:
            data = hub._blobs.get(sha256)
        if data is None:
            self._send(404, b"NoSuchKey")
            return
        self._serve_bytes(data, f'"{sha256}"', {}, faulty=True)
