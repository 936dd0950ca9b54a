"""Migrations, file mode, busy and too-new databases."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import re
import shutil
import stat
import subprocess
import sys
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


# --- upgrading a database that holds data: said on stderr, a copy kept, refused when it cannot be made


def _database_at_4(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[tuple[object, ...]]:
    """A database stopped at schema 4 (as usagectl b0dc8a3 left it) holding ``_ROWS``; every
    migration shipped is available again afterwards. Returns its events as stored."""
    real = schema.available()
    monkeypatch.setattr(schema, "available", lambda: real[:4])
    with connect(db_path) as con:
        con.execute(_ROWS)
        rows = con.execute("SELECT * FROM events ORDER BY rowid").fetchall()
    monkeypatch.setattr(schema, "available", lambda: real)
    return rows


def _copies(db_path: Path) -> list[str]:
    return sorted(p.name for p in db_path.parent.iterdir() if p.name.endswith(".bak"))


def _version(db: Path) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return int(con.execute("SELECT max(version) FROM schema_migrations").fetchone()[0])  # type: ignore[index]
    finally:
        con.close()


_REPORT = ("report", "by", "model", "--since", "2026-11-01", "--until", "2026-11-30", "--json")


def test_an_upgrade_says_so_on_stderr_and_keeps_a_copy_as_it_was(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """QA: the first report of a new version upgraded a schema-4 database silently, with no way
    back (an older usagectl refuses schema 12; migrations 10 and 12 remove rows). Now one line on
    stderr names both versions and the copy, ``PATH.schema-4.bak``: the file as it was (schema
    4, the same rows), mode 0600. stdout holds the report's JSON alone; a second command says
    nothing and copies nothing."""
    before = _database_at_4(db_path, monkeypatch)
    newest = schema.latest_version()
    result = run(*_REPORT, "--db", str(db_path))
    copy = Path(f"{db_path}.schema-4.bak")
    assert result.stderr.splitlines() == [
        f"usagectl: warning: upgrading database {db_path} from schema 4 to {newest} "
        f"(an older usagectl cannot open it afterwards; a copy as it was: {copy})"
    ]
    rows = json.loads(result.stdout)["rows"]  # stdout is the JSON, whole
    # _ROWS: 3 events of 1 request each; input tokens 10 + 0 + 7 = 17
    assert (sum(r["requests"] for r in rows), sum(r["input_tokens"] for r in rows)) == (3, 17)
    assert stat.S_IMODE(os.stat(copy).st_mode) == 0o600
    assert _version(copy) == 4 and _version(db_path) == newest
    con = duckdb.connect(str(copy), read_only=True)
    try:
        assert con.execute("SELECT * FROM events ORDER BY rowid").fetchall() == before
    finally:
        con.close()
    again = run(*_REPORT, "--db", str(db_path))
    assert again.stderr == "" and _copies(db_path) == [copy.name]


def test_a_new_database_is_set_up_silently_without_a_copy(db_path: Path, tmp_path: Path) -> None:
    events = tmp_path / "e.jsonl"
    events.write_text('{"event_id": "e1", "ts": "2026-11-20T10:00:00Z", "model": "gpt-4o", "input_tokens": 1}\n')
    result = run("import", str(events), "--db", str(db_path), "--json")
    assert "upgrading" not in result.stderr and json.loads(result.stdout)["imported"] == 1
    assert _copies(db_path) == [] and _version(db_path) == schema.latest_version()


def test_a_copy_already_there_is_kept_and_the_new_one_takes_the_next_name(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ``PATH.schema-4.bak`` from an earlier upgrade (this database put back from it and used
    by the older usagectl since) is not written over: this upgrade's copy is ``.schema-4.2.bak``."""
    _database_at_4(db_path, monkeypatch)
    earlier = Path(f"{db_path}.schema-4.bak")
    earlier.write_bytes(b"an earlier copy")
    result = run("db", "status", "--db", str(db_path), "--json")
    assert f"a copy as it was: {db_path}.schema-4.2.bak)" in result.stderr
    assert json.loads(result.stdout)["overview"]["schema_version"] == schema.latest_version()
    assert earlier.read_bytes() == b"an earlier copy"
    assert _version(Path(f"{db_path}.schema-4.2.bak")) == 4


def test_an_upgrade_that_cannot_keep_its_copy_is_refused_and_changes_nothing(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk while the copy is written: the half copy is removed, no migration runs, the
    command fails with exit 3 saying why, and stdout stays empty."""
    _database_at_4(db_path, monkeypatch)
    image = db_path.read_bytes()

    def half_then_full(path: Path, fd: int) -> None:
        with open(fd, "wb") as out:
            out.write(path.read_bytes()[:4096])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(schema, "_write_copy", half_then_full)
    result = run(*_REPORT, "--db", str(db_path), expect=3)
    assert result.stdout == ""
    assert (
        f"usagectl: error: database {db_path} has schema 4; this usagectl needs {schema.latest_version()}: "
        f"the copy kept before an upgrade cannot be made ({db_path}.schema-4.bak: No space left on device); "
        "it was left unchanged\nhint: free some space"
    ) in result.stderr
    assert _copies(db_path) == [] and db_path.read_bytes() == image


def test_a_failed_upgrade_removes_its_copy_only_when_nothing_was_migrated(
    db_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The first migration fails: rolled back, the database is as it was, and its copy would be
    one more copy of the whole file for every retry (a cron job): removed. A migration committed
    before the failure: the database is no longer as it was, the copy stays, and stderr says
    where the upgrade stopped and where the copy is (QA: a disk that filled up between steps
    said only "this command's changes were not stored" of a database now at schema 12)."""
    _database_at_4(db_path, monkeypatch)
    real = schema.available()
    bad = schema.Migration(5, "broken", "CREATE TABLE half_done (x INTEGER); SELECT * FROM no_such_table;")
    monkeypatch.setattr(schema, "available", lambda: [*real[:4], bad])
    with pytest.raises(duckdb.Error), connect(db_path):
        pass
    assert _copies(db_path) == [] and _version(db_path) == 4
    monkeypatch.setattr(schema, "available", lambda: [*real[:5], dataclasses.replace(bad, version=6)])
    with pytest.raises(duckdb.Error), connect(db_path):
        pass
    assert _copies(db_path) == [f"{db_path.name}.schema-4.bak"] and _version(db_path) == 5
    assert _version(Path(f"{db_path}.schema-4.bak")) == 4
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"usagectl: warning: the upgrade of {db_path} stopped at schema 5 of 6 (each step is whole): the next "
        f"command goes on from there; the copy as it was before the upgrade is {db_path}.schema-4.bak"
    )


