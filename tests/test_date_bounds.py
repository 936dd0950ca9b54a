"""Every date, month and period given on the command line lies between 1970-01-01 and
2199-12-31 (timeutil.FIRST_DAY .. LAST_DAY); anything else is a usage error (exit 2) that names
the option and the value, never an OverflowError (exit 1) or a loop over 10^5 empty days.

The clock is the real one, so the relative cases use counts that are out of range on any day
before 2199: 99999 days is 273 years back (before 1970 from any today before 2243), 99999
months 8333 years, 999999 weeks 19165 years, 10^9 days beyond the date type itself.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tests.helpers import run, write_jsonl
from usagectl.errors import UsageError
from usagectl.services.compare import parse_period
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
        # the year before 1970, which year-ago would compare against
        (("report", "compare", "--period", "1970", "--vs", "year-ago"), "--vs", "1969"),
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
