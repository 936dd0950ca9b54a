"""Time the codex import as a user runs it (whole processes) on generated session trees.

    python benchmarks/bench_codex.py --sessions 100 1000 [--ccusage /tmp/ccu/node_modules/.bin/ccusage]
    python benchmarks/bench_codex.py --sessions 100 --ab /tmp/old-src --repeat 3   # A/B, first import only

For each size: generate the tree once (gen_codex.py, under benchmarks/data/), import its
``sessions`` folder into a fresh database (wall time, CPU time and peak RSS of the process),
import it again (unchanged), then register it as a source: the first ``sync`` and three syncs
with nothing new; then, on a copy of the tree synced once, one more call appended to
``--grow`` files (default 50) and the ``sync`` that reads them again (whole: a rollout's usage
is a delta against its earlier lines). ``--ccusage`` times ``ccusage codex daily --offline --json`` (ccusage 20
reads ``CODEX_HOME``) on the same tree. ``--ab DIR`` alternates a baseline copy of the package
(as in bench_claude_code.py) with the current code and checks that both stored the same.
Prints Markdown table rows (paste into RESULTS.md).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

from bench_claude_code import LAST_CPU, OUT, USAGECTL, bytecode_env, compile_package, fingerprint, fresh, timed

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"


def tree_for(sessions: int) -> Path:
    tree = DATA / f"codex-{sessions}"
    if not (tree / "sessions").exists():
        subprocess.run([sys.executable, str(HERE / "gen_codex.py"), str(tree), "--sessions", str(sessions)], check=True)
    return tree


def warm(tree: Path) -> tuple[int, int]:
    files = sorted(tree.rglob("rollout-*.jsonl"))
    subprocess.run(["cat", *map(str, files)], stdout=subprocess.DEVNULL, check=True)
    return len(files), sum(f.stat().st_size for f in files)


def grow(files: list[Path], seconds: int = 60) -> None:
    """Append to each file a copy of its last counted token_count, every total one call larger
    (10 tokens of each kind), ``seconds`` later: what Codex writes after one more call."""
    from datetime import datetime, timedelta

    for f in files:
        last = None
        for line in f.read_text(encoding="utf-8").splitlines():
            obj = json.loads(line)
            payload = obj.get("payload") or {}
            if obj.get("type") == "event_msg" and payload.get("type") == "token_count" and payload.get("info"):
                last = obj
        if last is None:
            continue
        info = last["payload"]["info"]
        step = dict.fromkeys(info["total_token_usage"], 10)
        info["total_token_usage"] = {k: v + step[k] for k, v in info["total_token_usage"].items()}
        info["last_token_usage"] = step
        ts = datetime.fromisoformat(last["timestamp"].replace("Z", "+00:00")) + timedelta(seconds=seconds)
        last["timestamp"] = ts.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        with f.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(last) + "\n")


def grown_sync(tree: Path, n: int, env: dict[str, str]) -> float:
    """Seconds of the ``sync`` after ``n`` files of a synced copy of ``tree`` grew by one call."""
    copy = OUT / f"{tree.name}-grown"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(tree / "sessions", copy / "sessions")
    db = copy / "db.duckdb"
    timed([*USAGECTL, "source", "add", str(copy / "sessions"), "--format", "codex", "--db", str(db)], env)
    timed([*USAGECTL, "sync", "--db", str(db)], env)
    grow(sorted(copy.rglob("rollout-*.jsonl"))[:n])
    secs = timed([*USAGECTL, "sync", "--db", str(db)], env)[0]
    shutil.rmtree(copy, ignore_errors=True)
    return secs


def ab(tree: Path, baseline: str, repeat: int, env: dict[str, str]) -> None:
    warm(tree)
    for _ in range(repeat):
        for label, pp in (("baseline", baseline), ("current", "")):
            db = OUT / f"{tree.name}-{label}.duckdb"
            fresh(db)
            run_env = {**env, "PYTHONPATH": pp} if pp else env
            imp = [*USAGECTL, "import", str(tree / "sessions"), "--format", "codex", "--db", str(db), "--json"]
            secs, rss, out = timed(imp, run_env, cwd="/")
            s = json.loads(out)
            print(
                f"| {tree.name} | {label} | {secs:.2f} s | CPU {LAST_CPU[0]:.2f} s | {rss:.0f} MiB | {s['imported']:,} |"
            )
    base, cur = (fingerprint(OUT / f"{tree.name}-{label}.duckdb") for label in ("baseline", "current"))
    print(f"same events, rejects and batch counts: {base == cur}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", nargs="+", type=int, default=[100, 1000])
    ap.add_argument("--ccusage", help="path of a ccusage (20.x) binary to time beside")
    ap.add_argument("--ab", metavar="DIR", help="directory holding a baseline copy of the usagectl package")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--grow", type=int, default=50, help="files that grow by one call before the last sync")
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    env = bytecode_env()
    env["USAGECTL_CONFIG"] = str(OUT / "none.toml")
    (OUT / "none.toml").touch()
    compile_package(HERE.parent)
    if args.ab:
        compile_package(Path(args.ab))
    for sessions in args.sessions:
        tree = tree_for(sessions)
        if args.ab:
            ab(tree, args.ab, args.repeat, env)
            continue
        files, size = warm(tree)
        db = OUT / f"{tree.name}.duckdb"
        fresh(db)
        imp = [*USAGECTL, "import", str(tree / "sessions"), "--format", "codex", "--db", str(db), "--json"]
        t_first, rss, out = timed(imp, env)
        cpu = LAST_CPU[0]
        summary = json.loads(out)
        t_again = timed(imp, env)[0]
        sdb = OUT / f"{tree.name}-sync.duckdb"
        fresh(sdb)
        timed([*USAGECTL, "source", "add", str(tree / "sessions"), "--format", "codex", "--db", str(sdb)], env)
        t_sync = timed([*USAGECTL, "sync", "--db", str(sdb)], env)[0]
        noop = statistics.median(timed([*USAGECTL, "sync", "--db", str(sdb)], env)[0] for _ in range(3))
        t_grown = grown_sync(tree, args.grow, env)
        peer = "–"
        if args.ccusage:
            t_peer, rss_peer, _ = timed(
                [args.ccusage, "codex", "daily", "--offline", "--json"], {**env, "CODEX_HOME": str(tree)}
            )
            peer = f"{t_peer:.2f} s, {rss_peer:.0f} MiB"
        print(
            f"| {sessions:,} | {files:,} | {size / 1e6:,.0f} MB | {summary['imported']:,} | {t_first:.2f} s (CPU {cpu:.2f} s) "
            f"| {rss:.0f} MiB | {t_again:.2f} s | {t_sync:.2f} s | {noop:.3f} s | {t_grown:.2f} s ({args.grow} grown) "
            f"| {peer} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
