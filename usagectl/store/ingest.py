"""Bulk import of canonical records: stage with DuckDB's readers, validate in SQL, keep
rejects with their reasons, insert what is new. One file = one transaction, or many files
(a Claude Code tree) = one transaction with one ``import_batches`` row per file
(``import_staged_files``).

Every canonical column is staged as text and validated here, so a bad value becomes a
reject with a reason (``input_tokens: negative (-3)``) instead of a NULL or a crash.
"""

from __future__ import annotations

import functools
import gc
import math
import operator
import re
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from usagectl.errors import InputError, was_interrupted
from usagectl.models import (
    EVENT_COLUMN_NAMES,
    EVENT_COLUMNS,
    LONE_SURROGATE,
    Record,
    excerpt,
    has_lone_surrogate,
    json_failure,
    not_an_object,
    noun,
    without_lone_surrogate,
    without_lone_surrogates_in,
)
from usagectl.store.engine import compression_of, literal
from usagectl.store.tables import load_temp_table
from usagectl.store.transactions import rollback
from usagectl.store.validation import _absent_value, _event_id_sql, _lit, _q, _validation_select

if TYPE_CHECKING:
    from concurrent.futures import Future

    import duckdb

    from usagectl.importers.canonical import CsvChunk

_KINDS = dict(EVENT_COLUMNS)
RAW_MAX = 4000  # characters of a rejected record kept
# how the reason of a stored row moved to rejects starts (store.billing: another fetch shape won;
# the row, as it was stored, can come back): such a reject is not about a line of its file
MOVED = "removed from the stored rows: "
# The longest line DuckDB's JSON readers take: each reading thread reserves twice this, under
# the import's memory limit, so a whole tree is read with DuckDB's default (16 MB). A file with
# a longer line (a Claude Code transcript holding a pasted PDF or a big tool result) fails its
# batch, is then read on its own (services.imports) with up to LONG_LINE_BYTES.
LINE_BYTES = 16 * 1024 * 1024
LONG_LINE_BYTES = 256 * 1024 * 1024


@dataclass
class BatchInfo:
    source: str
    path: Path | str
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


def find_unchanged_batch(
    con: duckdb.DuckDBPyConnection, fingerprint: str, fmt: str, size: int | None = None
) -> int | None:
    """The finished batch that already read these bytes AS ``fmt`` (a file read with the wrong
    format before is read again with the right one), or None. With ``size``, a batch that
    recorded another size did not read these bytes: an import from a pipe by an older usagectl hashed
    the stream, then read nothing and recorded size 0: that must not make the file look imported."""
    row = con.execute(
        "SELECT batch_id FROM import_batches WHERE fingerprint = ? AND source = ? AND finished_at IS NOT NULL "
        "AND (CAST(? AS BIGINT) IS NULL OR file_size IS NULL OR file_size = ?) ORDER BY batch_id LIMIT 1",
        [fingerprint, fmt, size, size],
    ).fetchone()
    return int(row[0]) if row else None


def find_unchanged_batches(con: duckdb.DuckDBPyConnection, fingerprints: list[str], fmt: str) -> dict[str, int]:
    """Of these fingerprints, those a finished batch of format ``fmt`` already has:
    {fingerprint: batch_id}. One query for a whole tree (a re-import of 12k unchanged files
    costs their stats and this)."""
    if not fingerprints:
        return {}
    # nothing of this format imported yet (a first import): no need to ship 12k fingerprints
    if con.execute("SELECT NOT EXISTS (SELECT 1 FROM import_batches WHERE source = ?)", [fmt]).fetchone() == (True,):
        return {}
    load_temp_table(con, "_fps", [("fp", "VARCHAR")], [(f,) for f in fingerprints])
    rows = con.execute(
        "SELECT b.fingerprint, min(b.batch_id) FROM import_batches b JOIN _fps f ON f.fp = b.fingerprint "
        "WHERE b.finished_at IS NOT NULL AND b.source = ? GROUP BY b.fingerprint",
        [fmt],
    ).fetchall()
    con.execute("DROP TABLE _fps")
    return {str(r[0]): int(r[1]) for r in rows}


def last_batch_id(con: duckdb.DuckDBPyConnection) -> int:
    """The newest batch's id (0 when there is none). Batch ids come from a sequence and one
    writer holds the database at a time, so the batches a run commits are exactly those above
    the id read when it began (``batches_after``)."""
    row = con.execute("SELECT coalesce(max(batch_id), 0) FROM import_batches").fetchone()
    return int(row[0]) if row else 0


