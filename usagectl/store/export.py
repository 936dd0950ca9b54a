"""Exports over the priced events, written by DuckDB ``COPY ... TO``: per-event rows as CSV or
JSONL (every value formatted in SQL, sorted runs of UTC days), as Parquet (one file, or one per
month for a Hive folder), the FOCUS aggregate, and small typed tables to Parquet.

Column names come from the allow-lists below, values are bound. The one exception is the
output path of ``COPY``, which DuckDB does not accept as a parameter: it is written as a SQL
string literal with its quotes doubled (``_path_literal``).

Memory stays bounded: ``memory_limit`` and ``preserve_insertion_order = false`` let DuckDB
stream the COPY and spill to a private temp directory; a sorted text export sorts one run of
days at a time. ``iter_events`` (Python rows in Arrow batches) is the reference the SQL
formatters are tested against.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from usagectl.store.engine import full, literal
from usagectl.store.memory import checked_size
from usagectl.store.reports import _filtered
from usagectl.store.tables import rows_as_dicts

if TYPE_CHECKING:
    from pathlib import Path

    import duckdb

    from usagectl.models import Filters

# name -> (SQL expression over the priced relation `p`, DuckDB type, kind for text writers).
# An events export is the stored events (a backup: imported again it gives back the same
# events), so team, department and cost_center are the event's own values, never the config's
# ``[members.NAME]`` mapping: written into the event, the mapping of the export's day would win
# over every later change of the config once the file is imported again (QA). The mapping is
# applied again when the events are read, as for any event. Model and provider are the
# canonical ones the reports use: an import resolves the model from ``model_raw`` again, and
# fills in a provider the event lacks from it.
EVENT_EXPORT_COLUMNS: tuple[tuple[str, str, str, str], ...] = (
    ("event_id", "event_id", "VARCHAR", "str"),
    ("ts", "ts", "TIMESTAMPTZ", "ts"),
    ("source", "source", "VARCHAR", "str"),
    ("provider", "cprovider", "VARCHAR", "str"),
    ("model", "cmodel", "VARCHAR", "str"),
    ("model_raw", "model_raw", "VARCHAR", "str"),
    ("requests", "requests", "BIGINT", "int"),
    ("input_tokens", "input_tokens", "BIGINT", "int"),
    ("cache_read_tokens", "cache_read_tokens", "BIGINT", "int"),
    ("cache_write_5m_tokens", "cache_write_5m_tokens", "BIGINT", "int"),
    ("cache_write_1h_tokens", "cache_write_1h_tokens", "BIGINT", "int"),
    ("output_tokens", "output_tokens", "BIGINT", "int"),
    ("reasoning_tokens", "reasoning_tokens", "BIGINT", "int"),
    ("web_search_requests", "web_search_requests", "BIGINT", "int"),
    ("service_tier", "service_tier", "VARCHAR", "str"),
    ("member", "member", "VARCHAR", "str"),
    ("team", "team", "VARCHAR", "str"),
    ("department", "department", "VARCHAR", "str"),
    ("cost_center", "cost_center", "VARCHAR", "str"),
    ("project", "project", "VARCHAR", "str"),
    ("workspace", "workspace", "VARCHAR", "str"),
    ("api_key", "api_key", "VARCHAR", "str"),
    ("feature", "feature", "VARCHAR", "str"),
    ("tool", "tool", "VARCHAR", "str"),
    ("integration", "integration", "VARCHAR", "str"),
    ("platform", "platform", "VARCHAR", "str"),
    ("session_id", "session_id", "VARCHAR", "str"),
    ("chat_title", "chat_title", "VARCHAR", "str"),
    ("message_id", "message_id", "VARCHAR", "str"),
    ("message_tokens", "message_tokens", "BIGINT", "int"),
    ("context_tokens", "context_tokens", "BIGINT", "int"),
    ("file_tokens", "file_tokens", "BIGINT", "int"),
    ("tool_output_tokens", "tool_output_tokens", "BIGINT", "int"),
    ("latency_ms", "latency_ms", "BIGINT", "int"),
    ("status", "status", "VARCHAR", "str"),
    ("error_type", "error_type", "VARCHAR", "str"),
    ("file_id", "file_id", "VARCHAR", "str"),
    ("file_name", "file_name", "VARCHAR", "str"),
    ("file_bytes", "file_bytes", "BIGINT", "int"),
    # what the source reported, every stored digit (an export imported again gives it back)
    ("reported_cost_usd", "CAST(reported_cost_usd AS DECIMAL(38,12))", "DECIMAL(38,12)", "exact"),
    ("extra", "CAST(extra AS VARCHAR)", "VARCHAR", "json"),
    # our computed cost, exact (DECIMAL); NULL = unpriced, never 0
    ("cost_usd", "CAST(cost AS DECIMAL(38,12))", "DECIMAL(38,12)", "money"),
)
EVENT_EXPORT_NAMES: tuple[str, ...] = tuple(c[0] for c in EVENT_EXPORT_COLUMNS)
# --partition-by NAME -> the local calendar key it splits on (``grouped.local_keys_sql``)
PARTITIONS: dict[str, str] = {"month": "month"}
DEFAULT_MEMORY_LIMIT = "512MB"
# events per sorted run of a text export (whole UTC days; a bigger day is its own run)
CHUNK_EVENTS = 250_000


def tune(con: duckdb.DuckDBPyConnection, memory_limit: str = DEFAULT_MEMORY_LIMIT) -> None:
    """Bound the memory of a big export: a limit, no insertion order (an ``ORDER BY`` is still
    kept), a private spill dir; and no DuckDB progress bar."""
    con.execute(f"SET memory_limit = '{checked_size(memory_limit)}'")
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET enable_progress_bar = false")  # DuckDB draws it on stdout, the export's data
    spill = os.path.join(tempfile.gettempdir(), f"usagectl-spill-{os.getpid()}")
    con.execute(f"SET temp_directory = {_path_literal(spill)}")


def _path_literal(path: str) -> str:
    return "'" + path.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _events_select(flt: Filters) -> tuple[str, dict[str, Any]]:
    base = _filtered(flt)
    cols = [f"{expr} AS {name}" for name, expr, _t, _k in EVENT_EXPORT_COLUMNS]
    return f"SELECT {', '.join(cols)} FROM ({base.sql}) p", dict(base.params)


def iter_events(
    con: duckdb.DuckDBPyConnection, flt: Filters, batch_rows: int = 10_000, chunk_events: int = 200_000
) -> Iterator[list[dict[str, Any]]]:
    """Per-event rows (``EVENT_EXPORT_NAMES``) in batches, ordered by ts then event_id: the
    Python reference of ``copy_event_runs`` (tests format these rows with ``csv_cell`` /
    ``json_dumps`` and compare bytes).

    Values: ``ts`` a UTC datetime, money Decimal (exact), counts int, text str, None for NULL.
    Sorting all events at once held the whole sorted result (1 GB RSS for 1M events), so the
    range is cut into runs of whole UTC days of at most ``chunk_events`` events (one day may be
    more), each sorted on its own: memory follows the chunk, not the export."""
    base = _filtered(flt)
    days = con.execute(
        f"SELECT CAST(timezone('UTC', ts) AS DATE) AS d, count(*)::BIGINT FROM ({base.sql}) p GROUP BY 1 ORDER BY 1",
        base.params,
    ).fetchall()
    for first, last in _day_runs([(d, int(n)) for d, n in days], chunk_events):
        lo = datetime(first.year, first.month, first.day, tzinfo=UTC)
        hi = datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)
        part = dataclasses.replace(flt, start=max(flt.start, lo), end=min(flt.end, hi))
        sql, params = _events_select(part)
        # a relation streams; a DB-API result would copy every row first (the relational API
        # comes with the duckdb package: store/engine.py)
        full()
        reader = con.sql(sql + " ORDER BY ts, event_id", params=params).to_arrow_reader(batch_rows)
        for batch in reader:
            yield batch.to_pylist()


def _day_runs(days: list[tuple[date, int]], limit: int) -> Iterator[tuple[date, date]]:
    """Consecutive (first, last) day runs of at most ``limit`` events (a bigger day is its own run)."""
    run: list[date] = []
    size = 0
    for d, n in days:
        if run and size + n > limit:
            yield run[0], run[-1]
            run, size = [], 0
        run.append(d)
        size += n
    if run:
        yield run[0], run[-1]


# ------------------------------------------------------------------------------- text in SQL

# The rule of ``render.text.csv_cell`` (the reference, ``models.FORMULA_STARTS``): text starting
# with one of these, or with ``'``s and then one, gets a ``'`` prefix so a spreadsheet never
# runs it as a formula (OWASP CSV injection) and a CSV import can remove exactly that prefix.
_FORMULA_STARTS = "('=', '+', '-', '@', chr(9), chr(13))"
# text that ``json.dumps`` (ensure_ascii) writes with at most " and \ escaped: printable ASCII
_JSON_ASCII = "'[ -~]*'"
# one character -> its ``json.dumps`` escape (the slow path, for text outside _JSON_ASCII)
_JSON_CHAR = (
    r"""CASE c WHEN '"' THEN '\"' WHEN '\' THEN '\\' WHEN chr(10) THEN '\n' WHEN chr(13) THEN '\r' """
    r"""WHEN chr(9) THEN '\t' WHEN chr(8) THEN '\b' WHEN chr(12) THEN '\f' """
    r"""ELSE CASE WHEN unicode(c) BETWEEN 32 AND 126 THEN c """
    r"""WHEN unicode(c) < 65536 THEN '\u' || lower(lpad(hex(unicode(c)), 4, '0')) """
    r"""ELSE '\u' || lower(hex(55296 + ((unicode(c) - 65536) >> 10))) """
    r"""|| '\u' || lower(hex(56320 + ((unicode(c) - 65536) & 1023))) END END"""
)
TEXT_FORMATS = ("csv", "jsonl")
CSV_OPTIONS = r"""FORMAT csv, HEADER false, DELIMITER ',', QUOTE '"', ESCAPE '"', NEW_LINE '\r\n'"""
# one SQL-built line per row, written as is (no quoting needed: JSON escapes every line break)
LINE_OPTIONS = r"""FORMAT csv, HEADER false, QUOTE '', ESCAPE '', NEW_LINE '\n'"""


