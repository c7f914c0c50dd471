"""Incoming updates as the core's neutral events: commands, button presses, shared locations,
the bot's membership in a chat, and groups that moved to a new id.

A chat's updates are handled one at a time, in order, different chats at once: processor.py
runs them so (`ChatLanes`), before these handlers are called.
"""

from __future__ import annotations

import contextlib
import html
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from telegram import (
    Bot,
    Chat,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
    User,
)
from telegram import Message as TgMessage
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    MessageHandler,
    filters,
)

from bot.adapters.base import Core, hinted_language
from bot.adapters.redaction import redact
from bot.adapters.telegram.render import Renderer
from bot.adapters.telegram.replies import Replies
from bot.constants import ChatKind, ChatStatus
from bot.i18n import t
from bot.messages import (
    NOT_A_COMMAND,
    Command,
    ParsedCommand,
    Reply,
    parse_action,
    parse_command,
)

log = logging.getLogger(__name__)

# Updates the bot acts on; anything else is not even fetched.
ALLOWED_UPDATES = ("message", "channel_post", "callback_query", "my_chat_member")
ADMIN_STATUSES = frozenset({"administrator", "creator"})
GONE_STATUSES = frozenset({"kicked", "left"})
ANONYMOUS_ADMIN_ID = 1087968824  # @GroupAnonymousBot: an admin posting as the group itself
ADMINS_KEPT = 10_000  # cached admin answers before the expired ones are swept
# Opposite button actions: pressing one on a card swaps it for the other in place.
TOGGLES = {"subscribe": "unsubscribe", "unsubscribe": "subscribe"}


def chat_kind(chat_type: str) -> ChatKind:
    """Telegram's chat type as the core's chat kind."""
    if chat_type == Chat.PRIVATE:
        return ChatKind.PRIVATE
    if chat_type == Chat.CHANNEL:
        return ChatKind.CHANNEL
    return ChatKind.GROUP  # group and supergroup


def _addressed_elsewhere(text: str, username: str) -> bool:
    """Whether "/cmd@OtherBot" names another bot (groups can have several)."""
    head = text.strip().split(maxsplit=1)[0] if text.strip() else ""
    _, at, name = head.partition("@")
    # ("mail me@example.org" is no command: it is answered with a hint in a private chat.)
    return head.startswith("/") and bool(at) and name.lower() != username.lower()


