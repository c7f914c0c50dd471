"""A schedule published at a URL, fetched with a conditional request, a time-out and a size cap.

pretalx, frab, Sessionize and calendar services all answer `ETag` / `Last-Modified`; asking
with `If-None-Match` / `If-Modified-Since` makes a poll that finds nothing new one small 304,
with no parsing and no re-planning behind it.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import os
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import aiohttp

# The biggest schedule a source may send: a four-day congress's schedule.json is about 2 MB.
MAX_BYTES = 20 * 1024 * 1024
TIMEOUT_SECONDS = 30.0
USER_AGENT = "summit-bot (schedule poller)"
# Plain http:// only on this machine (tests, a local export); elsewhere a schedule's links
# and times must not be rewritten on the way.
_LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class FetchError(Exception):
    """A source that could not be read; `reason` says why, in words an organizer can act on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def is_url(location: str) -> bool:
    """Whether a `--schedule` / `schedule:` value names a URL rather than a file."""
    return location.startswith(("https://", "http://"))


def shown_url(url: str) -> str:
    """The URL as logs and messages show it: without a query or credentials, which may
    hold an access token (Sessionize and calendar feeds put one in the path's query)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    query = "…" if parts.query else ""
    return urlunsplit((parts.scheme, host, parts.path, query, ""))


def check_url(url: str) -> str | None:
    """What is wrong with `url` as a schedule source, or None."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return f"{shown_url(url)} is not a web address; write https://host/path/schedule.json"
    if parts.scheme == "http" and parts.hostname not in _LOCAL_HOSTS:
        return (
            f"{shown_url(url)} is plain http; a schedule is fetched over https only "
            f"(https://{parts.hostname}{parts.path})"
        )
    return None


def _trusted() -> ssl.SSLContext:
    # Built per fetch, not at import: SSL_CERT_FILE (a private CA, a test's) is read when
    # the context loads the default paths, and may be set after this module was imported.
    cafile = os.environ.get("SSL_CERT_FILE")
    return _context(cafile)


@functools.cache
def _context(cafile: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if cafile:
        context.load_verify_locations(cafile)
    return context


@dataclass(frozen=True)
class Fetched:
    """One answer from the source: new content, or `unchanged` (304)."""

    body: bytes | None  # None: unchanged since the validators given
    etag: str | None
    last_modified: str | None

    @property
    def unchanged(self) -> bool:
        """Whether the source said 304 Not Modified."""
        return self.body is None

    @property
    def digest(self) -> str:
        """The content's sha-256, to tell a new body from one served again with a new ETag."""
        return hashlib.sha256(self.body or b"").hexdigest()


@dataclass
class UrlFetcher:
    """Fetches one URL, remembering its validators so that the next fetch is conditional."""

    url: str
    timeout: float = TIMEOUT_SECONDS
    max_bytes: int = MAX_BYTES
    # None: the system's trusted authorities, or those of the file SSL_CERT_FILE names.
    ssl_context: ssl.SSLContext | None = None
    etag: str | None = None
    last_modified: str | None = None
    digest: str | None = None  # sha-256 of the last content read
    requests: int = 0  # how many requests were made, for the benchmark and tests

    async def fetch(self, *, conditional: bool = True) -> Fetched:
        """GET the URL; a 304 comes back as `unchanged`; any failure raises FetchError."""
        problem = check_url(self.url)
        if problem:
            raise FetchError(problem)
        headers = {"User-Agent": USER_AGENT, "Accept": "*/*"}
        if conditional and self.etag:
            headers["If-None-Match"] = self.etag
        if conditional and self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        where = shown_url(self.url)
        self.requests += 1
        try:
            timeout = aiohttp.ClientTimeout(total=self.timeout)
            async with (
                aiohttp.ClientSession(timeout=timeout, trust_env=True) as session,
                session.get(
                    self.url,
                    headers=headers,
                    ssl=self.ssl_context or _trusted(),
                    allow_redirects=True,
                ) as response,
            ):
                if response.status == 304:
                    return Fetched(None, self.etag, self.last_modified)
                if response.status != 200:
                    raise FetchError(f"{where} answered HTTP {response.status} {response.reason}")
                declared = response.content_length
                if declared is not None and declared > self.max_bytes:
                    raise FetchError(self._too_big(where))
                body = bytearray()
                async for chunk in response.content.iter_chunked(64 * 1024):
                    body += chunk
                    if len(body) > self.max_bytes:
                        raise FetchError(self._too_big(where))
                fetched = Fetched(
                    bytes(body),
                    response.headers.get("ETag"),
                    response.headers.get("Last-Modified"),
                )
        except FetchError:
            raise
        except TimeoutError:
            raise FetchError(f"{where} did not answer within {self.timeout:g} s") from None
        except aiohttp.ClientConnectorCertificateError as exc:
            reason = f"{where}: its certificate is not trusted ({exc.certificate_error})"
            raise FetchError(reason) from None
        except (aiohttp.ClientError, OSError, asyncio.IncompleteReadError) as exc:
            raise FetchError(f"{where} could not be reached ({type(exc).__name__})") from None
        self.etag, self.last_modified = fetched.etag, fetched.last_modified
        self.digest = fetched.digest
        return fetched

    def _too_big(self, where: str) -> str:
        return f"{where} sent more than {self.max_bytes // (1024 * 1024)} MB; is it a schedule?"
