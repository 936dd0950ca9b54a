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
* agent-tasks: member dana, feature reports, tool digest, claude-sonnet-4-5, no platform (so
  interactive), 2 requests a day on 15–19 Nov at 09:00 and 15:00, each 6,000 context tokens and
  1,000 output; inputs 9,000 10,000 | 11,000 10,000 | then 6 × 10,000, plus an 11th of 20,000 on
  the 20th. Median (lower middle of 11) = 10,000; ±15 % = 8,500 – 11,500 keeps 10 requests on
  5 days (the 20,000 one is out). Cost now: Σ input 100,000 × 3e-6 = 0.30 + 10 × 1,000 × 15e-6
  = 0.15 → $0.45. Repriced at batch (half: input 1.5, output 7.5, cache read 0.15, 5-minute
  write 1.875 per 1M): uncached 100,000 − 10 × 6,000 = 40,000 × 1.5e-6 = 0.06; output
  10,000 × 7.5e-6 = 0.075; the first run of each day writes 5 × 6,000 × 1.875e-6 = 0.05625;
  the second reads 5 × 6,000 × 0.15e-6 = 0.0045 → $0.19575; saving 0.45 − 0.19575 = $0.25425.
* standard-speed: a gpt-5 request at the priority tier, 100,000 in / 10,000 out: 100,000 ×
  2.50e-6 + 10,000 × 20e-6 = $0.45, at standard (1.25 / 10) $0.225; a claude-opus-5 request in
  fast mode, 10,000 in / 1,000 out: 10,000 × 10e-6 + 1,000 × 50e-6 = $0.15, at standard (5 / 25)
  $0.075; the same in fast mode with US-only inference (1.1×): $0.165, at standard@us $0.0825.
  Saving 0.225 + 0.075 + 0.0825 = $0.3825.
