"""The Telegram adapter: the real python-telegram-bot against the fake Bot API, the real core.

Conversations read like a chat: a viewer's message is pushed into the fake server, PTB fetches
it by long polling, the adapter hands a neutral command to the core, and the test pops the
reply the bot sent. Time is the injected clock; reminders go out when the test says so.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import traceback
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from telegram.error import RetryAfter as TgRetryAfter
from telegram.warnings import PTBDeprecationWarning

from bot.adapters import build_adapters
from bot.adapters.base import (
    Blocked,
    Migrated,
    Recipient,
    Rejected,
    RetryAfter,
    StartFailed,
    Transient,
)
from bot.adapters.redaction import redact
from bot.adapters.telegram import TelegramAdapter, Webhook, answer_error, render_html, send_error
from bot.adapters.telegram.bot_api import BotApiPoster
from bot.app import Worker
from bot.audience import Audience
from bot.config import ConfigError, Settings, TelegramConfig, load_settings
from bot.i18n import languages, t
from bot.messages import Attachment, Button, Link, Message
from bot.store import Author, Store
from tests.drills.world import free_port, seed_subscribers
from tests.fakes.telegram import ApiError, Drop, FakeTelegram, Stall, parse_html
from tests.support.harness import S1, Clock, summit
from tests.support.telegram_world import (
    ADMIN,
    GROUP,
    HOUR,
    MEMBER,
    PRAGUE,
    VIEWER,
    TelegramWorld,
    WorldFactory,
    keyboard,
    plain,
)

# --- conversations --------------------------------------------------------------------------


async def test_command_menus_are_registered_in_both_languages(world: TelegramWorld) -> None:
    english = world.tg.commands_for("")
    chinese = world.tg.commands_for("zh")
    assert [c["command"] for c in english][:3] == ["start", "help", "schedule"]
    assert {
        "command": "timezone",
        "description": "Set your time zone: a city, country or offset",
    } in english
    assert {"command": "language", "description": "設定語言"} in chinese
    assert [c["command"] for c in chinese] == [c["command"] for c in english]
    assert world.tg.commands_for("en") == []  # English is the default menu, not a language


async def test_a_command_menu_for_every_catalog_language(world: TelegramWorld) -> None:
    # Telegram keys menus by the app's two-letter ISO 639-1 code: zh-TW's is "zh".
    for lang in languages()[1:]:
        menu = world.tg.commands_for(lang.split("-")[0])
        assert {"command": "language", "description": t("menu.language", lang)} in menu, lang
        assert len(menu) == len(world.tg.commands_for(""))


async def test_prague_viewer_subscribes_with_a_button_and_reads_chinese(
    world: TelegramWorld,
) -> None:
    assert "Prague, Czechia (Europe/Prague)" in await world.say(PRAGUE, "/timezone Prague")
    card = await world.say(PRAGUE, "/session s1")
    assert card.startswith("Mayors' Summit, session 1: Europe and Eurasia")
    request, _ = world.last_with_button(PRAGUE, "subscribe s1")
    assert request.params["parse_mode"] == "HTML"
    assert str(request.params["text"]).startswith("<b>")  # the title is bold
    assert keyboard(request)[0][0]["url"] == "https://youtu.be/b0fWeY_5sLk"  # the stream link

    answer = await world.press(PRAGUE, "subscribe s1")
    assert "Subscribed to “Mayors' Summit, session 1" in answer
    # The card's button now offers the opposite, in place.
    [edit] = await world.tg.wait_for("editMessageReplyMarkup", chat_id=PRAGUE)
    assert edit.params["message_id"] == request.result["message_id"]
    assert keyboard(edit)[-1][0]["callback_data"] == "unsubscribe s1"

    await world.say(PRAGUE, "/start")
    assert "語言已設定" in await world.press(PRAGUE, "language zh-TW")

    [reminder] = await world.at(S1 - HOUR)
    text = await world.next(PRAGUE)
    assert reminder.chat_id == PRAGUE and "1 小時後開始" in text
    assert "11:00" in text  # 09:00 UTC is 11:00 in Prague (summer time)
    [live] = await world.at(S1)
    assert "正在直播" in await world.next(PRAGUE)
    [[watch]] = keyboard(live)  # the Chinese stream, as a URL button
    assert watch["url"] == "https://youtu.be/5B_aKaTUu3k" and "中文" in watch["text"]


async def test_start_deep_link_subscribes(world: TelegramWorld) -> None:
    assert "Welcome" in await world.say(VIEWER, "/start sub-s2")
    assert "Subscribed to “Mayors' Summit, session 2" in await world.next(VIEWER)
    assert "session 2" in await world.say(VIEWER, "/mysubs@summit_test_bot")


async def test_timezone_from_a_shared_location(world: TelegramWorld) -> None:
    assert "Your time zone" in await world.say(PRAGUE, "/timezone")
    assert "share your location" in await world.next(PRAGUE)
    [*_, offer] = world.tg.requests("sendMessage", chat_id=PRAGUE)
    assert offer.params["reply_markup"]["keyboard"] == [
        [{"text": "📍 Share my location", "request_location": True}]
    ]
    world.tg.push_location(PRAGUE, PRAGUE, 50.0875, 14.4214)
    answer = await world.next(PRAGUE)
    assert "Europe/Prague" in answer
    [*_, done] = world.tg.requests("sendMessage", chat_id=PRAGUE)
    assert done.params["reply_markup"] == {"remove_keyboard": True}
    # In a group the location button is not offered (it would go to everyone), and a
    # location shared there for other reasons is not taken as a time zone.
    world.tg.admins[GROUP] = {ADMIN}
    assert "Your time zone" in await world.say(GROUP, "/timezone", user_id=ADMIN)
    world.tg.push_location(GROUP, ADMIN, 35.68, 139.69)
    assert (await world.say(GROUP, "/help", user_id=ADMIN)).startswith("What I can do")
    markups = [r.params.get("reply_markup") or {} for r in world.tg.requests(chat_id=GROUP)]
    assert not any("keyboard" in markup for markup in markups)


async def test_group_admin_subscribes_the_group_and_a_member_cannot(
    world: TelegramWorld,
) -> None:
    world.tg.add_chat(GROUP, title="Summit watchers")
    world.tg.admins[GROUP] = {ADMIN}
    refused = await world.say(GROUP, "/subscribe all", user_id=MEMBER)
    assert "Only this group's admins" in refused
    assert "Which session" in await world.say(GROUP, "/subscribe", user_id=ADMIN)
    assert "Only this group's admins" in await world.press(GROUP, "subscribe all", MEMBER)
    assert "Subscribed to every session" in await world.press(GROUP, "subscribe all", ADMIN)
    assert "already" in await world.say(GROUP, "/subscribe@summit_test_bot all", user_id=ADMIN)
    checks = len(world.tg.requests("getChatMember"))
    await world.say(GROUP, "/remind 1h", user_id=ADMIN)
    assert len(world.tg.requests("getChatMember")) == checks  # asked once, then cached
    world.tg.push_message(GROUP, "/help@other_bot", user_id=ADMIN)  # not for us: ignored
    [reminder] = await world.at(S1 - HOUR)
    assert reminder.chat_id == GROUP
    assert "starts in 1 hour" in await world.next(GROUP)


async def test_blocked_viewer_is_not_sent_to_until_they_come_back(world: TelegramWorld) -> None:
    for viewer in (PRAGUE, VIEWER):
        assert "every session" in await world.say(viewer, "/subscribe all")
    world.tg.block(PRAGUE)  # the viewer blocked the bot; Telegram answers 403 from now on
    sent = await world.at(S1 - dt.timedelta(days=1))
    assert [r.chat_id for r in sent] == [VIEWER]
    attempts = len(world.tg.requests("sendMessage", chat_id=PRAGUE))
    assert [r.chat_id for r in await world.at(S1 - HOUR)] == [VIEWER]
    assert len(world.tg.requests("sendMessage", chat_id=PRAGUE)) == attempts  # not even tried
    counts = await world.store.ledger.delivery_counts(kind="reminder")
    assert counts == {"blocked": 1, "sent": 2}
    chat = await world.store.chats.get("telegram", str(PRAGUE))
    assert chat is not None and chat.status == "blocked"

    # They unblock the bot: Telegram says so with a my_chat_member update.
    world.tg.push_my_chat_member(PRAGUE, PRAGUE, "kicked", "member")
    assert "Every session" in await world.say(PRAGUE, "/mysubs")  # after the update, in order
    later = await world.at(S1 - 10 * dt.timedelta(minutes=1))
    assert {r.chat_id for r in later} == {PRAGUE, VIEWER} and len(later) == 2


async def test_my_chat_member_kicked_marks_the_chat_without_a_send(world: TelegramWorld) -> None:
    assert "every session" in await world.say(VIEWER, "/subscribe all")
    world.tg.push_my_chat_member(VIEWER, VIEWER, "member", "kicked", auto_block=False)
    # A viewer who blocked the bot cannot write to it, so wait on the store instead.
    async with asyncio.timeout(5):
        while True:
            chat = await world.store.chats.get("telegram", str(VIEWER))
            if chat is not None and chat.status == "blocked":
                break
            await asyncio.sleep(0.01)
    assert await world.at(S1 - HOUR) == []


async def test_a_429_storm_loses_nothing(world: TelegramWorld) -> None:
    viewers = [5001 + i for i in range(5)]
    for viewer in viewers:
        assert "Subscribed" in await world.say(viewer, "/subscribe s1")
    world.tg.fail_next("sendMessage", times=3, error=ApiError.too_many_requests(1))
    when = S1 - HOUR
    first = await world.at(when)
    assert len(first) == 2 and world.tg.too_many_requests == 3
    rest = await world.at(when + dt.timedelta(seconds=1))
    assert sorted(r.chat_id for r in first + rest if isinstance(r.chat_id, int)) == viewers
    assert await world.at(when + dt.timedelta(seconds=5)) == []
    counts = await world.store.ledger.delivery_counts(kind="reminder")
    assert counts["sent"] == 5 and "pending" not in counts  # (the 1-day reminders expired)


async def test_migrated_group_gets_the_reminder_once_at_its_new_id(world: TelegramWorld) -> None:
    old, new = -4242, -1004242
    world.tg.admins[old] = {ADMIN}
    assert "every session" in await world.say(old, "/subscribe all", user_id=ADMIN)
    world.tg.migrate_chat(old, new)  # the group became a supergroup
    sent = await world.at(S1 - HOUR)
    assert [r.chat_id for r in sent] == [new]
    assert world.tg.messages_to(old) == [world.tg.messages_to(old)[0]]  # only the earlier reply
    assert len(world.tg.messages_to(new)) == 1
    assert await world.at(S1 - HOUR + dt.timedelta(seconds=1)) == []
    assert await world.store.chats.get("telegram", str(new)) is not None
    assert await world.store.chats.get("telegram", str(old)) is None


async def test_migration_service_message_moves_the_group(world: TelegramWorld) -> None:
    old, new = -4343, -1004343
    world.tg.admins[old] = {ADMIN}
    assert "every session" in await world.say(old, "/subscribe all", user_id=ADMIN)
    chat = world.tg.chats[old]
    world.tg.push_raw(
        {"message": {"message_id": 90, "date": 0, "chat": chat, "migrate_to_chat_id": new}}
    )
    world.tg.add_chat(new, chat_type="supergroup")
    assert "Every session" in await world.say(new, "/mysubs", user_id=ADMIN)
    [reminder] = await world.at(S1 - HOUR)
    assert reminder.chat_id == new


# --- rendering and sending ------------------------------------------------------------------


async def test_a_long_message_is_split_with_buttons_on_the_last_part(
    world: TelegramWorld,
) -> None:
    lines = [f"{i:04d} <b>not bold</b> & more " + "x" * 60 for i in range(60)]  # ~5,000 chars
    message = Message(
        "\n".join(lines),
        title="Summit <agenda>",
        links=(Link("Watch", "https://example.org/live"),),
        buttons=((Button("Schedule", "schedule"),),),
    )
    assert len(message.text) > 4096
    await world.adapter.send(Recipient(str(VIEWER)), message, key="long")
    first, second = world.tg.requests("sendMessage", chat_id=VIEWER)
    assert first.ok and second.ok
    assert "reply_markup" not in first.params
    assert keyboard(second) == [
        [{"text": "Watch", "url": "https://example.org/live"}],
        [{"text": "Schedule", "callback_data": "schedule"}],
    ]
    text, entities = parse_html(str(first.params["text"]))
    assert text.startswith("Summit <agenda>\n0000 <b>not bold</b> & more")
    assert entities == [{"type": "bold", "offset": 0, "length": len("Summit <agenda>")}]
    assert all(len(plain(str(r.params["text"]))) <= 4096 for r in (first, second))
    joined = plain(str(first.params["text"])) + "\n" + plain(str(second.params["text"]))
    assert joined == f"{message.title}\n{message.text}"


def test_render_html_escapes_every_dynamic_piece() -> None:
    assert render_html(Message("a < b & c > d", title="<i>x</i>"), 4096) == [
        "<b>&lt;i&gt;x&lt;/i&gt;</b>\na &lt; b &amp; c &gt; d"
    ]
    assert render_html(Message("", title="Only a title"), 4096) == ["<b>Only a title</b>"]


async def test_long_button_actions_use_a_token_that_survives_a_restart(
    make_world: WorldFactory,
) -> None:
    world = await make_world()
    action = "session s1 " + "x" * 70  # over the 64 bytes callback data may hold
    message = Message("Pick one", buttons=((Button("Card", action),),))
    await world.adapter.send(Recipient(str(VIEWER)), message, key="button")
    [request] = world.tg.requests("sendMessage", chat_id=VIEWER)
    data = keyboard(request)[0][0]["callback_data"]
    assert data.startswith("~") and len(data.encode()) <= 64
    await world.tg.pop_message(VIEWER)
    await world.worker.stop()

    again = await make_world()  # a new process: the token comes back from the store
    assert "Mayors' Summit, session 1" in await again.press(VIEWER, data)
    world.tg.push_callback_query(VIEWER, VIEWER, "~nobody-knows-this", message_id=1)
    assert "This button has expired" in await again.next(VIEWER)


async def test_send_errors_are_mapped_for_the_delivery_engine(
    make_world: WorldFactory,
) -> None:
    world = await make_world(timeout=0.3)
    tg, send = world.tg, world.adapter.send
    cases: list[tuple[ApiError | Drop | Stall, type[Exception]]] = [
        (ApiError.blocked(), Blocked),
        (ApiError.kicked(supergroup=True), Blocked),
        (ApiError.chat_not_found(), Rejected),
        (ApiError.bad_request("message is too long"), Rejected),
        (ApiError.server_error(), Transient),
        (Drop(), Transient),
        (Stall(), Transient),  # a time-out
    ]
    for failure, expected in cases:
        tg.fail_next("sendMessage", error=failure)
        with pytest.raises(expected):
            await send(Recipient(str(VIEWER)), Message("hi"), key="k")
    tg.fail_next("sendMessage", error=ApiError.too_many_requests(3))
    with pytest.raises(RetryAfter) as flood:
        await send(Recipient(str(VIEWER)), Message("hi"), key="k")
    assert flood.value.seconds == 3
    tg.fail_next("sendMessage", error=ApiError.migrated(-1009999))
    with pytest.raises(Migrated) as moved:
        await send(Recipient("-99", kind="group"), Message("hi"), key="k")
    assert moved.value.new_chat_id == "-1009999"
    await send(Recipient(str(VIEWER)), Message("at last"), key="k")
    assert tg.messages_to(VIEWER) == ["at last"]


async def test_one_message_to_many_viewers_is_rendered_once_and_sent_to_each(
    world: TelegramWorld,
) -> None:
    # The delivery engine hands every recipient of a group the same Message object.
    message = Message("Live now", links=(Link("Watch", "https://example.org/live"),))
    for viewer in (PRAGUE, VIEWER):
        await world.adapter.send(Recipient(str(viewer)), message, key=f"live:{viewer}")
    for viewer in (PRAGUE, VIEWER):
        [request] = world.tg.requests("sendMessage", chat_id=viewer)
        assert plain(str(request.params["text"])) == "Live now"
        assert request.params["link_preview_options"] == {"is_disabled": True}
        assert keyboard(request) == [[{"text": "Watch", "url": "https://example.org/live"}]]


async def test_a_message_in_quiet_hours_arrives_without_a_sound(world: TelegramWorld) -> None:
    await world.adapter.send(Recipient(str(VIEWER)), Message("loud"), key="1")
    await world.adapter.send(Recipient(str(VIEWER)), Message("hush", silent=True), key="2")
    loud, hush = world.tg.requests("sendMessage", chat_id=VIEWER)
    assert not loud.params.get("disable_notification")
    assert hush.params["disable_notification"] is True


async def test_a_message_with_a_file_goes_as_a_captioned_document(world: TelegramWorld) -> None:
    calendar = Attachment("scms2020.ics", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "text/calendar")
    message = Message("Add the summit to your calendar", attachment=calendar)
    await world.adapter.send(Recipient(str(VIEWER)), message, key="ics")
    [request] = world.tg.requests("sendDocument", chat_id=VIEWER)
    assert request.ok and plain(str(request.params["caption"])) == message.text
    assert world.tg.requests("sendMessage", chat_id=VIEWER) == []


async def test_an_unreachable_bot_api_is_transient_and_keeps_the_token_secret(
    fake_telegram: FakeTelegram,
) -> None:
    port = free_port()  # nobody listens there
    poster = BotApiPoster(
        f"http://127.0.0.1:{port}", fake_telegram.token, timeout=1.0, redact=redact
    )
    try:
        with pytest.raises(Transient) as failed:
            await poster.call("sendMessage", {"chat_id": VIEWER, "text": "hi"})
    finally:
        await poster.close()
    secret = fake_telegram.token.partition(":")[2]
    assert str(port) in str(failed.value)  # says where it could not connect
    assert secret not in "".join(traceback.format_exception(failed.value))
    assert secret not in repr(poster)


async def test_sends_go_through_the_proxy_the_environment_names(
    fake_telegram: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    relayed: list[str] = []

    async def forward(request: web.Request) -> web.Response:  # a forward HTTP proxy
        relayed.append(request.path)
        async with (
            aiohttp.ClientSession() as session,
            session.request(
                request.method,
                request.url,
                data=await request.read(),
                headers={"Content-Type": request.content_type},
            ) as answer,
        ):
            body = await answer.read()
            return web.Response(status=answer.status, body=body, content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", forward)
    proxy = web.AppRunner(app)
    await proxy.setup()
    await web.TCPSite(proxy, "127.0.0.1", 0).start()
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.addresses[0][1]}")
    root = f"http://127.0.0.1:{fake_telegram.port}"
    poster = BotApiPoster(root, fake_telegram.token, timeout=5.0, redact=redact)
    try:
        await poster.call("sendMessage", {"chat_id": VIEWER, "text": "via the proxy"})
    finally:
        await poster.close()
        await proxy.cleanup()
    assert [path.rsplit("/", 1)[-1] for path in relayed] == ["sendMessage"]
    assert fake_telegram.messages_to(VIEWER) == ["via the proxy"]


@pytest.mark.parametrize(
    ("status", "answer", "expected"),
    [
        (502, None, Transient),  # a proxy's HTML error page
        (401, {"ok": False, "error_code": 401, "description": "Unauthorized"}, Transient),
        (429, {"ok": False, "error_code": 429, "description": "Too Many Requests"}, RetryAfter),
        (400, {"ok": False, "error_code": 400, "description": "Bad Request: x"}, Rejected),
        (
            403,
            {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked"},
            Blocked,
        ),
    ],
)
def test_bot_api_answers_map_to_delivery_errors(
    status: int, answer: Any, expected: type[Exception]
) -> None:
    error = answer_error(status, answer)
    assert type(error) is expected
    if isinstance(error, RetryAfter):
        assert error.seconds == 1  # no retry_after given: wait a second, not zero


async def test_a_long_broadcast_keeps_to_the_rate_counting_every_part(
    make_world: WorldFactory,
) -> None:
    world = await make_world(per_second=10)
    world.tg.rate_limit(10)  # the platform's flood control, at the bot's configured rate
    viewers = [5001 + i for i in range(8)]
    await seed_subscribers(world.store, "telegram", len(viewers), first_chat_id=viewers[0])
    text = "\n".join(["Programme change. " + "x" * 60] * 60)  # 4,859 characters: 2 parts
    now, audience = world.clock.now, Audience.from_json({"kind": "all"})
    broadcast = await world.store.broadcasts.create(
        created_by=Author.parse("telegram:1"),
        origin_platform="telegram",
        texts={"en": text},
        audience=audience,
        send_at=now,
        now=now,
    )
    await world.store.ledger.enqueue_broadcast(broadcast.id, audience, due_at=now, now=now)
    sent = await world.at(now)
    assert len(sent) == 2 * len(viewers)  # every part reached every viewer...
    assert world.tg.too_many_requests == 0  # ...and none went past the platform's limit


async def test_replies_during_a_fan_out_share_the_platforms_rate(make_world: WorldFactory) -> None:
    world = await make_world(per_second=10)
    await seed_subscribers(world.store, "telegram", 15, first_chat_id=5001)
    world.tg.rate_limit(10)
    now = world.clock.now
    broadcast = await world.store.broadcasts.create(
        created_by=Author.parse("telegram:1"),
        origin_platform="telegram",
        texts={"en": "The venue's doors open at 16:30."},
        audience=Audience.everyone(),
        send_at=now,
        now=now,
    )
    await world.store.ledger.enqueue_broadcast(
        broadcast.id, Audience.everyone(), due_at=now, now=now
    )
    fan_out = asyncio.create_task(world.at(now))
    for _ in range(5):  # a viewer keeps asking while the broadcast goes out
        assert "Mayors' Summit" in await world.say(VIEWER, "/next")
    sent = [r for r in await fan_out if r.chat_id != VIEWER]
    assert len(sent) == 15 and world.tg.too_many_requests == 0


# PTB 22 itself warns when it builds a RetryAfter, unless the process opted in to timedeltas
# (PTB_TIMEDELTA); the adapter reads either form and leaves that process-wide switch alone.
@pytest.mark.filterwarnings("ignore:Deprecated since version v22.2:DeprecationWarning")
async def test_a_reply_caught_by_a_short_flood_wait_still_arrives(world: TelegramWorld) -> None:
    world.tg.fail_next("sendMessage", error=ApiError.too_many_requests(1))
    assert "Mayors' Summit" in await world.say(VIEWER, "/next")
    [refused, answered] = world.tg.requests("sendMessage", chat_id=VIEWER)
    assert not refused.ok and answered.ok


@pytest.mark.parametrize("opted_in", [False, True])
def test_flood_waits_read_in_either_form_ptb_gives(
    opted_in: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if opted_in:  # PTB 22 gives a timedelta when asked to, whole seconds otherwise
        monkeypatch.setenv("PTB_TIMEDELTA", "true")
    else:
        monkeypatch.delenv("PTB_TIMEDELTA", raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)  # PTB's own, when it builds one
        flood = TgRetryAfter(3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        error = send_error(flood)
    assert isinstance(error, RetryAfter) and error.seconds == 3
    assert caught == []


async def test_starting_leaves_the_process_environment_alone(
    make_world: WorldFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PTB_TIMEDELTA", raising=False)
    before = dict(os.environ)
    world = await make_world()
    assert "Mayors' Summit" in await world.say(VIEWER, "/next")
    assert dict(os.environ) == before


async def test_a_retried_split_message_resumes_after_the_parts_sent(
    world: TelegramWorld,
) -> None:
    message = Message("\n".join(["y" * 80] * 60))  # 4,859 characters: two parts
    world.tg.rate_limit(None, per_chat_per_second=1)  # the second part is one too many
    with pytest.raises(RetryAfter):
        await world.adapter.send(Recipient(str(VIEWER)), message, key="r1")
    world.tg.rate_limit(None)
    await world.adapter.send(Recipient(str(VIEWER)), message, key="r1")
    first, second = world.tg.messages_to(VIEWER)  # the first part was not sent twice
    assert f"{first}\n{second}" == message.text


# --- secrets ---------------------------------------------------------------------------------


async def test_the_token_never_appears_in_logs_or_errors(
    make_world: WorldFactory, fake_telegram: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="httpx")  # an operator who wants every request
    token = fake_telegram.token
    secret = token.partition(":")[2]
    world = await make_world(timeout=0.5)
    await world.say(VIEWER, "/help")
    fake_telegram.fail_next("sendMessage", error=Drop())
    with pytest.raises(Transient) as failed:
        await world.adapter.send(Recipient(str(VIEWER)), Message("hi"), key="k")
    assert secret not in "".join(traceback.format_exception(failed.value))
    fake_telegram.fail_next("sendMessage", error=ApiError.server_error())
    world.tg.push_message(VIEWER, "/help")
    await world.tg.wait_for("sendMessage", chat_id=VIEWER, count=3)

    wrong = TelegramAdapter.from_env(
        {
            "TELEGRAM_BOT_TOKEN": "42:WRONGsecretTHATmustNOTshow",
            "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{fake_telegram.port}",
        },
        world.settings,
    )
    with pytest.raises(StartFailed, match="TELEGRAM_BOT_TOKEN") as rejected:
        await wrong.start(world.worker)
    assert "WRONGsecret" not in str(rejected.value)
    logging.getLogger("telegram.test").error("leak? %s", f"{token} and WRONGsecretTHATmustNOTshow")

    text = caplog.text
    assert "HTTP Request" in text and "<redacted>" in text  # httpx did log, redacted
    assert secret not in text and "WRONGsecret" not in text


def test_from_env_reads_the_environment() -> None:
    settings = Settings()
    env = {"TELEGRAM_BOT_TOKEN": "123:AAsecretsecret"}
    adapter = TelegramAdapter.from_env(env, settings)
    assert adapter.api_root == "https://api.telegram.org" and adapter.webhook is None
    assert adapter.poll_timeout == settings.telegram.poll_timeout
    assert "secret" not in repr(adapter)
    [built] = build_adapters(env, settings)
    assert isinstance(built, TelegramAdapter)
    local = TelegramAdapter.from_env(
        {**env, "TELEGRAM_API_BASE_URL": "http://127.0.0.1:8081/"}, settings
    )
    assert local.api_root == "http://127.0.0.1:8081"
    with pytest.raises(ConfigError, match="TELEGRAM_BOT_TOKEN") as bad:
        TelegramAdapter.from_env({"TELEGRAM_BOT_TOKEN": "not a token"}, settings)
    assert "not a token" not in str(bad.value)
    with pytest.raises(ConfigError, match="TELEGRAM_API_BASE_URL"):
        TelegramAdapter.from_env({**env, "TELEGRAM_API_BASE_URL": "ftp://x"}, settings)
    with pytest.raises(ConfigError, match="https"):
        TelegramAdapter.from_env({**env, "TELEGRAM_WEBHOOK_URL": "http://bot.example"}, settings)


def test_paid_broadcasts_raise_the_rate_from_the_configuration(tmp_path: Path) -> None:
    env = {"TELEGRAM_BOT_TOKEN": "123:AAsecretsecret"}
    assert TelegramAdapter.from_env(env, Settings()).limits.per_second == 30  # the free limit
    config = tmp_path / "config.yaml"
    config.write_text("telegram:\n  messages_per_second: 1000\n")
    paid = TelegramAdapter.from_env(env, load_settings(config, env={}))
    assert paid.limits.per_second == 1000
    assert paid.limits.per_chat_per_second == 1  # one chat's limit does not change
    config.write_text("telegram:\n  messages_per_second: 5000\n")
    with pytest.raises(ConfigError, match=r"messages_per_second: 5000 .*write 1 to 1000"):
        load_settings(config, env={})


async def test_webhook_mode_answers_what_telegram_posts(
    store: Store, fake_telegram: FakeTelegram
) -> None:
    port = free_port()
    settings = replace(
        Settings(),
        telegram=replace(
            TelegramConfig(), webhook_listen="127.0.0.1", webhook_port=port, webhook_path="tg"
        ),
    )
    env = {
        "TELEGRAM_BOT_TOKEN": fake_telegram.token,
        "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{fake_telegram.port}",
        "TELEGRAM_WEBHOOK_URL": "https://bot.example.org/tg",
        "TELEGRAM_WEBHOOK_SECRET": "s3cret_token-value",
    }
    adapter = TelegramAdapter.from_env(env, settings)
    worker = Worker(settings, summit(), store, [adapter], Clock(S1 - dt.timedelta(days=2)))
    await worker.start(background=False)
    try:
        assert fake_telegram.webhook is not None  # registered with Telegram, secret included
        assert fake_telegram.webhook["url"] == "https://bot.example.org/tg"
        assert fake_telegram.webhook["secret_token"] == "s3cret_token-value"
        fake_telegram.deliver_webhooks_to(f"http://127.0.0.1:{port}/tg")
        fake_telegram.push_message(VIEWER, "/subscribe s2")
        reply = plain(await fake_telegram.pop_message(VIEWER))
        assert "Subscribed to “Mayors' Summit, session 2" in reply
        assert fake_telegram.webhook_answers == [200]
        # Someone who found the URL but not the secret is turned away.
        forged = {"update_id": 1, "message": {"message_id": 1, "date": 0, "text": "/start"}}
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"http://127.0.0.1:{port}/tg", json=forged) as answer,
        ):
            assert answer.status == 403
    finally:
        await worker.stop()


def test_webhook_mode_from_the_environment() -> None:
    env = {
        "TELEGRAM_BOT_TOKEN": "123:AAsecretsecret",
        "TELEGRAM_WEBHOOK_URL": "https://bot.example.org/telegram",
        "TELEGRAM_WEBHOOK_SECRET": "s3cret_token-value",
    }
    settings = Settings()
    adapter = TelegramAdapter.from_env(env, settings)
    assert adapter.webhook == Webhook(
        "https://bot.example.org/telegram", "0.0.0.0", 8443, "telegram", "s3cret_token-value"
    )
    with pytest.raises(ConfigError, match="TELEGRAM_WEBHOOK_SECRET"):
        TelegramAdapter.from_env({**env, "TELEGRAM_WEBHOOK_SECRET": "no spaces"}, settings)
