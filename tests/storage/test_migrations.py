"""Alembic builds the whole schema from empty, matching the models exactly."""

from __future__ import annotations

import os
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from storage.db import Database
from storage.migrate import upgrade_async
from storage.tables import Base


async def _url(tmp_path: Path, request) -> str:  # type: ignore[no-untyped-def]
    if os.environ.get("LAURELS_TEST_DB") == "postgres":
        url: str = request.getfixturevalue("pg_url")
        db = Database(url)
        async with db.engine.begin() as conn:
            await conn.run_sync(Base.metadata.drop_all)
            await conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        await db.dispose()
        return url
    return f"sqlite+aiosqlite:///{tmp_path / 'migrated.db'}"


async def test_upgrade_from_empty_matches_models(tmp_path: Path, request) -> None:  # type: ignore[no-untyped-def]
    url = await _url(tmp_path, request)
    await upgrade_async(url)
    db = Database(url)
    async with db.engine.connect() as conn:
        diff = await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
        )
        version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    await db.dispose()
    assert diff == []
    assert version == "0001"
    # a second upgrade is a no-op
    await upgrade_async(url)
