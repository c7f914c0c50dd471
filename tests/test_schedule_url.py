"""An organizer keeps the schedule at a URL (pretalx, Sessionize, a calendar feed): the bot
fetches it at start, polls it, and tells subscribers what moved, as it does for a file."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import logging
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from bot.cli import main
from bot.config import Organizers, Settings
from bot.reload import FetchError, PollOutcome, UrlFetcher, parse_fetched
from bot.reload.fetch import check_url, shown_url
from bot.store import Store
from tests.support.harness import Harness, TelegramLike
from tests.support.schedule_files import NOW, ORGANIZER, to_organizer, viewers
from tests.support.schedule_server import ScheduleServer

TOKEN = "secret-feed-token"


def run_cli(*argv: str) -> tuple[int, str, str]:
    """`summit-bot ARGV` in this process; (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err, clock=lambda: NOW)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
async def polled(store: Store, schedule_server: ScheduleServer) -> AsyncIterator[Harness]:
    """A worker whose schedule is the served one, fetched at start; one organizer."""
    settings = replace(Settings(), organizers=Organizers(telegram_user_ids=(ORGANIZER,)))
    fetcher = UrlFetcher(schedule_server.url)
    fetched = await fetcher.fetch()
    assert fetched.body is not None
    schedule = parse_fetched(fetched.body, shown_url(schedule_server.url))
    harness = Harness(
        store, schedule, settings, NOW, memory=TelegramLike(), schedule_fetcher=fetcher
    )
    await harness.start()
    await harness.say("/start", chat_id=ORGANIZER)
    try:
        yield harness
    finally:
        await harness.worker.stop()


async def poll(harness: Harness) -> PollOutcome:
    """One poll of the source, as the worker's timer makes it."""
    assert harness.worker.poller is not None
    return await harness.worker.poller.poll()


async def test_a_move_a_cancellation_and_a_new_link_reach_each_subscriber_once(
    polled: Harness, schedule_server: ScheduleServer
) -> None:
    await polled.say("/subscribe s2", chat_id="100")
    await polled.say("/subscribe ctalk3", chat_id="200")
    await polled.say("/language zh-TW", chat_id="300")
    await polled.say("/subscribe s3", chat_id="300")
    schedule_server.edit('start: "07:00"', 'start: "07:30"')
    schedule_server.edit('end: "08:30"', 'end: "09:00"')
    text = schedule_server.body.decode()
    start = text.index("  - id: ctalk3\n")
    schedule_server.body = text[:start].encode()  # ctalk3 is the last session: cancelled
    links = "streams:\n      en: https://youtu.be/s3-en\n      zh-TW: https://youtu.be/s3-zh"
    text = schedule_server.body.decode()
    s3 = text.index("  - id: s3\n")
    s3_links = text.index("streams: tba", s3)
    schedule_server.body = (text[:s3_links] + links + text[s3_links + 12 :]).encode()

    assert await poll(polled) == PollOutcome.RELOADED
    sent = await polled.at(NOW)
    got = viewers(sent)
    assert set(got) == {"100", "200", "300"}
    assert (got["100"].title or "").endswith("has moved")
    assert "07:30" in got["100"].text
    assert (got["200"].title or "").endswith("is cancelled")
    assert "直播連結公布" in (got["300"].title or "")
    assert [link.url for link in got["300"].links] == ["https://youtu.be/s3-zh"]
    report = to_organizer(sent)
    assert len(report) == 1 and "3 changes" in report[0]
    assert TOKEN not in report[0]  # the feed's token is never shown

    # Polled again: one conditional request, answered 304, and nothing more to anyone.
    before = schedule_server.conditional_answers()
    assert await poll(polled) == PollOutcome.UNCHANGED
    assert schedule_server.conditional_answers() == before + 1
    assert await polled.at(NOW + dt.timedelta(minutes=1)) == []


