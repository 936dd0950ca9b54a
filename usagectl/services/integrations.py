"""`usagectl report integrations` and `usagectl report platforms`.

Per connected service (``integration``) or platform (web, mobile, api, integration …): tokens,
cost and their shares, latency p50/p95, error rate and the most frequent error types; the
platform report adds voice messages (events whose ``extra`` JSON has ``"voice": true``) as their
own columns.

Definitions (documented in the README):

* latency p50/p95: linear-interpolated percentiles (``quantile_cont``) of ``latency_ms`` over the
  events that carry it; events without a latency are left out, not counted as 0.
* error rate: requests with ``status = 'error'`` ÷ requests whose status is known × 100; None
  when no event of the row says its status.
* the integration report covers usage that names an integration; the rest is stated in a note.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from usagectl.config import effective_timezone
from usagectl.importers import registry
from usagectl.models import Column, Report, Section, counted
from usagectl.services.breakdowns import NONE_LABEL as BY_NONE
from usagectl.services.context import AppContext
from usagectl.services.reports import (
    ReportRequest,
    _now,
    _share,
    _unpriced_json,
    _unpriced_notes,
    _unpriced_part,
    build_filters,
    this_month_range,
    with_empty_notes,
)
from usagectl.services.rollup import unpriced_models
from usagectl.store import analytics
from usagectl.store import reports as q
from usagectl.store.connection import connect
from usagectl.timeutil import local_today

TOP_ERRORS = 3
NONE_LABEL = {"integration": BY_NONE, "platform": BY_NONE}  # as `report by platform` says: one key to join on

_STAT_KEYS = (
    "requests", "input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens", "total_tokens",
    "token_share_pct", "cost_usd", "cost_share_pct", "latency_p50_ms", "latency_p95_ms", "latency_events",
    "error_requests", "status_requests", "error_rate_pct", "top_error_types", "unpriced_requests", "unpriced_tokens",
    "voice_requests", "voice_tokens", "voice_cost_usd", "voice_unpriced_requests",
)  # fmt: skip


def _columns(dim: str, header: str, unpriced: bool) -> tuple[Column, ...]:
    """The report's columns. An 80-column terminal leaves out the top errors first (the
    "Errors by type" section lists them), then the token share, then the cost share, rather
    than fold names and error types (``Column.narrow_drop``); the unpriced count is in the
    table only when something is unpriced."""
    voice = dim == "platform"
    return (
        Column(dim, header),
        Column("requests", "Reqs", "int"),
        Column("input_tokens", "Input", "int", in_table=False),
        Column("cache_read_tokens", "Cache read", "int", in_table=False),
        Column("cache_write_tokens", "Cache write", "int", in_table=False),
        Column("output_tokens", "Output", "int", in_table=False),
        Column("total_tokens", "Tokens", "int"),
        Column("token_share_pct", "Token share", "pct", narrow_drop=2),
        Column("cost_usd", "Cost", "money"),
        Column("cost_share_pct", "Cost share", "pct", narrow_drop=3),
        Column("latency_p50_ms", "p50 ms", "float"),
        Column("latency_p95_ms", "p95 ms", "float"),
        Column("latency_events", "Latency events", "int", in_table=False),
        Column("error_requests", "Errors", "int", in_table=False),
        Column("status_requests", "Status known", "int", in_table=False),
        Column("error_rate_pct", "Error rate", "pct"),
        Column("top_error_types", "Top errors", in_table=not voice, narrow_drop=1),
        Column("unpriced_requests", "Unpriced", "int", in_table=unpriced),
        Column("unpriced_tokens", "Unpriced tokens", "int", in_table=False),
    ) + (VOICE_COLUMNS if voice else ())


VOICE_COLUMNS: tuple[Column, ...] = (
    Column("voice_requests", "Voice msgs", "int"),
    Column("voice_tokens", "Voice tokens", "int", in_table=False),
    Column("voice_cost_usd", "Voice cost", "money"),
    Column("voice_unpriced_requests", "Voice unpriced", "int", in_table=False),
)


ERROR_COLUMNS_TAIL: tuple[Column, ...] = (
    Column("error_type", "Error type"),
    Column("requests", "Requests", "int"),
    Column("share_of_errors_pct", "Share of errors", "pct"),
    Column("share_of_requests_pct", "Share of requests", "pct"),
)


def _latency(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


def _stat_row(rec: dict[str, Any], errors: list[tuple[str, int]], dim: str) -> dict[str, Any]:
    row = {k: rec.get(k) for k in _STAT_KEYS}
    row["cache_write_tokens"] = int(rec["cache_write_5m_tokens"] or 0) + int(rec["cache_write_1h_tokens"] or 0)
    row["latency_p50_ms"] = _latency(rec["latency_p50_ms"])
    row["latency_p95_ms"] = _latency(rec["latency_p95_ms"])
    row["error_rate_pct"] = _share(rec["error_requests"], rec["status_requests"])
    row["top_error_types"] = ", ".join(f"{name} {n:,}" for name, n in errors[:TOP_ERRORS])
    if dim != "platform":
        for k in ("voice_requests", "voice_tokens", "voice_cost_usd", "voice_unpriced_requests"):
            row.pop(k)
    elif not rec["voice_requests"]:
        row["voice_cost_usd"] = Decimal(0)  # no voice message: $0, not "unpriced"
    return row


def integrations(ctx: AppContext, req: ReportRequest) -> Report:
    """Usage per connected service (default range: the current month)."""
    return _service_report(ctx, req, "integration")


def platforms(ctx: AppContext, req: ReportRequest) -> Report:
    """Usage per platform with voice-message cost (default range: the current month)."""
    return _service_report(ctx, req, "platform")


def _without_integration(none: dict[str, Any], unpriced: list[dict[str, Any]]) -> str:
    """The note on the usage `report integrations` leaves out (no integration). Its cost is a
    lower bound ("≥") when some of it has no price, and the unpriced models are named with their
    causes, as every report's unpriced note names them: a plain "$2.50" read as the whole cost."""
    cost = none["cost_usd"]
    if cost is None:
        shown = "unpriced"
    else:
        shown = ("≥ " if none["unpriced_requests"] else "") + f"${cost:,.2f}"
    text = (
        f"Usage without an integration is not in this report: {counted(none['requests'], 'request')}, "
        f"{counted(none['total_tokens'], 'token')}, cost {shown}"
    )
    if unpriced:
        text += "; without a price: " + "; ".join(_unpriced_part(u) for u in unpriced)
    return text + " (see `usagectl report platforms`)."


