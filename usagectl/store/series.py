"""Queries behind `forecast`, `anomalies` and `optimize`: daily series per dimension (one pass,
GROUPING SETS), hour-of-day profiles, and the repricing of the events an optimization rule
covers. Column names come from ``reports.GROUP_KEYS`` (an allow-list); values are bound."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from usagectl.store import reports as q
from usagectl.store.tables import load_temp_table, rows_as_dicts

if TYPE_CHECKING:
    import duckdb

    from usagectl.models import Filters

# unpriced_requests: ``counted_requests`` (a bucket without a request count is one request, per
# event: ``reports.SUMS``), not ``greatest`` over a group's sum
DAILY_SUMS = """
    sum(requests)::HUGEINT AS requests,
    sum(total_tokens)::HUGEINT AS total_tokens,
    sum(cost) AS cost_usd,
    coalesce(sum(counted_requests) FILTER (WHERE cost IS NULL), 0)::HUGEINT AS unpriced_requests,
    coalesce(sum(requests) FILTER (WHERE status = 'error'), 0)::HUGEINT AS errors
"""
# the price-period join of priced_events.sql, for a model and tier other than the event's own
_RATE_JOIN = (
    """
    LEFT JOIN price_rates r
        ON r.model = {model} AND r.service_tier = {tier}
        AND (r.valid_from IS NULL OR c.ts >= r.valid_from)
        AND (r.valid_to IS NULL OR c.ts < r.valid_to)
        AND (r.min_input_exclusive = 0
             OR (CASE WHEN c.requests <> 1 THEN coalesce(c.band_input, 0) ELSE c.total_input END) > r.min_input_exclusive)
        AND (r.max_input_inclusive IS NULL
             OR (CASE WHEN c.requests <> 1 THEN coalesce(c.band_input, 0) ELSE c.total_input END) <= r.max_input_inclusive)
        AND """
    + q.web_priced("c.")
    + """
