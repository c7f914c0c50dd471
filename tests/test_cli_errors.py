"""Command-line mistakes, as a newcomer makes them: every error says what would be right."""

from __future__ import annotations

import datetime as dt
import io
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from bot.schedule import load_schedule
from tests.support.harness import Harness

ROOT = Path(__file__).resolve().parent.parent
SCHEDULE = str(ROOT / "schedule.yaml")


def run(*argv: str) -> tuple[int, str, str]:
    """Run the CLI in-process; returns status, stdout and stderr (argparse's included)."""
    out, err = io.StringIO(), io.StringIO()
    old_out, old_err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err  # argparse prints usage errors and --version there
    try:
        status = main(list(argv), out=out, err=err)
    except SystemExit as exc:
        status = int(exc.code or 0)
    finally:
        sys.stdout, sys.stderr = old_out, old_err
    return status, out.getvalue(), err.getvalue()


@pytest.fixture
def config(tmp_path: Path) -> str:
    """A config file whose data directory is the test's own."""
    path = tmp_path / "config.yaml"
    path.write_text(f"data_dir: {tmp_path / 'data'}\n", encoding="utf-8")
    return str(path)


def test_a_now_that_is_not_an_instant_says_what_one_looks_like() -> None:
    status, _, err = run("agenda", "--schedule", SCHEDULE, "--now", "yesterday")
    assert status == 2
    assert "argument --now: expected an ISO date-time with a zone" in err
    assert "2020-08-13T15:00+08:00" in err and "parse_instant" not in err


def test_a_now_without_a_zone_asks_for_one() -> None:
    status, _, err = run("check", "--schedule", SCHEDULE, "--now", "2020-08-13T15:00")
    assert status == 2
    assert "argument --now: '2020-08-13T15:00' has no zone" in err
    assert "2020-08-13T15:00+08:00" in err


def test_a_rehearsal_start_that_is_neither_minutes_nor_an_instant_names_both_forms() -> None:
    status, _, err = run("run", "--schedule", SCHEDULE, "--rehearse", "banana")
    assert status == 2
    assert "argument --rehearse: expected +MINUTES (e.g. +30) or an ISO date-time" in err
    assert "isoformat" not in err


def test_a_broadcast_time_that_cannot_be_read_names_both_forms(config: str) -> None:
    argv = ("broadcast", "--config", config, "--schedule", SCHEDULE, "--text", "Hi")
    status, _, err = run(*argv, "--at", "tomorrow")
    assert status == 2 and "argument --at: expected +MINUTES (e.g. +30)" in err


def test_an_unknown_audience_lists_every_audience_there_is(config: str) -> None:
    argv = ("broadcast", "--config", config, "--schedule", SCHEDULE, "--text", "Hi")
    status, _, err = run(*argv, "--to", "nosuch")
    assert status == 2
    sessions = [s.id for s in load_schedule(SCHEDULE).sessions]
    assert "--to: no audience called 'nosuch'" in err
    assert f"all, channels, a session ({', '.join(sessions)}) or a language (en, zh-TW)" in err


def test_version_says_which_release_runs() -> None:
    status, out, _ = run("--version")
    assert status == 0 and out.startswith("summit-bot 0.")


def test_a_broadcast_preview_creates_no_database(tmp_path: Path, config: str) -> None:
    argv = ("broadcast", "--config", config, "--schedule", SCHEDULE, "--text", "Hi")
    status, out, _ = run(*argv)
    assert status == 0
    assert f"No database at {tmp_path / 'data' / 'summit-bot.sqlite3'} yet" in out
    assert "0 chats" in out and "Preview only" in out
    assert not (tmp_path / "data").exists()


def test_log_level_is_an_option_of_run_and_demo_and_checked() -> None:
    status, _, err = run("run", "--schedule", SCHEDULE, "--log-level", "LOUD")
    assert status == 2 and "argument --log-level: invalid choice: 'LOUD'" in err
    assert "DEBUG" in err and "WARNING" in err
    status, _, err = run("demo", "--schedule", SCHEDULE, "--log-level", "chatty")
    assert status == 2 and "argument --log-level" in err


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put back the levels that configure_logging changes."""
    names = ("", "apscheduler", "httpx")
    levels = {name: logging.getLogger(name).level for name in names}
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.usefixtures("restore_logging")
async def test_a_subscribe_at_info_logs_no_scheduler_chatter(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.cli.worker import configure_logging

    configure_logging("INFO")
    caplog.clear()
    await bot.say("/subscribe all")
    assert not [r for r in caplog.records if r.name.startswith("apscheduler")]

    configure_logging("DEBUG")  # asked for: then the scheduler's lines are there
    await bot.say("/unsubscribe all")
    await bot.say("/subscribe s1")
    assert [r for r in caplog.records if r.name.startswith("apscheduler")]


def test_the_demo_leaves_no_folders_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    monkeypatch.setattr(sys, "stdin", io.StringIO("/calendar all\n"))  # piped: exits at the end
    start = dt.datetime(2020, 8, 1, tzinfo=dt.UTC)
    calls: list[int] = []

    def clock() -> dt.datetime:
        """The demo's start, then long after its rehearsed session: it ends at once."""
        calls.append(1)
        return start if len(calls) == 1 else start + dt.timedelta(hours=3)

    out = io.StringIO()
    status = main(["demo", "--schedule", SCHEDULE], clock=clock, out=out, err=out)
    assert status == 0, out.getvalue()
    assert "📎" in out.getvalue()  # the calendar file was saved, then cleaned up
    assert [p.name for p in tmp_path.iterdir()] == []
