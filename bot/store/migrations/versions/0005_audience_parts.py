"""Audience parts: a large reminder's recipients kept as arrays of chat pks until sent.

Revision ID: 0005_audience_parts
Revises: 0004_ledger_without_foreign_keys
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005_audience_parts"
down_revision: str | Sequence[str] | None = "0004_ledger_without_foreign_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add audience_parts (empty)."""
    op.create_table(
        "audience_parts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("ref", sa.String(160), nullable=False),
        sa.Column("session_id", sa.String(64), nullable=True),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_pk", sa.Integer(), nullable=False),
        sa.Column(
            "chat_pks",
            postgresql.ARRAY(sa.Integer()).with_variant(sa.JSON(), "sqlite"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audience_parts"),
        sa.UniqueConstraint(
            "kind",
            "ref",
            "platform",
            "first_pk",
            name="uq_audience_parts_kind_ref_platform_first_pk",
        ),
    )
    op.create_index(
        "ix_audience_parts_platform_due_at_first_pk",
        "audience_parts",
        ["platform", "due_at", "first_pk"],
    )


def downgrade() -> None:
    """Write the parts' recipients as pending ledger rows (nobody is dropped), then drop it."""
    postgresql_rows = (
        "SELECT unnest(chat_pks), platform, kind, ref, session_id, 'pending', 0,"
        " due_at, created_at, created_at FROM audience_parts"
    )
    sqlite_rows = (
        "SELECT pk.value, platform, kind, ref, session_id, 'pending', 0,"
        " due_at, created_at, created_at FROM audience_parts JOIN json_each(chat_pks) AS pk"
        " WHERE true"  # SQLite's upsert after a SELECT wants a WHERE
    )
    rows = postgresql_rows if op.get_bind().dialect.name == "postgresql" else sqlite_rows
    op.execute(
        sa.text(
            "INSERT INTO deliveries (chat_pk, platform, kind, ref, session_id, status,"
            f" attempts, due_at, created_at, updated_at) {rows}"
            " ON CONFLICT (chat_pk, kind, ref) DO NOTHING"
        )
    )
    op.drop_index("ix_audience_parts_platform_due_at_first_pk", table_name="audience_parts")
    op.drop_table("audience_parts")
