"""The benchmark suite keeps working: `--smoke` on SQLite writes every figure.

Figures are never asserted on: benchmarks report, they do not pass or fail on timings.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.cli import main

EXPECTED = {
    "votes": {"engine durable votes/s", "engine votes/s, points paid",
              "points paid after the last vote", "engine votes/s vs raw floor", "engine vote p50",
              "engine vote p99", "engine votes/s vs schema floor", "schema floor vote p99",
              "naive design votes/s", "naive vote p99"},
    "awards": {"engine awards/s", "engine award p99"},
    "leaderboard": {"top 10 + my rank p50", "top 10 + my rank p99", "deep page p50",
                    "deep page p99", "first read (board load)"},
    "commands": {"/profile round trip p50", "/profile round trip p99",
                 "/leaderboard round trip p50", "/leaderboard round trip p99"},
    "memory": {"bot resident memory (peak)"},
    "tally": {"tally seconds", "tally peak memory growth"},
    "api": {f"leaderboard {page} {figure}" for page in ("first page", "deep page")
            for figure in ("server p50", "server p99", "requests/s")},
    "pages": {f"{page} {figure}" for page in ("leaderboard first page", "leaderboard deep page",
                                              "leaderboard this week first page", "member page")
              for figure in ("server p50", "server p99", "requests/s")}
    | {f"{page}, first requests of a week: {figure}"
       for page in ("leaderboard first page", "leaderboard this week first page")
       for figure in ("slowest server time", "server p99")},
    "loop": {f"{figure} {when}" for figure in ("loop lag p99", "loop lag max", "/leaderboard p99")
             for when in ("during a vote burst",
                          "while another process holds the write lock 2 s")},
}


def test_smoke_run_writes_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"

    code = main(["--smoke", "--backend", "sqlite", "--json", str(out),
                 "--workdir", str(tmp_path), "--votes", "60", "--time-cap", "3"])

    assert code == 0
    report = json.loads(out.read_text("utf-8"))
    names: dict[str, set[str]] = {}
    for f in report["figures"]:
        assert f["backend"] == "sqlite"
        assert f["value"] is not None, f
        names.setdefault(f["benchmark"], set()).add(f["name"])
    assert names == EXPECTED
    redis_skipped = any(s["benchmark"] == "leaderboard redis baseline"
                        for s in report["skipped"])
    for f in report["figures"]:
        if f["baseline"] and not (redis_skipped and "redis" in f["baseline"]):
            assert f["baseline_value"] is not None and f["ratio"] is not None, f
    assert report["machine"]["cores"] >= 1
    assert {"python", "sqlite", "sqlalchemy"} <= set(report["versions"])
    assert report["sizes"]["board_members"] > 0
    assert "sqlite/memory" in report["explain"]
