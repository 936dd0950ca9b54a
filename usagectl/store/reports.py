"""Report queries over priced events. SQL lives in ``queries/``; group keys and filter
columns come from allow-lists, values are always bound."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    import duckdb

    from usagectl.config import MemberInfo
    from usagectl.models import Filters
    from usagectl.pricing import PriceBook

from usagectl.store.tables import load_temp_table, rows_as_dicts

PER_MILLION = Decimal(1_000_000)

# the local calendar keys (date, hour, weekday 1 = Monday … 7 = Sunday, month in the report's
# zone) come from Python's zone rules: ``grouped.local_keys_sql`` (never DuckDB's timezone(),
# whose zone database can differ); used as plain SQL by mistake, this fails loudly
_LOCAL_KEY = "error('a local calendar key: use store.grouped.local_keys_sql')"

# group key -> SQL expression over the `priced` relation
GROUP_KEYS: dict[str, str] = {
    "date": _LOCAL_KEY,
    "hour": _LOCAL_KEY,
    "model": "cmodel",
    "provider": "cprovider",
    "member": "member",
    "team": "cteam",
    "department": "cdepartment",
    "cost_center": "ccost_center",
    "project": "project",
    "workspace": "workspace",
    "api_key": "api_key",
    "feature": "feature",
    "tool": "tool",
    "integration": "integration",
    "platform": "platform",
    "service_tier": "service_tier",
    "source": "source",
    "weekday": _LOCAL_KEY,
    "month": _LOCAL_KEY,
    "session_id": "session_id",
    "chat_title": "chat_title",
    "message_id": "message_id",
    "file_id": "file_id",
    "file_name": "file_name",
    "status": "status",
    "error_type": "error_type",
}
# filter name -> column of the `priced` relation
FILTER_COLUMNS: dict[str, str] = {
    "model": "cmodel",
    "provider": "cprovider",
    "member": "member",
    "team": "cteam",
    "department": "cdepartment",
    "cost_center": "ccost_center",
    "project": "project",
    "feature": "feature",
    "tool": "tool",
    "integration": "integration",
    "platform": "platform",
    "source": "source",
    "workspace": "workspace",
    "api_key": "api_key",
    "service_tier": "service_tier",
    "session_id": "session_id",
    "status": "status",
}

# unpriced_requests: a row without a price whose request count is not reported (an Anthropic
# usage bucket, ``requests`` 0) counts as one, so that a total with unpriced usage never passes
# for a priced $0 (QA: "Current cost $0.00" for an unpriced bucket); the notes say the count is
# not reported. Each EVENT counts so (``counted_requests``, summed per event by both engines):
# ``greatest`` over a group's summed requests would depend on the grouping (24 hourly buckets of
# a day were one request, a bucket beside a 3-request event none)
SUMS = """
    sum(requests)::HUGEINT AS requests,
    sum(input_tokens)::HUGEINT AS input_tokens,
    sum(cache_read_tokens)::HUGEINT AS cache_read_tokens,
    sum(cache_write_5m_tokens)::HUGEINT AS cache_write_5m_tokens,
    sum(cache_write_1h_tokens)::HUGEINT AS cache_write_1h_tokens,
    sum(cache_write_5m_tokens + cache_write_1h_tokens)::HUGEINT AS cache_write_tokens,
    sum(output_tokens)::HUGEINT AS output_tokens,
    sum(reasoning_tokens)::HUGEINT AS reasoning_tokens,
    sum(total_tokens)::HUGEINT AS total_tokens,
    sum(cost) AS cost_usd,
    coalesce(sum(counted_requests) FILTER (WHERE cost IS NULL), 0)::HUGEINT AS unpriced_requests,
    coalesce(sum(total_tokens) FILTER (WHERE cost IS NULL), 0)::HUGEINT AS unpriced_tokens,
    sum(reported_cost_usd) AS reported_cost_usd
