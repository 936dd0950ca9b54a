"""Migrations, file mode, busy and too-new databases."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from tests.helpers import run
from usagectl.errors import DatabaseBusyError, DatabaseTooNewError
from usagectl.store import schema
from usagectl.store.connection import connect


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}


def test_fresh_database_has_every_migration_and_table(db_path: Path) -> None:
    with connect(db_path) as con:
        assert schema.current_version(con) == schema.latest_version() >= 1
        assert {"events", "import_batches", "rejects", "schema_migrations"} <= _tables(con)
        rows = con.execute("SELECT version, name FROM schema_migrations ORDER BY version").fetchall()
    assert [r[0] for r in rows] == list(range(1, schema.latest_version() + 1))


def test_database_file_is_private(db_path: Path) -> None:
    with connect(db_path):
        pass
    assert stat.S_IMODE(os.stat(db_path).st_mode) == 0o600


def test_upgrade_applies_only_pending_migrations_and_keeps_data(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with connect(db_path) as con:
        con.execute("INSERT INTO meta VALUES ('kept', 'yes')")
    real = schema.available()
    extra = schema.Migration(len(real) + 1, "add_test_table", "CREATE TABLE upgrade_probe (x INTEGER);")
    monkeypatch.setattr(schema, "available", lambda: [*real, extra])
    with connect(db_path) as con:
        assert schema.current_version(con) == extra.version
        assert "upgrade_probe" in _tables(con)
        assert con.execute("SELECT value FROM meta WHERE key = 'kept'").fetchone() == ("yes",)


def test_failed_migration_rolls_back_with_its_record(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with connect(db_path):
        pass
    real = schema.available()
    bad = schema.Migration(len(real) + 1, "broken", "CREATE TABLE half_done (x INTEGER); SELECT * FROM no_such_table;")
    monkeypatch.setattr(schema, "available", lambda: [*real, bad])
    with pytest.raises(duckdb.Error), connect(db_path):
        pass
    monkeypatch.setattr(schema, "available", lambda: real)
    with connect(db_path) as con:
        assert schema.current_version(con) == len(real)
        assert "half_done" not in _tables(con)


def test_database_newer_than_code_is_refused(db_path: Path) -> None:
    with connect(db_path) as con:
        con.execute("INSERT INTO schema_migrations (version, name) VALUES (99, 'from_the_future')")
    with pytest.raises(DatabaseTooNewError, match="schema version 99"), connect(db_path):
        pass
    result = run("db", "status", "--db", str(db_path), expect=3)
    assert "newer than this usagectl" in result.stderr


def test_busy_database_is_a_clear_error_with_exit_3(db_path: Path, tmp_path: Path) -> None:
    with connect(db_path):
        pass
    ready = tmp_path / "ready"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import duckdb, pathlib, time
                con = duckdb.connect({str(db_path)!r})
                pathlib.Path({str(ready)!r}).write_text("x")
                time.sleep(60)
                """
            ),
        ]
    )
    try:
        deadline = time.time() + 30
        while not ready.exists():
            assert time.time() < deadline, "lock holder did not start"
            time.sleep(0.05)
        with pytest.raises(DatabaseBusyError, match="busy"), connect(db_path, read_only=True):
            pass
        result = run("report", "month", "--db", str(db_path), expect=3)
        assert "is busy" in result.stderr
        assert "Traceback" not in result.stderr
    finally:
        holder.kill()
        holder.wait()
