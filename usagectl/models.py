"""Dataclasses and constants shared by every layer (no heavy imports here)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Any, Literal

ColumnKind = Literal["str", "int", "ts", "money", "json"]

# First characters that make a spreadsheet run a CSV cell as a formula (OWASP CSV injection).
# A CSV export prefixes ``'`` to text that starts with one, or with ``'``s and then one (so the
# prefix can be told apart from a ``'`` of the value); a CSV import removes that one ``'``, so
# export -> import gives the same text back (and the same event_id: no double count).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# The canonical event (PRODUCT.md), in storage order. ``kind`` drives validation on import.
EVENT_COLUMNS: tuple[tuple[str, ColumnKind], ...] = (
    ("event_id", "str"),
    ("ts", "ts"),
    ("source", "str"),
    ("provider", "str"),
    ("model", "str"),
    ("model_raw", "str"),
    ("requests", "int"),
    ("input_tokens", "int"),
    ("cache_read_tokens", "int"),
    ("cache_write_5m_tokens", "int"),
    ("cache_write_1h_tokens", "int"),
    ("output_tokens", "int"),
    ("reasoning_tokens", "int"),
    ("web_search_requests", "int"),
    ("service_tier", "str"),
    ("member", "str"),
    ("team", "str"),
    ("department", "str"),
    ("cost_center", "str"),
    ("project", "str"),
    ("workspace", "str"),
    ("api_key", "str"),
    ("feature", "str"),
    ("tool", "str"),
    ("integration", "str"),
    ("platform", "str"),
    ("session_id", "str"),
    ("chat_title", "str"),
    ("message_id", "str"),
    ("message_tokens", "int"),
    ("context_tokens", "int"),
    ("file_tokens", "int"),
    ("tool_output_tokens", "int"),
    ("latency_ms", "int"),
    ("status", "str"),
    ("error_type", "str"),
    ("file_id", "str"),
    ("file_name", "str"),
    ("file_bytes", "int"),
    ("reported_cost_usd", "money"),
    ("extra", "json"),
)
EVENT_COLUMN_NAMES: tuple[str, ...] = tuple(name for name, _ in EVENT_COLUMNS)
# The columns an event export (``usagectl export``, report events) writes beyond the canonical
# ones: computed at export time (``cost_usd``, the cost as priced then), never input. A file
# that holds every canonical column and these is such an export: an import leaves them out
# (``importers.canonical.export_derived``) and prices each event itself.
EVENT_EXPORT_DERIVED: tuple[str, ...] = ("cost_usd",)

# Exclusive token buckets: a row's cost is the plain sum of bucket x rate.
TOKEN_BUCKETS: tuple[str, ...] = (
    "input_tokens",
    "cache_read_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
)
# Counted columns that default to 0 when a record leaves them out.
ZERO_DEFAULT_INTS: tuple[str, ...] = TOKEN_BUCKETS + ("reasoning_tokens", "web_search_requests")

# ``fast``: Anthropic's fast mode (``usage.speed = "fast"``, priced per model); OpenAI's name
# for priority since 2026-07-30 (its table maps it: ``tier_aliases``)
SERVICE_TIERS: tuple[str, ...] = ("standard", "batch", "flex", "priority", "fast")
# inference geo spellings that mean the default, global routing; any other geo (Anthropic's
# US-only "us", 1.1x) is kept as ``<tier>@<geo>`` and priced by the table's ``inference_geo``
NO_GEO = frozenset(("", "global", "not_available", "default", "auto"))
# service tier spellings seen in logs that mean the standard tier (the price book, the importers
# and the SQL of validation and the Claude Code stager all read this one set)
STANDARD_TIERS = frozenset(("", "standard", "default", "auto"))

# ``extra.cache_write_split`` of a Claude Code line whose 5m/1h split does not add up to its
# ``cache_creation_input_tokens`` (the reader and the SQL stager write the same text)
SPLIT_OFF_NOTE = "5m/1h split does not add up to cache_creation_input_tokens: all cache writes counted as 5m"

# one amount of money (an event's reported cost, a billed line) must lie under this many dollars:
# DECIMAL(38, 12) holds 10^26, but sums, shares and exports multiply and add amounts, and one
# amount of 10^20 made every later report of the database fail with a DECIMAL overflow (QA)
# The largest count one record may hold in any integer column (a bucket of tokens, requests,
# web searches): 10^15 tokens is about $3 billion at $3 per million, far beyond any real
# request or provider bucket, yet nine such columns of a row and thousands of such rows still
# add up inside BIGINT. A count beyond it (a corrupt or made-up log) would make every report
# over its period overflow, so it is a reject ("too large"), not a stored row.
MAX_COUNT = 10**15
MONEY_LIMIT = 10**12  # the bound itself included
MONEY_LIMIT_TEXT = "amounts must lie within ±$1,000,000,000,000"


def sql_list(values: frozenset[str]) -> str:
    """A set of plain words as a SQL list, ``('', 'auto', …)``, in a stable order."""
    return "(" + ", ".join(repr(v) for v in sorted(values)) + ")"


@dataclass(frozen=True)
class Column:
    """One output column. ``kind`` decides alignment and formatting in every renderer."""

    key: str
    header: str
    kind: Literal["str", "int", "money", "amount", "rate", "pct", "used_pct", "date", "float"] = "str"
    # rate: a price, shown exactly; amount: money where None means "not applicable" (shown "–"), not unpriced;
    # used_pct: the part of a quota or budget used, a pct shown rounded down (99.98 -> 99.9%)
    in_table: bool = True  # False: only in machine formats (json, csv), left out of table/markdown
    # a table too wide for the terminal leaves these out first (1 before 2 ...; 0: never), rather
    # than fold header words and names; json, csv and markdown keep every column
    narrow_drop: int = 0
    # False: a number that names something (a batch id) is never abbreviated ("11.9k") when a
    # table shortens its counts to fit
    abbreviate: bool = True
    # True: money shown to the cent in tables even under a cent ($0.01, not $0.0068): an amount
    # measured against a limit set in cents (a budget left); json and csv keep 6 places
    cents: bool = False
    # True: a Decimal shown with every digit it has ($12.345, not $12.35): an amount the user set
    # (a budget's limit), shown as set; counts (int) as counts
    exact: bool = False


@dataclass(frozen=True)
class Section:
    """An extra table of a report (e.g. the model distribution of ``report month``)."""

    key: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class Report:
    """What every report service returns; renderers turn it into table/json/csv/markdown.

    JSON contract: ``{"report": name, "filters": {...}, "rows": [...], "totals": {...}}``
    plus one key per extra section and ``overview`` when present.
    """

    name: str
    title: str
    filters: dict[str, Any]
    columns: tuple[Column, ...]
    rows: tuple[dict[str, Any], ...]
    totals: dict[str, Any]
    overview: tuple[tuple[str, str, Any], ...] = ()  # (key, label, value) lines above the table
    sections: tuple[Section, ...] = ()
    notes: tuple[str, ...] = ()  # warnings a reader must see (unpriced usage, projection method)


@dataclass
class FileImportResult:
    path: str
    format: str
    records: int = 0
    imported: int = 0
    duplicates: int = 0
    rejected: int = 0
    replaced: int = 0  # stored events this file replaced (re-fetched buckets, larger copies)
    skipped_unchanged: bool = False
    error: str | None = None  # the file could not be read at all; nothing of it was stored
    batch_id: int | None = None
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # worth knowing, nothing wrong (a page without usage)
    # what its records are stored as: "events", or "cost lines" (provider cost reports, kept
    # apart for reconcile); the summary counts each under its own name
    stored_as: str = "events"
    folder: bool = False  # not a file: a folder of the tree that could not be read (``error`` says so)


@dataclass
class ImportSummary:
    files: list[FileImportResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def records(self) -> int:
        return sum(f.records for f in self.files)

    @property
    def imported(self) -> int:
        return sum(f.imported for f in self.files)

    @property
    def imported_cost_lines(self) -> int:
        """Of ``imported``, the billed cost lines (not events) from provider cost reports."""
        return sum(f.imported for f in self.files if f.stored_as == "cost lines")

    @property
    def duplicates(self) -> int:
        return sum(f.duplicates for f in self.files)

    @property
    def rejected(self) -> int:
        return sum(f.rejected for f in self.files)

    @property
    def replaced(self) -> int:
        return sum(f.replaced for f in self.files)

    @property
    def failed(self) -> list[FileImportResult]:
        return [f for f in self.files if f.error]

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": len(self.files),
            "failed_files": len(self.failed),
            "records": self.records,
            "imported": self.imported,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "replaced": self.replaced,
            "seconds": round(self.seconds, 3),
            "per_file": [
                {
                    "path": f.path,
                    "format": f.format,
                    "records": f.records,
                    "imported": f.imported,
                    "duplicates": f.duplicates,
                    "rejected": f.rejected,
                    "replaced": f.replaced,
                    "unchanged": f.skipped_unchanged,
                    "error": f.error,
                    "batch_id": f.batch_id,
                    "warnings": list(f.warnings),
                    "notes": list(f.notes),
                }
                for f in self.files
            ],
        }


def noun(n: int, word: str) -> str:
    """``word`` in the number ``n`` asks for: ``key`` for 1, else ``keys``."""
    return word if n == 1 else word + "s"


def json_kind(value: Any) -> str:
    """A decoded value named as JSON names it, for reject reasons: ``null``, ``true``, ``a
    number``, ``a string``, ``an array``, ``an object`` (bytes from a database: ``binary``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, Decimal)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "binary"
    return f"a {type(value).__name__}"


