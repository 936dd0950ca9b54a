"""A ``.json`` file that is ONE JSON document (usagectl's own ``export --json`` output, or an
array of events) is read element by element; JSONL stays line by line; a broken document is
refused whole, never imported in stray pieces."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from tests.helpers import run, run_json, write_jsonl

EVENTS = [
    {"event_id": "a1", "ts": "2025-11-05T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 100, "output_tokens": 10},
    {"event_id": "a2", "ts": "2025-11-05T11:00:00Z", "model_raw": "gpt-4o", "input_tokens": 200, "output_tokens": 20},
    {"event_id": "a3", "ts": "2025-11-06T09:00:00Z", "model_raw": "gpt-4o", "input_tokens": 300, "output_tokens": 30},
]


def _query(db: Path, sql: str) -> list[tuple]:  # type: ignore[type-arg]
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_an_export_json_imports_every_row(tmp_path: Path) -> None:
    first, second = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    run("import", str(write_jsonl(tmp_path / "e.jsonl", EVENTS)), "--db", str(first))
    exported = run("export", "--json", "--since", "2025-11-01", "--until", "2025-11-30", "--db", str(first)).stdout
    assert exported.count("\n") > 3  # one document over many lines, as the QA report found it
    f = tmp_path / "export.json"
    f.write_text(exported)
    out = run_json("import", str(f), "--db", str(second))
    assert (out["records"], out["imported"], out["rejected"]) == (3, 3, 0)
    # by hand: 100 + 200 + 300 = 600 input, 10 + 20 + 30 = 60 output, ids kept
    assert _query(
        second, "SELECT sum(input_tokens), sum(output_tokens), string_agg(event_id, ',' ORDER BY event_id) FROM events"
    ) == [(600, 60, "a1,a2,a3")]


def test_the_output_of_another_report_is_refused_whole(tmp_path: Path) -> None:
    """`report by model --json` rows are sums per model, not events: refused with exit 4 and
    nothing stored, instead of one "missing ts" reject per row and exit 0."""
    first, second = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    run("import", str(write_jsonl(tmp_path / "e.jsonl", EVENTS)), "--db", str(first))
    f = tmp_path / "r.json"
    f.write_text(run("report", "by", "model", "--since", "2025-11-01", "--until", "2025-11-30", "--db", str(first),
                     "--json").stdout)  # fmt: skip
    result = run("import", str(f), "--db", str(second), expect=4)
    err = " ".join(result.stderr.split())
    assert "r.json is the output of a usagectl report ('by-model'), not events" in err
    assert "(import `usagectl export --json` output instead)" in err
    assert _query(second, "SELECT count(*) FROM events") == [(0,)]
    assert _query(second, "SELECT count(*) FROM rejects") == [(0,)]


def test_a_json_array_imports_each_element_and_rejects_only_the_bad_ones(tmp_path: Path, db_path: Path) -> None:
    f = tmp_path / "arr.json"
    f.write_text(
        "[\n" + ",\n".join(json.dumps(e) for e in [EVENTS[0], 5, {"event_id": "x", "input_tokens": 1}]) + "\n]\n"
    )
    out = run_json("import", str(f), "--db", str(db_path))
    assert (out["records"], out["imported"], out["rejected"]) == (3, 1, 2)
    # element 2 starts on line 3, element 3 on line 4 (line 1 holds only "[")
    assert _query(db_path, "SELECT line, record, reason FROM rejects ORDER BY record") == [
        (3, 2, "not a JSON object (a number)"),
        (4, 3, "missing ts"),
    ]


def test_jsonl_is_still_read_line_by_line(tmp_path: Path, db_path: Path) -> None:
    f = write_jsonl(tmp_path / "e.json", [EVENTS[0], "{bad", EVENTS[1]])
    out = run_json("import", str(f), "--db", str(db_path))
    assert (out["records"], out["imported"], out["rejected"]) == (3, 2, 1)
    assert _query(db_path, "SELECT line FROM rejects") == [(2,)]


def test_a_broken_document_is_refused_whole(tmp_path: Path, db_path: Path) -> None:
    f = tmp_path / "broken.json"
    # truncated after its second row, which alone is a complete object line
    f.write_text('{"report": "events", "rows": [\n' + json.dumps(EVENTS[0]) + ",\n" + json.dumps(EVENTS[1]) + "\n")
    result = run("import", str(f), "--db", str(db_path), expect=4)
    assert "neither JSONL nor one valid JSON document" in result.stderr
    assert _query(db_path, "SELECT count(*) FROM events") == [(0,)]


def test_a_truncated_array_is_refused_whole_with_the_error_position(tmp_path: Path, db_path: Path) -> None:
    f = tmp_path / "e.json"
    # the QA file: a complete first element, then a second cut after its first key
    element = '{"event_id":"brk1","ts":"2026-11-03T21:00:00Z","model":"gpt-4o","input_tokens":5}'
    f.write_text("[" + element + ',{"event_id":')
    result = run("import", str(f), "--db", str(db_path), expect=4)
    # by hand: the element is '{"event_id":"brk1",' (19) + '"ts":"2026-11-03T21:00:00Z",' (28)
    # + '"model":"gpt-4o",' (17) + '"input_tokens":5}' (17) = 81 characters; "[" (1) + 81 + ","
    # (1) + '{"event_id":' (12) = 95, so the missing value is at line 1 column 96
    assert len(element) == 81
    assert f"{f}: neither JSONL nor one valid JSON document" in result.stderr
    assert "(line 1 column 96)" in result.stderr
    assert _query(db_path, "SELECT count(*) FROM events") == [(0,)]
    assert _query(db_path, "SELECT count(*) FROM rejects") == [(0,)]


def test_text_after_an_array_refuses_it_whole(tmp_path: Path, db_path: Path) -> None:
    f = tmp_path / "e.json"
    f.write_text("[\n" + json.dumps(EVENTS[0]) + "\n]\n" + json.dumps(EVENTS[1]) + "\n")
    result = run("import", str(f), "--db", str(db_path), expect=4)
    # the second event starts line 4 column 1, after the array closed on line 3
    assert "Extra data (line 4 column 1)" in result.stderr
    assert _query(db_path, "SELECT count(*) FROM events") == [(0,)]


def test_jsonl_with_a_half_written_first_line_stays_jsonl(tmp_path: Path, db_path: Path) -> None:
    f = tmp_path / "e.json"
    # a writer cut off in the middle of line 1; line 2 is a whole event
    f.write_text(json.dumps(EVENTS[0])[:30] + "\n" + json.dumps(EVENTS[1]) + "\n")
    out = run_json("import", str(f), "--db", str(db_path))
    assert (out["records"], out["imported"], out["rejected"]) == (2, 1, 1)
    assert _query(db_path, "SELECT line FROM rejects") == [(1,)]
    assert _query(db_path, "SELECT event_id FROM events") == [("a2",)]


def test_a_line_cut_in_a_string_says_where_the_string_starts(tmp_path: Path, db_path: Path) -> None:
    """One phrasing for every JSON reject: Python's "Unterminated string starting at" runs on
    into its place ("… starting at column 14"), other messages keep it in parentheses.

    By hand: line 2 is ``{"event_id": "a2`` cut inside its value: the 13 characters
    ``{"event_id": `` come first, so the string opens in column 14; line 3 is ``{"event_id": }``,
    where a value is expected in column 14 too."""
    f = tmp_path / "e.jsonl"
    f.write_text(json.dumps(EVENTS[0]) + '\n{"event_id": "a2\n{"event_id": }\n')
    out = run_json("import", str(f), "--db", str(db_path))
    assert (out["records"], out["imported"], out["rejected"]) == (3, 1, 2)
    assert _query(db_path, "SELECT line, reason FROM rejects ORDER BY line") == [
        (2, "not valid JSON: Unterminated string starting at column 14"),
        (3, "not valid JSON: Expecting value (column 14)"),
    ]
