"""Chat platforms. The registry below is explicit: a platform is on when its token is set."""

from __future__ import annotations

from collections.abc import Mapping

from bot.adapters.base import Adapter
from bot.config import Settings

# Environment variable → platform. Adapters import their SDK only when chosen.
TOKENS = {"TELEGRAM_BOT_TOKEN": "telegram", "DISCORD_BOT_TOKEN": "discord"}


def build_adapters(
    env: Mapping[str, str], settings: Settings, *, console: bool = False
) -> list[Adapter]:
    """The adapters to run: those whose token is set, or the console when none is (or asked)."""
    chosen = [platform for var, platform in TOKENS.items() if env.get(var)]
    if console or not chosen:
        from bot.adapters.console import ConsoleAdapter

        return [ConsoleAdapter()]
    adapters: list[Adapter] = []
    if "telegram" in chosen:
        from bot.adapters.telegram import TelegramAdapter

        adapters.append(TelegramAdapter.from_env(env, settings))
    if "discord" in chosen:
        from bot.adapters.discord import DiscordAdapter

        adapters.append(DiscordAdapter.from_env(env, settings))
    return adapters
