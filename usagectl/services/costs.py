"""`usagectl cost`: the detailed cost lines of a month (or range), per model and bucket.

Each line is ``quantity × rate = amount`` with the rate of the price row that actually priced
the usage (price period, service tier, long-context band): a model whose usage spans several
rows (o3 before/after its price change, batch, long context) gets one line per distinct rate.
Amounts are exact (Decimal, no rounding); the lines add up exactly to the total, which is the
cost ``report month`` shows for the same range and filters (the same cost engine: the bucket
sums of the events a price row matched, times that row's rates).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Context, Decimal, localcontext
from typing import TYPE_CHECKING, Any

from usagectl.config import effective_timezone
from usagectl.models import Column, Filters, Report, Section
from usagectl.pricing import RateRow
from usagectl.render.formats import format_money_exact as usd
from usagectl.services.context import AppContext
from usagectl.services.reports import (
    ReportRequest,
    _now,
    _share,
    _unpriced_json,
    _unpriced_notes,
    build_filters,
    month_view_range,
    provider_notes,
)
from usagectl.services.rollup import unpriced_counts, unpriced_models
from usagectl.store import analytics
from usagectl.store import reports as q
from usagectl.store.connection import connect
from usagectl.timeutil import days_in_month, local_today, month_or_range, parse_month

if TYPE_CHECKING:
    import duckdb

MILLION = Decimal(1_000_000)
EXACT = Context(prec=60)  # wide enough that no product or sum of money is ever rounded
WEB_SEARCH = "web_search_requests"
# bucket -> label, in the order lines are shown
BUCKET_LABELS: dict[str, str] = {
    "input_tokens": "Input tokens",
    "cache_read_tokens": "Cache read tokens",
    "cache_write_5m_tokens": "Cache write 5m tokens",
    "cache_write_1h_tokens": "Cache write 1h tokens",
    "output_tokens": "Output tokens",
    WEB_SEARCH: "Web search calls",
}
BUCKETS = tuple(BUCKET_LABELS)


@dataclass(frozen=True)
class PricedBucket:
    """One bucket of one ``rate_sums`` row times the rate of its price row (exact)."""

    row: dict[str, Any]
    bucket: str
    quantity: int
    rate: Decimal  # USD per 1M tokens; per call for web search
    amount: Decimal
    rate_id: int


def bucket_rate(rate_row: RateRow, bucket: str) -> Decimal:
    if bucket == WEB_SEARCH:
        rate = rate_row.rates.web_search_per_call
        if rate is None:  # the cost engine leaves such searches unpriced (reports.web_priced)
            raise RuntimeError(f"web searches matched {rate_row.model}'s price row, which has no per-call rate")
        return rate
    return rate_row.rates.for_bucket(bucket)


def amount_of(quantity: int, rate: Decimal, bucket: str) -> Decimal:
    """quantity × rate (per 1M tokens, or per call for web search), exactly."""
    with localcontext(EXACT):
        product = Decimal(quantity) * rate
        return product if bucket == WEB_SEARCH else product / MILLION


def price_buckets(rows: Iterable[dict[str, Any]], rate_rows: Sequence[RateRow]) -> list[PricedBucket]:
    """Every non-zero bucket of the priced rows (``rate_id`` set) with its exact amount."""
    out: list[PricedBucket] = []
    for row in rows:
        rate_id = row.get("rate_id")
        if rate_id is None:
            continue
        rate_row = rate_rows[int(rate_id)]
        for bucket in BUCKETS:
            qty = int(row.get(bucket) or 0)
            if qty:
                rate = bucket_rate(rate_row, bucket)
                out.append(PricedBucket(row, bucket, qty, rate, amount_of(qty, rate, bucket), int(rate_id)))
    return out


def unpriced_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Unpriced volume per model name (as the rows name it) and cause (the shape ``_unpriced_notes`` reads), largest first."""
    return unpriced_models(r for r in rows if r.get("rate_id") is None)


def check_engine(rows: Iterable[dict[str, Any]], priced: Sequence[PricedBucket]) -> None:
    """The lines must add up to the SQL cost engine's own sum, to the last digit."""
    sql_total = sum((r["cost_usd"] for r in rows if r.get("cost_usd") is not None), Decimal(0))
    with localcontext(EXACT):
        lines_total = sum((p.amount for p in priced), Decimal(0))
    if lines_total != sql_total:
        raise RuntimeError(f"cost lines {lines_total} differ from the cost engine's {sql_total}")


def _instant(value: datetime) -> str:
    utc = value.astimezone(UTC)
    return utc.date().isoformat() if utc.time() == time(0) else utc.isoformat()