"""
SUM_KEYS = (
    "requests", "input_tokens", "cache_read_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens",
    "cache_write_tokens", "output_tokens", "reasoning_tokens", "total_tokens", "cost_usd", "unpriced_requests", "unpriced_tokens",
    "reported_cost_usd",
)  # fmt: skip


_QUERIES = Path(__file__).parent / "queries"


@cache
def _sql(name: str) -> str:
    text = (_QUERIES / name).read_text(encoding="utf-8")
    if "{mapped_events}" in text:
        text = text.replace("{mapped_events}", _sql("mapped_events.sql"))
    text = text.replace("{member_join}", member_join("e", "e.ts"))
    return text.replace("{web_priced}", web_priced("ev.")).replace("{web_cost}", web_cost("ev."))


# Web searches, the one rule of every cost query (the SQL of ``PriceBook.cost``): a price row
# without a per-call rate (``price_rates.web_search_rate`` NULL) cannot price a request that
# searched, so that request is unpriced (``cost`` and ``rate_id`` NULL) like an unknown model,
# never $0; a request without searches owes nothing for them at any row.
def web_priced(p: str) -> str:
    """SQL: true when price row ``r`` can price the web searches of the row prefixed ``p``."""
    return f"({p}web_search_requests = 0 OR r.web_search_rate IS NOT NULL)"


def web_cost(p: str) -> str:
    """SQL: the web-search part of the cost of the row prefixed ``p`` at price row ``r``."""
    return f"(CASE WHEN {p}web_search_requests = 0 THEN 0 ELSE {p}web_search_requests * r.web_search_rate END)"


def _per_token(rate_per_million: Decimal) -> Decimal:
    value = rate_per_million / PER_MILLION
    if value != value.quantize(Decimal("1e-12")):
        raise ValueError(f"rate {rate_per_million}/M has more than 6 decimals")
    return value


RATE = "DECIMAL(18,12)"


def member_join(row: str, ts: str) -> str:
    """The join of ``member_map`` (alias ``mem``) for the relation ``row``: the member's period
    that holds ``ts`` (a member's periods do not overlap, so at most one row matches). ``ts`` may
    be NULL (``grouped``'s segment before the first boundary): only an unbounded start holds it."""
    return (
        f"LEFT JOIN member_map mem ON mem.member = {row}.member "
        f"AND (mem.valid_from IS NULL OR ({ts} IS NOT NULL AND {ts} >= mem.valid_from)) "
        f"AND (mem.valid_to IS NULL OR {ts} IS NULL OR {ts} < mem.valid_to)"
    )


def prepare_session(
    con: duckdb.DuckDBPyConnection, book: PriceBook, members: Mapping[str, MemberInfo], flt: Filters
) -> None:
    """Create the session tables price_rates, member_map and model_map for this connection."""
    rows = book.rate_rows()
    load_temp_table(
        con,
        "price_rates",
        [
            ("rate_id", "BIGINT"),
            ("model", "VARCHAR"),
            ("service_tier", "VARCHAR"),
            ("valid_from", "TIMESTAMPTZ"),
            ("valid_to", "TIMESTAMPTZ"),
            ("min_input_exclusive", "BIGINT"),
            ("max_input_inclusive", "BIGINT"),
            ("long_context", "BOOLEAN"),
            ("input_rate", RATE),
            ("cache_read_rate", RATE),
            ("cache_write_5m_rate", RATE),
            ("cache_write_1h_rate", RATE),
            ("output_rate", RATE),
            ("web_search_rate", RATE),
        ],
        [
            (
                i,
                r.model,
                r.service_tier,
                r.valid_from,
                r.valid_to,
                r.min_input_exclusive,
                r.max_input_inclusive,
                r.min_input_exclusive > 0,
                _per_token(r.rates.input),
                _per_token(r.rates.cache_read),
                _per_token(r.rates.cache_write_5m),
                _per_token(r.rates.cache_write_1h),
                _per_token(r.rates.output),
                r.rates.web_search_per_call,
            )
            for i, r in enumerate(rows)
        ],
    )
    load_temp_table(
        con,
        "member_map",
        [
            ("member", "VARCHAR"),
            ("team", "VARCHAR"),
            ("department", "VARCHAR"),
            ("cost_center", "VARCHAR"),
            ("valid_from", "TIMESTAMPTZ"),
            ("valid_to", "TIMESTAMPTZ"),
        ],
        [
            (n, p.team, p.department, p.cost_center, p.valid_from, p.valid_to)
            for n, m in sorted(members.items())
            for p in m.periods()
        ],
    )
    raws = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT coalesce(model_raw, model) FROM events WHERE ts >= $start AND ts < $end "
            "AND coalesce(model_raw, model) IS NOT NULL",
            {"start": flt.start, "end": flt.end},
        ).fetchall()
    ]
    mapping = []
    for raw in raws:
        model = book.resolve(raw)
        mapping.append((raw, model, book.provider_of(model) if model else None))
    load_temp_table(
        con, "model_map", [("model_raw", "VARCHAR"), ("model", "VARCHAR"), ("provider", "VARCHAR")], mapping
    )


