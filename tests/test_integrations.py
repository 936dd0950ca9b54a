"""`report integrations` and `report platforms` on a fixture worked out by hand.

Rates per 1M: gpt-4o $2.50 in / $10 out; gpt-4o-mini $0.15 / $0.60.

I1  11-03 gmail   gpt-4o 1000 in 100 out  = 0.0025 + 0.001 = 0.0035   latency 100 success
I2  11-04 gmail   gpt-4o 2000 / 200       = 0.005 + 0.002  = 0.007    latency 200 success
I3  11-05 gmail   gpt-4o 500 / 0          = 0.00125                   latency 300 error timeout
I4  11-06 gmail   gpt-4o 1500 / 100       = 0.00375 + 0.001 = 0.00475 latency 400 success
    gmail: 4 req, 5,400 tokens, $0.0165; p50 of 100..400 = 250; p95 = 300 + 0.85 × 100 = 385; errors 1/4 = 25 %
I5  11-07 slack   mini 10000 / 1000       = 0.0015 + 0.0006 = 0.0021  latency 50 error rate_limit
I6  11-08 slack   mini 20000 / 0          = 0.003                     no latency, no status
    slack: 2 req, 31,000 tokens, $0.0051; p50 = p95 = 50; errors 1 of 1 known = 100 %
I7  11-09 web     gpt-4o 4000 / 400       = 0.01 + 0.004 = 0.014      latency 1000 success
I8  11-10 mobile  mini 1000 / 500 voice   = 0.00015 + 0.0003 = 0.00045 latency 2000 success
I9  11-11 mobile  mini 2000 / 0 not voice = 0.0003                    latency 3000 error timeout
I10 11-12 api     mystery-model 700 in    unpriced                     success
I11 2025-11-30T23:30Z notion gpt-4o 1000 in = 0.0025 latency 500 (2025-12-01 08:30 in Asia/Tokyo)
I12 2025-10-31T20:00Z notion gpt-4o 2000 in = 0.005 latency 700 (2025-11-01 05:00 in Asia/Tokyo)
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tests.helpers import run, run_json, write_jsonl
from usagectl.services import integrations, reports
from usagectl.services.context import make_context


def _ev(eid: str, ts: str, model: str, inp: int, out: int, **kw: object) -> dict[str, object]:
    return {"event_id": eid, "ts": ts, "model_raw": model, "input_tokens": inp, "output_tokens": out} | kw


GM = {"integration": "gmail", "platform": "integration"}
SL = {"integration": "slack", "platform": "integration"}
NO = {"integration": "notion", "platform": "integration"}
EVENTS = [
    _ev("I1", "2025-11-03T10:00:00Z", "gpt-4o", 1000, 100, latency_ms=100, status="success", **GM),
    _ev("I2", "2025-11-04T10:00:00Z", "gpt-4o", 2000, 200, latency_ms=200, status="success", **GM),
    _ev("I3", "2025-11-05T10:00:00Z", "gpt-4o", 500, 0, latency_ms=300, status="error", error_type="timeout", **GM),
    _ev("I4", "2025-11-06T10:00:00Z", "gpt-4o", 1500, 100, latency_ms=400, status="success", **GM),
    _ev("I5", "2025-11-07T10:00:00Z", "gpt-4o-mini", 10000, 1000, latency_ms=50, status="error",
        error_type="rate_limit", **SL),
    _ev("I6", "2025-11-08T10:00:00Z", "gpt-4o-mini", 20000, 0, **SL),
    _ev("I7", "2025-11-09T10:00:00Z", "gpt-4o", 4000, 400, latency_ms=1000, status="success", platform="web"),
    _ev("I8", "2025-11-10T10:00:00Z", "gpt-4o-mini", 1000, 500, latency_ms=2000, status="success", platform="mobile",
        extra={"voice": True, "audio_seconds": 12}),
    _ev("I9", "2025-11-11T10:00:00Z", "gpt-4o-mini", 2000, 0, latency_ms=3000, status="error", error_type="timeout",
        platform="mobile", extra={"voice": False}),
    _ev("I10", "2025-11-12T10:00:00Z", "mystery-model", 700, 0, status="success", platform="api"),
    _ev("I11", "2025-11-30T23:30:00Z", "gpt-4o", 1000, 0, latency_ms=500, status="success", **NO),
    _ev("I12", "2025-10-31T20:00:00Z", "gpt-4o", 2000, 0, latency_ms=700, status="success", **NO),
]  # fmt: skip
NOV = ("--since", "2025-11-01", "--until", "2025-11-30")


@pytest.fixture
def loaded(tmp_path: Path, db_path: Path) -> Path:
    (tmp_path / "work" / "usagectl.toml").write_text('[display]\ntimezone = "UTC"\n', encoding="utf-8")
    run("import", str(write_jsonl(tmp_path / "i.jsonl", EVENTS)), "--db", str(db_path))
    return db_path


def test_integrations_by_hand(loaded: Path) -> None:
    req = reports.ReportRequest(since="2025-11-01", until="2025-11-30")
    rep = integrations.integrations(make_context(None, loaded), req)
    rows = {r["integration"]: r for r in rep.rows}
    assert [r["integration"] for r in rep.rows] == ["slack", "gmail", "notion"]  # by tokens
    gm = rows["gmail"]
    assert (gm["requests"], gm["total_tokens"], gm["cost_usd"]) == (4, 5400, Decimal("0.0165"))
    assert (gm["latency_p50_ms"], gm["latency_p95_ms"]) == (250.0, 385.0)
    assert gm["error_rate_pct"] == Decimal("25.00")
    assert gm["top_error_types"] == "timeout 1"
    sl = rows["slack"]
    assert (sl["requests"], sl["total_tokens"], sl["cost_usd"]) == (2, 31000, Decimal("0.0051"))
    assert (sl["latency_p50_ms"], sl["latency_p95_ms"]) == (50.0, 50.0)
    assert sl["error_rate_pct"] == Decimal("100.00")  # the one request with a known status failed
    assert sl["token_share_pct"].quantize(Decimal("0.01")) == Decimal("82.89")  # 31,000 / 37,400
    assert rows["notion"]["cost_usd"] == Decimal("0.0025")  # I11 only (I12 is October in UTC)
    t = rep.totals
    assert (t["requests"], t["total_tokens"], t["cost_usd"]) == (7, 37400, Decimal("0.0241"))
    # latencies 50 100 200 300 400 500: p50 = 250, p95 at 4.75 -> 400 + 0.75 × 100 = 475
    assert (t["latency_p50_ms"], t["latency_p95_ms"]) == (250.0, 475.0)
    assert t["error_rate_pct"].quantize(Decimal("0.01")) == Decimal("33.33")  # 2 errors / 6 requests with a status
    errors = [(r["integration"], r["error_type"], r["requests"]) for r in rep.sections[0].rows]
    assert errors == [("slack", "rate_limit", 1), ("gmail", "timeout", 1)]
    # I7 + I8 + I9 + I10: 4 requests, 4,400 + 1,500 + 2,000 + 700 tokens
    assert any("4 requests, 8,600 tokens" in n for n in rep.notes)
    assert not any("Unpriced" in n for n in rep.notes)


def test_integrations_in_tokyo(loaded: Path) -> None:
    out = run_json("report", "integrations", *NOV, "--tz", "Asia/Tokyo", "--db", str(loaded))
    notion = next(r for r in out["rows"] if r["integration"] == "notion")
    assert (notion["requests"], notion["total_tokens"], notion["cost_usd"]) == (1, 2000, 0.005)  # I12, not I11
    assert notion["latency_p50_ms"] == 700.0
    assert out["report"] == "integrations" and out["filters"]["tz"] == "Asia/Tokyo"


def test_platforms_with_voice(loaded: Path) -> None:
    out = run_json("report", "platforms", *NOV, "--db", str(loaded))
    rows = {r["platform"]: r for r in out["rows"]}
    assert list(rows) == ["integration", "web", "mobile", "api"]
    mob = rows["mobile"]
    assert (mob["requests"], mob["total_tokens"], mob["cost_usd"]) == (2, 3500, 0.00075)
    assert (mob["voice_requests"], mob["voice_tokens"], mob["voice_cost_usd"]) == (1, 1500, 0.00045)
    assert (mob["latency_p50_ms"], mob["latency_p95_ms"]) == (2500.0, 2950.0)  # 2000 + 0.95 × 1000
    assert mob["error_rate_pct"] == 50.0
    assert rows["web"]["voice_cost_usd"] == 0
    assert rows["api"]["cost_usd"] is None and rows["api"]["unpriced_requests"] == 1
    t = out["totals"]
    assert (t["requests"], t["total_tokens"], t["cost_usd"]) == (11, 46000, 0.03885)  # 0.0241 + 0.014 + 0.00075
    assert t["voice_cost_usd"] == 0.00045
    assert any("mystery-model" in n for n in out["notes"])
    only = run_json("report", "platforms", *NOV, "--platform", "mobile", "--db", str(loaded))
    assert [r["platform"] for r in only["rows"]] == ["mobile"]


@pytest.mark.parametrize("fmt", ["table", "csv", "markdown"])
def test_formats(loaded: Path, fmt: str) -> None:
    assert "gmail" in run("report", "integrations", *NOV, "--format", fmt, "--db", str(loaded)).stdout
    assert "mobile" in run("report", "platforms", *NOV, "--format", fmt, "--db", str(loaded)).stdout


def test_a_narrow_table_leaves_out_top_errors_before_folding_names(tmp_path: Path, db_path: Path) -> None:
    """Error types as long as real ones ("rate_limit_exceeded", "upstream_server_error")
    would fold at 80 columns: the table leaves out its "Top errors" (the section below lists
    them), a note says so, and latencies read in whole ms (p50 of 100 and 200 = 150, p95 =
    100 + 0.95 x 100 = 195). Nothing is unpriced: no Unpriced column; JSON keeps every key."""
    events = [
        _ev("L1", "2025-11-03T10:00:00Z", "gpt-4o", 1000, 100, latency_ms=100, status="error",
            error_type="rate_limit_exceeded", integration="google-workspace-mail"),
        _ev("L2", "2025-11-04T10:00:00Z", "gpt-4o", 1000, 100, latency_ms=200, status="error",
            error_type="upstream_server_error", integration="google-workspace-mail"),
    ]  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "l.jsonl", events)), "--db", str(db_path))
    text = run("report", "integrations", *NOV, "--db", str(db_path)).stdout
    assert max(len(line) for line in text.splitlines()) <= 80
    table, note = text.split("Errors by type")[0].split("not shown at this width:")
    words = set(table.split())
    assert {"google-workspace-mail", "150", "195", "$0.0070"} <= words  # cost 2 x (0.0025 + 0.001)
    assert "Top" not in words and "Unpriced" not in words
    assert " ".join(note.split()).startswith("Top errors (a wider terminal")
    assert {"rate_limit_exceeded", "upstream_server_error"} <= set(text.split("Errors by type")[1].split())
    row = run_json("report", "integrations", *NOV, "--db", str(db_path))["rows"][0]
    assert (row["latency_p50_ms"], row["latency_p95_ms"], row["unpriced_requests"]) == (150.0, 195.0, 0)
    assert row["top_error_types"] == "rate_limit_exceeded 1, upstream_server_error 1"


def test_platforms_show_the_unpriced_column_when_something_is_unpriced(loaded: Path) -> None:
    """I10 (api, mystery-model) has no price: the platforms table has the column."""
    words = set(run("report", "platforms", *NOV, "--db", str(loaded)).stdout.split())
    assert "Unpriced" in words
    assert "Unpriced" not in set(run("report", "integrations", *NOV, "--db", str(loaded)).stdout.split()[:40])


def test_usage_without_a_platform_is_labelled_none_as_in_report_by_platform(tmp_path: Path, db_path: Path) -> None:
    """One event on web, one with no platform: both `report platforms` and `report by platform`
    call the second "(none)" (the README's label for rows with no value), one key to join on."""
    events = [_ev("W", "2025-11-03T10:00:00Z", "gpt-4o", 1000, 0, platform="web"),
              _ev("X", "2025-11-03T11:00:00Z", "gpt-4o", 2000, 0)]  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "p.jsonl", events)), "--db", str(db_path))
    platforms = run_json("report", "platforms", *NOV, "--db", str(db_path))
    by = run_json("report", "by", "platform", *NOV, "--db", str(db_path))
    assert sorted(r["platform"] for r in platforms["rows"]) == sorted(r["platform"] for r in by["rows"])
    assert {r["platform"]: r["total_tokens"] for r in platforms["rows"]} == {"web": 1000, "(none)": 2000}