class UpdateHandler:
    """PTB's handlers for one running adapter: each update in, the core's answer out."""

    def __init__(
        self,
        platform: str,
        core: Core,
        renderer: Renderer,
        replies: Replies,
        *,
        admin_ttl: float,
        queued: Callable[[], float] = lambda: 0.0,
    ) -> None:
        self.platform = platform
        self.admin_ttl = admin_ttl  # seconds an answer about a group admin is trusted
        self._core = core
        self._renderer = renderer
        self._replies = replies
        # Seconds the update in hand waited behind its chat's earlier ones (ChatLanes.queued).
        self._queued = queued
        self._admins: dict[tuple[int, int], tuple[float, bool]] = {}

    def register(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """Add the handlers to `app`, each for the updates it answers."""
        fresh = filters.UpdateType.MESSAGE | filters.UpdateType.CHANNEL_POST  # not edits
        # Every text, not only commands: the core hints at /help in a private chat (and says
        # nothing in a group) when the text is no command.
        app.add_handler(MessageHandler(fresh & filters.TEXT, self._on_command))
        # Locations only in private chats: in a group, people share places for other reasons.
        private_location = filters.ChatType.PRIVATE & filters.LOCATION
        app.add_handler(MessageHandler(fresh & private_location, self._on_location))
        app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, self._on_migrate))
        app.add_handler(CallbackQueryHandler(self._on_callback))
        app.add_handler(ChatMemberHandler(self._on_membership, ChatMemberHandler.MY_CHAT_MEMBER))
        app.add_error_handler(self._on_error)

    async def _is_admin(
        self, bot: Bot, chat: Chat, user_id: int, sender_chat: Chat | None
    ) -> bool:
        """Whether the user may change a group's settings (asked of Telegram, cached briefly)."""
        if chat.type in (Chat.PRIVATE, Chat.CHANNEL):
            return True  # only a channel's admins can post in it
        if sender_chat is not None and sender_chat.id == chat.id:
            return True  # an anonymous admin, posting as the group
        now = time.monotonic()
        cached = self._admins.get((chat.id, user_id))
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            member = await bot.get_chat_member(chat.id, user_id)
        except TelegramError as exc:
            log.warning("telegram: cannot check a group admin: %s", redact(str(exc)))
            return False  # when in doubt, the group's settings stay as they are
        allowed = member.status in ADMIN_STATUSES
        if len(self._admins) > ADMINS_KEPT:
            self._admins = {k: v for k, v in self._admins.items() if v[0] > now}
        self._admins[(chat.id, user_id)] = (now + self.admin_ttl, allowed)
        return allowed

    async def _command(
        self,
        bot: Bot,
        parsed: ParsedCommand | None,
        chat: Chat,
        user: User | None,
        sender_chat: Chat | None,
    ) -> Command | None:
        """The neutral command for what was said (or pressed) in `chat` by `user`."""
        if parsed is None:
            return None
        name, args, rest = parsed
        if user is not None and user.id != ANONYMOUS_ADMIN_ID:
            user_id, hint = user.id, user.language_code
        else:  # a channel post, or an anonymous admin: the chat speaks for itself
            user_id, hint = (sender_chat.id if sender_chat else chat.id), None
        # Text that is no command needs no rights: Telegram is not asked about mere chatter.
        wanted = name != NOT_A_COMMAND
        return Command(
            self.platform,
            str(chat.id),
            str(user_id),
            name,
            args,
            rest,
            chat_kind=chat_kind(chat.type),
            locale_hint=hint,
            is_admin=wanted and await self._is_admin(bot, chat, user_id, sender_chat),
            queued=self._queued(),
        )

    async def _on_command(self, update: Update, context: Any) -> None:
        message = update.effective_message
        if message is None or message.text is None:
            return
        bot: Bot = context.bot
        if _addressed_elsewhere(message.text, bot.username):
            return
        parsed = parse_command(message.text)
        done = await self._answer(
            bot, parsed, message.chat, message.from_user, message.sender_chat
        )
        if done is None:
            return
        command, reply, sent = done
        wants_zone = command.name == "timezone" and not command.args
        if sent and wants_zone and command.chat_kind == ChatKind.PRIVATE:
            await self._offer_location(bot, message.chat.id, reply.lang or command.locale_hint)

    async def _answer(
        self,
        bot: Bot,
        parsed: ParsedCommand | None,
        chat: Chat,
        user: User | None,
        sender_chat: Chat | None,
    ) -> tuple[Command, Reply, bool] | None:
        """What was said (or pressed) in `chat`, answered there by the core:
        (command, reply, whether the reply went out); None if there was nothing to answer."""
        command = await self._command(bot, parsed, chat, user, sender_chat)
        if command is None:
            return None
        reply = await self._core.on_command(command)
        if reply is None or not reply.messages:  # stopping, or nothing to say (a flood)
            return None
        return command, reply, await self._replies.say(bot, chat.id, reply)

    async def _offer_location(self, bot: Bot, chat_id: int, hint: str | None) -> None:
        """A keyboard button that shares the viewer's location (private chats only).

        `hint` is the reply's language (the viewer's choice) or else the app's language.
        """
        lang = hinted_language(self._core, hint)
        keyboard = ReplyKeyboardMarkup(
            [[KeyboardButton(t("telegram.location_button", lang), request_location=True)]],
            resize_keyboard=True,
            one_time_keyboard=True,
        )
        text = html.escape(t("telegram.location_prompt", lang), quote=False)
        await self._replies.post(bot, chat_id, text, keyboard)

    async def _on_location(self, update: Update, context: Any) -> None:
        message = update.effective_message
        if message is None or message.location is None:
            return
        bot: Bot = context.bot
        command = await self._command(
            bot, ("timezone", (), ""), message.chat, message.from_user, message.sender_chat
        )
        if command is None:
            return
        point = message.location
        facts = {"latitude": str(point.latitude), "longitude": str(point.longitude)}
        command = replace(command, extra=facts)
        reply = await self._core.on_location(command, point.latitude, point.longitude)
        if reply.messages:  # (none: a flooding viewer, already told to slow down)
            await self._replies.say(bot, message.chat.id, reply, after=ReplyKeyboardRemove())

    async def _on_callback(self, update: Update, context: Any) -> None:
        query = update.callback_query
        if query is None:
            return
        bot: Bot = context.bot
        where = query.message
        if where is None:  # a button on an inline-mode message: this bot sends none
            with contextlib.suppress(TelegramError):
                await query.answer()
            return
        try:
            await query.answer()  # stop the button's spinner whatever happens next
        except TelegramError as exc:
            log.info("telegram: answering a button press failed: %s", redact(str(exc)))
        data = query.data or ""
        action = await self._renderer.action_of(data)
        if action is None:
            lang = hinted_language(self._core, query.from_user.language_code)
            notice = html.escape(t("telegram.button_expired", lang), quote=False)
            await self._replies.post(bot, where.chat.id, notice, None)
            return
        done = await self._answer(bot, parse_action(action), where.chat, query.from_user, None)
        if done is not None and isinstance(where, TgMessage):
            # (An inaccessible message is too old to edit: the new one suffices.)
            command, reply, _ = done
            await self._flip_toggle(bot, where, data, command, reply)

    async def _flip_toggle(
        self, bot: Bot, where: TgMessage, data: str, command: Command, reply: Reply
    ) -> None:
        """After "subscribe s1" pressed on a card, the card's button becomes "unsubscribe s1".

        Only when the reply offers the opposite action, i.e. the state really changed; the
        confirmation itself still comes as a new message.
        """
        opposite = TOGGLES.get(command.name)
        markup = where.reply_markup
        if opposite is None or not command.args or markup is None:
            return
        wanted = f"{opposite} {' '.join(command.args)}"
        swap = next(
            (b for m in reply.messages for row in m.buttons for b in row if b.action == wanted),
            None,
        )
        if swap is None:
            return
        new = await self._renderer.button(swap)
        rows = [
            [new if b.callback_data == data else b for b in row] for row in markup.inline_keyboard
        ]
        try:
            await bot.edit_message_reply_markup(
                where.chat.id, where.message_id, reply_markup=InlineKeyboardMarkup(rows)
            )
        except TelegramError as exc:
            log.info("telegram: updating a card's button failed: %s", redact(str(exc)))

    async def _on_membership(self, update: Update, context: Any) -> None:
        change = update.my_chat_member
        if change is None:
            return
        chat = change.chat
        member = change.new_chat_member
        status: ChatStatus
        if member.status in GONE_STATUSES:
            status = ChatStatus.BLOCKED if chat.type == Chat.PRIVATE else ChatStatus.LEFT
        elif member.status == "restricted":
            status = ChatStatus.ACTIVE if getattr(member, "is_member", False) else ChatStatus.LEFT
        else:
            status = ChatStatus.ACTIVE
        await self._core.on_chat_status(self.platform, str(chat.id), status)

    async def _on_migrate(self, update: Update, context: Any) -> None:
        message = update.effective_message
        if message is None:
            return
        # Telegram says it twice: "moved to" in the old group, "moved from" in the new one;
        # moving a chat that already moved does nothing, so either may arrive first.
        if message.migrate_to_chat_id is not None:
            old, new = message.chat.id, message.migrate_to_chat_id
        elif message.migrate_from_chat_id is not None:
            old, new = message.migrate_from_chat_id, message.chat.id
        else:
            return
        log.info("telegram: a group moved to a new id (supergroup)")
        # (Both messages wait in the new chat's lane: commands there wait for the move.)
        await self._core.on_chat_migrated(self.platform, str(old), str(new))

    async def _on_error(self, update: object, context: Any) -> None:
        error = getattr(context, "error", None)
        log.error(
            "telegram: handling an update failed: %s",
            redact(repr(error)),
            exc_info=error if isinstance(error, BaseException) else None,
        )
