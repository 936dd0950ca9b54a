"""Web searches on a model whose price table has no per-call rate are unpriced, never $0.

Rates (pricing/*.toml): gpt-4o $2.50 in / $10 out per 1M, no web_search_per_1k;
claude-sonnet-4-5 $3 in / $15 out, web search $10 per 1k calls = $0.01 a call.

W1 gpt-4o, 3 searches, 1,000 in + 500 out = 1,500 tokens       -> unpriced (no per-call rate)
W2 gpt-4o, no search: 2,000 × 2.50/M = 0.005; 100 × 10/M = 0.001 -> 0.006
W3 sonnet, 4 searches: 1,000 × 3/M = 0.003; 500 × 15/M = 0.0075; 4 × 0.01 = 0.04 -> 0.0505
Priced total 0.006 + 0.0505 = 0.0565; unpriced 1 request / 1,500 tokens.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from tests.helpers import run, run_json, write_jsonl
from usagectl.pricing import load_pricebook
from usagectl.services import reports
from usagectl.services.context import make_context
from usagectl.services.demo import generate_events
from usagectl.store import reports as q
from usagectl.store.connection import connect

EVENTS = [
    {"event_id": "W1", "ts": "2025-06-20T12:00:00Z", "model_raw": "gpt-4o", "input_tokens": 1000,
     "output_tokens": 500, "web_search_requests": 3},
    {"event_id": "W2", "ts": "2025-06-20T13:00:00Z", "model_raw": "gpt-4o", "input_tokens": 2000,
     "output_tokens": 100},
    {"event_id": "W3", "ts": "2025-06-20T14:00:00Z", "model_raw": "claude-sonnet-4-5", "input_tokens": 1000,
     "output_tokens": 500, "web_search_requests": 4},
]  # fmt: skip
RANGE = ("--since", "2025-06-01", "--until", "2025-06-30")


@pytest.fixture
def loaded(tmp_path: Path, db_path: Path) -> Path:
    (tmp_path / "work" / "usagectl.toml").write_text('[display]\ntimezone = "UTC"\n', encoding="utf-8")
    run("import", str(write_jsonl(tmp_path / "w.jsonl", EVENTS)), "--db", str(db_path))
    return db_path


def test_price_book_leaves_searches_without_a_rate_unpriced() -> None:
    book = load_pricebook()
    ts = datetime(2025, 6, 20, 12, tzinfo=UTC)
    searched = book.cost(model_raw="gpt-4o", ts=ts, input_tokens=1000, output_tokens=500, web_search_requests=3)
    assert searched.total is None
    assert searched.unpriced_reason == "no web-search price for gpt-4o"
    plain = book.cost(model_raw="gpt-4o", ts=ts, input_tokens=2000, output_tokens=100)
    assert plain.total == Decimal("0.006")  # 0.005 + 0.001
    sonnet = book.cost(
        model_raw="claude-sonnet-4-5", ts=ts, input_tokens=1000, output_tokens=500, web_search_requests=4
    )
    assert sonnet.total == Decimal("0.0505")  # 0.003 + 0.0075 + 4 × 0.01
    assert sonnet.lines[-1].amount == Decimal("0.04")


def test_report_by_model_counts_the_search_unpriced(loaded: Path) -> None:
    out = run_json("report", "by", "model", *RANGE, "--db", str(loaded))
    rows = {r["model"]: r for r in out["rows"]}
    assert rows["gpt-4o"]["cost_usd"] == 0.006  # W2 only
    assert rows["gpt-4o"]["unpriced_requests"] == 1  # W1
    assert rows["claude-sonnet-4-5"]["cost_usd"] == 0.0505
    assert out["totals"]["cost_usd"] == 0.0565
    assert out["totals"]["unpriced_requests"] == 1


def test_grouped_engine_matches_the_per_event_engine(loaded: Path) -> None:
    """Priced after aggregating, W1 and W2 (same model, tier, day) must not share a group."""
    ctx = make_context(None, loaded)
    flt = reports.build_filters(ctx, reports.ReportRequest(since="2025-06-01", until="2025-06-30"))
    with connect(loaded, read_only=True) as con:
        q.prepare_session(con, ctx.pricebook(), {}, flt)
        grouped = {(r["model"], r["cost_usd"], r["unpriced_raw"]) for r in q.cube(con, flt, ["model"])}
        per_event = {(r["model"], r["cost_usd"], r["unpriced_raw"]) for r in q.cube_per_event(con, flt, ["model"])}
    assert grouped == per_event
    assert ("gpt-4o", None, "gpt-4o") in grouped  # W1 unpriced
    assert ("gpt-4o", Decimal("0.006"), None) in grouped  # W2 priced


def test_cost_and_invoice(loaded: Path) -> None:
    cost = run_json("cost", "--month", "2025-06", "--db", str(loaded))
    assert [r["line"] for r in cost["rows"] if r["bucket"] == "web_search_requests"] == [
        "Web search calls: 4 × $0.01 = $0.04"  # W3 only: W1's calls have no rate
    ]
    assert cost["totals"]["cost_usd"] == 0.0565
    assert cost["totals"]["tool_fees_usd"] == 0.04
    assert cost["totals"]["unpriced_models"] == [
        {"model": "gpt-4o", "requests": 1, "total_tokens": 1500, "no_web_price": True}
    ]

    inv = run_json("invoice", "--month", "2025-06", "--db", str(loaded))
    items = {t["item"]: t for t in inv["tokens"]}
    assert items["Web search calls"]["quantity"] == 4
    assert items["Web search calls"]["exact_usd"] == 0.04
    assert items["Unpriced usage (not charged)"]["quantity"] == 1500
    assert inv["totals"]["subtotal_usd"] == 0.06  # 0.0565 to the cent
    assert inv["totals"]["unpriced_requests"] == 1


def test_unpriced_notes_name_the_web_search_cause(tmp_path: Path, db_path: Path) -> None:
    """gpt-4o has token prices: the notes must not say it has no price, only that W1's searches
    have none. W4, an unknown model, keeps the plain wording. Hand figures: W1 1,000 + 500 = 1,500
    tokens; W4 700 + 50 = 750 tokens; together 2 requests / 2,250 tokens unpriced."""
    unknown = {"event_id": "W4", "ts": "2025-06-21T09:00:00Z", "model_raw": "mystery-x", "input_tokens": 700,
               "output_tokens": 50}  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "w4.jsonl", [*EVENTS, unknown])), "--db", str(db_path))
    cause = "gpt-4o: 1 request with web searches, 1,500 tokens (no web-search price in the table; their whole cost"
    plain = "mystery-x (1 request, 750 tokens)"
    for args in (("report", "by", "model", *RANGE), ("invoice", "--month", "2025-06"), ("cost", "--month", "2025-06")):
        [note] = [n for n in run_json(*args, "--db", str(db_path), "--tz", "UTC")["notes"] if "Unpriced:" in n]
        assert "Unpriced: 2 requests / 2,250 tokens" in note, args
        assert cause in note, args
        assert plain in note, args
    out = run_json("report", "by", "model", *RANGE, "--db", str(db_path))
    assert out["totals"]["unpriced_models"] == [
        {"model": "gpt-4o", "requests": 1, "total_tokens": 1500, "no_web_price": True},
        {"model": "mystery-x", "requests": 1, "total_tokens": 750, "no_web_price": False},
    ]


def test_pricing_check_and_doctor_name_the_cause(loaded: Path) -> None:
    check = run_json("pricing", "check", "--db", str(loaded))
    assert check["rows"] == [
        {"model": "gpt-4o", "resolved": "gpt-4o", "service_tier": "standard", "requests": 1, "total_tokens": 1500,
         "reason": "no web-search price (3 calls)"},
    ]  # fmt: skip
    assert check["totals"]["unpriced_requests"] == 1
    doctor = run_json("doctor", *RANGE, "--db", str(loaded))
    [finding] = [f for f in doctor["rows"] if f["check"] == "unpriced"]
    assert finding["subject"] == "gpt-4o"
    assert "no web-search price (3 calls)" in finding["detail"]
    assert finding["data"]["web_search_requests"] == 3


def test_pricing_show_has_no_search_rate_for_gpt_4o() -> None:
    shown = run_json("pricing", "show", "gpt-4o", "--at", "2025-06-20")
    assert {r["web_search_per_1k"] for r in shown["rows"]} == {None}
    sonnet = run_json("pricing", "show", "claude-sonnet-4-5", "--at", "2025-06-20")
    assert {r["web_search_per_1k"] for r in sonnet["rows"] if r["service_tier"] == "standard"} == {10}


def test_demo_searches_only_where_a_search_is_priced() -> None:
    events = generate_events(date(2026, 11, 20), days=3, seed=7, scale=0.25)
    searched = {e["provider"] for e in events if e.get("web_search_requests")}
    assert searched == {"anthropic"}
