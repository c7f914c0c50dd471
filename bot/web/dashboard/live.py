"""The fan-outs going out (a reminder's, a broadcast's) as figures, live: a small JSON
endpoint the overview polls every two seconds (`assets.LIVE_JS`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from aiohttp import web

from bot.constants import BroadcastStatus, DeliveryKind, DeliveryStatus, still_waiting
from bot.i18n import t
from bot.inputs import describe_offsets
from bot.planner import ReminderRef
from bot.render import Reader, text
from bot.web.context import WebContext
from bot.web.dashboard.figures import LIVE_SECONDS, figures
from bot.web.dashboard.html import SECURITY_HEADERS, esc, table
from bot.web.dashboard.signin import Visitor, context, signed_in

# Broadcasts going out at once that the overview follows.
MAX_BROADCASTS = 5


@dataclass(frozen=True)
class FanOut:
    """One fan-out's figures so far."""

    label: str
    sent: int
    pending: int
    blocked: int
    failed: int
    rate: float  # messages sent a second since it was due


def _fan_out(label: str, counts: dict[str, int], since: dt.datetime, now: dt.datetime) -> FanOut:
    sent = counts.get(DeliveryStatus.SENT, 0)
    elapsed = (now - since).total_seconds()
    return FanOut(
        label=label,
        sent=sent,
        pending=still_waiting(counts),
        blocked=counts.get(DeliveryStatus.BLOCKED, 0),
        failed=counts.get(DeliveryStatus.FAILED, 0),
        rate=round(sent / elapsed, 1) if elapsed > 0 else 0.0,
    )


async def fan_outs(ctx: WebContext, lang: str) -> list[FanOut]:
    """The latest reminder's fan-out and the broadcasts going out, with their figures."""
    store = ctx.worker.store
    schedule = ctx.worker.schedule
    now = ctx.clock()
    found: list[FanOut] = []
    stored = await store.ledger.last_reminder_ref(now)
    last = ReminderRef.parse(stored) if stored is not None else None
    if last is not None:
        counts = await store.ledger.delivery_counts(
            kind=DeliveryKind.REMINDER, ref_prefix=str(last)
        )
        session = schedule.session(last.session_id)
        title = (
            text(session.title, Reader(lang, "UTC"), schedule)
            if session is not None
            else last.session_id
        )
        label = t(
            "dashboard.fanout_reminder",
            lang,
            title=title,
            offset=describe_offsets((last.offset,), lang),
        )
        found.append(_fan_out(label, counts, last.nominal, now))
    going = await store.broadcasts.recent(status=BroadcastStatus.SENDING, limit=MAX_BROADCASTS)
    for record in going:
        if record.created_by.is_system:
            continue  # the bot's own notes to organizers
        counts = await store.ledger.delivery_counts(broadcast_id=record.id)
        label = t("dashboard.fanout_broadcast", lang, id=record.id)
        found.append(_fan_out(label, counts, record.send_at, now))
    return found


def fan_out_table(found: list[FanOut], lang: str) -> str:
    """The fan-outs as the overview shows them (the script updates the same cells)."""
    if not found:
        none = esc(t("dashboard.fanout_none", lang))
        return f'<p id="live" data-src="/dashboard/live.json">{none}</p>'
    head = [
        esc(t(f"dashboard.col_{name}", lang))
        for name in ("what", "sent", "pending", "blocked", "failed", "rate")
    ]
    rows = [
        [
            esc(f.label),
            f'<span data-field="sent">{f.sent}</span>',
            f'<span data-field="pending">{f.pending}</span>',
            f'<span data-field="blocked">{f.blocked}</span>',
            f'<span data-field="failed">{f.failed}</span>',
            f'<span data-field="rate">{f.rate}</span>',
        ]
        for f in found
    ]
    return f'<div id="live" data-src="/dashboard/live.json">{table(head, rows)}</div>'


async def _live(request: web.Request, who: Visitor) -> web.StreamResponse:
    """GET /dashboard/live.json: the fan-outs' figures now."""
    ctx = context(request)
    found = await figures(request).get(
        f"live:{who.lang}", LIVE_SECONDS, lambda: fan_outs(ctx, who.lang)
    )
    return web.json_response({"fan_outs": [asdict(f) for f in found]}, headers=SECURITY_HEADERS)


live = signed_in(_live)
