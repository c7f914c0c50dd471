"""`getMe` for `summit-bot doctor`: who TELEGRAM_BOT_TOKEN is, without starting the bot."""

from __future__ import annotations

from collections.abc import Mapping

from telegram import Bot
from telegram.error import InvalidToken, TelegramError
from telegram.request import HTTPXRequest

from bot.adapters.probe import BotIdentity, TokenRejected, Unreachable
from bot.adapters.redaction import redact
from bot.adapters.telegram.adapter import TelegramAdapter
from bot.config import Settings


async def probe(
    env: Mapping[str, str], settings: Settings, *, call_timeout: float = 10.0
) -> BotIdentity:
    """The bot the environment's token names, asked with `getMe` at TELEGRAM_API_BASE_URL.

    Raises ConfigError where `run` would refuse the environment (the same checks, from
    `TelegramAdapter.from_env`), TokenRejected or Unreachable; none of them holds the token.
    """
    adapter = TelegramAdapter.from_env(env, settings)  # registers the token with the redactor
    seconds = call_timeout
    request = HTTPXRequest(
        connect_timeout=seconds, read_timeout=seconds, write_timeout=seconds, pool_timeout=seconds
    )
    bot = Bot(
        env["TELEGRAM_BOT_TOKEN"].strip(), base_url=f"{adapter.api_root}/bot", request=request
    )
    try:
        async with bot:  # initialize() is the getMe call
            return BotIdentity("telegram", f"@{bot.username}", bot.first_name)
    except InvalidToken:
        raise TokenRejected(
            "TELEGRAM_BOT_TOKEN was rejected by the Bot API",
            "copy the token again from @BotFather (/mybots → your bot → API Token)",
        ) from None
    except TelegramError as exc:
        raise Unreachable(
            f"no answer from the Bot API at {adapter.api_root} ({redact(str(exc))})",
            "check the network, HTTPS_PROXY and TELEGRAM_API_BASE_URL",
        ) from None
