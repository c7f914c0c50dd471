"""What the worker trusts and how it fails: the webhook lets only Telegram in, a revoked token
ends the worker, and a start that cannot succeed says so in one line.

Each test drives the real SDK (python-telegram-bot, discord.py) against the fakes; `summit-bot
run` runs as a subprocess, while the fake answers on the test's event loop.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import re
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import aiohttp
import pytest

from bot.adapters.base import StartFailed
from bot.adapters.discord import DiscordAdapter
from bot.adapters.redaction import REDACTED, redact
from bot.adapters.telegram import TelegramAdapter
from bot.app import Worker, run_until_stopped
from bot.config import Settings, TelegramConfig
from bot.store import Store
from tests.drills.world import free_port
from tests.fakes.discord import FakeDiscord
from tests.fakes.telegram import ApiError, Drop, FakeTelegram, parse_html
from tests.support.harness import S1, Clock, summit

ROOT = Path(__file__).resolve().parent.parent
VIEWER = 4202
ORGANIZER = 9001
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
REVOKED_LINE = "telegram: the bot token was rejected (401 Unauthorized): check TELEGRAM_BOT_TOKEN"


def telegram_env(tg: FakeTelegram, **extra: str) -> dict[str, str]:
    """The environment of a worker pointed at the fake Bot API."""
    return {
        "TELEGRAM_BOT_TOKEN": tg.token,
        "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{tg.port}",
        **extra,
    }


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Log records that carry a traceback (an operator reads those as a crash)."""
    return [r.getMessage() for r in caplog.records if r.exc_info or r.stack_info]


# --- the webhook: only Telegram gets in ----------------------------------------------------


@dataclass
class Hook:
    """A worker in webhook mode, listening on 127.0.0.1, and the fake Telegram that calls it."""

    tg: FakeTelegram
    worker: Worker
    adapter: TelegramAdapter
    url: str  # where the listener is, as the TLS-terminating proxy reaches it

    async def post(self, body: bytes, secret: str | None = None) -> int:
        """POST `body` to the listener as someone else would; returns the HTTP status."""
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers[SECRET_HEADER] = secret
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.url, data=body, headers=headers) as answer,
        ):
            return answer.status


@pytest.fixture
async def hook(
    store: Store, fake_telegram: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[Hook]:
    """Webhook mode with TELEGRAM_WEBHOOK_SECRET unset, as an operator may well leave it."""
    caplog.set_level(logging.INFO)
    port = free_port()
    settings = replace(
        Settings(),
        telegram=replace(
            TelegramConfig(), webhook_listen="127.0.0.1", webhook_port=port, webhook_path="tg"
        ),
    )
    env = telegram_env(fake_telegram, TELEGRAM_WEBHOOK_URL="https://bot.example.org/tg")
    adapter = TelegramAdapter.from_env(env, settings)
    worker = Worker(settings, summit(), store, [adapter], Clock(S1 - dt.timedelta(days=2)))
    await worker.start(background=False)
    try:
        yield Hook(fake_telegram, worker, adapter, f"http://127.0.0.1:{port}/tg")
    finally:
        await worker.stop()


def forged(text: str, user_id: int = ORGANIZER) -> bytes:
    """An update "from" `user_id` that Telegram never sent."""
    message = {
        "message_id": 1,
        "date": 0,
        "chat": {"id": user_id, "type": "private"},
        "from": {"id": user_id, "is_bot": False, "first_name": "Org"},
        "text": text,
    }
    return json.dumps({"update_id": 10**6, "message": message}).encode()


async def test_webhook_mode_without_a_secret_registers_a_generated_one(
    hook: Hook, caplog: pytest.LogCaptureFixture
) -> None:
    registered = hook.tg.webhook
    assert registered is not None and registered["url"] == "https://bot.example.org/tg"
    secret = str(registered.get("secret_token") or "")
    assert re.fullmatch(r"[A-Za-z0-9_-]{32,256}", secret), "setWebhook carried no strong secret"
    assert redact(f"x{secret}x") == f"x{REDACTED}x"  # protected: no log line can show it
    assert secret not in caplog.text
    # Telegram posts with the secret it was given: the viewer is answered.
    hook.tg.deliver_webhooks_to(hook.url)
    hook.tg.push_message(VIEWER, "/subscribe s2")
    assert "Subscribed to" in parse_html(await hook.tg.pop_message(VIEWER))[0]
    assert hook.tg.webhook_answers == [200]


async def test_a_forged_update_is_refused_and_reaches_nothing(hook: Hook) -> None:
    assert await hook.post(forged("/broadcast FORGED: visit evil.example")) == 403
    assert await hook.post(forged("/broadcast confirm 1"), secret="guessed") == 403
    assert await hook.post(forged("/start"), secret="") == 403
    # A real update after them, answered: whatever the forged ones had queued is handled by
    # then (one queue, and the core answers in order of arrival across chats' lanes soon).
    hook.tg.deliver_webhooks_to(hook.url)
    hook.tg.push_message(VIEWER, "/help")
    assert parse_html(await hook.tg.pop_message(VIEWER))[0]
    assert await hook.worker.store.chats.get("telegram", str(ORGANIZER)) is None
    sent_to = {r.params.get("chat_id") for r in hook.tg.requests("sendMessage")}
    assert sent_to == {VIEWER}


async def test_a_huge_body_without_the_secret_is_refused_before_it_is_read(hook: Hook) -> None:
    """The 95 MB POST: the answer comes after the headers, not after the body."""
    port = int(hook.url.split(":")[2].split("/")[0])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            b"POST /tg HTTP/1.1\r\nHost: bot.example.org\r\nContent-Type: application/json\r\n"
            b"Content-Length: 99614720\r\n\r\n" + b"{" * 65536
        )
        await writer.drain()
        # 64 KiB of 95 MB sent: a server that reads the body first has not answered yet.
        status = await asyncio.wait_for(reader.readline(), timeout=3)
        assert status.startswith(b"HTTP/1.1 403"), status
        # ... and it does not stay to read the rest: the connection ends.
        await asyncio.wait_for(reader.read(), timeout=3)
    finally:
        writer.close()


