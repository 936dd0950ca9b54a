"""`report compare --period A --vs B [--by DIM]`: two calendar ranges side by side.

A range is ``YYYY`` (a year), ``YYYY-Qn`` (a quarter), ``YYYY-MM`` (a month), ``YYYY-Www`` (an
ISO week, Monday to Sunday), ``YYYY-MM-DD`` (a day) or ``YYYY-MM-DD..YYYY-MM-DD`` (inclusive),
all in the report's zone. ``--vs`` defaults to ``previous`` (the range of the same kind just
before A: the month before, the year before, the same number of days before); ``year-ago``
is the same range one year earlier (the same ISO week number for a week; 29 February -> 28).

Per value of the dimension (default ``model``): requests, tokens and cost of A and of B, the
change A − B and the change in % of B (2 decimals, None when B is 0; both None when either
cost is unknown, i.e. all of that side's usage unpriced). A row also counts each side's
unpriced requests (``unpriced_requests_a`` / ``_b``): a side whose tokens are all unpriced has
no cost (None, never the $0 of a priced request of 0 tokens), and a row with unpriced usage on
either side has no cost change (the left-out usage could be any amount). The totals hold the
same for everything, under the same rule (no cost change when either side's totals include
unpriced usage); A is the period of interest, B the baseline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal

from usagectl.config import effective_timezone
from usagectl.errors import UsageError
from usagectl.models import Column, Filters, Report
from usagectl.services.breakdowns import HEADERS, NONE_LABEL, cli_name, models_split_by_provider, parse_dimensions
from usagectl.services.context import AppContext
from usagectl.services.reports import ReportRequest, _now, _unpriced_notes, _zone_notes, build_filters
from usagectl.services.rollup import empty, rollup, total, unpriced_models
from usagectl.services.timeseries import change
from usagectl.store import reports as q
from usagectl.store.connection import connect
from usagectl.timeutil import BOUNDS, FIRST_DAY, check_day, days_in_month, local_today, parse_date

METRICS: tuple[tuple[str, str, Literal["int", "money"]], ...] = (  # key, header, column kind
    ("requests", "Requests", "int"),
    ("total_tokens", "Tokens", "int"),
    ("cost_usd", "Cost", "money"),
)
FORMS = "YYYY, YYYY-Qn, YYYY-MM, YYYY-Www, YYYY-MM-DD, or A..B of two dates: YYYY-MM-DD..YYYY-MM-DD, 30d..1d"


@dataclass(frozen=True)
class Period:
    label: str
    kind: str  # day, week, month, quarter, year, range
    since: date
    until: date

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1


def _month(year: int, month: int) -> Period:
    return Period(
        f"{year:04d}-{month:02d}", "month", date(year, month, 1), date(year, month, days_in_month(year, month))
    )


def _quarter(year: int, n: int) -> Period:
    last = 3 * n
    return Period(f"{year:04d}-Q{n}", "quarter", date(year, last - 2, 1), date(year, last, days_in_month(year, last)))


def _week(year: int, week: int, option: str, text: str) -> Period:
    try:
        first = date.fromisocalendar(year, week, 1)
    except ValueError:
        raise UsageError(f"{option} {text!r}: {year} has no ISO week {week}") from None
    return Period(f"{year:04d}-W{week:02d}", "week", first, first + timedelta(days=6))


def _day(d: date) -> Period:
    return Period(d.isoformat(), "day", d, d)


def _range(since: date, until: date) -> Period:
    return Period(f"{since}..{until}", "range", since, until)


def parse_period(text: str, *, option: str = "--period", today: date | None = None) -> Period:
    """One of :data:`FORMS` as a Period whose days all lie between 1970-01-01 and 2199-12-31
    (``UsageError`` otherwise: a year 9999 would end on the last day ``date`` can hold)."""
    p = _parse_period(text, option=option, today=today)
    check_day(p.since, option=option, text=text)
    check_day(p.until, option=option, text=text)
    return p


def _parse_period(text: str, *, option: str, today: date | None) -> Period:
    s = text.strip()
    if not s:
        raise UsageError(f"{option}: empty")
    try:
        if m := re.fullmatch(r"(\d{4})", s):
            y = int(m.group(1))
            return Period(f"{y:04d}", "year", date(y, 1, 1), date(y, 12, 31))
        if m := re.fullmatch(r"(\d{4})-?[Qq]([1-4])", s):
            return _quarter(int(m.group(1)), int(m.group(2)))
        if m := re.fullmatch(r"(\d{4})-?[Ww](\d{1,2})", s):
            return _week(int(m.group(1)), int(m.group(2)), option, text)
        if m := re.fullmatch(r"(\d{4})-(\d{2})", s):
            return _month(int(m.group(1)), int(m.group(2)))
        if m := re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", s):
            return _day(date(int(m.group(1)), int(m.group(2)), int(m.group(3))))
    except ValueError:
        raise UsageError(f"{option} {text!r}: not a valid date (use {FORMS})") from None
    if ".." in s:
        a, _, b = s.partition("..")
        ref = today or date.today()
        since = parse_date(a, today=ref, option=option)
        until = parse_date(b, today=ref, option=option)
        if until < since:
            raise UsageError(f"{option} {text!r}: the range ends before it starts")
        return _range(since, until)
    raise UsageError(f"{option} {text!r}: not a range (use {FORMS})")


def previous(p: Period) -> Period:
    if p.kind == "day":
        return _day(p.since - timedelta(days=1))
    if p.kind == "week":
        y, w, _ = (p.since - timedelta(days=7)).isocalendar()
        return _week(y, w, "--vs", p.label)
    if p.kind == "month":
        d = p.since - timedelta(days=1)
        return _month(d.year, d.month)
    if p.kind == "quarter":
        d = p.since - timedelta(days=1)
        return _quarter(d.year, (d.month + 2) // 3)
    if p.kind == "year":
        y = p.since.year - 1
        return Period(f"{y:04d}", "year", date(y, 1, 1), date(y, 12, 31))
    return _range(p.since - timedelta(days=p.days), p.since - timedelta(days=1))


def _year_before(d: date) -> date:
    return d.replace(year=d.year - 1, day=min(d.day, days_in_month(d.year - 1, d.month)))


def year_ago(p: Period) -> Period:
    if p.kind == "week":
        y, w, _ = p.since.isocalendar()
        weeks_then = date(y - 1, 12, 28).isocalendar()[1]  # 28 December is always in the last ISO week
        return _week(y - 1, min(w, weeks_then), "--vs", p.label)
    if p.kind == "month":
        return _month(p.since.year - 1, p.since.month)
    if p.kind == "quarter":
        return _quarter(p.since.year - 1, (p.since.month + 2) // 3)
    if p.kind == "year":
        return previous(p)
    if p.kind == "day":
        return _day(_year_before(p.since))
    return _range(_year_before(p.since), _year_before(p.until))


def resolve_vs(text: str | None, a: Period, today: date) -> Period:
    key = (text or "previous").strip().lower()
    if key in ("previous", "prev"):
        return previous(a)
    if key in ("year-ago", "last-year", "yoy"):
        return year_ago(a)
    try:
        return parse_period(text or "", option="--vs", today=today)
    except UsageError as exc:  # --vs also takes the two words: say so, where the message lists the forms
        if not exc.message.endswith(")"):
            raise  # a range given in an accepted form that does not hold (it ends before it starts)
        raise UsageError(exc.message[:-1] + ", or previous or year-ago)", hint=exc.hint) from None


def _check_baseline(a: Period, b: Period, vs: str | None) -> None:
    """A baseline computed from A (``previous``, ``year-ago``) can start before the first day
    although nothing the user typed does: the error names the computed range and where it came
    from. A typed ``--vs`` range has been checked by :func:`parse_period` already."""
    if b.since >= FIRST_DAY:
        return
    asked = f"--vs {vs.strip()}" if vs else "the default --vs previous"
    raise UsageError(
        f"{asked}: the baseline of {a.label} would be {b.label}, which starts before {FIRST_DAY} "
        f"(dates must lie {BOUNDS})"
    )


def _cubes(
    ctx: AppContext, flts: list[Filters], keys: list[str]
) -> tuple[list[list[dict[str, Any]]], list[tuple[str, ...]]]:
    """One connection and one session for both ranges (the session covers their span); and each
    range's note on provider day buckets the zone moves (``reports._zone_notes``)."""
    span = replace(flts[0], start=min(f.start for f in flts), end=max(f.end for f in flts))
    with connect(ctx.db_path, read_only=True) as con:
        q.prepare_session(con, ctx.pricebook(), ctx.config.members, span)
        return [q.cube(con, f, keys) for f in flts], [_zone_notes(con, f) for f in flts]


