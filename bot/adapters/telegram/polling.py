"""Long polling: getUpdates in a loop, each update queued for PTB's Application to handle.

Done here rather than by PTB's Updater, whose retry loop ends on a rejected token with a
traceback and leaves the process up and deaf. Here a rejected token goes to `on_rejected`
(the core then stops the worker), and any other failure is one log line and a retry.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from typing import Final

from telegram import Bot
from telegram.error import InvalidToken, RetryAfter, TelegramError

from bot.adapters.redaction import redact
from bot.adapters.telegram.errors import flood_wait

log = logging.getLogger(__name__)

# Seconds to wait after the 1st, 2nd, ... failure in a row; the last one repeats.
RETRY_DELAYS: Final[tuple[float, ...]] = (1.0, 2.0, 5.0, 10.0, 30.0)


class Poller:
    """Fetch updates by long polling until stopped, or until the token is rejected."""

    def __init__(
        self,
        bot: Bot,
        queue: asyncio.Queue[object],
        *,
        timeout: float,
        allowed_updates: Sequence[str],
        on_rejected: Callable[[], None],
        retry_delays: Sequence[float] = RETRY_DELAYS,
    ) -> None:
        self._bot = bot
        self._queue = queue
        self.timeout = timeout  # seconds one getUpdates call waits for news
        self._allowed = list(allowed_updates)
        self._on_rejected = on_rejected
        self.retry_delays = tuple(retry_delays) or (1.0,)
        self._offset: int | None = None  # the next update id to ask for (confirms the earlier)
        self._rejected = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin fetching in the background."""
        self._task = asyncio.create_task(self._run(), name="telegram-polling")

    async def stop(self) -> None:
        """Stop fetching; confirm what was fetched, so a restart does not fetch it again."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._offset is not None and not self._rejected:
            with contextlib.suppress(TelegramError):
                await self._bot.get_updates(
                    offset=self._offset, timeout=0, allowed_updates=self._allowed
                )

    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                updates = await self._bot.get_updates(
                    offset=self._offset,
                    timeout=dt.timedelta(seconds=self.timeout),
                    allowed_updates=self._allowed,
                )
            except InvalidToken:
                self._rejected = True
                self._on_rejected()
                return
            except TelegramError as exc:
                if isinstance(exc, RetryAfter):
                    wait = flood_wait(exc)
                else:
                    wait = self.retry_delays[min(failures, len(self.retry_delays) - 1)]
                failures += 1
                log.warning(
                    "telegram: fetching updates failed, retrying in %g s: %s",
                    wait,
                    redact(str(exc)),
                )
                await asyncio.sleep(wait)
                continue
            except Exception:
                # Not the network: what came back could not be read. A bug, so a traceback;
                # polling goes on (after a pause) rather than the bot going deaf.
                log.exception("telegram: reading fetched updates failed")
                await asyncio.sleep(self.retry_delays[-1])
                continue
            failures = 0
            for update in updates:
                await self._queue.put(update)
            if updates:
                self._offset = updates[-1].update_id + 1
