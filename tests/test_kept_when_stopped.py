"""A multi-file import or sync stopped half-way (a full disk, Ctrl-C) says exactly what it kept:
each file is its own transaction, so the files committed before the stop stay.

The stops are simulated (CI can neither fill a disk nor time a signal): the store's
``before_commit_hook`` raises what DuckDB raises at the Nth COMMIT (the file is then rolled
back), or the per-file import raises KeyboardInterrupt right after its COMMIT returned."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.helpers import run, write_jsonl
from usagectl.services import imports
from usagectl.store import ingest

NO_SPACE = 'Failed to commit: Could not write file "x.duckdb.wal": No space left on device'


def _events(prefix: str, n: int) -> list[dict[str, Any]]:
    return [{"event_id": f"{prefix}{i}", "ts": "2026-11-03T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 10}
            for i in range(n)]  # fmt: skip


def _files(folder: Path) -> list[Path]:
    """Three files of 3, 2 and 4 events (distinct ids), read in this order."""
    folder.mkdir(exist_ok=True)
    return [
        write_jsonl(folder / f"{i}.jsonl", _events(p, n)) for i, (p, n) in enumerate([("a", 3), ("b", 2), ("c", 4)])
    ]


def _count(db: Path, table: str) -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None
    return int(row[0])


def _fail_at_commit(monkeypatch: pytest.MonkeyPatch, n: int, exc: Exception) -> None:
    """The ``n``-th COMMIT (1-based) raises ``exc``, as DuckDB does; the file is rolled back."""
    commits: list[int] = []

    def hook(con: object) -> None:
        commits.append(1)
        if len(commits) == n:
            raise exc

    monkeypatch.setattr(ingest, "before_commit_hook", hook)


# ---------------------------------------------------------------- a full disk (finding 2)


def test_import_on_a_full_disk_says_which_files_were_kept(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fail_at_commit(monkeypatch, 3, duckdb.IOException(NO_SPACE))
    result = run("import", *map(str, _files(tmp_path / "in")), "--db", str(db_path), expect=3)
    # files 0 and 1 committed: 2 files, 3 + 2 = 5 events; file 2 (4 events) was rolled back
    assert result.stderr == (
        f"usagectl: error: database {db_path}: no space left on device; kept what was imported before it "
        "(2 files, 5 new events); the file being written when it stopped was not stored\n"
        "hint: free some space (or use --db on another disk) and run the command again\n"
    )
    assert _count(db_path, "events") == 5
    assert _count(db_path, "import_batches") == 2


def test_import_on_a_full_disk_that_kept_nothing_says_nothing_was_stored(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fail_at_commit(monkeypatch, 1, duckdb.IOException(NO_SPACE))
    result = run("import", *map(str, _files(tmp_path / "in")), "--db", str(db_path), expect=3)
    assert f"database {db_path}: no space left on device; this command's changes were not stored\n" in result.stderr
    assert _count(db_path, "events") == 0


def test_sync_on_a_full_disk_says_which_files_were_kept(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    logs = tmp_path / "logs"
    _files(logs)
    run("source", "add", str(logs), "--name", "mine", "--db", str(db_path))
    _fail_at_commit(monkeypatch, 3, duckdb.IOException(NO_SPACE))
    result = run("sync", "--db", str(db_path), expect=3)
    # 0.jsonl and 1.jsonl committed (3 + 2 events); 2.jsonl rolled back
    assert (
        "no space left on device; kept what was imported before it (2 files, 5 new events); "
        "the file being written when it stopped was not stored\n"
    ) in result.stderr
    assert _count(db_path, "events") == 5
    monkeypatch.setattr(ingest, "before_commit_hook", lambda con: None)
    run("sync", "--db", str(db_path))  # space again: the rest, nothing twice (3 + 2 + 4)
    assert _count(db_path, "events") == 9


# ---------------------------------------------------------------- Ctrl-C after a COMMIT (finding 4)


def test_import_interrupted_after_a_commit_counts_that_file(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = imports.import_file
    calls: list[Path] = []

    def interrupted_after_second_commit(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)  # committed
        calls.append(args[1])
        if len(calls) == 2:  # Ctrl-C before the import noted the second file
            raise KeyboardInterrupt
        return result

    monkeypatch.setattr(imports, "import_file", interrupted_after_second_commit)
    result = run("import", *map(str, _files(tmp_path / "in")), "--db", str(db_path), expect=130)
    # files 0 and 1 are stored (3 + 2 events); file 2 was never begun, so none was "being read"
    assert result.stderr == "usagectl: interrupted; kept what was imported before it (2 files, 5 new events)\n"
    assert _count(db_path, "events") == 5


def test_import_interrupted_in_a_file_says_it_was_not_imported(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fail_at_commit(monkeypatch, 3, RuntimeError("Query interrupted"))
    result = run("import", *map(str, _files(tmp_path / "in")), "--db", str(db_path), expect=130)
    # files 0 and 1 committed (3 + 2 events), file 2 rolled back
    assert result.stderr == (
        "usagectl: interrupted; kept what was imported before it (2 files, 5 new events); "
        "the file being read was not imported\n"
    )
    assert _count(db_path, "events") == 5


def test_import_interrupted_in_a_batched_group_names_the_files_being_read(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Claude Code tree is one transaction: after one canonical file, the group's 2 files
    are being read together when Ctrl-C comes."""
    project = tmp_path / "cc" / "projects" / "p"
    project.mkdir(parents=True)
    for name in ("s1", "s2"):
        line = {"type": "assistant", "sessionId": name, "timestamp": "2026-11-03T10:00:00Z", "requestId": f"r{name}",
                "message": {"id": f"m{name}", "model": "claude-sonnet-4-5", "usage": {"input_tokens": 5}}}  # fmt: skip
        (project / f"{name}.jsonl").write_text(json.dumps(line) + "\n", encoding="utf-8")
    canonical = write_jsonl(tmp_path / "one.jsonl", _events("a", 3))
    _fail_at_commit(monkeypatch, 2, RuntimeError("Query interrupted"))
    result = run("import", str(canonical), str(tmp_path / "cc" / "projects"), "--db", str(db_path), expect=130)
    # one.jsonl (3 events) committed; the tree's 2 files were rolled back together
    assert result.stderr == (
        "usagectl: interrupted; kept what was imported before it (1 file, 3 new events); "
        "the 2 files being read together were not imported\n"
    )


