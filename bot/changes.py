"""Schedule changes: what differs between two schedules, and the notice each one sends."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from bot.constants import ChatKind
from bot.i18n import catalog, t
from bot.i18n.formatting import format_date, format_when, place_name
from bot.messages import Expired, Message, Rendered
from bot.render import Reader, stream_links, text, when_line
from bot.schedule import Schedule, Session
from bot.store import Claimed

MOVED: Final = "moved"  # date, start or end changed (a time withdrawn to "tba" included)
TIME: Final = "time"  # a time announced for a session that had none
CANCELLED: Final = "cancelled"  # removed from the schedule
LINK: Final = "link"  # a language's livestream link appeared or changed
ADDED: Final = "added"  # new session: "all" subscribers get it anyway, organizers are told
REVISION_MARK: Final = "@"  # ends a notice ref: "s2:moved:<when>@<schedule revision>"
NOTIFYING: Final = frozenset({MOVED, TIME, CANCELLED, LINK})


@dataclass(frozen=True)
class Change:
    """One change to one session; `old` is None for an added one, `new` for a cancelled one."""

    kind: str
    session_id: str
    old: Session | None
    new: Session | None
    languages: tuple[str, ...] = ()  # LINK: the languages whose link is new

    @property
    def notifies(self) -> bool:
        """Whether the session's subscribers are told (an added session has none yet)."""
        return self.kind in NOTIFYING

    @property
    def session(self) -> Session:
        """The session as it is now, or as it was before it was cancelled."""
        session = self.new or self.old
        assert session is not None
        return session


def _epoch(instant: dt.datetime | None) -> str:
    return str(int(instant.timestamp())) if instant is not None else "tba"


def when_key(session: Session) -> str:
    """The session's time as it goes into a ref: "<start>-<end>" epochs, or "tba-<date>"."""
    if session.start is None:
        return f"tba-{session.date.isoformat()}"
    return f"{_epoch(session.start)}-{_epoch(session.end)}"


def links_digest(session: Session) -> str:
    """A short hash of the session's links: a ref names the links it announced."""
    joined = "\n".join(f"{lang} {url}" for lang, url in sorted(session.streams))
    return hashlib.sha256(joined.encode()).hexdigest()[:10]


def _link_languages(old: Session, new: Session) -> tuple[str, ...]:
    before = dict(old.streams)
    return tuple(sorted(lang for lang, url in new.streams if before.get(lang) != url))


def diff(old: Schedule, new: Schedule) -> list[Change]:
    """What changed from `old` to `new`, session by session, in the new schedule's order."""
    changes: list[Change] = []
    for session in new.sessions:
        before = old.session(session.id)
        if before is None:
            changes.append(Change(ADDED, session.id, None, session))
            continue
        if when_key(before) != when_key(session):
            kind = TIME if before.start is None and session.start is not None else MOVED
            changes.append(Change(kind, session.id, before, session))
        languages = _link_languages(before, session)
        if languages:
            changes.append(Change(LINK, session.id, before, session, languages))
    changes.extend(
        Change(CANCELLED, s.id, s, None) for s in old.sessions if new.session(s.id) is None
    )
    return changes


def notice_ref(change: Change, revision: int) -> str:
    """The ledger ref of a change's notice: what is new, and the schedule revision it came in.

    The revision makes the same move made twice (07:00 → 07:30 → 07:00 → 07:30) notify twice;
    what is new lets a notice that a later change overtook be dropped at delivery.
    """
    session = change.session
    if change.kind in (MOVED, TIME):
        what = f"{session.id}:{change.kind}:{when_key(session)}"
    elif change.kind == LINK:
        what = f"{session.id}:{LINK}:{'+'.join(change.languages)}:{links_digest(session)}"
    elif change.kind == CANCELLED:
        what = f"{session.id}:{CANCELLED}:{when_key(session)}"
    else:
        raise ValueError(f"a {change.kind!r} change sends no notice")
    return f"{what}{REVISION_MARK}{revision}"


