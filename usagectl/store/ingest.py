"""Bulk import of canonical records: stage with DuckDB's readers, validate in SQL, keep
rejects with their reasons, insert what is new. One file = one transaction.

Every canonical column is staged as text and validated here, so a bad value becomes a
reject with a reason (``input_tokens: negative (-3)``) instead of a NULL or a crash.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from usagectl.errors import InputError
from usagectl.models import EVENT_COLUMN_NAMES, EVENT_COLUMNS, ZERO_DEFAULT_INTS, Record
from usagectl.store.tables import load_temp_table

if TYPE_CHECKING:
    import duckdb

    from usagectl.importers.canonical import CsvChunk

_KINDS = dict(EVENT_COLUMNS)
RAW_MAX = 4000  # characters of a rejected record kept


def _q(name: str) -> str:
    """Quote an identifier (names come from the allow-list or a file header)."""
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass
class BatchInfo:
    source: str
    path: Path
    file_size: int | None
    file_mtime: datetime | None
    fingerprint: str | None
    source_name: str | None = None  # the registered source a sync read this for
    line_offset: int = 0  # lines before the part of the file read (a sync resuming mid-file)


@dataclass
class BatchCounts:
    batch_id: int
    records: int
    imported: int
    duplicates: int  # dup_in_file + dup_stored: records that added nothing
    rejected: int
    dup_in_file: int = 0
    dup_stored: int = 0
    replaced: int = 0


# How a record whose identity (event_id) is already known is treated:
#   keep       the first one stays (canonical files, request logs with unique ids)
#   replace    the later one replaces it (provider usage buckets re-fetched: never added twice)
#   max-usage  the one with the larger token total wins (Claude Code: streaming writes
#              partial lines first; copies of one message across files)
CONFLICT_RULES = ("keep", "replace", "max-usage")


def find_unchanged_batch(con: duckdb.DuckDBPyConnection, fingerprint: str) -> int | None:
    row = con.execute(
        "SELECT batch_id FROM import_batches WHERE fingerprint = ? AND finished_at IS NOT NULL "
        "ORDER BY batch_id LIMIT 1",
        [fingerprint],
    ).fetchone()
    return int(row[0]) if row else None


# ---------------------------------------------------------------- staging (format-specific)
# Each stager creates TEMP TABLE _stage(_rec, _line, _raw, _problem, <canonical cols as text>, _unknown)


def _stage_select(present: Iterable[str], unknown: list[str], problem_sql: str, rec_sql: str) -> str:
    present_set = set(present)
    cols = [
        f"{_q(c)}::VARCHAR AS {_q(c)}" if c in present_set else f"NULL::VARCHAR AS {_q(c)}" for c in EVENT_COLUMN_NAMES
    ]
    if unknown:
        unknown_sql = (
            "json_merge_patch('{}', json_object(" + ", ".join(f"{_lit(u)}, {_q(u)}" for u in unknown) + "))::VARCHAR"
        )
    else:
        unknown_sql = "NULL::VARCHAR"
    return (
        f"SELECT {rec_sql} AS _rec, NULL::BIGINT AS _line, NULL::VARCHAR AS _raw, {problem_sql} AS _problem, "
        + ", ".join(cols)
        + f", {unknown_sql} AS _unknown"
    )


def stage_jsonl(con: duckdb.DuckDBPyConnection, path: Path) -> list[str]:
    """Stage a JSONL file; returns the unknown top-level keys found (kept in ``extra``)."""
    unknown: list[str] = []
    try:
        keys = con.execute(
            "SELECT DISTINCT k FROM (SELECT unnest(json_keys(json)) AS k FROM "
            "(SELECT json FROM read_ndjson_objects(?, ignore_errors = true) LIMIT 5000) "
            "WHERE json_type(json) = 'OBJECT') ORDER BY k",
            [str(path)],
        ).fetchall()
        unknown = [r[0] for r in keys if r[0] not in _KINDS]
    except Exception:
        unknown = []
    columns: dict[str, str] = {c: ("JSON" if c == "extra" else "VARCHAR") for c in EVENT_COLUMN_NAMES}
    for u in unknown:
        columns[u] = "JSON"
    all_null = " AND ".join(f"{_q(c)} IS NULL" for c in columns)
    select = _stage_select(EVENT_COLUMN_NAMES, unknown, f"CASE WHEN {all_null} THEN 'unparseable' END", "NULL::BIGINT")
    # a view, not a table: the file is read once, in parallel and in file order, straight into
    # the validated table, whose rowid then gives each record's number (no window function:
    # it would make everything after it single-threaded)
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW _stage AS {select} "
        f"FROM read_ndjson({_lit(str(path))}, columns = {_struct_lit(columns)}, ignore_errors = true, "
        "maximum_object_size = 16777216)"
    )
    return unknown


def _struct_lit(columns: dict[str, str]) -> str:
    return "{" + ", ".join(f"{_lit(k)}: {_lit(v)}" for k, v in columns.items()) + "}"


def stage_parquet(con: duckdb.DuckDBPyConnection, path: Path) -> list[str]:
    described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
    types = {r[0]: str(r[1]) for r in described}
    unknown = [c for c in types if c not in _KINDS and c != "file_row_number"]
    present = [c for c in EVENT_COLUMN_NAMES if c in types]

    def as_text(c: str) -> str:
        t = types[c].upper()
        if t.startswith(("STRUCT", "MAP")) or t.endswith("[]"):
            return f"to_json({_q(c)})::VARCHAR"
        if t.startswith("TIMESTAMP") and "TIME ZONE" not in t:
            return f"strftime({_q(c)}, '%Y-%m-%dT%H:%M:%S.%fZ')"
        return f"{_q(c)}::VARCHAR"

    cols = [f"{as_text(c)} AS {_q(c)}" if c in present else f"NULL::VARCHAR AS {_q(c)}" for c in EVENT_COLUMN_NAMES]
    unknown_sql = (
        "json_merge_patch('{}', json_object(" + ", ".join(f"{_lit(u)}, {_q(u)}" for u in unknown) + "))::VARCHAR"
        if unknown
        else "NULL::VARCHAR"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _stage AS SELECT file_row_number + 1 AS _rec, NULL::BIGINT AS _line, "
        "NULL::VARCHAR AS _raw, NULL::VARCHAR AS _problem, "
        + ", ".join(cols)
        + f", {unknown_sql} AS _unknown FROM read_parquet(?, file_row_number = true)",
        [str(path)],
    )
    # raw text of a Parquet record, for rejects: the row as JSON
    return unknown


def stage_csv(con: duckdb.DuckDBPyConnection, chunks: Iterable[CsvChunk]) -> list[str]:
    import pyarrow as pa

    con.execute(
        "CREATE OR REPLACE TEMP TABLE _stage (_rec BIGINT, _line BIGINT, _raw VARCHAR, _problem VARCHAR, "
        + ", ".join(f"{_q(c)} VARCHAR" for c in EVENT_COLUMN_NAMES)
        + ", _unknown VARCHAR)"
    )
    unknown: list[str] = []
    rec = 0
    for chunk in chunks:
        header = chunk.columns
        unknown = [h for h in header if h not in _KINDS]
        index = {h: i for i, h in enumerate(header)}
        n = len(chunk.rows)
        data: dict[str, Any] = {
            "_rec": list(range(rec + 1, rec + n + 1)),
            "_line": chunk.lines,
            "_raw": chunk.raws,
            "_problem": chunk.problems,
        }
        rec += n
        for c in EVENT_COLUMN_NAMES:
            i = index.get(c)
            data[c] = [row[i] for row in chunk.rows] if i is not None else [None] * n
        if unknown:
            import json

            data["_unknown"] = [
                json.dumps({u: row[index[u]] for u in unknown if row[index[u]] is not None}) for row in chunk.rows
            ]
        else:
            data["_unknown"] = [None] * n
        table = pa.table(
            {k: pa.array(v, type=pa.int64() if k in ("_rec", "_line") else pa.string()) for k, v in data.items()}
        )
        con.register("_csv_chunk", table)
        try:
            con.execute("INSERT INTO _stage SELECT * FROM _csv_chunk")
        finally:
            con.unregister("_csv_chunk")
    return unknown


def _as_text(value: Any) -> str | None:
    import json

    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), default=str)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def stage_records(con: duckdb.DuckDBPyConnection, records: Iterable[Record], chunk_rows: int = 50_000) -> list[str]:
    """Stage an importer's records (Python-parsed formats) in bulk, in Arrow chunks."""
    import pyarrow as pa

    con.execute(
        "CREATE OR REPLACE TEMP TABLE _stage (_rec BIGINT, _line BIGINT, _raw VARCHAR, _problem VARCHAR, "
        + ", ".join(f"{_q(c)} VARCHAR" for c in EVENT_COLUMN_NAMES)
        + ", _unknown VARCHAR)"
    )
    unknown: set[str] = set()

    def flush(batch: list[Record]) -> None:
        data: dict[str, Any] = {
            "_rec": pa.array([r.rec for r in batch], pa.int64()),
            "_line": pa.array([r.line for r in batch], pa.int64()),
            "_raw": pa.array([(r.raw[:RAW_MAX] if r.raw and r.problem else None) for r in batch], pa.string()),
            "_problem": pa.array([r.problem for r in batch], pa.string()),
        }
        for c in EVENT_COLUMN_NAMES:
            data[c] = pa.array([_as_text(r.fields.get(c)) for r in batch], pa.string())
        data["_unknown"] = pa.array([None] * len(batch), pa.string())
        for r in batch:
            unknown.update(k for k in r.fields if k not in _KINDS)
        con.register("_rec_chunk", pa.table(data))
        try:
            con.execute("INSERT INTO _stage SELECT * FROM _rec_chunk")
        finally:
            con.unregister("_rec_chunk")

    batch: list[Record] = []
    for record in records:
        batch.append(record)
        if len(batch) >= chunk_rows:
            flush(batch)
            batch = []
    if batch:
        flush(batch)
    if unknown:
        raise ValueError(f"importer produced non-canonical fields: {sorted(unknown)}")
    return []