def batches_after(con: duckdb.DuckDBPyConnection, batch_id: int) -> tuple[int, int]:
    """(files, records imported) of the batches committed after ``batch_id``: what a run that
    was interrupted or failed kept. The database, not the run's own tally, is asked because
    Ctrl-C can land after a file's COMMIT and before the run noted it. A transaction the
    failure left open is rolled back first: its rows were never committed and must not count."""
    rollback(con)  # usually none is open: the import rolled it back
    row = con.execute(
        "SELECT count(*), coalesce(sum(imported), 0) FROM import_batches WHERE batch_id > ?", [batch_id]
    ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


# ---------------------------------------------------------------- staging (format-specific)
# Each stager creates TEMP TABLE _stage(_rec, _line, _raw, _problem, <canonical cols as text>, _unknown)


# ``extra`` read by DuckDB's JSON reader as JSON, to text: a string that holds JSON text (as
# ``export --json/--jsonl`` write ``extra``, as a CSV cell and a JSON array document hold it)
# is that JSON, so it merges with the unknown keys beside it; any other string stays a string
_JSONL_EXTRA = (
    "CASE WHEN json_type(extra) = 'VARCHAR' AND json_valid(extra->>'$') THEN extra->>'$' ELSE extra::VARCHAR END"
)


# ``canonical.is_null_text`` in SQL: ``extra`` given as the text of the JSON null
NULL_TEXT_SQL = "trim(extra, ' ' || chr(9) || chr(10) || chr(13)) = 'null'"
# ``canonical.fields_key`` in SQL: the first of fields, fields_2, fields_3, ... that is no key of
# ``extra`` (one more name than it has keys: one of them is free)
FIELDS_KEY_SQL = (
    "list_filter(list_concat(['fields'], list_transform(range(2, len(json_keys(extra)) + 3), "
    "lambda n: 'fields_' || n::VARCHAR)), lambda k: NOT list_contains(json_keys(extra), k))[1]"
)
# a row whose unknown columns share a key with its ``extra`` object, which has its own ``fields``:
# validation would merge them into that ``fields`` (json_merge_patch), overwriting the user's value.
# Only a text holding "fields" (or a \u escape, which may spell it) is parsed: most extras are not.
_FIELDS_TAKEN_SQL = (
    "CASE WHEN extra IS NULL OR _unknown IS NULL THEN false "
    """WHEN NOT contains(extra, '"fields"') AND NOT contains(extra, '\\u') THEN false """
    "WHEN NOT json_valid(extra) THEN false "
    "ELSE json_type(extra) = 'OBJECT' AND list_contains(json_keys(extra), 'fields') "
    "AND len(list_intersect(json_keys(_unknown), json_keys(extra))) > 0 END"
)


def _given_extra(select: str, unknown: bool) -> str:
    """``select`` (a stager's rows: ``extra`` as text, ``_unknown``) with ``extra`` made what
    validation merges as the README says: the JSON null given as text is no ``extra`` (as
    ``"extra": null`` is); and when ``unknown`` (the file has unknown columns), a row whose
    unknown columns clash with its ``extra`` object that has its own ``fields`` gets them
    under the first of ``fields_2``, ``fields_3``, ... the object lacks (``FIELDS_KEY_SQL``),
    merged here, with no ``_unknown`` left for validation (which would merge them into the
    user's ``fields``). Every other row reaches validation as before: its extra and id do not change."""
    # only a text holding "null" is trimmed: trimming every extra cost ~1.5 µs a record
    no_null = f"CASE WHEN extra IS NULL OR NOT contains(extra, 'null') THEN extra WHEN {NULL_TEXT_SQL} THEN NULL ELSE extra END"
    if not unknown:
        return f"SELECT * REPLACE ({no_null} AS extra) FROM ({select})"
    merged = f"json_merge_patch(extra, json_object({FIELDS_KEY_SQL}, _unknown::JSON))::VARCHAR"
    return (
        f"SELECT * EXCLUDE (_taken) REPLACE (CASE WHEN _taken THEN {merged} ELSE {no_null} END AS extra, "
        "CASE WHEN _taken THEN NULL ELSE _unknown END AS _unknown) "
        f"FROM (SELECT *, {_FIELDS_TAKEN_SQL} AS _taken FROM ({select}))"
    )


def _stage_select(present: Iterable[str], unknown: list[str], problem_sql: str, rec_sql: str) -> str:
    present_set = set(present)
    cols = [
        (_JSONL_EXTRA if c == "extra" else f"{_q(c)}::VARCHAR") + f" AS {_q(c)}"
        if c in present_set
        else f"NULL::VARCHAR AS {_q(c)}"
        for c in EVENT_COLUMN_NAMES
    ]
    if unknown:
        unknown_sql = (
            "json_merge_patch('{}', json_object("
            + ", ".join(f"{_lit(u)}, {_q(u)}" for u in sorted(unknown))
            + "))::VARCHAR"
        )
    else:
        unknown_sql = "NULL::VARCHAR"
    return (
        f"SELECT {rec_sql} AS _rec, NULL::BIGINT AS _line, NULL::VARCHAR AS _raw, {problem_sql} AS _problem, "
        + ", ".join(cols)
        + f", {unknown_sql} AS _unknown"
    )


class CaseClash(Exception):
    """A JSONL file's keys differ only in case from each other or from a canonical column;
    ``keys``: its unknown keys (kept in ``extra``)."""

    def __init__(self, keys: list[str]) -> None:
        super().__init__(", ".join(keys))
        self.keys = keys


# DuckDB's file readers take a folder named ``key=value`` above a file for a Hive partition and
# add (or overwrite!) a column ``key``: a JSONL file under ``member=alice/`` would store every
# record's member as alice (QA). usagectl reads each file as it is written.
NO_HIVE = "hive_partitioning = false"


def stage_jsonl(con: duckdb.DuckDBPyConnection, path: Path, left_out: set[str] | None = None) -> list[str]:
    """Stage a JSONL file; returns the unknown top-level keys found (kept in ``extra``). The
    derived columns of an event export (``canonical.export_derived``) are not read; their names
    go to ``left_out``."""
    from usagectl.importers._keys import FULL_SCAN_BYTES, sampled_keys
    from usagectl.importers.canonical import export_derived

    unknown: list[str] = []
    try:
        # the keys of every record of a file of up to FULL_SCAN_BYTES, and of every compressed
        # one (it cannot be sampled without reading it whole: a key first seen after its first
        # 5,000 records was dropped); of a larger plain one, of its first 5,000 records and of
        # lines sampled across it
        compressed = path.suffix.lower() in (".gz", ".zst")
        whole = compressed or path.stat().st_size <= FULL_SCAN_BYTES
        rows = con.execute(
            "SELECT DISTINCT k FROM (SELECT unnest(json_keys(json)) AS k FROM "
            f"(SELECT json FROM read_ndjson_objects(?, ignore_errors = true, compression = '{compression_of(path)}', {NO_HIVE})"
            f"{'' if whole else ' LIMIT 5000'}) "
            "WHERE json_type(json) = 'OBJECT')",
            [literal(str(path))],
        ).fetchall()
        found = {r[0] for r in rows}
        if not whole and not compressed:
            found |= sampled_keys(path)
        keys = sorted(found)
        derived = export_derived(keys)
        unknown = [k for k in keys if k not in _KINDS and k not in derived]
        if left_out is not None:
            left_out.update(derived)
    except Exception as exc:  # a file the key scan cannot parse: staged without unknown columns
        if was_interrupted(exc):  # DuckDB raises Ctrl-C as an exception: not a parse error
            raise
        unknown = []
    folded = [u.lower() for u in unknown]
    canonical = {c.lower() for c in EVENT_COLUMN_NAMES}
    clash = [u for u, f in zip(unknown, folded, strict=True) if f in canonical or folded.count(f) > 1 or not u]
    # DuckDB's reader takes keys apart by name regardless of case, and an empty key is no
    # column name it can be given: read in Python instead
    if clash:
        raise CaseClash(unknown)
    columns: dict[str, str] = {c: ("JSON" if c == "extra" else "VARCHAR") for c in EVENT_COLUMN_NAMES}
    for u in unknown:
        columns[u] = "JSON"
    all_null = " AND ".join(f"{_q(c)} IS NULL" for c in columns)
    select = _stage_select(EVENT_COLUMN_NAMES, unknown, f"CASE WHEN {all_null} THEN 'unparseable' END", "NULL::BIGINT")
    # a view, not a table: the file is read once, in parallel and in file order, straight into
    # the validated table, whose rowid then gives each record's number (no window function:
    # it would make everything after it single-threaded)
    read = (
        f"{select} FROM read_ndjson({_lit(literal(str(path)))}, columns = {_struct_lit(columns)}, "
        f"ignore_errors = true, compression = '{compression_of(path)}', {NO_HIVE}, maximum_object_size = {LINE_BYTES})"
    )
    con.execute(f"CREATE OR REPLACE TEMP VIEW _stage AS {_given_extra(read, bool(unknown))}")
    return unknown


def _struct_lit(columns: dict[str, str]) -> str:
    return "{" + ", ".join(f"{_lit(k)}: {_lit(v)}" for k, v in columns.items()) + "}"


def stage_parquet(con: duckdb.DuckDBPyConnection, path: Path, left_out: set[str] | None = None) -> list[str]:
    """Stage a Parquet file; returns its unknown columns (kept in ``extra``). The derived
    columns of an event export (``canonical.export_derived``) are not read; their names go to
    ``left_out``."""
    from usagectl.importers.canonical import export_derived

    described = con.execute(f"DESCRIBE SELECT * FROM read_parquet(?, {NO_HIVE})", [literal(str(path))]).fetchall()
    # each column by its name in the file, and the name DuckDB reads it under (the same, but
    # for names that differ only in case: DuckDB renames the later ones ``ts_1``, and the
    # file's own ``ts`` would be missing: QA)
    src = _parquet_names(path, [str(r[0]) for r in described])
    types = {real: str(r[1]) for real, r in zip(src, described, strict=True)}
    derived = export_derived(types)
    if left_out is not None:
        left_out.update(derived)
    # a record's number is DuckDB's file_row_number, unless the file has a column of that name
    # (the option would clash with it: QA, the file failed): then the scan's own order numbers
    # the rows (kept in file order), and the column is the file's own, kept in ``extra``
    own_row_number = "file_row_number" in types
    unknown = [c for c in types if c not in _KINDS and c not in derived]
    present = [c for c in EVENT_COLUMN_NAMES if c in types]

    def as_text(c: str) -> str:
        t, q = types[c].upper(), _q(src[c])
        if t.startswith(("STRUCT", "MAP")) or t.endswith("[]"):
            return f"to_json({q})::VARCHAR"
        if t.startswith("TIMESTAMP") and "TIME ZONE" not in t:
            return f"strftime({q}, '%Y-%m-%dT%H:%M:%S.%fZ')"
        return f"{q}::VARCHAR"

    cols = [f"{as_text(c)} AS {_q(c)}" if c in present else f"NULL::VARCHAR AS {_q(c)}" for c in EVENT_COLUMN_NAMES]
    unknown_sql = (
        "json_merge_patch('{}', json_object("
        + ", ".join(f"{_lit(u)}, {_q(src[u])}" for u in sorted(unknown))
        + "))::VARCHAR"
        if unknown
        else "NULL::VARCHAR"
    )
    rec, option = (
        ("row_number() OVER ()", "") if own_row_number else ("file_row_number + 1", "file_row_number = true, ")
    )
    read = (
        f"SELECT {rec} AS _rec, NULL::BIGINT AS _line, NULL::VARCHAR AS _raw, NULL::VARCHAR AS _problem, "
        + ", ".join(cols)
        + f", {unknown_sql} AS _unknown FROM read_parquet(?, {option}{NO_HIVE})"
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE _stage AS {_given_extra(read, bool(unknown))}", [literal(str(path))])
    # raw text of a Parquet record, for rejects: the row as JSON
    return unknown


def _parquet_names(path: Path, described: list[str]) -> dict[str, str]:
    """{name in the file: name DuckDB reads it under}, in the file's order. DuckDB renames a
    column whose name another one already has, in another case or the same (``TS``, ``ts`` ->
    ``TS``, ``ts_1``); only then is the file's own schema read (pyarrow). A name the file gives
    two columns refuses it (``InputError``), as a CSV header naming a column twice is: their
    values may disagree and neither can be chosen (QA: the import crashed)."""
    folded = {d.lower() for d in described}
    renamed = any((m := _RENAMED.fullmatch(d)) is not None and m.group(1).lower() in folded for d in described)
    if renamed:
        import pyarrow.parquet as pq

        real = pq.read_schema(path).names
        if (twice := next((name for i, name in enumerate(real) if name in real[:i]), None)) is not None:
            raise InputError(
                f"{path}: the Parquet file names column {twice!r} twice: "
                "their values may disagree and neither can be chosen"
            )
        if len(real) == len(described):
            return dict(zip(real, described, strict=True))
    return {d: d for d in described}


_RENAMED = re.compile(r"(.+)_[0-9]+")


def stage_csv(
    con: duckdb.DuckDBPyConnection, chunks: Iterable[CsvChunk], left_out: set[str] | None = None
) -> list[str]:
    """Stage a canonical CSV read by ``canonical.read_csv_chunks``; returns the unknown columns
    (kept in ``extra``) as the warning names them. The derived columns of an event export
    (``canonical.export_derived``) are not read; their names go to ``left_out``."""
    import pyarrow as pa

    from usagectl.importers.canonical import export_derived
    from usagectl.store.engine import full

    full()  # con.register of a pyarrow table: store/engine.py

    con.execute(
        "CREATE OR REPLACE TEMP TABLE _stage (_rec BIGINT, _line BIGINT, _raw VARCHAR, _problem VARCHAR, "
        + ", ".join(f"{_q(c)} VARCHAR" for c in EVENT_COLUMN_NAMES)
        + ", _unknown VARCHAR)"
    )
    unknown: list[str] = []
    renamed: dict[str, str] = {}
    rec = 0
    for chunk in chunks:
        header = chunk.columns
        derived = export_derived(header)
        if left_out is not None:
            left_out.update(derived)
        unknown = [h for h in header if h not in _KINDS and h not in derived]
        renamed = chunk.renamed
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
                # in key order, as every stager keeps them: validation.EXTRA_ID_SQL hashes them so
                json.dumps({u: row[index[u]] for u in unknown if row[index[u]] is not None}, sort_keys=True)
                for row in chunk.rows
            ]
        else:
            data["_unknown"] = [None] * n
        table = pa.table(
            {k: pa.array(v, type=pa.int64() if k in ("_rec", "_line") else pa.string()) for k, v in data.items()}
        )
        con.register("_csv_chunk", table)
        try:
            con.execute(f"INSERT INTO _stage {_given_extra('SELECT * FROM _csv_chunk', bool(unknown))}")
        finally:
            con.unregister("_csv_chunk")
    # the warning says which names were made up (an empty or repeated header name)
    return [f"{u} ({renamed[u]})" if u in renamed else u for u in unknown]


# A chunk of fewer records goes to DuckDB as one JSON text instead of Arrow: pyarrow's first
# conversion of Python values imports pandas (~0.3 s), which a small import would pay for a
# few records; from about this size on Arrow is the faster way in (50k records: ~0.6 s
# against ~0.85 s).
SMALL_CHUNK = 5_000


def _insert_small(
    con: duckdb.DuckDBPyConnection, batch: list[tuple[int, Record]], filled: list[str], with_fi: bool, table: str
) -> None:
    """``batch`` into ``table`` (``_stage``) through ``tables.insert_columns``: the columns some record
    fills (``filled``), the others left NULL; the same texts as the Arrow path."""
    from usagectl.store.tables import insert_columns

    rows = [r for _, r in batch]
    columns = [("_rec", "BIGINT"), ("_line", "BIGINT"), ("_raw", "VARCHAR"), ("_problem", "VARCHAR")]
    data: list[list[Any]] = [
        [r.rec for r in rows],
        [r.line for r in rows],
        [(r.raw[:RAW_MAX] if r.raw and r.problem else None) for r in rows],
        [r.problem for r in rows],
    ]
    for c in filled:
        columns.append((_q(c), "VARCHAR"))
        data.append([staged_text(r.fields.get(c)) for r in rows])
    if with_fi:
        columns.append(("_fi", "BIGINT"))
        data.append([fi for fi, _ in batch])
    insert_columns(con, table, columns, data)


def _text_array(values: Sequence[Any]) -> Any:
    """``values`` as an Arrow text array, as ``staged_text`` writes each: a column of text or of
    integers (nearly all of them) is converted by Arrow at once, one of timestamps, amounts or
    an object per record by one map, the rest value by value."""
    import pyarrow as pa

    kinds = set(map(type, values))
    nulls = type(None) in kinds
    kinds.discard(type(None))
    if kinds <= {str}:
        return _arrow_text(values)
    if kinds == {int}:
        try:
            return pa.array(values, pa.int64()).cast(pa.string())
        except (pa.ArrowInvalid, OverflowError):  # beyond 64 bits: the text of each, for the checks to refuse
            pass
    # a column of one other kind (``ts``, ``reported_cost_usd``, ``extra``): staged_text's text
    # of each by one map, without its tests per value and the cache below (a LiteLLM chunk's
    # three such columns: ~1/4 less; what is left is mostly the JSON encoding of ``extra``)
    if kinds == {datetime}:
        return _arrow_text(_each(datetime.isoformat, values, nulls))
    if kinds == {Decimal}:
        return _arrow_text(_each(_decimal_text, values, nulls))
    if kinds == {dict} and len(set(map(id, values))) == len(values) - (values.count(None) - 1 if nulls else 0):
        encode = _json_text()  # an object per record: the cache of shared ones below would not pay
        texts = _each(encode, values, nulls)
        for i, encoded in enumerate(texts):
            if encoded is not None and "\\ud" in encoded:  # as staged_text: a lone surrogate becomes U+FFFD
                texts[i] = encode(without_lone_surrogates_in(values[i]))
        return _arrow_text(texts)
    seen: dict[int, str | None] = {}  # a dict or list shared by many records is encoded once

    def text(v: Any) -> str | None:
        if isinstance(v, (dict, list)):
            key = id(v)  # the values are alive for the whole call: an id names one object
            if key not in seen:
                seen[key] = staged_text(v)
            return seen[key]
        return staged_text(v)

    return _arrow_text([text(v) for v in values])


def _each(fn: Callable[[Any], str], values: Sequence[Any], nulls: bool) -> list[str | None]:
    """``fn`` of each value, None for None (``nulls``: there is one)."""
    if not nulls:
        return list(map(fn, values))
    return [None if v is None else fn(v) for v in values]


_decimal_text = operator.methodcaller("__format__", "f")  # format(d, "f"), as staged_text writes an amount


def _arrow_text(texts: Sequence[Any]) -> Any:
    """Texts as an Arrow array; a lone surrogate (what a JSON ``"\\ud800"`` escape decodes to)
    cannot be UTF-8, so such a text keeps U+FFFD in its place instead of failing the import."""
    import pyarrow as pa

    try:
        return pa.array(texts, pa.string())
    except UnicodeEncodeError:
        return pa.array([without_lone_surrogate(t) if isinstance(t, str) else t for t in texts], pa.string())


@functools.cache
def _json_text() -> Callable[[Any], str]:
    """One compact JSON encoder for every dict or list staged (``json.dumps`` with arguments
    builds a new one per call). A JSON number the exact reader kept as a Decimal (``1.50`` in an
    ``extra`` object or a column kept in it) is written as a number, as DuckDB's JSONL reader
    keeps it (it reads numbers as doubles): written as text, the same event from a JSON array and
    from JSONL got two ids (QA)."""
    import json
    from json import encoder

    c_encoder = getattr(encoder, "c_make_encoder", None)
    if c_encoder is None:  # no C accelerator
        return json.JSONEncoder(separators=(",", ":"), default=_json_default).encode
    # the C encoder ``JSONEncoder.encode`` builds again for every value, built once (a fifth of
    # what a LiteLLM row's ``extra`` costs to encode), with the same arguments but the check for
    # circular references: staged values are parsed JSON or built of it, never circular
    slow = json.JSONEncoder(separators=(",", ":"), default=_json_default).encode
    try:  # a private function: if another Python calls it otherwise, the public encoder
        make = c_encoder(None, _json_default, encoder.encode_basestring_ascii, None, ":", ",", False, False, True)
        probe = {"a": [1, 2.5, "\u00e9", None, True], "b": Decimal("1.50")}
        if "".join(make(probe, 0)) != slow(probe):
            return slow
    except Exception:  # any failure of the private call means: do not use it
        return slow
    return lambda value: "".join(make(value, 0))


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal) and math.isfinite(number := float(value)):
        return number
    return str(value)


