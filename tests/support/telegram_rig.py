"""Pytest plugin: a fake Telegram Bot API server and real python-telegram-bot objects wired to it.

Fixtures: ``fake_telegram`` (a started ``FakeTelegram``), ``telegram_bot`` (an initialised
``telegram.Bot``) and ``telegram_app_builder`` (an ``ApplicationBuilder`` pointing at the fake).
``running_application`` starts an ``Application`` with long polling the non-blocking way and
stops it in reverse order.
"""

from __future__ import annotations

import datetime as dtm
import importlib.util
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from telegram import Bot
from telegram.ext import Application, ApplicationBuilder
from telegram.request import HTTPXRequest

from tests.fakes.telegram import FakeTelegram

# httpcore runs ``import sniffio`` ~10 times per request; when sniffio is not installed every
# attempt rescans sys.path (~1.5 ms per PTB request). Caching the miss keeps the same outcome
# (ImportError -> "asyncio") without the cost. The real fix is installing sniffio.
if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
    sys.modules["sniffio"] = None  # type: ignore[assignment]

# Short client timeouts: everything is local, so anything slow is a bug or an injected stall.
CLIENT_TIMEOUT = 3.0
POLL_TIMEOUT = 1.0


def make_request(timeout: float = CLIENT_TIMEOUT) -> HTTPXRequest:
    """An HTTPXRequest with short timeouts; TLS verification off (plain HTTP to 127.0.0.1, and
    loading the CA bundle costs ~0.1 s per client)."""
    return HTTPXRequest(
        connect_timeout=timeout,
        read_timeout=timeout,
        write_timeout=timeout,
        pool_timeout=timeout,
        httpx_kwargs={"verify": False},
    )


def make_bot(tg: FakeTelegram, token: str | None = None, timeout: float = CLIENT_TIMEOUT) -> Bot:
    """An (uninitialised) ``telegram.Bot`` for ``tg`` (or another ``token``)."""
    return Bot(
        token or tg.token,
        base_url=tg.base_url,
        base_file_url=tg.base_file_url,
        request=make_request(timeout),
        get_updates_request=make_request(timeout),
    )


def app_builder(
    tg: FakeTelegram, timeout: float = CLIENT_TIMEOUT
) -> ApplicationBuilder[Any, Any, Any, Any, Any, Any]:
    """An ApplicationBuilder for ``tg``'s token, URLs and short timeouts (no JobQueue)."""
    return (
        ApplicationBuilder()
        .token(tg.token)
        .base_url(tg.base_url)
        .base_file_url(tg.base_file_url)
        .request(make_request(timeout))
        .get_updates_request(make_request(timeout))
        .job_queue(None)
    )


@asynccontextmanager
async def running_application(
    app: Application[Any, Any, Any, Any, Any, Any], poll_timeout: float = POLL_TIMEOUT
) -> AsyncIterator[Application[Any, Any, Any, Any, Any, Any]]:
    """Initialise, start and long-poll ``app``; on exit stop polling, stop and shut down."""
    await app.initialize()
    try:
        await app.start()
        try:
            await app.updater.start_polling(  # type: ignore[union-attr]
                poll_interval=0, timeout=dtm.timedelta(seconds=poll_timeout)
            )
            try:
                yield app
            finally:
                await app.updater.stop()  # type: ignore[union-attr]
        finally:
            await app.stop()
    finally:
        await app.shutdown()


@pytest.fixture
async def fake_telegram() -> AsyncIterator[FakeTelegram]:
    """A started fake Bot API server, stopped after the test."""
    async with FakeTelegram() as tg:
        yield tg


@pytest.fixture
async def telegram_bot(fake_telegram: FakeTelegram) -> AsyncIterator[Bot]:
    """An initialised ``telegram.Bot`` talking to ``fake_telegram``."""
    async with make_bot(fake_telegram) as bot:
        yield bot


@pytest.fixture
def telegram_app_builder(
    fake_telegram: FakeTelegram,
) -> ApplicationBuilder[Any, Any, Any, Any, Any, Any]:
    """An ``ApplicationBuilder`` preconfigured for ``fake_telegram``; add handlers, then use
    ``running_application``."""
    return app_builder(fake_telegram)
