"""Cubes keyed by local calendar keys (date, hour, weekday, month), converted per quarter hour.

``reports.cube`` converts every event's instant to the report's zone (``timezone($tz, ts)``),
a noticeable share of a report over millions of events. ``local_cube`` first sums the priced
events per 15-minute UTC bucket (an integer key, cheap to hash) and converts only the buckets'
starts. That is exact when no local hour boundary falls inside a bucket, i.e. when every UTC
offset of the zone during the range is a whole number of quarter hours (true of every zone in
use since the 1980s, +05:45 and +12:45 included); otherwise it falls back to ``reports.cube``.
The result has the same rows and columns as ``reports.cube`` (roll it up with ``rollup``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from usagectl.store import reports as q

if TYPE_CHECKING:
    import duckdb

    from usagectl.models import Filters

QUARTER_HOUR_MS = 900_000
_BUCKET = "make_timestamptz(qh * 900000000)"  # the bucket's first instant (microseconds)
# local key -> SQL over the bucket start; the same meaning as reports.GROUP_KEYS
LOCAL_KEYS: dict[str, str] = {
    "date": f"CAST(timezone($tz, {_BUCKET}) AS DATE)",
    "hour": f"hour(timezone($tz, {_BUCKET}))",
    "weekday": f"isodow(timezone($tz, {_BUCKET}))",
    "month": f"strftime(timezone($tz, {_BUCKET}), '%Y-%m')",
}
_MONEY = ("cost_usd", "reported_cost_usd")


def quarter_hour_offsets(flt: Filters) -> bool:
    """Whether every UTC offset of ``flt.tz`` in [start, end) is a whole number of quarter hours
    (sampled daily and at the end: an offset lasts longer than a day)."""
    zone = ZoneInfo(flt.tz)
    t = flt.start
    while True:
        offset = t.astimezone(zone).utcoffset()
        if offset is None or offset.total_seconds() % 900:
            return False
        if t >= flt.end:
            return True
        t = min(t + timedelta(days=1), flt.end)


def local_cube(con: duckdb.DuckDBPyConnection, flt: Filters, group_by: Iterable[str]) -> list[dict[str, Any]]:
    """``reports.cube(con, flt, group_by)``, cheaper when ``group_by`` holds local calendar keys."""
    keys = list(group_by)
    local = [k for k in keys if k in LOCAL_KEYS]
    if not local or not quarter_hour_offsets(flt):
        return q.cube(con, flt, keys)
    other = [k for k in keys if k not in LOCAL_KEYS]
    base = q._filtered(flt)
    inner_keys = "".join(f"{q.GROUP_KEYS[k]} AS {k}, " for k in other)  # allow-listed names only
    inner_pos = ", ".join(str(i + 1) for i in range(len(other) + 2))
    inner = (
        f"SELECT epoch_ms(ts) // {QUARTER_HOUR_MS} AS qh, {inner_keys}"
        f"CASE WHEN cost IS NULL THEN coalesce(model_raw, cmodel, '(none)') END AS unpriced_raw, {q.SUMS} "
        f"FROM ({base.sql}) f GROUP BY {inner_pos}"
    )
    sums = ", ".join(f"sum({k}) AS {k}" if k in _MONEY else f"sum({k})::BIGINT AS {k}" for k in q.SUM_KEYS)
    outer_keys = "".join(f"{LOCAL_KEYS[k]} AS {k}, " if k in LOCAL_KEYS else f"{k}, " for k in keys)
    outer_pos = ", ".join(str(i + 1) for i in range(len(keys) + 1))
    sql = f"SELECT {outer_keys}unpriced_raw, {sums} FROM ({inner}) g GROUP BY {outer_pos}"
    params = dict(base.params) | {"tz": flt.tz}
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
