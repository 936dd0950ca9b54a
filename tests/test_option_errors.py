"""Option errors read the same in every command: ``usagectl: error: …`` on stderr and exit 2
(or the error's own code), never Click's usage block for one command and our line for another."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import run, write_jsonl

TOP_RULE = "must be 0 (all) or more"


@pytest.fixture
def db(tmp_path: Path, db_path: Path) -> Path:
    # two models on one day, so that --top 1 folds one of them and --top 0 keeps both
    events = [{"event_id": "E1", "ts": "2026-11-03T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 1000},
              {"event_id": "E2", "ts": "2026-11-03T11:00:00Z", "model_raw": "gpt-4o-mini", "input_tokens": 10}]  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "e.jsonl", events)), "--db", str(db_path))
    return db_path


@pytest.mark.parametrize(
    "args",
    [
        ("report", "by", "model", "--top", "-1"),
        ("report", "chats", "--top", "-1"),
        ("report", "files", "--top", "-1"),
        ("report", "duplicates", "--top", "-1"),
        ("forecast", "--by", "model", "--top", "-1"),
    ],
)
def test_negative_top_is_one_usage_error(db: Path, args: tuple[str, ...]) -> None:
    err = run(*args, "--db", str(db), expect=2).stderr
    assert err == f"usagectl: error: --top -1: {TOP_RULE}\n"


def test_top_zero_lists_all_in_report_by(db: Path) -> None:
    rows = run("report", "by", "model", "--since", "2026-11-01", "--until", "2026-11-30", "--top", "0", "--json",
               "--db", str(db)).stdout  # fmt: skip
    assert "(other)" not in rows and "gpt-4o-mini" in rows and '"gpt-4o"' in rows


def test_config_that_is_a_directory_says_so(db: Path, tmp_path: Path) -> None:
    err = run("report", "month", "--config", str(tmp_path), "--db", str(db), expect=2).stderr
    assert err == f"usagectl: error: config file {tmp_path} is a directory, not a file\n"


def test_dashboard_once_reports_errors_like_every_command(tmp_path: Path) -> None:
    result = run("dashboard", "--once", "--db", str(tmp_path), expect=3)  # a directory is no database
    assert result.stderr.startswith(f"usagectl: error: database {tmp_path} cannot be opened")


@pytest.mark.parametrize("value", ["0", "-1", "0.1"])
def test_a_refresh_below_the_minimum_is_one_usage_error(db: Path, value: str) -> None:
    """The dashboard refreshes at most every 0.2 s; 0, -1 and 0.1 used to print Click's usage
    block ("Invalid value for '--refresh': 0.0 is not in the range x>=0.2")."""
    err = run("dashboard", "--once", "--refresh", value, "--db", str(db), expect=2).stderr
    assert err == f"usagectl: error: --refresh {value}: must be between 0.2 and 3600 seconds\n"


def test_the_minimum_refresh_is_accepted(db: Path) -> None:
    run("dashboard", "--once", "--refresh", "0.2", "--db", str(db))


@pytest.mark.parametrize("value", ["-5", "0"])
def test_a_batch_id_below_one_is_a_usage_error(db: Path, value: str) -> None:
    """Batch ids come from a sequence that starts at 1: ``db rejects --batch -5`` used to print
    "No rows." and exit 0, as if batch -5 had been checked and was clean."""
    err = run("db", "rejects", "--batch", value, "--db", str(db), expect=2).stderr
    assert err == f"usagectl: error: --batch {value}: must be a batch id (1 or more)\n"


def test_a_bad_vs_names_its_two_words_too(tmp_path: Path) -> None:
    """QA: ``--vs lastyear`` listed the date forms but not ``previous`` and ``year-ago``."""
    result = run("report", "compare", "--period", "2026-11", "--vs", "lastyear", "--db", str(tmp_path / "u.duckdb"),
                 expect=2)  # fmt: skip
    assert "--vs 'lastyear': not a range (use YYYY" in result.stderr
    assert result.stderr.splitlines()[0].endswith(", or previous or year-ago)")


def test_a_vs_range_that_ends_before_it_starts_is_told_whole(tmp_path: Path) -> None:
    """QA: the words were added by cutting the message's last character, a ")" of the forms'
    list: a message without one lost its last letter ("the range ends before it start, or
    previous or year-ago)")."""
    result = run("report", "compare", "--period", "2026-10", "--vs", "2026-11-05..2026-11-01",
                 "--db", str(tmp_path / "u.duckdb"), expect=2)  # fmt: skip
    assert result.stderr.splitlines()[0] == (
        "usagectl: error: --vs '2026-11-05..2026-11-01': the range ends before it starts"
    )
