"""Input throttling: a token bucket per (platform, user), on the injected clock.

A viewer may send a burst of commands, then so many a minute. One who sends more is told once
to slow down and then ignored (no reply, no store write) until the bucket is full again;
commands sent meanwhile still take what the bucket holds, so a flood that goes on keeps its
sender ignored. Organizers are held to the same rule: a flood is a flood.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable
from dataclasses import dataclass

# Buckets that are full again are dropped, checked every this many new buckets.
_PRUNE_EVERY = 1024


class Verdict(enum.Enum):
    """What to do with one command."""

    PASS = "pass"  # answer it
    WARN = "warn"  # the first one too many: say "slow down", and do nothing else
    IGNORE = "ignore"  # the sender was told: no answer, no store write


@dataclass
class _Bucket:
    tokens: float
    at: dt.datetime  # when `tokens` was counted
    muted: bool = False  # told to slow down; ignored until the bucket is full again


class Throttle:
    """A token bucket per (platform, user): `burst` commands at once, `per_minute` after.

    `burst` 0 turns the throttle off.
    """

    def __init__(self, burst: int, per_minute: int, clock: Callable[[], dt.datetime]) -> None:
        self.burst = burst
        self.per_second = per_minute / 60
        self.clock = clock
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._created = 0

    @property
    def tracked(self) -> int:
        """How many senders are remembered (the others have a full bucket)."""
        return len(self._buckets)

    def check(self, platform: str, user_id: str, *, queued: float = 0.0) -> Verdict:
        """Charge one command of `user_id` and say what to do with it.

        `queued`: seconds the command waited in the adapter behind its chat's earlier updates.
        It is charged as of when it arrived: a chat's commands are answered one at a time, at
        the pace its replies may go, and seen at their turn a flood would look like a trickle.
        """
        if self.burst <= 0:
            return Verdict.PASS
        at = self.clock() - dt.timedelta(seconds=max(0.0, queued))
        key = (platform, user_id)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(float(self.burst), at)
            self._created += 1
            if self._created % _PRUNE_EVERY == 0:
                self.forget_idle()
        self._refill(bucket, at)
        if bucket.muted and bucket.tokens >= self.burst:
            bucket.muted = False
        if bucket.muted:
            bucket.tokens = max(0.0, bucket.tokens - 1)
            return Verdict.IGNORE
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return Verdict.PASS
        bucket.muted = True
        return Verdict.WARN

    def _refill(self, bucket: _Bucket, at: dt.datetime) -> None:
        # Arrival stamps from two chats of one user may come slightly out of order: time
        # never runs backwards for a bucket.
        elapsed = (at - bucket.at).total_seconds()
        if elapsed > 0:
            bucket.tokens = min(float(self.burst), bucket.tokens + elapsed * self.per_second)
            bucket.at = at

    def forget_idle(self) -> None:
        """Drop the buckets that are full again (as good as none), so memory stays flat."""
        now = self.clock()
        for key, bucket in list(self._buckets.items()):
            self._refill(bucket, now)
            if bucket.tokens >= self.burst:
                del self._buckets[key]
