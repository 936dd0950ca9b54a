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
S1 2025-11-12 (no member) gpt-4o 100,000 out, integration slack = 1.00   shared (no member, no team)
S2 2025-11-12 (no member, event team platform) gpt-4o-mini 1,000,000 in = 0.15: platform's, direct
T0 2025-10-31T23:30Z alice gpt-4o 40,000 in = 0.10 (October in UTC; 2025-11-01 00:30 in Berlin)
T1 2025-11-30T23:30Z bob   gpt-4o 40,000 in = 0.10 (November in UTC; 2025-12-01 00:30 in Berlin)

November in UTC: alice 2.50, bob 1.10, carol 0.60, dave 0.50, erin unpriced, S2 0.15: direct
4.85, shared 1.00, total 5.85.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.helpers import run, run_json, write_jsonl
from usagectl.money import round_to_total
from usagectl.services import allocation, team
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
    parts = allocation.allocate(D("1.00"), [D(1), D(1), D(1)])
    # 1,000,000 quanta / 3 = 333,333 each + 1 left over; equal remainders: the first gets it
    assert parts == [D("0.333334"), D("0.333333"), D("0.333333")]
    assert sum(parts) == D("1.000000")


def test_allocation_edge_cases() -> None:
    # weights all zero: equal shares
    assert allocation.allocate(D("10"), [0, 0]) == [D("5"), D("5")]
    # largest remainders win: 1 over (1, 2): 333,333.33 / 666,666.67 -> the second gets the quantum
    assert allocation.allocate(D("1"), [1, 2]) == [D("0.333333"), D("0.666667")]
    # digits below the quantum ride on the part that receives the last quantum
    parts = allocation.allocate(D("1.000000000001"), [1, 1, 1])
    assert parts == [D("0.333334"), D("0.333333000001"), D("0.333333")]
    assert sum(parts) == D("1.000000000001")
    with pytest.raises(ValueError):
        allocation.allocate(D("1"), [])
    with pytest.raises(ValueError):
        allocation.allocate(D("1"), [1, -1])


@given(
    st.decimals(min_value=0, max_value=10_000, places=12, allow_nan=False, allow_infinity=False),
    st.lists(st.decimals(min_value=0, max_value=1_000, places=6, allow_nan=False), min_size=1, max_size=12),
)
def test_allocation_sums_exactly_and_each_part_is_within_a_quantum(amount: Decimal, weights: list[Decimal]) -> None:
    parts = allocation.allocate(amount, weights)
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
    # the Total row's tokens are the rows' (3 x 400,000); the overview gives all usage's 1,600,000
    # and the shared 400,000 that are in no row (QA: the Total row's tokens looked like all of them)
    assert out["totals"]["total_tokens"] == 1_200_000
    assert (out["overview"]["all_tokens"], out["overview"]["shared_tokens"]) == (1_600_000, 400_000)


