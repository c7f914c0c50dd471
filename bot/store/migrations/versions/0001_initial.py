"""Initial schema: chats, subscriptions, broadcasts, deliveries, audit, platform_refs.

Revision ID: 0001
Revises:
Create Date: 2024-06-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Types are spelled out here rather than imported from bot.store.tables: a migration
# must keep describing the schema as it was, whatever the models become later.
_TS = sa.DateTime(timezone=True)
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create every table of the first release."""
    op.create_table(
        "chats",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("chat_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column("timezone", sa.String(64), nullable=True),
        sa.Column("tz_label", sa.String(128), nullable=True),
        sa.Column("offsets", sa.String(128), nullable=True),
        sa.Column("quiet_start", sa.String(5), nullable=True),
        sa.Column("quiet_end", sa.String(5), nullable=True),
        sa.Column("status", sa.String(16), server_default="active", nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_chats"),
        sa.UniqueConstraint("platform", "chat_id", name="uq_chats_platform_chat_id"),
    )
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("chat_pk", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["chat_pk"],
            ["chats.id"],
            name="fk_subscriptions_chat_pk_chats",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_subscriptions"),
        sa.UniqueConstraint("chat_pk", "session_id", name="uq_subscriptions_chat_pk_session_id"),
    )
    op.create_index(
        "ix_subscriptions_session_id_chat_pk", "subscriptions", ["session_id", "chat_pk"]
    )
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("origin_platform", sa.String(16), nullable=False),
        sa.Column("texts", _JSON, nullable=False),
        sa.Column("audience", _JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("send_at", _TS, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("finished_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_broadcasts"),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", _BIGID, autoincrement=True, nullable=False),
        sa.Column("chat_pk", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("ref", sa.String(160), nullable=False),
        sa.Column("session_id", sa.String(64), nullable=True),
        sa.Column("broadcast_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("due_at", _TS, nullable=False),
        sa.Column("not_before", _TS, nullable=True),
        sa.Column("claimed_at", _TS, nullable=True),
        sa.Column("sent_at", _TS, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["broadcast_id"],
            ["broadcasts.id"],
            name="fk_deliveries_broadcast_id_broadcasts",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["chat_pk"], ["chats.id"], name="fk_deliveries_chat_pk_chats", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_deliveries"),
        sa.UniqueConstraint("chat_pk", "kind", "ref", name="uq_deliveries_chat_pk_kind_ref"),
    )
    op.create_index(
        "ix_deliveries_platform_status_due_at", "deliveries", ["platform", "status", "due_at"]
    )
    op.create_table(
        "audit",
        sa.Column("id", _BIGID, autoincrement=True, nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("detail", _JSON, nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit"),
    )
    op.create_table(
        "platform_refs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("key", sa.String(160), nullable=False),
        sa.Column("value", sa.String(256), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_platform_refs"),
        sa.UniqueConstraint("platform", "kind", "key", name="uq_platform_refs_platform_kind_key"),
    )


def downgrade() -> None:
    """Drop every table (all data is lost)."""
    op.drop_table("platform_refs")
    op.drop_table("audit")
    op.drop_index("ix_deliveries_platform_status_due_at", table_name="deliveries")
    op.drop_table("deliveries")
    op.drop_table("broadcasts")
    op.drop_index("ix_subscriptions_session_id_chat_pk", table_name="subscriptions")
    op.drop_table("subscriptions")
    op.drop_table("chats")
