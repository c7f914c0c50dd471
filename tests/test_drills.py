"""The fault drills at a small size (bench/ runs them at full size): nothing may be lost.

Each drill is a script in tests/drills/ that exits non-zero on failure; here most run in
this process (their `run`), the SIGKILL one through its command line. SQLite, plus one
PostgreSQL restart on a private throwaway cluster when the machine can run one.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from tests.drills import blocked, clock_jump, db_fault, outage, pg_restart, standby, storm
from tests.drills.world import Verdict

ROOT = Path(__file__).resolve().parent.parent


def sqlite(tmp_path: Path) -> str:
    """A new SQLite database in the test's directory."""
    return f"sqlite+aiosqlite:///{tmp_path / 'drill.db'}"


def passed(verdict: Verdict) -> None:
    """Fail with the drill's problems and figures unless it passed."""
    assert verdict.ok, f"{verdict.problems}; {verdict.figures}"


async def test_sigkill_at_five_random_points_loses_nothing() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.drills.sigkill",
        "--recipients=400",
        "--kills=5",
        "--json",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode == 0, (out.decode(), err.decode()[-3000:])
    result = json.loads(out.decode().splitlines()[-1])
    assert result["lost"] == 0 and result["duplicates"] <= result["bound"] == 5 * 8


async def test_a_429_storm_loses_nothing_and_waits_as_told(tmp_path: Path) -> None:
    verdict = await storm.run(150, 1, per_second=100, database_url=sqlite(tmp_path))
    passed(verdict)
    assert verdict.figures["too_many"] >= 3 and verdict.figures["sent_during_pause"] == 0


async def test_blocked_chats_are_marked_and_never_retried(tmp_path: Path) -> None:
    verdict = await blocked.run(200, per_second=200, database_url=sqlite(tmp_path))
    passed(verdict)
    assert verdict.figures["blocked"] == 20 and verdict.figures["retried"] == 0


async def test_the_bot_api_down_mid_fanout_loses_nothing(tmp_path: Path) -> None:
    verdict = await outage.run(
        300, 2.0, backoff=(0.5, 1, 2), per_second=100, database_url=sqlite(tmp_path)
    )
    passed(verdict)
    assert verdict.figures["retried_rows"] > 0


@pytest.mark.postgres
async def test_postgresql_restart_mid_fanout_loses_nothing() -> None:
    reason = pg_restart.unavailable()
    if reason is not None:
        pytest.skip(f"no private PostgreSQL cluster here: {reason}")
    passed(await pg_restart.run(300, down=1.0, per_second=100))


async def test_clock_jumps_send_each_reminder_once_at_its_instant(tmp_path: Path) -> None:
    verdict = await clock_jump.run(sqlite(tmp_path))
    passed(verdict)
    assert verdict.figures["sent"] == verdict.figures["expected"] == 18


async def test_a_database_refusing_writes_across_a_due_instant_loses_no_reminder(
    database_url: str,
) -> None:
    verdict = await db_fault.run(
        60, late_minutes=3, lead=2.0, retry=(0.1, 0.2), per_second=100, database_url=database_url
    )
    passed(verdict)
    assert verdict.figures["refused_writes_logged"] >= 3


@pytest.mark.postgres
@pytest.mark.parametrize("fault", ["kill", "partition"])
async def test_a_standby_takes_over_a_fanout_when_the_active_worker_fails(
    postgres_test_database: str, fault: str
) -> None:
    # Two worker processes on one PostgreSQL database (the drill makes its own): the active
    # one is SIGKILLed, or cut off from the database, at a random point of the fan-out.
    verdict = await standby.run(300, 50, fault)
    passed(verdict)
    figures = verdict.figures
    assert figures["lost"] == 0 and figures["duplicates"] <= figures["bound"] == 8
    if fault == "kill":
        assert figures["takeover_s"] <= 10  # the standby sending within 10 s
    else:
        assert figures["old_last_send_before_new_first_s"] > 0  # never two senders at once
