"""Schema migrations (Alembic), callable from the CLI and from tests."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

__all__ = ["alembic_config", "revision", "upgrade", "upgrade_async"]

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, target: str = "head") -> None:
    """Bring the database at `url` to `target` (creates everything on an empty database)."""
    command.upgrade(alembic_config(url), target)


async def upgrade_async(url: str, target: str = "head") -> None:
    # Alembic's env runs its own event loop; keep it off the caller's.
    await asyncio.to_thread(upgrade, url, target)


def revision(url: str, message: str) -> None:
    """Autogenerate a new migration from the difference between the models and `url`."""
    command.revision(alembic_config(url), message=message, autogenerate=True)
