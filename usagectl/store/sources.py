"""Registered sources, their sync state per file, and the dedup accounting of import batches.

``source_files`` keeps, per file of a source, what the last sync read: the file's size and
mtime (an unchanged file costs a stat), the byte ``offset`` up to which it was read, the
number of ``lines`` before that offset (so later rejects carry the file's real line numbers)
and ``head_sha256``, the SHA-256 of bytes ``[0, offset)`` (a rewritten file is read again).
Modification times travel as integer microseconds since the epoch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from usagectl.models import EVENT_COLUMN_NAMES
from usagectl.store.tables import load_temp_table, rows_as_dicts
from usagectl.store.transactions import rollback

if TYPE_CHECKING:
    import duckdb

_LAST_SYNC = "sync.last:"  # meta key prefix: when a source was last synced (ISO 8601, UTC)
# the label a removed source's batches get (``remove_source``): no source may be named so
REMOVED = " (removed)"


@dataclass(frozen=True)
class SourceRow:
    name: str
    path: str
    format: str
    added_at: datetime


@dataclass(frozen=True)
class FileState:
    size: int
    mtime_us: int | None
    offset: int
    lines: int
    head_sha256: str
    last_batch_id: int | None = None


def list_sources(con: duckdb.DuckDBPyConnection, names: Sequence[str] | None = None) -> list[SourceRow]:
    sql = "SELECT name, path, format, added_at FROM sources"
    params: list[Any] = []
    if names:
        sql += " WHERE list_contains(?, name)"
        params.append(list(names))
    rows = con.execute(sql + " ORDER BY name", params).fetchall()
    return [SourceRow(r[0], r[1], r[2], r[3]) for r in rows]


def add_source(con: duckdb.DuckDBPyConnection, name: str, path: str, fmt: str, added_at: datetime) -> None:
    con.execute("INSERT INTO sources (name, path, format, added_at) VALUES (?, ?, ?, ?)", [name, path, fmt, added_at])


def remove_source(con: duckdb.DuckDBPyConnection, name: str) -> int:
    """Forget a source and its sync state (one transaction); returns the files forgotten.
    Its imported events and batches stay; its batches are labelled ``NAME (removed)``, so that a
    source added later under the same name starts with none of them (``source list``)."""
    con.execute("BEGIN TRANSACTION")
    try:
        row = con.execute("SELECT count(*) FROM source_files WHERE source_name = ?", [name]).fetchone()
        con.execute("DELETE FROM source_files WHERE source_name = ?", [name])
        con.execute("UPDATE import_batches SET source_name = source_name || ? WHERE source_name = ?", [REMOVED, name])
        con.execute("DELETE FROM sources WHERE name = ?", [name])
        con.execute("DELETE FROM meta WHERE key = ?", [_LAST_SYNC + name])
        con.execute("COMMIT")
    except BaseException:
        rollback(con)
        raise
    return int(row[0]) if row else 0


def file_states(con: duckdb.DuckDBPyConnection, name: str) -> dict[str, FileState]:
    rows = con.execute(
        'SELECT path, size, epoch_us(mtime), "offset", lines, head_sha256, last_batch_id '
        "FROM source_files WHERE source_name = ?",
        [name],
    ).fetchall()
    return {r[0]: FileState(int(r[1]), r[2], int(r[3]), int(r[4]), r[5], r[6]) for r in rows}


def waiting_files(con: duckdb.DuckDBPyConnection, name: str) -> int:
    """Files of source ``name`` read up to a half-written last line (its bytes after ``offset``)."""
    row = con.execute('SELECT count(*) FROM source_files WHERE source_name = ? AND "offset" < size', [name]).fetchone()
    return int(row[0]) if row else 0


def save_file_state(
    con: duckdb.DuckDBPyConnection, name: str, path: str, state: FileState, synced_at: datetime
) -> None:
    con.execute(
        'INSERT OR REPLACE INTO source_files (source_name, path, size, mtime, "offset", lines, head_sha256, '
        "last_batch_id, synced_at) VALUES (?, ?, ?, make_timestamptz(?::BIGINT), ?, ?, ?, ?, ?)",
        [name, path, state.size, state.mtime_us, state.offset, state.lines, state.head_sha256,
         state.last_batch_id, synced_at],
    )  # fmt: skip


def record_files(
    con: duckdb.DuckDBPyConnection,
    name: str,
    states: Sequence[tuple[str, FileState]],
    batch_ids: Sequence[int],
    synced_at: datetime,
) -> None:
    """After a many-file import: the files' sync states, and the source's name on the batches
    that import made, in one transaction (bulk: a first sync may bring thousands of files)."""
    con.execute("BEGIN TRANSACTION")
    try:
        save_file_states(con, name, states, synced_at)
        if batch_ids:
            con.execute(
                "UPDATE import_batches SET source_name = ? WHERE list_contains(?, batch_id)", [name, list(batch_ids)]
            )
        con.execute("COMMIT")
    except BaseException:
        rollback(con)
        raise


def save_file_states(
    con: duckdb.DuckDBPyConnection, name: str, states: Sequence[tuple[str, FileState]], synced_at: datetime
) -> None:
    """Many files' sync states in one statement, in the caller's transaction (if any)."""
    load_temp_table(
        con,
        "_synced",
        [("path", "VARCHAR"), ("size", "BIGINT"), ("mtime_us", "BIGINT"), ("off", "BIGINT"),
         ("lines", "BIGINT"), ("head", "VARCHAR"), ("batch_id", "BIGINT")],
        [(p, f.size, f.mtime_us, f.offset, f.lines, f.head_sha256, f.last_batch_id) for p, f in states],
    )  # fmt: skip
    con.execute(
        'INSERT OR REPLACE INTO source_files (source_name, path, size, mtime, "offset", lines, head_sha256, '
        "last_batch_id, synced_at) SELECT ?, path, size, make_timestamptz(mtime_us), off, lines, head, batch_id, ? "
        "FROM _synced",
        [name, synced_at],
    )
    con.execute("DROP TABLE _synced")


def current_batch_id(con: duckdb.DuckDBPyConnection) -> int:
    """The batch this connection is importing (the last value it drew from the sequence)."""
    row = con.execute("SELECT currval('import_batch_seq')").fetchone()
    assert row is not None
    return int(row[0])


def open_reads(con: duckdb.DuckDBPyConnection, path: str, fmt: str, before: int) -> list[tuple[int, int, str]]:
    """The finished batches that read file ``path`` (as it resolves) as ``fmt`` up to fewer than
    ``before`` bytes, that no later batch of that file read as far: (batch_id, bytes read,
    fingerprint of those bytes), the latest first (a few). A sync that read a CSV's cut last row
    as it was is one of them until a batch reads past that row."""
    rows = con.execute(
        "SELECT batch_id, file_size, fingerprint FROM import_batches b WHERE path = ? AND source = ? "
        "AND finished_at IS NOT NULL AND file_size > 0 AND file_size < ? AND NOT EXISTS (SELECT 1 FROM "
        "import_batches l WHERE l.path = b.path AND l.source = b.source AND l.batch_id > b.batch_id "
        "AND l.file_size >= b.file_size) ORDER BY batch_id DESC LIMIT 3",
        [path, fmt, before],
    ).fetchall()
    return [(int(r[0]), int(r[1]), str(r[2] or "")) for r in rows]


_EVENT_CONTENT = ", ".join(f'"{c}"' for c in EVENT_COLUMN_NAMES)  # what the event is, not its batch
_GIVEN_WAY = "_given_way"  # the events ``give_way`` deleted, for ``count_given_way``


def give_way(con: duckdb.DuckDBPyConnection, batch_id: int) -> None:
    """In an import's transaction, before it reads what is stored: delete the events batch
    ``batch_id`` stored, keeping them for ``count_given_way``. A rollback puts them back."""
    # an integer: CREATE TABLE AS takes no bound parameters
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {_GIVEN_WAY} AS SELECT {_EVENT_CONTENT} FROM events "
        f"WHERE batch_id = {int(batch_id)}"
    )
    con.execute("DELETE FROM events WHERE batch_id = ?", [batch_id])


def count_given_way(con: duckdb.DuckDBPyConnection, batch_id: int) -> tuple[int, int]:
    """In the same transaction, just before COMMIT: of batch ``batch_id``'s imported events,
    those stored again exactly as ``give_way`` deleted them came back (counted as duplicates
    of stored events, as a re-read of the same bytes is), and up to as many as did not come
    back took the place of those (counted as replaced, as the conflict rules count a stored
    copy a new one replaces; a finished row keeps the cut one's event_id). Returns (came
    back, replaced)."""
    row = con.execute(
        f"SELECT (SELECT count(*) FROM {_GIVEN_WAY}), (SELECT count(*) FROM (SELECT {_EVENT_CONTENT} FROM events "
        f"WHERE batch_id = ? INTERSECT ALL SELECT * FROM {_GIVEN_WAY})), "
        "(SELECT imported FROM import_batches WHERE batch_id = ?)",
        [batch_id, batch_id],
    ).fetchone()
    con.execute(f"DROP TABLE {_GIVEN_WAY}")
    given, back, imported = (int(v or 0) for v in row or (0, 0, 0))
    back = min(back, imported)
    replaced = max(0, min(given - back, imported - back))
    con.execute(
        "UPDATE import_batches SET imported = imported - ? - ?, duplicates = coalesce(duplicates, 0) + ?, "
        "dup_stored = coalesce(dup_stored, 0) + ?, replaced = coalesce(replaced, 0) + ? WHERE batch_id = ?",
        [back, replaced, back, back, replaced, batch_id],
    )
    return back, replaced


def mark_synced(con: duckdb.DuckDBPyConnection, name: str, when: datetime) -> None:
    con.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [_LAST_SYNC + name, when.isoformat()])


# the import batches of each source's files: those its syncs made, and those of the same files
# imported by hand (before the source was added, or beside it): their events come from its files
# A batch records the file's real path; a source lists its files as found, through a symlinked
# folder too (a month moved to another disk): ``_source_reals`` maps those (``use_real_paths``).
_REALS = "_source_reals"
_SOURCE_BATCHES = (  # a file's batches in the source's format (a folder may hold usage and cost pages)
    "SELECT source_name AS name, batch_id FROM import_batches WHERE source_name IS NOT NULL "
    f"UNION SELECT f.source_name, b.batch_id FROM source_files f LEFT JOIN {_REALS} r ON r.path = f.path "
    "JOIN import_batches b ON b.path = coalesce(r.real, f.path) "
    # an ``auto`` source (canonical files of several kinds) imports each as jsonl, csv or parquet
    "JOIN sources s ON s.name = f.source_name "
    "WHERE b.source = s.format OR (s.format = 'auto' AND b.source IN ('jsonl', 'csv', 'parquet'))"
)


def source_file_paths(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every file the registered sources track, as listed."""
    return [str(r[0]) for r in con.execute("SELECT DISTINCT path FROM source_files ORDER BY 1").fetchall()]


