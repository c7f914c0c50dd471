"""One chat floods the bot: everyone else is still answered at once, the flooder is told once
to slow down and then ignored, and no reply draws a 429 from a platform that enforces its
per-chat limit.

The flood goes through the real python-telegram-bot against the fake Bot API; the throttle
itself is tested alone with an injected clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from bot.app import Worker
from bot.commands.throttle import Throttle, Verdict
from bot.delivery.pacing import PlatformPacer
from bot.store import Store
from tests.fakes.telegram import FakeTelegram
from tests.support.harness import Clock, summit
from tests.support.telegram_world import TelegramWorld, plain

FLOODER = 5101  # a viewer who sends 200 commands at once
VIEWER = 5102  # someone else, asking for their subscriptions meanwhile
FLOOD = 200
BURST = 2  # the flooder's answers take BURST seconds at one message a chat a second
T0 = dt.datetime(2020, 8, 11, 9, 0, tzinfo=dt.UTC)


class FloodWorld(TelegramWorld):
    """The Telegram world with a throttle of BURST commands at once, then one a second."""

    def __init__(self, tg: FakeTelegram, store: Store) -> None:
        super().__init__(tg, store)
        limits = replace(self.settings.limits, command_burst=BURST, commands_per_minute=60)
        self.settings = replace(self.settings, limits=limits)
        self.worker = Worker(self.settings, summit(), store, [self.adapter], self.clock)
        # The pacer on the real clock, as the fake's flood control is: moving the test's
        # clock refills the throttle, and must not make the pacer think a second went by.
        self.worker.delivery.pacers["telegram"] = PlatformPacer(self.adapter.limits)


@pytest.fixture
async def world(store: Store, fake_telegram: FakeTelegram) -> AsyncIterator[FloodWorld]:
    """The worker on the fake Bot API, which holds it to 30 a second and 1 a chat a second."""
    fake_telegram.rate_limit(30, per_chat_per_second=1)
    world = FloodWorld(fake_telegram, store)
    await world.start()
    yield world
    await world.worker.stop()


async def test_a_flood_from_one_chat_leaves_another_viewer_answered_at_once(
    world: FloodWorld,
) -> None:
    tg = world.tg
    for _ in range(FLOOD):
        tg.push_message(FLOODER, "/mysubs")
    tg.push_message(VIEWER, "/mysubs")
    # Within 2 s although 200 of the flooder's updates came first (the old code: never).
    answer = plain(await tg.pop_message(VIEWER, timeout=2.0))
    assert "subscri" in answer.lower()

    # The flooder's first BURST commands are answered, then one "slow down", then nothing.
    # A button pressed last is answered only after every earlier update of the chat was
    # handled (a chat's updates go in order): that is when the count is final.
    first = await tg.pop_message(FLOODER, timeout=5.0)
    assert "subscri" in plain(first).lower()
    answered = len(tg.requests("answerCallbackQuery"))
    tg.push_callback_query(FLOODER, FLOODER, "mysubs")
    await tg.wait_for("answerCallbackQuery", count=answered + 1, timeout=10.0)
    texts = [plain(t) for t in tg.messages_to(FLOODER)]
    assert len(texts) == BURST + 1, texts
    assert texts[-1].startswith("You are sending commands too fast.")
    assert [r for r in tg.requests() if r.status == 429] == []

    # Quiet for longer than the bucket takes to fill: heard again.
    world.clock.now += dt.timedelta(seconds=BURST + 1)
    tg.push_message(FLOODER, "/help")
    sent = await tg.wait_for("sendMessage", chat_id=FLOODER, count=len(texts) + 1)
    assert "/schedule" in plain(sent[-1].text or "")
    assert [r for r in tg.requests() if r.status == 429] == []


# --- the throttle alone, on an injected clock ------------------------------------------------


def test_throttle_passes_a_burst_warns_once_then_ignores_until_refilled() -> None:
    clock = Clock(T0)
    throttle = Throttle(burst=3, per_minute=60, clock=clock)
    verdicts = [throttle.check("telegram", "1") for _ in range(6)]
    assert verdicts == [Verdict.PASS] * 3 + [Verdict.WARN] + [Verdict.IGNORE] * 2
    # Someone else is not held up by the flooder, nor the same id on another platform.
    assert throttle.check("telegram", "2") is Verdict.PASS
    assert throttle.check("discord", "1") is Verdict.PASS
    # Still flooding (one a second, the refill rate): still ignored, no second warning.
    for _ in range(5):
        clock.now += dt.timedelta(seconds=1)
        assert throttle.check("telegram", "1") is Verdict.IGNORE
    # Quiet until the bucket is full again: heard again, for a whole burst.
    clock.now += dt.timedelta(seconds=3)
    assert [throttle.check("telegram", "1") for _ in range(4)] == [Verdict.PASS] * 3 + [
        Verdict.WARN
    ]


def test_throttle_charges_a_command_when_it_arrived_not_when_its_turn_came() -> None:
    clock = Clock(T0)
    throttle = Throttle(burst=2, per_minute=60, clock=clock)
    # Five commands arrived at once; each waited a second behind the one before (its reply
    # was paced): seen at its turn they would look like one a second, i.e. no flood.
    verdicts = []
    for queued in range(5):
        verdicts.append(throttle.check("telegram", "1", queued=float(queued)))
        clock.now += dt.timedelta(seconds=1)
    assert verdicts == [Verdict.PASS] * 2 + [Verdict.WARN] + [Verdict.IGNORE] * 2


def test_throttle_off_and_memory_kept_flat() -> None:
    clock = Clock(T0)
    off = Throttle(burst=0, per_minute=60, clock=clock)
    assert all(off.check("telegram", "1") is Verdict.PASS for _ in range(100))
    throttle = Throttle(burst=2, per_minute=60, clock=clock)
    for user in range(5000):
        throttle.check("telegram", str(user))
    clock.now += dt.timedelta(seconds=5)
    throttle.check("telegram", "new")
    throttle.forget_idle()
    assert throttle.tracked == 1
