"""Numbered migrations (``migrations/NNN_name.sql``, or ``NNN_name.py`` with an
``apply(con)`` for a step SQL cannot decide alone) recorded in ``schema_migrations``.

Each migration and its bookkeeping row are applied in one transaction. A shipped migration
is never edited; a database whose version is above the newest migration here is refused.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from usagectl.errors import DatabaseTooNewError
from usagectl.store.transactions import rollback

if TYPE_CHECKING:
    import duckdb

_PACKAGE = "usagectl.store.migrations"
_FOLDER = Path(__file__).parent / "migrations"
_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.(sql|py)$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str = ""
    apply: Callable[[duckdb.DuckDBPyConnection], None] | None = None  # a Python step, run instead of sql
    path: Path | None = None  # the file of ``sql``, read when the migration runs

    def statements(self) -> str:
        return self.path.read_text(encoding="utf-8") if self.path is not None else self.sql


def available() -> list[Migration]:
    """The migrations shipped, by number; only their names are read (every command checks that
    its database is up to date; the SQL is read when a migration runs)."""
    found: list[Migration] = []
    for entry in _FOLDER.iterdir():
        m = _NAME.match(entry.name)
        if m and m.group(3) == "sql":
            found.append(Migration(int(m.group(1)), m.group(2), path=entry))
        elif m:
            found.append(Migration(int(m.group(1)), m.group(2), "", _python_step(f"{_PACKAGE}.{entry.name[:-3]}")))
    found.sort(key=lambda mig: mig.version)
    versions = [mig.version for mig in found]
    assert versions == list(range(1, len(found) + 1)), f"migration numbers must be 1..N, got {versions}"
    return found


def _python_step(module: str) -> Callable[[duckdb.DuckDBPyConnection], None]:
    """The ``apply`` of a Python migration, imported when it runs: opening a database that is
    up to date needs only the numbers (the imports cost every command ~7 ms)."""

    def apply(con: duckdb.DuckDBPyConnection) -> None:
        importlib.import_module(module).apply(con)

    return apply


def latest_version() -> int:
    migs = available()
    return migs[-1].version if migs else 0


def _ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
        " applied_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp)"
    )


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    from usagectl.store.engine import core as duckdb

    try:  # the direct query is ~10x cheaper than asking information_schema first
        row = con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
    except duckdb.CatalogException:
        return 0
    return int(row[0]) if row else 0


def _check_version(version: int, newest: int, path: str) -> None:
    if version > newest:
        raise DatabaseTooNewError(
            f"database {path} has schema version {version}, newer than this usagectl understands ({newest})",
            hint="upgrade usagectl, or point --db at another database",
        )


def pending(con: duckdb.DuckDBPyConnection, path: str) -> list[Migration]:
    version = current_version(con)
    migs = available()
    _check_version(version, migs[-1].version if migs else 0, path)
    return [mig for mig in migs if mig.version > version]


def migrate(con: duckdb.DuckDBPyConnection, path: str) -> list[int]:
    """Apply pending migrations, each in its own transaction; return the versions applied."""
    _ensure_table(con)
    applied: list[int] = []
    for mig in pending(con, path):
        con.execute("BEGIN TRANSACTION")
        try:
            if mig.apply is not None:
                mig.apply(con)
            else:
                con.execute(mig.statements())
            con.execute("INSERT INTO schema_migrations (version, name) VALUES (?, ?)", [mig.version, mig.name])
            con.execute("COMMIT")
        except BaseException:
            rollback(con)
            raise
        applied.append(mig.version)
    return applied
