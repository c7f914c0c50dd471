"""Drill: SIGKILL the worker at random points of a fan-out, restarting it each time.

Nothing may be lost, and each kill may cause at most the in-flight window of duplicates.
Runs tests/drills/fanout_worker.py (a worker whose platform writes one line per message) as
the process to kill: `python -m tests.drills.sigkill --recipients 3000 --kills 5`.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
import tempfile
from collections import Counter
from pathlib import Path

from bot.store import Store
from tests.drills.fanout_worker import PLATFORM
from tests.drills.world import FIRST_CHAT, ROOT, UTC, Verdict, finish, parser, seed_subscribers
from tests.drills.world import temp_sqlite_url as _temp_url

IN_FLIGHT = 8  # tests/drills/fanout_worker.py's delivery.in_flight


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


async def _worker(url: str, out: Path, start: str, kill_at: int | None, within: float) -> None:
    """Run the worker process; SIGKILL it once `kill_at` lines exist, else let it finish."""
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
    assert proc.stderr is not None
    try:
        async with asyncio.timeout(within):
            if kill_at is None:
                _, err = await proc.communicate()
                if proc.returncode != 0:
                    raise RuntimeError(f"the last worker failed: {err.decode()[-2000:]}")
                return
            while len(_lines(out)) < kill_at:
                if proc.returncode is not None:
                    raise RuntimeError("the worker ended before it could be killed")
                await asyncio.sleep(0.01)  # watching the output grow, not waiting for a time
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
    finally:
        if proc.returncode is None:  # a failed drill must not leave a worker running
            proc.kill()
            await proc.wait()


async def run(
    recipients: int,
    kills: int,
    database_url: str | None = None,
    seed: int | None = None,
    points: list[int] | None = None,
) -> Verdict:
    """Fan out to `recipients`, killing the worker `kills` times at random points (or at
    the given numbers of messages sent)."""
    import datetime as dt

    seed = seed if seed is not None else random.randrange(1_000_000)
    if points is None:
        points = sorted(random.Random(seed).sample(range(1, recipients), kills))
    url = database_url or _temp_url()
    store = await Store.open(url)
    now = dt.datetime.now(UTC)
    try:
        await seed_subscribers(store, PLATFORM, recipients)
        out = Path(tempfile.mkdtemp(prefix="summit-drill-")) / "sent.txt"
        # Session 1 went live a minute ago: its reminder is overdue at every start.
        start = (now - dt.timedelta(minutes=1)).isoformat()
        for point in points:
            await _worker(url, out, start, point, within=120)
        await _worker(url, out, start, None, within=300)
        counts = await store.ledger.delivery_counts()
    finally:
        await store.close()
    per_chat = Counter(line.split()[1] for line in _lines(out))
    expected = {str(FIRST_CHAT + i) for i in range(recipients)}
    lost = len(expected - set(per_chat))
    duplicates = sum(n - 1 for n in per_chat.values())
    bound = kills * IN_FLIGHT
    verdict = Verdict(
        {
            "recipients": recipients,
            "kills": kills,
            "kill_points": points,
            "seed": seed,
            "lost": lost,
            "duplicates": duplicates,
            "bound": bound,
            "ledger": counts,
        }
    )
    verdict.check(lost == 0, f"{lost} recipients got nothing")
    verdict.check(duplicates <= bound, f"{duplicates} duplicates > {bound}")
    verdict.check(set(per_chat) <= expected, "messages to chats nobody subscribed")
    verdict.check(counts == {"sent": recipients}, f"ledger {counts}")
    os.unlink(out)
    return verdict


def main() -> int:
    """Command line: the drill at the size asked; exit 1 on failure."""
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--recipients", type=int, default=3000)
    p.add_argument("--kills", type=int, default=5)
    p.add_argument("--seed", type=int, help="the random kill points' seed (printed)")
    o = p.parse_args()
    verdict = asyncio.run(run(o.recipients, o.kills, o.database_url, o.seed))
    return finish(verdict, o.json)


if __name__ == "__main__":
    sys.exit(main())
