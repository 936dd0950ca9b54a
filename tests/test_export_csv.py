"""`usagectl export` to CSV, JSON and JSONL: stable columns, RFC 4180, exact money, OWASP
formula-injection neutralisation, and the round trip through `usagectl import`.

Fixture (rates per 1M tokens, PRICING.md: gpt-4o 2.50 in / 10 out; gpt-4o-mini 0.15 / 0.60;
claude-sonnet-4-5 3 in / 15 out, cache read 0.30, 5m write 3.75, 1h write 6; mistral unpriced):

E1 2025-11-03T10:00Z alice gpt-4o       1,000,000 in + 100,000 out   = 2.50 + 1.00          = 3.50
E2 2025-11-03T23:30Z bob   gpt-4o-mini  1,000,000 in + 1,000,000 out = 0.15 + 0.60          = 0.75
   (Europe/Berlin: 2025-11-04 00:30)
E3 2025-11-04T09:00Z carol sonnet-4-5   20k in, 100k cache read, 40k 5m, 20k 1h, 10k out
   (input 180k <= 200k: base band)      = 0.06 + 0.03 + 0.15 + 0.12 + 0.15                   = 0.51
E4 2025-11-05T12:00Z hostile member/title gpt-4o-mini 1,000,000 out, reported -0.5        = 0.60
E5 2025-11-06T08:00Z dave  mistral-large-2411 5,000 in + 100 out                         unpriced
E6 2025-11-30T23:30Z alice gpt-4o         400,000 in = 1.00 (Europe/Berlin: 2025-12-01 00:30)

Priced total 3.50 + 0.75 + 0.51 + 0.60 + 1.00 = 6.36. Tokens: 1,100,000 + 2,000,000 +
190,000 + 1,000,000 + 5,100 + 400,000 = 4,695,100. Requests 6 (1 unpriced).
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import run, write_jsonl

D = Decimal
HOSTILE_MEMBER = '=HYPERLINK("http://evil.example","x")'
HOSTILE_TITLE = "@SUM(1+1)*cmd|' /C calc'!A0"


def _ev(eid: str, ts: str, model: str, member: str | None, **kw: Any) -> dict[str, Any]:
    ev: dict[str, Any] = {"event_id": eid, "ts": ts, "model_raw": model}
    if member:
        ev["member"] = member
    return ev | kw


EVENTS = [
    _ev("E1", "2025-11-03T10:00:00Z", "gpt-4o", "alice", input_tokens=1_000_000, output_tokens=100_000,
        project="+plus", chat_title="-minus title"),
    _ev("E2", "2025-11-03T23:30:00Z", "gpt-4o-mini", "bob", input_tokens=1_000_000, output_tokens=1_000_000,
        feature="\tTAB"),
    _ev("E3", "2025-11-04T09:00:00Z", "claude-sonnet-4-5", "carol", input_tokens=20_000,
        cache_read_tokens=100_000, cache_write_5m_tokens=40_000, cache_write_1h_tokens=20_000,
        output_tokens=10_000),
    _ev("E4", "2025-11-05T12:00:00Z", "gpt-4o-mini", HOSTILE_MEMBER, output_tokens=1_000_000,
        chat_title=HOSTILE_TITLE, session_id="s-1", reported_cost_usd="-0.5"),
    _ev("E5", "2025-11-06T08:00:00Z", "mistral-large-2411", "dave", input_tokens=5_000, output_tokens=100,
        provider="mistral"),
    _ev("E6", "2025-11-30T23:30:00Z", "gpt-4o", "alice", input_tokens=400_000),
]  # fmt: skip
CONFIG = """
[members.alice]
team = "platform"
cost_center = "cc-100"
[members.bob]
team = "platform"
cost_center = "cc-100"
[members.carol]
team = "growth"
cost_center = "cc-200"
"""
TOTAL_COST = D("6.36")
TOTAL_TOKENS = 4_695_100
ALL = ("--since", "2025-11-01", "--until", "2025-12-31")


def wire_export() -> None:
    """Register `export` on the root app until the lead wires it (then this is a no-op)."""
    from usagectl.cli import app
    from usagectl.cli.export import register

    if not any(c.name == "export" for c in app.registered_commands):
        register(app)


@pytest.fixture(autouse=True)
def _wired() -> None:
    wire_export()


@pytest.fixture
def loaded(tmp_path: Path, db_path: Path) -> Path:
    (tmp_path / "work" / "usagectl.toml").write_text(CONFIG, encoding="utf-8")
    run("import", str(write_jsonl(tmp_path / "events.jsonl", EVENTS)), "--db", str(db_path))
    return db_path


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_events_csv_columns_money_and_line_endings(loaded: Path) -> None:
    from usagectl.store.export import EVENT_EXPORT_NAMES

    raw = run("export", "--csv", *ALL, "--db", str(loaded)).stdout_bytes.decode("utf-8")
    assert raw.split("\r\n")[0] == ",".join(EVENT_EXPORT_NAMES)  # stable order, CRLF (RFC 4180)
    assert raw.count("\r\n") == 7 and "\n" not in raw.replace("\r\n", "")  # header + 6 rows
    rows = _rows(raw)
    assert [r["event_id"] for r in rows] == ["E1", "E2", "E3", "E4", "E5", "E6"]
    by_id = {r["event_id"]: r for r in rows}
    assert by_id["E3"]["cost_usd"] == "0.510000"  # fixed 6 decimals
    assert by_id["E3"]["ts"] == "2025-11-04T09:00:00.000000Z"
    assert by_id["E1"]["team"] == ""  # the event's own (none): the config's mapping is not baked in
    assert by_id["E5"]["cost_usd"] == ""  # unpriced: empty, never 0
    assert sum(D(r["cost_usd"]) for r in rows if r["cost_usd"]) == TOTAL_COST


def test_csv_injection_neutralised_text_only(loaded: Path) -> None:
    rows = {r["event_id"]: r for r in _rows(run("export", *ALL, "--db", str(loaded)).stdout)}
    assert rows["E4"]["member"] == "'" + HOSTILE_MEMBER
    assert rows["E4"]["chat_title"] == "'" + HOSTILE_TITLE
    assert rows["E1"]["project"] == "'+plus"
    assert rows["E1"]["chat_title"] == "'-minus title"
    assert rows["E2"]["feature"] == "'\tTAB"
    assert rows["E4"]["reported_cost_usd"] == "-0.5"  # a real negative number stays numeric (every digit)
    # report exports go through the shared CSV renderer: neutralised too
    report = _rows(run("export", "--csv", "--report", "by-member", *ALL, "--db", str(loaded)).stdout)
    assert "'" + HOSTILE_MEMBER in [r["member"] for r in report]


def test_csv_round_trip_through_import(loaded: Path, tmp_path: Path) -> None:
    out = tmp_path / "events.csv"
    run("export", "--csv", "--out", str(out), *ALL, "--db", str(loaded))
    db2 = tmp_path / "copy.duckdb"
    run("import", str(out), "--db", str(db2))
    from tests.helpers import run_json

    before = run_json("report", "by", "model", *ALL, "--db", str(loaded))["totals"]
    after = run_json("report", "by", "model", *ALL, "--db", str(db2))["totals"]
    assert D(str(after["cost_usd"])) == TOTAL_COST == D(str(before["cost_usd"]))
    assert after["total_tokens"] == TOTAL_TOKENS == before["total_tokens"]
    assert after["requests"] == before["requests"] == 6
    assert after["unpriced_requests"] == 1


def test_csv_export_imported_again_adds_nothing(tmp_path: Path, db_path: Path) -> None:
    """The formula guard's ``'`` is removed on CSV import, so ids and names come back exact:
    importing the export into the same database finds only duplicates, into a new one the
    same text. A ``'`` of the value itself before a guarded character is kept (the export
    adds one more, the import removes one). Each event 40,000 gpt-4o input tokens x $2.50/M
    = $0.10; three events = $0.30."""
    tricky = [
        _ev("=1+1", "2025-11-03T10:00:00Z", "gpt-4o", "@alice", input_tokens=40_000, chat_title="- fix bug"),
        _ev("'=2", "2025-11-03T11:00:00Z", "gpt-4o", "'-bob", input_tokens=40_000, project="\ttabbed"),
        _ev("'plain", "2025-11-03T12:00:00Z", "gpt-4o", "'carol", input_tokens=40_000, feature="+x"),
    ]
    run("import", str(write_jsonl(tmp_path / "tricky.jsonl", tricky)), "--db", str(db_path))
    out = tmp_path / "tricky.csv"
    run("export", "--csv", "--out", str(out), *ALL, "--db", str(db_path))
    exported = {r["event_id"]: r for r in _rows(out.read_text(encoding="utf-8"))}
    assert set(exported) == {"'=1+1", "''=2", "'plain"}  # guarded once; 'plain needs no guard
    assert exported["''=2"]["member"] == "''-bob"

    def stored(db: Path) -> list[tuple[Any, ...]]:
        lines = run("export", "--jsonl", *ALL, "--db", str(db)).stdout.splitlines()
        keys = ("event_id", "member", "chat_title", "project", "feature")
        return [tuple(json.loads(line)[k] for k in keys) for line in lines]

    original = [("=1+1", "@alice", "- fix bug", None, None), ("'=2", "'-bob", None, "\ttabbed", None),
                ("'plain", "'carol", None, None, "+x")]  # fmt: skip
    assert stored(db_path) == original
    run("import", str(out), "--db", str(db_path))  # the same events again: all duplicates
    from tests.helpers import run_json

    totals = run_json("report", "by", "member", *ALL, "--db", str(db_path))["totals"]
    assert totals["requests"] == 3 and D(str(totals["cost_usd"])) == D("0.30")
    assert stored(db_path) == original
    fresh = tmp_path / "fresh.duckdb"
    run("import", str(out), "--db", str(fresh))
    assert stored(fresh) == original


def test_tz_day_boundary_and_filters(loaded: Path) -> None:
    # Berlin 2025-11-04 holds E2 (00:30 local) and E3: 0.75 + 0.51 = 1.26
    args = ("--since", "2025-11-04", "--until", "2025-11-04", "--tz", "Europe/Berlin", "--db", str(loaded))
    rows = _rows(run("export", *args).stdout)
    assert [r["event_id"] for r in rows] == ["E2", "E3"]
    assert sum(D(r["cost_usd"]) for r in rows) == D("1.26")
    only = _rows(run("export", *ALL, "--model", "gpt-4o", "--db", str(loaded)).stdout)
    assert [r["event_id"] for r in only] == ["E1", "E6"]  # 3.50 + 1.00


def test_jsonl_and_json_documents(loaded: Path) -> None:
    lines = run("export", "--jsonl", *ALL, "--db", str(loaded)).stdout.splitlines()
    recs = [json.loads(line, parse_float=D) for line in lines]
    assert len(recs) == 6
    assert sum(r["cost_usd"] for r in recs if r["cost_usd"] is not None) == TOTAL_COST
    assert recs[3]["member"] == HOSTILE_MEMBER  # JSON is data, not a spreadsheet: unchanged
    doc = json.loads(run("export", "--json", *ALL, "--db", str(loaded)).stdout, parse_float=D)
    assert doc["report"] == "events" and len(doc["rows"]) == 6
    assert doc["totals"] == {"events": 6, "cost_usd": TOTAL_COST, "unpriced_events": 1}


def test_report_exports_and_usage_errors(loaded: Path, tmp_path: Path) -> None:
    rows = _rows(run("export", "--report", "by-model", *ALL, "--db", str(loaded)).stdout)
    cost = {r["model"]: r["cost_usd"] for r in rows}
    assert cost["gpt-4o"] == "4.500000"  # E1 3.50 + E6 1.00
    assert cost["mistral-large-2411"] == ""
    jl = run("export", "--jsonl", "--report", "cost-centers", *ALL, "--db", str(loaded)).stdout.splitlines()
    centers = {r["cost_center"]: r for r in map(json.loads, jl)}
    assert centers["cc-200"]["direct_cost_usd"] == 0.51  # carol, E3
    res = run("export", "--parquet", "--db", str(loaded), expect=2)
    assert "--out" in res.stderr
    res = run("export", "--csv", "--json", "--db", str(loaded), expect=2)
    assert "one format" in res.stderr
    res = run("export", "--report", "nope", "--db", str(loaded), expect=2)
    assert "events, daily" in res.stderr
    res = run("export", "--csv", "--partition-by", "month", "--db", str(loaded), expect=2)
    assert "--parquet" in res.stderr


def test_out_dash_is_stdout_and_a_missing_folder_is_named(
    loaded: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--out -`` prints a text format (no file named "-") and is refused for the binary ones;
    a file in a folder that does not exist is a usage error (exit 2, not 4: nothing was read)
    naming the folder, not a crash."""
    monkeypatch.chdir(tmp_path)
    doc = json.loads(run("export", "--json", *ALL, "--out", "-", "--db", str(loaded)).stdout, parse_float=D)
    assert doc["totals"]["cost_usd"] == TOTAL_COST  # 6.36, as above
    rows = _rows(run("export", "--report", "by-model", *ALL, "-o", "-", "--db", str(loaded)).stdout)
    assert {r["model"]: r["cost_usd"] for r in rows}["gpt-4o"] == "4.500000"  # E1 3.50 + E6 1.00
    assert not (tmp_path / "-").exists()
    for fmt in ("--pdf", "--parquet"):
        res = run("export", fmt, "--out", "-", "--db", str(loaded), expect=2)
        assert f"--out - is stdout; {fmt} writes a binary file" in res.stderr
    missing = tmp_path / "no" / "such"
    for fmt in ("--pdf", "--parquet", "--csv", "--focus"):
        res = run("export", fmt, "--out", str(missing / "x.out"), "--db", str(loaded), expect=2)
        assert f"folder {missing} does not exist" in res.stderr and "unexpected" not in res.stderr
    assert not (tmp_path / "no").exists() and not (tmp_path / "-").exists()


