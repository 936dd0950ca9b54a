"""`usagectl reconcile`: the cost usagectl computes from events beside the cost the providers
billed (imported cost reports), per UTC day × model and in total.

Provider cost reports bill UTC-day buckets, so a reconciliation is always in UTC, whatever the
display time zone (``--tz`` only decides what "today" is for relative dates and the default
month). Computed cost comes from the same cost engine as every report; unpriced usage is never
$0 and is flagged on its row. Difference = computed − billed; % = difference / billed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from usagectl.config import effective_timezone
from usagectl.errors import UsageError
from usagectl.models import Column, Filters, Report, Section, counted
from usagectl.render.formats import format_money
from usagectl.services.context import AppContext
from usagectl.services.reports import _unpriced_notes, provider_notes
from usagectl.services.rollup import rollup, unpriced_models
from usagectl.store import billing
from usagectl.store import reports as q
from usagectl.store.connection import connect
from usagectl.timeutil import (
    day_start_utc,
    days_in_month,
    local_today,
    month_or_range,
    parse_date,
    parse_month,
    reversed_range,
)

if TYPE_CHECKING:
    import duckdb

    from usagectl.pricing import PriceBook

HUNDRED = Decimal(100)
CENT_HALF = Decimal("0.005")  # |difference| under half a cent: the two agree to the cent
# ... and under 1 % of the bill: on a cheap row half a cent can be 2x or 100x the bill (a wrong
# rate, cents read as dollars), which is no match
PCT_CLOSE = Decimal(1)
UNATTRIBUTED = "(unattributed)"
NO_MODEL = "(none)"
# why the bill of a row is not compared (``_incomplete``)
UNPRICED = "unpriced"
PARTLY_UNPRICED = "partly unpriced"
UNPRICED_SEARCHES = "web searches of unpriced usage"
BESIDE_UNMODELLED = "billed on a day of usage without a model"
ALL_TIME = (datetime(1970, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC))

_PROVIDER = Column("provider", "Provider", narrow_drop=2)
_VALUE_COLUMNS: tuple[Column, ...] = (
    Column("computed_usd", "Computed", "money"),
    Column("billed_usd", "Billed", "money"),
    Column("diff_usd", "Diff (comp − billed)", "money"),
    Column("diff_pct", "Diff %", "pct"),
    # on a narrow terminal the unpriced tokens go first (the status says "unpriced usage" and
    # a note names the models), then the provider (the model names it), rather than fold names
    Column("unpriced_tokens", "Unpriced tokens", "int", narrow_drop=1),
    Column("status", "Status"),
    Column("billed_lines", "Billed lines", "int", in_table=False),
    Column("total_tokens", "Tokens", "int", in_table=False),
)


@dataclass(frozen=True)
class ReconcileRequest:
    month: str | None = None
    since: str | None = None
    until: str | None = None
    tz: str | None = None
    providers: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    now: datetime | None = None  # the clock, injectable for tests


def _range(ctx: AppContext, req: ReconcileRequest) -> tuple[date, date, str | None]:
    month_or_range(req.month, req.since, req.until)
    tz = effective_timezone(req.tz, ctx.config)
    today = local_today(tz, (req.now or datetime.now(UTC)).astimezone(UTC))
    if req.month is not None:  # an empty --month is an error (parse_month), never "this month"
        year, mon = parse_month(req.month)
        return date(year, mon, 1), date(year, mon, days_in_month(year, mon)), f"{year:04d}-{mon:02d}"
    since = parse_date(req.since, today=today, option="--since") if req.since is not None else None
    until = parse_date(req.until, today=today, option="--until") if req.until is not None else None
    if since is None and until is None:
        first = today.replace(day=1)
        return first, today, f"{today:%Y-%m}"
    first = since or (until or today).replace(day=1)
    last = until or today
    if last < first:
        raise reversed_range(first, last, since_given=since is not None, until_given=until is not None, today=today)
    return first, last, None


def reconcile(ctx: AppContext, req: ReconcileRequest) -> Report:
    since, until, month = _range(ctx, req)
    start, end = day_start_utc(since, "UTC"), day_start_utc(until + timedelta(days=1), "UTC")
    book = ctx.pricebook()
    requested = tuple(p.lower() for p in req.providers)
    with connect(ctx.db_path, read_only=True) as con:
        _check_providers(con, book, requested)
        _check_sources(con, req.sources)
        billed_provs = billing.billed_providers(con, start, end)
        everything = Filters(start=start, end=end, tz="UTC", since=since, until=until,
                             where={"source": tuple(req.sources)} if req.sources else {})  # fmt: skip
        q.prepare_session(con, book, ctx.config.members, everything)  # the range is what it reads
        # the usage per provider (of the chosen sources): which providers are compared, and
        # which are left out (used, not billed) and named in a note
        used = q.aggregate(con, everything, ["provider"]) if not requested and (billed_provs or req.sources) else []
        providers = requested or _compared_providers(con, req.sources, used, billed_provs)
        left_out = [r for r in used if providers and r["provider"] not in providers]
        where: dict[str, tuple[str, ...]] = dict(everything.where)
        if providers:
            where["provider"] = providers
        flt = Filters(start=start, end=end, tz="UTC", since=since, until=until, where=where)
        # by service tier too: the usage a cost report leaves out (Anthropic's priority tier) is
        # told apart from the rest (see _incomplete)
        cube = q.cube(con, flt, ["date", "provider", "model", "service_tier"])
        web_search = q.web_search_cost(con, flt)
        billed = billing.billed_by_day(con, start, end, providers)
        facts = billing.usage_facts(con, start, end, providers)
        facts["billed_span"] = None if billed else billing.billed_span(con)
        # the caveats a report gives on the same usage rows (a long-context band that could not
        # be decided per request, fast mode or a geography a page did not tell apart): the
        # computed cost may be low there, and a difference from the bill is no mistake
        caveats = provider_notes(con, flt)

    computed: dict[tuple[Any, ...], dict[str, Any]] = {}
    for (d, p, m), v in rollup(cube, ["date", "provider", "model"]).items():
        computed[(d, p, m or NO_MODEL)] = _merge_comp(computed.get((d, p, m or NO_MODEL)), v) or {}
    billed_unpriced = _billed_unpriced(cube)
    billed_groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    for b in billed:
        model = (book.resolve(b["model_raw"]) if b["model_raw"] else None) or b["model"] or b["model_raw"]
        key = (b["date"], b["provider"], model or UNATTRIBUTED)
        acc = billed_groups.setdefault(key, {"billed_usd": Decimal(0), "billed_lines": 0})
        acc["billed_usd"] += b["billed_usd"]
        acc["billed_lines"] += int(b["lines"])
    _move_web_search(computed, billed_groups, web_search)
    keys = sorted(set(computed) | set(billed_groups), key=lambda k: (k[0], k[1] or "", k[2]))
    unmodelled = {(d, p) for (d, p, m) in billed_unpriced if m == NO_MODEL}  # usage without a model, billed
    rows = []
    why_not: list[str | None] = []  # per row: why its bill is not compared (None: it is)
    by_model: dict[tuple[Any, ...], dict[str, Any]] = {}
    for key in keys:
        comp, bill = computed.get(key), billed_groups.get(key)
        row = {"date": key[0], "provider": key[1], "model": key[2]} | _compare(comp, bill)
        why = _incomplete(key, comp, bill, billed_unpriced, unmodelled)
        if why:  # a bill beside a computed cost that leaves out some of the usage it bills
            _withhold(row, why)
        _agrees_beside_unbilled(row, billed_unpriced.get(key, 0))
        rows.append(row)
        why_not.append(why)
        acc = by_model.setdefault((key[1], key[2]), {"comp": None, "billed": None, "why": None})
        acc["comp"] = _merge_comp(acc["comp"], comp)
        acc["billed"] = _merge_billed(acc["billed"], bill)
        if why and acc["why"] in (None, BESIDE_UNMODELLED):  # the unpriced usage first
            acc["why"] = why
    model_rows = []
    for (p, m), v in sorted(by_model.items(), key=lambda kv: (kv[0][0] or "", kv[0][1])):
        row = {"provider": p, "model": m} | _compare(v["comp"], v["billed"])
        if v["why"]:  # its difference would subtract the bill of those days too
            _withhold(row, v["why"])
        _agrees_beside_unbilled(row, sum(n for (_d, bp, bm), n in billed_unpriced.items() if (bp, bm) == (p, m)))
        model_rows.append(row)
    all_comp = _merge_comp(None, None)
    all_billed = None
    for v in by_model.values():
        all_comp = _merge_comp(all_comp, v["comp"])
        all_billed = _merge_billed(all_billed, v["billed"])
    totals = _compare(all_comp, all_billed)
    _agrees_beside_unbilled(totals, sum(billed_unpriced.values()))
    # per day and model: a model priced on some days can be wholly unpriced on others (a service
    # tier without a price), and the bill of those days has no computed cost to meet either
    totals |= _compared_part(rows, why_not)
    if any(why_not):
        # the bill of usage that has no computed cost would be subtracted from a computed total
        # that leaves that usage out: the more of it is billed, the smaller the gap would look.
        # No total difference; a note gives the part that can be compared
        totals["diff_usd"] = totals["diff_pct"] = None
    totals["unpriced_requests"] = all_comp["unpriced_requests"] if all_comp else 0
    totals["rows"] = len(rows)
    totals["matching_rows"] = sum(1 for r in rows if r["status"] == "match")
    totals["priority_rows"] = facts["priority_rows"]  # machine-readable twins of the notes
    totals["long_context_buckets"] = facts["long_context_buckets"]
    totals["unmodelled_rows"] = facts["unmodelled_buckets"]
    unpriced = _unpriced_by_cause(cube, book)
    notes = _notes(req, since, until, billed, facts, unpriced, left_out, billed_groups, billed_provs, providers)
    notes.extend(caveats)
    if any(why_not):
        notes.insert(1, _compared_note(totals, rows, why_not))
    return Report(
        name="reconcile",
        title=f"Computed vs billed cost {since} – {until} (UTC days)",
        filters={
            "since": since.isoformat(),
            "until": until.isoformat(),
            "tz": "UTC",
            "month": month,
            "provider": list(providers),
            "source": list(req.sources),
        },
        columns=(Column("date", "Date (UTC)", "date"), _PROVIDER, Column("model", "Model")) + _VALUE_COLUMNS,
        rows=tuple(rows),
        totals=totals,
        sections=(
            Section(
                "models",
                "By model",
                (_PROVIDER, Column("model", "Model")) + _VALUE_COLUMNS,
                tuple(model_rows),
            ),
        ),
        notes=tuple(notes),
    )


def _compared_providers(
    con: duckdb.DuckDBPyConnection, sources: tuple[str, ...], used: list[dict[str, Any]], billed_provs: list[str]
) -> tuple[str, ...]:
    """The providers compared without --provider: those billed in the range. With --source, those
    of the chosen sources' events (``used``): another provider's bill would show as "billed only"
    rows and move the total, though the usage compared is no part of it. Of them the billed ones
    (the others are left out and named, as without --source), or all when none is billed (their
    rows are computed only). A source without events in the range: the providers of its events
    on other days, whose bills these are."""
    if not sources:
        return tuple(billed_provs)
    mine = sorted({str(r["provider"]) for r in used if r["provider"]})
    if not mine:
        facts = billing.usage_facts(con, *ALL_TIME)
        mine = sorted({p for p, source, _n in facts["sources"] if source in sources and p != "?"})
    return tuple([p for p in mine if p in billed_provs] or mine)


def _check_providers(con: duckdb.DuckDBPyConnection, book: PriceBook, requested: tuple[str, ...]) -> None:
    """A --provider that no price file, event or billed line names is a typo: say which are known
    (a silent empty reconciliation would read as "nothing billed")."""
    if not requested:
        return
    known = sorted(set(billing.known_providers(con)) | {m.provider for m in book.models()})
    unknown = [p for p in requested if p not in known]
    if unknown:
        raise UsageError(f"--provider {unknown[0]}: unknown provider (known: {', '.join(known)})")


def _check_sources(con: duckdb.DuckDBPyConnection, requested: tuple[str, ...]) -> None:
    """A --source that no stored event has is a typo (``openai_usage``): every row would read as
    billed only, "nothing used". Say which sources the events have."""
    if not requested:
        return
    known = billing.known_sources(con)
    unknown = [s for s in requested if s not in known]
    if unknown:
        raise UsageError(
            f"--source {unknown[0]}: no stored event has this source "
            f"({'the events have: ' + ', '.join(known) if known else 'no events are stored'})"
        )


def _move_web_search(
    computed: dict[tuple[Any, ...], dict[str, Any]],
    billed_groups: dict[tuple[Any, ...], dict[str, Any]],
    web_search: list[dict[str, Any]],
) -> None:
    """Move the computed web-search cost of a day and provider from the model rows to the
    (unattributed) row when that day has billed lines without a model: the cost report bills
    web search as such a line, so the model row and that row each match when the bill does."""
    for w in web_search:
        day, provider, amount = w["date"], w["provider"], w["web_search_usd"]
        row = computed.get((day, provider, w["model"] or NO_MODEL))
        if not amount or row is None or row["cost_usd"] is None or (day, provider, UNATTRIBUTED) not in billed_groups:
            continue
        row["cost_usd"] -= amount
        moved = _merge_comp(computed.get((day, provider, UNATTRIBUTED)), {"cost_usd": amount})
        computed[(day, provider, UNATTRIBUTED)] = moved or {}


def _billed_unpriced(cube: list[dict[str, Any]]) -> dict[tuple[Any, ...], int]:
    """Per UTC day, provider and model: the tokens of unpriced usage that its cost report bills
    (all but a tier the report leaves out). Unpriced usage that made web searches counts for the
    day's (unattributed) row too: the report bills web search as a line without a model."""
    out: dict[tuple[Any, ...], int] = {}
    for r in cube:
        tokens = int(r["unpriced_tokens"] or 0)
        if not tokens or _left_out_of_bill(r["provider"], r["service_tier"]):
            continue
        day, provider = r["date"], r["provider"]
        for model in (r["model"] or NO_MODEL,) + ((UNATTRIBUTED,) if r.get("web_search_requests") else ()):
            out[(day, provider, model)] = out.get((day, provider, model), 0) + tokens
    return out


