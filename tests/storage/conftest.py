"""The storage suite uses the engine suite's faster `db` fixtures (see there)."""

from __future__ import annotations

from tests.engine import conftest as _fast

if hasattr(_fast, "db"):
    db = _fast.db
