"""Opening the database: one short-lived connection per command.

DuckDB locks the file across processes (even readers while a writer holds it); that lock
conflict becomes ``DatabaseBusyError`` (exit 3). A writer that meets only readers (a live
dashboard's short read every refresh, a report) waits for them, up to ``READER_WAIT_SECONDS``:
DuckDB does not queue a writer behind readers, it refuses it at once. New files are created
with mode 0600.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from usagectl.config import default_db_path
from usagectl.errors import (
    DatabaseBusyError,
    DatabaseError,
    InputError,
    os_reason,
    shown_bytes,
    write_failure,
    write_failure_hint,
)
from usagectl.store import early, schema
from usagectl.store.closing import close_when_done as _close
from usagectl.store.closing import settle
from usagectl.store.transactions import rollback

if TYPE_CHECKING:
    import duckdb


# how long a writer retries an opening refused because readers hold the file, and how often:
# a dashboard's read takes milliseconds, a report up to ~1 s on 10M events
READER_WAIT_SECONDS = 5.0
READER_POLL_SECONDS = 0.05

# DuckDB names the lock holder as "Conflicting lock is held in <program> (PID <n>)", then maybe
# " by user <name>", then ". See also <url>"; the program's path has dots of its own
_HOLDER = re.compile(r"held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")


def _lock_holder(text: str) -> str:
    """ " (held by <program>, PID <n>)" from DuckDB's lock-conflict message; "" without one."""
    found = _HOLDER.search(text)
    if found:
        return f" (held by {found['program']}, PID {found['pid']})"
    if "held in " in text:  # a message without the PID: everything up to DuckDB's pointer to its docs
        program = text.split("held in ", 1)[1].splitlines()[0].split(". See also", 1)[0].strip().rstrip(".")
        return f" (held by {program})" if program else ""
    return ""


def _is_lock_conflict(text: str) -> bool:
    low = text.lower()
    return "lock" in low and ("conflicting" in low or "could not set" in low)


def _held_by_readers(text: str) -> bool:
    """DuckDB refused a write lock and says the file could be opened read-only: its holders are
    readers (it asks the OS for the conflicting lock's type), who let go within moments."""
    return _is_lock_conflict(text) and "read-only mode" in text