def _left_out_of_bill(provider: str | None, tier: str | None) -> bool:
    """Usage the provider's cost report never bills: Anthropic's Priority Tier (``priority``, or
    ``priority@us`` served in one geography), as ``billing.usage_facts`` counts it. Unpriced, it
    takes nothing from the bill's side, so the rest of its row is still compared."""
    return provider == "anthropic" and (tier or "").partition("@")[0] == "priority"


def _incomplete(
    key: tuple[Any, ...],
    comp: dict[str, Any] | None,
    bill: dict[str, Any] | None,
    billed_unpriced: dict[tuple[Any, ...], int],
    unmodelled: set[tuple[Any, ...]],
) -> str | None:
    """Why the bill of a row (UTC day, provider, model) cannot be set against its computed cost,
    or None when it can: the computed cost leaves out usage this bill is for. Wholly unpriced
    (an unknown model, a tier without a price); partly unpriced (a priced tier beside an
    unpriced one, a line of each on the bill); the (unattributed) row of a day whose unpriced
    usage made web searches; or any row of a day whose provider usage has no model (fetched
    without group_by=model): that usage is priced as nothing, and is billed under the models'
    names. Subtracting such a bill would claim its whole amount as a difference."""
    if bill is None or not bill["billed_usd"]:
        return None
    if comp is not None and comp["cost_usd"] is None and comp["unpriced_tokens"]:
        return UNPRICED
    if billed_unpriced.get(key):
        return UNPRICED_SEARCHES if key[2] == UNATTRIBUTED else PARTLY_UNPRICED
    if (key[0], key[1]) in unmodelled:
        return BESIDE_UNMODELLED
    return None


