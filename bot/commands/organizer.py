"""Commands only organizers may run: /broadcast, /stats, /reload (the worker's reload) and
/dashboard (a one-time sign-in link to the web dashboard)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Protocol

from bot.broadcasts import (
    BroadcastError,
    Broadcasts,
    audience_groups,
    describe_audience,
    parse_broadcast,
)
from bot.commands.context import CommandContext
from bot.commands.registry import ORGANIZER_ORDER
from bot.constants import (
    ALL_SESSIONS,
    BroadcastStatus,
    ChatKind,
    DeliveryKind,
    DeliveryStatus,
    still_waiting,
)
from bot.i18n import catalog, t
from bot.i18n.formatting import format_when
from bot.inputs import describe_offsets
from bot.messages import Button, Command, Message, Reply
from bot.planner import Planned, ReminderRef
from bot.render import Reader, text
from bot.schedule import Schedule
from bot.store import Author, ChatRecord
from bot.store.dashboard_tokens import TokenKind

# What an organizer may decide about a pending broadcast, and the audit field naming who did.
# Any organizer may confirm or cancel any organizer's draft (a team shares the work); the
# audit row says who drafted it and who decided.
_DECISIONS = {"confirm": "confirmed_by", "cancel": "cancelled_by"}

# How long a /dashboard sign-in link works (once): long enough to switch to a browser, short
# enough that a link forwarded or left in a chat's history is soon worth nothing.
SIGNIN_VALID = dt.timedelta(minutes=10)

# (job id, due instant) of the reminders still to fire.
NextJobs = Callable[[], list[Planned]]
# Answers one organizer command; the caller has checked and audited the organizer.
OrganizerHandler = Callable[[Command, ChatRecord, Reader], Awaitable[Reply]]


def author(cmd: Command) -> Author:
    """Who typed an organizer command, as broadcasts and the audit name them."""
    return Author(cmd.platform, cmd.chat_id, cmd.user_id)


def broadcast_decision(text: str) -> tuple[str, int] | None:
    """ "confirm 12" or "cancel #12" → ("confirm", 12); None for anything else."""
    words = text.split()
    if len(words) != 2 or words[0].lower() not in _DECISIONS:
        return None
    number = words[1].removeprefix("#")
    # ASCII only: "²".isdigit() is true, but int("²") fails.
    if not (number.isascii() and number.isdigit()):
        return None
    return words[0].lower(), int(number)


class ReloadOutcome(Protocol):
    """What a reload did, as organizers read it."""

    def summary(self, lang: str, schedule: Schedule) -> str:
        """The outcome in `lang`."""
        ...


class ReloadHook(Protocol):
    """Re-read the schedule file and put it in force (or keep the old one, with its errors)."""

    def __call__(self, *, actor: str, platform: str) -> Awaitable[ReloadOutcome]:
        """Reload on behalf of `actor` on `platform` (for the audit)."""
        ...


class OrganizerCommands:
    """Broadcasts, statistics and reloads; the caller has checked that the user is an organizer."""

    def __init__(
        self,
        ctx: CommandContext,
        broadcasts: Broadcasts,
        *,
        wake: Callable[[], None] = lambda: None,
        next_jobs: NextJobs = list,
        reload: ReloadHook | None = None,
    ) -> None:
        self.ctx = ctx
        self.broadcasts = broadcasts
        self.wake = wake  # new ledger rows: tell the delivery engine
        self.next_jobs = next_jobs
        self._reload = reload  # None where there is no file to reload
        handlers: dict[str, OrganizerHandler] = {
            "broadcast": self.broadcast,
            "stats": self.stats,
            "dashboard": self.dashboard,
        }
        if reload is not None:
            handlers["reload"] = self.reload
        self._handlers = {name: handlers[name] for name in ORGANIZER_ORDER if name in handlers}

    @property
    def names(self) -> tuple[str, ...]:
        """The organizer commands this worker answers, in the order /help lists them."""
        return tuple(self._handlers)

    def handler(self, name: str) -> OrganizerHandler | None:
        """The handler of the organizer command `name`; None if it is none."""
        return self._handlers.get(name)

    async def audit_facts(self, cmd: Command) -> dict[str, str | int]:
        """What an organizer command's audit row adds: a decision names drafter and decider."""
        decision = broadcast_decision(cmd.text) if cmd.name == "broadcast" else None
        if decision is None:
            return {}
        verb, broadcast_id = decision
        facts: dict[str, str | int] = {
            "broadcast": broadcast_id,
            _DECISIONS[verb]: str(author(cmd)),
        }
        record = await self.ctx.store.broadcasts.get(broadcast_id)
        if record is not None:
            facts["drafted_by"] = str(record.created_by)
        return facts

    async def broadcast(self, cmd: Command, chat: ChatRecord, reader: Reader) -> Reply:
        """/broadcast [to=...] [at=...] texts | confirm ID | cancel ID."""
        lang = reader.lang
        words = cmd.text.split()
        if not words:
            return Reply.of(Message(t("broadcast.usage", lang)))
        if words[0].lower() in _DECISIONS and len(words) == 2:
            decision = broadcast_decision(cmd.text)
            if decision is None:
                return Reply.of(Message(t("broadcast.usage", lang)))
            verb, broadcast_id = decision
            if verb == "confirm":
                return await self._confirm(broadcast_id, lang)
            return await self._cancel(broadcast_id, lang)
        now = self.ctx.clock()
        schedule = self.ctx.schedule()
        try:
            draft = parse_broadcast(cmd.text, schedule, now)
        except BroadcastError as exc:
            return Reply.of(Message(t(f"broadcast.error_{exc.reason}", lang, detail=exc.detail)))
        record = await self.ctx.store.broadcasts.create(
            created_by=author(cmd),
            origin_platform=cmd.platform,
            texts=draft.texts,
            audience=draft.audience,
            send_at=draft.send_at,
            now=now,
            status=BroadcastStatus.DRAFT,
        )
        counts = await self.ctx.store.broadcasts.count_audience(
            draft.audience, audience_groups(draft.audience, self.ctx.schedule())
        )
        per_platform = ", ".join(f"{p} {n}" for p, n in sorted(counts.items())) or "0"
        when = (
            t("broadcast.now", lang)
            if draft.send_at <= now
            else format_when(draft.send_at, reader.zone, lang)
        )
        lines = [
            t(
                "broadcast.preview",
                lang,
                id=record.id,
                total=sum(counts.values()),
                platforms=per_platform,
                audience=describe_audience(draft.audience, lang, schedule),
                when=when,
            ),
            *(f"[{catalog(code).name}] {body}" for code, body in draft.texts.items()),
        ]
        buttons = (
            (
                Button(t("broadcast.button_send", lang), f"broadcast confirm {record.id}"),
                Button(t("broadcast.button_cancel", lang), f"broadcast cancel {record.id}"),
            ),
        )
        return Reply.of(Message("\n\n".join(lines), buttons=buttons))

    async def _confirm(self, broadcast_id: int, lang: str) -> Reply:
        record = await self.ctx.store.broadcasts.get(broadcast_id)
        if record is None or record.status not in (
            BroadcastStatus.DRAFT,
            BroadcastStatus.SCHEDULED,
        ):
            return Reply.of(Message(t("broadcast.not_pending", lang, id=broadcast_id)))
        rows = await self.broadcasts.enqueue(
            broadcast_id, now=self.ctx.clock(), schedule=self.ctx.schedule()
        )
        self.wake()
        return Reply.of(Message(t("broadcast.queued", lang, id=broadcast_id, count=rows)))

    async def _cancel(self, broadcast_id: int, lang: str) -> Reply:
        record = await self.ctx.store.broadcasts.get(broadcast_id)
        if record is None or record.status in (BroadcastStatus.DONE, BroadcastStatus.CANCELLED):
            return Reply.of(Message(t("broadcast.not_pending", lang, id=broadcast_id)))
        stopped = await self.broadcasts.cancel(broadcast_id, now=self.ctx.clock())
        return Reply.of(Message(t("broadcast.cancelled", lang, id=broadcast_id, count=stopped)))

    async def stats(self, cmd: Command, chat: ChatRecord, reader: Reader) -> Reply:
        """/stats: subscribers, the last reminder's deliveries, the next jobs."""
        lang = reader.lang
        figures = await self.ctx.store.chats.subscriber_stats()
        unset = t("stats.not_chosen", lang)

        def join(pairs: list[tuple[str | None, int]]) -> str:
            return ", ".join(f"{k or unset} {n}" for k, n in pairs) or "0"

        by_session = sorted(figures["by_session"].items(), key=lambda kv: kv[0])
        lines = [
            t("stats.total", lang, total=figures["total"]),
            t("stats.platforms", lang, figures=join(sorted(figures["by_platform"].items()))),
            t(
                "stats.languages",
                lang,
                figures=join(sorted(figures["by_language"].items(), key=lambda kv: kv[0] or "")),
            ),
            t("stats.zones", lang, figures=join(figures["by_timezone"])),
            t(
                "stats.sessions",
                lang,
                figures=join(
                    [(t("stats.all", lang) if k == ALL_SESSIONS else k, n) for k, n in by_session]
                ),
            ),
        ]
        now = self.ctx.clock()
        stored = await self.ctx.store.ledger.last_reminder_ref(now)
        last = ReminderRef.parse(stored) if stored is not None else None
        if last is not None:
            counts = await self.ctx.store.ledger.delivery_counts(
                kind=DeliveryKind.REMINDER, ref_prefix=str(last)
            )
            nominal = last.nominal
            lines.append(
                t(
                    "stats.last_reminder",
                    lang,
                    reminder=self._reminder(last.session_id, last.offset, nominal, reader),
                    sent=counts.get(DeliveryStatus.SENT, 0),
                    blocked=counts.get(DeliveryStatus.BLOCKED, 0),
                    failed=counts.get(DeliveryStatus.FAILED, 0),
                    pending=still_waiting(counts),
                )
            )
        jobs = self.next_jobs()[:5]
        if jobs:
            lines.append(t("stats.next_jobs", lang))
            lines += [
                t(
                    "stats.next_job",
                    lang,
                    reminder=self._reminder(job.session_id, job.offset, job.due, reader),
                )
                for job in jobs
            ]
        return Reply.of(Message("\n".join(lines), title=t("stats.title", lang)))

    def _reminder(self, session_id: str, offset: int, when: dt.datetime, reader: Reader) -> str:
        """A reminder as organizers read it: the session's title, the offset, the time."""
        schedule = self.ctx.schedule()
        session = schedule.session(session_id)
        title = (
            text(session.title, reader, schedule)
            if session is not None
            else t("changes.untitled", reader.lang, id=session_id)
        )
        return t(
            "stats.reminder",
            reader.lang,
            title=title,
            offset=describe_offsets((offset,), reader.lang),
            when=format_when(when, reader.zone, reader.lang),
        )

    async def reload(self, cmd: Command, chat: ChatRecord, reader: Reader) -> Reply:
        """/reload: re-read the schedule file, then say what changed or what is wrong."""
        assert self._reload is not None  # only registered with a hook
        result = await self._reload(actor=cmd.user_id, platform=cmd.platform)
        return Reply.of(Message(result.summary(reader.lang, self.ctx.schedule())))

    async def dashboard(self, cmd: Command, chat: ChatRecord, reader: Reader) -> Reply:
        """/dashboard: a sign-in link for the web dashboard, valid 10 minutes, once."""
        lang = reader.lang
        if cmd.chat_kind != ChatKind.PRIVATE:
            # Everyone in a group could open the link first: it is handed out in private only.
            return Reply.of(Message(t("dashboard.private_only", lang)))
        # Where the web server listens (its own word once it does), else the configured one.
        web = self.ctx.settings.web
        base = self.ctx.public_url() or (web.public_url.rstrip("/") if web.enabled else "")
        if not base:
            return Reply.of(Message(t("dashboard.disabled", lang)))
        token = await self.ctx.store.dashboard.issue(
            TokenKind.SIGNIN,
            platform=cmd.platform,
            actor=cmd.user_id,
            lang=lang,
            now=self.ctx.clock(),
            valid=SIGNIN_VALID,
        )
        url = f"{base}/dashboard/signin/{token}"
        minutes = int(SIGNIN_VALID.total_seconds() // 60)
        return Reply.of(Message(t("dashboard.link", lang, url=url, minutes=minutes)))
