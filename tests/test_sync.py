"""Registered sources and incremental sync, on canonical JSONL (and CSV for whole-file re-reads)."""

from __future__ import annotations

import builtins
import io
import json
import os
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import query, run, run_json
from usagectl.importers import registry
from usagectl.services.sources import default_agent_dirs
from usagectl.store import ingest


def ev(n: int, day: int = 3, inp: int = 100, out: int = 10) -> str:
    return json.dumps(
        {
            "event_id": f"e{n}",
            "ts": f"2025-11-{day:02d}T10:00:{n % 60:02d}Z",
            "model_raw": "gpt-4o",
            "input_tokens": inp,
            "output_tokens": out,
        }
    )


def _count(db: Path, sql: str) -> int:
    return int(query(db, sql)[0][0])


def _sync(db: Path, *names: str) -> dict[str, Any]:
    return run_json("sync", *names, "--db", str(db))  # type: ignore[no-any-return]


def _source(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in doc["sources"] if s["name"] == name)


def _append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as fh:
        fh.write(text)


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    d = tmp_path / "logs"
    d.mkdir()
    return d


def _add(logs: Path, db: Path, name: str = "mine") -> None:
    run("source", "add", str(logs), "--name", name, "--db", str(db))


def test_a_source_whose_path_is_gone_keeps_its_events_and_says_so(logs: Path, db_path: Path) -> None:
    (logs / "a.jsonl").write_text(ev(1) + "\n")
    _add(logs, db_path)
    _sync(db_path)
    shutil.rmtree(logs)
    result = run("sync", "--db", str(db_path))
    assert "the path is gone; the events of its 1 file stay" in result.stderr
    assert query(db_path, "SELECT count(*) FROM events") == [(1,)]


def test_appended_lines_only_are_read_and_rejects_keep_real_line_numbers(logs: Path, db_path: Path) -> None:
    f = logs / "a.jsonl"
    f.write_text(ev(1) + "\n" + "this is not json\n" + ev(2) + "\n")
    _add(logs, db_path)
    first = _source(_sync(db_path), "mine")
    # 3 lines: 2 events, 1 malformed (line 2)
    assert (first["files"], first["read"], first["records"], first["imported"], first["rejected"]) == (1, 1, 3, 2, 1)
    _append(f, ev(3) + "\n" + "{broken\n" + ev(4) + "\n")
    second = _source(_sync(db_path), "mine")
    # only the 3 new lines are read: 2 events and the malformed line 5; line 2 is not rejected again
    assert (second["records"], second["imported"], second["rejected"], second["duplicates"]) == (3, 2, 1, 0)
    rejects = query(db_path, "SELECT file, line FROM rejects ORDER BY line")
    assert rejects == [(str(f), 2), (str(f), 5)]
    assert _count(db_path, "SELECT count(*) FROM events") == 4
    state = query(db_path, 'SELECT "offset", lines, size FROM source_files')
    assert state == [(f.stat().st_size, 6, f.stat().st_size)]  # 3 + 3 lines read


def test_partial_last_line_waits_for_its_newline(logs: Path, db_path: Path) -> None:
    f = logs / "a.jsonl"
    f.write_text(ev(1) + "\n")
    _add(logs, db_path)
    _sync(db_path)
    line = ev(2, inp=7)
    _append(f, ev(3) + "\n" + line[:20])  # the agent is still writing e2
    mid = _source(_sync(db_path), "mine")
    assert (mid["records"], mid["imported"], mid["rejected"]) == (1, 1, 0)  # e3 only
    assert mid["waiting"] == 1  # and said so: the half-written e2 waits for the next sync
    _append(f, line[20:] + "\n")
    done = _source(_sync(db_path), "mine")
    assert (done["records"], done["imported"], done["rejected"], done["waiting"]) == (1, 1, 0, 0)  # e2, whole
    assert query(db_path, "SELECT input_tokens FROM events WHERE event_id = 'e2'") == [(7,)]
    assert _count(db_path, "SELECT count(*) FROM rejects") == 0


def test_partial_line_left_by_a_crash_is_rejected_at_the_next_sync(logs: Path, db_path: Path) -> None:
    f = logs / "a.jsonl"
    f.write_text(ev(1) + "\n" + ev(2) + "\n" + ev(3)[:25])
    _add(logs, db_path)
    first = _source(_sync(db_path), "mine")
    assert (first["records"], first["rejected"], first["waiting"]) == (2, 0, 1)
    # nothing changed since: the unfinished line 3 is a truncated record, counted as malformed
    second = _source(_sync(db_path), "mine")
    assert (second["records"], second["imported"], second["rejected"]) == (1, 0, 1)
    assert query(db_path, "SELECT file, line FROM rejects") == [(str(f), 3)]
    third = _source(_sync(db_path), "mine")
    assert (third["read"], third["unchanged"]) == (0, 1)


def test_the_sync_line_names_a_file_whose_last_line_is_half_written(logs: Path, db_path: Path) -> None:
    (logs / "a.jsonl").write_text(ev(1) + "\n" + ev(2)[:25])
    _add(logs, db_path)
    result = run("sync", "--db", str(db_path))
    assert "mine (jsonl, " in result.stderr
    assert "1 file, 1 read, 0 unchanged, 1 with a half-written last line (read by the next sync)" in result.stderr


def test_complete_last_line_without_newline_is_read_once(logs: Path, db_path: Path) -> None:
    f = logs / "a.jsonl"
    f.write_text(ev(1) + "\n" + ev(2))  # a hand-written file without the final newline
    _add(logs, db_path)
    first = _source(_sync(db_path), "mine")
    assert (first["records"], first["imported"]) == (2, 2)
    _append(f, "\n" + ev(3) + "\nnope\n")
    second = _source(_sync(db_path), "mine")
    # lines 3 (e3) and 4 (malformed) only; e2 is not read again
    assert (second["records"], second["imported"], second["duplicates"], second["rejected"]) == (2, 1, 0, 1)
    assert query(db_path, "SELECT line FROM rejects") == [(4,)]


