"""Claude Code transcripts staged by DuckDB, many files in one pass.

``stage(con, paths)`` reads every line of every file ONCE with ``read_ndjson_objects`` (one
row per non-blank line, a malformed line as a NULL row, ``file_index`` telling the files
apart) and keeps, in file order, one row per line in the scan tables (``_scan``: one ordered
table per range of files, read in parallel): so a row's position in its file is its record
number (non-blank lines, as
``usagectl.importers.canonical.locate_jsonl_records`` counts them). Only lines whose text
contains ``"usage"`` are parsed further: one ``json_extract_string`` with a list of paths
parses such a line once and returns every field usagectl keeps (half the lines are user
lines; they cost the scan and nothing else). The two object-valued fields (``usage``,
``usage.cache_creation``) are only tested for presence, and not by writing them out as text: a
usage field with a value proves ``usage`` is there, a 5m or 1h count proves the split is, and
only a rare line without either proof (no usage field at all; the key ``"cache_creation"`` in
its text without a count) pays a second parse for the two objects. The list is then small enough
to stay in memory under the import's memory limit.

From each scan table in turn an unordered copy makes (part of) ``_checked`` directly, and the
scan table is dropped before the next (ingest's ``prechecked`` contract; ingest stages before
its transaction, so the memory is free at once and the import stays under its memory limit
without spilling): the usage lines and the malformed ones, with ``_fi`` (index into ``paths``),
``_rec`` (record number in that file), the canonical columns this format fills, validated by
the store's own checks (``validation.checked_select``: the same reasons and values as the generic text
path) and typed, and ``extra`` built as JSON. The line numbers and raw text of the few
rejected rows are looked up afterwards by the importer's ``locate``.

Why not ``read_ndjson`` with nested ``columns``: on duckdb 2.0.1 it slows down more than
linearly with the number of files (8k files took 3.5x the time of 4k); the object reader
counts the 12k files of a 1M-record tree in ~2.5 s here; ``read_ndjson`` with the fields
typed costs about twice the CPU of this scan plus ``json_extract_string``. What remains
costly is keeping the rows in file order (the price of record numbers: an unordered copy
takes ~3 s less CPU on 1M records; ``WITH ORDINALITY`` numbers them in a single-threaded
pipeline; numbering lines by splitting each file's text with ``read_text`` needs gigabytes or
spills; see benchmarks/RESULTS-claude-code.md). A key spelled with escapes
(``"\\u0075sage"``) is not found by the string search; Claude Code never writes one.

Mapping (FORMATS.md section 3): input excludes cache; cache writes split 5m/1h from
``usage.cache_creation`` when present (and adding up to a non-zero total), else all of
``cache_creation_input_tokens`` at 5m;
fast mode (``usage.speed = "fast"``) is stored as service tier ``fast``;
``event_id = "claude-code:" + message.id + ":" + requestId`` (empty when absent, so gateway
lines still dedup; an id holding ``:`` or ``%`` percent-encoded: ``_id_part``); a message without an id is keyed by its requestId alone (``r:``), else by a
hash of its session, model and input side (``importers.claude_code._HASHED``: not the output,
lower in a partial streaming line, nor the line's timestamp, its own in every content-block line). Skipped silently: lines without ``message.usage``, typed lines other than
``assistant``, and ``<synthetic>`` messages.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from usagectl.models import NO_GEO, SPLIT_OFF_NOTE, STANDARD_TIERS, sql_list

if TYPE_CHECKING:
    import duckdb

SOURCE = "claude-code"
CHUNK_FILES = 100_000  # files per scan (the object reader scales linearly: one scan)
PROGRESS_EVERY = 0.25  # seconds between looks at the scan's progress (``_ScanProgress``)
SCRATCH = "_usagectl_cc_scan"  # in-memory database holding the scan tables
# the scan runs with this multiple of the import's memory limit: see ``_scan_memory_limit``
SCAN_MEMORY_FACTOR = 1.25
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
    ("u_geo", "$.message.usage.inference_geo"),
)
_PRESENCE = ("usage", "u_cc")  # object-valued fields only tested for presence (IS NOT NULL)
# the fields below message.usage: any of them with a value proves message.usage is an object
_USAGE_FIELDS = ("u_in", "u_ccin", "u_cr", "u_c5", "u_c1", "u_out", "u_tier", "u_ws", "u_speed", "u_geo")
_KEEP = "(usage IS NOT NULL AND (type IS NULL OR type = 'assistant') AND coalesce(model, '') <> '<synthetic>')"
# the tier with fast mode (``usage.speed``), as ``importers._values.anthropic_tier`` makes it
_SPEED = (
    "CASE WHEN coalesce(lower(trim(u_speed)), '') IN ('', 'standard') THEN u_tier "
    f"WHEN coalesce(lower(trim(u_tier)), '') IN {sql_list(STANDARD_TIERS)} THEN lower(trim(u_speed)) "
    "ELSE lower(trim(u_tier)) || '+' || lower(trim(u_speed)) END"
)
# a 5m/1h split that does not add up to a non-zero ``cache_creation_input_tokens`` (all counts
# numbers): not used, all of the total at 5m, as without a split (``importers.claude_code.
# parse_line``); a count that is not a number is left to validation, which rejects the line
_SPLIT_OFF = (  # the usual lines (no total, or one count the total and the other none or 0) by text alone
    "CASE WHEN u_cc IS NULL OR u_ccin IS NULL OR u_ccin = '0' THEN false "
    "WHEN u_c5 = u_ccin AND coalesce(u_c1, '0') = '0' THEN false WHEN u_c1 = u_ccin AND coalesce(u_c5, '0') = '0' THEN false "
    "ELSE coalesce(TRY_CAST(u_ccin AS BIGINT) <> 0 "
    "AND (u_c5 IS NULL OR TRY_CAST(u_c5 AS BIGINT) IS NOT NULL) AND (u_c1 IS NULL OR TRY_CAST(u_c1 AS BIGINT) IS NOT NULL) "
    "AND coalesce(TRY_CAST(u_c5 AS BIGINT)::HUGEINT, 0) + coalesce(TRY_CAST(u_c1 AS BIGINT), 0) <> TRY_CAST(u_ccin AS BIGINT), false) END"
)


def _id_part(col: str) -> str:
    """An id as a part of an event id (``importers.claude_code.id_part``): as it is, unless it
    holds ``:`` or ``%`` (``%`` then ``:`` percent-encoded), or is ``r`` or ``h`` (``%r``, ``%h``:
    an encoding never makes those), which would make two pairs of ids one key. The usual ids
    (``msg_…``, ``req_…``) stay as they are, and with them the keys already stored."""
    return (
        f"CASE WHEN strpos({col}, ':') = 0 AND strpos({col}, '%') = 0 AND {col} NOT IN ('r', 'h') THEN {col} "
        f"WHEN {col} IN ('r', 'h') THEN '%' || {col} "
        f"ELSE replace(replace({col}, '%', '%25'), ':', '%3A') END"
    )


# canonical columns as text (validated by ingest's generic checks), for kept rows only
_TEXT = {
    "event_id": (
        f"'{SOURCE}:' || CASE WHEN nullif(mid, '') IS NOT NULL THEN {_id_part('mid')} || ':' || "
        f"coalesce({_id_part('requestId')}, '') "
        f"WHEN nullif(requestId, '') IS NOT NULL THEN 'r:' || {_id_part('requestId')} "
        "ELSE 'h:' || md5(concat_ws(chr(31), sessionId, model, u_in, u_cr, u_ccin, u_c5, u_c1) || "
        # concat_ws skips NULLs: a line without cache_read and one without cache_creation of the
        # same number would hash alike. Which parts are there follows, unless the usual ones are
        # (all, or all but the 5m/1h split): their keys stay as they were (importers.claude_code)
        "CASE WHEN sessionId IS NOT NULL AND model IS NOT NULL AND u_in IS NOT NULL AND u_cr IS NOT NULL "
        "AND u_ccin IS NOT NULL AND (u_c5 IS NULL) = (u_c1 IS NULL) THEN '' ELSE chr(30) || "
        "concat((sessionId IS NOT NULL)::INT, (model IS NOT NULL)::INT, (u_in IS NOT NULL)::INT, "
        "(u_cr IS NOT NULL)::INT, (u_ccin IS NOT NULL)::INT, (u_c5 IS NOT NULL)::INT, (u_c1 IS NOT NULL)::INT) END) END"
    ),
    "ts": "timestamp",
    "model_raw": "model",
    "input_tokens": "u_in",
    "cache_read_tokens": "u_cr",
    "cache_write_5m_tokens": f"CASE WHEN u_cc IS NOT NULL AND NOT {_SPLIT_OFF} THEN u_c5 ELSE u_ccin END",
    "cache_write_1h_tokens": f"CASE WHEN NOT {_SPLIT_OFF} THEN u_c1 END",
    "output_tokens": "u_out",
    "web_search_requests": "u_ws",
    "service_tier": (  # fast mode and US-only inference bill apart: importers._values.anthropic_tier
        f"CASE WHEN coalesce(lower(trim(u_geo)), '') IN {sql_list(NO_GEO)} THEN {_SPEED} "
        f"ELSE coalesce({_SPEED}, 'standard') || '@' || lower(trim(u_geo)) END"
    ),
    "project": "coalesce(pdir, nullif(regexp_extract(cwd, '([^/\\\\]+)[/\\\\]*$', 1), ''))",
    "session_id": "sessionId",
    "message_id": "mid",
    "reported_cost_usd": "costUSD",
}
# columns of their final type: constants, and ``extra`` built as JSON here (valid by construction)
# (``source`` and ``requests`` are left out: absent, they take the import's format and 1, at
# INSERT time, instead of 30 MB of constants in ``_checked`` per 1M records)
_TYPED = {
    "provider": "'anthropic'",
    "extra": (  # the fields present (json_merge_patch drops the NULLs); a line with the usual
        # six and no speed skips the merge, a third of this column's CPU (same text)
        "CASE WHEN requestId IS NOT NULL AND uuid IS NOT NULL AND version IS NOT NULL AND gitBranch IS NOT NULL "
        f"AND isSidechain IN ('true', 'false') AND cwd IS NOT NULL AND u_speed IS NULL AND NOT {_SPLIT_OFF} "
        "THEN json_object('requestId', requestId, 'uuid', uuid, 'version', version, 'gitBranch', gitBranch, "
        "'isSidechain', isSidechain = 'true', 'cwd', cwd) "
        "ELSE json_merge_patch('{}', json_object('requestId', requestId, 'uuid', uuid, 'version', version, "
        "'gitBranch', gitBranch, 'isSidechain', TRY_CAST(isSidechain AS BOOLEAN), 'cwd', cwd, "
        f"'speed', u_speed, 'cache_write_split', CASE WHEN {_SPLIT_OFF} THEN '{SPLIT_OFF_NOTE}' END)) END"
    ),
}
_PROBLEM = (
    "CASE WHEN _bad THEN 'unparseable' WHEN u_in IS NULL AND u_out IS NULL "
    "THEN 'message.usage: no token counts (input_tokens and output_tokens missing, or usage is not an object)' END"
)


def stage(
    con: duckdb.DuckDBPyConnection,
    path_or_paths: Path | str | Sequence[Path | str],
    sizes: Sequence[int] | None = None,
    names: Sequence[str] | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> list[str]:
    """Create TABLE ``_checked`` (ingest's ``prechecked`` contract: validated, typed, only the
    columns this format fills) over one file or many; returns [] (no unknown columns:
    everything not mapped is simply not read). ``sizes``: the files' sizes in bytes when the
    caller has them already (they balance the parallel scan), else each file is stat-ed.
    ``names``: the paths the files were found under, when they are not the (real) paths read:
    the folder a file was found in names its project (see ``_projects``). ``progress(name, i)``:
    the scan has read about ``i`` files and is at the file ``name`` (as the caller names it; at
    most the last file), called now and then from this thread while the files are read (``_scan``)."""
    from usagectl.store.ingest import LINE_BYTES, LONG_LINE_BYTES
    from usagectl.store.tables import load_temp_table
    from usagectl.store.validation import checked_select

    paths = [str(path_or_paths)] if isinstance(path_or_paths, (str, Path)) else [str(p) for p in path_or_paths]
    # a file read on its own may hold a line longer than a tree's limit: up to its own size
    longest = LINE_BYTES if len(paths) != 1 else min(max(LINE_BYTES, _size(paths[0]) + 1), LONG_LINE_BYTES)
    values = [(name, path) for name, path in _PATHS if name not in _PRESENCE]
    plist = "[" + ", ".join(f"'{p}'" for _, p in values) + "]"
    at = {name: i for i, (name, _) in enumerate(values, 1)}
    # every line, in file order (the rowid numbers them), kept narrow: the file, whether the
    # line is malformed (NULL) or not an object, and for a line whose text contains "usage"
    # (a string search, no parsing) the list of scalar fields, from one parse of the line
    # (the reader hands each value over from its first character: leading blanks and a byte
    # order mark are gone, so an object is a value that starts with "{")
    obj = "starts_with(json::VARCHAR, '{')"
    # whether message.usage and usage.cache_creation are there, without writing the objects
    # out as text (that and a slimmer copy of the list cost ~1.5 s of CPU per 1M lines): a
    # usage field that has a value proves usage is there, a 5m or 1h count proves the split is;
    # only the rare rest (no usage field at all, or the key "cache_creation" in the text
    # without either count) pays one more parse for the two objects
    usage_fields = " OR ".join(f"v[{at[n]}] IS NOT NULL" for n in _USAGE_FIELDS)
    split = f"v[{at['u_c5']}] IS NOT NULL OR v[{at['u_c1']}] IS NOT NULL"
    doubt = f"NOT ({usage_fields}) OR (NOT ({split}) AND contains(json::VARCHAR, '\"cache_creation\"'))"
    objects = "json_extract_string(json, ['$.message.usage', '$.message.usage.cache_creation'])"
    select = (
        "SELECT _fi, _bad, v, CASE WHEN o IS NULL THEN true ELSE o[1] IS NOT NULL END AS has_usage, "
        f"CASE WHEN o IS NULL THEN {split} ELSE o[2] IS NOT NULL END AS has_split FROM ("
        f"SELECT _fi, _bad, v, CASE WHEN v IS NOT NULL AND ({doubt}) THEN {objects} END AS o FROM ("
        f"SELECT CAST(file_index AS BIGINT) + $offset::BIGINT AS _fi, json, json IS NULL OR NOT {obj} AS _bad, "
        f"CASE WHEN contains(json::VARCHAR, '\"usage\"') AND {obj} THEN json_extract_string(json, {plist}) END AS v "
        f"FROM read_ndjson_objects($files, ignore_errors = true, maximum_object_size = {longest}, "
        "hive_partitioning = false)))"
    )
    # file i of n reached, as a reader file by file says it (Codex): at most the last one, so a
    # bar stays short of done (its clock running) while the rows are checked and stored
    shown = names if names is not None and len(names) == len(paths) else paths
    read = None if progress is None else (lambda i: progress(shown[min(i, len(shown) - 1)], min(i, len(shown) - 1)))
    tables = _scan(con, select, paths, sizes, read)
    load_temp_table(con, "_cc_files", [("fi", "BIGINT"), ("pdir", "VARCHAR")],
                    list(enumerate(_projects(paths, names))))  # fmt: skip
    fields = ", ".join(
        f"CASE WHEN l.v IS NOT NULL AND l.{'has_usage' if name == 'usage' else 'has_split'} THEN '' END AS {name}"
        if name in _PRESENCE
        else f"l.v[{at[name]}] AS {name}"
        for name, _ in _PATHS
    )
    typed = {c: f"_t_{c}" for c in _TYPED}

    def checked(t: str) -> str:
        lines = (  # a row's record number: its rowid from its file's first one
            f"SELECT l.rowid - s.first + 1 AS _rec, l._fi, l._bad, f.pdir, {fields} FROM {t} l "
            f"JOIN (SELECT _fi, min(rowid) AS first FROM {t} GROUP BY _fi) s ON s._fi = l._fi "
            "JOIN _cc_files f ON f.fi = l._fi WHERE l._bad OR l.v IS NOT NULL"
        )
        rows = (
            f"SELECT _rec, _fi, {_PROBLEM} AS _problem, "
            + ", ".join(f"{sql} AS {c}" for c, sql in _TEXT.items())
            + ", "
            + ", ".join(f"{sql} AS _t_{c}" for c, sql in _TYPED.items())
            + f" FROM ({lines}) WHERE _bad OR coalesce({_KEEP}, false)"
        )
        return checked_select(SOURCE, list(_TEXT), typed, rows)

    # every row carries its own file and record number: the copy need not keep the order. One
    # scan table at a time, each dropped once copied: under the import's memory limit the
    # scan tables and the whole copy together would spill to disk (ingest stages outside its
    # transaction, so a dropped table's memory is free at once)
    con.execute("SET preserve_insertion_order = false")
    try:
        for i, t in enumerate(tables):
            verb = "CREATE OR REPLACE TEMP TABLE _checked AS" if i == 0 else "INSERT INTO _checked"
            con.execute(f"{verb} {checked(t)}")
            _drop(con, [t])
    finally:
        con.execute("SET preserve_insertion_order = true")
        _drop(con, tables)
    con.execute("DROP TABLE _cc_files")
    return []


def _projects(paths: Sequence[str], names: Sequence[str] | None = None) -> list[str | None]:
    """Each file's project by the reader's rule (``ClaudeCodeImporter.read``, so both agree):
    ``project_of`` the folder it was found in (``names``), else of its real path; worked out
    once per folder: it depends only on the folders (a 1M-record tree has 12k files in 2.6k
    folders)."""
    from usagectl.importers.claude_code import project_of

    found: dict[str, str | None] = {}
    real: dict[str, str | None] = {}
    if names is None or len(names) != len(paths):
        return [_project(p, real, project_of) for p in paths]
    return [_project(n, found, project_of) or _project(p, real, project_of) for n, p in zip(names, paths)]


def _project(path: str, folders: dict[str, str | None], project_of: Callable[[str], str | None]) -> str | None:
    folder = path.replace("\\", "/").rpartition("/")[0]
    if folder not in folders:
        folders[folder] = project_of(os.path.abspath(folder or ".") + "/_")
    return folders[folder]


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _split(paths: list[str], n: int, sizes: Sequence[int] | None = None) -> list[tuple[int, int]]:
    """``n`` contiguous ranges of ``paths`` of about the same number of bytes (at least one
    file each); ``sizes`` are the files' sizes if known."""
    if sizes is None or len(sizes) != len(paths):
        sizes = [_size(p) for p in paths]
    total, acc, bounds = sum(sizes) or 1, 0, [0]
    for i, size in enumerate(sizes):
        acc += size
        if len(bounds) < n and acc * n >= total * len(bounds) and i + 1 < len(paths):
            bounds.append(i + 1)
    bounds.append(len(paths))
    return list(itertools.pairwise(bounds))


