"""`laurels bench` / `python -m bench`: run the benchmarks, print the table, write JSON."""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
from pathlib import Path

__all__ = ["BENCHMARKS", "add_arguments", "main", "run_from_args"]

BENCHMARKS = ("votes", "leaderboard", "tally", "awards", "commands", "memory", "loop", "api",
              "pages")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes: checks that every benchmark works, in seconds")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiply every data size by this (default 1: the issue's sizes)")
    parser.add_argument("--backend", choices=("sqlite", "postgres", "all"), default="all",
                        help="which database(s) to measure (default: both; PostgreSQL is "
                        "skipped where its server binaries are missing)")
    parser.add_argument("--only", default=",".join(BENCHMARKS),
                        help=f"comma-separated subset of: {', '.join(BENCHMARKS)}")
    parser.add_argument("--json", type=Path, default=Path("bench-results.json"),
                        help="where to write every figure (default: bench-results.json)")
    parser.add_argument("--votes", type=int, help="votes attempted per approach")
    parser.add_argument("--concurrency", type=int, help="concurrent callers for writes")
    parser.add_argument("--time-cap", type=float, help="seconds per timed write approach")
    parser.add_argument("--workdir", type=Path,
                        help="where SQLite files go (default: a temporary directory)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    add_arguments(parser)
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    return run_from_args(args)


def run_from_args(args: argparse.Namespace) -> int:
    import asyncio
    from dataclasses import replace

    from bench.report import Report
    from bench.runner import run_all
    from bench.sizes import FULL, SMOKE

    sizes = SMOKE if args.smoke else FULL
    if args.scale != 1.0:
        sizes = sizes.scaled(args.scale)
    overrides = {k: v for k, v in (("votes", args.votes), ("concurrency", args.concurrency),
                                   ("time_cap", args.time_cap)) if v is not None}
    sizes = replace(sizes, **overrides)
    only = [b.strip() for b in args.only.split(",") if b.strip()]
    unknown = set(only) - set(BENCHMARKS)
    if unknown:
        print(f"unknown benchmark(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    backends = ["sqlite", "postgres"] if args.backend == "all" else [args.backend]
    argv = getattr(args, "argv", None) or sys.argv[1:]
    report = Report(command=" ".join(["laurels bench", *map(shlex.quote, argv)])
                    if "bench" not in argv[:1] else " ".join(["laurels", *argv]),
                    sizes={**sizes.as_dict(), "backends": backends, "benchmarks": only})
    with tempfile.TemporaryDirectory(prefix="laurels-bench-") as tmp:
        workdir = args.workdir or Path(tmp)
        failed = asyncio.run(run_all(report, sizes, backends, only, workdir))
    print()
    print(report.table())
    report.write(args.json)
    print(f"\nEvery figure, with sizes and versions: {args.json}")
    return 1 if failed else 0
