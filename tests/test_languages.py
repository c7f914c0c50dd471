"""Every catalog language: an event in any of them, the language a viewer gets, CLDR formats.

Tests that need a language (Spanish, Russian...) skip, saying so, while its catalog is not in
bot/i18n; with all eleven catalogs every one of them runs.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from babel import Locale

from bot.adapters.base import Core, hinted_language
from bot.adapters.console import ConsoleAdapter
from bot.app import Worker
from bot.cli import main
from bot.config import Organizers, Settings
from bot.i18n import catalog, catalog_locale, languages, normalize_language, placeholders, t
from bot.i18n.formatting import format_duration, format_time
from bot.messages import Reply
from bot.schedule import ScheduleError, load_schedule
from bot.store import Store
from tests.fakes.discord import FakeGuild, FakeUser
from tests.support.discord_world import Rig, text_of
from tests.support.harness import ROOT, S1, Clock, Harness, TelegramLike, summit
from tests.support.telegram_world import VIEWER, TelegramWorld, WorldFactory, keyboard

SUMMIT = str(ROOT / "schedule.yaml")  # an en and zh-TW event, in August 2020
ORGANIZER = "900"


def need(*codes: str) -> None:
    """Skip the test while a language it needs has no catalog (the lead merges them)."""
    missing = [code for code in codes if code not in languages()]
    if missing:
        pytest.skip(f"no catalog bot/i18n/{missing[0]}.yaml yet: the test needs {missing}")


def run(*argv: str) -> tuple[int, str, str]:
    """The command line, in-process: status, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), out=out, err=err)
    return status, out.getvalue(), err.getvalue()


# --- the language a viewer gets -------------------------------------------------------------

# What platforms hint (Telegram's language_code, Discord's locale) → the catalog it means.
HINTS: list[tuple[str | None, str | None]] = [
    ("en", "en"),
    ("en-US", "en"),
    ("en-GB", "en"),
    ("EN", "en"),
    ("zh-TW", "zh-TW"),
    ("zh-Hant", "zh-TW"),
    ("zh-Hant-TW", "zh-TW"),
    ("zh_tw", "zh-TW"),
    ("zh-HK", "zh-TW"),
    # zh-TW is the one Chinese the bot writes: Simplified Chinese readers get it too.
    ("zh-CN", "zh-TW"),
    ("zh-Hans", "zh-TW"),
    ("es", "es"),
    ("es-ES", "es"),
    ("es-419", "es"),
    ("es-MX", "es"),
    ("fr", "fr"),
    ("fr-CA", "fr"),
    ("cs", "cs"),
    ("pl", "pl"),
    ("hu", "hu"),
    ("tr", "tr"),
    ("ru", "ru"),
    ("ko", "ko"),
    ("vi", "vi"),
    # No catalog: the event's first language, chosen by the caller.
    ("pt-BR", None),
    ("ja", None),
    ("sv-SE", None),
    ("", None),
    (None, None),
]


@pytest.mark.parametrize(("hint", "expected"), HINTS)
def test_a_platform_hint_names_a_catalog(hint: str | None, expected: str | None) -> None:
    if expected is not None:
        need(expected)
    elif hint and hint.split("-")[0] in {c.split("-")[0] for c in languages()}:
        pytest.skip(f"a catalog for {hint} has been added")
    assert normalize_language(hint) == expected


def core_for(event_languages: tuple[str, ...]) -> Core:
    """Just enough of a core for `hinted_language`: the schedule's event languages."""
    schedule = SimpleNamespace(event=SimpleNamespace(languages=event_languages))
    return cast(Core, SimpleNamespace(current_schedule=lambda: schedule, languages=languages))


def test_an_unsupported_hint_gets_the_events_first_language() -> None:
    assert hinted_language(core_for(("en", "zh-TW")), "pt-BR") == "en"
    assert hinted_language(core_for(("zh-TW", "en")), "pt-BR") == "zh-TW"
    assert hinted_language(core_for(("zh-TW", "en")), None) == "zh-TW"
    assert hinted_language(core_for(("zh-TW", "en")), "en-GB") == "en"


# --- every language is an event language ---------------------------------------------------


