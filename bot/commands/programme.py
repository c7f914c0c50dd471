"""The programme at conference scale: /schedule by day, room or track, /now, /find, and
/subscribe and /unsubscribe of a whole track or room."""

from __future__ import annotations

import datetime as dt
import re

from bot.commands.context import CommandContext, Handler, say
from bot.commands.viewer import ViewerCommands
from bot.constants import ALL_SESSIONS
from bot.groups import KINDS, close_names, marker, parse_group
from bot.i18n import t
from bot.i18n.formatting import format_date, format_when, local
from bot.inputs import describe_offsets
from bot.messages import Button, Command, Reply
from bot.programme import (
    Filter,
    Programme,
    day_message,
    default_day,
    found_message,
    group_label,
    now_message,
    opening_view,
    programme,
)
from bot.render import Reader
from bot.schedule import Session
from bot.store import ChatRecord

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TODAY = frozenset({"today"})
_TOMORROW = frozenset({"tomorrow"})


class ProgrammeCommands:
    """/schedule [today|tomorrow|DATE] [room:NAME|track:NAME], /now, /find WORDS, and the
    track and room forms of /subscribe and /unsubscribe (the rest go to the viewer's)."""

    def __init__(self, ctx: CommandContext, viewer: ViewerCommands) -> None:
        self.ctx = ctx
        self.viewer = viewer

    def handlers(self) -> dict[str, Handler]:
        """The handler of each of these commands, by name."""
        return {
            "schedule": self.schedule,
            "now": self.now,
            "find": self.find,
            "subscribe": self.subscribe,
            "unsubscribe": self.unsubscribe,
        }

    def _programme(self) -> Programme:
        return programme(self.ctx.schedule())

    # --- /schedule ---------------------------------------------------------------------------

    async def schedule(self, cmd: Command, chat: ChatRecord) -> Reply:
        """/schedule [today|tomorrow|DATE] [room:NAME|track:NAME]: one day of the programme."""
        reader = self.ctx.reader(chat)
        lang = reader.lang
        now = self.ctx.clock()
        schedule = self.ctx.schedule()
        chosen = chat.timezone is not None
        typed = cmd.text.strip()
        if not typed:
            return Reply.of(opening_view(schedule, reader, now, chosen=chosen))
        prog = self._programme()
        first, _, rest = typed.partition(" ")
        day: dt.date | None
        word = first.casefold()
        if word in _TODAY:
            day = local(now, reader.zone).date()
        elif word in _TOMORROW:
            day = local(now, reader.zone).date() + dt.timedelta(days=1)
        elif _DATE.fullmatch(first):
            try:
                day = dt.date.fromisoformat(first)
            except ValueError:
                return say(t("scale.schedule_usage", lang, typed=first[:40]))
        else:
            day, rest = None, typed
        only = None
        if rest.strip():
            wanted = _group_typed(rest)
            if wanted is None:
                return say(t("scale.schedule_usage", lang, typed=rest.strip()[:40]))
            only = prog.group(*wanted)
            if only is None:
                return self._no_group(prog, reader, wanted, "schedule")
        if day is None:
            day = _first_day(prog, reader.zone, now, only)
        if day is None:
            return say(t("scale.day_empty", lang))
        return Reply.of(day_message(prog, reader, day, chosen=chosen, only=only))

    def _no_group(
        self, prog: Programme, reader: Reader, wanted: tuple[str, str], verb: str
    ) -> Reply:
        """No room or track of that name: say so, with the closest names to press."""
        kind, typed = wanted
        lang = reader.lang
        names = prog.names(kind)
        if not names:
            return say(t(f"scale.no_{kind}s", lang))
        close = close_names(typed, names) or names[:5]
        listed = t("agenda.sep", lang).join(close)
        body = t(f"scale.no_{kind}", lang, name=typed[:40], names=listed)
        buttons = tuple((Button(name, f"{verb} {kind}:{name}"),) for name in close)
        return say(body, buttons=buttons)

    # --- /now ------------------------------------------------------------------------------

    async def now(self, cmd: Command, chat: ChatRecord) -> Reply:
        """/now: in each room, the talk on now and the next one, with the stream link."""
        reader = self.ctx.reader(chat)
        return Reply.of(now_message(self._programme(), reader, self.ctx.clock()))

    # --- /find -----------------------------------------------------------------------------

    async def find(self, cmd: Command, chat: ChatRecord) -> Reply:
        """/find WORDS: talks by title, speaker, room or track, accents and case ignored."""
        reader = self.ctx.reader(chat)
        lang = reader.lang
        prog = self._programme()
        example = _example_word(prog)
        query = " ".join(cmd.text.split())[:100]
        if not query:
            return say(t("scale.find_usage", lang, example=f"/find {example}"))
        found = prog.find(query.split())
        if not found:
            return say(t("scale.find_none", lang, query=query, example=f"/find {example}"))

        def when_of(session: Session) -> str:
            if session.start is None:
                return format_date(session.date, lang)
            return format_when(session.start, reader.zone, lang)

        return Reply.of(found_message(prog, reader, query, found, when_of))

    # --- /subscribe and /unsubscribe of a track or a room ----------------------------------

    async def subscribe(self, cmd: Command, chat: ChatRecord) -> Reply:
        """/subscribe track:NAME or room:NAME (every talk in it, later ones too); else as ever."""
        wanted = parse_group(cmd.text)
        if wanted is None:
            return await self.viewer.subscribe(cmd, chat)
        reader = self.ctx.reader(chat)
        lang = reader.lang
        prog = self._programme()
        found = prog.group(*wanted)
        if found is None:
            return self._no_group(prog, reader, wanted, "subscribe")
        label = group_label(found.kind, found.name, lang)
        subs = await self.ctx.store.chats.subscriptions(chat.pk)
        if ALL_SESSIONS in subs:
            return say(t("scale.group_covered_by_all", lang, group=label))
        now = self.ctx.clock()
        if not await self.ctx.store.chats.subscribe(
            chat.pk, marker(found.kind, found.name), now=now
        ):
            return say(t("scale.group_already", lang, group=label))
        await self.ctx.replan()
        count = sum(1 for s in prog.schedule.sessions if found.keeps(s) and not s.is_over(now))
        reminders = describe_offsets(self.ctx.offsets(chat), lang)
        body = t("scale.group_done", lang, group=label, count=count, reminders=reminders)
        button = Button(t("button.unsubscribe", lang), f"unsubscribe {found.action()}")
        return say(body, buttons=((button,),))

    async def unsubscribe(self, cmd: Command, chat: ChatRecord) -> Reply:
        """/unsubscribe track:NAME or room:NAME; anything else as ever."""
        wanted = parse_group(cmd.text)
        if wanted is None:
            return await self.viewer.unsubscribe(cmd, chat)
        reader = self.ctx.reader(chat)
        lang = reader.lang
        prog = self._programme()
        found = prog.group(*wanted)
        # A track gone from the schedule can still be followed: undo it by the name typed.
        kind, name = (found.kind, found.name) if found else wanted
        label = group_label(kind, name, lang)
        if not await self.ctx.store.chats.unsubscribe(chat.pk, marker(kind, name)):
            if found is None:
                return self._no_group(prog, reader, wanted, "unsubscribe")
            return say(t("scale.group_not_subscribed", lang, group=label))
        await self.ctx.replan()
        button = Button(t("button.subscribe", lang), f"subscribe {kind}:{name}")
        return say(t("scale.group_undone", lang, group=label), buttons=((button,),))


def _group_typed(rest: str) -> tuple[str, str] | None:
    """ "room:Hall A", "room Hall A", "track: Security" → (kind, name)."""
    found = parse_group(rest)
    if found is not None:
        return found if found[1] else None
    head, _, name = rest.strip().partition(" ")
    kind = head.casefold()
    return (kind, " ".join(name.split())) if kind in KINDS and name.strip() else None


def _first_day(
    prog: Programme, zone: str, now: dt.datetime, only: Filter | None
) -> dt.date | None:
    """The day a /schedule without a date opens on, for the whole programme or one filter."""
    if only is None:
        return default_day(prog, zone, now)
    days = [d for d, ss in prog.days(zone).items() if any(only.keeps(s) for s in ss)]
    if not days:
        return None
    today = local(now, zone).date()
    return next((d for d in days if d >= today), days[-1])


def _example_word(prog: Programme) -> str:
    """A word worth searching for in this programme: its first track, else a title word."""
    if prog.tracks:
        return prog.tracks[0].split()[0]
    if prog.rooms:
        return prog.rooms[0].split()[0]
    return "summit"


__all__ = ["ProgrammeCommands"]
