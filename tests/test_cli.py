"""The command line, as an organizer uses it: check the schedule, print the agenda."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.cli.common import Clock
from bot.clock import utcnow
from bot.config import load_settings
from bot.i18n import languages
from bot.store import Store
from tests.drills.world import seed_subscribers

ROOT = Path(__file__).resolve().parent.parent
SCHEDULE = str(ROOT / "schedule.yaml")


def run(*argv: str, clock: Clock = utcnow) -> tuple[int, str, str]:
    """Run the CLI in-process; returns status, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), clock=clock, out=out, err=err)
    return status, out.getvalue(), err.getvalue()


def block(agenda: str, session_id: str) -> str:
    """The lines of the agenda from the day heading above a session to its link."""
    lines = agenda.splitlines()
    index = next(i for i, line in enumerate(lines) if line.endswith(f"[{session_id}]"))
    return "\n".join(lines[index - 1 : index + 5])


def test_check_accepts_the_summit_schedule() -> None:
    status, out, _ = run("check", "--schedule", SCHEDULE)
    assert status == 0 and "6 sessions (3 with a time)" in out


def test_check_reports_every_error_with_line_and_exits_non_zero(tmp_path: Path) -> None:
    bad = tmp_path / "schedule.yaml"
    text = Path(SCHEDULE).read_text(encoding="utf-8")
    bad.write_text(text.replace('start: "07:00"', 'start: "7h"').replace("Asia/Taipei", "Taipei"))
    status, _, err = run("check", "--schedule", str(bad))
    assert status == 1
    assert re.search(rf"{re.escape(str(bad))}:\d+: event.timezone: ", err)
    assert re.search(r":\d+: sessions\[1\]\.start: \"7h\" is not a time", err)