@pytest.mark.parametrize(
    "fmt", [("--csv",), ("--json",), ("--jsonl",), ("--parquet",), ("--focus",), ("--pdf",),
            ("--parquet", "--partition-by", "month"), ("--csv", "--report", "by-model")]
)  # fmt: skip
def test_out_never_overwrites_the_database_or_the_config(
    loaded: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: tuple[str, ...]
) -> None:
    """``--out`` naming the database (directly, relatively, through a symlink, or its WAL) or
    the config file read (./usagectl.toml, found in the working folder) is refused with exit 2,
    and both files are left byte for byte as they were."""
    work = tmp_path / "work"
    link = tmp_path / "link.duckdb"
    link.symlink_to(loaded)
    config = work / "usagectl.toml"
    before = loaded.read_bytes(), config.read_bytes()
    wal = Path(f"{loaded}.wal")
    targets = [
        (str(loaded), "the database in use"),
        (f"../{loaded.name}", "the database in use"),  # relative to the working folder
        (str(link), "the database in use"),
        (str(wal), "the WAL of the database in use"),
        ("usagectl.toml", "the config file in use"),
        (str(config), "the config file in use"),
    ]
    for target, what in targets:
        res = run("export", *fmt, "--out", target, *ALL, "--db", str(loaded), expect=2)
        assert f"--out {target} is {what}" in res.stderr, res.stderr
    assert (loaded.read_bytes(), config.read_bytes()) == before
    assert not wal.exists()
    # the database still opens and holds its 6 events, $6.36 (as computed in the docstring)
    from tests.helpers import run_json

    totals = run_json("report", "by", "model", *ALL, "--db", str(loaded))["totals"]
    assert totals["requests"] == 6 and D(str(totals["cost_usd"])) == TOTAL_COST


