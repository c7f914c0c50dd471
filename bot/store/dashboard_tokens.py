"""Dashboard secrets: one-time sign-in links and signed-in sessions, stored as hashes."""

from __future__ import annotations

import enum
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from bot.store.db import Database
from bot.store.tables import DashboardToken


class TokenKind(enum.StrEnum):
    """What a dashboard secret opens."""

    SIGNIN = "signin"  # a link, valid once
    SESSION = "session"  # a browser's cookie, until it expires


class Refusal(enum.StrEnum):
    """Why a sign-in link does not sign anyone in."""

    UNKNOWN = "unknown"  # never issued (forged, mistyped)
    USED = "used"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class DashboardUser:
    """Who a sign-in link or a session belongs to."""

    platform: str
    actor: str
    lang: str
    expires_at: datetime


def digest(token: str) -> str:
    """The SHA-256 of a secret, as stored (the secret itself never is)."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_secret() -> str:
    """A fresh URL-safe secret of 256 bits."""
    return secrets.token_urlsafe(32)


class DashboardTokens:
    """The dashboard secrets repository: `store.dashboard`."""

    def __init__(self, db: Database) -> None:
        """Work through `db`."""
        self._db = db

    async def issue(
        self,
        kind: TokenKind,
        *,
        platform: str,
        actor: str,
        lang: str,
        now: datetime,
        valid: timedelta,
    ) -> str:
        """A new secret of `kind` for `actor`, valid for `valid`; returns the secret."""
        token = new_secret()
        stmt = sa.insert(DashboardToken).values(
            kind=str(kind),
            token_hash=digest(token),
            platform=platform,
            actor=actor,
            lang=lang,
            created_at=now,
            expires_at=now + valid,
        )
        async with self._db.write() as conn:
            # Expired secrets are of no use to anyone: they go as new ones come.
            await conn.execute(sa.delete(DashboardToken).where(DashboardToken.expires_at < now))
            await conn.execute(stmt)
        return token

    async def redeem(self, token: str, *, now: datetime) -> DashboardUser | Refusal:
        """Use a sign-in link: its user, once; else why not (unknown, used, expired)."""
        hashed = digest(token)
        claim = (
            sa.update(DashboardToken)
            .where(
                DashboardToken.token_hash == hashed,
                DashboardToken.kind == TokenKind.SIGNIN,
                DashboardToken.used_at.is_(None),
                DashboardToken.expires_at > now,
            )
            .values(used_at=now)
            .returning(
                DashboardToken.platform,
                DashboardToken.actor,
                DashboardToken.lang,
                DashboardToken.expires_at,
            )
        )
        async with self._db.write() as conn:
            # One statement: two tabs posting the same link at once sign in one of them.
            row = (await conn.execute(claim)).first()
            if row is not None:
                return DashboardUser(row.platform, row.actor, row.lang, row.expires_at)
            seen = (
                await conn.execute(
                    sa.select(DashboardToken.used_at).where(
                        DashboardToken.token_hash == hashed,
                        DashboardToken.kind == TokenKind.SIGNIN,
                    )
                )
            ).first()
        if seen is None:
            return Refusal.UNKNOWN
        return Refusal.USED if seen.used_at is not None else Refusal.EXPIRED

    async def peek(self, token: str, *, now: datetime) -> Refusal | None:
        """Whether a sign-in link would still sign in (None), without using it."""
        stmt = sa.select(DashboardToken.used_at, DashboardToken.expires_at).where(
            DashboardToken.token_hash == digest(token), DashboardToken.kind == TokenKind.SIGNIN
        )
        async with self._db.read() as conn:
            row = (await conn.execute(stmt)).first()
        if row is None:
            return Refusal.UNKNOWN
        if row.used_at is not None:
            return Refusal.USED
        return Refusal.EXPIRED if row.expires_at <= now else None

    async def session(self, token: str, *, now: datetime) -> DashboardUser | None:
        """The user of a session cookie still valid at `now`; None otherwise."""
        stmt = sa.select(
            DashboardToken.platform,
            DashboardToken.actor,
            DashboardToken.lang,
            DashboardToken.expires_at,
        ).where(
            DashboardToken.token_hash == digest(token),
            DashboardToken.kind == TokenKind.SESSION,
            DashboardToken.expires_at > now,
        )
        async with self._db.read() as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else DashboardUser(*row)

    async def end(self, token: str) -> None:
        """Sign a session out (its cookie opens nothing any more)."""
        stmt = sa.delete(DashboardToken).where(DashboardToken.token_hash == digest(token))
        async with self._db.write() as conn:
            await conn.execute(stmt)
