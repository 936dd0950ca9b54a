"""`usagectl export --parquet`: typed columns, Hive partitions by month in the chosen zone, and
the round trip through DuckDB and `usagectl import`. Fixture and hand-worked totals: see
``tests/test_export_csv.py`` (priced 6.36 USD, 4,695,100 tokens, 6 events, E5 unpriced;
E6 is 2025-11-30T23:30Z, i.e. 2025-12-01 00:30 in Europe/Berlin)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
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


# report column kind -> its Parquet type (a column of True/False values is BOOLEAN whatever its kind)
KIND_TYPES = {"money": "DECIMAL(38,12)", "amount": "DECIMAL(38,12)", "rate": "DECIMAL(38,12)", "int": "BIGINT",
              "pct": "DECIMAL(38,6)", "used_pct": "DECIMAL(38,6)", "float": "DOUBLE"}  # fmt: skip


@pytest.mark.parametrize(
    ("report", "args"),
    [("daily", ALL), ("monthly", ALL), ("month", ("--month", "2025-11")), ("by-model", ALL), ("by-member", ALL),
     ("team", ALL), ("cost-centers", ALL), ("invoice", ("--month", "2025-11"))],
)  # fmt: skip
def test_every_report_column_has_its_parquet_type(
    loaded: Path, tmp_path: Path, report: str, args: tuple[str, ...]
) -> None:
    """QA: daily/monthly wrote cost_change_usd (kind amount) and spike (True/False) as VARCHAR.
    Every numeric column of every report is typed (no money, count or flag as text)."""
    from usagectl.services.context import make_context
    from usagectl.services.export import build_report
    from usagectl.services.reports import ReportRequest

    out = tmp_path / f"{report}.parquet"
    run("export", "--parquet", "--report", report, *args, "--out", str(out), "--db", str(loaded))
    con = duckdb.connect()
    types = {r[0]: r[1] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(out)]).fetchall()}
    month = args[1] if args[0] == "--month" else None
    since, until = (None, None) if month else (args[1], args[3])
    result = build_report(make_context(None, loaded), report, ReportRequest(since=since, until=until), month)
    assert list(types) == [c.key for c in result.columns]
    for c in result.columns:
        values = [r.get(c.key) for r in result.rows if r.get(c.key) is not None]
        if values and all(isinstance(v, bool) for v in values):
            assert types[c.key] == "BOOLEAN", c.key
        elif c.kind in KIND_TYPES:
            assert types[c.key] == KIND_TYPES[c.kind], (c.key, c.kind, types[c.key])


def test_daily_change_and_spike_are_typed(loaded: Path, tmp_path: Path) -> None:
    """The daily report's change is money and its spike flag a boolean: DuckDB sums the change.
    UTC days 11-02..11-04: 0, E1 3.50 + E2 0.75 = 4.25, E3 0.51; changes (from the day before)
    11-02: 0 - 0 = 0, 11-03: +4.25, 11-04: 0.51 - 4.25 = -3.74; sum 0.51 = last - the day before
    the first (11-01: 0)."""
    out = tmp_path / "daily.parquet"
    run("export", "--parquet", "--report", "daily", "--since", "2025-11-02", "--until", "2025-11-04", "--tz", "UTC",
        "--out", str(out), "--db", str(loaded))  # fmt: skip
    con = duckdb.connect()
    rows = con.execute(
        "SELECT date, cost_usd, cost_change_usd, spike FROM read_parquet(?) ORDER BY date", [str(out)]
    ).fetchall()
    assert [(str(d), c, ch) for d, c, ch, _s in rows] == [
        ("2025-11-02", D(0), D(0)), ("2025-11-03", D("4.25"), D("4.25")), ("2025-11-04", D("0.51"), D("-3.74"))]  # fmt: skip
    assert all(isinstance(s, bool) for *_r, s in rows)
    assert con.execute("SELECT sum(cost_change_usd) FROM read_parquet(?)", [str(out)]).fetchone() == (D("0.51"),)


def test_a_partitioned_export_of_nothing_is_a_table_of_no_rows(loaded: Path, tmp_path: Path) -> None:
    """QA: --partition-by month with nothing selected left an empty folder, which DuckDB cannot
    read ("no files found") and `import` refused (exit 4), where the unpartitioned export writes
    a valid file of 0 rows. It now writes that file in the folder (no month holds it, so it is
    in no month= folder) and says so."""
    from usagectl.store.export import EVENT_EXPORT_NAMES

    folder = tmp_path / "parts"
    res = run("export", "--parquet", "--partition-by", "month", "--since", "2025-01-01", "--until", "2025-01-31",
              "--out", str(folder), "--db", str(loaded))  # fmt: skip
    assert "wrote 0 rows" in res.stderr and "no month holds events" in res.stderr
    assert [p.name for p in folder.iterdir()] == ["data_0.parquet"]
    con = duckdb.connect()
    rel = "read_parquet(?, hive_partitioning = true)"
    names = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {rel}", [str(folder / "**" / "*.parquet")]).fetchall()]
    assert names == list(EVENT_EXPORT_NAMES)
    assert con.execute(f"SELECT count(*) FROM {rel}", [str(folder / "**" / "*.parquet")]).fetchone() == (0,)
    assert run_json("import", str(folder), "--db", str(tmp_path / "copy.duckdb"))["imported"] == 0


def test_the_out_files_extension_chooses_the_format_when_no_option_does(loaded: Path, tmp_path: Path) -> None:
    """QA: ``--out x.parquet`` without ``--parquet`` wrote CSV into it (exit 0), and importing it
    rejected every line. Now the extension chooses: Parquet of the 6 events (tokens and cost
    the fixture's hand-worked totals), a JSON document whose rows are the 6 events, JSONL of 6
    lines. An option the extension contradicts is refused (exit 2) and writes nothing; FOCUS
    takes .csv or .parquet."""
    pq = tmp_path / "e.parquet"
    run("export", "--out", str(pq), *ALL, "--db", str(loaded))
    row = duckdb.connect().execute(f"SELECT count(*), sum(cost_usd), sum({TOKENS}) FROM read_parquet(?)", [str(pq)])
    assert row.fetchone() == (6, TOTAL_COST, TOTAL_TOKENS)
    js = tmp_path / "e.json"
    run("export", "--out", str(js), *ALL, "--db", str(loaded))
    assert len(json.loads(js.read_text(encoding="utf-8"))["rows"]) == 6
    jl = tmp_path / "e.JSONL"
    run("export", "--out", str(jl), *ALL, "--db", str(loaded))
    assert len([json.loads(line)["event_id"] for line in jl.read_text(encoding="utf-8").splitlines()]) == 6
    bad = tmp_path / "x.parquet"
    res = run("export", "--csv", "--out", str(bad), *ALL, "--db", str(loaded), expect=2)
    assert "--csv does not write Parquet" in res.stderr and not bad.exists()
    focus = tmp_path / "f.parquet"
    run("export", "--focus", "--out", str(focus), *ALL, "--db", str(loaded))
    assert duckdb.connect().execute("SELECT count(*) > 0 FROM read_parquet(?)", [str(focus)]).fetchone() == (True,)


# b"Jos\xe9": "José" in Latin-1, not UTF-8; Python holds the byte as the surrogate escape U+DCE9
LATIN1 = os.fsdecode(b"Jos\xe9")


def _copy_to_read(path: Path, tmp_path: Path) -> str:
    """A UTF-8-named copy of ``path`` for DuckDB to read back (it opens only UTF-8 names)."""
    copy = tmp_path / f"read-{len(list(tmp_path.glob('read-*')))}.parquet"
    shutil.copyfile(path, copy)
    return str(copy)


def test_parquet_to_a_name_that_is_not_utf8_is_written_under_that_name(
    loaded: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """QA: ``export --parquet``, ``--focus`` and ``--partition-by month`` with a Latin-1 --out
    crashed in DuckDB's COPY ("unexpected error: InvalidInputException … surrogate '\\udce9'"),
    which takes UTF-8 names only; CSV, JSONL and PDF wrote such a name. DuckDB now writes a
    UTF-8-named file in that folder (through a link when the folder's own name is Latin-1),
    renamed into place: each file holds the fixture's hand-worked totals (6 events, $6.36,
    4,695,100 tokens; FOCUS 11 rows, $6.36), the by-model rows sum to the $6.36, all of UTC's
    events are in month=2025-11, and nothing else is left (no .part file, no link)."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    folder = tmp_path / f"out{LATIN1}"
    folder.mkdir()
    events, models, focus, parts = (folder / f"{n}{LATIN1}{s}" for n, s in
                                    (("e", ".parquet"), ("m", ".parquet"), ("f", ".parquet"), ("d", "")))  # fmt: skip
    run("export", "--parquet", "--out", str(events), *ALL, "--db", str(loaded))
    run("export", "--parquet", "--report", "by-model", "--out", str(models), *ALL, "--db", str(loaded))
    run("export", "--focus", "--out", str(focus), *ALL, "--db", str(loaded))
    run("export", "--parquet", "--partition-by", "month", "--tz", "UTC", "--out", str(parts), *ALL, "--db", str(loaded))
    assert sorted(os.listdir(os.fsencode(folder))) == [b"dJos\xe9", b"eJos\xe9.parquet", b"fJos\xe9.parquet",
                                                      b"mJos\xe9.parquet"]  # fmt: skip
    assert [p.name for p in parts.iterdir()] == ["month=2025-11"]
    assert list(temp.iterdir()) == []
    con = duckdb.connect()
    sql = f"SELECT count(*), sum(cost_usd), sum({TOKENS}) FROM read_parquet(?)"
    assert con.execute(sql, [_copy_to_read(events, tmp_path)]).fetchone() == (6, TOTAL_COST, TOTAL_TOKENS)
    part = _copy_to_read(parts / "month=2025-11" / "data_0.parquet", tmp_path)
    assert con.execute(sql, [part]).fetchone() == (6, TOTAL_COST, TOTAL_TOKENS)
    by_model = con.execute("SELECT sum(cost_usd) FROM read_parquet(?)", [_copy_to_read(models, tmp_path)])
    assert by_model.fetchone() == (TOTAL_COST,)
    billed = con.execute("SELECT count(*), sum(BilledCost) FROM read_parquet(?)", [_copy_to_read(focus, tmp_path)])
    assert billed.fetchone() == (11, TOTAL_COST)
    # a Latin-1 file name in a UTF-8 folder: only the .part file's name changes, no link is needed
    alone = tmp_path / f"g{LATIN1}.parquet"
    run("export", "--parquet", "--out", str(alone), *ALL, "--db", str(loaded))
    assert con.execute(sql, [_copy_to_read(alone, tmp_path)]).fetchone() == (6, TOTAL_COST, TOTAL_TOKENS)
    assert not [n for n in os.listdir(os.fsencode(tmp_path)) if n.endswith(b".part")]


def test_parquet_to_a_latin1_folder_without_a_link_is_a_usage_error(
    loaded: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where no UTF-8 link to a Latin-1 folder can be made (the temporary folder's own name is
    Latin-1 too), the export is a usage error naming --out (its byte shown as \\xe9), exit 2,
    and leaves the folder as it was: no .part file, no partition folder."""
    temp = tmp_path / f"tmp{LATIN1}"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    folder = tmp_path / f"out{LATIN1}"
    folder.mkdir()
    said = "its name is not UTF-8, and DuckDB writes Parquet only to UTF-8 file names"
    res = run("export", "--parquet", "--out", str(folder / "e.parquet"), *ALL, "--db", str(loaded), expect=2)
    assert f"--out {tmp_path}/outJos\\xe9/e.parquet: {said}" in res.stderr
    res = run("export", "--parquet", "--partition-by", "month", "--out", str(folder / "d"), *ALL, "--db", str(loaded),
              expect=2)  # fmt: skip
    assert f"--out {tmp_path}/outJos\\xe9/d: {said}" in res.stderr
    assert list(folder.iterdir()) == [] and list(temp.iterdir()) == []
