"""A file that cannot be created or written is one clean error line with its documented exit
code, never "unexpected error … report it" (read-only file systems and full disks simulated)."""

from __future__ import annotations

import errno
import os
import resource
import shutil
import signal
import subprocess
import sys
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


# --- the output of a command (an --out file, standard output) that cannot be written: exit 2,
# named with the OS's reason, never the database, which an export or a report only reads

ROOT = Path(__file__).resolve().parents[1]
# 300 events in November 2026 (days 1-20): the Parquet file of their rows is ~9.5 KB, their CSV
# ~38 KB, a daily report's JSON ~16 KB, each far past LIMIT; nothing else these commands write
# (a read-only database) comes near it
NOVEMBER = [{"event_id": f"E{i}", "ts": f"2026-11-{1 + i % 20:02d}T10:{i % 60:02d}:00Z", "model_raw": "gpt-4o",
             "input_tokens": 1000 + i, "output_tokens": 7 * i} for i in range(300)]  # fmt: skip
LIMIT = 2000  # bytes: RLIMIT_FSIZE of the child (``ulimit -f``), so its writes past it fail with EFBIG
PAST_LIMIT = "the file grew past the file size limit of ulimit -f"
LIMIT_HINT = "hint: raise the limit (ulimit -f unlimited) and run the command again\n"
FULL_HINT = "hint: free some space on its disk (or write to another disk) and run the command again\n"


def _november_db(tmp_path: Path) -> Path:
    db = tmp_path / "u.duckdb"
    run("import", str(write_jsonl(tmp_path / "nov.jsonl", NOVEMBER)), "--db", str(db))
    return db


def _file_size_limit() -> None:  # in the child, before it runs usagectl
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG), no signal
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))