# ---------------------------------------------------------------- validation


def _int_fast_ok(c: str) -> str:
    """True for the common case: absent, or plain non-negative digits (checked by a cast
    round trip, far cheaper than a regular expression)."""
    q = _q(c)
    return f"({q} IS NULL OR coalesce(TRY_CAST({q} AS UBIGINT)::VARCHAR = {q}, false))"


def _int_checks(c: str) -> tuple[str, str]:
    """(reason or NULL, value) of an integer column staged as text. ``12.0`` and ``+5`` are
    integers; ``12.5``, ``-3``, ``abc`` and numbers beyond BIGINT are rejected with a reason."""
    q = _q(c)
    ok = (
        f"({_int_fast_ok(c)} OR (regexp_full_match({q}, '\\+?[0-9]+(\\.0*)?') "
        f"AND TRY_CAST(regexp_extract({q}, '[0-9]+') AS BIGINT) IS NOT NULL))"
    )
    reason = (
        f"CASE WHEN NOT {ok} THEN '{c}: ' || CASE "
        f"WHEN regexp_full_match(trim({q}), '-[0-9]+(\\.[0-9]*)?([eE][-+]?[0-9]+)?') THEN 'negative' "
        f"WHEN TRY_CAST({q} AS DOUBLE) IS NOT NULL AND regexp_full_match(trim({q}), '[0-9.eE+-]+') THEN 'not an integer' "
        f"WHEN regexp_full_match({q}, '[0-9]+') THEN 'too large' "
        f"ELSE 'not a number' END || ' (' || left({q}, 40) || ')' END"
    )
    value = f"TRY_CAST({q} AS BIGINT)"
    if c in ZERO_DEFAULT_INTS:
        value = f"coalesce({value}, 0)"
    elif c == "requests":
        value = f"coalesce({value}, 1)"
    return reason, value


