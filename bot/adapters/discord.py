"""The Discord adapter: slash commands, buttons and DMs with discord.py, native scheduled events.

Settings are per user: a slash command in a guild channel configures the caller's own DM
reminders (chat_id = the user id), never the channel's. Channels get reminders only when the
operator lists them in `announcement_channels.discord`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import io
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlparse

import aiohttp
import discord
import discord.gateway
import discord.http
import yarl
from discord import app_commands

from bot.adapters.base import (
    Blocked,
    Core,
    Limits,
    Recipient,
    Rejected,
    RetryAfter,
    Transient,
    split_text,
)
from bot.adapters.redaction import protect
from bot.clock import utcnow
from bot.config import ConfigError, Settings
from bot.i18n import catalog, catalogs, normalize_language, t
from bot.messages import Attachment, Command, Message, Reply, parse_command
from bot.schedule import Schedule, Session
from bot.timezones import resolve_timezone, warm_up

log = logging.getLogger(__name__)

DEFAULT_API_BASE_URL = "https://discord.com/api/v10"
DEFAULT_GATEWAY_URL = "wss://gateway.discord.gg"

# The option each command takes (all optional: without one the core offers a picker).
OPTIONS = {
    "session": "session",
    "subscribe": "session",
    "unsubscribe": "session",
    "calendar": "session",
    "timezone": "place",
    "language": "language",
    "remind": "offsets",
    "quiet": "hours",
    "broadcast": "text",
}
MAX_CHOICES = 25  # Discord's limit for autocomplete and fixed choices
MAX_ROWS = 5  # action rows per message
MAX_ROW_WIDTH = 5  # buttons per action row
# Discord drops an interaction that is not acknowledged within 3 s; an autocomplete cannot be
# deferred, so a place lookup that takes longer than this offers nothing rather than fail.
AUTOCOMPLETE_BUDGET_S = 2.0

Interaction = discord.Interaction[discord.Client]


def _cut(text: str, limit: int) -> str:
    """`text` shortened to `limit` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


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


class _CatalogTranslator(app_commands.Translator):
    """Command names, descriptions and options in the catalogs' languages (e.g. zh-TW)."""

    def __init__(self, table: Mapping[str, Mapping[str, str]]) -> None:
        super().__init__()
        self._table = table  # catalog key → {Discord locale → text}

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        """The text for this locale, or None to let Discord show the default."""
        key = string.extras.get("key")
        if not isinstance(key, str):
            return None
        return self._table.get(key, {}).get(locale.value)


_COMMAND_RE = re.compile(r"(?<![\w/<:])/([a-z][a-z0-9_-]*)\b")


def _mention_commands(text: str, ids: Mapping[str, int]) -> str:
    """`text` with each "/name" of a synced command as a mention, </name:id>."""
    if not ids:
        return text

    def mention(match: re.Match[str]) -> str:
        found = ids.get(match.group(1))
        return match.group(0) if found is None else f"</{match.group(1)}:{found}>"

    return _COMMAND_RE.sub(mention, text)


def _locales_of(lang: str) -> list[str]:
    """The Discord locales a catalog serves: "zh-TW" → ["zh-TW"], "fr" → ["fr"]."""
    return [loc.value for loc in discord.Locale if lang in (loc.value, loc.value.split("-", 1)[0])]


def _valid_name(text: str) -> str | None:
    """A catalog text as a command or option name Discord accepts, else None."""
    name = "-".join(text.lower().split())[:32]
    return name if name and all(c.isalnum() or c in "-_'" for c in name) else None


@dataclass(frozen=True)
class _Post:
    """One Discord message: content (mention, timestamps), an embed, components, a file."""

    content: str | None
    embed: discord.Embed | None
    view: discord.ui.View | None
    attachment: Attachment | None = None

    def file(self) -> discord.File | None:
        """The attachment as a new upload (a discord.File is read once, so one per send)."""
        if self.attachment is None:
            return None
        return discord.File(io.BytesIO(self.attachment.data), filename=self.attachment.filename)


