"""The dashboard's pages that show: overview, audience, schedule (with its reload), audit."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Final

from aiohttp import web
from babel.dates import format_datetime

from bot.constants import ALL_SESSIONS
from bot.i18n import t
from bot.i18n.formatting import (
    babel_locale,
    format_time,
    format_when,
    language_name,
    local,
    place_name,
)
from bot.inputs import describe_offsets
from bot.planner import ReminderRef
from bot.reload.preview import preview_changes
from bot.render import Reader, text
from bot.schedule import Schedule, ScheduleError, Session, load_schedule
from bot.web.context import WebContext
from bot.web.dashboard.figures import AUDIENCE_SECONDS, LIVE_SECONDS, figures
from bot.web.dashboard.html import button, esc, form, layout, respond, table
from bot.web.dashboard.live import fan_out_table, fan_outs
from bot.web.dashboard.signin import Visitor, context, signed_in

# Reminders and failures the overview lists; audit entries on one page.
NEXT_REMINDERS: Final = 10
RECENT_FAILURES: Final = 20
AUDIT_PAGE: Final = 50
# The audience chart's geometry (SVG user units).
_BAR_HEIGHT: Final = 22
_LABEL_WIDTH: Final = 260
_BAR_WIDTH: Final = 420


def event_name(schedule: Schedule, lang: str) -> str:
    """The event's name in `lang`."""
    return text(schedule.event.name, Reader(lang, schedule.event.timezone), schedule)


def title_of(schedule: Schedule, session_id: str, lang: str) -> str:
    """A session's title in `lang` (its id if the schedule no longer has it)."""
    session = schedule.session(session_id)
    if session is None:
        return session_id
    return text(session.title, Reader(lang, schedule.event.timezone), schedule)


def page(
    request: web.Request, who: Visitor, title_key: str, body: str, *, scripts: tuple[str, ...] = ()
) -> web.Response:
    """A signed-in page in the shared layout."""
    schedule = context(request).worker.schedule
    return respond(
        layout(
            t(title_key, who.lang),
            body,
            who.lang,
            active=request.path,
            csrf=who.csrf,
            event=event_name(schedule, who.lang),
            scripts=scripts,
        )
    )


def h2(key: str, lang: str, **fields: object) -> str:
    """A section heading from the catalog."""
    return f"<h2>{esc(t(key, lang, **fields))}</h2>"


def num(value: int | float) -> str:
    """A number in a right-aligned cell."""
    return f'<span class="num">{esc(value)}</span>'


def describe_ref(ref: str, schedule: Schedule, lang: str) -> str:
    """A ledger row's reference as organizers read it: a reminder by title and offset."""
    reminder = ReminderRef.parse(ref)
    if reminder is None:
        return ref
    return t(
        "dashboard.fanout_reminder",
        lang,
        title=title_of(schedule, reminder.session_id, lang),
        offset=describe_offsets((reminder.offset,), lang),
    )


async def _overview(request: web.Request, who: Visitor) -> web.StreamResponse:
    """GET /dashboard: the next reminders, the fan-out going out, the recent failures."""
    ctx = context(request)
    worker = ctx.worker
    lang = who.lang
    schedule = worker.schedule
    zone = schedule.event.timezone
    jobs = worker.scheduler.next_jobs()[:NEXT_REMINDERS]
    parts = [h2("dashboard.next_reminders", lang)]
    if jobs:
        parts.append(
            table(
                [esc(t(f"dashboard.col_{c}", lang)) for c in ("session", "offset", "due", "utc")],
                [
                    [
                        esc(title_of(schedule, job.session_id, lang)),
                        esc(describe_offsets((job.offset,), lang)),
                        esc(format_when(job.due, zone, lang)),
                        esc(f"{job.due:%Y-%m-%d %H:%M} UTC"),
                    ]
                    for job in jobs
                ],
            )
        )
    else:
        parts.append(f'<p class="muted">{esc(t("dashboard.no_reminders", lang))}</p>')
    parts.append(h2("dashboard.fanout", lang))
    memo = figures(request)
    found = await memo.get(f"live:{lang}", LIVE_SECONDS, lambda: fan_outs(ctx, lang))
    parts.append(fan_out_table(found, lang))
    parts.append(h2("dashboard.failures", lang))
    failures = await memo.get(
        "failures", LIVE_SECONDS, lambda: worker.store.ledger.recent_failures(RECENT_FAILURES)
    )
    if failures:
        parts.append(
            table(
                [
                    esc(t(f"dashboard.col_{c}", lang))
                    for c in ("when", "platform", "what", "error")
                ],
                [
                    [
                        esc(f"{at:%Y-%m-%d %H:%M:%S} UTC"),
                        esc(platform),
                        esc(describe_ref(ref, schedule, lang)),
                        f'<span class="error">{esc(error)}</span>',
                    ]
                    for at, platform, ref, error in failures
                ],
            )
        )
    else:
        parts.append(f'<p class="muted">{esc(t("dashboard.no_failures", lang))}</p>')
    return page(
        request,
        who,
        "dashboard.nav_overview",
        "".join(parts),
        scripts=("/dashboard/assets/live.js",),
    )


