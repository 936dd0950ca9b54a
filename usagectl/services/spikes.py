"""A small, robust spike detector for one day's cost and tokens (the ``usage.anomaly`` webhook).

The rule, for the day D (yesterday in the chosen zone) and a metric (``cost_usd``, or
``total_tokens``), with x = the metric on D:

* Two baselines. *same weekday*: D-7, D-14, D-21, D-28; *recent*: D-1 … D-14. A day without
  events counts as 0.
* For each baseline B: med_B = median(B), sigma_B = 1.4826 × median(|b − med_B|) (the MAD,
  scaled so it estimates a standard deviation for normal data), and the robust
  z_B = (x − med_B) / sigma_B. When sigma_B is 0 (a perfectly flat baseline) z_B is infinite
  if x > med_B and 0 otherwise.
* D is anomalous when, for BOTH baselines, z_B ≥ 3 and x ≥ 2 × med_B, and x is above the floor
  ($1 for cost, 1,000,000 tokens for tokens; fixed for now, to be configurable).
  Both baselines must agree so that a weekly rhythm (busy weekdays, quiet weekends) does not
  alert on every Monday, and a quiet spell does not make an ordinary weekday look unusual.
* The smallest value that would have alerted, max(floor, med_B + 3·sigma_B, 2·med_B over both
  baselines), is the top of the *expected range*; its bottom is the lowest med_B − 3·sigma_B
  (not below 0).
* No verdict without history: at least 7 of the 16 distinct baseline days must have had any
  requests (a new user's first busy day is not a spike).
* Contributors: per model and per member, the excess x_k − median of x_k over the recent days,
  largest first (only positive excesses). They need not add up to the total excess: medians do
  not add.

Everything is Decimal; tokens are compared as Decimal integers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal

from usagectl.models import Filters
from usagectl.services.context import AppContext
from usagectl.services.rollup import rollup, unpriced_models
from usagectl.timeutil import date_range, day_start_utc

Metric = Literal["cost_usd", "total_tokens"]
METRICS: tuple[Metric, ...] = ("cost_usd", "total_tokens")
FLOORS: dict[str, Decimal] = {"cost_usd": Decimal(1), "total_tokens": Decimal(1_000_000)}
MAD_SCALE = Decimal("1.4826")
Z_MIN = Decimal(3)
RATIO_MIN = Decimal(2)
MIN_HISTORY_DAYS = 7
LOOKBACK_DAYS = 28
TOP_CONTRIBUTORS = 5
ZERO = Decimal(0)


def median(values: Sequence[Decimal]) -> Decimal:
    s = sorted(values)
    n = len(s)
    if n == 0:
        raise ValueError("median of nothing")
    mid = n // 2
    return s[mid] if n % 2 else (s[mid - 1] + s[mid]) / 2


def mad_sigma(values: Sequence[Decimal]) -> tuple[Decimal, Decimal]:
    """(median, 1.4826 × median absolute deviation)."""
    med = median(values)
    return med, MAD_SCALE * median([abs(v - med) for v in values])


def same_weekday_days(day: date) -> tuple[date, ...]:
    return tuple(day - timedelta(days=7 * k) for k in range(1, 5))


def recent_days(day: date) -> tuple[date, ...]:
    return tuple(day - timedelta(days=k) for k in range(1, 15))


@dataclass(frozen=True)
class Baseline:
    name: Literal["same_weekday", "recent"]
    days: tuple[date, ...]
    median: Decimal
    sigma: Decimal
    robust_z: Decimal | None  # None: infinite (flat baseline, x above it)

    def passes(self, x: Decimal) -> bool:
        z_ok = (x > self.median) if self.sigma == 0 else (x - self.median) / self.sigma >= Z_MIN
        return z_ok and x >= RATIO_MIN * self.median


@dataclass(frozen=True)
class Verdict:
    """The rule applied to one metric on one day (pure: no database)."""

    metric: str
    day: date
    value: Decimal
    anomalous: bool
    reason: str
    floor: Decimal
    expected_low: Decimal
    expected_high: Decimal  # the smallest value that would have alerted
    baselines: tuple[Baseline, ...]
    history_days: int


def _baseline(
    name: Literal["same_weekday", "recent"], days: tuple[date, ...], series: Mapping[date, Decimal], x: Decimal
) -> Baseline:
    med, sigma = mad_sigma([series.get(d, ZERO) for d in days])
    if sigma == 0:
        z = None if x > med else ZERO
    else:
        z = ((x - med) / sigma).quantize(Decimal("0.01"))
    return Baseline(name, days, med, sigma, z)


def evaluate(
    series: Mapping[date, Decimal],
    day: date,
    *,
    metric: str,
    floor: Decimal,
    active_days: Iterable[date] | None = None,
) -> Verdict:
    """Apply the rule of the module docstring to ``series`` (value per day; missing = 0).
    ``active_days`` are the days that had any requests (default: days with a non-zero value)."""
    x = series.get(day, ZERO)
    bases = (
        _baseline("same_weekday", same_weekday_days(day), series, x),
        _baseline("recent", recent_days(day), series, x),
    )
    history = set(same_weekday_days(day)) | set(recent_days(day))
    active = set(active_days) if active_days is not None else {d for d, v in series.items() if v}
    history_days = len(history & active)
    high = max([floor] + [b.median + Z_MIN * b.sigma for b in bases] + [RATIO_MIN * b.median for b in bases])
    low = max(ZERO, min(b.median - Z_MIN * b.sigma for b in bases))
    if history_days < MIN_HISTORY_DAYS:
        ok, reason = (
            False,
            f"insufficient history: {history_days} of {len(history)} baseline days had usage (need {MIN_HISTORY_DAYS})",
        )
    elif x <= floor:
        ok, reason = False, f"at or below the floor {floor}"
    elif not all(b.passes(x) for b in bases):
        ok, reason = False, "within the expected range"
    else:
        ok, reason = True, "robust z >= 3 and at least 2x the median against both baselines"
    return Verdict(metric, day, x, ok, reason, floor, low, high, bases, history_days)


@dataclass(frozen=True)
class Contributor:
    dimension: Literal["model", "member"]
    name: str | None
    value: Decimal
    baseline_median: Decimal
    excess: Decimal


def contributors(
    dimension: Literal["model", "member"],
    per_key: Mapping[str | None, Mapping[date, Decimal]],
    day: date,
    limit: int = TOP_CONTRIBUTORS,
) -> list[Contributor]:
    """The keys whose value on ``day`` is furthest above their own median over the recent days."""
    out = []
    for key, series in per_key.items():
        value = series.get(day, ZERO)
        med = median([series.get(d, ZERO) for d in recent_days(day)])
        if value - med > 0:
            out.append(Contributor(dimension, key, value, med, value - med))
    out.sort(key=lambda c: (-c.excess, c.name or ""))
    return out[:limit]


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class DailyUsage:
    """Sums per day, per (day, model, provider) and per (day, member) over [since, until] in ``tz``.
    Each sum is the dict of ``usagectl.store.reports.SUM_KEYS``; ``cost_usd`` is None when no row
    of the group was priced."""

    since: date
    until: date
    tz: str
    by_day: dict[date, dict[str, Any]]
    by_model: dict[date, dict[tuple[str | None, str | None], dict[str, Any]]]
    by_member: dict[date, dict[str | None, dict[str, Any]]]
    unpriced: dict[date, list[dict[str, Any]]]

    def series(self, metric: str) -> dict[date, Decimal]:
        return {d: Decimal(v.get(metric) or 0) for d, v in self.by_day.items()}

    def active_days(self) -> set[date]:
        return {d for d, v in self.by_day.items() if v.get("requests")}


def load_daily_usage(ctx: AppContext, since: date, until: date, tz: str) -> DailyUsage:
    """Two one-pass cubes over one read-only connection: (date, model, provider) and (date, member)."""
    from usagectl.store import reports as q
    from usagectl.store.connection import connect

    flt = Filters(start=day_start_utc(since, tz), end=day_start_utc(until + timedelta(days=1), tz), tz=tz,
                  since=since, until=until)  # fmt: skip
    with connect(ctx.db_path, read_only=True) as con:
        q.prepare_session(con, ctx.pricebook(), ctx.config.members, flt)
        model_cube = q.cube(con, flt, ["date", "model", "provider"])
        member_cube = q.cube(con, flt, ["date", "member"])
    by_day = {k[0]: v for k, v in rollup(model_cube, ["date"]).items()}
    by_model: dict[date, dict[tuple[str | None, str | None], dict[str, Any]]] = {}
    for (d, model, provider), v in rollup(model_cube, ["date", "model", "provider"]).items():
        by_model.setdefault(d, {})[(model, provider)] = v
    by_member: dict[date, dict[str | None, dict[str, Any]]] = {}
    for (d, member), v in rollup(member_cube, ["date", "member"]).items():
        by_member.setdefault(d, {})[member] = v
    unpriced = {d: unpriced_models(r for r in model_cube if r["date"] == d) for d in date_range(since, until)}
    return DailyUsage(since, until, tz, by_day, by_model, by_member, {d: u for d, u in unpriced.items() if u})


@dataclass(frozen=True)
class Anomaly:
    verdict: Verdict
    contributors: tuple[Contributor, ...]


def _per_key_series(
    table: Mapping[date, Mapping[Any, Mapping[str, Any]]], metric: str, name: Callable[[Any], str | None]
) -> dict[str | None, dict[date, Decimal]]:
    """Series per name (groups that share a name, such as one model from two providers, add up)."""
    out: dict[str | None, dict[date, Decimal]] = {}
    for d, groups in table.items():
        for key, v in groups.items():
            series = out.setdefault(name(key), {})
            series[d] = series.get(d, ZERO) + Decimal(v.get(metric) or 0)
    return out


def detect(usage: DailyUsage, day: date) -> list[Anomaly]:
    """Verdicts for both metrics on ``day``; ``usage`` must cover the 28 days before it."""
    assert usage.since <= day - timedelta(days=LOOKBACK_DAYS) and usage.until >= day, (
        "usage does not cover the baseline"
    )
    out = []
    active = usage.active_days()
    for metric in METRICS:
        verdict = evaluate(usage.series(metric), day, metric=metric, floor=FLOORS[metric], active_days=active)
        tops: list[Contributor] = []
        if verdict.anomalous:
            tops += contributors("model", _per_key_series(usage.by_model, metric, lambda k: k[0]), day)
            tops += contributors("member", _per_key_series(usage.by_member, metric, lambda k: k), day)
        out.append(Anomaly(verdict, tuple(tops)))
    return out


def anomalies(ctx: AppContext, day: date, tz: str) -> list[Anomaly]:
    """Only the anomalous metrics of ``day`` (yesterday, for ``notify``)."""
    usage = load_daily_usage(ctx, day - timedelta(days=LOOKBACK_DAYS), day, tz)
    return [a for a in detect(usage, day) if a.verdict.anomalous]
