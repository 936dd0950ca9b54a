"""`report daily|weekly|monthly|hourly|compare` on a fixture worked out by hand.

Every priced event is gpt-4o input only: $2.50 per 1M tokens, so cost = tokens × 2.5 / 1e6
(400,000 tokens = $1.00). 1 November 2025 is a Saturday.

  2025-09-30 12:00Z   400,000  $1.00
  2025-10-31 12:00Z   800,000  $2.00   (the day before the daily range)
  d1  11-01 Sat 12:00Z 400,000  $1.00
  d2  11-02 Sun        480,000  $1.20
  d3  11-03 Mon        320,000  $0.80  + 5,000 tokens of mistral-large-2411 (unpriced)
  d4  11-04 Tue        400,000  $1.00  + 40,000 $0.10 at 23:30Z (08:30 on the 5th in Asia/Tokyo)
  d5  11-05 Wed        360,000  $0.90
  d6  11-06 Thu        400,000  $1.00
  d7  11-07 Fri      2,000,000  $5.00  <- the spike
  d8  11-08 Sat        640,000  $1.60  (above median + 3σ but under 2 × median: no spike)
  d9  11-09 Sun        400,000  $1.00
  d10 11-10 Mon        360,000  $0.90

Daily costs d1..d10: 1.00 1.20 0.80 1.10 0.90 1.00 5.00 1.60 1.00 0.90 (sum 14.50).
Sorted: 0.80 0.90 0.90 1.00 1.00 1.00 1.10 1.20 1.60 5.00 -> median 1.00.
|x − 1.00|: 0 .2 .2 .1 .1 0 4 .6 0 .1 -> sorted 0 0 0 .1 .1 .1 .2 .2 .6 4 -> MAD 0.10,
σ = 1.4826 × 0.10 = 0.14826; m + 3σ = 1.44478; 2m = 2.00: only d7 (5.00) is a spike.
Tokens (325,000 on d3) give median 400,000, MAD 40,000: the same verdicts.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import narrow_table, run, run_json, write_jsonl
from usagectl.config import default_db_path
from usagectl.errors import UsageError
from usagectl.services.compare import compare, parse_period, previous, year_ago
from usagectl.services.context import make_context
from usagectl.services.hourly import clock_change_notes, hourly, peak_window
from usagectl.services.reports import ReportRequest, daily
from usagectl.services.timeseries import periodic, spike_stats

NOW = datetime(2025, 11, 20, 12, 0, tzinfo=UTC)
DAYS = [("2025-11-01", 400000), ("2025-11-02", 480000), ("2025-11-03", 320000), ("2025-11-04", 400000),
        ("2025-11-05", 360000), ("2025-11-06", 400000), ("2025-11-07", 2000000), ("2025-11-08", 640000),
        ("2025-11-09", 400000), ("2025-11-10", 360000), ("2025-10-31", 800000), ("2025-09-30", 400000)]  # fmt: skip
EVENTS: list[dict[str, Any]] = [
    {"event_id": f"T{d}", "ts": f"{d}T12:00:00Z", "model_raw": "gpt-4o", "input_tokens": n, "member": "alice"}
    for d, n in DAYS
] + [
    {"event_id": "late", "ts": "2025-11-04T23:30:00Z", "model_raw": "gpt-4o", "input_tokens": 40000, "member": "bob"},
    {"event_id": "unpriced", "ts": "2025-11-03T12:00:00Z", "model_raw": "mistral-large-2411", "input_tokens": 5000,
     "member": "bob"},
]  # fmt: skip
COSTS = ["1.00", "1.20", "0.80", "1.10", "0.90", "1.00", "5.00", "1.60", "1.00", "0.90"]
RANGE = ("--since", "2025-11-01", "--until", "2025-11-10")


@pytest.fixture
def loaded(tmp_path: Path, db_path: Path) -> Path:
    (tmp_path / "work" / "usagectl.toml").write_text(
        '[display]\ntimezone = "UTC"\n\n[[budgets]]\nscope = "global"\namount = 20\nperiod = "month"\n',
        encoding="utf-8",
    )
    run("import", str(write_jsonl(tmp_path / "fixture.jsonl", EVENTS)), "--db", str(db_path))
    return db_path


def _req(**kw: Any) -> ReportRequest:
    return ReportRequest(now=NOW, **kw)


def test_daily_change_and_spikes(loaded: Path) -> None:
    rep = daily(make_context(None, loaded), _req(since="2025-11-01", until="2025-11-10"))
    assert [r["cost_usd"] for r in rep.rows] == [Decimal(c) for c in COSTS]
    first, second = rep.rows[0], rep.rows[1]
    # d1 vs 31 October (fetched with the range): 1.00 − 2.00 = −1.00, −50 %
    assert (first["cost_change_usd"], first["cost_change_pct"]) == (Decimal("-1.00"), Decimal("-50.00"))
    assert (first["tokens_change"], first["tokens_change_pct"]) == (-400_000, Decimal("-50.00"))
    # d2 vs d1: +0.20, +20 %; tokens 480,000 − 400,000
    assert (second["cost_change_usd"], second["cost_change_pct"]) == (Decimal("0.20"), Decimal("20.00"))
    assert second["tokens_change"] == 80_000
    assert [r["date"] for r in rep.rows if r["spike"]] == [date(2025, 11, 7)]
    ov = {k: v for k, _, v in rep.overview}
    assert ov["median_cost_usd"] == Decimal("1.00")
    assert ov["spike_above_cost_usd"] == Decimal("2.00")  # max(1.44478, 2 × 1.00)
    assert ov["median_tokens"] == 400_000
    assert rep.totals["cost_usd"] == Decimal("14.50")  # October is fetched, but not in the totals
    assert rep.totals["unpriced_requests"] == 1
    assert any("2025-11-07" in n and "Spikes" in n for n in rep.notes)


def test_daily_in_tokyo_moves_the_late_event(loaded: Path) -> None:
    rep = daily(make_context(None, loaded), _req(since="2025-11-01", until="2025-11-10", tz="Asia/Tokyo"))
    cost = {r["date"]: r["cost_usd"] for r in rep.rows}
    # 2025-11-04T23:30Z is 08:30 on the 5th in Tokyo; the 12:00Z events stay on their date (21:00)
    assert cost[date(2025, 11, 4)] == Decimal("1.00")
    assert cost[date(2025, 11, 5)] == Decimal("1.00")  # 0.90 + 0.10
    assert rep.rows[4]["cost_change_pct"] == Decimal("0.00")


def test_daily_json_keeps_its_keys(loaded: Path) -> None:
    out = run_json("report", "daily", *RANGE, "--db", str(loaded))
    row = out["rows"][6]
    assert row["date"] == "2025-11-07" and row["spike"] is True and row["cost_usd"] == 5.0
    for key in ("requests", "input_tokens", "cache_read_tokens", "output_tokens", "total_tokens", "cost_usd",
                "unpriced_requests", "cost_change_usd", "cost_change_pct", "tokens_change", "tokens_change_pct"):  # fmt: skip
        assert key in row
    assert out["rows"][0]["spike"] is False


def test_spike_rule_needs_twice_the_median() -> None:
    values = [Decimal(c) for c in COSTS]
    stats = spike_stats(values)
    assert stats is not None
    assert stats.median == Decimal("1.00") and stats.sigma == Decimal("0.148260")
    assert [v for v in values if stats.is_spike(v)] == [Decimal("5.00")]
    assert Decimal("1.60") > stats.median + 3 * stats.sigma  # above 1.44478 but under 2.00
    flat = spike_stats([Decimal(0)] * 5 + [Decimal(9)])
    assert flat is not None and not flat.is_spike(Decimal(9))  # median 0: no verdict


def test_weekly_with_week_start(loaded: Path) -> None:
    ctx = make_context(None, loaded)
    sun = periodic(ctx, _req(since="2025-11-01", until="2025-11-10"), "week", week_start="sunday")
    # Sun 26 Oct – Sat 1 Nov: 2.00 + 1.00; Sun 2 – Sat 8: 1.20+0.80+1.10+0.90+1.00+5.00+1.60; Sun 9 –: 1.00 + 0.90
    assert [(r["week"], r["cost_usd"]) for r in sun.rows] == [
        (date(2025, 10, 26), Decimal("3.00")),
        (date(2025, 11, 2), Decimal("11.60")),
        (date(2025, 11, 9), Decimal("1.90")),
    ]
    assert sun.filters["since"] == "2025-10-26" and sun.filters["until"] == "2025-11-15"  # widened to whole weeks
    # the week of Nov 2 holds the unpriced request of Nov 3: its cost (11.60) is a lower bound, so
    # no cost change to it or from it ("–", as report compare); its tokens still compare:
    # 480,000 + 320,000 + 5,000 + 400,000 + 40,000 + 360,000 + 400,000 + 2,000,000 + 640,000
    # = 4,645,000 against 800,000 + 400,000 = 1,200,000 the week before
    assert sun.rows[1]["cost_change_pct"] is None and sun.rows[1]["cost_change_usd"] is None
    assert sun.rows[2]["cost_change_pct"] is None
    assert sun.rows[1]["tokens_change"] == 4_645_000 - 1_200_000
    assert sun.rows[2]["tokens_change"] == 400_000 + 360_000 - 4_645_000
    assert sun.rows[0]["cost_change_pct"] is None  # the week before cost nothing
    # median 3.00, |dev| 0 8.60 1.10 -> MAD 1.10, σ 1.63086: 11.60 > 3 + 4.89258 and ≥ 6.00
    assert [r["spike"] for r in sun.rows] == [False, True, False]
    mon = periodic(ctx, _req(since="2025-11-01", until="2025-11-10"), "week", week_start="mon")
    # Mon 27 Oct – Sun 2 Nov: 2.00 + 1.00 + 1.20; Mon 3 – Sun 9: 11.40; Mon 10: 0.90
    assert [r["cost_usd"] for r in mon.rows] == [Decimal("4.20"), Decimal("11.40"), Decimal("0.90")]
    assert mon.rows[1]["cost_change_pct"] is None  # Mon 3 – Sun 9 holds the unpriced request
    # median 4.20, MAD 3.30, σ 4.89258: 11.40 < 4.20 + 14.67774: no spike
    assert not any(r["spike"] for r in mon.rows)
    assert mon.filters["week_start"] == "monday"


def test_weekly_cli_and_bad_week_start(loaded: Path) -> None:
    out = run_json("report", "weekly", *RANGE, "--week-start", "sunday", "--db", str(loaded))
    assert [r["week"] for r in out["rows"]] == ["2025-10-26", "2025-11-02", "2025-11-09"]
    assert "not a weekday" in run("report", "weekly", "--week-start", "funday", "--db", str(loaded), expect=2).stderr


def test_monthly_with_budget(loaded: Path) -> None:
    rep = periodic(make_context(None, loaded), _req(since="2025-10-01", until="2025-11-30"), "month")
    oct_, nov = rep.rows
    assert (oct_["month"], oct_["cost_usd"], nov["cost_usd"]) == ("2025-10", Decimal("2.00"), Decimal("14.50"))
    # October vs September (1.00, fetched with the range): +1.00, +100 %
    assert (oct_["cost_change_usd"], oct_["cost_change_pct"]) == (Decimal("1.00"), Decimal("100.00"))
    # November holds an unpriced request: its 14.50 is a lower bound, no change against October
    assert (nov["cost_change_usd"], nov["cost_change_pct"]) == (None, None)
    # the global monthly budget of $20: 14.50 / 20 = 72.5 %, 5.50 left; October 10 %, 18.00 left
    assert (nov["budget_usd"], nov["budget_used_pct"], nov["budget_remaining_usd"]) == (
        Decimal(20),
        Decimal("72.50"),
        Decimal("5.50"),
    )
    assert (oct_["budget_used_pct"], oct_["budget_remaining_usd"]) == (Decimal("10.00"), Decimal("18.00"))
    assert any("global monthly budget of $20.00 in the config" in n for n in rep.notes)  # not "$20"
    team = periodic(
        make_context(None, loaded), _req(since="2025-10-01", until="2025-11-30", where={"member": ("bob",)}), "month"
    )
    assert "budget_usd" not in team.rows[0]  # no member:bob budget


def test_monthly_budget_used_is_shown_rounded_down(tmp_path: Path, loaded: Path) -> None:
    """November costs $14.50; a $14.503 budget is 14.50 × 100 / 14.503 = 99.97931... % used: the
    table shows 99.9 % (rounded down like every budget percentage; half-up would read an exhausted
    100.0 %), JSON keeps 2 decimals, rounded down too: 99.97."""
    (tmp_path / "work" / "usagectl.toml").write_text(
        '[display]\ntimezone = "UTC"\n\n[[budgets]]\nscope = "global"\namount = 14.503\nperiod = "month"\n',
        encoding="utf-8",
    )
    args = ("report", "monthly", "--since", "2025-11-01", "--until", "2025-11-10", "--db", str(loaded))
    out = run(*args, "--format", "markdown").stdout
    assert "| 99.9% |" in out and "100.0%" not in out
    assert run_json(*args)["rows"][0]["budget_used_pct"] == 99.97


def test_monthly_cli_without_budget(tmp_path: Path, loaded: Path) -> None:
    (tmp_path / "work" / "usagectl.toml").write_text('[display]\ntimezone = "UTC"\n', encoding="utf-8")
    out = run_json("report", "monthly", "--since", "2025-11-01", "--until", "2025-11-10", "--db", str(loaded))
    assert [r["month"] for r in out["rows"]] == ["2025-11"]
    assert "budget_usd" not in out["rows"][0]
    assert out["filters"]["until"] == "2025-11-30"


def test_hourly_heat_map(loaded: Path) -> None:
    rep = hourly(make_context(None, loaded), _req(since="2025-11-01", until="2025-11-10"), week_start="monday")
    assert [c.key for c in rep.columns] == ["hour", "mon", "tue", "wed", "thu", "fri", "sat", "sun", "total"]
    noon, late = rep.rows[12], rep.rows[23]
    # Sat: d1 + d8 = 400,000 + 640,000; Sun: 480,000 + 400,000; Mon: 320,000 + 5,000 + 360,000
    assert (noon["sat"], noon["sun"], noon["mon"], noon["fri"]) == (1_040_000, 880_000, 685_000, 2_000_000)
    assert (late["tue"], late["total"]) == (40_000, 40_000)
    assert noon["total"] == 5_765_000  # 5,805,000 − 40,000
    assert rep.totals["total"] == rep.totals["total_tokens"] == 5_805_000
    assert rep.totals["sat"] == 1_040_000
    ov = {k: v for k, _, v in rep.overview}
    assert ov["busiest_hours"] == "12:00 (99.3%), 23:00 (0.7%)"  # 5,765,000 / 5,805,000 = 99.31 %
    assert ov["busiest_days"] == "Fri (34.5%), Sat (17.9%), Sun (15.2%)"  # 2,000,000 / 5,805,000 = 34.45 %
    assert ov["peak_periods"].startswith("Fri 12:00–13:00 (34.5%), Sat 12:00–13:00")
    assert ov["peak_window"] == "12:00–13:00 (1 h, 99.3%)"
    weekdays = {r["weekday"]: r for r in rep.sections[0].rows}
    assert weekdays["Saturday"]["days"] == 2 and weekdays["Friday"]["days"] == 1  # 1–10 Nov: two Sat, Sun, Mon
    assert weekdays["Saturday"]["per_day"] == Decimal("520000.00")
    assert any("compare weekdays by their average" in n for n in rep.notes)


def test_hourly_weekdays_count_only_days_that_have_begun_and_exist(loaded: Path, db_path: Path) -> None:
    """Per-day averages divide by the days of each weekday that have begun (NOW: Thu 2025-11-20)
    and that the zone has: a range through Nov 30 holds five Sundays, but only 2, 9 and 16 have
    begun (QA finding: 5, so Sunday's 880,000 averaged 176,000 instead of 293,333.33)."""
    rep = hourly(make_context(None, loaded), _req(since="2025-11-01", until="2025-11-30"), week_start="monday")
    weekdays = {r["weekday"]: r for r in rep.sections[0].rows}
    # Nov 1–20: Sat 1, 8, 15; Sun 2, 9, 16; Thu 6, 13, 20; Fri 7, 14
    assert [weekdays[d]["days"] for d in ("Saturday", "Sunday", "Thursday", "Friday")] == [3, 3, 3, 2]
    assert weekdays["Sunday"]["per_day"] == Decimal("293333.33")  # 880,000 / 3
    # Pacific/Apia skipped Friday 2011-12-30 (from -10:00 to +14:00): that range holds no Friday
    rep = hourly(make_context(None, loaded), ReportRequest(now=NOW, since="2011-12-28", until="2012-01-02",
                                                          tz="Pacific/Apia"))  # fmt: skip
    weekdays = {r["weekday"]: r for r in rep.sections[0].rows}
    assert weekdays["Friday"]["days"] == 0 and weekdays["Thursday"]["days"] == 1
    assert weekdays["Friday"]["per_day"] is None


def test_hourly_cost_in_tokyo(loaded: Path) -> None:
    rep = hourly(make_context(None, loaded), _req(since="2025-11-01", until="2025-11-10", tz="Asia/Tokyo"),
                 metric="cost", week_start="sunday")  # fmt: skip
    assert [c.key for c in rep.columns][1:3] == ["sun", "mon"]
    assert rep.rows[21]["fri"] == Decimal("5.00")  # 12:00Z is 21:00 in Tokyo
    assert rep.rows[21]["mon"] == Decimal("1.70")  # 0.80 + 0.90; the unpriced mistral adds no cost
    assert rep.rows[8]["wed"] == Decimal("0.10")  # Tue 23:30Z = Wed 08:30 in Tokyo
    assert rep.totals["total"] == Decimal("14.50")


def test_hourly_names_the_hour_a_clock_change_repeats(tmp_path: Path, db_path: Path) -> None:
    """QA: New York's clocks go back at 02:00 EDT (06:00Z) on Sunday 2026-11-01, to 01:00 EST, so
    05:30Z (01:30 EDT) and 06:30Z (01:30 EST) both fall in the Sun 01:00 cell, which the overview
    called the busiest hour with no word that it lasted two hours. The numbers stay as counted:
    hour 0 = 700 (04:30Z = 00:30 EDT), hour 1 = 300 + 500 = 800, busiest 800 / 1,500 = 53.3 %;
    a note (table and JSON) names the repeated hour."""
    events = [
        {"event_id": "edt", "ts": "2026-11-01T05:30:00Z", "model_raw": "gpt-4o", "input_tokens": 300},
        {"event_id": "est", "ts": "2026-11-01T06:30:00Z", "model_raw": "gpt-4o", "input_tokens": 500},
        {"event_id": "mid", "ts": "2026-11-01T04:30:00Z", "model_raw": "gpt-4o", "input_tokens": 700},
    ]
    run("import", str(write_jsonl(tmp_path / "h.jsonl", events)), "--db", str(db_path))
    req = ReportRequest(now=datetime(2026, 11, 28, tzinfo=UTC), since="2026-11-01", until="2026-11-01",
                        tz="America/New_York")  # fmt: skip
    rep = hourly(make_context(None, db_path), req, week_start="monday")
    assert (rep.rows[0]["sun"], rep.rows[1]["sun"], rep.rows[2]["sun"]) == (700, 800, 0)
    assert dict((k, v) for k, _, v in rep.overview)["busiest_hours"] == "01:00 (53.3%), 00:00 (46.7%)"
    note = (
        "On Sun 2026-11-01 the clocks in America/New_York went back from 02:00 EDT to 01:00 EST: 01:00–02:00 came "
        "twice. The heat map counts clock hours, so that day its 01:00 hour holds the usage of two real hours; the "
        "busiest hours, peak periods and peak window rank clock hours too."
    )
    assert note in rep.notes
    out = run_json("report", "hourly", "--since", "2026-11-01", "--until", "2026-11-01", "--tz", "America/New_York",
                   "--db", str(db_path))  # fmt: skip
    assert note in out["notes"] and out["rows"][1]["sun"] == 800
    # a range without a change in the zone has no such note
    utc = hourly(make_context(None, db_path), ReportRequest(now=req.now, since="2026-11-01", until="2026-11-01"))
    assert not [n for n in utc.notes if "clocks" in n]


def test_clock_change_notes_skipped_half_hours_and_many_changes() -> None:
    """By hand from the zone rules. New York goes forward on Sun 2026-03-08 at 02:00 EST (07:00Z) to
    03:00 EDT: 02:00–03:00 never happened, so the 02:00 hour holds nothing that day. Lord Howe
    goes back at 02:00 +11 (2026-04-04 15:00Z) to 01:30 +1030: 01:30–02:00 came twice, so the
    01:00 hour lasted 60 + 30 = 90 minutes. Pacific/Apia skipped the whole of Fri 2011-12-30
    (-10 to +14): all 24 hours of that day hold nothing. Berlin in 2025–2026: 4 changes,
    2025-03-30, 2025-10-26, 2026-03-29, 2026-10-25: one note for them all. Kathmandu: none."""
    ny = clock_change_notes("America/New_York", _utc(2026, 3, 8, 5), _utc(2026, 3, 9, 4))
    assert ny == [
        "On Sun 2026-03-08 the clocks in America/New_York went forward from 02:00 EST to 03:00 EDT: 02:00–03:00 did "
        "not happen. The heat map counts clock hours, so that day its 02:00 hour holds no usage; the busiest hours, "
        "peak periods and peak window rank clock hours too."
    ]
    (lord_howe,) = clock_change_notes("Australia/Lord_Howe", _utc(2026, 4, 4, 13), _utc(2026, 4, 5, 13, 30))
    assert lord_howe.startswith(
        "On Sun 2026-04-05 the clocks in Australia/Lord_Howe went back from 02:00 +11 to 01:30 +1030: 01:30–02:00 "
        "came twice. The heat map counts clock hours, so that day its 01:00 hour holds the usage of 1 h 30 min;"
    )
    (apia,) = clock_change_notes("Pacific/Apia", _utc(2011, 12, 28, 10), _utc(2012, 1, 2, 10))
    assert "Fri 2011-12-30" in apia and "2011-12-30 00:00–2011-12-31 00:00 did not happen" in apia
    assert "its hours 00:00 to 23:00 each hold no usage" in apia
    (berlin,) = clock_change_notes("Europe/Berlin", _utc(2024, 12, 31, 23), _utc(2026, 12, 31, 23))
    assert berlin.startswith("The clocks in Europe/Berlin changed 4 times in the range, 2025-03-30 to 2026-10-25")
    assert clock_change_notes("Asia/Kathmandu", _utc(2025, 12, 31, 18, 15), _utc(2026, 12, 31, 18, 15)) == []


def _utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_hourly_cost_totals_over_unpriced_usage_are_never_zero(tmp_path: Path, db_path: Path) -> None:
    """QA: the cell of an hour whose only usage is unpriced said "unpriced" but its hour's Total,
    its weekday's Total and the weekday's "Per day" said $0.00. November 2026 (Sunday the 1st):

    e1 Tue 11-10 10:00Z claude-sonnet-4-5 40,000 out x $15/M = 0.60
    e6 Fri 11-13 05:00Z mystery-1 1,000 in: unpriced

    Hour 5: Fri unpriced, so its Total is unpriced (None); Friday's Total too, and its per day.
    Hour 10 and Tuesday: 0.60; Tuesdays 3, 10, 17, 24 -> 0.60 / 4 = 0.15 per day. The whole
    range: 0.60, a lower bound beside 1 unpriced request."""
    events = [
        {"event_id": "e1", "ts": "2026-11-10T10:00:00Z", "model_raw": "claude-sonnet-4-5", "output_tokens": 40000},
        {"event_id": "e6", "ts": "2026-11-13T05:00:00Z", "model_raw": "mystery-1", "input_tokens": 1000},
    ]
    run("import", str(write_jsonl(tmp_path / "h.jsonl", events)), "--db", str(db_path))
    ctx = make_context(None, db_path)
    now = datetime(2026, 11, 30, tzinfo=UTC)
    req = ReportRequest(now=now, since="2026-11-01", until="2026-11-28", tz="UTC")
    rep = hourly(ctx, req, metric="cost", week_start="monday")
    five, ten = rep.rows[5], rep.rows[10]
    assert (five["fri"], five["total"], five["unpriced_requests"], five["mon"]) == (None, None, 1, Decimal(0))
    assert (ten["tue"], ten["total"], ten["unpriced_requests"]) == (Decimal("0.60"), Decimal("0.60"), 0)
    t = rep.totals
    assert (t["fri"], t["tue"], t["mon"], t["total"]) == (None, Decimal("0.60"), Decimal(0), Decimal("0.60"))
    assert t["unpriced_requests"] == 1
    weekdays = {r["weekday"]: r for r in rep.sections[0].rows}
    assert (weekdays["Friday"]["cost_usd"], weekdays["Friday"]["per_day"]) == (None, None)
    assert weekdays["Friday"]["unpriced_requests"] == 1
    assert weekdays["Tuesday"]["per_day"] == Decimal("0.15")
    assert any("lower bound" in n for n in rep.notes)
    out = run_json("report", "hourly", "--metric", "cost", "--since", "2026-11-01", "--until", "2026-11-28",
                   "--db", str(db_path))  # fmt: skip
    assert (out["totals"]["fri"], out["totals"]["total"], out["rows"][5]["total"]) == (None, 0.6, None)
    # only the unpriced day: nothing is priced, so the whole range is unpriced, not $0
    only = hourly(ctx, ReportRequest(now=now, since="2026-11-13", until="2026-11-13", tz="UTC"), metric="cost")
    assert only.totals["total"] is None and only.rows[5]["total"] is None
    assert dict((k, v) for k, _, v in only.overview)["busiest_hours"] == "no priced usage in the range"
    # tokens are never unpriced: the token map has no Unpriced column
    tokens = hourly(ctx, req, week_start="monday")
    assert (tokens.rows[5]["fri"], tokens.rows[5]["total"], tokens.totals["total"]) == (1000, 1000, 41000)
    assert "unpriced_requests" not in [c.key for c in tokens.columns]


def test_peak_window_wraps_midnight() -> None:
    hours = [0] * 24
    hours[23], hours[0], hours[1] = 5, 5, 1
    assert peak_window(hours) == (23, 2, 10)  # 23:00–01:00 holds 10 of 11
    assert peak_window([0] * 24) is None


def test_period_forms() -> None:
    assert (parse_period("2025-W45").since, parse_period("2025-W45").until) == (date(2025, 11, 3), date(2025, 11, 9))
    assert parse_period("2024-02").until == date(2024, 2, 29)
    assert parse_period("2025-Q4").since == date(2025, 10, 1)
    assert previous(parse_period("2025-01")).label == "2024-12"
    assert previous(parse_period("2025-W01")).label == "2024-W52"
    r = parse_period("2025-11-01..2025-11-05")
    assert (previous(r).since, previous(r).until) == (date(2025, 10, 27), date(2025, 10, 31))
    assert year_ago(parse_period("2024-02-29")).since == date(2023, 2, 28)
    assert year_ago(parse_period("2020-W53")).label == "2019-W52"  # 2019 has 52 ISO weeks
    for bad in ("2025-13", "2025-W54", "soon", "2025-11-05..2025-11-01"):
        with pytest.raises(UsageError):
            parse_period(bad)


def test_compare_months_by_model(loaded: Path) -> None:
    rep = compare(make_context(None, loaded), _req(), "2025-11", None)  # --vs defaults to the month before
    assert rep.filters["vs"] == "2025-10"
    gpt, mistral = rep.rows
    assert (gpt["model"], gpt["cost_usd_a"], gpt["cost_usd_b"]) == ("gpt-4o", Decimal("14.50"), Decimal("2.00"))
    assert (gpt["cost_usd_change"], gpt["cost_usd_change_pct"]) == (Decimal("12.50"), Decimal("625.00"))
    assert (gpt["total_tokens_a"], gpt["total_tokens_b"]) == (5_800_000, 800_000)
    assert (mistral["total_tokens_change"], mistral["total_tokens_change_pct"]) == (5_000, None)  # B had none
    assert mistral["cost_usd_a"] is None  # unpriced: no cost, never $0
    assert rep.totals["total_tokens_a"] == 5_805_000
    # the mistral request in A is unpriced: as in its row, the totals have no cost change
    assert (rep.totals["cost_usd_a"], rep.totals["cost_usd_b"]) == (Decimal("14.50"), Decimal("2.00"))
    assert (rep.totals["cost_usd_change"], rep.totals["cost_usd_change_pct"]) == (None, None)


def test_compare_weeks_ranges_and_tz(loaded: Path) -> None:
    ctx = make_context(None, loaded)
    weeks = compare(ctx, _req(), "2025-W45", "2025-W44", by="member")
    # W45 = Mon 3 – Sun 9 Nov: 11.40 (alice 11.30, bob 0.10); W44 = 27 Oct – 2 Nov: 4.20 (alice)
    assert (weeks.totals["cost_usd_a"], weeks.totals["cost_usd_b"]) == (Decimal("11.40"), Decimal("4.20"))
    # bob's mistral request (11-03, in W45) has no price: the totals withhold the change (it would
    # be 7.20 / 4.20 = 171.43 %); alice's row has none: (11.30 - 4.20) / 4.20 = 169.05 %
    assert (weeks.totals["cost_usd_change"], weeks.totals["cost_usd_change_pct"]) == (None, None)
    assert weeks.rows[0]["cost_usd_change_pct"] == Decimal("169.05")
    assert [(r["member"], r["cost_usd_a"]) for r in weeks.rows] == [
        ("alice", Decimal("11.30")),
        ("bob", Decimal("0.10")),
    ]
    span = compare(ctx, _req(), "2025-11-01..2025-11-05", "previous")
    # 1.00 + 1.20 + 0.80 + 1.10 + 0.90 vs 27–31 October: 2.00
    assert (span.totals["cost_usd_a"], span.totals["cost_usd_b"]) == (Decimal("5.00"), Decimal("2.00"))
    assert span.totals["cost_usd_change_pct"] is None  # holds the unpriced 11-03 request (else 150 %)
    tokyo = compare(ctx, _req(tz="Asia/Tokyo"), "2025-11-04", "2025-11-05")
    assert (tokyo.totals["cost_usd_a"], tokyo.totals["cost_usd_b"]) == (Decimal("1.00"), Decimal("1.00"))
    utc = compare(ctx, _req(), "2025-11-04", "2025-11-05")
    assert (utc.totals["cost_usd_a"], utc.totals["cost_usd_b"]) == (Decimal("1.10"), Decimal("0.90"))
    yoy = compare(ctx, _req(), "2025", "year-ago")
    # 14.50 + 2.00 + 1.00 vs 2024, which has no events: $0 (not unpriced)
    assert (yoy.totals["cost_usd_a"], yoy.totals["cost_usd_b"]) == (Decimal("17.50"), Decimal(0))
    assert yoy.rows[0]["cost_usd_b"] == Decimal(0) and yoy.rows[1]["cost_usd_b"] == Decimal(0)


def test_compare_cli(loaded: Path) -> None:
    out = run_json("report", "compare", "--period", "2025-11", "--vs", "2025-10", "--by", "member", "--db", str(loaded))
    assert out["report"] == "compare"
    assert {r["member"]: r["cost_usd_a"] for r in out["rows"]} == {"alice": 14.4, "bob": 0.1}
    assert out["overview"]["cost_change_pct"] is None  # 2025-11 holds an unpriced request
    clean = run_json("report", "compare", "--period", "2025-11", "--vs", "2025-10", "--model", "gpt-4o",
                     "--db", str(loaded))  # fmt: skip
    assert clean["overview"]["cost_change_pct"] == 625.0  # (14.50 - 2.00) / 2.00
    assert "unknown dimension" in run("report", "compare", "--period", "2025-11", "--by", "colour",
                                      "--db", str(loaded), expect=2).stderr  # fmt: skip
    err = run("report", "compare", "--period", "7d", "--db", str(loaded), expect=2).stderr
    assert "not a range" in err and "30d..1d" in err  # the relative form the README shows (QA: not listed)


def test_compare_rows_mark_unpriced_usage(tmp_path: Path, db_path: Path) -> None:
    """gpt-4o $2.50 in / $10 out per 1M; mystery-x has no price. 2025-11 (A) vs 2025-10 (B):
    x:  A mystery-x 1,000 in + 100 out (unpriced) and a gpt-4o request of 0 tokens ($0): every
        token unpriced -> cost None, not $0.00; 1 unpriced request; no cost change.
    y:  A gpt-4o 1M in = $2.50 and mystery-x 500 in (unpriced); B gpt-4o 1M in = $2.50: the
        priced part is $2.50 on both sides, but the change is unknown (None), not $0.
    w:  A gpt-4o 1M out = $10.00; B 1M in = $2.50: change $7.50, 7.50 / 2.50 = 300 %."""
    ev = [
        ("x1", "2025-11-03", "x", "mystery-x", 1000, 100), ("x2", "2025-11-03", "x", "gpt-4o", 0, 0),
        ("y1", "2025-11-04", "y", "gpt-4o", 1_000_000, 0), ("y2", "2025-11-04", "y", "mystery-x", 500, 0),
        ("y3", "2025-10-04", "y", "gpt-4o", 1_000_000, 0),
        ("w1", "2025-11-05", "w", "gpt-4o", 0, 1_000_000), ("w2", "2025-10-05", "w", "gpt-4o", 1_000_000, 0),
    ]  # fmt: skip
    events = [{"event_id": i, "ts": f"{d}T10:00:00Z", "member": m, "model_raw": mo, "input_tokens": inp,
               "output_tokens": out} for i, d, m, mo, inp, out in ev]  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "u.jsonl", events)), "--db", str(db_path))
    rep = compare(make_context(None, db_path), _req(tz="UTC"), "2025-11", "2025-10", by="member")
    rows = {r["member"]: r for r in rep.rows}
    x, y, w = rows["x"], rows["y"], rows["w"]
    assert (x["cost_usd_a"], x["cost_usd_b"], x["cost_usd_change"]) == (None, Decimal(0), None)
    assert (x["unpriced_requests_a"], x["unpriced_requests_b"]) == (1, 0)
    assert (y["cost_usd_a"], y["cost_usd_b"]) == (Decimal("2.50"), Decimal("2.50"))
    assert (y["cost_usd_change"], y["cost_usd_change_pct"]) == (None, None)
    assert (y["unpriced_requests_a"], y["unpriced_requests_b"]) == (1, 0)
    assert (w["cost_usd_change"], w["cost_usd_change_pct"]) == (Decimal("7.50"), Decimal("300.00"))
    assert (w["unpriced_requests_a"], w["unpriced_requests_b"]) == (0, 0)
    csv = run("report", "compare", "--period", "2025-11", "--vs", "2025-10", "--by", "member", "--tz", "UTC",
              "--format", "csv", "--db", str(db_path)).stdout.splitlines()  # fmt: skip
    assert csv[0].endswith(",unpriced_requests_a,unpriced_requests_b")
    text = run("report", "compare", "--period", "2025-11", "--vs", "2025-10", "--by", "member",
               "--tz", "UTC", "--db", str(db_path)).stdout  # fmt: skip
    cells = {line.split()[0]: line.split()[5:] for line in text.splitlines() if line[:2] in ("x ", "y ", "w ")}
    # Cost A, Cost B, Δ Cost, Δ Cost %, Unpriced A (B has no unpriced usage: no column)
    assert cells == {
        "w": ["$10.00", "$2.50", "$7.50", "300.0%", "0"],
        "y": ["$2.50", "$2.50", "–", "–", "1"],
        "x": ["unpriced", "$0.00", "–", "–", "1"],
    }
    assert any("no cost change" in n for n in rep.notes)
    # totals: A 2.50 + 10.00 (+ x2's $0) = 12.50, B 2.50 + 2.50 = 5.00; A holds 2 unpriced
    # requests (x1, y2), so the totals withhold the change as the rows x and y do
    t = rep.totals
    assert (t["cost_usd_a"], t["cost_usd_b"], t["unpriced_requests_a"]) == (Decimal("12.50"), Decimal("5.00"), 2)
    assert (t["cost_usd_change"], t["cost_usd_change_pct"]) == (None, None)
    total_line = next(line for line in text.splitlines() if line.startswith("Total")).split()
    assert total_line[5:] == ["$12.50", "$5.00", "–", "–", "2"]


