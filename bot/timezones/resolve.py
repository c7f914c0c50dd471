"""What a viewer types after /timezone → a place and its zone, never silently guessing."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from babel import Locale
from rapidfuzz import fuzz, process

from bot.timezones.countries import (
    country_keys,
    country_name,
    country_zones,
    local_country_keys,
)
from bot.timezones.folding import fold, is_latin
from bot.timezones.places import City, CityIndex, Place, city_index, city_label
from bot.timezones.zone_names import is_abbreviation, named_for, zone_names
from bot.timezones.zones import (
    ZONE_NAME_BY_KEY,
    babel_locale,
    get_zone,
    join_label,
    localized_zone_city,
    offset_zone_name,
)

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

# Besides letters, place names hold spaces, hyphens, apostrophes and periods ("St. Louis",
# "Xi’an", "Hawaiʻi"). A query with anything else (braces, digits, symbols, combining marks
# left over after composing its letters, as Zalgo text has) is not a name with a typo, and
# folding would throw that part away before scoring: such a query is never fuzzily matched
# to a zone, only answered with suggestions.
_NAME_PUNCTUATION = frozenset(" -‐'’ʻʼʿ`.")
_OFFSET_RE = re.compile(r"(?:utc|gmt)?\s*([+\-\u2212])\s*([0-9]{1,2})(?:[:h]?([0-9]{2}))?", re.I)
_CITY_SUFFIX = "市"
# A winter and a summer instant: a zone at UTC in both is UTC under another name.
_SEASONS = (
    dt.datetime(2020, 1, 15, tzinfo=dt.UTC),
    dt.datetime(2020, 7, 15, tzinfo=dt.UTC),
)


@dataclass(frozen=True)
class Resolution:
    """The outcome of a lookup: a match, alternatives or choices, and suggestions."""

    match: Place | None
    choices: tuple[Place, ...]
    suggestions: tuple[str, ...]


_NOTHING = Resolution(None, (), ())


def resolve_timezone(query: str, locale: str = "en") -> Resolution:
    """Resolve a viewer's zone, offset, country or city query to a place and its zone."""
    text = " ".join(query.replace("，", ",").split())
    if not text or len(text) > MAX_QUERY_LENGTH:
        return _NOTHING
    loc = babel_locale(locale)

    offset = _OFFSET_RE.fullmatch(text)
    if offset is not None:
        zone = offset_zone_name(*offset.groups())
        return _NOTHING if zone is None else Resolution(Place(zone, zone, "offset"), (), ())

    iana = ZONE_NAME_BY_KEY.get(text.lower().replace(" ", "_"))
    # An abbreviation in capitals is one (PST is Pacific Time, never Pest, Hungary), and
    # means its region's zone with summer time (EST is New York's, not the fixed-offset EST
    # zone) unless it names UTC itself (GMT, UTC). Two letters are a country code (PT).
    if (
        (iana is not None or (text.isupper() and len(text) > 2))
        and is_abbreviation(text, loc)
        and not _is_utc(iana)
    ):
        return _named_zone_resolution(text, loc)
    # Area/City names and abbreviations (UTC, EST5EDT, PRC) cannot be mistaken for places;
    # legacy one-word names (Japan, Greenwich, Navajo) are tried after countries and cities.
    if iana is not None and ("/" in iana or iana.isupper()):
        return _zone_resolution(iana, loc)

    key = fold(text)
    country = country_keys().get(key) or local_country_keys(str(loc)).get(key)
    if country is not None:
        return _country_resolution(country, loc)

    index = city_index()
    # Zone names ("Pacific Time", "hora del Pacífico"), abbreviations in any case and the
    # places zones are named for ("Lord Howe"), after cities: "Paris" is Paris, France.
    named = fold(text) in zone_names(loc).by_key
    if "," in text:
        return (
            _named_zone_resolution(text, loc) if named else _qualified_resolution(text, index, loc)
        )

    cities = _exact_cities(text, index)
    if cities:
        return _decide(cities, index, loc)
    if named:
        return _named_zone_resolution(text, loc)
    if iana is not None:
        return _zone_resolution(iana, loc)
    return _fuzzy_resolution(text, index, loc, None)