def _agrees_beside_unbilled(row: dict[str, Any], billed_unpriced_tokens: int) -> None:
    """A row whose unpriced usage is only what the cost report never bills (Anthropic's priority
    tier: on neither side) is a ``match`` when the rest agrees, not "differs (unpriced usage)"
    beside a difference of $0 (QA), and a plain "differs" when it does not; the note on priority
    rows says what is left out."""
    if row["status"] != "differs (unpriced usage)" or billed_unpriced_tokens or row["diff_usd"] is None:
        return
    # that usage explains no difference either way: a gap left is the rest's own
    row["status"] = "match" if _close(row["diff_usd"], row["diff_pct"], row["billed_usd"]) else "differs"


def _withhold(row: dict[str, Any], why: str) -> None:
    """No difference for a row whose bill is not compared; its status says why, as "differs
    (unpriced usage)" does, rather than read "billed only" (nothing used) or "differs"."""
    row["diff_usd"] = row["diff_pct"] = None
    if "(" not in row["status"] and row["status"] != UNPRICED:
        row["status"] += " (usage without model)" if why == BESIDE_UNMODELLED else " (unpriced usage)"


def _unpriced_by_cause(cube: list[dict[str, Any]], book: PriceBook) -> list[dict[str, Any]]:
    """``rollup.unpriced_models`` for the note ``report daily`` gives (its wording and causes: a
    model left out for web searches without a price says so), with the tier of a model the
    table prices named when that tier is not the standard one ("gpt-4o at the flex tier"): a bare
    "gpt-4o" reads as a model missing from the table."""
    named = []
    for r in cube:
        raw, tier = r.get("unpriced_raw"), r.get("service_tier") or "standard"
        if raw is not None and not r.get("unpriced_web") and tier != "standard" and book.get(raw) is not None:
            r = r | {"unpriced_raw": f"{raw} at the {tier} tier"}
        named.append(r)
    return unpriced_models(named)


