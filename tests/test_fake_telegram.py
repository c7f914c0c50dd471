"""The fake Telegram Bot API server, driven by the real, unmodified python-telegram-bot 22."""

from __future__ import annotations

import asyncio
import datetime as dtm
import time
from typing import Any

import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    ChatMemberAdministrator,
    ChatMemberMember,
    ChatMemberOwner,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.fakes.telegram import (
    ApiError,
    Drop,
    FakeTelegram,
    Stall,
    bot_command_entities,
    parse_html,
    parse_markdown_v2,
)
from tests.support.telegram_rig import app_builder, make_bot, running_application

ALICE = 4242
GROUP = -1001234567890  # supergroup-style id
Context = ContextTypes.DEFAULT_TYPE


# ------------------------------------------------------------------------------ basics


async def test_get_me(telegram_bot: Bot, fake_telegram: FakeTelegram) -> None:
    """getMe answers the bot user; the request log is token-free."""
    me = await telegram_bot.get_me()
    assert (me.id, me.is_bot, me.username) == (fake_telegram.bot_id, True, "summit_test_bot")
    assert fake_telegram.token not in repr(fake_telegram.sent)


async def test_wrong_token_and_unknown_method(
    telegram_bot: Bot, fake_telegram: FakeTelegram
) -> None:
    """Unknown token -> 401 (InvalidToken); unknown method -> 404 (EndPointNotFound)."""
    stranger = make_bot(fake_telegram, token="42:WRONG")
    try:
        with pytest.raises(InvalidToken, match="rejected by the server"):
            await stranger.initialize()  # PTB validates the token with getMe
    finally:
        await stranger.shutdown()
    with pytest.raises(EndPointNotFound):
        await telegram_bot.do_api_request("noSuchMethod", api_kwargs={"chat_id": 1})
    [request] = fake_telegram.requests("noSuchMethod")
    assert (request.status, request.response) == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found"},
    )


async def test_send_message_html_with_keyboard(
    telegram_bot: Bot, fake_telegram: FakeTelegram
) -> None:
    """HTML is parsed into UTF-16 entities; parameters are recorded as sent."""
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Remind me", callback_data="r:1")]])
    html = "🎤 <b>Keynote</b> at <i>10:00</i> &amp; <a href='https://ex.org'>stream</a>"
    message = await telegram_bot.send_message(
        ALICE,
        html,
        parse_mode=ParseMode.HTML,
        reply_markup=keyboard,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    )
    assert message.text == "🎤 Keynote at 10:00 & stream"
    assert [(e.type, e.offset, e.length) for e in message.entities] == [
        ("bold", 3, 7),
        ("italic", 14, 5),
        ("text_link", 22, 6),
    ]
    assert message.entities[2].url == "https://ex.org/"
    assert message.text_html == html.replace("'", '"').replace("ex.org", "ex.org/")
    assert message.reply_markup == keyboard
    assert message.from_user is not None and message.from_user.is_bot
    [request] = await fake_telegram.wait_for("sendMessage", chat_id=ALICE)
    assert request.params["parse_mode"] == "HTML"
    assert request.params["reply_markup"] == keyboard.to_dict()
    assert request.params["link_preview_options"] == {"is_disabled": True}
    assert fake_telegram.messages_to(ALICE) == [html]
    second = await telegram_bot.send_message(ALICE, "again")
    other = await telegram_bot.send_message(ALICE + 1, "elsewhere")
    assert (message.message_id, second.message_id, other.message_id) == (1, 2, 1)


