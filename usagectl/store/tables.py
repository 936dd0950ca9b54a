"""Small session tables filled from Python values."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from usagectl.models import without_lone_surrogate

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


def temp_tables(con: duckdb.DuckDBPyConnection, *names: str) -> set[str]:
    """Which of ``names`` are temporary tables of this connection."""
    marks = ", ".join("?" for _ in names)
    rows = con.execute(
        f"SELECT table_name FROM duckdb_tables() WHERE temporary AND table_name IN ({marks})", list(names)
    )
    return {str(r[0]) for r in rows.fetchall()}


def load_temp_table(
    con: duckdb.DuckDBPyConnection, name: str, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]
) -> None:
    """A small session table from Python values.

    All values travel as ONE bound JSON text parameter, one list per column (strings and
    integers as JSON has them, other values as text), cast to the column types in SQL (exact
    for DECIMAL and TIMESTAMPTZ): binding hundreds of Decimal parameters one by one costs a
    report more than its query, and pyarrow/pandas would cost more still. Column lists with
    JSON's own values cost half the time of an object per row (12k rows: 0.04 s).
    """
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} ({', '.join(f'{c} {t}' for c, t in columns)})")
    if not rows:
        return
    data = [list(col) for col in zip(*rows, strict=True)]
    if len(data) != len(columns):
        raise ValueError(f"{name}: {len(columns)} columns, rows of {len(data)}")
    insert_columns(con, name, columns, data)


def insert_columns(
    con: duckdb.DuckDBPyConnection, name: str, columns: Sequence[tuple[str, str]], data: Sequence[Sequence[Any]]
) -> None:
    """INSERT into ``name``'s ``columns`` (name, type) the values of ``data``, one list per
    column, as ONE bound JSON text (see ``load_temp_table``). A text holding a lone surrogate
    (which no JSON reader takes) keeps U+FFFD in its place."""
    plain = (str, int)  # not bool (JSON's true/false) nor float (NaN is not JSON): those go as text
    lists = [[v if v is None or type(v) in plain else _text(v) for v in col] for col in data]
    text = json.dumps(lists)
    if "\\ud" in text:
        lists = [[without_lone_surrogate(v) if isinstance(v, str) else v for v in col] for col in lists]
        text = json.dumps(lists)
    names = ", ".join(c for c, _ in columns)
    casts = ", ".join(f"CAST(unnest(j[{i}]) AS {t})" for i, (_, t) in enumerate(columns, 1))
    con.execute(
        f"INSERT INTO {name} ({names}) SELECT {casts} FROM (SELECT from_json(?::JSON, '[[\"VARCHAR\"]]') AS j)",
        [text],
    )


def rows_as_dicts(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Every row of the result on ``cur`` as a dict keyed by its column names."""
    names = [d[0] for d in cur.description or ()]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
