"""Numbered migrations (``migrations/NNN_name.sql``, or ``NNN_name.py`` with an
``apply(con)`` for a step SQL cannot decide alone) recorded in ``schema_migrations``.

Each migration and its bookkeeping row are applied in one transaction. A shipped migration
is never edited; a database whose version is above the newest migration here is refused.

Upgrading a database that holds a schema already (not a new file) is said on stderr and first
keeps a copy of the file as it was beside it, ``PATH.schema-N.bak``: an older usagectl (a cron
job on the old install) cannot open the upgraded file, and some migrations remove rows (copies
counted twice, 10 and 12), so the copy is the only way back.
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import itertools
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from usagectl.errors import DatabaseError, DatabaseTooNewError, write_failure, write_failure_hint
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
    return _pending_from(current_version(con), path)


def _pending_from(version: int, path: str) -> list[Migration]:
    migs = available()
    _check_version(version, migs[-1].version if migs else 0, path)
    return [mig for mig in migs if mig.version > version]


def migrate(con: duckdb.DuckDBPyConnection, path: str) -> list[int]:
    """Apply pending migrations, each in its own transaction; return the versions applied.

    A database at schema 1 or later is upgraded only once a copy of it as it was is kept
    (``_keep_copy``, which says so on stderr); a new file (schema 0) is set up silently. An
    upgrade that fails before its first migration is committed leaves the database as it was
    (a failed migration is rolled back): the copy it made is removed again, so that a command
    retried by cron does not leave a copy of the whole file every run. One that fails later (a
    disk that fills up, Ctrl-C) keeps the steps committed and says where it stopped and where
    the copy is: the command's own error then speaks only of the command's changes (QA)."""
    _ensure_table(con)
    version = current_version(con)
    todo = _pending_from(version, path)
    copy = _keep_copy(con, Path(path), version, todo[-1].version) if version and todo else None
    applied: list[int] = []
    try:
        for mig in todo:
            _apply(con, mig)
            applied.append(mig.version)
    except BaseException:
        if copy is not None and not applied:
            with contextlib.suppress(OSError):
                copy.unlink()
        elif copy is not None:  # the error that follows says "not stored" of this command alone
            from usagectl.config import warn

            warn(
                f"the upgrade of {path} stopped at schema {applied[-1]} of {todo[-1].version} (each step is whole): "
                f"the next command goes on from there; the copy as it was before the upgrade is {copy}"
            )
        raise
    return applied


def _apply(con: duckdb.DuckDBPyConnection, mig: Migration) -> None:
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


def upgrade_refused(path: str, version: int, newest: int, why: str, hint: str | None) -> DatabaseError:
    """The error of a database that needs an upgrade this run cannot make; it was left unchanged."""
    return DatabaseError(
        f"database {path} has schema {version}; this usagectl needs {newest}: {why}; it was left unchanged",
        hint=hint,
    )


_DENIED_ERRNOS = (errno.EACCES, errno.EPERM, errno.EROFS)
WRITE_ACCESS_HINT = (
    "run any usagectl command once as a user who can write the file and its folder (the upgrade keeps "
    "a copy of the file as it was beside it); until then, the usagectl that wrote it can still read it"
)


def _keep_copy(con: duckdb.DuckDBPyConnection, path: Path, version: int, newest: int) -> Path:
    """Copy the database file as it is, whole, to ``PATH.schema-V.bak`` (0600, as private as the
    database) before its upgrade from schema ``version``; say so on stderr; return the copy.

    The CHECKPOINT first moves what DuckDB's write-ahead log holds into the file (nothing is
    written when there is nothing to move), and this connection's write lock keeps every other
    process out until the upgrade is done. A file of that name is never written over: it is the
    copy of an earlier upgrade of this database, or of another state of it (one put back from
    the copy and used by the older usagectl since), so this copy takes the next free name
    (``PATH.schema-V.2.bak`` …). A copy that cannot be made (a full disk, a folder that cannot
    be written) refuses the upgrade rather than run migrations that cannot be undone."""
    con.execute("CHECKPOINT")
    try:
        copy, fd = _claim_copy_name(path, version)
    except OSError as exc:
        raise _copy_refused(path, Path(exc.filename or path), version, newest, exc) from exc
    try:
        _write_copy(path, fd)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            copy.unlink()
        if isinstance(exc, OSError):
            raise _copy_refused(path, copy, version, newest, exc) from exc
        raise
    from usagectl.config import warn

    warn(
        f"upgrading database {path} from schema {version} to {newest} "
        f"(an older usagectl cannot open it afterwards; a copy as it was: {copy})"
    )
    return copy


def _claim_copy_name(path: Path, version: int) -> tuple[Path, int]:
    """The first free name of the copy, created empty (mode 0600) and open for writing."""
    for n in itertools.count(1):
        copy = Path(f"{path}.schema-{version}{f'.{n}' if n > 1 else ''}.bak")
        with contextlib.suppress(FileExistsError):
            return copy, os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    raise AssertionError("unreachable")  # count() never ends; mypy wants a return


def _write_copy(path: Path, fd: int) -> None:
    """Copy ``path`` into ``fd`` (closed after), on disk before the upgrade starts: a crash
    during the migrations must not leave an upgraded database beside half a copy."""
    import shutil

    with open(fd, "wb") as out, path.open("rb") as src:
        shutil.copyfileobj(src, out, 1 << 20)
        out.flush()
        os.fsync(out.fileno())


def _copy_refused(path: Path, copy: Path, version: int, newest: int, exc: OSError) -> DatabaseError:
    """Why the copy kept before an upgrade cannot be made, as the refused upgrade's error."""
    problem = f"{copy}: {exc.strerror or exc}"  # a failed write() names no file of its own
    if exc.errno in _DENIED_ERRNOS:
        why = f"upgrading it needs write access to the file and its folder ({problem})"
        return upgrade_refused(str(path), version, newest, why, WRITE_ACCESS_HINT)
    reason = write_failure(exc)
    hint = write_failure_hint(reason) if reason is not None else None  # a full disk, a size limit, a quota
    return upgrade_refused(
        str(path), version, newest, f"the copy kept before an upgrade cannot be made ({problem})", hint
    )
