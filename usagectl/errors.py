"""One error hierarchy and the documented exit-code table.

Every expected failure is a ``UsagectlError`` subclass; ``usagectl.cli.main`` maps it to
its exit code and prints its message on stderr without a traceback (``USAGECTL_DEBUG=1``
shows one).
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    UNEXPECTED = 1
    USAGE = 2
    DATABASE = 3  # busy, corrupt, or newer than this code
    INPUT = 4  # an input file could not be read
    BUDGET = 5  # a budget threshold was crossed (only with --fail-on)


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


def exit_code_for(exc: BaseException) -> ExitCode:
    if isinstance(exc, UsagectlError):
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        return ExitCode.UNEXPECTED
    return ExitCode.UNEXPECTED
