"""Time the LiteLLM SpendLogs import as a user runs it (whole processes) on a generated psql export.

    python benchmarks/bench_litellm.py --rows 200000 [--ab /tmp/old-src --repeat 3]

The export (``benchmarks/data/litellm-<rows>.csv``, made once) repeats the rows of the test
fixture ``tests/data/litellm/spendlogs.csv`` (OpenAI and Anthropic calls, cache reads and
writes, a response-cache hit, a failure, JSON ``metadata`` and ``request_tags`` in quoted
fields, as ``psql \\copy ... CSV HEADER`` writes them), each copy with its own ``request_id``,
its times moved forward and its member chosen among 50. For each run: a first import into a
fresh database (wall, CPU and peak RSS of the process) and the same file again (all
duplicates). ``--ab DIR`` alternates a baseline copy of the package with the current code and
checks that both stored the same events. Prints Markdown table rows (paste into RESULTS.md).
"""

from __future__ import annotations

import argparse
import csv
import statistics
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

from bench_claude_code import LAST_CPU, OUT, USAGECTL, bytecode_env, compile_package, fresh, timed

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
FIXTURE = HERE.parent / "tests" / "data" / "litellm" / "spendlogs.csv"
_TIMES = ("startTime", "endTime", "completionStartTime")


def export_for(rows: int) -> Path:
    path = DATA / f"litellm-{rows}.csv"
    if path.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    with FIXTURE.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header = list(reader.fieldnames or [])
        base = [r for r in reader if None not in r and all(v is not None for v in r.values())]  # well-formed rows
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, header, lineterminator="\n")
        writer.writeheader()
        for i in range(rows):
            row = dict(base[i % len(base)])
            row["request_id"] = f"req-{i:09d}"
            shift = timedelta(seconds=(i * 13) % (30 * 86400))
            for col in _TIMES:
                if row.get(col):
                    row[col] = (datetime.fromisoformat(row[col]) + shift).isoformat(sep=" ", timespec="milliseconds")
            if row.get("user"):
                row["user"] = f"member{i % 50:02d}@example.com"
            writer.writerow(row)
    tmp.replace(path)
    return path


def events(db: Path) -> tuple[object, ...]:
    """Count and an order-independent hash of every stored column of every event."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        cols = [r[0] for r in con.execute("DESCRIBE events").fetchall() if r[0] != "batch_id"]
        sql = f"SELECT count(*), bit_xor(hash(concat_ws('|', {', '.join(f'{c}::VARCHAR' for c in cols)}))) FROM events"
        return tuple(con.execute(sql).fetchone() or ())
    finally:
        con.close()


def run(path: Path, db: Path, pythonpath: str = "") -> tuple[float, float, float, float]:
    """(first import s, its CPU s, its peak MiB, second import s)."""
    env = bytecode_env()
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    fresh(db)
    cmd = [*USAGECTL, "import", str(path), "--format", "litellm", "--db", str(db)]
    first, peak, _ = timed(cmd, env=env, cwd="/tmp" if pythonpath else None)
    cpu = LAST_CPU[0]
    again, _, _ = timed(cmd, env=env, cwd="/tmp" if pythonpath else None)
    return first, cpu, peak, again


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, nargs="+", default=[200_000])
    ap.add_argument("--ab", metavar="DIR", help="directory holding a baseline copy of the usagectl package")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    compile_package(HERE.parent)
    if args.ab:
        compile_package(Path(args.ab))
    OUT.mkdir(exist_ok=True)
    for rows in args.rows:
        path = export_for(rows)
        subprocess.run(["cat", str(path)], stdout=subprocess.DEVNULL, check=True)  # warm cache
        mb = path.stat().st_size / 1e6
        labels = [("baseline", args.ab), ("current", "")] if args.ab else [("current", "")]
        results: dict[str, list[tuple[float, float, float, float]]] = {label: [] for label, _ in labels}
        stored: dict[str, tuple[object, ...]] = {}
        for _ in range(args.repeat):
            for label, pp in labels:
                db = OUT / f"litellm-{rows}-{label}.duckdb"
                results[label].append(run(path, db, pp or ""))
                stored[label] = events(db)
        if args.ab and stored["baseline"] != stored["current"]:
            print(f"WARNING: the two versions stored different events: {stored}", file=sys.stderr)
        for label, runs in results.items():
            firsts = ", ".join(f"{r[0]:.2f}" for r in runs)
            print(
                f"| {rows:,} | {mb:.0f} MB | {label} | {firsts} s (median {statistics.median(r[0] for r in runs):.2f}, "
                f"CPU {statistics.median(r[1] for r in runs):.2f} s) | {max(r[2] for r in runs):.0f} MiB "
                f"| {statistics.median(r[3] for r in runs):.2f} s | {stored[label][0]:,} events |"
            )


if __name__ == "__main__":
    main()
