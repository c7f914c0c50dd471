"""A million subscribers (issue 17): memory, start-up, commands, one reminder's ledger write
and its first message, chunked against the old single transaction, in one run.

`python -m bench --only million` (`--quick`: 100,000) runs, on PostgreSQL and on SQLite, a
fresh worker process per write mode on a database seeded in bulk (INSERT … SELECT over a
generated series). The measured side is this module too: `python -m bench.million 'JSON'`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import json
import logging
import os
import sys
import tempfile
import time
from dataclasses import fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from bench.common import UTC, percentile, rss_mb, run_json, run_scenario, summit_at

if TYPE_CHECKING:
    from bench.__main__ import Report

log = logging.getLogger("bench.million")

# The ways of writing one reminder's audience, as overrides of the reminders' settings:
# chunks of chat pks (this code's default: on PostgreSQL audience parts, two chunks written
# at once), the same as ledger rows ("write_parts": 0, the ledger's own switch), those rows
# one chunk at a time, and the old single transaction (a chunk larger than any audience).
MODES: dict[str, dict[str, int]] = {
    "chunked": {},
    "rows": {"write_parts": 0},
    "one writer": {"write_parallel": 1, "write_parts": 0},
    "one transaction": {"write_chunk": 10**12},
}
# Modes that differ from "chunked" only on PostgreSQL (SQLite writes rows, one at a time).
POSTGRESQL_ONLY = ("rows", "one writer")

_SEED_CHATS = {
    "postgresql": """
INSERT INTO chats (platform, chat_id, user_id, kind, language, timezone, status,
                   created_at, updated_at)
SELECT 'memory', i::text, i::text, 'private',
       (ARRAY['en', 'zh-TW', NULL])[1 + i % 3],
       (ARRAY[NULL, 'Asia/Taipei', 'Europe/Prague', 'America/Bogota',
              'Pacific/Auckland'])[1 + i % 5],
       'active', :now, :now
FROM generate_series(1, :count) AS i
""",
    "sqlite": """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count)
INSERT INTO chats (platform, chat_id, user_id, kind, language, timezone, status,
                   created_at, updated_at)
SELECT 'memory', CAST(i AS TEXT), CAST(i AS TEXT), 'private',
       CASE i % 3 WHEN 0 THEN 'en' WHEN 1 THEN 'zh-TW' END,
       CASE i % 5 WHEN 1 THEN 'Asia/Taipei' WHEN 2 THEN 'Europe/Prague'
                  WHEN 3 THEN 'America/Bogota' WHEN 4 THEN 'Pacific/Auckland' END,
       'active', :now, :now
