"""The worker as a process, as operators run it: spawn it, talk to it, stop or kill it."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


async def spawn_worker(tmp_path: Path) -> asyncio.subprocess.Process:
    """`summit-bot run --console` on the embedded SQLite database in tmp_path/data."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_BOT_TOKEN")}
    env.pop("DATABASE_URL", None)
    config = tmp_path / "config.yaml"
    # No web server: tests run side by side, and a taken port would stop the worker.
    config.write_text(
        f"data_dir: {tmp_path / 'data'}\nschedule: {ROOT / 'schedule.yaml'}\n"
        "web:\n  enabled: false\n"
    )
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "--console",
        "--config",
        str(config),
        cwd=tmp_path,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def read_until(stream: asyncio.StreamReader | None, text: str, seconds: float = 30) -> None:
    """Read lines until one contains `text` (fails if the stream ends first)."""
    assert stream is not None
    seen: list[str] = []
    async with asyncio.timeout(seconds):
        while not any(text in line for line in seen):
            line = (await stream.readline()).decode()
            assert line, f"the worker ended before saying {text!r}: {seen}"
            seen.append(line)


async def say(proc: asyncio.subprocess.Process, command: str, expected: str) -> None:
    """Type a command on the worker's console; wait for the reply."""
    assert proc.stdin is not None
    proc.stdin.write(f"{command}\n".encode())
    await proc.stdin.drain()
    await read_until(proc.stdout, expected)


async def stopped(proc: asyncio.subprocess.Process, sig: int = signal.SIGTERM) -> float:
    """Send `sig`; the worker must exit 0. Returns how long it took."""
    began = time.monotonic()
    proc.send_signal(sig)
    async with asyncio.timeout(10):
        _, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()[-1500:]
    return time.monotonic() - began


def kill(*procs: asyncio.subprocess.Process) -> None:
    """A failed assertion must not leave a worker running."""
    for proc in procs:
        if proc.returncode is None:
            proc.kill()
