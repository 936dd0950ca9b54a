"""Budgets: levels, projections, calendar periods in a zone, --fail-on, and editing the config.

Rates (USD per 1M tokens, pricing/): gpt-4o 2.50 in / 10.00 out; claude-sonnet-4-5 3.00 in /
15.00 out (requests up to 200k input). All of November 2026 in UTC unless said otherwise.

E1 11-02 10:00 gpt-4o              alice (team platform from [members.alice])  1M out  = 10.00
E2 11-05 10:00 gpt-4o              carol (team "platform" on the event)        4M in   = 10.00
E3 11-09 10:00 claude-sonnet-4-5   alice  100k in + 380k out = 0.30 + 5.70             =  6.00
E4 11-10 20:00 gpt-4o-2024-08-06   alice  1.6M in                                      =  4.00
E5 11-10 21:00 mistral-large-2411  alice  5,000 in + 100 out: no price (unpriced, 5,100 tokens)
E7 11-03 12:00 gpt-4o              bob (team growth), cost center cc-9, feature chat, 2.4M in = 6.00
E8 10-15 12:00 gpt-4o              alice  5M out                                       = 50.00 (October)

November: team platform 10+10+6+4 = 30 (+1 unpriced); member alice 10+6+4 = 20 (+1 unpriced);
model gpt-4o 10+10+4+6 = 30; cost center cc-9 6; global 36 (+1 unpriced); bob 2,400,000 tokens;
all tokens 1,000,000 + 4,000,000 + 480,000 + 1,600,000 + 5,100 + 2,400,000 = 9,485,100.

NOW = 2026-11-11 00:00 UTC: 10 of the 30 days of November have elapsed, so the linear run rate
projects every spend × 3, and a spend S reaches a limit L after (L - S) × 10 days / S more.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import tomllib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests.helpers import run, run_json, write_jsonl
from usagectl.errors import ConfigError
from usagectl.services import budgets
from usagectl.services.budgets import DEFAULT_THRESHOLDS, level_for
from usagectl.services.context import make_context

EVENTS = [
    {"event_id": "E1", "ts": "2026-11-02T10:00:00Z", "model_raw": "gpt-4o", "output_tokens": 1000000, "member": "alice"},
    {"event_id": "E2", "ts": "2026-11-05T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 4000000, "member": "carol",
     "team": "platform"},
    {"event_id": "E3", "ts": "2026-11-09T10:00:00Z", "model_raw": "claude-sonnet-4-5", "input_tokens": 100000,
     "output_tokens": 380000, "member": "alice"},
    {"event_id": "E4", "ts": "2026-11-10T20:00:00Z", "model_raw": "gpt-4o-2024-08-06", "input_tokens": 1600000,
     "member": "alice"},
    {"event_id": "E5", "ts": "2026-11-10T21:00:00Z", "model_raw": "mistral-large-2411", "provider": "mistral",
     "input_tokens": 5000, "output_tokens": 100, "member": "alice"},
    {"event_id": "E7", "ts": "2026-11-03T12:00:00Z", "model_raw": "gpt-4o", "input_tokens": 2400000, "member": "bob",
     "cost_center": "cc-9", "feature": "chat"},
    {"event_id": "E8", "ts": "2026-10-15T12:00:00Z", "model_raw": "gpt-4o", "output_tokens": 5000000, "member": "alice"},
]  # fmt: skip
NOW = datetime(2026, 11, 11, tzinfo=UTC)
BASE = '[display]\ntimezone = "UTC"\n[members.alice]\nteam = "platform"\n[members.bob]\nteam = "growth"\n'
BUDGETS = """
[[budgets]]
scope = "team:platform"
amount = 50
period = "month"
[[budgets]]
scope = "member:alice"
amount = 20.00
[[budgets]]
scope = "model:gpt-4o-2024-08-06"
amount = 40
[[budgets]]
scope = "global"
amount = 40
thresholds = [50, 80, 90]
[[budgets]]
scope = "cost-center:cc-9"
amount = 6.25
[[budgets]]
scope = "feature:chat"
amount = 18
[[budgets]]
scope = "project:none"
amount = 5
period = "day"
[[budgets]]
scope = "member:bob"
tokens = 3000000
"""


@pytest.fixture
def db(tmp_path: Path, db_path: Path) -> Path:
    run("import", str(write_jsonl(tmp_path / "events.jsonl", EVENTS)), "--db", str(db_path))
    return db_path


def _config(tmp_path: Path, text: str, name: str = "usagectl.toml") -> Path:
    path = tmp_path / "work" / name
    path.write_text(BASE + text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("spent", "thresholds", "level", "crossed"),
    [
        ("74.99", DEFAULT_THRESHOLDS, "ok", None),
        ("75", DEFAULT_THRESHOLDS, "warning", 75),
        ("89.999999", DEFAULT_THRESHOLDS, "warning", 75),
        ("90", DEFAULT_THRESHOLDS, "caution", 90),
        ("95", DEFAULT_THRESHOLDS, "critical", 95),
        ("99.99", DEFAULT_THRESHOLDS, "critical", 95),
        ("100", DEFAULT_THRESHOLDS, "exceeded", 100),
        ("250", DEFAULT_THRESHOLDS, "exceeded", 100),
        ("49.99", (Decimal(50), Decimal(80), Decimal("92.5")), "ok", None),
        ("50", (Decimal(50), Decimal(80), Decimal("92.5")), "warning", 50),
        ("92.49", (Decimal(50), Decimal(80), Decimal("92.5")), "caution", 80),
        ("92.5", (Decimal(50), Decimal(80), Decimal("92.5")), "critical", Decimal("92.5")),
    ],
)
def test_levels_at_exact_boundaries(spent: str, thresholds: tuple, level: str, crossed: object) -> None:  # type: ignore[type-arg]
    # limit 100, so the spend is the percentage
    assert level_for(Decimal(spent), Decimal(100), thresholds) == (level, crossed)
    # the same on a limit where the percentage is not a whole number of dollars: $12.34
    assert level_for(Decimal(spent) * Decimal("0.1234"), Decimal("12.34"), thresholds)[0] == level


def test_status_hand_worked(tmp_path: Path, db: Path) -> None:
    _config(tmp_path, "[plan]\nmonthly_token_quota = 10000000\n" + BUDGETS)
    states = budgets.budget_status(make_context(None, db), now=NOW)
    got = {s.budget.label: s for s in states}
    assert list(got) == [
        "plan quota", "team:platform (month)", "member:alice (month)", "model:gpt-4o-2024-08-06 (month)",
        "global (month)", "cost-center:cc-9 (month)", "feature:chat (month)", "project:none (day)",
        "member:bob (month)",
    ]  # fmt: skip
    for s in states:
        if s.budget.period == "month":
            assert (s.period_start, s.period_end) == (date(2026, 11, 1), date(2026, 11, 30))

    p = got["team:platform (month)"]  # 30 of 50 = 60 %; x3 = 90 (180 %); +20 at $3/day = 6 2/3 days -> 11-17 16:00
    assert (p.spent, p.percent, p.level, p.threshold_crossed) == (30, 60, "ok", None)
    assert (p.projected, p.projected_percent, p.projected_cross_date) == (90, 180, date(2026, 11, 17))
    assert p.unpriced_requests == 1  # E5, not in the spend

    # 20 of 20: exactly 100 % is exceeded. It got there on 11-10 (cumulative 11-02 10, 11-09 16,
    # 11-10 20), not "today" (11-11)
    a = got["member:alice (month)"]
    assert (a.spent, a.level, a.threshold_crossed, a.projected_cross_date) == (20, "exceeded", 100, date(2026, 11, 10))
    assert a.projected == 60

    m = got["model:gpt-4o-2024-08-06 (month)"]  # the alias resolves to gpt-4o: 30 of 40 = 75 % exactly
    assert (m.spent, m.percent, m.level, m.threshold_crossed) == (30, 75, "warning", 75)
    assert m.projected_cross_date == date(2026, 11, 14)  # +10 at $3/day = 3 1/3 days -> 11-14 08:00

    g = got["global (month)"]  # 36 of 40 = 90 %: critical on its own thresholds 50/80/90
    assert (g.spent, g.percent, g.level, g.threshold_crossed) == (36, 90, "critical", 90)
    assert (g.projected, g.projected_cross_date) == (108, date(2026, 11, 12))  # +4 at 3.6/day = 1.11 days
    assert g.unpriced_requests == 1

    c = got["cost-center:cc-9 (month)"]  # 6 of 6.25 = 96 %; +0.25 at 0.6/day = 10 hours -> 11-11 10:00
    assert (c.percent, c.level, c.threshold_crossed, c.projected_cross_date) == (96, "critical", 95, date(2026, 11, 11))

    f = got["feature:chat (month)"]  # 6 x3 = 18 = the limit exactly: reaches 100 % at the end of the last day
    assert (f.projected, f.projected_percent, f.projected_cross_date) == (18, 100, date(2026, 11, 30))

    d = got["project:none (day)"]  # nothing spent; the day has just begun, so there is no rate yet
    assert (d.period_start, d.period_end, d.spent, d.level) == (date(2026, 11, 11), date(2026, 11, 11), 0, "ok")
    assert (d.projected, d.projected_percent, d.projected_cross_date) == (None, None, None)

    b = got["member:bob (month)"]  # 2,400,000 of 3,000,000 tokens = 80 %; x3 = 7,200,000; +600k at 240k/day = 2.5 days
    assert (b.budget.kind, b.spent, b.percent, b.level) == ("tokens", 2400000, 80, "warning")
    assert (b.projected, b.projected_cross_date, b.unpriced_requests) == (7200000, date(2026, 11, 13), 0)

    q = got["plan quota"]  # all tokens, priced or not: 9,485,100 of 10M = 94.851 % (caution)
    assert (q.budget.scope, q.budget.kind, q.budget.period, q.budget.limit) == ("global", "tokens", "month", 10000000)
    assert (q.spent, q.percent, q.level) == (9485100, Decimal("94.851"), "caution")
    assert q.projected == 28455300  # x3
    assert q.projected_cross_date == date(2026, 11, 11)  # +514,900 at 948,510/day = 0.54 days -> 11-11 13:01


def test_budget_that_will_not_cross(tmp_path: Path, db: Path) -> None:
    _config(tmp_path, '[[budgets]]\nscope = "team:platform"\namount = 100\n')
    (s,) = budgets.budget_status(make_context(None, db), now=NOW)
    assert (s.projected, s.projected_percent, s.projected_cross_date) == (90, 90, None)  # 90 < 100


def test_budget_far_beyond_the_spend(tmp_path: Path, db: Path) -> None:
    # $30 spent in 10 days of 30: at $3/day, $10,000,000,000 would take ~9 billion years, past
    # the last date a datetime holds; the budget simply does not cross this month
    _config(tmp_path, '[[budgets]]\nscope = "team:platform"\namount = 10000000000\n')
    (s,) = budgets.budget_status(make_context(None, db), now=NOW)
    assert (s.spent, s.level, s.projected, s.projected_cross_date) == (30, "ok", 90, None)
    config = str(tmp_path / "work" / "usagectl.toml")
    for command in (["budget", "status", "--fail-on", "warning"], ["status"], ["dashboard", "--once"]):
        run(*command, "--db", str(db), "--config", config)  # exit 0, no OverflowError


def test_status_as_of_a_past_moment_clips_the_spend(tmp_path: Path, db: Path) -> None:
    # now = 11-05 00:00: only E1 (11-02, $10, alice -> platform) and E7 (11-03, $6, bob) had
    # happened; E2 (11-05 10:00), E3, E4, E5 come later and are not in the spend
    _config(tmp_path, BUDGETS)
    got = {
        s.budget.label: s for s in budgets.budget_status(make_context(None, db), now=datetime(2026, 11, 5, tzinfo=UTC))
    }
    p = got["team:platform (month)"]  # 10 in 4 of 30 days: x7.5 = 75; +40 at 2.5/day = 16 days -> 11-21
    assert (p.spent, p.projected, p.projected_cross_date, p.unpriced_requests) == (10, 75, date(2026, 11, 21), 0)
    g = got["global (month)"]  # 10 + 6 = 16 of 40 = 40 %, ok; x7.5 = 120
    assert (g.spent, g.percent, g.level, g.projected) == (16, 40, "ok", 120)


def test_pdf_for_a_range_shows_the_budgets_as_of_its_end(tmp_path: Path, db: Path) -> None:
    from usagectl.services.pdf_report import month_pdf_data
    from usagectl.services.reports import ReportRequest

    _config(tmp_path, BUDGETS)
    ctx = make_context(None, db)
    req = ReportRequest(since="2026-11-01", until="2026-11-05", tz="UTC", now=NOW)
    rep = month_pdf_data(ctx, req).budgets
    assert rep is not None
    rows = {r["budget"]: r for r in rep.rows}
    # as of 11-05 23:59:59.999999: E1 10 + E2 10 (11-05 10:00) = 20 for platform; + E7 6 = 26 in all.
    # 5 days (less 1 µs) of 30 elapsed: x6 -> 120 and 156 (to the micro-dollar)
    p = rows["team:platform (month)"]  # +30 at 4/day = 7.5 days -> 11-13 12:00
    assert (p["spent"], p["percent"], p["level"], p["projected"]) == (20, 40, "ok", 120)
    assert p["projected_cross_date"] == date(2026, 11, 13)
    g = rows["global (month)"]  # 26 of 40 = 65 %: warning on 50/80/90; +14 at 5.2/day = 2.7 days -> 11-08
    assert (g["spent"], g["percent"], g["level"], g["projected"]) == (26, 65, "warning", 156)
    assert g["projected_cross_date"] == date(2026, 11, 8)
    assert "As of the end of 2026-11-05 (UTC): each budget's period that holds that day, spend up to then." in rep.notes

    # a range ending with October: October's budgets, complete, so projected = actual ($50, E8)
    req = ReportRequest(since="2026-10-10", until="2026-10-31", tz="UTC", now=NOW)
    rep = month_pdf_data(ctx, req).budgets
    assert rep is not None
    p = next(r for r in rep.rows if r["budget"] == "team:platform (month)")
    assert (p["period_start"], p["spent"], p["level"], p["projected"]) == (date(2026, 10, 1), 50, "exceeded", 50)
    assert p["projected_cross_date"] == date(2026, 10, 15)  # the day of E8, not the month's last day


def test_crossing_day_of_an_exceeded_budget_is_the_day_it_got_there(tmp_path: Path, db_path: Path) -> None:
    # Tokyo (UTC+9), limit $25: 11-02 $10 ; 11-04 22:00Z = 11-05 07:00 JST $10 (20) ;
    # 11-06 16:00Z = 11-07 01:00 JST $10 (30 >= 25: crossed on 11-07 local) ; 11-20 $10 (40)
    events = [
        {"event_id": f"X{i}", "ts": ts, "model_raw": "gpt-4o", "output_tokens": 1000000}
        for i, ts in enumerate(
            ["2026-11-02T03:00:00Z", "2026-11-04T22:00:00Z", "2026-11-06T16:00:00Z", "2026-11-20T03:00:00Z"]
        )
    ]
    run("import", str(write_jsonl(tmp_path / "x.jsonl", events)), "--db", str(db_path))
    _config(
        tmp_path, '[[budgets]]\nscope = "global"\namount = 25\n[[budgets]]\nscope = "model:gpt-4o"\ntokens = 2000000\n'
    )
    ctx = make_context(None, db_path)
    money, tokens = budgets.budget_status(ctx, tz="Asia/Tokyo", now=datetime(2026, 11, 25, tzinfo=UTC))
    assert (money.spent, money.level, money.projected_cross_date) == (40, "exceeded", date(2026, 11, 7))
    assert (tokens.spent, tokens.projected_cross_date) == (4000000, date(2026, 11, 5))  # 2M reached 11-05 JST
    # the last microsecond of November in Tokyo (12-01 00:00 JST = 11-30 15:00Z): the month is
    # complete, so projection = actual, and the crossing is still the day it got there
    money, _ = budgets.budget_status(ctx, tz="Asia/Tokyo", now=datetime(2026, 11, 30, 14, 59, 59, 999999, tzinfo=UTC))
    assert (money.projected, money.projected_cross_date) == (40, date(2026, 11, 7))


def test_month_boundary_in_tokyo_and_new_york(tmp_path: Path, db_path: Path) -> None:
    # 2026-11-30T23:30Z is 2026-12-01 08:30 in Tokyo (UTC+9) and 2026-11-30 18:30 in New York (UTC-5)
    event = {"event_id": "T1", "ts": "2026-11-30T23:30:00Z", "model_raw": "gpt-4o", "output_tokens": 1000000}
    run("import", str(write_jsonl(tmp_path / "t.jsonl", [event])), "--db", str(db_path))  # $10.00
    _config(tmp_path, '[[budgets]]\nscope = "global"\namount = 20\n')
    ctx = make_context(None, db_path)
    at = datetime(2026, 11, 30, 23, 45, tzinfo=UTC)

    (tokyo,) = budgets.budget_status(ctx, tz="Asia/Tokyo", now=at)
    assert (tokyo.period_start, tokyo.period_end, tokyo.spent) == (date(2026, 12, 1), date(2026, 12, 31), 10)
    # December began at 11-30 15:00Z: 8 h 45 min of 744 h elapsed; projected 10 x 744 / 8.75
    assert tokyo.projected == (Decimal(10) * 744 / Decimal("8.75")).quantize(Decimal("0.000001"))
    assert tokyo.projected == Decimal("850.285714")
    assert tokyo.projected_cross_date == date(2026, 12, 1)  # +10 at 10 per 8.75 h: 12-01 08:30Z = 17:30 JST

    (ny,) = budgets.budget_status(ctx, tz="America/New_York", now=at)
    assert (ny.period_start, ny.spent) == (date(2026, 11, 1), 10)
    # November in New York: 11-01 04:00Z (EDT) to 12-01 05:00Z (EST) = 721 h; 715 h 45 min elapsed
    assert ny.projected == (Decimal(10) * 721 / Decimal("715.75")).quantize(Decimal("0.000001"))
    assert ny.projected_cross_date is None  # 10.07 < 20

    (ny_dec,) = budgets.budget_status(ctx, tz="America/New_York", now=datetime(2026, 12, 1, 12, tzinfo=UTC))
    assert (ny_dec.period_start, ny_dec.spent) == (date(2026, 12, 1), 0)  # the event stayed in November
    hist = budgets.budget_history(
        ctx, "global", periods=1, tz="America/New_York", now=datetime(2026, 12, 1, 12, tzinfo=UTC)
    )
    assert [(r["period_start"], r["spent"], r["state"]) for r in hist.rows] == [
        (date(2026, 11, 1), 10, "complete"),
        (date(2026, 12, 1), 0, "in progress"),
    ]


@pytest.mark.parametrize(
    ("week_start", "start", "spent"), [("sunday", date(2026, 11, 8), 600000), ("monday", date(2026, 11, 9), 0)]
)
def test_week_budget_follows_week_start(
    tmp_path: Path, db_path: Path, week_start: str, start: date, spent: int
) -> None:
    # Sunday 2026-11-08 12:00Z: 600,000 tokens; now is Tuesday 11-10 12:00Z.
    event = {"event_id": "W1", "ts": "2026-11-08T12:00:00Z", "model_raw": "gpt-4o", "input_tokens": 600000, "member": "dave"}  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "w.jsonl", [event])), "--db", str(db_path))
    path = _config(tmp_path, '[[budgets]]\nscope = "member:dave"\ntokens = 1000000\nperiod = "week"\n')
    path.write_text(path.read_text().replace('timezone = "UTC"', f'timezone = "UTC"\nweek_start = "{week_start}"'))
    (s,) = budgets.budget_status(make_context(None, db_path), now=datetime(2026, 11, 10, 12, tzinfo=UTC))
    assert (s.period_start, s.period_end, s.spent) == (start, start + timedelta(days=6), spent)
    if week_start == "sunday":
        # 2.5 of 7 days elapsed (Sun 00:00 -> Tue 12:00): 600,000 x 7 / 2.5 = 1,680,000 (168 %);
        # +400,000 at 240,000/day = 1 2/3 days -> Thu 11-12 04:00
        assert (s.percent, s.level, s.projected, s.projected_cross_date) == (60, "ok", 1680000, date(2026, 11, 12))
    else:
        assert (s.projected, s.projected_cross_date) == (0, None)


def test_history_budget_vs_actual(tmp_path: Path, db: Path) -> None:
    _config(tmp_path, '[[budgets]]\nscope = "team:platform"\namount = 50\n')
    rep = budgets.budget_history(make_context(None, db), "team:platform", periods=2, now=NOW)
    assert rep.name == "budget-history"
    rows = [(r["period_start"], r["state"], r["spent"], r["percent"], r["level"], r["projected"]) for r in rep.rows]
    assert rows == [
        (date(2026, 9, 1), "complete", 0, 0, "ok", None),
        (date(2026, 10, 1), "complete", 50, 100, "exceeded", None),  # E8 (alice -> platform)
        (date(2026, 11, 1), "in progress", 30, 60, "ok", 90),
    ]
    assert rep.rows[2]["unpriced_requests"] == 1
    assert rep.totals == {"periods": 3, "exceeded": 1}


def test_history_clips_the_current_period_at_now_like_status(tmp_path: Path, db_path: Path) -> None:
    # claude-sonnet-4-5 output at $15 / 1M: F1 11-10 12:00 100k = $1.50; F2 at exactly now
    # (11-16 00:00) 10k = $0.15, counted; F3 11-29 (after now, future-dated) 100k = $1.50, not
    # counted. Limit $2: 1.65 of 2 = 82.5 %, warning (not 3.15 = 157.5 %, exceeded);
    # 15 of 30 days elapsed, so projected 1.65 x 2 = 3.30. October is complete and whole: $0.
    events = [
        {"event_id": "F1", "ts": "2026-11-10T12:00:00Z", "model_raw": "claude-sonnet-4-5", "output_tokens": 100000},
        {"event_id": "F2", "ts": "2026-11-16T00:00:00Z", "model_raw": "claude-sonnet-4-5", "output_tokens": 10000},
        {"event_id": "F3", "ts": "2026-11-29T12:00:00Z", "model_raw": "claude-sonnet-4-5", "output_tokens": 100000},
    ]
    run("import", str(write_jsonl(tmp_path / "f.jsonl", events)), "--db", str(db_path))
    _config(tmp_path, '[[budgets]]\nscope = "global"\namount = 2\n')
    ctx, at = make_context(None, db_path), datetime(2026, 11, 16, tzinfo=UTC)
    rep = budgets.budget_history(ctx, "global", periods=1, now=at)
    rows = [(r["period_start"], r["state"], r["spent"], r["percent"], r["level"], r["projected"]) for r in rep.rows]
    assert rows == [
        (date(2026, 10, 1), "complete", 0, 0, "ok", None),
        (date(2026, 11, 1), "in progress", Decimal("1.65"), Decimal("82.5"), "warning", Decimal("3.30")),
    ]
    assert rep.totals["exceeded"] == 0
    (s,) = budgets.budget_status(ctx, now=at)
    assert (s.spent, s.level, s.projected) == (rows[1][2], rows[1][4], rows[1][5])


def test_history_of_a_quarter_in_new_york_clips_at_now(tmp_path: Path, db_path: Path) -> None:
    # carol's output tokens (sonnet), quarters in America/New_York (EDT -4 until 11-01, then EST -5):
    # N5 10-01 03:59:59Z = 09-30 23:59:59 EDT  16,000 -> Q3
    # N6 10-01 04:00:00Z = 10-01 00:00 EDT     32,000 -> Q4
    # N3 11-22 04:59:59Z, N4 11-22 05:00Z      4,000 + 8,000 -> Q4
    # N1 11-26 04:59:59Z, N2 11-26 05:00Z      1,000 + 2,000 -> Q4
    # N7 2027-01-01 04:59:59Z = 12-31 23:59:59 EST 64,000 -> Q4, but after now: not counted
    # now 11-26 12:00Z: Q4 = 32,000 + 12,000 + 3,000 = 47,000 of 100,000 = 47 %, ok (not 111,000).
    # Q4 runs 10-01 04:00Z .. 2027-01-01 05:00Z = 92 days + 1 h = 2,209 h; elapsed 31 days (744 h)
    # + 25 days 8 h (608 h) = 1,352 h: projected int(47,000 x 2,209 / 1,352) = int(76,792.16) = 76,792.
    spec = [("N1", "2026-11-26T04:59:59Z", 1000), ("N2", "2026-11-26T05:00:00Z", 2000),
            ("N3", "2026-11-22T04:59:59Z", 4000), ("N4", "2026-11-22T05:00:00Z", 8000),
            ("N5", "2026-10-01T03:59:59Z", 16000), ("N6", "2026-10-01T04:00:00Z", 32000),
            ("N7", "2027-01-01T04:59:59Z", 64000)]  # fmt: skip
    events = [
        {"event_id": i, "ts": ts, "model_raw": "claude-sonnet-4-5", "output_tokens": n, "member": "carol"}
        for i, ts, n in spec
    ]
    run("import", str(write_jsonl(tmp_path / "n.jsonl", events)), "--db", str(db_path))
    _config(tmp_path, '[[budgets]]\nscope = "member:carol"\ntokens = 100000\nperiod = "quarter"\n')
    ctx, at = make_context(None, db_path), datetime(2026, 11, 26, 12, tzinfo=UTC)
    rep = budgets.budget_history(ctx, "member:carol", periods=1, tz="America/New_York", now=at)
    rows = [(r["period_start"], r["state"], r["spent"], r["percent"], r["level"], r["projected"]) for r in rep.rows]
    assert rows == [
        (date(2026, 7, 1), "complete", 16000, 16, "ok", None),
        (date(2026, 10, 1), "in progress", 47000, 47, "ok", 76792),
    ]
    (s,) = budgets.budget_status(ctx, tz="America/New_York", now=at)
    assert (s.spent, s.projected) == (47000, 76792)


def test_history_of_a_token_budget_never_splits_a_number_at_80_columns(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A global token budget of 100,000,000; October: one event of 108,102,255 tokens, so
    108,102,255 × 100 / 100,000,000 = 108.102255 % -> 108.1 %, exceeded. Declared as counts, the
    limit and the actual right-align and shorten to 3 significant digits when the table is too
    wide (100M, 108M), instead of folding to "100,000,00" / "0" as text columns did."""
    event = {"event_id": "T1", "ts": "2026-10-15T12:00:00Z", "model_raw": "gpt-4o", "input_tokens": 108_102_255}
    run("import", str(write_jsonl(tmp_path / "t.jsonl", [event])), "--db", str(db_path))
    _config(tmp_path, '[[budgets]]\nscope = "global"\ntokens = 100000000\n')
    monkeypatch.setattr(budgets, "_clock", lambda: NOW)
    args = ("budget", "history", "global", "--periods", "1", "--db", str(db_path))
    out = run(*args).stdout
    assert max(len(line) for line in out.splitlines()) <= 80, out
    (october,) = [line.split() for line in out.splitlines() if line.startswith("2026-10-01")]
    assert october == ["2026-10-01", "complete", "100M", "108M", "108.1%", "exceeded", "–", "0"]
    assert "k = thousand, M = million" in out  # the legend of the shortened counts
    doc = run_json(*args)
    assert (doc["rows"][0]["limit"], doc["rows"][0]["spent"]) == (100_000_000, 108_102_255)  # exact in JSON


