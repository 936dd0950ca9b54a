"""Analytics queries the one-pass cube cannot express: latency percentiles, error rates and
voice cost per integration or platform, and the per-rate bucket sums behind `usagectl cost`
and `usagectl invoice`.

All of them read the ``priced`` relation of ``queries/priced_events.sql`` (the session tables
of ``reports.prepare_session`` must exist), bind every value and take column names only from
the allow-lists below.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from usagectl.models import EVENT_COLUMN_NAMES
from usagectl.store.reports import FILTER_COLUMNS, GROUP_KEYS
from usagectl.store.tables import rows_as_dicts

if TYPE_CHECKING:
    import duckdb

    from usagectl.models import Filters

# dimension -> column of the `priced` relation (allow-list)
SERVICE_DIMS: dict[str, str] = {"integration": "integration", "platform": "platform"}

# An event is a voice message when its `extra` JSON says {"voice": true} (a JSON boolean).
VOICE = "coalesce(json_extract(extra, '$.voice') = 'true'::JSON, false)"

BUCKET_SUMS = """
    sum(requests)::HUGEINT AS requests,
    sum(input_tokens)::HUGEINT AS input_tokens,
    sum(cache_read_tokens)::HUGEINT AS cache_read_tokens,
    sum(cache_write_5m_tokens)::HUGEINT AS cache_write_5m_tokens,
    sum(cache_write_1h_tokens)::HUGEINT AS cache_write_1h_tokens,
    sum(output_tokens)::HUGEINT AS output_tokens,
    sum(web_search_requests)::HUGEINT AS web_search_requests,
    sum(total_tokens)::HUGEINT AS total_tokens
