"""`usagectl forecast` on fixtures worked out by hand.

Run rate: 10 days (2025-11-01 – 11-10) of gpt-4o input, 400,000 tokens = $1.00 a day, one of
them (11-04) as two events, the second at 23:30Z = 08:30 on 11-05 in Asia/Tokyo. Less than 14
days: the simple run rate, $1.00 × 30 = $30.00; month end = 10 days so far ($10.00) + 20 days
left × $1.00 = $30.00.

Model: 8 weeks (Mon 2025-09-01 – Sun 10-26) of exactly 1,000,000 tokens a weekday and 200,000
a weekend day. The next 30 days (Mon 10-27 – Tue 11-25) = 4 weeks × 5,400,000 + 2 weekdays =
23,600,000. October so far (Wed 10-01 – Sun 10-26): 18 weekdays + 8 weekend days =
19,600,000; the 5 weekdays left make 24,600,000. A 22,000,000-token monthly budget is crossed
on Wed 10-29 (19.6M + 1M + 1M + 1M = 22.6M ≥ 22M; 21.6M on the 28th is not).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import run, run_json, write_jsonl


@pytest.fixture(autouse=True)
def _wired(monkeypatch: pytest.MonkeyPatch) -> None:
    from usagectl.cli import app, insights
    from usagectl.services import forecast

    if not any(c.name == "forecast" for c in app.registered_commands):
        insights.register(app)
    # a clock after every fixture's --until: each forecast is as of the end of its --until (no
    # partial day today); the tests of today's spend set their own
    monkeypatch.setattr(forecast, "_clock", lambda: datetime(2027, 1, 1, tzinfo=UTC))


def _import(tmp_path: Path, db: Path, events: list[dict[str, Any]]) -> None:
    run("import", str(write_jsonl(tmp_path / "ev.jsonl", events)), "--db", str(db))


def test_short_history_gives_the_labelled_run_rate(tmp_path: Path, db_path: Path) -> None:
    ev = [
        {"event_id": f"d{d}", "ts": f"2025-11-{d:02d}T03:00:00Z", "model_raw": "gpt-4o", "input_tokens": 400_000}
        for d in range(1, 11)
        if d != 4
    ]
    ev += [
        {"event_id": "d4a", "ts": "2025-11-04T03:00:00Z", "model_raw": "gpt-4o", "input_tokens": 360_000},
        {"event_id": "d4b", "ts": "2025-11-04T23:30:00Z", "model_raw": "gpt-4o", "input_tokens": 40_000},
    ]
    _import(tmp_path, db_path, ev)
    out = run_json("forecast", "--since", "2025-11-01", "--until", "2025-11-10", "--tz", "UTC", "--db", str(db_path))
    (row,) = out["rows"]
    assert row["method"] == "run rate"
    assert Decimal(str(row["likely"])) == Decimal("30")  # $1.00 × 30 days
    assert row["conservative"] is None and row["aggressive"] is None
    assert row["range"] == "insufficient history"  # null here is no range, not unpriced
    assert row["history_days"] == 10 and Decimal(str(row["naive_run_rate"])) == Decimal("30")
    # the notes say what was done: 10 days averaged, no simulated paths
    assert any("average of the last 10 days" in n for n in out["notes"])
    assert not any("Holt-Winters" in n or "30 days ×" in n for n in out["notes"])
    table = run("forecast", "--since", "2025-11-01", "--until", "2025-11-10", "--tz", "UTC", "--db", str(db_path))
    line = next(x for x in table.stdout.splitlines() if x.startswith("total")).split()
    # total, run rate, naive $30.00, P10 –, P50 $30.00, P90 –, month end $30.00
    assert line == ["total", "run", "rate", "$30.00", "–", "$30.00", "–", "$30.00"]
    assert Decimal(str(row["month_to_date"])) == Decimal("10")
    assert Decimal(str(row["month_end_likely"])) == Decimal("30")  # 10 + 20 × 1.00
    assert any("SIMPLE RUN RATE" in n for n in out["notes"])
    # in Tokyo the 23:30Z event belongs to 11-05: 11-04 has $0.90 and 11-05 $1.10, and the
    # history starts 11-01 09:00Z, so the 03:00Z event of 11-01 (12:00 Tokyo) still counts;
    # 11-10 ends at 11-10 15:00Z in Tokyo: the same ten events, the same run rate.
    tokyo = run_json("forecast", "--since", "2025-11-01", "--until", "2025-11-10", "--tz", "Asia/Tokyo",
                     "--db", str(db_path))  # fmt: skip
    assert Decimal(str(tokyo["rows"][0]["likely"])) == Decimal("30")


def test_a_budget_already_over_shows_the_day_it_was_crossed(tmp_path: Path, db_path: Path) -> None:
    # $1.00 a day 11-01 – 11-10 (UTC: 11-04's two events make $1.00 too); a $3.50 month budget:
    # running total 1, 2, 3, 4 -> crossed on 11-04, not the last day of history (11-10)
    ev = [
        {"event_id": f"d{d}", "ts": f"2025-11-{d:02d}T03:00:00Z", "model_raw": "gpt-4o", "input_tokens": 400_000}
        for d in range(1, 11)
    ]
    _import(tmp_path, db_path, ev)
    (tmp_path / "work" / "usagectl.toml").write_text(
        '[[budgets]]\nscope = "global"\namount = 3.50\nperiod = "month"\n', encoding="utf-8"
    )
    out = run_json("forecast", "--since", "2025-11-01", "--until", "2025-11-10", "--tz", "UTC", "--db", str(db_path))
    (b,) = out["budgets"]
    assert (Decimal(str(b["spent"])), Decimal(str(b["probability_pct"]))) == (Decimal(10), Decimal(100))
    assert b["likely_cross_date"] == "2025-11-04"


def _weekly() -> list[dict[str, Any]]:
    start = date(2025, 9, 1)  # a Monday
    out = []
    for i in range(56):
        d = start + timedelta(days=i)
        n = 1_000_000 if d.weekday() < 5 else 200_000
        out.append({"event_id": f"w{i}", "ts": f"{d}T12:00:00Z", "model_raw": "gpt-4o", "input_tokens": n})
    return out


def test_holt_winters_on_a_clean_weekly_series(tmp_path: Path, db_path: Path) -> None:
    _import(tmp_path, db_path, _weekly())
    (tmp_path / "work" / "usagectl.toml").write_text(
        '[[budgets]]\nscope = "global"\ntokens = 22000000\nperiod = "month"\n', encoding="utf-8"
    )
    out = run_json("forecast", "--metric", "tokens", "--since", "2025-09-01", "--until", "2025-10-26",
                   "--tz", "UTC", "--db", str(db_path))  # fmt: skip
    (row,) = out["rows"]
    assert row["method"] == "holt-winters" and row["range"] == "simulated"
    assert row["conservative"] <= row["likely"] <= row["aggressive"]
    # 56 days of history: the naive run rate averaged the last 30; the simulated paths are named
    assert any("average of the last 30 days" in n for n in out["notes"])
    assert any("Holt-Winters" in n for n in out["notes"])
    assert abs(row["likely"] - 23_600_000) <= 0.02 * 23_600_000
    assert abs(row["month_end_likely"] - 24_600_000) <= 0.02 * 24_600_000
    assert row["month_to_date"] == 19_600_000
    (b,) = out["budgets"]
    assert b["spent"] == 19_600_000
    assert Decimal(str(b["probability_pct"])) >= 90
    assert b["likely_cross_date"] == "2025-10-29"
    assert "P10 / P50 / P90" in out["notes"][0]


def test_by_and_bad_options(tmp_path: Path, db_path: Path) -> None:
    _import(tmp_path, db_path, _weekly())
    out = run_json("forecast", "--by", "model", "--since", "2025-09-01", "--until", "2025-10-26", "--tz", "UTC",
                   "--db", str(db_path))  # fmt: skip
    assert [r["series"] for r in out["rows"]] == ["gpt-4o"]
    run("forecast", "--by", "colour", "--db", str(db_path), expect=2)
    run("forecast", "--metric", "euros", "--db", str(db_path), expect=2)


def _six_dollar_days(pause: tuple[date, date] | None) -> list[dict[str, Any]]:
    """Ten claude-sonnet-4-5 calls a day, 2026-09-03 – 11-25, each 100,000 in × $3/M + 20,000 out
    × $15/M = $0.60 (under the 200k long-context tier): $6.00 a day, none on the days of ``pause``
    (inclusive)."""
    start, out = date(2026, 9, 3), []
    for i in range(84):
        d = start + timedelta(days=i)
        if pause is None or not pause[0] <= d <= pause[1]:
            out += [{"event_id": f"s{i}-{j}", "ts": f"{d}T1{j}:00:00Z", "model_raw": "claude-sonnet-4-5",
                     "input_tokens": 100_000, "output_tokens": 20_000} for j in range(10)]  # fmt: skip
    return out


@pytest.mark.parametrize("pause", [None, (date(2026, 10, 1), date(2026, 10, 14))])
def test_a_past_pause_does_not_blow_up_the_range(tmp_path: Path, db_path: Path, pause: Any) -> None:
    # The last 6 weeks are exactly $6.00 a day either way: next 30 days $180; month to date
    # 25 × 6 = $150, month end 150 + 5 × 6 = $180. A $500 month budget cannot be crossed (even
    # twice the rate, 150 + 5 × 12 = $210, stays far below).
    _import(tmp_path, db_path, _six_dollar_days(pause))
    (tmp_path / "work" / "usagectl.toml").write_text(
        '[[budgets]]\nscope = "global"\namount = 500\nperiod = "month"\n', encoding="utf-8"
    )
    out = run_json("forecast", "--since", "2026-09-03", "--until", "2026-11-25", "--tz", "UTC",
                   "--db", str(db_path))  # fmt: skip
    (row,) = out["rows"]
    lo, mid, hi = (Decimal(str(row[k])) for k in ("conservative", "likely", "aggressive"))
    assert abs(mid - 180) <= Decimal("3.6")  # 2 % of $180
    # $180 to the cent: JSON keeps 6 decimals, where the paused fit's float noise shows
    assert abs(Decimal(str(row["month_end_likely"])) - 180) < Decimal("0.005")
    (b,) = out["budgets"]
    assert Decimal(str(b["spent"])) == Decimal("150") and Decimal(str(b["probability_pct"])) == 0
    if pause is None:
        assert lo == mid == hi == Decimal("180")
        return
    # Bound for the paused series: the backtest origins that end in the pause (forecast ~$0
    # against $180, log error ~4, which gave P90 $6,058) are skipped, so the per-path level factor
    # is exp(1.28 σ) ≤ exp(1.28 × 0.15) = 1.21 at the 90th percentile. The simulated day-to-day
    # residuals still hold the one stop (−$6) and the one restart (+$6) of the pause, so a path
    # can lose its level or, once, double it: P90 ≤ 2 × 180 × 1.25 = $450.
    assert lo <= mid <= hi <= 450


def test_an_all_unpriced_series_is_unpriced_not_zero(tmp_path: Path, db_path: Path) -> None:
    # 20 days (2025-11-01 – 11-20): amy 400,000 gpt-4o input tokens a day ($2.50/M = $1.00);
    # zed 1,000 tokens a day of mystery-model-x, which has no price. zed has 20 days of usage:
    # with --metric cost its row is unpriced (null money), not $0 and not "no history".
    ev = []
    for d in range(1, 21):
        ev.append({"event_id": f"a{d}", "ts": f"2025-11-{d:02d}T03:00:00Z", "model_raw": "gpt-4o",
                   "input_tokens": 400_000, "member": "amy"})  # fmt: skip
        ev.append({"event_id": f"z{d}", "ts": f"2025-11-{d:02d}T04:00:00Z", "model_raw": "mystery-model-x",
                   "input_tokens": 1_000, "member": "zed"})  # fmt: skip
    _import(tmp_path, db_path, ev)
    span = ("--since", "2025-11-01", "--until", "2025-11-20", "--tz", "UTC", "--db", str(db_path))
    out = run_json("forecast", "--by", "member", *span)
    zed = next(r for r in out["rows"] if r["series"] == "zed")
    assert zed["range"] == "unpriced" and zed["history_days"] == 20
    money = ("naive_run_rate", "conservative", "likely", "aggressive", "month_to_date", "month_end_likely")
    assert all(zed[k] is None for k in money)
    assert any("zed (mystery-model-x)" in n for n in out["notes"])
    assert not any("Less than 14 days" in n or "no usage in the history" in n for n in out["notes"])
    amy = next(r for r in out["rows"] if r["series"] == "amy")
    assert Decimal(str(amy["naive_run_rate"])) == Decimal("30")  # $1.00 × 30 days
    line = next(x for x in run("forecast", "--member", "zed", *span).stdout.splitlines() if x.startswith("total"))
    assert "$0.00" not in line and "unpriced" in line
    # tokens are unaffected: 1,000 a day × 30 = 30,000
    (tok,) = run_json("forecast", "--member", "zed", "--metric", "tokens", *span)["rows"]
    assert tok["naive_run_rate"] == 30_000 and tok["range"] != "unpriced"


def test_a_series_first_used_today_without_a_price_is_unpriced(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """QA: a model whose only usage is today's, with no price, had no history day, so it took the
    priced path: "run rate $0.00", month to date 0. Now Thu 2026-11-26 18:00 UTC; today 03:00 one
    call of mystery-model-x (1,000,000 tokens, no price) and one of gpt-4o (1,000,000 input:
    $2.50). By model: mystery-model-x is unpriced (null money, 1 day of usage); gpt-4o's month to
    date is $2.50."""
    from usagectl.services import forecast

    monkeypatch.setattr(forecast, "_clock", lambda: datetime(2026, 11, 26, 18, 0, tzinfo=UTC))
    _import(tmp_path, db_path, [
        {"event_id": "u1", "ts": "2026-11-26T03:00:00Z", "model_raw": "mystery-model-x", "input_tokens": 1_000_000},
        {"event_id": "p1", "ts": "2026-11-26T03:00:00Z", "model_raw": "gpt-4o", "input_tokens": 1_000_000},
    ])  # fmt: skip
    out = run_json("forecast", "--by", "model", "--metric", "cost", "--tz", "UTC", "--db", str(db_path))
    rows = {r["series"]: r for r in out["rows"]}
    x = rows["mystery-model-x"]
    assert (x["range"], x["history_days"]) == ("unpriced", 1)
    assert all(x[k] is None for k in ("naive_run_rate", "likely", "month_to_date", "month_end_likely"))
    assert rows["gpt-4o"]["month_to_date"] == 2.5


def test_a_series_of_unpriced_buckets_without_a_request_count_is_unpriced(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """QA: a series whose only usage is provider buckets without a request count (requests 0)
    and without a price had "no usage in the history" by its requests, and read $0.00. Eight
    days (2026-11-18 – 11-25) of 100,000 tokens of mystery-model-x stored as buckets (requests
    0); now 2026-11-26 18:00 UTC: unpriced, 8 days of usage, no money."""
    from usagectl.services import forecast

    monkeypatch.setattr(forecast, "_clock", lambda: datetime(2026, 11, 26, 18, 0, tzinfo=UTC))
    _import(tmp_path, db_path, [
        {"event_id": f"b{d}", "ts": f"2026-11-{d}T00:00:00Z", "model_raw": "mystery-model-x", "requests": 0,
         "input_tokens": 100_000}
        for d in range(18, 26)
    ])  # fmt: skip
    (row,) = run_json("forecast", "--metric", "cost", "--tz", "UTC", "--db", str(db_path))["rows"]
    assert (row["range"], row["history_days"]) == ("unpriced", 8)
    assert all(row[k] is None for k in ("naive_run_rate", "likely", "month_to_date", "month_end_likely"))


def _budgets(*budgets: tuple[str, str]) -> str:
    return "".join(f'[[budgets]]\nscope = "global"\namount = {a}\nperiod = "{p}"\n' for a, p in budgets)


def test_todays_spend_so_far_is_actual_in_every_total(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Now: Thu 2026-11-26 18:00 UTC, 3/4 of the day gone. History (the default 12 weeks up to
    # yesterday, 2026-09-03 – 11-25): exactly $6.00 a day, so every simulated day is $6.00.
    # Today so far: 30 × $0.60 = $18.00, + 123,456 gpt-4o-mini input tokens × $0.15/M = $0.0185184;
    # one more $0.60 call at 19:00 is dated after now: counted as spent, as it is (as `budget status`
    # counts it), not forecast, in every total below (all of them hold today).
    from usagectl.services import forecast

    monkeypatch.setattr(forecast, "_clock", lambda: datetime(2026, 11, 26, 18, 0, tzinfo=UTC))
    today = [{"event_id": f"t{h}-{m}", "ts": f"2026-11-26T{h:02d}:{m:02d}:00Z", "model_raw": "claude-sonnet-4-5",
              "input_tokens": 100_000, "output_tokens": 20_000} for h in range(15) for m in (0, 30)]  # fmt: skip
    today += [
        {"event_id": "mini", "ts": "2026-11-26T17:59:00Z", "model_raw": "gpt-4o-mini", "input_tokens": 123_456},
        {"event_id": "later", "ts": "2026-11-26T19:00:00Z", "model_raw": "claude-sonnet-4-5",
         "input_tokens": 100_000, "output_tokens": 20_000},
    ]  # fmt: skip
    _import(tmp_path, db_path, _six_dollar_days(None) + today)
    (tmp_path / "work" / "usagectl.toml").write_text(
        _budgets(("10", "day"), ("42", "week"), ("160", "month"), ("340", "quarter"), ("510", "year")),
        encoding="utf-8",
    )
    out = run_json("forecast", "--days", "7", "--tz", "UTC", "--db", str(db_path))
    assert (out["filters"]["since"], out["filters"]["until"]) == ("2026-09-03", "2026-11-25")
    (row,) = out["rows"]
    assert row["method"] == "holt-winters"
    # today so far: 18 + 0.0185184 = $18.0185184, + the $0.60 dated after now = $18.6185184; month to
    # date: 25 × 6 + 18.6185184 = $168.6185184, written to 6 decimals (half-even), not to the cent
    assert row["month_to_date"] == 168.618518 and row["month_to_date_after_now"] == 0.6
    # the rest of today, 1/4 × $6 = $1.50, then $6.00 a day: next 7 days (11-26 – 12-02) =
    # 18.6185184 + 1.50 + 6 × 6 = $56.1185184; month end = 168.6185184 + 1.50 + 4 × 6 (11-27 – 11-30)
    # = $194.1185184, all three quantiles alike (a constant series, up to the model's float noise)
    for key in ("conservative", "likely", "aggressive"):
        assert abs(Decimal(str(row[key])) - Decimal("56.118518")) <= Decimal("0.000010")
    for key in ("month_end_conservative", "month_end_likely", "month_end_aggressive"):
        assert abs(Decimal(str(row[key])) - Decimal("194.118518")) <= Decimal("0.000010")
        assert Decimal(str(row[key])) >= Decimal(str(row["month_to_date"]))
    budgets = {b["budget"]: b for b in out["budgets"]}
    spent = {k: Decimal(str(b["spent"])) for k, b in budgets.items()}
    # day: today's $18.6185184 ≥ $10; month: 150 on 11-25 < 160 ≤ 168.6185184 on 11-26;
    # quarter (from 10-01): 56 × 6 = 336 on 11-25 < 340 ≤ 354.6185184; year (data from 09-03):
    # 84 × 6 = 504 < 510 ≤ 522.6185184: every one crossed today, 100 %
    assert spent == {
        "global (day)": Decimal("18.618518"),
        "global (week)": Decimal("36.618518"),  # Mon 11-23 – Wed 11-25: 3 × 6, + today
        "global (month)": Decimal("168.618518"),
        "global (quarter)": Decimal("354.618518"),
        "global (year)": Decimal("522.618518"),
    }
    assert {b["spent_after_now"] for b in out["budgets"]} == {0.6}
    for period in ("day", "month", "quarter", "year"):
        b = budgets[f"global ({period})"]
        assert (b["probability_pct"], b["likely_cross_date"]) == (100, "2026-11-26"), period
    # week ($42, not yet over): 36.6185184 + 1.50 (rest of today) = 38.1185184, + 6 on 11-27 =
    # 44.1185184 ≥ 42. (A whole $6 day today would cross already on 11-26; dropping today's
    # spend, on 11-28.)
    assert (budgets["global (week)"]["probability_pct"], budgets["global (week)"]["likely_cross_date"]) == (
        100,
        "2026-11-27",
    )
    assert any("2026-11-26 (today: its spend up to 18:00 is actual" in n for n in out["notes"])
    table = run("forecast", "--days", "7", "--tz", "UTC", "--db", str(db_path)).stdout
    line = next(x for x in table.splitlines() if x.startswith("global (day)")).split()
    # Budget, Period ends, Limit, Spent, Chance, Likely crossing
    assert line[2:] == ["2026-11-26", "$10.00", "$18.62", "100.0%", "2026-11-26"]


def test_todays_spend_counts_on_the_local_day_of_the_run_rate(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pacific/Kiritimati is UTC+14. Now: 2026-11-10 22:00 UTC = Wed 11-11 12:00 there, half the
    # day gone. History: $1.00 a day (400,000 gpt-4o input tokens) on 11-01 – 11-10 local, each
    # at 10:00 local = 20:00 UTC the day before: 10 days, so the simple run rate, $1.00 a day.
    # Today (11-11 local) so far: $2.00 at 09:00 local = 11-10 19:00 UTC (a UTC day earlier).
    from usagectl.services import forecast

    monkeypatch.setattr(forecast, "_clock", lambda: datetime(2026, 11, 10, 22, 0, tzinfo=UTC))
    ev = [{"event_id": f"d{d}", "ts": f"{date(2026, 11, d) - timedelta(days=1)}T20:00:00Z", "model_raw": "gpt-4o",
           "input_tokens": 400_000} for d in range(1, 11)]  # fmt: skip
    ev.append({"event_id": "today", "ts": "2026-11-10T19:00:00Z", "model_raw": "gpt-4o", "input_tokens": 800_000})
    _import(tmp_path, db_path, ev)
    (tmp_path / "work" / "usagectl.toml").write_text(
        _budgets(("1.50", "day"), ("6", "week"), ("11.50", "month")), encoding="utf-8"
    )
    out = run_json("forecast", "--days", "5", "--tz", "Pacific/Kiritimati", "--db", str(db_path))
    (row,) = out["rows"]
    assert row["method"] == "run rate" and out["filters"]["until"] == "2026-11-10"
    # month to date: 10 × 1 + 2 = $12.00; month end: 12 + 1/2 × 1 (rest of today) + 19 × 1
    # (11-12 – 11-30) = $31.50; next 5 days (11-11 – 11-15): 2 + 0.50 + 4 × 1 = $6.50
    assert Decimal(str(row["month_to_date"])) == Decimal("12")
    assert Decimal(str(row["month_end_likely"])) == Decimal("31.5")
    assert Decimal(str(row["likely"])) == Decimal("6.5")
    budgets = {b["budget"]: b for b in out["budgets"]}
    # day: $2.00 ≥ $1.50 today; month: 10 on 11-10 < 11.50 ≤ 12 on 11-11: both 100 %, crossed on
    # the local 11-11
    for period, spent in (("day", "2"), ("month", "12")):
        b = budgets[f"global ({period})"]
        assert Decimal(str(b["spent"])) == Decimal(spent)
        assert (b["probability_pct"], b["likely_cross_date"]) == (100, "2026-11-11"), period
    # week (Mon 11-09 – Sun 11-15), $6: 1 + 1 + 2 = $4.00 so far, + 0.50 = 4.50 today, 5.50 on
    # 11-12, 6.50 on 11-13: crossed 11-13 at the run rate (no probability without a model)
    week = budgets["global (week)"]
    assert Decimal(str(week["spent"])) == Decimal("4")
    assert (week["probability_pct"], week["likely_cross_date"]) == (None, "2026-11-13")


def test_usage_dated_after_now_is_spent_as_in_budget_status(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """QA: with a $10 month budget, $6 two days ago and $6 dated two days ahead (a clock ahead),
    `budget status` said spent $12, 120 %, exceeded, but forecast spent $6.00, no chance, likely
    crossing the next day, month to date 6. Now Sat 2026-11-28 12:00 UTC (half the day gone);
    2,400,000 gpt-4o input tokens × $2.50/M = $6.00 on 11-26 and on 11-30.

    History (complete days up to 11-27) from the first usage: 11-26 $6, 11-27 $0: the run rate,
    (6 + 0) / 2 = $3.00 a day. Month to date = 6 + 0 (today so far) + 6 (dated after now) = $12;
    month end = 12 + 1/2 × 3 (rest of today) + 2 × 3 (11-29, 11-30) = $19.50. Next 7 days
    (11-28 – 12-04) = 0 + 6 (11-30 is inside) + 1.5 + 6 × 3 = $25.50; next 1 day (11-28 only:
    11-30 is outside) = 0 + 1.5 = $1.50. Budget: spent 6 + 6 = $12 ≥ $10: 100 %, reached on 11-30
    (6 on 11-26 < 10 ≤ 12 on 11-30), the day `budget status` gives too."""
    from usagectl.services import budgets, forecast

    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    monkeypatch.setattr(forecast, "_clock", lambda: now)
    monkeypatch.setattr(budgets, "_clock", lambda: now)
    _import(tmp_path, db_path, [
        {"event_id": "past", "ts": "2026-11-26T12:00:00Z", "model_raw": "gpt-4o", "input_tokens": 2_400_000},
        {"event_id": "ahead", "ts": "2026-11-30T12:00:00Z", "model_raw": "gpt-4o", "input_tokens": 2_400_000},
    ])  # fmt: skip
    (tmp_path / "work" / "usagectl.toml").write_text(_budgets(("10", "month")), encoding="utf-8")
    out = run_json("forecast", "--days", "7", "--tz", "UTC", "--db", str(db_path))
    (row,) = out["rows"]
    assert row["method"] == "run rate"
    assert row["month_to_date"] == 12 and row["month_to_date_after_now"] == 6
    assert Decimal(str(row["month_end_likely"])) == Decimal("19.5")
    assert Decimal(str(row["likely"])) == Decimal("25.5")
    (b,) = out["budgets"]
    assert (b["spent"], b["spent_after_now"], b["probability_pct"], b["likely_cross_date"]) == (
        12,
        6,
        100,
        "2026-11-30",
    )
    assert any(
        n.startswith("Dated after now (a clock ahead?): 1 request (2,400,000 tokens, $6.00) on 2026-11-30: "
                     "counted as spent")
        for n in out["notes"]
    )  # fmt: skip
    (one,) = run_json("forecast", "--days", "1", "--tz", "UTC", "--db", str(db_path))["rows"]
    assert Decimal(str(one["likely"])) == Decimal("1.5") and one["month_to_date"] == 12
    status = run_json("budget", "status", "--tz", "UTC", "--db", str(db_path))["rows"][0]
    assert (status["spent"], status["projected_cross_date"]) == (b["spent"], b["likely_cross_date"])
    table = run("forecast", "--days", "7", "--tz", "UTC", "--db", str(db_path)).stdout
    line = next(x for x in table.splitlines() if x.startswith("global (month)")).split()
    assert line[2:] == ["2026-11-30", "$10.00", "$12.00", "100.0%", "2026-11-30"]


def test_usage_dated_after_now_is_in_the_simulated_totals_not_the_model(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A modelled series: the history is exactly $6.00 and 1,200,000 tokens a day (2026-09-03 –
    11-25), so every simulated day is $6.00 / 1.2M. Now Thu 11-26 18:00 UTC, nothing yet today
    (rest of today: 1/4 × 6 = $1.50, 300,000 tokens). Dated after now: 9,600,000 gpt-4o input
    tokens on 11-29 = $24.00, counted as it is on every path, never fitted.

    Month to date = 25 × 6 + 0 + 24 = $174; month end (P10 = P50 = P90) = 174 + 1.50 + 4 × 6
    (11-27 – 11-30) = $199.50. Next 7 days (11-26 – 12-02) = 24 + 1.50 + 6 × 6 = $61.50; next 3
    days (11-26 – 11-28, 11-29 outside) = 1.50 + 2 × 6 = $13.50.
    $190 month budget: spent $174 (not over); paths 175.50 (11-26), 181.50, 187.50, 193.50 on 11-29
    ≥ 190: 100 %, 11-29. (Leaving the $24 out: 150 + 1.50 + 24 = 175.50 < 190, 0 %.)
    80,000,000-token quarter budget (from 10-01): 56 × 1.2M + 9.6M = 76,800,000 spent; 77.1M (11-26),
    78.3M, 79.5M, 80.7M on 11-29: 100 %, 11-29. (Leaving it out: 67.2M + 0.3M + 11 × 1.2M = 80.7M
    only on 12-07.)
    By model, gpt-4o's only usage is the one dated after now: a series of its own (no history, run
    rate $0), month to date $24 and next 7 days $24."""
    from usagectl.services import forecast

    monkeypatch.setattr(forecast, "_clock", lambda: datetime(2026, 11, 26, 18, 0, tzinfo=UTC))
    ahead = {"event_id": "ahead", "ts": "2026-11-29T12:00:00Z", "model_raw": "gpt-4o", "input_tokens": 9_600_000}
    _import(tmp_path, db_path, _six_dollar_days(None) + [ahead])
    (tmp_path / "work" / "usagectl.toml").write_text(
        _budgets(("190", "month")) + '[[budgets]]\nscope = "global"\ntokens = 80000000\nperiod = "quarter"\n',
        encoding="utf-8",
    )
    out = run_json("forecast", "--days", "7", "--tz", "UTC", "--db", str(db_path))
    (row,) = out["rows"]
    assert row["method"] == "holt-winters" and row["naive_run_rate"] == 42  # $6 × 7: the $24 is not history
    assert row["month_to_date"] == 174 and row["month_to_date_after_now"] == 24
    for key in ("conservative", "likely", "aggressive"):
        assert abs(Decimal(str(row[key])) - Decimal("61.5")) <= Decimal("0.000010"), key
    for key in ("month_end_conservative", "month_end_likely", "month_end_aggressive"):
        assert abs(Decimal(str(row[key])) - Decimal("199.5")) <= Decimal("0.000010"), key
    money, tokens = sorted(out["budgets"], key=lambda b: b["period_end"])
    assert (money["spent"], money["spent_after_now"], money["probability_pct"], money["likely_cross_date"]) == (
        174,
        24,
        100,
        "2026-11-29",
    )
    assert (tokens["spent"], tokens["spent_after_now"], tokens["probability_pct"], tokens["likely_cross_date"]) == (
        76_800_000,
        9_600_000,
        100,
        "2026-11-29",
    )
    (three,) = run_json("forecast", "--days", "3", "--tz", "UTC", "--db", str(db_path))["rows"]
    for key in ("conservative", "likely", "aggressive"):
        assert abs(Decimal(str(three[key])) - Decimal("13.5")) <= Decimal("0.000010"), key
    by = {r["series"]: r for r in run_json("forecast", "--by", "model", "--days", "7", "--tz", "UTC",
                                           "--db", str(db_path))["rows"]}  # fmt: skip
    assert list(by) == ["claude-sonnet-4-5", "gpt-4o"]
    assert by["claude-sonnet-4-5"]["month_to_date"] == 150
    gpt = by["gpt-4o"]
    assert (gpt["method"], gpt["history_days"], gpt["month_to_date"], gpt["likely"]) == ("run rate", 0, 24, 24)


