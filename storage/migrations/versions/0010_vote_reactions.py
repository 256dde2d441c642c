"""vote reactions: which variants of the vote emoji a vote's voter holds on the entry

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 23:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Votes counted before hold no recorded variant: removing any one of them takes the
    # vote back, as it always did.
    op.add_column('votes', sa.Column('reactions', sa.String(200), nullable=False,
                                     server_default=''))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+, checked by 0006) rather than a table rebuild.
    op.execute("ALTER TABLE votes DROP COLUMN reactions")
