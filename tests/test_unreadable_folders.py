"""A folder that cannot be listed (mode 000, a ``sudo`` run's leftovers) is an error naming it,
never skipped without a word: an import imports the rest and exits 4; a sync does not count the
files it hides as gone, exits 4, does not record the tree as settled, and reads the new files as
soon as the folder can be listed again. (Tests run as root, whom mode 000 does not stop: listing
the folder fails here as it does for a user.)"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import query, run, write_jsonl

_SCANDIR = os.scandir
_STAT = os.stat


@pytest.fixture
def locked(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Folders (as text) whose listing fails with "Permission denied", as ``os.scandir`` of a
    folder without permissions does (``Path.rglob`` lists with ``os.scandir`` too), and so does
    ``os.stat`` of anything in them."""
    folders: set[str] = set()

    def shut(path: Any, inside: bool) -> bool:
        if isinstance(path, int):
            return False
        p = os.path.abspath(os.fspath(path))
        return any(p == f or (inside and p.startswith(f + os.sep)) for f in folders)

    def scandir(path: Any = ".") -> Iterator[os.DirEntry[str]]:
        if shut(path, False):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return _SCANDIR(path)

    def stat(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        if shut(path, True) and os.path.abspath(os.fspath(path)) not in folders:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return _STAT(path, *args, **kwargs)

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(os, "stat", stat)
    return folders


def _event(eid: str, tokens: int) -> dict[str, Any]:
    return {"event_id": eid, "ts": "2026-05-01T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": tokens}


def _cc(mid: str, out: int) -> str:
    return json.dumps(
        {
            "type": "assistant",
            "sessionId": f"s-{mid}",
            "requestId": f"req_{mid}",
            "timestamp": "2025-11-05T09:00:00.000Z",
            "message": {"id": f"msg_{mid}", "model": "claude-haiku-4-5-20251001",
                        "usage": {"input_tokens": 40, "output_tokens": out}},
        }
    )  # fmt: skip


def _two_projects(tree: Path) -> Path:
    for project, mid in (("-p1", "m1"), ("-p2", "m2")):
        (tree / project).mkdir(parents=True)
        (tree / project / "s.jsonl").write_text(_cc(mid, 7) + "\n", encoding="utf-8")
    return tree


def test_an_import_of_a_tree_with_an_unreadable_folder_imports_the_rest_and_names_it(
    tmp_path: Path, db_path: Path, locked: set[str]
) -> None:
    tree = tmp_path / "tree"
    (tree / "ok").mkdir(parents=True)
    (tree / "shut").mkdir()
    write_jsonl(tree / "ok" / "a.jsonl", [_event("a", 10)])
    write_jsonl(tree / "shut" / "b.jsonl", [_event("b", 20)])
    locked.add(str(tree / "shut"))
    result = run("import", str(tree), "--db", str(db_path), "--json", expect=4)
    doc = json.loads(result.stdout)
    assert (doc["imported"], doc["failed_files"]) == (1, 1)
    assert query(db_path, "SELECT event_id, input_tokens FROM events") == [("a", 10)]
    assert result.stderr.splitlines()[-1] == (
        f"usagectl: error: 1 folder could not be read: {tree / 'shut'}: cannot read the folder: Permission denied"
    )
    assert "Imported 1 event from 1 file " in result.stderr  # the folder is no file
    # once it can be listed, the same import adds its file (and nothing twice)
    locked.clear()
    again = run_json_ok(tree, db_path)
    assert again["imported"] == 1
    assert query(db_path, "SELECT sum(input_tokens) FROM events") == [(30,)]


def run_json_ok(tree: Path, db_path: Path) -> Any:
    return json.loads(run("import", str(tree), "--db", str(db_path), "--json").stdout)


def test_a_tree_that_cannot_be_listed_at_all_says_so_not_that_it_holds_nothing(
    tmp_path: Path, db_path: Path, locked: set[str]
) -> None:
    tree = tmp_path / "projects"
    (tree / "-p1").mkdir(parents=True)
    (tree / "-p1" / "s.jsonl").write_text(_cc("m1", 5) + "\n", encoding="utf-8")
    locked.add(str(tree))
    for fmt in ("claude-code", "auto"):
        result = run("import", str(tree), "--format", fmt, "--db", str(db_path), expect=4)
        assert f"{tree}: cannot read the folder: Permission denied" in result.stderr
        assert "no importable files" not in result.stderr


def test_a_claude_code_import_names_the_project_it_could_not_list(
    tmp_path: Path, db_path: Path, locked: set[str]
) -> None:
    tree = _two_projects(tmp_path / "projects")
    locked.add(str(tree / "-p2"))
    result = run("import", str(tree), "--format", "claude-code", "--db", str(db_path), expect=4)
    assert query(db_path, "SELECT message_id FROM events") == [("msg_m1",)]
    assert f"{tree / '-p2'}: cannot read the folder: Permission denied" in result.stderr


def test_a_sync_counts_no_file_of_an_unreadable_folder_as_gone_and_reads_it_once_it_opens(
    tmp_path: Path, db_path: Path, locked: set[str]
) -> None:
    tree = _two_projects(tmp_path / "projects")
    run("source", "add", str(tree), "--format", "claude-code", "--name", "cc", "--db", str(db_path))
    first = json.loads(run("sync", "--db", str(db_path), "--json").stdout)
    assert first["totals"]["imported"] == 2
    # the agent, run once with sudo, leaves -p2 unreadable; a new session lands in it
    (tree / "-p2" / "new.jsonl").write_text(_cc("m3", 9) + "\n", encoding="utf-8")
    locked.add(str(tree / "-p2"))
    for _ in range(2):  # and again: a failed sync is not recorded as settled (no quiet no-op next)
        result = run("sync", "--db", str(db_path), "--json", expect=4)
        src = json.loads(result.stdout)["sources"][0]
        assert (src["gone"], src["failed_files"], src["read"]) == (0, 1, 0)  # nothing was read
        assert "1 file, 0 read, 1 unchanged" in result.stderr  # the one file it could list
        assert f"{tree / '-p2'}: cannot read the folder: Permission denied; its files were not synced" in (
            result.stderr
        )
    assert query(db_path, "SELECT count(*) FROM events") == [(2,)]
    (row,) = json.loads(run("source", "list", "--db", str(db_path), "--json").stdout)["rows"]
    assert (row["files"], row["gone"]) == (2, 0)  # hidden, not gone
    locked.clear()
    after = json.loads(run("sync", "--db", str(db_path), "--json").stdout)
    assert (after["totals"]["imported"], after["totals"]["gone"]) == (1, 0)
    assert query(db_path, "SELECT sum(output_tokens) FROM events") == [(7 + 7 + 9,)]


def test_a_path_under_a_folder_that_cannot_be_searched_is_named_and_the_rest_is_read(
    tmp_path: Path, db_path: Path, locked: set[str]
) -> None:
    """QA: ``Path.exists`` raises PermissionError for a path under a folder without search
    permission: import, sync and source add stopped with "unexpected error", exit 1, and the
    healthy source was not synced either."""
    good = _two_projects(tmp_path / "good" / "projects")
    outer = tmp_path / "outer"
    shut_tree = _two_projects(outer / "projects")
    for name, tree in (("good", good), ("shut", shut_tree)):
        run("source", "add", str(tree), "--format", "claude-code", "--name", name, "--db", str(db_path))
    run("sync", "--db", str(db_path))
    (good / "-p1" / "s.jsonl").write_text(_cc("m1", 7) + "\n" + _cc("m9", 3) + "\n", encoding="utf-8")
    locked.add(str(outer))
    result = run("sync", "--db", str(db_path), "--json", expect=4)
    doc = json.loads(result.stdout)
    assert {s["name"]: (s["imported"], s["gone"]) for s in doc["sources"]} == {"good": (1, 0), "shut": (0, 0)}
    assert f"{shut_tree}: cannot read: Permission denied; its files were not synced" in result.stderr
    one = run("import", str(shut_tree / "-p1" / "s.jsonl"), str(good), "--format", "claude-code",
              "--db", str(db_path), "--json", expect=4)  # fmt: skip
    assert json.loads(one.stdout)["failed_files"] == 1
    assert f"{shut_tree / '-p1' / 's.jsonl'}: cannot read: Permission denied" in one.stderr
    added = run("source", "add", str(outer / "projects"), "--db", str(db_path), expect=4)
    assert f"{outer / 'projects'}: cannot read: Permission denied" in added.stderr


def test_sync_detect_names_an_agent_folder_it_cannot_search_and_registers_the_others(
    tmp_path: Path, db_path: Path, locked: set[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    (home / ".claude" / "projects" / "-p").mkdir(parents=True)
    sessions = home / ".codex" / "sessions"
    sessions.mkdir(parents=True)
    for var in ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(var, raising=False)
    locked.add(str(home / ".claude"))
    result = run("sync", "--detect", "--db", str(db_path), "--json")
    doc = json.loads(result.stdout)
    assert [d["path"] for d in doc["detected"]] == [str(sessions)]
    assert f"{home / '.claude' / 'projects'}: cannot read: Permission denied; not registered" in doc["messages"]


def _as_user(args: list[str], env_db: Path) -> Any:
    """``usagectl args`` with the file permission checks a user gets (root without the
    capabilities that bypass them); None when this machine cannot drop them."""
    import shutil
    import subprocess
    import sys

    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    cmd = [setpriv, "--bounding-set=-dac_override,-dac_read_search", sys.executable, "-m", "usagectl", *args]
    env = {**os.environ, "USAGECTL_DB": str(env_db)}
    probe = subprocess.run([setpriv, "--bounding-set=-dac_override,-dac_read_search", "true"], capture_output=True)
    if probe.returncode != 0:
        return None
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)


def test_a_symlinked_folder_whose_target_cannot_be_reached_is_named_not_skipped(tmp_path: Path, db_path: Path) -> None:
    """QA: ``projects/p4 -> outside/real`` with ``outside`` unreadable: the walk swallowed the
    PermissionError of the link, so the import said nothing and sync counted p4's files gone."""
    tree = _two_projects(tmp_path / "projects")
    outside = tmp_path / "outside"
    (outside / "real").mkdir(parents=True)
    (outside / "real" / "s.jsonl").write_text(_cc("m4", 5) + "\n", encoding="utf-8")
    (tree / "-p4").symlink_to(outside / "real")
    if os.geteuid() != 0:
        pytest.skip("needs root to drop the capabilities that bypass permissions")
    outside.chmod(0o000)
    try:
        result = _as_user(["import", str(tree), "--format", "claude-code"], db_path)
        if result is None:
            pytest.skip("setpriv cannot drop capabilities here")
        assert result.returncode == 4, result.stderr
        assert f"{tree / '-p4'}: cannot read the folder: Permission denied (a symlink" in result.stderr
    finally:
        outside.chmod(0o755)
    assert query(db_path, "SELECT count(*) FROM events") == [(2,)]


def test_the_dashboards_sync_names_what_it_could_not_read(
    tmp_path: Path, db_path: Path, locked: set[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """QA: with a source's folder unreadable, `sync` said so (exit 4) but `dashboard --once`,
    which syncs first, printed a normal frame and exited 0; its notes were never shown."""
    tree = _two_projects(tmp_path / "projects")
    run("source", "add", str(tree), "--format", "claude-code", "--name", "cc", "--db", str(db_path))
    run("sync", "--db", str(db_path))
    (tree / "-p2" / "new.jsonl").write_text(_cc("m3", 9) + "\n", encoding="utf-8")
    locked.add(str(tree / "-p2"))
    monkeypatch.delenv("COLUMNS", raising=False)  # the frame's default 100 columns (xdist sets 80)
    result = run("dashboard", "--once", "--db", str(db_path), expect=4)
    note = f"{tree / '-p2'}: cannot read the folder: Permission denied; its files were not synced"
    assert "UTC  ·  1 not read (usagectl sync says which)" in result.stdout.splitlines()[0]  # the frame's header
    assert result.stderr.strip() == f"usagectl: error: {note}"