def _gpt4o_days(first: date, last: date, tokens: int = 1_000_000, model: str = "gpt-4o") -> list[dict[str, Any]]:
    """One call of ``tokens`` input a day from ``first`` to ``last`` at 12:00Z (gpt-4o: 1,000,000
    = $2.50)."""
    return [{"event_id": f"e{first + timedelta(days=i)}", "ts": f"{first + timedelta(days=i)}T12:00:00Z",
             "model_raw": model, "input_tokens": tokens} for i in range((last - first).days + 1)]  # fmt: skip


def test_a_model_budget_written_as_an_alias_is_forecast(tmp_path: Path, db_path: Path) -> None:
    """QA: `budget set model:claude-sonnet-4.5` (an alias, stored as written) is matched by
    `budget status`, but forecast said its scope "is not this forecast's series". 20 days
    (2026-11-01 – 11-20) of claude-sonnet-4-5-20250929, 100,000 input a day × $3/M = $0.30; a
    $5 month budget: spent 20 × 0.30 = $6.00, over: 100 %, crossed on the 17th (16 × 0.30 =
    $4.80 < 5 ≤ 17 × 0.30 = $5.10). Forecast with --by model and with --model (alias)."""
    _import(tmp_path, db_path, _gpt4o_days(date(2026, 11, 1), date(2026, 11, 20), 100_000,
                                           "claude-sonnet-4-5-20250929"))  # fmt: skip
    (tmp_path / "work" / "usagectl.toml").write_text(
        '[[budgets]]\nscope = "model:claude-sonnet-4.5"\namount = 5\nperiod = "month"\n', encoding="utf-8"
    )
    span = ("--since", "2026-11-01", "--until", "2026-11-20", "--tz", "UTC", "--db", str(db_path))
    for how in (("--by", "model"), ("--model", "claude-sonnet-4.5")):
        out = run_json("forecast", *how, *span)
        assert not any("Budgets not forecast" in n for n in out["notes"]), how
        (b,) = out["budgets"]
        assert b["budget"] == "model:claude-sonnet-4.5 (month)"
        assert (Decimal(str(b["spent"])), b["probability_pct"], b["likely_cross_date"]) == (
            Decimal("6"),
            100,
            "2026-11-17",
        ), how