_TS_VALUE = (
    "CASE WHEN TRY_CAST(ts AS TIMESTAMPTZ) IS NOT NULL THEN TRY_CAST(ts AS TIMESTAMPTZ) "
    "WHEN regexp_full_match(ts, '[0-9]{12,13}') THEN make_timestamptz(CAST(ts AS BIGINT) * 1000) "
    "WHEN regexp_full_match(ts, '[0-9]{9,10}(\\.[0-9]+)?') THEN make_timestamptz(CAST(CAST(ts AS DECIMAL(20,6)) * 1000000 AS BIGINT)) "
    "ELSE TRY_CAST(ts AS TIMESTAMPTZ) END"
)


def _validation_select(default_source: str) -> str:
    reasons: list[str] = []
    values: list[str] = []
    for c, kind in EVENT_COLUMNS:
        q = _q(c)
        if kind == "int":
            r, v = _int_checks(c)
            reasons.append(r)
            values.append(f"{v} AS {q}")
        elif kind == "ts":
            reasons.append(
                "CASE WHEN ts IS NULL OR trim(ts) = '' THEN 'missing ts' "
                f"WHEN ({_TS_VALUE}) IS NULL THEN 'ts: not a timestamp (' || left(ts, 40) || ')' "
                f"WHEN ({_TS_VALUE}) < TIMESTAMPTZ '2000-01-01' OR ({_TS_VALUE}) > TIMESTAMPTZ '2100-01-01' "
                "THEN 'ts: out of range (' || left(ts, 40) || ')' END"
            )
            values.append(f"({_TS_VALUE}) AS ts")
        elif kind == "money":
            mv = f"coalesce(TRY_CAST({q} AS DECIMAL(38,12)), TRY_CAST(TRY_CAST({q} AS DOUBLE) AS DECIMAL(38,12)))"
            reasons.append(
                f"CASE WHEN {q} IS NOT NULL AND {mv} IS NULL THEN '{c}: not a number (' || left({q}, 40) || ')' END"
            )
            values.append(f"{mv} AS {q}")
        elif kind == "json":
            reasons.append(f"CASE WHEN {q} IS NOT NULL AND NOT json_valid({q}) THEN '{c}: not valid JSON' END")
            merged = (
                f"CASE WHEN _unknown IS NULL OR _unknown = '{{}}' THEN {q} "
                f"WHEN {q} IS NULL THEN _unknown "
                f"WHEN json_valid({q}) AND json_type({q}) = 'OBJECT' THEN json_merge_patch(_unknown, {q})::VARCHAR "
                f"ELSE json_object('extra', {q}::JSON, 'fields', _unknown::JSON)::VARCHAR END"
            )
            values.append(f"({merged})::JSON AS {q}")
        elif c == "status":
            reasons.append(
                "CASE WHEN status IS NOT NULL AND lower(trim(status)) NOT IN ('success', 'error') "
                "THEN 'status: must be success or error (' || left(status, 40) || ')' END"
            )
            values.append("lower(trim(nullif(status, ''))) AS status")
        elif c == "service_tier":
            values.append(
                "CASE WHEN lower(trim(coalesce(service_tier, ''))) IN ('', 'default') THEN 'standard' "
                "ELSE lower(trim(service_tier)) END AS service_tier"
            )
        elif c == "source":
            values.append(f"coalesce(nullif(source, ''), {_lit(default_source)}) AS source")
        else:
            values.append(f"nullif({q}, '') AS {q}")
    reasons.append(
        "CASE WHEN regexp_full_match(coalesce(reasoning_tokens, '0'), '[0-9]+(\\.0*)?') "
        "AND regexp_full_match(coalesce(output_tokens, '0'), '[0-9]+(\\.0*)?') "
        "AND TRY_CAST(regexp_extract(coalesce(reasoning_tokens,'0'), '[0-9]+') AS BIGINT) "
        "> TRY_CAST(regexp_extract(coalesce(output_tokens,'0'), '[0-9]+') AS BIGINT) "
        "THEN 'reasoning_tokens exceeds output_tokens (reasoning is part of output)' END"
    )
    fast_ok = " AND ".join(
        [_int_fast_ok(c) for c, k in EVENT_COLUMNS if k == "int"]
        + [
            "TRY_CAST(ts AS TIMESTAMPTZ) BETWEEN TIMESTAMPTZ '2000-01-01' AND TIMESTAMPTZ '2100-01-01'",
            "(reported_cost_usd IS NULL OR TRY_CAST(reported_cost_usd AS DECIMAL(38,12)) IS NOT NULL)",
            "(extra IS NULL OR json_valid(extra))",
            "(status IS NULL OR status IN ('success', 'error'))",
            "coalesce(TRY_CAST(reasoning_tokens AS UBIGINT), 0) <= coalesce(TRY_CAST(output_tokens AS UBIGINT), 0)",
        ]
    )
    # the cheap test clears almost every row; only the others get the detailed reasons
    reason_sql = (
        f"CASE WHEN _problem IS NOT NULL THEN _problem WHEN {fast_ok} THEN NULL "
        f"ELSE nullif(concat_ws('; ', {', '.join(reasons)}), '') END"
    )
    return f"SELECT _rec, _line, _raw, {reason_sql} AS _reason, {', '.join(values)} FROM _stage"


