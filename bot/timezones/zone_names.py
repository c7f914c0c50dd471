"""What people call time zones: abbreviations (PST, CET), zone names (Pacific Time, hora del
Pacífico) and the places zones are named for (Lord Howe), from CLDR (via Babel) and tzdata."""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

import yaml
from babel import Locale
from babel.core import get_global
from babel.localedata import locale_identifiers

from bot.timezones.countries import country_zones
from bot.timezones.folding import fold
from bot.timezones.places import Place, city_index
from bot.timezones.zones import babel_locale, babel_locale_names, get_zone, localized_zone_city

MAX_CHOICES = 8
# What an abbreviation looks like: CLDR's and tzdata's are 2 to 5 Latin letters (ChST).
ABBREVIATION_RE = re.compile(r"[A-Za-z]{2,5}")
_ENGLISH = "en"

# How sure a name is, best first: the reader's own language names the zone, English's
# other locales abbreviate it (IST in en_IN and en_IE), tzdata abbreviates it (JST), or the
# bot's own short list does (bot/data/zone_abbreviations.yaml).
_READER, _ENGLISH_CLDR, _TZDATA, _CURATED = range(4)


@dataclass(frozen=True)
class _Name:
    """One thing a name may mean: a zone, how sure, and the label that zone is shown with."""

    zone: str
    tier: int
    label: str


@dataclass(frozen=True)
class ZoneNames:
    """A locale's names for zones: folded key → the zones it means, likeliest first."""

    by_key: dict[str, tuple[Place, ...]]
    abbreviations: frozenset[str]


_lock = threading.Lock()
_built: dict[str, ZoneNames] = {}


def zone_names(loc: Locale) -> ZoneNames:
    """Return loc's zone names (with English's), building them on first use (~0.2 s)."""
    key = str(loc)
    names = _built.get(key)
    if names is None:
        with _lock:
            names = _built.get(key)
            if names is None:
                names = _build(loc)
                _built[key] = names
    return names


def warm_up(languages: Iterable[str] = ()) -> None:
    """Build the city index and the zone names of English, Chinese and each of `languages`
    (the bot's language codes: "es", "zh-TW") now (about 1 s, and 0.2 s a language), so no
    viewer's lookup waits for them."""
    city_index()
    for name in babel_locale_names():
        zone_names(Locale.parse(name))
    for code in languages:
        zone_names(babel_locale(code))


def is_abbreviation(text: str, loc: Locale) -> bool:
    """Whether text is written as, and known as, a zone abbreviation ("PST", "AEST")."""
    return ABBREVIATION_RE.fullmatch(text) is not None and (
        fold(text) in zone_names(loc).abbreviations
    )


@cache
def _canonical_zones() -> tuple[str, ...]:
    """tzdata's zone.tab zones, most populous region of each country first."""
    seen: dict[str, None] = {}
    for zones in country_zones().values():
        seen.update(dict.fromkeys(zones))
    return tuple(seen)


@cache
def _metazone(zone: str) -> str:
    """CLDR's metazone of a zone (America_Pacific), or the zone itself where it has none."""
    return str(get_global("meta_zones").get(zone, zone))


@cache
def _members(metazone: str) -> tuple[str, ...]:
    """The canonical zones of a metazone, the one a name most likely means first."""
    return tuple(sorted((z for z in _canonical_zones() if _metazone(z) == metazone), key=_rank))


def _rank(zone: str) -> tuple[bool, bool, int, int]:
    """Order zones sharing a name: a metazone named for a continent means its zones first
    (Eastern European Time is Bucharest's before Cairo's), then those with daylight saving
    (EST is New York's, not Panama's), then by the people their cities hold."""
    area = _metazone(zone).split("_", 1)[0] + "/"
    return (
        not zone.startswith(area),
        not _keeps_summer_time(zone),
        -_population(zone),
        _order().get(zone, len(_order())),
    )


@cache
def _order() -> dict[str, int]:
    """Each canonical zone's place in tzdata's zone.tab."""
    return {zone: number for number, zone in enumerate(_canonical_zones())}


def _population(zone: str) -> int:
    """The people in a zone's cities of 15,000 (GeoNames)."""
    return city_index().zone_population.get(zone, 0)


def _sample_instants() -> tuple[dt.datetime, dt.datetime]:
    """A January and a July instant of this year: a zone's winter and summer readings."""
    year = dt.datetime.now(dt.UTC).year
    return dt.datetime(year, 1, 15, 12, tzinfo=dt.UTC), dt.datetime(year, 7, 15, 12, tzinfo=dt.UTC)


@cache
def _keeps_summer_time(zone: str) -> bool:
    """Whether a zone's clocks change in the year (north or south)."""
    tz = get_zone(zone)
    winter, summer = _sample_instants()
    return winter.astimezone(tz).utcoffset() != summer.astimezone(tz).utcoffset()


def _tzdata_abbreviations() -> Iterator[tuple[str, str]]:
    """(abbreviation, zone) as tzdata writes this year's readings ("JST" for Asia/Tokyo);
    numeric ones ("+03") are offsets, read as such elsewhere."""
    for zone in _canonical_zones():
        tz = get_zone(zone)
        for instant in _sample_instants():
            name = instant.astimezone(tz).tzname()
            if name and ABBREVIATION_RE.fullmatch(name):
                yield name, zone