def sql_csv_text(v: str) -> str:
    """SQL of ``csv_cell(v, "str")``: NULL and '' -> NULL (DuckDB writes an empty field; it
    would quote a ''), formula-looking text prefixed with ``'``."""
    guarded = f"substring(CASE WHEN substring({v}, 1, 1) = '''' THEN ltrim({v}, '''') ELSE {v} END, 1, 1)"
    return f"nullif(CASE WHEN {guarded} IN {_FORMULA_STARTS} THEN '''' || {v} ELSE {v} END, '')"


def sql_money_fixed(v: str) -> str:
    """SQL of ``money_fixed``: a DECIMAL (scale <= 12) rounded half-even to 6 places, as text
    with exactly 6 decimals (``-0.500000``; zero never signed); NULL stays NULL. Exact: integer
    arithmetic on micro-dollars (``y = v * 10^6``; floor; up when the rest is over a half, or
    a half and the floor is odd)."""
    y = f"(CAST({v} AS DECIMAL(38,12)) * 1000000)"
    f = f"CAST(floor({y}) AS HUGEINT)"
    m = f"({f} + CASE WHEN {y} - floor({y}) > 0.5 OR ({y} - floor({y}) = 0.5 AND {f} % 2 <> 0) THEN 1 ELSE 0 END)"
    return (
        f"(CASE WHEN {m} < 0 THEN '-' ELSE '' END || CAST(abs({m}) // 1000000 AS VARCHAR) || '.' "
        f"|| lpad(CAST(abs({m}) % 1000000 AS VARCHAR), 6, '0'))"
    )


