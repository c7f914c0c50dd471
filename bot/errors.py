"""The root of the project's own errors: `except SummitBotError` catches every one of them.

Each error lives beside the code that raises it (config, schedule, input, broadcast, send)
and derives from this root, so a caller can tell the bot's own failures from a bug.
"""

from __future__ import annotations


class SummitBotError(Exception):
    """Anything the bot itself reports as wrong: bad config, schedule, input, a failed send."""
