"""`usagectl export --parquet`: typed columns, Hive partitions by month in the chosen zone, and
the round trip through DuckDB and `usagectl import`. Fixture and hand-worked totals: see
``tests/test_export_csv.py`` (priced 6.36 USD, 4,695,100 tokens, 6 events, E5 unpriced;
E6 is 2025-11-30T23:30Z, i.e. 2025-12-01 00:30 in Europe/Berlin)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from tests.helpers import run, run_json
from tests.test_export_csv import ALL, TOTAL_COST, TOTAL_TOKENS, loaded, wire_export

D = Decimal
__all__ = ["loaded"]  # the fixture, shared with the CSV tests
TOKENS = "input_tokens + cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens + output_tokens"


@pytest.fixture(autouse=True)
def _wired() -> None:
    wire_export()


def test_events_parquet_is_typed_and_exact(loaded: Path, tmp_path: Path) -> None:
    out = tmp_path / "events.parquet"
    res = run("export", "--parquet", "--out", str(out), *ALL, "--db", str(loaded))
    assert "wrote 6 rows" in res.stderr and "1 event is unpriced" in res.stderr
    con = duckdb.connect()
    types = {r[0]: r[1] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(out)]).fetchall()}
    assert types["ts"] == "TIMESTAMP WITH TIME ZONE"
    assert types["cost_usd"].startswith("DECIMAL") and types["input_tokens"] == "BIGINT"
    row = con.execute(
        f"SELECT count(*), sum(cost_usd), sum({TOKENS}), count(*) FILTER (WHERE cost_usd IS NULL) FROM read_parquet(?)",
        [str(out)],
    ).fetchone()
    assert row == (6, TOTAL_COST, TOTAL_TOKENS, 1)  # exact DECIMAL, no float drift


def test_partition_by_month_in_zone(loaded: Path, tmp_path: Path) -> None:
    berlin = tmp_path / "berlin"
    run("export", "--parquet", "--partition-by", "month", "--tz", "Europe/Berlin", "--out", str(berlin),
        "--since", "2025-11-01", "--until", "2025-12-31", "--db", str(loaded))  # fmt: skip
    assert sorted(p.name for p in berlin.iterdir()) == ["month=2025-11", "month=2025-12"]
    con = duckdb.connect()
    per_month = con.execute(
        "SELECT month, count(*), sum(cost_usd) FROM read_parquet(?, hive_partitioning = true) GROUP BY 1 ORDER BY 1",
        [str(berlin / "**" / "*.parquet")],
    ).fetchall()
    # E6 (1.00) is December in Berlin: November 6.36 - 1.00 = 5.36 over 5 events
    assert per_month == [("2025-11", 5, D("5.36")), ("2025-12", 1, D("1.00"))]
    utc = tmp_path / "utc"
    run("export", "--parquet", "--partition-by", "month", "--tz", "UTC", "--out", str(utc), *ALL, "--db", str(loaded))
    assert [p.name for p in utc.iterdir()] == ["month=2025-11"]
    again = run(
        "export", "--parquet", "--partition-by", "month", "--out", str(utc), *ALL, "--db", str(loaded), expect=2
    )
    assert "exists" in again.stderr  # never mixes a new export into an old folder


def test_parquet_round_trip_through_import(loaded: Path, tmp_path: Path) -> None:
    folder = tmp_path / "parts"
    run("export", "--parquet", "--partition-by", "month", "--out", str(folder), *ALL, "--db", str(loaded))
    db2 = tmp_path / "copy.duckdb"
    run("import", str(folder), "--db", str(db2))
    totals = run_json("report", "by", "model", *ALL, "--db", str(db2))["totals"]
    assert D(str(totals["cost_usd"])) == TOTAL_COST
    assert totals["total_tokens"] == TOTAL_TOKENS and totals["requests"] == 6 and totals["unpriced_requests"] == 1


def test_report_parquet_typed(loaded: Path, tmp_path: Path) -> None:
    out = tmp_path / "daily.parquet"
    run("export", "--parquet", "--report", "daily", "--out", str(out), "--since", "2025-11-03", "--until",
        "2025-11-06", "--db", str(loaded))  # fmt: skip
    con = duckdb.connect()
    types = {r[0]: r[1] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(out)]).fetchall()}
    assert types["cost_usd"] == "DECIMAL(38,12)" and types["requests"] == "BIGINT"
    # UTC days 11-03..11-06: E1 3.50 + E2 0.75 + E3 0.51 + E4 0.60 = 5.36 (E5 unpriced)
    assert con.execute("SELECT sum(cost_usd), sum(requests) FROM read_parquet(?)", [str(out)]).fetchone() == (
        D("5.36"),
        5,
    )
