"""Persistent storage (SQLAlchemy async, Alembic migrations) for SQLite and PostgreSQL."""

from bot.store.store import (
    ALL_SESSIONS,
    UNSET,
    AuditRecord,
    BroadcastRecord,
    ChatRecord,
    Claimed,
    NewDelivery,
    Store,
    SubscriberStats,
    alembic_config,
    current_revision,
    decode_offsets,
    downgrade,
    encode_offsets,
    make_engine,
    migrate,
)
from bot.store.urls import mask_password, normalize_database_url
from bot.store.worker_lock import WorkerLock

__all__ = [
    "ALL_SESSIONS",
    "UNSET",
    "AuditRecord",
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
