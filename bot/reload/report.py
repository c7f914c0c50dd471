"""What organizers read about a reload: the errors that kept a file out, or what it changed."""

from __future__ import annotations

from collections.abc import Iterable

from bot.changes import Change, report_line
from bot.i18n import t
from bot.schedule import Problem, Schedule

MAX_LISTED = 20  # problems or changes listed in one message; the rest are counted


def _listed(lines: Iterable[str], lang: str) -> list[str]:
    items = list(lines)
    if len(items) > MAX_LISTED:
        more = len(items) - MAX_LISTED
        items = [*items[:MAX_LISTED], t("changes.report_more", lang, count=more)]
    return items


def errors_text(source: str, problems: Iterable[Problem], lang: str) -> str:
    """The errors that kept a file out, each as `file:line: field: what is wrong`."""
    found = list(problems)
    head = t("changes.report_errors", lang, file=source, count=len(found))
    return "\n".join([head, *_listed((str(p) for p in found), lang)])


def changes_text(
    source: str,
    changes: Iterable[Change],
    notices: int,
    schedule: Schedule,
    lang: str,
    *,
    title: str = "changes.report_title",
) -> str:
    """What a reload changed, one line per change, and how many notices went out."""
    found = list(changes)
    queued = t("changes.notices_queued", lang, count=notices)
    head = t(title, lang, file=source, count=len(found), notices=queued)
    return "\n".join([head, *_listed((report_line(c, schedule, lang) for c in found), lang)])
