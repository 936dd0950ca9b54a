"""Queries behind `usagectl doctor`: data gaps, unpriced usage, members without a team,
reported vs computed cost, events in the future. Values are bound; the priced relation needs
the session tables of ``reports.prepare_session``."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from usagectl.store.reports import _filtered
from usagectl.store.tables import rows_as_dicts

if TYPE_CHECKING:
    import duckdb

    from usagectl.models import Filters


def _rows(cur: Any) -> list[dict[str, Any]]:
    return rows_as_dicts(cur)


def range_facts(con: duckdb.DuckDBPyConnection, flt: Filters) -> dict[str, list[dict[str, Any]]]:
    """Three groupings of the range's priced events in ONE pass:

    * ``days``: the (source, quarter hour) pairs that have events, ``qh`` = epoch seconds // 900
      (every zone's offset is a multiple of 15 minutes, so the caller maps each to one local day
      exactly; much cheaper than converting every event to the zone);
    * ``models``: per (source, canonical model, unpriced logged name, ``no_web_price``: unpriced
      only for want of a per-call web-search rate) the volume and web-search calls, and the
      computed beside the reported cost over the events that have both;
    * ``members``: per (member, whether the events have a team — event or config) the volume.
    """
    base = _filtered(flt)
    sql = f"""
        SELECT source, qh, model, unpriced_raw, no_web_price, member, has_team,
            grouping(qh) AS g_day, grouping(model) AS g_model,
            sum(requests)::HUGEINT AS requests,
            sum(counted_requests)::HUGEINT AS counted_requests,
            sum(total_tokens)::HUGEINT AS total_tokens,
            sum(web_search_requests)::HUGEINT AS web_search_requests,
            count(*) FILTER (WHERE reported_cost_usd IS NOT NULL AND cost IS NOT NULL)::BIGINT AS compared_events,
            sum(cost) FILTER (WHERE reported_cost_usd IS NOT NULL) AS computed_usd,
            sum(reported_cost_usd) FILTER (WHERE cost IS NOT NULL) AS reported_usd
        FROM (
            SELECT source, epoch_us(ts) // 900000000 AS qh, cmodel AS model,
                CASE WHEN cost IS NULL THEN coalesce(model_raw, cmodel, '(none)') END AS unpriced_raw,
                no_web_price, member, cteam IS NOT NULL AS has_team, requests, counted_requests, total_tokens,
                web_search_requests,
                cost, reported_cost_usd
            FROM ({base.sql}) b
        ) f
        GROUP BY GROUPING SETS ((source, qh), (source, model, unpriced_raw, no_web_price), (member, has_team))
    """
    out: dict[str, list[dict[str, Any]]] = {"days": [], "models": [], "members": []}
    for row in _rows(con.execute(sql, base.params)):
        g_day, g_model = row.pop("g_day"), row.pop("g_model")
        out["days" if not g_day else "models" if not g_model else "members"].append(row)
    return out


def source_spans(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """First and last event of every source, over the whole database."""
    return _rows(con.execute("SELECT source, min(ts) AS first_ts, max(ts) AS last_ts FROM events GROUP BY 1"))


def future_events(con: duckdb.DuckDBPyConnection, after: datetime) -> list[dict[str, Any]]:
    """Events later than ``after``, per source (the whole database, not only the range)."""
    sql = (
        "SELECT source, count(*)::BIGINT AS events, min(ts) AS first_ts, max(ts) AS last_ts "
        "FROM events WHERE ts > $after GROUP BY 1 ORDER BY 1"
    )
    return _rows(con.execute(sql, {"after": after}))


def rejected_records(con: duckdb.DuckDBPyConnection) -> int:
    """Records that could not be imported (not the stored rows a finer fetch replaced)."""
    from usagectl.store.billing import NOT_IMPORTED_SQL

    row = con.execute(f"SELECT count(*) FROM rejects WHERE {NOT_IMPORTED_SQL}").fetchone()
    return int(row[0]) if row else 0


def named_units(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Which of member, team, department and cost_center any stored event names (Claude Code and
    Codex logs name none of them)."""
    row = con.execute(
        "SELECT bool_or(member IS NOT NULL), bool_or(team IS NOT NULL), bool_or(department IS NOT NULL), "
        "bool_or(cost_center IS NOT NULL) FROM events"
    ).fetchone()
    names = ("member", "team", "department", "cost_center")
    return {name for name, named in zip(names, row or (), strict=False) if named}


def members_with_usage(con: duckdb.DuckDBPyConnection, names: list[str]) -> set[str]:
    """Those of ``names`` that are the member of any stored event, whatever its date: a config
    entry that maps usage of its own is a real member, never another's misspelling."""
    if not names:
        return set()
    rows = con.execute("SELECT DISTINCT member FROM events WHERE member IN (SELECT unnest($names))", {"names": names})
    return {str(r[0]) for r in rows.fetchall()}
