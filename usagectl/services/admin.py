"""Database status, rejects, and views of the price tables."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any

from usagectl.errors import StrictCheckFailed, UsageError
from usagectl.models import Column, Filters, Report, Section, counted
from usagectl.services.context import AppContext
from usagectl.services.reports import requests_text
from usagectl.store import reports as q
from usagectl.store import schema
from usagectl.store import status as st
from usagectl.store.connection import connect
from usagectl.timeutil import DAY_FORMS, parse_day

if TYPE_CHECKING:
    from usagectl.pricing import ModelInfo, PriceBook, RateRow


def db_status(ctx: AppContext) -> Report:
    with connect(ctx.db_path, read_only=True) as con:
        info = st.status(con)
    size = ctx.db_path.stat().st_size if ctx.db_path.exists() else 0
    overview = (
        ("path", "Database", str(ctx.db_path)),
        ("size_bytes", "Size (bytes)", size),
        ("schema_version", "Schema version", info["schema_version"]),
        ("code_schema_version", "Schema version of this usagectl", schema.latest_version()),
        ("events", "Events", info["events"]),
        # to the second, as the last import: a first event with microseconds was too wide for
        # the two-column overview and was pushed below Config, in another format
        ("first_event", "First event (UTC)", _to_second(info["first_event"])),
        ("last_event", "Last event (UTC)", _to_second(info["last_event"])),
        # billed cost lines (openai-costs, anthropic-cost) are not events: `reconcile` reads them
        ("billed_lines", "Billed cost lines", info["cost_lines"]),
        ("first_billed_day", "First billed day (UTC)", _utc_day(info["first_cost_line"])),
        ("last_billed_day", "Last billed day (UTC)", _utc_day(info["last_cost_line"])),
        ("import_batches", "Files imported", info["import_batches"]),
        ("last_import", "Last import (UTC)", _to_second(info["last_import"])),
        ("rejects", "Rejected records", info["rejects"]),
        # provider rows that gave way to another fetch of their usage: also in `db rejects`
        ("gave_way", "Rows that gave way (kept)", info["gave_way"]),
        ("config", "Config", str(ctx.config.path) if ctx.config.path else "(none)"),
    )
    rows = tuple({"source": s, "events": n} for s, n in info["sources"].items())
    return Report(
        name="db-status",
        title="Database status",
        filters={},
        columns=(Column("source", "Source"), Column("events", "Events", "int")),
        rows=rows,
        totals={"events": info["events"]},
        overview=overview,
    )


def _utc_day(instant: datetime | None) -> date | None:
    """The UTC day of a bucket start (cost reports bill UTC days)."""
    return instant.astimezone(UTC).date() if instant is not None else None


def empty_database_note(ctx: AppContext) -> str | None:
    """A note for a report that shows no usage because the database holds no events at all (a
    first run, or a ``--db`` path with a typo), naming the database; None when it holds some."""
    with connect(ctx.db_path, read_only=True) as con:
        row = con.execute("SELECT EXISTS (SELECT 1 FROM events)").fetchone()
    if row and row[0]:
        return None
    return (
        f"The database {ctx.db_path} holds no events yet: import logs (usagectl import PATH, or usagectl sync "
        "--detect for the agents' own folders), or try usagectl demo."
    )


def outside_range_note(ctx: AppContext, filters: dict[str, Any]) -> str | None:
    """A note for a report that shows no usage because its range holds no event at all while the
    database holds some elsewhere (QA: a new user's imported 2025 logs under the default "this
    month" read as empty, with no word); the events' first and last days in the report's zone,
    and the options that show them. None when the range holds events (a filter emptied it)."""
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from usagectl.timeutil import day_start_utc

    since, until, tz = filters.get("since"), filters.get("until"), filters.get("tz")
    if not (isinstance(since, str) and isinstance(until, str) and isinstance(tz, str)) or not ctx.db_path.exists():
        return None
    start = day_start_utc(date.fromisoformat(since), tz)
    end = day_start_utc(date.fromisoformat(until) + timedelta(days=1), tz)
    with connect(ctx.db_path, read_only=True) as con:
        row = con.execute(
            "SELECT min(ts), max(ts), count(*) FILTER (WHERE ts >= $s AND ts < $e) FROM events", {"s": start, "e": end}
        ).fetchone()
    if row is None or row[0] is None or row[2]:
        return None
    zone = ZoneInfo(tz)
    first, last = (t.astimezone(zone).date().isoformat() for t in row[:2])
    return (
        f"No events at all from {since} to {until} ({tz}); the database's events are dated {first} to {last}: "
        f"give the range, e.g. --since {first} --until {last}."
    )


def unmatched_filter_notes(ctx: AppContext, filters: dict[str, Any]) -> tuple[str, ...]:
    """For a report that shows no usage: a note per filter value that no event in the whole
    database holds (``--member ALICE`` where the member is alice), with the close matches, so
    that an empty report is not taken for "no usage". One query per filter given, only then."""
    import difflib

    wanted = {k: v for k, v in filters.items() if k in q.FILTER_COLUMNS and isinstance(v, list) and v}
    if not wanted or not ctx.db_path.exists():
        return ()
    notes = []
    with connect(ctx.db_path, read_only=True) as con:
        q.prepare_session(con, ctx.pricebook(), ctx.config.members, Filters(_epoch(), _epoch(), "UTC"))
        for name, values in wanted.items():
            seen = q.filter_values_seen(con, name)
            known = set(seen)
            folded: dict[str, list[str]] = {}
            for v in seen:
                folded.setdefault(v.casefold(), []).append(v)
            for value in values:
                if value in known:
                    continue
                close = folded.get(value.casefold()) or difflib.get_close_matches(value, seen, n=3, cutoff=0.6)
                hint = f" (did you mean {', '.join(close)}?)" if close else ""
                notes.append(f"No {name.replace('_', ' ')} {value!r} in the data{hint}.")
    return tuple(notes)


def _epoch() -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC)


# The largest LIMIT the store takes: DuckDB binds it as a 64-bit signed integer, and a larger
# one failed with a ConversionException ("unexpected error", exit 1).
MAX_LIMIT = 2**63 - 1


def db_rejects(ctx: AppContext, limit: int, batch_id: int | None) -> Report:
    """The rejected records, at most ``limit`` of them (0: all, as ``report duplicates --top 0``)."""
    if not 0 <= limit <= MAX_LIMIT:
        raise UsageError(f"--limit {limit}: must be between 0 (all) and {MAX_LIMIT}")
    if batch_id is not None and batch_id < 1:  # ids come from a sequence that starts at 1
        raise UsageError(f"--batch {batch_id}: must be a batch id (1 or more)")
    with connect(ctx.db_path, read_only=True) as con:
        rows = st.rejects(con, limit or None, batch_id)
        total = st.reject_count(con, batch_id) if limit and len(rows) == limit else len(rows)
    # the list stops at --limit; the total counts them all, and a note says the list is cut
    # (QA: 50 of 60 listed, and "rejects": 50 in the totals, with no word)
    notes = (
        (f"Showing the newest {len(rows):,} of {total:,} rejected records (`--limit 0` lists all).",)
        if total > len(rows)
        else ()
    )
    # the raw text as stored (up to 4,000 characters): the table leaves it out, JSON and CSV
    # carry it whole (it was cut to 200 here, though the README promises the exact text)
    return Report(
        name="rejects",
        title="Rejected records",
        filters={"batch_id": batch_id, "limit": limit or None},
        columns=(
            # a narrow terminal leaves out the batch, then the record number (the line says
            # where), to give the path and the reason the room
            Column("batch_id", "Batch", "int", narrow_drop=1, abbreviate=False),
            Column("file", "File"),
            # where to look in the file: a line never shown as "37.9k" (QA)
            Column("line", "Line", "int", abbreviate=False),
            Column("record", "Record", "int", narrow_drop=2, abbreviate=False),
            Column("reason", "Reason"),
            Column("raw", "Raw", in_table=False),
        ),
        rows=tuple(rows),
        totals={"rejects": total, "shown": len(rows)},
        notes=notes,
    )


def _rate_cols() -> tuple[Column, ...]:
    return (
        Column("input", "Input /M", "rate"),
        Column("output", "Output /M", "rate"),
        Column("cache_read", "Cache read /M", "rate"),
        Column("cache_write_5m", "Write 5m /M", "rate"),
        Column("cache_write_1h", "Write 1h /M", "rate"),
    )


def _rates(r: Any) -> dict[str, Any]:
    return {
        "input": r.input,
        "output": r.output,
        "cache_read": r.cache_read,
        "cache_write_5m": r.cache_write_5m,
        "cache_write_1h": r.cache_write_1h,
        "web_search_per_call": r.web_search_per_call,
    }


def pricing_list(ctx: AppContext, at: str | None = None) -> Report:
    book = ctx.pricebook()
    when = _at(at)
    rate_rows = book.rate_rows()
    rows = []
    for m in book.models():
        applied = book.rate_for(m.id, when)
        row: dict[str, Any] = {"model": m.id, "provider": m.provider, "name": m.name}
        if applied is None:
            row.update({k: None for k in ("input", "output", "cache_read", "cache_write_5m", "cache_write_1h")})
            row["note"] = "no price at this date"
        else:
            row.update(_rates(applied.rates))
            # a band of the period valid at that date (Opus 4.6's ended on 2026-03-13)
            bands = [
                r.min_input_exclusive
                for r in rate_rows
                if r.model == m.id and r.min_input_exclusive and _valid(r, when)
            ]
            row["note"] = f"long ctx > {min(bands):,}" if bands else ""
        row["aliases"] = len(m.aliases)
        rows.append(row)
    return Report(
        name="pricing-list",
        title=f"Standard-tier prices, USD per 1M tokens ({len(book.files)} table files)",
        filters={"at": _shown(when, at)},
        # at 80 columns the provider goes first (the model names it), rather than fold a model name
        columns=(Column("model", "Model"), Column("provider", "Provider", narrow_drop=1))
        + _rate_cols()
        + (Column("note", "Note"),),
        rows=tuple(rows),
        totals={"models": len(rows), "fingerprint": book.fingerprint},
    )


def _valid(r: RateRow, when: datetime) -> bool:
    return (r.valid_from is None or when >= r.valid_from) and (r.valid_to is None or when < r.valid_to)


_DATE_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}.*")


def _at(at: str | None) -> datetime:
    """The instant ``--at`` names: a day like every other date option (its UTC midnight), or an
    ISO date and time (``2025-06-09T23:30-02:00``; UTC without an offset). Anything else, such
    as an ISO week date or a month, is exit 2 rather than read as some other day."""
    if not at:
        return datetime.now(UTC)
    text = at.strip()
    if _DATE_TIME.fullmatch(text):
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise UsageError(f"--at: {at!r} is not a date and time (YYYY-MM-DDTHH:MM[:SS][±HH:MM])") from None
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    day = parse_day(text, option="--at", forms=f"{DAY_FORMS}, or YYYY-MM-DDTHH:MM")
    return datetime.combine(day, time(), tzinfo=UTC)


def _shown(when: datetime, at: str | None) -> str:
    """``when`` as the report names it: the day, or the UTC minute when ``--at`` gave a time."""
    if at and _DATE_TIME.fullmatch(at.strip()):
        return f"{when:%Y-%m-%d %H:%M} UTC"
    return when.date().isoformat()


def pricing_show(ctx: AppContext, model: str, at: str | None) -> Report:
    book = ctx.pricebook()
    model_id = book.resolve(model)
    if model_id is None:
        raise UsageError(
            f"no price table knows the model {model!r}", hint="usagectl pricing list shows the known models"
        )
    info = book.get(model_id)
    assert info is not None
    when = _at(at) if at else None
    rows = []
    for r in book.rate_rows():
        if r.model != model_id:
            continue
        if when is not None and not _valid(r, when):
            continue
        band = (
            f"> {r.min_input_exclusive:,} input"
            if r.min_input_exclusive
            else (f"≤ {r.max_input_inclusive:,} input" if r.max_input_inclusive else "all")
        )
        row: dict[str, Any] = {
            "valid_from": _bound(r.valid_from),
            "valid_to": _bound(r.valid_to),
            "service_tier": r.service_tier,
            "band": band,
        }
        row.update(_rates(r.rates))
        web = r.rates.web_search_per_call
        row["web_search_per_1k"] = web * 1000 if web is not None else None  # None: searches are unpriced
        row["source"] = r.source
        row["checked"] = r.checked
        rows.append(row)
    overview = (
        ("model", "Model", model_id),
        ("resolved_from", "Resolved from", model),
        ("provider", "Provider", info.provider),
        ("name", "Name", info.name),
        ("aliases", "Aliases", ", ".join(info.aliases) or "–"),
    )
    # a bound at another hour than 00:00 UTC is shown as that instant, in UTC: say so
    utc = " (UTC)" if any(isinstance(r[k], datetime) for r in rows for k in ("valid_from", "valid_to")) else ""
    return Report(
        name="pricing-show",
        title=f"Prices of {model_id} (USD per 1M tokens)" + (f" at {_shown(when, at)}" if when else ""),
        filters={"model": model, "at": _shown(when, at) if when else None},
        columns=(
            Column("valid_from", f"From{utc}", "date"),
            Column("valid_to", f"Until{utc}", "date"),
            Column("service_tier", "Tier"),
            Column("band", "Band"),
        )
        + _rate_cols()
        + (Column("web_search_per_1k", "Search /1k", "rate"), Column("source", "Source", in_table=False)),
        rows=tuple(rows),
        # a row is one tier and band of one validity period: count both, each by its name
        totals={"rows": len(rows), "periods": len({(r["valid_from"], r["valid_to"]) for r in rows})},
        overview=overview,
        notes=_no_price_note(info, when, at) if when is not None and not rows else (),
    )


def _bound(value: datetime | None) -> date | datetime | None:
    """A period bound (UTC) as ``pricing show`` gives it: its day when it is that day's 00:00
    UTC (a TOML date), else the instant. ``until = 2026-01-01T00:00:00+05:00`` is 2025-12-31
    19:00 UTC: shown as the day 2025-12-31, it read as a change a day early (QA)."""
    if value is None:
        return None
    return value.date() if value.time() == time() else value


def _bound_text(value: datetime | None, open_side: str) -> str:
    """A period bound in a sentence: ``2025-12-31``, ``2025-12-31 19:00 UTC``, or ``open_side``."""
    shown = _bound(value)
    if shown is None:
        return open_side
    if isinstance(shown, datetime):
        spec = "minutes" if shown.second == shown.microsecond == 0 else "auto"
        return shown.replace(tzinfo=None).isoformat(" ", spec) + " UTC"
    return shown.isoformat()


def _no_price_note(info: ModelInfo, when: datetime, at: str | None) -> tuple[str, ...]:
    """Why ``pricing show --at`` has no rows: no period of the model is valid at that date."""
    spans = "; ".join(f"{_bound_text(p.valid_from, 'ever')} – {_bound_text(p.valid_to, 'open')}" for p in info.periods)
    return (f"No price of {info.id} is valid at {_shown(when, at)}: its periods are {spans} (from inclusive, until exclusive). "
            "Usage of that date is unpriced.",)  # fmt: skip


def pricing_check(ctx: AppContext, strict: bool = False) -> Report:
    book = ctx.pricebook()
    flt = Filters(start=datetime(1970, 1, 1, tzinfo=UTC), end=datetime(2200, 1, 1, tzinfo=UTC), tz="UTC")
    with connect(ctx.db_path, read_only=True) as con:
        q.prepare_session(con, book, ctx.config.members, flt)
        rows = q.unpriced_causes(con, flt)
        all_requests, all_counted = q.request_totals(con, flt)
    reasons = []
    for r in rows:
        if r["model"] is None or book.get(r["model"]) is None:
            why = "unknown model"
        elif r["no_web_price"]:
            why = f"no web-search price ({counted(r['web_search_requests'], 'call')})"
        else:
            why = _why_unpriced(book, r)
        reasons.append(
            {
                "model": r["model_raw"],
                "resolved": r["model"] if book.get(r["model"] or "") else None,
                "service_tier": r["service_tier"],
                # counted as every report's unpriced_requests: a bucket without a request count is one
                "requests": r["counted_requests"],
                "total_tokens": r["total_tokens"],
                "reason": why,
            }
        )
    logged = sum(r["requests"] for r in rows)
    # as in every report's totals: a bucket without a request count is one request
    unpriced_requests = sum(r["counted_requests"] for r in rows)
    unpriced_tokens = sum(r["total_tokens"] for r in rows)
    # rows of one model that differ only by tier (gpt-4o at standard@us, batch@us) read as the
    # same line without it (QA): the table shows the tier once any row is not standard
    tiers = any(r["service_tier"] != "standard" for r in reasons)
    report = Report(
        name="pricing-check",
        title="Usage without a price",
        filters={"strict": strict},
        columns=(
            Column("model", "Model as logged"),
            Column("reason", "Why"),
            Column("requests", "Requests", "int"),
            Column("total_tokens", "Tokens", "int"),
            Column("service_tier", "Tier", in_table=tiers),
        ),
        rows=tuple(reasons),
        # requests / total_tokens total the table's columns (its Total row), like every report;
        # all_requests is the whole database, the denominator of the note. Requests are counted
        # as every report's unpriced_requests (a bucket without a request count is one), so that
        # requests / all_requests is a share; the note names the buckets (``requests_text``)
        totals={
            "requests": unpriced_requests,
            "total_tokens": unpriced_tokens,
            "unpriced_requests": unpriced_requests,
            "unpriced_tokens": unpriced_tokens,
            "all_requests": all_counted,
        },
        notes=(
            (_unpriced_share(logged, unpriced_requests, all_requests, all_counted),)
            if rows
            else ("Every event in the database has a price.",)
        ),
    )
    return report


def _unpriced_share(logged: int, unpriced: int, all_logged: int, all_counted: int) -> str:
    """The note under ``pricing check``: how much of the database has no price. Provider buckets
    without a request count (Anthropic's usage report) are named as buckets, not "0 of 0"."""
    if unpriced == logged and all_counted == all_logged:
        return f"{logged:,} of {counted(all_logged, 'request')} in the database have no price."
    return (
        f"Without a price: {requests_text(logged, unpriced)}, of {requests_text(all_logged, all_counted)} "
        "in the database."
    )


def _why_unpriced(book: PriceBook, r: dict[str, Any]) -> str:
    """The price book's own reason for the first unpriced row of a (model, tier) group (a tier the
    model's table does not price, no period valid at that date, an unknown tier name, a band
    without that tier's rates), with the dates when the group spans more than one day."""
    first = r["first"]
    res = book.cost(
        model_raw=r["model"], ts=first["ts"], service_tier=r["service_tier"], requests=int(first["requests"]),
        input_tokens=int(first["total_input"]), band_input=first["band_input"],
    )  # fmt: skip
    why = res.unpriced_reason or "no price for its date or service tier"
    why = why.split(" (known:")[0]  # the known tiers: pricing/README.md
    if " valid at " in why:  # "no price for m valid at <instant>": the days, not the first instant
        days = sorted({r["first_ts"].date(), r["last_ts"].date()})
        why = why.split(" valid at ")[0] + " valid on " + " – ".join(d.isoformat() for d in days)
    return why


def strict_failure(report: Report) -> StrictCheckFailed | None:
    """The error ``pricing check --strict`` exits with (1), after the list has been shown."""
    if not report.rows:
        return None
    return StrictCheckFailed(
        f"{counted(len(report.rows), 'model name')} without a price, {report.totals['unpriced_requests']:,} requests",
        hint="add them to a price table in your [pricing] dir (see pricing/README.md)",
    )


__all__ = ["Section", "db_rejects", "db_status", "pricing_check", "pricing_list", "pricing_show"]


def _to_second(value: Any) -> Any:
    """A moment shown to the second (an event's or import's microseconds are noise here)."""
    return value.replace(microsecond=0) if isinstance(value, datetime) else value