def test_compare_totals_follow_the_rows_rule_for_unpriced_usage(tmp_path: Path, db_path: Path) -> None:
    """Team data: gpt-4o 10,000 in + 1,000 out in 2026-10 = 0.025 + 0.01 = $0.035, 20,000 in +
    2,000 out in 2026-11 = 0.05 + 0.02 = $0.07, plus a mistral-large-2411 request (no price) in
    2026-11. The only row withholds the cost change, and so do the totals; without the unknown
    model (--model gpt-4o) the change is 0.07 - 0.035 = $0.035, 0.035 / 0.035 = 100 %."""
    events = [
        {"event_id": "c1", "ts": "2026-10-10T12:00:00Z", "model_raw": "gpt-4o", "input_tokens": 10000,
         "output_tokens": 1000, "team": "data"},
        {"event_id": "c2", "ts": "2026-11-10T12:00:00Z", "model_raw": "gpt-4o", "input_tokens": 20000,
         "output_tokens": 2000, "team": "data"},
        {"event_id": "c3", "ts": "2026-11-10T13:00:00Z", "model_raw": "mistral-large-2411", "input_tokens": 5000,
         "output_tokens": 500, "team": "data"},
    ]  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "c.jsonl", events)), "--db", str(db_path))
    args = ("report", "compare", "--period", "2026-11", "--by", "team", "--tz", "UTC", "--db", str(db_path))
    out = run_json(*args)
    (row,) = out["rows"]
    t = out["totals"]
    for part in (row, t):
        assert (part["cost_usd_a"], part["cost_usd_b"]) == (0.07, 0.035)
        assert (part["cost_usd_change"], part["cost_usd_change_pct"], part["unpriced_requests_a"]) == (None, None, 1)
        assert (part["total_tokens_change"], part["total_tokens_change_pct"]) == (16500, 150)  # 27,500 - 11,000
    assert (out["overview"]["cost_change_usd"], out["overview"]["cost_change_pct"]) == (None, None)
    total_line = next(line for line in run(*args).stdout.splitlines() if line.startswith("Total")).split()
    assert total_line[5:] == ["$0.07", "$0.04", "–", "–", "1"]  # Cost A, Cost B, Δ Cost, Δ Cost %, Unpriced A
    clean = run_json(*args, "--model", "gpt-4o")["totals"]
    assert (clean["cost_usd_change"], clean["cost_usd_change_pct"]) == (0.035, 100)


