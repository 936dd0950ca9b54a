"""``load_temp_table``: Python values into a session table, exactly, whatever their type."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import duckdb
import pytest

from usagectl.store.tables import load_temp_table

COLUMNS = [
    ("i", "BIGINT"),
    ("h", "HUGEINT"),
    ("d", "DECIMAL(38,12)"),
    ("b", "BOOLEAN"),
    ("s", "VARCHAR"),
    ("f", "DOUBLE"),
    ("t", "TIMESTAMPTZ"),
]


def test_values_round_trip_exactly() -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    rows = [
        (1, 2**70, Decimal("0.000000000001"), True, 'quote " backslash \\ line\u2028sep', 0.1,
         datetime(2026, 3, 29, 1, 30, tzinfo=timezone(timedelta(hours=2)))),
        (-(2**63), -(2**70), Decimal("-12345678901234567890.5"), False, "", -1.5e-300, datetime(2000, 1, 1, tzinfo=UTC)),
        (None, None, None, None, None, float("nan"), None),
        (0, 0, Decimal("0"), None, "5", float("inf"), None),
    ]  # fmt: skip
    load_temp_table(con, "_t", COLUMNS, rows)
    got = con.execute("SELECT * FROM _t ORDER BY rowid").fetchall()
    assert got[0][:6] == (1, 2**70, Decimal("0.000000000001"), True, 'quote " backslash \\ line\u2028sep', 0.1)
    assert got[0][6] == datetime(2026, 3, 28, 23, 30, tzinfo=UTC)  # 01:30 at +02:00
    assert got[1] == (-(2**63), -(2**70), Decimal("-12345678901234567890.5"), False, "", -1.5e-300, rows[1][6])
    assert got[2][:5] == (None,) * 5 and math.isnan(got[2][5]) and got[2][6] is None
    assert got[3][:6] == (0, 0, Decimal("0"), None, "5", math.inf)  # "5" stays text


def test_empty_and_mismatched_rows() -> None:
    con = duckdb.connect()
    load_temp_table(con, "_e", COLUMNS, [])
    assert con.execute("SELECT count(*) FROM _e").fetchone() == (0,)
    with pytest.raises(ValueError):
        load_temp_table(con, "_e", [("a", "BIGINT"), ("b", "BIGINT")], [(1, 2), (3,)])
    with pytest.raises(ValueError):
        load_temp_table(con, "_e", [("a", "BIGINT")], [(1, 2)])
