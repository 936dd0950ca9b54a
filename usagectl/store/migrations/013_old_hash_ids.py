"""013: ids stored by older versions that no migration re-keyed take the ids an import computes now.

Without this step an export or a transcript read again brings such events back under their new
ids, and they are counted twice (QA: 9 requests where 6 were stored). Two kinds were left:

* Content ids (``h:…``) of canonical events whose file gave ``model`` and no ``model_raw``. The id
  is hashed over the row as the file gave it, before the import fills in ``model_raw`` (from
  ``model``) and ``provider``: ``model_raw`` empty, ``model`` as given (the stored ``model_raw``),
  ``provider`` as given (as stored) or empty. Migrations 7, 10 and 12 tried ``model`` and
  ``provider`` as stored or empty, never ``model_raw`` empty, so these rows kept the hash of their
  time: up to schema 6 the hash of 14 text columns (``_V6_PARTS``, migration 7's old hash); at
  schema 7-9 the hash over ``extra`` as written (keys out of order, ``{}``, a CSV's unknown
  columns in header order: migration 10's old hash); and before schema 12 a row whose ``extra``
  was the JSON null (a CSV cell ``null``) was hashed over ``null``, which migration 12 made none
  without re-keying these rows (their ``extra`` is NULL now: an empty ``extra`` tries both).
* Claude Code keys of messages without an id (``claude-code:h:…``). Up to schema 6 the hash took
  the line's timestamp and output too (``timestamp, sessionId, model, input, output, cache read,
  cache creation, 5m, 1h``), and a message with a ``requestId`` was keyed so too (now
  ``r:<requestId>``); until schema 11 a line without some of the counts (a gateway's) was hashed
  without the marker of which parts are there (``stagers.claude_code``). The parts are stored:
  the timestamp (Claude Code writes milliseconds and ``Z``), the session, the raw model and the
  counts; a count the line did not have is stored as 0, and whether the cache creation was split
  into 5m and 1h is not stored, so each way the stored counts can have been written is tried
  (``_cc_variants``).

As in migrations 7-12, a stored id is recomputed only when an old hash of the stored row gives
it (an import made it); an id that no variant reproduces is left alone. Rows that then share an
id are copies that were counted twice: of content ids the first stored (lowest batch, then row)
stays; of Claude Code keys the copy an import keeps (``ingest``'s max-usage rule: the larger
usage, then the tier that says more, then the main chain's; at equal rank the first stored). The
others are removed and their batches count them as duplicates of a stored event (migration 10).
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

# the content hash's text columns up to schema 6 (migration 7's ``_OLD_PARTS``) and the ones
# schema 7 added (``validation._ID_PARTS``), written out: the hashes they made do not change
_V6_PARTS = (
    "provider", "model_raw", "model", "service_tier", "member", "project", "workspace", "api_key",
    "feature", "tool", "integration", "platform", "session_id", "message_id",
)  # fmt: skip
_V7_ADDED = ("team", "department", "cost_center", "chat_title", "status", "error_type", "file_id", "file_name")
_REORDERED = (  # an extra the hash of schema 7-9 read otherwise than the one now (migration 10's test)
    "extra IS NOT NULL AND json_type(extra) = 'OBJECT' "
    "AND (len(json_keys(extra)) = 0 OR json_keys(extra) <> list_sort(json_keys(extra)))"
)
_CONTENT = "starts_with(event_id, 'h:') AND model_raw IS NOT NULL"
_CC = "starts_with(event_id, 'claude-code:h:')"


def _joined(parts: list[str]) -> str:
    return "concat_ws(chr(31), " + ", ".join(parts) + ")"


def _content_select() -> str:
    """The stored content ids a row given ``model`` and no ``model_raw`` got, and the id now.

    Every hash joins the same pieces, computed once per row by an inner select (a hash written
    out in full costs ~3.5 s per 1M rows here; the pieces ~1.5 s once, then each hash ~1.5 s):
    the ts, ``provider`` as stored or empty, ``model_raw`` empty, ``model`` as given (the stored
    ``model_raw``), the other text columns of schema 6, those schema 7 added, the counts, and from
    schema 7 the reported cost and ``extra``. The id now is ``validation._event_id_sql`` of schema
    13 over these pieces, ``extra`` in key order as an import hashes it."""
    from usagectl.models import EVENT_COLUMNS
    from usagectl.store.validation import _q, extra_id_sql, sorted_json_sql

    assert _V6_PARTS[:3] == ("provider", "model_raw", "model")
    ints = [c for c, k in EVENT_COLUMNS if k == "int"]
    pieces = {
        "_ts": "strftime(ts, '%Y-%m-%dT%H:%M:%S.%fZ')",
        "_v6": _joined([f"coalesce({_q(c)}, '')" for c in _V6_PARTS[3:]]),
        "_v7": _joined([f"coalesce({_q(c)}, '')" for c in _V7_ADDED]),
        "_ints": _joined([f"coalesce({_q(c)}::VARCHAR, '')" for c in ints]),
        "_cost": "coalesce(reported_cost_usd::VARCHAR, '')",
    }
    as_written = "coalesce(json(extra)::VARCHAR, '')"  # the extra part of schema 7-9 (migration 10's old one)
    now_extra = extra_id_sql(sorted_json_sql("extra::VARCHAR"))

    def content_id(parts: list[str]) -> str:
        return f"'h:' || left(sha256({_joined(parts)}), 32)"

    whens = []
    for provider in ("provider", "''"):
        head = ["_ts", provider, "''", "model_raw", "_v6"]
        now = content_id([*head, "_v7", "_ints", "_cost", now_extra])
        # the hash of schema 7-9 differs from the one now only over an extra out of key order or
        # empty (migration 10's test), or the JSON null (none now, ``null`` then)
        for cond, parts in (
            ("true", [*head, "_ints"]),  # up to schema 6
            (_REORDERED, [*head, "_v7", "_ints", "_cost", as_written]),  # schema 7-9
            ("extra IS NULL", [*head, "_v7", "_ints", "_cost", "'null'"]),  # before schema 12
        ):
            if provider == "provider":  # as stored; none stored was none given: the other variant
                cond = f"provider IS NOT NULL AND {cond}"
            whens.append(f"WHEN {cond} AND {content_id(parts)} = event_id THEN {now}")
    inner = "SELECT *, rowid AS _rid, " + ", ".join(f"{sql} AS {name}" for name, sql in pieces.items())
    return (
        f"SELECT _rid AS rid, batch_id, event_id AS old_id, CASE {' '.join(whens)} ELSE event_id END AS new_id "
        f"FROM ({inner} FROM events WHERE {_CONTENT})"
    )


def _cc_variants() -> list[tuple[str, dict[str, str | None]]]:
    """(condition on the stored row, the line's counts as text or None when absent) for each way
    the stored counts can have been written. A count stored as 0 may have been absent; the cache
    creation was a total alone (stored at 5m), or split into 5m and 1h (1h possibly absent)
    beside a total that is their sum, or absent. The usual line (every count, no split) first."""
    caches: list[tuple[str, str | None, str | None, str | None]] = [  # (condition, total, 5m, 1h)
        ("_c1 = '0'", "_c5", None, None),
        ("true", "_sum", "_c5", "_c1"),
        ("_c1 = '0'", "_c5", "_c5", None),
        ("_c5 = '0' AND _c1 = '0'", None, None, None),
    ]
    counts = ("_in", "_out", "_cr")
    out = []
    for absent in itertools.product((False, True), repeat=len(counts)):
        gone = [c for c, a in zip(counts, absent, strict=True) if a]
        for cond, total, c5, c1 in caches:
            text: dict[str, str | None] = {c: None if c in gone else c for c in counts}
            text |= {"total": total, "5m": c5, "1h": c1}
            conds = [f"{c} = '0'" for c in gone] + ([cond] if cond != "true" else [])
            out.append((" AND ".join(conds) or "true", text))
    return out


def _cc_select() -> str:
    """The stored Claude Code keys of messages without an id, and the key now: over each way the
    counts can have been written, the key up to schema 6 (timestamp and output in it) and the one
    of schema 7-10 (no marker of the parts present). The pieces are computed once per row."""
    from usagectl.store.stagers.claude_code import _id_part

    def md5(parts: list[str | None]) -> str:
        return f"md5({_joined([p or 'NULL' for p in parts])})"

    pieces = {
        "_ts": "strftime(ts, '%Y-%m-%dT%H:%M:%S.%gZ')",  # the line's timestamp as Claude Code writes it
        "_in": "coalesce(input_tokens, 0)::VARCHAR",
        "_out": "coalesce(output_tokens, 0)::VARCHAR",
        "_cr": "coalesce(cache_read_tokens, 0)::VARCHAR",
        "_c5": "coalesce(cache_write_5m_tokens, 0)::VARCHAR",
        "_c1": "coalesce(cache_write_1h_tokens, 0)::VARCHAR",
        "_sum": "(coalesce(cache_write_5m_tokens, 0) + coalesce(cache_write_1h_tokens, 0))::VARCHAR",
        "_req": "nullif(json_extract_string(extra, '$.requestId'), '')",
    }
    whens = []
    for cond, t in _cc_variants():
        side = ["session_id", "model_raw", t["_in"], t["_cr"], t["total"], t["5m"], t["1h"]]
        # the key now (stagers.claude_code._TEXT): the parts present are marked unless the usual
        # ones are (session, model, input, cache read and total; 5m and 1h both or neither)
        usual = all(p is not None for p in side[2:5]) and (t["5m"] is None) == (t["1h"] is None)
        bits = "".join("0" if p is None else "1" for p in side[2:])
        marker = (
            f"CASE WHEN session_id IS NOT NULL AND model_raw IS NOT NULL AND {str(usual).lower()} THEN '' "
            f"ELSE chr(30) || concat((session_id IS NOT NULL)::INT, (model_raw IS NOT NULL)::INT, '{bits}') END"
        )
        now = f"'claude-code:h:' || md5({_joined([p or 'NULL' for p in side])} || {marker})"
        by_request = f"CASE WHEN _req IS NOT NULL THEN 'claude-code:r:' || {_id_part('_req')} ELSE {now} END"
        v6 = ["_ts", "session_id", "model_raw", t["_in"], t["_out"], t["_cr"], t["total"], t["5m"], t["1h"]]
        whens += [
            f"WHEN {cond} AND 'claude-code:h:' || {md5(v6)} = event_id THEN {by_request}",  # up to schema 6
            f"WHEN {cond} AND 'claude-code:h:' || {md5(side)} = event_id THEN {now}",  # schema 7-10
        ]
    inner = "SELECT *, rowid AS _rid, " + ", ".join(f"{sql} AS {name}" for name, sql in pieces.items())
    return (
        f"SELECT _rid AS rid, batch_id, event_id AS old_id, CASE {' '.join(whens)} ELSE event_id END AS new_id "
        f"FROM ({inner} FROM events WHERE {_CC})"
    )


def apply(con: duckdb.DuckDBPyConnection) -> None:
    selects = [
        select()
        for where, select in ((_CONTENT, _content_select), (_CC, _cc_select))
        if con.execute(f"SELECT 1 FROM events WHERE {where} LIMIT 1").fetchone() is not None
    ]
    if not selects:
        return  # nothing to re-key (every new database, and most others)
    from usagectl.store.ingest import _SIDE_KEY, _TIER_KEY, _USAGE

    con.execute("SET TimeZone = 'UTC'")  # the hashes spell ts in UTC (every connection is opened so)
    con.execute(f"CREATE TEMP TABLE _m13 AS SELECT * FROM ({' UNION ALL '.join(selects)}) WHERE new_id <> old_id")
    con.execute("UPDATE events SET event_id = m.new_id FROM _m13 m WHERE events.rowid = m.rid")
    # copies now sharing an id: the first stored stays; of Claude Code's the one an import keeps.
    # Only the ids held more than once are ranked (found by their hashes, as ingest does: grouping
    # integers, not texts; a collision only adds a candidate, which the window partitions by its id)
    cc = "starts_with(event_id, 'claude-code:')"
    rank = (
        f"CASE WHEN {cc} THEN {_USAGE} END DESC NULLS LAST, CASE WHEN {cc} THEN {_TIER_KEY} END DESC NULLS LAST, "
        f"CASE WHEN {cc} THEN {_SIDE_KEY} END NULLS LAST, batch_id, rowid"
    )
    con.execute(
        "CREATE TEMP TABLE _m13_drop AS SELECT rid, batch_id FROM ("
        f"SELECT rowid AS rid, batch_id, row_number() OVER (PARTITION BY event_id ORDER BY {rank}) AS n "
        "FROM events WHERE hash(event_id) IN (SELECT h FROM (SELECT hash(event_id) AS h FROM events "
        "WHERE hash(event_id) IN (SELECT hash(new_id) FROM _m13)) GROUP BY h HAVING count(*) > 1)) WHERE n > 1"
    )
    con.execute("DELETE FROM events WHERE rowid IN (SELECT rid FROM _m13_drop)")
    con.execute(
        "UPDATE import_batches SET imported = imported - d.n, duplicates = duplicates + d.n, "
        "dup_stored = coalesce(dup_stored, 0) + d.n "
        "FROM (SELECT batch_id, count(*) AS n FROM _m13_drop GROUP BY batch_id) d "
        "WHERE import_batches.batch_id = d.batch_id"
    )
    con.execute("DROP TABLE _m13_drop")
    con.execute("DROP TABLE _m13")