"""


def _rows(cur: Any) -> list[dict[str, Any]]:
    return rows_as_dicts(cur)


def service_stats(
    con: duckdb.DuckDBPyConnection,
    flt: Filters,
    dim: str,
    *,
    voice: bool = False,
    voice_free_formats: Sequence[str] = (),
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(stats, exceptions) per value of ``dim`` (integration or platform), from ONE grouped pass.

    The events are summed per value of ``dim``, status, error type (and voice) with the engine
    that prices after grouping (``store.grouped``); latencies travel as a list per group, so the
    percentiles are those of the events themselves. Both results read that one relation:

    * stats: per value plus roll-up rows; ``level`` says which row is which: ``"key"`` (one value
      of the dimension, ``key`` may be None) and, for integrations, ``"some"`` / ``"none"`` (all
      events with / without a value), for platforms ``"all"``. Latency percentiles are
      linear-interpolated (``quantile_cont``) over the events that carry ``latency_ms``; errors
      are requests with ``status = 'error'``, ``status_requests`` the requests whose status is
      known. With ``voice``, the voice sums cover events whose ``extra`` JSON has
      ``"voice": true``. ``voice_free_formats``: import formats whose batches cannot hold one
      (``registry.formats_without_extra_key``); when every event of the range comes from such
      batches, ``extra`` is not read at all (it is the widest column: 0.1 s per 1M events).
    * exceptions: per value, errored requests by ``error_type`` ('(unspecified)' when the event
      has none) and unpriced volume by model name (``unpriced_raw``, as the rows name the model) and cause
      (``unpriced_web``: the model has a price, but not for these requests' web searches), the
      rows ``rollup.unpriced_models`` reads, with their ``unpriced_requests`` (0 on a priced row).

    Every ``unpriced_requests`` sums the events' ``counted_requests`` (``reports.SUMS``): a
    bucket without a request count is one request, whatever the grouping.
    """
    from usagectl.store.grouped import priced_groups

    if dim not in SERVICE_DIMS:
        raise ValueError(f"not a service dimension: {dim}")
    extra = ["status AS _status", "CASE WHEN status = 'error' THEN coalesce(error_type, '(unspecified)') END AS _etype"]
    no_voice = voice and not _may_hold_voice(con, flt, voice_free_formats)
    if voice and not no_voice:
        extra.append(f"{VOICE} AS _voice")
    rel, params, key_sql = priced_groups(
        con, flt, [dim], GROUP_KEYS, FILTER_COLUMNS, extra=extra,
        aggregates=["list(latency_ms) FILTER (WHERE latency_ms IS NOT NULL) AS _lat"],
    )  # fmt: skip
    key = key_sql[dim]
    con.execute(f"CREATE OR REPLACE TEMP TABLE _service_groups AS {rel}", params)
    try:
        voice_sums = (
            """,
            coalesce(sum(requests) FILTER (WHERE _voice), 0)::HUGEINT AS voice_requests,
            coalesce(sum(total_tokens) FILTER (WHERE _voice), 0)::HUGEINT AS voice_tokens,
            sum(cost) FILTER (WHERE _voice) AS voice_cost_usd,
            coalesce(sum(counted_requests) FILTER (WHERE _voice AND cost IS NULL), 0)::HUGEINT AS voice_unpriced_requests"""
            if voice and not no_voice
            else """,
            0::HUGEINT AS voice_requests, 0::HUGEINT AS voice_tokens, NULL::DECIMAL(38, 12) AS voice_cost_usd,
            0::HUGEINT AS voice_unpriced_requests"""
            if no_voice
            else ""
        )
        rollup = f"({key} IS NULL)" if dim == "integration" else "()"
        sql = f"""
            SELECT
                {key} AS key,
                grouping({key}) AS g_key,
                {"(" + key + " IS NULL)" if dim == "integration" else "NULL"} AS is_null,
                {BUCKET_SUMS},
                sum(cost) AS cost_usd,
                coalesce(sum(counted_requests) FILTER (WHERE cost IS NULL), 0)::HUGEINT AS unpriced_requests,
                coalesce(sum(total_tokens) FILTER (WHERE cost IS NULL), 0)::HUGEINT AS unpriced_tokens,
                list_aggregate(flatten(list(_lat)), 'quantile_cont', [0.5, 0.95]) AS latency,
                coalesce(sum(len(_lat)), 0)::BIGINT AS latency_events,
                coalesce(sum(requests) FILTER (WHERE _status = 'error'), 0)::HUGEINT AS error_requests,
                coalesce(sum(requests) FILTER (WHERE _status IS NOT NULL), 0)::HUGEINT AS status_requests{voice_sums}
            FROM _service_groups
            GROUP BY GROUPING SETS (({key}), {rollup})
        """
        stats = []
        for row in _rows(con.execute(sql)):
            g_key, is_null, latency = row.pop("g_key"), row.pop("is_null"), row.pop("latency")
            row["latency_p50_ms"], row["latency_p95_ms"] = latency if latency else (None, None)
            if not g_key:
                row["level"] = "key"
            elif dim == "integration":
                row["level"] = "none" if is_null else "some"
            else:
                row["level"] = "all"
            stats.append(row)
        exceptions = _rows(
            con.execute(f"""
                SELECT {key} AS key, _etype AS error_type,
                    CASE WHEN rate_id IS NULL THEN coalesce(cmodel, model_raw, '(none)') END AS unpriced_raw,
                    CASE WHEN rate_id IS NULL THEN no_web_price END AS unpriced_web,
                    sum(requests)::HUGEINT AS requests,
                    sum(total_tokens)::HUGEINT AS total_tokens,
                    sum(web_search_requests)::HUGEINT AS web_search_requests,
                    coalesce(sum(counted_requests) FILTER (WHERE rate_id IS NULL), 0)::HUGEINT AS unpriced_requests
                FROM _service_groups
                WHERE _etype IS NOT NULL OR rate_id IS NULL
                GROUP BY 1, 2, 3, 4
            """)
        )
    finally:
        con.execute("DROP TABLE IF EXISTS _service_groups")
    return stats, exceptions


