"""The worker with the Discord adapter on the fake Discord: a conversation's rig.

`rig` (fixture) is the summit bot two days before session 1 on a fake guild with a viewer
whose DMs are open (`ana`) and one whose DMs are closed (`bob`); `Rig` starts others. A test
runs slash commands (`slash`) and reads what the bot sent; it moves time itself (`at`).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from bot.adapters.discord import DiscordAdapter
from bot.app import Worker
from bot.config import DiscordConfig, Settings
from bot.schedule import Schedule
from bot.store import Store
from tests.fakes.discord import FakeDiscord, FakeGuild, FakeUser, InteractionResponse
from tests.support.harness import Clock, summit

MESSAGES = r"/channels/\d+/messages"
DM_OPEN = r"/users/@me/channels"
EVENTS = r"/guilds/\d+/scheduled-events(/\d+)?"
MIN = dt.timedelta(minutes=1)
S1_2020 = dt.datetime(2020, 8, 13, 9, 0, tzinfo=dt.UTC)
EN_STREAM = "https://youtu.be/b0fWeY_5sLk"


def text_of(message: dict[str, Any] | None) -> str:
    """A Discord message as plain text: content, then each embed's title and description
    (escapes and autolinks' brackets dropped; mentions and timestamps left as sent)."""
    if message is None:
        return ""
    parts = [message.get("content") or ""]
    for embed in message.get("embeds") or []:
        parts += [embed.get("title") or "", embed.get("description") or ""]
    text = "\n".join(p for p in parts if p)
    return re.sub(r"<(https?://[^ >]+)>", r"\1", text).replace("\\", "")


def link_urls(message: dict[str, Any]) -> list[str]:
    """The URLs of a message's link buttons."""
    return [
        c["url"]
        for row in message.get("components") or []
        for c in row.get("components") or []
        if c.get("style") == 5
    ]


class Rig:
    """A worker with the Discord adapter on the fake server; the test moves the clock."""

    def __init__(
        self,
        dc: FakeDiscord,
        store: Store,
        schedule: Schedule,
        settings: Settings,
        clock: Clock,
        **options: Any,
    ) -> None:
        self.dc, self.store, self.schedule, self.settings = dc, store, schedule, settings
        self.clock = clock
        self.options = {"guild_ready_timeout": 0.05, **options}
        env = {**os.environ, "DISCORD_BOT_TOKEN": dc.token}
        self.adapter = DiscordAdapter.from_env(env, settings, clock=clock, **self.options)
        self.worker = Worker(settings, schedule, store, [self.adapter], clock)

    async def start(self) -> Rig:
        """Start the worker without background jobs, the adapter connected and ready."""
        await self.worker.start(background=False)
        return self

    async def __aenter__(self) -> Rig:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.worker.stop()

    async def restart(self) -> Rig:
        """Stop, then a new worker process and adapter on the same database."""
        await self.worker.stop()
        again = Rig(self.dc, self.store, self.schedule, self.settings, self.clock, **self.options)
        return await again.start()

    async def at(self, when: dt.datetime) -> None:
        """Move the clock to `when`, run what came due and deliver it."""
        self.clock.now = when
        await self.worker.settle()
        await self.worker.scheduler.run_due(when)
        while await self.worker.delivery.drain_once("discord"):
            pass

    async def answer(self, iid: int) -> InteractionResponse:
        """The interaction's answer: a direct reply, or the follow-up after a defer."""

        def final() -> InteractionResponse | None:
            for response in self.dc.interaction_responses(iid):
                if response.kind == "followup" or (response.kind, response.type) == (
                    "callback",
                    4,
                ):
                    return response
            return None

        await self.dc.wait_until(lambda: final() is not None, 5, lambda: f"answer to {iid}")
        response = final()
        assert response is not None
        await self.worker.settle()  # the re-plan a settings change asked for
        return response

    async def slash(
        self, name: str, options: dict[str, Any] | None = None, **where: Any
    ) -> InteractionResponse:
        """A viewer runs a slash command; returns the answer."""
        return await self.answer(await self.dc.send_slash_command(name, options, **where))


@pytest.fixture
def now() -> dt.datetime:
    """Real time, to the minute: Discord refuses scheduled events that start in the past."""
    return dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)


@pytest.fixture
def schedule(now: dt.datetime) -> Schedule:
    """The summit moved so that session 1 starts two days from now."""
    return summit().shifted(now + dt.timedelta(days=2) - S1_2020)


@pytest.fixture
def people(fake_discord: FakeDiscord) -> tuple[FakeGuild, FakeUser, FakeUser]:
    """A guild with a viewer whose DMs are open and one whose DMs are closed."""
    ana = fake_discord.add_user("ana")
    bob = fake_discord.add_user("bob", dms_open=False)
    guild = fake_discord.add_guild("Summit", members=[ana.id, bob.id])
    return guild, ana, bob


def settings_for(guild: FakeGuild, **discord: Any) -> Settings:
    """Default settings with the fake guild configured (backoff short for retries)."""
    base = Settings()
    return replace(
        base,
        delivery=replace(base.delivery, backoff_seconds=(1,)),
        discord=DiscordConfig(guild_ids=(str(guild.id),), **discord),
    )


@pytest.fixture
async def rig(
    fake_discord: FakeDiscord,
    store: Store,
    schedule: Schedule,
    now: dt.datetime,
    people: tuple[FakeGuild, FakeUser, FakeUser],
) -> AsyncIterator[Rig]:
    """The summit bot on the fake Discord, scheduled events off (their own test has them)."""
    settings = settings_for(people[0], scheduled_events=False)
    async with Rig(fake_discord, store, schedule, settings, Clock(now)) as started:
        yield started


def session_start(schedule: Schedule, session_id: str) -> dt.datetime:
    """A timed session's start."""
    session = schedule.session(session_id)
    assert session is not None and session.start is not None
    return session.start
