"""Claude Code transcripts: fixtures in tests/data/claude-code (totals in EXPECTED.md, by hand)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import migrate_again_from, run, run_json, write_jsonl
from usagectl.importers import claude_code, registry
from usagectl.importers.claude_code import IMPORTER, default_roots
from usagectl.services import sources

DATA = Path(__file__).parent / "data" / "claude-code" / "projects"
PROJECT = DATA / "-home-alice-src-webapp"
S1 = PROJECT / "1111aaaa-0000-4000-8000-000000000001.jsonl"
S2 = PROJECT / "2222bbbb-0000-4000-8000-000000000002.jsonl"
AGENT = PROJECT / "2222bbbb-0000-4000-8000-000000000002" / "subagents" / "agent-5f3a.jsonl"


def _q(db: Path, sql: str) -> list[tuple]:  # type: ignore[type-arg]
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _import(db: Path, *paths: Path, fmt: str = "claude-code") -> dict:  # type: ignore[type-arg]
    return run_json("import", *map(str, paths), "--format", fmt, "--db", str(db))  # type: ignore[no-any-return]


def _by_model(db: Path) -> dict[str, dict]:  # type: ignore[type-arg]
    out = run_json(
        "report", "by", "model", "--since", "2025-11-01", "--until", "2025-11-30", "--tz", "UTC", "--db", str(db)
    )
    return {r["model"]: r for r in out["rows"]}


def test_tree_totals_per_model_and_day(db_path: Path) -> None:
    s = _import(db_path, DATA)
    # 18 records: s1 11 (usage lines 3,4,5,7,9,11,12,13,14 + malformed 10,16), s2 5, agent 2
    assert (s["files"], s["records"], s["imported"], s["duplicates"], s["rejected"]) == (3, 18, 7, 7, 4)
    m = _by_model(db_path)
    son = m["claude-sonnet-4-5"]
    # A1 10/1000/0/20000/300 + A2 4/500/1500/30000/120 + null-id 7/0/0/0/70 + gateway G1 50/0/0/0/40
    assert (son["requests"], son["input_tokens"], son["cache_write_5m_tokens"], son["cache_write_1h_tokens"]) == (
        4,
        71,
        1500,
        1500,
    )
    assert (son["cache_read_tokens"], son["output_tokens"]) == (50000, 530)
    # 71*3 + 1500*3.75 + 1500*6 + 50000*0.30 + 530*15 = 37788 per 1M -> 0.037788; + 2 web searches * $0.01
    assert son["cost_usd"] == pytest.approx(0.057788, abs=1e-9)
    hai = m["claude-haiku-4-5"]
    # A3 100 in, 400 cache write without the split (all 5m), 50 out; B1 (new sidechain msg) 30/5000 read/200
    assert (
        hai["requests"],
        hai["input_tokens"],
        hai["cache_write_5m_tokens"],
        hai["cache_read_tokens"],
        hai["output_tokens"],
    ) == (2, 130, 400, 5000, 250)
    assert hai["cost_usd"] == pytest.approx(0.00238, abs=1e-9)  # 130*1 + 400*1.25 + 5000*0.1 + 250*5 = 2380
    opus = m["claude-opus-4-1"]
    # A4 once (its sidechain replay in the agent file is not counted): 20/0/3000(1h)/10000/800
    assert (opus["requests"], opus["cache_write_1h_tokens"], opus["output_tokens"]) == (1, 3000, 800)
    assert opus["cost_usd"] == pytest.approx(0.1653, abs=1e-9)  # 20*15 + 3000*30 + 10000*1.5 + 800*75 = 165300
    daily = run_json(
        "report", "daily", "--since", "2025-11-03", "--until", "2025-11-04", "--tz", "UTC", "--db", str(db_path)
    )
    days = {r["date"]: r for r in daily["rows"]} if "date" in daily["rows"][0] else {r["day"]: r for r in daily["rows"]}
    d3, d4 = days["2025-11-03"], days["2025-11-04"]
    # 11-03: A1 + A2 (23:59:59+00:00); 11-04: A3 (no ms), null-id, A4, G1, B1
    assert (d3["input_tokens"], d3["output_tokens"], d3["cache_read_tokens"]) == (14, 420, 50000)
    assert (d4["input_tokens"], d4["output_tokens"], d4["cache_read_tokens"]) == (207, 1160, 15000)
    # 11-03: 14*3 + 1500*3.75 + 1500*6 + 50000*0.3 + 420*15 = 35967 -> 0.035967 + 0.02 web search
    assert d3["cost_usd"] == pytest.approx(0.055967, abs=1e-9)


def test_fields_and_rejects(db_path: Path) -> None:
    _import(db_path, DATA)
    rows = _q(db_path, "SELECT line, reason FROM rejects ORDER BY line")
    assert [r[0] for r in rows] == [10, 11, 12, 16]
    reasons = dict(rows)
    assert reasons[10].startswith("not valid JSON") and reasons[16].startswith("not valid JSON")
    assert reasons[11] == "output_tokens: negative (-3)"
    assert reasons[12].startswith("ts: not a timestamp")
    assert {r[0] for r in _q(db_path, "SELECT DISTINCT file FROM rejects")} == {str(S1.resolve())}
    a3 = _q(db_path, "SELECT project, session_id, message_id, reported_cost_usd, provider, extra->>'version' "
            "FROM events WHERE message_id = 'msg_01A3'")[0]  # fmt: skip
    assert a3[:3] == ("-home-alice-src-webapp", "1111aaaa-0000-4000-8000-000000000001", "msg_01A3")
    assert str(a3[3]).startswith("0.0123") and a3[4] == "anthropic" and a3[5] == "1.0.20"
    assert _q(db_path, "SELECT count(*) FROM events WHERE model_raw = '<synthetic>'")[0][0] == 0
    # the user line's toolUseResult usage (999) is not counted
    assert _q(db_path, "SELECT count(*) FROM events WHERE input_tokens = 999")[0][0] == 0


def test_reimport_and_overlap_add_nothing(db_path: Path, tmp_path: Path) -> None:
    _import(db_path, DATA)
    again = _import(db_path, DATA)
    assert again["imported"] == 0 and all(f["unchanged"] for f in again["per_file"])
    # a copy elsewhere (new file, same messages): read, nothing added
    copy = tmp_path / "copy" / "projects" / "-home-alice-src-webapp"
    shutil.copytree(PROJECT, copy)
    third = _import(db_path, copy.parent)
    assert (third["imported"], third["replaced"]) == (0, 0)
    assert _q(db_path, "SELECT count(*) FROM events")[0][0] == 7


def test_sidechain_replay_either_order(db_path: Path, tmp_path: Path) -> None:
    first = _import(db_path, AGENT)  # alone: the replay of A4 and B1 both look new
    assert first["imported"] == 2
    second = _import(db_path, S2)  # A4's main-chain copy arrives: the stored replay goes
    assert second["replaced"] == 1
    ids = {r[0] for r in _q(db_path, "SELECT event_id FROM events WHERE message_id IN ('msg_01A4', 'msg_01B1')")}
    assert ids == {"claude-code:msg_01A4:req_011A4", "claude-code:msg_01B1:req_011B1"}


def test_partial_streaming_line_stored_first_is_replaced(db_path: Path, tmp_path: Path) -> None:
    lines = S1.read_text().splitlines()
    part = tmp_path / "projects" / "p" / "s.jsonl"
    part.parent.mkdir(parents=True)
    part.write_text(lines[2] + "\n")  # output_tokens 5
    _import(db_path, part)
    full = tmp_path / "projects" / "p" / "t.jsonl"
    full.write_text(lines[3] + "\n")  # output_tokens 300
    s = _import(db_path, full)
    assert s["replaced"] == 1
    assert _q(db_path, "SELECT output_tokens FROM events")[0][0] == 300


def test_format_auto_and_single_file(db_path: Path) -> None:
    assert IMPORTER.sniff(S1, S1.read_bytes()[:65536])
    assert not IMPORTER.sniff(S1, b'{"event_id": "e1", "ts": "2025-11-03T10:00:00Z"}\n')
    s = _import(db_path, S2, fmt="auto")
    assert s["per_file"][0]["format"] == "claude-code" and s["imported"] == 4  # A1, A2 copies, A4, G1


def _cc_line(kind: str, uid: str, **fields: Any) -> str:
    """A line as Claude Code writes it (compact JSON, its key order)."""
    line = {"parentUuid": None, "isSidechain": False, "userType": "external", "cwd": "/home/u/img"}
    line |= {"sessionId": "img", "version": "2.0.31", "type": kind, **fields, "uuid": uid}
    return json.dumps(line, separators=(",", ":"))


_ASSISTANT = _cc_line(
    "assistant",
    "a1",
    message={"model": "claude-sonnet-4-5-20250929", "id": "msg_img", "role": "assistant",
             "usage": {"input_tokens": 1500, "output_tokens": 100}},
    requestId="req_img",
    timestamp="2025-11-05T10:00:05.000Z",
)  # fmt: skip


def _assert_one_sonnet_request(db: Path) -> None:
    son = _by_model(db)["claude-sonnet-4-5"]
    # 1500 input x $3/M + 100 output x $15/M = 0.0045 + 0.0015 = $0.006
    assert (son["requests"], son["input_tokens"], son["output_tokens"]) == (1, 1500, 100)
    assert son["cost_usd"] == pytest.approx(0.006, abs=1e-9)


def test_auto_reads_a_transcript_opening_with_a_line_longer_than_the_head(db_path: Path, tmp_path: Path) -> None:
    # a pasted image: the first (user) line is ~70 KB, longer than the 64 KiB sniffed first
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "A" * 70000}}
    user = _cc_line("user", "u1", message={"role": "user", "content": [image]}, timestamp="2025-11-05T10:00:00.000Z")
    path = tmp_path / "projects" / "-home-u-img" / "img.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text(user + "\n" + _ASSISTANT + "\n")
    assert len(user) > 65536
    assert IMPORTER.sniff(path, path.read_bytes()[:65536])  # the cut first line is recognised
    s = _import(db_path, tmp_path / "projects", fmt="auto")
    assert [f["format"] for f in s["per_file"]] == ["claude-code"]
    assert (s["records"], s["imported"], s["rejected"]) == (1, 1, 0)  # the user line is no usage
    _assert_one_sonnet_request(db_path)
    assert sources.detect_format(tmp_path / "projects") == "claude-code"  # source add without --format


def test_auto_reads_a_resumed_session_opening_with_many_summaries(db_path: Path, tmp_path: Path) -> None:
    summaries = [
        json.dumps({"type": "summary", "summary": f"Earlier topic {i}", "leafUuid": f"leaf-{i}"}) for i in range(60)
    ]
    path = tmp_path / "projects" / "-home-u-sum" / "resumed.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("\n".join([*summaries, _ASSISTANT]) + "\n")
    assert IMPORTER.sniff(path, "\n".join(summaries[:3]).encode())  # summaries alone are Claude Code's
    assert not IMPORTER.sniff(path, b'{"type": "summary", "summary": "x"}\n')  # no leafUuid: not evidence
    snapshot = {"type": "file-history-snapshot", "messageId": "m1", "isSnapshotUpdate": False,
                "snapshot": {"messageId": "m1", "trackedFileBackups": {}, "timestamp": "2025-11-05T10:00:00.000Z"}}  # fmt: skip
    assert IMPORTER.sniff(path, json.dumps(snapshot).encode() + b"\n")
    s = _import(db_path, path, fmt="auto")
    assert [f["format"] for f in s["per_file"]] == ["claude-code"]
    assert (s["records"], s["imported"], s["rejected"]) == (1, 1, 0)
    _assert_one_sonnet_request(db_path)
    assert sources.detect_format(tmp_path / "projects") == "claude-code"


def test_long_canonical_jsonl_is_still_canonical(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # longer than 64 KiB: still no importer's, and decided from its first 64 KiB (whole lines of
    # canonical events), so not read again from its first 8 MiB (~65 ms per 84 MB file)
    event = {"ts": "2025-11-03T10:00:00Z", "model": "gpt-4.1", "input_tokens": 1, "output_tokens": 1,
             "extra": {"type": "user", "note": "x" * 200}}  # fmt: skip
    path = write_jsonl(tmp_path / "events.jsonl", [event | {"event_id": f"e{i}"} for i in range(400)])
    assert path.stat().st_size > 65536
    reads: list[int] = []
    head = registry._head
    monkeypatch.setattr(registry, "_head", lambda p, size=registry.HEAD: reads.append(size) or head(p, size))
    assert registry.sniff(path) is None
    assert not registry.sniff_as(path, "claude-code")
    assert reads == [registry.HEAD, registry.HEAD]


# tricky paths below tmp_path -> the project each names (by hand: the directory right below
# the LAST "projects" directory that has a directory below it)
_PROJECT_PATHS = {
    "projects/backup/.claude/projects/-home-bob-app/s2.jsonl": "-home-bob-app",  # a backup under ~/projects
    "dotfiles/projects/x/claude/projects/-home-bob-api/s3.jsonl": "-home-bob-api",  # CLAUDE_CONFIG_DIR under one
    ".claude/projects/-home-bob-app/s2/subagents/agent-7.jsonl": "-home-bob-app",  # a subagent file
    ".claude/projects/projects/s4.jsonl": "projects",  # a project directory named "projects"
}


def test_project_of_takes_the_last_projects_directory() -> None:
    for rel, project in _PROJECT_PATHS.items():
        assert claude_code.project_of(Path("/home/bob") / rel) == project, rel
        assert claude_code.project_of("C:\\Users\\bob\\" + rel.replace("/", "\\")) == project, rel
    assert claude_code.project_of("C:\\Users\\bob\\projects\\s.jsonl") is None  # no directory below it
    assert claude_code.project_of(Path("/tmp/loose.jsonl")) is None


def test_stager_names_the_project_as_the_reader_does(db_path: Path, tmp_path: Path) -> None:
    for n, rel in enumerate(_PROJECT_PATHS):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        line = {"isSidechain": False, "cwd": "/home/bob/elsewhere", "sessionId": f"s{n}", "type": "assistant",
                "message": {"model": "claude-sonnet-4-5-20250929", "id": f"msg_{n}", "role": "assistant",
                            "usage": {"input_tokens": 100, "output_tokens": 10}},
                "requestId": f"req_{n}", "uuid": f"u{n}", "timestamp": "2025-11-05T10:00:00.000Z"}  # fmt: skip
        path.write_text(json.dumps(line) + "\n")
    s = _import(db_path, tmp_path)  # one batch through the DuckDB stager
    assert s["imported"] == len(_PROJECT_PATHS)
    staged = dict(_q(db_path, "SELECT session_id, project FROM events"))
    for n, (rel, project) in enumerate(_PROJECT_PATHS.items()):
        (record,) = IMPORTER.read(tmp_path / rel)  # the Python reader
        assert (staged[f"s{n}"], record.fields["project"]) == (project, project), rel


def test_default_roots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    (a / "projects").mkdir(parents=True)
    (b / "projects").mkdir(parents=True)
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", f"{a}, {b},{tmp_path / 'missing'}")
    assert default_roots() == [a / "projects", b / "projects"]
    monkeypatch.delenv("CLAUDE_CONFIG_DIR")
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".claude" / "projects").mkdir(parents=True)
    assert default_roots() == [tmp_path / ".claude" / "projects"]


def test_python_read_matches_sql(db_path: Path) -> None:
    recs = [r for p in (S1, S2, AGENT) for r in IMPORTER.read(p)]
    assert sum(1 for r in recs if r.problem) == 4
    good = {r.fields["event_id"]: r.fields for r in recs if not r.problem}
    _import(db_path, DATA)
    stored = {r[0] for r in _q(db_path, "SELECT event_id FROM events")}
    # Python sees the replay under its own key; the store removed it (sidechain rule)
    assert stored == set(good) - {"claude-code:msg_01A4:req_011R4"}
    a2 = good["claude-code:msg_01A2:req_011A2"]
    assert (a2["cache_write_5m_tokens"], a2["cache_write_1h_tokens"], a2["web_search_requests"]) == (500, 1500, 2)


_VALUES = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=5),
    st.none(),
    st.booleans(),
)


@settings(max_examples=60, deadline=None)
@given(
    junk=st.binary(max_size=200),
    tokens=st.dictionaries(st.sampled_from(["input_tokens", "output_tokens", "cache_read_input_tokens"]), _VALUES),
    cut=st.integers(min_value=0, max_value=400),
)
def test_fuzz_read_never_raises(tmp_path_factory: pytest.TempPathFactory, junk: bytes, tokens: dict, cut: int) -> None:  # type: ignore[type-arg]
    line = json.dumps({"type": "assistant", "timestamp": "2025-11-03T10:00:00Z", "sessionId": "s",
                       "message": {"id": "m", "model": "claude-sonnet-4-5", "usage": tokens}})  # fmt: skip
    path = tmp_path_factory.mktemp("fz") / "f.jsonl"
    path.write_bytes(junk + b"\n" + line.encode() + b"\n" + line.encode()[:cut])
    for rec in IMPORTER.read(path):
        assert rec.problem or rec.fields["event_id"].startswith("claude-code:")
        if not rec.problem:
            for k in ("input_tokens", "output_tokens", "cache_read_tokens"):
                v = rec.fields[k]
                assert v is None or (isinstance(v, int) and 0 <= v < 2**63)


@settings(max_examples=15, deadline=None)
@given(
    junk=st.binary(max_size=300), tokens=st.dictionaries(st.sampled_from(["input_tokens", "output_tokens"]), _VALUES)
)
def test_fuzz_import_exits_0_or_4(tmp_path_factory: pytest.TempPathFactory, junk: bytes, tokens: dict) -> None:  # type: ignore[type-arg]
    d = tmp_path_factory.mktemp("fzi")
    line = json.dumps({"type": "assistant", "timestamp": "2025-11-03T10:00:00Z", "sessionId": "s",
                       "message": {"id": "m", "model": "claude-sonnet-4-5", "usage": tokens}})  # fmt: skip
    (d / "projects" / "p").mkdir(parents=True)
    (d / "projects" / "p" / "a.jsonl").write_bytes(junk + b"\n" + line.encode() + b"\n")
    res = run("import", str(d / "projects"), "--format", "claude-code", "--db", str(d / "x.duckdb"), expect=None)
    assert res.exit_code in (0, 4), res.exception


def test_module_has_no_duckdb() -> None:
    assert "duckdb" not in Path(claude_code.__file__).read_text()


def _usage_line(mid: str, inp: int, out: int, ts: str = "2025-11-03T10:00:00Z") -> bytes:
    obj = {"type": "assistant", "timestamp": ts, "sessionId": "s", "requestId": f"r-{mid}",
           "message": {"id": mid, "model": "claude-sonnet-4-5", "usage": {"input_tokens": inp, "output_tokens": out}}}  # fmt: skip
    return json.dumps(obj).encode()


def test_blank_crlf_and_undecodable_lines_keep_their_numbers(tmp_path: Path) -> None:
    """Blank lines count as lines but not as records, CRLF endings parse, and a file with bytes
    that are not UTF-8 is still read (the bad line rejected with its own line, the others
    imported), next to ordinary files of the same batch."""
    root = tmp_path / "projects" / "p"
    root.mkdir(parents=True)
    user = json.dumps({"type": "user", "sessionId": "s", "message": {"role": "user", "content": "hi"}}).encode()
    # a.jsonl: line 1 usage, 2 blank, 3 whitespace, 4 usage (CRLF), 5 malformed, 6 usage
    (root / "a.jsonl").write_bytes(
        _usage_line("m1", 10, 1)
        + b"\n\n \t\n"
        + _usage_line("m2", 20, 2)
        + b'\r\n{"type": \n'
        + _usage_line("m3", 30, 3)
        + b"\n"
    )
    # b.jsonl: line 1 user, 2 usage, 3 not UTF-8, 4 usage (no final newline)
    (root / "b.jsonl").write_bytes(
        user + b"\n" + _usage_line("m4", 40, 4) + b'\n\xff\xfe{"a": 1}\n' + _usage_line("m5", 50, 5)
    )
    (root / "c.jsonl").write_bytes(_usage_line("m6", 60, 6) + b"\n")
    db = tmp_path / "u.duckdb"
    s = _import(db, tmp_path / "projects")
    # by hand: records a 4 (usage 1, 4, 6 + malformed 5; blank lines are not records), b 3
    # (usage 2, 4 + undecodable 3; the user line is skipped), c 1; 10+20+30+40+50+60 = 210 input
    assert (s["files"], s["records"], s["imported"], s["rejected"]) == (3, 8, 6, 2)
    assert _q(db, "SELECT sum(input_tokens), sum(output_tokens) FROM events") == [(210, 21)]
    rejects = _q(db, "SELECT regexp_extract(file, '[^/]+$'), line, record FROM rejects ORDER BY file")
    # a: line 5 is the 3rd non-blank line; b: line 3 is the 3rd non-blank line
    assert rejects == [("a.jsonl", 5, 3), ("b.jsonl", 3, 3)]
    # the same as the Python reader says, line by line
    for name in ("a.jsonl", "b.jsonl"):
        recs = [r for r in IMPORTER.read(root / name) if r.problem]
        got = [(line, rec) for f, line, rec in rejects if f == name]
        assert [(r.line, r.rec) for r in recs] == got


def test_leading_blanks_byte_order_mark_and_values_that_are_not_objects(tmp_path: Path) -> None:
    """An object line indented by blanks or a tab still counts; a file starting with a UTF-8
    byte order mark too; a line holding an array or a string (valid JSON, not an object) is
    rejected with its own line, as the Python reader says."""
    root = tmp_path / "projects" / "p"
    root.mkdir(parents=True)
    # a.jsonl: 1 BOM + usage, 2 blanks + usage, 3 tab + usage, 4 array, 5 blank + string
    (root / "a.jsonl").write_bytes(
        b"\xef\xbb\xbf" + _usage_line("m1", 10, 1) + b"\n  " + _usage_line("m2", 20, 2) + b"\n\t"
        + _usage_line("m3", 30, 3) + b'\n[1, {"usage": 5}]\n "usage"\n'
    )  # fmt: skip
    db = tmp_path / "u.duckdb"
    s = _import(db, tmp_path / "projects")
    assert (s["records"], s["imported"], s["rejected"]) == (5, 3, 2)
    assert _q(db, "SELECT sum(input_tokens), sum(output_tokens) FROM events") == [(60, 6)]
    rejects = _q(db, "SELECT line, record, reason FROM rejects ORDER BY line")
    assert rejects == [(4, 4, "not a JSON object (an array)"), (5, 5, "not a JSON object (a string)")]
    assert [(r.line, r.rec) for r in IMPORTER.read(root / "a.jsonl") if r.problem] == [(4, 4), (5, 5)]


def test_lone_surrogate_escape_is_a_reject_with_its_reason(tmp_path: Path) -> None:
    """``"\\ud800"`` without its pair is JSON Python reads but DuckDB refuses (and UTF-8 cannot
    hold): the line is rejected with that reason by both readers, the other lines count, and a
    proper pair (an emoji) is fine."""
    root = tmp_path / "projects" / "p"
    root.mkdir(parents=True)
    lone = _usage_line("m2", 20, 2).replace(b'"claude-sonnet-4-5"', b'"claude\\ud800"')
    pair = _usage_line("m3", 30, 3).replace(b'"sessionId": "s"', b'"sessionId": "s\\ud83d\\ude00"')
    (root / "a.jsonl").write_bytes(b"\n".join([_usage_line("m1", 10, 1), lone, pair]) + b"\n")
    db = tmp_path / "u.duckdb"
    s = _import(db, tmp_path / "projects")
    assert (s["records"], s["imported"], s["rejected"]) == (3, 2, 1)
    reason = "not valid JSON: a lone surrogate escape (\\ud800-\\udfff without its pair)"
    assert _q(db, "SELECT line, reason FROM rejects") == [(2, reason)]
    assert _q(db, "SELECT session_id FROM events ORDER BY input_tokens") == [("s",), ("s\U0001f600",)]
    assert [(r.line, r.problem) for r in IMPORTER.read(root / "a.jsonl") if r.problem] == [(2, reason)]


def test_a_line_longer_than_the_readers_limit_costs_only_its_file_a_retry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A transcript line of 34 MB (a pasted PDF, a huge tool result) is more than DuckDB's reader
    takes in a tree (16 MB objects, 32 MB buffers): the batch fails naming that file, the file
    is read on its own (with a limit up to its size) and the others again as one batch, not
    each in a transaction of its own; every record counts, rejects keep their lines."""
    import usagectl.services.imports as imports

    root = tmp_path / "projects" / "p"
    root.mkdir(parents=True)
    huge = {"type": "assistant", "timestamp": "2025-11-03T11:00:00Z", "sessionId": "s", "requestId": "r-big",
            "message": {"id": "m-big", "model": "claude-sonnet-4-5", "content": [{"type": "text", "text": "B" * 34_000_000}],
                        "usage": {"input_tokens": 70, "output_tokens": 7}}}  # fmt: skip
    bad = _usage_line("m-bad", 1, 1).replace(b'"input_tokens": 1', b'"input_tokens": "many"')
    (root / "big.jsonl").write_bytes(b"\n".join([_usage_line("m1", 10, 1), json.dumps(huge).encode(), bad]) + b"\n")
    (root / "a.jsonl").write_bytes(_usage_line("m2", 20, 2) + b"\n")
    (root / "b.jsonl").write_bytes(_usage_line("m3", 30, 3) + b"\n")
    alone: list[str] = []
    real_import_file = imports.import_file

    def one(*args: Any, **kwargs: Any) -> Any:
        alone.append(Path(args[1]).name)
        return real_import_file(*args, **kwargs)

    monkeypatch.setattr(imports, "import_file", one)
    db = tmp_path / "u.duckdb"
    s = _import(db, tmp_path / "projects")
    assert alone == ["big.jsonl"]
    assert (s["files"], s["records"], s["imported"], s["rejected"]) == (3, 5, 4, 1)
    assert _q(db, "SELECT sum(input_tokens), sum(output_tokens) FROM events") == [(10 + 70 + 20 + 30, 1 + 7 + 2 + 3)]
    assert _q(db, "SELECT regexp_extract(file, '[^/]+$'), line, reason FROM rejects") == [
        ("big.jsonl", 3, "input_tokens: not a number (many)")
    ]


