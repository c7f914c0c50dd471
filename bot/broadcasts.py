"""Organizers' broadcasts: draft, preview, confirm, deliver through the ledger, report."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.audience import Audience, AudienceKind
from bot.config import Settings
from bot.constants import BroadcastStatus, DeliveryKind, DeliveryStatus, still_waiting
from bot.delivery.progress import eta_seconds
from bot.errors import SummitBotError
from bot.groups import session_markers
from bot.i18n import normalize_language, t
from bot.i18n.formatting import language_name
from bot.messages import Expired, Message, Rendered
from bot.render import Reader, text
from bot.schedule import Schedule
from bot.store import Author, Claimed, NewDelivery, Store

log = logging.getLogger(__name__)

SYSTEM = "system"  # origin_platform of the bot's own messages to organizers
_OPTION = re.compile(r"^(to|at)=(\S+)$")


class BroadcastError(SummitBotError, ValueError):
    """A broadcast an organizer wrote that cannot be sent; `reason` is a catalog key."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Draft:
    """A parsed broadcast: texts by language, who gets it, and when."""

    texts: dict[str, str]
    audience: Audience
    send_at: dt.datetime


def parse_audience(value: str, schedule: Schedule) -> Audience:
    """ "all", "s2" / "session:s2", "lang:zh-TW" / "zh-TW", "channels" → an audience."""
    word = value.strip()
    lowered = word.lower()
    if lowered in ("all", "everyone", ""):
        return Audience.everyone()
    if lowered in ("channels", "announcements"):
        return Audience.channels()
    session_id = lowered.removeprefix("session:")
    if schedule.session(session_id) is not None:
        return Audience.of_session(session_id)
    lang = normalize_language(word.removeprefix("lang:"))
    if lang is not None and lang in schedule.event.languages:
        return Audience.of_language(lang, default=schedule.event.languages[0])
    raise BroadcastError("bad_audience", word)


def parse_when(value: str, now: dt.datetime) -> dt.datetime:
    """ "+30" (minutes from now) or an ISO date-time with an offset → an aware instant."""
    try:
        if value.startswith("+"):
            return now + dt.timedelta(minutes=float(value[1:]))
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, OverflowError):  # OverflowError: "+1e300" minutes
        raise BroadcastError("bad_time", value) from None
    if when.tzinfo is None:
        raise BroadcastError("bad_time", value)
    return when.astimezone(dt.UTC)


def parse_texts(body: str, schedule: Schedule) -> dict[str, str]:
    """ "en: ..." and "zh-TW: ..." start each language's text, at the start of a line or
    after a space (slash-command options have one line); unmarked text is the event's first
    language's."""
    languages = schedule.event.languages
    marker = re.compile(
        r"(?:^|(?<=\s))(" + "|".join(re.escape(code) for code in languages) + r")[:：][ \t]?",
        re.IGNORECASE | re.MULTILINE,
    )
    texts: dict[str, list[str]] = {}
    current, start = languages[0], 0
    for match in marker.finditer(body):
        texts.setdefault(current, []).append(body[start : match.start()])
        current = normalize_language(match[1]) or current
        start = match.end()
    texts.setdefault(current, []).append(body[start:])
    joined = {lang: "".join(parts).strip() for lang, parts in texts.items()}
    return {lang: value for lang, value in joined.items() if value}


def parse_broadcast(body: str, schedule: Schedule, now: dt.datetime) -> Draft:
    """`to=... at=...` options, then the texts; BroadcastError when unusable."""
    audience = Audience.everyone()
    send_at = now
    words = body.lstrip().split(maxsplit=1)
    rest = body.strip()
    while words and (option := _OPTION.match(words[0])):
        if option[1] == "to":
            audience = parse_audience(option[2], schedule)
        else:
            send_at = max(parse_when(option[2], now), now)
        rest = words[1] if len(words) > 1 else ""
        words = rest.lstrip().split(maxsplit=1)
    texts = parse_texts(rest, schedule)
    if not texts:
        raise BroadcastError("empty")
    return Draft(texts, audience, send_at)


def describe_audience(audience: Audience, lang: str, schedule: Schedule) -> str:
    """The audience in words, for previews and reports."""
    if audience.kind is AudienceKind.SESSION:
        session = schedule.session(str(audience.session))
        title = text(session.title, Reader(lang, "UTC"), schedule) if session else "?"
        return t("broadcast.to_session", lang, title=title)
    if audience.kind is AudienceKind.LANGUAGE:
        return t(
            "broadcast.to_language", lang, language=language_name(str(audience.language), lang)
        )
    return t(f"broadcast.to_{audience.kind.value}", lang)


def pick_text(texts: Mapping[str, str], lang: str, schedule: Schedule) -> str:
    """The text in the reader's language, else the event's first language's, else any."""
    for candidate in (lang, *schedule.event.languages):
        if candidate in texts:
            return texts[candidate]
    return next(iter(texts.values()))


def audience_groups(audience: Audience, schedule: Schedule | None) -> tuple[str, ...]:
    """The track and room markers of a session audience: their followers get the session's
    reminders, so they get what is said to its subscribers too."""
    if schedule is None or audience.kind is not AudienceKind.SESSION or not audience.session:
        return ()
    return session_markers(schedule.session(audience.session))