def staged_text(value: Any) -> str | None:
    """A record's field as staging writes it (text; the store's checks type it)."""
    kind = type(value)
    if kind is str or value is None:  # the common cases first: this runs once per field of every record
        return value  # type: ignore[no-any-return]
    if kind is int:
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        text = _json_text()(value)
        # a lone surrogate is escaped as \udXXX, which no JSON reader takes: U+FFFD instead
        return _json_text()(without_lone_surrogates_in(value)) if "\\ud" in text else text
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, str):
        return value
    return str(value)


def stage_records(
    con: duckdb.DuckDBPyConnection, records: Iterable[Record], chunk_rows: int = 50_000, *, table: str = "_stage"
) -> list[str]:
    """Stage an importer's records (Python-parsed formats) in bulk, in Arrow chunks, into
    ``table`` (another name than ``_stage``: records staged beside a file's own, ``billing``)."""
    return _stage_records(con, ((0, r) for r in records), False, chunk_rows, table)


def stage_record_files(
    con: duckdb.DuckDBPyConnection, records: Iterable[tuple[int, Record]], chunk_rows: int = 50_000
) -> list[str]:
    """``stage_records`` for many files read in one transaction (``import_staged_files``):
    ``records`` are (index of the file, record), each file's records numbered from 1."""
    return _stage_records(con, records, True, chunk_rows)


