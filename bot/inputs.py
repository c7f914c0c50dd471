"""Parsers for what viewers type: reminder offsets and quiet hours."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from babel.lists import format_list

from bot.errors import SummitBotError
from bot.i18n import t
from bot.i18n.formatting import babel_locale, format_duration

_OFFSET_RE = re.compile(r"^(?:(\d{1,3})d)?(?:(\d{1,3})h)?(?:(\d{1,5})m?)?$")
# HH:MM or HHMM, twice, joined by one of the separators people write: "-", "–", "~" or
# "to" (a character class here once let "23:00tttttt07:00" through).
_QUIET_RE = re.compile(r"^(\d{1,2}):?(\d{2})\s*(?:-|–|~|to)\s*(\d{1,2}):?(\d{2})$")
LIVE_WORDS = frozenset({"0", "now", "live", "start", "開播", "開始"})


class InputError(SummitBotError, ValueError):
    """Input a viewer typed that cannot be read; `token` is the part that failed."""

    def __init__(self, reason: str, token: str = "") -> None:
        super().__init__(reason)
        self.reason = reason  # "unreadable", "too_many", "too_far", "empty", "same"
        self.token = token


def parse_offset(token: str) -> int:
    """ "1d", "2h", "30m", "1h30m", "45" (minutes), "0"/"now" → minutes before the start."""
    word = token.strip().lower()
    if word in LIVE_WORDS:
        return 0
    match = _OFFSET_RE.match(word)
    if not word or not match or not any(match.groups()):
        raise InputError("unreadable", token)
    days, hours, minutes = (int(g) if g else 0 for g in match.groups())
    return days * 1440 + hours * 60 + minutes


def parse_offsets(tokens: Sequence[str], *, max_count: int, max_minutes: int) -> tuple[int, ...]:
    """Several offsets, de-duplicated and sorted latest-first; InputError when unusable."""
    words = [w for token in tokens for w in re.split(r"[\s,]+", token) if w]
    if not words:
        raise InputError("empty")
    offsets = sorted({parse_offset(w) for w in words}, reverse=True)
    if len(offsets) > max_count:
        raise InputError("too_many", str(len(offsets)))
    if offsets[0] > max_minutes:
        raise InputError("too_far", str(offsets[0]))
    return tuple(offsets)


def parse_quiet(text: str) -> tuple[dt.time, dt.time]:
    """ "23:00-07:00" → (23:00, 07:00); InputError "unreadable", or "same" for an empty range."""
    match = _QUIET_RE.match(text.strip())
    if not match:
        raise InputError("unreadable", text)
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise InputError("unreadable", text)
    begin, end = dt.time(h1, m1), dt.time(h2, m2)
    if begin == end:
        raise InputError("same", text)
    return begin, end


def describe_offsets(offsets: Sequence[int], lang: str) -> str:
    """ "1 day, 1 hour and 10 minutes before, and when it goes live" in the reader's language."""
    if not offsets:
        return t("remind.off_short", lang)
    parts = [
        t("remind.before", lang, duration=format_duration(dt.timedelta(minutes=m), lang))
        if m
        else t("remind.at_start", lang)
        for m in sorted(offsets, reverse=True)
    ]
    return str(format_list(parts, locale=babel_locale(lang)))


def format_quiet(quiet: tuple[dt.time, dt.time] | None, lang: str) -> str:
    """Quiet hours as "23:00–07:00", or "off"."""
    if quiet is None:
        return t("quiet.off_short", lang)
    return t("session.span", lang, start=f"{quiet[0]:%H:%M}", end=f"{quiet[1]:%H:%M}")