async def test_markup_errors_and_edits(telegram_bot: Bot, fake_telegram: FakeTelegram) -> None:
    """Bad markup, empty text and unchanged edits fail like Telegram; edits update the store."""
    with pytest.raises(BadRequest, match='parse entities: unsupported start tag "br" at byte'):
        await telegram_bot.send_message(ALICE, "a <br> b", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=r"character '\.' is reserved"):
        await telegram_bot.send_message(ALICE, "v1.0", parse_mode=ParseMode.MARKDOWN_V2)
    with pytest.raises(BadRequest, match="Message text is empty"):
        await telegram_bot.send_message(ALICE, " \n ")
    sent = await telegram_bot.send_message(ALICE, "*Talk* starts", parse_mode="MarkdownV2")
    assert sent.entities[0].type == "bold"
    with pytest.raises(BadRequest, match="Message is not modified"):
        await telegram_bot.edit_message_text(
            "*Talk* starts", ALICE, sent.message_id, parse_mode="MarkdownV2"
        )
    edited = await telegram_bot.edit_message_text("Talk moved", ALICE, sent.message_id)
    assert isinstance(edited, type(sent)) and edited.edit_date is not None
    assert fake_telegram.message(ALICE, sent.message_id)["text"] == "Talk moved"  # type: ignore[index]
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await telegram_bot.edit_message_text("x", ALICE, 999)


# ------------------------------------------------------------------------------ updates


async def test_get_updates_offset_limit_and_long_poll(
    telegram_bot: Bot, fake_telegram: FakeTelegram
) -> None:
    """offset confirms, limit caps, a long poll returns as soon as an update is pushed."""
    for text in ("one", "two", "three"):
        fake_telegram.push_message(ALICE, text)
    first = await telegram_bot.get_updates(limit=2)
    assert [u.message.text for u in first if u.message] == ["one", "two"]
    again = await telegram_bot.get_updates()
    assert len(again) == 3 and fake_telegram.pending_updates == 3  # nothing confirmed yet
    rest = await telegram_bot.get_updates(offset=first[-1].update_id + 1)
    assert [u.message.text for u in rest if u.message] == ["three"]
    assert fake_telegram.pending_updates == 1

    polls = len(fake_telegram.requests("getUpdates"))
    started = time.monotonic()
    poll = asyncio.create_task(telegram_bot.get_updates(offset=rest[-1].update_id + 1, timeout=10))
    await fake_telegram.wait_for("getUpdates", count=polls + 1)
    fake_telegram.push_message(ALICE, "four")
    [update] = await poll
    assert update.message is not None and update.message.text == "four"
    assert time.monotonic() - started < 5
    assert fake_telegram.pending_updates == 1


async def test_get_updates_timeout_allowed_updates_and_conflict(
    telegram_bot: Bot, fake_telegram: FakeTelegram
) -> None:
    """An empty long poll waits ``timeout``; allowed_updates filters; a newer poll wins."""
    started = time.monotonic()
    assert await telegram_bot.get_updates(timeout=dtm.timedelta(seconds=0.2)) == ()
    assert time.monotonic() - started >= 0.2

    fake_telegram.push_message(ALICE, "ignored")
    sent = await telegram_bot.send_message(
        ALICE,
        "pick",
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]]),
    )
    fake_telegram.push_callback_query(ALICE, ALICE, "a", message_id=sent.message_id)
    [update] = await telegram_bot.get_updates(allowed_updates=["callback_query"])
    assert update.callback_query is not None and update.callback_query.data == "a"
    assert fake_telegram.pending_updates == 1  # the filtered-out message was never delivered

    polls = len(fake_telegram.requests("getUpdates"))
    older = asyncio.create_task(telegram_bot.get_updates(offset=update.update_id + 1, timeout=5))
    await fake_telegram.wait_for("getUpdates", count=polls + 1)
    async with make_bot(fake_telegram) as other:
        assert await other.get_updates(offset=update.update_id + 1) == ()
    with pytest.raises(Conflict, match="terminated by other getUpdates request"):
        await older


async def test_bot_command_entities_like_telegram() -> None:
    """Commands are detected with Telegram's rules, offsets in UTF-16 units."""
    assert bot_command_entities("/start@summit_test_bot now") == [
        {"type": "bot_command", "offset": 0, "length": 22}
    ]
    assert bot_command_entities("🎉 /help") == [{"type": "bot_command", "offset": 3, "length": 5}]
    assert bot_command_entities("a/b /старт /x@ab") == []
    assert parse_html("<b>a</b>&lt;") == ("a<", [{"type": "bold", "offset": 0, "length": 1}])
    assert parse_markdown_v2("||x|| \\!") == (
        "x !",
        [{"type": "spoiler", "offset": 0, "length": 1}],
    )


