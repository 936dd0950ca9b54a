"""`report team`: members, teams, departments, cost centers and the exact allocation of shared cost.

Rates (USD per 1M tokens, PRICING.md): gpt-4o 2.50 in / 10 out; gpt-4o-mini 0.15 / 0.60;
mistral-large-2411 has no price.

Config: alice, bob -> platform / engineering / cc-100; carol -> growth / marketing / cc-200;
dave and erin are not mapped ("(no team)").

A1 2025-11-10 alice gpt-4o 1,000,000 in          = 2.50
B1 2025-11-10 bob   gpt-4o   400,000 in          = 1.00
C1 2025-11-11 carol gpt-4o-mini 1,000,000 out    = 0.60
D1 2025-11-11 dave  gpt-4o   200,000 in          = 0.50
E1 2025-11-11 erin  mistral-large-2411           unpriced (5,000 in, 100 out)
S1 2025-11-12 (no member) gpt-4o 100,000 out, integration slack = 1.00   } shared: 1.15
S2 2025-11-12 (no member, event team platform) gpt-4o-mini 1,000,000 in = 0.15 }
T0 2025-10-31T23:30Z alice gpt-4o 40,000 in = 0.10 (October in UTC; 2025-11-01 00:30 in Berlin)
T1 2025-11-30T23:30Z bob   gpt-4o 40,000 in = 0.10 (November in UTC; 2025-12-01 00:30 in Berlin)

November in UTC: alice 2.50, bob 1.10, carol 0.60, dave 0.50, erin unpriced: direct 4.70,
shared 1.15, total 5.85.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.helpers import run, run_json, write_jsonl
from usagectl.services import team
from usagectl.services.context import make_context
from usagectl.services.reports import ReportRequest

D = Decimal


def _ev(eid: str, ts: str, model: str, member: str | None, inp: int = 0, out: int = 0, **kw: object) -> dict:  # type: ignore[type-arg]
    ev: dict[str, object] = {"event_id": eid, "ts": ts, "model_raw": model, "input_tokens": inp, "output_tokens": out}
    if member:
        ev["member"] = member
    return ev | kw


EVENTS = [
    _ev("A1", "2025-11-10T10:00:00Z", "gpt-4o", "alice", inp=1_000_000),
    _ev("B1", "2025-11-10T11:00:00Z", "gpt-4o", "bob", inp=400_000),
    _ev("C1", "2025-11-11T10:00:00Z", "gpt-4o-mini", "carol", out=1_000_000),
    _ev("D1", "2025-11-11T11:00:00Z", "gpt-4o", "dave", inp=200_000),
    _ev("E1", "2025-11-11T12:00:00Z", "mistral-large-2411", "erin", inp=5_000, out=100, provider="mistral"),
    _ev("S1", "2025-11-12T10:00:00Z", "gpt-4o", None, out=100_000, integration="slack", feature="chat"),
    _ev("S2", "2025-11-12T11:00:00Z", "gpt-4o-mini", None, inp=1_000_000, team="platform", feature="batch"),
    _ev("T0", "2025-10-31T23:30:00Z", "gpt-4o", "alice", inp=40_000),
    _ev("T1", "2025-11-30T23:30:00Z", "gpt-4o", "bob", inp=40_000),
]
CONFIG = """
[members.alice]
team = "platform"
department = "engineering"
cost_center = "cc-100"
[members.bob]
team = "platform"
department = "engineering"
cost_center = "cc-100"
[members.carol]
team = "growth"
department = "marketing"
cost_center = "cc-200"
"""
NOV = ("--since", "2025-11-01", "--until", "2025-11-30")


@pytest.fixture
def loaded(tmp_path: Path, db_path: Path) -> Path:
    (tmp_path / "work" / "usagectl.toml").write_text(CONFIG, encoding="utf-8")
    run("import", str(write_jsonl(tmp_path / "team.jsonl", EVENTS)), "--db", str(db_path))
    return db_path


def _report(db: Path, *args: str) -> dict:  # type: ignore[type-arg]
    out = run_json("report", "team", *NOV, "--db", str(db), *args)
    assert isinstance(out, dict)
    return out


def _by(rows: list[dict], key: str) -> dict[str, dict]:  # type: ignore[type-arg]
    return {r[key]: r for r in rows}


def _dec(x: object) -> Decimal:
    return D(str(x))


# --------------------------------------------------------------------------- allocate()


def test_allocation_of_one_dollar_among_three_equal_members_sums_exactly() -> None:
    parts = team.allocate(D("1.00"), [D(1), D(1), D(1)])
    # 1,000,000 quanta / 3 = 333,333 each + 1 left over; equal remainders: the first gets it
    assert parts == [D("0.333334"), D("0.333333"), D("0.333333")]
    assert sum(parts) == D("1.000000")


def test_allocation_edge_cases() -> None:
    # weights all zero: equal shares
    assert team.allocate(D("10"), [0, 0]) == [D("5"), D("5")]
    # largest remainders win: 1 over (1, 2): 333,333.33 / 666,666.67 -> the second gets the quantum
    assert team.allocate(D("1"), [1, 2]) == [D("0.333333"), D("0.666667")]
    # digits below the quantum ride on the part that receives the last quantum
    parts = team.allocate(D("1.000000000001"), [1, 1, 1])
    assert parts == [D("0.333334"), D("0.333333000001"), D("0.333333")]
    assert sum(parts) == D("1.000000000001")
    with pytest.raises(ValueError):
        team.allocate(D("1"), [])
    with pytest.raises(ValueError):
        team.allocate(D("1"), [1, -1])


@given(
    st.decimals(min_value=0, max_value=10_000, places=12, allow_nan=False, allow_infinity=False),
    st.lists(st.decimals(min_value=0, max_value=1_000, places=6, allow_nan=False), min_size=1, max_size=12),
)
def test_allocation_sums_exactly_and_each_part_is_within_a_quantum(amount: Decimal, weights: list[Decimal]) -> None:
    parts = team.allocate(amount, weights)
    assert sum(parts) == amount
    total_w = sum(weights) or len(weights)
    for p, w in zip(parts, weights, strict=True):
        exact = Fraction(amount) * Fraction(w if sum(weights) else 1) / Fraction(total_w)
        assert abs(Fraction(p) - exact) < Fraction(1, 1_000_000)


# --------------------------------------------------------------------------- the report


def test_three_equal_members_share_one_dollar(tmp_path: Path, db_path: Path) -> None:
    # each 400,000 gpt-4o input tokens = $1.00; the shared event too
    events = [
        _ev(f"X{i}", "2025-11-10T10:00:00Z", "gpt-4o", m, inp=400_000) for i, m in enumerate(["carl", "ann", "bea"])
    ]
    events.append(_ev("XS", "2025-11-10T10:00:00Z", "gpt-4o", None, inp=400_000))
    run("import", str(write_jsonl(tmp_path / "eq.jsonl", events)), "--db", str(db_path))
    out = _report(db_path)
    rows = _by(out["rows"], "member")
    # sorted by name: ann, bea, carl; the tie goes to ann
    assert _dec(rows["ann"]["allocated_usd"]) == D("0.333334")
    assert _dec(rows["bea"]["allocated_usd"]) == D("0.333333")
    assert _dec(rows["carl"]["allocated_usd"]) == D("0.333333")
    assert _dec(out["totals"]["allocated_usd"]) == D("1")
    assert _dec(out["totals"]["cost_usd"]) == D("4")
    assert rows["ann"]["team"] == "(no team)"


def test_proportional_allocation_per_member_team_department_cost_center(loaded: Path) -> None:
    out = _report(loaded, "--tz", "UTC")
    t = out["totals"]
    assert _dec(t["cost_usd"]) == D("5.85")
    assert _dec(t["direct_cost_usd"]) == D("4.70")
    assert _dec(t["shared_cost_usd"]) == D("1.15")
    assert t["shared_requests"] == 2 and t["unpriced_requests"] == 1
    assert t["unpriced_models"] == [{"model": "mistral-large-2411", "requests": 1, "total_tokens": 5100}]
    # 1,150,000 quanta over 4.70 of member cost:
    # alice 2.5/4.7 -> 611,702.13; bob 1.1/4.7 -> 269,148.94; carol 0.6/4.7 -> 146,808.51;
    # dave 0.5/4.7 -> 122,340.43; floors sum to 1,149,998: the 2 quanta left go to bob and carol
    rows = _by(out["rows"], "member")
    expected = {"alice": ("2.50", "0.611702"), "bob": ("1.10", "0.269149"), "carol": ("0.60", "0.146809"),
                "dave": ("0.50", "0.122340")}  # fmt: skip
    for member, (direct, alloc) in expected.items():
        assert _dec(rows[member]["direct_cost_usd"]) == D(direct)
        assert _dec(rows[member]["allocated_usd"]) == D(alloc)
        assert _dec(rows[member]["cost_usd"]) == D(direct) + D(alloc)
    assert rows["erin"]["direct_cost_usd"] is None and rows["erin"]["cost_usd"] is None  # unpriced, never $0
    assert rows["erin"]["unpriced_requests"] == 1 and rows["dave"]["team"] == "(no team)"
    assert sum(_dec(r["allocated_usd"]) for r in out["rows"]) == D("1.15")
    assert sum(_dec(r["cost_usd"] or 0) for r in out["rows"]) == D("5.85")

    teams = _by(out["teams"], "team")
    # platform: 3.60 + 0.611702 + 0.269149; growth 0.60 + 0.146809; (no team) 0.50 + 0.122340
    assert _dec(teams["platform"]["cost_usd"]) == D("4.480851")
    assert _dec(teams["growth"]["cost_usd"]) == D("0.746809")
    assert _dec(teams["(no team)"]["cost_usd"]) == D("0.622340")
    assert teams["(no team)"]["members"] == 2
    ccs = _by(out["cost_centers"], "cost_center")
    assert {k: _dec(v["cost_usd"]) for k, v in ccs.items()} == {
        "cc-100": D("4.480851"), "cc-200": D("0.746809"), "(no cost center)": D("0.622340")}  # fmt: skip
    for sec in ("teams", "departments", "cost_centers"):
        assert sum(_dec(r["cost_usd"] or 0) for r in out[sec]) == D("5.85"), sec
        for r in out[sec]:
            assert _dec(r["direct_cost_usd"] or 0) + _dec(r["allocated_usd"]) == _dec(r["cost_usd"] or 0)
    depts = _by(out["departments"], "department")
    assert _dec(depts["engineering"]["cost_usd"]) == D("4.480851")
    shared = {(r["team"], r["integration"]): _dec(r["cost_usd"]) for r in out["shared"]}
    assert shared == {("(no team)", "slack"): D("1.00"), ("platform", ""): D("0.15")}
    assert any("mistral-large-2411" in n for n in out["notes"])


def test_even_allocation_by_member_and_by_team(loaded: Path) -> None:
    rows = _by(_report(loaded, "--allocate", "even")["rows"], "member")
    # five members (erin included): 1.15 / 5 = 0.23 each
    assert {m: _dec(r["allocated_usd"]) for m, r in rows.items()} == dict.fromkeys(
        ("alice", "bob", "carol", "dave", "erin"), D("0.23")
    )
    out = _report(loaded, "--allocate", "even", "--by", "team")
    # teams sorted "(no team)", growth, platform: 383,333.33 each, the quantum left goes to "(no team)"
    teams = _by(out["teams"], "team")
    assert _dec(teams["(no team)"]["allocated_usd"]) == D("0.383334")
    assert _dec(teams["growth"]["allocated_usd"]) == D("0.383333")
    assert _dec(teams["platform"]["allocated_usd"]) == D("0.383333")
    rows = _by(out["rows"], "member")
    # within (no team): 383,334 / 2 = 191,667 each; within platform 383,333 / 2: the tie goes to alice
    assert _dec(rows["dave"]["allocated_usd"]) == _dec(rows["erin"]["allocated_usd"]) == D("0.191667")
    assert _dec(rows["alice"]["allocated_usd"]) == D("0.191667")
    assert _dec(rows["bob"]["allocated_usd"]) == D("0.191666")
    assert out["filters"]["allocate"] == "even" and out["filters"]["by"] == "team"


def test_proportional_by_team_matches_by_member(loaded: Path) -> None:
    out = _report(loaded, "--by", "team")
    # teams: (no team) 0.5/4.7 -> 122,340.43; growth 0.6/4.7 -> 146,808.51; platform 3.6/4.7 -> 880,851.06;
    # 1 quantum left -> growth. platform's 880,851 to alice 2.5/3.6 -> 611,702.08, bob 1.1/3.6 -> 269,148.92,
    # the quantum left -> bob
    rows = _by(out["rows"], "member")
    assert _dec(rows["alice"]["allocated_usd"]) == D("0.611702")
    assert _dec(rows["bob"]["allocated_usd"]) == D("0.269149")
    assert _dec(rows["carol"]["allocated_usd"]) == D("0.146809")
    assert _dec(rows["dave"]["allocated_usd"]) == D("0.122340")


def test_berlin_month_moves_the_boundary_events(loaded: Path) -> None:
    out = _report(loaded, "--tz", "Europe/Berlin")
    rows = _by(out["rows"], "member")
    # T0 (alice, 0.10) joins November, T1 (bob, 0.10) leaves it: alice 2.60, bob 1.00; direct still 4.70
    assert _dec(rows["alice"]["direct_cost_usd"]) == D("2.60")
    assert _dec(rows["bob"]["direct_cost_usd"]) == D("1.00")
    # alice 2.6/4.7 -> 636,170.21; bob 1.0/4.7 -> 244,680.85; carol 146,808.51; dave 122,340.43;
    # floors 1,149,998: bob and carol get the 2 quanta left
    assert _dec(rows["alice"]["allocated_usd"]) == D("0.636170")
    assert _dec(rows["bob"]["allocated_usd"]) == D("0.244681")
    assert _dec(out["totals"]["cost_usd"]) == D("5.85")


def test_config_default_and_bad_values(loaded: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "work" / "usagectl.toml"
    cfg.write_text(CONFIG + '\n[team]\nallocate = "even"\n', encoding="utf-8")
    out = _report(loaded)
    assert out["filters"]["allocate"] == "even"
    assert _dec(_by(out["rows"], "member")["erin"]["allocated_usd"]) == D("0.23")
    assert _report(loaded, "--allocate", "proportional")["filters"]["allocate"] == "proportional"
    res = run("report", "team", *NOV, "--db", str(loaded), "--allocate", "fair", expect=2)
    assert "--allocate" in res.stderr
    res = run("report", "team", *NOV, "--db", str(loaded), "--by", "project", expect=2)
    assert "--by" in res.stderr
    cfg.write_text(CONFIG + '\n[team]\nallocate = "weighted"\n', encoding="utf-8")
    res = run("report", "team", *NOV, "--db", str(loaded), expect=2)
    assert "[team] allocate" in res.stderr and "usagectl.toml" in res.stderr


def test_shared_cost_with_no_member_to_take_it_is_shown_unallocated(loaded: Path) -> None:
    ctx = make_context(None, loaded)
    rep = team.team(
        ctx, ReportRequest(since="2025-11-01", until="2025-11-30", tz="UTC", where={"integration": ("slack",)})
    )
    assert rep.totals["cost_usd"] == D("1.00") and rep.totals["shared_cost_usd"] == D("1.00")
    assert [r["member"] for r in rep.rows] == [team.UNALLOCATED]
    assert rep.rows[0]["cost_usd"] == D("1.00")
    for sec in rep.sections[:3]:
        assert sum(r["cost_usd"] for r in sec.rows) == D("1.00")
    assert any("no member" in n for n in rep.notes)


def test_table_and_csv_render(loaded: Path) -> None:
    table = run("report", "team", *NOV, "--db", str(loaded)).stdout
    assert "Cost centers" in table and "(no team)" in table and "$0.611702" not in table
    csv_out = run("report", "team", *NOV, "--db", str(loaded), "--format", "csv").stdout
    header = csv_out.splitlines()[0].split(",")
    assert header[:4] == ["member", "team", "department", "cost_center"] and "allocated_usd" in header