def test_proportional_allocation_per_member_team_department_cost_center(loaded: Path) -> None:
    out = _report(loaded, "--tz", "UTC")
    t = out["totals"]
    assert _dec(t["cost_usd"]) == D("5.85")
    assert _dec(t["direct_cost_usd"]) == D("4.85")  # the members' 4.70 + S2's 0.15 (event team platform)
    assert _dec(t["shared_cost_usd"]) == D("1.00")  # S1 only: no member, no team
    assert t["shared_requests"] == 1 and t["unpriced_requests"] == 1
    assert t["unpriced_models"] == [
        {"model": "mistral-large-2411", "requests": 1, "total_tokens": 5100, "no_web_price": False}
    ]
    # --by member: 1,000,000 quanta over the members' 4.70:
    # alice 2.5/4.7 -> 531,914.89; bob 1.1/4.7 -> 234,042.55; carol 0.6/4.7 -> 127,659.57;
    # dave 0.5/4.7 -> 106,382.98; floors sum to 999,997: the 3 quanta left go to dave, alice, carol
    rows = {(r["member"], r["team"]): r for r in out["rows"]}
    expected = {"alice": ("2.50", "0.531915"), "bob": ("1.10", "0.234042"), "carol": ("0.60", "0.127660"),
                "dave": ("0.50", "0.106383")}  # fmt: skip
    by_member = _by(out["rows"], "member")
    for member, (direct, alloc) in expected.items():
        assert _dec(by_member[member]["direct_cost_usd"]) == D(direct)
        assert _dec(by_member[member]["allocated_usd"]) == D(alloc)
        assert _dec(by_member[member]["cost_usd"]) == D(direct) + D(alloc)
    batch = rows[("(no member)", "platform")]  # S2, charged to platform, not spread over all teams
    assert _dec(batch["direct_cost_usd"]) == D("0.15") and _dec(batch["allocated_usd"]) == 0
    assert by_member["erin"]["direct_cost_usd"] is None and by_member["erin"]["cost_usd"] is None  # never $0
    assert by_member["erin"]["unpriced_requests"] == 1 and by_member["dave"]["team"] == "(no team)"
    assert sum(_dec(r["allocated_usd"]) for r in out["rows"]) == D("1.00")
    assert sum(_dec(r["cost_usd"] or 0) for r in out["rows"]) == D("5.85")

    teams = _by(out["teams"], "team")
    # platform: 2.50 + 1.10 + 0.15 + 0.531915 + 0.234042; growth 0.60 + 0.127660; (no team) 0.50 + 0.106383
    assert _dec(teams["platform"]["cost_usd"]) == D("4.515957")
    assert _dec(teams["platform"]["direct_cost_usd"]) == D("3.75")  # as `report by team` counts it
    assert _dec(teams["growth"]["cost_usd"]) == D("0.727660")
    assert _dec(teams["(no team)"]["cost_usd"]) == D("0.606383")
    assert teams["(no team)"]["members"] == 2 and teams["platform"]["members"] == 2
    ccs = _by(out["cost_centers"], "cost_center")
    # S2 has no member, so no mapped cost center: (no cost center) 0.606383 + 0.15
    assert {k: _dec(v["cost_usd"]) for k, v in ccs.items()} == {
        "cc-100": D("4.365957"), "cc-200": D("0.727660"), "(no cost center)": D("0.756383")}  # fmt: skip
    for sec in ("teams", "departments", "cost_centers"):
        assert sum(_dec(r["cost_usd"] or 0) for r in out[sec]) == D("5.85"), sec
        for r in out[sec]:
            assert _dec(r["direct_cost_usd"] or 0) + _dec(r["allocated_usd"]) == _dec(r["cost_usd"] or 0)
    depts = _by(out["departments"], "department")
    assert _dec(depts["engineering"]["cost_usd"]) == D("4.365957")
    shared = {(r["integration"], r["feature"]): _dec(r["cost_usd"]) for r in out["shared"]}
    assert shared == {("slack", "chat"): D("1.00")}
    assert any("mistral-large-2411" in n for n in out["notes"])


def test_even_allocation_by_member_and_by_team(loaded: Path) -> None:
    rows = _by(_report(loaded, "--allocate", "even")["rows"], "member")
    # five members (erin included; not the member-less batch row): 1.00 / 5 = 0.20 each
    assert {m: _dec(r["allocated_usd"]) for m, r in rows.items()} == dict.fromkeys(
        ("alice", "bob", "carol", "dave", "erin"), D("0.20")
    ) | {"(no member)": D(0)}
    out = _report(loaded, "--allocate", "even", "--by", "team")
    # teams sorted "(no team)", growth, platform: 333,333.33 each, the quantum left goes to "(no team)"
    teams = _by(out["teams"], "team")
    assert _dec(teams["(no team)"]["allocated_usd"]) == D("0.333334")
    assert _dec(teams["growth"]["allocated_usd"]) == D("0.333333")
    assert _dec(teams["platform"]["allocated_usd"]) == D("0.333333")
    rows = _by(out["rows"], "member")
    # within (no team): 333,334 / 2 = 166,667 each; within platform 333,333 over its rows sorted
    # "(no member)", alice, bob: 111,111 each
    assert _dec(rows["dave"]["allocated_usd"]) == _dec(rows["erin"]["allocated_usd"]) == D("0.166667")
    assert _dec(rows["alice"]["allocated_usd"]) == _dec(rows["bob"]["allocated_usd"]) == D("0.111111")
    assert _dec(rows["(no member)"]["allocated_usd"]) == D("0.111111")
    assert out["filters"]["allocate"] == "even" and out["filters"]["by"] == ["team"]


