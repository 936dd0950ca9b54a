"""Per-chat, per-event and per-file queries over the priced events (chats, messages, files).

Every query wraps the session's ``priced_events.sql`` relation (``reports._filtered``), so the
cost of a row is the one every other report computes, except the per-chat sums, which price
after grouping (``store.grouped``, exact; ``chat_parts`` gives both engines' rows for the
tests); values are always bound, column names come from constants here. Call ``reports.prepare_session`` on the connection first.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from usagectl.store.reports import _filtered
from usagectl.store.tables import load_temp_table

if TYPE_CHECKING:
    import duckdb

    from usagectl.models import Filters

# The per-event columns `chat show` and `message show` need (event columns and derived ones).
EVENT_FIELDS: tuple[str, ...] = (
    "event_id", "ts", "source", "cmodel", "cprovider", "model", "model_raw", "requests", "service_tier",
    "input_tokens", "cache_read_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens", "output_tokens",
    "reasoning_tokens", "web_search_requests", "total_input", "total_tokens", "member", "cteam", "project",
    "feature", "tool", "integration", "platform", "session_id", "chat_title", "message_id", "message_tokens",
    "context_tokens", "file_tokens", "tool_output_tokens", "latency_ms", "status", "error_type", "file_id",
    "file_name", "file_bytes", "reported_cost_usd", "band_input", "long_context", "cost",
)  # fmt: skip


def _rows(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [d[0] for d in cur.description or ()]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _int(value: Any) -> int:
    return int(value) if value is not None else 0


# --------------------------------------------------------------------------- chats


# per (chat, unpriced model name): the sums a chat's row and the totals are made of. The events
# are priced after grouping (``store.grouped``: one narrow scan, then thousands of groups
# priced, not a million events); ``_PARTS_PER_EVENT`` is the same from each event's own cost,
# the reference the tests compare it with. ``counted_requests``: what ``unpriced_requests``
# sums (a bucket without a request count is one request, per event: ``reports.SUMS``)
_PARTS = (
    "SELECT session_id, CASE WHEN cost IS NULL THEN coalesce(cmodel, model_raw, '(none)') END AS unpriced_raw, "
    "sum(requests)::HUGEINT AS requests, "
    "sum(input_tokens + cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens)::HUGEINT AS input_tokens, "
    "sum(output_tokens)::HUGEINT AS output_tokens, sum(total_tokens)::HUGEINT AS total_tokens, "
    "sum(counted_requests)::HUGEINT AS counted_requests, "
    "sum(cost) AS cost_usd, min(first_ts) AS first_ts, max(last_ts) AS last_ts FROM ({rel}) f GROUP BY 1, 2"
)
_PARTS_PER_EVENT = (
    "SELECT session_id, CASE WHEN cost IS NULL THEN coalesce(cmodel, model_raw, '(none)') END AS unpriced_raw, "
    "sum(requests)::HUGEINT AS requests, sum(total_input)::HUGEINT AS input_tokens, "
    "sum(output_tokens)::HUGEINT AS output_tokens, sum(total_tokens)::HUGEINT AS total_tokens, "
    "sum(counted_requests)::HUGEINT AS counted_requests, "
    "sum(cost) AS cost_usd, min(ts) AS first_ts, max(ts) AS last_ts FROM ({rel}) f GROUP BY 1, 2"
)


def chat_parts(con: duckdb.DuckDBPyConnection, flt: Filters, *, per_event: bool = False) -> list[dict[str, Any]]:
    """The rows ``chat_summary`` builds on, by either engine (for tests and checks)."""
    if per_event:
        base = _filtered(flt)
        return _rows(con.execute(_PARTS_PER_EVENT.format(rel=base.sql) + " ORDER BY 1, 2", base.params))
    sql, params = _parts_sql(con, flt)
    return _rows(con.execute(sql + " ORDER BY 1, 2", params))


def _parts_sql(con: duckdb.DuckDBPyConnection, flt: Filters) -> tuple[str, dict[str, Any]]:
    from usagectl.store.grouped import priced_groups
    from usagectl.store.reports import FILTER_COLUMNS, GROUP_KEYS

    rel, params, _ = priced_groups(
        con, flt, ["session_id"], GROUP_KEYS, FILTER_COLUMNS, aggregates=("min(ts) AS first_ts", "max(ts) AS last_ts")
    )
    return _PARTS.format(rel=rel), params


BIGINT_MAX = 2**63 - 1  # the largest LIMIT DuckDB binds


def chat_summary(con: duckdb.DuckDBPyConnection, flt: Filters, top: int | None) -> dict[str, Any]:
    """Per chat (``session_id``) of the range: title, messages, input/output tokens, cost,
    first/last event and models; plus totals of all chats, of the usage without a chat, the
    unpriced usage of the chats by model name, and the number and cost of the chats
    whose every message is priced (``priced_chats``).

    ``rows`` are the ``top`` chats by cost (unpriced last; then tokens, session id), all when
    ``top`` is None. ``input_tokens`` is input + cache read + cache writes. ``requests`` are as
    logged, ``counted_requests`` count a provider bucket without a request count as one (as
    ``unpriced_requests`` does); the totals' ``unpriced_logged`` are the unpriced part as logged
    (with ``unpriced_requests``, what names such buckets in words). One scan of the
    range builds a small temp table per (chat, unpriced name); titles and models are then read
    for the chosen chats only (grouping 10M rows by a text column is what costs).
    """
    parts, parts_params = _parts_sql(con, flt)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _chat_parts AS {parts}", parts_params)
    try:
        params: dict[str, Any] = {}
        limit = ""
        # a larger top failed in the query (ConversionException, exit 1); no range holds that
        # many chats, so it is no limit at all
        if top is not None and top <= BIGINT_MAX:
            limit = " LIMIT $top"
            params["top"] = top
        rows = _rows(
            con.execute(
                "SELECT session_id, sum(requests)::HUGEINT AS requests, "
                "sum(counted_requests)::HUGEINT AS counted_requests, sum(input_tokens)::HUGEINT AS input_tokens, "
                "sum(output_tokens)::HUGEINT AS output_tokens, sum(total_tokens)::HUGEINT AS total_tokens, "
                "sum(cost_usd) AS cost_usd, "
                "coalesce(sum(counted_requests) FILTER (WHERE unpriced_raw IS NOT NULL), 0)::HUGEINT AS unpriced_requests, "
                "min(first_ts) AS first_ts, max(last_ts) AS last_ts "
                "FROM _chat_parts WHERE session_id IS NOT NULL GROUP BY session_id "
                f"ORDER BY cost_usd DESC NULLS LAST, total_tokens DESC, session_id{limit}",
                params,
            )
        )
        totals = _rows(
            con.execute(
                "SELECT session_id IS NULL AS no_chat, count(DISTINCT session_id)::BIGINT AS chats, "
                "sum(requests)::HUGEINT AS requests, sum(input_tokens)::HUGEINT AS input_tokens, "
                "sum(output_tokens)::HUGEINT AS output_tokens, sum(total_tokens)::HUGEINT AS total_tokens, "
                "sum(cost_usd) AS cost_usd, sum(counted_requests)::HUGEINT AS counted_requests, "
                "coalesce(sum(counted_requests) FILTER (WHERE unpriced_raw IS NOT NULL), 0)::HUGEINT AS unpriced_requests, "
                "coalesce(sum(requests) FILTER (WHERE unpriced_raw IS NOT NULL), 0)::HUGEINT AS unpriced_logged "
                "FROM _chat_parts GROUP BY 1"
            )
        )
        # a chat with any unpriced message has no full cost: averages are over the others
        priced = _rows(
            con.execute(
                "SELECT count(*)::BIGINT AS chats, sum(cost_usd) AS cost_usd FROM ("
                "SELECT session_id, sum(cost_usd) AS cost_usd FROM _chat_parts WHERE session_id IS NOT NULL "
                "GROUP BY session_id HAVING bool_and(unpriced_raw IS NULL))"
            )
        )[0]
        unpriced = _rows(
            con.execute(
                "SELECT unpriced_raw AS model_raw, sum(requests)::HUGEINT AS requests, "
                "sum(total_tokens)::HUGEINT AS total_tokens, sum(counted_requests)::HUGEINT AS unpriced_requests "
                "FROM _chat_parts "
                "WHERE unpriced_raw IS NOT NULL AND session_id IS NOT NULL GROUP BY 1 ORDER BY 3 DESC, 1"
            )
        )
    finally:
        con.execute("DROP TABLE IF EXISTS _chat_parts")
    details = _chat_details(con, flt, [r["session_id"] for r in rows])
    for r in rows:
        r.update(details.get(r["session_id"], {"chat_title": None, "models": None}))
    by_kind = {bool(t["no_chat"]): t for t in totals}
    return {
        "rows": rows,
        "chats": by_kind.get(False),
        "no_chat": by_kind.get(True),
        "unpriced": unpriced,
        "priced_chats": priced,
    }


def _chat_details(con: duckdb.DuckDBPyConnection, flt: Filters, session_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Title (the greatest when it changed) and canonical models of the given chats."""
    if not session_ids:
        return {}
    base = _filtered(flt, "mapped_events.sql")  # titles and models need no cost
    params = dict(base.params)
    load_temp_table(con, "_chat_ids", [("session_id", "VARCHAR")], [(s,) for s in session_ids])
    try:
        found = _rows(
            con.execute(
                "SELECT session_id, max(chat_title) AS chat_title, "
                "string_agg(DISTINCT cmodel, ', ' ORDER BY cmodel) AS models "
                f"FROM ({base.sql}) f WHERE session_id IN (SELECT session_id FROM _chat_ids) GROUP BY 1",
                params,
            )
        )
    finally:
        con.execute("DROP TABLE IF EXISTS _chat_ids")
    return {r.pop("session_id"): r for r in found}


