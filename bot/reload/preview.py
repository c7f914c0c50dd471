"""What putting a schedule in force would announce, and to how many: `check --changes` and
the dashboard's schedule page read the same lines."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.changes import diff, report_line, worth_notifying
from bot.groups import markers_of
from bot.i18n import t
from bot.schedule import Schedule
from bot.store import Store


@dataclass(frozen=True)
class Preview:
    """One line per change (with whom it tells), and the notices it would queue in all."""

    lines: tuple[str, ...]
    total: int

    @property
    def empty(self) -> bool:
        """Whether nothing would be announced."""
        return not self.lines


async def preview_changes(
    store: Store, old: Schedule, new: Schedule, lang: str, now: dt.datetime
) -> Preview:
    """The changes from `old` to `new` as organizers read them, each with its subscribers."""
    lines = []
    total = 0
    for change in diff(old, new):
        line = report_line(change, new, lang)
        if worth_notifying(change, now):
            # Who follows the talk by its track or room hears of it too (old place or new).
            count = await store.chats.count_subscribers(
                session_id=change.session_id, groups=markers_of((change.old, change.new))
            )
            total += count
            line += " " + t("changes.check_told", lang, count=count)
        lines.append(line)
    return Preview(tuple(lines), total)