def test_proportional_by_team_matches_by_member(loaded: Path) -> None:
    out = _report(loaded, "--by", "team")
    # teams over 4.85: (no team) 0.5 -> 103,092.78; growth 0.6 -> 123,711.34; platform 3.75 -> 773,195.88;
    # 2 quanta left -> platform, (no team). platform's 773,196 to alice 2.5/3.75 -> 515,464,
    # bob 1.1/3.75 -> 226,804.16, its batch row 0.15/3.75 -> 30,927.84: the quantum left -> the batch row
    rows = {(r["member"], r["team"]): r for r in out["rows"]}
    assert _dec(rows[("alice", "platform")]["allocated_usd"]) == D("0.515464")
    assert _dec(rows[("bob", "platform")]["allocated_usd"]) == D("0.226804")
    assert _dec(rows[("(no member)", "platform")]["allocated_usd"]) == D("0.030928")
    assert _dec(rows[("carol", "growth")]["allocated_usd"]) == D("0.123711")
    assert _dec(rows[("dave", "(no team)")]["allocated_usd"]) == D("0.103093")


def test_sections_add_up_to_the_displayed_total_to_the_micro_dollar(tmp_path: Path, db_path: Path) -> None:
    # gpt-4o input $2.50/M: alice 400,000 = 1.00 (platform), bob 1,200,000 = 3.00, carol 1 token =
    # 0.0000025 (both growth), shared 400,001 = 1.0000025; exact total 5.000005 (displayed 5.000005).
    (tmp_path / "work" / "usagectl.toml").write_text("", encoding="utf-8")
    events = [
        _ev("a1", "2026-11-10T10:00:00Z", "gpt-4o", "alice", inp=400_000, team="platform"),
        _ev("a2", "2026-11-10T11:00:00Z", "gpt-4o", "bob", inp=1_200_000, team="growth"),
        _ev("a3", "2026-11-10T12:00:00Z", "gpt-4o", None, inp=400_001),
        _ev("a4", "2026-11-10T13:00:00Z", "gpt-4o", "carol", inp=1, team="growth"),
    ]
    run("import", str(write_jsonl(tmp_path / "alloc.jsonl", events)), "--db", str(db_path))
    args = ("--since", "2026-11-01", "--until", "2026-11-30", "--tz", "UTC", "--db", str(db_path))
    # rounded against 5.000005: floors 1, 3, 0.000002, 1.000002 = 5.000004; the quantum left ties
    # (0.5e-6 each) between carol and the shared cost: carol (earlier) 0.000003, shared 1.000002.
    # even: 1,000,002 quanta / 3 = 333,334 each; proportional over 4.000003: bob 750,001.31,
    # alice 250,000.44, carol 0.75 -> floors 1,000,001, the quantum left to carol.
    even = run_json("report", "team", *args, "--allocate", "even")
    prop = run_json("report", "team", *args, "--allocate", "proportional")
    assert isinstance(even, dict) and isinstance(prop, dict)
    assert {r["member"]: _dec(r["cost_usd"]) for r in even["rows"]} == {
        "bob": D("3.333334"), "alice": D("1.333334"), "carol": D("0.333337")}  # fmt: skip
    assert {r["member"]: _dec(r["cost_usd"]) for r in prop["rows"]} == {
        "bob": D("3.750001"), "alice": D("1.25"), "carol": D("0.000004")}  # fmt: skip
    for out in (even, prop):
        t = out["totals"]
        assert _dec(t["cost_usd"]) == D("5.000005")
        assert _dec(t["direct_cost_usd"]) == D("4.000003") and _dec(t["allocated_usd"]) == D("1.000002")
        for sec in ("rows", "teams", "departments", "cost_centers"):
            assert sum(_dec(r["cost_usd"]) for r in out[sec]) == D("5.000005"), sec
            for r in out[sec]:
                assert _dec(r["direct_cost_usd"]) + _dec(r["allocated_usd"]) == _dec(r["cost_usd"]), sec
        assert sum(_dec(r["cost_usd"]) for r in out["shared"]) == D("1.000002")


def test_round_to_total() -> None:
    # 2.5e-6 three times: floors 0.000002 each (0.000006), 2 quanta missing from 0.000008: the
    # equal remainders go to the first two
    assert round_to_total([D("0.0000025")] * 3, D("0.000008")) == [D("0.000003"), D("0.000003"), D("0.000002")]
    assert round_to_total([], D(0)) == []