def not_an_object(value: Any) -> str:
    """The reject reason of a JSON line or element that is a value but not an object, naming
    its JSON kind: ``not a JSON object (an array)``."""
    return f"not a JSON object ({json_kind(value)})"


def json_failure(exc: Any, *, line: bool = False) -> str:
    """Where and why Python's JSON reader failed (``exc``: a ``json.JSONDecodeError``), in one
    phrasing for every reject: ``Expecting value (column 12)``; a message that ends in "at"
    (``Unterminated string starting at``, ``Invalid control character at``) runs on into its
    place: ``Unterminated string starting at column 5``. ``line``: with the line too (a document
    on many lines)."""
    place = f"line {exc.lineno} column {exc.colno}" if line else f"column {exc.colno}"
    return f"{exc.msg} {place}" if exc.msg.endswith(" at") else f"{exc.msg} ({place})"


def unread(failed: list[FileImportResult]) -> str:
    """``2 files``, ``1 folder``, ``1 file and 1 folder``: what ``failed`` could not read."""
    folders = sum(1 for f in failed if f.folder)
    parts = [counted(n, w) for n, w in ((len(failed) - folders, "file"), (folders, "folder")) if n]
    return " and ".join(parts)


def counted(n: int, word: str) -> str:
    """A count and its noun for the words of notes and summaries: ``1 request``, ``1,200 tokens``
    (shared by the services' notes and the renderers)."""
    return f"{n:,} {noun(n, word)}"