def worth_notifying(change: Change, now: dt.datetime) -> bool:
    """Whether subscribers should hear of it: not of added sessions nor of ones that are over."""
    # Correcting or tidying away a session that is over concerns nobody any more; the session
    # "as it stands" is the new one, or for a cancellation the one taken away.
    return change.notifies and not change.session.is_over(now)


async def render_notice_row(
    row: Claimed,
    schedule: Schedule,
    reader: Reader,
    now: dt.datetime,
    *,
    removed: Mapping[str, Session] | None = None,
) -> Rendered:
    """A change notice for one reader; Expired when a later change superseded it.

    `removed` holds the sessions taken out of the schedule (seen by this process, or found in
    the version recorded before), for a cancelled one's title; without it the notice names
    the session by its id.
    """
    what, _, _ = row.ref.partition(REVISION_MARK)
    session_id, _, rest = what.partition(":")
    kind, _, detail = rest.partition(":")
    session = schedule.session(session_id)
    lang = reader.lang
    if kind == CANCELLED:
        if session is not None:
            return Expired("session is back on the schedule")
        old = (removed or {}).get(session_id)
        if old is not None and old.is_over(now):
            return Expired("the cancelled session would have ended by now")
        title = (
            text(old.title, reader, schedule)
            if old
            else t("changes.untitled", lang, id=session_id)
        )
        return Message(
            t("changes.cancelled_body", lang), title=t("changes.cancelled", lang, title=title)
        )
    if session is None:
        return Expired("session removed from the schedule")
    if session.is_over(now):
        return Expired("session ended before delivery")
    title = text(session.title, reader, schedule)
    when = when_line(session, reader, schedule)
    if kind in (MOVED, TIME):
        if detail != when_key(session):
            return Expired("the session's time changed again since this notice")
        lines = [t(f"changes.{kind}_body", lang, when=when)]
        if session.start is not None:
            lines.append(t("changes.reminders_follow", lang))
        links = stream_links(session, reader, schedule)
        return Message(
            "\n".join(lines),
            title=t(f"changes.{kind}", lang, title=title),
            links=links,
            when=session.start,
        )
    if kind == LINK:
        languages, _, digest = detail.rpartition(":")
        if digest != links_digest(session):
            return Expired("the session's links changed again since this notice")
        links = stream_links(session, reader, schedule)
        if not links:
            return Expired("the session has no link")
        stream_lang = session.stream_language(lang, schedule.event.languages)
        # A reader whose own link did not change hears nothing; a channel serving every
        # language gets the notice whichever language's link is new.
        if stream_lang not in languages.split("+") and row.chat.kind != ChatKind.CHANNEL:
            return Expired("the reader's link did not change")
        body = [t("changes.link_body", lang, link=links[0].url), when]
        return Message(
            "\n".join(body),
            title=t("changes.link", lang, title=title),
            links=links,
            when=session.start,
        )
    return Expired(f"unknown notice {row.ref!r}")


# --- organizers' report ------------------------------------------------------------------


def _event_when(session: Session, schedule: Schedule, lang: str) -> str:
    zone = schedule.event.timezone
    if session.start is None:
        return t("changes.report_tba", lang, date=format_date(session.date, lang))
    return f"{format_when(session.start, zone, lang)} {place_name(zone, lang)}"


def _language_name(code: str) -> str:
    found = catalog(code)
    return found.name if found.code == code else code


def report_line(change: Change, schedule: Schedule, lang: str) -> str:
    """One change as organizers read it, times in the event's own zone."""
    session = change.session
    title = session.title.get(lang, schedule.event.languages)
    fields = {"id": session.id, "title": title}
    if change.kind == MOVED:
        assert change.old is not None
        old = _event_when(change.old, schedule, lang)
        new = _event_when(session, schedule, lang)
        return t("changes.report_moved", lang, old=old, new=new, **fields)
    if change.kind in (TIME, ADDED):
        when = _event_when(session, schedule, lang)
        return t(f"changes.report_{change.kind}", lang, when=when, **fields)
    if change.kind == LINK:
        names = ", ".join(_language_name(code) for code in change.languages)
        return t("changes.report_link", lang, languages=names, **fields)
    return t("changes.report_cancelled", lang, **fields)