def write_schedule(tmp_path: Path, languages_line: str) -> Path:
    """A one-session schedule whose event.languages is `languages_line` (on line 5)."""
    path = tmp_path / "schedule.yaml"
    path.write_text(
        "event:\n"
        "  id: cumbre\n"
        "  name: Cumbre\n"
        "  timezone: Europe/Madrid\n"
        f"  languages: {languages_line}\n"
        "  organizer: Ayuntamiento\n"
        "sessions:\n"
        "  - id: s1\n"
        "    title: Sesión\n"
        "    date: 2020-08-13\n"
        '    start: "11:00"\n',
        encoding="utf-8",
    )
    return path


def test_check_refuses_an_event_language_without_a_catalog(tmp_path: Path) -> None:
    path = write_schedule(tmp_path, "[en, xx]")
    status, _, err = run("check", "--schedule", str(path))
    spoken = ", ".join(languages())
    assert status == 1
    assert (
        f'{path}:5: event.languages[1]: "xx" is not a language the bot speaks; it speaks {spoken}'
    ) in err
    # The worker reads schedules with the same loader: it refuses to start on this file.
    with pytest.raises(ScheduleError):
        load_schedule(path)


def test_check_names_the_catalog_a_variant_spelling_means(tmp_path: Path) -> None:
    path = write_schedule(tmp_path, "[en, zh-tw]")
    status, _, err = run("check", "--schedule", str(path))
    assert status == 1
    assert (
        f'{path}:5: event.languages[1]: no catalog is called "zh-tw"; '
        "write zh-TW, the catalog it means"
    ) in err


# An event whose first language is not English: Spanish (with its catalog), or Chinese.
EVENT = """\
event:
  id: cumbre2020
  name: {{{first}: "Cumbre de alcaldes", en: "Mayors' summit"}}
  organizer: {{{first}: Ayuntamiento de Madrid, en: Madrid City Council}}
  timezone: Europe/Madrid
  languages: [{first}, en]
sessions:
  - id: s1
    kind: summit
    title: {{{first}: "Sesión uno: ciudades", en: "Session one: cities"}}
    date: 2020-08-13
    start: "11:00"
    end: "12:40"
    streams:
      {first}: https://example.org/first-language
      en: https://example.org/in-english
"""
FIRST_LINK = "https://example.org/first-language"
# A platform hint that is a variant of the event's first language.
VARIANT = {"es": "es-419", "zh-TW": "zh-Hant"}


@pytest.fixture(params=["es", "zh-TW"])
def first(request: pytest.FixtureRequest) -> str:
    """The event's first language."""
    code = str(request.param)
    need(code)
    return code


@pytest.fixture
def event_file(tmp_path: Path, first: str) -> Path:
    """The event, in Madrid, at the time of the summit's session 1."""
    path = tmp_path / "cumbre.yaml"
    path.write_text(EVENT.format(first=first), encoding="utf-8")
    return path


@pytest.fixture
async def cumbre(store: Store, event_file: Path) -> AsyncIterator[Harness]:
    """The event two days before its session, with one organizer."""
    settings = replace(Settings(), organizers=Organizers(telegram_user_ids=(ORGANIZER,)))
    harness = Harness(
        store,
        load_schedule(event_file),
        settings,
        S1 - dt.timedelta(days=2),
        memory=TelegramLike(),
    )
    await harness.start()
    yield harness
    await harness.worker.stop()


async def test_an_event_in_another_first_language_end_to_end(cumbre: Harness, first: str) -> None:
    # No hint, or a hint the bot cannot serve (pt-BR): the event's first language.
    title = t("start.title", first, event="Cumbre de alcaldes")
    assert title in await cumbre.say("/start", chat_id="1")
    assert title in await cumbre.say("/start", chat_id="2", locale="pt-BR")
    # An English app gets English; a variant of the first language that language.
    assert "Mayors' summit" in await cumbre.say("/start", chat_id="3", locale="en-US")
    assert title in await cumbre.say("/start", chat_id="4", locale=VARIANT[first])

    agenda = await cumbre.say("/schedule", chat_id="1")
    august = catalog_locale(catalog(first)).months["format"]["wide"][8]
    assert "Sesión uno: ciudades" in agenda and august in agenda
    assert "Session one: cities" in await cumbre.say("/schedule", chat_id="3")

    for chat in ("1", "2", "3"):
        await cumbre.say("/subscribe s1", chat_id=chat)
    sent = await cumbre.at(S1)
    links = {chat: message.plain() for chat, message in sent}
    assert FIRST_LINK in links["1"] and FIRST_LINK in links["2"]
    assert "https://example.org/in-english" in links["3"]
    assert "in-english" not in links["1"]


