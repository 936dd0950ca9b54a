"""A per-database lock for runs that must not overlap (``usagectl notify``).

``notify`` evaluates what is due on read-only connections before it opens the database for
writing, so DuckDB's own file lock alone would not stop a second run (cron or CI overlap) from
reading the same ledger meanwhile and sending the same keys again (and it would say "database
busy" rather than name the running notify). The lock is an OS lock (``flock`` on POSIX, ``msvcrt.locking`` on Windows) on a file next to
the database: the OS releases it when the process ends, however it ends, so a crashed run never
leaves a stale lock behind and no pid or age check is needed. The file holds the holder's pid and
start time, only for the message; it is left in place on release (removing it would let a third
run lock a new file while a second one still waits on the old one).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from usagectl.errors import DatabaseBusyError, DatabaseError, os_reason


def lock_path(db_path: Path, purpose: str) -> Path:
    return db_path.with_name(f"{db_path.name}.{purpose}.lock")


def _try_lock(handle: IO[str]) -> bool:
    """Take the lock without waiting; False when another process (or another open) holds it."""
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextlib.contextmanager
def exclusive_run(db_path: Path, purpose: str, what: str) -> Iterator[None]:
    """Hold the ``purpose`` lock of ``db_path`` for the block, or raise ``DatabaseBusyError``
    (exit 3) naming the run that holds it (``what`` is the command, for the message)."""
    path = lock_path(db_path, purpose)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:  # the database's folder is read-only (or not a folder): no run can be locked
        raise DatabaseError(f"the {what} lock file {path} cannot be created: {os_reason(exc)}") from exc
    with os.fdopen(fd, "r+", encoding="utf-8") as handle:
        if not _try_lock(handle):
            holder = ""
            with contextlib.suppress(OSError):  # Windows locks the byte against reading too
                holder = handle.read().strip()
            raise DatabaseBusyError(
                f"another `{what}` is still running on {db_path}{f' ({holder})' if holder else ''}: "
                "this run sent nothing",
                hint="the running one delivers what is due; run again after it has finished",
            )
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, started {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC")
        handle.flush()
        yield  # closing the file releases the lock


@contextlib.contextmanager
def waiting_lock(path: Path, what: str, timeout: float = 30.0) -> Iterator[None]:
    """Hold the OS lock on ``path`` (created 0600 if missing, left in place) for the block,
    waiting up to ``timeout`` seconds for another process to let go; then ``DatabaseBusyError``
    (exit 3) naming ``what``. For short read-modify-write edits that must take turns (two
    ``budget set`` at once each read the config, and the last rename kept only its budget)."""
    import time

    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)  # an OSError is the caller's to name
    with os.fdopen(fd, "r+", encoding="utf-8") as handle:
        deadline = time.monotonic() + timeout
        while not _try_lock(handle):
            if time.monotonic() >= deadline:
                raise DatabaseBusyError(
                    f"{what} is still held by another usagectl after {timeout:g} s ({path})",
                    hint="run again once the other command has finished",
                )
            time.sleep(0.05)
        yield  # closing the file releases the lock


@contextlib.contextmanager
def alive_mark(path: Path) -> Iterator[None]:
    """Hold the OS lock on ``path`` (created 0600) for the block, as a mark that this process is
    at work there: the lock goes with the process however it ends (SIGKILL too), so another one
    can tell a folder of a running command from one a killed command left (``is_abandoned``)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    with os.fdopen(fd, "r+", encoding="utf-8") as handle:
        _try_lock(handle)  # a new file: nobody else holds it
        yield


def is_abandoned(path: Path) -> bool:
    """Whether the mark ``path`` (``alive_mark``) is held by no process any more; False when it
    cannot be opened (missing, or not ours to open)."""
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return False
    with os.fdopen(fd, "r+", encoding="utf-8") as handle:
        return _try_lock(handle)  # released again as the file closes
