"""010: ids of stored events hashed over ``extra`` as written are recomputed over it in key order.

An event without an ``event_id`` is identified by a hash of its content
(``validation._event_id_sql``). Its ``extra`` was hashed as written, so the same event read
from a CSV (unknown columns in header order) and from JSONL (sorted), or with an ``extra``
object whose keys came in another order, or with ``"extra": {}`` against no extra, got two ids
and was stored, and counted, twice (QA). The hash now reads ``extra`` with its top-level keys
sorted (the stagers and validation now store it so: ``validation.sorted_json_sql``) and an empty
object as none (``validation.EXTRA_ID_SQL``).

As in migration 7, a stored id is recomputed only when an import computed it (it is the old
hash of the row, with ``model`` and ``provider`` as stored or as the file gave them, empty);
an id that no variant reproduces is the file's own and is left alone. Only rows whose
``extra`` the new hash reads differently are touched (an object with keys out of order, or
an empty one). Rows that now share an id are copies that were counted twice: the first stored
(lowest batch, then row) stays, the others are removed and their batches count them as
duplicates of a stored event, as an import would have.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

_OLD_EXTRA = "coalesce(json(extra)::VARCHAR, '')"  # the hash's extra part before this migration
_CHANGED = (  # rows whose extra the new hash reads differently
    "extra IS NOT NULL AND json_type(extra) = 'OBJECT' "
    "AND (len(json_keys(extra)) = 0 OR json_keys(extra) <> list_sort(json_keys(extra)))"
)


def apply(con: duckdb.DuckDBPyConnection) -> None:
    from usagectl.store.validation import _event_id_sql, extra_id_sql, sorted_json_sql

    if con.execute(f"SELECT 1 FROM events WHERE starts_with(event_id, 'h:') AND {_CHANGED} LIMIT 1").fetchone() is None:
        return  # nothing to re-key (every new database): the statements below cost ~60 ms even so
    con.execute("SET TimeZone = 'UTC'")  # the hash spells ts in UTC (every connection is opened so)
    variants = [{}, {"model": "NULL"}, {"provider": "NULL"}, {"model": "NULL", "provider": "NULL"}]
    # the hash of the row as an import computes it now: its extra in key order
    now = extra_id_sql(sorted_json_sql("extra::VARCHAR"))
    whens = " ".join(f"WHEN {_event_id_sql(v, _OLD_EXTRA)} = event_id THEN {_event_id_sql(v, now)}" for v in variants)
    con.execute(
        "CREATE TEMP TABLE _m10 AS SELECT rowid AS rid, batch_id, event_id AS old_id, "
        f"CASE {whens} ELSE event_id END AS new_id FROM events WHERE starts_with(event_id, 'h:') AND {_CHANGED}"
    )
    con.execute("DELETE FROM _m10 WHERE new_id = old_id")
    con.execute("UPDATE events SET event_id = m.new_id FROM _m10 m WHERE events.rowid = m.rid")
    # copies now sharing an id: the first stored stays
    con.execute(
        "CREATE TEMP TABLE _m10_drop AS SELECT rid, batch_id FROM ("
        "SELECT e.rowid AS rid, e.batch_id, row_number() OVER (PARTITION BY e.event_id ORDER BY e.batch_id, e.rowid) AS n "
        "FROM events e SEMI JOIN (SELECT DISTINCT new_id FROM _m10) m ON e.event_id = m.new_id) WHERE n > 1"
    )
    con.execute("DELETE FROM events WHERE rowid IN (SELECT rid FROM _m10_drop)")
    con.execute(
        "UPDATE import_batches SET imported = imported - d.n, duplicates = duplicates + d.n, "
        "dup_stored = coalesce(dup_stored, 0) + d.n "
        "FROM (SELECT batch_id, count(*) AS n FROM _m10_drop GROUP BY batch_id) d "
        "WHERE import_batches.batch_id = d.batch_id"
    )
    con.execute("DROP TABLE _m10_drop")
    con.execute("DROP TABLE _m10")
