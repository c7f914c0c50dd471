"""The secret tokens of personal calendar feeds, one per chat (`store.calendar_tokens`)."""

from __future__ import annotations

import secrets
from datetime import datetime

import sqlalchemy as sa

from bot.store.chats import CHAT_COLUMNS, chat_record
from bot.store.db import Database
from bot.store.records import ChatRecord
from bot.store.tables import CalendarToken, Chat

# Tokens are `secrets.token_urlsafe(TOKEN_BYTES)`: 256 bits, 43 URL-safe characters.
TOKEN_BYTES = 32
# The longest token a feed URL may carry: anything longer is refused before any query.
MAX_TOKEN_LENGTH = 64


def new_token() -> str:
    """A fresh unguessable token."""
    return secrets.token_urlsafe(TOKEN_BYTES)


class CalendarTokens:
    """The calendar tokens repository: `store.calendar_tokens`."""

    def __init__(self, db: Database) -> None:
        """Work through `db`."""
        self._db = db

    async def token_for(self, chat_pk: int, *, now: datetime) -> str:
        """The chat's token, issued now if it has none."""
        select = sa.select(CalendarToken.token).where(CalendarToken.chat_pk == chat_pk)
        async with self._db.write() as conn:
            token = (await conn.execute(select)).scalar_one_or_none()
            if token is not None:
                return str(token)
            insert = (
                self._db.insert(CalendarToken)
                .values(chat_pk=chat_pk, token=new_token(), created_at=now)
                .on_conflict_do_nothing(index_elements=["chat_pk"])
            )
            await conn.execute(insert)
            # Another command of the same chat may have issued one meanwhile: read the winner.
            return str((await conn.execute(select)).scalar_one())

    async def reset(self, chat_pk: int, *, now: datetime) -> str:
        """A new token for the chat; the old one (if any) stops working at once."""
        token = new_token()
        insert = self._db.insert(CalendarToken).values(
            chat_pk=chat_pk, token=token, created_at=now
        )
        stmt = insert.on_conflict_do_update(
            index_elements=["chat_pk"],
            set_={"token": insert.excluded.token, "created_at": insert.excluded.created_at},
        )
        async with self._db.write() as conn:
            await conn.execute(stmt)
        return token

    async def chat_of(self, token: str) -> ChatRecord | None:
        """The chat whose feed this token opens, or None (unknown, voided, or malformed)."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return None
        stmt = (
            sa.select(*CHAT_COLUMNS)
            .join(CalendarToken, CalendarToken.chat_pk == Chat.id)
            .where(CalendarToken.token == token)
        )
        async with self._db.read() as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else chat_record(row)
