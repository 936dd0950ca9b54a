"""Price after aggregating: the report engine's fast path, exact to the cent and beyond.

An event's cost is ``sum(bucket x rate)`` where the rate row depends only on the canonical model,
the service tier, the price period that holds ``ts`` and the context band of the request's input.
Events that agree on those four share one rate row, and because DECIMAL products are exact,
``sum over events (tokens x rate) == (sum over events tokens) x rate``. So the events are first
summed per group of report keys and per *pricing class* in one narrow scan of plain columns, and
only those groups (thousands, not millions) are mapped, joined with the price rates and costed.

The pricing class of an event, computed per row with constants taken from ``price_rates``:

* ``_seg_ts``: the last period boundary (any ``valid_from``/``valid_to``, of a price or of a
  member's team mapping) at or before ``ts`` (NULL before the first). Between two boundaries
  every rate's validity and every member's period is constant, so testing the period condition
  at the segment's start gives the event's answer;
* ``_web``: whether the event made web searches (a row without a per-call rate prices only
  events without);
* ``_band_in``: the effective input (for provider buckets, ``requests <> 1``, the ``band_input``
  the row states, else 0, as in ``priced_events.sql``) replaced by the lowest integer of its interval between consecutive band
  thresholds (any ``min_input_exclusive``/``max_input_inclusive``): every band condition has the
  same truth value on the whole interval.

Local calendar keys (date, hour, weekday, month) come from the local day (or hour) number
``(epoch_us(ts) // 1000 + offset) // 86_400_000`` (whole milliseconds: ``epoch_ms`` rounds
.9995 s up into the next second, and so into the next day), where the zone's UTC offset is a piecewise constant
over the range: its transitions are found in Python (``zoneinfo``) and become a short CASE on
``ts``. That is exact for every zone and offset, and costs integer arithmetic per event instead
of a time-zone conversion; the events are then grouped per local day, not per instant. The per-event engine
(``priced_events.sql`` through ``reports._filtered``) stays the reference: tests compare both.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from usagectl.store.reports import member_join, web_cost, web_priced

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
LOCAL_KEYS = ("date", "hour", "weekday", "month")
_EPOCH_DATE = "(DATE '1970-01-01' + CAST({n} AS INTEGER))"
_DAY_MS = 86_400_000
_HOUR_MS = 3_600_000
_SUMMED = (
    "requests", "input_tokens", "cache_read_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens",
    "output_tokens", "reasoning_tokens", "web_search_requests",
)  # fmt: skip
# unpriced_requests counts a row without a request count (an Anthropic usage bucket, requests 0)
# as one request: per EVENT, so it is summed here beside ``requests``, before the events are
# grouped (``greatest`` over a group's sum would count 24 such buckets of a day as one). The
# events of a group share one pricing class: all of them are priced, or none.
_COUNTED = "sum(greatest(requests, 1))::HUGEINT AS counted_requests"
# Events with and without web searches apart: a price row without a per-call rate prices only
# the latter (``reports.web_priced``), so a group must not mix them.
_WEB_CLASS = "(web_search_requests > 0) AS _web"
_EFFECTIVE_INPUT = (
    "(CASE WHEN requests <> 1 THEN coalesce(band_input, 0) "
    "ELSE input_tokens + cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens END)"
)


def offset_segments(tz: str, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """The UTC offsets (ms) of ``tz`` over [start, end): (first instant, offset) per stretch, the
    first stretch starting at ``start``. Transitions are found day by day, then to the second
    (zone transitions fall on whole seconds)."""
    zone = ZoneInfo(tz)

    def off(second: int) -> int:
        o = datetime.fromtimestamp(second, UTC).astimezone(zone).utcoffset()
        return int(o.total_seconds() * 1000) if o is not None else 0

    first, last = math.floor(start.timestamp()), math.ceil(end.timestamp())
    out = [(start, off(first))]
    t = first
    while t < last:
        nxt = min(t + 86_400, last)
        if off(nxt) != out[-1][1]:
            lo, hi = t, nxt  # off(lo) is the current offset, off(hi) is not
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if off(mid) == out[-1][1] else (lo, mid)
            out.append((datetime.fromtimestamp(hi, UTC), off(hi)))
        t = nxt
    return out


def offset_sql(flt: Filters, params: dict[str, Any]) -> str:
    segments = offset_segments(flt.tz, flt.start, flt.end)
    params["tzo0"] = segments[0][1]
    if len(segments) == 1:
        return "$tzo0::BIGINT"
    whens = []
    for i, (instant, offset) in reversed(list(enumerate(segments))[1:]):
        params[f"tzt{i}"], params[f"tzo{i}"] = instant, offset
        whens.append(f"WHEN ts >= $tzt{i} THEN $tzo{i}::BIGINT")
    return f"CASE {' '.join(whens)} ELSE $tzo0::BIGINT END"


def local_keys_sql(flt: Filters, params: dict[str, Any]) -> dict[str, str]:
    """SQL of the local calendar keys (date, hour, weekday, month) of each row's ``ts`` in
    ``flt.tz``, from Python's zone rules (``offset_sql``), constants bound in ``params``.

    Every local key in usagectl comes from these rules: DuckDB's ``timezone()`` carries its own
    copy of the zone database, which can be older or newer than the one ``zoneinfo`` reads (QA:
    Casablanca from 2026-09-21 and Vancouver from 2026-11-01 differed by an hour), and a
    partition, a per-event row and a report would then place one event on two days."""
    ms = f"(epoch_us(ts) // 1000 + {offset_sql(flt, params)})"
    day = _EPOCH_DATE.format(n=f"{ms} // {_DAY_MS}")
    return {
        "date": day,
        "hour": f"(({ms} // {_HOUR_MS}) % 24)",
        "weekday": f"isodow({day})",
        "month": f"strftime({day}, '%Y-%m')",
    }


def _class_exprs(con: duckdb.DuckDBPyConnection, flt: Filters, params: dict[str, Any]) -> tuple[str, str]:
    """The per-row SQL of ``_seg_ts`` and ``_band_in``, with their constants bound in ``params``.

    Only the period boundaries inside (start, end) need a per-row test: before the range the
    segment is the same for every row (the last boundary at or before ``start``)."""
    # only the rates of the models the range's events can be priced as: another model's period
    # boundaries and band thresholds would split the groups for nothing (more classes, same cost)
    rel = {"models": _class_models(con, flt)}
    # a member's team changes are boundaries too: between two, every member's period is constant
    bounds = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT b FROM (SELECT valid_from AS b FROM price_rates WHERE list_contains($models, model) "
            "UNION ALL SELECT valid_to FROM price_rates WHERE list_contains($models, model) "
            "UNION ALL SELECT valid_from FROM member_map) "
            "WHERE b IS NOT NULL ORDER BY b DESC",
            rel,
        ).fetchall()
    ]
    limits = [
        int(r[0])
        for r in con.execute(
            "SELECT DISTINCT t FROM (SELECT min_input_exclusive AS t FROM price_rates WHERE list_contains($models, model) "
            "UNION ALL SELECT max_input_inclusive FROM price_rates WHERE list_contains($models, model)) "
            "WHERE t IS NOT NULL AND t > 0 ORDER BY t DESC",
            rel,
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


def _class_models(con: duckdb.DuckDBPyConnection, flt: Filters) -> list[str]:
    """The canonical models (``coalesce(mm.model, e.model, e.model_raw)``, as the price join sees
    them) of the range's events, from ``model_map``; only the rare names it cannot resolve are
    looked up in the events (their stored ``model``)."""
    found = con.execute(
        "SELECT list(DISTINCT model) FILTER (WHERE model IS NOT NULL), list(model_raw) FILTER (WHERE model IS NULL) "
        "FROM model_map"
    ).fetchone()
    models, unresolved = (found[0] or [], found[1] or []) if found else ([], [])
    if unresolved:
        stored = con.execute(
            "SELECT list(DISTINCT model) FROM events WHERE ts >= $start AND ts < $end AND model IS NOT NULL "
            "AND list_contains($raws, coalesce(model_raw, model))",
            {"start": flt.start, "end": flt.end, "raws": unresolved},
        ).fetchone()
        models = [*models, *unresolved, *((stored[0] or []) if stored else [])]
    return sorted(set(models))


def priced_groups(
    con: duckdb.DuckDBPyConnection, flt: Filters, keys: Sequence[str], group_keys: dict[str, str],
    filter_columns: dict[str, str], *, extra: Sequence[str] = (), also: Sequence[str] = (),
    extra_params: dict[str, Any] | None = None, aggregates: Sequence[str] = (),
) -> tuple[str, dict[str, Any], dict[str, str]]:  # fmt: skip
    """SQL of the priced groups relation, its parameters, and the SQL of each key over it.

    The relation has the columns of the per-event ``priced`` relation that reports sum
    (``requests`` … ``web_search_requests``, ``counted_requests``, ``total_tokens``, ``cost``,
    ``rate_id``, ``reported_cost_usd``, ``model_raw``, ``cmodel``) plus what the keys and filters need.
    ``extra``: more per-event expressions (``"<sql over events> AS name"``, their values bound
    in ``extra_params``) that the events are also grouped by; ``also``: more derived columns
    (``cprovider``, ``cteam`` …) to compute; ``aggregates``: more per-group aggregates of the
    events (``"min(ts) AS first_ts"``), carried to the relation as columns."""
    params: dict[str, Any] = {"start": flt.start, "end": flt.end, **(extra_params or {})}
    seg, band = _class_exprs(con, flt, params)
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

    local = [k for k in keys if k in LOCAL_KEYS]
    if local:
        unit = "lh" if "hour" in local else "ld"
        inner.append(
            f"(epoch_us(ts) // 1000 + {offset_sql(flt, params)}) // {_HOUR_MS if unit == 'lh' else _DAY_MS} AS {unit}"
        )
        day = _EPOCH_DATE.format(n="lh // 24" if unit == "lh" else "ld")
        local_sql = {
            "date": day,
            "hour": "(lh % 24)",
            "weekday": f"isodow({day})",
            "month": f"strftime({day}, '%Y-%m')",
        }
    for k in keys:
        if k in LOCAL_KEYS:
            key_sql[k] = local_sql[k]
        else:
            need(group_keys[k])
            key_sql[k] = group_keys[k]
    for column in also:
        need(column)
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
    firsts = inner
    sums = [f"sum({c})::HUGEINT AS {c}" for c in _SUMMED] + [
        _COUNTED,
        "sum(reported_cost_usd) AS reported_cost_usd",
        *aggregates,
    ]
    stage1 = (
        f"SELECT {', '.join([*raw, *firsts, *extra, f'{seg} AS _seg_ts', f'{band} AS _band_in', _WEB_CLASS, *sums])} "
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
    {member_join("g", "g._seg_ts") if members else ""}
)
SELECT ev.*, CASE WHEN {web_priced("ev.")} THEN r.rate_id END AS rate_id,
    ev.input_tokens * r.input_rate
        + ev.cache_read_tokens * r.cache_read_rate
        + ev.cache_write_5m_tokens * r.cache_write_5m_rate
        + ev.cache_write_1h_tokens * r.cache_write_1h_rate
        + ev.output_tokens * r.output_rate
        + {web_cost("ev.")} AS cost,
    r.rate_id IS NOT NULL AND NOT {web_priced("ev.")} AS no_web_price
FROM ev
LEFT JOIN price_rates r
    ON r.model = ev.cmodel
    AND r.service_tier = ev.service_tier
    AND (r.valid_from IS NULL OR (ev._seg_ts IS NOT NULL AND ev._seg_ts >= r.valid_from))
    AND (r.valid_to IS NULL OR ev._seg_ts IS NULL OR ev._seg_ts < r.valid_to)
    AND (r.min_input_exclusive = 0 OR ev._band_in > r.min_input_exclusive)
    AND (r.max_input_inclusive IS NULL OR ev._band_in <= r.max_input_inclusive)
{("WHERE " + " AND ".join(late_where)) if late_where else ""}"""
    return sql, params, key_sql