async def test_a_broadcast_to_the_first_languages_readers(cumbre: Harness, first: str) -> None:
    await cumbre.say("/subscribe all", chat_id="1")  # reads the event's first language
    await cumbre.say("/subscribe all", chat_id="3", locale="en")
    preview = await cumbre.reply(
        f"/broadcast to={first}\n{first}: ¡Empezamos pronto!\nen: Starting soon!",
        chat_id=ORGANIZER,
        locale="en",
    )
    text = preview.messages[0].plain()
    assert "(1: telegram 1)" in text
    confirm = next(b.action for row in preview.messages[0].buttons for b in row)
    await cumbre.say("/" + confirm, chat_id=ORGANIZER, locale="en")
    sent = await cumbre.at(cumbre.clock.now)
    to_viewers = [(chat, m.text) for chat, m in sent if chat != ORGANIZER]
    assert to_viewers == [("1", "¡Empezamos pronto!")]


def test_the_command_line_serves_the_event(event_file: Path, tmp_path: Path, first: str) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\n", encoding="utf-8")
    where = ("--schedule", str(event_file), "--config", str(config))
    status, out, err = run("check", *where)
    assert status == 0, err
    assert f"languages {first}, en" in out

    status, out, err = run("agenda", "--lang", first, "--tz", "Madrid", *where)
    assert status == 0, err
    assert "Sesión uno: ciudades" in out and FIRST_LINK in out

    status, out, err = run("broadcast", "--to", first, "--text", f"{first}=Hola", *where)
    assert status == 0, err
    assert f"  [{first}] Hola\n" in out

    status, out, err = run("ics", *where)  # the event's first language
    assert status == 0, err
    assert "Sesión uno: ciudades" in out and FIRST_LINK in out
    status, out, err = run("ics", "--lang", "en", *where)
    assert status == 0, err
    assert "Session one: cities" in out and "https://example.org/in-english" in out


# --- /language offers the event's languages first, then every other --------------------------


def picker(reply: Reply) -> list[list[tuple[str, str]]]:
    """The rows of (label, action) of a reply's language buttons."""
    rows = reply.messages[0].buttons
    return [
        [(b.label, b.action) for b in row]
        for row in rows
        if all(b.action.startswith("language ") for b in row)
    ]


def expected_order(event_languages: list[str]) -> list[str]:
    """The event's languages first, in its order, then the bot's others in its order."""
    return [*event_languages, *(c for c in languages() if c not in event_languages)]


async def test_the_language_picker_offers_the_events_languages_first(bot: Harness) -> None:
    rows = picker(await bot.reply("/language"))
    assert all(len(row) <= 3 for row in rows)
    offered = [button for row in rows for button in row]
    assert [action for _, action in offered] == [
        f"language {code}" for code in expected_order(["en", "zh-TW"])
    ]
    # Each language in its own name: "English", "中文（台灣）", "Español"...
    assert [label for label, _ in offered] == [
        catalog(code).name for code in expected_order(["en", "zh-TW"])
    ]
    # /start offers the same buttons below its own.
    assert picker(await bot.reply("/start")) == rows
    last = expected_order(["en", "zh-TW"])[-1]
    assert t("language.set", last, language=catalog(last).name) in await bot.say(
        f"/language {last}"
    )


async def test_the_picker_offers_the_events_first_language_first(
    cumbre: Harness, first: str
) -> None:
    rows = picker(await cumbre.reply("/language", chat_id="1"))
    assert [action for row in rows for _, action in row] == [
        f"language {code}" for code in expected_order([first, "en"])
    ]


# --- CLDR formatting, per language ----------------------------------------------------------

AUG_17_1800_UTC = dt.datetime(2020, 8, 17, 9, 0, tzinfo=dt.UTC)  # 18:00 in Seoul