def _stage_records(
    con: duckdb.DuckDBPyConnection,
    records: Iterable[tuple[int, Record]],
    with_fi: bool,
    chunk_rows: int,
    table: str = "_stage",
) -> list[str]:
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {table} (_rec BIGINT, _line BIGINT, _raw VARCHAR, _problem VARCHAR, "
        + ", ".join(f"{_q(c)} VARCHAR" for c in EVENT_COLUMN_NAMES)
        + ", _unknown VARCHAR"
        + (", _fi BIGINT)" if with_fi else ")")
    )
    unknown: set[str] = set()

    def flush(batch: list[tuple[int, Record]]) -> None:
        rows = [r for _, r in batch]
        present: set[str] = set()
        for r in rows:
            present.update(r.fields)
        unknown.update(present - _KINDS.keys())
        if len(rows) < SMALL_CHUNK:
            _insert_small(con, batch, [c for c in EVENT_COLUMN_NAMES if c in present], with_fi, table)
            return
        import pyarrow as pa

        from usagectl.store.engine import full

        full()  # con.register of a pyarrow table: store/engine.py
        data: dict[str, Any] = {
            "_rec": pa.array([r.rec for r in rows], pa.int64()),
            "_line": pa.array([r.line for r in rows], pa.int64()),
            "_raw": _arrow_text([(r.raw[:RAW_MAX] if r.raw and r.problem else None) for r in rows]),
            "_problem": _arrow_text([r.problem for r in rows]),
        }
        filled = [c for c in EVENT_COLUMN_NAMES if c in present]
        # the filled columns' values, row by row through each record's ``get`` and turned into
        # columns by zip (both in C: a third of what one pass per column over the records costs)
        values = dict(zip(filled, zip(*[tuple(map(r.fields.get, filled)) for r in rows]), strict=True))
        for c in EVENT_COLUMN_NAMES:  # a column no record of the chunk fills is NULLs, not a text per row
            data[c] = _text_array(values[c]) if c in values else pa.nulls(len(rows), pa.string())
        data["_unknown"] = pa.nulls(len(rows), pa.string())
        if with_fi:
            data["_fi"] = pa.array([fi for fi, _ in batch], pa.int64())
        con.register("_rec_chunk", pa.table(data))
        try:
            con.execute(f"INSERT INTO {table} SELECT * FROM _rec_chunk")
        finally:
            con.unregister("_rec_chunk")

    batch: list[tuple[int, Record]] = []
    copies: dict[int, int] = {}  # per file: records that repeat one before them (``Record.repeats``)
    if table == "_stage":  # records beside a file's own leave its copies' count alone
        con.execute("DROP TABLE IF EXISTS _copies")
    # the readers make many small objects and no cycles: the cyclic collector's passes over
    # them cost ~15 % of a big batch's staging (5,000 Codex sessions: 1.5 s)
    collecting = gc.isenabled()
    gc.disable()
    try:
        for item in records:
            if item[1].repeats:
                copies[item[0]] = copies.get(item[0], 0) + 1
                continue
            batch.append(item)
            if len(batch) >= chunk_rows:
                flush(batch)
                batch = []
        if batch:
            flush(batch)
    finally:
        if collecting:
            gc.enable()
    if unknown:
        raise ValueError(f"importer produced non-canonical fields: {sorted(unknown)}")
    if copies:
        load_temp_table(con, "_copies", [("_fi", "BIGINT"), ("n", "BIGINT")], sorted(copies.items()))
    return []


# ---------------------------------------------------------------- the transaction

# A hook run just before the INSERT of new rows, for rules the conflict rule cannot see. It
# reads the view ``_new`` (the rows about to be inserted: every canonical column, ``_rid``,
# ``_fi``, ``batch_id``), creates TEMP TABLE ``_skip(_rid)`` (new rows to leave out: they count
# as duplicates of a stored copy) and TEMP TABLE ``_drop_stored(event_id)`` (stored rows of
# earlier imports to delete), and returns {batch_id: stored rows that batch replaced}.
BeforeInsert = Callable[["duckdb.DuckDBPyConnection", list[int]], dict[int, int]]

# A step run in the transaction on the validated rows (TEMP TABLE ``_checked``) of a single file,
# given its batch id, before anything is inserted: it may give rows a ``_reason`` (rejects of the
# file) and add rows, for rules that weigh rows against the stored ones (an event export's provider
# buckets: ``billing.settle_checked_buckets``). It returns how many stored rows the file's rows
# replaced (counted as such), or None when it had nothing to do.
Settle = Callable[["duckdb.DuckDBPyConnection", int], "int | None"]

# What a rejected record's location is: (line, raw text), or (line, raw text, reason) when the
# importer can say better why the line failed; a reason of "" means "not a record after all"
# (a line the fast reader could not map but that the format skips), which is then dropped.
Located = Mapping[int, tuple[int, str] | tuple[int, str, str | None]]


