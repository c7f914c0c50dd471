"""Builds the neutral messages a viewer reads: agenda, session card, reminder, notices."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from bot.i18n import catalog, t
from bot.i18n.formatting import (
    day_shift,
    format_date,
    format_day,
    format_day_shift,
    format_duration,
    format_full_date,
    format_relative,
    format_time,
    format_when,
    language_name,
    local,
    place_name,
    place_with_zone,
)
from bot.messages import Button, Link, Message
from bot.schedule import Person, Schedule, Session, Text
from bot.timezones import short_label


@dataclass(frozen=True)
class Reader:
    """Who reads a message: their language, their zone and the place they chose."""

    lang: str
    zone: str
    place: str | None = None  # "Medellín, Colombia"; None: the zone speaks for itself

    def where(self) -> str:
        """The place the reader chose, else their zone's city in their language."""
        return self.place or place_name(self.zone, self.lang)

    def here(self) -> str:
        """The reader's place in a word, beside a time: "Wellington", never the city their
        zone is named for ("Auckland"); their zone's city when they chose none."""
        if self.place is None or self.place.casefold() == self.zone.casefold():
            return place_name(self.zone, self.lang)
        return short_label(self.place)

    def where_and_zone(self) -> str:
        """The reader's place with its zone, "Wellington, New Zealand (Pacific/Auckland)";
        a place that is its zone's name ("UTC+05:45") once."""
        return place_with_zone(self.where(), self.zone, self.lang)


class ReadingPreferences(Protocol):
    """What a chat chose about how it reads (the store's ChatRecord is one)."""

    @property
    def language(self) -> str | None:
        """The chat's language; None: not chosen."""

    @property
    def timezone(self) -> str | None:
        """The chat's zone; None: the event's."""

    @property
    def tz_label(self) -> str | None:
        """The place the chat named for its zone, in its language."""


def reader_of(chat: ReadingPreferences, schedule: Schedule) -> Reader:
    """How this chat reads: its language and zone, or the defaults."""
    lang = chat.language or catalog(None).code
    return Reader(lang, chat.timezone or schedule.event.timezone, chat.tz_label)


def text(value: Text, reader: Reader, schedule: Schedule) -> str:
    """A schedule text in the reader's language, falling back to the event's languages."""
    return value.get(reader.lang, schedule.event.languages)


def person_line(person: Person, reader: Reader, schedule: Schedule) -> str:
    """A host or speaker on one line: "Mr. Zdeněk Hřib, Mayor, Prague, Czech Republic"."""
    return t(
        "session.person",
        reader.lang,
        name=text(person.name, reader, schedule),
        role=text(person.role, reader, schedule),
        city=text(person.city, reader, schedule),
        country=text(person.country, reader, schedule),
    )


def _end_time(session: Session, reader: Reader) -> str | None:
    """The end as the span shows it: its time ("23:30–00:30" reads as the next morning), and
    its date too for a session of a day or more, which a time alone would misstate."""
    if session.start is None or session.end is None:
        return None
    if session.end - session.start >= dt.timedelta(days=1):
        return format_when(session.end, reader.zone, reader.lang)
    return format_time(session.end, reader.zone, reader.lang)


def when_line(session: Session, reader: Reader, schedule: Schedule) -> str:
    """The session's time for the reader, with the event's own time beside it.

    "Mon 17 Aug, 18:00 (Bogotá, -1 day) = Tue 18 Aug, 07:00 Taipei"; a reader in the event's
    zone sees only the first part; a session without a time shows its date in the event's zone.
    """
    event_zone = schedule.event.timezone
    lang = reader.lang
    if session.start is None:
        return t(
            "session.date_tba",
            lang,
            date=format_date(session.date, lang),
            place=place_name(event_zone, lang),
        )
    mine = format_when(session.start, reader.zone, lang)
    end = _end_time(session, reader)
    span = t("session.span", lang, start=mine, end=end) if end else mine
    if (
        local(session.start, reader.zone).utcoffset()
        == local(session.start, event_zone).utcoffset()
    ):
        return t("session.when_event_zone", lang, span=span, place=reader.here())
    shift = format_day_shift(day_shift(session.start, reader.zone, event_zone), lang)
    return t(
        "session.when_shifted" if shift else "session.when",
        lang,
        span=span,
        place=reader.here(),
        shift=shift,
        event_when=format_when(session.start, event_zone, lang),
        event_place=place_name(event_zone, lang),
    )


def stream_links(session: Session, reader: Reader, schedule: Schedule) -> tuple[Link, ...]:
    """The livestream link in the reader's language (or the event's first), as a button
    labelled with the language the stream speaks, named in the reader's."""
    url = session.stream(reader.lang, schedule.event.languages)
    stream_lang = session.stream_language(reader.lang, schedule.event.languages)
    if url is None or stream_lang is None:
        return ()
    label = t("session.watch", reader.lang, language=language_name(stream_lang, reader.lang))
    return (Link(label, url, t("session.watch_line", reader.lang, label=label, link=url)),)


def _status(session: Session, reader: Reader, now: dt.datetime) -> str:
    if session.start is None:
        return ""
    if session.is_over(now):
        return t("session.ended", reader.lang)
    if now >= session.start:
        return t("session.live", reader.lang)
    return t(
        "session.starts", reader.lang, relative=format_relative(session.start, now, reader.lang)
    )