def rate_context(r: RateRow, period: bool = True) -> str:
    """What sets this rate apart: tier, long-context band, price period (``period``: a line that
    spans periods of the same rate leaves it out); '' for the plain case."""
    parts: list[str] = []
    if r.service_tier != "standard":
        parts.append(r.service_tier)
    if r.min_input_exclusive > 0:
        band = f"over {r.min_input_exclusive:,} input"
        if r.max_input_inclusive is not None:
            band += f" up to {r.max_input_inclusive:,}"
        parts.append(band)
    if period and r.valid_from is not None:
        parts.append(f"from {_instant(r.valid_from)}")
    if period and r.valid_to is not None:
        parts.append(f"before {_instant(r.valid_to)}")
    return ", ".join(parts)


def line_text(bucket: str, context: str, quantity: int, rate: Decimal, amount: Decimal) -> str:
    label = BUCKET_LABELS[bucket] + (f" ({context})" if context else "")
    per = "" if bucket == WEB_SEARCH else "/M"
    return f"{label}: {quantity:,} × {usd(rate)}{per} = {usd(amount)}"


def _range(ctx: AppContext, req: ReportRequest, month: str | None) -> tuple[Filters, str | None]:
    month_or_range(month, req.since, req.until)
    tz = effective_timezone(req.tz, ctx.config)
    today = local_today(tz, _now(req))
    year, mon = parse_month(month) if month is not None else (today.year, today.month)
    first, last = date(year, mon, 1), date(year, mon, days_in_month(year, mon))
    flt = build_filters(ctx, req, default=month_view_range(req, first, last, today))
    custom = bool(req.since or req.until)
    return flt, None if custom else f"{year:04d}-{mon:02d}"


LINE_COLUMNS: tuple[Column, ...] = (
    Column("model", "Model"),
    Column("provider", "Provider", in_table=False),
    Column("item", "Item", in_table=False),
    Column("bucket", "Bucket", in_table=False),
    Column("context", "Applied rate", in_table=False),
    Column("quantity", "Quantity", "int", in_table=False),
    Column("rate", "Rate", "rate", in_table=False),
    Column("rate_unit", "Rate unit", in_table=False),
    Column("amount_usd", "Amount", "money", in_table=False),
    Column("line", "Line"),
)
MODEL_COLUMNS: tuple[Column, ...] = (
    Column("model", "Model"),
    Column("provider", "Provider"),
    Column("token_cost_usd", "Tokens cost", "money"),
    Column("tool_fees_usd", "Tool fees", "money"),
    Column("cost_usd", "Cost", "money"),
    Column("cost_share_pct", "Share", "pct"),
    Column("requests", "Requests", "int"),
    Column("total_tokens", "Tokens", "int"),
)


def cost_detail(ctx: AppContext, req: ReportRequest, month: str | None = None) -> Report:
    """Cost lines per model × bucket × rate, tool fees, per-model cost and share, exact total."""
    flt, month_label = _range(ctx, req, month)
    book = ctx.pricebook()
    with connect(ctx.db_path, read_only=True) as con:
        q.prepare_session(con, book, ctx.config.members, flt)
        rows = analytics.rate_sums(con, flt, with_cost=True)
        notes = provider_notes(con, flt)
        counts = unpriced_request_counts(con, flt) if any(r.get("rate_id") is None for r in rows) else (0, {})
    with localcontext(EXACT):
        return _cost_report(flt, month_label, rows, book.rate_rows(), notes, counts)


UnpricedCounts = tuple[int, dict[tuple[str, bool], int]]


def unpriced_request_counts(con: duckdb.DuckDBPyConnection, flt: Filters) -> UnpricedCounts:
    """The unpriced requests as every report counts them (a provider bucket whose request count
    is not reported, an Anthropic usage row with ``requests`` 0, is one; per event, whatever the
    grouping), in all and per (model as logged, left out for web searches): the ``requests`` of
    ``rate_sums`` are summed before that could be told. ``cost`` and ``invoice`` use it, so that
    their note's header and its parts add up as the other reports' do."""
    return unpriced_counts(q.cube(con, flt, []))


def with_counted_requests(unpriced: list[dict[str, Any]], per_model: dict[tuple[str, bool], int]) -> None:
    """The counted requests (``unpriced_request_counts``) set on the unpriced rows of ``rate_sums``
    (``_unpriced_notes`` reads them), where a row's model and cause are found there."""
    for r in unpriced:
        n = per_model.get((str(r["model_raw"]), bool(r.get("no_web_price"))))
        if n is not None:
            r["unpriced_requests"] = n


