"""APScheduler wiring: one job per reminder instant, rebuilt from schedule and database."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger

from bot.config import Reminders
from bot.planner import Planned, Prefs, parse_clock, plan
from bot.schedule import Schedule
from bot.store import Store

log = logging.getLogger(__name__)

FIRED = "fired"  # platform_refs kind that remembers which jobs ran, across restarts


@dataclass(frozen=True, order=True)
class Group:
    """Every chat whose reminder for one session and offset is due at one instant."""

    due: dt.datetime
    session_id: str
    offset: int
    start: dt.datetime

    @property
    def job_id(self) -> str:
        """Deterministic: the same reminder gets the same id in every process."""
        return f"remind:{self.session_id}:{self.offset}:{int(self.due.timestamp())}"

    @property
    def ref(self) -> str:
        """The ledger reference every row of this group carries."""
        return Planned(self.due, self.session_id, self.offset, self.start).ref

    @property
    def nominal(self) -> dt.datetime:
        """When the reminder is due without quiet hours."""
        return self.start - dt.timedelta(minutes=self.offset)


class ReminderScheduler:
    """Plans reminder groups, keeps one APScheduler job per group, and fires them."""

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
        self._groups: dict[str, Group] = {}
        self._replan_lock = asyncio.Lock()
        self._fire_lock = asyncio.Lock()

    async def start(self) -> None:
        """Plan, catch up on what came due while the worker was down, start the jobs."""
        await self.replan()
        self.aps.start()

    def shutdown(self) -> None:
        """Stop running jobs (pending ledger rows stay for the next start)."""
        if self.aps.running:
            self.aps.shutdown(wait=False)

    async def _profiles(self, schedule: Schedule) -> list[Prefs]:
        """Every distinct set of planning preferences among the subscribers."""
        default = self.settings.default_offsets
        event_zone = schedule.event.timezone
        offsets_in_use = await self.store.offsets_in_use()
        # Chats without quiet hours are planned at the nominal instant of each offset.
        plain = {
            o for offsets in offsets_in_use for o in (default if offsets is None else offsets)
        }
        profiles = [Prefs(event_zone, tuple(sorted(plain, reverse=True)))]
        for session_id in schedule.session_ids():
            for zone, begin, end, offsets in await self.store.quiet_profiles(session_id):
                quiet = (parse_clock(begin), parse_clock(end))
                chosen = default if offsets is None else offsets
                profiles.append(Prefs(zone or event_zone, chosen, quiet))
        return profiles

    async def plan_groups(self, now: dt.datetime) -> dict[str, Group]:
        """The reminder groups worth running at `now`, by job id."""
        schedule = self.schedule()
        groups: dict[str, Group] = {}
        for prefs in await self._profiles(schedule):
            for p in plan(schedule, prefs, now):
                group = Group(p.due, p.session_id, p.offset, p.start)
                groups[group.job_id] = group
        return groups

    async def replan(self) -> None:
        """Rebuild the jobs from the schedule and the database; run the overdue ones now."""
        async with self._replan_lock:
            now = self.clock()
            groups = await self.plan_groups(now)
            fired = await self.store.refs("scheduler", FIRED)
            for job in self.aps.get_jobs():
                if job.id not in groups:
                    job.remove()
            overdue = []
            for job_id, group in groups.items():
                if job_id in fired:
                    continue
                if group.due <= now:
                    overdue.append(group)
                else:
                    self.aps.add_job(
                        self.fire,
                        DateTrigger(group.due, timezone=dt.UTC),
                        args=(group,),
                        id=job_id,
                        replace_existing=True,
                    )
            self._groups = groups
        for group in sorted(overdue):
            await self.fire(group)

    async def run_due(self, now: dt.datetime) -> int:
        """Fire every group due at `now` that has not fired (tests drive time this way)."""
        fired = await self.store.refs("scheduler", FIRED)
        due = sorted(g for g in self._groups.values() if g.due <= now and g.job_id not in fired)
        for group in due:
            await self.fire(group)
        return len(due)

    async def fire(self, group: Group) -> int:
        """Write the group's audience into the ledger as pending rows, then wake delivery."""
        async with self._fire_lock:
            now = self.clock()
            schedule = self.schedule()
            session = schedule.session(group.session_id)
            if session is None or session.start != group.start or session.is_over(now):
                log.info("skipping %s: the session is over, moved or gone", group.job_id)
                await self._remember(group, now)
                return 0
            default = self.settings.default_offsets

            async def enqueue(*, chat_pks: list[int] | None = None, plain: bool = False) -> int:
                return await self.store.enqueue_session_audience(
                    session_id=group.session_id,
                    kind="reminder",
                    ref=group.ref,
                    due_at=group.due,
                    offset_minutes=group.offset,
                    default_offsets=default,
                    now=now,
                    only_without_quiet=plain,
                    chat_pks=chat_pks,
                )

            # Chats without quiet hours get every reminder at its nominal instant.
            added = await enqueue(plain=True) if group.due == group.nominal else 0
            for zone, begin, end, offsets in await self.store.quiet_profiles(group.session_id):
                prefs = Prefs(
                    zone or schedule.event.timezone,
                    default if offsets is None else offsets,
                    (parse_clock(begin), parse_clock(end)),
                )
                planned = plan(schedule, prefs, now, session_ids=[group.session_id])
                if any(p.offset == group.offset and p.due == group.due for p in planned):
                    pks = await self.store.chats_with_profile(group.session_id, zone, begin, end)
                    added += await enqueue(chat_pks=pks)
            await self.store.expire_superseded(group.session_id, now=now)
            await self._remember(group, now)
        late = (now - group.due).total_seconds()
        log.info(
            "reminder %s: %d recipients queued%s",
            group.job_id,
            added,
            f" ({late:.0f} s late)" if late > 1 else "",
        )
        if added:
            self.on_enqueued()
        return added

    async def _remember(self, group: Group, now: dt.datetime) -> None:
        await self.store.set_ref("scheduler", FIRED, group.job_id, now.isoformat(), now=now)