def test_compare_per_day_cost_of_an_all_unpriced_period_is_unpriced_never_0(tmp_path: Path, db_path: Path) -> None:
    """QA: a day whose only usage has no price: "Cost unpriced" beside "Cost per day $0.00". The
    other side (the day before, gpt-4o 10,000 in = $0.025) keeps its cost per day."""
    events = [
        {"event_id": "u1", "ts": "2025-11-03T10:00:00Z", "model_raw": "claude-foo-9", "input_tokens": 500},
        {"event_id": "p1", "ts": "2025-11-02T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 10000},
    ]
    run("import", str(write_jsonl(tmp_path / "u.jsonl", events)), "--db", str(db_path))
    args = ("report", "compare", "--period", "2025-11-03", "--tz", "UTC", "--db", str(db_path))
    ov = run_json(*args)["overview"]
    assert (ov["cost_usd_a"], ov["daily_cost_usd_a"]) == (None, None)
    assert (ov["cost_usd_b"], ov["daily_cost_usd_b"]) == (0.025, 0.025)
    assert "Cost per day 2025-11-03  unpriced" in run(*args).stdout  # the overview's second column


@pytest.mark.parametrize("cmd", ["daily", "weekly", "monthly", "hourly"])
@pytest.mark.parametrize("fmt", ["table", "csv", "markdown"])
def test_formats_render(loaded: Path, cmd: str, fmt: str) -> None:
    out = run("report", cmd, *RANGE, "--format", fmt, "--db", str(loaded)).stdout
    assert out.strip()


def test_spike_thresholds_without_a_median_read_not_applicable(tmp_path: Path, db_path: Path) -> None:
    """Days mostly without usage (median 0): there is no spike threshold. The table says "–" (not
    applicable), not "unpriced", which a missing amount of money means elsewhere; JSON gives null."""
    run("import", str(write_jsonl(tmp_path / "one.jsonl", EVENTS[:1])), "--db", str(db_path))
    rng = ("--since", "2025-11-01", "--until", "2025-11-10", "--tz", "UTC", "--db", str(db_path))
    table = " ".join(run("report", "daily", *rng).stdout.split())
    assert "Spike: cost above – " in table and "Spike: tokens above – " in table
    assert "unpriced" not in table.split("Date")[0]  # the overview, above the table
    ov = run_json("report", "daily", *rng)["overview"]
    assert ov["spike_above_cost_usd"] is None and ov["spike_above_tokens"] is None


def test_a_range_without_usage_costs_zero_and_an_empty_database_says_so(tmp_path: Path, db_path: Path) -> None:
    """No events in the range: the total cost is $0.00 (nothing was used), not "unpriced". A
    database without any event (a first run, at the default path) adds a note naming it; one
    with events elsewhere in time does not; a mistyped --db is refused (exit 4), not created."""
    run("import", str(write_jsonl(tmp_path / "one.jsonl", EVENTS[:1])), "--db", str(db_path))
    later = ("--since", "2026-01-01", "--until", "2026-01-05", "--tz", "UTC")
    doc = run_json("report", "daily", *later, "--db", str(db_path))
    assert doc["totals"]["requests"] == 0 and Decimal(str(doc["totals"]["cost_usd"])) == 0
    table = run("report", "daily", *later, "--db", str(db_path)).stdout
    assert "unpriced" not in table and "holds no events" not in table
    fresh = default_db_path()
    for cmd in (("daily",), ("month",), ("by", "model"), ("hourly",)):
        out = "".join(run("report", *cmd).stdout.split())  # the path may wrap anywhere
        assert "".join(f"The database {fresh} holds no events yet: import logs".split()) in out, cmd
    mistyped = tmp_path / "mistyped" / "usage.duckdb"
    assert "no database at" in run("report", "daily", "--db", str(mistyped), expect=4).stderr
    assert not mistyped.parent.exists()


def test_a_narrow_daily_table_leaves_out_the_tokens_change_before_folding_headers(
    tmp_path: Path, db_path: Path
) -> None:
    """Four-figure costs, a fall to nothing and an unpriced request at 80 columns: "Δ Tokens %"
    goes (a note says so) and every other header word stays whole ("Unpriced", not "Unprice /
    d"). By hand: 2026-03-02 gpt-4o 500M input = $1,250.00, 2026-03-03 600M = $1,500.00: Δ cost
    +$250.00, +20.0 %; 2026-03-04 nothing: -$1,500.00, -100.0 %; 2026-03-05 one
    mistral-large-2411 request (no price): no cost change ("–")."""
    events = [
        {"event_id": "N1", "ts": "2026-03-02T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 500_000_000},
        {"event_id": "N2", "ts": "2026-03-03T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 600_000_000},
        {"event_id": "N3", "ts": "2026-03-05T11:00:00Z", "model_raw": "mistral-large-2411", "provider": "mistral",
         "input_tokens": 1000},
    ]  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "n.jsonl", events)), "--db", str(db_path))
    text = run("report", "daily", "--since", "2026-03-02", "--until", "2026-03-05", "--tz", "UTC",
               "--db", str(db_path)).stdout  # fmt: skip
    words, note = narrow_table(text)
    assert {"Unpriced", "$1,250.00", "$1,500.00", "$250.00", "20.0%", "-$1,500.00", "-100.0%"} <= words
    assert not {"Unprice", "Unpric", "Tokens"} & words
    assert note.startswith("Δ Tokens % (a wider terminal")