@dataclass(frozen=True)
class Query:
    sql: str
    params: dict[str, Any]


def _filtered(flt: Filters, relation: str = "priced_events.sql") -> Query:
    """The events of ``flt`` (range and filters) over ``relation``: the priced events, or
    ``mapped_events.sql`` for a query that needs no cost (it skips the price join)."""
    params: dict[str, Any] = {"start": flt.start, "end": flt.end}
    clauses: list[str] = []
    for name, values in flt.where.items():
        col = FILTER_COLUMNS[name]  # KeyError = programming error: names come from the allow-list
        keys = []
        for i, v in enumerate(values):
            key = f"f_{name}_{i}"
            params[key] = v
            keys.append(f"${key}")
        clauses.append(f"{col} IN ({', '.join(keys)})")
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    return Query(f"SELECT * FROM ({_sql(relation)}) p{where}", params)


def aggregate(con: duckdb.DuckDBPyConnection, flt: Filters, group_by: Iterable[str]) -> list[dict[str, Any]]:
    """Sums per group (or one row of totals when group_by is empty)."""
    from usagectl.store.grouped import priced_groups

    keys = list(group_by)
    rel, params, key_sql = priced_groups(con, flt, keys, GROUP_KEYS, FILTER_COLUMNS)
    select_keys = ", ".join(f"{key_sql[k]} AS {k}" for k in keys)
    positions = ", ".join(str(i + 1) for i in range(len(keys)))  # positions: aliases may shadow event columns
    group = f" GROUP BY {positions} ORDER BY {positions}" if keys else ""
    sql = f"SELECT {select_keys + ', ' if keys else ''}{SUMS} FROM ({rel}) f{group}"
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description]
    out = []
    for row in cur.fetchall():
        rec = dict(zip(names, row, strict=True))
        for k in SUM_KEYS:
            if k not in ("cost_usd", "reported_cost_usd") and rec.get(k) is None:
                rec[k] = 0
        out.append(rec)
    return out


def cube(con: duckdb.DuckDBPyConnection, flt: Filters, group_by: Iterable[str]) -> list[dict[str, Any]]:
    """Sums per group and per unpriced model name (``unpriced_raw``: the model name of the rows
    without a cost, as the reports' rows name it (``pricing check`` lists the logged spellings);
    NULL for priced rows) and cause (``unpriced_web``: True when the model
    has a price but not for the rows' web searches), in ONE pass; roll it up with ``rollup``.

    Priced after aggregating (``store.grouped``); ``cube_per_event`` is the reference."""
    from usagectl.store.grouped import priced_groups

    keys = list(group_by)
    rel, params, key_sql = priced_groups(con, flt, keys, GROUP_KEYS, FILTER_COLUMNS)
    return _cube_over(con, rel, params, keys, key_sql)


def cube_per_event(con: duckdb.DuckDBPyConnection, flt: Filters, group_by: Iterable[str]) -> list[dict[str, Any]]:
    """``cube`` computed from each event's own cost (``priced_events.sql``): the reference engine."""
    from usagectl.store.grouped import local_keys_sql

    keys = list(group_by)
    base = _filtered(flt)
    params = dict(base.params)
    local = local_keys_sql(flt, params) if any(GROUP_KEYS[k] == _LOCAL_KEY for k in keys) else {}
    return _cube_over(con, base.sql, params, keys, {k: local.get(k) or GROUP_KEYS[k] for k in keys})


def _cube_over(
    con: duckdb.DuckDBPyConnection, rel: str, params: dict[str, Any], keys: list[str], key_sql: dict[str, str]
) -> list[dict[str, Any]]:
    select_keys = "".join(f"{key_sql[k]} AS {k}, " for k in keys)
    positions = ", ".join(str(i + 1) for i in range(len(keys) + 2))
    sql = (
        f"SELECT {select_keys}CASE WHEN cost IS NULL THEN coalesce(cmodel, model_raw, '(none)') END AS unpriced_raw, "
        "CASE WHEN cost IS NULL THEN no_web_price END AS unpriced_web, "
        f"{SUMS}, sum(web_search_requests)::HUGEINT AS web_search_requests FROM ({rel}) f GROUP BY {positions}"
    )
    cur = con.execute(sql, params)
    return rows_as_dicts(cur)


