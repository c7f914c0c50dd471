"""Rehearsals as an organizer runs them: the demo and `run --rehearse` keep their shift through
a reload, say what they report once, end when the session in force is over, and never write
to the real database unless told to."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path

import pytest

from bot.app import Worker
from bot.cli import main
from bot.config import Organizers, Settings
from bot.schedule import load_schedule
from bot.store import Store
from tests.drills.world import seed_subscribers
from tests.support.processes import ROOT, kill, read_until, say, stopped
from tests.support.schedule_files import NOW, make_harness

SCHEDULE = ROOT / "schedule.yaml"
# A start in the future of any machine running the tests: the scheduler's own timers (real
# time) never fire during a test, so only the injected clock moves the demo.
T0 = dt.datetime(2031, 8, 1, tzinfo=dt.UTC)  # s1 rehearsed at 00:02 UTC, 08:02 Taipei
LATE = T0 + dt.timedelta(hours=3)
MINUTE = dt.timedelta(minutes=1)


class ScriptedStdin(io.StringIO):
    """Piped stdin: lines a viewer types, and edits made to files between two of them."""

    def __init__(self, steps: Iterable[str | Callable[[], object]]) -> None:
        super().__init__()
        self.steps = list(steps)

    def readline(self, size: int | None = -1) -> str:  # type: ignore[override]
        """The next typed line, after running the edits before it; "" at the end."""
        while self.steps:
            step = self.steps.pop(0)
            if isinstance(step, str):
                return step + "\n"
            step()
        return ""


class DemoClock:
    """T0 until `after` is printed, then `then` for `calls` readings, then `last`."""

    def __init__(
        self,
        out: io.StringIO,
        after: str,
        then: dt.datetime,
        calls: int = 0,
        last: dt.datetime = LATE,
    ) -> None:
        self.out, self.after, self.then, self.calls, self.last = out, after, then, calls, last

    def __call__(self) -> dt.datetime:
        if self.after not in self.out.getvalue():
            return T0
        self.calls -= 1
        return self.then if self.calls >= 0 else self.last


def demo(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    steps: Iterable[str | Callable[[], object]],
    clock: Callable[[io.StringIO], Callable[[], dt.datetime]],
    *argv: str,
) -> str:
    """Run `summit-bot demo` with piped stdin; it must end by itself, with status 0."""
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    monkeypatch.setattr("bot.cli.worker.DEMO_TICK", 0.02)  # one look at the clock per tick
    monkeypatch.setattr(sys, "stdin", ScriptedStdin(steps))
    out = io.StringIO()
    status: list[int] = []

    def demo_thread() -> None:
        status.append(main(["demo", *argv], clock=clock(out), out=out, err=out))

    thread = threading.Thread(target=demo_thread, daemon=True)
    thread.start()
    thread.join(timeout=30)
    assert status == [0], f"the demo did not end by itself:\n{out.getvalue()}"
    return out.getvalue()


def copy_schedule(tmp_path: Path) -> Path:
    """A schedule file the test may edit while the demo runs."""
    path = tmp_path / "schedule.yaml"
    path.write_text(SCHEDULE.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def edit(path: Path, session_id: str, old: str, new: str) -> Callable[[], None]:
    """An edit of one session's block, made when the script reaches it."""

    def apply() -> None:
        text = path.read_text(encoding="utf-8")
        head, sep, rest = text.partition(f"  - id: {session_id}\n")
        block, nxt, tail = rest.partition("\n  - id: ")
        assert sep and old in block
        path.write_text(head + sep + block.replace(old, new) + nxt + tail, encoding="utf-8")

    return apply


# --- defect 2: the demo's /reload ----------------------------------------------------------