async def test_application_command_and_location(fake_telegram: FakeTelegram) -> None:
    """A real Application polling the fake handles /start (private and group) and locations."""

    async def start(update: Update, context: Context) -> None:
        assert update.effective_message is not None and update.effective_user is not None
        language = update.effective_user.language_code
        await update.effective_message.reply_text(f"Welcome ({language}) {context.args}")

    async def location(update: Update, context: Context) -> None:
        assert update.effective_message is not None
        point = update.effective_message.location
        assert point is not None
        await update.effective_message.reply_text(f"at {point.latitude:.2f},{point.longitude:.2f}")

    app = app_builder(fake_telegram).build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(MessageHandler(filters.LOCATION, location))
    async with running_application(app):
        fake_telegram.push_message(ALICE, "/start", language_code="de")
        assert await fake_telegram.pop_message(ALICE) == "Welcome (de) []"
        fake_telegram.push_message(
            GROUP, "/start@summit_test_bot tz=CET", user_id=ALICE, language_code="de"
        )
        assert await fake_telegram.pop_message(GROUP) == "Welcome (de) ['tz=CET']"
        fake_telegram.push_location(ALICE, ALICE, 52.52, 13.405)
        assert await fake_telegram.pop_message(ALICE) == "at 52.52,13.40"
    methods = [r.method for r in fake_telegram.sent]
    assert methods[:2] == ["getMe", "deleteWebhook"] and "getUpdates" in methods
    assert fake_telegram.pending_updates == 0  # stop() confirmed the last batch


async def test_callback_query_is_answered(fake_telegram: FakeTelegram) -> None:
    """A button press reaches a CallbackQueryHandler, which answers and edits the message."""

    async def pressed(update: Update, context: Context) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("Saved", show_alert=True)
        await query.edit_message_text(f"You chose {query.data}")

    app = app_builder(fake_telegram).build()
    app.add_handler(CallbackQueryHandler(pressed))
    async with running_application(app):
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("EN", callback_data="lang:en")]])
        sent = await app.bot.send_message(ALICE, "Language?", reply_markup=keyboard)
        update = fake_telegram.push_callback_query(ALICE, ALICE, "lang:en")
        [answer] = await fake_telegram.wait_for("answerCallbackQuery", chat_id=ALICE)
        await fake_telegram.wait_for("editMessageText", chat_id=ALICE)
    assert answer.ok and answer.params["text"] == "Saved" and answer.params["show_alert"] is True
    assert update["callback_query"]["id"] in fake_telegram.callback_answers
    stored = fake_telegram.message(ALICE, sent.message_id)
    assert stored is not None and stored["text"] == "You chose lang:en"
    assert "reply_markup" not in stored  # editing the text without markup drops the keyboard


async def test_my_chat_member_blocks_the_chat(fake_telegram: FakeTelegram) -> None:
    """A 'kicked' my_chat_member update reaches the bot, and later sends get 403."""
    seen: list[str] = []

    async def membership(update: Update, context: Context) -> None:
        assert update.my_chat_member is not None
        seen.append(update.my_chat_member.new_chat_member.status)

    app = app_builder(fake_telegram).build()
    app.add_handler(ChatMemberHandler(membership, ChatMemberHandler.MY_CHAT_MEMBER))
    async with running_application(app):
        fake_telegram.push_my_chat_member(ALICE, ALICE, "member", "kicked")
        fake_telegram.push_message(ALICE, "/sync")
        await fake_telegram.wait_fetched()
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await app.bot.send_message(ALICE, "hello?")
        fake_telegram.push_my_chat_member(ALICE, ALICE, "kicked", "member")
        await fake_telegram.wait_fetched()
        await app.bot.send_message(ALICE, "welcome back")
    assert seen == ["kicked", "member"]


# ------------------------------------------------------------------------------ failures


