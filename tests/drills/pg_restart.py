"""Drill: PostgreSQL restarts (down for N s) in the middle of a fan-out: nothing lost.

By default the drill runs its own throwaway PostgreSQL cluster (initdb in a temporary
directory, as the `postgres` user, on a free port), so that restarting it disturbs nobody
else; `--system` restarts the machine's own cluster with pg_ctlcluster instead (it needs
--database-url, and disturbs anyone else using that server).
`python -m tests.drills.pg_restart --recipients 3000`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg

from tests.drills.world import FanoutWorld, Verdict, finish, free_port, parser


def _bin(name: str) -> str | None:
    """A PostgreSQL server program (initdb, pg_ctl) of the newest installed version."""
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for directory in versions:
        if (directory / name).exists():
            return str(directory / name)
    return None


def unavailable() -> str | None:
    """Why a private cluster cannot be run here (None: it can)."""
    if _bin("initdb") is None or _bin("pg_ctl") is None:
        return "initdb/pg_ctl not installed"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser"
    if os.geteuid() == 0:
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            return "no postgres user to run the server as"
    return None


class PrivatePostgres:
    """A throwaway PostgreSQL cluster on 127.0.0.1 that the drill may stop and start."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="summit-pg-"))
        self.port = free_port()

    def _run(self, *args: str) -> None:
        command = list(args)
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def _ctl(self, action: str) -> None:
        pg_ctl = _bin("pg_ctl")
        assert pg_ctl is not None
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        if action == "start":
            self._run(
                pg_ctl,
                "-D",
                str(self.dir / "data"),
                "-o",
                options,
                "-l",
                str(self.dir / "log"),
                "-w",
                "start",
            )
        else:
            self._run(pg_ctl, "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop")

    async def start(self) -> str:
        """Create and start the cluster; returns a database URL on it."""
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
        initdb = _bin("initdb")
        assert initdb is not None
        data = str(self.dir / "data")
        self._run(initdb, "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        self._ctl("start")
        conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres")
        try:
            await conn.execute("CREATE DATABASE drill")
        finally:
            await conn.close()
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/drill"

    async def restart(self, down: float) -> None:
        """Stop the server (connections cut), stay down `down` seconds, start it again."""
        await asyncio.to_thread(self._ctl, "stop")
        await asyncio.sleep(down)  # the outage itself: the drill's fixed duration
        await asyncio.to_thread(self._ctl, "start")

    def remove(self) -> None:
        """Stop the server (if running) and delete the cluster."""
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            self._ctl("stop")
        shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.asynccontextmanager
async def private_postgres() -> AsyncIterator[PrivatePostgres]:
    """A started private cluster, removed afterwards."""
    cluster = PrivatePostgres()
    try:
        yield cluster
    finally:
        await asyncio.to_thread(cluster.remove)


async def _system_restart(down: float) -> None:
    """Restart the machine's own cluster (the --system variant)."""
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    for action in ("stop", "start"):
        await asyncio.to_thread(
            subprocess.run,
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action],
            check=True,
            timeout=120,
        )
        if action == "stop":
            await asyncio.sleep(down)  # the outage itself


async def run(
    recipients: int,
    *,
    down: float = 2.0,
    per_second: float = 30,
    database_url: str | None = None,
    system: bool = False,
) -> Verdict:
    """Fan out to `recipients` on PostgreSQL; a third in, the database restarts."""
    async with contextlib.AsyncExitStack() as stack:
        cluster: PrivatePostgres | None = None
        if not system:
            cluster = await stack.enter_async_context(private_postgres())
            database_url = await cluster.start()
        elif not database_url:
            raise SystemExit("--system needs --database-url (a database on that server)")
        world = FanoutWorld(recipients, database_url=database_url, per_second=per_second)
        async with world:
            await world.start()
            await world.reached(recipients // 3, within=recipients / per_second + 60)
            if cluster is not None:
                await cluster.restart(down)
            else:
                await _system_restart(down)
            counts = await world.settled(within=recipients / per_second + 120)
            verdict = world.judge(counts, in_flight_duplicates=True)
    verdict.figures["down"] = down
    return verdict


def main() -> int:
    """Command line: the drill at the size asked; exit 1 on failure (skipped: exit 0)."""
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--recipients", type=int, default=3000)
    p.add_argument("--down", type=float, default=2.0, help="seconds the server stays down")
    p.add_argument("--system", action="store_true", help="restart the machine's cluster")
    o = p.parse_args()
    reason = None if o.system else unavailable()
    if reason is not None:
        print(f'{{"skipped": "{reason}"}}' if o.json else f"skipped: {reason}")
        return 0
    verdict = asyncio.run(
        run(
            o.recipients,
            down=o.down,
            per_second=o.per_second,
            database_url=o.database_url,
            system=o.system,
        )
    )
    return finish(verdict, o.json)


if __name__ == "__main__":
    sys.exit(main())
