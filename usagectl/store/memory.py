"""DuckDB memory limits: sizes as DuckDB spells them, and the import's limit kept exactly."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

_SIZE = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*(bytes|b|kb|mb|gb|tb|kib|mib|gib|tib)", re.IGNORECASE)
_UNITS = {"bytes": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}  # fmt: skip
# the session variable holding the import's memory limit as it was given (see set_memory_limit)
MEMORY_LIMIT_VARIABLE = "usagectl_import_memory_limit"
MOST_BYTES = 2**63 - 1  # DuckDB takes up to 2^64 bytes; a larger size is a parser error


def memory_bytes(text: str) -> int | None:
    """``800MB``, ``1.5 GiB``, ``762.9 MiB`` … in bytes (DuckDB's units, any case); None when
    ``text`` is not such a size."""
    m = _SIZE.fullmatch(text.strip())
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()]) if m else None


def checked_size(text: str) -> str:
    """``text`` when it is a memory size (safe to put in a ``SET``), else ValueError."""
    size = memory_bytes(text)
    if size is None:
        raise ValueError(f"not a memory size: {text!r}")
    if size > MOST_BYTES:  # DuckDB's own "Memory value out of range" was an unexpected error (QA)
        raise ValueError(f"{text.strip()} is more than a memory limit can be (at most 8 EiB)")
    return text.strip()


def set_memory_limit(con: duckdb.DuckDBPyConnection, limit: str) -> None:
    """Set DuckDB's memory limit for an import, and keep the text in a session variable:
    DuckDB reads its limit back rounded down (``800MB`` as ``762.9 MiB``, which sets 762.8), so
    a stager that raises the limit for a while (the Claude Code scan) restores it from this."""
    con.execute(f"SET memory_limit = '{checked_size(limit)}'")
    con.execute(f"SET VARIABLE {MEMORY_LIMIT_VARIABLE} = ?", [limit])


def memory_limit(con: duckdb.DuckDBPyConnection) -> str | None:
    """The limit ``set_memory_limit`` set on this connection, as given; None when it did not."""
    row = con.execute(f"SELECT getvariable('{MEMORY_LIMIT_VARIABLE}')").fetchone()
    return None if row is None or row[0] is None else str(row[0])
