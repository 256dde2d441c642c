"""achievement_holders: how many members hold each achievement, per community (rarity)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 12:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'achievement_holders',
        sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                  nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('holders', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_achievement_holders_community_id_communities'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('community_id', 'key', name=op.f('pk_achievement_holders')),
    )
    # Everyone already holding an achievement (the unlocks kept it in step from here on).
    op.execute("INSERT INTO achievement_holders (community_id, key, holders) "
               "SELECT community_id, key, count(*) FROM achievements WHERE times > 0 "
               "GROUP BY community_id, key")


def downgrade() -> None:
    op.drop_table('achievement_holders')