def _may_hold_voice(con: duckdb.DuckDBPyConnection, flt: Filters, free: Sequence[str]) -> bool:
    """Whether an event in ``flt``'s range comes from a batch whose format is not in ``free``
    (or from no recorded batch): only such an event can be a voice message."""
    if not free:
        return True
    params: dict[str, Any] = {"start": flt.start, "end": flt.end}
    params.update({f"vf{i}": name for i, name in enumerate(free)})
    marks = ", ".join(f"$vf{i}" for i in range(len(free)))
    row = con.execute(
        "SELECT EXISTS (SELECT 1 FROM (SELECT DISTINCT batch_id FROM events WHERE ts >= $start AND ts < $end) e "
        f"ANTI JOIN (SELECT batch_id FROM import_batches WHERE source IN ({marks})) b USING (batch_id))",
        params,
    ).fetchone()
    return bool(row and row[0])


def rate_sums(
    con: duckdb.DuckDBPyConnection,
    flt: Filters,
    keys: Sequence[str] = (),
    period_starts: Sequence[datetime] = (),
    *,
    with_cost: bool = False,
    keys_from: datetime | None = None,
) -> list[dict[str, Any]]:
    """Bucket sums per (``keys``…, canonical model, ``rate_id``) — the price row that priced the
    events (None: unpriced; ``unpriced_raw`` then names the model as the rows do and ``unpriced_web``
    says the cause is web searches the price row has no per-call rate for) — so the caller can
    multiply each bucket by the rates of ``PriceBook.rate_rows()[rate_id]`` exactly. A row has no
    price exactly when ``rate_id`` is None (every rate of a price row is set). ``with_cost`` adds
    the cost engine's own ``cost_usd`` sum, to check the lines against.

    ``period_starts`` (sorted UTC instants) adds ``period``: the index of the last start at or
    before the event (0 = first), e.g. the calendar months of a zone; events before the first
    start get -1. ``keys`` come from ``GROUP_KEYS``; with ``keys_from`` they are only told apart
    for events from that instant on (NULL before: fewer groups for a history that needs none).
    """
    from usagectl.store.grouped import priced_groups

    extra: list[str] = []
    extra_params: dict[str, Any] = {}
    key_names = list(keys)
    if keys_from is not None:
        extra_params["keys_from"] = keys_from
        for k in keys:
            col = GROUP_KEYS[k]
            if col not in EVENT_COLUMN_NAMES:
                raise ValueError(f"keys_from needs event columns, not {k}")
            extra.append(f"CASE WHEN ts >= $keys_from THEN {col} END AS _kf_{k}")
        key_names = []
    if period_starts:
        whens = []
        for i, start in enumerate(period_starts):
            extra_params[f"ps_{i}"] = start
            whens.append(f"WHEN ts >= $ps_{i} THEN {i}")
        extra.append("CASE " + " ".join(reversed(whens)) + " ELSE -1 END AS period")
    rel, params, key_sql = priced_groups(
        con, flt, key_names, GROUP_KEYS, FILTER_COLUMNS, extra=extra, also=["cprovider"], extra_params=extra_params
    )
    select = [f"_kf_{k} AS {k}" for k in keys] if keys_from is not None else [f"{key_sql[k]} AS {k}" for k in keys]
    if period_starts:
        select.append("period")
    select += ["cmodel AS model", "cprovider AS provider", "rate_id"]
    select.append("CASE WHEN rate_id IS NULL THEN coalesce(cmodel, model_raw, '(none)') END AS unpriced_raw")
    select.append("CASE WHEN rate_id IS NULL THEN no_web_price END AS unpriced_web")
    positions = ", ".join(str(i + 1) for i in range(len(select)))
    cost = ", sum(cost) AS cost_usd" if with_cost else ""
    sql = f"SELECT {', '.join(select)}, {BUCKET_SUMS}{cost} FROM ({rel}) f GROUP BY {positions}"
    return _rows(con.execute(sql, params))


def first_event(con: duckdb.DuckDBPyConnection) -> datetime | None:
    row = con.execute("SELECT min(ts) FROM events").fetchone()
    return row[0] if row else None