"""
)


# the service tier without its inference geo (``fast@us`` → ``fast``)
_BASE_TIER = "split_part(service_tier, '@', 1)"


def _cache_shift(cached: str, n: str) -> str:
    """SQL: the change in cost at rate ``r`` when ``cached`` uncached input tokens go through the
    prompt cache: written on the first use (``n`` = 1; 5-minute write rate, or the input rate
    where writes are free) and read from it after. Add it to a cost priced at ``r``."""
    return (
        f"{cached} * (CASE WHEN {n} > 1 THEN r.cache_read_rate WHEN r.cache_write_5m_rate > 0 "
        "THEN r.cache_write_5m_rate ELSE r.input_rate END - r.input_rate)"
    )


_COST = """({p}input_tokens * r.input_rate + {p}cache_read_tokens * r.cache_read_rate
    + {p}cache_write_5m_tokens * r.cache_write_5m_rate + {p}cache_write_1h_tokens * r.cache_write_1h_rate
    + {p}output_tokens * r.output_rate + {web})"""


def _cost(p: str) -> str:
    """SQL: the cost of the row prefixed ``p`` at price row ``r`` (web searches: ``reports.web_cost``)."""
    return _COST.format(p=p, web=q.web_cost(p))


def _rows(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    return rows_as_dicts(cur)


def _grouped(con: duckdb.DuckDBPyConnection, flt: Filters, keys: Sequence[str]) -> tuple[str, dict[str, Any]]:
    """The priced groups relation (``store.grouped``: priced after aggregating, the reports'
    fast path) with the ``keys`` as columns of the same names."""
    from usagectl.store.grouped import priced_groups

    rel, params, key_sql = priced_groups(con, flt, list(keys), q.GROUP_KEYS, q.FILTER_COLUMNS)
    cols = ", ".join(f"{key_sql[k]} AS {k}" for k in keys)  # allow-listed names only
    return f"SELECT {cols}, requests, counted_requests, total_tokens, cost FROM ({rel}) g", params


def daily_sets(
    con: duckdb.DuckDBPyConnection, flt: Filters, dims: Sequence[str]
) -> dict[str | None, list[dict[str, Any]]]:
    """Daily sums (local calendar days of ``flt.tz``) of the total and per value of each dimension
    in ``dims``, in ONE pass. Returns ``{None: [total rows], dim: [rows with key dim]}``; each
    row has ``date``, ``requests``, ``total_tokens``, ``cost_usd`` (None when all unpriced),
    ``unpriced_requests`` and ``errors`` (requests with status error)."""
    rel, params = _grouped(con, flt, ["date", "status", *dims])
    sets = ", ".join(["(date)"] + [f"(date, {d})" for d in dims])
    flags = "".join(f", grouping({d}) AS g_{d}" for d in dims)
    keys = "".join(f", {d}" for d in dims)
    sql = f"SELECT date{keys}{flags}, {DAILY_SUMS} FROM ({rel}) f GROUP BY GROUPING SETS ({sets})"
    out: dict[str | None, list[dict[str, Any]]] = {None: []} | {d: [] for d in dims}
    for row in _rows(con.execute(sql, params)):
        grouped = [d for d in dims if row[f"g_{d}"] == 0]
        target = grouped[0] if grouped else None
        rec = {k: row[k] for k in ("date", "requests", "total_tokens", "cost_usd", "unpriced_requests", "errors")}
        if target is not None:
            rec["key"] = row[target]
        out[target].append(rec)
    return out


def error_types(con: duckdb.DuckDBPyConnection, flt: Filters) -> list[dict[str, Any]]:
    """Requests with status error per local day and error type."""
    from usagectl.store.grouped import priced_groups

    rel, params, key_sql = priced_groups(con, flt, ["date", "error_type", "status"], q.GROUP_KEYS, q.FILTER_COLUMNS)
    sql = (
        f"SELECT {key_sql['date']} AS date, coalesce(error_type, '(unknown)') AS error_type, "
        f"sum(requests)::HUGEINT AS errors FROM ({rel}) p WHERE status = 'error' GROUP BY 1, 2"
    )
    return _rows(con.execute(sql, params))


def hour_profile(con: duckdb.DuckDBPyConnection, flt: Filters, dim: str, cut: date) -> list[dict[str, Any]]:
    """Per value of ``dim`` and local hour of day: ``hist_days`` (days before ``cut`` with activity
    at that hour) and the ``recent`` cells (``day`` on or after ``cut``) with their requests."""
    rel, params = _grouped(con, flt, ["date", "hour", dim])
    sql = (
        f"SELECT {dim} AS key, date AS day, hour, sum(requests)::HUGEINT AS requests, "
        f"sum(total_tokens)::HUGEINT AS total_tokens FROM ({rel}) p WHERE {dim} IS NOT NULL GROUP BY 1, 2, 3"
    )
    sql = (
        "SELECT key, hour, count(*) FILTER (WHERE day < $cut) AS hist_days, "
        "list(struct_pack(day := day, requests := requests, total_tokens := total_tokens)) "
        "FILTER (WHERE day >= $cut) AS recent "
        f"FROM ({sql}) g GROUP BY 1, 2"
    )
    return _rows(con.execute(sql, params | {"cut": cut}))


# --------------------------------------------------------------------------- optimizer repricing


def _scored(
    flt: Filters, select: str, where: str, params: dict[str, Any], join: str = ""
) -> tuple[str, dict[str, Any]]:
    base = q._filtered(flt)
    return f"WITH c AS (SELECT {select} FROM ({base.sql}) p {join} WHERE {where})", dict(base.params) | params


def _not_in(col: str, prefix: str, values: Sequence[str]) -> tuple[str, dict[str, Any]]:
    """``coalesce(col, '') NOT IN (…)`` with bound values; TRUE when ``values`` is empty (a bare
    ``NOT IN (NULL)`` would be NULL and drop every row)."""
    params = {f"{prefix}{i}": v for i, v in enumerate(values)}
    if not params:
        return "TRUE", params
    return f"coalesce({col}, '') NOT IN ({', '.join(f'${k}' for k in params)})", params


def reprice_model(
    con: duckdb.DuckDBPyConnection, flt: Filters, alternatives: dict[str, str], max_input: int, max_output: int
) -> list[dict[str, Any]]:
    """Successful single requests with total input <= ``max_input`` and output <= ``max_output``
    on a model of ``alternatives``, repriced at the cheaper model (same tier, ts and band).
    Per (model, alternative): events, cost, alt_cost; events the alternative cannot price are
    counted in ``unpriced_alt`` and left out of both sums."""
    load_temp_table(con, "alt_models", [("model", "VARCHAR"), ("alt", "VARCHAR")], sorted(alternatives.items()))
    head, params = _scored(
        flt,
        "p.*, a.alt",
        "cost IS NOT NULL AND requests = 1 AND status IS DISTINCT FROM 'error' "
        "AND total_input <= $max_in AND output_tokens <= $max_out",
        {"max_in": max_input, "max_out": max_output},
        join="JOIN alt_models a ON a.model = p.cmodel",
    )
    sql = (
        f"{head} SELECT c.cmodel AS model, c.alt AS alt, count(*) FILTER (WHERE r.rate_id IS NOT NULL) AS events, "
        "sum(c.cost) FILTER (WHERE r.rate_id IS NOT NULL) AS cost, "
        f"sum({_cost('c.')}) AS alt_cost, count(*) FILTER (WHERE r.rate_id IS NULL) AS unpriced_alt "
        f"FROM c {_RATE_JOIN.format(model='c.alt', tier='c.service_tier')} GROUP BY 1, 2 ORDER BY 1, 2"
    )
    return _rows(con.execute(sql, params))


def reprice_batch(
    con: duckdb.DuckDBPyConnection, flt: Filters, platforms: Sequence[str], interactive: Sequence[str]
) -> list[dict[str, Any]]:
    """Standard-tier priced events on a platform of ``platforms`` whose feature is not in
    ``interactive``, repriced at the batch tier of the same model. Per model."""
    plat = {f"pl{i}": v for i, v in enumerate(platforms)}
    in_pl = ", ".join(f"${k}" for k in plat) or "NULL"
    not_inter, inter = _not_in("feature", "in", interactive)
    where = f"cost IS NOT NULL AND {_BASE_TIER} = 'standard' AND platform IN ({in_pl}) AND {not_inter}"
    return _reprice_tier(con, flt, where, plat | inter, "batch")


def reprice_standard(con: duckdb.DuckDBPyConnection, flt: Filters, tiers: Sequence[str]) -> list[dict[str, Any]]:
    """Priced events in a tier of ``tiers`` (fast mode, priority), repriced at the standard tier
    of the same model (same time and band). Per model."""
    params = {f"t{i}": v for i, v in enumerate(tiers)}
    where = f"cost IS NOT NULL AND {_BASE_TIER} IN ({', '.join(f'${k}' for k in params) or 'NULL'})"
    return _reprice_tier(con, flt, where, params, "standard")


def _reprice_tier(
    con: duckdb.DuckDBPyConnection, flt: Filters, where: str, params: dict[str, Any], tier: str
) -> list[dict[str, Any]]:
    """The events ``where`` selects, repriced at ``tier`` of their own model, in their own
    inference geo (``standard@us`` → ``batch@us``); those the tier does not price are left out.
    Per model: events, cost, alt_cost."""
    head, params = _scored(flt, "*", where, params)
    geo = "CASE WHEN contains(c.service_tier, '@') THEN '@' || split_part(c.service_tier, '@', 2) ELSE '' END"
    join = _RATE_JOIN.format(model="c.cmodel", tier=f"'{tier}' || {geo}")
    sql = (
        f"{head} SELECT c.cmodel AS model, count(*) AS events, sum(c.cost) AS cost, sum({_cost('c.')}) AS alt_cost "
        f"FROM c {join} WHERE r.rate_id IS NOT NULL GROUP BY 1 ORDER BY 1"
    )
    return _rows(con.execute(sql, params))


def reprice_caching(
    con: duckdb.DuckDBPyConnection, flt: Filters, min_input: int, max_read_pct: int, min_requests: int
) -> list[dict[str, Any]]:
    """Chats (session_id) with at least ``min_requests`` priced requests whose uncached input is
    >= ``min_input`` and whose cache reads are < ``max_read_pct`` % of their total input. The
    repeated part (context + file tokens, at most the uncached input) is repriced: written to the
    cache once (first such request of the chat and model, at the 5-minute write rate, or the
    input rate where writes are free) and read from it after. Models without a cache-read rate
    are left out. Per model."""
    head, params = _scored(
        flt,
        "*, least(input_tokens, coalesce(context_tokens, 0) + coalesce(file_tokens, 0)) AS cached",
        "cost IS NOT NULL AND requests = 1 AND session_id IS NOT NULL AND input_tokens >= $min_in "
        "AND cache_read_tokens * 100 < $max_read * total_input",
        {"min_in": min_input, "max_read": max_read_pct, "min_req": min_requests},
    )
    sql = (
        f"{head}, s AS (SELECT c.*, row_number() OVER (PARTITION BY session_id, cmodel ORDER BY ts, event_id) AS n, "
        "count(*) OVER (PARTITION BY session_id, cmodel) AS k FROM c) "
        "SELECT s.cmodel AS model, count(*) AS events, count(DISTINCT s.session_id) AS chats, sum(s.cost) AS cost, "
        f"sum(s.cost + {_cache_shift('s.cached', 's.n')}) AS alt_cost "
        "FROM s JOIN price_rates r ON r.rate_id = s.rate_id "
        "WHERE s.k >= $min_req AND s.cached > 0 AND r.cache_read_rate > 0 GROUP BY 1 ORDER BY 1"
    )
    return _rows(con.execute(sql, params))


def reprice_context(
    con: duckdb.DuckDBPyConnection, flt: Filters, min_requests: int, min_peak: int, growth: int, cap: int
) -> list[dict[str, Any]]:
    """Chats of at least ``min_requests`` requests whose largest total input is >= ``min_peak``
    and >= ``growth`` × the first request's: every request over ``cap`` input tokens is
    repriced with each input bucket scaled by cap / total input (floored to whole tokens),
    output unchanged, at the event's own rate. Per model."""
    head, params = _scored(
        flt,
        "*",
        "cost IS NOT NULL AND requests = 1 AND session_id IS NOT NULL",
        {"min_req": min_requests, "peak": min_peak, "growth": growth, "cap": cap},
    )
    sql = (
        f"{head}, s AS (SELECT c.*, count(*) OVER w AS k, max(total_input) OVER w AS peak, "
        "first(total_input ORDER BY ts, event_id) OVER w AS first_input FROM c "
        "WINDOW w AS (PARTITION BY session_id)), "
        "t AS (SELECT s.*, input_tokens * $cap // total_input AS a_in, cache_read_tokens * $cap // total_input AS a_cr, "
        "cache_write_5m_tokens * $cap // total_input AS a_w5, cache_write_1h_tokens * $cap // total_input AS a_w1 "
        "FROM s WHERE k >= $min_req AND peak >= $peak AND peak >= $growth * greatest(first_input, 1) "
        "AND total_input > $cap) "
        "SELECT t.cmodel AS model, count(*) AS events, count(DISTINCT t.session_id) AS chats, sum(t.cost) AS cost, "
        "sum(t.a_in * r.input_rate + t.a_cr * r.cache_read_rate + t.a_w5 * r.cache_write_5m_rate "
        f"+ t.a_w1 * r.cache_write_1h_rate + t.output_tokens * r.output_rate + {q.web_cost('t.')}) "
        "AS alt_cost FROM t JOIN price_rates r ON r.rate_id = t.rate_id GROUP BY 1 ORDER BY 1"
    )
    return _rows(con.execute(sql, params))