async def test_a_body_over_the_cap_is_refused_unread_even_with_the_secret(hook: Hook) -> None:
    secret = str(hook.tg.webhook["secret_token"]) if hook.tg.webhook else ""
    assert await hook.post(b"{" + b" " * (2 << 20) + b"}", secret=secret) == 413

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: cut at the cap
        for _ in range(64):
            yield b" " * 65536

    headers = {SECRET_HEADER: secret, "Content-Type": "application/json"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(hook.url, data=chunks(), headers=headers) as answer,
    ):
        assert answer.status == 413
    assert await hook.post(b"not json", secret=secret) == 400
    assert hook.tg.requests("sendMessage") == []


# --- a revoked token ends the worker --------------------------------------------------------


# `summit-bot run`, with the start's retry delays in milliseconds instead of a minute.
RUN = (
    "import sys; import bot.app as app; app.START_RETRY_DELAYS = {delays!r}; "
    "from bot.cli import main; sys.exit(main(sys.argv[1:]))"
)


@asynccontextmanager
async def summit_bot_run(
    tmp_path: Path, env: dict[str, str], delays: tuple[float, ...] = (0.001, 0.002)
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`summit-bot run` as the Procfile runs it, a process with `env`; killed if still up."""
    config = tmp_path / "config.yaml"
    config.write_text(
        f"data_dir: {tmp_path / 'data'}\nschedule: {ROOT / 'schedule.yaml'}\n"
        "telegram:\n  poll_timeout: 1\n"
        "web:\n  enabled: false\n"  # tests run side by side: no port to share
    )
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "DISCORD_")) and k != "DATABASE_URL"
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        RUN.format(delays=delays),
        "run",
        "--config",
        str(config),
        cwd=tmp_path,
        env={**clean, "PYTHONPATH": str(ROOT), **env},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def ended(proc: asyncio.subprocess.Process, seconds: float = 20) -> tuple[int, list[str]]:
    """Wait for the process to end by itself; its exit status and the lines of its stderr."""
    _, err = await asyncio.wait_for(proc.communicate(), timeout=seconds)
    assert proc.returncode is not None
    return proc.returncode, err.decode().splitlines()


async def test_a_token_revoked_while_polling_stops_the_worker_with_one_line(
    fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    async with summit_bot_run(tmp_path, telegram_env(fake_telegram)) as proc:
        fake_telegram.push_message(VIEWER, "/help")
        await asyncio.wait_for(fake_telegram.pop_message(VIEWER), timeout=20)  # it answers
        fake_telegram.token = "4242:revoked-in-botfather"  # every call now gets 401
        status, lines = await ended(proc)
    assert status != 0
    assert [line for line in lines if REVOKED_LINE in line] == [
        next(line for line in lines if line.endswith(f"ERROR bot.app: {REVOKED_LINE}"))
    ]
    assert not any("still running" in line or "Traceback" in line for line in lines), lines


async def test_polling_failures_that_pass_are_retried(
    store: Store, fake_telegram: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    settings = replace(Settings(), telegram=replace(TelegramConfig(), poll_timeout=1))
    adapter = TelegramAdapter.from_env(telegram_env(fake_telegram), settings)
    adapter.retry_delays = (0.01,)
    worker = Worker(settings, summit(), store, [adapter], Clock(S1 - dt.timedelta(days=2)))
    await worker.start(background=False)
    try:
        fake_telegram.fail_next("getUpdates", error=ApiError.bad_gateway())
        fake_telegram.fail_next("getUpdates", error=Drop())
        fake_telegram.fail_next("getUpdates", error=ApiError.conflict("terminated by other"))
        polls = len(fake_telegram.requests("getUpdates"))
        await fake_telegram.wait_for("getUpdates", count=polls + 4)  # three failed, one more
        fake_telegram.push_message(VIEWER, "/help")
        await asyncio.wait_for(fake_telegram.pop_message(VIEWER), timeout=10)
        assert not worker.halted.is_set()
    finally:
        await worker.stop()
    retries = [r for r in caplog.records if "fetching updates failed" in r.getMessage()]
    assert len(retries) == 3 and tracebacks(caplog) == []


# --- a start that cannot succeed: one line, non-zero, retried when it may pass --------------


async def test_a_rejected_token_at_start_is_one_line_and_a_non_zero_exit(
    fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    env = telegram_env(fake_telegram, TELEGRAM_BOT_TOKEN="42:WRONGsecretTHATmustNOTshow")
    async with summit_bot_run(tmp_path, env) as proc:
        status, lines = await ended(proc)
    assert status == 1
    assert lines[-1] == (
        "error: telegram: the Bot API rejected the bot token (401 Unauthorized): "
        "check TELEGRAM_BOT_TOKEN (from @BotFather)"
    )
    text = "\n".join(lines)
    assert "WRONGsecret" not in text and "Traceback" not in text, text


async def test_an_unreachable_bot_api_at_start_is_retried_then_one_line(tmp_path: Path) -> None:
    env = {
        "TELEGRAM_BOT_TOKEN": "123:AAsecretsecret",
        "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{free_port()}",
    }
    async with summit_bot_run(tmp_path, env, delays=(0.001, 0.002)) as proc:
        status, lines = await ended(proc)
    assert status == 1
    assert lines[-1].startswith("error: telegram: cannot reach the Bot API at http://127.0.0.1:")
    assert lines[-1].endswith("check the network and TELEGRAM_API_BASE_URL"), lines[-1]
    retried = [line for line in lines if "retrying in" in line]
    assert len(retried) == 2 and all("telegram: cannot reach" in line for line in retried)
    text = "\n".join(lines)
    assert "Traceback" not in text and "AAsecretsecret" not in text, text


async def test_a_bot_api_back_after_a_failed_attempt_starts_the_worker(
    store: Store, fake_telegram: FakeTelegram
) -> None:
    adapter = TelegramAdapter.from_env(telegram_env(fake_telegram), Settings())
    worker = Worker(
        Settings(), summit(), store, [adapter], Clock(S1), start_delays=(0.001, 0.001, 0.001)
    )
    fake_telegram.fail_next("getMe", error=Drop(), times=2)
    stop = asyncio.Event()
    running = asyncio.create_task(run_until_stopped(worker, stop))
    await asyncio.wait_for(worker.started.wait(), timeout=10)
    assert len(fake_telegram.requests("getMe")) == 3
    stop.set()
    await running


async def test_discord_rejected_token_is_one_line_naming_the_variable(
    fake_discord: FakeDiscord, store: Store
) -> None:
    env = {**os.environ, "DISCORD_BOT_TOKEN": "not-the-token"}
    adapter = DiscordAdapter.from_env(env, Settings(), guild_ready_timeout=0.05)
    worker = Worker(Settings(), summit(), store, [adapter], Clock(S1), start_delays=(0.001,))
    with pytest.raises(StartFailed) as failed:
        await worker.start()
    await worker.stop()
    assert not failed.value.transient
    assert str(failed.value) == (
        "discord: Discord rejected the bot token: check DISCORD_BOT_TOKEN "
        "(Developer Portal, Bot, Reset Token)"
    )
    assert len(fake_discord.requests_matching("GET", r"/users/@me$")) == 1  # not retried


async def test_discord_unreachable_at_start_is_retried_then_one_line(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    env = {
        "DISCORD_BOT_TOKEN": "a-token-for-nowhere",
        "DISCORD_API_BASE_URL": f"http://127.0.0.1:{free_port()}/api/v10",
        "DISCORD_GATEWAY_URL": f"ws://127.0.0.1:{free_port()}",
    }
    adapter = DiscordAdapter.from_env(env, Settings(), guild_ready_timeout=0.05)
    worker = Worker(Settings(), summit(), store, [adapter], Clock(S1), start_delays=(0.001,))
    with pytest.raises(StartFailed) as failed:
        await worker.start()
    await worker.stop()
    assert failed.value.transient
    assert str(failed.value).startswith("discord: cannot reach Discord at http://127.0.0.1:")
    assert [r.getMessage() for r in caplog.records if "retrying in" in r.getMessage()] != []
    assert tracebacks(caplog) == []


async def test_discord_token_revoked_while_connected_stops_the_worker(
    fake_discord: FakeDiscord, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    adapter = DiscordAdapter.from_env(
        {**os.environ, "DISCORD_BOT_TOKEN": fake_discord.token}, Settings()
    )
    worker = Worker(Settings(), summit(), store, [adapter], Clock(S1))
    stop = asyncio.Event()
    running = asyncio.create_task(run_until_stopped(worker, stop))
    await asyncio.wait_for(worker.started.wait(), timeout=10)
    fake_discord.token = "revoked-in-the-developer-portal"
    await fake_discord.drop_connections()  # discord.py resumes, with the old token
    await asyncio.wait_for(running, timeout=20)
    assert worker.failures == [
        "discord: the bot token was rejected: check DISCORD_BOT_TOKEN "
        "(Developer Portal, Bot, Reset Token)"
    ]
    assert tracebacks(caplog) == []
