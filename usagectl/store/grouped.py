"""Price after aggregating: the report engine's fast path, exact to the cent and beyond.

An event's cost is ``sum(bucket x rate)`` where the rate row depends only on the canonical model,
the service tier, the price period that holds ``ts`` and the context band of the request's input.
Events that agree on those four share one rate row, and because DECIMAL products are exact,
``sum over events (tokens x rate) == (sum over events tokens) x rate``. So the events are first
summed per group of report keys and per *pricing class* in one narrow scan of plain columns, and
only those groups (thousands, not millions) are mapped, joined with the price rates and costed.

The pricing class of an event, computed per row with constants taken from ``price_rates``:

* ``_seg_ts``: the last period boundary (any ``valid_from``/``valid_to``) at or before ``ts``
  (NULL before the first). Between two boundaries every rate's validity is constant, so testing
  the period condition at the segment's start gives the event's answer;
* ``_band_in``: the effective input (0 for provider buckets, ``requests <> 1``, as in
  ``priced_events.sql``) replaced by the lowest integer of its interval between consecutive band
  thresholds (any ``min_input_exclusive``/``max_input_inclusive``): every band condition has the
  same truth value on the whole interval.

Local calendar keys (date, hour, weekday, month) are summed per UTC hour or quarter hour and the
bucket's start is converted, which is exact when every UTC offset of the zone in the range is a
multiple of the bucket (checked; otherwise the key is computed per event). The per-event engine
(``priced_events.sql`` through ``reports._filtered``) stays the reference: tests compare both.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    import duckdb

    from usagectl.models import Filters

# report key -> the raw event columns the grouped relation needs to compute it
_DERIVED_NEEDS: dict[str, tuple[str, ...]] = {
    "cprovider": ("provider",),
    "cteam": ("team", "member"),
    "cdepartment": ("department", "member"),
    "ccost_center": ("cost_center", "member"),
}
_DERIVED_SQL: dict[str, str] = {
    "cprovider": "coalesce(g.provider, mm.provider)",
    "cteam": "coalesce(g.team, mem.team)",
    "cdepartment": "coalesce(g.department, mem.department)",
    "ccost_center": "coalesce(g.cost_center, mem.cost_center)",
}
_LOCAL = ("date", "hour", "weekday", "month")
_LOCAL_OF_BUCKET: dict[str, str] = {
    "date": "CAST(timezone($tz, {b}) AS DATE)",
    "hour": "hour(timezone($tz, {b}))",
    "weekday": "isodow(timezone($tz, {b}))",
    "month": "strftime(timezone($tz, {b}), '%Y-%m')",
}
_SUMMED = (
    "requests", "input_tokens", "cache_read_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens",
    "output_tokens", "reasoning_tokens", "web_search_requests",
)  # fmt: skip
_EFFECTIVE_INPUT = (
    "(CASE WHEN requests <> 1 THEN 0 "
    "ELSE input_tokens + cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens END)"
)


def bucket_seconds(flt: Filters) -> int | None:
    """3600 or 900 when every UTC offset of ``flt.tz`` in [start, end) is a whole number of hours
    or quarter hours (sampled daily and at the end: an offset lasts longer than a day); else None."""
    zone = ZoneInfo(flt.tz)
    step = 3600
    t = flt.start
    while True:
        offset = t.astimezone(zone).utcoffset()
        seconds = int(offset.total_seconds()) if offset is not None else 1
        if seconds % 3600:
            step = 900
        if seconds % 900:
            return None
        if t >= flt.end:
            return step
        t = min(t + timedelta(days=1), flt.end)


def _class_exprs(con: duckdb.DuckDBPyConnection, flt: Filters, params: dict[str, Any]) -> tuple[str, str]:
    """The per-row SQL of ``_seg_ts`` and ``_band_in``, with their constants bound in ``params``.

    Only the period boundaries inside (start, end) need a per-row test: before the range the
    segment is the same for every row (the last boundary at or before ``start``)."""
    bounds = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT b FROM (SELECT valid_from AS b FROM price_rates UNION ALL "
            "SELECT valid_to FROM price_rates) WHERE b IS NOT NULL ORDER BY b DESC"
        ).fetchall()
    ]
    limits = [
        int(r[0])
        for r in con.execute(
            "SELECT DISTINCT t FROM (SELECT min_input_exclusive AS t FROM price_rates UNION ALL "
            "SELECT max_input_inclusive FROM price_rates) WHERE t IS NOT NULL AND t > 0 ORDER BY t DESC"
        ).fetchall()
    ]
    params["pb_base"] = max((b for b in bounds if b <= flt.start), default=None)
    seg = "$pb_base::TIMESTAMPTZ"
    inside = [b for b in bounds if flt.start < b < flt.end]
    if inside:
        whens = []
        for i, b in enumerate(inside):
            params[f"pb{i}"] = b
            whens.append(f"WHEN ts >= $pb{i} THEN $pb{i}::TIMESTAMPTZ")
        seg = f"CASE {' '.join(whens)} ELSE $pb_base::TIMESTAMPTZ END"
    band = "0::BIGINT"
    if limits:
        whens = []
        for i, t in enumerate(limits):
            params[f"pt{i}"] = t
            whens.append(f"WHEN {_EFFECTIVE_INPUT} > $pt{i} THEN $pt{i}::BIGINT + 1")
        band = f"CASE {' '.join(whens)} ELSE 0::BIGINT END"
    return seg, band


def priced_groups(
    con: duckdb.DuckDBPyConnection, flt: Filters, keys: Sequence[str], group_keys: dict[str, str],
    filter_columns: dict[str, str],
) -> tuple[str, dict[str, Any], dict[str, str]]:  # fmt: skip
    """SQL of the priced groups relation, its parameters, and the SQL of each key over it.

    The relation has the columns of the per-event ``priced`` relation that reports sum
    (``requests`` … ``web_search_requests``, ``total_tokens``, ``cost``, ``rate_id``,
    ``reported_cost_usd``, ``model_raw``, ``cmodel``) plus what the keys and filters need."""
    params: dict[str, Any] = {"start": flt.start, "end": flt.end}
    seg, band = _class_exprs(con, flt, params)
    step = bucket_seconds(flt)
    raw: list[str] = ["model_raw", "model", "service_tier"]
    inner: list[str] = []  # extra stage-1 expressions (local keys)
    derived: list[str] = []
    key_sql: dict[str, str] = {}

    def need(column: str) -> None:
        if column in _DERIVED_NEEDS:
            if column not in derived:
                derived.append(column)
            for c in _DERIVED_NEEDS[column]:
                need(c)
        elif column not in raw and column != "cmodel":
            raw.append(column)

    for k in keys:
        if k in _LOCAL:
            if step is not None:
                if "qh" not in inner:
                    inner.append("qh")
                key_sql[k] = _LOCAL_OF_BUCKET[k].format(b=f"make_timestamptz(qh * {step * 1_000_000})")
            else:
                inner.append(k)
                key_sql[k] = f"_k_{k}"
        else:
            need(group_keys[k])
            key_sql[k] = group_keys[k]
    raw_where: list[str] = []
    late_where: list[str] = []
    for name, values in flt.where.items():
        col = filter_columns[name]  # KeyError = programming error: names come from the allow-list
        marks = []
        for i, v in enumerate(values):
            params[f"f_{name}_{i}"] = v
            marks.append(f"$f_{name}_{i}")
        clause = f"{col} IN ({', '.join(marks)})"
        if col in _DERIVED_NEEDS or col == "cmodel":
            need(col)
            late_where.append(clause)
        else:
            raw_where.append(clause)
    firsts = [
        f"epoch_ms(ts) // {(step or 0) * 1000} AS qh" if c == "qh" else f"{group_keys[c]} AS _k_{c}" for c in inner
    ]
    sums = [f"sum({c})::BIGINT AS {c}" for c in _SUMMED] + ["sum(reported_cost_usd) AS reported_cost_usd"]
    stage1 = (
        f"SELECT {', '.join([*raw, *firsts, f'{seg} AS _seg_ts', f'{band} AS _band_in', *sums])} "
        f"FROM events WHERE ts >= $start AND ts < $end{''.join(' AND ' + w for w in raw_where)} GROUP BY ALL"
    )
    members = any(c in derived for c in ("cteam", "cdepartment", "ccost_center"))
    mapped = "".join(f", {_DERIVED_SQL[c]} AS {c}" for c in derived)
    sql = f"""
