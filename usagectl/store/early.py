"""Opening the database of a reading command while the command line is still being imported.

A report spends ~0.07 s importing typer, Rich and its own modules before it opens the
database, and DuckDB spends ~0.02–0.03 s opening it (its instance, the file's header and
catalog) with the interpreter's lock released. :func:`start` runs that opening on a thread
as the process starts, for the commands that only read; ``connection`` then takes the open
connection (:func:`take`) instead of opening the file again, when the command opens the
same file read-only. Everything else first discards it (:func:`discard`): DuckDB allows one
instance of a file per process, and a writer must not meet a reader of its own.

The database is guessed the way the command line resolves it (``--db``, ``$USAGECTL_DB``,
the config's ``[database] path``, the default): a wrong guess only costs an opening that is
closed again. Any failure here (no such file, a busy or foreign file, a config that does not
parse) is dropped: the command then opens the file itself and reports the problem as always.

Standard library only at import: ``usagectl.__main__`` calls :func:`start` before the rest of
the program is imported.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb

__all__ = ["READING_COMMANDS", "discard", "guess_db_path", "start", "take"]

# top-level commands that open the database only to read it (every subcommand of them)
READING_COMMANDS = frozenset(
    {"report", "cost", "forecast", "anomalies", "optimize", "status", "chat", "message", "invoice", "reconcile"}
)

_lock = threading.Lock()
_pending: dict[str, Any] = {}  # "key": abspath, "thread", "con" (set by the thread)


def _option(args: Sequence[str], name: str) -> str | None:
    """The value of the last ``--name VALUE`` or ``--name=VALUE`` before a ``--``."""
    value = None
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == name and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith(name + "="):
            value = arg[len(name) + 1 :]
    return value if value and value.strip() else None


def guess_db_path(args: Sequence[str]) -> Path | None:
    """The database ``args`` will open, as the command line resolves it; None when a config
    file names it and cannot be read (the command then reports that itself)."""
    from usagectl.config import default_db_path, find_config_path, parse_config, read_toml

    db = _option(args, "--db")
    if db is not None:
        return Path(db)
    env = os.environ.get("USAGECTL_DB")
    if env:
        return Path(env)
    explicit = _option(args, "--config")
    path, _ = find_config_path(Path(explicit) if explicit is not None else None)
    if path is not None and path.is_file():
        try:
            config = parse_config(read_toml(path), path)
        except Exception:
            return None
        if config.db_path is not None:
            return config.db_path
    return default_db_path()


def start(args: Sequence[str]) -> None:
    """Begin opening the database of a reading command (``args`` without the program name)."""
    if not args or args[0] not in READING_COMMANDS or "--help" in args:
        return
    try:
        path = guess_db_path(args)
    except Exception:
        return
    if path is None or not path.is_file():
        return  # created (the default database), or refused, by the command itself
    key = os.path.abspath(path)

    def open_it() -> None:
        try:
            from usagectl.store.engine import connect

            con = connect(str(path), read_only=True)
        except BaseException:
            return
        # the first look at a table loads its catalog entry (~3 ms): the command's first
        # query, the schema version (``schema.current_version``), then finds it loaded
        with contextlib.suppress(Exception):
            con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchall()
        with _lock:
            _pending["con"] = con

    thread = threading.Thread(target=open_it, name="usagectl-open", daemon=True)
    with _lock:
        _pending.clear()
        _pending.update(key=key, thread=thread)
    thread.start()


def _finish() -> tuple[str | None, duckdb.DuckDBPyConnection | None]:
    """Wait for the opening, and hand over (and forget) what it opened."""
    with _lock:
        thread = _pending.get("thread")
    if thread is None:
        return None, None
    thread.join()
    with _lock:
        key, con = _pending.get("key"), _pending.get("con")
        _pending.clear()
    return key, con


def take(path: Path) -> duckdb.DuckDBPyConnection | None:
    """The connection opened early, read-only, to ``path``; None when there is none (any other
    connection opened early is closed)."""
    key, con = _finish()
    if con is None:
        return None
    if key == os.path.abspath(path):
        return con
    with contextlib.suppress(Exception):
        con.close()
    return None


def discard() -> None:
    """Close a connection opened early and not taken (before any other opening, and at exit)."""
    _, con = _finish()
    if con is not None:
        with contextlib.suppress(Exception):
            con.close()
