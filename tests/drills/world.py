"""What the fault drills share: a worker fanning one reminder out through the real Telegram
adapter to the fake Bot API, the ledger to watch, and the verdict (lost, duplicates).

A drill script builds a `FanoutWorld`, starts it, does its damage, waits for the ledger to
settle (an outcome, with a time-out: no drill sleeps to reach a time) and judges with
`verdict`. Each script runs alone (`python -m tests.drills.NAME --help`) and exits non-zero
on failure; tests/test_drills.py runs them at a small size.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import socket
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bot.adapters.telegram import TelegramAdapter
from bot.app import Worker
from bot.clock import utcnow
from bot.config import Delivery as DeliverySettings
from bot.config import Reminders, Settings, TelegramConfig
from bot.delivery.engine import in_flight_for
from bot.schedule import Schedule, load_schedule
from bot.store import Store
from bot.store.tables import Chat, Delivery, Subscription
from tests.drills.fake_platform import RestartableFake

ROOT = Path(__file__).resolve().parent.parent.parent
UTC = dt.UTC
FINAL = frozenset({"sent", "blocked", "failed", "expired"})
FIRST_CHAT = 5_000_001  # chat ids of the drill's viewers: FIRST_CHAT, FIRST_CHAT + 1, ...
_LANGUAGES = ("en", "zh-TW", None)
_ZONES = (None, "Asia/Taipei", "Europe/Prague", "America/Bogota", "Pacific/Auckland")


def summit_at(start: dt.datetime) -> Schedule:
    """The summit's schedule, shifted so that session 1 starts at `start`."""
    schedule = load_schedule(ROOT / "schedule.yaml")
    first = schedule.sessions[0].start
    assert first is not None
    return schedule.shifted(start - first)


def free_port() -> int:
    """A port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def seed_subscribers(
    store: Store,
    platform: str,
    count: int,
    *,
    first_chat_id: int = FIRST_CHAT,
    session_id: str = "s1",
    now: dt.datetime | None = None,
) -> None:
    """`count` private chats on `platform` subscribed to `session_id`, inserted in bulk.

    Languages and zones vary; offsets and quiet hours stay default, so every chat gets
    every reminder.
    """
    now = now or dt.datetime.now(UTC)
    chunk = 5000
    async with store.engine.begin() as conn:
        for begin in range(0, count, chunk):
            rows = [
                {
                    "platform": platform,
                    "chat_id": str(first_chat_id + i),
                    "user_id": str(first_chat_id + i),
                    "kind": "private",
                    "language": _LANGUAGES[i % len(_LANGUAGES)],
                    "timezone": _ZONES[i % len(_ZONES)],
                    "status": "active",
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(begin, min(begin + chunk, count))
            ]
            await conn.execute(sa.insert(Chat), rows)
        source = sa.select(
            Chat.id, sa.literal(session_id, sa.String), sa.literal(now, Chat.created_at.type)
        ).where(Chat.platform == platform)
        await conn.execute(
            sa.insert(Subscription).from_select(["chat_pk", "session_id", "created_at"], source)
        )


def temp_sqlite_url() -> str:
    """A new SQLite file in a temporary directory."""
    return f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp(prefix='summit-drill-')) / 'drill.db'}"


@dataclass
class Verdict:
    """A drill's outcome: its figures and what went wrong (nothing: it passed)."""

    figures: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the drill passed."""
        return not self.problems

    def check(self, condition: bool, problem: str) -> None:
        """Note `problem` unless `condition` holds."""
        if not condition:
            self.problems.append(problem)

    def as_json(self) -> dict[str, Any]:
        """Figures, problems and the pass mark, for the benchmark's table."""
        return {**self.figures, "ok": self.ok, "problems": self.problems}