def test_the_notes_say_what_the_columns_total_and_count_days_in_words(tmp_path: Path, db_path: Path) -> None:
    """QA: with a quarter budget the paths run to the quarter's end (2026-11-21 – 12-31 = 41
    days), and the note said "P10 / P50 / P90 of 41-day simulated paths" beside columns that
    total the next 30 days. 14 days of $2.50 (11-07 – 11-20): a model, whose note names the 30
    days; one day of usage: the run rate "average of the last 1 day", not "1 days"."""
    _import(tmp_path, db_path, _gpt4o_days(date(2026, 11, 7), date(2026, 11, 20)))
    (tmp_path / "work" / "usagectl.toml").write_text(
        '[[budgets]]\nscope = "global"\namount = 100\nperiod = "quarter"\n', encoding="utf-8"
    )
    out = run_json("forecast", "--until", "2026-11-20", "--tz", "UTC", "--db", str(db_path))
    assert out["rows"][0]["method"] == "holt-winters"
    assert "41-day" not in out["notes"][0]
    assert "P10 / P50 / P90 of the total of the next 30 days (month end: of the month's total)" in out["notes"][0]
    one = tmp_path / "one.duckdb"
    _import(tmp_path, one, _gpt4o_days(date(2026, 11, 20), date(2026, 11, 20)))
    notes = run_json("forecast", "--until", "2026-11-20", "--tz", "UTC", "--db", str(one))["notes"]
    assert any("Naive run rate = average of the last 1 day × days." in n for n in notes)


