"""How often saved Anthropic usage fetches give the true totals whatever order they are imported in.

    python benchmarks/eval_refetch_orders.py --seeds 100 40 --orders 2 [--usagectl "python -m usagectl"]

For each seed: a random ground truth (3 models, 2 workspaces, 2 API keys, usage in hours 0-5 of
2025-11-03), then fetches of it saved as pages, one file each, as a user polling the Admin API
saves them: rolling hourly windows by model (``starting_at`` at any hour, made when their last
hour is complete, or half an hour into the next one, or the next day) whose complete hours
together cover every hour, and beside them days fetched mid-day (by model, by model and key, or
ungrouped) and partial hourly windows. An hour is complete when the fetch was made after its
end, half counted when made during it. The files are imported one per command into a fresh
database in ``--orders`` random orders; a run is wrong when the stored input/output per model
differs from the truth (usage lost, or counted twice). Prints each wrong run and the count
(recorded in RESULTS.md: the README quotes it).
"""

from __future__ import annotations

import argparse
import json
import random
import shlex
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

MODELS = ["claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001", "claude-opus-4-5-20251101"]
WORKSPACES = [None, "wrkspc_A"]
KEYS = ["apikey_1", "apikey_2"]
DAY = datetime(2025, 11, 3, tzinfo=UTC)
HOURS = 6  # usage only in hours 0..5

Usage = dict[tuple[int, str, str | None, str], tuple[int, int]]


def truth(rng: random.Random) -> Usage:
    return {
        (h, m, w, k): (rng.randint(1, 50) * 10, rng.randint(1, 20) * 10)
        for h in range(HOURS)
        for m in MODELS
        for w in WORKSPACES
        for k in KEYS
        if rng.random() < 0.35
    }


def seen(t: Usage, at: float) -> Usage:
    """The usage a fetch made at hour ``at`` sees: complete hours, half of the current one."""
    out = {}
    for (h, m, w, k), (u, o) in t.items():
        if at >= h + 1:
            out[(h, m, w, k)] = (u, o)
        elif at > h:
            out[(h, m, w, k)] = (u // 2, o // 2)
    return out


def page(t: Usage, at: float, width: int, group_by: list[str], start: int) -> dict:
    """One saved page of ``usage_report/messages``: hourly buckets from ``start`` up to ``at``, or
    the day, grouped by ``group_by``."""
    s = seen(t, at)
    spans = [(h, 1) for h in range(start, 24) if h <= at] if width == 1 else [(0, 24)]
    buckets = []
    for h0, n in spans:
        agg: dict[tuple[str | None, str | None, str | None], list[int]] = {}
        for (h, m, w, k), (u, o) in s.items():
            if h0 <= h < h0 + n:
                key = (m if "model" in group_by else None, w if "workspace_id" in group_by else None,
                       k if "api_key_id" in group_by else None)  # fmt: skip
                a = agg.setdefault(key, [0, 0])
                a[0] += u
                a[1] += o
        rows = [
            {"uncached_input_tokens": u, "cache_creation": {"ephemeral_1h_input_tokens": 0, "ephemeral_5m_input_tokens": 0},
             "cache_read_input_tokens": 0, "output_tokens": o, "server_tool_use": {"web_search_requests": 0},
             "api_key_id": k, "workspace_id": w, "model": m, "service_tier": None, "context_window": None}
            for (m, w, k), (u, o) in sorted(agg.items(), key=str)
        ]  # fmt: skip
        begin = DAY + timedelta(hours=h0)
        buckets.append({"starting_at": f"{begin:%Y-%m-%dT%H:%M:%SZ}",
                        "ending_at": f"{begin + timedelta(hours=n):%Y-%m-%dT%H:%M:%SZ}", "results": rows})  # fmt: skip
    return {"data": buckets, "has_more": False, "next_page": None}


def fetches(rng: random.Random) -> list[tuple[float, int, list[str], int]]:
    """(made at hour, width in hours, group_by, first hour) of each fetch of one seed."""
    specs = []
    h = 0
    while h < HOURS:  # rolling windows whose complete hours cover every hour
        nxt = min(HOURS, h + rng.randint(1, 3))
        specs.append((24 if nxt == HOURS else rng.choice([nxt, nxt + 0.5]), 1, ["model"], h))
        h = nxt
    for _ in range(rng.randint(1, 3)):  # days fetched mid-day, partial windows
        at = rng.choice([1.5, 2, 2.5, 3.5, 4.5])
        if rng.random() < 0.6:
            specs.append((at, 24, rng.choice([["model"], [], ["model", "api_key_id"]]), 0))
        else:
            specs.append((at, 1, ["model"], rng.randint(0, 3)))
    return specs


def per_model(t: Usage) -> dict[str, tuple[int, int]]:
    out: dict[str, list[int]] = {}
    for (_, m, _, _), (u, o) in t.items():
        a = out.setdefault(m.rsplit("-", 1)[0], [0, 0])
        a[0] += u
        a[1] += o
    return {m: (v[0], v[1]) for m, v in out.items()}


def stored(db: Path) -> dict[str, tuple[int, int]]:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("SELECT coalesce(model, '-'), sum(input_tokens), sum(output_tokens) FROM events GROUP BY 1")
        return {m: (int(u), int(o)) for m, u, o in rows.fetchall()}
    finally:
        con.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs=2, default=[100, 40], metavar=("FIRST", "COUNT"))
    ap.add_argument("--orders", type=int, default=2)
    ap.add_argument("--usagectl", default=f"{sys.executable} -m usagectl")
    args = ap.parse_args()
    cmd = shlex.split(args.usagectl)
    wrong = runs = 0
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.seeds[0], args.seeds[0] + args.seeds[1]):
            rng = random.Random(seed)
            t = truth(rng)
            files = []
            for i, (at, width, group_by, start) in enumerate(fetches(rng)):
                path = Path(tmp) / f"s{seed}_f{i}_at{at}_w{width}_{'+'.join(group_by) or 'none'}_from{start}.json"
                path.write_text(json.dumps(page(t, at, width, group_by, start), indent=1))
                files.append(path)
            order_rng = random.Random(seed)
            for _ in range(args.orders):
                order = files[:]
                order_rng.shuffle(order)
                db = Path(tmp) / "runs.duckdb"
                for p in (db, Path(str(db) + ".wal")):
                    p.unlink(missing_ok=True)
                for path in order:
                    subprocess.run([*cmd, "import", str(path), "--format", "anthropic-usage", "--db", str(db)],
                                   capture_output=True, check=False)  # fmt: skip
                runs += 1
                got, want = stored(db), per_model(t)
                if got != want:
                    wrong += 1
                    print(f"wrong: seed {seed}, order {[p.name.split('_', 1)[1] for p in order]}\n"
                          f"  truth  {want}\n  stored {got}", flush=True)  # fmt: skip
    print(f"{wrong} of {runs} runs wrong")


if __name__ == "__main__":
    main()
