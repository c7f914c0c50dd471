"""A what-if for the throughput figure: reminders posted straight to the Bot API with aiohttp.

Not used by the bot. The Telegram adapter sends through python-telegram-bot, whose HTTP client
(httpx) and object model cost most of the CPU per message; this subclass keeps the adapter
for everything else and replaces only `send` with one JSON POST per part, so that the
benchmark can show what the delivery engine does with a lean transport.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from bot.adapters.base import Blocked, Migrated, Recipient, Rejected, RetryAfter, Transient
from bot.adapters.telegram import TelegramAdapter, chat_ref, render_html
from bot.messages import Message


class LeanTelegram(TelegramAdapter):
    """The Telegram adapter with `send` as a plain aiohttp POST of sendMessage."""

    _session: aiohttp.ClientSession | None = None

    async def stop(self) -> None:
        """Close the lean session too."""
        if self._session is not None:
            await self._session.close()
        await super().stop()

    async def send(self, to: Recipient, message: Message, *, key: str) -> None:
        """Post each HTML part; map Bot API errors like the adapter does."""
        if self._session is None:
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=16))
        url = f"{self.api_root}/bot{self._token}/sendMessage"
        buttons = [[{"text": link.label, "url": link.url}] for link in message.links]
        parts = render_html(message, self.limits.max_text)
        for index, text in enumerate(parts):
            body: dict[str, Any] = {
                "chat_id": chat_ref(to.chat_id),
                "text": text,
                "parse_mode": "HTML",
                "link_preview_options": {"is_disabled": True},
            }
            if buttons and index == len(parts) - 1:
                body["reply_markup"] = {"inline_keyboard": buttons}
            try:
                async with self._session.post(url, json=body) as res:
                    answer = json.loads(await res.read())
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise Transient(f"{type(exc).__name__}: {exc}") from None
            if answer.get("ok"):
                continue
            code, text_ = answer.get("error_code"), str(answer.get("description"))
            parameters = answer.get("parameters") or {}
            if code == 429:
                raise RetryAfter(float(parameters.get("retry_after", 1)), text_)
            if "migrate_to_chat_id" in parameters:
                raise Migrated(str(parameters["migrate_to_chat_id"]))
            if code == 403:
                raise Blocked(text_)
            if code == 400:
                raise Rejected(text_)
            raise Transient(text_)
