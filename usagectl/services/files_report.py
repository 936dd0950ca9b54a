"""`report files`: what uploaded files cost.

A file is its ``file_id``, or its ``file_name`` on events that carry a name and no id; its
events are the events of the range that carry it.

* **Extracted tokens**: ``file_tokens`` of the file's first event in the range (the first
  read; ties by event id) and, separately, summed over its later events (re-reads).
* **Processing cost**: for each priced event of the file, ``event cost × f / total input``
  where ``f`` is the event's ``file_tokens`` (capped at its total input) and total input is
  input + cache read + cache writes: the file's share of what the request cost, output
  included. Exact to $1e-12 per event (rounded half up there). Unpriced events add nothing
  and are counted and named in the notes; a file whose events are all unpriced shows
  ``unpriced``, never $0.
* **Reuse count**: the distinct chats (``session_id``) among its events.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from usagectl.errors import UsageError
from usagectl.models import Column, Report, counted
from usagectl.services.chats import DEFAULT_TOP, local_time, month_filters
from usagectl.services.context import AppContext
from usagectl.services.reports import ReportRequest, _share, _unpriced_notes, with_empty_notes
from usagectl.store import chats as cq
from usagectl.store import reports as q
from usagectl.store.connection import connect

RULE = (
    "Processing cost = each event's cost × its file tokens ÷ its total input tokens (input + cache read + "
    "cache writes), file tokens capped at the total input; first read = the file's first event in the range."
)
_UNITS = ("bytes", "KiB", "MiB", "GiB", "TiB")

FILE_COLUMNS: tuple[Column, ...] = (
    Column("file", "File"),
    Column("file_id", "File id", in_table=False),
    Column("file_name", "Name", in_table=False),
    Column("size", "Size"),
    Column("file_bytes", "Bytes", "int", in_table=False),
    Column("first_read_tokens", "Extracted tokens", "int"),
    Column("reread_tokens", "Re-read tokens", "int", narrow_drop=3),
    Column("file_tokens", "File tokens", "int", in_table=False),
    Column("requests", "Requests", "int", narrow_drop=2),
    Column("chats", "Reuse (chats)", "int"),
    Column("processing_cost_usd", "Processing cost", "money"),
    Column("cost_share_pct", "Cost share", "pct", in_table=False),
    Column("first_ts", "First", "date", in_table=False),
    Column("last_ts", "Last", "date", in_table=False),
)


def size_text(n: int | None) -> str:
    """``2.0 MiB``, ``48213 bytes``… (binary units, one decimal); empty when unknown."""
    if n is None:
        return ""
    value = Decimal(n)
    idx = 0
    while value >= 1024 and idx < len(_UNITS) - 1:
        value /= 1024
        idx += 1
    return f"{n:,} bytes" if idx == 0 else f"{value.quantize(Decimal('0.1'))} {_UNITS[idx]}"


def report_files(ctx: AppContext, req: ReportRequest, *, top: int | None = DEFAULT_TOP) -> Report:
    """Per file: size, extracted tokens (first read, re-reads), processing cost, reuse count;
    by processing cost (unpriced last). ``top`` None or 0 lists every file."""
    if top is not None and top < 0:
        raise UsageError(f"--top {top}: must be 0 (all) or more")
    flt = month_filters(ctx, req)
    tz = flt.tz
    with connect(ctx.db_path, read_only=True) as con:
        q.prepare_session(con, ctx.pricebook(), ctx.config.members, flt)
        files, unpriced = cq.file_summary(con, flt)
    priced = [f["processing_cost_usd"] for f in files if f["processing_cost_usd"] is not None]
    total_cost = sum(priced, Decimal(0)) if priced else None
    files.sort(
        key=lambda f: (
            f["processing_cost_usd"] is None,
            -(f["processing_cost_usd"] or 0),
            -f["file_tokens"],
            f["file_name"] or f["file_id"] or "",
            f["file_id"] or "",
        )
    )
    shown = files[:top] if top else files
    rows = []
    for f in shown:
        rows.append(
            {
                "file": f["file_name"] or f["file_id"],
                "file_id": f["file_id"],
                "file_name": f["file_name"],
                "size": size_text(f["file_bytes"]),
                "file_bytes": f["file_bytes"],
                "first_read_tokens": f["first_read_tokens"],
                "reread_tokens": f["reread_tokens"],
                "file_tokens": f["file_tokens"],
                "requests": f["requests"],
                "chats": f["chats"],
                "processing_cost_usd": f["processing_cost_usd"],
                "cost_share_pct": _share(f["processing_cost_usd"], total_cost),
                "first_ts": local_time(f["first_ts"], tz),
                "last_ts": local_time(f["last_ts"], tz),
                "unpriced_requests": f["unpriced_requests"],
            }
        )
    totals: dict[str, Any] = {
        "files": len(files),
        "first_read_tokens": sum(f["first_read_tokens"] for f in files),
        "reread_tokens": sum(f["reread_tokens"] for f in files),
        "file_tokens": sum(f["file_tokens"] for f in files),
        "requests": sum(f["requests"] for f in files),
        "processing_cost_usd": total_cost,
        "unpriced_requests": sum(f["unpriced_requests"] for f in files),
        "unpriced_models": [
            # counted as totals.unpriced_requests counts them (a bucket without a request count is one)
            {"model": u["model_raw"], "requests": u["unpriced_requests"], "total_tokens": u["total_tokens"]}
            for u in unpriced
        ],
    }
    notes = [RULE]
    if len(shown) < len(files):
        rows.append(_other_row(files[len(shown) :], total_cost))
        notes.append(
            f"Showing the top {len(shown):,} of {len(files):,} files by cost (`--top 0` lists all); "
            "the others are summed in the last row."
        )
    notes.extend(_unpriced_notes(unpriced))
    overview: tuple[tuple[str, str, Any], ...] = (
        ("period", "Period", f"{flt.since} – {flt.until} ({tz})"),
        ("files", "Files", len(files)),
        ("file_tokens", "File tokens (all reads)", totals["file_tokens"]),
        ("processing_cost_usd", "Processing cost", total_cost),
    )
    # an 80-column terminal leaves out the unpriced count, the requests, then the re-read
    # tokens (all reads minus the first, in the overview), rather than fold file names
    # (``Column.narrow_drop``)
    unpriced_col = (
        Column("unpriced_requests", "Unpriced", "int", in_table=bool(totals["unpriced_requests"]), narrow_drop=1),
    )
    report = Report(
        name="files",
        title=f"Files {flt.since} – {flt.until} ({tz})",
        filters=flt.as_dict() | {"top": top or None},
        columns=FILE_COLUMNS + unpriced_col,
        rows=tuple(rows),
        totals=totals,
        overview=overview,
        notes=tuple(notes),
    )
    return with_empty_notes(ctx, report)


def _other_row(rest: list[dict[str, Any]], total_cost: Decimal | None) -> dict[str, Any]:
    """The files beyond ``--top`` in one row, as `report chats` and `report by --top` fold theirs,
    so the rows add up to the Total. Its cost is the priced part, None (unpriced) when every one
    of its files is unpriced. Its reuse count is left empty: two files may share a chat, so
    distinct chats do not add up."""
    sums = {k: sum(f[k] for f in rest) for k in ("first_read_tokens", "reread_tokens", "file_tokens", "requests",
                                                   "unpriced_requests")}  # fmt: skip
    priced = [f["processing_cost_usd"] for f in rest if f["processing_cost_usd"] is not None]
    cost = sum(priced, Decimal(0)) if priced else None
    return sums | {
        "file": f"(other {counted(len(rest), 'file')})", "file_id": None, "file_name": None, "size": "",
        "file_bytes": None, "chats": None, "processing_cost_usd": cost, "cost_share_pct": _share(cost, total_cost),
        "first_ts": None, "last_ts": None, "other_files": len(rest),
    }  # fmt: skip
