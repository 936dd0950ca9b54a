"""Closing the database file: now, or on a background thread while a command prints its output.

Kept apart from ``connection`` (which imports the schema and its migrations) so that the command
line can set up ``deferred_closes`` for every command without importing the store: a ``sync``
answered from its ledger never opens the database.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from usagectl.errors import DatabaseError

if TYPE_CHECKING:
    import duckdb

__all__ = ["close_when_done", "deferred_closes", "settle"]

# connections of this process still closing on a background thread, by database file, and
# what a failed background close raised
_closing: dict[str, threading.Thread] = {}
_close_errors: dict[str, BaseException] = {}
_deferring = False  # inside ``deferred_closes``


@contextlib.contextmanager
def deferred_closes() -> Iterator[None]:
    """Within this block (one command of the command line), a writer with nothing left to
    write closes on a background thread (``close_when_done``); every such close has finished when the
    block ends, and one that failed is a ``DatabaseError`` then (unless the block failed
    itself: its error is the one that matters). Outside this block (the services called as a
    library) every close is immediate: a caller may open the file with DuckDB right after."""
    global _deferring
    previous, _deferring = _deferring, True
    try:
        yield
    except BaseException:
        _deferring = previous
        for path in list(_closing):
            with contextlib.suppress(DatabaseError):
                settle(Path(path))
        raise
    _deferring = previous
    for path in list(_closing):
        settle(Path(path))


def _key(path: Path) -> str:
    return os.path.abspath(path)


def settle(path: Path) -> None:
    """Wait until a connection of this process to ``path`` that is closing in the background
    (``close_when_done``) has closed: DuckDB allows one open instance of a file per process."""
    key = _key(path)
    thread = _closing.pop(key, None)
    if thread is not None:
        thread.join()
    error = _close_errors.pop(key, None)
    if error is not None:
        raise DatabaseError(f"database {path} could not be closed: {str(error).splitlines()[0]}") from error


def close_when_done(con: duckdb.DuckDBPyConnection, path: Path, read_only: bool) -> None:
    """Close ``con``. A reader, or a writer whose changes are all in the database file already
    (no WAL: its last COMMIT checkpointed, see ``checkpoint_threshold`` in ``services.imports``),
    has nothing left to write, only memory to give back: ~0.1 s after a 1M-event import, a few
    ms after a report, spent on a background thread while the command prints its output (only
    within ``deferred_closes``). The next ``connect`` to the file in this process waits for it."""
    if not _deferring or (not read_only and os.path.exists(str(path) + ".wal")):
        con.close()
        return
    key = _key(path)

    def close() -> None:
        try:
            con.close()
        except Exception as exc:  # reported by settle, in the command's thread
            _close_errors[key] = exc

    thread = threading.Thread(target=close, name="usagectl-close")
    _closing[key] = thread
    thread.start()
