"""The platform-neutral commands: a `Command` in, a localized `Reply` out."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from bot.broadcasts import Broadcasts
from bot.calendar import calendar_reply
from bot.config import Settings
from bot.i18n import catalog, languages, normalize_language, t
from bot.i18n.formatting import format_when, place_name
from bot.inputs import InputError, describe_offsets, format_quiet, parse_offsets, parse_quiet
from bot.messages import Button, Command, Message, Reply
from bot.organizer_commands import NextJobs, OrganizerCommands
from bot.organizers import is_organizer
from bot.planner import parse_clock
from bot.render import Reader, render_agenda, render_session, text
from bot.schedule import Schedule, Session
from bot.store import ChatRecord, Store
from bot.timezones import Place, place_at, resolve_timezone

log = logging.getLogger(__name__)

ALL = "*"
# Commands that change a chat's settings: in a group only its admins may run them.
SETTINGS_COMMANDS = frozenset(
    {"subscribe", "unsubscribe", "timezone", "language", "remind", "quiet"}
)
HELP_ORDER = (
    "start",
    "help",
    "schedule",
    "next",
    "session",
    "subscribe",
    "unsubscribe",
    "mysubs",
    "calendar",
    "timezone",
    "language",
    "remind",
    "quiet",
)


@dataclass
class Services:
    """What the commands need from the running worker."""

    store: Store
    settings: Settings
    schedule: Callable[[], Schedule]  # the schedule in force now (it may be reloaded)
    clock: Callable[[], dt.datetime]  # injected, so that tests never sleep
    replan: Callable[[], Awaitable[None]]  # reminders must be re-planned for changed settings
    wake: Callable[[], None] = lambda: None  # new ledger rows: tell the delivery engine
    next_jobs: NextJobs = list  # (job id, due instant) of the reminders still to fire
    # /reload: re-read the schedule file (None where there is no file to reload).
    reload: Callable[[Command, Reader], Awaitable[Reply]] | None = None


def reader_of(chat: ChatRecord, schedule: Schedule) -> Reader:
    """How this chat reads: its language and zone, or the defaults."""
    lang = chat.language or catalog(None).code
    return Reader(lang, chat.timezone or schedule.event.timezone, chat.tz_label)


def _quiet(chat: ChatRecord) -> tuple[dt.time, dt.time] | None:
    return (parse_clock(chat.quiet[0]), parse_clock(chat.quiet[1])) if chat.quiet else None


class Commands:
    """Answers commands; one instance serves every platform."""

    def __init__(self, services: Services) -> None:
        self.s = services
        self.broadcasts = Broadcasts(services.store, services.settings)
        self.organizer = OrganizerCommands(
            services.store,
            self.broadcasts,
            services.schedule,
            services.clock,
            services.wake,
            services.next_jobs,
        )
        # Organizer commands: refused, and audited, for everyone else.
        self._organizer_handlers: dict[
            str, Callable[[Command, ChatRecord, Reader], Awaitable[Reply]]
        ] = {"broadcast": self.organizer.broadcast, "stats": self.organizer.stats}
        reload = services.reload
        if reload is not None:
            self._organizer_handlers["reload"] = lambda cmd, chat, reader: reload(cmd, reader)
        self._handlers: dict[str, Callable[[Command, ChatRecord], Awaitable[Reply]]] = {
            "start": self.start,
            "help": self.help,
            "schedule": self.schedule,
            "agenda": self.schedule,
            "next": self.next,
            "session": self.session,
            "subscribe": self.subscribe,
            "unsubscribe": self.unsubscribe,
            "mysubs": self.mysubs,
            "calendar": self.calendar,
            "timezone": self.timezone,
            "language": self.language,
            "remind": self.remind,
            "quiet": self.quiet,
        }

    @property
    def names(self) -> tuple[str, ...]:
        """The commands viewers can use, in the order /help lists them."""
        return HELP_ORDER

    @property
    def organizer_names(self) -> tuple[str, ...]:
        """The commands only organizers may run, in the order /help lists them."""
        return tuple(self._organizer_handlers)

    async def handle(self, cmd: Command) -> Reply:
        """Answer one command; never raises for anything a viewer can type."""
        limit = self.s.settings.limits.max_command_length
        lang_hint = normalize_language(cmd.locale_hint)
        chat, _ = await self.s.store.chats.get_or_create(
            cmd.platform,
            cmd.chat_id,
            user_id=cmd.user_id,
            kind=cmd.chat_kind,
            language=lang_hint,
            now=self.s.clock(),
        )
        lang = chat.language or lang_hint or catalog(None).code
        if len(cmd.text) > limit:
            return self._say(t("error.too_long", lang, length=len(cmd.text), max=limit))
        if cmd.name in self._organizer_handlers:
            return await self._organizer_command(cmd, chat, lang)
        handler = self._handlers.get(cmd.name)
        if handler is None:
            return self._say(t("error.unknown_command", lang, name=cmd.name[:40]))
        if cmd.name in SETTINGS_COMMANDS and cmd.chat_kind != "private" and not cmd.is_admin:
            return self._say(t("error.admins_only", lang))
        if chat.status != "active" and (cmd.name == "start" or cmd.chat_kind == "private"):
            # Someone who talks to the bot again can be reached again (if not, the next send
            # says so and marks the chat blocked once more).
            chat = (
                await self.s.store.chats.update(chat.pk, now=self.s.clock(), status="active")
                or chat
            )
        try:
            reply = await handler(cmd, chat)
            return reply if reply.lang else replace(reply, lang=lang)
        except Exception:
            log.exception("command /%s failed on %s", cmd.name, cmd.platform)
            return self._say(t("error.internal", lang))

    async def _organizer_command(self, cmd: Command, chat: ChatRecord, lang: str) -> Reply:
        allowed = is_organizer(cmd, self.s.settings)
        detail = {"chat": cmd.chat_id, "text": cmd.text[:500]}
        await self.s.store.audit.record(
            platform=cmd.platform,
            actor=cmd.user_id,
            action=cmd.name,
            detail=detail,
            allowed=allowed,
            now=self.s.clock(),
        )
        if not allowed:
            return self._say(t("organizer.refused", lang, name=cmd.name))
        reader = replace(self._reader(chat), lang=lang)
        try:
            return replace(await self._organizer_handlers[cmd.name](cmd, chat, reader), lang=lang)
        except Exception:
            log.exception("organizer command /%s failed on %s", cmd.name, cmd.platform)
            return self._say(t("error.internal", lang))

    # --- helpers -----------------------------------------------------------------------

    @staticmethod
    def _say(body: str, **kwargs: object) -> Reply:
        return Reply.of(Message(body, **kwargs))  # type: ignore[arg-type]

    def _reader(self, chat: ChatRecord) -> Reader:
        return reader_of(chat, self.s.schedule())

    def _offsets(self, chat: ChatRecord) -> tuple[int, ...]:
        if chat.offsets is None:
            return self.s.settings.reminders.default_offsets
        return chat.offsets

    def _session_list(self, reader: Reader, sessions: list[Session]) -> list[str]:
        schedule = self.s.schedule()
        lines = []
        for session in sessions:
            if session.start is not None:
                when = format_when(session.start, reader.zone, reader.lang)
            else:
                when = t("session.time_tba", reader.lang)
            title = text(session.title, reader, schedule)
            lines.append(t("list.session", reader.lang, id=session.id, title=title, when=when))
        return lines

    def _unknown_session(self, reader: Reader, wanted: str, verb: str) -> Reply:
        ids = ", ".join(self.s.schedule().session_ids())
        return self._say(
            t(
                "error.no_such_session",
                reader.lang,
                id=wanted[:40],
                ids=ids,
                example=f"/{verb} {self.s.schedule().sessions[0].id}",
            )
        )

    def _pick_session(self, reader: Reader, verb: str, sessions: list[Session]) -> Reply:
        lines = [t(f"{verb}.which", reader.lang), *self._session_list(reader, sessions)]
        buttons = [(Button(t("button.all", reader.lang), f"{verb} all"),)]
        buttons += [(Button(s.id, f"{verb} {s.id}"),) for s in sessions[:8]]
        return Reply.of(Message("\n".join(lines), buttons=tuple(buttons)))

    # --- commands ----------------------------------------------------------------------

    async def start(self, cmd: Command, chat: ChatRecord) -> Reply:
        """/start [sub-ID]: welcome, with the viewer's settings and a quick subscribe."""
        schedule = self.s.schedule()
        reader = self._reader(chat)
        lang = reader.lang
        place = reader.place or place_name(reader.zone, lang)
        body = t("start.body", lang, language=catalog(lang).name, place=place, zone=reader.zone)
        buttons = (
            (
                Button(t("button.subscribe_all", lang), "subscribe all"),
                Button(t("button.schedule", lang), "schedule"),
            ),
            tuple(Button(catalog(code).name, f"language {code}") for code in languages()),
        )
        welcome = Message(
            body,
            title=t("start.title", lang, event=text(schedule.event.name, reader, schedule)),
            buttons=buttons,
        )
        payload = cmd.args[0] if cmd.args else ""
        if payload.startswith("sub-"):
            follow = await self.subscribe(
                Command(cmd.platform, cmd.chat_id, cmd.user_id, "subscribe", (payload[4:],)),
                chat,
            )
            return Reply((welcome, *follow.messages))
        return Reply.of(welcome)

    async def help(self, cmd: Command, chat: ChatRecord) -> Reply:
        """/help: every command with a line on what it does."""
        lang = self._reader(chat).lang
        lines = [t(f"help.{name}", lang) for name in HELP_ORDER]
        if is_organizer(cmd, self.s.settings):
            lines += ["", t("organizer_help.title", lang)]
            lines += [t(f"organizer_help.{name}", lang) for name in self._organizer_handlers]
        return Reply.of(Message("\n".join(lines), title=t("help.title", lang)))

    async def schedule(self, cmd: Command, chat: ChatRecord) -> Reply:
        """/schedule: the agenda in the chat's language and zone."""
        reader = self._reader(chat)
        agenda = render_agenda(
            self.s.schedule(), reader, self.s.clock(), zone_chosen=chat.timezone is not None
        )
        return Reply.of(agenda)

    async def next(self, cmd: Command, chat: ChatRecord) -> Reply:
        """/next: the session on now or next, with countdown and link."""
        reader = self._reader(chat)
        now = self.s.clock()
        session = self.s.schedule().next_session(now)
        if session is None:
            return self._say(t("next.none", reader.lang))
        return await self._card(chat, reader, session, now)

    async def _card(
        self, chat: ChatRecord, reader: Reader, session: Session, now: dt.datetime
    ) -> Reply:
        subs = await self.s.store.chats.subscriptions(chat.pk)
        subscribed = session.id in subs or ALL in subs
        return Reply.of(
            render_session(self.s.schedule(), session, reader, now, subscribed=subscribed)
        )

    async def session(self, cmd: Command, chat: ChatRecord) -> Reply:
        """/session ID: details, speakers and link of one session."""
        reader = self._reader(chat)
        schedule = self.s.schedule()
        if not cmd.args:
            return self._pick_session(reader, "session", list(schedule.sessions))
        session = schedule.session(cmd.args[0].lower())
        if session is None:
            return self._unknown_session(reader, cmd.args[0], "session")
        return await self._card(chat, reader, session, self.s.clock())

    async def subscribe(self, cmd: Command, chat: ChatRecord) -> Reply:
        """/subscribe ID|all: reminders for one session or every session."""
        reader = self._reader(chat)
        lang = reader.lang
        schedule = self.s.schedule()
        now = self.s.clock()
        upcoming = [s for s in schedule.sessions if not s.is_over(now)]
        if not cmd.args:
            return self._pick_session(reader, "subscribe", upcoming)
        wanted = cmd.args[0].lower()
        reminders = describe_offsets(self._offsets(chat), lang)
        subs = await self.s.store.chats.subscriptions(chat.pk)
        if wanted == "all":
            added = await self.s.store.chats.subscribe(chat.pk, ALL, now=self.s.clock())
            if added:
                await self.s.replan()
            key = "subscribe.all_done" if added else "subscribe.all_already"
            return self._say(t(key, lang, reminders=reminders))
        session = schedule.session(wanted)
        if session is None:
            return self._unknown_session(reader, wanted, "subscribe")
        title = text(session.title, reader, schedule)
        if session.is_over(now):
            return self._say(t("subscribe.ended", lang, title=title))
        if ALL in subs:
            return self._say(t("subscribe.covered_by_all", lang, title=title))
        added = await self.s.store.chats.subscribe(chat.pk, session.id, now=self.s.clock())
        if not added:
            return self._say(t("subscribe.already", lang, title=title))
        await self.s.replan()
        key = "subscribe.done" if session.start else "subscribe.done_tba"
        body = t(key, lang, title=title, reminders=reminders)
        button = Button(t("button.unsubscribe", lang), f"unsubscribe {session.id}")
        return self._say(body, buttons=((button,),))

    async def unsubscribe(self, cmd: Command, chat: ChatRecord) -> Reply:
        """/unsubscribe ID|all: stop reminders for one session or every session."""
        reader = self._reader(chat)
        lang = reader.lang
        schedule = self.s.schedule()
        subs = await self.s.store.chats.subscriptions(chat.pk)
        if not subs:
            return self._say(t("unsubscribe.nothing", lang))
        if not cmd.args:
            mine = [s for s in schedule.sessions if s.id in subs or ALL in subs]
            return self._pick_session(reader, "unsubscribe", mine)
        wanted = cmd.args[0].lower()
        if wanted == "all":
            await self.s.store.chats.unsubscribe_all(chat.pk)
            await self.s.replan()
            return self._say(t("unsubscribe.all_done", lang))
        session = schedule.session(wanted)
        if session is None:
            return self._unknown_session(reader, wanted, "unsubscribe")
        title = text(session.title, reader, schedule)
        if ALL in subs:
            # "All" cannot exclude one session, so it becomes the explicit list of the others.
            now = self.s.clock()
            others = [s.id for s in schedule.sessions if s.id != session.id and not s.is_over(now)]
            for other in others:
                await self.s.store.chats.subscribe(chat.pk, other, now=self.s.clock())
            await self.s.store.chats.unsubscribe(chat.pk, ALL)
            await self.s.store.chats.unsubscribe(chat.pk, session.id)
            await self.s.replan()
            return self._say(t("unsubscribe.from_all", lang, title=title, count=len(others)))
        if not await self.s.store.chats.unsubscribe(chat.pk, session.id):
            return self._say(t("unsubscribe.not_subscribed", lang, title=title))
        await self.s.replan()
        button = Button(t("button.subscribe", lang), f"subscribe {session.id}")
        return self._say(t("unsubscribe.done", lang, title=title), buttons=((button,),))

    async def mysubs(self, cmd: Command, chat: ChatRecord) -> Reply:
        """/mysubs: subscriptions and every setting of this chat."""
        reader = self._reader(chat)
        lang = reader.lang
        schedule = self.s.schedule()
        subs = await self.s.store.chats.subscriptions(chat.pk)
        if ALL in subs:
            lines = [t("mysubs.all", lang)]
        elif subs:
            lines = [t("mysubs.some", lang)]
            lines += self._session_list(reader, [s for s in schedule.sessions if s.id in subs])
        else:
            lines = [t("mysubs.none", lang)]
        place = reader.place or place_name(reader.zone, lang)
        lines += [
            "",
            t("mysubs.language", lang, language=catalog(lang).name),
            t("mysubs.timezone", lang, place=place, zone=reader.zone),
            t("mysubs.reminders", lang, reminders=describe_offsets(self._offsets(chat), lang)),
            t("mysubs.quiet", lang, quiet=format_quiet(_quiet(chat), lang)),
        ]
        return Reply.of(Message("\n".join(lines), title=t("mysubs.title", lang)))

    async def calendar(self, cmd: Command, chat: ChatRecord) -> Reply:
        """/calendar [ID|all]: the chat's sessions as an .ics file, with Google Calendar links."""
        reader = self._reader(chat)
        schedule = self.s.schedule()
        ids: list[str] | None
        wanted = cmd.args[0].lower() if cmd.args else None
        if wanted == "all":
            ids = None
        elif wanted is not None:
            session = schedule.session(wanted)
            if session is None:
                return self._unknown_session(reader, wanted, "calendar")
            ids = [session.id]
        else:
            subs = await self.s.store.chats.subscriptions(chat.pk)
            ids = None if ALL in subs else [s.id for s in schedule.sessions if s.id in subs]
        return calendar_reply(schedule, ids, reader, self.s.clock())

    async def timezone(self, cmd: Command, chat: ChatRecord) -> Reply:
        """/timezone QUERY: a city, country, zone or offset; always says what it resolved."""
        reader = self._reader(chat)
        lang = reader.lang
        query = cmd.text.strip()
        if not query:
            place = reader.place or place_name(reader.zone, lang)
            return self._say(t("timezone.current", lang, place=place, zone=reader.zone))
        result = resolve_timezone(query, lang)
        if result.match is None and result.choices:
            buttons = tuple((Button(c.label, f"timezone {c.zone}"),) for c in result.choices[:8])
            lines = [t("timezone.which", lang, query=query)]
            lines += [t("list.place", lang, label=c.label, zone=c.zone) for c in result.choices]
            return self._say("\n".join(lines), buttons=buttons)
        if result.match is None:
            if result.suggestions:
                body = t(
                    "timezone.not_found_suggest",
                    lang,
                    query=query,
                    suggestions=", ".join(result.suggestions),
                )
                buttons = tuple((Button(s, f"timezone {s}"),) for s in result.suggestions[:5])
                return self._say(body, buttons=buttons)
            return self._say(t("timezone.not_found", lang, query=query))
        return await self._set_zone(chat, result.match, result.choices, lang)

    async def _set_zone(
        self, chat: ChatRecord, place: Place, others: tuple[Place, ...], lang: str
    ) -> Reply:
        updated = await self.s.store.chats.update(
            chat.pk, now=self.s.clock(), timezone=place.zone, tz_label=place.label
        )
        chat = updated or chat
        await self.s.replan()
        now = self.s.clock()
        lines = [
            t(
                "timezone.set",
                lang,
                place=place.label,
                zone=place.zone,
                time=format_when(now, place.zone, lang),
            )
        ]
        schedule = self.s.schedule()
        upcoming = schedule.next_session(now)
        if upcoming is not None and upcoming.start is not None:
            lines.append(
                t(
                    "timezone.next",
                    lang,
                    title=text(upcoming.title, self._reader(chat), schedule),
                    when=format_when(upcoming.start, place.zone, lang),
                )
            )
        buttons: tuple[tuple[Button, ...], ...] = ()
        if others:
            lines.append(t("timezone.also", lang, places="; ".join(o.label for o in others[:5])))
            buttons = tuple((Button(o.label, f"timezone {o.zone}"),) for o in others[:5])
        return self._say("\n".join(lines), buttons=buttons)

    async def set_zone_from_location(
        self, cmd: Command, latitude: float, longitude: float
    ) -> Reply:
        """Set a chat's zone from a shared location; the reply names the zone found."""
        chat, _ = await self.s.store.chats.get_or_create(
            cmd.platform, cmd.chat_id, user_id=cmd.user_id, kind=cmd.chat_kind, now=self.s.clock()
        )
        lang = self._reader(chat).lang
        if cmd.chat_kind != "private" and not cmd.is_admin:
            return self._say(t("error.admins_only", lang))
        place = place_at(latitude, longitude, lang)
        if place is None:
            return self._say(t("timezone.no_zone_there", lang))
        return await self._set_zone(chat, place, (), lang)

    async def language(self, cmd: Command, chat: ChatRecord) -> Reply:
        """/language CODE: the language of every message to this chat."""
        reader = self._reader(chat)
        wanted = normalize_language(cmd.text.strip()) if cmd.text.strip() else None
        if wanted is None:
            buttons = (tuple(Button(catalog(c).name, f"language {c}") for c in languages()),)
            key = "language.which" if not cmd.text.strip() else "language.unknown"
            return self._say(
                t(key, reader.lang, text=cmd.text.strip()[:40], codes=", ".join(languages())),
                buttons=buttons,
            )
        label = chat.tz_label
        if label and chat.timezone:
            # The place the viewer chose, named again in the new language ("Prague, 捷克").
            found = resolve_timezone(label, wanted).match
            if found is not None and found.zone == chat.timezone:
                label = found.label
        await self.s.store.chats.update(
            chat.pk, now=self.s.clock(), language=wanted, tz_label=label
        )
        reply = self._say(t("language.set", wanted, language=catalog(wanted).name))
        return replace(reply, lang=wanted)

    async def remind(self, cmd: Command, chat: ChatRecord) -> Reply:
        """/remind OFFSETS|default|off: when this chat's reminders go out."""
        lang = self._reader(chat).lang
        r = self.s.settings.reminders
        words = [w.lower() for w in cmd.args]
        if not words:
            return self._say(
                t("remind.current", lang, reminders=describe_offsets(self._offsets(chat), lang)),
                buttons=self._remind_buttons(lang),
            )
        offsets: tuple[int, ...] | None
        if words == ["default"]:
            offsets = None
        elif words == ["off"]:
            offsets = ()
        else:
            try:
                offsets = parse_offsets(
                    words, max_count=r.max_offsets, max_minutes=r.max_offset_minutes
                )
            except InputError as exc:
                limit = describe_offsets((r.max_offset_minutes,), lang)
                return self._say(
                    t(
                        f"remind.error_{exc.reason}",
                        lang,
                        token=exc.token[:40],
                        max=r.max_offsets,
                        limit=limit,
                    )
                )
        await self.s.store.chats.update(chat.pk, now=self.s.clock(), offsets=offsets)
        await self.s.replan()
        if offsets == ():
            return self._say(t("remind.disabled", lang))
        shown = r.default_offsets if offsets is None else offsets
        return self._say(t("remind.set", lang, reminders=describe_offsets(shown, lang)))

    @staticmethod
    def _remind_buttons(lang: str) -> tuple[tuple[Button, ...], ...]:
        return (
            (
                Button(t("button.remind_default", lang), "remind default"),
                Button(t("button.remind_short", lang), "remind 10m 0"),
            ),
            (Button(t("button.remind_off", lang), "remind off"),),
        )

    async def quiet(self, cmd: Command, chat: ChatRecord) -> Reply:
        """/quiet HH:MM-HH:MM|off: hours in which no reminder arrives."""
        reader = self._reader(chat)
        lang = reader.lang
        value = cmd.text.strip().lower()
        place = reader.place or place_name(reader.zone, lang)
        if not value:
            return self._say(
                t("quiet.current", lang, quiet=format_quiet(_quiet(chat), lang), place=place)
            )
        if value == "off":
            await self.s.store.chats.update(chat.pk, now=self.s.clock(), quiet=None)
            await self.s.replan()
            return self._say(t("quiet.disabled", lang))
        try:
            begin, end = parse_quiet(value)
        except InputError:
            return self._say(t("quiet.error", lang, text=cmd.text.strip()[:40]))
        await self.s.store.chats.update(
            chat.pk, now=self.s.clock(), quiet=(f"{begin:%H:%M}", f"{end:%H:%M}")
        )
        await self.s.replan()
        return self._say(
            t(
                "quiet.set",
                lang,
                quiet=format_quiet((begin, end), lang),
                place=place,
                begin=f"{begin:%H:%M}",
            )
        )