def test_a_narrow_compare_table_drops_the_token_change_before_folding_models(tmp_path: Path, db_path: Path) -> None:
    """Four-figure costs against the month before at 80 columns: the absolute token change
    goes (named in a note), model names stay whole, the cost change stays.
    By hand: claude-sonnet-4-5, one request of 500M input in 2026-03, over 200k input so at the
    long-context $6 / 1M = $3,000.00, against 100M in 2026-02 = $600.00: Δ +$2,400.00, +400.0 %;
    mistral-large-2411 has no price."""
    events = [
        {"event_id": "M1", "ts": "2026-02-10T10:00:00Z", "model_raw": "claude-sonnet-4-5", "input_tokens": 100_000_000},
        {"event_id": "M2", "ts": "2026-03-10T10:00:00Z", "model_raw": "claude-sonnet-4-5", "input_tokens": 500_000_000},
        {"event_id": "M3", "ts": "2026-03-11T10:00:00Z", "model_raw": "mistral-large-2411", "provider": "mistral",
         "input_tokens": 1000},
    ]  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "m.jsonl", events)), "--db", str(db_path))
    text = run("report", "compare", "--period", "2026-03", "--tz", "UTC", "--db", str(db_path)).stdout
    words, note = narrow_table(text)
    assert {"claude-sonnet-4-5", "mistral-large-2411", "$3,000.00", "$600.00", "$2,400.00", "400.0%"} <= words
    # the Unpriced 2026-03 column (mistral) takes the room of the token change in %; the
    # Provider column goes first (each model has one provider here: it names nothing new)
    assert note.startswith("Provider, Δ Tokens, Δ Tokens % (a wider terminal")


