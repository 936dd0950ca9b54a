"""SIGTERM (``timeout``, systemd, a cancelled CI job) ends a command as Ctrl-C does, with exit 143:
the command's cleanup runs (transactions roll back, temp folders go) and one "interrupted" line
is printed. And Ctrl-C while the command line is still being imported is that same one line
and exit 130, not a traceback.

The SIGTERM tests run ``python -m usagectl`` in a subprocess with a patched step that says when
it is reached and then waits or keeps DuckDB busy: the signal is sent at a known point, and the
subprocess has a TMPDIR of its own to check for leftover folders."""

from __future__ import annotations

import importlib.abc
import os
import signal
import subprocess
import sys
import textwrap
import time
import tomllib
from pathlib import Path

import duckdb
import pytest

from tests.helpers import run, write_jsonl

EVENTS = [{"event_id": f"E{i}", "ts": "2026-11-03T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 1000}
          for i in range(3)]  # fmt: skip


def _terminated(tmp_path: Path, patch: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``usagectl *args`` with ``patch`` applied (it must create the file READY, then wait
    or work); send SIGTERM once READY exists."""
    ready = tmp_path / "ready"
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    code = f"READY = {str(ready)!r}\n" + textwrap.dedent(patch) + "\nfrom usagectl.__main__ import main\nmain()\n"
    env = dict(os.environ, TMPDIR=str(tmpdir), PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert ready.exists(), proc.communicate(timeout=5)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert sorted(p.name for p in tmpdir.iterdir() if p.name.startswith("usagectl-")) == []
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_sigterm_while_sync_waits_exits_143_and_removes_its_temp_folder(tmp_path: Path, db_path: Path) -> None:
    """The step that reads a file waits, its temp folder holding a copy of a log's tail (as a
    resumed read does): SIGTERM used to kill the process there, leaving that folder behind."""
    logs = tmp_path / "logs"
    logs.mkdir()
    write_jsonl(logs / "a.jsonl", EVENTS)
    run("source", "add", str(logs), "--name", "mine", "--db", str(db_path))
    patch = """
        import pathlib, time
        from usagectl.services import sync

        def waiting(con, todo, resolve, tmpdir):
            (tmpdir / "tail.jsonl").write_text("a copy of a session log's tail")
            pathlib.Path(READY).write_text("x")
            time.sleep(60)

        sync._sync_file = waiting
    """
    done = _terminated(tmp_path, patch, "sync", "--db", str(db_path))
    assert (done.returncode, done.stderr) == (
        143,
        "usagectl: interrupted by SIGTERM; nothing was imported; the next sync reads the rest\n",
    )
    with duckdb.connect(str(db_path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM events").fetchone() == (0,)


def test_sigterm_while_import_queries_rolls_back_and_exits_143(tmp_path: Path, db_path: Path) -> None:
    """SIGTERM while DuckDB runs the import's statements (before its COMMIT): whether Python or
    DuckDB ("Query interrupted") notices it, the file is rolled back and the exit is 143."""
    run("import", str(write_jsonl(tmp_path / "a.jsonl", EVENTS)), "--db", str(db_path))
    more = write_jsonl(tmp_path / "b.jsonl", [e | {"event_id": e["event_id"] + "b"} for e in EVENTS])
    patch = """
        import pathlib
        from usagectl.store import ingest

        def busy(con):
            pathlib.Path(READY).write_text("x")
            while True:
                con.execute("SELECT count(*) FROM range(1000)").fetchall()

        ingest.before_commit_hook = busy
    """
    done = _terminated(tmp_path, patch, "import", str(more), "--db", str(db_path))
    assert done.returncode == 143
    assert done.stderr.startswith("usagectl: interrupted by SIGTERM; ")
    assert "nothing was imported" in done.stderr and "Traceback" not in done.stderr
    with duckdb.connect(str(db_path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM events").fetchone() == (3,)


def test_sigterm_while_the_command_line_is_imported_exits_143(tmp_path: Path) -> None:
    patch = """
        import pathlib, sys, time

        class Slow:
            def find_spec(self, name, path=None, target=None):
                if name == "typer":
                    pathlib.Path(READY).write_text("x")
                    time.sleep(60)

        sys.meta_path.insert(0, Slow())
    """
    done = _terminated(tmp_path, patch, "--version")
    assert (done.returncode, done.stdout, done.stderr) == (143, "", "usagectl: interrupted by SIGTERM\n")


class _InterruptedImport(importlib.abc.MetaPathFinder):
    """Ctrl-C landing while ``usagectl.cli`` is imported."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name == "usagectl.cli":
            raise KeyboardInterrupt


def test_ctrl_c_while_the_command_line_is_imported_is_one_line_and_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from usagectl.__main__ import main

    monkeypatch.delitem(sys.modules, "usagectl.cli")
    monkeypatch.setattr(sys, "meta_path", [_InterruptedImport(), *sys.meta_path])
    monkeypatch.setattr(signal, "signal", lambda *args: None)  # keep pytest's own SIGTERM handling
    with pytest.raises(SystemExit) as stopped:
        main()
    assert stopped.value.code == 130
    assert capsys.readouterr().err == "usagectl: interrupted\n"


def test_the_console_script_is_the_light_entry_point() -> None:
    """The script ``pip`` makes must call ``usagectl.__main__:main``, whose import of the command
    line is inside its handler (``usagectl.cli:main`` is reached only after that import)."""
    with (Path(__file__).resolve().parents[1] / "pyproject.toml").open("rb") as fh:
        assert tomllib.load(fh)["project"]["scripts"] == {"usagectl": "usagectl.__main__:main"}
