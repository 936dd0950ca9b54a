"""Editing one array of tables (``[[budgets]]``) in a TOML file's text, keeping everything else.

A config file is reviewed and versioned, so ``budget set`` / ``budget rm`` change only the lines
of the budget they touch: a changed value is replaced in its own line (its comment stays), a
removed budget's table goes with the comment lines right above it, a new one is appended after
the last table of the array. Comments, blank lines, number spellings (``100_000_000``) and the
order of every other section stay as they were.

Budgets written as one inline array at the top of the file (``budgets = [{ ... }, { ... }]``)
are edited by :func:`edit_inline_array`: only that assignment is rewritten (the other budgets'
values stay, their spelling may be normalised); the lines around it, its trailing comment included,
stay. A multi-line array with comments inside is not edited (its comments would be lost).

A key may be bare or quoted (``"scope" = ...``) and a value may span lines (``thresholds = [``
over several lines): a new key goes after the last complete key/value, a changed multi-line
value becomes one line (refused when it holds comments, which would be lost).

``edit_array_tables`` returns None whenever the text cannot be edited that way with certainty
(tables of the array spread in a way it does not follow, a dotted key, a multi-line value with
comments inside to change, a header it cannot find); the caller decides what then (``budget set``
refuses a file with comments, see ``has_comment``), and checks every result by parsing it back.
The text is edited as given: a caller that keeps CRLF line endings passes LF text and converts
back (``newline_of``).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Sequence
from typing import Any

# a table or array-of-tables header line: [name] / [[name]], optional comment
_HEADER = re.compile(r"^[ \t]*(\[\[?)[ \t]*([A-Za-z0-9_.\-\"' \t]+?)[ \t]*(\]\]?)[ \t]*(#.*)?$")
# the key of a key/value line: bare, or quoted as a basic or a literal string (not dotted)
_KEY = re.compile(r"""^[ \t]*([A-Za-z0-9_\-]+|"(?:[^"\\\n]|\\.)*"|'[^'\n]*')[ \t]*=""")


def _headers(lines: Sequence[str]) -> list[tuple[int, str, bool]]:
    """(line index, name, is array of tables) of every header line."""
    out = []
    for i, line in enumerate(lines):
        m = _HEADER.match(line.rstrip("\r\n"))
        if m and len(m.group(1)) == len(m.group(3)):
            out.append((i, m.group(2).replace(" ", "").replace("\t", "").strip("\"'"), len(m.group(1)) == 2))
    return out


def _blocks(lines: Sequence[str], name: str) -> list[tuple[int, int]]:
    """[start, end) of each ``[[name]]`` table: its header through its last line that is neither
    blank nor a comment (what follows belongs to the next section)."""
    heads = _headers(lines)
    out = []
    for k, (i, head, array) in enumerate(heads):
        if not (array and head == name):
            continue
        end = heads[k + 1][0] if k + 1 < len(heads) else len(lines)
        while end > i + 1 and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")):
            end -= 1
        out.append((i, end))
    return out


def _split_value(rest: str) -> tuple[str, str] | None:
    """(value, trailing comment with its leading blanks) of the text after ``key =``, when the
    value is complete on this line."""
    cuts = [m.start() for m in re.finditer("#", rest)] + [len(rest)]
    for cut in cuts:
        value = rest[:cut].rstrip()
        try:
            tomllib.loads("v = " + value)
        except tomllib.TOMLDecodeError:
            continue
        return value, rest[len(value) :]
    return None


def _key_name(spelled: str) -> str | None:
    """The key a bare or quoted key spells (``"scope"`` and ``'scope'`` are ``scope``)."""
    if spelled[0] not in "\"'":
        return spelled
    try:
        return next(iter(tomllib.loads(f"{spelled} = 0")))
    except (tomllib.TOMLDecodeError, StopIteration):
        return None


