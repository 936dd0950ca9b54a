"""Events without an ``event_id`` are keyed by a hash of their content; ``extra`` is part of it,
read with its top-level keys sorted (``validation.EXTRA_ID_SQL``). QA: the same event from a CSV
(unknown columns in header order) and from JSONL (sorted), or with an ``extra`` object's keys in
another order, or with ``"extra": {}`` against none, got two ids and was counted twice."""

from __future__ import annotations

import json
from datetime import UTC
from pathlib import Path

import duckdb
import pytest

from tests.helpers import migrate_again_from, query, run_json, write_jsonl
from usagectl.store import ingest
from usagectl.store.connection import connect

BASE = {"ts": "2026-05-04T00:00:00Z", "model_raw": "gpt-4o", "input_tokens": 1000000}


def _ids(db: Path) -> list[tuple[str, int]]:
    return query(db, "SELECT event_id, input_tokens FROM events ORDER BY event_id")


def test_the_same_content_in_csv_and_jsonl_is_one_event(tmp_path: Path, db_path: Path) -> None:
    """The CSV (``foo,bar`` in that order) and the JSONL line of the same event: the second
    import adds nothing, and the day holds one request of 1,000,000 input tokens ($2.50 at
    gpt-4o's $2.50/M, not $5.00)."""
    csv = tmp_path / "ev.csv"
    csv.write_text("ts,model_raw,input_tokens,foo,bar\n2026-05-04T00:00:00Z,gpt-4o,1000000,x,y\n")
    jsonl = write_jsonl(tmp_path / "ev.jsonl", [dict(BASE, foo="x", bar="y")])
    assert run_json("import", str(csv), "--db", str(db_path))["imported"] == 1
    second = run_json("import", str(jsonl), "--db", str(db_path))
    assert (second["imported"], second["duplicates"]) == (0, 1)
    day = run_json(
        "report", "daily", "--since", "2026-05-04", "--until", "2026-05-04", "--tz", "UTC", "--db", str(db_path)
    )
    assert [(r["requests"], r["input_tokens"], r["cost_usd"]) for r in day["rows"]] == [(1, 1000000, 2.5)]


def test_extra_keys_in_another_order_or_an_empty_extra_are_the_same_event(tmp_path: Path, db_path: Path) -> None:
    """Within one JSONL file, ``{"agent":"a","run":"r1"}`` and ``{"run":"r1","agent":"a"}`` are
    one event (a copy in the file); ``"extra": {}`` and no extra are one event too (in a second
    file, against the stored one). Nested objects keep their own order: ``{"m":{"a":1,"b":2}}``
    and ``{"m":{"b":2,"a":1}}`` stay two."""
    f = write_jsonl(
        tmp_path / "a.jsonl",
        [
            dict(BASE, extra={"agent": "a", "run": "r1"}),
            dict(BASE, extra={"run": "r1", "agent": "a"}),
            dict(BASE, input_tokens=7, extra={}),
        ],
    )
    out = run_json("import", str(f), "--db", str(db_path))
    assert (out["imported"], out["duplicates"]) == (2, 1)
    g = write_jsonl(tmp_path / "b.jsonl", [dict(BASE, input_tokens=7)])
    assert run_json("import", str(g), "--db", str(db_path))["duplicates"] == 1
    nested = write_jsonl(
        tmp_path / "n.jsonl",
        [
            dict(BASE, input_tokens=9, extra={"m": {"a": 1, "b": 2}}),
            dict(BASE, input_tokens=9, extra={"m": {"b": 2, "a": 1}}),
        ],
    )
    assert run_json("import", str(nested), "--db", str(db_path))["imported"] == 2
    assert sorted(n for _, n in _ids(db_path)) == [7, 9, 9, 1000000]


