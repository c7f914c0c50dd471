"""Persistent storage (SQLAlchemy async, Alembic migrations) for SQLite and PostgreSQL."""

from bot.store.chats import UNSET
from bot.store.db import make_engine
from bot.store.migrate import alembic_config, current_revision, downgrade, migrate
from bot.store.records import (
    AuditRecord,
    Author,
    BroadcastRecord,
    ChatRecord,
    Claimed,
    NewDelivery,
    SubscriberStats,
    decode_offsets,
    encode_offsets,
)
from bot.store.store import Store
from bot.store.urls import mask_password, normalize_database_url
from bot.store.worker_lock import WorkerLock

__all__ = [
    "UNSET",
    "AuditRecord",
    "Author",
    "BroadcastRecord",
    "ChatRecord",
    "Claimed",
    "NewDelivery",
    "Store",
    "SubscriberStats",
    "WorkerLock",
    "alembic_config",
    "current_revision",
    "decode_offsets",
    "downgrade",
    "encode_offsets",
    "make_engine",
    "mask_password",
    "migrate",
    "normalize_database_url",
]