def test_compare_by_model_keeps_a_model_of_two_providers_apart_as_report_by_model(
    tmp_path: Path, db_path: Path
) -> None:
    """claude-sonnet-4-5 ($15 / 1M output) direct from anthropic (11-10: 1,000 out = $0.015) and
    on bedrock (11-10: 1,000 out = $0.015; 10-10: 3,000 out = $0.045). `report by model` has a
    row for each provider; compare merged them into one (2,000 vs 3,000), so the two reports
    disagreed. Now: bedrock 1,000 vs 3,000 (-$0.03), anthropic 1,000 vs 0 (+$0.015), the Provider
    column kept at 80 columns."""
    events = [
        {"event_id": "a", "ts": "2026-11-10T10:00:00Z", "provider": "anthropic", "model_raw": "claude-sonnet-4-5",
         "output_tokens": 1000},
        {"event_id": "b", "ts": "2026-11-10T10:00:00Z", "provider": "bedrock",
         "model_raw": "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "output_tokens": 1000},
        {"event_id": "c", "ts": "2026-10-10T10:00:00Z", "provider": "bedrock",
         "model_raw": "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "output_tokens": 3000},
    ]  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "p.jsonl", events)), "--db", str(db_path))
    args = ("report", "compare", "--period", "2026-11", "--vs", "2026-10", "--tz", "UTC", "--db", str(db_path))
    rows = {(r["model"], r["provider"]): r for r in run_json(*args)["rows"]}
    assert set(rows) == {("claude-sonnet-4-5", "anthropic"), ("claude-sonnet-4-5", "bedrock")}
    bedrock, anthropic = rows[("claude-sonnet-4-5", "bedrock")], rows[("claude-sonnet-4-5", "anthropic")]
    assert (bedrock["total_tokens_a"], bedrock["total_tokens_b"], Decimal(str(bedrock["cost_usd_change"]))) == (
        1000, 3000, Decimal("-0.03"))  # fmt: skip
    assert (anthropic["total_tokens_a"], anthropic["total_tokens_b"], Decimal(str(anthropic["cost_usd_change"]))) == (
        1000, 0, Decimal("0.015"))  # fmt: skip
    header = next(line for line in run(*args).stdout.splitlines() if line.startswith("Model"))
    assert "Provider" in header


