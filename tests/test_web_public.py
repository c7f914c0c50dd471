"""The public schedule page as a visitor reads it: their language and zone (asked for, from
the browser, or picked), day by day, remind-me links into the chats, every text escaped."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import ClassVar

import aiohttp
import pytest

from bot.config import Settings
from bot.i18n import t
from bot.schedule import load_schedule, parse_schedule
from bot.store import Store
from bot.web.public import choose_language
from bot.web.server import Listen, WebServer
from tests.support.discord_world import Rig
from tests.support.harness import ROOT, S2, TelegramLike
from tests.support.schedule_files import edit
from tests.support.telegram_world import TelegramWorld
from tests.support.web import Page, WebWorld, serving


class TelegramWithUsername(TelegramLike):
    """The memory platform under Telegram's name, with the deep links a started bot offers."""

    platform: ClassVar[str] = "telegram"

    def deep_link(self, payload: str) -> str:
        return f"https://t.me/summit_test_bot?start={payload}"


@pytest.fixture
async def site(store: Store) -> AsyncIterator[WebWorld]:
    """The summit bot two days before session 1 (13 Aug 2020), its web face listening."""
    async with serving(store, memory=TelegramWithUsername()) as world:
        yield world


async def page(site: WebWorld, path: str = "/", **headers: str) -> Page:
    """GET a page and read it."""
    status, body, got = await site.get(path, headers=headers)
    assert status == 200, body
    assert got["Content-Type"] == "text/html; charset=utf-8"
    return Page(body)


async def test_a_visitor_from_taiwan_reads_the_schedule_in_chinese_at_taipei_time(
    site: WebWorld,
) -> None:
    read = await page(site, **{"Accept-Language": "zh-TW,zh;q=0.9,en;q=0.5"})
    assert read.lang == "zh-TW"
    assert read.headings["h1"] == ["2020智慧城市首長高峰會（線上）"]
    # Day by day in the event's zone (no zone asked for): session 2 is Tuesday morning.
    assert read.headings["h2"][:3] == ["8月13日週四", "8月18日週二", "8月19日週三"]
    assert "8月18日週二 07:00–08:30（台北）" in read.articles["s2"]
    assert read.selected == {"lang": "zh-TW", "tz": "Asia/Taipei"}
    assert t("web.pick_zone", "zh-TW") in read.text  # the event's zone: say how to change it


async def test_a_visitor_who_picks_bogota_sees_session_two_on_monday_evening(
    site: WebWorld,
) -> None:
    read = await page(site, "/?lang=en&tz=america/bogota", **{"Accept-Language": "zh-TW"})
    assert read.lang == "en"
    assert "Monday 17 August" in read.headings["h2"]
    assert (
        "Mon 17 Aug, 18:00–19:30 (Bogotá, -1 day) = Tue 18 Aug, 07:00 Taipei"
        in (read.articles["s2"])
    )
    assert read.selected == {"lang": "en", "tz": "America/Bogota"}
    assert t("agenda.times_in", "en", place="Bogotá (America/Bogota)") in read.text
    assert t("web.pick_zone", "en") not in read.text


async def test_a_zone_or_language_the_page_does_not_know_falls_back_quietly(
    site: WebWorld,
) -> None:
    read = await page(site, "/?lang=xx&tz=Mars/Olympus_Mons", **{"Accept-Language": "fr, *"})
    assert read.lang == "en"
    assert read.selected == {"lang": "en", "tz": "Asia/Taipei"}


def test_accept_language_is_read_by_its_weights() -> None:
    assert choose_language(None, "fr;q=0.9, zh-TW;q=0.8, en;q=0.1") == "zh-TW"
    assert choose_language(None, "en;q=0, zh-Hant-TW") == "zh-TW"
    assert choose_language("en", "zh-TW") == "en"
    assert choose_language(None, "de;q=x, *") == "en"
    assert choose_language(None, None) == "en"


async def test_the_page_works_without_script_and_reads_on_a_phone(site: WebWorld) -> None:
    _, body, headers = await site.get("/")
    read = Page(body)
    viewport = [m for m in read.meta if m.get("name") == "viewport"]
    assert viewport == [{"name": "viewport", "content": "width=device-width, initial-scale=1"}]
    # The picker is a plain GET form: choosing is following a link.
    assert re.search(r'<form method="get" action="">', body)
    assert {"en", "zh-TW"} <= set(read.selects["lang"])
    assert {"Europe/Prague", "America/Bogota", "Pacific/Auckland", "UTC"} <= set(
        read.selects["tz"]
    )
    # Every session is on the page itself, not fetched by a script.
    assert set(read.articles) == {"s1", "s2", "s3", "ctalk1", "ctalk2", "ctalk3"}
    # The one script only asks the browser's zone, and the policy runs nothing else.
    (script,) = read.scripts
    assert "Intl.DateTimeFormat().resolvedOptions().timeZone" in script
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    policy = headers["Content-Security-Policy"]
    assert f"script-src 'sha256-{digest}'" in policy
    assert "default-src 'none'" in policy
    assert headers["Vary"] == "Accept-Language"


