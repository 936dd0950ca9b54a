"""Canonical import: idempotence, rejects with reasons, rollback, formats."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from tests.helpers import query, run, run_json, write_jsonl
from usagectl.errors import Interrupted
from usagectl.models import EVENT_COLUMN_NAMES
from usagectl.services.context import make_context
from usagectl.services.imports import import_paths
from usagectl.store import ingest

GOOD = [
    {
        "event_id": "e1",
        "ts": "2025-11-03T10:00:00.000Z",
        "model_raw": "gpt-4o",
        "input_tokens": 1000,
        "output_tokens": 200,
        "member": "alice",
    },
    {
        "event_id": "e2",
        "ts": "2025-11-03T11:00:00Z",
        "model_raw": "claude-sonnet-4-5-20250929",
        "input_tokens": 10,
        "cache_read_tokens": 5000,
        "output_tokens": 300,
    },
    {"ts": "2025-11-04 09:30:00", "model": "gpt-4o-mini", "input_tokens": 50, "output_tokens": 5, "session_id": "s1"},
]


def _query(db: Path, sql: str) -> list[tuple]:  # type: ignore[type-arg]
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _count(db: Path, sql: str) -> int:
    return int(_query(db, sql)[0][0])


def test_import_twice_adds_nothing(tmp_path: Path, db_path: Path) -> None:
    f = write_jsonl(tmp_path / "a.jsonl", GOOD)
    first = run_json("import", str(f), "--db", str(db_path))
    assert (first["records"], first["imported"], first["duplicates"], first["rejected"]) == (3, 3, 0, 0)
    second = run_json("import", str(f), "--db", str(db_path))
    assert second["imported"] == 0 and second["per_file"][0]["unchanged"] is True
    # the same events in a different file (new bytes, same identities) are duplicates
    g = write_jsonl(
        tmp_path / "b.jsonl",
        [*GOOD, {"event_id": "e4", "ts": "2025-11-05T00:00:00Z", "model": "gpt-4o", "input_tokens": 1}],
    )
    third = run_json("import", str(g), "--db", str(db_path))
    assert (third["records"], third["imported"], third["duplicates"]) == (4, 1, 3)
    assert _count(db_path, "SELECT count(*) FROM events") == 4


def test_event_without_id_gets_a_deterministic_id_across_formats(tmp_path: Path, db_path: Path) -> None:
    rec = {
        "ts": "2025-11-04T09:30:00Z",
        "model": "gpt-4o-mini",
        "input_tokens": 50,
        "output_tokens": 5,
        "member": "bob",
    }
    j = write_jsonl(tmp_path / "x.jsonl", [rec])
    c = tmp_path / "x.csv"
    with c.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rec))
        w.writeheader()
        w.writerow(rec)
    run("import", str(j), "--db", str(db_path))
    out = run_json("import", str(c), "--db", str(db_path))
    assert (out["imported"], out["duplicates"]) == (0, 1)
    ids = _query(db_path, "SELECT event_id FROM events")
    assert len(ids) == 1 and ids[0][0].startswith("h:")


def test_bad_records_are_rejected_with_file_line_and_reason(tmp_path: Path, db_path: Path) -> None:
    lines = [
        GOOD[0],  # line 1 ok
        "",  # line 2 blank: skipped, not a record
        {"event_id": "b1", "input_tokens": 5},  # line 3: missing ts
        {"event_id": "b2", "ts": "2025-11-03T10:00:00Z", "input_tokens": -3},  # line 4
        {"event_id": "b3", "ts": "2025-11-03T10:00:00Z", "output_tokens": 12.5},  # line 5
        {"event_id": "b4", "ts": "yesterday", "input_tokens": 1},  # line 6
        '{"event_id": "b5", "ts": "2025-11-03T10:00:00Z", "input_tokens": ',  # line 7 truncated
        {"event_id": "b6", "ts": "2025-11-03T10:00:00Z", "cache_read_tokens": "lots"},  # line 8
        GOOD[1],  # line 9 ok
    ]
    f = write_jsonl(tmp_path / "bad.jsonl", lines)
    out = run_json("import", str(f), "--db", str(db_path))
    assert (out["records"], out["imported"], out["rejected"]) == (8, 2, 6)
    rows = _query(db_path, "SELECT file, line, reason, raw FROM rejects ORDER BY line")
    assert [r[1] for r in rows] == [3, 4, 5, 6, 7, 8]
    assert all(r[0] == str(f.resolve()) for r in rows)
    reasons = [r[2] for r in rows]
    assert reasons[0] == "missing ts"
    assert reasons[1] == "input_tokens: negative (-3)"
    assert reasons[2] == "output_tokens: not an integer (12.5)"
    assert reasons[3] == "ts: not a timestamp (yesterday)"
    assert reasons[4].startswith("not valid JSON")
    assert reasons[5] == "cache_read_tokens: not a number (lots)"
    assert rows[4][3] == '{"event_id": "b5", "ts": "2025-11-03T10:00:00Z", "input_tokens": '
    # the summary on stderr says how many were rejected
    result = run("import", str(write_jsonl(tmp_path / "bad2.jsonl", lines[:5])), "--db", str(db_path))
    assert "rejected 3" in result.stderr
    assert run_json("db", "rejects", "--db", str(db_path))["totals"]["rejects"] == 9


def test_a_time_outside_the_stored_range_names_the_range(tmp_path: Path, db_path: Path) -> None:
    """1999-12-31 and 2100-01-31 are refused; the reason says which times are taken (QA: it only
    said "out of range"). 2000-01-01 itself is in."""
    lines = [{"event_id": f"r{i}", "ts": ts, "model_raw": "gpt-4o-mini", "input_tokens": 1}
             for i, ts in enumerate(["1999-12-31T23:59:59Z", "2000-01-01T00:00:00Z", "2100-01-31T00:00:00Z"])]  # fmt: skip
    out = run_json("import", str(write_jsonl(tmp_path / "r.jsonl", lines)), "--db", str(db_path))
    assert (out["imported"], out["rejected"]) == (1, 2)
    assert _query(db_path, "SELECT line, reason FROM rejects ORDER BY line") == [
        (1, "ts: out of range (1999-12-31T23:59:59Z; usage times must lie from 2000-01-01 to 2100-01-01)"),
        (3, "ts: out of range (2100-01-31T00:00:00Z; usage times must lie from 2000-01-01 to 2100-01-01)"),
    ]


def test_csv_records_keep_their_line_numbers_and_field_count_errors(tmp_path: Path, db_path: Path) -> None:
    c = tmp_path / "e.csv"
    c.write_text(
        "event_id,ts,model,input_tokens,output_tokens,chat_title\n"
        'c1,2025-11-03T10:00:00Z,gpt-4o,10,20,"multi\nline title"\n'
        "c2,2025-11-03T10:00:00Z,gpt-4o,abc,20,x\n"
        "c3,2025-11-03T10:00:00Z,gpt-4o,10\n"
        "c4,2025-11-03T10:00:00Z,gpt-4o,10,20,ok\n",
        encoding="utf-8",
    )
    out = run_json("import", str(c), "--db", str(db_path))
    assert (out["records"], out["imported"], out["rejected"]) == (4, 2, 2)
    rows = _query(db_path, "SELECT line, record, reason FROM rejects ORDER BY record")
    assert rows == [
        (4, 2, "input_tokens: not a number (abc)"),
        (5, 3, "expected 6 fields, found 4"),
    ]


def test_an_unclosed_quote_rejects_its_record_and_the_lines_after_it_are_read_again(
    tmp_path: Path, db_path: Path
) -> None:
    """A quoted field still open at the end of the file swallowed every later row into one
    field without a word: now the record where the quote opened is rejected and the lines
    after it are records again; a legitimate multi-line field keeps working, line numbers too."""
    c = tmp_path / "unclosed.csv"
    c.write_text(
        "event_id,ts,model,input_tokens,output_tokens,chat_title,member\n"  # line 1
        'u1,2025-11-03T10:00:00Z,gpt-4o,1,20,"two\nlines",alice\n'  # lines 2-3: closed, fine
        'u2,2025-11-03T10:00:00Z,gpt-4o,10,20,"two\nlines","bob\n'  # lines 4-5: opens on line 5
        "u3,2025-11-03T10:00:00Z,gpt-4o,100,20,t,carol\n"  # line 6
        "\n"  # line 7 blank
        'u4,2025-11-03T10:00:00Z,gpt-4o,1000,20,"",dave\n'  # line 8: "" kept u2's field open
        "u5,2025-11-03T10:00:00Z,gpt-4o,10000,20,t,frank",  # line 9, no line end
        encoding="utf-8",
    )
    out = run_json("import", str(c), "--db", str(db_path))
    assert (out["records"], out["imported"], out["rejected"]) == (5, 4, 1)
    # by hand: u1 + u3 + u4 + u5 = 1 + 100 + 1000 + 10000 input tokens, 4 x 20 output
    assert _query(db_path, "SELECT sum(input_tokens), sum(output_tokens), string_agg(member, ',' ORDER BY ts, member) "
                  "FROM events") == [(11101, 80, "alice,carol,dave,frank")]  # fmt: skip
    why = "unclosed quote (the field runs to the end of the file)"
    assert _query(db_path, "SELECT line, record, reason, raw FROM rejects ORDER BY record") == [
        (4, 2, why, 'u2,2025-11-03T10:00:00Z,gpt-4o,10,20,"two\nlines","bob'),
    ]


def test_a_csv_header_with_an_unclosed_quote_refuses_the_file(tmp_path: Path, db_path: Path) -> None:
    c = tmp_path / "head.csv"
    c.write_text('event_id,"ts,model\ne1,2025-11-03T10:00:00Z,gpt-4o\n', encoding="utf-8")
    result = run("import", str(c), "--db", str(db_path), expect=4)
    assert "line 1: cannot read the CSV header: unclosed quote" in result.stderr


def test_a_csv_header_naming_a_column_twice_refuses_the_file(tmp_path: Path, db_path: Path) -> None:
    """Two input_tokens columns (1000 and 2000): which one is right cannot be known, so the
    file is refused (exit 4) instead of keeping the last value; names are compared as the
    header matching compares them (case and spaces aside)."""
    c = tmp_path / "dup.csv"
    c.write_text(
        "event_id,ts,model_raw,input_tokens,output_tokens,input_tokens\n"
        "h1,2025-11-03T10:00:00Z,gpt-4o-mini,1000,100,2000\n",
        encoding="utf-8",
    )
    result = run("import", str(c), "--db", str(db_path), expect=4)
    assert f"{c}: line 1: the CSV header names column 'input_tokens' twice" in " ".join(result.stderr.split())
    c.write_text("event_id,ts,model_raw, TS\nh1,2025-11-03T10:00:00Z,gpt-4o-mini,2025-11-04T10:00:00Z\n")
    result = run("import", str(c), "--db", str(db_path), expect=4)
    assert "names column 'ts' twice (as 'ts' and 'TS')" in " ".join(result.stderr.split())
    assert _count(db_path, "SELECT count(*) FROM events") == 0


def test_empty_and_repeated_unknown_csv_columns_are_kept_apart_in_extra(tmp_path: Path, db_path: Path) -> None:
    c = tmp_path / "names.csv"
    c.write_text(
        "event_id,ts,model_raw,input_tokens,tag,,tag,\n"  # positions 5 to 8: tag, (empty), tag, (empty)
        "h2,2025-11-03T10:00:00Z,gpt-4o-mini,1000,a,x,b,y\n",
        encoding="utf-8",
    )
    result = run("import", str(c), "--db", str(db_path))
    warning = " ".join(result.stderr.split())
    assert "column_6 (an empty name), tag_2 (a repeated 'tag'), column_8 (an empty name)" in warning
    extra = _query(db_path, "SELECT extra FROM events")[0][0]
    assert json.loads(extra) == {"tag": "a", "column_6": "x", "tag_2": "b", "column_8": "y"}


def test_csv_header_names_match_canonical_columns_whatever_their_case(tmp_path: Path, db_path: Path) -> None:
    c = tmp_path / "upper.csv"
    c.write_text(
        " Event_ID ,TS,Model_Raw,Input_Tokens,Output_Tokens\nk5,2025-11-03T10:00:00Z,gpt-4o-mini,1000,100\n",
        encoding="utf-8",
    )
    result = run("import", str(c), "--db", str(db_path))
    assert "unknown" not in result.stderr
    assert _query(db_path, "SELECT event_id, input_tokens, output_tokens, extra FROM events") == [
        ("k5", 1000, 100, None)
    ]
    assert _count(db_path, "SELECT count(*) FROM rejects") == 0


def test_parquet_round_trip(tmp_path: Path, db_path: Path) -> None:
    j = write_jsonl(tmp_path / "a.jsonl", GOOD)
    run("import", str(j), "--db", str(db_path))
    pq = tmp_path / "events.parquet"
    con = duckdb.connect(str(db_path))
    cols = ", ".join(c for c in EVENT_COLUMN_NAMES)
    con.execute(f"COPY (SELECT {cols} FROM events) TO '{pq}' (FORMAT parquet)")
    con.close()
    other = tmp_path / "other.duckdb"
    out = run_json("import", str(pq), "--db", str(other))
    assert (out["records"], out["imported"], out["rejected"]) == (3, 3, 0)
    q = "SELECT sum(input_tokens), sum(output_tokens), sum(cache_read_tokens), count(DISTINCT event_id) FROM events"
    a = _query(db_path, q)[0]
    b = _query(other, q)[0]
    assert a == b == (1060, 505, 5000, 3)


def test_unknown_columns_are_kept_in_extra(tmp_path: Path, db_path: Path) -> None:
    f = write_jsonl(tmp_path / "x.jsonl", [{**GOOD[0], "gpu": "h100", "extra": {"a": 1}}])
    result = run("import", str(f), "--db", str(db_path))
    assert "gpu" in result.stderr
    extra = _query(db_path, "SELECT extra FROM events")[0][0]
    assert json.loads(extra) == {"a": 1, "gpu": "h100"}


HEAD = "event_id,ts,model_raw,input_tokens,output_tokens"


@pytest.mark.parametrize(
    ("header", "cells", "kept"),
    [
        ("extra", ['{"team_note":"ok"}', "see ticket 42"], {"team_note": "ok"}),
        ("extra,note", ['{"team_note":"ok"},hello', "see ticket 42,hi"], {"team_note": "ok", "note": "hello"}),
    ],
    ids=["no-unknown-columns", "unknown-column-to-merge"],
)
def test_an_extra_cell_that_is_not_json_rejects_its_record_only(
    tmp_path: Path, db_path: Path, header: str, cells: list[str], kept: dict[str, str]
) -> None:
    """``see ticket 42`` in ``extra`` is a reject with its reason; the other rows of the file
    and the files after it are imported (the cast to JSON once raised for the whole SELECT)."""
    d = tmp_path / "csvdir"
    d.mkdir()
    (d / "a.csv").write_text(f"{HEAD}\ng1,2025-11-03T10:00:00Z,gpt-4o-mini,1000,100\n")
    (d / "b.csv").write_text(
        f"{HEAD},{header}\n"
        f"g2,2025-11-03T10:00:00Z,gpt-4o-mini,1000,100,{cells[0]}\n"
        f"g3,2025-11-03T10:00:00Z,gpt-4o-mini,1000,100,{cells[1]}\n"
    )
    (d / "c.csv").write_text(f"{HEAD}\ng4,2025-11-03T10:00:00Z,gpt-4o-mini,1000,100\n")
    out = run_json("import", str(d), "--db", str(db_path))
    assert (out["records"], out["imported"], out["rejected"]) == (4, 3, 1)
    assert [r[0] for r in _query(db_path, "SELECT event_id FROM events ORDER BY 1")] == ["g1", "g2", "g4"]
    assert json.loads(_query(db_path, "SELECT extra FROM events WHERE event_id = 'g2'")[0][0]) == kept
    rejects = _query(db_path, "SELECT file, line, reason FROM rejects")
    assert [(Path(f).name, line, reason) for f, line, reason in rejects] == [("b.csv", 3, "extra: not valid JSON")]


def test_a_parquet_extra_string_that_is_not_json_rejects_its_record_only(tmp_path: Path, db_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    f = tmp_path / "x.parquet"
    rows = {"event_id": ["x1", "x2"], "ts": ["2025-11-03T10:00:00Z"] * 2, "model_raw": ["gpt-4o-mini"] * 2,
            "input_tokens": [1000, 1000], "output_tokens": [100, 100], "extra": ['{"k":1}', "not json"]}  # fmt: skip
    pq.write_table(pa.table(rows), f)
    out = run_json("import", str(f), "--db", str(db_path))
    assert (out["records"], out["imported"], out["rejected"]) == (2, 1, 1)
    assert _query(db_path, "SELECT event_id, extra FROM events") == [("x1", '{"k":1}')]
    assert _query(db_path, "SELECT record, reason FROM rejects") == [(2, "extra: not valid JSON")]


def test_a_lowercase_z_utc_designator_is_read_as_utc(tmp_path: Path, db_path: Path) -> None:
    f = tmp_path / "z.csv"
    f.write_text(f"{HEAD}\nz1,2025-11-03T10:00:00z,gpt-4o-mini,1,1\nz2,2025-11-03T10:00:00Z,gpt-4o-mini,1,1\n")
    out = run_json("import", str(f), "--db", str(db_path))
    assert (out["imported"], out["rejected"]) == (2, 0)
    # by hand: both are 2025-11-03 10:00 UTC
    got = _query(db_path, "SELECT event_id, strftime(ts AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M') FROM events ORDER BY 1")
    assert got == [("z1", "2025-11-03 10:00"), ("z2", "2025-11-03 10:00")]


def test_models_are_resolved_and_kept_as_logged(tmp_path: Path, db_path: Path) -> None:
    f = write_jsonl(tmp_path / "x.jsonl", GOOD)
    run("import", str(f), "--db", str(db_path))
    rows = _query(db_path, "SELECT model, model_raw, provider FROM events ORDER BY ts")
    assert rows == [
        ("gpt-4o", "gpt-4o", "openai"),
        ("claude-sonnet-4-5", "claude-sonnet-4-5-20250929", "anthropic"),
        ("gpt-4o-mini", "gpt-4o-mini", "openai"),
    ]


def test_a_model_given_beside_an_unknown_raw_name_is_resolved_and_has_its_provider(
    tmp_path: Path, db_path: Path
) -> None:
    """A gateway's own name in model_raw, the canonical id (or a dated alias of it) in model: the
    event is the model's, with its provider, and prices as it: 100,000 input of Sonnet 4.5 = $0.30
    each (gpt-4o: $0.25). (QA: the provider stayed empty, so `report by model` showed claude-sonnet-4-5 twice,
    and a dated alias in model stayed unresolved.) A raw name that resolves still wins."""
    rows = [
        {"event_id": "a", "ts": "2025-11-03T10:00:00Z", "model_raw": "gw-sonnet", "model": "claude-sonnet-4-5",
         "input_tokens": 100_000},
        {"event_id": "b", "ts": "2025-11-03T11:00:00Z", "model_raw": "gw-dated",
         "model": "claude-sonnet-4-5-20250929", "input_tokens": 100_000},
        {"event_id": "c", "ts": "2025-11-03T12:00:00Z", "model_raw": "gpt-4o", "model": "claude-sonnet-4-5",
         "input_tokens": 100_000},
    ]  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "m.jsonl", rows)), "--db", str(db_path))
    got = _query(db_path, "SELECT event_id, model, model_raw, provider FROM events ORDER BY event_id")
    assert got == [
        ("a", "claude-sonnet-4-5", "gw-sonnet", "anthropic"),
        ("b", "claude-sonnet-4-5", "gw-dated", "anthropic"),
        ("c", "gpt-4o", "gpt-4o", "openai"),
    ]
    by = run_json("report", "by", "model", "--since", "2025-11-03", "--until", "2025-11-03", "--db", str(db_path))
    cost = {(r["model"], r["provider"]): (r["requests"], Decimal(str(r["cost_usd"]))) for r in by["rows"]}
    assert cost == {("claude-sonnet-4-5", "anthropic"): (2, Decimal("0.6")), ("gpt-4o", "openai"): (1, Decimal("0.25"))}


def test_interrupted_import_leaves_the_database_as_it_was(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run("import", str(write_jsonl(tmp_path / "a.jsonl", GOOD[:1])), "--db", str(db_path))
    before = [_count(db_path, f"SELECT count(*) FROM {t}") for t in ("events", "import_batches", "rejects")]

    def boom(con: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(ingest, "before_commit_hook", boom)
    ctx = make_context(None, db_path)
    bad = write_jsonl(tmp_path / "b.jsonl", [*GOOD, '{"broken'])
    with pytest.raises(Interrupted, match="nothing was imported; the database is as it was"):
        import_paths(ctx, [bad])
    after = [_count(db_path, f"SELECT count(*) FROM {t}") for t in ("events", "import_batches", "rejects")]
    assert after == before == [1, 1, 0]


def _import_killed_before_commit(db_path: Path, path: Path) -> None:
    """Import ``path`` in a process killed just before its COMMIT (os._exit: no cleanup at all)."""
    code = textwrap.dedent(
        f"""
        import os
        from pathlib import Path
        from usagectl.store import ingest
        from usagectl.services.context import make_context
        from usagectl.services.imports import import_paths
        ingest.before_commit_hook = lambda con: os._exit(9)
        import_paths(make_context(None, Path({str(db_path)!r})), [Path({str(path)!r})])
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 9, proc.stderr


