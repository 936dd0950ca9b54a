"""The sync ledger: a sync with nothing new answers without opening the database, and only then."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.helpers import run, run_json
from usagectl.store import connection


def ev(n: int, inp: int = 100) -> str:
    return json.dumps(
        {"event_id": f"e{n}", "ts": f"2025-11-03T10:00:{n:02d}Z", "model_raw": "gpt-4o", "input_tokens": inp,
         "output_tokens": 1}
    )  # fmt: skip


def _sync(db: Path, *args: str) -> dict[str, Any]:
    return run_json("sync", *args, "--db", str(db))  # type: ignore[no-any-return]


def _events(db: Path) -> list[tuple[str, int]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return [
            (str(a), int(b)) for a, b in con.execute("SELECT event_id, input_tokens FROM events ORDER BY 1").fetchall()
        ]
    finally:
        con.close()


@pytest.fixture
def logs(tmp_path: Path, db_path: Path) -> Path:
    d = tmp_path / "logs"
    (d / "sub").mkdir(parents=True)
    (d / "a.jsonl").write_text(ev(1) + "\n" + ev(2) + "\n")
    (d / "sub" / "b.jsonl").write_text(ev(3) + "\n")
    run("source", "add", str(d), "--name", "mine", "--db", str(db_path))
    return d


@pytest.fixture
def no_database(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records every attempt of the sync service to open the database (the ledger must not)."""
    opened: list[str] = []
    real = connection.connect

    def spy(path: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(connection, "connect", spy)
    return opened


def test_nothing_new_is_answered_from_the_ledger(logs: Path, db_path: Path, no_database: list[str]) -> None:
    first = _sync(db_path)
    assert no_database == [str(db_path)]  # the first sync reads both files
    assert first["totals"]["imported"] == 3
    second = _sync(db_path)
    assert no_database == [str(db_path)]  # the second never opened the database
    # the counts a full sync gives, by hand: 2 files, both unchanged, nothing read
    (src,) = second["sources"]
    assert (src["name"], src["files"], src["unchanged"], src["read"], src["gone"]) == ("mine", 2, 2, 0, 0)
    assert second["totals"]["imported"] == 0
    assert _events(db_path) == [("e1", 100), ("e2", 100), ("e3", 100)]


def test_an_appended_line_misses_and_is_imported(logs: Path, db_path: Path, no_database: list[str]) -> None:
    _sync(db_path)
    _sync(db_path)
    with (logs / "a.jsonl").open("a") as fh:
        fh.write(ev(4, inp=7) + "\n")
    third = _sync(db_path)
    assert len(no_database) == 2 and third["totals"]["imported"] == 1
    assert ("e4", 7) in _events(db_path)
    _sync(db_path)  # settled again: a hit
    assert len(no_database) == 2


@pytest.mark.parametrize("change", ["new file", "removed file", "touched", "database written", "other names"])
def test_any_change_misses(logs: Path, db_path: Path, tmp_path: Path, no_database: list[str], change: str) -> None:
    _sync(db_path)
    _sync(db_path)
    assert len(no_database) == 1
    args: tuple[str, ...] = ()
    if change == "new file":
        (logs / "sub" / "c.jsonl").write_text(ev(5) + "\n")
    elif change == "removed file":
        (logs / "sub" / "b.jsonl").unlink()
    elif change == "touched":  # same bytes, new mtime: the full sync decides (reads it again)
        st = (logs / "a.jsonl").stat()
        os.utime(logs / "a.jsonl", ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    elif change == "database written":  # e.g. an import by hand
        other = tmp_path / "other.jsonl"
        other.write_text(ev(9) + "\n")
        run("import", str(other), "--db", str(db_path))
    else:
        args = ("mine",)
    before = len(no_database)  # (an import by hand opens the database too)
    doc = _sync(db_path, *args)
    assert len(no_database) == before + 1, change
    (src,) = doc["sources"]
    if change == "removed file":
        assert (src["files"], src["gone"]) == (1, 1)  # its events stay
        assert len(_events(db_path)) == 3
    if change == "new file":
        assert doc["totals"]["imported"] == 1


def test_an_unfinished_last_line_keeps_the_full_sync(logs: Path, db_path: Path, no_database: list[str]) -> None:
    with (logs / "a.jsonl").open("a") as fh:
        fh.write(ev(6)[:20])  # the agent is still writing this line
    _sync(db_path)
    second = _sync(db_path)  # nothing changed, but the unfinished line is due: not a hit
    assert len(no_database) == 2
    assert second["totals"]["rejected"] == 1  # left by a crash: rejected (as the full sync does)
    _sync(db_path)
    assert len(no_database) == 2  # now settled: a hit


def test_detect_hits_only_when_every_agent_dir_is_registered(
    db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_database: list[str]
) -> None:
    claude = tmp_path / "cc"
    (claude / "projects" / "p").mkdir(parents=True)
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(claude))
    monkeypatch.setenv("CODEX_HOME", str(tmp_path / "no-codex"))
    first = _sync(db_path, "--detect")
    assert [d["format"] for d in first["detected"]] == ["claude-code"]
    _sync(db_path, "--detect")
    assert len(no_database) == 1
    (tmp_path / "no-codex" / "sessions").mkdir(parents=True)  # a new agent directory appears
    third = _sync(db_path, "--detect")
    assert len(no_database) == 2 and [d["format"] for d in third["detected"]] == ["codex"]


def test_source_list_shows_the_ledger_check(logs: Path, db_path: Path) -> None:
    _sync(db_path)
    before = datetime.now(UTC).replace(microsecond=0)
    _sync(db_path)  # a hit: the database is not written
    doc = run_json("source", "list", "--db", str(db_path), "--format", "json")
    (row,) = doc["rows"]
    assert datetime.fromisoformat(row["last_sync"]) >= before


def test_a_damaged_ledger_is_ignored(logs: Path, db_path: Path, no_database: list[str]) -> None:
    _sync(db_path)
    home = Path(os.environ["HOME"])
    (ledger,) = (home / ".cache" / "usagectl").glob("sync-*.json")
    ledger.write_text("{not json")
    doc = _sync(db_path)
    assert len(no_database) == 2 and doc["sources"][0]["unchanged"] == 2
    (tree,) = (home / ".cache" / "usagectl").glob("synctree-*.json")
    tree.write_text('{"x": [1]}')  # a snapshot that is no use: the full listing decides
    again = _sync(db_path)
    assert len(no_database) == 2 and again["sources"][0]["unchanged"] == 2


def _age(root: Path, seconds: int = 3600) -> None:
    """Every folder under root (and root) looks last changed an hour ago: no longer "racy"."""
    then = datetime.now(UTC).timestamp() - seconds
    for d in [root, *(p for p in root.rglob("*") if p.is_dir())]:
        os.utime(d, (then, then))


@pytest.fixture
def listings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records every full listing of a source the sync makes (the ledger's tree check makes none)."""
    from usagectl.services import sources

    seen: list[str] = []
    real = sources.list_files

    def spy(root: Path, fmt: str) -> list[tuple[str, str]]:
        seen.append(str(root))
        return real(root, fmt)

    import usagectl.services.sync as sync_module

    monkeypatch.setattr(sync_module, "list_files", spy)
    return seen


def test_an_old_tree_is_checked_by_stat_alone(logs: Path, db_path: Path, listings: list[str]) -> None:
    _age(logs)
    _sync(db_path)  # lists, reads the files, lists again (settled?) and records the snapshot
    assert len(listings) == 2
    doc = _sync(db_path)
    assert len(listings) == 2  # no walk: one stat per folder and per file
    assert doc["sources"][0]["unchanged"] == 2


def test_a_new_file_in_an_old_folder_is_seen(logs: Path, db_path: Path, listings: list[str]) -> None:
    _age(logs)
    _sync(db_path)
    (logs / "sub" / "new.jsonl").write_text(ev(7, inp=70) + "\n")  # moves sub's mtime
    doc = _sync(db_path)
    assert doc["totals"]["imported"] == 1 and ("e7", 70) in _events(db_path)


def test_a_recent_folder_is_not_trusted(
    logs: Path, db_path: Path, listings: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _age(logs)
    _sync(db_path)
    # a folder changed within RACY_NS of the listing: an entry added in the same clock tick
    # would not have moved its mtime, so the next check lists the tree in full (and still hits)
    from usagectl.services import sync_ledger

    monkeypatch.setattr(sync_ledger, "RACY_NS", 10 * 3600 * 10**9)
    doc = _sync(db_path)
    assert len(listings) == 3 and doc["sources"][0]["unchanged"] == 2
    assert doc["totals"]["imported"] == 0


def test_a_tree_with_a_symlink_is_always_listed(logs: Path, db_path: Path, listings: list[str]) -> None:
    (logs / "link.jsonl").symlink_to(logs / "a.jsonl")
    _age(logs)
    _sync(db_path)  # two listings (the second finds it settled)
    _sync(db_path)
    _sync(db_path)
    assert len(listings) == 4  # a symlink's target can change without any folder changing


def test_a_settled_sync_does_not_import_the_store(logs: Path, db_path: Path) -> None:
    """Answered from the ledger, a sync needs neither DuckDB nor the store's connection and
    schema modules (the command line sets up its deferred closes from ``store.closing``)."""
    import subprocess
    import sys

    _sync(db_path)
    code = (
        "import sys\n"
        "from usagectl.cli import main\n"
        f"sys.argv = ['usagectl', 'sync', '--db', {str(db_path)!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('duckdb', 'usagectl.store.connection', 'usagectl.store.schema') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("parallel_from", [1, 10**9])  # two threads / one
def test_the_tree_snapshot_comparison(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parallel_from: int) -> None:
    """``_same_tree`` finds a change in any file or folder, whichever thread stats it: with two
    threads, files and folders alternate between them (0, 2, 4 … and 1, 3 …)."""
    from usagectl.services import sync_ledger

    monkeypatch.setattr(sync_ledger, "_PARALLEL_FROM", parallel_from)
    root = tmp_path / "t"
    rels = ["a.jsonl", "b.jsonl", "x/c.jsonl", "x/d.jsonl", "y/e.jsonl"]
    for rel in rels:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("{}\n")
    folders = [".", "x", "y"]

    def snapshot(at: int) -> dict[str, Any]:
        files: list[list[Any]] = []
        for rel in rels:
            st = os.stat(root / rel)
            files.append([rel, st.st_size, st.st_mtime_ns])
        dirs = [[f, os.stat(root / f).st_mtime_ns] for f in folders]
        return {"root": str(root), "at": at, "dirs": dirs, "files": files}

    old = 1_600_000_000 * 10**9  # every folder last changed long before the listing…
    for f in folders:
        os.utime(root / f, ns=(old, old))
    later = old + 10 * sync_ledger.RACY_NS  # …which started here
    assert sync_ledger._same_tree(snapshot(later)) is True
    for i, rel in enumerate(rels):  # each file in turn, so both threads' shares are covered
        tree = snapshot(later)
        tree["files"][i][1] += 1  # as if the file had grown since
        assert sync_ledger._same_tree(tree) is False, rel
    for i, f in enumerate(folders):
        tree = snapshot(later)
        tree["dirs"][i][1] -= 1  # an entry added or removed since
        assert sync_ledger._same_tree(tree) is False, f
        recent = later - sync_ledger.RACY_NS // 2  # changed as the listing started
        os.utime(root / f, ns=(recent, recent))
        tree = snapshot(later)
        assert sync_ledger._same_tree(tree) is None, f
        tree["files"][(i + 1) % len(rels)][2] += 1  # …but a file changed: that decides
        assert sync_ledger._same_tree(tree) is False, f
        os.utime(root / f, ns=(old, old))
    tree = snapshot(later)
    (root / "x" / "d.jsonl").unlink()  # gone (its folder's mtime is in the snapshot as it was)
    tree["dirs"][1][1] = os.stat(root / "x").st_mtime_ns
    assert sync_ledger._same_tree(tree) is False


def test_a_damaged_snapshot_entry_is_raised_to_the_caller(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whichever thread meets it, a damaged entry (a number where a path belongs) is raised by
    ``_same_tree`` itself, where ``settled`` turns it into a full sync, not printed by a thread."""
    from usagectl.services import sync_ledger

    monkeypatch.setattr(sync_ledger, "_PARALLEL_FROM", 1)
    (tmp_path / "a.jsonl").write_text("{}\n")
    st = os.stat(tmp_path / "a.jsonl")
    good = ["a.jsonl", st.st_size, st.st_mtime_ns]
    for files in ([good, [7, 0, 0]], [[7, 0, 0], good]):
        tree = {"root": str(tmp_path), "at": 0, "dirs": [], "files": files}
        with pytest.raises(TypeError):
            sync_ledger._same_tree(tree)