def _steady_then(last: list[int]) -> list[dict[str, Any]]:
    """gpt-4o input, 2026-09-25 – 11-20 (57 days): 950,000 and 1,050,000 tokens on alternate days
    ($2.375 / $2.625: $2.50 a day on average, ±5 % noise), the last ``len(last)`` days replaced by
    ``last``."""
    days = [950_000 if i % 2 == 0 else 1_050_000 for i in range(57)]
    days[57 - len(last) :] = last
    first = date(2026, 9, 25)
    return [{"event_id": f"s{i}", "ts": f"{first + timedelta(days=i)}T12:00:00Z", "model_raw": "gpt-4o",
             "input_tokens": n} for i, n in enumerate(days)]  # fmt: skip


def test_a_one_day_spike_before_the_forecast_is_not_the_new_normal(tmp_path: Path, db_path: Path) -> None:
    """QA: 57 days of ~$2.50 and yesterday $25 (10,000,000 tokens): Holt-Winters took the spike as
    the new level or weekly pattern, P50 $187 – $857 for the next 30 days instead of ~30 × 2.50 =
    $75, P10 above 1.7 × that, and a $120 month budget at 100 %.

    Now the spike is an isolated outlier (its run is one day): replaced by the same-weekday
    median before the fit, and added back to the simulated days at its rate (1 in 57). Bounds by
    hand: P50 within ±10 % of $75 ($67.50 – $82.50; a spike-following forecast is far above);
    P10 not above the steady $75; P90 above P50 (a spike may come again). Month to date: Nov
    1 – 19 are the days i = 37 … 55 from 09-25, 10 odd (1.05M) and 9 even (0.95M) = 19.05M tokens
    = $47.625, + $25 on the 20th = $72.625; the 10 days left at $2.50 make ~$97.63, so a $120
    month budget needs two more $22.50 spikes within 10 days: probability under 10 %."""
    _import(tmp_path, db_path, _steady_then([10_000_000]))
    (tmp_path / "work" / "usagectl.toml").write_text(
        '[[budgets]]\nscope = "global"\namount = 120\nperiod = "month"\n', encoding="utf-8"
    )
    out = run_json("forecast", "--since", "2026-09-25", "--until", "2026-11-20", "--tz", "UTC", "--db", str(db_path))
    (row,) = out["rows"]
    lo, mid, hi = (Decimal(str(row[k])) for k in ("conservative", "likely", "aggressive"))
    assert row["method"] == "holt-winters"
    assert Decimal("67.5") <= mid <= Decimal("82.5")
    assert lo <= 75 and hi > mid
    assert Decimal(str(row["month_to_date"])) == Decimal("72.625")
    assert abs(Decimal(str(row["month_end_likely"])) - Decimal("97.625")) <= Decimal("2.5")  # ± one day
    (b,) = out["budgets"]
    assert Decimal(str(b["probability_pct"])) < 10 and b["likely_cross_date"] is None


