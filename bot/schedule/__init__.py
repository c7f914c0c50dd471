"""The event's schedule: the frozen model, its problems, and the loaders that build it.

The package's API; its modules each hold one concept: `model` (the data), `problems`
(what is wrong with a file), `yaml_loader` (the strict schedule.yaml loader) and `history`
(how often each session changed over the versions put in force). Loaders of other formats
sit beside `yaml_loader`, each in its own module; `sources` tells the format from the content
and is the one entry point (`parse_source`, `load_source`) everything loads schedules through.
"""

from bot.schedule.history import change_counts
from bot.schedule.model import DEFAULT_LENGTH, MAX_LENGTH, Event, Person, Schedule, Session, Text
from bot.schedule.overlay import Overlay, load_overlay, parse_overlay
from bot.schedule.problems import Problem, ScheduleError
from bot.schedule.sources import Loaded, detect_format, load_report, load_source, parse_source
from bot.schedule.yaml_loader import load_schedule, parse_schedule

__all__ = [
    "DEFAULT_LENGTH",
    "MAX_LENGTH",
    "Event",
    "Loaded",
    "Overlay",
    "Person",
    "Problem",
    "Schedule",
    "ScheduleError",
    "Session",
    "Text",
    "change_counts",
    "detect_format",
    "load_overlay",
    "load_report",
    "load_schedule",
    "load_source",
    "parse_overlay",
    "parse_schedule",
    "parse_source",
]