def test_a_change_from_or_to_an_unpriced_cost_is_unknown(tmp_path: Path, db_path: Path) -> None:
    """11-01 gpt-4o 400,000 in = $1.00; 11-02 only mistral-large-2411 (unpriced: cost None);
    11-03 gpt-4o $1.00. Daily: 11-01 vs 10-31 (no usage, $0) +$1.00, % None (from $0); 11-02 and
    11-03 have an unknown side: change None, not -$1.00 / -100 % and +$1.00. Compare 11-02 vs
    11-01 by model: gpt-4o $0 vs $1.00 = -$1.00 (-100 %); mistral unpriced vs $0: None; the
    totals (unpriced vs $1.00): None, shown "–" and never "$0.00" or "unpriced"."""
    events = [
        {"event_id": "p1", "ts": "2025-11-01T12:00:00Z", "model_raw": "gpt-4o", "input_tokens": 400_000},
        {"event_id": "u2", "ts": "2025-11-02T12:00:00Z", "model_raw": "mistral-large-2411", "input_tokens": 5000},
        {"event_id": "p3", "ts": "2025-11-03T12:00:00Z", "model_raw": "gpt-4o", "input_tokens": 400_000},
    ]
    run("import", str(write_jsonl(tmp_path / "u.jsonl", events)), "--db", str(db_path))
    rng = ("--since", "2025-11-01", "--until", "2025-11-03", "--tz", "UTC", "--db", str(db_path))
    rows = run_json("report", "daily", *rng)["rows"]
    assert [(r["cost_usd"], r["cost_change_usd"], r["cost_change_pct"]) for r in rows] == [
        (1.0, 1.0, None), (None, None, None), (1.0, None, None)]  # fmt: skip
    table = run("report", "daily", *rng).stdout
    day2 = next(line for line in table.splitlines() if line.startswith("2025-11-02")).split()
    assert "unpriced" in day2 and "-$1.00" not in day2 and "-100.0%" not in day2 and "–" in day2
    ctx = make_context(None, db_path)
    rep = compare(ctx, _req(tz="UTC"), "2025-11-02", "2025-11-01")
    by_model = {r["model"]: r for r in rep.rows}
    assert (by_model["gpt-4o"]["cost_usd_change"], by_model["gpt-4o"]["cost_usd_change_pct"]) == (
        Decimal("-1.00"), Decimal("-100.00"))  # fmt: skip
    mistral = by_model["mistral-large-2411"]
    assert (mistral["cost_usd_a"], mistral["cost_usd_b"], mistral["cost_usd_change"]) == (None, Decimal(0), None)
    assert rep.totals["cost_usd_change"] is None and rep.totals["cost_usd_change_pct"] is None
    table = run("report", "compare", "--period", "2025-11-02", "--vs", "2025-11-01", "--tz", "UTC",
                "--db", str(db_path)).stdout  # fmt: skip
    line = next(x for x in table.splitlines() if x.startswith("mistral-large-2411")).split()
    assert line[-4:] == ["unpriced", "$0.00", "–", "–"]  # A, B (no usage: $0), Δ, Δ %
    assert " ".join(table.split()).count("Cost change – ") == 1


