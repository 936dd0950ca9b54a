"""Recreating the (empty) ``events`` table with chosen compressions: shared by migrations
5 and 6 (not a migration itself: its name has no number)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

_STORAGE = re.compile(r"^v(\d+)\.(\d+)\.(\d+)")


def zstd_available(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether this database file's storage format can hold zstd-compressed text (v1.2.0+)."""
    row = con.execute("SELECT tags FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
    tags = row[0] if row else None
    m = _STORAGE.match(str((tags or {}).get("storage_version", "")))
    return m is not None and tuple(int(x) for x in m.groups()) >= (1, 2, 0)


def recreate_empty_events(con: duckdb.DuckDBPyConnection, compression: Mapping[str, str]) -> None:
    """Recreate ``events`` from its own catalog (same columns, types, defaults, NOT NULLs) with
    ``compression`` (column -> DuckDB method) for the named columns, only while it is EMPTY and
    the file's storage format can hold zstd text; otherwise leave it as it is. DuckDB cannot
    change a column's compression in place, and rebuilding a table that holds rows would leave
    the old blocks free inside the file (1M events: 171 MB grew to 302 MB)."""
    if not zstd_available(con) or con.execute("SELECT EXISTS (SELECT 1 FROM events)").fetchone() != (False,):
        return
    where = "database_name = current_database() AND schema_name = 'main' AND table_name = 'events'"
    kinds = {r[0] for r in con.execute(f"SELECT constraint_type FROM duckdb_constraints() WHERE {where}").fetchall()}
    if kinds - {"NOT NULL"}:  # a key or check would need recreating too: keep the table as it is
        return
    columns = con.execute(
        f"SELECT column_name, data_type, is_nullable, column_default FROM duckdb_columns() WHERE {where} "
        "ORDER BY column_index"
    ).fetchall()
    parts = []
    for name, data_type, nullable, default in columns:
        part = f'"{name}" {data_type}'
        if name in compression:
            part += f" USING COMPRESSION {compression[name]}"
        if default is not None:
            part += f" DEFAULT {default}"
        if not nullable:
            part += " NOT NULL"
        parts.append(part)
    con.execute(f"CREATE TABLE _events_rebuilt ({', '.join(parts)})")
    con.execute("DROP TABLE events")
    con.execute("ALTER TABLE _events_rebuilt RENAME TO events")
