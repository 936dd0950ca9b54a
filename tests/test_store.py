"""Migrations, file mode, busy and too-new databases."""

from __future__ import annotations

import json
import os
import re
import stat
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from tests.helpers import lock_held, run
from usagectl.errors import DatabaseBusyError, DatabaseTooNewError
from usagectl.store import schema
from usagectl.store.connection import _translate, connect


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
    with lock_held(db_path, tmp_path) as pid:
        with pytest.raises(DatabaseBusyError, match="busy"), connect(db_path, read_only=True):
            pass
        result = run("report", "month", "--db", str(db_path), expect=3)
        assert "is busy" in result.stderr
        # DuckDB names the holder's program (a path with dots) and PID; both are shown whole
        assert re.search(rf"\(held by /\S*python\S*, PID {pid}\)", result.stderr), result.stderr
        assert "wait for that process" in result.stderr and "usagectl command" not in result.stderr
        assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("message", "holder"),
    [  # DuckDB 2.0's message, one with the user (other builds), and one without a PID
        (
            'IO Error: Could not set lock on file "/tmp/u.duckdb": Conflicting lock is held in '
            "/root/.pyenv/versions/3.11.7/bin/python3.11 (PID 25481). "
            "See also https://duckdb.org/docs/current/connect/concurrency",
            " (held by /root/.pyenv/versions/3.11.7/bin/python3.11, PID 25481)",
        ),
        (
            'IO Error: Could not set lock on file "/tmp/u.duckdb": Conflicting lock is held in '
            "/home/a/.venv/bin/python3.12 (PID 7) by user root. See also https://duckdb.org/docs/",
            " (held by /home/a/.venv/bin/python3.12, PID 7)",
        ),
        (
            'IO Error: Could not set lock on file "/tmp/u.duckdb": Conflicting lock is held in /usr/bin/duckdb. '
            "See also https://duckdb.org/docs/",
            " (held by /usr/bin/duckdb)",
        ),
        ('IO Error: Could not set lock on file "/tmp/u.duckdb": Resource temporarily unavailable', ""),
    ],
)
def test_the_lock_holder_is_shown_whole(message: str, holder: str) -> None:
    error = _translate(Exception(message), Path("/tmp/u.duckdb"))
    assert isinstance(error, DatabaseBusyError)
    assert error.message == f"database /tmp/u.duckdb is busy: another process is using it{holder}"


def _describe(con: duckdb.DuckDBPyConnection) -> list[tuple[object, ...]]:
    return con.execute(
        "SELECT column_name, data_type, is_nullable, column_default FROM duckdb_columns() "
        "WHERE table_name = 'events' ORDER BY column_index"
    ).fetchall()


def _compression(con: duckdb.DuckDBPyConnection, column: str) -> set[str]:
    return {
        r[0]
        for r in con.execute(
            "SELECT DISTINCT compression FROM pragma_storage_info('events') "
            "WHERE column_name = ? AND segment_type <> 'VALIDITY'",
            [column],
        ).fetchall()
    }


_ROWS = (  # three events: defaults, NULLs, JSON extra, and text that needs quoting
    "INSERT INTO events (event_id, ts, source, model, input_tokens, message_id, extra, batch_id) VALUES "
    "('claude-code:msg_1:req_1', '2026-11-01 10:00:00+00', 'claude-code', 'claude-sonnet-4-5', 10, 'msg_1', "
    '\'{"cwd": "/home/a", "isSidechain": false}\', 1), '
    "('x:2', '2026-11-02 00:00:00+00', 'jsonl', NULL, 0, NULL, NULL, 1), "
    "('x:''3''', '2026-11-03 23:59:59+00', 'jsonl', 'gpt-5', 7, 'm''3', '[1, \"two\"]', 2)"
)