def reprice_files(
    con: duckdb.DuckDBPyConnection, flt: Filters, min_tokens: int, min_chats: int, keep_div: int
) -> list[dict[str, Any]]:
    """Files (file_id) of >= ``min_tokens`` extracted tokens read in >= ``min_chats`` distinct
    chats: every read after the first carries file_tokens // ``keep_div`` (a summary) instead of
    the file; the removed tokens come out of the uncached input first, then the cache reads, at
    the event's own rate. Per model."""
    head, params = _scored(
        flt,
        "*",
        "cost IS NOT NULL AND requests = 1 AND file_id IS NOT NULL AND file_tokens >= $min_tok",
        {"min_tok": min_tokens, "min_chats": min_chats, "div": keep_div},
    )
    sql = (
        f"{head}, s AS (SELECT c.*, row_number() OVER (PARTITION BY file_id ORDER BY ts, event_id) AS n, "
        "count(DISTINCT session_id) OVER (PARTITION BY file_id) AS chats, "
        "file_tokens - file_tokens // $div AS cut FROM c), "
        "t AS (SELECT s.*, least(input_tokens, cut) AS cut_in, least(cache_read_tokens, cut - least(input_tokens, cut)) "
        "AS cut_cr FROM s WHERE chats >= $min_chats AND n > 1) "
        "SELECT t.cmodel AS model, count(*) AS events, count(DISTINCT t.file_id) AS files, sum(t.cost) AS cost, "
        "sum(t.cost - t.cut_in * r.input_rate - t.cut_cr * r.cache_read_rate) AS alt_cost "
        "FROM t JOIN price_rates r ON r.rate_id = t.rate_id GROUP BY 1 ORDER BY 1"
    )
    return _rows(con.execute(sql, params))