def _service_report(ctx: AppContext, req: ReportRequest, dim: str) -> Report:
    tz = effective_timezone(req.tz, ctx.config)
    today = local_today(tz, _now(req))
    flt = build_filters(ctx, req, default=this_month_range(req, today))
    with connect(ctx.db_path, read_only=True) as con:
        q.prepare_session(con, ctx.pricebook(), ctx.config.members, flt)
        voice = dim == "platform"
        free = registry.formats_without_extra_key("voice") if voice else []
        stats, exc = analytics.service_stats(con, flt, dim, voice=voice, voice_free_formats=free)

    only_named = dim == "integration"
    label = NONE_LABEL[dim]
    errors: dict[Any, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    all_errors: dict[str, int] = defaultdict(int)
    # usage without an integration is left out of `report integrations`, named in its own note
    loose_unpriced = unpriced_models([r for r in exc if r["key"] is None]) if only_named else []
    exc = [r for r in exc if not (only_named and r["key"] is None)]
    for r in exc:
        if r["error_type"] is not None:
            errors[r["key"]][r["error_type"]] += int(r["requests"])
            all_errors[r["error_type"]] += int(r["requests"])
    # by logged name and cause, as in `report by …`: web searches without a per-call price are
    # named as such, not as a model without a price
    unpriced = unpriced_models(exc)

    def ranked(counts: dict[str, int]) -> list[tuple[str, int]]:
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))

    by_level: dict[str, dict[str, Any]] = {r["level"]: r for r in stats if r["level"] != "key"}
    keyed = [r for r in stats if r["level"] == "key" and not (only_named and r["key"] is None)]
    total_rec = by_level.get("some" if only_named else "all")
    rows = []
    for rec in keyed:
        row: dict[str, Any] = {dim: rec["key"] if rec["key"] is not None else label}
        row.update(_stat_row(rec, ranked(errors.get(rec["key"], {})), dim))
        rows.append(row)
    totals: dict[str, Any] = _stat_row(total_rec, ranked(all_errors), dim) if total_rec else {}
    for row in rows:
        row["token_share_pct"] = _share(row["total_tokens"], totals.get("total_tokens"))
        row["cost_share_pct"] = _share(row["cost_usd"], totals.get("cost_usd"))
    rows.sort(key=lambda r: (r[dim] == label, -int(r["total_tokens"] or 0), -(r["cost_usd"] or 0), str(r[dim])))
    totals.pop("token_share_pct", None)
    totals.pop("cost_share_pct", None)
    totals["unpriced_models"] = _unpriced_json(unpriced)

    error_rows = []
    for row in rows:
        key = None if row[dim] == label else row[dim]
        for name, n in ranked(errors.get(key, {})):
            error_rows.append({dim: row[dim], "error_type": name, "requests": n,
                               "share_of_errors_pct": _share(n, row["error_requests"]),
                               "share_of_requests_pct": _share(n, row["status_requests"])})  # fmt: skip

    notes = list(_unpriced_notes(unpriced))
    none = by_level.get("none")
    if only_named and none and none["requests"]:
        notes.append(_without_integration(none, loose_unpriced))
    if not only_named and totals.get("voice_unpriced_requests"):
        notes.append(f"{totals['voice_unpriced_requests']:,} voice requests have no price and are not in Voice cost.")
    header = "Integration" if only_named else "Platform"
    title = "Usage by integration" if only_named else "Usage by platform"
    report = Report(
        name="integrations" if only_named else "platforms",
        title=f"{title} {flt.since} – {flt.until} ({tz})",
        filters=flt.as_dict(),
        columns=_columns(dim, header, bool(totals.get("unpriced_requests"))),
        rows=tuple(rows),
        totals=totals,
        sections=(Section("errors", "Errors by type", (Column(dim, header), *ERROR_COLUMNS_TAIL), tuple(error_rows)),),
        notes=tuple(notes),
    )
    return with_empty_notes(ctx, report)


__all__ = ["integrations", "platforms"]
