"""Zone names to tzinfo (zoneinfo over the tzdata package), fixed offsets, a zone's city."""

from __future__ import annotations

import datetime as dt
import re
from functools import cache, lru_cache
from importlib import resources
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import get_timezone_location

from bot.errors import SummitBotError

MIN_OFFSET_MINUTES = -12 * 60
MAX_OFFSET_MINUTES = 14 * 60
FIXED_ZONE_RE = re.compile(r"UTC([+-])([0-9]{2}):([0-9]{2})")

_BABEL_LOCALES = {"en": "en", "zh-TW": "zh_Hant_TW"}
_DEFAULT_LOCALE = "en"
# What separates the parts of a place's name ("Beaverton, Oregon, United States"), by Babel
# language: CLDR has no such pattern, and Chinese writes a full-width comma ("布拉格，捷克").
_LABEL_SEPARATORS = {"zh": "，"}
_DEFAULT_LABEL_SEPARATOR = ", "


def _zone_names() -> frozenset[str]:
    """Every IANA zone name, from the tzdata package's list (one file, no directory walk)."""
    text = resources.files("tzdata").joinpath("zones").read_text("ascii")
    # Factory is tzdata's placeholder for machines whose zone is unset ("-00"), not a place;
    # zoneinfo.available_timezones() would also add files such as "localtime" from the system.
    return frozenset(text.split()) - {"Factory"}


# The names a zone may have: what the loader accepts for an event and viewers may store.
ZONE_NAMES = _zone_names()
# Lower-case spellings of zone names, so "europe/prague" finds Europe/Prague.
ZONE_NAME_BY_KEY = {name.lower(): name for name in sorted(ZONE_NAMES)}


class UnknownZone(SummitBotError, ValueError):
    """A zone name that is neither an IANA name nor a canonical fixed offset."""


def get_zone(name: str) -> dt.tzinfo:
    """Return the tzinfo for an IANA name or a canonical "UTC+05:45" fixed offset."""
    fixed = FIXED_ZONE_RE.fullmatch(name)
    if fixed is not None:
        sign, hours, minutes = fixed.groups()
        # Only the canonical spelling is a zone name, so one offset has one stored name.
        if offset_zone_name(sign, hours, minutes) != name:
            raise UnknownZone(name)
        total = int(hours) * 60 + int(minutes)
        return dt.timezone(dt.timedelta(minutes=total if sign == "+" else -total))
    iana = ZONE_NAME_BY_KEY.get(name.lower())
    if iana is None:
        raise UnknownZone(name)
    return _zone_info(iana)


@cache
def _zone_info(name: str) -> ZoneInfo:
    """The zone as the tzdata package has it, one object per name."""
    # ZoneInfo(name) would prefer the system's zone files, which can lag by years (this
    # machine's 2025b misses 2026's Canadian and Moroccan rules); the package is pinned and
    # upgraded with the bot's other dependencies, as pytz's own copy of the data was.
    with resources.files("tzdata").joinpath(f"zoneinfo/{name}").open("rb") as data:
        return ZoneInfo.from_file(data, key=name)


def is_valid_zone(name: str) -> bool:
    """Tell whether get_zone() accepts this zone name."""
    try:
        get_zone(name)
    except UnknownZone:
        return False
    return True


def offset_zone_name(sign: str, hours: str, minutes: str | None) -> str | None:
    """Return the canonical fixed-offset zone name, or None when out of range."""
    total = int(hours) * 60 + int(minutes or 0)
    if int(minutes or 0) >= 60:
        return None
    if sign != "+":
        total = -total
    if not MIN_OFFSET_MINUTES <= total <= MAX_OFFSET_MINUTES:
        return None
    if total == 0:
        return "UTC"
    return f"UTC{'+' if total > 0 else '-'}{abs(total) // 60:02d}:{abs(total) % 60:02d}"


@lru_cache(maxsize=64)
def babel_locale(locale: str) -> Locale:
    """Map the bot's locale codes ("zh-TW") and any Babel locale ("es", "pt-BR") to Babel's,
    falling back to English for codes Babel does not know."""
    try:
        return Locale.parse(_BABEL_LOCALES.get(locale, locale.replace("-", "_")))
    except (UnknownLocaleError, ValueError, TypeError):
        return Locale.parse(_DEFAULT_LOCALE)


def babel_locale_names() -> tuple[str, ...]:
    """The Babel locales place and country names are read in."""
    return tuple(_BABEL_LOCALES.values())


def zone_city(zone: str, locale: str) -> str:
    """Return a short localized place name for a zone, e.g. "Bogotá" for America/Bogota."""
    return localized_zone_city(zone, babel_locale(locale))


@lru_cache(maxsize=1024)
def localized_zone_city(zone: str, loc: Locale) -> str:
    """Return Babel's city for a zone in loc, or the zone name where Babel has none."""
    # Babel would also look up names that are no zone (Factory, posixrules) on the filesystem.
    if zone == "UTC" or FIXED_ZONE_RE.fullmatch(zone) or zone not in ZONE_NAMES:
        return zone
    try:
        return str(get_timezone_location(zone, locale=loc, return_city=True))
    except (LookupError, ValueError):
        return zone


def join_label(parts: list[str], loc: Locale) -> str:
    """A place's name from its parts, smallest first: "Beaverton, Oregon, United States"."""
    return _LABEL_SEPARATORS.get(loc.language, _DEFAULT_LABEL_SEPARATOR).join(parts)


def short_label(label: str) -> str:
    """The first part of a label join_label made, for inline use: "Beaverton"."""
    for separator in {_DEFAULT_LABEL_SEPARATOR, *_LABEL_SEPARATORS.values()}:
        label = label.split(separator, 1)[0]
    return label


def local_city_name(name: str, zone: str, loc: Locale) -> str:
    """A city's name in loc where CLDR knows it, as the city its zone is named for ("布拉格"
    for Prague in zh_Hant_TW); other cities keep the name they were given."""
    if loc.language != _DEFAULT_LOCALE and name == localized_zone_city(
        zone, babel_locale(_DEFAULT_LOCALE)
    ):
        return localized_zone_city(zone, loc)
    return name