def test_unpriced_web_searches_are_named_with_their_cause_as_in_report_by_platform(
    tmp_path: Path, db_path: Path
) -> None:
    """gpt-4o has a token price but no per-call web-search rate. W1 (2 web searches, 3,000 in +
    400 out = 3,400 tokens) is left out whole; W2 (no web search) costs 1,000 x $2.50/M +
    100 x $10/M = $0.0035. Both service reports list W1 as gpt-4o, 1 request, 3,400 tokens with
    no_web_price true and name the web-search cause in their note, as `report by platform` does."""
    slack = {"platform": "web", "integration": "slack", "status": "success"}
    events = [_ev("W1", "2025-11-11T18:00:00Z", "gpt-4o", 3000, 400, web_search_requests=2, **slack),
              _ev("W2", "2025-11-11T18:10:00Z", "gpt-4o", 1000, 100, **slack)]  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "w.jsonl", events)), "--db", str(db_path))
    want = [{"model": "gpt-4o", "requests": 1, "total_tokens": 3400, "no_web_price": True}]
    by = run_json("report", "by", "platform", *NOV, "--db", str(db_path))
    assert by["totals"]["unpriced_models"] == want
    for name in ("platforms", "integrations"):
        out = run_json("report", name, *NOV, "--db", str(db_path))
        assert out["totals"]["unpriced_models"] == want, name
        assert (out["totals"]["cost_usd"], out["totals"]["unpriced_requests"]) == (0.0035, 1), name
        note = next(n for n in out["notes"] if n.startswith("Unpriced"))
        assert "gpt-4o: 1 request with web searches, 3,400 tokens (no web-search price in the table" in note, name
        assert note == next(n for n in by["notes"] if n.startswith("Unpriced")), name


