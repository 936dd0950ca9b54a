"""`report hourly`: an hour-of-day × weekday heat map of tokens or cost in the report's zone.

* Rows are the hours 0–23 (local wall-clock hour of each event, DST-correct), one column per
  weekday starting on ``--week-start``, plus the hour's total; the footer holds the weekday
  totals. ``--metric tokens`` (all buckets) or ``cost`` (priced cost; a cell whose usage is all
  unpriced is None, never $0).
* The default range is the last 28 days through today: four of every weekday, so the weekday
  columns compare like with like. Other ranges may hold more of some weekdays than of others:
  the ``weekdays`` section gives the number of each and the average per day.
* Overview: the busiest hours and days (share of the metric), the peak periods (the busiest
  weekday-hour cells, also as the ``peaks`` section) and the peak window: the shortest run of
  consecutive hours (across midnight too) holding at least half of the metric.
* The map counts clock hours: on a day the zone's clocks go back, the repeated hour's cell holds
  two real hours of usage; on a day they go forward, the skipped hour's holds none. A note names
  each such change in the range (the numbers stay as counted).
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from usagectl.config import WEEKDAYS, effective_timezone
from usagectl.errors import UsageError
from usagectl.models import Column, Report, Section
from usagectl.services.context import AppContext
from usagectl.services.reports import ReportRequest, _now, _share, _totals, _unpriced_notes, build_filters
from usagectl.services.rollup import rollup, total, unpriced_models
from usagectl.services.timeseries import local_cube, parse_week_start
from usagectl.store.grouped import offset_segments
from usagectl.timeutil import day_start_utc, local_today

Metric = Literal["tokens", "cost"]
METRICS: dict[str, str] = {"tokens": "total_tokens", "cost": "cost_usd"}
DEFAULT_DAYS = 28
TOP = 3
PEAKS = 5
DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # ISO weekday 1..7 -> key


def _hh(hour: int) -> str:
    return f"{hour % 24:02d}:00"


def _weekday_counts(since: date, until: date, tz: str) -> list[int]:
    """How many of each weekday the range holds, counting only days that exist in the zone (a
    date the zone skipped, such as Pacific/Apia's 2011-12-30, has no length)."""
    counts = [0] * 7
    d = since
    while d <= until:
        if day_start_utc(d + timedelta(days=1), tz) > day_start_utc(d, tz):
            counts[d.weekday()] += 1
        d += timedelta(days=1)
    return counts


def _per_day(value: Any, days: int) -> Decimal | None:
    """The weekday's average per day of that weekday (tokens to 2 decimals, cost exact); None
    without such a day, or for a cost whose usage is all unpriced (never $0)."""
    if not days or value is None:
        return None
    avg = Decimal(value or 0) / days
    return avg if isinstance(value, Decimal) else avg.quantize(Decimal("0.01"))


HOUR = timedelta(hours=1)
CLOCK_NOTES = 2  # a range with more clock changes (over a year) gets one note on them all
RANKED = "the busiest hours, peak periods and peak window rank clock hours too."


def clock_change_notes(tz: str, start: datetime, end: datetime) -> list[str]:
    """One note per change of the zone's clocks in [start, end): the wall times repeated (clocks
    back) or skipped (forward), and what each clock hour they touch held in real time that day,
    since the map, the busiest hours and the peaks count clock hours (QA: New York's 01:00 EDT
    and 01:00 EST usage made one "busiest hour" 01:00 with no word that it lasted two hours)."""
    zone = ZoneInfo(tz)
    notes = []
    segments = offset_segments(tz, start, end)
    if len(segments) - 1 > CLOCK_NOTES:
        first, last = segments[1][0].astimezone(zone), segments[-1][0].astimezone(zone)
        return [
            f"The clocks in {tz} changed {len(segments) - 1} times in the range, {first:%Y-%m-%d} to "
            f"{last:%Y-%m-%d} (a shorter range names each change). The heat map counts clock hours, so on each "
            f"such day the hour of the repeated wall times holds the usage of more than an hour, the hour of the "
            f"skipped ones less (none for a whole hour); {RANKED}"
        ]
    for (_, before), (at, after) in itertools.pairwise(segments):
        # the wall clock reads ``reached`` when it is set to ``set_to`` (naive local times)
        reached = (at + timedelta(milliseconds=before)).replace(tzinfo=None)
        set_to = (at + timedelta(milliseconds=after)).replace(tzinfo=None)
        back = set_to < reached
        lo, hi = min(reached, set_to), max(reached, set_to)
        # times within the day of the change read as clock times, else with their dates (Apia 2011)
        whole = hi - lo < timedelta(days=1) and (hi - timedelta(microseconds=1)).date() == lo.date()
        fmt = "%H:%M" if whole else "%Y-%m-%d %H:%M"
        was, now = ((at - timedelta(seconds=1)).astimezone(zone).tzname(), at.astimezone(zone).tzname())
        day = f"{WEEKDAYS[lo.weekday()][:3].capitalize()} {lo:%Y-%m-%d}"
        change = f"{reached:{fmt}} {was} to {set_to:{fmt}} {now}: {lo:{fmt}}–{hi:{fmt}}"
        notes.append(
            f"On {day} the clocks in {tz} went {'back' if back else 'forward'} from {change} "
            f"{'came twice' if back else 'did not happen'}. The heat map counts clock hours, so that day "
            f"{_real_hours(lo, hi, back)}; {RANKED}"
        )
    return notes


def _real_hours(lo: datetime, hi: datetime, back: bool) -> str:
    """What the clock hours touched by the repeated (``back``) or skipped wall times [lo, hi)
    lasted: an hour and the overlap, or an hour less it; runs of equal hours are named once."""
    runs: list[tuple[datetime, datetime, timedelta]] = []  # (first hour, last hour, real length)
    h = lo.replace(minute=0, second=0, microsecond=0)
    while h < hi:
        overlap = min(hi, h + HOUR) - max(lo, h)
        real = HOUR + overlap if back else HOUR - overlap
        if runs and runs[-1][2] == real:
            runs[-1] = (runs[-1][0], h, real)
        else:
            runs.append((h, h, real))
        h += HOUR
    parts = []
    for first, last, real in runs:
        held = "no usage" if not real else f"the usage of {'two real hours' if real == 2 * HOUR else _length(real)}"
        if first == last:
            parts.append(f"its {first:%H:%M} hour holds {held}")
        else:
            parts.append(f"its hours {first:%H:%M} to {last:%H:%M} each hold {held}")
    return ", ".join(parts)


def _length(d: timedelta) -> str:
    """``1 h 30 min``, ``30 min``, ``2 h``."""
    hours, minutes = divmod(int(d.total_seconds()) // 60, 60)
    return " ".join(([f"{hours} h"] if hours else []) + ([f"{minutes} min"] if minutes else []))


def peak_window(by_hour: list[Any]) -> tuple[int, int, Any] | None:
    """(first hour, length, sum) of the shortest circular run of hours holding at least half of
    the total; among runs of that length the largest, then the earliest. None when all is 0."""
    whole = sum(by_hour)
    if not whole:
        return None
    for length in range(1, 25):
        best: tuple[int, int, Any] | None = None
        for start in range(24):
            s = sum(by_hour[(start + i) % 24] for i in range(length))
            if 2 * s >= whole and (best is None or s > best[2]):
                best = (start, length, s)
        if best:
            return best
    return None  # unreachable: 24 hours hold everything


def hourly(ctx: AppContext, req: ReportRequest, *, metric: str = "tokens", week_start: str | None = None) -> Report:
    if metric not in METRICS:
        raise UsageError(f"--metric {metric!r}: choose from {', '.join(METRICS)}")
    key = METRICS[metric]
    tz = effective_timezone(req.tz, ctx.config)
    today = local_today(tz, _now(req))
    ws = parse_week_start(week_start, ctx.config.week_start)
    # the 28 days up to today, or up to the day of an --until given alone
    flt = build_filters(ctx, req, default=lambda end: ((end or today) - timedelta(days=DEFAULT_DAYS - 1), end or today))
    cube, zone_notes = local_cube(ctx, flt, ["weekday", "hour"])
    cells = rollup(cube, ["weekday", "hour"])
    unpriced = unpriced_models(cube)
    totals = _totals(total(cube), unpriced)
    order = [(WEEKDAYS.index(ws) + i) % 7 for i in range(7)]  # Python weekday numbers, first day first
    zero: Any = Decimal(0) if metric == "cost" else 0

    def value(wd: int, hour: int) -> Any:
        rec = cells.get((wd + 1, hour))
        return rec[key] if rec else zero

    # an hour's, a weekday's and the whole range's sums: a cost is the priced part, a lower bound
    # when some of the usage is unpriced (the Unpriced column counts it, as in `report daily`),
    # and None (unpriced, never $0) when all of it is
    hours = {k[0]: v for k, v in rollup(cube, ["hour"]).items()}
    by_day = {k[0]: v for k, v in rollup(cube, ["weekday"]).items()}
    whole = total(cube) if cube else None

    def summed(rec: dict[str, Any] | None) -> Any:
        return rec[key] if rec is not None else zero

    rows = []
    for hour in range(24):
        row: dict[str, Any] = {"hour": hour}
        for wd in order:
            row[DAY_KEYS[wd]] = value(wd, hour)
        row["total"] = summed(hours.get(hour))
        if metric == "cost":
            row["unpriced_requests"] = hours[hour]["unpriced_requests"] if hour in hours else 0
        rows.append(row)
    day_totals = {DAY_KEYS[wd]: summed(by_day.get(wd + 1)) for wd in range(7)}
    grand = summed(whole)
    # the busiest hours, days and peaks rank what is priced
    by_hour = [r["total"] or 0 for r in rows]

    # the days that have begun: a weekday still to come in the range has no usage yet to average
    counts = _weekday_counts(flt.since, min(flt.until, today), tz)
    weekdays = []
    for wd in order:
        rec = by_day.get(wd + 1)
        weekdays.append(
            {
                "weekday": WEEKDAYS[wd].capitalize(),
                "days": counts[wd],
                "requests": rec["requests"] if rec else 0,
                "total_tokens": rec["total_tokens"] if rec else 0,
                "cost_usd": rec["cost_usd"] if rec else Decimal(0),
                "share_pct": _share(day_totals[DAY_KEYS[wd]], grand),
                "per_day": _per_day(day_totals[DAY_KEYS[wd]], counts[wd]),
                "unpriced_requests": rec["unpriced_requests"] if rec else 0,
            }
        )
    flat = [(value(wd, h) or 0, wd, h) for wd in range(7) for h in range(24)]
    peaks = sorted((c for c in flat if c[0]), key=lambda c: (-c[0], order.index(c[1]), c[2]))[:PEAKS]
    peak_rows = [
        {"weekday": WEEKDAYS[wd].capitalize(), "hour": h, "value": v, "share_pct": _share(v, grand)}
        for v, wd, h in peaks
    ]
    # the Unpriced column is in the table only when something is unpriced (``shown_metrics``)
    unpriced_col = Column("unpriced_requests", "Unpriced", "int", in_table=bool(totals["unpriced_requests"]))

    kind: Literal["money", "int"] = "money" if metric == "cost" else "int"
    columns = (
        (Column("hour", "Hour", "int"),)
        + tuple(Column(DAY_KEYS[wd], WEEKDAYS[wd][:3].capitalize(), kind) for wd in order)
        + (Column("total", "Total", kind),)
        + ((unpriced_col,) if metric == "cost" else ())
    )
    notes = [*_unpriced_notes(unpriced), *zone_notes, *clock_change_notes(tz, flt.start, flt.end)]
    if metric == "cost" and totals["unpriced_requests"]:
        notes.append(
            "A Total over usage of which some is unpriced is its priced cost, a lower bound (the Unpriced column "
            "counts the rest); a Total whose usage is all unpriced is unpriced. Shares and peaks are of the priced cost."
        )
    if len(set(counts)) > 1:
        notes.append(
            "The range holds "
            + ", ".join(f"{counts[wd]} {WEEKDAYS[wd][:3].capitalize()}" for wd in order)
            + ": compare weekdays by their average per day (the weekdays section)."
        )
    return Report(
        name="hourly",
        title=f"Usage by hour and weekday ({metric}) {flt.since} – {flt.until} ({tz})",
        filters=flt.as_dict() | {"metric": metric, "week_start": ws},
        columns=columns,
        rows=tuple(rows),
        totals=totals | day_totals | {"total": grand},
        overview=_overview(
            metric,
            grand or 0,
            by_hour,
            {k: v or 0 for k, v in day_totals.items()},
            order,
            peaks,
            unpriced=bool(totals["unpriced_requests"]),
        ),
        sections=(
            Section(
                "weekdays",
                "Weekdays",
                (
                    Column("weekday", "Weekday"),
                    Column("days", "Days", "int"),
                    Column("requests", "Requests", "int"),
                    Column("total_tokens", "Tokens", "int"),
                    Column("cost_usd", "Cost", "money"),
                    Column("share_pct", "Share", "pct"),
                    Column("per_day", "Per day", "money" if metric == "cost" else "float"),
                    unpriced_col,
                ),
                tuple(weekdays),
            ),
            Section(
                "peaks",
                "Peak periods",
                (
                    Column("weekday", "Weekday"),
                    Column("hour", "Hour", "int"),
                    Column("value", metric.capitalize(), kind),
                    Column("share_pct", "Share", "pct"),
                ),
                tuple(peak_rows),
            ),
        ),
        notes=tuple(notes),
    )


def _overview(
    metric: str,
    grand: Any,
    by_hour: list[Any],
    day_totals: dict[str, Any],
    order: list[int],
    peaks: list[tuple[Any, int, int]],
    *,
    unpriced: bool = False,
) -> tuple[tuple[str, str, Any], ...]:
    if not grand:
        # a range whose usage is all unpriced has no cost to rank, but it has usage
        none = "no priced usage in the range" if metric == "cost" and unpriced else "no usage in the range"
        return (("metric", "Metric", metric), ("busiest_hours", "Busiest hours", none))

    def pct(v: Any) -> str:
        return f"{(Decimal(v) * 100 / Decimal(grand)).quantize(Decimal('0.1'))}%"

    hours = sorted((h for h in range(24) if by_hour[h]), key=lambda h: (-by_hour[h], h))[:TOP]
    days = sorted((wd for wd in order if day_totals[DAY_KEYS[wd]]), key=lambda wd: -day_totals[DAY_KEYS[wd]])[:TOP]
    out: list[tuple[str, str, Any]] = [
        ("metric", "Metric", metric),
        ("busiest_hours", "Busiest hours", ", ".join(f"{_hh(h)} ({pct(by_hour[h])})" for h in hours)),
        (
            "busiest_days",
            "Busiest days",
            ", ".join(f"{WEEKDAYS[wd][:3].capitalize()} ({pct(day_totals[DAY_KEYS[wd]])})" for wd in days),
        ),
        (
            "peak_periods",
            "Peak periods",
            ", ".join(f"{WEEKDAYS[wd][:3].capitalize()} {_hh(h)}–{_hh(h + 1)} ({pct(v)})" for v, wd, h in peaks[:TOP]),
        ),
    ]
    window = peak_window(by_hour)
    if window:
        start, length, s = window
        out.append(
            ("peak_window", "Half of the usage in", f"{_hh(start)}–{_hh(start + length)} ({length} h, {pct(s)})")
        )
    return tuple(out)
