"""The ledger's rows refer to their chat and broadcast without foreign keys (a million-row
write's cost).

Revision ID: 0004_ledger_without_foreign_keys
Revises: 0003_ledger_counts
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_ledger_without_foreign_keys"
down_revision: str | Sequence[str] | None = "0003_ledger_counts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHAT_FK = "fk_deliveries_chat_pk_chats"
_BROADCAST_FK = "fk_deliveries_broadcast_id_broadcasts"


def upgrade() -> None:
    """Drop deliveries' foreign keys (SQLite: the table is rebuilt, rows kept)."""
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_constraint(_CHAT_FK, type_="foreignkey")
        batch.drop_constraint(_BROADCAST_FK, type_="foreignkey")


def downgrade() -> None:
    """Put the foreign keys back, after deleting rows whose chat is gone (they were never
    going to be sent) and forgetting broadcasts that are gone."""
    op.execute(sa.text("DELETE FROM deliveries WHERE chat_pk NOT IN (SELECT id FROM chats)"))
    op.execute(
        sa.text(
            "UPDATE deliveries SET broadcast_id = NULL WHERE broadcast_id IS NOT NULL"
            " AND broadcast_id NOT IN (SELECT id FROM broadcasts)"
        )
    )
    with op.batch_alter_table("deliveries") as batch:
        batch.create_foreign_key(_CHAT_FK, "chats", ["chat_pk"], ["id"], ondelete="CASCADE")
        batch.create_foreign_key(
            _BROADCAST_FK, "broadcasts", ["broadcast_id"], ["id"], ondelete="SET NULL"
        )