def sql_money_exact(v: str) -> str:
    """A stored amount (DECIMAL, 12 decimals) as plain text with every digit it holds and no
    trailing zeros (``0.0000004``, ``12.5``, ``3``); NULL stays NULL."""
    return f"regexp_replace(regexp_replace(CAST(CAST({v} AS DECIMAL(38,12)) AS VARCHAR), '0+$', ''), '[.]$', '')"


def sql_json_text(v: str) -> str:
    """SQL of ``json.dumps(v)`` (ASCII only: \\uXXXX, surrogate pairs beyond the BMP); NULL -> null."""
    return (
        f"""CASE WHEN {v} IS NULL THEN 'null' WHEN regexp_full_match({v}, {_JSON_ASCII}) """
        f"""THEN '"' || replace(replace({v}, '\\', '\\\\'), '"', '\\"') || '"' """
        f"""ELSE '"' || array_to_string(list_transform(string_split({v}, ''), lambda c: {_JSON_CHAR}), '') || '"' END"""
    )


def _ts_text(v: str) -> str:
    return f"strftime(timezone('UTC', {v}), '%Y-%m-%dT%H:%M:%S.%fZ')"


def _text_select(flt: Filters, fmt: str) -> tuple[str, dict[str, Any]]:
    """The sorted per-event rows of ``flt`` as CSV fields, or as one JSON line (``line``)."""
    sql, params = _events_select(flt)
    exprs: list[str] = []
    for name, _e, _t, kind in EVENT_EXPORT_COLUMNS:
        v = f"e.{name}"
        if fmt == "csv":
            text = {"str": sql_csv_text(v), "json": sql_csv_text(v), "ts": _ts_text(v),
                    "money": sql_money_fixed(v), "exact": sql_money_exact(v), "int": v}[kind]  # fmt: skip
            exprs.append(f"{text} AS {name}")
            continue
        match kind:
            case "str" | "json":
                text = sql_json_text(v)
            case "ts":
                text = f"""coalesce('"' || {_ts_text(v)} || '"', 'null')"""
            case "money":
                text = f"coalesce(rtrim(rtrim({sql_money_fixed(v)}, '0'), '.'), 'null')"
            case "exact":
                # a JSON string: JSONL is imported by DuckDB's reader, which reads a JSON number
                # through a double (54321.123456789012 came back ...010); a string keeps every
                # stored digit, for the import and for any other JSON reader (QA)
                text = f"""coalesce('"' || {sql_money_exact(v)} || '"', 'null')"""
            case _:
                text = f"coalesce(CAST({v} AS VARCHAR), 'null')"
        exprs += ["'{'" if not exprs else "', '", f"""'"{name}": '""", text]
    # one concat of every piece: a chain of || copies the growing line once per column
    select = ", ".join(exprs) if fmt == "csv" else f"concat({', '.join(exprs)}, '}}') AS line"
    return f"SELECT {select} FROM ({sql}) e ORDER BY e.ts, e.event_id", params


