"""placements: a snapshot checked against its challenge only

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 17:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each was checked once per row written; a tally writes one row per entry.
DROPPED = {
    'fk_placements_community_id_communities': ('communities', 'community_id', 'CASCADE'),
    'fk_placements_member_id_members': ('members', 'member_id', None),
    'fk_placements_entry_id_entries': ('entries', 'entry_id', None),
    'fk_placements_team_id_teams': ('teams', 'team_id', None),
}


def upgrade() -> None:
    with op.batch_alter_table('placements') as batch:
        for name in DROPPED:
            batch.drop_constraint(name, type_='foreignkey')


def downgrade() -> None:
    with op.batch_alter_table('placements') as batch:
        for name, (table, column, ondelete) in DROPPED.items():
            batch.create_foreign_key(name, table, [column], ['id'], ondelete=ondelete)