def test_rewritten_file_of_the_same_size_is_read_again(logs: Path, db_path: Path) -> None:
    f = logs / "a.jsonl"
    f.write_text(ev(1) + "\n" + ev(2) + "\n")
    _add(logs, db_path)
    _sync(db_path)
    before = f.stat()
    f.write_text(ev(5) + "\n" + ev(2) + "\n")  # same length, different first record
    os.utime(f, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
    assert f.stat().st_size == before.st_size
    again = _source(_sync(db_path), "mine")
    # read from the start: e5 new, e2 already stored
    assert (again["records"], again["imported"], again["duplicates"]) == (2, 1, 1)
    assert _count(db_path, "SELECT count(*) FROM events") == 3  # e1 stays: history is kept


def test_truncated_file_is_read_again_from_the_start(logs: Path, db_path: Path) -> None:
    f = logs / "a.jsonl"
    f.write_text(ev(1) + "\n" + ev(2) + "\n" + ev(3) + "\n")
    _add(logs, db_path)
    _sync(db_path)
    f.write_text(ev(8) + "\n")
    again = _source(_sync(db_path), "mine")
    assert (again["records"], again["imported"]) == (1, 1)
    assert _count(db_path, "SELECT count(*) FROM events") == 4  # e1..e3 stay, e8 new
    assert query(db_path, 'SELECT "offset", lines FROM source_files') == [(f.stat().st_size, 1)]


def test_deleted_file_keeps_its_events(logs: Path, db_path: Path) -> None:
    (logs / "a.jsonl").write_text(ev(1) + "\n" + ev(2) + "\n")
    (logs / "b.jsonl").write_text(ev(3) + "\n")
    _add(logs, db_path)
    _sync(db_path)
    (logs / "a.jsonl").unlink()
    after = _source(_sync(db_path), "mine")
    assert (after["files"], after["gone"], after["read"]) == (1, 1, 0)
    assert _count(db_path, "SELECT count(*) FROM events") == 3
    listed = run_json("source", "list", "--db", str(db_path))
    assert [(r["name"], r["files"], r["gone"], r["events"]) for r in listed["rows"]] == [("mine", 2, 1, 3)]
    # the whole directory gone: reported, events still there
    (logs / "b.jsonl").unlink()
    logs.rmdir()
    gone = _source(_sync(db_path), "mine")
    assert gone["missing"] is True and gone["gone"] == 2
    assert _count(db_path, "SELECT count(*) FROM events") == 3


def test_unchanged_sync_imports_nothing_and_opens_no_file(
    logs: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(5):
        (logs / f"s{i}.jsonl").write_text(ev(i) + "\n" + ev(10 + i) + "\n")
    _add(logs, db_path)
    _sync(db_path)
    batches = _count(db_path, "SELECT count(*) FROM import_batches")
    assert batches == 5
    opened: list[str] = []
    real_open, real_io_open, real_os_open = builtins.open, io.open, os.open

    def guard(real: Any) -> Any:
        def wrapped(file: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(file, (str, Path)) and str(file).startswith(str(logs)):
                opened.append(str(file))
            return real(file, *args, **kwargs)

        return wrapped

    with monkeypatch.context() as patch:
        patch.setattr(builtins, "open", guard(real_open))
        patch.setattr(io, "open", guard(real_io_open))
        patch.setattr(os, "open", guard(real_os_open))
        doc = _source(_sync(db_path), "mine")
    assert opened == []
    assert (doc["files"], doc["unchanged"], doc["read"], doc["records"]) == (5, 5, 0, 0)
    assert _count(db_path, "SELECT count(*) FROM import_batches") == batches


def test_source_rm_keeps_events(logs: Path, db_path: Path) -> None:
    (logs / "a.jsonl").write_text(ev(1) + "\n" + ev(2) + "\n")
    _add(logs, db_path)
    _sync(db_path)
    out = run("source", "rm", "mine", "--db", str(db_path))
    assert "2 imported events stay" in out.stderr
    assert _count(db_path, "SELECT count(*) FROM events") == 2
    assert _count(db_path, "SELECT count(*) FROM sources") == 0
    assert _count(db_path, "SELECT count(*) FROM source_files") == 0
    assert run_json("source", "list", "--db", str(db_path))["rows"] == []
    assert "no sources registered" in run("sync", "--db", str(db_path), expect=2).stderr
    run("source", "rm", "mine", "--db", str(db_path), expect=2)


def test_events_of_files_under_a_symlinked_folder_imported_by_hand_count_as_the_sources(
    logs: Path, tmp_path: Path, db_path: Path
) -> None:
    """A month moved to another disk and linked back: imported by hand first (the batch records
    the file's real path), then registered as a source (it lists the file through the link).
    The sync reads nothing new; the source's events are all 3 (a: 2, the linked b: 1), not 2 (QA)."""
    (logs / "a.jsonl").write_text(ev(1) + "\n" + ev(2) + "\n")
    moved = tmp_path / "disk2" / "nov"
    moved.mkdir(parents=True)
    (moved / "b.jsonl").write_text(ev(3) + "\n")
    (logs / "nov").symlink_to(moved)
    assert run_json("import", str(logs), "--db", str(db_path))["imported"] == 3
    _add(logs, db_path)
    assert _sync(db_path)["totals"]["imported"] == 0
    listed = run_json("source", "list", "--db", str(db_path))
    assert [(r["files"], r["events"]) for r in listed["rows"]] == [(2, 3)]
    assert "3 imported events stay" in run("source", "rm", "mine", "--db", str(db_path)).stderr


def test_a_source_added_under_a_removed_ones_name_starts_with_none_of_its_events(
    logs: Path, tmp_path: Path, db_path: Path
) -> None:
    """``source rm`` keeps the events; a new source given the same name (another folder) counts
    only the events of its own files: 0 before its first sync, then its 1 event, not 2 + 1."""
    (logs / "a.jsonl").write_text(ev(1) + "\n" + ev(2) + "\n")
    _add(logs, db_path)
    _sync(db_path)
    run("source", "rm", "mine", "--db", str(db_path))
    other = tmp_path / "other"
    other.mkdir()
    (other / "b.jsonl").write_text(ev(3) + "\n")
    _add(other, db_path)
    assert [r["events"] for r in run_json("source", "list", "--db", str(db_path))["rows"]] == [0]
    _sync(db_path)
    assert [r["events"] for r in run_json("source", "list", "--db", str(db_path))["rows"]] == [1]
    assert _count(db_path, "SELECT count(*) FROM events") == 3
    assert "1 imported event stays" in run("source", "rm", "mine", "--db", str(db_path)).stderr


def test_a_source_cannot_take_the_label_of_a_removed_ones_batches(logs: Path, tmp_path: Path, db_path: Path) -> None:
    """``source rm work`` labels work's batches "work (removed)": a source of that name would
    count them as its own (QA: its 2 events became 5, for good), so the name is refused."""
    (logs / "a.jsonl").write_text(ev(1) + "\n")
    out = run("source", "add", str(logs), "--name", "work (removed)", "--db", str(db_path), expect=2)
    assert "must not end with ' (removed)'" in out.stderr
    assert run_json("source", "list", "--db", str(db_path))["rows"] == []


def test_the_total_of_overlapping_sources_counts_each_event_once(logs: Path, db_path: Path) -> None:
    """A folder and a folder inside it, both registered: each source counts the events of its
    files (3 and 1), the Total the database's 3 once (it said 4), and the 2 files once."""
    (logs / "a.jsonl").write_text(ev(1) + "\n" + ev(2) + "\n")
    inner = logs / "inner"
    inner.mkdir()
    (inner / "b.jsonl").write_text(ev(3) + "\n")
    _add(logs, db_path, "outer")
    _add(inner, db_path, "inner")
    _sync(db_path)
    listed = run_json("source", "list", "--db", str(db_path))
    assert {r["name"]: r["events"] for r in listed["rows"]} == {"outer": 3, "inner": 1}
    assert (listed["totals"]["events"], listed["totals"]["files"]) == (3, 2)
    assert _count(db_path, "SELECT count(*) FROM events") == 3


def test_source_counts_the_events_of_its_files_imported_by_hand_before_it(logs: Path, db_path: Path) -> None:
    """Files imported by hand, then registered as a source: the sync adds nothing, and the
    source still counts the events that came from its files (3 here, by hand: e1, e2 in a,
    e3 in b), as `source list` and `source rm` say; a file elsewhere does not count."""
    (logs / "a.jsonl").write_text(ev(1) + "\n" + ev(2) + "\n")
    (logs / "b.jsonl").write_text(ev(3) + "\n")
    other = logs.parent / "other.jsonl"
    other.write_text(ev(4) + "\n")
    run("import", str(logs), str(other), "--db", str(db_path))
    _add(logs, db_path)
    synced = _source(_sync(db_path), "mine")
    assert (synced["imported"], synced["duplicates"]) == (0, 3)
    listed = run_json("source", "list", "--db", str(db_path))
    assert [(r["name"], r["files"], r["events"]) for r in listed["rows"]] == [("mine", 2, 3)]
    assert listed["totals"]["events"] == 3
    assert "3 imported events stay" in run("source", "rm", "mine", "--db", str(db_path)).stderr
    assert _count(db_path, "SELECT count(*) FROM events") == 4


def test_source_add_rules(logs: Path, db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (logs / "a.jsonl").write_text(ev(1) + "\n")
    monkeypatch.chdir(tmp_path)
    run("source", "add", "logs", "--db", str(db_path))  # relative path, format and name derived
    rows = run_json("source", "list", "--db", str(db_path))["rows"]
    assert [(r["name"], r["format"], r["path"]) for r in rows] == [("jsonl", "jsonl", str(logs.resolve()))]
    # the same directory again, and a name that is taken, are refused
    assert "already registered" in run("source", "add", str(logs), "--db", str(db_path), expect=2).stderr
    other = tmp_path / "other"
    other.mkdir()
    (other / "b.jsonl").write_text(ev(2) + "\n")
    err = run("source", "add", str(other), "--name", "jsonl", "--db", str(db_path), expect=2).stderr
    assert "already registered" in err
    run("source", "add", str(other), "--db", str(db_path))  # derived name avoids the taken one
    names = [r["name"] for r in run_json("source", "list", "--db", str(db_path))["rows"]]
    assert names == ["jsonl", "jsonl-other"]
    empty = tmp_path / "nothing"
    empty.mkdir()
    (empty / "notes.txt").write_text("hello\n")
    err = run("source", "add", str(empty), "--db", str(db_path), expect=2).stderr
    assert "no recognisable usage logs" in err and "--format" in err
    run("source", "add", str(tmp_path / "missing"), "--db", str(db_path), expect=4)
    run("source", "add", str(empty), "--format", "nope", "--db", str(db_path), expect=2)


def test_sync_by_name_and_unknown_name(logs: Path, db_path: Path, tmp_path: Path) -> None:
    (logs / "a.jsonl").write_text(ev(1) + "\n")
    other = tmp_path / "other"
    other.mkdir()
    (other / "b.jsonl").write_text(ev(2) + "\n")
    _add(logs, db_path, "one")
    _add(other, db_path, "two")
    doc = _sync(db_path, "two")
    assert [s["name"] for s in doc["sources"]] == ["two"]
    assert doc["totals"]["imported"] == 1
    assert "'three'" in run("sync", "three", "--db", str(db_path), expect=2).stderr


def test_crash_during_a_sync_leaves_state_and_events_as_they_were(
    logs: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = logs / "a.jsonl"
    f.write_text(ev(1) + "\n")
    _add(logs, db_path)
    _sync(db_path)
    _append(f, ev(2) + "\nbad\n")

    def boom(con: Any) -> None:
        raise RuntimeError("simulated crash before commit")

    with monkeypatch.context() as patch:
        patch.setattr(ingest, "before_commit_hook", boom)
        run("sync", "--db", str(db_path), expect=1)
        assert ingest.before_commit_hook is boom  # the sync put the hook back as it found it
    assert _count(db_path, "SELECT count(*) FROM events") == 1
    assert _count(db_path, "SELECT count(*) FROM rejects") == 0
    assert query(db_path, 'SELECT "offset", lines FROM source_files') == [(len(ev(1)) + 1, 1)]
    again = _source(_sync(db_path), "mine")
    assert (again["records"], again["imported"], again["rejected"]) == (2, 1, 1)
    assert query(db_path, "SELECT line FROM rejects") == [(3,)]


def test_csv_is_read_whole_when_it_changes(tmp_path: Path, db_path: Path) -> None:
    d = tmp_path / "csvs"
    d.mkdir()
    f = d / "u.csv"
    header = "event_id,ts,model_raw,input_tokens,output_tokens\n"
    f.write_text(header + "c1,2025-11-03T10:00:00Z,gpt-4o,10,1\n")
    run("source", "add", str(d), "--name", "c", "--db", str(db_path))
    first = _source(_sync(db_path), "c")
    assert (first["records"], first["imported"]) == (1, 1)
    _append(f, "c2,2025-11-03T11:00:00Z,gpt-4o,20,2\n")
    second = _source(_sync(db_path), "c")
    # a CSV cannot resume mid-file: both rows read, c1 already stored
    assert (second["records"], second["imported"], second["duplicates"]) == (2, 1, 1)


def test_a_pretty_printed_json_file_without_a_final_newline_is_read_whole(tmp_path: Path, db_path: Path) -> None:
    """``json.dump(events, f, indent=2)`` writes no final newline: read as appended lines, its
    closing ``]`` waited for a newline that never came and every sync failed (QA). A .json file
    is one document, read whole when it changes: 100 + 200 + 300 input; a grown copy adds 400."""
    d = tmp_path / "arrays"
    d.mkdir()
    f = d / "events.json"
    events = [json.loads(ev(n, inp=100 * n)) for n in (1, 2, 3)]
    f.write_text(json.dumps(events, indent=2))
    run("source", "add", str(d), "--name", "j", "--db", str(db_path))
    assert _source(_sync(db_path), "j")["imported"] == 3
    f.write_text(json.dumps([*events, json.loads(ev(4, inp=400))], indent=2))
    assert _source(_sync(db_path), "j")["imported"] == 1
    assert _count(db_path, "SELECT sum(input_tokens) FROM events") == 1000


@pytest.mark.parametrize("with_id", [True, False])
def test_a_half_written_last_csv_row_waits_for_its_newline(tmp_path: Path, db_path: Path, with_id: bool) -> None:
    """A CSV being written: its last row, cut inside its last number (3000,3 of 3000,300), still
    has every column. It waits for its newline instead of going in with output 3: once the row
    is finished, 1,000 + 2,000 + 3,000 = 6,000 input and 100 + 200 + 300 = 600 output in 3
    requests, 6,000 × $3/M + 600 × $15/M = $0.027. (QA: with an event_id the cut value stayed,
    303 output and $0.022545; without one the cut row and the finished row were two events.)
    Nothing is rejected on the way; a row left without its newline is read whole one sync
    later, as a JSON line is."""
    d = tmp_path / "csvs"
    d.mkdir()
    f = d / "u.csv"
    rows = ["e1,2025-11-03T10:00:00Z,claude-sonnet-4-5,1000,100", "e2,2025-11-03T11:00:00Z,claude-sonnet-4-5,2000,200"]
    cut, rest = "e3,2025-11-03T12:00:00Z,claude-sonnet-4-5,3000,3", "00\n"
    if not with_id:
        rows, cut = [r.partition(",")[2] for r in rows], cut.partition(",")[2]
    f.write_text(
        ("event_id," if with_id else "") + "ts,model_raw,input_tokens,output_tokens\n" + "\n".join(rows) + "\n"
    )
    run("source", "add", str(d), "--name", "c", "--db", str(db_path))
    _sync(db_path)
    _append(f, cut)
    waiting = _source(_sync(db_path), "c")
    assert (waiting["imported"], waiting["rejected"]) == (0, 0)
    _append(f, rest)
    _sync(db_path)
    rep = run_json("report", "by", "model", "--since", "2025-11-03", "--until", "2025-11-03", "--tz", "UTC",
                   "--db", str(db_path))["rows"]  # fmt: skip
    assert [(r["requests"], r["input_tokens"], r["output_tokens"], Decimal(str(r["cost_usd"]))) for r in rep] == [
        (3, 6000, 600, Decimal("0.027"))]  # fmt: skip
    assert _count(db_path, "SELECT count(*) FROM rejects") == 0
    f.write_text(f.read_text() + rows[0].replace("e1,", "e4,").replace("T10", "T13"))  # no newline, left so
    assert _source(_sync(db_path), "c")["imported"] == 0  # it waits once
    assert _source(_sync(db_path), "c")["imported"] == 1  # still there, unchanged: read


def test_import_by_hand_after_sync_adds_nothing(logs: Path, db_path: Path) -> None:
    f = logs / "a.jsonl"
    f.write_text(ev(1) + "\n" + ev(2) + "\n")
    _add(logs, db_path)
    _sync(db_path)
    doc = run_json("import", str(f), "--db", str(db_path))
    assert doc["imported"] == 0
    assert _count(db_path, "SELECT count(*) FROM events") == 2


def test_source_name_recorded_on_batches(logs: Path, db_path: Path) -> None:
    (logs / "a.jsonl").write_text(ev(1) + "\n")
    _add(logs, db_path)
    _sync(db_path)
    assert query(db_path, "SELECT source_name, source FROM import_batches") == [("mine", "jsonl")]
    assert query(db_path, "SELECT last_batch_id FROM source_files") == [(1,)]


def test_default_agent_dirs(tmp_path: Path) -> None:
    home = tmp_path / "h"
    env = {"CLAUDE_CONFIG_DIR": f"{tmp_path / 'c1'}, {tmp_path / 'c2'}", "CODEX_HOME": str(tmp_path / "cx")}
    dirs = default_agent_dirs(env, home)
    assert dirs == [
        (home / ".claude" / "projects", "claude-code"),
        (home / ".config" / "claude" / "projects", "claude-code"),
        (tmp_path / "c1" / "projects", "claude-code"),
        (tmp_path / "c2" / "projects", "claude-code"),
        (tmp_path / "cx" / "sessions", "codex"),
        (tmp_path / "cx" / "archived_sessions", "codex"),
    ]
    assert default_agent_dirs({}, home)[-2:] == [
        (home / ".codex" / "sessions", "codex"),
        (home / ".codex" / "archived_sessions", "codex"),
    ]


def test_sync_detect_reads_codex_archived_sessions_too(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FORMATS.md §4: rollouts live in sessions/ and, once archived, in archived_sessions/.
    --detect registers both, and a sync stores what importing the whole Codex home stores
    (session B, archived, included; the archived copy of A adds nothing twice)."""
    import shutil

    home = tmp_path / "codexhome"
    shutil.copytree(Path(__file__).parent / "data" / "codex" / "home", home)
    monkeypatch.setenv("CODEX_HOME", str(home))
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "no-claude"))
    monkeypatch.setenv("HOME", str(tmp_path / "nohome"))
    detected = run_json("sync", "--detect", "--db", str(db_path))["detected"]
    assert sorted(Path(d["path"]).name for d in detected) == ["archived_sessions", "sessions"]
    run_json("sync", "--db", str(db_path))
    whole = tmp_path / "whole.duckdb"
    run_json("import", str(home), "--format", "codex", "--db", str(whole))
    totals = "SELECT count(*), sum(input_tokens), sum(output_tokens), sum(cache_read_tokens) FROM events"
    assert query(db_path, totals) == query(whole, totals)
    assert query(db_path, "SELECT count(*) FROM events WHERE ts < '2025-10-01'") == [(2,)]  # b1, b2 (archived B)


def test_sync_detect_registers_existing_agent_dirs(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    claude = tmp_path / "cc"
    (claude / "projects").mkdir(parents=True)
    codex = tmp_path / "codexhome"
    (codex / "sessions").mkdir(parents=True)
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(claude))
    monkeypatch.setenv("CODEX_HOME", str(codex))
    result = run("sync", "--detect", "--json", "--db", str(db_path), expect=None)
    for fmt, path in (("claude-code", claude / "projects"), ("codex", codex / "sessions")):
        if registry.get(fmt) is None:
            assert f"no {fmt} importer" in result.stderr
        else:
            assert f"{fmt} logs in {path.resolve()}" in result.stderr
    available = [f for f in ("claude-code", "codex") if registry.get(f) is not None]
    if available:
        assert result.exit_code == 0
        doc = json.loads(result.stdout)
        assert sorted(d["format"] for d in doc["detected"]) == sorted(available)
        # a second --detect registers nothing new
        again = run_json("sync", "--detect", "--db", str(db_path))
        assert again["detected"] == []
    else:
        assert result.exit_code == 2  # nothing registered at all


CC_DATA = Path(__file__).parent / "data" / "claude-code" / "projects"


def _cc_line(mid: str, out: int, ts: str = "2025-11-05T09:00:00.000Z") -> str:
    return json.dumps(
        {
            "type": "assistant",
            "sessionId": "2222bbbb-0000-4000-8000-000000000002",
            "requestId": f"req_{mid}",
            "timestamp": ts,
            "message": {
                "id": f"msg_{mid}",
                "model": "claude-haiku-4-5-20251001",
                "role": "assistant",
                "usage": {"input_tokens": 40, "cache_read_input_tokens": 0, "output_tokens": out},
            },
        }
    )


@pytest.mark.skipif(registry.get("claude-code") is None, reason="claude-code importer not available")
def test_claude_code_tree_sync_then_appended_lines(tmp_path: Path, db_path: Path) -> None:
    import shutil

    root = tmp_path / "cfg" / "projects"
    shutil.copytree(CC_DATA, root)
    run("source", "add", str(root), "--db", str(db_path))  # format detected from the files
    assert [r["format"] for r in run_json("source", "list", "--db", str(db_path))["rows"]] == ["claude-code"]
    first = _source(_sync(db_path), "claude-code")
    # tests/data/claude-code/EXPECTED.md: 18 records, 7 events, rejects at s1 lines 10, 11, 12, 16; line 16
    # is the truncated last line, which waits while it may still be written: 17 records, 3 rejects now
    assert (first["files"], first["records"], first["imported"], first["rejected"]) == (3, 17, 7, 3)
    second = _source(_sync(db_path), "claude-code")
    # unchanged since: the truncated line is counted as malformed, as an import counts it
    assert (second["read"], second["records"], second["rejected"]) == (1, 1, 1)
    s1 = root / "-home-alice-src-webapp" / "1111aaaa-0000-4000-8000-000000000001.jsonl"
    rejects = query(db_path, f"SELECT line FROM rejects WHERE file = '{s1}' ORDER BY line")
    assert rejects == [(10,), (11,), (12,), (16,)]
    # the per-model totals are the import's (EXPECTED.md): haiku A3 + B1 = 2 requests, 250 output
    rows = run_json(
        "report", "by", "model", "--since", "2025-11-01", "--until", "2025-11-30", "--tz", "UTC", "--db", str(db_path)
    )["rows"]
    haiku = next(r for r in rows if r["model"] == "claude-haiku-4-5")
    assert (haiku["requests"], haiku["output_tokens"]) == (2, 250)

    s2 = root / "-home-alice-src-webapp" / "2222bbbb-0000-4000-8000-000000000002.jsonl"
    lines_before = len(s2.read_bytes().splitlines())  # 5 lines in the fixture
    # a streaming line (out 5), the final line of the same response (out 90), a broken line
    _append(s2, _cc_line("C1", 5) + "\n" + _cc_line("C1", 90) + "\n" + "{oops\n")
    third = _source(_sync(db_path), "claude-code")
    # only the 3 new lines: 1 new event (the larger copy), 1 copy dropped in the file, 1 reject
    assert (third["read"], third["records"], third["imported"], third["duplicates"], third["rejected"]) == (
        1,
        3,
        1,
        1,
        1,
    )
    assert query(db_path, f"SELECT line FROM rejects WHERE file = '{s2}'") == [(lines_before + 3,)]
    assert query(db_path, "SELECT output_tokens, project FROM events WHERE message_id = 'msg_C1'") == [
        (90, "-home-alice-src-webapp")
    ]
    batches = query(db_path, "SELECT count(*), count(source_name) FROM import_batches")
    assert batches[0][0] == batches[0][1]  # every batch a sync made names its source


@pytest.mark.skipif(registry.get("claude-code") is None, reason="claude-code importer not available")
def test_claude_code_tree_file_gone_while_hashed_is_read_again(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first sync of a tree hashes its files (their resume state) while DuckDB imports them.
    A file that cannot be hashed then (gone or unreadable since the listing) gets no state: its
    events are in, and the next sync reads it again and adds nothing."""
    import shutil

    from usagectl.services import sync as sync_svc

    root = tmp_path / "cfg" / "projects"
    shutil.copytree(CC_DATA, root)
    run("source", "add", str(root), "--format", "claude-code", "--db", str(db_path))
    s2 = root / "-home-alice-src-webapp" / "2222bbbb-0000-4000-8000-000000000002.jsonl"
    real = sync_svc._whole_state

    def flaky(todo: Any) -> Any:
        if todo.path == s2:
            raise FileNotFoundError(2, "gone", str(s2))
        return real(todo)

    monkeypatch.setattr(sync_svc, "_whole_state", flaky)
    first = _source(_sync(db_path), "claude-code")
    assert (first["files"], first["records"], first["imported"], first["rejected"]) == (3, 17, 7, 3)
    states = {r[0] for r in query(db_path, "SELECT path FROM source_files")}
    assert str(s2) not in states and len(states) == 2  # s1 (read up to its unfinished line) and the agent file
    monkeypatch.setattr(sync_svc, "_whole_state", real)
    second = _source(_sync(db_path), "claude-code")
    # s2 looked at again (hashed: the same bytes as its batch, so unchanged, nothing added) and
    # s1's unfinished line flushed as a reject (read); the agent file unchanged
    assert (second["read"], second["unchanged"], second["imported"]) == (1, 2, 0)
    assert _count(db_path, "SELECT count(*) FROM events") == 7
    assert str(s2) in {r[0] for r in query(db_path, "SELECT path FROM source_files")}


def test_source_add_refuses_a_directory_of_several_log_formats(tmp_path: Path, db_path: Path) -> None:
    """A source has one format; a directory holding OpenAI costs and usage pages would have
    one of them read with the other's format (all rejected). Detection says so instead; with
    --format it registers, and each kind from its own directory registers by itself."""
    data = Path(__file__).parent / "data" / "openai"
    mixed = tmp_path / "exports"
    mixed.mkdir()
    for name in ("costs_nov03_05.json", "usage_nov03_04.json"):
        (mixed / name).write_bytes((data / name).read_bytes())
    result = run("source", "add", str(mixed), "--db", str(db_path), expect=2)
    assert "2 formats" in result.stderr
    assert (
        "openai-costs (costs_nov03_05.json)" in result.stderr and "openai-usage (usage_nov03_04.json)" in result.stderr
    )
    assert not db_path.exists()  # nothing registered, not even a database created
    only_usage = tmp_path / "usage"
    only_usage.mkdir()
    (only_usage / "u.json").write_bytes((data / "usage_nov03_04.json").read_bytes())
    run("source", "add", str(only_usage), "--db", str(db_path))
    run("source", "add", str(mixed), "--format", "openai-costs", "--db", str(db_path))
    listed = run_json("source", "list", "--db", str(db_path))["rows"]
    assert sorted(r["format"] for r in listed) == ["openai-costs", "openai-usage"]


def test_source_add_with_a_format_the_folder_does_not_hold_says_what_it_holds(tmp_path: Path, db_path: Path) -> None:
    """`--format codex` on a folder of Claude Code transcripts finds no file of that format: the
    source is registered (files of it may come) but a warning names what the files look like and
    how to add it again (QA: it registered quietly with "0 files now" and never imported anything).
    An empty folder, or a format that matches, gives no warning."""
    result = run("source", "add", str(CC_DATA), "--format", "codex", "--db", str(db_path))
    assert "(0 files now)" in result.stderr
    assert "warning: no file there looks like codex logs; they look like claude-code logs" in result.stderr
    assert "--format claude-code" in result.stderr
    # files the format's name pattern takes, of another format: Codex rollouts as Claude Code
    codex = Path(__file__).parent / "data" / "codex" / "home" / "sessions"
    result = run("source", "add", str(codex), "--format", "claude-code", "--db", str(db_path))
    assert "(4 files now)" in result.stderr
    assert "no file there looks like claude-code logs; they look like codex logs" in result.stderr
    empty = tmp_path / "later"
    empty.mkdir()
    for args in ((str(empty), "--format", "codex"), (str(CC_DATA), "--format", "claude-code")):
        assert "warning" not in run("source", "add", *args, "--db", str(db_path)).stderr


def test_first_sync_of_a_codex_tree_reads_it_in_one_batch(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first sync of ~/.codex/sessions reads every finished file in one transaction (not
    file by file: ~0.1 s each), records each file's state, and a later sync reads again only
    the file that grew, adding only its new call."""
    import usagectl.services.imports as imports

    home = tmp_path / "codexhome"
    shutil.copytree(Path(__file__).parent / "data" / "codex" / "home" / "sessions", home / "sessions")
    run("source", "add", str(home / "sessions"), "--format", "codex", "--db", str(db_path))
    real_import_file = imports.import_file
    single: list[str] = []

    def one_file(*args: Any, **kwargs: Any) -> Any:
        single.append(Path(args[1]).name)
        return real_import_file(*args, **kwargs)

    monkeypatch.setattr(imports, "import_file", one_file)
    first = _source(_sync(db_path), "codex")
    assert (first["files"], first["read"]) == (4, 4)
    # only G, whose last line is unfinished (it waits for the agent), went on its own
    assert single == ["rollout-2025-11-04T23-40-00-8d2e6b14-0f7a-4c39-9e85-b1a3d7c0f426.jsonl"]
    assert query(db_path, "SELECT count(*), sum(input_tokens), sum(output_tokens) FROM events") == [
        (16 - 2, 72828 + 9484 - 6808, 10025 + 1920 - 910)
    ]  # EXPECTED.md: every model's totals less B's (Sep 20 2025), which is only in archived_sessions
    assert query(db_path, "SELECT count(*) FROM import_batches WHERE source_name = 'codex'") == [(4,)]
    second = _source(_sync(db_path), "codex")  # G's unfinished line, unchanged: flushed (a crash)
    assert (second["read"], second["unchanged"]) == (1, 3)
    # C (Nov 4, 01:30) gets one more call: its totals grow by 700 input (200 of them cached) and
    # 90 output; A (Nov 3) one of 1,000 input (none cached) and 40 output
    c = next((home / "sessions" / "2025" / "11" / "04").glob("rollout-2025-11-04T01-30-00-*.jsonl"))
    a = next((home / "sessions" / "2025" / "11" / "03").glob("rollout-*.jsonl"))
    for f, (more_in, more_cached, more_out), ts in (
        (c, (700, 200, 90), "2025-11-04T09:50:00.000Z"),
        (a, (1000, 0, 40), "2025-11-04T00:30:00.000Z"),
    ):
        last = json.loads(f.read_text(encoding="utf-8").splitlines()[-1])
        total = last["payload"]["info"]["total_token_usage"]
        total.update(input_tokens=total["input_tokens"] + more_in,
                     cached_input_tokens=total["cached_input_tokens"] + more_cached,
                     output_tokens=total["output_tokens"] + more_out)  # fmt: skip
        last["timestamp"] = ts
        _append(f, json.dumps(last) + "\n")
    single.clear()
    transactions: list[int] = []  # files per import_staged_files call (one transaction each)
    real_staged = ingest.import_staged_files

    def counting(con: Any, infos: list[Any], *args: Any, **kw: Any) -> Any:
        transactions.append(len(infos))
        return real_staged(con, infos, *args, **kw)

    monkeypatch.setattr(ingest, "import_staged_files", counting)
    again = _source(_sync(db_path), "codex")
    # the grown files are read again whole, TOGETHER: one transaction (before: one per file,
    # ~0.13 s each: 50 grown rollouts took 6.4 s to sync, against 1.7 s to import all 300 afresh)
    assert single == [] and transactions == [2]
    assert (again["read"], again["unchanged"], again["imported"]) == (2, 2, 2)
    new_events = "SELECT input_tokens, cache_read_tokens, output_tokens FROM events WHERE ts = '2025-11-04 {}+00'"
    assert query(db_path, new_events.format("09:50:00")) == [(500, 200, 90)]
    assert query(db_path, new_events.format("00:30:00")) == [(1000, 0, 40)]
    assert query(db_path, "SELECT count(*) FROM events") == [(16,)]
    # each file's state moved on with it: nothing is read at the next sync
    assert _source(_sync(db_path), "codex")["read"] == 0


def test_codex_half_written_last_line_waits_for_the_next_sync(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rollout is read whole on every change; a last line the agent is still writing is left
    for the next sync (README), not rejected. Completed, the file gives what importing the whole
    file gives, with no reject left. A partial line still there unchanged at the next sync (a
    crash) is flushed and rejected, and that reject goes once the line is completed."""
    full = next((Path(__file__).parent / "data" / "codex" / "home" / "sessions" / "2025" / "11" / "03").glob("*.jsonl"))
    lines = full.read_bytes().splitlines(keepends=True)
    assert len(lines) == 20
    home = tmp_path / "codexhome"
    f = home / "sessions" / "2025" / "11" / "03" / full.name
    f.parent.mkdir(parents=True)
    f.write_bytes(b"".join(lines[:15]) + lines[15][:100])
    run("source", "add", str(home / "sessions"), "--format", "codex", "--db", str(db_path))
    first = _source(_sync(db_path), "codex")
    assert first["read"] == 1
    assert query(db_path, "SELECT count(*) FROM rejects") == [(0,)]
    events_then = query(db_path, "SELECT count(*) FROM events")[0][0]
    # still half-written at the next sync, unchanged: a crash; flushed and rejected
    _sync(db_path)
    assert [r[0] for r in query(db_path, "SELECT line FROM rejects")] == [16]
    # the agent finishes the line and writes four more
    f.write_bytes(b"".join(lines))
    _sync(db_path)
    whole = tmp_path / "whole.duckdb"
    run_json("import", str(full), "--format", "codex", "--db", str(whole))
    totals = "SELECT count(*), sum(input_tokens), sum(output_tokens), sum(cache_read_tokens) FROM events"
    assert query(db_path, totals) == query(whole, totals)
    assert query(db_path, "SELECT count(*) FROM rejects") == [(0,)]
    assert events_then < query(db_path, "SELECT count(*) FROM events")[0][0]


def test_sync_with_no_sources_creates_no_database(tmp_path: Path) -> None:
    """`sync --db TYPO` said "no sources registered" (exit 2) but left an empty database behind."""
    typo = tmp_path / "nope.duckdb"
    assert "no sources registered" in run("sync", "--db", str(typo), expect=2).stderr
    assert "no source named 'x'" in run("sync", "x", "--db", str(typo), expect=2).stderr
    assert not typo.exists()


def test_sync_detect_that_finds_nothing_creates_no_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # no agent directory exists: --detect has nothing to register, so nothing is created either
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "no-claude"))
    monkeypatch.setenv("CODEX_HOME", str(tmp_path / "no-codex"))
    monkeypatch.setenv("HOME", str(tmp_path / "nohome"))
    typo = tmp_path / "nope.duckdb"
    err = run("sync", "--detect", "--db", str(typo), expect=2).stderr
    # it names the folders it looked for, and no longer suggests the --detect just run (QA finding)
    assert "no sources registered, and --detect found none of the agents' folders: " in err
    assert str(tmp_path / "no-codex" / "sessions") in err and "with sync --detect" not in err
    assert not typo.exists()
    (tmp_path / "no-codex" / "sessions").mkdir(parents=True)  # one appears: it is registered
    if registry.get("codex") is not None:
        run("sync", "--detect", "--db", str(typo))
        assert typo.exists()


@pytest.mark.skipif(registry.get("claude-code") is None, reason="claude-code importer not available")
def test_a_line_written_while_a_first_sync_reads_leaves_no_stale_reject(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first sync of a tree records each file as read up to the size it listed, while the
    import reads the files a moment later: an agent writing a line then (half of it there) makes
    that read reject it. The next sync reads the finished line from the recorded offset and
    imports it; the reject of the half line, a read ahead of the recorded state, goes with it
    (QA: it stayed, and `db status`, `doctor` and `db rejects` named a line that is fine)."""
    import shutil

    from usagectl.services import imports

    root = tmp_path / "cfg" / "projects"
    shutil.copytree(CC_DATA, root)
    run("source", "add", str(root), "--format", "claude-code", "--db", str(db_path))
    s2 = root / "-home-alice-src-webapp" / "2222bbbb-0000-4000-8000-000000000002.jsonl"
    line = _cc_line("D1", 70)
    real = imports.import_batch

    def writer_busy(*args: Any, **kwargs: Any) -> Any:
        _append(s2, line[:100])  # the agent writes half a line after the listing
        return real(*args, **kwargs)

    monkeypatch.setattr(imports, "import_batch", writer_busy)
    _sync(db_path)
    assert query(db_path, f"SELECT line FROM rejects WHERE file = '{s2}'") == [(7,)]  # 6 lines, then the half one
    monkeypatch.setattr(imports, "import_batch", real)
    _append(s2, line[100:] + "\n")
    second = _source(_sync(db_path), "claude-code")
    assert second["imported"] == 1
    assert query(db_path, "SELECT output_tokens FROM events WHERE message_id = 'msg_D1'") == [(70,)]
    assert query(db_path, f"SELECT count(*) FROM rejects WHERE file = '{s2}'") == [(0,)]


def test_saved_pages_synced_as_the_file_grows_stay_one_fetch(tmp_path: Path, db_path: Path) -> None:
    """Anthropic pages saved as JSONL by a poller: page 1 (``has_more: true``, 2025-11-03, the
    default workspace only: 1,000/100) is synced, then page 2 is appended (2025-11-04, wrkspc_1:
    2,000/200). The file is read whole again, so page 2 continues page 1's fetch, grouped by
    workspace: default 1,000 and wrkspc_1 2,000, as an import of the finished file gives.
    (QA: only the new line was read; page 1's null workspace stayed "(none)".)"""
    row = {"uncached_input_tokens": 1000, "cache_read_input_tokens": 0, "output_tokens": 100,
           "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
           "server_tool_use": {"web_search_requests": 0}, "model": "claude-sonnet-4-5-20250929",
           "workspace_id": None, "api_key_id": None, "service_tier": None, "context_window": None}  # fmt: skip
    page1 = {"data": [{"starting_at": "2025-11-03T00:00:00Z", "ending_at": "2025-11-04T00:00:00Z", "results": [row]}],
             "has_more": True, "next_page": "p2"}  # fmt: skip
    row2 = {**row, "uncached_input_tokens": 2000, "output_tokens": 200, "workspace_id": "wrkspc_1"}
    page2 = {"data": [{"starting_at": "2025-11-04T00:00:00Z", "ending_at": "2025-11-05T00:00:00Z", "results": [row2]}],
             "has_more": False, "next_page": None}  # fmt: skip
    d = tmp_path / "pages"
    d.mkdir()
    f = d / "usage.jsonl"
    f.write_text(json.dumps(page1) + "\n")
    run("source", "add", str(d), "--format", "anthropic-usage", "--name", "a", "--db", str(db_path))
    _sync(db_path)
    _append(f, json.dumps(page2) + "\n")
    _sync(db_path)
    rep = run_json("report", "by", "workspace", "--since", "2025-11-03", "--until", "2025-11-04", "--tz", "UTC",
                   "--db", str(db_path))["rows"]  # fmt: skip
    assert {r["workspace"]: r["input_tokens"] for r in rep} == {"default": 1000, "wrkspc_1": 2000}


def test_source_list_counts_the_cost_lines_of_a_cost_report_source(tmp_path: Path, db_path: Path) -> None:
    """A folder of OpenAI cost pages (17 cost lines, tests/data/openai/EXPECTED.md) synced: its
    row counts them (QA: "Events 0" read like a failed sync); the column shows only then."""
    d = tmp_path / "costs"
    d.mkdir()
    shutil.copy(Path(__file__).parent / "data" / "openai" / "costs_nov03_05.json", d)
    run("source", "add", str(d), "--name", "bills", "--db", str(db_path))
    assert "Cost lines" in run("source", "list", "--format", "markdown", "--db", str(db_path)).stdout
    _sync(db_path)
    doc = run_json("source", "list", "--db", str(db_path))
    assert [(r["format"], r["events"], r["cost_lines"]) for r in doc["rows"]] == [("openai-costs", 0, 17)]
    assert doc["totals"]["cost_lines"] == 17
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a.jsonl").write_text(ev(1) + "\n")
    other = tmp_path / "db2.duckdb"
    run("source", "add", str(tmp_path / "logs"), "--db", str(other))
    assert "Cost lines" not in run("source", "list", "--format", "markdown", "--db", str(other)).stdout


def test_source_rm_of_a_cost_report_source_names_its_cost_lines(tmp_path: Path, db_path: Path) -> None:
    """A synced folder of OpenAI cost pages holds 17 billed cost lines and no events
    (tests/data/openai/EXPECTED.md): removing its source says the 17 lines stay, as `source list`
    counts them (QA: "its 0 imported events stay", the lines unmentioned); they do stay."""
    d = tmp_path / "costs"
    d.mkdir()
    shutil.copy(Path(__file__).parent / "data" / "openai" / "costs_nov03_05.json", d)
    run("source", "add", str(d), "--name", "bills", "--db", str(db_path))
    _sync(db_path)
    err = run("source", "rm", "bills", "--db", str(db_path)).stderr
    assert "its 17 billed cost lines stay in the database" in " ".join(err.split())
    assert "imported event" not in err
    assert _count(db_path, "SELECT count(*) FROM billed_costs") == 17


def test_a_half_written_csv_row_of_a_file_not_named_csv_waits_too(tmp_path: Path, db_path: Path) -> None:
    """A single-file source read with --format csv under another name (usage.txt): its cut last
    row (2000,2 of 2000,200) waits as in a .csv. Finished: 1,000 + 2,000 input, 100 + 200 output,
    3,000 × $3/M + 300 × $15/M = $0.0135. (QA: it was imported at once, output 2, $0.01053.)"""
    f = tmp_path / "usage.txt"
    f.write_text(
        "event_id,ts,model_raw,input_tokens,output_tokens\ne1,2025-11-03T10:00:00Z,claude-sonnet-4-5,1000,100\n"
    )
    run("source", "add", str(f), "--format", "csv", "--name", "c", "--db", str(db_path))
    _sync(db_path)
    _append(f, "e2,2025-11-03T11:00:00Z,claude-sonnet-4-5,2000,2")
    assert _source(_sync(db_path), "c")["imported"] == 0
    _append(f, "00\n")
    _sync(db_path)
    assert query(db_path, "SELECT sum(input_tokens), sum(output_tokens) FROM events") == [(3000, 300)]


def _cut_csv(tmp_path: Path, db_path: Path, with_id: bool = True) -> tuple[Path, str]:
    """A CSV source ``c`` of one row (e1: gpt-4o, 1,000 input, 100 output), synced; returns the
    file and the row to append (e2, 1,000 input), without its event_id when not ``with_id``."""
    d = tmp_path / "csvs"
    d.mkdir()
    f = d / "a.csv"
    head, e1, e2 = "event_id,", "e1,", "e2,"
    if not with_id:
        head = e1 = e2 = ""
    f.write_text(f"{head}ts,model_raw,input_tokens,output_tokens\n{e1}2025-11-03T10:00:00Z,gpt-4o,1000,100\n")
    run("source", "add", str(d), "--name", "c", "--db", str(db_path))
    _sync(db_path)
    return f, f"{e2}2025-11-03T11:00:00Z,gpt-4o,1000,"


def _counts(doc: dict[str, Any]) -> tuple[int, ...]:
    c = _source(doc, "c")
    return c["records"], c["imported"], c["duplicates"], c["replaced"]


def _totals(db: Path) -> tuple[int, Decimal]:
    t = run_json("report", "by", "model", "--since", "2025-11-03", "--until", "2025-11-03", "--tz", "UTC",
                 "--db", str(db))["totals"]  # fmt: skip
    return t["output_tokens"], Decimal(str(t["cost_usd"]))


@pytest.mark.parametrize("with_id", [True, False])
def test_a_csv_row_read_cut_off_gives_way_to_the_finished_row(tmp_path: Path, db_path: Path, with_id: bool) -> None:
    """e2 appended without its newline (output 12 of 1280): the first sync leaves it, the second
    reads it as it is, then the writer finishes it. The finished row replaces what was read of it: output
    100 + 1,280 = 1,380, 2 requests; gpt-4o at $2.50/M input and $10/M output: 2,000 × 2.5/M =
    $0.005 + 1,380 × 10/M = $0.0138, $0.0188. (QA: with an event_id the finished row was a
    duplicate, output 112, $0.00612; without one both copies counted, output 1,392.)"""
    f, e2 = _cut_csv(tmp_path, db_path, with_id)
    _append(f, e2 + "12")
    assert _source(_sync(db_path), "c")["waiting"] == 1
    assert _counts(_sync(db_path)) == (2, 1, 1, 0)  # still cut off: read as it is
    assert _totals(db_path) == (112, Decimal("0.00612"))  # 2,000 × 2.5/M + 112 × 10/M
    _append(f, "80\n")
    assert _counts(_sync(db_path)) == (2, 0, 1, 1)  # e1 a duplicate, e2 replaced
    assert _totals(db_path) == (1380, Decimal("0.0188"))
    assert _count(db_path, "SELECT count(*) FROM events") == 2
    assert _counts(_sync(db_path)) == (0, 0, 0, 0)  # settled


def _import_counts(db: Path, f: Path) -> tuple[int, ...]:
    doc = run_json("import", str(f), "--db", str(db))
    return doc["records"], doc["imported"], doc["duplicates"], doc["replaced"]


@pytest.mark.parametrize("with_id", [True, False])
def test_a_csv_row_a_sync_read_cut_off_gives_way_to_the_finished_row_imported_by_hand(
    tmp_path: Path, db_path: Path, with_id: bool
) -> None:
    """As above, but the finished file is imported by hand instead of synced: the finished row
    replaces the cut one all the same (e1 a duplicate, e2 replaced): output 100 + 1,280 = 1,380,
    2,000 × $2.50/M + 1,380 × $10/M = $0.005 + $0.0138 = $0.0188, 2 events; and the next sync
    reads nothing new. (QA: both copies stayed, output 100 + 12 + 1,280 = 1,392, and no sync fixed it.)"""
    f, e2 = _cut_csv(tmp_path, db_path, with_id)
    _append(f, e2 + "12")
    _sync(db_path)
    _sync(db_path)  # reads e2 as it is: output 112
    _append(f, "80\n")
    assert _import_counts(db_path, f) == (2, 0, 1, 1)
    assert _totals(db_path) == (1380, Decimal("0.0188"))
    assert _count(db_path, "SELECT count(*) FROM events") == 2
    assert _counts(_sync(db_path)) == (0, 0, 0, 0)
    assert _totals(db_path) == (1380, Decimal("0.0188"))


@pytest.mark.parametrize("with_id", [True, False])
def test_a_csv_row_an_import_by_hand_read_cut_off_gives_way_to_the_finished_row_synced(
    tmp_path: Path, db_path: Path, with_id: bool
) -> None:
    """The other order: an import by hand reads e2 cut off (output 12: 2,000 × $2.50/M + 112 ×
    $10/M = $0.00612), the writer finishes it, and the sync's read of the finished file replaces
    it: output 1,380, $0.0188, 2 events (e1 a duplicate, e2 replaced)."""
    f, e2 = _cut_csv(tmp_path, db_path, with_id)
    _append(f, e2 + "12")
    assert _import_counts(db_path, f) == (2, 1, 1, 0)
    assert _totals(db_path) == (112, Decimal("0.00612"))
    _append(f, "80\n")
    assert _counts(_sync(db_path)) == (2, 0, 1, 1)
    assert _totals(db_path) == (1380, Decimal("0.0188"))
    assert _count(db_path, "SELECT count(*) FROM events") == 2


def test_a_csv_whose_only_new_bytes_are_a_half_written_row_is_not_called_unchanged(
    tmp_path: Path, db_path: Path
) -> None:
    """Its rows before e2 were all read before and e2 waits: the source's line says so, and no
    line calls the file unchanged (QA: "a.csv  unchanged" under "1 with a half-written last
    line"). Nothing read: 0 read, as for a JSON-lines file with no new complete line."""
    f, e2 = _cut_csv(tmp_path, db_path)
    _append(f, e2 + "12")
    err = run("sync", "--db", str(db_path)).stderr
    assert "1 file, 0 read, 0 unchanged, 1 with a half-written last line (read by the next sync)" in err
    assert "unchanged" not in err.replace("0 unchanged", "")


def test_a_cut_csv_row_read_twice_as_it_was_is_replaced_each_time(tmp_path: Path, db_path: Path) -> None:
    """e2 grows from output 12 to 128, still without its newline (it waits a sync, then is read
    as it is again), then to 1280 with it: each read replaces the last. Outputs 100 + 12 =
    112, then 100 + 128 = 228, then 100 + 1,280 = 1,380; one e2 throughout."""
    f, e2 = _cut_csv(tmp_path, db_path)
    _append(f, e2 + "12")
    _sync(db_path)
    _sync(db_path)
    _append(f, "8")
    assert _source(_sync(db_path), "c")["waiting"] == 1  # the rows before it are as they were
    assert _counts(_sync(db_path)) == (2, 0, 1, 1)
    assert _totals(db_path)[0] == 228
    _append(f, "0\n")
    assert _counts(_sync(db_path)) == (2, 0, 1, 1)
    assert query(db_path, "SELECT event_id, output_tokens FROM events ORDER BY 1") == [("e1", 100), ("e2", 1280)]


def test_a_cut_csv_row_is_not_replaced_when_whole_or_when_the_file_was_rewritten(tmp_path: Path, db_path: Path) -> None:
    """What a cut row read as it is does not give way to: its own newline coming later (the row
    was whole: a duplicate, output 100 + 1,280 = 1,380 as read); a file rewritten before it (e1
    now 101 output: read again from the start, both rows kept as first stored, 100 + 12 = 112);
    an import of the finished file that fails (put back: still 112, and the next sync replaces
    it: 100 + 1,280 = 1,380)."""
    f, e2 = _cut_csv(tmp_path, db_path)
    _append(f, e2 + "1280")
    _sync(db_path)
    _sync(db_path)
    _append(f, "\n")
    assert _counts(_sync(db_path)) == (2, 0, 2, 0)
    assert _totals(db_path)[0] == 1380

    (tmp_path / "rewritten").mkdir()
    g, e2 = _cut_csv(tmp_path / "rewritten", tmp_path / "r.duckdb")
    _append(g, e2 + "12")
    _sync(tmp_path / "r.duckdb")
    _sync(tmp_path / "r.duckdb")
    g.write_text(g.read_text().replace(",100\n", ",101\n") + "80\n")
    assert _counts(_sync(tmp_path / "r.duckdb")) == (2, 0, 2, 0)
    assert _totals(tmp_path / "r.duckdb")[0] == 112


def test_a_cut_csv_row_stays_when_the_finished_file_cannot_be_read(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The import that would replace e2 (output 12) fails: e2 stays (100 + 12 = 112, its state
    as it was), and the next sync replaces it (100 + 1,280 = 1,380)."""
    from usagectl.models import FileImportResult
    from usagectl.services import imports

    f, e2 = _cut_csv(tmp_path, db_path)
    _append(f, e2 + "12")
    _sync(db_path)
    _sync(db_path)
    _append(f, "80\n")
    real = imports.import_file

    def failing(_con: Any, path: Path, fmt: str, *_a: Any, **_k: Any) -> FileImportResult:
        return FileImportResult(path=str(path), format=fmt, error=f"{path}: cannot read: simulated")

    monkeypatch.setattr(imports, "import_file", failing)
    run("sync", "--db", str(db_path), expect=4)
    assert _totals(db_path)[0] == 112
    monkeypatch.setattr(imports, "import_file", real)
    assert _counts(_sync(db_path)) == (2, 0, 1, 1)
    assert _totals(db_path)[0] == 1380


def test_a_waiting_csv_row_with_a_quoted_line_break_is_not_rejected(tmp_path: Path, db_path: Path) -> None:
    """The last row holds a quoted field with a line break ("two / lines") and no final newline:
    the row waits whole, cut before it (its first line alone would be an unclosed quote), so
    nothing is rejected meanwhile; the next sync reads it: 1,000 + 2,000 input. (QA: the same
    sync said it waited and rejected it as an unclosed quote.)"""
    d = tmp_path / "csvs"
    d.mkdir()
    f = d / "u.csv"
    f.write_bytes(b'event_id,ts,model_raw,input_tokens,output_tokens,feature\r\n'
                  b'e1,2025-11-03T10:00:00Z,gpt-4o,1000,100,"say ""hi"""\r\n'
                  b'e2,2025-11-03T11:00:00Z,gpt-4o,2000,200,"two\r\nlines"')  # fmt: skip
    run("source", "add", str(d), "--name", "c", "--db", str(db_path))
    first = _source(_sync(db_path), "c")
    assert (first["imported"], first["rejected"]) == (1, 0)
    assert _count(db_path, "SELECT count(*) FROM rejects") == 0
    _sync(db_path)  # still there, unchanged: read whole
    assert query(db_path, "SELECT event_id, feature FROM events ORDER BY 1") == [
        ("e1", 'say "hi"'), ("e2", "two\r\nlines")]  # fmt: skip


def test_a_folder_of_usage_and_cost_pages_counts_each_for_its_own_source(tmp_path: Path, db_path: Path) -> None:
    """One folder holding Anthropic cost and usage pages (tests/data/anthropic: 17 cost lines, 6
    usage events), registered once per format: the cost source counts the 17 lines and no
    events, the usage source the 6 events and no lines, the totals 17 and 6. (QA: each source
    was credited with the other's rows through the shared files: 34 lines in the total.)"""
    d = tmp_path / "admin"
    d.mkdir()
    data = Path(__file__).parent / "data" / "anthropic"
    shutil.copy(data / "cost_nov03_04.json", d)
    shutil.copy(data / "usage_nov03_04.json", d)
    run("source", "add", str(d), "--format", "anthropic-cost", "--name", "cost", "--db", str(db_path))
    run("source", "add", str(d), "--format", "anthropic-usage", "--name", "usage", "--db", str(db_path))
    _sync(db_path)
    doc = run_json("source", "list", "--db", str(db_path))
    assert [(r["name"], r["events"], r["cost_lines"]) for r in doc["rows"]] == [("cost", 0, 17), ("usage", 6, 0)]
    assert (doc["totals"]["events"], doc["totals"]["cost_lines"]) == (6, 17)


def test_a_waiting_csv_row_is_found_across_blocks(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same wait when the file is read in blocks smaller than its rows (64 bytes here, 1 MiB
    in use): 300 rows, then a last row whose quoted field holds a line break and 200 bytes of
    text (its opening quote and the break lie blocks before the file's end), no final newline.
    The 300 rows go in, the last one waits whole (no unclosed-quote reject), and the next sync
    reads it: 301 events, the last one's feature as written."""
    from usagectl.services import sync as sync_svc

    monkeypatch.setattr(sync_svc, "BLOCK", 64)
    d = tmp_path / "csvs"
    d.mkdir()
    f = d / "u.csv"
    rows = "".join(f'e{i},2025-11-03T10:00:00Z,gpt-4o,10,1,"x ""{i}"""\n' for i in range(300))
    last = 'e300,2025-11-03T11:00:00Z,gpt-4o,10,1,"one\n' + "y" * 200 + '"'
    f.write_text("event_id,ts,model_raw,input_tokens,output_tokens,feature\n" + rows + last)
    run("source", "add", str(d), "--name", "c", "--db", str(db_path))
    first = _source(_sync(db_path), "c")
    assert (first["imported"], first["rejected"]) == (300, 0)
    _sync(db_path)
    assert _count(db_path, "SELECT count(*) FROM events") == 301
    assert _count(db_path, "SELECT count(*) FROM rejects") == 0
    assert query(db_path, "SELECT feature FROM events WHERE event_id = 'e300'") == [("one\n" + "y" * 200,)]


def test_a_source_whose_name_is_not_utf8_is_refused_cleanly(tmp_path: Path, db_path: Path) -> None:
    """A folder named with a byte that is not UTF-8: a clear refusal (exit 4), as ``import``
    gives, not an internal error when its name is stored (QA)."""
    import os

    folder = os.path.join(os.fsencode(tmp_path), b"nu\xffdir")
    os.mkdir(folder)
    with open(os.path.join(folder, b"a.jsonl"), "w", encoding="utf-8") as fh:
        fh.write(ev(1) + "\n")
    result = run("source", "add", os.fsdecode(folder), "--db", str(db_path), expect=4)
    assert "cannot be a source: its name is not UTF-8 (rename the file or folder)" in result.stderr
    assert "nu\ufffddir" in result.stderr


def test_a_folder_of_one_log_format_and_canonical_events_is_refused_as_a_source(tmp_path: Path, db_path: Path) -> None:
    """A source has one format: registered as LiteLLM, the canonical events beside its export
    were read as LiteLLM rows and rejected (beside an llm logs.db they were never read at all;
    QA). ``source add`` says so; the export alone is a LiteLLM source."""
    d = tmp_path / "gateway"
    d.mkdir()
    shutil.copy(Path(__file__).parent / "data" / "litellm" / "spendlogs.csv", d / "spendlogs.csv")
    (d / "events.jsonl").write_text(ev(1) + "\n")
    result = run("source", "add", str(d), "--db", str(db_path), expect=2)
    assert f"{d}: holds litellm logs (spendlogs.csv) and canonical events (events.jsonl)" in result.stderr
    assert "register each kind from its own directory" in result.stderr
    (d / "events.jsonl").unlink()
    (d / "notes.json").write_text('{"comment": "no events here"}\n')  # no ts: not events
    run("source", "add", str(d), "--db", str(db_path))
    assert [r["format"] for r in run_json("source", "list", "--db", str(db_path))["rows"]] == ["litellm"]


def test_a_source_of_jsonl_and_csv_counts_the_events_its_files_got_by_hand(tmp_path: Path, db_path: Path) -> None:
    """A folder of JSONL and CSV events is an ``auto`` source; its files' batches are jsonl and
    csv: imported by hand first, they are still the source's 2 events (QA: 0)."""
    d = tmp_path / "mixed"
    d.mkdir()
    (d / "a.jsonl").write_text(ev(1) + "\n")
    (d / "b.csv").write_text("event_id,ts,model_raw,input_tokens\nc1,2025-11-03T11:00:00Z,gpt-4o,200\n")
    run("import", str(d), "--db", str(db_path))
    _add(d, db_path)
    assert _sync(db_path)["totals"]["imported"] == 0
    rows = run_json("source", "list", "--db", str(db_path))["rows"]
    assert [(r["format"], r["events"]) for r in rows] == [("auto", 2)]
    assert "2 imported events stay" in run("source", "rm", "mine", "--db", str(db_path)).stderr


@pytest.mark.skipif(registry.get("claude-code") is None, reason="claude-code importer not available")
def test_a_source_added_through_a_symlink_follows_the_link_when_it_is_pointed_elsewhere(
    tmp_path: Path, db_path: Path
) -> None:
    """QA: ``~/.claude/projects`` is a link to disk1; the source was registered as disk1 itself,
    so when the logs moved to disk2 and the link with them, every sync kept reading disk1 and
    the new session there was never imported. The source keeps the path as given; the same
    folder added again through another name is still refused."""
    disk1, disk2 = tmp_path / "disk1" / "projects", tmp_path / "disk2" / "projects"
    (disk1 / "-p").mkdir(parents=True)
    (disk1 / "-p" / "a.jsonl").write_text(_cc_line("m1", 10) + "\n", encoding="utf-8")
    link = tmp_path / "me" / "projects"
    link.parent.mkdir()
    link.symlink_to(disk1)
    run("source", "add", str(link), "--format", "claude-code", "--name", "cc", "--db", str(db_path))
    assert [r["path"] for r in run_json("source", "list", "--db", str(db_path))["rows"]] == [str(link)]
    again = run("source", "add", str(disk1), "--format", "claude-code", "--db", str(db_path), expect=2)
    assert "already registered as source 'cc'" in again.stderr
    _sync(db_path)
    shutil.copytree(disk1, disk2)  # the logs move to another disk, and the link with them
    link.unlink()
    link.symlink_to(disk2)
    (disk2 / "-p" / "b.jsonl").write_text(_cc_line("m2", 20, "2025-11-05T10:00:00.000Z") + "\n", encoding="utf-8")
    shutil.rmtree(disk1.parent)
    after = _source(_sync(db_path), "cc")
    assert (after["imported"], after["missing"]) == (1, False)
    assert query(db_path, "SELECT message_id, output_tokens FROM events ORDER BY 1") == [("msg_m1", 10), ("msg_m2", 20)]


def test_a_touched_file_with_the_same_bytes_is_counted_unchanged(logs: Path, db_path: Path) -> None:
    """QA: after `touch` of a synced file, sync said "3 files, 0 read, 2 unchanged": the touched
    file was in neither count. It is looked at (its time changed) and has nothing new: of the 3
    files, 0 read and 3 unchanged, and nothing imported again."""
    for i in (1, 2, 3):
        (logs / f"{i}.jsonl").write_text(ev(i) + "\n")
    _add(logs, db_path)
    assert _source(_sync(db_path), "mine")["imported"] == 3
    st = (logs / "2.jsonl").stat()
    os.utime(logs / "2.jsonl", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    again = _source(_sync(db_path), "mine")
    assert (again["files"], again["read"], again["unchanged"], again["imported"]) == (3, 0, 3, 0)
    assert _count(db_path, "SELECT count(*) FROM events") == 3


def test_a_touched_export_read_whole_and_found_the_same_is_unchanged_not_read(tmp_path: Path, db_path: Path) -> None:
    """QA: after `touch` of a synced LiteLLM export (read whole: it cannot resume), sync said
    "1 file, 1 read, 0 unchanged" above the file's own line "unchanged". The file is hashed,
    found the same and imports nothing: 1 file, 0 read, 1 unchanged."""
    d = tmp_path / "gateway"
    d.mkdir()
    f = d / "spendlogs.csv"
    shutil.copy(Path(__file__).parent / "data" / "litellm" / "spendlogs.csv", f)
    _add(d, db_path)
    first = _source(_sync(db_path), "mine")
    assert first["read"] == 1 and first["imported"] > 0
    st = f.stat()
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    doc = _sync(db_path)
    again = _source(doc, "mine")
    assert (again["files"], again["read"], again["unchanged"], again["imported"]) == (1, 0, 1, 0)
    assert (doc["totals"]["read"], doc["totals"]["unchanged"]) == (0, 1)


def test_the_totals_count_the_files_waiting_for_their_last_line(logs: Path, db_path: Path) -> None:
    """QA: a source said files 2, read 0, unchanged 1, waiting 1 and the totals files 2, read 0,
    unchanged 1 with no "waiting": they did not add up. a.jsonl is whole; b.jsonl ends in a
    half-written line: after the first sync (both read, b waiting), a second sync finds a
    unchanged and b still waiting."""
    (logs / "a.jsonl").write_text(ev(1) + "\n")
    (logs / "b.jsonl").write_text(ev(2) + "\n" + ev(3)[:20])
    _add(logs, db_path)
    first = _sync(db_path)
    assert (first["totals"]["read"], first["totals"]["waiting"]) == (2, 1)
    assert _source(first, "mine")["waiting"] == 1


def test_a_file_whose_name_cannot_be_imported_is_not_also_counted_unchanged(logs: Path, db_path: Path) -> None:
    """QA: a file named in Latin-1 (refused every sync: the store holds UTF-8 names) was counted
    both read and unchanged at the second sync ("2 files, 1 read, 2 unchanged"). It is read
    (and fails) each time; the other file is unchanged: 2 files, 1 read, 1 unchanged."""
    (logs / "a.jsonl").write_text(ev(1) + "\n")
    with open(os.fsencode(logs) + b"/Jos\xe9.jsonl", "w", encoding="utf-8") as fh:
        fh.write(ev(2) + "\n")
    _add(logs, db_path)
    run("sync", "--db", str(db_path), expect=4)  # the Latin-1 name cannot be read: exit 4
    second = run("sync", "--db", str(db_path), "--json", expect=4)
    mine = _source(json.loads(second.stdout), "mine")
    assert (mine["files"], mine["read"], mine["unchanged"]) == (2, 1, 1)


def test_an_emptied_or_new_empty_file_is_counted_read(logs: Path, db_path: Path) -> None:
    """QA: a synced file emptied (`: > a.jsonl`) and a new empty file gave no result and were in
    no count ("2 files, 0 read, 1 unchanged"). They are looked at and hold nothing new: read.
    a and b synced; a emptied: 1 read, 1 unchanged; then c new and empty: 1 read (c), 2 unchanged
    (a, now settled at 0 bytes, and b). The events stay: 2."""
    (logs / "a.jsonl").write_text(ev(1) + "\n")
    (logs / "b.jsonl").write_text(ev(2) + "\n")
    _add(logs, db_path)
    _sync(db_path)
    (logs / "a.jsonl").write_text("")
    emptied = _source(_sync(db_path), "mine")
    assert (emptied["files"], emptied["read"], emptied["unchanged"]) == (2, 1, 1)
    (logs / "c.jsonl").write_text("")
    new = _source(_sync(db_path), "mine")
    assert (new["files"], new["read"], new["unchanged"]) == (3, 1, 2)
    assert _count(db_path, "SELECT count(*) FROM events") == 2


def test_a_csv_source_file_whose_name_is_not_utf8_is_refused_not_a_crash(tmp_path: Path, db_path: Path) -> None:
    """QA: a LiteLLM (or CSV) source holding a Latin-1 file name crashed every sync ("unexpected
    error: InvalidInputException … surrogate", exit 1) in the cut-row lookup; it is refused as
    the import refuses it (exit 4), and the source's other file is imported."""
    d = tmp_path / "gateway"
    d.mkdir()
    shutil.copy(Path(__file__).parent / "data" / "litellm" / "spendlogs.csv", d / "a.csv")
    shutil.copy(Path(__file__).parent / "data" / "litellm" / "spendlogs.csv", os.fsencode(d) + b"/sp\xe9nd.csv")
    run("source", "add", str(d), "--format", "litellm", "--db", str(db_path))
    res = run("sync", "--db", str(db_path), expect=4)
    assert "sp\\xe9nd.csv: cannot be imported: its name is not UTF-8" in res.stderr
    assert _count(db_path, "SELECT count(*) FROM events") > 0  # a.csv's
