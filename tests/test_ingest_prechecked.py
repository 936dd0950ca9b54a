"""ingest's ``prechecked`` path (a stager that validates and types its own rows) and the
``before_insert`` hook: the same values, reasons and counts as the generic path."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from usagectl.models import EVENT_COLUMN_NAMES, EVENT_COLUMNS
from usagectl.store import ingest, validation
from usagectl.store.connection import connect

# text values that exercise every branch of the generic checks (accepted, converted, rejected)
_INTS = ["12", "12.0", "+5", "-3", "12.5", "abc", "1e3", "99999999999999999999", "", None]
_TS = ["2025-11-03T10:00:00Z", "2025-11-03T10:00:00+00:00", "1762164000", "1762164000123", "garbage", "1999-01-01"]
_COST = ["0.5", "1e-3", "x", None]


def _staged_rows() -> list[dict[str, str | None]]:
    rows = []
    for i, v in enumerate(_INTS):
        rows.append({"ts": _TS[i % len(_TS)], "input_tokens": v, "output_tokens": _INTS[-1 - i],
                     "reported_cost_usd": _COST[i % len(_COST)], "service_tier": ["", "Batch", None, "default"][i % 4],
                     "event_id": f"e{i}", "model_raw": "m"})  # fmt: skip
    for i, ts in enumerate(_TS):
        rows.append({"ts": ts, "input_tokens": "1", "output_tokens": "2", "event_id": f"t{i}", "model_raw": None,
                     "reported_cost_usd": None, "service_tier": None})  # fmt: skip
    return rows


def _load_stage(con: duckdb.DuckDBPyConnection, rows: list[dict[str, str | None]]) -> None:
    cols = ", ".join(f'"{c}" VARCHAR' for c in EVENT_COLUMN_NAMES)
    con.execute(f"CREATE TEMP TABLE _stage (_rec BIGINT, _line BIGINT, _raw VARCHAR, _problem VARCHAR, {cols}, "
                "_unknown VARCHAR, _fi BIGINT)")  # fmt: skip
    for i, r in enumerate(rows, 1):
        vals = [i, None, None, None] + [r.get(c) for c in EVENT_COLUMN_NAMES] + [None, 0]
        con.execute(f"INSERT INTO _stage VALUES ({', '.join('?' for _ in vals)})", vals)


def test_checked_select_matches_the_generic_validation() -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    rows = _staged_rows()
    _load_stage(con, rows)
    generic = con.execute(validation._validation_select("jsonl", "_fi") + " ORDER BY _rec").fetchall()
    text = ["event_id", "ts", "model_raw", "input_tokens", "output_tokens", "service_tier", "reported_cost_usd"]
    sub = "SELECT _rec, _fi, _problem, " + ", ".join(f'"{c}"' for c in text) + " FROM _stage"
    typed = {"source": "'jsonl'", "requests": "1::BIGINT"}
    pre = con.execute(validation.checked_select("jsonl", text, typed, sub) + " ORDER BY _rec").fetchall()
    names = ["_rec", "_line", "_raw", "_reason", *EVENT_COLUMN_NAMES, "_fi"]
    pre_names = ["_rec", "_line", "_raw", "_reason", *text, *typed, "_fi"]
    assert len(generic) == len(pre) == len(rows)
    for g, p in zip(generic, pre):
        gd, pd = dict(zip(names, g)), dict(zip(pre_names, p))
        assert pd["_reason"] == gd["_reason"]
        for c in pre_names:
            assert pd[c] == gd[c], (c, gd, pd)
    # the reasons really were exercised (by hand: -3 negative, 12.5 not an integer, abc not a
    # number, 1e3 not an integer, garbage not a timestamp, 1999 out of range)
    reasons = " | ".join(str(dict(zip(names, g))["_reason"]) for g in generic)
    for part in ("negative (-3)", "not an integer (12.5)", "not a number (abc)", "not a timestamp",
                 "out of range", "reported_cost_usd: not a number (x)"):  # fmt: skip
        assert part in reasons


def test_absent_columns_get_the_generic_values_of_a_missing_field() -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    _load_stage(con, [{"ts": "2025-11-03T10:00:00Z"}])
    row = con.execute(validation._validation_select("claude-code", "_fi")).fetchone()
    assert row is not None
    got = dict(zip(["_rec", "_line", "_raw", "_reason", *EVENT_COLUMN_NAMES, "_fi"], row))
    for c, kind in EVENT_COLUMNS:
        if c == "ts":
            continue
        (absent,) = con.execute(f"SELECT {validation._absent_value(c, 'claude-code')}").fetchone()  # type: ignore[misc]
        assert absent == got[c], c
        if kind == "int":
            assert con.execute(f"SELECT typeof({validation._absent_value(c, 'x')})").fetchone() == ("BIGINT",)
    # by hand: token buckets, reasoning and web searches default to 0, requests to 1
    assert (got["input_tokens"], got["reasoning_tokens"], got["requests"], got["latency_ms"]) == (0, 0, 1, None)
    assert (got["source"], got["service_tier"]) == ("claude-code", "standard")


def _prechecked_stage(rows: list[tuple[Any, ...]]) -> Any:
    """A stager that makes _checked itself from (rec, fi, problem, event_id, ts, in, out, session)."""

    def stage(con: duckdb.DuckDBPyConnection) -> list[str]:
        con.execute("CREATE OR REPLACE TEMP TABLE _src (_rec BIGINT, _fi BIGINT, _problem VARCHAR, event_id VARCHAR, "
                    "ts VARCHAR, input_tokens VARCHAR, output_tokens VARCHAR, session_id VARCHAR)")  # fmt: skip
        con.executemany("INSERT INTO _src VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        text = ["event_id", "ts", "input_tokens", "output_tokens", "session_id"]
        typed = {"extra": "json_object('k', _rec)"}
        sub = "SELECT _rec, _fi, _problem, " + ", ".join(text) + " FROM _src"
        con.execute(f"CREATE TEMP TABLE _checked AS {validation.checked_select('toy', text, typed, sub)}")
        return []

    return stage


def _info(tmp_path: Path, name: str) -> ingest.BatchInfo:
    return ingest.BatchInfo(source="toy", path=tmp_path / name, file_size=1, file_mtime=datetime.now(UTC),
                            fingerprint=f"fp-{name}")  # fmt: skip


def test_prechecked_import_stores_typed_rows_and_rejects(db_path: Path, tmp_path: Path) -> None:
    rows = [
        (1, 0, None, "a", "2025-11-03T10:00:00Z", "10", "5", "s1"),
        (2, 0, None, "a", "2025-11-03T10:00:01Z", "10", "7", "s1"),  # same id, more usage: wins (max-usage)
        (3, 0, None, "b", "2025-11-03T11:00:00Z", "-3", "1", "s1"),  # rejected
        (1, 1, "unparseable", None, None, None, None, None),  # rejected, second file
        (2, 1, None, "c", "2025-11-04T00:00:00Z", "1", "2", None),
    ]
    with connect(db_path) as con:
        counts, _ = ingest.import_staged_files(
            con, [_info(tmp_path, "f0"), _info(tmp_path, "f1")], _prechecked_stage(rows),
            lambda raws: {r: (None, None) for r in raws}, default_source="toy", conflict="max-usage", prechecked=True,
        )  # fmt: skip
        stored = con.execute(
            "SELECT event_id, input_tokens, output_tokens, requests, reasoning_tokens, service_tier, source, "
            "extra::VARCHAR FROM events ORDER BY event_id"
        ).fetchall()
        rejects = con.execute("SELECT file, record, reason, raw FROM rejects ORDER BY file, record").fetchall()
    # f0: 3 records, a twice (one copy lost in the file), b rejected; f1: 2 records, one rejected
    assert [(c.records, c.imported, c.duplicates, c.rejected) for c in counts] == [(3, 1, 1, 1), (2, 1, 0, 1)]
    assert stored == [
        ("a", 10, 7, 1, 0, "standard", "toy", '{"k":2}'),  # 10+7 = 17 > 10+5 = 15
        ("c", 1, 2, 1, 0, "standard", "toy", '{"k":2}'),
    ]
    assert [r[:3] for r in rejects] == [
        (str(tmp_path / "f0"), 3, "input_tokens: negative (-3)"),
        (str(tmp_path / "f1"), 1, "not a JSON object"),
    ]
    # no locate: the raw text is the row's stored fields as JSON
    assert '"event_id":"b"' in rejects[0][3] and '"input_tokens":"-3"' in rejects[0][3]


def test_before_insert_hook_keeps_rows_out_and_drops_stored_ones(db_path: Path, tmp_path: Path) -> None:
    first = [
        (1, 0, None, "x", "2025-11-03T10:00:00Z", "1", "1", "s"),
        (2, 0, None, "y", "2025-11-03T10:00:00Z", "1", "1", "s"),
    ]
    second = [
        (1, 0, None, "z", "2025-11-03T10:00:00Z", "1", "1", "s"),
        (2, 0, None, "w", "2025-11-03T10:00:00Z", "1", "1", "s"),
    ]

    def hook(con: duckdb.DuckDBPyConnection, ids: list[int]) -> dict[int, int]:
        con.execute("CREATE TEMP TABLE _skip AS SELECT _rid FROM _new WHERE event_id = 'w'")
        con.execute("CREATE TEMP TABLE _drop_stored AS SELECT event_id FROM events WHERE event_id = 'y'")
        return {ids[0]: 1}

    resolve: Any = lambda raws: {r: (None, None) for r in raws}  # noqa: E731
    with connect(db_path) as con:
        ingest.import_staged_files(con, [_info(tmp_path, "a")], _prechecked_stage(first), resolve,
                                   default_source="toy", conflict="max-usage", prechecked=True)  # fmt: skip
        counts, _ = ingest.import_staged_files(con, [_info(tmp_path, "b")], _prechecked_stage(second), resolve,
                                               default_source="toy", conflict="max-usage", prechecked=True,
                                               before_insert=hook)  # fmt: skip
        ids = [r[0] for r in con.execute("SELECT event_id FROM events ORDER BY event_id").fetchall()]
    # x stays, y (stored) dropped, z new, w kept out: 2 records, 1 imported, 1 duplicate, 1 replaced
    assert ids == ["x", "z"]
    c = counts[0]
    assert (c.records, c.imported, c.duplicates, c.dup_stored, c.replaced) == (2, 0, 1, 1, 1)


@pytest.mark.parametrize("column", ["model_raw", "model"])
def test_model_name_from_whichever_column_the_stager_filled(db_path: Path, tmp_path: Path, column: str) -> None:
    def stage(con: duckdb.DuckDBPyConnection) -> list[str]:
        sub = f"SELECT 1::BIGINT AS _rec, 0::BIGINT AS _fi, NULL AS _problem, 'e' AS event_id, '2025-11-03T10:00:00Z' AS ts, 'claude-sonnet-4-5-20250929' AS {column}"
        con.execute(
            f"CREATE TEMP TABLE _checked AS {validation.checked_select('toy', ['event_id', 'ts', column], {}, sub)}"
        )
        return []

    seen: list[list[str]] = []

    def resolve(raws: list[str]) -> dict[str, tuple[str | None, str | None]]:
        seen.append(raws)
        return {r: ("claude-sonnet-4-5", "anthropic") for r in raws}

    with connect(db_path) as con:
        ingest.import_staged_files(con, [_info(tmp_path, "m")], stage, resolve, default_source="toy", prechecked=True)
        row = con.execute("SELECT model, model_raw, provider FROM events").fetchone()
    assert seen == [["claude-sonnet-4-5-20250929"]]
    assert row == ("claude-sonnet-4-5", "claude-sonnet-4-5-20250929", "anthropic")


def test_staging_before_the_transaction_is_cleaned_up_on_failure(
    db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stager runs before ingest's transaction (its scratch memory is then freed when it is
    dropped): an import that fails later rolls back the stored data and leaves no staged table
    behind, and the same connection imports the next batch as usual."""
    rows = [(1, 0, None, "a", "2025-11-03T10:00:00Z", "10", "5", "s1")]
    resolve: Any = lambda raws: {r: (None, None) for r in raws}  # noqa: E731

    def boom(con: object) -> None:
        raise KeyboardInterrupt

    staged = "SELECT count(*) FROM duckdb_tables() WHERE table_name IN ('_checked', '_stage', '_files', '_src')"
    with connect(db_path) as con:
        monkeypatch.setattr(ingest, "before_commit_hook", boom)
        with pytest.raises(KeyboardInterrupt):
            ingest.import_staged_files(con, [_info(tmp_path, "a")], _prechecked_stage(rows), resolve,
                                       default_source="toy", prechecked=True)  # fmt: skip
        assert con.execute("SELECT count(*) FROM events").fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM import_batches").fetchone() == (0,)
        assert con.execute(staged).fetchone() == (1,)  # only the test stager's own source table
        monkeypatch.undo()
        con.execute("DROP TABLE _src")
        counts, _ = ingest.import_staged_files(con, [_info(tmp_path, "a")], _prechecked_stage(rows), resolve,
                                               default_source="toy", prechecked=True)  # fmt: skip
        assert (counts[0].records, counts[0].imported) == (1, 1)
        assert con.execute(staged).fetchone() == (1,)
        assert con.execute("SELECT count(*) FROM events").fetchone() == (1,)


