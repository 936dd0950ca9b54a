"""Queries of the live dashboard and the status line: a cheap "has the data changed" token,
the latest events with their cost, and the today / month sums of the status line.

Every value is bound; the priced relation is the shared cost engine (``priced_events.sql``
through :func:`usagectl.store.reports._filtered`), so a cost here is the cost of every report.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from usagectl.store.reports import _filtered

if TYPE_CHECKING:
    import duckdb

    from usagectl.models import Filters

# the columns of one feed line (all from the priced relation; allow-listed here, never from input)
FEED_COLUMNS: tuple[str, ...] = (
    "ts",
    "event_id",
    "cmodel",
    "member",
    "feature",
    "source",
    "requests",
    "total_tokens",
    "cost",
)


def change_token(con: duckdb.DuckDBPyConnection) -> tuple[Any, ...]:
    """What changes whenever events are added, replaced or removed: the last import batch and
    the number of batches (every import, replacing ones included, adds a batch) and of events
    (a delete). All three are answered from table statistics or the small batch table: under
    a millisecond on 10M events. Equal tokens mean the reports would not change (same clock)."""
    row = con.execute(
        "SELECT (SELECT max(batch_id) FROM import_batches), (SELECT count(*) FROM import_batches), "
        "(SELECT count(*) FROM events)"
    ).fetchone()
    assert row is not None
    return tuple(row)


def latest_events(con: duckdb.DuckDBPyConnection, flt: Filters, limit: int) -> list[dict[str, Any]]:
    """The ``limit`` newest events of ``flt`` (newest first; at the same instant, the last
    imported first) with their computed cost (None = unpriced). Only the tail is priced: the
    instant of the ``limit``-th newest raw event narrows the range before the cost engine
    runs (without filters), so the work does not grow with history."""
    if limit <= 0:
        return []
    narrowed = flt
    if not flt.where:  # filters apply to derived columns (team, canonical model): no narrowing then
        row = con.execute(
            "SELECT min(ts) FROM (SELECT ts FROM events WHERE ts >= $start AND ts < $end ORDER BY ts DESC LIMIT $n)",
            {"start": flt.start, "end": flt.end, "n": limit},
        ).fetchone()
        if row is None or row[0] is None:
            return []
        narrowed = replace(flt, start=max(row[0], flt.start))
    base = _filtered(narrowed)
    cols = ", ".join(FEED_COLUMNS)
    sql = f"SELECT {cols} FROM ({base.sql}) f ORDER BY ts DESC, batch_id DESC, event_id DESC LIMIT $n"
    cur = con.execute(sql, base.params | {"n": limit})
    out = []
    for r in cur.fetchall():
        rec = dict(zip(FEED_COLUMNS, r, strict=True))
        rec["model"] = rec.pop("cmodel")
        rec["cost_usd"] = rec.pop("cost")
        out.append(rec)
    return out
