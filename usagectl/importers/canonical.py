"""The canonical event format as JSONL, CSV or Parquet (column names as in PRODUCT.md).

The heavy lifting (parsing JSONL and Parquet) is done by DuckDB's readers in
``usagectl.store.ingest``; this module finds files, tells formats apart, reads CSV exactly
(line numbers and raw text for every record) and recovers the raw line of a JSONL record
that was rejected.
"""

from __future__ import annotations

import gzip
import io
import re
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, cast

from usagectl.errors import InputError, UsageError
from usagectl.importers._csv import NOT_UTF8, csv_records, header_problem, is_utf8, other_separator
from usagectl.importers._values import _clean
from usagectl.models import (
    EVENT_COLUMN_NAMES,
    EVENT_EXPORT_DERIVED,
    FORMULA_STARTS,
    Record,
    json_failure,
    not_an_object,
)

if TYPE_CHECKING:
    from usagectl.importers._pages import Page

FORMATS = ("jsonl", "csv", "parquet")
EVENTS_REPORT = "events"  # the report name of `usagectl export --json`: the one report that holds events
_EXT = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}


def _suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def detect_format(path: Path) -> str:
    """Format from the extension, else from the first bytes."""
    by_ext = _EXT.get(_suffix(path))
    if by_ext:
        return by_ext
    try:
        with open_text_or_binary(path) as fh:
            head = fh.read(64)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from exc
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith((b"{", b"[")):
        return "jsonl"
    return "csv"


def open_text_or_binary(path: Path) -> IO[bytes]:
    if path.suffix.lower() == ".gz":
        return cast(IO[bytes], gzip.open(path, "rb"))
    return path.open("rb")


def iter_input_files(paths: Iterable[Path], fmt: str) -> Iterator[tuple[Path, str]]:
    """Expand directories (recursively, sorted) and pair each file with its format."""
    for path in paths:
        if not path.exists():
            raise InputError(f"{path}: no such file or directory")
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".") and _suffix(p) in _EXT
            )
            for p in found:
                yield p, (fmt if fmt != "auto" else detect_format(p))
        else:
            if fmt == "auto":
                yield path, detect_format(path)
            elif fmt in FORMATS:
                yield path, fmt
            else:
                raise UsageError(f"unknown format {fmt!r} (choose from auto, {', '.join(FORMATS)})")


def export_derived(names: Collection[str]) -> list[str]:
    """The columns of ``names`` an import leaves out as an event export's own: its derived
    columns (``EVENT_EXPORT_DERIVED``), when ``names`` hold every canonical column and them,
    as every row of ``usagectl export`` does. Each event is priced again on import, so the
    cost as priced at export time would only go stale in ``extra``. In any other file a
    ``cost_usd`` is the user's own column, kept in ``extra`` as an unknown one."""
    given = set(names)
    return list(EVENT_EXPORT_DERIVED) if given >= _EXPORT_SHAPE else []


def derived_note(left_out: Collection[str]) -> str:
    """The import's note for the export columns it left out (``export_derived``)."""
    names = ", ".join(sorted(left_out))
    return (
        f"{names} left out: the {'column is' if len(left_out) == 1 else 'columns are'} computed by `usagectl export`; "
        "the import prices each event itself (a cost the source reported goes in reported_cost_usd)"
    )


def locate_jsonl_records(path: Path, recnos: set[int]) -> dict[int, tuple[int, str] | tuple[int, str, str | None]]:
    """Map 1-based record numbers (non-blank lines, DuckDB's numbering) to (line number, raw
    text), or (line number, raw text, ``NOT_UTF8``) for a line that is not valid UTF-8: DuckDB's
    reader refuses such a line whole (every field NULL), so the reason is the bytes, not a
    missing field; the raw text keeps U+FFFD in place of the bad bytes.

    One streaming pass, run only when a file has rejected records.
    """
    found: dict[int, tuple[int, str] | tuple[int, str, str | None]] = {}
    if not recnos:
        return found
    wanted_max = max(recnos)
    rec = 0
    with open_text_or_binary(path) as fb:
        for lineno, raw in enumerate(fb, 1):  # bytes: no decoding of the lines we do not want
            if not raw.strip():
                continue
            rec += 1
            if rec in recnos:
                line = raw.rstrip(b"\r\n")
                try:
                    found[rec] = (lineno, line.decode("utf-8"))
                except UnicodeDecodeError:
                    found[rec] = (lineno, line.decode("utf-8", errors="replace"), NOT_UTF8)
                if rec >= wanted_max:
                    break
    return found