def _located_rows() -> list[tuple[Any, ...]]:
    return [
        (1, 0, None, "a", "2025-11-03T10:00:00Z", "10", "5", "s1"),
        (2, 0, "unparseable", None, None, None, None, None),  # a malformed line: refined by locate
        (3, 0, "unparseable", None, None, None, None, None),  # a line the format skips: not a record
        (4, 0, None, "b", "2025-11-03T11:00:00Z", "-3", "1", "s1"),  # rejected by the checks
        (1, 1, "unparseable", None, None, None, None, None),  # no line found: stays "not a JSON object"
        (2, 1, None, "c", "2025-11-04T00:00:00Z", "1", "2", None),
    ]


def test_rejects_get_their_lines_from_locate_after_the_insert(db_path: Path, tmp_path: Path) -> None:
    """locate_rejects runs beside the insert: it changes only rejected rows (line, raw text,
    reason; a skipped line stops being a record), whatever it finds, and the counts agree."""
    calls: list[tuple[int, set[int]]] = []

    def locate(fi: int, recs: set[int]) -> dict[int, tuple[int, str] | tuple[int, str, str | None]]:
        calls.append((fi, set(recs)))
        if fi == 0:
            return {2: (3, '{"broken": '), 3: (5, '{"type": "summary"}', ""), 4: (6, '{"b": -3}')}
        return {}

    resolve: Any = lambda raws: {r: (None, None) for r in raws}  # noqa: E731
    with connect(db_path) as con:
        counts, _ = ingest.import_staged_files(
            con, [_info(tmp_path, "f0"), _info(tmp_path, "f1")], _prechecked_stage(_located_rows()), resolve,
            locate_rejects=locate, default_source="toy", conflict="max-usage", prechecked=True,
        )  # fmt: skip
        stored = con.execute("SELECT event_id, input_tokens FROM events ORDER BY event_id").fetchall()
        rejects = con.execute("SELECT file, line, record, reason, raw FROM rejects ORDER BY file, record").fetchall()
    assert sorted(calls) == [(0, {2, 3, 4}), (1, {1})]
    assert stored == [("a", 10), ("c", 1)]
    # f0: records 1, 2, 4 (3 is a skipped line); f1: records 1, 2
    assert [(c.records, c.imported, c.rejected) for c in counts] == [(3, 1, 2), (2, 1, 1)]
    assert rejects[0][:4] == (str(tmp_path / "f0"), 3, 2, "not valid JSON: Expecting value (column 12)")
    assert rejects[0][4] == '{"broken": '
    assert rejects[1] == (str(tmp_path / "f0"), 6, 4, "input_tokens: negative (-3)", '{"b": -3}')
    assert rejects[2][:4] == (str(tmp_path / "f1"), None, 1, "not a JSON object")


def test_a_failing_locate_rolls_the_import_back(db_path: Path, tmp_path: Path) -> None:
    def locate(fi: int, recs: set[int]) -> dict[int, tuple[int, str]]:
        raise OSError(f"file {fi} vanished")

    resolve: Any = lambda raws: {r: (None, None) for r in raws}  # noqa: E731
    staged = "SELECT count(*) FROM duckdb_tables() WHERE table_name IN ('_checked', '_stage', '_files', '_fixes')"
    with connect(db_path) as con:
        with pytest.raises(OSError, match="file 0 vanished"):
            ingest.import_staged_files(
                con, [_info(tmp_path, "f0"), _info(tmp_path, "f1")], _prechecked_stage(_located_rows()), resolve,
                locate_rejects=locate, default_source="toy", conflict="max-usage", prechecked=True,
            )  # fmt: skip
        assert con.execute("SELECT count(*) FROM events").fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM rejects").fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM import_batches").fetchone() == (0,)
        assert con.execute(staged).fetchone() == (0,)