def import_staged(
    con: duckdb.DuckDBPyConnection,
    info: BatchInfo,
    stage: Callable[[duckdb.DuckDBPyConnection], list[str]],
    resolve_models: Callable[[list[str]], dict[str, tuple[str | None, str | None]]],
    locate_rejects: Callable[[set[int]], Located] | None = None,
    default_source: str = "jsonl",
    conflict: str = "keep",
    *,
    max_usage_sources: Collection[str] = (),
    settle: Settle | None = None,
    before_commit: Callable[[duckdb.DuckDBPyConnection, list[int]], None] | None = None,
) -> tuple[BatchCounts, list[str]]:
    """Stage, validate and commit one file in one transaction; roll back on any failure.

    ``conflict`` is one of CONFLICT_RULES and decides what a record whose event_id is
    already known (in the file or stored) does; ``max_usage_sources``, ``settle`` and
    ``before_commit``: see ``import_staged_files``."""
    locate = (lambda _fi, recs: locate_rejects(recs)) if locate_rejects is not None else None
    counts, warnings = import_staged_files(
        con,
        [info],
        stage,
        resolve_models,
        locate_rejects=locate,
        default_source=default_source,
        conflict=conflict,
        max_usage_sources=max_usage_sources,
        settle=settle,
        before_commit=before_commit,
    )
    return counts[0], warnings


def import_staged_files(
    con: duckdb.DuckDBPyConnection,
    infos: list[BatchInfo],
    stage: Callable[[duckdb.DuckDBPyConnection], list[str]],
    resolve_models: Callable[[list[str]], dict[str, tuple[str | None, str | None]]],
    locate_rejects: Callable[[int, set[int]], Located] | None = None,
    default_source: str = "jsonl",
    conflict: str = "keep",
    before_insert: BeforeInsert | None = None,
    prechecked: bool = False,
    before_commit: Callable[[duckdb.DuckDBPyConnection, list[int]], None] | None = None,
    max_usage_sources: Collection[str] = (),
    settle: Settle | None = None,
) -> tuple[list[BatchCounts], list[str]]:
    """Stage, validate and commit MANY files in ONE transaction (one ``import_batches`` row
    per file, so counts stay per file and an unchanged file is found by its own fingerprint).

    A stager of several files adds a column ``_fi`` (0-based index into ``infos``) and numbers
    ``_rec`` within each file; rejects then name their own file, line and record. A stager
    without ``_fi`` stages one file (``infos[0]``). ``locate_rejects(fi, recs)`` is called
    only for files that have rejected records. ``before_insert(con, batch_ids)`` may keep rows
    out that the conflict rule cannot see (Claude Code sidechain replays): see
    ``BeforeInsert``. Everything rolls back on any failure.

    ``prechecked``: the stager validates its rows itself and creates TABLE ``_checked``
    directly (``_rec, _line, _raw, _reason``, the canonical columns it fills, typed, and
    ``_fi``; see ``checked_select``), saving the generic text-validation copy of every row.
    Columns it leaves out take the values the generic path gives a missing field. The
    rejected rows are copied to TEMP TABLE ``_rejected`` in the transaction: every fix-up
    after the insert changes only them (an UPDATE of a few rows of a 1M-row ``_checked``
    reads all of it).

    ``before_commit(con, batch_ids)``, the batch ids in the order of ``infos``: written in the
    same transaction just before COMMIT (a sync's new file states), after ``before_commit_hook``.

    ``max_usage_sources`` (with ``conflict`` "keep"): the rows whose ``source`` is one of these
    follow "max-usage", as that source's importer does (an event export's Claude Code rows: the
    copy with the larger usage wins in either order); the others keep the first. ``settle``: see
    ``Settle`` (one file only)."""
    assert conflict in CONFLICT_RULES, conflict
    assert infos
    assert settle is None or len(infos) == 1
    # staged BEFORE the transaction: the stager's scratch tables (the Claude Code scan holds
    # ~400 MB for 1M records) are freed when it drops them, not held for the transaction's
    # snapshot until COMMIT, so the rest of the import runs without spilling to disk; the
    # staged rows are session scratch, the stored data still changes in one transaction
    try:
        unknown = stage(con)
        staged = "_checked" if prechecked else "_stage"
        staged_cols = {d[0] for d in con.execute(f"SELECT * FROM {staged} LIMIT 0").description or []}
    except BaseException as exc:
        _drop_staged(con)
        if isinstance(exc, duckdb_error()) and not was_interrupted(exc):  # Ctrl-C is not the file's fault
            what = infos[0].path if len(infos) == 1 else f"{infos[0].path} (and {len(infos) - 1} more files)"
            raise InputError(f"{what}: cannot be read as {default_source}: {str(exc).splitlines()[0]}") from exc
        raise
    con.execute("BEGIN TRANSACTION")
    try:
        after_begin_hook(con)
        ids = sorted(
            int(r[0]) for r in con.execute("SELECT nextval('import_batch_seq') FROM range(?)", [len(infos)]).fetchall()
        )
        now = datetime.now(UTC)
        load_temp_table(
            con,
            "_files",
            [("fi", "BIGINT"), ("batch_id", "BIGINT"), ("path", "VARCHAR"), ("line_offset", "BIGINT"),
             ("source", "VARCHAR"), ("file_size", "BIGINT"), ("file_mtime", "TIMESTAMPTZ"), ("fingerprint", "VARCHAR")],
            [(i, b, str(x.path), x.line_offset, x.source, x.file_size, x.file_mtime, x.fingerprint)
             for i, (b, x) in enumerate(zip(ids, infos))],
        )  # fmt: skip
        # the import_batches rows are written once, at the end, with their counts (an INSERT
        # now and an UPDATE then wrote every row twice into the log: for a 12k-file tree, 6.7
        # MB that COMMIT and the checkpoint at close then had to write out)
        if not prechecked:
            fi_sql = "_fi" if "_fi" in staged_cols else "0::BIGINT"
            con.execute(f"CREATE OR REPLACE TEMP TABLE _checked AS {_validation_select(default_source, fi_sql)}")
            # rowids inside a transaction start at an offset: number from the first one
            con.execute("UPDATE _checked SET _rec = rowid - (SELECT min(rowid) FROM _checked) + 1 WHERE _rec IS NULL")
        settled = settle(con, ids[0]) if settle is not None else None
        # the rejected rows apart, in a small table: every fix-up below changes only them
        con.execute("CREATE OR REPLACE TEMP TABLE _rejected AS SELECT * FROM _checked WHERE _reason IS NOT NULL")
        # every canonical column of _checked, or the value a missing field gets
        full = {c: _q(c) if c in staged_cols else _absent_value(c, default_source) for c in EVENT_COLUMN_NAMES}
        # the rejected records' lines are looked up in their files on a second thread while
        # DuckDB inserts the valid rows (it changes only rejected rows: fixed up after the insert)
        located = _start_locate(con, locate_rejects)

        # models: resolve each distinct raw name once; a source that gives both a raw name and
        # a model (a canonical event: a gateway's own name beside the canonical id, or an alias)
        # has its model resolved too, for the rows whose raw name is unknown
        raw_sql = f"coalesce({full['model_raw']}, {full['model']})"
        both = "model" in staged_cols and "model_raw" in staged_cols
        names = f"SELECT {raw_sql} AS n FROM _checked WHERE _reason IS NULL" + (
            " UNION ALL SELECT model FROM _checked WHERE _reason IS NULL AND model_raw IS NOT NULL" if both else ""
        )
        raws = [r[0] for r in con.execute(f"SELECT DISTINCT n FROM ({names}) WHERE n IS NOT NULL").fetchall()]
        mapping = resolve_models(raws)
        load_temp_table(
            con,
            "_model_map",
            [("raw", "VARCHAR"), ("model", "VARCHAR"), ("provider", "VARCHAR")],
            [(raw, m, p) for raw, (m, p) in mapping.items()],
        )
        try:
            cols = list(EVENT_COLUMN_NAMES)
            select_cols = []
            for c in cols:
                if c == "event_id":
                    select_cols.append("v.event_id")
                elif c == "model":
                    select_cols.append(f"coalesce(mm.model, {'mo.model, ' if both else ''}v.model, v.model_raw)")
                elif c == "model_raw":
                    select_cols.append("coalesce(v.model_raw, v.model)")
                elif c == "provider":
                    select_cols.append(f"coalesce(lower(v.provider), mm.provider{', mo.provider' if both else ''})")
                else:
                    select_cols.append(f"v.{_q(c)}")
            # a view: the valid rows are read once, by the INSERT below
            checked = "_checked"
            if any(c not in staged_cols for c in cols):  # prechecked: the missing columns' values
                checked = (
                    "(SELECT "
                    + ", ".join(f"{full[c]} AS {_q(c)}" for c in cols)
                    + ", _reason, _rec, _fi, rowid AS _rid "
                    "FROM _checked)"
                )
            con.execute(
                f"CREATE OR REPLACE TEMP VIEW _valid AS SELECT coalesce(nullif(event_id, ''), {_event_id_sql()}) AS event_id, "
                + ", ".join(f"{_q(c)}" for c in cols if c != "event_id")
                + f", _rec, _fi, {'_rid' if checked != '_checked' else 'rowid AS _rid'} FROM {checked} WHERE _reason IS NULL"
            )
            per_file = _insert_events(
                con,
                ids,
                [*cols, "band_input"],
                [*select_cols, _BAND_INPUT],
                conflict,
                before_insert,
                model_join=both,
                max_usage_sources=max_usage_sources,
                replaced_before={} if settled is None else {ids[0]: settled},
            )
        finally:
            con.execute("DROP TABLE IF EXISTS _model_map")
        _finish_locate(con, located)
        con.execute("UPDATE _rejected SET _reason = 'not a JSON object' WHERE _reason = 'unparseable'")
        # any rejected record still without raw text gets its staged fields as JSON
        missing_raw = con.execute("SELECT count(*) FROM _rejected WHERE _raw IS NULL").fetchone()
        if missing_raw and missing_raw[0] and prechecked:  # no text stage: the stored fields as JSON
            present = [c for c in EVENT_COLUMN_NAMES if c in staged_cols]
            con.execute(
                "UPDATE _rejected SET _raw = json_object("
                + ", ".join(f"{_lit(c)}, {_q(c)}::VARCHAR" for c in present)
                + ")::VARCHAR WHERE _raw IS NULL"
            )
        elif missing_raw and missing_raw[0]:
            raw_json = "json_object(" + ", ".join(f"{_lit(c)}, s.{_q(c)}" for c in EVENT_COLUMN_NAMES) + ")::VARCHAR"
            fi_s = "s._fi" if "_fi" in staged_cols else "0"
            con.execute(
                f"UPDATE _rejected SET _raw = {raw_json} FROM _stage s "
                f"WHERE _rejected._rec = s._rec AND _rejected._fi = {fi_s} AND _rejected._raw IS NULL"
            )
        # per_file: [imported, dup_in_file, dup_stored, replaced]; any of the first three means valid records
        supersede_rejects(con, "_files", [b for b, counts in zip(ids, per_file) if sum(counts[:3]) > 0])
        con.execute(
            "INSERT INTO rejects (batch_id, file, line, record, reason, raw) "
            "SELECT f.batch_id, f.path, c._line + f.line_offset, c._rec, c._reason, left(c._raw, ?) "
            "FROM _rejected c JOIN _files f ON f.fi = c._fi ORDER BY c._fi, c._rec",
            [RAW_MAX],
        )
        stats = {
            int(r[0]): (int(r[1]), int(r[2]))
            for r in con.execute(
                "SELECT _fi, count(*), count(*) FILTER (WHERE rejected) FROM (SELECT _fi, false AS rejected "
                "FROM _checked WHERE _reason IS NULL UNION ALL SELECT _fi, true FROM _rejected) GROUP BY _fi"
            ).fetchall()
        }
        copies = _copies(con)
        results: list[BatchCounts] = []
        rows = []
        for i, b in enumerate(ids):
            records, rejected = stats.get(i, (0, 0))
            imported, dup_in_file, dup_stored, replaced = per_file[i]
            records, dup_in_file = records + copies.get(i, 0), dup_in_file + copies.get(i, 0)
            results.append(
                BatchCounts(b, records, imported, dup_in_file + dup_stored, rejected, dup_in_file, dup_stored, replaced)
            )
            rows.append((b, records, imported, dup_in_file + dup_stored, rejected, dup_in_file, dup_stored, replaced))
        load_temp_table(
            con,
            "_counts",
            [("batch_id", "BIGINT"), ("records", "BIGINT"), ("imported", "BIGINT"), ("duplicates", "BIGINT"),
             ("rejected", "BIGINT"), ("dup_in_file", "BIGINT"), ("dup_stored", "BIGINT"), ("replaced", "BIGINT")],
            rows,
        )  # fmt: skip
        con.execute(
            "INSERT INTO import_batches (batch_id, source, path, file_size, file_mtime, fingerprint, started_at, "
            "finished_at, records, imported, duplicates, rejected, dup_in_file, dup_stored, replaced, dedup_rule, "
            "source_name) SELECT f.batch_id, f.source, f.path, f.file_size, f.file_mtime, f.fingerprint, ?, ?, "
            "c.records, c.imported, c.duplicates, c.rejected, c.dup_in_file, c.dup_stored, c.replaced, ?, ? "
            "FROM _files f JOIN _counts c ON c.batch_id = f.batch_id ORDER BY f.fi",
            [now, datetime.now(UTC), conflict, infos[0].source_name],
        )
        con.execute("DROP VIEW IF EXISTS _valid")
        for t in ("_counts", "_files"):
            con.execute(f"DROP TABLE IF EXISTS {t}")
        _drop_staged(con, failing=False)
        before_commit_hook(con)
        if before_commit is not None:
            before_commit(con, ids)
        con.execute("COMMIT")
    except BaseException:
        rollback(con)
        _drop_staged(con)  # made before the transaction: not rolled back
        raise
    return results, ([unknown_columns_warning(unknown)] if unknown else [])


