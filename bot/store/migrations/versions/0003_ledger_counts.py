"""Pruned ledger rows' counts, and partial indexes for planning at a million subscribers.

Revision ID: 0003_ledger_counts
Revises: 0002
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_ledger_counts"
down_revision: str | Sequence[str] | None = "0003_dashboard"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add delivery_counts and the chats' partial indexes on offsets and quiet hours."""
    op.create_table(
        "delivery_counts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("ref", sa.String(160), nullable=False),
        sa.Column("broadcast_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_delivery_counts"),
        sa.UniqueConstraint("kind", "ref", "status", name="uq_delivery_counts_kind_ref_status"),
    )
    for name, column in (
        ("ix_chats_offsets_set", "offsets"),
        ("ix_chats_quiet_set", "quiet_start"),
    ):
        where = sa.text(f"{column} IS NOT NULL")
        op.create_index(name, "chats", [column], postgresql_where=where, sqlite_where=where)


def downgrade() -> None:
    """Drop them (the counts of pruned rows are lost)."""
    op.drop_index("ix_chats_quiet_set", table_name="chats")
    op.drop_index("ix_chats_offsets_set", table_name="chats")
    op.drop_table("delivery_counts")
