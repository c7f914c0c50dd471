"""SIGKILL in the middle of a fan-out: nothing lost, duplicates bounded by the in-flight window."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import sys
from collections import Counter
from pathlib import Path

from bot.store import Store
from tests.drills.fanout_worker import PLATFORM

ROOT = Path(__file__).resolve().parent.parent
RECIPIENTS = 2000
IN_FLIGHT = 8


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


async def _run_until(url: str, out: Path, start: str, kill_after: int | None) -> int | None:
    """Start the worker process; SIGKILL it once `kill_after` lines exist, else let it finish."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.drills.fanout_worker",
        url,
        str(out),
        start,
        cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(120):
            if kill_after is None:
                _, err = await proc.communicate()
                assert proc.returncode == 0, err.decode()[-2000:]
                return proc.returncode
            while len(_lines(out)) < kill_after:
                assert proc.returncode is None, "the worker ended before it could be killed"
                await asyncio.sleep(0.02)  # watching the output grow, not waiting for a time
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
    finally:
        if proc.returncode is None:  # a failed assertion must not leave a worker running
            proc.kill()
            await proc.wait()
    return None


async def test_sigkill_mid_fanout_loses_nothing(store: Store, database_url: str) -> None:
    now = dt.datetime.now(dt.UTC)
    async with store.transaction():
        for i in range(RECIPIENTS):
            chat, _ = await store.get_or_create_chat(PLATFORM, str(i), now=now)
            await store.subscribe(chat.pk, "s1", now=now)
    out = Path(os.environ.get("TMPDIR", "/tmp")) / f"drill-{os.getpid()}-{id(store)}.txt"
    out.unlink(missing_ok=True)
    # Session 1 went live a minute ago: its "live now" reminder is overdue at every start.
    start = (now - dt.timedelta(minutes=1)).isoformat()
    kills = (300, 900, 1500)
    for threshold in kills:
        await _run_until(database_url, out, start, threshold)
    await _run_until(database_url, out, start, None)

    lines = _lines(out)
    out.unlink(missing_ok=True)
    per_chat = Counter(line.split()[1] for line in lines)
    assert set(per_chat) == {str(i) for i in range(RECIPIENTS)}  # nobody lost
    duplicates = sum(n - 1 for n in per_chat.values())
    assert duplicates <= len(kills) * IN_FLIGHT, duplicates
    assert await store.delivery_counts() == {"sent": RECIPIENTS}
