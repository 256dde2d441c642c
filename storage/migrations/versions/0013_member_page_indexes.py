"""Indexes of one member's entries, joins and progress logs (the web member page)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 12:30:00.000000

The member page reads a member's entries per challenge, the challenges they joined and
their progress logs of the last year, by (community, member): without these, SQLite
scanned every participant and progress log, and PostgreSQL every entry of the community.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ('ix_entries_community_id_member_id_challenge_id', 'entries',
     ['community_id', 'member_id', 'challenge_id']),
    ('ix_participants_community_id_member_id', 'participants', ['community_id', 'member_id']),
    ('ix_progress_logs_community_id_member_id_logged_at', 'progress_logs',
     ['community_id', 'member_id', 'logged_at']),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(op.f(name), table, columns, unique=False)


def downgrade() -> None:
    for name, table, _ in INDEXES:
        op.drop_index(op.f(name), table_name=table)