def locate_csv_records(path: Path, recnos: set[int]) -> dict[int, tuple[int, str] | tuple[int, str, str | None]]:
    """Map 1-based record numbers of a CSV (``read_csv_chunks``' numbering: the records after the
    header, blank lines left out) to (first line, the record's text, no other reason): a record
    the store's checks rejected keeps its own text, not its fields as JSON. One streaming pass,
    run only when a file has rejected records."""
    found: dict[int, tuple[int, str] | tuple[int, str, str | None]] = {}
    if not recnos:
        return found
    wanted_max = max(recnos)
    with open_text_or_binary(path) as fb:
        text = io.TextIOWrapper(fb, encoding="utf-8-sig", errors="surrogateescape", newline="")
        records = csv_records(text, keep_text=True)
        if next(records, None) is None:  # the header
            return found
        rec = 0
        for r in records:
            if r.values is not None and (not r.values or (len(r.values) == 1 and r.values[0] == "")):
                continue  # a blank line is no record (read_csv_chunks)
            rec += 1
            if rec in recnos:
                found[rec] = (r.line, _clean(r.raw or ""), None)
                if rec >= wanted_max:
                    break
    return found


def read_json_document(path: Path, left_out: set[str] | None = None) -> list[Record] | None:
    """The records of a file that is ONE JSON document rather than JSONL: an array of events,
    or usagectl's own ``export --json`` output (an object with ``"report"`` and a ``"rows"``
    array), each element a record numbered from 1 in order (the output of any other report is
    refused whole: its rows are not events); a single pretty-printed event is
    one record. None for JSONL: its first line is a complete object (only that line is read
    to tell), or the file does not parse as a whole and its first line is not the opening of
    a document (a JSONL file with a broken first line). A file that starts with ``[`` and does
    not parse whole (a truncated array), or a broken pretty-printed document (its first line
    opens an object or array), is refused whole with an ``InputError``: read in part it would
    import stray pieces and reject the rest. The derived columns of an event export's rows are
    left out of the records and added to ``left_out`` (``export_derived``)."""
    import json

    from usagectl.importers import _pages

    try:
        with open_text_or_binary(path) as fh:
            first = fh.readline()
            while first and not first.strip():
                first = fh.readline()
            head = first.lstrip(b"\xef\xbb\xbf \t\r\n")
            if not head.startswith((b"{", b"[")):
                return None
            if head.startswith(b"{"):
                try:  # bytes that are not UTF-8 leave a JSONL line JSONL: its record says so
                    obj = json.loads(head.decode("utf-8", "surrogateescape"))
                except (ValueError, RecursionError):
                    obj = None
                if isinstance(obj, dict) and not _is_report(obj):
                    return None
            data = first + fh.read()
    except (OSError, EOFError):  # unreadable or a broken .gz: the JSONL reader says so, as before
        return None
    try:
        text = data.decode("utf-8")
        bad_bytes = False
    except UnicodeDecodeError:  # kept as surrogate escapes: the elements holding them are rejected
        text = data.decode("utf-8", "surrogateescape")
        bad_bytes = True
    text = text.lstrip("\ufeff")
    start = _pages._skip_ws(text, 0)
    if text[start] == "[":
        # one pass that keeps each element's line; a part that does not parse (a truncated
        # array, text after it) refuses the file, never the elements parsed before it
        pages = list(_pages._array_pages(text, start))
        if any(p.problem is not None for p in pages):
            raise InputError(f"{path}: neither JSONL nor one valid JSON document ({_parse_error(text, pages)})")
        return [
            _document_record(i, p.line, p.obj, _not_utf8(p.obj) if bad_bytes else None, p.raw, left_out)
            for i, p in enumerate(pages, 1)
        ]
    try:
        # with bad bytes, lone surrogates are left in place for ``_not_utf8`` to find
        doc = _pages._DECODER.decode(text) if bad_bytes else _pages.loads(text)
    except (ValueError, RecursionError) as exc:
        # only a first line that opens a container ("rows": [) starts a pretty-printed
        # document; any other broken first line is a bad JSONL record (a half-written line)
        if not head.rstrip().endswith((b"[", b"{")):
            return None
        raise InputError(f"{path}: neither JSONL nor one valid JSON document ({_pages._why(exc)})") from exc
    if not _is_report(doc):
        return [
            _document_record(
                1, text.count("\n", 0, start) + 1, doc, NOT_UTF8 if bad_bytes else None, text[start:], left_out
            )
        ]
    _refuse_non_event_report(path, doc)
    return [
        _document_record(i, None, row, _not_utf8(row) if bad_bytes else None, None, left_out)
        for i, row in enumerate(doc["rows"], 1)
    ]


