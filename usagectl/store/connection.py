"""Opening the database: one short-lived connection per command.

DuckDB locks the file across processes (even readers while a writer holds it); that lock
conflict becomes ``DatabaseBusyError`` (exit 3). New files are created with mode 0600.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from usagectl.errors import DatabaseBusyError, DatabaseError
from usagectl.store import schema

if TYPE_CHECKING:
    import duckdb


def _translate(exc: Exception, path: Path) -> DatabaseError:
    text = str(exc)
    if "lock" in text.lower() and ("conflicting" in text.lower() or "could not set" in text.lower()):
        holder = ""
        if "held in" in text:
            holder = " (held by " + text.split("held in", 1)[1].split(".", 1)[0].strip() + ")"
        return DatabaseBusyError(
            f"database {path} is busy: another process is using it{holder}",
            hint="wait for the other usagectl command to finish and try again",
        )
    return DatabaseError(f"database {path} cannot be opened: {text.splitlines()[0]}")


def _raw_connect(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    import duckdb

    creating = not path.exists()
    if creating:
        if read_only:
            raise DatabaseError(f"database {path} does not exist")
        path.parent.mkdir(parents=True, exist_ok=True)
    old_umask = os.umask(0o077)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as exc:
        raise _translate(exc, path) from exc
    finally:
        os.umask(old_umask)
    if creating:
        with contextlib.suppress(OSError):
            os.chmod(path, 0o600)
    try:
        con.execute("SET TimeZone = 'UTC'")
        # DuckDB draws a progress bar on stdout for queries over 2 s, even into a pipe: it
        # would land inside exported data and JSON
        con.execute("SET enable_progress_bar = false")
    except Exception:
        con.close()
        raise
    return con


def ensure_ready(path: Path) -> None:
    """Create the database if needed and bring its schema up to date."""
    needs_write = not path.exists()
    if not needs_write:
        con = _raw_connect(path, read_only=True)
        try:
            needs_write = bool(schema.pending(con, str(path)))
        finally:
            con.close()
    if needs_write:
        con = _raw_connect(path, read_only=False)
        try:
            schema.migrate(con, str(path))
        finally:
            con.close()


@contextlib.contextmanager
def connect(path: Path, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open, migrate if needed, yield, and always close."""
    import duckdb

    if read_only:
        if not path.exists():
            ensure_ready(path)
        con = _raw_connect(path, read_only=True)
        try:
            behind = bool(schema.pending(con, str(path)))
        except BaseException:
            con.close()
            raise
        if behind:  # an older schema: upgrade it once, then read
            con.close()
            ensure_ready(path)
            con = _raw_connect(path, read_only=True)
    else:
        con = _raw_connect(path, read_only=False)
        try:
            schema.migrate(con, str(path))
        except BaseException:
            con.close()
            raise
    try:
        yield con
    except duckdb.IOException as exc:
        raise _translate(exc, path) from exc
    finally:
        con.close()