@pytest.mark.parametrize(
    "fmt", [("--csv",), ("--jsonl",), ("--json",), ("--parquet",), ("--parquet", "--partition-by", "month")]
)
def test_too_small_memory_limit_is_a_clear_error(
    loaded: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: tuple[str, ...]
) -> None:
    """DuckDB cannot allocate its first 2 MiB block under a 1MB limit: a --memory-limit the
    user gave is a usage error naming it (exit 2); the default limit running out is exit 1
    naming that limit. Neither is an "unexpected error … report it", and no file is left."""
    from usagectl.store import export as store_export

    out = tmp_path / "out.file"
    res = run("export", *fmt, "--memory-limit", "1MB", "--out", str(out), *ALL, "--db", str(loaded), expect=2)
    assert "--memory-limit 1MB is too small for this export" in res.stderr
    assert "a larger --memory-limit" in res.stderr and "unexpected" not in res.stderr
    assert not out.exists() and list(tmp_path.glob(".out.file*")) == []
    monkeypatch.setattr(store_export, "DEFAULT_MEMORY_LIMIT", "1MB")
    res = run("export", *fmt, "--out", str(out), *ALL, "--db", str(loaded), expect=1)
    assert "the export ran out of memory under its default limit of 1MB" in res.stderr
    assert "a larger --memory-limit" in res.stderr and "report it" not in res.stderr
    assert not out.exists()


