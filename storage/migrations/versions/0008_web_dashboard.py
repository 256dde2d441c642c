"""web dashboard: communities get an unguessable public id; site secrets; spent sign-in links

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 20:30:00.000000
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types
from storage.types import Id

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Added NOT NULL with an empty default (SQLite adds such a column without rebuilding
    # the table, whose rebuild would cascade to every row referring to a community), then
    # each community gets its own random id.
    op.execute("ALTER TABLE communities ADD COLUMN public_id VARCHAR(32) NOT NULL DEFAULT ''")
    bind = op.get_bind()
    ids = [row[0] for row in bind.execute(sa.text("SELECT id FROM communities"))]
    for community_id in ids:
        bind.execute(sa.text("UPDATE communities SET public_id = :p WHERE id = :id"),
                     {"p": secrets.token_urlsafe(16), "id": community_id})
    if bind.dialect.name == "postgresql":
        op.execute("ALTER TABLE communities ALTER COLUMN public_id DROP DEFAULT")
    op.create_index(op.f('ix_communities_public_id'), 'communities', ['public_id'],
                    unique=True)
    op.create_table(
        'site_secrets',
        sa.Column('name', sa.String(length=32), nullable=False),
        sa.Column('value', sa.String(length=128), nullable=False),
        sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_site_secrets')),
    )
    op.create_table(
        'spent_links',
        sa.Column('nonce', sa.String(length=32), nullable=False),
        sa.Column('community_id', Id, nullable=False),
        sa.Column('expires_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['community_id'], ['communities.id'], ondelete='CASCADE',
                                name=op.f('fk_spent_links_community_id_communities')),
        sa.PrimaryKeyConstraint('nonce', name=op.f('pk_spent_links')),
    )
    op.create_index(op.f('ix_spent_links_community_id_expires_at'), 'spent_links',
                    ['community_id', 'expires_at'])


def downgrade() -> None:
    op.drop_index(op.f('ix_spent_links_community_id_expires_at'), table_name='spent_links')
    op.drop_table('spent_links')
    op.drop_table('site_secrets')
    op.drop_index(op.f('ix_communities_public_id'), table_name='communities')
    # Plain DROP COLUMN (SQLite 3.35+, checked by 0006) rather than a table rebuild.
    op.execute("ALTER TABLE communities DROP COLUMN public_id")
