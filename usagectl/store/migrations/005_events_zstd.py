"""005: ``events`` keeps its unique-per-row text (``event_id``, ``message_id``, ``extra``) with
zstd instead of DuckDB's default dictionary + FSST.

Those three columns hold a different value on nearly every row (message and request ids,
line uuids), where a dictionary cannot help and FSST's symbol tables cost more than they
save. Measured on the 1M-record Claude Code tree (benchmarks/RESULTS-claude-code.md, round
6): writing the events took 3.5 instead of 4.3 s of CPU, and the file is 130 instead of
167 MB; reading those columns back (dedup against stored ids, ``extra`` lookups) costs the
same. The other columns keep DuckDB's own choice (dictionaries suit model, project, ...).

DuckDB cannot change a column's compression in place, so the table is recreated, in the
migration's transaction, from its own catalog (same columns, types, defaults and NOT NULLs),
but only while it is EMPTY (a new database, or one nothing was imported into yet). A table
that holds events keeps its storage: rebuilding it would leave the old table's blocks free
inside the file, which DuckDB does not give back (1M events: 171 MB grew to 302 MB), and
would cost seconds at the first command after an upgrade. A database file whose storage
format predates zstd for text (written by DuckDB before 1.2) keeps its table too: there the
clause is refused.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

ZSTD_COLUMNS = ("event_id", "message_id", "extra")
_STORAGE = re.compile(r"^v(\d+)\.(\d+)\.(\d+)")


def zstd_available(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether this database file's storage format can hold zstd-compressed text (v1.2.0+)."""
    row = con.execute("SELECT tags FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
    tags = row[0] if row else None
    m = _STORAGE.match(str((tags or {}).get("storage_version", "")))
    return m is not None and tuple(int(x) for x in m.groups()) >= (1, 2, 0)


def apply(con: duckdb.DuckDBPyConnection) -> None:
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
        if name in ZSTD_COLUMNS:
            part += " USING COMPRESSION zstd"
        if default is not None:
            part += f" DEFAULT {default}"
        if not nullable:
            part += " NOT NULL"
        parts.append(part)
    con.execute(f"CREATE TABLE _events_zstd ({', '.join(parts)})")
    con.execute("DROP TABLE events")
    con.execute("ALTER TABLE _events_zstd RENAME TO events")
