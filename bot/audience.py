"""Who a broadcast reaches: a typed audience, stored as JSON in the broadcast's row."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.errors import SummitBotError


class AudienceKind(StrEnum):
    """Whom a broadcast is for; an organizer can name all but ORGANIZERS with `to=`."""

    ALL = "all"  # every subscribed chat
    SESSION = "session"  # the subscribers of one session (directly or through "all")
    LANGUAGE = "language"  # subscribed chats reading one language
    CHANNELS = "channels"  # the announcement channels only
    ORGANIZERS = "organizers"  # the bot's own notes to organizers, queued chat by chat


class AudienceError(SummitBotError, ValueError):
    """A stored audience that cannot be read back."""


@dataclass(frozen=True)
class Audience:
    """An audience; `session` is set for SESSION, `language` and `default` for LANGUAGE.

    `default` is the event's first language: a chat that never chose a language reads it, so
    it belongs to that language's audience. `platforms` (empty: every one) narrows any kind.
    """

    kind: AudienceKind = AudienceKind.ALL
    session: str | None = None
    language: str | None = None
    default: str | None = None
    platforms: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind is AudienceKind.SESSION and not self.session:
            raise AudienceError("a session audience needs a session id")
        if self.kind is AudienceKind.LANGUAGE and not self.language:
            raise AudienceError("a language audience needs a language")

    @classmethod
    def everyone(cls) -> Audience:
        """Every subscribed chat."""
        return cls(AudienceKind.ALL)

    @classmethod
    def of_session(cls, session_id: str) -> Audience:
        """The subscribers of one session."""
        return cls(AudienceKind.SESSION, session=session_id)

    @classmethod
    def of_language(cls, language: str, default: str) -> Audience:
        """Subscribed chats reading `language` (`default`: the event's first language)."""
        return cls(AudienceKind.LANGUAGE, language=language, default=default)

    @classmethod
    def channels(cls) -> Audience:
        """The announcement channels."""
        return cls(AudienceKind.CHANNELS)

    @classmethod
    def organizers(cls) -> Audience:
        """The organizers who have a chat with the bot (recorded, never used as a filter)."""
        return cls(AudienceKind.ORGANIZERS)

    def as_json(self) -> dict[str, Any]:
        """The audience as stored (the same keys the database has always held)."""
        data: dict[str, Any] = {"kind": self.kind.value}
        if self.session is not None:
            data["session"] = self.session
        if self.language is not None:
            data["language"] = self.language
        if self.default is not None:
            data["default"] = self.default
        if self.platforms:
            data["platforms"] = list(self.platforms)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Audience:
        """Read a stored audience back; AudienceError when it is not one."""
        try:
            kind = AudienceKind(str(data.get("kind", "all")))
        except ValueError:
            raise AudienceError(f"unknown audience kind {data.get('kind')!r}") from None
        session, language, default = (data.get(k) for k in ("session", "language", "default"))
        return cls(
            kind,
            session=None if session is None else str(session),
            language=None if language is None else str(language),
            default=None if default is None else str(default),
            platforms=tuple(str(p) for p in data.get("platforms") or ()),
        )
