"""Figures, the terminal table and the JSON file."""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["Figure", "Report", "versions"]


@dataclass
class Figure:
    """One measured figure, with the baseline it is compared to in the same run.

    `ratio` is value / baseline_value. `better` says which way is good ("higher" for
    rates, "lower" for latencies, seconds and megabytes).
    """

    benchmark: str
    backend: str
    name: str
    value: float | None
    unit: str
    better: str = "lower"
    baseline: str | None = None
    baseline_value: float | None = None
    target: str | None = None
    met: bool | None = None
    note: str | None = None
    ratio: float | None = None

    def __post_init__(self) -> None:
        if self.value is not None and self.baseline_value:
            self.ratio = self.value / self.baseline_value


@dataclass
class Report:
    command: str
    sizes: dict[str, Any]
    figures: list[Figure] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    explain: dict[str, dict[str, str]] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    started: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def add(self, figures: list[Figure]) -> None:
        self.figures.extend(figures)

    def skip(self, benchmark: str, backend: str, reason: str) -> None:
        self.skipped.append({"benchmark": benchmark, "backend": backend, "reason": reason})
        print(f"  skipped {benchmark} on {backend}: {reason}", flush=True)

    def to_json(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "started": self.started,
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"cores": os.cpu_count(), "platform": platform.platform(),
                        "python": sys.version.split()[0]},
            "versions": {**versions(), **self.meta.get("versions", {})},
            "sizes": self.sizes,
            "figures": [asdict(f) for f in self.figures],
            "skipped": self.skipped,
            "explain": self.explain,
        }

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n", "utf-8")

    def table(self) -> str:
        head = ("benchmark", "backend", "figure", "value", "baseline", "base value", "ratio",
                "target")
        rows = [head]
        for f in self.figures:
            target = "" if f.target is None else (
                f"{f.target} {'met' if f.met else 'MISSED'}" if f.met is not None else f.target)
            rows.append((f.benchmark, f.backend, f.name, _num(f.value, f.unit),
                         f.baseline or "", _num(f.baseline_value, f.unit),
                         "" if f.ratio is None else f"{f.ratio:.2f}x", target))
        widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                 for r in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        for s in self.skipped:
            lines.append(f"skipped: {s['benchmark']} on {s['backend']}: {s['reason']}")
        return "\n".join(lines)


def _num(value: float | None, unit: str) -> str:
    if value is None:
        return ""
    if abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}" if abs(value) >= 0.1 else f"{value:.3f}"
    return f"{text} {unit}"


def versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0], "sqlite": sqlite3.sqlite_version}
    for dist in ("laurels", "sqlalchemy", "aiosqlite", "asyncpg", "sortedcontainers"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return out
