"""Pytest plugin: a fake Discord server, and helpers to point discord.py at it.

The adapter points its own client at a server (``DISCORD_API_BASE_URL`` /
``DISCORD_GATEWAY_URL``, see bot/adapters/discord/client.py), so ``fake_discord`` only sets
those variables and leaves discord.py's process-wide URLs alone: an adapter that relied on
them would try to reach the real Discord and fail.

A stock ``discord.Client`` (the fake's own tests) has no per-client URL, so
``stock_discord`` sets the two class attributes discord.py 2.7 builds URLs from:

* ``discord.http.Route.BASE`` (REST, used by HTTPClient and the interaction webhook adapter);
* ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`` (a ``yarl.URL``; a plain ``Client``
  never calls ``GET /gateway``, it connects straight to this URL and later resumes at READY's
  ``resume_gateway_url``; ``AutoShardedClient`` reads the URL from ``GET /gateway/bot``).
"""

# ruff: noqa: ASYNC109  (``timeout=`` mirrors asyncio.wait_for on purpose)
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator

import discord
import discord.gateway
import discord.http
import pytest
import yarl

from tests.fakes.discord import FakeDiscord

DEFAULT_API_BASE_URL = "https://discord.com/api/v10"
DEFAULT_GATEWAY_URL = "wss://gateway.discord.gg/"


def point_discord_at(api_base_url: str, gateway_url: str) -> Callable[[], None]:
    """Set ``Route.BASE`` and ``DiscordWebSocket.DEFAULT_GATEWAY``; return a restore function."""
    # Both are process-global class attributes, read when a request / connection is made, so
    # call this before Client.start(); it affects every client in the process.
    old_base = discord.http.Route.BASE
    old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = api_base_url.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)

    def restore() -> None:
        """Put the previous URLs back."""
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway

    return restore


@contextlib.asynccontextmanager
async def run_discord_client(
    client: discord.Client, token: str, *, timeout: float = 10.0
) -> AsyncIterator[discord.Client]:
    """Start ``client`` in a task, wait for on_ready, and close it (awaiting the task) on exit."""
    async with client:
        task = asyncio.create_task(client.start(token), name="discord-client-start")
        ready = asyncio.create_task(client.wait_until_ready(), name="discord-client-ready")
        done, _ = await asyncio.wait({task, ready}, timeout=timeout, return_when="FIRST_COMPLETED")
        if ready not in done:
            ready.cancel()
            await client.close()
            if task in done:
                task.result()  # re-raises the login/connect error
            with contextlib.suppress(asyncio.CancelledError):
                await task
            raise TimeoutError(f"discord client was not ready within {timeout}s")
        try:
            yield client
        finally:
            await client.close()
            await task


@pytest.fixture
async def fake_discord(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    """A running FakeDiscord, named by the DISCORD_* env vars (discord.py's globals untouched)."""
    async with FakeDiscord() as dc:
        monkeypatch.setenv("DISCORD_API_BASE_URL", dc.api_base_url)
        monkeypatch.setenv("DISCORD_GATEWAY_URL", dc.gateway_url)
        yield dc


@pytest.fixture
def stock_discord(fake_discord: FakeDiscord) -> Iterator[FakeDiscord]:
    """The fake, with discord.py's process-wide URLs pointed at it for a stock Client."""
    restore = point_discord_at(fake_discord.api_base_url, fake_discord.gateway_url)
    try:
        yield fake_discord
    finally:
        restore()
