"""`report team`: per member, team, department and cost center, with shared cost allocated.

Usage is charged directly to the team its event names or its member is mapped to (a batch job
tagged ``team = "platform"`` is platform's, as in ``report by team`` and the team budget); such
usage with no member is a row "(no member)" of that team. Shared usage is usage with neither a
member nor a team (shared agents, integrations). Its priced cost is allocated in two steps, both
with ``allocate`` (largest remainder, exact; ``usagectl.services.allocation`` does both steps):

1. among the *units* of ``by`` (member, team, department or cost center) that have direct
   usage (with ``--by member``: the members): in proportion to each unit's own priced cost
   (``proportional``), or equally (``even``). Proportional with no priced cost at all falls back
   to even (noted).
2. each unit's part among its rows (a row is one member, or no member, with one team,
   department and cost center; a member whose events name two teams has two rows) with the
   same mode.

Money is shown at $0.000001, so the exact costs (to 1e-12) are rounded with the largest
remainder against the rounded total (``round_to_total``): the direct costs of the rows, and of
each section's units, add up to the displayed direct total, and the allocated parts (of the
rounded shared cost) to the shared cost. So in every section ``direct + allocated = cost`` and
the section's cost column sums to the report's displayed total cost exactly (its cost share is
of that total). Token shares are of the rows' tokens (shared tokens are not allocated; the
shared section lists them). Shared cost with no unit to take it is a row "(shared, not
allocated)" in each table, with the shared usage's requests, tokens and its cost as its own
(direct), so every column still adds up to the Total row. Unpriced usage has no cost: it is
counted and named in the notes, never $0.

Filters on member, team and department (the attribution filters; a cost center filter, which no
command offers, would be one too) choose rows AFTER the allocation: ``--team B`` shows team B's
rows of the whole report, each with its part of the shared cost, beside the whole shared cost and
the part allocated to the rows shown (shares stay of all usage). Shared usage is never one of
those rows, even where its event names the department filtered on: it is allocated, and counted
again as the department's own it would be charged twice (``direct_usage``). Every other filter
(model, provider, project, feature, tool, integration, platform …) narrows the usage, shared
usage included, before the allocation. A filtered invoice charges the same part (``chargeback``)
and the same direct usage.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from usagectl.config import effective_timezone
from usagectl.errors import UsageError
from usagectl.models import Column, Report, Section
from usagectl.render.formats import format_money
from usagectl.services.allocation import (
    ATOM_KEYS,
    MODES,
    QUANTUM,
    ZERO,
    Allocation,
    allocation,
    chosen,
    default_allocation,
    direct_usage,
    is_shared,
    label,
    rounded,
    split_filters,
)
from usagectl.services.breakdowns import cli_name
from usagectl.services.context import AppContext
from usagectl.services.reports import (
    ReportRequest,
    _cube,
    _now,
    _share,
    _unpriced_json,
    _unpriced_notes,
    build_filters,
    this_month_range,
    with_empty_notes,
)
from usagectl.services.rollup import rollup, total, unpriced_models
from usagectl.timeutil import local_today

BY_LEVELS = {"member": "member", "team": "team", "department": "department", "cost-center": "cost_center"}

UNALLOCATED = "(shared, not allocated)"


def _mode(ctx: AppContext, mode: str | None) -> str:
    if mode is not None:
        m = mode.strip().lower()
        if m not in MODES:
            raise UsageError(f"--allocate {mode!r}: must be one of {', '.join(MODES)}")
        return m
    return default_allocation(ctx.config)


def _level(by: str | None) -> str:
    key = (by or "member").strip().lower().replace("_", "-")
    if key not in BY_LEVELS:
        raise UsageError(f"--by {by!r}: must be one of {', '.join(BY_LEVELS)}")
    return BY_LEVELS[key]


def team(ctx: AppContext, req: ReportRequest, *, allocate_mode: str | None = None, by: str | None = None) -> Report:
    mode = _mode(ctx, allocate_mode)
    level = _level(by)
    tz = effective_timezone(req.tz, ctx.config)
    today = local_today(tz, _now(req))
    flt = build_filters(ctx, req, default=this_month_range(req, today))
    # the allocation runs over the usage without the member/team/… filters; they choose the rows
    scope, pick = split_filters(flt)
    cube = _cube(ctx, scope, ATOM_KEYS + ["integration", "feature"])
    a = allocation(cube, mode, level)
    atoms, directs, allocated, total_cost, shared_cost = a.atoms, a.directs, a.allocated, a.total_cost, a.shared_cost
    unallocated = a.unallocated
    notes = list(a.notes)
    what = " and ".join(k.replace("_", " ") for k in ATOM_KEYS if ATOM_KEYS.index(k) in pick)
    if unallocated:
        where = f"shown as {UNALLOCATED}" if not pick else f"not charged to the {what} shown"
        notes.append(f"Shared usage cost {format_money(shared_cost)} has no {level.replace('_', ' ')} to be "
                     f"allocated to: {where}.")  # fmt: skip
    shown_rows = [i for i, (k, _v) in enumerate(atoms) if chosen(k, pick)]

    # shared cost with nobody to take it is a row of its own that carries the shared usage, so
    # every column of each table adds up to its Total row (not a row of a filtered selection)
    spare = _shared_usage(a.shared) | {"cost_usd": unallocated} if unallocated else None
    # token shares are of the rows' tokens, and cost shares of the total cost, of the whole
    # report: a filtered row reads as it does unfiltered
    all_tokens = sum(v["total_tokens"] for _, v in atoms) + (spare["total_tokens"] if spare else 0)
    shown_spare = spare if not pick else None
    member_rows = []
    for i in shown_rows:
        k, v = atoms[i]
        row: dict[str, Any] = {n: label(n, x) for n, x in zip(ATOM_KEYS, k, strict=True)}
        row |= _money_row(v | {"cost_usd": directs[i]}, allocated[i], all_tokens, total_cost)
        member_rows.append(row)
    if shown_spare:
        member_rows.append(_unallocated_row(ATOM_KEYS, shown_spare, all_tokens, total_cost))
    member_rows.sort(key=lambda r: (-(r["cost_usd"] or ZERO), -r["total_tokens"], r["member"], r["team"]))

    grand = total(cube)
    picked_atoms = [atoms[i] for i in shown_rows]
    picked_alloc = [allocated[i] for i in shown_rows]
    if pick:
        # the rows' own usage: shared usage that holds the department filtered on is allocated
        picked_cube = [r for r in direct_usage(cube) if chosen(tuple(r[n] for n in ATOM_KEYS), pick)]
        unpriced = unpriced_models(picked_cube)
        totals = _picked_totals(total(picked_cube), grand, a, [directs[i] for i in shown_rows], sum(picked_alloc, ZERO),
                                unpriced)  # fmt: skip
        direct_total = totals["direct_cost_usd"] or ZERO
    else:
        unpriced = unpriced_models(cube)
        totals = _totals(grand, a.shared, (total_cost, shared_cost), sum(allocated, ZERO), unpriced,
                         unallocated=unallocated)  # fmt: skip
        direct_total = (total_cost or ZERO) - shared_cost
    sections = []
    for key, title, sec in (("team", "Teams", "teams"), ("department", "Departments", "departments"),
                            ("cost_center", "Cost centers", "cost_centers")):  # fmt: skip
        sections.append(
            _level_section(
                key, title, sec, picked_atoms, picked_alloc, shown_spare, all_tokens, (total_cost, direct_total)
            )
        )
    if not pick:
        shared_title = "allocated above" if not unallocated else f"not allocated: shown above as {UNALLOCATED}"
    elif unallocated:
        shared_title = f"not allocated: not charged to the {what} shown"
    else:
        shared_title = f"{format_money(totals['allocated_usd'])} of its cost allocated to the {what} shown"
    sections.append(_shared_section(cube, shared_cost, title=f"Shared usage (no member, no team), {shared_title}"))
    members = len({k[0] for k, _ in picked_atoms if k[0] is not None})
    # the rows' direct usage (a "(shared, not allocated)" row is the shared usage's own, not direct)
    shown_direct = totals["direct_cost_usd"] if pick else direct_total
    overview: list[tuple[str, str, Any]] = [
        ("period", "Period", f"{flt.since} – {flt.until} ({tz})"),
        ("cost_usd", "Total cost", totals["cost_usd"]),
        ("direct_cost_usd", "Direct usage cost", None if totals["cost_usd"] is None else shown_direct),
        ("shared_cost_usd", "Shared usage cost (no member, no team)", shared_cost),
    ]
    if pick:
        overview += [
            ("allocated_usd", f"Shared cost allocated to the {what} shown", totals["allocated_usd"]),
            ("all_cost_usd", f"Total cost of all usage (no {what} filter)", total_cost),
        ]
    overview += [
        ("allocation", "Allocation", _method(a.mode, level)),
        ("all_tokens", "Tokens, all usage" + (f" (no {what} filter)" if pick else ""), totals["all_tokens"]),
        # the tables' token columns hold the direct usage: the shared tokens are not allocated
        (
            "shared_tokens",
            "Shared tokens (not in the rows)" if not shown_spare else "Shared tokens",
            totals["shared_tokens"],
        ),
        ("members", "Members", members),
        ("teams", "Teams", len({label("team", k[1]) for k, _ in picked_atoms})),
    ]
    if totals["unpriced_requests"]:
        overview.append(("unpriced_requests", "Unpriced requests", totals["unpriced_requests"]))
    if pick:
        notes.append(
            f"Filtered by {what}: the shared cost is allocated over all usage, as without that filter, and the "
            f"rows of the {what} are then shown with their part of it; shares are of all usage. Filters on model, "
            "provider, project, feature and the others narrow the usage, shared usage included, before."
        )
    notes.extend(_unpriced_notes(unpriced))
    # by its unpriced requests: a row of priced and unpriced shared usage has a cost
    if any(r["unpriced_requests"] for r in a.shared):
        notes.append("Unpriced shared usage has no cost and is not allocated.")
    report = Report(
        name="team",
        title=f"Team usage {flt.since} – {flt.until} ({tz})",
        filters=flt.as_dict() | {"allocate": a.mode, "by": [cli_name(level)]},
        columns=MEMBER_COLUMNS + _unpriced_column(totals),
        rows=tuple(member_rows),
        totals=totals,
        overview=tuple(overview),
        sections=tuple(sections),
        notes=tuple(notes),
    )
    return with_empty_notes(ctx, report)


def _picked_totals(
    picked: dict[str, Any],
    grand: dict[str, Any],
    a: Allocation,
    directs: list[Decimal | None],
    allocated: Decimal,
    unpriced: list[dict[str, Any]],
) -> dict[str, Any]:
    """The totals of the rows a member/team/… filter chose: the sums of those rows as displayed
    (so the Total row adds up), beside the whole usage's shared cost, requests and tokens. Their
    direct cost is None (unpriced) only when they have usage and none of it is priced."""
    priced = [d for d in directs if d is not None]
    if priced:
        direct: Decimal | None = sum(priced, ZERO)
    else:
        direct = ZERO if not (picked["requests"] or picked["unpriced_requests"]) else None
    shared = _shared_usage(a.shared)
    return {
        "requests": picked["requests"],
        "total_tokens": picked["total_tokens"],
        "direct_cost_usd": direct,
        "shared_cost_usd": a.shared_cost,
        "shared_requests": shared["requests"],
        "shared_tokens": shared["total_tokens"],
        "all_requests": grand["requests"],
        "all_tokens": grand["total_tokens"],
        "all_cost_usd": a.total_cost,
        "allocated_usd": allocated,
        "cost_usd": None if direct is None and not allocated else (direct or ZERO) + allocated,
        "unpriced_requests": picked["unpriced_requests"],
        "unpriced_tokens": picked["unpriced_tokens"],
        "unpriced_models": _unpriced_json(unpriced),
    }


def _method(mode: str, level: str) -> str:
    unit = level.replace("_", " ")
    how = "in proportion to their own priced cost" if mode == "proportional" else "evenly"
    then = "" if level == "member" else f", then within each {unit} to its members {how}"
    return f"shared cost to each {unit} {how}{then}; largest remainder at ${QUANTUM}, ties to the first by name"


MEMBER_COLUMNS: tuple[Column, ...] = (
    Column("member", "Member"),
    Column("team", "Team"),
    Column("department", "Department", in_table=False),  # in the sections below; keeps 80 columns readable
    Column("cost_center", "Cost center", in_table=False),
    Column("requests", "Reqs", "int"),
    Column("total_tokens", "Tokens", "int"),
    Column("token_share_pct", "Token share", "pct"),
    Column("direct_cost_usd", "Direct", "money"),
    Column("allocated_usd", "Allocated", "money"),
    Column("cost_usd", "Cost", "money"),
    Column("cost_share_pct", "Cost share", "pct"),
)
LEVEL_METRICS: tuple[Column, ...] = MEMBER_COLUMNS[4:] + (Column("members", "Members", "int"),)


def _unpriced_column(totals: dict[str, Any]) -> tuple[Column, ...]:
    return (Column("unpriced_requests", "Unpriced", "int", in_table=bool(totals["unpriced_requests"])),)


def _money_row(v: dict[str, Any], alloc: Decimal, all_tokens: int, total_cost: Decimal | None) -> dict[str, Any]:
    direct = v["cost_usd"]
    cost = None if direct is None and not alloc else (direct or ZERO) + alloc
    return {
        "requests": v["requests"],
        "total_tokens": v["total_tokens"],
        "token_share_pct": _share(v["total_tokens"], all_tokens),
        "direct_cost_usd": direct,
        "allocated_usd": alloc,
        "cost_usd": cost,
        "cost_share_pct": _share(cost, total_cost),
        "unpriced_requests": v["unpriced_requests"],
    }


def _shared_usage(shared: list[dict[str, Any]]) -> dict[str, int]:
    """The requests and tokens of the shared usage (no member, no team)."""
    return {k: sum(v[k] for v in shared) for k in ("requests", "total_tokens", "unpriced_requests")}


def _unallocated_row(keys: list[str], spare: dict[str, Any], all_tokens: int, total_cost: Decimal | None
                     ) -> dict[str, Any]:  # fmt: skip
    """The shared usage nobody could take, as its own unit: its cost is its own (direct), none of
    it allocated, so the row's and the Total's direct + allocated = cost."""
    row: dict[str, Any] = {k: UNALLOCATED for k in keys}
    return row | _money_row(spare, ZERO, all_tokens, total_cost) | {"members": 0}


def _level_section(
    key: str,
    title: str,
    sec: str,
    atoms: list[tuple[tuple[Any, ...], dict[str, Any]]],
    allocated: list[Decimal],
    spare: dict[str, Any] | None,
    all_tokens: int,
    shown: tuple[Decimal | None, Decimal],
) -> Section:
    """One level's units; their direct costs rounded against the displayed direct total."""
    total_cost, direct_total = shown
    pos = ATOM_KEYS.index(key)
    acc: dict[str, dict[str, Any]] = {}
    for (k, v), alloc in zip(atoms, allocated, strict=True):
        a = acc.setdefault(label(key, k[pos]), {"requests": 0, "total_tokens": 0, "cost_usd": None,
                                                  "unpriced_requests": 0, "alloc": ZERO, "who": set()})  # fmt: skip
        a["requests"] += v["requests"]
        a["total_tokens"] += v["total_tokens"]
        a["unpriced_requests"] += v["unpriced_requests"]
        if v["cost_usd"] is not None:
            a["cost_usd"] = (a["cost_usd"] or ZERO) + v["cost_usd"]
        a["alloc"] += alloc
        if k[0] is not None:
            a["who"].add(k[0])
    rows = []
    directs = rounded([a["cost_usd"] for a in acc.values()], direct_total)
    for (name, a), direct in zip(acc.items(), directs, strict=True):
        row: dict[str, Any] = {key: name} | _money_row(a | {"cost_usd": direct}, a["alloc"], all_tokens, total_cost)
        row["members"] = len(a["who"])
        rows.append(row)
    if spare:
        rows.append(_unallocated_row([key], spare, all_tokens, total_cost))
    rows.sort(key=lambda r: (-(r["cost_usd"] or ZERO), -r["total_tokens"], r[key]))
    header = dict(zip(ATOM_KEYS, ("Member", "Team", "Department", "Cost center"), strict=True))[key]
    return Section(key=sec, title=title, columns=(Column(key, header),) + LEVEL_METRICS, rows=tuple(rows))


