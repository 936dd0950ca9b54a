"""SIGTERM (what ``timeout``, systemd and a cancelled CI job send) taken the route of Ctrl-C.

Python turns SIGINT into KeyboardInterrupt, and everything downstream already handles that:
DuckDB checks for a pending signal between the tasks of a running query and stops it
(``RuntimeError("Query interrupted")``), open transactions roll back, ``with`` blocks remove
their temporary folders, and ``usagectl.cli`` prints one "interrupted" line. SIGTERM's default
action ends the process on the spot instead, skipping all of that (and leaving
``usagectl-sync-*`` folders holding copies of session logs behind). So its handler raises
KeyboardInterrupt too, and records that it was SIGTERM: by the time the exit code is chosen the
interrupt may have become DuckDB's "Query interrupted", which no longer says which signal it was.

Standard library only: the console entry point installs this before it imports the command line.
"""

from __future__ import annotations

import signal
from types import FrameType

from usagectl.errors import ExitCode

_terminated = False


class Terminated(KeyboardInterrupt):
    """The KeyboardInterrupt raised for SIGTERM (a subclass, so every ``except KeyboardInterrupt``
    and ``was_interrupted`` applies unchanged)."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    global _terminated
    _terminated = True
    raise Terminated("SIGTERM")


def install() -> None:
    """Take SIGTERM like Ctrl-C from now on. A SIGTERM the parent set to be ignored stays ignored,
    as Python itself leaves an ignored SIGINT alone."""
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_IGN:
        signal.signal(signal.SIGTERM, _on_sigterm)


def terminated() -> bool:
    """Whether SIGTERM arrived (the interruption being handled is then SIGTERM's, not Ctrl-C's)."""
    return _terminated


def exit_code() -> int:
    """128 + the signal's number, as a shell reports a command a signal stopped: 143 or 130."""
    return int(ExitCode.TERMINATED if _terminated else ExitCode.INTERRUPTED)


def describe(message: str) -> str:
    """An "interrupted…" message naming SIGTERM when that was the cause, so that a log of a
    stopped service or CI job does not read as if someone had pressed Ctrl-C."""
    if _terminated and message.startswith("interrupted"):
        return "interrupted by SIGTERM" + message.removeprefix("interrupted")
    return message