def _curated_abbreviations() -> Iterator[tuple[str, str]]:
    """(abbreviation, zone) from bot/data/zone_abbreviations.yaml: common ones neither CLDR
    nor tzdata has (Bangladesh's BST)."""
    text = resources.files("bot").joinpath("data/zone_abbreviations.yaml").read_text("utf-8")
    for entry in yaml.safe_load(text) or []:
        get_zone(str(entry["zone"]))  # an unknown zone fails the build, not a viewer
        yield str(entry["abbreviation"]), str(entry["zone"])


@lru_cache(maxsize=1)
def _english_locales() -> tuple[Locale, ...]:
    """English's locales, whose abbreviations differ (AEST in en_AU, IST in en_IN)."""
    ids = (i for i in locale_identifiers() if i == _ENGLISH or i.startswith(_ENGLISH + "_"))
    return tuple(Locale.parse(i) for i in sorted(ids))


def _metazone_label(metazone: str, loc: Locale) -> str | None:
    """A metazone's long name in loc: "Pacific Time", else "Pacific Standard Time"."""
    names = loc.meta_zones.get(metazone, {}).get("long", {})
    label = names.get("generic") or names.get("standard")
    return None if label is None else str(label)


def _label(zone: str, loc: Locale) -> str:
    """How a zone a name means is shown: its metazone's name, else its city."""
    return _metazone_label(_metazone(zone), loc) or localized_zone_city(zone, loc)


class _Collector:
    """Gathers what each folded name may mean, keeping each zone's surest reading."""

    def __init__(self, loc: Locale) -> None:
        self.loc = loc
        self.names: dict[str, dict[str, _Name]] = {}
        self.abbreviations: set[str] = set()

    def add(self, name: str, zones: tuple[str, ...], tier: int, label: str | None = None) -> None:
        """Record that name may mean each of zones (labelled label, or as _label says)."""
        key = fold(name)
        if not key or not zones:
            return
        if ABBREVIATION_RE.fullmatch(name) and sum(char.isupper() for char in name) >= 2:
            self.abbreviations.add(key)
        meanings = self.names.setdefault(key, {})
        for zone in zones:
            known = meanings.get(zone)
            if known is None or tier < known.tier:
                meanings[zone] = _Name(zone, tier, label or _label(zone, self.loc))

    def add_locale(self, source: Locale, tier: int, *, long_names: bool) -> None:
        """Add source's metazone and zone names (abbreviations only, unless long_names)."""
        widths = ("long", "short") if long_names else ("short",)
        for metazone, names in source.meta_zones.items():
            zones = _members(metazone)
            for width in widths:
                for name in (names.get(width) or {}).values():
                    self.add(str(name), zones, tier)
        for zone, names in source.time_zones.items():
            if zone not in get_global("meta_zones") and zone != "Etc/UTC":
                continue
            for width in widths:
                for name in (names.get(width) or {}).values():
                    self.add(str(name), (zone,), tier, localized_zone_city(zone, self.loc))

    def add_places(self, source: Locale, tier: int) -> None:
        """Add each zone's exemplar city in source ("Kiritimati", "豪勳爵島") and its
        "City Time" name ("Tokyo Time", "heure : Tokyo")."""
        region = str(source.zone_formats.get("region", "%s"))
        for zone in _canonical_zones():
            city = localized_zone_city(zone, source)
            label = localized_zone_city(zone, self.loc)
            self.add(city, (zone,), tier, label)
            self.add(region % city, (zone,), tier, label)

    def finish(self) -> ZoneNames:
        """Rank each name's zones into Places: likeliest group first, one zone a group."""
        by_key = {key: _ranked(meanings) for key, meanings in self.names.items()}
        return ZoneNames(by_key, frozenset(self.abbreviations))


def _ranked(meanings: dict[str, _Name]) -> tuple[Place, ...]:
    """One Place per metazone a name means (Chicago for CST's Central Time, Shanghai for
    its China Time), the surest and most populous first, each by its likeliest zone."""
    groups: dict[str, list[_Name]] = {}
    for meaning in meanings.values():
        groups.setdefault(_metazone(meaning.zone), []).append(meaning)
    best = [min(group, key=lambda m: (m.tier, _rank(m.zone))) for group in groups.values()]
    people = {name: sum(_population(m.zone) for m in group) for name, group in groups.items()}
    best.sort(key=lambda m: (m.tier, -people[_metazone(m.zone)], m.zone))
    return tuple(Place(m.label, m.zone, "zone") for m in best[:MAX_CHOICES])


def _build(loc: Locale) -> ZoneNames:
    """Collect loc's and English's names for zones, surest sources first."""
    collector = _Collector(loc)
    english = babel_locale(_ENGLISH)
    collector.add_locale(loc, _READER, long_names=True)
    collector.add_places(loc, _READER)
    if loc.language != _ENGLISH:
        collector.add_locale(english, _ENGLISH_CLDR, long_names=True)
        collector.add_places(english, _ENGLISH_CLDR)
    for source in _english_locales():
        collector.add_locale(source, _ENGLISH_CLDR, long_names=False)
    for abbreviation, zone in _tzdata_abbreviations():
        collector.add(abbreviation, (zone,), _TZDATA)
    for abbreviation, zone in _curated_abbreviations():
        collector.add(abbreviation, (zone,), _CURATED)
    return collector.finish()


def named_for(city_name: str, zone: str) -> bool:
    """Whether a city is the one its zone is named for (St. John's for America/St_Johns)."""
    return fold(city_name) == _english_exemplar_key(zone)


@cache
def _english_exemplar_key(zone: str) -> str:
    """The folded English exemplar city of a zone."""
    return fold(localized_zone_city(zone, babel_locale(_ENGLISH)))
