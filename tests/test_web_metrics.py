"""/metrics as Prometheus reads it: its own parser takes the page, and the delivery counters
move by exactly what a fan-out did (sent, blocked, retried after a 429), with lateness."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.adapters.base import Blocked, RetryAfter
from bot.schedule import load_schedule
from bot.store import Store
from tests.support.harness import S1, TelegramLike
from tests.support.web import WebWorld, serving

MINUTE = dt.timedelta(minutes=1)
VIEWERS = [str(700 + n) for n in range(7)]


@pytest.fixture
async def site(store: Store) -> AsyncIterator[WebWorld]:
    """The bot (under Telegram's name) two days before session 1, its web face listening."""
    async with serving(store, memory=TelegramLike()) as world:
        yield world


async def scrape(site: WebWorld) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics, read with prometheus_client's own parser."""
    status, body, headers = await site.get("/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    """One sample's value; 0 for a series not shown."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def sent(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], outcome: str = "sent"
) -> float:
    """Telegram deliveries with this outcome so far."""
    return value(samples, "summit_deliveries_total", platform="telegram", outcome=outcome)


async def test_the_delivery_counter_rises_by_exactly_the_messages_a_fan_out_sent(
    site: WebWorld,
) -> None:
    for viewer in VIEWERS:
        await site.bot.say("/subscribe s1", chat_id=viewer)
        await site.bot.say("/remind 10m", chat_id=viewer)
    before = await scrape(site)
    assert sent(before) == 0  # shown from the start, so that a rate has a series
    assert value(before, "summit_subscribers", platform="telegram") == len(VIEWERS)

    # The 10-minute reminder goes out three minutes late (the worker was busy, say).
    delivered = await site.bot.at(S1 - 10 * MINUTE + 3 * MINUTE)
    assert len(delivered) == len(VIEWERS)

    after = await scrape(site)
    assert sent(after) - sent(before) == len(VIEWERS)
    assert sent(after, "failed") == sent(after, "blocked") == 0
    lateness = "summit_reminder_lateness_seconds"
    assert value(after, f"{lateness}_count", platform="telegram") == len(VIEWERS)
    assert value(after, f"{lateness}_sum", platform="telegram") == 180 * len(VIEWERS)
    assert value(after, f"{lateness}_bucket", platform="telegram", le="120.0") == 0
    assert value(after, f"{lateness}_bucket", platform="telegram", le="300.0") == len(VIEWERS)
    assert value(after, "summit_send_seconds_count", platform="telegram") == len(VIEWERS)
    assert value(after, "summit_ledger_pending", platform="telegram") == 0


async def test_a_flood_wait_and_a_blocked_chat_are_counted_as_what_they_are(
    site: WebWorld,
) -> None:
    for viewer in VIEWERS[:3]:
        await site.bot.say("/subscribe s1", chat_id=viewer)
        await site.bot.say("/remind 0", chat_id=viewer)
    # A short wait: the pacer really pauses the platform for it.
    site.bot.memory.fail(VIEWERS[0], RetryAfter(0.25))
    site.bot.memory.fail(VIEWERS[1], Blocked("bot was blocked by the user"))
    delivered = await site.bot.at(S1)
    assert [chat for chat, _ in delivered] == [VIEWERS[2]]

    samples = await scrape(site)
    assert (sent(samples), sent(samples, "blocked"), sent(samples, "retried")) == (1, 1, 1)
    assert value(samples, "summit_flood_waits_total", platform="telegram") == 1
    assert value(samples, "summit_flood_wait_seconds_total", platform="telegram") == 0.25
    assert value(samples, "summit_ledger_pending", platform="telegram") == 1  # the retry

    # The wait is over: the retried reminder goes out, once.
    assert [chat for chat, _ in await site.bot.at(S1 + dt.timedelta(seconds=1))] == [VIEWERS[0]]
    samples = await scrape(site)
    assert (sent(samples), sent(samples, "retried")) == (2, 1)
    assert value(samples, "summit_ledger_pending", platform="telegram") == 0
    assert value(samples, "summit_subscribers", platform="telegram") == 2  # one blocked


async def test_the_schedule_version_the_lock_and_the_database_are_shown(site: WebWorld) -> None:
    samples = await scrape(site)
    assert value(samples, "summit_schedule_version") == site.bot.worker.reloader.revision
    assert value(samples, "summit_worker_lock_held") == 0  # this test's worker took no lock
    assert value(samples, "summit_database_up") == 1
    assert value(samples, "summit_schedule_last_poll_timestamp_seconds") == 0  # no file


async def test_each_worker_has_its_own_registry(store: Store) -> None:
    async with serving(store, memory=TelegramLike()) as first:
        await first.bot.say("/subscribe s1", chat_id="1")
        await first.bot.say("/remind 0", chat_id="1")
        await first.bot.at(S1)
        assert sent(await scrape(first)) == 1
        async with serving(store, memory=TelegramLike()) as second:
            assert sent(await scrape(second)) == 0


async def test_the_last_look_at_the_schedule_file_is_shown(
    store: Store, schedule_file: Path
) -> None:
    schedule = load_schedule(schedule_file)
    async with serving(store, schedule=schedule, schedule_path=schedule_file) as site:
        await site.bot.worker.watcher.check()  # what the file watcher does every 2 s
        samples = await scrape(site)
        looked = site.bot.clock.now.timestamp()
        assert value(samples, "summit_schedule_last_poll_timestamp_seconds") == looked
        assert value(samples, "summit_schedule_version") == 1  # the start recorded it
