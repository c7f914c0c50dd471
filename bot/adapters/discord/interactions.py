"""Slash commands built from the core's menu, their options and autocomplete, button presses,
and answering each interaction with the core's reply within Discord's deadline."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

import discord
from discord import app_commands

from bot.adapters.base import Core, hinted_language
from bot.adapters.discord.client import Interaction
from bot.adapters.discord.render import Renderer, cut
from bot.adapters.discord.translator import CatalogTranslator
from bot.config import Settings
from bot.constants import ChatKind
from bot.i18n import catalog, t
from bot.messages import Command, Message, Reply, parse_action
from bot.timezones import resolve_timezone

log = logging.getLogger(__name__)

# The option each command takes (all optional: without one the core offers a picker).
OPTIONS = {
    "schedule": "when",
    "find": "words",
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
# Discord drops an interaction that is not acknowledged within 3 s; an autocomplete cannot be
# deferred, so a place lookup that takes longer than this offers nothing rather than fail.
AUTOCOMPLETE_BUDGET_S = 2.0

Choices = list[app_commands.Choice[str]]


class Interactions:
    """The slash commands and buttons of one running client, each answered by the core."""

    def __init__(
        self,
        platform: str,
        core: Core,
        settings: Settings,
        renderer: Renderer,
        *,
        clock: Callable[[], dt.datetime],
        defer_after: float,
    ) -> None:
        self.platform = platform
        self.core = core
        self.settings = settings
        self.renderer = renderer
        self.clock = clock
        # Answer directly when the core is quick; past this, defer so that Discord gets its
        # acknowledgement within 3 s however slow the database is, then follow up.
        self.defer_after = defer_after

    # --- slash commands ------------------------------------------------------------------

    async def setup(self, tree: app_commands.CommandTree[discord.Client]) -> None:
        """Build the commands from the core's menu, attach the translator, sync once."""
        core = self.core
        default = core.languages()[0]
        await tree.set_translator(CatalogTranslator.for_core(core))
        guilds = [discord.Object(int(g)) for g in self.settings.discord.guild_ids]
        for entry in core.command_menu(default):
            # Every command is registered, organizers' too: the core refuses and audits others.
            command = self._slash(entry.name, entry.description, f"menu.{entry.name}")
            if guilds:
                tree.add_command(command, guilds=guilds)
            else:
                tree.add_command(command)
        try:
            if guilds:
                for guild in guilds:
                    self.renderer.commands_synced(guild.id, await tree.sync(guild=guild))
            else:
                self.renderer.commands_synced(None, await tree.sync())
        except discord.HTTPException as exc:
            # The commands of the last sync stay registered; a failed sync must not keep the
            # bot from sending reminders.
            log.error("discord: syncing slash commands failed: %s %s", exc.status, exc.text)

    def _slash(
        self, name: str, description: str, description_key: str
    ) -> app_commands.Command[Any, ..., None]:
        """One slash command; its option (if any) is typed, described and completed."""
        default = self.core.languages()[0]
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

        async def when(interaction: Interaction, when: str | None = None) -> None:
            await self._on_command(interaction, f"{name} {when or ''}")

        async def words(interaction: Interaction, words: str | None = None) -> None:
            await self._on_command(interaction, f"{name} {words or ''}")

        callbacks: dict[str | None, Callable[..., Coroutine[Any, Any, None]]] = {
            None: plain,
            "session": session,
            "place": place,
            "language": language,
            "offsets": offsets,
            "hours": hours,
            "text": text,
            "when": when,
            "words": words,
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
                    for code in self.core.languages()[:MAX_CHOICES]
                ]
                callback = app_commands.choices(language=choices)(callback)
        return app_commands.Command(
            name=app_commands.locale_str(name, key=f"discord.command.{name}"),
            description=app_commands.locale_str(cut(description, 100), key=description_key),
            callback=callback,
        )

    def _lang(self, interaction: Interaction) -> str:
        """The catalog language of the caller's Discord client."""
        return hinted_language(self.core, interaction.locale.value)

    # --- autocomplete --------------------------------------------------------------------

    def _session_completer(
        self, name: str
    ) -> Callable[[Interaction, str], Coroutine[Any, Any, Choices]]:
        """Session ids with titles in the caller's language; "all" where the command takes it."""

        async def complete(interaction: Interaction, current: str) -> Choices:
            return self._session_choices(
                self._lang(interaction), current, name in ("subscribe", "unsubscribe"), name
            )

        return complete

    def _session_choices(
        self, lang: str, current: str, with_all: bool, name: str = "session"
    ) -> Choices:
        """Autocomplete choices for a session option, filtered by what was typed."""
        schedule = self.core.current_schedule()
        now = self.clock()
        needle = current.strip().casefold()
        choices: Choices = []
        if with_all:
            label = t("button.all", lang)
            if not needle or needle in "all" or needle in label.casefold():
                choices.append(app_commands.Choice(name=f"all · {label}", value="all"))
        if with_all and needle:
            # A track or a room (`track:Security`): offered once something is typed, so that
            # a conference's dozens of rooms do not crowd out its talks.
            for kind in ("track", "room"):
                names = {getattr(s, kind) for s in schedule.sessions} - {None}
                for group in sorted(str(n) for n in names):
                    value = cut(f"{kind}:{group}", 100)
                    if needle in value.casefold():
                        choices.append(app_commands.Choice(name=value, value=value))
        for session in schedule.sessions:
            if name == "subscribe" and session.is_over(now):
                continue  # nothing to subscribe to any more
            title = session.title.get(lang, schedule.event.languages)
            if needle and needle not in session.id.casefold() and needle not in title.casefold():
                continue
            label = cut(f"{session.id} · {title}", 100)
            choices.append(app_commands.Choice(name=label, value=session.id))
        return choices[:MAX_CHOICES]

    async def _complete_place(self, interaction: Interaction, current: str) -> Choices:
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
            value = cut(p.label if p.kind == "city" else p.zone, 100)
            label = p.label if p.label == p.zone else f"{p.label} ({p.zone})"
            choices.setdefault(value, app_commands.Choice(name=cut(label, 100), value=value))
        for suggestion in result.suggestions:
            value = cut(suggestion, 100)
            choices.setdefault(value, app_commands.Choice(name=value, value=value))
        return list(choices.values())[:MAX_CHOICES]

    # --- interactions → commands → replies -----------------------------------------------

    async def on_component(self, interaction: Interaction) -> None:
        """A button press runs its custom_id as a command line ("subscribe s1"); any other
        component (a select menu, a button of no command) is told it no longer works."""
        if interaction.type is not discord.InteractionType.component:
            return
        data: Mapping[str, Any] = interaction.data or {}
        button = data.get("component_type") == discord.ComponentType.button.value
        await self._on_command(interaction, str(data.get("custom_id", "")) if button else "")

    async def _on_command(self, interaction: Interaction, line: str) -> None:
        """Run one command for the caller and answer the interaction with the core's reply."""
        parsed = parse_action(line)  # a slash command's name and options, or a button's
        if parsed is None:
            # Discord shows "This interaction failed" to whoever is left unanswered.
            expired = Message(t("discord.button_expired", self._lang(interaction)))
            await self._answer_with(interaction, "(component)", Reply.of(expired))
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
            chat_kind=ChatKind.PRIVATE,
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
        await self._answer_with(interaction, f"/{name}", await answer)

    async def _answer_with(self, interaction: Interaction, what: str, reply: Reply) -> None:
        """Answer the interaction with `reply`; a refusal from Discord is logged."""
        try:
            await self._respond(interaction, reply)
        except discord.HTTPException as exc:
            log.warning("discord: answering %s failed: %s %s", what, exc.status, exc.text)

    async def _answer(self, command: Command, lang: str) -> Reply:
        """The core's reply; a stopping worker or a core failure still gets words."""
        try:
            reply = await self.core.on_command(command)
        except Exception:
            log.exception("discord: /%s failed in the core", command.name)
            return Reply.of(Message(t("error.internal", lang)))
        return reply if reply is not None else Reply.of(Message(t("discord.unavailable", lang)))

    async def _respond(self, interaction: Interaction, reply: Reply) -> None:
        """The first post answers the interaction; the rest are follow-ups."""
        where = interaction.guild_id
        posts = [
            p for m in reply.messages for p in self.renderer.posts(m, mention=None, guild_id=where)
        ]
        none = discord.AllowedMentions.none()
        for post in posts:
            kwargs: dict[str, Any] = {"allowed_mentions": none, "ephemeral": reply.ephemeral}
            kwargs |= post.parts()
            if post.content is not None:
                kwargs["content"] = post.content
            if not interaction.response.is_done():
                await interaction.response.send_message(**kwargs)
            else:
                await interaction.followup.send(**kwargs)
