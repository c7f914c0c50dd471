"""Schema migrations: the packaged Alembic scripts, run up or down under a lock."""

from __future__ import annotations

from pathlib import Path
from typing import Final, Literal

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.db import WRITE_OPTION, make_engine
from bot.store.urls import to_async_url

MIGRATIONS_DIR: Final = Path(__file__).resolve().parent / "migrations"

# Any constant works; it only has to be the same in every process of this application.
_PG_MIGRATION_LOCK: Final = 0x53554D4D4954  # "SUMMIT"


def alembic_config(*, url: str | None = None, connection: Connection | None = None) -> Config:
    """Build the Alembic config for the packaged migrations (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        # ConfigParser interpolation treats '%' (e.g. in an encoded password) specially.
        config.set_main_option("sqlalchemy.url", to_async_url(url).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _sqlite_pragma(connection: Connection, pragma: str) -> None:
    # Straight on the DBAPI connection: through SQLAlchemy it would open a transaction,
    # and SQLite ignores "PRAGMA foreign_keys" inside one.
    cursor = connection.connection.cursor()
    try:
        cursor.execute(f"PRAGMA {pragma}")
    finally:
        cursor.close()


def _run_alembic(
    connection: Connection, action: Literal["upgrade", "downgrade"], rev: str
) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # Batch migrations rebuild a table by copying it and dropping the original; with
        # foreign keys on, that DROP would cascade-delete every subscription and ledger row.
        _sqlite_pragma(connection, "foreign_keys=OFF")
    try:
        with connection.begin():
            if connection.dialect.name == "postgresql":
                # Two processes starting at once must not both try to create the tables.
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
            config = alembic_config(connection=connection)
            if action == "upgrade":
                command.upgrade(config, rev)
            else:
                command.downgrade(config, rev)
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:
                    raise RuntimeError(f"migration left dangling foreign keys: {broken[:5]}")
    finally:
        if sqlite:
            _sqlite_pragma(connection, "foreign_keys=ON")


def _current_sync(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def known_revisions() -> list[str]:
    """The revisions this release's migrations know, oldest first (the last is the head)."""
    scripts = ScriptDirectory.from_config(alembic_config())
    return [script.revision for script in reversed(list(scripts.walk_revisions()))]


async def upgrade_engine(engine: AsyncEngine, revision: str = "head") -> None:
    """Run Alembic upgrade to revision on engine, in one transaction."""
    async with engine.execution_options(**{WRITE_OPTION: True}).connect() as conn:
        await conn.run_sync(_run_alembic, "upgrade", revision)


async def migrate(url: str, revision: str = "head") -> None:
    """Upgrade the database at url to revision (Store.open does this to head)."""
    engine = make_engine(url)
    try:
        await upgrade_engine(engine, revision)
    finally:
        await engine.dispose()


async def downgrade(url: str, revision: str) -> None:
    """Downgrade the database at url to revision ("base" drops every table and all data)."""
    engine = make_engine(url)
    try:
        async with engine.execution_options(**{WRITE_OPTION: True}).connect() as conn:
            await conn.run_sync(_run_alembic, "downgrade", revision)
    finally:
        await engine.dispose()


async def current_revision(url: str) -> str | None:
    """Return the database's Alembic revision, None for an empty database."""
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_current_sync)
    finally:
        await engine.dispose()