def unknown_columns_warning(unknown: list[str], shown: int = 10) -> str:
    """``unknown columns kept in extra: a, b``: names quoted from the input, so each is a short
    printable excerpt, and a header of hundreds of columns names the first ``shown``."""
    names = ", ".join(excerpt(u, 40) for u in unknown[:shown])
    more = f", … and {len(unknown) - shown:,} more" if len(unknown) > shown else ""
    return f"unknown {noun(len(unknown), 'column')} kept in extra: {names}{more}"


def supersede_rejects(con: duckdb.DuckDBPyConnection, files: str, readable: Iterable[int] = ()) -> None:
    """A file read again from its start (``line_offset`` 0: changed, rewritten, or a format
    re-read whole on every change such as Codex rollouts) reports all its bad lines anew: the
    rejects earlier batches of the same format stored for that path go, so a bad line is
    listed once and a half-written line completed since is no longer listed. ``files`` is a
    table of (batch_id, path, source, line_offset) of this import. A sync that reads only a
    file's new tail keeps the earlier rejects: they are about other lines.

    ``readable``: the batches of this import that found valid records, i.e. read their file in
    its right format; they also supersede the rejects of earlier imports in ANY format (a file
    first imported with the wrong ``--format`` stops listing that attempt's rejects once it is
    imported right). A batch that found nothing valid (itself perhaps the wrong format) leaves
    other formats' rejects alone.

    A tail (``line_offset`` L > 0) supersedes the earlier rejects of its path from line L + 1 on:
    the sync that recorded L as read did not read past it, so such a reject came from a read
    that ran ahead of the recorded state (a line being written while a first sync read the
    file) and its line is read again now.

    Stored rows another import moved to rejects (reason ``MOVED``) stay: they were events, not
    lines of what the file holds now (a rolling ``latest.json`` rewritten with the next window),
    and may still come back (store.billing)."""
    load_temp_table(con, "_readable", [("batch_id", "BIGINT")], [(b,) for b in readable])
    con.execute(
        f"DELETE FROM rejects r USING {files} f, import_batches b WHERE r.file = f.path "
        "AND (f.line_offset = 0 OR r.line > f.line_offset) "
        "AND r.batch_id < f.batch_id AND b.batch_id = r.batch_id "
        "AND (b.source = f.source OR f.batch_id IN (SELECT batch_id FROM _readable)) "
        "AND NOT (r.line IS NULL AND starts_with(r.reason, ?))",
        [MOVED],
    )
    con.execute("DROP TABLE _readable")


