"""Calendar-correct ranges: dates in a time zone -> UTC instants."""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from usagectl.errors import UsageError

_REL = re.compile(r"^(\d+)([dwm])$")
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

# Every date, month or period a user gives must lie in this span. No usage log is older than
# 1970 (the Unix epoch), and the upper bound keeps a typo (``99999d``, ``--until 9999-12-31``)
# from a per-day report that loops over tens of thousands of empty days, and keeps ``date``
# arithmetic (a day after the last, a year before the first) away from year 1 and 9999.
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(2199, 12, 31)
BOUNDS = f"between {FIRST_DAY} and {LAST_DAY}"


def check_day(d: date, *, option: str, text: str) -> date:
    """``d`` unchanged, or a ``UsageError`` naming the option and the value when it lies outside
    :data:`FIRST_DAY` .. :data:`LAST_DAY`."""
    if not FIRST_DAY <= d <= LAST_DAY:
        raise _out_of_range(option, text)
    return d


def _out_of_range(option: str, text: str) -> UsageError:
    return UsageError(f"{option}: {text!r} is out of range (dates must lie {BOUNDS})")


def reversed_range(since: date, until: date, *, since_given: bool, until_given: bool, today: date) -> UsageError:
    """The error for a range that ends before it starts. A side the user left out is a report's
    default, so it is named as one, with its distance from today: "before --since 2026-09-03"
    when no --since was typed would send the user looking for an option they never gave."""
    return UsageError(
        f"{_side('--until', until, until_given, today)} is before {_side('--since', since, since_given, today)}"
    )


def _side(option: str, d: date, given: bool, today: date) -> str:
    if given:
        return f"{option} {d}"
    days = (today - d).days
    when = (
        "today" if days == 0 else f"{abs(days)} day{'s' * (abs(days) != 1)} {'before' if days > 0 else 'after'} today"
    )
    return f"the default {option} {d} ({when}; {option} was not given)"


def parse_date(text: str, *, today: date, option: str) -> date:
    """YYYY-MM-DD, YYYYMMDD, or relative: ``7d`` (today and the 6 days before), ``2w``, ``3m``.
    The day must lie :data:`BOUNDS` (``UsageError`` otherwise, also for an empty value)."""
    s = text.strip()
    if not s:
        raise UsageError(f"{option}: empty")
    m = _REL.match(s)
    if m:
        n = int(m.group(1))
        if n < 1:
            raise UsageError(f"{option}: {text!r}: a relative range must be at least 1")
        return check_day(_relative(today, n, m.group(2), option, text), option=option, text=text)
    if _ISO_DAY.fullmatch(s):  # the usual spelling, without loading strptime (~2 ms of a report's start)
        with contextlib.suppress(ValueError):
            return check_day(date(int(s[:4]), int(s[5:7]), int(s[8:])), option=option, text=text)
    for fmt in ("%Y-%m-%d", "%Y%m%d"):
        try:
            day = datetime.strptime(s, fmt).date()
        except ValueError:
            continue
        return check_day(day, option=option, text=text)
    raise UsageError(f"{option}: {text!r} is not a date (use YYYY-MM-DD, YYYYMMDD or a relative range like 7d)")


def _relative(today: date, n: int, unit: str, option: str, text: str) -> date:
    """The first day of the relative range ``n``/``unit`` ending today. A count so large that
    the day falls before year 1 is out of range, like any day before :data:`FIRST_DAY`."""
    if n > (today - FIRST_DAY).days + 1:
        raise _out_of_range(option, text)  # also keeps 10**9 days away from date's limits
    if unit == "d":
        return today - timedelta(days=n - 1)
    if unit == "w":
        return today - timedelta(days=7 * n - 1)
    month = today.month - n
    year = today.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    return date(year, month, min(today.day, _days_in_month(year, month))) + timedelta(days=1)


def parse_month(text: str, *, option: str = "--month") -> tuple[int, int]:
    """``YYYY-MM`` or ``YYYYMM`` as (year, month), a month :data:`BOUNDS`."""
    s = text.strip()
    if not s:
        raise UsageError(f"{option}: empty")
    m = re.match(r"^(\d{4})-?(\d{2})$", s)
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise UsageError(f"{option}: {text!r} is not a month (use YYYY-MM)")
    year, month = int(m.group(1)), int(m.group(2))
    if not FIRST_DAY.year <= year <= LAST_DAY.year:
        raise _out_of_range(option, text)
    return year, month


def month_or_range(month: str | None, since: str | None, until: str | None) -> None:
    """Refuse ``--month`` together with ``--since/--until``: one of them would have to win or
    the two be merged, and either would be a guess about the range the caller wanted."""
    if month is not None and (since is not None or until is not None):
        raise UsageError("use either --month or --since/--until, not both")


def _days_in_month(year: int, month: int) -> int:
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return (nxt - date(year, month, 1)).days


def days_in_month(year: int, month: int) -> int:
    return _days_in_month(year, month)


def day_start_utc(d: date, tz: str) -> datetime:
    """The UTC instant at which calendar day ``d`` starts in ``tz`` (DST-correct)."""
    return datetime(d.year, d.month, d.day, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def local_today(tz: str, now: datetime | None = None) -> date:
    now = now or datetime.now(UTC)
    return now.astimezone(ZoneInfo(tz)).date()


def date_range(since: date, until: date) -> list[date]:
    return [since + timedelta(days=i) for i in range((until - since).days + 1)]