_SURROGATE = re.compile("[\ud800-\udfff]")


def _not_utf8(obj: object) -> str | None:
    """``NOT_UTF8`` when an element of a document decoded with ``surrogateescape`` holds a
    byte that is not UTF-8 (a lone surrogate in its text, which no UTF-8 text can hold either:
    an escaped ``\\udc80`` in a file that also has bad bytes is refused with them). Only called
    for a file that failed strict decoding."""
    from usagectl.importers._pages import dumps

    return NOT_UTF8 if _SURROGATE.search(dumps(obj)) else None


def _storable(text: str) -> str:
    """Text safe to store: each undecodable byte (or other lone surrogate) becomes U+FFFD."""
    try:
        return _clean(text)
    except UnicodeEncodeError:  # a surrogate that was not a byte (an escape such as \ud800)
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def _parse_error(text: str, pages: list[Page]) -> str:
    """Why an array document does not parse, with the line and column of the first error: the
    whole text parsed again (only on this error path) gives the decoder's position."""
    from usagectl.importers import _pages

    try:
        _pages.loads(text)
    except (ValueError, RecursionError) as exc:
        return _pages._why(exc)
    return next(p.problem for p in pages if p.problem is not None) or "not valid JSON"


def _is_report(obj: object) -> bool:
    """Whether a JSON object is a usagectl report (``{"report", "filters", "rows", "totals"}``)."""
    return isinstance(obj, dict) and "report" in obj and isinstance(obj.get("rows"), list)


def _refuse_non_event_report(path: Path, doc: dict[str, object]) -> None:
    """Only ``export --json`` output (report "events") holds events: the rows of any other
    report are sums per group, with no ``ts``, and would each be rejected ("missing ts") while
    the import exits 0; refused whole instead, naming what to import."""
    name = doc.get("report")
    if name != EVENTS_REPORT:
        raise InputError(
            f"{path} is the output of a usagectl report ({name!r}), not events "
            "(import `usagectl export --json` output instead)"
        )


def read_jsonl_records(path: Path, left_out: set[str] | None = None) -> list[Record]:
    """The records of a JSONL file read in Python, one per non-blank line (numbered as DuckDB's
    reader numbers them), each with its line: the path for a file whose keys DuckDB's reader
    cannot take apart (two keys, or a key and a canonical column, that differ only in case)."""
    import json

    from usagectl.importers._pages import RAW_MAX, loads

    out: list[Record] = []
    rec = 0
    with open_text_or_binary(path) as fh:
        for lineno, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            rec += 1
            text = raw.decode("utf-8", "surrogateescape").rstrip("\r\n").lstrip("\ufeff")
            try:
                obj = loads(raw.decode("utf-8").lstrip("\ufeff"))
            except UnicodeDecodeError:
                out.append(Record(rec, lineno, problem="not valid UTF-8 text", raw=_storable(text[:RAW_MAX])))
                continue
            except json.JSONDecodeError as exc:
                problem = f"not valid JSON: {json_failure(exc)}"
                out.append(Record(rec, lineno, problem=problem, raw=_storable(text[:RAW_MAX])))
                continue
            except (ValueError, RecursionError) as exc:
                out.append(Record(rec, lineno, problem=f"not valid JSON: {exc}", raw=_storable(text[:RAW_MAX])))
                continue
            out.append(_document_record(rec, lineno, obj, None, text, left_out))
    return out


