"""Time and weigh the import of a large saved file of provider usage pages, as a user runs it
(whole processes): a year of OpenAI usage pages.

    python benchmarks/bench_provider_pages.py [--days 365] [--repeat 1] [--ab /tmp/old-src]

The file (``benchmarks/data/openai-usage-<days>d.json``, made once, as QA's repro made it) is a
JSON array of one page a day of 1-minute buckets grouped by model and project, one ``has_more``
chain (ONE fetch), ~860 result rows a day (365 days: 314,695 rows, 131 MB), with one saved rate
limit error inside it (page 200, a reject). For each run: a first import into a fresh database,
with the wall time, the CPU time (user + sys) and the peak RSS of the process (the kernel's
rusage). The reader holds one fetch's group-by while it makes the records, and the stager
settles every fetch shape of the file before it stages a row: the peak grows with the file
unless neither holds the file's records as objects (``_pages._fetches``, ``billing._Packed``).

``--ab DIR`` alternates a baseline copy of the package (DIR holds ``usagectl/`` and
``pricing/``; put first on PYTHONPATH) with the current code, and checks that both stored the
same: every column of every event (``batch_id`` aside), every reject, every batch's counts and
the rows set aside. Prints Markdown table rows.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
from pathlib import Path

from bench_claude_code import LAST_CPU, OUT, USAGECTL, bytecode_env, compile_package, fresh, timed

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
_START = 1764288000  # 2025-11-28T00:00Z
_PER_PAGE = 1440  # a day of 1-minute buckets
_MODELS = ["gpt-4o-2024-08-06", "gpt-4o-mini-2024-07-18", "gpt-4.1-2025-04-14", "o3-2025-04-16"]
_PROJECTS = ["proj_A", "proj_B", "proj_C"]


def pages_for(days: int) -> tuple[Path, dict[str, int]]:
    """The file of ``days`` pages (made once) and what it holds (rows, requests, token sums)."""
    path = DATA / f"openai-usage-{days}d.json"
    facts_path = path.with_suffix(".facts.json")
    if path.exists() and facts_path.exists():
        return path, json.loads(facts_path.read_text())
    DATA.mkdir(parents=True, exist_ok=True)
    rng = random.Random(9)
    facts = {"rows": 0, "requests": 0, "input": 0, "cache_read": 0, "output": 0, "pages": 0}
    minutes = days * _PER_PAGE
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write("[\n")
        for p in range(days):
            if p == 200:  # a rate limit saved among the pages: a reject, never zero usage
                error = {
                    "message": "Rate limit reached",
                    "type": "requests",
                    "param": None,
                    "code": "rate_limit_exceeded",
                }
                fh.write(json.dumps({"error": error}) + ",\n")
            data = []
            for m in range(p * _PER_PAGE, min(minutes, (p + 1) * _PER_PAGE)):
                start, results = _START + m * 60, []
                x = rng.random()
                for model, project in rng.sample(
                    [(a, b) for a in _MODELS for b in _PROJECTS], 0 if x < 0.55 else 1 if x < 0.85 else 2
                ):
                    inp = rng.randint(100, 50000)
                    cached, out, req = rng.randint(0, inp), rng.randint(10, 5000), rng.randint(1, 20)
                    results.append({
                        "object": "organization.usage.completions.result", "input_tokens": inp, "output_tokens": out,
                        "input_cached_tokens": cached, "input_audio_tokens": 0, "output_audio_tokens": 0,
                        "num_model_requests": req, "project_id": project, "user_id": None, "api_key_id": None,
                        "model": model, "batch": None,
                    })  # fmt: skip
                    facts["rows"] += 1
                    facts["requests"] += req
                    facts["input"] += inp - cached
                    facts["cache_read"] += cached
                    facts["output"] += out
                data.append({"object": "bucket", "start_time": start, "end_time": start + 60, "results": results})
            last = p == days - 1
            page = {
                "object": "page",
                "data": data,
                "has_more": not last,
                "next_page": None if last else f"page_{p + 1}",
            }
            fh.write(json.dumps(page, separators=(",", ":")) + ("\n" if last else ",\n"))
            facts["pages"] += 1
        fh.write("]\n")
    tmp.replace(path)
    facts_path.write_text(json.dumps(facts))
    return path, facts


def stored(db: Path) -> dict[str, object]:
    """What an import stored: counts and sums, and a hash of every column of every event
    (``batch_id`` aside), of the rejects, of each batch's counts and of the rows set aside."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        cols = [r[0] for r in con.execute("DESCRIBE events").fetchall() if r[0] != "batch_id"]
        queries = {
            "events": f"SELECT {', '.join(cols)} FROM events ORDER BY event_id",
            "rejects": "SELECT file, line, record, reason, raw FROM rejects ORDER BY file, record, line, reason",
            "batches": "SELECT path, records, imported, duplicates, rejected, dup_in_file, dup_stored, replaced "
            "FROM import_batches ORDER BY batch_id",
            "set_aside": "SELECT record, raw FROM set_aside ORDER BY record, raw",
        }
        out: dict[str, object] = {}
        for name, sql in queries.items():
            digest, n = hashlib.sha256(), 0
            result = con.execute(sql)
            while rows := result.fetchmany(50_000):
                n += len(rows)
                digest.update(repr(rows).encode())
            out[name] = (n, digest.hexdigest()[:16])
        row = con.execute(
            "SELECT sum(requests), sum(input_tokens), sum(cache_read_tokens), sum(output_tokens) FROM events"
        ).fetchone()
        out["sums"] = tuple(int(v or 0) for v in row or ())
        return out
    finally:
        con.close()