def _duration(session: Session, reader: Reader) -> str:
    if session.start is None or session.end is None:
        return ""
    return format_duration(session.end - session.start, reader.lang)


def zone_line(reader: Reader, schedule: Schedule, *, chosen: bool) -> str:
    """Which zone the times are in, and how to change it when the reader never chose one."""
    line = t("agenda.times_in", reader.lang, place=reader.where_and_zone())
    return line if chosen else f"{line}\n{t('agenda.set_zone_hint', reader.lang)}"


def render_agenda(
    schedule: Schedule, reader: Reader, now: dt.datetime, *, zone_chosen: bool = True
) -> Message:
    """The whole schedule, grouped by the reader's own calendar days."""
    lang = reader.lang
    lines = [zone_line(reader, schedule, chosen=zone_chosen)]
    day_heading = None
    for session in schedule.sessions:
        if session.start is not None:
            heading = format_day(session.start, reader.zone, lang)
        else:
            heading = format_full_date(session.date, lang)
        if heading != day_heading:
            lines.extend(("", heading))
            day_heading = heading
        title = text(session.title, reader, schedule)
        lines.append(t("agenda.item", lang, title=title, id=session.id))
        lines.append(t("agenda.details", lang, details=when_line(session, reader, schedule)))
        facts = [p for p in (_duration(session, reader), _status(session, reader, now)) if p]
        if facts:
            lines.append(t("agenda.details", lang, details=t("agenda.sep", lang).join(facts)))
        links = stream_links(session, reader, schedule)
        link = links[0].url if links else t("session.link_tba", lang)
        lines.append(t("agenda.details", lang, details=link))
    lines.extend(("", t("agenda.footer", lang)))
    return Message("\n".join(lines), title=text(schedule.event.name, reader, schedule))


def render_session(
    schedule: Schedule,
    session: Session,
    reader: Reader,
    now: dt.datetime,
    *,
    subscribed: bool | None = None,
) -> Message:
    """One session's card: time, duration, status, host, speakers, link, subscribe button."""
    lang = reader.lang
    lines = [when_line(session, reader, schedule)]
    facts = [p for p in (_duration(session, reader), _status(session, reader, now)) if p]
    if facts:
        lines.append(t("agenda.sep", lang).join(facts))
    if session.description is not None:
        lines.extend(("", text(session.description, reader, schedule)))
    if session.host is not None:
        lines.extend(
            ("", t("session.host", lang, person=person_line(session.host, reader, schedule)))
        )
    if session.speakers:
        lines.append(t("session.speakers", lang))
        lines.extend(
            t("session.speaker", lang, person=person_line(p, reader, schedule))
            for p in session.speakers
        )
    links = stream_links(session, reader, schedule)
    if not links:
        lines.extend(("", t("session.link_tba", lang)))
    buttons: tuple[tuple[Button, ...], ...] = ()
    if subscribed is not None and not session.is_over(now):
        if subscribed:
            button = Button(t("button.unsubscribe", lang), f"unsubscribe {session.id}")
        else:
            button = Button(t("button.subscribe", lang), f"subscribe {session.id}")
        buttons = ((button,),)
    title = t(
        "session.card_title", lang, title=text(session.title, reader, schedule), id=session.id
    )
    return Message("\n".join(lines), title=title, links=links, buttons=buttons, when=session.start)


def render_reminder(
    schedule: Schedule, session: Session, reader: Reader, now: dt.datetime
) -> Message | None:
    """A reminder worded for the moment it is read: ahead, live now, or started late.

    None when the session has ended or has no time: a late reminder must never claim a
    session that is over is still to come.
    """
    if session.start is None or session.is_over(now):
        return None
    lang = reader.lang
    title = text(session.title, reader, schedule)
    links = stream_links(session, reader, schedule)
    link = links[0].url if links else t("session.link_tba", lang)
    relative = format_relative(session.start, now, lang)
    if now < session.start - dt.timedelta(seconds=30):
        headline = t("reminder.upcoming", lang, title=title, relative=relative)
        body = [when_line(session, reader, schedule), t("reminder.link", lang, link=link)]
    elif now <= session.start + dt.timedelta(minutes=1):
        headline = t("reminder.live", lang, title=title)
        body = [t("reminder.watch", lang, link=link)]
    else:
        headline = t("reminder.late", lang, title=title, relative=relative)
        body = [t("reminder.watch", lang, link=link)]
    return Message("\n".join(body), title=headline, links=links, when=session.start)


def combine(messages: list[Message]) -> Message:
    """One message carrying several languages' versions, for channels that serve everyone."""
    first = messages[0]
    parts = [first.text]
    for other in messages[1:]:
        parts.append(f"{other.title}\n{other.text}" if other.title else other.text)
    links: dict[str, Link] = {}
    for message in messages:
        for link in message.links:
            links.setdefault(link.url, link)
    return Message(
        "\n\n".join(parts), title=first.title, links=tuple(links.values()), when=first.when
    )


def session_facts(session: Session, reader: Reader, now: dt.datetime) -> list[str]:
    """Duration and status ("1 hour", "starts in 2 days"), as the agenda shows them."""
    return [p for p in (_duration(session, reader), _status(session, reader, now)) if p]
