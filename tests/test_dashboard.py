"""The organizers' dashboard in a real headless Chromium: an organizer types /dashboard to the
bot on (fake) Telegram, opens the link, signs in, and runs the event from the browser.

Screenshots of every page go to $DASHBOARD_SCREENSHOTS when it is set (for the release notes).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest

from bot.schedule import load_schedule
from tests.support.browser import BrowserPage
from tests.support.dashboard import ORGANIZER, DashboardFactory, DashboardWorld
from tests.support.harness import ROOT
from tests.support.schedule_files import edit
from tests.support.telegram_world import PRAGUE, VIEWER, plain

pytestmark = pytest.mark.browser

SCRIPT_TITLE = "<script>window.pwned = 1; alert('title')</script> Opening night"
SCRIPT_TEXT = "<script>alert('broadcast')</script> & the stream is up"


def shot_path(name: str) -> str | None:
    """Where to keep a screenshot: in $DASHBOARD_SCREENSHOTS when it names a folder."""
    folder = os.environ.get("DASHBOARD_SCREENSHOTS")
    if not folder:
        return None
    Path(folder).mkdir(parents=True, exist_ok=True)
    return str(Path(folder) / f"{name}.png")


async def shot(page: Any, name: str) -> None:
    """Keep a screenshot of the page (for the release notes), if asked to."""
    path = shot_path(name)
    if path is not None:
        await page.screenshot(path=path, full_page=True)


async def eventually(locator: Any, expected: str, seconds: float = 5.0) -> bool:
    """Whether `locator`'s text becomes `expected` within `seconds` (a live update)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        if await locator.inner_text() == expected:
            return True
        await asyncio.sleep(0.1)
    return False


async def sign_in(world: DashboardWorld, browser: BrowserPage) -> None:
    """The organizer asks the bot for a link, opens it and presses "Sign in"."""
    page = browser.page
    link = await world.signin_link()
    await page.goto(link)
    await page.click("#signin")
    await page.wait_for_url(f"{world.base}/dashboard")


async def test_an_organizer_signs_in_and_a_broadcast_reaches_telegram(
    make_dashboard: DashboardFactory, browser_page: BrowserPage
) -> None:
    world = await make_dashboard()
    page = browser_page.page
    await world.say(PRAGUE, "/subscribe all")
    link = await world.signin_link()
    assert (
        "valid for 10 minutes and only once" in world.tg.requests("sendMessage")[-1].params["text"]
    )

    # Opening the link (as a chat app's preview would) signs nobody in and does not use it up.
    response = await page.goto(link)
    assert response is not None and response.status == 200
    await shot(page, "0-signin")
    assert await page.locator("#signin").is_visible()
    await page.click("#signin")
    await page.wait_for_url(f"{world.base}/dashboard")
    (cookie,) = await page.context.cookies()
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert not cookie["secure"]  # public_url is http:// here; https:// sets Secure
    assert await page.locator("h1").inner_text() == "Overview"
    assert await page.get_by_text("Next reminders").is_visible()
    await shot(page, "1-overview")

    await page.click("text=Broadcasts")
    await page.fill("#text_en", "The stream is up")
    await page.fill("#text_zh-TW", "直播開始了")
    await shot(page, "3-broadcasts-compose")
    await page.click("#preview")
    await page.wait_for_url(f"{world.base}/dashboard/broadcasts/1")
    assert await page.locator("#reach").inner_text() == "1"
    await shot(page, "3-broadcast-preview")
    await page.click("#confirm")
    await page.wait_for_selector("#report")
    assert "Going out" in await page.locator("#status").inner_text()

    # The overview follows the fan-out live: one pending, then (polled) one sent.
    await page.click("text=Overview")
    sent_cell = page.locator('#live [data-field="sent"]')
    assert await page.locator('#live [data-field="pending"]').inner_text() == "1"
    assert await sent_cell.inner_text() == "0"
    sent = await world.at(world.clock.now)
    (text,) = [plain(r.params["text"]) for r in sent if r.params["chat_id"] == PRAGUE]
    assert text.endswith("The stream is up")
    assert await eventually(sent_cell, "1", seconds=8)  # the script polls every 2 s
    await shot(page, "1-overview-live")
    await page.goto(f"{world.base}/dashboard/broadcasts/1")
    assert "1 sent, 0 blocked, 0 failed" in await page.locator("#report").inner_text()
    await shot(page, "3-broadcast-report")

    entries = await world.store.audit.recent(10)
    dashboard = [e for e in entries if e.platform == "dashboard"]
    assert [e.action for e in dashboard][:2] == ["broadcast", "broadcast"]
    assert dashboard[0].detail["confirmed_by"] == f"telegram:{ORGANIZER}"
    assert any(e.action == "dashboard_signin" for e in dashboard)


