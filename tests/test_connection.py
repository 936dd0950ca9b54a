"""Opening and closing the database: the early open of an import, the deferred close of a
command, and what each leaves behind when something fails."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import duckdb
import pytest

from tests.helpers import lock_held, run, write_jsonl
from usagectl.errors import DatabaseBusyError, DatabaseError, InputError
from usagectl.store import closing
from usagectl.store.closing import deferred_closes
from usagectl.store.connection import connect, connect_early


def _rows(db: Path) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT * FROM t ORDER BY 1").fetchall()
    finally:
        con.close()


def test_readers_and_checkpointed_writers_close_in_the_background_only_inside_deferred_closes(tmp_path: Path) -> None:
    db = tmp_path / "u.duckdb"
    with deferred_closes():
        with connect(db) as con:
            con.execute("CREATE TABLE t AS SELECT 1 AS a")
            con.execute("CHECKPOINT")  # nothing left in the WAL: the close only gives memory back
        assert list(closing._closing) == [str(db)]  # deferred
        with connect(db) as con:  # the next open of the file waits for it
            assert not closing._closing
            con.execute("INSERT INTO t VALUES (2)")  # left in the WAL: closed at once (it checkpoints)
        assert not closing._closing
        with connect(db, read_only=True) as con:
            assert con.execute("SELECT count(*) FROM t").fetchone() == (2,)
        assert list(closing._closing) == [str(db)]  # a reader has nothing to write: deferred too
        with connect(db) as con:  # a writer waits for the reader's close
            con.execute("CHECKPOINT")
        assert closing._closing
    assert not closing._closing  # all closed when the block ends
    assert _rows(db) == [(1,), (2,)]
    with connect(db) as con:  # outside the block: always closed at once
        con.execute("CHECKPOINT")
    assert not closing._closing
    assert _rows(db) == [(1,), (2,)]


def test_connect_early_gives_the_connection_and_closes_it(tmp_path: Path) -> None:
    db = tmp_path / "u.duckdb"
    with connect_early(db) as opened:
        con = opened()
        assert con is opened()  # the same connection each time
        con.execute("CREATE TABLE t AS SELECT 7 AS a")
    assert _rows(db) == [(7,)]


def test_a_block_that_fails_before_opening_leaves_no_new_database(tmp_path: Path) -> None:
    db = tmp_path / "new.duckdb"
    with pytest.raises(InputError, match="nothing here"), connect_early(db):
        raise InputError("nothing here")
    assert not db.exists()
    assert not Path(str(db) + ".wal").exists()
    # nor the folders it created for it
    deep = tmp_path / "a" / "b" / "new.duckdb"
    with pytest.raises(InputError), connect_early(deep):
        raise InputError("nothing here")
    assert not (tmp_path / "a").exists()
    # but a folder that was there stays
    (tmp_path / "kept").mkdir()
    with pytest.raises(InputError), connect_early(tmp_path / "kept" / "c" / "new.duckdb"):
        raise InputError("nothing here")
    assert (tmp_path / "kept").is_dir()
    assert not (tmp_path / "kept" / "c").exists()


def test_a_block_that_fails_keeps_a_database_that_was_there(tmp_path: Path) -> None:
    db = tmp_path / "u.duckdb"
    with connect(db) as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS a")
    with pytest.raises(InputError), connect_early(db):
        raise InputError("bad argument")
    assert _rows(db) == [(1,)]
    # and a block that failed after opening keeps the new database it opened (as connect does)
    other = tmp_path / "other.duckdb"
    with pytest.raises(InputError), connect_early(other) as opened:
        opened().execute("CREATE TABLE t AS SELECT 2 AS a")
        raise InputError("later")
    assert _rows(other) == [(2,)]


def test_an_error_opening_is_raised_even_when_the_block_never_asked(tmp_path: Path) -> None:
    db = tmp_path / "u.duckdb"
    with connect(db):
        pass
    with lock_held(db, tmp_path):
        with pytest.raises(DatabaseBusyError, match="busy"), connect_early(db) as opened:
            opened()
        with pytest.raises(DatabaseBusyError, match="busy"), connect_early(db):
            pass
        # the block's own error wins over the opening's
        with pytest.raises(InputError, match="mine"), connect_early(db):
            raise InputError("mine")
    assert db.exists()  # it was there before: never removed


def test_import_of_a_missing_path_leaves_no_database(tmp_path: Path) -> None:
    db = tmp_path / "fresh.duckdb"
    result = run("import", str(tmp_path / "missing"), "--db", str(db), expect=4)
    assert "no such file or directory" in result.stderr
    assert not db.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run("import", str(empty), "--db", str(db), expect=4)
    assert "no importable files" in result.stderr
    assert not db.exists()


class _FailingClose:
    def close(self) -> None:
        raise RuntimeError("disk went away")


def test_a_failed_background_close_is_an_error_when_the_block_ends(tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    with pytest.raises(DatabaseError, match="could not be closed: disk went away"), deferred_closes():
        closing.close_when_done(_FailingClose(), db, read_only=False)  # type: ignore[arg-type]
        assert closing._closing  # deferred
    assert not closing._closing and not closing._close_errors
    # the block's own error is the one that matters
    with pytest.raises(InputError, match="mine"), deferred_closes():
        closing.close_when_done(_FailingClose(), db, read_only=False)  # type: ignore[arg-type]
        raise InputError("mine")
    assert not closing._closing and not closing._close_errors


def test_a_sqlite_file_is_named_as_such_and_nothing_is_downloaded(tmp_path: Path) -> None:
    """DuckDB would fetch its sqlite extension from the internet to open this file; usagectl
    never lets it install or load an extension, and says what the file is (exit 3)."""
    import sqlite3

    db = tmp_path / "other.db"
    lite = sqlite3.connect(db)
    lite.execute("CREATE TABLE t (x)")
    lite.commit()
    lite.close()
    before = db.read_bytes()
    for read_only in (True, False):
        with pytest.raises(DatabaseError, match=r"not a DuckDB database \(it looks like a SQLite database\)"):
            with connect(db, read_only=read_only):
                pass
    result = run("report", "month", "--db", str(db), expect=3)
    assert f"{db} is not a DuckDB database (it looks like a SQLite database)" in result.stderr
    assert "download" not in result.stderr.lower()
    assert db.read_bytes() == before  # left as it was


@pytest.mark.parametrize(
    ("name", "content", "what"),
    [
        ("usage.jsonl", b'{"event_id": "a", "ts": "2025-11-03T10:00:00Z", "input_tokens": 1}\n', "a text file"),
        ("usage.csv", b"event_id,ts,input_tokens\na,2025-11-03T10:00:00Z,1\n", "a text file"),
        ("usage.parquet", None, "a Parquet file"),
        ("usage.jsonl.gz", None, "a gzip file"),
    ],
)
def test_a_data_file_given_as_the_database_is_refused_and_left_alone(
    tmp_path: Path, name: str, content: bytes | None, what: str
) -> None:
    """DuckDB opens a CSV, JSON or Parquet file as an in-memory database: an import into it
    said its events were imported and kept none (``--db`` given the file meant for import)."""
    import gzip

    import duckdb

    db = tmp_path / name
    if name.endswith(".parquet"):
        duckdb.sql(f"COPY (SELECT 'a' AS event_id) TO '{db}' (FORMAT parquet)")
    elif name.endswith(".gz"):
        db.write_bytes(gzip.compress(b'{"event_id": "a"}\n'))
    else:
        assert content is not None
        db.write_bytes(content)
    before = db.read_bytes()
    src = write_jsonl(tmp_path / "new.jsonl", [{"event_id": "n", "ts": "2025-11-03T10:00:00Z", "input_tokens": 5}])
    result = run("import", str(src), "--db", str(db), expect=3)
    assert f"{db} is not a DuckDB database (it looks like {what}" in result.stderr
    assert "Imported" not in result.stdout
    run("report", "month", "--db", str(db), expect=3)
    assert db.read_bytes() == before


@pytest.mark.parametrize(
    ("name", "content", "what"),
    [
        # what `export --pdf` writes: "%PDF-" then a comment of high bytes (no NUL in sight)
        ("report.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\n", "a PDF file"),
        # a PNG: \x1a and \x00 are control bytes, no text holds them
        ("img.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary data"),
        # bytes 0..255 without NUL (as `tr -d '\000'` leaves random data): \x01-\x08 are controls
        ("random.bin", bytes(range(1, 256)), "binary data"),
        # text up to byte 20, then a NUL past the 16 bytes the old check read
        ("late-nul.bin", b"event_id,ts,input_tok\x00\x00\x00\x00", "binary data"),
        # Latin-1 text and an ANSI-coloured log line hold no such byte: still text
        ("latin1.csv", b"event_id,member\na,Jos\xe9\n", "a text file: CSV, JSON or JSONL"),
        ("color.log", b'\x1b[32m{"event_id": "a"}\x1b[0m\r\n\tnext\x0c\n', "a text file: CSV, JSON or JSONL"),
    ],
)
def test_a_binary_file_given_as_the_database_is_not_called_text(
    tmp_path: Path, name: str, content: bytes, what: str
) -> None:
    """A PDF and random bytes were "a text file: CSV, JSON or JSONL" (QA): only a NUL in the
    first 16 bytes made a file binary. A control byte other than tab, line breaks, form feed and
    ESC makes it binary data; a PDF is named by its "%PDF-" magic. Exit 3, the file unchanged."""
    db = tmp_path / name
    db.write_bytes(content)
    result = run("report", "month", "--db", str(db), expect=3)
    assert result.stderr.startswith(f"usagectl: error: {db} is not a DuckDB database (it looks like {what})\n")
    assert db.read_bytes() == content


def test_every_connection_has_extension_autoloading_off(tmp_path: Path) -> None:
    from usagectl.store.engine import connect as engine_connect

    settings = "SELECT current_setting('autoinstall_known_extensions'), current_setting('autoload_known_extensions')"
    with connect(tmp_path / "u.duckdb") as con:
        assert con.execute(settings).fetchone() == (False, False)
    mem = engine_connect(":memory:")
    try:
        assert mem.execute(settings).fetchone() == (False, False)
        # what usagectl uses is built in: JSON functions and Parquet need no extension loaded
        assert mem.execute("SELECT json_extract_string('{\"a\": \"b\"}', '$.a')").fetchone() == ("b",)
        mem.execute(f"COPY (SELECT 1 AS a) TO '{tmp_path / 'one.parquet'}' (FORMAT parquet)")
        assert mem.execute(f"SELECT a FROM read_parquet('{tmp_path / 'one.parquet'}')").fetchone() == (1,)
    finally:
        mem.close()


def test_a_reading_command_refuses_a_named_database_that_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A typo in --db / USAGECTL_DB must not become a new empty database whose zeros pass (a CI
    ``budget status --fail-on critical`` would succeed); the default path is still created."""
    typo = tmp_path / "no" / "such" / "usage.duckdb"
    message = f"no database at {typo} (import or sync first, or check --db / USAGECTL_DB)"
    with pytest.raises(InputError, match="no database at"), connect(typo, read_only=True):
        pass
    for args in (("report", "month"), ("status",), ("db", "rejects"), ("source", "list")):
        result = run(*args, "--db", str(typo), expect=4)
        assert message in result.stderr
    config = tmp_path / "budgets.toml"
    config.write_text('[[budgets]]\nscope = "global"\namount = 1\nperiod = "month"\n')
    monkeypatch.setenv("USAGECTL_DB", str(typo))
    result = run("budget", "status", "--fail-on", "critical", "--config", str(config), expect=4)
    assert message in result.stderr
    assert not (tmp_path / "no").exists()  # nothing created, not even the folders
    # a payment needs usage to pay for: refused too; an import creates the database
    assert message in run("payment", "add", "2026-11-01", "10", expect=4).stderr
    assert not (tmp_path / "no").exists()
    events = tmp_path / "e.jsonl"
    events.write_text('{"event_id": "a", "ts": "2026-11-01T10:00:00Z", "model_raw": "gpt-4o"}\n')
    run("import", str(events), expect=0)
    assert typo.exists()
    run("report", "month", expect=0)


