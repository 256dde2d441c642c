"""unsettled_votes: votes commit first, their points are paid by settlement

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 20:45:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.types import Id

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Votes already in the database were paid when they were cast: none is unsettled.
    op.create_table(
        'unsettled_votes',
        sa.Column('vote_id', Id, nullable=False),
        sa.Column('community_id', Id, nullable=False),
        sa.ForeignKeyConstraint(['community_id'], ['communities.id'], ondelete='CASCADE',
                                name=op.f('fk_unsettled_votes_community_id_communities')),
        sa.ForeignKeyConstraint(['vote_id'], ['votes.id'], ondelete='CASCADE',
                                name=op.f('fk_unsettled_votes_vote_id_votes')),
        sa.PrimaryKeyConstraint('vote_id', name=op.f('pk_unsettled_votes')),
    )
    op.create_index(op.f('ix_unsettled_votes_community_id_vote_id'), 'unsettled_votes',
                    ['community_id', 'vote_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_unsettled_votes_community_id_vote_id'), table_name='unsettled_votes')
    op.drop_table('unsettled_votes')