_ID_PARTS = (
    "provider", "model_raw", "model", "service_tier", "member", "project", "workspace", "api_key",
    "feature", "tool", "integration", "platform", "session_id", "message_id",
)  # fmt: skip


def _event_id_sql() -> str:
    ints = [c for c, k in EVENT_COLUMNS if k == "int"]
    parts = (
        ["strftime(ts, '%Y-%m-%dT%H:%M:%S.%fZ')"]
        + [f"coalesce({_q(c)}, '')" for c in _ID_PARTS]
        + [f"coalesce({_q(c)}::VARCHAR, '')" for c in ints]
    )
    return "'h:' || left(sha256(concat_ws(chr(31), " + ", ".join(parts) + ")), 32)"


# ---------------------------------------------------------------- the transaction


def import_staged(
    con: duckdb.DuckDBPyConnection,
    info: BatchInfo,
    stage: Callable[[duckdb.DuckDBPyConnection], list[str]],
    resolve_models: Callable[[list[str]], dict[str, tuple[str | None, str | None]]],
    locate_rejects: Callable[[set[int]], dict[int, tuple[int, str]]] | None = None,
    default_source: str = "jsonl",
    conflict: str = "keep",
) -> tuple[BatchCounts, list[str]]:
    """Stage, validate and commit one file in one transaction; roll back on any failure.

    ``conflict`` is one of CONFLICT_RULES and decides what a record whose event_id is
    already known (in the file or stored) does."""
    assert conflict in CONFLICT_RULES, conflict
    con.execute("BEGIN TRANSACTION")
    try:
        batch_id = int(con.execute("SELECT nextval('import_batch_seq')").fetchone()[0])  # type: ignore[index]
        con.execute(
            "INSERT INTO import_batches (batch_id, source, path, file_size, file_mtime, fingerprint, started_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                batch_id,
                info.source,
                str(info.path),
                info.file_size,
                info.file_mtime,
                info.fingerprint,
                datetime.now(UTC),
            ],
        )
        try:
            unknown = stage(con)
        except duckdb_error() as exc:
            raise InputError(f"{info.path}: cannot be read as {default_source}: {str(exc).splitlines()[0]}") from exc
        con.execute(f"CREATE OR REPLACE TEMP TABLE _checked AS {_validation_select(default_source)}")
        # rowids inside a transaction start at an offset: number from the first one
        con.execute("UPDATE _checked SET _rec = rowid - (SELECT min(rowid) FROM _checked) + 1 WHERE _rec IS NULL")

        # raw text and line numbers of rejected records, looked up only when there are some
        rejected_recs = {
            int(r[0])
            for r in con.execute("SELECT _rec FROM _checked WHERE _reason IS NOT NULL AND _raw IS NULL").fetchall()
        }
        if rejected_recs and locate_rejects is not None:
            located = locate_rejects(rejected_recs)
            if located:
                recs = sorted(located)
                load_temp_table(
                    con,
                    "_fixes",
                    [("rec", "BIGINT"), ("line", "BIGINT"), ("raw", "VARCHAR"), ("why", "VARCHAR")],
                    [(r, located[r][0], located[r][1][:RAW_MAX], _refine_reason(located[r][1])) for r in recs],
                )
                con.execute(
                    "UPDATE _checked SET _line = f.line, _raw = f.raw, "
                    "_reason = CASE WHEN _checked._reason = 'unparseable' THEN coalesce(f.why, 'missing ts') ELSE _checked._reason END "
                    "FROM _fixes f WHERE _checked._rec = f.rec"
                )
                con.execute("DROP TABLE _fixes")
        con.execute("UPDATE _checked SET _reason = 'not a JSON object' WHERE _reason = 'unparseable'")
        # any rejected record still without raw text gets its staged fields as JSON
        raw_json = "json_object(" + ", ".join(f"{_lit(c)}, s.{_q(c)}" for c in EVENT_COLUMN_NAMES) + ")::VARCHAR"
        missing_raw = con.execute("SELECT count(*) FROM _checked WHERE _reason IS NOT NULL AND _raw IS NULL").fetchone()
        if missing_raw and missing_raw[0]:
            con.execute(
                f"UPDATE _checked SET _raw = {raw_json} FROM _stage s "
                "WHERE _checked._rec = s._rec AND _checked._reason IS NOT NULL AND _checked._raw IS NULL"
            )

        # models: resolve each distinct raw name once
        raws = [
            r[0]
            for r in con.execute(
                "SELECT DISTINCT coalesce(model_raw, model) FROM _checked WHERE _reason IS NULL AND coalesce(model_raw, model) IS NOT NULL"
            ).fetchall()
        ]
        mapping = resolve_models(raws)
        load_temp_table(
            con,
            "_model_map",
            [("raw", "VARCHAR"), ("model", "VARCHAR"), ("provider", "VARCHAR")],
            [(raw, m, p) for raw, (m, p) in mapping.items()],
        )
        try:
            con.execute(
                "INSERT INTO rejects (batch_id, file, line, record, reason, raw) "
                "SELECT ?, ?, _line + ?, _rec, _reason, left(_raw, ?) FROM _checked WHERE _reason IS NOT NULL ORDER BY _rec",
                [batch_id, str(info.path), info.line_offset, RAW_MAX],
            )
            cols = [c for c in EVENT_COLUMN_NAMES]
            select_cols = []
            for c in cols:
                if c == "event_id":
                    select_cols.append("v.event_id")
                elif c == "model":
                    select_cols.append("coalesce(mm.model, v.model, v.model_raw)")
                elif c == "model_raw":
                    select_cols.append("coalesce(v.model_raw, v.model)")
                elif c == "provider":
                    select_cols.append("coalesce(lower(v.provider), mm.provider)")
                else:
                    select_cols.append(f"v.{_q(c)}")
            # a view: the valid rows are read once, by the INSERT below
            con.execute(
                f"CREATE OR REPLACE TEMP VIEW _valid AS SELECT coalesce(nullif(event_id, ''), {_event_id_sql()}) AS event_id, "
                + ", ".join(f"{_q(c)}" for c in cols if c != "event_id")
                + ", _rec FROM _checked WHERE _reason IS NULL"
            )
            valid = int(con.execute("SELECT count(*) FROM _checked WHERE _reason IS NULL").fetchone()[0])  # type: ignore[index]
            inserted = dup_in_file = dup_stored = replaced = 0
            if valid:
                inserted, dup_in_file, dup_stored, replaced = _insert_events(con, batch_id, cols, select_cols, conflict)
        finally:
            con.execute("DROP TABLE IF EXISTS _model_map")
        counts = con.execute("SELECT count(*), count(*) FILTER (WHERE _reason IS NOT NULL) FROM _checked").fetchone()
        assert counts is not None
        records, rejected = int(counts[0]), int(counts[1])
        duplicates = dup_in_file + dup_stored
        con.execute(
            "UPDATE import_batches SET finished_at = ?, records = ?, imported = ?, duplicates = ?, rejected = ?, "
            "dup_in_file = ?, dup_stored = ?, replaced = ?, dedup_rule = ?, source_name = ? WHERE batch_id = ?",
            [datetime.now(UTC), records, inserted, duplicates, rejected, dup_in_file, dup_stored, replaced,
             conflict, info.source_name, batch_id],
        )  # fmt: skip
        kind = con.execute(
            "SELECT CASE WHEN EXISTS (SELECT 1 FROM duckdb_views() WHERE view_name = '_stage') THEN 'VIEW' ELSE 'TABLE' END"
        ).fetchone()
        con.execute("DROP VIEW IF EXISTS _valid")
        con.execute(f"DROP {kind[0] if kind else 'TABLE'} IF EXISTS _stage")
        con.execute("DROP TABLE IF EXISTS _checked")
        before_commit_hook(con)
        con.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(Exception):  # the original error matters more
            con.execute("ROLLBACK")
        raise
    warnings = [f"unknown column(s) kept in extra: {', '.join(unknown)}"] if unknown else []
    return BatchCounts(batch_id, records, inserted, duplicates, rejected, dup_in_file, dup_stored, replaced), warnings