async def test_a_failing_source_keeps_the_schedule_and_tells_the_organizers_once_each(
    polled: Harness, schedule_server: ScheduleServer, caplog: pytest.LogCaptureFixture
) -> None:
    await polled.say("/subscribe s2", chat_id="100")
    in_force = polled.worker.schedule

    schedule_server.status = 500
    with caplog.at_level(logging.WARNING):
        assert await poll(polled) == PollOutcome.FAILED
        assert await poll(polled) == PollOutcome.FAILED
    assert polled.worker.schedule is in_force
    told = to_organizer(await polled.at(NOW))
    assert len(told) == 1
    assert "cannot be read" in told[0] and "HTTP 500" in told[0]
    assert TOKEN not in told[0] and TOKEN not in caplog.text

    schedule_server.status = 200
    schedule_server.edit('start: "07:00"', 'start: "25:00"')
    assert await poll(polled) == PollOutcome.INVALID
    assert await poll(polled) == PollOutcome.INVALID  # the same broken file: no news
    assert polled.worker.schedule is in_force
    later = await polled.at(NOW + dt.timedelta(minutes=1))
    assert viewers(later) == {}
    errors = to_organizer(later)
    assert len(errors) == 1 and "was NOT loaded: 1 error" in errors[0]
    assert '"25:00" is not a time' in errors[0]

    schedule_server.edit('start: "25:00"', 'start: "07:15"')
    assert await poll(polled) == PollOutcome.RELOADED
    fixed = await polled.at(NOW + dt.timedelta(minutes=2))
    assert "07:15" in viewers(fixed)["100"].text
    assert any("answers again" in text for text in to_organizer(fixed))
    status = polled.worker.source_status()
    assert status is not None and status.error is None and status.failing_since is None
    assert TOKEN not in status.url


async def test_an_organizers_reload_fetches_the_source_now(
    polled: Harness, schedule_server: ScheduleServer
) -> None:
    schedule_server.edit('start: "07:00"', 'start: "07:45"')
    reply = await polled.say("/reload", chat_id=ORGANIZER)
    assert "1 change" in reply and "07:45" in reply
    schedule_server.status = 404
    reply = await polled.say("/reload", chat_id=ORGANIZER)
    assert "HTTP 404" in reply


async def test_the_poller_runs_on_its_own_timer(
    polled: Harness, schedule_server: ScheduleServer
) -> None:
    poller = polled.worker.poller
    assert poller is not None
    poller.interval = 0.05  # seconds; the config's unit is minutes
    poller.start()
    schedule_server.edit('start: "07:00"', 'start: "07:05"')
    for _ in range(200):
        if poller.status().outcome == PollOutcome.RELOADED:
            break
        await asyncio.sleep(0.02)
    await poller.stop()
    session = polled.worker.schedule.session("s2")
    assert session is not None and session.start is not None
    assert (
        session.start.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%H:%M") == "07:05"
    )


async def test_check_ics_and_check_changes_read_a_url(
    schedule_server: ScheduleServer, tmp_path: object
) -> None:
    code, out, err = await asyncio.to_thread(run_cli, "check", "--schedule", schedule_server.url)
    assert code == 0, err
    assert "6 sessions" in out and TOKEN not in out
    code, out, err = await asyncio.to_thread(run_cli, "ics", "--schedule", schedule_server.url)
    assert code == 0, err
    assert "DTSTART;TZID=Asia/Taipei:20200818T070000" in out

    schedule_server.status = 503
    code, out, err = await asyncio.to_thread(run_cli, "check", "--schedule", schedule_server.url)
    assert code == 1
    assert "HTTP 503" in err and TOKEN not in err


async def test_the_fetcher_refuses_oversized_and_untrusted_sources(
    schedule_server: ScheduleServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = UrlFetcher(schedule_server.url, max_bytes=1024)
    with pytest.raises(FetchError, match="more than"):
        await small.fetch()
    monkeypatch.delenv("SSL_CERT_FILE")
    with pytest.raises(FetchError, match="not trusted"):
        await UrlFetcher(schedule_server.url).fetch()


def test_only_https_sources_leave_this_machine() -> None:
    assert check_url("https://pretalx.example.org/conf/schedule/export/schedule.json") is None
    problem = check_url("http://pretalx.example.org/schedule.json")
    assert problem is not None and "https://pretalx.example.org/schedule.json" in problem
    assert check_url("http://127.0.0.1:8000/schedule.json") is None
    assert shown_url("https://u:pw@example.org/s.json?key=abc") == "https://example.org/s.json?…"
