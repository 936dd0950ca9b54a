"""`usagectl report duplicates`: per batch, what each dedup rule dropped, worked by hand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.helpers import query, run, run_json
from usagectl.models import Record
from usagectl.store import ingest
from usagectl.store.connection import connect


def _ev(eid: str, inp: int = 100, out: int = 10) -> dict[str, Any]:
    return {
        "event_id": eid,
        "ts": "2025-11-03T10:00:00Z",
        "model_raw": "gpt-4o",
        "input_tokens": inp,
        "output_tokens": out,
    }


def _write(path: Path, lines: list[Any]) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines))
    return path


def _staged(db: Path, name: str, conflict: str, events: list[dict[str, Any]]) -> None:
    """A batch by a given conflict rule, as a format importer with that rule would make it."""
    records = [Record(rec=i + 1, line=i + 1, fields=e) for i, e in enumerate(events)]
    info = ingest.BatchInfo(source=name, path=Path("/data") / f"{name}.json", file_size=None, file_mtime=None,
                            fingerprint=None)  # fmt: skip
    with connect(db) as con:
        ingest.import_staged(
            con,
            info,
            lambda c: ingest.stage_records(c, records),
            lambda raws: {r: (None, None) for r in raws},
            default_source=name,
            conflict=conflict,
        )


ROW_KEYS = ("records", "imported", "dup_in_file", "dup_stored", "replaced", "rejected", "rule")


def test_duplicates_per_batch_and_rule(tmp_path: Path, db_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    a = _write(logs / "a.jsonl", [_ev("e1"), _ev("e2"), _ev("e1"), "garbage", _ev("e3")])
    run("source", "add", str(logs), "--name", "mine", "--db", str(db_path))
    run("sync", "--db", str(db_path))
    b = _write(tmp_path / "b.jsonl", [_ev("e3"), _ev("e4"), _ev("e4"), _ev("e5")])
    run("import", str(b), "--db", str(db_path))
    # re-fetched buckets: r1 twice in the file, e5 again with other numbers
    _staged(db_path, "buckets", "replace", [_ev("r1"), _ev("e5", 7, 7), _ev("r1", 9, 9)])
    # streaming copies: e2 smaller (110 stored > 2), e3 larger (110 stored < 600), m1 twice
    _staged(db_path, "stream", "max-usage", [_ev("e2", 1, 1), _ev("e3", 500, 100), _ev("m1", 1, 1), _ev("m1", 5, 5)])

    doc = run_json("report", "duplicates", "--db", str(db_path))
    rows = doc["rows"]
    assert [(r["path"], r["format"], r["source"]) for r in rows] == [
        (str(a), "jsonl", "mine"),
        (str(b), "jsonl", None),
        ("/data/buckets.json", "buckets", None),
        ("/data/stream.json", "stream", None),
    ]
    assert [r["file"] for r in rows] == [a.name, b.name, "buckets.json", "stream.json"]  # the table's column
    assert [tuple(r[k] for k in ROW_KEYS) for r in rows] == [
        # a: 5 records; e1, e2, e3 new; the second e1 is a duplicate within the file; "garbage" rejected
        (5, 3, 1, 0, 0, 1, "keep"),
        # b: e3 already stored; e4 new, its second copy a duplicate in the file; e5 new
        (4, 2, 1, 1, 0, 0, "keep"),
        # buckets: r1 new (the later copy of the two in the file is kept, the other counted in the
        # file); e5 replaces the stored e5: 3 records = 1 imported + 1 in file + 1 replaced
        (3, 1, 1, 0, 1, 0, "replace"),
        # stream: e2's stored copy is larger and stays (stored duplicate); e3's new copy is larger and
        # replaces it; m1 new (the larger of its two copies; the other counted in the file)
        (4, 1, 1, 1, 1, 0, "max-usage"),
    ]
    # totals: records 5+4+3+4 = 16 = imported 3+2+1+1 = 7, + in file 4, + stored 2, + replaced 2, + rejected 1
    assert {k: doc["totals"][k] for k in ROW_KEYS[:-1]} == {
        "records": 16,
        "imported": 7,
        "dup_in_file": 4,
        "dup_stored": 2,
        "replaced": 2,
        "rejected": 1,
    }
    assert doc["totals"]["batches"] == 4
    notes = doc["notes"]
    # the rules of the batches shown (no cost report here: no max-amount)
    assert [n.split(":")[0] for n in notes] == ["keep", "replace", "max-usage"]
    # per format and rule, every batch: a + b are jsonl/keep (9 records: 5 imported, 2 in file,
    # 1 stored, 1 rejected)
    assert [tuple(g[k] for k in ("format", "rule", "batches", *ROW_KEYS[:-1])) for g in doc["by_rule"]] == [
        ("buckets", "replace", 1, 3, 1, 1, 0, 1, 0),
        ("jsonl", "keep", 2, 9, 5, 2, 1, 0, 1),
        ("stream", "max-usage", 1, 4, 1, 1, 1, 1, 0),
    ]
    # --top 2: the batches that dropped the most (in file + stored + replaced): stream 3, then b
    # and buckets 2 each (b first: the earlier batch), a 1; totals and by_rule still cover all four
    top = run_json("report", "duplicates", "--top", "2", "--db", str(db_path))
    assert [r["file"] for r in top["rows"]] == ["stream.json", b.name]
    assert top["totals"] == doc["totals"] and top["by_rule"] == doc["by_rule"] and top["filters"]["top"] == 2
    assert top["notes"][0].startswith("Showing the 2 of 4 batches that dropped the most records")
    assert len(run_json("report", "duplicates", "--top", "0", "--db", str(db_path))["rows"]) == 4
    run("report", "duplicates", "--top", "-1", "--db", str(db_path), expect=2)
    # the events that are left: e1..e5, r1, m1; e5 and e3 as replaced
    events = run_json("report", "by", "model", "--since", "2025-11-01", "--until", "2025-11-30", "--tz", "UTC",
                      "--db", str(db_path))["rows"]  # fmt: skip
    # input: e1 100 + e2 100 + e3 500 + e4 100 + e5 7 + r1 9 + m1 5 = 821
    assert [(r["requests"], r["input_tokens"]) for r in events] == [(7, 821)]


def test_duplicates_filtered_by_import_day(tmp_path: Path, db_path: Path) -> None:
    f = _write(tmp_path / "a.jsonl", [_ev("e1"), _ev("e1")])
    run("import", str(f), "--db", str(db_path))
    assert run_json("report", "duplicates", "--until", "2000-01-01", "--db", str(db_path))["rows"] == []
    doc = run_json("report", "duplicates", "--since", "2000-01-01", "--tz", "UTC", "--db", str(db_path))
    assert [(r["records"], r["imported"], r["dup_in_file"]) for r in doc["rows"]] == [(2, 1, 1)]
    assert doc["filters"] == {"since": "2000-01-01", "until": None, "tz": "UTC", "top": 50}
    table = run("report", "duplicates", "--db", str(db_path)).stdout
    assert "keep:" in table and "max-usage:" not in table  # one canonical file: its rule alone
    assert f.name in table and str(f.parent) not in table  # the table names the file, json/csv the path
    run("report", "duplicates", "--since", "2001-01-02", "--until", "2001-01-01", "--db", str(db_path), expect=2)


def test_table_at_80_columns_leaves_out_source_time_and_format(tmp_path: Path, db_path: Path) -> None:
    """At the CLI's 80 columns the twelve columns do not fit without folding the counts'
    headers or the file name: the source, the import time, the format and the rejected count
    are left out (and named), in that order; the duplicate counts and the rule stay; JSON keeps
    every key."""
    b = _write(tmp_path / "usage-export-2025-11.jsonl", [_ev("e1"), _ev("e1"), _ev("e2")])
    run("import", str(b), "--db", str(db_path))
    table = run("report", "duplicates", "--db", str(db_path)).stdout
    header = next(line for line in table.splitlines() if line.startswith("Batch"))
    assert header.split() == ["Batch", "File", "Records", "Imported", "file", "stored", "Replaced", "Rule"]
    flat = " ".join(table.split())
    assert "not shown at this width: Source, Imported (UTC), Format, Rejected (a wider terminal" in flat
    assert "usage-export-2025-11.jsonl" in table.split()
    row = run_json("report", "duplicates", "--db", str(db_path))["rows"][0]
    assert {"format", "source", "imported_at"} <= set(row)


def test_a_narrow_table_keeps_session_file_names_whole(tmp_path: Path, db_path: Path) -> None:
    """A Claude Code session file is named by a 36-character UUID: at 80 columns the rule and
    the replaced count go too (the section per format and rule has them) before the name folds."""
    name = "f10d64c4-54c7-468c-81b2-2b262b63bce6.jsonl"
    run("import", str(_write(tmp_path / name, [_ev("e1"), _ev("e1"), _ev("e2")])), "--db", str(db_path))
    table = run("report", "duplicates", "--db", str(db_path)).stdout
    assert name in table.split()
    assert "not shown at this width: Source, Imported (UTC), Format, Rejected, Rule, Replaced" in " ".join(
        table.split()
    )
    section = table.split("By format and rule")[1]
    assert section.splitlines()[4].split() == ["jsonl", "keep", "1", "3", "2", "1", "0", "0", "0"]


def test_a_file_read_again_says_its_stored_duplicates_are_its_own_lines(tmp_path: Path, db_path: Path) -> None:
    """A JSONL file of 2 events imported, then grown by a third and imported again (read whole):
    the second batch has 3 records, 1 imported and 2 "already stored", its own earlier lines. A
    copy of the grown file under another name with a fourth event (4 records, 3 stored) is a copy
    in the logs, not a re-read: the note counts 1 batch and 2 records."""
    f = _write(tmp_path / "e.jsonl", [_ev("a"), _ev("b")])
    run("import", str(f), "--db", str(db_path))
    _write(f, [_ev("a"), _ev("b"), _ev("c")])
    run("import", str(f), "--db", str(db_path))
    copy = _write(tmp_path / "copy.jsonl", [_ev("a"), _ev("b"), _ev("c"), _ev("d")])
    run("import", str(copy), "--db", str(db_path))
    rep = run_json("report", "duplicates", "--db", str(db_path))
    assert [(r["records"], r["imported"], r["dup_stored"]) for r in rep["rows"]] == [(2, 2, 0), (3, 1, 2), (4, 1, 3)]
    [note] = [n for n in rep["notes"] if "read again" in n]
    assert note.startswith("1 batch read again a file that an earlier batch read")
    assert 'most of the 2 "Dup stored" records among them' in note


def test_a_claude_code_sidechain_replay_is_explained(tmp_path: Path, db_path: Path) -> None:
    """QA: a sub-agent line replaying a main-chain message (same message id, another request id)
    was counted under max-usage, whose note speaks of copies of one event id: the note of
    Claude Code's rule across event ids says why it added nothing."""
    import json as _json

    def line(req: str, side: bool) -> str:
        return _json.dumps({"type": "assistant", "sessionId": "s", "requestId": req, "isSidechain": side,
                            "timestamp": "2025-11-05T09:00:00.000Z",
                            "message": {"id": "msg_1", "model": "claude-haiku-4-5",
                                        "usage": {"input_tokens": 40, "output_tokens": 7}}})  # fmt: skip

    tree = tmp_path / "projects" / "-p"
    tree.mkdir(parents=True)
    (tree / "main.jsonl").write_text(line("r1", False) + "\n", encoding="utf-8")
    (tree / "agent-x.jsonl").write_text(line("r2", True) + "\n", encoding="utf-8")
    run("import", str(tree.parent), "--format", "claude-code", "--db", str(db_path))
    doc = run_json("report", "duplicates", "--db", str(db_path))
    assert sum(r["dup_stored"] + r["dup_in_file"] for r in doc["rows"]) == 1
    assert any(n.startswith("claude-code: a sub-agent or /btw (sidechain) line replaying") for n in doc["notes"])


