from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer
import typer.testing
from typer.testing import CliRunner

from usagectl.cli import app

# typer.testing.CliRunner.invoke turns the app into a Click command tree on every call: ~0.3-0.45 s
# for ~70 commands, more than most tests' own work. The tree of ``app`` is built once and reused (a
# Click command keeps no state between invocations); ``usagectl`` itself builds only the branch
# its command line names (cli/_lazy.py, tested in test_cli_lazy.py).
_COMMAND = typer.main.get_command(app)
_build = typer.main.get_command


def _command_of(typer_app: typer.Typer) -> Any:
    return _COMMAND if typer_app is app else _build(typer_app)


typer.testing._get_command = _command_of  # type: ignore[attr-defined,assignment]


def run(*args: str, expect: int | None = 0) -> Any:
    """Run the CLI in-process; check the exit code."""
    result = CliRunner().invoke(app, list(args), catch_exceptions=True)
    if expect is not None and result.exit_code != expect:
        raise AssertionError(
            f"exit {result.exit_code} != {expect} for {args}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}\n"
            f"exception: {result.exception!r}"
        )
    return result


def run_json(*args: str) -> Any:
    return json.loads(run(*args, "--json").stdout)


def query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` over the database ``db``, opened read-only and closed again."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def migrate_again_from(db: Path, version: int) -> None:
    """Put ``db`` back before migration ``version`` (its bookkeeping rows from there on removed;
    the rows as a test has just written them) and open it as a reading command does, which
    brings the schema up to date again: migrations ``version`` and later run over those rows."""
    import duckdb

    from usagectl.store.connection import connect

    con = duckdb.connect(str(db))
    try:
        con.execute("DELETE FROM schema_migrations WHERE version >= ?", [version])
    finally:
        con.close()
    with connect(db, read_only=True):
        pass


def write_jsonl(path: Path, records: list[Any]) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@contextlib.contextmanager
def lock_held(db: Path, tmp_path: Path) -> Iterator[int]:
    """Another process holds ``db`` open (DuckDB's file lock) for the duration of the block;
    the block gets its PID."""
    ready = tmp_path / "lock-ready"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import duckdb, pathlib, time
                con = duckdb.connect({str(db)!r})
                pathlib.Path({str(ready)!r}).write_text("x")
                time.sleep(60)
                """
            ),
        ]
    )
    try:
        deadline = time.time() + 30
        while not ready.exists():
            assert time.time() < deadline, "lock holder did not start"
            time.sleep(0.05)
        yield holder.pid
    finally:
        holder.kill()
        holder.wait()
        ready.unlink(missing_ok=True)


def narrow_table(text: str) -> tuple[set[str], str]:
    """A table printed at the CLI's 80 columns: the words above its "not shown at this width"
    note (checked to fit 80 columns) and that note's text, whitespace folded."""
    assert max(len(line) for line in text.splitlines()) <= 80, text
    table, note = text.split("not shown at this width:")
    return set(table.split()), " ".join(note.split())