# What a terminal must never receive from an input file: C0 controls (ESC opens the sequences
# that retitle, recolour, move the cursor or rewrite lines; BEL, BS, CR), DEL, C1 controls (8-bit
# CSI), lone surrogates (undecodable bytes) and the bidirectional marks and overrides that make
# text read otherwise than it is stored.
# (compiled on first use: ~0.7 ms that a command printing no message does not pay)
_UNPRINTABLE_CLASS = "[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


@cache
def _unprintable() -> re.Pattern[str]:
    return re.compile(_UNPRINTABLE_CLASS)


def _escape(ch: str) -> str:
    code = ord(ch)
    return _NAMED_ESCAPES.get(ch) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def printable(text: str) -> str:
    """``text`` safe to write to a terminal: every character of ``_UNPRINTABLE_CLASS`` shown as its
    escape (``\\x1b``, ``\\x07``, ``\\n``, ``\\u202e``); any other text unchanged, so a text
    that went through it once is unchanged by a second pass. Messages, warnings and the human
    report formats pass what they print through it: input text quoted into them (a CSV header,
    a reject's value, a file name) can hold anything."""
    pattern = _unprintable()
    if pattern.search(text) is None:  # nearly always: no copy
        return text
    return pattern.sub(lambda m: _escape(m.group()), text)