# ---------------------------------------------------------------- sync and Ctrl-C (finding 5)


def test_sync_interrupted_says_what_it_kept(tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    logs = tmp_path / "logs"
    _files(logs)
    run("source", "add", str(logs), "--name", "mine", "--db", str(db_path))
    _fail_at_commit(monkeypatch, 3, RuntimeError("Query interrupted"))
    result = run("sync", "--db", str(db_path), expect=130)
    # 0.jsonl and 1.jsonl committed (3 + 2 events); 2.jsonl rolled back
    assert result.stderr == (
        "usagectl: interrupted; kept what was imported before it (2 files, 5 new events); "
        "the next sync reads the rest\n"
    )
    assert _count(db_path, "events") == 5
    monkeypatch.setattr(ingest, "before_commit_hook", lambda con: None)
    run("sync", "--db", str(db_path))  # 3 + 2 + 4, nothing twice
    assert _count(db_path, "events") == 9


def test_sync_interrupted_before_any_commit_says_nothing_was_imported(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    logs = tmp_path / "logs"
    _files(logs)
    run("source", "add", str(logs), "--name", "mine", "--db", str(db_path))
    _fail_at_commit(monkeypatch, 1, RuntimeError("Query interrupted"))
    result = run("sync", "--db", str(db_path), expect=130)
    assert result.stderr == "usagectl: interrupted; nothing was imported; the next sync reads the rest\n"
    assert _count(db_path, "events") == 0


def test_a_database_that_cannot_answer_after_the_full_disk_counts_the_files_noted(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DuckDB can invalidate the database after a failed write: the files the import noted as
    committed are then what it says it kept (exact for a failure raised by the write itself)."""

    def invalidated(*args: object) -> None:
        raise duckdb.FatalException("FATAL Error: database has been invalidated")

    monkeypatch.setattr(ingest, "batches_after", invalidated)
    _fail_at_commit(monkeypatch, 3, duckdb.IOException(NO_SPACE))
    result = run("import", *map(str, _files(tmp_path / "in")), "--db", str(db_path), expect=3)
    # noted: file 0 (3 events) and file 1 (2 events)
    assert "kept what was imported before it (2 files, 5 new events); the file being written" in result.stderr


@pytest.mark.parametrize(
    ("os_says", "words"),
    [
        ("File too large", "the file grew past a file size limit (ulimit -f)"),
        ("Disk quota exceeded", "disk quota exceeded"),
    ],
)
def test_a_file_size_limit_or_a_quota_is_told_like_a_full_disk(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch, os_says: str, words: str
) -> None:
    """QA: under ``ulimit -f`` DuckDB's checkpoint fails with "File too large" (EFBIG): it was an
    "unexpected error", exit 1, though the files committed before it stayed. It is the same
    failure as a full disk for the user: exit 3, what was kept, the OS's reason."""
    _fail_at_commit(monkeypatch, 3, duckdb.FatalException(f"FATAL Error: Failed to create checkpoint: {os_says}"))
    result = run("import", *map(str, _files(tmp_path / "in")), "--db", str(db_path), expect=3)
    assert result.stderr.splitlines()[0] == (
        f"usagectl: error: database {db_path}: {words}; kept what was imported before it (2 files, 5 new events); "
        "the file being written when it stopped was not stored"
    )
    assert result.stderr.splitlines()[1].startswith("hint: raise the limit" if "ulimit" in words else "hint: free some")
    assert _count(db_path, "events") == 5


def test_a_database_whose_folder_cannot_be_written_is_a_database_error(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """QA: a writable database in a read-only folder: DuckDB cannot create the write-ahead log at
    COMMIT and raises a TransactionException; that was an "unexpected error", exit 1. (Tests run
    as root, whom the folder's mode does not stop: the COMMIT fails as it does for a user.)"""
    wal = f"{db_path}.wal"
    denied = duckdb.TransactionException(
        f'TransactionContext Error: Failed to commit: Cannot open file "{wal}": Permission denied'
    )
    _fail_at_commit(monkeypatch, 1, denied)
    result = run("import", str(_files(tmp_path / "in")[0]), "--db", str(db_path), expect=3)
    assert result.stderr.splitlines()[0].startswith(
        f"usagectl: error: database {db_path} cannot be written: Permission denied (TransactionContext Error"
    )
    assert "unexpected" not in result.stderr
    assert _count(db_path, "events") == 0
