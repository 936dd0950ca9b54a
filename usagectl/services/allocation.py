"""Shared cost allocated to members, teams, departments and cost centers: the two steps of
``report team`` (see ``usagectl.services.team``) and the part a filtered invoice owes
(``chargeback``). Amounts as the report displays them, exact to $0.000001."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from fractions import Fraction
from typing import Any

from usagectl.config import Config, shown
from usagectl.errors import ConfigError
from usagectl.models import Filters
from usagectl.money import round_to_total
from usagectl.services.context import AppContext
from usagectl.services.reports import _cube
from usagectl.services.rollup import rollup, total

QUANTUM = Decimal("0.000001")
MODES = ("proportional", "even")
ATOM_KEYS = ["member", "team", "department", "cost_center"]
NONE_LABEL = {"member": "(no member)", "team": "(no team)", "department": "(no department)",
              "cost_center": "(no cost center)"}  # fmt: skip
ZERO = Decimal(0)


def allocate(amount: Decimal, weights: Sequence[Decimal | int], quantum: Decimal = QUANTUM) -> list[Decimal]:
    """Split ``amount`` in proportion to ``weights`` so the parts add up to it EXACTLY.

    Largest remainder at ``quantum``: each part first gets the whole quanta of its exact share
    (rounded down), then the quanta left over go one each to the largest remainders; equal
    remainders go to the earlier position (callers pass recipients in sorted order, so ties go
    to the first in that order). When ``amount`` itself has digits below the quantum (a priced
    cost is exact to 1e-12), that sub-quantum rest rides on the next part in the same order, so
    the sum is still exact. Weights that are all zero mean equal shares; negative weights are
    an error. $1.00 over (1, 1, 1) -> 0.333334, 0.333333, 0.333333.
    """
    n = len(weights)
    if n == 0:
        raise ValueError("allocate: no recipients")
    if any(w < 0 for w in weights):
        raise ValueError("allocate: negative weight")
    if amount < 0:
        return [-p for p in allocate(-amount, weights, quantum)]
    w = [Fraction(x) for x in weights]
    whole = sum(w)
    if whole == 0:
        w, whole = [Fraction(1)] * n, Fraction(n)
    units = Fraction(amount) / Fraction(quantum)  # the amount in quanta (may have a fraction)
    exact = [units * x / whole for x in w]
    floors = [int(e) for e in exact]  # non-negative: int() is floor
    left = units - sum(floors)  # 0 <= left < n (+ the amount's own sub-quantum rest)
    order = sorted(range(n), key=lambda i: (-(exact[i] - floors[i]), i))
    parts = [Decimal(f) * quantum for f in floors]
    with localcontext() as ctx:
        ctx.prec = 60
        for i in order:
            if left <= 0:
                break
            step = min(left, Fraction(1))
            parts[i] += Decimal(step.numerator) * quantum / Decimal(step.denominator)
            left -= step
    return parts


def displayed(amount: Decimal) -> Decimal:
    """``amount`` as the report shows it: at $0.000001, half to even like the renderer."""
    return amount.quantize(QUANTUM, rounding=ROUND_HALF_EVEN)


def rounded(exacts: Sequence[Decimal | None], target: Decimal) -> list[Decimal | None]:
    """``round_to_total`` over the priced amounts; an unpriced (None) amount stays None."""
    priced = [i for i, e in enumerate(exacts) if e is not None]
    out: list[Decimal | None] = [None] * len(exacts)
    for i, r in zip(priced, round_to_total([exacts[i] or ZERO for i in priced], target), strict=True):
        out[i] = r
    return out


def default_allocation(config: Config) -> str:
    """``[team] allocate`` (proportional when unset); ConfigError naming the key when not a mode."""
    table = config.data.get("team", {})
    value = table.get("allocate") if isinstance(table, dict) else None
    if value is None:
        return "proportional"
    if not isinstance(value, str) or value.strip().lower() not in MODES:
        raise ConfigError(
            f"config {config.path}: [team] allocate: must be one of {', '.join(MODES)}, got {shown(value)}"
        )
    return value.strip().lower()


def label(key: str, value: Any) -> str:
    return NONE_LABEL[key] if value is None else str(value)


def _split(amount: Decimal, costs: list[Decimal | None], mode: str) -> list[Decimal]:
    weights = [Decimal(1)] * len(costs) if mode == "even" else [c or ZERO for c in costs]
    return allocate(amount, weights)


# the filters that choose whose usage a row is (filter name = atom key): they are applied AFTER
# the allocation, so a team's or member's statement is its row of the whole report, with its
# part of the shared cost (applied before it, they left the shared usage out: QA saw team B
# charged $1.50 of a $3.50 bill split $1.75 / $1.75). Every other filter (model, provider,
# project, feature, tool, integration, platform …) narrows the usage, shared usage included,
# before the allocation.
ATTRIBUTION = tuple(ATOM_KEYS)
# the level a filtered invoice allocates at: the coarsest attribution filter it was given
CHARGEBACK_LEVELS = ("cost_center", "department", "team", "member")


@dataclass(frozen=True)
class Allocation:
    """The shared cost of some usage allocated to its rows (the module docstring's two steps).

    ``atoms`` are the rows (member, team, department, cost center) with direct usage, sorted by
    label; ``directs`` their displayed direct costs and ``allocated`` their parts of the displayed
    ``shared_cost``; ``unallocated`` is the shared cost no unit could take (all of it, or 0)."""

    atoms: list[tuple[tuple[Any, ...], dict[str, Any]]]
    shared: list[dict[str, Any]]
    total_cost: Decimal | None
    directs: list[Decimal | None]
    shared_cost: Decimal
    allocated: list[Decimal]
    unallocated: Decimal
    mode: str  # the mode applied: proportional falls back to even without any priced cost
    notes: tuple[str, ...]


@dataclass(frozen=True)
class Chargeback:
    """What a statement filtered by member, team or department owes of the shared usage: its part
    ``allocated`` of the whole ``shared_cost``, as ``report team --by level``."""

    level: str
    mode: str
    shared_cost: Decimal
    allocated: Decimal
    unallocated: bool  # no unit of the level to take the shared cost
    shared_unpriced_requests: int
    # the cost of the rows with no unit of the level ("(no team)"), their part of the shared
    # cost included: what no unit's statement holds but the "(no team)" statement
    unassigned: Decimal = ZERO
    of_unassigned: bool = False  # the statement is the "(no team)" one (of the level's no-unit rows)


def split_filters(flt: Filters) -> tuple[Filters, dict[int, frozenset[str]]]:
    """(``flt`` without its attribution filters: the usage the allocation runs over, and per
    position in ``ATOM_KEYS`` the values a row must hold to be shown)."""
    pick = {ATOM_KEYS.index(k): frozenset(v) for k, v in flt.where.items() if k in ATTRIBUTION}
    return replace(flt, where={k: v for k, v in flt.where.items() if k not in ATTRIBUTION}), pick


# the keys a row needs for ``direct_usage`` to tell shared usage apart (``is_shared``)
SHARED_KEYS = ["member", "team"]


def direct_usage(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows (keyed by at least ``SHARED_KEYS``) that are direct usage, not shared usage:
    what the rows chosen by an attribution filter hold. A department filter lets through the
    shared usage whose events name that department (a shared agent tagged ``department =
    "eng"``); the allocation charges it already, so counted as the department's own too it was
    charged twice (QA: eng $5.50 + sales $3.50 on a $7.00 bill)."""
    return [r for r in rows if not is_shared(tuple(r[k] for k in SHARED_KEYS))]


def own_usage(rows: Iterable[dict[str, Any]], pick: dict[int, frozenset[str]]) -> list[dict[str, Any]]:
    """The direct usage (``direct_usage``) of the rows (keyed by at least ``ATOM_KEYS``) that the
    attribution filters ``pick`` choose: what a statement charges on its own lines."""
    return [r for r in direct_usage(rows) if chosen(tuple(r[k] for k in ATOM_KEYS), pick)]


def chosen(key: tuple[Any, ...], pick: dict[int, frozenset[str]]) -> bool:
    """Whether the row ``key`` passes the attribution filters. A row without a value is chosen by
    the label the report shows it under (``--team "(no team)"``): the usage no team holds is a
    row of `report team` and owes a statement like any team (QA: carol, in no team, was on no
    team's statement, and `invoice --team "(no team)"` was $0.00)."""
    return all(label(ATOM_KEYS[pos], key[pos]) in values for pos, values in pick.items())


def query_filters(flt: Filters) -> Filters:
    """``flt`` for a query that ``chosen`` then picks the rows of: without the attribution
    filters that name a "(no …)" label, which no event holds (SQL's ``IN`` never matches a
    missing value); the query then groups by ``ATOM_KEYS`` and ``chosen`` applies them all."""
    blank = {k for k, values in flt.where.items() if k in ATTRIBUTION and NONE_LABEL[k] in values}
    return replace(flt, where={k: v for k, v in flt.where.items() if k not in blank}) if blank else flt


def allocation(cube: list[dict[str, Any]], mode: str, level: str) -> Allocation:
    """Allocate the shared cost of ``cube`` (keyed by at least ``ATOM_KEYS``) to the units of
    ``level`` and then to their rows, with ``mode``; amounts as the report displays them."""
    grand = total(cube)
    atoms_all = rollup(cube, ATOM_KEYS)
    atoms = sorted(
        ((k, v) for k, v in atoms_all.items() if not is_shared(k)),
        key=lambda kv: tuple(label(n, x) for n, x in zip(ATOM_KEYS, kv[0], strict=True)),
    )
    shared = [v for k, v in atoms_all.items() if is_shared(k)]
    exact_shared = sum((v["cost_usd"] or ZERO for v in shared), ZERO)
    notes: list[str] = []

    # what is displayed: the rows' direct costs and the shared cost, rounded against the total
    # no usage costs $0; None (unpriced, never $0) only when there is usage and none of it priced
    if grand["cost_usd"] is not None:
        total_cost: Decimal | None = displayed(grand["cost_usd"])
    else:
        total_cost = ZERO if not grand["requests"] else None
    *directs, shared_cost = rounded([v["cost_usd"] for _, v in atoms] + [exact_shared], total_cost or ZERO)
    shared_cost = shared_cost or ZERO

    # step 1: units of `by`, sorted by label; step 2: the rows of each unit
    pos = ATOM_KEYS.index(level)
    units: dict[str, list[int]] = {}
    for i, (k, _v) in enumerate(atoms):
        if level != "member" or k[0] is not None:  # --by member: shared cost goes to members only
            units.setdefault(label(level, k[pos]), []).append(i)
    unit_names = sorted(units)
    allocated = [ZERO] * len(atoms)
    effective = mode
    if units and shared_cost:
        unit_costs = [sum((directs[i] or ZERO for i in units[u]), ZERO) for u in unit_names]
        if mode == "proportional" and not any(unit_costs):
            effective = "even"
            notes.append("No direct usage has a priced cost: the shared cost was allocated evenly.")
        for u, part in zip(unit_names, _split(shared_cost, list(unit_costs), effective), strict=True):
            idx = units[u]
            for i, p in zip(idx, _split(part, [directs[i] for i in idx], effective), strict=True):
                allocated[i] = p
    unallocated = shared_cost if shared_cost and not units else ZERO
    return Allocation(atoms, shared, total_cost, directs, shared_cost, allocated, unallocated, effective, tuple(notes))


def chargeback(ctx: AppContext, flt: Filters) -> Chargeback | None:
    """The shared usage of ``flt``'s range (and of its other filters) and the part of its cost
    allocated to the rows its attribution filters choose, at the coarsest level filtered on,
    with the configured mode: a filtered invoice's line for its share of the shared cost.
    None without an attribution filter (the statement then holds the shared usage itself)."""
    scope, pick = split_filters(flt)
    if not pick:
        return None
    level = next(k for k in CHARGEBACK_LEVELS if k in flt.where)
    a = allocation(_cube(ctx, scope, ATOM_KEYS), default_allocation(ctx.config), level)
    part = sum((p for (k, _v), p in zip(a.atoms, a.allocated, strict=True) if chosen(k, pick)), ZERO)
    pos = ATOM_KEYS.index(level)
    rows = zip(a.atoms, a.directs, a.allocated, strict=True)
    unassigned = sum(((d or ZERO) + p for (k, _v), d, p in rows if k[pos] is None), ZERO)
    return Chargeback(
        level=level,
        mode=a.mode,
        shared_cost=a.shared_cost,
        allocated=part,
        unallocated=bool(a.unallocated),
        shared_unpriced_requests=sum(v["unpriced_requests"] for v in a.shared),
        unassigned=unassigned,
        of_unassigned=NONE_LABEL[level] in pick.get(pos, ()),
    )


def is_shared(key: tuple[Any, ...]) -> bool:
    """Shared usage names neither a member nor a team (the team may come from the member's mapping)."""
    return key[0] is None and key[1] is None