def _merge_comp(acc: dict[str, Any] | None, row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return acc
    out: dict[str, Any] = (
        dict(acc) if acc else {"cost_usd": None, "unpriced_tokens": 0, "unpriced_requests": 0, "total_tokens": 0}
    )
    if row.get("cost_usd") is not None:
        out["cost_usd"] = (out["cost_usd"] or Decimal(0)) + row["cost_usd"]
    for k in ("unpriced_tokens", "unpriced_requests", "total_tokens"):
        out[k] += int(row.get(k) or 0)
    return out


def _merge_billed(acc: dict[str, Any] | None, row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return acc
    if acc is None:
        return dict(row)
    return {
        "billed_usd": acc["billed_usd"] + row["billed_usd"],
        "billed_lines": acc["billed_lines"] + row["billed_lines"],
    }


def _compare(comp: dict[str, Any] | None, billed: dict[str, Any] | None) -> dict[str, Any]:
    """One comparison row. A side without data is 0 (and the status says which side it is);
    computed cost of wholly unpriced usage is None (unknown), never 0."""
    unpriced = int(comp["unpriced_tokens"]) if comp else 0
    computed = comp["cost_usd"] if comp else Decimal(0)
    if comp and computed is None and not unpriced:
        computed = Decimal(0)
    billed_usd = billed["billed_usd"] if billed else Decimal(0)
    diff = computed - billed_usd if computed is not None else None
    # exact: the renderers round it once (tables to 1 decimal, JSON to 2); rounded here first, a
    # table would show 0.946 % as 0.95 -> 1.0 %
    # of the bill's size: a bill below zero (credits larger than the charges) keeps the sign of
    # the difference (computed above the bill is +, whatever the bill's sign)
    pct = diff * HUNDRED / abs(billed_usd) if diff is not None and billed_usd else None
    if comp is None and billed is None:
        status = "no data"
    elif comp is None:
        status = "billed only"
    elif billed is None:
        status = "computed only" if computed is not None else "unpriced"
    elif computed is None:
        status = "unpriced"
    elif diff is not None and _close(diff, pct, billed_usd) and not unpriced:
        status = "match"
    else:
        status = "differs" + (" (unpriced usage)" if unpriced else "")
    return {
        "computed_usd": computed,
        "billed_usd": billed_usd,
        "diff_usd": diff,
        "diff_pct": pct,
        "unpriced_tokens": unpriced,
        "status": status,
        "billed_lines": int(billed["billed_lines"]) if billed else 0,
        "total_tokens": int(comp["total_tokens"]) if comp else 0,
    }


def _close(diff: Decimal, pct: Decimal | None, billed: Decimal) -> bool:
    """Whether a computed cost agrees with its bill: to half a cent and within 1 % of it (a bill of
    0: only a computed cost of 0 agrees)."""
    if abs(diff) >= CENT_HALF:
        return False
    return diff == 0 if not billed else pct is not None and abs(pct) < PCT_CLOSE


def _compared_part(day_rows: list[dict[str, Any]], why_not: list[str | None]) -> dict[str, Any]:
    """The totals over the rows (day and model) whose computed cost can meet their bill (all but
    unpriced ones and those ``_incomplete`` names): computed, billed and difference, and what is
    billed for the others (left out)."""
    pairs = list(zip(day_rows, why_not, strict=True))
    rows = [r for r, why in pairs if r["computed_usd"] is not None and not why]
    comp = sum((r["computed_usd"] for r in rows), Decimal(0))
    billed = sum((r["billed_usd"] for r in rows), Decimal(0))
    diff = comp - billed
    return {
        "compared_computed_usd": comp,
        "compared_billed_usd": billed,
        "compared_diff_usd": diff,
        "compared_diff_pct": diff * HUNDRED / abs(billed) if billed else None,
        "uncompared_billed_usd": sum(
            (r["billed_usd"] for r, why in pairs if r["computed_usd"] is None or why), Decimal(0)
        ),
    }


def _compared_note(totals: dict[str, Any], day_rows: list[dict[str, Any]], why_not: list[str | None]) -> str:
    models: dict[str, list[str]] = {}  # why -> the models of those rows, in the rows' order
    for r, why in zip(day_rows, why_not, strict=True):
        if why and str(r["model"]) not in models.setdefault(why, []):
            models[why].append(str(r["model"]))
    parts = "; ".join(f"{', '.join(ms[:6])}{', …' if len(ms) > 6 else ''}: {why}" for why, ms in models.items())
    usage = "usage without any computed cost" if set(models) == {UNPRICED} else "usage not all in the computed cost"
    diff, pct = totals["compared_diff_usd"], totals["compared_diff_pct"]
    sign = "+" if diff >= 0 else "-"
    return (
        f"No total difference: {_money(totals['uncompared_billed_usd'])} is billed for {usage} ({parts}). "
        f"The rest: computed {_money(totals['compared_computed_usd'])}, billed "
        f"{_money(totals['compared_billed_usd'])}, difference {sign}{_money(abs(diff))}"
        + (f" ({pct:+.1f} %)." if pct is not None else ".")
    )


def _money(d: Decimal) -> str:
    """Dollars to the cent; an amount under a cent keeps two significant digits ($0.00052), as
    the table shows it, rather than read as $0.00."""
    return format_money(d)


def _notes(
    req: ReconcileRequest,
    since: date,
    until: date,
    billed: list[dict[str, Any]],
    facts: dict[str, Any],
    unpriced: list[dict[str, Any]],
    left_out: list[dict[str, Any]],
    billed_groups: dict[tuple[Any, ...], dict[str, Any]],
    billed_provs: list[str],
    providers: tuple[str, ...],
) -> list[str]:
    notes = ["Days are UTC days: provider cost reports bill UTC-day buckets"
             + (f" (--tz {req.tz} only decides today's date here)." if req.tz and req.tz != "UTC" else ".")]  # fmt: skip
    span = facts.get("billed_span")
    others = [p for p in billed_provs if p not in providers]
    if not billed and req.providers and others:
        notes.append(
            f"No billed cost lines for --provider {', '.join(req.providers)} between {since} and {until}: the ones of "
            f"this range are for {', '.join(others)} (--provider {others[0]}, or no --provider, shows them); "
            "every row here is computed only."
        )
    elif not billed and req.sources and providers and others:
        notes.append(
            f"No billed cost lines for {', '.join(providers)}, whose events --source {', '.join(req.sources)} "
            f"compares, between {since} and {until}: the ones of this range are for {', '.join(others)} "
            "(reconcile without --source shows them); every row here is computed only."
        )
    elif not billed and span:
        first, last = span
        months = f"--month {first:%Y-%m}" if (first.year, first.month) == (last.year, last.month) else "--since/--until"
        notes.append(
            f"No billed cost lines between {since} and {until}: the imported ones are from {first} to {last} "
            f"({months} shows them); every row here is computed only."
        )
    elif not billed:
        notes.append(
            f"No billed cost lines between {since} and {until}: import a cost report first "
            "(usagectl import FILE --format openai-costs | anthropic-cost); every row is computed only."
        )
    for r in left_out:
        cost = r["cost_usd"]
        notes.append(
            f"Left out: provider {r['provider'] or '?'} has no billed lines in this range "
            f"(computed {_money(cost) if cost is not None else 'unpriced'}); add --provider to include it."
        )
    notes.extend(_unpriced_notes(unpriced))  # worded as every report words it, with the causes
    if facts["unmodelled_buckets"]:
        notes.append(
            f"{counted(facts['unmodelled_buckets'], 'provider usage row')} "
            f"{'has' if facts['unmodelled_buckets'] == 1 else 'have'} no model (their pages were not grouped by "
            "model): they cannot be priced. Fetch usage grouped by model to reconcile them."
        )
    if facts["priority_rows"]:
        notes.append(
            f"Anthropic usage has {counted(facts['priority_rows'], 'priority-tier row')} "
            f"({facts['priority_tokens']:,} tokens): "
            "the Anthropic cost report leaves out Priority Tier, so their cost never appears as billed."
        )
    if facts["long_context_buckets"]:
        notes.append(
            f"{counted(facts['long_context_buckets'], 'Anthropic usage bucket')} "
            f"{'is' if facts['long_context_buckets'] == 1 else 'are'} long-context (context_window 200k-1M): "
            "every request in such a row was over 200,000 input tokens, so it is priced at the long-context rates."
        )
    unattributed = [v for (_, _, m), v in billed_groups.items() if m == UNATTRIBUTED]
    if unattributed:
        amount = sum((v["billed_usd"] for v in unattributed), Decimal(0))
        notes.append(
            f"Billed lines without a model ({_money(amount)}: web search, code execution, credits, or a cost report "
            "not grouped by description / line_item) are shown as (unattributed), and so is the computed web-search cost of "
            "their days (the bill names no model for it)."
        )
    by_provider: dict[str, list[str]] = {}
    for provider, source, _n in facts["sources"]:
        by_provider.setdefault(provider, []).append(source)
    for provider, sources in sorted(by_provider.items()):
        if len(sources) > 1:
            notes.append(
                f"Computed {provider} cost sums events from {', '.join(sources)}: if two of them hold the same API "
                "traffic (a usage report and gateway logs), compare one with --source."
            )
    return notes
