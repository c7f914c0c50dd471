"""Database URL handling: accept the URLs people paste, hand SQLAlchemy an async one."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_SQLITE_FILE = "summit-bot.sqlite3"
# A rehearsal's own database, beside the real one: what testers do there stays there.
REHEARSAL_SQLITE_FILE = "summit-bot.rehearsal.sqlite3"

_SQLITE_SCHEMES = frozenset({"sqlite", "sqlite+aiosqlite", "sqlite+pysqlite"})
_POSTGRES_SCHEMES = frozenset(
    {
        "postgres",
        "postgresql",
        "postgresql+asyncpg",
        "postgresql+psycopg2",
        "postgresql+psycopg",
    }
)
_ACCEPTED = (
    "an empty value (SQLite file in the data directory), sqlite:///<path>, "
    "sqlite+aiosqlite:///<path>, postgresql://..., postgres://..., "
    "postgresql+asyncpg://..., postgresql+psycopg2://..."
)
# user:password@ in the authority part: up to the last '@' before the path, since an
# unencoded password may itself contain '@'.
_PASSWORD_RE = re.compile(r"(?P<head>://[^/@:]*:)[^/]*@")


def mask_password(url: str) -> str:
    """Return url with any password replaced by '***' so it can be logged or shown."""
    return _PASSWORD_RE.sub(r"\g<head>***@", url)


def _scheme(url: str) -> str:
    head, sep, _ = url.partition("://")
    if not sep:
        # Not echoed: without a scheme there is no telling which part is a password.
        raise ValueError(f"not a database URL (no scheme://); accepted: {_ACCEPTED}")
    return head.strip().lower()


def to_async_url(url: str) -> str:
    """Rewrite a sqlite/postgres URL to its async-driver form; ValueError if unsupported."""
    url = url.strip()
    scheme = _scheme(url)
    if scheme in _SQLITE_SCHEMES:
        return _sqlite_url(url)
    if scheme in _POSTGRES_SCHEMES:
        return _postgres_url(url)
    raise ValueError(
        f"unsupported database URL scheme {scheme!r} in {mask_password(url)!r}; "
        f"accepted: {_ACCEPTED}"
    )


def _sqlite_url(url: str) -> str:
    rest = url.partition("://")[2]
    async_url = "sqlite+aiosqlite://" + rest
    try:
        database = make_url(async_url).database
    except ArgumentError as exc:
        raise ValueError(f"invalid SQLite URL {mask_password(url)!r}: {exc}") from None
    # The store needs several connections to one database; each connection to an
    # in-memory database would see its own empty database.
    if not database or database == ":memory:" or "mode=memory" in url:
        raise ValueError(
            f"in-memory SQLite is not supported ({mask_password(url)!r}); "
            "use a file such as sqlite:///data/summit-bot.sqlite3"
        )
    if not database.startswith("file:"):
        # A missing directory gives SQLite's unhelpful "unable to open database file".
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    return async_url


def _postgres_url(url: str) -> str:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ValueError(
            f"invalid PostgreSQL URL {mask_password(url)!r}: {mask_password(str(exc))}"
        ) from None
    parsed = parsed.set(drivername="postgresql+asyncpg")
    # Hosting providers hand out libpq-style "?sslmode=require"; asyncpg calls it "ssl".
    if "sslmode" in parsed.query:
        sslmode = parsed.query["sslmode"]
        parsed = parsed.difference_update_query(["sslmode"])
        if "ssl" not in parsed.query:
            parsed = parsed.update_query_dict({"ssl": sslmode})
    return parsed.render_as_string(hide_password=False)


def normalize_database_url(url: str | None, data_dir: Path) -> str:
    """Return the async SQLAlchemy URL for url, defaulting to a SQLite file in data_dir."""
    if url is None or not url.strip():
        url = sqlite_url(data_dir / DEFAULT_SQLITE_FILE)
    return to_async_url(url)


def sqlite_url(path: Path) -> str:
    """The URL of a SQLite file, absolute: it names the same file from any directory."""
    return f"sqlite:///{path.expanduser().resolve()}"


def sqlite_file(url: str | None, data_dir: Path) -> Path | None:
    """The SQLite file `url` names (the embedded one when unset); None for a server database.

    Unlike `normalize_database_url` it creates nothing: a caller that only looks (a preview,
    `doctor`) asks whether the file exists before opening it, since opening creates it.
    """
    if url is None or not url.strip():
        return data_dir / DEFAULT_SQLITE_FILE
    if _scheme(url) not in _SQLITE_SCHEMES:
        return None
    try:
        database = make_url(url.strip()).database
    except ArgumentError as exc:
        raise ValueError(f"invalid SQLite URL {mask_password(url)!r}: {exc}") from None
    if not database or database.startswith("file:") or database == ":memory:":
        return None  # nothing to look at: opening it says what is wrong
    return Path(database).expanduser()