FROM n
""",
}
_SEED_SUBSCRIPTIONS = (
    "INSERT INTO subscriptions (chat_pk, session_id, created_at)"
    " SELECT id, 's1', :now FROM chats WHERE platform = 'memory'"
)


# --- the measured side (its own process) --------------------------------------------------


async def seed(args: dict[str, Any]) -> dict[str, Any]:
    """Migrate and add `count` private chats subscribed to session 1, in two statements."""
    from bot.store import Store
    from bot.store.tables import UtcDateTime

    started = time.perf_counter()
    store = await Store.open(args["db_url"])
    now = sa.bindparam("now", dt.datetime.now(UTC), type_=UtcDateTime())
    async with store.engine.begin() as conn:
        chats = sa.text(_SEED_CHATS[store.dialect]).bindparams(now, count=int(args["count"]))
        await conn.execute(chats)
        await conn.execute(sa.text(_SEED_SUBSCRIPTIONS).bindparams(now))
    async with store.engine.connect() as conn:
        await conn.execute(sa.text("ANALYZE"))
        await conn.commit()
    await store.close()
    return {"seconds": time.perf_counter() - started}


async def run(args: dict[str, Any]) -> dict[str, Any]:
    """A worker on the seeded database: start-up, memory at rest, commands, then one reminder
    ("live now" of session 1) due a few seconds ahead: its ledger write and first message."""
    from bot.adapters.base import Limits
    from bot.adapters.memory import MemoryAdapter
    from bot.app import Worker
    from bot.config import Delivery, Reminders, Settings
    from bot.store import Store

    spawned = float(args["spawned"])
    count = int(args["count"])

    class NullPlatform(MemoryAdapter):
        """Takes every reminder at once and keeps only the first's arrival time and a count
        (a million Sent records would be the benchmark's memory, not the worker's)."""

        # Telegram's highest rate (paid broadcasts): the fan-out's own database work is
        # what a real platform allows, not what an instant one would.
        limits = Limits(4096, 1000, 1000, 1000)
        first: float | None = None
        taken = 0

        async def send(self, to: Any, message: Any, *, key: str) -> None:
            """Take the message."""
            if self.first is None:
                self.first = time.time()
            self.taken += 1

    reminders = replace(Reminders(), default_offsets=(0,))
    known = {f.name for f in fields(Reminders)}  # the code before may lack a setting
    overrides = {k: v for k, v in MODES[args["mode"]].items() if k in known}
    reminders = replace(reminders, **overrides)
    settings = replace(
        Settings(), reminders=reminders, delivery=replace(Delivery(), progress_every=0)
    )
    store = await Store.open(args["db_url"])
    if MODES[args["mode"]].get("write_parts") == 0 and hasattr(store.ledger, "write_parts"):
        store.ledger.write_parts = False
    platform = NullPlatform()
    far = dt.datetime.now(UTC) + dt.timedelta(days=2)  # nothing due while measuring
    worker = Worker(settings, summit_at(far), store, [platform])
    await worker.start()
    startup = time.time() - spawned
    await asyncio.sleep(2.0)  # at rest: every start-up task has run, nothing is due
    gc.collect()
    at_rest = rss_mb()

    latencies: dict[str, list[float]] = {"schedule": [], "subscribe": []}
    for i in range(-1, int(args.get("commands", 300))):  # round -1 warms up, not counted
        for name, text, chat in (
            ("schedule", "/schedule", str(1 + (i * 7919) % count)),
            ("subscribe", "/subscribe s2", str(20_000_000 + i)),
        ):
            began = time.perf_counter()
            reply = await platform.push(text, chat_id=chat)
            if i >= 0:
                latencies[name].append((time.perf_counter() - began) * 1000)
            assert reply is not None and reply.messages
    await worker.settle()

    # One reminder due `lead` seconds ahead, planned by a schedule change as a reload does;
    # the job fires at the due instant, the write is timed around the scheduler's call.
    timed: dict[str, float] = {}
    fire_many = worker.scheduler.fire_many

    async def timed_fire(groups: Any, **options: Any) -> int:
        began = time.time()
        added = await fire_many(groups, **options)
        if groups:  # a re-plan with nothing due calls it too
            timed.update(began=began, ended=time.time(), rows=added)
        return added

    worker.scheduler.fire_many = timed_fire  # type: ignore[method-assign]
    due = dt.datetime.now(UTC) + dt.timedelta(seconds=float(args.get("lead", 3.0)))
    await worker.replace_schedule(summit_at(due))
    deadline = time.time() + float(args.get("within", 120))
    while time.time() < deadline:
        if "ended" in timed and platform.first is not None:
            break
        await asyncio.sleep(0.01)  # a benchmark, not a test: polling is fine
    peak = rss_mb()
    taken = platform.taken
    await worker.stop()
    # The same write again with nothing sending meanwhile: the write alone, without the
    # fan-out's own database work and CPU beside it.
    group = next(g for g in worker.scheduler._groups.values() if g.session_id == "s1")
    async with store.engine.begin() as conn:
        await conn.execute(sa.text("DELETE FROM deliveries"))
        tables = await conn.run_sync(lambda c: sa.inspect(c).get_table_names())
        if "audience_parts" in tables:  # the code before has none
            await conn.execute(sa.text("DELETE FROM audience_parts"))
    began = time.perf_counter()
    alone_rows = await fire_many([group])
    alone = time.perf_counter() - began
    # The fan-out's side: claims of 100 rows, as the engine makes them, over the first
    # 20,000 recipients (parts become rows in them: 20 blocks of 1,000).
    began = time.perf_counter()
    claimed = 0
    for _ in range(200):
        claimed += len(await store.ledger.claim("memory", limit=100, now=dt.datetime.now(UTC)))
    claims = time.perf_counter() - began
    await store.close()
    first = platform.first
    return {
        "startup": startup,
        "rss_at_rest": at_rest,
        "rss_after_fire": peak,
        "p99_ms": {name: percentile(v, 99) for name, v in latencies.items()},
        "p50_ms": {name: percentile(v, 50) for name, v in latencies.items()},
        "ledger_rows": timed.get("rows", 0),
        "ledger_seconds": timed["ended"] - timed["began"] if "ended" in timed else None,
        "fire_late": timed["began"] - due.timestamp() if "began" in timed else None,
        "first_send": first - due.timestamp() if first is not None else None,
        "sent_while_writing": taken,
        "alone_rows": alone_rows,
        "alone_seconds": alone,
        "claimed": claimed,
        "claims_ms": claims / 200 * 1000,
    }


# --- the side that runs them ---------------------------------------------------------------


async def _sqlite_url() -> str:
    return f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp(prefix='summit-million-')) / 'm.db'}"


async def _template(count: int, db: str) -> tuple[str, Any]:
    """A seeded database and how to copy it fresh for each run (a template database, or a
    copy of the SQLite file)."""
    from bench.__main__ import _pg_database

    if db == "postgresql":
        name = f"summit_million_{os.getpid()}"
        url = await _pg_database("create", name)
        return url, name
    url = await _sqlite_url()
    return url, Path(url.split("///", 1)[1])


async def _fresh(db: str, template: Any, run_no: int) -> str:
    """A copy of the seeded database for one run (each mode starts from the same data)."""
    if db == "postgresql":
        import asyncpg

        from bench.__main__ import _pg_database

        url = await _pg_database("drop", f"{template}_{run_no}")
        admin = os.environ.get(
            "SUMMIT_BOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
        )
        conn = await asyncpg.connect(admin, timeout=5)
        try:
            await conn.execute(f'CREATE DATABASE "{template}_{run_no}" TEMPLATE "{template}"')
        finally:
            await conn.close()
        return url
    import shutil

    copy = Path(tempfile.mkdtemp(prefix="summit-million-")) / "m.db"
    shutil.copyfile(template, copy)
    return f"sqlite+aiosqlite:///{copy}"


async def _drop(db: str, name: str) -> None:
    if db == "postgresql":
        from bench.__main__ import _pg_database

        await _pg_database("drop", name)


async def million(
    report: Report, count: int, commands: int, databases: list[str], before: str | None = None
) -> None:
    """Issue 17's figures at `count` subscribers, each write mode on a copy of one seed;
    `before`: also the code in DIR/bot (the code before the change), on a seed of its own."""
    report.raw["million"] = {}
    for db in databases:
        runs: dict[str, dict[str, Any]] = {}
        seeds: dict[str, float] = {}
        for code in [None] if before is None else [None, before]:
            try:
                url, template = await _template(count, db)
            except (OSError, TimeoutError) as exc:
                print(f"  million: {db} not reachable, skipped: {exc}", file=sys.stderr)
                break
            try:
                seeded = await run_json(
                    "bench.million", {"scenario": "seed", "db_url": url, "count": count}, code=code
                )
                seeds["before" if code else "after"] = seeded["seconds"]
                print(
                    f"  million {db}: seeded {count:,} in {seeded['seconds']:.1f} s",
                    file=sys.stderr,
                )
                modes = [m for m in MODES if db == "postgresql" or m not in POSTGRESQL_ONLY]
                for run_no, mode in enumerate(modes if code is None else ["before"]):
                    fresh = await _fresh(db, template, run_no)
                    args = {"scenario": "run", "db_url": fresh, "count": count}
                    # The code before runs as it was configured by default: in one
                    # transaction before chunks existed (7c85acb), in chunks since.
                    args |= {"mode": "chunked" if code else mode, "commands": commands}
                    try:
                        runs[mode] = await run_json("bench.million", args, code=code)
                    finally:
                        await _drop(db, f"{template}_{run_no}")
                    print(f"  million {db} {mode}: {json.dumps(runs[mode])}", file=sys.stderr)
            finally:
                await _drop(db, str(template))
        if "chunked" in runs and "one transaction" in runs:
            report.raw["million"][db] = {"seed_seconds": seeds, **runs}
            _rows(report, f"6. million {count:,}, {db}", runs)


def _rows(report: Report, section: str, runs: dict[str, dict[str, Any]]) -> None:
    """The table's rows: the chunked write; beside it (when measured) the same as ledger rows
    and those one chunk at a time, the single transaction, and the code before the change."""
    new, old, was = runs["chunked"], runs["one transaction"], runs.get("before")
    rows, single = runs.get("rows"), runs.get("one writer")

    def secs(value: float | None) -> str:
        return "none within the time-out" if value is None else f"{value:.2f} s"

    def mb(value: float) -> str:
        return f"{value:.0f} MB"

    def ms(run: dict[str, Any], name: str) -> str:
        return f"{run['p99_ms'][name]:.1f} ms ({run['p50_ms'][name]:.1f})"

    def beside(key: str, fmt: Any, name: str = "") -> str:
        def show(run: dict[str, Any]) -> str:
            if name:
                return ms(run, name)
            return str(fmt(run[key])) if key in run else "not measured"

        texts = [] if rows is None else [f"rows: {show(rows)}"]
        texts += [] if single is None else [f"rows, one writer: {show(single)}"]
        texts.append(f"one transaction: {show(old)}")
        if was is not None:
            texts.append(f"before: {show(was)}")
        return "; ".join(texts)

    figures = [
        ("RSS at rest", "<= 200 MB", mb(new["rss_at_rest"]), "rss_at_rest", mb),
        ("start-up (spawn to taking commands)", "<= 3 s", secs(new["startup"]), "startup", secs),
        (
            f"one reminder's {new['ledger_rows']:,} recipients in the ledger"
            " (as parts of up to 1,000 chats)",
            "<= 5 s",
            secs(new["ledger_seconds"]),
            "ledger_seconds",
            secs,
        ),
        ("due instant to first message", "<= 1 s", secs(new["first_send"]), "first_send", secs),
        (
            "the same write alone (nothing sending meanwhile)",
            "<= 5 s",
            secs(new["alone_seconds"]),
            "alone_seconds",
            secs,
        ),
    ]
    goals = {
        "rss_at_rest": 200,
        "startup": 3,
        "ledger_seconds": 5,
        "first_send": 1,
        "alone_seconds": 5,
    }
    for figure, goal, measured, key, fmt in figures:
        value = new[key]
        met = value is not None and value <= goals[key]
        report.add(section, figure, goal, measured, beside(key, fmt), met=met)
    report.add(
        section,
        f"then a claim of 100 rows, mean of 200 ({new['claimed']:,} claimed)",
        "informational",
        f"{new['claims_ms']:.1f} ms",
        beside("claims_ms", lambda v: f"{v:.1f} ms"),
    )
    for name in ("schedule", "subscribe"):
        report.add(
            section,
            f"/{name} p99 (p50)",
            "< 50 ms",
            ms(new, name),
            beside("", None, name),
            met=new["p99_ms"][name] < 50,
        )


SCENARIOS = {"seed": seed, "run": run}


def main() -> None:
    """Run the scenario the JSON argument names."""
    run_scenario(SCENARIOS)


if __name__ == "__main__":
    main()
