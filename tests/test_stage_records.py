"""Staging of records read by Python importers: a small chunk goes to DuckDB as one JSON text,
a large one through Arrow. Both must stage the very same texts, whatever the values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import duckdb
import pytest

from usagectl.models import Record
from usagectl.store import ingest

VALUES: list[Any] = [
    "plain",
    "",
    "é ü 😀",
    "nul \x00 inside",
    "lone \ud800 surrogate",
    0,
    -5,
    2**63 - 1,
    2**70,  # beyond 64 bits: staged as its text, for the checks to refuse
    1.5,
    float("nan"),
    True,
    False,
    None,
    {"a": 1, "b": [1, "x"], "c": {"d": None}},
    {"lone": "\udc00"},
    [1, 2],
    datetime(2025, 11, 3, 21, 10, 2, 118000, tzinfo=UTC),
    datetime(2025, 11, 3, 23, 10, tzinfo=timezone(timedelta(hours=2))),
    Decimal("0.000123"),
    Decimal("1E+3"),
]


def _records() -> list[tuple[int, Record]]:
    out = []
    for i, v in enumerate(VALUES):
        fields = {"event_id": f"e{i}", "input_tokens": v, "model_raw": v, "extra": v}
        out.append((i % 3, Record(i + 1, i + 2, fields)))
    out.append((1, Record(len(VALUES) + 1, 99, {}, "bad line", "raw \ud800 text")))
    return out


def _staged(monkeypatch: pytest.MonkeyPatch, small_chunk: int) -> list[tuple[Any, ...]]:
    monkeypatch.setattr(ingest, "SMALL_CHUNK", small_chunk)
    con = duckdb.connect()
    try:
        ingest.stage_record_files(con, iter(_records()))
        return con.execute("SELECT * FROM _stage ORDER BY _rec").fetchall()
    finally:
        con.close()


def test_json_and_arrow_paths_stage_the_same_texts(monkeypatch: pytest.MonkeyPatch) -> None:
    via_json = _staged(monkeypatch, 10_000)
    via_arrow = _staged(monkeypatch, 0)
    assert via_json == via_arrow
    assert len(via_json) == len(VALUES) + 1
    by_rec = {row[0]: row for row in via_json}
    names = [d for d in ("_rec", "_line", "_raw", "_problem", *ingest.EVENT_COLUMN_NAMES, "_unknown", "_fi")]
    col = {n: i for i, n in enumerate(names)}

    def text(i: int, name: str) -> Any:
        return by_rec[i + 1][col[name]]

    # by hand: what each value is staged as
    assert text(0, "model_raw") == "plain"
    assert text(3, "model_raw") == "nul \x00 inside"
    assert text(4, "model_raw") == "lone \ufffd surrogate"
    assert text(7, "input_tokens") == "9223372036854775807"
    assert text(8, "input_tokens") == "1180591620717411303424"
    assert text(11, "input_tokens") == "true"
    assert text(13, "input_tokens") is None
    assert text(14, "extra") == '{"a":1,"b":[1,"x"],"c":{"d":null}}'
    assert text(15, "extra") == '{"lone":"\\ufffd"}'
    assert text(17, "model_raw") == "2025-11-03T21:10:02.118000+00:00"
    assert text(19, "model_raw") == "0.000123"
    assert text(20, "model_raw") == "1000"
    assert (text(0, "_fi"), text(4, "_fi")) == (0, 1)
    bad = by_rec[len(VALUES) + 1]
    assert (bad[col["_line"]], bad[col["_problem"]], bad[col["_raw"]]) == (99, "bad line", "raw \ufffd text")