def web_search_cost(con: duckdb.DuckDBPyConnection, flt: Filters) -> list[dict[str, Any]]:
    """The computed web-search cost (calls × the model's per-call rate) per day (in ``flt.tz``),
    provider and model, of priced events only: ``cost`` holds it too, and reconcile moves it to
    the row of the billed web-search line, which names no model."""
    from usagectl.store.grouped import local_keys_sql

    base = _filtered(flt)
    params = dict(base.params)
    sql = (
        f"SELECT {local_keys_sql(flt, params)['date']} AS date, cprovider AS provider, cmodel AS model, "
        "sum(f.web_search_requests * r.web_search_rate) AS web_search_usd "
        f"FROM ({base.sql}) f JOIN price_rates r ON r.rate_id = f.rate_id "
        "WHERE f.cost IS NOT NULL AND f.web_search_requests > 0 GROUP BY ALL ORDER BY ALL"
    )
    return rows_as_dicts(con.execute(sql, params))


def unpriced(con: duckdb.DuckDBPyConnection, flt: Filters) -> list[dict[str, Any]]:
    """Unpriced usage by logged model name and cause: never hidden, never $0. ``no_web_price``
    rows are the requests a price row matched but whose web searches (``web_search_requests``
    calls) it has no per-call rate for."""
    base = _filtered(flt)
    sql = (
        "SELECT coalesce(model_raw, cmodel, '(none)') AS model_raw, cmodel AS model, no_web_price, "
        "sum(requests)::HUGEINT AS requests, sum(total_tokens)::HUGEINT AS total_tokens, "
        "sum(web_search_requests)::HUGEINT AS web_search_requests "
        f"FROM ({base.sql}) f WHERE cost IS NULL GROUP BY ALL ORDER BY total_tokens DESC, model_raw, no_web_price"
    )
    cur = con.execute(sql, base.params)
    return rows_as_dicts(cur)


def unpriced_causes(con: duckdb.DuckDBPyConnection, flt: Filters) -> list[dict[str, Any]]:
    """``unpriced`` split by service tier, with the first such row's ``ts``, ``total_input``,
    ``requests`` and ``band_input`` (``first``: what the price book is asked why), and the first
    and last ``ts``: what ``pricing check`` explains."""
    base = _filtered(flt)
    sql = (
        "SELECT coalesce(model_raw, cmodel, '(none)') AS model_raw, cmodel AS model, service_tier, no_web_price, "
        "sum(requests)::HUGEINT AS requests, sum(greatest(requests, 1))::HUGEINT AS counted_requests, "
        "sum(total_tokens)::HUGEINT AS total_tokens, "
        "sum(web_search_requests)::HUGEINT AS web_search_requests, min(ts) AS first_ts, max(ts) AS last_ts, "
        "arg_min(struct_pack(ts, total_input, requests, band_input), ts) AS first "
        f"FROM ({base.sql}) f WHERE cost IS NULL GROUP BY ALL "
        "ORDER BY total_tokens DESC, model_raw, service_tier, no_web_price"
    )
    return rows_as_dicts(con.execute(sql, base.params))


