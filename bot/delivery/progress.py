"""Counts of one platform's fan-out, for the progress log."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class Progress:
    """Counts of one platform's fan-out, for the progress log."""

    started: float = field(default_factory=time.monotonic)
    sent: int = 0
    blocked: int = 0
    failed: int = 0
    expired: int = 0
    retried: int = 0  # rows put back for a later attempt (they stay pending)

    @property
    def done(self) -> int:
        """Rows that reached a final outcome."""
        return self.sent + self.blocked + self.failed + self.expired

    @property
    def touched(self) -> bool:
        """Whether any row was handled, be it only put back for later."""
        return bool(self.done or self.retried)

    def line(self) -> str:
        """A log line: counts, elapsed time and rate."""
        elapsed = max(time.monotonic() - self.started, 1e-9)
        return (
            f"sent {self.sent}, blocked {self.blocked}, failed {self.failed}, "
            f"expired {self.expired}, retried {self.retried}, "
            f"{elapsed:.1f} s, {self.sent / elapsed:.1f} msg/s"
        )