def test_a_level_shift_of_the_last_week_is_still_followed(tmp_path: Path, db_path: Path) -> None:
    """The same history, but the last 7 days at 2,000,000 tokens ($5.00) each: usage that stayed
    higher for a week is a level shift, not an outlier, and the forecast follows it. At the new
    level the next 30 days are 30 × 5 = $150; ignoring the week gives ~$75, and the naive 30-day
    run rate is $92.625 (days i = 27 … 49: 12 odd × 1.05M + 11 even × 0.95M = 23.05M tokens =
    $57.625, + 7 × $5): the likely value is at least $120 (80 % of $150)."""
    _import(tmp_path, db_path, _steady_then([2_000_000] * 7))
    (row,) = run_json("forecast", "--since", "2026-09-25", "--until", "2026-11-20", "--tz", "UTC",
                      "--db", str(db_path))["rows"]  # fmt: skip
    assert Decimal(str(row["naive_run_rate"])) == Decimal("92.625")
    assert Decimal(str(row["likely"])) >= 120


def test_outliers_are_isolated_days_not_shifts_nor_the_series_nature() -> None:
    """``seasonal.outliers`` on 8 weeks of 1.0 a day (the scale is the floor 0.1 × 1.0):
    the last day at 10 (z = 9 / 0.1 = 90) is one, replaced by its same-weekday median 1.0; a day
    at 10 in the middle too; the last 7 days at 2 (a run of 7 > 3 days) are not; a spike every
    5th day (12 of 56 days > 10 %) is the series' nature, nothing is cleaned."""
    import numpy as np

    from usagectl.services.seasonal import outliers

    y = np.ones(56)
    y[-1] = 10.0
    mask, base = outliers(y)
    assert list(np.flatnonzero(mask)) == [55] and base[55] == 1.0
    y[20] = 10.0
    assert list(np.flatnonzero(outliers(y)[0])) == [20, 55]
    shift = np.ones(56)
    shift[-7:] = 2.0
    assert not outliers(shift)[0].any()
    often = np.ones(56)
    often[::5] = 10.0
    assert not outliers(often)[0].any()