def copy_event_runs(
    con: duckdb.DuckDBPyConnection, flt: Filters, fmt: str, folder: Path, chunk_events: int = CHUNK_EVENTS
) -> Iterator[tuple[Path, int]]:
    """``COPY`` the sorted per-event rows to text files in ``folder``, one per run of whole UTC
    days of at most ``chunk_events`` events (``_day_runs``); yields (file, rows) as each is
    written, in order: the caller appends it to the export and deletes it.

    ``csv``: RFC 4180 fields, CRLF, no header (the bytes ``csv.writer`` writes from ``csv_cell``);
    ``jsonl``: one ``json_dumps(row, indent=None)`` line per event, LF, the reported cost (kind
    ``exact``) as a JSON string of its digits (``"0.0000004"``). DuckDB formats every
    value; each run sorts on its own, so memory follows the run."""
    if fmt not in TEXT_FORMATS:
        raise ValueError(f"not a text format: {fmt!r}")
    options = CSV_OPTIONS if fmt == "csv" else LINE_OPTIONS
    base = _filtered(flt)
    days = con.execute(
        f"SELECT CAST(timezone('UTC', ts) AS DATE) AS d, count(*)::BIGINT FROM ({base.sql}) p GROUP BY 1 ORDER BY 1",
        base.params,
    ).fetchall()
    for i, (first, last) in enumerate(_day_runs([(d, int(n)) for d, n in days], chunk_events)):
        lo = datetime(first.year, first.month, first.day, tzinfo=UTC)
        hi = datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)
        part = dataclasses.replace(flt, start=max(flt.start, lo), end=min(flt.end, hi))
        sql, params = _text_select(part, fmt)
        path = folder / f"run-{i:05d}.{fmt}"
        yield path, _copy(con, f"COPY ({sql}) TO {_path_literal(str(path))} ({options})", params, path)


