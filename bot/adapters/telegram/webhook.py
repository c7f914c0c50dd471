"""The webhook listener: Telegram's POSTs in, everyone else's out before their body is read.

Served by aiohttp rather than PTB's tornado server, which reads a whole body (up to 100 MB)
before it looks at the secret header. Here the header is checked first, a body is capped at
a size no real update comes near, and only then is it read, parsed and queued for PTB.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

from aiohttp import web

log = logging.getLogger(__name__)

SECRET_HEADER: Final = "X-Telegram-Bot-Api-Secret-Token"
# Telegram's updates are a few kilobytes (a long message with entities stays far below this).
MAX_BODY: Final = 1 << 20


class WebhookServer:
    """An aiohttp listener at `path` that hands each authentic update to `deliver`."""

    def __init__(
        self,
        listen: str,
        port: int,
        path: str,
        secret: str,
        deliver: Callable[[dict[str, Any]], Awaitable[None]],
        *,
        max_body: int = MAX_BODY,
    ) -> None:
        self.listen = listen
        self.port = port
        self.path = "/" + path.strip("/")
        self._secret = secret.encode()
        self._deliver = deliver
        self.max_body = max_body
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Listen; OSError if the address cannot be bound."""
        app = web.Application(client_max_size=self.max_body)
        app.router.add_post(self.path, self._handle)
        # No lingering close: a refused request's unread body is not drained, the
        # connection is dropped; no access log: one line per update is noise.
        runner = web.AppRunner(app, lingering_time=0, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.listen, self.port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner

    async def stop(self) -> None:
        """Stop listening; requests under way are given a moment to finish."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    def _authentic(self, request: web.Request) -> bool:
        given = request.headers.get(SECRET_HEADER, "").encode()
        return hmac.compare_digest(given, self._secret)  # constant time: no guessing by timing

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if not self._authentic(request):
            return _refuse(403)
        size = request.content_length
        if size is not None and size > self.max_body:
            return _refuse(413)
        try:
            # Bodies without a length (chunked) are cut at client_max_size by aiohttp.
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _refuse(413)
        try:
            update = json.loads(body)
        except ValueError:
            return _refuse(400)
        if not isinstance(update, dict):
            return _refuse(400)
        try:
            await self._deliver(update)
        except (ValueError, TypeError, KeyError) as exc:
            # Authentic but unreadable (as PTB's own listener, answer 400): one line, no trace.
            log.warning("telegram: an update could not be read: %s", exc)
            return _refuse(400)
        return web.Response()


def _refuse(status: int) -> web.Response:
    """An empty answer that closes the connection, so that nothing more is read from it."""
    response = web.Response(status=status)
    response.force_close()
    return response
