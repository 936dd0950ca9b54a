"""Small session tables filled from Python values."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb


def load_temp_table(
    con: duckdb.DuckDBPyConnection, name: str, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]
) -> None:
    """A small session table from Python values, with bound parameters (no pyarrow/pandas:
    importing them would cost a report more time than its query)."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} ({', '.join(f'{c} {t}' for c, t in columns)})")
    width = len(columns)
    for i in range(0, len(rows), 200):
        chunk = rows[i : i + 200]
        values = ", ".join("(" + ", ".join("?" * width) + ")" for _ in chunk)
        con.execute(f"INSERT INTO {name} VALUES {values}", [v for row in chunk for v in row])
