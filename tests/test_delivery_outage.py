"""The delivery loop through a long database outage: it keeps trying, and says so briefly.

The first failure is logged with its traceback; the ones that follow are one line each, with
growing waits, so hours of outage do not bury the log; when the database answers again, one
line says so and the rows go out.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.adapters.memory import MemoryAdapter
from bot.config import Settings
from bot.store import Store
from tests.drills.db_fault import refusing_writes
from tests.support.harness import S1, Harness, summit

ENGINE_LOG = "bot.delivery.engine"


async def test_an_outage_is_one_traceback_then_one_line_per_try(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    # Nothing is in flight when the fault begins: a send whose outcome cannot be written is
    # retried by the recorder (another path), and this test is about the claiming loop.
    harness = Harness(store, summit(), Settings(), S1, memory=MemoryAdapter())
    await harness.start()
    delivery = harness.worker.delivery
    delivery.failure_waits = (0.01, 0.02, 0.05)  # the test's own pace, not the minutes
    caplog.set_level(logging.INFO, logger=ENGINE_LOG)
    await delivery.start()  # the drain loops, as the worker runs them
    try:
        async with refusing_writes(store):
            delivery.wake()  # claiming rows is a write: refused, again and again

            def tries() -> list[logging.LogRecord]:
                return [
                    r
                    for r in caplog.records
                    if r.name == ENGINE_LOG and str(r.msg).startswith("delivery on")
                ]

            for _ in range(500):
                if len(tries()) >= 6:
                    break
                await asyncio.sleep(0.01)
            failing = tries()
            assert len(failing) >= 6, [r.getMessage() for r in failing]
            with_trace = [r for r in failing if r.exc_info]
            assert len(with_trace) == 1 and with_trace[0] is failing[0]
            assert all("still failing" in r.getMessage() for r in failing[1:])
            assert "0.05 s" in failing[-1].getMessage()  # the last wait repeats
        delivery.wake()
        for _ in range(500):
            if any("works again" in r.getMessage() for r in caplog.records):
                break
            await asyncio.sleep(0.01)
        assert any("works again" in r.getMessage() for r in caplog.records)
    finally:
        await harness.worker.stop()