def _cost_report(
    flt: Filters, month_label: str | None, rows: list[dict[str, Any]], rate_rows: list[RateRow],
    band_notes: tuple[str, ...], counts: UnpricedCounts,
) -> Report:  # fmt: skip
    priced = price_buckets(rows, rate_rows)
    check_engine(rows, priced)

    # merge lines with the same model, bucket, rate, tier and band (the same rate in two price
    # periods); a line never spans tiers or bands, so its label says what priced all of it
    merged: dict[tuple[str, str, Decimal, str, int], dict[str, Any]] = {}
    for p in priced:
        r = rate_rows[p.rate_id]
        key = (p.row["model"], p.bucket, p.rate, r.service_tier, r.min_input_exclusive)
        line = merged.get(key)
        if line is None:
            line = merged[key] = {"model": p.row["model"], "provider": p.row["provider"], "bucket": p.bucket,
                                  "rate": p.rate, "quantity": 0, "amount_usd": Decimal(0), "contexts": {},
                                  "order": p.rate_id}  # fmt: skip
        line["quantity"] += p.quantity
        line["amount_usd"] += p.amount
        line["contexts"][rate_context(r)] = None
        line["order"] = min(line["order"], p.rate_id)

    # a model's costs are None (unpriced) only when none of its usage has a price: priced usage
    # without any tokens or search calls (a failed request) costs $0, as in `report by model`
    models: dict[str, dict[str, Any]] = {}
    for row in rows:
        m = models.setdefault(row["model"] or "(none)", {"model": row["model"] or "(none)", "provider": row["provider"],
                              "token_cost_usd": None, "tool_fees_usd": None, "cost_usd": None,
                              "requests": 0, "total_tokens": 0})  # fmt: skip
        m["requests"] += int(row["requests"] or 0)
        m["total_tokens"] += int(row["total_tokens"] or 0)
        if row.get("rate_id") is not None and m["cost_usd"] is None:
            m["token_cost_usd"] = m["tool_fees_usd"] = m["cost_usd"] = Decimal(0)
    for line in merged.values():
        m = models[line["model"]]
        part = "tool_fees_usd" if line["bucket"] == WEB_SEARCH else "token_cost_usd"
        m[part] += line["amount_usd"]
        m["cost_usd"] += line["amount_usd"]

    priced_models = [m for m in models.values() if m["cost_usd"] is not None]
    # None (unpriced) only when there is usage and none of it has a price; no usage costs $0
    total = sum((m["cost_usd"] for m in priced_models), Decimal(0)) if priced_models or not models else None
    token_cost = sum((m["token_cost_usd"] for m in priced_models), Decimal(0))
    tool_fees = sum((m["tool_fees_usd"] for m in priced_models), Decimal(0))
    ordered = sorted(models.values(), key=lambda m: (-(m["cost_usd"] or 0), -m["total_tokens"], m["model"]))
    rank = {m["model"]: i for i, m in enumerate(ordered)}
    for m in ordered:
        m["cost_share_pct"] = _share(m["cost_usd"], total)

    out_rows = []
    for line in sorted(merged.values(), key=lambda x: (rank[x["model"]], BUCKETS.index(x["bucket"]), x["order"])):
        # one label: the period's when the line has one, else (the same rate in several periods:
        # QA "from 2026-03-13; before 2026-03-13") what they share, the tier and band
        contexts = list(line["contexts"])
        context = contexts[0] if len(contexts) == 1 else rate_context(rate_rows[line["order"]], period=False)
        out_rows.append({
            "model": line["model"], "provider": line["provider"], "item": BUCKET_LABELS[line["bucket"]],
            "bucket": line["bucket"], "context": context, "quantity": line["quantity"], "rate": line["rate"],
            "rate_unit": "per call" if line["bucket"] == WEB_SEARCH else "per 1M tokens",
            "amount_usd": line["amount_usd"],
            "line": line_text(line["bucket"], context, line["quantity"], line["rate"], line["amount_usd"]),
        })  # fmt: skip

    unpriced = unpriced_rows(rows)
    unpriced_requests, per_model = counts
    with_counted_requests(unpriced, per_model)
    totals: dict[str, Any] = {
        "cost_usd": total,
        "token_cost_usd": token_cost if total is not None else None,
        "tool_fees_usd": tool_fees if total is not None else None,
        "requests": sum(m["requests"] for m in models.values()),
        "total_tokens": sum(m["total_tokens"] for m in models.values()),
        "unpriced_requests": unpriced_requests,
        "unpriced_tokens": sum(r["total_tokens"] for r in unpriced),
        "unpriced_models": _unpriced_json(unpriced),
    }
    period = month_label or f"{flt.since} – {flt.until}"
    overview: list[tuple[str, str, Any]] = [
        ("period", "Period", f"{period} ({flt.tz})"),
        ("token_cost_usd", "Token cost", totals["token_cost_usd"]),
        ("tool_fees_usd", "Tool fees", totals["tool_fees_usd"]),
        ("cost_usd", "Total", total),
        ("cost_usd_exact", "Total (exact)", total),
    ]
    if unpriced:
        overview.append(("unpriced_requests", "Unpriced requests", totals["unpriced_requests"]))
    return Report(
        name="cost",
        title=f"Cost detail {period} ({flt.tz})",
        filters=flt.as_dict() | {"month": month_label},
        columns=LINE_COLUMNS,
        rows=tuple(out_rows),
        totals=totals,
        overview=tuple(overview),
        sections=(Section("models", "Model costs", MODEL_COLUMNS, tuple(ordered)),),
        notes=(*_unpriced_notes(unpriced, requests=unpriced_requests), *band_notes),
    )