def test_until_alone_models_the_84_days_ending_that_day(tmp_path: Path, db_path: Path) -> None:
    """QA: `forecast --until 2026-09-15` on 200 days of data modelled 11 days and showed no
    P10 / P90: the default history stayed the 84 days before yesterday, 2026-11-27 − 83 days =
    2026-09-05. One $2.50 call a day, 2026-05-13 – 11-28 (19 + 30 + 31 + 31 + 30 + 31 + 28 =
    200 days), read on 2026-11-28: the history is now the 84 days ending --until, 2026-09-15 −
    83 days = 2026-06-24 (June 24–30: 7 + July 31 + August 31 + September 1–15: 15 = 84). A
    --since given still wins: 2026-09-01 – 09-15 is 15 days (over 14: still a model)."""
    from usagectl.services.context import make_context
    from usagectl.services.forecast import ForecastRequest, forecast_report
    from usagectl.services.reports import ReportRequest

    _import(tmp_path, db_path, _gpt4o_days(date(2026, 5, 13), date(2026, 11, 28)))
    ctx = make_context(None, db_path)
    now = datetime(2026, 11, 28, 12, tzinfo=UTC)
    rep = forecast_report(ctx, ReportRequest(until="2026-09-15", tz="UTC", now=now), ForecastRequest())
    assert (rep.filters["since"], rep.filters["until"]) == ("2026-06-24", "2026-09-15")
    (row,) = rep.rows
    assert (row["history_days"], row["method"]) == (84, "holt-winters")
    assert row["conservative"] is not None and row["aggressive"] is not None
    req = ReportRequest(since="2026-09-01", until="2026-09-15", tz="UTC", now=now)
    given = forecast_report(ctx, req, ForecastRequest())
    assert (given.filters["since"], given.filters["until"], given.rows[0]["history_days"]) == (
        "2026-09-01",
        "2026-09-15",
        15,
    )


