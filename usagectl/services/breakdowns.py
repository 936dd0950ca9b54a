"""`report by DIM[,DIM2]`: tokens, cost and shares per value of one or two dimensions.

* Dimensions come from an allow-list (``DIMENSIONS``: the CLI spelling -> the group key of
  ``usagectl.store.reports.GROUP_KEYS``, which is also the JSON key of the rows).
* Team, department and cost center are the event's own or, when it has none, the member's in
  the config (``[members.NAME]``): the cost engine's ``cteam``/``cdepartment``/``ccost_center``.
* A row without a value shows as ``(none)``; with ``top`` the rows beyond the first N (ranked
  by cost, then tokens, then name) fold into one ``(other)`` row: for two levels, within each
  first-level group (every first-level group is shown). Folding never changes the totals.
* Shares are of the whole range (two levels too): ``token_share_pct`` = tokens x 100 / all
  tokens, ``cost_share_pct`` = cost x 100 / all priced cost, exact (JSON/CSV round it to 2
  decimals, tables to 1, each once). Unpriced usage has
  no cost (None, never $0) and is named in the notes.
* ``model`` rows carry the provider (a model logged under two providers has two rows), so
  ``report by model`` keeps its columns and JSON keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from usagectl.config import effective_timezone
from usagectl.errors import UsageError
from usagectl.models import Column, Report, Section, counted, noun
from usagectl.services.context import AppContext
from usagectl.services.reports import (
    METRIC_COLUMNS,
    ROW_KEYS,
    ReportRequest,
    _clean,
    _cube_and_band,
    _groups,
    _now,
    _share,
    _totals,
    _unpriced_notes,
    build_filters,
    shown_metrics,
    this_month_range,
)
from usagectl.services.rollup import add, empty, total, unpriced_models
from usagectl.timeutil import local_today

# CLI name -> group key (also the row's JSON key)
DIMENSIONS: dict[str, str] = {
    "model": "model",
    "provider": "provider",
    "member": "member",
    "team": "team",
    "department": "department",
    "cost-center": "cost_center",
    "project": "project",
    "workspace": "workspace",
    "api-key": "api_key",
    "feature": "feature",
    "tool": "tool",
    "integration": "integration",
    "platform": "platform",
    "service-tier": "service_tier",
    "source": "source",
}
HEADERS: dict[str, str] = {
    "model": "Model",
    "provider": "Provider",
    "member": "Member",
    "team": "Team",
    "department": "Department",
    "cost_center": "Cost center",
    "project": "Project",
    "workspace": "Workspace",
    "api_key": "API key",
    "feature": "Feature",
    "tool": "Tool",
    "integration": "Integration",
    "platform": "Platform",
    "service_tier": "Service tier",
    "source": "Source",
}
# a dimension's value in words (``counted``/``noun`` add the plural's s)
SINGULARS: dict[str, str] = {"cost_center": "cost center", "api_key": "API key", "service_tier": "service tier"}
NONE_LABEL = "(none)"
OTHER_LABEL = "(other)"
TWO_LEVEL_TABLE = frozenset(
    {"requests", "input_tokens", "output_tokens", "total_tokens", "cost_usd", "unpriced_requests"}
)
# on a narrow terminal the table leaves out the provider first (the model names it), then the
# token share, then the cost share, rather than fold names and headers (``Column.narrow_drop``)
SHARE_COLUMNS = (
    Column("token_share_pct", "Token share", "pct", narrow_drop=2),
    Column("cost_share_pct", "Cost share", "pct", narrow_drop=3),
)


def dimension_choices() -> str:
    return ", ".join(DIMENSIONS)


def unknown_dimension(option: str, typed: str, choices: Sequence[str]) -> UsageError:
    """The error for a dimension name none of ``choices`` is: the name as typed, the closest
    choice (``report by modle`` gave the list alone, where ``report modly`` gets Click's "Did you
    mean"), then every choice."""
    import difflib

    close = difflib.get_close_matches(typed.strip().lower().replace("_", "-"), choices, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return UsageError(f"{option}: unknown dimension {typed.strip()!r}{hint}; choose from {', '.join(choices)}")


def parse_dimensions(parts: Sequence[str], *, option: str = "DIM", most: int = 2) -> tuple[str, ...]:
    """CLI names (``team``, ``cost-center``, ``cost_center``; comma lists allowed) -> group keys.

    Raises ``UsageError`` naming the choices for an unknown name, a repeat, or too many levels.
    """
    keys: list[str] = []
    for part in parts:
        for raw in part.split(","):
            name = raw.strip().lower().replace("_", "-")
            if not name:
                raise UsageError(f"{option} {part!r}: an empty dimension (write e.g. team,model)")
            if name == "chat" and option == "report by":  # `report by chat` is `report chats`: one level only
                raise UsageError(
                    f"{option} {','.join(parts)}: chat has no second level (`report by chat` alone); "
                    f"two levels combine two of {dimension_choices()}"
                )
            if name not in DIMENSIONS:
                raise unknown_dimension(option, raw, tuple(DIMENSIONS))
            key = DIMENSIONS[name]
            if key in keys:
                raise UsageError(f"{option}: dimension {name!r} is given twice")
            keys.append(key)
    if not keys:
        raise UsageError(f"{option}: name a dimension; choose from {dimension_choices()}")
    if len(keys) > most:
        raise UsageError(f"{option}: at most {counted(most, 'dimension')}, got {len(keys)} ({', '.join(keys)})")
    return tuple(keys)


def cli_name(key: str) -> str:
    return key.replace("_", "-")


def _label(value: Any) -> Any:
    return NONE_LABEL if value is None else value


def _rank(row: dict[str, Any], label_key: str) -> tuple[Any, ...]:
    return (-(row["cost_usd"] or 0), -row["total_tokens"], str(row[label_key]))


def _with_shares(row: dict[str, Any], totals: dict[str, Any]) -> dict[str, Any]:
    row["token_share_pct"] = _share(row["total_tokens"], totals["total_tokens"])
    row["cost_share_pct"] = _share(row["cost_usd"], totals["cost_usd"])
    return row


def _fold(rows: list[dict[str, Any]], top: int | None, label_key: str, fixed: dict[str, Any]) -> list[dict[str, Any]]:
    """Keep the first ``top`` rows (already ranked); sum the rest into one ``(other)`` row."""
    if top is None or len(rows) <= top:
        return rows
    acc = empty()
    for r in rows[top:]:
        add(acc, r)
    other = dict(fixed) | {label_key: OTHER_LABEL} | _clean(acc, ROW_KEYS) | {"folded": len(rows) - top}
    return rows[:top] + [other]


def _rows_for(groups: list[dict[str, Any]], keys: Sequence[str], extra: Sequence[str]) -> list[dict[str, Any]]:
    out = []
    for g in groups:
        row = {k: _label(g[k]) for k in keys}
        row.update({k: g[k] for k in extra})
        row.update(_clean(g, ROW_KEYS))
        out.append(row)
    return out


def breakdown_rows(
    cube: list[dict[str, Any]], keys: Sequence[str], totals: dict[str, Any], top: int | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(rows, first-level rows) of a breakdown of ``cube`` by ``keys`` (1 or 2 group keys).

    The first-level rows are only meaningful for two levels (for one level they are the rows).
    Every row has the keys, ``provider`` when ``model`` is a level and ``provider`` is not,
    ``ROW_KEYS``, the two shares and ``folded`` (rows summed into an ``(other)`` row, else 0).
    """
    extra = ["provider"] if "model" in keys and "provider" not in keys else []
    first = keys[0]
    if len(keys) == 1:
        ranked = sorted(_rows_for(_groups(cube, [*keys, *extra]), keys, extra), key=lambda r: _rank(r, first))
        out = [
            _with_shares(r | {"folded": r.get("folded", 0)}, totals)
            for r in _fold(ranked, top, first, dict.fromkeys(extra))
        ]
        return out, out
    second = keys[1]
    parents = sorted(_rows_for(_groups(cube, [first]), [first], []), key=lambda r: _rank(r, first))
    children: dict[Any, list[dict[str, Any]]] = {}
    for r in _rows_for(_groups(cube, [*keys, *extra]), keys, extra):
        children.setdefault(r[first], []).append(r)
    rows: list[dict[str, Any]] = []
    for p in parents:
        kids = sorted(children.get(p[first], []), key=lambda r: _rank(r, second))
        fixed = {first: p[first]} | dict.fromkeys(extra)
        rows += [_with_shares(r | {"folded": r.get("folded", 0)}, totals) for r in _fold(kids, top, second, fixed)]
    return rows, [_with_shares(p, totals) for p in parents]


def breakdown(ctx: AppContext, req: ReportRequest, dims: Sequence[str], *, top: int | None = None) -> Report:
    """Tokens, cost and shares per value of ``dims`` (group keys, see ``parse_dimensions``),
    over ``req``'s range (default: the current month in the report's zone)."""
    keys = parse_dimensions([",".join(cli_name(d) for d in dims)])
    if top is not None and top < 1:
        raise UsageError(f"--top {top}: give a number of rows of at least 1")
    tz = effective_timezone(req.tz, ctx.config)
    today = local_today(tz, _now(req))
    flt = build_filters(ctx, req, default=this_month_range(req, today))
    extra = ["provider"] if "model" in keys and "provider" not in keys else []
    cube, band_notes = _cube_and_band(ctx, flt, [*keys, *extra])
    unpriced = unpriced_models(cube)
    totals = _totals(total(cube), unpriced)
    rows, parents = breakdown_rows(cube, keys, totals, top)

    names = [cli_name(k) for k in keys]
    key_columns = tuple(Column(k, HEADERS[k]) for k in keys)
    metric_columns = shown_metrics(METRIC_COLUMNS, totals)
    if len(keys) == 2:  # two key columns: the table keeps the essentials, json/csv keep everything
        metric_columns = tuple(replace(c, in_table=c.in_table and c.key in TWO_LEVEL_TABLE) for c in metric_columns)
    # the provider is the first column a narrow table leaves out (the model names it; a table of
    # two levels leaves it out), unless a model has rows under two providers: without it they
    # would read as one model counted twice
    twice = bool(extra) and models_split_by_provider(rows)
    key_columns += tuple(
        Column(k, HEADERS[k], in_table=len(keys) == 1 or twice, narrow_drop=0 if twice else 1) for k in extra
    )
    columns = key_columns + metric_columns + SHARE_COLUMNS
    if top is not None:
        columns += (Column("folded", "Folded", "int", in_table=False),)
    sections: tuple[Section, ...] = ()
    if len(keys) == 2:
        sections = (
            Section(
                key=f"by_{keys[0]}",
                title=f"By {HEADERS[keys[0]].lower()}",
                columns=(Column(keys[0], HEADERS[keys[0]]),) + metric_columns + SHARE_COLUMNS,
                rows=tuple(parents),
            ),
        )
    notes = [*_unpriced_notes(unpriced), *band_notes]
    folded = sum(r["folded"] for r in rows)
    if folded and top is not None:
        what = SINGULARS.get(keys[-1], keys[-1])
        if len(keys) == 2:  # what was folded is (first, second) pairs, counted over every group
            pairs = counted(folded, f"({HEADERS[keys[0]].lower()}, {HEADERS[keys[1]].lower()}) pair")
            folded_what = f"{pairs} beyond the top {top} {noun(top, what)} of each {HEADERS[keys[0]].lower()}"
        else:
            folded_what = f"the {counted(folded, what)} beyond the top {top}"
        notes.append(f"{OTHER_LABEL} rows sum {folded_what}; totals include them.")
    if any(r[k] == NONE_LABEL for r in rows for k in keys):
        notes.append(f"{NONE_LABEL}: usage whose events (and, for team/department/cost center, members) name none.")
    for_what = " and ".join(HEADERS[k].lower() for k in keys)
    return Report(
        name="by-" + "-".join(names),
        title=f"Usage by {for_what} {flt.since} – {flt.until} ({tz})",
        filters=flt.as_dict() | {"by": names, "top": top},
        columns=columns,
        rows=tuple(_jsonable(r, top) for r in rows),
        totals=totals,
        sections=sections,
        notes=tuple(notes),
    )


def models_split_by_provider(rows: Sequence[dict[str, Any]]) -> bool:
    """Whether a model has rows under two providers (``claude-sonnet-4-5`` from anthropic and
    from bedrock): within one first-level group, for two levels."""
    seen: dict[tuple[Any, ...], set[Any]] = {}
    for r in rows:
        if r.get("folded"):
            continue
        ident = tuple(v for k, v in r.items() if k in DIMENSIONS.values() and k != "provider")
        seen.setdefault(ident, set()).add(r.get("provider"))
    return any(len(p) > 1 for p in seen.values())


def _jsonable(row: dict[str, Any], top: int | None) -> dict[str, Any]:
    """``folded`` is only reported when ``--top`` asked for folding (keeps ``by model`` rows as they were)."""
    if top is None:
        row = {k: v for k, v in row.items() if k != "folded"}
    return row
