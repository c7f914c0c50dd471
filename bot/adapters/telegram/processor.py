"""How PTB runs updates: one lane per chat, and a chat holds at most one of the update slots.

With PTB's own `concurrent_updates(N)`, every fetched update takes one of N slots first and
only then waits for its chat's turn: 500 commands from one chat took all N slots while they
queued, and nobody else was answered. Here an update waits for its chat's turn first, holding
nothing, and only then takes a slot; a chat's updates still run one at a time, in the order
Telegram sent them, while other chats proceed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

# PTB's own count of updates in hand (it takes one before `do_process_update`): the waiting
# ones count there too, so it must not be what bounds the work; the slots below do that.
_IN_HAND = 1 << 16

# When the update being handled was fetched (the processor's clock), for `queued()`.
_ARRIVED: ContextVar[float | None] = ContextVar("summit_update_arrived", default=None)


def lane_of(update: object) -> str | None:
    """The chat whose lane an update waits in (None: none, e.g. an inline button press).

    A group's "moved to a supergroup" message waits in the new chat's lane, so that commands
    there wait for the move.
    """
    if not isinstance(update, Update):
        return None
    message = update.effective_message
    if message is not None and message.migrate_to_chat_id is not None:
        return str(message.migrate_to_chat_id)
    chat = update.effective_chat
    return str(chat.id) if chat is not None else None


@dataclass
class _Lane:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0  # updates holding or awaiting the lock: the lane goes when none are left


class ChatLanes(BaseUpdateProcessor):
    """A chat's updates one at a time, in order; up to `slots` chats' updates at once."""

    def __init__(self, slots: int, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(_IN_HAND)
        self.slots = slots
        self.clock = clock
        self._slots = asyncio.Semaphore(slots)
        self._lanes: dict[str, _Lane] = {}

    def queued(self) -> float:
        """Seconds the update being handled (in this task) waited since it was fetched."""
        arrived = _ARRIVED.get()
        return 0.0 if arrived is None else max(0.0, self.clock() - arrived)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Wait for the chat's turn holding nothing, then run the update in a slot."""
        # The handlers run in this task (they block): they read the arrival from here.
        _ARRIVED.set(self.clock())
        key = lane_of(update)
        if key is None:
            async with self._slots:
                await coroutine
            return
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = _Lane()
        lane.users += 1
        try:
            # asyncio.Lock is fair: updates take their turn in the order they were fetched.
            async with lane.lock, self._slots:
                await coroutine
        finally:
            lane.users -= 1
            if not lane.users:
                del self._lanes[key]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release: PTB's stop waits for the updates in hand."""
