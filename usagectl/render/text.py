"""Machine and plain-text writers: JSON, CSV, Markdown (no Rich here).

JSON money form: a ``Decimal`` is written as a JSON *number*, rounded half-even to 6 decimal
places in Decimal arithmetic and printed in its shortest plain form from the Decimal's own
digits (never through float, never with an exponent): ``Decimal("0.0003125")`` -> ``0.000312``,
``Decimal("12.500000")`` -> ``12.5``, ``Decimal("1E-7")`` -> ``0``. Parse it back exactly with
``json.loads(text, parse_float=Decimal)``.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from typing import Any, TextIO

from usagectl.models import FORMULA_STARTS, Column, Report, Section, printable, printable_lines
from usagectl.render.formats import (
    display_cell,
    format_value,
    money_fixed,
    money_machine,
    overview_kind,
    pct_machine,
    to_decimal,
    used_pct_machine,
)

# --------------------------------------------------------------------------- JSON


def json_dumps(obj: Any, *, indent: int | None = 2) -> str:
    """Serialize ``obj`` as JSON with Decimals as exact numbers (see the module docstring).

    Also handles dates/datetimes (ISO 8601), tuples/lists/sets (arrays; sets sorted), enums
    (their value) and paths (strings). Non-finite floats and Decimals become ``null`` so the
    output is always valid JSON. Strings are escaped by :func:`json.dumps` (ASCII-only output).
    """
    parts: list[str] = []
    _encode(obj, parts, indent, 0)
    return "".join(parts)


_escape = json.encoder.encode_basestring_ascii  # what json.dumps does to a str (C)


def _encode(obj: Any, out: list[str], indent: int | None, level: int) -> None:
    kind = type(obj)  # the common exact types first: a summary of 12k files is ~150k values
    if kind is str:
        out.append(_escape(obj))
    elif kind is int:
        out.append(int.__repr__(obj))
    elif obj is None:
        out.append("null")
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif isinstance(obj, str):
        out.append(json.dumps(obj))
    elif isinstance(obj, Enum):
        _encode(obj.value, out, indent, level)
    elif isinstance(obj, int):
        out.append(str(int(obj)))
    elif isinstance(obj, Decimal):
        text = money_machine(obj)
        out.append("null" if text is None else text)
    elif isinstance(obj, float):
        out.append(repr(obj) if math.isfinite(obj) else "null")
    elif isinstance(obj, (dt.date, dt.datetime, dt.time)):
        out.append(json.dumps(obj.isoformat()))
    elif isinstance(obj, PurePath):
        out.append(json.dumps(str(obj)))
    elif isinstance(obj, Mapping):
        items: list[tuple[str | None, Any]] = [(k if type(k) is str else _key(k), v) for k, v in obj.items()]
        _container("{", "}", items, out, indent, level)
    elif isinstance(obj, (list, tuple, set, frozenset)):
        seq: Iterable[Any] = sorted(obj, key=repr) if isinstance(obj, (set, frozenset)) else obj
        _container("[", "]", [(None, v) for v in seq], out, indent, level)
    else:
        raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def _key(k: Any) -> str:
    if isinstance(k, Enum):
        k = k.value
    if isinstance(k, str):
        return k
    if k is None or isinstance(k, (bool, int, float, Decimal)):
        return json_dumps(k)
    if isinstance(k, (dt.date, dt.datetime)):
        return k.isoformat()
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(k).__name__}")


def _container(
    open_: str,
    close: str,
    items: list[tuple[str | None, Any]],
    out: list[str],
    indent: int | None,
    level: int,
) -> None:
    if not items:
        out.append(open_ + close)
        return
    if indent is None:
        sep, inner, outer = ", ", "", ""
    else:
        inner = "\n" + " " * (indent * (level + 1))
        outer = "\n" + " " * (indent * level)
        sep = ","
    out.append(open_)
    lead = inner
    for k, v in items:
        out.append(lead)
        lead = sep + inner
        if k is not None:
            key = _KEY_TEXT.get(k)
            if key is None:
                key = _escape(k) + ": "
                if len(_KEY_TEXT) < 4096:  # field names repeat (12k files, 11 fields each)
                    _KEY_TEXT[k] = key
            out.append(key)
        plain = _PLAIN.get(type(v))  # the exact scalar types inline: no call per value
        if plain is not None:
            out.append(plain(v))
        else:
            _encode(v, out, indent, level + 1)
    out.append(outer + close)


_KEY_TEXT: dict[str, str] = {}  # a key as written, with the ": " after it
# how a value of exactly these types is written (what _encode does for them, without the call)
_PLAIN: dict[type, Callable[[Any], str]] = {
    str: _escape,
    int: int.__repr__,
    type(None): lambda _v: "null",
    bool: lambda v: "true" if v else "false",
}


def json_cell(value: Any, kind: str) -> Any:
    """A row value made JSON-ready by its column kind (money stays Decimal for the encoder)."""
    if value is None:
        return None
    if kind == "money_exact":  # every digit, as text: a JSON number would be rounded to 6 decimals
        return format(to_decimal(value).normalize(), "f")
    if kind in ("money", "amount", "rate"):
        if isinstance(value, (Decimal, int, float)) and not isinstance(value, bool):
            return to_decimal(value)
        return value
    if kind in ("pct", "used_pct"):  # machine formats keep the exact share (2 decimals)
        if isinstance(value, (Decimal, int, float)) and not isinstance(value, bool):
            return used_pct_machine(value) if kind == "used_pct" else pct_machine(value)
        return value
    if kind == "int" and isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    return value


def _json_rows(columns: Sequence[Column], rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    kinds = {c.key: c.kind for c in columns}
    out = []
    for row in rows:
        out.append({k: json_cell(v, kinds.get(k, "")) for k, v in row.items()})
    return out


def report_to_jsonable(report: Report) -> dict[str, Any]:
    """The JSON contract of a report as plain Python values (Decimals kept for exactness)."""
    kinds = {c.key: c.kind for c in report.columns}
    doc: dict[str, Any] = {
        "report": report.name,
        "filters": dict(report.filters),
        "rows": _json_rows(report.columns, report.rows),
        # a total without a column of its own (``compared_diff_pct``) gets its kind from its name,
        # as overview lines do: a percentage keeps 2 decimals like the rows' percentages
        "totals": {k: json_cell(v, kinds.get(k) or overview_kind(k, v)) for k, v in report.totals.items()},
    }
    if report.overview:
        doc["overview"] = {key: json_cell(value, overview_kind(key, value)) for key, _label, value in report.overview}
    for section in report.sections:
        doc[section.key] = _json_rows(section.columns, section.rows)
    if report.notes:
        doc["notes"] = list(report.notes)
    return doc


def write_json(report: Report, out: TextIO) -> None:
    out.write(json_dumps(report_to_jsonable(report)))
    out.write("\n")


# --------------------------------------------------------------------------- CSV


def csv_cell(value: Any, kind: str) -> str:
    """One CSV cell: machine-friendly numbers, formula-looking text neutralised with ``'``."""
    if value is None:
        return ""
    if kind in ("money", "amount", "rate") and isinstance(value, (Decimal, int, float)) and not isinstance(value, bool):
        return money_fixed(value)
    if kind == "money_exact" and isinstance(value, (Decimal, int)) and not isinstance(value, bool):
        # every digit, no trailing zeros (``-0.5``, ``0.0000004``, ``3``): a number, never guarded
        text = format(Decimal(value), "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    if kind in ("pct", "used_pct") and isinstance(value, (Decimal, int, float)) and not isinstance(value, bool):
        q = used_pct_machine(value) if kind == "used_pct" else pct_machine(value)
        return "" if q is None else format(abs(q) if q.is_zero() else q, "f")
    if kind == "str" and isinstance(value, Decimal):
        # an undeclared Decimal is money, as tables show it (format_value): a budget's limit
        # (USD, or an int for a token budget) is 1.500000 like every other CSV money cell
        return money_fixed(value)
    if kind in ("int", "money", "rate", "pct", "used_pct", "float") and isinstance(value, (int, float, Decimal)):
        if isinstance(value, bool):
            return str(value).lower()
        if isinstance(value, float) and not math.isfinite(value):
            return ""
        if isinstance(value, Decimal):
            return format(value, "f") if value.is_finite() else ""
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        text = value.isoformat()
    elif isinstance(value, Enum):
        text = str(value.value)
    else:
        text = str(value)
    if text.lstrip("'").startswith(FORMULA_STARTS):
        text = "'" + text
    return text


def write_csv(report: Report, out: TextIO) -> None:
    """RFC 4180 rows of the main table: a header of column keys, no totals row, no sections.
    Written to a terminal (read by a person, not a program), its text is shown ``printable``:
    a reject's raw line can hold terminal control sequences; to a file or a pipe it is exact."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.key for c in report.columns])
    shown: Callable[[str], str] = printable if _is_terminal(out) else str
    for row in report.rows:
        writer.writerow([shown(csv_cell(row.get(c.key), c.kind)) for c in report.columns])


def _is_terminal(out: TextIO) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


# --------------------------------------------------------------------------- Markdown

_NUMERIC = frozenset({"int", "money", "amount", "rate", "pct", "used_pct", "float"})


def md_escape(text: str) -> str:
    """Make text safe inside a GFM table cell: escape backslashes and pipes, join lines."""
    text = text.replace("\\", "\\\\").replace("|", "\\|")
    return " ".join(text.splitlines()) if ("\n" in text or "\r" in text) else text


def _md_table(
    columns: Sequence[Column],
    rows: Iterable[Mapping[str, Any]],
    totals: Mapping[str, Any] | None = None,
) -> list[str]:
    columns = [c for c in columns if c.in_table]
    header = "| " + " | ".join(md_escape(c.header) for c in columns) + " |"
    align = "|" + "|".join("---:" if c.kind in _NUMERIC else ":---" for c in columns) + "|"
    lines = [header, align]
    for row in rows:
        cells = [md_escape(display_cell(row.get(c.key), c.kind, cents=c.cents, exact=c.exact)) for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    if totals and any(c.key in totals for c in columns):  # a totals row only with something in it
        cells = []
        for i, c in enumerate(columns):
            if c.key in totals:
                text = md_escape(display_cell(totals[c.key], c.kind, cents=c.cents, exact=c.exact))
            elif i == 0:
                text = "Total"
            else:
                text = ""
            cells.append(f"**{text}**" if text else "")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def filters_text(filters: Mapping[str, Any]) -> str:
    """``since 2025-01-01 · model claude-sonnet-4`` (empty values left out)."""
    # shown under a title (table, Markdown, PDF): a value (``chat show``'s session id) printable
    parts = [f"{k} {printable(format_value(v))}" for k, v in filters.items() if v not in (None, "", (), [])]
    return " · ".join(parts)


def _md_section_body(section: Section) -> list[str]:
    if not section.rows:
        return ["_No rows._"]
    return _md_table(section.columns, section.rows)


def write_markdown(report: Report, out: TextIO) -> None:
    """GitHub-flavoured Markdown, e.g. for ``$GITHUB_STEP_SUMMARY``."""
    lines = [f"## {printable(report.title)}", ""]  # a title can name a chat or an id from the input
    ftext = filters_text(report.filters)
    if ftext:
        lines += [f"_Filters: {md_escape(ftext)}_", ""]
    if report.overview:
        for key, label, value in report.overview:
            lines.append(f"- **{md_escape(label)}:** {md_escape(display_cell(value, overview_kind(key, value)))}")
        lines.append("")
    if report.rows:
        lines += _md_table(report.columns, report.rows, report.totals)
    else:
        lines.append("_No rows._")
    for section in report.sections:
        lines += ["", f"### {printable(section.title)}", ""]
        lines += _md_section_body(section)
    if report.notes:
        lines.append("")
        for i, note in enumerate(report.notes):
            if i:
                lines.append(">")  # a blank quote line keeps notes as separate paragraphs
            for part in printable_lines(note).splitlines() or [""]:
                lines.append(f"> {part}".rstrip())
    out.write("\n".join(lines) + "\n")
