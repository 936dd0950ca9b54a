"""One byte that is not UTF-8 rejects its own record, with that reason and its line, and never
the file: canonical JSONL and CSV, and Claude Code transcripts (read by DuckDB, which refuses
such a line whole, so the reason is the bytes and not a field that looks missing)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from tests.helpers import run_json

GOOD = b'{"event_id":"g1","ts":"2025-11-05T11:00:00Z","model_raw":"gpt-4o","input_tokens":5,"output_tokens":1}\n'
# "caf" + 0xE9 (Latin-1 e-acute): not UTF-8
LATIN1 = b'{"event_id":"b1","ts":"2025-11-05T10:00:00Z","model_raw":"gpt-4o","member":"caf\xe9","input_tokens":1}\n'


def _rejects(db: Path) -> list[tuple[int, str, str]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return [
            (int(r[0]), str(r[1]), str(r[2]))
            for r in con.execute("SELECT line, reason, raw FROM rejects ORDER BY line").fetchall()
        ]
    finally:
        con.close()


def test_a_jsonl_line_with_a_latin1_byte_is_rejected_as_not_utf8(tmp_path: Path, db_path: Path) -> None:
    f = tmp_path / "e.jsonl"
    f.write_bytes(GOOD + b"\n" + LATIN1 + GOOD.replace(b"g1", b"g2"))  # the bad record is on line 3
    out = run_json("import", str(f), "--db", str(db_path))
    assert (out["records"], out["imported"], out["rejected"]) == (3, 2, 1)
    [(line, reason, raw)] = _rejects(db_path)
    assert (line, reason) == (3, "not valid UTF-8 text")
    assert '"member":"caf\ufffd"' in raw


def test_a_csv_with_one_bad_byte_rejects_only_that_record(tmp_path: Path, db_path: Path) -> None:
    f = tmp_path / "e.csv"
    f.write_bytes(
        b"event_id,ts,model_raw,input_tokens,output_tokens,member\r\n"
        b"c1,2025-11-05T10:00:00Z,gpt-4o,100,10,caf\xe9\r\n"  # line 2
        b"c2,2025-11-05T10:00:00Z,gpt-4o,100,10,bob\r\n"
        b"c3,2025-11-05T11:00:00Z,gpt-4o,7,1,ann\r\n"
    )
    out = run_json("import", str(f), "--db", str(db_path))
    assert (out["records"], out["imported"], out["rejected"]) == (3, 2, 1)
    assert _rejects(db_path) == [(2, "not valid UTF-8 text", "c1,2025-11-05T10:00:00Z,gpt-4o,100,10,caf\ufffd")]


def test_a_claude_code_line_with_a_latin1_byte_is_rejected_as_not_utf8(tmp_path: Path, db_path: Path) -> None:
    f = tmp_path / "projects" / "p" / "s.jsonl"
    f.parent.mkdir(parents=True)
    usage = b'"usage":{"input_tokens":3,"output_tokens":2}'
    f.write_bytes(
        b'{"type":"user","cwd":"/home/caf\xe9","timestamp":"2025-11-03T21:59:00Z"}\n'  # not a record: skipped
        b'{"type":"assistant","sessionId":"s","timestamp":"2025-11-03T22:00:00Z","cwd":"/home/caf\xe9",'
        b'"requestId":"q1","message":{"id":"m1","model":"claude-sonnet-4-5",' + usage + b"}}\n"
        b'{"type":"assistant","sessionId":"s","timestamp":"2025-11-03T22:01:00Z","cwd":"/home/x",'
        b'"requestId":"q2","message":{"id":"m2","model":"claude-sonnet-4-5",' + usage + b"}}\n"
    )
    out = run_json("import", str(f), "--format", "claude-code", "--db", str(db_path))
    assert (out["imported"], out["rejected"]) == (1, 1)
    [(line, reason, _raw)] = _rejects(db_path)
    assert (line, reason) == (2, "not valid UTF-8 text")


def _events(db: Path) -> list[tuple[str, str | None]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return [
            (str(r[0]), r[1]) for r in con.execute("SELECT event_id, member FROM events ORDER BY event_id").fetchall()
        ]
    finally:
        con.close()


def test_a_one_line_jsonl_file_with_bad_bytes_is_rejected_not_stored_with_replacements(
    tmp_path: Path, db_path: Path
) -> None:
    f = tmp_path / "c.jsonl"
    # the QA file: one line, 0xFF 0xFE inside "member" (neither byte can start UTF-8)
    f.write_bytes(
        b'{"event_id":"u1","ts":"2026-11-03T21:00:00Z","model":"gpt-4o","member":"\xff\xfe","input_tokens":1}\n'
    )
    out = run_json("import", str(f), "--db", str(db_path))
    assert (out["records"], out["imported"], out["rejected"]) == (1, 0, 1)
    [(line, reason, raw)] = _rejects(db_path)
    assert (line, reason) == (1, "not valid UTF-8 text")
    assert '"member":"\ufffd\ufffd"' in raw  # one U+FFFD per bad byte, shown, never stored as the member
    assert _events(db_path) == []


def test_a_json_array_rejects_only_the_element_with_bad_bytes(tmp_path: Path, db_path: Path) -> None:
    f = tmp_path / "arr.json"
    f.write_bytes(
        b"[\n" + GOOD.rstrip() + b",\n" + LATIN1.rstrip() + b",\n" + GOOD.replace(b"g1", b"g2").rstrip() + b"\n]\n"
    )
    out = run_json("import", str(f), "--db", str(db_path))
    # element 2 (b1, "caf" + 0xE9) starts on line 3; g1 and g2 are whole UTF-8
    assert (out["records"], out["imported"], out["rejected"]) == (3, 2, 1)
    [(line, reason, raw)] = _rejects(db_path)
    assert (line, reason) == (3, "not valid UTF-8 text")
    assert '"member":"caf\ufffd"' in raw
    assert _events(db_path) == [("g1", None), ("g2", None)]


def test_a_claude_code_file_whose_first_record_has_a_bad_byte_is_still_claude_code(
    tmp_path: Path, db_path: Path
) -> None:
    f = tmp_path / "projects" / "p" / "s.jsonl"
    f.parent.mkdir(parents=True)
    usage = b'"usage":{"input_tokens":3,"output_tokens":2}'
    f.write_bytes(  # 0xE9 in cwd and 0xFF in gitBranch on the only line: no --format given
        b'{"type":"assistant","sessionId":"s","timestamp":"2025-11-03T22:00:00Z","cwd":"/home/caf\xe9",'
        b'"gitBranch":"m\xff","requestId":"q1","message":{"id":"m1","model":"claude-sonnet-4-5",' + usage + b"}}\n"
    )
    out = run_json("import", str(f), "--db", str(db_path))
    assert (out["records"], out["imported"], out["rejected"]) == (1, 0, 1)
    [(line, reason, _raw)] = _rejects(db_path)
    # read as canonical JSONL it said "missing ts" (Claude Code's field is "timestamp")
    assert (line, reason) == (1, "not valid UTF-8 text")


def test_a_csv_header_not_in_utf8_is_shown_unless_it_is_binary() -> None:
    """A Latin-1 header (one byte of "café" not UTF-8) is quoted so the user sees which column;
    random bytes are called binary data and never printed."""
    from usagectl.importers._csv import header_problem

    latin1 = b"ts,caf\xe9,model".decode("utf-8", "surrogateescape").split(",")
    assert header_problem(latin1) == "the CSV header is not valid UTF-8 text (ts,caf\ufffd,model)"  # U+FFFD
    junk = bytes([0x9C, 0xFF, 0x41, 0xFE, 0x80, 0x81]).decode("utf-8", "surrogateescape")
    assert header_problem([junk]) == "binary data (bytes that are not UTF-8 text), not CSV text"
    assert header_problem(["ts", "model"]) is None
