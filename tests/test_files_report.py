"""`report files`: size, extracted tokens, processing cost and reuse count, worked out by hand.

Rates (USD per 1M tokens, PRICING.md): gpt-4o 2.50 in / 1.25 cache read / 10 out; gpt-4o-mini
0.15 / 0.60; claude-sonnet-4-5 3 / 15; mistral-large-2411 no price.
Processing cost of an event = event cost × file tokens / total input (input + cache read + writes).

file-1 "Annual_Report.pdf", 2,400,000 bytes:
  F1 2025-11-03T23:30Z chat s1 gpt-4o 10,000 in (8,000 of them the file), 1,000 out
     cost 0.025 + 0.01 = 0.035; share 0.035 * 8000/10000 = 0.028   (Berlin: 2025-11-04 00:30)
  F2 2025-11-04T10:00Z chat s2 gpt-4o 2,000 in + 8,000 cache read, file 8,000, 500 out
     cost 0.005 + 0.01 + 0.005 = 0.02; share 0.02 * 8000/10000 = 0.016
  F3 2025-11-05T10:00Z chat s2 gpt-4o-mini 3,000 in, file 1,000: cost 0.00045; share 0.00015
  first read 8,000 (F1), re-reads 9,000, 3 requests, 2 chats, cost 0.028 + 0.016 + 0.00015 = 0.04415
notes.txt (no id), 1,234 bytes:
  G1 2025-11-06T10:00Z chat s3 sonnet 3,000 in, file 1,000, 100 out: cost 0.009 + 0.0015 = 0.0105;
     share 0.0105 / 3 = 0.0035
  G2 2025-11-06T11:00Z no chat, mistral 1,000 in, file 500: unpriced
  first read 1,000, re-read 500, 2 requests, 1 chat, cost 0.0035, 1 unpriced
file-4 "tiny.txt": T1 2025-11-07 chat s4 gpt-4o 3 in (2 the file), 1 out: cost 7.5e-6 + 1e-5 = 1.75e-5
  = 17,500,000 pico-dollars; share 17,500,000 * 2 / 3 = 11,666,666.67 -> 11,666,667 (half up)
  = 0.000011666667
file-3 "image.png": I1 2025-11-08 chat s5 mistral 700 in, file 700: unpriced only -> cost unpriced
By cost: file-1, notes.txt, tiny.txt, image.png (unpriced last).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tests.helpers import narrow_table, run, run_json, write_jsonl
from usagectl.services.context import make_context
from usagectl.services.files_report import report_files, size_text
from usagectl.services.reports import ReportRequest

D = Decimal
PDF = {"file_id": "file-1", "file_name": "Annual_Report.pdf", "file_bytes": 2400000}
EVENTS = [
    {"event_id": "F1", "ts": "2025-11-03T23:30:00Z", "model_raw": "gpt-4o", "input_tokens": 10000,
     "output_tokens": 1000, "file_tokens": 8000, "message_tokens": 2000, "context_tokens": 0, "session_id": "s1"}
    | PDF,
    {"event_id": "F2", "ts": "2025-11-04T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 2000,
     "cache_read_tokens": 8000, "output_tokens": 500, "file_tokens": 8000, "session_id": "s2"} | PDF,
    {"event_id": "F3", "ts": "2025-11-05T10:00:00Z", "model_raw": "gpt-4o-mini", "input_tokens": 3000,
     "file_tokens": 1000, "session_id": "s2"} | PDF,
    {"event_id": "G1", "ts": "2025-11-06T10:00:00Z", "model_raw": "claude-sonnet-4-5", "input_tokens": 3000,
     "output_tokens": 100, "file_tokens": 1000, "session_id": "s3", "file_name": "notes.txt", "file_bytes": 1234},
    {"event_id": "G2", "ts": "2025-11-06T11:00:00Z", "model_raw": "mistral-large-2411", "provider": "mistral",
     "input_tokens": 1000, "file_tokens": 500, "file_name": "notes.txt", "file_bytes": 1234},
    {"event_id": "T1", "ts": "2025-11-07T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 3, "output_tokens": 1,
     "file_tokens": 2, "session_id": "s4", "file_id": "file-4", "file_name": "tiny.txt", "file_bytes": 10},
    {"event_id": "I1", "ts": "2025-11-08T10:00:00Z", "model_raw": "mistral-large-2411", "provider": "mistral",
     "input_tokens": 700, "file_tokens": 700, "session_id": "s5", "file_id": "file-3", "file_name": "image.png",
     "file_bytes": 5000000},
    {"event_id": "N1", "ts": "2025-11-08T11:00:00Z", "model_raw": "gpt-4o", "input_tokens": 1000, "session_id": "s5"},
]  # fmt: skip
NOV = ("--since", "2025-11-01", "--until", "2025-11-30")


@pytest.fixture
def db(tmp_path: Path, db_path: Path) -> Path:
    run("import", str(write_jsonl(tmp_path / "files.jsonl", EVENTS)), "--db", str(db_path))
    return db_path


def test_files_report_per_file(db: Path) -> None:
    out = run_json("report", "files", *NOV, "--tz", "UTC", "--db", str(db))
    assert out["report"] == "files"
    assert [r["file"] for r in out["rows"]] == ["Annual_Report.pdf", "notes.txt", "tiny.txt", "image.png"]
    pdf, notes, tiny, image = out["rows"]
    assert (pdf["file_id"], pdf["file_bytes"], pdf["size"]) == ("file-1", 2400000, "2.3 MiB")
    assert (pdf["first_read_tokens"], pdf["reread_tokens"], pdf["file_tokens"]) == (8000, 9000, 17000)
    assert (pdf["requests"], pdf["chats"]) == (3, 2)
    assert D(str(pdf["processing_cost_usd"])) == D("0.04415")
    assert notes["file_id"] is None and (notes["first_read_tokens"], notes["reread_tokens"]) == (1000, 500)
    assert (notes["requests"], notes["chats"], notes["unpriced_requests"]) == (2, 1, 1)
    assert D(str(notes["processing_cost_usd"])) == D("0.0035")
    assert D(str(tiny["processing_cost_usd"])) == D("0.000012")  # JSON: 0.000011666667 to 6 places
    assert image["processing_cost_usd"] is None and image["unpriced_requests"] == 1  # never $0
    t = out["totals"]
    assert (t["files"], t["file_tokens"], t["first_read_tokens"], t["reread_tokens"]) == (4, 19202, 9702, 9500)
    assert t["unpriced_models"] == [{"model": "mistral-large-2411", "requests": 2, "total_tokens": 1700}]
    assert any("Processing cost = " in n for n in out["notes"])
    assert any("mistral-large-2411" in n for n in out["notes"])


def test_processing_cost_is_exact_in_the_service(db: Path) -> None:
    rep = report_files(make_context(None, db), ReportRequest(since="2025-11-01", until="2025-11-30", tz="UTC"))
    cost = {r["file"]: r["processing_cost_usd"] for r in rep.rows}
    assert cost["tiny.txt"] == D("0.000011666667")
    assert cost["Annual_Report.pdf"] == D("0.04415")
    # 0.04415 + 0.0035 + 0.000011666667
    assert rep.totals["processing_cost_usd"] == D("0.047661666667")


def test_first_read_moves_with_the_zone(db: Path) -> None:
    since = ("--since", "2025-11-04", "--until", "2025-11-30")
    utc = {r["file"]: r for r in run_json("report", "files", *since, "--tz", "UTC", "--db", str(db))["rows"]}
    # F1 (2025-11-03 23:30Z) is out: F2 is the first read
    pdf = utc["Annual_Report.pdf"]
    assert (pdf["first_read_tokens"], pdf["reread_tokens"], pdf["chats"]) == (8000, 1000, 1)
    assert D(str(pdf["processing_cost_usd"])) == D("0.01615")  # 0.016 + 0.00015
    ber = {r["file"]: r for r in run_json("report", "files", *since, "--tz", "Europe/Berlin", "--db", str(db))["rows"]}
    pdf = ber["Annual_Report.pdf"]  # F1 is 2025-11-04 00:30 in Berlin
    assert (pdf["first_read_tokens"], pdf["reread_tokens"], pdf["chats"]) == (8000, 9000, 2)
    assert pdf["first_ts"] == "2025-11-04T00:30:00+01:00"


def test_top_filters_and_table(db: Path) -> None:
    out = run_json("report", "files", *NOV, "--top", "1", "--db", str(db))
    assert [r["file"] for r in out["rows"]] == ["Annual_Report.pdf", "(other 3 files)"] and out["totals"]["files"] == 4
    out = run_json("report", "files", *NOV, "--model", "gpt-4o-mini", "--db", str(db))
    assert [(r["file"], r["first_read_tokens"], r["chats"]) for r in out["rows"]] == [("Annual_Report.pdf", 1000, 1)]
    table = run("report", "files", *NOV, "--db", str(db)).stdout
    assert "notes.txt" in table and "unpriced" in table


def test_size_text() -> None:
    assert size_text(None) == ""
    assert size_text(1000) == "1,000 bytes"
    assert size_text(2 * 1024 * 1024) == "2.0 MiB"
    assert size_text(1536) == "1.5 KiB"


def test_a_narrow_files_table_keeps_file_names_whole(tmp_path: Path, db_path: Path) -> None:
    """A 33-character file name at 80 columns: the table leaves out the unpriced count (G2),
    the requests, then the re-read tokens, and says so, rather than fold the name. JSON keeps
    them."""
    long = {"file_id": "file-9", "file_name": "Customer_Survey_2026_final_v3.xlsx", "file_bytes": 822_400}
    events = [*EVENTS, {"event_id": "L1", "ts": "2025-11-09T10:00:00Z", "model_raw": "gpt-4o",
                        "input_tokens": 1000, "file_tokens": 1000, "session_id": "s6"} | long]  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "f.jsonl", events)), "--db", str(db_path))
    text = run("report", "files", *NOV, "--db", str(db_path)).stdout
    words, note = narrow_table(text)
    assert long["file_name"] in words and "Annual_Report.pdf" in words
    assert not {"Unpriced", "Requests", "Re-read"} & words
    assert note.startswith("Unpriced, Requests, Re-read tokens (a wider terminal")
    rows = {r["file_name"]: r for r in run_json("report", "files", *NOV, "--db", str(db_path))["rows"]}
    notes = rows["notes.txt"]
    assert (notes["requests"], notes["unpriced_requests"], notes["reread_tokens"]) == (2, 1, 500)


def test_top_folds_the_other_files_into_one_row(db: Path) -> None:
    """QA: --top 1 showed one row above a Total of all four files. The rest fold into one row,
    as `report chats` does: notes.txt + tiny.txt + image.png = first reads 1,000 + 2 + 700 =
    1,702, re-reads 500, file tokens 1,500 + 2 + 700 = 2,202, requests 2 + 1 + 1 = 4, unpriced
    1 + 0 + 1 = 2, cost 0.0035 + 0.000011666667 (image.png unpriced) = 0.003511666667; distinct
    chats do not add up (two files may share one): none. With --top 3 only image.png folds: its
    cost is unpriced, never $0."""
    ctx = make_context(None, db)
    req = ReportRequest(since="2025-11-01", until="2025-11-30", tz="UTC")
    rep = report_files(ctx, req, top=1)
    pdf, other = rep.rows
    assert pdf["file"] == "Annual_Report.pdf" and other["file"] == "(other 3 files)"
    assert (other["first_read_tokens"], other["reread_tokens"], other["file_tokens"]) == (1702, 500, 2202)
    assert (other["requests"], other["unpriced_requests"], other["chats"]) == (4, 2, None)
    assert other["processing_cost_usd"] == D("0.003511666667")
    for key in ("first_read_tokens", "reread_tokens", "file_tokens", "requests", "unpriced_requests"):
        assert pdf[key] + other[key] == rep.totals[key], key
    assert pdf["processing_cost_usd"] + other["processing_cost_usd"] == rep.totals["processing_cost_usd"]
    last = report_files(ctx, req, top=3).rows[-1]
    assert (last["file"], last["processing_cost_usd"], last["unpriced_requests"]) == ("(other 1 file)", None, 1)
    assert len(report_files(ctx, req, top=4).rows) == 4  # nothing left to fold


def test_an_unknown_filter_value_is_named_with_its_close_match(db: Path) -> None:
    out = run_json("report", "files", *NOV, "--model", "gpt-4o-minni", "--db", str(db))
    assert out["rows"] == []
    assert any(n.startswith("No model 'gpt-4o-minni' in the data (did you mean gpt-4o-mini") for n in out["notes"])


def test_unpriced_models_count_a_bucket_as_one_request_as_the_totals_do(tmp_path: Path, db_path: Path) -> None:
    """Two unpriced events with a file, of mystery-model: one of 2 requests, one with requests 0
    (no count logged): totals.unpriced_requests counts 2 + 1 = 3, and unpriced_models said 2."""
    events = [
        {"event_id": "u1", "ts": "2025-11-05T10:00:00Z", "model_raw": "mystery-model", "input_tokens": 1000,
         "file_id": "f-1", "file_name": "a.pdf", "file_tokens": 500, "requests": 2},
        {"event_id": "u2", "ts": "2025-11-05T11:00:00Z", "model_raw": "mystery-model", "input_tokens": 1000,
         "file_id": "f-1", "file_name": "a.pdf", "file_tokens": 500, "requests": 0},
    ]  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "u.jsonl", events)), "--db", str(db_path))
    totals = run_json("report", "files", *NOV, "--db", str(db_path))["totals"]
    assert totals["unpriced_requests"] == 3
    assert totals["unpriced_models"] == [{"model": "mystery-model", "requests": 3, "total_tokens": 2000}]