def _event_select() -> str:
    return ", ".join(EVENT_FIELDS)


def chat_events(con: duckdb.DuckDBPyConnection, flt: Filters, session_id: str) -> list[dict[str, Any]]:
    """Every event of one chat in the range, oldest first (ties by event id)."""
    base = _filtered(flt)
    params = dict(base.params) | {"sid": session_id}
    return _rows(
        con.execute(
            f"SELECT {_event_select()} FROM ({base.sql}) f WHERE session_id = $sid ORDER BY ts, event_id", params
        )
    )


def find_events(con: duckdb.DuckDBPyConnection, flt: Filters, ident: str) -> list[dict[str, Any]]:
    """The event whose ``event_id`` is ``ident``, else the events whose ``message_id`` is (oldest
    first). The event id is looked up first: it is indexed, a message id is a scan."""
    base = _filtered(flt)
    params = dict(base.params) | {"ident": ident}
    for column in ("event_id", "message_id"):  # constants, not input
        found = _rows(
            con.execute(
                f"SELECT {_event_select()} FROM ({base.sql}) f WHERE {column} = $ident ORDER BY ts, event_id", params
            )
        )
        if found:
            return found
    return []


def others_with_message_id(
    con: duckdb.DuckDBPyConnection, flt: Filters, ident: str, limit: int
) -> tuple[list[str], int]:
    """The event ids (oldest first, at most ``limit``) and the number of the events other than
    event ``ident`` whose ``message_id`` is ``ident``: ``message show`` shows event ``ident`` and
    names them, since the id names their message too."""
    # nearly always none: a scan of the bare column says so without building the priced relation
    probe = "SELECT 1 FROM events WHERE message_id = $ident AND event_id <> $ident LIMIT 1"
    if con.execute(probe, {"ident": ident}).fetchone() is None:
        return [], 0
    base = _filtered(flt)
    params = dict(base.params) | {"ident": ident, "lim": limit}
    rows = con.execute(
        f"SELECT event_id, count(*) OVER () AS n FROM ({base.sql}) f WHERE message_id = $ident AND event_id <> $ident "
        "ORDER BY ts, event_id LIMIT $lim",
        params,
    ).fetchall()
    return [r[0] for r in rows], (int(rows[0][1]) if rows else 0)