@pytest.mark.parametrize(
    ("error", "expected", "match"),
    [
        (ApiError.blocked(), Forbidden, "bot was blocked by the user"),
        (ApiError.deactivated(), Forbidden, "user is deactivated"),
        (ApiError.chat_not_found(), BadRequest, "Chat not found"),
        (ApiError.server_error(), NetworkError, "Internal Server Error"),
        (ApiError.bad_gateway(), NetworkError, "Bad Gateway"),
        (Drop(), NetworkError, "Server disconnected"),
    ],
)
async def test_injected_errors(
    telegram_bot: Bot,
    fake_telegram: FakeTelegram,
    error: ApiError | Drop,
    expected: type[Exception],
    match: str,
) -> None:
    """Each injected failure surfaces as the matching PTB exception, once."""
    fake_telegram.fail_next("sendMessage", chat_id=ALICE, error=error)
    with pytest.raises(expected, match=match):
        await telegram_bot.send_message(ALICE, "hi")
    await telegram_bot.send_message(ALICE, "hi again")
    assert fake_telegram.messages_to(ALICE) == ["hi again"]


async def test_retry_after_and_migration(
    telegram_bot: Bot, fake_telegram: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    """429 carries retry_after, 400 carries migrate_to_chat_id; migrate_chat makes it stick."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    fake_telegram.fail_next("sendMessage", error=ApiError.too_many_requests(7))
    with pytest.raises(RetryAfter) as flood:
        await telegram_bot.send_message(ALICE, "hi")
    assert flood.value.retry_after == dtm.timedelta(seconds=7)
    assert fake_telegram.too_many_requests == 1
    assert fake_telegram.sent[-1].response == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 7",
        "parameters": {"retry_after": 7},
    }
    fake_telegram.fail_next("sendMessage", error=ApiError.migrated(-1001234))
    with pytest.raises(ChatMigrated) as moved:
        await telegram_bot.send_message(-55, "hi")
    assert moved.value.new_chat_id == -1001234
    fake_telegram.migrate_chat(-56, -1005678)
    for _ in range(2):
        with pytest.raises(ChatMigrated):
            await telegram_bot.send_message(-56, "hi")
    message = await telegram_bot.send_message(-1005678, "hi")
    assert message.chat.type == "supergroup"


async def test_time_outs(telegram_bot: Bot, fake_telegram: FakeTelegram) -> None:
    """A stalled answer times the client out; with deliver=True the message still arrived."""
    fake_telegram.fail_next("sendMessage", error=Stall(), times=2)
    with pytest.raises(TimedOut):
        await telegram_bot.send_message(ALICE, "lost", read_timeout=0.2)
    fake_telegram.fail_next("sendMessage", error=Stall(deliver=True))
    with pytest.raises(TimedOut):
        await telegram_bot.send_message(ALICE, "lost", read_timeout=0.2)
    with pytest.raises(TimedOut):
        await telegram_bot.send_message(ALICE, "delivered anyway", read_timeout=0.2)
    assert fake_telegram.messages_to(ALICE) == ["delivered anyway"]
    fake_telegram.block(ALICE)
    with pytest.raises(Forbidden):
        await telegram_bot.send_message(ALICE, "x")
    fake_telegram.unblock(ALICE)
    await telegram_bot.send_message(ALICE, "x")


async def test_flood_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """With rate_limit(30), sends beyond 30 in a sliding second get 429 (frozen clock)."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # RetryAfter() itself warns otherwise
    now = [1000.0]
    async with FakeTelegram(clock=lambda: now[0]) as tg:
        async with make_bot(tg) as bot:
            tg.rate_limit(per_second=30)
            results = await asyncio.gather(
                *(bot.send_message(ALICE + i % 3, f"#{i}") for i in range(40)),
                return_exceptions=True,
            )
            floods = [r for r in results if isinstance(r, RetryAfter)]
            assert len(floods) == 10 and tg.too_many_requests == 10
            assert sum(len(tg.messages_to(ALICE + k)) for k in range(3)) == 30
            now[0] += 1.0
            await bot.send_message(ALICE, "after a second")
            assert tg.max_in_any_window(1.0, "sendMessage") == 40
        assert tg.sent[-2].response is not None
        assert tg.sent[-2].response["parameters"] == {"retry_after": 1}


# ------------------------------------------------------------------------------ other methods


async def test_commands_per_language_and_scope(
    telegram_bot: Bot, fake_telegram: FakeTelegram
) -> None:
    """setMyCommands is stored per scope and language_code; get/delete mirror Telegram."""
    await telegram_bot.set_my_commands([BotCommand("next", "Next talk")])
    await telegram_bot.set_my_commands([BotCommand("next", "Nächste Session")], language_code="de")
    await telegram_bot.set_my_commands(
        [("admin", "Admin tools")], scope=BotCommandScopeChat(GROUP), language_code="de"
    )
    assert fake_telegram.commands_for("de") == [
        {"command": "next", "description": "Nächste Session"}
    ]
    assert fake_telegram.commands_for("de", {"type": "chat", "chat_id": GROUP})[0]["command"] == (
        "admin"
    )
    assert [c.description for c in await telegram_bot.get_my_commands()] == ["Next talk"]
    assert await telegram_bot.get_my_commands(language_code="fr") == ()
    await telegram_bot.delete_my_commands(language_code="de")
    assert fake_telegram.commands_for("de") == []
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await telegram_bot.set_my_commands([BotCommand("Next", "Capitalised")])


async def test_send_document_and_download(telegram_bot: Bot, fake_telegram: FakeTelegram) -> None:
    """Multipart uploads record filename, bytes and caption; getFile serves the bytes back."""
    payload = b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
    message = await telegram_bot.send_document(
        ALICE, payload, filename="summit.ics", caption="<b>Your</b> calendar", parse_mode="HTML"
    )
    assert message.document is not None and message.document.file_name == "summit.ics"
    assert message.caption == "Your calendar" and message.caption_entities[0].type == "bold"
    [request] = fake_telegram.requests("sendDocument")
    upload = request.files["document"]
    assert (upload.filename, upload.content) == ("summit.ics", payload)
    assert request.params["caption"] == "<b>Your</b> calendar"
    file = await telegram_bot.get_file(message.document.file_id)
    assert bytes(await file.download_as_bytearray()) == payload


async def test_chat_members_from_admin_table(
    telegram_bot: Bot, fake_telegram: FakeTelegram
) -> None:
    """getChatMember / getChatAdministrators / getChat answer from the test's tables."""
    fake_telegram.add_chat(GROUP, title="Summit crew")
    fake_telegram.admins[GROUP] = {ALICE, fake_telegram.bot_id}
    fake_telegram.owners[GROUP] = 7
    assert isinstance(await telegram_bot.get_chat_member(GROUP, ALICE), ChatMemberAdministrator)
    assert isinstance(await telegram_bot.get_chat_member(GROUP, 99), ChatMemberMember)
    admins = await telegram_bot.get_chat_administrators(GROUP)
    assert isinstance(admins[0], ChatMemberOwner)
    assert sorted(a.user.id for a in admins) == sorted([7, ALICE, fake_telegram.bot_id])
    chat = await telegram_bot.get_chat(GROUP)
    assert (chat.title, chat.type) == ("Summit crew", "supergroup")


async def test_wait_for_times_out_with_context(fake_telegram: FakeTelegram) -> None:
    """wait_for raises TimeoutError naming what did arrive."""
    with pytest.raises(TimeoutError, match="expected 1 sendMessage"):
        await fake_telegram.wait_for("sendMessage", timeout=0.05)


async def test_shutdown_leaves_no_tasks() -> None:
    """Stopping the Application and then the server leaves no pending tasks behind."""
    before = asyncio.all_tasks()
    async with FakeTelegram() as tg:

        async def echo(update: Update, context: Any) -> None:
            assert update.effective_message is not None
            await update.effective_message.reply_text("pong")

        app = app_builder(tg).build()
        app.add_handler(CommandHandler("ping", echo))
        async with running_application(app):
            tg.push_message(ALICE, "/ping")
            assert await tg.pop_message(ALICE) == "pong"
    leftover = [t for t in asyncio.all_tasks() - before if not t.done()]
    assert leftover == []
