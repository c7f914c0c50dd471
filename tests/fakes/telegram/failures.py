"""Failures a test arranges for a call: an error answer, a stall, a dropped connection."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from tests.fakes.telegram.records import JSON


class ApiError(Exception):
    """An error answer in the exact Bot API shape; raise or pass to ``fail_next``."""

    def __init__(
        self, status: int, description: str, parameters: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = dict(parameters) if parameters else None

    def __repr__(self) -> str:
        return f"ApiError({self.status}, {self.description!r}, {self.parameters!r})"

    def body(self) -> JSON:
        """The JSON body Telegram would send."""
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = dict(self.parameters)
        return body

    @classmethod
    def too_many_requests(cls, retry_after: int = 5) -> ApiError:
        """429 flood-control answer with ``parameters.retry_after``."""
        return cls(
            429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
        )

    @classmethod
    def blocked(cls) -> ApiError:
        """403: the user blocked the bot."""
        return cls(403, "Forbidden: bot was blocked by the user")

    @classmethod
    def deactivated(cls) -> ApiError:
        """403: the user deleted their account."""
        return cls(403, "Forbidden: user is deactivated")

    @classmethod
    def kicked(cls, *, supergroup: bool = False) -> ApiError:
        """403: the bot was removed from the group."""
        kind = "supergroup" if supergroup else "group"
        return cls(403, f"Forbidden: bot was kicked from the {kind} chat")

    @classmethod
    def chat_not_found(cls) -> ApiError:
        """400: unknown chat."""
        return cls(400, "Bad Request: chat not found")

    @classmethod
    def migrated(cls, new_chat_id: int) -> ApiError:
        """400 with ``parameters.migrate_to_chat_id``: the group became a supergroup."""
        return cls(
            400,
            "Bad Request: group chat was upgraded to a supergroup chat",
            {"migrate_to_chat_id": new_chat_id},
        )

    @classmethod
    def bad_request(cls, detail: str) -> ApiError:
        """400 ``Bad Request: <detail>``."""
        return cls(400, f"Bad Request: {detail}")

    @classmethod
    def conflict(cls, detail: str) -> ApiError:
        """409 ``Conflict: <detail>``."""
        return cls(409, f"Conflict: {detail}")

    @classmethod
    def server_error(cls) -> ApiError:
        """500 Internal Server Error."""
        return cls(500, "Internal Server Error")

    @classmethod
    def bad_gateway(cls) -> ApiError:
        """502 Bad Gateway (Telegram's front end when the backend is down)."""
        return cls(502, "Bad Gateway")

    @classmethod
    def unauthorized(cls) -> ApiError:
        """401 for a token the server does not know."""
        return cls(401, "Unauthorized")

    @classmethod
    def not_found(cls) -> ApiError:
        """404 for an unknown method."""
        return cls(404, "Not Found")


@dataclass(frozen=True, slots=True)
class Stall:
    """Hold the answer: ``seconds=None`` holds until the client gives up (a time-out).

    With ``deliver=True`` the call takes effect at once and only the answer is held (the message
    is in the chat although the client timed out); with ``deliver=False`` it takes effect after
    ``seconds`` (a slow server) - unless the client gives up first, then never.
    """

    seconds: float | None = None
    deliver: bool = False


@dataclass(frozen=True, slots=True)
class Drop:
    """Close the connection without answering (optionally after performing the call)."""

    deliver: bool = False


Failure: TypeAlias = ApiError | Stall | Drop


@dataclass(slots=True)
class _FailRule:
    method: str
    chat_id: int | str | None
    remaining: int
    error: Failure


@dataclass(slots=True)
class _RateLimit:
    per_second: int | None
    per_chat_per_second: int | None
    per_group_per_minute: int | None
    methods: frozenset[str] | None
    global_window: deque[float] = field(default_factory=deque)
    chat_windows: dict[int | str, deque[float]] = field(default_factory=dict)
    group_windows: dict[int | str, deque[float]] = field(default_factory=dict)
