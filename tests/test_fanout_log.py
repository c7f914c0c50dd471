"""The log accounts for every recipient: what a fired reminder queued, the fan-out settles or
says is still waiting (for a retry, or for a platform this worker does not run)."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from bot.adapters.base import Transient
from tests.drills.world import seed_subscribers
from tests.support.harness import S1, Harness

DAY = dt.timedelta(days=1)  # the first reminder: one group fires


def lines(caplog: pytest.LogCaptureFixture, logger: str) -> list[str]:
    """What one logger said, in order."""
    return [r.getMessage() for r in caplog.records if r.name == logger]


async def test_rows_for_a_platform_not_running_here_are_named(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await bot.say("/subscribe s1")
    await seed_subscribers(bot.store, "telegram", 2, now=bot.clock.now)
    with caplog.at_level(logging.INFO, logger="bot"):
        sent = await bot.at(S1 - DAY)
    assert len(sent) == 1
    [fired] = [line for line in lines(caplog, "bot.scheduler") if "queued" in line]
    assert "3 recipients queued" in fired
    [finished] = lines(caplog, "bot.delivery.engine")
    assert finished.startswith("memory fan-out finished: sent 1, blocked 0, failed 0, expired 0")
    assert "0 still pending on memory" in finished
    assert "2 pending for platforms this worker does not run (telegram 2)" in finished


async def test_a_row_to_be_retried_is_counted_as_still_pending(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    for chat in ("100", "101", "102"):
        await bot.say("/subscribe s1", chat_id=chat)
    bot.memory.fail("101", Transient("timed out"))
    with caplog.at_level(logging.INFO, logger="bot"):
        sent = await bot.at(S1 - DAY)
    assert len(sent) == 2
    [finished] = lines(caplog, "bot.delivery.engine")
    assert "sent 2, blocked 0, failed 0, expired 0" in finished
    assert "1 still pending on memory" in finished
    assert "platforms this worker does not run" not in finished
