"""What the fake records: each Bot API call as received, and the files uploaded with it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias

JSON: TypeAlias = dict[str, Any]


@dataclass(slots=True)
class UploadedFile:
    """A file the bot uploaded in a multipart request."""

    field: str
    filename: str
    content: bytes
    content_type: str


@dataclass(slots=True)
class Request:
    """One Bot API call as the fake received it (the token is never recorded).

    ``time`` is the arrival time on the server's clock (``time.monotonic`` by default);
    ``status`` is the HTTP status answered (0 while pending or if never answered).
    """

    method: str
    params: JSON
    files: dict[str, UploadedFile]
    chat_id: int | str | None
    time: float
    status: int = 0
    response: JSON | None = None

    @property
    def ok(self) -> bool:
        """Whether the call was answered with ``"ok": true``."""
        return self.status == 200

    @property
    def text(self) -> str | None:
        """The ``text`` (or ``caption``) parameter as sent."""
        value = self.params.get("text", self.params.get("caption"))
        return value if isinstance(value, str) else None

    @property
    def result(self) -> Any:
        """The ``result`` of a successful answer (None otherwise)."""
        return self.response.get("result") if self.response else None
