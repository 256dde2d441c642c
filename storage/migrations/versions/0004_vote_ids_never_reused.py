"""votes: numbers never reused on SQLite (AUTOINCREMENT)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 18:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # PostgreSQL's sequence never hands out a number twice: nothing to do there.
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table("votes", recreate="always",
                              table_kwargs={"sqlite_autoincrement": True}):
        pass
    # Start past every vote number the ledger names, including votes retracted (deleted)
    # before this migration, whose numbers the rebuilt table no longer holds.
    op.execute(
        "INSERT INTO sqlite_sequence (name, seq) SELECT 'votes', 0 "
        "WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'votes')")
    op.execute(
        "UPDATE sqlite_sequence SET seq = max(seq, coalesce((SELECT max(CAST(substr("
        "reference, 6) AS INTEGER)) FROM ledger WHERE reference LIKE 'vote:%'), 0)) "
        "WHERE name = 'votes'")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table("votes", recreate="always",
                              table_kwargs={"sqlite_autoincrement": False}):
        pass
