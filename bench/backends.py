"""Where the benchmark databases live: SQLite files in a work directory, or databases in
a throwaway PostgreSQL 15 cluster running with the server's default durability."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.datagen import raw_dsn

__all__ = ["Backend", "open_backend"]


@dataclass
class Backend:
    kind: str                  # "sqlite" | "postgres"
    workdir: Path
    pg_url: str | None = None  # the cluster's maintenance database

    @property
    def is_sqlite(self) -> bool:
        return self.kind == "sqlite"

    def url(self, name: str) -> str:
        if self.is_sqlite:
            return f"sqlite+aiosqlite:///{self.workdir / (name + '.db')}"
        assert self.pg_url is not None
        return self.pg_url.rsplit("/", 1)[0] + "/" + name

    def sqlite_path(self, name: str) -> Path:
        return self.workdir / (name + ".db")

    async def create(self, name: str, template: str | None = None) -> str:
        """A fresh, empty database (or a copy of `template`); returns its URL."""
        if self.is_sqlite:
            _replace_file(self.sqlite_path(name),
                          None if template is None else self.sqlite_path(template))
            return self.url(name)
        conn = await _pg_connect(self.pg_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            suffix = f' TEMPLATE "{template}"' if template else ""
            await conn.execute(f'CREATE DATABASE "{name}"{suffix}')
        finally:
            await conn.close()
        return self.url(name)

    async def server_version(self) -> str | None:
        if self.is_sqlite:
            return None
        conn = await _pg_connect(self.pg_url)
        try:
            return str(await conn.fetchval("SHOW server_version"))
        finally:
            await conn.close()


def _replace_file(path: Path, template: Path | None) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    if template is not None:
        shutil.copyfile(template, path)


async def _pg_connect(url: str | None) -> Any:
    import asyncpg

    assert url is not None
    return await asyncpg.connect(raw_dsn(url))


@contextlib.asynccontextmanager
async def open_backend(kind: str, workdir: Path) -> AsyncIterator[Backend]:
    if kind == "sqlite":
        path = workdir / "sqlite"
        path.mkdir(parents=True, exist_ok=True)
        try:
            yield Backend("sqlite", path)
        finally:
            shutil.rmtree(path, ignore_errors=True)
        return
    from storage.pgcluster import throwaway_cluster

    with throwaway_cluster("bench", durable=True) as url:
        yield Backend("postgres", workdir, url)