async def test_every_page_answers_for_a_signed_in_organizer(
    make_dashboard: DashboardFactory, browser_page: BrowserPage
) -> None:
    world = await make_dashboard()
    page = browser_page.page
    await world.say(PRAGUE, "/subscribe all")
    await world.say(VIEWER, "/timezone Medellín")
    await world.say(VIEWER, "/subscribe s1")
    await sign_in(world, browser_page)

    await page.click("text=Audience")
    assert await page.locator("#total").inner_text() == "2"
    assert await page.locator("svg.chart").is_visible()
    assert await page.get_by_text("UTC−05:00").is_visible()  # Medellín, the evening before
    await shot(page, "2-audience")

    await page.click("text=Schedule")
    assert await page.get_by_text("would announce nothing").is_visible()
    await shot(page, "4-schedule")
    await page.click("#reload")
    assert await page.locator("#outcome").is_visible()

    await page.click("text=Audit log")
    assert await page.get_by_role("cell", name="dashboard_signin").is_visible()
    await shot(page, "5-audit")
    assert not browser_page.dialogs

    # Fifty entries a page, newest first; older ones a click away.
    for n in range(60):
        await world.store.audit.record(
            platform="cli",
            actor="ops",
            action="broadcast",
            detail={"n": n},
            allowed=True,
            now=world.clock.now,
        )
    await page.reload()
    assert await page.locator("tbody tr").count() == 50
    await page.click("text=Older →")
    assert await page.locator("tbody tr").count() == 60 + 3 - 50  # sign-in, reload, /dashboard

    # Signing out ends the session: the cookie opens nothing any more.
    await page.click("text=Sign out")
    assert await page.get_by_text("You are not signed in").is_visible()
    response = await page.goto(f"{world.base}/dashboard")
    assert response is not None and response.status == 401


async def test_a_link_works_once_and_for_ten_minutes_only(
    make_dashboard: DashboardFactory, chromium: Any
) -> None:
    world = await make_dashboard()

    async def fresh() -> Any:
        return await (await chromium.new_context()).new_page()

    # Used: the second browser to post the link is told it was used, with 410 Gone.
    link = await world.signin_link()
    first, second = await fresh(), await fresh()
    await first.goto(link)
    await second.goto(link)
    await first.click("#signin")
    await first.wait_for_url(f"{world.base}/dashboard")
    async with second.expect_response(link) as posted:
        await second.click("#signin")
    assert (await posted.value).status == 410
    assert await second.get_by_text("already used").is_visible()
    assert (await second.goto(link)).status == 410  # type: ignore[union-attr]

    # Expired: eleven minutes later the link is worth nothing, opened or posted.
    link = await world.signin_link()
    page = await fresh()
    await page.goto(link)
    world.clock.now += dt.timedelta(minutes=11)
    async with page.expect_response(link) as posted:
        await page.click("#signin")
    assert (await posted.value).status == 410
    assert await page.get_by_text("has expired").is_visible()
    assert "/dashboard/signin/" in page.url and not await page.context.cookies()

    # Forged: a link the bot never issued.
    page = await fresh()
    response = await page.goto(f"{world.base}/dashboard/signin/made-up-token")
    assert response is not None and response.status == 403
    assert await page.get_by_text("not valid").is_visible()
    await shot(page, "6-forged-link")


async def test_script_in_a_title_and_a_broadcast_is_shown_as_text(
    make_dashboard: DashboardFactory, browser_page: BrowserPage, tmp_path: Path
) -> None:
    source = (ROOT / "schedule.yaml").read_text(encoding="utf-8")
    hostile = source.replace(
        'en: "Mayors\' Summit, session 1: Europe and Eurasia"', f'en: "{SCRIPT_TITLE}"'
    )
    assert hostile != source
    (tmp_path / "schedule.yaml").write_text(hostile, encoding="utf-8")
    world = await make_dashboard(schedule=load_schedule(tmp_path / "schedule.yaml"))
    page = browser_page.page
    await world.say(PRAGUE, "/subscribe s1")
    await sign_in(world, browser_page)

    await page.click("text=Audience")
    assert await page.get_by_text(SCRIPT_TITLE).first.is_visible()
    await page.click("text=Broadcasts")
    await page.fill("#text_en", SCRIPT_TEXT)
    await page.click("#preview")
    await page.wait_for_url(f"{world.base}/dashboard/broadcasts/1")
    assert await page.get_by_text(SCRIPT_TEXT).is_visible()
    await page.goto(f"{world.base}/dashboard")
    assert browser_page.dialogs == []
    assert await page.evaluate("window.pwned") is None