def _status_cli(monkeypatch: pytest.MonkeyPatch, db: Path, config: Path, *args: str, expect: int = 0) -> str:
    monkeypatch.setattr(budgets, "_clock", lambda: NOW)
    return str(run("budget", "status", "--db", str(db), "--config", str(config), *args, expect=expect).stdout)


@pytest.mark.parametrize(
    ("budget", "passes", "fails"),
    [
        ('scope = "team:platform"\namount = 50', ["warning"], []),  # 60 %: ok
        ('scope = "model:gpt-4o"\namount = 40', ["critical", "caution"], ["warning"]),  # 75 %: warning
        ('scope = "cost-center:cc-9"\namount = 6.25', ["exceeded"], ["critical", "warning"]),  # 96 %: critical
        ('scope = "member:alice"\namount = 20', [], ["exceeded", "critical"]),  # 100 %: exceeded
    ],
)
def test_fail_on_exit_codes(
    tmp_path: Path, db: Path, monkeypatch: pytest.MonkeyPatch, budget: str, passes: list[str], fails: list[str]
) -> None:
    config = _config(tmp_path, f"[[budgets]]\n{budget}\n", "b.toml")
    assert "Budget" in _status_cli(monkeypatch, db, config)  # without --fail-on: 0 whatever the level
    for level in passes:
        _status_cli(monkeypatch, db, config, "--fail-on", level)
    for level in fails:
        out = _status_cli(monkeypatch, db, config, "--fail-on", level, expect=5)
        assert "Budget" in out  # the table is shown before exiting 5


