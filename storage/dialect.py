"""The few statements SQLite and PostgreSQL spell differently."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["bulk_insert", "insert_for", "insert_ignore"]


def insert_for(session: AsyncSession, table: Any) -> Any:
    """An INSERT that supports ON CONFLICT on the session's backend."""
    name = session.bind.dialect.name if session.bind is not None else "sqlite"
    return postgresql.insert(table) if name == "postgresql" else sqlite.insert(table)


def insert_ignore(session: AsyncSession, table: Any, keys: Sequence[str]) -> Any:
    """INSERT ... ON CONFLICT (keys) DO NOTHING."""
    return insert_for(session, table).on_conflict_do_nothing(index_elements=list(keys))


async def bulk_insert(session: AsyncSession, table: Table, rows: Sequence[Mapping[str, Any]]
                      ) -> None:
    """Insert many rows with the same keys, in the session's transaction.

    PostgreSQL takes them with COPY: a tally writes one placement per entry, and a hundred
    thousand rows through INSERT spend most of their time being parsed and bound.
    """
    if not rows:
        return
    if session.bind is None or session.bind.dialect.name != "postgresql":
        await session.execute(insert(table), list(rows))
        return
    columns = list(rows[0])
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
        table.name, columns=columns, records=[tuple(r[c] for c in columns) for r in rows])
