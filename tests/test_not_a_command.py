"""Messages that are not commands: a short hint to /help in a private chat, nothing in a group.

On every adapter that receives typed text: the memory platform, the console and Telegram (the
real python-telegram-bot against the fake Bot API). Button actions, which carry no slash, still
run as commands.
"""

from __future__ import annotations

import io

from bot.adapters.console import ConsoleAdapter
from bot.app import Worker
from bot.config import Settings
from bot.i18n import t
from bot.messages import parse_action, parse_command
from bot.store import Store
from tests.support.harness import S1, Clock, Harness, summit
from tests.support.telegram_world import ADMIN, GROUP, MEMBER, PRAGUE, VIEWER, TelegramWorld

HINT_EN = t("error.not_a_command", "en")
HINT_ZH = t("error.not_a_command", "zh-TW")


def test_a_line_is_a_command_only_with_its_slash() -> None:
    assert parse_command("/Subscribe@SummitBot s1") == ("subscribe", ("s1",), "s1")
    assert parse_command("hello there") == ("", (), "")
    assert parse_command("/") == ("", (), "")
    assert parse_command("/ help") == ("", (), "")
    assert parse_command("   ") is None
    # A button's action is a command line without the slash.
    assert parse_action("subscribe s1") == ("subscribe", ("s1",), "s1")
    assert parse_action("") is None


def test_the_hint_points_to_help_in_every_language() -> None:
    assert "/help" in HINT_EN and "/help" in HINT_ZH and HINT_EN != HINT_ZH


async def test_text_in_a_private_chat_gets_a_hint_to_help(bot: Harness) -> None:
    assert await bot.say("hello there") == HINT_EN
    assert await bot.say("/") == HINT_EN
    assert await bot.say("你好", chat_id="200", locale="zh-hant") == HINT_ZH
    assert "/timezone" in await bot.say("/help")  # commands still answered


async def test_text_in_a_group_gets_no_answer(bot: Harness) -> None:
    reply = await bot.reply("lunch anyone?", chat_id="-5", chat_kind="group")
    assert reply.messages == ()
    # Nor does group chatter use up anyone's allowance of commands.
    for _ in range(3 * bot.settings.limits.command_burst):
        await bot.reply("chatter", chat_id="-5", user_id="7", chat_kind="group")
    assert "/timezone" in await bot.say("/help", chat_id="-5", user_id="7", chat_kind="group")


async def test_the_console_hints_instead_of_guessing_a_command(store: Store) -> None:
    out = io.StringIO()
    console = ConsoleAdapter(stdin=io.StringIO(), stdout=out, listen_at_start=False)
    worker = Worker(Settings(), summit(), store, [console], Clock(S1))
    await worker.start(background=False)
    try:
        await console.type("hello there")
        await console.type("/")
        await console.type("/mysubs")
    finally:
        await worker.stop()
    printed = out.getvalue()
    assert "I don't know /hello" not in printed
    assert printed.count(HINT_EN) == 2
    assert t("mysubs.none", "en") in printed


async def test_telegram_text_in_a_private_chat_gets_a_hint(world: TelegramWorld) -> None:
    assert await world.say(PRAGUE, "hello there") == HINT_EN
    assert await world.say(PRAGUE, "/") == HINT_EN
    assert await world.say(VIEWER, "你好", language_code="zh-hant") == HINT_ZH


async def test_telegram_text_in_a_group_gets_no_answer(world: TelegramWorld) -> None:
    group = {"user_id": MEMBER, "chat_type": "supergroup", "title": "Mayors"}
    world.tg.push_message(GROUP, "lunch anyone?", **group)
    world.tg.push_message(GROUP, "/", **group)
    # The chat's updates are answered in order: the first answer is the command's.
    assert "/timezone" in await world.say(GROUP, "/help", **(group | {"user_id": ADMIN}))
    # Nobody was asked whether the member is an admin for mere chatter.
    asked = world.tg.requests("getChatMember", chat_id=GROUP)
    assert [r.params["user_id"] for r in asked] == [ADMIN]


async def test_telegram_buttons_still_run_their_actions(world: TelegramWorld) -> None:
    await world.say(PRAGUE, "/session s1")
    assert "Subscribed to" in await world.press(PRAGUE, "subscribe s1")