def test_a_narrow_monthly_budget_table_drops_columns_and_shows_the_budget_left_in_cents(
    tmp_path: Path, loaded: Path
) -> None:
    """At 80 columns a monthly table with a budget leaves out Δ Tokens % (then Spike and the
    Budget column, the same limit on every row) rather than fold "Output", "Unpriced" or "Spike"
    mid-word. By hand: November 2025 costs 1.00 + 1.20 + 0.80 + 1.10 +
    0.90 + 1.00 + 5.00 + 1.60 + 1.00 + 0.90 = $14.50 (gpt-4o input at $2.50 per 1M) plus one
    unpriced request; a budget of $14.5068 leaves $0.0068, shown to the cent: $0.01 (JSON keeps
    0.0068), the budget itself $14.51; used 14.50 × 100 / 14.5068 = 99.953...%, shown rounded
    down: 99.9%."""
    (tmp_path / "work" / "usagectl.toml").write_text(
        '[display]\ntimezone = "UTC"\n\n[[budgets]]\nscope = "global"\namount = 14.5068\nperiod = "month"\n',
        encoding="utf-8",
    )
    args = ("report", "monthly", "--since", "2025-11-01", "--until", "2025-11-10", "--db", str(loaded))
    words, note = narrow_table(run(*args).stdout)
    assert {"Output", "Unpriced", "$14.50", "$14.51", "99.9%", "$0.01"} <= words
    assert not {"Outpu", "Unp", "Sp", "$0.0068"} & words
    assert note.startswith("Δ Tokens % (a wider terminal")  # (Δ Cost is "–": November holds unpriced usage)
    assert run_json(*args)["rows"][0]["budget_remaining_usd"] == 0.0068


def test_days_and_weeks_that_have_not_begun_have_no_change(loaded: Path) -> None:
    """With --until in the future, the days after today (NOW: 2025-11-20) are listed empty, with
    no change: not a -100 % drop (QA finding). Nov 10 (0.90) against nothing on the days after:
    Nov 11 is a real fall, -0.90 / -100 %."""
    rep = daily(make_context(None, loaded), _req(since="2025-11-11", until="2025-11-22"))
    rows = {r["date"]: r for r in rep.rows}
    assert (rows[date(2025, 11, 11)]["cost_change_usd"], rows[date(2025, 11, 11)]["cost_change_pct"]) == (
        Decimal("-0.90"), Decimal("-100.00"))  # fmt: skip
    assert rows[date(2025, 11, 20)]["cost_change_usd"] == Decimal(0)  # today: nothing, against nothing
    for d in (date(2025, 11, 21), date(2025, 11, 22)):
        assert [rows[d][k] for k in ("cost_change_usd", "cost_change_pct", "tokens_change", "tokens_change_pct")] == [
            None, None, None, None]  # fmt: skip
    weeks = periodic(make_context(None, loaded), _req(since="2025-11-17", until="2025-11-30"), "week")
    # the week of Mon Nov 17 (nothing) against that of Nov 10 (Nov 10: 0.90); Nov 24 has not begun
    assert [(r["week"], r["cost_change_usd"]) for r in weeks.rows] == [
        (date(2025, 11, 17), Decimal("-0.90")), (date(2025, 11, 24), None)]  # fmt: skip


def test_the_average_leaves_out_usage_dated_after_today(tmp_path: Path, db_path: Path) -> None:
    """QA: $6 yesterday + today and $60 dated two days ahead (a clock ahead) read "Days (to date)
    2, Average cost per day $33.00" ((6 + 60) / 2) beside a median of $3.00. The average is the
    2 days to date over 2 days: (6.00 + 0) / 2 = $3.00; tokens 2,400,000 / 2 = 1,200,000.
    gpt-4o input at $2.50/M: 2,400,000 tokens = $6.00, 24,000,000 = $60.00. NOW is 2025-11-20."""
    events = [
        {"event_id": "past", "ts": "2025-11-19T12:00:00Z", "model_raw": "gpt-4o", "input_tokens": 2_400_000},
        {"event_id": "ahead", "ts": "2025-11-22T12:00:00Z", "model_raw": "gpt-4o", "input_tokens": 24_000_000},
    ]  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "ahead.jsonl", events)), "--db", str(db_path))
    ctx = make_context(None, db_path)
    rep = daily(ctx, _req(since="2025-11-19", until="2025-11-23", tz="UTC"))
    ov = {k: v for k, _, v in rep.overview}
    assert (ov["periods"], ov["average_cost_usd"], ov["average_tokens"]) == (2, Decimal("3.00"), 1_200_000)
    assert ov["median_cost_usd"] == Decimal("3.00")  # (6.00 + 0) / 2: the two days to date
    assert rep.totals["cost_usd"] == Decimal("66.00")  # the rows and the totals still hold all of it
    assert (
        "Usage dated after today (2025-11-22: 24,000,000 tokens) is in the totals and the rows but not in the "
        "averages and medians, which cover the 2 days to date; `usagectl doctor` lists events after now."
    ) in rep.notes
    # weeks (Monday start): the week of Nov 17 has begun and holds both, but its usage to date is
    # the $6 of Nov 19 (QA: the week's average was (6 + 60) / 1 = $66, without a note): $6.00 / 1
    # week, median $6.00, and the note names the day ahead
    weeks = periodic(ctx, _req(since="2025-11-17", until="2025-11-30", tz="UTC"), "week")
    wov = {k: v for k, _, v in weeks.overview}
    assert (wov["periods"], wov["average_cost_usd"], wov["median_cost_usd"]) == (1, Decimal("6.00"), Decimal("6.00"))
    assert weeks.totals["cost_usd"] == Decimal("66.00")
    assert (
        "Usage dated after today (2025-11-22: 24,000,000 tokens) is in the totals and the rows but not in the "
        "averages and medians, which cover the 1 week to date; `usagectl doctor` lists events after now."
    ) in weeks.notes


def test_a_period_is_no_spike_of_itself(tmp_path: Path, db_path: Path) -> None:
    """QA: `report monthly` over one month whose usage is mostly dated after today marked that
    month a spike ($150 against a median of its own $25 to date, threshold $50). gpt-4o input at
    $2.50/M: 4,000,000 tokens = $10.00, 20,000,000 = $50.00, 12,000,000 = $30.00. NOW is
    2025-11-20; Nov 22 is after today.

    * November alone: one period, its median ($10.00 to date) is itself: no verdict, no
      threshold, no spike (old: $60.00 > max(10 + 3 × 0, 2 × 10) = $20.00, a spike).
    * September to November, $10 + $10 + ($10 to date, $50 ahead): median of 10, 10, 10 = $10.00,
      MAD 0, threshold $20.00; November is judged by its $10.00 to date (old: its $60.00 row).
    * the same with $30 to date in November: median of 10, 10, 30 = $10.00, |dev| 0 0 20 -> MAD
      0, threshold max(10, 20) = $20.00: $30.00 to date is a spike and the note quotes it (not
      the $80.00 of the row); tokens 4M 4M 12M: median 4,000,000, threshold 8,000,000."""

    def month_report(db: Path, events: list[tuple[str, str, int]], since: str) -> Any:
        rows = [{"event_id": e, "ts": f"{d}T12:00:00Z", "model_raw": "gpt-4o", "input_tokens": n} for e, d, n in events]
        run("import", str(write_jsonl(tmp_path / f"{db.stem}.jsonl", rows)), "--db", str(db))
        return periodic(make_context(None, db), _req(since=since, until="2025-11-30", tz="UTC"), "month")

    base = [("sep", "2025-09-15", 4_000_000), ("oct", "2025-10-15", 4_000_000), ("ahead", "2025-11-22", 20_000_000)]
    alone = month_report(db_path, [*base, ("nov", "2025-11-19", 4_000_000)], "2025-11-01")
    ov = {k: v for k, _, v in alone.overview}
    assert (ov["periods"], ov["median_cost_usd"], ov["spikes"]) == (1, Decimal("10.00"), 0)
    assert ov["spike_above_cost_usd"] is None and ov["spike_above_tokens"] is None
    assert [r["spike"] for r in alone.rows] == [False] and alone.rows[0]["cost_usd"] == Decimal("60.00")
    three = periodic(make_context(None, db_path), _req(since="2025-09-01", until="2025-11-30", tz="UTC"), "month")
    ov = {k: v for k, _, v in three.overview}
    assert (ov["periods"], ov["median_cost_usd"], ov["spike_above_cost_usd"]) == (3, Decimal("10.00"), Decimal("20"))
    assert [r["spike"] for r in three.rows] == [False, False, False] and ov["spikes"] == 0

    busy = month_report(tmp_path / "busy.duckdb", [*base, ("nov", "2025-11-19", 12_000_000)], "2025-09-01")
    ov = {k: v for k, _, v in busy.overview}
    assert (ov["spike_above_cost_usd"], ov["spike_above_tokens"], ov["spikes"]) == (Decimal("20"), 8_000_000, 1)
    assert [r["spike"] for r in busy.rows] == [False, False, True]
    assert busy.rows[2]["cost_usd"] == Decimal("80.00")  # the row keeps all of it
    assert any("2025-11 (cost $30.00, 12,000,000 tokens)" in n for n in busy.notes), busy.notes