def test_error_names_a_file_as_the_readers_write_it() -> None:
    from usagectl.services.imports import _names

    duck = (
        'x.jsonl: cannot be read as claude-code: Invalid Input Error: ... while reading file "/t/p/x.jsonl" (>1 bytes).'
    )
    assert _names(duck, "/t/p/x.jsonl") and not _names(duck, "/t/p/x.json", "p/x.jsonl")
    assert _names("/t/s/rollout-1.jsonl: cannot read: Permission denied", "/t/s/rollout-1.jsonl")
    assert not _names("/t/s/rollout-10.jsonl: cannot read: Permission denied", "/t/s/rollout-1.jsonl")


def test_files_read_in_chunks_keep_their_lines(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from usagectl.store.stagers import claude_code as stager

    monkeypatch.setattr(stager, "CHUNK_FILES", 1)  # one read_ndjson per file: same result
    s = _import(db_path, DATA)
    assert (s["records"], s["imported"], s["duplicates"], s["rejected"]) == (18, 7, 7, 4)
    assert [r[0] for r in _q(db_path, "SELECT line FROM rejects ORDER BY line")] == [10, 11, 12, 16]


def test_usage_and_cache_split_presence(tmp_path: Path) -> None:
    """message.usage and usage.cache_creation are only tested for presence: a usage object
    without any count is rejected (not skipped), a usage that is not an object too, and the
    5m/1h split is taken from cache_creation only when that object is there."""
    root = tmp_path / "projects" / "p"
    root.mkdir(parents=True)

    def line(mid: str, usage: object, **top: object) -> str:
        return json.dumps({"type": "assistant", "timestamp": "2025-11-03T10:00:00Z", "sessionId": "s",
                           "requestId": f"r{mid}", "message": {"id": mid, "model": "claude-sonnet-4-5",
                           "usage": usage}, **top})  # fmt: skip

    lines = [
        line("m1", {"input_tokens": 1, "output_tokens": 1, "cache_creation_input_tokens": 700}),  # no split: 5m 700
        line(
            "m2",
            {
                "input_tokens": 1,
                "output_tokens": 1,
                "cache_creation_input_tokens": 900,
                "cache_creation": {"ephemeral_5m_input_tokens": 200, "ephemeral_1h_input_tokens": 700},
            },
        ),
        line(
            "m3", {"input_tokens": 1, "output_tokens": 1, "cache_creation_input_tokens": 50, "cache_creation": {}}
        ),  # the object is there without counts, which do not add up to the total: all 50 at 5m
        line(
            "m4", {"input_tokens": 1, "output_tokens": 1, "cache_creation_input_tokens": 60, "cache_creation": None}
        ),  # null is no object: 5m 60
        line("m5", {}),  # usage without any count: rejected
        line("m6", "lots"),  # usage that is not an object: rejected
        line("m7", None),  # no usage: skipped
        json.dumps({"type": "user", "message": {"role": "user", "content": "what is my usage?"}}),  # skipped
    ]
    (root / "a.jsonl").write_text("\n".join(lines) + "\n")
    db = tmp_path / "u.duckdb"
    res = run("import", str(tmp_path / "projects"), "--format", "claude-code", "--db", str(db), "--json", expect=None)
    assert res.exit_code in (0, 4)  # 4: some records were rejected
    s = json.loads(res.stdout)
    assert (s["records"], s["imported"], s["rejected"]) == (6, 4, 2)
    got = _q(db, "SELECT message_id, cache_write_5m_tokens, cache_write_1h_tokens FROM events ORDER BY 1")
    assert got == [("m1", 700, 0), ("m2", 200, 700), ("m3", 50, 0), ("m4", 60, 0)]
    assert [r[0] for r in _q(db, "SELECT line FROM rejects ORDER BY line")] == [5, 6]


def test_files_lists_what_rglob_lists_and_symlinked_folders_once(tmp_path: Path) -> None:
    root = tmp_path / "projects"
    (root / "p" / "sub").mkdir(parents=True)
    (root / "p" / "a.jsonl").write_text("{}\n")
    (root / "p" / "sub" / ".hidden.jsonl").write_text("{}\n")
    (root / "p" / "b.json").write_text("{}\n")
    (root / "p" / "dir.jsonl").mkdir()
    (root / "p" / "link.jsonl").symlink_to(root / "p" / "a.jsonl")
    (root / "p" / "dangling.jsonl").symlink_to(root / "missing.jsonl")
    (root / "p-q.jsonl").write_text("{}\n")
    (root / "loop.jsonl").symlink_to(root / "loop.jsonl")  # a symlink loop is not a file
    plain = IMPORTER.files(root)
    assert plain == sorted(p for p in root.rglob("*.jsonl") if p.is_file())  # no symlinked folder yet: as rglob
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "c.jsonl").write_text("{}\n")
    (root / "linked-dir").symlink_to(outside)  # a project folder linked in from elsewhere is entered
    (root / "p" / "sub" / "up").symlink_to(root)  # a link back up: not walked again (no loop)
    (root / "zz-again").symlink_to(root / "p" / "sub")  # a folder the walk reaches anyway: once
    got = IMPORTER.files(root)
    # by hand: files only (the dangling link and the directory named *.jsonl are not), sorted
    # as paths (part by part: "p" < "p-q.jsonl", so p/... comes first)
    assert [p.relative_to(root).as_posix() for p in got] == [
        "linked-dir/c.jsonl",
        "p/a.jsonl",
        "p/link.jsonl",
        "p/sub/.hidden.jsonl",
        "p-q.jsonl",
    ]
    assert IMPORTER.file_paths(root) == [str(p) for p in got]  # what sync lists, as strings


