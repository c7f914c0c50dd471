"""Reloading the schedule while the worker runs: on a file change, SIGHUP or /reload."""

from bot.reload.reloader import (
    Reloader,
    ReloadResult,
    ScheduleInForce,
    ScheduleTransform,
    shift_by,
)
from bot.reload.watch import ScheduleWatcher

__all__ = [
    "ReloadResult",
    "Reloader",
    "ScheduleInForce",
    "ScheduleTransform",
    "ScheduleWatcher",
    "shift_by",
]