def _change_kind(kind: Literal["int", "money"]) -> Literal["int", "amount"]:
    """A money change is an amount: None (a side unpriced) is unknown, shown "–"."""
    return "amount" if kind == "money" else kind


def _none_yet() -> dict[str, Any]:
    """The sums of a side with no events: no usage costs $0 (None is kept for unpriced usage)."""
    return empty() | {"cost_usd": Decimal(0)}


def _pair(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, _, _ in METRICS:
        out[f"{key}_a"], out[f"{key}_b"] = a[key], b[key]
        out[f"{key}_change"], out[f"{key}_change_pct"] = change(a[key], b[key])
    return out


def _known_cost(side: dict[str, Any]) -> dict[str, Any]:
    """A group's side with its cost None when every token of it is unpriced: its priced
    requests (0 tokens) cost $0.00, which must not stand for the unpriced ones."""
    if side["unpriced_requests"] and side["unpriced_tokens"] == side["total_tokens"]:
        return side | {"cost_usd": None}
    return side


def _row_pair(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """``_pair`` of one group, with each side's unpriced requests; with unpriced usage on
    either side the cost change is unknown (None, shown "–")."""
    out = _pair(_known_cost(a), _known_cost(b))
    out["unpriced_requests_a"], out["unpriced_requests_b"] = a["unpriced_requests"], b["unpriced_requests"]
    if a["unpriced_requests"] or b["unpriced_requests"]:
        out["cost_usd_change"] = out["cost_usd_change_pct"] = None
    return out


def compare(ctx: AppContext, req: ReportRequest, period: str, vs: str | None = None, *, by: str = "model") -> Report:
    tz = effective_timezone(req.tz, ctx.config)
    today = local_today(tz, _now(req))
    a = parse_period(period, today=today)
    b = resolve_vs(vs, a, today)
    _check_baseline(a, b, vs)
    (key,) = parse_dimensions([by], option="--by", most=1)
    flts = [build_filters(ctx, replace(req, since=p.since.isoformat(), until=p.until.isoformat())) for p in (a, b)]
    # a model is grouped with its provider, as `report by model` groups it: claude-sonnet-4-5 from
    # anthropic and from bedrock are two rows there, and were one here (QA: the reports disagreed)
    keys = [key, "provider"] if key == "model" else [key]
    (cube_a, cube_b), (zone_a, zone_b) = _cubes(ctx, flts, keys)
    ga, gb = rollup(cube_a, keys), rollup(cube_b, keys)
    rows: list[dict[str, Any]] = []
    for k in set(ga) | set(gb):
        names = {name: NONE_LABEL if value is None else value for name, value in zip(keys, k, strict=True)}
        rows.append(names | _row_pair(ga.get(k) or _none_yet(), gb.get(k) or _none_yet()))
    rows.sort(
        key=lambda r: (
            -(r["cost_usd_a"] or 0),
            -(r["cost_usd_b"] or 0),
            -r["total_tokens_a"],
            -r["total_tokens_b"],
            str(r[key]),
            str(r.get("provider")),
        )
    )
    ta, tb = (total(c) if c else _none_yet() for c in (cube_a, cube_b))
    un_a, un_b = unpriced_models(cube_a), unpriced_models(cube_b)
    # the totals follow the rows' rule: unpriced usage on either side leaves the change unknown
    totals = _row_pair(ta, tb)

    columns: tuple[Column, ...] = (Column(key, HEADERS[key]),)
    if key == "model":  # kept at any width when a model has two providers (two rows alike without it)
        columns += (Column("provider", HEADERS["provider"], narrow_drop=0 if models_split_by_provider(rows) else 1),)
    for mkey, header, kind in METRICS:
        shown = mkey != "requests"
        # at 80 columns the token changes go (absolute, then %) before names fold; the cost
        # changes always stay (``Column.narrow_drop``)
        tokens = mkey == "total_tokens"
        columns += (
            Column(f"{mkey}_a", f"{header} {a.label}", kind, in_table=shown),
            Column(f"{mkey}_b", f"{header} {b.label}", kind, in_table=shown),
            # a cost change with an unpriced side is unknown: "–", not "unpriced" (kind amount)
            Column(f"{mkey}_change", f"Δ {header}", _change_kind(kind), in_table=shown, narrow_drop=1 if tokens else 0),
            Column(f"{mkey}_change_pct", f"Δ {header} %", "pct", in_table=shown, narrow_drop=2 if tokens else 0),
        )
    # as `report by`: the Unpriced counts are in the table only when that side has unpriced usage;
    # a narrow table leaves them out after the token changes (the cells still say "unpriced" / "–")
    columns += tuple(
        Column(f"unpriced_requests_{side}", f"Unpriced {p.label}", "int", in_table=bool(t["unpriced_requests"]),
               narrow_drop=3)
        for side, p, t in (("a", a, ta), ("b", b, tb))
    )  # fmt: skip
    notes = [f"Period {a.label}: {n}" for n in (*zone_a, *_unpriced_notes(un_a))] + [
        f"Vs {b.label}: {n}" for n in (*zone_b, *_unpriced_notes(un_b))
    ]
    if any(r["unpriced_requests_a"] or r["unpriced_requests_b"] for r in rows):
        notes.append(
            'A row with unpriced requests (the Unpriced columns) has a cost without them, or "unpriced" '
            'when all of its tokens are, and no cost change ("–"), nor has the total: the left-out usage has no price.'
        )
    if a.days != b.days:
        notes.append(f"{a.label} has {a.days} days and {b.label} {b.days}: compare the daily averages too.")
    overlap = a.since <= b.until and b.since <= a.until
    if overlap:
        notes.append(f"{a.label} and {b.label} overlap: usage in both is counted in each.")
    filters = {
        "period": a.label,
        "period_since": a.since.isoformat(),
        "period_until": a.until.isoformat(),
        "vs": b.label,
        "vs_since": b.since.isoformat(),
        "vs_until": b.until.isoformat(),
        "tz": tz,
        "by": [cli_name(key)],  # a list, as every report with --by writes it
    } | {k: list(v) for k, v in flts[0].where.items()}
    return Report(
        name="compare",
        title=f"{a.label} vs {b.label} by {HEADERS[key].lower()} ({tz})",
        filters=filters,
        columns=columns,
        rows=tuple(rows),
        totals=totals,
        overview=_overview(a, b, totals),
        notes=tuple(notes),
    )


def _overview(a: Period, b: Period, t: dict[str, Any]) -> tuple[tuple[str, str, Any], ...]:
    # a side whose usage is all unpriced has no cost (None, shown "unpriced"), per day neither
    cost_a, cost_b = t["cost_usd_a"], t["cost_usd_b"]
    return (
        ("period", "Period", f"{a.label} ({a.since} – {a.until}, {a.days} days)"),
        ("vs", "Vs", f"{b.label} ({b.since} – {b.until}, {b.days} days)"),
        ("tokens_a", f"Tokens {a.label}", t["total_tokens_a"]),
        ("tokens_b", f"Tokens {b.label}", t["total_tokens_b"]),
        ("tokens_change", "Tokens change", t["total_tokens_change"]),
        ("tokens_change_pct", "Tokens change %", t["total_tokens_change_pct"]),
        ("cost_usd_a", f"Cost {a.label}", t["cost_usd_a"]),
        ("cost_usd_b", f"Cost {b.label}", t["cost_usd_b"]),
        ("cost_change_usd", "Cost change", t["cost_usd_change"]),
        ("cost_change_pct", "Cost change %", t["cost_usd_change_pct"]),
        ("daily_cost_usd_a", f"Cost per day {a.label}", None if cost_a is None else cost_a / a.days),
        ("daily_cost_usd_b", f"Cost per day {b.label}", None if cost_b is None else cost_b / b.days),
    )