def _denied_writing(monkeypatch: pytest.MonkeyPatch) -> None:
    """DuckDB refuses to open a file for writing as it does a file of mode 0444 (root ignores modes)."""
    from usagectl.store import engine

    real = engine.connect

    def connect(database: str, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        if not read_only:
            raise duckdb.IOException(f'IO Error: Cannot open file "{database}": Permission denied')
        return real(database, read_only=read_only)

    monkeypatch.setattr(engine, "connect", connect)


def _needs_write_access(db: Path, denied: str) -> str:
    return (
        f"usagectl: error: database {db} has schema 4; this usagectl needs {schema.latest_version()}: "
        f"upgrading it needs write access to the file and its folder ({denied}: Permission denied); "
        "it was left unchanged\nhint: run any usagectl command once as a user who can write the file and its folder"
    )


def test_a_read_only_database_that_needs_an_upgrade_says_so(
    db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """QA: a schema-4 file of mode 0444 (it reads fine) made ``report``, ``db status`` and
    ``import`` say "cannot be opened: … Permission denied"; the upgrade was not named. A folder
    of mode 0555 made a report say "this command's changes were not stored". Now each says the
    upgrade needs write access (exit 3), and leaves the file as it was. An up-to-date database
    that cannot be written still reads, and a write keeps its own error."""
    _database_at_4(db_path, monkeypatch)
    image = db_path.read_bytes()
    events = tmp_path / "e.jsonl"
    events.write_text('{"event_id": "e1", "ts": "2026-11-20T10:00:00Z", "model": "gpt-4o", "input_tokens": 1}\n')
    with monkeypatch.context() as patch:
        _denied_writing(patch)
        for args in (_REPORT, ("db", "status"), ("import", str(events))):
            result = run(*args, "--db", str(db_path), expect=3)
            assert _needs_write_access(db_path, str(db_path)) in result.stderr, args
            assert result.stdout == ""
    assert db_path.read_bytes() == image and _copies(db_path) == []
    # a folder that cannot be written: the file opens, the copy beside it cannot be made
    copy = f"{db_path}.schema-4.bak"

    def denied(path: Path, version: int) -> tuple[Path, int]:
        raise PermissionError(errno.EACCES, "Permission denied", copy)

    with monkeypatch.context() as patch:
        patch.setattr(schema, "_claim_copy_name", denied)
        result = run(*_REPORT, "--db", str(db_path), expect=3)
    assert _needs_write_access(db_path, copy) in result.stderr
    assert db_path.read_bytes() == image and _version(db_path) == 4
    run("db", "status", "--db", str(db_path))  # upgraded now
    with monkeypatch.context() as patch:
        _denied_writing(patch)
        assert json.loads(run(*_REPORT, "--db", str(db_path)).stdout)["rows"]
        result = run("import", str(events), "--db", str(db_path), expect=3)
        assert f"database {db_path} cannot be opened: IO Error: Cannot open file" in result.stderr


def _without_root_powers() -> list[str]:
    """The command prefix that makes file modes count for this process: none for a user; for
    root, ``setpriv`` dropping the capabilities that override them (skip without it)."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: file modes cannot be made to count")
    prefix = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"]
    probe = subprocess.run([*prefix, "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"setpriv cannot drop capabilities here: {probe.stderr.decode(errors='replace').strip()}")
    return prefix


@pytest.mark.parametrize("read_only", ["file", "folder"])
def test_a_read_only_database_that_needs_an_upgrade_says_so_with_real_modes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, read_only: str
) -> None:
    """The same as the QA's repro: a file of mode 0444, or its folder of mode 0555, opened by
    the command line in a process that file modes bind (root drops its capabilities)."""
    prefix = _without_root_powers()
    folder = tmp_path / "data"
    folder.mkdir()
    db = folder / "u.duckdb"
    _database_at_4(db, monkeypatch)
    image = db.read_bytes()
    (db if read_only == "file" else folder).chmod(0o444 if read_only == "file" else 0o555)
    try:
        result = subprocess.run(
            [*prefix, sys.executable, "-m", "usagectl", *_REPORT, "--db", str(db)],
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        folder.chmod(0o755)
    assert result.returncode == 3, result.stderr
    denied = str(db) if read_only == "file" else f"{db}.schema-4.bak"
    assert _needs_write_access(db, denied) in result.stderr
    assert result.stdout == "" and db.read_bytes() == image and _copies(db) == []
