"""A schedule published over HTTPS on 127.0.0.1, as pretalx or Sessionize would publish it.

`schedule_server` serves `body` at /schedule with an `ETag`, answers `If-None-Match` with 304,
and can be told to fail (`status = 500`). Its certificate is signed by a throwaway authority
(trustme) that `SSL_CERT_FILE` names for the test, as an operator's private CA would be.
"""

from __future__ import annotations

import hashlib
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import trustme
from aiohttp import web

SUMMIT_YAML = Path(__file__).resolve().parents[2] / "schedule.yaml"


@dataclass
class ScheduleServer:
    """What the test serves, and what the server was asked."""

    body: bytes = b""
    status: int = 200  # anything but 200: that status, no body
    url: str = ""
    requests: list[dict[str, str]] = field(default_factory=list)  # the headers of each

    @property
    def etag(self) -> str:
        """The validator of the body served now."""
        return '"' + hashlib.sha256(self.body).hexdigest()[:20] + '"'

    def edit(self, old: str, new: str, *, count: int = 1) -> None:
        """Replace `old` by `new` in the served text (exactly `count` times)."""
        text = self.body.decode("utf-8")
        assert text.count(old) == count, (old, text.count(old))
        self.body = text.replace(old, new).encode("utf-8")

    def conditional_answers(self) -> int:
        """How many requests came with a validator (If-None-Match)."""
        return sum(1 for headers in self.requests if "If-None-Match" in headers)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """GET /schedule."""
        self.requests.append(dict(request.headers))
        if self.status != 200:
            return web.Response(status=self.status, text="server trouble")
        if request.headers.get("If-None-Match") == self.etag:
            return web.Response(status=304, headers={"ETag": self.etag})
        return web.Response(body=self.body, headers={"ETag": self.etag})


@pytest.fixture
async def schedule_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[ScheduleServer]:
    """An HTTPS server on 127.0.0.1 serving a schedule the test edits (the summit's at first)."""
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1", "localhost")
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(server_context)
    ca_file = tmp_path / "test-ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))

    served = ScheduleServer(body=SUMMIT_YAML.read_bytes())
    app = web.Application()
    app.router.add_get("/schedule", served.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_context)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    served.url = f"https://127.0.0.1:{port}/schedule?token=secret-feed-token"
    try:
        yield served
    finally:
        await runner.cleanup()
