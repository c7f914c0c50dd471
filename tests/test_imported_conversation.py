"""A bot running an imported schedule, as viewers meet it: speakers by name, breaks in the
agenda but never reminded of."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.changes import LINK, MOVED
from bot.config import Settings
from bot.schedule import load_source
from bot.store import Store
from tests.support.harness import Harness

DATA = Path(__file__).resolve().parent / "data" / "schedules"
UTC = dt.UTC
# Two days before the Herbstcamp opens (Saturday 24 October 2026, 10:00 in Berlin).
BEFORE = dt.datetime(2026, 10, 22, 8, 0, tzinfo=UTC)


async def ask(bot: Harness, text: str) -> str:
    """A viewer sends `text` a minute after the last command (the input throttle stays calm)."""
    bot.clock.now += dt.timedelta(minutes=1)
    return await bot.say(text)


@pytest.fixture
async def camp(store: Store) -> AsyncIterator[Harness]:
    """The bot with the pretalx export of the Herbstcamp, two days before it."""
    harness = Harness(store, load_source(DATA / "pretalx.json"), Settings(), BEFORE)
    await harness.start()
    yield harness
    await harness.worker.stop()


async def test_an_imported_speaker_reads_by_name_alone(camp: Harness) -> None:
    card = await ask(camp, "/session opn7qx")
    assert "Ada Example" in card and "Jörg Mustermann" in card
    assert ", ," not in card and "Ada Example," not in card


async def test_a_break_is_not_offered_for_reminders(camp: Harness) -> None:
    answer = await ask(camp, "/subscribe lnc2mm")
    assert "“Lunch” is a break in the programme" in answer
    picker = await camp.reply("/subscribe")
    offered = [b.action for row in picker.messages[-1].buttons for b in row]
    assert "subscribe opn7qx" in offered and "subscribe lnc2mm" not in offered


async def test_a_breaks_card_offers_no_subscription_and_no_stream(camp: Harness) -> None:
    card = await camp.reply("/session lnc2mm")
    assert card.messages[-1].buttons == ()
    assert "Livestream link to be announced" not in card.messages[-1].plain()
    talk = await camp.reply("/session opn7qx")
    assert talk.messages[-1].buttons != ()
    agenda = await ask(camp, "/schedule")
    lunch = agenda[agenda.index("Lunch [lnc2mm]") :].splitlines()
    assert "link to be announced" not in "\n".join(lunch[:4]), lunch[:4]


async def test_subscribing_to_everything_reminds_of_talks_and_never_of_a_break(
    camp: Harness,
) -> None:
    await ask(camp, "/subscribe all")
    texts: list[str] = []
    # Step through Saturday morning: the opening at 08:00 UTC, the lunch at 10:30.
    moment = dt.datetime(2026, 10, 24, 6, 0, tzinfo=UTC)
    while moment <= dt.datetime(2026, 10, 24, 11, 0, tzinfo=UTC):
        texts += [m.plain() for _, m in await camp.at(moment)]
        moment += dt.timedelta(minutes=5)
    assert any("Opening" in text for text in texts), texts
    assert not any("Lunch" in text for text in texts), texts


async def test_a_reimported_schedule_announces_a_moved_talk_and_a_new_room_stream(
    store: Store, tmp_path: Path
) -> None:
    source = tmp_path / "schedule.json"
    source.write_bytes((DATA / "pretalx.json").read_bytes())
    overlay = tmp_path / "schedule.overlay.yaml"  # found beside the schedule, by its name
    overlay.write_text("streams:\n  Saal 1: https://stream.example/saal1\n", encoding="utf-8")
    harness = Harness(store, load_source(source), Settings(), BEFORE, schedule_path=source)
    await harness.start()
    try:
        await ask(harness, "/subscribe sun4aa")
        text = source.read_text(encoding="utf-8")
        source.write_text(
            text.replace('"2026-10-25T10:00:00+01:00"', '"2026-10-25T11:00:00+01:00"'),
            encoding="utf-8",
        )
        moved = await harness.worker.reload(actor="test")
        assert [(c.kind, c.session_id) for c in moved.changes] == [(MOVED, "sun4aa")]
        notice = [m.plain() for _, m in await harness.at(harness.clock.now)]
        assert any("Sunday keynote, on winter time" in n and "11:00" in n for n in notice)

        overlay.write_text("streams:\n  Saal 1: https://stream.example/new\n", encoding="utf-8")
        relinked = await harness.worker.reload(actor="test")
        assert {(c.kind, c.session_id) for c in relinked.changes} == {
            (LINK, "opn7qx"),
            (LINK, "ngt8kl"),
            (LINK, "sun4aa"),
        }
        after = harness.worker.schedule.session("sun4aa")
        assert after is not None and after.stream("en") == "https://stream.example/new"

        # The next start reads the same files: what was recorded is what is in force.
        again = await harness.restart()
        try:
            assert await again.worker.reloader.catch_up() is None
        finally:
            await again.worker.stop()
    finally:
        await harness.worker.stop()
