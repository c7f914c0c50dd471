"""A worker process for crash drills: one reminder fanned out to every subscriber.

Run as `python -m tests.drills.fanout_worker DATABASE_URL OUT_FILE START_ISO`. It rehearses
session 1 to start at START (the same START on every restart, so the plan is the same),
sends through a platform that appends "ledger-row chat-id" to OUT_FILE with one unbuffered
write per message (a SIGKILL loses nothing already written), and exits 0 once the ledger
has nothing left to send.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
from dataclasses import replace
from typing import ClassVar

from bot.adapters.base import Core, Limits, Recipient
from bot.app import Worker
from bot.config import Delivery, Reminders, Settings
from bot.messages import Message
from bot.store import Store
from tests.support.harness import summit

PLATFORM = "drill"


class FileAdapter:
    """A platform whose only effect is a line in a file per message."""

    platform: ClassVar[str] = PLATFORM
    limits: ClassVar[Limits] = Limits(4096, 1000, 10, 1000)

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    async def start(self, core: Core) -> None:
        """Nothing to connect to."""

    async def stop(self) -> None:
        """Close the file."""
        os.close(self.fd)

    async def send(self, to: Recipient, message: Message, *, key: str) -> None:
        """One line per message, written before the send counts as done."""
        await asyncio.sleep(0.002)  # a network round trip, so sends overlap in flight
        os.write(self.fd, f"{key} {to.chat_id}\n".encode())


async def main(url: str, out: str, start: str) -> int:
    """Run until every ledger row is final."""
    first = dt.datetime.fromisoformat(start)
    schedule = summit()
    s1 = schedule.sessions[0]
    assert s1.start is not None
    schedule = schedule.shifted(first - s1.start)
    settings = replace(
        Settings(),
        reminders=Reminders(default_offsets=(0,)),
        delivery=replace(Delivery(), in_flight=8, batch=50),
    )
    store = await Store.open(url)
    worker = Worker(settings, schedule, store, [FileAdapter(out)])
    await worker.start()
    try:
        while True:
            counts = await store.ledger.delivery_counts()
            if counts and not {"pending", "sending"} & set(counts):
                break
            await asyncio.sleep(0.1)  # a drill script, not a test: polling is fine here
        print(counts, file=sys.stderr)
        return 0 if set(counts) == {"sent"} else 1
    finally:
        await worker.stop()
        await store.close()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(*sys.argv[1:4])))
