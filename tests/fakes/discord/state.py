"""The fake's state, its URLs and ids, the test side's queries and waiting for a condition."""

# ruff: noqa: ASYNC109  (the wait helpers take ``timeout=`` by design, like asyncio.wait_for)
from __future__ import annotations

import asyncio
import copy
import re
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from aiohttp import web

from tests.fakes.discord.constants import API_PREFIX, DISCORD_EPOCH_MS, GATEWAY_PATH, JSON
from tests.fakes.discord.models import FakeChannel, FakeGuild, FakeUser
from tests.fakes.discord.records import (
    FakeInteraction,
    GatewayConnection,
    GatewaySession,
    InteractionResponse,
    RecordedRequest,
    _Bucket,
    _FailureRule,
    _MessageMeta,
)


class DiscordState:
    """Everything the fake knows; every other part reads and changes it."""

    def __init__(
        self,
        *,
        token: str = "fake-bot-token",
        bot_name: str = "Summit Bot",
        application_id: int | None = None,
        privileged_intents: int = 0,
        heartbeat_interval_ms: int = 41_250,
        callback_deadline: float = 3.0,
        bucket_limit: int = 50,
        bucket_window: float = 1.0,
        nonce_window: float = 300.0,
        strict_event_times: bool = True,
    ) -> None:
        self.token = token
        self.privileged_intents = privileged_intents
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.callback_deadline = callback_deadline
        self.bucket_limit = bucket_limit
        self.bucket_window = bucket_window
        self.nonce_window = nonce_window
        self.strict_event_times = strict_event_times
        self.ack_heartbeats = True

        self._last_snowflake = 0
        self.application_id = application_id or self.snowflake()
        self.bot_user = FakeUser(self.application_id, bot_name, bot=True)
        self.users: dict[int, FakeUser] = {self.bot_user.id: self.bot_user}
        self.guilds: dict[int, FakeGuild] = {}

        self.requests: list[RecordedRequest] = []
        self.identifies: list[JSON] = []
        self.presence_updates: list[JSON] = []
        self.heartbeats = 0
        self.sessions: list[GatewaySession] = []
        self.gateway_connections: list[GatewayConnection] = []

        self._channels: dict[int, FakeChannel] = {}
        self._dm_by_user: dict[int, FakeChannel] = {}
        self._messages: dict[int, JSON] = {}
        self._message_meta: dict[int, _MessageMeta] = {}
        self._channel_messages: dict[int, list[int]] = {}
        self._nonces: dict[tuple[int, str], tuple[int, float]] = {}
        self._commands: dict[int | None, list[JSON]] = {}
        self._events: dict[int, dict[int, JSON]] = {}
        self._interactions: dict[int, FakeInteraction] = {}
        self._interactions_by_token: dict[str, FakeInteraction] = {}
        self._failures: list[_FailureRule] = []
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        # "METHOD /route/{param}" → (requests, seconds); other routes share bucket_limit per
        # bucket_window (see FaultsAndLimits.discord_limits for Discord's own numbers).
        self.route_limits: dict[str, tuple[int, float]] = {}
        self._global_limit: int | None = None
        self._global_window: deque[float] = deque()
        self._waiters: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []
        self._conns: set[GatewayConnection] = set()
        self._records: dict[int, RecordedRequest] = {}
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ------------------------------------------------------------------ URLs

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base_url(self) -> str:
        """REST base, the value for ``discord.http.Route.BASE``."""
        return f"{self.base_url}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        """Gateway websocket URL (without query), as returned by ``GET /gateway``."""
        return f"ws://127.0.0.1:{self.port}{GATEWAY_PATH}"

    # ------------------------------------------------------------------ ids

    def snowflake(self) -> int:
        """Return a new, strictly increasing Discord snowflake."""
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        value = max((ms << 22) | (1 << 17), self._last_snowflake + 1)
        self._last_snowflake = value
        return value

    # ------------------------------------------------------------------ test-side queries

    def requests_matching(
        self, method: str = "*", path_pattern: str = ".*"
    ) -> list[RecordedRequest]:
        """Return recorded requests whose method and path match."""
        rx = re.compile(path_pattern)
        return [
            r
            for r in self.requests
            if (method == "*" or r.method == method.upper()) and rx.fullmatch(r.path)
        ]

    async def wait_for(
        self,
        method: str,
        path_pattern: str,
        count: int = 1,
        timeout: float = 5.0,
        *,
        status: int | None = None,
    ) -> list[RecordedRequest]:
        """Wait until ``count`` matching requests have been answered; return them."""

        def matching() -> list[RecordedRequest]:
            """Answered requests that match."""
            return [
                r
                for r in self.requests_matching(method, path_pattern)
                if r.status and (status is None or r.status == status)
            ]

        await self.wait_until(
            lambda: len(matching()) >= count,
            timeout,
            lambda: f"waited for {count}x {method} {path_pattern} (status={status})",
        )
        return matching()

    def max_in_any_window(
        self,
        window: float = 1.0,
        *,
        method: str = "*",
        path_pattern: str = ".*",
        include_rejected: bool = False,
    ) -> int:
        """Return the most requests that arrived within any span shorter than ``window`` s."""
        times = sorted(
            r.time
            for r in self.requests_matching(method, path_pattern)
            if include_rejected or r.status != 429
        )
        best = start = 0
        for end, t in enumerate(times):
            while t - times[start] >= window:
                start += 1
            best = max(best, end - start + 1)
        return best

    def interaction(self, interaction_id: int) -> FakeInteraction:
        """Return the server-side state of an interaction."""
        return self._interactions[interaction_id]

    def interaction_responses(self, interaction_id: int) -> list[InteractionResponse]:
        """Return the callback, follow-ups and edits for an interaction, in order."""
        return list(self._interactions[interaction_id].responses)

    async def wait_for_responses(
        self, interaction_id: int, count: int = 1, timeout: float = 5.0
    ) -> list[InteractionResponse]:
        """Wait until an interaction has at least ``count`` responses; return them."""
        inter = self._interactions[interaction_id]
        await self.wait_until(
            lambda: len(inter.responses) >= count,
            timeout,
            lambda: f"waited for {count} responses to interaction {interaction_id}",
        )
        return list(inter.responses)

    def expire_interaction(self, interaction_id: int) -> None:
        """Make the interaction's initial-response window (3 s on Discord) elapse now."""
        self._interactions[interaction_id].expired = True

    def message(self, message_id: int) -> JSON:
        """Return a stored message."""
        return copy.deepcopy(self._messages[message_id])

    def messages_in(self, channel_id: int) -> list[JSON]:
        """Return the non-ephemeral messages in a channel, oldest first."""
        return [
            copy.deepcopy(self._messages[mid])
            for mid in self._channel_messages.get(channel_id, [])
            if not self._message_meta[mid].ephemeral
        ]

    def dm_channel_id(self, user_id: int) -> int | None:
        """Return the id of the DM channel with a user, if one was created."""
        channel = self._dm_by_user.get(user_id)
        return channel.id if channel else None

    def dm_messages_to(self, user_id: int) -> list[JSON]:
        """Return the messages sent in the DM channel with a user, oldest first."""
        channel_id = self.dm_channel_id(user_id)
        return self.messages_in(channel_id) if channel_id is not None else []

    def scheduled_events(self, guild_id: int) -> list[JSON]:
        """Return the guild's scheduled events."""
        return [copy.deepcopy(e) for e in self._events.get(guild_id, {}).values()]

    def commands(self, guild_id: int | None = None) -> list[JSON]:
        """Return the registered global (or guild) application commands."""
        return copy.deepcopy(self._commands.get(guild_id, []))

    # ------------------------------------------------------------------ waiting

    def _notify(self) -> None:
        """Wake waiters whose condition now holds."""
        for predicate, fut in self._waiters:
            if not fut.done() and predicate():
                fut.set_result(None)
        self._waiters = [(p, f) for p, f in self._waiters if not f.done()]

    async def wait_until(
        self,
        predicate: Callable[[], bool],
        timeout: float = 5.0,
        describe: Callable[[], str] = lambda: "condition",
    ) -> None:
        """Wait until ``predicate()`` (re-checked after every request/gateway change) holds."""
        if predicate():
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((predicate, fut))
        try:
            await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            recent = "\n".join(f"  {r.method} {r.path} -> {r.status}" for r in self.requests[-15:])
            raise TimeoutError(
                f"{describe()} (timeout {timeout}s); recent requests:\n{recent}"
            ) from None

    # ------------------------------------------------------------------ request bodies

    def _body(self, request: web.Request) -> Any:
        """The parsed JSON body (or ``payload_json``) of a request being handled."""
        return self._records[id(request)].json

    def _files(self, request: web.Request) -> list[str]:
        """The uploaded file names of a request being handled."""
        return self._records[id(request)].files