def printable_lines(text: str) -> str:
    """``printable`` line by line: the line breaks of a multi-line note kept, the rest escaped."""
    return "\n".join(printable(line) for line in text.split("\n"))


def excerpt(text: str, limit: int = 60) -> str:
    """At most ``limit`` characters of ``printable(text)`` for a message that quotes input (a
    CSV header of binary bytes, a column name of 10 KB), cut with ``…`` between escapes, never
    inside one."""
    shown = printable(text)
    if len(shown) <= limit:
        return shown
    out: list[str] = []
    used = 0
    for ch in text:
        piece = _escape(ch) if _unprintable().match(ch) else ch
        if used + len(piece) > limit - 1:
            break
        out.append(piece)
        used += len(piece)
    return "".join(out) + "…"


def without_lone_surrogate(text: str) -> str:
    """``text`` with U+FFFD for each lone surrogate (what a JSON ``"\\ud800"`` escape without
    its pair decodes to: no UTF-8 text, so no DuckDB value or hash, can hold it)."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


LONE_SURROGATE = "not valid JSON: a lone surrogate escape (\\ud800-\\udfff without its pair)"


def has_lone_surrogate(value: Any) -> bool:
    """Whether decoded JSON holds a lone surrogate (a ``"\\ud800"`` escape without its pair):
    Python's reader takes it, DuckDB's refuses the line, and no UTF-8 text can hold it."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def without_lone_surrogates_in(value: Any) -> Any:
    """``value`` (decoded JSON: dicts, lists, texts, ...) with every text, keys included, passed
    through ``without_lone_surrogate``."""
    if isinstance(value, str):
        return without_lone_surrogate(value)
    if isinstance(value, dict):
        return {without_lone_surrogate(str(k)): without_lone_surrogates_in(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_lone_surrogates_in(v) for v in value]
    return value


Money = Decimal


@dataclass(frozen=True)
class Filters:
    """The slice of events a report covers: [start, end) as UTC instants, plus equality filters.

    ``since``/``until`` are the calendar dates (inclusive) in ``tz`` that produced the range.
    """

    start: Any  # datetime, tz-aware UTC
    end: Any
    tz: str
    since: Any = None  # date
    until: Any = None  # date
    where: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "tz": self.tz,
        }
        for key, values in self.where.items():
            out[key] = list(values)
        return out


ConflictRule = Literal["keep", "replace", "max-usage"]


@dataclass
class Record:
    """One source record mapped onto canonical columns (what a format importer yields).

    ``fields`` keys are canonical column names (``EVENT_COLUMN_NAMES``); values may be str,
    int, Decimal, tz-aware datetime, dict/list (for ``extra``) or None. ``event_id`` must be
    the source's stable identity (the dedup key), e.g. ``"claude-code:<message id>:<request id>"``.
    A record with ``problem`` set is rejected with that reason (file, line and ``raw`` kept).
    """

    rec: int  # 1-based record number in the file
    line: int | None = None  # 1-based line, when the format has lines
    fields: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None
    raw: str | None = None
    # provider usage pages: the group-by of the fetch (the dimensions set in any row of the page),
    # wider than the bucket's own ``extra.group_by`` when a dimension is null in every row of the
    # bucket. Only weighed against other fetches (``store.billing``), never stored.
    fetch_sig: tuple[str, ...] | None = None
    # a record that repeats one read before it in the same file, with the same event id (a Codex
    # re-emitted total): counted among the file's records and its duplicates (Dup in file), but
    # not staged, so it costs no validation or dedup work (``store.ingest._stage_records``)
    repeats: bool = False
