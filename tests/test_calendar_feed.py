"""A viewer's personal calendar feed: `/calendar` gives its link, the feed follows their
subscriptions and every schedule change (stable UIDs, a growing SEQUENCE), rings at their
reminder offsets, and `/calendar reset` voids the old link."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from icalendar import Calendar

from bot.i18n import t
from bot.schedule import load_schedule
from bot.store import Store
from tests.support.harness import S2, Harness, TelegramLike
from tests.support.schedule_files import edit
from tests.support.web import WebWorld, serving

VIEWER = "4242"
FEED = re.compile(r"https?://\S+/calendar/[A-Za-z0-9_-]{43}\.ics")


@pytest.fixture
async def site(store: Store, schedule_file: Path) -> AsyncIterator[WebWorld]:
    """The bot two days before session 1, reading a schedule file the test edits."""
    schedule = load_schedule(schedule_file)
    async with serving(
        store, schedule=schedule, memory=TelegramLike(), schedule_path=schedule_file
    ) as world:
        yield world


async def feed_link(site: WebWorld, command: str = "/calendar") -> str:
    """The http(s) feed URL the chat's answer to `command` gives (its webcal:// twin too)."""
    reply = await site.bot.reply(command, chat_id=VIEWER)
    text = reply.messages[-1].plain()
    url: str = FEED.findall(text)[0]
    assert f"webcal://{url.partition('://')[2]}" in text
    return url


async def fetch(site: WebWorld, url: str) -> Calendar:
    """The feed as a calendar app reads it."""
    status, body, headers = await site.get(url)
    assert status == 200, body
    assert headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert headers["Cache-Control"] == "private, no-cache"
    return Calendar.from_ical(body)


def events(calendar: Calendar) -> dict[str, dict[str, object]]:
    """Each VEVENT by session id: its start, SEQUENCE and alarm offsets."""
    found: dict[str, dict[str, object]] = {}
    for event in calendar.walk("VEVENT"):
        alarms = [a.decoded("TRIGGER") for a in event.walk("VALARM")]
        found[str(event["UID"]).split("@")[0]] = {
            "start": event.decoded("DTSTART"),
            "sequence": event.decoded("SEQUENCE"),
            "alarms": alarms,
        }
    return found


async def test_the_feed_holds_the_viewers_sessions_and_rings_at_their_offsets(
    site: WebWorld,
) -> None:
    await site.bot.say("/subscribe s1", chat_id=VIEWER)
    await site.bot.say("/remind 1h 10m", chat_id=VIEWER)
    reply = await site.bot.reply("/calendar", chat_id=VIEWER)
    file, link = reply.messages  # the .ics file as before, then the feed
    assert file.attachment is not None
    assert link.plain().startswith("🔗")
    url = await feed_link(site)

    got = events(await fetch(site, url))
    assert list(got) == ["s1"]
    assert got["s1"]["alarms"] == [-dt.timedelta(hours=1), -dt.timedelta(minutes=10)]

    # It follows the subscriptions: all sessions now, the same link.
    await site.bot.say("/subscribe all", chat_id=VIEWER)
    assert await feed_link(site) == url
    got = events(await fetch(site, url))
    assert list(got) == ["s1", "s2", "s3", "ctalk1", "ctalk2", "ctalk3"]
    assert got["ctalk1"]["alarms"] == []  # a day without a time rings at no hour


async def test_a_moved_session_shows_at_its_new_time_with_a_higher_sequence(
    site: WebWorld, schedule_file: Path
) -> None:
    await site.bot.say("/subscribe s2", chat_id=VIEWER)
    url = await feed_link(site)
    before = events(await fetch(site, url))["s2"]
    assert before["start"] == S2.astimezone(dt.timezone(dt.timedelta(hours=8)))

    edit(schedule_file, "s2", 'start: "07:00"', 'start: "08:00"')
    await site.bot.worker.reload(actor="test")

    after = events(await fetch(site, url))["s2"]
    start = after["start"]
    assert isinstance(start, dt.datetime) and start == S2 + dt.timedelta(hours=1)
    assert isinstance(after["sequence"], int) and isinstance(before["sequence"], int)
    assert after["sequence"] == before["sequence"] + 1


async def test_after_calendar_reset_the_old_link_is_gone_and_the_new_one_works(
    site: WebWorld,
) -> None:
    await site.bot.say("/subscribe all", chat_id=VIEWER)
    old = await feed_link(site)
    assert (await site.get(old))[0] == 200

    new = await feed_link(site, "/calendar reset")
    assert new != old
    reset = (await site.bot.reply("/calendar reset", chat_id=VIEWER)).messages[0].plain()
    assert reset.startswith("🔗") and "no longer works" in reset

    newest = await feed_link(site)  # /calendar now shows the link of the last reset
    assert (await site.get(old))[0] == 404
    assert (await site.get(new))[0] == 404  # voided by the second reset
    assert events(await fetch(site, newest))


async def test_a_guessed_or_malformed_token_gets_404(site: WebWorld) -> None:
    await site.bot.say("/subscribe all", chat_id=VIEWER)
    url = await feed_link(site)
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    guessed = token[:-1] + ("A" if token[-1] != "A" else "B")
    for path in (f"/calendar/{guessed}.ics", "/calendar/x.ics", "/calendar/../etc.ics"):
        status, body, _ = await site.get(path)
        assert status == 404, path
        assert token not in body


async def test_each_chat_has_its_own_feed_in_its_own_language(site: WebWorld) -> None:
    await site.bot.say("/subscribe s1", chat_id=VIEWER)
    await site.bot.say("/language zh-TW", chat_id="77")
    await site.bot.say("/subscribe s3", chat_id="77")
    mine = await feed_link(site)
    reply = await site.bot.reply("/calendar", chat_id="77")
    theirs = FEED.findall(reply.messages[-1].plain())[0]
    assert mine != theirs
    (event,) = (await fetch(site, theirs)).walk("VEVENT")
    assert str(event["SUMMARY"]) == "首長高峰會第三場次"


async def test_without_a_web_server_calendar_sends_only_the_file(bot: Harness) -> None:
    await bot.say("/subscribe s1")
    reply = await bot.reply("/calendar")
    assert len(reply.messages) == 1 and reply.messages[0].attachment is not None
    assert await bot.say("/calendar reset") == t("web.feed_off", "en")