def test_crash_mid_import_loses_only_that_import(tmp_path: Path, db_path: Path) -> None:
    """A process killed inside the transaction (os._exit: no cleanup at all)."""
    run("import", str(write_jsonl(tmp_path / "a.jsonl", GOOD[:1])), "--db", str(db_path))
    bad = write_jsonl(tmp_path / "b.jsonl", GOOD)
    _import_killed_before_commit(db_path, bad)
    assert _count(db_path, "SELECT count(*) FROM events") == 1
    assert _count(db_path, "SELECT count(*) FROM import_batches") == 1
    # and the file imports cleanly afterwards
    out = run_json("import", str(bad), "--db", str(db_path))
    assert (out["imported"], out["duplicates"]) == (2, 1)


def test_missing_file_is_exit_4(tmp_path: Path, db_path: Path) -> None:
    result = run("import", str(tmp_path / "nope.jsonl"), "--db", str(db_path), expect=4)
    assert "nope.jsonl" in result.stderr


def test_directory_import_recurses(tmp_path: Path, db_path: Path) -> None:
    d = tmp_path / "logs" / "sub"
    d.mkdir(parents=True)
    write_jsonl(d / "a.jsonl", GOOD[:2])
    write_jsonl(tmp_path / "logs" / "b.jsonl", GOOD[2:])
    (tmp_path / "logs" / "notes.txt").write_text("not events")
    out = run_json("import", str(tmp_path / "logs"), "--db", str(db_path))
    assert (out["files"], out["imported"]) == (2, 3)


def test_unreadable_file_is_exit_4_and_the_other_files_still_import(tmp_path: Path, db_path: Path) -> None:
    d = tmp_path / "mixed"
    d.mkdir()
    (d / "a-broken.parquet").write_bytes(b"PAR1 this is not parquet")
    write_jsonl(d / "b-good.jsonl", GOOD)
    result = run("import", str(d), "--db", str(db_path), expect=4)
    assert "a-broken.parquet" in result.stderr and "could not be read" in result.stderr
    assert _count(db_path, "SELECT count(*) FROM events") == 3
    assert _count(db_path, "SELECT count(*) FROM import_batches") == 1


