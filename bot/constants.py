"""The bot's fixed vocabulary: statuses and kinds as enums, and the meanings of "*".

Enum values are the strings stored in the database, so a `StrEnum` member compares and
stores exactly as the bare string did; no migration is needed.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Final

# "*" is stored in three places, each with its own meaning; each has its own name here.
ALL_SESSIONS: Final = "*"
"""A subscription's session id meaning every session, including those added later."""
EVERY_LANGUAGE: Final = "*"
"""A chat's language meaning every event language (announcement channels)."""
NEUTRAL_LANGUAGE: Final = "*"
"""A schedule text's language key meaning the same text for every language (a name)."""


class ChatKind(StrEnum):
    """Where a chat happens: one person, a group, or a broadcast channel."""

    PRIVATE = "private"
    GROUP = "group"
    CHANNEL = "channel"


class ChatStatus(StrEnum):
    """Whether a chat can be reached."""

    ACTIVE = "active"
    BLOCKED = "blocked"  # the chat blocked the bot (or was deactivated)
    LEFT = "left"  # the bot was removed from the group or channel


class DeliveryKind(StrEnum):
    """What a ledger row carries."""

    REMINDER = "reminder"
    BROADCAST = "broadcast"
    NOTICE = "notice"  # a schedule change


class DeliveryStatus(StrEnum):
    """Where a ledger row is in its life: pending → sending → one final status."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    BLOCKED = "blocked"
    FAILED = "failed"
    EXPIRED = "expired"

    @property
    def final(self) -> bool:
        """Whether nothing more will happen to the row."""
        return self not in (DeliveryStatus.PENDING, DeliveryStatus.SENDING)


def still_waiting(counts: Mapping[str, int]) -> int:
    """How many rows of a delivery count (status → rows) are not final yet."""
    return sum(n for status, n in counts.items() if not DeliveryStatus(status).final)


class BroadcastStatus(StrEnum):
    """Where an organizer's broadcast is: drafted, waiting for its time, going out, over."""

    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"
