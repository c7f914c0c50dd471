"""The worker with only the Telegram adapter, on the fake Bot API: a conversation's world.

`make_world()` / `world` (fixtures) start it on the test's store and the fake server; a test
pushes what a viewer types (`say`, `press`) and reads what the bot sent, and moves time itself
(`at`).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest

from bot.adapters.telegram import TelegramAdapter
from bot.app import Worker
from bot.config import Settings, TelegramConfig
from bot.delivery.pacing import PlatformPacer
from bot.schedule import Schedule
from bot.store import Store
from tests.fakes.telegram import FakeTelegram, Request, parse_html
from tests.support.harness import S1, Clock, summit

PRAGUE = 4201  # a viewer in Prague, in a private chat with the bot
VIEWER = 4202
GROUP = -1001234567890  # a supergroup
ADMIN = 7001
MEMBER = 7002
HOUR = dt.timedelta(hours=1)


def plain(text: str) -> str:
    """What the reader sees of an HTML message."""
    return parse_html(text)[0]


def keyboard(request: Request) -> list[list[dict[str, Any]]]:
    """The inline keyboard a sendMessage call carried (empty if none)."""
    markup = request.params.get("reply_markup") or {}
    rows: list[list[dict[str, Any]]] = markup.get("inline_keyboard", [])
    return rows


class TelegramWorld:
    """The worker with only the Telegram adapter, pointed at the fake; the test moves time."""

    def __init__(
        self,
        tg: FakeTelegram,
        store: Store,
        *,
        timeout: float = 3.0,
        per_second: int = 30,
        configure: Callable[[Settings], Settings] | None = None,
        schedule: Schedule | None = None,
        now: dt.datetime | None = None,
    ) -> None:
        self.tg = tg
        self.store = store
        self.clock = Clock(now or S1 - dt.timedelta(days=2))
        self.settings = replace(
            Settings(),
            telegram=replace(TelegramConfig(), poll_timeout=1, messages_per_second=per_second),
            delivery=replace(Settings().delivery, backoff_seconds=(1,)),
        )
        if configure is not None:  # e.g. organizers, the web section
            self.settings = configure(self.settings)
        env = {
            "TELEGRAM_BOT_TOKEN": tg.token,
            "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{tg.port}",
        }
        self.adapter = TelegramAdapter.from_env(env, self.settings)
        self.adapter.timeout = timeout  # everything is local: anything slow is a bug
        self.worker = Worker(
            self.settings, schedule or summit(), store, [self.adapter], self.clock
        )
        # The pacer keeps real time plus the time the test skipped, so that the platform's
        # limits (1 message per chat per second, retry-after pauses) pass with the test clock.
        origin = self.clock.now
        self.worker.delivery.pacers["telegram"] = PlatformPacer(
            self.adapter.limits,
            clock=lambda: time.monotonic() + (self.clock.now - origin).total_seconds(),
        )

    async def start(self) -> None:
        """Start the worker without background jobs; the adapter starts polling the fake."""
        await self.worker.start(background=False)

    async def say(self, chat_id: int, text: str, **kwargs: Any) -> str:
        """Someone writes `text` in `chat_id`; returns the first message of the reply, as read."""
        self.tg.push_message(chat_id, text, **kwargs)
        return await self.next(chat_id)

    async def next(self, chat_id: int) -> str:
        """The next message the bot sent to `chat_id`, as read; re-plans what it changed."""
        text = plain(await self.tg.pop_message(chat_id))
        await self.worker.settle()
        return text

    def last_with_button(self, chat_id: int, action: str) -> tuple[Request, dict[str, Any]]:
        """The latest message to `chat_id` with a button whose callback data is `action`."""
        for request in reversed(self.tg.requests("sendMessage", chat_id=chat_id)):
            for row in keyboard(request):
                for button in row:
                    if button.get("callback_data") == action:
                        return request, button
        raise AssertionError(f"no button {action!r} in chat {chat_id}")

    async def press(self, chat_id: int, action: str, user_id: int | None = None) -> str:
        """Press the button `action` on the latest message carrying it; returns the reply."""
        request, _ = self.last_with_button(chat_id, action)
        message_id = request.result["message_id"]
        answers = len(self.tg.requests("answerCallbackQuery"))
        self.tg.push_callback_query(chat_id, user_id or chat_id, action, message_id=message_id)
        reply = await self.next(chat_id)
        await self.tg.wait_for("answerCallbackQuery", count=answers + 1)
        return reply

    async def at(self, when: dt.datetime) -> list[Request]:
        """Move the clock to `when`, run what came due, deliver; returns the sends that worked."""
        before = len(self.tg.requests("sendMessage"))
        self.clock.now = when
        await self.worker.settle()
        await self.worker.scheduler.run_due(when)
        while await self.worker.delivery.drain_once("telegram"):
            pass
        return [r for r in self.tg.requests("sendMessage")[before:] if r.ok]


WorldFactory = Callable[..., Awaitable[TelegramWorld]]


@pytest.fixture
async def make_world(store: Store, fake_telegram: FakeTelegram) -> AsyncIterator[WorldFactory]:
    """Start worlds on the test's store and fake server; all are stopped afterwards."""
    worlds: list[TelegramWorld] = []

    async def make(**kwargs: Any) -> TelegramWorld:
        world = TelegramWorld(fake_telegram, store, **kwargs)
        worlds.append(world)
        await world.start()
        return world

    yield make
    for world in reversed(worlds):
        await world.worker.stop()


@pytest.fixture
async def world(make_world: WorldFactory) -> TelegramWorld:
    """The summit bot on Telegram two days before session 1."""
    return await make_world()
