"""Claude Code transcripts staged by DuckDB's JSON reader, many files in one pass.

``stage(con, paths)`` reads every line of every file with ``read_ndjson`` (explicit, nested
STRUCT columns: only the fields usagectl keeps; ``ignore_errors`` turns a malformed line into
an all-NULL row; ``file_index`` tells the files apart) into ``_stage_lines``, in file order,
so a row's position in its file is its record number (non-blank lines, as
``usagectl.importers.canonical.locate_jsonl_records`` counts them). ``_stage`` (the text
schema of ``usagectl.store.ingest``) keeps the usage lines and the malformed ones, with
``_fi`` (index into ``paths``) and ``_rec`` (record number in that file); the line numbers
and raw text of the few rejected rows are looked up afterwards by the importer's ``locate``.

Mapping (FORMATS.md section 3): input excludes cache; cache writes split 5m/1h from
``usage.cache_creation`` when present, else all of ``cache_creation_input_tokens`` at 5m;
``event_id = "claude-code:" + message.id + ":" + requestId`` (empty when absent, so gateway
lines still dedup); a message without an id gets a hash of its content (timestamp, session,
model, usage). Skipped silently: lines without ``message.usage``, typed lines other than
``assistant``, and ``<synthetic>`` messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

SOURCE = "claude-code"
CHUNK_FILES = 2000
_V = "VARCHAR"
_USAGE = (
    "STRUCT(input_tokens VARCHAR, cache_creation_input_tokens VARCHAR, cache_read_input_tokens VARCHAR, "
    "cache_creation STRUCT(ephemeral_5m_input_tokens VARCHAR, ephemeral_1h_input_tokens VARCHAR), "
    "output_tokens VARCHAR, service_tier VARCHAR, server_tool_use STRUCT(web_search_requests VARCHAR), speed VARCHAR)"
)
COLUMNS = {
    "type": _V,
    "timestamp": _V,
    "sessionId": _V,
    "requestId": _V,
    "uuid": _V,
    "version": _V,
    "gitBranch": _V,
    "isSidechain": _V,
    "cwd": _V,
    "costUSD": _V,
    "message": f"STRUCT(id VARCHAR, model VARCHAR, usage {_USAGE})",
}
_ALL_NULL = " AND ".join(f'"{c}" IS NULL' for c in COLUMNS)
_KEEP = (
    "(message.usage IS NOT NULL AND (type IS NULL OR type = 'assistant') "
    "AND coalesce(message.model, '') <> '<synthetic>')"
)
_U = "message.usage"
# canonical columns (text), computed for kept rows only
_FIELDS = {
    "event_id": (
        f"'{SOURCE}:' || CASE WHEN nullif(message.id, '') IS NOT NULL "
        "THEN message.id || ':' || coalesce(requestId, '') "
        "ELSE 'h:' || md5(concat_ws(chr(31), timestamp, sessionId, message.model, "
        f"{_U}.input_tokens, {_U}.output_tokens, {_U}.cache_read_input_tokens, "
        f"{_U}.cache_creation_input_tokens, {_U}.cache_creation.ephemeral_5m_input_tokens, "
        f"{_U}.cache_creation.ephemeral_1h_input_tokens)) END"
    ),
    "ts": "timestamp",
    "source": f"'{SOURCE}'",
    "provider": "'anthropic'",
    "model_raw": "message.model",
    "requests": "'1'",
    "input_tokens": f"{_U}.input_tokens",
    "cache_read_tokens": f"{_U}.cache_read_input_tokens",
    "cache_write_5m_tokens": (
        f"CASE WHEN {_U}.cache_creation IS NOT NULL THEN {_U}.cache_creation.ephemeral_5m_input_tokens "
        f"ELSE {_U}.cache_creation_input_tokens END"
    ),
    "cache_write_1h_tokens": f"{_U}.cache_creation.ephemeral_1h_input_tokens",
    "output_tokens": f"{_U}.output_tokens",
    "web_search_requests": f"{_U}.server_tool_use.web_search_requests",
    "service_tier": f"{_U}.service_tier",
    "session_id": '"sessionId"',
    "message_id": "message.id",
    "reported_cost_usd": '"costUSD"',
    "extra": (
        "json_merge_patch('{}', json_object('requestId', requestId, 'uuid', uuid, 'version', version, "
        "'gitBranch', gitBranch, 'isSidechain', TRY_CAST(isSidechain AS BOOLEAN), 'cwd', cwd, "
        f"'speed', {_U}.speed))::VARCHAR"
    ),
}
_PROBLEM = (
    f"CASE WHEN {_ALL_NULL} THEN 'unparseable' "
    f"WHEN {_U}.input_tokens IS NULL AND {_U}.output_tokens IS NULL "
    "THEN 'message.usage: no token counts (input_tokens and output_tokens missing, or usage is not an object)' END"
)


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def stage(con: duckdb.DuckDBPyConnection, path_or_paths: Path | str | Sequence[Path | str]) -> list[str]:
    """Create ``_stage`` (ingest's text schema plus ``_fi``) over one file or many; returns []
    (no unknown columns: everything not mapped is simply not read)."""
    from usagectl.models import EVENT_COLUMN_NAMES

    paths = [str(path_or_paths)] if isinstance(path_or_paths, (str, Path)) else [str(p) for p in path_or_paths]
    columns = "{" + ", ".join(f"{_lit(k)}: {_lit(v)}" for k, v in COLUMNS.items()) + "}"
    kept = [f"CASE WHEN _keep THEN {expr} END AS {name}" for name, expr in _FIELDS.items()]
    # all lines, in file order (the rowid numbers them); non-usage lines keep no values.
    # The file list is read in chunks: one read_ndjson over many thousands of files slows
    # down more than linearly (8k files took 3.5x the time of 4k on duckdb 2.0.1).
    select = (
        "SELECT _fi, _keep, "
        f"CASE WHEN _keep THEN {_PROBLEM} END AS _problem, "
        "CASE WHEN _keep THEN regexp_extract(filename, '[/\\\\]projects[/\\\\]([^/\\\\]+)[/\\\\]', 1) END AS _pdir, "
        + ", ".join(kept)
        + ", CASE WHEN _keep THEN regexp_extract(cwd, '([^/\\\\]+)[/\\\\]*$', 1) END AS _cwd_base "
        f"FROM (SELECT *, file_index + $offset AS _fi, ({_KEEP} OR ({_ALL_NULL})) AS _keep "
        f"FROM read_ndjson($files, columns = {columns}, ignore_errors = true, filename = true, "
        "maximum_object_size = 16777216))"
    )
    for start in range(0, len(paths), CHUNK_FILES):
        params = {"files": paths[start : start + CHUNK_FILES], "offset": start}
        if start == 0:
            con.execute(f"CREATE OR REPLACE TEMP TABLE _stage_lines AS {select}", params)
        else:
            con.execute(f"INSERT INTO _stage_lines {select}", params)
    cols = []
    for c in EVENT_COLUMN_NAMES:
        if c == "project":
            cols.append("coalesce(nullif(l._pdir, ''), nullif(l._cwd_base, '')) AS project")
        elif c in _FIELDS:
            cols.append(f"l.{c}")
        else:
            cols.append(f"NULL::VARCHAR AS {c}")
    con.execute(
        "CREATE OR REPLACE TEMP VIEW _stage AS SELECT l.rowid - s.first + 1 AS _rec, NULL::BIGINT AS _line, "
        "NULL::VARCHAR AS _raw, l._problem, " + ", ".join(cols) + ", NULL::VARCHAR AS _unknown, l._fi "
        "FROM _stage_lines l JOIN (SELECT _fi, min(rowid) AS first FROM _stage_lines GROUP BY _fi) s "
        "ON s._fi = l._fi WHERE l._keep"
    )
    return []


def drop_sidechain_replays(
    con: duckdb.DuckDBPyConnection, batch_ids: list[int]
) -> tuple[dict[int, int], dict[int, int]]:
    """Remove sidechain copies of messages a main-chain line also holds (FORMATS.md dup #4:
    ``/btw`` and sub-agent files replay a parent message with the same ``message.id`` and a new
    ``requestId``, including its cache-read usage). The main-chain copy is kept whichever was
    imported first; a sidechain message with an id of its own counts as usual.

    Returns ({batch: removed rows of that batch}, {batch: stored rows of earlier batches
    removed because this batch brought their main-chain copy})."""
    lo, hi = min(batch_ids), max(batch_ids)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _cc_ids AS SELECT DISTINCT message_id FROM events "
        "WHERE batch_id BETWEEN ? AND ? AND source = ? AND message_id IS NOT NULL",
        [lo, hi, SOURCE],
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _cc_pairs AS SELECT e.event_id, e.batch_id, e.message_id, "
        "coalesce(json_extract_string(e.extra, '$.isSidechain') = 'true', false) AS side "
        "FROM events e JOIN _cc_ids i ON i.message_id = e.message_id WHERE e.source = ?",
        [SOURCE],
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _cc_drop AS SELECT s.event_id, s.batch_id, "
        "(SELECT max(m.batch_id) FROM _cc_pairs m WHERE NOT m.side AND m.message_id = s.message_id) AS by_batch "
        "FROM _cc_pairs s WHERE s.side AND EXISTS "
        "(SELECT 1 FROM _cc_pairs m WHERE NOT m.side AND m.message_id = s.message_id)"
    )
    removed: dict[int, int] = {}
    earlier: dict[int, int] = {}
    for event_batch, by_batch, n in con.execute(
        "SELECT batch_id, by_batch, count(*) FROM _cc_drop GROUP BY ALL"
    ).fetchall():
        if lo <= event_batch <= hi:
            removed[int(event_batch)] = removed.get(int(event_batch), 0) + int(n)
        else:  # attributed to the file of this batch that brought the main-chain copy
            b = int(by_batch) if by_batch is not None and lo <= by_batch <= hi else lo
            earlier[b] = earlier.get(b, 0) + int(n)
    con.execute("DELETE FROM events WHERE event_id IN (SELECT event_id FROM _cc_drop)")
    for t in ("_cc_ids", "_cc_pairs", "_cc_drop"):
        con.execute(f"DROP TABLE {t}")
    return removed, earlier