def _entries(block: Sequence[str]) -> dict[str, tuple[int, int, int]] | None:
    """key -> (first line, end line, offset of the value in the first line) of each key/value of
    the table below its header; a value may span lines (a ``thresholds`` array written one number
    a line), so its lines are never read as keys. None when a line is not blank, a comment or a
    key/value this reads (a dotted key), or a value does not end within the table."""
    out: dict[str, tuple[int, int, int]] = {}
    i = 1
    while i < len(block):
        line = block[i]
        if not line.strip() or line.lstrip().startswith("#"):
            i += 1
            continue
        m = _KEY.match(line)
        name = _key_name(m.group(1)) if m else None
        if m is None or name is None or name in out:
            return None
        for j in range(i, len(block)):
            rest = "".join(block[i : j + 1])[m.end() :]
            if _split_value(rest.rstrip("\r\n").lstrip()) is not None:
                break
        else:
            return None
        out[name] = (i, j + 1, m.end())
        i = j + 1
    return out


def _edit_block(
    block: list[str], old: dict[str, Any], new: dict[str, Any], render_value: Callable[[Any], str]
) -> list[str] | None:
    """The table's lines with the values of ``new``: changed keys rewritten in place (a value
    that spans lines becomes one line), removed keys dropped, added keys after the last
    key/value. None when the table holds a line this does not read, or a value to change spans
    lines with comments inside (they would be lost)."""
    entries = _entries(block)
    if entries is None or set(old) - set(entries):
        return None
    out = list(block)
    gone: set[int] = set()
    for key in [k for k in old if k not in new]:
        first, end, _ = entries[key]
        gone.update(range(first, end))
    added: list[str] = []
    for key, value in new.items():
        if key in old and _same_value(old[key], value):
            continue
        text = render_value(value)
        if key not in entries:
            added.append(f"{key} = {text}\n")
            continue
        first, end, at = entries[key]
        lines = "".join(out[first:end])
        rest = lines[at:]
        body = rest.rstrip("\r\n")
        parts = _split_value(body.lstrip())
        if parts is None or (end - first > 1 and has_comment(parts[0])):
            return None
        blank = body[: len(body) - len(body.lstrip())]
        out[first] = f"{lines[:at]}{blank}{text}{parts[1]}{rest[len(body) :] or chr(10)}"
        gone.update(range(first + 1, end))
    if added:
        last = max((end for _, end, _ in entries.values()), default=1)
        if not out[last - 1].endswith("\n"):  # the file's last line, without a line break
            out[last - 1] += "\n"
        out[last:last] = added
        gone = {i if i < last else i + len(added) for i in gone}
    return [line for i, line in enumerate(out) if i not in gone]