def test_a_symlinked_project_folder_is_imported_and_synced_under_its_name(tmp_path: Path, db_path: Path) -> None:
    """A project folder linked in from another disk: its 2 messages (output 500 + 250) count, by
    import and by sync, once, under the project its link is named after."""
    elsewhere = tmp_path / "disk2" / "saved"
    elsewhere.mkdir(parents=True)
    lines = [_usage_line("m1", 10, 500, "2026-11-20T10:00:00Z"), _usage_line("m2", 10, 250, "2026-11-20T10:05:00Z")]
    (elsewhere / "s1.jsonl").write_bytes(b"".join(x + b"\n" for x in lines))
    projects = tmp_path / "home" / ".claude" / "projects"
    projects.mkdir(parents=True)
    (projects / "-home-dev-src-linked").symlink_to(elsewhere)
    run("import", str(projects), "--format", "claude-code", "--db", str(db_path))
    assert _q(db_path, "SELECT project, sum(output_tokens)::BIGINT, count(*) FROM events GROUP BY 1") == [
        ("-home-dev-src-linked", 750, 2)
    ]
    synced = tmp_path / "synced.duckdb"
    run("source", "add", str(projects), "--format", "claude-code", "--db", str(synced))
    run("sync", "--db", str(synced))
    run("sync", "--db", str(synced))  # nothing new: nothing added
    assert _q(synced, "SELECT project, sum(output_tokens)::BIGINT, count(*) FROM events GROUP BY 1") == [
        ("-home-dev-src-linked", 750, 2)
    ]
    one = tmp_path / "one.duckdb"  # the file alone, named through the link, by the reader too
    run("import", str(projects / "-home-dev-src-linked" / "s1.jsonl"), "--format", "claude-code", "--db", str(one))
    assert _q(one, "SELECT DISTINCT project FROM events") == [("-home-dev-src-linked",)]
    read = IMPORTER.read(projects / "-home-dev-src-linked" / "s1.jsonl")
    assert {r.fields.get("project") for r in read if not r.problem} == {"-home-dev-src-linked"}


