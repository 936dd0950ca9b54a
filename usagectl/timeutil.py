"""Calendar-correct ranges: dates in a time zone -> UTC instants."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from usagectl.errors import UsageError

_REL = re.compile(r"^(\d+)([dwm])$")
# exactly the two documented spellings: strptime's %m and %d also take one digit, so it read
# 202611 as 2026-01-01 and 2026111 as 2026-11-01 (or was it 2026-01-11?) without a word
_DAY = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})|([0-9]{4})([0-9]{2})([0-9]{2})")
_MONTH = re.compile(r"([0-9]{4})-?([0-9]{2})")
_SHORT_PARTS = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
DAY_FORMS = "YYYY-MM-DD or YYYYMMDD"

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
    """YYYY-MM-DD, YYYYMMDD (8 digits: :func:`parse_day`), or relative: ``7d`` (today and the 6
    days before), ``2w``, ``3m``. The day must lie :data:`BOUNDS` (``UsageError`` otherwise, also
    for an empty value)."""
    s = text.strip()
    if not s:
        raise UsageError(f"{option}: empty")
    m = _REL.match(s)
    if m:
        n = int(m.group(1))
        if n < 1:
            raise UsageError(f"{option}: {text!r}: a relative range must be at least 1")
        return check_day(_relative(today, n, m.group(2), option, text), option=option, text=text)
    day = parse_day(text, option=option, forms="YYYY-MM-DD, YYYYMMDD or a relative range like 7d")
    return check_day(day, option=option, text=text)


def parse_day(text: str, *, option: str, forms: str = DAY_FORMS) -> date:
    """A calendar day spelled ``YYYY-MM-DD`` or ``YYYYMMDD`` (8 digits), and nothing else: a
    ``UsageError`` naming ``option`` and the accepted ``forms`` otherwise. A month (``202611``,
    ``2026-11``) is answered with the day it most likely meant, not read as some other day."""
    s = text.strip()
    m = _DAY.fullmatch(s)
    if m:
        y, mo, d = (int(g) for g in m.groups() if g is not None)
        try:
            return date(y, mo, d)
        except ValueError:  # 2026-02-30, 20261301
            raise UsageError(f"{option}: {text!r} is not a date: there is no such day (use {forms})") from None
    m = _MONTH.fullmatch(s)
    if m and FIRST_DAY.year <= int(m.group(1)) <= LAST_DAY.year and 1 <= int(m.group(2)) <= 12:
        y, mo = int(m.group(1)), int(m.group(2))
        # the end of a range most likely meant the month's last day, anything else its first
        d = _days_in_month(y, mo) if option == "--until" else 1
        raise UsageError(
            f"{option}: {text!r} is a month; give a day ({y:04d}-{mo:02d}-{d:02d} or {y:04d}{mo:02d}{d:02d})"
        )
    why = ""
    if s.isascii() and s.isdigit():
        why = ": YYYYMMDD has 8 digits"
    elif _SHORT_PARTS.fullmatch(s):
        why = ": write the month and the day with two digits each"
    raise UsageError(f"{option}: {text!r} is not a date{why} (use {forms})")


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
