"""Facts about the database itself."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from usagectl.store import schema
from usagectl.store.tables import rows_as_dicts

if TYPE_CHECKING:
    import duckdb


def status(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    ev = con.execute("SELECT count(*), min(ts), max(ts), count(DISTINCT source) FROM events").fetchone()
    assert ev is not None
    batches = con.execute(
        "SELECT count(*), max(finished_at) FROM import_batches WHERE finished_at IS NOT NULL"
    ).fetchone()
    assert batches is not None
    from usagectl.store.billing import NOT_IMPORTED_SQL

    # records that could not be imported; and provider rows that gave way to another fetch of
    # their usage (moved out of the stored rows, or set aside on arrival), kept for reference
    rejects = con.execute(
        f"SELECT count(*) FILTER (WHERE {NOT_IMPORTED_SQL}), count(*) FILTER (WHERE NOT ({NOT_IMPORTED_SQL})) "
        "FROM rejects"
    ).fetchone()
    sources = con.execute("SELECT source, count(*) FROM events GROUP BY source ORDER BY 2 DESC").fetchall()
    billed = con.execute("SELECT count(*), min(start_ts), max(start_ts) FROM billed_costs").fetchone()
    assert billed is not None
    return {
        "cost_lines": int(billed[0]),
        "first_cost_line": billed[1],
        "last_cost_line": billed[2],
        "schema_version": schema.current_version(con),
        "events": int(ev[0]),
        "first_event": ev[1],
        "last_event": ev[2],
        "sources": {s: int(n) for s, n in sources},
        "import_batches": int(batches[0]),
        "last_import": batches[1],
        "rejects": int(rejects[0]) if rejects else 0,
        "gave_way": int(rejects[1]) if rejects else 0,
    }


def rejects(con: duckdb.DuckDBPyConnection, limit: int | None, batch_id: int | None = None) -> list[dict[str, Any]]:
    """The newest batches' rejects first; ``limit`` None: all of them."""
    sql = "SELECT batch_id, file, line, record, reason, raw FROM rejects"
    params: list[Any] = []
    if batch_id is not None:
        sql += " WHERE batch_id = ?"
        params.append(batch_id)
    sql += " ORDER BY batch_id DESC, record"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    cur = con.execute(sql, params)
    return rows_as_dicts(cur)


def reject_count(con: duckdb.DuckDBPyConnection, batch_id: int | None = None) -> int:
    """How many rejects there are (of ``batch_id``, or of every batch)."""
    where, params = (" WHERE batch_id = ?", [batch_id]) if batch_id is not None else ("", [])
    row = con.execute(f"SELECT count(*) FROM rejects{where}", params).fetchone()
    return int(row[0]) if row else 0


def foreign_content(con: duckdb.DuckDBPyConnection, own_file_regex: str) -> dict[str, int]:
    """What the database holds that did not come from files whose path matches
    ``own_file_regex``: events of other import batches, other files' batches without events
    (their rejects or billed cost lines are data too), registered sources and
    payments (by singular name, those with a count above 0). ``usagectl demo`` asks before it
    replaces the database with its synthetic events."""
    # a database at an older schema may lack the later tables (sources: 2, payments: 4)
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()}

    def rows_of(table: str) -> str:
        return f"(SELECT count(*) FROM {table})" if table in tables else "0"

    row = con.execute(
        "SELECT (SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM import_batches b "
        "WHERE b.batch_id = e.batch_id AND regexp_matches(b.path, ?))), "
        "(SELECT count(*) FROM import_batches b WHERE NOT regexp_matches(b.path, ?) "
        f"AND NOT EXISTS (SELECT 1 FROM events e WHERE e.batch_id = b.batch_id)), {rows_of('sources')}, "
        f"{rows_of('payments')}",
        [own_file_regex, own_file_regex],
    ).fetchone()
    assert row is not None
    kinds = ("event", "other imported file", "source", "payment")
    return {k: int(n) for k, n in zip(kinds, row, strict=True) if n}
