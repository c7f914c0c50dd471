"""The Discord adapter (in progress: see its issue)."""

from __future__ import annotations

from collections.abc import Mapping

from bot.adapters.base import Adapter
from bot.config import ConfigError, Settings


class DiscordAdapter:
    """Placeholder until the Discord adapter lands."""

    @classmethod
    def from_env(cls, env: Mapping[str, str], settings: Settings) -> Adapter:
        """Refuse plainly rather than start a worker that ignores the token."""
        raise ConfigError(
            "discord: this build has no Discord adapter yet; unset its token or use --console"
        )
