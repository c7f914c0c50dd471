"""The command names: what /help and the platforms' menus list, in order, and who may run what."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

HELP_ORDER: Final[tuple[str, ...]] = (
    "start",
    "help",
    "schedule",
    "next",
    "now",
    "find",
    "session",
    "subscribe",
    "unsubscribe",
    "mysubs",
    "calendar",
    "timezone",
    "language",
    "remind",
    "quiet",
)
"""The commands viewers can use, in the order /help and the menus list them."""

ALIASES: Final[Mapping[str, str]] = {"agenda": "schedule"}
"""Other names viewers type for a command (answered, not listed)."""

ORGANIZER_ORDER: Final[tuple[str, ...]] = ("broadcast", "stats", "reload", "dashboard")
"""The commands only organizers may run, in the order /help and the menus list them."""

# Commands that change a chat's settings: in a group only its admins may run them.
SETTINGS_COMMANDS: Final = frozenset(
    {"subscribe", "unsubscribe", "timezone", "language", "remind", "quiet"}
)
