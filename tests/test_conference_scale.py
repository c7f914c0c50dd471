"""A conference of 1,000 talks in 40 rooms over 4 days, as a viewer meets it: /schedule by day,
room or track, /now, /find, track subscriptions and a chat's same-minute reminders as one
message (on the in-memory platform; Telegram and Discord have their own files)."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot.adapters.base import Transient
from bot.adapters.console import ConsoleAdapter
from bot.app import Worker
from bot.config import Organizers, Settings
from bot.messages import Reply
from bot.store import Store
from tests.support.conference import at as conf_at
from tests.support.conference import conference, conference_yaml
from tests.support.harness import Clock, Harness, TelegramLike
from tests.support.schedule_files import running

MIN = dt.timedelta(minutes=1)


@pytest.fixture
async def conf(store: Store) -> AsyncIterator[Harness]:
    """The conference's second day, 10:10 in Prague: talks on in every room."""
    settings = replace(Settings(), delivery=replace(Settings().delivery, backoff_seconds=(1,)))
    harness = Harness(store, conference(), settings, conf_at(2, 10, 10))
    await harness.start()
    yield harness
    await harness.worker.stop()


def actions(reply: Reply) -> list[str]:
    """Every button's action in a reply."""
    return [b.action for m in reply.messages for row in m.buttons for b in row]


async def test_schedule_shows_todays_programme_with_buttons_to_the_days_around(
    conf: Harness,
) -> None:
    await conf.say("/timezone Prague")
    reply = await conf.reply("/schedule")
    text = reply.messages[0].plain()
    assert "Tuesday 2 June · 280 sessions" in text
    assert "Monday 1 June" not in text and "Wednesday" not in text.split("Details")[0]
    assert "09:00\n• Privacy by default #281 · Room 1 · Community [t0281]\n" in text
    assert actions(reply) == ["schedule 2026-06-01", "schedule 2026-06-03"]
    assert [b.label for row in reply.messages[0].buttons for b in row] == [
        "◀ Mon 1 Jun",
        "Wed 3 Jun ▶",
    ]
    # Pressing "next" runs its action as a command.
    wednesday = await conf.say("/schedule 2026-06-03")
    assert "Wednesday 3 June · 280 sessions" in wednesday
    last = await conf.reply("/schedule 2026-06-04")
    assert "Thursday 4 June · 160 sessions" in last.messages[0].plain()
    assert actions(last) == ["schedule 2026-06-03"]  # no day after the last


async def test_schedule_takes_today_tomorrow_a_room_or_a_track(conf: Harness) -> None:
    assert "Tuesday 2 June" in await conf.say("/schedule today")
    assert "Wednesday 3 June" in await conf.say("/schedule tomorrow")
    room = await conf.reply("/schedule room:room 7")  # any case
    text = room.messages[0].plain()
    assert "Tuesday 2 June · room Room 7 · 7 sessions" in text
    assert "Room 8" not in text
    assert actions(room) == ["schedule 2026-06-01 room:Room 7", "schedule 2026-06-03 room:Room 7"]
    track = await conf.say("/schedule tomorrow track:data science")
    assert "Wednesday 3 June · track Data Science" in track
    assert "Security" not in track.split("Details")[0]
    typo = await conf.reply("/schedule track:Securty")
    assert "There is no track “Securty”. Did you mean: Security" in typo.messages[0].plain()
    assert "schedule track:Security" in actions(typo)
    bad = await conf.say("/schedule someday")
    assert "I can't read “someday” as a day, a room or a track" in bad


async def test_a_day_is_the_viewers_own_day(conf: Harness) -> None:
    # Honolulu is 12 hours behind Prague in June: the first morning is Sunday evening there.
    await conf.say("/timezone Honolulu")
    sunday = await conf.say("/schedule 2026-05-31")
    assert "Sunday 31 May · 120 sessions" in sunday
    assert "21:00" in sunday and "Times for Honolulu" in sunday


