"""Time the claude-code import as a user runs it (whole processes) on generated trees.

    python benchmarks/bench_claude_code.py --sizes 100k 1m [--ccusage /tmp/ccu/node_modules/.bin/ccusage]

For each size: generate the tree once (gen_claude_code.py, under benchmarks/data/), import it
into a fresh database (wall time and peak RSS of the process from the kernel's rusage),
import it again (unchanged), then `report daily` and `report by model` (median of 5).
Prints a Markdown table row per size (paste into RESULTS-claude-code.md).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
OUT = HERE / "out"
SIZES = {"100k": 100_000, "1m": 1_000_000}
USAGECTL = [sys.executable, "-m", "usagectl"]


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """(seconds, peak RSS MiB of the child, stdout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    secs = time.perf_counter() - t0
    if res.returncode not in (0,):
        raise SystemExit(f"{cmd} failed ({res.returncode}): {res.stderr[-2000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return secs, max(peak, before) / 1024, res.stdout


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", nargs="+", default=["100k", "1m"])
    ap.add_argument("--ccusage", help="path of a ccusage binary to time beside")
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    for size in args.sizes:
        tree = DATA / f"cc-{size}"
        if not (tree / "FACTS.json").exists():
            subprocess.run(
                [sys.executable, str(HERE / "gen_claude_code.py"), str(tree), "--records", str(SIZES[size])], check=True
            )
        facts = json.loads((tree / "FACTS.json").read_text())
        subprocess.run(["cat", *map(str, tree.rglob("*.jsonl"))], stdout=subprocess.DEVNULL, check=True)  # warm cache
        db = OUT / f"cc-{size}.duckdb"
        for p in (db, Path(str(db) + ".wal")):
            p.unlink(missing_ok=True)
        env = {**os.environ, "USAGECTL_CONFIG": str(OUT / "none.toml")}
        (OUT / "none.toml").touch()
        imp = [*USAGECTL, "import", str(tree / "projects"), "--format", "claude-code", "--db", str(db), "--json"]
        t_first, rss_first, out = timed(imp, env)
        summary = json.loads(out)
        t_again, _, _ = timed(imp, env)
        rep = [
            *USAGECTL,
            "report",
            "daily",
            "--since",
            "2026-08-01",
            "--until",
            "2026-12-31",
            "--tz",
            "UTC",
            "--db",
            str(db),
            "--json",
        ]
        daily = statistics.median(timed(rep, env)[0] for _ in range(5))
        rep_m = [
            *USAGECTL,
            "report",
            "by",
            "model",
            "--since",
            "2026-08-01",
            "--until",
            "2026-12-31",
            "--tz",
            "UTC",
            "--db",
            str(db),
            "--json",
        ]
        by_model = statistics.median(timed(rep_m, env)[0] for _ in range(5))
        peer = ""
        if args.ccusage:
            cenv = {**os.environ, "CLAUDE_CONFIG_DIR": str(tree)}
            t_peer, rss_peer, _ = timed([args.ccusage, "daily", "--offline", "--json"], cenv)
            peer = f" {t_peer:.2f} s, {rss_peer:.0f} MiB |"
        print(
            f"| {facts['records']:,} | {facts['files']:,} | {facts['bytes'] / 1e6:,.0f} | {t_first:.2f} s | {rss_first:.0f} MiB | "
            f"{summary['imported']:,} / {summary['duplicates']:,} / {summary['rejected']:,} | {t_again:.2f} s | "
            f"{daily:.3f} s | {by_model:.3f} s |{peer}",
            flush=True,
        )


if __name__ == "__main__":
    main()
