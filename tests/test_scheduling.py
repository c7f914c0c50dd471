"""APScheduler wiring and the pure planner: every reminder fires once, none is dropped."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import replace

from bot.config import Reminders
from bot.planner import Planned, Prefs, job_session_due, plan, plan_session
from bot.schedule import Session
from bot.scheduler import FIRED, ReminderScheduler, instant_job_id
from bot.store import Store
from tests.support.harness import S1, S2, Clock, summit

UTC = dt.UTC


async def test_a_thousand_reminders_due_at_one_instant_all_fire(store: Store) -> None:
    # 1,000 sessions start at the same instant; each has one "live now" group. The injected
    # clock stands an hour before; APScheduler, on the real clock, finds the job overdue:
    # its default misfire grace of 1 s would drop it, ours must run it, and every group.
    start = dt.datetime(2020, 8, 13, 9, 0, tzinfo=UTC)
    base = summit().sessions[0]
    sessions = tuple(
        replace(base, id=f"x{i}", start=start, end=start + dt.timedelta(hours=1))
        for i in range(1000)
    )
    schedule = replace(summit(), sessions=sessions)
    clock = Clock(start - dt.timedelta(hours=1))
    chat, _ = await store.chats.get_or_create("memory", "1", now=clock.now)
    await store.chats.subscribe(chat.pk, "*", now=clock.now)
    scheduler = ReminderScheduler(
        store, Reminders(default_offsets=(0,)), lambda: schedule, clock, lambda: None
    )
    await scheduler.start()
    # One job for the instant: its 1,000 reminder groups fire together.
    assert [job.id for job in scheduler.aps.get_jobs()] == [instant_job_id(start)]
    clock.now = start
    async with asyncio.timeout(60):
        while len(await store.refs.all("scheduler", FIRED)) < 1000:  # noqa: ASYNC110
            await asyncio.sleep(0.05)  # waiting for the jobs to finish, not for a time
    scheduler.shutdown()
    assert await store.ledger.pending_count("memory") == 1000


def test_plan_has_every_offset_and_nothing_for_ended_sessions() -> None:
    schedule = summit()
    prefs = Prefs("Europe/Prague", (1440, 60, 10, 0))
    s1 = schedule.session("s1")
    assert s1 is not None
    due = [p.due for p in plan_session(s1, prefs)]
    assert due == [S1 - dt.timedelta(minutes=m) for m in (1440, 60, 10, 0)]
    after_s1 = plan(schedule, prefs, S1 + dt.timedelta(hours=3))
    assert {p.session_id for p in after_s1} == {"s2", "s3"}
    assert all(p.session_id != "ctalk1" for p in after_s1)  # no time, no reminder


def test_quiet_hours_never_push_a_reminder_after_the_start() -> None:
    schedule = summit()
    s2 = schedule.session("s2")
    assert s2 is not None
    quiet = (dt.time(0, 0), dt.time(23, 59))  # quiet almost all day
    for planned in plan_session(s2, Prefs("Europe/Prague", (60, 0), quiet)):
        assert planned.due <= S2


def test_quiet_hours_across_a_daylight_saving_change() -> None:
    # New York falls back on 2021-11-07: 22:00-07:00 quiet hours, a session at 06:00 EST.
    session = replace(
        summit().sessions[0],
        start=dt.datetime(2021, 11, 7, 11, 0, tzinfo=UTC),
        end=dt.datetime(2021, 11, 7, 12, 0, tzinfo=UTC),
    )
    (planned,) = plan_session(session, Prefs("America/New_York", (60,), (dt.time(22), dt.time(7))))
    # Just before 22:00 EDT on the 6th = 01:59 UTC on the 7th.
    assert planned.due == dt.datetime(2021, 11, 7, 1, 59, tzinfo=UTC)


def test_reminder_refs_change_when_the_session_moves() -> None:
    session: Session | None = summit().session("s2")
    assert session is not None and session.start is not None
    moved = replace(session, start=session.start + dt.timedelta(minutes=30))
    prefs = Prefs("UTC", (60,))
    assert plan_session(session, prefs)[0].ref != plan_session(moved, prefs)[0].ref


def test_a_job_id_names_its_session_and_due_instant_even_with_colons_in_the_session() -> None:
    due = dt.datetime(2020, 8, 13, 8, 0, tzinfo=dt.UTC)
    group = Planned(due, "ctalk:2020-09", 60, due + dt.timedelta(hours=1))
    assert job_session_due(group.job_id) == ("ctalk:2020-09", due)
    assert job_session_due("due:2020-08-13T08:00:00+00:00") is None
    assert job_session_due("remind:s1:60:not-a-time") is None