def test_usage_without_an_integration_with_unpriced_usage_is_a_lower_bound_and_names_the_model(
    tmp_path: Path, db_path: Path
) -> None:
    """Without an integration: gpt-4o 1,000,000 in = $2.50 and mystery-model 1,000,000 in (no
    price). The note said "cost $2.50" and named no model, as if $2.50 were all of it; it is a
    lower bound, and the unpriced model is named as every report names it. Alone, one unpriced
    request reads "1 request" (was "1 requests")."""
    events = [_ev("A", "2025-11-05T00:00:00Z", "gpt-4o", 1_000_000, 0, integration="slack"),
              _ev("B", "2025-11-05T01:00:00Z", "gpt-4o", 1_000_000, 0),
              _ev("C", "2025-11-05T02:00:00Z", "mystery-model", 1_000_000, 0)]  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "n.jsonl", events)), "--db", str(db_path))
    notes = run_json("report", "integrations", *NOV, "--db", str(db_path))["notes"]
    assert notes[-1] == (
        "Usage without an integration is not in this report: 2 requests, 2,000,000 tokens, cost ≥ $2.50; "
        "without a price: mystery-model (1 request, 1,000,000 tokens) (see `usagectl report platforms`)."
    )
    alone = run_json("report", "integrations", *NOV, "--model", "mystery-model", "--db", str(db_path))["notes"]
    assert alone[-1].startswith(
        "Usage without an integration is not in this report: 1 request, 1,000,000 tokens, cost unpriced"
    )


@pytest.mark.parametrize("command", ["integrations", "platforms"])
def test_an_unknown_filter_value_is_named_with_its_close_match(loaded: Path, command: str) -> None:
    """QA: `report integrations|platforms --integration Gmail` (the data has gmail) was silently
    empty where `report by` names the close match."""
    out = run_json("report", command, *NOV, "--integration", "Gmail", "--db", str(loaded))
    assert out["rows"] == []
    assert "No integration 'Gmail' in the data (did you mean gmail?)." in out["notes"]
