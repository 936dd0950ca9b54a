"""`usagectl anomalies`: spikes and drops against each series' own weekly pattern, and
suspicious patterns. Every threshold is a module constant.

* Series: the daily total (cost in USD, or tokens) and, with ``--by``, each member / model /
  feature / api-key / integration. Checked days: ``--since``..``--until`` (default the 14
  complete days up to yesterday); the 8 weeks before are the baseline.
* Expected value of day d: the median of the same weekday over the previous ``WEEKS`` weeks
  (robust weekly seasonality; at least 3 of them), counted from the first day with any usage
  at all: the days before the data are not zeros (someone who began three weeks ago has no
  8-week pattern, and their first weeks are not spikes against it). Residual r_t = x_t − expected_t; the scale
  sigma = 1.4826 × MAD of the residuals of the 28 days before d, at least ``REL_FLOOR`` × the
  expected value (a flat series is not infinitely sure). A sparse series (a model used on some
  days: more than ``SPARSE_SHARE`` of the 8 weeks before d at zero) has a median and MAD of 0;
  its sigma is at least the median of its non-zero days in those weeks, so a day within its
  usual non-zero range is not a spike. z = (x − expected) / sigma.
  Spike: z ≥ ``Z`` and x − expected ≥ the floor ($1 or 1M tokens); drop: z ≤ −``Z`` and
  expected − x ≥ the floor. Expected range: expected ± Z × sigma (not below 0).
  A checked day with under ``HISTORY_NEEDED`` (28) days of data before it has no expected
  value (3 same weekdays) or no spread (7 residuals) and is not judged: the report names those
  days in a note, with the first day that can be judged, rather than a bare "No rows.".
  Severity: |z| ≥ 8 high, ≥ 5 medium, else low. The statistics run on floats; the observed
  value is the day's exact sum (Decimal, as ``report daily`` has it), the expected value and
  range leave the model as money to 6 places (``seasonal.to_amount``) or whole tokens. A z off the scale (|z| ≥ 1,000: a baseline of
  nothing) says "nothing like it before" only when x is above (below, for a drop) every day of
  the 8 weeks before. A drop to nothing followed by more days of
  nothing is one finding that names the last of them.
* Attribution of a spike in the total: per member, model and feature, the day's value minus the
  median of the same weekday before; the largest positive excesses.
* Off-hours: a member or api key with at least ``OFF_HOURS_MIN_DAYS`` active days before the
  checked range, active in a local hour at least ``OFF_HOURS_GAP`` hours from every hour it used
  before.
* New and heavy: a model or api key with no usage (no request) in the baseline (of at least 28
  days) that makes ≥ ``NEW_HEAVY_SHARE`` of a checked day's total. With ``cost`` a new model or
  key whose usage that day has no price (an unknown model) has no cost to compare: its share is
  counted in tokens instead (≥ ``NEW_HEAVY_SHARE`` of the day's tokens and at least the tokens
  floor), so an unknown model taking over a day is not invisible because it costs "nothing".
* Unpriced usage (``cost`` only) is left out of every value, as in the reports, and named in a
  note (the models of the days read: the baseline and the checked days).
* Error burst: a day with ≥ ``ERROR_MIN`` errors (status error) and an error rate ≥ 5 % and ≥
  ``ERROR_RATIO`` × the median rate of the 28 days before.
* Model switch: simple requests (see ``optimize``) on an expensive model in the checked range,
  with the saving of the cheaper model of the same provider (repriced) and the simple requests
  per day before and now. "Took over" needs volume as well as growth: at least
  ``TAKEOVER_MIN_REQUESTS`` simple requests in the checked range, and per day at least
  ``TAKEOVER_RATIO`` × the rate of the baseline days (since the data began). One request on a
  model with none before is not a take-over.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from statistics import median
from typing import Any, Literal

from usagectl.config import effective_timezone
from usagectl.errors import UsageError
from usagectl.models import Column, Filters, Report, Section, counted
from usagectl.services.breakdowns import cli_name
from usagectl.services.context import AppContext
from usagectl.services.reports import ReportRequest, _now, _unpriced_notes, build_filters, past_until
from usagectl.services.seasonal import METRIC_KEYS, Metric, dense, exact, to_amount
from usagectl.timeutil import day_start_utc, local_today

WEEKS = 8
SCALE_DAYS = 28
MIN_SAME_WEEKDAYS = 3  # an expected value needs this many of the same weekday before
MIN_RESIDUALS = 7  # a spread needs this many earlier days with an expected value
HISTORY_NEEDED = 7 * MIN_SAME_WEEKDAYS + MIN_RESIDUALS  # days of data before the first day judged: 28
MAD_SCALE = 1.4826
Z = 3.5
REL_FLOOR = 0.1
SPARSE_SHARE = 0.5
FLOORS: dict[str, float] = {"cost": 1.0, "tokens": 1_000_000.0}
OFF_HOURS_MIN_DAYS = 10
OFF_HOURS_GAP = 3
NEW_HEAVY_SHARE = 0.2
ERROR_MIN = 20
ERROR_RATE_MIN = 0.05
ERROR_RATIO = 3.0
TAKEOVER_MIN_REQUESTS = 10
TAKEOVER_RATIO = 2
DEFAULT_DAYS = 14
ANOMALY_DIMS = ("member", "model", "feature", "api_key", "integration")
ATTRIBUTION_DIMS = ("member", "model", "feature")


@dataclass(frozen=True)
class Finding:
    index: int  # day index in the series
    kind: str  # spike / drop
    z: float
    value: float
    expected: float
    low: float
    high: float
    # a drop to nothing that stays at nothing: the index of the last day of the run (one
    # finding for the run, not one per day)
    through: int | None = None
    # ... and the index of its first day when that lies before this finding's (a run that began
    # before the checked days: the dashboard's last week of a source that stopped a month ago)
    since: int | None = None
    # the value is above (a spike) or below (a drop) every day of the 8 weeks before
    record: bool = False


@dataclass(frozen=True)
class Unjudged:
    """The checked days ``detect`` could not judge for want of history (``unjudged``), and the
    first day with any usage (None: no usage at all), from which a day can be judged
    ``HISTORY_NEEDED`` days later."""

    days: tuple[date, ...]
    data_from: date | None


def _z_text(z: float, record: bool = False) -> str:
    """``z 4.8``; a series that was flat until that day (its spread at the 1e-12 floor) has a z in
    the billions, which says nothing more than "off the scale". "Nothing like it before" only
    for a ``record`` (beyond every day of the baseline weeks): otherwise it would be false."""
    if abs(z) < 1000:
        return f"z {z:.1f}"
    text = "z above 1,000" if z > 0 else "z below -1,000"
    return f"{text}: nothing like it before" if record else text


def _sparse_scale(window: Sequence[float]) -> float:
    """The scale floor of a sparse series: the median of its non-zero days in ``window`` when
    more than ``SPARSE_SHARE`` of the window is zero, else 0. Mostly zeros make the median and
    MAD 0, and without this any ordinary day of a model used now and then is "infinitely"
    unusual; with it a spike must be ``Z`` times its usual non-zero day."""
    nonzero = [v for v in window if v]
    if not nonzero or len(nonzero) >= (1 - SPARSE_SHARE) * len(window):
        return 0.0
    return float(median(nonzero))


def severity(z: float) -> str:
    return "high" if abs(z) >= 8 else "medium" if abs(z) >= 5 else "low"


def _start(values: Sequence[float]) -> int:
    """Where the history begins: the first day with any usage at all (of the daily total). The
    days before are not zeros but days before the data (someone who began in September): as
    zeros they would make its first weeks "spikes". A member or model first used later has
    real zeros before (the data was there), and its first heavy day stands out as it should."""
    return next((t for t, v in enumerate(values) if v), len(values))


def _expected(values: Sequence[float], i: int, start: int = 0) -> float | None:
    same = [values[i - 7 * k] for k in range(1, WEEKS + 1) if i - 7 * k >= start]
    return median(same) if len(same) >= MIN_SAME_WEEKDAYS else None


def _residuals(values: Sequence[float], expected: Sequence[float | None], i: int, start: int) -> list[float]:
    """The residuals of the ``SCALE_DAYS`` days before ``i`` that have an expected value."""
    return [values[t] - x for t in range(max(start, i - SCALE_DAYS), i) if (x := expected[t]) is not None]


def unjudged(values: Sequence[float], first: int, start: int = 0) -> list[int]:
    """The days ``first``.. from the history's beginning ``start`` on that ``detect`` cannot
    judge for want of history: fewer than ``MIN_SAME_WEEKDAYS`` same weekdays before them since
    ``start`` (no expected value), or fewer than ``MIN_RESIDUALS`` earlier days with one (no
    spread). With the history beginning at ``start`` that is every day before ``start`` + 28
    (3 weeks for the first expected value, then 7 of them). Days before ``start`` are before
    the data, not days that could not be judged."""
    expected = [_expected(values, i, start) for i in range(len(values))]
    return [
        i
        for i in range(max(first, start), len(values))
        if expected[i] is None or len(_residuals(values, expected, i, start)) < MIN_RESIDUALS
    ]


def detect(values: Sequence[float], first: int, floor: float, start: int = 0) -> list[Finding]:
    """Spikes and drops on days ``first``.. of a daily series (the module docstring's rule),
    whose history begins at day ``start`` (``_start``). A drop to nothing that stays at nothing
    is one finding (``through`` its last day)."""
    expected = [_expected(values, i, start) for i in range(len(values))]
    out: list[Finding] = []
    for i in range(first, len(values)):
        e = expected[i]
        if e is None:
            continue
        if values[i] == 0 and out and out[-1].kind == "drop" and out[-1].value == 0:
            run = out[-1]
            if (run.through if run.through is not None else run.index) == i - 1:
                out[-1] = dataclasses.replace(run, through=i)
                continue
        res = _residuals(values, expected, i, start)
        if len(res) < MIN_RESIDUALS:
            continue
        mid = median(res)
        window = values[max(start, i - 7 * WEEKS) : i]
        sigma = max(MAD_SCALE * median([abs(r - mid) for r in res]), REL_FLOOR * e, _sparse_scale(window), 1e-12)
        z = (values[i] - e) / sigma
        low, high = max(0.0, e - Z * sigma), e + Z * sigma
        if z >= Z and values[i] - e >= floor:
            out.append(Finding(i, "spike", z, values[i], e, low, high, record=values[i] > max(window)))
        elif z <= -Z and e - values[i] >= floor:
            since = i
            while values[i] == 0 and since > start and values[since - 1] == 0:
                since -= 1
            record = values[i] < min(window)
            out.append(
                Finding(i, "drop", z, values[i], e, low, high, since=since if since < i else None, record=record)
            )
    return out


def off_hours(hist_hours: set[int], hour: int) -> bool:
    """True when ``hour`` is at least ``OFF_HOURS_GAP`` hours (around the clock) from every
    hour of ``hist_hours``."""
    return all(min(abs(hour - h), 24 - abs(hour - h)) >= OFF_HOURS_GAP for h in hist_hours)


def usual_hours(hours: set[int]) -> str:
    """The shortest span around the clock holding every hour of ``hours``, as "HH:00–HH:00":
    it starts after the longest run of unused hours, so hours that cross midnight read
    "19:00–05:00", not "00:00–24:00" (the min and max of 19–23 and 0–4)."""
    h = sorted(hours)
    if len(h) == 24:
        return "00:00–24:00"
    gaps = [((h[i] - h[i - 1]) % 24 or 24, i) for i in range(len(h))]
    _, i = max(gaps, key=lambda g: (g[0], -g[1]))
    return f"{h[i]:02d}:00–{h[i - 1] + 1:02d}:00"


def _range(ctx: AppContext, req: ReportRequest, days: int) -> tuple[Filters, Filters, str]:
    tz = effective_timezone(req.tz, ctx.config)
    yesterday = local_today(tz, _now(req)) - timedelta(days=1)
    # the ``days`` days up to yesterday, or up to the day of an --until given alone
    flt = build_filters(ctx, req, default=lambda end: ((end or yesterday) - timedelta(days=days - 1), end or yesterday))
    past_until(flt, req)  # a day still to come has no usage yet: it is no "drop"
    base_since = flt.since - timedelta(days=7 * WEEKS)
    fetch = Filters(day_start_utc(base_since, tz), flt.end, tz, base_since, flt.until, flt.where)
    return flt, fetch, tz


def find(
    ctx: AppContext,
    req: ReportRequest,
    *,
    by: Sequence[str] = (),
    metric: Metric = "cost",
    days: int = DEFAULT_DAYS,
    recommend: bool = True,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], Filters, list[dict[str, Any]], Unjudged]:
    """(findings, model-switch rows (empty unless ``recommend``), the checked range's filters,
    the unpriced models of the days read (``rollup.unpriced_models``; empty with ``tokens``),
    the checked days not judged for want of history (``unjudged``: every series' history begins
    with the total's))."""
    from usagectl.services import optimize as opt
    from usagectl.services.rollup import unpriced_models
    from usagectl.store import reports as q
    from usagectl.store import series as sq
    from usagectl.store.connection import connect

    for d in by:
        if d not in ANOMALY_DIMS:
            raise UsageError(f"--by {d!r}: choose from member, model, feature, api-key, integration")
    if metric not in METRIC_KEYS:
        raise UsageError(f"--metric {metric!r}: choose from cost, tokens")
    flt, fetch, tz = _range(ctx, req, days)
    dims = list(dict.fromkeys([*by, *ATTRIBUTION_DIMS, "api_key"]))
    before = Filters(fetch.start, flt.start, tz, fetch.since, flt.since - timedelta(days=1), flt.where)
    with connect(ctx.db_path, read_only=True) as con:
        q.prepare_session(con, ctx.pricebook(), ctx.config.members, fetch)
        sets = sq.daily_sets(con, fetch, dims)
        hours = {d: sq.hour_profile(con, fetch, d, flt.since) for d in ("member", "api_key")}
        errors = sq.error_types(con, flt)
        unpriced = unpriced_models(q.cube(con, fetch, [])) if metric == "cost" else []
        now_sw, before_sw = [], []
        if recommend:
            now_sw = sq.reprice_model(con, flt, opt.CHEAPER_MODEL, opt.SIMPLE_MAX_INPUT, opt.SIMPLE_MAX_OUTPUT)
            before_sw = sq.reprice_model(con, before, opt.CHEAPER_MODEL, opt.SIMPLE_MAX_INPUT, opt.SIMPLE_MAX_OUTPUT)
    key = METRIC_KEYS[metric]
    floor = FLOORS[metric]
    first = (flt.since - fetch.since).days
    day = [fetch.since + timedelta(days=i) for i in range((flt.until - fetch.since).days + 1)]
    total = dense(sets[None], fetch.since, flt.until, key)
    # the observed days exactly (the float series are the statistics' only)
    observed: dict[str, tuple[Decimal, ...]] = {"total": exact(sets[None], fetch.since, flt.until, key)}
    groups: dict[str, dict[Any, list[float]]] = {}
    # per model and api key: requests (usage, priced or not), tokens and unpriced requests a day
    usage: dict[str, dict[Any, tuple[list[float], ...]]] = {}
    for d in dims:
        rows_by: dict[Any, list[dict[str, Any]]] = {}
        for r in sets[d]:
            rows_by.setdefault(r["key"], []).append(r)
        groups[d] = {k: dense(v, fetch.since, flt.until, key) for k, v in rows_by.items() if k is not None}
        if d in ("model", "api_key"):
            usage[d] = {
                k: tuple(dense(v, fetch.since, flt.until, c) for c in ("requests", "total_tokens", "unpriced_requests"))
                for k, v in rows_by.items()
                if k is not None
            }
        if d in by:
            observed |= {f"{d}:{k}": exact(v, fetch.since, flt.until, key) for k, v in rows_by.items() if k is not None}
    out: list[dict[str, Any]] = []

    def actual(series: str, i: int) -> Decimal | int:
        v = observed[series][i]
        return int(v) if metric == "tokens" else v

    def add(i: int, series: str, kind: str, sev: str, detail: str, f: Finding | None = None) -> None:
        rec: dict[str, Any] = {"day": day[i], "series": series, "kind": kind, "severity": sev}
        rec["value"] = actual(series, i) if f else None
        rec["expected"] = to_amount(f.expected, metric) if f else None
        rec["expected_low"] = to_amount(f.low, metric) if f else None
        rec["expected_high"] = to_amount(f.high, metric) if f else None
        out.append(rec | {"detail": detail})

    def shown(x: float | Decimal | int) -> str:
        """An amount in the detail: dollars to the cent, or whole tokens."""
        return f"${x:,.2f}" if metric == "cost" else f"{round(x):,}"

    def said(f: Finding, series: str) -> str:
        text = (
            f"{f.kind} of {shown(actual(series, f.index))} vs expected {shown(f.expected)} ({_z_text(f.z, f.record)})"
        )
        last = f.through if f.through is not None else f.index
        if f.since is not None:
            text += f"; no usage since {day[f.since]} ({counted(last - f.since + 1, 'day')} through {day[last]})"
        elif f.through is not None:
            text += f"; no usage from this day through {day[last]} ({counted(last - f.index + 1, 'day')})"
        return text

    start = _start(total)
    for f in detect(total, first, floor, start):
        detail = said(f, "total")
        if f.kind == "spike":
            parts = []
            for d in ATTRIBUTION_DIMS:
                for k, vals in groups[d].items():
                    e = _expected(vals, f.index, start) or 0.0
                    if vals[f.index] - e > 0:
                        parts.append((vals[f.index] - e, f"{d} {k} +{shown(vals[f.index] - e)}"))
            if parts:
                detail += "; excess from " + ", ".join(p for _, p in sorted(parts, reverse=True)[:4])
        add(f.index, "total", f.kind, severity(f.z), detail, f)
    for d in by:
        for k, vals in sorted(groups[d].items(), key=lambda kv: str(kv[0])):
            for f in detect(vals, first, floor, start):
                add(f.index, f"{d}:{k}", f.kind, severity(f.z), said(f, f"{d}:{k}"), f)
    # off-hours
    for d, rows in hours.items():
        hist: dict[Any, set[int]] = {}
        days_hist: dict[Any, int] = {}
        for r in rows:
            if r["hist_days"]:
                hist.setdefault(r["key"], set()).add(r["hour"])
                days_hist[r["key"]] = max(days_hist.get(r["key"], 0), r["hist_days"])
        for r in rows:
            k = r["key"]
            if not r["recent"] or k not in hist or len(hist[k]) == 0 or r["hist_days"]:
                continue
            if days_hist.get(k, 0) < OFF_HOURS_MIN_DAYS or not off_hours(hist[k], r["hour"]):
                continue
            for cell in r["recent"]:
                i = (cell["day"] - fetch.since).days
                span = usual_hours(hist[k])
                add(i, f"{d}:{k}", "off-hours", "medium",
                    f"{counted(cell['requests'], 'request')} at {r['hour']:02d}:00, never active within "
                    f"{OFF_HOURS_GAP} h of that before (usual hours {span})")  # fmt: skip
    # new and heavy: unseen = no request in the baseline (an unpriced model has no cost there
    # either, but it was used); with cost, a day's unpriced usage is weighed by its tokens
    active_base = sum(1 for v in dense(sets[None], fetch.since, flt.until, "requests")[:first] if v)
    all_tokens = dense(sets[None], fetch.since, flt.until, "total_tokens")
    for d in ("model", "api_key"):
        for k, vals in groups[d].items():
            used, tokens, unpriced_req = usage[d][k]
            if active_base < SCALE_DAYS or any(used[:first]):
                continue
            for i in range(first, len(vals)):
                if total[i] > 0 and vals[i] >= NEW_HEAVY_SHARE * total[i] and vals[i] >= floor:
                    share, what = vals[i] / total[i], str(metric)
                elif (
                    metric == "cost"
                    and unpriced_req[i]
                    and tokens[i] >= NEW_HEAVY_SHARE * all_tokens[i]
                    and tokens[i] >= FLOORS["tokens"]
                ):
                    share, what = tokens[i] / all_tokens[i], "tokens (no price: not in the cost)"
                else:
                    continue
                add(i, f"{d}:{k}", "new-heavy", "high" if share >= 0.5 else "medium",
                    f"first used in this range, {share:.0%} of the day's {what}")  # fmt: skip
                break
    # error bursts
    req_ = dense(sets[None], fetch.since, flt.until, "requests")
    err = dense(sets[None], fetch.since, flt.until, "errors")
    types: dict[date, list[tuple[int, str]]] = {}
    for r in errors:
        types.setdefault(r["date"], []).append((r["errors"], r["error_type"]))
    for i in range(first, len(err)):
        rates = [err[t] / req_[t] for t in range(max(0, i - SCALE_DAYS), i) if req_[t]]
        base = median(rates) if rates else 0.0
        rate = err[i] / req_[i] if req_[i] else 0.0
        if err[i] >= ERROR_MIN and rate >= ERROR_RATE_MIN and rate >= ERROR_RATIO * base:
            top = ", ".join(f"{t} {n:,}" for n, t in sorted(types.get(day[i], []), reverse=True)[:3])
            sev = "high" if (base and rate >= 10 * base) or rate >= 0.25 else "medium"
            add(i, "total", "error-burst", sev, f"{int(err[i]):,} errors ({rate:.1%} vs usual {base:.1%}): {top}")
    out.sort(key=lambda r: (r["day"], r["series"], r["kind"]))
    switch = _switch_rows(now_sw, before_sw, flt, max(first - start, 0))
    history = Unjudged(tuple(day[i] for i in unjudged(total, first, start)), day[start] if start < len(day) else None)
    return out, switch, flt, unpriced, history


def _switch_rows(
    now: list[dict[str, Any]], before: list[dict[str, Any]], flt: Filters, b_days: int
) -> list[dict[str, Any]]:
    """The model-switch rows. ``b_days``: the baseline days since the first day with any usage
    (the days before the data are not zeros: averaged over all 8 weeks, 30 days of a steady 2
    requests a day would read as 0.6 a day before and "took over"); 0 when the data begins in
    the checked range, so the usage is new."""
    n_days = (flt.until - flt.since).days + 1
    prev = {(r["model"], r["alt"]): r["events"] for r in before}
    rows = []
    for r in now:
        if not r["events"] or r["cost"] is None or r["alt_cost"] is None or r["cost"] <= r["alt_cost"]:
            continue
        per_day_now = Decimal(r["events"]) / n_days
        per_day_before = Decimal(prev.get((r["model"], r["alt"]), 0)) / b_days if b_days else Decimal(0)
        saving = ((r["cost"] - r["alt_cost"]) * 30 / n_days).quantize(Decimal("0.000001"))
        rows.append({"model": r["model"], "to_model": r["alt"], "simple_requests": r["events"],
                     "per_day_before": per_day_before.quantize(Decimal("0.1")),
                     "per_day_now": per_day_now.quantize(Decimal("0.1")),
                     "took_over": _took_over(r["events"], per_day_now, per_day_before),
                     "saving_usd_month": saving})  # fmt: skip
    return sorted(rows, key=lambda r: -r["saving_usd_month"])


def _took_over(requests: int, per_day_now: Decimal, per_day_before: Decimal) -> bool:
    """An expensive model took over simple work: at least ``TAKEOVER_MIN_REQUESTS`` simple
    requests in the checked range (a handful is no take-over, however new) and at least
    ``TAKEOVER_RATIO`` × as many a day as before."""
    return requests >= TAKEOVER_MIN_REQUESTS and per_day_now >= TAKEOVER_RATIO * per_day_before


def anomalies_report(ctx: AppContext, req: ReportRequest, *, by: Sequence[str] = (), metric: Metric = "cost") -> Report:
    findings, switch, flt, unpriced, history = find(ctx, req, by=by, metric=metric)
    money: Literal["amount", "int"] = "amount" if metric == "cost" else "int"
    sections = (
        Section(
            key="model_switch",
            title="Model-switch recommendations (simple requests on an expensive model)",
            columns=(
                Column("model", "Model"),
                Column("to_model", "Switch to"),
                Column("simple_requests", "Simple requests", "int"),
                Column("per_day_before", "Per day before", "float"),
                Column("per_day_now", "Per day now", "float"),
                Column("took_over", "Took over", "int"),
                Column("saving_usd_month", "Saving / month", "money"),
            ),
            rows=tuple(switch),
        ),
    )
    notes = (
        f"Checked {flt.since} – {flt.until} ({flt.tz}) against each series' own weekly pattern over the "
        f"{WEEKS} weeks before: expected = median of the same weekday; flagged at |robust z| >= {Z:g} "
        f"and at least {'$' if metric == 'cost' else ''}{FLOORS[metric]:,.0f} away from it.",
        *_unjudged_note(history, flt.until),
        "Saving / month = (cost − cost at the cheaper model) of the range's simple requests × 30 / days in range. "
        f"Took over = at least {counted(TAKEOVER_MIN_REQUESTS, 'simple request')} in the range and at least "
        f"{TAKEOVER_RATIO:g} × as many a day as in the days before.",
        *_unpriced_notes(unpriced),
    )
    return Report(
        name="anomalies",
        title=f"Anomalies {flt.since} – {flt.until} ({flt.tz})",
        filters=flt.as_dict() | {"by": [cli_name(b) for b in by], "metric": metric},
        columns=(
            Column("day", "Day", "date"),
            Column("series", "Series"),
            Column("kind", "Kind"),
            Column("severity", "Severity"),
            Column("value", "Value", money),
            Column("expected", "Expected", money, in_table=False),
            # on a narrow terminal the expected range goes (the detail says what was expected)
            # rather than squeeze the detail into a column of a dozen characters
            Column("expected_low", "Expected from", money, narrow_drop=1),
            Column("expected_high", "Expected to", money, narrow_drop=1),
            Column("detail", "Detail"),
        ),
        rows=tuple(findings),
        totals={"anomalies": len(findings)} | {k: sum(1 for f in findings if f["kind"] == k) for k in KINDS},
        sections=sections,
        notes=notes,
    )


KINDS = ("spike", "drop", "off-hours", "new-heavy", "error-burst")


def _unjudged_note(history: Unjudged, until: date) -> list[str]:
    """Which checked days were not judged for want of history, and from when a day can be: the
    report would otherwise say only "No rows." about days nobody looked at."""
    days = history.days
    if not days or history.data_from is None:
        return []
    span = f"{days[0]}" if len(days) == 1 else f"{days[0]} – {days[-1]}"
    ready = history.data_from + timedelta(days=HISTORY_NEEDED)
    return [
        f"Not judged for want of history: {counted(len(days), 'checked day')} ({span}). A day is judged against "
        f"the median of at least {MIN_SAME_WEEKDAYS} of the same weekday before it and the spread of at least "
        f"{MIN_RESIDUALS} earlier days, so it needs {HISTORY_NEEDED} days of data before it; the data begins "
        f"{history.data_from}, so the first day that can be judged is {ready}"
        + (" (after this range)." if ready > until else ".")
    ]


def recent_anomalies(ctx: AppContext, req: ReportRequest, *, days: int = 7) -> list[dict[str, Any]]:
    """The last ``days`` complete days' anomalies of the total and per member and model, newest
    first: dicts with ``day``, ``series``, ``kind`` (spike/drop/off-hours/new-heavy/error-burst),
    ``severity`` (low/medium/high) and ``detail``. ``req.since``/``until`` are ignored."""
    from dataclasses import replace

    findings, _, _, _, _ = find(
        ctx, replace(req, since=None, until=None), by=("member", "model"), days=days, recommend=False
    )
    keep = ("day", "series", "kind", "severity", "detail")
    return [{k: f[k] for k in keep} for f in sorted(findings, key=lambda f: f["day"], reverse=True)]
