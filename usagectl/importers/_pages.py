"""Saved pages of the providers' Admin APIs (usage and cost reports), shared by their importers.

A saved file holds one page (a JSON object), a JSON array of pages, JSONL with one page per
line, or pages appended one after another (pretty-printed or not). ``read_pages`` yields each
page with its line, or a problem when a part of the file is not JSON; it never raises on content. The value checkers return ``(value, problem)`` so an importer
turns a bad field into a reject naming the source's own field.

Every bucket row an importer yields carries ``extra["bucket_end"]`` (ISO UTC) and
``extra["group_by"]`` (the sorted dimensions the page was grouped by): the store uses them to keep
rows of different fetch shapes from being summed (``usagectl.store.billing.settle_shapes``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from usagectl.errors import InputError
from usagectl.importers._values import _clean, exact_decimal, from_iso, without_lone_surrogates
from usagectl.models import MAX_COUNT, json_failure

RAW_MAX = 4000
BIGINT_MAX = 2**63 - 1
_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
_LATEST = datetime(2100, 1, 1, tzinfo=UTC)
_RANGE = "usage times must lie from 2000-01-01 to 2100-01-01"
SUFFIXES = (".json", ".jsonl", ".ndjson")


@dataclass
class Page:
    line: int | None  # 1-based line where the page starts
    obj: Any = None  # the parsed page (None when ``problem`` is set)
    raw: str = ""  # the page's text (kept for rejects)
    problem: str | None = None
    # where the page lies in its file's text (``line_of``); unset for a page on one line
    text: str = field(default="", repr=False)
    start: int = 0
    end: int = 0
    _where: dict[tuple[Any, ...], int] | None = field(default=None, repr=False)
    _dropped: bool = field(default=False, repr=False)  # ``obj`` let go (``drop``)

    def drop(self) -> None:
        """Let the parsed page go (``parsed`` reads it again from the text): a reader that notes
        what a fetch's pages hold keeps none of them parsed meanwhile (a parsed page takes some
        4.5 times its text: a year of 1-minute pages, 130 MB, took 580 MB held whole)."""
        if self.text and self.problem is None:
            self.obj, self._dropped = None, True

    def parsed(self) -> Any:
        """The parsed page: ``obj``, or, once dropped, the same value read again from the text."""
        return _value_at(self.text, self.start)[0] if self._dropped else self.obj

    def line_of(self, bucket: int, row: int | None = None) -> int | None:
        """The line of bucket ``bucket`` of the page's ``data`` (a bare bucket: 0), or of its
        result ``row``: in a pretty-printed page a reject names the line where that object
        starts, not the page's first line. The page's own line when the object is not found."""
        if self.line is None or not self.text:
            return self.line
        if self._where is None:  # worked out once, for a page on more than one line only
            several = self.text.find("\n", self.start, self.end) >= 0
            self._where = _object_lines(self.text, self.start, self.end, self.line) if several else {}
        key = (bucket,) if row is None else (bucket, row)
        return self._where.get(key, self._where.get((bucket,), self.line))


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


_DECODER = json.JSONDecoder(parse_float=exact_decimal, parse_constant=_reject_constant)


def _why(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON: {json_failure(exc, line=True)}"
    if isinstance(exc, RecursionError):
        return "not valid JSON: nested too deeply"
    return f"not valid JSON: {str(exc)[:120]}"


def loads(text: str) -> Any:
    """JSON with exact decimals; NaN/Infinity and absurd nesting raise ValueError/RecursionError."""
    return without_lone_surrogates(_DECODER.decode(text), text)


def _skip_ws(text: str, i: int) -> int:
    n = len(text)
    while i < n and text[i] in " \t\r\n":
        i += 1
    return i


_ROWS = ("results", "result")
_WS = " \t\r\n"


def _object_lines(text: str, start: int, end: int, line: int) -> dict[tuple[Any, ...], int]:
    """{(bucket,): line, (bucket, row): line} of the page ``text[start:end]`` (starting on
    ``line``): where the values ``data[i]`` and ``data[i].results[j]`` start, or ``results[j]``
    of a bare bucket (bucket 0). The page parsed already: its containers down to the rows are
    walked here, and every other value is skipped by the C decoder."""
    offsets: dict[tuple[Any, ...], int] = {}
    try:
        _walk(text, _skip_ws(text, start), (), offsets)
    except (ValueError, IndexError, RecursionError):  # not expected (the page parsed): keep what was found
        pass
    lines: dict[tuple[Any, ...], int] = {}
    pos = start
    for key, at in sorted(offsets.items(), key=lambda kv: kv[1]):
        line += text.count("\n", pos, at)
        pos = at
        lines[key] = line
    return lines


def _walk(text: str, i: int, path: tuple[Any, ...], offsets: dict[tuple[Any, ...], int]) -> int:
    """Record where the value at ``text[i]`` (at ``path`` in the page) starts when it is a bucket
    or a row (``_place``), walk into it when rows may lie inside, and return where it ends."""
    found = _place(path)
    if found is not None:
        offsets[found] = i
    inside = len(path) < 4 and (not path or path[0] in ("data", *_ROWS))
    c = text[i]
    if c == "{" and inside:
        i = _skip_ws(text, i + 1)
        if text[i] == "}":
            return i + 1
        while True:
            key, i = _DECODER.raw_decode(text, i)
            i = _skip_ws(text, i)
            if text[i] != ":":
                raise ValueError("expected ':'")
            i = _walk(text, _skip_ws(text, i + 1), (*path, key), offsets)
            i = _skip_ws(text, i)
            if text[i] == "}":
                return i + 1
            i = _skip_ws(text, i + 1)  # past ","
    if c == "[" and inside:
        i = _skip_ws(text, i + 1)
        if text[i] == "]":
            return i + 1
        n = 0
        while True:
            i = _skip_ws(text, _walk(text, i, (*path, n), offsets))
            if text[i] == "]":
                return i + 1
            i = _skip_ws(text, i + 1)
            n += 1
    return _DECODER.raw_decode(text, i)[1]


def _place(path: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """(bucket,) or (bucket, row) for the path of an object in a page, else None."""
    if len(path) == 2 and path[0] == "data" and isinstance(path[1], int):
        return (path[1],)
    if len(path) == 4 and path[0] == "data" and isinstance(path[1], int) and path[2] in _ROWS:
        return (path[1], path[3]) if isinstance(path[3], int) else None
    if len(path) == 0:
        return (0,)  # the page itself: as a bare bucket, bucket 0
    if len(path) == 2 and path[0] in _ROWS and isinstance(path[1], int):
        return (0, path[1])
    return None


# bytes that are not UTF-8, as ``surrogateescape`` decodes them (U+DC80-U+DCFF)
_BAD_BYTE = re.compile("[\udc80-\udcff]")


def _undecodable(text: str, start: int, end: int, line: int) -> Page | None:
    """A reject for the page ``text[start:end]`` (from ``line``) when it holds a byte that is not
    UTF-8: on the line of that byte, never imported with U+FFFD in a name (other formats reject
    such a line too)."""
    m = _BAD_BYTE.search(text, start, end)
    if m is None:
        return None
    where = line + text.count("\n", start, m.start())
    byte = ord(m.group()) - 0xDC00
    return Page(where, None, _clean(text[start:end])[:RAW_MAX], f"not valid UTF-8 text (byte 0x{byte:02x})")


def read_pages(path: Path) -> Iterator[Page]:
    """Every page of a saved file, in file order. Raises InputError only when the file itself
    cannot be read. A page holding bytes that are not UTF-8 is a reject, not read with U+FFFD."""
    from usagectl.importers.canonical import open_text_or_binary

    try:
        with open_text_or_binary(path) as fh:  # .gz read decompressed
            data = fh.read()
    except (OSError, EOFError) as exc:  # also a corrupt or truncated .gz
        raise InputError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from exc
    text = data.decode("utf-8", errors="surrogateescape").lstrip("\ufeff")
    del data  # the pages are read from the text: the bytes beside it would double what is held
    bad = _BAD_BYTE.search(text) is not None
    start = _skip_ws(text, 0)
    if start >= len(text):
        return
    if text[start] == "[":
        yield from _array_pages(text, start, bad)
        return
    try:
        obj = loads(text)
    except (ValueError, RecursionError):
        pass  # several documents (JSONL, pages appended one after another), or a broken one
    else:
        first = text.count("\n", 0, start) + 1
        stop = len(text)
        while text[stop - 1] in _WS:  # after the page: only JSON whitespace (it parsed whole)
            stop -= 1
        page = (bad and _undecodable(text, start, len(text), first)) or Page(
            first, obj, text[start : min(stop, start + RAW_MAX)], text=text, start=start, end=len(text)
        )
        del obj  # the page alone holds it, for its reader to drop (``Page.drop``)
        yield page
        return
    yield from _stream_pages(text, start, bad)


def _value_at(text: str, i: int) -> tuple[Any, int]:
    """The JSON value starting at ``text[i]`` and where it ends (raises as ``loads`` does)."""
    obj, end = _DECODER.raw_decode(text, i)
    return without_lone_surrogates(obj, text[i:end]), end  # a "\ud800" escape, as ``loads`` does


def _page_at(text: str, i: int, end: int, line: int, obj: Any, bad: bool) -> Page:
    """The page ``obj`` read from ``text[i:end]`` (on ``line``), or its reject when ``bad`` bytes
    (not UTF-8) lie in it."""
    return (bad and _undecodable(text, i, end, line)) or Page(
        line, obj, text[i:end][:RAW_MAX], text=text, start=i, end=end
    )


def _stream_pages(text: str, start: int, bad: bool = False) -> Iterator[Page]:
    """The documents of a file that is not one: JSONL, or pages appended one after another
    (pretty-printed or not, with or without a newline between them, as ``curl … >> pages.json``
    leaves them), each a page on its line (an array: each of its pages). A part that does not
    parse (a page cut off by an interrupted download, a line of other text) is one reject, from
    where it starts to where the next page starts (``_resume``): the pages after it are kept."""
    i, pos, line = start, 0, 1
    while i < len(text):
        line += text.count("\n", pos, i)
        pos = i
        try:
            obj, end = _value_at(text, i)
        except (ValueError, RecursionError) as exc:
            end = _resume(text, i)
            why = _why(exc)
            if isinstance(exc, json.JSONDecodeError) and end < len(text) and exc.pos >= end:
                # the parse read on to the next page (taken in as the value the cut left open)
                nxt = line + text.count("\n", i, end)
                why = f"not valid JSON: cut off before it ends (the next page starts on line {nxt})"
            yield Page(line, None, _clean(text[i:end].rstrip()[:RAW_MAX]), why)
        else:
            if isinstance(obj, list):  # an array of pages among them: its pages, each on its line
                del obj
                yield from _array_pages(text[:end], i, bad)
            else:
                page = _page_at(text, i, end, line, obj, bad)
                del obj  # the page alone holds it, for its reader to drop (``Page.drop``)
                yield page
        i = _skip_ws(text, end)


# where a page may start: an object at the start of a line (JSONL, a pretty-printed page's
# first line: the objects inside a page are indented), or anywhere an object whose first key is
# one a page or an error envelope opens with (``data``; OpenAI's ``object``; Anthropic's ``type``
# and OpenAI's ``error`` of an error), as pages appended without a newline start mid-line
_PAGE_START = re.compile(r'(?m:^)\{|\{\s*"(?:data|object|type|error)"')
_RESUME_TRIES = 10_000


def _resume(text: str, i: int) -> int:
    """Where reading goes on after a part from ``i`` that does not parse: the first place after
    ``i`` where a whole page (or error envelope) starts, else the end of the text. Not where the
    parse failed: a page cut right after a ``:`` or a ``[`` takes the next page in as its value
    and fails after it, and a page appended without a newline starts mid-line. The objects inside
    a page that start like one (an OpenAI bucket, ``{"object": "bucket"``) are no page.

    A line that is an object of its own (it opens with ``{`` and ends with ``}``: a page of a JSONL
    file, whatever its first key, or re-written with its keys in another order) is where reading
    goes on whether or not it parses: a bad page on the next line is a reject of its own, on its
    own line, and never takes the pages after it along. A ``{`` alone on its line (a pretty-printed
    object, a page's or, written with ``indent=0``, a bucket's) must parse as a page."""
    for n, m in enumerate(_PAGE_START.finditer(text, i + 1)):
        if n >= _RESUME_TRIES:
            break
        at = m.start()
        if at == 0 or text[at - 1] == "\n":
            stop = text.find("\n", at)
            line = text[at : len(text) if stop < 0 else stop].rstrip()
            if len(line) > 1 and line.endswith(("}", "},", "}]")):  # JSONL, or an array's page a line
                return at
        try:
            obj, _ = _value_at(text, at)
        except (ValueError, RecursionError):
            continue
        if isinstance(obj, dict) and ("data" in obj or error_message(obj) is not None):
            return at
    return len(text)


def _array_pages(text: str, start: int, bad: bool = False) -> Iterator[Page]:
    """Elements of a top-level array one by one, so a truncated array keeps its whole pages;
    ``bad``: the text holds bytes that are not UTF-8 (an element with one is a reject)."""
    line = text.count("\n", 0, start) + 1
    pos = start
    i = _skip_ws(text, start + 1)
    if i < len(text) and text[i] == "]":
        tail = _skip_ws(text, i + 1)
        if tail < len(text):
            yield Page(line, None, text[tail:][:RAW_MAX], "not valid JSON: extra data after the array")
        return
    while True:
        line += text.count("\n", pos, i)
        pos = i
        try:
            obj, end = _value_at(text, i)
        except (ValueError, RecursionError) as exc:
            # one reject up to where the next page starts (``_resume``), and the pages after it
            # read (QA: the rest of the array was dropped, not even counted)
            nxt = _resume(text, i)
            yield Page(line, None, _clean(text[i:nxt].rstrip().rstrip(",")[:RAW_MAX]), _why(exc))
            if nxt >= len(text):
                return
            line += text.count("\n", pos, nxt)
            pos, i = nxt, nxt
            continue
        page = _page_at(text, i, end, line, obj, bad)
        del obj  # the page alone holds it, for its reader to drop (``Page.drop``)
        yield page
        i = _skip_ws(text, end)
        if i < len(text) and text[i] == ",":
            i = _skip_ws(text, i + 1)
            continue
        if i < len(text) and text[i] == "]":
            tail = _skip_ws(text, i + 1)
            if tail < len(text):
                line += text.count("\n", pos, tail)
                yield Page(line, None, text[tail:][:RAW_MAX], "not valid JSON: extra data after the array")
            return
        if i < len(text) and text[i] == "{":
            continue  # the next page without its comma: read it (nothing of it is lost)
        line += text.count("\n", pos, i)
        pos = i
        where = "end of file" if i >= len(text) else repr(text[i])
        nxt = _resume(text, i) if i < len(text) else len(text)
        yield Page(
            line, None, text[i:nxt][:RAW_MAX], f"not valid JSON: expected ',' or ']' in the array, found {where}"
        )
        if nxt >= len(text):
            return
        i = nxt


def files(root: Path) -> list[Path]:
    """The saved pages below ``root``: ``.json``, ``.jsonl``, ``.ndjson``, each also gzipped
    (``.json.gz``: the readers open either), not hidden files."""
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".") and _page_name(p.name))


def _page_name(name: str) -> bool:
    lower = name.lower()
    return lower.removesuffix(".gz").endswith(SUFFIXES)


def _refuse(obj: Any) -> Any:
    raise TypeError(type(obj).__name__)


# compact JSON written by the C encoder: the same text as ``_dumps`` for what it can write
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_refuse)


def dumps(obj: Any) -> str:
    """Compact JSON of a parsed value; a Decimal is written back as the number it was read from.
    (The same text either way: content ids are hashes of it, ``key_hash``.) A value without a
    Decimal is written by the C encoder, ~20x faster than ``_dumps``' walk. One difference: a
    value nested some 330 to 990 levels deep, where the walk ran out of stack and wrote the
    note below, is written in full; no page of a provider nests deeper than 5 levels."""
    try:
        try:
            return _ENCODER.encode(obj)
        except (TypeError, RecursionError):  # a Decimal inside, or nesting the C encoder refuses
            return _dumps(obj)
    except RecursionError:
        return '"(nested too deeply to show)"'


def _dumps(obj: Any) -> str:
    if isinstance(obj, Decimal):
        return str(obj) if obj.is_finite() else json.dumps(str(obj))
    if isinstance(obj, dict):
        return "{" + ",".join(json.dumps(str(k), ensure_ascii=False) + ":" + _dumps(v) for k, v in obj.items()) + "}"
    if isinstance(obj, (list, tuple)):
        return "[" + ",".join(_dumps(v) for v in obj) + "]"
    return json.dumps(obj, ensure_ascii=False, default=str)


def plain(obj: Any, depth: int = 0) -> Any:
    """A parsed value made safe for ``extra``: integral Decimals as ints, other Decimals as
    their text, and anything nested deeper than 3 levels as compact JSON text."""
    if isinstance(obj, Decimal):
        if obj.is_finite() and obj == obj.to_integral_value() and abs(obj) <= BIGINT_MAX:
            return int(obj)
        return str(obj)
    if isinstance(obj, (dict, list)):
        if depth >= 3:
            return dumps(obj)[:RAW_MAX]
        if isinstance(obj, dict):
            return {str(k): plain(v, depth + 1) for k, v in obj.items()}
        return [plain(v, depth + 1) for v in obj]
    return obj


# --------------------------------------------------------------------------- values


def count(obj: dict[str, Any], key: str, *, required: bool = False, label: str | None = None) -> tuple[int, str | None]:
    """A non-negative integer count (absent or null = 0 unless required)."""
    name = label or key
    value = obj.get(key)
    if value is None:
        return 0, (f"{name}: missing" if required else None)
    return as_count(value, name)


def as_count(value: Any, name: str) -> tuple[int, str | None]:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        return 0, f"{name}: not a number ({_short(value)})"
    if isinstance(value, Decimal):
        if not value.is_finite() or value != value.to_integral_value():
            return 0, f"{name}: not an integer ({_short(value)})"
        value = int(value)
    if value < 0:
        return 0, f"{name}: negative ({value})"
    if value > MAX_COUNT:  # the store's bound and words, naming the page's own field
        return 0, f"{name}: too large (over 10^15) ({_short(value)})"
    return value, None


def text_or_none(obj: dict[str, Any], key: str) -> tuple[str | None, str | None]:
    """A text field (a dimension: model, project, workspace, ...), or None. One object for every
    row that holds the same text (``sys.intern``): a large file's records hold a copy each
    otherwise, ~60 bytes apiece, on each of its 300k rows."""
    value = obj.get(key)
    if value is None:
        return None, None
    if type(value) is str:
        return sys.intern(value), None
    if isinstance(value, str):
        return value, None
    return None, f"{key}: not a string ({_short(value)})"


def _short(value: Any) -> str:
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        text = str(value)
    else:
        text = json.dumps(value) if isinstance(value, str) else dumps(value)
    return text if len(text) <= 40 else text[:39] + "…"


def unix_time(value: Any, name: str) -> tuple[datetime | None, str | None]:
    """Integer Unix seconds (OpenAI) as an aware UTC datetime."""
    n, problem = as_count(value, name)
    if problem:
        return None, problem
    try:
        ts = datetime.fromtimestamp(n, UTC)
    except (OverflowError, OSError, ValueError):
        return None, f"{name}: out of range ({n}; {_RANGE})"
    if not _EARLIEST <= ts < _LATEST:
        return None, f"{name}: out of range ({n}; {_RANGE})"
    return ts, None


def rfc3339(value: Any, name: str) -> tuple[datetime | None, str | None]:
    """An RFC 3339 instant (Anthropic); one without offset is UTC (the API only speaks UTC)."""
    if not isinstance(value, str):
        return None, f"{name}: not a timestamp ({_short(value)})"
    try:
        ts = from_iso(value.strip())
    except ValueError:
        return None, f"{name}: not a timestamp ({_short(value)})"
    ts = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    if not _EARLIEST <= ts < _LATEST:
        return None, f"{name}: out of range ({_short(value)}; {_RANGE})"
    return ts, None


def group_by(sig: tuple[str, ...]) -> list[str]:
    """``extra["group_by"]`` (or ``fetch_group_by``) of a row grouped by ``sig``: one list for every
    row of that group-by, never changed in place (a copy each took ~70 bytes of every record)."""
    found = _GROUP_BYS.get(sig)
    if found is None:
        found = _GROUP_BYS[sig] = list(sig)
    return found


_GROUP_BYS: dict[tuple[str, ...], list[str]] = {}


@functools.lru_cache(maxsize=64)
def iso(ts: datetime) -> str:
    """``ts`` in UTC as ``%Y-%m-%dT%H:%M:%SZ``. The rows of a bucket get one text for its end (the
    same object: ``billing`` gives them one shape), and it is written field by field, a third
    faster than ``strftime``."""
    t = ts.astimezone(UTC)
    if not 1000 <= t.year <= 9999:  # as strftime writes such a year (no usage time is one)
        return t.strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{t.year}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}Z"


def bucket_range(start: datetime | None, end: datetime | None) -> str | None:
    """A problem when a bucket's end is not after its start."""
    if start is not None and end is not None and end <= start:
        when = "where it starts" if end == start else f"before it starts ({iso(start)})"
        return f"bucket ends ({iso(end)}) {when}"
    return None


def signature(results: Iterable[Any], dims: tuple[str, ...]) -> tuple[str, ...]:
    """The group-by set of a bucket: the dimensions set (not null) in any of its rows.

    The APIs fill a dimension only when the request grouped by it, and never say what the
    request grouped by. The set is taken per BUCKET, not per page: a dimension that is null in
    every row of a bucket (all usage in the default workspace, none by a named user) splits
    nothing there, so a later fetch of that bucket has the same identity whether or not it was
    grouped by that dimension, and replaces the earlier rows instead of looking coarser. The
    same over a whole fetch (its pages, ``fetches``) is the fetch's group-by (``Record.fetch_sig``):
    what its buckets are weighed as against another fetch, so that such a bucket is not taken
    for a coarser fetch."""
    found: set[str] = set()
    for r in results:
        if isinstance(r, dict):
            found.update(d for d in dims if r.get(d) is not None)
    return tuple(sorted(found))


def key_hash(*parts: Any) -> str:
    """A stable hash of a natural key (JSON of its parts), 32 hex digits."""
    return hashlib.sha256(dumps(list(parts)).encode("utf-8")).hexdigest()[:32]


def error_message(page: dict[str, Any]) -> str | None:
    """The message of an error envelope (OpenAI ``{"error": {...}}``, Anthropic
    ``{"type": "error", "error": {...}}``), else None."""
    err = page.get("error")
    if err is None and page.get("type") != "error":
        return None
    if isinstance(err, dict):
        kind = err.get("code") or err.get("type") or "error"
        msg = err.get("message") or "(no message)"
        return f"error page, not a report: {kind}: {str(msg)[:200]}"
    return f"error page, not a report: {_short(err)}"


def error_envelope(head: bytes) -> str | None:
    """ "openai" or "anthropic" when a saved file starts with a provider's error envelope (a
    page saved from a failed call: ``{"error": {"message": ...}}`` or ``{"type": "error",
    "error": {...}}``), else None. Lets ``--format auto`` hand such a file to the provider's
    importer, which rejects it as an error page instead of reading it as canonical events."""
    if b'"error"' not in head[:4096]:  # most files: no parse at all
        return None
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    try:
        doc = json.loads(text) if text.startswith("[") else json.loads(text.split("\n", 1)[0])
    except ValueError:
        return None
    if isinstance(doc, list) and doc:
        doc = doc[0]
    if not isinstance(doc, dict) or not isinstance(doc.get("error"), dict):
        return None
    if doc.get("type") == "error":
        return "anthropic"
    return "openai" if set(doc) == {"error"} and "message" in doc["error"] else None


def empty_report(head: bytes) -> str | None:
    """ "openai" or "anthropic" when ``head`` holds whole saved Admin API pages of that provider
    (one page, an array of pages, JSONL of pages, or a bare bucket) without a single result row:
    every bucket's ``results`` is ``[]``, a period without usage (FORMATS.md §1: not an error).
    Such a page of the usage report cannot be told from one of the cost report; read as either
    it gives no record. None for anything else, a head that ends inside a page included (the
    longer re-sniff, ``registry._heads``, sees it whole)."""
    if b'"results"' not in head and b'"has_more"' not in head:  # most files: no parse at all
        return None
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if not text.startswith(("{", "[")):
        return None
    docs: list[Any] = []
    try:
        doc = json.loads(text)
        docs = doc if isinstance(doc, list) else [doc]
    except (ValueError, RecursionError):
        for line in text.splitlines():
            if not line.strip():
                continue
            try:
                docs.append(json.loads(line))
            except (ValueError, RecursionError):  # not JSONL either, or cut at the head's end
                return None
    kinds = {_empty_page_kind(d) for d in docs}
    return kinds.pop() if len(kinds) == 1 else None


def _empty_page_kind(page: Any) -> str | None:
    """The provider of one saved page (or bare bucket) whose buckets all have empty results."""
    if not isinstance(page, dict) or page.get("object") not in (None, "page"):
        return None
    if "data" not in page:
        buckets: Any = [page]
    else:
        buckets = page["data"]
        if not isinstance(buckets, list):
            return None
        if not buckets:  # a range with no bucket at all: told by the envelope alone
            if page.get("object") == "page":
                return "openai"
            return "anthropic" if set(page) == {"data", "has_more", "next_page"} else None
    kinds: set[str] = set()
    for bucket in buckets:
        if not isinstance(bucket, dict) or bucket.get("results", bucket.get("result")) != []:
            return None
        if "start_time" in bucket and "end_time" in bucket and bucket.get("object") in (None, "bucket"):
            kinds.add("openai")
        elif "starting_at" in bucket and "ending_at" in bucket and "object" not in bucket:
            kinds.add("anthropic")
        else:
            return None
    if len(kinds) != 1 or (page.get("object") == "page" and kinds != {"openai"}):
        return None
    return kinds.pop()


def buckets_of(page: Any) -> tuple[list[Any] | None, str | None]:
    """The buckets of a page (``data``); a bare bucket (a saved ``data`` element) is accepted too."""
    if not isinstance(page, dict):
        return None, f"not a report page (a JSON {type(page).__name__})"
    err = error_message(page)
    if err:
        return None, err
    if "data" in page:
        data = page["data"]
        if not isinstance(data, list):
            return None, f"data: not an array ({_short(data)})"
        return data, None
    if "results" in page and ("start_time" in page or "starting_at" in page):
        return [page], None
    return None, "not a report page: no data array"


RowBuilder = Callable[[int, "int | None", datetime, datetime, Any, tuple[str, ...], bool], Any]


def anthropic_bucket(bucket: Any) -> tuple[datetime | None, datetime | None, str | None]:
    """(start, end, problem) of one Anthropic Admin API bucket (RFC 3339 bounds, a results array)."""
    if not isinstance(bucket, dict):
        return None, None, "bucket: not an object"
    if not isinstance(bucket.get("results"), list):
        return None, None, "bucket: no results array"
    start, p1 = rfc3339(bucket.get("starting_at"), "starting_at")
    end, p2 = rfc3339(bucket.get("ending_at"), "ending_at")
    return start, end, p1 or p2 or bucket_range(start, end)


class _Split:
    """How a saved file's pages group into the fetches they came from, told page by page as they
    are read (so that grouping them holds none): a page saying ``"has_more": true`` is continued
    by the next one (a paginated fetch saved page by page, as JSONL or as an array); any other
    page ends its fetch. A page that is not a report (a saved error, such as a rate limit, or
    text that is not JSON) inside a fetch leaves it open when the next report page is the retry
    that continues it: its first bucket starts where the fetch's last one ended. Otherwise the
    fetch was given up there, and the next page starts a fetch of its own."""

    def __init__(self) -> None:
        self.pending = False  # pages read since the last fetch ended
        self.open = False  # the last report page said has_more: true
        self.interrupted = False  # a page that is not a report came since
        self.last_end: Any = None  # where the last bucket of the last report page ends

    def step(self, page: Page) -> tuple[bool, bool]:
        """(the fetch before ``page`` ends before it, ``page`` ends its fetch); ``page`` parsed."""
        obj = page.obj
        before = False
        if isinstance(obj, dict) and error_message(obj) is None and not page.problem:  # a report page
            first, last = _bounds(obj)
            before = self.interrupted and self.pending and first != self.last_end  # given up at the error
            self.open, self.interrupted, self.last_end = obj.get("has_more") is True, False, last
        elif self.open:
            self.interrupted = True  # an error between two pages of a fetch, or where it was given up
        self.pending = self.open
        return before, not self.open


def ends_open(path: Path) -> bool:
    """Whether the last report page of a saved file says ``"has_more": true``: the fetch goes on
    past the file (the script that saved it stopped, or saved each page to a file of its own).
    Known without reading the file again when its records were just read (``_ENDS_OPEN``)."""
    key = _file_key(path)
    if key is not None and key in _ENDS_OPEN:
        return _ENDS_OPEN.pop(key)
    last = None
    try:
        for page in read_pages(path):
            if isinstance(page.obj, dict) and not page.problem and error_message(page.obj) is None:
                last = page.obj
    except InputError:
        return False
    return last is not None and last.get("has_more") is True


# ``ends_open`` of the files whose records were read through (``_fetches``: the last report
# page's ``has_more``, as ``_Split`` keeps it), by the file as it was then (``_file_key``): the
# import asks once it has stored them, and a year of pages took 4 s and 250 MB to read again
_ENDS_OPEN: dict[tuple[int, int, int, int], bool] = {}
_ENDS_OPEN_MAX = 4096


def _file_key(path: Path) -> tuple[int, int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def _bounds(page: dict[str, Any]) -> tuple[Any, Any]:
    """(start of the first bucket, end of the last) of a page, as the page writes them (OpenAI
    ``start_time``/``end_time``, Anthropic ``starting_at``/``ending_at``); None where absent."""
    data = page.get("data")
    if not isinstance(data, list) or not data or not isinstance(data[0], dict) or not isinstance(data[-1], dict):
        return None, None
    first, last = data[0], data[-1]
    return first.get("start_time", first.get("starting_at")), last.get("end_time", last.get("ending_at"))


@dataclass
class _Fetch:
    """One fetch as the first reading leaves it (``_fetches``): its pages, each with its
    problem (a page without one is dropped, ``Page.drop``: read again for its records), and what
    the rows of its valid pages set: its group-by (``dims``: any row's) and that of each bucket
    span found in more than one of its buckets (``spans``: a bucket continued on the next page of
    the fetch is one bucket, whatever dimensions the rows of each part leave null). A span of one
    bucket has that bucket's own group-by (``signature`` of its rows), worked out again then."""

    pages: deque[tuple[Page, str | None]] = field(default_factory=deque)
    dims: set[str] = field(default_factory=set)
    spans: dict[Any, tuple[str, ...]] = field(default_factory=dict)
    _first: dict[Any, tuple[str, ...]] = field(default_factory=dict, repr=False)  # every span once

    def note(self, rows: list[Any], span: Any, dims: tuple[str, ...]) -> None:
        """The rows of one bucket of the fetch (its ``span``: its times as the page writes them)."""
        sig = signature(rows, dims)
        self.dims.update(sig)
        if span in self.spans:
            self.spans[span] = tuple(sorted({*self.spans[span], *sig}))
        elif span in self._first:
            self.spans[span] = tuple(sorted({*self._first[span], *sig}))
        else:
            self._first[span] = _SIGS.setdefault(sig, sig)  # the few group-bys, each held once

    @property
    def by_workspace(self) -> bool:
        """A row sets ``workspace_id`` (Anthropic: a null one is then the default workspace; the
        dimensions of both its reports hold it)."""
        return "workspace_id" in self.dims

    def read(self) -> _Fetch:
        """Done reading: the spans of one bucket go."""
        self._first = {}
        return self


_SIGS: dict[tuple[str, ...], tuple[str, ...]] = {}


def _fetches(
    path: Path, problem_of: Callable[[Page], str | None], rows_of: Callable[[Any], list[Any] | None],
    span_of: Callable[[dict[str, Any]], Any], dims: tuple[str, ...],
) -> Iterator[_Fetch]:  # fmt: skip
    """The fetches of a saved file's pages (``_Split``), each read once through before its
    records are made, holding none of its pages parsed: each page is parsed as it is read, noted
    (``_Fetch.note``) and dropped. ``problem_of(page)``: why the page is a reject, else None;
    ``rows_of(bucket)``: the result rows of a bucket (None when it has none)."""
    key = _file_key(path)  # the file as it is read (``_ENDS_OPEN``)
    split = _Split()
    fetch = _Fetch()
    for page in read_pages(path):
        before, ends = split.step(page)
        into = _Fetch() if before else fetch  # the fetch the page belongs to
        problem = problem_of(page)
        if problem is None:
            _note_page(into, page, rows_of, span_of, dims)
        page.drop()  # before the fetch before it is made into records
        if before:
            yield fetch.read()
            fetch = into
        fetch.pages.append((page, problem))
        if ends:
            yield fetch.read()
            fetch = _Fetch()
    if fetch.pages:
        yield fetch.read()
    if key is not None:
        if len(_ENDS_OPEN) >= _ENDS_OPEN_MAX:  # files read but never asked about: the oldest goes
            del _ENDS_OPEN[next(iter(_ENDS_OPEN))]
        _ENDS_OPEN[key] = split.open


def _note_page(
    fetch: _Fetch, page: Page, rows_of: Callable[[Any], list[Any] | None], span_of: Callable[[dict[str, Any]], Any],
    dims: tuple[str, ...],
) -> None:  # fmt: skip
    # a function of its own: nothing of the page outlives it (a loop variable of ``_fetches``
    # would hold the page's last bucket while the fetch's records are made)
    for bucket in buckets_of(page.obj)[0] or ():
        rows = rows_of(bucket)
        if isinstance(rows, list):
            fetch.note(rows, span_of(bucket), dims)


def openai_rows(bucket: Any) -> list[Any] | None:
    """The result rows of an OpenAI bucket (``results``, or ``result`` as some saved pages spell
    it), None when it has no such array."""
    if not isinstance(bucket, dict):
        return None
    rows = bucket.get("results", bucket.get("result"))
    return rows if isinstance(rows, list) else None


def openai_span(bucket: dict[str, Any]) -> str:
    """An OpenAI bucket's span as the page writes it (as text: any JSON value may stand there)."""
    start, end = bucket.get("start_time"), bucket.get("end_time")
    if type(start) is int and type(end) is int:  # the usual case: ``dumps``' text without its cost
        return f"[{start},{end}]"
    return dumps([start, end])


# an OpenAI bucket read: its rows (``openai_rows``), start, end, and the problem that makes it a reject
OpenAIBucket = tuple[list[Any] | None, datetime | None, datetime | None, str | None]


def openai_records(
    path: Path, endpoint: str, dims: tuple[str, ...], bucket_of: Callable[[Any], OpenAIBucket],
    build: Callable[[int, int | None, Any, datetime, datetime, Any, tuple[str, ...]], Any],
) -> Iterator[Any]:  # fmt: skip
    """The records of saved OpenAI Admin API pages of ``endpoint``: page and bucket problems as
    rejects, and ``build(rec, line, bucket, start, end, row, group_by)`` for each row, with the
    group-by of its fetch (``_fetches``, ``with_fetch_sig``: what any row of its pages sets, so a
    bucket whose rows all leave a dimension null is weighed as part of its fetch). A bucket's
    group-by is that of its span in the fetch (``_Fetch.spans``)."""
    from usagectl.models import Record

    def problem_of(page: Page) -> str | None:
        if page.problem:
            return page.problem
        problem = buckets_of(page.obj)[1]
        if problem is None and page.obj.get("object") not in (None, "page"):
            problem = f"object: {page.obj.get('object')!r} is not a page of {endpoint}"
        return problem

    rec = 0
    for fetch in _fetches(path, problem_of, openai_rows, openai_span, dims):
        fetch_sig = tuple(sorted(fetch.dims))
        spans = fetch.spans
        while fetch.pages:
            page, problem = fetch.pages.popleft()  # gone once its records are made
            if problem:
                rec += 1
                yield Record(rec, page.line, problem=problem, raw=page.raw)
                continue
            for b, bucket in enumerate(buckets_of(page.parsed())[0] or ()):
                rows, start, end, bucket_problem = bucket_of(bucket)
                if bucket_problem or start is None or end is None or rows is None:
                    rec += 1
                    yield Record(rec, page.line_of(b), problem=bucket_problem, raw=dumps(bucket)[:RAW_MAX])
                    continue
                sig = (spans and spans.get(openai_span(bucket))) or signature(rows, dims)
                for r, row in enumerate(rows):
                    rec += 1
                    yield with_fetch_sig(build(rec, page.line_of(b, r), bucket, start, end, row, sig), fetch_sig)


def _anthropic_results(bucket: Any) -> list[Any] | None:
    found = bucket.get("results") if isinstance(bucket, dict) else None
    return found if isinstance(found, list) else None


def _anthropic_span(bucket: dict[str, Any]) -> Any:
    start, end = bucket.get("starting_at"), bucket.get("ending_at")
    if type(start) is str and type(end) is str:  # the usual case: one key for one text, without ``dumps``
        return start, end
    return dumps([start, end])


def _anthropic_problem(page: Page) -> str | None:
    return page.problem or buckets_of(page.obj)[1]


def anthropic_records(path: Path, dims: tuple[str, ...], build: RowBuilder) -> Iterator[Any]:
    """The records of saved Anthropic Admin API pages (usage or cost report): page and bucket
    problems as rejects, and ``build(rec, line, start, end, row, group_by, by_workspace)`` for
    each result row. ``by_workspace``: the fetch (its pages, ``_fetches``) was grouped by
    workspace: a null id there is the default workspace, on every page of it."""

    rec = 0
    for fetch in _fetches(path, _anthropic_problem, _anthropic_results, _anthropic_span, dims):
        fetch_sig = tuple(sorted(fetch.dims))
        while fetch.pages:
            page, problem = fetch.pages.popleft()  # gone once its records are made
            for record in _anthropic_page(page, problem, rec, dims, build, fetch, fetch_sig):
                rec = record.rec
                yield record


def _anthropic_page(
    page: Page, problem: str | None, rec: int, dims: tuple[str, ...], build: RowBuilder, fetch: _Fetch,
    fetch_sig: tuple[str, ...],
) -> Iterator[Any]:  # fmt: skip
    from usagectl.models import Record

    if problem:
        yield Record(rec + 1, page.line, problem=problem, raw=page.raw)
        return
    for b, bucket in enumerate(buckets_of(page.parsed())[0] or ()):
        start, end, bucket_problem = anthropic_bucket(bucket)
        if bucket_problem or start is None or end is None:
            rec += 1
            yield Record(rec, page.line_of(b), problem=bucket_problem, raw=dumps(bucket)[:RAW_MAX])
            continue
        sig = (fetch.spans and fetch.spans.get(_anthropic_span(bucket))) or signature(bucket["results"], dims)
        for r, row in enumerate(bucket["results"]):
            rec += 1
            yield with_fetch_sig(build(rec, page.line_of(b, r), start, end, row, sig, fetch.by_workspace), fetch_sig)


def with_fetch_sig(record: Any, fetch_sig: tuple[str, ...]) -> Any:
    """``record`` with the group-by of its fetch (``Record.fetch_sig``); kept in its
    ``extra.fetch_group_by`` too when wider than its bucket's own ``group_by``, so that a later
    import weighs the stored bucket as its fetch as well."""
    from usagectl.models import Record

    if isinstance(record, Record):
        record.fetch_sig = fetch_sig
        extra = record.fields.get("extra")
        if isinstance(extra, dict) and set(fetch_sig) > set(extra.get("group_by") or ()):
            extra["fetch_group_by"] = group_by(fetch_sig)
    return record
