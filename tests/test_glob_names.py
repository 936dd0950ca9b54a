"""File names holding ``*``, ``?`` or ``[``: DuckDB's readers take every path as a glob pattern,
so without escaping a file named ``s?.jsonl`` also read its neighbour ``s2.jsonl`` (found by QA:
the tree's third message was lost, and a canonical ``usage*.jsonl`` pulled in its sibling's event)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import query, run_json
from usagectl.store.engine import connect


def _cc(ts: str, mid: str, inp: int, out: int) -> str:
    return json.dumps(
        {"type": "assistant", "timestamp": ts, "sessionId": "s", "requestId": f"req_{mid}",
         "message": {"id": mid, "model": "claude-sonnet-4-5", "usage": {"input_tokens": inp, "output_tokens": out}}}
    )  # fmt: skip


def _event(eid: str, inp: int, out: int) -> str:
    return json.dumps(
        {"event_id": eid, "ts": "2025-11-03T10:00:00Z", "model_raw": "gpt-4o-mini", "input_tokens": inp,
         "output_tokens": out}
    )  # fmt: skip


@pytest.mark.parametrize("name", ["s?.jsonl", "s*.jsonl", "s[12].jsonl"])
def test_a_claude_code_tree_with_glob_characters_in_a_file_name(db_path: Path, tmp_path: Path, name: str) -> None:
    """s1.jsonl: m1 (1 in, 1 out) and a malformed line 2; s2.jsonl: m2 (2/2); the third file, named
    with a glob character: m3 (4/4). By hand: 3 events, input 1+2+4 = 7, output 7; one reject,
    s1.jsonl line 2. Before: ``s?.jsonl`` read s1 and s2 again in its place, m3 was lost and a
    reject was made up for it."""
    folder = tmp_path / "projects" / "-home-alice-app"
    folder.mkdir(parents=True)
    (folder / "s1.jsonl").write_text(_cc("2025-11-03T10:00:00Z", "m1", 1, 1) + '\n{"broken\n')
    (folder / "s2.jsonl").write_text(_cc("2025-11-03T11:00:00Z", "m2", 2, 2) + "\n")
    (folder / name).write_text(_cc("2025-11-03T12:00:00Z", "m3", 4, 4) + "\n")
    out = run_json("import", str(tmp_path / "projects"), "--format", "claude-code", "--db", str(db_path))
    assert (out["records"], out["imported"], out["rejected"]) == (4, 3, 1)
    assert query(db_path, "SELECT count(*), sum(input_tokens), sum(output_tokens) FROM events") == [(3, 7, 7)]
    rejects = query(db_path, "SELECT file, line FROM rejects")
    assert [(Path(f).name, line) for f, line in rejects] == [("s1.jsonl", 2)]
    # the file on its own: its one message
    alone = tmp_path / "alone.duckdb"
    run_json("import", str(folder / name), "--format", "claude-code", "--db", str(alone))
    assert query(alone, "SELECT message_id, input_tokens FROM events") == [("m3", 4)]


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_a_canonical_file_named_with_a_star_reads_only_itself(db_path: Path, tmp_path: Path, fmt: str) -> None:
    """``usage*.jsonl`` (one event, 100 in / 10 out) beside ``usage-other.jsonl`` (5,000 / 500): the
    import of the first stores 1 event of 110 tokens, not 5,610. Parquet alike."""
    named, other = tmp_path / f"usage*.{fmt}", tmp_path / f"usage-other.{fmt}"
    if fmt == "jsonl":
        named.write_text(_event("a1", 100, 10) + "\n")
        other.write_text(_event("b1", 5000, 500) + "\n")
    else:
        con = connect(":memory:")
        for path, (eid, inp, out) in ((named, ("a1", 100, 10)), (other, ("b1", 5000, 500))):
            con.execute(
                f"COPY (SELECT '{eid}' AS event_id, '2025-11-03T10:00:00Z' AS ts, 'gpt-4o-mini' AS model_raw, "
                f"{inp} AS input_tokens, {out} AS output_tokens) TO '{path}' (FORMAT parquet)"
            )
        con.close()
    out = run_json("import", str(named), "--db", str(db_path))
    assert (out["records"], out["imported"]) == (1, 1)
    assert query(db_path, "SELECT event_id, input_tokens + output_tokens FROM events") == [("a1", 110)]


def test_literal_puts_each_glob_character_in_brackets() -> None:
    from usagectl.store.engine import literal

    assert literal("/a/b.jsonl") == "/a/b.jsonl"
    assert literal("/a/s?[1]*.jsonl") == "/a/s[?][[]1][*].jsonl"


@pytest.mark.parametrize("name", ["q?.jsonl.gz", "d?ir/ok.jsonl.gz", "plain.JSONL.GZ"])
def test_a_gzipped_file_with_a_question_mark_in_its_path_is_read_as_gzip(
    db_path: Path, tmp_path: Path, name: str
) -> None:
    """QA: DuckDB's reader takes the text after a ``?`` for a URL's query, so it no longer saw the
    ``.gz`` and read the compressed bytes as text: 0 imported, 3 rejects. The compression is now
    given by the suffix: the one event (100 in / 10 out) is imported."""
    import gzip

    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress((_event("g1", 100, 10) + "\n").encode()))
    out = run_json("import", str(path), "--db", str(db_path))
    assert (out["imported"], out["rejected"]) == (1, 0)
    assert query(db_path, "SELECT event_id, input_tokens + output_tokens FROM events") == [("g1", 110)]
