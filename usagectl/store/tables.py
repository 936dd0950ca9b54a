"""Small session tables filled from Python values."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def load_temp_table(
    con: duckdb.DuckDBPyConnection, name: str, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]
) -> None:
    """A small session table from Python values.

    All values travel as ONE bound JSON text parameter of strings, cast to the column types
    in SQL (exact for DECIMAL and TIMESTAMPTZ): binding hundreds of Decimal parameters one by
    one costs a report more than its query, and pyarrow/pandas would cost more still.
    """
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} ({', '.join(f'{c} {t}' for c, t in columns)})")
    if not rows:
        return
    payload = json.dumps([{c: _text(v) for (c, _), v in zip(columns, row, strict=True)} for row in rows])
    structure = json.dumps([{c: "VARCHAR" for c, _ in columns}])
    casts = ", ".join(f"CAST(r.{c} AS {t})" for c, t in columns)
    con.execute(
        f"INSERT INTO {name} SELECT {casts} FROM (SELECT unnest(from_json(?, ?)) AS r)",
        [payload, structure],
    )
