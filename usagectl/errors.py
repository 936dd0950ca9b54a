"""One error hierarchy and the documented exit-code table.

Every expected failure is a ``UsagectlError`` subclass; ``usagectl.cli.main`` maps it to
its exit code and prints its message on stderr without a traceback (``USAGECTL_DEBUG=1``
shows one).
"""

from __future__ import annotations

import errno
import os
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    UNEXPECTED = 1
    USAGE = 2
    DATABASE = 3  # busy, corrupt, or newer than this code
    INPUT = 4  # an input file could not be read
    BUDGET = 5  # a budget threshold was crossed (only with --fail-on)
    INTERRUPTED = 130  # Ctrl-C (SIGINT): 128 + 2, what a shell reports for a command it interrupted
    TERMINATED = 143  # SIGTERM (``timeout``, systemd, CI): 128 + 15, handled as Ctrl-C is


class UsagectlError(Exception):
    """Base of every expected failure."""

    exit_code: ExitCode = ExitCode.UNEXPECTED

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(UsagectlError):
    """The command line or a value given on it is wrong."""

    exit_code = ExitCode.USAGE


class ConfigError(UsagectlError):
    """The config file is unreadable or holds a bad value (names file, key and problem)."""

    exit_code = ExitCode.USAGE


class OutputError(UsagectlError):
    """What the command writes cannot be written: standard output, an ``--out`` file, or the
    temporary folder an export writes its rows to first (a full disk, a file size limit, a disk
    quota, an I/O error). Exit 2, as the README gives for an ``--out`` file: the database is not
    involved (QA: a Parquet ``--out`` on a full disk blamed the database, exit 3)."""

    exit_code = ExitCode.USAGE


class DatabaseError(UsagectlError):
    exit_code = ExitCode.DATABASE


class DatabaseBusyError(DatabaseError):
    pass


class DatabaseTooNewError(DatabaseError):
    pass


class InputError(UsagectlError):
    """An input file could not be read at all (a bad record is a reject, not this)."""

    exit_code = ExitCode.INPUT


class PricingError(UsagectlError):
    """A price table is broken (names file and key)."""

    exit_code = ExitCode.USAGE


class StrictCheckFailed(UsagectlError):
    """``--strict`` found something it was asked to fail on."""

    exit_code = ExitCode.UNEXPECTED


class BudgetThresholdCrossed(UsagectlError):
    exit_code = ExitCode.BUDGET


class OutOfMemory(UsagectlError):
    """DuckDB ran out of memory under the limit set for it (the message names the limit); a
    limit the user gave is a ``UsageError`` instead (``services.export``)."""

    exit_code = ExitCode.UNEXPECTED


class Interrupted(UsagectlError):
    """Ctrl-C: the command stopped; the message says what that left behind (it is printed as
    ``usagectl: interrupted…``, not as an error to report)."""

    exit_code = ExitCode.INTERRUPTED


