"""The few statements SQLite and PostgreSQL spell differently."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["insert_for", "insert_ignore"]


def insert_for(session: AsyncSession, table: Any) -> Any:
    """An INSERT that supports ON CONFLICT on the session's backend."""
    name = session.bind.dialect.name if session.bind is not None else "sqlite"
    return postgresql.insert(table) if name == "postgresql" else sqlite.insert(table)


def insert_ignore(session: AsyncSession, table: Any, keys: Sequence[str]) -> Any:
    """INSERT ... ON CONFLICT (keys) DO NOTHING."""
    return insert_for(session, table).on_conflict_do_nothing(index_elements=list(keys))