def test_events_stream_in_sorted_day_chunks(loaded: Path) -> None:
    """Tiny chunks and batches: the runs of UTC days (11-03: E1, E2 | 11-04 | 11-05 | ...) are
    sorted one by one and still come out in ts order, every event once."""
    from usagectl.services.context import make_context
    from usagectl.services.reports import ReportRequest, build_filters
    from usagectl.store import reports as q
    from usagectl.store.connection import connect
    from usagectl.store.export import iter_events

    ctx = make_context(None, loaded)
    flt = build_filters(ctx, ReportRequest(since="2025-11-01", until="2025-12-31", tz="UTC"))
    with connect(loaded, read_only=True) as con:
        q.prepare_session(con, ctx.pricebook(), ctx.config.members, flt)
        batches = list(iter_events(con, flt, batch_rows=1, chunk_events=1))
    assert [r["event_id"] for b in batches for r in b] == ["E1", "E2", "E3", "E4", "E5", "E6"]
    assert sum(r["cost_usd"] for b in batches for r in b if r["cost_usd"] is not None) == TOTAL_COST


def test_jsonl_writes_tiny_money_as_plain_decimals_like_json(tmp_path: Path) -> None:
    """Amounts under $0.0001 are written as 0.000012, never 1.2e-05, in JSONL as in --json."""
    db = tmp_path / "tiny.duckdb"
    events = [
        _ev("T1", "2025-11-03T10:00:00Z", "gpt-4o-mini", None, input_tokens=80),  # 80 x 0.15/M = 0.000012
        _ev("T2", "2025-11-03T10:00:01Z", "gpt-4o", None, input_tokens=1),  # 1 x 2.50/M = 0.0000025 -> 0.000002
    ]
    run("import", str(write_jsonl(tmp_path / "tiny.jsonl", events)), "--db", str(db))
    args = ("--since", "2025-11-03", "--until", "2025-11-03", "--db", str(db))
    lines = run("export", "--jsonl", *args).stdout.splitlines()
    assert [line.rsplit('"cost_usd": ', 1)[1] for line in lines] == ["0.000012}", "0.000002}"]
    assert "e-0" not in run("export", "--jsonl", "--report", "by-model", *args).stdout
    assert '"cost_usd": 0.000012}' in run("export", "--json", *args).stdout