# --------------------------------------------------------------------------- files


def file_summary(con: duckdb.DuckDBPyConnection, flt: Filters) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Per file (``file_id``, or ``file_name`` for events with a name and no id) over the events
    of the range that carry it, and the unpriced usage of those events by model name.

    * ``first_read_tokens``: ``file_tokens`` of the file's earliest event in the range (ties by
      event id); ``reread_tokens``: the sum over its later events.
    * ``processing_cost_usd``: sum over its priced events of ``cost × f / total_input`` with
      ``f = min(file_tokens, total_input)``; each event's share is computed in integer
      pico-dollars (the exact scale of a cost) and rounded half up there. None when every event
      of the file is unpriced.
    * ``chats``: distinct ``session_id`` among its events (the reuse count).
    """
    base = _filtered(flt)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _file_events AS "
        "SELECT file_id, CASE WHEN file_id IS NULL THEN file_name END AS name_key, file_name, file_bytes, "
        "session_id, requests, counted_requests, ts, event_id, cost, total_input, total_tokens, "
        "coalesce(file_tokens, 0) AS file_tokens, "
        "CASE WHEN cost IS NULL THEN coalesce(cmodel, model_raw, '(none)') END AS unpriced_raw "
        f"FROM ({base.sql}) f WHERE file_id IS NOT NULL OR file_name IS NOT NULL",
        base.params,
    )
    try:
        rows = _rows(
            con.execute("""
            WITH fe AS (
                SELECT *, row_number() OVER (PARTITION BY file_id, name_key ORDER BY ts, event_id) AS nth,
                       CASE WHEN cost IS NULL THEN NULL
                            WHEN total_input <= 0 OR file_tokens <= 0 THEN CAST(0 AS HUGEINT)
                            ELSE (2 * CAST(CAST(cost AS DECIMAL(38, 12)) * 1000000000000 AS HUGEINT)
                                    * least(file_tokens, total_input) + total_input) // (2 * total_input)
                       END AS share_pico
                FROM _file_events
            )
            SELECT file_id, name_key, max(file_name) AS file_name, max(file_bytes)::BIGINT AS file_bytes,
                   sum(requests)::HUGEINT AS requests, count(DISTINCT session_id)::BIGINT AS chats,
                   sum(file_tokens)::HUGEINT AS file_tokens,
                   sum(file_tokens) FILTER (WHERE nth = 1)::HUGEINT AS first_read_tokens,
                   coalesce(sum(file_tokens) FILTER (WHERE nth > 1), 0)::HUGEINT AS reread_tokens,
                   sum(share_pico) AS share_pico,
                   coalesce(sum(counted_requests) FILTER (WHERE cost IS NULL), 0)::HUGEINT AS unpriced_requests,
                   min(ts) AS first_ts, max(ts) AS last_ts
            FROM fe GROUP BY file_id, name_key
            """)
        )
        unpriced = _rows(
            con.execute(
                "SELECT unpriced_raw AS model_raw, sum(requests)::HUGEINT AS requests, "
                "sum(total_tokens)::HUGEINT AS total_tokens, sum(counted_requests)::HUGEINT AS unpriced_requests "
                "FROM _file_events WHERE unpriced_raw IS NOT NULL "
                "GROUP BY 1 ORDER BY 3 DESC, 1"
            )
        )
    finally:
        con.execute("DROP TABLE IF EXISTS _file_events")
    for r in rows:
        pico = r.pop("share_pico")
        r["processing_cost_usd"] = None if pico is None else Decimal(int(pico)).scaleb(-12)
        for k in ("file_tokens", "first_read_tokens", "reread_tokens"):
            r[k] = _int(r[k])
    return rows, unpriced