WITH g AS ({stage1}),
ev AS (
    SELECT g.*, coalesce(mm.model, g.model, g.model_raw) AS cmodel{mapped},
        g.input_tokens + g.cache_read_tokens + g.cache_write_5m_tokens + g.cache_write_1h_tokens
            + g.output_tokens AS total_tokens
    FROM g
    LEFT JOIN model_map mm ON mm.model_raw = coalesce(g.model_raw, g.model)
    {"LEFT JOIN member_map mem ON mem.member = g.member" if members else ""}
)
SELECT ev.*, r.rate_id,
    ev.input_tokens * r.input_rate
        + ev.cache_read_tokens * r.cache_read_rate
        + ev.cache_write_5m_tokens * r.cache_write_5m_rate
        + ev.cache_write_1h_tokens * r.cache_write_1h_rate
        + ev.output_tokens * r.output_rate
        + ev.web_search_requests * r.web_search_rate AS cost
FROM ev
LEFT JOIN price_rates r
    ON r.model = ev.cmodel
    AND r.service_tier = ev.service_tier
    AND (r.valid_from IS NULL OR (ev._seg_ts IS NOT NULL AND ev._seg_ts >= r.valid_from))
    AND (r.valid_to IS NULL OR ev._seg_ts IS NULL OR ev._seg_ts < r.valid_to)
    AND (r.min_input_exclusive = 0 OR ev._band_in > r.min_input_exclusive)
    AND (r.max_input_inclusive IS NULL OR ev._band_in <= r.max_input_inclusive)
{("WHERE " + " AND ".join(late_where)) if late_where else ""}"""
    if any("$tz" in s for s in key_sql.values()) or any(k in _LOCAL for k in keys):
        params["tz"] = flt.tz
    return sql, params, key_sql
