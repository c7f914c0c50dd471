"""Shared pieces of the benchmarks: memory, percentiles, the fake Bot API's own process."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.drills.world import UTC, seed_subscribers, summit_at

ROOT = Path(__file__).resolve().parent.parent
__all__ = ["UTC", "seed_subscribers", "summit_at"]


def rss_mb(pid: int | str = "self") -> float:
    """Resident memory of a process, in MB (from /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def peak_rss_mb(pid: int | str = "self") -> float:
    """Peak resident memory of a process, in MB (from /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) of values, nearest rank."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def median(values: Sequence[float]) -> float:
    """The median, NaN for no values."""
    return statistics.median(values) if values else float("nan")


@dataclass(frozen=True)
class FakeAddress:
    """Where the fake Bot API (and its control API) of another process listens."""

    api_port: int
    control_port: int
    token: str

    @property
    def api_root(self) -> str:
        """The root TELEGRAM_API_BASE_URL takes."""
        return f"http://127.0.0.1:{self.api_port}"


class FakeProcess:
    """The fake Bot API in a process of its own, driven through its control API."""

    def __init__(self, proc: asyncio.subprocess.Process, address: FakeAddress) -> None:
        self.proc = proc
        self.address = address

    async def call(self, path: str, body: dict[str, Any] | None = None) -> Any:
        """POST (with a body) or GET one control endpoint; returns the JSON answer."""
        import httpx

        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{self.address.control_port}"
        ) as c:
            if body is None and path == "/stats":
                response = await c.get(path, timeout=60)
            else:
                response = await c.post(path, json=body or {}, timeout=60)
            response.raise_for_status()
            return response.json()

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the fake's process used so far."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks


@asynccontextmanager
async def fake_process() -> AsyncIterator[FakeProcess]:
    """Start `python -m tests.drills.fake_platform`; stop it (stdin closed) on exit."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.drills.fake_platform",
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stdin is not None
    line = await asyncio.wait_for(proc.stdout.readline(), timeout=30)
    info = json.loads(line)
    try:
        yield FakeProcess(proc, FakeAddress(info["api"], info["control"], info["token"]))
    finally:
        proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), timeout=10)
        except TimeoutError:
            proc.kill()
            await proc.wait()


async def run_json(
    module: str, args: dict[str, Any], *, within: float = 900, code: str | None = None
) -> dict[str, Any]:
    """Run `python -m module 'JSON args'` and return the JSON object on its last stdout line.

    `code`: a directory whose bot/ package the process imports instead of this tree's.
    """
    env = dict(os.environ)
    if code:
        env["BENCH_CODE"] = code
    started = time.time()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        json.dumps({**args, "spawned": started}),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout=within)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    if proc.returncode != 0:
        raise RuntimeError(f"{module} {args.get('scenario')} failed:\n{err.decode()[-3000:]}")
    lines = out.decode().strip().splitlines()
    result: dict[str, Any] = json.loads(lines[-1])
    return result


# A measured side of a benchmark: its JSON arguments in, its figures out.
Scenario = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


def run_scenario(scenarios: Mapping[str, Scenario]) -> None:
    """`python -m bench.X 'JSON'`: run the scenario the JSON names; print its result as one
    JSON line (the last line of stdout, which `run_json` reads)."""
    args = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    logging.basicConfig(
        level=os.environ.get("BENCH_LOG", "WARNING"),
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    name = args.get("scenario", next(iter(scenarios)))
    if not name.startswith("naive") and not os.environ.get("BENCH_DEFAULT_GC"):
        like_the_run_command()
    print(json.dumps(asyncio.run(scenarios[name](args))), flush=True)


def like_the_run_command() -> None:
    """The process settings `summit-bot run` makes before it starts a worker (the garbage
    collector's thresholds), for a measured worker; a naive baseline keeps Python's defaults,
    as does the code before them (`--before`)."""
    import bot.app

    tune = getattr(bot.app, "tune_garbage_collector", None)
    if tune is not None:
        tune()


def warmed_up() -> None:
    """Do the worker's one-off start-up work now, before anything is measured: the zone names
    of every language (a thread at each start, about 3 s of CPU for eleven), as in a worker
    that has been up a while (code from before the warm-up took languages, `--before`,
    built the same names on first use)."""
    import inspect

    from bot.i18n import languages
    from bot.timezones import warm_up

    if inspect.signature(warm_up).parameters:
        warm_up(languages())
    else:
        warm_up()  # type: ignore[call-arg]
