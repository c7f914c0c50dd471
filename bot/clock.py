"""The real clock. Everything else takes a clock as a parameter, so that tests inject theirs."""

from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    """Now, aware UTC."""
    return dt.datetime.now(dt.UTC)
