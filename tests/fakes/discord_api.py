"""In-process fake of Discord's REST API and Gateway for driving the real discord.py client.

The server speaks the real wire protocol (REST v10 JSON, Gateway v10 JSON with optional
``zlib-stream`` transport compression) on 127.0.0.1, so an unmodified ``discord.Client`` can log
in, identify, receive guilds and interactions, and call the REST routes a reminder bot uses.
Point discord.py at it with ``tests.support.discord_rig.point_discord_at``.

Conventions of the test-side API:

* ids are ``int``; JSON payloads returned to tests use Discord's own shapes (ids as strings);
* ``path_pattern`` arguments are regular expressions matched with ``re.fullmatch`` against the
  request path relative to the API base, e.g. ``r"/channels/\\d+/messages"``;
* ``method`` arguments are HTTP methods, or ``"*"`` for any.
"""

# ruff: noqa: ASYNC109  (the wait helpers take ``timeout=`` by design, like asyncio.wait_for)
from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import json
import math
import re
import secrets
import socket
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Self

from aiohttp import WSMsgType, web

JSON = dict[str, Any]

API_VERSION = 10
API_PREFIX = f"/api/v{API_VERSION}"
GATEWAY_PATH = "/gateway"
DISCORD_EPOCH_MS = 1_420_070_400_000
INTERACTION_TOKEN_LIFETIME = 15 * 60.0


class Perm:
    """Discord permission bits used by the fake."""

    CREATE_INSTANT_INVITE = 1 << 0
    ADMINISTRATOR = 1 << 3
    ADD_REACTIONS = 1 << 6
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    CONNECT = 1 << 20
    SPEAK = 1 << 21
    CHANGE_NICKNAME = 1 << 26
    USE_APPLICATION_COMMANDS = 1 << 31
    MANAGE_EVENTS = 1 << 33
    SEND_MESSAGES_IN_THREADS = 1 << 38
    CREATE_EVENTS = 1 << 44
    ALL = (1 << 51) - 1


class Intent:
    """Gateway intent bits used by the fake."""

    GUILDS = 1 << 0
    GUILD_MEMBERS = 1 << 1
    GUILD_PRESENCES = 1 << 8
    GUILD_MESSAGES = 1 << 9
    DIRECT_MESSAGES = 1 << 12
    MESSAGE_CONTENT = 1 << 15
    GUILD_SCHEDULED_EVENTS = 1 << 16
    PRIVILEGED = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT


class ChannelType:
    """Discord channel type numbers."""

    TEXT = 0
    DM = 1
    VOICE = 2
    CATEGORY = 4
    ANNOUNCEMENT = 5


DEFAULT_EVERYONE_PERMISSIONS = (
    Perm.CREATE_INSTANT_INVITE
    | Perm.ADD_REACTIONS
    | Perm.VIEW_CHANNEL
    | Perm.SEND_MESSAGES
    | Perm.EMBED_LINKS
    | Perm.ATTACH_FILES
    | Perm.READ_MESSAGE_HISTORY
    | Perm.USE_EXTERNAL_EMOJIS
    | Perm.CONNECT
    | Perm.SPEAK
    | Perm.CHANGE_NICKNAME
    | Perm.USE_APPLICATION_COMMANDS
    | Perm.SEND_MESSAGES_IN_THREADS
)
DEFAULT_BOT_PERMISSIONS = DEFAULT_EVERYONE_PERMISSIONS | Perm.MANAGE_EVENTS | Perm.CREATE_EVENTS
DM_APP_PERMISSIONS = (
    Perm.ADD_REACTIONS
    | Perm.VIEW_CHANNEL
    | Perm.SEND_MESSAGES
    | Perm.EMBED_LINKS
    | Perm.ATTACH_FILES
    | Perm.READ_MESSAGE_HISTORY
    | Perm.USE_EXTERNAL_EMOJIS
)

DISCORD_LOCALES = frozenset(
    {
        "id", "da", "de", "en-GB", "en-US", "es-ES", "es-419", "fr", "hr", "it", "lt", "hu",
        "nl", "no", "pl", "pt-BR", "ro", "fi", "sv-SE", "vi", "tr", "cs", "el", "bg", "ru",
        "uk", "hi", "th", "zh-CN", "ja", "zh-TW", "ko",
    }
)  # fmt: skip

MSG_FLAG_CROSSPOSTED = 1 << 0
MSG_FLAG_SUPPRESS_EMBEDS = 1 << 2
MSG_FLAG_EPHEMERAL = 1 << 6
MSG_FLAG_LOADING = 1 << 7
MSG_FLAG_SUPPRESS_NOTIFICATIONS = 1 << 12
MSG_FLAG_COMPONENTS_V2 = 1 << 15
SETTABLE_MESSAGE_FLAGS = (
    MSG_FLAG_SUPPRESS_EMBEDS
    | MSG_FLAG_EPHEMERAL
    | MSG_FLAG_SUPPRESS_NOTIFICATIONS
    | MSG_FLAG_COMPONENTS_V2
)

_COMMAND_NAME_RE = re.compile(r"^[-_'\w\u0900-\u097f\u0e00-\u0e7f]{1,32}$")
_CALLBACKS_FOR_INTERACTION_TYPE: dict[int, frozenset[int]] = {
    2: frozenset({4, 5, 9}),
    3: frozenset({4, 5, 6, 7, 9}),
    4: frozenset({8}),
    5: frozenset({4, 5, 6, 7}),
}
_SELECT_TYPES = frozenset({3, 5, 6, 7, 8})


def _now_iso() -> str:
    """Return the current UTC time as an ISO 8601 string like Discord's timestamps."""
    return datetime.now(UTC).isoformat()


def _ceil_ms(seconds: float) -> float:
    """Round a positive duration up to whole milliseconds."""
    return max(0.0, math.ceil(seconds * 1000) / 1000)


def _dumps(data: Any) -> str:
    """Serialise JSON compactly, like Discord does."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def _json_response(data: Any, status: int = 200) -> web.Response:
    """Build a JSON response with Discord's exact ``Content-Type`` (discord.py compares it)."""
    return web.Response(
        body=_dumps(data).encode(), status=status, headers={"Content-Type": "application/json"}
    )