def _same_value(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def edit_array_tables(
    text: str,
    name: str,
    old: Sequence[dict[str, Any]],
    new: Sequence[dict[str, Any]],
    render_value: Callable[[Any], str],
    render_table: Callable[[dict[str, Any]], str],
) -> str | None:
    """``text`` with its ``[[name]]`` tables changed from ``old`` to ``new``, where ``new`` is
    ``old`` with one table changed in place, one appended, or one removed (what ``budget set``
    and ``budget rm`` do); None when that is not the case or the text is not laid out so."""
    lines = text.splitlines(keepends=True)
    blocks = _blocks(lines, name)
    if len(blocks) != len(old):
        return None
    if len(new) == len(old):
        changed = [i for i, (a, b) in enumerate(zip(old, new)) if a != b or list(a) != list(b)]
        for i in changed:
            start, end = blocks[i]
            edited = _edit_block(lines[start:end], old[i], new[i], render_value)
            if edited is None:
                return None
            lines[start:end] = edited
            shift = len(edited) - (end - start)
            blocks = [(s + shift, e + shift) if s > start else (s, e) for s, e in blocks]
        return "".join(lines)
    if len(new) == len(old) + 1 and list(new[:-1]) == list(old):
        table = render_table(new[-1])
        if not blocks:
            body = "".join(lines).rstrip("\n")
            return (body + "\n\n" if body.strip() else "") + table
        end = blocks[-1][1]
        return "".join(lines[:end]) + "\n" + table + "".join(lines[end:])
    if len(new) == len(old) - 1:
        gone = next((k for k in range(len(old)) if list(old[:k]) + list(old[k + 1 :]) == list(new)), None)
        if gone is None:
            return None
        start, end = blocks[gone]
        while start > 0 and lines[start - 1].lstrip().startswith("#"):
            start -= 1  # the comment lines right above the table describe it
        if end < len(lines) and not lines[end].strip():
            end += 1  # and one blank line after it
        elif end == len(lines):
            while start > 0 and not lines[start - 1].strip():
                start -= 1  # the last table: the blank lines that led to it
        return "".join(lines[:start] + lines[end:])
    return None


def _root_assignment(lines: Sequence[str], name: str) -> tuple[int, int, str, str, str] | None:
    """(first line, end line, ``name =`` prefix, value text, rest of the last line: trailing
    comment and line ending) of the assignment of the root key ``name``, whose value may span
    lines; None when there is not exactly one such line before the first header or its value
    does not end."""
    heads = _headers(lines)
    root_end = heads[0][0] if heads else len(lines)
    key = re.compile(rf"^([ \t]*{re.escape(name)}[ \t]*=[ \t]*)")
    starts = [(i, m.group(1)) for i in range(root_end) if (m := key.match(lines[i]))]
    if len(starts) != 1:
        return None
    first, head = starts[0]
    for last in range(first, len(lines)):
        text = "".join(lines[first : last + 1])[len(head) :]
        body = text.rstrip("\r\n")
        parts = _split_value(body)
        if parts is not None:
            return first, last + 1, head, parts[0], parts[1] + text[len(body) :]
    return None


def edit_inline_array(
    text: str, name: str, new: Sequence[dict[str, Any]], render_value: Callable[[Any], str]
) -> str | None:
    """``text`` with the root key ``name = [...]`` (an array of inline tables) holding ``new``:
    one line as it was one line, else one table a line; the key's lines dropped when ``new`` is
    empty. Everything outside the assignment stays, its trailing comment too. None when there is
    no such assignment or it spans lines holding a ``#`` (a comment inside the array would be lost)."""
    lines = text.splitlines(keepends=True)
    found = _root_assignment(lines, name)
    if found is None:
        return None
    first, end, head, value, tail = found
    if not value.startswith("[") or ("\n" in value and "#" in value):
        return None
    if not new:
        return "".join(lines[:first] + lines[end:])
    tables = ["{ " + ", ".join(f"{k} = {render_value(v)}" for k, v in entry.items()) + " }" for entry in new]
    if "\n" in value:
        inner = value.split("\n")[1]
        indent = inner[: len(inner) - len(inner.lstrip())] or "  "
        array = "[\n" + "".join(f"{indent}{t},\n" for t in tables) + "]"
    else:
        array = "[" + ", ".join(tables) + "]"
    return "".join(lines[:first]) + head + array + (tail or "\n") + "".join(lines[end:])


def has_root_assignment(text: str, name: str) -> bool:
    """The root key ``name`` is assigned in ``text`` (``budgets = [...]``), not given as tables."""
    return _root_assignment(text.splitlines(keepends=True), name) is not None


def has_comment(text: str) -> bool:
    """Whether the TOML ``text`` holds a comment: a ``#`` outside every string (a ``#`` in a URL
    or a name is not one). Strings are followed as TOML writes them: basic (``\\`` escapes),
    literal, and both multi-line kinds."""
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "#":
            return True
        if c not in "\"'":
            i += 1
            continue
        quote = c * 3 if text.startswith(c * 3, i) else c
        i += len(quote)
        while i < n and not text.startswith(quote, i):
            if c == '"' and text[i] == "\\":
                i += 1  # an escaped character, a quote included
            elif len(quote) == 1 and text[i] == "\n":
                break  # a one-line string ends with its line at the latest
            i += 1
        i += len(quote)
    return False


def newline_of(text: str) -> str:
    """``"\\r\\n"`` when every line of ``text`` ends so (a Windows checkout), else ``"\\n"``."""
    return "\r\n" if "\r\n" in text and text.count("\n") == text.count("\r\n") else "\n"
