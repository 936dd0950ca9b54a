"""A file that cannot be created or written is one clean error line with its documented exit
code, never "unexpected error … report it" (read-only file systems and full disks simulated)."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.helpers import run, write_jsonl
from usagectl.store import ingest, run_lock

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
    assert f"usagectl: error: --out {out} cannot be written: {tmp_path / '.x.csv.part'}: Read-only file system" in (
        result.stderr
    )
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
