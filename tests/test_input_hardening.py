"""Text from outside, made safe where it enters the core: unencodable code points, bidi
controls and invisible characters, quiet hours typed oddly, junk typed after /timezone."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import Organizers, Settings
from bot.inputs import InputError, parse_quiet
from bot.schedule import load_schedule
from bot.store import Store
from bot.untrusted import clean_text
from tests.fakes.telegram import FakeTelegram
from tests.support.harness import ROOT, S1, Harness, telegram_like
from tests.support.telegram_world import PRAGUE, TelegramWorld

RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: "\u202egpj.exe" reads as "exe.jpg"
ORGANIZER = "9000"


def encodes(text: str) -> bool:
    """Whether `text` can be sent at all (every platform's API speaks UTF-8)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# --- one function makes text from outside safe ---------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Prague\ud800", "Prague\ufffd"),  # a lone surrogate cannot be encoded
        ("a\udfffb\x00c", "a\ufffdb\ufffdc"),  # nor stored (NUL) in PostgreSQL
        (f"{RLO}gpj.exe", "gpj.exe"),
        ("\u202ax\u202b\u202c\u202d\u2066\u2067\u2068\u2069y", "xy"),
        ("Key\u200bnote\u2060\ufeff", "Keynote"),
        ("\u200dKeynote\u200c", "Keynote"),  # joiners at an edge join nothing
        ("👨\u200d👩\u200d👧", "👨\u200d👩\u200d👧"),  # an emoji family keeps its joiners
        ("می\u200cخواهم", "می\u200cخواهم"),  # Persian keeps its non-joiner
        ("left\u200e right\u200f", "left right"),  # marks in text without RTL letters
        ("שלום\u200f, hi", "שלום\u200f, hi"),  # marks kept where RTL text needs them
        ("line one\nline two\tend", "line one\nline two\tend"),
    ],
)
def test_text_from_outside_is_cleaned(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean


# --- 10a: a lone surrogate ------------------------------------------------------------------


async def test_a_lone_surrogate_gets_a_normal_reply(bot: Harness) -> None:
    for line in ("/timezone \ud800", "/language \udc00x", "/bogus\ud800"):
        answer = await bot.say(line)
        assert encodes(answer), line
        assert "\ufffd" in answer, answer


async def test_a_lone_surrogate_on_telegram_gets_a_reply(
    store: Store, fake_telegram: FakeTelegram
) -> None:
    world = TelegramWorld(fake_telegram, store)
    await world.start()
    try:
        answer = await world.say(PRAGUE, "/language x\ud800")
        assert "“x\ufffd”" in answer
    finally:
        await world.worker.stop()


# --- 10d: quiet hours -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["23:00-07:00", "2300-0700", "23:00 – 07:00", "23:00~07:00", "23:00 to 07:00"]
)
def test_quiet_hours_in_their_documented_forms(text: str) -> None:
    assert parse_quiet(text) == (dt.time(23), dt.time(7))


@pytest.mark.parametrize(
    "text", ["23:00tttttt07:00", "23:00ot07:00", "23:00--07:00", "23:00-~07:00", "23:00 t 07:00"]
)
def test_quiet_hours_with_a_made_up_separator_are_unreadable(text: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_quiet(text)
    assert caught.value.reason == "unreadable"


async def test_quiet_hours_typed_oddly_are_explained(bot: Harness) -> None:
    assert "could not read" in await bot.say("/quiet 23:00tttttt07:00")
    assert "Quiet hours: off" in await bot.say("/quiet")
    empty = await bot.say("/quiet 00:00-00:00")
    assert "could not read" not in empty
    assert "starts and ends at the same time" in empty and "/quiet 23:00-07:00" in empty
    await bot.say("/language zh-TW")
    assert "開始與結束是同一個時間" in await bot.say("/quiet 07:00-07:00")


# --- 10e: junk after /timezone --------------------------------------------------------------


async def test_junk_after_timezone_asks_and_sets_nothing(bot: Harness) -> None:
    reply = await bot.reply("/timezone {place}")
    message = reply.messages[0]
    assert "Did you mean" in message.plain()
    assert next(b.action for row in message.buttons for b in row).startswith("timezone ")
    assert "Time zone set" not in message.plain()
    chat = await bot.store.chats.get("memory", "100")
    assert chat is not None and chat.timezone is None


# --- 10f: bidi controls and invisible characters --------------------------------------------


async def test_a_title_with_a_bidi_override_reaches_the_viewer_without_it(
    store: Store, tmp_path: Path
) -> None:
    text = (ROOT / "schedule.yaml").read_text(encoding="utf-8")
    text = text.replace("session 1: Europe", f"session 1: {RLO}eporuE\u200b", 1)
    text = text.replace("Mr. Zdeněk Hřib", f"Mr. Zdeněk{RLO} Hřib\u2066", 1)
    path = tmp_path / "schedule.yaml"
    path.write_text(text, encoding="utf-8")
    harness = Harness(store, load_schedule(path), Settings(), S1 - dt.timedelta(days=2))
    await harness.start()
    try:
        card = await harness.say("/session s1")
        assert "session 1: eporuE" in card and "Mr. Zdeněk Hřib," in card
        assert not {RLO, "\u200b", "\u2066"} & set(card)
    finally:
        await harness.worker.stop()


@pytest.fixture
async def event(store: Store) -> AsyncIterator[Harness]:
    """The summit bot on a Telegram-like memory platform, with two organizers."""
    organizers = Organizers(telegram_user_ids=(ORGANIZER, "9001"))
    settings = replace(Settings(), organizers=organizers)
    async with telegram_like(store, settings) as harness:
        yield harness


async def test_a_broadcast_with_a_bidi_override_reaches_viewers_without_it(
    event: Harness,
) -> None:
    await event.say("/subscribe all", chat_id="5")
    await event.say(f"/broadcast Visit {RLO}moc.elpmaxe\u200b", chat_id=ORGANIZER)
    await event.say("/broadcast confirm 1", chat_id=ORGANIZER)
    sent = [m for chat, m in await event.at(event.clock.now) if chat == "5"]
    assert [m.text for m in sent] == ["Visit moc.elpmaxe"]


def test_a_broadcast_from_the_command_line_is_cleaned_too(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\n")
    out, err = io.StringIO(), io.StringIO()
    # An argument the shell could not decode arrives with surrogates (surrogateescape).
    argv = ["broadcast", "--config", str(config), "--schedule", str(ROOT / "schedule.yaml")]
    argv += ["--text", f"en=Visit {RLO}moc.elpmaxe \udcff"]
    assert main(argv, out=out, err=err) == 0
    assert "[en] Visit moc.elpmaxe \ufffd" in out.getvalue()
