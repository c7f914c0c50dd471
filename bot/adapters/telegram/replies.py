"""Answers to what people say and press, sent at once through PTB in the core's reply slots.

Unlike the delivery engine's sends (sending.py), a reply that fails is logged, not raised:
nobody retries it, and a short flood wait is waited out once, for the viewer is waiting.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Bot, InlineKeyboardMarkup, ReplyKeyboardRemove
from telegram.error import TelegramError

from bot.adapters.base import Blocked, Core, RetryAfter, SendError
from bot.adapters.telegram.errors import send_error
from bot.adapters.telegram.render import Renderer
from bot.adapters.telegram.sending import Markup, deliver
from bot.constants import ChatStatus
from bot.messages import Attachment, Reply

log = logging.getLogger(__name__)

SHORT_FLOOD_WAIT = 5  # seconds a reply waits out once rather than failing


class Replies:
    """Sends the core's replies to the chat they answer; a failure is logged, never raised."""

    def __init__(self, platform: str, core: Core, renderer: Renderer) -> None:
        self.platform = platform
        self._core = core
        self._renderer = renderer

    async def say(
        self,
        bot: Bot,
        chat_id: int,
        reply: Reply,
        *,
        after: ReplyKeyboardRemove | None = None,
    ) -> bool:
        """Send a command's reply to a chat; `after` rides on the first part without buttons."""
        for message in reply.messages:
            for text, markup, document in await self._renderer.parts(message):
                extra: InlineKeyboardMarkup | ReplyKeyboardRemove | None = markup
                if markup is None and after is not None:
                    extra, after = after, None
                if not await self.post(bot, chat_id, text, extra, document):
                    return False
        return True

    async def post(
        self,
        bot: Bot,
        chat_id: int,
        text: str,
        markup: Markup | None,
        document: Attachment | None = None,
    ) -> bool:
        """One reply message; a failure is logged (and a block recorded), never raised.

        A short flood wait is waited out once: the viewer is waiting for this answer.
        """
        error: SendError
        for attempt in (1, 2):
            try:
                # The chat's own pace too: Telegram allows about one message a second in a
                # chat (20 a minute in a group) and answers more with 429s.
                async with self._core.reply_slot(self.platform, str(chat_id), group=chat_id < 0):
                    await deliver(bot, chat_id, text, markup, document)
                return True
            except TelegramError as exc:
                error = send_error(exc)
                if (
                    attempt == 1
                    and isinstance(error, RetryAfter)
                    and error.seconds <= SHORT_FLOOD_WAIT
                ):
                    await asyncio.sleep(error.seconds)
                    continue
                break
        log.warning("telegram: replying failed: %s", error)
        if isinstance(error, Blocked):
            status = ChatStatus.BLOCKED if chat_id > 0 else ChatStatus.LEFT
            await self._core.on_chat_status(self.platform, str(chat_id), status)
        return False
