"""Budgets against spend: the state of each budget in its current calendar period, and budget
vs actual over past periods. Parsing and editing of the config live in ``budget_config``.

Spend is the priced cost in USD of the scope's events (unpriced usage is counted apart and
never as $0) for a money budget, and total tokens (input + cache + output) for a token
budget. Periods are calendar days / weeks (``[display] week_start``) / months / quarters /
years in the chosen zone; an event belongs to the period its instant falls in there.

Projection (the method of ``report month``): a linear run rate, spend so far ÷ elapsed time
of the period × the period's length, both measured as real time (so a DST day of 23 or 25
hours counts as it was lived). The crossing date is the local day on which the spend reaches
100 % at that rate: set exactly when the projection is at or above 100 %. A budget already at
or over its limit shows the day it really got there: the first local day of the period on which
the cumulative spend reached the limit.

"Now" is the clock (``budget status``, ``status``, the dashboard): usage dated later in the
current period (a clock ahead, or local timestamps without an offset read as UTC) is stored
usage, so it is in the spend, the percentage and the level, as in ``report month``; the run rate
extrapolates only the spend up to now, and the projection then adds the spend dated after now as
it is (it is already there). "Now" may also be a past moment (a report on a range is evaluated as
of the range's end; ``clock=False``): the spend is clipped at that instant, so the spend, the
percentage and the projection all describe the same moment, and a period that ended by then
projects to its actual.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import TYPE_CHECKING, Any, Literal, cast

from usagectl.config import WEEKDAYS, effective_timezone
from usagectl.errors import BudgetThresholdCrossed, UsageError
from usagectl.models import Column, Filters, Report, counted
from usagectl.render.formats import floor_pct, format_int, format_money
from usagectl.services.budget_config import (
    DEFAULT_THRESHOLDS,
    LEVEL_ORDER,
    PERIODS,
    PLAN_QUOTA_LABEL,
    SCOPE_KINDS,
    Budget,
    load_budgets,
    normalize_period,
    normalize_scope,
    remove_budget,
    set_budget,
)
from usagectl.services.context import AppContext
from usagectl.services.rollup import add, empty, rollup
from usagectl.timeutil import FIRST_DAY, day_start_utc, days_in_month, local_today

if TYPE_CHECKING:
    from usagectl.pricing import PriceBook

__all__ = [
    "DEFAULT_THRESHOLDS",
    "LEVEL_ORDER",
    "PERIODS",
    "PLAN_QUOTA_LABEL",
    "Budget",
    "BudgetState",
    "budget_history",
    "budget_status",
    "fail_on_error",
    "level_for",
    "list_report",
    "load_budgets",
    "never_used",
    "period_bounds",
    "remove_budget",
    "scope_warning",
    "set_budget",
    "shown_percent",
    "status_report",
]

Level = Literal["ok", "warning", "caution", "critical", "exceeded"]
HUNDRED = Decimal(100)
MICRO = Decimal("0.000001")  # a projection is an estimate: USD to 6 places, tokens whole
_US = timedelta(microseconds=1)


@dataclass(frozen=True)
class BudgetState:
    """A budget in one period. Money in USD (Decimal), tokens as whole numbers (Decimal too)."""

    budget: Budget
    period_start: date
    period_end: date  # inclusive last day
    spent: Decimal  # priced cost (usd) or total tokens (tokens) of the period so far
    percent: Decimal  # spent * 100 / limit, unrounded
    level: Level
    threshold_crossed: Decimal | None  # highest of the thresholds / 100 at or below percent
    projected: Decimal | None  # at period end, linear run rate (USD to 6 places); None before any time elapsed
    projected_percent: Decimal | None
    projected_cross_date: date | None  # local day spend reaches 100 %; None if it won't at this rate
    unpriced_requests: int  # requests of the scope without a price, NOT in spent (0 for token budgets)
    never_used: bool = False  # no event in the whole database matches the scope (a typo?)
    later: Decimal = Decimal(0)  # of ``spent``, the part dated after now (counted, never extrapolated)

    @property
    def shown_percent(self) -> Decimal:
        return shown_percent(self.percent)


def _clock() -> datetime:
    return datetime.now(UTC)


def _now(now: datetime | None) -> datetime:
    if now is None:
        return _clock()
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(UTC)


def period_bounds(period: str, day: date, week_start: str = "monday") -> tuple[date, date]:
    """First and last day (inclusive) of the calendar ``period`` holding ``day``."""
    if period == "day":
        return day, day
    if period == "week":
        start = day - timedelta(days=(day.weekday() - WEEKDAYS.index(week_start)) % 7)
        return start, start + timedelta(days=6)
    if period == "month":
        return day.replace(day=1), day.replace(day=days_in_month(day.year, day.month))
    if period == "quarter":
        first = (day.month - 1) // 3 * 3 + 1
        return date(day.year, first, 1), date(day.year, first + 2, days_in_month(day.year, first + 2))
    if period == "year":
        return date(day.year, 1, 1), date(day.year, 12, 31)
    raise ValueError(f"unknown period {period!r}")


def shown_percent(percent: Decimal) -> Decimal:
    """The percentage to show (one decimal), rounded DOWN: 74.996 % is shown as 74.9 %, never as a
    75.0 % the level (decided on the exact value) does not have, nor 99.99 % as 100.0 %. The same
    rule as every quota percentage (:func:`usagectl.render.formats.floor_pct`)."""
    return floor_pct(percent)


def level_for(
    spent: Decimal, limit: Decimal, thresholds: tuple[Decimal, Decimal, Decimal]
) -> tuple[Level, Decimal | None]:
    """The level and the threshold it stands on, compared exactly (``spent*100 >= t*limit``)."""
    scaled = spent * HUNDRED
    if scaled >= HUNDRED * limit:
        return "exceeded", HUNDRED
    for name, t in reversed(tuple(zip(("warning", "caution", "critical"), thresholds))):
        if scaled >= t * limit:
            return cast(Level, name), t
    return "ok", None


@dataclass(frozen=True)
class _Usage:
    cost: Decimal
    tokens: int
    unpriced_requests: int
    days: tuple[tuple[date, Decimal, int], ...] = ()  # (local day, cost, tokens) in day order
    later_cost: Decimal = Decimal(0)  # of ``cost`` and ``tokens``: dated after now (a clock ahead)
    later_tokens: int = 0

    @staticmethod
    def of(
        sums: dict[str, Any], by_day: dict[date, dict[str, Any]] | None = None, later: dict[str, Any] | None = None
    ) -> _Usage:
        """``sums`` and ``by_day`` hold all the usage counted; ``later``, the part of it dated after now."""
        days = tuple(
            (d, v["cost_usd"] or Decimal(0), int(v["total_tokens"])) for d, v in sorted((by_day or {}).items())
        )
        later = later or empty()
        return _Usage(
            sums["cost_usd"] or Decimal(0),
            int(sums["total_tokens"]),
            int(sums["unpriced_requests"]),
            days,
            later["cost_usd"] or Decimal(0),
            int(later["total_tokens"]),
        )

    def reached_on(self, limit: Decimal, tokens: bool) -> date | None:
        """The first day on which the cumulative spend reached ``limit`` (None if it never did)."""
        total = Decimal(0)
        for day, cost, count in self.days:
            total += count if tokens else cost
            if total >= limit:
                return day
        return None


def evaluate(budget: Budget, start: date, end: date, tz: str, now: datetime, usage: _Usage) -> BudgetState:
    tokens = budget.kind == "tokens"
    spent = Decimal(usage.tokens) if tokens else usage.cost
    later = Decimal(usage.later_tokens) if tokens else usage.later_cost
    so_far = spent - later  # the spend up to now: the only part the run rate extrapolates
    limit = budget.limit
    level, crossed = level_for(spent, limit, budget.thresholds)
    t0, t1 = day_start_utc(start, tz), day_start_utc(end + timedelta(days=1), tz)
    projected: Decimal | None = None
    cross: date | None = None
    if spent >= limit:  # already there: the day it happened, not a projection
        cross = usage.reached_on(limit, tokens) or local_today(tz, min(now, t1 - _US))
    if now + _US >= t1:
        projected = spent  # complete (at its last microsecond at the latest): projection = actual
    elif now > t0:
        elapsed, length = (now - t0) // _US, (t1 - t0) // _US
        # the spend dated after now is there already: added as it is, not extrapolated
        projected = so_far * length / elapsed
        projected = (Decimal(int(projected)) if tokens else projected.quantize(MICRO)) + later
        if so_far > 0 and spent < limit:
            # at the rate so far, from the whole spend (the later part counts as spent)
            need = ((limit - spent) * elapsed / so_far).to_integral_value(rounding=ROUND_CEILING)
            # compared as microseconds first: a large budget with little spent would put the
            # crossing past the year 9999, which no datetime can hold
            if need <= (t1 - now) // _US:
                cross = local_today(tz, min(now + timedelta(microseconds=int(need)), t1 - _US))
    return BudgetState(
        budget=budget,
        period_start=start,
        period_end=end,
        spent=spent,
        percent=spent * HUNDRED / limit,
        level=level,
        threshold_crossed=crossed,
        projected=projected,
        projected_percent=None if projected is None else projected * HUNDRED / limit,
        projected_cross_date=cross,
        unpriced_requests=0 if tokens else usage.unpriced_requests,
        later=later,
    )


def _scope_key(budget: Budget, book: PriceBook) -> tuple[str | None, str | None]:
    """(filter name, value) of the scope; (None, None) for global. Model names resolve as in reports."""
    if budget.scope == "global":
        return None, None
    kind, name = budget.scope.split(":", 1)
    if kind == "model":
        name = book.resolve(name) or name
    return SCOPE_KINDS[kind], name


def never_used(con: Any, book: PriceBook, budgets: list[Budget]) -> set[str]:
    """The scopes of ``budgets`` that no event in the whole database matches: a typo
    (``model:gpt4o``, ``member:Alice`` for alice) gives a budget that stays at 0 and never
    fires. ``con`` needs the session table member_map (``prepare_session``)."""
    from usagectl.store import reports as q

    wanted: dict[str, dict[str, str]] = defaultdict(dict)  # filter name -> {value: scope}
    for b in budgets:
        col, name = _scope_key(b, book)
        if col is not None and name is not None:
            wanted[col][name] = b.scope
    seen: set[str] = set()
    for col, names in wanted.items():
        if col == "model":
            logged = q.model_names_seen(con)
            seen |= {n for n in names if n in {book.resolve(r) or r for r in logged}}
        else:
            seen |= q.values_seen(con, col, names)
    return {scope for names in wanted.values() for name, scope in names.items() if name not in seen}


def _mapped(ctx: AppContext, col: str, name: str) -> bool:
    """``name`` is a member of the config's [members], or a team / department / cost center given
    there (before or after any of a member's changes)."""
    if col == "member":
        return name in ctx.config.members
    return col in ("team", "department", "cost_center") and any(
        name in m.names(col) for m in ctx.config.members.values()
    )


def scope_warning(ctx: AppContext, scope: str) -> str | None:
    """What ``budget set`` warns about a scope that matches nothing: a model the price tables do
    not know, or a name with no usage in the database that the config's [members] do not give
    either. None when the scope is fine, or when the price tables or the database cannot be read
    to tell (the budget is set either way: a warning never changes the exit code)."""
    from usagectl.errors import UsagectlError

    try:
        return _scope_warning(ctx, normalize_scope(scope))
    except UsagectlError:
        return None


def _scope_warning(ctx: AppContext, scope: str) -> str | None:
    from usagectl.store import reports as q
    from usagectl.store.connection import connect

    if scope == "global":
        return None
    kind, name = scope.split(":", 1)
    book = ctx.pricebook()
    if kind == "model":
        if book.resolve(name) is not None:
            return None
        return (
            f"{scope}: no model of that name in the price tables (a typo?); the budget counts only events "
            "logged under exactly that name (`usagectl pricing show` lists the models)"
        )
    col = SCOPE_KINDS[kind]
    if _mapped(ctx, col, name):
        return None
    if ctx.db_path.exists():
        with connect(ctx.db_path, read_only=True) as con:
            q.prepare_session(con, book, ctx.config.members, Filters(_clock(), _clock(), "UTC"))
            if q.values_seen(con, col, [name]):
                return None
    members = f" and no {kind} {name!r} in the config's [members]" if kind not in ("project", "feature") else ""
    return (
        f"{scope}: no usage in the database ({ctx.db_path}){members} (names are case-sensitive): "
        "the budget stays at 0 and never fires until such usage appears"
    )


def _bounds(start: date, end: date, tz: str) -> tuple[datetime, datetime]:
    return day_start_utc(start, tz), day_start_utc(end + timedelta(days=1), tz)


def _is_clock(now: datetime | None, clock: bool | None) -> bool:
    """``now`` is the clock (not given, or ``clock=True``), not a past moment to evaluate as of."""
    return now is None if clock is None else clock


def budget_status(
    ctx: AppContext, *, tz: str | None = None, now: datetime | None = None, clock: bool | None = None
) -> list[BudgetState]:
    """Every budget (plan quota first) in the calendar period that holds ``now`` in the zone
    (``tz``, else config, else local). ``clock``: ``now`` is the clock (the default when no
    ``now`` is given), so the period's usage dated after it (a clock ahead) is in the spend and
    added to the projection as it is, as ``report month`` counts it; else the spend up to and
    including ``now``: a past ``now`` gives the budgets as they stood then. One read-only
    connection; one query per (period, scope kind), grouped by the scope column and the local
    day, and with ``clock`` one more for the usage dated after now."""
    from usagectl.store import reports as q
    from usagectl.store.connection import connect

    budgets = load_budgets(ctx)
    zone = effective_timezone(tz, ctx.config)
    at = _now(now)
    ahead = _is_clock(now, clock)
    if not budgets:
        return []
    today = local_today(zone, at)
    book = ctx.pricebook()
    spans = {p: period_bounds(p, today, ctx.config.week_start) for p in {b.period for b in budgets}}
    keys = [_scope_key(b, book) for b in budgets]
    groups: dict[tuple[str, str | None], set[str]] = defaultdict(set)
    for b, (col, name) in zip(budgets, keys):
        groups[(b.period, col)].add(name or "")
    found: dict[tuple[str, str | None, str | None], _Usage] = {}
    edges = [_bounds(*span, zone) for span in spans.values()]
    union = Filters(start=min(e[0] for e in edges), end=max(e[1] for e in edges), tz=zone)
    with connect(ctx.db_path, read_only=True) as con:
        q.prepare_session(con, book, ctx.config.members, union)
        for (period, col), names in sorted(groups.items(), key=repr):
            start, period_end = _bounds(*spans[period], zone)
            # a past now sees the period as it stood: nothing after it
            end = period_end if ahead else min(period_end, at + _US)
            where = {col: tuple(sorted(names))} if col else {}
            flt = Filters(start=start, end=end, tz=zone, since=spans[period][0], until=spans[period][1], where=where)
            dims = [col] if col else []
            cube = q.cube(con, flt, [*dims, "date"])
            sums, per_day = rollup(cube, dims), rollup(cube, [*dims, "date"])
            later = rollup(q.cube(con, replace(flt, start=at + _US), dims), dims) if end > at + _US else {}
            for name in names if col else [""]:
                key = (name,) if col else ()
                days = {k[-1]: v for k, v in per_day.items() if k[:-1] == key}
                found[(period, col, name or None)] = _Usage.of(sums.get(key, empty()), days, later.get(key))
        states = [
            evaluate(b, *spans[b.period], zone, at, found[(b.period, col, name)])
            for b, (col, name) in zip(budgets, keys)
        ]
        idle = [s.budget for s in states if s.spent == 0 and s.unpriced_requests == 0]  # only these can be unused
        unused = never_used(con, book, idle) if idle else set()
    return [replace(s, never_used=True) if s.budget.scope in unused else s for s in states]


def fail_on_error(states: list[BudgetState], level: str) -> BudgetThresholdCrossed | None:
    """The error ``budget status --fail-on LEVEL`` exits with (5), after the table was shown."""
    floor = LEVEL_ORDER.index(level)
    hit = [s for s in states if LEVEL_ORDER.index(s.level) >= floor]
    if not hit:
        return None
    parts = ", ".join(f"{s.budget.label} {s.level} ({shown_percent(s.percent)} %)" for s in hit)
    return BudgetThresholdCrossed(f"{counted(len(hit), 'budget')} at or above {level}: {parts}")


# --------------------------------------------------------------------------- reports


def _amount(value: Decimal | None, kind: str) -> Decimal | int | None:
    """USD stays Decimal (money in every format); tokens become int (counts)."""
    if value is None or kind == "usd":
        return value
    return int(value)


def _threshold_cells(b: Budget) -> dict[str, Decimal]:
    return dict(zip(("warning_pct", "caution_pct", "critical_pct"), b.thresholds))


_THRESHOLD_COLUMNS = (
    Column("warning_pct", "Warning", "pct"),
    Column("caution_pct", "Caution", "pct"),
    Column("critical_pct", "Critical", "pct"),
)
_PROJECTION_NOTE = (
    "Projection: linear run rate, spend so far ÷ elapsed time of the period × its length. "
    "'Hits 100 %' is the day the spend reaches the limit at that rate (when already over: the day it got there)."
)


def _unpriced_note(label: str, n: int) -> str:
    return (
        f"{label}: {counted(n, 'request')} of this scope {'has' if n == 1 else 'have'} no price and "
        f"{'is' if n == 1 else 'are'} NOT in the spend. See `usagectl pricing check`."
    )


def _later_note(states: list[BudgetState]) -> str | None:
    """The note on the spend dated after now (a clock ahead), per budget that has some: it is in
    the spend and the percentage, and added to the projection as it is (never extrapolated)."""
    parts = [
        f"{s.budget.label} {format_money(s.later) if s.budget.kind == 'usd' else format_int(int(s.later)) + ' tokens'}"
        for s in states
        if s.later
    ]
    if not parts:
        return None
    return (
        f"Dated after now (a clock ahead?): {', '.join(parts)}; in the spend and the percentage, "
        "and added to the projection as it is, not extrapolated. `usagectl doctor` lists events after now."
    )


def status_report(states: list[BudgetState], tz: str, *, as_of: date | None = None) -> Report:
    """``budget status`` as a Report: one row per budget; totals hold the count and the worst level.
    Limit, spent and projected are USD (Decimal) for money budgets and ints for token budgets.
    ``percent`` is exact: its column kind (``used_pct``) shows it rounded down in tables and the
    PDF and keeps 2 decimals in JSON and CSV, as the webhook body does.
    ``as_of``: the states were taken at the end of that past day (a report on a range), said in a note."""
    rows = []
    for s in states:
        b = s.budget
        row: dict[str, Any] = {"budget": b.label, "scope": b.scope, "period": b.period, "kind": b.kind}
        row |= {"period_start": s.period_start, "period_end": s.period_end, "limit": _amount(b.limit, b.kind)}
        row |= {"spent": _amount(s.spent, b.kind), "percent": s.percent, "level": s.level}
        row |= {"threshold_crossed": s.threshold_crossed, "projected": _amount(s.projected, b.kind)}
        row |= {"projected_percent": s.projected_percent, "projected_cross_date": s.projected_cross_date}
        row |= {"unpriced_requests": s.unpriced_requests, "spent_after_now": _amount(s.later, b.kind)}
        rows.append(row | _threshold_cells(b))
    worst = max((LEVEL_ORDER.index(s.level) for s in states), default=0)
    notes = [_unpriced_note(s.budget.label, s.unpriced_requests) for s in states if s.unpriced_requests]
    unused = [s.budget.label for s in states if s.never_used]
    if unused:
        notes.append(
            f"No usage has ever matched {', '.join(unused)} (a typo? names are case-sensitive): "
            f"{'it stays' if len(unused) == 1 else 'they stay'} at 0 and never fire{'s' if len(unused) == 1 else ''}."
        )
    later = _later_note(states)
    if later:
        notes.append(later)
    if states and as_of is not None:
        notes.append(f"As of the end of {as_of} ({tz}): each budget's period that holds that day, spend up to then.")
    if states:
        notes.append(_PROJECTION_NOTE)
    else:
        notes.append(
            "No budgets. Add [[budgets]] to the config or run `usagectl budget set SCOPE AMOUNT`; "
            "[plan] monthly_token_quota counts as one."
        )
    return Report(
        name="budget-status",
        title=f"Budgets in their current period ({tz})",
        filters={"tz": tz},
        columns=(
            Column("budget", "Budget"),
            Column("scope", "Scope", in_table=False),
            Column("period", "Period", in_table=False),
            Column("kind", "Kind", in_table=False),
            Column("period_start", "From", "date", in_table=False),
            Column("period_end", "To", "date", in_table=False),
            Column("limit", "Limit", exact=True),
            Column("spent", "Spent"),
            Column("percent", "Used", "used_pct"),
            Column("level", "Level"),
            Column("threshold_crossed", "Threshold", "pct", in_table=False),
            Column("projected", "Projected"),
            Column("projected_percent", "Projected %", "used_pct", in_table=False),  # rounded down (QA)
            Column("projected_cross_date", "Hits 100 %", "date"),
            Column("unpriced_requests", "Unpriced", "int", in_table=False),
            Column("spent_after_now", "Dated after now", in_table=False),
        )
        + tuple(Column(c.key, c.header, c.kind, in_table=False) for c in _THRESHOLD_COLUMNS),
        rows=tuple(rows),
        totals={"budgets": len(states), "worst_level": LEVEL_ORDER[worst]},
        notes=tuple(notes),
    )


def list_report(ctx: AppContext) -> Report:
    """``budget list``: every budget with its limit and thresholds, and where it is set."""
    rows = []
    i = 0
    for b in load_budgets(ctx):
        source = "[plan] monthly_token_quota" if b.is_plan_quota else f"budgets[{i}]"
        i += 0 if b.is_plan_quota else 1
        row: dict[str, Any] = {"budget": b.label, "scope": b.scope, "period": b.period, "kind": b.kind}
        rows.append(row | {"limit": _amount(b.limit, b.kind)} | _threshold_cells(b) | {"source": source})
    return Report(
        name="budget-list",
        title="Budgets",
        filters={"config": str(ctx.config.path) if ctx.config.path else None},
        columns=(
            Column("budget", "Budget", in_table=False),
            Column("scope", "Scope"),
            Column("period", "Period"),
            Column("kind", "Kind"),
            Column("limit", "Limit", exact=True),
        )
        + _THRESHOLD_COLUMNS
        + (Column("source", "Set in"),),
        rows=tuple(rows),
        totals={"budgets": len(rows)},
        notes=() if rows else ("No budgets. Add one with `usagectl budget set SCOPE AMOUNT`.",),
    )


def _find(ctx: AppContext, scope: str, period: str | None) -> Budget:
    budgets = load_budgets(ctx)
    if scope.strip().lower() in ("plan", "quota", "plan-quota", "plan quota"):
        hits = [b for b in budgets if b.is_plan_quota]
        if not hits:
            raise UsageError("no plan quota: [plan] monthly_token_quota is not set in the config")
        return hits[0]
    try:
        scope_n = normalize_scope(scope)
        period_n = normalize_period(period) if period else None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    hits = [b for b in budgets if b.scope == scope_n and period_n in (None, b.period)]
    if len(hits) > 1:
        hits = [b for b in hits if not b.is_plan_quota] or hits  # a [[budgets]] entry wins over the quota
    if not hits:
        raise UsageError(
            f"no budget {scope_n}" + (f" ({period_n})" if period_n else ""), hint="see usagectl budget list"
        )
    if len(hits) > 1:
        raise UsageError(
            f"{scope_n} has budgets for several periods ({', '.join(b.period for b in hits)}): use --period"
        )
    return hits[0]


def _check_first_period(spans: list[tuple[date, date]], periods: int) -> None:
    """Refuse a ``--periods`` that reaches before 1970-01-01, like any other range out of the
    README's bounds (a year budget's 1000 periods would start in 1026), and say how many fit."""
    if spans[0][0] >= FIRST_DAY:
        return
    fit = sum(first >= FIRST_DAY for first, _ in spans[:-1])
    raise UsageError(
        f"--periods {periods}: the earliest period would start on {spans[0][0]}, before {FIRST_DAY} "
        f"(at most {fit} complete periods fit)"
    )


def _span_sums(
    by_day: dict[tuple[Any, ...], dict[str, Any]], first: date, last: date
) -> tuple[dict[str, Any], dict[date, dict[str, Any]]]:
    """The sums of the days ``first`` .. ``last`` of ``by_day`` (a rollup by date), and those days."""
    sums = empty()
    days = {day: day_sums for (day,), day_sums in by_day.items() if first <= day <= last}
    for day_sums in days.values():
        add(sums, day_sums)
    return sums, days


def budget_history(
    ctx: AppContext,
    scope: str,
    *,
    period: str | None = None,
    periods: int = 12,
    tz: str | None = None,
    now: datetime | None = None,
    clock: bool | None = None,
) -> Report:
    """Budget vs actual for the last ``periods`` complete periods and the current one (one query,
    and one more for the usage dated after now). The current period counts its spend as
    :func:`budget_status` does: with ``clock`` (the default when no ``now`` is given) also the
    usage dated after now, else the spend up to and including ``now``."""
    from usagectl.store import reports as q
    from usagectl.store.connection import connect

    if not 0 <= periods <= 1000:
        raise UsageError(f"--periods {periods}: must be between 0 and 1000")
    budget = _find(ctx, scope, period)
    zone = effective_timezone(tz, ctx.config)
    at = _now(now)
    ahead = _is_clock(now, clock)
    spans = [period_bounds(budget.period, local_today(zone, at), ctx.config.week_start)]
    for _ in range(periods):
        spans.insert(0, period_bounds(budget.period, spans[0][0] - timedelta(days=1), ctx.config.week_start))
    _check_first_period(spans, periods)
    book = ctx.pricebook()
    col, name = _scope_key(budget, book)
    start, end = _bounds(spans[0][0], spans[-1][1], zone)
    # the current period is the one budget status shows (the usage dated after now in it too,
    # or nothing after a past now); the past periods end before now, so stay whole
    end = end if ahead else min(end, at + _US)
    flt = Filters(start, end, zone, spans[0][0], spans[-1][1], {col: (name or "",)} if col else {})
    with connect(ctx.db_path, read_only=True) as con:
        q.prepare_session(con, book, ctx.config.members, flt)
        by_day = rollup(q.cube(con, flt, ["date"]), ["date"])
        later = rollup(q.cube(con, replace(flt, start=at + _US), ["date"]), ["date"]) if end > at + _US else {}
    rows = []
    unpriced = 0
    for first, last in spans:
        usage = _Usage.of(*_span_sums(by_day, first, last), _span_sums(later, first, last)[0])
        s = evaluate(budget, first, last, zone, at, usage)
        complete = at >= _bounds(first, last, zone)[1]
        unpriced += s.unpriced_requests
        rows.append(
            {"period_start": first, "period_end": last, "state": "complete" if complete else "in progress"}
            | {"limit": _amount(budget.limit, budget.kind), "spent": _amount(s.spent, budget.kind)}
            | {
                "percent": s.percent,
                "level": s.level,
                "projected": None if complete else _amount(s.projected, budget.kind),
            }
            | {"unpriced_requests": s.unpriced_requests}
        )
    notes = [f"Every period is measured against today's limit ({budget.label}): the config keeps no past limits."]
    if unpriced:
        notes.append(_unpriced_note(budget.label, unpriced))
    later_note = _later_note([s])  # of the current period (the last), the only one with usage after now
    if later_note:
        notes.append(later_note)
    notes.append(_PROJECTION_NOTE.split(". ")[0] + ".")
    # one budget, so one kind of amount: declared, its numbers right-align and never fold at 80
    # columns (a token count shortens to "108M" first); "amount": no projection is "–", not unpriced
    amount: Literal["amount", "int"] = "amount" if budget.kind == "usd" else "int"
    return Report(
        name="budget-history",
        title=f"Budget vs actual: {budget.label} ({zone})",
        filters={"scope": budget.scope, "period": budget.period, "periods": periods, "tz": zone},
        columns=(
            Column("period_start", "From", "date"),
            Column("period_end", "To", "date", in_table=False),
            Column("state", "State"),
            Column("limit", "Limit", amount, exact=True),
            Column("spent", "Spent", amount),  # as budget status names it (QA: "actual" here)
            Column("percent", "Used", "used_pct"),
            Column("level", "Level"),
            Column("projected", "Projected", amount),
            Column("unpriced_requests", "Unpriced", "int"),
        ),
        rows=tuple(rows),
        totals={"periods": len(rows), "exceeded": sum(r["level"] == "exceeded" for r in rows)},
        notes=tuple(notes),
    )
