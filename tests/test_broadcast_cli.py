"""`summit-bot broadcast --text`: every text is sent in the language it names, or refused."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.cli import main
from bot.constants import ALL_SESSIONS
from bot.store import Store, normalize_database_url

ROOT = Path(__file__).resolve().parent.parent
SCHEDULE = str(ROOT / "schedule.yaml")  # an en and zh-TW event


Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def preview(tmp_path: Path) -> Run:
    """Run a broadcast preview with these --text values; returns status, stdout, stderr."""
    config = tmp_path / "config.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\n", encoding="utf-8")

    def run(*texts: str, yes: bool = False) -> tuple[int, str, str]:
        argv = ["broadcast", "--config", str(config), "--schedule", SCHEDULE]
        argv += ["--yes"] if yes else []
        for text in texts:
            argv += ["--text", text]
        out, err = io.StringIO(), io.StringIO()
        status = main(argv, out=out, err=err)
        return status, out.getvalue(), err.getvalue()

    return run


def test_an_unmarked_text_and_a_marked_one_are_both_kept(preview: Run) -> None:
    status, out, err = preview("Hi", "zh-TW=你好")
    assert status == 0, err
    assert "  [en] Hi\n" in out and "  [zh-TW] 你好\n" in out


def test_a_language_the_event_does_not_have_is_refused_naming_its_languages(preview: Run) -> None:
    status, out, err = preview("Hi", "fr=Salut")
    assert status == 2 and "Preview" not in out
    assert err.splitlines() == [
        "error: --text 'fr=Salut': fr is not a language of this event; use en or zh-TW"
    ]


def test_the_spellings_language_accepts_name_a_language(preview: Run) -> None:
    status, out, err = preview("EN=Hi", "zh_tw=你好")
    assert status == 0, err
    assert "  [en] Hi\n" in out and "  [zh-TW] 你好\n" in out
    status, out, _ = preview("中文=你好", "english=Hi")
    assert status == 0 and "  [zh-TW] 你好\n" in out and "  [en] Hi\n" in out


def test_an_equals_sign_in_a_text_is_text(preview: Run) -> None:
    status, out, err = preview("Room change: A=B", "x=1 is the answer")
    # Two unmarked texts, both for en: refused as such, neither read as a language prefix.
    assert status == 2
    assert err.splitlines() == [
        "error: --text 'x=1 is the answer': a second text for en; give one per language"
    ]
    status, out, err = preview("en=x=1 now", "zh-TW=Room change: A=B")
    assert status == 0, err
    assert "  [en] x=1 now\n" in out and "  [zh-TW] Room change: A=B\n" in out


def test_an_empty_text_is_refused(preview: Run) -> None:
    status, _, err = preview("zh-TW=")
    assert status == 2 and err == "error: --text 'zh-TW=': the text is empty\n"


def test_two_texts_for_one_language_are_refused(preview: Run) -> None:
    status, out, err = preview("en=Hi", "en=Hello")
    assert status == 2 and "Preview" not in out
    assert err.splitlines() == [
        "error: --text 'en=Hello': a second text for en; give one per language"
    ]
    # An unmarked text is the event's first language's.
    status, _, err = preview("Hi", "en=Hello", "fr=Salut")
    assert status == 2
    assert err.splitlines() == [
        "error: --text 'en=Hello': a second text for en; give one per language",
        "error: --text 'fr=Salut': fr is not a language of this event; use en or zh-TW",
    ]


def test_counts_read_right_in_the_singular(tmp_path: Path, preview: Run) -> None:
    status, out, _ = preview("Hi")
    assert status == 0 and "0 chats (none)" in out

    async def seed() -> None:
        store = await Store.open(normalize_database_url(None, tmp_path / "data"))
        now = dt.datetime.now(dt.UTC)
        chat, _ = await store.chats.get_or_create("telegram", "1", language="en", now=now)
        await store.chats.subscribe(chat.pk, ALL_SESSIONS, now=now)
        await store.close()

    asyncio.run(seed())
    status, out, _ = preview("Hi")
    assert status == 0 and "To all subscribers: 1 chat (telegram 1)" in out
    status, out, _ = preview("Hi", yes=True)
    assert status == 0 and "Broadcast #1 queued: 1 message;" in out
