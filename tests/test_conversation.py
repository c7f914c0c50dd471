"""A viewer's conversation with the bot, and the reminders that follow, on the memory platform."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pytest

from bot.adapters.base import Blocked, RetryAfter, Transient
from bot.config import AnnouncementChannels, Settings
from bot.messages import Command
from bot.store import Store
from tests.support.harness import S1, S2, Harness, TelegramLike, summit

MIN = dt.timedelta(minutes=1)


async def test_start_speaks_the_platforms_language_and_offers_to_subscribe(bot: Harness) -> None:
    reply = await bot.reply("/start", locale="zh-hant")
    text = reply.messages[0].plain()
    assert "歡迎收看" in text and "/subscribe all" in text
    actions = {b.action for row in reply.messages[0].buttons for b in row}
    assert {"subscribe all", "language en", "language zh-TW"} <= actions


async def test_start_deep_link_subscribes(bot: Harness) -> None:
    text = await bot.say("/start sub-s2")
    assert "Subscribed to “Mayors' Summit, session 2" in text
    assert "Mayors' Summit, session 2" in await bot.say("/mysubs")


async def test_medellin_viewer_gets_monday_evening_reminders(bot: Harness) -> None:
    answer = await bot.say("/timezone Medellín")
    assert "Medellín, Colombia (America/Bogota)" in answer
    assert "Subscribed" in await bot.say("/subscribe s2")
    sent = await bot.at(S2 - dt.timedelta(hours=1))
    assert len(sent) == 1
    chat, message = sent[0]
    assert chat == "100"
    assert (
        message.title
        == "⏰ Mayors' Summit, session 2: the Americas and Asia-Pacific starts in 1 hour"
    )
    assert "Mon 17 Aug, 18:00–19:30 (Medellín, -1 day) = Tue 18 Aug, 07:00 Taipei" in message.text
    assert "Livestream link to be announced" in message.text
    live = await bot.at(S2)
    assert len(live) == 1 and "is live now" in (live[0][1].title or "")


async def test_chinese_viewer_gets_the_chinese_link_at_the_start(bot: Harness) -> None:
    await bot.say("/language zh-TW")
    await bot.say("/subscribe s1")
    sent = await bot.at(S1)
    assert len(sent) == 1
    message = sent[0][1]
    assert "正在直播" in (message.title or "")
    assert "https://youtu.be/5B_aKaTUu3k" in message.text
    assert [link.url for link in message.links] == ["https://youtu.be/5B_aKaTUu3k"]


async def test_every_default_reminder_arrives_once_at_its_time(bot: Harness) -> None:
    await bot.say("/subscribe s1")
    titles = []
    for offset in (dt.timedelta(days=1), dt.timedelta(hours=1), 10 * MIN, dt.timedelta(0)):
        sent = await bot.at(S1 - offset)
        assert len(sent) == 1, offset
        titles.append(sent[0][1].title or "")
        assert await bot.at(S1 - offset) == []  # running the same instant again sends nothing
    assert titles[0].endswith("starts in 1 day") and titles[2].endswith("in 10 minutes")
    assert "live now" in titles[3]


async def test_a_restart_never_resends(bot: Harness) -> None:
    await bot.say("/subscribe all")
    assert len(await bot.at(S1 - 10 * MIN)) == 1
    again = await bot.restart()
    assert await again.at(S1 - 9 * MIN) == []


async def test_reminder_missed_while_down_is_sent_late_and_truthfully(bot: Harness) -> None:
    await bot.say("/subscribe s1")
    await bot.worker.stop()
    bot.clock.now = S1 + 5 * MIN  # the worker was down through every reminder
    again = await bot.restart()
    sent = await again.at(S1 + 5 * MIN)
    assert len(sent) == 1, [m.title for _, m in sent]
    message = sent[0][1]
    assert (
        message.title == "🔴 Mayors' Summit, session 1: Europe and Eurasia started 5 minutes ago"
    )
    assert "Watch live: https://youtu.be/b0fWeY_5sLk" in message.text


async def test_nothing_is_sent_for_a_session_that_ended_while_down(bot: Harness) -> None:
    await bot.say("/subscribe s1")
    await bot.worker.stop()
    bot.clock.now = S1 + dt.timedelta(hours=2)
    again = await bot.restart()
    assert await again.at(S1 + dt.timedelta(hours=2)) == []


async def test_quiet_hours_move_night_reminders_before_bedtime(bot: Harness) -> None:
    # Session 2 is at 01:00 in Prague: every reminder from 23:00 on moves to 22:59.
    await bot.say("/timezone Prague")
    assert "23:00–07:00" in await bot.say("/quiet 23:00-07:00")
    await bot.say("/remind 1h 10m 0")
    await bot.say("/subscribe s2")
    assert await bot.at(S2 - dt.timedelta(hours=2, minutes=2)) == []
    sent = await bot.at(S2 - dt.timedelta(hours=2, minutes=1))  # 22:59 in Prague
    assert len(sent) == 1 and "starts in 2 hours" in (sent[0][1].title or "")
    assert await bot.at(S2) == []


async def test_a_blocked_viewer_is_not_sent_to_again(bot: Harness) -> None:
    await bot.say("/subscribe all")
    await bot.say("/subscribe all", chat_id="200")
    bot.memory.fail("100", Blocked("bot was blocked by the user"))
    sent = await bot.at(S1 - dt.timedelta(days=1))
    assert [chat for chat, _ in sent] == ["200"]
    later = await bot.at(S1 - dt.timedelta(hours=1))
    assert [chat for chat, _ in later] == ["200"]
    counts = await bot.store.ledger.delivery_counts(kind="reminder")
    # The blocked chat gets no row for the second reminder at all.
    assert counts.get("blocked") == 1 and counts.get("sent") == 2


async def test_rate_limits_and_transient_errors_are_retried(bot: Harness) -> None:
    await bot.say("/subscribe s1")
    bot.memory.fail("100", RetryAfter(0.01), Transient("timed out"))
    when = S1 - dt.timedelta(hours=1)
    assert await bot.at(when) == []
    assert await bot.at(when + dt.timedelta(seconds=1)) == []
    sent = await bot.at(when + dt.timedelta(seconds=3))
    assert len(sent) == 1


async def test_a_claim_whose_answer_was_lost_is_sent_without_a_restart(
    bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await bot.say("/subscribe s1")
    claim = bot.store.ledger.claim

    async def committed_then_lost(*args: Any, **kwargs: Any) -> Any:
        await claim(*args, **kwargs)  # the rows are "sending" in the database...
        raise ConnectionResetError("connection lost")  # ...but the engine never hears of them

    monkeypatch.setattr(bot.store.ledger, "claim", committed_then_lost)
    when = S1 - dt.timedelta(hours=1)
    with pytest.raises(ConnectionResetError):
        await bot.at(when)
    monkeypatch.setattr(bot.store.ledger, "claim", claim)
    sent = await bot.at(when + dt.timedelta(seconds=1))  # the engine's next look
    assert [chat for chat, _ in sent] == ["100"]
    counts = await bot.store.ledger.delivery_counts(kind="reminder")
    assert counts["sent"] == 1 and "sending" not in counts  # (the day-before one expired)


async def test_a_chosen_place_is_named_in_the_language_chosen_after_it(bot: Harness) -> None:
    await bot.say("/timezone Prague")
    await bot.say("/language zh-TW")
    assert "（布拉格時間）" in await bot.say("/quiet 23:00-07:00")
    answer = await bot.say("/mysubs")
    assert "時區：布拉格，捷克（Europe/Prague）" in answer and "Czechia" not in answer
    await bot.say("/language en")
    assert "(Prague time)" in await bot.say("/quiet")
    assert "Time zone: Prague, Czechia (Europe/Prague)" in await bot.say("/mysubs")


async def test_bad_input_gets_a_localized_explanation_with_an_example(bot: Harness) -> None:
    assert "e.g. /remind 1d 1h 10m 0" in await bot.say("/remind soon")
    assert "HH:MM-HH:MM, e.g. /quiet 23:00-07:00" in await bot.say("/quiet late")
    assert "/subscribe s1" in await bot.say("/subscribe s9")
    assert "Send /help" in await bot.say("/frobnicate")
    assert "too long" in await bot.say("/timezone " + "x" * 400)
    await bot.say("/language zh-TW")
    assert "例如 /remind 1d 1h 10m 0" in await bot.say("/remind 99x")
    assert "找不到" in await bot.say("/timezone Qwxzyv Plorb")


async def test_group_settings_belong_to_its_admins(bot: Harness) -> None:
    refused = await bot.say("/subscribe all", chat_id="-5", chat_kind="group", is_admin=False)
    assert "admins" in refused
    ok = await bot.say("/subscribe all", chat_id="-5", chat_kind="group", is_admin=True)
    assert "Subscribed to every session" in ok


async def test_unsubscribing_one_session_from_all_keeps_the_others(bot: Harness) -> None:
    await bot.say("/subscribe all")
    answer = await bot.say("/unsubscribe s1")
    assert "other 5 sessions" in answer
    assert await bot.at(S1 - dt.timedelta(days=1)) == []
    assert len(await bot.at(S2 - dt.timedelta(days=1))) == 1


async def test_schedule_and_next_in_the_viewers_zone(bot: Harness) -> None:
    await bot.say("/timezone Prague")
    agenda = await bot.say("/schedule")
    assert "Thu 13 Aug, 11:00–12:40 (Prague)" in agenda
    card = await bot.say("/next")
    assert "Mr. Zdeněk Hřib, Mayor, Prague, Czech Republic" in card
    assert "starts in 2 days" in card


async def test_remind_off_and_default(bot: Harness) -> None:
    await bot.say("/subscribe s1")
    assert "Reminders are off" in await bot.say("/remind off")
    assert await bot.at(S1 - dt.timedelta(days=1)) == []
    assert "1 hour before" in await bot.say("/remind default")
    assert len(await bot.at(S1 - dt.timedelta(hours=1))) == 1


async def test_announcement_channels_get_every_reminder_in_every_language(store: Store) -> None:
    settings = replace(
        Settings(), announcement_channels=AnnouncementChannels(telegram=("-100777",))
    )
    harness = Harness(store, summit(), settings, S1 - dt.timedelta(days=2), memory=TelegramLike())
    await harness.start()
    sent = await harness.at(S1)
    assert [chat for chat, _ in sent] == ["-100777"]
    message = sent[0][1]
    assert "is live now" in (message.title or "") and "正在直播" in message.text
    assert {link.url for link in message.links} == {
        "https://youtu.be/b0fWeY_5sLk",
        "https://youtu.be/5B_aKaTUu3k",
    }
    await harness.worker.stop()


async def test_calendar_file_of_my_sessions(bot: Harness) -> None:
    await bot.say("/subscribe s2")
    reply = await bot.reply("/calendar")
    message = reply.messages[0]
    assert message.attachment is not None and message.attachment.filename.endswith(".ics")
    ics = message.attachment.data.decode()
    assert "UID:s2@scms2020.summit-bot" in ics and "UID:s1@" not in ics
    assert any(link.url.startswith("https://calendar.google.com/") for link in message.links)


async def test_a_chat_first_seen_through_a_shared_location_reads_its_platforms_language(
    bot: Harness,
) -> None:
    # A viewer whose app is in Chinese shares a location before typing anything.
    located = Command("memory", "556", "556", "location", locale_hint="zh-TW")
    reply = await bot.worker.on_location(located, 50.0875, 14.4214)  # Prague
    assert reply.lang == "zh-TW" and "Europe/Prague" in reply.messages[0].text
    chat = await bot.store.chats.get("memory", "556")
    assert chat is not None and chat.language == "zh-TW" and chat.timezone == "Europe/Prague"
    assert "語言" in await bot.say("/mysubs", chat_id="556")  # and it stays Chinese