def _copies(con: duckdb.DuckDBPyConnection) -> dict[int, int]:
    """Per file index, the records a Python stager counted and left out as repeats of an earlier
    record of the file (``Record.repeats``): duplicates within the file."""
    if con.execute("SELECT 1 FROM duckdb_tables() WHERE table_name = '_copies' AND temporary").fetchone() is None:
        return {}
    return {int(fi): int(n) for fi, n in con.execute("SELECT _fi, n FROM _copies").fetchall()}


def _drop_staged(con: duckdb.DuckDBPyConnection, *, failing: bool = True) -> None:
    """Drop what a stager and the validation made (``_stage`` may be a view or a table).
    A failure to drop is ignored (scratch of this session), except Ctrl-C landing in these
    queries on the way to COMMIT (``failing=False``): swallowed, the import would go on."""
    try:
        kind = con.execute(
            "SELECT CASE WHEN EXISTS (SELECT 1 FROM duckdb_views() WHERE view_name = '_stage') THEN 'VIEW' ELSE 'TABLE' END"
        ).fetchone()
        con.execute(f"DROP {kind[0] if kind else 'TABLE'} IF EXISTS _stage")
        for t in ("_checked", "_rejected", "_stage_lines", "_copies"):
            con.execute(f"DROP TABLE IF EXISTS {t}")
    except Exception as exc:  # on an error path the original error matters more
        if not failing and was_interrupted(exc):
            raise


def _start_locate(
    con: duckdb.DuckDBPyConnection, locate_rejects: Callable[[int, set[int]], Located] | None
) -> Future[list[tuple[int, int, int, str, str | None, bool]]] | None:
    """Look up the line numbers and raw text of rejected records, only in files that have
    some, on a second thread (file reading and Python; DuckDB runs meanwhile without the
    GIL). ``_finish_locate`` applies what it found."""
    if locate_rejects is None:
        return None
    wanted: dict[int, set[int]] = {}
    for fi, rec in con.execute("SELECT _fi, _rec FROM _rejected WHERE _raw IS NULL").fetchall():
        wanted.setdefault(int(fi), set()).add(int(rec))
    if not wanted:
        return None

    def work() -> list[tuple[int, int, int, str, str | None, bool]]:
        fixes: list[tuple[int, int, int, str, str | None, bool]] = []
        for fi, recs in sorted(wanted.items()):
            for rec, found in sorted(locate_rejects(fi, recs).items()):
                line, raw = found[0], found[1]
                why = found[2] if len(found) > 2 else _refine_reason(raw)
                fixes.append((fi, rec, line, raw[:RAW_MAX], why or None, why == ""))
        return fixes

    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(1, thread_name_prefix="usagectl-locate")
    try:
        return pool.submit(work)
    finally:
        pool.shutdown(wait=False)


def _finish_locate(
    con: duckdb.DuckDBPyConnection, located: Future[list[tuple[int, int, int, str, str | None, bool]]] | None
) -> None:
    """Apply the lines found by ``_start_locate`` to ``_rejected`` (its errors surface here)."""
    fixes = located.result() if located is not None else []
    if not fixes:
        return
    load_temp_table(
        con,
        "_fixes",
        [
            ("fi", "BIGINT"),
            ("rec", "BIGINT"),
            ("line", "BIGINT"),
            ("raw", "VARCHAR"),
            ("why", "VARCHAR"),
            ("skip", "BOOLEAN"),
        ],
        fixes,
    )
    con.execute(
        "UPDATE _rejected SET _line = f.line, _raw = f.raw, "
        "_reason = CASE WHEN _rejected._reason = 'unparseable' THEN coalesce(f.why, 'missing ts') ELSE _rejected._reason END "
        "FROM _fixes f WHERE _rejected._fi = f.fi AND _rejected._rec = f.rec"
    )
    # a line the fast reader could not map, that the format skips anyway (not a record)
    con.execute(
        "DELETE FROM _rejected WHERE EXISTS (SELECT 1 FROM _fixes f WHERE f.skip AND f.fi = _rejected._fi AND f.rec = _rejected._rec)"
    )
    con.execute("DROP TABLE _fixes")


# the per-request input that decides the context band of a row of many requests, when the row
# says which band its requests were in (migration 008): an Anthropic usage row of context_window
# "200k-1M" holds only requests over 200,000 input tokens. The inner CASE parses ``extra`` only
# for such rows (an agent's rows are single requests).
_BAND_INPUT = (
    "CASE WHEN v.requests <> 1 THEN "
    "CASE WHEN json_extract_string(v.extra, '$.context_window') = '200k-1M' THEN 200001 END END"
)

# the size of a copy under the max-usage rule: its tokens and requests (usage only grows: a
# streaming line before the final one, a provider bucket fetched before it was complete)
_USAGE = (
    "(input_tokens + cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens + output_tokens"
    " + requests + web_search_requests)"
)


# between copies of equal usage, the one that says more of how it was billed wins: a tier other
# than standard (fast mode) first, then an inference geo (``@us``), then the tier's name, so that
# the copy kept is the same whatever order the copies come in (a text: rank digit, then the name)
_TIER_KEY = (
    "(CAST(coalesce(split_part(service_tier, '@', 1) NOT IN ('', 'standard'), false) AS INTEGER) * 2 "
    "+ CAST(coalesce(contains(service_tier, '@'), false) AS INTEGER))::VARCHAR || coalesce(service_tier, '')"
)


# then the main-chain copy before a sidechain one (FORMATS.md §3: on a sidechain/non-sidechain
# conflict keep the parent's entry; a sidechain file may hold an exact copy of a parent line,
# and the kept copy decides whether the sidechain's replays of that message are dropped)
_SIDE_KEY = "coalesce(json_extract_string(extra, '$.isSidechain') = 'true', false)"


