"""The 1,000-talk conference on Telegram (the fake Bot API): a day of the programme within
Telegram's 4,096 characters a message, day buttons, /now, /find, a track subscription and
its same-minute reminders as one message."""

from __future__ import annotations

from tests.fakes.telegram import parse_html
from tests.support.conference import at as conf_at
from tests.support.conference import conference
from tests.support.telegram_world import PRAGUE, WorldFactory, keyboard


async def test_a_day_of_the_conference_in_messages_telegram_takes_with_day_buttons(
    make_world: WorldFactory,
) -> None:
    world = await make_world(schedule=conference(), now=conf_at(2, 10, 10))
    first = await world.say(PRAGUE, "/schedule")
    assert "Tuesday 2 June · 280 sessions" in first
    parts = [first]
    while "Search: /find WORDS" not in parts[-1]:
        parts.append(await world.next(PRAGUE))
    assert len(parts) > 1  # 280 talks do not fit one message: split, never cut
    assert sum(part.count("[t0") for part in parts) == 280
    sends = world.tg.requests("sendMessage", chat_id=PRAGUE)[-len(parts) :]
    assert all(len(parse_html(r.params["text"])[0]) <= 4096 for r in sends)
    # The day buttons ride on the last part only.
    assert [keyboard(r) for r in sends[:-1]] == [[]] * (len(parts) - 1)
    data = [b["callback_data"] for row in keyboard(sends[-1]) for b in row]
    assert data == ["schedule 2026-06-01", "schedule 2026-06-03"]
    wednesday = await world.press(PRAGUE, "schedule 2026-06-03")
    assert "Wednesday 3 June · 280 sessions" in wednesday


async def test_now_find_and_a_track_on_telegram(make_world: WorldFactory) -> None:
    world = await make_world(schedule=conference(), now=conf_at(2, 10, 10))
    now = await world.say(PRAGUE, "/now")
    assert "On now · 10:10" in now and "https://stream.example.org/room-1" in now
    while "The day's programme: /schedule" not in now:  # 40 rooms: a few messages
        now = await world.next(PRAGUE)
    assert "https://stream.example.org/room-40" in now
    found = await world.say(PRAGUE, "/find zdenek hrib room 40")
    assert "Zdeněk Hřib" in found and "Room 40" in found
    await world.say(PRAGUE, "/remind 10m")
    done = await world.say(PRAGUE, "/subscribe track:SECURITY")
    assert "Subscribed to the track “Security”" in done
    sent = await world.at(conf_at(2, 10, 50))
    assert len(sent) == 1
    text = parse_html(sent[0].params["text"])[0]
    assert "4 sessions coming up" in text and text.count("starts in 10 minutes") == 4
    assert await world.at(conf_at(2, 10, 51)) == []
