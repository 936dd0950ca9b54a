"""Claude Code transcripts staged by DuckDB, many files in one pass.

``stage(con, paths)`` reads every line of every file ONCE with ``read_ndjson_objects`` (one
row per non-blank line, a malformed line as a NULL row, ``file_index`` telling the files
apart) and keeps, in file order, one row per line in ``_stage_lines``: so a row's position in
its file is its record number (non-blank lines, as
``usagectl.importers.canonical.locate_jsonl_records`` counts them). Only lines whose text
contains ``"usage"`` are parsed further: one ``json_extract_string`` with a list of paths
parses such a line once and returns every field usagectl keeps (half the lines are user
lines; they cost the scan and nothing else). ``_stage`` (the text schema of
``usagectl.store.ingest``) keeps the usage lines and the malformed ones, with ``_fi`` (index
into ``paths``) and ``_rec`` (record number in that file); the line numbers and raw text of
the few rejected rows are looked up afterwards by the importer's ``locate``.

Why not ``read_ndjson`` with nested ``columns``: on duckdb 2.0.1 it slows down more than
linearly with the number of files (8k files took 3.5x the time of 4k); the object reader
counts the 12k files of a 1M-record tree in ~2.5 s here. What remains costly is keeping the
rows in file order (the price of record numbers without a window: an unordered copy of the
same rows takes about half the time). A key spelled with escapes (``"\\u0075sage"``) is not
found by the string search; Claude Code never writes one.

Mapping (FORMATS.md section 3): input excludes cache; cache writes split 5m/1h from
``usage.cache_creation`` when present, else all of ``cache_creation_input_tokens`` at 5m;
``event_id = "claude-code:" + message.id + ":" + requestId`` (empty when absent, so gateway
lines still dedup); a message without an id gets a hash of its content (timestamp, session,
model, usage). Skipped silently: lines without ``message.usage``, typed lines other than
``assistant``, and ``<synthetic>`` messages.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

SOURCE = "claude-code"
_PDIR = re.compile(r"[/\\]projects[/\\]([^/\\]+)[/\\]")
CHUNK_FILES = 100_000  # files per scan (the object reader scales linearly: one scan)
# (name, JSON path) of every field read from a usage line, in one json_extract_string call
_PATHS = (
    ("type", "$.type"),
    ("timestamp", "$.timestamp"),
    ("sessionId", "$.sessionId"),
    ("requestId", "$.requestId"),
    ("uuid", "$.uuid"),
    ("version", "$.version"),
    ("gitBranch", "$.gitBranch"),
    ("isSidechain", "$.isSidechain"),
    ("cwd", "$.cwd"),
    ("costUSD", "$.costUSD"),
    ("mid", "$.message.id"),
    ("model", "$.message.model"),
    ("usage", "$.message.usage"),
    ("u_in", "$.message.usage.input_tokens"),
    ("u_ccin", "$.message.usage.cache_creation_input_tokens"),
    ("u_cr", "$.message.usage.cache_read_input_tokens"),
    ("u_cc", "$.message.usage.cache_creation"),
    ("u_c5", "$.message.usage.cache_creation.ephemeral_5m_input_tokens"),
    ("u_c1", "$.message.usage.cache_creation.ephemeral_1h_input_tokens"),
    ("u_out", "$.message.usage.output_tokens"),
    ("u_tier", "$.message.usage.service_tier"),
    ("u_ws", "$.message.usage.server_tool_use.web_search_requests"),
    ("u_speed", "$.message.usage.speed"),
)
_KEEP = "(usage IS NOT NULL AND (type IS NULL OR type = 'assistant') AND coalesce(model, '') <> '<synthetic>')"
# canonical columns (text), computed for kept rows only
_FIELDS = {
    "event_id": (
        f"'{SOURCE}:' || CASE WHEN nullif(mid, '') IS NOT NULL THEN mid || ':' || coalesce(requestId, '') "
        "ELSE 'h:' || md5(concat_ws(chr(31), timestamp, sessionId, model, u_in, u_out, u_cr, u_ccin, u_c5, u_c1)) END"
    ),
    "ts": "timestamp",
    "source": f"'{SOURCE}'",
    "provider": "'anthropic'",
    "model_raw": "model",
    "requests": "'1'",
    "input_tokens": "u_in",
    "cache_read_tokens": "u_cr",
    "cache_write_5m_tokens": "CASE WHEN u_cc IS NOT NULL THEN u_c5 ELSE u_ccin END",
    "cache_write_1h_tokens": "u_c1",
    "output_tokens": "u_out",
    "web_search_requests": "u_ws",
    "service_tier": "u_tier",
    "session_id": "sessionId",
    "message_id": "mid",
    "reported_cost_usd": "costUSD",
    "extra": (
        "json_merge_patch('{}', json_object('requestId', requestId, 'uuid', uuid, 'version', version, "
        "'gitBranch', gitBranch, 'isSidechain', TRY_CAST(isSidechain AS BOOLEAN), 'cwd', cwd, "
        "'speed', u_speed))::VARCHAR"
    ),
}
_PROBLEM = (
    "CASE WHEN _bad THEN 'unparseable' WHEN u_in IS NULL AND u_out IS NULL "
    "THEN 'message.usage: no token counts (input_tokens and output_tokens missing, or usage is not an object)' END"
)


def _project_dir(path: str) -> str | None:
    """The directory right below a ``projects`` directory on the path (first match)."""
    m = _PDIR.search(path)
    return m.group(1) if m and m.group(1) else None


def stage(con: duckdb.DuckDBPyConnection, path_or_paths: Path | str | Sequence[Path | str]) -> list[str]:
    """Create ``_stage`` (ingest's text schema plus ``_fi``) over one file or many; returns []
    (no unknown columns: everything not mapped is simply not read)."""
    from usagectl.models import EVENT_COLUMN_NAMES
    from usagectl.store.tables import load_temp_table

    paths = [str(path_or_paths)] if isinstance(path_or_paths, (str, Path)) else [str(p) for p in path_or_paths]
    plist = "[" + ", ".join(f"'{p}'" for _, p in _PATHS) + "]"
    # every line, in file order (the rowid numbers them), kept narrow: the file, whether the
    # line is malformed (NULL) or not an object, and for a line whose text contains "usage"
    # (a string search, no parsing) the list of fields, from one parse of the line
    obj = "starts_with(ltrim(left(json::VARCHAR, 64)), '{')"
    select = (
        f"SELECT file_index + $offset AS _fi, json IS NULL OR NOT {obj} AS _bad, "
        f"CASE WHEN contains(json::VARCHAR, '\"usage\"') AND {obj} THEN json_extract_string(json, {plist}) END AS v "
        "FROM read_ndjson_objects($files, ignore_errors = true, maximum_object_size = 16777216)"
    )
    for start in range(0, len(paths), CHUNK_FILES):
        params = {"files": paths[start : start + CHUNK_FILES], "offset": start}
        if start == 0:
            con.execute(f"CREATE OR REPLACE TEMP TABLE _stage_lines AS {select}", params)
        else:
            con.execute(f"INSERT INTO _stage_lines {select}", params)
    load_temp_table(con, "_cc_files", [("fi", "BIGINT"), ("pdir", "VARCHAR")],
                    [(i, _project_dir(p)) for i, p in enumerate(paths)])  # fmt: skip
    fields = ", ".join(f"l.v[{i}] AS {name}" for i, (name, _) in enumerate(_PATHS, 1))
    cols = []
    for c in EVENT_COLUMN_NAMES:
        if c == "project":
            cols.append(
                "CASE WHEN _keep THEN coalesce(pdir, nullif(regexp_extract(cwd, '([^/\\\\]+)[/\\\\]*$', 1), '')) END "
                "AS project"
            )
        elif c in _FIELDS:
            cols.append(f"CASE WHEN _keep THEN {_FIELDS[c]} END AS {c}")
        else:
            cols.append(f"NULL::VARCHAR AS {c}")
    con.execute(
        "CREATE OR REPLACE TEMP VIEW _stage AS SELECT _rec, NULL::BIGINT AS _line, NULL::VARCHAR AS _raw, "
        f"CASE WHEN _keep THEN {_PROBLEM} END AS _problem, " + ", ".join(cols) + ", NULL::VARCHAR AS _unknown, _fi "
        f"FROM (SELECT *, _bad OR coalesce({_KEEP}, false) AS _keep FROM (SELECT l.rowid - s.first + 1 AS _rec, "
        f"l._fi, l._bad, f.pdir, {fields} FROM _stage_lines l "
        "JOIN (SELECT _fi, min(rowid) AS first FROM _stage_lines GROUP BY _fi) s ON s._fi = l._fi "
        "JOIN _cc_files f ON f.fi = l._fi WHERE l._bad OR l.v IS NOT NULL)) WHERE _keep"
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
