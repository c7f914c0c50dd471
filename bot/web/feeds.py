"""`GET /calendar/<token>.ics`: a chat's personal calendar feed.

It holds the sessions the chat is subscribed to (all of them for `/subscribe all`) in the
chat's language, with alarms at its reminder offsets, built afresh at every fetch: it
follows the subscriptions and every schedule change. UIDs are stable and each session's
SEQUENCE counts its changes over the schedule versions put in force (bot/calendar.py), so a
calendar app replaces a moved session rather than keeping the old one. An unknown or voided
token (after `/calendar reset`) gets 404, the same as one that never existed.
"""

from __future__ import annotations

from aiohttp import web

from bot.calendar import ICS_MIME, build_ics, session_sequences
from bot.constants import ALL_SESSIONS
from bot.render import reader_of
from bot.web.context import CONTEXT, WebContext


async def feed(request: web.Request) -> web.Response:
    """The calendar of the chat this token belongs to; 404 for any other token."""
    ctx: WebContext = request.app[CONTEXT]
    store = ctx.worker.store
    chat = await store.calendar_tokens.chat_of(request.match_info["token"])
    if chat is None:
        raise web.HTTPNotFound(text="no such calendar\n")
    schedule = ctx.worker.current_schedule()
    reader = reader_of(chat, schedule)
    subscriptions = await store.chats.subscriptions(chat.pk)
    ids = None if ALL_SESSIONS in subscriptions else sorted(subscriptions)
    offsets = chat.offsets if chat.offsets is not None else ctx.settings.reminders.default_offsets
    data = build_ics(
        schedule,
        ids,
        reader.lang,
        now=ctx.clock(),
        sequences=await session_sequences(store, schedule),
        alarms=offsets,
    )
    response = web.Response(body=data, content_type=ICS_MIME, charset="utf-8")
    response.headers["Content-Disposition"] = f'inline; filename="{schedule.event.id}.ics"'
    # Personal, and different after any change: no shared cache may keep it.
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def add_feed_routes(app: web.Application) -> None:
    """/calendar/<token>.ics (a token has only URL-safe characters, at most 64)."""
    app.router.add_get("/calendar/{token:[A-Za-z0-9_-]{1,64}}.ics", feed)
