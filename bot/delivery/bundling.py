"""Same-minute reminders to one chat as one message: which claimed rows go together, and the
message that lists them.

A viewer following many talks (a track of a conference, say) can have six reminders due at
13:50 for six talks at 14:00 in six rooms. The scheduler writes one ledger row per reminder
and chat as ever (so re-planning and re-firing stay idempotent, row by row); the engine
claims a chat's rows of one minute together and sends them as one message listing every
talk with its room and link, then settles every row with that one outcome.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from bot.constants import EVERY_LANGUAGE, DeliveryKind
from bot.i18n import t
from bot.messages import Message
from bot.schedule import Session
from bot.store import Claimed

# As a single reminder words it: within 30 s of the start, a talk is live.
LIVE_MARGIN = dt.timedelta(seconds=30)


def bundles(rows: Sequence[Claimed]) -> list[list[Claimed]]:
    """The claimed rows in sending order, a chat's reminders due in one minute together.

    Announcement channels (every language at once) keep one message per reminder: theirs is
    already one message per talk for a whole audience.
    """
    out: list[list[Claimed]] = []
    together: dict[tuple[int, object], list[Claimed]] = {}
    for row in rows:
        if row.kind != DeliveryKind.REMINDER or row.chat.language == EVERY_LANGUAGE:
            out.append([row])
            continue
        key = (row.chat.pk, row.due_at.replace(second=0, microsecond=0))
        found = together.get(key)
        if found is None:
            together[key] = found = []
            out.append(found)
        found.append(row)
    return out


def digest(
    items: Sequence[tuple[Session | None, Message]], lang: str, now: dt.datetime
) -> Message:
    """One message listing several reminders: each talk's headline, room and link; its title
    says "live now" when every talk in it has begun (the reminders of their start)."""
    lines: list[str] = []
    for session, message in items:
        if lines:
            lines.append("")
        lines.append(t("scale.digest_item", lang, headline=message.title or ""))
        if session is not None and session.room:
            lines.append(t("scale.digest_room", lang, room=session.room))
        if message.links:
            lines.extend(
                t("scale.digest_line", lang, line=link.as_text()) for link in message.links
            )
        else:
            # The reminder's own lines: when it is, and the link (or that it is to come).
            lines.extend(
                t("scale.digest_line", lang, line=line) for line in message.text.split("\n")[-1:]
            )
    live = all(
        s is not None and s.start is not None and now >= s.start - LIVE_MARGIN for s, _ in items
    )
    key = "scale.digest_live_title" if live else "scale.digest_title"
    return Message(
        "\n".join(lines),
        title=t(key, lang, count=len(items)),
        silent=all(m.silent for _, m in items),
    )