def test_times_use_the_locales_own_clock() -> None:
    assert format_time(AUG_17_1800_UTC, "Asia/Seoul", "en") == "18:00"  # en_GB: 24 hours
    # CLDR writes Taiwan on 12 hours; the zh-TW catalog pins the 24 its schedules use.
    assert format_time(AUG_17_1800_UTC, "Asia/Seoul", "zh-TW") == "18:00"
    need("ko")
    assert format_time(AUG_17_1800_UTC, "Asia/Seoul", "ko") == "오후 6:00"


COUNTS = (1, 2, 5, 21, 22, 25)
# CLDR's categories for these counts, as a check that Babel's rules are the ones applied.
CATEGORIES = {
    "cs": ["one", "few", "other", "other", "other", "other"],
    "pl": ["one", "few", "many", "many", "few", "many"],
    "ru": ["one", "few", "many", "one", "few", "many"],
}
MINUTES = {
    "cs": ["1 minuta", "2 minuty", "5 minut", "21 minut", "22 minut", "25 minut"],
    "pl": ["1 minuta", "2 minuty", "5 minut", "21 minut", "22 minuty", "25 minut"],
    "ru": ["1 минута", "2 минуты", "5 минут", "21 минута", "22 минуты", "25 минут"],
}


@pytest.mark.parametrize("lang", ["cs", "pl", "ru"])
def test_counts_take_the_languages_plural_forms(lang: str) -> None:
    need(lang)
    chosen = catalog(lang)
    assert [chosen.plural_category(n) for n in COUNTS] == CATEGORIES[lang]
    durations = [format_duration(dt.timedelta(minutes=n), lang) for n in COUNTS]
    assert durations == MINUTES[lang]
    # Every counted message of the catalog: the form CLDR's rule picks, with the count in it.
    for key, forms in chosen.plurals.items():
        for n, category in zip(COUNTS, CATEGORIES[lang], strict=True):
            fields: dict[str, Any] = dict.fromkeys(placeholders(forms), "X")
            fields["count"] = n
            assert t(key, lang, **fields) == forms[category].format(**fields), (key, n)


async def test_places_are_named_in_the_readers_language(bot: Harness) -> None:
    need("ru")
    await bot.say("/language ru")
    assert "Прага, Чехия" in await bot.say("/timezone Prague")


# --- acceptance: `summit-bot agenda --tz Prague --lang CODE` in every language ---------------


def _names(values: Any) -> set[str]:
    return {str(v) for v in values}


@pytest.mark.parametrize("lang", languages())
def test_the_agenda_in_every_language(lang: str) -> None:
    status, out, err = run("agenda", "--tz", "Prague", "--lang", lang, "--schedule", SUMMIT)
    assert status == 0, err
    locale: Locale = catalog_locale(catalog(lang))
    august = set()
    for context in ("format", "stand-alone"):
        for width in ("wide", "abbreviated"):
            august.add(str(locale.months[context][width][8]))
    # 13 August 2020 was a Thursday (Babel's weekday 3): the day's heading names the month
    # and the weekday (in full or short), as CLDR writes them in this language.
    thursday = {
        str(locale.days[context][width][3])
        for context in ("format", "stand-alone")
        for width in ("wide", "abbreviated", "short")
    }
    headings = [
        line
        for line in out.splitlines()
        if any(m in line for m in august) and any(d in line for d in thursday)
    ]
    assert headings, (august, thursday, out[:400])
    # The catalog's own wording, and no English where the catalog words it otherwise.
    place = t("agenda.times_in", lang, place="\0").split("\0")
    assert all(part in out for part in place), (place, out[:200])
    if lang != "en":
        for key in ("agenda.times_in", "agenda.footer"):
            english = t(key, "en", place="Prague")
            if t(key, lang, place="Prague") != english:
                assert english.split("Prague")[0] not in out, key


async def test_the_language_picker_on_telegram(world: TelegramWorld) -> None:
    await world.say(VIEWER, "/language")
    (request,) = world.tg.requests("sendMessage", chat_id=VIEWER)[-1:]
    rows = keyboard(request)
    assert all(len(row) <= 3 for row in rows)
    order = expected_order(["en", "zh-TW"])
    assert [b["text"] for row in rows for b in row] == [catalog(c).name for c in order]
    assert [b["callback_data"] for row in rows for b in row] == [f"language {c}" for c in order]
    last = order[-1]
    answer = await world.press(VIEWER, f"language {last}")
    assert answer == t("language.set", last, language=catalog(last).name)