def test_a_reload_in_the_demo_keeps_the_rehearsal_shift(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    schedule = copy_schedule(tmp_path)
    out = demo(
        monkeypatch,
        tmp_path,
        ["/reload", "/mysubs"],
        lambda out: DemoClock(out, "Your subscriptions", LATE),
        "--schedule",
        str(schedule),
    )
    assert f"Schedule reloaded from {schedule}: nothing has changed." in out
    assert "moved:" not in out and "Aug 2020" not in out and "13 Aug" not in out
    mysubs = out[out.index("Your subscriptions") :]
    assert "• s1 · Mayors' Summit, session 1: Europe and Eurasia · Fri 1 Aug, 08:02" in mysubs


def test_the_demo_reload_report_is_read_once_by_whoever_asked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    schedule = copy_schedule(tmp_path)
    with caplog.at_level(logging.WARNING):
        out = demo(
            monkeypatch,
            tmp_path,
            [edit(schedule, "s2", 'start: "07:00"', 'start: "07:30"'), "/reload"],
            lambda out: DemoClock(out, "Schedule reloaded", LATE),
            "--schedule",
            str(schedule),
        )
    # s2 keeps the shift: 4 days 14 hours after the rehearsed s1, then the edit's half hour.
    line = "• s2 “Mayors' Summit, session 2: the Americas and Asia-Pacific” moved:"
    assert f"{line} Tue 5 Aug, 22:02 Taipei → Tue 5 Aug, 22:32 Taipei" in out
    assert out.count("Schedule reloaded from") == 1
    assert "no organizer has a chat" not in caplog.text + out


def test_the_demo_ends_when_the_session_in_force_is_over(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    schedule = copy_schedule(tmp_path)
    # s1 moves ten minutes later; five minutes on, the session first rehearsed would be over,
    # and twenty minutes on the one in force is live.
    out = demo(
        monkeypatch,
        tmp_path,
        [edit(schedule, "s1", 'start: "17:00"', 'start: "17:10"'), "/reload"],
        lambda out: DemoClock(out, "Schedule reloaded", T0 + MINUTE * 5, 40, T0 + MINUTE * 20),
        "--schedule",
        str(schedule),
    )
    assert "→ Fri 1 Aug, 08:12 Taipei" in out
    goodbye = out.index("The demo's last reminder went out: goodbye.")
    live = out.index("🔴 Mayors' Summit, session 1: Europe and Eurasia started 8 minutes ago")
    assert out.index("→ Fri 1 Aug, 08:12 Taipei") < live < goodbye


# --- defect 3: a rehearsal's own database --------------------------------------------------


def test_a_demo_given_a_database_says_so_and_uses_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    chosen = tmp_path / "chosen.sqlite3"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'production.sqlite3'}")
    out = demo(
        monkeypatch,
        tmp_path,
        [],
        lambda out: DemoClock(out, "Subscribed", LATE),
        "--schedule",
        str(SCHEDULE),
        "--database-url",
        f"sqlite:///{chosen}",
    )
    assert f"rehearsal database: sqlite:///{chosen} (--database-url)" in out
    assert chosen.exists() and not (tmp_path / "production.sqlite3").exists()


async def spawn_rehearsal(
    tmp_path: Path, *argv: str, env: dict[str, str] | None = None
) -> asyncio.subprocess.Process:
    """`summit-bot run --rehearse +30 --console` with data_dir tmp_path/data."""
    base = {k: v for k, v in os.environ.items() if not k.endswith("_BOT_TOKEN")}
    base.pop("DATABASE_URL", None)
    config = tmp_path / "config.yaml"
    # No web server: tests run side by side, and a taken port would stop the worker.
    config.write_text(
        f"data_dir: {tmp_path / 'data'}\nschedule: {SCHEDULE}\nweb:\n  enabled: false\n"
    )
    return await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "bot", "run", "--rehearse", "+30", "--console", "--config", str(config)),
        *argv,
        cwd=tmp_path,
        env={**base, **(env or {})},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


def check_changes(tmp_path: Path) -> str:
    """`check --changes` against the real database, s2 moved half an hour."""
    edited = copy_schedule(tmp_path)
    edit(edited, "s2", 'start: "07:00"', 'start: "07:30"')()
    out, err = io.StringIO(), io.StringIO()
    argv = ["check", "--config", str(tmp_path / "config.yaml"), "--schedule", str(edited)]
    assert main([*argv, "--changes", "--now", "2020-08-10T00:00Z"], out=out, err=err) == 0
    return out.getvalue()


async def test_a_subscription_in_a_rehearsal_is_no_real_subscriber(tmp_path: Path) -> None:
    real = tmp_path / "data" / "summit-bot.sqlite3"
    real.parent.mkdir()
    store = await Store.open(f"sqlite:///{real}")  # what the real worker left
    now = dt.datetime(2020, 8, 1, tzinfo=dt.UTC)
    await store.schedules.save("scms2020", 1, SCHEDULE.read_text("utf-8"), source="x", now=now)
    await seed_subscribers(store, "telegram", 2, session_id="s2", now=now)
    await store.close()

    proc = await spawn_rehearsal(tmp_path)
    try:
        own = tmp_path / "data" / "summit-bot.rehearsal.sqlite3"
        await read_until(proc.stderr, f"rehearsal database: {own}, its own")
        await say(proc, "/subscribe s2", "Subscribed to")
        await stopped(proc)
    finally:
        kill(proc)
        await proc.wait()
    assert own.exists()
    assert "(2 subscribers told)" in await asyncio.to_thread(check_changes, tmp_path)


async def test_a_rehearsal_on_database_url_says_it_is_on_purpose(tmp_path: Path) -> None:
    chosen = tmp_path / "staging.sqlite3"
    proc = await spawn_rehearsal(tmp_path, env={"DATABASE_URL": f"sqlite:///{chosen}"})
    try:
        await read_until(proc.stderr, f"rehearsal database: sqlite:///{chosen} (DATABASE_URL")
        await say(proc, "/subscribe s2", "Subscribed to")
        await stopped(proc)
    finally:
        kill(proc)
        await proc.wait()
    assert chosen.exists() and not (tmp_path / "data" / "summit-bot.rehearsal.sqlite3").exists()


async def test_the_organizer_who_reloads_reads_the_summary_once_the_others_get_it(
    store: Store, tmp_path: Path
) -> None:
    schedule = copy_schedule(tmp_path)
    settings = replace(Settings(), organizers=Organizers(telegram_user_ids=("900", "901")))
    harness = make_harness(store, schedule)
    harness.settings = settings
    harness.worker = Worker(
        settings,
        load_schedule(schedule),
        store,
        [harness.memory],
        harness.clock,
        schedule_path=schedule,
    )
    await harness.start()
    try:
        for organizer in ("900", "901"):
            await harness.say("/start", chat_id=organizer)
        edit(schedule, "s2", 'start: "07:00"', 'start: "07:30"')()
        reply = await harness.say("/reload", chat_id="900")
        assert "Schedule reloaded from" in reply and "1 change" in reply
        sent = await harness.at(NOW)
        assert [chat for chat, _ in sent] == ["901"]
        assert "Schedule reloaded from" in sent[0][1].plain()
    finally:
        await harness.worker.stop()
