"""Database fixtures (a pytest plugin): ``database_url`` on SQLite and PostgreSQL, ``store``.

PostgreSQL tests use a database ``summit_bot_test_<pid>`` created on the server at
``$SUMMIT_BOT_TEST_POSTGRES_URL`` (default postgresql://postgres@127.0.0.1:5432/test)
and dropped at the end of the session.  They are skipped when no server answers,
unless CI=true, where that is an error.  Deselect them with ``-m "not postgres"``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Coroutine, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from bot.store import Store, alembic_config, mask_password
from bot.store.tables import Base

POSTGRES_ADMIN_URL = os.environ.get(
    "SUMMIT_BOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
_CONNECT_TIMEOUT_S = 5.0
_HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``postgres`` marker."""
    config.addinivalue_line(
        "markers", "postgres: needs the PostgreSQL test server (deselect: -m 'not postgres')"
    )


def _libpq_url(url: str) -> str:
    # asyncpg.connect wants a plain postgresql:// DSN.
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _run(coro: Coroutine[Any, Any, None]) -> None:
    # A private loop: asyncio.run() would reset the thread's current event loop,
    # which pytest-asyncio owns.
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(coro)
    finally:
        loop.close()


async def _execute(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(_libpq_url(url), timeout=_CONNECT_TIMEOUT_S)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgres_test_database() -> Iterator[str]:
    """Create this session's PostgreSQL test database and yield its SQLAlchemy URL."""
    name = f"summit_bot_test_{os.getpid()}"
    try:
        _run(
            _execute(
                POSTGRES_ADMIN_URL,
                f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
                f'CREATE DATABASE "{name}"',
            )
        )
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        message = f"PostgreSQL not reachable at {mask_password(POSTGRES_ADMIN_URL)}: {exc!r}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message} (CI=true: the PostgreSQL tests must run)", pytrace=False)
        pytest.skip(f"{message}; start it or deselect with -m 'not postgres'")
    url = make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql+asyncpg", database=name)
    yield url.render_as_string(hide_password=False)
    _run(_execute(POSTGRES_ADMIN_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _truncate_or_drop(url: str) -> None:
    conn = await asyncpg.connect(_libpq_url(url), timeout=_CONNECT_TIMEOUT_S)
    try:
        version = None
        if await conn.fetchval("SELECT to_regclass('public.alembic_version') IS NOT NULL"):
            version = await conn.fetchval("SELECT max(version_num) FROM alembic_version")
        if version == _HEAD:
            # Schema already current (the usual case): emptying it is much faster than
            # dropping it and running the migrations again.
            tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
            await conn.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        else:
            await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of a database without data: a new SQLite file, or the PostgreSQL test
    database emptied (its tables truncated if at the head revision, else dropped)."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'summit-bot.sqlite3'}"
    url: str = request.getfixturevalue("postgres_test_database")
    _run(_truncate_or_drop(url))
    return url


@pytest.fixture
def empty_database_url(database_url: str) -> str:
    """database_url with no tables at all (not even Alembic's), for migration tests."""
    if database_url.startswith("postgresql"):
        _run(_execute(database_url, "DROP SCHEMA public CASCADE", "CREATE SCHEMA public"))
    return database_url


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    """An opened (migrated) Store on database_url, without data; closed after the test."""
    opened = await Store.open(database_url)
    try:
        yield opened
    finally:
        await opened.close()
