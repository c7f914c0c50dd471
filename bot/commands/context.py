"""What every command handler shares: the worker's services and the replies they build alike."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.config import Settings
from bot.i18n import t
from bot.i18n.formatting import format_when
from bot.messages import Button, Command, Message, Reply
from bot.planner import parse_clock
from bot.render import Reader, reader_of, text
from bot.schedule import Schedule, Session
from bot.store import ChatRecord, Store

# Answers one command for one chat.
Handler = Callable[[Command, ChatRecord], Awaitable[Reply]]


def no_web_face() -> str | None:
    """The public address of a worker without a web server: none."""
    return None


@dataclass
class CommandContext:
    """What the commands need from the running worker."""

    store: Store
    settings: Settings
    schedule: Callable[[], Schedule]  # the schedule in force now (it may be reloaded)
    clock: Callable[[], dt.datetime]  # injected, so that tests never sleep
    replan: Callable[[], Awaitable[None]]  # reminders must be re-planned for changed settings
    # The web face's public address once it listens (personal calendar feeds); None: none.
    public_url: Callable[[], str | None] = no_web_face

    def reader(self, chat: ChatRecord) -> Reader:
        """How this chat reads, against the schedule in force."""
        return reader_of(chat, self.schedule())

    def offsets(self, chat: ChatRecord) -> tuple[int, ...]:
        """When this chat's reminders go out: its own choice, else the configured default."""
        if chat.offsets is None:
            return self.settings.reminders.default_offsets
        return chat.offsets

    def session_list(self, reader: Reader, sessions: list[Session]) -> list[str]:
        """One line per session: id, title and time, for the reader."""
        schedule = self.schedule()
        lines = []
        for session in sessions:
            if session.start is not None:
                when = format_when(session.start, reader.zone, reader.lang)
            else:
                when = t("session.time_tba", reader.lang)
            title = text(session.title, reader, schedule)
            lines.append(t("list.session", reader.lang, id=session.id, title=title, when=when))
        return lines

    def unknown_session(self, reader: Reader, wanted: str, verb: str) -> Reply:
        """No session has that id: say so, with the ids there are and an example."""
        ids = ", ".join(self.schedule().session_ids())
        return say(
            t(
                "error.no_such_session",
                reader.lang,
                id=wanted[:40],
                ids=ids,
                example=f"/{verb} {self.schedule().sessions[0].id}",
            )
        )

    def pick_session(
        self, reader: Reader, verb: str, sessions: list[Session], *, with_all: bool = True
    ) -> Reply:
        """A command given without its session: ask which, with a button per session (and
        one for all of them, where the command takes `all`)."""
        lines = [t(f"{verb}.which", reader.lang), *self.session_list(reader, sessions)]
        buttons = [(Button(t("button.all", reader.lang), f"{verb} all"),)] if with_all else []
        buttons += [(Button(s.id, f"{verb} {s.id}"),) for s in sessions[:8]]
        return Reply.of(Message("\n".join(lines), buttons=tuple(buttons)))


def say(body: str, *, buttons: tuple[tuple[Button, ...], ...] = ()) -> Reply:
    """A reply of one message with this text (and buttons)."""
    return Reply.of(Message(body, buttons=buttons))


def quiet_hours(chat: ChatRecord) -> tuple[dt.time, dt.time] | None:
    """The chat's quiet hours as times of day; None: it has none."""
    return (parse_clock(chat.quiet[0]), parse_clock(chat.quiet[1])) if chat.quiet else None
