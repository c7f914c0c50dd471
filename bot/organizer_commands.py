"""Commands only organizers may run: /broadcast, /stats (and /reload, from bot/reload.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from bot.broadcasts import BroadcastError, Broadcasts, describe_audience, parse_broadcast
from bot.i18n import catalog, t
from bot.i18n.formatting import format_when
from bot.messages import Button, Command, Message, Reply
from bot.render import Reader
from bot.schedule import Schedule
from bot.store import Author, ChatRecord, Store

NextJobs = Callable[[], list[tuple[str, dt.datetime]]]


class OrganizerCommands:
    """Broadcasts and statistics; the caller has checked that the user is an organizer."""

    def __init__(
        self,
        store: Store,
        broadcasts: Broadcasts,
        schedule: Callable[[], Schedule],
        clock: Callable[[], dt.datetime],
        wake: Callable[[], None],
        next_jobs: NextJobs,
    ) -> None:
        self.store = store
        self.broadcasts = broadcasts
        self.schedule = schedule
        self.clock = clock
        self.wake = wake
        self.next_jobs = next_jobs

    async def broadcast(self, cmd: Command, chat: ChatRecord, reader: Reader) -> Reply:
        """/broadcast [to=...] [at=...] texts | confirm ID | cancel ID."""
        lang = reader.lang
        words = cmd.text.split()
        if not words:
            return Reply.of(Message(t("broadcast.usage", lang)))
        if words[0].lower() in ("confirm", "cancel") and len(words) == 2:
            if not words[1].lstrip("#").isdigit():
                return Reply.of(Message(t("broadcast.usage", lang)))
            broadcast_id = int(words[1].lstrip("#"))
            if words[0].lower() == "confirm":
                return await self._confirm(broadcast_id, lang)
            return await self._cancel(broadcast_id, lang)
        now = self.clock()
        schedule = self.schedule()
        try:
            draft = parse_broadcast(cmd.text, schedule, now)
        except BroadcastError as exc:
            return Reply.of(Message(t(f"broadcast.error_{exc.reason}", lang, detail=exc.detail)))
        record = await self.store.broadcasts.create(
            created_by=Author(cmd.platform, cmd.chat_id, cmd.user_id),
            origin_platform=cmd.platform,
            texts=draft.texts,
            audience=draft.audience,
            send_at=draft.send_at,
            now=now,
            status="draft",
        )
        counts = await self.store.broadcasts.count_audience(draft.audience)
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
        record = await self.store.broadcasts.get(broadcast_id)
        if record is None or record.status not in ("draft", "scheduled"):
            return Reply.of(Message(t("broadcast.not_pending", lang, id=broadcast_id)))
        rows = await self.broadcasts.enqueue(broadcast_id, now=self.clock())
        self.wake()
        return Reply.of(Message(t("broadcast.queued", lang, id=broadcast_id, count=rows)))

    async def _cancel(self, broadcast_id: int, lang: str) -> Reply:
        record = await self.store.broadcasts.get(broadcast_id)
        if record is None or record.status in ("done", "cancelled"):
            return Reply.of(Message(t("broadcast.not_pending", lang, id=broadcast_id)))
        stopped = await self.broadcasts.cancel(broadcast_id, now=self.clock())
        return Reply.of(Message(t("broadcast.cancelled", lang, id=broadcast_id, count=stopped)))

    async def stats(self, cmd: Command, chat: ChatRecord, reader: Reader) -> Reply:
        """/stats: subscribers, the last reminder's deliveries, the next jobs."""
        lang = reader.lang
        figures = await self.store.chats.subscriber_stats()
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
                    [(t("stats.all", lang) if k == "*" else k, n) for k, n in by_session]
                ),
            ),
        ]
        now = self.clock()
        ref = await self.store.ledger.last_reminder_ref(now)
        if ref is not None:
            counts = await self.store.ledger.delivery_counts(kind="reminder", ref_prefix=ref)
            lines.append(
                t(
                    "stats.last_reminder",
                    lang,
                    ref=ref,
                    sent=counts.get("sent", 0),
                    blocked=counts.get("blocked", 0),
                    failed=counts.get("failed", 0),
                    pending=counts.get("pending", 0) + counts.get("sending", 0),
                )
            )
        jobs = sorted(self.next_jobs(), key=lambda job: job[1])[:5]
        if jobs:
            lines.append(t("stats.next_jobs", lang))
            lines += [
                f"• {job_id} · {format_when(when, reader.zone, lang)}" for job_id, when in jobs
            ]
        return Reply.of(Message("\n".join(lines), title=t("stats.title", lang)))
