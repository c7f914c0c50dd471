"""The worker as operators run it: a process that answers, and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_worker_answers_then_stops_within_ten_seconds(tmp_path: Path, sig: int) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_BOT_TOKEN")}
    env.pop("DATABASE_URL", None)
    config = tmp_path / "config.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\nschedule: {ROOT / 'schedule.yaml'}\n")
    proc = await asyncio.create_subprocess_exec(
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
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(b"/language zh-TW\n")
        await proc.stdin.drain()
        seen = []
        async with asyncio.timeout(30):
            while not any("語言已設定" in line for line in seen):
                line = (await proc.stdout.readline()).decode()
                assert line, f"the worker ended early: {seen}"
                seen.append(line)
        began = time.monotonic()
        proc.send_signal(sig)
        async with asyncio.timeout(10):
            _, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()[-1500:]
        assert time.monotonic() - began < 10
    finally:
        if proc.returncode is None:  # a failed assertion must not leave a worker running
            proc.kill()
            await proc.wait()
    assert (tmp_path / "data" / "summit-bot.sqlite3").exists()
