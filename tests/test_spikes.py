"""The spike rule of ``usagectl.services.spikes`` on generated series, worked by hand.

Day D = 2026-11-30 (a Monday). Recent baseline D-1 … D-14 (D-1 first):
    10, 12, 8, 10, 11, 9, 10, 10, 12, 8, 10, 11, 9, 10
  sorted 8 8 9 9 10 10 10 10 10 10 11 11 12 12 -> median (10 + 10) / 2 = 10
  |deviations| sorted: six 0, four 1, four 2 -> median (1 + 1) / 2 = 1 -> sigma = 1.4826
Same weekday D-7, D-14, D-21, D-28 = 10 (index 7), 10 (index 14), 11, 9
  median 10, |deviations| 0 0 1 1 -> median 0.5 -> sigma 0.7413
Alert level: max(floor 1, 10 + 3 × 1.4826 = 14.4478, 10 + 3 × 0.7413 = 12.2239, 2 × 10 = 20) = 20
Expected low: max(0, min(10 − 4.4478, 10 − 2.2239)) = 5.5522
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from usagectl.services import spikes

D = date(2026, 11, 30)
RECENT = [10, 12, 8, 10, 11, 9, 10, 10, 12, 8, 10, 11, 9, 10]


def series(x: Decimal | int, *, older: dict[int, int] | None = None) -> dict[date, Decimal]:
    """Value per day: D = x, D-k from RECENT (k = 1..14), D-21 = 11, D-28 = 9, other older days 10."""
    values = {D: Decimal(x)}
    for k, v in enumerate(RECENT, start=1):
        values[D - timedelta(days=k)] = Decimal(v)
    for k in range(15, 29):
        values[D - timedelta(days=k)] = Decimal(10)
    values[D - timedelta(days=21)] = Decimal(11)
    values[D - timedelta(days=28)] = Decimal(9)
    for k, v in (older or {}).items():
        values[D - timedelta(days=k)] = Decimal(v)
    return values


def check(values: dict[date, Decimal], metric: str = "cost_usd", floor: Decimal = Decimal(1)) -> spikes.Verdict:
    return spikes.evaluate(values, D, metric=metric, floor=floor)


def test_median_and_mad() -> None:
    assert spikes.median([Decimal(3), Decimal(1), Decimal(2)]) == 2
    assert spikes.median([Decimal(4), Decimal(1), Decimal(2), Decimal(3)]) == Decimal("2.5")
    assert spikes.mad_sigma([Decimal(v) for v in RECENT]) == (10, Decimal("1.4826"))


def test_a_known_spike_alerts_with_its_expected_range() -> None:
    v = check(series(30))
    assert v.anomalous
    same_weekday, recent = v.baselines
    assert (same_weekday.median, same_weekday.sigma) == (10, Decimal("0.7413"))
    assert (recent.median, recent.sigma) == (10, Decimal("1.4826"))
    assert same_weekday.days == (D - timedelta(days=7), D - timedelta(days=14), D - timedelta(days=21),
                                 D - timedelta(days=28))  # fmt: skip
    # z = (30 − 10) / sigma: 20 / 0.7413 = 26.9796… and 20 / 1.4826 = 13.4898…
    assert (same_weekday.robust_z, recent.robust_z) == (Decimal("26.98"), Decimal("13.49"))
    assert v.expected_high == 20
    assert v.expected_low == Decimal("5.5522")


def test_two_times_the_median_is_needed_even_when_z_is_high() -> None:
    v = check(series(19))  # z = 9 / 1.4826 = 6.07 >= 3, but 19 < 2 × 10
    assert not v.anomalous and v.reason == "within the expected range"
    assert check(series(20)).anomalous  # exactly 2 × the median (and z >= 3) alerts


def test_flat_series_does_not_alert() -> None:
    flat = {D - timedelta(days=k): Decimal(10) for k in range(0, 29)}
    v = check(flat)
    assert not v.anomalous
    assert [b.robust_z for b in v.baselines] == [0, 0] and v.expected_high == 20
    flat[D] = Decimal(21)  # MAD 0: anything above 2 × the median is a spike (z infinite)
    v = check(flat)
    assert v.anomalous and [b.robust_z for b in v.baselines] == [None, None]


def test_floor_and_history() -> None:
    small = {d: v / 100 for d, v in series(30).items()}  # the same shape in cents: $0.30 <= $1 floor
    v = check(small)
    assert not v.anomalous and v.reason.startswith("at or below the floor")
    tokens = Decimal(1_000_000)
    assert not check(series(30), metric="total_tokens", floor=tokens).anomalous  # 30 tokens: below 1M
    scaled = {d: v * 100_000 for d, v in series(30).items()}  # 3,000,000 vs median 1,000,000
    assert check(scaled, metric="total_tokens", floor=tokens).anomalous
    # a new user: only 6 baseline days had usage -> no verdict
    new = {D - timedelta(days=k): Decimal(1) for k in range(1, 7)} | {D: Decimal(50)}
    v = check(new)
    assert not v.anomalous and v.history_days == 6 and v.reason.startswith("insufficient history")


def test_weekly_rhythm_does_not_alert_on_weekdays_or_weekends() -> None:
    # busy weekdays (10), idle weekends (0); D is a Monday
    rhythm = {D - timedelta(days=k): Decimal(0 if (D - timedelta(days=k)).weekday() >= 5 else 10) for k in range(29)}
    assert not check(rhythm).anomalous  # Monday 10 vs recent median 10 and same-weekday median 10
    saturday = D - timedelta(days=2)
    sat = spikes.evaluate(rhythm | {saturday: Decimal(5)}, saturday, metric="cost_usd", floor=Decimal(1))
    assert not sat.anomalous  # 5 on a Saturday: same weekday says spike (median 0), recent (median 10) does not


def test_contributors_are_the_excess_over_their_own_median() -> None:
    per_model = {
        "gpt-4o": {D - timedelta(days=k): Decimal(8) for k in range(1, 15)} | {D: Decimal(9)},
        "o3": {D: Decimal(21)},  # new: median 0 over the recent days
        "gpt-4o-mini": {D - timedelta(days=k): Decimal(2) for k in range(1, 15)},  # 0 on D: no excess
    }
    tops = spikes.contributors("model", per_model, D)
    assert [(c.name, c.value, c.baseline_median, c.excess) for c in tops] == [
        ("o3", 21, 0, 21),
        ("gpt-4o", 9, 8, 1),
    ]