def _scan(
    con: duckdb.DuckDBPyConnection, select: str, paths: list[str], sizes: Sequence[int] | None = None,
    read: Callable[[int], None] | None = None,
) -> list[str]:  # fmt: skip
    """Run ``select`` over ``paths`` into ordered tables (file order: the rowid numbers the
    lines), one per DuckDB thread: each range of files is read by ONE single-threaded query,
    all at the same time on their own connections (DuckDB releases the GIL while a query
    runs). A parallel query that keeps insertion order costs ~50 % more CPU than a serial one
    (it merges many small ordered batches); this way the order is free and the cores still
    all work. The tables live in an in-memory database shared with the caller's connection,
    which reads them in its own transaction; returns their names.

    ``read(i)``: about ``i`` of the files are read, from DuckDB's progress of each range's query
    (``_ScanProgress``), called from this thread while the ranges are read (QA: a 2 GB tree stood
    at "0/12262" for its whole import)."""
    import threading

    from usagectl.store.engine import literal

    (threads,) = con.execute("SELECT current_setting('threads')").fetchone() or (1,)
    from usagectl.store.memory import memory_limit

    limit = memory_limit(con)  # the import's limit as it was given (DuckDB reads it back rounded)
    scan_limit = _scan_memory_limit(limit) if limit else None
    ranges = _split(paths, max(1, min(int(threads), len(paths))), sizes)
    con.execute(f"ATTACH IF NOT EXISTS ':memory:' AS {SCRATCH}")
    tables = [f"{SCRATCH}.lines{i}" for i in range(len(ranges))]
    errors: list[BaseException] = []
    watch = _ScanProgress(ranges) if read is not None else None

    def run(n: int, table: str, lo: int, hi: int) -> None:
        cur = con.cursor()
        try:
            if watch is not None:
                watch.follow(n, cur)
            for start in range(lo, hi, CHUNK_FILES):
                files = [literal(p) for p in paths[start : min(hi, start + CHUNK_FILES)]]
                params = {"files": files, "offset": start}
                verb = f"CREATE OR REPLACE TABLE {table} AS" if start == lo else f"INSERT INTO {table}"
                if watch is not None:
                    watch.chunk(n, start, min(hi, start + CHUNK_FILES))
                cur.execute(f"{verb} {select}", params)
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)
        finally:
            if watch is not None:
                watch.done(n)
            cur.close()

    con.execute("SET threads = 1")
    if scan_limit:
        con.execute(f"SET memory_limit = '{scan_limit}'")
    try:
        workers = [
            threading.Thread(target=run, args=(n, t, lo, hi)) for n, (t, (lo, hi)) in enumerate(zip(tables, ranges))
        ]
        for w in workers:
            w.start()
        for w in workers:
            while w.is_alive():
                w.join(PROGRESS_EVERY if watch is not None else None)
                if watch is not None and read is not None:
                    watch.report(read)
        if watch is not None and read is not None and not errors:
            watch.report(read)  # every file read, however quickly (the last look may have come before)
    finally:
        con.execute(f"SET threads = {int(threads)}")
        if scan_limit:
            con.execute(f"SET memory_limit = '{limit}'")
    if errors:
        _drop(con, tables)
        raise errors[0]
    return tables