def request_totals(con: duckdb.DuckDBPyConnection, flt: Filters) -> tuple[int, int]:
    """The requests of ``flt`` as logged, and counted (a bucket without a request count is one,
    per event, as ``counted_requests``): no price join."""
    base = _filtered(flt, "mapped_events.sql")
    row = con.execute(
        "SELECT coalesce(sum(requests), 0)::HUGEINT, coalesce(sum(greatest(requests, 1)), 0)::HUGEINT "
        f"FROM ({base.sql}) f",
        base.params,
    ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def undecided_band(con: duckdb.DuckDBPyConnection, flt: Filters) -> list[dict[str, Any]]:
    """Priced provider buckets (``requests <> 1``) whose long-context band could not be decided,
    per canonical model: ``bucket_rows`` and the ``requests`` they hold.

    A bucket is priced on the base band (``priced_events.sql``): which of its requests passed the
    threshold is unknown. Only a bucket that could hold such a request counts: its model has a
    long-context rate row for its tier, valid at its ``ts``, at rates other than the bucket's own
    base rates, and its summed input exceeds that row's threshold (a bucket below it holds no request above it, its base-band cost is exact),
    and it does not say which band its requests were in (an Anthropic usage row of
    ``context_window`` "0-200k": every request in it was at most 200k tokens of input; "200k-1M":
    every one over, priced so through ``band_input``).
    The ``requests <> 1`` test comes first, so only bucket rows are priced; a range without
    any bucket row (an agent's logs: every row one request) is told by a plain scan first."""
    if not _any_event(con, flt, "requests <> 1"):
        return []
    base = _filtered(flt)
    sql = (
        "SELECT cmodel AS model, count(*)::BIGINT AS bucket_rows, sum(requests)::HUGEINT AS requests "
        f"FROM ({base.sql}) f WHERE f.requests <> 1 AND f.band_input IS NULL AND f.cost IS NOT NULL AND EXISTS ("
        "SELECT 1 FROM price_rates lc JOIN price_rates b ON b.rate_id = f.rate_id "
        "WHERE lc.long_context AND lc.model = f.cmodel "
        "AND lc.service_tier = f.service_tier AND f.total_input > lc.min_input_exclusive "
        # a band at the base band's own rates (Opus 4.6's fast mode) cannot make the cost low
        "AND (lc.input_rate <> b.input_rate OR lc.output_rate <> b.output_rate OR lc.cache_read_rate <> b.cache_read_rate "
        "OR lc.cache_write_5m_rate <> b.cache_write_5m_rate OR lc.cache_write_1h_rate <> b.cache_write_1h_rate) "
        # an Anthropic usage row says which band its requests were in: "0-200k" holds none above
        "AND NOT (lc.min_input_exclusive >= 200000 "
        "AND coalesce(json_extract_string(f.extra, '$.context_window'), '') = '0-200k') "
        "AND (lc.valid_from IS NULL OR f.ts >= lc.valid_from) AND (lc.valid_to IS NULL OR f.ts < lc.valid_to)) "
        "GROUP BY 1 ORDER BY 3 DESC, 1"
    )
    return rows_as_dicts(con.execute(sql, base.params))


def ungrouped_premium(con: duckdb.DuckDBPyConnection, flt: Filters) -> list[dict[str, Any]]:
    """Priced Anthropic usage-report rows of a model whose table prices fast mode (or an inference
    geo) from a page not grouped by ``speed`` (or ``inference_geo``): such usage in them cannot be
    told apart and is priced at standard (global) rates. Per canonical model: ``no_speed`` and
    ``no_geo`` rows. A range without usage-report rows is told by a plain scan first."""
    if not _any_event(con, flt, "source = 'anthropic-usage'"):
        return []
    base = _filtered(flt)
    fast = _has_rate("split_part(r.service_tier, '@', 1) = 'fast'")
    geo = _has_rate("contains(r.service_tier, '@')")
    sql = (
        "SELECT cmodel AS model, "
        f"count(*) FILTER (WHERE NOT {_grouped_by('speed')} AND {fast}) AS no_speed, "
        f"count(*) FILTER (WHERE NOT {_grouped_by('inference_geo')} AND {geo}) AS no_geo "
        f"FROM ({base.sql}) f WHERE f.source = 'anthropic-usage' AND f.cost IS NOT NULL GROUP BY 1 "
        "HAVING no_speed > 0 OR no_geo > 0 ORDER BY 1"
    )
    return rows_as_dicts(con.execute(sql, base.params))


def _any_event(con: duckdb.DuckDBPyConnection, flt: Filters, where: str) -> bool:
    """Whether any event of the range (unfiltered) passes ``where``: a plain scan that spares a
    report the priced query when it cannot find anything."""
    row = con.execute(
        f"SELECT EXISTS (SELECT 1 FROM events WHERE ts >= $start AND ts < $end AND {where})",
        {"start": flt.start, "end": flt.end},
    ).fetchone()
    return bool(row and row[0])


def _has_rate(test: str) -> str:
    """SQL: the row ``f``'s model has a price row passing ``test``, valid at the row's time."""
    return (
        f"EXISTS (SELECT 1 FROM price_rates r WHERE r.model = f.cmodel AND {test} "
        "AND (r.valid_from IS NULL OR f.ts >= r.valid_from) AND (r.valid_to IS NULL OR f.ts < r.valid_to))"
    )


def _grouped_by(dim: str) -> str:
    """SQL: the usage row ``f`` comes from a page grouped by ``dim`` (``extra.group_by``)."""
    return f"""coalesce(contains(json_extract(f.extra, '$.group_by')::VARCHAR, '"{dim}"'), false)"""


# the providers' usage importers: rows that are buckets of a fixed width (``extra.bucket_end``)
BUCKET_SOURCES = ("openai-usage", "anthropic-usage")


def day_buckets(con: duckdb.DuckDBPyConnection, flt: Filters, *, west_only: bool) -> int:
    """How many provider usage rows of the range and filters are buckets of a day or more (the
    Admin APIs' ``1d`` buckets, from 00:00 UTC): a report shows each at the instant its bucket
    starts. ``west_only``: only those where the zone's offset is negative (that instant is on the
    previous local day). A range without such rows is told by a plain scan of ``source`` first.
    Needs the session tables of ``prepare_session``."""
    from usagectl.store.grouped import offset_sql

    # the buckets that cover part of the range: those starting in it, and those starting the
    # day before it (shown on a day before the range although their usage is partly in it)
    near = replace(flt, start=flt.start - timedelta(days=1))
    sources = ", ".join(f"'{s}'" for s in BUCKET_SOURCES)
    row = con.execute(
        f"SELECT EXISTS (SELECT 1 FROM events WHERE ts >= $start AND ts < $end AND source IN ({sources}))",
        {"start": near.start, "end": near.end},
    ).fetchone()
    if not (row and row[0]):
        return 0
    base = _filtered(near, "mapped_events.sql")
    params = dict(base.params) | {"range_start": flt.start}
    west = f" AND ({offset_sql(flt, params)}) < 0" if west_only else ""
    end = "TRY_CAST(json_extract_string(extra, '$.bucket_end') AS TIMESTAMPTZ)"
    row = con.execute(
        f"SELECT count(*) FROM ({base.sql}) f WHERE source IN ({sources}) "
        f"AND {end} >= ts + INTERVAL 1 DAY AND {end} > $range_start{west}",
        params,
    ).fetchone()
    return int(row[0]) if row else 0


# what a budget's scope (other than a model) is compared with: the same columns as FILTER_COLUMNS
_SEEN_SQL: dict[str, str] = {
    "member": "e.member",
    "team": "coalesce(e.team, mem.team)",
    "department": "coalesce(e.department, mem.department)",
    "cost_center": "coalesce(e.cost_center, mem.cost_center)",
    "project": "e.project",
    "feature": "e.feature",
}


def values_seen(con: duckdb.DuckDBPyConnection, name: str, values: Iterable[str]) -> set[str]:
    """Which of ``values`` the events' ``name`` column ever held, over the whole database (team,
    department and cost center also through the member mapping). Needs the session table
    member_map (``prepare_session``)."""
    wanted = sorted(set(values))
    if not wanted:
        return set()
    expr = _SEEN_SQL[name]
    params = {f"v{i}": v for i, v in enumerate(wanted)}
    sql = (
        f"SELECT DISTINCT {expr} FROM events e {member_join('e', 'e.ts')} "
        f"WHERE {expr} IN ({', '.join('$' + k for k in params)})"
    )
    return {r[0] for r in con.execute(sql, params).fetchall()}


# filter name -> its value per event, as the `ev` step of priced_events.sql computes it
_FILTER_VALUE_SQL: dict[str, str] = {
    "model": "coalesce(mm.model, e.model, e.model_raw)",
    "provider": "coalesce(e.provider, mm.provider)",
    "team": "coalesce(e.team, mem.team)",
    "department": "coalesce(e.department, mem.department)",
    "cost_center": "coalesce(e.cost_center, mem.cost_center)",
}


def filter_values_seen(con: duckdb.DuckDBPyConnection, name: str) -> list[str]:
    """Every value the filter ``name`` can match, over the whole database (the distinct values
    of its column; model, provider, team, department and cost center as the reports resolve
    them). Needs the session tables model_map and member_map (``prepare_session``)."""
    expr = _FILTER_VALUE_SQL.get(name) or f"e.{FILTER_COLUMNS[name]}"
    sql = (
        f"SELECT DISTINCT {expr} FROM events e "
        "LEFT JOIN model_map mm ON mm.model_raw = coalesce(e.model_raw, e.model) "
        f"{member_join('e', 'e.ts')} WHERE {expr} IS NOT NULL"
    )
    return sorted(str(r[0]) for r in con.execute(sql).fetchall())


def model_names_seen(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every model name the events were logged under, over the whole database."""
    sql = "SELECT DISTINCT coalesce(model_raw, model) FROM events WHERE coalesce(model_raw, model) IS NOT NULL"
    return sorted(r[0] for r in con.execute(sql).fetchall())