def test_out_writes_through_a_symlink_and_refuses_a_pipe(loaded: Path, tmp_path: Path) -> None:
    """`--out` renamed its finished file over whatever the path was (QA finding): a FIFO's reader
    got nothing, a symlink was replaced by a file (its target never written) and, as root, a
    device node in /dev was replaced. A symlink is now written through; a pipe is refused (exit 2)
    and stays a pipe."""
    import os
    import stat

    target = tmp_path / "target.csv"
    target.write_text("old\n")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    run("export", "--csv", "--out", str(link), "--db", str(loaded))
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text().startswith("event_id,ts,")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    err = run("export", "--csv", "--out", str(fifo), "--db", str(loaded), expect=2).stderr
    assert "is not a regular file (a device, pipe or socket)" in err
    assert stat.S_ISFIFO(fifo.stat().st_mode) and not list(tmp_path.glob(".*.part"))


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs a folder that takes no new files (/proc)")
@pytest.mark.parametrize("args", [["--parquet"], ["--focus"], ["--parquet", "--partition-by", "month"]])
def test_out_in_a_folder_that_takes_no_files_is_a_usage_error(loaded: Path, args: list[str]) -> None:
    """Parquet blamed the database (exit 3), FOCUS Parquet and --partition-by ended in an
    "unexpected error" (exit 1); like CSV and PDF, they now say the --out cannot be written, exit 2."""
    out = "/proc/usagectl-test-out" + ("" if "--partition-by" in args else ".parquet")
    err = run("export", *args, "--out", out, "--db", str(loaded), expect=2).stderr
    assert f"--out {out} cannot be written" in err and "database" not in err and ".part" not in err


VOICE_EXTRA = {"voice": True, "k": [1, 2, {"z": None}], "uni": "héllo"}


def _reimported_extras(tmp_path: Path, fmt: str) -> tuple[Path, dict[str, Any]]:
    """Two gpt-4o events (1,000 in + 100 out: 1,000 x 2.50/M + 100 x 10/M = 0.0025 + 0.001 =
    $0.0035 each) on platform mobile, the first with ``VOICE_EXTRA``, exported as ``fmt`` and
    imported into a fresh database: that database and its ``extra`` per event id."""
    events = [
        _ev("v1", "2025-11-03T10:00:00Z", "gpt-4o", None, input_tokens=1000, output_tokens=100, platform="mobile",
            extra=VOICE_EXTRA),
        _ev("v2", "2025-11-03T11:00:00Z", "gpt-4o", None, input_tokens=1000, output_tokens=100, platform="mobile"),
    ]  # fmt: skip
    first, second = tmp_path / "first.duckdb", tmp_path / f"from-{fmt}.duckdb"
    run("import", str(write_jsonl(tmp_path / "voice.jsonl", events)), "--db", str(first))
    out = tmp_path / f"voice-export.{fmt}"
    run("export", f"--{fmt}", "--out", str(out), *ALL, "--db", str(first))
    run("import", str(out), "--db", str(second))
    from tests.helpers import query

    extras = {
        eid: None if x is None else json.loads(x) for eid, x in query(second, "SELECT event_id, extra FROM events")
    }
    return second, extras


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv", "parquet"])
def test_an_event_export_imported_again_keeps_extra(tmp_path: Path, fmt: str) -> None:
    """``extra`` is written as its JSON text; the import reads that text back as the JSON it
    holds (a JSONL string once became a JSON string scalar, or ``{"extra": "...", "fields":
    ...}`` beside the export's ``cost_usd``), so the voice message is still one."""
    from tests.helpers import run_json

    db, extras = _reimported_extras(tmp_path, fmt)
    assert {k: extras["v1"][k] for k in VOICE_EXTRA} == VOICE_EXTRA
    platforms = run_json("report", "platforms", *ALL, "--db", str(db))
    assert platforms["totals"]["voice_requests"] == 1  # v1 only


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv", "parquet"])
def test_an_event_export_imported_again_leaves_its_cost_usd_out_of_extra(tmp_path: Path, fmt: str) -> None:
    """The export's own ``cost_usd`` (the cost as priced at export time, $0.0035 here) is not
    stored in ``extra`` as an unknown column: the import prices each event itself, so the
    round trip gives back the same ``extra`` (none for v2) and says why the column is left out."""
    from tests.helpers import run_json

    db, extras = _reimported_extras(tmp_path, fmt)
    assert extras == {"v1": VOICE_EXTRA, "v2": None}
    # the cost is the import's own pricing: 2 x $0.0035 = $0.007
    assert D(str(run_json("report", "by", "model", *ALL, "--db", str(db))["totals"]["cost_usd"])) == D("0.007")
    again = run("import", str(tmp_path / f"voice-export.{fmt}"), "--db", str(tmp_path / "third.duckdb"))
    assert "kept in extra" not in again.stderr
    assert "note:" in again.stderr and "cost_usd" in again.stderr


