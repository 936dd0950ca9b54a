"""A file that cannot be created or written is one clean error line with its documented exit
code, never "unexpected error … report it" (read-only file systems and full disks simulated)."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.helpers import query, run, write_jsonl
from usagectl.store import engine, ingest, run_lock

CC_DATA = Path(__file__).parent / "data" / "claude-code" / "projects"
EVENT = {"event_id": "w1", "ts": "2026-10-31T18:00:00Z", "model": "gpt-4o", "input_tokens": 1000000}


def _erofs(path: object) -> OSError:
    return OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))


def _one_event_db(tmp_path: Path, db: Path) -> None:
    run("import", str(write_jsonl(tmp_path / "one.jsonl", [EVENT])), "--db", str(db))


def test_a_database_under_a_regular_file_is_exit_3(tmp_path: Path) -> None:
    events = write_jsonl(tmp_path / "one.jsonl", [EVENT])
    result = run("import", str(events), "--db", str(events / "x.duckdb"), expect=3)
    assert f"usagectl: error: database {events / 'x.duckdb'} cannot be created: {events} is a file, not a folder" in (
        result.stderr
    )
    assert "unexpected" not in result.stderr


def test_the_default_database_under_an_unusable_home_is_exit_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home-file"
    home.write_text("", encoding="utf-8")  # HOME is a regular file: ~/.local cannot be made
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    result = run("status", expect=3)
    assert "cannot be created: a part of " in result.stderr and "is a file, not a folder" in result.stderr
    assert "unexpected" not in result.stderr


def test_a_database_folder_on_a_read_only_file_system_is_exit_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def mkdir(self: Path, *args: Any, **kwargs: Any) -> None:
        raise _erofs(self)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    db = tmp_path / "sub" / "new.duckdb"
    result = run("import", str(write_jsonl(tmp_path / "one.jsonl", [EVENT])), "--db", str(db), expect=3)
    assert f"database {db} cannot be created: {db.parent}: Read-only file system" in result.stderr


def test_a_config_that_cannot_be_written_is_exit_2_and_left_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("# mine\n", encoding="utf-8")

    def mkstemp(*args: Any, dir: Any = None, **kwargs: Any) -> Any:
        raise _erofs(Path(dir) / ".c.toml.x.tmp")

    monkeypatch.setattr("usagectl.services.budget_config.tempfile.mkstemp", mkstemp)
    result = run("budget", "set", "global", "50", "--config", str(cfg), "--db", str(tmp_path / "u.duckdb"), expect=2)
    assert f"usagectl: error: config {cfg} cannot be written: " in result.stderr
    assert "Read-only file system" in result.stderr
    assert cfg.read_text(encoding="utf-8") == "# mine\n"


def test_an_export_out_that_cannot_be_written_is_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "u.duckdb"
    _one_event_db(tmp_path, db)
    real_open, real_unlink = Path.open, Path.unlink

    def open_(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self.name.endswith(".part"):
            raise _erofs(self)
        return real_open(self, *args, **kwargs)

    def unlink(self: Path, missing_ok: bool = False) -> None:
        if self.name.endswith(".part"):  # a read-only mount refuses even removing a missing file
            raise _erofs(self)
        real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "open", open_)
    monkeypatch.setattr(Path, "unlink", unlink)
    out = tmp_path / "x.csv"
    result = run("export", "--csv", "-o", str(out), "--db", str(db), expect=2)
    # named as given, with the folder that refused it (not the hidden .part file beside it)
    assert f"usagectl: error: --out {out} cannot be written: Read-only file system (in {tmp_path})" in result.stderr
    assert not out.exists()


def test_a_notify_lock_that_cannot_be_created_is_exit_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "u.duckdb"
    _one_event_db(tmp_path, db)
    real_open = os.open

    def open_(path: Any, *args: Any, **kwargs: Any) -> int:
        if str(path).endswith(".lock"):
            raise _erofs(path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(run_lock.os, "open", open_)
    cfg = tmp_path / "wh.toml"
    cfg.write_text(
        '[[webhooks]]\nurl = "http://127.0.0.1:9/x"\nevents = ["budget.threshold"]\nsecret_env = "NOPE"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("NOPE", "x")
    result = run("notify", "--db", str(db), "--config", str(cfg), expect=3)
    lock = f"{db}.notify.lock"
    assert f"usagectl: error: the usagectl notify lock file {lock} cannot be created: {lock}: Read-only" in (
        result.stderr
    )


def test_a_full_disk_during_import_is_exit_3_and_keeps_what_was_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "u.duckdb"
    _one_event_db(tmp_path, db)

    def full(*args: Any, **kwargs: Any) -> Any:  # what DuckDB raised on a full 2.6 MB tmpfs
        raise duckdb.FatalException("FATAL Error: Failed to create checkpoint: No space left on device")

    monkeypatch.setattr(ingest, "import_staged", full)
    more = write_jsonl(tmp_path / "more.jsonl", [{**EVENT, "event_id": "w2"}])
    result = run("import", str(more), "--db", str(db), expect=3)
    assert f"usagectl: error: database {db}: no space left on device" in result.stderr
    assert "unexpected" not in result.stderr
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT list(event_id) FROM events").fetchone() == (["w1"],)
    finally:
        con.close()


class _FullDiskAtCommit:
    """A DuckDB connection whose COMMIT of a transaction that ran a statement containing
    ``trigger`` fails the way it does when the write-ahead log hits a full disk: DuckDB has
    ended the transaction already (a ROLLBACK after it raises "no transaction is active"),
    then raises the IOException."""

    def __init__(self, con: duckdb.DuckDBPyConnection, trigger: str) -> None:
        self._con, self._trigger, self._armed = con, trigger, False

    def execute(self, sql: str, *args: Any) -> Any:
        if sql.startswith("BEGIN"):
            self._armed = False
        self._armed = self._armed or self._trigger in sql
        if sql == "COMMIT" and self._armed:
            self._con.execute("ROLLBACK")
            raise duckdb.IOException(
                'IO Error: Failed to commit: Could not write file "x.duckdb.wal": No space left on device'
            )
        self._con.execute(sql, *args)
        return self

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def _full_disk_at_commit_of(monkeypatch: pytest.MonkeyPatch, trigger: str) -> None:
    real = engine.connect

    def connect(database: str, *, read_only: bool = False) -> Any:
        return _FullDiskAtCommit(real(database, read_only=read_only), trigger)

    monkeypatch.setattr(engine, "connect", connect)


def _no_space(result: Any, db: Path) -> None:
    assert f"usagectl: error: database {db}: no space left on device" in result.stderr
    assert "hint: free some space" in result.stderr
    assert "unexpected" not in result.stderr and "cannot rollback" not in result.stderr


def test_a_full_disk_at_the_commit_of_a_first_sync_s_file_states_is_exit_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "projects"
    shutil.copytree(CC_DATA, root)  # a Claude Code tree: its first sync imports many files at once
    db = tmp_path / "u.duckdb"
    run("source", "add", str(root), "--name", "cc", "--db", str(db))
    with monkeypatch.context() as patch:  # its second transaction: the files' states (record_files)
        _full_disk_at_commit_of(patch, "INSERT OR REPLACE INTO source_files")
        _no_space(run("sync", "--db", str(db), expect=3), db)
    # the import's own transaction was committed: session 2222 and its sub-agent, whose lines
    # end with a newline (session 1111's last line is unfinished: read later, file by file).
    # tests/data/claude-code/EXPECTED.md: A1, A2, A4, G1 in 2222 and B1 in the agent = 5 events
    assert query(db, "SELECT count(*) FROM events") == [(5,)]
    assert query(db, "SELECT count(*) FROM source_files") == [(0,)]
    # the next sync reads them again without counting them twice, and adds A3 and the null-id
    # event of session 1111: the 7 events of EXPECTED.md
    run("sync", "--db", str(db))
    assert query(db, "SELECT count(*), count(DISTINCT event_id) FROM events") == [(7, 7)]
    assert query(db, "SELECT count(*) FROM source_files") == [(3,)]


def test_a_full_disk_at_the_commit_of_source_rm_is_exit_3_and_keeps_the_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    write_jsonl(logs / "a.jsonl", [EVENT])
    db = tmp_path / "u.duckdb"
    run("source", "add", str(logs), "--name", "mine", "--db", str(db))
    run("sync", "--db", str(db))
    with monkeypatch.context() as patch:
        _full_disk_at_commit_of(patch, "DELETE FROM source_files")
        _no_space(run("source", "rm", "mine", "--db", str(db), expect=3), db)
    assert query(db, "SELECT name FROM sources") == [("mine",)]
    assert query(db, "SELECT count(*) FROM source_files") == [(1,)]


def test_a_full_disk_at_the_commit_of_a_migration_is_exit_3_and_leaves_no_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "u.duckdb"
    events = write_jsonl(tmp_path / "one.jsonl", [EVENT])
    with monkeypatch.context() as patch:
        _full_disk_at_commit_of(patch, "INSERT INTO schema_migrations")
        _no_space(run("import", str(events), "--db", str(db), expect=3), db)
    assert not db.exists() and not Path(f"{db}.wal").exists()  # the half-made database went again
    run("import", str(events), "--db", str(db))
    assert query(db, "SELECT list(event_id) FROM events") == [(["w1"],)]


def _full_disk_creating(monkeypatch: pytest.MonkeyPatch) -> None:
    """DuckDB's open on a full disk: it has created the file (empty), then cannot write it."""

    def connect(database: str, *, read_only: bool = False) -> Any:
        Path(database).touch()
        raise duckdb.IOException(f'IO Error: Could not write file "{database}": No space left on device')

    monkeypatch.setattr(engine, "connect", connect)


