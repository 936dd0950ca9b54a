"""Time the claude-code import as a user runs it (whole processes) on generated trees.

    python benchmarks/bench_claude_code.py --sizes 100k 1m [--ccusage /tmp/ccu/node_modules/.bin/ccusage]
    python benchmarks/bench_claude_code.py --sizes 100k --ab /tmp/old-src --repeat 3   # A/B, first import only

For each size: generate the tree once (gen_claude_code.py, under benchmarks/data/), import it
into a fresh database (wall time and peak RSS of the process from the kernel's rusage),
import it again (unchanged), then `report daily` and `report by model` (median of 5); then the
same tree as a registered source: `source add`, the first `sync`, and five syncs with nothing new.
Prints a Markdown table row per size (paste into RESULTS-claude-code.md).

``--ab DIR`` times the first import only, alternating a baseline (DIR holds a copy of an older
``usagectl`` package, put first on PYTHONPATH, with a copy of ``pricing/`` beside it) and the
current code back to back, ``--repeat`` times, with the load average before each run and the
CPU time (user + sys) of each process: on a shared machine only such paired runs compare, and
CPU time is the steadier figure. It then checks that both stored the same thing
(``FINGERPRINT``: events with every field and their file, rejects, per-file counts).
"""

from __future__ import annotations

import argparse
import json
import os
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


LAST_CPU = [0.0]  # user+sys seconds of the last timed child (steadier than wall time on a busy machine)


def timed(cmd: list[str], env: dict[str, str] | None = None, cwd: str | None = None) -> tuple[float, float, str]:
    """(seconds, peak RSS MiB of this child alone, stdout); its CPU time goes to LAST_CPU."""
    import tempfile

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, env=env, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        secs = time.perf_counter() - t0
        LAST_CPU[0] = usage.ru_utime + usage.ru_stime
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise SystemExit(f"{cmd} failed ({proc.returncode}): {err.read()[-2000:]}")
        out.seek(0)
        return secs, usage.ru_maxrss / 1024, out.read()


# what an import stored, order-independent: counts and token sums, then a hash over every
# stored field of every event (with its file), every reject and every batch's counts
FINGERPRINT = (
    "SELECT count(*), sum(input_tokens), sum(cache_read_tokens), sum(cache_write_5m_tokens), "
    "sum(cache_write_1h_tokens), sum(output_tokens), sum(web_search_requests), "
    "bit_xor(hash(concat_ws('|', event_id, ts::VARCHAR, e.source, provider, model, model_raw, requests, input_tokens, "
    "cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens, output_tokens, reasoning_tokens, "
    "web_search_requests, service_tier, project, session_id, message_id, reported_cost_usd::VARCHAR, "
    "extra::VARCHAR, b.path))) FROM events e JOIN import_batches b USING (batch_id)",
    "SELECT count(*), bit_xor(hash(concat_ws('|', file, line, record, reason, raw))) FROM rejects",
    "SELECT count(*), sum(records), sum(imported), sum(duplicates), sum(rejected), sum(replaced), "
    "bit_xor(hash(concat_ws('|', path, records, imported, duplicates, rejected, dup_in_file, dup_stored, replaced))) "
    "FROM import_batches",
)


def fingerprint(db: Path) -> list[tuple[object, ...]]:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return [tuple(con.execute(q).fetchone() or ()) for q in FINGERPRINT]
    finally:
        con.close()


def fresh(db: Path) -> None:
    for p in (db, Path(str(db) + ".wal")):
        p.unlink(missing_ok=True)


def bytecode_env() -> dict[str, str]:
    """The environment a user runs in: Python caches compiled modules. (This sandbox sets
    PYTHONDONTWRITEBYTECODE=1; every process would then compile each module edited since the
    last cache write, ~5-15 ms apiece, and time that instead of the import.)"""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def compile_package(root: Path) -> None:
    """Write the bytecode cache of the package under ``root`` (as pip does at install)."""
    for pkg in ("usagectl", "pricing"):
        if (root / pkg).is_dir():
            subprocess.run([sys.executable, "-m", "compileall", "-q", str(root / pkg)], env=bytecode_env(), check=True,
                           stdout=subprocess.DEVNULL)  # fmt: skip