def test_fail_on_invalid_level_is_usage_error(tmp_path: Path, db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _config(tmp_path, '[[budgets]]\nscope = "global"\namount = 1\n', "b.toml")
    _status_cli(monkeypatch, db, config, "--fail-on", "panic", expect=2)


def test_status_json_contract(tmp_path: Path, db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _config(tmp_path, "[plan]\nmonthly_token_quota = 10000000\n" + BUDGETS)
    monkeypatch.setattr(budgets, "_clock", lambda: NOW)
    out = run_json("budget", "status", "--db", str(db))
    assert out["report"] == "budget-status" and out["filters"] == {"tz": "UTC"}
    assert out["totals"] == {"budgets": 9, "worst_level": "exceeded"}
    rows = {r["budget"]: r for r in out["rows"]}
    assert rows["plan quota"]["limit"] == 10000000 and rows["plan quota"]["spent"] == 9485100
    p = rows["team:platform (month)"]
    assert (p["scope"], p["kind"], p["limit"], p["spent"], p["percent"], p["level"]) == (
        "team:platform", "usd", 50, 30, 60, "ok"
    )  # fmt: skip
    assert (p["projected"], p["projected_percent"], p["projected_cross_date"]) == (90, 180, "2026-11-17")
    assert (p["unpriced_requests"], p["warning_pct"], p["critical_pct"]) == (1, 75, 95)
    table = run("budget", "status", "--db", str(db)).stdout
    assert "team:platform (month)" in table and "$30.00" in table
    assert "1 request of this scope has no price and is NOT in the spend" in " ".join(table.split())


@pytest.mark.parametrize(
    ("limit", "percent", "level", "json_percent"),
    [
        ("8.0005", "74.9", "ok", "74.99"),  # 600 / 8.0005 = 74.9953 %: below 75, so not "75.0% ok"
        ("8", "75.0", "warning", "75"),  # 600 / 8 = 75 % exactly
        ("6.3158", "94.9", "caution", "94.99"),  # 600 / 6.3158 = 94.99984 %
        ("6.0001", "99.9", "critical", "99.99"),  # 600 / 6.0001 = 99.99833 %: not "100.0% critical"
        ("6", "100.0", "exceeded", "100"),
    ],
)
def test_status_percent_is_rounded_down_to_agree_with_the_level(
    tmp_path: Path, db: Path, monkeypatch: pytest.MonkeyPatch, limit: str, percent: str, level: str, json_percent: str
) -> None:
    # feature:chat has spent $6 (E7); percent = 6 x 100 / limit, shown to one decimal rounded down;
    # JSON keeps it to 2 decimals, rounded down too (as the webhook body: QA, 75.00 beside "ok"
    # read as a threshold reached), next to the level, which is decided on the exact value
    _config(tmp_path, f'[[budgets]]\nscope = "feature:chat"\namount = {limit}\n')
    monkeypatch.setattr(budgets, "_clock", lambda: NOW)
    (row,) = run_json("budget", "status", "--db", str(db))["rows"]
    assert (Decimal(str(row["percent"])), row["level"]) == (Decimal(json_percent), level)
    line = next(ln for ln in run("budget", "status", "--db", str(db)).stdout.splitlines() if "feature:chat" in ln)
    assert f"{percent}%" in line and level in line


def test_json_keeps_the_budget_percent_to_2_decimals(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # gpt-4o output at $10 / 1M: 1,725,000 tokens = $17.25 of a global $20 = 86.25 %, warning.
    # Humans read it rounded down (86.2 %); JSON keeps 86.25, as the webhook body does.
    from usagectl.services import status_line

    event = {"event_id": "P1", "ts": "2026-11-05T10:00:00Z", "model_raw": "gpt-4o", "output_tokens": 1725000}
    run("import", str(write_jsonl(tmp_path / "p.jsonl", [event])), "--db", str(db_path))
    _config(tmp_path, '[[budgets]]\nscope = "global"\namount = 20\n')
    monkeypatch.setattr(budgets, "_clock", lambda: NOW)
    monkeypatch.setattr(status_line, "_clock", lambda: NOW)
    db = ("--db", str(db_path))
    (row,) = json.loads(run("budget", "status", *db, "--json").stdout, parse_float=Decimal)["rows"]
    assert (row["percent"], row["level"]) == (Decimal("86.25"), "warning")
    assert "86.2%" in run("budget", "status", *db).stdout
    doc = json.loads(run("status", *db, "--json").stdout, parse_float=Decimal)
    assert doc["budgets"]["worst_pct"] == Decimal("86.25")
    assert run("status", *db).stdout.endswith("budget warning (global (month) 86.2%)\n")
    history = json.loads(
        run("budget", "history", "global", "--periods", "0", *db, "--json").stdout, parse_float=Decimal
    )
    assert history["rows"][0]["percent"] == Decimal("86.25")
    assert "86.2%" in run("budget", "history", "global", "--periods", "0", *db).stdout


def test_no_budgets(db: Path) -> None:
    assert budgets.budget_status(make_context(None, db), now=NOW) == []
    assert "No budgets" in run("budget", "status", "--db", str(db), "--fail-on", "warning").stdout


# --------------------------------------------------------------------------- editing the config

ROUND_TRIP = """# values are kept exactly
[plan]
monthly_token_quota = 5000000

[display]
timezone = "Europe/Berlin"
week_start = "sunday"

[members.alice]
team = "platform"
department = "eng"

[pricing]
dir = "prices"

[custom]
rate = 0.1
price = 1.50
count = 3
when = 2026-11-01T10:00:00Z
day = 2026-11-01
nested = { a = [1, 2.5, "x"], b = { c = true } }

[[custom.items]]
k = "v"

[[budgets]]
scope = "global"
amount = 19.99
period = "month"
"""


def _parsed(path: Path) -> dict:  # type: ignore[type-arg]
    with path.open("rb") as fh:
        return tomllib.load(fh, parse_float=Decimal)


def _canon(value: object) -> object:
    if isinstance(value, dict):
        return sorted((k, _canon(v)) for k, v in value.items())  # key order is not data
    if isinstance(value, list):
        return [_canon(v) for v in value]
    return repr(value)  # type and exact digits: Decimal('1.50') is neither 1.5 nor a float


def _without_budgets(data: dict) -> object:  # type: ignore[type-arg]
    return _canon({k: v for k, v in data.items() if k != "budgets"})


def test_set_keeps_every_other_value(tmp_path: Path) -> None:
    path = tmp_path / "work" / "usagectl.toml"
    path.write_text(ROUND_TRIP, encoding="utf-8")
    before = _parsed(path)
    result = run("budget", "set", "team:platform", "0.3")
    assert "added budget team:platform (month): $0.30" in result.stderr
    after = _parsed(path)
    assert _without_budgets(after) == _without_budgets(before)
    assert after["budgets"] == [
        {"scope": "global", "amount": Decimal("19.99"), "period": "month"},
        {"scope": "team:platform", "amount": Decimal("0.3"), "period": "month"},
    ]
    text = path.read_text()
    assert "amount = 19.99\n" in text and "amount = 0.3\n" in text  # no 0.30000000000000004
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]  # no temp file left

    run("budget", "set", "team:platform", "$1,500.50", "--thresholds", "50,80,90")  # same scope+period: replaced
    run("budget", "set", "team:platform", "20", "--period", "week")  # another period: added
    run("budget", "set", "member:bob", "100,000,000", "--tokens", "--period", "quarter")
    run("budget", "set", "team:platform", "1234.5")  # replaced again; its thresholds stay 50/80/90
    after = _parsed(path)
    assert _without_budgets(after) == _without_budgets(before)
    assert after["budgets"] == [
        {"scope": "global", "amount": Decimal("19.99"), "period": "month"},
        {"scope": "team:platform", "amount": Decimal("1234.5"), "period": "month", "thresholds": [50, 80, 90]},
        {"scope": "team:platform", "amount": Decimal("20"), "period": "week"},
        {"scope": "member:bob", "tokens": 100000000, "period": "quarter"},
    ]
    listed = json.loads(run("budget", "list", "--json").stdout, parse_float=Decimal)
    assert [(r["scope"], r["period"], r["limit"], r["source"]) for r in listed["rows"]] == [
        ("global", "month", 5000000, "[plan] monthly_token_quota"),
        ("global", "month", Decimal("19.99"), "budgets[0]"),
        ("team:platform", "month", Decimal("1234.5"), "budgets[1]"),
        ("team:platform", "week", 20, "budgets[2]"),
        ("member:bob", "quarter", 100000000, "budgets[3]"),
    ]

    run("budget", "rm", "team:platform", expect=2)  # two periods: which one?
    assert "removed budget team:platform (week)" in run("budget", "rm", "team:platform", "--period", "week").stderr
    run("budget", "rm", "team:platform", "--period", "week", expect=2)  # gone
    run("budget", "rm", "team:nobody", expect=2)
    run("budget", "rm", "global", "--period", "month")
    run("budget", "rm", "global", expect=2)  # only the plan quota is left for global
    after = _parsed(path)
    assert _without_budgets(after) == _without_budgets(before)
    assert [b["scope"] for b in after["budgets"]] == ["team:platform", "member:bob"]


COMMENTED = """# Team config, reviewed in git
[plan]
monthly_token_quota = 100_000_000   # 100M

# the platform team's budget
[[budgets]]
scope = "team:platform"
amount = 500.00   # raised in Q3
period = "month"
thresholds = [75, 90, 95]

[tax]
rate = 19.0   # VAT
"""


def test_set_and_rm_change_only_the_budget_lines(tmp_path: Path) -> None:
    # the file is reviewed in git: comments, number spellings and the order of sections stay,
    # and only the lines of the budget that changed differ
    path = tmp_path / "work" / "usagectl.toml"
    path.write_text(COMMENTED, encoding="utf-8")
    run("budget", "set", "team:platform", "750")
    assert path.read_text() == COMMENTED.replace("amount = 500.00   # raised in Q3", "amount = 750.0   # raised in Q3")
    run("budget", "set", "team:platform", "750", "--thresholds", "50,80,90")
    changed = COMMENTED.replace("amount = 500.00   # raised in Q3", "amount = 750.0   # raised in Q3")
    changed = changed.replace("thresholds = [75, 90, 95]", "thresholds = [50, 80, 90]")
    assert path.read_text() == changed
    run("budget", "set", "member:bob", "10")  # appended after the last budget table
    added = changed.replace(
        "thresholds = [50, 80, 90]\n",
        'thresholds = [50, 80, 90]\n\n[[budgets]]\nscope = "member:bob"\namount = 10.0\nperiod = "month"\n',
    )
    assert path.read_text() == added
    run("budget", "rm", "member:bob")
    assert path.read_text() == changed
    run("budget", "rm", "team:platform")  # its comment line and the blank line after it go too
    assert (
        path.read_text()
        == "# Team config, reviewed in git\n[plan]\nmonthly_token_quota = 100_000_000   # 100M\n\n[tax]\nrate = 19.0   # VAT\n"
    )
    run("budget", "set", "global", "5")  # no budget table left: appended at the end
    assert path.read_text().endswith(
        'rate = 19.0   # VAT\n\n[[budgets]]\nscope = "global"\namount = 5.0\nperiod = "month"\n'
    )


SPREAD = """# usagectl config for the platform org -- reviewed in git
[display]
timezone = "UTC"   # billing is in UTC

# web team: agreed with finance on 2026-10-01
[[budgets]]
"scope" = "team:web"   # a quoted key
amount = 50
thresholds = [
  50,
  80,
  95,
]
"""


def test_a_multi_line_value_and_a_quoted_key_are_edited_in_place(tmp_path: Path) -> None:
    """QA: a [[budgets]] table with no period whose thresholds span lines, or with a quoted key,
    made budget set rewrite the whole file with tomli-w: every comment dropped, silently. The
    new period key now goes after the last complete key/value (the closing bracket), the
    quoted key is changed in its own line, and everything else stays byte for byte."""
    path = tmp_path / "work" / "usagectl.toml"
    path.write_text(SPREAD, encoding="utf-8")
    run("budget", "set", "team:web", "60")
    assert path.read_text(encoding="utf-8") == SPREAD.replace("amount = 50", "amount = 60.0").replace(
        "  95,\n]\n", '  95,\n]\nperiod = "month"\n'
    )
    # new thresholds: the array (no comment inside) becomes one line, its neighbours stay
    run("budget", "set", "team:web", "60", "--thresholds", "60,85,95")
    assert path.read_text(encoding="utf-8") == SPREAD.replace("amount = 50", "amount = 60.0").replace(
        "thresholds = [\n  50,\n  80,\n  95,\n]\n", 'thresholds = [60, 85, 95]\nperiod = "month"\n'
    )
    assert _parsed(path)["budgets"] == [
        {"scope": "team:web", "amount": Decimal("60.0"), "thresholds": [60, 85, 95], "period": "month"}
    ]


def test_a_layout_the_edit_cannot_follow_is_refused_when_it_has_comments(tmp_path: Path) -> None:
    # a multi-line value with a comment inside cannot be rewritten without losing that comment,
    # and tomli-w would drop every comment of the file: exit 2, the file untouched, what to do
    path = tmp_path / "work" / "usagectl.toml"
    text = '# note\n[[budgets]]\nscope = "global"\namount = 5\nthresholds = [\n  50,  # agreed\n  80,\n  90,\n]\n'
    path.write_text(text, encoding="utf-8")
    err = " ".join(run("budget", "set", "global", "6", "--thresholds", "60,80,90", expect=2).stderr.split())
    assert "cannot edit in place" in err and "would lose its comments" in err
    assert "write each [[budgets]] key on one line" in err
    assert path.read_text(encoding="utf-8") == text
    run("budget", "set", "global", "6")  # the thresholds unchanged: only the amount's line changes
    assert path.read_text(encoding="utf-8") == text.replace("amount = 5", "amount = 6.0").replace(
        "  90,\n]\n", '  90,\n]\nperiod = "month"\n'
    )


def test_a_layout_without_comments_the_edit_cannot_follow_is_written_whole_with_a_warning(tmp_path: Path) -> None:
    # a "[[budgets]]" line inside a multi-line string is not a table, but the line edit cannot
    # tell: the file has no comment to lose, so it is written whole, and the user is told
    path = tmp_path / "work" / "usagectl.toml"
    path.write_text('[[budgets]]\nscope = "global"\namount = 5\n\n[custom]\ndoc = """\n[[budgets]]\n"""\n')
    err = " ".join(run("budget", "set", "global", "6").stderr.split())
    assert "changed budget global (month): $5.00 -> $6.00" in err
    assert "warning: config" in err and "was written whole" in err and "are not" in err
    assert _parsed(path) == {
        "budgets": [{"scope": "global", "amount": Decimal("6.0"), "period": "month"}],
        "custom": {"doc": "[[budgets]]\n"},
    }
    # a new file has no formatting to keep: no warning
    assert "warning" not in run("budget", "set", "global", "5", "--config", str(tmp_path / "new.toml")).stderr


def test_a_crlf_config_keeps_its_line_endings(tmp_path: Path) -> None:
    """QA: budget set on a config with CRLF line endings (a Windows checkout) wrote every line
    back with LF. The lines of the budget change and keep CRLF; the others stay as they were."""
    path = tmp_path / "work" / "usagectl.toml"
    lines = ["# team config, reviewed in git", "[display]", 'timezone = "UTC"   # keep UTC', "",
             "[[budgets]]", 'scope = "global"   # all usage', "amount = 5"]  # fmt: skip
    path.write_bytes("".join(line + "\r\n" for line in lines).encode())
    run("budget", "set", "global", "6")
    expected = [*lines[:-1], "amount = 6.0", 'period = "month"']
    assert path.read_bytes() == "".join(line + "\r\n" for line in expected).encode()
    run("budget", "set", "team:web", "7")  # a new table: CRLF too
    added = ["", "[[budgets]]", 'scope = "team:web"', "amount = 7.0", 'period = "month"']
    assert path.read_bytes() == "".join(line + "\r\n" for line in expected + added).encode()
    run("budget", "rm", "team:web")
    assert path.read_bytes() == "".join(line + "\r\n" for line in expected).encode()


def test_a_config_with_a_byte_order_mark_is_read_and_edited_keeping_it(tmp_path: Path) -> None:
    """Notepad and PowerShell's Out-File start a UTF-8 file with a BOM (EF BB BF): every command
    refused the config, "not valid TOML: Invalid statement (at line 1, column 1)". It is read as
    the text after the mark, and `budget set`/`rm` keep the mark and the CRLF endings."""
    path = tmp_path / "work" / "usagectl.toml"
    lines = ["# team config", "[display]", 'timezone = "UTC"', "", "[[budgets]]", 'scope = "global"', "amount = 5"]
    path.write_bytes(b"\xef\xbb\xbf" + "".join(line + "\r\n" for line in lines).encode())
    assert [r["scope"] for r in run_json("budget", "list")["rows"]] == ["global"]
    run("budget", "set", "global", "6")
    expected = [*lines[:-1], "amount = 6.0", 'period = "month"']
    assert path.read_bytes() == b"\xef\xbb\xbf" + "".join(line + "\r\n" for line in expected).encode()


INLINE = """# team config, reviewed in PR #12
budgets = [{ scope = "team:a", amount = 5, period = "month" }]  # a's budget

[display]
timezone = "UTC"   # keep UTC for finance
"""


def test_an_inline_budgets_array_is_edited_in_place(tmp_path: Path) -> None:
    # only the budgets = [...] line changes: the comment above, its own trailing comment and the
    # [display] section with its comment stay byte for byte
    path = tmp_path / "work" / "usagectl.toml"
    path.write_text(INLINE, encoding="utf-8")
    run("budget", "set", "team:b", "9")
    b = '{ scope = "team:b", amount = 9.0, period = "month" }'
    assert path.read_text() == INLINE.replace('"month" }]', f'"month" }}, {b}]')
    run("budget", "rm", "team:a")
    assert path.read_text() == INLINE.replace('{ scope = "team:a", amount = 5, period = "month" }', b)
    run("budget", "rm", "team:b")  # the last one: the assignment goes, nothing else
    assert (
        path.read_text()
        == '# team config, reviewed in PR #12\n\n[display]\ntimezone = "UTC"   # keep UTC for finance\n'
    )

    # spread over lines: one table a line, the array's indentation and closing comment kept
    multi = '# top\nbudgets = [\n    { scope = "team:a", amount = 5 },\n]   # end\n[display]\ntimezone = "UTC"  # c\n'
    path.write_text(multi, encoding="utf-8")
    run("budget", "set", "team:a", "6")
    assert path.read_text() == multi.replace("amount = 5 }", 'amount = 6.0, period = "month" }')


def test_an_inline_budgets_array_with_comments_inside_is_refused(tmp_path: Path) -> None:
    # a comment inside a multi-line array cannot be kept by rewriting the array, and tomli-w
    # would drop every comment of the file: exit 2, the file untouched, how to convert it
    path = tmp_path / "work" / "usagectl.toml"
    text = '# top\nbudgets = [\n    { scope = "team:a", amount = 5 },  # a\n]\n[display]\ntimezone = "UTC"  # c\n'
    path.write_text(text, encoding="utf-8")
    for args in (("set", "team:a", "6"), ("set", "team:b", "1"), ("rm", "team:a")):
        err = " ".join(run("budget", *args, expect=2).stderr.split())
        assert "the budgets are an inline array (budgets = [...])" in err
        assert "write each budget as a [[budgets]] table" in err
        assert path.read_text() == text


@pytest.mark.parametrize(
    "args",
    [
        ("team:x", "abc"),
        ("team:x", "0"),
        ("team:x", "1e3"),
        ("team:x", "1.5", "--tokens"),
        ("team:x", "0.0000001"),  # below $0.01
        ("team:x", "$0.009"),
        ("team:x", "-5", "--tokens"),
        ("group:x", "5"),
        ("team:", "5"),
        ("team:x", "5", "--thresholds", "90,75,95"),
        ("team:x", "5", "--thresholds", "75,90,100"),
        ("team:x", "5", "--thresholds", "75,90"),
        ("team:x", "5", "--period", "fortnight"),
    ],
)
def test_set_rejects_bad_input_and_leaves_the_file(tmp_path: Path, args: tuple[str, ...]) -> None:
    path = tmp_path / "work" / "usagectl.toml"
    path.write_text(ROUND_TRIP, encoding="utf-8")
    run("budget", "set", *args, expect=2)
    assert path.read_text() == ROUND_TRIP


def test_set_amounts_and_how_budget_money_is_printed(tmp_path: Path) -> None:
    err = run("budget", "set", "member:alice", "0.0000001", expect=2).stderr
    assert "'0.0000001'" in err and "at least $0.01" in err
    assert "member:alice (month): $0.01 per month" in run("budget", "set", "member:alice", "0.01").stderr
    out = run("budget", "set", "member:alice", "0.015").stderr
    assert "$0.01 -> $0.015 per month" in out  # every decimal given, no "$1.5E-2"
    run("budget", "set", "team:x", "1.5")
    run("budget", "set", "member:bob", "3000000", "--tokens")
    rows = run("budget", "list", "--format", "csv").stdout.splitlines()
    limits = {r.split(",")[1]: r.split(",")[4] for r in rows[1:]}  # key order: budget, scope, period, kind, limit
    assert limits == {"member:alice": "0.015000", "team:x": "1.500000", "member:bob": "3000000"}


def test_scopes_that_match_nothing_warn_and_are_noted(tmp_path: Path, db: Path) -> None:
    # member names are case-sensitive: the data has alice, carol, bob; [members] maps alice and bob
    config = _config(tmp_path, "")
    cases = {
        "member:Alice": "no usage in the database",  # neither in the data nor in [members]
        "model:gpt4o": "no model of that name in the price tables",
        "project:nope": "no usage in the database",
        "member:alice": None,
        "member:dave": "no usage",  # not in the data ...
        "team:growth": None,  # ... bob's team in [members]; no growth event yet, still no warning
        "model:gpt-4o-2024-08-06": None,  # an alias of gpt-4o
        "feature:chat": None,  # E7
    }
    for scope, warning in cases.items():
        err = run("budget", "set", scope, "5", "--db", str(db), "--config", str(config)).stderr  # exit 0
        assert f"added budget {scope} (month)" in err
        assert warning in err if warning else "warning" not in err, scope
    config.write_text(config.read_text().replace("[members.bob]", "[members.dave]"))
    states = budgets.budget_status(make_context(config, db), now=NOW)
    # never matched in the whole database: Alice, gpt4o, nope, dave (in [members] now, still no
    # event), growth (bob is no longer mapped and his event names no team)
    assert {s.budget.scope for s in states if s.never_used} == {
        "member:Alice", "model:gpt4o", "project:nope", "member:dave", "team:growth"
    }  # fmt: skip
    note = next(n for n in budgets.status_report(states, "UTC").notes if n.startswith("No usage has ever"))
    assert "member:Alice (month), model:gpt4o (month)" in note and "never fire" in note
    # scopes with usage are not "never used"
    assert not any(s.never_used for s in states if s.budget.scope in ("member:alice", "feature:chat"))


def test_set_creates_the_user_config(tmp_path: Path) -> None:
    user = tmp_path / "home" / ".config" / "usagectl" / "config.toml"
    assert not user.exists()
    run("budget", "set", "global", "10")
    assert _parsed(user) == {"budgets": [{"scope": "global", "amount": Decimal("10"), "period": "month"}]}


def test_set_follows_a_symlinked_config(tmp_path: Path) -> None:
    target = tmp_path / "dotfiles" / "usagectl.toml"
    target.parent.mkdir()
    target.write_text(BASE, encoding="utf-8")
    link = tmp_path / "work" / "usagectl.toml"
    link.symlink_to(target)
    run("budget", "set", "global", "10")
    assert link.is_symlink()
    assert _parsed(target)["budgets"][0]["amount"] == Decimal("10")


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ('scope = "team:x"\namount = 5\ntokens = 5', "budgets[1]: give exactly one of amount (USD) or tokens"),
        ('scope = "team:x"', "budgets[1]: give exactly one of amount (USD) or tokens"),
        ('scope = "squad:x"\namount = 5', "budgets[1]: scope 'squad:x' is not one of global, member:NAME"),
        ('scope = "team:x"\namount = -5', "budgets[1]: amount: must be a positive number of dollars, got -5"),
        ('scope = "team:x"\ntokens = 1.5', "budgets[1]: tokens: must be a positive whole number, got 1.5"),
        ('scope = "team:x"\namount = 5\nperiod = "decade"', "budgets[1]: period 'decade' is not one of day, week"),
        ('scope = "team:x"\namount = 5\nthresholds = [90, 75, 95]', "budgets[1]: thresholds [90, 75, 95]: must be"),
        ('scope = "team:x"\namount = 5\nthreshold = [1]', "budgets[1]: unknown key threshold"),
        ('scope = "global"\namount = 5', "budgets[1]: same scope and period as budgets[0] (global (month))"),
    ],
)
def test_bad_budget_names_file_index_and_problem(tmp_path: Path, entry: str, problem: str) -> None:
    path = _config(tmp_path, f'[[budgets]]\nscope = "global"\namount = 1\n[[budgets]]\n{entry}\n')
    with pytest.raises(ConfigError) as info:
        budgets.load_budgets(make_context(None, None))
    assert info.value.message.startswith(f"config {path}: ")
    assert problem in info.value.message
    assert problem in run("budget", "list", expect=2).stderr


