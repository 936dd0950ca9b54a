"""Ending a transaction that failed, without losing why it failed."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb


def rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back the transaction a failure left open, keeping that failure as the error.

    A COMMIT that fails (a full disk refusing the write-ahead log) has already ended the
    transaction in DuckDB, and so has a query it aborted: a ROLLBACK then raises
    "cannot rollback - no transaction is active", which would replace the real error (the full
    disk, exit 3) by an unexpected one. Call it from an ``except`` block that re-raises."""
    with contextlib.suppress(Exception):  # the original error matters more
        con.execute("ROLLBACK")
