"""Default catalogs shipped as data: point rules and achievements."""

from __future__ import annotations

import tomllib
from importlib import resources
from typing import Any

__all__ = ["load_default_achievements", "load_default_points"]


def _read(name: str) -> dict[str, Any]:
    text = resources.files("config").joinpath("defaults", name).read_text(encoding="utf-8")
    return tomllib.loads(text)


def load_default_points() -> dict[str, int]:
    """The default point rules (`config/defaults/points.toml`)."""
    return {str(k): int(v) for k, v in _read("points.toml")["points"].items()}


def load_default_achievements() -> list[dict[str, Any]]:
    """The raw default achievement catalog (`config/defaults/achievements.toml`)."""
    return list(_read("achievements.toml")["achievement"])
