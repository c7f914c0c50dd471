"""The Telegram fan-out's HTTP path: one JSON POST per Bot API call over a shared aiohttp session.

python-telegram-bot handles everything interactive (updates, commands, buttons, menus, replies,
documents); reminders, broadcasts and notices go through this client instead. PTB's request
stack (httpx, httpcore, anyio, then parsing every answer into `telegram.Message` objects) costs
about 3.5 ms of CPU per message on our machines, this path about 0.5 ms, which is what lets one
core send 1,000 messages a second (BENCHMARKS.md, figure 2). aiohttp is already here, under
discord.py.

Answers that are not `ok` map to the delivery engine's errors in errors.py (`answer_error`),
next to the mapping of PTB's exceptions; a failed connection or a time-out is Transient.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

import aiohttp

from bot.adapters.base import Transient
from bot.adapters.telegram.errors import answer_error


def env_proxy(url: str) -> str | None:
    """The proxy the environment names for `url` (HTTPS_PROXY, HTTP_PROXY, NO_PROXY), if any."""
    parts = urllib.parse.urlsplit(url)
    if parts.hostname and urllib.request.proxy_bypass(parts.hostname):
        return None
    return urllib.request.getproxies().get(parts.scheme)


class BotApiPoster:
    """Bot API methods called as JSON POSTs; failures raised as the engine's SendErrors."""

    def __init__(
        self,
        api_root: str,
        token: str,
        *,
        timeout: float,
        redact: Callable[[str], str],
        connections: int = 64,
    ) -> None:
        self._base = f"{api_root.rstrip('/')}/bot{token}/"
        self.timeout = timeout  # seconds per call, all included; read when connections open
        self._redact = redact  # exceptions can carry the URL, and the URL carries the token
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None
        # HTTPS_PROXY / NO_PROXY, honoured as PTB's httpx honours them. Looked up once:
        # aiohttp's trust_env looks per request, in a thread, which doubled the CPU per send.
        self._proxy = env_proxy(self._base)

    def __repr__(self) -> str:
        return "BotApiPoster()"  # never the base URL: it holds the token

    async def close(self) -> None:
        """Close the connections (a later call opens new ones)."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # Opened on first use, inside the running loop that will use it.
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections),
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                headers={"Content-Type": "application/json"},
                json_serialize=json.dumps,
            )
        return self._session

    async def call(self, method: str, payload: dict[str, Any]) -> Any:
        """Call `method` with `payload`; return its `result` or raise a SendError."""
        session = self._open()
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        try:
            post = session.post(self._base + method, data=body, proxy=self._proxy)
            async with post as response:
                status, raw = response.status, await response.read()
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise Transient(self._redact(f"{type(exc).__name__}: {exc}")) from None
        try:
            answer = json.loads(raw)
        except ValueError:
            answer = None
        if isinstance(answer, dict) and answer.get("ok") is True:
            return answer.get("result")
        raise answer_error(status, answer)
