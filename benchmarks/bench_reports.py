"""Time every report command, whole process, on the generated 1M and 10M databases.

Usage: python benchmarks/bench_reports.py [--db10 PATH] [--db1 PATH] [--repeats 3] [--out FILE]

Each command runs once as a warm-up, then ``--repeats`` times; the median is reported with the
CPU time (user + sys) of the median run and the 1-minute load average before the runs, because
a shared 2-core machine swings wall-clock numbers. Databases come from ``benchmarks/run.py``
(``benchmarks/out/bench-{1m,10m}.duckdb``).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"

# (label, arguments) on the 10M database; target ≤ 1 s (issue 4)
TEN_M = [
    ("report month", ["report", "month"]),
    ("report daily", ["report", "daily"]),
    ("report weekly", ["report", "weekly"]),
    ("report monthly (12 months)", ["report", "monthly"]),
    ("report hourly", ["report", "hourly"]),
    ("report by member", ["report", "by", "member"]),
    ("report by team,model --top 3", ["report", "by", "team,model", "--top", "3"]),
    ("report by model --since 2025-11-26 (a year)", ["report", "by", "model", "--since", "2025-11-26"]),
    ("report compare --period 2026-10", ["report", "compare", "--period", "2026-10"]),
    ("report integrations", ["report", "integrations"]),
    ("report platforms", ["report", "platforms"]),
    ("report files", ["report", "files"]),
    ("report team", ["report", "team"]),
    ("report chats", ["report", "chats"]),
    ("report duplicates", ["report", "duplicates"]),
    ("cost", ["cost"]),
    ("invoice (balance over all months)", ["invoice", "--month", "2026-10"]),
    ("doctor", ["doctor"]),
    ("budget status", ["budget", "status"]),
    ("forecast", ["forecast"]),
    ("anomalies", ["anomalies"]),
    ("optimize", ["optimize"]),
]
ONE_M = [
    ("report month", ["report", "month", "--month", "2026-11"]),
    ("status", ["status"]),
]


def _exe() -> list[str]:
    found = shutil.which("usagectl")
    return [found] if found else [sys.executable, "-c", "from usagectl.cli import main; main()"]


def _run(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed: {proc.stderr.strip()[:400]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure(db: Path, cases: list[tuple[str, list[str]]], repeats: int) -> list[tuple[str, float, float, float]]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["USAGECTL_CONFIG"] = str(OUT / "none.toml")
    (OUT / "none.toml").touch()
    rows = []
    for label, args in cases:
        cmd = [*_exe(), *args, "--db", str(db), "--tz", "UTC"]
        if args[0] != "status":
            cmd.append("--json")
        load = os.getloadavg()[0]
        _run(cmd, env)
        runs = sorted(_run(cmd, env) for _ in range(repeats))
        wall, cpu = runs[len(runs) // 2]
        rows.append((label, wall, cpu, load))
        print(f"{label}: {wall:.3f} s (cpu {cpu:.2f} s, load {load:.1f})", file=sys.stderr)
    return rows


def table(rows: list[tuple[str, float, float, float]], target: float) -> str:
    lines = ["| command | median wall | CPU (user+sys) | load before | target |", "|---|---|---|---|---|"]
    for label, wall, cpu, load in rows:
        ok = "met" if wall <= target else "**not met**"
        lines.append(f"| `{label}` | {wall:.3f} s | {cpu:.2f} s | {load:.1f} | ≤ {target:g} s: {ok} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db10", type=Path, default=OUT / "bench-10m.duckdb")
    ap.add_argument("--db1", type=Path, default=OUT / "bench-1m.duckdb")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    parts = [f"Recorded {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, `python benchmarks/bench_reports.py`."]
    if a.db10.exists():
        parts += [
            "",
            "10M events (each command's default range; `--json --tz UTC`):",
            "",
            table(measure(a.db10, TEN_M, a.repeats), 1.0),
        ]
    if a.db1.exists():
        rows = measure(a.db1, ONE_M, a.repeats)
        parts += ["", "1M events:", "", table(rows[:1], 0.3), table(rows[1:], 0.15).split("\n", 2)[2]]
    text = "\n".join(parts) + "\n"
    if a.out:
        a.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