class Broadcasts:
    """Creates, confirms, cancels and reports broadcasts; renders their ledger rows."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings

    async def render_row(
        self, row: Claimed, schedule: Schedule, reader: Reader, now: dt.datetime
    ) -> Rendered:
        """A broadcast's text for the reader, or a progress/final report for its author."""
        if row.ref.startswith("report:"):
            # A report row is not one of the broadcast's own rows, so it is not counted in it.
            return await self.report(int(row.ref.split(":")[1]), reader.lang, schedule, now)
        if row.broadcast_id is None:
            return Expired("broadcast row without a broadcast")
        record = await self.store.broadcasts.get(row.broadcast_id)
        if record is None:
            return Expired("broadcast deleted")
        if record.status == BroadcastStatus.CANCELLED:
            return Expired("broadcast cancelled")
        body = pick_text(record.texts, reader.lang, schedule)
        if record.created_by.is_system:
            return Message(body)
        return Message(
            body,
            title=t(
                "broadcast.title", reader.lang, event=text(schedule.event.name, reader, schedule)
            ),
        )

    async def report(
        self, broadcast_id: int, lang: str, schedule: Schedule, now: dt.datetime
    ) -> Message:
        """Sent, blocked, failed and elapsed for one broadcast, so far."""
        record = await self.store.broadcasts.get(broadcast_id)
        counts = await self.store.ledger.delivery_counts(broadcast_id=broadcast_id)
        started = record.send_at if record else now
        elapsed = max((now - started).total_seconds(), 0.0)
        waiting = still_waiting(counts)
        sent = counts.get(DeliveryStatus.SENT, 0)
        rate = sent / elapsed if elapsed else 0.0
        key = "fanout.broadcast_progress" if waiting else "fanout.broadcast_report"
        body = t(
            key,
            lang,
            id=broadcast_id,
            sent=sent,
            blocked=counts.get(DeliveryStatus.BLOCKED, 0),
            failed=counts.get(DeliveryStatus.FAILED, 0),
            waiting=waiting,
            elapsed=f"{elapsed:.0f}",
            rate=round(rate, 1),
            eta=eta_seconds(waiting, rate),
        )
        return Message(body)

    async def enqueue(
        self, broadcast_id: int, *, now: dt.datetime, schedule: Schedule | None = None
    ) -> int:
        """Put a confirmed broadcast into the ledger for its audience, due at its send time
        (a session's audience includes its track's and room's followers, given the
        schedule)."""
        record = await self.store.broadcasts.get(broadcast_id)
        if record is None or record.status not in (
            BroadcastStatus.DRAFT,
            BroadcastStatus.SCHEDULED,
        ):
            return 0
        rows = await self.store.ledger.enqueue_broadcast(
            record.id,
            record.audience,
            due_at=record.send_at,
            now=now,
            groups=audience_groups(record.audience, schedule),
        )
        await self.store.broadcasts.set_status(record.id, BroadcastStatus.SENDING, now=now)
        return rows

    async def cancel(self, broadcast_id: int, *, now: dt.datetime) -> int:
        """Stop a broadcast: its rows not yet sent expire; returns how many."""
        await self.store.broadcasts.set_status(broadcast_id, BroadcastStatus.CANCELLED, now=now)
        return await self.store.ledger.cancel_broadcast_rows(broadcast_id, now=now)

    async def finish_done(self, *, now: dt.datetime) -> list[int]:
        """Mark broadcasts whose rows are all final as done and queue their final report."""
        finished = []
        for record in await self.store.broadcasts.recent(status=BroadcastStatus.SENDING):
            counts = await self.store.ledger.delivery_counts(broadcast_id=record.id)
            if still_waiting(counts):
                continue
            await self.store.broadcasts.set_status(record.id, BroadcastStatus.DONE, now=now)
            finished.append(record.id)
            author = await self._author_chat(record.created_by)
            if author is not None:
                await self.store.ledger.enqueue_chats(
                    [NewDelivery(author, DeliveryKind.BROADCAST, f"report:{record.id}", now)],
                    now=now,
                )
            log.info("broadcast %d done: %s", record.id, counts)
        return finished

    async def _author_chat(self, author: Author) -> int | None:
        """The author's chat with the bot, if it has one (an operator or the bot has none)."""
        chat_id = author.chat_id
        chat = await self.store.chats.get(author.platform, chat_id) if chat_id else None
        return chat.pk if chat else None


async def notify_organizers(
    store: Store,
    organizers: Iterable[tuple[str, str]],
    texts: Mapping[str, str],
    *,
    key: str,
    now: dt.datetime,
    due_at: dt.datetime | None = None,
) -> int:
    """Send a text (by language) to every organizer who has a chat with the bot; idempotent
    per `key`. `organizers`: (platform, chat id) of their private chats. Returns the rows
    queued. `due_at` earlier than `now` puts the text ahead of rows due since then (a
    fan-out's progress report, ahead of the fan-out itself)."""
    pks = []
    for platform, chat_id in organizers:
        chat = await store.chats.get(platform, chat_id)
        if chat is not None:
            pks.append(chat.pk)
    if not pks:
        log.warning("no organizer has a chat with the bot: %s", next(iter(texts.values()), ""))
        return 0
    record = await store.broadcasts.create(
        created_by=Author.system(),
        origin_platform=SYSTEM,
        texts=dict(texts),
        audience=Audience.organizers(),
        send_at=now,
        now=now,
        status=BroadcastStatus.SENDING,
    )
    rows = [
        NewDelivery(
            pk, DeliveryKind.BROADCAST, f"org:{key}", due_at or now, broadcast_id=record.id
        )
        for pk in pks
    ]
    return await store.ledger.enqueue_chats(rows, now=now)
