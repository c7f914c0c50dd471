"""The dashboard's sign-in over plain HTTP (no browser needed): the cookie's flags behind
https, the rate limit, links only in private chats; and the figures' memo."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.config import Organizers, Settings
from bot.store import Store
from bot.store.dashboard_tokens import TokenKind
from bot.web.context import CONTEXT, WebContext
from bot.web.dashboard import add_dashboard
from bot.web.dashboard.figures import Figures
from bot.web.dashboard.signin import SESSION_VALID
from tests.support.dashboard import LINK, ORGANIZER, DashboardFactory
from tests.support.harness import TelegramLike
from tests.support.web import serving


async def test_signing_in_is_rate_limited_per_address(make_dashboard: DashboardFactory) -> None:
    world = await make_dashboard()
    async with aiohttp.ClientSession() as http:
        statuses = []
        for attempt in range(12):
            async with http.get(f"{world.base}/dashboard/signin/guess-{attempt}") as response:
                statuses.append(response.status)
    assert statuses == [403] * 10 + [429, 429]


async def test_links_are_given_in_private_chats_only(make_dashboard: DashboardFactory) -> None:
    world = await make_dashboard()
    world.tg.push_message(-100200, "/dashboard", user_id=ORGANIZER, chat_type="supergroup")
    reply = await world.next(-100200)
    assert "only in a private chat" in reply and "/dashboard/signin/" not in reply


async def test_behind_https_the_session_cookie_is_secure(make_dashboard: DashboardFactory) -> None:
    world = await make_dashboard()
    app = web.Application()
    app[CONTEXT] = WebContext(world.worker, world.settings, world.clock, "https://summit.example")
    add_dashboard(app)
    token = await world.store.dashboard.issue(
        TokenKind.SIGNIN,
        platform="telegram",
        actor=str(ORGANIZER),
        lang="en",
        now=world.clock(),
        valid=SESSION_VALID,
    )
    async with TestServer(app, host="127.0.0.1") as server, aiohttp.ClientSession() as http:
        url = str(server.make_url(f"/dashboard/signin/{token}"))
        async with http.post(url, allow_redirects=False) as response:
            assert response.status == 303 and response.headers["Location"] == "/dashboard"
            cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("summit_dashboard=") and token not in cookie
    for flag in ("HttpOnly", "Secure", "SameSite=Strict", "Path=/dashboard"):
        assert flag in cookie, cookie


async def test_a_figure_is_computed_once_and_served_stale_while_recomputed() -> None:
    now = [0.0]
    memo = Figures(monotonic=lambda: now[0])
    calls: list[int] = []

    async def count() -> int:
        calls.append(1)
        await asyncio.sleep(0)
        return len(calls)

    # Ten requests at once: one scan.
    assert await asyncio.gather(*(memo.get("n", 1.0, count) for _ in range(10))) == [1] * 10
    now[0] = 0.5
    assert await memo.get("n", 1.0, count) == 1  # fresh
    now[0] = 2.0
    assert await memo.get("n", 1.0, count) == 1  # stale: served while recomputed
    await asyncio.sleep(0.01)
    assert await memo.get("n", 1.0, count) == 2
    now[0] = 4.0
    assert await memo.get("n", 1.0, count, stale_ok=False) == 3  # must be current: waits
    memo.forget()
    assert await memo.get("n", 1.0, count) == 4


async def test_the_worker_web_server_serves_the_dashboard_at_its_own_address(
    store: Store,
) -> None:
    settings = replace(Settings(), organizers=Organizers(telegram_user_ids=("9100",)))
    async with serving(store, settings=settings, memory=TelegramLike()) as site:
        # No web.public_url: the link names where the server really listens.
        reply = await site.bot.say("/dashboard", chat_id="9100")
        found = LINK.search(reply)
        assert found and found[0].startswith(f"{site.web.url}/dashboard/signin/")
        status, body, headers = await site.get(found[0])
        assert status == 200 and 'id="signin"' in body
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        async with site.http.post(found[0], allow_redirects=False) as response:
            assert response.status == 303
            session = response.cookies["summit_dashboard"].value
        # (aiohttp's cookie jar keeps no cookie of an IP address: it is sent by hand.)
        status, body, _ = await site.get("/dashboard", cookies={"summit_dashboard": session})
        assert status == 200 and "Next reminders" in body