def _usagectl(*args: str, stdout: Any = subprocess.DEVNULL, limited: bool = False, **env: str) -> Any:
    """The real entry point in a child process (``main`` puts its guard under stdout)."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "usagectl", *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | {"PYTHONPATH": path, **env},
        preexec_fn=_file_size_limit if limited else None,
        timeout=120,
    )


@pytest.mark.parametrize(
    "args",
    [
        ("--parquet",),  # events: DuckDB's COPY writes the file (its error was taken for the database's)
        ("--parquet", "--report", "daily"),  # a report's rows: a COPY of a table in memory
        ("--focus",),  # FOCUS rows to Parquet, the same way
    ],
)
def test_a_parquet_out_past_a_file_size_limit_is_exit_2_naming_it_not_the_database(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    db = _november_db(tmp_path)
    before = db.read_bytes()
    out = tmp_path / "x.parquet"
    result = _usagectl("export", *args, "--out", str(out), "--db", str(db), limited=True)
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        f"usagectl: error: --out {out} cannot be written: {PAST_LIMIT} (in {tmp_path})\n" + LIMIT_HINT
    )
    assert not out.exists() and not (tmp_path / ".x.parquet.part").exists()  # nothing half-written
    assert db.read_bytes() == before


def test_a_partitioned_parquet_out_past_a_file_size_limit_is_exit_2_and_leaves_no_folder(tmp_path: Path) -> None:
    db = _november_db(tmp_path)
    out = tmp_path / "parts"
    result = _usagectl(
        "export", "--parquet", "--partition-by", "month", "--out", str(out), "--db", str(db), limited=True
    )
    assert result.returncode == 2, result.stderr
    # every event is in 2026-11 (UTC): one part, the one that failed
    part = out / "month=2026-11" / "data_0.parquet"
    assert (
        result.stderr == f"usagectl: error: --out {out} cannot be written: {PAST_LIMIT}, writing {part}\n" + LIMIT_HINT
    )
    assert not out.exists()


@pytest.mark.parametrize("to_file", [True, False])
def test_a_text_export_past_a_file_size_limit_names_its_output_and_the_temporary_folder(
    tmp_path: Path, to_file: bool
) -> None:
    """DuckDB writes the sorted rows to a run file in TMPDIR first (~38 KB here), which meets the
    limit before the output does: the output and that folder are named, not the database."""
    db = _november_db(tmp_path)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    out = tmp_path / "x.csv"
    where = ["--out", str(out)] if to_file else []
    result = _usagectl("export", "--csv", *where, "--db", str(db), limited=True, TMPDIR=str(tmp))
    assert result.returncode == 2, result.stderr
    target = f"--out {out}" if to_file else "the export to standard output"
    assert result.stderr == (
        f"usagectl: error: {target} cannot be written: {PAST_LIMIT}, writing its rows first to a temporary "
        f"file in {tmp}\n" + LIMIT_HINT
    )
    assert not out.exists() and list(tmp.iterdir()) == []  # the private run folder is removed


@pytest.mark.parametrize(
    "command",
    [
        ("report", "daily", "--json"),  # a short output: it fails at the flush before exit
        ("report", "daily"),  # a table
        ("export", "--csv"),  # events streamed from DuckDB's files through stdout's buffer
        ("export", "--json"),
        ("export", "--csv", "--report", "by-model"),
    ],
)
def test_a_full_stdout_is_exit_2_cannot_write_standard_output(tmp_path: Path, command: tuple[str, ...]) -> None:
    db = _november_db(tmp_path)
    with open("/dev/full", "w") as full:  # every write to it fails with ENOSPC
        result = _usagectl(*command, "--since", "2026-11-01", "--until", "2026-11-30", "--db", str(db), stdout=full)
    assert result.returncode == 2, result.stderr
    # said once (the flush at exit does not fail a second time), never "unexpected error … report it"
    assert result.stderr == "usagectl: error: cannot write standard output: No space left on device\n" + FULL_HINT


def test_stdout_past_a_file_size_limit_is_exit_2_cannot_write_standard_output(tmp_path: Path) -> None:
    db = _november_db(tmp_path)
    with (tmp_path / "daily.json").open("w") as fh:  # ~16 KB of JSON, LIMIT is 2,000 bytes
        result = _usagectl(
            "report", "daily", "--json", "--since", "2026-11-01", "--until", "2026-11-30", "--db", str(db),
            stdout=fh, limited=True,
        )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert result.stderr == f"usagectl: error: cannot write standard output: {PAST_LIMIT}\n" + LIMIT_HINT


@pytest.mark.parametrize("args", [("--help",), ("--version",), ("report", "--help")])
def test_help_to_a_full_stdout_unbuffered_is_exit_2(args: tuple[str, ...]) -> None:
    """QA: with PYTHONUNBUFFERED=1, ``--help > /dev/full`` exited 0 and said nothing: Click
    probes stdout with an empty write, which /dev/full refuses too, and swallows the error; every
    later write was then dropped. An empty write writes nothing and cannot fail."""
    with open("/dev/full", "w") as full:
        result = _usagectl(*args, stdout=full, PYTHONUNBUFFERED="1")
    assert result.returncode == 2, result.stderr
    assert result.stderr == "usagectl: error: cannot write standard output: No space left on device\n" + FULL_HINT


@pytest.mark.parametrize("fmt", ["--csv", "--jsonl", "--parquet"])
def test_an_export_with_a_temporary_folder_whose_name_is_not_utf8_is_a_usage_error(tmp_path: Path, fmt: str) -> None:
    """QA: with TMPDIR named in Latin-1 every events export was "unexpected error:
    InvalidInputException … surrogate" (exit 1): DuckDB spills to, and writes the sorted runs in,
    that folder and takes only UTF-8 names. Now exit 2 naming the folder (its byte as \\xe9)."""
    db = _november_db(tmp_path)
    tmp = os.fsencode(tmp_path) + b"/tmp\xe9"
    os.mkdir(tmp)
    out = ["--out", str(tmp_path / "x.parquet")] if fmt == "--parquet" else []
    result = _usagectl("export", fmt, *out, "--db", str(db), TMPDIR=os.fsdecode(tmp))
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        f"usagectl: error: the temporary folder {tmp_path}/tmp\\xe9 (TMPDIR) has a name that is not UTF-8, and "
        "DuckDB writes an export's temporary files only under UTF-8 names\n"
        "hint: set TMPDIR to a folder whose name is UTF-8, e.g. TMPDIR=/tmp\n"
    )
