"""Broadcasts from the dashboard: compose one text per event language, preview with the
audience counted per platform, confirm or cancel, follow to the final report.

The same code as `/broadcast` in a chat and `summit-bot broadcast`: `parse_audience`,
`parse_when`, the stored draft, `Broadcasts.enqueue`/`cancel`/`report`.
"""

from __future__ import annotations

import json
from typing import Final

from aiohttp import web

from bot.broadcasts import BroadcastError, describe_audience, parse_audience, parse_when
from bot.constants import BroadcastStatus
from bot.i18n import catalog, t
from bot.i18n.formatting import format_when, language_name
from bot.store import Author, BroadcastRecord
from bot.web.dashboard.figures import AUDIENCE_SECONDS, LIVE_SECONDS, figures
from bot.web.dashboard.html import button, esc, form, see_other, table
from bot.web.dashboard.pages import page, title_of
from bot.web.dashboard.signin import Visitor, audit, context, signed_in

RECENT: Final = 20  # broadcasts listed under the form
_PENDING: Final = (BroadcastStatus.DRAFT, BroadcastStatus.SCHEDULED)
_OVER: Final = (BroadcastStatus.DONE, BroadcastStatus.CANCELLED)


def author_of(who: Visitor) -> Author:
    """The organizer as a broadcast's author: their private chat gets the final report."""
    return Author(who.user.platform, who.user.actor, who.user.actor)


def _compose(
    request: web.Request, who: Visitor, error: str = "", typed: dict[str, str] | None = None
) -> str:
    """The compose form: one text per event language, the audience, the time."""
    schedule = context(request).worker.schedule
    lang = who.lang
    typed = typed or {}
    fields = []
    for code in schedule.event.languages:
        name = f"text_{code}"
        fields.append(
            f'<label for="{esc(name)}">'
            f"{esc(t('dashboard.text_in', lang, language=language_name(code, lang)))}</label>"
            f'<textarea id="{esc(name)}" name="{esc(name)}">{esc(typed.get(name, ""))}</textarea>'
        )
    choices = [
        ("all", t("broadcast.to_all", lang)),
        ("channels", t("broadcast.to_channels", lang)),
    ]
    choices += [
        (s.id, t("broadcast.to_session", lang, title=title_of(schedule, s.id, lang)))
        for s in schedule.sessions
    ]
    choices += [
        (f"lang:{code}", t("broadcast.to_language", lang, language=language_name(code, lang)))
        for code in schedule.event.languages
    ]
    chosen = typed.get("to", "all")
    options = "".join(
        f'<option value="{esc(v)}"{" selected" if v == chosen else ""}>{esc(label)}</option>'
        for v, label in choices
    )
    body = "".join(fields) + (
        f'<label for="to">{esc(t("dashboard.audience_field", lang))}</label>'
        f'<select id="to" name="to">{options}</select>'
        f'<label for="at">{esc(t("dashboard.when_field", lang))}</label>'
        f'<input id="at" name="at" value="{esc(typed.get("at", ""))}" placeholder="+30">'
        f"<p>{button(t('dashboard.preview_button', lang), 'preview')}</p>"
    )
    shown = f'<p class="error" id="error">{esc(error)}</p>' if error else ""
    return shown + form("/dashboard/broadcasts", who.csrf, body)


async def _list(
    request: web.Request, who: Visitor, error: str = "", typed: dict[str, str] | None = None
) -> web.Response:
    """The broadcasts page: the compose form and the latest broadcasts."""
    ctx = context(request)
    lang = who.lang
    schedule = ctx.worker.schedule
    records = await ctx.worker.store.broadcasts.recent(limit=RECENT)
    rows = [
        [
            f'<a href="/dashboard/broadcasts/{r.id}">#{r.id}</a>',
            esc(t(f"dashboard.status_{r.status}", lang)),
            esc(str(r.created_by)),
            esc(describe_audience(r.audience, lang, schedule)),
            esc(f"{r.send_at:%Y-%m-%d %H:%M} UTC"),
        ]
        for r in records
        if not r.created_by.is_system
    ]
    head = [
        esc(t(f"dashboard.col_{c}", lang))
        for c in ("broadcast", "status", "who", "audience", "when")
    ]
    body = (
        f"<h2>{esc(t('dashboard.compose', lang))}</h2>"
        + _compose(request, who, error, typed)
        + f"<h2>{esc(t('dashboard.recent_broadcasts', lang))}</h2>"
        + table(head, rows)
    )
    status = 400 if error else 200
    response = page(request, who, "dashboard.nav_broadcasts", body)
    response.set_status(status)
    return response


async def _broadcasts(request: web.Request, who: Visitor) -> web.StreamResponse:
    """GET /dashboard/broadcasts."""
    return await _list(request, who)


