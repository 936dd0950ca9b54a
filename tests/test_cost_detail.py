"""`usagectl cost`: one line per model × bucket × rate actually applied, worked out by hand.

Rates (USD per 1M, pricing/*.toml): o3 $10/$40 before 2025-06-10, then $2/$8 (batch half:
$1/$4); claude-sonnet-4-5 $3/$15, over 200k total input the whole request at $6/$22.50, cache
read $0.60; web search $10 per 1k calls = $0.01 a call; gpt-4o $2.50/$10.

C1 2025-06-09T12Z o3: 10,000 in × 10 = 0.10; 2,000 out × 40 = 0.08             -> 0.18
C2 2025-06-11T12Z o3: 10,000 in × 2 = 0.02; 2,000 out × 8 = 0.016               -> 0.036
C3 2025-06-12 o3 batch: 100,000 in × 1 = 0.10; 10,000 out × 4 = 0.04            -> 0.14
C4 2025-06-15 sonnet: 150,000 in + 60,000 read = 210,000 > 200k: 150,000 × 6 = 0.90,
   60,000 × 0.60 = 0.036, 1,000 out × 22.50 = 0.0225                            -> 0.9585
C5 2025-06-16 gpt-4o: 18,092 in × 2.50 = 0.04523; 27,138 out × 10 = 0.27138     -> 0.31661
C6 2025-06-20 sonnet: 1,000 in × 3 = 0.003; 500 out × 15 = 0.0075; 4 searches × 0.01 = 0.04 -> 0.0505
C7 2025-06-30T23:30Z gpt-4o: 1,000 in × 2.50 = 0.0025 (July 1 in Europe/Berlin)
C8 2025-06-21 mystery-model: unpriced
Totals (UTC): o3 0.356, sonnet 1.009, gpt-4o 0.31911 -> 1.68411 (tool fees 0.04)
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import run, run_json, write_jsonl
from usagectl.services import reports
from usagectl.services.context import make_context
from usagectl.services.costs import cost_detail

EVENTS = [
    {"event_id": "C1", "ts": "2025-06-09T12:00:00Z", "model_raw": "o3", "input_tokens": 10000, "output_tokens": 2000},
    {"event_id": "C2", "ts": "2025-06-11T12:00:00Z", "model_raw": "o3-2025-04-16", "input_tokens": 10000,
     "output_tokens": 2000},
    {"event_id": "C3", "ts": "2025-06-12T12:00:00Z", "model_raw": "o3", "service_tier": "batch", "input_tokens": 100000,
     "output_tokens": 10000},
    {"event_id": "C4", "ts": "2025-06-15T12:00:00Z", "model_raw": "claude-sonnet-4-5", "input_tokens": 150000,
     "cache_read_tokens": 60000, "output_tokens": 1000},
    {"event_id": "C5", "ts": "2025-06-16T12:00:00Z", "model_raw": "gpt-4o", "input_tokens": 18092, "output_tokens": 27138},
    {"event_id": "C6", "ts": "2025-06-20T12:00:00Z", "model_raw": "claude-sonnet-4-5", "input_tokens": 1000,
     "output_tokens": 500, "web_search_requests": 4},
    {"event_id": "C7", "ts": "2025-06-30T23:30:00Z", "model_raw": "gpt-4o", "input_tokens": 1000},
    {"event_id": "C8", "ts": "2025-06-21T12:00:00Z", "model_raw": "mystery-model", "input_tokens": 500},
]  # fmt: skip
TOTAL_UTC = Decimal("1.68411")  # 0.356 + 1.009 + 0.31911


@pytest.fixture
def loaded(tmp_path: Path, db_path: Path) -> Path:
    (tmp_path / "work" / "usagectl.toml").write_text('[display]\ntimezone = "UTC"\n', encoding="utf-8")
    run("import", str(write_jsonl(tmp_path / "c.jsonl", EVENTS)), "--db", str(db_path))
    return db_path


def test_lines_per_model_bucket_and_rate(loaded: Path) -> None:
    rep = cost_detail(make_context(None, loaded), reports.ReportRequest(), "2025-06")
    assert [(r["model"], r["line"]) for r in rep.rows] == [
        ("claude-sonnet-4-5", "Input tokens: 1,000 × $3.00/M = $0.003"),
        ("claude-sonnet-4-5", "Input tokens (over 200,000 input): 150,000 × $6.00/M = $0.90"),
        ("claude-sonnet-4-5", "Cache read tokens (over 200,000 input): 60,000 × $0.60/M = $0.036"),
        ("claude-sonnet-4-5", "Output tokens: 500 × $15.00/M = $0.0075"),
        ("claude-sonnet-4-5", "Output tokens (over 200,000 input): 1,000 × $22.50/M = $0.0225"),
        ("claude-sonnet-4-5", "Web search calls: 4 × $0.01 = $0.04"),
        ("o3", "Input tokens (before 2025-06-10): 10,000 × $10.00/M = $0.10"),
        ("o3", "Input tokens (from 2025-06-10): 10,000 × $2.00/M = $0.02"),
        ("o3", "Input tokens (batch, from 2025-06-10): 100,000 × $1.00/M = $0.10"),
        ("o3", "Output tokens (before 2025-06-10): 2,000 × $40.00/M = $0.08"),
        ("o3", "Output tokens (from 2025-06-10): 2,000 × $8.00/M = $0.016"),
        ("o3", "Output tokens (batch, from 2025-06-10): 10,000 × $4.00/M = $0.04"),
        ("gpt-4o", "Input tokens: 19,092 × $2.50/M = $0.04773"),  # C5 + C7
        ("gpt-4o", "Output tokens: 27,138 × $10.00/M = $0.27138"),
    ]
    # the total is the sum of the lines, exactly
    assert sum(r["amount_usd"] for r in rep.rows) == rep.totals["cost_usd"] == TOTAL_UTC
    assert rep.totals["tool_fees_usd"] == Decimal("0.04")
    assert rep.totals["token_cost_usd"] == TOTAL_UTC - Decimal("0.04")
    models = {m["model"]: m for m in rep.sections[0].rows}
    assert models["claude-sonnet-4-5"]["cost_usd"] == Decimal("1.009")  # 0.9585 + 0.0505
    assert models["o3"]["cost_usd"] == Decimal("0.356")  # 0.18 + 0.036 + 0.14
    assert models["gpt-4o"]["cost_usd"] == Decimal("0.31911")  # 0.31661 + 0.0025
    # exact shares (rounded once where shown): 1.009 / 1.68411 = 59.913 %, 0.356 / 1.68411 = 21.139 %
    assert models["claude-sonnet-4-5"]["cost_share_pct"].quantize(Decimal("0.01")) == Decimal("59.91")
    assert models["o3"]["cost_share_pct"].quantize(Decimal("0.01")) == Decimal("21.14")
    assert models["mystery-model"]["cost_usd"] is None
    assert rep.totals["unpriced_requests"] == 1
    assert "mystery-model" in rep.notes[0]


def test_total_equals_report_month(loaded: Path) -> None:
    ctx = make_context(None, loaded)
    for tz in ("UTC", "Europe/Berlin"):
        req = reports.ReportRequest(tz=tz)
        assert (
            cost_detail(ctx, req, "2025-06").totals["cost_usd"] == reports.month(ctx, req, "2025-06").totals["cost_usd"]
        )


def test_time_zone_moves_the_last_event_out_of_june(loaded: Path) -> None:
    out = run_json("cost", "--month", "2025-06", "--tz", "Europe/Berlin", "--db", str(loaded))
    lines = [r["line"] for r in out["rows"] if r["model"] == "gpt-4o"]
    assert lines[0] == "Input tokens: 18,092 × $2.50/M = $0.04523"  # C7 is 2025-07-01 01:30 in Berlin
    assert out["totals"]["cost_usd"] == 1.68161  # 1.68411 - 0.0025
    month = run_json("report", "month", "--month", "2025-06", "--tz", "Europe/Berlin", "--db", str(loaded))
    assert month["totals"]["cost_usd"] == out["totals"]["cost_usd"]


def test_since_until_and_filters(loaded: Path) -> None:
    out = run_json("cost", "--since", "2025-06-10", "--until", "2025-06-12", "--db", str(loaded))
    assert [r["line"] for r in out["rows"]] == [
        "Input tokens (from 2025-06-10): 10,000 × $2.00/M = $0.02",
        "Input tokens (batch, from 2025-06-10): 100,000 × $1.00/M = $0.10",
        "Output tokens (from 2025-06-10): 2,000 × $8.00/M = $0.016",
        "Output tokens (batch, from 2025-06-10): 10,000 × $4.00/M = $0.04",
    ]
    assert out["totals"]["cost_usd"] == 0.176  # C2 0.036 + C3 0.14
    only = run_json("cost", "--month", "2025-06", "--model", "gpt-4o", "--db", str(loaded))
    assert only["totals"]["cost_usd"] == 0.31911
    assert "either --month or --since" in run("cost", "--month", "2025-06", "--since", "2025-06-01",
                                              "--db", str(loaded), expect=2).stderr  # fmt: skip


@pytest.mark.parametrize("fmt", ["table", "csv", "markdown"])
def test_formats(loaded: Path, fmt: str) -> None:
    out = run("cost", "--month", "2025-06", "--format", fmt, "--db", str(loaded)).stdout
    assert "Input tokens: 19,092 × $2.50/M = $0.04773" in out


# M1 2026-11-02 sonnet batch, 300,000 in > 200k: batch (× 0.5) of the long-context $6/$22.50 =
#    $3/$11.25: 300,000 × 3 = 0.90; 10,000 out × 11.25 = 0.1125
# M2 2026-11-03 sonnet standard: 1,000 in × 3 = 0.003; 1,000 out × 15 = 0.015
# Both input rates are $3.00/M, but the tiers and bands differ: two lines, each labelled truly.
MERGE_EVENTS = [
    {"event_id": "M1", "ts": "2026-11-02T13:00:00Z", "model": "claude-sonnet-4-5", "input_tokens": 300000,
     "output_tokens": 10000, "service_tier": "batch"},
    {"event_id": "M2", "ts": "2026-11-03T10:00:00Z", "model": "claude-sonnet-4-5", "input_tokens": 1000,
     "output_tokens": 1000},
]  # fmt: skip


def test_same_rate_in_another_tier_and_band_is_its_own_line(tmp_path: Path, db_path: Path) -> None:
    run("import", str(write_jsonl(tmp_path / "m.jsonl", MERGE_EVENTS)), "--db", str(db_path))
    out = run_json("cost", "--month", "2026-11", "--tz", "UTC", "--db", str(db_path))
    assert [(r["context"], r["quantity"], r["line"]) for r in out["rows"]] == [
        ("", 1000, "Input tokens: 1,000 × $3.00/M = $0.003"),
        ("batch, over 200,000 input", 300000, "Input tokens (batch, over 200,000 input): 300,000 × $3.00/M = $0.90"),
        ("", 1000, "Output tokens: 1,000 × $15.00/M = $0.015"),
        ("batch, over 200,000 input", 10000,
         "Output tokens (batch, over 200,000 input): 10,000 × $11.25/M = $0.1125"),
    ]  # fmt: skip
    assert out["totals"]["cost_usd"] == 1.0305  # 0.003 + 0.90 + 0.015 + 0.1125


# Z1 2026-11-02 gpt-4o: 1,000 in × 2.50/M = 0.0025, no web search
# Z2 2026-11-03 gpt-4o-mini: a failed request with 0 tokens: priced at $0 (a price row matched)
ZERO_EVENTS = [
    {"event_id": "Z1", "ts": "2026-11-02T12:00:00Z", "model": "gpt-4o", "input_tokens": 1000},
    {"event_id": "Z2", "ts": "2026-11-03T12:00:00Z", "model": "gpt-4o-mini", "status": "error"},
]


def test_no_calls_and_no_tokens_cost_zero_not_unpriced(tmp_path: Path, db_path: Path) -> None:
    run("import", str(write_jsonl(tmp_path / "z.jsonl", ZERO_EVENTS)), "--db", str(db_path))
    out = run_json("cost", "--month", "2026-11", "--tz", "UTC", "--db", str(db_path))
    models = {m["model"]: m for m in out["models"]}
    assert models["gpt-4o"]["tool_fees_usd"] == 0  # no search calls: $0 of tool fees, not unpriced
    assert models["gpt-4o"]["cost_usd"] == 0.0025
    assert (models["gpt-4o-mini"]["token_cost_usd"], models["gpt-4o-mini"]["tool_fees_usd"]) == (0, 0)
    assert models["gpt-4o-mini"]["cost_usd"] == 0
    assert out["totals"]["unpriced_requests"] == 0
    only = run_json("cost", "--since", "2026-11-03", "--until", "2026-11-03", "--model", "gpt-4o-mini",
                    "--tz", "UTC", "--db", str(db_path))  # fmt: skip
    assert (only["totals"]["cost_usd"], only["totals"]["token_cost_usd"], only["totals"]["tool_fees_usd"]) == (0, 0, 0)
    text = run("cost", "--since", "2026-11-03", "--until", "2026-11-03", "--model", "gpt-4o-mini",
               "--tz", "UTC", "--db", str(db_path)).stdout  # fmt: skip
    assert "unpriced" not in text


def test_the_exact_total_keeps_every_digit(tmp_path: Path, db_path: Path) -> None:
    """gpt-4o ($2.50 / $10 per 1M): 3 input tokens = $0.0000075, 1 output token = $0.00001,
    total $0.0000175. JSON's ``cost_usd`` is rounded half-even to 6 decimals (0.000018); the
    overview's ``cost_usd_exact`` is the exact amount as a decimal string, the table's "Total
    (exact)" shows it in dollars; unpriced usage alone leaves it null / "unpriced"."""
    events = [
        {"event_id": "x1", "ts": "2025-06-16T12:00:00Z", "model_raw": "gpt-4o", "input_tokens": 3, "output_tokens": 1},
        {"event_id": "x2", "ts": "2025-07-16T12:00:00Z", "model_raw": "mystery-model", "input_tokens": 5},
    ]
    run("import", str(write_jsonl(tmp_path / "x.jsonl", events)), "--db", str(db_path))
    june = ("cost", "--month", "2025-06", "--tz", "UTC", "--db", str(db_path))
    out = run_json(*june)
    assert out["overview"]["cost_usd"] == 0.000018 and out["overview"]["cost_usd_exact"] == "0.0000175"
    assert Decimal(out["overview"]["cost_usd_exact"]) == Decimal("0.0000075") + Decimal("0.00001")
    table = run(*june).stdout
    assert "Total (exact)" in table and "$0.0000175" in table
    july = run_json("cost", "--month", "2025-07", "--tz", "UTC", "--db", str(db_path))
    assert july["overview"]["cost_usd_exact"] is None and july["overview"]["cost_usd"] is None
    assert "unpriced" in run("cost", "--month", "2025-07", "--tz", "UTC", "--db", str(db_path)).stdout