def test_budgets_must_be_an_array_of_tables(tmp_path: Path) -> None:
    _config(tmp_path, '[budgets]\nscope = "global"\n')
    assert "budgets: must be an array of tables ([[budgets]])" in run("budget", "list", expect=2).stderr


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        (
            '[plan]\nmonthly_token_quota = "lots"\n',
            "[plan] monthly_token_quota: must be a positive integer, got 'lots'",
        ),
        ('[[webhooks]]\nevents = ["usage.anomaly"]\nsecret_env = "S"\n', "webhooks[0].url: required"),
        ('[tax]\nrate = "abc"\n', "[tax] rate: must be a number, got 'abc'"),
        ("[[credits]]\namount = 5\n", "credits[0]: expires is missing"),
        ('[team]\nallocate = "random"\n', "[team] allocate: must be one of"),
    ],
)
def test_set_and_rm_refuse_a_config_another_section_of_which_is_invalid(
    tmp_path: Path, section: str, problem: str
) -> None:
    """Nothing is written or announced when any section would make a command fail: the file stays
    byte for byte as it was and the exit is 2, as for a bad [[budgets]]."""
    cfg = tmp_path / "work" / "usagectl.toml"
    text = BASE + '[[budgets]]\nscope = "team:platform"\namount = 50\n' + section
    cfg.write_text(text, encoding="utf-8")
    for args in (("set", "global", "100"), ("set", "team:platform", "60"), ("rm", "team:platform")):
        result = run("budget", *args, expect=2)
        assert problem in result.stderr
        assert "added" not in result.stderr and "changed" not in result.stderr and "removed" not in result.stderr
        assert cfg.read_text(encoding="utf-8") == text