def test_two_periods_give_no_spike_threshold() -> None:
    """Two periods: the median is their mean, m = (a + b) / 2, and σ = 1.4826 × (b − a) / 2, so
    b > m + 3σ would need (b − a) / 2 > 4.4478 × (b − a) / 2: never. No threshold is shown for a
    rule that cannot fire; three periods (10, 10, 30: median 10, MAD 0) give max(10, 2 × 10) = 20."""
    two = spike_stats([Decimal(10), Decimal(30)])
    assert two is not None and two.median == Decimal(20) and not two.decides
    three = spike_stats([Decimal(10), Decimal(10), Decimal(30)])
    assert three is not None and three.decides and three.threshold == Decimal(20) and three.is_spike(Decimal(30))


# One gpt-4o call of 400,000 input tokens ($1.00) a day at 12:00Z for 200 days, 2026-05-13 –
# 11-28 (May 13–31: 19 + June 30 + July 31 + August 31 + September 30 + October 31 + November
# 1–28: 28 = 200), read on Saturday 2026-11-28; 2026-09-15 is a Tuesday (74 days, 10 weeks and 4
# days, before). QA: with --until alone a "last N days / periods" default kept its start anchored
# to today, so the window shrank (weekly: 2 weeks) or was refused ("the default --since … is
# after --until"); it now ends on --until with its usual length.
NOW_200 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.fixture
def two_hundred_days(tmp_path: Path, db_path: Path) -> Path:
    first = date(2026, 5, 13)
    days = [first + timedelta(days=i) for i in range(200)]
    ev = [{"event_id": f"d{d}", "ts": f"{d}T12:00:00Z", "model_raw": "gpt-4o", "input_tokens": 400_000} for d in days]
    run("import", str(write_jsonl(tmp_path / "days.jsonl", ev)), "--db", str(db_path))
    return db_path


def _until(until: str, since: str | None = None) -> ReportRequest:
    return ReportRequest(since=since, until=until, tz="UTC", now=NOW_200)


def test_until_alone_ends_the_default_days_and_periods_on_that_day(two_hundred_days: Path) -> None:
    ctx = make_context(None, two_hundred_days)
    # daily: the 30 days ending 09-15 are 08-17 – 09-15 (August 17–31: 15 + September 1–15: 15),
    # $1.00 each (the old default since, 11-28 − 29 days = 10-30, was after --until: refused)
    day = periodic(ctx, _until("2026-09-15"), "day")
    assert (day.filters["since"], day.filters["until"]) == ("2026-08-17", "2026-09-15")
    assert len(day.rows) == 30 and day.totals["cost_usd"] == Decimal("30.00")
    # weekly: 12 weeks ending in the week of Tuesday 09-15, Mon 09-14 – Sun 09-20: the first starts
    # 11 × 7 = 77 days before 09-14, on 06-29; 7 days × $1.00 a week (the old range: 2 weeks,
    # 09-07 – 09-20, 11 weeks before the week of 11-23)
    week = periodic(ctx, _until("2026-09-15"), "week")
    assert (week.filters["since"], week.filters["until"]) == ("2026-06-29", "2026-09-20")
    assert [str(r["week"]) for r in week.rows][::11] == ["2026-06-29", "2026-09-14"]
    assert len(week.rows) == 12 and {r["cost_usd"] for r in week.rows} == {Decimal("7.00")}
    # monthly: the 12 months ending in September 2026 are 2025-10 – 2026-09 (the old range 10:
    # 2025-12 – 2026-09); the data starts 2026-05-13: May 19 days, then June 30, July 31, August
    # 31, September (whole) 30 = $141.00
    mon = periodic(ctx, _until("2026-09-15"), "month")
    assert (mon.filters["since"], mon.filters["until"]) == ("2025-10-01", "2026-09-30")
    assert [r["month"] for r in mon.rows][::11] == ["2025-10", "2026-09"]
    assert len(mon.rows) == 12 and mon.totals["cost_usd"] == Decimal("141.00")
    # hourly: the 28 days ending 09-15 are 08-19 – 09-15 (13 + 15), 28 × 400,000 = 11,200,000 tokens
    hour = hourly(ctx, _until("2026-09-15"))
    assert (hour.filters["since"], hour.filters["until"]) == ("2026-08-19", "2026-09-15")
    assert hour.totals["total_tokens"] == 11_200_000


def test_a_given_since_still_wins_and_a_window_before_1970_is_cut(two_hundred_days: Path) -> None:
    ctx = make_context(None, two_hundred_days)
    # 09-10 – 09-15: 6 days of $1.00
    day = periodic(ctx, _until("2026-09-15", since="2026-09-10"), "day")
    assert (day.filters["since"], day.filters["until"], len(day.rows)) == ("2026-09-10", "2026-09-15", 6)
    assert day.totals["cost_usd"] == Decimal("6.00")
    # --since alone: the default until is still today (11-24 – 11-28: 5 days)
    alone = periodic(ctx, ReportRequest(since="2026-11-24", tz="UTC", now=NOW_200), "day")
    assert (alone.filters["since"], alone.filters["until"], len(alone.rows)) == ("2026-11-24", "2026-11-28", 5)
    # the 30 days ending 1970-01-10 would start on 1969-12-12: no date lies before 1970-01-01
    early = periodic(ctx, _until("1970-01-10"), "day")
    assert (early.filters["since"], early.filters["until"], len(early.rows)) == ("1970-01-01", "1970-01-10", 10)


def test_until_alone_ends_the_optimize_doctor_and_dashboard_windows_on_that_day(two_hundred_days: Path) -> None:
    from usagectl.services.dashboard import Dashboard
    from usagectl.services.doctor import DoctorRequest, doctor
    from usagectl.services.optimize import optimize_report

    ctx = make_context(None, two_hundred_days)
    # optimize: the 30 days ending 09-15, 08-17 – 09-15 (the old default since, yesterday 11-27 −
    # 29 days = 10-29, was after --until: refused)
    opt = optimize_report(ctx, _until("2026-09-15"))
    assert (opt.filters["since"], opt.filters["until"]) == ("2026-08-17", "2026-09-15")
    # doctor: the 30 days ending 09-15 as well (the old default since 11-28 − 29 = 10-30)
    doc = doctor(ctx, DoctorRequest(until="2026-09-15", tz="UTC", now=NOW_200))
    assert (doc.filters["since"], doc.filters["until"]) == ("2026-08-17", "2026-09-15")
    # the dashboard's chart: 30 days 08-17 – 09-15, 30 × 400,000 = 12,000,000 tokens
    data = Dashboard(ctx, _until("2026-09-15"), watch=False).refresh().data
    assert data is not None
    assert (data.series[0].day, data.series[-1].day, len(data.series)) == (date(2026, 8, 17), date(2026, 9, 15), 30)
    assert sum(p.tokens for p in data.series) == 12_000_000