def test_a_cost_usd_column_of_a_file_that_is_no_export_is_kept_in_extra(tmp_path: Path, db_path: Path) -> None:
    """Only an event export's columns (every canonical column and ``cost_usd``) mark its
    ``cost_usd`` as the export's; in any other file it is the user's own column, kept."""
    rec = _ev("u1", "2025-11-03T10:00:00Z", "gpt-4o", "alice", input_tokens=1000, cost_usd=0.5)
    result = run("import", str(write_jsonl(tmp_path / "own.jsonl", [rec])), "--db", str(db_path))
    assert "unknown column kept in extra: cost_usd" in result.stderr
    from tests.helpers import query

    assert json.loads(query(db_path, "SELECT extra FROM events")[0][0]) == {"cost_usd": 0.5}


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl", "parquet"])
def test_every_event_export_notes_its_unpriced_events(loaded: Path, tmp_path: Path, fmt: str) -> None:
    """E5 (mistral-large-2411, 5,000 + 100 tokens) has no price: every event export says so on
    stderr, to a file or to stdout, naming the model (only Parquet did; "1 events are")."""
    outs = [["--out", str(tmp_path / f"e.{fmt}")]] + ([[]] if fmt != "parquet" else [])
    for out in outs:
        err = run("export", f"--{fmt}", *out, *ALL, "--db", str(loaded)).stderr
        assert "note: 1 event is unpriced: its cost_usd is empty (null), never 0." in err, err
        assert "mistral-large-2411 (1 request, 5,100 tokens)" in err, err


def test_leading_spaces_and_reported_cost_survive_an_export_imported_again(tmp_path: Path, db_path: Path) -> None:
    """An id or a name that begins with a space (" sp1", " carol"), written unquoted by the
    CSV export, lost its space on import (read as a ", "-separated file): the same event came
    back as a second one (QA: 3 requests, $7.50 for 2 events of 1M gpt-4o input, $2.50 each).
    The reported cost keeps every stored digit (0.0000004, not 0.000000) in CSV and JSONL."""
    events = [
        _ev(" sp1", "2025-11-03T10:00:00Z", "gpt-4o", None, input_tokens=1_000_000, reported_cost_usd="0.0000004"),
        _ev("sp2", "2025-11-03T11:00:00Z", "gpt-4o", " carol", input_tokens=1_000_000,
            reported_cost_usd="0.012345678901"),
    ]  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "e.jsonl", events)), "--db", str(db_path))
    from tests.helpers import run_json

    for fmt in ("csv", "jsonl"):
        out = tmp_path / f"e.{fmt}"
        run("export", f"--{fmt}", "--out", str(out), "--db", str(db_path))
        assert run_json("import", str(out), "--db", str(db_path))["imported"] == 0, fmt
        totals = run_json("report", "by", "model", *ALL, "--db", str(db_path))["totals"]
        assert (totals["requests"], D(str(totals["cost_usd"]))) == (2, D("5")), fmt
        fresh = tmp_path / f"fresh-{fmt}.duckdb"
        run("import", str(out), "--db", str(fresh))
        from tests.helpers import query

        assert query(fresh, "SELECT event_id, member, reported_cost_usd FROM events ORDER BY ts") == [
            (" sp1", None, D("0.0000004")), ("sp2", " carol", D("0.012345678901"))], fmt  # fmt: skip


def test_an_events_export_without_a_range_holds_every_event(tmp_path: Path, db_path: Path) -> None:
    """A backup: without --since/--until every stored event is written, one dated next year
    too (a report's default range ends today and left it out without a word: QA)."""
    events = [_ev("old", "2000-01-01T00:00:00Z", "gpt-4o", None, input_tokens=1),
              _ev("now", "2025-11-03T10:00:00Z", "gpt-4o", None, input_tokens=1),
              _ev("later", "2099-06-01T10:00:00Z", "gpt-4o", None, input_tokens=1)]  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "e.jsonl", events)), "--db", str(db_path))
    for tz in ("UTC", "America/Los_Angeles"):
        lines = run("export", "--jsonl", "--tz", tz, "--db", str(db_path)).stdout.splitlines()
        assert [json.loads(x)["event_id"] for x in lines] == ["old", "now", "later"], tz
    only = run("export", "--jsonl", "--since", "2025-01-01", "--db", str(db_path)).stdout.splitlines()
    assert [json.loads(x)["event_id"] for x in only] == ["now", "later"]