def _insert_events(
    con: duckdb.DuckDBPyConnection,
    ids: list[int],
    cols: list[str],
    select_cols: list[str],
    conflict: str,
    before_insert: BeforeInsert | None = None,
    *,
    model_join: bool = False,
    max_usage_sources: Collection[str] = (),
    replaced_before: Mapping[int, int] | None = None,
) -> list[list[int]]:
    """Insert the valid rows by the conflict rule; per file [imported, dup_in_file, dup_stored, replaced]
    (dup_in_file: lost to another copy in this batch; dup_stored: a stored copy stays, or the
    ``before_insert`` hook kept the row out; replaced: stored rows this file's rows replaced).
    ``model_join``: the rows' ``model`` is resolved too (``mo``), beside their raw name (``mm``).
    ``max_usage_sources``: with "keep", the rows of these sources follow "max-usage" (only when
    the batch holds one: the others keep the fast path). ``replaced_before``: per batch, stored
    rows its rows replaced before the insert (``Settle``), counted as replaced."""
    single = len(ids) == 1
    batch_sql = "?" if single else "f.batch_id"
    params: list[Any] = [ids[0]] if single else []
    insert = (
        f"INSERT INTO events ({', '.join(_q(c) for c in cols)}, batch_id) SELECT {', '.join(select_cols)}, {batch_sql} "
    )
    joins = (
        "LEFT JOIN _model_map mm ON mm.raw = coalesce(v.model_raw, v.model) "
        + ("LEFT JOIN _model_map mo ON mo.raw = v.model " if model_join else "")
        + ("" if single else "JOIN _files f ON f.fi = v._fi ")
    )
    valid = {int(r[0]): int(r[1]) for r in con.execute("SELECT _fi, count(*) FROM _valid GROUP BY _fi").fetchall()}
    out = [[0, 0, 0, 0] for _ in ids]
    if not valid:
        return out
    # record numbers are fixed in _checked; the inserts may run in parallel
    con.execute("SET preserve_insertion_order = false")
    mixed = ""  # with "keep": the SQL test of a row that follows max-usage, when the batch holds one
    if conflict == "keep" and max_usage_sources:
        listed = "(" + ", ".join(_lit(x) for x in sorted(max_usage_sources)) + ")"
        if con.execute(f"SELECT 1 FROM _valid WHERE source IN {listed} LIMIT 1").fetchone():
            mixed = f"source IN {listed}"
    try:
        if conflict == "keep" and single and before_insert is None and not mixed and not replaced_before:
            distinct = int(con.execute("SELECT count(DISTINCT event_id) FROM _valid").fetchone()[0])  # type: ignore[index]
            res = con.execute(
                insert
                + "FROM (SELECT * FROM _valid QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY _rec) = 1) v "
                + joins
                + "WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.event_id = v.event_id)",
                params,
            ).fetchone()
            inserted = int(res[0]) if res else 0
            n = valid.get(0, 0)
            return [[inserted, n - distinct, distinct - inserted, 0]]
        # max-usage: between copies of equal usage the one in a tier other than standard (Claude
        # Code's usage.speed "fast" on one content-block line and not on another) wins
        order = {"keep": "_fi, _rec", "replace": "_fi DESC, _rec DESC"}.get(
            conflict, "_usage DESC, _tier_key DESC, _side, _fi, _rec DESC"
        )
        if mixed:  # the copies of a max-usage source by that rule, the others first come first
            order = (
                f"CASE WHEN {mixed} THEN _usage END DESC NULLS LAST, CASE WHEN {mixed} THEN _tier_key END DESC "
                f"NULLS LAST, CASE WHEN {mixed} THEN _side END NULLS LAST, _fi, CASE WHEN {mixed} THEN -_rec ELSE _rec END"
            )
        # the window (a sort per event_id) runs only over the ids that occur more than once
        # (most are unique); its losers go to a small table, and the winners are a view read
        # by the INSERT straight from _checked (no copy of the valid rows). The repeated ids
        # are found by their hashes (grouping 1M integers, not 1M ~70-byte texts: half the
        # CPU); a collision only adds a candidate, which the window partitions by its id
        # _wfi: the file of the copy that won. A file's copies of an id that another file of this
        # import won count as they would with the files imported one by one: one as a copy
        # already stored (dup_stored), the others as copies within the file
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _losers AS SELECT _rid, _fi, event_id, first_value(_fi) OVER w AS _wfi "
            "FROM (SELECT _rid, _fi, _rec, event_id, source, "
            + _TIER_KEY
            + " AS _tier_key, "
            + _SIDE_KEY
            + " AS _side, "
            + _USAGE
            + " AS _usage FROM _valid v WHERE hash(event_id) IN "
            "(SELECT h FROM (SELECT hash(event_id) AS h FROM _valid) GROUP BY h HAVING count(*) > 1)) "
            f"WINDOW w AS (PARTITION BY event_id ORDER BY {order}) QUALIFY row_number() OVER w > 1"
        )
        con.execute("CREATE OR REPLACE TEMP VIEW _dedup AS SELECT * FROM _valid v ANTI JOIN _losers l USING (_rid)")
        if conflict == "keep" and not mixed:
            stale = "SELECT NULL::VARCHAR AS event_id, NULL::BIGINT AS _fi WHERE false"
        elif conflict == "replace":
            stale = "SELECT e.event_id, d._fi FROM events e JOIN _dedup d ON d.event_id = e.event_id"
        else:  # max-usage: a stored copy with less usage gives way; an equal or larger one stays,
            # unless the new one's tier key is greater, or equal and the new one is the main
            # chain's copy of a stored sidechain one (as in the window above)
            e_usage = _USAGE.replace("(", "(e.", 1).replace(" + ", " + e.")
            d_usage = _USAGE.replace("(", "(d.", 1).replace(" + ", " + d.")
            e_tier, d_tier = (_TIER_KEY.replace("service_tier", f"{t}.service_tier") for t in "ed")
            e_side, d_side = (_SIDE_KEY.replace("(extra", f"({t}.extra") for t in "ed")
            stale = (
                "SELECT e.event_id, d._fi FROM events e JOIN _dedup d ON d.event_id = e.event_id "
                f"WHERE ({e_usage} < {d_usage} OR ({e_usage} = {d_usage} "
                f"AND ({d_tier} > {e_tier} OR ({d_tier} = {e_tier} AND {e_side} AND NOT {d_side}))))"
            )
            if mixed:  # only a stored copy of the same max-usage source gives way
                stale += f" AND d.{mixed} AND e.source = d.source"
        con.execute(f"CREATE OR REPLACE TEMP TABLE _stale AS {stale}")
        replaced = {
            int(r[0]): int(r[1]) for r in con.execute("SELECT _fi, count(*) FROM _stale GROUP BY _fi").fetchall()
        }
        if replaced:
            con.execute("DELETE FROM events WHERE event_id IN (SELECT event_id FROM _stale)")
        new = "WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.event_id = v.event_id)"
        earlier: dict[int, int] = dict(replaced_before or {})
        if before_insert is not None:
            # decided before the INSERT: deleting rows appended in this transaction makes
            # DuckDB rewrite them all at COMMIT (~5 s for 1M rows)
            con.execute(
                f"CREATE OR REPLACE TEMP VIEW _new AS SELECT v.*, f.batch_id FROM _dedup v JOIN _files f ON f.fi = v._fi {new}"
            )
            for b, n in before_insert(con, ids).items():
                earlier[b] = earlier.get(b, 0) + n
            new += " AND NOT EXISTS (SELECT 1 FROM _skip k WHERE k._rid = v._rid)"
        con.execute(insert + "FROM _dedup v " + joins + new, params)
        if before_insert is not None:
            con.execute(
                "DELETE FROM events WHERE batch_id < ? AND event_id IN (SELECT event_id FROM _drop_stored)", [ids[0]]
            )
            for t in ("_skip", "_drop_stored"):
                con.execute(f"DROP TABLE {t}")
            con.execute("DROP VIEW _new")
        lost: dict[int, int] = {}
        elsewhere: dict[int, int] = {}  # of those, the ids another file of this import won
        for fi, n, other in con.execute(
            "SELECT _fi, count(*), count(DISTINCT event_id) FILTER (WHERE _wfi <> _fi) FROM _losers GROUP BY _fi"
        ).fetchall():
            lost[int(fi)], elsewhere[int(fi)] = int(n), int(other)
        winners = {i: n - lost.get(i, 0) for i, n in valid.items()}
        written = {
            int(r[0]): int(r[1])
            for r in con.execute(
                "SELECT batch_id, count(*) FROM events WHERE batch_id BETWEEN ? AND ? GROUP BY batch_id",
                [ids[0], ids[-1]],
            ).fetchall()
        }
        con.execute("DROP VIEW _dedup")
        con.execute("DROP TABLE _losers")
        con.execute("DROP TABLE _stale")
        for i, b in enumerate(ids):
            w, n, d, r = written.get(b, 0), valid.get(i, 0), winners.get(i, 0), replaced.get(i, 0)
            r = min(r + earlier.get(b, 0), w)  # one coarse row replaced by many: never more than written
            x = elsewhere.get(i, 0)
            out[i] = [w - r, n - d - x, d - w + x, r]
        return out
    finally:
        con.execute("SET preserve_insertion_order = true")


def duckdb_error() -> type[Exception]:
    from usagectl.store.engine import core as duckdb

    return duckdb.Error


def after_begin_hook(con: duckdb.DuckDBPyConnection) -> None:
    """Called right after BEGIN, before the import reads what is stored: a CSV row read cut off
    gives way to the finished row here (``services.cut_rows``)."""


def before_commit_hook(con: duckdb.DuckDBPyConnection) -> None:
    """Called just before COMMIT; tests replace it to simulate a crash mid-import."""


def _refine_reason(raw: str) -> str | None:
    """Why a line DuckDB could not read as an object failed, in words a user can act on."""
    import json

    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as exc:
        return f"not valid JSON: {json_failure(exc)}"
    if not isinstance(obj, dict):
        return not_an_object(obj)
    if ("\\ud" in raw or "\\uD" in raw) and has_lone_surrogate(obj):  # DuckDB's reader refuses the line
        return LONE_SURROGATE
    return None


def timed() -> float:
    return time.perf_counter()
