"""A conference-sized schedule.yaml, deterministic: 1,000 talks in 40 rooms over 4 days.

Shared by the tests of the conference-scale commands and by `bench/` (the same file both
times). Talks run in hour slots from 09:00 to 15:45 Prague time, 1–4 June 2026, in rooms
"Room 1" … "Room 40"; each room streams at its own link; 12 tracks; speakers and titles
carry accents ("Zdeněk", "Café") so that searches that ignore them are tested for real.
"""

from __future__ import annotations

import datetime as dt
from functools import cache

from bot.schedule import Schedule, parse_schedule
from bot.timezones import get_zone

ZONE = "Europe/Prague"
FIRST_DAY = dt.date(2026, 6, 1)
DAYS = 4
ROOMS = 40
TALKS = 1000
SLOTS = tuple(range(9, 16))  # 7 hour slots a day: 09:00 … 15:00, each 45 minutes long
TRACKS = (
    "Security",
    "Data Science",
    "Cloud Native",
    "Web",
    "Python Core",
    "Education",
    "Hardware",
    "Privacy",
    "DevOps",
    "Design",
    "Community",
    "Science",
)
TOPICS = (
    "Zero-trust networks",
    "Café-scale analytics",
    "Type hints in practice",
    "Async all the way down",
    "Teaching with notebooks",
    "Rust for Pythonistas",
    "Observability on a budget",
    "Accessible design systems",
    "Privacy by default",
    "Kubernetes without tears",
    "Packaging in 2026",
    "Open data for cities",
    "Fuzzing parsers",
    "Résumé of a migration",
    "GPU kernels from Python",
    "Community health metrics",
)
SPEAKERS = (
    "Zdeněk Hřib",
    "José Álvarez",
    "Ana Müller",
    "Søren Kierkegaard",
    "Łucja Nowak",
    "Chen Wei",
    "Ayşe Yılmaz",
    "Nguyễn Văn An",
    "Marie Dubois",
    "Kenji Sato",
    "Olga Ivanova",
    "Priya Raman",
    "Tomás Ó Briain",
    "Hana Novotná",
    "Björn Lindqvist",
    "Amara Okafor",
)
SECURITY_WORD = "Security"


def slot_start(index: int) -> tuple[dt.date, int, int]:
    """Talk `index`'s day, hour and room number: rooms fill a slot, then the next slot."""
    per_day = ROOMS * len(SLOTS)
    day = FIRST_DAY + dt.timedelta(days=index // per_day)
    within = index % per_day
    return day, SLOTS[within // ROOMS], within % ROOMS + 1


def talk_id(index: int) -> str:
    """The id of talk `index`: t0001 … t1000."""
    return f"t{index + 1:04d}"


def conference_yaml(talks: int = TALKS) -> str:
    """The schedule file's text."""
    lines = [
        "event:",
        "  id: pycon-scale",
        "  name: {en: PyCon Scale 2026}",
        "  organizer: {en: The Scale Foundation}",
        f"  timezone: {ZONE}",
        "  languages: [en]",
        "sessions:",
    ]
    for index in range(talks):
        day, hour, room = slot_start(index)
        topic = TOPICS[index % len(TOPICS)]
        track = TRACKS[(room + hour) % len(TRACKS)]
        speaker = SPEAKERS[(index * 5 + hour) % len(SPEAKERS)]
        lines += [
            f"  - id: {talk_id(index)}",
            "    kind: talk",
            f'    title: {{en: "{topic} #{index + 1}"}}',
            f"    date: {day.isoformat()}",
            f'    start: "{hour:02d}:00"',
            f'    end: "{hour:02d}:45"',
            f"    room: Room {room}",
            f"    track: {track}",
            f"    streams: {{en: https://stream.example.org/room-{room}}}",
            "    speakers:",
            f'      - name: "{speaker}"',
            "        role: {en: Speaker}",
            "        city: {en: Prague}",
            "        country: {en: Czechia}",
        ]
    return "\n".join(lines) + "\n"


@cache
def conference(talks: int = TALKS) -> Schedule:
    """The schedule, parsed once per process (it is frozen)."""
    return parse_schedule(conference_yaml(talks), "conference.yaml")


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """An instant of the conference, Prague wall-clock time on its `day` (1–4), as UTC."""
    local = dt.datetime.combine(
        FIRST_DAY + dt.timedelta(days=day - 1), dt.time(hour, minute), get_zone(ZONE)
    )
    return local.astimezone(dt.UTC)