def _bucket(day: str, model: str, uncached: int, output: int) -> dict[str, Any]:
    """An Anthropic usage-report page's day bucket of one model (no request count: the report gives none)."""
    return {"starting_at": f"{day}T00:00:00Z", "ending_at": f"{day}T23:59:59Z", "results": [
        {"uncached_input_tokens": uncached, "cache_creation": {"ephemeral_1h_input_tokens": 0,
         "ephemeral_5m_input_tokens": 0}, "cache_read_input_tokens": 0, "output_tokens": output,
         "server_tool_use": {"web_search_requests": 0}, "workspace_id": None, "model": model,
         "service_tier": "standard", "context_window": "0-200k"}]}  # fmt: skip


def test_an_unpriced_provider_bucket_counts_as_one_request(tmp_path: Path, db_path: Path) -> None:
    """Anthropic usage-report buckets have no request count (stored as 0). README: a provider
    bucket whose request count is not reported counts as one unpriced request. Two buckets of an
    unknown model (claude-mystery-9: 50,000 in + 1,000 out = 51,000 tokens each) on 12-10 and
    12-11: 2 unpriced requests, 102,000 unpriced tokens, as `report month` says; beside them a
    haiku-4-5 bucket of 1,000,000 input x $1/M = $1.00. (QA: `cost` said 0 unpriced requests.)"""
    page = {"data": [_bucket("2025-12-10", "claude-mystery-9", 50_000, 1_000),
                     _bucket("2025-12-11", "claude-mystery-9", 50_000, 1_000),
                     _bucket("2025-12-10", "claude-haiku-4-5-20251001", 1_000_000, 0)],
            "has_more": False, "next_page": None}  # fmt: skip
    (tmp_path / "u.json").write_text(json.dumps(page), encoding="utf-8")
    run("import", str(tmp_path / "u.json"), "--db", str(db_path))
    out = run_json("cost", "--month", "2025-12", "--tz", "UTC", "--db", str(db_path))
    t = out["totals"]
    assert (t["cost_usd"], t["unpriced_requests"], t["unpriced_tokens"]) == (1, 2, 102_000)
    assert out["overview"]["unpriced_requests"] == 2
    month = run_json("report", "month", "--month", "2025-12", "--tz", "UTC", "--db", str(db_path))
    assert month["totals"]["unpriced_requests"] == 2


