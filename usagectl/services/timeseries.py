"""`report daily|weekly|monthly`: tokens and cost per calendar period in the report's zone,
with the change against the previous period and spikes marked.

* Periods are whole calendar days, weeks (starting on ``--week-start``, default the config's
  ``[display] week_start``; a week is labelled by its first day) or months. The range is
  widened outward to whole periods; the period before the first one is fetched in the same
  query, so the first row has a change too.
* Change: ``cost_change_usd`` = cost − previous cost, ``cost_change_pct`` = that × 100 /
  previous cost (2 decimals; None when the previous period cost nothing); the same for tokens.
  Unpriced usage is not in the cost (it has none) and is named in the notes; a period with
  unpriced usage has a cost that is only a lower bound, so no cost change from or to it (None,
  "–"), as ``report compare`` has none. A period that has not begun (after today) has no
  change at all.
* Spikes: over the range's periods that have started, m = median, σ = 1.4826 × MAD (median
  absolute deviation). A period is a spike when its cost or its tokens is above m + 3σ AND at
  least 2 × m of that metric, with m > 0 (when most periods are empty, every busy one would be
  a "spike": no verdict then), and only over at least ``MIN_SPIKE_PERIODS`` (3) periods: the
  median of one period is that period, and of two their mean, above which neither can be by
  3σ (σ = 1.4826 × half their difference): no verdict and no threshold then. A period is judged
  by its usage to date, the value the median took from it (usage dated after today is not in
  the medians: QA, a month was a "spike" of itself, $150 against its own $25 to date).
* ``report monthly`` adds budget columns when the config has a monthly USD budget for the
  report's scope: the global one without filters, ``team:X`` with ``--team X`` alone, etc.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal

from usagectl.config import WEEKDAYS, effective_timezone, weekday_name
from usagectl.errors import UsageError
from usagectl.models import Column, Filters, Report, counted
from usagectl.services.context import AppContext
from usagectl.services.reports import (
    METRIC_COLUMNS,
    ROW_KEYS,
    ReportRequest,
    _cube_and_band,
    _now,
    _totals,
    _unpriced_notes,
    _zone_notes,
    build_filters,
    shown_metrics,
)
from usagectl.services.rollup import empty, rollup, total, unpriced_models
from usagectl.services.spikes import MAD_SCALE, median
from usagectl.store import reports as q
from usagectl.store.connection import connect
from usagectl.timeutil import day_start_utc, local_today

Unit = Literal["day", "week", "month"]
NAMES: dict[str, str] = {"day": "daily", "week": "weekly", "month": "monthly"}
LABEL_KEYS: dict[str, str] = {"day": "date", "week": "week", "month": "month"}
DEFAULT_PERIODS: dict[str, int] = {"day": 30, "week": 12, "month": 12}
SPIKE_Z = Decimal(3)
SPIKE_RATIO = Decimal(2)
MIN_SPIKE_PERIODS = 3  # the fewest periods to date whose median the rule can mark a period against
HUNDRED = Decimal(100)
ZERO = Decimal(0)
SPIKE_RULE = "above median + 3 × 1.4826 × MAD of the range and at least 2 × the median"

CHANGE_COLUMNS: tuple[Column, ...] = (
    Column("cost_change_usd", "Δ Cost", "amount"),  # None: unknown (an unpriced side), "–"
    Column("cost_change_pct", "Δ Cost %", "pct"),
    Column("tokens_change", "Δ Tokens", "int", in_table=False),
    Column("tokens_change_pct", "Δ Tokens %", "pct", narrow_drop=1),
    # a boolean: the table shows yes/no, CSV true/false, JSON true/false ("int" gives those forms);
    # a narrow table leaves it out (the notes name every spike) before a header folds
    Column("spike", "Spike", "int", narrow_drop=2),
)
# a time series reads best narrow: the cache buckets and request counts stay in json/csv
PERIOD_METRIC_COLUMNS: tuple[Column, ...] = tuple(
    dataclasses.replace(c, in_table=c.in_table and c.key not in ("requests", "cache_read_tokens", "cache_write_tokens"))
    for c in METRIC_COLUMNS
)
BUDGET_COLUMNS: tuple[Column, ...] = (
    # the same limit on every row, and a note says it: the first budget column a narrow table drops
    Column("budget_usd", "Budget", "money", narrow_drop=3),
    Column("budget_used_pct", "Budget used", "used_pct"),
    # budget - exact cost: $159.12 - $159.1132 is $0.0068, shown $0.01 like the $159.11 cost beside it
    Column("budget_remaining_usd", "Budget left", "money", cents=True),
)


def parse_week_start(value: str | None, default: str) -> str:
    """``monday`` … ``sunday`` (or the first three letters), case-insensitive."""
    if value is None:
        return default
    day = weekday_name(value)
    if day is not None:
        return day
    raise UsageError(f"--week-start {value!r}: not a weekday; choose from {', '.join(WEEKDAYS)}")


def period_start(d: date, unit: Unit, week_start: str = "monday") -> date:
    if unit == "day":
        return d
    if unit == "week":
        return d - timedelta(days=(d.weekday() - WEEKDAYS.index(week_start)) % 7)
    return d.replace(day=1)


def next_start(start: date, unit: Unit) -> date:
    if unit == "day":
        return start + timedelta(days=1)
    if unit == "week":
        return start + timedelta(days=7)
    return date(start.year + start.month // 12, start.month % 12 + 1, 1)


def previous_start(start: date, unit: Unit) -> date:
    if unit == "day":
        return start - timedelta(days=1)
    if unit == "week":
        return start - timedelta(days=7)
    return date(start.year - (start.month == 1), (start.month - 2) % 12 + 1, 1)


def _label(start: date, unit: Unit) -> Any:
    return f"{start.year:04d}-{start.month:02d}" if unit == "month" else start


def _label_text(start: date, unit: Unit) -> str:
    return {"day": start.isoformat(), "week": f"week of {start}", "month": f"{start:%Y-%m}"}[unit]


def change(cur: Decimal | int | None, prev: Decimal | int | None) -> tuple[Any, Decimal | None]:
    """(cur − prev, the change in % of prev to 2 decimals or None when prev is 0). None is an
    unknown (unpriced) cost, not 0: the change from or to it is unknown too, (None, None).
    Callers pass 0 for a side with no usage."""
    if cur is None or prev is None:
        return None, None
    c, p = cur, prev
    pct = None if not p else (Decimal(c - p) * HUNDRED / Decimal(p)).quantize(Decimal("0.01"))
    return c - p, pct


@dataclasses.dataclass(frozen=True)
class SpikeStats:
    median: Decimal
    sigma: Decimal
    periods: int  # how many values the median is of

    @property
    def decides(self) -> bool:
        """Whether a period can be judged: a median above 0 of enough periods."""
        return self.median > 0 and self.periods >= MIN_SPIKE_PERIODS

    @property
    def threshold(self) -> Decimal:
        """The smallest value that is a spike is just above this."""
        return max(self.median + SPIKE_Z * self.sigma, SPIKE_RATIO * self.median)

    def is_spike(self, value: Decimal) -> bool:
        return self.decides and value > self.median + SPIKE_Z * self.sigma and value >= SPIKE_RATIO * self.median


def spike_stats(values: Sequence[Decimal]) -> SpikeStats | None:
    if not values:
        return None
    m = median(values)
    return SpikeStats(m, MAD_SCALE * median([abs(v - m) for v in values]), len(values))


def local_cube(ctx: AppContext, flt: Filters, keys: list[str]) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
    """``reports._cube`` for keys that include the local hour (and weekday), and the note on the
    provider day buckets such a view counts at the hour they start (``reports._zone_notes``)."""
    with connect(ctx.db_path, read_only=True) as con:
        q.prepare_session(con, ctx.pricebook(), ctx.config.members, flt)
        return q.cube(con, flt, keys), _zone_notes(con, flt, hourly=True)


def _default_range(unit: Unit, today: date, week_start: str) -> tuple[date, date]:
    start = period_start(today, unit, week_start)
    for _ in range(DEFAULT_PERIODS[unit] - 1):
        start = previous_start(start, unit)
    return start, today


def _widen(flt: Filters, unit: Unit, week_start: str) -> Filters:
    since = period_start(flt.since, unit, week_start)
    until = next_start(period_start(flt.until, unit, week_start), unit) - timedelta(days=1)
    return dataclasses.replace(
        flt,
        since=since,
        until=until,
        start=day_start_utc(since, flt.tz),
        end=day_start_utc(until + timedelta(1), flt.tz),
    )


def _metrics(rec: dict[str, Any] | None) -> dict[str, Any]:
    rec = rec or {k: (ZERO if k == "cost_usd" else 0) for k in ROW_KEYS}
    return {k: rec[k] for k in ROW_KEYS}


def periodic(ctx: AppContext, req: ReportRequest, unit: Unit, *, week_start: str | None = None) -> Report:
    """One row per calendar ``unit`` of the range (defaults: the last 30 days, the last 12
    weeks, the last 12 months, each through today)."""
    tz = effective_timezone(req.tz, ctx.config)
    today = local_today(tz, _now(req))
    ws = parse_week_start(week_start, ctx.config.week_start)
    # the last N periods through today, or through the day of an --until given alone
    asked = build_filters(ctx, req, default=lambda end: _default_range(unit, end or today, ws))
    flt = _widen(asked, unit, ws)
    prev = previous_start(flt.since, unit)
    # the cube reaches back one period for the first change; the band note covers the range shown
    cube, band_notes = _cube_and_band(
        ctx, flt, ["date"], cube_flt=dataclasses.replace(flt, start=day_start_utc(prev, tz))
    )
    for r in cube:
        r["period"] = period_start(r["date"], unit, ws)
    by_period = {k[0]: v for k, v in rollup(cube, ["period"]).items()}
    in_range = [r for r in cube if r["date"] >= flt.since]
    unpriced = unpriced_models(in_range)
    totals = _totals(total(in_range), unpriced)

    starts = []
    s = flt.since
    while s <= flt.until:
        starts.append(s)
        s = next_start(s, unit)
    started = [s for s in starts if s <= today]
    # the averages and medians are over the periods to date and their usage to date: usage dated
    # after today (a clock ahead; in a later period or later in this one) is in the rows and the
    # totals, not in an average
    to_date = total(r for r in in_range if r["date"] <= today)
    by_past = {k[0]: v for k, v in rollup([r for r in cube if r["date"] <= today], ["period"]).items()}
    ahead = [r for r in in_range if r["date"] > today and (r["requests"] or r["total_tokens"])]
    cost_stats = spike_stats([by_past.get(s, empty())["cost_usd"] or ZERO for s in started])
    token_stats = spike_stats([Decimal(by_past.get(s, empty())["total_tokens"]) for s in started])

    label_key = LABEL_KEYS[unit]
    rows: list[dict[str, Any]] = []
    spikes: list[str] = []
    before = by_period.get(prev)
    for s in starts:
        rec = by_period.get(s)
        row: dict[str, Any] = {label_key: _label(s, unit)} | _metrics(rec)
        if s > today:  # not begun: nothing to compare yet (not a -100 % drop)
            row["cost_change_usd"] = row["cost_change_pct"] = row["tokens_change"] = row["tokens_change_pct"] = None
        else:
            # a cost with unpriced usage in it is a lower bound: its change is unknown ("–"), as in
            # report compare
            partial = row["unpriced_requests"] or (before or {}).get("unpriced_requests")
            row["cost_change_usd"], row["cost_change_pct"] = change(
                None if partial else row["cost_usd"], before["cost_usd"] if before else 0
            )
            row["tokens_change"], row["tokens_change_pct"] = change(
                row["total_tokens"], before["total_tokens"] if before else 0
            )
        # judged by its usage to date, as the median took it: never by usage dated after today
        # against a median of only part of itself
        hot = []
        past = by_past.get(s, empty())
        cost_to_date, tokens_to_date = past["cost_usd"] or ZERO, int(past["total_tokens"])
        if s <= today and cost_stats and cost_stats.is_spike(cost_to_date):
            hot.append(f"cost ${cost_to_date.quantize(Decimal('0.01'))}")
        if s <= today and token_stats and token_stats.is_spike(Decimal(tokens_to_date)):
            hot.append(f"{tokens_to_date:,} tokens")
        row["spike"] = bool(hot)
        if hot:
            spikes.append(f"{_label_text(s, unit)} ({', '.join(hot)})")
        rows.append(row)
        before = rec

    columns = (_label_column(unit),) + shown_metrics(PERIOD_METRIC_COLUMNS, totals) + CHANGE_COLUMNS
    notes = [*_unpriced_notes(unpriced), *band_notes]
    budget_note = None
    if unit == "month":
        budget, budget_note = _budget(ctx, flt)
        if budget is not None:
            columns += BUDGET_COLUMNS
            for row in rows:
                cost = row["cost_usd"] or ZERO
                row["budget_usd"] = budget
                row["budget_used_pct"] = cost * HUNDRED / budget  # exact: shown rounded down
                row["budget_remaining_usd"] = budget - cost
    if spikes:
        notes.append(f"Spikes ({SPIKE_RULE}): " + "; ".join(spikes) + ".")
    if (req.since and asked.since != flt.since) or (req.until and asked.until != flt.until):
        notes.append(f"Range widened to whole {unit}s: {flt.since} – {flt.until}.")
    current = period_start(today, unit, ws)
    if unit != "day" and flt.since <= current <= flt.until:
        notes.append(
            f"{_label_text(current, unit)} is in progress (through {today}): its change compares part of a {unit}."
        )
    if budget_note:
        notes.append(budget_note)
    if ahead:
        notes.append(_ahead_note(unit, ahead, len(started)))
    filters = flt.as_dict() | ({"week_start": ws} if unit == "week" else {})
    return Report(
        name=NAMES[unit],
        title=f"{NAMES[unit].capitalize()} usage {flt.since} – {flt.until} ({tz})",
        filters=filters,
        columns=columns,
        rows=tuple(rows),
        totals=totals,
        overview=_overview(unit, len(started), to_date, cost_stats, token_stats, len(spikes)),
        notes=tuple(notes),
    )


def _label_column(unit: Unit) -> Column:
    if unit == "day":
        return Column("date", "Date", "date")
    if unit == "week":
        return Column("week", "Week of", "date")
    return Column("month", "Month")


def _ahead_note(unit: Unit, ahead: list[dict[str, Any]], n: int) -> str:
    """The note on usage dated after today (cube rows by day), as ``report month`` has one: where
    it is counted."""
    days = sorted({r["date"] for r in ahead})
    tokens = sum(int(r["total_tokens"]) for r in ahead)
    span = days[0].isoformat() + (f" – {days[-1].isoformat()}" if len(days) > 1 else "")
    return (
        f"Usage dated after today ({span}: {tokens:,} tokens) is in the totals and the rows but not in the "
        f"averages and medians, which cover the {counted(n, unit)} to date; `usagectl doctor` lists events after now."
    )


def _overview(
    unit: Unit,
    n: int,
    to_date: dict[str, Any],
    cost: SpikeStats | None,
    tokens: SpikeStats | None,
    spikes: int,
) -> tuple[tuple[str, str, Any], ...]:
    """The overview lines; the averages are ``to_date`` (the usage of the ``n`` periods that have
    begun) over ``n``."""
    out: list[tuple[str, str, Any]] = [("periods", f"{unit.capitalize()}s (to date)", n)]
    if n:
        out.append(("average_cost_usd", f"Average cost per {unit}", (to_date["cost_usd"] or ZERO) / n))
        out.append(("average_tokens", f"Average tokens per {unit}", to_date["total_tokens"] // n))
    if cost and tokens:
        out.append(("median_cost_usd", f"Median cost per {unit}", cost.median))
        out.append(("median_tokens", f"Median tokens per {unit}", int(tokens.median)))
        out.append(("spike_above_cost_usd", "Spike: cost above", cost.threshold if cost.decides else None))
        out.append(("spike_above_tokens", "Spike: tokens above", int(tokens.threshold) if tokens.decides else None))
    out.append(("spikes", "Spikes", spikes))
    return tuple(out)


def _budget(ctx: AppContext, flt: Filters) -> tuple[Decimal | None, str | None]:
    """The monthly USD budget whose scope is exactly the report's filters, and a note."""
    from usagectl.services.budget_config import SCOPE_KINDS, describe_limit
    from usagectl.services.budgets import load_budgets

    if not flt.where:
        scope = "global"
    elif len(flt.where) == 1:
        (name, values), kinds = next(iter(flt.where.items())), {v: k for k, v in SCOPE_KINDS.items()}
        if len(values) != 1 or name not in kinds:
            return None, None
        scope = f"{kinds[name]}:{values[0]}"
    else:
        return None, None
    for b in load_budgets(ctx):
        if b.scope == scope and b.period == "month" and b.kind == "usd":
            return b.limit, (
                f"Budget: the {scope} monthly budget of {describe_limit(b)} in the config, the same for every month "
                "shown (the config keeps no history of budgets); spend is priced cost, unpriced usage excluded."
            )
    return None, None
