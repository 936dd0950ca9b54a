"""Evaluation of `usagectl anomalies` (issue 6): recall on injected spikes, drops and off-hours
activity, and false alarms per 30 days per series, on generated series.

* Daily series: 300 series of 126 days (8 weeks of baseline before a 30-day checked window,
  plus slack): level 50–5,000 (USD), trend −0.3 … +0.5 %/day, a weekly pattern (quiet or busy
  weekends), multiplicative gaussian noise with sd 5–20 %. In the checked 30 days: 2 spikes
  (× 2.5–4) and 1 drop (× 0–0.3) on random days. ``anomalies.detect`` with the shipped
  constants; a flagged day that was not injected is a false alarm.
* Off-hours: 300 members with a usual block of 8–10 hours starting at 07:00–10:00, active on
  most weekdays, now and then up to 2 h late; 60 days of history, then 30 checked days with one
  request injected at least 4 h from the block. ``anomalies.off_hours`` against the hours used
  in the history; any other flagged (day, hour) is a false alarm.

    /tmp/venv/bin/python benchmarks/eval_anomalies.py
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from usagectl.services import anomalies as an

N, BASE, WINDOW = 300, 96, 30


def daily(seed: int) -> tuple[list[float], set[int], set[int]]:
    rng = random.Random(seed)
    level = rng.uniform(50, 5000)
    trend = rng.uniform(-0.003, 0.005)
    weekend = rng.choice([rng.uniform(0.1, 0.5), rng.uniform(1.1, 1.6)])
    week = [rng.uniform(0.85, 1.15) for _ in range(5)] + [weekend, weekend * rng.uniform(0.8, 1.2)]
    noise = rng.uniform(0.05, 0.2)
    n = BASE + WINDOW
    values = [level * (1 + trend) ** t * week[t % 7] * max(0.0, rng.gauss(1, noise)) for t in range(n)]
    days = rng.sample(range(BASE, n), 3)
    spikes, drops = set(days[:2]), {days[2]}
    for d in spikes:
        values[d] *= rng.uniform(2.5, 4)
    for d in drops:
        values[d] *= rng.uniform(0, 0.3)
    return values, spikes, drops


def eval_daily() -> tuple[int, int, int, int, int]:
    hit_s = hit_d = false = tot_s = tot_d = 0
    for seed in range(N):
        values, spikes, drops = daily(seed)
        found = {f.index: f.kind for f in an.detect(values, BASE, floor=an.FLOORS["cost"])}
        hit_s += sum(1 for d in spikes if found.get(d) == "spike")
        hit_d += sum(1 for d in drops if found.get(d) == "drop")
        false += sum(1 for d in found if d not in spikes | drops)
        tot_s += len(spikes)
        tot_d += len(drops)
    return hit_s, tot_s, hit_d, tot_d, false


def eval_hours() -> tuple[int, int, int]:
    hits = false = 0
    for seed in range(N):
        rng = random.Random(10_000 + seed)
        start, length = rng.randint(7, 10), rng.randint(8, 10)
        block = [(start + k) % 24 for k in range(length)]

        def day_hours(day: int, rng: random.Random = rng, block: list[int] = block) -> set[int]:
            if day % 7 >= 5 and rng.random() < 0.8:
                return set()
            hours = {h for h in block if rng.random() < 0.6}
            if rng.random() < 0.1:
                hours.add((block[-1] + rng.randint(1, 2)) % 24)  # working late
            return hours

        hist: set[int] = set()
        for day in range(60):
            hist |= day_hours(day)
        inject_day = rng.randrange(30)
        inject_hour = (start - rng.randint(4, 24 - length - 4)) % 24
        for day in range(30):
            hours = day_hours(60 + day)
            if day == inject_day:
                hours.add(inject_hour)
            for h in hours:
                if an.off_hours(hist, h):
                    if day == inject_day and h == inject_hour:
                        hits += 1
                    else:
                        false += 1
    return hits, N, false


def main() -> None:
    hs, ts, hd, td, false = eval_daily()
    print("| evaluation | injected | found | recall | false alarms | per 30 days per series |")
    print("|---|---|---|---|---|---|")
    print(f"| spikes (× 2.5–4) | {ts} | {hs} | {hs / ts:.3f} | | |")
    print(f"| drops (× 0–0.3) | {td} | {hd} | {hd / td:.3f} | | |")
    print(f"| daily total ({N} series × 30 days) | {ts + td} | {hs + hd} | {(hs + hd) / (ts + td):.3f} | {false} "
          f"| {false / N:.3f} |")  # fmt: skip
    h, n, f = eval_hours()
    print(f"| off-hours ({N} members × 30 days) | {n} | {h} | {h / n:.3f} | {f} | {f / N:.3f} |")
    print(f"\nconstants: Z = {an.Z}, REL_FLOOR = {an.REL_FLOOR}, WEEKS = {an.WEEKS}, SCALE_DAYS = {an.SCALE_DAYS}, "
          f"OFF_HOURS_GAP = {an.OFF_HOURS_GAP}")  # fmt: skip


if __name__ == "__main__":
    main()
