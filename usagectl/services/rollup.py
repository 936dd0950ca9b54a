"""Rolling up the one-pass cube of a report in Python, exactly (ints and Decimal)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from usagectl.store.reports import SUM_KEYS

MONEY_KEYS = ("cost_usd", "reported_cost_usd")


def empty() -> dict[str, Any]:
    return {k: (None if k in MONEY_KEYS else 0) for k in SUM_KEYS}


def add(acc: dict[str, Any], row: dict[str, Any]) -> None:
    for k in SUM_KEYS:
        v = row.get(k)
        if v is None:
            continue
        if k in MONEY_KEYS:
            acc[k] = (acc[k] or Decimal(0)) + v
        else:
            acc[k] += int(v)


def rollup(rows: Iterable[dict[str, Any]], keys: Sequence[str]) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Sum the cube rows per key tuple. A money sum is None only when no row had a value
    (all unpriced), as SQL's SUM is."""
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        key = tuple(row[k] for k in keys)
        acc = groups.get(key)
        if acc is None:
            acc = groups[key] = empty()
        add(acc, row)
    return groups


def total(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return rollup(rows, ()).get((), empty())


def unpriced_models(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Unpriced usage by the model name as logged and cause, largest first. ``no_web_price``:
    the model has a price, but not for the web searches of these requests (``web_search_requests``
    calls), so the whole request is left out: a note must say so, not that the model has no price.

    ``unpriced_requests`` (a bucket without a request count counted as one, per event) is summed
    only when the rows carry it (the cube's do, ``analytics.rate_sums``' do not): the notes then
    count each model as the totals do (``services.reports._counted_requests``)."""
    acc: dict[tuple[str, bool], dict[str, Any]] = {}
    for row in rows:
        raw = row.get("unpriced_raw")
        if raw is None:
            continue
        web = bool(row.get("unpriced_web"))
        a = acc.setdefault(
            (raw, web), {"model_raw": raw, "requests": 0, "total_tokens": 0, "no_web_price": web, "web_searches": 0}
        )
        a["requests"] += int(row["requests"] or 0)
        a["total_tokens"] += int(row["total_tokens"] or 0)
        a["web_searches"] += int(row.get("web_search_requests") or 0)
        if "unpriced_requests" in row:
            a["unpriced_requests"] = a.get("unpriced_requests", 0) + int(row["unpriced_requests"] or 0)
    return sorted(acc.values(), key=lambda r: (-r["total_tokens"], r["model_raw"], r["no_web_price"]))


def unpriced_counts(rows: Iterable[dict[str, Any]]) -> tuple[int, dict[tuple[str, bool], int]]:
    """The unpriced requests of cube rows (``store.reports.cube``, which carry ``unpriced_requests``:
    a bucket without a request count is one, per event), in all and per (model as logged, left
    out for web searches): the counts ``services.costs.UnpricedCounts`` holds, here of rows a
    caller has picked (a statement's direct usage, ``allocation.direct_usage``)."""
    picked = list(rows)
    per_model = {
        (str(m["model_raw"]), bool(m["no_web_price"])): int(m.get("unpriced_requests") or 0)
        for m in unpriced_models(picked)
    }
    return sum(int(r["unpriced_requests"] or 0) for r in picked), per_model
