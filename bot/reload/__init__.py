"""Reloading the schedule while the worker runs: on a file change, SIGHUP or /reload."""

from bot.reload.fetch import FetchError, UrlFetcher, is_url, shown_url
from bot.reload.poll import PollOutcome, SourcePoller, SourceStatus, parse_fetched
from bot.reload.reloader import (
    Reloader,
    ReloadResult,
    ScheduleInForce,
    ScheduleTransform,
    shift_by,
)
from bot.reload.watch import ScheduleWatcher

__all__ = [
    "FetchError",
    "PollOutcome",
    "ReloadResult",
    "Reloader",
    "ScheduleInForce",
    "ScheduleTransform",
    "ScheduleWatcher",
    "SourcePoller",
    "SourceStatus",
    "UrlFetcher",
    "is_url",
    "parse_fetched",
    "shift_by",
    "shown_url",
]
