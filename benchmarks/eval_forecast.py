"""Backtest of `usagectl forecast` (issue 6): is the likely value (P50) better than the naive
30-day run rate, and does the P10–P90 range hold the actual about 80 % of the time?

Rolling origin: at each cutoff the model sees the last 84 days and forecasts the next 30; the
30-day total is compared with the actual total. MAPE = mean |forecast − actual| / actual.

* generated: 40 series of 200 days: level × (1 + trend) with a weekly pattern (quiet or busy
  weekends), multiplicative noise (sd 10–30 %), 6 cutoffs each.
* generated + isolated spikes: the same 40 series with one 4x one-day spike in every 3 weeks, on
  a random day of each (as real usage has: a big document, a loop); the spikes stay in the
  actuals too. The forecast must not take one as the new level, nor lose the spend they add.
* demo: the daily total tokens and the daily cost of ``usagectl.services.demo.generate_events``
  (365 days, seeds 7 and 11; its spike days stay in), cutoffs every 14 days.

    /tmp/venv/bin/python benchmarks/eval_forecast.py   # prints the table of RESULTS-insights.md
"""

from __future__ import annotations

import random
import sys
import time
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from usagectl.services.seasonal import holt_winters_paths, run_rate

HISTORY, HORIZON = 84, 30


def generated(seed: int, n: int = 200) -> list[float]:
    rng = random.Random(seed)
    level = rng.uniform(50, 5000)
    trend = rng.uniform(-0.003, 0.008)  # per day, relative
    weekend = rng.choice([rng.uniform(0.1, 0.5), rng.uniform(1.1, 1.6)])
    week = [rng.uniform(0.85, 1.15) for _ in range(5)] + [weekend, weekend * rng.uniform(0.8, 1.2)]
    noise = rng.uniform(0.1, 0.3)
    out = []
    for t in range(n):
        v = level * (1 + trend) ** t * week[t % 7] * max(0.05, rng.gauss(1, noise))
        out.append(v)
    return out


def with_spikes(seed: int, series: list[float], every: int = 21, factor: float = 4.0) -> list[float]:
    """``series`` with one day in every ``every`` (a random day of each block) multiplied by
    ``factor``."""
    rng = random.Random(1000 + seed)
    out = list(series)
    for start in range(0, len(out), every):
        day = start + rng.randrange(every)
        if day < len(out):
            out[day] *= factor
    return out


def demo_series(seed: int) -> dict[str, list[float]]:
    from usagectl.pricing import load_pricebook
    from usagectl.services.demo import generate_events

    book = load_pricebook(None)
    end = date(2026, 10, 31)
    events = generate_events(end, days=365, seed=seed, now=datetime(2026, 11, 1))
    tokens: dict[str, float] = defaultdict(float)
    cost: dict[str, float] = defaultdict(float)
    keys = ("input_tokens", "cache_read_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens", "output_tokens")
    for e in events:
        day = e["ts"][:10]
        tokens[day] += sum(e.get(k, 0) for k in keys)
        ts = datetime.fromisoformat(e["ts"].replace("Z", "+00:00"))
        c = book.cost(
            model_raw=e.get("model_raw"),
            ts=ts,
            service_tier=e.get("service_tier"),
            requests=e.get("requests", 1),
            web_search_requests=e.get("web_search_requests", 0),
            **{k: e.get(k, 0) for k in keys},
        )
        if c.total is not None:
            cost[day] += float(c.total)
    days = sorted(tokens)
    out = {"tokens": [tokens[d] for d in days]}
    if cost:
        out["cost"] = [cost.get(d, 0.0) for d in days]
    return out


def backtest(series: list[float], cutoffs: list[int]) -> list[tuple[float, float, float, float, float]]:
    rows = []
    for c in cutoffs:
        hist, actual = series[c - HISTORY : c], sum(series[c : c + HORIZON])
        paths = holt_winters_paths(hist, HORIZON)
        totals = sorted(paths.sum(axis=0))
        p10, p50, p90 = (totals[int(len(totals) * q)] for q in (0.1, 0.5, 0.9))
        naive = run_rate(hist, 30) * HORIZON
        rows.append((actual, p50, naive, p10, p90))
    return rows


def summary(name: str, rows: list[tuple[float, float, float, float, float]]) -> str:
    n = len(rows)
    mape = sum(abs(p - a) / a for a, p, *_ in rows) / n * 100
    naive = sum(abs(r - a) / a for a, _, r, *_ in rows) / n * 100
    cover = sum(1 for a, _, _, lo, hi in rows if lo <= a <= hi) / n * 100
    wins = sum(1 for a, p, r, *_ in rows if abs(p - a) < abs(r - a)) / n * 100
    return f"| {name} | {n} | {mape:.1f} % | {naive:.1f} % | {wins:.0f} % | {cover:.0f} % |"


def main() -> None:
    t0 = time.perf_counter()
    print("| series | backtests | MAPE likely (P50) | MAPE naive 30-day run rate | P50 closer | P10–P90 holds actual |")
    print("|---|---|---|---|---|---|")
    gen_rows = []
    for seed in range(40):
        s = generated(seed)
        gen_rows += backtest(s, list(range(HISTORY, len(s) - HORIZON + 1, 17)))
    print(summary("generated (40 series, trend + weekly)", gen_rows))
    spiked_rows = []
    for seed in range(40):
        s = with_spikes(seed, generated(seed))
        spiked_rows += backtest(s, list(range(HISTORY, len(s) - HORIZON + 1, 17)))
    print(summary("generated + one-day 4x spikes every 3 weeks (40 series)", spiked_rows))
    for seed in (7, 11):
        for metric, s in demo_series(seed).items():
            rows = backtest(s, list(range(HISTORY, len(s) - HORIZON + 1, 14)))
            print(summary(f"demo seed {seed}, daily {metric}", rows))
    print(f"\n({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