class FanoutWorld:
    """The fake Bot API, a store with `recipients` subscribers and a worker fanning session
    1's "live now" reminder out to them (overdue at start: it fires at once)."""

    def __init__(
        self,
        recipients: int,
        *,
        database_url: str | None = None,
        per_second: float = 30,
        fake_limit: bool = True,
        delivery: DeliverySettings | None = None,
    ) -> None:
        self.recipients = recipients
        self.database_url = database_url or temp_sqlite_url()
        self.per_second = per_second
        self.fake_limit = fake_limit
        self.delivery = delivery or DeliverySettings()
        self.fake = RestartableFake()
        self.store: Store | None = None
        self.worker: Worker | None = None
        self.chat_ids = list(range(FIRST_CHAT, FIRST_CHAT + recipients))
        self.unsettled: str | None = None  # why `settled` gave up, if it did
        self.verdict: Verdict | None = None  # the last `judge`, which stopping may amend

    async def __aenter__(self) -> FanoutWorld:
        await self.fake.start()
        if self.fake_limit:
            self.fake.rate_limit(int(self.per_second))
        self.store = await Store.open(self.database_url)
        await seed_subscribers(self.store, "telegram", self.recipients)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self.worker is not None:
            try:
                await self.worker.stop()
            except Exception as exc:  # e.g. a delivery loop that died: part of the verdict
                if self.verdict is not None:
                    self.verdict.problems.append(f"stopping the worker failed: {exc!r}")
        if self.store is not None:
            await self.store.close()
        await self.fake.stop()

    def settings(self) -> Settings:
        """One reminder per session, at its start; the drill's delivery settings."""
        return replace(
            Settings(),
            reminders=replace(Reminders(), default_offsets=(0,)),
            delivery=self.delivery,
            # The drill's overall limit, as an operator with paid broadcasts sets it.
            telegram=replace(
                TelegramConfig(), poll_timeout=1, messages_per_second=round(self.per_second)
            ),
        )

    async def start(
        self,
        *,
        starts_in: dt.timedelta = dt.timedelta(minutes=-1),
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> Worker:
        """Start the worker on `clock`, session 1 starting `starts_in` from now (by default it
        went live a minute ago, so its reminder fires at once)."""
        assert self.store is not None
        settings = self.settings()
        env = {
            "TELEGRAM_BOT_TOKEN": self.fake.token,
            "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{self.fake.port}",
        }
        adapter = TelegramAdapter.from_env(env, settings)
        adapter.timeout = 5.0  # everything is local
        schedule = summit_at(clock() + starts_in)
        self.worker = Worker(settings, schedule, self.store, [adapter], clock)
        await self.worker.start()
        return self.worker

    def delivered(self) -> Counter[int]:
        """Accepted sendMessage calls per chat, as the platform saw them."""
        counts: Counter[int] = Counter()
        for request in self.fake.requests("sendMessage"):
            if request.ok and isinstance(request.chat_id, int):
                counts[request.chat_id] += 1
        return counts

    async def until(
        self, condition: Callable[[], bool | Awaitable[bool]], within: float, what: str
    ) -> None:
        """Wait (polling) until `condition` holds; TimeoutError naming `what` after `within` s."""
        deadline = time.monotonic() + within
        while True:
            result = condition()
            if not isinstance(result, bool):
                result = await result
            if result:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what}: not within {within:.0f} s")
            await asyncio.sleep(0.05)  # polling for an outcome, not waiting for a time

    async def settled(self, within: float) -> dict[str, int]:
        """Wait until every ledger row is final; returns the counts by status."""
        assert self.store is not None
        store = self.store
        counts: dict[str, int] = {}

        async def final() -> bool:
            nonlocal counts
            counts = await store.ledger.delivery_counts()
            return sum(n for s, n in counts.items() if s in FINAL) >= self.recipients

        try:
            await self.until(final, within, "the ledger to settle")
        except TimeoutError:
            self.unsettled = f"the ledger had not settled after {within:.0f} s: {counts}"
        return counts

    async def reached(self, count: int, within: float) -> None:
        """Wait until `count` recipients have the reminder (to strike mid fan-out)."""
        await self.until(lambda: len(self.delivered()) >= count, within, f"{count} delivered")

    async def retried_rows(self) -> int:
        """Ledger rows that took more than one attempt."""
        assert self.store is not None
        query = sa.select(sa.func.count()).where(Delivery.attempts > 1)
        async with self.store.engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one())

    def judge(
        self,
        counts: dict[str, int],
        *,
        expect_blocked: Sequence[int] = (),
        in_flight_duplicates: bool = False,
    ) -> Verdict:
        """Nobody lost (every chat not blocked got the reminder), duplicates counted; with
        `in_flight_duplicates`, at most the sends in flight may have gone twice (a call cut
        after the platform took the message is sent again)."""
        delivered = self.delivered()
        blocked = set(expect_blocked)
        lost = [c for c in self.chat_ids if c not in blocked and not delivered[c]]
        duplicates = sum(n - 1 for n in delivered.values() if n > 1)
        verdict = Verdict(
            {
                "recipients": self.recipients,
                "lost": len(lost),
                "duplicates": duplicates,
                "ledger": counts,
                "too_many": self.fake.too_many_requests,
            }
        )
        if self.unsettled:
            verdict.problems.append(self.unsettled)
        verdict.check(not lost, f"{len(lost)} recipients got nothing, e.g. {lost[:5]}")
        wanted = {"sent": self.recipients - len(blocked)}
        if blocked:
            wanted["blocked"] = len(blocked)
        verdict.check(counts == wanted, f"ledger {counts}, expected {wanted}")
        if in_flight_duplicates:
            # The window the worker ran with (delivery.in_flight 0: from the rate it was given).
            per_second = self.settings().telegram.messages_per_second
            limits = replace(TelegramAdapter.limits, per_second=per_second)
            bound = in_flight_for(self.delivery.in_flight, limits)
            verdict.figures["bound"] = bound
            verdict.check(duplicates <= bound, f"{duplicates} duplicates > {bound} in flight")
        else:
            verdict.check(duplicates == 0, f"{duplicates} duplicates")
        self.verdict = verdict
        return verdict


def parser(description: str) -> argparse.ArgumentParser:
    """The options every drill script takes."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--database-url", help="default: a new SQLite file")
    p.add_argument("--per-second", type=float, default=30, help="the platform's limit")
    p.add_argument("--json", action="store_true", help="print the outcome as one JSON line")
    return p


def finish(verdict: Verdict, as_json: bool) -> int:
    """Print the outcome; the exit status (1 when the drill failed)."""
    if as_json:
        print(json.dumps(verdict.as_json()))
    else:
        print(json.dumps(verdict.figures, indent=1))
        for problem in verdict.problems:
            print(f"FAILED: {problem}", file=sys.stderr)
        print("passed" if verdict.ok else "FAILED", file=sys.stderr)
    return 0 if verdict.ok else 1


async def queue_as_parts(
    store: Store, ref: str, due: dt.datetime, *, session_id: str = "s1"
) -> int:
    """Queue session `session_id`'s reminder `ref`, due at `due`, as audience parts for the
    chats of pks 1-999 (one chunk of a large audience); returns the recipients queued."""
    return await store.ledger.enqueue_session_audience(
        session_id=session_id,
        kind="reminder",
        ref=ref,
        due_at=due,
        offset_minutes=None,
        default_offsets=(0,),
        now=due,
        pk_range=(1, 1000),
        compact=True,
    )
