"""Every date, month and period given on the command line lies between 1970-01-01 and
2199-12-31 (timeutil.FIRST_DAY .. LAST_DAY); anything else is a usage error (exit 2) that names
the option and the value, never an OverflowError (exit 1) or a loop over 10^5 empty days.

The clock is the real one, so the relative cases use counts that are out of range on any day
before 2199: 99999 days is 273 years back (before 1970 from any today before 2243), 99999
months 8333 years, 999999 weeks 19165 years, 10^9 days beyond the date type itself.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from tests.helpers import run, write_jsonl
from usagectl.errors import UsageError
from usagectl.services import budgets
from usagectl.services.compare import parse_period
from usagectl.services.context import make_context
from usagectl.services.forecast import ForecastRequest, forecast_report
from usagectl.services.optimize import optimize_report
from usagectl.services.reports import ReportRequest
from usagectl.timeutil import parse_date, parse_month

BOUNDS = "between 1970-01-01 and 2199-12-31"


@pytest.fixture
def db(tmp_path: Path, db_path: Path) -> Path:
    events = [{"event_id": "E1", "ts": "2026-11-03T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 1000,
               "output_tokens": 100}]  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "e.jsonl", events)), "--db", str(db_path))
    return db_path


@pytest.mark.parametrize(
    ("args", "option", "value"),
    [
        (("report", "daily", "--since", "1000000000d"), "--since", "1000000000d"),
        (("report", "daily", "--since", "99999m"), "--since", "99999m"),
        (("report", "by", "model", "--since", "99999m"), "--since", "99999m"),
        (("report", "daily", "--since", "999999w"), "--since", "999999w"),
        (("report", "daily", "--since", "99999d"), "--since", "99999d"),
        (("report", "month", "--since", "1900-01-01"), "--since", "1900-01-01"),
        (("report", "weekly", "--since", "0001-01-01"), "--since", "0001-01-01"),
        (("report", "monthly", "--since", "0001-01-01"), "--since", "0001-01-01"),
        (("anomalies", "--since", "0001-01-01"), "--since", "0001-01-01"),
        (("report", "daily", "--until", "2200-01-01"), "--until", "2200-01-01"),
        (("report", "month", "--month", "0000-01"), "--month", "0000-01"),
        (("cost", "--month", "2200-01"), "--month", "2200-01"),
        (("invoice", "--month", "9999-12"), "--month", "9999-12"),
        (("report", "compare", "--period", "9999"), "--period", "9999"),
        (("report", "compare", "--period", "0001", "--vs", "year-ago"), "--period", "0001"),
    ],
)
def test_out_of_range_is_a_usage_error(db: Path, args: tuple[str, ...], option: str, value: str) -> None:
    err = run(*args, "--db", str(db), expect=2).stderr
    assert f"usagectl: error: {option}: {value!r} is out of range (dates must lie {BOUNDS})" in err


def test_the_bounds_themselves_are_accepted(db: Path) -> None:
    run("report", "daily", "--since", "1970-01-01", "--until", "1970-01-02", "--db", str(db))
    run("report", "month", "--month", "2199-12", "--db", str(db))
    run("report", "compare", "--period", "2199", "--db", str(db))


def test_relative_ranges_reach_back_to_the_first_day() -> None:
    today = date(1970, 1, 10)
    # 10d = today and the 9 days before = 1970-01-01; 11d would start on 1969-12-31
    assert parse_date("10d", today=today, option="--since") == date(1970, 1, 1)
    with pytest.raises(UsageError, match="out of range"):
        parse_date("11d", today=today, option="--since")
    with pytest.raises(UsageError, match="out of range"):
        parse_date("2w", today=today, option="--since")  # 13 days back: 1969-12-28


def test_months_and_periods_at_the_edges() -> None:
    assert parse_month("1970-01") == (1970, 1)
    assert parse_month("219912") == (2199, 12)
    with pytest.raises(UsageError, match="'1969-12' is out of range"):
        parse_month("1969-12")
    p = parse_period("1970-01-01..2199-12-31")
    assert (p.since, p.until) == (date(1970, 1, 1), date(2199, 12, 31))
    with pytest.raises(UsageError, match="--period: '2200-01-01' is out of range"):
        parse_period("2199-12-31..2200-01-01")


@pytest.mark.parametrize(
    "args",
    [
        ("report", "month", "--month", "2026-11", "--since", "2026-10-01"),
        ("report", "month", "--month", "2026-11", "--until", "2026-11-15"),
        ("cost", "--month", "2026-11", "--since", "2026-11-01"),
        ("reconcile", "--month", "2026-11", "--until", "2026-11-30"),
        ("export", "--report", "month", "--month", "2026-11", "--since", "2026-10-01"),
    ],
)
def test_month_and_a_range_together_are_refused(db: Path, args: tuple[str, ...]) -> None:
    """``report month --month 2026-11 --since 2026-10-01`` used to report 2026-10-01 .. 11-30
    without the month label; every command with both options now refuses, as ``cost`` did."""
    err = run(*args, "--db", str(db), expect=2).stderr
    assert err.startswith("usagectl: error: use either --month or --since/--until, not both\n")


@pytest.mark.parametrize(
    ("vs", "message"),
    [
        # year-ago of the year 1970 is the year 1969, which the user never typed
        (("--vs", "year-ago"), "--vs year-ago: the baseline of 1970 would be 1969"),
        ((), "the default --vs previous: the baseline of 1970 would be 1969"),
    ],
)
def test_a_computed_baseline_before_1970_is_named_as_computed(db: Path, vs: tuple[str, ...], message: str) -> None:
    err = run("report", "compare", "--period", "1970", *vs, "--db", str(db), expect=2).stderr
    assert err == f"usagectl: error: {message}, which starts before 1970-01-01 (dates must lie {BOUNDS})\n"


def test_a_range_over_all_the_days_has_no_baseline(db: Path) -> None:
    # 1970-01-01..2199-12-31 is 84,006 days (230 years with 56 leap days, 2100 is none: 230 * 365 + 56);
    # the range just before it ends on 1969-12-31; 1740..1969 is again 230 years with 56 leap days
    err = run("report", "compare", "--period", "1970-01-01..2199-12-31", "--db", str(db), expect=2).stderr
    assert "the baseline of 1970-01-01..2199-12-31 would be 1740-01-01..1969-12-31, which starts before" in err


NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


def test_forecast_names_its_default_history_end(db: Path) -> None:
    """No --until: forecast models up to yesterday, 2026-11-25 (today is 2026-11-26), so a
    --since of today is after it; the default side is named as one. (An --until alone moves the
    whole 84-day window back to end there: no error.)"""
    req = ReportRequest(since="2026-11-26", tz="UTC", now=NOW)
    with pytest.raises(UsageError) as exc:
        forecast_report(make_context(None, db), req, ForecastRequest())
    assert str(exc.value) == (
        "the default --until 2026-11-25 (1 day before today; --until was not given) is before --since 2026-11-26"
    )


def test_optimize_names_its_default_end(db: Path) -> None:
    # the default is the 30 days up to yesterday, 2026-11-25: a --since of today is after its end
    req = ReportRequest(since="2026-11-26", tz="UTC", now=NOW)
    with pytest.raises(UsageError) as exc:
        optimize_report(make_context(None, db), req)
    assert str(exc.value) == (
        "the default --until 2026-11-25 (1 day before today; --until was not given) is before --since 2026-11-26"
    )


def test_a_typed_range_that_ends_before_it_starts_names_both_options(db: Path) -> None:
    err = run("report", "daily", "--since", "2026-11-10", "--until", "2026-11-01", "--db", str(db), expect=2).stderr
    assert err == "usagectl: error: --until 2026-11-01 is before --since 2026-11-10\n"


@pytest.mark.parametrize(
    ("period", "periods", "message"),
    [
        # month: 682 complete months fit between 1970-01 and 2026-10 (56 years * 12 + 10);
        # 1000 months before 2026-11 is 83 years 4 months earlier, 1943-07
        ("month", 1000, "--periods 1000: the earliest period would start on 1943-07-01, before 1970-01-01 "
                        "(at most 682 complete periods fit)"),
        ("month", 683, "--periods 683: the earliest period would start on 1969-12-01, before 1970-01-01 "
                       "(at most 682 complete periods fit)"),
        # year: 1970 .. 2025 are 56 complete years; 1000 years before 2026 is 1026
        ("year", 1000, "--periods 1000: the earliest period would start on 1026-01-01, before 1970-01-01 "
                       "(at most 56 complete periods fit)"),
    ],
)  # fmt: skip
def test_budget_history_refuses_periods_before_1970(
    tmp_path: Path, db: Path, period: str, periods: int, message: str
) -> None:
    cfg = tmp_path / "b.toml"
    cfg.write_text(f'[display]\ntimezone = "UTC"\n[[budgets]]\nscope = "global"\namount = 5\nperiod = "{period}"\n')
    with pytest.raises(UsageError) as exc:
        budgets.budget_history(make_context(cfg, db), "global", periods=periods, now=NOW)
    assert str(exc.value) == message


def test_budget_history_reaches_back_to_1970(tmp_path: Path, db: Path) -> None:
    cfg = tmp_path / "b.toml"
    cfg.write_text('[display]\ntimezone = "UTC"\n[[budgets]]\nscope = "global"\namount = 5\nperiod = "year"\n')
    rep = budgets.budget_history(make_context(cfg, db), "global", periods=56, now=NOW)
    assert (rep.rows[0]["period_start"], rep.rows[-1]["period_start"]) == (date(1970, 1, 1), date(2026, 1, 1))


FORMS = "(use YYYY-MM-DD, YYYYMMDD or a relative range like 7d)"


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("2026-11-20", date(2026, 11, 20)), ("20261120", date(2026, 11, 20)), (" 2026-03-01 ", date(2026, 3, 1)),
        ("2024-02-29", date(2024, 2, 29)), ("1970-01-01", date(1970, 1, 1)), ("2199-12-31", date(2199, 12, 31)),
        ("2026-02-30", "there is no such day"), ("2026-13-01", "there is no such day"),
        ("20261301", "there is no such day"), ("2026-00-10", "there is no such day"),
        ("2026-11-20x", FORMS), ("2026/11/20", FORMS), ("1969-12-31", "out of range"),
    ],
)  # fmt: skip
def test_dates_in_the_two_documented_spellings(text: str, want: date | str) -> None:
    """YYYY-MM-DD and YYYYMMDD (8 digits) are the days; a day that does not exist is named."""
    today = date(2026, 11, 26)
    if isinstance(want, date):
        assert parse_date(text, today=today, option="--since") == want
    else:
        with pytest.raises(UsageError) as exc:
            parse_date(text, today=today, option="--since")
        assert exc.value.message.startswith(f"--since: {text!r} is ") and want in exc.value.message


@pytest.mark.parametrize(
    ("text", "option", "message"),
    [
        # strptime's %m and %d take one digit too: 202611 read as 2026-01-01, 202613 as 2026-01-03,
        # 2026111 as 2026-11-01 (or 2026-01-11?), 2026-1-5 as 2026-01-05. A month is answered with
        # the day it most likely meant: the first for a start, the last for an --until
        # (November has 30 days)
        ("202611", "--since", "--since: '202611' is a month; give a day (2026-11-01 or 20261101)"),
        ("202611", "--until", "--until: '202611' is a month; give a day (2026-11-30 or 20261130)"),
        ("2026-02", "--until", "--until: '2026-02' is a month; give a day (2026-02-28 or 20260228)"),
        ("202613", "--since", f"--since: '202613' is not a date: YYYYMMDD has 8 digits {FORMS}"),
        ("2026111", "--since", f"--since: '2026111' is not a date: YYYYMMDD has 8 digits {FORMS}"),
        ("2026122", "--until", f"--until: '2026122' is not a date: YYYYMMDD has 8 digits {FORMS}"),
        ("202611011", "--since", f"--since: '202611011' is not a date: YYYYMMDD has 8 digits {FORMS}"),
        ("2026-1-5", "--since", f"--since: '2026-1-5' is not a date: write the month and the day with two digits each "
                                f"{FORMS}"),
    ],
)  # fmt: skip
def test_short_dates_are_refused_not_misread(text: str, option: str, message: str) -> None:
    with pytest.raises(UsageError) as exc:
        parse_date(text, today=date(2026, 11, 26), option=option)
    assert exc.value.message == message


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("report", "by", "model", "--since", "202611", "--until", "20261130"),
         "--since: '202611' is a month; give a day (2026-11-01 or 20261101)"),
        (("report", "daily", "--since", "2026111", "--until", "20261102"),
         f"--since: '2026111' is not a date: YYYYMMDD has 8 digits {FORMS}"),
        (("report", "by", "model", "--since", "20260101", "--until", "202611"),
         "--until: '202611' is a month; give a day (2026-11-30 or 20261130)"),
        (("report", "month", "--until", "202611"), "--until: '202611' is a month; give a day (2026-11-30 or 20261130)"),
        (("report", "compare", "--period", "202611..20261130"),
         "--period: '202611' is a month; give a day (2026-11-01 or 20261101)"),
        (("payment", "list", "--since", "202611"), "--since: '202611' is a month; give a day (2026-11-01 or 20261101)"),
    ],
)  # fmt: skip
def test_commands_refuse_short_dates(db: Path, args: tuple[str, ...], message: str) -> None:
    """QA: ``report by model --since 202611`` reported from 2026-01-01 (the 2026-01-15 event
    counted), exit 0; now a usage error, exit 2, that names the option."""
    err = run(*args, "--db", str(db), expect=2).stderr
    assert err == f"usagectl: error: {message}\n"
