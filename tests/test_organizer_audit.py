"""The audit log: organizers' actions in full, who drafted and who confirmed a broadcast, and
refusals kept short and few however often a viewer tries."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from bot.config import Organizers, Settings
from bot.store import Store
from bot.store.audit import REFUSAL_DETAIL_CHARS, REFUSALS_PER_HOUR
from tests.support.harness import Harness, telegram_like

ALICE = "9000"  # an organizer
BOB = "9001"  # another organizer
VIEWER = "5"


@pytest.fixture
async def event(store: Store) -> AsyncIterator[Harness]:
    """The summit bot on a Telegram-like memory platform, with two organizers."""
    settings = replace(Settings(), organizers=Organizers(telegram_user_ids=(ALICE, BOB)))
    async with telegram_like(store, settings) as harness:
        yield harness


async def test_one_organizer_confirms_anothers_draft_and_the_audit_names_both(
    event: Harness,
) -> None:
    await event.say("/subscribe all", chat_id=VIEWER)
    assert "Broadcast #1" in await event.say("/broadcast The stream is up", chat_id=ALICE)
    assert "1 message." in await event.say("/broadcast confirm 1", chat_id=BOB)
    sent = await event.at(event.clock.now)
    assert [m.text for chat, m in sent if chat == VIEWER] == ["The stream is up"]
    confirm, draft = await event.store.audit.recent(2)
    assert (draft.actor, draft.detail["text"]) == (ALICE, "The stream is up")
    assert confirm.actor == BOB and confirm.allowed
    assert confirm.detail["broadcast"] == 1
    assert confirm.detail["drafted_by"] == f"telegram:{ALICE}:{ALICE}"
    assert confirm.detail["confirmed_by"] == f"telegram:{BOB}:{BOB}"


async def test_a_cancel_names_the_drafter_too(event: Harness) -> None:
    await event.say("/broadcast at=+30 Later", chat_id=ALICE)
    await event.say("/broadcast cancel 1", chat_id=BOB)
    (cancel, *_) = await event.store.audit.recent(1)
    assert cancel.detail["drafted_by"] == f"telegram:{ALICE}:{ALICE}"
    assert cancel.detail["cancelled_by"] == f"telegram:{BOB}:{BOB}"


async def test_an_organizers_action_is_audited_in_full(event: Harness) -> None:
    text = "Dear viewers, " + "the stream moves to the second channel. " * 7
    assert len(text.strip()) > REFUSAL_DETAIL_CHARS
    await event.say(f"/broadcast {text}", chat_id=ALICE)
    (entry,) = await event.store.audit.recent()
    assert entry.allowed and entry.detail["text"] == text.strip()


async def test_a_viewers_refusals_are_kept_short_and_few(
    event: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    attempt = "/broadcast " + "x" * 290
    caplog.set_level(logging.WARNING, logger="bot")
    for _ in range(REFUSALS_PER_HOUR + 20):
        assert "Only the event's organizers" in await event.say(attempt, chat_id=VIEWER)
        event.clock.now += dt.timedelta(seconds=10)
    entries = await event.store.audit.recent(1000)
    assert len(entries) == REFUSALS_PER_HOUR
    assert all(not e.allowed and len(e.detail["text"]) <= REFUSAL_DETAIL_CHARS for e in entries)
    # The attempts beyond the cap are counted on the last row kept, and said once in the log.
    assert entries[0].detail["more"] == 20
    assert sum("refusals" in r.getMessage() for r in caplog.records) == 1
    # An hour after the first row kept, the viewer's refusals are recorded again.
    event.clock.now = entries[-1].at + dt.timedelta(hours=1, seconds=1)
    await event.say("/stats", chat_id=VIEWER)
    latest = (await event.store.audit.recent(1))[0]
    assert (latest.action, latest.allowed, "more" in latest.detail) == ("stats", False, False)
    # Another viewer is not held back by the first one's flood.
    await event.say("/stats", chat_id="6")
    assert (await event.store.audit.recent(1))[0].actor == "6"