_MANY_ROWS = (  # 20,000 Claude Code-shaped events: a unique id, message id and extra on every row
    "INSERT INTO events (event_id, ts, source, model, message_id, extra, batch_id) "
    "SELECT 'claude-code:msg_' || md5(i::VARCHAR) || ':req_' || md5((i * 7)::VARCHAR), "
    "TIMESTAMPTZ '2026-11-01' + INTERVAL (i) SECOND, 'claude-code', 'claude-opus-4-1', 'msg_' || md5(i::VARCHAR), "
    "json_object('uuid', md5((i * 3)::VARCHAR)), 4 FROM range(20000) t(i)"
)


def _step_to(db_path: Path, monkeypatch: pytest.MonkeyPatch, version: int, name: str) -> list[tuple[object, ...]]:
    """Migrate a new database to ``version - 1`` and note its columns; the next connect
    applies migration ``version`` (``name``) and no later one."""
    real = schema.available()
    assert len(real) >= version and real[version - 1].name == name
    monkeypatch.setattr(schema, "available", lambda: real[: version - 1])
    with connect(db_path) as con:
        before = _describe(con)
    monkeypatch.setattr(schema, "available", lambda: real[:version])
    return before


def test_empty_events_table_is_recreated_with_zstd_and_the_same_schema(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Migration 5 recreates an empty events table with zstd for event_id, message_id and
    extra: the same columns, types, defaults and NOT NULLs as at version 4."""
    before_cols = _step_to(db_path, monkeypatch, 5, "events_zstd")
    with connect(db_path) as con:
        assert schema.current_version(con) == 5
        assert _describe(con) == before_cols
        con.execute(_ROWS)
        con.execute(
            "INSERT INTO events (event_id, ts, source, batch_id) VALUES ('d', '2026-11-04 00:00:00+00', 's', 3)"
        )
        assert con.execute(
            "SELECT requests, input_tokens, service_tier FROM events WHERE event_id = 'd'"
        ).fetchone() == (
            1,
            0,
            "standard",
        )
        with pytest.raises(duckdb.ConstraintException):
            con.execute("INSERT INTO events (event_id, ts, source) VALUES ('e', '2026-11-04 00:00:00+00', 's')")
        con.execute(_MANY_ROWS)
        con.execute("CHECKPOINT")
        for column in ("event_id", "message_id", "extra"):
            assert _compression(con, column) == {"ZSTD"}, column
        assert "ZSTD" not in _compression(con, "model")  # the others keep DuckDB's own choice
        assert con.execute("SELECT count(*), sum(input_tokens) FROM events").fetchone() == (20004, 17)


def test_migration_6_stores_the_ids_uncompressed_and_keeps_extra_zstd(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Migration 6 recreates an empty events table with event_id and message_id uncompressed
    and extra still zstd, the schema unchanged; a table with rows keeps its storage."""
    real = schema.available()
    before_cols = _step_to(db_path, monkeypatch, 6, "events_ids_uncompressed")
    with connect(db_path) as con:
        assert schema.current_version(con) == 6
        assert _describe(con) == before_cols
        con.execute(_ROWS)
        con.execute(_MANY_ROWS)
        con.execute("CHECKPOINT")
        assert _compression(con, "event_id") == {"Uncompressed"}
        assert _compression(con, "message_id") == {"Uncompressed"}
        assert _compression(con, "extra") == {"ZSTD"}
        assert con.execute("SELECT count(*), sum(input_tokens), count(DISTINCT event_id) FROM events").fetchone() == (
            20003,
            17,
            20003,
        )
    # a database at version 5 that already holds events: 6 leaves the table (and zstd) alone
    other = db_path.with_name("other.duckdb")
    monkeypatch.setattr(schema, "available", lambda: real[:5])
    with connect(other) as con:
        con.execute(_ROWS)
        before = con.execute("SELECT * FROM events ORDER BY rowid").fetchall()
    monkeypatch.setattr(schema, "available", lambda: real[:6])
    with connect(other) as con:
        assert schema.current_version(con) == 6
        assert con.execute("SELECT * FROM events ORDER BY rowid").fetchall() == before
        con.execute("CHECKPOINT")
        assert _compression(con, "event_id") == {"ZSTD"}


def test_events_that_hold_rows_keep_their_storage_and_rows(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A rebuild would leave the old blocks free inside the file (it would grow by the
    table's size): a table with events is left as it is, rows and order untouched."""
    real = schema.available()
    monkeypatch.setattr(schema, "available", lambda: real[:4])
    with connect(db_path) as con:
        con.execute(_ROWS)
        before = con.execute("SELECT * FROM events ORDER BY rowid").fetchall()
        ddl = con.execute("SELECT sql FROM duckdb_tables() WHERE table_name = 'events'").fetchone()
    monkeypatch.setattr(schema, "available", lambda: real[:7])  # 8 adds a column (tested on its own)
    with connect(db_path) as con:
        assert schema.current_version(con) == 7
        assert con.execute("SELECT * FROM events ORDER BY rowid").fetchall() == before
        assert con.execute("SELECT sql FROM duckdb_tables() WHERE table_name = 'events'").fetchone() == ddl
        assert ddl is not None and "ZSTD" not in ddl[0].upper()


def test_old_storage_format_keeps_events_as_they_are(db_path: Path) -> None:
    """A database file in DuckDB's pre-1.2 storage format cannot hold zstd text: migration 5
    leaves its events table alone instead of failing."""
    duckdb.connect(str(db_path), config={"storage_compatibility_version": "v1.0.0"}).close()
    with connect(db_path) as con:
        assert schema.current_version(con) == schema.latest_version()
        con.execute(_ROWS)
        con.execute("CHECKPOINT")
        assert "ZSTD" not in _compression(con, "event_id")
        assert con.execute("SELECT count(*), sum(input_tokens) FROM events").fetchone() == (3, 17)


def test_memory_sizes_as_duckdb_spells_them() -> None:
    from usagectl.store.memory import checked_size, memory_bytes

    assert memory_bytes("800MB") == 800_000_000
    assert memory_bytes(" 1.5 GiB ") == 3 * 2**29  # 1.5 * 1,073,741,824
    assert memory_bytes("762.9 MiB") == int(762.9 * 2**20)  # DuckDB's own reading of 800MB
    assert memory_bytes("512 bytes") == memory_bytes("512b") == 512
    assert memory_bytes("80%") is None and memory_bytes("") is None and memory_bytes("1 GB; x") is None
    assert checked_size(" 2gb ") == "2gb"
    with pytest.raises(ValueError, match="not a memory size"):
        checked_size("1GB'; SELECT 1; --")


def test_migration_7_gives_stored_content_ids_the_hash_an_import_computes(tmp_path: Path, db_path: Path) -> None:
    """Events without an id are keyed by a hash of all their content (team, status, extra …
    included, since migration 7). A database from before holds them under the older hash: the
    migration recomputes each stored ``h:`` id from the stored columns, so the same rows in
    another file (an export downloaded again) are duplicates, not new events. Rows differing
    only in their team are two events; an event with its own id keeps it."""
    import hashlib
    import json

    from usagectl.models import EVENT_COLUMNS

    rows = [
        {"ts": "2026-11-03T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 1000, "team": "ads", "x_req": "r1"},
        {"ts": "2026-11-03T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 1000, "team": "search", "x_req": "r1"},
        {"event_id": "own-1", "ts": "2026-11-03T11:00:00Z", "model_raw": "gpt-4o", "input_tokens": 5},
    ]
    first = tmp_path / "first.jsonl"
    first.write_text("".join(json.dumps(r) + "\n" for r in rows))
    run("import", str(first), "--db", str(db_path))
    con = duckdb.connect(str(db_path))
    try:
        want = dict(con.execute("SELECT team, event_id FROM events").fetchall())
        assert len(want) == 3 and want[None] == "own-1" and all(want[t].startswith("h:") for t in ("ads", "search"))
        # as a database of schema 6 holds them: ids by the older hash (computed here by hand: ts,
        # the 14 text columns of then, with model and provider as the file gave them (absent),
        # then every count), migration 7 not applied
        ints = [c for c, k in EVENT_COLUMNS if k == "int"]
        old_text = ("provider", "model_raw", "model", "service_tier", "member", "project", "workspace", "api_key",
                    "feature", "tool", "integration", "platform", "session_id", "message_id")  # fmt: skip
        cols = ", ".join(f'"{c}"' for c in (*old_text, *ints))
        for team, *values in con.execute(f"SELECT team, {cols} FROM events WHERE team IS NOT NULL").fetchall():
            text = dict(zip(old_text, values[: len(old_text)], strict=True)) | {"model": None, "provider": None}
            parts = ["2026-11-03T10:00:00.000000Z", *(text[c] or "" for c in old_text)]
            parts += ["" if v is None else str(v) for v in values[len(old_text) :]]
            old_id = "h:" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
            con.execute("UPDATE events SET event_id = ? WHERE team = ?", [old_id, team])
        con.execute("DELETE FROM schema_migrations WHERE version >= 7")
    finally:
        con.close()
    with connect(db_path, read_only=True) as con:  # a reading command brings the schema up to date
        assert dict(con.execute("SELECT team, event_id FROM events").fetchall()) == want
    again = tmp_path / "again.jsonl"  # the same rows, another file
    again.write_text("".join(json.dumps(r) + "\n" for r in reversed(rows)))
    out = run("import", str(again), "--db", str(db_path), "--json").stdout
    assert (json.loads(out)["imported"], json.loads(out)["duplicates"]) == (0, 3)


def test_migration_8_prices_stored_long_context_buckets_on_their_band(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows stored before migration 8 get ``band_input`` from their ``extra``: an Anthropic usage
    row (requests 0) of context_window "200k-1M" 200,001; one of "0-200k", a single request
    and a row without extra nothing. The long row is then priced at the long-context rates."""
    before = _step_to(db_path, monkeypatch, 8, "band_input")
    assert "band_input" not in [c[0] for c in before]
    raw = duckdb.connect(str(db_path))  # as schema 7 holds them (no migration runs on a raw connection)
    raw.execute(
        "INSERT INTO events (event_id, ts, source, model, requests, input_tokens, extra, batch_id) VALUES "
        "('long', '2025-11-03 00:00:00+00', 'anthropic-usage', 'claude-sonnet-4-5', 0, 100000, "
        '\'{"context_window": "200k-1M"}\', 1), '
        "('base', '2025-11-03 00:00:00+00', 'anthropic-usage', 'claude-sonnet-4-5', 0, 900000, "
        '\'{"context_window": "0-200k"}\', 1), '
        "('one', '2025-11-03 01:00:00+00', 'jsonl', 'claude-sonnet-4-5', 1, 1000, "
        '\'{"context_window": "200k-1M"}\', 1), '
        "('bare', '2025-11-03 02:00:00+00', 'jsonl', 'claude-sonnet-4-5', 3, 1000, NULL, 1)"
    )
    raw.close()
    with connect(db_path) as con:
        assert schema.current_version(con) == 8
        got = dict(con.execute("SELECT event_id, band_input FROM events").fetchall())
    assert got == {"long": 200_001, "base": None, "one": None, "bare": None}
    out = run("report", "by", "model", "--since", "2025-11-03", "--until", "2025-11-03", "--tz", "UTC",
              "--db", str(db_path), "--json")  # fmt: skip
    # long: 100,000 x $6/M = 0.60; base: 900,000 x $3/M = 2.70; one and bare: 1,000 x $3/M each
    assert Decimal(str(json.loads(out.stdout)["rows"][0]["cost_usd"])) == Decimal("3.306")
