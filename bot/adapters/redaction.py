"""Secrets never reach a log line: one redactor for every adapter, installed process-wide.

An adapter registers its token (and webhook secret) with `protect`; from then on every log
record made in this process has each registered secret replaced by `REDACTED`, whichever
logger (the SDK's, httpx's, ours) made it.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Final

REDACTED: Final = "<redacted>"
# Shorter strings are no secret worth the name, and replacing them would garble logs.
MIN_SECRET_LENGTH: Final = 8

_secrets: set[str] = set()
# Longest first (one secret may contain another), kept sorted here rather than on every record.
_ordered: tuple[str, ...] = ()
_lock = threading.Lock()
_installed = False


def redact(text: str) -> str:
    """`text` with every registered secret replaced by a placeholder."""
    for secret in _ordered:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def _scrub(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a malformed record: leave it for logging to report as usual
        return
    clean = redact(message)
    if clean != message:
        record.msg, record.args = clean, None
    if record.exc_info and record.exc_info[1] is not None:
        trace = logging.Formatter().formatException(record.exc_info)
        clean = redact(trace)
        if clean != trace:
            # Formatters print exc_text when it is set, so the raw traceback never shows.
            record.exc_text = clean
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


def protect(secret: str) -> None:
    """Register a secret: from now on no log record in this process contains it."""
    global _installed, _ordered
    with _lock:
        if len(secret) >= MIN_SECRET_LENGTH:
            _secrets.add(secret)
            _ordered = tuple(sorted(_secrets, key=len, reverse=True))
        if _installed:
            return
        # A record factory rather than a logging.Filter: a logger's filter never sees records
        # that propagate from its children (telegram.ext.Updater, httpx._client,
        # discord.gateway), and handlers (pytest's caplog, an operator's) come and go; the
        # factory sees every record as it is made. Logging offers only this process-wide hook.
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            if _ordered:
                _scrub(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed = True
