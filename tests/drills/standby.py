"""Drill: two workers on one PostgreSQL database; the active one dies or loses the database.

`python -m tests.drills.standby --recipients 3000 --per-second 30 --fault kill|partition`.
Worker A starts first and fans session 1's reminder out; worker B stands by (the database's
worker lock). At a random point of the fan-out:
- `kill`: A is SIGKILLed. B must be sending within 10 s (goal), nothing lost, at most the
  in-flight window of duplicates.
- `partition`: A's host loses the database (A reaches PostgreSQL through a proxy in this
  process, which drops A's server connections, so the server ends A's session and its lock,
  and then swallows whatever A sends). A must have stopped sending before B sends its first
  message; nothing lost; at most the in-flight window of duplicates.
PostgreSQL only (SQLite's lock is a file on one machine): `--database-url` names an empty
database, else one is made on $SUMMIT_BOT_TEST_POSTGRES_URL's server and dropped after.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from bot.store import Store
from tests.drills.fanout_worker import PLATFORM
from tests.drills.standby_worker import IN_FLIGHT
from tests.drills.world import FIRST_CHAT, ROOT, UTC, Verdict, finish, parser, seed_subscribers

ADMIN_URL = os.environ.get(
    "SUMMIT_BOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
TAKEOVER_GOAL = 10.0  # seconds from the active worker's death to the standby's first send


class DatabaseProxy:
    """A TCP proxy to PostgreSQL that can be cut: the network between one host and the
    database failing, as far as both ends can tell."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.cut_at: float | None = None
        self._upstreams: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None
        self.listen_port = 0

    async def start(self) -> None:
        """Listen on a free port of 127.0.0.1."""
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.listen_port = self._server.sockets[0].getsockname()[1]

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.cut_at is not None:
            return  # accepted and never answered, as a black hole answers
        up_reader, up_writer = await asyncio.open_connection(self.host, self.port)
        self._upstreams.append(up_writer)
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        while self.cut_at is None:
            data = await source.read(65536)
            if not data or self.cut_at is not None:
                break
            sink.write(data)
            await sink.drain()
        if self.cut_at is None:
            sink.close()

    def cut(self) -> None:
        """The server sees its connections to this host closed (and ends their sessions);
        the host sees nothing at all: its packets go nowhere."""
        self.cut_at = time.time()
        for writer in self._upstreams:
            writer.close()

    async def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()


@contextlib.asynccontextmanager
async def throwaway_database(given: str | None) -> AsyncIterator[str]:
    """The database to drill on: the one given, else a new one dropped afterwards."""
    if given:
        yield given
        return
    name = f"summit_drill_standby_{os.getpid()}"
    admin = make_url(ADMIN_URL).set(drivername="postgresql").render_as_string(False)
    conn = await asyncpg.connect(admin, timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = make_url(ADMIN_URL).set(drivername="postgresql+asyncpg", database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        conn = await asyncpg.connect(admin, timeout=5)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


def _lines(path: Path) -> list[list[str]]:
    return [line.split() for line in path.read_text().splitlines()] if path.exists() else []


async def _spawn(url: str, out: Path, start: str, per_second: float) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.drills.standby_worker",
        url,
        str(out),
        start,
        str(per_second),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def _active(proc: asyncio.subprocess.Process, within: float) -> float:
    """Wait for the worker to say it took the lock; the wall time it did."""
    assert proc.stdout is not None
    async with asyncio.timeout(within):
        while True:
            line = (await proc.stdout.readline()).decode()
            if not line:
                raise RuntimeError("the worker ended before it took the lock")
            if line.startswith("active "):
                return float(line.split()[2])


async def _until(predicate: object, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)  # watching files and the ledger grow, not waiting for a time


async def _end(*procs: asyncio.subprocess.Process) -> str:
    """Stop the workers still running; their stderr tails, for a failed drill's report."""
    tails = []
    for proc in procs:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), timeout=15)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        if proc.stderr is not None:
            tails.append((await proc.stderr.read()).decode()[-1500:])
    return "\n---\n".join(tails)


