"""The demo data generator: deterministic, shaped like a real team's usage, canonical."""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from usagectl.models import EVENT_COLUMN_NAMES, EVENT_COLUMNS
from usagectl.services.demo import (
    DEMO_MEMBERS,
    EXAMPLES_END,
    generate_events,
    write_csv,
    write_examples,
    write_jsonl,
)

END = date(2026, 11, 25)
KNOWN_PROVIDERS = {"anthropic", "openai", "google"}
INT_COLUMNS = [name for name, kind in EVENT_COLUMNS if kind == "int"]


@pytest.fixture(scope="module")
def events() -> list[dict[str, Any]]:
    return generate_events(END)


def _ts(ev: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(ev["ts"])


def _total_input(ev: dict[str, Any]) -> int:
    return sum(
        ev.get(k, 0) for k in ("input_tokens", "cache_read_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens")
    )


def test_deterministic(events: list[dict[str, Any]]) -> None:
    again = generate_events(END)
    assert again == events
    assert json.dumps(again) == json.dumps(events)
    assert generate_events(END, seed=8) != events


def test_size(events: list[dict[str, Any]]) -> None:
    assert 15_000 <= len(events) <= 30_000


def test_ninety_day_window(events: list[dict[str, Any]]) -> None:
    first = datetime(2026, 8, 28, tzinfo=UTC)  # END - 89 days
    end_of_day = datetime(2026, 11, 26, tzinfo=UTC)
    stamps = [_ts(e) for e in events]
    assert min(stamps) >= first
    assert max(stamps) < end_of_day
    assert min(stamps).date() == first.date()
    assert max(stamps).date() == END
    assert len({s.date() for s in stamps}) == 90
    assert stamps == sorted(stamps)
    for e in events[:50]:
        assert len(e["ts"]) == 24 and e["ts"].endswith("Z")


def test_now_cuts_the_future_and_keeps_ids(events: list[dict[str, Any]]) -> None:
    now = datetime(2026, 11, 25, 13, 30, tzinfo=UTC)
    cut = generate_events(END, now=now)
    assert cut and all(_ts(e) <= now for e in cut)
    assert len(cut) < len(events)
    assert cut == events[: len(cut)]  # same ids and content, only the future is gone


def test_event_ids_unique(events: list[dict[str, Any]]) -> None:
    ids = [e["event_id"] for e in events]
    assert len(set(ids)) == len(ids)
    assert all(i.startswith("demo-") for i in ids)
    message_ids = [e["message_id"] for e in events]
    assert len(set(message_ids)) == len(message_ids)


def test_weekdays_busier_than_weekends(events: list[dict[str, Any]]) -> None:
    per_day = Counter(_ts(e).date() for e in events)
    weekday = [n for d, n in per_day.items() if d.weekday() < 5]
    weekend = [n for d, n in per_day.items() if d.weekday() >= 5]
    assert sum(weekday) / len(weekday) > 4 * sum(weekend) / len(weekend)


def test_growth_over_the_window(events: list[dict[str, Any]]) -> None:
    first_month = sum(1 for e in events if _ts(e).date() < date(2026, 9, 27))
    last_month = sum(1 for e in events if _ts(e).date() > date(2026, 10, 26))
    assert last_month > first_month


def test_models_and_providers(events: list[dict[str, Any]]) -> None:
    models = Counter(e["model"] for e in events)
    providers = {e["provider"] for e in events}
    assert len(models) >= 4
    assert len(providers & KNOWN_PROVIDERS) >= 2
    top3 = {m for m, _ in models.most_common(3)}
    assert top3 == {"gpt-4o", "claude-sonnet-4-5", "gpt-4o-mini"}
    assert any(e["model_raw"] != e["model"] for e in events)  # dated snapshots and prefixes


def test_unknown_model_share(events: list[dict[str, Any]]) -> None:
    unknown = sum(1 for e in events if e["provider"] not in KNOWN_PROVIDERS)
    assert 0.005 <= unknown / len(events) <= 0.03


def test_event_invariants(events: list[dict[str, Any]]) -> None:
    names = set(EVENT_COLUMN_NAMES)
    for e in events:
        assert set(e) <= names
        assert list(e) == [k for k in EVENT_COLUMN_NAMES if k in e]  # canonical key order
        assert None not in e.values()
        for key in INT_COLUMNS:
            if key in e:
                assert type(e[key]) is int and e[key] >= 0, (key, e)
        assert e["requests"] == 1
        if "message_tokens" in e:
            parts = e["message_tokens"] + e.get("context_tokens", 0) + e.get("file_tokens", 0)
            assert parts == _total_input(e), e
        assert e.get("reasoning_tokens", 0) <= e["output_tokens"]
        assert e.get("tool_output_tokens", 0) <= e["output_tokens"]
        if e["provider"] != "anthropic":
            assert "cache_write_5m_tokens" not in e and "cache_write_1h_tokens" not in e
        assert e["status"] in ("success", "error")
        if e["status"] == "error":
            assert e["output_tokens"] == 0 and e.get("error_type")
        else:
            assert "error_type" not in e
        if "extra" in e:
            assert isinstance(e["extra"], dict)


def test_error_share(events: list[dict[str, Any]]) -> None:
    errors = sum(1 for e in events if e["status"] == "error")
    assert 0.003 <= errors / len(events) <= 0.03


def test_attribution(events: list[dict[str, Any]]) -> None:
    members = {e["member"] for e in events if "member" in e}
    assert members == set(DEMO_MEMBERS)
    # most events carry the mapping, some leave it to the config, a few have no member
    with_member = [e for e in events if "member" in e]
    unmapped = sum(1 for e in with_member if "team" not in e)
    assert 0.05 < unmapped / len(with_member) < 0.4
    for e in with_member:
        if "team" in e:
            assert DEMO_MEMBERS[e["member"]] == {k: e[k] for k in ("team", "department", "cost_center")}
    no_member = sum(1 for e in events if "member" not in e)
    assert 0 < no_member / len(events) < 0.15
    features = {e["feature"] for e in events}
    assert features == {"chat", "agents", "web-search", "analysis", "code-review", "batch-summaries"}
    assert {e["platform"] for e in events} == {"web", "mobile", "api", "integration"}
    assert {e.get("integration") for e in events} == {None, "gmail", "slack", "notion", "salesforce"}
    assert {e.get("tool") for e in events} == {
        None, "web_search", "document_analysis", "image_analysis", "code_generation"
    }  # fmt: skip
    assert any(e.get("extra", {}).get("voice") for e in events if e["platform"] == "mobile")
    batch = [e for e in events if e["service_tier"] == "batch"]
    assert batch and all(e["feature"] == "batch-summaries" for e in batch)


def test_chats_grow_and_files_are_reused(events: list[dict[str, Any]]) -> None:
    sessions: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        if e["feature"] == "chat" and e["status"] == "success":
            sessions.setdefault(e["session_id"], []).append(e)
    long_chats = [s for s in sessions.values() if len(s) >= 5]
    assert long_chats
    growing = sum(1 for s in long_chats if s[-1]["context_tokens"] > s[0]["context_tokens"])
    assert growing == len(long_chats)
    chats_per_file: dict[str, set[str]] = {}
    for e in events:
        if "file_id" in e:
            assert e["file_name"] and e["file_bytes"] > 0 and e["file_tokens"] > 0
            chats_per_file.setdefault(e["file_id"], set()).add(e["session_id"])
    assert max(len(s) for s in chats_per_file.values()) >= 3


def test_long_context_requests(events: list[dict[str, Any]]) -> None:
    over = [e for e in events if e["model"] == "claude-sonnet-4-5" and _total_input(e) > 200_000]
    assert over


def test_spike_day(events: list[dict[str, Any]]) -> None:
    per_day: Counter[date] = Counter()
    for e in events:
        per_day[_ts(e).date()] += _total_input(e) + e["output_tokens"]
    weekdays = sorted(v for d, v in per_day.items() if d.weekday() < 5)
    median = weekdays[len(weekdays) // 2]
    assert weekdays[-1] > 4 * median


def test_small_days_and_scale() -> None:
    few = generate_events(date(2026, 1, 7), days=2, scale=0.3)
    assert few
    assert {_ts(e).date() for e in few} <= {date(2026, 1, 6), date(2026, 1, 7)}
    with pytest.raises(ValueError):
        generate_events(END, days=0)


def test_jsonl_round_trip(events: list[dict[str, Any]], tmp_path: Path) -> None:
    path = tmp_path / "demo.jsonl"
    assert write_jsonl(events, path) == len(events)
    raw = path.read_bytes()
    assert raw.endswith(b"\n") and b"\r" not in raw
    back = [json.loads(line) for line in raw.decode("utf-8").splitlines()]
    assert back == events


def test_csv(events: list[dict[str, Any]], tmp_path: Path) -> None:
    path = tmp_path / "demo.csv"
    sample = events[:500]
    assert write_csv(sample, path) == len(sample)
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert tuple(rows[0]) == EVENT_COLUMN_NAMES
    assert len(rows) == len(sample) + 1
    for ev, row in zip(sample, rows[1:], strict=True):
        cells = dict(zip(EVENT_COLUMN_NAMES, row, strict=True))
        assert cells["event_id"] == ev["event_id"]
        assert cells["input_tokens"] == str(ev["input_tokens"])
        assert cells["extra"] == ("" if "extra" not in ev else json.dumps(ev["extra"], separators=(",", ":")))
        for name in EVENT_COLUMN_NAMES:
            if name not in ev:
                assert cells[name] == ""


def test_write_examples_is_stable(tmp_path: Path) -> None:
    paths = write_examples(tmp_path, EXAMPLES_END)
    names = [p.relative_to(tmp_path).as_posix() for p in paths]
    assert names == ["canonical/sample.jsonl", "canonical/sample.csv", "canonical/bad-lines.jsonl"]
    sample = [json.loads(x) for x in paths[0].read_text(encoding="utf-8").splitlines()]
    assert 150 <= len(sample) <= 300
    assert {e["provider"] for e in sample} >= KNOWN_PROVIDERS
    # ids of their own: the README's first import runs against the demo's database, whose
    # events are demo-NNNNNN; the sample's were too, so all 218 were dropped as "duplicates"
    assert all(e["event_id"].startswith("sample-") for e in sample)
    lines = paths[2].read_text(encoding="utf-8").split("\n")
    assert len(lines) == 11
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError:
            parsed.append(None)
    assert parsed[2] is None and parsed[10] is None  # unparseable, truncated
    assert "ts" not in parsed[3]
    assert parsed[4]["input_tokens"] < 0
    assert parsed[6]["output_tokens"] == 12.5
    assert parsed[7]["output_tokens"] == "n/a"
    assert parsed[8]["ts"] == "2026-11-31T25:61:00Z"
    # the committed copies under examples/ are exactly what the generator writes
    committed = Path(__file__).resolve().parents[1] / "examples"
    for p in paths:
        mine = committed / p.relative_to(tmp_path)
        if mine.exists():
            assert mine.read_bytes() == p.read_bytes(), f"{mine} is stale: rerun write_examples"


def test_end_is_today_with_now() -> None:
    now = datetime.now(UTC)
    evs = generate_events(now.date(), days=3, now=now, scale=0.2)
    assert all(_ts(e) <= now for e in evs)
    assert all(_ts(e) >= datetime.combine(now.date() - timedelta(days=2), datetime.min.time(), UTC) for e in evs)


def _demo_state(db: Path) -> tuple[int, list[tuple[Any, ...]]]:
    """(events, the import batches' path and counts) of a demo database."""
    from tests.helpers import query

    events = query(db, "SELECT count(*) FROM events")[0][0]
    return events, query(db, "SELECT path, records, imported FROM import_batches ORDER BY batch_id")


@pytest.mark.parametrize("when", ["before the import", "after the import"])
def test_an_interrupted_demo_leaves_the_old_demo_database_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, when: str
) -> None:
    """QA: Ctrl-C during `usagectl demo` over a demo database of 19,817 events left no database,
    or one of 0 events under "interrupted; nothing was imported; the database is as it was":
    the demo deleted it first. The new one is built beside it and moved over it only once
    complete: a Ctrl-C before its import, or after the import committed into the new one,
    leaves the old one as it was (the 2-day demo's events, one batch of as many records),
    the message says so, exit 130, and nothing else is left in the folder."""
    from tests.helpers import run
    from usagectl.services import demo_run

    folder = tmp_path / "demo"
    db = folder / "d.duckdb"
    run("demo", "--db", str(db), "--days", "2")
    before = _demo_state(db)
    events, batches = before
    assert events > 0 and len(batches) == 1 and batches[0][1:] == (events, events)
    real_import = demo_run.import_paths

    def interrupted_import(*args: Any, **kwargs: Any) -> Any:
        if when == "after the import":
            real_import(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(demo_run, "import_paths", interrupted_import)
    result = run("demo", "--db", str(db), "--days", "5", expect=130)
    assert _demo_state(db) == before
    assert result.stderr.splitlines()[-1] == (
        f"usagectl: interrupted; {db} is as it was (the demo replaces it only once the new one is complete)"
    )
    assert sorted(p.name for p in folder.iterdir()) == ["d.duckdb", "d.toml"]  # no WAL, no build folder
    monkeypatch.setattr(demo_run, "import_paths", real_import)
    run("demo", "--db", str(db), "--days", "5")  # and the next demo replaces it
    assert _demo_state(db)[0] > events


def test_an_interrupted_first_demo_writes_no_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.helpers import run
    from usagectl.services import demo_run

    def interrupted_import(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(demo_run, "import_paths", interrupted_import)
    folder = tmp_path / "demo"
    result = run("demo", "--db", str(folder / "d.duckdb"), "--days", "2", expect=130)
    assert result.stderr.splitlines()[-1] == "usagectl: interrupted; no demo database was written"
    assert list(folder.iterdir()) == []


def test_a_demo_killed_outright_leaves_a_build_folder_that_the_next_demo_removes(tmp_path: Path) -> None:
    """QA: `usagectl demo` killed with SIGKILL (no clean-up runs) left its build folder
    (``.usagectl-demo-build-*``, with the half-built database) and its temporary JSONL, and no
    later run removed them. Both now lie in the build folder, marked as at work by an OS lock
    that dies with the process: the next demo removes it. A folder whose mark a live process
    holds (another demo at work) stays, as does one without a mark made just now (a new run
    between making the folder and marking it); one without a mark an hour old (from a version
    before the mark) goes."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.helpers import run
    from usagectl.services.demo_run import BUILD_MARK, BUILD_PREFIX
    from usagectl.store.run_lock import alive_mark

    folder = tmp_path / "demo"
    folder.mkdir()
    db = folder / "d.duckdb"
    proc = subprocess.Popen(
        [sys.executable, "-m", "usagectl", "demo", "--db", str(db), "--days", "400"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "CI": "true"},
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not list(folder.glob(f"{BUILD_PREFIX}*/usagectl-demo-*/demo-events.jsonl")):
            assert proc.poll() is None and time.monotonic() < deadline, "the demo ended before its events were written"
            time.sleep(0.01)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    (killed,) = list(folder.glob(f"{BUILD_PREFIX}*"))
    assert (killed / BUILD_MARK).exists()
    working, fresh, old = (folder / f"{BUILD_PREFIX}{name}" for name in ("working", "fresh", "old"))
    for build in (working, fresh, old):
        build.mkdir()
        (build / "d.duckdb").write_bytes(b"half")
    hour_ago = time.time() - 3700
    os.utime(old, (hour_ago, hour_ago))
    with alive_mark(working / BUILD_MARK):
        run("demo", "--db", str(db), "--days", "2")
    assert sorted(p.name for p in folder.iterdir()) == sorted(["d.duckdb", "d.toml", working.name, fresh.name])


def test_a_demo_into_a_folder_it_cannot_write_says_so_exit_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """QA: a demo into an existing folder it may not write (chmod 555; the tests run as root,
    who may, so the OS's refusal is stood in for) said "unexpected error: PermissionError",
    exit 1. It is a database that cannot be written, exit 3, naming the folder."""
    import tempfile

    from tests.helpers import run

    def refused(*_args: Any, **kwargs: Any) -> Any:
        raise PermissionError(13, "Permission denied", str(kwargs.get("dir")))

    monkeypatch.setattr(tempfile, "TemporaryDirectory", refused)
    folder = tmp_path / "ro"
    folder.mkdir()
    result = run("demo", "--db", str(folder / "d.duckdb"), "--days", "2", expect=3)
    assert f"database {folder / 'd.duckdb'} cannot be written: {folder}: Permission denied" in result.stderr
    assert "unexpected" not in result.stderr and list(folder.iterdir()) == []


def test_a_demo_database_name_that_is_not_utf8_is_refused_before_anything_is_made(tmp_path: Path) -> None:
    """QA: ``demo --db .../bJos\\xe9/demo.duckdb`` (b"Jos\\xe9": "José" in Latin-1) was refused,
    exit 3, but by the opening of the database being built: the message named the internal
    ``.usagectl-demo-build-<random suffix>/demo.duckdb`` and the folder ``bJos\\xe9`` was left made. It is
    refused before anything is made, naming the --db given, as ``import`` refuses it."""
    import os
    import subprocess
    import sys

    folder = os.fsencode(tmp_path) + b"/bJos\xe9"
    res = subprocess.run(
        [sys.executable, "-m", "usagectl", "demo", "--db", folder + b"/demo.duckdb", "--days", "2"],
        capture_output=True, text=True, errors="replace", timeout=300,
    )  # fmt: skip
    assert res.returncode == 3, res.stderr
    assert res.stderr.startswith(
        f"usagectl: error: database {tmp_path}/bJos\\xe9/demo.duckdb cannot be opened: its name is not UTF-8"
    ), res.stderr
    assert not os.path.exists(folder) and res.stdout == ""


def test_a_signal_while_the_demo_database_is_moved_waits_until_it_is_done() -> None:
    """The move replaces the file and its WAL in steps: a Ctrl-C between them would leave the new
    file beside the old WAL. Held, it comes once the block is done, as the KeyboardInterrupt it
    would have been."""
    import signal

    from usagectl.services.demo_run import _signals_held

    steps = []
    with pytest.raises(KeyboardInterrupt):
        with _signals_held():
            signal.raise_signal(signal.SIGINT)
            steps.append("the rest of the block")
    assert steps == ["the rest of the block"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_demo_over_an_older_demo_database_replaces_it_without_upgrading_it(tmp_path: Path) -> None:
    """Seen running the README's demo after an upgrade: the demo upgraded its old demo database
    (a copy ``.schema-11.bak`` kept and a warning printed), only to replace it whole a moment
    later. Its look at the old file (does it hold anything the demo did not write?) now reads it
    as it is. Here the demo database of 2 days is put back to schema 3 (the later migrations'
    rows removed, its payments table dropped, as schema 3 had none): the next demo prints no
    upgrade, leaves no copy, and the database it writes is at the newest schema."""
    import duckdb

    from tests.helpers import run
    from usagectl.store import schema

    folder = tmp_path / "demo"
    db = folder / "d.duckdb"
    run("demo", "--db", str(db), "--days", "2")
    con = duckdb.connect(str(db))
    con.execute("DELETE FROM schema_migrations WHERE version > 3")
    con.execute("DROP TABLE payments")
    con.close()
    result = run("demo", "--db", str(db), "--days", "2")
    assert "upgrading" not in result.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["d.duckdb", "d.toml"]
    con = duckdb.connect(str(db), read_only=True)
    try:
        version = con.execute("SELECT max(version) FROM schema_migrations").fetchone()
    finally:
        con.close()
    assert version == (schema.latest_version(),)
