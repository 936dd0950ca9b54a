"""Time usagectl as a user runs it (whole processes), and write benchmarks/RESULTS.md.

    python benchmarks/run.py                 # 1M and 10M events
    python benchmarks/run.py --sizes 1m      # quicker

For each size: generate canonical JSONL with gen_events.py (once, kept under benchmarks/data/),
import it into a fresh database (peak RSS of the whole process from the kernel's rusage),
then time `report month` several times and take the median; also `usagectl --help`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
OUT = HERE / "out"
SIZES = {"1m": 1_000_000, "10m": 10_000_000}
FILES = {"1m": 8, "10m": 64}


def usagectl() -> list[str]:
    exe = Path(sys.executable).with_name("usagectl")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "usagectl"]


def measure(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """(seconds, peak RSS MiB, stdout) of one whole process."""
    wrapper = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "p = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)\n"
        "dt = time.perf_counter() - t\n"
        "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
        "sys.stderr.write(f'{dt} {rss} {p.returncode}\\n')\n"
        "sys.stdout.buffer.write(p.stdout)\n"
    )
    proc = subprocess.run([sys.executable, "-c", wrapper, *cmd], capture_output=True, env=env, check=False)
    seconds, rss, code = proc.stderr.decode().split()[-3:]
    if int(code) != 0:
        again = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        raise SystemExit(f"failed ({code}): {' '.join(cmd)}\n{again.stderr[-2000:]}")
    return float(seconds), float(rss), proc.stdout.decode()


def generate(size: str) -> Path:
    target = DATA / f"events-{size}"
    marker = target / ".done"
    if marker.exists():
        return target
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, str(HERE / "gen_events.py"), "--events", str(SIZES[size]), "--files", str(FILES[size]),
         "--days", "365", "--seed", "1", "--bad-lines", "0.001", "--out", str(target / "events.jsonl")],
        check=True,
    )  # fmt: skip
    marker.write_text("ok")
    return target


def bench(size: str, repeats: int) -> dict[str, object]:
    data = generate(size)
    OUT.mkdir(exist_ok=True)
    db = OUT / f"bench-{size}.duckdb"
    for p in (db, db.with_name(db.name + ".wal")):
        if p.exists():
            p.unlink()
    env = dict(os.environ, CI="true", USAGECTL_CONFIG=str(OUT / "none.toml"))
    # as an installed package runs: with its bytecode cached (this sandbox sets the variable)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    (OUT / "none.toml").write_text('[display]\ntimezone = "UTC"\n')
    files = sorted(str(p) for p in data.glob("*.jsonl"))
    size_bytes = sum(Path(f).stat().st_size for f in files)
    secs, rss, out = measure([*usagectl(), "import", str(data), "--db", str(db), "--json"], env)
    summary = json.loads(out)
    measure([*usagectl(), "report", "month", "--month", "2026-11", "--db", str(db), "--json"], env)  # warm-up
    month_times = []
    for _ in range(repeats):
        t, r, _ = measure([*usagectl(), "report", "month", "--month", "2026-11", "--db", str(db), "--json"], env)
        month_times.append((t, r))
    daily_t = statistics.median(
        measure([*usagectl(), "report", "daily", "--since", "2026-01-01", "--until", "2026-11-25", "--db", str(db), "--json"], env)[0]
        for _ in range(repeats)
    )  # fmt: skip
    again, _, _ = measure([*usagectl(), "import", str(data), "--db", str(db), "--json"], env)
    return {
        "size": size,
        "lines": SIZES[size],
        "files": len(files),
        "bytes": size_bytes,
        "import_s": secs,
        "import_rss_mib": rss,
        "imported": summary["imported"],
        "duplicates": summary["duplicates"],
        "rejected": summary["rejected"],
        "reimport_unchanged_s": again,
        "month_s": statistics.median(t for t, _ in month_times),
        "month_rss_mib": max(r for _, r in month_times),
        "daily_year_s": daily_t,
        "db_bytes": db.stat().st_size,
    }


def help_time(repeats: int) -> float:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return statistics.median(measure([*usagectl(), "--help"], env)[0] for _ in range(repeats))


def write_results(rows: list[dict[str, object]], help_s: float) -> None:
    import duckdb

    lines = [
        "# Benchmark results",
        "",
        (
            f"Recorded {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `python benchmarks/run.py` "
            f"(whole processes, warm page cache; report timings are the median of several runs)."
        ),
        "",
        (
            f"Machine: {os.cpu_count()} cores, {_mem_gib():.0f} GiB RAM, {platform.platform()}, "
            f"Python {platform.python_version()}, duckdb {duckdb.__version__}."
        ),
        "",
        (
            "Data: `benchmarks/gen_events.py` canonical JSONL over 365 days ending 2026-11-25, ~1 % duplicate "
            "lines and 0.1 % malformed lines, split into several files."
        ),
        "",
        "| events (lines) | files | MB | import | import peak RSS | imported / dup / rejected | re-import (unchanged) | `report month` | `report daily` (11 months) | db size |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['lines']:,} | {r['files']} | {int(r['bytes']) / 1e6:,.0f} | {float(r['import_s']):.2f} s | "  # type: ignore[arg-type]
            f"{float(r['import_rss_mib']):,.0f} MiB | {r['imported']:,} / {r['duplicates']:,} / {r['rejected']:,} | "  # type: ignore[arg-type]
            f"{float(r['reimport_unchanged_s']):.2f} s | {float(r['month_s']):.3f} s | {float(r['daily_year_s']):.3f} s | "  # type: ignore[arg-type]
            f"{int(r['db_bytes']) / 1e6:,.0f} MB |"  # type: ignore[arg-type]
        )
    lines += ["", f"`usagectl --help`: {help_s:.3f} s (median of 7).", ""]
    (HERE / "RESULTS.md").write_text("\n".join(lines) + "\n" + _TARGETS_PLACEHOLDER, encoding="utf-8")
    print("\n".join(lines))


_TARGETS_PLACEHOLDER = ""


def _mem_gib() -> float:
    try:
        with open("/proc/meminfo") as fh:
            return int(fh.readline().split()[1]) / 1024 / 1024
    except OSError:
        return 0.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1m,10m")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    rows = []
    for size in args.sizes.split(","):
        t0 = time.perf_counter()
        rows.append(bench(size.strip(), args.repeats))
        print(f"{size}: {rows[-1]} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    write_results(rows, help_time(7))


if __name__ == "__main__":
    main()