def test_resolve_stat_is_resolve_and_stat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from usagectl.importers._walk import resolve_stat as _resolve_stat

    real_dir = tmp_path / "real"
    real_dir.mkdir()
    (real_dir / "a.jsonl").write_text("{}\n")
    (tmp_path / "alias").symlink_to(real_dir)
    (real_dir / "l.jsonl").symlink_to(real_dir / "a.jsonl")
    cache: dict[str, str] = {}
    for p in (tmp_path / "alias" / "a.jsonl", tmp_path / "alias" / "l.jsonl", real_dir / "a.jsonl"):
        real, st = _resolve_stat(str(p), cache)
        assert real == str(p.resolve()) == str(real_dir / "a.jsonl")
        assert (st.st_size, st.st_mtime_ns) == (p.stat().st_size, p.stat().st_mtime_ns)
    with pytest.raises(OSError):
        _resolve_stat(str(tmp_path / "missing.jsonl"), cache)
    # folders deeper below a symlinked folder, a symlinked folder inside the tree, a relative
    # path and a ".." component: each file's real path is what Path.resolve() says
    deep = real_dir / "p" / "q"
    deep.mkdir(parents=True)
    (deep / "b.jsonl").write_text("{}\n")
    (real_dir / "p" / "hop").symlink_to(tmp_path / "real")
    files = [
        tmp_path / "alias" / "p" / "q" / "b.jsonl",
        tmp_path / "alias" / "p" / "hop" / "p" / "q" / "b.jsonl",
        tmp_path / "alias" / "p" / ".." / "a.jsonl",
        real_dir / "p" / "hop" / "a.jsonl",
    ]
    for p in files:
        assert _resolve_stat(str(p), cache)[0] == str(p.resolve()), p
    monkeypatch.chdir(tmp_path / "alias" / "p")
    for rel in ("q/b.jsonl", "../a.jsonl", "hop/l.jsonl"):
        assert _resolve_stat(rel, cache)[0] == str(Path(rel).resolve()), rel


