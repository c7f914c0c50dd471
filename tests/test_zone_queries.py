"""Every way people name a time zone, in many languages, down to the local time of a session.

Each row is what a viewer types after /timezone, in the language they read the bot in, the
zone it must resolve to and the wall-clock time session 2 (2020-08-17 23:00 UTC) starts at
there. Languages the bot has no catalog for (es, fr, de, ja, ru, cs, ko) are passed to
resolve_timezone() as a Babel locale code, which names and labels places in that language.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest

from bot.cli import main
from bot.schedule import load_schedule
from bot.timezones import get_zone, resolve_timezone
from tests.support.harness import S2, Harness

SCHEDULE = str(Path(__file__).resolve().parent.parent / "schedule.yaml")
SESSION_2 = S2

# (query, language, zone, session 2's local start "MM-DD HH:MM")
QUERIES = [
    # Abbreviations: the region's zone with its summer time, never a fixed-offset zone.
    ("PST", "en", "America/Los_Angeles", "08-17 16:00"),
    ("pst", "en", "America/Los_Angeles", "08-17 16:00"),
    ("EST", "en", "America/New_York", "08-17 19:00"),
    ("CST", "en", "America/Chicago", "08-17 18:00"),
    ("MST", "en", "America/Denver", "08-17 17:00"),
    ("HST", "en", "Pacific/Honolulu", "08-17 13:00"),
    ("AKST", "en", "America/Anchorage", "08-17 15:00"),
    ("IST", "en", "Asia/Kolkata", "08-18 04:30"),
    ("BST", "en", "Europe/London", "08-18 00:00"),
    ("CET", "en", "Europe/Berlin", "08-18 01:00"),
    ("CEST", "en", "Europe/Berlin", "08-18 01:00"),
    ("EET", "en", "Europe/Kyiv", "08-18 02:00"),
    ("AEST", "en", "Australia/Sydney", "08-18 09:00"),
    ("ACST", "en", "Australia/Adelaide", "08-18 08:30"),
    ("NZST", "en", "Pacific/Auckland", "08-18 11:00"),
    ("JST", "en", "Asia/Tokyo", "08-18 08:00"),
    ("KST", "en", "Asia/Seoul", "08-18 08:00"),
    ("SGT", "en", "Asia/Singapore", "08-18 07:00"),
    # Zone names (CLDR metazones), in the reader's language.
    ("Pacific Time", "en", "America/Los_Angeles", "08-17 16:00"),
    ("Pacific Daylight Time", "en", "America/Los_Angeles", "08-17 16:00"),
    ("Eastern Time", "en", "America/New_York", "08-17 19:00"),
    ("Central European Time", "en", "Europe/Berlin", "08-18 01:00"),
    ("India Standard Time", "en", "Asia/Kolkata", "08-18 04:30"),
    ("British Summer Time", "en", "Europe/London", "08-18 00:00"),
    ("Newfoundland Time", "en", "America/St_Johns", "08-17 20:30"),
    ("太平洋時間", "zh-TW", "America/Los_Angeles", "08-17 16:00"),
    ("中歐時間", "zh-TW", "Europe/Berlin", "08-18 01:00"),
    ("印度標準時間", "zh-TW", "Asia/Kolkata", "08-18 04:30"),
    ("hora del Pacífico", "es", "America/Los_Angeles", "08-17 16:00"),
    ("hora del Pacifico", "es", "America/Los_Angeles", "08-17 16:00"),
    ("hora de Europa central", "es", "Europe/Berlin", "08-18 01:00"),
    ("hora oriental", "es", "America/New_York", "08-17 19:00"),
    ("heure d'Europe centrale", "fr", "Europe/Berlin", "08-18 01:00"),
    ("heure d’Europe centrale", "fr", "Europe/Berlin", "08-18 01:00"),
    ("heure de l’Inde", "fr", "Asia/Kolkata", "08-18 04:30"),
    ("heure de Lord Howe", "fr", "Australia/Lord_Howe", "08-18 09:30"),
    ("Mitteleuropäische Zeit", "de", "Europe/Berlin", "08-18 01:00"),
    ("Nordamerikanische Westküstenzeit", "de", "America/Los_Angeles", "08-17 16:00"),
    ("日本標準時", "ja", "Asia/Tokyo", "08-18 08:00"),
    ("米国太平洋時間", "ja", "America/Los_Angeles", "08-17 16:00"),
    ("středoevropský čas", "cs", "Europe/Berlin", "08-18 01:00"),
    ("한국 시간", "ko", "Asia/Seoul", "08-18 08:00"),
    # Exemplar cities and the islands people name zones by (none a city of 15,000).
    ("Lord Howe", "en", "Australia/Lord_Howe", "08-18 09:30"),
    ("Lord Howe Island", "en", "Australia/Lord_Howe", "08-18 09:30"),
    ("Chatham Islands", "en", "Pacific/Chatham", "08-18 11:45"),
    ("Kiritimati", "en", "Pacific/Kiritimati", "08-18 13:00"),
    ("Svalbard", "en", "Arctic/Longyearbyen", "08-18 01:00"),
    ("Dumont d'Urville Station", "en", "Antarctica/DumontDUrville", "08-18 09:00"),
    ("New Salem, North Dakota", "en", "America/North_Dakota/New_Salem", "08-17 18:00"),
    ("豪勳爵島", "zh-TW", "Australia/Lord_Howe", "08-18 09:30"),
    ("紐約", "zh-TW", "America/New_York", "08-17 19:00"),
    ("San Juan de Terranova", "es", "America/St_Johns", "08-17 20:30"),
    ("Saint-Jean de Terre-Neuve", "fr", "America/St_Johns", "08-17 20:30"),
    ("プラハ", "ja", "Europe/Prague", "08-18 01:00"),
    ("Прага", "ru", "Europe/Prague", "08-18 01:00"),
    ("Нью-Йорк", "ru", "America/New_York", "08-17 19:00"),
    ("도쿄", "ko", "Asia/Tokyo", "08-18 08:00"),
    # Shared names: the most populous place (the others are offered, see below).
    ("St. John's", "en", "America/St_Johns", "08-17 20:30"),
    ("St Johns", "en", "America/St_Johns", "08-17 20:30"),
    ("Wellington", "en", "Pacific/Auckland", "08-18 11:00"),
    ("Portland", "en", "America/Los_Angeles", "08-17 16:00"),
    # Cities where the summit was watched, with and without accents, and typos.
    ("Prague", "en", "Europe/Prague", "08-18 01:00"),
    ("Pragu", "en", "Europe/Prague", "08-18 01:00"),
    ("Medellín", "en", "America/Bogota", "08-17 18:00"),
    ("Medelin", "en", "America/Bogota", "08-17 18:00"),
    ("Bogota", "en", "America/Bogota", "08-17 18:00"),
    ("İzmir", "en", "Europe/Istanbul", "08-18 02:00"),
    ("Izmir", "en", "Europe/Istanbul", "08-18 02:00"),
    ("Gdynia", "en", "Europe/Warsaw", "08-18 01:00"),
    ("Guayaquil", "en", "America/Guayaquil", "08-17 18:00"),
    ("Belmopan", "en", "America/Belize", "08-17 17:00"),
    ("Da Nang", "en", "Asia/Ho_Chi_Minh", "08-18 06:00"),
    ("Goyang", "en", "Asia/Seoul", "08-18 08:00"),
    ("Budapest", "en", "Europe/Budapest", "08-18 01:00"),
    ("布拉格", "zh-TW", "Europe/Prague", "08-18 01:00"),
    ("Nueva York", "es", "America/New_York", "08-17 19:00"),
    ("Tokio", "es", "Asia/Tokyo", "08-18 08:00"),
    ("Londres", "fr", "Europe/London", "08-18 00:00"),
    ("Prag", "de", "Europe/Prague", "08-18 01:00"),
    ("Praha", "cs", "Europe/Prague", "08-18 01:00"),
    # Countries, in the reader's language, and offsets and zone names.
    ("Japan", "en", "Asia/Tokyo", "08-18 08:00"),
    ("CZ", "en", "Europe/Prague", "08-18 01:00"),
    ("日本", "zh-TW", "Asia/Tokyo", "08-18 08:00"),
    ("Japón", "es", "Asia/Tokyo", "08-18 08:00"),
    ("Tchéquie", "fr", "Europe/Prague", "08-18 01:00"),
    ("Tschechien", "de", "Europe/Prague", "08-18 01:00"),
    ("UTC+5:45", "en", "UTC+05:45", "08-18 04:45"),
    ("GMT-3", "en", "UTC-03:00", "08-17 20:00"),
    ("utc+8", "zh-TW", "UTC+08:00", "08-18 07:00"),
    ("Asia/Taipei", "en", "Asia/Taipei", "08-18 07:00"),
]


def test_session_2_starts_at_the_instant_the_table_assumes() -> None:
    schedule = load_schedule(SCHEDULE)
    session = next(session for session in schedule.sessions if session.id == "s2")
    assert session.start == SESSION_2


def test_the_table_covers_sixty_queries_in_six_languages() -> None:
    assert len(QUERIES) >= 60
    assert len({language for _, language, _, _ in QUERIES}) >= 6


@pytest.mark.parametrize(("query", "language", "zone", "local"), QUERIES)
def test_query_resolves_to_its_zone_and_session_2s_local_time(
    query: str, language: str, zone: str, local: str
) -> None:
    resolution = resolve_timezone(query, language)
    assert resolution.match is not None, f"{query!r} ({language}) did not resolve: {resolution}"
    assert resolution.match.zone == zone
    assert SESSION_2.astimezone(get_zone(zone)).strftime("%m-%d %H:%M") == local


@pytest.mark.parametrize(
    ("query", "language", "others"),
    [
        ("St. John's", "en", {"America/Antigua", "America/New_York"}),
        ("IST", "en", {"Europe/Dublin", "Asia/Jerusalem"}),
        ("CST", "en", {"Asia/Shanghai", "America/Havana"}),
        ("BST", "en", {"Asia/Dhaka"}),
        ("PST", "en", {"Asia/Manila"}),
    ],
)
def test_a_shared_name_offers_the_places_it_did_not_choose(
    query: str, language: str, others: set[str]
) -> None:
    assert others <= {choice.zone for choice in resolve_timezone(query, language).choices}


def test_agenda_names_the_place_it_chose_and_the_alternatives() -> None:
    out, err = io.StringIO(), io.StringIO()
    status = main(["agenda", "--tz", "St. John's", "--schedule", SCHEDULE], out=out, err=err)
    assert status == 0, err.getvalue()
    lines = out.getvalue().splitlines()
    assert lines[0] == "St. John's → St. John's, Canada (America/St_Johns)"
    assert "Saint John’s, Antigua & Barbuda" in lines[1]
    assert "St. Johns, Florida, United States" in lines[1]


def test_agenda_with_an_abbreviation_prints_pacific_time() -> None:
    out, err = io.StringIO(), io.StringIO()
    status = main(["agenda", "--tz", "PST", "--schedule", SCHEDULE], out=out, err=err)
    assert status == 0, err.getvalue()
    assert out.getvalue().splitlines()[0] == "PST → Pacific Time (America/Los_Angeles)"
    assert "Pest" not in out.getvalue()


async def test_a_californian_typing_pst_is_reminded_at_4_pm_pacific(bot: Harness) -> None:
    # PST used to be "Pest, Hungary": every reminder nine hours off.
    answer = await bot.say("/timezone PST")
    assert "Pacific Time (America/Los_Angeles)" in answer
    assert "Pest" not in answer
    assert "Subscribed" in await bot.say("/subscribe s2")
    sent = await bot.at(S2 - dt.timedelta(hours=1))
    assert len(sent) == 1
    assert "Mon 17 Aug, 16:00–17:30 (Pacific Time, -1 day)" in sent[0][1].text
