"""A sync after appends to many Claude Code files synced before: the new tails of all of them
are imported in ONE transaction (one stager run), each file keeping its own batch row, line
numbers, counts and state; a batch that cannot be read falls back to file by file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import query, run
from usagectl.importers import registry
from usagectl.store import ingest

pytestmark = pytest.mark.skipif(registry.get("claude-code") is None, reason="claude-code importer not available")

PROJECT = "-home-u-proj"


def _line(mid: str, out: int, session: str) -> str:
    return json.dumps(
        {
            "type": "assistant",
            "sessionId": session,
            "requestId": f"req_{mid}",
            "timestamp": "2025-11-05T09:00:00.000Z",
            "message": {
                "id": f"msg_{mid}",
                "model": "claude-haiku-4-5-20251001",
                "role": "assistant",
                "usage": {"input_tokens": 40, "cache_read_input_tokens": 0, "output_tokens": out},
            },
        }
    )


def _session(k: int) -> str:
    return f"{k}{k}{k}{k}aaaa-0000-4000-8000-00000000000{k}"


def _append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as fh:
        fh.write(text)


def _sync(db: Path, expect: int | None = 0) -> dict[str, Any]:
    out = run("sync", "--db", str(db), "--json", expect=expect).stdout
    doc = json.loads(out[out.index("{") :])
    return next(s for s in doc["sources"] if s["format"] == "claude-code")  # type: ignore[no-any-return]


def _tree(tmp_path: Path, db: Path) -> tuple[Path, Path, Path]:
    """Three session files, synced once: A1 (out 10), A2 (20) | B1 (30) | C1 (5, a streaming
    copy whose final one comes later)."""
    folder = tmp_path / "cfg" / "projects" / PROJECT
    folder.mkdir(parents=True)
    a, b, c = (folder / f"{_session(k)}.jsonl" for k in (1, 2, 3))
    a.write_text(_line("A1", 10, _session(1)) + "\n" + _line("A2", 20, _session(1)) + "\n")
    b.write_text(_line("B1", 30, _session(2)) + "\n")
    c.write_text(_line("C1", 5, _session(3)) + "\n")
    run("source", "add", str(folder.parent), "--format", "claude-code", "--db", str(db))
    first = _sync(db)
    assert (first["read"], first["records"], first["imported"]) == (3, 4, 4)
    return a, b, c


def _count_imports(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many files each ``import_staged_files`` call (one transaction) took."""
    calls: list[int] = []
    real = ingest.import_staged_files

    def counting(con: Any, infos: list[Any], *args: Any, **kw: Any) -> Any:
        calls.append(len(infos))
        return real(con, infos, *args, **kw)

    monkeypatch.setattr(ingest, "import_staged_files", counting)
    return calls


