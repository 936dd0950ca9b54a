"""`usagectl forecast`: the next N days as conservative / likely / aggressive (P10 / P50 / P90
of simulated horizon totals), the month-end projection, and for each budget the probability
and likely date of crossing it.

* History: the complete local days up to ``--until`` (default yesterday), from ``--since``
  (default 12 weeks before). The model: ``seasonal.holt_winters_paths`` (statsmodels
  Holt-Winters, weekly seasonality, damped additive trend or none by AICc), 1,000 simulated paths, fixed seed.
  Isolated outliers (a spike of one to 3 days) are replaced by the same-weekday median
  before the fit and come back in the paths as occasional jumps at the rate they occurred
  (``seasonal.outliers``): yesterday's one-off is not the new normal; a shift that lasts is.
* Less than ``MIN_HISTORY_DAYS`` (14) days since the first day with usage: no model; the simple
  run rate (average day × days), labelled as such, without a range or probabilities. Its P10 /
  P90 are None, which elsewhere means *unpriced*: the row's ``range`` says why instead
  (``RANGE_NONE``), and the table shows "–" (kind ``amount``).
* The first forecast day is the day after ``--until``. When that is today (the default), its
  spend so far (up to now) is actual, not forecast: it is added to every total (next N days, month
  to date, budget spend), and the model forecasts only the rest of today, its first simulated day
  × the share of today's real time (DST-correct) still to come, then the days after. The model is
  still fitted on the complete days only. With an earlier ``--until`` the forecast is as of the
  end of that day: nothing after it is actual.
* Month end: the month holding the first forecast day; its actual so far (through ``--until``,
  and today up to now) + the simulated rest, so never below the month to date.
* Usage dated after now (a clock ahead, timestamps without an offset written west of UTC), when
  the forecast starts today: stored usage, counted as ``budget status`` and ``report month`` count
  it: as actual, added as it is (never fitted, never extrapolated) to the month to date and so the
  month end (every path gets the same constant), to each budget's spend (so already over is 100 %,
  and the simulated rest starts from it), and to the next N days' totals when it falls inside
  them. One more query: its sums per series and local day up to the furthest day forecast.
* Budgets (config): a budget is forecast when its scope is the forecast's series: ``global``
  without filters, ``KIND:NAME`` with ``--by KIND`` (NAME among the top groups) or with exactly
  that one filter; a model NAME is resolved through the price tables as ``budget status`` does
  (an alias such as ``claude-sonnet-4.5`` is the series ``claude-sonnet-4-5``). Probability =
  share of paths whose spend (period so far, today's spend included + simulated rest) reaches
  the limit by the period's end; likely date = the median path's crossing day (only when the
  probability is at least 50 %). A budget already over
  (today's spend included, for every period kind) has 100 % and the day its spend in the period
  reached the limit.
* The metric is ``cost`` (priced USD; unpriced usage is not in it and is named in the notes) or
  ``tokens`` (all token buckets). Actual spend is summed exactly (Decimal; whole tokens); money
  leaves the model as Decimal quantized to 6 places (``seasonal.to_amount``), as JSON writes money.
* A series with usage but no priced cost at all (an unknown model) is never forecast as $0 nor
  as "no history": with ``cost`` its money is None (unpriced, ``RANGE_UNPRICED``) and a note
  names its models; its budgets have no spend or probability either.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from usagectl.config import effective_timezone
from usagectl.errors import UsageError
from usagectl.models import Column, Filters, Report, Section, counted, noun
from usagectl.render.formats import format_int, format_money
from usagectl.services.breakdowns import cli_name
from usagectl.services.context import AppContext
from usagectl.services.reports import ReportRequest, _unpriced_notes, build_filters, past_until
from usagectl.services.rollup import rollup, total, unpriced_models
from usagectl.services.seasonal import (
    METRIC_KEYS,
    REPETITIONS,
    Metric,
    dense,
    exact,
    holt_winters_paths,
    run_rate,
    to_amount,
)
from usagectl.timeutil import day_start_utc, days_in_month, local_today

MIN_HISTORY_DAYS = 14
HISTORY_DAYS = 84
FORECAST_DIMS = ("member", "team", "department", "project", "model", "provider", "feature", "api_key", "integration")
QUANTILES = (10, 50, 90)
LABELS = ("conservative", "likely", "aggressive")
NAIVE_DAYS = 30
RANGE_MODEL = "simulated"  # a row's ``range``: P10 / P90 of the model's simulated paths
RANGE_NONE = "insufficient history"  # ... or none: the run rate has no range (None is not unpriced)
RANGE_UNPRICED = "unpriced"  # ... or none because no usage of the series has a price (None is unpriced)
Kind = Literal["money", "int"]
_US = timedelta(microseconds=1)


@dataclass(frozen=True)
class ForecastRequest:
    days: int = 30
    by: str | None = None
    metric: Metric = "cost"
    top: int = 5


@dataclass
class _Series:
    name: str
    values: list[float]  # fetched range through --until, one value per day
    history: list[float]  # the model's window
    first_active: int | None  # index in history
    unpriced_days: int = 0  # days since its first usage when none of it is priced (cost only), else 0
    actual: tuple[Decimal, ...] = ()  # exact spend per day of the fetched range, today so far included
    today: Decimal = Decimal(0)  # spend so far today when the forecast starts today (also actual[-1])
    later: tuple[Decimal, ...] = ()  # spend per day dated after now, from today (the first forecast day) on


def _clock() -> datetime:
    """The wall clock (tests replace it)."""
    return datetime.now(UTC)


def _check(freq: ForecastRequest) -> None:
    if not 1 <= freq.days <= 366:
        raise UsageError(f"--days {freq.days}: must be between 1 and 366")
    if freq.by is not None and freq.by not in FORECAST_DIMS:
        # the choices as --by spells them (api-key), not as the keys (api_key)
        raise UsageError(f"--by {freq.by!r}: choose from {', '.join(d.replace('_', '-') for d in FORECAST_DIMS)}")
    if freq.metric not in METRIC_KEYS:
        raise UsageError(f"--metric {freq.metric!r}: choose from cost, tokens")


def _pct(values: Any, q: int) -> float:
    import numpy as np

    return float(np.percentile(values, q))


def forecast_report(ctx: AppContext, req: ReportRequest, freq: ForecastRequest) -> Report:
    from usagectl.services.budget_config import load_budgets
    from usagectl.services.budgets import _scope_key, period_bounds
    from usagectl.store import reports as q
    from usagectl.store import series as sq
    from usagectl.store.connection import connect

    _check(freq)
    tz = effective_timezone(req.tz, ctx.config)
    now = req.now.astimezone(UTC) if req.now else _clock()
    req = replace(req, now=now)  # one clock for the default range and today's spend so far
    today = local_today(tz, now)
    yesterday = today - timedelta(days=1)
    # the 84 days up to yesterday, or up to the day of an --until given alone
    flt = build_filters(
        ctx, req, default=lambda end: ((end or yesterday) - timedelta(days=HISTORY_DAYS - 1), end or yesterday)
    )
    past_until(flt, req)  # the model is fitted on days that have happened, never on days to come
    since, until = flt.since, flt.until
    first_day = until + timedelta(days=1)
    # the forecast starts today: today's spend so far is actual (fetched up to now, never after),
    # and only the share of today still to come is forecast
    partial = first_day == today
    last_actual = first_day if partial else until
    actual_end, rest_of_today = flt.end, 1.0
    if partial:
        day_end = day_start_utc(first_day + timedelta(days=1), tz)
        actual_end = min(day_end, now + _US)
        rest_of_today = _share_left(now, day_start_utc(first_day, tz), day_end)
    month_start = first_day.replace(day=1)
    month_end = first_day.replace(day=days_in_month(first_day.year, first_day.month))
    budgets = load_budgets(ctx)
    spans = {b.label: period_bounds(b.period, first_day, ctx.config.week_start) for b in budgets}
    fetch_since = min([since, month_start] + [s for s, _ in spans.values()])
    # the paths run to the furthest day a column or a budget period reaches
    horizon = max([freq.days, (month_end - until).days] + [(e - until).days for _, e in spans.values()])
    fetch = Filters(
        start=day_start_utc(fetch_since, tz),
        end=actual_end,
        tz=tz,
        since=fetch_since,
        until=last_actual,
        where=flt.where,
    )
    # unpriced usage named in the notes: the history and, from today, the spend so far in the totals
    noted = Filters(start=flt.start, end=actual_end, tz=tz, since=since, until=last_actual, where=flt.where)
    # the usage dated after now, when now is the clock (the forecast starts today), up to that
    # furthest day: stored usage, counted as spent as `budget status` counts it
    last_day = until + timedelta(days=horizon)
    ahead = (
        Filters(start=now + _US, end=day_start_utc(last_day + timedelta(days=1), tz), tz=tz, since=first_day,
                until=last_day, where=flt.where)
        if partial
        else None
    )  # fmt: skip
    dims = [freq.by] if freq.by else []
    book = ctx.pricebook()
    with connect(ctx.db_path, read_only=True) as con:
        # the session's model names cover the usage after now too
        q.prepare_session(con, book, ctx.config.members, replace(fetch, end=ahead.end) if ahead else fetch)
        sets = sq.daily_sets(con, fetch, dims)
        unpriced = unpriced_models(q.cube(con, noted, [])) if freq.metric == "cost" else []
        by_unpriced = unpriced_models_by(q.cube(con, noted, dims), freq.by) if freq.by and unpriced else {}
        ahead_cube = q.cube(con, ahead, [*dims, "date"]) if ahead else []
    later_sets = _later_sets(ahead_cube, freq.by)
    offset = (since - fetch_since).days

    def series(name: str, rows: list[dict[str, Any]], metric: Metric) -> _Series:
        later_rows = later_sets.get(name, [])
        values = dense(rows, fetch_since, until, METRIC_KEYS[metric])  # the model's days: complete ones only
        hist = values[offset:]
        active = next((i for i, v in enumerate(hist) if v), None)
        # a day of usage: requests, or tokens (a provider bucket has no request count: 0)
        used = [
            r or t
            for r, t in zip(
                dense(rows, fetch_since, until, "requests")[offset:],
                dense(rows, fetch_since, until, "total_tokens")[offset:],
                strict=True,
            )
        ]
        first_used = next((i for i, v in enumerate(used) if v), None)
        # the series' usage through today's so far (a model first used today has no history day);
        # a series whose only usage is dated after now is judged on that
        window = [r for r in rows if since <= r["date"] <= last_actual] or later_rows
        priced = any(r["cost_usd"] is not None for r in window)
        today_only = first_used is None and any(
            r["date"] > until and (r["requests"] or r["total_tokens"]) for r in window
        )
        if metric == "cost" and not priced and (first_used is not None or today_only):
            return _Series(name, values, hist, None, len(used) - first_used if first_used is not None else 1)
        actual = exact(rows, fetch_since, last_actual, METRIC_KEYS[metric])
        later = exact(later_rows, first_day, last_day, METRIC_KEYS[metric]) if later_rows else ()
        today_so_far = actual[-1] if partial else Decimal(0)
        return _Series(name, values, hist, active, actual=actual, today=today_so_far, later=later)

    wanted: list[tuple[str, list[dict[str, Any]]]] = []
    if freq.by:
        groups: dict[Any, list[dict[str, Any]]] = {}
        for r in sets[freq.by]:
            groups.setdefault(r["key"], []).append(r)
        for r in ahead_cube:  # a group whose only usage is dated after now is a series too
            groups.setdefault(r[freq.by], [])
        key = METRIC_KEYS[freq.metric]

        def spend(group: Any, rws: list[dict[str, Any]]) -> float:
            name = str(group) if group is not None else "(none)"
            return sum(float(r[key] or 0) for r in rws + later_sets.get(name, []))

        ranked = sorted(groups.items(), key=lambda kv: (-spend(*kv), str(kv[0])))
        shown = ranked[: freq.top] if freq.top > 0 else ranked
        wanted = [(str(k) if k is not None else "(none)", rows) for k, rows in shown]
        hidden = len(ranked) - len(shown)
    else:
        wanted = [("total", sets[None])]
        hidden = 0

    rows: list[dict[str, Any]] = []
    models: dict[tuple[str, str], tuple[_Series, Any]] = {}

    def model(name: str, rws: list[dict[str, Any]], metric: Metric) -> tuple[_Series, Any]:
        if (name, metric) not in models:
            s = series(name, rws, metric)
            enough = s.first_active is not None and len(s.history) - s.first_active >= MIN_HISTORY_DAYS
            paths = holt_winters_paths(s.history[s.first_active or 0 :], horizon) if enough else None
            models[(name, metric)] = (s, paths)
        return models[(name, metric)]

    for name, rws in wanted:
        s, paths = model(name, rws, freq.metric)
        rows.append(_row(name, s, _future(s, paths, horizon, rest_of_today), paths is not None, freq,
                         until, month_start, month_end, fetch_since))  # fmt: skip
    budget_rows, budget_notes = [], []
    for b in budgets:
        metric: Metric = "tokens" if b.kind == "tokens" else "cost"
        target: str | None = None
        if b.scope == "global" and not flt.where:
            target = "total" if not freq.by else None
        elif b.scope != "global":
            # the scope as `budget status` reads it: a model alias (claude-sonnet-4.5) is its
            # canonical model, the name the --by model series and the --model filter carry
            col, bname = _scope_key(b, book)
            if freq.by == col and any(n == bname for n, _ in wanted):
                target = bname
            elif not freq.by and flt.where == {col: (bname,)}:
                target = "total"
        if target is None:
            budget_notes.append(b.label)
            continue
        rws = dict(wanted)[target]
        s, paths = model(target, rws, metric)
        p0, p1 = spans[b.label]
        if s.unpriced_days:
            budget_rows.append({"budget": b.label, "series": target, "period_end": p1, "limit": b.limit,
                                "spent": None, "probability_pct": None, "likely_cross_date": None,
                                "spent_after_now": None})  # fmt: skip
            continue
        so_far = s.actual[(p0 - fetch_since).days :]  # the period through today so far (fetch_since <= p0)
        # + the usage dated after now in the period, on its days (p0 <= first_day <= p1)
        spent_days, later = _with_later(so_far, s.later[: (p1 - first_day).days + 1], (first_day - p0).days)
        future = _future(s, paths, horizon, rest_of_today)
        budget_rows.append(_budget_row(b, target, spent_days, later, p0, future, paths is not None, p1, until))
    notes = ["Forecasts are estimates."]
    if any(r["method"] == "holt-winters" for r in rows):
        # the columns are totals of the next --days days (and of the month): the paths' own
        # length (as far as the furthest budget period reaches) is not what a column shows
        notes[0] += (
            f" Conservative / likely / aggressive = P10 / P50 / P90 of the total of the next "
            f"{counted(freq.days, 'day')} (month end: of the month's total) over {REPETITIONS:,} simulated paths "
            "(statsmodels Holt-Winters: weekly seasonality, damped trend or none by AICc; isolated spikes of 1–3 "
            "days replaced by the same-weekday median before the fit and recurring in the paths at the rate they "
            "occurred; fixed seed)."
        )
    start_note = f"the forecast starts {first_day}"
    if partial:
        start_note += (
            f" (today: its spend up to {now.astimezone(ZoneInfo(tz)):%H:%M} is actual, in every total and budget; "
            "only the rest of the day is forecast)"
        )
    notes.append(f"History: {since} – {until} ({tz}); {start_note}. " + _naive_note(rows))
    short = [r for r in rows if r["method"] == "run rate"]
    if short:
        some = "every series" if len(short) == len(rows) else "some series"
        notes.append(
            f"Less than {MIN_HISTORY_DAYS} days of history for {some}: the value is the SIMPLE RUN RATE (average "
            "of its days with history × days), not a model, and has no range: P10 and P90 show – (JSON null, "
            f'with "range": "{RANGE_NONE}"; not unpriced).'
        )
    if hidden:
        notes.append(f"{hidden} more {noun(hidden, 'group')} by {freq.by} not forecast (--top).")
    unpriced_rows = [r["series"] for r in rows if r["range"] == RANGE_UNPRICED]
    if unpriced_rows:
        notes.append(_unpriced_series_note(unpriced_rows, by_unpriced, unpriced))
    if budget_notes:
        notes.append("Budgets not forecast (scope is not this forecast's series): " + ", ".join(budget_notes) + ".")
    later_note = _later_note(ahead_cube, freq.days)
    if later_note:
        notes.append(later_note)
    notes.extend(_unpriced_notes(unpriced))
    money: Kind = "money" if freq.metric == "cost" else "int"
    bound: Literal["amount", "int"] = "amount" if freq.metric == "cost" else "int"  # None: no range, "–"
    columns = (
        Column("series", "Series"),
        Column("method", "Method"),
        Column("history_days", "History days", "int", in_table=False),
        Column("range", "Range", in_table=False),
        Column("naive_run_rate", "Naive run rate", money),
        Column("conservative", "Conservative P10", bound),
        Column("likely", "Likely P50", money),
        Column("aggressive", "Aggressive P90", bound),
        Column("month_to_date", "Month to date", money, in_table=False),
        Column("month_end_conservative", "Month end P10", bound, in_table=False),
        Column("month_end_likely", "Month end", money),
        Column("month_end_aggressive", "Month end P90", bound, in_table=False),
        Column("month_to_date_after_now", "Of it dated after now", money, in_table=False),
    )
    sections: tuple[Section, ...] = ()
    if budget_rows:
        sections = (
            Section(
                key="budgets",
                title="Budgets: chance of crossing",
                columns=(
                    Column("budget", "Budget"),
                    Column("series", "Series", in_table=False),
                    Column("period_end", "Period ends", "date"),
                    Column("limit", "Limit"),
                    Column("spent", "Spent"),
                    Column("probability_pct", "Chance", "pct"),
                    Column("likely_cross_date", "Likely crossing", "date"),
                    Column("spent_after_now", "Dated after now", in_table=False),
                ),
                rows=tuple(budget_rows),
            ),
        )
    return Report(
        name="forecast",
        title=f"Forecast of {freq.metric}: next {freq.days} days from {first_day} ({tz})",
        filters=flt.as_dict()
        | {
            "days": freq.days,
            "by": [cli_name(freq.by)] if freq.by else [],
            "metric": freq.metric,
            "quantiles": "P10/P50/P90",
        },
        columns=columns,
        rows=tuple(rows),
        totals={},
        sections=sections,
        notes=tuple(notes),
    )


def unpriced_models_by(cube_rows: list[dict[str, Any]], dim: str) -> dict[str, list[str]]:
    """The unpriced model names per value of ``dim`` (keys named as the forecast's series)."""
    out: dict[str, list[str]] = {}
    for r in cube_rows:
        raw = r.get("unpriced_raw")
        if raw is not None:
            key = str(r[dim]) if r[dim] is not None else "(none)"
            out.setdefault(key, [])
            if raw not in out[key]:
                out[key].append(raw)
    return out


def _unpriced_series_note(names: list[str], by_unpriced: dict[str, list[str]], unpriced: list[dict[str, Any]]) -> str:
    """Which series had usage without any price (shown unpriced, not $0) and their models."""
    every = [u["model_raw"] for u in unpriced]
    parts = [f"{n} ({', '.join(by_unpriced.get(n) or every)})" for n in names]
    return (
        "No price for any usage of the series " + "; ".join(parts) + ": its cost is unpriced (JSON null, "
        f'"range": "{RANGE_UNPRICED}"), not $0, and is not forecast. See `usagectl pricing check`.'
    )


def _later_sets(cube: list[dict[str, Any]], by: str | None) -> dict[str, list[dict[str, Any]]]:
    """The usage dated after now (``q.cube`` rows grouped by ``by`` and date) as daily rows per
    series name: ``total`` without ``by``, else the group's name as the forecast names it."""
    out: dict[str, list[dict[str, Any]]] = {}
    for key, sums in rollup(cube, [by, "date"] if by else ["date"]).items():
        name = "total" if not by else str(key[0]) if key[0] is not None else "(none)"
        out.setdefault(name, []).append(sums | {"date": key[-1]})
    return out


def _with_later(
    so_far: tuple[Decimal, ...], later: tuple[Decimal, ...], at: int
) -> tuple[tuple[Decimal, ...], Decimal]:
    """A period's spend per day ``so_far`` with the spend dated after now added on its days
    (``later[0]`` is the day ``so_far[at]``), and the sum of that later spend."""
    days = list(so_far) + [Decimal(0)] * max(at + len(later) - len(so_far), 0)
    for i, v in enumerate(later):
        days[at + i] += v
    return tuple(days), sum(later, Decimal(0))


def _later_note(cube: list[dict[str, Any]], days: int) -> str | None:
    """What of the usage is dated after now (a clock ahead) and how it is counted: as spent."""
    sums = total(cube)
    dated = sorted({r["date"] for r in cube if r["requests"] or r["total_tokens"]})
    if not dated:
        return None
    n, cost = int(sums["requests"]), sums["cost_usd"]
    amount = f"{format_int(int(sums['total_tokens']))} tokens, " + (
        format_money(cost) if cost is not None else "unpriced"
    )
    if cost is not None and sums["unpriced_requests"]:
        amount += f"; {counted(int(sums['unpriced_requests']), 'request')} without a price, not in the cost"
    span = str(dated[0]) + (f" – {dated[-1]}" if len(dated) > 1 else "")
    return (
        f"Dated after now (a clock ahead?): {counted(n, 'request')} ({amount}) on {span}: counted as spent, "
        "as it is, not forecast: in the month to date and the month end, in each budget's spend (as `budget "
        f"status` counts it) and, the part within them, in the next {counted(days, 'day')}; never fitted nor "
        "extrapolated. `usagectl doctor` lists events after now."
    )


def _naive_note(rows: list[dict[str, Any]]) -> str:
    """What the naive run rate averaged: the last ``NAIVE_DAYS`` days, or fewer when a series'
    history is shorter (it is never padded with days before the data)."""
    used = sorted(
        {min(NAIVE_DAYS, r["history_days"]) for r in rows if r["history_days"] and r["range"] != RANGE_UNPRICED}
    )
    if not used and rows and all(r["range"] == RANGE_UNPRICED for r in rows):
        return "Naive run rate: unpriced."
    if not used:
        return "Naive run rate: no usage in the history."
    span = counted(used[0], "day") if len(used) == 1 else f"{used[0]}–{used[-1]} days (per series)"
    return f"Naive run rate = average of the last {span} × days."


def _share_left(now: datetime, day_start: datetime, day_end: datetime) -> float:
    """The share of the day [day_start, day_end) still to come at ``now``, in real time (a DST
    day of 23 or 25 hours counts as it is lived)."""
    left = min(max(day_end - now, timedelta(0)), day_end - day_start)
    return left / (day_end - day_start)


def _future(s: _Series, paths: Any, horizon: int, rest_of_today: float) -> Any:
    """What is still to come from the first forecast day on, shape (horizon, paths): the model's
    simulated paths or, without a model, the simple run rate as one path; the first day scaled
    to the share of it still to come (1.0 unless the forecast starts today)."""
    import numpy as np

    if paths is None:
        active = s.history[s.first_active or 0 :] if s.first_active is not None else []
        future = np.full((horizon, 1), run_rate(active, len(active) or 1))
    else:
        future = np.array(paths[:horizon], dtype=float)
    if horizon:
        future[0] *= rest_of_today
    return future


def _plus(actual: Decimal, forecast: float, metric: Metric) -> Decimal | int:
    """Actual spend (exact) + a forecast of what is still to come: never below the actual."""
    more = to_amount(forecast, metric)
    return int(actual) + int(more) if metric == "tokens" else actual + Decimal(more)


def _actual(value: Decimal, metric: Metric) -> Decimal | int:
    return int(value) if metric == "tokens" else value


def _row(
    name: str,
    s: _Series,
    future: Any,
    modelled: bool,
    freq: ForecastRequest,
    until: date,
    month_start: date,
    month_end: date,
    fetch_since: date,
) -> dict[str, Any]:
    """One series. Every total is actual + forecast: next N days = today's spend so far (when the
    forecast starts today) + the spend dated after now within them + the simulated rest; month
    end = month to date (the spend dated after now in the month included) + the simulated rest."""
    m = freq.metric
    if s.unpriced_days:
        money = dict.fromkeys(("naive_run_rate", "month_to_date", "conservative", "likely", "aggressive"))
        money |= {"month_to_date_after_now": None}
        ends = dict.fromkeys(("month_end_conservative", "month_end_likely", "month_end_aggressive"))
        return {"series": name, "history_days": s.unpriced_days, "method": "unpriced", "range": RANGE_UNPRICED} | (
            money | ends
        )
    active = s.history[s.first_active or 0 :] if s.first_active is not None else []
    naive = run_rate(active, NAIVE_DAYS) * freq.days
    rest = (month_end - until).days  # days from the first forecast day to the month's end
    # the spend dated after now (s.later[0] is the first forecast day): actual, added as it is
    later_month = sum(s.later[:rest], Decimal(0))
    mtd = sum(s.actual[(month_start - fetch_since).days :], Decimal(0)) + later_month  # through today so far
    actual_days = s.today + sum(s.later[: freq.days], Decimal(0))  # the actual part of the next N days
    row: dict[str, Any] = {"series": name, "history_days": len(active), "naive_run_rate": to_amount(naive, m)}
    row["month_to_date"] = _actual(mtd, m)
    row["month_to_date_after_now"] = _actual(later_month, m)
    totals = future[: freq.days].sum(axis=0)
    month = future[:rest].sum(axis=0)
    if not modelled:
        row |= {"method": "run rate", "range": RANGE_NONE, "conservative": None}
        row |= {"likely": _plus(actual_days, float(totals[0]), m)}
        row |= {"aggressive": None, "month_end_conservative": None}
        row |= {"month_end_likely": _plus(mtd, float(month[0]), m), "month_end_aggressive": None}
        return row
    row["method"], row["range"] = "holt-winters", RANGE_MODEL
    # a quantile of (actual + X) is actual + the quantile of X: the actual is added exactly
    for label, qv in zip(LABELS, QUANTILES):
        row[label] = _plus(actual_days, _pct(totals, qv), m)
    for label, qv in zip(("month_end_conservative", "month_end_likely", "month_end_aggressive"), QUANTILES):
        row[label] = _plus(mtd, _pct(month, qv), m)
    return row


def _reached_on(values: tuple[Decimal, ...], first: date, limit: Decimal) -> date | None:
    """The first day (``values[0]`` is ``first``) on which the running total reached ``limit``."""
    total = Decimal(0)
    for i, v in enumerate(values):
        total += v
        if total >= limit:
            return first + timedelta(days=i)
    return None


def _budget_row(
    b: Any,
    target: str,
    so_far: tuple[Decimal, ...],
    later: Decimal,
    p0: date,
    future: Any,
    modelled: bool,
    p1: date,
    until: date,
) -> dict[str, Any]:
    """A budget in its period holding the first forecast day: ``so_far`` is its actual spend per
    day from ``p0`` (today's spend so far and the spend dated after now, ``later`` of it,
    included), ``future`` what is still to come from the first forecast day (``until`` + 1) on.
    As in ``budget status``, the spend dated after now counts as spent already: every path
    starts from the whole spend."""
    import numpy as np

    metric: Metric = "tokens" if b.kind == "tokens" else "cost"
    spent = sum(so_far, Decimal(0))
    left = (p1 - until).days
    row: dict[str, Any] = {"budget": b.label, "series": target, "period_end": p1}
    row["limit"] = b.limit if metric == "cost" else int(b.limit)
    row["spent"] = _actual(spent, metric)
    row["spent_after_now"] = _actual(later, metric)
    if spent >= b.limit:  # already over: the day it got there, not a forecast
        return row | {"probability_pct": Decimal(100), "likely_cross_date": _reached_on(so_far, p0, b.limit)}
    cum = float(spent) + np.cumsum(future[:left], axis=0)
    hit = cum >= float(b.limit)
    crossed = hit.any(axis=0) if left > 0 else np.zeros(future.shape[1], dtype=bool)
    if not modelled:  # the run rate: no probability, the day it reaches the limit at that rate
        cross = until + timedelta(days=int(hit[:, 0].argmax()) + 1) if bool(hit[:, 0].any()) else None
        return row | {"probability_pct": None, "likely_cross_date": cross}
    prob = Decimal(repr(float(crossed.mean()) * 100)).quantize(Decimal("0.1"))
    cross = None
    if crossed.mean() >= 0.5:
        first = np.where(crossed, hit.argmax(axis=0), np.iinfo(np.int64).max)
        cross = until + timedelta(days=int(np.sort(first)[len(first) // 2]) + 1)
    return row | {"probability_pct": prob, "likely_cross_date": cross}
