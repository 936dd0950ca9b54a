"""Calendar-correct ranges: dates in a time zone -> UTC instants."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from usagectl.errors import UsageError

_REL = re.compile(r"^(\d+)([dwm])$")


def parse_date(text: str, *, today: date, option: str) -> date:
    """YYYY-MM-DD, YYYYMMDD, or relative: ``7d`` (today and the 6 days before), ``2w``, ``3m``."""
    s = text.strip()
    m = _REL.match(s)
    if m:
        n, unit = int(m.group(1)), m.group(2)
        if n < 1:
            raise UsageError(f"{option}: {text!r}: a relative range must be at least 1")
        if unit == "d":
            return today - timedelta(days=n - 1)
        if unit == "w":
            return today - timedelta(days=7 * n - 1)
        month = today.month - n
        year = today.year + (month - 1) // 12
        month = (month - 1) % 12 + 1
        return date(year, month, min(today.day, _days_in_month(year, month))) + timedelta(days=1)
    for fmt in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return datetime.strptime(s, fmt).date()
        except ValueError:
            continue
    raise UsageError(f"{option}: {text!r} is not a date (use YYYY-MM-DD, YYYYMMDD or a relative range like 7d)")


def parse_month(text: str) -> tuple[int, int]:
    m = re.match(r"^(\d{4})-?(\d{2})$", text.strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise UsageError(f"--month: {text!r} is not a month (use YYYY-MM)")
    return int(m.group(1)), int(m.group(2))


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