def copy_events_parquet(con: duckdb.DuckDBPyConnection, flt: Filters, path: Path) -> int:
    """``COPY`` the per-event rows of ``flt`` to one Parquet file. Types: TIMESTAMPTZ ts, BIGINT
    counts, DECIMAL(38,12) money. Returns the number of rows written."""
    sql, params = _events_select(flt)
    # zstd level 1: 15% less CPU than the default 3 for 3% more bytes (the writer is most of the time)
    options = "FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1, ROW_GROUP_SIZE 122880"
    return _copy(con, f"COPY ({sql}) TO {_path_literal(str(path))} ({options})", params, path)


def _copy(con: duckdb.DuckDBPyConnection, statement: str, params: Any, path: Path) -> int:
    """Run ``statement``, a ``COPY … TO path``; the rows it wrote. DuckDB failing to write
    ``path`` itself (a full disk, a file size limit, a disk quota, no permission) is raised as
    the OSError a Python write of it would raise (errno, the OS's words, the file): the caller
    knows what ``path`` is to the user (an ``--out`` file, a temporary run) and says so. Left a
    DuckDB error, the connection took it for a write of the database (QA: a Parquet export to a
    full disk said "database …: no space left on device", exit 3). A failure elsewhere (DuckDB's
    spill folder) stays as it is."""
    from usagectl.store.engine import core as duckdb

    try:
        row = con.execute(statement, params).fetchone()
    except duckdb.Error as exc:
        failed = _not_written(exc, path)
        if failed is None:
            raise
        raise failed from exc
    return int(row[0]) if row and row[0] is not None else 0


# DuckDB's message for a file it could not write or open quotes the file, then the OS's words
# ('Could not write file "/x.parquet": No space left on device'), inside a JSON text that
# escapes the quotes and gives the errno ("errno":"28") when the write was asynchronous
_ERRNO = re.compile(r'"errno"\s*:\s*"?(\d+)')
# the errno of a message without one, found by the OS's words for it
_KNOWN = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EIO, errno.EACCES, errno.EROFS)


def _not_written(exc: Exception, path: Path) -> OSError | None:
    """The OSError of ``exc`` when DuckDB says it could not write or open ``path``, or the
    ``tmp_`` file beside it that it writes first when ``path`` exists (and renames at the end);
    else None."""
    text = str(exc).replace('\\"', '"')
    for name in (path, path.with_name(f"tmp_{path.name}")):
        quoted = f'"{name}": '
        at = text.find(quoted)
        if at >= 0:
            break
    else:
        return None
    words = re.split(r'["\n]', text[at + len(quoted) :], maxsplit=1)[0].strip()
    found = _ERRNO.search(text)
    code = int(found[1]) if found else next((c for c in _KNOWN if os.strerror(c) in words), None)
    return OSError(code, os.strerror(code) if code else words or text.splitlines()[0], str(path))


def event_partitions(con: duckdb.DuckDBPyConnection, flt: Filters, partition_by: str) -> list[tuple[str, int]]:
    """The partition values (e.g. ``2025-11`` for month, in the filters' zone) that hold events,
    with their event counts, in order.

    A partitioned export COPYs one partition at a time: DuckDB's own ``PARTITION_BY`` keeps a
    row group open per partition and ran out of a 512MB limit on 10M events."""
    from usagectl.store.grouped import local_keys_sql

    base = _filtered(flt)
    params = dict(base.params)
    expr = local_keys_sql(flt, params)[PARTITIONS[partition_by]]  # KeyError: not in the allow-list
    cur = con.execute(f"SELECT {expr} AS part, count(*)::BIGINT FROM ({base.sql}) p GROUP BY 1 ORDER BY 1", params)
    return [(str(r[0]), int(r[1])) for r in cur.fetchall()]


def event_span(con: duckdb.DuckDBPyConnection) -> tuple[datetime, datetime] | None:
    """The times of the first and the last stored event; None when there is none."""
    row = con.execute("SELECT min(ts), max(ts) FROM events").fetchone()
    return None if row is None or row[0] is None else (row[0], row[1])