class _ScanProgress:
    """How far the scan's ranges are, for ``_scan``'s ``read``: each range's query is followed on
    its own cursor (``query_progress``, with DuckDB's progress bar on and its printing off) and
    counts as the files of its range before the current chunk plus that chunk's files times the
    query's fraction done. DuckDB says -1 before a query has started; a count never goes back."""

    def __init__(self, ranges: Sequence[tuple[int, int]]) -> None:
        import threading

        self._lock = threading.Lock()
        self._cursors: dict[int, duckdb.DuckDBPyConnection] = {}
        self._chunks = {n: (lo, lo) for n, (lo, _hi) in enumerate(ranges)}  # (chunk start, its end)
        self._low = {n: lo for n, (lo, _hi) in enumerate(ranges)}
        self._ends = {n: hi for n, (_lo, hi) in enumerate(ranges)}
        self._shown = -1

    def follow(self, n: int, cur: duckdb.DuckDBPyConnection) -> None:
        cur.execute("SET enable_progress_bar = true")
        cur.execute("SET enable_progress_bar_print = false")
        with self._lock:
            self._cursors[n] = cur

    def chunk(self, n: int, start: int, end: int) -> None:
        with self._lock:
            self._chunks[n] = (start, end)

    def done(self, n: int) -> None:
        with self._lock:
            self._cursors.pop(n, None)
            self._chunks[n] = (self._ends[n], self._ends[n])

    def files(self) -> int:
        """About how many files the ranges have read."""
        with self._lock:
            total = 0
            for n, (start, end) in self._chunks.items():
                cur = self._cursors.get(n)
                try:
                    pct = cur.query_progress() if cur is not None else -1.0
                except Exception:  # the cursor closing in its thread: the range counts as its chunk start
                    pct = -1.0
                part = int((end - start) * min(max(pct, 0.0), 100.0) / 100) if pct >= 0 else 0
                total += start - self._low[n] + part
            return total

    def report(self, read: Callable[[int], None]) -> None:
        count = self.files()
        if count > self._shown:
            self._shown = count
            read(count)