# --------------------------------------------------------------------------- the cron and CI examples

CI = Path(__file__).resolve().parents[1] / "examples" / "ci"


def _stubs(tmp_path: Path, exit_code: int) -> dict[str, str]:
    """A `usagectl` that logs its arguments and exits with ``exit_code``, and a `mail` that records
    what it would send: the environment to run an example's command with."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "usagectl").write_text(f'#!/bin/sh\necho "usagectl $*: exit {exit_code}" >&2\nexit {exit_code}\n')
    (bin_dir / "mail").write_text(f'#!/bin/sh\n{{ echo "mail $*"; cat; }} >> "{tmp_path}/mailed"\n')
    for stub in bin_dir.iterdir():
        stub.chmod(0o755)
    return {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)}


def _cron_line(words: str) -> str:
    """The command of the crontab entry running ``usagectl WORDS`` (the five time fields cut off)."""
    for line in (CI / "crontab").read_text(encoding="utf-8").splitlines():
        if line[:1].isdigit() or line.startswith("*"):
            command = line.split(None, 5)[5]
            if command.startswith(f"usagectl {words}"):
                return command
    raise AssertionError(f"no crontab entry for usagectl {words}")


@pytest.mark.parametrize("code", [0, 2, 3, 4, 5])
def test_crontab_mails_finops_only_for_a_critical_budget(tmp_path: Path, code: int) -> None:
    """QA: `|| mail "a budget is critical"` fired on any failure (a bad config 2, a busy database
    3, no database 4). Only exit 5 mails finops; another failure prints a line, which cron mails
    to the crontab's owner; exit 0 prints nothing (no mail)."""
    log = tmp_path / "usagectl.log"
    command = _cron_line("budget status").replace("/var/log/usagectl.log", str(log))
    done = subprocess.run(["/bin/sh", "-c", command], env=_stubs(tmp_path, code), capture_output=True, text=True)
    mailed = tmp_path / "mailed"
    assert log.read_text() == f"usagectl budget status --fail-on critical: exit {code}\n"
    if code == 5:
        assert mailed.read_text() == "mail -s LLM budget finops@example.com\nusagectl: a budget is critical\n"
        assert done.stdout + done.stderr == ""
    else:
        assert not mailed.exists()
        assert done.stdout + done.stderr == (
            f"usagectl budget status failed (exit {code}): see {log}\n" if code else ""
        )


