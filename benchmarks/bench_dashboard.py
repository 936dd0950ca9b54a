"""Measure the live dashboard and `usagectl status`, and print a markdown report.

    python benchmarks/bench_dashboard.py                     # 1M events, 120 s idle run
    python benchmarks/bench_dashboard.py --seconds 1200      # a longer memory run

1. `status` on 1M events: whole-process wall time (median of N runs) through the CLI, the same
   without Typer (the service and the line renderer only), and where the time goes
   (`python -X importtime` of the CLI: cumulative import time of the big modules).
2. The live dashboard at `--refresh 2` in a real terminal (tmux, 100x30) over a copy of the 1M
   database with a registered (idle) source: CPU of the process from /proc/PID/stat
   (utime+stime) over the run after a warm-up, as % of one core; RSS sampled every few seconds.
3. A recorded tmux run: a line appended to the watched file, the next frame captured.

Data: a copy of benchmarks/out/bench-1m.duckdb (made by benchmarks/run.py --sizes 1m), under
benchmarks/out/ (gitignored).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
PY = sys.executable
# until the lead wires the commands in usagectl.cli, register them the way the tests do
ENTRY = (
    "import sys, usagectl.cli as c\n"
    "from usagectl.cli.dashboard import register\n"
    "if 'status' not in {x.name for x in c.app.registered_commands}: register(c.app)\n"
    "sys.argv[0] = 'usagectl'; c.main()\n"
)
BARE = (
    "import sys\nfrom pathlib import Path\n"
    "from usagectl.services.context import make_context\n"
    "from usagectl.services.status_line import cached_status_line\n"
    "from usagectl.render.dashboard import status_text\n"
    "print(status_text(cached_status_line(make_context(None, Path(sys.argv[1])))))\n"
)
TICK = os.sysconf("SC_CLK_TCK")


def entry() -> Path:
    path = OUT / "usagectl_entry.py"
    if not path.exists() or path.read_text(encoding="utf-8") != ENTRY:
        path.write_text(ENTRY, encoding="utf-8")
    return path


def cli(*args: str) -> list[str]:
    return [PY, str(entry()), *args]


CACHE = OUT / "dashboard-cache"  # XDG_CACHE_HOME of the status runs


def wall(cmd: list[str], runs: int, *, cold: bool = False) -> tuple[list[float], list[float]]:
    """Wall and CPU (user + sys) seconds of ``runs`` whole processes; ``cold``: the status cache
    emptied before each. CPU time barely moves with the load of a shared machine; wall does."""
    times, cpus = [], []
    for _ in range(runs):
        if cold:
            shutil.rmtree(CACHE, ignore_errors=True)
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime)
    return times, cpus


def importtime(cmd: list[str], names: tuple[str, ...]) -> dict[str, float]:
    proc = subprocess.run([PY, "-X", "importtime", *cmd[1:]], capture_output=True, text=True, check=True)
    out: dict[str, float] = {}
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cum, name = (p.strip() for p in line.split(":", 1)[1].split("|"))
        if name in names and name not in out:
            out[name] = int(cum) / 1e6
    return out


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=True).stdout


def prepare(db: Path, src: Path) -> None:
    base = OUT / "bench-1m.duckdb"
    if not base.exists():
        sys.exit("benchmarks/out/bench-1m.duckdb is missing: run `python benchmarks/run.py --sizes 1m` first")
    shutil.copyfile(base, db)
    src.mkdir(parents=True, exist_ok=True)
    (src / "agent.jsonl").write_text(json.dumps(_event("seed", 0)) + "\n", encoding="utf-8")
    subprocess.run(cli("source", "add", str(src), "--name", "bench-agent", "--db", str(db)), check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    subprocess.run(cli("sync", "--db", str(db)), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _event(eid: str, n: int) -> dict[str, object]:
    # the generated data runs to the end of 2026-11-25: stamp after it so the event is the newest
    ts = max(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "2026-11-25T23:59:30Z")
    return {"event_id": f"bench-{eid}", "ts": ts, "model_raw": "gpt-4o", "member": "bench",
            "input_tokens": 1000 + n, "output_tokens": 100}  # fmt: skip


def live_run(db: Path, seconds: float, warmup: float, every: float) -> dict[str, object]:
    env = f"cd {HERE.parent} && exec {PY} {entry()} dashboard --refresh 2 --db {db}"
    tmux("kill-session", "-t", "benchdash") if _has_session() else None
    tmux("new-session", "-d", "-s", "benchdash", "-x", "100", "-y", "30", env)
    pid = int(tmux("list-panes", "-t", "benchdash", "-F", "#{pane_pid}").split()[0])
    time.sleep(warmup)
    if not Path(f"/proc/{pid}").exists():
        sys.exit("the dashboard exited during the warm-up")
    t0, c0 = time.monotonic(), cpu_ticks(pid)
    samples: list[tuple[float, float]] = []
    while (elapsed := time.monotonic() - t0) < seconds:
        samples.append((round(elapsed), rss_mib(pid)))
        time.sleep(every)
    t1, c1 = time.monotonic(), cpu_ticks(pid)
    samples.append((round(t1 - t0), rss_mib(pid)))
    cpu_pct = (c1 - c0) / TICK / (t1 - t0) * 100
    return {"pid": pid, "cpu_pct": cpu_pct, "cpu_s": (c1 - c0) / TICK, "wall_s": t1 - t0, "rss": samples}


def _has_session() -> bool:
    return subprocess.run(["tmux", "has-session", "-t", "benchdash"], capture_output=True).returncode == 0


def capture_append(src: Path) -> tuple[str, str]:
    before = tmux("capture-pane", "-p", "-t", "benchdash")
    with (src / "agent.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(_event("appended-1", 4242)) + "\n")
    deadline = time.monotonic() + 30
    after = before
    while time.monotonic() < deadline:  # the next frame (one refresh = 2 s) shows it
        time.sleep(0.5)
        after = tmux("capture-pane", "-p", "-t", "benchdash")
        if "5,342" in after:  # 4,242 + 1,000 input + 100 output tokens
            break
    return before, after


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=120, help="idle live run length (after warm-up)")
    ap.add_argument("--warmup", type=float, default=10)
    ap.add_argument("--every", type=float, default=5, help="RSS sample interval")
    ap.add_argument("--runs", type=int, default=11, help="status runs (median)")
    ap.add_argument("--status-only", action="store_true", help="only the status timings (part 1)")
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    db, src = OUT / "dashboard-1m.duckdb", OUT / "dashboard-src"
    prepare(db, src)

    os.environ["XDG_CACHE_HOME"] = str(CACHE)
    status_cli = wall(cli("status", "--db", str(db)), args.runs, cold=True)
    status_cli_hit = wall(cli("status", "--db", str(db)), args.runs)
    status_bare = wall([PY, "-c", BARE, str(db)], args.runs, cold=True)
    status_bare_hit = wall([PY, "-c", BARE, str(db)], args.runs)
    help_cli = wall(cli("--help"), args.runs)
    python_only = wall([PY, "-c", "pass"], args.runs)
    duck_only = wall([PY, "-c", "import duckdb"], args.runs)
    imports = importtime(
        cli("status", "--db", str(db)), ("typer", "usagectl.cli", "duckdb", "rich", "usagectl.store.reports")
    )
    print(f"## status on 1M events (whole process, median of {args.runs})\n")
    for name, ts in (("usagectl status (CLI), cache empty", status_cli), ("usagectl status (CLI), cache hit", status_cli_hit),
                     ("status without Typer, cache empty", status_bare), ("status without Typer, cache hit", status_bare_hit),
                     ("usagectl --help", help_cli), ("python -c pass", python_only), ("python -c 'import duckdb'", duck_only)):  # fmt: skip
        w, c = ts
        print(f"- {name}: wall median {statistics.median(w):.3f} s (min {min(w):.3f}, max {max(w):.3f}); "
              f"CPU median {statistics.median(c):.3f} s")  # fmt: skip
    print(f"\nload average during the runs: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print("\nimporttime (cumulative, one run): " + ", ".join(f"{k} {v:.3f} s" for k, v in imports.items()))

    if args.status_only:
        return 0
    live = live_run(db, args.seconds, args.warmup, args.every)
    print(f"\n## live dashboard, --refresh 2, idle, {live['wall_s']:.0f} s after {args.warmup:.0f} s warm-up\n")
    print(f"- CPU: {live['cpu_s']:.2f} s of CPU in {live['wall_s']:.1f} s = {live['cpu_pct']:.2f} % of one core")
    rss = [r for _, r in live["rss"]]  # type: ignore[attr-defined]
    print(f"- RSS MiB: first {rss[0]:.1f}, last {rss[-1]:.1f}, min {min(rss):.1f}, max {max(rss):.1f}")
    print("- samples (s, MiB): " + ", ".join(f"{t}:{r:.1f}" for t, r in live["rss"]))  # type: ignore[attr-defined]
    before, after = capture_append(src)
    print("\n## tmux capture before the append\n\n```\n" + before.rstrip() + "\n```")
    print("\n## tmux capture of the next frame (bench-appended-1: 5,342 tokens)\n\n```\n" + after.rstrip() + "\n```")
    tmux("send-keys", "-t", "benchdash", "q")
    time.sleep(1)
    gone = not _has_session()
    print(f"\n`q` pressed: session ended = {gone}")
    if not gone:
        tmux("kill-session", "-t", "benchdash")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