def _scan_memory_limit(limit: str) -> str | None:
    """The memory limit the scan runs with: ``SCAN_MEMORY_FACTOR`` times the import's
    ``limit`` (``memory.set_memory_limit``: ``800MB``, ``1.5 GiB``, …), in bytes; None when
    ``limit`` is not a size. A stage not run by an import (no limit set) is left alone.

    Why more than the import's limit: DuckDB built on glibc returns freed memory to the system
    (``malloc_trim``) whenever the memory freed since its last trim exceeds the headroom left
    below its limit (or 512 MB, the smaller). The object reader frees its read buffers all the
    time (2.3 GB of text pass through them for 1M records), so once the scan tables take the
    headroom under 512 MB, DuckDB trims up to ten times a second, and every trimmed page is
    faulted in again: ~0.7 s of CPU and 80k page faults for 1M records at an 800 MB limit. The
    scan tables themselves are narrow (~0.4 GB per 1M records, ~0.55 GB of process memory at
    the end of the scan against ~0.9 GB later in the import), so the scan's extra headroom
    does not raise the import's peak; the rest of the import runs at ``limit``."""
    from usagectl.store.memory import memory_bytes

    n = memory_bytes(limit)
    return None if n is None else f"{int(n * SCAN_MEMORY_FACTOR)}B"