async def test_a_post_without_the_csrf_token_is_refused(
    make_dashboard: DashboardFactory, browser_page: BrowserPage
) -> None:
    world = await make_dashboard()
    page = browser_page.page
    await sign_in(world, browser_page)
    # The signed-in browser's own cookie, but no token: what a forged cross-site form sends.
    refused = await page.request.post(
        f"{world.base}/dashboard/broadcasts",
        form={"text_en": "Forged", "to": "all"},
        max_redirects=0,
    )
    assert refused.status == 403
    assert "did not come from a dashboard page" in await refused.text()
    wrong = await page.request.post(
        f"{world.base}/dashboard/schedule/reload", form={"csrf": "0" * 64}, max_redirects=0
    )
    assert wrong.status == 403
    assert await world.store.broadcasts.recent() == []


async def test_a_viewer_is_refused_and_audited(
    make_dashboard: DashboardFactory, browser_page: BrowserPage
) -> None:
    world = await make_dashboard()
    reply = await world.say(VIEWER, "/dashboard")
    assert reply == "Only the event's organizers can use /dashboard."
    (refusal,) = await world.store.audit.recent()
    assert (refusal.actor, refusal.action, refusal.allowed) == (str(VIEWER), "dashboard", False)
    # Without a session, no page opens.
    response = await browser_page.page.goto(f"{world.base}/dashboard")
    assert response is not None and response.status == 401
    assert await browser_page.page.get_by_text("You are not signed in").is_visible()


async def test_the_dashboard_speaks_the_organizers_language(
    make_dashboard: DashboardFactory, browser_page: BrowserPage
) -> None:
    world = await make_dashboard()
    page = browser_page.page
    await world.say(ORGANIZER, "/language zh-TW")
    link = await world.signin_link()
    assert "只能使用一次" in world.tg.requests("sendMessage")[-1].params["text"]
    await page.goto(link)
    await page.click("#signin")
    await page.wait_for_url(f"{world.base}/dashboard")
    assert await page.locator("h1").inner_text() == "總覽"
    await page.click("text=觀眾")
    assert await page.get_by_text("依 UTC 時差統計訂閱者").is_visible()


async def test_the_overview_shows_a_reminders_fan_out_and_its_failures(
    make_dashboard: DashboardFactory, browser_page: BrowserPage
) -> None:
    world = await make_dashboard()
    page = browser_page.page
    await world.say(PRAGUE, "/subscribe all")
    await world.say(VIEWER, "/subscribe all")
    world.tg.block(VIEWER)
    (first, *_) = world.worker.scheduler.next_jobs()
    sent = await world.at(first.due)
    assert [r.params["chat_id"] for r in sent] == [PRAGUE]

    await sign_in(world, browser_page)
    row = page.locator("#live tbody tr").first
    assert "Reminder: Mayors' Summit, session 1" in await row.inner_text()
    assert await row.locator('[data-field="sent"]').inner_text() == "1"
    assert await row.locator('[data-field="blocked"]').inner_text() == "1"
    failures = await page.locator("table").last.inner_text()
    assert "blocked by the user" in failures
    await shot(page, "1-overview-fanout")


async def test_the_schedule_page_previews_a_change_and_reloads_it(
    make_dashboard: DashboardFactory, browser_page: BrowserPage, tmp_path: Path
) -> None:
    path = tmp_path / "schedule.yaml"
    path.write_text((ROOT / "schedule.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    world = await make_dashboard(schedule=load_schedule(path))
    page = browser_page.page
    await world.say(PRAGUE, "/subscribe s2")
    await sign_in(world, browser_page)
    edit(path, "s2", 'start: "07:00"', 'start: "07:30"')

    await page.click("text=Schedule")
    changes = await page.locator("#changes").inner_text()
    assert "session 2" in changes and "(1 subscriber told)" in changes
    await shot(page, "4-schedule-changes")
    await page.click("#reload")
    assert "1 change" in await page.locator("#outcome").inner_text()
    assert await page.get_by_text("would announce nothing").is_visible()
    sent = await world.at(world.clock.now)
    (notice,) = [plain(r.params["text"]) for r in sent if r.params["chat_id"] == PRAGUE]
    assert "07:30" in notice  # Taipei time: the viewer chose no zone
