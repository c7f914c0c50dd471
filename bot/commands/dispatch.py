"""The entry of every command: find the chat, check limits and rights, pick the handler."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace

from bot.commands.context import CommandContext, Handler, say
from bot.commands.organizer import OrganizerCommands
from bot.commands.permissions import is_organizer
from bot.commands.preferences import PreferenceCommands
from bot.commands.programme import ProgrammeCommands
from bot.commands.registry import ALIASES, HELP_ORDER, SETTINGS_COMMANDS
from bot.commands.throttle import Throttle, Verdict
from bot.commands.viewer import ViewerCommands
from bot.constants import ChatKind, ChatStatus
from bot.i18n import first_spoken, normalize_language, t
from bot.messages import NOT_A_COMMAND, Command, Reply
from bot.store import ChatRecord

log = logging.getLogger(__name__)


class Commands:
    """Answers commands; one instance serves every platform."""

    def __init__(self, ctx: CommandContext, organizer: OrganizerCommands) -> None:
        self.ctx = ctx
        self.organizer = organizer
        self.viewer = ViewerCommands(ctx, organizer.names)
        self.preferences = PreferenceCommands(ctx)
        # The programme's handlers come last: /schedule by day, and /subscribe's track and
        # room forms, before the viewer's own (which they call for everything else).
        self.programme = ProgrammeCommands(ctx, self.viewer)
        self._handlers: dict[str, Handler] = {
            **self.viewer.handlers(),
            **self.preferences.handlers(),
            **self.programme.handlers(),
        }
        for alias, name in ALIASES.items():
            self._handlers[alias] = self._handlers[name]
        limits = ctx.settings.limits
        self.throttle = Throttle(limits.command_burst, limits.commands_per_minute, ctx.clock)

    @property
    def names(self) -> tuple[str, ...]:
        """The commands viewers can use, in the order /help lists them."""
        return HELP_ORDER

    @property
    def organizer_names(self) -> tuple[str, ...]:
        """The commands only organizers may run, in the order /help lists them."""
        return self.organizer.names

    async def handle(self, cmd: Command) -> Reply:
        """Answer one command; never raises, not even when the database fails.

        A reply without messages: the sender floods and was told so already; nothing is
        answered or written.
        """
        # Every platform's commands enter here: from now on their text encodes and reads in
        # the order it was typed.
        cmd = cmd.cleaned()
        if cmd.name == NOT_A_COMMAND and cmd.chat_kind != ChatKind.PRIVATE:
            # Talk in a group is not for the bot: no answer, nothing written, not throttled.
            return Reply(())
        return await self._guarded(cmd)

    async def set_zone_from_location(
        self, cmd: Command, latitude: float, longitude: float
    ) -> Reply:
        """Set a chat's zone from a shared location; the reply names the zone found.

        A shared location is a /timezone without words: the same rights in a group, the same
        throttle, the same answer when the database fails.
        """

        async def from_location(located: Command, chat: ChatRecord) -> Reply:
            return await self.preferences.zone_from_location(located, chat, latitude, longitude)

        return await self._guarded(replace(cmd.cleaned(), name="timezone"), from_location)

    async def _guarded(self, cmd: Command, handler: Handler | None = None) -> Reply:
        """`cmd` answered within the throttle, with an apology for any failure around it."""
        lang_hint = normalize_language(cmd.locale_hint)
        try:
            return await self._unless_flooding(cmd, lambda: self._answer(cmd, lang_hint, handler))
        except Exception:
            # Finding or creating the chat (or auditing) failed, a database fault most likely:
            # the chat's language is unknown, so the apology is in the platform's hint.
            log.exception("command /%s failed on %s before its handler", cmd.name, cmd.platform)
            return say(t("error.internal", lang_hint or self._event_language()))

    def _event_language(self) -> str:
        """The language of a chat that chose none and whose platform hinted none the bot
        speaks: the event's first."""
        return first_spoken(self.ctx.schedule().event.languages)

    async def _unless_flooding(
        self, cmd: Command, answer: Callable[[], Awaitable[Reply]]
    ) -> Reply:
        """`answer()` if the sender keeps within the throttle; else one "slow down", then
        nothing (and nothing written) until their bucket is full again."""
        verdict = self.throttle.check(cmd.platform, cmd.user_id, queued=cmd.queued)
        if verdict is Verdict.PASS:
            return await answer()
        if verdict is Verdict.IGNORE:
            return Reply(())  # nothing to say (None would mean "the worker is stopping")
        # Read, not written: the chat's language if the chat is known, else the platform's.
        try:
            chat = await self.ctx.store.chats.get(cmd.platform, cmd.chat_id)
        except Exception:  # a database fault: the platform's language will do
            log.exception("reading a flooding chat's language failed")
            chat = None
        hint = normalize_language(cmd.locale_hint)
        lang = (chat.language if chat is not None else None) or hint or self._event_language()
        return replace(say(t("error.slow_down", lang)), lang=lang)

    async def _answer(
        self, cmd: Command, lang_hint: str | None, handler: Handler | None = None
    ) -> Reply:
        """Find the chat, check limits and rights, run the handler (its failures apologised):
        `handler`, or the one the command's name picks."""
        ctx = self.ctx
        limit = ctx.settings.limits.max_command_length
        chat, _ = await ctx.store.chats.get_or_create(
            cmd.platform,
            cmd.chat_id,
            user_id=cmd.user_id,
            kind=cmd.chat_kind,
            language=lang_hint,
            now=ctx.clock(),
        )
        lang = chat.language or lang_hint or self._event_language()
        if cmd.name == NOT_A_COMMAND:
            return say(t("error.not_a_command", lang))
        if len(cmd.text) > limit:
            return say(t("error.too_long", lang, length=len(cmd.text), max=limit))
        if cmd.name in self.organizer.names:
            return await self._organizer_command(cmd, chat, lang)
        handler = handler or self._handlers.get(cmd.name)
        if handler is None:
            return say(t("error.unknown_command", lang, name=cmd.name[:40]))
        if (
            cmd.name in SETTINGS_COMMANDS
            and cmd.chat_kind != ChatKind.PRIVATE
            and not cmd.is_admin
        ):
            return say(t("error.admins_only", lang))
        if chat.status != ChatStatus.ACTIVE and (
            cmd.name == "start" or cmd.chat_kind == ChatKind.PRIVATE
        ):
            # Someone who talks to the bot again can be reached again (if not, the next send
            # says so and marks the chat blocked once more).
            chat = (
                await ctx.store.chats.update(chat.pk, now=ctx.clock(), status=ChatStatus.ACTIVE)
                or chat
            )
        try:
            reply = await handler(cmd, chat)
            return reply if reply.lang else replace(reply, lang=lang)
        except Exception:
            log.exception("command /%s failed on %s", cmd.name, cmd.platform)
            return say(t("error.internal", lang))

    async def _organizer_command(self, cmd: Command, chat: ChatRecord, lang: str) -> Reply:
        """An organizer command: audited, refused for everyone else."""
        audit = self.ctx.store.audit
        detail: dict[str, str | int] = {"chat": cmd.chat_id, "text": cmd.text}
        if not is_organizer(cmd, self.ctx.settings):
            await audit.record_refusal(
                platform=cmd.platform,
                actor=cmd.user_id,
                action=cmd.name,
                detail=detail,
                now=self.ctx.clock(),
            )
            return say(t("organizer.refused", lang, name=cmd.name))
        # An action is audited whole, with what it acts on (a confirm names the drafter).
        detail |= await self.organizer.audit_facts(cmd)
        await audit.record(
            platform=cmd.platform,
            actor=cmd.user_id,
            action=cmd.name,
            detail=detail,
            allowed=True,
            now=self.ctx.clock(),
        )
        handler = self.organizer.handler(cmd.name)
        assert handler is not None  # `cmd.name` is one of `self.organizer.names`
        reader = replace(self.ctx.reader(chat), lang=lang)
        try:
            return replace(await handler(cmd, chat, reader), lang=lang)
        except Exception:
            log.exception("organizer command /%s failed on %s", cmd.name, cmd.platform)
            return say(t("error.internal", lang))
