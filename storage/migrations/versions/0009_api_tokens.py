"""api_tokens: moderators' bearer tokens for the JSON API, kept as SHA-256 hashes

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 21:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types
from storage.types import Id

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'api_tokens',
        sa.Column('id', Id, nullable=False),
        sa.Column('community_id', Id, nullable=False),
        sa.Column('prefix', sa.String(length=16), nullable=False),
        sa.Column('secret_hash', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('created_by', Id, nullable=False),
        sa.Column('rights', sa.JSON(), nullable=False),
        sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_used_at', storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('revoked_by', Id, nullable=True),
        sa.ForeignKeyConstraint(['community_id'], ['communities.id'], ondelete='CASCADE',
                                name=op.f('fk_api_tokens_community_id_communities')),
        sa.ForeignKeyConstraint(['created_by'], ['members.id'], ondelete='CASCADE',
                                name=op.f('fk_api_tokens_created_by_members')),
        sa.ForeignKeyConstraint(['revoked_by'], ['members.id'],
                                name=op.f('fk_api_tokens_revoked_by_members')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
        sa.UniqueConstraint('prefix', name=op.f('uq_api_tokens_prefix')),
    )
    op.create_index(op.f('ix_api_tokens_community_id_revoked_at'), 'api_tokens',
                    ['community_id', 'revoked_at'])


def downgrade() -> None:
    op.drop_index(op.f('ix_api_tokens_community_id_revoked_at'), table_name='api_tokens')
    op.drop_table('api_tokens')
