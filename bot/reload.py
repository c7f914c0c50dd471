"""Reloading schedule.yaml while the worker runs: on a file change, SIGHUP or /reload.

A reload either puts the whole new file in force or changes nothing: a file with errors
leaves the running schedule alone and tells the organizers every error with its line. A good
file is compared with the running schedule; the subscribers of each changed session get one
notice (the ledger ref names what is new, so a change notifies once and a later one again),
their reminders are re-planned, and the organizers get a report.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
import signal
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from bot.broadcasts import notify_organizers
from bot.changes import CANCELLED, Change, diff, notice_ref, report_line, worth_notifying
from bot.i18n import languages, t
from bot.messages import Command, Message, Reply
from bot.render import Reader
from bot.schedule import (
    Problem,
    Schedule,
    ScheduleError,
    Session,
    load_schedule,
    parse_schedule,
)

if TYPE_CHECKING:
    from bot.app import Worker

log = logging.getLogger(__name__)

# What a reload applies to a freshly loaded file before it is used: `--rehearse` shifts it.
ScheduleTransform = Callable[[Schedule], Schedule]
# (mtime in ns, size, sha-256 of the content); None: the file cannot be read.
Fingerprint = tuple[int, int, str] | None

WORKER = "worker"  # the audit platform of reloads nobody typed (file watcher, SIGHUP)
MAX_LISTED = 20  # problems or changes listed in one message; the rest are counted


def shift_by(delta: dt.timedelta) -> ScheduleTransform:
    """The transform of a rehearsal: every schedule moved by the same `delta`."""

    def shifted(schedule: Schedule) -> Schedule:
        return schedule.shifted(delta)

    return shifted


def fingerprint(path: Path) -> Fingerprint:
    """What identifies one version of the file; None when it is missing or unreadable."""
    try:
        stat = path.stat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size, digest)


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
    head = t(title, lang, file=source, count=len(found), notices=notices)
    return "\n".join([head, *_listed((report_line(c, schedule, lang) for c in found), lang)])


def _short_hash(parts: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


class Reloader:
    """The worker's schedule reloads: the file watcher, SIGHUP, and what reloads remember."""

    def __init__(self, worker: Worker, *, interval: float = 2.0) -> None:
        self.worker = worker
        self.interval = interval  # seconds between two looks at the file
        # Sessions removed by a reload, for the title in their cancellation notice.
        self.removed: dict[str, Session] = {}
        path = worker.schedule_path
        self.seen: Fingerprint = fingerprint(path) if path is not None else None
        self._pending: Fingerprint = None
        self._lock = asyncio.Lock()
        self._watcher: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._previous_sighup: Callable[[int, FrameType | None], Any] | int | None = None
        self._sighup_installed = False
        self.reloaded = asyncio.Event()  # set after every reload, good or refused
        # The schedule revision in force (numbers the notices' refs) and its recorded text.
        self.revision = 0
        self._recorded = ""

    def path(self) -> Path | None:
        """The file reloads read: the worker's schedule path, else where the schedule came from."""
        if self.worker.schedule_path is not None:
            return self.worker.schedule_path
        source = Path(self.worker.schedule.source)
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
        async with self._lock:  # a watcher, a SIGHUP and a /reload at once: one at a time
            result = await self._reload(path, actor=actor, platform=platform, now=now)
        self.reloaded.set()
        return result

    async def _reload(
        self, path: str | Path | None, *, actor: str, platform: str, now: dt.datetime | None
    ) -> ReloadResult:
        worker = self.worker
        now = now or worker.clock()
        where = Path(path) if path is not None else self.path()
        if where is None:
            raise ValueError("no schedule file to reload: give the worker a schedule_path")
        version = fingerprint(where)
        if where == worker.schedule_path:
            self.seen = version  # the watcher must not load this version a second time
        try:
            loaded = load_schedule(where)
        except ScheduleError as exc:
            return await self._refuse(where, exc.problems, version, actor, platform, now)
        transform = worker.schedule_transform
        new = transform(loaded) if transform is not None else loaded
        return await self._apply(
            worker.schedule, new, source=str(where), actor=actor, platform=platform, now=now
        )

    async def catch_up(self, now: dt.datetime | None = None) -> ReloadResult | None:
        """At start: announce what changed in the file since the schedule last in force.

        The store keeps every schedule the worker put in force; edits made while the worker
        was down reach subscribers and organizers just as a reload's would.
        """
        worker = self.worker
        current = worker.schedule
        if not self._keeps(current):
            return None  # a rehearsal's shifted times are not news; nothing to compare with
        now = now or worker.clock()
        last = await worker.store.schedules.last(current.event.id)
        if last is None:  # the first start with this event: what it says is not a change
            await self._record(current, current.source, now)
            return None
        self.revision, self._recorded = last
        if self._recorded == current.text:
            # Cancellation notices still queued name their session from the version before.
            before = await worker.store.schedules.last(current.event.id, before=self.revision)
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
                old, current, source=current.source, actor="start", platform=WORKER, now=now
            )
        self.reloaded.set()
        return result

    @staticmethod
    def _readable(text: str | None, source: str) -> Schedule | None:
        """A recorded schedule, parsed; None if there is none or this release cannot read it."""
        if not text:
            return None
        try:
            return parse_schedule(text, f"{source} (as recorded before this start)")
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
        platform: str,
        now: dt.datetime,
    ) -> ReloadResult:
        """Put `new` in force in place of `old`: notices, the organizers' report, the audit."""
        worker = self.worker
        changes = diff(old, new)
        replaced = new != old
        if replaced:
            for change in changes:
                if change.kind == CANCELLED and change.old is not None:
                    self.removed[change.session_id] = change.old
                else:
                    self.removed.pop(change.session_id, None)
            if new is not worker.schedule:
                # First: a notice drained from now on must already see the new schedule.
                await worker.replace_schedule(new)
        notices = await self._enqueue_notices(changes, new, source, now)
        if notices:
            worker.delivery.wake()
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
            await self._tell_organizers(texts, key, now)
        log.info(
            "schedule %s from %s by %s: %d change(s)%s, %d notice(s) queued",
            "checked" if actor == "start" else "reloaded",
            source,
            actor,
            len(changes),
            "" if replaced else " (nothing new)",
            notices,
        )
        await worker.store.audit.record(
            platform=platform[:16],
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
        where: Path,
        problems: tuple[Problem, ...],
        version: Fingerprint,
        actor: str,
        platform: str,
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
        key = "schedule-errors:" + (version[2][:16] if version else "unreadable")
        texts = {lang: errors_text(str(where), problems, lang) for lang in languages()}
        await self._tell_organizers(texts, key, now)
        await self.worker.store.audit.record(
            platform=platform[:16],
            actor=actor[:128],
            action="schedule_reload",
            detail={"source": str(where), "errors": [str(p) for p in problems][:MAX_LISTED]},
            allowed=True,
            now=now,
        )
        return ReloadResult(str(where), problems)

    async def _enqueue_notices(
        self, changes: list[Change], new: Schedule, source: str, now: dt.datetime
    ) -> int:
        """One notice per subscriber of each changed session, and the schedule's new revision,
        written in one transaction: a crash leaves both undone, and the next start redoes
        them from the schedule recorded before."""
        store = self.worker.store
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
                    kind="notice",
                    ref=notice_ref(change, revision),
                    due_at=now,
                    offset_minutes=None,
                    default_offsets=(),
                    now=now,
                )
            if changed:
                await self._record(new, source, now, revision=revision)
        return queued

    def _keeps(self, schedule: Schedule) -> bool:
        """Whether schedules are recorded: not in rehearsals, and only with their text."""
        return self.worker.schedule_transform is None and bool(schedule.text)

    async def _record(
        self, schedule: Schedule, source: str, now: dt.datetime, *, revision: int | None = None
    ) -> None:
        """Make `schedule` the one in force as `revision` (by default the next one)."""
        revision = self.revision + 1 if revision is None else revision
        if self._keeps(schedule):
            await self.worker.store.schedules.save(
                schedule.event.id, revision, schedule.text, source=source, now=now
            )
            self._recorded = schedule.text
        self.revision = revision

    async def _tell_organizers(self, texts: dict[str, str], key: str, now: dt.datetime) -> None:
        worker = self.worker
        try:
            queued = await notify_organizers(
                worker.store, worker.settings, texts, key=key, now=now
            )
        except Exception:
            # The reload itself stands; the log has the report too.
            log.exception("could not queue the reload report for the organizers")
            return
        if queued:
            worker.delivery.wake()

    # --- the file watcher ----------------------------------------------------------------

    async def check(self) -> ReloadResult | None:
        """One look at the file: reload a new version once it reads the same twice in a row.

        Editors may write a file in several steps; waiting one more look means a half-written
        file is not reported to the organizers as broken.
        """
        path = self.worker.schedule_path
        if path is None:
            return None
        current = fingerprint(path)
        if current == self.seen:
            self._pending = None
            return None
        if current != self._pending:
            self._pending = current
            return None
        self._pending = None
        return await self.reload(path, actor="file-watcher")

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.check()
            except Exception:
                log.exception("checking %s for changes failed", self.worker.schedule_path)

    def start(self) -> None:
        """Watch the schedule file (when the worker has one) and reload on SIGHUP."""
        self.start_watching()
        self.install_sighup()

    def start_watching(self) -> None:
        """Look at the schedule file every `interval` seconds; nothing without a file."""
        if self.worker.schedule_path is None or self._watcher is not None:
            return
        if self.seen is None:
            self.seen = fingerprint(self.worker.schedule_path)
        self._watcher = asyncio.create_task(self._watch(), name="schedule-watcher")

    async def stop(self) -> None:
        """Stop watching; a reload under way is given a moment to finish."""
        self.remove_sighup()
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None
        if self._tasks:
            _, late = await asyncio.wait(self._tasks, timeout=5)
            for task in late:
                task.cancel()

    # --- SIGHUP ----------------------------------------------------------------------------

    def install_sighup(self) -> bool:
        """Reload on SIGHUP; False where the loop cannot take signals (Windows, other thread)."""
        sighup = getattr(signal, "SIGHUP", None)
        if sighup is None or self._sighup_installed:
            return False
        try:
            previous = signal.getsignal(sighup)
            asyncio.get_running_loop().add_signal_handler(sighup, self._on_sighup)
        except (NotImplementedError, RuntimeError, ValueError) as exc:
            log.info("no SIGHUP reload here: %s", exc)
            return False
        self._previous_sighup = previous
        self._sighup_installed = True
        return True

    def remove_sighup(self) -> None:
        """Give SIGHUP back to whatever handled it before."""
        sighup = getattr(signal, "SIGHUP", None)
        if sighup is None or not self._sighup_installed:
            return
        with contextlib.suppress(RuntimeError, ValueError):
            asyncio.get_running_loop().remove_signal_handler(sighup)
            if self._previous_sighup is not None:
                signal.signal(sighup, self._previous_sighup)
        self._sighup_installed = False

    def _on_sighup(self) -> None:
        log.info("SIGHUP: reloading the schedule")
        self._spawn(self.reload(actor="SIGHUP"))

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(work, name="schedule-reload")
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("reloading the schedule failed", exc_info=task.exception())

    async def wait_idle(self) -> None:
        """Wait for reloads started by a signal (tests use this)."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))


async def reload(
    worker: Worker,
    path: str | Path | None = None,
    *,
    actor: str,
    now: dt.datetime | None = None,
    platform: str = WORKER,
) -> ReloadResult:
    """Reload the worker's schedule from `path` (default: the worker's schedule file)."""
    return await worker.reloader.reload(path, actor=actor, platform=platform, now=now)


async def reload_reply(worker: Worker, cmd: Command, reader: Reader) -> Reply:
    """/reload for a caller already known to be an organizer: reload, then say what happened."""
    result = await reload(worker, actor=cmd.user_id, platform=cmd.platform)
    return Reply.of(Message(result.summary(reader.lang, worker.schedule)))
