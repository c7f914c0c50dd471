"""JSON on the wire and Discord's error answers."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from tests.fakes.discord.constants import JSON


def _now_iso() -> str:
    """Return the current UTC time as an ISO 8601 string like Discord's timestamps."""
    return datetime.now(UTC).isoformat()


def _ceil_ms(seconds: float) -> float:
    """Round a positive duration up to whole milliseconds."""
    return max(0.0, math.ceil(seconds * 1000) / 1000)


def _dumps(data: Any) -> str:
    """Serialise JSON compactly, like Discord does."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def _json_response(data: Any, status: int = 200) -> web.Response:
    """Build a JSON response with Discord's exact ``Content-Type`` (discord.py compares it)."""
    return web.Response(
        body=_dumps(data).encode(), status=status, headers={"Content-Type": "application/json"}
    )


def _parse_time(value: Any, field_name: str) -> datetime:
    """Parse an ISO 8601 timestamp from a request body or raise a form error."""
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise form_error(
            field_name, "DATE_TIME_TYPE_PARSE", "Could not parse timestamp."
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _iter_components(components: Iterable[JSON]) -> Iterator[JSON]:
    """Yield every component in a (possibly nested) component tree."""
    for comp in components:
        yield comp
        yield from _iter_components(comp.get("components") or [])
        accessory = comp.get("accessory")
        if isinstance(accessory, dict):
            yield accessory


class DiscordAPIError(Exception):
    """A Discord-style JSON error response raised by a route handler."""

    def __init__(self, status: int, code: int, message: str, errors: JSON | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> JSON:
        """Return the JSON body Discord would send."""
        body: JSON = {"message": self.message, "code": self.code}
        if self.errors is not None:
            body["errors"] = self.errors
        return body


def form_error(path: str, code: str, message: str) -> DiscordAPIError:
    """Build a 400 "Invalid Form Body" (50035) error for a dotted field path."""
    leaf: JSON = {"_errors": [{"code": code, "message": message}]}
    for part in reversed(path.split(".")):
        leaf = {part: leaf}
    return DiscordAPIError(400, 50035, "Invalid Form Body", leaf)