@pytest.mark.parametrize("code", [0, 1, 3])
def test_crontab_reports_a_failed_notify(tmp_path: Path, code: int) -> None:
    # notify exits 1 when a delivery failed: the line prints, so cron mails it (the header says so);
    # its own output (every run's "nothing due" too) stays in the log
    log = tmp_path / "usagectl.log"
    command = _cron_line("notify").replace("/var/log/usagectl.log", str(log))
    done = subprocess.run(["/bin/sh", "-c", command], env=_stubs(tmp_path, code), capture_output=True, text=True)
    assert log.read_text() == f"usagectl notify: exit {code}\n"
    assert done.stdout + done.stderr == (f"usagectl notify failed (exit {code}): see {log}\n" if code else "")
    header = " ".join(ln.lstrip("# ") for ln in (CI / "crontab").read_text().splitlines() if ln.startswith("#"))
    assert "cron mails non-empty stderr" not in header and "notify could not deliver something (exit 1" in header


def _workflow_steps() -> list[dict[str, str]]:
    """The steps of the example workflow: each step's keys with their text (a block scalar's lines
    joined), read from the YAML's layout (steps at 6 spaces, their keys at 8, ``with`` at 10)."""
    lines = (CI / "github-actions.yml").read_text(encoding="utf-8").splitlines()
    steps: list[dict[str, str]] = []
    key = ""
    for line in lines[lines.index("    steps:") + 1 :]:
        if line.startswith("      - "):
            steps.append({})
            line = "        " + line[8:]
        if not steps or not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        text = line.strip()
        if indent in (8, 10) and ":" in text and not (key == "run" and indent > 8):
            key, _, value = text.partition(":")
            value = value.split("  #")[0].strip()
            steps[-1][key] = value if value != "|" else ""
        elif key == "run":
            steps[-1]["run"] += line[10:] + "\n"
    return steps


