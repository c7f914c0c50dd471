"""Personal calendar feeds: the secret token in each chat's feed URL.

Revision ID: 0003_calendar_tokens
Revises: 0002
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_calendar_tokens"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add calendar_tokens."""
    op.create_table(
        "calendar_tokens",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("chat_pk", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["chat_pk"],
            ["chats.id"],
            name="fk_calendar_tokens_chat_pk_chats",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_calendar_tokens"),
        sa.UniqueConstraint("chat_pk", name="uq_calendar_tokens_chat_pk"),
        sa.UniqueConstraint("token", name="uq_calendar_tokens_token"),
    )


def downgrade() -> None:
    """Drop calendar_tokens (every personal feed URL stops working)."""
    op.drop_table("calendar_tokens")
