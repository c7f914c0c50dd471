"""Telegram's failures as the delivery engine's SendError kinds, from either path they come by.

PTB raises exceptions (replies, documents); the Bot API poster reads JSON answers (the
fan-out). Both map the same way, side by side here so they stay alike: 429 → RetryAfter, a
group turned supergroup → Migrated, 403 → Blocked, 400 → Rejected, anything else (5xx,
time-outs, refused connections, a revoked token) → Transient.
"""

from __future__ import annotations

import datetime as dt
import warnings
from typing import Any

from telegram.error import BadRequest, ChatMigrated, Forbidden
from telegram.error import RetryAfter as TgRetryAfter
from telegram.warnings import PTBDeprecationWarning

from bot.adapters.base import Blocked, Migrated, Rejected, RetryAfter, SendError, Transient
from bot.adapters.redaction import redact


def flood_wait(exc: TgRetryAfter) -> float:
    """The seconds a PTB flood error asks to wait.

    PTB 22 gives `retry_after` as whole seconds unless the process opted in (the
    `PTB_TIMEDELTA` environment variable) to the timedelta that PTB 23 will always give.
    That switch is process-wide, so the adapter leaves it alone and reads either form.
    """
    with warnings.catch_warnings():  # reading it as a number is deprecated in PTB 22.2+
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        wait = exc.retry_after
    return wait.total_seconds() if isinstance(wait, dt.timedelta) else float(wait)


def send_error(exc: BaseException) -> SendError:
    """The delivery engine's view of a failed PTB call (messages carry no secret)."""
    reason = redact(str(exc)) or type(exc).__name__
    if isinstance(exc, TgRetryAfter):
        return RetryAfter(flood_wait(exc), reason)
    if isinstance(exc, ChatMigrated):
        return Migrated(str(exc.new_chat_id))
    if isinstance(exc, Forbidden):
        return Blocked(reason)
    if isinstance(exc, BadRequest):
        # Checked before NetworkError, its base class. A 400 ("chat not found", "can't parse
        # entities", "message is too long") fails the same way every time it is retried.
        return Rejected(reason)
    return Transient(reason)  # TimedOut, NetworkError (5xx, resets), 409, anything unforeseen


def answer_error(status: int, answer: Any) -> SendError:
    """The delivery engine's view of a Bot API answer that is not `ok` (the poster's path)."""
    if not isinstance(answer, dict):
        return Transient(f"HTTP {status}: the answer is not a Bot API object")
    code = answer.get("error_code") or status
    reason = str(answer.get("description") or f"HTTP {status}")
    parameters = answer.get("parameters") or {}
    if not isinstance(parameters, dict):
        parameters = {}
    if code == 429:
        wait = parameters.get("retry_after", 1)
        return RetryAfter(float(wait) if isinstance(wait, int | float) else 1.0, reason)
    if parameters.get("migrate_to_chat_id") is not None:
        return Migrated(str(parameters["migrate_to_chat_id"]))
    if code == 403:
        return Blocked(reason)
    if code == 400:
        return Rejected(reason)
    return Transient(reason)  # 401/404 (a revoked token), 409, 5xx: an operator must look