def _document_record(
    rec: int, line: int | None, obj: object, problem: str | None, raw: str | None, left_out: set[str] | None = None
) -> Record:
    """One element of a JSON document as a canonical record: the canonical keys as fields, the
    others kept in ``extra`` (merged as the JSONL reader does), but for the derived columns of
    an event export's row (``export_derived``), which are added to ``left_out``."""
    import json

    from usagectl.importers._pages import RAW_MAX, dumps

    if problem is None and not isinstance(obj, dict):
        problem = not_an_object(obj)
    if problem is not None or not isinstance(obj, dict):
        shown = raw if raw is not None else dumps(obj)
        return Record(rec, line, problem=problem, raw=_storable(shown[:RAW_MAX]))
    fields = {k: v for k, v in obj.items() if k in _CANONICAL}
    derived = export_derived(obj)
    if derived and left_out is not None:
        left_out.update(derived)
    if isinstance(fields.get("extra"), str) and is_null_text(fields["extra"]):
        fields["extra"] = None  # the JSON null as text is no extra, as the JSON null itself
    unknown = {k: v for k, v in obj.items() if k not in _CANONICAL and k not in derived and v is not None}
    if unknown:
        extra = fields.get("extra")
        if isinstance(extra, str):
            try:
                extra = json.loads(extra)
            except ValueError:
                pass
        if extra is None:
            fields["extra"] = unknown
        elif isinstance(extra, dict) and not unknown.keys() & extra.keys():
            fields["extra"] = {**unknown, **extra}
        elif isinstance(extra, dict):  # a key both top-level and in extra: extra's stays, the others apart
            fields["extra"] = {**extra, fields_key(extra): unknown}
        else:
            fields["extra"] = {"extra": extra, "fields": unknown}
        fields["extra"] = dict(sorted(fields["extra"].items()))  # in key order, as the stagers keep them
    return Record(rec, line, fields=fields)


def fields_key(extra: Collection[str]) -> str:
    """The key of a record's ``extra`` object its top-level unknown keys go under when one of them
    is also a key of that object: ``fields``, or when the object has its own ``fields``,
    ``fields_2``, ``fields_3``, ... (the first it does not have). The user's own ``fields`` was
    overwritten, and records that differed only in it got one id (QA); a record without its own
    ``fields`` keeps the key, so its stored ``extra`` and id are those of earlier imports.
    ``ingest.FIELDS_KEY_SQL`` is the same choice in SQL."""
    if "fields" not in extra:
        return "fields"
    n = 2
    while f"fields_{n}" in extra:
        n += 1
    return f"fields_{n}"


def is_null_text(text: str) -> bool:
    """Whether ``text`` is the JSON null (``null``, JSON's white space around it allowed): an
    ``extra`` given so is none, as ``"extra": null`` is, so that the same event given both ways
    gets one id (QA: a CSV cell ``null`` and JSONL's null were two events).
    ``ingest.NULL_TEXT_SQL`` is the same test in SQL."""
    return text.strip(_JSON_SPACE) == "null"


_JSON_SPACE = " \t\n\r"  # RFC 8259's white space, and only it
_CANONICAL = frozenset(EVENT_COLUMN_NAMES)
_EXPORT_SHAPE = _CANONICAL | frozenset(EVENT_EXPORT_DERIVED)
_CANONICAL_FOLDED = {c.lower(): c for c in EVENT_COLUMN_NAMES}


@dataclass
class CsvChunk:
    columns: list[str]  # column names (``csv_columns``): canonical names, else the header's own
    rows: list[list[str | None]]  # values aligned with columns ("" -> None)
    lines: list[int]  # first line of each record
    raws: list[str | None]  # raw text, filled for records with a structural problem
    problems: list[str | None]  # structural problem of the record, if any
    renamed: dict[str, str] = field(default_factory=dict)  # name given to an unknown column -> why


def csv_columns(path: Path, header: list[str]) -> tuple[list[str], dict[str, str]]:
    """The column names of a canonical CSV header, and why an unknown column was renamed.

    A name matches a canonical column whatever its case and surrounding spaces (``TS`` is
    ``ts``). Two names for the same canonical column refuse the file (``InputError``): their
    values may disagree and neither can be picked. Unknown columns go to ``extra`` under their
    own names, each kept apart: an empty name becomes ``column_N`` (its 1-based position) and
    a repeated one ``name_2``, ``name_3``, ... (never a name the header already uses)."""
    folded = [h.strip() for h in header]
    columns: list[str | None] = [_CANONICAL_FOLDED.get(h.lower()) for h in folded]
    seen: dict[str, str] = {}
    for name, canon in zip(folded, columns):
        if canon is None:
            continue
        if canon in seen:
            spelled = "" if seen[canon] == name else f" (as {seen[canon]!r} and {name!r})"
            raise InputError(
                f"{path}: line 1: the CSV header names column {canon!r} twice{spelled}: "
                "their values may disagree and neither can be chosen"
            )
        seen[canon] = name
    used = {c for c in columns if c is not None} | {h for h, c in zip(folded, columns) if c is None}
    taken: set[str] = set()
    renamed: dict[str, str] = {}
    out: list[str] = []
    for position, (name, canon) in enumerate(zip(folded, columns), 1):
        if canon is not None:
            out.append(canon)
            continue
        if name and name not in taken:
            taken.add(name)
            out.append(name)
            continue
        base, n, why = (name, 2, f"a repeated {name!r}") if name else (f"column_{position}", 1, "an empty name")
        new = base if n == 1 else f"{base}_{n}"
        while new in used or new in taken:
            n += 1
            new = f"{base}_{n}"
        taken.add(new)
        renamed[new] = why
        out.append(new)
    return out, renamed


