"""The measured side of the conference section, in a process of its own:
`python -m bench.conference 'JSON'` (the last stdout line is the result, as JSON).

A schedule of 1,000 talks in 40 rooms over 4 days (tests/support/conference.py): how long
loading and planning it take, then the p99 of /schedule (a day, and one track's day), /now
and /find on a worker with that schedule, SQLite, `subscribers` chats following tracks,
rooms and talks.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import percentile, run_scenario
from bot.adapters.memory import MemoryAdapter
from bot.app import Worker
from bot.config import Settings
from bot.planner import Prefs, plan
from bot.schedule import load_schedule
from bot.store import Store
from tests.support.conference import TRACKS, ZONE, at, conference_yaml

COMMANDS = (
    ("schedule", "/schedule"),
    ("schedule track", "/schedule tomorrow track:Security"),
    ("now", "/now"),
    ("find", "/find cafe room 1"),
)


async def measure(args: dict[str, Any]) -> dict[str, Any]:
    """Load, plan and answer commands on the conference; every figure in seconds or ms."""
    folder = Path(tempfile.mkdtemp(prefix="summit-conference-"))
    path = folder / "schedule.yaml"
    path.write_text(conference_yaml(), encoding="utf-8")
    before = at(1, 8) - dt.timedelta(days=2)  # nothing due while planning

    began = time.perf_counter()
    schedule = load_schedule(path)
    load_seconds = time.perf_counter() - began
    began = time.perf_counter()
    planned = plan(schedule, Prefs(ZONE, Settings().reminders.default_offsets), before)
    plan_seconds = time.perf_counter() - began

    store = await Store.open(f"sqlite+aiosqlite:///{folder / 'bench.sqlite3'}")
    memory = MemoryAdapter()
    clock = {"now": before}
    worker = Worker(Settings(), schedule, store, [memory], lambda: clock["now"])
    await worker.start(background=False)
    subscribers = int(args.get("subscribers", 200))
    for i in range(subscribers):
        what = f"track:{TRACKS[i % len(TRACKS)]}" if i % 3 == 0 else f"room:Room {i % 40 + 1}"
        if i % 3 == 2:
            what = f"t{i % 1000 + 1:04d}"
        await memory.push(f"/subscribe {what}", chat_id=str(i + 1))
    await worker.settle()
    await worker.stop()
    # A worker starting on that database plans from scratch: every group, every job.
    memory = MemoryAdapter()
    worker = Worker(Settings(), schedule, store, [memory], lambda: clock["now"])
    began = time.perf_counter()
    await worker.start(background=False)
    replan_seconds = time.perf_counter() - began
    jobs = len(worker.scheduler.aps.get_jobs())

    clock["now"] = at(2, 10, 10)  # talks on in every room
    rounds = int(args.get("rounds", 300))
    latencies: dict[str, list[float]] = {name: [] for name, _ in COMMANDS}
    first: dict[str, float] = {}
    for i in range(-1, rounds):  # round -1 warms up (Babel data, the indexes): apart
        for name, text in COMMANDS:
            started = time.perf_counter()
            reply = await memory.push(text, chat_id=str(1 + (i * 7919) % subscribers))
            elapsed = (time.perf_counter() - started) * 1000
            assert reply is not None and reply.messages, text
            if i < 0:
                first[name] = elapsed
            else:
                latencies[name].append(elapsed)
    await worker.stop()
    await store.close()
    return {
        "talks": len(schedule.sessions),
        "rooms": len({s.room for s in schedule.sessions}),
        "load_seconds": load_seconds,
        "plan_seconds": plan_seconds,
        "planned": len(planned),
        "replan_seconds": replan_seconds,
        "jobs": jobs,
        "subscribers": subscribers,
        "p99_ms": {name: percentile(v, 99) for name, v in latencies.items()},
        "p50_ms": {name: percentile(v, 50) for name, v in latencies.items()},
        "first_ms": first,
    }


def main() -> None:
    """Run with the JSON argument; print the result as one JSON line."""
    run_scenario({"measure": measure})


if __name__ == "__main__":
    main()