def test_until_after_today_is_a_usage_error(tmp_path: Path, db_path: Path) -> None:
    """QA: `forecast --until 2027-01-10` read on 2026-11-28 modelled 2026-10-19 – 2027-01-10, 43
    of its 84 days zeros still to come (a naive rate of $0.00). The history holds days that have
    happened: an --until after today is a usage error naming it and today. --until today stays
    allowed: the 84 days ending 2026-11-28 start 83 days before, 2026-09-06 (September 6–30: 25
    + October 31 + November 1–28: 28 = 84)."""
    from usagectl.errors import UsageError
    from usagectl.services.context import make_context
    from usagectl.services.forecast import ForecastRequest, forecast_report
    from usagectl.services.reports import ReportRequest

    _import(tmp_path, db_path, _gpt4o_days(date(2026, 5, 13), date(2026, 11, 28)))
    ctx = make_context(None, db_path)
    now = datetime(2026, 11, 28, 12, tzinfo=UTC)
    with pytest.raises(UsageError, match=r"^--until 2027-01-10 is in the future \(today is 2026-11-28 in UTC\)"):
        forecast_report(ctx, ReportRequest(until="2027-01-10", tz="UTC", now=now), ForecastRequest())
    with pytest.raises(UsageError, match=r"^--until 2026-11-29 is in the future"):
        forecast_report(ctx, ReportRequest(until="2026-11-29", tz="UTC", now=now), ForecastRequest())
    rep = forecast_report(ctx, ReportRequest(until="2026-11-28", tz="UTC", now=now), ForecastRequest())
    assert (rep.filters["since"], rep.filters["until"]) == ("2026-09-06", "2026-11-28")
