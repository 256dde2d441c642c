"""post intent: the outbox records that a post attempt began before it is made

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Rows pending at the upgrade have no recorded attempt: they are posted as before.
    op.add_column('outbox', sa.Column('post_started_at',
                                      storage.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+, checked by 0006) rather than a table rebuild.
    op.execute("ALTER TABLE outbox DROP COLUMN post_started_at")
