"""A report left empty by a filter value that matches nothing in the whole database (a typo,
the wrong case: ``--member ALICE`` for alice) says so and names the close matches, instead of
a bare "No rows." that reads as "no usage"."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import run, run_json, write_jsonl

EVENTS = [
    {"event_id": "a", "ts": "2026-03-01T10:00:00Z", "model_raw": "gpt-4o", "member": "alice", "team": "platform",
     "input_tokens": 10},
    {"event_id": "b", "ts": "2026-03-02T10:00:00Z", "model_raw": "gpt-4o", "member": "bob", "input_tokens": 5},
]  # fmt: skip
RANGE = ("--since", "2026-03-01", "--until", "2026-03-31")


@pytest.fixture
def db(tmp_path: Path, db_path: Path) -> Path:
    run("import", str(write_jsonl(tmp_path / "e.jsonl", EVENTS)), "--db", str(db_path))
    return db_path


def test_a_member_in_the_wrong_case_is_named_with_the_real_one(db: Path) -> None:
    out = run_json("report", "by", "model", *RANGE, "--member", "ALICE", "--db", str(db))
    assert out["rows"] == []
    assert out["notes"] == ["No member 'ALICE' in the data (did you mean alice?)."]


def test_each_unmatched_value_gets_a_note_and_close_matches(db: Path) -> None:
    out = run("report", "by", "model", *RANGE, "--member", "alice", "--team", "platfrom", "--member", "zed",
              "--db", str(db)).stdout  # fmt: skip
    text = " ".join(out.split())
    assert "No team 'platfrom' in the data (did you mean platform?)." in text  # difflib: 1 swap
    assert "No member 'zed' in the data." in text  # nothing close: no suggestion
    assert "No member 'alice'" not in text  # alice exists


def test_no_note_when_the_values_exist_but_not_in_the_range(db: Path) -> None:
    out = run_json("report", "by", "model", "--since", "2026-04-01", "--until", "2026-04-30", "--member", "alice",
                   "--db", str(db))  # fmt: skip
    # the member exists: no filter note; the range holds no event at all, and that is said
    assert out["rows"] == [] and not [n for n in out["notes"] if "No member" in n]
    assert [n for n in out["notes"] if n.startswith("No events at all from 2026-04-01 to 2026-04-30")]


def test_no_extra_note_when_rows_are_shown(db: Path) -> None:
    out = run_json("report", "by", "model", *RANGE, "--member", "alice", "--member", "ALICE", "--db", str(db))
    assert out["totals"]["requests"] == 1 and "notes" not in out


def test_csv_of_an_empty_report_names_the_close_match_on_stderr(db: Path) -> None:
    """QA: a misspelled --model gave a header-only CSV and no word of why; the note the table
    shows ("did you mean") goes to stderr, as `export --csv` prints notes."""
    result = run("report", "by", "model", *RANGE, "--model", "gpt-4p", "--format", "csv", "--db", str(db))
    assert result.stdout.strip().splitlines()[0].startswith("model,") and len(result.stdout.strip().splitlines()) == 1
    assert result.stderr == "note: No model 'gpt-4p' in the data (did you mean gpt-4o?).\n"
