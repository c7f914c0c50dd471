"""Babel (CLDR) formatting for one reader: instants, durations, countdowns, places, languages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import cache

from babel.core import Locale, UnknownLocaleError
from babel.dates import format_skeleton
from babel.lists import format_list
from babel.units import format_unit

from bot.i18n import catalog, catalog_locale, t
from bot.timezones import get_zone, zone_city


def babel_locale(lang: str | None) -> Locale:
    """The CLDR locale that formats for a viewer's language."""
    return catalog_locale(catalog(lang))


def local(instant: dt.datetime, zone: str) -> dt.datetime:
    """`instant` as wall-clock time in `zone`; refuses naive datetimes."""
    if instant.tzinfo is None:
        raise ValueError("naive datetime: every instant must be timezone-aware")
    return instant.astimezone(get_zone(zone))


def format_day(instant: dt.datetime, zone: str, lang: str | None) -> str:
    """The reader's calendar day with its weekday in full: "Thursday 13 August"."""
    return str(format_skeleton("MMMMEEEEd", local(instant, zone), locale=babel_locale(lang)))


def format_full_date(day: dt.date, lang: str | None) -> str:
    """A calendar date with its weekday in full: "Tuesday 22 September"."""
    return str(format_skeleton("MMMMEEEEd", day, locale=babel_locale(lang)))


def format_date(day: dt.date, lang: str | None) -> str:
    """A calendar date without a time: "Tue 22 Sept"."""
    return str(format_skeleton("MMMEd", day, locale=babel_locale(lang)))


def time_skeleton(lang: str | None) -> str:
    """The CLDR skeleton of a time of day in the reader's own clock: "Hm" where the locale
    (or its catalog's `clock`) counts 24 hours ("18:00"), "hm" where it counts twice 12
    ("6:00 PM", "오후 6:00"). Babel resolves no "j" skeleton, so the locale's short time
    pattern says which clock it uses."""
    chosen = catalog(lang)
    if chosen.clock is not None:
        return "hm" if chosen.clock == 12 else "Hm"
    return _cldr_time_skeleton(chosen.babel)


@cache
def _cldr_time_skeleton(babel: str) -> str:
    # Read once per locale: an agenda formats dozens of times.
    pattern = Locale.parse(babel).time_formats["short"].pattern
    return "hm" if "h" in pattern or "K" in pattern else "Hm"


def format_time(instant: dt.datetime, zone: str, lang: str | None) -> str:
    """The wall-clock time in `zone` on the reader's clock: "18:00", "오후 6:00"."""
    when = local(instant, zone)
    return str(format_skeleton(time_skeleton(lang), when, locale=babel_locale(lang)))


def format_when(instant: dt.datetime, zone: str, lang: str | None) -> str:
    """Weekday, date and time in `zone`: "Mon 17 Aug, 18:00"."""
    when = local(instant, zone)
    locale = babel_locale(lang)
    return t(
        "time.date_time",
        lang,
        date=format_skeleton("MMMEd", when, locale=locale),
        time=format_skeleton(time_skeleton(lang), when, locale=locale),
    )


def day_shift(instant: dt.datetime, zone: str, event_zone: str) -> int:
    """How many calendar days the reader's date is ahead of (+) or behind (-) the event's."""
    return (local(instant, zone).date() - local(instant, event_zone).date()).days


def format_day_shift(days: int, lang: str | None) -> str:
    """A "+1 day" / "-1 day" marker, empty when the dates agree."""
    if days == 0:
        return ""
    amount = format_unit(abs(days), "duration-day", length="long", locale=babel_locale(lang))
    return t("time.day_shift", lang, sign="+" if days > 0 else "-", amount=amount)


def format_duration(delta: dt.timedelta, lang: str | None, *, parts: int = 2) -> str:
    """A duration in at most `parts` units, rounded to the minute: "1 hour 40 minutes"."""
    minutes = round(abs(delta).total_seconds() / 60)
    units = [
        ("duration-day", minutes // 1440),
        ("duration-hour", minutes % 1440 // 60),
        ("duration-minute", minutes % 60),
    ]
    locale = babel_locale(lang)
    shown = [format_unit(n, unit, length="long", locale=locale) for unit, n in units if n][:parts]
    if not shown:
        return str(format_unit(0, "duration-minute", length="long", locale=locale))
    return " ".join(shown)


def format_relative(target: dt.datetime, now: dt.datetime, lang: str | None) -> str:
    """A countdown or a time since: "in 10 minutes", "5 minutes ago", "10 分鐘後"."""
    delta = target - now
    if abs(delta) < dt.timedelta(seconds=30):
        return t("time.now", lang)
    key = "time.in" if delta > dt.timedelta(0) else "time.ago"
    return t(key, lang, duration=format_duration(delta, lang))


def place_name(zone: str, lang: str | None) -> str:
    """A short, localized place for a zone, for inline use: "Bogotá", "台北"."""
    return zone_city(zone, catalog(lang).code)


def place_with_zone(place: str, zone: str, lang: str | None) -> str:
    """A place and its zone, "Wellington, New Zealand (Pacific/Auckland)"; a place that is
    its zone's own name ("UTC+05:45") is said once."""
    if place.casefold() == zone.casefold():
        return place
    return t("timezone.place_zone", lang, place=place, zone=zone)


def format_places(places: Sequence[str], lang: str | None, *, alternatives: bool = False) -> str:
    """Places as one list: each quoted, since a place's name holds commas itself, and joined
    with the language's own list pattern (CLDR): "“A, B”, “C” and “D”", "「A，B」、「C」和「D」";
    `alternatives` joins them with "or" ("或")."""
    quoted = [t("list.quoted", lang, text=place) for place in places]
    locale = babel_locale(lang)
    if alternatives:
        return str(format_list(quoted, style="or", locale=locale))
    return str(format_list(quoted, style="standard", locale=locale))


def language_name(code: str, lang: str | None) -> str:
    """A language tag's name in the reader's language (CLDR): "de" is "德文" to a zh-TW
    reader, "zh-TW" is "Traditional Chinese" to an English one; an unknown tag is itself."""
    names = babel_locale(lang).languages
    try:
        tag = Locale.parse(code, sep="-")
    except (ValueError, UnknownLocaleError):
        return code
    # The most precise name CLDR has: "en_US" (American English), "zh_Hant", then "de".
    candidates = [f"{tag.language}_{tag.territory}", f"{tag.language}_{tag.script}"]
    for key in [*candidates, tag.language]:
        if key in names:
            return str(names[key])
    return code