def run(path: Path, db: Path, pythonpath: str = "") -> tuple[float, float, float]:
    """(seconds, CPU seconds, peak MiB) of a first import of ``path`` into a fresh ``db``."""
    env = bytecode_env()
    env["USAGECTL_CONFIG"] = str(OUT / "none.toml")
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    fresh(db)
    cmd = [*USAGECTL, "import", str(path), "--format", "openai-usage", "--db", str(db)]
    secs, peak, _ = timed(cmd, env=env, cwd="/tmp" if pythonpath else None)
    return secs, LAST_CPU[0], peak


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, nargs="+", default=[365], help="pages of a day each (365: the year)")
    ap.add_argument("--ab", metavar="DIR", help="directory holding a baseline copy of the usagectl package")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    (OUT / "none.toml").touch()
    compile_package(HERE.parent)
    if args.ab:
        compile_package(Path(args.ab))
    labels = [("baseline", args.ab), ("current", "")] if args.ab else [("current", "")]
    for days in args.days:
        path, facts = pages_for(days)
        subprocess.run(["cat", str(path)], stdout=subprocess.DEVNULL, check=True)  # warm cache
        mb = path.stat().st_size / 1e6
        runs: dict[str, list[tuple[float, float, float]]] = {label: [] for label, _ in labels}
        found: dict[str, dict[str, object]] = {}
        for _ in range(args.repeat):
            for label, pp in labels:  # one import at a time: two slow cores, shared
                db = OUT / f"pages-{days}d-{label}.duckdb"
                load = os.getloadavg()[0]
                secs, cpu, peak = run(path, db, pp or "")
                runs[label].append((secs, cpu, peak))
                print(
                    f"| {days} pages | {label} | {secs:.1f} s | CPU {cpu:.1f} s | {peak:.0f} MiB | load {load:.2f} |",
                    flush=True,
                )
                found[label] = stored(db)
        for label, got in runs.items():
            print(
                f"| {days} pages, {mb:.0f} MB, {facts['rows']:,} rows | {label} | median {statistics.median(r[0] for r in got):.1f} s "
                f"| CPU {statistics.median(r[1] for r in got):.1f} s | peak {max(r[2] for r in got):.0f} MiB |"
            )
        want = (facts["requests"], facts["input"], facts["cache_read"], facts["output"])
        for label, got_stored in found.items():
            if got_stored["sums"] != want:
                print(f"WARNING: {label} stored {got_stored['sums']}, the file holds {want}", file=sys.stderr)
        if args.ab:
            same = found["baseline"] == found["current"]
            print(f"same events, rejects, batch counts and rows set aside: {same}")
            if not same:
                print(f"  baseline {found['baseline']}\n  current  {found['current']}", file=sys.stderr)


if __name__ == "__main__":
    main()
