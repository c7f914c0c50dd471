"""The Telegram adapter (in progress: see its issue)."""

from __future__ import annotations

from collections.abc import Mapping

from bot.adapters.base import Adapter
from bot.config import ConfigError, Settings


class TelegramAdapter:
    """Placeholder until the Telegram adapter lands."""

    @classmethod
    def from_env(cls, env: Mapping[str, str], settings: Settings) -> Adapter:
        """Refuse plainly rather than start a worker that ignores the token."""
        raise ConfigError(
            "telegram: this build has no Telegram adapter yet; unset its token or use --console"
        )
