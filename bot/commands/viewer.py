"""What viewers ask: welcome, help, the agenda, sessions, subscriptions and calendars."""

from __future__ import annotations

import datetime as dt

from bot.calendar import calendar_reply, feed_urls, session_sequences
from bot.commands.context import CommandContext, Handler, quiet_hours, say
from bot.commands.permissions import is_organizer
from bot.commands.registry import HELP_ORDER
from bot.constants import ALL_SESSIONS
from bot.i18n import catalog, languages, t
from bot.inputs import describe_offsets, format_quiet
from bot.messages import Button, Command, Message, Reply
from bot.render import Reader, render_agenda, render_session, text
from bot.schedule import Session
from bot.store import ChatRecord


class ViewerCommands:
    """/start, /help, /schedule, /next, /session, /subscribe, /unsubscribe, /mysubs, /calendar."""

    def __init__(self, ctx: CommandContext, organizer_names: tuple[str, ...]) -> None:
        self.ctx = ctx
        self.organizer_names = organizer_names  # listed by /help for organizers

    def handlers(self) -> dict[str, Handler]:
        """The handler of each of these commands, by name."""
        return {
            "start": self.start,
            "help": self.help,
            "schedule": self.schedule,
            "next": self.next,
            "session": self.session,
            "subscribe": self.subscribe,
            "unsubscribe": self.unsubscribe,
            "mysubs": self.mysubs,
            "calendar": self.calendar,
        }

    async def start(self, cmd: Command, chat: ChatRecord) -> Reply:
        """/start [sub-ID]: welcome, with the viewer's settings and a quick subscribe."""
        schedule = self.ctx.schedule()
        reader = self.ctx.reader(chat)
        lang = reader.lang
        place = reader.where_and_zone()
        body = t("start.body", lang, language=catalog(lang).name, place=place)
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
        lang = self.ctx.reader(chat).lang
        lines = [t(f"help.{name}", lang) for name in HELP_ORDER]
        if is_organizer(cmd, self.ctx.settings):
            lines += ["", t("organizer_help.title", lang)]
            lines += [t(f"organizer_help.{name}", lang) for name in self.organizer_names]
        return Reply.of(Message("\n".join(lines), title=t("help.title", lang)))

    async def schedule(self, cmd: Command, chat: ChatRecord) -> Reply:
        """/schedule: the agenda in the chat's language and zone."""
        reader = self.ctx.reader(chat)
        agenda = render_agenda(
            self.ctx.schedule(), reader, self.ctx.clock(), zone_chosen=chat.timezone is not None
        )
        return Reply.of(agenda)

    async def next(self, cmd: Command, chat: ChatRecord) -> Reply:
        """/next: the session on now or next, with countdown and link."""
        reader = self.ctx.reader(chat)
        now = self.ctx.clock()
        session = self.ctx.schedule().next_session(now)
        if session is None:
            return say(t("next.none", reader.lang))
        return await self._card(chat, reader, session, now)

    async def _card(
        self, chat: ChatRecord, reader: Reader, session: Session, now: dt.datetime
    ) -> Reply:
        subs = await self.ctx.store.chats.subscriptions(chat.pk)
        subscribed = session.id in subs or ALL_SESSIONS in subs
        return Reply.of(
            render_session(self.ctx.schedule(), session, reader, now, subscribed=subscribed)
        )

    async def session(self, cmd: Command, chat: ChatRecord) -> Reply:
        """/session ID: details, speakers and link of one session."""
        reader = self.ctx.reader(chat)
        schedule = self.ctx.schedule()
        if not cmd.args:
            # One card at a time: /session takes no `all`.
            return self.ctx.pick_session(
                reader, "session", list(schedule.sessions), with_all=False
            )
        session = schedule.session(cmd.args[0].lower())
        if session is None:
            return self.ctx.unknown_session(reader, cmd.args[0], "session")
        return await self._card(chat, reader, session, self.ctx.clock())

    async def subscribe(self, cmd: Command, chat: ChatRecord) -> Reply:
        """/subscribe ID|all: reminders for one session or every session."""
        reader = self.ctx.reader(chat)
        lang = reader.lang
        schedule = self.ctx.schedule()
        now = self.ctx.clock()
        upcoming = [s for s in schedule.sessions if not s.is_over(now)]
        if not cmd.args:
            return self.ctx.pick_session(reader, "subscribe", upcoming)
        wanted = cmd.args[0].lower()
        reminders = describe_offsets(self.ctx.offsets(chat), lang)
        subs = await self.ctx.store.chats.subscriptions(chat.pk)
        if wanted == "all":
            added = await self.ctx.store.chats.subscribe(
                chat.pk, ALL_SESSIONS, now=self.ctx.clock()
            )
            if added:
                await self.ctx.replan()
            key = "subscribe.all_done" if added else "subscribe.all_already"
            return say(t(key, lang, reminders=reminders))
        session = schedule.session(wanted)
        if session is None:
            return self.ctx.unknown_session(reader, wanted, "subscribe")
        title = text(session.title, reader, schedule)
        if session.is_over(now):
            return say(t("subscribe.ended", lang, title=title))
        if ALL_SESSIONS in subs:
            return say(t("subscribe.covered_by_all", lang, title=title))
        added = await self.ctx.store.chats.subscribe(chat.pk, session.id, now=self.ctx.clock())
        if not added:
            return say(t("subscribe.already", lang, title=title))
        await self.ctx.replan()
        key = "subscribe.done" if session.start else "subscribe.done_tba"
        body = t(key, lang, title=title, reminders=reminders)
        button = Button(t("button.unsubscribe", lang), f"unsubscribe {session.id}")
        return say(body, buttons=((button,),))

    async def unsubscribe(self, cmd: Command, chat: ChatRecord) -> Reply:
        """/unsubscribe ID|all: stop reminders for one session or every session."""
        reader = self.ctx.reader(chat)
        lang = reader.lang
        schedule = self.ctx.schedule()
        subs = await self.ctx.store.chats.subscriptions(chat.pk)
        if not subs:
            return say(t("unsubscribe.nothing", lang))
        if not cmd.args:
            mine = [s for s in schedule.sessions if s.id in subs or ALL_SESSIONS in subs]
            return self.ctx.pick_session(reader, "unsubscribe", mine)
        wanted = cmd.args[0].lower()
        if wanted == "all":
            await self.ctx.store.chats.unsubscribe_all(chat.pk)
            await self.ctx.replan()
            return say(t("unsubscribe.all_done", lang))
        session = schedule.session(wanted)
        if session is None:
            return self.ctx.unknown_session(reader, wanted, "unsubscribe")
        title = text(session.title, reader, schedule)
        if ALL_SESSIONS in subs:
            # "All" cannot exclude one session, so it becomes the explicit list of the others.
            now = self.ctx.clock()
            others = [s.id for s in schedule.sessions if s.id != session.id and not s.is_over(now)]
            for other in others:
                await self.ctx.store.chats.subscribe(chat.pk, other, now=self.ctx.clock())
            await self.ctx.store.chats.unsubscribe(chat.pk, ALL_SESSIONS)
            await self.ctx.store.chats.unsubscribe(chat.pk, session.id)
            await self.ctx.replan()
            return say(t("unsubscribe.from_all", lang, title=title, count=len(others)))
        if not await self.ctx.store.chats.unsubscribe(chat.pk, session.id):
            return say(t("unsubscribe.not_subscribed", lang, title=title))
        await self.ctx.replan()
        button = Button(t("button.subscribe", lang), f"subscribe {session.id}")
        return say(t("unsubscribe.done", lang, title=title), buttons=((button,),))

    async def mysubs(self, cmd: Command, chat: ChatRecord) -> Reply:
        """/mysubs: subscriptions and every setting of this chat."""
        reader = self.ctx.reader(chat)
        lang = reader.lang
        schedule = self.ctx.schedule()
        subs = await self.ctx.store.chats.subscriptions(chat.pk)
        if ALL_SESSIONS in subs:
            lines = [t("mysubs.all", lang)]
        elif subs:
            lines = [t("mysubs.some", lang)]
            lines += self.ctx.session_list(reader, [s for s in schedule.sessions if s.id in subs])
        else:
            lines = [t("mysubs.none", lang)]
        lines += [
            "",
            t("mysubs.language", lang, language=catalog(lang).name),
            t("mysubs.timezone", lang, place=reader.where_and_zone()),
            t("mysubs.reminders", lang, reminders=describe_offsets(self.ctx.offsets(chat), lang)),
            t("mysubs.quiet", lang, quiet=format_quiet(quiet_hours(chat), lang)),
        ]
        return Reply.of(Message("\n".join(lines), title=t("mysubs.title", lang)))

    async def calendar(self, cmd: Command, chat: ChatRecord) -> Reply:
        """/calendar [ID|all|reset]: the chat's sessions as an .ics file, with Google Calendar
        links, and the chat's personal feed (`reset`: a new feed link, the old one void)."""
        reader = self.ctx.reader(chat)
        schedule = self.ctx.schedule()
        ids: list[str] | None
        wanted = cmd.args[0].lower() if cmd.args else None
        if wanted == "reset":
            return await self._reset_feed(chat, reader.lang)
        if wanted == "all":
            ids = None
        elif wanted is not None:
            session = schedule.session(wanted)
            if session is None:
                return self.ctx.unknown_session(reader, wanted, "calendar")
            ids = [session.id]
        else:
            subs = await self.ctx.store.chats.subscriptions(chat.pk)
            ids = (
                None if ALL_SESSIONS in subs else [s.id for s in schedule.sessions if s.id in subs]
            )
        sequences = await session_sequences(self.ctx.store, schedule)
        reply = calendar_reply(schedule, ids, reader, self.ctx.clock(), sequences=sequences)
        base = self.ctx.public_url()
        if base is None:  # no web server: the file is all there is
            return reply
        token = await self.ctx.store.calendar_tokens.token_for(chat.pk, now=self.ctx.clock())
        webcal, web = feed_urls(base, token)
        feed = Message(t("web.feed", reader.lang, webcal=webcal, web=web))
        return Reply((*reply.messages, feed), reply.ephemeral, reply.lang)

    async def _reset_feed(self, chat: ChatRecord, lang: str) -> Reply:
        """/calendar reset: a new personal feed link; the old one answers 404 from now on."""
        base = self.ctx.public_url()
        if base is None:
            return say(t("web.feed_off", lang))
        token = await self.ctx.store.calendar_tokens.reset(chat.pk, now=self.ctx.clock())
        webcal, web = feed_urls(base, token)
        return say(t("web.feed_reset", lang, webcal=webcal, web=web))