def test_a_field_over_128_kib_survives_a_csv_export_imported_again(tmp_path: Path) -> None:
    """QA (fuzz): an event whose ``extra`` holds a 140,000-character string imports from JSONL;
    its CSV export then imported again was a reject ("field larger than field limit (131072)":
    Python's csv default), where JSONL, JSON and Parquet gave the event back. The limit is
    Python's own and process-wide: set to its default here (the LiteLLM reader raises it when it
    reads a file, which hid this in a process that had read one), and put back after."""
    import csv as _csv

    from tests.helpers import query

    long = "x" * 140_000
    event = _ev("big", "2025-11-03T10:00:00Z", "gpt-4o", None, input_tokens=1000, output_tokens=100,
                extra={"note": long})  # fmt: skip
    first, second = tmp_path / "first.duckdb", tmp_path / "second.duckdb"
    run("import", str(write_jsonl(tmp_path / "big.jsonl", [event])), "--db", str(first))
    out = tmp_path / "big.csv"
    run("export", "--csv", "--out", str(out), *ALL, "--db", str(first))
    before = _csv.field_size_limit(131_072)
    try:
        run("import", str(out), "--db", str(second))
    finally:
        _csv.field_size_limit(before)
    assert query(second, "SELECT count(*) FROM rejects") == [(0,)]
    [(extra,)] = query(second, "SELECT extra FROM events WHERE event_id = 'big'")
    assert json.loads(extra) == {"note": long}


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "json", "parquet"])
def test_an_event_export_keeps_the_events_own_team_not_the_configs(tmp_path: Path, fmt: str) -> None:
    """QA: the export wrote the config's [members.alice] team/department/cost_center into the
    event; imported again, the event's own value then won over a later change of the config
    (alice moved to growth, the copy still said platform). The export writes the stored values
    (none here), so the copy follows the config as the original does. 1,000,000 gpt-4o input
    tokens x $2.50/M = $2.50 in either database."""
    from tests.helpers import query, run_json

    config = tmp_path / "work" / "usagectl.toml"
    config.write_text('[members.alice]\nteam = "platform"\ndepartment = "eng"\ncost_center = "cc-1"\n')
    first, second = tmp_path / "first.duckdb", tmp_path / "second.duckdb"
    ev = _ev("a1", "2025-11-05T10:00:00Z", "gpt-4o", "alice", input_tokens=1_000_000)
    run("import", str(write_jsonl(tmp_path / "ev.jsonl", [ev])), "--db", str(first))
    out = tmp_path / f"ev.{fmt}"
    run("export", f"--{fmt}", "--out", str(out), "--db", str(first))
    run("import", str(out), "--db", str(second))
    stored = "SELECT member, team, department, cost_center FROM events"
    assert query(second, stored) == query(first, stored) == [("alice", None, None, None)]
    config.write_text('[members.alice]\nteam = "growth"\ndepartment = "mkt"\ncost_center = "cc-2"\n')
    for db in (first, second):
        rows = run_json("report", "by", "team", *ALL, "--db", str(db))["rows"]
        assert [(r["team"], r["requests"], D(str(r["cost_usd"]))) for r in rows] == [("growth", 1, D("2.5"))]


@pytest.mark.parametrize("fmt", ["jsonl", "json"])
def test_a_json_event_export_keeps_every_digit_of_the_reported_cost(tmp_path: Path, fmt: str) -> None:
    """QA: JSONL wrote reported_cost_usd as a JSON number; the import reads a JSONL number
    through a double, so 54321.123456789012 came back as 54321.123456789010. It is written as a
    string of its digits (the cost computed, cost_usd, stays a number: 10 gpt-4o-mini input
    tokens x $0.15/M = 0.0000015, written to 6 places half-even: 0.000002)."""
    from tests.helpers import query

    costs = ["54321.123456789012", "-987654321098.765432109876", "0.000000000001"]
    events = [_ev(f"r{i}", f"2025-11-0{i + 3}T10:00:00Z", "gpt-4o-mini", None, input_tokens=10,
                  reported_cost_usd=cost) for i, cost in enumerate(costs)]  # fmt: skip
    first, second = tmp_path / "first.duckdb", tmp_path / "second.duckdb"
    run("import", str(write_jsonl(tmp_path / "ev.jsonl", events)), "--db", str(first))
    out = tmp_path / f"ev.{fmt}"
    run("export", f"--{fmt}", "--out", str(out), "--db", str(first))
    text = out.read_text(encoding="utf-8")
    for cost in costs:
        assert f'"reported_cost_usd": "{cost}"' in text
    assert text.count('"cost_usd": 0.000002') == 3
    run("import", str(out), "--db", str(second))
    stored = "SELECT event_id, reported_cost_usd FROM events ORDER BY event_id"
    assert query(second, stored) == query(first, stored) == [(f"r{i}", D(c)) for i, c in enumerate(costs)]