async def run(
    recipients: int,
    per_second: float,
    fault: str,
    database_url: str | None = None,
    seed: int | None = None,
) -> Verdict:
    """Fan out with a standby beside the active worker; fail the active one mid-way."""
    seed = seed if seed is not None else random.randrange(1_000_000)
    point = random.Random(seed).randrange(recipients // 5, recipients * 3 // 5)
    out = Path(tempfile.mkdtemp(prefix="summit-standby-")) / "sent.txt"
    async with throwaway_database(database_url) as url:
        store = await Store.open(url)
        proxy: DatabaseProxy | None = None
        try:
            await seed_subscribers(store, PLATFORM, recipients)
            # Session 1 went live a minute ago: its reminder is due at once, for both.
            start = (dt.datetime.now(UTC) - dt.timedelta(minutes=1)).isoformat()
            a_url = url
            if fault == "partition":
                parsed = make_url(url)
                proxy = DatabaseProxy(parsed.host or "127.0.0.1", parsed.port or 5432)
                await proxy.start()
                a_url = parsed.set(host="127.0.0.1", port=proxy.listen_port).render_as_string(
                    hide_password=False
                )
            a = await _spawn(a_url, out, start, per_second)
            await _active(a, within=60)
            b = await _spawn(url, out, start, per_second)
            try:
                await _until(lambda: len(_lines(out)) >= point, 120, f"{point} messages")
                failed_at = time.time()
                if fault == "kill":
                    a.send_signal(signal.SIGKILL)
                    await a.wait()
                else:
                    assert proxy is not None
                    proxy.cut()
                b_active = await _active(b, within=60)
                b_pid = str(b.pid)
                await _until(
                    lambda: any(line[2] == b_pid for line in _lines(out)), 60, "the standby"
                )

                async def done() -> bool:
                    counts = await store.ledger.delivery_counts()
                    return bool(counts) and not {"pending", "sending"} & set(counts)

                deadline = time.monotonic() + recipients / per_second * 3 + 60
                while not await done():
                    if time.monotonic() > deadline:
                        raise RuntimeError("the standby did not finish the fan-out")
                    await asyncio.sleep(0.2)
                counts = await store.ledger.delivery_counts()
            finally:
                tails = await _end(a, b)
        finally:
            if proxy is not None:
                await proxy.stop()
            await store.close()
    lines = _lines(out)
    a_pid, b_pid = str(a.pid), str(b.pid)
    a_last = max((float(line[3]) for line in lines if line[2] == a_pid), default=0.0)
    b_first = min(float(line[3]) for line in lines if line[2] == b_pid)
    per_chat = Counter(line[1] for line in lines)
    expected = {str(FIRST_CHAT + i) for i in range(recipients)}
    lost = len(expected - set(per_chat))
    duplicates = sum(n - 1 for n in per_chat.values())
    verdict = Verdict(
        {
            "fault": fault,
            "recipients": recipients,
            "per_second": per_second,
            "failed_after": point,
            "seed": seed,
            "takeover_s": round(b_first - failed_at, 2),
            "standby_active_after_s": round(b_active - failed_at, 2),
            "old_last_send_before_new_first_s": round(b_first - a_last, 2),
            "lost": lost,
            "duplicates": duplicates,
            "bound": IN_FLIGHT,
            "ledger": counts,
        }
    )
    verdict.check(lost == 0, f"{lost} recipients got nothing")
    verdict.check(duplicates <= IN_FLIGHT, f"{duplicates} duplicates > {IN_FLIGHT}")
    verdict.check(counts == {"sent": recipients}, f"ledger {counts}")
    if fault == "kill":
        took = b_first - failed_at
        verdict.check(took <= TAKEOVER_GOAL, f"the standby sent after {took:.1f} s")
    else:
        verdict.check(
            a_last < b_first, f"the cut-off worker sent until {a_last - b_first:.2f} s after"
        )
    if not verdict.ok or os.environ.get("DRILL_VERBOSE"):
        verdict.figures["stderr"] = tails
    os.unlink(out)
    return verdict


def main() -> int:
    """Command line: the drill at the size asked; exit 1 on failure."""
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--recipients", type=int, default=3000)
    p.add_argument("--fault", choices=("kill", "partition"), default="kill")
    p.add_argument("--seed", type=int, help="the random failure point's seed (printed)")
    o = p.parse_args()
    verdict = asyncio.run(run(o.recipients, o.per_second, o.fault, o.database_url, o.seed))
    return finish(verdict, o.json)


if __name__ == "__main__":
    sys.exit(main())
