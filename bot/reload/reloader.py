"""Putting a new schedule in force while the worker runs (on a file change, SIGHUP or /reload).

A reload either puts the whole new file in force or changes nothing: a file with errors
leaves the running schedule alone and tells the organizers every error with its line. A good
file is compared with the running schedule; the subscribers of each changed session get one
notice (the ledger ref names what is new, so a change notifies once and a later one again),
their reminders are re-planned, and the organizers get a report.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bot.broadcasts import notify_organizers
from bot.changes import CANCELLED, Change, diff, notice_ref, worth_notifying
from bot.config import Settings
from bot.constants import DeliveryKind
from bot.groups import markers_of
from bot.i18n import languages, t
from bot.reload.fingerprint import Fingerprint, fingerprint
from bot.reload.report import MAX_LISTED, changes_text, errors_text
from bot.schedule import (
    Problem,
    Schedule,
    ScheduleError,
    Session,
    load_source,
    parse_source,
)
from bot.store import Store

log = logging.getLogger(__name__)

# What a reload applies to a freshly loaded file before it is used: `--rehearse` shifts it.
ScheduleTransform = Callable[[Schedule], Schedule]

WORKER = "worker"  # the audit platform of reloads nobody typed (file watcher, SIGHUP)

# (platform, chat id) of the organizer who typed /reload; None for the reloads nobody typed.
Asker = tuple[str, str] | None


def shift_by(delta: dt.timedelta) -> ScheduleTransform:
    """The transform of a rehearsal: every schedule moved by the same `delta`."""

    def shifted(schedule: Schedule) -> Schedule:
        return schedule.shifted(delta)

    return shifted


@dataclass(frozen=True)
class ReloadResult:
    """What one reload did."""

    source: str
    problems: tuple[Problem, ...] = ()  # non-empty: nothing changed
    changes: tuple[Change, ...] = ()
    replaced: bool = False  # the schedule in force was replaced (even by cosmetic edits)
    notices: int = 0  # ledger rows queued for subscribers

    @property
    def ok(self) -> bool:
        """Whether the file was good and is now in force."""
        return not self.problems

    def summary(self, lang: str, schedule: Schedule) -> str:
        """The result as organizers read it, in `lang`."""
        if self.problems:
            return errors_text(self.source, self.problems, lang)
        if not self.changes:
            key = "changes.report_cosmetic" if self.replaced else "changes.report_none"
            return t(key, lang, file=self.source)
        return changes_text(self.source, self.changes, self.notices, schedule, lang)


def _short_hash(parts: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


class ScheduleInForce(Protocol):
    """The schedule in force, and how to replace it (the worker)."""

    def current_schedule(self) -> Schedule:
        """The schedule in force."""
        ...

    async def replace_schedule(self, schedule: Schedule) -> None:
        """Put `schedule` in force: re-plan reminders, tell the platforms."""
        ...


class Reloader:
    """Puts a schedule in force in place of another: notices, the organizers' report, audit."""

    def __init__(
        self,
        in_force: ScheduleInForce,
        store: Store,
        settings: Settings,
        clock: Callable[[], dt.datetime],
        wake: Callable[[], None],
        *,
        path: Path | None = None,
        transform: ScheduleTransform | None = None,
    ) -> None:
        self.in_force = in_force
        self.store = store
        self.settings = settings
        self.clock = clock
        self.wake = wake  # new ledger rows: tell the delivery engine
        # The file reloads read (None: no watching); a reload applies the same transform
        # as the start did (`--rehearse` passes shift_by(delta)).
        self.schedule_path = path
        self.transform = transform
        # Sessions removed by a reload, for the title in their cancellation notice.
        self.removed: dict[str, Session] = {}
        # The version of the schedule file last read, so that a watcher does not load it twice.
        self.seen: Fingerprint = fingerprint(path) if path is not None else None
        self._lock = asyncio.Lock()
        self.reloaded = asyncio.Event()  # set after every reload, good or refused
        # The schedule revision in force (numbers the notices' refs) and its recorded text.
        self.revision = 0
        self._recorded = ""

    def path(self) -> Path | None:
        """The file reloads read: the worker's schedule path, else where the schedule came from."""
        if self.schedule_path is not None:
            return self.schedule_path
        source = Path(self.in_force.current_schedule().source)
        return source if source.is_file() else None

    async def reload(
        self,
        path: str | Path | None = None,
        *,
        actor: str,
        platform: str = WORKER,
        now: dt.datetime | None = None,
    ) -> ReloadResult:
        """Load the file; put it in force and notify, or keep the old one and report errors."""
        # Who typed /reload reads the summary as the reply (a private chat's id is its user's).
        asker = (platform, actor) if platform != WORKER else None
        async with self._lock:  # a watcher, a SIGHUP and a /reload at once: one at a time
            result = await self._reload(path, actor=actor, asker=asker, now=now)
        self.reloaded.set()
        return result

    async def _reload(
        self, path: str | Path | None, *, actor: str, asker: Asker, now: dt.datetime | None
    ) -> ReloadResult:
        now = now or self.clock()
        where = Path(path) if path is not None else self.path()
        if where is None:
            raise ValueError("no schedule file to reload: give the worker a schedule_path")
        version = fingerprint(where)
        if where == self.schedule_path:
            self.seen = version  # the watcher must not load this version a second time
        try:
            loaded = load_source(where, self.settings.schedule_overlay or None)
        except ScheduleError as exc:
            key = version[2][:16] if version else "unreadable"
            return await self._refuse(str(where), exc.problems, key, actor, asker, now)
        return await self._put_in_force(loaded, str(where), actor=actor, asker=asker, now=now)

    async def reload_content(
        self,
        data: bytes,
        origin: str,
        parse: Callable[[bytes, str], Schedule],
        *,
        actor: str,
        platform: str = WORKER,
        now: dt.datetime | None = None,
    ) -> ReloadResult:
        """Put a schedule fetched from `origin` in force, as a file's reload would; content
        that does not parse keeps the schedule in force and is reported once per version."""
        now = now or self.clock()
        asker = (platform, actor) if platform != WORKER else None
        async with self._lock:
            try:
                loaded = parse(data, origin)
            except ScheduleError as exc:
                key = hashlib.sha256(data).hexdigest()[:16]
                result = await self._refuse(origin, exc.problems, key, actor, asker, now)
            else:
                result = await self._put_in_force(
                    loaded, origin, actor=actor, asker=asker, now=now
                )
        self.reloaded.set()
        return result

    async def _put_in_force(
        self, loaded: Schedule, source: str, *, actor: str, asker: Asker, now: dt.datetime
    ) -> ReloadResult:
        new = self.transform(loaded) if self.transform is not None else loaded
        return await self._apply(
            self.in_force.current_schedule(),
            new,
            source=source,
            actor=actor,
            asker=asker,
            now=now,
        )

    async def catch_up(self, now: dt.datetime | None = None) -> ReloadResult | None:
        """At start: announce what changed in the file since the schedule last in force.

        The store keeps every schedule the worker put in force; edits made while the worker
        was down reach subscribers and organizers just as a reload's would.
        """
        current = self.in_force.current_schedule()
        if not self._keeps(current):
            return None  # a rehearsal's shifted times are not news; nothing to compare with
        now = now or self.clock()
        last = await self.store.schedules.last(current.event.id)
        if last is None:  # the first start with this event: what it says is not a change
            await self._record(current, current.source, now)
            return None
        self.revision, self._recorded = last
        if self._recorded == current.text:
            # Cancellation notices still queued name their session from the version before.
            before = await self.store.schedules.last(current.event.id, before=self.revision)
            old = self._readable(before[1] if before else None, current.source)
            if old is not None:
                self.removed.update((s.id, s) for s in old.sessions if not current.session(s.id))
            return None
        old = self._readable(self._recorded, current.source)
        if old is None:
            await self._record(current, current.source, now)
            return None
        async with self._lock:
            result = await self._apply(
                old, current, source=current.source, actor="start", asker=None, now=now
            )
        self.reloaded.set()
        return result

    @staticmethod
    def _readable(text: str | None, source: str) -> Schedule | None:
        """A recorded schedule, parsed; None if there is none or this release cannot read it."""
        if not text:
            return None
        try:
            return parse_source(text, origin=f"{source} (as recorded before this start)")
        except ScheduleError as exc:  # written by an older release that read it differently
            log.warning("a schedule recorded before this start cannot be read: %s", exc)
            return None

    async def _apply(
        self,
        old: Schedule,
        new: Schedule,
        *,
        source: str,
        actor: str,
        asker: Asker,
        now: dt.datetime,
    ) -> ReloadResult:
        """Put `new` in force in place of `old`: notices, the organizers' report, the audit."""
        changes = diff(old, new)
        replaced = new != old
        if replaced:
            for change in changes:
                if change.kind == CANCELLED and change.old is not None:
                    self.removed[change.session_id] = change.old
                else:
                    self.removed.pop(change.session_id, None)
            if new is not self.in_force.current_schedule():
                # First: a notice drained from now on must already see the new schedule.
                await self.in_force.replace_schedule(new)
        notices = await self._enqueue_notices(changes, new, source, now)
        if notices:
            self.wake()
        result = ReloadResult(source, (), tuple(changes), replaced, notices)
        if changes:
            # Unique per change set: rehearsals number revisions from 0 in every process.
            key = "schedule-changes:" + _short_hash(
                [new.event.id, str(self.revision)]
                + [
                    notice_ref(c, self.revision) if c.notifies else f"{c.session_id}:{c.kind}"
                    for c in changes
                ]
            )
            title = "changes.report_at_start" if actor == "start" else "changes.report_title"
            texts = {
                lang: changes_text(result.source, changes, notices, new, lang, title=title)
                for lang in languages()
            }
            await self._tell_organizers(texts, key, now, asker)
        log.info(
            "schedule %s from %s by %s: %d change(s)%s, %d notice(s) queued",
            "checked" if actor == "start" else "reloaded",
            source,
            actor,
            len(changes),
            "" if replaced else " (nothing new)",
            notices,
        )
        await self.store.audit.record(
            platform=(asker[0] if asker else WORKER)[:16],
            actor=actor[:128],
            action="schedule_reload",
            detail={
                "source": source,
                "revision": self.revision,
                "changes": [f"{c.session_id}:{c.kind}" for c in changes][:MAX_LISTED],
                "notices": notices,
            },
            allowed=True,
            now=now,
        )
        return result

    async def _refuse(
        self,
        where: str,
        problems: tuple[Problem, ...],
        version_key: str,
        actor: str,
        asker: Asker,
        now: dt.datetime,
    ) -> ReloadResult:
        """A file with errors: keep the running schedule, log and report every error."""
        log.error(
            "schedule %s not reloaded (%d error(s)); the running schedule stays in force",
            where,
            len(problems),
        )
        for problem in problems:
            log.error("  %s", problem)
        # One report per broken version of the file, however often it is reloaded.
        key = "schedule-errors:" + version_key
        texts = {lang: errors_text(where, problems, lang) for lang in languages()}
        await self._tell_organizers(texts, key, now, asker)
        await self.store.audit.record(
            platform=(asker[0] if asker else WORKER)[:16],
            actor=actor[:128],
            action="schedule_reload",
            detail={"source": where, "errors": [str(p) for p in problems][:MAX_LISTED]},
            allowed=True,
            now=now,
        )
        return ReloadResult(where, problems)

    async def _enqueue_notices(
        self, changes: list[Change], new: Schedule, source: str, now: dt.datetime
    ) -> int:
        """One notice per subscriber of each changed session, and the schedule's new revision,
        written in one transaction: a crash leaves both undone, and the next start redoes
        them from the schedule recorded before."""
        store = self.store
        keep = self._keeps(new)
        queued = 0
        async with store.transaction():
            if keep:  # the store numbers revisions, whatever this process saw
                self.revision, self._recorded = await store.schedules.last(new.event.id) or (0, "")
            changed = bool(changes) or (keep and new.text != self._recorded)
            revision = self.revision + 1 if changed else self.revision
            for change in changes:
                if not worth_notifying(change, now):
                    continue
                # A cancelled session's subscriptions are still in the store: same query.
                queued += await store.ledger.enqueue_session_audience(
                    session_id=change.session_id,
                    kind=DeliveryKind.NOTICE,
                    ref=notice_ref(change, revision),
                    due_at=now,
                    offset_minutes=None,
                    default_offsets=(),
                    now=now,
                    # The talk's track and room subscribers, before the change and after.
                    groups=markers_of((change.old, change.new)),
                )
            if changed:
                await self._record(new, source, now, revision=revision)
        return queued

    def _keeps(self, schedule: Schedule) -> bool:
        """Whether schedules are recorded: not in rehearsals, and only with their text."""
        return self.transform is None and bool(schedule.text)

    async def _record(
        self, schedule: Schedule, source: str, now: dt.datetime, *, revision: int | None = None
    ) -> None:
        """Make `schedule` the one in force as `revision` (by default the next one)."""
        revision = self.revision + 1 if revision is None else revision
        if self._keeps(schedule):
            await self.store.schedules.save(
                schedule.event.id, revision, schedule.text, source=source, now=now
            )
            self._recorded = schedule.text
        self.revision = revision

    async def tell_organizers(self, texts: dict[str, str], key: str, now: dt.datetime) -> None:
        """Queue a message to every organizer once (`key` makes a repeat a no-op)."""
        await self._tell_organizers(texts, key, now, None)

    async def _tell_organizers(
        self, texts: dict[str, str], key: str, now: dt.datetime, asker: Asker
    ) -> None:
        # The organizer who asked has the summary as the reply already: the report is for the
        # others, and with none there is nobody to tell (not a missing chat worth a warning).
        chats = [chat for chat in self.settings.organizers.private_chats() if chat != asker]
        if asker is not None and not chats:
            return
        try:
            queued = await notify_organizers(self.store, chats, texts, key=key, now=now)
        except Exception:
            # The reload itself stands; the log has the report too.
            log.exception("could not queue the reload report for the organizers")
            return
        if queued:
            self.wake()
