"""What the fake keeps of the traffic: requests, interactions, gateway sessions, failure rules."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.discord.constants import JSON, MSG_FLAG_EPHEMERAL


@dataclass
class RecordedRequest:
    """One REST request received by the fake, with the response status it got."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    headers: dict[str, str]
    time: float
    status: int = 0
    response: Any = None
    files: list[str] = field(default_factory=list)
    # A 429's scope ("global", "user", "shared"); None when the request was not limited.
    limited: str | None = None


@dataclass
class InteractionResponse:
    """One thing the bot did with an interaction: callback, follow-up, edit or delete."""

    kind: str
    type: int | None
    payload: JSON | None
    message: JSON | None
    time: float

    @property
    def data(self) -> JSON:
        """The message-like data: ``payload["data"]`` for callbacks, else the payload."""
        if self.payload is None:
            return {}
        if self.kind == "callback":
            data = self.payload.get("data")
            return data if isinstance(data, dict) else {}
        return self.payload

    @property
    def content(self) -> str | None:
        """The resulting message content, or the sent content if there is no message."""
        if self.message is not None:
            return str(self.message.get("content", ""))
        return self.data.get("content")

    @property
    def ephemeral(self) -> bool:
        """Whether the resulting message is ephemeral."""
        flags = (self.message or {}).get("flags", self.data.get("flags", 0)) or 0
        return bool(int(flags) & MSG_FLAG_EPHEMERAL)

    @property
    def choices(self) -> list[JSON]:
        """Autocomplete choices (callback type 8)."""
        return list(self.data.get("choices") or [])


@dataclass
class FakeInteraction:
    """Server-side state of one interaction sent to the bot."""

    id: int
    token: str
    type: int
    user_id: int
    guild_id: int | None
    channel_id: int
    created: float
    payload: JSON
    message_id: int | None = None
    acknowledged: bool = False
    callback_type: int | None = None
    original_message_id: int | None = None
    expired: bool = False
    responses: list[InteractionResponse] = field(default_factory=list)


@dataclass(eq=False)
class GatewaySession:
    """A gateway session created by IDENTIFY; survives reconnects until invalidated."""

    session_id: str
    intents: int
    shard: tuple[int, int]
    identify: JSON
    seq: int = 0
    events: list[JSON] = field(default_factory=list)
    conn: GatewayConnection | None = None
    alive: bool = True
    resumes: int = 0


@dataclass
class _Close:
    """Queue item asking a connection's writer to close the websocket."""

    code: int
    reason: str


@dataclass(eq=False)
class GatewayConnection:
    """One websocket connection to the fake gateway."""

    ws: web.WebSocketResponse
    query: dict[str, str]
    compressor: Any = None
    session: GatewaySession | None = None
    queue: asyncio.Queue[JSON | _Close] = field(default_factory=asyncio.Queue)
    sent: list[JSON] = field(default_factory=list)
    server_closed: bool = False

    def put(self, payload: JSON | _Close) -> None:
        """Queue a payload (or a close request) for the writer task."""
        self.queue.put_nowait(payload)


@dataclass
class _FailureRule:
    """An injected failure for matching requests."""

    method: str
    pattern: re.Pattern[str]
    remaining: int
    status: int
    retry_after: float
    is_global: bool
    scope: str
    code: int | None
    message: str | None
    via: bool


@dataclass
class _Bucket:
    """Per-route rate-limit window: `limit` requests until `reset_at`."""

    reset_at: float
    limit: int
    used: int = 0


@dataclass
class _MessageMeta:
    """Bookkeeping for a stored message."""

    channel_id: int
    ephemeral: bool = False
    interaction_id: int | None = None
    visible_to: int | None = None