def test_codex_reemitted_totals_are_counted_as_duplicates(tmp_path: Path, db_path: Path) -> None:
    """QA (left out before): a Codex token_count re-emitting the running total was skipped without a
    trace, so ``report duplicates`` showed nothing of the trap. Fixture A (tests/data/codex/
    EXPECTED.md): 6 calls, and 4 lines that re-emit a total (8, 11, 12, 17): records 10, imported 6,
    dup in file 4; a copy imported again adds nothing: its 6 calls are Dup stored, its 4 re-emits
    again Dup in file."""
    rollout = next(
        (Path(__file__).parent / "data" / "codex" / "home" / "sessions" / "2025" / "11" / "03").glob("*.jsonl")
    )
    run("import", str(rollout), "--format", "codex", "--db", str(db_path))
    again = tmp_path / "copy" / rollout.name.replace("rollout-", "rollout-again-")
    again.parent.mkdir()
    again.write_bytes(rollout.read_bytes())
    run("import", str(again), "--format", "codex", "--db", str(db_path))
    doc = run_json("report", "duplicates", "--db", str(db_path))
    rows = sorted(doc["rows"], key=lambda r: r["batch_id"])
    assert [tuple(r[k] for k in ROW_KEYS) for r in rows] == [
        (10, 6, 4, 0, 0, 0, "keep"),
        (10, 0, 4, 6, 0, 0, "keep"),
    ]
    assert any(n.startswith("codex: a token_count whose running total did not move") for n in doc["notes"])
    assert sum(r[0] for r in query(db_path, "SELECT requests FROM events")) == 6