async def _create(request: web.Request, who: Visitor) -> web.StreamResponse:
    """POST /dashboard/broadcasts: a draft from the form, then its preview."""
    ctx = context(request)
    worker = ctx.worker
    schedule = worker.schedule
    lang = who.lang
    posted = await request.post()
    typed = {k: v for k, v in posted.items() if isinstance(v, str) and k != "csrf"}
    limit = ctx.settings.limits.max_command_length
    texts = {code: typed.get(f"text_{code}", "").strip() for code in schedule.event.languages}
    texts = {code: body for code, body in texts.items() if body}
    now = ctx.clock()
    try:
        if not texts:
            raise BroadcastError("empty")
        longest = max(len(body) for body in texts.values())
        if longest > limit:
            return await _list(
                request, who, t("error.too_long", lang, length=longest, max=limit), typed
            )
        audience = parse_audience(typed.get("to", "all"), schedule)
        at = typed.get("at", "").strip()
        send_at = max(parse_when(at, now), now) if at else now
    except BroadcastError as exc:
        return await _list(
            request, who, t(f"broadcast.error_{exc.reason}", lang, detail=exc.detail), typed
        )
    record = await worker.store.broadcasts.create(
        created_by=author_of(who),
        origin_platform="dashboard",
        texts=texts,
        audience=audience,
        send_at=send_at,
        now=now,
        status=BroadcastStatus.DRAFT,
    )
    await audit(
        request, who, "broadcast", broadcast=record.id, texts=texts, audience=audience.as_json()
    )
    figures(request).forget()  # the preview counts the audience as it is now
    return see_other(f"/dashboard/broadcasts/{record.id}")


async def _record(request: web.Request) -> BroadcastRecord:
    """The broadcast the path names (404 if none, or one of the bot's own)."""
    try:
        number = int(request.match_info["id"])
    except ValueError:
        raise web.HTTPNotFound() from None
    record = await context(request).worker.store.broadcasts.get(number)
    if record is None or record.created_by.is_system:
        raise web.HTTPNotFound()
    return record


async def _show(request: web.Request, who: Visitor) -> web.StreamResponse:
    """GET /dashboard/broadcasts/{id}: the preview (pending) or the report (going, over)."""
    ctx = context(request)
    worker = ctx.worker
    schedule = worker.schedule
    lang = who.lang
    record = await _record(request)
    memo = figures(request)
    reach = json.dumps(record.audience.as_json(), sort_keys=True)
    counts = await memo.get(
        f"reach:{reach}",
        AUDIENCE_SECONDS,
        lambda: worker.store.broadcasts.count_audience(record.audience),
    )
    per_platform = [[esc(p), f'<span class="num">{n}</span>'] for p, n in sorted(counts.items())]
    per_platform.append(
        [esc(t("dashboard.total", lang)), f'<b class="num" id="reach">{sum(counts.values())}</b>']
    )
    when = format_when(record.send_at, schedule.event.timezone, lang)
    parts = [
        f'<p id="status">{esc(t(f"dashboard.status_{record.status}", lang))}</p>',
        f"<p>{esc(describe_audience(record.audience, lang, schedule))} · {esc(when)}</p>",
        table(
            [esc(t("dashboard.col_platform", lang)), esc(t("dashboard.col_reach", lang))],
            per_platform,
        ),
        f"<h2>{esc(t('dashboard.texts', lang))}</h2>",
    ]
    for code, body in record.texts.items():
        parts.append(
            f"<h3>{esc(catalog(code).name if code in schedule.event.languages else code)}</h3>"
            f'<pre class="text" lang="{esc(code)}">{esc(body)}</pre>'
        )
    actions = []
    if record.status in _PENDING:
        actions.append(
            form(
                f"/dashboard/broadcasts/{record.id}/confirm",
                who.csrf,
                button(t("broadcast.button_send", lang), "confirm"),
            )
        )
    if record.status not in _OVER:
        actions.append(
            form(
                f"/dashboard/broadcasts/{record.id}/cancel",
                who.csrf,
                button(t("broadcast.button_cancel", lang), "cancel", css="secondary"),
            )
        )
    parts.append('<div class="cards">' + "".join(actions) + "</div>")
    if record.status not in _PENDING:
        report = await memo.get(
            f"report:{record.id}:{lang}",
            LIVE_SECONDS,
            lambda: worker.broadcasts.report(record.id, lang, schedule, ctx.clock()),
            stale_ok=False,  # an organizer reloading the report wants it as it stands
        )
        parts.append(
            f'<h2>{esc(t("dashboard.report", lang))}</h2><p id="report">{esc(report.text)}</p>'
        )
    return page(request, who, "dashboard.nav_broadcasts", "".join(parts))


async def _confirm(request: web.Request, who: Visitor) -> web.StreamResponse:
    """POST /dashboard/broadcasts/{id}/confirm: into the ledger, as a chat's confirm does."""
    ctx = context(request)
    worker = ctx.worker
    record = await _record(request)
    if record.status in _PENDING:
        rows = await worker.broadcasts.enqueue(record.id, now=ctx.clock())
        worker.delivery.wake()
        figures(request).forget()  # the overview shows the new fan-out at once
        await audit(
            request,
            who,
            "broadcast",
            broadcast=record.id,
            drafted_by=str(record.created_by),
            confirmed_by=who.who,
            rows=rows,
        )
    return see_other(f"/dashboard/broadcasts/{record.id}")


async def _cancel(request: web.Request, who: Visitor) -> web.StreamResponse:
    """POST /dashboard/broadcasts/{id}/cancel: what is not sent yet is not sent."""
    ctx = context(request)
    record = await _record(request)
    if record.status not in _OVER:
        stopped = await ctx.worker.broadcasts.cancel(record.id, now=ctx.clock())
        figures(request).forget()
        await audit(
            request,
            who,
            "broadcast",
            broadcast=record.id,
            drafted_by=str(record.created_by),
            cancelled_by=who.who,
            rows=stopped,
        )
    return see_other(f"/dashboard/broadcasts/{record.id}")


broadcasts = signed_in(_broadcasts)
create = signed_in(_create)
show = signed_in(_show)
confirm = signed_in(_confirm)
cancel = signed_in(_cancel)