def _shared_section(cube: list[dict[str, Any]], shared_cost: Decimal, *, title: str) -> Section:
    """What the shared usage (no member, no team) was: per integration and feature, its costs
    rounded against the displayed shared cost (the whole of it, filtered report or not)."""
    keys = ["member", "team", "integration", "feature"]
    groups = [(k, v) for k, v in rollup(cube, keys).items() if is_shared(k)]
    rows = []
    for (k, v), cost in zip(groups, rounded([v["cost_usd"] for _, v in groups], shared_cost), strict=True):
        rows.append({"integration": k[2] or "", "feature": k[3] or "",
                     "requests": v["requests"], "total_tokens": v["total_tokens"], "cost_usd": cost,
                     "unpriced_requests": v["unpriced_requests"]})  # fmt: skip
    rows.sort(key=lambda r: (-(r["cost_usd"] or ZERO), -r["total_tokens"], r["integration"], r["feature"]))
    return Section(
        key="shared",
        title=title,
        columns=(
            Column("integration", "Integration"),
            Column("feature", "Feature"),
            Column("requests", "Reqs", "int"),
            Column("total_tokens", "Tokens", "int"),
            Column("cost_usd", "Cost", "money"),
            Column("unpriced_requests", "Unpriced", "int"),
        ),
        rows=tuple(rows),
    )