def test_scan_memory_limit_is_a_quarter_more_than_the_imports(tmp_path: Path) -> None:
    from usagectl.store.memory import set_memory_limit
    from usagectl.store.stagers.claude_code import SCAN_MEMORY_FACTOR, _scan, _scan_memory_limit

    assert SCAN_MEMORY_FACTOR == 1.25
    # by hand: 762.9 MiB = 762.9 * 1,048,576 = 799,958,630.4, whole bytes 799,958,630; * 1.25 = 999,948,287.5
    assert _scan_memory_limit("762.9 MiB") == "999948287B"
    assert _scan_memory_limit("1.5 GiB") == f"{int(1.5 * 2**30 * 1.25)}B"
    assert _scan_memory_limit("512 bytes") == "640B"
    assert _scan_memory_limit("-1") is None  # no limit: left alone
    # the scan queries run under the raised limit; the import's limit is back afterwards
    assert _scan_memory_limit("800mb") == "1000000000B"
    f = tmp_path / "a.jsonl"
    f.write_text('{"a": 1}\n{"a": 2}\n')
    con = duckdb.connect()
    select = "SELECT current_setting('memory_limit') AS m, $offset::BIGINT AS o FROM read_ndjson_objects($files)"

    def limit() -> str:
        return str(con.execute("SELECT current_setting('memory_limit')").fetchone()[0])  # type: ignore[index]

    con.execute("SET memory_limit = '700MB'")  # not an import's limit (no set_memory_limit): left alone
    tables = _scan(con, select, [str(f)])
    assert {r[0] for t in tables for r in con.execute(f"SELECT m FROM {t}").fetchall()} == {limit()}
    set_memory_limit(con, "800MB")
    before = limit()
    tables = _scan(con, select, [str(f)])
    seen = {r[0] for t in tables for r in con.execute(f"SELECT m FROM {t}").fetchall()}
    assert seen == {"953.6 MiB"}  # 1,000,000,000 bytes: DuckDB's spelling of 1.25 x 800 MB
    assert limit() == before == "762.9 MiB"  # restored exactly, not from DuckDB's rounded text
    for _ in range(3):
        _scan(con, select, [str(f)])
    assert limit() == before
    with pytest.raises(duckdb.Error):  # and after a failing scan too
        _scan(con, select.replace("$files", "[$files[1], 'missing.jsonl']"), [str(f)])
    assert limit() == before


def test_scan_ranges_split_the_bytes_evenly(tmp_path: Path) -> None:
    from usagectl.store.stagers.claude_code import _split

    paths = []
    for i, size in enumerate([10, 10, 10, 30, 40]):  # 100 bytes
        p = tmp_path / f"{i}.jsonl"
        p.write_bytes(b"x" * size)
        paths.append(str(p))
    # by hand: two ranges, cut where the running total first reaches 50 (10+10+10+30 = 60)
    assert _split(paths, 2) == [(0, 4), (4, 5)]
    assert _split(paths, 1) == [(0, 5)]
    # three: totals 10, 20, 30, 60, 100 -> cuts at >= 33.3 (after 60) and >= 66.7 (after 100,
    # which is the end, so the last range holds the rest)
    assert _split(paths, 3) == [(0, 4), (4, 5)]
    assert _split(paths[:1], 2) == [(0, 1)]
    # an unreadable file counts 0 bytes (the scan reports it); the cut would fall at the end
    assert _split([str(tmp_path / "missing.jsonl"), *paths[:1]], 2) == [(0, 2)]
    # sizes the caller already has are used as given (here: the reverse of the files' own)
    assert _split(paths, 2, [40, 30, 10, 10, 10]) == [(0, 2), (2, 5)]
    assert _split(paths, 2, [1, 2]) == [(0, 4), (4, 5)]  # not one per path: the files' own


def test_extra_holds_the_fields_present(tmp_path: Path) -> None:
    """``extra`` keeps requestId, uuid, version, gitBranch, isSidechain, cwd and usage.speed
    when the line has them, and no key for one it lacks (not a null); the usual line (all six,
    no speed) and the rest are built two ways in SQL, and both agree with the Python reader."""
    root = tmp_path / "projects" / "p"
    root.mkdir(parents=True)
    full = {"requestId": "r1", "uuid": "u1", "version": "2.0.31", "gitBranch": "main", "isSidechain": False,
            "cwd": "/home/a/src/x"}  # fmt: skip

    def line(mid: str, top: dict, usage_extra: dict | None = None) -> str:  # type: ignore[type-arg]
        usage = {"input_tokens": 1, "output_tokens": 2, **(usage_extra or {})}
        return json.dumps({"type": "assistant", "timestamp": "2025-11-03T10:00:00Z", "sessionId": "s",
                           "message": {"id": mid, "model": "claude-sonnet-4-5", "usage": usage}, **top})  # fmt: skip

    cases: dict[str, tuple[dict, dict | None, dict]] = {  # type: ignore[type-arg]
        "m1": (full, None, full),
        "m2": (full, {"speed": "fast"}, {**full, "speed": "fast"}),
        "m3": ({**full, "isSidechain": True}, None, {**full, "isSidechain": True}),
        "m4": ({"uuid": "u4", "cwd": 'C:\\dev\\"q"'}, None, {"uuid": "u4", "cwd": 'C:\\dev\\"q"'}),
        "m5": ({k: v for k, v in full.items() if k != "gitBranch"}, None, {k: v for k, v in full.items() if k != "gitBranch"}),
        "m6": ({**full, "gitBranch": None}, None, {k: v for k, v in full.items() if k != "gitBranch"}),
        "m7": ({}, {"speed": "standard"}, {"speed": "standard"}),
    }  # fmt: skip
    f = root / "a.jsonl"
    f.write_text("".join(line(mid, top, u) + "\n" for mid, (top, u, _) in cases.items()))
    db = tmp_path / "u.duckdb"
    _import(db, tmp_path / "projects")
    stored = {mid: json.loads(extra) for mid, extra in _q(db, "SELECT message_id, extra FROM events")}
    assert stored == {mid: want for mid, (_, _, want) in cases.items()}
    python = {r.fields["message_id"]: r.fields["extra"] for r in IMPORTER.read(f)}
    assert python == stored


def _line(
    ts: str, *, mid: str | None, req: str | None, inp: int, out: int, read: int = 1000, session: str = "s1"
) -> str:
    obj: dict[str, Any] = {
        "type": "assistant", "timestamp": ts, "sessionId": session, "uuid": f"u-{ts}",
        "message": {"id": mid, "model": "claude-sonnet-4-5", "role": "assistant",
                    "usage": {"input_tokens": inp, "cache_read_input_tokens": read, "output_tokens": out}},
    }  # fmt: skip
    if req is not None:
        obj["requestId"] = req
    return json.dumps(obj)


def test_messages_without_an_id_count_once(db_path: Path, tmp_path: Path) -> None:
    """``"id": null`` (gateways): the three content-block lines of one response, each with its own
    timestamp, are one message, keyed by their requestId; without a requestId, a partial streaming
    line (output 5) and the final one (output 90) of the same request are one message too, the
    final kept (max usage). Two requests of the session with different input stay two.
    By hand: req_N1 6 + 1,000 read / 90 out; the gateway request 6 + 1,000 / 90 (not 95); the
    second gateway request 7 + 2,000 / 40: 3 events, input 19, read 4,000, output 220."""
    path = tmp_path / "projects" / "-home-alice-src-webapp" / "s1.jsonl"
    path.parent.mkdir(parents=True)
    lines = [
        _line("2025-11-03T10:00:00.100Z", mid=None, req="req_N1", inp=6, out=90),
        _line("2025-11-03T10:00:01.200Z", mid=None, req="req_N1", inp=6, out=90),
        _line("2025-11-03T10:00:02.300Z", mid=None, req="req_N1", inp=6, out=90),
        _line("2025-11-03T11:00:00.000Z", mid=None, req=None, inp=6, out=5),
        _line("2025-11-03T11:00:03.000Z", mid=None, req=None, inp=6, out=90),
        _line("2025-11-03T12:00:00.000Z", mid=None, req=None, inp=7, out=40, read=2000),
    ]
    path.write_text("\n".join(lines) + "\n")
    out = _import(db_path, path.parent.parent)
    assert (out["records"], out["imported"], out["duplicates"]) == (6, 3, 3)
    assert _q(db_path, "SELECT sum(input_tokens), sum(cache_read_tokens), sum(output_tokens) FROM events") == [
        (19, 4000, 220)
    ]
    python = {}
    for rec in IMPORTER.read(path):  # the Python reader keys the lines as the stager does
        f = rec.fields
        python[f["event_id"]] = max(python.get(f["event_id"], 0), f["output_tokens"])
    assert python == dict(_q(db_path, "SELECT event_id, output_tokens FROM events"))
    assert "claude-code:r:req_N1" in python