def _unguarded(value: str) -> str:
    """``value`` without the ``'`` a CSV export put before formula-looking text
    (``models.FORMULA_STARTS``): ``'=1+1`` is ``=1+1`` again, so a re-imported export gets the
    same event_id and member names and adds nothing. Other text starting with ``'`` is kept."""
    return value[1:] if value.lstrip("'").startswith(FORMULA_STARTS) else value


def csv_header(path: Path) -> list[str] | None:
    """The column names of a CSV's first record as written (None when the file has no line,
    or its first record cannot be read): what an import that found no record says of it."""
    try:
        with open_text_or_binary(path) as fb:
            text = io.TextIOWrapper(fb, encoding="utf-8-sig", errors="replace", newline="")
            first = next(csv_records(text), None)
    except (OSError, EOFError, UnicodeError):
        return None
    return None if first is None else first.values


def first_names(path: Path, fmt: str) -> list[str] | None:
    """The field names of a canonical file's first record, as written: a CSV's header, the keys of
    a JSONL file's first object (or of a JSON document's first event), a Parquet file's columns.
    None when they cannot be read (what a check that the file holds canonical events skips)."""
    if fmt == "csv":
        return csv_header(path)
    if fmt == "parquet":
        try:
            import pyarrow.parquet as pq

            return list(pq.read_schema(path).names)
        except Exception:  # not readable as Parquet: the import has said why
            return None
    import json

    try:
        with open_text_or_binary(path) as fb:
            text = fb.read(1 << 20).decode("utf-8", errors="replace").lstrip("\ufeff").lstrip()
    except (OSError, EOFError):
        return None
    try:
        first: object = json.loads(text) if text.startswith("[") else json.loads(text.split("\n", 1)[0])
    except ValueError:
        return None
    if isinstance(first, list):
        first = first[0] if first else None
    return list(first) if isinstance(first, dict) else None


def read_csv_chunks(path: Path, chunk_rows: int = 50_000) -> Iterator[CsvChunk]:
    """Read a CSV with a header row exactly: each record's first line number, and a structural
    problem (wrong field count, a quote never closed) reported per record instead of aborting
    the file (``_csv.csv_records``). The formula guard of a CSV export is removed (``_unguarded``)."""
    try:
        fb = open_text_or_binary(path)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from exc
    with fb:
        # undecodable bytes become surrogate escapes: a bad byte rejects its own record, not
        # the file (a strict decoder fails on the first block read, before any line is known)
        text = io.TextIOWrapper(fb, encoding="utf-8-sig", errors="surrogateescape", newline="")
        records = csv_records(text)
        first = next(records, None)
        if first is None:
            return
        if first.values is None:
            raise InputError(f"{path}: line 1: cannot read the CSV header: {first.problem}")
        header = first.values
        if problem := header_problem(header) or other_separator(header, "ts", "save the file as comma-separated CSV"):
            raise InputError(f"{path}: line 1: {problem}")
        header, renamed = csv_columns(path, header)
        width = len(header)
        chunk = CsvChunk(header, [], [], [], [], renamed)
        for rec in records:
            record = rec.values
            if record is None:
                chunk.rows.append([None] * width)
                chunk.lines.append(rec.line)
                chunk.raws.append(None if rec.raw is None else _clean(rec.raw))
                chunk.problems.append(rec.problem)
            elif not record or (len(record) == 1 and record[0] == ""):
                continue  # blank line
            elif len(record) != width or not is_utf8(record):
                chunk.rows.append([None] * width)
                chunk.lines.append(rec.line)
                chunk.raws.append(_clean(",".join(record)))
                chunk.problems.append(
                    f"expected {width} fields, found {len(record)}" if len(record) != width else NOT_UTF8
                )
            else:
                chunk.rows.append([None if v == "" else _unguarded(v) if v[0] == "'" else v for v in record])
                chunk.lines.append(rec.line)
                chunk.raws.append(None)
                chunk.problems.append(None)
            if len(chunk.rows) >= chunk_rows:
                yield chunk
                chunk = CsvChunk(header, [], [], [], [], renamed)
        if chunk.rows:
            yield chunk
