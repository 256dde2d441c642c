"""votes write fewer pages: counts in narrow rows of their own, no index by voter

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 01:10:00.000000
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.types import Id

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite" and sqlite3.sqlite_version_info < (3, 35):
        raise RuntimeError(
            f"This upgrade needs SQLite 3.35 or newer (ALTER TABLE ... DROP COLUMN); "
            f"this Python's sqlite3 module uses SQLite {sqlite3.sqlite_version}.")
    op.drop_index(op.f('ix_votes_voter_id'), table_name='votes')
    op.create_table(
        'vote_counts',
        sa.Column('entry_id', Id, nullable=False),
        sa.Column('community_id', Id, nullable=False),
        sa.Column('votes', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['community_id'], ['communities.id'], ondelete='CASCADE',
                                name=op.f('fk_vote_counts_community_id_communities')),
        sa.ForeignKeyConstraint(['entry_id'], ['entries.id'], ondelete='CASCADE',
                                name=op.f('fk_vote_counts_entry_id_entries')),
        sa.PrimaryKeyConstraint('entry_id', name=op.f('pk_vote_counts')),
    )
    op.execute("INSERT INTO vote_counts (entry_id, community_id, votes) "
               "SELECT id, community_id, votes FROM entries")
    # Plain DROP COLUMN (SQLite 3.35+), not a batch rebuild: dropping the old entries
    # table would cascade to every vote.
    op.execute("ALTER TABLE entries DROP COLUMN votes")


def downgrade() -> None:
    op.execute("ALTER TABLE entries ADD COLUMN votes INTEGER NOT NULL DEFAULT 0")
    op.execute("UPDATE entries SET votes = coalesce((SELECT c.votes FROM vote_counts c "
               "WHERE c.entry_id = entries.id), 0)")
    op.drop_table('vote_counts')
    op.create_index(op.f('ix_votes_voter_id'), 'votes', ['voter_id'])