_USAGE = "(input_tokens + cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens + output_tokens)"


def _insert_events(
    con: duckdb.DuckDBPyConnection, batch_id: int, cols: list[str], select_cols: list[str], conflict: str
) -> tuple[int, int, int, int]:
    """Insert the valid rows by the conflict rule; (inserted, dup_in_file, dup_stored, replaced)."""
    insert = f"INSERT INTO events ({', '.join(_q(c) for c in cols)}, batch_id) SELECT {', '.join(select_cols)}, ? "
    mm_join = "LEFT JOIN _model_map mm ON mm.raw = coalesce(v.model_raw, v.model) "
    valid = int(con.execute("SELECT count(*) FROM _valid").fetchone()[0])  # type: ignore[index]
    # record numbers are fixed in _checked; the inserts may run in parallel
    con.execute("SET preserve_insertion_order = false")
    try:
        if conflict == "keep":
            distinct = int(con.execute("SELECT count(DISTINCT event_id) FROM _valid").fetchone()[0])  # type: ignore[index]
            res = con.execute(
                insert + "FROM (SELECT * FROM _valid QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY _rec) = 1) v "
                + mm_join
                + "WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.event_id = v.event_id)",
                [batch_id],
            ).fetchone()
            inserted = int(res[0]) if res else 0
            return inserted, valid - distinct, distinct - inserted, 0
        order = "_rec DESC" if conflict == "replace" else f"{_USAGE} DESC, _rec DESC"
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _dedup AS SELECT * FROM _valid "
            f"QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY {order}) = 1"
        )
        distinct = int(con.execute("SELECT count(*) FROM _dedup").fetchone()[0])  # type: ignore[index]
        if conflict == "replace":
            stale = "SELECT e.event_id FROM events e JOIN _dedup d ON d.event_id = e.event_id"
        else:  # max-usage: a stored copy with less usage gives way; an equal or larger one stays
            stale = (
                "SELECT e.event_id FROM events e JOIN _dedup d ON d.event_id = e.event_id "
                f"WHERE {_USAGE.replace('(', '(e.', 1).replace(' + ', ' + e.')} < "
                f"{_USAGE.replace('(', '(d.', 1).replace(' + ', ' + d.')}"
            )
        con.execute(f"CREATE OR REPLACE TEMP TABLE _stale AS {stale}")
        replaced = int(con.execute("SELECT count(*) FROM _stale").fetchone()[0])  # type: ignore[index]
        if replaced:
            con.execute("DELETE FROM events WHERE event_id IN (SELECT event_id FROM _stale)")
        res = con.execute(
            insert + "FROM _dedup v " + mm_join + "WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.event_id = v.event_id)",
            [batch_id],
        ).fetchone()
        written = int(res[0]) if res else 0
        con.execute("DROP TABLE _dedup")
        con.execute("DROP TABLE _stale")
        return written - replaced, valid - distinct, distinct - written, replaced
    finally:
        con.execute("SET preserve_insertion_order = true")


def duckdb_error() -> type[Exception]:
    import duckdb

    return duckdb.Error


def before_commit_hook(con: duckdb.DuckDBPyConnection) -> None:
    """Called just before COMMIT; tests replace it to simulate a crash mid-import."""


def _refine_reason(raw: str) -> str | None:
    """Why a line DuckDB could not read as an object failed, in words a user can act on."""
    import json

    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as exc:
        return f"not valid JSON: {exc.msg} (column {exc.colno})"
    if not isinstance(obj, dict):
        return f"not a JSON object (a {type(obj).__name__})"
    return None


def timed() -> float:
    return time.perf_counter()
