"""Codex CLI rollout importer: deltas of cumulative totals, traps of FORMATS.md §4, dedup.

Every expected number is worked by hand in tests/data/codex/EXPECTED.md (arithmetic there).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import query, run, run_json
from usagectl.importers.codex import IMPORTER
from usagectl.models import EVENT_COLUMN_NAMES

DATA = Path(__file__).parent / "data" / "codex" / "home"
A = DATA / "sessions/2025/11/03/rollout-2025-11-03T13-10-02-5f0c2a1e-7b3d-4c8e-9a41-2d6f8e0b1c37.jsonl"
A_COPY = DATA / "archived_sessions/rollout-2025-11-03T13-10-02-5f0c2a1e-7b3d-4c8e-9a41-2d6f8e0b1c37.jsonl"
B = DATA / "archived_sessions/rollout-2025-09-20T07-03-11-3e8f0a52-91c4-4b6d-a0e7-5c2d9f1b8a60.jsonl"
C = DATA / "sessions/2025/11/04/rollout-2025-11-04T01-30-00-9b1d4e77-2c5a-4f0e-8d36-71a0c4e5f912.jsonl"
G = DATA / "sessions/2025/11/04/rollout-2025-11-04T23-40-00-8d2e6b14-0f7a-4c39-9e85-b1a3d7c0f426.jsonl"
E = DATA / "sessions/2026/09/15/rollout-2026-09-15T03-00-00-6a7c1f30-5e2b-4d91-b8a4-0f3e9c7d2b15.jsonl"
SID_A, SID_C = "5f0c2a1e-7b3d-4c8e-9a41-2d6f8e0b1c37", "9b1d4e77-2c5a-4f0e-8d36-71a0c4e5f912"
TOKENS = ("requests", "input_tokens", "cache_read_tokens", "cache_write_5m_tokens", "output_tokens", "reasoning_tokens")


def _import(path: Path, db: Path, fmt: str = "codex") -> Any:
    return run_json("import", str(path), "--format", fmt, "--db", str(db))


def _by_model(db: Path, since: str, until: str) -> dict[str, dict[str, Any]]:
    out = run_json("report", "by", "model", "--since", since, "--until", until, "--tz", "UTC", "--db", str(db))
    return {r["model"]: r for r in out["rows"]}


def _daily(db: Path, since: str, until: str) -> dict[str, dict[str, Any]]:
    out = run_json("report", "daily", "--since", since, "--until", until, "--tz", "UTC", "--db", str(db))
    return {r["date"]: r for r in out["rows"] if r["requests"]}


def _tokens(row: dict[str, Any]) -> tuple[int, ...]:
    return tuple(row[k] for k in TOKENS)


def _cost(row: dict[str, Any]) -> Decimal:
    return Decimal(str(row["cost_usd"]))


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------- the whole tree


def test_directory_import_totals_per_day_and_model(db_path: Path) -> None:
    summary = _import(DATA, db_path)
    # A, B, C, E, G; the archived copy of A (same file name as A under sessions/) is not read
    assert summary["files"] == 5
    # records 6+4 (A and its re-emits at lines 8, 11, 12, 17) + 2 (B) + 2 (C) + 4 (E) + 2 + 7 (G) = 27;
    # 7 rejected in G; A's four re-emitted totals are its duplicates
    assert (summary["records"], summary["imported"], summary["rejected"], summary["duplicates"]) == (27, 16, 7, 4)

    days = _daily(db_path, "2025-09-01", "2025-11-30")
    assert set(days) == {"2025-09-20", "2025-11-03", "2025-11-04", "2025-11-05"}
    # (requests, input, cached, write 5m, output, reasoning), EXPECTED.md "Per UTC day"
    assert _tokens(days["2025-09-20"]) == (2, 6808, 4992, 0, 910, 512)
    assert _tokens(days["2025-11-03"]) == (3, 16056, 20352, 0, 2747, 1728)
    assert _tokens(days["2025-11-04"]) == (5, 11200, 38912, 0, 3628, 2368)
    assert _tokens(days["2025-11-05"]) == (2, 5032, 3968, 0, 520, 256)
    assert _cost(days["2025-09-20"]) == Decimal("0.018234")  # 8510 + 624 + 9100 = 18234e-6
    assert _cost(days["2025-11-03"]) == Decimal("0.047586")  # 38113 + 9473.2 = 47586.2e-6
    assert _cost(days["2025-11-04"]) == Decimal("0.049614")  # 17010.4 + 32604 = 49614.4e-6
    assert _cost(days["2025-11-05"]) == Decimal("0.011986")  # 6290 + 496 + 5200

    nov3 = _by_model(db_path, "2025-11-03", "2025-11-03")
    assert _tokens(nov3["gpt-5"]) == (2, 13324, 8064, 0, 2045, 1280)
    assert _cost(nov3["gpt-5"]) == Decimal("0.038113")  # 13324×1.25 + 8064×0.125 + 2045×10
    assert _tokens(nov3["o4-mini"]) == (1, 2732, 12288, 0, 702, 448)
    assert _cost(nov3["o4-mini"]) == Decimal("0.009473")  # 3005.2 + 3379.2 + 3088.8 = 9473.2e-6
    nov4 = _by_model(db_path, "2025-11-04", "2025-11-04")
    assert _tokens(nov4["o4-mini"]) == (2, 6752, 15360, 0, 1218, 768)
    assert _cost(nov4["o4-mini"]) == Decimal("0.01701")  # 7427.2 + 4224 + 5359.2 = 17010.4e-6
    assert _tokens(nov4["gpt-5"]) == (3, 4448, 23552, 0, 2410, 1600)
    assert _cost(nov4["gpt-5"]) == Decimal("0.032604")  # 5560 + 2944 + 24100

    sep15 = _by_model(db_path, "2026-09-15", "2026-09-15")
    assert _tokens(sep15["gpt-5"]) == (4, 43216, 21760, 1024, 4140, 1184)
    assert _cost(sep15["gpt-5"]) == Decimal("0.09942")  # 54020 + 2720 + 1280 + 41400 = 99420e-6

    everything = run_json(
        "report", "by", "model", "--since", "2025-01-01", "--until", "2026-12-31", "--tz", "UTC", "--db", str(db_path)
    )
    models = {r["model"]: r for r in everything["rows"]}
    assert _tokens(models["gpt-5"]) == (13, 72828, 62336, 1024, 10025, 4832)
    assert _cost(models["gpt-5"]) == Decimal("0.200357")  # 18234 + 38113 + 32604 + 11986 + 99420
    assert _tokens(models["o4-mini"]) == (3, 9484, 27648, 0, 1920, 1216)
    assert _cost(models["o4-mini"]) == Decimal("0.026484")  # 9473.2 + 17010.4 = 26483.6e-6
    assert everything["totals"]["requests"] == 16
    assert _cost(everything["totals"]) == Decimal("0.226841")  # 200357 + 26483.6 = 226840.6e-6
    assert everything["totals"]["unpriced_requests"] == 0


def test_importing_twice_adds_nothing(db_path: Path) -> None:
    _import(DATA, db_path)
    again = _import(DATA, db_path)
    assert again["imported"] == 0
    assert all(f["unchanged"] for f in again["per_file"])
    assert query(db_path, "SELECT count(*) FROM events")[0][0] == 16


def test_directory_in_one_batch_counts_as_file_by_file(tmp_path: Path, db_path: Path) -> None:
    """A directory is read in one transaction (thousands of session files: one transaction
    each cost ~0.1 s per file); each file keeps its own counts, which are those of importing
    the files one at a time in the listing's order, and the archived copy of A, listed after
    A, adds nothing."""
    tree = tmp_path / "tree"
    shutil.copytree(DATA, tree)
    (tree / "sessions" / "copy-of-a").mkdir()
    shutil.copy(A, tree / "sessions" / "copy-of-a" / ("rollout-copy-" + A.name.removeprefix("rollout-")))
    files = IMPORTER.files(tree)
    assert len(files) == 6
    whole = _import(tree, db_path)["per_file"]
    one_by_one = tmp_path / "one.duckdb"
    single = [_import(f, one_by_one)["per_file"][0] for f in files]
    keys = ("path", "records", "imported", "duplicates", "rejected")
    assert [{k: f[k] for k in keys} for f in whole] == [{k: f[k] for k in keys} for f in single]
    copy = next(f for f in whole if "copy-of-a" in f["path"])
    assert (copy["records"], copy["imported"], copy["duplicates"]) == (10, 0, 10)  # A's 6 calls and 4 re-emits
    same = "SELECT event_id, ts, model, input_tokens, cache_read_tokens, output_tokens, reasoning_tokens FROM events ORDER BY 1"
    assert query(db_path, same) == query(one_by_one, same)
    assert query(db_path, "SELECT count(DISTINCT batch_id) FROM import_batches") == [(6,)]


def test_directory_with_two_bad_files_rejects_in_each_its_own_lines(tmp_path: Path, db_path: Path) -> None:
    """Rejects of a batch name their own file and line (G's seven bad lines, in G and in a copy)."""
    tree = tmp_path / "sessions"
    tree.mkdir()
    shutil.copy(G, tree / G.name)
    shutil.copy(G, tree / ("rollout-again-" + G.name.removeprefix("rollout-")))
    summary = _import(tree, db_path)
    assert (summary["records"], summary["imported"], summary["duplicates"], summary["rejected"]) == (18, 2, 2, 14)
    rows = query(db_path, "SELECT file, line FROM rejects ORDER BY file, line")
    by_file: dict[str, list[int]] = {}
    for file, line in rows:
        by_file.setdefault(Path(file).name, []).append(line)
    assert by_file == {n: [4, 5, 6, 7, 8, 10, 12] for n in (G.name, "rollout-again-" + G.name.removeprefix("rollout-"))}


def test_unreadable_file_in_a_directory_fails_alone(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file that cannot be read among the sessions (here: permission denied, which root in CI
    would not see from a chmod): the batch falls back to file by file, the others get in, and
    the bad one says why."""
    import usagectl.importers.codex as codex

    tree = tmp_path / "sessions"
    tree.mkdir()
    for f in (A, B, C):
        shutil.copy(f, tree / f.name)
    broken = shutil.copy(C, tree / "rollout-2025-11-05T00-00-00-broken.jsonl")
    real_open = codex.open_text_or_binary

    def deny(path: Path) -> Any:
        if Path(path).name == Path(broken).name:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path)

    monkeypatch.setattr(codex, "open_text_or_binary", deny)
    result = run("import", str(tree), "--format", "codex", "--json", "--db", str(db_path), expect=None)
    doc = json.loads(result.stdout)
    bad = [f for f in doc["per_file"] if f.get("error")]
    assert len(bad) == 1 and bad[0]["error"].endswith("broken.jsonl: cannot read: Permission denied"), bad
    assert doc["imported"] == 6 + 2 + 2  # A, B and C (EXPECTED.md)
    assert query(db_path, "SELECT count(*) FROM events") == [(10,)]


def test_files_prefers_sessions_over_archived_copy() -> None:
    assert IMPORTER.files(DATA) == sorted([A, B, C, G, E])
    # a root holding only the archive reads the archive
    assert IMPORTER.files(DATA / "archived_sessions") == sorted([A_COPY, B])
    assert IMPORTER.resumable is False and IMPORTER.conflict == "keep"


def test_a_symlinked_day_folder_is_listed_and_imported_once(tmp_path: Path, db_path: Path) -> None:
    """A month of sessions moved to another disk and linked back: its rollouts are listed (once,
    also when a second link reaches the same folder) and imported: A holds 6 calls (EXPECTED.md)."""
    moved = tmp_path / "disk2" / "2025" / "11" / "03"
    moved.mkdir(parents=True)
    shutil.copy(A, moved / A.name)
    (moved / "notes.txt").write_text("not a rollout\n")
    sessions = tmp_path / "codex" / "sessions"
    sessions.mkdir(parents=True)
    (sessions / "2025").symlink_to(tmp_path / "disk2" / "2025")
    (sessions / "again").symlink_to(tmp_path / "disk2")  # the same folder by a second way
    (moved / "loop").symlink_to(sessions)  # and a link back up
    listed = IMPORTER.files(sessions)
    assert [p.relative_to(sessions).as_posix() for p in listed] == [f"2025/11/03/{A.name}"]
    assert _import(sessions, db_path)["imported"] == 6
    assert query(db_path, "SELECT count(*) FROM events") == [(6,)]


def test_gzipped_rollouts_in_a_folder_are_read(tmp_path: Path, db_path: Path) -> None:
    """An archive of old sessions gzipped (``rollout-*.jsonl.gz``) is a Codex folder as the
    plain one is: A gzipped holds its 6 calls (EXPECTED.md); beside a plain copy of itself in
    ``sessions/`` the archived gzip is not read; ``source add`` without a format finds codex."""
    import gzip

    home = tmp_path / "codex"
    day = home / "archived_sessions"
    day.mkdir(parents=True)
    (day / (A.name + ".gz")).write_bytes(gzip.compress(A.read_bytes()))
    assert IMPORTER.files(home) == [day / (A.name + ".gz")]
    doc = _import(home, db_path)
    assert (doc["files"], doc["imported"], doc["rejected"]) == (1, 6, 0)
    live = home / "sessions" / "2025" / "11" / "03"
    live.mkdir(parents=True)
    shutil.copy(A, live / A.name)
    assert IMPORTER.files(home) == [live / A.name]  # the live file wins over its gzipped archive
    other = tmp_path / "other.duckdb"
    run("source", "add", str(day), "--db", str(other))
    listed = run_json("source", "list", "--db", str(other))
    assert [r["format"] for r in listed["rows"]] == ["codex"], listed
    assert run_json("sync", "--db", str(other))["totals"]["imported"] == 6


def test_archived_copy_never_double_counts(tmp_path: Path, db_path: Path) -> None:
    _import(A, db_path)
    copy = _import(A_COPY, db_path)  # lines 1-17 of A: a1..a4 again, and the re-emits at 8, 11, 12, 17
    assert (copy["records"], copy["imported"], copy["duplicates"]) == (8, 0, 8)
    # the other order: the copy first, then A adds only a5 and a6
    other = tmp_path / "other.duckdb"
    assert _import(A_COPY, other)["imported"] == 4
    assert (_import(A, other)["imported"], _import(A, other)["imported"]) == (2, 0)
    # a copy under another name and place is still the same events
    renamed = shutil.copy(A, tmp_path / "backup-of-a-session.jsonl")
    assert _import(Path(renamed), db_path)["imported"] == 0


# ---------------------------------------------------------------- traps of FORMATS.md §4


def _events(path: Path) -> list[dict[str, Any]]:
    """The calls a file counts: its records, less the copies of an event id read before (a
    re-emitted total is read as a copy of the call it repeats; the store keeps the first)."""
    records = list(IMPORTER.read(path))
    assert all(r.problem is None for r in records)
    seen: set[str] = set()
    return [r.fields for r in records if not (r.fields["event_id"] in seen or seen.add(r.fields["event_id"]))]


def test_deltas_skip_reemitted_totals_and_reset_uses_last() -> None:
    rows = _events(A)
    # lines 8, 11, 12, 17 repeat a total and line 5 has info null: 6 events from 11 token_count lines
    got = [
        (r["model_raw"], r["input_tokens"], r["cache_read_tokens"], r["output_tokens"], r["reasoning_tokens"])
        for r in rows
    ]
    assert got == [
        ("gpt-5", 8421, 0, 612, 384),  # first event: the total itself
        ("gpt-5", 12967 - 8064, 8064, 1433, 896),  # 21388-8421=12967 input, cached inside it
        ("o4-mini", 15020 - 12288, 12288, 702, 448),  # model from the turn_context before it
        ("o4-mini", 16112 - 14336, 14336, 958, 640),
        ("o4-mini", 6000 - 1024, 1024, 260, 128),  # total went down: last_token_usage
        ("gpt-5", 7000 - 5120, 5120, 300, 192),  # 18000-11000, 6144-1024: delta against the reset total
    ]
    assert rows[4]["extra"]["counter_reset"] is True
    assert [r["ts"].isoformat() for r in rows][:2] == [
        "2025-11-03T21:11:05.433000+00:00",
        "2025-11-03T21:16:40.245000+00:00",
    ]
    # the four re-emits are records too, each the very copy of the call whose total it repeats
    # (line 8 repeats a1's total, 11 and 12 a2's, 17 a4's), for the store to count as duplicates
    records = list(IMPORTER.read(A))
    first_line = {}
    for r in records:
        first_line.setdefault(r.fields["event_id"], r.line)
    copies = [(r.line, first_line[r.fields["event_id"]]) for r in records if first_line[r.fields["event_id"]] != r.line]
    assert copies == [(8, 7), (11, 10), (12, 10), (17, 16)]
    assert all(
        r.fields == next(o for o in records if o.line == first_line[r.fields["event_id"]]).fields for r in records
    )


def _count_line(ts: str, total: tuple[int, int], last: tuple[int, int]) -> str:
    """A token_count line with totals and last call of (input, output); nothing cached."""

    def usage(u: tuple[int, int]) -> dict[str, int]:
        return {"input_tokens": u[0], "cached_input_tokens": 0, "output_tokens": u[1], "reasoning_output_tokens": 0,
                "total_tokens": u[0] + u[1]}  # fmt: skip

    info = {"total_token_usage": usage(total), "last_token_usage": usage(last)}
    return json.dumps({"timestamp": ts, "type": "event_msg", "payload": {"type": "token_count", "info": info}})


def test_a_stale_total_written_out_of_order_is_not_a_reset(tmp_path: Path) -> None:
    """QA (tokscale#308: real rollouts hold token_count snapshots whose total briefly goes back,
    then resumes from the higher one): totals (input, output) 1000/100 -> 2500/250 -> 1500/150
    (stale, last 500/50) -> 3000/300. Counted before: 1000, 1500, the stale line's last 500 and
    3000 - 1500 = 1500 (4500 input, 150 % of the session's own final total). The session used
    3000/300: 1000, 1500 and 500, the stale line adding nothing. A real reset (fixture A's a5,
    52520 -> 11000: far below, more than twice its call) still counts its last_token_usage."""
    meta = {"timestamp": "2026-11-03T10:00:00.000Z", "type": "session_meta", "payload": {"id": "s-stale"}}
    turn = {"timestamp": "2026-11-03T10:00:00.100Z", "type": "turn_context", "payload": {"model": "gpt-5"}}
    path = _write(tmp_path / "rollout-stale.jsonl", [json.dumps(meta), json.dumps(turn),
        _count_line("2026-11-03T10:00:10Z", (1000, 100), (1000, 100)),
        _count_line("2026-11-03T10:00:30Z", (2500, 250), (1500, 150)),
        _count_line("2026-11-03T10:00:31Z", (1500, 150), (500, 50)),  # stale: 1650 + 2 x 550 >= 2750
        _count_line("2026-11-03T10:00:50Z", (3000, 300), (500, 50)),
    ])  # fmt: skip
    assert [(e["input_tokens"], e["output_tokens"]) for e in _events(path)] == [(1000, 100), (1500, 150), (500, 50)]
    # a call of 100: 2 % below a total of 10000 is stale (9800); 3 % (9700 + 2 x 100 < 10000) is a reset,
    # which counts its last call
    for fell_to, counted in ((9800, [(10000, 0)]), (9700, [(10000, 0), (100, 0)])):
        lines = [json.dumps(meta), json.dumps(turn), _count_line("2026-11-03T10:00:10Z", (10000, 0), (10000, 0)),
                 _count_line("2026-11-03T10:00:40Z", (fell_to, 0), (100, 0))]  # fmt: skip
        got = _events(_write(tmp_path / f"rollout-{fell_to}.jsonl", lines))
        assert [(e["input_tokens"], e["output_tokens"]) for e in got] == counted


def test_a_reset_early_in_a_session_is_no_stale_snapshot(tmp_path: Path) -> None:
    """QA (regression of the stale rule): calls of 1000 (input) -> totals 1000, 2000; then the
    counter starts over: 1200 (its last 1200: a fresh counter), 2500 (last 1300), 3900 (last 1400).
    1200 + 2 x 1200 >= 2000 made the reset a "stale snapshot": the 1200 was skipped, and 2500 counted
    only 500 against the kept 2000. A total equal to its own last call is a fresh counter. Counted:
    1000 + 1000 + 1200 + 1300 + 1400 = 5900 input, 590 output."""
    meta = json.dumps({"timestamp": "2026-11-03T10:00:00Z", "type": "session_meta", "payload": {"id": "s-reset"}})
    path = _write(tmp_path / "rollout-reset.jsonl", [meta,
        _count_line("2026-11-03T10:00:10Z", (1000, 100), (1000, 100)),
        _count_line("2026-11-03T10:01:00Z", (2000, 200), (1000, 100)),
        _count_line("2026-11-03T10:02:00Z", (1200, 120), (1200, 120)),
        _count_line("2026-11-03T10:03:00Z", (2500, 250), (1300, 130)),
        _count_line("2026-11-03T10:04:00Z", (3900, 390), (1400, 140)),
    ])  # fmt: skip
    got = _events(path)
    assert [e["input_tokens"] for e in got] == [1000, 1000, 1200, 1300, 1400]
    assert sum(e["output_tokens"] for e in got) == 590


def test_a_rejected_count_does_not_move_the_baseline(tmp_path: Path) -> None:
    """QA (fuzz): a token_count rejected for counts that cannot be (reasoning over output) still set
    the baseline, so the next count looked like a counter reset and only its last call counted:
    2000 input tokens of the session were lost. Totals (input, cached, output, reasoning):
    (1000, 100, 50, 10); (3000, 600, 150, 999999) rejected; (6000, 1600, 450, 90). Counted: the
    first total, then 6000 - 1000 = 5000 input (1500 cached, 400 output, 80 reasoning) spanning
    the rejected line, marked after_reject: the session's own final total, 6000 / 1600 / 450 / 90."""

    def count(ts: str, t: tuple[int, int, int, int]) -> str:
        u = {"input_tokens": t[0], "cached_input_tokens": t[1], "output_tokens": t[2], "reasoning_output_tokens": t[3]}
        return json.dumps({"timestamp": ts, "type": "event_msg",
                           "payload": {"type": "token_count", "info": {"total_token_usage": u}}})  # fmt: skip

    meta = json.dumps({"timestamp": "2026-11-03T10:00:00Z", "type": "session_meta", "payload": {"id": "s-rej"}})
    path = _write(tmp_path / "rollout-rejected.jsonl", [meta,
        count("2026-11-03T10:00:10Z", (1000, 100, 50, 10)),
        count("2026-11-03T10:00:20Z", (3000, 600, 150, 999999)),
        count("2026-11-03T10:00:30Z", (6000, 1600, 450, 90)),
    ])  # fmt: skip
    records = list(IMPORTER.read(path))
    assert [(r.line, r.problem) for r in records if r.problem] == [
        (3, "reasoning_output_tokens (999989) exceed output_tokens (100)")
    ]
    got = [r.fields for r in records if r.problem is None]
    assert [(e["input_tokens"], e["cache_read_tokens"], e["output_tokens"], e["reasoning_tokens"]) for e in got] == [
        (900, 100, 50, 10),
        (5000 - 1500, 1500, 400, 80),
    ]
    assert got[1]["extra"]["after_reject"] == "2026-11-03T10:00:10+00:00"
    assert "counter_reset" not in got[1]["extra"]


def test_a_token_count_with_its_counts_outside_info_is_a_reject(tmp_path: Path) -> None:
    """QA: a token_count whose counts sit in the payload itself (no ``info``; a layout other
    Codex readers parse) was passed over as a rate-limit refresh, without a trace. Whether its
    counts are one call's or a running total cannot be told: a reject naming why, not 0 and not a
    guess. ``info: null`` stays a refresh, passed over."""
    meta = json.dumps({"timestamp": "2026-02-14T13:10:00Z", "type": "session_meta", "payload": {"id": "s-flat"}})
    flat = json.dumps({"timestamp": "2026-02-14T13:10:05Z", "type": "event_msg", "payload": {
        "type": "token_count", "input_tokens": 1200, "output_tokens": 80, "turn_id": "t1"}})  # fmt: skip
    refresh = json.dumps({"timestamp": "2026-02-14T13:10:06Z", "type": "event_msg",
                          "payload": {"type": "token_count", "info": None}})  # fmt: skip
    records = list(IMPORTER.read(_write(tmp_path / "rollout-flat.jsonl", [meta, flat, refresh])))
    assert [(r.line, r.problem) for r in records] == [
        (2, "token_count: counts in the payload itself, not in info (a layout not read: per call or running total?)")
    ]


def test_fields_and_extra(db_path: Path) -> None:
    _import(DATA, db_path)
    row = query(
        db_path,
        "SELECT source, provider, model, session_id, project, tool, feature, platform, event_id, "
        "json_extract_string(extra, '$.cli_version'), json_extract_string(extra, '$.originator'), "
        "json_extract_string(extra, '$.git.branch'), json_extract_string(extra, '$.cwd') "
        "FROM events WHERE ts = TIMESTAMPTZ '2025-11-03 21:16:40.245+00'",
    )[0]
    assert row[:8] == ("codex", "openai", "gpt-5", SID_A, "ledger-api", "codex", "coding-agent", "cli")
    assert row[8].startswith("codex:")
    assert row[9:] == ("0.46.0", "codex_cli_rs", "main", "/home/dana/src/ledger-api/services/billing")
    # no turn_context: gpt-5 assumed and flagged
    assumed = query(
        db_path,
        "SELECT model_raw, json_extract(extra, '$.model_assumed')::VARCHAR, project FROM events "
        "WHERE session_id = '3e8f0a52-91c4-4b6d-a0e7-5c2d9f1b8a60'",
    )
    assert assumed == [("gpt-5", "true", "scratch")] * 2
    fork = query(
        db_path, f"SELECT DISTINCT json_extract_string(extra, '$.forked_from') FROM events WHERE session_id = '{SID_C}'"
    )
    assert fork == [(SID_A,)]
    record = query(
        db_path,
        "SELECT message_id, json_extract_string(extra, '$.channel'), cache_write_5m_tokens FROM events "
        "WHERE event_id = 'codex:resp:resp_1b2c3d4e5f60718293a4b5c6d7e8f90a'",
    )
    assert record == [("resp_1b2c3d4e5f60718293a4b5c6d7e8f90a", "token_usage_record", 0)]


def test_forked_session_replay_is_not_counted(tmp_path: Path, db_path: Path) -> None:
    alone = _import(C, db_path)
    assert alone["imported"] == 2  # c1, c2; the replay of a1/a2 at 09:30:00.1 only sets the baseline
    rows = _by_model(db_path, "2025-11-04", "2025-11-04")
    # 808+1760 input, 8192+10240 cached, 610+1500 output, 384+1024 reasoning (EXPECTED.md C)
    assert _tokens(rows["gpt-5"]) == (2, 2568, 18432, 0, 2110, 1408)
    assert _cost(rows["gpt-5"]) == Decimal("0.026614")  # 3210 + 2304 + 21100
    assert _import(A, db_path)["imported"] == 6

    # without forked_from_id the copied parent session_meta still marks the replay
    lines = _lines(C)
    meta = json.loads(lines[0])
    del meta["payload"]["forked_from_id"]
    undeclared = _write(tmp_path / "undeclared.jsonl", [json.dumps(meta), *lines[1:]])
    assert [e["input_tokens"] for e in _events(undeclared)] == [808, 1760]


def test_a_fork_that_names_no_parent_is_told_by_its_burst(tmp_path: Path, db_path: Path) -> None:
    """C without ``forked_from_id`` and without the copy of A's ``session_meta``: nothing names
    the parent, but its first lines (09:30:00.101 to .110) are each within 1 s of the one before
    up to a second count that advances the counter (a2's total at .109, after a1's at .106): no
    new session answers two calls within a second of its start, so both are A's history, the
    baseline only. Counted: c1 (30388 - 21388 = 9000 input, 808 uncached as EXPECTED.md C) and
    c2 (1760). The same file with a2's copy two seconds later is a session of its own: a1 from
    zero (8421) and a2 (21388 - 8421 = 12967) count too."""
    lines = _lines(C)
    meta = json.loads(lines[0])
    del meta["payload"]["forked_from_id"]
    bare = [json.dumps(meta), *lines[2:]]
    fork = _write(tmp_path / "rollout-2025-11-04T01-30-00-9b1d4e77-2c5a-4f0e-8d36-71a0c4e5f912.jsonl", bare)
    assert [e["input_tokens"] for e in _events(fork)] == [808, 1760]
    _import(A, db_path)
    second = _import(fork, db_path)
    assert (second["imported"], second["duplicates"]) == (2, 0)
    assert query(db_path, "SELECT sum(input_tokens) FROM events")[0][0] == (
        8421 + 4903 + 2732 + 1776 + 4976 + 1880 + 808 + 1760
    )

    late = [json.loads(x) for x in bare]
    for obj in late[6:8]:  # C's lines 8 and 9 (a2's count and its repeat), 2 s later
        obj["timestamp"] = obj["timestamp"].replace("09:30:00.", "09:30:02.")
    alone = _write(tmp_path / "rollout-alone.jsonl", [json.dumps(o) for o in late])
    got = _events(alone)
    assert [e["input_tokens"] + e["cache_read_tokens"] for e in got] == [8421, 21388 - 8421, 9000, 12000]


def test_replay_with_original_timestamps_is_a_baseline_too(tmp_path: Path, db_path: Path) -> None:
    # a copy of A's history that was not rewritten to the fork instant is not a burst, but its
    # times are before the fork began (its session_meta): it only sets the baseline, as a burst
    # does (FORMATS.md: ccusage uses the replay only as the baseline), so only c1 and c2 count
    lines = _lines(C)
    original = {
        5: "2025-11-03T21:11:05.433Z",
        6: "2025-11-03T21:11:06.002Z",
        8: "2025-11-03T21:16:40.245Z",
        9: "2025-11-03T21:16:41.010Z",
    }
    for index, ts in original.items():
        obj = json.loads(lines[index])
        obj["timestamp"] = ts
        lines[index] = json.dumps(obj)
    replay = _write(tmp_path / "rollout-replay.jsonl", lines)
    assert [e["input_tokens"] for e in _events(replay)] == [808, 1760]  # c1, c2
    _import(A, db_path)
    second = _import(replay, db_path)
    assert (second["imported"], second["duplicates"]) == (2, 0)
    assert (
        query(db_path, "SELECT sum(input_tokens) FROM events")[0][0]
        == 8421 + 4903 + 2732 + 1776 + 4976 + 1880 + 808 + 1760
    )


def test_unrelated_sessions_with_identical_first_call_both_count(tmp_path: Path, db_path: Path) -> None:
    lines = _lines(B)[:4]  # session_meta .. b1
    other = json.loads(lines[0])
    other["payload"]["id"] = "11111111-2222-4333-8444-555555555555"
    _write(tmp_path / "rollout-one.jsonl", lines)
    _write(tmp_path / "rollout-two.jsonl", [json.dumps(other), *lines[1:]])
    assert _import(tmp_path, db_path)["imported"] == 2


def test_growing_file_is_idempotent(tmp_path: Path, db_path: Path) -> None:
    live = tmp_path / "rollout-live.jsonl"
    lines = _lines(A)
    _write(live, lines[:12])  # up to the re-emits of a2
    first = _import(live, db_path)
    assert (first["imported"], first["duplicates"]) == (2, 3)  # a1, a2; the re-emits at lines 8, 11, 12
    _write(live, lines)  # the session went on: re-read from the start, only new events are added
    grown = _import(live, db_path)
    # a3..a6 new; a1, a2 stored and the re-emits at 8, 11, 12, 17 add nothing
    assert (grown["imported"], grown["duplicates"]) == (4, 6)
    assert _import(A, db_path)["imported"] == 0


def test_token_usage_record_and_token_count_never_double_count(tmp_path: Path, db_path: Path) -> None:
    assert _import(E, db_path)["imported"] == 4  # e1, e2 (token_count), R3, R4 (records)
    # the sum equals the last thread_token_usage: 66000-21760-1024, 21760, 1024, 4140, 1184
    assert _tokens(_by_model(db_path, "2026-09-15", "2026-09-15")["gpt-5"]) == (4, 43216, 21760, 1024, 4140, 1184)
    # the record of a response written BEFORE its token_count: the record counts, the token_count not
    lines = _lines(E)
    lines[7], lines[8] = lines[8], lines[7]
    swapped = _events(_write(tmp_path / "rollout-swapped.jsonl", lines))
    assert [(e["input_tokens"], e["cache_write_5m_tokens"]) for e in swapped] == [
        (10000, 0),
        (992, 1024),
        (2224, 0),
        (30000, 0),
    ]
    assert swapped[1]["event_id"] == "codex:resp:resp_0a1b2c3d4e5f60718293a4b5c6d7e8f9"
    # a file of a 0.151 session from the start: records only, token_count ignored
    new_cli = [lines[0], *lines[5:]]
    rows = _events(_write(tmp_path / "rollout-new.jsonl", new_cli))
    assert [e["input_tokens"] for e in rows] == [992, 2224, 30000]


def test_service_tier_from_thread_settings(tmp_path: Path, db_path: Path) -> None:
    lines = _lines(B)[:1] + [
        '{"timestamp":"2025-11-06T10:00:00.000Z","type":"turn_context","payload":{"model":"gpt-5"}}',
        '{"timestamp":"2025-11-06T10:00:00.010Z","type":"event_msg","payload":{"type":"thread_settings_applied","thread_settings":{"service_tier":"priority"}}}',
        '{"timestamp":"2025-11-06T10:00:09.000Z","type":"event_msg","payload":{"type":"token_count","info":{"total_token_usage":{"input_tokens":1000,"cached_input_tokens":0,"output_tokens":100,"reasoning_output_tokens":0,"total_tokens":1100}}}}',
    ]
    _import(_write(tmp_path / "rollout-fast.jsonl", lines), db_path)
    assert query(db_path, "SELECT service_tier FROM events") == [("priority",)]
    # gpt-5 priority: 1000 × 2.50 + 100 × 20.00 = 4500e-6
    assert _cost(_by_model(db_path, "2025-11-06", "2025-11-06")["gpt-5"]) == Decimal("0.0045")


# ---------------------------------------------------------------- bad records


def test_bad_lines_are_rejected_with_line_and_reason(db_path: Path) -> None:
    summary = _import(G, db_path)
    assert (summary["imported"], summary["rejected"]) == (2, 7)
    rejects = run_json("db", "rejects", "--db", str(db_path))["rows"]
    got = {r["line"]: r["reason"] for r in rejects}
    assert set(got) == {4, 5, 6, 7, 8, 10, 12}
    assert got[4].startswith("not valid JSON: Expecting ',' delimiter")
    assert got[5] == "info.total_token_usage.input_tokens: negative (-5)"
    assert got[6] == "info.total_token_usage.output_tokens: not an integer (12.5)"
    assert got[7] == "info.total_token_usage.output_tokens: missing"
    assert got[8] == 'timestamp: not a timestamp ("2025-11-05T25:61:00Z")'
    assert got[10] == "not a JSON object (an array)"
    assert got[12].startswith("not valid JSON: Unterminated string")
    assert all(r["file"].endswith(G.name) and r["raw"] for r in rejects)
    # the rejected lines do not move the baseline: g2 = (9000, 3968, 520, 256) - (4000, 0, 200, 64)
    assert query(db_path, "SELECT input_tokens, cache_read_tokens, output_tokens FROM events ORDER BY ts") == [
        (4000, 0, 200),
        (1032, 3968, 320),
    ]


def test_lines_without_usage_are_not_parsed_unless_cut_off(tmp_path: Path) -> None:
    """Response items and events other than token_count (most of a rollout's bytes) are not
    parsed when they say so up front and end with "}": inside such a line nothing is read, so
    a damaged middle is not a reject (it held nothing to count); a cut-off line, or one that
    does not start the way Codex writes it, is parsed and rejected as before."""
    lines = _lines(B)
    head = '{"timestamp":"2025-09-20T07:30:00.000Z","type":"response_item","payload":{"type":"message","content":'
    damaged = head + '[{"type":"output_text","text":"ok" "missing comma"}]}}'
    cut = head + '[{"type":"output_text","text":"cut off'
    other_order = '{"type":"response_item","timestamp":"2025-09-20T07:30:01.000Z","payload":[1 2]}'
    event = '{"timestamp":"2025-09-20T07:30:02.000Z","type":"event_msg","payload":{"type":"agent_message","message":"x" "y"}}'
    path = _write(tmp_path / "rollout-mixed.jsonl", [*lines, damaged, cut, other_order, event])
    records = list(IMPORTER.read(path))
    assert [r.fields["input_tokens"] for r in records if r.problem is None] == [
        r.fields["input_tokens"] for r in IMPORTER.read(B)
    ]
    n = len(lines)
    assert [(r.line, (r.problem or "")[:40]) for r in records if r.problem] == [
        (n + 2, "not valid JSON: Unterminated string star"),
        (n + 3, "not valid JSON: Expecting ',' delimiter "),
    ]


def test_lone_surrogate_escapes_are_stored_as_replacement_characters(tmp_path: Path, db_path: Path) -> None:
    """``"\\ud800"`` is valid JSON but no UTF-8 text: in a session's cwd (kept in ``extra``) and
    in a model name it is stored as U+FFFD, not a crash of the import."""
    lines = _lines(A)
    lines[0] = lines[0].replace('"cwd":"', '"cwd":"\\ud800', 1)
    lines = [line.replace('"model":"gpt-5"', '"model":"gpt-5\\udfff"') for line in lines]
    assert "\\ud800" in lines[0] and any("\\udfff" in line for line in lines)
    assert _import(_write(tmp_path / A.name, lines), db_path)["imported"] == 6
    rows = query(db_path, "SELECT model_raw, json_extract_string(extra, '$.cwd') FROM events ORDER BY ts")
    assert {r[1][0] for r in rows} == {"\ufffd"}
    assert [r[0] for r in rows] == ["gpt-5\ufffd", "gpt-5\ufffd", "o4-mini", "o4-mini", "o4-mini", "gpt-5\ufffd"]


def test_inconsistent_usage_is_a_reject(tmp_path: Path) -> None:
    head = _lines(B)[:1]
    bad = [
        '{"timestamp":"2025-09-20T14:04:00Z","type":"event_msg","payload":{"type":"token_count","info":{"total_token_usage":{"input_tokens":10,"cached_input_tokens":20,"output_tokens":5}}}}',
        '{"timestamp":"2025-09-20T14:05:00Z","type":"event_msg","payload":{"type":"token_count","info":{"total_token_usage":{"input_tokens":50,"output_tokens":5,"reasoning_output_tokens":9}}}}',
        '{"timestamp":"2025-09-20T14:06:00Z","type":"event_msg","payload":{"type":"token_count","info":{"last_token_usage":{"input_tokens":50,"output_tokens":5}}}}',
        '{"timestamp":"2025-09-20T14:07:00Z","type":"event_msg","payload":{"type":"token_count","info":{"total_token_usage":{"input_tokens":99999999999999999999,"output_tokens":5}}}}',
        '{"timestamp":"2025-09-20T14:08:00Z","type":"token_usage_record","payload":{"response_id":"r1","usage":{"input_tokens":"12","output_tokens":1}}}',
    ]
    problems = [r.problem for r in IMPORTER.read(_write(tmp_path / "bad.jsonl", head + bad))]
    assert problems == [
        "cached_input_tokens + cache_write_input_tokens (20 + 0) exceed input_tokens (10)",
        "reasoning_output_tokens (9) exceed output_tokens (5)",
        "info.total_token_usage: missing (cannot tell new usage from a repeated event)",
        "info.total_token_usage.input_tokens: too large (over 10^15) (99999999999999999999)",
        'payload.usage.input_tokens: not a number ("12")',
    ]


# ---------------------------------------------------------------- --format auto


def test_format_auto_recognises_rollout_files(tmp_path: Path, db_path: Path) -> None:
    for path in (A, B, C, E, G):
        assert IMPORTER.sniff(path, path.read_bytes()[:65536]), path
    canonical = b'{"event_id":"e1","ts":"2025-11-03T10:00:00Z","model":"gpt-5","input_tokens":1}\n'
    assert not IMPORTER.sniff(Path("x.jsonl"), canonical)
    # a session_meta line longer than the 64 KiB head (long instructions) is still recognised
    meta = json.loads(_lines(A)[0])
    meta["payload"]["instructions"] = "x" * 70000
    assert IMPORTER.sniff(Path("y.jsonl"), (json.dumps(meta, separators=(",", ":")) + "\n").encode()[:65536])
    # lines of event_msg / turn_context envelopes without a session_meta
    assert IMPORTER.sniff(Path("z.jsonl"), ("\n".join(_lines(A)[2:6]) + "\n").encode())
    summary = _import(A, db_path, fmt="auto")
    assert summary["per_file"][0]["format"] == "codex" and summary["imported"] == 6
    # a directory with --format auto reads every .jsonl (the archived copy too): the copy adds nothing
    tree = _import(DATA, tmp_path / "auto.duckdb", fmt="auto")
    assert {f["format"] for f in tree["per_file"]} == {"codex"}
    # duplicates: A's 4 re-emits, and the archived copy of A's lines 1-17 (a1..a4 and their 4 re-emits)
    assert (tree["imported"], tree["duplicates"], tree["rejected"]) == (16, 12, 7)


# ---------------------------------------------------------------- fuzzing

_INTS = ("requests", "input_tokens", "cache_read_tokens", "cache_write_5m_tokens", "output_tokens", "reasoning_tokens")
_FIXTURE_LINES = [line for p in (A, C, E, G) for line in _lines(p)]
_value = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.none(),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
)


@st.composite
def _usage_line(draw: st.DrawFn) -> str:
    usage = {
        k: draw(_value) for k in ("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_output_tokens")
    }
    ts = draw(st.one_of(st.just("2025-11-03T21:11:05.433Z"), st.text(max_size=12), st.integers(), st.none()))
    if draw(st.booleans()):
        payload: dict[str, Any] = {
            "type": "token_count",
            "info": {"total_token_usage": usage, "last_token_usage": draw(st.one_of(st.none(), st.just(usage)))},
        }
        return json.dumps({"timestamp": ts, "type": "event_msg", "payload": payload})
    return json.dumps(
        {
            "timestamp": ts,
            "type": "token_usage_record",
            "payload": {
                "response_id": draw(st.text(max_size=4)),
                "usage": usage,
                "thread_token_usage": draw(st.one_of(st.none(), st.just(usage))),
            },
        }
    )


_line = st.one_of(
    st.sampled_from(_FIXTURE_LINES),
    st.tuples(st.sampled_from(_FIXTURE_LINES), st.integers(min_value=0, max_value=400)).map(lambda t: t[0][: t[1]]),
    _usage_line(),
    st.binary(max_size=60).map(lambda b: b.decode("latin-1")),
    # a lone surrogate escape in a text (JSON allows it; UTF-8 cannot hold it)
    st.sampled_from(_FIXTURE_LINES).map(lambda line: line.replace('":"', '":"\\ud800', 2)),
)
_file = st.one_of(
    st.lists(_line, max_size=25).map(lambda ls: "\n".join(ls).encode("utf-8", errors="surrogateescape")),
    st.binary(max_size=400),
)


def _valid_event(fields: dict[str, Any]) -> bool:
    return (
        set(fields) <= set(EVENT_COLUMN_NAMES)
        and fields["event_id"].startswith("codex:")
        and isinstance(fields["ts"], datetime)
        and fields["ts"].tzinfo is not None
        and 2000 <= fields["ts"].year < 2100
        and all(type(fields[k]) is int and 0 <= fields[k] < 2**63 for k in _INTS)
        and fields["reasoning_tokens"] <= fields["output_tokens"]
        and isinstance(fields["model_raw"], str)
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=_file)
def test_fuzz_read_never_raises(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rollout-fuzz.jsonl"
        path.write_bytes(content)
        for record in IMPORTER.read(path):
            assert (record.problem is not None and record.raw is not None) or _valid_event(record.fields)
            assert record.line is not None and record.line >= 1


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=_file)
def test_fuzz_import_exits_0_or_4(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rollout-fuzz.jsonl"
        path.write_bytes(content)
        result = run("import", str(path), "--format", "codex", "--db", str(Path(tmp) / "f.duckdb"), expect=None)
        assert result.exit_code in (0, 4), (result.exit_code, result.stderr, result.exception)


# One gpt-5 session, five calls; cumulative (input, cached, output, reasoning) after each:
_TOTALS = [(1000, 0, 100, 10), (3000, 500, 300, 30), (6000, 1500, 600, 60), (10000, 3000, 1000, 100),
           (15000, 5000, 1500, 150)]  # fmt: skip
_SID = "7e7e7e7e-0000-4000-8000-00000000abcd"


def _session_lines() -> list[str]:
    keys = ["input_tokens", "cached_input_tokens", "output_tokens", "reasoning_output_tokens"]
    lines = [
        {"timestamp": "2025-11-12T10:00:00.000Z", "type": "session_meta",
         "payload": {"id": _SID, "timestamp": "2025-11-12T10:00:00.000Z", "cwd": "/x", "originator": "codex_cli_rs",
                     "cli_version": "0.47.0", "source": "cli", "model_provider": "openai"}},
        {"timestamp": "2025-11-12T10:00:00.100Z", "type": "turn_context", "payload": {"cwd": "/x", "model": "gpt-5"}},
    ]  # fmt: skip
    prev = (0, 0, 0, 0)
    for i, t in enumerate(_TOTALS, 1):
        last = dict(zip(keys, [a - b for a, b in zip(t, prev, strict=True)], strict=True))
        info = {"total_token_usage": dict(zip(keys, t, strict=True)), "last_token_usage": last}
        lines.append({"timestamp": f"2025-11-12T10:{i:02d}:00.000Z", "type": "event_msg",
                      "payload": {"type": "token_count", "info": info}})  # fmt: skip
        prev = t
    return [json.dumps(x) for x in lines]


@pytest.mark.parametrize(("parent_first", "line_time"), [(True, True), (False, True), (False, False)])
def test_a_sub_agent_replaying_its_parent_with_original_times_counts_each_call_once(
    tmp_path: Path, db_path: Path, parent_first: bool, line_time: bool
) -> None:
    """A spawned sub-agent's rollout names its parent only under
    ``source.subagent.thread_spawn.parent_thread_id`` (no copy of the parent's session_meta)
    and replays the parent's 5 calls with their original times (a minute apart: no burst), then
    makes one call of its own (2,000 input, 1,000 cached, 200 output). Every call counts once,
    in either import order: 6 events, 15,000 + 2,000 = 17,000 input (cached included), 1,700
    output (QA: the parent's first call was counted again under the sub-agent)."""
    parent = _session_lines()
    child_id = "7e7e7e7e-0000-4000-8000-0000000c41d0"
    meta = json.loads(parent[0])
    meta["timestamp"] = meta["payload"]["timestamp"] = "2025-11-12T11:00:00.000Z"
    meta["payload"]["id"] = child_id
    meta["payload"]["source"] = {"subagent": {"thread_spawn": {"parent_thread_id": _SID, "depth": 1}}}
    if not line_time:  # a session_meta line without its own time: the payload's tells the start
        del meta["timestamp"]
    keys = ["input_tokens", "cached_input_tokens", "output_tokens", "reasoning_output_tokens"]
    last, total = (2000, 1000, 200, 20), tuple(a + b for a, b in zip(_TOTALS[-1], (2000, 1000, 200, 20), strict=True))
    own = {"timestamp": "2025-11-12T11:05:00.000Z", "type": "event_msg", "payload": {"type": "token_count", "info": {
        "total_token_usage": dict(zip(keys, total, strict=True)), "last_token_usage": dict(zip(keys, last, strict=True))}}}  # fmt: skip
    folders = [tmp_path / "a", tmp_path / "b"]
    _write_rollout(folders[0 if parent_first else 1], _SID, parent)
    _write_rollout(folders[1 if parent_first else 0], child_id, [json.dumps(meta), *parent[1:], json.dumps(own)])
    for folder in folders:
        _import(folder, db_path)
    assert query(db_path, "SELECT count(*), sum(input_tokens + cache_read_tokens), sum(output_tokens) FROM events") == [
        (6, 17000, 1700)]  # fmt: skip
    assert query(db_path, "SELECT session_id FROM events WHERE ts = '2025-11-12 11:05:00+00'") == [(child_id,)]
    assert dict(query(db_path, "SELECT session_id, count(*) FROM events GROUP BY 1")) == {_SID: 5, child_id: 1}


def test_a_nested_sub_agent_replaying_its_parents_with_original_times_counts_each_call_once(
    tmp_path: Path, db_path: Path
) -> None:
    """P makes 5 calls; its sub-agent S (spawned 11:00) replays them, then calls once (2,000 input,
    1,000 cached, 200 output); S's own sub-agent G (spawned 12:00, naming only S) replays P's and
    S's calls with their original times, then calls once (3,000 / 1,000 / 300). 7 calls, each once,
    in any order: 15,000 + 2,000 + 3,000 = 20,000 input (cached included), 1,500 + 200 + 300 =
    2,000 output, each under its own session (QA: G counted P's first call again, and a sub-agent
    read before its parent stored the parent's calls under its own session and model)."""
    keys = ["input_tokens", "cached_input_tokens", "output_tokens", "reasoning_output_tokens"]

    def meta(sid: str, parent: str, at: str) -> str:
        m = json.loads(_session_lines()[0])
        m["timestamp"] = m["payload"]["timestamp"] = at
        m["payload"]["id"] = sid
        m["payload"]["source"] = {"subagent": {"thread_spawn": {"parent_thread_id": parent, "depth": 1}}}
        return json.dumps(m)

    def count(at: str, total: tuple[int, ...], last: tuple[int, ...]) -> str:
        info = {
            "total_token_usage": dict(zip(keys, total, strict=True)),
            "last_token_usage": dict(zip(keys, last, strict=True)),
        }
        return json.dumps({"timestamp": at, "type": "event_msg", "payload": {"type": "token_count", "info": info}})

    parent = _session_lines()
    s_id, g_id = "7e7e7e7e-0000-4000-8000-00000000005a", "7e7e7e7e-0000-4000-8000-00000000006b"
    s_total = tuple(a + b for a, b in zip(_TOTALS[-1], (2000, 1000, 200, 20), strict=True))
    g_total = tuple(a + b for a, b in zip(s_total, (3000, 1000, 300, 30), strict=True))
    s_own = count("2025-11-12T11:05:00.000Z", s_total, (2000, 1000, 200, 20))
    child = [meta(s_id, _SID, "2025-11-12T11:00:00.000Z"), *parent[1:], s_own]
    grandchild = [meta(g_id, s_id, "2025-11-12T12:00:00.000Z"), *parent[1:], s_own,
                  count("2025-11-12T12:05:00.000Z", g_total, (3000, 1000, 300, 30))]  # fmt: skip
    files = {_SID: parent, s_id: child, g_id: grandchild}
    for order in ([_SID, s_id, g_id], [g_id, s_id, _SID], [g_id, _SID]):
        db = tmp_path / f"{'-'.join(o[-2:] for o in order)}.duckdb"
        for n, sid in enumerate(order):
            _import(_write_rollout(tmp_path / f"{db.stem}-{n}", sid, files[sid]), db)
        want_calls = 7 if s_id in order else 6  # without S's file, S's own call is only in G's replay
        got = query(db, "SELECT count(*), sum(input_tokens + cache_read_tokens), sum(output_tokens) FROM events")
        if s_id in order:
            assert got == [(want_calls, 20000, 2000)], order
        else:
            assert got == [(want_calls, 18000, 1800)], order
        own = dict(query(db, "SELECT session_id, count(*) FROM events GROUP BY 1"))
        assert own[_SID] == 5 and own[g_id] == 1, order


def _damaged(lines: list[str]) -> list[str]:
    """Call 2's count does not parse as a number ("ten"), call 3's line is cut in half: the next
    good count (call 4) moves the counter over both (one delta of calls 2-4)."""
    out = list(lines)
    x = json.loads(out[3])
    x["payload"]["info"]["total_token_usage"]["input_tokens"] = "ten"
    out[3], out[4] = json.dumps(x), out[4][:70]
    return out


def _write_rollout(folder: Path, name: str, lines: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    f = folder / f"rollout-2025-11-12T10-00-00-{name}.jsonl"
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return f


_SUMS = (
    "SELECT count(*), sum(input_tokens), sum(cache_read_tokens), sum(output_tokens), sum(reasoning_tokens) FROM events"
)


@pytest.mark.parametrize("order", ["good first", "damaged first", "one folder", "repaired in place"])
def test_a_damaged_copy_beside_a_good_one_counts_each_call_once(tmp_path: Path, db_path: Path, order: str) -> None:
    """The session is worth its final total whatever copies are read (QA finding: the damaged
    copy's delta over calls 2-4 matched no edge of the good copy and counted them again, +60 %).
    By hand: uncached 15,000 - 5,000 = 10,000, cached 5,000, output 1,500, reasoning 150, over
    the good copy's 5 calls."""
    good, bad = _session_lines(), _damaged(_session_lines())
    if order == "one folder":
        _write_rollout(tmp_path / "s", f"{_SID}", good)
        _write_rollout(tmp_path / "s", f"{_SID}-copy", bad)
        _import(tmp_path / "s", db_path)
    elif order == "repaired in place":
        f = _write_rollout(tmp_path / "s", _SID, bad)
        _import(f, db_path)
        assert query(db_path, "SELECT count(*) FROM events") == [(3,)]  # calls 1, 2-4 (one delta), 5
        _write_rollout(tmp_path / "s", _SID, good)
        _import(f, db_path)
    else:
        first, second = (good, bad) if order == "good first" else (bad, good)
        _import(_write_rollout(tmp_path / "a", _SID, first), db_path)
        _import(_write_rollout(tmp_path / "b", _SID, second), db_path)
    assert query(db_path, _SUMS) == [(5, 10000, 5000, 1500, 150)]


def test_a_damaged_copy_alone_or_beside_a_partial_one_keeps_the_whole_session(tmp_path: Path, db_path: Path) -> None:
    """Alone, the damaged copy holds the whole session in 3 events (its delta over calls 2-4 is
    right: nothing else has them). Beside a copy that holds only calls 1-2 (cut off after them),
    call 2 is part of that delta: it goes, the delta stays, and the totals are still the session's."""
    bad = _write_rollout(tmp_path / "a", _SID, _damaged(_session_lines()))
    _import(bad, db_path)
    assert query(db_path, _SUMS) == [(3, 10000, 5000, 1500, 150)]
    _import(_write_rollout(tmp_path / "b", _SID, _session_lines()[:4]), db_path)  # meta, context, calls 1 and 2
    assert query(db_path, _SUMS) == [(3, 10000, 5000, 1500, 150)]


def test_a_rollout_holding_only_a_byte_order_mark_is_empty(tmp_path: Path) -> None:
    """Three bytes, EF BB BF: no line, so no record and no reject (as the other formats read it)."""
    f = tmp_path / "rollout-2025-11-03T10-00-00-bom.jsonl"
    f.write_bytes(b"\xef\xbb\xbf")
    assert list(IMPORTER.read(f)) == []
    f.write_bytes(b"\xef\xbb\xbf\n\n")
    assert list(IMPORTER.read(f)) == []
    # and the import says nothing of it (as of an empty file), never "does not look like codex"
    err = run("import", str(f), "--format", "codex", "--db", str(tmp_path / "bom.duckdb")).stderr
    assert "warning" not in err and "look like" not in err


def test_a_session_whose_lines_come_less_than_a_second_apart_counts_its_first_calls(tmp_path: Path) -> None:
    """QA: a new session whose lines follow each other within a second all the way to its second
    call (1.3 s and 3.5 s after its start) is no replay: a burst copies its parent's counts
    within a second of the file's first line. Its three calls count: totals (1000, 0 cached,
    100), (3000, 1000, 250), (6000, 2000, 400), so deltas 1000 / 0 / 100, 2000 / 1000 / 150,
    3000 / 1000 / 150: input 6000 of which 2000 cached, output 400."""

    def count(at: str, inp: int, cached: int, out: int) -> str:
        total = {"input_tokens": inp, "cached_input_tokens": cached, "output_tokens": out,
                 "reasoning_output_tokens": 0, "total_tokens": inp + out}  # fmt: skip
        return json.dumps({"timestamp": f"2025-11-10T12:00:{at}Z", "type": "event_msg",
                           "payload": {"type": "token_count", "info": {"total_token_usage": total}}})  # fmt: skip

    sid = "11111111-2222-4333-8444-555555555555"
    meta = {"timestamp": "2025-11-10T12:00:00.000Z", "type": "session_meta",
            "payload": {"id": sid, "timestamp": "2025-11-10T12:00:00.000Z", "cwd": "/home/x/proj"}}  # fmt: skip
    turn = {"timestamp": "2025-11-10T12:00:00.050Z", "type": "turn_context", "payload": {"model": "gpt-5"}}

    def item(at: str) -> str:
        return json.dumps({"timestamp": f"2025-11-10T12:00:{at}Z", "type": "response_item", "payload": {"type": "x"}})

    lines = [json.dumps(meta), json.dumps(turn), item("00.900"), count("01.300", 1000, 0, 100), item("02.000"),
             item("02.800"), count("03.500", 3000, 1000, 250), count("35.000", 6000, 2000, 400)]  # fmt: skip
    got = _events(_write(tmp_path / f"rollout-2025-11-10T12-00-00-{sid}.jsonl", lines))
    assert [(e["input_tokens"], e["cache_read_tokens"], e["output_tokens"]) for e in got] == [
        (1000, 0, 100),
        (1000, 1000, 150),
        (2000, 1000, 150),
    ]


def test_import_progress_moves_file_by_file_through_a_codex_tree(tmp_path: Path, db_path: Path) -> None:
    """QA: a Codex tree of 1,800 rollouts showed "0/1800" until all were read, then done: the
    files of a batched format were reported once, before the batch. The reader now reports each
    file as it reaches it. The 3 rollouts of November 2025 (copied, so nothing else is read): the
    batch starts at 0 of 3, each file is reached at 0, 1 and 2 of 3, the rows are checked and
    stored at 2 of 3 (every file read), then done at 3 of 3."""
    from usagectl.services.context import make_context
    from usagectl.services.imports import STORING, import_paths

    tree = tmp_path / "sessions"
    shutil.copytree(DATA / "sessions" / "2025", tree)
    seen: list[tuple[str, int, int]] = []
    import_paths(make_context(None, db_path), [tree], fmt="codex", progress=lambda n, d, t: seen.append((n, d, t)))
    files = sorted(p.name for p in tree.rglob("rollout-*.jsonl"))
    assert len(files) == 3
    reached = [(Path(n).name, d) for n, d, t in seen if n.endswith(".jsonl")]
    assert sorted(name for name, _ in reached) == files and [d for _, d in reached] == [0, 1, 2]
    assert seen[-2:] == [(STORING, 2, 3), ("", 3, 3)] and all(t == 3 for _, _, t in seen)