def test_github_workflow_saves_the_database_whatever_the_outcome() -> None:
    """QA: actions/cache saves only when the job succeeds, and the budget gate fails the job
    exactly when a budget is critical: the ledger of that night's webhooks was lost and the next
    night sent the same alerts again. The database is restored first and saved last, always,
    under a key of its own (cache entries are immutable); the next run restores the newest."""
    steps = _workflow_steps()
    uses = [s.get("uses", "") for s in steps]
    assert not [u for u in uses if u.startswith("actions/cache@")]  # its save is success-only
    restore = next(i for i, u in enumerate(uses) if u.startswith("actions/cache/restore@"))
    gate = next(i for i, s in enumerate(steps) if "budget status --fail-on critical" in s.get("run", ""))
    save = steps[-1]
    assert save["uses"].startswith("actions/cache/save@") and save["if"] == "always()"
    assert restore < gate < len(steps) - 1
    assert save["key"] == steps[restore]["key"] and "${{ github.run_id }}" in save["key"]
    assert save["key"].startswith(steps[restore]["restore-keys"]) and save["path"] == steps[restore]["path"]


@pytest.mark.parametrize(("files", "code", "expect"), [([], 4, 0), (["u.jsonl"], 0, 0), (["u.jsonl"], 4, 4)])
def test_github_workflow_import_step_passes_a_day_without_exports(
    tmp_path: Path, files: list[str], code: int, expect: int
) -> None:
    # `usagectl import usage/` exits 4 on a folder without files ("no importable files"): the
    # step runs it only when there are files, and then its failure still fails the step
    step = next(s for s in _workflow_steps() if "usagectl import" in s.get("run", ""))
    (tmp_path / "usage").mkdir()
    for name in files:
        (tmp_path / "usage" / name).write_text("{}\n")
    env = _stubs(tmp_path, code)
    done = subprocess.run(
        ["bash", "-eo", "pipefail", "-c", step["run"]], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == expect
    assert ("usagectl import usage/ --json" in done.stderr) == bool(files)


def test_github_workflow_reads_only_once_a_database_exists() -> None:
    """QA: the first night with no exports (or after the cache expired) has no database, and the
    reading steps exited 4 on the named database ("no database at …"): the job failed. They run
    only when the file at $USAGECTL_DB exists (``hashFiles`` is '' for no file)."""
    text = (CI / "github-actions.yml").read_text(encoding="utf-8")
    db = next(ln.split(":", 1)[1].split("#")[0].strip() for ln in text.splitlines() if "USAGECTL_DB:" in ln)
    reading = [s for s in _workflow_steps() if s.get("run", "").startswith("usagectl ") and "import" not in s["run"]]
    assert [s["run"].split()[1] for s in reading] == ["report", "notify", "budget"]
    assert all(s.get("if") == f"hashFiles('{db}') != ''" for s in reading)


def test_a_limit_is_shown_as_set_not_rounded_to_the_cent(tmp_path: Path, db: Path) -> None:
    """`budget set global 12.345` said "$12.345", but `budget list`, `budget status` and
    `budget history` showed $12.34 (money rounded half-even to the cent). The limit is what the
    user set: every digit; a token limit stays a count (3,000,000), a whole amount $50.00."""
    _config(tmp_path, '[[budgets]]\nscope = "global"\namount = 12.345\n[[budgets]]\nscope = "member:bob"\n'
            "tokens = 3000000\n[[budgets]]\nscope = \"team:platform\"\namount = 50\n")  # fmt: skip
    listed = run("budget", "list").stdout
    limits = {
        line.split()[0]: line.split()[3]
        for line in listed.splitlines()
        if line.startswith(("global", "member", "team"))
    }
    assert limits == {"global": "$12.345", "member:bob": "3,000,000", "team:platform": "$50.00"}
    status = run("budget", "status", "--db", str(db)).stdout
    assert "$12.345" in status and "$12.34 " not in status
    assert "$12.345" in run("budget", "history", "global", "--periods", "2", "--db", str(db)).stdout
    # JSON keeps the number
    assert next(r for r in run_json("budget", "list")["rows"] if r["scope"] == "global")["limit"] == 12.345


def test_usage_dated_after_now_is_spent_and_added_to_the_projection_as_it_is(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """QA: 1,000 tokens yesterday and 9,000 dated tomorrow (a clock ahead): `report month` used
    10,000 but `budget status` 1,000. Now both count 10,000; the run rate extrapolates only the
    1,000 up to now and the projection adds the 9,000 as they are.
    claude-sonnet-4-5 input $3 / 1M: 1,000 = $0.003, 9,000 = $0.027. Now 11-28 12:00Z: 27.5 of
    30 days elapsed.
    - the plan quota of 20,000 tokens: spent 10,000 = 50 %, ok; projected int(1,000 x 30 / 27.5) = int(1,090.9)
      = 1,090 + 9,000 = 10,090; the other 10,000 at 1,000 / 27.5 a day takes 275 days: no crossing.
    - $0.05: spent $0.030 = 60 %; projected 0.003 x 30 / 27.5 = 0.0032727 -> 0.003273 (to the
      micro-dollar) + 0.027 = $0.030273.
    As of a past now (clock=False, the PDF of a range): only the 1,000 up to now, as before."""
    events = [
        {"event_id": "past", "ts": "2026-11-27T12:00:00Z", "model_raw": "claude-sonnet-4-5", "input_tokens": 1000},
        {"event_id": "ahead", "ts": "2026-11-29T12:00:00Z", "model_raw": "claude-sonnet-4-5", "input_tokens": 9000},
    ]
    run("import", str(write_jsonl(tmp_path / "a.jsonl", events)), "--db", str(db_path))
    config = _config(tmp_path, '[plan]\nmonthly_token_quota = 20000\n[[budgets]]\nscope = "global"\namount = 0.05\n')
    ctx, at = make_context(None, db_path), datetime(2026, 11, 28, 12, tzinfo=UTC)
    tokens, money = budgets.budget_status(ctx, now=at, clock=True)
    assert (tokens.spent, tokens.percent, tokens.level, tokens.later) == (10000, 50, "ok", 9000)
    assert (tokens.projected, tokens.projected_cross_date) == (10090, None)
    assert (money.spent, money.percent, money.later, money.projected) == (
        Decimal("0.030"), 60, Decimal("0.027"), Decimal("0.030273")
    )  # fmt: skip
    as_of, _ = budgets.budget_status(ctx, now=at)  # a past moment: nothing after it
    assert (as_of.spent, as_of.later, as_of.projected) == (1000, 0, 1090)

    monkeypatch.setattr(budgets, "_clock", lambda: at)  # the commands: now is the clock
    doc = run_json("budget", "status", "--db", str(db_path), "--config", str(config))
    row = doc["rows"][0]
    assert (row["spent"], row["percent"], row["projected"], row["spent_after_now"]) == (10000, 50, 10090, 9000)
    assert any(
        n.startswith("Dated after now (a clock ahead?): plan quota 9,000 tokens, global (month) $0.03;")
        for n in doc["notes"]
    )
    (current,) = budgets.budget_history(ctx, "plan", periods=0).rows  # as budget status shows it
    assert (current["spent"], current["percent"], current["projected"]) == (10000, 50, 10090)
    # and under the same keys (QA: history called the spend "actual")
    assert {"limit", "spent", "percent", "level", "projected", "unpriced_requests"} <= set(current) & set(row)
    # the webhooks' budget alerts count the same spend: $0.030 of a $0.035 budget is 85 % (rounded
    # down), over the 75 % threshold; as of a past attempt (a rebuild) only the $0.003 up to then
    from usagectl.services import notify

    tight = _config(tmp_path, '[[budgets]]\nscope = "global"\namount = 0.035\n')
    ctx2 = make_context(tight, db_path)
    (alert,) = notify.collect_events(ctx2, {"budget.threshold"}, "UTC", at)
    assert (alert.data["spent"], alert.data["threshold"]) == (Decimal("0.030"), 75)
    assert notify.collect_events(ctx2, {"budget.threshold"}, "UTC", at, clock=False) == []


def test_two_budget_sets_at_once_keep_both_budgets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """QA: three ``budget set`` started together all said "added", and the config kept only the
    last writer's budget (each read the file before any wrote it). Here a second ``budget set``
    starts while the first has read the config and not yet written it: it waits for the first's
    edit, so the file ends with both budgets, alice $10 and bob $20 (without the wait, bob's
    write came first and alice's rename, from what she read, dropped it)."""
    import threading

    from usagectl.services import budget_config

    cfg = tmp_path / "usagectl.toml"
    cfg.write_text("# team budgets\n", encoding="utf-8")
    real = budget_config._read
    other: list[threading.Thread] = []
    failed: list[BaseException] = []

    def second() -> None:
        try:
            budget_config.set_budget(cfg, "member:bob", "20")
        except BaseException as exc:  # shown by the assertion below
            failed.append(exc)

    def reading(path: Path) -> dict[str, object]:
        data = real(path)
        if not other:
            other.append(threading.Thread(target=second))
            other[0].start()
            other[0].join(timeout=1.0)  # it waits for this edit now; it used to write meanwhile
        return data

    monkeypatch.setattr(budget_config, "_read", reading)
    budget_config.set_budget(cfg, "member:alice", "10")
    other[0].join(timeout=60)
    assert not failed and not other[0].is_alive()
    kept = tomllib.loads(cfg.read_text(encoding="utf-8"))["budgets"]
    assert sorted((b["scope"], b["amount"]) for b in kept) == [("member:alice", 10), ("member:bob", 20)]


def test_the_projected_share_is_rounded_down_in_json_and_csv_as_the_used_share_is(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """QA: budget status wrote projected_percent half-even: 999,960 of a 1,000,000-token quota,
    all of it dated later this month (so the projection is that spend, nothing to extrapolate):
    99.996 % was 100 in JSON and 100.00 in CSV while the webhook body said 99.99. Rounded down
    now, as the used share is: 99.99."""
    event = {"event_id": "F1", "ts": "2026-11-30T23:59:00Z", "model_raw": "gpt-4o", "input_tokens": 999_960}
    run("import", str(write_jsonl(tmp_path / "f.jsonl", [event])), "--db", str(db_path))
    _config(tmp_path, "[plan]\nmonthly_token_quota = 1_000_000\n")
    monkeypatch.setattr(budgets, "_clock", lambda: NOW)
    (row,) = run_json("budget", "status", "--db", str(db_path))["rows"]
    assert (row["projected"], Decimal(str(row["projected_percent"]))) == (999_960, Decimal("99.99"))
    csv_out = run("budget", "status", "--db", str(db_path), "--format", "csv").stdout
    (line,) = list(csv.DictReader(io.StringIO(csv_out)))
    assert line["projected_percent"] == "99.99"