def test_a_full_disk_creating_a_database_is_exit_3_and_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "sub" / "u.duckdb"
    events = write_jsonl(tmp_path / "one.jsonl", [EVENT])
    with monkeypatch.context() as patch:
        _full_disk_creating(patch)
        _no_space(run("import", str(events), "--db", str(db), expect=3), db)
    # an empty file left there would be refused by every later command as not a DuckDB file
    assert not db.parent.exists()
    run("import", str(events), "--db", str(db))  # space freed: the next import creates it
    assert query(db, "SELECT list(event_id) FROM events") == [(["w1"],)]


def test_a_full_disk_opening_a_database_keeps_the_files_that_were_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "u.duckdb"
    _one_event_db(tmp_path, db)
    stray = tmp_path / "v.duckdb.wal"  # a WAL without its database (not ours to remove)
    stray.write_bytes(b"x")
    with monkeypatch.context() as patch:
        _full_disk_creating(patch)
        _no_space(run("sync", "--db", str(db), expect=3), db)
        events = str(tmp_path / "one.jsonl")
        _no_space(run("import", events, "--db", str(tmp_path / "v.duckdb"), expect=3), tmp_path / "v.duckdb")
    assert query(db, "SELECT list(event_id) FROM events") == [(["w1"],)]
    assert stray.read_bytes() == b"x"
