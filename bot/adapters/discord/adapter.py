"""The Discord adapter: its settings checked, the client's life, and the parts that use it."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar
from urllib.parse import urlparse

import aiohttp
import discord

from bot.adapters.base import Core, Limits, Recipient, StartFailed, Transient
from bot.adapters.discord.client import DiscordClient, Endpoints
from bot.adapters.discord.events import ScheduledEvents
from bot.adapters.discord.interactions import Interactions
from bot.adapters.discord.invite import invite_url
from bot.adapters.discord.render import Renderer
from bot.adapters.discord.sending import DmChannels, Sender
from bot.adapters.redaction import protect
from bot.clock import utcnow
from bot.config import ConfigError, Settings
from bot.messages import Message
from bot.schedule import Schedule
from bot.timezones import warm_up

log = logging.getLogger(__name__)

DEFAULT_API_BASE_URL = "https://discord.com/api/v10"
DEFAULT_GATEWAY_URL = "wss://gateway.discord.gg"
TOKEN_HINT = "check DISCORD_BOT_TOKEN (Developer Portal, Bot, Reset Token)"


def _check_url(var: str, value: str, schemes: tuple[str, ...]) -> str:
    """An endpoint from the environment, or ConfigError naming the variable."""
    parsed = urlparse(value)
    if parsed.scheme not in schemes or not parsed.netloc:
        raise ConfigError(f"{var}: expected a {' or '.join(schemes)} URL, got {value!r}")
    return value


def _check_ids(settings: Settings) -> None:
    """Discord ids in the config must be snowflakes (digits), or ConfigError names the key."""
    config = settings.discord
    role = (config.announcement_role_id,) if config.announcement_role_id else ()
    for key, values in (
        ("discord.guild_ids", config.guild_ids),
        ("discord.announcement_role_id", role),
        ("announcement_channels.discord", settings.announcement_channels.discord),
    ):
        for value in values:
            if not value.isdigit():
                raise ConfigError(f"{key}: expected a Discord id (digits only), got {value!r}")


class DiscordAdapter:
    """Discord through discord.py: slash commands, buttons, DMs and guild scheduled events.

    The adapter owns what outlives a connection (the synced command ids, the DM channels,
    the events lock); each start builds a client and, around it, the parts that need it:
    `Interactions` (commands and buttons), `Sender` (reminders) and `ScheduledEvents`.
    """

    platform: ClassVar[str] = "discord"
    # 50/s is Discord's global request limit per bot. 5/s per chat and 60/min per channel keep
    # well inside the per-channel message buckets (discord.py still obeys the real bucket
    # headers, so these only keep the pacer from queueing work discord.py would stall on).
    limits: Limits = Limits(
        max_text=2000, per_second=50, per_chat_per_second=5, per_group_per_minute=60
    )

    def __init__(
        self,
        token: str,
        settings: Settings,
        *,
        api_base_url: str = DEFAULT_API_BASE_URL,
        gateway_url: str = DEFAULT_GATEWAY_URL,
        clock: Callable[[], dt.datetime] = utcnow,
        defer_after: float = 1.0,
        guild_ready_timeout: float = 2.0,
        start_timeout: float = 60.0,
    ) -> None:
        _check_ids(settings)
        self._token = token
        self.settings = settings
        self.api_base_url = api_base_url
        self.gateway_url = gateway_url
        self.clock = clock
        # Answer directly when the core is quick; past this, defer so that Discord gets its
        # acknowledgement within 3 s however slow the database is, then follow up.
        self.defer_after = defer_after
        self.guild_ready_timeout = guild_ready_timeout
        self.start_timeout = start_timeout
        protect(token)
        self._renderer = Renderer(self.limits.max_text)
        self._dms = DmChannels(self.platform)
        self._events_lock = asyncio.Lock()
        self._client: DiscordClient | None = None
        self._sender: Sender | None = None
        self._events: ScheduledEvents | None = None
        self._runner: asyncio.Task[None] | None = None
        self._core: Core | None = None  # to report a client that died after the start
        self._background: set[asyncio.Task[Any]] = set()

    def __repr__(self) -> str:
        return f"DiscordAdapter(api={self.api_base_url!r})"  # never the token

    @classmethod
    def from_env(
        cls, env: Mapping[str, str], settings: Settings, **options: Any
    ) -> DiscordAdapter:
        """The adapter for DISCORD_BOT_TOKEN, with DISCORD_API_BASE_URL / _GATEWAY_URL."""
        token = env.get("DISCORD_BOT_TOKEN", "").strip()
        if not token:
            raise ConfigError("DISCORD_BOT_TOKEN: empty; set the bot token or unset the variable")
        api = env.get("DISCORD_API_BASE_URL") or DEFAULT_API_BASE_URL
        gateway = env.get("DISCORD_GATEWAY_URL") or DEFAULT_GATEWAY_URL
        return cls(
            token,
            settings,
            api_base_url=_check_url("DISCORD_API_BASE_URL", api, ("https", "http")),
            gateway_url=_check_url("DISCORD_GATEWAY_URL", gateway, ("wss", "ws")),
            **options,
        )

    # --- lifecycle -----------------------------------------------------------------------

    async def start(self, core: Core) -> None:
        """Log in, sync the commands, wait for the gateway, then align the scheduled events.

        StartFailed says why it could not: a rejected token, or Discord out of reach
        (`transient`: worth another attempt).
        """
        ready = asyncio.Event()
        # The bot has no voice: discord.py's "PyNaCl is not installed" warning would mislead.
        # discord.py keeps these flags only as class attributes (it clears them itself after
        # warning once per process), so they are set process-wide; they silence a log line
        # and change nothing else.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        interactions = Interactions(
            self.platform,
            core,
            self.settings,
            self._renderer,
            clock=self.clock,
            defer_after=self.defer_after,
        )
        client = self._client = DiscordClient(
            Endpoints(self.api_base_url, self.gateway_url),
            interactions,
            ready,
            intents=discord.Intents.default(),  # no privileged intent: slash commands only
            guild_ready_timeout=self.guild_ready_timeout,
            # A longer wait comes back as RateLimited → RetryAfter, so the ledger reschedules
            # the row instead of discord.py holding a send slot asleep.
            max_ratelimit_timeout=30.0,
            allowed_mentions=discord.AllowedMentions.none(),
        )
        self._sender = Sender(client, core, self.settings, self._renderer, self._dms)
        self._events = ScheduledEvents(
            self.platform, client, core, self.settings, clock=self.clock, lock=self._events_lock
        )
        runner = self._runner = asyncio.create_task(self._run(client), name="discord-client")
        waiting = asyncio.create_task(ready.wait(), name="discord-ready")
        done, _ = await asyncio.wait(
            {runner, waiting}, timeout=self.start_timeout, return_when="FIRST_COMPLETED"
        )
        if waiting not in done:
            waiting.cancel()
            crashed = runner in done  # before stop(), which ends the runner too
            await self.stop()
            raise self._start_failed(runner.exception() if crashed else None) from None
        self._core = core
        runner.add_done_callback(self._runner_done)
        self._spawn(asyncio.to_thread(warm_up))  # the first place lookup would take ~1 s
        await self.schedule_changed(core.current_schedule())

    def _start_failed(self, exc: BaseException | None) -> StartFailed:
        """What a client that did not get ready means to the operator (None: it timed out)."""
        if isinstance(exc, discord.LoginFailure):
            return StartFailed(self.platform, "Discord rejected the bot token", TOKEN_HINT)
        if exc is None:
            return StartFailed(
                self.platform,
                f"not connected to the gateway within {self.start_timeout:g} s",
                "check the network and DISCORD_GATEWAY_URL",
                transient=True,
            )
        if isinstance(exc, discord.HTTPException) and exc.status < 500:
            return StartFailed(
                self.platform, f"Discord refused the start ({exc})", "check the bot's settings"
            )
        if isinstance(exc, OSError | aiohttp.ClientError | discord.DiscordException):
            # Connection refused, DNS, TLS, a 5xx: the network or Discord, which may pass.
            return StartFailed(
                self.platform,
                f"cannot reach Discord at {self.api_base_url} ({exc})",
                "check the network and DISCORD_API_BASE_URL",
                transient=True,
            )
        raise exc  # not the platform: a bug, with its traceback

    async def _run(self, client: DiscordClient) -> None:
        """The client's life: login, setup_hook, then the gateway until closed."""
        async with client:
            await client.start(self._token)

    def _runner_done(self, task: asyncio.Task[None]) -> None:
        """A client that dies on its own (a revoked token, say) ends the worker: discord.py
        reconnects by itself after what may pass, so what ends it will not."""
        exc = None if task.cancelled() else task.exception()
        if exc is None or self._core is None:
            return
        # 4004: the gateway's "Authentication failed", a token revoked while connected.
        if isinstance(exc, discord.LoginFailure) or getattr(exc, "code", None) == 4004:
            reason = f"the bot token was rejected: {TOKEN_HINT}"
        else:
            reason = f"the client stopped ({exc!r})"
        self._core.platform_failed(self.platform, reason)

    def _spawn(self, work: Awaitable[Any]) -> None:
        """Run `work` in the background; stop() cancels what is left."""
        task = asyncio.ensure_future(work)
        self._background.add(task)  # a strong reference until it finishes
        task.add_done_callback(self._background.discard)

    async def stop(self) -> None:
        """Close the gateway and the HTTP session."""
        client, runner = self._client, self._runner
        self._client = self._runner = None
        self._core = None  # a client closed by stop() is no failure
        self._sender = self._events = None
        if client is not None:
            await client.close()
        if runner is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(runner, timeout=10)
        for task in list(self._background):
            task.cancel()

    # --- what the web face asks ----------------------------------------------------------

    def connected(self) -> bool:
        """Whether the gateway session is up."""
        client = self._client
        return client is not None and client.is_ready() and not client.is_closed()

    def deep_link(self, payload: str) -> str | None:
        """The link that adds the bot to a server (Discord has no per-session deep link, so
        `payload` is not used); None before the bot logged in."""
        client = self._client
        application = client.application_id if client is not None else None
        return invite_url(str(application), self.settings) if application else None

    # --- what the core asks --------------------------------------------------------------

    async def send(self, to: Recipient, message: Message, *, key: str) -> None:
        """Send a reminder to a user's DMs or to a channel; map failures for the engine."""
        sender = self._sender
        if sender is None:
            raise Transient("discord adapter is not running")
        await sender.send(to, message, key=key)

    async def schedule_changed(self, schedule: Schedule) -> None:
        """Create, update or cancel each guild's scheduled events to match `schedule`."""
        events = self._events
        if events is not None:
            await events.sync(schedule)