def written_totals(con: duckdb.DuckDBPyConnection, paths: Sequence[Path]) -> dict[str, Any]:
    """Rows, priced cost and unpriced rows of exported Parquet files, read back from their
    ``cost_usd`` column alone (a fraction of a second, where ``count_events`` prices every
    event again)."""
    if not paths:
        return {"rows": 0, "cost_usd": Decimal(0), "unpriced_rows": 0}
    row = con.execute(
        "SELECT count(*)::BIGINT, CASE WHEN count(*) = 0 THEN 0 ELSE sum(cost_usd) END, count(*) FILTER (WHERE cost_usd IS NULL)::BIGINT FROM read_parquet(?, hive_partitioning = false)",
        [[literal(str(p)) for p in paths]],
    ).fetchone()
    assert row is not None
    return {"rows": int(row[0]), "cost_usd": row[1], "unpriced_rows": int(row[2])}


def count_events(con: duckdb.DuckDBPyConnection, flt: Filters) -> dict[str, Any]:
    """Rows, priced cost and unpriced rows of the filtered events (for summaries). The cost is
    None when events are there and none is priced, 0 when there are none (as report totals)."""
    base = _filtered(flt)
    row = con.execute(
        f"SELECT count(*)::BIGINT, CASE WHEN count(*) = 0 THEN 0 ELSE sum(cost) END, count(*) FILTER (WHERE cost IS NULL)::BIGINT FROM ({base.sql}) p",
        base.params,
    ).fetchone()
    assert row is not None
    return {"rows": int(row[0]), "cost_usd": row[1], "unpriced_rows": int(row[2])}


# ------------------------------------------------------------------------------- FOCUS

# dimension name -> column of the priced relation; these become FOCUS Tags
FOCUS_DIMENSIONS: dict[str, str] = {
    "member": "member",
    "team": "cteam",
    "department": "cdepartment",
    "cost_center": "ccost_center",
    "project": "project",
    "workspace": "workspace",
    "feature": "feature",
    "tool": "tool",
    "integration": "integration",
    "platform": "platform",
}
# How usage was bought (its channel), from the event's provider (LiteLLM's ``custom_llm_provider``
# is kept there: ``bedrock``, ``vertex_ai``, ``openrouter``, ``azure``) or, when that names the
# model's maker, from the shape of the logged name (what ``pricing.resolve`` strips: a Bedrock id
# or ARN, a Vertex ``@YYYYMMDD`` version or ``publishers/`` path, a LiteLLM ``bedrock/``,
# ``vertex_ai/``, ``openrouter/``, ``azure/`` or ``azure_ai/`` prefix); else the provider itself (direct API
# use). A FOCUS row names its provider, host and invoice issuer from it (``services.focus``), so
# Claude on Bedrock is never merged with Anthropic's own API. Patterns are fixed text, no input.
FOCUS_CHANNEL = r"""CASE
    WHEN lower(provider) = 'bedrock' THEN 'bedrock'
    WHEN lower(provider) IN ('vertex_ai', 'vertex_ai_beta') THEN 'vertex'
    WHEN lower(provider) = 'openrouter' THEN 'openrouter'
    WHEN lower(provider) IN ('azure', 'azure_ai') THEN lower(provider)
    WHEN lower(model_raw) LIKE 'bedrock/%' OR lower(model_raw) LIKE 'arn:aws:bedrock:%'
        OR regexp_matches(lower(model_raw), '^((us|eu|apac|jp|au|global|us-gov)\.)?anthropic\.') THEN 'bedrock'
    WHEN lower(model_raw) LIKE 'vertex_ai/%' OR lower(model_raw) LIKE '%publishers/%'
        OR regexp_matches(model_raw, '@[0-9]{8}$') THEN 'vertex'
    WHEN lower(model_raw) LIKE 'openrouter/%' THEN 'openrouter'
    WHEN lower(model_raw) LIKE 'azure_ai/%' THEN 'azure_ai'
    WHEN lower(model_raw) LIKE 'azure/%' THEN 'azure'
    ELSE cprovider END"""
FOCUS_SUMS = ("input_tokens", "cache_read_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens",
              "output_tokens", "web_search_requests")  # fmt: skip
FOCUS_RATES = ("input_rate", "cache_read_rate", "cache_write_5m_rate", "cache_write_1h_rate", "output_rate",
               "web_search_rate")  # fmt: skip