async def test_the_language_picker_on_discord(
    rig: Rig, people: tuple[FakeGuild, FakeUser, FakeUser]
) -> None:
    guild, ana, _ = people
    answer = await rig.slash("language", user_id=ana.id, guild_id=guild.id)
    assert answer.message is not None
    rows = answer.message["components"]
    # Discord's grid: at most 5 rows of at most 5 buttons; every language has its button.
    assert len(rows) <= 5 and all(len(row["components"]) <= 5 for row in rows)
    order = expected_order(["en", "zh-TW"])
    buttons = [c for row in rows for c in row["components"]]
    assert [b["label"] for b in buttons] == [catalog(c).name for c in order]
    # /start shows its own buttons and every language's within the same grid.
    welcome = (await rig.slash("start", user_id=ana.id, guild_id=guild.id)).message
    assert welcome is not None and len(welcome["components"]) <= 5
    ids = [c["custom_id"] for row in welcome["components"] for c in row["components"]]
    assert [i for i in ids if i.startswith("language ")] == [f"language {c}" for c in order]
    last = order[-1]
    chosen = await rig.answer(await rig.dc.send_button(f"language {last}", user_id=ana.id))
    assert t("language.set", last, language=catalog(last).name) in text_of(chosen.message)


def test_counts_are_written_with_the_languages_digit_grouping() -> None:
    queued = t("broadcast.queued", "en", id=1234, count=1500)
    assert "#1234" in queued and "1,500 messages" in queued  # an id is a name, not an amount
    assert t("stats.total", "en", total=100_000) == "Subscribers: 100,000"
    need("ru")
    assert "100\xa0000" in t("stats.total", "ru", total=100_000)


@pytest.mark.parametrize("lang", languages())
def test_discord_accepts_every_catalogs_command_names(lang: str) -> None:
    # Discord refuses a whole command sync over one bad or repeated name: every localized
    # name must be valid (else it stays English) and no two commands may share one.
    from bot.adapters.discord.translator import valid_name

    english = catalog("en").messages
    keys = [k for k in english if k.startswith("discord.command.")]
    shown = [valid_name(catalog(lang).messages[k]) or english[k] for k in keys]
    assert len(set(shown)) == len(shown), sorted(shown)
    assert all(re.fullmatch(r"[-_'\w]{1,32}", name) and name == name.lower() for name in shown)


# --- the first /timezone in any language does not wait for the zone index -------------------


@pytest.fixture
def warmed(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    """What the adapters warm up at start (recorded instead of built: tests share one index)."""
    calls: list[tuple[str, ...]] = []
    for adapter in ("telegram", "discord"):
        monkeypatch.setattr(
            f"bot.adapters.{adapter}.adapter.warm_up",
            lambda langs=(): calls.append(tuple(langs)),
        )
    return calls


async def until(condition: Callable[[], bool]) -> None:
    """Wait (briefly) for work an adapter started in a thread."""
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("not done within 5 s")


async def test_telegram_warms_up_every_language_at_start(
    warmed: list[tuple[str, ...]], make_world: WorldFactory
) -> None:
    await make_world()
    await until(lambda: bool(warmed))
    assert warmed == [languages()]


async def test_discord_warms_up_every_language_at_start(
    warmed: list[tuple[str, ...]], rig: Rig
) -> None:
    await until(lambda: bool(warmed))
    assert warmed == [languages()]


async def test_the_language_picker_on_the_console(store: Store) -> None:
    out = io.StringIO()
    console = ConsoleAdapter(stdin=io.StringIO(), stdout=out, listen_at_start=False)
    worker = Worker(Settings(), summit(), store, [console], Clock(S1))
    await worker.start(background=False)
    try:
        await console.type("/language")
        offered = out.getvalue()
        last = expected_order(["en", "zh-TW"])[-1]
        await console.type(f"/language {last}")
    finally:
        await worker.stop()
    # Buttons print as the commands to type, in rows of three: the event's languages first.
    rows = [line for line in offered.splitlines() if "[" in line and "/language " in line]
    shown = [f"[{catalog(c).name}: /language {c}]" for c in expected_order(["en", "zh-TW"])]
    assert rows == ["  " + "   ".join(shown[i : i + 3]) for i in range(0, len(shown), 3)], offered
    assert t("language.set", last, language=catalog(last).name) in out.getvalue()
