"""standings histogram: members per score of each board

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 15:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('standings_histogram',
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('period', sa.String(length=10), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('members', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_standings_histogram_community_id_communities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('community_id', 'period', 'points', name=op.f('pk_standings_histogram'))
    )
    # Backfill from the standings already there: one row per board and distinct score.
    op.execute(
        "INSERT INTO standings_histogram (community_id, period, points, members) "
        "SELECT community_id, period, points, count(*) FROM standings "
        "GROUP BY community_id, period, points"
    )


def downgrade() -> None:
    op.drop_table('standings_histogram')
