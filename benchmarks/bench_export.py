"""Time `usagectl export` as a user runs it (whole processes) on the 10M-event database.

    cp benchmarks/out/bench-10m.duckdb /tmp/bench-10m-export.duckdb
    python benchmarks/bench_export.py --db /tmp/bench-10m-export.duckdb [--out /tmp/export-bench]
        [--only parquet,csv-month,...] [--pythonpath /tmp/old-checkout]

Runs, one after the other: the Parquet events export (one file, then Hive-partitioned by
month), the FOCUS export of the last month, the month PDF, a report CSV, and the events as CSV
and JSONL (one month, then everything); for each the wall time, the CPU time (user + sys) and
the peak RSS of that child process alone (rusage from ``os.wait4``) and the 1-minute load
average before it (the machine may be shared: CPU time is the steadier number), then reads the
Parquet back with DuckDB and checks its row count and cost against ``usagectl report`` totals.
``--pythonpath`` runs another checkout of the package (e.g. the previous commit, with its
``pricing/``), to time before and after back to back.
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


def timed(args: list[str], cwd: str, pythonpath: str | None = None) -> tuple[float, float, str, float]:
    """(seconds, peak RSS MiB of this child alone, stdout, CPU seconds user + sys)."""
    env = os.environ | ({"PYTHONPATH": pythonpath} if pythonpath else {})
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", RUN, *args], stdout=out, stderr=err, text=True, cwd=cwd, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        secs = time.perf_counter() - t0
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            raise SystemExit(f"{args} failed: {err.read()[-2000:]}")
        out.seek(0)
        return secs, usage.ru_maxrss / 1024, out.read(), usage.ru_utime + usage.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True, type=Path)
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "usagectl-export-bench")
    ap.add_argument("--month", default="2026-10")
    ap.add_argument("--only", help="comma-separated run keys (default: all): " + ", ".join(KEYS))
    ap.add_argument("--pythonpath", help="run this checkout of usagectl instead of the installed one")
    args = ap.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    cwd = str(args.out)
    db = ["--db", str(args.db), "--tz", "UTC"]
    everything = ["--since", "2000-01-01", "--until", "2100-01-01"]
    month_first = f"{args.month}-01"
    month = ["--since", month_first, "--until", _month_last(args.month)]
    runs = [
        ("parquet", "events → Parquet (one file)",
         ["export", "--parquet", "--out", str(args.out / "events.parquet"), *everything]),
        ("parquet-month", "events → Parquet, --partition-by month",
         ["export", "--parquet", "--partition-by", "month", "--out", str(args.out / "parts"), *everything]),
        ("focus", f"FOCUS CSV, {args.month}", ["export", "--focus", "--out", str(args.out / "focus.csv"), *month]),
        ("pdf", f"PDF --report month {args.month}",
         ["export", "--pdf", "--month", args.month, "--out", str(args.out / "month.pdf")]),
        ("report-csv", "CSV --report by-model (month)", ["export", "--report", "by-model", *month]),
        ("csv-month", f"events → CSV, {args.month}", ["export", "--csv", "--out", str(args.out / "m.csv"), *month]),
        ("jsonl-month", f"events → JSONL, {args.month}",
         ["export", "--jsonl", "--out", str(args.out / "m.jsonl"), *month]),
        ("csv-all", "events → CSV, all", ["export", "--csv", "--out", str(args.out / "all.csv"), *everything]),
        ("jsonl-all", "events → JSONL, all", ["export", "--jsonl", "--out", str(args.out / "all.jsonl"), *everything]),
    ]  # fmt: skip
    only = set(args.only.split(",")) if args.only else set(KEYS)
    print(
        "| export | wall s | CPU s (user+sys) | peak RSS MiB | load avg before | output MB |\n|---|---|---|---|---|---|"
    )
    for key, label, cmd in runs:
        if key not in only:
            continue
        load = os.getloadavg()[0]
        secs, rss, _, cpu = timed([*cmd, *db], cwd, args.pythonpath)
        size = _size(Path(cmd[cmd.index("--out") + 1])) if "--out" in cmd else 0
        print(f"| {label} | {secs:.2f} | {cpu:.1f} | {rss:.0f} | {load:.1f} | {size / 1e6:.0f} |", flush=True)
        for name in ("m.csv", "m.jsonl", "all.csv", "all.jsonl"):
            (args.out / name).unlink(missing_ok=True)  # GBs: keep only the Parquet for the check
    if {"parquet", "parquet-month"} <= only:
        _check(args, db, everything, cwd)


KEYS = ("parquet", "parquet-month", "focus", "pdf", "report-csv", "csv-month", "jsonl-month", "csv-all", "jsonl-all")


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size if path.exists() else 0


def _month_last(month: str) -> str:
    import calendar

    y, m = map(int, month.split("-"))
    return f"{month}-{calendar.monthrange(y, m)[1]:02d}"


def _check(args: argparse.Namespace, db: list[str], everything: list[str], cwd: str) -> None:
    import duckdb

    _s, _r, out, _c = timed(["report", "by", "model", "--json", *everything, *db], cwd, args.pythonpath)
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
