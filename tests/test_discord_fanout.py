"""A DM fan-out on a fake Discord that holds the bot to Discord's own limits: the global one
and the per-route buckets. Nothing meets a 429, nothing is lost, and each viewer's DM channel
is opened once, even across a restart."""

from __future__ import annotations

import asyncio
import datetime as dt
import math

import pytest

from bot.adapters.discord.ratelimit import RequestWindow
from bot.config import DiscordConfig
from bot.schedule import Schedule
from bot.store import Store
from tests.drills.world import seed_subscribers
from tests.fakes.discord import FakeDiscord, FakeGuild, FakeUser
from tests.support.discord_world import DM_OPEN, MESSAGES, MIN, Rig, session_start, settings_for
from tests.support.harness import Clock

VIEWERS = 120
PER_SECOND = 80  # the global limit here (50 on Discord): about 3 s a reminder
FIRST_ID = 900_000_000_000_000_001


async def test_a_dm_fan_out_keeps_under_discords_limits_and_opens_each_dm_once(
    fake_discord: FakeDiscord,
    store: Store,
    schedule: Schedule,
    now: dt.datetime,
    people: tuple[FakeGuild, FakeUser, FakeUser],
) -> None:
    dc = fake_discord
    viewers = [dc.add_user(f"viewer{i}", user_id=FIRST_ID + i) for i in range(VIEWERS)]
    await seed_subscribers(store, "discord", VIEWERS, first_chat_id=FIRST_ID)
    dc.discord_limits(global_per_second=PER_SECOND)
    # Opening DMs has a bucket of its own, narrower than the global limit here: discord.py
    # follows its headers while the bot keeps every request under the global limit.
    dc.limit_route("POST /users/@me/channels", 50, 1.0)
    base = settings_for(people[0], scheduled_events=False)
    config = DiscordConfig(guild_ids=base.discord.guild_ids, requests_per_second=PER_SECOND)
    settings = type(base)(**{**base.__dict__, "discord": config})
    s1 = session_start(schedule, "s1")

    async with Rig(dc, store, schedule, settings, Clock(now)) as rig:
        began = len(dc.requests)
        fanning = asyncio.ensure_future(rig.at(s1 - 10 * MIN))
        # A viewer asks meanwhile: the answer is no request of the bot's, and does not queue.
        await dc.wait_for("POST", MESSAGES, 20)
        ana = people[1]
        iid = await dc.send_slash_command("mysubs", user_id=ana.id, guild_id=people[0].id)
        (answer,) = await dc.wait_for_responses(iid)
        assert answer.time - dc.interaction(iid).created < 1.0
        assert not fanning.done()
        await fanning
        fan_out = [r for r in dc.requests[began:] if not r.path.startswith("/interactions/")]
    assert [len(dc.dm_messages_to(v.id)) for v in viewers] == [1] * VIEWERS
    assert dc.too_many() == []
    assert len(dc.requests_matching("POST", DM_OPEN)) == VIEWERS
    # No second of the fake's saw more than the limit (interactions apart, as on Discord);
    # and the fan-out ran near it.
    bots = r"(?!/interactions/).*"
    assert dc.max_in_any_window(1.0, path_pattern=bots, include_rejected=True) <= PER_SECOND
    seconds = fan_out[-1].time - fan_out[0].time
    assert len(fan_out) == 2 * VIEWERS and len(fan_out) / seconds >= 0.6 * PER_SECOND

    # A restart: the DM channels come from the database, not from new requests. (A new
    # process knows nothing of the last one's second; a real restart takes longer than it.)
    await asyncio.sleep(1.0)
    async with Rig(dc, store, schedule, settings, Clock(now)) as again:
        await again.at(s1)
    assert [len(dc.dm_messages_to(v.id)) for v in viewers] == [2] * VIEWERS
    assert len(dc.requests_matching("POST", DM_OPEN)) == VIEWERS
    assert dc.too_many() == []
    assert len(dc.requests_matching("POST", MESSAGES)) == 2 * VIEWERS
    counts = await store.ledger.delivery_counts(kind="reminder")
    assert counts["sent"] == 2 * VIEWERS


async def test_a_request_counts_from_its_start_until_its_answer_then_for_a_second() -> None:
    """Discord stamps a request somewhere between its start and its answer: while it is
    open there is no telling when its second ends; once answered, it counts from then."""
    now = [100.0]
    window = RequestWindow(2, clock=lambda: now[0])
    await window.acquire()
    await window.acquire()
    assert window.delay(now[0]) == math.inf  # both open: only an answer can make room
    now[0] = 100.3
    window.release()
    assert window.delay(now[0]) == pytest.approx(1.0)  # a second after that answer
    now[0] = 101.3
    assert window.delay(now[0]) == 0.0
    trace = window.trace("http://127.0.0.1:1/api/v10")
    assert len(trace.on_request_start) == 1 and len(trace.on_request_exception) == 1
