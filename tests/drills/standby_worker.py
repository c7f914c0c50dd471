"""A worker process for the standby drill: takes the database's worker lock (standing by while
another worker holds it), then fans session 1's reminder out through a file.

Run as `python -m tests.drills.standby_worker DATABASE_URL OUT_FILE START_ISO PER_SECOND`.
Like `summit-bot run`, it waits for the lock, sends only while its lease on the lock is
fresh, and stops when another worker has taken the lock. Each message is a line
"ledger-row chat-id pid wall-time" written before the send counts as done; becoming active
is the line "active pid wall-time" on standard output.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
import time
from dataclasses import replace

from bot.adapters.base import Limits, Recipient
from bot.app import Worker, run_until_stopped, stop_on_signals
from bot.config import Delivery, Reminders, Settings
from bot.messages import Message
from bot.store import Store, WorkerLock
from tests.drills.fanout_worker import FileAdapter
from tests.support.harness import summit

IN_FLIGHT = 8


class StampedFileAdapter(FileAdapter):
    """A line per message, with the sending process and the wall-clock time."""

    def __init__(self, path: str, per_second: float) -> None:
        super().__init__(path)
        rate = max(1, int(per_second))
        self.limits = Limits(4096, rate, rate, rate)  # type: ignore[misc]

    async def send(self, to: Recipient, message: Message, *, key: str) -> None:
        """One stamped line per message."""
        await asyncio.sleep(0.002)
        os.write(self.fd, f"{key} {to.chat_id} {os.getpid()} {time.time():.3f}\n".encode())


async def main(url: str, out: str, start: str, per_second: str) -> int:
    """Stand by for the lock, then send until stopped (SIGTERM) or killed."""
    first = dt.datetime.fromisoformat(start)
    schedule = summit()
    s1 = schedule.sessions[0]
    assert s1.start is not None
    schedule = schedule.shifted(first - s1.start)
    settings = replace(
        Settings(),
        reminders=Reminders(default_offsets=(0,)),
        delivery=replace(Delivery(), in_flight=IN_FLIGHT, batch=50),
    )
    store = await Store.open(url)
    lock = WorkerLock(store.engine)
    stop = asyncio.Event()
    stop_on_signals(stop)
    try:
        if not await lock.wait(stop):
            return 0
        print(f"active {os.getpid()} {time.time():.3f}", flush=True)
        adapter = StampedFileAdapter(out, float(per_second))
        worker = Worker(settings, schedule, store, [adapter], lock=lock)
        await run_until_stopped(worker, stop, lock=lock)
    finally:
        await lock.release()
        await store.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(*sys.argv[1:5])))
