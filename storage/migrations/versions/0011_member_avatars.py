"""members.avatar_url: the platform's picture of a member, shown beside their name

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, no default: both databases add it without rewriting the table; members
    # get their picture the next time their platform shows it (until then, initials).
    op.add_column('members', sa.Column('avatar_url', sa.String(length=500), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+, checked by 0006) rather than a table rebuild.
    op.execute("ALTER TABLE members DROP COLUMN avatar_url")