def test_migration_10_rekeys_stored_ids_and_removes_the_copies_counted_twice(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database of schema 9 holds ids hashed over ``extra`` as written: the CSV and the JSONL of
    one event are two rows there (imported here with the old hash). The migration gives every
    stored derived id the new hash; of the two copies the first stored (the CSV's batch) stays,
    the JSONL's batch counts its row as a duplicate instead (imported 1 -> 0, duplicates 0 -> 1).
    An event with an id of its own (``own``, whose extra is out of order too) keeps it, and a
    second import of either file then adds nothing."""
    from usagectl.store import validation

    old = validation._event_id_sql
    monkeypatch.setattr(ingest, "_event_id_sql", lambda given=None: old(given, "coalesce(json(extra)::VARCHAR, '')"))
    csv = tmp_path / "ev.csv"
    csv.write_text("ts,model_raw,input_tokens,foo,bar\n2026-05-04T00:00:00Z,gpt-4o,1000000,x,y\n")
    jsonl = write_jsonl(
        tmp_path / "ev.jsonl",
        [dict(BASE, foo="x", bar="y"), dict(BASE, event_id="own", input_tokens=5, extra={"z": 1, "a": 2})],
    )
    run_json("import", str(csv), "--db", str(db_path))
    con = duckdb.connect(str(db_path))
    try:  # the CSV's row as schema 9 stored it: extra in header order, hashed so (no model or provider then)
        old_id = old({"model": "NULL", "provider": "NULL"}, "coalesce(json(extra)::VARCHAR, '')")
        con.execute("""UPDATE events SET extra = '{"foo":"x","bar":"y"}'""")
        con.execute(f"UPDATE events SET event_id = {old_id}")
    finally:
        con.close()
    run_json("import", str(jsonl), "--db", str(db_path))
    assert len(_ids(db_path)) == 3  # the copy counted twice under the old hash
    monkeypatch.undo()
    migrate_again_from(db_path, 10)
    rows = query(db_path, "SELECT event_id, input_tokens, batch_id FROM events ORDER BY batch_id")
    batches = query(db_path, "SELECT batch_id, imported, duplicates, dup_stored FROM import_batches ORDER BY batch_id")
    assert [r[1] for r in rows] == [1000000, 5] and rows[1][0] == "own"
    assert rows[0][2] == batches[0][0]  # the CSV's copy stayed
    assert [b[1:] for b in batches] == [(1, 0, 0), (1, 1, 1)]
    # the ids are what an import computes now: the same files again add nothing
    (tmp_path / "again").mkdir()
    for f in (csv, jsonl):
        copy = tmp_path / "again" / f.name
        copy.write_text(f.read_text())
        assert run_json("import", str(copy), "--db", str(db_path))["imported"] == 0
    assert len(_ids(db_path)) == 2


def test_decimal_numbers_in_extra_are_numbers_from_a_json_array_too(tmp_path: Path, db_path: Path) -> None:
    """QA: the JSON-array reader keeps numbers exact (Decimal) and wrote them into ``extra`` as
    text (``{"k":"1.50"}``), while JSONL stores the number: the same event from both was two
    events (2,000 input tokens). Both now store ``{"k":1.5,"rate":0.5}`` (nested values too), one
    event of 1,000."""
    event = dict(BASE, input_tokens=1000, rate=0.5, extra={"k": 1.5, "n": {"x": 0.25}, "m": [1.25]})
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text(json.dumps(event).replace("1.5", "1.50") + "\n")
    array = tmp_path / "b.json"
    array.write_text(json.dumps([event]).replace("1.5", "1.50"))
    run_json("import", str(jsonl), "--db", str(db_path))
    out = run_json("import", str(array), "--db", str(db_path))
    assert (out["imported"], out["duplicates"]) == (0, 1)
    (extra,) = query(db_path, "SELECT extra FROM events")[0]
    assert json.loads(extra) == {"k": 1.5, "m": [1.25], "n": {"x": 0.25}, "rate": 0.5}


def test_a_repeated_key_in_a_given_extra_is_kept_once(tmp_path: Path, db_path: Path) -> None:
    """``{"b":1,"a":2,"b":3}`` put in key order keeps ``b`` once, with its first value, as DuckDB's
    reader reads the line (QA: it was written ``{"a":2,"b":1,"b":1}``)."""
    f = tmp_path / "dk.jsonl"
    f.write_text('{"ts":"2026-05-04T00:00:00Z","model_raw":"gpt-4o","input_tokens":3,"extra":{"b":1,"a":2,"b":3}}\n')
    run_json("import", str(f), "--db", str(db_path))
    assert query(db_path, "SELECT extra::VARCHAR FROM events") == [('{"a":2,"b":1}',)]


def test_migration_12_makes_a_stored_json_null_extra_none_and_merges_the_copies(tmp_path: Path, db_path: Path) -> None:
    """Before schema 12 the text ``null`` (a CSV cell) was stored as the JSON null and hashed so
    (the id's extra part ``null``), where ``"extra": null`` in JSONL hashes ''. A database holding
    the CSV's row then counted the JSONL copy again (2,000,000 input tokens for one event). The
    migration stores none and recomputes the id: the CSV's row (first stored) stays, the JSONL's
    batch counts its row as a duplicate (imported 1 -> 0, duplicates 0 -> 1). An event with an
    id of its own keeps it, its extra none too."""
    from usagectl.store import validation

    csv = tmp_path / "ev.csv"
    csv.write_text("ts,model_raw,input_tokens\n2026-05-04T00:00:00Z,gpt-4o,1000000\n")
    run_json("import", str(csv), "--db", str(db_path))
    con = duckdb.connect(str(db_path))
    try:  # the CSV's row as schema 11 stored a cell `null`: the JSON null, hashed over it
        nulls = {"model": "NULL", "provider": "NULL"}  # as the file gave them: the import fills them in later
        old_id = validation._event_id_sql(nulls, validation.extra_id_sql("'null'"))
        con.execute(f"UPDATE events SET extra = 'null'::JSON, event_id = {old_id}")
    finally:
        con.close()
    jsonl = write_jsonl(
        tmp_path / "ev.jsonl", [dict(BASE, extra=None), dict(BASE, event_id="own", input_tokens=5, extra=None)]
    )
    run_json("import", str(jsonl), "--db", str(db_path))
    con = duckdb.connect(str(db_path))
    try:
        con.execute("UPDATE events SET extra = 'null'::JSON WHERE event_id = 'own'")
        con.execute("DELETE FROM schema_migrations WHERE version >= 12")
    finally:
        con.close()
    assert sum(n for _, n in _ids(db_path)) == 2_000_005  # counted twice before the migration
    with connect(db_path, read_only=True):  # a reading command brings the schema up to date
        pass
    rows = query(db_path, "SELECT event_id, input_tokens, extra IS NULL FROM events ORDER BY batch_id, event_id")
    batches = query(db_path, "SELECT imported, duplicates, dup_stored FROM import_batches ORDER BY batch_id")
    assert [(r[1], r[2]) for r in rows] == [(1000000, True), (5, True)] and rows[1][0] == "own"
    assert batches == [(1, 0, 0), (1, 1, 1)]
    assert run_json("import", str(csv), "--db", str(db_path))["imported"] == 0  # the ids are an import's now


# The content ids older versions stored for a row given ``model`` and no ``model_raw`` (the hash is
# taken before the import fills ``model_raw`` in from ``model``), written out here as they were:
# ts, then the text columns (provider as given, model_raw empty, model as given, …), the counts
# as text, and from schema 7 on the reported cost and extra as written; joined by U+001F, sha256.
_OLD_TEXT = ("provider", "model_raw", "model", "service_tier", "member", "project", "workspace", "api_key",
             "feature", "tool", "integration", "platform", "session_id", "message_id")  # fmt: skip
_ADDED_TEXT = ("team", "department", "cost_center", "chat_title", "status", "error_type", "file_id", "file_name")


def _old_content_id(row: dict[str, object], *, provider_given: bool, extra: str | None) -> str:
    """``row``: a stored event (column -> value). ``extra``: the hash's extra part at schema 7-11
    (None: up to schema 6, the 14 text columns and the counts only)."""
    import hashlib

    from usagectl.models import EVENT_COLUMNS

    given = dict(row, model_raw=None, model=row["model_raw"], provider=row["provider"] if provider_given else None)
    ts = row["ts"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # type: ignore[attr-defined]
    text = _OLD_TEXT if extra is None else _OLD_TEXT + _ADDED_TEXT
    parts = [ts, *("" if given[c] is None else str(given[c]) for c in text)]
    parts += ["" if row[c] is None else str(row[c]) for c, kind in EVENT_COLUMNS if kind == "int"]
    if extra is not None:
        parts += ["" if row["reported_cost_usd"] is None else str(row["reported_cost_usd"]), extra]
    return "h:" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def _stored_rows(con: duckdb.DuckDBPyConnection) -> dict[int, dict[str, object]]:
    """The stored events by input_tokens, each as column -> value."""
    cur = con.execute("SELECT * FROM events")
    names = [d[0] for d in cur.description]
    return {row["input_tokens"]: row for row in (dict(zip(names, r, strict=True)) for r in cur.fetchall())}


def test_migration_13_rekeys_ids_hashed_with_model_raw_empty_and_merges_the_copies(
    tmp_path: Path, db_path: Path
) -> None:
    """QA: events without an id whose file gave ``model`` and no ``model_raw`` kept the id an old
    version hashed (migrations 7, 10 and 12 never tried ``model_raw`` empty), so after the upgrade
    an overlapping export counted them again. Here three such rows as three versions stored them:
    2,000 input by schema 6 (the 14-column hash), 3,000 by schema 9 (provider given, extra hashed
    as written, keys out of order), 5,000 by schema 11 from a CSV cell ``null`` (hashed over
    ``null``, extra none since migration 12); and ``own`` (7 input) with an id of its own.

    The export downloaded again (the three rows and a new one of 5 input) was imported under the
    new ids: 2,000 + 3,000 + 5,000 counted twice, 20,012 input for 10,012. Migration 13 re-keys the
    stored rows; the first stored copy of each stays, the second batch counts its three copies as
    duplicates (imported 4 -> 1, duplicates 0 -> 3). By hand: 2,000 + 3,000 + 5,000 + 5 + 7 =
    10,012 input in 5 requests, and the same rows once more (another order) add nothing."""
    rows = [
        {"ts": "2026-11-20T11:00:00Z", "model": "gpt-4o", "input_tokens": 2000, "output_tokens": 200, "member": "bob"},
        {"ts": "2026-11-21T11:00:00Z", "model": "gpt-4o", "provider": "openai", "input_tokens": 3000,
         "output_tokens": 300, "extra": {"z": 1, "a": 2}},
        {"ts": "2026-11-22T11:00:00Z", "model": "gpt-4o", "input_tokens": 5000, "output_tokens": 500},
    ]  # fmt: skip
    first = write_jsonl(tmp_path / "a.jsonl", [*rows, {"event_id": "own", **rows[0], "input_tokens": 7}])
    run_json("import", str(first), "--db", str(db_path))
    con = duckdb.connect(str(db_path))
    try:  # the ids (and the extra of schema 9) as the old versions stored them
        stored = _stored_rows(con)
        old = {
            2000: _old_content_id(stored[2000], provider_given=False, extra=None),
            3000: _old_content_id(stored[3000], provider_given=True, extra='{"z":1,"a":2}'),
            5000: _old_content_id(stored[5000], provider_given=False, extra="null"),
        }
        con.execute("""UPDATE events SET extra = '{"z":1,"a":2}' WHERE input_tokens = 3000""")
        for n, old_id in old.items():
            con.execute("UPDATE events SET event_id = ? WHERE input_tokens = ?", [old_id, n])
    finally:
        con.close()
    again = write_jsonl(tmp_path / "b.jsonl", [*rows, dict(rows[0], input_tokens=5, member="zed")])
    assert run_json("import", str(again), "--db", str(db_path))["imported"] == 4  # the copies counted twice
    assert query(db_path, "SELECT count(*), sum(input_tokens) FROM events") == [(8, 20_012)]
    migrate_again_from(db_path, 13)
    assert query(db_path, "SELECT count(*), sum(requests), sum(input_tokens) FROM events") == [(5, 5, 10_012)]
    batches = query(db_path, "SELECT imported, duplicates, dup_stored FROM import_batches ORDER BY batch_id")
    assert batches == [(4, 0, 0), (1, 3, 3)]
    kept = query(db_path, "SELECT input_tokens, batch_id FROM events WHERE input_tokens >= 2000 ORDER BY 1")
    assert [b for _, b in kept] == [1, 1, 1]  # the first stored copies
    assert query(db_path, "SELECT event_id FROM events WHERE input_tokens = 7") == [("own",)]
    third = write_jsonl(tmp_path / "c.jsonl", [dict(rows[0], input_tokens=5, member="zed"), *reversed(rows)])
    out = run_json("import", str(third), "--db", str(db_path))
    assert (out["imported"], out["duplicates"]) == (0, 4)


def test_migration_13_rekeys_a_csv_row_of_schema_4_so_the_grown_csv_adds_only_its_new_row(
    tmp_path: Path, db_path: Path
) -> None:
    """QA (the cron path): a CSV of ``model`` and no ``model_raw`` column, its row stored by
    schema 4 (the 14-column hash, model_raw empty), then the file grew by one row. After the
    upgrade the grown CSV brings 1 new row and 1 duplicate: 10,000 + 5 = 10,005 input tokens in
    2 requests (it was 20,005 in 3), 1,000 + 5 = 1,005 output."""
    csv = tmp_path / "usage.csv"
    csv.write_text("ts,model,input_tokens,output_tokens,member\n2026-11-23T08:00:00Z,gpt-4o-mini,10000,1000,erin\n")
    run_json("import", str(csv), "--db", str(db_path))
    con = duckdb.connect(str(db_path))
    try:  # the row as schema 4 stored it, the database at schema 12
        old_id = _old_content_id(_stored_rows(con)[10000], provider_given=False, extra=None)
        con.execute("UPDATE events SET event_id = ?", [old_id])
        con.execute("DELETE FROM schema_migrations WHERE version >= 13")
    finally:
        con.close()
    with csv.open("a") as f:
        f.write("2026-11-27T08:00:00Z,gpt-4o-mini,5,5,gina\n")
    out = run_json("import", str(csv), "--db", str(db_path))
    assert (out["imported"], out["duplicates"]) == (1, 1)
    assert query(db_path, "SELECT sum(requests), sum(input_tokens), sum(output_tokens) FROM events") == [
        (2, 10_005, 1_005)
    ]


def test_migration_13_leaves_the_ids_an_import_computes_now_alone(tmp_path: Path, db_path: Path) -> None:
    """A database whose ids are all an import's of today (model given or not, model_raw given or
    not, provider given, extra in any order, an empty extra, the text ``null``; a Claude Code
    message without an id) is the same after migration 13: every id, every count."""
    jsonl = write_jsonl(
        tmp_path / "a.jsonl",
        [
            {"ts": "2026-11-20T11:00:00Z", "model": "gpt-4o", "input_tokens": 1},
            {"ts": "2026-11-20T11:00:00Z", "model_raw": "gpt-4o", "input_tokens": 2},
            {"ts": "2026-11-20T11:00:00Z", "model": "gpt-4o", "model_raw": "gpt-4o", "input_tokens": 3},
            {"ts": "2026-11-20T11:00:00Z", "model": "gpt-4o", "provider": "openai", "input_tokens": 4},
            {"ts": "2026-11-20T11:00:00Z", "model": "gpt-4o", "input_tokens": 5, "extra": {"z": 1, "a": 2}},
            {"ts": "2026-11-20T11:00:00Z", "model": "gpt-4o", "input_tokens": 6, "extra": {}},
            {"ts": "2026-11-20T11:00:00Z", "model": "gpt-4o", "input_tokens": 7, "extra": "null"},
        ],
    )
    run_json("import", str(jsonl), "--db", str(db_path))
    cc = tmp_path / "projects" / "-p" / "s.jsonl"
    cc.parent.mkdir(parents=True)
    line = {"type": "assistant", "sessionId": "s1", "timestamp": "2026-11-20T09:00:00.000Z",
            "message": {"id": None, "model": "claude-sonnet-4-5-20250929",
                        "usage": {"input_tokens": 8, "output_tokens": 1}}}  # fmt: skip
    write_jsonl(cc, [line])
    run_json("import", str(cc.parent.parent), "--format", "claude-code", "--db", str(db_path))
    before = query(db_path, "SELECT * FROM events ORDER BY input_tokens")
    batches = query(db_path, "SELECT * FROM import_batches ORDER BY batch_id")
    assert len(before) == 8
    migrate_again_from(db_path, 13)
    assert query(db_path, "SELECT * FROM events ORDER BY input_tokens") == before
    assert query(db_path, "SELECT * FROM import_batches ORDER BY batch_id") == batches