async def test_a_small_event_keeps_its_whole_agenda(bot: Harness) -> None:
    text = await bot.say("/schedule")
    assert "Mayors' Summit, session 1" in text and "Mayors' Summit, session 2" in text


async def test_now_shows_each_room_now_and_next_with_its_stream(conf: Harness) -> None:
    await conf.say("/timezone Prague")
    text = await conf.say("/now")
    assert "📺 On now · 10:10 Prague" in text
    assert "Room 1\n  🔴 Zero-trust networks #321 [t0321] until 10:45" in text
    assert "  ⏭ 11:00 Privacy by default #361 [t0361]" in text
    assert "  Livestream: https://stream.example.org/room-1" in text
    assert text.count("🔴") == 40 and "Room 40" in text
    conf.clock.now = conf_at(2, 10, 50)  # between talks: only what is next
    between = await conf.say("/now")
    assert "🔴" not in between and between.count("⏭") == 40
    conf.clock.now = conf_at(5, 9)  # after the last day
    assert "Nothing is on now" in await conf.say("/now")


async def test_find_ignores_accents_and_case_and_counts_what_it_does_not_list(
    conf: Harness,
) -> None:
    found = await conf.say("/find CAFE")
    assert "🔎 63 sessions for “CAFE”" in found
    assert "Café-scale analytics #2" in found
    assert "… and 53 more: add a word to narrow the search" in found
    speaker = await conf.say("/find zdenek room 40")
    assert "Zdeněk Hřib" in speaker and "Room 40" in speaker
    assert "Room 4 " not in speaker
    none = await conf.say("/find quantum")
    assert "Nothing found for “quantum”" in none and "e.g. /find Cloud" in none
    assert "What are you looking for?" in await conf.say("/find")


async def test_a_track_subscription_reminds_of_its_talks_in_one_message_a_minute(
    conf: Harness,
) -> None:
    await conf.say("/timezone Prague")
    await conf.say("/remind 10m")
    done = await conf.reply("/subscribe track:security")
    assert "🔔 Subscribed to the track “Security”" in done.messages[0].plain()
    assert "including any added" not in done.messages[0].plain()  # worded once, below
    assert "and any added to it later" in done.messages[0].plain()
    assert actions(done) == ["unsubscribe track:Security"]
    assert "the track “Security”, including sessions added later" in await conf.say("/mysubs")
    assert "already subscribed to the track “Security”" in await conf.say(
        "/subscribe Track: SECURITY"
    )
    # 11:00 on day 2: Security runs in rooms 1, 13, 25 and 37 (one talk each).
    sent = await conf.at(conf_at(2, 10, 50))
    assert len(sent) == 1
    message = sent[0][1]
    assert message.title == "⏰ 4 sessions coming up"
    for room in ("Room 1", "Room 13", "Room 25", "Room 37"):
        assert f"\n  {room}\n" in message.text + "\n"
    assert message.text.count("https://stream.example.org/room-") == 4
    # Nothing goes twice: the next due check, a restart.
    assert await conf.at(conf_at(2, 10, 51)) == []
    again = await conf.restart()
    assert await again.at(conf_at(2, 10, 52)) == []
    await again.worker.stop()
    # A talk of the track is covered by it, and is stopped through it.
    covered = await conf.say("/subscribe t0361")
    assert "You follow the track “Security”, so “Privacy by default #361” is included." in covered
    via = await conf.say("/unsubscribe t0361")
    assert "You get “Privacy by default #361” through the track “Security”." in via
    assert "🔕 Unsubscribe" in (await conf.reply("/session t0361")).messages[0].buttons[0][0].label
    undone = await conf.say("/unsubscribe track:Security")
    assert "🔕 Unsubscribed from the track “Security”." in undone
    assert await conf.at(conf_at(2, 11, 50)) == []
    # Who follows everything is told so, the track named once, in its own quotes.
    await conf.say("/subscribe all")
    everything = await conf.say("/subscribe track:Security")
    assert "so every talk of the track “Security” is included." in everything


