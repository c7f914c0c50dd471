"""What an operator's probes see: /healthz while the loop runs, /readyz naming what is not
ready (the database stopped, platforms not connected yet), and where the server listens."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import socket
import sqlite3
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from sqlalchemy import event

from bot.adapters.base import StartFailed
from bot.config import ConfigError, Settings, WebConfig, load_settings
from bot.store import Store
from bot.web.server import Listen, WebServer, resolve_listen
from tests.support.harness import ROOT, S1, Harness, summit
from tests.support.processes import kill, read_until, stopped
from tests.support.web import WebWorld, serving


@pytest.fixture
async def site(store: Store) -> AsyncIterator[WebWorld]:
    """The bot two days before session 1, its web face on a free port."""
    async with serving(store) as world:
        yield world


@contextlib.asynccontextmanager
async def database_stopped(store: Store) -> AsyncIterator[None]:
    """The database refuses every new connection (as a stopped server does), then is back.

    PostgreSQL: the database stops allowing connections and its sessions are cut. SQLite has
    no server to stop: every connection the pool opens fails as an unreachable file does.
    """
    engine = store.engine
    if store.dialect == "postgresql":
        name = engine.url.database
        dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        admin = dsn.rsplit("/", 1)[0] + "/postgres"

        async def allow(on: bool) -> None:
            conn = await asyncpg.connect(admin, timeout=10)
            try:
                await conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(on).lower()}')
                if not on:
                    await conn.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE datname = $1",
                        name,
                    )
            finally:
                await conn.close()

        await allow(False)
        try:
            yield
        finally:
            await allow(True)
        return

    def refuse(*_: Any, **__: Any) -> None:
        raise sqlite3.OperationalError("unable to open database file")

    await engine.dispose()  # pooled connections closed: each use must connect anew
    event.listen(engine.sync_engine, "do_connect", refuse)
    try:
        yield
    finally:
        event.remove(engine.sync_engine, "do_connect", refuse)


# --- health and readiness -------------------------------------------------------------------


async def test_healthz_answers_while_the_loop_runs(site: WebWorld) -> None:
    status, body, headers = await site.get("/healthz")
    assert (status, body) == (200, '{"status": "ok"}')
    assert headers["Content-Type"].startswith("application/json")


async def test_readyz_is_503_while_the_database_is_stopped_and_200_again_after(
    site: WebWorld, store: Store
) -> None:
    status, body, _ = await site.get("/readyz")
    assert status == 200, body
    assert '"status": "ready"' in body

    async with database_stopped(store):
        status, body, _ = await site.get("/readyz")
        assert status == 503
        assert '"not_ready": ["database"]' in body
        assert '"database": "not answering' in body
        # The body names the kind of failure, never the database's own words or address.
        assert "unable to open" not in body and "127.0.0.1" not in body
        # Alive all the same: a liveness probe must not restart a worker for its database.
        assert (await site.get("/healthz"))[0] == 200

    status, body, _ = await site.get("/readyz")
    assert status == 200, body


async def test_readyz_names_the_platforms_and_schedule_until_the_worker_has_started(
    store: Store,
) -> None:
    web = WebServer(Settings(), Listen("127.0.0.1", 0))
    bot = Harness(store, summit(), Settings(), S1, web=web)
    await web.start(bot.worker)  # listening, as the worker does first; nothing else yet
    try:
        async with aiohttp.ClientSession() as http, http.get(f"{web.url}/readyz") as response:
            assert response.status == 503
            body = await response.json()
        assert body["not_ready"] == ["memory", "schedule"]
        assert body["checks"]["memory"] == "not connected"
        assert body["checks"]["database"] == "ok"
    finally:
        await web.stop()


async def test_every_answer_forbids_framing_sniffing_and_referrers(site: WebWorld) -> None:
    for path in ("/healthz", "/nowhere"):
        _, _, headers = await site.get(path)
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "same-origin"
        assert headers["Content-Security-Policy"].startswith("default-src 'none'")


# --- where it listens -----------------------------------------------------------------------


def test_the_port_variable_of_hosting_platforms_means_every_interface() -> None:
    settings = Settings()
    assert resolve_listen(settings, {}) == Listen("127.0.0.1", 8080)
    assert resolve_listen(settings, {"PORT": "5000"}) == Listen("0.0.0.0", 5000)
    with pytest.raises(ConfigError, match=r'PORT: "http" is not a TCP port; set a number'):
        resolve_listen(settings, {"PORT": "http"})
    with pytest.raises(ConfigError, match="PORT"):
        resolve_listen(settings, {"PORT": "70000"})


def test_web_enabled_false_means_no_server() -> None:
    settings = replace(Settings(), web=WebConfig(enabled=False))
    assert WebServer.from_settings(settings, {"PORT": "5000"}) is None


def test_a_listen_address_that_is_not_host_and_port_is_refused_with_its_line(
    tmp_path: Path,
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("web:\n  listen: 8080\n  public_url: summit.example.org\n", encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_settings(config)
    lines = str(refused.value).splitlines()
    assert lines[0] == (
        f'{config}:2: web.listen: "8080" is not host:port with a port 1 to 65535; '
        'write e.g. "127.0.0.1:8080"'
    )
    assert lines[1].startswith(f'{config}:3: web.public_url: "summit.example.org" is not an')
    config.write_text('web:\n  listen: "[::1]:9000"\n', encoding="utf-8")
    assert load_settings(config).web.listen == "[::1]:9000"


@contextlib.contextmanager
def port_taken() -> Iterator[int]:
    """A port on 127.0.0.1 that another program listens on."""
    other = socket.socket()
    other.bind(("127.0.0.1", 0))
    other.listen()
    try:
        yield other.getsockname()[1]
    finally:
        other.close()


async def test_run_refuses_to_start_when_its_port_is_taken(store: Store) -> None:
    with port_taken() as port:
        web = WebServer(Settings(), Listen("127.0.0.1", port), required=True)
        bot = Harness(store, summit(), Settings(), S1, web=web)
        with pytest.raises(StartFailed) as refused:
            await bot.start()
        await bot.worker.stop()
    assert str(refused.value) == (
        f"web: cannot listen on 127.0.0.1:{port}: the port is taken by another program: set "
        "web.listen (or PORT) to a free port, stop the other program, or web.enabled: false"
    )


async def test_the_demo_goes_on_without_its_pages_when_the_port_is_taken(store: Store) -> None:
    with port_taken() as port:
        web = WebServer(Settings(), Listen("127.0.0.1", port), required=False)
        bot = Harness(store, summit(), Settings(), S1 - dt.timedelta(days=2), web=web)
        await bot.start()
        try:
            assert web.url is None
            assert web.problem is not None and "the port is taken" in web.problem
            assert "Subscribed" in await bot.say("/subscribe s1")  # the bot itself works
        finally:
            await bot.worker.stop()


# --- `summit-bot run` as a process ------------------------------------------------------------


async def spawn_run(tmp_path: Path, web: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    """`summit-bot run --console` with this `web:` section, on its own SQLite database."""
    config = tmp_path / "config.yaml"
    config.write_text(
        f"data_dir: {tmp_path / 'data'}\nschedule: {ROOT / 'schedule.yaml'}\nweb:\n{web}",
        encoding="utf-8",
    )
    base = {k: v for k, v in os.environ.items() if not k.endswith("_BOT_TOKEN")}
    base.pop("DATABASE_URL", None)
    base.pop("PORT", None)
    return await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "bot", "run", "--console", "--config", str(config)),
        cwd=tmp_path,
        env={**base, **env},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_run_exits_1_with_one_line_when_its_port_is_taken(tmp_path: Path) -> None:
    with port_taken() as port:
        proc = await spawn_run(tmp_path, f"  listen: 127.0.0.1:{port}\n", {})
        try:
            _, err = await asyncio.wait_for(proc.communicate(), timeout=30)
        finally:
            kill(proc)
    assert proc.returncode == 1
    assert err.decode().splitlines()[-1] == (
        f"error: web: cannot listen on 127.0.0.1:{port}: the port is taken by another program: "
        "set web.listen (or PORT) to a free port, stop the other program, or web.enabled: false"
    )


async def test_run_serves_health_on_the_port_a_hosting_platform_gives(tmp_path: Path) -> None:
    with port_taken() as port:
        pass  # a port that was free a moment ago
    proc = await spawn_run(tmp_path, "  listen: 127.0.0.1:1\n", {"PORT": str(port)})
    try:
        await read_until(proc.stderr, "worker running")
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/readyz") as response:
                assert response.status == 200, await response.text()
                assert (await response.json())["checks"]["console"] == "ok"
            async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
                assert "summit_worker_lock_held 1.0" in await response.text()
        await stopped(proc)
    finally:
        kill(proc)
