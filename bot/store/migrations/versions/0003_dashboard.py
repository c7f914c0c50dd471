"""Dashboard sign-in links and sessions, kept as hashes.

Revision ID: 0003_dashboard
Revises: 0003_calendar_tokens
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# Types spelled out, as in 0001: a migration must not change when the models do.
_TS = sa.DateTime(timezone=True)

revision: str = "0003_dashboard"
down_revision: str | Sequence[str] | None = "0003_calendar_tokens"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add dashboard_tokens."""
    op.create_table(
        "dashboard_tokens",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("lang", sa.String(16), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("used_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_dashboard_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_dashboard_tokens_token_hash"),
    )


def downgrade() -> None:
    """Drop dashboard_tokens (every sign-in link and session ends)."""
    op.drop_table("dashboard_tokens")
