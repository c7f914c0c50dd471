"""The ledger's rows refer to their chat without a foreign key (a million-row write's cost).

Revision ID: 0004_ledger_without_chat_fk
Revises: 0003_ledger_counts
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_ledger_without_chat_fk"
down_revision: str | Sequence[str] | None = "0003_ledger_counts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FK = "fk_deliveries_chat_pk_chats"


def upgrade() -> None:
    """Drop deliveries.chat_pk's foreign key (SQLite: the table is rebuilt, rows kept)."""
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_constraint(_FK, type_="foreignkey")


def downgrade() -> None:
    """Put the foreign key back, after deleting rows whose chat is gone (they were never
    going to be sent)."""
    op.execute(sa.text("DELETE FROM deliveries WHERE chat_pk NOT IN (SELECT id FROM chats)"))
    with op.batch_alter_table("deliveries") as batch:
        batch.create_foreign_key(_FK, "chats", ["chat_pk"], ["id"], ondelete="CASCADE")
