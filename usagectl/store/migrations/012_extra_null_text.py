"""012: an ``extra`` stored as the JSON null is none, and the ids hashed over it are recomputed.

``extra`` given as the text ``null`` (a CSV cell, a Parquet or JSON string) was stored as the JSON
value null, where ``"extra": null`` in JSONL is no extra: an event without an ``event_id`` got two
ids by the way it was written, and the same event was stored, and counted, twice (QA). Imports
now read that text as none. This migration makes the stored rows agree: their ``extra`` becomes
NULL, and an id the import computed over ``null`` (the old hash, with ``model`` and ``provider``
as stored or as the file gave them, as in migrations 7 and 10) is recomputed over none. Rows
that now share an id are copies that were counted twice: the first stored stays, the others
are removed and their batches count them as duplicates of a stored event.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

_NULL = "extra IS NOT NULL AND json_type(extra) = 'NULL'"


def apply(con: duckdb.DuckDBPyConnection) -> None:
    from usagectl.store.validation import _event_id_sql, extra_id_sql

    if con.execute(f"SELECT 1 FROM events WHERE {_NULL} LIMIT 1").fetchone() is None:
        return  # nothing stored so (every new database)
    con.execute("SET TimeZone = 'UTC'")  # the hash spells ts in UTC (every connection is opened so)
    variants = [{}, {"model": "NULL"}, {"provider": "NULL"}, {"model": "NULL", "provider": "NULL"}]
    old, new = extra_id_sql(), extra_id_sql("NULL")
    whens = " ".join(f"WHEN {_event_id_sql(v, old)} = event_id THEN {_event_id_sql(v, new)}" for v in variants)
    con.execute(
        "CREATE TEMP TABLE _m12 AS SELECT rowid AS rid, batch_id, event_id AS old_id, "
        f"CASE WHEN starts_with(event_id, 'h:') THEN CASE {whens} ELSE event_id END ELSE event_id END AS new_id "
        f"FROM events WHERE {_NULL}"
    )
    con.execute("UPDATE events SET extra = NULL, event_id = m.new_id FROM _m12 m WHERE events.rowid = m.rid")
    # copies now sharing an id: the first stored stays
    con.execute(
        "CREATE TEMP TABLE _m12_drop AS SELECT rid, batch_id FROM ("
        "SELECT e.rowid AS rid, e.batch_id, row_number() OVER (PARTITION BY e.event_id ORDER BY e.batch_id, e.rowid) AS n "
        "FROM events e SEMI JOIN (SELECT DISTINCT new_id FROM _m12 WHERE new_id <> old_id) m ON e.event_id = m.new_id"
        ") WHERE n > 1"
    )
    con.execute("DELETE FROM events WHERE rowid IN (SELECT rid FROM _m12_drop)")
    con.execute(
        "UPDATE import_batches SET imported = imported - d.n, duplicates = duplicates + d.n, "
        "dup_stored = coalesce(dup_stored, 0) + d.n "
        "FROM (SELECT batch_id, count(*) AS n FROM _m12_drop GROUP BY batch_id) d "
        "WHERE import_batches.batch_id = d.batch_id"
    )
    con.execute("DROP TABLE _m12_drop")
    con.execute("DROP TABLE _m12")