def _is_utc(zone: str | None) -> bool:
    """Whether a zone is UTC itself under some name (GMT, UCT): no region's zone."""
    if zone is None:
        return False
    tz = get_zone(zone)
    return all(instant.astimezone(tz).utcoffset() == dt.timedelta(0) for instant in _SEASONS)


def _named_zone_resolution(text: str, loc: Locale) -> Resolution:
    """A zone name or abbreviation: its likeliest zone, the others it may mean offered."""
    match, *others = zone_names(loc).by_key[fold(text)]
    return Resolution(match, tuple(others), ())


def _zone_resolution(zone: str, loc: Locale) -> Resolution:
    """A zone typed by name, labelled with its city ("Prague" for Europe/Prague), or itself."""
    # Etc/GMT+5 is five hours *behind* UTC: a label "GMT+5" would read the other way round.
    label = zone if zone.startswith("Etc/") else localized_zone_city(zone, loc)
    return Resolution(Place(label, zone, "zone"), (), ())


def _country_resolution(country: str, loc: Locale) -> Resolution:
    """Resolve a country: its zone if it has one, else its most populous zones to pick from."""
    zones = country_zones().get(country, ())
    name = country_name(country, loc)
    if len(zones) == 1:
        return Resolution(Place(name, zones[0], "country"), (), ())
    population = city_index().zone_population
    ranked = sorted(zones, key=lambda zone: -population.get(zone, 0))[:MAX_CHOICES]
    # Each zone by its city, as a city is labelled: "New York, United States".
    choices = tuple(
        Place(join_label([localized_zone_city(zone, loc), name], loc), zone, "country")
        for zone in ranked
    )
    return Resolution(None, choices, ())


def _city_places(
    cities: Iterable[City], index: CityIndex, loc: Locale, skip: set[Place], limit: int
) -> tuple[Place, ...]:
    """Turn cities into distinct Places, leaving out those in skip, up to limit."""
    places: list[Place] = []
    seen = set(skip)
    for city in cities:
        place = Place(city_label(city, index, loc), city.zone, "city")
        if place not in seen:
            seen.add(place)
            places.append(place)
            if len(places) == limit:
                break
    return tuple(places)


def _decide(cities: Sequence[City], index: CityIndex, loc: Locale) -> Resolution:
    """Pick the curated or clearly dominant place among namesakes, or ask the viewer."""
    unique = list({city.ident: city for city in cities}.values())
    ranked = sorted(unique, key=lambda city: (not city.curated, -city.population, city.name))
    winner: City | None = None
    # The most populous namesake wins outright when its zone is named for it: St. John's,
    # Newfoundland (America/St_Johns) over Antigua's, although not three times as big.
    if ranked[0].curated or named_for(ranked[0].name, ranked[0].zone):
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
    match = Place(city_label(winner, index, loc), winner.zone, "city")
    others = (city for city in ranked if city is not winner)
    return Resolution(match, _city_places(others, index, loc, {match}, MAX_CHOICES - 1), ())


def _qualified_resolution(text: str, index: CityIndex, loc: Locale) -> Resolution:
    """Resolve "City, Country" or "City, State[, Country]", keeping cities that fit."""
    name, *qualifiers = (part.strip() for part in text.split(","))
    if not fold(name):
        return _NOTHING
    tests: list[Callable[[City], bool]] = []
    for qualifier in qualifiers:
        qualifier_key = fold(qualifier)
        country = country_keys().get(qualifier_key)
        state = index.us_state_keys.get(qualifier_key)
        if country is None and state is None:
            # An unknown qualifier is ignored rather than fatal: the label shows the country.
            continue
        tests.append(_place_test(country, state))

    def accept(city: City) -> bool:
        return all(test(city) for test in tests)

    cities = [city for city in _exact_cities(name, index) if accept(city)]
    if cities:
        return _decide(cities, index, loc)
    return _fuzzy_resolution(name, index, loc, accept if tests else None)


