"""The root of the project's own errors: `except SummitBotError` catches every one of them.

Each error lives beside the code that raises it (config, schedule, input, broadcast, send)
and derives from this root, so a caller can tell the bot's own failures from a bug.
"""

from __future__ import annotations


class SummitBotError(Exception):
    """Anything the bot itself reports as wrong: bad config, schedule, input, a failed send."""


def brief(error: BaseException) -> str:
    """What went wrong, on one short line, for a log: a database error's own message without
    the SQL statement and parameters SQLAlchemy appends (they can hold what viewers typed)."""
    said = str(getattr(error, "orig", None) or error) or type(error).__name__
    return said.splitlines()[0][:200]