def test_the_json_header_says_the_range_the_rows_cover(tmp_path: Path, db_path: Path) -> None:
    """QA: without --since/--until the rows hold every stored event, one dated 2099-06-01 too,
    but the header said ``until`` today. It says the range exported: since 2000-01-01 (the
    earliest an event can be) or the first event's day if earlier, until the later of today and
    the last event's day (2099-06-01). A --since given stays as given."""
    events = [_ev("now", "2025-11-03T10:00:00Z", "gpt-4o", None, input_tokens=1),
              _ev("later", "2099-06-01T10:00:00Z", "gpt-4o", None, input_tokens=1)]  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "e.jsonl", events)), "--db", str(db_path))
    doc = json.loads(run("export", "--json", "--tz", "UTC", "--db", str(db_path)).stdout)
    assert [r["event_id"] for r in doc["rows"]] == ["now", "later"]
    assert doc["filters"] == {"since": "2000-01-01", "until": "2099-06-01", "tz": "UTC"}
    doc = json.loads(run("export", "--json", "--since", "2025-11-03", "--tz", "UTC", "--db", str(db_path)).stdout)
    assert doc["filters"] == {"since": "2025-11-03", "until": "2099-06-01", "tz": "UTC"}


@pytest.mark.parametrize("fmt", ["--csv", "--json", "--parquet", "--focus", "--pdf"])
@pytest.mark.parametrize("out", ["reports/", "reports/."])
def test_an_out_ending_in_a_slash_names_a_folder(loaded: Path, tmp_path: Path, fmt: str, out: str) -> None:
    """QA: ``--out reports/`` (pathlib drops the ``/``) wrote a FILE named reports. A folder that
    does not exist is said so (exit 2), as for a file in it; one that exists is a directory."""
    work = tmp_path / "work"  # the working folder
    res = run("export", fmt, "--out", out, "--db", str(loaded), expect=2)
    assert f"--out {out}: folder reports does not exist" in res.stderr
    assert not (work / "reports").exists() and not list(work.glob(".reports*"))
    (work / "reports").mkdir()
    res = run("export", fmt, "--out", out, "--db", str(loaded), expect=2)
    assert "is a directory; give a file name" in res.stderr
    assert list((work / "reports").iterdir()) == []


def test_month_is_the_range_of_an_events_export_and_of_every_report_but_month_and_invoice(
    tmp_path: Path, db_path: Path
) -> None:
    """QA: `export --report team --month 2026-10` was refused ("--month is for --report month or
    invoice") though `report team --month` takes it. For events and the other reports it is the
    range, its first to last day: events on 2026-02-01, 02-28 (inside February, 28 days in 2026)
    and 03-01 (outside): 2 exported; the team report holds 10 + 20 = 30 tokens, as --since/--until
    of the same days give."""
    events = [{"event_id": f"m{i}", "ts": ts, "model_raw": "gpt-4o", "member": "ann", "input_tokens": n}
              for i, (ts, n) in enumerate([("2026-02-01T00:30:00Z", 10), ("2026-02-28T23:30:00Z", 20),
                                           ("2026-03-01T00:30:00Z", 40)])]  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "m.jsonl", events)), "--db", str(db_path))
    common = ("--tz", "UTC", "--db", str(db_path))
    rows = list(csv.DictReader(io.StringIO(run("export", "--csv", "--month", "2026-02", *common).stdout)))
    assert sorted(r["event_id"] for r in rows) == ["m0", "m1"]
    team = json.loads(run("export", "--json", "--report", "team", "--month", "2026-02", *common).stdout)
    by_days = json.loads(run("export", "--json", "--report", "team", "--since", "2026-02-01", "--until",
                             "2026-02-28", *common).stdout)  # fmt: skip
    assert team["totals"]["total_tokens"] == 30 and team["totals"] == by_days["totals"]
    assert team["filters"]["month"] == "2026-02" and "month" not in by_days["filters"]  # as asked
    events_json = json.loads(run("export", "--json", "--month", "2026-02", *common).stdout)
    assert events_json["filters"]["month"] == "2026-02"
    assert sorted(r["event_id"] for r in events_json["rows"]) == ["m0", "m1"]
    both = run("export", "--csv", "--month", "2026-02", "--until", "2026-02-10", *common, expect=2)
    assert "use either --month or --since/--until, not both" in both.stderr