def reprice_agent_tasks(
    con: duckdb.DuckDBPyConnection,
    flt: Filters,
    *,
    exclude_platforms: Sequence[str],
    agent_features: Sequence[str],
    tolerance_pct: int,
    min_requests: int,
    min_days: int,
    max_per_day: int,
) -> list[dict[str, Any]]:
    """Repetitive tasks done by hand. A task is a (member, feature, tool, model) with a feature or
    a tool. Its runs are the successful single priced requests at the standard or priority tier,
    on a platform not in ``exclude_platforms`` (NULL counts as interactive), with a feature not in
    ``agent_features``, that open their chat (the first such request of their session_id, or no
    session): the follow-up turns of a conversation are not a task run. Covered: the runs whose
    total input AND context tokens (0 where the source lacks them) are both within
    ``tolerance_pct`` % of the task's medians (percentile_disc: the lower middle), when at least
    ``min_requests`` such runs fall on at least ``min_days`` local days of ``flt.tz``, at most
    ``max_per_day`` per such day on average.

    Repriced as one scheduled agent job: the batch tier of the same model (runs whose model has
    no batch price are not covered), with the context tokens (at most the uncached input)
    written to the prompt cache by the task's first run of each local day and read by its later
    runs that day (``_cache_shift`` at the batch rates; nothing moves where the model has no
    cache-read rate). Output unchanged. Per model: events, tasks, cost, alt_cost."""
    from usagectl.store.grouped import local_keys_sql

    not_pl, plat = _not_in("platform", "pl", exclude_platforms)
    not_ag, agent = _not_in("feature", "ag", agent_features)
    local: dict[str, Any] = {}
    day = local_keys_sql(flt, local)["date"]
    head, params = _scored(
        flt,
        f"*, {day} AS day, coalesce(context_tokens, 0) AS ctx, "
        "least(input_tokens, coalesce(context_tokens, 0)) AS cached, "
        "CASE WHEN session_id IS NULL THEN 1 "
        "ELSE row_number() OVER (PARTITION BY session_id ORDER BY ts, event_id) END AS turn",
        "cost IS NOT NULL AND requests = 1 AND status IS DISTINCT FROM 'error' "
        f"AND {_BASE_TIER} IN ('standard', 'priority') AND {not_pl} AND {not_ag} "
        "AND (feature IS NOT NULL OR tool IS NOT NULL)",
        plat | agent | local | {"tol": tolerance_pct},
    )
    params |= {"min_req": min_requests, "min_days": min_days, "per_day": max_per_day}
    task, batch = "member, feature, tool, cmodel", "'batch'"
    same = " AND ".join(f"o.{k} IS NOT DISTINCT FROM m.{k}" for k in ("member", "feature", "tool", "cmodel"))
    cached = "CASE WHEN r.cache_read_rate > 0 THEN c.cached ELSE 0 END"
    sql = (
        f"{head}, o AS (SELECT * FROM c WHERE turn = 1), "
        f"m AS (SELECT {task}, percentile_disc(0.5) WITHIN GROUP (ORDER BY total_input) AS med, "
        "percentile_disc(0.5) WITHIN GROUP (ORDER BY ctx) AS cmed FROM o GROUP BY 1, 2, 3, 4), "
        f"s AS (SELECT o.* FROM o JOIN m ON {same} "
        "WHERE abs(o.total_input - m.med) * 100 <= $tol * m.med AND abs(o.ctx - m.cmed) * 100 <= $tol * m.cmed), "
        "g AS (SELECT s.*, count(*) OVER w AS k, count(DISTINCT day) OVER w AS days, row_number() OVER w_ord AS t, "
        f"row_number() OVER (PARTITION BY {task}, day ORDER BY ts, event_id) AS n FROM s "
        f"WINDOW w AS (PARTITION BY {task}), w_ord AS (PARTITION BY {task} ORDER BY ts, event_id)) "
        "SELECT c.cmodel AS model, count(*) AS events, count(*) FILTER (WHERE c.t = 1) AS tasks, sum(c.cost) AS cost, "
        f"sum({_cost('c.')} + {_cache_shift(cached, 'c.n')}) AS alt_cost "
        f"FROM g c {_RATE_JOIN.format(model='c.cmodel', tier=batch)} "
        "WHERE r.rate_id IS NOT NULL AND c.k >= $min_req AND c.days >= $min_days AND c.k <= $per_day * c.days "
        "GROUP BY 1 ORDER BY 1"
    )
    return _rows(con.execute(sql, params))


def first_seen(con: duckdb.DuckDBPyConnection, flt: Filters, dim: str) -> dict[Any, datetime]:
    """First instant each value of ``dim`` appears in the range."""
    base = q._filtered(flt)
    col = q.GROUP_KEYS[dim]
    sql = f"SELECT {col} AS key, min(ts) AS first FROM ({base.sql}) p WHERE {col} IS NOT NULL GROUP BY 1"
    return {r[0]: r[1] for r in con.execute(sql, base.params).fetchall()}