def _exact_cities(name: str, index: CityIndex) -> list[City]:
    """Return the cities and aliases whose folded name or alternate name is name's."""
    cities = index.cities_by_key.get(fold(name))
    if not cities and name.endswith(_CITY_SUFFIX):
        # GeoNames has 愛丁堡 but viewers and the press release write 愛丁堡市 ("city").
        cities = index.cities_by_key.get(fold(name.removesuffix(_CITY_SUFFIX)))
    return cities or []


def _place_test(country: str | None, state: str | None) -> Callable[[City], bool]:
    """Return a test for cities in the country or US state a qualifier may name."""

    def test(city: City) -> bool:
        return city.country == country or (city.country == "US" and city.admin1 == state)

    return test


@dataclass(frozen=True)
class _Hit:
    """A fuzzy-matched key with what it stands for."""

    key: str
    score: float
    country: str | None
    cities: tuple[City, ...]


def _fuzzy_hits(
    key: str, pool: Sequence[str], index: CityIndex, accept: Callable[[City], bool] | None
) -> list[_Hit]:
    """Score pool keys against key, best first, keeping those that stand for something."""
    # A country filter can discard most top keys, so look further down the list.
    limit = 50 if accept is None else 500
    found = process.extract(key, pool, scorer=fuzz.ratio, limit=limit, score_cutoff=SUGGEST_SCORE)
    hits = []
    for candidate, score, _ in found:
        country = country_keys().get(candidate) if accept is None else None
        cities = tuple(
            city
            for city in index.cities_by_key.get(candidate, ())
            if accept is None or accept(city)
        )
        if country is not None or cities:
            hits.append(_Hit(str(candidate), float(score), country, cities))
    return hits


def _looks_like_a_name(text: str) -> bool:
    """Whether `text` is written only with what place names are written with."""
    return all(
        (char.isalpha() and not unicodedata.combining(char)) or char in _NAME_PUNCTUATION
        for char in unicodedata.normalize("NFC", text)
    )


def _fuzzy_resolution(
    name: str, index: CityIndex, loc: Locale, accept: Callable[[City], bool] | None
) -> Resolution:
    """Forgive a small typo, or else offer the closest names as suggestions."""
    key = fold(name)
    # Between pinyin renderings of Chinese names (or other scripts' transliterations)
    # fuzzy scores measure sound-alike syllables, not typos: Khulna for 奎那那市.
    if len(key) < MIN_FUZZY_LENGTH or not is_latin(name):
        return _NOTHING
    # Typos rarely hit the first letter, so that letter's keys are searched first (~1 ms);
    # the whole pool (~10 ms) only when they hold no good match.
    hits = _fuzzy_hits(key, index.fuzzy_buckets.get(key[0], []), index, accept)
    if not hits or hits[0].score < MATCH_SCORE:
        hits = _fuzzy_hits(key, index.fuzzy_pool, index, accept)
    if not hits:
        return _NOTHING
    best = hits[0]
    if best.score >= MATCH_SCORE and _looks_like_a_name(name):
        if best.country is not None:
            return _country_resolution(best.country, loc)
        floor = max(MATCH_SCORE, best.score - SCORE_WINDOW)
        close = [city for hit in hits if hit.score >= floor for city in hit.cities]
        return _decide(close, index, loc)
    suggestions: list[str] = []
    for hit in hits:
        if hit.country is not None:
            label = country_name(hit.country, loc)
        else:
            biggest = max(hit.cities, key=lambda city: (city.curated, city.population))
            label = city_label(biggest, index, loc)
        if label not in suggestions:
            suggestions.append(label)
            if len(suggestions) == MAX_SUGGESTIONS:
                break
    return Resolution(None, (), tuple(suggestions))
