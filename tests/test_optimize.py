"""`usagectl optimize` on a fixture whose savings are worked out by hand (rates per 1M tokens:
gpt-4o $2.50 in / $10 out; gpt-4o-mini $0.15 / $0.60, batch half; claude-sonnet-4-5 $3 in,
cache read $0.30, 5-minute write $3.75). Range 2025-11-01 – 2025-11-30 = 30 days, so
$/month = saving × 30 / 30 = saving.

* model-selection: 2 gpt-4o requests of 1,000 in / 200 out: 0.0025 + 0.002 = $0.0045 each;
  at gpt-4o-mini 0.00015 + 0.00012 = $0.00027; saving 2 × 0.00423 = $0.00846. A third gpt-4o
  request of 5,000 input is not simple: not covered.
* batching: 1 gpt-4o-mini request on platform api, feature etl, 1,000,000 input: $0.15 standard,
  $0.075 batch: saving $0.075.
* prompt-caching: chat s1, 3 claude-sonnet-4-5 requests of 10,000 uncached input (8,000 of it
  context): $0.03 each = $0.09. Repriced: first 0.03 − 8,000 × 3e-6 + 8,000 × 3.75e-6 = 0.036;
  the next two 0.03 − 0.024 + 8,000 × 0.3e-6 = 0.0084 each; 0.036 + 0.0168 = 0.0528;
  saving $0.0372.
* context-management: chat s2, 10 gpt-4o requests of 10k 20k 30k 40k 50k 60k 64k 64k 64k 64k
  input (no context breakdown, so no caching rule): peak 64k ≥ 60k and ≥ 3 × 10k. Over the
  32k cap: 40+50+60+4×64 = 406k tokens = $1.015; each repriced at 32,000 tokens:
  7 × 32,000 × 2.5e-6 = $0.56; saving $0.455.
* file-summary: file f1 (10,000 tokens) read in chats a, b, c by gpt-4o-mini, 12,000 input each:
  the 2 re-reads drop 10,000 − 1,000 = 9,000 input tokens: 2 × 9,000 × 0.15e-6 = $0.0027.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import run, run_json, write_jsonl

RANGE = ("--since", "2025-11-01", "--until", "2025-11-30", "--tz", "UTC")


@pytest.fixture(autouse=True)
def _wired() -> None:
    from usagectl.cli import app, insights

    if not any(c.name == "optimize" for c in app.registered_commands):
        insights.register(app)


def _ev(i: str, model: str, day: int, **kw: Any) -> dict[str, Any]:
    return {"event_id": i, "ts": f"2025-11-{day:02d}T12:00:00Z", "model_raw": model} | kw


def events() -> list[dict[str, Any]]:
    out = [
        _ev("m1", "gpt-4o", 3, input_tokens=1000, output_tokens=200),
        _ev("m2", "gpt-4o", 4, input_tokens=1000, output_tokens=200),
        _ev("m3", "gpt-4o", 5, input_tokens=5000, output_tokens=200),
        _ev("b1", "gpt-4o-mini", 6, input_tokens=1_000_000, platform="api", feature="etl"),
    ]
    out += [
        _ev(f"c{n}", "claude-sonnet-4-5", 7, input_tokens=10_000, context_tokens=8_000, session_id="s1")
        | {"ts": f"2025-11-07T12:0{n}:00Z"}
        for n in range(3)
    ]
    sizes = [10, 20, 30, 40, 50, 60, 64, 64, 64, 64]
    out += [
        _ev(f"x{n}", "gpt-4o", 8, input_tokens=k * 1000, session_id="s2") | {"ts": f"2025-11-08T12:{n:02d}:00Z"}
        for n, k in enumerate(sizes)
    ]
    out += [
        _ev(f"f{n}", "gpt-4o-mini", 10 + n, input_tokens=12_000, file_id="f1", file_tokens=10_000, session_id=s)
        for n, s in enumerate("abc")
    ]
    return out


@pytest.fixture
def loaded(tmp_path: Path, db_path: Path) -> Path:
    run("import", str(write_jsonl(tmp_path / "ev.jsonl", events())), "--db", str(db_path))
    return db_path


def test_savings_match_hand_worked_numbers(loaded: Path) -> None:
    out = run_json("optimize", *RANGE, "--db", str(loaded))
    assert out["report"] == "optimize"
    rows = {r["rule"]: r for r in out["rows"]}
    assert [r["rule"] for r in out["rows"]] == [
        "context-management", "batching", "prompt-caching", "model-selection", "file-summary",
    ]  # fmt: skip
    expected = {
        "model-selection": (2, "0.00846"),
        "batching": (1, "0.075"),
        "prompt-caching": (3, "0.0372"),
        "context-management": (7, "0.455"),
        "file-summary": (2, "0.0027"),
    }
    for rule, (events_, saving) in expected.items():
        assert rows[rule]["events"] == events_, rule
        assert Decimal(str(rows[rule]["saving_usd_month"])) == Decimal(saving), rule
    assert Decimal(str(rows["context-management"]["cost_usd"])) == Decimal("1.015")
    assert Decimal(str(out["totals"]["saving_usd_month"])) == Decimal(
        "0.57836"
    )  # 0.455 + 0.075 + 0.0372 + 0.00846 + 0.0027


def test_service_returns_decimal_and_month_scaling(loaded: Path) -> None:
    from usagectl.services.context import make_context
    from usagectl.services.optimize import optimize_report
    from usagectl.services.reports import ReportRequest

    ctx = make_context(None, loaded)
    # 2025-11-01 – 2025-11-15 = 15 days: every covered event is inside, $/month = saving × 30 / 15
    rep = optimize_report(ctx, ReportRequest(since="2025-11-01", until="2025-11-15", tz="UTC"))
    rows = {r["rule"]: r for r in rep.rows}
    assert rows["batching"]["saving_usd_month"] == Decimal("0.150000")  # 0.075 × 2
    assert isinstance(rows["model-selection"]["saving_usd_month"], Decimal)


def test_empty_database_has_no_rows(db_path: Path) -> None:
    out = run_json("optimize", *RANGE, "--db", str(db_path))
    assert out["rows"] == []
