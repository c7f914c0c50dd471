"""Neutral messages as Bot API messages: HTML parts, inline keyboards and their callback data."""

from __future__ import annotations

import base64
import hashlib
import html
from collections import OrderedDict
from typing import ClassVar, NamedTuple

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.adapters.base import Core, split_text
from bot.messages import Attachment, Button, Message

CALLBACK_DATA_MAX = 64  # bytes, a Bot API limit
CAPTION_MAX = 1024  # characters in a document's caption, a Bot API limit
TOKEN_PREFIX = "~"  # marks callback data that stands for a longer action (actions are a-z)


class Part(NamedTuple):
    """One Bot API message: HTML text, or a document with that text as its caption."""

    text: str
    markup: InlineKeyboardMarkup | None
    document: Attachment | None = None


def render_html(message: Message, limit: int) -> list[str]:
    """A message as Telegram HTML parts of at most `limit` visible characters each.

    The plain text is split first and each part escaped after, so that a split can never cut
    an entity in two, and the limit counts what the reader sees. The title is bold.
    """
    title = message.title or ""
    full = f"{title}\n{message.text}" if title and message.text else title or message.text
    parts: list[str] = []
    for index, chunk in enumerate(split_text(full, limit)):
        if not chunk.strip():
            continue  # Telegram refuses an empty message
        if index == 0 and title and (chunk == title or chunk.startswith(f"{title}\n")):
            rest = chunk[len(title) + 1 :]
            bold = f"<b>{html.escape(title, quote=False)}</b>"
            parts.append(f"{bold}\n{html.escape(rest, quote=False)}" if rest else bold)
        else:
            parts.append(html.escape(chunk, quote=False))
    return parts


class Renderer:
    """Messages as parts with their keyboards; button actions as callback data and back.

    An action longer than callback data may hold travels as a short token; the token is kept
    here for the last few thousand actions and in the core's memory, so that buttons sent
    before a restart still work after it.
    """

    ACTIONS_KEPT: ClassVar[int] = 4096

    def __init__(self, platform: str, max_text: int) -> None:
        self.platform = platform
        self.max_text = max_text
        # Set by the adapter when it starts: the core remembers tokens across restarts.
        self.core: Core | None = None
        self._actions: OrderedDict[str, str] = OrderedDict()  # callback token → action

    async def parts(self, message: Message) -> list[Part]:
        """HTML parts, the keyboard (links first, as URL buttons) on the last one.

        An attachment goes last, as a document carrying the keyboard, captioned with the text
        when it fits a caption (else the text goes before it, as messages).
        """
        rows: list[list[InlineKeyboardButton]] = [
            [InlineKeyboardButton(link.label, url=link.url)] for link in message.links
        ]
        for row in message.buttons:
            rows.append([await self.button(b) for b in row])
        markup = InlineKeyboardMarkup(rows) if rows else None
        document = message.attachment
        if document is not None:
            caption = render_html(message, CAPTION_MAX)
            if len(caption) <= 1:
                return [Part(caption[0] if caption else "", markup, document)]
            texts = render_html(message, self.max_text)
            return [*(Part(text, None) for text in texts), Part("", markup, document)]
        texts = render_html(message, self.max_text)
        last = len(texts) - 1
        return [Part(text, markup if i == last else None) for i, text in enumerate(texts)]

    async def button(self, button: Button) -> InlineKeyboardButton:
        """The inline button that sends `button`'s action back when pressed."""
        return InlineKeyboardButton(button.label, callback_data=await self.callback_data(button))

    async def callback_data(self, button: Button) -> str:
        """The button's action, or a short token for it when the action is over 64 bytes."""
        action = button.action
        if len(action.encode("utf-8")) <= CALLBACK_DATA_MAX and not action.startswith(
            TOKEN_PREFIX
        ):
            return action
        digest = hashlib.sha256(action.encode("utf-8")).digest()[:12]
        token = TOKEN_PREFIX + base64.urlsafe_b64encode(digest).decode("ascii")
        if token not in self._actions and self.core is not None:
            # Stored too, so that buttons sent before a restart still work after it.
            await self.core.remember(self.platform, "action", token, action)
        self._actions[token] = action
        self._actions.move_to_end(token)
        while len(self._actions) > self.ACTIONS_KEPT:
            self._actions.popitem(last=False)
        return token

    async def action_of(self, data: str) -> str | None:
        """The action behind a button's callback data (None: a token nobody knows any more)."""
        if not data.startswith(TOKEN_PREFIX):
            return data
        action = self._actions.get(data)
        if action is None and self.core is not None:
            action = await self.core.recall(self.platform, "action", data)
            if action is not None:
                self._actions[data] = action
        return action
