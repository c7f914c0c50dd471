"""Organizers edit schedule.yaml while the bot runs: subscribers hear of what changed."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import signal
from dataclasses import replace
from pathlib import Path

import pytest

from bot.changes import ADDED, CANCELLED, LINK, MOVED, TIME, diff, notice_ref, worth_notifying
from bot.config import AnnouncementChannels
from bot.reload import shift_by
from bot.schedule import Schedule
from bot.store import Store
from tests.support.harness import S1, S2, Harness, summit
from tests.support.schedule_files import (
    HOUR,
    NOW,
    ORGANIZER,
    S3,
    edit,
    line_of,
    make_harness,
    remove,
    replace_worker,
    running,
    to_organizer,
    viewers,
)


async def test_moving_session_2_notifies_its_subscribers_once_and_moves_reminders(
    live: Harness, schedule_file: Path
) -> None:
    await live.say("/timezone Medellín", chat_id="100")
    await live.say("/subscribe s2", chat_id="100")
    await live.say("/subscribe s1", chat_id="200")
    await live.say("/subscribe all", chat_id="300")
    for chat in ("100", "200", "300"):
        await live.say("/remind 1h", chat_id=chat)
    edit(schedule_file, "s2", 'start: "07:00"', 'start: "07:30"')
    edit(schedule_file, "s2", 'end: "08:30"', 'end: "09:00"')

    result = await live.worker.reload(actor="test")
    assert [(c.kind, c.session_id) for c in result.changes] == [(MOVED, "s2")]
    assert result.notices == 2
    sent = await live.at(NOW)
    got = viewers(sent)
    assert set(got) == {"100", "300"}  # not 200, who follows session 1 only
    notice = got["100"]
    assert notice.title == "🕒 Mayors' Summit, session 2: the Americas and Asia-Pacific has moved"
    assert (
        "Now: Mon 17 Aug, 18:30–20:00 (Medellín, -1 day) = Tue 18 Aug, 07:30 Taipei" in notice.text
    )
    assert "Your reminders follow the new time." in notice.text
    assert notice.when == S2 + 30 * dt.timedelta(minutes=1)
    assert "Now: Tue 18 Aug, 07:30–09:00 (Taipei)" in got["300"].text
    report = to_organizer(sent)
    assert len(report) == 1 and "1 change, 2 notices queued for subscribers" in report[0]
    assert "• s2 “Mayors' Summit, session 2" in report[0] and "→ Tue 18 Aug, 07:30" in report[0]

    again = await live.worker.reload(actor="test")
    assert again.changes == () and again.notices == 0
    assert await live.at(NOW + dt.timedelta(minutes=1)) == []

    # The 1-hour reminder follows the session: nothing at the old time, then at the new one.
    assert await live.at(S2 - HOUR) == []
    reminders = viewers(await live.at(S2 - HOUR + dt.timedelta(minutes=30)))
    assert set(reminders) == {"100", "300"}
    assert (reminders["100"].title or "").endswith("starts in 1 hour")


async def test_a_notice_in_a_viewers_quiet_hours_arrives_silently(
    live: Harness, schedule_file: Path
) -> None:
    for chat in ("100", "200"):
        await live.say("/timezone Prague", chat_id=chat)
        await live.say("/subscribe s2", chat_id=chat)
    await live.say("/quiet 10:00-12:00", chat_id="100")  # NOW is 11:00 in Prague
    edit(schedule_file, "s2", 'start: "07:00"', 'start: "07:30"')
    await live.worker.reload(actor="test")
    got = viewers(await live.at(NOW))
    assert got["100"].silent and not got["200"].silent
    assert got["100"].text == got["200"].text  # the same news, only quieter


async def test_a_notice_overtaken_by_a_second_move_is_not_sent(
    live: Harness, schedule_file: Path
) -> None:
    await live.say("/subscribe s2", chat_id="100")
    edit(schedule_file, "s2", 'start: "07:00"', 'start: "07:30"')
    await live.worker.reload(actor="test")
    edit(schedule_file, "s2", 'start: "07:30"', 'start: "07:45"')
    await live.worker.reload(actor="test")
    got = viewers(await live.at(NOW))
    assert list(got) == ["100"]
    assert "07:45" in got["100"].text
    counts = await live.store.ledger.delivery_counts(kind="notice")
    assert counts == {"sent": 1, "expired": 1}


async def test_a_time_announced_for_a_forum(live: Harness, schedule_file: Path) -> None:
    await live.say("/subscribe ctalk1", chat_id="100")
    edit(schedule_file, "ctalk1", "start: tba", 'start: "14:00"\n    end: "16:00"')
    result = await live.worker.reload(actor="test")
    assert [c.kind for c in result.changes] == [TIME]
    got = viewers(await live.at(NOW))
    assert got["100"].title == "🗓 CTalk online forum: healthcare: time announced"
    assert "Tue 22 Sept, 14:00–16:00 (Taipei)" in got["100"].text


# --- links ---------------------------------------------------------------------------------


async def test_announcing_session_3s_link_sends_it_to_its_subscribers(
    live: Harness, schedule_file: Path
) -> None:
    await live.say("/subscribe s3", chat_id="100")
    await live.say("/language zh-TW", chat_id="101")
    await live.say("/subscribe s3", chat_id="101")
    await live.say("/subscribe s2", chat_id="200")
    links = "streams:\n      en: https://youtu.be/s3-en\n      zh-TW: https://youtu.be/s3-zh"
    edit(schedule_file, "s3", "streams: tba", links)
    result = await live.worker.reload(actor="test")
    assert [(c.kind, c.languages) for c in result.changes] == [(LINK, ("en", "zh-TW"))]
    got = viewers(await live.at(NOW))
    assert set(got) == {"100", "101"}
    english = got["100"]
    assert english.title == (
        "📺 Mayors' Summit, session 3: Oceania, Europe, Africa and Asia: livestream link announced"
    )
    assert "Watch at https://youtu.be/s3-en" in english.text
    assert [link.url for link in english.links] == ["https://youtu.be/s3-en"]
    chinese = got["101"]
    assert "直播連結公布" in (chinese.title or "")
    assert [link.url for link in chinese.links] == ["https://youtu.be/s3-zh"]

    # A new Chinese link concerns the Chinese reader only.
    edit(schedule_file, "s3", "https://youtu.be/s3-zh", "https://youtu.be/s3-zh-2")
    await live.worker.reload(actor="test")
    later = viewers(await live.at(NOW + dt.timedelta(minutes=1)))
    assert list(later) == ["101"]
    assert [link.url for link in later["101"].links] == ["https://youtu.be/s3-zh-2"]


async def test_announcement_channels_get_a_notice_in_every_language(
    store: Store, schedule_file: Path
) -> None:
    harness = make_harness(store, schedule_file)
    channels = AnnouncementChannels(telegram=("-100777",))
    harness.settings = replace(harness.settings, announcement_channels=channels)
    harness.worker = replace_worker(harness)
    await harness.start()
    try:
        edit(schedule_file, "s3", "streams: tba", "streams:\n      zh-TW: https://youtu.be/s3-zh")
        await harness.worker.reload(actor="test")
        got = viewers(await harness.at(NOW))
        assert list(got) == ["-100777"]
        message = got["-100777"]
        assert (
            "livestream link announced" in (message.title or "") and "直播連結公布" in message.text
        )
        assert [link.url for link in message.links] == ["https://youtu.be/s3-zh"]
    finally:
        await harness.worker.stop()


# --- a broken file -------------------------------------------------------------------------


async def test_a_broken_schedule_keeps_the_old_one_and_tells_the_organizers(
    live: Harness, schedule_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    await live.say("/subscribe s2", chat_id="100")
    running = live.worker.schedule
    edit(schedule_file, "s2", 'start: "07:00"', 'start: "25:00"')
    line = line_of(schedule_file, '    start: "25:00"')

    with caplog.at_level(logging.ERROR, logger="bot.reload"):
        result = await live.worker.reload(actor="test")
    assert not result.ok and result.changes == ()
    where = f"{schedule_file}:{line}: sessions[1].start"
    assert [str(p).split(": ")[0] for p in result.problems] == [f"{schedule_file}:{line}"]
    assert live.worker.schedule is running
    assert where in caplog.text

    sent = await live.at(NOW)
    assert viewers(sent) == {}
    report = to_organizer(sent)
    assert len(report) == 1
    assert "was NOT loaded: 1 error." in report[0]
    assert f'{where}: "25:00" is not a time' in report[0]

    # The same broken file reported once; the reminders still follow the running schedule.
    await live.worker.reload(actor="test")
    assert await live.at(NOW + dt.timedelta(minutes=1)) == []
    reminded = viewers(await live.at(S2 - HOUR))
    assert (reminded["100"].title or "").endswith("starts in 1 hour")


async def test_reload_command_is_for_organizers_only(live: Harness, schedule_file: Path) -> None:
    edit(schedule_file, "s2", 'start: "07:00"', 'start: "07:30"')
    refused = await live.say("/reload", chat_id="100")
    assert "Only the event's organizers" in refused
    assert live.worker.schedule.session("s2") == summit().session("s2")

    done = await live.say("/reload", chat_id=ORGANIZER)
    assert "Schedule reloaded from" in done
    assert "• s2 “Mayors' Summit, session 2" in done
    audit = await live.store.audit.recent()
    assert [(a.action, a.actor, a.allowed) for a in reversed(audit)] == [
        ("reload", "100", False),
        ("reload", ORGANIZER, True),
        ("schedule_reload", ORGANIZER, True),
    ]


# --- cancelling ----------------------------------------------------------------------------


async def test_cancelling_session_3_tells_its_subscribers(
    live: Harness, schedule_file: Path
) -> None:
    await live.say("/subscribe s3", chat_id="100")
    await live.say("/subscribe s1", chat_id="200")
    await live.say("/remind 1h", chat_id="100")
    remove(schedule_file, "s3")
    result = await live.worker.reload(actor="test")
    assert [(c.kind, c.session_id) for c in result.changes] == [(CANCELLED, "s3")]
    got = viewers(await live.at(NOW))
    assert list(got) == ["100"]
    assert got["100"].title == (
        "❌ Mayors' Summit, session 3: Oceania, Europe, Africa and Asia is cancelled"
    )
    assert "no more reminders" in got["100"].text
    assert await live.at(S3 - HOUR) == []


async def test_a_cancellation_sent_after_a_restart_still_names_the_session(
    live: Harness, schedule_file: Path
) -> None:
    await live.say("/subscribe s3", chat_id="100")
    remove(schedule_file, "s3")
    await live.worker.reload(actor="test")
    await live.worker.stop()  # before the notice went out
    async with running(live.store, schedule_file) as again:  # the title: from the version before
        got = viewers(await again.at(NOW))
        assert got["100"].title == (
            "❌ Mayors' Summit, session 3: Oceania, Europe, Africa and Asia is cancelled"
        )


async def test_a_cancellation_whose_session_nobody_remembers_names_it_by_id(
    store: Store, schedule_file: Path
) -> None:
    async with running(store, schedule_file) as first:
        await first.say("/subscribe s3", chat_id="100")
        remove(schedule_file, "s3")
        await first.worker.reload(actor="test")
        first.worker.reloader.removed.clear()  # as in a process that never saw s3
        got = viewers(await first.at(NOW))
        assert got["100"].title == "❌ Session s3 is cancelled"


# --- across restarts -------------------------------------------------------------------------


async def test_edits_made_while_the_bot_was_stopped_are_announced_at_start(
    live: Harness, schedule_file: Path
) -> None:
    await live.say("/subscribe s2", chat_id="100")
    await live.say("/subscribe s3", chat_id="200")
    await live.worker.stop()
    edit(schedule_file, "s2", 'start: "07:00"', 'start: "07:30"')  # while nobody watches
    remove(schedule_file, "s3")

    async with running(live.store, schedule_file) as again:
        sent = await again.at(NOW)
        got = viewers(sent)
        assert set(got) == {"100", "200"}
        assert got["100"].title == (
            "🕒 Mayors' Summit, session 2: the Americas and Asia-Pacific has moved"
        )
        assert "Now: Tue 18 Aug, 07:30–08:30 (Taipei)" in got["100"].text
        # The session is gone from the file, but the schedule recorded before still has it.
        assert got["200"].title == (
            "❌ Mayors' Summit, session 3: Oceania, Europe, Africa and Asia is cancelled"
        )
        [report] = to_organizer(sent)
        assert "changed while the bot was stopped: 2 changes, 2 notices queued" in report

    # Nothing changed since: nothing to say.
    async with running(live.store, schedule_file) as third:
        assert await third.at(NOW + HOUR) == []


async def test_the_same_move_made_twice_is_announced_both_times(
    live: Harness, schedule_file: Path
) -> None:
    await live.say("/subscribe s2", chat_id="100")
    heard: list[str] = []
    for step, (old, new) in enumerate(
        [("07:00", "07:30"), ("07:30", "07:00"), ("07:00", "07:30")]
    ):
        edit(schedule_file, "s2", f'start: "{old}"', f'start: "{new}"')
        await live.worker.reload(actor="test")
        got = viewers(await live.at(NOW + step * HOUR))
        heard.append(got["100"].text)
    assert ["07:30" in heard[0], "07:00" in heard[1], "07:30" in heard[2]] == [True] * 3


async def test_a_rehearsal_start_neither_announces_nor_records(
    store: Store, schedule_file: Path
) -> None:
    shift = shift_by(dt.timedelta(days=-3))
    async with running(store, schedule_file, transform=shift) as rehearsal:
        await rehearsal.say("/subscribe s2", chat_id="100")
    assert await store.schedules.last("scms2020") is None
    edit(schedule_file, "s2", 'start: "07:00"', 'start: "07:30"')
    async with running(store, schedule_file, transform=shift) as again:
        assert await again.at(NOW) == []


# --- the watcher and SIGHUP ------------------------------------------------------------------


async def test_the_file_watcher_reloads_a_changed_file_once_it_is_written(
    live: Harness, schedule_file: Path
) -> None:
    await live.say("/subscribe s2", chat_id="100")
    watcher = live.worker.watcher
    assert await watcher.check() is None  # nothing changed
    edit(schedule_file, "s2", 'start: "07:00"', 'start: "07:30"')
    assert await watcher.check() is None  # it may still be being written: look again
    result = await watcher.check()
    assert result is not None and [c.kind for c in result.changes] == [MOVED]
    assert await watcher.check() is None
    assert "has moved" in (viewers(await live.at(NOW))["100"].title or "")


async def test_the_polling_watcher_runs_on_its_own(live: Harness, schedule_file: Path) -> None:
    watcher = live.worker.watcher
    watcher.interval = 0.01
    watcher.start_watching()
    try:
        edit(schedule_file, "s2", 'start: "07:00"', 'start: "07:30"')
        await asyncio.wait_for(live.worker.reloader.reloaded.wait(), timeout=5)
    finally:
        await watcher.stop()
    s2 = live.worker.schedule.session("s2")
    assert s2 is not None and s2.start == S2 + dt.timedelta(minutes=30)


async def test_sighup_reloads_the_schedule(live: Harness, schedule_file: Path) -> None:
    before = signal.getsignal(signal.SIGHUP)
    watcher = live.worker.watcher
    assert watcher.install_sighup()
    try:
        edit(schedule_file, "s3", 'start: "17:00"', 'start: "16:00"')
        os.kill(os.getpid(), signal.SIGHUP)
        await asyncio.wait_for(live.worker.reloader.reloaded.wait(), timeout=5)
        await watcher.wait_idle()
    finally:
        watcher.remove_sighup()
    assert signal.getsignal(signal.SIGHUP) == before
    s3 = live.worker.schedule.session("s3")
    assert s3 is not None and s3.start == S3 - HOUR


# --- rehearsals ----------------------------------------------------------------------------


async def test_a_rehearsal_reload_keeps_the_shift(store: Store, schedule_file: Path) -> None:
    delta = dt.timedelta(days=-3)
    async with running(store, schedule_file, transform=shift_by(delta)) as harness:
        edit(schedule_file, "s2", 'start: "07:00"', 'start: "07:30"')
        result = await harness.worker.reload(actor="test")
        assert [c.kind for c in result.changes] == [MOVED]  # not every session "moved"
        s2 = harness.worker.schedule.session("s2")
        assert s2 is not None and s2.start == S2 + delta + dt.timedelta(minutes=30)


# --- diff() --------------------------------------------------------------------------------


def _with(schedule: Schedule, session_id: str, **fields: object) -> Schedule:
    sessions = tuple(
        replace(s, **fields) if s.id == session_id else s  # type: ignore[arg-type]
        for s in schedule.sessions
    )
    return replace(schedule, sessions=sessions)


def test_diff_of_a_schedule_with_itself_is_empty() -> None:
    assert diff(summit(), summit()) == []


def test_diff_finds_a_move_and_its_ref_names_the_new_time() -> None:
    old = summit()
    s2 = old.session("s2")
    assert s2 is not None and s2.start is not None and s2.end is not None
    later = dt.timedelta(minutes=30)
    new = _with(old, "s2", start=s2.start + later, end=s2.end + later)
    (change,) = diff(old, new)
    assert (change.kind, change.session_id, change.old, change.new) == (
        MOVED,
        "s2",
        s2,
        new.session("s2"),
    )
    start = int((s2.start + later).timestamp())
    assert notice_ref(change, 4) == f"s2:moved:{start}-{start + 90 * 60}@4"
    # Only the end moves: a change, with another ref.
    (end_only,) = diff(old, _with(old, "s2", end=s2.end + later))
    assert end_only.kind == MOVED and notice_ref(end_only, 4) != notice_ref(change, 4)
    # The same change in the same revision has the same ref: it notifies once; made again
    # in a later revision, it notifies again.
    assert notice_ref(diff(old, new)[0], 4) == notice_ref(change, 4)
    assert notice_ref(change, 5) != notice_ref(change, 4)


def test_diff_finds_time_announced_link_added_and_cancelled() -> None:
    old = summit()
    start = dt.datetime(2020, 9, 22, 6, 0, tzinfo=dt.UTC)
    new = _with(old, "ctalk1", start=start, end=start + HOUR)
    new = _with(new, "s3", streams=(("en", "https://youtu.be/x"),))
    new = replace(new, sessions=tuple(s for s in new.sessions if s.id != "ctalk3"))
    added = replace(old.sessions[-1], id="ctalk4")
    new = replace(new, sessions=(*new.sessions, added))
    changes = {(c.kind, c.session_id): c for c in diff(old, new)}
    assert set(changes) == {
        (LINK, "s3"),
        (TIME, "ctalk1"),
        (CANCELLED, "ctalk3"),
        (ADDED, "ctalk4"),
    }
    assert changes[LINK, "s3"].languages == ("en",)
    assert notice_ref(changes[LINK, "s3"], 1).startswith("s3:link:en:")
    assert notice_ref(changes[CANCELLED, "ctalk3"], 1) == "ctalk3:cancelled:tba-2020-09-24@1"
    assert not changes[ADDED, "ctalk4"].notifies
    with pytest.raises(ValueError):
        notice_ref(changes[ADDED, "ctalk4"], 1)


def test_diff_ignores_a_link_taken_down_and_a_session_already_over() -> None:
    old = summit()
    assert diff(old, _with(old, "s1", streams=())) == []
    s1 = old.session("s1")
    assert s1 is not None and s1.start is not None
    (moved,) = diff(old, _with(old, "s1", start=s1.start + HOUR))
    assert worth_notifying(moved, S1 - HOUR)
    assert not worth_notifying(moved, S1 + dt.timedelta(days=1))
    (gone,) = diff(old, replace(old, sessions=old.sessions[1:]))
    assert gone.kind == CANCELLED and not worth_notifying(gone, S1 + dt.timedelta(days=1))