def _totals(
    grand: dict[str, Any],
    shared: list[dict[str, Any]],
    shown: tuple[Decimal | None, Decimal],
    allocated: Decimal,
    unpriced: list[dict[str, Any]],
    *,
    unallocated: Decimal = ZERO,
) -> dict[str, Any]:
    """The displayed totals: total, direct and shared cost at $0.000001, direct + shared = total.
    Requests, tokens and direct cost are the table's Total row: the rows' sums, which hold the
    shared usage only when it is the "(shared, not allocated)" row (``unallocated``)."""
    cost, shared_cost = shown
    shared_requests = sum(v["requests"] for v in shared)
    shared_tokens = sum(v["total_tokens"] for v in shared)
    in_rows = bool(unallocated)
    return {
        "requests": grand["requests"] - (0 if in_rows else shared_requests),
        "total_tokens": grand["total_tokens"] - (0 if in_rows else shared_tokens),
        "direct_cost_usd": (cost or ZERO) - shared_cost + unallocated if cost is not None else None,
        "shared_cost_usd": shared_cost,
        "shared_requests": shared_requests,
        "shared_tokens": shared_tokens,
        "all_requests": grand["requests"],
        "all_tokens": grand["total_tokens"],
        "allocated_usd": allocated,
        "cost_usd": cost,
        "unpriced_requests": grand["unpriced_requests"],
        "unpriced_tokens": grand["unpriced_tokens"],
        "unpriced_models": _unpriced_json(unpriced),
    }
