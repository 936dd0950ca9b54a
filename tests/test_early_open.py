"""A reading command's database is opened on a thread while the command line imports
(``store/early.py``); the command takes that connection when it opens the same file read-only,
and every other opening closes it first.

Hand-worked values: two canonical events of gpt-4o on 2026-11-20 (UTC), 1,000,000 input and
100,000 output tokens each ($2.50 / $10 per 1M): 2 x ($2.50 + $1.00) = $7.00.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from tests.helpers import run, write_jsonl
from usagectl.config import default_db_path
from usagectl.store import early
from usagectl.store.connection import connect

EVENTS = [
    {"event_id": f"e{i}", "ts": "2026-11-20T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 1_000_000,
     "output_tokens": 100_000}
    for i in (1, 2)
]  # fmt: skip


@pytest.fixture(autouse=True)
def _nothing_left_open() -> object:
    yield None
    early.discard()


def _imported(tmp_path: Path, db: Path) -> Path:
    run("import", str(write_jsonl(tmp_path / "events.jsonl", EVENTS)), "--db", str(db))
    return db


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The console script's way in (``usagectl.__main__``), in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "usagectl", *args],
        capture_output=True,
        text=True,
        env=dict(os.environ) | (env or {}),
        timeout=300,
    )


def test_the_database_is_guessed_as_the_command_line_resolves_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert early.guess_db_path(["report", "daily", "--db", "a.duckdb"]) == Path("a.duckdb")
    assert early.guess_db_path(["report", "daily", "--db=b.duckdb", "--json"]) == Path("b.duckdb")
    assert early.guess_db_path(["report", "daily"]) == default_db_path()
    config = tmp_path / "usagectl.toml"
    config.write_text('[database]\npath = "team.duckdb"\n')
    assert early.guess_db_path(["cost", "--config", str(config)]) == tmp_path / "team.duckdb"
    monkeypatch.setenv("USAGECTL_DB", str(tmp_path / "env.duckdb"))
    assert early.guess_db_path(["cost", "--config", str(config)]) == tmp_path / "env.duckdb"
    assert early.guess_db_path(["cost", "--db", "c.duckdb"]) == Path("c.duckdb")
    monkeypatch.delenv("USAGECTL_DB")
    config.write_text("[database\n")  # not TOML: the command reports it, nothing is opened early
    assert early.guess_db_path(["cost", "--config", str(config)]) is None


def test_a_reading_command_takes_the_connection_opened_early(tmp_path: Path) -> None:
    db = _imported(tmp_path, tmp_path / "usage.duckdb")
    early.start(["report", "daily", "--db", str(db)])
    con = early.take(db)
    assert con is not None
    try:
        assert con.execute("SELECT count(*), sum(input_tokens) FROM events").fetchall() == [(2, 2_000_000)]
    finally:
        con.close()
    assert early.take(db) is None  # taken once


def test_writing_commands_and_help_open_nothing_early(tmp_path: Path) -> None:
    db = _imported(tmp_path, tmp_path / "usage.duckdb")
    for args in (["import", "x.jsonl", "--db", str(db)], ["sync", "--db", str(db)], ["report", "daily", "--help"], []):
        early.start([*args])
        assert early.take(db) is None, args
    early.start(["report", "daily", "--db", str(tmp_path / "missing.duckdb")])
    assert early.take(tmp_path / "missing.duckdb") is None


def test_another_opening_closes_the_early_connection_first(tmp_path: Path) -> None:
    db = _imported(tmp_path, tmp_path / "usage.duckdb")
    other = _imported(tmp_path, tmp_path / "other.duckdb")
    early.start(["report", "daily", "--db", str(db)])
    # a different file taken read-only: the early one is closed, so the file opens for writing
    # in this process (DuckDB refuses a second instance of a file with another configuration)
    with connect(other, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM events").fetchall() == [(2,)]
    with connect(db) as con:
        con.execute("DELETE FROM events WHERE event_id = 'e1'")
    early.start(["report", "daily", "--db", str(db)])
    with connect(db) as con:  # the same file opened for writing
        assert con.execute("SELECT count(*) FROM events").fetchall() == [(1,)]


def test_reports_through_the_console_script_read_the_right_database(tmp_path: Path) -> None:
    db = _imported(tmp_path, tmp_path / "usage.duckdb")
    other = tmp_path / "other.duckdb"
    run("import", str(write_jsonl(tmp_path / "one.jsonl", EVENTS[:1])), "--db", str(other))
    config = tmp_path / "usagectl.toml"
    config.write_text(f'[database]\npath = "{other.name}"\n')
    res = _cli("report", "daily", "--db", str(db), "--since", "2026-11-20", "--until", "2026-11-20", "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout, parse_float=Decimal)["totals"]["cost_usd"] == Decimal("7.00")
    # the config names the other database (one event: $3.50); --db still wins over it
    for args, cost in ((["--config", str(config)], "3.50"), (["--config", str(config), "--db", str(db)], "7.00")):
        res = _cli("cost", "--since", "2026-11-20", "--until", "2026-11-20", "--json", *args)
        assert res.returncode == 0, res.stderr
        assert json.loads(res.stdout, parse_float=Decimal)["totals"]["cost_usd"] == Decimal(cost), args


def test_a_foreign_file_is_still_reported_by_the_command(tmp_path: Path) -> None:
    bad = tmp_path / "notes.duckdb"
    bad.write_text("not a database\n")
    res = _cli("report", "daily", "--db", str(bad))
    assert res.returncode == 3, res.stderr
    assert f"{bad} is not a DuckDB database (it looks like a text file" in res.stderr
    assert "Traceback" not in res.stderr


def test_a_database_that_needs_its_schema_is_migrated_after_the_early_opening(tmp_path: Path) -> None:
    """The early reader of a database without usagectl's tables (a DuckDB file of another
    program, or one from before a migration) is closed before the command opens it to migrate."""
    import duckdb

    db = tmp_path / "plain.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE notes (a INTEGER)")
    con.close()
    res = _cli("report", "daily", "--db", str(db), "--since", "2026-11-20", "--until", "2026-11-20", "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["totals"]["requests"] == 0
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM events").fetchall() == [(0,)]
        assert con.execute("SELECT count(*) FROM notes").fetchall() == [(0,)]
    finally:
        con.close()
