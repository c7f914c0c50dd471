"""Signing in with a one-time link, the session cookie, the CSRF token, the rate limit.

The link a `/dashboard` command hands out opens a page with one button: only its POST uses
the link up. Chat apps fetch links to show a preview, and some mail and security scanners
open them too: were a GET enough, the link would be used up before its organizer clicked.
"""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from aiohttp import web

from bot.commands.throttle import Throttle, Verdict
from bot.i18n import catalog, languages, normalize_language, t
from bot.store.dashboard_tokens import DashboardUser, Refusal, TokenKind, digest
from bot.web.context import CONTEXT, WebContext
from bot.web.dashboard.html import button, esc, layout, respond, see_other

COOKIE: Final = "summit_dashboard"
# How long a signed-in browser stays signed in.
SESSION_VALID: Final = dt.timedelta(hours=12)
# Sign-in attempts per client address: a few at once, then this many a minute.
SIGNIN_BURST: Final = 10
SIGNIN_PER_MINUTE: Final = 10

# The status of each refused link: a link nobody issued is forbidden; one that was good is gone.
_REFUSAL_STATUS: Final = {Refusal.UNKNOWN: 403, Refusal.USED: 410, Refusal.EXPIRED: 410}

SIGNIN_THROTTLE = web.AppKey("dashboard_signin_throttle", Throttle)


@dataclass(frozen=True)
class Visitor:
    """A signed-in organizer, with the secrets of their session."""

    user: DashboardUser
    session: str  # the cookie's secret

    @property
    def lang(self) -> str:
        """The language the organizer reads the dashboard in (their chat's)."""
        return self.user.lang

    @property
    def who(self) -> str:
        """The organizer as the audit names them: "telegram:4201"."""
        return f"{self.user.platform}:{self.user.actor}"

    @property
    def csrf(self) -> str:
        """The session's CSRF token: derived from its secret, so nothing more is stored, and
        the cookie cannot be worked out from it."""
        return digest(f"csrf:{self.session}")


Page = Callable[[web.Request, Visitor], Awaitable[web.StreamResponse]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def context(request: web.Request) -> WebContext:
    """The worker behind the pages."""
    return request.app[CONTEXT]


def browser_language(request: web.Request) -> str:
    """The catalog language the browser asks for first (for pages before signing in)."""
    for part in request.headers.get("Accept-Language", "").split(","):
        code = normalize_language(part.split(";")[0].strip())
        if code is not None and code in languages():
            return code
    return catalog(None).code


def message_page(
    request: web.Request, key: str, status: int, lang: str | None = None
) -> web.Response:
    """A page that only says something (signed out, refused, too many attempts)."""
    lang = lang or browser_language(request)
    body = f"<p>{esc(t(f'{key}_body', lang))}</p>"
    return respond(layout(t(f"{key}_title", lang), body, lang), status=status)


async def visitor(request: web.Request) -> Visitor | None:
    """The signed-in organizer of a request, or None."""
    secret = request.cookies.get(COOKIE)
    if not secret:
        return None
    ctx = context(request)
    user = await ctx.worker.store.dashboard.session(secret, now=ctx.clock())
    return None if user is None else Visitor(user, secret)


def signed_in(page: Page) -> Handler:
    """A route for signed-in organizers only; a POST must carry the session's CSRF token."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        who = await visitor(request)
        if who is None:
            return message_page(request, "dashboard.signed_out", 401)
        if request.method == "POST":
            sent = (await request.post()).get("csrf")
            if not isinstance(sent, str) or not hmac.compare_digest(sent, who.csrf):
                return message_page(request, "dashboard.csrf", 403, who.lang)
        return await page(request, who)

    return guarded


async def audit(request: web.Request, who: Visitor, action: str, **detail: Any) -> None:
    """Record an organizer's dashboard action, as chat and command line actions are."""
    ctx = context(request)
    await ctx.worker.store.audit.record(
        platform="dashboard",
        actor=who.who,
        action=action,
        detail=detail,
        allowed=True,
        now=ctx.clock(),
    )


def _throttled(request: web.Request) -> bool:
    """Charge one sign-in attempt to the client's address; True when it is one too many."""
    verdict = request.app[SIGNIN_THROTTLE].check("web", request.remote or "?")
    return verdict is not Verdict.PASS


def _same_origin(request: web.Request) -> bool:
    """Whether a POST came from a page of this server (browsers send Origin with a POST)."""
    origin = request.headers.get("Origin")
    if origin is None or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.host


async def signin_form(request: web.Request) -> web.StreamResponse:
    """GET /dashboard/signin/{token}: a page with one button; the link is not used yet."""
    if _throttled(request):
        return message_page(request, "dashboard.too_many", 429)
    ctx = context(request)
    token = request.match_info["token"]
    refusal = await ctx.worker.store.dashboard.peek(token, now=ctx.clock())
    if refusal is not None:
        return message_page(request, f"dashboard.refused_{refusal}", _REFUSAL_STATUS[refusal])
    lang = browser_language(request)
    body = (
        f"<p>{esc(t('dashboard.signin_body', lang))}</p>"
        f'<form method="post" action="/dashboard/signin/{esc(token)}">'
        f"{button(t('dashboard.signin_button', lang), 'signin')}"
        "</form>"
    )
    return respond(layout(t("dashboard.signin_title", lang), body, lang))


async def signin(request: web.Request) -> web.StreamResponse:
    """POST /dashboard/signin/{token}: use the link up, set the session cookie, go in."""
    if _throttled(request):
        return message_page(request, "dashboard.too_many", 429)
    if not _same_origin(request):
        return message_page(request, "dashboard.csrf", 403)
    ctx = context(request)
    store = ctx.worker.store
    now = ctx.clock()
    user = await store.dashboard.redeem(request.match_info["token"], now=now)
    if isinstance(user, Refusal):
        return message_page(request, f"dashboard.refused_{user}", _REFUSAL_STATUS[user])
    secret = await store.dashboard.issue(
        TokenKind.SESSION,
        platform=user.platform,
        actor=user.actor,
        lang=user.lang,
        now=now,
        valid=SESSION_VALID,
    )
    who = Visitor(user, secret)
    await audit(request, who, "dashboard_signin", address=request.remote or "?")
    response = see_other("/dashboard")
    response.set_cookie(
        COOKIE,
        secret,
        path="/dashboard",
        max_age=int(SESSION_VALID.total_seconds()),
        httponly=True,
        samesite="Strict",
        secure=ctx.public_url.startswith("https://"),
    )
    return response


async def _signout(request: web.Request, who: Visitor) -> web.StreamResponse:
    """POST /dashboard/signout: the session ends; its cookie opens nothing any more."""
    await context(request).worker.store.dashboard.end(who.session)
    await audit(request, who, "dashboard_signout")
    response = message_page(request, "dashboard.signed_out", 200, who.lang)
    response.del_cookie(COOKIE, path="/dashboard")
    return response


signout = signed_in(_signout)


def add_signin(app: web.Application) -> None:
    """The sign-in and sign-out routes, and the sign-in rate limit."""
    # The clock is read through the app: the context may be set after the routes are added.
    app[SIGNIN_THROTTLE] = Throttle(SIGNIN_BURST, SIGNIN_PER_MINUTE, lambda: app[CONTEXT].clock())
    app.router.add_get("/dashboard/signin/{token}", signin_form)
    app.router.add_post("/dashboard/signin/{token}", signin)
    app.router.add_post("/dashboard/signout", signout)