def _open_engine(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    """DuckDB's connection to ``path``; a writer refused because readers hold the file tries
    again every ``READER_POLL_SECONDS`` for up to ``READER_WAIT_SECONDS`` (QA: an import beside
    a live dashboard failed "database busy" in 1 run of 3, on the dashboard's read of a few ms).
    A writer holding the file is not waited for: it may hold it for minutes (an import), and the
    busy error says who it is at once. A reader is never made to wait either."""
    from usagectl.store.engine import connect
    from usagectl.store.engine import core as duckdb

    deadline: float | None = None
    while True:
        old_umask = os.umask(0o077)  # process-wide: set only for the opening itself, not the waits
        try:
            return connect(str(path), read_only=read_only)
        except duckdb.Error as exc:
            if read_only or not _held_by_readers(str(exc)):
                raise
            now = time.monotonic()
            deadline = now + READER_WAIT_SECONDS if deadline is None else deadline
            if now >= deadline:
                raise
        finally:
            os.umask(old_umask)
        time.sleep(READER_POLL_SECONDS)


def _translate(exc: Exception, path: Path) -> DatabaseError:
    text = str(exc)
    reason = write_failure(exc)
    if reason is not None:
        return _no_space(path, reason)
    if _is_lock_conflict(text):
        using = (
            f"reading it{_lock_holder(text)}, still after {READER_WAIT_SECONDS:g} s"
            if _held_by_readers(text)
            else f"using it{_lock_holder(text)}"
        )
        return DatabaseBusyError(
            f"database {path} is busy: another process is {using}",
            hint="wait for that process to finish (or stop it) and try again",
        )
    return DatabaseError(f"database {path} cannot be opened: {text.splitlines()[0]}")


_SQLITE_MAGIC = b"SQLite format 3\x00"
_DUCKDB_MAGIC = (8, b"DUCK")  # offset and bytes of DuckDB's file header magic
# how much of a file is looked at to tell text from binary data: one read, and enough that
# random bytes hold a control byte (that 512 hold none: (230/256)^512, about 1 in 10^24)
_HEAD_BYTES = 512
# bytes no CSV, JSON or JSONL text holds (in any ASCII-based encoding): NUL and the C0 controls
# other than tab, line feed, vertical tab, form feed, carriage return and ESC (colours in a log)
_BINARY_BYTES = frozenset(range(0x20)) - frozenset(b"\t\n\x0b\x0c\r\x1b")


def _refuse_foreign(path: Path) -> None:
    """Refuse a file that is not a DuckDB database, saying what it is. DuckDB would open a
    SQLite file through its sqlite extension (as if it were a database of ours), and a CSV,
    JSON or Parquet file as an in-memory database over that file: an import into it would
    report its events imported and keep none (``--db`` given the file meant for ``import``).
    An empty file is left to DuckDB, which says it is not a valid database file."""
    head = b""
    with contextlib.suppress(OSError), path.open("rb") as fh:
        head = fh.read(_HEAD_BYTES)
    at, magic = _DUCKDB_MAGIC
    if not head or head[at : at + len(magic)] == magic:
        return
    raise DatabaseError(
        f"{path} is not a DuckDB database (it looks like {_foreign_kind(head)})",
        hint="give --db the path of a usagectl database; a file to read goes to `usagectl import FILE`",
    )


def _foreign_kind(head: bytes) -> str:
    """What a file that is not a DuckDB database looks like, from its first bytes: a known
    format by its magic, else text or binary data. (QA: a PDF, `export --pdf`'s own output, and
    random bytes were called "a text file: CSV, JSON or JSONL", when only a NUL in the first 16
    bytes made a file binary.)"""
    if head.startswith(_SQLITE_MAGIC):
        return "a SQLite database"
    if head.startswith(b"PAR1"):
        return "a Parquet file"
    if head.startswith(b"\x1f\x8b"):
        return "a gzip file"
    if head.startswith(b"%PDF-"):
        return "a PDF file"
    if _BINARY_BYTES.isdisjoint(head):
        return "a text file: CSV, JSON or JSONL"
    return "binary data"


def _make_folder(path: Path) -> None:
    """The folder of a new database; one that cannot be made (a read-only file system, no
    permission, a parent that is a regular file) is a database that cannot be created (exit 3)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseError(f"database {path} cannot be created: {os_reason(exc)}") from exc


def _not_there_yet(path: Path) -> list[Path]:
    """What opening ``path`` for writing creates when it is a new database: the file, its WAL
    (unless one was there), the missing folders above them, deepest first. Nothing for a
    database that exists: its WAL may hold committed changes not yet in the file."""
    if path.exists():
        return []
    new = [p for p in (path, Path(f"{path}.wal")) if not p.exists()]
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        new.append(folder)
        folder = folder.parent
    return new


def _remove_created(new: list[Path]) -> None:
    """Remove what ``_not_there_yet`` listed, as far as it exists now: files, then folders
    only while empty. Nothing that existed before is in the list."""
    for made in new:
        with contextlib.suppress(OSError):
            if made.is_dir():
                made.rmdir()
            else:
                made.unlink()


def refuse_name_not_utf8(path: Path) -> None:
    """DuckDB takes a file name as UTF-8 text: a name holding a byte that is not UTF-8 (a folder
    named in Latin-1, which Python hands over as a surrogate escape) failed inside it as
    "RuntimeError: std::bad_cast", an unexpected error (exit 1). Refused before any folder is
    made, the bytes shown as ``\\xe9``. Public for the demo, which builds its database in a
    folder beside the one named and must refuse the name the user gave, before making that folder."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        shown = shown_bytes(path)
        raise DatabaseError(
            f"database {shown} cannot be opened: its name is not UTF-8, and DuckDB opens only UTF-8 file names",
            hint="rename the file or folder, or give --db a path whose name is UTF-8",
        ) from None


def _raw_connect(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    from usagectl.store.engine import core as duckdb

    refuse_name_not_utf8(path)
    settle(path)
    creating = not path.exists()
    if creating:
        if read_only:
            raise DatabaseError(f"database {path} does not exist")
        _make_folder(path)
    else:
        _refuse_foreign(path)
    # a reading command's file may be open already (``early``); any other opening closes that first
    con = early.take(path) if read_only else None
    if con is None:
        early.discard()
        try:
            con = _open_engine(path, read_only)
        except duckdb.Error as exc:
            raise _translate(exc, path) from exc
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
        with private_files():
            _open_for_writing(path).close()


@contextlib.contextmanager
def private_files() -> Iterator[None]:
    """Files created meanwhile are the user's alone (umask 077): a writer's DuckDB creates the
    write-ahead log beside the database when it first writes, and the WAL holds the imported
    rows (members, chat titles, key names) until the checkpoint, or for good if the process is
    killed (QA: 0644 under the usual umask, beside a 0600 database)."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def _open_for_writing(path: Path) -> duckdb.DuckDBPyConnection:
    """A writer on ``path``, its schema brought up to date. A migration that fails (a full
    disk at its COMMIT) is the same error as a failure of the command's own writes.

    An opening that fails removes the database file (and WAL, folders) it created: a full disk
    leaves DuckDB's new file empty, and every later command, space freed or not, would refuse
    it as "not a valid DuckDB database file". A busy database was created by its holder."""
    new = _not_there_yet(path)
    try:
        con = _raw_connect(path, read_only=False)
    except DatabaseBusyError:
        raise
    except BaseException as exc:
        _remove_created(new)
        _refuse_denied_upgrade(exc, path)
        raise
    try:
        schema.migrate(con, str(path))
    except BaseException as exc:
        try:
            _abandon(con)
        finally:
            _remove_created(new)
        _refuse_denied_upgrade(exc, path)
        _raise_for_user(exc, path)
    return con


def _refuse_denied_upgrade(exc: BaseException, path: Path) -> None:
    """When the file system refused opening or writing ``path`` (a file of mode 0444, a folder
    of mode 0555, a read-only mount) and the database needs an upgrade, raise that the upgrade
    needs write access. DuckDB's "Cannot open file: Permission denied" (of a file that reads
    fine) and "cannot be written … changes were not stored" (from a report, which has none)
    named neither (QA). Any other failure, or a database up to date, keeps its own error."""
    from usagectl.store.engine import core as duckdb

    denied = _denied_in(exc)
    if denied is None or not path.exists():
        return
    try:  # only a database that needs an upgrade: an up-to-date one keeps the error as it is
        con = _open_engine(path, read_only=True)
        try:
            version = schema.current_version(con)
        finally:
            con.close()
    except duckdb.Error:
        return
    newest = schema.latest_version()
    if 0 < version < newest:
        why = f"upgrading it needs write access to the file and its folder ({denied})"
        raise schema.upgrade_refused(str(path), version, newest, why, schema.WRITE_ACCESS_HINT) from exc


def _denied_in(exc: BaseException) -> str | None:
    """ "FILE: Permission denied" (or the first line of DuckDB's message) when the file system
    refused ``exc`` or one of its causes (``_DENIED``); None for any other failure."""
    from usagectl.store.engine import core as duckdb

    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        marker = next((m for m in _DENIED if isinstance(cur, duckdb.Error) and m in str(cur)), None)
        if marker is not None:  # DuckDB quotes the file it could not open: the database or its WAL
            quoted = _QUOTED_FILE.search(str(cur))
            return f"{quoted[1]}: {marker}" if quoted else str(cur).splitlines()[0]
        cur = cur.__cause__ or (None if cur.__suppress_context__ else cur.__context__)
    return None


def _create_for_reading(path: Path) -> None:
    """A command that only reads creates the default database, so that a first ``usagectl
    report month`` shows an empty report; it refuses any other missing path. A path that was
    named (--db, $USAGECTL_DB, the config) and is missing is most likely a typo: creating it
    would show zeros as if they were the truth, and a CI ``budget status --fail-on`` would pass."""
    if os.path.abspath(path) != os.path.abspath(default_db_path()):
        raise _no_database(path)
    ensure_ready(path)


def _no_database(path: Path) -> InputError:
    return InputError(f"no database at {path} (import or sync first, or check --db / USAGECTL_DB)")


@contextlib.contextmanager
def connect(path: Path, *, read_only: bool = False, must_exist: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open, migrate if needed, yield, and always close. ``must_exist``: a write that only
    makes sense in a database with usage in it (a payment) refuses a missing one, at any path,
    like a read of a named path does, rather than recording it in a new empty database."""
    if must_exist and not path.exists():
        raise _no_database(path)
    if read_only:
        if not path.exists():
            _create_for_reading(path)
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
    # a writer's files (DuckDB's WAL, created at its first write) are private while it is open
    with contextlib.nullcontext() if read_only else private_files():
        if not read_only:
            con = _open_for_writing(path)
        try:
            yield con
        except BaseException as exc:
            _abandon(con)
            _raise_for_user(exc, path)
        _close(con, path, read_only)


@contextlib.contextmanager
def connect_as_is(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open an existing database read-only at whatever schema it has, never upgrading it (a
    file newer than this usagectl is still refused): for a look before the file is replaced
    whole, as the demo's at its old demo database (it upgraded it, kept a copy and said so,
    then rewrote it anyway). The caller's queries must hold at any schema."""
    con = _raw_connect(path, read_only=True)
    try:
        schema.pending(con, str(path))  # refuses a newer schema
        yield con
    except BaseException as exc:
        _abandon(con)
        _raise_for_user(exc, path)
    _close(con, path, True)


def _raise_for_user(exc: BaseException, path: Path) -> NoReturn:
    """Raise what a failure while the database was open means to the user: a full disk (an
    ``IOException``, or a ``FatalException`` at a checkpoint: not a bug of ours) or a file that
    cannot be read or written is a ``DatabaseError`` (exit 3); anything else stays itself."""
    from usagectl.store.engine import core as duckdb

    if isinstance(exc, duckdb.IOException) or (isinstance(exc, duckdb.Error) and write_failure(exc) is not None):
        raise _translate(exc, path) from exc
    denied = next((m for m in _DENIED if isinstance(exc, duckdb.Error) and m in str(exc)), None)
    if denied is not None:  # at COMMIT, the write-ahead log beside the file: a read-only folder
        raise DatabaseError(
            f"database {path} cannot be written: {denied} ({str(exc).splitlines()[0]}); "
            "this command's changes were not stored",
            hint="DuckDB writes a .wal file beside the database: the file and its folder must be writable",
        ) from exc
    raise exc


_DENIED = ("Permission denied", "Read-only file system")
_QUOTED_FILE = re.compile(r'"([^"]+)"')


def _no_space(path: Path, reason: str = "no space left on device") -> DatabaseError:
    """The disk of the database (or of its spill folder) is full, or a size limit or quota was
    reached: the write was rolled back, what was stored before stays (DuckDB's write-ahead log
    is replayed at the next open)."""
    return DatabaseError(
        f"database {path}: {reason}; this command's changes were not stored",
        hint=write_failure_hint(reason),
    )


def _abandon(con: duckdb.DuckDBPyConnection) -> None:
    """Close after a failure (Ctrl-C included), rolling back a transaction the block left open:
    closing would discard it too, but an explicit ROLLBACK does not depend on that, and a
    transaction DuckDB already aborted (an interrupted query) is ended the same way."""
    rollback(con)  # no transaction open (or DuckDB ended it): nothing to roll back
    con.close()


@contextlib.contextmanager
def connect_early(path: Path) -> Iterator[Callable[[], duckdb.DuckDBPyConnection]]:
    """``connect(path)`` for writing, opened on a background thread while the block does its
    first work (an import lists its files meanwhile; opening and migrating a new database
    takes ~0.1 s). The block calls ``get()`` for the connection, which waits for it (and
    raises what opening raised). If the block fails before calling ``get()``, the connection
    is closed, and a database file this opening created is removed again: a command that
    failed on its arguments leaves no empty database behind (an opening that fails removes
    what it created itself, ``_open_for_writing``)."""
    from concurrent.futures import ThreadPoolExecutor

    new = _not_there_yet(path)
    opening = connect(path)
    pool = ThreadPoolExecutor(1, thread_name_prefix="usagectl-open")
    future = pool.submit(opening.__enter__)
    pool.shutdown(wait=False)
    used = False

    def get() -> duckdb.DuckDBPyConnection:
        nonlocal used
        used = True
        return future.result()

    try:
        yield get
    except BaseException as exc:
        if future.exception() is None:  # waits for the opening; it failed too: nothing to close
            opening.__exit__(type(exc), exc, exc.__traceback__)  # closes (re-raises nothing)
            if not used:
                _remove_created(new)
        raise
    if not used:
        get()  # an error opening is still an error
    opening.__exit__(None, None, None)