def _drop(con: duckdb.DuckDBPyConnection, tables: list[str]) -> None:
    """Drop scan tables (from their own connection: the caller's transaction writes elsewhere)."""
    cur = con.cursor()
    try:
        for t in tables:
            cur.execute(f"DROP TABLE IF EXISTS {t}")
    finally:
        cur.close()


def sidechain_replays(con: duckdb.DuckDBPyConnection, batch_ids: list[int]) -> dict[int, int]:
    """Keep out sidechain copies of messages a main-chain line also holds (FORMATS.md dup #4:
    ``/btw`` and sub-agent files replay a parent message with the same ``message.id`` and a new
    ``requestId``, including its cache-read usage). The main-chain copy is kept whichever was
    imported first; a sidechain message with an id of its own counts as usual.

    ingest's ``before_insert`` hook: over the stored events and the rows about to be inserted
    (``_new``), a sidechain row whose ``message_id`` has a main-chain row is a replay. New
    replays go to ``_skip``, stored ones to ``_drop_stored``; returns {batch: stored rows
    removed because this batch brought their main-chain copy}. Only message ids held by more
    than one row are looked at (a replay needs two)."""
    lo = min(batch_ids)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _cc_ids AS SELECT message_id FROM (SELECT message_id, true AS fresh FROM _new "
        "WHERE source = $s AND message_id IS NOT NULL UNION ALL SELECT message_id, false FROM events "
        "WHERE source = $s AND message_id IS NOT NULL) GROUP BY message_id HAVING count(*) > 1 AND bool_or(fresh)",
        {"s": SOURCE},
    )
    side = "coalesce(json_extract_string(extra, '$.isSidechain') = 'true', false) AS side"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _cc_pairs AS SELECT _rid, event_id, batch_id, message_id, {side} "
        "FROM _new SEMI JOIN _cc_ids USING (message_id) WHERE source = $s "
        f"UNION ALL SELECT NULL::BIGINT, event_id, batch_id, message_id, {side} "
        "FROM events SEMI JOIN _cc_ids USING (message_id) WHERE source = $s",
        {"s": SOURCE},
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _cc_drop AS SELECT s._rid, s.event_id, s.batch_id, "
        "(SELECT max(m.batch_id) FROM _cc_pairs m WHERE NOT m.side AND m.message_id = s.message_id) AS by_batch "
        "FROM _cc_pairs s WHERE s.side AND EXISTS "
        "(SELECT 1 FROM _cc_pairs m WHERE NOT m.side AND m.message_id = s.message_id)"
    )
    con.execute("CREATE OR REPLACE TEMP TABLE _skip AS SELECT _rid FROM _cc_drop WHERE _rid IS NOT NULL")
    con.execute("CREATE OR REPLACE TEMP TABLE _drop_stored AS SELECT event_id FROM _cc_drop WHERE _rid IS NULL")
    earlier: dict[int, int] = {}
    for by_batch, n in con.execute(
        "SELECT by_batch, count(*) FROM _cc_drop WHERE _rid IS NULL GROUP BY ALL"
    ).fetchall():  # attributed to the file of this batch that brought the main-chain copy
        b = int(by_batch) if by_batch is not None and by_batch >= lo else lo
        earlier[b] = earlier.get(b, 0) + int(n)
    for t in ("_cc_ids", "_cc_pairs", "_cc_drop"):
        con.execute(f"DROP TABLE {t}")
    return earlier