@dataclass(frozen=True)
class _EventSpec:
    """What a session's scheduled event should say."""

    name: str
    description: str
    location: str
    start: dt.datetime
    end: dt.datetime


class _Client(discord.Client):
    """discord.Client whose hooks hand over to the adapter."""

    def __init__(self, adapter: DiscordAdapter, **options: Any) -> None:
        super().__init__(**options)
        self.adapter = adapter

    async def setup_hook(self) -> None:
        """After login, before the gateway: register and sync the slash commands."""
        await self.adapter._setup()

    async def on_ready(self) -> None:
        """The gateway is ready (again, after a re-identify)."""
        self.adapter._ready.set()

    async def on_interaction(self, interaction: Interaction) -> None:
        """Button presses (slash commands and autocomplete go through the command tree)."""
        await self.adapter._on_component(interaction)


class DiscordAdapter:
    """Discord through discord.py: slash commands, buttons, DMs and guild scheduled events."""

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
        self._core: Core | None = None
        self._client: _Client | None = None
        self.tree: app_commands.CommandTree[discord.Client] | None = None
        self._runner: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        protect(token)
        self._dms: dict[str, int] = {}  # user id → DM channel id, in front of core.recall
        # Slash command ids as synced, per guild (None: global), for command mentions.
        self._command_ids: dict[int | None, dict[str, int]] = {}
        self._events_lock = asyncio.Lock()
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
        """Log in, sync the commands, wait for the gateway, then align the scheduled events."""
        self._core = core
        # discord.py has no base-URL option: both are class attributes read per request and
        # per connection, so they are set (process-wide) before the client starts.
        discord.http.Route.BASE = self.api_base_url.rstrip("/")
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)
        self._ready = asyncio.Event()
        # The bot has no voice: discord.py's "PyNaCl is not installed" warning would mislead.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        self._client = _Client(
            self,
            intents=discord.Intents.default(),  # no privileged intent: slash commands only
            guild_ready_timeout=self.guild_ready_timeout,
            # A longer wait comes back as RateLimited → RetryAfter, so the ledger reschedules
            # the row instead of discord.py holding a send slot asleep.
            max_ratelimit_timeout=30.0,
            allowed_mentions=discord.AllowedMentions.none(),
        )
        self.tree = app_commands.CommandTree(self._client)
        self._runner = asyncio.create_task(self._run(self._client), name="discord-client")
        ready = asyncio.create_task(self._ready.wait(), name="discord-ready")
        done, _ = await asyncio.wait(
            {self._runner, ready}, timeout=self.start_timeout, return_when="FIRST_COMPLETED"
        )
        if ready not in done:
            ready.cancel()
            runner = self._runner
            await self.stop()
            if runner in done:
                runner.result()  # re-raises the login error (discord.LoginFailure, ...)
            raise TimeoutError(f"discord: not ready within {self.start_timeout:g} s")
        self._runner.add_done_callback(self._runner_done)
        self._spawn(asyncio.to_thread(warm_up))  # the first place lookup would take ~1 s
        await self.schedule_changed(core.current_schedule())

    async def _run(self, client: _Client) -> None:
        """The client's life: login, setup_hook, then the gateway until closed."""
        async with client:
            await client.start(self._token)

    def _runner_done(self, task: asyncio.Task[None]) -> None:
        """Say so when the client dies on its own (a revoked token, say)."""
        if not task.cancelled() and task.exception() is not None:
            log.error("discord client stopped: %r", task.exception())

    def _spawn(self, work: Awaitable[Any]) -> None:
        """Run `work` in the background; stop() cancels what is left."""
        task = asyncio.ensure_future(work)
        self._background.add(task)  # a strong reference until it finishes
        task.add_done_callback(self._background.discard)

    async def stop(self) -> None:
        """Close the gateway and the HTTP session."""
        client, runner = self._client, self._runner
        self._client = self._runner = None
        if client is not None:
            await client.close()
        if runner is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(runner, timeout=10)
        for task in list(self._background):
            task.cancel()

    # --- slash commands ------------------------------------------------------------------

    async def _setup(self) -> None:
        """Build the commands from the core's menu, attach the translator, sync once."""
        core, client, tree = self._core, self._client, self.tree
        assert core is not None and client is not None and tree is not None
        default = core.languages()[0]
        await tree.set_translator(_CatalogTranslator(self._translations(core)))
        guilds = [discord.Object(int(g)) for g in self.settings.discord.guild_ids]
        for entry in core.command_menu(default):
            # Every command is registered, organizers' too: the core refuses and audits others.
            command = self._slash(core, entry.name, entry.description, f"menu.{entry.name}")
            if guilds:
                tree.add_command(command, guilds=guilds)
            else:
                tree.add_command(command)
        try:
            if guilds:
                for guild in guilds:
                    synced = await tree.sync(guild=guild)
                    self._command_ids[guild.id] = {c.name: c.id for c in synced}
            else:
                synced = await tree.sync()
                self._command_ids[None] = {c.name: c.id for c in synced}
        except discord.HTTPException as exc:
            # The commands of the last sync stay registered; a failed sync must not keep the
            # bot from sending reminders.
            log.error("discord: syncing slash commands failed: %s %s", exc.status, exc.text)

    def _translations(self, core: Core) -> dict[str, dict[str, str]]:
        """catalog key → {Discord locale → text} for every language but the default."""
        table: dict[str, dict[str, str]] = {}
        for lang in core.languages()[1:]:
            messages = catalogs()[lang].messages
            texts = {f"menu.{e.name}": _cut(e.description, 100) for e in core.command_menu(lang)}
            for key, text in messages.items():
                if key.startswith(("discord.command.", "discord.option.")):
                    name = _valid_name(text)
                    if name is not None:
                        texts[key] = name
                elif key.startswith("discord.option_help."):
                    texts[key] = _cut(text, 100)
            for locale in _locales_of(lang):
                for key, text in texts.items():
                    table.setdefault(key, {})[locale] = text
        return table

    def _slash(
        self, core: Core, name: str, description: str, description_key: str
    ) -> app_commands.Command[Any, ..., None]:
        """One slash command; its option (if any) is typed, described and completed."""
        default = core.languages()[0]
        option = OPTIONS.get(name)

        async def plain(interaction: Interaction) -> None:
            await self._on_command(interaction, name)

        async def session(interaction: Interaction, session: str | None = None) -> None:
            await self._on_command(interaction, f"{name} {session or ''}")

        async def place(interaction: Interaction, place: str | None = None) -> None:
            await self._on_command(interaction, f"{name} {place or ''}")

        async def language(interaction: Interaction, language: str | None = None) -> None:
            await self._on_command(interaction, f"{name} {language or ''}")

        async def offsets(interaction: Interaction, offsets: str | None = None) -> None:
            await self._on_command(interaction, f"{name} {offsets or ''}")

        async def hours(interaction: Interaction, hours: str | None = None) -> None:
            await self._on_command(interaction, f"{name} {hours or ''}")

        async def text(interaction: Interaction, text: str | None = None) -> None:
            await self._on_command(interaction, f"{name} {text or ''}")

        callbacks: dict[str | None, Callable[..., Coroutine[Any, Any, None]]] = {
            None: plain,
            "session": session,
            "place": place,
            "language": language,
            "offsets": offsets,
            "hours": hours,
            "text": text,
        }
        callback = callbacks[option]
        if option is not None:
            label = app_commands.locale_str
            callback = app_commands.rename(
                **{option: label(option, key=f"discord.option.{option}")}
            )(callback)
            help_key = f"discord.option_help.{option}"
            callback = app_commands.describe(
                **{option: label(t(help_key, default), key=help_key)}
            )(callback)
            if option == "session":
                callback = app_commands.autocomplete(session=self._session_completer(name))(
                    callback
                )
            elif option == "place":
                callback = app_commands.autocomplete(place=self._complete_place)(callback)
            elif option == "language":
                choices = [
                    app_commands.Choice(name=catalog(code).name, value=code)
                    for code in core.languages()[:MAX_CHOICES]
                ]
                callback = app_commands.choices(language=choices)(callback)
        return app_commands.Command(
            name=app_commands.locale_str(name, key=f"discord.command.{name}"),
            description=app_commands.locale_str(_cut(description, 100), key=description_key),
            callback=callback,
        )

    def _lang(self, interaction: Interaction) -> str:
        """The catalog language of the caller's Discord client."""
        assert self._core is not None
        return normalize_language(interaction.locale.value) or self._core.languages()[0]

    def _session_completer(
        self, name: str
    ) -> Callable[[Interaction, str], Coroutine[Any, Any, list[app_commands.Choice[str]]]]:
        """Session ids with titles in the caller's language; "all" where the command takes it."""

        async def complete(
            interaction: Interaction, current: str
        ) -> list[app_commands.Choice[str]]:
            return self._session_choices(
                self._lang(interaction), current, name in ("subscribe", "unsubscribe"), name
            )

        return complete

    def _session_choices(
        self, lang: str, current: str, with_all: bool, name: str = "session"
    ) -> list[app_commands.Choice[str]]:
        """Autocomplete choices for a session option, filtered by what was typed."""
        assert self._core is not None
        schedule = self._core.current_schedule()
        now = self.clock()
        needle = current.strip().casefold()
        choices: list[app_commands.Choice[str]] = []
        if with_all:
            label = t("button.all", lang)
            if not needle or needle in "all" or needle in label.casefold():
                choices.append(app_commands.Choice(name=f"all · {label}", value="all"))
        for session in schedule.sessions:
            if name == "subscribe" and session.is_over(now):
                continue  # nothing to subscribe to any more
            title = session.title.get(lang, schedule.event.languages)
            if needle and needle not in session.id.casefold() and needle not in title.casefold():
                continue
            label = _cut(f"{session.id} · {title}", 100)
            choices.append(app_commands.Choice(name=label, value=session.id))
        return choices[:MAX_CHOICES]

    async def _complete_place(
        self, interaction: Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """A few places for what was typed, through the same lookup /timezone uses."""
        text = current.strip()
        if len(text) < 2:
            return []
        lang = self._lang(interaction)
        try:
            result = await asyncio.wait_for(
                asyncio.to_thread(resolve_timezone, text, lang), AUTOCOMPLETE_BUDGET_S
            )
        except TimeoutError:
            return []
        places = ([result.match] if result.match else []) + list(result.choices)
        choices: dict[str, app_commands.Choice[str]] = {}
        for p in places:
            # A city's label resolves back to that city; a country's "X (City)" does not, so
            # those choices carry the zone itself.
            value = _cut(p.label if p.kind == "city" else p.zone, 100)
            label = p.label if p.label == p.zone else f"{p.label} ({p.zone})"
            choices.setdefault(value, app_commands.Choice(name=_cut(label, 100), value=value))
        for suggestion in result.suggestions:
            value = _cut(suggestion, 100)
            choices.setdefault(value, app_commands.Choice(name=value, value=value))
        return list(choices.values())[:MAX_CHOICES]

    # --- interactions → commands → replies -----------------------------------------------

    async def _on_component(self, interaction: Interaction) -> None:
        """A button press runs its custom_id as a command line ("subscribe s1")."""
        if interaction.type is not discord.InteractionType.component:
            return
        data: Mapping[str, Any] = interaction.data or {}
        if data.get("component_type") != discord.ComponentType.button.value:
            return
        await self._on_command(interaction, str(data.get("custom_id", "")))

    async def _on_command(self, interaction: Interaction, line: str) -> None:
        """Run one command for the caller and answer the interaction with the core's reply."""
        parsed = parse_command(line)
        if parsed is None or self._core is None:
            return
        name, args, rest = parsed
        user = str(interaction.user.id)
        # Per user, wherever it was typed: a guild channel's /subscribe is the caller's DMs.
        command = Command(
            self.platform,
            user,
            user,
            name,
            args,
            rest,
            chat_kind="private",
            locale_hint=interaction.locale.value,
            is_admin=True,
            # The caller's roles, so that organizers can be named by role in the config.
            extra={"roles": ",".join(str(r.id) for r in getattr(interaction.user, "roles", ()))},
        )
        answer = asyncio.ensure_future(self._answer(command, self._lang(interaction)))
        done, _ = await asyncio.wait({answer}, timeout=self.defer_after)
        if not done:
            try:
                # Ephemeral: every reply the core gives today concerns the caller alone.
                await interaction.response.defer(ephemeral=True, thinking=True)
            except discord.HTTPException as exc:
                log.warning("discord: deferring /%s failed: %s", name, exc.status)
        reply = await answer
        try:
            await self._respond(interaction, reply)
        except discord.HTTPException as exc:
            log.warning("discord: answering /%s failed: %s %s", name, exc.status, exc.text)

    async def _answer(self, command: Command, lang: str) -> Reply:
        """The core's reply; a stopping worker or a core failure still gets words."""
        assert self._core is not None
        try:
            reply = await self._core.on_command(command)
        except Exception:
            log.exception("discord: /%s failed in the core", command.name)
            return Reply.of(Message(t("error.internal", lang)))
        return reply if reply is not None else Reply.of(Message(t("discord.unavailable", lang)))

    async def _respond(self, interaction: Interaction, reply: Reply) -> None:
        """The first post answers the interaction; the rest are follow-ups."""
        where = interaction.guild_id
        posts = [p for m in reply.messages for p in self._posts(m, mention=None, guild_id=where)]
        none = discord.AllowedMentions.none()
        for post in posts:
            kwargs: dict[str, Any] = {"allowed_mentions": none, "ephemeral": reply.ephemeral}
            for name, value in (("content", post.content), ("embed", post.embed)):
                if value is not None:
                    kwargs[name] = value
            if post.view is not None:
                kwargs["view"] = post.view
            upload = post.file()
            if upload is not None:
                kwargs["file"] = upload
            if not interaction.response.is_done():
                await interaction.response.send_message(**kwargs)
            else:
                await interaction.followup.send(**kwargs)

    # --- rendering -----------------------------------------------------------------------

    def _posts(
        self, message: Message, *, mention: str | None, guild_id: int | None = None
    ) -> list[_Post]:
        """A neutral message as Discord messages: embed(s) for the text, buttons for links.

        The content carries only a role mention and the session time as Discord timestamps,
        which every reader's client shows in their own zone and language. "/subscribe" in the
        text becomes a command mention, which the client shows under the name the reader's
        language gives it (/訂閱 in zh-TW) and which fills the command in when clicked.
        """
        ids = self._command_ids.get(guild_id) or self._command_ids.get(None) or {}
        when = ""
        if message.when is not None:
            when = (
                f"{discord.utils.format_dt(message.when, 'F')} "
                f"({discord.utils.format_dt(message.when, 'R')})"
            )
        head = " ".join(p for p in (mention, when) if p) or None
        chunks = split_text(message.text, self.limits.max_text) if message.text else []
        title = _cut(discord.utils.escape_markdown(message.title), 256) if message.title else None
        posts: list[_Post] = []
        for i, chunk in enumerate(chunks or [""]):
            # Plain text from the core: escaped, so nothing typed becomes Discord markup.
            body = _mention_commands(discord.utils.escape_markdown(chunk), ids) if chunk else None
            embed = None
            if body or (title and i == 0):
                embed = discord.Embed(
                    title=title if i == 0 else None,
                    description=body,
                    timestamp=message.when if i == 0 else None,
                )
            content = head if i == 0 else None
            if embed is None and content is None:
                content = "\u200b"  # Discord refuses an empty message
            posts.append(_Post(content, embed, None))
        view = self._view(message)
        if view is not None or message.attachment is not None:
            last = posts[-1]
            posts[-1] = _Post(last.content, last.embed, view, message.attachment)
        return posts

    def _view(self, message: Message) -> discord.ui.View | None:
        """Links as link buttons, then the core's buttons, within Discord's 5×5 grid."""
        links: list[discord.ui.Button[discord.ui.View]] = [
            discord.ui.Button(
                style=discord.ButtonStyle.link, label=_cut(link.label, 80) or "→", url=link.url
            )
            for link in message.links
        ]
        rows = [links[i : i + MAX_ROW_WIDTH] for i in range(0, len(links), MAX_ROW_WIDTH)]
        seen: set[str] = set()
        for actions in message.buttons:
            items: list[discord.ui.Button[discord.ui.View]] = []
            for button in actions:
                custom_id = button.action[:100]
                # Discord wants ids unique within a message; trailing spaces keep two buttons
                # with the same action apart and parse back to the same command.
                while custom_id in seen and len(custom_id) < 100:
                    custom_id += " "
                if custom_id in seen:
                    continue
                seen.add(custom_id)
                label = _cut(button.label, 80) or _cut(button.action, 80)
                items.append(
                    discord.ui.Button(
                        style=discord.ButtonStyle.secondary, label=label, custom_id=custom_id
                    )
                )
            rows.extend(items[i : i + MAX_ROW_WIDTH] for i in range(0, len(items), MAX_ROW_WIDTH))
        rows = [r for r in rows if r]
        if not rows:
            return None
        if len(rows) > MAX_ROWS:  # too many rows: pack them, keep what fits
            flat = [item for row in rows for item in row][: MAX_ROWS * MAX_ROW_WIDTH]
            rows = [flat[i : i + MAX_ROW_WIDTH] for i in range(0, len(flat), MAX_ROW_WIDTH)]
        view = discord.ui.View(timeout=None)
        for number, row in enumerate(rows):
            for item in row:
                item.row = number
                view.add_item(item)
        # A finished view is only serialized: discord.py keeps no per-message handler for it,
        # so memory stays flat; presses reach on_interaction, which works after restarts too.
        view.stop()
        return view

    # --- sending -------------------------------------------------------------------------

    async def send(self, to: Recipient, message: Message, *, key: str) -> None:
        """Send a reminder to a user's DMs or to a channel; map failures for the engine."""
        client, core = self._client, self._core
        if client is None or core is None:
            raise Transient("discord adapter is not running")
        role = self.settings.discord.announcement_role_id
        private = to.kind == "private"
        mention = f"<@&{role}>" if role and not private else None
        allowed = discord.AllowedMentions(
            everyone=False,
            users=False,
            roles=[discord.Object(int(role))] if mention else False,
        )
        try:
            channel: discord.abc.Messageable
            if private:
                channel = await self._dm_channel(client, core, to.chat_id)
            else:
                channel = client.get_partial_messageable(int(to.chat_id))
            for i, post in enumerate(self._posts(message, mention=mention)):
                kwargs: dict[str, Any] = {}
                if post.embed is not None:
                    kwargs["embed"] = post.embed
                if post.view is not None:
                    kwargs["view"] = post.view
                upload = post.file()
                if upload is not None:
                    kwargs["file"] = upload
                # The ledger row id as nonce (discord.py then sets enforce_nonce): a POST
                # retried after a lost response is not posted twice.
                await channel.send(
                    post.content,
                    allowed_mentions=allowed,
                    nonce=key if i == 0 else f"{key}.{i}",
                    silent=message.silent,  # the reader's quiet hours: no push, no sound
                    **kwargs,
                )
        except discord.Forbidden as exc:
            if exc.code == 50007:  # the user closed their DMs or blocked the bot
                raise Blocked(f"discord {exc.code}: {exc.text}") from exc
            raise Rejected(f"discord 403 {exc.code}: {exc.text}") from exc
        except discord.NotFound as exc:
            if private:
                # A DM channel id we remembered is unknown: open a new one on the retry.
                self._dms.pop(to.chat_id, None)
                await core.forget(self.platform, "dm", to.chat_id)
                raise Transient(f"discord 404 {exc.code}: DM channel unknown") from exc
            raise Rejected(f"discord 404 {exc.code}: {exc.text}") from exc
        except discord.DiscordServerError as exc:
            raise Transient(f"discord {exc.status}: {exc.text}") from exc
        except discord.RateLimited as exc:
            raise RetryAfter(exc.retry_after) from exc
        except discord.HTTPException as exc:
            if exc.status == 429:  # discord.py retried and gave up, or a Cloudflare block
                raise RetryAfter(self._retry_after(exc)) from exc
            if exc.status == 401:
                log.error("discord: unauthorized; check DISCORD_BOT_TOKEN")
                raise Transient("discord 401: unauthorized") from exc
            raise Rejected(f"discord {exc.status} {exc.code}: {exc.text}") from exc
        except ValueError as exc:  # a chat id that is not a snowflake
            raise Rejected(f"discord: bad recipient {to.chat_id!r}") from exc
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise Transient(f"discord: {type(exc).__name__}: {exc}") from exc

    @staticmethod
    def _retry_after(exc: discord.HTTPException) -> float:
        """Seconds to wait from a 429's body or Retry-After header; 1 s when neither says."""
        response = exc.response
        headers = getattr(response, "headers", None) or {}
        try:
            return max(float(headers.get("Retry-After", 1)), 0.0) or 1.0
        except (TypeError, ValueError):
            return 1.0

    async def _dm_channel(
        self, client: discord.Client, core: Core, user_id: str
    ) -> discord.PartialMessageable:
        """The DM channel with a user: opened once, its id remembered across restarts."""
        channel_id = self._dms.get(user_id)
        if channel_id is None:
            stored = await core.recall(self.platform, "dm", user_id)
            if stored is None:
                # Straight to the API, not Client.create_dm: that would answer from
                # discord.py's cache, which still holds a channel Discord just called unknown.
                dm = await client.http.start_private_message(int(user_id))
                stored = str(dm["id"])
                await core.remember(self.platform, "dm", user_id, stored)
            channel_id = self._dms[user_id] = int(stored)
        # A partial channel: sending needs no GET of the channel or the user first.
        return client.get_partial_messageable(channel_id, type=discord.ChannelType.private)

    # --- scheduled events ----------------------------------------------------------------

    async def schedule_changed(self, schedule: Schedule) -> None:
        """Create, update or cancel each guild's scheduled events to match `schedule`."""
        config = self.settings.discord
        if not (config.scheduled_events and config.guild_ids) or self._client is None:
            return
        async with self._events_lock:  # a reload during the start's sync waits its turn
            for guild_id in config.guild_ids:
                try:
                    await self._sync_guild_events(guild_id, schedule)
                except discord.HTTPException as exc:
                    log.error(
                        "discord: scheduled events of guild %s: %s %s",
                        guild_id,
                        exc.status,
                        exc.text,
                    )
                except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                    log.error("discord: scheduled events of guild %s: %r", guild_id, exc)

    def _event_spec(self, schedule: Schedule, session: Session) -> _EventSpec | None:
        """The event for a timed session: first-language name, link or "to be announced"."""
        end = session.assumed_end  # Discord requires an end
        if session.start is None or end is None:
            return None
        langs = schedule.event.languages
        first = langs[0]
        lines: list[str] = []
        for lang in langs[1:]:
            other = session.title.get(lang, langs)
            if other != session.title.get(first, langs):
                lines.append(other)
        if session.description is not None:
            seen: set[str] = set()
            for lang in langs:
                text = session.description.get(lang, langs)
                if text not in seen:
                    seen.add(text)
                    lines.extend(("", text))
        if session.streams:
            lines.append("")
            for lang, url in session.streams:
                label = t("session.watch", first, language=catalog(lang).name)
                lines.append(f"{label}: {url}")
        return _EventSpec(
            name=_cut(session.title.get(first, langs), 100),
            description=_cut("\n".join(lines).strip(), 1000),
            location=_cut(session.stream(first, langs) or t("session.link_tba", first), 100),
            start=session.start,
            end=end,
        )

    async def _sync_guild_events(self, guild_id: str, schedule: Schedule) -> None:
        """One guild: cancel events of removed sessions, create or edit the others."""
        client, core = self._client, self._core
        assert client is not None and core is not None
        guild = client.get_guild(int(guild_id))
        if guild is None:
            log.warning("discord: not in guild %s; its scheduled events are left alone", guild_id)
            return
        # One listing per sync, straight from the API: the gateway's cache may not yet show
        # an edit made a moment ago, and a stale view would skip a needed edit.
        current = {e.id: e for e in await guild.fetch_scheduled_events(with_counts=False)}
        stored = await core.recall_all(self.platform, "scheduled_event")
        mine: dict[str, int] = {}
        for key, value in stored.items():
            stored_guild, _, session_id = key.partition(":")
            if stored_guild == guild_id and value.isdigit():
                mine[session_id] = int(value)
        for session_id, event_id in mine.items():
            session = schedule.session(session_id)
            if session is None or session.start is None:
                gone = current.pop(event_id, None)
                if gone is not None:
                    with contextlib.suppress(discord.NotFound):
                        await gone.delete()
                    log.info("discord: scheduled event of %s deleted", session_id)
                await core.forget(self.platform, "scheduled_event", f"{guild_id}:{session_id}")
        now = self.clock()
        bot_id = client.user.id if client.user is not None else None
        claimed = set(mine.values())
        for session in schedule.sessions:
            spec = self._event_spec(schedule, session)
            if spec is None or session.is_over(now):
                continue
            event = current.get(mine.get(session.id, 0))
            if event is None:
                # Created just before a crash, never remembered: adopt it, do not duplicate.
                event = next(
                    (
                        e
                        for e in current.values()
                        if e.id not in claimed
                        and e.creator_id == bot_id
                        and e.name == spec.name
                        and e.start_time == spec.start
                        and e.status is discord.EventStatus.scheduled
                    ),
                    None,
                )
            if event is None or event.status in (
                discord.EventStatus.completed,
                discord.EventStatus.cancelled,
            ):
                if spec.start <= now:
                    continue  # Discord cannot schedule an event in the past
                event = await self._create_event(guild, spec)
                log.info("discord: scheduled event of %s created in %s", session.id, guild_id)
            else:
                await self._update_event(event, spec, now)
            claimed.add(event.id)
            if mine.get(session.id) != event.id:
                key = f"{guild_id}:{session.id}"
                await core.remember(self.platform, "scheduled_event", key, str(event.id))

    async def _create_event(
        self, guild: discord.Guild, spec: _EventSpec
    ) -> discord.ScheduledEvent:
        """A new external event, visible to the guild's members."""
        extra: dict[str, Any] = {"description": spec.description} if spec.description else {}
        return await guild.create_scheduled_event(
            name=spec.name,
            start_time=spec.start,
            end_time=spec.end,
            location=spec.location,
            entity_type=discord.EntityType.external,
            privacy_level=discord.PrivacyLevel.guild_only,
            **extra,
        )

    async def _update_event(
        self, event: discord.ScheduledEvent, spec: _EventSpec, now: dt.datetime
    ) -> None:
        """Edit the event where it differs from the schedule (nothing is sent otherwise)."""
        changes: dict[str, Any] = {}
        if event.name != spec.name:
            changes["name"] = spec.name
        if (event.description or "") != spec.description:
            changes["description"] = spec.description
        if event.location != spec.location:
            changes["location"] = spec.location
        if event.end_time != spec.end:
            changes["end_time"] = spec.end
        # A started event keeps its start; a new start must lie ahead.
        started = event.status is not discord.EventStatus.scheduled
        if event.start_time != spec.start and not started and spec.start > now:
            changes["start_time"] = spec.start
        if not changes:
            return
        # discord.py wants the location with any edit of an external event, Discord the end.
        changes.setdefault("location", spec.location)
        changes.setdefault("end_time", spec.end)
        await event.edit(
            entity_type=discord.EntityType.external,
            privacy_level=discord.PrivacyLevel.guild_only,
            **changes,
        )
        log.info("discord: scheduled event %s updated (%s)", event.id, ", ".join(sorted(changes)))
