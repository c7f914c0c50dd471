"""Reminders, broadcasts and notices out to Telegram, for the delivery engine.

Text goes through the Bot API poster (plain JSON POSTs, bot_api.py), documents through PTB;
a split message that failed part-way resumes, when retried, after the parts already sent.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, ClassVar

from telegram import (
    Bot,
    InlineKeyboardMarkup,
    InputFile,
    LinkPreviewOptions,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.adapters.base import Blocked, Recipient, Rejected, SendError
from bot.adapters.telegram.bot_api import BotApiPoster
from bot.adapters.telegram.errors import send_error
from bot.adapters.telegram.render import Renderer
from bot.messages import Attachment, Message

log = logging.getLogger(__name__)

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)  # links are URL buttons; previews only add bulk

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


def chat_ref(chat_id: str) -> int | str:
    """A stored chat id as the Bot API wants it: a number, or a public "@channel" name."""
    return int(chat_id) if re.fullmatch(r"-?\d+", chat_id) else chat_id


async def deliver(
    bot: Bot,
    chat_id: int | str,
    text: str,
    markup: Markup | None,
    document: Attachment | None,
    silent: bool = False,
) -> None:
    """One Bot API message through PTB: the text, or the document captioned with it (if any)."""
    if document is None:
        await bot.send_message(
            chat_id,
            text,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
            link_preview_options=NO_PREVIEW,
            disable_notification=silent,
        )
        return
    await bot.send_document(
        chat_id,
        InputFile(document.data, filename=document.filename),
        caption=text or None,
        parse_mode=ParseMode.HTML if text else None,
        reply_markup=markup,
        disable_notification=silent,
    )


class Sender:
    """The adapter's `send`: one message to one chat, failures raised as SendErrors."""

    BODIES_KEPT: ClassVar[int] = 64  # messages whose sendMessage bodies are kept
    KEYS_KEPT: ClassVar[int] = 10_000  # ledger keys whose sent parts are remembered

    def __init__(self, poster: BotApiPoster, renderer: Renderer) -> None:
        self._poster = poster
        self._renderer = renderer
        self._parts_sent: OrderedDict[str, int] = OrderedDict()  # ledger key → parts delivered
        self._bodies_of: OrderedDict[int, tuple[Message, list[dict[str, Any]]]] = OrderedDict()

    async def send(self, bot: Bot, to: Recipient, message: Message, *, key: str) -> None:
        """Send one reminder or broadcast; a long text goes as several messages."""
        chat_id = chat_ref(to.chat_id)
        calls: list[Callable[[], Awaitable[object]]]
        if message.attachment is None:
            # The fan-out's hot path: plain JSON POSTs (bot_api.py), not PTB's request stack.
            quiet = {"disable_notification": True} if message.silent else {}
            calls = [
                partial(self._poster.call, "sendMessage", {"chat_id": chat_id, **body, **quiet})
                for body in await self._bodies(message)
            ]
        else:
            calls = [
                partial(deliver, bot, chat_id, text, markup, document, message.silent)
                for text, markup, document in await self._renderer.parts(message)
            ]
        # A retry of a split message resumes after the parts that already went out.
        done = self._parts_sent.get(key, 0)
        try:
            for index in range(done, len(calls)):
                await calls[index]()
                self._note_parts(key, index + 1)
        except Exception as exc:
            if not isinstance(exc, TelegramError | SendError):
                log.warning("telegram: unexpected error sending %s", key, exc_info=True)
            error = exc if isinstance(exc, SendError) else send_error(exc)
            if isinstance(error, Blocked | Rejected):
                self._parts_sent.pop(key, None)
            raise error from None
        self._parts_sent.pop(key, None)

    async def _bodies(self, message: Message) -> list[dict[str, Any]]:
        """The sendMessage bodies of a text message, without chat_id; one per part.

        The delivery engine hands every recipient of a group the same Message object, so
        the bodies are kept for the last few messages rather than rebuilt per recipient.
        """
        cached = self._bodies_of.get(id(message))
        if cached is not None and cached[0] is message:
            return cached[1]
        bodies: list[dict[str, Any]] = []
        for text, markup, _ in await self._renderer.parts(message):
            body: dict[str, Any] = {
                "text": text,
                "parse_mode": ParseMode.HTML.value,
                "link_preview_options": NO_PREVIEW.to_dict(),
            }
            if markup is not None:
                body["reply_markup"] = markup.to_dict()
            bodies.append(body)
        self._bodies_of[id(message)] = (message, bodies)
        while len(self._bodies_of) > self.BODIES_KEPT:
            self._bodies_of.popitem(last=False)
        return bodies

    def _note_parts(self, key: str, count: int) -> None:
        self._parts_sent[key] = count
        self._parts_sent.move_to_end(key)
        while len(self._parts_sent) > self.KEYS_KEPT:  # rows never retried: forget the oldest
            self._parts_sent.popitem(last=False)