def test_appended_tails_of_many_files_are_one_transaction_and_equal_a_fresh_import(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b, c = _tree(tmp_path, db_path)
    b3 = _line("B3", 13, _session(2))
    _append(a, "{oops\n" + _line("A3", 7, _session(1)) + "\n")  # a malformed line 3, then A3 on line 4
    _append(b, _line("B2", 11, _session(2)) + "\n" + b3[:25])  # B2, then B3 half written (no newline)
    _append(c, _line("C1", 50, _session(3)) + "\n" + _line("C2", 8, _session(3)) + "\n")  # C1's final copy, C2
    first_batch = query(db_path, "SELECT max(batch_id) FROM import_batches")[0][0]
    calls = _count_imports(monkeypatch)
    second = _sync(db_path)
    # new records: a 2 (1 rejected), b 1 (the half line waits), c 2: 5 records, 1 reject;
    # new events A3, B2, C2 (3), C1 replaced by its larger copy
    assert (second["read"], second["records"], second["rejected"], second["imported"]) == (3, 5, 1, 3)
    assert calls == [3]  # ONE transaction for the three files (before: three, one per file)
    assert query(db_path, "SELECT file, line FROM rejects") == [(str(a), 3)]  # the real file, its real line
    batches = query(
        db_path,
        "SELECT path, fingerprint, records, source_name FROM import_batches WHERE batch_id > ? ORDER BY path".replace(
            "?", str(first_batch)
        ),
    )
    tails = {
        str(a): "{oops\n" + _line("A3", 7, _session(1)) + "\n",
        str(b): _line("B2", 11, _session(2)) + "\n",
        str(c): _line("C1", 50, _session(3)) + "\n" + _line("C2", 8, _session(3)) + "\n",
    }
    import hashlib

    assert batches == [
        (p, "sha256:" + hashlib.sha256(t.encode()).hexdigest(), n, "claude-code")
        for (p, t), n in zip(sorted(tails.items()), (2, 1, 2))
    ]  # a batch row per file: its own tail's hash, its own count
    # each state written with its batch: b's offset stops before the half line
    states = dict(query(db_path, 'SELECT path, "offset" FROM source_files'))
    assert states[str(b)] == len(b.read_bytes()) - 25 and states[str(a)] == a.stat().st_size

    _append(b, b3[25:] + "\n")  # the line is finished
    third = _sync(db_path)
    assert (third["read"], third["records"], third["imported"], third["rejected"]) == (1, 1, 1, 0)
    assert _sync(db_path)["read"] == 0  # nothing left to read

    # hand totals of the final files: A1 10 + A2 20 + A3 7 + B1 30 + B2 11 + B3 13 + C1 50 + C2 8
    # = 149 output tokens over 8 events, 8 x 40 = 320 input tokens; the same as a fresh import
    totals = "SELECT count(*), sum(input_tokens), sum(output_tokens) FROM events"
    assert query(db_path, totals) == [(8, 320, 149)]
    fresh = tmp_path / "fresh.duckdb"
    run("import", str(a.parent), "--format", "claude-code", "--db", str(fresh))
    per_message = "SELECT message_id, output_tokens, project FROM events ORDER BY message_id"
    assert query(fresh, totals) == [(8, 320, 149)]
    assert query(db_path, per_message) == query(fresh, per_message)


def test_a_crash_before_the_commit_keeps_no_tail_and_no_state(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b, c = _tree(tmp_path, db_path)
    before = query(db_path, "SELECT * FROM source_files ORDER BY path")
    for k, f in enumerate((a, b, c)):
        _append(f, _line(f"N{k}", 1, _session(k + 1)) + "\n")

    def boom(con: Any) -> None:
        raise RuntimeError("simulated crash before commit")

    with monkeypatch.context() as patch:
        patch.setattr(ingest, "before_commit_hook", boom)
        run("sync", "--db", str(db_path), expect=1)
    assert query(db_path, "SELECT count(*) FROM events") == [(4,)]  # none of the three tails
    assert query(db_path, "SELECT * FROM source_files ORDER BY path") == before  # nor any state
    again = _sync(db_path)
    assert (again["read"], again["imported"]) == (3, 3)


def test_a_batch_that_cannot_be_read_falls_back_to_file_by_file(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from usagectl.store.engine import core as duckdb_core
    from usagectl.store.stagers import claude_code as stager

    a, b, c = _tree(tmp_path, db_path)
    for k, f in enumerate((a, b, c)):
        _append(f, _line(f"N{k}", 1, _session(k + 1)) + "\n")
    b_offset = query(db_path, f"SELECT \"offset\" FROM source_files WHERE path = '{b}'")
    real = stager.stage
    calls = _count_imports(monkeypatch)
    staged: list[int] = []

    def failing(con: Any, paths: Any, *args: Any, **kw: Any) -> Any:
        names = [str(p) for p in (paths if isinstance(paths, list) else [paths])]
        staged.append(len(names))
        bad = [n for n in names if n.endswith(b.name)]
        if bad:  # DuckDB's reader names the file it could not read
            raise duckdb_core.IOException(f'Could not read file "{bad[0]}"')
        return real(con, paths, *args, **kw)

    monkeypatch.setattr(stager, "stage", failing)
    second = _sync(db_path, expect=None)
    # the batch of three failed on b; b alone failed; a and c went in together
    assert staged == [3, 1, 2] and calls == [3, 1, 2]
    assert (second["read"], second["imported"]) == (3, 2)
    ids = {r[0] for r in query(db_path, "SELECT message_id FROM events")}
    assert {"msg_N0", "msg_N2"} <= ids and "msg_N1" not in ids
    # b's state is as it was: the next sync reads its tail again
    assert query(db_path, f"SELECT \"offset\" FROM source_files WHERE path = '{b}'") == b_offset
    monkeypatch.setattr(stager, "stage", real)
    third = _sync(db_path)
    assert (third["read"], third["imported"]) == (1, 1)