def test_the_unpriced_note_counts_a_bucket_as_one_request(tmp_path: Path, db_path: Path) -> None:
    """The note under `cost` counts as its totals do. Two buckets of claude-mystery-9 (no request
    count, stored as 0) on 12-10 and 12-11, 50,000 in + 1,000 out = 51,000 tokens each: 1 + 1 = 2
    unpriced requests, 2 x 51,000 = 102,000 tokens. (QA: the note said "Unpriced: 0 requests"
    beside `unpriced_requests` 2; counted per model name it would say 1, not 2.)"""
    page = {"data": [_bucket("2025-12-10", "claude-mystery-9", 50_000, 1_000),
                     _bucket("2025-12-11", "claude-mystery-9", 50_000, 1_000)],
            "has_more": False, "next_page": None}  # fmt: skip
    (tmp_path / "u.json").write_text(json.dumps(page), encoding="utf-8")
    run("import", str(tmp_path / "u.json"), "--db", str(db_path))
    out = run_json("cost", "--month", "2025-12", "--tz", "UTC", "--db", str(db_path))
    assert out["totals"]["unpriced_requests"] == 2
    note = next(n for n in out["notes"] if n.startswith("Unpriced:"))
    assert note.startswith("Unpriced: 2 requests / 102,000 tokens have no price")
    assert "claude-mystery-9 (request count not reported, 102,000 tokens)" in note


