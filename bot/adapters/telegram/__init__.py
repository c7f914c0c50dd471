"""Telegram, on python-telegram-bot 22: updates in as neutral commands, replies out as HTML.

adapter.py runs the bot (configuration, start-up, polling or webhook, menus); updates.py turns
incoming updates into the core's events and replies.py answers them; sending.py sends what the
delivery engine hands over, text through bot_api.py's lean client; render.py makes Bot API
messages of neutral ones; errors.py maps Telegram's failures to the engine's SendErrors.
"""

from bot.adapters.telegram.adapter import DEFAULT_API_ROOT, TelegramAdapter, Webhook
from bot.adapters.telegram.errors import answer_error, send_error
from bot.adapters.telegram.render import render_html
from bot.adapters.telegram.sending import NO_PREVIEW
from bot.adapters.telegram.updates import ALLOWED_UPDATES, chat_kind

__all__ = [
    "ALLOWED_UPDATES",
    "DEFAULT_API_ROOT",
    "NO_PREVIEW",
    "TelegramAdapter",
    "Webhook",
    "answer_error",
    "chat_kind",
    "render_html",
    "send_error",
]
