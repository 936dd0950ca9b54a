"""Events CSV/JSONL/JSON are formatted by DuckDB (``COPY``): the SQL formatters agree with the
Python reference (``render.text.csv_cell``, ``money_fixed``, ``json.dumps``) on hostile values,
and the whole export is byte for byte what the former Python writer produced from the same rows
(``store.export.iter_events`` + ``csv.writer``/``json_dumps``, rebuilt here as the reference).

Fixture and hand-worked totals of the first DB: ``tests/test_export_csv.py`` (6 events, priced
6.36 USD, E5 unpriced). The second DB holds text that needs quoting or escaping."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from tests.helpers import run, write_jsonl
from tests.test_export_csv import ALL, TOTAL_COST, loaded, wire_export

D = Decimal
__all__ = ["loaded"]

NASTY_TEXT = [
    'comma, "quote" and\r\nCRLF',  # quoted, quotes doubled, line break kept inside the quotes
    "=cmd|' /C calc'!A0",  # formula: neutralised in CSV, unchanged in JSON
    "\u00e9t\u00e9 \u20ac 😀 e\u0301",  # non-ASCII: UTF-8 in CSV, \\u escapes (a surrogate pair) in JSON
    "tab\tbell\x07 del\x7f back\\slash",  # control characters and a backslash
    " -leading space",  # not a formula start (space first): unchanged
    "",  # empty text: an empty CSV field, "" in JSON
]
NASTY = [
    {"event_id": f"N{i}", "ts": f"2025-11-0{3 + i % 3}T1{i}:00:00.123456Z", "model_raw": "gpt-4o",
     "member": text, "chat_title": text, "project": text[::-1], "input_tokens": 1_000 * (i + 1)}
    for i, text in enumerate(NASTY_TEXT)
]  # fmt: skip


@pytest.fixture(autouse=True)
def _wired() -> None:
    wire_export()


@pytest.fixture
def nasty(tmp_path: Path, db_path: Path) -> Path:
    run("import", str(write_jsonl(tmp_path / "nasty.jsonl", NASTY)), "--db", str(db_path))
    return db_path


def _reference(db: Path, fmt: str, since: str = "2025-11-01", until: str = "2025-12-31") -> bytes:
    """The former Python writer: Arrow rows from ``iter_events``, formatted one cell at a time."""
    from usagectl.render.text import csv_cell, json_dumps
    from usagectl.services.context import make_context
    from usagectl.services.export import event_columns
    from usagectl.services.reports import ReportRequest, build_filters
    from usagectl.store import reports as q
    from usagectl.store.connection import connect
    from usagectl.store.export import iter_events

    ctx = make_context(None, db)
    flt = build_filters(ctx, ReportRequest(since=since, until=until, tz="UTC"))
    with connect(db, read_only=True) as con:
        q.prepare_session(con, ctx.pricebook(), ctx.config.members, flt)
        rows = [r for batch in iter_events(con, flt) for r in batch]
    for r in rows:
        r["ts"] = r["ts"].strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    columns = event_columns()
    if fmt != "csv":  # JSON writes the reported cost as a string of its digits (a double would drop some)
        for r in rows:
            if r["reported_cost_usd"] is not None:
                r["reported_cost_usd"] = format(r["reported_cost_usd"].normalize(), "f")
    out = io.StringIO(newline="")
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow([c.key for c in columns])
        writer.writerows([csv_cell(r[c.key], c.kind) for c in columns] for r in rows)
    elif fmt == "jsonl":
        out.writelines(json_dumps(r, indent=None) + "\n" for r in rows)
    else:
        cost = sum((r["cost_usd"] for r in rows if r["cost_usd"] is not None), D(0))
        unpriced = sum(r["cost_usd"] is None for r in rows)
        out.write('{"report": "events", "filters": ' + json_dumps(flt.as_dict(), indent=None) + ', "rows": [')
        out.write("".join(("\n" if i == 0 else ",\n") + json_dumps(r, indent=None) for i, r in enumerate(rows)))
        totals = {"events": len(rows), "cost_usd": cost, "unpriced_events": unpriced}
        out.write('\n], "totals": ' + json_dumps(totals, indent=None) + "}\n")
    return out.getvalue().encode("utf-8")


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "json"])
def test_same_bytes_as_the_python_writer(loaded: Path, nasty: Path, fmt: str) -> None:
    for db in (loaded, nasty):
        new = run("export", f"--{fmt}", *ALL, "--tz", "UTC", "--db", str(db)).stdout_bytes
        assert new == _reference(db, fmt)


def test_hostile_text_in_csv_and_json(nasty: Path) -> None:
    raw = run("export", "--csv", *ALL, "--db", str(nasty)).stdout_bytes.decode("utf-8")
    rows = {r["event_id"]: r for r in csv.DictReader(io.StringIO(raw, newline=""))}
    assert rows["N0"]["member"] == 'comma, "quote" and\r\nCRLF'  # RFC 4180 round trip
    assert '"comma, ""quote"" and\r\nCRLF"' in raw
    assert rows["N1"]["member"] == "'=cmd|' /C calc'!A0"
    assert rows["N4"]["member"] == " -leading space"
    assert rows["N5"]["member"] == "" and rows["N5"]["project"] == ""
    lines = run("export", "--jsonl", *ALL, "--db", str(nasty)).stdout_bytes
    assert lines.isascii()  # json.dumps' ASCII form: \u00e9, 😀 as the pair \ud83d\ude00
    assert b'"\\u00e9t\\u00e9 \\u20ac \\ud83d\\ude00 e\\u0301"' in lines
    recs = {r["event_id"]: r for r in map(json.loads, lines.splitlines())}
    assert [recs[f"N{i}"]["member"] for i in range(6)] == [*NASTY_TEXT[:5], None]  # '' is stored as NULL


def test_sql_formatters_agree_with_the_python_reference() -> None:
    from usagectl.render.text import csv_cell
    from usagectl.store.export import sql_csv_text, sql_json_text, sql_money_fixed

    texts = [*NASTY_TEXT, "+1", "-1", "@x", "\tx", "\rx", "'x", "'=x", "''+x", "'", "''", "x=", "\\", '"',
             "\x00x", "\U0010ffff", None]  # fmt: skip
    con = duckdb.connect()
    got = con.execute(
        f"SELECT {sql_csv_text('t')}, {sql_json_text('t')} FROM unnest(?::VARCHAR[]) WITH ORDINALITY AS u(t, i) "
        "ORDER BY i",
        [texts],
    ).fetchall()
    assert [c or "" for c, _j in got] == [csv_cell(t, "str") for t in texts]
    assert [j for _c, j in got] == ["null" if t is None else json.dumps(t) for t in texts]
    # half-even to 6 places, by hand: 0.0000005 -> 0.000000 (0 is even); 0.0000015 -> 0.000002;
    # 2.0000025 -> 2.000002; -0.0000025 -> -0.000002; 0.0003125 -> 0.000312; 0.00000050001 rounds
    # up (over a half) -> 0.000001; -0.0000001 -> 0.000000 (never signed); -0.5 -> -0.500000
    money = ["0.0000005", "0.0000015", "2.0000025", "-0.0000025", "0.0003125", "0.00000050001",
             "-0.0000001", "-0.5", "319792.649606120000"]  # fmt: skip
    want = ["0.000000", "0.000002", "2.000002", "-0.000002", "0.000312", "0.000001", "0.000000", "-0.500000",
            "319792.649606"]  # fmt: skip
    got_money = con.execute(
        f"SELECT {sql_money_fixed('m')} FROM unnest(?::DECIMAL(38,12)[]) WITH ORDINALITY AS u(m, i) ORDER BY i",
        [[D(m) for m in money]],
    ).fetchall()
    assert [r[0] for r in got_money] == want == [csv_cell(D(m), "money") for m in money]


def test_runs_stdout_and_file_are_the_same_bytes(loaded: Path, tmp_path: Path) -> None:
    """One event per sorted run (5 UTC days hold E1+E2, E3, E4, E5, E6) appends to the same
    bytes as one run; --out writes the same bytes as stdout."""
    from usagectl.services.context import make_context
    from usagectl.services.export import events_text
    from usagectl.services.reports import ReportRequest

    ctx = make_context(None, loaded)
    req = ReportRequest(since="2025-11-01", until="2025-12-31", tz="UTC")
    for fmt in ("csv", "jsonl"):
        tiny, whole = io.BytesIO(), io.BytesIO()
        res = events_text(ctx, req, fmt, tiny, chunk_events=1)
        events_text(ctx, req, fmt, whole)
        assert tiny.getvalue() == whole.getvalue() == _reference(loaded, fmt)
        assert (res.events, res.cost_usd, res.unpriced_events) == (6, TOTAL_COST, 1)
        out = tmp_path / f"events.{fmt}"
        run("export", f"--{fmt}", "--out", str(out), *ALL, "--tz", "UTC", "--db", str(loaded))
        assert out.read_bytes() == whole.getvalue()
        assert not list(tmp_path.glob(".*.part"))


def test_parquet_summary_read_back_from_the_file(loaded: Path, tmp_path: Path) -> None:
    res = run("export", "--parquet", "--out", str(tmp_path / "e.parquet"), *ALL, "--db", str(loaded))
    assert "wrote 6 rows" in res.stderr and "priced cost $6.360000" in res.stderr  # 6.36, see the fixture
    res = run("export", "--parquet", "--partition-by", "month", "--out", str(tmp_path / "p"), *ALL, "--db", str(loaded))
    assert (
        "wrote 6 rows" in res.stderr and "priced cost $6.360000" in res.stderr and "1 event is unpriced" in res.stderr
    )


def test_an_empty_range_totals_zero_not_null(loaded: Path, tmp_path: Path) -> None:
    """No event in the range: nothing is unpriced, so the priced cost is 0 (as a report's totals),
    not null, which says "events are there and none is priced". One row is "1 row"."""
    empty = ("--since", "2020-01-01", "--until", "2020-01-02")
    doc = json.loads(run("export", "--json", *empty, "--db", str(loaded)).stdout)
    assert doc["rows"] == [] and doc["totals"] == {"events": 0, "cost_usd": 0, "unpriced_events": 0}
    res = run("export", "--parquet", "--out", str(tmp_path / "e.parquet"), *empty, "--db", str(loaded))
    assert "wrote 0 rows" in res.stderr and "priced cost $0.000000" in res.stderr
    one = run("export", "--parquet", "--out", str(tmp_path / "one.parquet"), "--since", "2025-11-01", "--until",
              "2025-12-31", "--model", "claude-sonnet-4-5", "--db", str(loaded))  # fmt: skip
    assert "wrote 1 row to" in one.stderr, one.stderr


def test_connections_never_draw_a_progress_bar(tmp_path: Path) -> None:
    """DuckDB's progress bar goes to stdout for long queries; it must never reach exported data."""
    from usagectl.store.connection import connect

    with connect(tmp_path / "p.duckdb") as con:
        assert con.execute("SELECT current_setting('enable_progress_bar')").fetchone() == (False,)
