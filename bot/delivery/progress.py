"""Counts of one platform's fan-out, for the progress log."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Final

# Seconds between two counts of the rows left, for the ETA of the progress line.
LEFT_EVERY: Final = 15.0


@dataclass
class Progress:
    """Counts of one platform's fan-out, for the progress log."""

    started: float = field(default_factory=time.monotonic)
    sent: int = 0
    blocked: int = 0
    failed: int = 0
    expired: int = 0
    retried: int = 0  # rows put back for a later attempt (they stay pending)
    # Rows left to send as last counted, and `done` then: counted anew at most every
    # LEFT_EVERY seconds (a count over a million pending rows is not free).
    left: int | None = None
    left_done: int = 0
    left_at: float = 0.0

    def left_now(self) -> int | None:
        """Rows still to send: the last count less what was done since (None: never counted)."""
        if self.left is None:
            return None
        return max(self.left - (self.done - self.left_done), 0)

    def count_left(self, pending: int) -> None:
        """Record a fresh count of the rows still pending."""
        self.left, self.left_done, self.left_at = pending, self.done, time.monotonic()

    @property
    def done(self) -> int:
        """Rows that reached a final outcome."""
        return self.sent + self.blocked + self.failed + self.expired

    @property
    def touched(self) -> bool:
        """Whether any row was handled, be it only put back for later."""
        return bool(self.done or self.retried)

    def rate(self) -> float:
        """Messages sent per second since the fan-out began."""
        return self.sent / max(time.monotonic() - self.started, 1e-9)

    def line(self, left: int | None = None) -> str:
        """A log line: counts, elapsed time and rate; with `left` (rows still to send), the
        time that would take at this rate."""
        elapsed = max(time.monotonic() - self.started, 1e-9)
        text = (
            f"sent {self.sent}, blocked {self.blocked}, failed {self.failed}, "
            f"expired {self.expired}, retried {self.retried}, "
            f"{elapsed:.1f} s, {self.sent / elapsed:.1f} msg/s"
        )
        if left is not None:
            text += f", {left} left, ETA {eta(left, self.rate())}"
        return text


def eta_seconds(left: int, rate: float) -> str:
    """Seconds `left` messages take at `rate` a second, as a number for a catalog text ("?"
    before any was sent)."""
    if left <= 0:
        return "0"
    return f"{left / rate:.0f}" if rate > 0 else "?"


def eta(left: int, rate: float) -> str:
    """How long `left` messages take at `rate` a second, for a reader ("4 min 10 s")."""
    if left <= 0:
        return "0 s"
    if rate <= 0:
        return "unknown"
    seconds = round(left / rate)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"