def test_a_reading_command_creates_the_default_database(tmp_path: Path) -> None:
    from usagectl.config import default_db_path

    assert not default_db_path().exists()  # the autouse fixture points it into tmp_path
    run("report", "month", expect=0)
    assert default_db_path().exists()


# A reader in another process, as a live dashboard is one: it opens the database read-only,
# says "held", keeps it until a line arrives on its stdin, and closes it.
_READER = (
    "import duckdb, sys\n"
    "con = duckdb.connect(sys.argv[1], read_only=True)\n"
    "print('held', flush=True)\n"
    "sys.stdin.readline()\n"
    "con.close()\n"
)


def test_a_writer_waits_for_a_reader_to_let_go(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """QA: `import` beside a live dashboard failed "database busy" (exit 3) whenever it met the
    dashboard's short read. DuckDB refuses a writer at once while a reader holds the file; the
    writer now tries again for a few seconds. Deterministic: the reader holds the file when the
    import first tries (it said "held"), and is let go only after that refusal, by the test."""
    import subprocess
    import sys

    import usagectl.store.engine as engine

    db = tmp_path / "u.duckdb"
    run("import", str(write_jsonl(tmp_path / "a.jsonl", [_event("W1")])), "--db", str(db))
    reader = subprocess.Popen([sys.executable, "-c", _READER, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    refused: list[str] = []
    real = engine.connect

    def connect_once_refused(database: str, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        try:
            return real(database, read_only=read_only)
        except duckdb.Error as exc:
            refused.append(str(exc))
            if reader.stdin is not None and not reader.stdin.closed:
                reader.stdin.close()  # the reader closes its connection and ends
            raise

    monkeypatch.setattr(engine, "connect", connect_once_refused)
    try:
        assert reader.stdout is not None and reader.stdout.readline().strip() == b"held"
        run("import", str(write_jsonl(tmp_path / "b.jsonl", [_event("W2")])), "--db", str(db))
    finally:
        if reader.stdin is not None and not reader.stdin.closed:
            reader.stdin.close()
        reader.wait()
    assert refused and "read-only mode" in refused[0]  # the first opening met the reader
    assert _events(db) == ["W1", "W2"]


def test_a_writer_held_by_readers_past_the_wait_is_busy_naming_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader that keeps the file longer than the wait (here 0 s): exit 3, the message says a
    process is reading it and for how long the import waited."""
    import subprocess
    import sys

    import usagectl.store.connection as conn

    monkeypatch.setattr(conn, "READER_WAIT_SECONDS", 0.0)
    db = tmp_path / "u.duckdb"
    run("import", str(write_jsonl(tmp_path / "a.jsonl", [_event("W1")])), "--db", str(db))
    reader = subprocess.Popen([sys.executable, "-c", _READER, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert reader.stdout is not None and reader.stdout.readline().strip() == b"held"
        res = run("import", str(write_jsonl(tmp_path / "b.jsonl", [_event("W2")])), "--db", str(db), expect=3)
    finally:
        assert reader.stdin is not None
        reader.stdin.close()
        reader.wait()
    assert (
        "another process is reading it (held by" in res.stderr and f"PID {reader.pid}), still after 0 s" in res.stderr
    )
    assert _events(db) == ["W1"]


# A dashboard's refresh, over and over: open read-only, read the change token, keep the file
# 30 ms more, close, pause 10 ms (a dashboard keeps it milliseconds and pauses 2 s): the file is
# held about three quarters of the time. Until the stop file appears, or 3,000 rounds at most.
_DASHBOARD_LIKE = (
    "import duckdb, os, sys, time\n"
    "db, stop = sys.argv[1], sys.argv[2]\n"
    "for i in range(3000):\n"
    "    if os.path.exists(stop):\n"
    "        break\n"
    "    try:\n"
    "        con = duckdb.connect(db, read_only=True)\n"
    "    except duckdb.Error:\n"
    "        time.sleep(0.01)\n"  # the import holds it: as the dashboard, try at the next round
    "        continue\n"
    "    con.execute('SELECT max(batch_id), count(*) FROM import_batches').fetchall()\n"
    "    if i == 0:\n"
    "        print('reading', flush=True)\n"
    "    time.sleep(0.03)\n"
    "    con.close()\n"
    "    time.sleep(0.01)\n"
)


def test_imports_succeed_beside_a_reader_opening_and_closing_in_a_loop(tmp_path: Path) -> None:
    """The QA scene: a dashboard-like reader opens and closes the database in a loop (far more
    often than a dashboard does) while three imports run; every one of them succeeds (before,
    each met the reader three times in four and failed, exit 3). No timing is asserted: each
    import has seconds, a try every 50 ms, to find one of the reader's pauses."""
    import subprocess
    import sys

    db = tmp_path / "u.duckdb"
    run("import", str(write_jsonl(tmp_path / "a.jsonl", [_event("L0")])), "--db", str(db))
    stop = tmp_path / "stop"
    reader = subprocess.Popen([sys.executable, "-c", _DASHBOARD_LIKE, str(db), str(stop)], stdout=subprocess.PIPE)
    try:
        assert reader.stdout is not None and reader.stdout.readline().strip() == b"reading"
        for i in range(1, 4):
            run("import", str(write_jsonl(tmp_path / f"l{i}.jsonl", [_event(f"L{i}")])), "--db", str(db))
    finally:
        stop.write_text("x")
        reader.wait()
    assert _events(db) == ["L0", "L1", "L2", "L3"]


def _event(eid: str) -> dict[str, object]:
    return {"event_id": eid, "ts": "2026-11-20T06:30:00Z", "model_raw": "gpt-4o", "output_tokens": 10}


def _events(db: Path) -> list[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return [r[0] for r in con.execute("SELECT event_id FROM events ORDER BY event_id").fetchall()]
    finally:
        con.close()


def test_the_write_ahead_log_is_as_private_as_the_database(tmp_path: Path) -> None:
    """The WAL holds committed rows until the checkpoint (and for good after a kill): it was
    created 0644 under umask 022 beside a 0600 database (QA). Files the process creates after
    the writer closed get the umask it had again."""
    db = tmp_path / "u.duckdb"
    old = os.umask(0o022)
    try:
        with connect(db) as con:
            con.execute("CREATE TABLE secret (title VARCHAR)")
            con.execute("INSERT INTO secret VALUES ('Confidential merger plan')")
            wal = Path(f"{db}.wal")
            assert wal.exists()  # committed, not yet checkpointed
            assert stat.S_IMODE(wal.stat().st_mode) == 0o600
        assert stat.S_IMODE(db.stat().st_mode) == 0o600
        after = tmp_path / "after.txt"
        after.write_text("x")
        assert stat.S_IMODE(after.stat().st_mode) == 0o644
    finally:
        os.umask(old)
