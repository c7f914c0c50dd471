"""A worker reading a schedule file the test edits: the schedule-change tests' world.

`schedule_file` (a copy of schedule.yaml in tmp_path) and `live` (a worker reading it, one
organizer) are fixtures; `edit`/`remove` change a session in the file as an organizer would.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot.app import Worker
from bot.config import Organizers, Settings
from bot.messages import Message
from bot.reload import ScheduleTransform
from bot.schedule import load_schedule
from bot.store import Store
from tests.support.harness import ROOT, S1, Harness, TelegramLike

HOUR = dt.timedelta(hours=1)
NOW = S1 - dt.timedelta(days=2)
S3 = dt.datetime(2020, 8, 19, 9, 0, tzinfo=dt.UTC)  # 17:00 Taipei
ORGANIZER = "900"


def make_harness(
    store: Store, path: Path, *, transform: ScheduleTransform | None = None
) -> Harness:
    """A worker reading `path`, with one organizer (Telegram user 900)."""
    settings = replace(Settings(), organizers=Organizers(telegram_user_ids=(ORGANIZER,)))
    schedule = load_schedule(path)
    if transform is not None:
        schedule = transform(schedule)
    return Harness(
        store,
        schedule,
        settings,
        NOW,
        memory=TelegramLike(),
        schedule_path=path,
        schedule_transform=transform,
    )


@contextlib.asynccontextmanager
async def running(
    store: Store, path: Path, *, transform: ScheduleTransform | None = None
) -> AsyncIterator[Harness]:
    """A worker started on `path` (a new process on the same database), stopped after."""
    harness = make_harness(store, path, transform=transform)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.worker.stop()


def replace_worker(harness: Harness) -> Worker:
    """A new worker with the harness's (changed) settings, on the same file."""
    old = harness.worker
    return Worker(
        harness.settings,
        old.schedule,
        harness.store,
        [harness.memory],
        harness.clock,
        schedule_path=old.schedule_path,
        schedule_transform=old.schedule_transform,
    )


@pytest.fixture
def schedule_file(tmp_path: Path) -> Path:
    """A copy of the summit's schedule.yaml that the test edits."""
    path = tmp_path / "schedule.yaml"
    shutil.copy(ROOT / "schedule.yaml", path)
    return path


@pytest.fixture
async def live(store: Store, schedule_file: Path) -> AsyncIterator[Harness]:
    """The bot two days before session 1, its organizer known to it."""
    async with running(store, schedule_file) as harness:
        await harness.say("/start", chat_id=ORGANIZER)
        yield harness


def edit(path: Path, session_id: str, old: str, new: str) -> None:
    """Replace `old` by `new` inside one session's block of the file."""
    text = path.read_text(encoding="utf-8")
    start = text.index(f"  - id: {session_id}\n")
    end = text.find("\n  - id: ", start + 1)
    end = len(text) if end < 0 else end
    block = text[start:end]
    assert block.count(old) == 1, (session_id, old)
    path.write_text(text[:start] + block.replace(old, new) + text[end:], encoding="utf-8")


def remove(path: Path, session_id: str) -> None:
    """Take one session's block out of the file."""
    text = path.read_text(encoding="utf-8")
    start = text.index(f"  - id: {session_id}\n")
    end = text.find("\n  - id: ", start + 1)
    end = len(text) if end < 0 else end + 1
    path.write_text(text[:start] + text[end:], encoding="utf-8")


def line_of(path: Path, text: str) -> int:
    """The number of the line that reads `text`."""
    return path.read_text(encoding="utf-8").splitlines().index(text) + 1


def viewers(sent: list[tuple[str, Message]]) -> dict[str, Message]:
    """What viewers got (the organizer's reports left out), by chat."""
    found = {chat: message for chat, message in sent if chat != ORGANIZER}
    assert len(found) == len([chat for chat, _ in sent if chat != ORGANIZER]), sent
    return found


def to_organizer(sent: list[tuple[str, Message]]) -> list[str]:
    """The plain texts the organizer got."""
    return [message.plain() for chat, message in sent if chat == ORGANIZER]


# --- moving a session ----------------------------------------------------------------------
