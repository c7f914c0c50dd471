"""What a viewer types → a time zone and a place; zone names → tzinfo; wall-clock readings.

The package's API; its modules each hold one concept: `zones` (names, offsets, a zone's
city), `wall_time` (daylight-saving gaps and folds), `folding` (lookup keys for names),
`countries`, `places` (the city index, a point's zone), `zone_names` (abbreviations, zone
names, the places zones are named for) and `resolve` (a viewer's query).
"""

from bot.timezones.places import Place, place_at
from bot.timezones.resolve import Resolution, resolve_timezone
from bot.timezones.wall_time import standard_reading, wall_readings
from bot.timezones.zone_names import warm_up
from bot.timezones.zones import (
    ZONE_NAMES,
    UnknownZone,
    get_zone,
    is_valid_zone,
    short_label,
    zone_city,
)

__all__ = [
    "ZONE_NAMES",
    "Place",
    "Resolution",
    "UnknownZone",
    "get_zone",
    "is_valid_zone",
    "place_at",
    "resolve_timezone",
    "short_label",
    "standard_reading",
    "wall_readings",
    "warm_up",
    "zone_city",
]
