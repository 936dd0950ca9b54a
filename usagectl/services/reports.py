"""Report use cases: the month overview, and the shared helpers of every report service.

``daily`` and ``by_model`` live on in ``timeseries`` and ``breakdowns``; they are kept here
under their old names."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from usagectl.config import effective_timezone
from usagectl.errors import UsageError
from usagectl.models import Column, Filters, Report, Section, counted
from usagectl.render.formats import format_int, format_money
from usagectl.services.context import AppContext
from usagectl.services.rollup import empty, rollup, total, unpriced_models
from usagectl.store import reports as q
from usagectl.store.connection import connect
from usagectl.store.grouped import offset_segments
from usagectl.timeutil import (
    FIRST_DAY,
    date_range,
    day_start_utc,
    days_in_month,
    local_today,
    month_or_range,
    parse_date,
    parse_month,
    reversed_range,
)

METRIC_COLUMNS: tuple[Column, ...] = (
    Column("requests", "Reqs", "int"),
    Column("input_tokens", "Input", "int"),
    Column("cache_read_tokens", "Cache read", "int"),
    Column("cache_write_5m_tokens", "Cache write 5m", "int", in_table=False),
    Column("cache_write_1h_tokens", "Cache write 1h", "int", in_table=False),
    Column("cache_write_tokens", "Cache write", "int"),
    Column("output_tokens", "Output", "int"),
    Column("reasoning_tokens", "Reasoning", "int", in_table=False),
    Column("total_tokens", "Total", "int"),
    Column("cost_usd", "Cost", "money"),
    Column("unpriced_requests", "Unpriced", "int"),
)
ROW_KEYS = tuple(c.key for c in METRIC_COLUMNS)


def shown_metrics(columns: tuple[Column, ...], totals: dict[str, Any]) -> tuple[Column, ...]:
    """``columns`` with the Unpriced count left out of the table when nothing in the range is
    unpriced (a column of zeros costs 9 cells that an 80-column terminal needs for names);
    JSON and CSV keep it. When something is unpriced, the column stays and a note names it."""
    if totals.get("unpriced_requests"):
        return columns
    return tuple(replace(c, in_table=False) if c.key == "unpriced_requests" else c for c in columns)


HUNDRED = Decimal(100)


@dataclass(frozen=True)
class ReportRequest:
    since: str | None = None
    until: str | None = None
    tz: str | None = None
    where: dict[str, tuple[str, ...]] = field(default_factory=dict)
    now: datetime | None = None  # the clock, injectable for tests


# a row with one of these above 0 shows usage (compare: either side; chats: messages; files: file tokens)
USAGE_KEYS = (
    "requests", "total_tokens", "total", "total_tokens_a", "total_tokens_b", "messages", "file_tokens",
    "unpriced_requests",
)  # fmt: skip


def with_empty_notes(ctx: AppContext, report: Report) -> Report:
    """``report`` with, when none of its rows shows usage, the note on why: the database holds no
    events at all (a first run, a mistyped --db), or none in the report's range (they lie
    elsewhere: where is said), else each filter value that no event holds
    (``--member Bob`` where the data has bob) with its close matches, so that an empty report is
    not read as "no usage". Costs no query when the report shows usage."""
    if any(row.get(k) for row in report.rows for k in USAGE_KEYS):
        return report
    from usagectl.services.admin import (  # admin imports this module
        empty_database_note,
        outside_range_note,
        unmatched_filter_notes,
    )

    note = empty_database_note(ctx) or outside_range_note(ctx, report.filters)
    notes = (note,) if note else unmatched_filter_notes(ctx, report.filters)
    return replace(report, notes=(*report.notes, *notes)) if notes else report


def with_filter_notes(ctx: AppContext, report: Report) -> Report:
    """``report`` with a note per filter value that no event in the database holds, with its
    close matches: for the reports whose rows are no usage rows (a forecast, anomalies,
    savings, cost lines), so ``with_empty_notes`` cannot tell they are empty (QA: ``forecast
    --cost-center cc-10`` was an empty forecast, no word of cc-100). A query per filter given."""
    from usagectl.services.admin import unmatched_filter_notes  # admin imports this module

    notes = unmatched_filter_notes(ctx, report.filters)
    return replace(report, notes=(*report.notes, *notes)) if notes else report


def _now(req: ReportRequest) -> datetime:
    return req.now.astimezone(UTC) if req.now else datetime.now(UTC)


def past_until(flt: Filters, req: ReportRequest) -> Filters:
    """``flt`` (from :func:`build_filters`) when its last day has begun; a ``UsageError`` when
    an --until after today was given. For the reports whose range is a history (forecast,
    anomalies, optimize): the days still to come have no usage yet, and counted as days of zero
    usage they fitted a forecast on zeros, flagged drops on days not yet lived and divided a
    month's saving by them (QA: ``optimize --until`` a month ahead saved $0.0051 a month, not
    $10.66). Other reports keep a future --until (a month's report may run to its end)."""
    today = local_today(flt.tz, _now(req))
    if flt.until > today:
        raise UsageError(
            f"--until {flt.until} is in the future (today is {today} in {flt.tz}): "
            "the history holds days that have happened"
        )
    return flt


def build_filters(
    ctx: AppContext,
    req: ReportRequest,
    *,
    default: tuple[date, date] | Callable[[date | None], tuple[date, date]] | None = None,
) -> Filters:
    """The filters of ``req``. ``default`` fills a side not given: a fixed (since, until), or a
    function of the --until given (None without one) for a "last N days / periods" window, so
    that ``--until`` alone moves the whole window back to end that day instead of keeping its
    start anchored to today (QA: ``forecast --until`` 74 days ago modelled 11 days, not 84). Such
    a window never starts before FIRST_DAY (1970-01-01), the first day any date may be."""
    tz = effective_timezone(req.tz, ctx.config)
    today = local_today(tz, _now(req))
    since = parse_date(req.since, today=today, option="--since") if req.since is not None else None
    until = parse_date(req.until, today=today, option="--until") if req.until is not None else None
    if callable(default):
        start, end = default(until)
        default = (max(start, FIRST_DAY), end)
    if default is not None:
        since = since or default[0]
        until = until or default[1]
    if since is None:
        since = date(2000, 1, 1)
    if until is None:
        until = today
    if until < since:
        given = {"since_given": req.since is not None, "until_given": req.until is not None}
        raise reversed_range(since, until, today=today, **given)
    where = dict(req.where)
    if "model" in where:
        book = ctx.pricebook()
        where["model"] = tuple(book.resolve(m) or m for m in where["model"])
    return Filters(
        start=day_start_utc(since, tz),
        end=day_start_utc(until + timedelta(days=1), tz),
        tz=tz,
        since=since,
        until=until,
        where=where,
    )


def _cube(ctx: AppContext, flt: Filters, keys: list[str]) -> list[dict[str, Any]]:
    """One pass over the events of the range: sums per key and per unpriced model name."""
    with connect(ctx.db_path, read_only=True) as con:
        q.prepare_session(con, ctx.pricebook(), ctx.config.members, flt)
        return q.cube(con, flt, keys)


def _cube_and_band(
    ctx: AppContext, flt: Filters, keys: list[str], *, cube_flt: Filters | None = None
) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
    """``_cube`` over ``cube_flt`` (default ``flt``) and the note on ``flt``'s provider buckets
    priced on the base band (``_band_notes``), on one connection."""
    over = cube_flt or flt
    span = replace(flt, start=min(flt.start, over.start), end=max(flt.end, over.end))
    with connect(ctx.db_path, read_only=True) as con:
        q.prepare_session(con, ctx.pricebook(), ctx.config.members, span)
        return q.cube(con, over, keys), provider_notes(con, flt)


def provider_notes(con: Any, flt: Filters) -> tuple[str, ...]:
    """The notes on provider usage rows of ``flt``: long-context bands that could not be decided,
    fast mode and inference geos a page could not tell apart, day buckets in a western zone."""
    return (
        _band_notes(q.undecided_band(con, flt)) + _premium_notes(q.ungrouped_premium(con, flt)) + _zone_notes(con, flt)
    )


def _premium_notes(rows: list[dict[str, Any]]) -> tuple[str, ...]:
    """One note on usage-report rows from pages not grouped by speed or inference geo, of models
    priced by it: their fast-mode or US-only usage is priced at the standard rate."""
    if not rows:
        return ()
    dims = [d for key, d in (("no_speed", "speed"), ("no_geo", "inference_geo")) if any(r[key] for r in rows)]
    what = {"speed": "fast-mode", "inference_geo": "US-only"}
    names = ", ".join(f"{r['model']} ({counted(max(r['no_speed'], r['no_geo']), 'row')})" for r in rows[:8])
    more = f" and {len(rows) - 8} more models" if len(rows) > 8 else ""
    return (
        f"Anthropic usage rows not grouped by {' or '.join(dims)}: {names}{more}. Any "
        f"{' or '.join(what[d] for d in dims)} usage in them is priced at the standard rate, so their cost may be "
        f"low; fetch the usage report with {' and '.join(f'group_by[]={d}' for d in dims)} to price it.",
    )


def _zone_notes(con: Any, flt: Filters, *, hourly: bool = False) -> tuple[str, ...]:
    """One note when the range (and filters) hold provider day buckets that a report places at
    their start, 00:00 UTC: where the zone's offset is negative that instant is on the previous
    local day, so a UTC day's usage is shown whole on the day before (with an offset of 0 or more
    the dates agree); an hour-of-day view (``hourly``) counts each whole in one hour in any zone."""
    offsets = {offset for _, offset in offset_segments(flt.tz, flt.start, flt.end)}
    if not hourly and min(offsets) >= 0:
        return ()
    n = q.day_buckets(con, flt, west_only=not hourly)
    if not n:
        return ()
    one = n == 1
    what = (
        f"{counted(n, 'provider usage row')} {'is a whole UTC-day bucket' if one else 'are whole UTC-day buckets'} "
        "(Admin API usage)"
    )
    if hourly:
        west = " (west of UTC, on the previous weekday)" if min(offsets) < 0 else ""
        return (
            f"{what}: {'it is' if one else 'each is'} counted whole in the local hour of its start, "
            f"00:00 UTC{west}, not spread over the day.",
        )
    return (
        f"{what}: in {flt.tz} {'its' if one else 'their'} start, 00:00 UTC, is on the previous local day, so "
        f"{'that' if one else 'each'} UTC day's usage is shown whole on the day before; --tz UTC lines them up "
        "with the providers' days.",
    )


def _band_notes(rows: list[dict[str, Any]]) -> tuple[str, ...]:
    """One note on the provider buckets (rows of many requests, ``store.reports.undecided_band``)
    of models with a long-context band: which of their requests passed the threshold is unknown,
    so they are priced on the base band (PRICING.md) and their cost may be low. None without."""
    if not rows:
        return ()
    parts = ", ".join(
        f"{r['model']} ({counted(r['requests'], 'request')} in {counted(r['bucket_rows'], 'bucket row')})"
        if r["requests"]
        # Anthropic's usage report gives no request count (stored as 0): not "0 requests"
        else f"{r['model']} ({counted(r['bucket_rows'], 'bucket row')}, request count not reported)"
        for r in rows[:8]
    )
    more = f" and {len(rows) - 8} more models" if len(rows) > 8 else ""
    return (
        "Long-context band undecided for provider buckets (rows of many requests) whose input passes the "
        f"model's long-context threshold: {parts}{more}. The band cannot be decided per request in a bucket, "
        "so their cost assumes the base band and may be low.",
    )


def _groups(cube: list[dict[str, Any]], keys: list[str]) -> list[dict[str, Any]]:
    return [dict(zip(keys, k, strict=True)) | v for k, v in rollup(cube, keys).items()]


def _share(part: Any, whole: Any) -> Decimal | None:
    """The exact percentage ``part`` is of ``whole``, unrounded: tables round it once to one
    decimal and JSON/CSV to two, each from this value (rounded here to 6.25 first, 6.2516 %
    would show 6.2 % half-even where the PDF's pie, from the amounts, says 6.3 %)."""
    if part is None or not whole:
        return None
    return Decimal(part) * HUNDRED / Decimal(whole)


def _used(part: int, quota: int) -> Decimal:
    """The exact percentage of the quota used: tables round it DOWN to one decimal and JSON to
    two, from this value (rounded here first, 99.996 % would become 100.00 and show 100.0 %)."""
    return Decimal(part) * HUNDRED / Decimal(quota)


def _clean(rec: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: rec.get(k) for k in keys}


def _unpriced_part(row: dict[str, Any]) -> str:
    """One model of the unpriced note. A model with a price whose requests made web searches
    its table has no per-call rate for is named with that cause: its tokens do have a price."""
    if row.get("no_web_price"):
        return (
            f"{row['model_raw']}: {counted(row['requests'], 'request')} with web searches, "
            f"{counted(row['total_tokens'], 'token')} (no web-search price in the table; their whole cost is left out)"
        )
    # Anthropic's usage report gives no request count (stored as 0): not "0 requests"
    reqs = (
        requests_text(row["requests"], row.get("unpriced_requests"))
        if row["requests"]
        else "request count not reported"
    )
    return f"{row['model_raw']} ({reqs}, {counted(row['total_tokens'], 'token')})"


def requests_text(requests: Any, counted_requests: Any) -> str:
    """The requests of some usage in words: ``requests`` as logged, and the provider buckets
    without a request count (``counted_requests`` counts each as one, per event) named as
    buckets rather than summed as "0 requests" (Anthropic's usage report gives no count)."""
    raw = int(requests or 0)
    unknown = int(counted_requests or 0) - raw
    if unknown <= 0:
        return counted(raw, "request")
    buckets = f"{counted(unknown, 'bucket')} without a request count"
    return f"{counted(raw, 'request')} and {buckets}" if raw else buckets


def _unpriced_json(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ``unpriced_models`` of JSON totals; ``no_web_price`` tells a model left out for its
    unpriced web searches from one that has no price (the same name may appear once for each).
    ``requests`` are counted as ``unpriced_requests`` counts them (``_counted_requests``: a
    bucket without a request count is one), so the models add up to it (QA: 4 + 0 beside 6)."""
    return [
        {"model": r["model_raw"], "requests": _counted_requests(r), "total_tokens": r["total_tokens"],
         "no_web_price": bool(r.get("no_web_price"))}
        for r in rows
    ]  # fmt: skip


def _counted_requests(row: dict[str, Any]) -> int:
    """The unpriced requests of one model of the note as the totals count them: the engine's own
    count when the row carries it (``unpriced_requests``), else its requests with a row that
    has no request count (Anthropic usage buckets, stored as 0) counted as one: a lower bound
    where such buckets of the model fall in more than one group (day, tier …) of the report."""
    if row.get("unpriced_requests") is not None:
        return int(row["unpriced_requests"])
    return max(int(row["requests"] or 0), 1)


def _unpriced_notes(rows: list[dict[str, Any]], *, requests: int | None = None) -> tuple[str, ...]:
    """The note on unpriced usage. Its count is ``requests``, the totals' ``unpriced_requests``,
    when the caller has it; else it is counted per model (``_counted_requests``). Never the
    raw request sum: a bucket without a request count is one request, as in the totals (QA:
    "Unpriced: 0 requests" beside ``unpriced_requests`` 1)."""
    if not rows:
        return ()
    parts = ", ".join(_unpriced_part(r) for r in rows[:8])
    more = f" and {len(rows) - 8} more" if len(rows) > 8 else ""
    req = requests if requests is not None else sum(_counted_requests(r) for r in rows)
    tok = sum(r["total_tokens"] for r in rows)
    return (
        (
            f"Unpriced: {counted(req, 'request')} / {counted(tok, 'token')} have no price and are NOT in the "
            f"cost: {parts}{more}. See `usagectl pricing check`."
        ),
    )


def _totals(total_row: dict[str, Any] | None, unpriced_rows: list[dict[str, Any]]) -> dict[str, Any]:
    totals = _clean(total_row or {}, ROW_KEYS + ("unpriced_tokens", "reported_cost_usd"))
    for k in ROW_KEYS + ("unpriced_tokens",):
        if k != "cost_usd" and totals.get(k) is None:
            totals[k] = 0
    if totals.get("cost_usd") is None and not totals["requests"] and not totals["unpriced_requests"]:
        # no usage costs nothing ("unpriced" is for usage without a price; a bucket of unknown
        # request count, requests 0, counts as one unpriced request)
        totals["cost_usd"] = Decimal(0)
    totals["unpriced_models"] = _unpriced_json(unpriced_rows)
    return totals


def daily(ctx: AppContext, req: ReportRequest) -> Report:
    """Tokens and cost per calendar day (default: the last 30 days), with the change against
    the day before and spikes marked: see ``usagectl.services.timeseries``."""
    from usagectl.services.timeseries import periodic

    return periodic(ctx, req, "day")


def by_model(ctx: AppContext, req: ReportRequest) -> Report:
    """Tokens, cost and shares per model (default: the current month): the one-level case of
    ``usagectl.services.breakdowns.breakdown``."""
    from usagectl.services.breakdowns import breakdown

    return breakdown(ctx, req, ["model"])


def _model_rows(groups: list[dict[str, Any]], totals: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for g in sorted(groups, key=lambda r: (-(r["cost_usd"] or 0), -r["total_tokens"], r["model"] or "")):
        row = {"model": g["model"] or "(none)", "provider": g["provider"]}
        row.update(_clean(g, ROW_KEYS))
        row["token_share_pct"] = _share(g["total_tokens"], totals["total_tokens"])
        row["cost_share_pct"] = _share(g["cost_usd"], totals["cost_usd"])
        rows.append(row)
    return rows


def _days_text(days: Decimal) -> str:
    """A period's length in days for the projection's label: ``30`` for whole days; the real
    length when a DST change makes it an hour longer or shorter, ``30.04`` (30 days + 1 hour =
    30 + 1/24 = 30.0417), so that the label gives the number shown, not 30."""
    return str(int(days)) if days == days.to_integral_value() else str(days.quantize(Decimal("0.01")))


def _after_now(ctx: AppContext, flt: Filters, now: datetime) -> tuple[dict[str, Any], dict[date, dict[str, Any]]]:
    """The sums of ``flt``'s usage dated after ``now`` (a clock ahead, local timestamps read as
    UTC), and per local day; nothing (no query) when the range ends by ``now``."""
    start = max(flt.start, now + timedelta(microseconds=1))
    if start >= flt.end:
        return empty(), {}
    cube = _cube(ctx, replace(flt, start=start), ["date"])
    return total(cube), {k[0]: v for k, v in rollup(cube, ["date"]).items() if v.get("requests")}


def _after_now_note(days: list[date], sums: dict[str, Any]) -> str:
    """What of the usage is dated after now, and how it is counted."""
    n = int(sums["requests"])
    cost = sums["cost_usd"]
    amount = f"{format_int(int(sums['total_tokens']))} tokens" + (f", {format_money(cost)}" if cost is not None else "")
    return (
        f"{counted(n, 'request')} ({amount}) dated after now ({days[0]}"
        + (f" – {days[-1]}" if len(days) > 1 else "")
        + f") {'is' if n == 1 else 'are'} in the totals, the rows and the quota %, not in the daily averages; "
        f"the projection adds {'it' if n == 1 else 'them'} as {'it is' if n == 1 else 'they are'}, not extrapolated. "
        "`usagectl doctor` lists events after now."
    )


def this_month_range(req: ReportRequest, today: date) -> tuple[date, date]:
    """The default range of a report of the current month (``report by``, ``team``, ``chats``,
    ``files``, ``integrations``): the whole month, so usage dated after now (a clock ahead) is in
    it as in ``report month`` and ``cost`` (QA: ``report by model`` stopped at today, 66 requests
    short of ``cost`` without a word); with a --since or --until given, up to today as every
    report."""
    first = today.replace(day=1)
    if req.since or req.until:
        return first, today
    return first, date(today.year, today.month, days_in_month(today.year, today.month))


def month_view_range(req: ReportRequest, first: date, last: date, today: date) -> tuple[date, date]:
    """The default range of a view of one month (``report month``, ``cost``): that month; with a
    --since alone, from it through today (as every other report; it ran to the month's end, so
    ``--since 30d`` covered 34 days); with an --until alone, from the first of its month."""
    if not (req.since or req.until):
        return first, last
    until = parse_date(req.until, today=today, option="--until") if req.until is not None else today
    return until.replace(day=1), until


def month(ctx: AppContext, req: ReportRequest, month: str | None = None) -> Report:
    """The overview panel: usage vs quota, daily average, cost, month-end projection,
    model distribution and the daily breakdown of one calendar month in the chosen zone, or of
    the --since/--until range (both at once is a usage error, as for ``cost``)."""
    month_or_range(month, req.since, req.until)
    tz = effective_timezone(req.tz, ctx.config)
    now = _now(req)
    today = local_today(tz, now)
    year, mon = parse_month(month) if month is not None else (today.year, today.month)
    first = date(year, mon, 1)
    last = date(year, mon, days_in_month(year, mon))
    custom = bool(req.since or req.until)
    flt = build_filters(ctx, req, default=month_view_range(req, first, last, today))
    cube, band_notes = _cube_and_band(ctx, flt, ["date", "model", "provider"])
    by_day = {k[0]: v for k, v in rollup(cube, ["date"]).items()}
    groups = _groups(cube, ["model", "provider"])
    unpriced = unpriced_models(cube)
    totals = _totals(total(cube), unpriced)

    period_start = day_start_utc(flt.since, tz)
    period_end = day_start_utc(flt.until + timedelta(days=1), tz)
    period_days = (flt.until - flt.since).days + 1
    if now >= period_end:
        state, elapsed_days = "complete", Decimal(period_days)
        shown_until = flt.until
    elif now < period_start:
        state, elapsed_days = "future", Decimal(0)
        shown_until = flt.since - timedelta(days=1)
    else:
        state = "in progress"
        elapsed_days = Decimal((now - period_start).total_seconds()) / Decimal(86400)
        shown_until = today
    priced = totals["cost_usd"] is not None  # None: every request of the period is unpriced
    cost = totals["cost_usd"] if priced else Decimal(0)
    tokens = totals["total_tokens"]
    # usage dated after now is stored usage: in the totals, the rows and the quota %; the averages
    # and the run rate take only the usage up to now, and the projection adds it as it is
    later_sums, later_days = _after_now(ctx, flt, now)
    later_tokens, later_cost = int(later_sums["total_tokens"]), later_sums["cost_usd"] or Decimal(0)
    tokens_so_far, cost_so_far = tokens - later_tokens, cost - later_cost
    overview: list[tuple[str, str, Any]] = [
        ("period", "Period", f"{flt.since} – {flt.until} ({tz})" if custom else f"{year:04d}-{mon:02d} ({tz})"),
        ("state", "State", state),
    ]
    quota = ctx.config.monthly_token_quota
    overview.append(("used_tokens", "Tokens used", tokens))
    if quota and not custom:
        overview.append(("quota_tokens", "Plan quota", quota))
        overview.append(("quota_pct", "Quota used %", _used(tokens, quota)))
    full_days = max(1, min(period_days, (shown_until - flt.since).days + 1)) if state != "future" else 1
    if later_tokens or later_sums["requests"]:
        overview.append(("after_now_tokens", "Tokens dated after now", later_tokens))
    overview.append(("daily_avg_tokens", "Daily average tokens", tokens_so_far // full_days))
    overview.append(("cost_usd", "Current cost", totals["cost_usd"]))
    # no known cost has no average nor projection ("unpriced", "–"), never $0
    overview.append(("daily_avg_cost_usd", "Daily average cost", cost_so_far / full_days if priced else None))
    if state == "in progress" and elapsed_days > 0:
        # real elapsed time over the real length of the period (a DST month is 743 or 745 h)
        length_s = Decimal((period_end - period_start).total_seconds())
        factor = length_s / (elapsed_days * Decimal(86400))
        projected_cost = cost_so_far * factor + later_cost
        projected_tokens = int(Decimal(tokens_so_far) * factor) + later_tokens
        method = (
            f"linear run rate: cost so far ÷ {elapsed_days.quantize(Decimal('0.01'))} elapsed days"
            f" × {_days_text(length_s / Decimal(86400))} days"
        )
        if later_sums["requests"]:
            method += ", plus the usage dated after now as it is"
    elif state == "complete":
        projected_cost, projected_tokens, method = cost, tokens, "period complete: projection = actual"
    else:
        projected_cost, projected_tokens, method = None, None, "period has not started"
    if not priced and projected_tokens is not None:
        projected_cost = None
        method += "; no cost to project: every request of the period is unpriced"
    overview.append(
        ("projected_cost_usd", "Projected month-end cost" if not custom else "Projected period cost", projected_cost)
    )
    overview.append(("projected_tokens", "Projected tokens", projected_tokens))
    if quota and not custom and projected_tokens is not None:
        overview.append(("projected_quota_pct", "Projected quota %", _used(projected_tokens, quota)))
    overview.append(("projection_method", "Projection", method))
    if totals["unpriced_requests"]:
        overview.append(("unpriced_requests", "Unpriced requests", totals["unpriced_requests"]))

    # events dated after now (a clock ahead, a bad log) are in the totals: their days are listed
    # too, so that the rows add up to the Total, and a note says so
    later = sorted(later_days)
    rows_until = max(shown_until, later[-1]) if later else shown_until
    rows = []
    if rows_until >= flt.since:
        for d in date_range(flt.since, rows_until):
            rec = by_day.get(d, {})
            row: dict[str, Any] = {"date": d}
            row.update({k: rec.get(k, 0 if k != "cost_usd" else Decimal(0)) for k in ROW_KEYS})
            rows.append(row)
    model_rows = _model_rows(groups, totals)
    models_section = Section(
        key="models",
        title="Model distribution",
        columns=(
            Column("model", "Model"),
            Column("provider", "Provider"),
            Column("total_tokens", "Tokens", "int"),
            Column("token_share_pct", "Token share", "pct"),
            Column("cost_usd", "Cost", "money"),
            Column("cost_share_pct", "Cost share", "pct"),
            Column("requests", "Requests", "int"),
            Column("unpriced_requests", "Unpriced req.", "int"),
        ),
        rows=tuple(model_rows),
    )
    notes = [*_unpriced_notes(unpriced, requests=totals["unpriced_requests"]), *band_notes]
    if later:
        notes.append(_after_now_note(later, later_sums))
    if projected_cost is not None and state == "in progress":
        notes.append(f"Projection: {method}.")
    return Report(
        name="month",
        title=f"Usage overview {overview[0][2]}",
        filters=flt.as_dict() | {"month": None if custom else f"{year:04d}-{mon:02d}"},
        columns=(Column("date", "Date", "date"),) + shown_metrics(METRIC_COLUMNS, totals),
        rows=tuple(rows),
        totals=totals,
        overview=tuple(overview),
        sections=(models_section,),
        notes=tuple(notes),
    )