"""

from __future__ import annotations

from datetime import UTC, datetime
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
    sizes = [9_000, 10_000, 11_000, 10_000] + [10_000] * 6
    task = {"member": "dana", "feature": "reports", "tool": "digest", "context_tokens": 6_000, "output_tokens": 1_000}
    out += [
        _ev(f"a{n}", "claude-sonnet-4-5", 15 + n // 2, input_tokens=k, **task)
        | {"ts": f"2025-11-{15 + n // 2}T{'09' if n % 2 == 0 else '15'}:00:00Z"}
        for n, k in enumerate(sizes)
    ]
    out.append(_ev("a10", "claude-sonnet-4-5", 20, input_tokens=20_000, **task))
    out.append(_ev("p1", "gpt-5", 25, input_tokens=100_000, output_tokens=10_000, service_tier="priority"))
    out.append(_ev("p2", "claude-opus-5", 25, input_tokens=10_000, output_tokens=1_000, service_tier="fast"))
    out.append(_ev("p3", "claude-opus-5", 26, input_tokens=10_000, output_tokens=1_000, service_tier="fast@us"))
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
        "context-management", "standard-speed", "agent-tasks", "batching", "prompt-caching", "model-selection",
        "file-summary",
    ]  # fmt: skip
    expected = {
        "standard-speed": (3, "0.3825"),
        "agent-tasks": (10, "0.25425"),
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
    assert Decimal(str(rows["agent-tasks"]["cost_usd"])) == Decimal("0.45")
    assert Decimal(str(rows["agent-tasks"]["repriced_usd"])) == Decimal("0.19575")
    # rules may overlap (a long chat's request can be covered by prompt caching and context
    # management), so no summed saving (here 1.21511) is offered as if it could all be had: the
    # totals count the rules only
    assert out["totals"] == {"opportunities": 7}
    table = run("optimize", *RANGE, "--db", str(loaded)).stdout
    assert "Total" not in table and "$1.22" not in table and "there is no total" in " ".join(table.split())


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


def test_empty_database_has_no_rows() -> None:
    out = run_json("optimize", *RANGE)  # the default database, created empty on a first run
    assert out["rows"] == []


def _task(who: str, days: list[int], sizes: list[int] | None = None, **kw: Any) -> list[dict[str, Any]]:
    """Requests of one task on claude-sonnet-4-5 (10,000 input unless ``sizes``), one per listed day,
    the n-th at 09:00 + n minutes so two never share an instant."""
    sizes = sizes or [10_000] * len(days)
    attrs = {"member": who, "feature": "reports", "tool": "digest", "context_tokens": 6_000, "output_tokens": 1_000}
    return [
        _ev(f"{who}{n}", "claude-sonnet-4-5", d, input_tokens=k, **(attrs | kw))
        | {"ts": f"2025-11-{d:02d}T{9 + n // 60:02d}:{n % 60:02d}:00Z"}
        for n, (d, k) in enumerate(zip(days, sizes, strict=True))
    ]


def test_agent_tasks_near_misses_do_not_trigger(tmp_path: Path, db_path: Path) -> None:
    five = [3, 3, 4, 4, 5, 5, 6, 6, 7, 7]  # 10 requests on 5 days
    near = (
        _task("erin", [3, 3, 3, 4, 4, 4, 5, 5, 6, 6])  # 10 requests on only 4 days
        # median of 5 × 10,000 and 5 × 20,000 is 10,000 (lower middle): only 5 within ±15 %
        + _task("frank", five, [10_000, 20_000] * 5)
        + _task("gina", five, service_tier="batch")  # already at the batch tier
        + _task("ivan", five, feature="agents")  # already an agent
        + _task("judy", five, feature=None, tool=None)  # no feature or tool: no task identity
        + _task("hank", five, platform="cron", feature="etl")  # non-interactive: the batching rule's
        + _task("kim", [d for d in range(3, 8) for _ in range(21)])  # 105 on 5 days: 21 a day > 20, a loop
        # context 2,000 / 8,000 alternating: median 2,000 (lower middle), only 5 within ±15 %
        + [e | {"context_tokens": 2_000 if n % 2 else 8_000} for n, e in enumerate(_task("nina", five))]
        # 10 chats of 2 turns: openers of 2,000 / 30,000 (5 within ±15 % of the median 2,000); the
        # 10 steady follow-ups of 10,000 are conversation, not runs of a task
        + [
            e | {"session_id": f"mona-{n}", "context_tokens": 1_000}
            for n, e in enumerate(_task("mona", five, [2_000, 30_000] * 5))
        ]
        + [
            e | {"event_id": f"mona-f{n}", "session_id": f"mona-{n}", "ts": e["ts"].replace("T09", "T10")}
            for n, e in enumerate(_task("mona", five))
        ]
    )
    run("import", str(write_jsonl(tmp_path / "near.jsonl", near)), "--db", str(db_path))
    rows = {r["rule"]: r for r in run_json("optimize", *RANGE, "--db", str(db_path))["rows"]}
    assert "agent-tasks" not in rows
    # hank's 10 requests go to batching only (rules split interactive and non-interactive work):
    # 10 × (10,000 × 3e-6 + 1,000 × 15e-6) = 10 × 0.045 = 0.45 now, half at batch: saving 0.225
    assert rows["batching"]["events"] == 10
    assert Decimal(str(rows["batching"]["saving_usd_month"])) == Decimal("0.225")


def test_agent_tasks_boundary_and_openai_free_cache_writes(tmp_path: Path, db_path: Path) -> None:
    # gpt-4o (batch half: input 1.25, cache read 0.625, output 5 per 1M; OpenAI has no write fee,
    # so the day's first run keeps the batch input rate). 10 requests on 5 days, 2 a day;
    # inputs 10,000 × 9 and 11,500 (median 10,000; 11,500 is exactly +15 %: covered), 4,000 context,
    # 100 output. Now: 101,500 × 2.5e-6 = 0.25375 + 1,000 × 10e-6 = 0.01 → 0.26375.
    # Batch: uncached input 101,500 − 5 × 4,000 (the reads) = 81,500 × 1.25e-6 = 0.101875;
    # reads 20,000 × 0.625e-6 = 0.0125; output 1,000 × 5e-6 = 0.005 → 0.119375; saving 0.144375.
    five = [3, 3, 4, 4, 5, 5, 6, 6, 7, 7]
    evs = [
        _ev(f"o{n}", "gpt-4o", d, input_tokens=k, context_tokens=4_000, output_tokens=100, member="olga", tool="sql")
        | {"ts": f"2025-11-{d:02d}T09:{n:02d}:00Z"}
        for n, (d, k) in enumerate(zip(five, [10_000] * 9 + [11_500], strict=True))
    ]
    run("import", str(write_jsonl(tmp_path / "o.jsonl", evs)), "--db", str(db_path))
    rows = {r["rule"]: r for r in run_json("optimize", *RANGE, "--db", str(db_path))["rows"]}
    assert rows["agent-tasks"]["events"] == 10
    assert Decimal(str(rows["agent-tasks"]["cost_usd"])) == Decimal("0.26375")
    assert Decimal(str(rows["agent-tasks"]["saving_usd_month"])) == Decimal("0.144375")


def test_cost_and_saving_are_shown_over_the_range_and_a_one_off_is_named(tmp_path: Path, db_path: Path) -> None:
    """QA: the table showed "Cost now $4.25" (the range) beside "Saving / month $5.25" (scaled), a
    saving larger than the cost it saves from. One gpt-4o request of 1,000,000 input at the
    priority tier on 2026-11-12, range 11-10 – 11-19 = 10 days: at priority $4.25/M = $4.25, at
    standard $2.50/M = $2.50; saving in range $1.75, per month 1.75 × 30 / 10 = $5.25. The cost
    and the saving in the range stand side by side, labelled as such. One event < 10: a note says
    the monthly figure holds only if it recurs; ten such requests carry no caveat."""
    one = [{"event_id": "p1", "ts": "2026-11-12T12:00:00Z", "model_raw": "gpt-4o", "input_tokens": 1_000_000,
            "service_tier": "priority"}]  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "p.jsonl", one)), "--db", str(db_path))
    span = ("--since", "2026-11-10", "--until", "2026-11-19", "--tz", "UTC", "--db", str(db_path))
    md = run("optimize", *span, "--format", "markdown").stdout
    assert "| Rule | Opportunity | Events | Cost in range | Saving in range | Saving / month |" in md
    assert "| 1 | $4.25 | $1.75 | $5.25 |" in md
    out = run_json("optimize", *span)
    (row,) = out["rows"]
    # the JSON fields are unchanged (cost_usd and saving_usd were already the range's)
    assert {k: Decimal(str(row[k])) for k in ("cost_usd", "repriced_usd", "saving_usd", "saving_usd_month")} == {
        "cost_usd": Decimal("4.25"),
        "repriced_usd": Decimal("2.5"),
        "saving_usd": Decimal("1.75"),
        "saving_usd_month": Decimal("5.25"),
    }
    assert any("2026-11-10 – 2026-11-19 (10 days)" in n for n in out["notes"])
    assert any(n.startswith("Few events: standard-speed (1) rests on fewer than 10") for n in out["notes"])
    nine = [one[0] | {"event_id": f"q{d}", "ts": f"2026-11-{d}T13:00:00Z"} for d in range(11, 20)]
    run("import", str(write_jsonl(tmp_path / "nine.jsonl", nine)), "--db", str(db_path))
    out = run_json("optimize", *span)
    assert out["rows"][0]["events"] == 10  # p1 + one a day 11-11 – 11-19
    assert not any(n.startswith("Few events") for n in out["notes"])


def test_until_after_today_is_a_usage_error(loaded: Path) -> None:
    """QA: `optimize --until` a month ahead counted the days to come as days of zero usage, so
    "Saving / month" (× 30 / days) was divided by them ($0.0051, not $10.66). Read on 2025-11-30
    (12:00 UTC): --until 2025-12-01 is tomorrow, a usage error naming it and today; --until
    2025-11-30 (today) stays allowed: the 30 days ending it are 11-01 – 11-30 (the fixture's
    range), so batching's $0.075 saving × 30 / 30 = $0.075 a month. On the CLI (the real clock)
    a far --until exits 2."""
    from usagectl.errors import UsageError
    from usagectl.services.context import make_context
    from usagectl.services.optimize import optimize_report
    from usagectl.services.reports import ReportRequest

    ctx = make_context(None, loaded)
    now = datetime(2025, 11, 30, 12, tzinfo=UTC)
    with pytest.raises(UsageError, match=r"^--until 2025-12-01 is in the future \(today is 2025-11-30 in UTC\)"):
        optimize_report(ctx, ReportRequest(until="2025-12-01", tz="UTC", now=now))
    rep = optimize_report(ctx, ReportRequest(until="2025-11-30", tz="UTC", now=now))
    assert (rep.filters["since"], rep.filters["until"]) == ("2025-11-01", "2025-11-30")
    assert {r["rule"]: r for r in rep.rows}["batching"]["saving_usd_month"] == Decimal("0.075000")
    out = run("optimize", "--until", "2199-12-31", "--tz", "UTC", "--db", str(loaded), expect=2)
    assert "--until 2199-12-31 is in the future" in out.stderr


def test_through_today_cuts_a_month_in_progress_at_today(loaded: Path) -> None:
    """The month PDF hands optimize its whole month (``through_today``): read on 2025-11-15
    (12:00 UTC), November is cut at today, 11-01 – 11-15 = 15 days, every covered event inside
    (as in the test above): batching's $0.075 × 30 / 15 = $0.15 a month, not × 30 / 30 with 15
    days still to come. A month not begun (December) has no usage: no rows, no error."""
    from usagectl.errors import UsageError
    from usagectl.services.context import make_context
    from usagectl.services.optimize import optimize_report
    from usagectl.services.reports import ReportRequest

    ctx = make_context(None, loaded)
    now = datetime(2025, 11, 15, 12, tzinfo=UTC)
    november = ReportRequest(since="2025-11-01", until="2025-11-30", tz="UTC", now=now)
    rep = optimize_report(ctx, november, through_today=True)
    assert (rep.filters["since"], rep.filters["until"]) == ("2025-11-01", "2025-11-15")
    assert {r["rule"]: r for r in rep.rows}["batching"]["saving_usd_month"] == Decimal("0.150000")
    with pytest.raises(UsageError, match="--until 2025-11-30 is in the future"):
        optimize_report(ctx, november)
    december = ReportRequest(since="2025-12-01", until="2025-12-31", tz="UTC", now=now)
    assert optimize_report(ctx, december, through_today=True).rows == ()
