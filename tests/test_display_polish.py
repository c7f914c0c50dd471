"""How places, zones, people and links read (issue 13, defects 7-9), on the memory platform."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import Settings
from bot.i18n import languages
from bot.schedule import load_schedule
from bot.store import Store
from tests.support.harness import ROOT, S1, Harness

SCHEDULE = str(ROOT / "schedule.yaml")

# A French and English event: a reader of any other language falls back to French first.
# (An event language needs a catalog: these tests run once bot/i18n/fr.yaml is there.)
BERLIN = """\
event:
  id: berlin
  name: {fr: Forum de la ville, en: City forum}
  organizer: {fr: Ville de Berlin, en: City of Berlin}
  timezone: Europe/Berlin
  languages: [fr, en]
sessions:
  - id: f1
    title: {fr: Ouverture, en: Opening}
    date: 2020-08-13
    start: "10:00"
    end: "11:00"
    streams: {fr: "https://example.org/fr", en: "https://example.org/en"}
    host:
      name: Anna Müller
      role: {fr: Animatrice, en: Host}
      city: {fr: Berlin, en: Berlin}
      country: {fr: Allemagne, en: Germany}
"""


async def ask(bot: Harness, text: str, **kwargs: object) -> str:
    """A viewer sends `text` a minute after the last command (the input throttle stays calm)."""
    bot.clock.now += dt.timedelta(minutes=1)
    return await bot.say(text, **kwargs)


def line_with(text: str, needle: str) -> str:
    """The one line of `text` that holds `needle`."""
    found = [line for line in text.splitlines() if needle in line]
    assert len(found) == 1, text
    return found[0]


@pytest.fixture
async def berlin(store: Store, tmp_path: Path) -> AsyncIterator[Harness]:
    """A bot for the French and English event, two days before it."""
    if "fr" not in languages():
        pytest.skip("no catalog bot/i18n/fr.yaml yet: an event in French needs it")
    path = tmp_path / "schedule.yaml"
    path.write_text(BERLIN, encoding="utf-8")
    harness = Harness(store, load_schedule(path), Settings(), S1 - dt.timedelta(days=2))
    await harness.start()
    yield harness
    await harness.worker.stop()


# Defect 7: a list of places is unambiguous, in the language's own punctuation.


async def test_other_places_are_quoted_and_listed_the_english_way(bot: Harness) -> None:
    also = line_with(await ask(bot, "/timezone Wellington"), "Also:")
    assert also.endswith(
        "Also: “Wellington, Florida, United States”, “Wellington, South Africa”, "
        "“Wellington, United Kingdom” and “Wellington, India”"
    ), also


async def test_other_places_are_quoted_and_listed_the_chinese_way(bot: Harness) -> None:
    await ask(bot, "/language zh-TW")
    also = line_with(await ask(bot, "/timezone Wellington"), "還有")
    assert also.endswith(
        "還有：「Wellington，Florida，美國」、「Wellington，南非」、「Wellington，英國」和「Wellington，印度」"
    ), also


async def test_suggestions_are_quoted_and_offered_as_alternatives(bot: Harness) -> None:
    answer = await ask(bot, "/timezone Qwertyville")
    assert "“Libertyville, Illinois, United States”, “Cypress, California, United States”" in (
        answer
    )
    assert "“Eltville, Germany” or “Kalemie, Congo - Kinshasa”?" in answer
    await ask(bot, "/language zh-TW")
    answer = await ask(bot, "/timezone Qwertyville")
    assert "「Eltville，德國」或「Kalemie，剛果（金夏沙）」" in answer, answer
    assert ", " not in answer


def test_the_agenda_command_quotes_its_places() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main(["agenda", "--tz", "Wellington", "--schedule", SCHEDULE], out=out, err=err) == 0
    also = line_with(out.getvalue(), "also")
    assert also.endswith("“Wellington, United Kingdom” and “Wellington, India”)"), also
    out, err = io.StringIO(), io.StringIO()
    assert main(["agenda", "--tz", "Qwertyville", "--schedule", SCHEDULE], out=out, err=err) == 2
    assert "“Eltville, Germany” or “Kalemie, Congo - Kinshasa”" in err.getvalue()
    out, err = io.StringIO(), io.StringIO()
    assert main(["agenda", "--tz", "UTC+8", "--schedule", SCHEDULE], out=out, err=err) == 0
    assert out.getvalue().startswith("UTC+8 → UTC+08:00\n"), out.getvalue()


# Defect 8: a zone label is shown once, and the reader's own place is what they read.


async def test_an_offset_or_a_zone_name_is_not_repeated(bot: Harness) -> None:
    answer = await ask(bot, "/timezone UTC+05:45")
    assert "Time zone set: UTC+05:45." in answer and "(UTC+05:45)" not in answer
    assert "Your time zone: UTC+05:45." in await ask(bot, "/timezone")
    assert "Time zone: UTC+05:45\n" in await ask(bot, "/mysubs")
    answer = await ask(bot, "/timezone Europe/Prague")
    assert "Time zone set: Prague (Europe/Prague)." in answer, answer


async def test_a_countrys_zones_are_named_by_their_city_once(bot: Harness) -> None:
    answer = await ask(bot, "/timezone United States")
    assert "• New York, United States (America/New_York)" in answer, answer
    assert ") (" not in answer


async def test_a_wellington_reader_reads_wellington_not_auckland(bot: Harness) -> None:
    await ask(bot, "/timezone Wellington")
    card = await ask(bot, "/session s1")
    assert "Thu 13 Aug, 21:00–22:40 (Wellington) = Thu 13 Aug, 17:00 Taipei" in card, card
    agenda = await ask(bot, "/schedule")
    assert "Auckland" not in agenda.replace("Pacific/Auckland", "")
    await ask(bot, "/subscribe s1")
    sent = await bot.at(S1 - dt.timedelta(hours=1))
    assert "(Wellington)" in sent[0][1].text and "Auckland" not in sent[0][1].text


# Defect 9: the Chinese reader's card reads as Chinese.


async def test_the_chinese_header_and_lines_name_the_place_alike(bot: Harness) -> None:
    await ask(bot, "/language zh-TW")
    assert "時區已設定：布拉格，捷克（Europe/Prague）" in await ask(bot, "/timezone Prague")
    agenda = await ask(bot, "/schedule")
    assert "時間以此時區顯示：布拉格，捷克（Europe/Prague）" in agenda, agenda
    assert "11:00–12:40（布拉格）＝" in agenda
    assert "Prague" not in agenda.replace("Europe/Prague", "")


async def test_the_chinese_stream_label_has_no_nested_brackets_nor_ascii_colon(
    bot: Harness,
) -> None:
    await ask(bot, "/language zh-TW")
    card = await ask(bot, "/session s1")
    assert card.endswith("觀看繁體中文直播：https://youtu.be/5B_aKaTUu3k"), card


async def test_a_stream_is_labelled_with_its_own_language(berlin: Harness) -> None:
    await ask(berlin, "/language zh-TW")
    card = await ask(berlin, "/session f1")
    assert card.endswith("觀看法文直播：https://example.org/fr"), card
    await ask(berlin, "/language en")
    card = await ask(berlin, "/session f1")
    assert card.endswith("Watch in English: https://example.org/en"), card


async def test_latin_words_side_by_side_in_a_chinese_line_are_spaced(berlin: Harness) -> None:
    await ask(berlin, "/language zh-TW")
    card = await ask(berlin, "/session f1")
    assert "主持人：Allemagne Berlin Animatrice Anna Müller" in card, card


async def test_chinese_words_side_by_side_stay_together(bot: Harness) -> None:
    await ask(bot, "/language zh-TW")
    card = await ask(bot, "/session s1")
    assert "• 捷克布拉格 市長 Mr. Zdeněk Hřib" in card, card
