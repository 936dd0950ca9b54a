"""A ``"\\ud800"`` escape without its pair is valid JSON that no UTF-8 text can hold: the
Python readers store it as U+FFFD (hashing it or handing it to DuckDB used to crash the import).
The Claude Code and Codex cases are in their own test files."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from tests.helpers import run_json
from usagectl.importers._values import without_lone_surrogates

DATA = Path(__file__).parent / "data"


def test_without_lone_surrogates_replaces_only_unpaired_ones() -> None:
    text = '{"a\\ud800": ["x\\udfff", {"k": "\\ud83d\\ude00"}], "n": 1}'
    got = without_lone_surrogates(json.loads(text), text)
    assert got == {"a\ufffd": ["x\ufffd", {"k": "\U0001f600"}], "n": 1}
    plain = {"a": "b"}
    assert without_lone_surrogates(plain, '{"a": "b"}') is plain  # nothing to walk


@pytest.mark.parametrize(
    ("fixture", "fmt", "field", "table", "column"),
    [
        ("openai/usage_nov03_04.json", "openai-usage", '"project_id": "', "events", "project"),
        ("openai/costs_nov03_05.json", "openai-costs", '"line_item": "', "billed_costs", "line_item"),
        ("litellm/spend_logs.json", "litellm", '"model": "', "events", "model_raw"),
    ],
)
def test_lone_surrogate_in_a_provider_file_is_stored_as_replacement_character(
    tmp_path: Path, fixture: str, fmt: str, field: str, table: str, column: str
) -> None:
    src = DATA / fixture
    text = src.read_text(encoding="utf-8")
    assert field in text
    bad = tmp_path / src.name
    bad.write_text(text.replace(field, field + "\\ud800", 1), encoding="utf-8")
    clean_db, bad_db = tmp_path / "clean.duckdb", tmp_path / "bad.duckdb"
    clean = run_json("import", str(src), "--format", fmt, "--db", str(clean_db))
    got = run_json("import", str(bad), "--format", fmt, "--db", str(bad_db))
    assert (got["records"], got["imported"], got["rejected"]) == (
        clean["records"],
        clean["imported"],
        clean["rejected"],
    )
    con = duckdb.connect(str(bad_db), read_only=True)
    try:
        values = [r[0] for r in con.execute(f"SELECT {column} FROM {table}").fetchall()]
        assert sum(1 for v in values if v and "\ufffd" in v) == 1
    finally:
        con.close()


def test_reject_reasons_name_bad_values_as_json_does() -> None:
    """QA: reasons quoted Python's reprs: ``not a number (None)``, ``(True)``, ``(b'\\xff\\xfe')``,
    ``expected text, found dict``. They now read as the file's own values do."""
    from usagectl.importers._values import _Bad, _int, _show, _text

    assert _show(None) == "null" and _show(False) == "false"
    reasons = []
    for value in (True, b"\xff\xfe", [1], "ten"):
        try:
            _int(value, "input_tokens")
        except _Bad as exc:
            reasons.append(str(exc))
    assert reasons == [
        "input_tokens: not a number (true)",
        "input_tokens: not a number (2 bytes of binary)",
        "input_tokens: not a number (an array)",
        "input_tokens: not a number (ten)",
    ]
    try:
        _text({"a": 1}, "user")
    except _Bad as exc:
        assert str(exc) == "user: expected text, found an object"


@pytest.mark.parametrize("fixture, fmt", [("openai/usage_nov03_04.json", "openai-usage"),
                                          ("openai/costs_nov03_05.json", "openai-costs")])  # fmt: skip
def test_lone_surrogate_in_an_array_of_pages_is_stored_as_replacement_character(
    tmp_path: Path, fixture: str, fmt: str
) -> None:
    """The same page saved inside a JSON array (each page read on its own): the escape is
    U+FFFD there too (QA: "unexpected error: UnicodeEncodeError", the import stopped)."""
    page = json.loads((DATA / fixture).read_text(encoding="utf-8"))
    text = "[" + json.dumps(page).replace('"proj_', '"\\ud800proj_', 1) + "]"
    bad = tmp_path / "pages.json"
    bad.write_text(text, encoding="utf-8")
    clean = run_json("import", str(DATA / fixture), "--format", fmt, "--db", str(tmp_path / "clean.duckdb"))
    got = run_json("import", str(bad), "--format", fmt, "--db", str(tmp_path / "bad.duckdb"))
    assert (got["records"], got["imported"]) == (clean["records"], clean["imported"])


def test_a_canonical_jsonl_line_with_a_lone_surrogate_is_rejected_as_such(tmp_path: Path, db_path: Path) -> None:
    """QA: a canonical JSONL line holding ``"\\ud800"`` (DuckDB's reader refuses the whole line) was
    rejected as "missing ts", though its ts is there. Its reason now names the escape, as a Claude
    Code line's does; the file's good line is imported."""
    f = tmp_path / "s.jsonl"
    f.write_text(
        '{"event_id":"s1","ts":"2026-07-03T00:00:00Z","model_raw":"gpt-4o","input_tokens":1000,"chat_title":"fix \\ud800 bug"}\n'
        '{"event_id":"s2","ts":"2026-07-03T00:00:00Z","model_raw":"gpt-4o","input_tokens":1000,"member":"\\uDC80"}\n'
        '{"event_id":"s3","ts":"2026-07-03T00:00:00Z","model_raw":"gpt-4o","input_tokens":1000,"member":"ok"}\n',
        encoding="ascii",
    )
    out = run_json("import", str(f), "--db", str(db_path))
    assert (out["imported"], out["rejected"]) == (1, 2)
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        reasons = con.execute("SELECT line, reason FROM rejects ORDER BY line").fetchall()
        kept = con.execute("SELECT event_id FROM events").fetchall()
    finally:
        con.close()
    lone = "not valid JSON: a lone surrogate escape (\\ud800-\\udfff without its pair)"
    assert reasons == [(1, lone), (2, lone)]
    assert kept == [("s3",)]
