"""The store's row types: plain frozen values handed to callers, never ORM objects."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final, TypedDict, TypeVar

from bot.audience import Audience
from bot.constants import BroadcastStatus, ChatKind, ChatStatus, DeliveryKind

_MAX_OFFSETS_LEN: Final = 128
_SYSTEM: Final = "system"
_CLI: Final = "cli"

E = TypeVar("E", bound=StrEnum)

# A chat-preferences profile shared by several subscribers: (timezone, quiet start, quiet
# end, offsets), offsets None = the configured default.
QuietProfile = tuple[str | None, str, str, tuple[int, ...] | None]


def member(kind: type[E], value: str, what: str) -> E:
    """`value` as a member of `kind`; ValueError naming `what` when it is not one."""
    try:
        return kind(value)
    except ValueError:
        allowed = sorted(m.value for m in kind)
        raise ValueError(f"unknown {what} {value!r}; expected one of {allowed}") from None


@dataclass(frozen=True, slots=True)
class Author:
    """Who created a broadcast: a user in a chat, an operator at the command line, or the bot.

    Stored as "platform:chat:user" ("telegram:42:7"), "cli:<name>" or "system".
    """

    platform: str
    chat_id: str | None = None
    user_id: str | None = None

    def __post_init__(self) -> None:
        if self.chat_id is None and self.user_id is not None:
            raise ValueError("an author with a user needs a chat")

    @classmethod
    def system(cls) -> Author:
        """The bot itself (its messages to organizers)."""
        return cls(_SYSTEM)

    @classmethod
    def cli(cls, name: str) -> Author:
        """An operator at the command line, by login name."""
        return cls(_CLI, name)

    @classmethod
    def parse(cls, text: str) -> Author:
        """Read a stored created_by back (the inverse of str())."""
        platform, *rest = text.split(":", 2)
        chat_id = rest[0] if rest else None
        user_id = rest[1] if len(rest) > 1 else None
        return cls(platform, chat_id, user_id)

    @property
    def is_system(self) -> bool:
        """Whether the bot itself wrote it."""
        return self.platform == _SYSTEM and self.chat_id is None

    def __str__(self) -> str:
        """The stored form."""
        parts = [p for p in (self.platform, self.chat_id, self.user_id) if p is not None]
        return ":".join(parts)


@dataclass(frozen=True, slots=True)
class ChatRecord:
    """A chat as stored: offsets None = configured default, () = reminders off."""

    pk: int
    platform: str
    chat_id: str
    user_id: str | None
    kind: ChatKind
    language: str | None
    timezone: str | None
    tz_label: str | None
    offsets: tuple[int, ...] | None
    quiet: tuple[str, str] | None
    status: ChatStatus


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """An explicit ledger row to enqueue (the platform is taken from the chat)."""

    chat_pk: int
    kind: DeliveryKind
    ref: str
    due_at: datetime
    session_id: str | None = None
    broadcast_id: int | None = None


@dataclass(frozen=True, slots=True)
class Claimed:
    """A ledger row claimed for sending, with its chat."""

    id: int
    kind: DeliveryKind
    ref: str
    session_id: str | None
    broadcast_id: int | None
    attempts: int
    due_at: datetime
    chat: ChatRecord


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One audit log entry."""

    id: int
    at: datetime
    platform: str
    actor: str
    action: str
    detail: dict[str, Any]
    allowed: bool


@dataclass(frozen=True, slots=True)
class BroadcastRecord:
    """A broadcast as stored."""

    id: int
    created_by: Author
    origin_platform: str
    texts: dict[str, str]
    audience: Audience
    status: BroadcastStatus
    send_at: datetime
    created_at: datetime
    finished_at: datetime | None


class SubscriberStats(TypedDict):
    """Subscriber figures: active chats with at least one subscription (None = not chosen)."""

    total: int
    by_platform: dict[str, int]
    by_language: dict[str | None, int]
    by_timezone: list[tuple[str | None, int]]
    by_session: dict[str, int]


def encode_offsets(offsets: Iterable[int] | None) -> str | None:
    """Encode reminder offsets (minutes) as ",1440,60,0," (largest first); [] → ","."""
    if offsets is None:
        return None
    values = sorted({int(m) for m in offsets}, reverse=True)
    if any(m < 0 for m in values):
        raise ValueError(f"reminder offsets must be >= 0 minutes, got {values}")
    text = "," + "".join(f"{m}," for m in values)
    if len(text) > _MAX_OFFSETS_LEN:
        raise ValueError(f"too many reminder offsets ({len(values)})")
    return text


def decode_offsets(text: str | None) -> tuple[int, ...] | None:
    """Decode the stored offsets column (None stays None = the configured default)."""
    if text is None:
        return None
    return tuple(int(part) for part in text.split(",") if part)