async def test_remind_me_links_open_the_bot_on_telegram_with_the_session(
    site: WebWorld,
) -> None:
    read = await page(site, "/?lang=en")
    links = dict((text, href) for href, text in read.links)
    remind = t("web.remind_telegram", "en")
    assert [href for href, text in read.links if text == remind] == [
        f"https://t.me/summit_test_bot?start=sub-{session}"
        for session in ("s1", "s2", "s3", "ctalk1", "ctalk2", "ctalk3")
    ]
    # Session 1 streams in English: "Watch in English".
    assert links["Watch in English"].startswith("https://")
    assert links[t("web.google", "en")].startswith("https://calendar.google.com/")
    # And the link does what it says: the bot subscribes whoever starts it with that payload.
    assert "Europe and Eurasia" in await site.bot.say("/start sub-s1", chat_id="42")
    chat = await site.bot.store.chats.get("telegram", "42")
    assert chat is not None and await site.bot.store.chats.subscriptions(chat.pk) == {"s1"}


async def test_a_session_that_is_over_offers_no_reminder(store: Store) -> None:
    async with serving(store, memory=TelegramWithUsername(), now=S2) as site:
        read = await page(site, "/?lang=en")
    remind = t("web.remind_telegram", "en")
    starts = [href.rsplit("-", 1)[1] for href, text in read.links if text == remind]
    assert "s1" not in starts and "s3" in starts
    assert "ended" in read.articles["s1"]


async def test_every_schedule_text_is_escaped(store: Store) -> None:
    text = (ROOT / "schedule.yaml").read_text(encoding="utf-8")
    evil = '<script>alert("x")</script> & <b>bold</b>'
    original = '"Mayors\' Summit, session 1: Europe and Eurasia"'
    assert original in text
    schedule = parse_schedule(text.replace(original, "'" + evil + "'", 1))
    assert dict(schedule.sessions[0].title.values)["en"] == evil
    async with serving(store, schedule=schedule) as site:
        status, body, _ = await site.get("/?lang=en")
    assert status == 200
    assert "<script>alert" not in body and "<b>bold</b>" not in body
    assert (
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in body
    )
    assert Page(body).headings["h3"][0] == evil


async def test_the_real_telegram_bot_gives_its_deep_link_once_connected(
    world: TelegramWorld,
) -> None:
    assert world.worker.platforms_connected() == {"telegram": True}
    assert world.worker.deep_links("sub-s2") == {
        "telegram": "https://t.me/summit_test_bot?start=sub-s2"
    }
    web = WebServer(Settings(), Listen("127.0.0.1", 0))
    await web.start(world.worker)
    try:
        async with aiohttp.ClientSession() as http, http.get(f"{web.url}/?lang=en") as response:
            read = Page(await response.text())
    finally:
        await web.stop()
    assert "https://t.me/summit_test_bot?start=sub-s2" in [href for href, _ in read.links]


async def test_discord_offers_its_invite_link(rig: Rig) -> None:
    links = rig.worker.deep_links("sub-s1")
    application = rig.dc.application_id
    assert links["discord"].startswith(
        f"https://discord.com/oauth2/authorize?client_id={application}&scope=bot"
    )
    assert rig.worker.platforms_connected() == {"discord": True}


async def test_the_page_follows_a_schedule_change_at_once(
    store: Store, schedule_file: Path
) -> None:
    schedule = load_schedule(schedule_file)
    async with serving(store, schedule=schedule, schedule_path=schedule_file) as site:
        before = await page(site, "/?lang=en&tz=Asia/Taipei")
        assert "Tue 18 Aug, 07:00–08:30 (Taipei)" in before.articles["s2"]
        edit(schedule_file, "s2", 'start: "07:00"', 'start: "08:00"')
        await site.bot.worker.reload(actor="test")
        after = await page(site, "/?lang=en&tz=Asia/Taipei")
        assert "Tue 18 Aug, 08:00–08:30 (Taipei)" in after.articles["s2"]