def _offset_label(offset: dt.timedelta) -> str:
    """ "UTC+05:30", "UTC−03:00", "UTC"."""
    minutes = int(offset.total_seconds() // 60)
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "−"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


def _reference(schedule: Schedule, now: dt.datetime) -> Session | None:
    """The session the chart reads times for: the next to start, else the last one."""
    timed = [s for s in schedule.sessions if s.start is not None]
    upcoming = [s for s in timed if s.start is not None and s.start >= now]
    return upcoming[0] if upcoming else (timed[-1] if timed else None)


def offset_chart(
    zones: list[tuple[str | None, int]], schedule: Schedule, now: dt.datetime, lang: str
) -> str:
    """Subscribers by UTC offset as SVG bars, each with what the next session's start is there."""
    event_zone = schedule.event.timezone
    session = _reference(schedule, now)
    at = session.start if session is not None and session.start is not None else now
    by_offset: Counter[dt.timedelta] = Counter()
    for zone, count in zones:
        # Zones as stored: IANA names or fixed offsets ("UTC+05:45"), read as the bot does.
        offset = local(at, zone or event_zone).utcoffset()
        by_offset[offset or dt.timedelta(0)] += count
    if not by_offset:
        return f'<p class="muted">{esc(t("dashboard.no_subscribers", lang))}</p>'
    rows = sorted(by_offset.items())
    top = max(by_offset.values())
    height = _BAR_HEIGHT * len(rows) + 4
    width = _LABEL_WIDTH + _BAR_WIDTH + 80
    bars = []
    for i, (offset, count) in enumerate(rows):
        y = i * _BAR_HEIGHT + 2
        there = format_datetime(
            (at + offset).replace(tzinfo=None), "EEE HH:mm", locale=babel_locale(lang)
        )
        bar = max(1, round(_BAR_WIDTH * count / top))
        bars.append(
            f'<g><text x="0" y="{y + 15}">{esc(_offset_label(offset))} · {esc(there)}</text>'
            f'<rect x="{_LABEL_WIDTH}" y="{y + 3}" width="{bar}" height="{_BAR_HEIGHT - 6}">'
            f"<title>{esc(count)}</title></rect>"
            f'<text x="{_LABEL_WIDTH + bar + 6}" y="{y + 15}">{esc(count)}</text></g>'
        )
    caption = ""
    if session is not None and session.start is not None:
        caption = t(
            "dashboard.chart_caption",
            lang,
            title=text(session.title, Reader(lang, event_zone), schedule),
            time=format_time(session.start, event_zone, lang),
            place=place_name(event_zone, lang),
        )
    return (
        f'<p>{esc(caption)}</p><svg class="chart" role="img" xmlns="http://www.w3.org/2000/svg" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
        f"<title>{esc(t('dashboard.chart_title', lang))}</title>{''.join(bars)}</svg>"
    )


async def _audience(request: web.Request, who: Visitor) -> web.StreamResponse:
    """GET /dashboard/audience: subscribers by platform, language, session and UTC offset."""
    ctx = context(request)
    store = ctx.worker.store
    schedule = ctx.worker.schedule
    lang = who.lang
    combos, by_session = await figures(request).get(
        "audience", AUDIENCE_SECONDS, store.chats.audience_breakdown
    )
    platforms: Counter[str] = Counter()
    languages: Counter[str | None] = Counter()
    zones: Counter[str | None] = Counter()
    for platform, language, zone, n in combos:
        platforms[platform] += n
        languages[language] += n
        zones[zone] += n
    unset = t("dashboard.not_chosen", lang)
    count_col = esc(t("dashboard.col_subscribers", lang))

    def counted(head_key: str, pairs: list[tuple[str, int]]) -> str:
        return table([esc(t(head_key, lang)), count_col], [[esc(k), num(n)] for k, n in pairs])

    def session_name(session_id: str) -> str:
        if session_id == ALL_SESSIONS:
            return t("dashboard.all_sessions", lang)
        return title_of(schedule, session_id, lang)

    language_rows = sorted(
        (language_name(k, lang) if k else unset, n) for k, n in languages.items()
    )
    parts = [
        f'<div class="cards"><div class="card"><b id="total">{sum(platforms.values())}</b>'
        f"{esc(t('dashboard.subscribers_total', lang))}</div></div>",
        h2("dashboard.by_platform", lang),
        counted("dashboard.col_platform", sorted(platforms.items())),
        h2("dashboard.by_language", lang),
        counted("dashboard.col_language", language_rows),
        h2("dashboard.by_session", lang),
        counted(
            "dashboard.col_session",
            [(session_name(k), n) for k, n in sorted(by_session.items())],
        ),
        h2("dashboard.by_offset", lang),
        offset_chart(list(zones.items()), schedule, ctx.clock(), lang),
    ]
    return page(request, who, "dashboard.nav_audience", "".join(parts))


async def _schedule_body(request: web.Request, who: Visitor, outcome: str = "") -> str:
    """The schedule page: the version in force, its source, what a reload would announce."""
    ctx = context(request)
    worker = ctx.worker
    lang = who.lang
    schedule = worker.schedule
    path = worker.reloader.path()
    facts = [
        (t("dashboard.revision", lang), str(worker.reloader.revision or "—")),
        (t("dashboard.source", lang), schedule.source),
        (t("dashboard.sessions", lang), str(len(schedule.sessions))),
    ]
    if path is not None and path.exists():
        changed = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
        facts.append((t("dashboard.file_changed", lang), f"{changed:%Y-%m-%d %H:%M:%S} UTC"))
    polled = worker.watcher.last_poll
    facts.append(
        (
            t("dashboard.last_poll", lang),
            f"{polled:%Y-%m-%d %H:%M:%S} UTC"
            if polled is not None
            else t("dashboard.never", lang),
        )
    )
    parts = []
    if outcome:
        parts.append(
            h2("dashboard.reload_outcome", lang) + f'<pre id="outcome">{esc(outcome)}</pre>'
        )
    parts.append(
        table([esc(t("dashboard.col_what", lang)), ""], [[esc(k), esc(v)] for k, v in facts])
    )
    parts.append(h2("dashboard.pending_changes", lang))
    changed_at = path.stat().st_mtime if path is not None and path.exists() else 0
    key = f"preview:{worker.reloader.revision}:{changed_at}:{lang}"
    parts.append(
        await figures(request).get(key, AUDIENCE_SECONDS, lambda: _preview(ctx, path, lang))
    )
    if path is not None:
        parts.append(
            form(
                "/dashboard/schedule/reload",
                who.csrf,
                button(t("dashboard.reload_button", lang), "reload"),
            )
        )
    return "".join(parts)


async def _preview(ctx: WebContext, path: Path | None, lang: str) -> str:
    """The `check --changes` report of the file on disk against the schedule in force."""
    worker = ctx.worker
    if path is None:
        return f'<p class="muted">{esc(t("dashboard.no_file", lang))}</p>'
    try:
        loaded = load_schedule(path)
    except ScheduleError as exc:
        lines = "\n".join(str(p) for p in exc.problems)
        head = t("dashboard.file_errors", lang, count=len(exc.problems))
        return f'<p class="error">{esc(head)}</p><pre>{esc(lines)}</pre>'
    transform = worker.schedule_transform
    new = transform(loaded) if transform is not None else loaded
    preview = await preview_changes(worker.store, worker.schedule, new, lang, ctx.clock())
    if preview.empty:
        return f'<p class="muted">{esc(t("dashboard.no_changes", lang))}</p>'
    total = t("changes.check_total", lang, count=preview.total)
    return f'<pre id="changes">{esc(chr(10).join(preview.lines))}</pre><p>{esc(total)}</p>'


async def _schedule(request: web.Request, who: Visitor) -> web.StreamResponse:
    """GET /dashboard/schedule."""
    return page(request, who, "dashboard.nav_schedule", await _schedule_body(request, who))


async def _reload(request: web.Request, who: Visitor) -> web.StreamResponse:
    """POST /dashboard/schedule/reload: the worker's reload, its summary on the page."""
    worker = context(request).worker
    # The reloader audits the reload itself, naming the dashboard and the organizer.
    result = await worker.reload(actor=who.who, platform="dashboard")
    figures(request).forget()
    outcome = result.summary(who.lang, worker.schedule)
    body = await _schedule_body(request, who, outcome)
    return page(request, who, "dashboard.nav_schedule", body)


async def _audit_log(request: web.Request, who: Visitor) -> web.StreamResponse:
    """GET /dashboard/audit?page=N: every organizer action, newest first, a page at a time."""
    lang = who.lang
    try:
        number = max(1, int(request.query.get("page", "1")))
    except ValueError:
        number = 1
    entries = await context(request).worker.store.audit.recent(
        AUDIT_PAGE + 1, offset=(number - 1) * AUDIT_PAGE
    )
    more = len(entries) > AUDIT_PAGE
    rows = [
        [
            esc(f"{e.at:%Y-%m-%d %H:%M:%S} UTC"),
            esc(e.platform),
            esc(e.actor),
            esc(e.action),
            esc(t("dashboard.allowed" if e.allowed else "dashboard.refused", lang)),
            esc(", ".join(f"{k}={v}" for k, v in e.detail.items())),
        ]
        for e in entries[:AUDIT_PAGE]
    ]
    head = [
        esc(t(f"dashboard.col_{c}", lang))
        for c in ("when", "platform", "who", "action", "outcome", "detail")
    ]
    pager = []
    if number > 1:
        pager.append(
            f'<a href="/dashboard/audit?page={number - 1}">{esc(t("dashboard.newer", lang))}</a>'
        )
    if more:
        pager.append(
            f'<a href="/dashboard/audit?page={number + 1}">{esc(t("dashboard.older", lang))}</a>'
        )
    body = table(head, rows) + f'<div class="pager">{"".join(pager)}</div>'
    return page(request, who, "dashboard.nav_audit", body)


overview = signed_in(_overview)
audience = signed_in(_audience)
schedule_page = signed_in(_schedule)
reload_schedule = signed_in(_reload)
audit_log = signed_in(_audit_log)