async def test_same_minute_talks_subscribed_one_by_one_arrive_as_one_message(
    conf: Harness,
) -> None:
    await conf.say("/remind 10m 0")
    for talk in ("t0401", "t0402", "t0403", "t0404", "t0405", "t0406"):  # 12:00, rooms 1–6
        await conf.say(f"/subscribe {talk}")
    await conf.say("/subscribe t0450")  # 13:00: a minute of its own
    sent = await conf.at(conf_at(2, 11, 50))
    assert len(sent) == 1
    title, text = sent[0][1].title, sent[0][1].text
    assert title == "⏰ 6 sessions coming up"
    assert text.count("starts in 10 minutes") == 6 and "Room 6" in text
    live = await conf.at(conf_at(2, 12))  # "live now" is a reminder too: one message again
    assert [m.title for _, m in live] == ["🔴 6 sessions are live now"]
    assert live[0][1].text.count("is live now") == 6
    single = await conf.at(conf_at(2, 12, 50))
    assert len(single) == 1 and "starts in 10 minutes" in (single[0][1].title or "")
    assert await conf.at(conf_at(2, 12, 51)) == []


async def test_talks_added_to_a_track_later_are_included(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "schedule.yaml"
    path.write_text(conference_yaml(), encoding="utf-8")
    async with running(store, path) as live:
        live.clock.now = conf_at(1, 8)
        await live.say("/remind 10m")
        await live.say("/subscribe track:Privacy")
        extra = (
            "  - id: late1\n    kind: talk\n    title: {en: A late privacy talk}\n"
            '    date: 2026-06-04\n    start: "17:00"\n    end: "17:45"\n'
            "    room: Room 3\n    track: Privacy\n    streams: tba\n"
        )
        moved = path.read_text(encoding="utf-8").replace(
            # t0002, Room 2 at 09:00 on day 1, joins Privacy from Science.
            "    room: Room 2\n    track: Science\n",
            "    room: Room 2\n    track: Privacy\n",
            1,
        )
        path.write_text(moved + extra, encoding="utf-8")
        result = await live.worker.reload(actor="test")
        assert {c.session_id for c in result.changes} >= {"late1"}
        first = await live.at(conf_at(1, 8, 50))
        assert len(first) == 1 and "Café-scale analytics #2 starts" in first[0][1].text
        sent = await live.at(conf_at(4, 16, 50))
        assert [m.title for _, m in sent] == ["⏰ A late privacy talk starts in 10 minutes"]


async def test_a_moved_talk_tells_its_tracks_subscribers(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "schedule.yaml"
    path.write_text(conference_yaml(), encoding="utf-8")
    async with running(store, path) as live:
        live.clock.now = conf_at(1, 8)
        for chat, what in (("100", "track:Security"), ("200", "room:Room 1"), ("300", "t0005")):
            await live.say("/remind off", chat_id=chat)
            await live.say(f"/subscribe {what}", chat_id=chat)
        # t0003: 09:00 on day 1 in Room 3, track Security.
        text = path.read_text(encoding="utf-8")
        block = text.index("  - id: t0003\n")
        end = text.index("  - id: t0004\n")
        path.write_text(
            text[:block]
            + text[block:end].replace('"09:00"', '"10:00"').replace('"09:45"', '"10:45"')
            + text[end:],
            encoding="utf-8",
        )
        result = await live.worker.reload(actor="test")
        assert [c.session_id for c in result.changes] == ["t0003"]
        sent = await live.at(live.clock.now)
        assert {chat for chat, _ in sent} == {"100"}
        assert "has moved" in (sent[0][1].title or "")


async def test_the_console_pages_days_and_takes_a_track(store: Store) -> None:
    out = io.StringIO()
    console = ConsoleAdapter(stdin=io.StringIO(), stdout=out, listen_at_start=False)
    worker = Worker(Settings(), conference(), store, [console], Clock(conf_at(2, 10, 10)))
    await worker.start(background=False)
    try:
        await console.type("/schedule")
        await console.type("/now")
        await console.type("/find hrib room 40")
        await console.type("/subscribe track:Scince")
        await console.type("/subscribe track:Science")
        await console.type("/mysubs")
    finally:
        await worker.stop()
    printed = out.getvalue()
    assert "Tuesday 2 June · 280 sessions" in printed
    # The day buttons, as commands to type.
    assert "[◀ Mon 1 Jun: /schedule 2026-06-01]   [Wed 3 Jun ▶: /schedule 2026-06-03]" in printed
    assert "Room 40\n  🔴" in printed
    assert "Zdeněk Hřib" in printed
    assert "There is no track “Scince”. Did you mean: Science" in printed
    assert "[Science: /subscribe track:Science]" in printed
    assert "the track “Science”, including sessions added later" in printed


async def test_a_digest_spans_batches_and_a_failed_send_retries_every_talk_once(
    store: Store,
) -> None:
    # Batches of 2 rows: a chat's 6 reminders of one minute still go as one message; a send
    # that fails puts all 6 back, and the retry sends them once, together.
    base = Settings()
    settings = replace(base, delivery=replace(base.delivery, batch=2, backoff_seconds=(1,)))
    harness = Harness(store, conference(), settings, conf_at(2, 10, 10))
    await harness.start()
    try:
        await harness.say("/remind 10m", chat_id="100")
        await harness.say("/remind 10m", chat_id="200")
        for talk in ("t0401", "t0402", "t0403", "t0404", "t0405", "t0406"):
            await harness.say(f"/subscribe {talk}", chat_id="100")
            await harness.say(f"/subscribe {talk}", chat_id="200")
        harness.memory.fail("100", Transient("timed out"))
        due = conf_at(2, 11, 50)
        sent = await harness.at(due)
        assert [(chat, m.title) for chat, m in sent] == [("200", "⏰ 6 sessions coming up")]
        retried = await harness.at(due + 2 * dt.timedelta(seconds=1))
        assert [(chat, m.title) for chat, m in retried] == [("100", "⏰ 6 sessions coming up")]
        assert await harness.at(due + MIN) == []
        counts = await store.ledger.delivery_counts(kind="reminder")
        assert counts == {"sent": 12}
    finally:
        await harness.worker.stop()


async def test_the_conference_views_speak_the_viewers_language(conf: Harness) -> None:
    await conf.say("/language zh-TW")
    day = await conf.reply("/schedule")
    assert "共 280 個場次" in day.messages[0].plain()
    assert "🔴" in await conf.say("/now") and "直播連結" in await conf.say("/now")
    assert "「cafe」共 63 個場次" in await conf.say("/find cafe")
    assert "找不到「quantum」" in await conf.say("/find quantum")
    assert "已訂閱主題「Security」" in await conf.say("/subscribe track:security")


async def test_a_broadcast_to_a_talk_reaches_its_tracks_followers(store: Store) -> None:
    settings = replace(Settings(), organizers=Organizers(telegram_user_ids=("9000",)))
    harness = Harness(store, conference(), settings, conf_at(1, 8), memory=TelegramLike())
    await harness.start()
    try:
        await harness.say("/subscribe track:Security", chat_id="100")  # t0003 is Security
        await harness.say("/subscribe room:Room 3", chat_id="200")  # and in Room 3
        await harness.say("/subscribe t0004", chat_id="300")
        preview = await harness.say("/broadcast to=t0003 Room 3 moves upstairs", chat_id="9000")
        assert "(2: telegram 2)" in preview
        assert "2 messages" in await harness.say("/broadcast confirm 1", chat_id="9000")
        sent = await harness.at(harness.clock.now)
        got = {chat for chat, m in sent if m.text == "Room 3 moves upstairs"}
        assert got == {"100", "200"}
    finally:
        await harness.worker.stop()