def test_ids_with_a_colon_never_make_two_requests_one_key(db_path: Path, tmp_path: Path) -> None:
    """QA (fuzz): the key joined message id and request id with ":" as they were, so message
    ``msg_A:x`` + request ``req_B`` and message ``msg_A`` + request ``x:req_B`` were one key (one
    of them counted as a duplicate), and so were message ``r`` + request ``x`` and a message
    without an id of request ``x`` (``r:x``). Four requests, four events: input 1 + 2 + 3 + 4 =
    10, output 10 + 20 + 30 + 40 = 100. The usual ids keep their keys (``claude-code:msg_1:req_1``)."""
    path = tmp_path / "projects" / "-p" / "s1.jsonl"
    path.parent.mkdir(parents=True)
    lines = [
        _line("2025-11-03T10:00:00.000Z", mid="msg_A:x", req="req_B", inp=1, out=10),
        _line("2025-11-03T10:01:00.000Z", mid="msg_A", req="x:req_B", inp=2, out=20),
        _line("2025-11-03T10:02:00.000Z", mid="r", req="x", inp=3, out=30),
        _line("2025-11-03T10:03:00.000Z", mid=None, req="x", inp=4, out=40),
        _line("2025-11-03T10:04:00.000Z", mid="msg_1", req="req_1", inp=0, out=0),
    ]
    path.write_text("\n".join(lines) + "\n")
    out = _import(db_path, path.parent.parent)
    assert (out["records"], out["imported"], out["duplicates"]) == (5, 5, 0)
    assert _q(db_path, "SELECT sum(input_tokens), sum(output_tokens) FROM events") == [(10, 100)]
    stored = {eid for (eid,) in _q(db_path, "SELECT event_id FROM events")}
    assert "claude-code:msg_1:req_1" in stored
    assert {r.fields["event_id"] for r in IMPORTER.read(path)} == stored  # the Python reader keys them alike


def test_migration_11_gives_stored_keys_of_such_ids_their_new_form(db_path: Path, tmp_path: Path) -> None:
    """QA (regression): events of such ids stored by the code before kept their old keys, so a
    copied or resumed session brought them back under the new keys and counted them twice.
    Migration 11 rewrites the old keys (the join of the stored message_id and extra.requestId);
    the usual ids are untouched, and the copy then adds nothing."""
    import duckdb

    path = tmp_path / "projects" / "-p" / "s1.jsonl"
    path.parent.mkdir(parents=True)
    lines = [
        _line("2025-11-03T10:00:00.000Z", mid="msg_gw:abc", req="req_02", inp=1, out=10),
        _line("2025-11-03T10:01:00.000Z", mid="msg_B", req="req:03%x", inp=2, out=20),
        _line("2025-11-03T10:02:00.000Z", mid="r", req="x", inp=3, out=30),
        _line("2025-11-03T10:03:00.000Z", mid=None, req="y:z", inp=4, out=40),
        _line("2025-11-03T10:04:00.000Z", mid="msg_1", req="req_1", inp=5, out=50),
    ]
    path.write_text("\n".join(lines) + "\n")
    _import(db_path, path.parent.parent)
    new_keys = sorted(k for (k,) in _q(db_path, "SELECT event_id FROM events"))
    con = duckdb.connect(str(db_path))
    try:  # the keys as the code before stored them, and the database at schema 10
        con.execute("UPDATE events SET event_id = CASE WHEN message_id IS NOT NULL THEN 'claude-code:' || message_id "
                    "|| ':' || coalesce(json_extract_string(extra, '$.requestId'), '') "
                    "ELSE 'claude-code:r:' || json_extract_string(extra, '$.requestId') END")  # fmt: skip
        old_keys = sorted(k for (k,) in con.execute("SELECT event_id FROM events").fetchall())
        con.execute("DELETE FROM schema_migrations WHERE version >= 11")
    finally:
        con.close()
    assert old_keys == sorted([
        "claude-code:msg_gw:abc:req_02", "claude-code:msg_B:req:03%x", "claude-code:r:x", "claude-code:r:y:z",
        "claude-code:msg_1:req_1",
    ])  # fmt: skip
    run_json("db", "status", "--db", str(db_path))  # any command migrates the database
    assert sorted(k for (k,) in _q(db_path, "SELECT event_id FROM events")) == new_keys
    assert sorted(new_keys) == sorted([
        "claude-code:msg_gw%3Aabc:req_02", "claude-code:msg_B:req%3A03%25x", "claude-code:%r:x",
        "claude-code:r:y%3Az", "claude-code:msg_1:req_1",
    ])  # fmt: skip
    copy = tmp_path / "projects" / "-p" / "s2.jsonl"  # a resumed session repeating the same lines
    copy.write_text(path.read_text())
    assert _import(db_path, path.parent.parent)["imported"] == 0


def test_a_file_whose_name_is_not_utf8_is_named_and_the_others_are_imported(tmp_path: Path, db_path: Path) -> None:
    """A folder named in Latin-1 (``caf\\xe9``): that file cannot be imported (DuckDB and the
    database need UTF-8 text) and is named, escaped; the tree's other file is imported, by
    ``import`` and by ``sync`` alike, with exit 4 as for an unreadable file."""
    import os
    import subprocess
    import sys

    root = tmp_path / "projects"
    good = root / "-home-ok" / "s1.jsonl"
    good.parent.mkdir(parents=True)
    good.write_text(_line("2025-11-03T10:00:00Z", mid="m1", req="r1", inp=5, out=7) + "\n")
    bad_dir = os.fsencode(root) + b"/-home-caf\xe9"
    os.mkdir(bad_dir)
    with open(bad_dir + b"/s.jsonl", "w") as fh:
        fh.write(_line("2025-11-03T11:00:00Z", mid="m2", req="r2", inp=50, out=70) + "\n")
    shown = f"{root}/-home-caf\\xe9/s.jsonl"
    for args in (
        ["import", str(root), "--format", "claude-code", "--db", str(db_path)],
        ["sync", "--db", str(tmp_path / "synced.duckdb")],
    ):
        if args[0] == "sync":
            run("source", "add", str(root), "--db", str(tmp_path / "synced.duckdb"))
        res = subprocess.run([sys.executable, "-m", "usagectl", *args], capture_output=True, text=True)
        assert res.returncode == 4, res.stderr
        assert f"{shown}: cannot be imported: its name is not UTF-8" in res.stderr
        assert "Traceback" not in res.stderr and "unexpected error" not in res.stderr
        db = Path(args[-1])
        assert _q(db, "SELECT event_id, input_tokens FROM events") == [("claude-code:m1:r1", 5)]


def test_an_empty_transcript_gets_no_format_warning(tmp_path: Path, db_path: Path) -> None:
    """A session file Claude Code has just created is empty: it holds no records, and nothing about
    it suggests another format (it said "does not look like the claude-code format")."""
    empty = tmp_path / "projects" / "p" / "s.jsonl"
    empty.parent.mkdir(parents=True)
    empty.write_text("")
    out = _import(db_path, empty)
    assert out["records"] == 0 and out["per_file"][0]["warnings"] == []


def test_copies_that_lose_to_another_file_of_the_import_count_as_that_files(db_path: Path, tmp_path: Path) -> None:
    """One project holds a.jsonl (message X) and b.jsonl (X three times, Y twice). Imported in one
    transaction or file by file, b's 4 dropped copies are the same: 3 within the file (2 extra X,
    1 extra Y) and 1 copy already there, in a (QA: "Dup in file" said 4, "Dup stored" 0, in one
    transaction only)."""
    project = tmp_path / "projects" / "-home-alice-src-x"
    project.mkdir(parents=True)
    x, y = _usage_line("msg_X", 100, 10) + b"\n", _usage_line("msg_Y", 50, 5) + b"\n"
    (project / "a.jsonl").write_bytes(x)
    (project / "b.jsonl").write_bytes(x * 3 + y * 2)
    one_by_one = tmp_path / "files.duckdb"
    for name in ("a.jsonl", "b.jsonl"):
        _import(one_by_one, project / name)
    _import(db_path, tmp_path / "projects")
    for db in (db_path, one_by_one):
        rows = {r["file"]: r for r in run_json("report", "duplicates", "--db", str(db))["rows"]}
        assert [rows["b.jsonl"][k] for k in ("records", "imported", "dup_in_file", "dup_stored")] == [5, 1, 3, 1], db
        assert [rows["a.jsonl"][k] for k in ("records", "imported", "dup_in_file", "dup_stored")] == [1, 1, 0, 0], db


