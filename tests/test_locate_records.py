"""Record numbers (non-blank lines) mapped back to line numbers and raw text.

``locate_jsonl_records`` is checked against a reference written from the definition (lines
split at ``\\n``; a line that is empty or only ``bytes.isspace`` characters is not a record; a
line that is not valid UTF-8 carries the reason ``not valid UTF-8 text``), plain and gzipped.
"""

from __future__ import annotations

import gzip
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from usagectl.importers.canonical import locate_jsonl_records


def reference(data: bytes) -> dict[int, tuple[int, str] | tuple[int, str, str | None]]:
    out: dict[int, tuple[int, str] | tuple[int, str, str | None]] = {}
    pieces = data.split(b"\n")
    if data.endswith(b"\n"):
        pieces.pop()
    rec = 0
    for lineno, piece in enumerate(pieces, 1):
        if piece.strip(b" \t\r\x0b\x0c") == b"":
            continue
        rec += 1
        text = piece.rstrip(b"\r").decode("utf-8", errors="replace")
        try:
            piece.decode("utf-8")
            out[rec] = (lineno, text)
        except UnicodeDecodeError:
            out[rec] = (lineno, text, "not valid UTF-8 text")
    return out


def test_hand_worked(tmp_path: Path) -> None:
    f = tmp_path / "a.jsonl"
    f.write_bytes(b'{"a":1}\n{"b":2}\r\n{bad\n')
    assert locate_jsonl_records(f, {1, 3, 9}) == {1: (1, '{"a":1}'), 3: (3, "{bad")}
    # a blank line (here CRLF and spaces) shifts line numbers against record numbers
    f.write_bytes(b'{"a":1}\n \r\n{bad\n\n{"c":3}')
    assert locate_jsonl_records(f, {2, 3}) == {2: (3, "{bad"), 3: (5, '{"c":3}')}


LINE = st.one_of(
    st.sampled_from([b"", b" ", b"\r", b"\t \x0b\x0c", b'{"x":1}', b"{bad", b'{"u":"\xc3\xa9"}\r', b"\xff\xfe"]),
    st.binary(max_size=12).filter(lambda b: b"\n" not in b),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(LINE, max_size=12), trailing=st.booleans(), gz=st.booleans())
@example(lines=[b'{"x":1}', b" \r"], trailing=False, gz=False)  # a blank last line, no newline
@example(lines=[b"\t", b'{"x":1}'], trailing=True, gz=False)  # a blank first line
@example(lines=[b'{"x":1}', b"\r", b"{"], trailing=True, gz=False)  # a CRLF blank line inside
def test_matches_the_definition(tmp_path: Path, lines: list[bytes], trailing: bool, gz: bool) -> None:
    data = b"\n".join(lines) + (b"\n" if trailing and lines else b"")
    f = tmp_path / ("t.jsonl.gz" if gz else "t.jsonl")
    f.write_bytes(gzip.compress(data) if gz else data)
    expected = reference(data)
    wanted = set(range(1, len(expected) + 3))
    assert locate_jsonl_records(f, wanted) == expected
    some = {r for r in wanted if r % 2}
    assert locate_jsonl_records(f, some) == {r: v for r, v in expected.items() if r in some}
