"""CSV records with their first line number, shared by the canonical and LiteLLM readers.

``csv.reader(strict=False)`` (kept: a stray quote inside a field stays text, as spreadsheets
write it) ends a quoted field that is never closed at the end of the file: every line after
the opening quote becomes part of that one field, and the rows on them are lost without a
word. Here such a record is reported as a problem of the record where the quote opened, and
the lines after that one are read again as records of their own.
"""

from __future__ import annotations

import csv
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

UNCLOSED_QUOTE = "unclosed quote (the field runs to the end of the file)"
NOT_UTF8 = "not valid UTF-8 text"


def is_utf8(values: list[str]) -> bool:
    """Whether a record read with ``surrogateescape`` had only valid UTF-8 (one encode per
    record; an undecodable byte is a lone surrogate, which strict UTF-8 refuses)."""
    try:
        "".join(values).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def header_problem(header: list[str]) -> str | None:
    """Why a first CSV record read with ``surrogateescape`` is no header: binary data (bytes that
    are not UTF-8, shown as a short printable excerpt; NUL bytes: a database, UTF-16 text)."""
    from usagectl.importers._values import _clean
    from usagectl.models import excerpt

    if not is_utf8(header):
        text = ",".join(header)
        odd = sum(1 for ch in text if "\udc80" <= ch <= "\udcff" or (ch < " " and ch not in "\t\r\n"))
        if odd * 10 > len(text):  # mostly bytes no text holds: say so, never print them
            return "binary data (bytes that are not UTF-8 text), not CSV text"
        return f"the CSV header is {NOT_UTF8} ({excerpt(_clean(text))})"
    if any("\x00" in h for h in header):
        return "binary data (NUL bytes), not CSV text"
    return None


def other_separator(header: list[str], key: str, advice: str) -> str | None:
    """Why a header of one column is another separator's (``ts;model_raw;input_tokens``, as a
    spreadsheet in many locales saves CSV; psql's default text format, by tabs): read by commas,
    every row would be a reject. ``key``: a column the header must name; ``advice``: how to
    save the file instead."""
    if len(header) != 1:
        return None
    for sep, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "bars")):
        parts = [c.strip().lower() for c in header[0].split(sep)]
        if len(parts) > 1 and key in parts:
            return f"the header's columns are separated by {name}, not commas: {advice}"
    return None


@dataclass(frozen=True)
class CsvRecord:
    line: int  # first physical line of the record (1-based)
    values: list[str] | None  # None when the record could not be read (see problem)
    problem: str | None = None
    raw: str | None = None  # the record's text, for a record that could not be read (any, with keep_text)


class _Lines:
    """The physical lines fed to ``csv.reader``, numbered, with the lines of the record being
    read kept so that a record the end of the file closed can be cut and read again."""

    def __init__(self, source: Iterable[str]) -> None:
        self._source = iter(source)
        self._again: deque[str] = deque()
        self._next_line = 1  # number of the next line served
        self.first = 1  # first line of the record being read
        self.taken: list[str] = []
        self.hit_end = False

    def begin(self) -> None:
        self.first = self._next_line
        self.taken = []
        self.hit_end = False

    def read_again(self, lines: list[str], first: int) -> None:
        """Serve ``lines`` (numbered from ``first``) before anything else: only called at the end
        of the source, so nothing is reordered."""
        self._again.extend(lines)
        self._next_line = first

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if self._again:
            line = self._again.popleft()
        else:
            try:
                line = next(self._source)
            except StopIteration:
                self.hit_end = True
                raise
        self._next_line += 1
        self.taken.append(line)
        return line


def _spaced(header: str) -> bool:
    """Whether a header's fields are separated by ", " (a field after the first begins with a
    space when read as written)."""
    try:
        fields = next(csv.reader([header], strict=False), [])
    except csv.Error:
        return True
    return any(f.startswith(" ") for f in fields[1:])


FIELD_LIMIT = 1 << 28  # characters in one field (256 Mi): a file's size bounds it anyway


def csv_records(source: Iterable[str], keep_text: bool = False) -> Iterator[CsvRecord]:
    """Each record of ``source`` (text lines with their endings, as read with ``newline=""``),
    the header included, in order. A record the reader could not parse, or one whose quoted
    field is still open at the end of the file, comes with a ``problem`` instead of values;
    blank lines come as empty records, as ``csv.reader`` gives them. ``keep_text``: every
    record keeps its text in ``raw`` (its lines, the last one's ending left out)."""
    lines = _Lines(source)
    # a field may be long (an export's ``extra`` or a gateway's prompt): Python's default limit of
    # 128 KiB made such a record a reject, so an event export did not import again
    csv.field_size_limit(max(csv.field_size_limit(), FIELD_LIMIT))
    # skipinitialspace: a file written with ", " between fields (README) gives "sp1", not " sp1": an
    # id, member or project with the separator's space would be another one (and `, "a,b"` a quoted field).
    # Decided by the header: one written without spaces after its commas (usagectl's own export,
    # spreadsheets) keeps a value's leading spaces (" sp1" is another id than "sp1": QA, an
    # export imported again counted such an event twice)
    reader = csv.reader(lines, strict=False, skipinitialspace=True)
    header_seen = False
    while True:
        lines.begin()
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield CsvRecord(lines.first, None, f"unparseable CSV record: {exc}")
            continue
        if not header_seen and values and "".join(values).strip():
            header_seen = True
            if not _spaced("".join(lines.taken)):
                reader = csv.reader(lines, strict=False)
        # with the default dialect the reader asks for a line past the end only from inside a
        # quoted field: the record was closed by the end of the file, not by its own quote
        if not lines.hit_end:
            yield CsvRecord(lines.first, values, raw="".join(lines.taken).rstrip("\r\n") if keep_text else None)
            continue
        taken, first = lines.taken, lines.first
        opened = _open_quote_line(taken)
        yield CsvRecord(first, None, UNCLOSED_QUOTE, "".join(taken[: opened + 1]).rstrip("\r\n"))
        lines.read_again(taken[opened + 1 :], first + opened + 1)


def _open_quote_line(taken: list[str]) -> int:
    """Index in ``taken`` (the lines of one record, read to the end of the file inside a quoted
    field) of the line where that last, never closed, quoted field opened. Follows
    ``csv.reader``'s default dialect without ``strict``: a quote opens a field only as its
    first character, ``""`` inside a quoted field is a quote, and text after a closing quote
    up to the next comma is part of the field."""
    in_quote, opened = False, 0
    for index, line in enumerate(taken):
        body = line.rstrip("\r\n")
        i = 0
        while True:
            if in_quote:
                q = body.find('"', i)
                if q < 0:
                    break  # the field goes on on the next line
                if body.startswith('"', q + 1):
                    i = q + 2
                    continue
                in_quote = False
                comma = body.find(",", q + 1)
                if comma < 0:
                    break  # the record ends with this line
                i = comma + 1
            elif body.startswith('"', i):
                in_quote, opened, i = True, index, i + 1
            else:
                comma = body.find(",", i)
                if comma < 0:
                    break
                i = comma + 1
    return opened