def test_a_cache_split_that_does_not_add_up_is_not_used(db_path: Path, tmp_path: Path) -> None:
    """``usage.cache_creation`` that does not add up to a non-zero ``cache_creation_input_tokens``
    (some gateways write it empty or partial) is not used: all of the total at 5m, as without a
    split, with a note in ``extra`` (as the llm importer does). Before, the split's counts were
    stored and the rest of the writes was lost without a word (QA). By hand, (total, split) ->
    (5m, 1h): m1 (500, {}) -> (500, -); m2 (300, 5m 100) -> (300, -); m3 (400, 0 and 0) ->
    (400, -); m4 (600, 200 + 400) -> (200, 400); m5 (0, 0 and 0) -> (0, 0); m6 (no total, 1h 50) ->
    (-, 50); m7 (0, 5m 70) -> (70, -): 5m 1,470, 1h 450, the note on m1, m2 and m3 only."""
    cases = [
        ("m1", 500, {}),
        ("m2", 300, {"ephemeral_5m_input_tokens": 100}),
        ("m3", 400, {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0}),
        ("m4", 600, {"ephemeral_5m_input_tokens": 200, "ephemeral_1h_input_tokens": 400}),
        ("m5", 0, {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0}),
        ("m6", None, {"ephemeral_1h_input_tokens": 50}),
        ("m7", 0, {"ephemeral_5m_input_tokens": 70}),
    ]
    lines = []
    for i, (mid, total, split) in enumerate(cases):
        usage: dict[str, Any] = {"input_tokens": 10, "output_tokens": 1, "cache_creation": split}
        if total is not None:
            usage["cache_creation_input_tokens"] = total
        lines.append(
            {"type": "assistant", "timestamp": f"2025-11-03T10:0{i}:00Z", "sessionId": "s", "requestId": f"r{i}",
             "message": {"id": mid, "model": "claude-sonnet-4-5", "usage": usage}}
        )  # fmt: skip
    folder = tmp_path / "projects" / "-home-alice-app"
    folder.mkdir(parents=True)
    path = write_jsonl(folder / "s.jsonl", lines)
    out = _import(db_path, tmp_path / "projects")
    assert (out["imported"], out["rejected"]) == (7, 0)
    rows = _q(
        db_path,
        "SELECT message_id, cache_write_5m_tokens, cache_write_1h_tokens, json_extract_string(extra, '$.cache_write_split') "
        "FROM events ORDER BY message_id",
    )
    by_id = {mid: (w5, w1, note is not None) for mid, w5, w1, note in rows}
    assert by_id == {
        "m1": (500, 0, True), "m2": (300, 0, True), "m3": (400, 0, True), "m4": (200, 400, False),
        "m5": (0, 0, False), "m6": (0, 50, False), "m7": (70, 0, False),
    }  # fmt: skip
    assert _q(db_path, "SELECT sum(cache_write_5m_tokens), sum(cache_write_1h_tokens) FROM events") == [(1470, 450)]
    # the Python reader (one file read alone, the sync's tails) stores the same
    python = {r.fields["message_id"]: r for r in IMPORTER.read(path)}
    for mid, (w5, w1, noted) in by_id.items():
        f = python[mid].fields
        assert ((f["cache_write_5m_tokens"] or 0), (f["cache_write_1h_tokens"] or 0)) == (w5, w1)
        assert ("cache_write_split" in f["extra"]) is noted


def _call_line(mid: str | None, req: str | None, usage: dict[str, Any], *, side: bool = False, n: int = 0) -> str:
    return json.dumps({
        "type": "assistant", "sessionId": "s1", "isSidechain": side, "requestId": req, "uuid": f"u{n}",
        "timestamp": f"2025-11-03T10:00:{n:02d}.000Z",
        "message": {"id": mid, "model": "claude-sonnet-4-5-20250929", "usage": usage},
    })  # fmt: skip


def test_a_sidechain_copy_of_a_main_line_never_lets_its_replay_count(db_path: Path, tmp_path: Path) -> None:
    """A sub-agent file holding an exact copy of a main-chain line (same message id and request
    id, equal usage) and a replay of it (new request id): the main-chain copy is the one kept,
    so the replay is dropped in every order: one call, 10 in + 90 out + 1000 cache read (QA:
    two, when the sidechain copy won the tie)."""
    usage = {"input_tokens": 10, "output_tokens": 90, "cache_read_input_tokens": 1000,
             "cache_creation_input_tokens": 0}  # fmt: skip
    root = tmp_path / "projects"
    main, side = root / "-p" / "s.jsonl", root / "-p" / "s" / "subagents" / "agent-1.jsonl"
    side.parent.mkdir(parents=True)
    main.write_text(_call_line("msg_X", "req_A", usage) + "\n")
    side.write_text(_call_line("msg_X", "req_A", usage, side=True, n=1) + "\n"
                    + _call_line("msg_X", "req_B", usage, side=True, n=2) + "\n")  # fmt: skip
    for i, order in enumerate(([root], [side, main], [main, side])):
        db = tmp_path / f"o{i}.duckdb"
        for path in order:
            _import(db, path)
        got = _q(db, "SELECT event_id, output_tokens, cache_read_tokens, json_extract_string(extra, '$.isSidechain') "
                     "FROM events")  # fmt: skip
        assert got == [("claude-code:msg_X:req_A", 90, 1000, "false")], order


def test_messages_without_ids_whose_counts_differ_by_which_is_missing_are_two(db_path: Path, tmp_path: Path) -> None:
    """Gateway lines (no message id, no request id) are keyed by session, model and input counts.
    One with 2000 cache read and no cache_creation field, one with 2000 cache writes and no
    cache_read field: two calls (they hashed alike when absent fields were simply skipped).
    Sonnet 4.5: 100 x 3 + 2000 x 0.30 + 50 x 15 = $0.00165 and 100 x 3 + 2000 x 3.75 + 60 x 15
    = $0.0087; $0.01035 in all. The folder (SQL) and a single file (Python) agree on the ids."""
    a = _call_line(None, None, {"input_tokens": 100, "cache_read_input_tokens": 2000, "output_tokens": 50})
    b = _call_line(None, None, {"input_tokens": 100, "cache_creation_input_tokens": 2000, "output_tokens": 60}, n=1)
    path = tmp_path / "projects" / "-p" / "s.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text(a + "\n" + b + "\n")
    assert _import(db_path, path.parent.parent)["imported"] == 2
    assert str(_by_model(db_path)["claude-sonnet-4-5"]["cost_usd"]) == "0.01035"
    parsed = {claude_code.parse_line(x, None)[0]["event_id"] for x in (a, b)}  # type: ignore[index]
    assert parsed == {r[0] for r in _q(db_path, "SELECT event_id FROM events")}
    # the usual shapes keep the keys they had: all counts there, or all but the 5m/1h split
    usual = _call_line(None, None, {"input_tokens": 1, "cache_read_input_tokens": 2, "cache_creation_input_tokens": 3,
                                  "output_tokens": 4})  # fmt: skip
    import hashlib

    old = hashlib.md5("\x1f".join(["s1", "claude-sonnet-4-5-20250929", "1", "2", "3"]).encode()).hexdigest()
    assert claude_code.parse_line(usual, None)[0]["event_id"] == f"claude-code:h:{old}"  # type: ignore[index]


def test_auto_finds_transcripts_of_untyped_lines_or_opening_with_system_lines(tmp_path: Path, db_path: Path) -> None:
    """``--format auto`` on a folder: a transcript whose usage line has no ``type`` (counted by
    the claude-code reader) and one whose first 64 KiB are system lines are Claude Code, not
    files "that hold no usage events": 2 calls, as with ``--format claude-code``."""
    usage = {"input_tokens": 3, "output_tokens": 8}
    untyped = json.loads(_call_line("m1", "r1", usage))
    del untyped["type"]
    system = json.dumps({"parentUuid": None, "isSidechain": False, "type": "system", "subtype": "info",
                         "content": "y" * 200, "sessionId": "s1", "timestamp": "2025-11-03T09:00:00Z"})  # fmt: skip
    folder = tmp_path / "projects" / "-p"
    folder.mkdir(parents=True)
    (folder / "untyped.jsonl").write_text(json.dumps(untyped) + "\n")
    (folder / "system.jsonl").write_text("\n".join([system] * 400 + [_call_line("m2", "r2", usage, n=1)]) + "\n")
    assert (folder / "system.jsonl").stat().st_size > 65536
    doc = _import(db_path, folder.parent, fmt="auto")
    assert doc["imported"] == 2 and {f["format"] for f in doc["per_file"]} == {"claude-code"}


@pytest.mark.parametrize("kind", ["jsonl", "csv"])
@pytest.mark.parametrize("stored", ["partial", "final"])
def test_an_export_holding_the_other_copy_of_a_message_keeps_the_larger(
    db_path: Path, tmp_path: Path, kind: str, stored: str
) -> None:
    """One message, a partial streaming line (10 input, 5 output) and its final line (10, 300).
    The database holds one copy from its transcript; another database holding the other copy
    exports its events, and the export is imported: its rows keep their source (claude-code), so
    the max-usage rule of Claude Code decides as between transcripts: the final copy stays in
    either order (QA: the partial copy stored first kept the export's final one out as a
    duplicate, output 5). 10 × $3/M + 300 × $15/M = $0.00003 + $0.0045 = $0.00453."""
    lines = {"partial": _usage_line("msg_1", 10, 5), "final": _usage_line("msg_1", 10, 300)}
    other = "final" if stored == "partial" else "partial"
    for name, db in ((stored, db_path), (other, tmp_path / "other.duckdb")):
        log = tmp_path / name / "p" / "s.jsonl"
        log.parent.mkdir(parents=True)
        log.write_bytes(lines[name] + b"\n")
        _import(db, log)
    export = tmp_path / f"other.{kind}"
    run("export", f"--{kind}", "--out", str(export), "--db", str(tmp_path / "other.duckdb"))
    out = _import(db_path, export, fmt="auto")
    assert (out["imported"], out["duplicates"], out["replaced"]) == ((0, 0, 1) if stored == "partial" else (0, 1, 0))
    son = _by_model(db_path)["claude-sonnet-4-5"]
    assert (son["requests"], son["input_tokens"], son["output_tokens"]) == (1, 10, 300)
    assert son["cost_usd"] == pytest.approx(0.00453, abs=1e-9)
    # the export imported again, or an export of this database imported into it, adds nothing
    own = tmp_path / f"own.{kind}"
    run("export", f"--{kind}", "--out", str(own), "--db", str(db_path))
    assert _import(db_path, own, fmt="auto")["imported"] == 0
    assert _q(db_path, "SELECT count(*), sum(output_tokens) FROM events") == [(1, 300)]