@pytest.mark.parametrize("kind", ["truncated", "not gzip"])
def test_corrupt_gzip_is_the_input_s_fault_not_the_database_s(tmp_path: Path, db_path: Path, kind: str) -> None:
    """A truncated .gz (or a file that only has the name) fails in DuckDB's reader: the error
    names the input, exit 4 (not 3, "database cannot be opened"), and the other files of the
    directory still import."""
    import gzip

    d = tmp_path / "logs"
    d.mkdir()
    write_jsonl(d / "a-good.jsonl", GOOD)
    whole = gzip.compress(
        ("\n".join(json.dumps(dict(r, event_id=f"z{i}")) for i, r in enumerate(GOOD * 400)) + "\n").encode()
    )
    (d / "b-bad.jsonl.gz").write_bytes(whole[: len(whole) // 2] if kind == "truncated" else b"plain text, not gzip")
    write_jsonl(d / "c-good.jsonl", [dict(r, event_id=f"c{i}") for i, r in enumerate(GOOD)])
    result = run("import", str(d), "--db", str(db_path), expect=4)
    assert "b-bad.jsonl.gz: cannot be read as jsonl" in result.stderr
    assert "GZIP" in result.stderr and "database" not in result.stderr
    assert _count(db_path, "SELECT count(*) FROM events") == 6
    assert _count(db_path, "SELECT count(*) FROM import_batches") == 2


def test_a_file_read_with_the_wrong_format_is_read_again_with_the_right_one(tmp_path: Path, db_path: Path) -> None:
    """ "unchanged" means these bytes were read AS THIS FORMAT: a canonical file first read as a
    Codex rollout (nothing in it) is read again as jsonl, and only then unchanged."""
    f = tmp_path / "events.jsonl"
    write_jsonl(f, GOOD)
    wrong = run_json("import", str(f), "--format", "codex", "--db", str(db_path))
    assert (wrong["records"], wrong["imported"]) == (0, 0)
    right = run_json("import", str(f), "--format", "jsonl", "--db", str(db_path))
    assert (right["imported"], right["per_file"][0]["unchanged"]) == (3, False)
    again = run_json("import", str(f), "--format", "jsonl", "--db", str(db_path))
    assert (again["imported"], again["per_file"][0]["unchanged"]) == (0, True)
    assert _count(db_path, "SELECT count(*) FROM events") == 3


def test_a_file_read_again_from_its_start_lists_each_bad_line_once(tmp_path: Path, db_path: Path) -> None:
    """A grown file is read again whole: its bad lines are reported anew and the earlier
    batch's rejects of that file go (not 2 + 2), and a half-written last line that has been
    completed since is no longer listed."""
    f = tmp_path / "grows.jsonl"
    bad_type = json.dumps(dict(GOOD[0], event_id="bad", input_tokens="many"))
    half = json.dumps(dict(GOOD[2], event_id="late"))
    f.write_text(json.dumps(GOOD[0]) + "\n" + bad_type + "\n" + json.dumps(GOOD[1]) + "\n" + half[:30])
    first = run_json("import", str(f), "--db", str(db_path))
    assert (first["imported"], first["rejected"]) == (2, 2)
    f.write_text(f.read_text() + half[30:] + "\n" + json.dumps(GOOD[2]) + "\n")
    second = run_json("import", str(f), "--db", str(db_path))
    assert (second["imported"], second["rejected"]) == (2, 1)  # "late" and e3 are new
    rows = _query(db_path, "SELECT line, reason FROM rejects ORDER BY batch_id, line")
    assert rows == [(2, "input_tokens: not a number (many)")]
    assert _count(db_path, "SELECT count(*) FROM events") == 4
    # a third, unchanged import changes nothing
    run_json("import", str(f), "--db", str(db_path))
    assert _count(db_path, "SELECT count(*) FROM rejects") == 1


DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize(
    ("fixture", "fmt"),
    [
        (DATA / "openai" / "usage_nov03_04.json", "openai-usage"),
        (DATA / "anthropic" / "cost_nov03_04.json", "anthropic-cost"),
        (next((DATA / "codex" / "home" / "sessions" / "2025" / "11" / "03").glob("*.jsonl")), "codex"),
        (next((DATA / "claude-code" / "projects" / "-home-alice-src-webapp").glob("*.jsonl")), "claude-code"),
    ],
)
def test_gzipped_logs_are_detected_and_read_like_the_plain_file(tmp_path: Path, fixture: Path, fmt: str) -> None:
    """--format auto looks inside a .gz, and every reader decompresses it: the same format,
    records and stored totals as the uncompressed file (read into a database of its own)."""
    import gzip

    packed = tmp_path / (fixture.name + ".gz")
    packed.write_bytes(gzip.compress(fixture.read_bytes()))
    a, b = tmp_path / "gz.duckdb", tmp_path / "plain.duckdb"
    gz = run_json("import", str(packed), "--db", str(a))
    plain = run_json("import", str(fixture), "--db", str(b))
    assert gz["per_file"][0]["format"] == plain["per_file"][0]["format"] == fmt
    assert [gz[k] for k in ("records", "imported", "rejected")] == [
        plain[k] for k in ("records", "imported", "rejected")
    ]
    assert gz["records"] > 0
    table = "billed_costs" if fmt == "anthropic-cost" else "events"
    total = "sum(amount_usd)" if table == "billed_costs" else "sum(input_tokens + output_tokens)"
    assert _query(a, f"SELECT count(*), {total} FROM {table}") == _query(b, f"SELECT count(*), {total} FROM {table}")


@pytest.mark.parametrize(
    ("fixture", "named", "looks"),
    [
        ("anthropic/cost_nov03_04.json", "openai-costs", "anthropic-cost"),
        ("openai/usage_nov03_04.json", "anthropic-usage", "openai-usage"),
        ("litellm/spendlogs.csv", "csv", "litellm"),
    ],
)
def test_every_record_rejected_under_the_wrong_format_says_what_the_file_looks_like(
    tmp_path: Path, db_path: Path, fixture: str, named: str, looks: str
) -> None:
    """The rejects alone read "start_time: not a number (null)" or "missing ts" (QA finding);
    the summary now names the format the file is. Nothing is stored, as before."""
    out = run_json("import", str(DATA / fixture), "--format", named, "--db", str(db_path))
    assert out["records"] > 0 and out["imported"] == 0 and out["rejected"] == out["records"]
    assert f"every record was rejected; it looks like {looks} (try --format auto)" in out["per_file"][0]["warnings"]
    assert _query(db_path, "SELECT count(*) FROM events") == [(0,)]


@pytest.mark.parametrize(
    ("page", "fmt"),
    [
        (
            {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}},
            "openai-costs",
        ),
        ({"type": "error", "error": {"type": "rate_limit_error", "message": "Rate limited"}}, "anthropic-cost"),
    ],
)
def test_an_error_page_of_a_cost_report_is_not_said_to_look_like_usage(
    tmp_path: Path, db_path: Path, page: dict[str, object], fmt: str
) -> None:
    """A saved error response is rejected by the cost importer it was named for (it is one), and
    the usage importer would reject it alike: no "it looks like openai-usage" hint (QA)."""
    path = tmp_path / "failed.json"
    path.write_text(json.dumps(page) + "\n", encoding="utf-8")
    out = run_json("import", str(path), "--format", fmt, "--db", str(db_path))
    assert out["rejected"] == out["records"] == 1
    assert not any("looks like" in w for w in out["per_file"][0]["warnings"]), out["per_file"][0]["warnings"]


def test_a_file_of_another_format_says_so_instead_of_a_silent_zero(tmp_path: Path, db_path: Path) -> None:
    """A Codex rollout imported with --format claude-code gives nothing: the summary says what it
    looks like. A real Claude Code file that has no usage yet (user lines only) gets no warning."""
    rollout = next((DATA / "codex" / "home" / "sessions" / "2025" / "11" / "03").glob("*.jsonl"))
    wrong = run_json("import", str(rollout), "--format", "claude-code", "--db", str(db_path))
    assert wrong["records"] == 0
    assert wrong["per_file"][0]["warnings"] == ["no claude-code records found; it looks like codex (try --format auto)"]
    user_only = tmp_path / "projects" / "p" / "s.jsonl"
    user_only.parent.mkdir(parents=True)
    user_only.write_text(
        json.dumps(
            {
                "type": "user",
                "sessionId": "s",
                "timestamp": "2025-11-03T10:00:00Z",
                "message": {"role": "user", "content": "hi"},
            }
        )
        + "\n"
    )
    quiet = run_json("import", str(user_only), "--format", "claude-code", "--db", str(db_path))
    assert quiet["records"] == 0 and quiet["per_file"][0]["warnings"] == []
    # no format recognises it: said in words that read ("a openai-usage log" did not)
    nothing = tmp_path / "nothing.json"
    nothing.write_text("[]\n")
    out = run_json("import", str(nothing), "--format", "openai-usage", "--db", str(db_path))
    assert out["per_file"][0]["warnings"] == [
        "no openai-usage records found; it does not look like the openai-usage format"
    ]


def test_a_text_file_with_no_records_says_so_instead_of_a_silent_zero(tmp_path: Path, db_path: Path) -> None:
    """QA: a .txt of prose named on the command line is read as a CSV of one header line: 0
    records and not a word. It says that no records were found and why; an empty file and a
    canonical CSV header without rows stay quiet (nothing is wrong with them)."""
    prose = tmp_path / "notes.txt"
    prose.write_text("hello world\n")
    out = run_json("import", str(prose), "--db", str(db_path))
    assert (out["records"], out["rejected"], out["per_file"][0]["format"]) == (0, 0, "csv")
    assert out["per_file"][0]["warnings"] == [
        "no records found: its first line, read as a CSV header, names no ts column "
        "(not canonical events; name a log format with --format)"
    ]
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    header_only = tmp_path / "header.csv"
    header_only.write_text("event_id,TS,model_raw,input_tokens\n")
    for quiet in (empty, header_only):
        out = run_json("import", str(quiet), "--db", str(db_path))
        assert out["records"] == 0 and out["per_file"][0]["warnings"] == []


def test_a_memory_limit_that_is_not_a_size_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from usagectl.services import imports

    monkeypatch.setenv("USAGECTL_MEMORY_LIMIT", "lots")
    f = tmp_path / "e.jsonl"
    f.write_text('{"ts": "2025-11-03T10:00:00Z", "model": "gpt-4o", "input_tokens": 1, "output_tokens": 1}\n')
    res = run("import", str(f), "--db", str(tmp_path / "x.duckdb"), expect=2)
    assert "USAGECTL_MEMORY_LIMIT='lots' is not a memory size" in res.stderr
    # QA: an empty value is unset (the default 800MB), as an empty USAGECTL_DB is; it was exit 2
    monkeypatch.setenv("USAGECTL_MEMORY_LIMIT", "")
    assert run_json("import", str(f), "--db", str(tmp_path / "x.duckdb"))["imported"] == 1
    assert imports.memory_limit_variable() is None


def test_an_import_out_of_memory_names_the_variable_that_raises_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """QA: USAGECTL_MEMORY_LIMIT=1KB was "unexpected error"-class exit 1 with the hint "narrow the
    command (--since/--until, filters)", which import does not take. A limit the user set that
    is too small is a usage error (exit 2) naming it; the stored data is untouched."""
    f = tmp_path / "e.jsonl"
    f.write_text('{"ts": "2025-11-03T10:00:00Z", "model": "gpt-4o", "input_tokens": 1, "output_tokens": 1}\n')
    db = tmp_path / "x.duckdb"
    assert run_json("import", str(f), "--db", str(db))["imported"] == 1
    (tmp_path / "src").mkdir()
    g = tmp_path / "src" / "g.jsonl"
    g.write_text('{"ts": "2025-11-04T10:00:00Z", "model": "gpt-4o", "input_tokens": 2, "output_tokens": 2}\n')
    monkeypatch.setenv("USAGECTL_MEMORY_LIMIT", "1KB")
    res = run("import", str(g), "--db", str(db), expect=2)
    assert "USAGECTL_MEMORY_LIMIT=1KB is too small for this import: DuckDB ran out of memory" in res.stderr
    assert "a larger USAGECTL_MEMORY_LIMIT (the default is 800MB)" in res.stderr
    assert "--since" not in res.stderr
    run("source", "add", str(g.parent), "--format", "jsonl", "--db", str(db))  # g.jsonl again, by a sync
    res = run("sync", "--db", str(db), expect=2)
    assert "USAGECTL_MEMORY_LIMIT=1KB is too small for this sync: DuckDB ran out of memory" in res.stderr
    monkeypatch.delenv("USAGECTL_MEMORY_LIMIT")
    daily = run_json(
        "report", "daily", "--since", "2025-11-01", "--until", "2025-11-05", "--tz", "UTC", "--db", str(db)
    )
    assert daily["totals"]["total_tokens"] == 2  # the first file's 1 + 1, nothing of the failed import


def test_implausible_token_counts_are_rejected_on_every_import_path(tmp_path: Path, db_path: Path) -> None:
    """A count beyond 10^15 per bucket (one fits in int64, two of them overflow any BIGINT
    sum) is a reject with a reason: canonical JSONL, a Python importer (LiteLLM CSV) and the
    Claude Code stager share the store's check."""
    big = 5_000_000_000_000_000_000  # 5e18 < 2^63 - 1 = 9223372036854775807
    f = write_jsonl(
        tmp_path / "huge.jsonl",
        [
            {"event_id": "ok", "ts": "2025-11-05T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 10**15},
            {"event_id": "h1", "ts": "2025-11-05T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": big},
            {"event_id": "h2", "ts": "2025-11-05T11:00:00Z", "model_raw": "gpt-4o", "output_tokens": 10**15 + 1},
            {"event_id": "h3", "ts": "2025-11-05T11:00:00Z", "model_raw": "gpt-4o", "requests": 2**63 - 1},
        ],
    )
    out = run_json("import", str(f), "--db", str(db_path))
    assert (out["records"], out["imported"], out["rejected"]) == (4, 1, 3)
    assert _query(db_path, "SELECT line, reason FROM rejects ORDER BY line") == [
        (2, f"input_tokens: too large (over 10^15) ({big})"),
        (3, "output_tokens: too large (over 10^15) (1000000000000001)"),
        (4, "requests: too large (over 10^15) (9223372036854775807)"),
    ]
    lite = tmp_path / "lite.csv"
    lite.write_text(
        "request_id,call_type,model,spend,prompt_tokens,completion_tokens,startTime,endTime\n"
        f"r1,completion,gpt-4o,0.1,{big},5,2025-11-05 10:00:00,2025-11-05 10:00:01\n"
    )
    out = run_json("import", str(lite), "--format", "litellm", "--db", str(db_path))
    assert (out["imported"], out["rejected"]) == (0, 1)
    cc = tmp_path / "projects" / "p" / "s.jsonl"
    cc.parent.mkdir(parents=True)
    line = {
        "type": "assistant", "timestamp": "2025-11-05T12:00:00Z", "sessionId": "s", "requestId": "q",
        "message": {"id": "m", "model": "claude-sonnet-4-5", "usage": {"input_tokens": big, "output_tokens": 1}},
    }  # fmt: skip
    write_jsonl(cc, [line])
    out = run_json("import", str(cc), "--format", "claude-code", "--db", str(db_path))
    assert (out["imported"], out["rejected"]) == (0, 1)
    reasons = [r[0] for r in _query(db_path, "SELECT reason FROM rejects WHERE line IS NOT NULL ORDER BY batch_id")]
    # the LiteLLM reader names the column of its file; the Claude Code stager the canonical one
    assert reasons[-2:] == [
        f"prompt_tokens: too large (over 10^15) ({big})",
        f"input_tokens: too large (over 10^15) ({big})",
    ]


def test_counts_beyond_unsigned_64_bits_are_rejected_not_stored_as_the_default(tmp_path: Path, db_path: Path) -> None:
    """2^64 and more cannot be cast to UBIGINT: such a count is still a "too large" reject in
    CSV, JSONL and a JSON array, never a stored row with 0 tokens (or 1 request)."""
    two64 = 2**64  # 18446744073709551616
    csv_f = tmp_path / "huge.csv"
    csv_f.write_text(
        "event_id,ts,model_raw,input_tokens,output_tokens\n"
        f"h1,2025-11-03T10:00:00Z,gpt-4o-mini,{two64},100\n"
        f"h2,2025-11-03T10:00:00Z,gpt-4o-mini,{two64 - 1},100\n"
        "h3,2025-11-03T10:00:00Z,gpt-4o-mini,100,99999999999999999999999\n"
        "ok,2025-11-03T10:00:00Z,gpt-4o-mini,1000000000000000,100\n"
    )
    jsonl_f = tmp_path / "huge.jsonl"
    jsonl_f.write_text(
        '{"event_id":"hj1","ts":"2025-11-03T10:00:00Z","model_raw":"gpt-4o-mini","input_tokens":99999999999999999999999}\n'
        f'{{"event_id":"hj2","ts":"2025-11-03T10:00:00Z","model_raw":"gpt-4o-mini","requests":{two64}}}\n'
    )
    array_f = tmp_path / "huge.json"
    array_f.write_text(
        '[\n {"event_id":"a1","ts":"2025-11-03T10:00:00Z","model_raw":"gpt-4o-mini","input_tokens":1000},\n'
        ' {"event_id":"a3","ts":"2025-11-03T10:00:00Z","model_raw":"gpt-4o-mini","input_tokens":99999999999999999999999}\n]\n'
    )
    out = run_json("import", str(csv_f), str(jsonl_f), str(array_f), "--db", str(db_path))
    # 4 + 2 + 2 records; only "ok" (10^15, the bound itself) and a1 are stored
    assert (out["records"], out["imported"], out["rejected"]) == (8, 2, 6)
    assert _query(db_path, "SELECT event_id, input_tokens FROM events ORDER BY event_id") == [
        ("a1", 1000),
        ("ok", 10**15),
    ]
    rejects = _query(db_path, "SELECT file, line, reason FROM rejects ORDER BY file, line")
    assert [(Path(f).name, line, reason) for f, line, reason in rejects] == [
        ("huge.csv", 2, f"input_tokens: too large (over 10^15) ({two64})"),
        ("huge.csv", 3, f"input_tokens: too large (over 10^15) ({two64 - 1})"),
        ("huge.csv", 4, "output_tokens: too large (over 10^15) (99999999999999999999999)"),
        ("huge.json", 3, "input_tokens: too large (over 10^15) (99999999999999999999999)"),
        ("huge.jsonl", 1, "input_tokens: too large (over 10^15) (99999999999999999999999)"),
        ("huge.jsonl", 2, f"requests: too large (over 10^15) ({two64})"),
    ]


def test_a_csv_written_with_comma_space_separators_imports_its_counts(tmp_path: Path, db_path: Path) -> None:
    """`` 50`` (a cell after ", ") is fifty, as a spaced header or timestamp is read, not a
    "too large" reject."""
    spaced = tmp_path / "spaced.csv"
    spaced.write_text(
        "event_id, ts, model_raw, input_tokens, output_tokens, reported_cost_usd\n"
        "s1, 2025-11-03T10:00:00Z, gpt-4o-mini, 50, 100, 0.25\n"
    )
    pad = tmp_path / "pad.csv"
    pad.write_text("event_id,ts,model_raw,input_tokens,output_tokens\ns2,2025-11-03T10:00:00Z,gpt-4o-mini, 50,100 \n")
    out = run_json("import", str(spaced), str(pad), "--db", str(db_path))
    assert (out["records"], out["imported"], out["rejected"]) == (2, 2, 0)
    got = _query(db_path, "SELECT event_id, input_tokens, output_tokens, reported_cost_usd FROM events ORDER BY 1")
    assert got == [("s1", 50, 100, Decimal("0.25")), ("s2", 50, 100, None)]


def test_report_sums_of_stored_counts_beyond_bigint_do_not_overflow(tmp_path: Path, db_path: Path) -> None:
    """Rows stored before the 10^15 check (or written by hand) may hold counts whose sum
    passes 2^63: the reports sum them in a wider type and still show them."""
    f = write_jsonl(
        tmp_path / "a.jsonl",
        [
            {"event_id": f"e{i}", "ts": "2025-11-05T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 1}
            for i in range(2)
        ],
    )
    run("import", str(f), "--db", str(db_path))
    con = duckdb.connect(str(db_path))
    con.execute("UPDATE events SET input_tokens = 5000000000000000000")
    con.close()
    out = run_json("report", "by", "model", "--since", "2025-11-01", "--until", "2025-11-30", "--db", str(db_path))
    # 2 x 5e18 = 1e19, beyond 2^63 - 1 (about 9.22e18)
    assert out["rows"][0]["input_tokens"] == 10**19
    assert out["totals"]["input_tokens"] == 10**19
    daily = run_json("report", "daily", "--since", "2025-11-01", "--until", "2025-11-30", "--db", str(db_path))
    assert {r["date"]: r["total_tokens"] for r in daily["rows"]}["2025-11-05"] == 10**19


def test_a_right_import_supersedes_the_rejects_of_a_wrong_format_import(tmp_path: Path, db_path: Path) -> None:
    """The rejects of a file imported with the wrong --format go once the file is imported in
    its right format (it found valid records); a later wrong import leaves the right one's alone."""
    f = write_jsonl(tmp_path / "events.jsonl", [*GOOD[:2], {"event_id": "b", "input_tokens": 1}])
    wrong = run_json("import", str(f), "--format", "csv", "--db", str(db_path))
    assert wrong["imported"] == 0 and wrong["rejected"] > 0
    right = run_json("import", str(f), "--db", str(db_path))
    assert (right["imported"], right["rejected"]) == (2, 1)
    # only the right import's own reject is left: line 3 has no ts
    assert _query(db_path, "SELECT line, reason FROM rejects") == [(3, "missing ts")]
    assert run_json("db", "status", "--db", str(db_path))["overview"]["rejects"] == 1
    # a wrong format again (nothing valid in it) adds its rejects but keeps the right one's
    again = run_json("import", str(f), "--format", "codex", "--db", str(db_path))
    assert again["imported"] == 0
    assert (3, "missing ts") in _query(db_path, "SELECT line, reason FROM rejects")


def test_unreadable_file_is_an_input_error_not_a_usage_error(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file without read permission: exit 4 with our own line, as PRODUCT.md promises for an
    input that cannot be read, not Click's "Path … is not readable" usage block (exit 2).
    Root reads any file, so the permission is simulated where it is checked: ``os.access``
    (Click's pre-check) and opening the file (the importer)."""
    path = write_jsonl(tmp_path / "noread.jsonl", [{"event_id": "E1", "ts": "2026-11-03T10:00:00Z"}])
    real_access, real_open = os.access, Path.open

    def access(p: object, mode: int, *args: object, **kwargs: object) -> bool:
        return False if Path(str(p)) == path else real_access(p, mode, *args, **kwargs)  # type: ignore[arg-type]

    def denied(self: Path, *args: object, **kwargs: object) -> object:
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(os, "access", access)
    monkeypatch.setattr(Path, "open", denied)
    result = run("import", str(path), "--db", str(db_path), expect=4)
    # the file's own error, as any file an import cannot read (the other files would be imported)
    assert result.stderr.strip().endswith(
        f"usagectl: error: 1 file could not be read: {path}: cannot read: Permission denied"
    )


@pytest.mark.parametrize(
    ("extra", "other", "stored"),
    [
        ('{"voice":true}', {}, {"voice": True}),
        ('{"voice":true}', {"cost_center_note": "x"}, {"voice": True, "cost_center_note": "x"}),
        ("[1,2]", {}, [1, 2]),
        ('"said"', {}, "said"),
        ("see ticket 42", {}, "see ticket 42"),
    ],
    ids=["object-text", "object-text-beside-an-unknown-key", "array-text", "string-text", "not-json"],
)
def test_a_jsonl_extra_given_as_json_text_is_that_json(
    tmp_path: Path, db_path: Path, extra: str, other: dict[str, str], stored: object
) -> None:
    """An ``extra`` written as a string holding JSON text (as ``export --json/--jsonl`` write
    it, and as CSV holds it) is the JSON it holds, as a JSON array document and CSV read it:
    merged with unknown keys beside it, never stored as a string. A string that is no JSON
    text stays the string it is."""
    rec = {**GOOD[0], "extra": extra, **other}
    write_jsonl(tmp_path / "a.jsonl", [rec])
    run("import", str(tmp_path / "a.jsonl"), "--db", str(db_path))
    assert json.loads(_query(db_path, "SELECT extra FROM events")[0][0]) == stored
    # the same record in a JSON array document is read the same way
    other_db = tmp_path / "doc.duckdb"
    if stored != "see ticket 42":  # in an array document a text extra must be JSON text (else a reject)
        (tmp_path / "b.json").write_text(json.dumps([rec]), encoding="utf-8")
        run("import", str(tmp_path / "b.json"), "--db", str(other_db))
        assert json.loads(_query(other_db, "SELECT extra FROM events")[0][0]) == stored


def test_text_after_a_comma_space_separator_has_no_leading_space(tmp_path: Path, db_path: Path) -> None:
    """In a file written with ", " the id, member and project are read without the separator's
    space: the same event in a plain file is a duplicate (not a second event ' sp1'), the member
    is 'alice' (mapped to her team), and a quoted field after ", " keeps its comma."""
    spaced = tmp_path / "spaced.csv"
    spaced.write_text(
        "ts, event_id, model_raw, input_tokens, output_tokens, member, project\n"
        '2026-11-03T10:00:00Z, sp1, gpt-4o, 1000, 100, alice, "web, api"\n'
    )
    plain = tmp_path / "plain.csv"
    plain.write_text(
        "ts,event_id,model_raw,input_tokens,output_tokens,member,project\n"
        '2026-11-03T10:00:00Z,sp1,gpt-4o,1000,100,alice,"web, api"\n'
        "2026-11-04T10:00:00Z,sp2,gpt-4o,1000,100,alice,cli\n"
    )
    out = run_json("import", str(spaced), str(plain), "--db", str(db_path))
    assert (out["records"], out["imported"], out["duplicates"], out["rejected"]) == (3, 2, 1, 0)
    assert _query(db_path, "SELECT event_id, member, project FROM events ORDER BY 1") == [
        ("sp1", "alice", "web, api"),
        ("sp2", "alice", "cli"),
    ]
    config = tmp_path / "usagectl.toml"
    config.write_text('[members.alice]\nteam = "platform"\n')
    teams = run_json("report", "by", "team", "--since", "2026-11-01", "--until", "2026-11-30", "--tz", "UTC",
                     "--config", str(config), "--db", str(db_path))  # fmt: skip
    # gpt-4o $2.50 / $10 per 1M: 2 x (0.0025 + 0.001) = $0.007, all of it platform's
    assert [(r["team"], r["requests"], r["cost_usd"]) for r in teams["rows"]] == [("platform", 2, 0.007)]


def test_events_without_an_id_that_differ_anywhere_are_different_events(tmp_path: Path, db_path: Path) -> None:
    """The id of an event without one is a hash of all its content: three calls in the same
    second with the same counts, told apart only by their status and error, or by a column usagectl
    does not know (kept in ``extra``), or by their team, are five events, not one; the very
    same row twice is one."""
    same = {"ts": "2026-11-03T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 100, "output_tokens": 10}
    rows = [
        same | {"status": "success"},
        same | {"status": "error", "error_type": "RateLimitError"},
        same | {"status": "error", "error_type": "Timeout"},
        same | {"request_id": "req-1"},
        same | {"request_id": "req-1", "team": "ads"},
        same | {"request_id": "req-1", "team": "ads"},
    ]
    out = run_json("import", str(write_jsonl(tmp_path / "calls.jsonl", rows)), "--db", str(db_path))
    assert (out["records"], out["imported"], out["duplicates"]) == (6, 5, 1)
    assert _query(db_path, "SELECT count(DISTINCT event_id), sum(input_tokens) FROM events") == [(5, 500)]


def _late_key_events(n: int, late_from: int) -> list[dict[str, object]]:
    """``n`` events; those from number ``late_from`` on carry two keys no earlier one has (a field
    added to the logs later)."""
    out: list[dict[str, object]] = []
    for i in range(n):
        e: dict[str, object] = {"event_id": f"k{i:05d}", "ts": "2025-11-03T10:00:00Z", "model_raw": "gpt-4o",
                                "input_tokens": 10}  # fmt: skip
        if i >= late_from:
            e |= {"request_id": f"req-{i}", "customer": "acme"}
        out.append(e)
    return out


def _extras(db: Path) -> dict[str, object]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {
            k: (json.loads(v) if v else None) for k, v in con.execute("SELECT event_id, extra FROM events").fetchall()
        }
    finally:
        con.close()


def test_keys_that_first_appear_late_in_a_jsonl_file_are_kept_in_extra(tmp_path: Path, db_path: Path) -> None:
    """6,000 events, the last 500 with ``request_id`` and ``customer``: a file this size has the keys
    of every record read, so those 500 keep both in ``extra`` and the import names them (QA: only
    the first 5,000 records' keys were read; both were dropped without a word)."""
    path = write_jsonl(tmp_path / "late.jsonl", _late_key_events(6000, 5500))
    result = run("import", str(path), "--db", str(db_path))
    assert "unknown columns kept in extra: customer, request_id" in result.stderr
    extras = _extras(db_path)
    assert extras["k05999"] == {"customer": "acme", "request_id": "req-5999"}
    assert extras["k05499"] is None and sum(v is not None for v in extras.values()) == 500


def test_a_large_jsonl_file_has_its_keys_sampled_across_it(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above ``FULL_SCAN_BYTES`` (lowered here to 64 KiB for a 12,000-event file of ~1 MB) the keys
    come from the first 5,000 records and from windows spread over the file, its end included:
    keys first seen in the last 300 records are still found and kept."""
    from usagectl.importers import _keys

    monkeypatch.setattr(_keys, "FULL_SCAN_BYTES", 64 * 1024)
    path = write_jsonl(tmp_path / "big.jsonl", _late_key_events(12_000, 11_700))
    assert path.stat().st_size > 10 * 64 * 1024
    assert _keys.sampled_keys(path) >= {"customer", "request_id", "event_id"}
    # a key only on the last line, which has no newline, is found too
    tail = tmp_path / "tail.jsonl"
    tail.write_bytes(path.read_bytes() + b'{"event_id": "t", "last_only": 1}')
    assert "last_only" in _keys.sampled_keys(tail)
    result = run("import", str(path), "--db", str(db_path))
    assert "unknown columns kept in extra: customer, request_id" in result.stderr
    extras = _extras(db_path)
    assert extras["k11999"] == {"customer": "acme", "request_id": "req-11999"}
    assert sum(v is not None for v in extras.values()) == 300


def test_a_large_gzipped_jsonl_file_has_the_keys_of_every_record_read(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A gzipped file cannot be sampled across without reading it whole, so its keys are read from
    every record whatever its size (``FULL_SCAN_BYTES`` lowered to 64 KiB, the file ~1 MB
    unpacked): keys first seen in the last 300 of 12,000 records are kept (QA: only the first
    5,000 records' keys were read, the two keys dropped without a word)."""
    import gzip

    from usagectl.importers import _keys

    monkeypatch.setattr(_keys, "FULL_SCAN_BYTES", 64 * 1024)
    plain = write_jsonl(tmp_path / "big.jsonl", _late_key_events(12_000, 11_700))
    path = tmp_path / "big.jsonl.gz"
    path.write_bytes(gzip.compress(plain.read_bytes()))
    assert path.stat().st_size * 8 > 64 * 1024
    result = run("import", str(path), "--db", str(db_path))
    assert "unknown columns kept in extra: customer, request_id" in result.stderr
    extras = _extras(db_path)
    assert extras["k11999"] == {"customer": "acme", "request_id": "req-11999"}
    assert sum(v is not None for v in extras.values()) == 300


def test_counts_in_scientific_notation_are_read_alike_from_csv_and_jsonl(tmp_path: Path, db_path: Path) -> None:
    """JSON's number 1e3 is 1000 in JSONL; the same text in a CSV cell is now 1000 too (QA: "not an
    integer (1e3)"). Whole values only, exactly: 2.5E+2 = 250, 1.5e0 is not an integer, 1e-3 is not
    one either, and 1e16 is over the 10^15 bound."""
    cells = ["1e3", "2.5E+2", "1.5e0", "1e-3", "1e16"]
    path = tmp_path / "sci.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["event_id", "ts", "model_raw", "input_tokens"])
        for i, cell in enumerate(cells):
            w.writerow([f"s{i}", "2025-11-03T10:00:00Z", "gpt-4o", cell])
    run("import", str(path), "--db", str(db_path))
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        stored = dict(con.execute("SELECT event_id, input_tokens FROM events").fetchall())
        reasons = [r[0] for r in con.execute("SELECT reason FROM rejects ORDER BY record").fetchall()]
    finally:
        con.close()
    assert stored == {"s0": 1000, "s1": 250}
    assert reasons == [
        "input_tokens: not an integer (1.5e0)",
        "input_tokens: not an integer (1e-3)",
        "input_tokens: too large (over 10^15) (1e16)",
    ]
    jsonl = write_jsonl(tmp_path / "sci.jsonl", [{"event_id": "j0", "ts": "2025-11-03T10:00:00Z",
                                                  "model_raw": "gpt-4o", "input_tokens": 1e3}])  # fmt: skip
    run("import", str(jsonl), "--db", str(db_path))
    assert query(db_path, "SELECT input_tokens FROM events WHERE event_id = 'j0'") == [(1000,)]


def test_jsonl_keys_that_differ_from_a_column_only_in_case_are_kept_in_extra(tmp_path: Path, db_path: Path) -> None:
    """JSONL keys match exactly: ``Model_Raw`` is not ``model_raw`` but an unknown key, kept in
    ``extra`` and named in the warning; the file's other records, and its bad line, are read as
    usual (QA: DuckDB's reader takes keys apart regardless of case, and the whole file failed with
    a "Binder Error")."""
    path = tmp_path / "case.jsonl"
    path.write_text(
        '{"event_id": "a", "ts": "2025-11-03T10:00:00Z", "model_raw": "gpt-4o-mini", "Model_Raw": "gpt-4o", "input_tokens": 10}\n'
        "\n"
        '{"event_id": "b", "ts": "2025-11-03T10:00:00Z", "Model_Raw": "gpt-4o", "INPUT_TOKENS": 5, "input_tokens": 7}\n'
        '{"event_id": "c", "ts": "2025-11-03T10:00:00Z", "input_tokens": \n'
    )
    result = run("import", str(path), "--db", str(db_path))
    assert "unknown columns kept in extra: INPUT_TOKENS, Model_Raw" in result.stderr
    rows = query(db_path, "SELECT event_id, model_raw, input_tokens, extra FROM events ORDER BY 1")
    assert [(e, m, n, json.loads(x)) for e, m, n, x in rows] == [
        ("a", "gpt-4o-mini", 10, {"Model_Raw": "gpt-4o"}),
        ("b", None, 7, {"Model_Raw": "gpt-4o", "INPUT_TOKENS": 5}),
    ]
    assert [(line, reason.split(":")[0]) for line, reason in query(db_path, "SELECT line, reason FROM rejects")] == [
        (4, "not valid JSON")]  # fmt: skip


@pytest.mark.parametrize("as_array", [False, True])
def test_a_top_level_key_also_in_extra_is_kept_under_fields(tmp_path: Path, db_path: Path, as_array: bool) -> None:
    """A record with ``foo`` both top-level and inside its own ``extra`` object: the given extra
    keeps its ``foo``, and the top-level keys go under ``extra.fields`` (QA: the top-level value
    was dropped although the warning said it was kept). Without a clash they merge as before.
    JSONL (DuckDB's reader) and a JSON array (read in Python) agree."""
    rows = [
        {
            "event_id": "x1",
            "ts": "2025-11-03T10:00:00Z",
            "model_raw": "gpt-4o",
            "foo": 1,
            "bar": 3,
            "extra": {"foo": 2},
        },
        {"event_id": "x2", "ts": "2025-11-03T10:00:00Z", "model_raw": "gpt-4o", "bar": 3, "extra": {"foo": 2}},
    ]
    path = tmp_path / "clash.json"
    if as_array:
        path.write_text(json.dumps(rows))
    else:
        path = write_jsonl(tmp_path / "clash.jsonl", rows)
    run("import", str(path), "--db", str(db_path))
    got = {e: json.loads(x) for e, x in query(db_path, "SELECT event_id, extra FROM events")}
    assert got == {"x1": {"foo": 2, "fields": {"foo": 1, "bar": 3}}, "x2": {"foo": 2, "bar": 3}}


def test_a_reported_cost_must_lie_under_a_trillion_dollars(tmp_path: Path, db_path: Path) -> None:
    """QA: ``reported_cost_usd`` took anything DECIMAL(38, 12) holds (10^26): two events of 6e25
    made `report by model`, `doctor` and `export` fail for good ("Overflow in SUM of DECIMAL"), and
    one of 1e20 made export fail. An amount must now lie within ±$10^12 (models.MONEY_LIMIT, the
    bound itself included): over it is "out of range", text that is no number stays "not a number".
    At the bound the reports and the export still work: three events of
    $999,999,999,999.999999999999 (stored exactly: their sum is $2,999,999,999,999.999999999997;
    the export writes each with every digit, and that export imports again: QA)."""
    top = "999999999999.999999999999"
    rows = [
        {"event_id": f"m{i}", "ts": "2026-07-02T00:00:00Z", "model_raw": "gpt-4o", "input_tokens": 10,
         "reported_cost_usd": top} for i in range(3)
    ] + [
        {"event_id": f"x{i}", "ts": "2026-07-02T00:00:00Z", "model_raw": "gpt-4o", "input_tokens": 10,
         "reported_cost_usd": v} for i, v in enumerate(["1000000000000.000001", "-1.0000000000001e12", "6e25", "1e30", "abc", "NaN"])
    ]  # fmt: skip
    f = write_jsonl(tmp_path / "big.jsonl", rows)
    out = run_json("import", str(f), "--db", str(db_path))
    assert (out["imported"], out["rejected"]) == (3, 6)
    bound = "amounts must lie within ±$1,000,000,000,000"
    assert _query(db_path, "SELECT reason FROM rejects ORDER BY record") == [
        (f"reported_cost_usd: out of range (1000000000000.000001; {bound})",),
        (f"reported_cost_usd: out of range (-1.0000000000001e12; {bound})",),
        (f"reported_cost_usd: out of range (6e25; {bound})",),
        (f"reported_cost_usd: out of range (1e30; {bound})",),
        ("reported_cost_usd: not a number (abc)",),
        ("reported_cost_usd: not a number (NaN)",),
    ]
    when = ["--since", "2026-07-01", "--until", "2026-07-31", "--tz", "UTC", "--db", str(db_path)]
    assert run_json("report", "by", "model", *when)["rows"][0]["requests"] == 3
    run("doctor", *when)
    csv_out = tmp_path / "e.csv"
    run("export", "--csv", "--out", str(csv_out), *when)
    import csv as _csv

    with csv_out.open(newline="") as fh:  # the export keeps every stored digit of a reported cost
        assert [r["reported_cost_usd"] for r in _csv.DictReader(fh)] == [top] * 3
    assert _query(db_path, "SELECT sum(reported_cost_usd) FROM events") == [(Decimal("2999999999999.999999999997"),)]
    again = tmp_path / "again.duckdb"
    back = run_json("import", str(csv_out), "--db", str(again))
    assert (back["imported"], back["rejected"]) == (3, 0)
    assert _query(again, "SELECT sum(reported_cost_usd) FROM events") == [(Decimal("2999999999999.999999999997"),)]


def test_a_file_that_cannot_be_read_is_its_own_error_and_the_others_are_imported(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """QA: ``import a.jsonl locked.jsonl c.jsonl`` with the middle file unreadable (mode 000 for
    a user who is not root) stopped at it: a.jsonl stored, c.jsonl never read, no per-file lines
    and nothing on stdout under --json. Now the locked file is its own error: both others are
    imported, the summary lists all three, exit 4 names the file. (Tests run as root, whom mode
    000 does not stop: the read fails here as it does for a user.)"""
    from usagectl.services import imports

    files = [write_jsonl(tmp_path / f"{n}.jsonl", [{"event_id": n, "ts": "2026-05-01T00:00:00Z",
             "model_raw": "gpt-4o", "input_tokens": 10}]) for n in ("a", "locked", "c")]  # fmt: skip
    real = imports.fingerprint

    def fingerprint(path: Path, fmt: str) -> str:
        if Path(path).name == "locked.jsonl":
            raise PermissionError(13, "Permission denied")
        return real(path, fmt)

    monkeypatch.setattr(imports, "fingerprint", fingerprint)
    result = run("import", *map(str, files), "--db", str(db_path), "--json", expect=4)
    out = json.loads(result.stdout)
    assert out["imported"] == 2
    assert [f.get("error") for f in out["per_file"]] == [None, f"{files[1]}: cannot read: Permission denied", None]
    assert query(db_path, "SELECT event_id FROM events ORDER BY 1") == [("a",), ("c",)]
    assert result.stderr.strip().splitlines()[-1] == (
        f"usagectl: error: 1 file could not be read: {files[1]}: cannot read: Permission denied"
    )


def test_a_csv_separated_by_semicolons_is_refused_with_the_reason(tmp_path: Path, db_path: Path) -> None:
    """QA: ``ts;model_raw;input_tokens`` (a spreadsheet's CSV in many locales) was read as one
    column: every row a reject for a missing ts, with no hint. The file is refused whole, exit 4,
    naming the separator; a CSV of the ts column alone is still a CSV."""
    semi = tmp_path / "semi.csv"
    semi.write_text("ts;model_raw;input_tokens\n2026-05-01T00:00:00Z;gpt-4o;10\n")
    result = run("import", str(semi), "--db", str(db_path), expect=4)
    assert result.stderr.strip().splitlines()[-1] == (
        f"usagectl: error: 1 file could not be read: {semi}: line 1: the header's columns are separated by "
        "semicolons, not commas: save the file as comma-separated CSV"
    )
    assert query(db_path, "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM rejects)") == [(0, 0)]
    alone = tmp_path / "alone.csv"
    alone.write_text("ts\n2026-05-01T00:00:00Z\n")
    assert "separated by" not in run("import", str(alone), "--db", str(db_path), expect=None).stderr


def test_a_folder_named_like_a_hive_partition_changes_nothing(tmp_path: Path, db_path: Path) -> None:
    """DuckDB's readers take ``member=alice/`` above a file for a Hive partition and overwrite
    the records' member with ``alice`` (QA): a file is read as it is written, JSONL and Parquet."""
    folder = tmp_path / "member=alice" / "ts=2020-01-01"
    folder.mkdir(parents=True)
    write_jsonl(folder / "a.jsonl", [{"event_id": "j1", "ts": "2025-11-03T10:00:00Z", "member": "bob",
                                      "model_raw": "gpt-4o", "input_tokens": 1}])  # fmt: skip
    con = duckdb.connect()
    con.execute(
        "COPY (SELECT 'p1' AS event_id, TIMESTAMPTZ '2026-03-03 10:00:00+00' AS ts, 'carol' AS member, "
        f"'gpt-4o' AS model_raw, 2 AS input_tokens) TO '{folder / 'b.parquet'}' (FORMAT parquet)"
    )
    con.close()
    doc = run_json("import", str(tmp_path / "member=alice"), "--db", str(db_path))
    assert (doc["imported"], doc["rejected"]) == (2, 0)
    assert not any(f["warnings"] for f in doc["per_file"]), doc["per_file"]
    assert _query(db_path, "SELECT event_id, member, strftime(ts, '%Y-%m-%d %H') FROM events ORDER BY 1") == [
        ("j1", "bob", "2025-11-03 10"), ("p1", "carol", "2026-03-03 10")]  # fmt: skip


def test_an_empty_key_in_a_jsonl_record_is_kept_in_extra(tmp_path: Path, db_path: Path) -> None:
    """``{"": "x"}`` is no column name DuckDB's reader can be given: the file was unreadable
    ("zero-length delimited identifier"); it is read as the JSON array path reads it."""
    path = tmp_path / "e.jsonl"
    path.write_text(
        '{"event_id": "a", "ts": "2025-11-03T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 1}\n'
        '{"event_id": "b", "ts": "2025-11-03T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 2, "": "x"}\n',
        encoding="utf-8",
    )
    assert run_json("import", str(path), "--db", str(db_path))["imported"] == 2
    assert _query(db_path, "SELECT event_id, extra FROM events ORDER BY 1") == [("a", None), ("b", '{"":"x"}')]


def test_parts_of_output_are_compared_in_any_spelling_of_a_count(tmp_path: Path, db_path: Path) -> None:
    """Reasoning and tool output are parts of output, whatever the counts' spelling: 1e1 = 10
    reasoning of 5 output, 20 of 1e1 = 10, and 9e0 = 9 tool output of 5 are rejected as 10 of
    5 is (QA: the exponent forms were stored); 1e1 of 2e1 is fine."""
    path = tmp_path / "parts.csv"
    path.write_text(
        "event_id,ts,model_raw,output_tokens,reasoning_tokens,tool_output_tokens\n"
        "c1,2026-03-03T10:00:00Z,gpt-4o,5,1e1,\n"
        "c2,2026-03-03T10:00:00Z,gpt-4o,1e1,20,\n"
        "c3,2026-03-03T10:00:00Z,gpt-4o,5,,9e0\n"
        "c4,2026-03-03T10:00:00Z,gpt-4o,5,10,\n"
        "c5,2026-03-03T10:00:00Z,gpt-4o,2e1,1e1,1.5e1\n",
        encoding="utf-8",
    )
    out = run_json("import", str(path), "--db", str(db_path))
    assert (out["imported"], out["rejected"]) == (1, 4)
    part = "reasoning_tokens exceeds output_tokens (reasoning is part of output)"
    assert _query(db_path, "SELECT line, reason FROM rejects ORDER BY line") == [
        (2, part), (3, part), (4, "tool_output_tokens (9) exceeds output_tokens (5)"), (5, part)]  # fmt: skip
    assert _query(db_path, "SELECT output_tokens, reasoning_tokens, tool_output_tokens FROM events") == [(20, 10, 15)]


def test_a_parquet_column_named_file_row_number_is_kept_and_rows_are_numbered(tmp_path: Path, db_path: Path) -> None:
    """A column ``file_row_number`` clashed with DuckDB's option of that name and the whole file
    failed (QA): the rows are numbered by the scan instead and the column is kept in ``extra``;
    a reject names its record (3, the third row)."""
    path = tmp_path / "frn.parquet"
    con = duckdb.connect()
    con.execute(
        "COPY (SELECT * FROM (VALUES ('a', '2025-11-03T10:00:00Z', 70), ('b', '2025-11-03T11:00:00Z', 80), "
        "('c', 'not a time', 90)) t(event_id, ts, file_row_number)) "
        f"TO '{path}' (FORMAT parquet)"
    )
    con.close()
    out = run_json("import", str(path), "--db", str(db_path))
    assert (out["imported"], out["rejected"]) == (2, 1)
    assert _query(db_path, "SELECT event_id, extra FROM events ORDER BY 1") == [
        ("a", '{"file_row_number":70}'), ("b", '{"file_row_number":80}')]  # fmt: skip
    assert _query(db_path, "SELECT record FROM rejects") == [(3,)]


def test_parquet_columns_that_differ_only_in_case_are_each_read_by_their_own_name(
    tmp_path: Path, db_path: Path
) -> None:
    """Columns ``TS, ts, Member, member``: DuckDB reads the later ones as ``ts_1``/``member_1``,
    so the record lost its ts ("missing ts") and warned of unknown columns ts_1, member_1 (QA).
    Names match exactly, as in JSONL: ts and member are the event's; TS and Member go to extra."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "twins.parquet"
    pq.write_table(pa.table({"TS": ["x"], "ts": ["2026-03-03T10:00:00Z"], "Member": ["M"], "member": ["m"],
                             "model_raw": ["gpt-4o"], "input_tokens": [5]}), path)  # fmt: skip
    out = run_json("import", str(path), "--db", str(db_path))
    assert (out["imported"], out["rejected"]) == (1, 0)
    assert _query(db_path, "SELECT strftime(ts, '%Y-%m-%d %H'), member, extra FROM events") == [
        ("2026-03-03 10", "m", '{"Member":"M","TS":"x"}')]  # fmt: skip


def test_a_folder_with_nothing_to_import_beside_other_paths_is_named_in_a_warning(
    tmp_path: Path, db_path: Path
) -> None:
    """QA: ``import a.jsonl DIR`` with DIR empty (a typo'd or wrong folder) said nothing; given
    alone it is an error ("no importable files found"). Beside other paths: a warning names it."""
    a = write_jsonl(tmp_path / "a.jsonl", [{"event_id": "a", "ts": "2026-05-01T00:00:00Z", "input_tokens": 1}])
    empty = tmp_path / "exports"
    empty.mkdir()
    (empty / "notes.txt").write_text("not usage\n", encoding="utf-8")
    result = run("import", str(a), str(empty), "--db", str(db_path))
    assert f"usagectl: warning: {empty}: no files usagectl can import in this folder (nothing imported from it)" in (
        result.stderr
    )
    assert query(db_path, "SELECT event_id FROM events") == [("a",)]
    alone = run("import", str(empty), "--db", str(db_path), expect=4)
    assert f"no importable files found in {empty}" in alone.stderr


def test_a_csv_record_the_checks_reject_keeps_its_own_text(tmp_path: Path, db_path: Path) -> None:
    """QA: a CSV row rejected for a bad value kept, as raw text, a JSON object of all the canonical
    columns made up from its fields; the README promises the record's raw text (as a row of the
    wrong width already had). A record spanning lines (a quoted newline) keeps all of them."""
    path = tmp_path / "e.csv"
    path.write_bytes(
        b"event_id,ts,model_raw,input_tokens,project\r\n"
        b"a,2026-11-01T00:01:00Z,gpt-4o,abc,x\r\n"
        b"\r\n"
        b'b,2026-11-01T00:02:00Z,gpt-4o,-3,"two\r\nlines"\r\n'
        b"c,2026-11-01T00:03:00Z,gpt-4o,7,ok\r\n"
    )
    out = run_json("import", str(path), "--db", str(db_path))
    assert (out["imported"], out["rejected"]) == (1, 2)
    assert query(db_path, "SELECT line, record, reason, raw FROM rejects ORDER BY line") == [
        (2, 1, "input_tokens: not a number (abc)", "a,2026-11-01T00:01:00Z,gpt-4o,abc,x"),
        (4, 2, "input_tokens: negative (-3)", 'b,2026-11-01T00:02:00Z,gpt-4o,-3,"two\r\nlines"'),
    ]


def test_a_file_no_format_recognises_says_so_under_auto(tmp_path: Path, db_path: Path) -> None:
    """QA: a file that matches no log format (an OpenAI usage page of the embeddings endpoint, a
    Gemini CLI chat file) was read as canonical events under --format auto: one "missing ts"
    reject and "unknown columns kept in extra" (nothing was kept). It now says no format
    recognised it and how to name one; a canonical file whose rows are all bad (it has ts) keeps
    its rejects without that warning."""
    emb = tmp_path / "emb.json"
    emb.write_text(json.dumps({"object": "page", "has_more": False, "next_page": None, "data": [
        {"object": "bucket", "start_time": 1762128000, "end_time": 1762214400, "results": [
            {"object": "organization.usage.embeddings.result", "input_tokens": 5000, "model": "text-embedding-3-small"}
        ]}]}))  # fmt: skip
    gemini = tmp_path / "gemini.json"
    gemini.write_text(json.dumps({"sessionId": "abc", "messages": [{"type": "gemini", "tokens": {"input": 20}}]}))
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"ts": "not a time", "model": "gpt-4o", "input_tokens": 1}])
    for path, unrecognised in ((emb, True), (gemini, True), (bad, False)):
        proc = run("import", str(path), "--format", "auto", "--db", str(db_path))
        assert proc.exit_code == 0
        said = "no log format recognised this file" in proc.stderr
        assert said is unrecognised, proc.stderr
        assert ("kept in extra" in proc.stderr) is False
    assert query(db_path, "SELECT count(*) FROM events") == [(0,)]
    assert query(db_path, "SELECT count(*) FROM rejects") == [(3,)]


def _same_events_in_every_format(tmp_path: Path, name: str, rows: list[dict[str, object]]) -> list[Path]:
    """``rows`` (``extra`` as an object or text) as JSONL, a JSON array, a CSV and a Parquet file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    cols = list(dict.fromkeys(k for r in rows for k in r))

    def text(v: object) -> str | None:
        return None if v is None else v if isinstance(v, str) else json.dumps(v)

    jsonl = write_jsonl(tmp_path / f"{name}.jsonl", rows)
    array = tmp_path / f"{name}.json"
    array.write_text(json.dumps(rows), encoding="utf-8")
    table = tmp_path / f"{name}.csv"
    with table.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(cols)
        writer.writerows([text(r.get(c)) or "" for c in cols] for r in rows)
    parquet = tmp_path / f"{name}.parquet"
    pq.write_table(pa.table({c: pa.array([text(r.get(c)) for r in rows], pa.string()) for c in cols}), parquet)
    return [jsonl, array, table, parquet]


def test_records_that_differ_only_in_their_own_extra_fields_stay_apart(tmp_path: Path, db_path: Path) -> None:
    """QA: a top-level key also in the record's ``extra`` object sends the top-level keys under
    ``extra.fields``, which overwrote the user's own ``fields``: records differing only in it got
    one id (counted as duplicates, their tokens lost). Now they go under the first of ``fields``,
    ``fields_2``, ``fields_3``, ... the object does not have. A record without its own ``fields``
    is stored as before, so it still deduplicates against what earlier imports stored, and against
    that stored form given as its ``extra`` (d). Every format agrees: the 16 records (4 files x 4)
    are 3 events.

    By hand, ``agent`` "x" top-level beside extra's ``agent`` "y":
    a: extra {agent: y}                      -> {agent: y, fields: {agent: x}} (as before)
    b: extra {agent: y, fields: {agent: z}}  -> {agent: y, fields: {agent: z}, fields_2: {agent: x}}
    c: extra {agent: y, fields: 1, fields_2: 2} -> ... fields_3: {agent: x}
    d: no top-level agent, extra {agent: y, fields: {agent: x}} -> as a: a duplicate.
    Imported 3 (a, b, c from the first file), duplicates 16 - 3 = 13; 3 x 1,000 input tokens."""
    base = {"ts": "2026-11-04T10:00:00Z", "model_raw": "o3", "input_tokens": "1000"}
    rows: list[dict[str, object]] = [
        {**base, "agent": "x", "extra": {"agent": "y"}},
        {**base, "agent": "x", "extra": {"agent": "y", "fields": {"agent": "z"}}},
        {**base, "agent": "x", "extra": {"agent": "y", "fields": 1, "fields_2": 2}},
        {**base, "agent": None, "extra": {"agent": "y", "fields": {"agent": "x"}}},
    ]
    files = _same_events_in_every_format(tmp_path, "clash", rows)
    out = run_json("import", *map(str, files), "--db", str(db_path))
    assert (out["records"], out["imported"], out["duplicates"], out["rejected"]) == (16, 3, 13, 0)
    stored = sorted(json.dumps(json.loads(x), sort_keys=True) for (x,) in query(db_path, "SELECT extra FROM events"))
    assert stored == sorted(
        json.dumps(e, sort_keys=True)
        for e in [
            {"agent": "y", "fields": {"agent": "x"}},
            {"agent": "y", "fields": {"agent": "z"}, "fields_2": {"agent": "x"}},
            {"agent": "y", "fields": 1, "fields_2": 2, "fields_3": {"agent": "x"}},
        ]
    )
    assert query(db_path, "SELECT sum(input_tokens) FROM events") == [(3000,)]


def test_extra_given_as_the_text_null_is_no_extra(tmp_path: Path, db_path: Path) -> None:
    """QA: ``extra`` given as the text ``null`` (a CSV cell, a Parquet string, a JSON string) was
    stored as the JSON null, hashed apart from ``"extra": null`` and from no extra at all: the
    same event imported twice. README: text given for ``extra`` is the JSON it holds, and the
    JSON null is none. By hand: records 1-3 of each file are one event (no extra, JSON null, the
    text null with JSON's white space around it); record 4, the text null beside an unknown column
    ``note``, is record 5 with no extra: {note: n}. 4 files x 5 records = 20: 2 events, 18
    duplicates, 7 + 7 input tokens; neither stores a JSON null."""
    base = {"ts": "2026-11-03T10:00:02Z", "model_raw": "o3", "input_tokens": "7"}
    rows: list[dict[str, object]] = [
        {**base},
        {**base, "extra": None},
        {**base, "extra": " null\t"},
        {**base, "note": "n", "extra": "null"},
        {**base, "note": "n"},
    ]
    files = _same_events_in_every_format(tmp_path, "null", rows)
    out = run_json("import", *map(str, files), "--db", str(db_path))
    assert (out["records"], out["imported"], out["duplicates"], out["rejected"]) == (20, 2, 18, 0)
    assert query(db_path, "SELECT extra, input_tokens FROM events ORDER BY 1 NULLS FIRST") == [
        (None, 7), ('{"note":"n"}', 7)]  # fmt: skip


def test_a_parquet_file_naming_a_column_twice_is_refused_and_the_others_are_imported(
    tmp_path: Path, db_path: Path
) -> None:
    """QA: a Parquet schema naming ``input_tokens`` twice crashed the import ("zip() argument 2
    is longer than argument 1", exit 1) and the files after it were never read. It is refused as
    a CSV header naming a column twice is (exit 4, naming the file and the column); the files
    before and after it are imported: 5 + 6 input tokens."""
    from datetime import UTC, datetime

    import pyarrow as pa
    import pyarrow.parquet as pq

    ts = pa.array([datetime(2026, 11, 5, 10, tzinfo=UTC)], pa.timestamp("us", tz="UTC"))
    good = [tmp_path / "a.parquet", tmp_path / "c.parquet"]
    pq.write_table(pa.table({"ts": ts, "model_raw": ["o3"], "input_tokens": [5]}), good[0])
    pq.write_table(pa.table({"ts": ts, "model_raw": ["gpt-4o"], "input_tokens": [6]}), good[1])
    twice = tmp_path / "b.parquet"
    columns = [ts, pa.array(["o3"]), pa.array([1]), pa.array([2])]
    pq.write_table(pa.Table.from_arrays(columns, names=["ts", "model_raw", "input_tokens", "input_tokens"]), twice)
    result = run("import", str(good[0]), str(twice), str(good[1]), "--db", str(db_path), expect=4)
    assert result.stderr.strip().splitlines()[-1] == (
        f"usagectl: error: 1 file could not be read: {twice}: the Parquet file names column 'input_tokens' "
        "twice: their values may disagree and neither can be chosen"
    )
    assert query(db_path, "SELECT model_raw, input_tokens FROM events ORDER BY 2") == [("o3", 5), ("gpt-4o", 6)]


def test_a_missing_path_is_its_own_error_and_the_others_are_imported(tmp_path: Path, db_path: Path) -> None:
    """QA: ``import good1.csv typo.csv good2.csv`` stopped at the typo before reading anything
    (exit 4, nothing imported, nothing on stdout under --json), although exit 4 means "an input
    file could not be read (the rest is imported)". The missing path is now one unreadable input:
    its own error in the summary and in --json, both files imported (10 + 20 input tokens), exit 4
    at the end. Alone, it is the one failed file of an empty summary (a bad --format still comes
    first: exit 2)."""
    good = [tmp_path / "good1.csv", tmp_path / "good2.csv"]
    good[0].write_text("ts,model_raw,input_tokens\n2026-11-03T10:00:00Z,o3,10\n")
    good[1].write_text("ts,model_raw,input_tokens\n2026-11-03T11:00:00Z,o3,20\n")
    typo = tmp_path / "typo.csv"
    result = run("import", str(good[0]), str(typo), str(good[1]), "--db", str(db_path), "--json", expect=4)
    out = json.loads(result.stdout)
    assert (out["files"], out["failed_files"], out["imported"]) == (3, 1, 2)
    assert {f["path"]: f["error"] for f in out["per_file"]} == {
        str(good[0]): None, str(good[1]): None, str(typo): f"{typo}: no such file or directory"}  # fmt: skip
    assert result.stderr.strip().splitlines()[-1] == (
        f"usagectl: error: 1 file could not be read: {typo}: no such file or directory"
    )
    assert query(db_path, "SELECT sum(input_tokens) FROM events") == [(30,)]
    alone = run("import", str(typo), "--db", str(db_path), "--json", expect=4)
    assert [f["error"] for f in json.loads(alone.stdout)["per_file"]] == [f"{typo}: no such file or directory"]
    run("import", str(typo), "--format", "nope", "--db", str(db_path), expect=2)


def test_a_missing_path_beside_a_folder_with_nothing_to_import_is_named_too(tmp_path: Path) -> None:
    """QA: ``import emptydir typo.jsonl`` said only "no importable files found in emptydir" (exit 4):
    the typo's own error never appeared and --json printed nothing. Each is named: the folder,
    beside another path, by its warning; the missing path as its own error, the one file of the
    --json summary (1 file, 1 failed, 0 imported); exit 4, and no database is created for it."""
    empty = tmp_path / "emptydir"
    empty.mkdir()
    (empty / "readme.md").write_text("notes\n")
    typo = tmp_path / "usage-typo.jsonl"
    db = tmp_path / "fresh.duckdb"
    result = run("import", str(empty), str(typo), "--db", str(db), "--json", expect=4)
    assert f"{empty}: no files usagectl can import in this folder (nothing imported from it)" in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"usagectl: error: 1 file could not be read: {typo}: no such file or directory"
    )
    out = json.loads(result.stdout)
    assert (out["files"], out["failed_files"], out["imported"]) == (1, 1, 0)
    assert [(f["path"], f["error"]) for f in out["per_file"]] == [(str(typo), f"{typo}: no such file or directory")]
    assert not db.exists()


def test_the_results_of_an_import_are_listed_in_the_order_the_paths_were_given(tmp_path: Path, db_path: Path) -> None:
    """QA: the per-file lines and --json's per_file put a missing path last. Given b.csv, typo.csv,
    a.jsonl: listed so (one line each, the typo's between the two files)."""
    b = tmp_path / "b.csv"
    b.write_text("ts,model_raw,input_tokens\n2026-11-03T10:00:00Z,o3,10\n")
    typo = tmp_path / "typo.csv"
    a = write_jsonl(tmp_path / "a.jsonl", [{"event_id": "a", "ts": "2026-11-03T11:00:00Z", "input_tokens": 20}])
    result = run("import", str(b), str(typo), str(a), "--db", str(db_path), "--json", expect=4)
    assert [f["path"] for f in json.loads(result.stdout)["per_file"]] == [str(b), str(typo), str(a)]
    lines = [line.split()[0] for line in result.stderr.splitlines() if line.startswith(str(tmp_path))]
    assert lines == [str(b), str(typo), str(a)]


def test_a_csv_row_imported_cut_off_gives_way_when_the_finished_file_is_imported(tmp_path: Path, db_path: Path) -> None:
    """An import by hand reads a CSV whose last row (e2) is cut off, without its newline: output
    12 of 1280. The writer finishes it and the file is imported again: the finished row replaces
    the cut one, as a sync's read of it does (the batch that read e2 gives way, e1 with it; e1
    comes back as it was, a duplicate, and e2 is replaced: none new; QA: "2 replaced" where one
    row changed): gpt-4o, 1,000 + 1,000
    input × $2.50/M = $0.005, 100 + 1,280 output × $10/M = $0.0138: $0.0188, 2 events (both
    copies counted before: output 1,392). Imported again: unchanged. A row whole as read (only
    its newline came later) is no cut row: the file read again, both rows duplicates."""
    f = tmp_path / "a.csv"
    f.write_text(
        "event_id,ts,model_raw,input_tokens,output_tokens\ne1,2025-11-03T10:00:00Z,gpt-4o,1000,100\n"
        "e2,2025-11-03T11:00:00Z,gpt-4o,1000,12"
    )

    def counts() -> tuple[int, ...]:
        doc = run_json("import", str(f), "--db", str(db_path))
        return doc["records"], doc["imported"], doc["duplicates"], doc["replaced"], doc["per_file"][0]["unchanged"]

    assert counts() == (2, 2, 0, 0, False)
    with f.open("a") as fh:
        fh.write("80\n")
    assert counts() == (2, 0, 1, 1, False)
    assert query(db_path, "SELECT event_id, output_tokens FROM events ORDER BY 1") == [("e1", 100), ("e2", 1280)]
    totals = run_json("report", "by", "model", "--since", "2025-11-03", "--until", "2025-11-03", "--tz", "UTC",
                      "--db", str(db_path))["totals"]  # fmt: skip
    assert Decimal(str(totals["cost_usd"])) == Decimal("0.0188")
    assert counts() == (0, 0, 0, 0, True)
    with f.open("a") as fh:
        fh.write("e3,2025-11-03T12:00:00Z,gpt-4o,1000,7")
    counts()
    with f.open("a") as fh:
        fh.write("\n")  # e3 was whole: nothing of it to replace
    assert counts() == (3, 0, 3, 0, False)
    assert query(db_path, "SELECT sum(output_tokens) FROM events") == [(1387,)]


def test_a_crash_while_a_cut_csv_row_gives_way_leaves_what_was_stored(tmp_path: Path, db_path: Path) -> None:
    """The cut row's batch gives way inside the import's own transaction: a process killed just
    before its COMMIT (os._exit, no cleanup) leaves both events as they were stored (e1 output
    100, e2 the cut 12; the events were deleted in a transaction of their own before, and lost
    until the file was read again). The next import then replaces e2: 1 replaced, e1 a
    duplicate, output 100 + 1,280 = 1,380."""
    f = tmp_path / "a.csv"
    f.write_text(
        "event_id,ts,model_raw,input_tokens,output_tokens\ne1,2025-11-03T10:00:00Z,gpt-4o,1000,100\n"
        "e2,2025-11-03T11:00:00Z,gpt-4o,1000,12"
    )
    run("import", str(f), "--db", str(db_path))
    with f.open("a") as fh:
        fh.write("80\n")
    _import_killed_before_commit(db_path, f)
    assert query(db_path, "SELECT event_id, output_tokens FROM events ORDER BY 1") == [("e1", 100), ("e2", 12)]
    doc = run_json("import", str(f), "--db", str(db_path))
    assert (doc["records"], doc["imported"], doc["duplicates"], doc["replaced"]) == (2, 0, 1, 1)
    assert query(db_path, "SELECT sum(output_tokens) FROM events") == [(1380,)]


def test_import_help_names_every_format(tmp_path: Path) -> None:
    """The warning for an unrecognised file says ``usagectl import --help`` lists the formats
    (QA: the help said only "see README"). By hand, the formats are auto, the canonical jsonl,
    csv and parquet, and the eight log formats below; the help names each, and any format the
    registry gains. Reading the names when the command is built keeps the importers out of
    every other command's start."""
    from usagectl.importers.registry import names

    proc = subprocess.run(
        [sys.executable, "-m", "usagectl", "import", "--help"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"},
    )
    assert proc.returncode == 0, proc.stderr
    words = set(proc.stdout.replace(",", " ").replace(".", " ").split())
    by_hand = ["auto", "jsonl", "csv", "parquet", "anthropic-usage", "claude-code", "codex", "llm", "openai-usage",
               "anthropic-cost", "openai-costs", "litellm"]  # fmt: skip
    assert [n for n in [*by_hand, *names()] if n not in words] == []
    probe = subprocess.run(
        [sys.executable, "-c", "import sys, usagectl.cli; print(sorted(m for m in sys.modules if 'importers' in m))"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert probe.stdout.strip() == "[]", probe.stderr


def _claude_code_line(n: int, day: int, input_tokens: int, output_tokens: int) -> str:
    """One Claude Code assistant message (its own message and request id) with usage."""
    usage = {"input_tokens": input_tokens, "output_tokens": output_tokens}
    message = {"model": "claude-haiku-4-5-20251001", "id": f"msg_mem{n}", "type": "message", "role": "assistant"}
    line = {
        "parentUuid": None,
        "isSidechain": False,
        "type": "assistant",
        "cwd": "/home/alice/src/webapp",
        "sessionId": f"5555eeee-0000-4000-8000-00000000000{n}",
        "requestId": f"req_mem{n}",
        "uuid": f"9d3a000{n}-0000-4000-8000-000000000001",
        "timestamp": f"2025-11-{day:02d}T10:00:00.000Z",
        "message": message | {"usage": usage},
    }
    return json.dumps(line) + "\n"


def test_a_memory_limit_too_small_for_a_file_names_the_variable_not_the_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """QA: USAGECTL_MEMORY_LIMIT=10MB (enough to open the database, too small for DuckDB's JSON
    reader, which asks for a 32 MiB buffer) was "3 files could not be read: … cannot be read as
    claude-code: Out of Memory Error", exit 4, the variable not named. The README: out of memory
    under a limit you set is a usage error naming it (exit 2). Nothing of the failed run is
    stored, what was stored before stays, and a later sync with the default limit imports the
    rest: a.jsonl (10 in + 5 out = 15 tokens, synced first) + b.jsonl (20 + 7 = 27) = 42
    tokens in 2 events."""
    tree = tmp_path / "projects" / "-home-alice-src-webapp"
    tree.mkdir(parents=True)
    (tree / "a.jsonl").write_text(_claude_code_line(1, 3, 10, 5))
    db = tmp_path / "x.duckdb"
    run("source", "add", str(tree.parent), "--format", "claude-code", "--name", "cc", "--db", str(db))
    assert run_json("sync", "--db", str(db))["totals"]["imported"] == 1
    (tree / "b.jsonl").write_text(_claude_code_line(2, 4, 20, 7))
    monkeypatch.setenv("USAGECTL_MEMORY_LIMIT", "10MB")
    for command in ("import", "sync"):
        args = ("import", str(tree / "b.jsonl"), "--format", "claude-code") if command == "import" else ("sync",)
        res = run(*args, "--db", str(db), expect=2)
        assert f"USAGECTL_MEMORY_LIMIT=10MB is too small for this {command}: DuckDB ran out of memory" in res.stderr
        assert "could not be read" not in res.stderr
    assert query(db, "SELECT count(*) FROM events") == [(1,)]  # a.jsonl's, nothing of b
    monkeypatch.delenv("USAGECTL_MEMORY_LIMIT")
    run("sync", "--db", str(db))
    daily = run_json(
        "report", "daily", "--since", "2025-11-01", "--until", "2025-11-05", "--tz", "UTC", "--db", str(db)
    )
    assert (daily["totals"]["requests"], daily["totals"]["total_tokens"]) == (2, 42)


def test_import_file_lets_running_out_of_memory_stop_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file read on its own (a pipe's spooled copy, a sync's tail, a batch's file alone) that
    runs out of memory is not that file's error ("cannot be read as …"): the error goes on to
    ``within_import_memory``, which names the limit; the file's transaction stored nothing."""
    from usagectl.errors import UsageError, ran_out_of_memory
    from usagectl.services.imports import import_file, prepare_import_connection, resolver, within_import_memory
    from usagectl.store.connection import connect

    f = tmp_path / "a.jsonl"
    f.write_text(_claude_code_line(1, 3, 10, 5))
    db = tmp_path / "x.duckdb"
    ctx = make_context(None, db)
    monkeypatch.setenv("USAGECTL_MEMORY_LIMIT", "10MB")
    with connect(db) as con:
        prepare_import_connection(con)
        with pytest.raises(Exception) as raised:
            import_file(con, f, "claude-code", resolver(ctx.pricebook()))
        assert ran_out_of_memory(raised.value)
        with pytest.raises(UsageError, match="USAGECTL_MEMORY_LIMIT=10MB is too small for this import"):
            with within_import_memory():
                import_file(con, f, "claude-code", resolver(ctx.pricebook()))
        assert con.execute("SELECT count(*) FROM events").fetchone() == (0,)
