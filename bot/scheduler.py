"""APScheduler wiring: one job per reminder instant, rebuilt from schedule and database."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger

from bot.config import Reminders
from bot.constants import ALL_SESSIONS
from bot.errors import brief
from bot.groups import session_markers
from bot.planner import Planned, Prefs, job_session_due, parse_clock, plan
from bot.programme import programme
from bot.schedule import Schedule
from bot.store import Store

log = logging.getLogger(__name__)

Profile = tuple[str | None, str, str, tuple[int, ...] | None]  # zone, quiet start/end, offsets
QuietKey = tuple[str, str | None, str, str]  # session, zone, quiet start/end
FIRED = "fired"  # platform_refs kind that remembers which jobs ran, across restarts
WRITTEN = "written"  # platform_refs kind: where a chunked write resumes (the next chat pk)


def instant_job_id(due: dt.datetime) -> str:
    """The APScheduler job of every reminder group due at `due`."""
    return f"due:{due.isoformat()}"


class ReminderScheduler:
    """Plans reminder groups, keeps one APScheduler job per instant they fall due, and fires
    them.

    A group is one `Planned` reminder fired for every chat it fits: each chat whose reminder
    for that session and offset is due at that instant. A conference has dozens of talks
    starting at once: one job per instant (not per group) fires them all in one
    transaction, and keeps a thousand talks' planning to a hundred jobs.
    """

    def __init__(
        self,
        store: Store,
        settings: Reminders,
        schedule: Callable[[], Schedule],
        clock: Callable[[], dt.datetime],
        on_enqueued: Callable[[], None],
    ) -> None:
        self.store = store
        self.settings = settings
        self.schedule = schedule
        self.clock = clock
        self.on_enqueued = on_enqueued
        # Misfire grace None: a job that is late (the loop was busy, the machine slept) still
        # runs; the job itself refuses to remind of a session that is over. Coalesce: one
        # run, however many were missed. APScheduler's default grace of 1 s drops such jobs.
        self.aps = AsyncIOScheduler(
            timezone=dt.UTC,
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )
        self._groups: dict[str, Planned] = {}
        self._fired: set[str] = set()  # groups fired since the last re-plan read them
        self._quiet: dict[str, list[Profile]] = {}  # quiet-hours profiles by session, cached
        self._due: list[Planned] = []
        self._replan_lock = asyncio.Lock()
        self._fire_lock = asyncio.Lock()
        # Groups that came due but whose ledger rows the database refused: written later.
        self._owed: dict[str, Planned] = {}
        self._retrier: asyncio.Task[None] | None = None
        self._background = False  # retries run on their own only in a started scheduler

    async def start(self) -> None:
        """Plan, catch up on what came due while the worker was down, start the jobs."""
        self._background = True
        await self.replan()
        self.aps.start()

    def shutdown(self) -> None:
        """Stop running jobs (pending ledger rows stay for the next start).

        Groups still owed are not lost: never marked fired, the next start finds them due.
        """
        self._background = False
        if self._retrier is not None:
            self._retrier.cancel()
        if self.aps.running:
            self.aps.shutdown(wait=False)

    def _quiet_prefs(self, schedule: Schedule, session_id: str) -> list[tuple[Prefs, Profile]]:
        """Planning preferences of the session's subscribers with quiet hours (cached)."""
        default = self.settings.default_offsets
        found = []
        # Subscribers of the session's track or room plan alike (their markers are keys).
        # (The programme's index finds the talk without a walk over a thousand of them.)
        talk = programme(schedule).session(session_id)
        keys = (session_id, ALL_SESSIONS, *session_markers(talk))
        # One chat may follow the talk several ways: plan each profile once.
        profiles = dict.fromkeys(p for key in keys for p in self._quiet.get(key, ()))
        for profile in profiles:
            zone, begin, end, offsets = profile
            prefs = Prefs(
                zone or schedule.event.timezone,
                default if offsets is None else offsets,
                (parse_clock(begin), parse_clock(end)),
            )
            found.append((prefs, profile))
        return found

    async def _profiles(self, schedule: Schedule) -> list[Prefs]:
        """Every distinct set of planning preferences among the subscribers."""
        default = self.settings.default_offsets
        offsets_in_use = await self.store.chats.offsets_in_use()
        # Chats without quiet hours are planned at the nominal instant of each offset.
        plain = {
            o for offsets in offsets_in_use for o in (default if offsets is None else offsets)
        }
        profiles = [Prefs(schedule.event.timezone, tuple(sorted(plain, reverse=True)))]
        self._quiet = await self.store.chats.quiet_profiles_by_session()
        for session_id in schedule.session_ids():
            profiles.extend(prefs for prefs, _ in self._quiet_prefs(schedule, session_id))
        return profiles

    async def plan_groups(self, now: dt.datetime) -> dict[str, Planned]:
        """The reminder groups worth running at `now`, by job id."""
        schedule = self.schedule()
        groups: dict[str, Planned] = {}
        for prefs in await self._profiles(schedule):
            for p in plan(schedule, prefs, now):
                groups[p.job_id] = p
        return groups

    async def replan(self) -> None:
        """Rebuild the jobs from the schedule and the database; run the overdue ones now."""
        async with self._replan_lock:
            now = self.clock()
            groups = await self.plan_groups(now)
            fired = await self.store.refs.all("scheduler", FIRED)
            overdue = []
            instants: dict[str, dt.datetime] = {}
            for job_id, group in groups.items():
                if job_id in fired:
                    continue
                if group.due <= now:
                    overdue.append(group)
                else:
                    instants.setdefault(instant_job_id(group.due), group.due)
            # Jobs of instants still wanted stay as they are: a re-plan touches only what
            # changed (a thousand talks' jobs are not rebuilt for each /subscribe).
            existing = set()
            for job in self.aps.get_jobs():
                if job.id in instants:
                    existing.add(job.id)
                else:
                    job.remove()
            for job_id, due in instants.items():
                if job_id not in existing:
                    self.aps.add_job(
                        self._job,
                        DateTrigger(due, timezone=dt.UTC),
                        args=(due,),
                        id=job_id,
                        replace_existing=True,
                    )
            self._groups = groups
            self._fired = set(fired)
        await self._fire_or_owe(overdue)

    def next_jobs(self) -> list[Planned]:
        """Every planned reminder still to fire, soonest first."""
        return [g for g in sorted(self._groups.values()) if g.due > self.clock()]

    async def run_due(self, now: dt.datetime) -> int:
        """Fire every group due at `now` that has not fired (tests drive time this way).

        As the jobs do: what the database refuses is owed, and fired at the next call.
        """
        fired = await self.store.refs.all("scheduler", FIRED)
        candidates = {**self._groups, **self._owed}.values()
        due = [g for g in candidates if g.due <= now and g.job_id not in fired]
        await self._fire_or_owe(due)
        return len(due)

    async def _job(self, due: dt.datetime) -> None:
        """An APScheduler job: queue the groups due at `due` that have not fired; jobs that
        run together are written together."""
        self._due.extend(
            g for g in self._groups.values() if g.due == due and g.job_id not in self._fired
        )
        await asyncio.sleep(0)  # let the other jobs of this instant queue theirs
        if self._due:
            batch, self._due = self._due, []
            await self._fire_or_owe(batch)

    async def _fire_or_owe(self, groups: list[Planned]) -> int:
        """Fire the groups; if their rows cannot be written, owe them and retry (never raises).

        A job runs once: were its failure to propagate, APScheduler would log it and the
        reminder would be lost (never marked fired, but no job left to fire it).
        """
        try:
            added = await self.fire_many(groups, unless_fired=True)
        except Exception as exc:
            self._owed.update((g.job_id, g) for g in groups)
            if not self._background:
                log.warning(
                    "the database refused the ledger rows of %d reminder group(s) (%s): "
                    "retrying at the next due check",
                    len(groups),
                    brief(exc),
                )
            elif self._retrier is None or self._retrier.done():
                self._retrier = asyncio.create_task(self._retry_owed(exc), name="fire-retry")
            # else: the retry under way takes them along, and logs for them.
            return 0
        for group in groups:
            self._owed.pop(group.job_id, None)
        return added

    async def _retry_owed(self, error: Exception) -> None:
        """Fire the owed groups after each configured wait (the last repeats) until written.

        One log line per retry; a group that a re-plan wrote meanwhile is not written twice
        (and were it, the ledger's unique (chat, kind, ref) would keep one row).
        """
        waits = self.settings.write_retry_seconds
        retry = 0
        while self._owed:
            wait = waits[min(retry, len(waits) - 1)]
            retry += 1
            log.warning(
                "the database refused the ledger rows of %d reminder group(s) (%s): "
                "retry %d in %.1f s",
                len(self._owed),
                brief(error),
                retry,
                wait,
            )
            await asyncio.sleep(wait)
            try:
                fired = await self.store.refs.all("scheduler", FIRED)
                for job_id in fired.keys() & self._owed.keys():
                    del self._owed[job_id]
                groups = list(self._owed.values())
                await self.fire_many(groups)
            except Exception as exc:
                error = exc
                continue
            for group in groups:
                self._owed.pop(group.job_id, None)
            log.info("reminders the database had refused are written (retry %d)", retry)

    async def fire(self, group: Planned) -> int:
        """Fire one group (see `fire_many`)."""
        return await self.fire_many([group])

    async def fire_many(self, groups: list[Planned], *, unless_fired: bool = False) -> int:
        """Write the groups' audiences into the ledger as pending rows, then wake the engine.

        A small audience (chat pks spanning less than `write_chunk`) is written in one
        transaction with every group due together; a large one in chunks of chat pks, each
        committed on its own and the engine woken after the first, so the first messages go
        out while the rest is written. A group whose session is over, moved or gone writes
        nothing; every group is remembered as fired (after its last chunk) so that a restart
        does not repeat it, and one interrupted between chunks resumes after the last one.
        `unless_fired`: leave out groups fired meanwhile (a re-plan that saw a group due while
        its large audience was still being written waits here, then has nothing to do).
        """
        if not groups:
            return 0
        async with self._fire_lock:
            # Read once: it filters (`unless_fired`) and tells which reminders have rows.
            fired = await self.store.refs.all("scheduler", FIRED)
            if unless_fired:
                groups = [g for g in groups if g.job_id not in fired]
                if not groups:
                    return 0
            now = self.clock()
            schedule = self.schedule()
            live = [g for g in sorted(groups) if self._live(g, schedule, now)]
            bounds = await self.store.chats.pk_bounds()
            size = self.settings.write_chunk
            # Where an interrupted chunked write resumes, by job id (usually none).
            written = await self.store.refs.all("scheduler", WRITTEN)
            supersede = await self._superseding(live, now, [*fired, *written])
            if bounds is None or bounds[1] - bounds[0] < size or not live:
                async with self.store.transaction():
                    added = await self._write(live, schedule, now, None, {}, supersede)
                    await self._mark_fired(groups, now, written)
            else:
                added = await self._write_in_chunks(
                    live, schedule, now, bounds, size, written, supersede
                )
                async with self.store.transaction():
                    await self._mark_fired(groups, now, written, chunked=True)
        self._fired.update(g.job_id for g in groups)
        late = max((now - g.due).total_seconds() for g in groups)
        log.info(
            "%d reminder group(s) fired, %d recipients queued%s",
            len(groups),
            added,
            f" (up to {late:.0f} s late)" if late > 1 else "",
        )
        if added:
            self.on_enqueued()
        return added

    async def _write_in_chunks(
        self,
        groups: list[Planned],
        schedule: Schedule,
        now: dt.datetime,
        bounds: tuple[int, int],
        size: int,
        written: dict[str, str],
        supersede: set[str],
    ) -> int:
        """The groups' rows, one transaction per span of `size` chat pks; returns the count.

        On PostgreSQL `write_parallel` spans are written at once, each on its own
        connection. A chunk's transaction records where the groups' writing resumes, over
        the spans committed without a gap: a re-fire (after a crash, a refused write, a
        re-plan) skips those, and writes again any span committed beyond a gap, where the
        ledger's unique (chat, kind, ref) keeps it from doubling anyone.
        """
        resume = {g.job_id: int(written.get(g.job_id, bounds[0])) for g in groups}
        spans = [
            (low, low + size, todo)
            for low in range(bounds[0], bounds[1] + 1, size)
            if (todo := [g for g in groups if resume[g.job_id] < low + size])
        ]
        parallel = self.settings.write_parallel if self.store.dialect == "postgresql" else 1
        profiles: dict[QuietKey, list[int]] = {}
        committed: set[int] = set()
        gapless = 0  # spans[:gapless] are all committed
        queue = iter(range(len(spans)))  # shared by the writers: each span is taken once
        added = 0
        woken = False

        async def write(index: int) -> int:
            low, high, todo = spans[index]
            async with self.store.transaction():
                count = await self._write(todo, schedule, now, (low, high), profiles, supersede)
                if gapless == index:
                    reach = index + 1
                    while reach in committed:
                        reach += 1
                    # Groups are in every span after their first: the last one has them all.
                    _, mark, reached = spans[reach - 1]
                    for group in reached:
                        await self.store.refs.set(
                            "scheduler", WRITTEN, group.job_id, str(mark), now=now
                        )
            return count

        async def writer(*, until_woken: bool = False) -> None:
            nonlocal gapless, added, woken
            for index in queue:
                count = await write(index)
                committed.add(index)
                while gapless in committed:
                    gapless += 1
                if count:
                    # Committed: the engine starts on the first rows while the rest is
                    # written, and its claims look for each chunk's new audience parts.
                    self.on_enqueued()
                    woken = True
                await self.chunk_written(spans[index][0], spans[index][1])
                added += count
                if until_woken and woken:
                    return

        # One writer until the engine has rows to send: a second one beside the first chunk
        # delayed the first message of a million (0.25 s alone, 0.77 s beside; bench million).
        await writer(until_woken=True)
        if parallel == 1:
            await writer()
            return added
        try:
            # A failed writer cancels the other (its transaction rolls back): the group is
            # owed and written again, from the bookmark, as after a crash.
            async with asyncio.TaskGroup() as writers:
                for _ in range(min(parallel, len(spans))):
                    writers.create_task(writer())
        except BaseExceptionGroup as failed:
            raise failed.exceptions[0] from None
        return added

    async def chunk_written(self, low: int, high: int) -> None:
        """Called after each committed chunk of chat pks [low, high) (a seam for tests)."""

    async def _write(
        self,
        groups: list[Planned],
        schedule: Schedule,
        now: dt.datetime,
        pk_range: tuple[int, int] | None,
        profiles: dict[QuietKey, list[int]],
        supersede: set[str],
    ) -> int:
        """The groups' rows (of the chats in `pk_range`), then the superseded ones expired
        (in the sessions of `supersede`: the others have no reminder to supersede)."""
        added = 0
        superseding = sorted({g.session_id for g in groups} & supersede)
        for session_id in superseding:
            # Rows, not parts, on both sides: expire_superseded compares rows.
            await self.store.ledger.rows_for_session(session_id, pk_range, now=now)
        for group in groups:
            compact = group.session_id not in supersede
            added += await self._enqueue(group, schedule, now, pk_range, profiles, compact)
        for session_id in superseding:
            await self.store.ledger.expire_superseded(session_id, now=now, pk_range=pk_range)
        return added

    async def _superseding(
        self, groups: list[Planned], now: dt.datetime, before: list[str]
    ) -> set[str]:
        """The sessions of `groups` where a reminder may supersede another: one of the rows
        written now, or one written before and still pending.

        Superseding takes two reminders of a session due by `now` at different instants.
        The instants that have rows are known: the groups' own, and those of the groups
        fired or being written before (`before`, their job ids); the rows before are pending only
        when the ledger says so. Without this check, each chunk of a million-chat fan-out
        paid an UPDATE that read its 25,000 new rows for nothing (3.0 of 13.3 s).
        """
        dues: dict[str, set[dt.datetime]] = {}
        for group in groups:
            dues.setdefault(group.session_id, set()).add(group.due)
        earlier: dict[str, set[dt.datetime]] = {}
        for job_id in before:
            named = job_session_due(job_id)
            if named is not None and named[0] in dues and named[1] <= now:
                earlier.setdefault(named[0], set()).add(named[1])
        out: set[str] = set()
        for session_id, own in dues.items():
            others = earlier.get(session_id, set()) - own
            if len(own) > 1 or any(due > min(own) for due in others):
                out.add(session_id)  # rows written now may be superseded at once
            elif others and await self.store.ledger.pending_reminder_before(session_id, max(own)):
                out.add(session_id)
        return out

    async def _mark_fired(
        self,
        groups: list[Planned],
        now: dt.datetime,
        written: dict[str, str],
        *,
        chunked: bool = False,
    ) -> None:
        """Remember the groups as fired; their chunk bookmarks are no longer needed."""
        for group in groups:
            await self.store.refs.set("scheduler", FIRED, group.job_id, now.isoformat(), now=now)
            if chunked or group.job_id in written:
                await self.store.refs.delete("scheduler", WRITTEN, group.job_id)

    @staticmethod
    def _live(group: Planned, schedule: Schedule, now: dt.datetime) -> bool:
        """Whether the group's session is still on as planned (else it writes nothing)."""
        session = schedule.session(group.session_id)
        if session is None or session.start != group.start or session.is_over(now):
            log.info("skipping %s: the session is over, moved or gone", group.job_id)
            return False
        return True

    async def _enqueue(
        self,
        group: Planned,
        schedule: Schedule,
        now: dt.datetime,
        pk_range: tuple[int, int] | None,
        profiles: dict[QuietKey, list[int]],
        compact: bool,
    ) -> int:
        session = schedule.session(group.session_id)
        # Who follows the talk's track or room gets it too.
        groups = session_markers(session) if session is not None else ()

        async def enqueue(*, chat_pks: list[int] | None = None, plain: bool = False) -> int:
            return await self.store.ledger.enqueue_session_audience(
                session_id=group.session_id,
                kind="reminder",
                ref=group.ref,
                due_at=group.due,
                offset_minutes=group.offset,
                default_offsets=self.settings.default_offsets,
                now=now,
                only_without_quiet=plain,
                chat_pks=chat_pks,
                groups=groups,
                pk_range=pk_range,
                compact=compact,
            )

        # Chats without quiet hours get every reminder at its nominal instant.
        added = await enqueue(plain=True) if group.due == group.nominal else 0
        for prefs, profile in self._quiet_prefs(schedule, group.session_id):
            planned = plan(schedule, prefs, now, session_ids=[group.session_id])
            if any(p.offset == group.offset and p.due == group.due for p in planned):
                zone, begin, end, _ = profile
                key = (group.session_id, zone, begin, end)
                if key not in profiles:  # looked up once per fire, not once per chunk
                    profiles[key] = await self.store.chats.with_profile(*key, groups)
                pks = profiles[key]
                if pk_range is not None:
                    pks = [pk for pk in pks if pk_range[0] <= pk < pk_range[1]]
                if pks:
                    added += await enqueue(chat_pks=pks)
        return added