def test_berlin_month_moves_the_boundary_events(loaded: Path) -> None:
    out = _report(loaded, "--tz", "Europe/Berlin")
    rows = _by(out["rows"], "member")
    # T0 (alice, 0.10) joins November, T1 (bob, 0.10) leaves it: alice 2.60, bob 1.00; direct still 4.70
    assert _dec(rows["alice"]["direct_cost_usd"]) == D("2.60")
    assert _dec(rows["bob"]["direct_cost_usd"]) == D("1.00")
    # 1,000,000 quanta of shared cost: alice 2.6/4.7 -> 553,191.49; bob 1.0/4.7 -> 212,765.96;
    # carol 127,659.57; dave 106,382.98; floors 999,997: dave, bob and carol get the 3 quanta left
    assert _dec(rows["alice"]["allocated_usd"]) == D("0.553191")
    assert _dec(rows["bob"]["allocated_usd"]) == D("0.212766")
    assert _dec(out["totals"]["cost_usd"]) == D("5.85")


def test_config_default_and_bad_values(loaded: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "work" / "usagectl.toml"
    cfg.write_text(CONFIG + '\n[team]\nallocate = "even"\n', encoding="utf-8")
    out = _report(loaded)
    assert out["filters"]["allocate"] == "even"
    assert _dec(_by(out["rows"], "member")["erin"]["allocated_usd"]) == D("0.20")
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


def test_unallocated_row_carries_the_shared_usage_and_every_column_adds_up(loaded: Path) -> None:
    # S1 (shared, gpt-4o 100,000 out = 1.00) and S2 (no member, team platform, gpt-4o-mini
    # 1,000,000 in = 0.15): --by member has no member to take S1's cost
    ctx = make_context(None, loaded)
    req = ReportRequest(
        since="2025-11-01", until="2025-11-30", tz="UTC", where={"feature": ("chat", "batch")}
    )  # S1, S2 only
    rep = team.team(ctx, req)
    rows = {r["member"]: r for r in rep.rows}
    spare, platform = rows[team.UNALLOCATED], rows["(no member)"]
    assert (spare["requests"], spare["total_tokens"], spare["direct_cost_usd"]) == (1, 100_000, D("1.00"))
    assert (spare["allocated_usd"], spare["cost_usd"]) == (D(0), D("1.00"))
    assert (platform["requests"], platform["total_tokens"], platform["direct_cost_usd"]) == (1, 1_000_000, D("0.15"))
    # token shares of the rows' 1,100,000 tokens: 100,000 -> 9.0909 %, 1,000,000 -> 90.9091 %
    assert spare["token_share_pct"].quantize(D("0.01")) == D("9.09")
    assert platform["token_share_pct"].quantize(D("0.01")) == D("90.91")
    t = rep.totals  # the Total row: 1 + 1 requests, 100,000 + 1,000,000 tokens, direct 1.00 + 0.15
    assert (t["requests"], t["total_tokens"]) == (2, 1_100_000)
    assert (t["direct_cost_usd"], t["allocated_usd"], t["cost_usd"]) == (D("1.15"), D(0), D("1.15"))
    for sec in rep.sections[:3]:
        for key in ("requests", "total_tokens", "direct_cost_usd", "allocated_usd", "cost_usd"):
            assert sum(r[key] for r in sec.rows) == t[key], (sec.key, key)
    overview = {k: v for k, _label, v in rep.overview}
    assert (overview["direct_cost_usd"], overview["shared_cost_usd"]) == (D("0.15"), D("1.00"))
    shared = rep.sections[3]
    assert shared.title == f"Shared usage (no member, no team), not allocated: shown above as {team.UNALLOCATED}"
    allocated = team.team(ctx, ReportRequest(since="2025-11-01", until="2025-11-30", tz="UTC"))
    assert allocated.sections[3].title == "Shared usage (no member, no team), allocated above"


def test_table_and_csv_render(loaded: Path) -> None:
    table = run("report", "team", *NOV, "--db", str(loaded)).stdout
    assert "Cost centers" in table and "(no team)" in table and "$0.611702" not in table
    csv_out = run("report", "team", *NOV, "--db", str(loaded), "--format", "csv").stdout
    header = csv_out.splitlines()[0].split(",")
    assert header[:4] == ["member", "team", "department", "cost_center"] and "allocated_usd" in header


def test_a_range_without_usage_costs_zero_and_only_unpriced_usage_is_unpriced(loaded: Path) -> None:
    """September 2025 has no event: no usage costs $0.00 (as `report by model` says), not
    "unpriced", which is for usage without a price. 2025-11-11 12:00-12:59 holds only E1 (erin,
    mistral-large-2411, no price): that total is unpriced (null), with 1 unpriced request."""
    sep = run_json("report", "team", "--since", "2025-09-01", "--until", "2025-09-30", "--db", str(loaded))
    assert (sep["totals"]["cost_usd"], sep["totals"]["direct_cost_usd"], sep["totals"]["unpriced_requests"]) == (
        0,
        0,
        0,
    )
    assert (sep["overview"]["cost_usd"], sep["overview"]["direct_cost_usd"]) == (0, 0)
    table = run("report", "team", "--since", "2025-09-01", "--until", "2025-09-30", "--db", str(loaded)).stdout
    assert "unpriced" not in table and "$0.00" in table
    only_e1 = run_json("report", "team", "--since", "2025-11-11", "--until", "2025-11-11", "--member", "erin",
                       "--db", str(loaded))  # fmt: skip
    assert (only_e1["totals"]["cost_usd"], only_e1["totals"]["unpriced_requests"]) == (None, 1)


def test_shared_cost_without_anyone_to_take_it_is_named_in_dollars(tmp_path: Path, db_path: Path) -> None:
    """Only shared usage (no member, no team): gpt-4o 250,500 input x $2.50/M = $0.62625, shown
    as money in the note (QA: the PDF said "Shared usage cost 0.626250")."""
    (tmp_path / "work" / "usagectl.toml").write_text("", encoding="utf-8")
    events = [_ev("s1", "2026-11-10T10:00:00Z", "gpt-4o", None, inp=250_500)]
    run("import", str(write_jsonl(tmp_path / "shared.jsonl", events)), "--db", str(db_path))
    out = run_json("report", "team", "--since", "2026-11-01", "--until", "2026-11-30", "--tz", "UTC",
                   "--db", str(db_path))  # fmt: skip
    assert any(n.startswith("Shared usage cost $0.63 has no member to be allocated to") for n in out["notes"]), out[
        "notes"
    ]


# --------------------------------------------------------------------------- filtered chargeback

# gpt-4o $10 per 1M output: alice (team A) 150,000 out = 1.50, bob (team B) 150,000 out = 1.50,
# shared (no member, no team) 50,000 out = 0.50; total 3.50. Proportional by team: A 1.5/3.0 of
# 0.50 = 0.25, B 0.25, so A 1.75, B 1.75 (even gives the same here).
AB_EVENTS = [
    _ev("a1", "2026-11-10T10:00:00Z", "gpt-4o", "alice", out=150_000, team="A"),
    _ev("b1", "2026-11-10T11:00:00Z", "gpt-4o", "bob", out=150_000, team="B"),
    _ev("s1", "2026-11-10T12:00:00Z", "gpt-4o", None, out=50_000, integration="slack", feature="agents"),
]
NOV26 = ("--since", "2026-11-01", "--until", "2026-11-30", "--tz", "UTC")


@pytest.fixture
def ab(tmp_path: Path, db_path: Path) -> Path:
    (tmp_path / "work" / "usagectl.toml").write_text("", encoding="utf-8")
    run("import", str(write_jsonl(tmp_path / "ab.jsonl", AB_EVENTS)), "--db", str(db_path))
    return db_path


def test_a_team_filter_keeps_the_teams_part_of_the_shared_cost(ab: Path) -> None:
    """QA: --team B applied the filter before the allocation, so the shared $0.50 vanished: B was
    charged $1.50 ("Shared usage cost $0.00") and the teams' statements added up to $3.00 of $3.50.
    B's statement is its row of the whole report: 1.50 direct + 0.25 allocated = 1.75."""
    whole = run_json("report", "team", *NOV26, "--by", "team", "--db", str(ab))
    assert {r["team"]: _dec(r["cost_usd"]) for r in whole["teams"]} == {"A": D("1.75"), "B": D("1.75")}
    parts = D(0)
    for name, member in (("A", "alice"), ("B", "bob")):
        out = run_json("report", "team", *NOV26, "--by", "team", "--team", name, "--db", str(ab))
        [row] = out["rows"]
        assert (row["member"], row["team"]) == (member, name)
        assert (_dec(row["direct_cost_usd"]), _dec(row["allocated_usd"]), _dec(row["cost_usd"])) == (
            D("1.50"), D("0.25"), D("1.75"))  # fmt: skip
        assert _dec(row["cost_share_pct"]) == D("50")  # of all usage, 1.75 / 3.50, as unfiltered
        t = out["totals"]
        assert (_dec(t["cost_usd"]), _dec(t["direct_cost_usd"]), _dec(t["allocated_usd"])) == (
            D("1.75"), D("1.50"), D("0.25"))  # fmt: skip
        # the shared line says the true shared cost; the selection's part of it beside it
        assert _dec(t["shared_cost_usd"]) == D("0.50") and _dec(out["overview"]["shared_cost_usd"]) == D("0.50")
        assert _dec(out["overview"]["allocated_usd"]) == D("0.25")
        assert _dec(out["overview"]["all_cost_usd"]) == D("3.50")
        assert [(r["team"], _dec(r["cost_usd"])) for r in out["teams"]] == [(name, D("1.75"))]
        assert [_dec(r["cost_usd"]) for r in out["shared"]] == [D("0.50")]
        parts += _dec(t["cost_usd"])
    assert parts == D("3.50")  # the statements cover the whole bill
    # a member filter with --by member (the default) gives the same part: 1.50 of 3.00 of 0.50
    alice = run_json("report", "team", *NOV26, "--member", "alice", "--db", str(ab))
    assert _dec(alice["totals"]["cost_usd"]) == D("1.75") and _dec(alice["totals"]["allocated_usd"]) == D("0.25")


def test_a_scope_filter_narrows_the_usage_before_the_allocation(ab: Path) -> None:
    """--integration slack is a scope filter: only the shared slack usage (0.50) is left, and no
    team has slack usage to take it; --team A beside it shows A with none of it, not $0.25."""
    out = run_json("report", "team", *NOV26, "--by", "team", "--integration", "slack", "--team", "A",
                   "--db", str(ab))  # fmt: skip
    assert out["rows"] == [] and _dec(out["totals"]["cost_usd"]) == 0
    assert _dec(out["totals"]["shared_cost_usd"]) == D("0.50")
    assert any("has no team to be allocated to: not charged to the team shown" in n for n in out["notes"])


def test_a_department_filter_is_the_departments_row_of_the_whole_report(loaded: Path) -> None:
    """--by department over the module's fixture: directs engineering 2.50 + 1.10 = 3.60,
    marketing 0.60, (no department) dave 0.50 + S2 0.15 = 0.65 (erin unpriced: weight 0), 4.85 in
    all. 1,000,000 quanta of shared cost: engineering 3.6/4.85 -> 742,268.04, marketing
    123,711.34, (no department) 134,020.62; floors 999,999, the quantum left to (no department).
    Within engineering 742,268: alice 2.5/3.6 -> 515,463.89, bob 1.1/3.6 -> 226,804.11; floors
    742,267, the quantum left to alice: alice 0.515464, bob 0.226804."""
    out = _report(loaded, "--tz", "UTC", "--by", "department", "--department", "engineering")
    rows = _by(out["rows"], "member")
    assert set(rows) == {"alice", "bob"}
    assert _dec(rows["alice"]["allocated_usd"]) == D("0.515464") and _dec(rows["alice"]["cost_usd"]) == D("3.015464")
    assert _dec(rows["bob"]["allocated_usd"]) == D("0.226804") and _dec(rows["bob"]["cost_usd"]) == D("1.326804")
    t = out["totals"]
    assert (_dec(t["direct_cost_usd"]), _dec(t["allocated_usd"]), _dec(t["cost_usd"])) == (
        D("3.60"), D("0.742268"), D("4.342268"))  # fmt: skip
    assert [(r["department"], _dec(r["cost_usd"])) for r in out["departments"]] == [("engineering", D("4.342268"))]
    whole = _by(_report(loaded, "--tz", "UTC", "--by", "department")["departments"], "department")
    assert _dec(whole["engineering"]["cost_usd"]) == D("4.342268")


def test_a_cost_center_filter_is_the_cost_centers_row_of_the_whole_report(loaded: Path) -> None:
    """cc-100 holds alice and bob, as engineering does (the docstring above): the same split,
    alice 0.515464 and bob 0.226804 of the shared cost, 4.342268 in all. cc-200 is carol's
    gpt-4o-mini 1,000,000 out = 0.60 direct."""
    out = _report(loaded, "--tz", "UTC", "--by", "cost-center", "--cost-center", "cc-100")
    rows = _by(out["rows"], "member")
    assert (_dec(rows["alice"]["allocated_usd"]), _dec(rows["bob"]["allocated_usd"])) == (D("0.515464"), D("0.226804"))
    assert _dec(out["totals"]["cost_usd"]) == D("4.342268")
    usage = run_json("report", "by", "member", *NOV, "--tz", "UTC", "--cost-center", "cc-200", "--db", str(loaded))
    assert [(r["member"], _dec(r["cost_usd"])) for r in usage["rows"]] == [("carol", D("0.6"))]
    assert usage["filters"]["cost_center"] == ["cc-200"]


def test_a_team_filter_that_matches_nothing_names_the_close_match(ab: Path) -> None:
    out = run_json("report", "team", *NOV26, "--team", "b", "--db", str(ab))
    assert out["rows"] == []
    assert "No team 'b' in the data (did you mean B?)." in out["notes"]


# alice (team A, department eng) 1,000,000 in x $2.50/M = 2.50; bob (B, sales) 2.50; s1 shared (no
# member, no team) but tagged department eng, 800,000 in = 2.00; s2 shared, eng, unpriced. Total 7.00.
DEPT_EVENTS = [
    _ev("a1", "2026-10-05T10:00:00Z", "gpt-4o", "alice", inp=1_000_000, team="A", department="eng"),
    _ev("b1", "2026-10-06T10:00:00Z", "gpt-4o", "bob", inp=1_000_000, team="B", department="sales"),
    _ev("s1", "2026-10-09T10:00:00Z", "gpt-4o", None, inp=800_000, department="eng", integration="ci"),
    _ev("s2", "2026-10-09T11:00:00Z", "mystery-model", None, inp=500, department="eng", integration="ci"),
]
OCT26 = ("--since", "2026-10-01", "--until", "2026-10-31", "--tz", "UTC")


def test_a_department_filter_leaves_out_the_shared_usage_that_names_the_department(
    tmp_path: Path, db_path: Path
) -> None:
    """QA: s1 names department eng but no member and no team: it is shared, allocated by
    department in proportion to the directs, eng 2.50 / 5.00 x 2.00 = 1.00, sales 1.00. The eng
    row is alice's 2.50 + 1.00 = 3.50; its Total row said 2 requests and 1,800,000 tokens (s1
    counted as eng's own beside the 1 request and 1,000,000 tokens of its one row), and the
    unpriced shared s2 as eng's unpriced request. Shared usage is allocated, never a row's own."""
    (tmp_path / "work" / "usagectl.toml").write_text("", encoding="utf-8")
    run("import", str(write_jsonl(tmp_path / "d.jsonl", DEPT_EVENTS)), "--db", str(db_path))
    out = run_json("report", "team", *OCT26, "--by", "department", "--department", "eng", "--db", str(db_path))
    [row] = out["rows"]
    assert (row["member"], row["requests"], row["total_tokens"]) == ("alice", 1, 1_000_000)
    t = out["totals"]
    assert (t["requests"], t["total_tokens"], t["unpriced_requests"], t["unpriced_models"]) == (1, 1_000_000, 0, [])
    assert (_dec(t["direct_cost_usd"]), _dec(t["allocated_usd"]), _dec(t["cost_usd"])) == (
        D("2.50"), D("1.00"), D("3.50"))  # fmt: skip
    assert not any(n.startswith("Unpriced:") for n in out["notes"])
    assert "Unpriced shared usage has no cost and is not allocated." in out["notes"]


MOVING_CONFIG = """[display]
timezone = "Europe/Berlin"

[members.bob]
team = "growth"
department = "sales"

[[members.bob.changes]]
from = 2026-10-01
team = "platform"

[[members.bob.changes]]
from = 2026-11-01
department = "engineering"
"""


def test_a_member_who_changes_team_is_charged_to_each_team_for_its_own_period(tmp_path: Path, db_path: Path) -> None:
    """claude-sonnet-4-5: $3 / $15 per 1M in / out, $6 / $22.50 over 200k input (PRICING.md).
    bob moves to platform at 2026-10-01 00:00 Berlin = 2026-09-30 22:00 UTC, and to engineering
    at 2026-11-01 00:00 Berlin = 2026-10-31 23:00 UTC (the department only: the team stays).

    m1 2026-09-30T21:30Z 1,000,000 in (long context, $6/M)   = 6.00  growth / sales
    m2 2026-09-30T22:30Z 2,000,000 in (long context)          = 12.00 platform / sales
    m3 2026-10-31T22:30Z 100,000 out                          = 1.50  platform / sales
    m4 2026-10-31T23:30Z 200,000 out                          = 3.00  platform / engineering
    m5 2026-10-15T10:00Z 100,000 out, the event's own team ops = 1.50  ops / sales (the event wins)
    """
    cfg = tmp_path / "c.toml"
    cfg.write_text(MOVING_CONFIG)
    base = {"model": "claude-sonnet-4-5", "member": "bob", "input_tokens": 0, "output_tokens": 0}
    events = [
        {**base, "event_id": "m1", "ts": "2026-09-30T21:30:00Z", "input_tokens": 1_000_000},
        {**base, "event_id": "m2", "ts": "2026-09-30T22:30:00Z", "input_tokens": 2_000_000},
        {**base, "event_id": "m3", "ts": "2026-10-31T22:30:00Z", "output_tokens": 100_000},
        {**base, "event_id": "m4", "ts": "2026-10-31T23:30:00Z", "output_tokens": 200_000},
        {**base, "event_id": "m5", "ts": "2026-10-15T10:00:00Z", "output_tokens": 100_000, "team": "ops"},
    ]
    run("import", str(write_jsonl(tmp_path / "m.jsonl", events)), "--db", str(db_path))
    common = ("--db", str(db_path), "--config", str(cfg), "--since", "2026-09-01", "--until", "2026-11-30", "--json")
    doc = run_json("report", "by", "team", "--by", "department", *common)
    got = {(r["team"], r["department"]): (r["requests"], D(str(r["cost_usd"]))) for r in doc["rows"]}
    assert got == {
        ("growth", "sales"): (1, D("6")),
        ("platform", "sales"): (2, D("13.5")),
        ("platform", "engineering"): (1, D("3")),
        ("ops", "sales"): (1, D("1.5")),
    }
    # the statements of the months: September (Berlin) is growth's 6.00 only
    sept = run_json("invoice", "--month", "2026-09", "--team", "growth", *common[:4], "--json")
    assert D(str(sept["totals"]["total_usd"])) == D("6.00")
    octo = run_json("invoice", "--month", "2026-10", "--team", "platform", *common[:4], "--json")
    assert D(str(octo["totals"]["total_usd"])) == D("13.50")
    # a department filter reads the mapping of each event's own time
    eng = run_json("report", "by", "member", *common, "--department", "engineering")
    assert [(r["member"], r["requests"]) for r in eng["rows"]] == [("bob", 1)]


def test_the_usage_no_team_holds_is_chosen_by_its_label(loaded: Path) -> None:
    """QA: `report team --by team` shows a row "(no team)" that owes its part of the shared cost,
    but `--team "(no team)"` chose nothing ("No team '(no team)' in the data"), and neither did
    the chargeback statement of that row. The label the report shows is the filter value.

    --by team over the module's fixture (test_proportional_by_team_matches_by_member): (no team)
    direct dave 0.50 (erin unpriced, weight 0) takes 0.5/4.85 of 1,000,000 quanta = 103,092.78 ->
    103,092 + the quantum left = 0.103093, all of it dave's: dave 0.603093, erin none.
    --member "(no member)" (--by member): S2, platform's batch row, 0.15 direct; shared cost goes
    to members only, so 0 allocated: 0.15."""
    out = _report(loaded, "--tz", "UTC", "--by", "team", "--team", "(no team)")
    rows = _by(out["rows"], "member")
    assert set(rows) == {"dave", "erin"} and {r["team"] for r in out["rows"]} == {"(no team)"}
    assert (_dec(rows["dave"]["direct_cost_usd"]), _dec(rows["dave"]["allocated_usd"])) == (D("0.50"), D("0.103093"))
    assert rows["erin"]["cost_usd"] is None and _dec(rows["erin"]["allocated_usd"]) == 0
    assert _dec(out["totals"]["cost_usd"]) == D("0.603093")
    assert [(r["team"], _dec(r["cost_usd"])) for r in out["teams"]] == [("(no team)", D("0.603093"))]
    assert not any(n.startswith("No team") for n in out["notes"])
    batch = _report(loaded, "--tz", "UTC", "--member", "(no member)")
    assert [(r["member"], r["team"], _dec(r["cost_usd"])) for r in batch["rows"]] == [
        ("(no member)", "platform", D("0.15"))]  # fmt: skip