def test_check_changes_says_what_subscribers_would_be_told(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\n")
    common = ("check", "--config", str(config), "--changes", "--now", "2020-08-10T00:00Z")
    status, out, _ = run(*common, "--schedule", SCHEDULE)
    assert status == 0 and "No database at" in out and "announces nothing" in out

    text = Path(SCHEDULE).read_text(encoding="utf-8")
    database = f"sqlite:///{tmp_path / 'data' / 'summit-bot.sqlite3'}"

    async def a_worker_ran() -> None:  # what a worker leaves in its database
        store = await Store.open(database)
        now = dt.datetime(2020, 8, 1, tzinfo=dt.UTC)
        await store.schedules.save("scms2020", 1, text, source=SCHEDULE, now=now)
        await seed_subscribers(store, "telegram", 3, session_id="s2", now=now)
        await seed_subscribers(store, "telegram", 2, first_chat_id=900, session_id="s1", now=now)
        await store.close()

    (tmp_path / "data").mkdir()
    asyncio.run(a_worker_ran())
    status, out, _ = run(*common, "--schedule", SCHEDULE)
    assert status == 0 and "Against revision 1 in force: nothing to announce." in out

    edited = tmp_path / "schedule.yaml"
    edited.write_text(text.replace('start: "07:00"', 'start: "07:30"'), encoding="utf-8")
    status, out, _ = run(*common, "--schedule", str(edited))
    assert status == 0 and "Against revision 1 in force, 1 change:" in out
    assert "• s2 “Mayors' Summit, session 2" in out and "→ Tue 18 Aug, 07:30" in out
    assert "(3 subscribers told)" in out and "queues up to 3 notices." in out
    status, out, _ = run(*common, "--schedule", str(edited), "--lang", "zh-TW")
    assert "時間異動" in out


def test_check_accepts_an_old_config_that_sets_the_retired_catch_up_window(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # No release read reminders.catch_up_window_minutes: an old file still loads, with a
    # warning naming file, key and why, since an operator's config must not stop a deploy.
    config = tmp_path / "config.yaml"
    config.write_text("reminders:\n  max_offsets: 5\n  catch_up_window_minutes: 1440\n")
    with caplog.at_level(logging.WARNING, logger="bot.config"):
        status, out, err = run("check", "--config", str(config), "--schedule", SCHEDULE)
    assert status == 0 and "OK" in out and not err
    (record,) = caplog.records
    warning = record.getMessage()
    assert record.levelno == logging.WARNING
    assert f"{config}: reminders.catch_up_window_minutes is ignored" in warning
    assert "only the latest goes out" in warning and "none after the session ended" in warning
    assert load_settings(config, env={}).reminders.max_offsets == 5  # the rest still applies
    config.write_text("reminders:\n  catch_up_minutes: 1440\n")  # a typo is still an error
    status, _, err = run("check", "--config", str(config), "--schedule", SCHEDULE)
    assert status == 1 and "reminders.catch_up_minutes: unknown key" in err


def test_the_cli_reads_the_injected_clock_and_now_still_wins(tmp_path: Path) -> None:
    before = dt.datetime(2020, 8, 10, tzinfo=dt.UTC)
    after = dt.datetime(2020, 9, 30, tzinfo=dt.UTC)
    _, early, _ = run("agenda", "--schedule", SCHEDULE, clock=lambda: before)
    _, late, _ = run("agenda", "--schedule", SCHEDULE, clock=lambda: after)
    assert "starts in 3 days 9 hours" in early and "starts in" not in late
    _, pinned, _ = run(
        "agenda", "--schedule", SCHEDULE, "--now", "2020-08-10T00:00Z", clock=lambda: after
    )
    assert pinned == early
    target = tmp_path / "summit.ics"
    status, _, _ = run("ics", "--schedule", SCHEDULE, "-o", str(target), clock=lambda: after)
    assert status == 0 and "DTSTAMP:20200930T000000Z" in target.read_text(encoding="utf-8")


def test_agenda_for_prague_in_english() -> None:
    status, out, _ = run("agenda", "--tz", "Prague", "--lang", "en", "--schedule", SCHEDULE)
    assert status == 0
    assert out.startswith("Prague → Prague, Czechia (Europe/Prague)")
    s1, s2 = block(out, "s1"), block(out, "s2")
    assert s1.startswith("Thursday 13 August") and "Thu 13 Aug, 11:00–12:40 (Prague)" in s1
    assert s2.startswith("Tuesday 18 August") and "Tue 18 Aug, 01:00–02:30 (Prague)" in s2
    assert "https://youtu.be/b0fWeY_5sLk" in s1 and "Livestream link to be announced" in s2


def test_agenda_for_medellin_shows_monday_evening_and_a_minus_one_day_marker() -> None:
    status, out, _ = run("agenda", "--tz", "Medellín", "--schedule", SCHEDULE)
    assert status == 0 and "America/Bogota" in out.splitlines()[0]
    s2 = block(out, "s2")
    assert s2.startswith("Monday 17 August")
    assert "Mon 17 Aug, 18:00–19:30 (Medellín, -1 day) = Tue 18 Aug, 07:00 Taipei" in s2


def test_agenda_for_palmerston_north_in_chinese() -> None:
    status, out, _ = run(
        "agenda", "--tz", "Palmerston North", "--lang", "zh-TW", "--schedule", SCHEDULE
    )
    assert status == 0 and "Pacific/Auckland" in out.splitlines()[0]
    s3 = block(out, "s3")
    assert s3.startswith("8月19日週三") and "8月19日週三 21:00–22:40" in s3
    assert "直播連結待公布" in s3


def test_agenda_with_a_place_that_does_not_exist_suggests() -> None:
    status, _, err = run("agenda", "--tz", "Atlantis Zzyzx", "--schedule", SCHEDULE)
    assert status == 2 and "no place or time zone" in err


def test_agenda_with_an_unknown_language() -> None:
    status, _, err = run("agenda", "--lang", "tlh", "--schedule", SCHEDULE)
    assert status == 2 and f"use one of: {', '.join(languages())}" in err


def test_python_dash_m_bot_runs_the_same_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "check", "--schedule", SCHEDULE],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert "OK" in done.stdout


def test_broadcast_from_the_command_line_previews_then_queues(tmp_path: Path) -> None:
    import asyncio
    import datetime as dt

    from bot.store import Store, normalize_database_url

    url = normalize_database_url(None, tmp_path / "data")

    async def seed() -> dict[str, int]:
        store = await Store.open(url)
        now = dt.datetime.now(dt.UTC)
        for chat_id, lang in (("1", "en"), ("2", "zh-TW")):
            chat, _ = await store.chats.get_or_create("telegram", chat_id, language=lang, now=now)
            await store.chats.subscribe(chat.pk, "s2", now=now)
        counts = await store.ledger.delivery_counts(kind="broadcast")
        await store.close()
        return counts

    assert asyncio.run(seed()) == {}
    config = tmp_path / "config.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\n")
    common = ("--config", str(config), "--schedule", SCHEDULE, "--to", "s2")
    status, out, _ = run("broadcast", *common, "--text", "en=Moved!", "--text", "zh-TW=改期！")
    assert status == 0 and "2 chats (telegram 2)" in out and "Preview only" in out
    assert asyncio.run(seed()) == {}  # a preview queues nothing
    status, out, _ = run("broadcast", *common, "--text", "en=Moved!", "--yes")
    assert status == 0 and "Broadcast #1 queued: 2 messages" in out
    assert asyncio.run(seed()) == {"pending": 2}
    status, _, err = run(
        "broadcast",
        "--config",
        str(config),
        "--schedule",
        SCHEDULE,
        "--to",
        "nobody",
        "--text",
        "hi",
    )
    assert status == 2 and "no audience called 'nobody'" in err
