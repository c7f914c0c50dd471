"""Organizers broadcast to the audience; everyone else is refused, and both are audited."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from bot.config import Organizers, Settings
from bot.store import Store
from tests.support.harness import S1, Harness, telegram_like

ORGANIZER = "9000"


@pytest.fixture
async def event(store: Store) -> AsyncIterator[Harness]:
    """The summit bot on a Telegram-like memory platform, with one organizer."""
    settings = replace(Settings(), organizers=Organizers(telegram_user_ids=(ORGANIZER,)))
    async with telegram_like(store, settings) as harness:
        yield harness


async def test_broadcast_in_two_languages_reaches_500_viewers_with_a_report(
    event: Harness,
) -> None:
    async with event.store.transaction():
        for i in range(500):
            chat, _ = await event.store.chats.get_or_create(
                "telegram", str(i), language="zh-TW" if i % 2 else "en", now=event.clock.now
            )
            await event.store.chats.subscribe(chat.pk, "s1" if i % 3 else "*", now=event.clock.now)
    preview = await event.reply(
        "/broadcast to=all\nen: Session 1 starts soon!\nzh-TW: 第一場次即將開始！",
        chat_id=ORGANIZER,
    )
    text = preview.messages[0].plain()
    assert "to all subscribers (500: telegram 500)" in text
    confirm = next(b.action for row in preview.messages[0].buttons for b in row)
    assert confirm.startswith("broadcast confirm ")
    assert "500 messages" in await event.say("/" + confirm, chat_id=ORGANIZER)
    sent = await event.at(event.clock.now)
    to_viewers = [(chat, m) for chat, m in sent if chat != ORGANIZER]
    assert len(to_viewers) == 500 and len({chat for chat, _ in to_viewers}) == 500
    for chat, message in to_viewers:
        expected = "第一場次即將開始！" if int(chat) % 2 else "Session 1 starts soon!"
        assert message.text == expected, chat
    reports = [m.text for chat, m in sent if chat == ORGANIZER]
    assert reports and reports[-1].startswith(
        "📣 Broadcast #1 done: 500 sent, 0 blocked, 0 failed"
    )


async def test_a_viewers_broadcast_is_refused_and_audited(event: Harness) -> None:
    await event.say("/subscribe all", chat_id="5")
    answer = await event.say("/broadcast hello everyone", chat_id="5")
    assert "Only the event's organizers" in answer
    assert await event.at(event.clock.now) == []
    (entry,) = await event.store.audit.recent()
    assert (entry.actor, entry.action, entry.allowed) == ("5", "broadcast", False)


async def test_a_scheduled_broadcast_can_be_cancelled(event: Harness) -> None:
    await event.say("/subscribe s1", chat_id="5")
    preview = await event.say("/broadcast to=s1 at=+30 The link is up", chat_id=ORGANIZER)
    assert "Broadcast #1 to the subscribers of" in preview
    await event.say("/broadcast confirm 1", chat_id=ORGANIZER)
    assert await event.at(event.clock.now + dt.timedelta(minutes=10)) == []
    assert "1 message will not be sent" in await event.say(
        "/broadcast cancel 1", chat_id=ORGANIZER
    )
    assert await event.at(event.clock.now + dt.timedelta(minutes=31)) == []
    assert await event.store.ledger.delivery_counts(broadcast_id=1) == {"expired": 1}
    actions = [(e.action, e.allowed) for e in await event.store.audit.recent()]
    assert actions.count(("broadcast", True)) == 3


async def test_broadcast_to_one_language_and_bad_input(event: Harness) -> None:
    await event.say("/language zh-TW", chat_id="7")
    await event.say("/subscribe all", chat_id="7")
    await event.say("/subscribe all", chat_id="8")
    preview = await event.say("/broadcast to=zh-TW 中文觀眾你好", chat_id=ORGANIZER)
    assert "(1: telegram 1)" in preview and "subscribers reading Traditional Chinese" in preview
    assert "audience “mars”" in await event.say("/broadcast to=mars hi", chat_id=ORGANIZER)
    assert "time “tomorrow”" in await event.say("/broadcast at=tomorrow hi", chat_id=ORGANIZER)
    assert "no text" in await event.say("/broadcast to=all", chat_id=ORGANIZER)


async def test_stats_for_organizers(event: Harness) -> None:
    await event.say("/timezone Prague", chat_id="5")
    await event.say("/subscribe all", chat_id="5")
    await event.say("/language zh-TW", chat_id="6")
    await event.say("/subscribe s2", chat_id="6")
    await event.at(S1 - dt.timedelta(days=1))
    stats = await event.say("/stats", chat_id=ORGANIZER)
    assert "Subscribers: 2" in stats and "By platform: telegram 2" in stats
    assert "Europe/Prague 1" in stats and "By session: all sessions 1, s2 1" in stats
    # Reminders named as organizers know them, never by internal keys, in their own zone.
    assert "Last reminder: “Mayors' Summit, session 1: Europe and Eurasia”, 1 day before" in stats
    assert "(Wed 12 Aug, 17:00): 1 sent" in stats
    assert (
        "• “Mayors' Summit, session 1: Europe and Eurasia”, 1 hour before (Thu 13 Aug, 16:00)"
        in stats
    )
    assert "remind:" not in stats and "s1:1440:" not in stats
    assert "Only the event's organizers" in await event.say("/stats", chat_id="5")