def focus_groups(con: duckdb.DuckDBPyConnection, flt: Filters) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Priced usage per UTC day × model × channel (``FOCUS_CHANNEL``: how it was bought) × tier ×
    price row × dimensions, with the per-token rates of that price row; and the unpriced usage
    (no rate) per day and model.

    Grouping by the price row keeps ``ListCost = ListUnitPrice × PricingQuantity`` exact when
    a price period or a long-context band changes within a day."""
    base = _filtered(flt)
    dims = ", ".join(f"{col} AS {name}" for name, col in FOCUS_DIMENSIONS.items())
    sums = ", ".join(f"sum({c})::HUGEINT AS {c}" for c in FOCUS_SUMS)
    rates = ", ".join(f"r.{c}" for c in FOCUS_RATES)
    n = len(FOCUS_DIMENSIONS) + 5
    sql = (
        f"SELECT g.*, r.valid_from, r.min_input_exclusive, r.max_input_inclusive, {rates} FROM ("
        f"SELECT CAST(timezone('UTC', ts) AS DATE) AS day, cmodel AS model, {FOCUS_CHANNEL} AS channel, service_tier, "
        f"rate_id, {dims}, {sums}, sum(requests)::HUGEINT AS requests, sum(cost) AS cost "
        f"FROM ({base.sql}) p WHERE cost IS NOT NULL GROUP BY {', '.join(str(i + 1) for i in range(n))}"
        ") g JOIN price_rates r ON r.rate_id = g.rate_id ORDER BY day, model, channel, service_tier, rate_id"
    )
    cur = con.execute(sql, base.params)
    priced = rows_as_dicts(cur)
    cur = con.execute(
        "SELECT coalesce(cmodel, model_raw, '(none)') AS model_raw, sum(requests)::HUGEINT AS requests, "
        f"sum(total_tokens)::HUGEINT AS total_tokens FROM ({base.sql}) p WHERE cost IS NULL "
        "GROUP BY 1 ORDER BY total_tokens DESC, model_raw",
        base.params,
    )
    unpriced = rows_as_dicts(cur)
    return priced, unpriced


# ------------------------------------------------------------------------------- small tables


def write_parquet_table(path: Path, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]) -> int:
    """Write a small typed table (a report's rows, the FOCUS rows) to one Parquet file.

    ``columns`` are (name, DuckDB type) pairs; names must be plain identifiers."""
    import json

    from usagectl.store.engine import connect
    from usagectl.store.tables import _text

    for name, _t in columns:
        if not name.replace("_", "").isalnum():
            raise ValueError(f"not a column name: {name!r}")
    con = connect(":memory:")
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"CREATE TEMP TABLE export_rows ({', '.join(f'{_ident(n)} {t}' for n, t in columns)})")
        if rows:
            # one bound JSON text of string arrays, cast in SQL (exact for DECIMAL and TIMESTAMPTZ)
            payload = json.dumps([[_text(v) for v in row] for row in rows])
            casts = ", ".join(f"CAST(r[{i + 1}] AS {t})" for i, (_n, t) in enumerate(columns))
            con.execute(
                f"INSERT INTO export_rows SELECT {casts} FROM (SELECT unnest(from_json(?, '[[\"VARCHAR\"]]')) AS r)",
                [payload],
            )
        _copy(con, f"COPY export_rows TO {_path_literal(str(path))} (FORMAT parquet, COMPRESSION zstd)", None, path)
    finally:
        con.close()
    return len(rows)


def read_totals(path: str, columns: Sequence[str]) -> dict[str, Any]:
    """Sums of ``columns`` over a Parquet file, glob or Hive folder (for checks and tests)."""
    from usagectl.store.engine import connect

    for name in columns:
        if not name.replace("_", "").isalnum():
            raise ValueError(f"not a column name: {name!r}")
    con = connect(":memory:")
    try:
        sums = ", ".join(f'sum("{c}") AS "{c}"' for c in columns)
        cur = con.execute(f"SELECT count(*) AS rows, {sums} FROM read_parquet(?, hive_partitioning = true)", [path])
        names = [d[0] for d in cur.description]
        row = cur.fetchone()
        assert row is not None
        return dict(zip(names, row, strict=True))
    finally:
        con.close()
