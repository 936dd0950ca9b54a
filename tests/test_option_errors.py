"""Option errors read the same in every command: ``usagectl: error: …`` on stderr and exit 2
(or the error's own code), never Click's usage block for one command and our line for another."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import run, write_jsonl

# 2**63 - 1 = 9223372036854775807, the largest 64-bit signed integer (DuckDB's BIGINT, as which
# the store binds a LIMIT)
TOP_RULE = "must be between 0 (all) and 9223372036854775807"


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
    assert err == f"usagectl: error: --batch {value}: must be a batch id (between 1 and 9223372036854775807)\n"


# 2**63 = 9223372036854775808, one more than a BIGINT holds; 10**23 far beyond
@pytest.mark.parametrize("value", ["9223372036854775808", "99999999999999999999999"])
@pytest.mark.parametrize(
    "args",
    [
        ("report", "chats", "--top"),
        ("report", "by", "chat", "--top"),
        ("report", "by", "model", "--top"),
        ("report", "files", "--top"),
        ("report", "duplicates", "--top"),
        ("forecast", "--by", "model", "--top"),
        ("db", "rejects", "--limit"),
    ],
)
def test_a_count_beyond_64_bits_is_one_usage_error(db: Path, args: tuple[str, ...], value: str) -> None:
    """QA: `report chats --top 2**63` reached ``LIMIT $top`` ("unexpected error:
    ConversionException", exit 1) while `report by model` and others took it; every count
    option is now refused the one way `db rejects --limit` was."""
    err = run(*args, value, "--db", str(db), expect=2).stderr
    assert err == f"usagectl: error: {args[-1]} {value}: {TOP_RULE}\n"


def test_a_batch_id_beyond_64_bits_is_a_usage_error(db: Path) -> None:
    """Batch ids are BIGINTs: 2**63 = 9223372036854775808 reached the query unchecked."""
    err = run("db", "rejects", "--batch", "9223372036854775808", "--db", str(db), expect=2).stderr
    assert err == (
        "usagectl: error: --batch 9223372036854775808: must be a batch id (between 1 and 9223372036854775807)\n"
    )


def test_the_largest_count_lists_every_chat(tmp_path: Path, db_path: Path) -> None:
    """--top 2**63 - 1 is the bound itself: taken, and it binds as a LIMIT; the store takes a
    larger one (a service caller's) as no limit rather than failing in the query. Chats s1
    (one event) and s2 (two events): 2 chats either way."""
    from usagectl.services.chats import report_chats
    from usagectl.services.context import make_context
    from usagectl.services.reports import ReportRequest

    events = [{"event_id": f"C{i}", "ts": f"2026-11-03T1{i}:00:00Z", "model_raw": "gpt-4o", "input_tokens": 10,
               "session_id": s} for i, s in enumerate(["s1", "s2", "s2"])]  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "c.jsonl", events)), "--db", str(db_path))
    rng = ("--since", "2026-11-01", "--until", "2026-11-30")
    out = run("report", "chats", *rng, "--top", "9223372036854775807", "--json", "--db", str(db_path)).stdout
    assert sorted(r["session_id"] for r in json.loads(out)["rows"]) == ["s1", "s2"]
    req = ReportRequest(since="2026-11-01", until="2026-11-30")
    report = report_chats(make_context(None, db_path), req, top=2**63)
    assert sorted(r["session_id"] for r in report.rows) == ["s1", "s2"]


def test_an_unknown_dimension_names_the_close_one(db: Path) -> None:
    """QA: `report by modle` listed the dimensions but, unlike a mistyped command, gave no "did
    you mean"; the name is echoed as typed (not lower-cased), with --by too."""
    err = run("report", "by", "Modle", "--db", str(db), expect=2).stderr
    assert err.startswith("usagectl: error: report by: unknown dimension 'Modle' (did you mean model?); choose from ")
    err = run("report", "by", "team", "--by", "team,modle", "--db", str(db), expect=2).stderr
    assert err.startswith("usagectl: error: report by: unknown dimension 'modle' (did you mean model?); choose from ")
    err = run("report", "by", "xyzzy", "--db", str(db), expect=2).stderr  # nothing close: no guess
    assert "unknown dimension 'xyzzy'; choose from model, provider," in err


@pytest.mark.parametrize(
    ("command", "choices"),
    [
        ("forecast", "member, team, department, project, model, provider, feature, api-key, integration"),
        ("anomalies", "member, model, feature, api-key, integration"),
    ],
)
def test_a_bad_by_is_echoed_as_typed_with_the_help_spellings(db: Path, command: str, choices: str) -> None:
    """QA: `forecast --by cost-center` said "--by 'cost_center'" (the key it became) and listed
    api_key where the help says api-key; `--by modle` had no "did you mean" (`report by` has)."""
    err = run(command, "--by", "cost-center", "--db", str(db), expect=2).stderr
    assert err == f"usagectl: error: --by: unknown dimension 'cost-center'; choose from {choices}\n"
    err = run(command, "--by", "modle", "--db", str(db), expect=2).stderr
    assert err == f"usagectl: error: --by: unknown dimension 'modle' (did you mean model?); choose from {choices}\n"


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


def test_a_memory_limit_beyond_what_duckdb_takes_is_a_usage_error(tmp_path: Path, db_path: Path) -> None:
    """QA: ``export --memory-limit 99999999TB`` (10^20 bytes, more than DuckDB's 2^64) was an
    "unexpected error: ParserException", exit 1; ``16000PB`` (no such unit) was already exit 2."""
    run("import", str(write_jsonl(tmp_path / "e.jsonl", [{"event_id": "a", "ts": "2026-11-03T10:00:00Z",
                                                          "input_tokens": 1}])), "--db", str(db_path))  # fmt: skip
    err = run("export", "--memory-limit", "99999999TB", "--db", str(db_path), expect=2).stderr
    assert err == "usagectl: error: --memory-limit: 99999999TB is more than a memory limit can be (at most 8 EiB)\n"


def _cli_bytes(*args: str | bytes) -> subprocess.CompletedProcess[str]:
    """``python -m usagectl`` with an argv of bytes, as a shell passes a crontab's Latin-1 text:
    Python decodes a byte that is not UTF-8 as a surrogate escape (0xE9 as U+DCE9)."""
    return subprocess.run(
        [sys.executable, "-m", "usagectl", *args], capture_output=True, text=True, errors="replace", timeout=300
    )


# b"Jos\xe9": "José" in Latin-1. 0xE9 opens a three-byte UTF-8 sequence that "end of value"
# breaks, so the value is not UTF-8; the message shows that byte as \xe9, as it was given
JOSE = b"Jos\xe9"
NOT_UTF8 = "is not UTF-8 text\nhint: the command line is read as UTF-8"


@pytest.mark.parametrize(
    ("args", "named"),
    [
        ((b"report", b"daily", b"--member", JOSE), "--member: 'Jos\\xe9'"),
        ((b"report", b"by", b"model", b"--team", JOSE, b"--json"), "--team: 'Jos\\xe9'"),
        ((b"chat", b"show", JOSE), "ID: 'Jos\\xe9'"),  # a positional argument, by its usage name
        ((b"payment", b"add", b"2026-11-01", b"5", b"--note", JOSE), "--note: 'Jos\\xe9'"),
        ((b"budget", b"set", b"member:" + JOSE, b"5"), "SCOPE: 'member:Jos\\xe9'"),
        ((b"report", b"daily", b"--tz", JOSE), "--tz: 'Jos\\xe9'"),
    ],
)
def test_a_command_line_value_that_is_not_utf8_is_a_usage_error(
    db: Path, tmp_path: Path, args: tuple[bytes, ...], named: str
) -> None:
    """QA: such a value reached DuckDB (``InvalidInputException … cannot encode str as UTF-8``)
    or the config file (``UnicodeEncodeError``): an "unexpected error", exit 1. It is one usage
    error for every command (exit 2), naming the option or argument and the value; nothing is
    written (no payment, the config file as it was)."""
    config = tmp_path / "usagectl.toml"
    config.write_text("[plan]\nmonthly_token_quota = 1000000\n")
    before = config.read_bytes()
    res = _cli_bytes(*args, b"--db", os.fsencode(db), b"--config", os.fsencode(config))
    assert res.returncode == 2, res.stderr
    assert res.stderr.startswith(f"usagectl: error: {named} {NOT_UTF8}"), res.stderr
    assert "unexpected error" not in res.stderr and res.stdout == ""
    assert config.read_bytes() == before
    assert run("payment", "list", "--db", str(db), "--json").stdout.count('"id"') == 0


def test_a_file_name_that_is_not_utf8_is_still_a_file_name(db: Path, tmp_path: Path) -> None:
    """A file name in Latin-1 names a real file: the check of text values leaves file names
    alone. ``export --out`` writes that file; ``import`` names it in its own error (exit 4, the
    other files imported); ``--db`` is refused with exit 3 instead of DuckDB's "std::bad_cast"
    (an unexpected error, exit 1)."""
    folder = os.fsencode(tmp_path)
    out = folder + b"/out-" + JOSE + b".csv"
    res = _cli_bytes(b"export", b"--csv", b"--out", out, b"--db", os.fsencode(db))
    assert res.returncode == 0, res.stderr
    # the header line and the two events of the fixture (E1 and E2): three lines
    assert os.path.exists(out) and len(Path(os.fsdecode(out)).read_text().splitlines()) == 3

    latin1 = folder + b"/" + JOSE + b".jsonl"
    Path(os.fsdecode(latin1)).write_text('{"event_id": "E9", "ts": "2026-11-03T12:00:00Z", "input_tokens": 1}\n')
    res = _cli_bytes(b"import", latin1, b"--db", os.fsencode(db))
    assert res.returncode == 4, res.stderr
    assert f"{tmp_path}/Jos\\xe9.jsonl: cannot be imported: its name is not UTF-8" in res.stderr

    named = folder + b"/" + JOSE + b".duckdb"
    res = _cli_bytes(b"import", os.fsencode(db), b"--db", named)  # any input: the database is refused first
    assert res.returncode == 3, res.stderr
    assert res.stderr.startswith(f"usagectl: error: database {tmp_path}/Jos\\xe9.duckdb cannot be opened: its name ")
    assert not os.path.exists(named)