def was_interrupted(exc: BaseException) -> bool:
    """Whether ``exc`` is, or was caused by, Ctrl-C. DuckDB turns SIGINT during a query into
    ``InterruptException`` or ``RuntimeError("Query interrupted")`` instead of
    KeyboardInterrupt, and a cleanup statement run after it on the aborted transaction
    raises a ``TransactionException`` that hides it: so the whole chain is searched. Named by
    type name here, since nothing outside ``store`` imports duckdb."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, KeyboardInterrupt) or isinstance(cur, Interrupted):
            return True
        if type(cur).__name__ == "InterruptException":
            return True
        if isinstance(cur, RuntimeError) and str(cur).strip() == "Query interrupted":
            return True
        cur = cur.__cause__ or (None if cur.__suppress_context__ else cur.__context__)
    return False


def ran_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is, or was caused by, DuckDB's ``OutOfMemoryException`` (named by type
    name, as in ``was_interrupted``: nothing outside ``store`` imports duckdb)."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if type(cur).__name__ == "OutOfMemoryException":
            return True
        cur = cur.__cause__ or (None if cur.__suppress_context__ else cur.__context__)
    return False


# What the OS says when a write of the database cannot go on (DuckDB quotes it in its message),
# and how the message to the user words it
_WRITE_FAILURES = (
    ("No space left on device", "no space left on device"),
    ("File too large", "the file grew past a file size limit (ulimit -f)"),
    ("Disk quota exceeded", "disk quota exceeded"),
)
_WRITE_HINTS = {"the file grew past a file size limit (ulimit -f)": "raise the limit (ulimit -f unlimited)"}


def write_failure_hint(reason: str) -> str:
    """What to do about a ``write_failure``, then run the command again."""
    first = _WRITE_HINTS.get(reason, "free some space (or use --db on another disk)")
    return f"{first} and run the command again"


def write_failure(exc: BaseException) -> str | None:
    """Why a write of the database could not go on, when ``exc`` is, or was caused by, one that
    found the disk full, a file size limit or a disk quota (a ROLLBACK failing after a failed
    COMMIT keeps it as the context, as in ``was_interrupted``); None for anything else."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        text = str(cur)
        for marker, words in _WRITE_FAILURES:
            if marker in text:
                return words
        cur = cur.__cause__ or (None if cur.__suppress_context__ else cur.__context__)
    return None


# errno of a write that cannot go on for want of room or of a working device -> words for it
# (None: the OS's own; its "File too large" does not say that a ``ulimit -f`` is the cause) and
# what to do about it
_OUTPUT_FAILURES: dict[int, tuple[str | None, str | None]] = {
    errno.ENOSPC: (None, "free some space on its disk (or write to another disk)"),
    errno.EFBIG: ("the file grew past the file size limit of ulimit -f", "raise the limit (ulimit -f unlimited)"),
    errno.EDQUOT: (None, "free some of your disk quota (or write to another disk)"),
    errno.EIO: (None, None),
}


def unwritable(what: str, exc: OSError, where: str = "") -> OutputError | None:
    """``what: <reason><where>`` (``what`` names the output: "cannot write standard output",
    "--out FILE cannot be written") when ``exc`` is a write that found the disk full, a file
    size limit or a disk quota reached, or the device failing; None for any other failure,
    which keeps its own message."""
    if exc.errno not in _OUTPUT_FAILURES:
        return None
    words, hint = _OUTPUT_FAILURES[exc.errno]
    reason = words or exc.strerror or str(exc)
    return OutputError(f"{what}: {reason}{where}", hint=hint and f"{hint} and run the command again")


def shown_bytes(path: str | os.PathLike[str]) -> str:
    """A name as text that can be printed and stored: each byte of it that is not UTF-8 (a file
    system or command line hands such bytes over as surrogate escapes) shown as ``\\xe9``, as the
    user typed or the disk holds it. One spelling for every message that names such a path."""
    return os.fsencode(os.fspath(path)).decode("utf-8", "backslashreplace")


def os_reason(exc: OSError) -> str:
    """The path and the OS's reason for a file that could not be created or written, in words
    that fit: ``mkdir`` under a path whose parent is a regular file says "File exists" (or
    "Not a directory"), which names no problem the user can see."""
    if isinstance(exc, FileExistsError):  # mkdir(exist_ok=True) of a path that is a file
        return f"{exc.filename} is a file, not a folder"
    if isinstance(exc, NotADirectoryError):
        return f"a part of {exc.filename} is a file, not a folder"
    return f"{exc.filename}: {exc.strerror}" if exc.filename else str(exc.strerror or exc)


def exit_code_for(exc: BaseException) -> ExitCode:
    if isinstance(exc, UsagectlError):
        return exc.exit_code
    if was_interrupted(exc):
        return ExitCode.INTERRUPTED
    return ExitCode.UNEXPECTED
