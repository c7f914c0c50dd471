"""The test side of failures (fail, block, migrate, rate-limit) and each call's check."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from typing import Final

from tests.fakes.telegram.failures import ApiError, Failure, _FailRule, _RateLimit
from tests.fakes.telegram.records import Request
from tests.fakes.telegram.world import TelegramWorld

# Methods counted as "sends" for block(), migrated chats and the flood limit.
_SEND_PREFIXES: Final = ("send", "edit", "copy", "forward")


class FaultInjection(TelegramWorld):
    """The test side of failures, and the check each incoming call goes through."""

    # ---------------------------------------------------------------- test-side: failures

    def fail_next(
        self,
        method: str,
        *,
        chat_id: int | str | None = None,
        times: int = 1,
        error: Failure | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (to ``chat_id``, if given) fail.

        ``error`` is an ``ApiError`` (e.g. ``ApiError.too_many_requests(3)``), a ``Stall`` (time
        out) or a ``Drop`` (connection reset); the default is a 500.
        """
        rule = _FailRule(method, chat_id, times, error or ApiError.server_error())
        self._fail_rules.append(rule)

    def block(self, chat_id: int | str, error: ApiError | None = None) -> None:
        """Every send to ``chat_id`` fails (default: 403 blocked by the user) until unblock."""
        self._blocked[chat_id] = error or ApiError.blocked()

    def unblock(self, chat_id: int | str) -> None:
        """Lift ``block``."""
        self._blocked.pop(chat_id, None)

    def migrate_chat(self, chat_id: int, new_chat_id: int) -> None:
        """Turn a group into a supergroup: every later call on the old id gets the migrate
        error."""
        self._migrated[chat_id] = new_chat_id
        old = self.chats.get(chat_id, {})
        self.add_chat(new_chat_id, chat_type="supergroup", title=old.get("title"))

    def rate_limit(
        self,
        per_second: int | None = 30,
        *,
        per_chat_per_second: int | None = None,
        per_group_per_minute: int | None = None,
        methods: Iterable[str] | None = None,
    ) -> None:
        """Enable flood control: sends beyond the limits in a sliding window get 429.

        Limits count accepted sends by arrival time (send*/edit*/copy*/forward* methods unless
        ``methods`` is given); ``rate_limit(None)`` with no other limit disables it.
        """
        if per_second is None and per_chat_per_second is None and per_group_per_minute is None:
            self._rate = None
            return
        self._rate = _RateLimit(
            per_second,
            per_chat_per_second,
            per_group_per_minute,
            frozenset(methods) if methods is not None else None,
        )

    def _take_failure(self, req: Request) -> Failure | None:
        for rule in self._fail_rules:
            if rule.method == req.method and (rule.chat_id is None or rule.chat_id == req.chat_id):
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self._fail_rules.remove(rule)
                return rule.error
        if req.chat_id is not None and req.method != "getUpdates":
            new_id = self._migrated.get(req.chat_id)
            if new_id is not None:
                return ApiError.migrated(new_id)
            if req.method.startswith(_SEND_PREFIXES):
                blocked = self._blocked.get(req.chat_id)
                if blocked is not None:
                    return blocked
        if self._rate is not None:
            return self._check_rate(req)
        return None

    def _check_rate(self, req: Request) -> ApiError | None:
        rate = self._rate
        assert rate is not None
        if rate.methods is not None:
            if req.method not in rate.methods:
                return None
        elif not req.method.startswith(_SEND_PREFIXES):
            return None
        now = req.time
        windows: list[tuple[deque[float], int, float]] = []
        if rate.per_second is not None:
            windows.append((rate.global_window, rate.per_second, 1.0))
        if req.chat_id is not None:
            if rate.per_chat_per_second is not None:
                window = rate.chat_windows.setdefault(req.chat_id, deque())
                windows.append((window, rate.per_chat_per_second, 1.0))
            is_group = isinstance(req.chat_id, int) and req.chat_id < 0
            if rate.per_group_per_minute is not None and is_group:
                window = rate.group_windows.setdefault(req.chat_id, deque())
                windows.append((window, rate.per_group_per_minute, 60.0))
        wait = 0.0
        for window, limit, span in windows:
            while window and window[0] <= now - span:
                window.popleft()
            if len(window) >= limit:
                wait = max(wait, window[0] + span - now)
        if wait > 0:
            return ApiError.too_many_requests(max(1, math.ceil(wait)))
        for window, _, _ in windows:
            window.append(now)
        return None
