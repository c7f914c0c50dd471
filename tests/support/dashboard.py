"""Pytest plugin: the worker on the fake Telegram with its dashboard served on 127.0.0.1.

`make_dashboard()` starts a `DashboardWorld`: a `TelegramWorld` whose settings name an
organizer and whose web section's `public_url` is where the dashboard really listens (the
socket is bound first, so that the link `/dashboard` hands out is the one a browser opens).
"""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest
from aiohttp import web

from bot.config import Organizers, Settings, WebConfig
from bot.schedule import Schedule
from bot.store import Store
from bot.web.context import CONTEXT, WebContext
from bot.web.dashboard import add_dashboard
from tests.fakes.telegram import FakeTelegram
from tests.support.telegram_world import TelegramWorld

ORGANIZER = 9100  # an organizer, in a private chat with the bot
LINK = re.compile(r"https?://\S+/dashboard/signin/\S+")


class DashboardWorld(TelegramWorld):
    """The Telegram world with its dashboard on a local port."""

    def __init__(self, tg: FakeTelegram, store: Store, **kwargs: Any) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.bind(("127.0.0.1", 0))
        self.base = f"http://127.0.0.1:{self.socket.getsockname()[1]}"

        def configure(settings: Settings) -> Settings:
            return replace(
                settings,
                organizers=Organizers(telegram_user_ids=(str(ORGANIZER),)),
                web=replace(WebConfig(), public_url=self.base),
            )

        super().__init__(tg, store, configure=configure, **kwargs)
        self.runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Start the worker, then serve the dashboard on the bound socket."""
        await super().start()
        app = web.Application()
        app[CONTEXT] = WebContext(self.worker, self.settings, self.clock, self.base)
        add_dashboard(app)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.SockSite(self.runner, self.socket).start()

    async def stop(self) -> None:
        """Stop serving, then stop the worker."""
        if self.runner is not None:
            await self.runner.cleanup()
        await self.worker.stop()

    async def signin_link(self, chat_id: int = ORGANIZER) -> str:
        """Type /dashboard in `chat_id`; the sign-in link of the reply."""
        reply = await self.say(chat_id, "/dashboard")
        found = LINK.search(reply)
        assert found, f"no sign-in link in {reply!r}"
        return found[0]


DashboardFactory = Callable[..., Awaitable[DashboardWorld]]


@pytest.fixture
async def make_dashboard(
    store: Store, fake_telegram: FakeTelegram
) -> AsyncIterator[DashboardFactory]:
    """Start dashboard worlds (a `schedule=` may replace the summit's); stopped afterwards."""
    worlds: list[DashboardWorld] = []

    async def make(schedule: Schedule | None = None) -> DashboardWorld:
        world = DashboardWorld(fake_telegram, store, schedule=schedule)
        worlds.append(world)
        await world.start()
        return world

    yield make
    for world in reversed(worlds):
        await world.stop()