def test_migration_13_gives_keys_of_messages_without_an_id_stored_before_their_new_form(
    db_path: Path, tmp_path: Path
) -> None:
    """QA: messages without an id (gateways) stored by older versions kept their old keys, so the
    transcript read again counted them twice. Up to schema 6 the key hashed the line's timestamp
    and output too (and a message with a requestId was keyed so, now ``r:<requestId>``); at schema
    7-10 a line without some counts was hashed without the marker of the parts present. Stored
    here as they were: 1,000 input (every count; schema 6), 2,000 (requestId req_2, cache
    creation 300 split 100/200; schema 6), 3,000 (no cache fields; schema 10), and two lines of one
    streaming message of 4,000 input (output 5, then 400; schema 6 stored both).

    The transcript then grew by one message (5 input, 5 output) and was imported under the new
    keys: 10 events, 2 x (1,000 + 2,000 + 3,000) + 3 x 4,000 + 5 = 24,005 input. Migration 13
    re-keys the stored rows and merges the copies as an import does (the larger usage stays: of
    the streaming message the 400 output): 5 events, 1,000 + 2,000 + 3,000 + 4,000 + 5 = 10,005
    input, 100 + 200 + 300 + 400 + 5 = 1,005 output; the second batch's 4 copies count as
    duplicates (imported 5 -> 1). The transcript once more adds nothing."""
    import hashlib

    def usage(inp: int, out: int, **more: Any) -> dict[str, Any]:
        return {"input_tokens": inp, "output_tokens": out, **more}

    full = {"cache_read_input_tokens": 0, "cache_creation_input_tokens": 0}
    split = {"cache_read_input_tokens": 0, "cache_creation_input_tokens": 300,
             "cache_creation": {"ephemeral_5m_input_tokens": 100, "ephemeral_1h_input_tokens": 200}}  # fmt: skip
    lines = [
        _call_line(None, None, usage(1000, 100, **full), n=0),
        _call_line(None, "req_2", usage(2000, 200, **split), n=1),
        _call_line(None, None, usage(3000, 300), n=2),
        _call_line(None, None, usage(4000, 5, **full), n=3),
        _call_line(None, None, usage(4000, 400, **full), n=4),
    ]
    path = tmp_path / "projects" / "-p" / "s.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("\n".join(lines) + "\n")
    _import(db_path, path.parent.parent)  # 4 events: the streaming message once

    def md5(*parts: str) -> str:
        return "claude-code:h:" + hashlib.md5("\x1f".join(parts).encode()).hexdigest()

    model = "claude-sonnet-4-5-20250929"
    ts = "2025-11-03T10:00:0{}.000Z".format
    old = {  # (input, output) -> the key as the old versions stored it
        (1000, 100): md5(ts(0), "s1", model, "1000", "100", "0", "0"),  # ts, session, model, in, out, read, creation
        (2000, 200): md5(ts(1), "s1", model, "2000", "200", "0", "300", "100", "200"),  # … 5m, 1h
        (3000, 300): md5("s1", model, "3000"),  # schema 10: session, model, the counts present
        (4000, 5): md5(ts(3), "s1", model, "4000", "5", "0", "0"),
        (4000, 400): md5(ts(4), "s1", model, "4000", "400", "0", "0"),
    }
    con = duckdb.connect(str(db_path))
    try:  # the streaming message's first line as schema 6 stored it too, and the old keys
        con.execute(
            "INSERT INTO events SELECT * REPLACE (ts - INTERVAL 1 SECOND AS ts, 5 AS output_tokens, "
            "json_object('uuid', 'u3') AS extra) FROM events WHERE input_tokens = 4000"
        )
        for (inp, out), key in old.items():
            con.execute("UPDATE events SET event_id = ? WHERE input_tokens = ? AND output_tokens = ?", [key, inp, out])
    finally:
        con.close()
    with path.open("a") as f:
        f.write(_call_line("msg_5", "req_5", usage(5, 5, **full), n=5) + "\n")
    assert _import(db_path, path.parent.parent)["imported"] == 5  # under the new keys: counted twice
    assert _q(db_path, "SELECT count(*), sum(input_tokens) FROM events") == [(10, 24_005)]
    migrate_again_from(db_path, 13)
    assert _q(db_path, "SELECT count(*), sum(input_tokens), sum(output_tokens) FROM events") == [(5, 10_005, 1_005)]
    assert _q(db_path, "SELECT imported, duplicates FROM import_batches ORDER BY batch_id")[1] == (1, 5)
    keys = dict(_q(db_path, "SELECT input_tokens, event_id FROM events"))
    assert keys[2000] == "claude-code:r:req_2"
    assert {keys[n] for n in (1000, 3000, 4000)} <= {r.fields["event_id"] for r in IMPORTER.read(path)}
    copy = tmp_path / "projects" / "-p" / "s2.jsonl"  # a resumed session repeating the same lines
    copy.write_text(path.read_text())
    assert _import(db_path, path.parent.parent)["imported"] == 0


class _Cursor:
    """A stand-in for a scan range's cursor: the progress DuckDB reports for its query."""

    def __init__(self, pct: float) -> None:
        self.pct = pct

    def query_progress(self) -> float:
        return self.pct


def test_scan_progress_counts_the_files_read_in_each_range() -> None:
    """The scan's progress, from each range's query (worked by hand): ranges of files 0-10 and
    10-30. Range 0 at 50 % of its chunk (10 files): 5; range 1 not started (DuckDB says -1): 0;
    so 5 files. Range 1 at 25 % of its 20: 5 more, 10. Range 0 done: its 10 + 5 = 15. A query
    that reports less than before (DuckDB's estimate can go back) never takes the count back."""
    from usagectl.store.stagers.claude_code import _ScanProgress

    watch = _ScanProgress([(0, 10), (10, 30)])
    first, second = _Cursor(50.0), _Cursor(-1.0)
    watch._cursors.update({0: first, 1: second})  # as ``follow`` keeps them (without its SETs)
    watch.chunk(0, 0, 10)
    watch.chunk(1, 10, 30)
    seen: list[int] = []
    watch.report(seen.append)
    second.pct = 25.0
    watch.report(seen.append)
    watch.done(0)
    watch.report(seen.append)
    second.pct = 10.0  # back from 25 %: 10 + 2 = 12 < 15, nothing reported
    watch.report(seen.append)
    watch.done(1)
    watch.report(seen.append)
    assert seen == [5, 10, 15, 30]


def _recorder(seen: list[tuple[str, int, int]]) -> Any:
    """A progress callback that keeps what it is told."""
    return lambda name, done, total: seen.append((name, done, total))


def test_import_and_first_sync_show_progress_through_a_claude_code_tree(tmp_path: Path, db_path: Path) -> None:
    """QA: a 2 GB Claude Code tree stood at "0/12262" for its whole import (DuckDB reads every
    file in one scan). The scan's progress now moves the bar; once every file is read it stands
    at the last file (2 of 3 here: file 2 reached, 0-based, as a file-by-file reader says it)
    and says that the rows are being checked and stored, then the import says done (3 of 3).
    The same through a first sync of the tree as a registered source (which reads the file
    whose last line has no newline yet after the other two, on its own)."""
    from usagectl.services.context import make_context
    from usagectl.services.imports import STORING, import_paths
    from usagectl.services.sync import sync

    tree = tmp_path / "projects"
    shutil.copytree(DATA, tree)
    files = {p.name for p in tree.rglob("*.jsonl")}
    assert len(files) == 3
    for name in ("import", "sync"):
        seen: list[tuple[str, int, int]] = []
        if name == "import":
            import_paths(make_context(None, db_path), [tree], fmt="claude-code", progress=_recorder(seen))
        else:
            synced = tmp_path / "s.duckdb"
            run("source", "add", str(tree), "--format", "claude-code", "--name", "cc", "--db", str(synced))
            sync(make_context(None, synced), ["cc"], progress=_recorder(seen))
        read = [(Path(n).name, d) for n, d, _t in seen if n.endswith(".jsonl")]
        assert read and {n for n, _ in read} <= files, (name, seen)
        assert [d for _, d in read] == sorted(d for _, d in read) and read[-1][1] == 2, (name, seen)
        assert seen[-1] == ("", 3, 3) and all(t == 3 for _, _, t in seen), (name, seen)
        storing = [step for label, step, _t in seen if label == STORING]
        # the sync reads a file whose last line has no newline yet on its own, after the others
        assert storing == ([2] if name == "import" else [1]), (name, seen)
