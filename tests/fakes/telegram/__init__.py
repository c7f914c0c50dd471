"""A fake Telegram Bot API server (aiohttp) for driving the real python-telegram-bot in tests.

Start it with ``async with FakeTelegram() as tg:`` and point PTB at ``tg.base_url`` /
``tg.base_file_url``. Tests inject updates (``push_*``), read what the bot sent (``sent``,
``wait_for``, ``pop_message``) and inject failures (``fail_next``, ``block``, ``rate_limit``).

Wire format notes (what PTB 22 actually sends and expects):

* PTB posts ``application/x-www-form-urlencoded`` bodies (``multipart/form-data`` when files are
  uploaded) in which string parameters are sent raw and everything else is JSON-encoded; plain
  JSON bodies are accepted too. Parameters are decoded accordingly (see ``_STRING_PARAMS``).
* Every answer is ``{"ok": true, "result": ...}`` or
  ``{"ok": false, "error_code": N, "description": "...", "parameters": {...}}`` with the HTTP
  status equal to ``error_code``; PTB maps 400/401/403/404/409/429 and ``parameters`` to its
  exception classes.
* ``parse_mode`` HTML / MarkdownV2 / Markdown is parsed like Telegram (a port of TDLib's parsers):
  the returned message carries the plain text and ``entities`` with UTF-16 offsets, and invalid
  markup is rejected with Telegram's ``can't parse entities`` errors.
"""

from __future__ import annotations

from tests.fakes.telegram.entities import MarkupError, bot_command_entities, utf16_len
from tests.fakes.telegram.failures import ApiError, Drop, Failure, Stall
from tests.fakes.telegram.html_mode import parse_html
from tests.fakes.telegram.markdown_mode import parse_markdown, parse_markdown_v2
from tests.fakes.telegram.records import Request, UploadedFile
from tests.fakes.telegram.server import FakeTelegram
from tests.fakes.telegram.world import DEFAULT_TOKEN

__all__ = [
    "DEFAULT_TOKEN",
    "ApiError",
    "Drop",
    "Failure",
    "FakeTelegram",
    "MarkupError",
    "Request",
    "Stall",
    "UploadedFile",
    "bot_command_entities",
    "parse_html",
    "parse_markdown",
    "parse_markdown_v2",
    "utf16_len",
]