def _parse_time(value: Any, field_name: str) -> datetime:
    """Parse an ISO 8601 timestamp from a request body or raise a form error."""
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise form_error(
            field_name, "DATE_TIME_TYPE_PARSE", "Could not parse timestamp."
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _iter_components(components: Iterable[JSON]) -> Iterator[JSON]:
    """Yield every component in a (possibly nested) component tree."""
    for comp in components:
        yield comp
        yield from _iter_components(comp.get("components") or [])
        accessory = comp.get("accessory")
        if isinstance(accessory, dict):
            yield accessory


class DiscordAPIError(Exception):
    """A Discord-style JSON error response raised by a route handler."""

    def __init__(self, status: int, code: int, message: str, errors: JSON | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> JSON:
        """Return the JSON body Discord would send."""
        body: JSON = {"message": self.message, "code": self.code}
        if self.errors is not None:
            body["errors"] = self.errors
        return body


def form_error(path: str, code: str, message: str) -> DiscordAPIError:
    """Build a 400 "Invalid Form Body" (50035) error for a dotted field path."""
    leaf: JSON = {"_errors": [{"code": code, "message": message}]}
    for part in reversed(path.split(".")):
        leaf = {part: leaf}
    return DiscordAPIError(400, 50035, "Invalid Form Body", leaf)


@dataclass
class FakeUser:
    """A Discord user known to the fake."""

    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    dms_open: bool = True

    def to_json(self) -> JSON:
        """Return the Discord user object."""
        data: JSON = {
            "id": str(self.id),
            "username": self.username,
            "global_name": self.global_name,
            "discriminator": "0",
            "avatar": None,
            "public_flags": 0,
            "flags": 0,
            "banner": None,
            "accent_color": None,
        }
        if self.bot:
            data["bot"] = True
        return data


@dataclass
class FakeChannel:
    """A guild channel or DM channel."""

    id: int
    name: str
    type: int = ChannelType.TEXT
    guild_id: int | None = None
    position: int = 0
    parent_id: int | None = None
    topic: str | None = None
    nsfw: bool = False
    permission_overwrites: list[JSON] = field(default_factory=list)
    recipient_id: int | None = None
    last_message_id: int | None = None

    def to_json(self) -> JSON:
        """Return the Discord channel object (guild form; DMs are built by the server)."""
        return {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(self.guild_id) if self.guild_id else None,
            "name": self.name,
            "position": self.position,
            "permission_overwrites": copy.deepcopy(self.permission_overwrites),
            "parent_id": str(self.parent_id) if self.parent_id else None,
            "topic": self.topic,
            "nsfw": self.nsfw,
            "last_message_id": str(self.last_message_id) if self.last_message_id else None,
            "rate_limit_per_user": 0,
            "flags": 0,
        }


@dataclass
class FakeRole:
    """A guild role."""

    id: int
    name: str
    permissions: int
    position: int = 0
    managed: bool = False
    bot_id: int | None = None

    def to_json(self) -> JSON:
        """Return the Discord role object."""
        data: JSON = {
            "id": str(self.id),
            "name": self.name,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": self.managed,
            "mentionable": False,
            "flags": 0,
        }
        if self.bot_id is not None:
            data["tags"] = {"bot_id": str(self.bot_id)}
        return data


@dataclass
class FakeMember:
    """A guild member (user id plus guild-specific data)."""

    user_id: int
    roles: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: str = field(default_factory=_now_iso)


@dataclass
class FakeGuild:
    """A guild with channels, roles and members."""

    id: int
    name: str
    owner_id: int
    preferred_locale: str = "en-US"
    channels: list[FakeChannel] = field(default_factory=list)
    roles: list[FakeRole] = field(default_factory=list)
    members: dict[int, FakeMember] = field(default_factory=dict)
    features: list[str] = field(default_factory=list)
    joined_at: str = field(default_factory=_now_iso)

    def channel(self, name: str) -> FakeChannel:
        """Return the channel with this name."""
        for channel in self.channels:
            if channel.name == name:
                return channel
        raise KeyError(f"guild {self.name!r} has no channel {name!r}")

    @property
    def everyone_role(self) -> FakeRole:
        """The @everyone role (its id is the guild id)."""
        return next(role for role in self.roles if role.id == self.id)

    def text_channels(self) -> list[FakeChannel]:
        """Return the channels of type text or announcement."""
        return [c for c in self.channels if c.type in (ChannelType.TEXT, ChannelType.ANNOUNCEMENT)]


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
    """Per-route rate-limit window."""

    reset_at: float
    used: int = 0


@dataclass
class _MessageMeta:
    """Bookkeeping for a stored message."""

    channel_id: int
    ephemeral: bool = False
    interaction_id: int | None = None
    visible_to: int | None = None


class FakeDiscord:
    """Fake Discord REST API + Gateway server; use as ``async with FakeDiscord() as dc``."""

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
        self._global_limit: int | None = None
        self._global_window: deque[float] = deque()
        self._waiters: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []
        self._conns: set[GatewayConnection] = set()
        self._records: dict[int, RecordedRequest] = {}
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Self:
        """Start the server."""
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Stop the server."""
        await self.close()

    async def start(self) -> None:
        """Start listening on a random port of 127.0.0.1."""
        app = web.Application(middlewares=[self._api_middleware])
        self._add_routes(app)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def close(self) -> None:
        """Close gateway connections and stop the server."""
        for conn in list(self._conns):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.ws.close(code=1001, message=b"shutting down"), 1.0)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        for _, fut in self._waiters:
            fut.cancel()
        self._waiters.clear()

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

    # ------------------------------------------------------------------ ids & setup

    def snowflake(self) -> int:
        """Return a new, strictly increasing Discord snowflake."""
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        value = max((ms << 22) | (1 << 17), self._last_snowflake + 1)
        self._last_snowflake = value
        return value

    def add_user(
        self,
        username: str,
        *,
        user_id: int | None = None,
        global_name: str | None = None,
        dms_open: bool = True,
        bot: bool = False,
    ) -> FakeUser:
        """Register a user; ``dms_open=False`` makes DMs to them fail with 403/50007."""
        user = FakeUser(user_id or self.snowflake(), username, global_name, bot, dms_open)
        self.users[user.id] = user
        return user

    def add_guild(
        self,
        name: str = "Summit",
        *,
        guild_id: int | None = None,
        owner_id: int | None = None,
        text_channels: Sequence[str] = ("general",),
        announcement_channels: Sequence[str] = ("announcements",),
        voice_channels: Sequence[str] = (),
        members: Iterable[int] = (),
        preferred_locale: str = "en-US",
        bot_permissions: int = DEFAULT_BOT_PERMISSIONS,
        everyone_permissions: int = DEFAULT_EVERYONE_PERMISSIONS,
    ) -> FakeGuild:
        """Create a guild the bot is in; dispatched as GUILD_CREATE if a session is live."""
        gid = guild_id or self.snowflake()
        if owner_id is None:
            owner_id = self.add_user(f"{name.lower()}-owner").id
        elif owner_id not in self.users:
            raise KeyError(f"unknown owner user {owner_id}")
        guild = FakeGuild(gid, name, owner_id, preferred_locale)
        guild.roles.append(FakeRole(gid, "@everyone", everyone_permissions))
        bot_role = FakeRole(
            self.snowflake(), self.bot_user.username, bot_permissions, 1, True, self.bot_user.id
        )
        guild.roles.append(bot_role)
        for uid in {owner_id, *members}:
            if uid not in self.users:
                raise KeyError(f"unknown member user {uid}; call add_user() first")
            guild.members[uid] = FakeMember(uid)
        guild.members[self.bot_user.id] = FakeMember(self.bot_user.id, [bot_role.id])
        if announcement_channels:
            guild.features.extend(["COMMUNITY", "NEWS"])
        self.guilds[gid] = guild
        specs = [
            *((n, ChannelType.TEXT) for n in text_channels),
            *((n, ChannelType.ANNOUNCEMENT) for n in announcement_channels),
            *((n, ChannelType.VOICE) for n in voice_channels),
        ]
        for ch_name, ch_type in specs:
            self._new_guild_channel(guild, ch_name, ch_type)
        for session in self._sessions_for(gid):
            self._dispatch_to(session, "GUILD_CREATE", self._guild_create_json(guild))
        return guild

    def add_channel(
        self,
        guild_id: int,
        name: str,
        *,
        type: int = ChannelType.TEXT,
        permission_overwrites: Sequence[JSON] = (),
    ) -> FakeChannel:
        """Add a channel to a guild (dispatches CHANNEL_CREATE to live sessions)."""
        guild = self.guilds[guild_id]
        channel = self._new_guild_channel(guild, name, type, permission_overwrites)
        for session in self._sessions_for(guild_id, Intent.GUILDS):
            self._dispatch_to(session, "CHANNEL_CREATE", channel.to_json())
        return channel

    def add_member(self, guild_id: int, user_id: int, *, roles: Sequence[int] = ()) -> FakeMember:
        """Add a known user to a guild."""
        if user_id not in self.users:
            raise KeyError(f"unknown user {user_id}; call add_user() first")
        member = FakeMember(user_id, list(roles))
        self.guilds[guild_id].members[user_id] = member
        return member

    def add_role(self, guild_id: int, name: str, permissions: int = 0) -> FakeRole:
        """Add a role to a guild."""
        guild = self.guilds[guild_id]
        role = FakeRole(self.snowflake(), name, permissions, len(guild.roles))
        guild.roles.append(role)
        return role

    def add_message(
        self,
        channel_id: int,
        *,
        content: str = "",
        components: Sequence[JSON] = (),
        embeds: Sequence[JSON] = (),
        author_id: int | None = None,
    ) -> JSON:
        """Store a message without a request (e.g. a persistent-view message from a past run)."""
        author = self.users[author_id or self.bot_user.id]
        payload: JSON = {
            "content": content,
            "components": list(components),
            "embeds": list(embeds),
        }
        return copy.deepcopy(self._create_message(channel_id, payload, author=author))

    def _new_guild_channel(
        self,
        guild: FakeGuild,
        name: str,
        ch_type: int,
        permission_overwrites: Sequence[JSON] = (),
    ) -> FakeChannel:
        """Create and register a guild channel."""
        channel = FakeChannel(
            self.snowflake(),
            name,
            ch_type,
            guild.id,
            position=len(guild.channels),
            permission_overwrites=[dict(o) for o in permission_overwrites],
        )
        guild.channels.append(channel)
        self._channels[channel.id] = channel
        return channel

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

    # ------------------------------------------------------------------ error injection

    def fail_next(
        self,
        method: str,
        path_pattern: str,
        *,
        times: int = 1,
        status: int = 500,
        retry_after: float = 0.05,
        is_global: bool = False,
        scope: str = "user",
        code: int | None = None,
        message: str | None = None,
        via: bool = True,
    ) -> None:
        """Fail the next ``times`` matching requests with ``status`` (see the notes below)."""
        # 429s carry Discord's JSON body and headers, incl. ``Via: 1.1 google``; ``via=False``
        # gives a Cloudflare-style 429 (HTML, no Via) that discord.py raises instead of retrying.
        # 403 defaults to 50007 "Cannot send messages to this user"; override with code/message.
        self._failures.append(
            _FailureRule(
                method.upper(),
                re.compile(path_pattern),
                times,
                status,
                retry_after,
                is_global,
                scope,
                code,
                message,
                via,
            )
        )

    def rate_limit(self, per_second: int | None = 50) -> None:
        """Enforce a global limit of ``per_second`` requests per rolling second (None: off)."""
        self._global_limit = per_second
        self._global_window.clear()

    # ------------------------------------------------------------------ gateway, test side

    def live_sessions(self) -> list[GatewaySession]:
        """Return sessions that are alive (identified, not invalidated)."""
        return [s for s in self.sessions if s.alive]

    async def wait_for_session(
        self, guild_id: int | None = None, timeout: float = 5.0, *, connected: bool = True
    ) -> GatewaySession:
        """Wait for a live session (connected, if asked) that receives ``guild_id``'s events."""

        def pick() -> GatewaySession | None:
            """The newest suitable session, if any."""
            sessions = [
                s for s in self._sessions_for(guild_id) if s.conn is not None or not connected
            ]
            return sessions[-1] if sessions else None

        await self.wait_until(lambda: pick() is not None, timeout, lambda: "no gateway session")
        session = pick()
        assert session is not None
        return session

    def dispatch(
        self, event: str, data: JSON, *, guild_id: int | None = None, intent: int = 0
    ) -> int:
        """Dispatch a raw gateway event to every live session that should get it."""
        sessions = self._sessions_for(guild_id, intent)
        for session in sessions:
            self._dispatch_to(session, event, data)
        return len(sessions)

    async def request_reconnect(self) -> None:
        """Send op 7 RECONNECT on every connection; clients should RESUME."""
        for conn in list(self._conns):
            if conn.session is not None:
                conn.put({"op": 7, "d": None, "s": None, "t": None})

    async def drop_connections(self, code: int = 4000) -> None:
        """Close every gateway websocket with ``code`` (sessions stay resumable)."""
        for conn in list(self._conns):
            conn.put(_Close(code, "dropped by test"))

    async def invalidate_sessions(self, *, resumable: bool = False) -> None:
        """Send op 9 INVALID_SESSION on every connection; kills sessions unless resumable."""
        for conn in list(self._conns):
            if conn.session is not None:
                if not resumable:
                    conn.session.alive = False
                conn.put({"op": 9, "d": resumable, "s": None, "t": None})

    # ------------------------------------------------------------------ interactions, test side

    async def send_slash_command(
        self,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        user_id: int,
        guild_id: int | None = None,
        channel_id: int | None = None,
        locale: str = "en-US",
    ) -> int:
        """Dispatch a CHAT_INPUT command interaction (name may be "group sub"); return its id."""
        data = self._command_data(name, options or {}, user_id, guild_id, channel_id, None)
        return await self._send_interaction(
            2, data, user_id=user_id, guild_id=guild_id, channel_id=channel_id, locale=locale
        )

    async def send_autocomplete(
        self,
        name: str,
        options: Mapping[str, Any],
        *,
        focused: str,
        user_id: int,
        guild_id: int | None = None,
        channel_id: int | None = None,
        locale: str = "en-US",
    ) -> int:
        """Dispatch an APPLICATION_COMMAND_AUTOCOMPLETE interaction; return its id."""
        data = self._command_data(name, options, user_id, guild_id, channel_id, focused)
        return await self._send_interaction(
            4, data, user_id=user_id, guild_id=guild_id, channel_id=channel_id, locale=locale
        )

    async def send_component(
        self,
        custom_id: str,
        *,
        user_id: int,
        component_type: int = 2,
        values: Sequence[str] = (),
        message_id: int | None = None,
        channel_id: int | None = None,
        locale: str = "en-US",
    ) -> int:
        """Dispatch a MESSAGE_COMPONENT interaction for a component of a stored message."""
        message = self._find_component_message(custom_id, user_id, message_id, channel_id)
        component = next(
            c
            for c in _iter_components(message.get("components") or [])
            if c.get("custom_id") == custom_id
        )
        if component.get("disabled"):
            raise ValueError(f"component {custom_id!r} is disabled")
        if int(component.get("type", 0)) != component_type:
            raise ValueError(
                f"component {custom_id!r} has type {component.get('type')}, not {component_type}"
            )
        data: JSON = {"custom_id": custom_id, "component_type": component_type}
        if component_type in _SELECT_TYPES:
            data["values"] = [str(v) for v in values]
        msg_channel = self._channels[int(message["channel_id"])]
        return await self._send_interaction(
            3,
            data,
            user_id=user_id,
            guild_id=msg_channel.guild_id,
            channel_id=msg_channel.id,
            locale=locale,
            message=message,
        )

    async def send_button(
        self,
        custom_id: str,
        *,
        user_id: int,
        message_id: int | None = None,
        channel_id: int | None = None,
        locale: str = "en-US",
    ) -> int:
        """Click a button of a stored message (found by ``custom_id`` if no message id)."""
        return await self.send_component(
            custom_id,
            user_id=user_id,
            message_id=message_id,
            channel_id=channel_id,
            locale=locale,
        )

    def _find_component_message(
        self, custom_id: str, user_id: int, message_id: int | None, channel_id: int | None
    ) -> JSON:
        """Find the message carrying a component the user can see."""
        if message_id is not None:
            message = self._messages.get(message_id)
            candidates = [message] if message is not None else []
        else:
            ids: list[int] = []
            channels = [channel_id] if channel_id is not None else list(self._channel_messages)
            for cid in channels:
                ids.extend(self._channel_messages.get(cid, []))
            candidates = [self._messages[mid] for mid in sorted(ids, reverse=True)]
        for message in candidates:
            meta = self._message_meta[int(message["id"])]
            if meta.visible_to not in (None, user_id):
                continue
            comps = message.get("components") or []
            if any(c.get("custom_id") == custom_id for c in _iter_components(comps)):
                return copy.deepcopy(message)
        raise LookupError(f"no visible message has a component with custom_id {custom_id!r}")

    async def _send_interaction(
        self,
        itype: int,
        data: JSON,
        *,
        user_id: int,
        guild_id: int | None,
        channel_id: int | None,
        locale: str,
        message: JSON | None = None,
    ) -> int:
        """Build an INTERACTION_CREATE payload and dispatch it to one session."""
        if locale not in DISCORD_LOCALES:
            raise ValueError(f"{locale!r} is not a Discord locale")
        user = self.users[user_id]
        session = await self.wait_for_session(guild_id, connected=False)
        iid = self.snowflake()
        token = "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48)
        payload: JSON = {
            "id": str(iid),
            "application_id": str(self.application_id),
            "type": itype,
            "data": data,
            "token": token,
            "version": 1,
            "locale": locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if guild_id is not None:
            guild = self.guilds[guild_id]
            channel = self._guild_channel(guild, channel_id)
            if user_id not in guild.members:
                raise ValueError(f"user {user_id} is not a member of guild {guild_id}")
            member = self._member_json(guild, guild.members[user_id])
            member["permissions"] = str(self._permissions(guild, user_id, channel))
            channel_json = channel.to_json()
            channel_json["permissions"] = str(self._permissions(guild, user_id, channel))
            payload.update(
                guild_id=str(guild_id),
                guild={
                    "id": str(guild_id),
                    "locale": guild.preferred_locale,
                    "features": list(guild.features),
                },
                guild_locale=guild.preferred_locale,
                member=member,
                channel=channel_json,
                channel_id=str(channel.id),
                app_permissions=str(self._permissions(guild, self.bot_user.id, channel)),
                authorizing_integration_owners={"0": str(guild_id)},
                context=0,
            )
            cid = channel.id
        else:
            dm = self._dm_channel(user_id)
            if channel_id is not None and channel_id != dm.id:
                raise ValueError("channel_id of a DM interaction must be the bot's DM channel")
            payload.update(
                user=user.to_json(),
                channel=self._dm_json(dm),
                channel_id=str(dm.id),
                app_permissions=str(DM_APP_PERMISSIONS),
                authorizing_integration_owners={"0": "0"},
                context=1,
            )
            cid = dm.id
        if message is not None:
            payload["message"] = message
        inter = FakeInteraction(
            iid,
            token,
            itype,
            user_id,
            guild_id,
            cid,
            time.monotonic(),
            payload,
            message_id=int(message["id"]) if message is not None else None,
        )
        self._interactions[iid] = inter
        self._interactions_by_token[token] = inter
        self._dispatch_to(session, "INTERACTION_CREATE", copy.deepcopy(payload))
        return iid

    def _guild_channel(self, guild: FakeGuild, channel_id: int | None) -> FakeChannel:
        """Resolve the channel an interaction happens in."""
        if channel_id is None:
            channels = guild.text_channels()
            if not channels:
                raise ValueError(f"guild {guild.id} has no text channel")
            return channels[0]
        channel = self._channels.get(channel_id)
        if channel is None or channel.guild_id != guild.id:
            raise ValueError(f"channel {channel_id} is not in guild {guild.id}")
        return channel

    def _command_data(
        self,
        name: str,
        values: Mapping[str, Any],
        user_id: int,
        guild_id: int | None,
        channel_id: int | None,
        focused: str | None,
    ) -> JSON:
        """Build interaction ``data`` for a registered chat-input command."""
        parts = name.split()
        if not parts:
            raise ValueError("empty command name")
        cmd = self._find_command(parts[0], guild_id)
        guild = self.guilds[guild_id] if guild_id is not None else None
        contexts = cmd.get("contexts")
        if guild is None:
            if cmd.get("guild_id") or cmd.get("dm_permission") is False:
                raise ValueError(f"/{parts[0]} is not available in DMs")
            if contexts is not None and 1 not in contexts:
                raise ValueError(f"/{parts[0]} is not available in bot DMs (contexts={contexts})")
        else:
            if contexts is not None and 0 not in contexts:
                raise ValueError(f"/{parts[0]} is not available in guilds (contexts={contexts})")
            needed = cmd.get("default_member_permissions")
            if needed is not None and user_id in guild.members:
                perms = self._permissions(guild, user_id, self._guild_channel(guild, channel_id))
                if perms & int(needed) != int(needed):
                    raise ValueError(f"user {user_id} lacks permissions for /{parts[0]}")
        schema: list[JSON] = cmd.get("options") or []
        chain: list[JSON] = []
        for part in parts[1:]:
            sub = next((o for o in schema if o["name"] == part and o["type"] in (1, 2)), None)
            if sub is None:
                raise LookupError(f"/{name}: no subcommand {part!r}")
            chain.append(sub)
            schema = sub.get("options") or []
        if any(o["type"] in (1, 2) for o in schema):
            raise ValueError(f"/{name} needs a subcommand")
        resolved: JSON = {}
        options = self._leaf_options(schema, values, focused, guild, resolved)
        for sub in reversed(chain):
            options = [{"name": sub["name"], "type": sub["type"], "options": options}]
        data: JSON = {"id": cmd["id"], "name": cmd["name"], "type": cmd.get("type", 1)}
        if options:
            data["options"] = options
        if resolved and focused is None:
            data["resolved"] = resolved
        if cmd.get("guild_id"):
            data["guild_id"] = cmd["guild_id"]
        return data

    def _find_command(self, name: str, guild_id: int | None) -> JSON:
        """Find a registered chat-input command visible in a guild (or DM)."""
        candidates = list(self._commands.get(guild_id, [])) if guild_id is not None else []
        candidates += self._commands.get(None, [])
        for cmd in candidates:
            if cmd["name"] == name and cmd.get("type", 1) == 1:
                return cmd
        raise LookupError(f"/{name} is not registered (did the bot sync its command tree?)")

    def _leaf_options(
        self,
        schema: list[JSON],
        values: Mapping[str, Any],
        focused: str | None,
        guild: FakeGuild | None,
        resolved: JSON,
    ) -> list[JSON]:
        """Build the option list for a (sub)command from plain values."""
        known = {o["name"] for o in schema}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown options {sorted(unknown)}; command has {sorted(known)}")
        if focused is not None and focused not in values:
            raise ValueError(f"focused option {focused!r} needs a (partial) value")
        out: list[JSON] = []
        for opt in schema:
            name = opt["name"]
            if name not in values:
                if opt.get("required") and focused is None:
                    raise ValueError(f"missing required option {name!r}")
                continue
            item: JSON = {"name": name, "type": opt["type"]}
            if name == focused:
                item["value"] = str(values[name])
                item["focused"] = True
            else:
                item["value"] = self._option_value(opt, values[name], guild, resolved)
            out.append(item)
        return out

    def _option_value(self, opt: JSON, value: Any, guild: FakeGuild | None, resolved: JSON) -> Any:
        """Validate and convert one option value as the Discord client would send it."""
        otype = opt["type"]
        name = opt["name"]
        if otype == 3:
            value = str(value)
            if not opt.get("min_length", 0) <= len(value) <= opt.get("max_length", 6000):
                raise ValueError(f"option {name!r}: length out of range")
        elif otype in (4, 10):
            if isinstance(value, bool):
                raise ValueError(f"option {name!r} must be a number")
            value = int(value) if otype == 4 else float(value)
            if "min_value" in opt and value < opt["min_value"]:
                raise ValueError(f"option {name!r} below min_value")
            if "max_value" in opt and value > opt["max_value"]:
                raise ValueError(f"option {name!r} above max_value")
        elif otype == 5:
            value = bool(value)
        elif otype in (6, 7, 8, 9):
            return self._resolve_snowflake_option(opt, int(value), guild, resolved)
        else:
            raise ValueError(f"option type {otype} is not supported by the fake")
        choices = opt.get("choices")
        if choices and value not in [c["value"] for c in choices]:
            raise ValueError(f"option {name!r}: {value!r} is not one of the choices")
        return value

    def _resolve_snowflake_option(
        self, opt: JSON, target: int, guild: FakeGuild | None, resolved: JSON
    ) -> str:
        """Fill ``resolved`` for a user/channel/role/mentionable option; return the id string."""
        otype = opt["type"]
        key = str(target)
        if otype in (6, 9) and target in self.users:
            resolved.setdefault("users", {})[key] = self.users[target].to_json()
            if guild is not None and target in guild.members:
                member = self._member_json(guild, guild.members[target])
                member.pop("user")
                member["permissions"] = str(self._permissions(guild, target))
                resolved.setdefault("members", {})[key] = member
            return key
        if otype in (8, 9) and guild is not None:
            role = next((r for r in guild.roles if r.id == target), None)
            if role is not None:
                resolved.setdefault("roles", {})[key] = role.to_json()
                return key
        if otype == 7 and target in self._channels:
            channel = self._channels[target]
            types = opt.get("channel_types")
            if types and channel.type not in types:
                raise ValueError(
                    f"option {opt['name']!r}: channel type {channel.type} not allowed"
                )
            data = channel.to_json()
            data["permissions"] = str(
                self._permissions(guild, self.bot_user.id, channel) if guild else 0
            )
            resolved.setdefault("channels", {})[key] = data
            return key
        raise ValueError(f"option {opt['name']!r}: unknown id {target}")

    # ------------------------------------------------------------------ JSON builders

    def _member_json(self, guild: FakeGuild, member: FakeMember) -> JSON:
        """Return a guild member object."""
        return {
            "user": self.users[member.user_id].to_json(),
            "roles": [str(r) for r in member.roles],
            "nick": member.nick,
            "avatar": None,
            "banner": None,
            "joined_at": member.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }

    def _guild_json(self, guild: FakeGuild) -> JSON:
        """Return the REST guild object."""
        return {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "owner_id": str(guild.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": [r.to_json() for r in guild.roles],
            "emojis": [],
            "stickers": [],
            "features": list(guild.features),
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "description": None,
            "banner": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": guild.preferred_locale,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "max_members": 500_000,
        }

    def _guild_create_json(self, guild: FakeGuild) -> JSON:
        """Return the GUILD_CREATE payload for a guild."""
        data = self._guild_json(guild)
        data.update(
            joined_at=guild.joined_at,
            large=False,
            unavailable=False,
            lazy=True,
            member_count=len(guild.members),
            voice_states=[],
            members=[self._member_json(guild, m) for m in guild.members.values()],
            channels=[c.to_json() for c in guild.channels],
            threads=[],
            presences=[],
            stage_instances=[],
            guild_scheduled_events=self.scheduled_events(guild.id),
            soundboard_sounds=[],
            incidents_data=None,
        )
        return data

    def _dm_json(self, channel: FakeChannel) -> JSON:
        """Return a DM channel object."""
        assert channel.recipient_id is not None
        return {
            "id": str(channel.id),
            "type": ChannelType.DM,
            "last_message_id": str(channel.last_message_id) if channel.last_message_id else None,
            "flags": 0,
            "recipients": [self.users[channel.recipient_id].to_json()],
        }

    def _channel_json(self, channel: FakeChannel) -> JSON:
        """Return a channel object of either kind."""
        return self._dm_json(channel) if channel.type == ChannelType.DM else channel.to_json()

    def _dm_channel(self, user_id: int) -> FakeChannel:
        """Return (creating once) the DM channel between the bot and a user."""
        channel = self._dm_by_user.get(user_id)
        if channel is None:
            channel = FakeChannel(self.snowflake(), "", ChannelType.DM, recipient_id=user_id)
            self._dm_by_user[user_id] = channel
            self._channels[channel.id] = channel
        return channel

    def _permissions(
        self, guild: FakeGuild, user_id: int, channel: FakeChannel | None = None
    ) -> int:
        """Compute a member's permissions, applying channel overwrites like Discord."""
        if user_id == guild.owner_id:
            return Perm.ALL
        member = guild.members.get(user_id)
        if member is None:
            return 0
        perms = guild.everyone_role.permissions
        for role in guild.roles:
            if role.id in member.roles:
                perms |= role.permissions
        if perms & Perm.ADMINISTRATOR:
            return Perm.ALL
        if channel is None:
            return perms
        overwrites = channel.permission_overwrites

        def apply(items: Iterable[JSON], value: int) -> int:
            """Apply the combined allow/deny of some overwrites."""
            allow = deny = 0
            for o in items:
                allow |= int(o.get("allow", 0))
                deny |= int(o.get("deny", 0))
            return (value & ~deny) | allow

        perms = apply((o for o in overwrites if int(o["id"]) == guild.id), perms)
        perms = apply(
            (o for o in overwrites if int(o.get("type", 0)) == 0 and int(o["id"]) in member.roles),
            perms,
        )
        perms = apply(
            (o for o in overwrites if int(o.get("type", 0)) == 1 and int(o["id"]) == user_id),
            perms,
        )
        return perms

    # ------------------------------------------------------------------ gateway internals

    def _sessions_for(self, guild_id: int | None, intent: int = 0) -> list[GatewaySession]:
        """Return live sessions whose shard owns ``guild_id`` (DMs: shard 0) with ``intent``."""
        out = []
        for session in self.live_sessions():
            shard_id, shard_count = session.shard
            target = (guild_id >> 22) % shard_count if guild_id is not None else 0
            if shard_id == target and (session.intents & intent) == intent:
                out.append(session)
        return out

    def _dispatch_to(self, session: GatewaySession, event: str, data: JSON) -> None:
        """Send a DISPATCH (op 0) with the next sequence number, buffering it for RESUME."""
        session.seq += 1
        payload = {"op": 0, "t": event, "s": session.seq, "d": data}
        session.events.append(payload)
        del session.events[:-1000]
        if session.conn is not None:
            session.conn.put(payload)

    async def _gateway_handler(self, request: web.Request) -> web.WebSocketResponse:
        """Serve one gateway websocket connection."""
        ws = web.WebSocketResponse(autoping=True, compress=False)
        await ws.prepare(request)
        conn = GatewayConnection(ws, dict(request.query))
        if request.query.get("compress") == "zlib-stream":
            conn.compressor = zlib.compressobj()
        self.gateway_connections.append(conn)
        self._conns.add(conn)
        writer = asyncio.create_task(self._gateway_writer(conn), name="fake-discord-gw-writer")
        try:
            if request.query.get("encoding", "json") != "json":
                conn.put(_Close(4002, "Only JSON encoding is supported."))
            elif request.query.get("v", str(API_VERSION)) not in ("9", "10"):
                conn.put(_Close(4012, "Invalid API version."))
            else:
                conn.put(
                    {
                        "op": 10,
                        "d": {
                            "heartbeat_interval": self.heartbeat_interval_ms,
                            "_trace": ["fake-discord"],
                        },
                        "s": None,
                        "t": None,
                    }
                )
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    conn.put(_Close(4002, "Error while decoding payload."))
                    continue
                try:
                    payload = json.loads(msg.data)
                except ValueError:
                    conn.put(_Close(4002, "Error while decoding payload."))
                    continue
                self._gateway_op(conn, payload)
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            self._conns.discard(conn)
            session = conn.session
            if session is not None and session.conn is conn:
                session.conn = None
                if ws.close_code in (1000, 1001) and not conn.server_closed:
                    session.alive = False
            self._notify()
        return ws

    async def _gateway_writer(self, conn: GatewayConnection) -> None:
        """Send queued payloads in order, applying zlib-stream compression if negotiated."""
        while True:
            item = await conn.queue.get()
            if isinstance(item, _Close):
                conn.server_closed = True
                with contextlib.suppress(Exception):
                    await conn.ws.close(code=item.code, message=item.reason.encode())
                return
            raw = _dumps(item)
            try:
                if conn.compressor is not None:
                    chunk = conn.compressor.compress(raw.encode()) + conn.compressor.flush(
                        zlib.Z_SYNC_FLUSH
                    )
                    await conn.ws.send_bytes(chunk)
                else:
                    await conn.ws.send_str(raw)
            except (ConnectionError, RuntimeError):
                return
            conn.sent.append(item)

    def _gateway_op(self, conn: GatewayConnection, payload: Any) -> None:
        """Handle one client gateway payload."""
        if not isinstance(payload, dict):
            conn.put(_Close(4002, "Error while decoding payload."))
            return
        op = payload.get("op")
        data = payload.get("d")
        if op == 1:
            self.heartbeats += 1
            if self.ack_heartbeats:
                conn.put({"op": 11, "d": None, "s": None, "t": None})
        elif op == 2:
            if conn.session is not None:
                conn.put(_Close(4005, "Already authenticated."))
            else:
                self._identify(conn, data if isinstance(data, dict) else {})
        elif op == 6:
            self._resume(conn, data if isinstance(data, dict) else {})
        elif conn.session is None:
            conn.put(_Close(4003, "Not authenticated."))
        elif op == 3:
            self.presence_updates.append(data if isinstance(data, dict) else {})
        elif op == 4:
            pass
        elif op == 8 and isinstance(data, dict):
            self._members_chunk(conn.session, data)
        else:
            conn.put(_Close(4001, "Unknown opcode."))

    def _identify(self, conn: GatewayConnection, data: JSON) -> None:
        """Handle IDENTIFY: check token and intents, send READY and GUILD_CREATEs."""
        if data.get("token") != self.token:
            conn.put(_Close(4004, "Authentication failed."))
            return
        intents = data.get("intents")
        if not isinstance(intents, int) or intents < 0:
            conn.put(_Close(4013, "Invalid intent(s)."))
            return
        if intents & Intent.PRIVILEGED & ~self.privileged_intents:
            conn.put(_Close(4014, "Disallowed intent(s)."))
            return
        shard = data.get("shard") or [0, 1]
        if len(shard) != 2 or not 0 <= shard[0] < shard[1]:
            conn.put(_Close(4010, "Invalid shard."))
            return
        self.identifies.append(copy.deepcopy(data))
        session = GatewaySession(secrets.token_hex(16), intents, (shard[0], shard[1]), data)
        self.sessions.append(session)
        session.conn = conn
        conn.session = session
        guilds = [g for g in self.guilds.values() if (g.id >> 22) % shard[1] == shard[0]]
        ready: JSON = {
            "v": API_VERSION,
            "user": {
                **self.bot_user.to_json(),
                "verified": True,
                "mfa_enabled": False,
                "email": None,
            },
            "user_settings": {},
            "relationships": [],
            "private_channels": [],
            "presences": [],
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "guild_join_requests": [],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(self.application_id), "flags": self._application_flags()},
            "geo_ordered_rtc_regions": [],
            "auth": {},
            "_trace": ["fake-discord"],
        }
        if data.get("shard"):
            ready["shard"] = list(shard)
        self._dispatch_to(session, "READY", ready)
        for guild in guilds:
            self._dispatch_to(session, "GUILD_CREATE", self._guild_create_json(guild))
        self._notify()

    def _resume(self, conn: GatewayConnection, data: JSON) -> None:
        """Handle RESUME: replay missed events then RESUMED, or INVALID_SESSION."""
        if data.get("token") != self.token:
            conn.put(_Close(4004, "Authentication failed."))
            return
        session = next(
            (s for s in self.live_sessions() if s.session_id == data.get("session_id")), None
        )
        seq = data.get("seq")
        first = session.events[0]["s"] if session and session.events else 1
        if session is None or (isinstance(seq, int) and seq + 1 < first):
            conn.put({"op": 9, "d": False, "s": None, "t": None})
            return
        if session.conn is not None and session.conn is not conn:
            session.conn.put(_Close(4000, "Session resumed elsewhere."))
        session.conn = conn
        conn.session = session
        session.resumes += 1
        for event in session.events:
            if not isinstance(seq, int) or event["s"] > seq:
                conn.put(event)
        self._dispatch_to(session, "RESUMED", {"_trace": ["fake-discord"]})
        self._notify()

    def _members_chunk(self, session: GatewaySession, data: JSON) -> None:
        """Answer REQUEST_GUILD_MEMBERS with a single GUILD_MEMBERS_CHUNK."""
        guild = self.guilds.get(int(data.get("guild_id", 0)))
        if guild is None:
            return
        wanted = {int(u) for u in data.get("user_ids") or []}
        query = str(data.get("query") or "").lower()
        members = [
            self._member_json(guild, m)
            for m in guild.members.values()
            if (not wanted or m.user_id in wanted)
            and self.users[m.user_id].username.lower().startswith(query)
        ]
        chunk: JSON = {
            "guild_id": str(guild.id),
            "members": members,
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if data.get("nonce"):
            chunk["nonce"] = data["nonce"]
        self._dispatch_to(session, "GUILD_MEMBERS_CHUNK", chunk)

    def _application_flags(self) -> int:
        """Application flags matching the enabled privileged intents."""
        flags = 0
        if self.privileged_intents & Intent.GUILD_PRESENCES:
            flags |= 1 << 12
        if self.privileged_intents & Intent.GUILD_MEMBERS:
            flags |= 1 << 14
        if self.privileged_intents & Intent.MESSAGE_CONTENT:
            flags |= 1 << 18
        return flags

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

    # ------------------------------------------------------------------ REST plumbing

    def _add_routes(self, app: web.Application) -> None:
        """Register the gateway and REST routes."""
        app.router.add_get(GATEWAY_PATH, self._gateway_handler)
        p = API_PREFIX
        snow = r"{%s:\d+}"
        app_cmds = f"{p}/applications/{snow % 'app_id'}"
        guild = f"{p}/guilds/{snow % 'guild_id'}"
        channel = f"{p}/channels/{snow % 'channel_id'}"
        hook = f"{p}/webhooks/{snow % 'webhook_id'}/{{webhook_token}}"
        routes: list[tuple[str, str, Callable[[web.Request], Any]]] = [
            ("GET", f"{p}/gateway", self._get_gateway),
            ("GET", f"{p}/gateway/bot", self._get_gateway_bot),
            ("GET", f"{p}/users/@me", self._get_me),
            ("POST", f"{p}/users/@me/channels", self._create_dm),
            ("GET", f"{p}/users/{snow % 'user_id'}", self._get_user),
            ("GET", f"{p}/oauth2/applications/@me", self._get_application),
            ("GET", f"{p}/applications/@me", self._get_application),
            ("GET", f"{app_cmds}/commands", self._list_commands),
            ("PUT", f"{app_cmds}/commands", self._bulk_commands),
            ("POST", f"{app_cmds}/commands", self._upsert_command),
            ("GET", f"{app_cmds}/commands/{snow % 'command_id'}", self._get_command),
            ("PATCH", f"{app_cmds}/commands/{snow % 'command_id'}", self._edit_command),
            ("DELETE", f"{app_cmds}/commands/{snow % 'command_id'}", self._delete_command),
            ("GET", f"{app_cmds}/guilds/{snow % 'guild_id'}/commands", self._list_commands),
            ("PUT", f"{app_cmds}/guilds/{snow % 'guild_id'}/commands", self._bulk_commands),
            ("POST", f"{app_cmds}/guilds/{snow % 'guild_id'}/commands", self._upsert_command),
            (
                "GET",
                f"{app_cmds}/guilds/{snow % 'guild_id'}/commands/{snow % 'command_id'}",
                self._get_command,
            ),
            (
                "PATCH",
                f"{app_cmds}/guilds/{snow % 'guild_id'}/commands/{snow % 'command_id'}",
                self._edit_command,
            ),
            (
                "DELETE",
                f"{app_cmds}/guilds/{snow % 'guild_id'}/commands/{snow % 'command_id'}",
                self._delete_command,
            ),
            (
                "POST",
                f"{p}/interactions/{snow % 'webhook_id'}/{{webhook_token}}/callback",
                self._interaction_callback,
            ),
            ("POST", hook, self._create_followup),
            ("GET", f"{hook}/messages/@original", self._get_webhook_message),
            ("PATCH", f"{hook}/messages/@original", self._edit_webhook_message),
            ("DELETE", f"{hook}/messages/@original", self._delete_webhook_message),
            ("GET", f"{hook}/messages/{snow % 'message_id'}", self._get_webhook_message),
            ("PATCH", f"{hook}/messages/{snow % 'message_id'}", self._edit_webhook_message),
            ("DELETE", f"{hook}/messages/{snow % 'message_id'}", self._delete_webhook_message),
            ("GET", channel, self._get_channel),
            ("GET", f"{channel}/messages", self._list_messages),
            ("POST", f"{channel}/messages", self._create_channel_message),
            ("POST", f"{channel}/typing", self._typing),
            ("GET", f"{channel}/messages/{snow % 'message_id'}", self._get_channel_message),
            ("PATCH", f"{channel}/messages/{snow % 'message_id'}", self._edit_channel_message),
            ("DELETE", f"{channel}/messages/{snow % 'message_id'}", self._delete_channel_message),
            ("POST", f"{channel}/messages/{snow % 'message_id'}/crosspost", self._crosspost),
            ("GET", guild, self._get_guild),
            ("GET", f"{guild}/channels", self._get_guild_channels),
            ("GET", f"{guild}/members/{snow % 'user_id'}", self._get_member),
            ("GET", f"{guild}/scheduled-events", self._list_events),
            ("POST", f"{guild}/scheduled-events", self._create_event),
            ("GET", f"{guild}/scheduled-events/{snow % 'event_id'}", self._get_event),
            ("PATCH", f"{guild}/scheduled-events/{snow % 'event_id'}", self._edit_event),
            ("DELETE", f"{guild}/scheduled-events/{snow % 'event_id'}", self._delete_event),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, path, handler)

    @web.middleware
    async def _api_middleware(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        """Record API requests, check auth, inject failures and rate limits, add headers."""
        if not request.path.startswith(API_PREFIX + "/"):
            return await handler(request)  # type: ignore[no-any-return]
        rel = request.path[len(API_PREFIX) :]
        record = RecordedRequest(
            request.method,
            rel,
            dict(request.query),
            None,
            dict(request.headers),
            time.monotonic(),
        )
        self.requests.append(record)
        try:
            record.json, record.files = await self._read_body(request)
            self._records[id(request)] = record
            response = await self._process(request, handler, record)
        except DiscordAPIError as exc:
            response = _json_response(exc.body(), exc.status)
        except web.HTTPException as exc:
            response = _json_response(
                {"message": f"{exc.status}: {exc.reason}", "code": 0}, exc.status
            )
        finally:
            self._records.pop(id(request), None)
        record.status = response.status
        body = response.body if isinstance(response, web.Response) else None
        if isinstance(body, bytes) and response.content_type == "application/json":
            record.response = json.loads(body)
        self._notify()
        return response

    def _body(self, request: web.Request) -> Any:
        """The parsed JSON body (or ``payload_json``) of a request being handled."""
        return self._records[id(request)].json

    def _files(self, request: web.Request) -> list[str]:
        """The uploaded file names of a request being handled."""
        return self._records[id(request)].files

    async def _read_body(self, request: web.Request) -> tuple[Any, list[str]]:
        """Parse a JSON or multipart (``payload_json`` + files) request body."""
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            files = [f.filename for f in form.values() if isinstance(f, web.FileField)]
            raw = form.get("payload_json")
            body = json.loads(str(raw)) if raw is not None else {}
            return body, files
        raw_bytes = await request.read()
        if not raw_bytes:
            return None, []
        try:
            return json.loads(raw_bytes), []
        except ValueError:
            raise DiscordAPIError(400, 50109, "The request body contains invalid JSON.") from None

    async def _process(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Any],
        record: RecordedRequest,
    ) -> web.StreamResponse:
        """Run auth, failure injection, rate limiting and the handler for one request."""
        rel = record.path
        token_route = rel.startswith(("/interactions/", "/webhooks/"))
        authorized = request.headers.get("Authorization") == f"Bot {self.token}"
        if not token_route and rel != "/gateway" and not authorized:
            raise DiscordAPIError(401, 0, "401: Unauthorized")
        for rule in self._failures:
            method_ok = rule.method in ("*", request.method)
            if rule.remaining > 0 and method_ok and rule.pattern.fullmatch(rel):
                rule.remaining -= 1
                return self._failure_response(rule, request)
        if self._global_limit is not None and not token_route:
            window = self._global_window
            while window and window[0] <= record.time - 1.0:
                window.popleft()
            if len(window) >= self._global_limit:
                retry = _ceil_ms(window[0] + 1.0 - record.time)
                return self._rate_limited(retry, "global", is_global=True)
            window.append(record.time)
        bucket_hash, bucket = self._bucket(request, record.time)
        if bucket is not None and bucket.used >= self.bucket_limit:
            return self._rate_limited(
                _ceil_ms(bucket.reset_at - record.time), "user", bucket_hash=bucket_hash
            )
        if bucket is not None:
            bucket.used += 1
        response: web.StreamResponse = await handler(request)
        if bucket is not None:
            reset_after = _ceil_ms(bucket.reset_at - time.monotonic())
            response.headers.update(
                {
                    "X-RateLimit-Limit": str(self.bucket_limit),
                    "X-RateLimit-Remaining": str(max(0, self.bucket_limit - bucket.used)),
                    "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
                    "X-RateLimit-Reset-After": f"{reset_after:.3f}",
                    "X-RateLimit-Bucket": bucket_hash,
                }
            )
        return response

    def _bucket(self, request: web.Request, now: float) -> tuple[str, _Bucket | None]:
        """Return the rate-limit bucket (hash, state) for a matched route."""
        resource = request.match_info.route.resource
        if resource is None:
            return "", None
        route_key = f"{request.method} {resource.canonical}"
        bucket_hash = hashlib.sha1(route_key.encode()).hexdigest()[:32]
        info = request.match_info
        major = info.get("channel_id") or info.get("guild_id") or ""
        if "webhook_id" in info:
            major = f"{info['webhook_id']}:{info.get('webhook_token', '')}"
        key = (bucket_hash, major)
        bucket = self._buckets.get(key)
        if bucket is None or now >= bucket.reset_at:
            bucket = self._buckets[key] = _Bucket(now + self.bucket_window)
        return bucket_hash, bucket

    def _rate_limited(
        self,
        retry_after: float,
        scope: str,
        *,
        is_global: bool = False,
        bucket_hash: str = "global",
    ) -> web.Response:
        """Build a Discord 429 response."""
        retry_after = max(retry_after, 0.001)
        response = _json_response(
            {
                "message": "You are being rate limited.",
                "retry_after": retry_after,
                "global": is_global,
                "code": 0,
            },
            429,
        )
        response.headers.update(
            {
                "Retry-After": str(max(1, math.ceil(retry_after))),
                "X-RateLimit-Limit": str(self.bucket_limit),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
                "X-RateLimit-Reset-After": f"{retry_after:.3f}",
                "X-RateLimit-Bucket": bucket_hash,
                "X-RateLimit-Scope": scope,
                "Via": "1.1 google",
            }
        )
        if is_global:
            response.headers["X-RateLimit-Global"] = "true"
        return response

    def _failure_response(self, rule: _FailureRule, request: web.Request) -> web.Response:
        """Build the response for an injected failure."""
        if rule.status == 429:
            if not rule.via:
                return web.Response(
                    status=429,
                    text="<html><body>error code: 1015</body></html>",
                    content_type="text/html",
                    headers={"Retry-After": "1"},
                )
            return self._rate_limited(
                rule.retry_after,
                "global" if rule.is_global else rule.scope,
                is_global=rule.is_global,
            )
        defaults: dict[int, tuple[int, str]] = {
            400: (50035, "Invalid Form Body"),
            401: (0, "401: Unauthorized"),
            403: (50007, "Cannot send messages to this user"),
            404: (0, "404: Not Found"),
        }
        code, message = defaults.get(rule.status, (0, f"{rule.status}: Server Error"))
        body = {
            "message": rule.message if rule.message is not None else message,
            "code": rule.code if rule.code is not None else code,
        }
        return _json_response(body, rule.status)

    # ------------------------------------------------------------------ REST: misc

    async def _get_gateway(self, request: web.Request) -> web.Response:
        """GET /gateway."""
        return _json_response({"url": self.gateway_url})

    async def _get_gateway_bot(self, request: web.Request) -> web.Response:
        """GET /gateway/bot."""
        return _json_response(
            {
                "url": self.gateway_url,
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 1000 - len(self.identifies),
                    "reset_after": 86_400_000,
                    "max_concurrency": 1,
                },
            }
        )

    async def _get_me(self, request: web.Request) -> web.Response:
        """GET /users/@me."""
        return _json_response(
            {**self.bot_user.to_json(), "verified": True, "mfa_enabled": False, "locale": "en-US"}
        )

    async def _get_user(self, request: web.Request) -> web.Response:
        """GET /users/{id}."""
        user = self.users.get(int(request.match_info["user_id"]))
        if user is None:
            raise DiscordAPIError(404, 10013, "Unknown User")
        return _json_response(user.to_json())

    async def _get_application(self, request: web.Request) -> web.Response:
        """GET /oauth2/applications/@me."""
        owner = next(
            (u for u in self.users.values() if not u.bot),
            FakeUser(self.snowflake(), "app-owner"),
        )
        return _json_response(
            {
                "id": str(self.application_id),
                "name": self.bot_user.username,
                "icon": None,
                "description": "",
                "summary": "",
                "type": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "bot": self.bot_user.to_json(),
                "owner": owner.to_json(),
                "team": None,
                "verify_key": "0" * 64,
                "flags": self._application_flags(),
                "hook": True,
                "interactions_endpoint_url": None,
                "redirect_uris": [],
                "tags": [],
                "approximate_guild_count": len(self.guilds),
                "integration_types_config": {"0": {}},
                "install_params": None,
            }
        )

    # ------------------------------------------------------------------ REST: commands

    def _command_scope(self, request: web.Request) -> int | None:
        """Return the guild id of a command route (None for global), checking the app id."""
        if int(request.match_info["app_id"]) != self.application_id:
            raise DiscordAPIError(403, 50001, "Missing Access")
        guild_id = request.match_info.get("guild_id")
        if guild_id is None:
            return None
        if int(guild_id) not in self.guilds:
            raise DiscordAPIError(403, 50001, "Missing Access")
        return int(guild_id)

    async def _list_commands(self, request: web.Request) -> web.Response:
        """GET application commands."""
        return _json_response(self.commands(self._command_scope(request)))

    async def _bulk_commands(self, request: web.Request) -> web.Response:
        """PUT (bulk overwrite) application commands."""
        scope = self._command_scope(request)
        body = self._body(request)
        if not isinstance(body, list):
            raise form_error("_root", "LIST_TYPE_CONVERT", "Must be a list.")
        for index, payload in enumerate(body):
            self._validate_command(payload, str(index))
        keys = [(c["name"], c.get("type", 1)) for c in body]
        if len(keys) != len(set(keys)):
            raise form_error(
                "_root",
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                "Application command names must be unique",
            )
        if sum(1 for c in body if c.get("type", 1) == 1) > 100:
            raise DiscordAPIError(
                400, 30032, "Maximum number of application commands reached (100)"
            )
        old = {(c["name"], c.get("type", 1)): c for c in self._commands.get(scope, [])}
        self._commands[scope] = [
            self._command_json(p, scope, old.get((p["name"], p.get("type", 1)))) for p in body
        ]
        return _json_response(self.commands(scope))

    async def _upsert_command(self, request: web.Request) -> web.Response:
        """POST (create or overwrite by name) an application command."""
        scope = self._command_scope(request)
        payload = self._body(request)
        self._validate_command(payload, "")
        existing = self._commands.setdefault(scope, [])
        key = (payload["name"], payload.get("type", 1))
        old = next((c for c in existing if (c["name"], c.get("type", 1)) == key), None)
        cmd = self._command_json(payload, scope, old)
        if old is not None:
            existing[existing.index(old)] = cmd
        else:
            existing.append(cmd)
        return _json_response(copy.deepcopy(cmd), 200 if old else 201)

    def _command_by_id(self, request: web.Request) -> tuple[int | None, JSON]:
        """Find the command addressed by a route."""
        scope = self._command_scope(request)
        cid = request.match_info["command_id"]
        for cmd in self._commands.get(scope, []):
            if cmd["id"] == cid:
                return scope, cmd
        raise DiscordAPIError(404, 10063, "Unknown application command")

    async def _get_command(self, request: web.Request) -> web.Response:
        """GET one application command."""
        return _json_response(copy.deepcopy(self._command_by_id(request)[1]))

    async def _edit_command(self, request: web.Request) -> web.Response:
        """PATCH one application command."""
        scope, cmd = self._command_by_id(request)
        merged = {**cmd, **(self._body(request) or {})}
        self._validate_command(merged, "")
        new = self._command_json(merged, scope, cmd)
        commands = self._commands[scope]
        commands[commands.index(cmd)] = new
        return _json_response(copy.deepcopy(new))

    async def _delete_command(self, request: web.Request) -> web.Response:
        """DELETE one application command."""
        scope, cmd = self._command_by_id(request)
        self._commands[scope].remove(cmd)
        return web.Response(status=204)

    def _command_json(self, payload: JSON, guild_id: int | None, old: JSON | None) -> JSON:
        """Build the stored application command object."""
        cmd: JSON = {
            "id": old["id"] if old else str(self.snowflake()),
            "application_id": str(self.application_id),
            "version": str(self.snowflake()),
            "type": payload.get("type", 1),
            "name": payload["name"],
            "name_localizations": payload.get("name_localizations") or None,
            "description": payload.get("description", ""),
            "description_localizations": payload.get("description_localizations") or None,
            "options": copy.deepcopy(payload.get("options") or []),
            "default_member_permissions": payload.get("default_member_permissions"),
            "nsfw": bool(payload.get("nsfw", False)),
            "integration_types": payload.get("integration_types") or [0],
            "contexts": payload.get("contexts"),
        }
        if guild_id is not None:
            cmd["guild_id"] = str(guild_id)
        else:
            cmd["dm_permission"] = payload.get("dm_permission", True)
        return cmd

    def _validate_command(self, payload: Any, path: str) -> None:
        """Validate an application command payload the way Discord does (main rules)."""
        prefix = f"{path}." if path else ""
        if not isinstance(payload, dict):
            raise form_error(
                path or "_root", "DICT_TYPE_CONVERT", "Only dictionaries may be used."
            )
        ctype = payload.get("type", 1)
        name = payload.get("name")
        if not isinstance(name, str):
            raise form_error(f"{prefix}name", "BASE_TYPE_REQUIRED", "This field is required")
        if ctype == 1:
            self._validate_name(name, f"{prefix}name")
            self._validate_description(payload.get("description"), f"{prefix}description")
            self._validate_options(payload.get("options") or [], f"{prefix}options", depth=0)
        elif not 1 <= len(name) <= 32:
            raise form_error(
                f"{prefix}name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length."
            )
        self._validate_localizations(payload, prefix, ctype == 1)
        for ctx in payload.get("contexts") or []:
            if ctx not in (0, 1, 2):
                raise form_error(
                    f"{prefix}contexts",
                    "ENUM_TYPE_COERCE",
                    f'Value "{ctx}" is not a valid enum value.',
                )

    def _validate_name(self, name: str, path: str) -> None:
        """Check a chat-input command or option name."""
        if not _COMMAND_NAME_RE.match(name) or name != name.lower():
            raise form_error(path, "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")

    def _validate_description(self, description: Any, path: str) -> None:
        """Check a chat-input command or option description."""
        if not isinstance(description, str) or not 1 <= len(description) <= 100:
            raise form_error(path, "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")

    def _validate_localizations(self, payload: JSON, prefix: str, chat_input: bool) -> None:
        """Check ``name_localizations`` / ``description_localizations`` keys and values."""
        for key in ("name_localizations", "description_localizations"):
            for locale, text in (payload.get(key) or {}).items():
                path = f"{prefix}{key}.{locale}"
                if locale not in DISCORD_LOCALES:
                    raise form_error(
                        path, "ENUM_TYPE_COERCE", f'Value "{locale}" is not a valid enum value.'
                    )
                if key == "name_localizations" and chat_input:
                    self._validate_name(str(text), path)
                elif key == "description_localizations":
                    self._validate_description(text, path)

    def _validate_options(self, options: list[JSON], path: str, depth: int) -> None:
        """Check command options recursively (count, names, required-first, choices)."""
        if len(options) > 25:
            raise form_error(path, "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
        seen_optional = False
        names: set[str] = set()
        for i, opt in enumerate(options):
            opath = f"{path}.{i}"
            otype = opt.get("type")
            if otype not in range(1, 12):
                raise form_error(
                    f"{opath}.type", "ENUM_TYPE_COERCE", "Value is not a valid enum value."
                )
            self._validate_name(str(opt.get("name", "")), f"{opath}.name")
            self._validate_description(opt.get("description"), f"{opath}.description")
            self._validate_localizations(opt, f"{opath}.", True)
            if opt["name"] in names:
                raise form_error(
                    opath,
                    "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS",
                    "Option names must be unique",
                )
            names.add(opt["name"])
            if otype in (1, 2):
                if (otype == 2 and depth > 0) or (otype == 1 and depth > 1):
                    raise form_error(
                        opath,
                        "APPLICATION_COMMAND_OPTION_NESTING",
                        "Subcommands nested too deeply",
                    )
                self._validate_options(opt.get("options") or [], f"{opath}.options", depth + 1)
                continue
            if opt.get("required"):
                if seen_optional:
                    raise form_error(
                        opath,
                        "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                        "Required options must be placed before non-required options",
                    )
            else:
                seen_optional = True
            choices = opt.get("choices") or []
            if choices and opt.get("autocomplete"):
                raise form_error(
                    f"{opath}.autocomplete",
                    "APPLICATION_COMMAND_OPTION_AUTOCOMPLETE_CHOICES",
                    "Autocomplete cannot be set with choices",
                )
            if len(choices) > 25:
                raise form_error(
                    f"{opath}.choices", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
                )
            for j, choice in enumerate(choices):
                if not 1 <= len(str(choice.get("name", ""))) <= 100:
                    raise form_error(
                        f"{opath}.choices.{j}.name",
                        "BASE_TYPE_BAD_LENGTH",
                        "Must be between 1 and 100 in length.",
                    )
                if isinstance(choice.get("value"), str) and len(choice["value"]) > 100:
                    raise form_error(
                        f"{opath}.choices.{j}.value",
                        "BASE_TYPE_MAX_LENGTH",
                        "Must be 100 or fewer in length.",
                    )

    # ------------------------------------------------------------------ messages

    def _validate_message(
        self, payload: JSON, *, files: Sequence[str] = (), partial: bool = False
    ) -> None:
        """Check message limits (content, embeds, components) and emptiness."""
        content = payload.get("content")
        if content is not None and not isinstance(content, str):
            raise form_error("content", "BASE_TYPE_STRING", "Must be a string.")
        if content and len(content) > 2000:
            raise form_error("content", "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.")
        embeds = payload.get("embeds") or []
        if len(embeds) > 10:
            raise form_error("embeds", "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
        total = 0
        limits = {"title": 256, "description": 4096}
        for i, embed in enumerate(embeds):
            for key, limit in limits.items():
                text = embed.get(key) or ""
                total += len(text)
                if len(text) > limit:
                    raise form_error(
                        f"embeds.{i}.{key}",
                        "BASE_TYPE_MAX_LENGTH",
                        f"Must be {limit} or fewer in length.",
                    )
            fields = embed.get("fields") or []
            if len(fields) > 25:
                raise form_error(
                    f"embeds.{i}.fields", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
                )
            for j, fld in enumerate(fields):
                if not 1 <= len(fld.get("name") or "") <= 256:
                    raise form_error(
                        f"embeds.{i}.fields.{j}.name",
                        "BASE_TYPE_BAD_LENGTH",
                        "Must be between 1 and 256 in length.",
                    )
                if not 1 <= len(fld.get("value") or "") <= 1024:
                    raise form_error(
                        f"embeds.{i}.fields.{j}.value",
                        "BASE_TYPE_BAD_LENGTH",
                        "Must be between 1 and 1024 in length.",
                    )
                total += len(fld["name"]) + len(fld["value"])
            total += len((embed.get("footer") or {}).get("text") or "")
            total += len((embed.get("author") or {}).get("name") or "")
        if total > 6000:
            raise form_error(
                "embeds", "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000"
            )
        components = payload.get("components") or []
        flags = int(payload.get("flags") or 0)
        if not flags & MSG_FLAG_COMPONENTS_V2:
            if len(components) > 5:
                raise form_error(
                    "components", "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length."
                )
            for i, row in enumerate(components):
                if row.get("type") != 1:
                    raise form_error(
                        f"components.{i}.type",
                        "UNION_TYPE_CHOICES",
                        "Top-level components must be action rows",
                    )
                if not 1 <= len(row.get("components") or []) <= 5:
                    raise form_error(
                        f"components.{i}.components",
                        "BASE_TYPE_BAD_LENGTH",
                        "Must be between 1 and 5 in length.",
                    )
        for comp in _iter_components(components):
            if len(str(comp.get("custom_id") or "")) > 100:
                raise form_error(
                    "components",
                    "BASE_TYPE_MAX_LENGTH",
                    "custom_id must be 100 or fewer in length.",
                )
            if len(str(comp.get("label") or "")) > 80:
                raise form_error(
                    "components", "BASE_TYPE_MAX_LENGTH", "label must be 80 or fewer in length."
                )
        if partial:
            return
        if not (
            content
            or embeds
            or components
            or files
            or payload.get("sticker_ids")
            or payload.get("poll")
        ):
            raise DiscordAPIError(400, 50006, "Cannot send an empty message")

    def _create_message(
        self,
        channel_id: int,
        payload: JSON,
        *,
        author: FakeUser,
        msg_type: int = 0,
        flags: int | None = None,
        interaction: FakeInteraction | None = None,
        files: Sequence[str] = (),
    ) -> JSON:
        """Store a new message and dispatch MESSAGE_CREATE for visible ones."""
        mid = self.snowflake()
        if flags is None:
            flags = int(payload.get("flags") or 0) & SETTABLE_MESSAGE_FLAGS
        message: JSON = {
            "id": str(mid),
            "channel_id": str(channel_id),
            "type": msg_type,
            "content": payload.get("content") or "",
            "author": author.to_json(),
            "attachments": [self._attachment_json(name) for name in files],
            "embeds": copy.deepcopy(payload.get("embeds") or []),
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": bool(payload.get("tts", False)),
            "timestamp": _now_iso(),
            "edited_timestamp": None,
            "flags": flags,
            "components": copy.deepcopy(payload.get("components") or []),
        }
        if payload.get("nonce") is not None:
            message["nonce"] = payload["nonce"]
        reference = payload.get("message_reference")
        if isinstance(reference, dict) and reference.get("message_id"):
            ref_id = int(reference["message_id"])
            message["type"] = 19
            message["message_reference"] = {
                "type": 0,
                "message_id": str(ref_id),
                "channel_id": str(reference.get("channel_id") or channel_id),
            }
            message["referenced_message"] = copy.deepcopy(self._messages.get(ref_id))
        if interaction is not None:
            message["webhook_id"] = str(self.application_id)
            message["application_id"] = str(self.application_id)
            user = self.users[interaction.user_id].to_json()
            message["interaction_metadata"] = {
                "id": str(interaction.id),
                "type": interaction.type,
                "user": user,
                "authorizing_integration_owners": interaction.payload[
                    "authorizing_integration_owners"
                ],
            }
            if interaction.type == 2:
                message["interaction_metadata"]["name"] = interaction.payload["data"]["name"]
                message["interaction"] = {
                    "id": str(interaction.id),
                    "type": 2,
                    "name": interaction.payload["data"]["name"],
                    "user": user,
                }
        ephemeral = bool(flags & MSG_FLAG_EPHEMERAL)
        self._messages[mid] = message
        self._message_meta[mid] = _MessageMeta(
            channel_id,
            ephemeral,
            interaction.id if interaction else None,
            interaction.user_id if interaction and ephemeral else None,
        )
        self._channel_messages.setdefault(channel_id, []).append(mid)
        channel = self._channels.get(channel_id)
        if channel is not None and not ephemeral:
            channel.last_message_id = mid
        if not ephemeral:
            self._message_event("MESSAGE_CREATE", message)
        return message

    def _attachment_json(self, filename: str) -> JSON:
        """Return an attachment object for an uploaded file."""
        aid = self.snowflake()
        url = f"{self.base_url}/attachments/{aid}/{filename}"
        return {"id": str(aid), "filename": filename, "size": 0, "url": url, "proxy_url": url}

    def _message_event(self, event: str, message: JSON) -> None:
        """Dispatch a message event to sessions with the matching intent."""
        channel = self._channels.get(int(message["channel_id"]))
        guild_id = channel.guild_id if channel else None
        data = copy.deepcopy(message)
        if guild_id is not None:
            data["guild_id"] = str(guild_id)
            guild = self.guilds[guild_id]
            author_id = int(message["author"]["id"])
            if author_id in guild.members and event != "MESSAGE_DELETE":
                member = self._member_json(guild, guild.members[author_id])
                member.pop("user")
                data["member"] = member
        intent = Intent.GUILD_MESSAGES if guild_id is not None else Intent.DIRECT_MESSAGES
        self.dispatch(event, data, guild_id=guild_id, intent=intent)

    def _edit_message(self, message: JSON, payload: JSON, files: Sequence[str] = ()) -> JSON:
        """Apply an edit to a stored message."""
        self._validate_message(payload, partial=True)
        for key in ("content", "embeds", "components"):
            if key in payload:
                message[key] = (
                    copy.deepcopy(payload[key])
                    if payload[key] is not None
                    else ("" if key == "content" else [])
                )
        if "flags" in payload and payload["flags"] is not None:
            keep = int(message["flags"]) & ~MSG_FLAG_SUPPRESS_EMBEDS
            message["flags"] = keep | (int(payload["flags"]) & MSG_FLAG_SUPPRESS_EMBEDS)
        if "attachments" in payload:
            kept = {str(a.get("id")) for a in payload["attachments"] or []}
            message["attachments"] = [a for a in message["attachments"] if a["id"] in kept]
        message["attachments"].extend(self._attachment_json(name) for name in files)
        was_loading = bool(int(message["flags"]) & MSG_FLAG_LOADING)
        message["flags"] = int(message["flags"]) & ~MSG_FLAG_LOADING
        if not was_loading:
            message["edited_timestamp"] = _now_iso()
        if not self._message_meta[int(message["id"])].ephemeral:
            self._message_event("MESSAGE_UPDATE", message)
        return message

    def _delete_message(self, message_id: int) -> None:
        """Delete a stored message."""
        message = self._messages.pop(message_id)
        meta = self._message_meta.pop(message_id)
        self._channel_messages[meta.channel_id].remove(message_id)
        if not meta.ephemeral:
            self._message_event(
                "MESSAGE_DELETE",
                {
                    "id": message["id"],
                    "channel_id": message["channel_id"],
                    "author": message["author"],
                },
            )

    def _channel_or_404(self, request: web.Request) -> FakeChannel:
        """Return the channel addressed by the route."""
        channel = self._channels.get(int(request.match_info["channel_id"]))
        if channel is None:
            raise DiscordAPIError(404, 10003, "Unknown Channel")
        return channel

    def _check_bot_access(self, channel: FakeChannel, needed: int) -> None:
        """Raise 403 unless the bot has ``needed`` in a guild channel."""
        if channel.guild_id is None:
            return
        perms = self._permissions(self.guilds[channel.guild_id], self.bot_user.id, channel)
        if not perms & Perm.VIEW_CHANNEL:
            raise DiscordAPIError(403, 50001, "Missing Access")
        if perms & needed != needed:
            raise DiscordAPIError(403, 50013, "Missing Permissions")

    def _channel_message_or_404(self, request: web.Request) -> tuple[FakeChannel, JSON]:
        """Return the channel and message addressed by the route."""
        channel = self._channel_or_404(request)
        message = self._messages.get(int(request.match_info["message_id"]))
        if message is None or int(message["channel_id"]) != channel.id:
            raise DiscordAPIError(404, 10008, "Unknown Message")
        return channel, message

    # ------------------------------------------------------------------ REST: channels

    async def _get_channel(self, request: web.Request) -> web.Response:
        """GET /channels/{id}."""
        channel = self._channel_or_404(request)
        self._check_bot_access(channel, Perm.VIEW_CHANNEL)
        return _json_response(self._channel_json(channel))

    async def _create_dm(self, request: web.Request) -> web.Response:
        """POST /users/@me/channels (same channel for the same recipient)."""
        body = self._body(request) or {}
        try:
            user = self.users[int(body["recipient_id"])]
        except (KeyError, TypeError, ValueError):
            raise DiscordAPIError(400, 50033, "Invalid Recipient(s)") from None
        return _json_response(self._dm_json(self._dm_channel(user.id)))

    async def _typing(self, request: web.Request) -> web.Response:
        """POST /channels/{id}/typing."""
        self._channel_or_404(request)
        return web.Response(status=204)

    async def _list_messages(self, request: web.Request) -> web.Response:
        """GET /channels/{id}/messages (newest first, ``limit``/``before``/``after``)."""
        channel = self._channel_or_404(request)
        self._check_bot_access(channel, Perm.READ_MESSAGE_HISTORY)
        ids = [
            mid
            for mid in self._channel_messages.get(channel.id, [])
            if not self._message_meta[mid].ephemeral
        ]
        if "before" in request.query:
            ids = [m for m in ids if m < int(request.query["before"])]
        if "after" in request.query:
            ids = [m for m in ids if m > int(request.query["after"])]
        limit = min(100, int(request.query.get("limit", 50)))
        newest = sorted(ids, reverse=True)[:limit]
        return _json_response([self._messages[m] for m in newest])

    async def _create_channel_message(self, request: web.Request) -> web.Response:
        """POST /channels/{id}/messages (honours ``nonce`` + ``enforce_nonce``)."""
        channel = self._channel_or_404(request)
        body = self._body(request) or {}
        files: list[str] = self._files(request)
        if channel.type == ChannelType.CATEGORY:
            raise DiscordAPIError(400, 50008, "Cannot send messages in a non-text channel")
        if channel.type == ChannelType.DM:
            assert channel.recipient_id is not None
            if not self.users[channel.recipient_id].dms_open:
                raise DiscordAPIError(403, 50007, "Cannot send messages to this user")
        else:
            self._check_bot_access(channel, Perm.VIEW_CHANNEL | Perm.SEND_MESSAGES)
        self._validate_message(body, files=files)
        nonce = body.get("nonce")
        if nonce is not None:
            if not isinstance(nonce, (int, str)) or len(str(nonce)) > 25:
                raise form_error("nonce", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
            key = (channel.id, str(nonce))
            seen = self._nonces.get(key)
            now = time.monotonic()
            if (
                body.get("enforce_nonce")
                and seen is not None
                and now - seen[1] <= self.nonce_window
                and seen[0] in self._messages
            ):
                return _json_response(copy.deepcopy(self._messages[seen[0]]))
        message = self._create_message(channel.id, body, author=self.bot_user, files=files)
        if nonce is not None:
            self._nonces[(channel.id, str(nonce))] = (int(message["id"]), time.monotonic())
        return _json_response(copy.deepcopy(message))

    async def _get_channel_message(self, request: web.Request) -> web.Response:
        """GET /channels/{id}/messages/{id}."""
        return _json_response(copy.deepcopy(self._channel_message_or_404(request)[1]))

    async def _edit_channel_message(self, request: web.Request) -> web.Response:
        """PATCH /channels/{id}/messages/{id}."""
        _, message = self._channel_message_or_404(request)
        if int(message["author"]["id"]) != self.bot_user.id:
            raise DiscordAPIError(403, 50005, "Cannot edit a message authored by another user")
        self._edit_message(message, self._body(request) or {})
        return _json_response(copy.deepcopy(message))

    async def _delete_channel_message(self, request: web.Request) -> web.Response:
        """DELETE /channels/{id}/messages/{id}."""
        channel, message = self._channel_message_or_404(request)
        if int(message["author"]["id"]) != self.bot_user.id:
            self._check_bot_access(channel, Perm.MANAGE_MESSAGES)
        self._delete_message(int(message["id"]))
        return web.Response(status=204)

    async def _crosspost(self, request: web.Request) -> web.Response:
        """POST /channels/{id}/messages/{id}/crosspost (announcement channels only)."""
        channel, message = self._channel_message_or_404(request)
        if channel.type != ChannelType.ANNOUNCEMENT:
            raise DiscordAPIError(400, 50024, "Cannot execute action on this channel type")
        if int(message["flags"]) & MSG_FLAG_CROSSPOSTED:
            raise DiscordAPIError(400, 40033, "This message has already been crossposted.")
        message["flags"] = int(message["flags"]) | MSG_FLAG_CROSSPOSTED
        self._message_event("MESSAGE_UPDATE", message)
        return _json_response(copy.deepcopy(message))

    # ------------------------------------------------------------------ REST: guilds

    def _guild_or_404(self, request: web.Request) -> FakeGuild:
        """Return the guild addressed by the route."""
        guild = self.guilds.get(int(request.match_info["guild_id"]))
        if guild is None:
            raise DiscordAPIError(404, 10004, "Unknown Guild")
        return guild

    async def _get_guild(self, request: web.Request) -> web.Response:
        """GET /guilds/{id}."""
        guild = self._guild_or_404(request)
        data = self._guild_json(guild)
        if request.query.get("with_counts") in ("1", "true", "True"):
            data["approximate_member_count"] = len(guild.members)
            data["approximate_presence_count"] = 0
        return _json_response(data)

    async def _get_guild_channels(self, request: web.Request) -> web.Response:
        """GET /guilds/{id}/channels."""
        guild = self._guild_or_404(request)
        return _json_response([c.to_json() for c in guild.channels])

    async def _get_member(self, request: web.Request) -> web.Response:
        """GET /guilds/{id}/members/{user}."""
        guild = self._guild_or_404(request)
        member = guild.members.get(int(request.match_info["user_id"]))
        if member is None:
            raise DiscordAPIError(404, 10007, "Unknown Member")
        return _json_response(self._member_json(guild, member))

    # ------------------------------------------------------------------ REST: scheduled events

    def _event_or_404(self, request: web.Request) -> tuple[FakeGuild, JSON]:
        """Return the guild and scheduled event addressed by the route."""
        guild = self._guild_or_404(request)
        event = self._events.get(guild.id, {}).get(int(request.match_info["event_id"]))
        if event is None:
            raise DiscordAPIError(404, 10070, "Unknown Guild Scheduled Event")
        return guild, event

    def _event_out(self, event: JSON, request: web.Request) -> JSON:
        """Return an event as sent to the client (``user_count`` when asked)."""
        data = copy.deepcopy(event)
        if request.query.get("with_user_count") not in ("1", "true", "True"):
            data.pop("user_count", None)
        return data

    def _check_event_permission(self, guild: FakeGuild, event: JSON | None) -> None:
        """Raise 403 unless the bot may create (or manage) this event."""
        perms = self._permissions(guild, self.bot_user.id)
        if perms & Perm.MANAGE_EVENTS:
            return
        own = event is None or event.get("creator_id") == str(self.bot_user.id)
        if perms & Perm.CREATE_EVENTS and own:
            return
        raise DiscordAPIError(403, 50013, "Missing Permissions")

    def _validate_event(self, event: JSON, *, creating: bool, start_changed: bool) -> None:
        """Check a scheduled event the way Discord does."""
        name = event.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            raise form_error(
                "name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
            )
        description = event.get("description")
        if description is not None and len(str(description)) > 1000:
            raise form_error(
                "description", "BASE_TYPE_MAX_LENGTH", "Must be 1000 or fewer in length."
            )
        if event.get("privacy_level") != 2:
            if event.get("privacy_level") is None:
                raise form_error("privacy_level", "BASE_TYPE_REQUIRED", "This field is required")
            raise form_error(
                "privacy_level", "ENUM_TYPE_COERCE", "Value is not a valid enum value."
            )
        entity_type = event.get("entity_type")
        if entity_type is None:
            raise form_error("entity_type", "BASE_TYPE_REQUIRED", "This field is required")
        if entity_type not in (1, 2, 3):
            raise form_error("entity_type", "ENUM_TYPE_COERCE", "Value is not a valid enum value.")
        if event.get("scheduled_start_time") is None:
            raise form_error(
                "scheduled_start_time", "BASE_TYPE_REQUIRED", "This field is required"
            )
        start = _parse_time(event["scheduled_start_time"], "scheduled_start_time")
        end = None
        if event.get("scheduled_end_time") is not None:
            end = _parse_time(event["scheduled_end_time"], "scheduled_end_time")
        if entity_type == 3:
            location = (event.get("entity_metadata") or {}).get("location")
            if not location:
                raise form_error(
                    "entity_metadata.location", "BASE_TYPE_REQUIRED", "This field is required"
                )
            if len(str(location)) > 100:
                raise form_error(
                    "entity_metadata.location",
                    "BASE_TYPE_MAX_LENGTH",
                    "Must be 100 or fewer in length.",
                )
            if end is None:
                raise form_error(
                    "scheduled_end_time", "BASE_TYPE_REQUIRED", "This field is required"
                )
            if event.get("channel_id") is not None:
                raise form_error(
                    "channel_id",
                    "GUILD_SCHEDULED_EVENT_CHANNEL_ID_INVALID",
                    "External events must not have a channel",
                )
        else:
            channel = self._channels.get(int(event.get("channel_id") or 0))
            wanted = ChannelType.VOICE if entity_type == 2 else 13
            if channel is None or channel.type != wanted:
                raise form_error(
                    "channel_id", "BASE_TYPE_REQUIRED", "A voice or stage channel is required"
                )
        if end is not None and end <= start:
            raise form_error(
                "scheduled_end_time",
                "GUILD_SCHEDULED_EVENT_END_BEFORE_START",
                "Cannot schedule event to end before starting.",
            )
        if self.strict_event_times and (creating or start_changed) and start <= datetime.now(UTC):
            raise form_error(
                "scheduled_start_time",
                "GUILD_SCHEDULED_EVENT_SCHEDULE_PAST",
                "Cannot schedule event in the past.",
            )

    async def _list_events(self, request: web.Request) -> web.Response:
        """GET /guilds/{id}/scheduled-events."""
        guild = self._guild_or_404(request)
        events = self._events.get(guild.id, {}).values()
        return _json_response([self._event_out(e, request) for e in events])

    async def _get_event(self, request: web.Request) -> web.Response:
        """GET /guilds/{id}/scheduled-events/{id}."""
        return _json_response(self._event_out(self._event_or_404(request)[1], request))

    async def _create_event(self, request: web.Request) -> web.Response:
        """POST /guilds/{id}/scheduled-events."""
        guild = self._guild_or_404(request)
        self._check_event_permission(guild, None)
        body = self._body(request) or {}
        eid = self.snowflake()
        event: JSON = {
            "id": str(eid),
            "guild_id": str(guild.id),
            "channel_id": body.get("channel_id"),
            "creator_id": str(self.bot_user.id),
            "creator": self.bot_user.to_json(),
            "name": body.get("name"),
            "description": body.get("description"),
            "scheduled_start_time": body.get("scheduled_start_time"),
            "scheduled_end_time": body.get("scheduled_end_time"),
            "privacy_level": body.get("privacy_level"),
            "status": 1,
            "entity_type": body.get("entity_type"),
            "entity_id": None,
            "entity_metadata": body.get("entity_metadata"),
            "user_count": 0,
            "image": None,
            "recurrence_rule": None,
        }
        self._validate_event(event, creating=True, start_changed=True)
        if event["channel_id"] is not None:
            event["channel_id"] = str(event["channel_id"])
        if body.get("image"):
            event["image"] = hashlib.md5(str(body["image"]).encode()).hexdigest()
        self._events.setdefault(guild.id, {})[eid] = event
        self._event_dispatch("GUILD_SCHEDULED_EVENT_CREATE", event)
        return _json_response(self._event_out(event, request))

    async def _edit_event(self, request: web.Request) -> web.Response:
        """PATCH /guilds/{id}/scheduled-events/{id} (with Discord's status transitions)."""
        guild, event = self._event_or_404(request)
        self._check_event_permission(guild, event)
        body = self._body(request) or {}
        status = body.get("status", event["status"])
        allowed = {1: {1, 2, 4}, 2: {2, 3}, 3: set(), 4: set()}[event["status"]]
        if status not in allowed:
            raise form_error(
                "status",
                "GUILD_SCHEDULED_EVENT_INVALID_STATUS_TRANSITION",
                "Invalid status transition.",
            )
        updated = copy.deepcopy(event)
        for key in (
            "name",
            "description",
            "scheduled_start_time",
            "scheduled_end_time",
            "privacy_level",
            "entity_type",
            "entity_metadata",
            "channel_id",
            "status",
        ):
            if key in body:
                updated[key] = body[key]
        if "image" in body:
            updated["image"] = (
                hashlib.md5(str(body["image"]).encode()).hexdigest() if body["image"] else None
            )
        start_changed = updated["scheduled_start_time"] != event["scheduled_start_time"]
        self._validate_event(updated, creating=False, start_changed=start_changed)
        if updated["channel_id"] is not None:
            updated["channel_id"] = str(updated["channel_id"])
        event.clear()
        event.update(updated)
        self._event_dispatch("GUILD_SCHEDULED_EVENT_UPDATE", event)
        return _json_response(self._event_out(event, request))

    async def _delete_event(self, request: web.Request) -> web.Response:
        """DELETE /guilds/{id}/scheduled-events/{id}."""
        guild, event = self._event_or_404(request)
        self._check_event_permission(guild, event)
        del self._events[guild.id][int(event["id"])]
        self._event_dispatch("GUILD_SCHEDULED_EVENT_DELETE", event)
        return web.Response(status=204)

    def _event_dispatch(self, name: str, event: JSON) -> None:
        """Dispatch a scheduled-event gateway event."""
        data = copy.deepcopy(event)
        data.pop("user_count", None)
        self.dispatch(
            name, data, guild_id=int(event["guild_id"]), intent=Intent.GUILD_SCHEDULED_EVENTS
        )

    # ------------------------------------------------------------------ REST: interactions

    def _interaction_for_token(self, request: web.Request) -> FakeInteraction:
        """Return the interaction of a webhook route (app id + interaction token)."""
        inter = self._interactions_by_token.get(request.match_info["webhook_token"])
        if int(request.match_info["webhook_id"]) != self.application_id or inter is None:
            raise DiscordAPIError(404, 10015, "Unknown Webhook")
        if time.monotonic() - inter.created > INTERACTION_TOKEN_LIFETIME:
            raise DiscordAPIError(401, 50027, "Invalid Webhook Token")
        return inter

    def _record_response(
        self,
        inter: FakeInteraction,
        kind: str,
        ctype: int | None,
        payload: JSON | None,
        message: JSON | None,
    ) -> None:
        """Append to an interaction's response log."""
        inter.responses.append(
            InteractionResponse(
                kind, ctype, copy.deepcopy(payload), copy.deepcopy(message), time.monotonic()
            )
        )

    async def _interaction_callback(self, request: web.Request) -> web.Response:
        """POST /interactions/{id}/{token}/callback (types 4-9; ``with_response`` aware)."""
        inter = self._interactions.get(int(request.match_info["webhook_id"]))
        if inter is None:
            raise DiscordAPIError(404, 10062, "Unknown interaction")
        if request.match_info["webhook_token"] != inter.token:
            raise DiscordAPIError(401, 50027, "Invalid Webhook Token")
        if inter.acknowledged:
            raise DiscordAPIError(400, 40060, "Interaction has already been acknowledged.")
        if inter.expired or time.monotonic() - inter.created > self.callback_deadline:
            raise DiscordAPIError(404, 10062, "Unknown interaction")
        body = self._body(request) or {}
        ctype = body.get("type")
        if ctype not in _CALLBACKS_FOR_INTERACTION_TYPE[inter.type]:
            raise form_error(
                "type",
                "INTERACTION_RESPONSE_TYPE_INVALID",
                f"Invalid interaction response type for interaction type {inter.type}",
            )
        data = body.get("data") or {}
        message: JSON | None = None
        msg_type = 20 if inter.type == 2 else 0
        files = self._files(request)
        if ctype == 4:
            self._validate_message(data, files=files)
            message = self._create_message(
                inter.channel_id,
                data,
                author=self.bot_user,
                msg_type=msg_type,
                interaction=inter,
                files=files,
            )
            inter.original_message_id = int(message["id"])
        elif ctype == 5:
            flags = (int(data.get("flags") or 0) & MSG_FLAG_EPHEMERAL) | MSG_FLAG_LOADING
            message = self._create_message(
                inter.channel_id,
                {"content": ""},
                author=self.bot_user,
                msg_type=msg_type,
                flags=flags,
                interaction=inter,
            )
            inter.original_message_id = int(message["id"])
        elif ctype in (6, 7):
            assert inter.message_id is not None
            target = self._messages.get(inter.message_id)
            if target is None:
                raise DiscordAPIError(404, 10008, "Unknown Message")
            if ctype == 7:
                self._edit_message(target, data, files)
            message = target
            inter.original_message_id = inter.message_id
        elif ctype == 8:
            self._validate_choices(data.get("choices"))
        elif ctype == 9:
            for key in ("custom_id", "title", "components"):
                if not data.get(key):
                    raise form_error(f"data.{key}", "BASE_TYPE_REQUIRED", "This field is required")
        inter.acknowledged = True
        inter.callback_type = ctype
        self._record_response(inter, "callback", ctype, body, message)
        if request.query.get("with_response") not in ("1", "true", "True"):
            return web.Response(status=204)
        flags = int((message or {}).get("flags") or 0)
        callback: JSON = {"id": str(inter.id), "type": inter.type}
        resource: JSON = {"type": ctype}
        if message is not None:
            callback.update(
                response_message_id=message["id"],
                response_message_loading=bool(flags & MSG_FLAG_LOADING),
                response_message_ephemeral=bool(flags & MSG_FLAG_EPHEMERAL),
            )
            resource["message"] = copy.deepcopy(message)
        return _json_response({"interaction": callback, "resource": resource})

    def _validate_choices(self, choices: Any) -> None:
        """Check autocomplete choices (max 25; names 1-100; string values <= 100)."""
        if not isinstance(choices, list):
            raise form_error("data.choices", "BASE_TYPE_REQUIRED", "This field is required")
        if len(choices) > 25:
            raise form_error(
                "data.choices", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
            )
        for i, choice in enumerate(choices):
            if not 1 <= len(str(choice.get("name", ""))) <= 100:
                raise form_error(
                    f"data.choices.{i}.name",
                    "BASE_TYPE_BAD_LENGTH",
                    "Must be between 1 and 100 in length.",
                )
            if isinstance(choice.get("value"), str) and len(choice["value"]) > 100:
                raise form_error(
                    f"data.choices.{i}.value",
                    "BASE_TYPE_MAX_LENGTH",
                    "Must be 100 or fewer in length.",
                )

    async def _create_followup(self, request: web.Request) -> web.Response:
        """POST /webhooks/{app}/{token}: follow-up (the first after a defer resolves it)."""
        inter = self._interaction_for_token(request)
        if not inter.acknowledged or inter.callback_type in (8, 9):
            raise DiscordAPIError(404, 10015, "Unknown Webhook")
        body = self._body(request) or {}
        files: list[str] = self._files(request)
        self._validate_message(body, files=files)
        original = (
            self._messages.get(inter.original_message_id) if inter.original_message_id else None
        )
        if (
            inter.callback_type == 5
            and original is not None
            and int(original["flags"]) & MSG_FLAG_LOADING
        ):
            message = self._edit_message(
                original, {k: v for k, v in body.items() if k != "flags"}, files
            )
        else:
            message = self._create_message(
                inter.channel_id, body, author=self.bot_user, interaction=inter, files=files
            )
        self._record_response(inter, "followup", None, body, message)
        if request.query.get("wait") not in ("1", "true", "True"):
            return web.Response(status=204)
        return _json_response(copy.deepcopy(message))

    def _webhook_message(self, request: web.Request) -> tuple[FakeInteraction, JSON, str]:
        """Return (interaction, message, kind suffix) for a webhook message route."""
        inter = self._interaction_for_token(request)
        raw_id = request.match_info.get("message_id")
        if raw_id is None:
            mid, suffix = inter.original_message_id, "original"
        else:
            mid, suffix = int(raw_id), "followup"
        message = self._messages.get(mid) if mid is not None else None
        meta = self._message_meta.get(mid) if mid is not None else None
        if message is None or meta is None:
            raise DiscordAPIError(404, 10008, "Unknown Message")
        if raw_id is not None and meta.interaction_id != inter.id:
            raise DiscordAPIError(404, 10008, "Unknown Message")
        return inter, message, suffix

    async def _get_webhook_message(self, request: web.Request) -> web.Response:
        """GET /webhooks/{app}/{token}/messages/{@original|id}."""
        return _json_response(copy.deepcopy(self._webhook_message(request)[1]))

    async def _edit_webhook_message(self, request: web.Request) -> web.Response:
        """PATCH /webhooks/{app}/{token}/messages/{@original|id}."""
        inter, message, suffix = self._webhook_message(request)
        body = self._body(request) or {}
        files: list[str] = self._files(request)
        self._edit_message(message, body, files)
        self._record_response(inter, f"edit_{suffix}", None, body, message)
        return _json_response(copy.deepcopy(message))

    async def _delete_webhook_message(self, request: web.Request) -> web.Response:
        """DELETE /webhooks/{app}/{token}/messages/{@original|id}."""
        inter, message, suffix = self._webhook_message(request)
        self._delete_message(int(message["id"]))
        self._record_response(inter, f"delete_{suffix}", None, None, message)
        return web.Response(status=204)
