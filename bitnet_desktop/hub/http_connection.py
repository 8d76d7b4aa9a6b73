"""HTTP pieces of the downloader on top of the standard library's http.client: a connection for a URL (through
the environment's proxy where one is set, never for loopback), the trust store, and reading the headers the
hub and its CDN send."""
from __future__ import annotations

import errno
import http.client
import socket
import ssl
import urllib.request
from base64 import b64encode
from functools import lru_cache
from urllib.parse import unquote, urlsplit

CONNECT_TIMEOUT = 15.0


class NotDownloadableURL(ValueError):
    """The URL is not http(s) or has no host."""


def connection_for(url: str, timeout: float) -> tuple[http.client.HTTPConnection, str]:
    """A connection for `url` (through the environment's proxy, if any) and the request target."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NotDownloadableURL(f"not a download address: {url}")
    host = parts.hostname
    port = parts.port or (443 if parts.scheme == "https" else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connect_timeout = min(CONNECT_TIMEOUT, max(timeout, 1.0))
    proxy = _proxy_for(parts.scheme, host)
    if proxy is None:
        if parts.scheme == "https":
            return http.client.HTTPSConnection(host, port, timeout=connect_timeout, context=_ssl_context()), target
        return http.client.HTTPConnection(host, port, timeout=connect_timeout), target
    p = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    proxy_headers = {}
    if p.username:
        creds = f"{unquote(p.username)}:{unquote(p.password or '')}".encode()
        proxy_headers["Proxy-Authorization"] = "Basic " + b64encode(creds).decode()
    proxy_port = p.port or 8080
    if parts.scheme == "https":   # CONNECT tunnel: the proxy sees neither the path nor the token
        conn = http.client.HTTPSConnection(p.hostname, proxy_port, timeout=connect_timeout, context=_ssl_context())
        conn.set_tunnel(host, port, headers=proxy_headers)
        return conn, target
    return _AbsoluteFormConnection(p.hostname, proxy_port, proxy_headers, timeout=connect_timeout), url


class _AbsoluteFormConnection(http.client.HTTPConnection):
    """Plain-HTTP proxying: the request line carries the whole URL, plus the proxy's credentials."""

    def __init__(self, host: str, port: int, proxy_headers: dict[str, str], *, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._proxy_headers = proxy_headers

    def request(self, method, url, body=None, headers={}, **kw):  # noqa: B006 - mirrors the base signature
        super().request(method, url, body, {**headers, **self._proxy_headers}, **kw)


def _proxy_for(scheme: str, host: str) -> str | None:
    if host in ("localhost", "127.0.0.1", "::1") or host.startswith("127."):
        return None
    proxy = urllib.request.getproxies().get(scheme)
    if not proxy or urllib.request.proxy_bypass(host):
        return None
    return proxy


@lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    """The OS trust store where truststore is installed (it comes with huggingface_hub 2.x), else Python's."""
    try:
        import truststore
        return truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    except ImportError:
        return ssl.create_default_context()


def network_reason(exc: BaseException, url: str) -> str:
    host = urlsplit(url).hostname
    if isinstance(exc, socket.gaierror):
        return f"{host} could not be found (no network, or DNS failed)"
    if isinstance(exc, ConnectionRefusedError):
        return f"{host} refused the connection"
    if isinstance(exc, socket.timeout):
        return f"{host} did not answer"
    if isinstance(exc, (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)):
        return "the connection dropped"
    if isinstance(exc, OSError) and exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN):
        return f"the network is unreachable ({host})"
    return f"the connection to {host} failed ({exc})"


def origin(url: str) -> tuple[str, str, int]:
    p = urlsplit(url)
    return p.scheme, (p.hostname or "").lower(), p.port or (443 if p.scheme == "https" else 80)


def repo_url(url: str) -> str:
    """https://huggingface.co/org/repo from its resolve URL (the page where a licence is accepted)."""
    p = urlsplit(url)
    repo = p.path.split("/resolve/", 1)[0] if "/resolve/" in p.path else ""
    return f"{p.scheme}://{p.netloc}{repo}"


def normal_etag(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip()
    if value.startswith("W/"):
        value = value[2:]
    return value.strip('"') or None


def is_sha256(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value.lower())


def int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def parse_content_range(value: str | None) -> tuple[int | None, int | None]:
    """'bytes 100-199/1000' -> (100, 1000); total None for '*'."""
    try:
        unit, spec = value.split(" ", 1)
        span, total = spec.split("/", 1)
        start = int(span.split("-", 1)[0])
        return start, (None if total.strip() == "*" else int(total))
    except (AttributeError, ValueError):
        return None, None
