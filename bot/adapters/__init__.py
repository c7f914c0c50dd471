"""Chat platforms. The registry below is explicit: a platform is on when its token is set."""

from __future__ import annotations

from collections.abc import Mapping

from bot.adapters.base import Adapter
from bot.config import ConfigError

# Environment variable → platform. Adapters import their SDK only when chosen.
TOKENS = {"TELEGRAM_BOT_TOKEN": "telegram", "DISCORD_BOT_TOKEN": "discord"}


def build_adapters(env: Mapping[str, str], *, console: bool = False) -> list[Adapter]:
    """The adapters to run: those whose token is set, or the console when none is (or asked)."""
    chosen = [platform for var, platform in TOKENS.items() if env.get(var)]
    if console or not chosen:
        from bot.adapters.console import ConsoleAdapter

        return [ConsoleAdapter()]
    for platform in chosen:
        # The Telegram and Discord adapters land in their own issues; until then say so
        # plainly rather than start a worker that silently ignores a token.
        raise ConfigError(
            f"{platform}: this build has no {platform} adapter yet; unset its token or run "
            "with --console"
        )
    return []