def use_real_paths(con: duckdb.DuckDBPyConnection, reals: Mapping[str, str]) -> None:
    """The real path of each tracked file that is not its own (``importers._walk.real_paths``),
    for this connection's counts of a source's events: without it, the events a file under a
    symlinked folder got from an import by hand are not counted as the source's."""
    load_temp_table(con, _REALS, [("path", "VARCHAR"), ("real", "VARCHAR")], list(reals.items()))


def _reals_ready(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"CREATE TEMP TABLE IF NOT EXISTS {_REALS} (path VARCHAR, real VARCHAR)")


def events_of_all(con: duckdb.DuckDBPyConnection, table: str = "events") -> int:
    """The events (or, ``table="billed_costs"``, the billed cost lines) from the files of the
    registered sources, each counted once (sources may overlap: two folders, one inside the
    other, or a file both name)."""
    _reals_ready(con)
    row = con.execute(
        f"SELECT count(*) FROM {table} WHERE batch_id IN (SELECT sb.batch_id FROM ({_SOURCE_BATCHES}) sb "
        "JOIN sources s ON s.name = sb.name)"
    ).fetchone()
    return int(row[0]) if row else 0


def overview(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    """Per source: tracked files (with their paths), last sync (ISO text) and the events from
    its files (imported by its syncs or by hand)."""
    _reals_ready(con)
    out: dict[str, dict[str, Any]] = {
        r[0]: {"paths": [], "last_sync": None, "events": 0} for r in con.execute("SELECT name FROM sources").fetchall()
    }
    for name, path in con.execute("SELECT source_name, path FROM source_files").fetchall():
        if name in out:
            out[name]["paths"].append(path)
    for key, value in con.execute("SELECT key, value FROM meta WHERE starts_with(key, ?)", [_LAST_SYNC]).fetchall():
        name = key[len(_LAST_SYNC) :]
        if name in out:
            out[name]["last_sync"] = value
    for name, n in con.execute(
        f"SELECT sb.name, count(*) FROM events e JOIN ({_SOURCE_BATCHES}) sb ON sb.batch_id = e.batch_id GROUP BY 1"
    ).fetchall():
        if name in out:
            out[name]["events"] = int(n)
    for name, n in con.execute(  # the cost reports' sources hold billed cost lines, not events
        f"SELECT sb.name, count(*) FROM billed_costs c JOIN ({_SOURCE_BATCHES}) sb ON sb.batch_id = c.batch_id "
        "GROUP BY 1"
    ).fetchall():
        if name in out:
            out[name]["cost_lines"] = int(n)
    return out


def events_of_source(con: duckdb.DuckDBPyConnection, name: str) -> int:
    """The events from this source's files (see ``overview``)."""
    _reals_ready(con)
    row = con.execute(
        f"SELECT count(*) FROM events e JOIN ({_SOURCE_BATCHES}) sb ON sb.batch_id = e.batch_id WHERE sb.name = ?",
        [name],
    ).fetchone()
    return int(row[0]) if row else 0


# the per-batch counts of ``dedup_batches`` that ``dedup_groups`` sums
DEDUP_COUNTS = ("records", "imported", "dup_in_file", "dup_stored", "replaced", "rejected")


def _finished_in(start: datetime | None, end: datetime | None) -> tuple[str, list[Any]]:
    """The WHERE clause of finished batches imported in [start, end), and its parameters."""
    sql, params = " WHERE finished_at IS NOT NULL", []
    if start is not None:
        sql += " AND finished_at >= ?"
        params.append(start)
    if end is not None:
        sql += " AND finished_at < ?"
        params.append(end)
    return sql, params


def dedup_batches(
    con: duckdb.DuckDBPyConnection, start: datetime | None, end: datetime | None, top: int | None = None
) -> list[dict[str, Any]]:
    """Finished import batches in [start, end) of their import time, oldest first, with the
    records each dropped as duplicates (in the file, of stored events) and replaced, by rule;
    with ``top``, only the ``top`` batches that dropped the most (ties: the earlier), most first.
    ``file`` is the path's last part."""
    where, params = _finished_in(start, end)
    dropped = "coalesce(dup_in_file, 0) + coalesce(dup_stored, 0) + coalesce(replaced, 0)"
    order = f" ORDER BY {dropped} DESC, batch_id LIMIT {int(top)}" if top else " ORDER BY batch_id"
    cur = con.execute(
        "SELECT batch_id, path, regexp_extract(path, '[^/\\\\]*$') AS file, source AS format, source_name AS source, "
        "finished_at AS imported_at, records, imported, coalesce(dup_in_file, 0) AS dup_in_file, "
        "coalesce(dup_stored, 0) AS dup_stored, coalesce(replaced, 0) AS replaced, rejected, duplicates, "
        f"dedup_rule AS rule FROM import_batches{where}{order}",
        params,
    )
    return rows_as_dicts(cur)


def reread_batches(con: duckdb.DuckDBPyConnection, start: datetime | None, end: datetime | None) -> tuple[int, int]:
    """(batches, records) of ``dedup_batches`` that dropped records as stored while reading a
    file an earlier batch of the same format read (a grown file read again whole: Codex
    rollouts, llm's logs.db, CSV), and the records they so dropped."""
    where, params = _finished_in(start, end)
    row = con.execute(
        f"SELECT count(*), coalesce(sum(dup_stored), 0) FROM import_batches b{where} AND dup_stored > 0 AND EXISTS "
        "(SELECT 1 FROM import_batches e WHERE e.path = b.path AND e.source = b.source AND e.batch_id < b.batch_id)",
        params,
    ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def dedup_groups(con: duckdb.DuckDBPyConnection, start: datetime | None, end: datetime | None) -> list[dict[str, Any]]:
    """Per format and rule, the batches of ``dedup_batches`` and the sums of their counts."""
    where, params = _finished_in(start, end)
    cur = con.execute(
        "SELECT source AS format, dedup_rule AS rule, count(*) AS batches, "
        + ", ".join(f"coalesce(sum({c}), 0)::HUGEINT AS {c}" for c in DEDUP_COUNTS)
        + f" FROM import_batches{where} GROUP BY ALL ORDER BY format, rule",
        params,
    )
    return rows_as_dicts(cur)