def ab(size: str, tree: Path, baseline: str, repeat: int, env: dict[str, str]) -> None:
    """First import only: baseline (older package copy on PYTHONPATH) and current, back to back."""
    subprocess.run(["cat", *map(str, tree.rglob("*.jsonl"))], stdout=subprocess.DEVNULL, check=True)  # warm cache
    runs: dict[str, list[float]] = {"baseline": [], "current": []}
    cpus: dict[str, list[float]] = {"baseline": [], "current": []}
    for _ in range(repeat):
        for label, pp in (("baseline", baseline), ("current", "")):
            db = OUT / f"cc-{size}-{label}.duckdb"
            fresh(db)
            run_env = {**env, "PYTHONPATH": pp} if pp else env
            load = os.getloadavg()[0]
            imp = [*USAGECTL, "import", str(tree / "projects"), "--format", "claude-code", "--db", str(db), "--json"]
            secs, rss, out = timed(imp, run_env, cwd="/")
            s = json.loads(out)
            runs[label].append(secs)
            cpus[label].append(LAST_CPU[0])
            print(
                f"| {size} | {label} | {secs:.2f} s | CPU {LAST_CPU[0]:.2f} s | {rss:.0f} MiB | load {load:.2f} | "
                f"{s['imported']:,} / {s['duplicates']:,} / {s['rejected']:,} |",
                flush=True,
            )
    print(
        f"| {size} | min baseline {min(runs['baseline']):.2f} s (CPU {min(cpus['baseline']):.2f} s) | "
        f"min current {min(runs['current']):.2f} s (CPU {min(cpus['current']):.2f} s) |"
    )
    base, cur = (fingerprint(OUT / f"cc-{size}-{label}.duckdb") for label in ("baseline", "current"))
    print(f"same events, rejects and batch counts: {base == cur}")
    for b, c in zip(base, cur):
        print(f"  baseline {b}\n  current  {c}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", nargs="+", default=["100k", "1m"])
    ap.add_argument("--ccusage", help="path of a ccusage binary to time beside")
    ap.add_argument("--ab", metavar="DIR", help="directory holding a baseline copy of the usagectl package")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    compile_package(HERE.parent)
    for size in args.sizes:
        tree = DATA / f"cc-{size}"
        if not (tree / "FACTS.json").exists():
            subprocess.run(
                [sys.executable, str(HERE / "gen_claude_code.py"), str(tree), "--records", str(SIZES[size])], check=True
            )
        facts = json.loads((tree / "FACTS.json").read_text())
        env = bytecode_env()
        env["USAGECTL_CONFIG"] = str(OUT / "none.toml")
        (OUT / "none.toml").touch()
        if args.ab:
            compile_package(Path(args.ab))
            ab(size, tree, args.ab, args.repeat, env)
            continue
        subprocess.run(["cat", *map(str, tree.rglob("*.jsonl"))], stdout=subprocess.DEVNULL, check=True)  # warm cache
        db = OUT / f"cc-{size}.duckdb"
        fresh(db)
        imp = [*USAGECTL, "import", str(tree / "projects"), "--format", "claude-code", "--db", str(db), "--json"]
        load = os.getloadavg()[0]
        t_first, rss_first, out = timed(imp, env)
        cpu_first = LAST_CPU[0]
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
        # the same tree as a registered source: the first sync, then syncs with nothing new
        sdb = OUT / f"cc-{size}-sync.duckdb"
        fresh(sdb)
        timed([*USAGECTL, "source", "add", str(tree / "projects"), "--format", "claude-code", "--db", str(sdb)], env)
        t_sync, rss_sync, _ = timed([*USAGECTL, "sync", "--db", str(sdb)], env)
        noop = [timed([*USAGECTL, "sync", "--db", str(sdb)], env)[0] for _ in range(5)]
        print(
            f"sync: first {t_sync:.2f} s, {rss_sync:.0f} MiB; nothing new: "
            + ", ".join(f"{t:.3f}" for t in noop)
            + f" s (median {statistics.median(noop):.3f} s)",
            flush=True,
        )
        peer = ""
        if args.ccusage:
            cenv = {**os.environ, "CLAUDE_CONFIG_DIR": str(tree)}
            t_peer, rss_peer, _ = timed([args.ccusage, "daily", "--offline", "--json"], cenv)
            peer = f" {t_peer:.2f} s, {rss_peer:.0f} MiB |"
        print(
            f"| {facts['records']:,} | {facts['files']:,} | {facts['bytes'] / 1e6:,.0f} | {t_first:.2f} s "
            f"(CPU {cpu_first:.2f} s, load {load:.2f}) | {rss_first:.0f} MiB | "
            f"{summary['imported']:,} / {summary['duplicates']:,} / {summary['rejected']:,} | {t_again:.2f} s | "
            f"{daily:.3f} s | {by_model:.3f} s |{peer}",
            flush=True,
        )


if __name__ == "__main__":
    main()
