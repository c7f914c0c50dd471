"""An in-memory platform for tests: push a command, read the reply, inject send failures."""

from __future__ import annotations

import asyncio
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import ClassVar

from bot.adapters.base import Core, Limits, Recipient, SendError
from bot.messages import Command, Message, Reply, parse_command


@dataclass(frozen=True)
class Sent:
    """One message the core sent through this adapter."""

    chat_id: str
    message: Message
    key: str


class MemoryAdapter:
    """A fake platform held in memory, in the style of errbot's test backend."""

    platform: ClassVar[str] = "memory"
    limits: Limits = Limits(4096, 10_000, 10_000, 1_000_000)

    def __init__(self) -> None:
        self._core: Core | None = None
        self.sent: list[Sent] = []
        self._failures: dict[str, deque[SendError]] = defaultdict(deque)
        self._arrived = asyncio.Condition()

    async def start(self, core: Core) -> None:
        """Remember where commands go."""
        self._core = core

    async def stop(self) -> None:
        """Nothing to release."""
        self._core = None

    async def push(
        self,
        text: str,
        *,
        chat_id: str = "100",
        user_id: str | None = None,
        chat_kind: str = "private",
        locale: str | None = None,
        is_admin: bool = True,
    ) -> Reply | None:
        """A viewer types `text` ("/help", or words that are no command); returns the reply."""
        assert self._core is not None, "adapter not started"
        parsed = parse_command(text)
        assert parsed is not None, f"blank text: {text!r}"
        name, args, rest = parsed
        command = Command(
            self.platform,
            chat_id,
            user_id or chat_id,
            name,
            args,
            rest,
            chat_kind=chat_kind,
            locale_hint=locale,
            is_admin=is_admin,
        )
        return await self._core.on_command(command)

    def fail(self, chat_id: str, *errors: SendError) -> None:
        """The next sends to `chat_id` raise these errors, in order."""
        self._failures[chat_id].extend(errors)

    async def send(self, to: Recipient, message: Message, *, key: str) -> None:
        """Record the message, or raise the next injected failure for that chat."""
        pending = self._failures.get(to.chat_id)
        if pending:
            raise pending.popleft()
        self.sent.append(Sent(to.chat_id, message, key))
        async with self._arrived:
            self._arrived.notify_all()

    def messages_to(self, chat_id: str) -> list[Message]:
        """Every message sent to one chat, in order."""
        return [s.message for s in self.sent if s.chat_id == chat_id]

    async def wait_for(self, count: int, within: float = 5.0) -> None:
        """Wait until at least `count` messages were sent in all."""
        async with asyncio.timeout(within), self._arrived:
            await self._arrived.wait_for(lambda: len(self.sent) >= count)