def test_the_parts_of_the_unpriced_note_add_up_to_its_header(tmp_path: Path, db_path: Path) -> None:
    """QA (regression): with buckets counted as one request each, the header of the note under
    `cost` and `invoice` said 4 while the model's part said "3 requests" (rate_sums rows hold the
    raw counts). Now the part counts as the header: claude-mystery-9, one bucket on 12-10 (no
    request count: one) and an event of 3 requests on 12-11: "3 requests and 1 bucket without a
    request count", 4 in all."""
    page = {"data": [_bucket("2025-12-10", "claude-mystery-9", 50_000, 1_000)], "has_more": False,
            "next_page": None}  # fmt: skip
    (tmp_path / "u.json").write_text(json.dumps(page), encoding="utf-8")
    (tmp_path / "e.jsonl").write_text(json.dumps({"event_id": "e3", "ts": "2025-12-11T10:00:00Z",
        "model_raw": "claude-mystery-9", "provider": "anthropic", "requests": 3, "input_tokens": 2_000}) + "\n")  # fmt: skip
    run("import", str(tmp_path / "u.json"), "--db", str(db_path))
    run("import", str(tmp_path / "e.jsonl"), "--db", str(db_path))
    for cmd in (["cost", "--month", "2025-12"], ["invoice", "--month", "2025-12"]):
        out = run_json(*cmd, "--tz", "UTC", "--db", str(db_path))
        assert out["totals"]["unpriced_requests"] == 4, cmd
        note = next(n for n in out["notes"] if n.startswith("Unpriced:"))
        assert note.startswith("Unpriced: 4 requests / 53,000 tokens have no price"), note
        assert "claude-mystery-9 (3 requests and 1 bucket without a request count, 53,000 tokens)" in note, note
