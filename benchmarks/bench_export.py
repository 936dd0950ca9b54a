"""Time `usagectl export` as a user runs it (whole processes) on the 10M-event database.

    cp benchmarks/out/bench-10m.duckdb /tmp/bench-10m-export.duckdb
    python benchmarks/bench_export.py --db /tmp/bench-10m-export.duckdb [--out /tmp/export-bench]

Runs, one after the other: the Parquet events export (one file, then Hive-partitioned by
month), the FOCUS export of the last month, the month PDF and a report CSV; for each the wall
time and the peak RSS of that child process alone (rusage from ``os.wait4``), then reads the
Parquet back with DuckDB and checks its row count and cost against ``usagectl report`` totals.
Prints Markdown rows (paste into RESULTS-export.md). Use a COPY of the database (the export
opens it read-only, but the benchmark must never touch the shared original).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

# `export` is wired by cli/__init__ once the lead adds it; until then register it here
RUN = "from usagectl.cli import app, main; from usagectl.cli.export import register; " + (
    "any(c.name == 'export' for c in app.registered_commands) or register(app); main()"
)


def timed(args: list[str], cwd: str) -> tuple[float, float, str]:
    """(seconds, peak RSS MiB of this child alone, stdout)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", RUN, *args], stdout=out, stderr=err, text=True, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        secs = time.perf_counter() - t0
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            raise SystemExit(f"{args} failed: {err.read()[-2000:]}")
        out.seek(0)
        return secs, usage.ru_maxrss / 1024, out.read()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True, type=Path)
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "usagectl-export-bench")
    ap.add_argument("--month", default="2026-10")
    args = ap.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    cwd = str(args.out)
    db = ["--db", str(args.db), "--tz", "UTC"]
    everything = ["--since", "2000-01-01", "--until", "2100-01-01"]
    month_first = f"{args.month}-01"
    runs = [
        ("events → Parquet (one file)", ["export", "--parquet", "--out", str(args.out / "events.parquet"), *everything]),
        ("events → Parquet, --partition-by month",
         ["export", "--parquet", "--partition-by", "month", "--out", str(args.out / "parts"), *everything]),
        (f"FOCUS CSV, {args.month}", ["export", "--focus", "--out", str(args.out / "focus.csv"), "--since",
                                      month_first, "--until", _month_last(args.month)]),
        (f"PDF --report month {args.month}", ["export", "--pdf", "--month", args.month, "--out",
                                              str(args.out / "month.pdf")]),
        ("CSV --report by-model (month)", ["export", "--report", "by-model", "--since", month_first, "--until",
                                           _month_last(args.month)]),
    ]  # fmt: skip
    print("| export | wall s | peak RSS MiB |\n|---|---|---|")
    for label, cmd in runs:
        secs, rss, _ = timed([*cmd, *db], cwd)
        print(f"| {label} | {secs:.2f} | {rss:.0f} |", flush=True)
    _check(args, db, everything, cwd)


def _month_last(month: str) -> str:
    import calendar

    y, m = map(int, month.split("-"))
    return f"{month}-{calendar.monthrange(y, m)[1]:02d}"


def _check(args: argparse.Namespace, db: list[str], everything: list[str], cwd: str) -> None:
    import duckdb

    _s, _r, out = timed(["report", "by", "model", "--json", *everything, *db], cwd)
    totals = json.loads(out, parse_float=Decimal)["totals"]
    con = duckdb.connect()
    for name, path in (
        ("one file", args.out / "events.parquet"),
        ("partitioned", args.out / "parts" / "**" / "*.parquet"),
    ):
        rows, cost, reqs = con.execute(
            "SELECT count(*), sum(cost_usd), sum(requests) FROM read_parquet(?, hive_partitioning = true)", [str(path)]
        ).fetchone()
        same = round(cost, 6) == totals["cost_usd"] and reqs == totals["requests"]
        print(f"\nParquet {name}: {rows:,} rows, cost {cost}, requests {reqs:,}; report totals: cost "
              f"{totals['cost_usd']}, requests {totals['requests']:,} -> {'SAME' if same else 'DIFFERENT'}")  # fmt: skip


if __name__ == "__main__":
    main()
