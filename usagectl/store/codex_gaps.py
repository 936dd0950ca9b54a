"""Codex deltas that span a damaged line, against the calls a copy without the damage counts.

A Codex rollout counts a call as the move of its cumulative counter since the previous count
(``importers.codex``). When a token_count line between two others is rejected (it does not
parse), the next good count's delta spans the lost one: one event of the usage of two calls.
An undamaged copy of the same session (a backup beside ``sessions/``, or the same file repaired
and read again) counts those calls one by one, with other edges, so no event id matches, and the
calls would count twice. The reader marks such a delta (``extra.after_reject``: the time of the
count before it, or ``start``); here, over the stored events and the rows about to be inserted
of the same session, the events after that time up to the marked one's are its *parts*:

* parts that add up to the marked event's usage, bucket by bucket: the marked event is the
  coarse copy, and goes (a new one is skipped, a stored one deleted);
* parts that add up to less in every bucket (a copy that holds only some of the calls): the
  parts go, and the marked event, which holds them all, stays;
* anything else (the parts are not its calls): nothing changes.

ingest's ``before_insert`` hook (``BeforeInsert``): creates ``_skip(_rid)`` and
``_drop_stored(event_id)``; returns {batch: stored rows removed because of it}.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

SOURCE = "codex"
BUCKETS = ("input_tokens", "cache_read_tokens", "cache_write_5m_tokens", "output_tokens", "reasoning_tokens")


def spanning_deltas(con: duckdb.DuckDBPyConnection, batch_ids: list[int]) -> dict[int, int]:
    cols = ", ".join(f"coalesce({b}, 0) AS {b}" for b in BUCKETS)
    mark = "json_extract_string(extra, '$.after_reject')"
    # the sessions with a marked event, new or stored, among the sessions of this import
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _cg_sessions AS SELECT DISTINCT session_id FROM ("
        f"SELECT session_id FROM _new WHERE source = $s AND session_id IS NOT NULL AND {mark} IS NOT NULL "
        f"UNION ALL SELECT session_id FROM events WHERE source = $s AND {mark} IS NOT NULL "
        "AND session_id IN (SELECT session_id FROM _new WHERE source = $s))",
        {"s": SOURCE},
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _cg AS SELECT _rid, event_id, session_id, ts, {mark} AS since, {cols} "
        "FROM _new SEMI JOIN _cg_sessions USING (session_id) WHERE source = $s "
        f"UNION ALL SELECT NULL::BIGINT, event_id, session_id, ts, {mark}, {cols} "
        "FROM events SEMI JOIN _cg_sessions USING (session_id) WHERE source = $s",
        {"s": SOURCE},
    )
    same = " AND ".join(f"p.{b} = m.{b}" for b in BUCKETS)
    less = " AND ".join(f"p.{b} <= m.{b}" for b in BUCKETS)
    sums = ", ".join(f"sum(x.{b}) AS {b}" for b in BUCKETS)
    con.execute(
        # each marked event with the sums of its parts (unmarked events of its session after
        # ``since``, up to its own time)
        "CREATE OR REPLACE TEMP TABLE _cg_marked AS SELECT m.*, p.n, "
        + ", ".join(f"p.{b} AS part_{b}" for b in BUCKETS)
        + f" FROM _cg m JOIN (SELECT m.event_id, count(*) AS n, {sums} FROM _cg m JOIN _cg x "
        "ON x.session_id = m.session_id AND x.since IS NULL AND x.event_id <> m.event_id AND x.ts <= m.ts "
        "AND (m.since = 'start' OR x.ts > TRY_CAST(m.since AS TIMESTAMPTZ)) "
        "WHERE m.since IS NOT NULL GROUP BY m.event_id) p ON p.event_id = m.event_id"
    )
    part = ", ".join(f"part_{b} AS {b}" for b in BUCKETS)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _cg_drop AS "
        # the marked event is the coarse copy of its parts
        f"SELECT m._rid, m.event_id FROM _cg_marked m, (SELECT event_id, {part} FROM _cg_marked) p "
        f"WHERE p.event_id = m.event_id AND {same} "
        # or its parts are some of its calls: they go
        "UNION ALL SELECT x._rid, x.event_id FROM _cg_marked m JOIN _cg x "
        "ON x.session_id = m.session_id AND x.since IS NULL AND x.event_id <> m.event_id AND x.ts <= m.ts "
        "AND (m.since = 'start' OR x.ts > TRY_CAST(m.since AS TIMESTAMPTZ)) "
        f"JOIN (SELECT event_id, {part} FROM _cg_marked) p ON p.event_id = m.event_id "
        f"WHERE {less} AND NOT ({same})"
    )
    con.execute("CREATE OR REPLACE TEMP TABLE _skip AS SELECT DISTINCT _rid FROM _cg_drop WHERE _rid IS NOT NULL")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _drop_stored AS SELECT DISTINCT event_id FROM _cg_drop WHERE _rid IS NULL"
    )
    (dropped,) = con.execute("SELECT count(*) FROM _drop_stored").fetchone() or (0,)
    for t in ("_cg_sessions", "_cg", "_cg_marked", "_cg_drop"):
        con.execute(f"DROP TABLE {t}")
    return {min(batch_ids): int(dropped)} if dropped else {}
