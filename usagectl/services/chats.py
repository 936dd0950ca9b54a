"""Chats and messages: `report chats`, `chat show ID`, `message show ID`.

A chat is a ``session_id``. Its input tokens are everything billed as input (uncached input +
cache read + cache writes), its output the output tokens (reasoning included); its duration
runs from its first to its last event in the range. Costs come from the same price engine as
every report; `message show` recomputes one event's cost line by line with the price book.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from usagectl.config import effective_timezone
from usagectl.errors import UsageError
from usagectl.models import Column, Filters, Report, Section, counted, printable
from usagectl.render.formats import format_money
from usagectl.services.context import AppContext
from usagectl.services.reports import (
    ReportRequest,
    _now,
    _share,
    _unpriced_notes,
    build_filters,
    requests_text,
    this_month_range,
    with_empty_notes,
)
from usagectl.store import chats as cq
from usagectl.store import reports as q
from usagectl.store.connection import connect
from usagectl.timeutil import FIRST_DAY, LAST_DAY, local_today

if TYPE_CHECKING:
    from usagectl.pricing import AppliedRate, CostBreakdown

DEFAULT_TOP = 50
MAX_IDS = 10  # event ids a message names at most (the rest: " …")
ZERO = Decimal(0)


def month_filters(ctx: AppContext, req: ReportRequest) -> Filters:
    """The range of a report: --since/--until, by default the current month in the zone."""
    tz = effective_timezone(req.tz, ctx.config)
    today = local_today(tz, _now(req))
    return build_filters(ctx, req, default=this_month_range(req, today))


def local_time(ts: datetime, tz: str) -> datetime:
    return ts.astimezone(ZoneInfo(tz))


def clock(ts: datetime, tz: str, *, seconds: bool = True) -> str:
    """``2025-11-03 11:00:05`` in the zone (tables; ``2025-11-03 11:00`` without ``seconds``);
    JSON gets the ISO instant with its offset. A wall time the zone shows twice (the hour
    repeated when clocks go back) gets its zone's abbreviation, ``2026-10-25 02:30:00 CEST``
    then ``… 02:30:00 CET``, so the two read apart; every other time stays short."""
    local = local_time(ts, tz)
    text = local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    if local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():
        text += f" {local.tzname() or local.strftime('%z')}"
    return text


def duration_text(seconds: int) -> str:
    """``45s``, ``12m 05s``, ``2h 03m``, ``3d 4h``."""
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    if seconds < 86400:
        return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d {seconds % 86400 // 3600}h"


def _seconds(first: datetime, last: datetime) -> int:
    return int((last - first).total_seconds())


# --------------------------------------------------------------------------- report chats

CHAT_COLUMNS: tuple[Column, ...] = (
    Column("chat", "Chat"),
    Column("session_id", "Session", in_table=False),
    Column("chat_title", "Title", in_table=False),
    Column("messages", "Messages", "int"),
    # input with cache read and writes, as a chat's context is: not the events' uncached
    # ``input_tokens`` (QA: one key, two meanings between ``report by`` and ``report chats``)
    Column("total_input_tokens", "Input", "int"),
    Column("output_tokens", "Output", "int"),
    Column("total_tokens", "Total", "int", in_table=False),
    Column("cost_usd", "Cost", "money"),
    Column("cost_share_pct", "Cost share", "pct", in_table=False),
    Column("duration", "Duration", narrow_drop=3),
    Column("duration_s", "Duration (s)", "int", in_table=False),
    Column("started", "Started", narrow_drop=2),
    Column("first_ts", "First", "date", in_table=False),
    Column("last_ts", "Last", "date", in_table=False),
    Column("models", "Models", narrow_drop=4),
)


def report_chats(ctx: AppContext, req: ReportRequest, *, top: int | None = DEFAULT_TOP) -> Report:
    """Per chat: title, messages, input/output tokens, cost, duration, models; by cost.

    ``top`` None or 0 lists every chat; totals always cover every chat of the range.
    """
    if top is not None and top < 0:
        raise UsageError(f"--top {top}: must be 0 (all) or more")
    flt = month_filters(ctx, req)
    tz = flt.tz
    with connect(ctx.db_path, read_only=True) as con:
        q.prepare_session(con, ctx.pricebook(), ctx.config.members, flt)
        res = cq.chat_summary(con, flt, top or None)
    chats = res["chats"] or {}
    n_chats = chats.get("chats", 0)
    # no chat costs nothing ($0.00); None (unpriced) is for chats whose messages have no price
    total_cost = chats.get("cost_usd") if n_chats else ZERO
    rows = []
    for r in res["rows"]:
        secs = _seconds(r["first_ts"], r["last_ts"])
        rows.append(
            {
                "chat": r["chat_title"] or r["session_id"],
                "session_id": r["session_id"],
                "chat_title": r["chat_title"],
                # counted as unpriced_requests are (a bucket without a request count is one): a
                # chat said "Messages 2, Unpriced 2" with one of its 3 messages priced
                "messages": r["counted_requests"],
                "total_input_tokens": r["input_tokens"],
                "output_tokens": r["output_tokens"],
                "total_tokens": r["total_tokens"],
                "cost_usd": r["cost_usd"],
                "cost_share_pct": _share(r["cost_usd"], total_cost),
                "duration": duration_text(secs),
                "duration_s": secs,
                # cut to the minute, not to 16 characters: that cut the zone off a repeated hour
                "started": clock(r["first_ts"], tz, seconds=False),
                "first_ts": local_time(r["first_ts"], tz),
                "last_ts": local_time(r["last_ts"], tz),
                "models": r["models"] or "",
                "unpriced_requests": r["unpriced_requests"],
            }
        )
    totals: dict[str, Any] = {
        "chats": n_chats,
        "messages": chats.get("counted_requests", 0),
        "total_input_tokens": chats.get("input_tokens", 0),
        "output_tokens": chats.get("output_tokens", 0),
        "total_tokens": chats.get("total_tokens", 0),
        "cost_usd": total_cost,
        "unpriced_requests": chats.get("unpriced_requests", 0),
        # requests counted as unpriced_requests, so the models add up to it
        "unpriced_models": [
            {"model": u["model_raw"], "requests": u["unpriced_requests"], "total_tokens": u["total_tokens"]}
            for u in res["unpriced"]
        ],
    }
    loose = res["no_chat"]
    notes: list[str] = []
    if len(rows) < n_chats:
        rows.append(_other_row(rows, totals, n_chats - len(rows)))
        notes.append(
            f"Showing the top {len(rows) - 1:,} of {n_chats:,} chats by cost (`--top 0` lists all); "
            "the others are summed in the last row."
        )
    notes.extend(_unpriced_notes(res["unpriced"]))
    left_out = n_chats - res["priced_chats"]["chats"]
    if left_out:
        notes.append(
            f"The average cost per chat is over the {res['priced_chats']['chats']:,} fully priced chats; "
            f"left out of it (unpriced messages, no full cost): {counted(left_out, 'chat')}."
        )
    if loose:
        totals["no_chat_requests"] = loose["requests"]
        totals["no_chat_cost_usd"] = loose["cost_usd"]
        notes.append(
            f"Usage without a session id ({requests_text(loose['requests'], loose['counted_requests'])}, "
            f"{counted(loose['total_tokens'], 'token')}, cost {_cost_text(loose)}) "
            "belongs to no chat; it is not above."
        )
    overview: tuple[tuple[str, str, Any], ...] = (
        ("period", "Period", f"{flt.since} – {flt.until} ({tz})"),
        ("chats", "Chats", n_chats),
        ("messages", "Messages", totals["messages"]),
        ("cost_usd", "Cost of the chats", total_cost),
    )
    if n_chats:  # no chat has no average (an absent line, not "unpriced")
        overview += (_average(n_chats, res["priced_chats"]),)
    # an 80-column terminal leaves out the unpriced count, the start, the duration, then the
    # models, rather than fold chat ids (a 36-character session UUID) (``Column.narrow_drop``)
    unpriced_col = (
        Column("unpriced_requests", "Unpriced", "int", in_table=bool(totals["unpriced_requests"]), narrow_drop=1),
    )
    report = Report(
        name="chats",
        title=f"Chats {flt.since} – {flt.until} ({tz})",
        filters=flt.as_dict() | {"top": top or None},
        columns=CHAT_COLUMNS + unpriced_col,
        rows=tuple(rows),
        totals=totals,
        overview=overview,
        notes=tuple(notes),
    )
    return with_empty_notes(ctx, report)


def _other_row(rows: list[dict[str, Any]], totals: dict[str, Any], n: int) -> dict[str, Any]:
    """The chats beyond ``--top`` in one row, as ``report by --top`` folds its rest into
    "(other)": the totals less the rows shown, so the rows add up to the totals. Its cost is
    unpriced when every one of its messages is."""
    keys = ("messages", "total_input_tokens", "output_tokens", "total_tokens", "unpriced_requests")
    other: dict[str, Any] = {k: totals[k] - sum(r[k] for r in rows) for k in keys}
    cost = totals["cost_usd"]
    shown = sum((r["cost_usd"] for r in rows if r["cost_usd"] is not None), Decimal(0))
    other_cost = None if cost is None or other["unpriced_requests"] == other["messages"] else cost - shown
    return other | {
        "chat": f"(other {counted(n, 'chat')})", "session_id": None, "chat_title": None,
        "cost_usd": other_cost, "cost_share_pct": _share(other_cost, cost), "duration": "", "duration_s": None,
        "started": "", "first_ts": None, "last_ts": None, "models": "", "other_chats": n,
    }  # fmt: skip


def _average(n_chats: int, priced: dict[str, Any]) -> tuple[str, str, Decimal | None]:
    """The overview line of the average cost per chat, over the chats whose every message is
    priced: a chat with an unpriced message would count at a cost it does not have (never $0
    silently). None (unpriced) when no chat is fully priced."""
    avg = priced["cost_usd"] / priced["chats"] if priced["chats"] else None
    label = "Average cost per chat" if priced["chats"] == n_chats else "Average cost per priced chat"
    return ("avg_cost_per_chat_usd", label, avg)


def _cost_text(usage: dict[str, Any]) -> str:
    """The cost of some usage in a note, as the tables show money (``$0.60``): "unpriced" when
    none of it has a price, a lower bound ("≥ $0.60, 1 request unpriced") when some has none;
    the unpriced part in the words of its requests (``requests_text``: "1 bucket without a
    request count unpriced", not "1 request" beside buckets named as such)."""
    cost, unpriced = usage["cost_usd"], int(usage.get("unpriced_requests") or 0)
    if cost is None:
        return "unpriced"
    if unpriced:
        return f"≥ {format_money(cost)}, {requests_text(usage.get('unpriced_logged'), unpriced)} unpriced"
    return format_money(cost)


# --------------------------------------------------------------------------- chat show

MESSAGE_COLUMNS: tuple[Column, ...] = (
    Column("time", "Time"),
    Column("ts", "Timestamp", "date", in_table=False),
    Column("message", "Message", narrow_drop=1),
    Column("event_id", "Event", in_table=False),
    Column("model", "Model"),
    Column("input_tokens", "Input", "int"),
    Column("cache_read_tokens", "Cache read", "int"),
    Column("cache_write_tokens", "Cache write", "int", narrow_drop=2),
    Column("cache_write_5m_tokens", "Cache write 5m", "int", in_table=False),
    Column("cache_write_1h_tokens", "Cache write 1h", "int", in_table=False),
    Column("output_tokens", "Output", "int"),
    Column("reasoning_tokens", "Reasoning", "int", in_table=False),
    Column("message_tokens", "Message tokens", "int", in_table=False),
    Column("context_tokens", "Context tokens", "int", in_table=False),
    Column("file_tokens", "File tokens", "int", in_table=False),
    Column("tool_output_tokens", "Tool output tokens", "int", in_table=False),
    Column("latency_ms", "Latency ms", "int"),
    Column("cost_usd", "Cost", "money"),
)
_SUMMED = ("input_tokens", "total_input_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_5m_tokens",
           "cache_write_1h_tokens", "output_tokens", "reasoning_tokens")  # fmt: skip


def all_time_filters(ctx: AppContext, req: ReportRequest) -> Filters:
    """A lookup by id searches every day unless --since/--until narrow it: days after today too
    (a clock that runs ahead dates usage in the future, and reports keep it)."""
    return build_filters(ctx, req, default=(FIRST_DAY, LAST_DAY))


def _lookup_filters(req: ReportRequest, flt: Filters) -> dict[str, Any]:
    """The filters a lookup by id names: the range only when --since/--until gave one (every
    day is searched otherwise, and "since 1970-01-01 · until 2199-12-31" says nothing)."""
    out = flt.as_dict()
    if req.since is None:
        out["since"] = None
    if req.until is None:
        out["until"] = None
    return out


def _searched(req: ReportRequest, flt: Filters) -> str:
    """The range a lookup searched, for its not-found message: nothing when it was every day, and
    only the bound given when one was ("since 2026-11-01"; the other end is open, not 2199-12-31)."""
    if req.since is None and req.until is None:
        return ""
    if req.until is None:
        return f" since {flt.since} ({flt.tz})"
    if req.since is None:
        return f" until {flt.until} ({flt.tz})"
    return f" between {flt.since} and {flt.until} ({flt.tz})"


def chat_show(ctx: AppContext, req: ReportRequest, session_id: str) -> Report:
    """Every event of one chat, oldest first, with its input buckets, output, latency and cost."""
    flt = all_time_filters(ctx, req)
    tz = flt.tz
    with connect(ctx.db_path, read_only=True) as con:
        q.prepare_session(con, ctx.pricebook(), ctx.config.members, flt)
        events = cq.chat_events(con, flt, session_id)
    if not events:
        raise UsageError(
            f"no chat with session id {session_id!r}{_searched(req, flt)}"
            + (" matching the filters" if flt.where else ""),
            hint="`usagectl report chats --since YYYY-MM-DD` lists chats; JSON and CSV give their session_id",
        )
    rows = []
    for e in events:
        rows.append(
            {
                "time": clock(e["ts"], tz),
                "ts": local_time(e["ts"], tz),
                "message": e["message_id"] or e["event_id"],
                "message_id": e["message_id"],
                "event_id": e["event_id"],
                "model": e["cmodel"] or "(none)",
                "service_tier": e["service_tier"],
                "input_tokens": e["input_tokens"],
                "cache_read_tokens": e["cache_read_tokens"],
                "cache_write_tokens": e["cache_write_5m_tokens"] + e["cache_write_1h_tokens"],
                "cache_write_5m_tokens": e["cache_write_5m_tokens"],
                "cache_write_1h_tokens": e["cache_write_1h_tokens"],
                "total_input_tokens": e["total_input"],
                "output_tokens": e["output_tokens"],
                "reasoning_tokens": e["reasoning_tokens"],
                "message_tokens": e["message_tokens"],
                "context_tokens": e["context_tokens"],
                "file_tokens": e["file_tokens"],
                "tool_output_tokens": e["tool_output_tokens"],
                "latency_ms": e["latency_ms"],
                "status": e["status"],
                "error_type": e["error_type"],
                "file_name": e["file_name"],
                "cost_usd": e["cost"],
            }
        )
    totals: dict[str, Any] = {k: sum(r[k] for r in rows) for k in _SUMMED}
    priced = [r["cost_usd"] for r in rows if r["cost_usd"] is not None]
    totals["cost_usd"] = sum(priced, ZERO) if priced else None
    totals["latency_ms"] = sum(r["latency_ms"] or 0 for r in rows)
    # as the chat's row in `report chats`: an event without a request count is one request, a
    # message as an unpriced request (said "Messages 2" beside "Unpriced 2" for a priced one)
    totals["messages"] = sum(max(e["requests"] or 0, 1) for e in events)
    totals["unpriced_requests"] = sum(max(e["requests"] or 0, 1) for e in events if e["cost"] is None)
    first, last = events[0]["ts"], events[-1]["ts"]
    titles = sorted({e["chat_title"] for e in events if e["chat_title"]})
    models = sorted({e["cmodel"] for e in events if e["cmodel"]})
    overview: list[tuple[str, str, Any]] = [
        ("chat_title", "Chat", titles[-1] if titles else "(untitled)"),
        ("session_id", "Session", session_id),
        ("messages", "Messages", totals["messages"]),
        ("first", "First message", clock(first, tz)),
        ("last", "Last message", clock(last, tz)),
        ("duration", "Duration", duration_text(_seconds(first, last))),
        ("models", "Models", ", ".join(models)),
        ("total_input_tokens", "Input tokens (incl. cache)", sum(r["total_input_tokens"] for r in rows)),
        ("output_tokens", "Output tokens", totals["output_tokens"]),
        ("cost_usd", "Cost", totals["cost_usd"]),
    ]
    members = sorted({e["member"] for e in events if e["member"]})
    if members:
        overview.insert(2, ("members", "Member", ", ".join(members)))
    notes = []
    unpriced = [e for e in events if e["cost"] is None]
    if unpriced:
        names = sorted({e["model_raw"] or e["cmodel"] or "(none)" for e in unpriced})
        notes.append(
            f"Unpriced: {totals['unpriced_requests']:,} of {totals['messages']:,} messages ({', '.join(names)}) have no "
            "price and are NOT in the cost; `usagectl message show ID` says why."
        )
    errors = sum(1 for e in events if e["status"] == "error")
    status_col = (Column("status", "Status", in_table=errors > 0),)
    # an 80-column terminal leaves out the message ids (a Claude Code id is 28 characters, and
    # `--format json` lists them for `message show`), then the cache writes, rather than fold
    # ids and model names; a latency column of dashes (coding agents log none) is left out
    timed = any(r["latency_ms"] is not None for r in rows)
    columns = tuple(replace(c, in_table=timed) if c.key == "latency_ms" else c for c in MESSAGE_COLUMNS)
    return Report(
        name="chat",
        # the title line is printed as it is (JSON has no title): a chat's title from the log
        # shown printable, or "t\x1b]0;pwn\x07x" retitled the terminal (QA)
        title=f"Chat {printable(titles[-1] if titles else session_id)} ({tz})",
        filters=_lookup_filters(req, flt) | {"session_id": session_id},
        columns=columns + status_col,
        rows=tuple(rows),
        totals=totals,
        overview=tuple(overview),
        notes=tuple(notes),
    )


# --------------------------------------------------------------------------- message show

BUCKET_LABELS = {
    "input_tokens": "Input (uncached)",
    "cache_read_tokens": "Cache read",
    "cache_write_5m_tokens": "Cache write 5m",
    "cache_write_1h_tokens": "Cache write 1h",
    "output_tokens": "Output",
    "web_search_requests": "Web search calls",
}
COST_COLUMNS: tuple[Column, ...] = (
    Column("bucket", "Bucket", in_table=False),
    Column("label", "Bucket"),
    Column("quantity", "Quantity", "int"),
    Column("rate_usd", "Rate", "rate"),
    Column("unit", "Per"),
    Column("amount_usd", "Amount", "money"),
    Column("calculation", "Calculation (exact)"),
)
PART_COLUMNS: tuple[Column, ...] = (Column("part", "Part"), Column("tokens", "Tokens", "int"),
                                    Column("share_pct", "Share", "pct"))  # fmt: skip


def _plain(d: Decimal, min_places: int = 0) -> str:
    """A Decimal in full, plain form with thousands separators (no rounding)."""
    text = format(d.normalize(), "f") if d else "0"
    whole, _, frac = text.partition(".")
    frac = frac.ljust(min_places, "0")
    return f"{int(whole):,}" + (f".{frac}" if frac else "")


def _period_text(valid_from: datetime | None, valid_to: datetime | None) -> str:
    start = valid_from.isoformat() if valid_from else "(open)"
    end = valid_to.isoformat() if valid_to else "(open)"
    return f"{start} – {end}"


def _band_text(applied: AppliedRate) -> str:
    if applied.long_context_undecided:
        return f"base band (a bucket of many requests: the {applied.threshold:,}-token long-context band cannot apply)"
    if applied.threshold is None:
        return "single band (no long-context price)"
    if applied.long_context:
        return f"long context (total input > {applied.threshold:,} tokens)"
    return f"base (total input ≤ {applied.threshold:,} tokens)"


def message_show(ctx: AppContext, req: ReportRequest, ident: str) -> Report:
    """One event (by event id, else message id): input breakdown (message, context, files and
    the billed buckets), output (response, tool outputs), processing time and the exact cost:
    each bucket × the rate of the price period, tier and band that applied = amount."""
    flt = all_time_filters(ctx, req)
    tz = flt.tz
    book = ctx.pricebook()
    with connect(ctx.db_path, read_only=True) as con:
        q.prepare_session(con, book, ctx.config.members, flt)
        found = cq.find_events(con, flt, ident)
        # the event id wins, but it may be other events' message id too: that is said, not hidden
        by_event_id = bool(found) and found[0]["event_id"] == ident
        also = cq.others_with_message_id(con, flt, ident, MAX_IDS) if by_event_id else ([], 0)
    if not found:
        raise UsageError(
            f"no event or message with id {ident!r}{_searched(req, flt)}",
            hint="`usagectl chat show SESSION_ID --json` lists each message's message_id and event_id",
        )
    if len(found) > 1:
        ids = ", ".join(e["event_id"] for e in found[:MAX_IDS]) + (" …" if len(found) > MAX_IDS else "")
        raise UsageError(
            f"{len(found)} events have message id {ident!r}: {ids}",
            hint="show one of them by its event id: `usagectl message show EVENT_ID`",
        )
    e = found[0]
    raw = e["model_raw"] or e["model"]
    name = raw if book.resolve(raw) is not None or not e["model"] else e["model"]  # as the SQL engine resolves
    bd = book.cost(
        model_raw=name, ts=e["ts"], service_tier=e["service_tier"], requests=e["requests"],
        input_tokens=e["input_tokens"], cache_read_tokens=e["cache_read_tokens"],
        cache_write_5m_tokens=e["cache_write_5m_tokens"], cache_write_1h_tokens=e["cache_write_1h_tokens"],
        output_tokens=e["output_tokens"], web_search_requests=e["web_search_requests"], band_input=e["band_input"],
    )  # fmt: skip
    notes: list[str] = [_also_message_note(ident, *also)] if also[1] else []
    rows: list[dict[str, Any]] = []
    if bd.applied is not None:
        for line in bd.lines:
            if not line.quantity and line.bucket not in ("input_tokens", "output_tokens"):
                continue
            web = line.rate_per_million is None
            rate = bd.applied.rates.web_search_per_call if web else line.rate_per_million
            assert rate is not None
            unit = "call" if web else "1M tokens"
            calc = f"{line.quantity:,} × ${_plain(rate, 2)}{'' if web else '/M'} = ${_plain(line.amount)}"
            rows.append({"bucket": line.bucket, "label": BUCKET_LABELS[line.bucket], "quantity": line.quantity,
                         "rate_usd": rate, "unit": unit, "amount_usd": line.amount, "calculation": calc})  # fmt: skip
        amounts = " + ".join(f"${_plain(r['amount_usd'])}" for r in rows)
        notes.append(f"Cost (exact): {amounts} = ${_plain(bd.total or ZERO)}.")
    else:
        notes.append(f"Unpriced: {bd.unpriced_reason}; this event is NOT in any cost. See `usagectl pricing check`.")
    if bd.total is not None and e["cost"] is not None and bd.total != e["cost"]:
        notes.append(
            f"The report engine priced this event at {e['cost']}, the price book at {bd.total}: please report it."
        )
    total_input = e["total_input"]
    parts = [("Your message", e["message_tokens"]), ("Context", e["context_tokens"]), ("Files", e["file_tokens"])]
    known = [p for p in parts if p[1] is not None]
    input_rows = [{"part": p, "tokens": t, "share_pct": _share(t, total_input)} for p, t in known]
    if known:
        said = sum(t for _, t in known)
        input_rows.append({"part": "Total", "tokens": said, "share_pct": _share(said, total_input)})
        rel = "=" if said == total_input else "≠"
        notes.append(
            f"Input: message + context + files = {said:,} {rel} billed input {total_input:,} = uncached "
            f"{e['input_tokens']:,} + cache read {e['cache_read_tokens']:,} + cache writes "
            f"{e['cache_write_5m_tokens'] + e['cache_write_1h_tokens']:,}."
        )
    else:
        notes.append("Input: the source did not report the message / context / files breakdown.")
    out = e["output_tokens"]
    tool_out = e["tool_output_tokens"]
    response = max(out - (tool_out or 0), 0)
    if tool_out is not None and tool_out > out:
        # imports reject such a record now; one stored before that has no response left to show
        notes.append(
            f"Output: tool outputs {tool_out:,} exceed the billed output {out:,} (tool output is part of "
            "output): the source's breakdown does not add up, so the response is shown as 0."
        )
    output_rows = [
        {"part": "Response", "tokens": response, "share_pct": _share(response, out)},
        {"part": "Tool outputs", "tokens": tool_out, "share_pct": _share(tool_out, out)},
        {"part": "Total output", "tokens": out, "share_pct": _share(out, out)},
    ]
    if e["reasoning_tokens"]:
        output_rows.append({"part": "of which reasoning", "tokens": e["reasoning_tokens"],
                            "share_pct": _share(e["reasoning_tokens"], out)})  # fmt: skip
    overview = _message_overview(e, tz, bd)
    totals: dict[str, Any] = {"amount_usd": bd.total}
    return Report(
        name="message",
        title=f"Message {printable(e['message_id'] or e['event_id'])} ({tz})",  # ids from the log: as the chat's
        filters=_lookup_filters(req, flt) | {"id": ident},
        columns=COST_COLUMNS,
        rows=tuple(rows),
        totals=totals,
        overview=overview,
        sections=(
            _section("input", "Input breakdown", input_rows),
            _section("output", "Output breakdown", output_rows),
        ),
        notes=tuple(notes),
    )


def _also_message_note(ident: str, ids: list[str], n: int) -> str:
    """``ident`` is the event shown and also the message id of ``n`` other events (``ids``: the
    first of them): the lookup order (event id, else message id) picked the event; this says
    how to show the others."""
    if n == 1:
        return (
            f"{ident!r} is also the message id of event {ids[0]}: shown here is event {ident}; "
            f"`usagectl message show {ids[0]}` shows that message."
        )
    listed = ", ".join(ids) + (" …" if n > len(ids) else "")
    return (
        f"{ident!r} is also the message id of {n} other events ({listed}): shown here is event {ident}; "
        "`usagectl message show EVENT_ID` shows one of them."
    )


def _section(key: str, title: str, rows: list[dict[str, Any]]) -> Section:
    return Section(key=key, title=title, columns=PART_COLUMNS, rows=tuple(rows))


def _message_overview(e: dict[str, Any], tz: str, bd: CostBreakdown) -> tuple[tuple[str, str, Any], ...]:
    model = e["cmodel"] or "(none)"
    if e["model_raw"] and e["model_raw"] != model:
        model += f" (logged as {e['model_raw']})"
    ov: list[tuple[str, str, Any]] = [
        ("event_id", "Event", e["event_id"]),
        ("message_id", "Message", e["message_id"] or ""),
        ("chat", "Chat", e["chat_title"] or ""),
        ("session_id", "Session", e["session_id"] or ""),
        ("time", "Time", clock(e["ts"], tz)),
        ("model", "Model", model),
        ("provider", "Provider", e["cprovider"] or ""),
        ("member", "Member", e["member"] or ""),
        ("status", "Status", (e["status"] or "") + (f" ({e['error_type']})" if e["error_type"] else "")),
        ("latency_ms", "Processing ms", e["latency_ms"]),
        ("total_input_tokens", "Input tokens", e["total_input"]),
        ("output_tokens", "Output tokens", e["output_tokens"]),
        ("cost_usd", "Cost", bd.total),
    ]
    if e["file_name"] or e["file_id"]:
        ov.append(("file", "File", e["file_name"] or e["file_id"]))
        ov.append(("file_bytes", "File bytes", e["file_bytes"]))
    a = bd.applied
    if a is not None:
        ov += [
            ("price_period", "Price period", _period_text(a.valid_from, a.valid_to)),
            ("service_tier", "Service tier", a.service_tier),
            ("band", "Context band", _band_text(a)),
            ("price_source", "Price source", a.source),
            ("price_checked", "Price checked", a.checked.isoformat()),
        ]
    else:
        ov.append(("unpriced_reason", "Unpriced because", bd.unpriced_reason))
    if e["reported_cost_usd"] is not None:
        ov.append(("reported_cost_usd", "Cost reported by the source", e["reported_cost_usd"]))
    return tuple(ov)
