"""`usagectl invoice` and `usagectl payment add|list`.

An invoice covers one calendar month in the report's time zone. Rules, in order:

* **Charge lines** are the month's usage cost per model, each rounded half-up to the cent (the
  only rounding); the usage subtotal is the sum of those lines. Unpriced usage is not charged,
  and is named in a note.
* **Token breakdown** (per bucket) and **feature charges** (per feature) split the same
  subtotal: each exact amount is rounded down to the cent and the cents still missing (or in
  excess) go one by one to the largest (smallest) remainders, so each split adds up to the
  subtotal exactly.
* **Credits** (``[[credits]]`` in the config: ``amount``, ``expires``, optional ``label`` and
  ``granted``) are applied month after month from the billing start: a credit applies to a month
  when it has not expired at the month's last day (``expires`` is the last valid day) and was
  granted on or before that day; the one expiring first is used first; a credit never takes a
  month below zero and what is left of it carries to the next month.
* **Tax** (``[tax] rate`` in percent, ``label``) is charged on the subtotal after credits, rounded
  half-up to the cent. Invoice total = subtotal − credits + tax.
* **Balance** = the totals of every invoice from the billing start up to this month − every
  payment dated on or before the invoice date (the month's last day). The billing start is
  ``[billing] start = "YYYY-MM"`` in the config, else the month of the first event. A month
  before it has no invoice (refused, exit 2): it would use up credits and disagree with the
  invoices from the start about them.

With filters (``--team`` …) the invoice is a chargeback statement: the same charge lines and
tax, without credits, payments or balance (those belong to the whole account). A statement
filtered by member, team or department also owes its part of the month's shared usage (no
member, no team): one more charge line, "Shared usage, allocated", of the part that
``report team --by LEVEL`` allocates to its rows (LEVEL: the coarsest of department, team and
member filtered on; the mode of ``[team] allocate``), carried by both splits of the subtotal.
Its other lines are its rows' direct usage only: shared usage whose events name the department
filtered on is charged through that line, not again as the department's own
(``allocation.direct_usage``). So the statement equals its row of ``report team --by LEVEL`` and the
statements of all teams add up to the account's usage, but for each line's rounding to the cent.
That includes the row of the usage no team holds (a member mapped to no team): its statement is
``--team "(no team)"``, the label `report team` shows (``--member "(no member)"`` …), and every other
statement's note names its amount while it has any, so it is billed too.
Other filters (model, feature …) narrow the usage, shared usage included, and add no such line.

A note always gives the total (and the balance) from the subtotal: a CSV holds the charge lines only
and puts the notes on stderr, as every report's CSV does.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from typing import Any

from usagectl.config import Config, effective_timezone, shown
from usagectl.errors import ConfigError, UsageError
from usagectl.models import Column, Report, Section, noun
from usagectl.money import round_to_total
from usagectl.render.formats import format_money
from usagectl.services import costs
from usagectl.services.allocation import (
    ATOM_KEYS,
    NONE_LABEL,
    Chargeback,
    chargeback,
    own_usage,
    query_filters,
    split_filters,
)
from usagectl.services.context import AppContext
from usagectl.services.reports import (
    ReportRequest,
    _unpriced_json,
    _unpriced_notes,
    build_filters,
    provider_notes,
    with_empty_notes,
)
from usagectl.services.rollup import unpriced_counts
from usagectl.store import analytics, payments
from usagectl.store import reports as q
from usagectl.store.connection import connect
from usagectl.timeutil import check_day, day_start_utc, local_today, parse_date, parse_day, parse_month

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
ZERO = Decimal(0)


@dataclass(frozen=True)
class Credit:
    index: int  # position in [[credits]], for messages and a stable order
    label: str
    amount: Decimal
    expires: date  # last day it can be used
    granted: date | None = None


@dataclass(frozen=True)
class Tax:
    rate: Decimal  # percent
    label: str


def _where(config: Config) -> str:
    return f"config {config.path}" if config.path else "config"


def _date(value: Any, where: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ConfigError(f"{where}: must be a date (YYYY-MM-DD), got {shown(value)}")


def _amount(value: Any, where: str, *, positive: bool = True) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
        raise ConfigError(f"{where}: must be a number, got {shown(value)}")
    try:
        d = Decimal(str(value).replace("$", "").replace(",", "").strip())
    except InvalidOperation:
        raise ConfigError(f"{where}: must be a number, got {shown(value)}") from None
    if not d.is_finite() or (positive and d <= 0) or d < 0:
        raise ConfigError(f"{where}: must be {'greater than 0' if positive else '0 or more'}, got {shown(value)}")
    return d


def load_credits(config: Config) -> list[Credit]:
    """``[[credits]]`` of the config, validated (ConfigError names ``credits[i]`` and the key)."""
    raw = config.data.get("credits", [])
    where = _where(config)
    if not isinstance(raw, list):
        raise ConfigError(f"{where}: credits must be an array of tables ([[credits]]), got {type(raw).__name__}")
    out = []
    for i, item in enumerate(raw):
        at = f"{where}: credits[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{at}: must be a table with amount and expires")
        unknown = set(item) - {"amount", "expires", "label", "granted"}
        if unknown:
            raise ConfigError(
                f"{at}: unknown {noun(len(unknown), 'key')} {', '.join(sorted(unknown))} "
                "(allowed: amount, expires, label, granted)"
            )
        for key in ("amount", "expires"):
            if key not in item:
                raise ConfigError(f"{at}: {key} is missing")
        amount = _amount(item["amount"], f"{at} amount")
        if amount != amount.quantize(CENT):
            raise ConfigError(f"{at} amount: at most 2 decimals (cents), got {shown(item['amount'])}")
        label = item.get("label", f"credit {i + 1}")
        if not isinstance(label, str) or not label.strip():
            raise ConfigError(f"{at} label: must be a non-empty string, got {shown(label)}")
        granted = _date(item["granted"], f"{at} granted") if "granted" in item else None
        out.append(Credit(i, label, amount, _date(item["expires"], f"{at} expires"), granted))
    return out


def load_tax(config: Config) -> Tax | None:
    raw = config.data.get("tax")
    if raw is None:
        return None
    where = f"{_where(config)}: [tax]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table with rate (percent) and label")
    unknown = set(raw) - {"rate", "label"}
    if unknown:
        raise ConfigError(
            f"{where} unknown {noun(len(unknown), 'key')} {', '.join(sorted(unknown))} (allowed: rate, label)"
        )
    if "rate" not in raw:
        raise ConfigError(f"{where} rate is missing (a percentage such as 19.0)")
    rate = _amount(raw["rate"], f"{where} rate", positive=False)
    if rate >= HUNDRED:
        raise ConfigError(f"{where} rate: a percentage under 100, got {shown(raw['rate'])}")
    label = raw.get("label", "Tax")
    if not isinstance(label, str) or not label.strip():
        raise ConfigError(f"{where} label: must be a non-empty string, got {shown(label)}")
    return Tax(rate, label)


def billing_start(config: Config) -> tuple[int, int] | None:
    billing = config.data.get("billing", {})
    if not isinstance(billing, dict):
        raise ConfigError(f"{_where(config)}: [billing] must be a table")
    start = billing.get("start")
    if start is None:
        return None
    if not isinstance(start, str):
        raise ConfigError(f'{_where(config)}: [billing] start: must be a month "YYYY-MM", got {shown(start)}')
    try:
        return parse_month(start)
    except UsageError:
        raise ConfigError(f'{_where(config)}: [billing] start: must be a month "YYYY-MM", got {shown(start)}') from None


def half_up(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class _Month:
    first: date
    last: date
    rows: list[dict[str, Any]]
    priced: list[costs.PricedBucket]
    model_exact: dict[str, Decimal]
    subtotal: Decimal
    credit: Decimal = ZERO
    tax: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.subtotal - self.credit + self.tax


def _next(d: date) -> date:
    return (d.replace(day=28) + timedelta(days=4)).replace(day=1)


@dataclass(frozen=True)
class InvoiceRequest:
    month: str | None = None
    tz: str | None = None
    where: dict[str, tuple[str, ...]] | None = None
    now: datetime | None = None


def invoice(ctx: AppContext, req: InvoiceRequest) -> Report:
    """The invoice of one month (default: the current month, marked draft until it is over and
    ``not started`` before it begins). Raises ``UsageError`` (exit 2) for a month before the
    billing start of the account: that month is not invoiced."""
    tz = effective_timezone(req.tz, ctx.config)
    now = (req.now or datetime.now(UTC)).astimezone(UTC)
    year, mon = (
        parse_month(req.month) if req.month is not None else (local_today(tz, now).year, local_today(tz, now).month)
    )
    first = date(year, mon, 1)
    last = _next(first) - timedelta(days=1)
    where = dict(req.where or {})
    account = not where
    credits = load_credits(ctx.config) if account else []
    tax = load_tax(ctx.config)
    start = first
    book = ctx.pricebook()
    with connect(ctx.db_path, read_only=True) as con:
        if account:
            configured = billing_start(ctx.config)
            if configured:
                start = date(configured[0], configured[1], 1)
            elif (first_ts := analytics.first_event(con)) is not None:
                start = local_today(tz, first_ts).replace(day=1)
            if first < start:
                raise _before_start(f"{year:04d}-{mon:02d}", start, configured is not None)
        flt = build_filters(ctx, ReportRequest(since=start.isoformat(), until=last.isoformat(), tz=tz, where=where))
        months = [start]
        while months[-1] < first:
            months.append(_next(months[-1]))
        q.prepare_session(con, book, ctx.config.members, flt)
        starts = [day_start_utc(m, tz) for m in months]
        # a statement of a member, team or department (``attributed``) covers its one month and
        # charges its rows' direct usage on its lines; the shared usage its filter lets through
        # is charged by the allocated line
        pick = split_filters(flt)[1]
        attributed = bool(pick)
        # "(no team)" (the usage no team holds) is chosen after the query, by ``own_usage``
        query = query_filters(flt)
        if attributed:
            rows = own_usage(analytics.rate_sums(con, query, ["feature", *ATOM_KEYS], starts), pick)
        else:
            rows = analytics.rate_sums(con, flt, ["feature"], starts, keys_from=starts[-1])
        # the notes on the invoiced month's provider rows (undecided bands, pages not grouped by
        # speed or geo, UTC-day buckets in a western zone), as `report` and `cost` give them
        month_flt = replace(flt, start=starts[-1])
        usage_notes = provider_notes(con, replace(query, start=starts[-1]))
        # the month's unpriced requests as `report month` and `cost` count them (a bucket without a
        # request count is one): the requests of ``rows`` are summed before that can be told
        invoiced = len(months) - 1
        unpriced_now = any(r.get("rate_id") is None and int(r["period"]) == invoiced for r in rows)
        counts: costs.UnpricedCounts = (0, {})
        if unpriced_now:
            counts = (
                unpriced_counts(own_usage(q.cube(con, replace(query, start=starts[-1]), ATOM_KEYS), pick))
                if attributed
                else costs.unpriced_request_counts(con, month_flt)
            )
        paid = payment_rows(payments.listing(con, until=last)) if account else []
    # a statement of a member, team or department owes its part of the shared usage (no member,
    # no team), allocated as `report team` does: the statements add up to the account
    share = chargeback(ctx, month_flt) if not account else None
    rate_rows = book.rate_rows()
    with localcontext() as c:
        c.prec = 60
        per: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for r in rows:
            per[int(r["period"])].append(r)
        history = []
        for i, m in enumerate(months):
            priced = costs.price_buckets(per[i], rate_rows)
            exact: dict[str, Decimal] = defaultdict(lambda: ZERO)
            for p in priced:
                exact[p.row["model"]] += p.amount
            subtotal = sum((half_up(v) for v in exact.values()), ZERO)
            history.append(_Month(m, _next(m) - timedelta(days=1), per[i], priced, dict(exact), subtotal))
        if share is not None:  # a statement covers its one month: its part of the shared cost
            history[-1].subtotal += half_up(share.allocated)
        credit_log = _apply_credits(history, credits)
        for h in history:
            h.tax = half_up((h.subtotal - h.credit) * tax.rate / HUNDRED) if tax else ZERO
    month = history[-1]
    previous = sum((h.total for h in history[:-1]), ZERO)
    paid_before = sum((p["amount_usd"] for p in paid if p["paid_on"] < first), ZERO)
    paid_now = [p for p in paid if p["paid_on"] >= first]
    state = _state(first, tz, now)
    shown = flt.as_dict() | {"since": first.isoformat(), "until": last.isoformat()}
    report = _report(
        month=month, flt_dict=shown, tz=tz, tax=tax, credits=credits, credit_log=credit_log,
        previous_balance=(previous - paid_before) if account else None, paid_now=paid_now if account else None,
        paid=paid, state=state, label=f"{year:04d}-{mon:02d}", start=start,
        configured_start=account and billing_start(ctx.config) is not None, usage_notes=usage_notes,
        unpriced_counts=counts, share=share,
    )  # fmt: skip
    # a $0.00 statement of `--team b` (the data has B) says so, as `report team` does
    return with_empty_notes(ctx, report)


def _before_start(label: str, start: date, configured: bool) -> UsageError:
    """A month before the billing start has no invoice: invoicing it would use up credits and
    count it in every later balance, against the invoices already issued from the start."""
    origin = "[billing] start in the config" if configured else "the month of the first event; no [billing] start"
    return UsageError(
        f"{label} is before the billing start {start:%Y-%m} ({origin}): it is not invoiced",
        hint=f"`usagectl report month --month {label}` shows its usage; an earlier [billing] start invoices it",
    )


def _state(first: date, tz: str, now: datetime) -> str:
    """``final`` once the month is over, ``draft`` while it runs, ``not started`` before it."""
    if now >= day_start_utc(_next(first), tz):
        return "final"
    if now < day_start_utc(first, tz):
        return f"not started (begins {first})"
    return "draft (month in progress)"


def _apply_credits(history: list[_Month], credits: list[Credit]) -> dict[int, list[Decimal]]:
    """Credits month by month; returns per credit the amount used in each month."""
    remaining = {c.index: c.amount for c in credits}
    used: dict[int, list[Decimal]] = {c.index: [] for c in credits}
    ordered = sorted(credits, key=lambda c: (c.expires, c.index))
    for h in history:
        due = h.subtotal
        for c in ordered:
            take = ZERO
            if c.expires >= h.last and (c.granted is None or c.granted <= h.last) and due > 0:
                take = min(remaining[c.index], due)
                remaining[c.index] -= take
                due -= take
            used[c.index].append(take)
        h.credit = h.subtotal - due
    return used


# --------------------------------------------------------------------------- the report

LINE_COLUMNS: tuple[Column, ...] = (
    Column("model", "Model"),
    Column("provider", "Provider", in_table=False),
    Column("requests", "Requests", "int"),
    Column("input_tokens", "Input", "int"),
    Column("cache_read_tokens", "Cache read", "int", in_table=False),
    Column("cache_write_tokens", "Cache write", "int", in_table=False),
    Column("output_tokens", "Output", "int"),
    Column("web_search_requests", "Web searches", "int", in_table=False),
    Column("total_tokens", "Tokens", "int"),
    Column("amount_usd", "Amount", "money"),
    Column("exact_usd", "Exact", "money", in_table=False),
)
_COUNTS = ("requests", "input_tokens", "cache_read_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens",
           "output_tokens", "web_search_requests", "total_tokens")  # fmt: skip
LINE_COUNTS = ("requests", "input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens",
               "web_search_requests", "total_tokens")  # fmt: skip
# the line of a filtered statement (member, team …) that charges its part of the shared usage
SHARED_LINE = "Shared usage, allocated"
SPLIT_TAIL: tuple[Column, ...] = (
    Column("amount_usd", "Amount", "money"),
    Column("exact_usd", "Exact", "money", in_table=False),
)
SUMMARY_COLUMNS = (Column("item", "Item"), Column("amount_usd", "Amount", "money"))
CREDIT_COLUMNS = (
    Column("label", "Credit"),
    Column("amount_usd", "Amount", "money"),
    Column("expires", "Expires", "date"),
    Column("granted", "Granted", "date", in_table=False),
    Column("used_before_usd", "Used before", "money"),
    Column("applied_usd", "Applied now", "money"),
    Column("remaining_usd", "Remaining", "money"),
    Column("status", "Status"),
)


def _counts(rows: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        name = r[key] if r[key] is not None else "(none)"
        acc = out.setdefault(name, {key: name} | {k: 0 for k in _COUNTS})
        if key == "model" and r.get("provider"):
            acc.setdefault("provider", r["provider"])
        for k in _COUNTS:
            acc[k] += int(r[k] or 0)
    return out


def _split(
    groups: dict[str, dict[str, Any]], exact: dict[str, Decimal], subtotal: Decimal, *, by_amount: bool = True
) -> list[dict[str, Any]]:
    names = [n for n in groups if n in exact]
    cents = dict(zip(names, round_to_total([exact[n] for n in names], subtotal, CENT), strict=True))
    rows = []
    for name, g in groups.items():
        rows.append(g | {"amount_usd": cents.get(name), "exact_usd": exact.get(name)})
    if not by_amount:
        return rows
    return sorted(rows, key=lambda r: (r["amount_usd"] is None, -(r["exact_usd"] or 0), str(next(iter(r.values())))))


def _report(
    *, month: _Month, flt_dict: dict[str, Any], tz: str, tax: Tax | None, credits: list[Credit],
    credit_log: dict[int, list[Decimal]], previous_balance: Decimal | None, paid_now: list[dict[str, Any]] | None,
    paid: list[dict[str, Any]], state: str, label: str, start: date, configured_start: bool,
    usage_notes: tuple[str, ...] = (), unpriced_counts: costs.UnpricedCounts = (0, {}),
    share: Chargeback | None = None,
) -> Report:  # fmt: skip
    models = _counts(month.rows, "model")
    lines = []
    for name, m in models.items():
        m["cache_write_tokens"] = m.pop("cache_write_5m_tokens") + m.pop("cache_write_1h_tokens")
        exact = month.model_exact.get(name)
        lines.append(m | {"amount_usd": half_up(exact) if exact is not None else None, "exact_usd": exact})
    lines.sort(key=lambda r: (r["amount_usd"] is None, -(r["exact_usd"] or 0), r["model"]))

    buckets: dict[str, dict[str, Any]] = {}
    bucket_exact: dict[str, Decimal] = defaultdict(lambda: ZERO)
    feature_exact: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for p in month.priced:
        item = costs.BUCKET_LABELS[p.bucket]
        b = buckets.setdefault(item, {"item": item, "quantity": 0})
        b["quantity"] += p.quantity
        bucket_exact[item] += p.amount
        feature_exact[p.row["feature"] if p.row["feature"] is not None else "(none)"] += p.amount
    bucket_groups = dict(sorted(buckets.items(), key=lambda kv: list(costs.BUCKET_LABELS.values()).index(kv[0])))
    features = {k: {"feature": v["feature"], "requests": v["requests"], "total_tokens": v["total_tokens"]}
                for k, v in _counts(month.rows, "feature").items()}  # fmt: skip
    allocated = share.allocated if share is not None else ZERO
    if allocated:
        # the statement's part of the shared usage is charged on its own line, and both splits
        # of the subtotal carry it, so each still adds up to the subtotal
        lines.append({"model": SHARED_LINE, "provider": None} | dict.fromkeys(LINE_COUNTS)
                     | {"amount_usd": half_up(allocated), "exact_usd": allocated})  # fmt: skip
        bucket_groups[SHARED_LINE] = {"item": SHARED_LINE, "quantity": None}
        bucket_exact[SHARED_LINE] = allocated
        features[SHARED_LINE] = {"feature": SHARED_LINE, "requests": None, "total_tokens": None}
        feature_exact[SHARED_LINE] = allocated
    token_rows = _split(bucket_groups, bucket_exact, month.subtotal, by_amount=False)
    unpriced = costs.unpriced_rows(month.rows)
    unpriced_requests, per_model = unpriced_counts
    costs.with_counted_requests(unpriced, per_model)
    if unpriced:
        tokens = sum(u["total_tokens"] for u in unpriced)
        token_rows.append({"item": "Unpriced usage (not charged)", "quantity": tokens, "amount_usd": None,
                           "exact_usd": None})  # fmt: skip
    feature_rows = _split(features, dict(feature_exact), month.subtotal)

    taxable = month.subtotal - month.credit
    summary: list[dict[str, Any]] = [{"item": "Usage subtotal", "amount_usd": month.subtotal}]
    credit_rows = []
    for c in credits:
        log = credit_log[c.index]
        used_before, applied = sum(log[:-1], ZERO), log[-1]
        remaining = c.amount - used_before - applied
        if applied:
            summary.append({"item": f"Credit: {c.label} (expires {c.expires})", "amount_usd": -applied})
        if c.expires < month.last:
            status = "expired"
        elif c.granted is not None and c.granted > month.last:
            status = "not yet granted"
        else:
            status = "used up" if remaining == 0 else "available"
        credit_rows.append({"label": c.label, "amount_usd": c.amount, "expires": c.expires, "granted": c.granted,
                            "used_before_usd": used_before, "applied_usd": applied, "remaining_usd": remaining,
                            "status": status})  # fmt: skip
    if tax:
        summary.append({"item": f"{tax.label} {tax.rate.normalize():f}% of {taxable:,.2f}", "amount_usd": month.tax})
    summary.append({"item": "Invoice total", "amount_usd": month.total})
    totals: dict[str, Any] = {k: sum(r[k] or 0 for r in lines) for k in LINE_COUNTS}
    totals |= {
        "amount_usd": month.subtotal, "subtotal_usd": month.subtotal, "credits_usd": month.credit,
        "taxable_usd": taxable, "tax_label": tax.label if tax else None, "tax_rate_pct": tax.rate if tax else None,
        "tax_usd": month.tax, "total_usd": month.total, "previous_balance_usd": previous_balance,
        "payments_usd": None, "balance_usd": None,
        "unpriced_requests": unpriced_requests,
        "unpriced_tokens": sum(u["total_tokens"] for u in unpriced),
        "unpriced_models": _unpriced_json(unpriced),
    }  # fmt: skip
    overview: list[tuple[str, str, Any]] = [
        ("month", "Invoice month", label),
        ("period", "Period", f"{month.first} – {month.last} ({tz})"),
        ("state", "State", state),
        ("invoice_date", "Invoice date", month.last),
        ("subtotal_usd", "Usage subtotal", month.subtotal),
        ("credits_usd", "Credits applied", month.credit),
        ("tax_usd", f"{tax.label} ({tax.rate.normalize():f}%)" if tax else "Tax", month.tax),
        ("total_usd", "Invoice total", month.total),
    ]
    notes: list[str] = []
    if previous_balance is not None and paid_now is not None:
        received = sum((p["amount_usd"] for p in paid_now), ZERO)
        balance = previous_balance + month.total - received
        totals |= {"payments_usd": received, "balance_usd": balance}
        summary.append({"item": "Previous balance", "amount_usd": previous_balance})
        for pay in paid_now:
            note = f" ({pay['note']})" if pay["note"] else ""
            summary.append({"item": f"Payment {pay['paid_on']}{note}", "amount_usd": -pay["amount_usd"]})
        summary.append({"item": "Balance due", "amount_usd": balance})
        overview += [("previous_balance_usd", "Previous balance", previous_balance),
                     ("payments_usd", "Payments this month", received), ("balance_usd", "Balance due", balance)]  # fmt: skip
        origin = "[billing] start" if configured_start else "the month of the first event"
        notes.append(_total_note(month, tax, (previous_balance, received, balance)))
        notes.append(
            f"Balance counts the invoices from {start:%Y-%m} ({origin}) less every payment up to {month.last}."
        )
    else:
        notes.append(_total_note(month, tax))
        notes.append("Filtered invoice (chargeback statement): credits, payments and balance belong to the whole "
                     "account and are left out.")  # fmt: skip
    if share is not None:
        totals |= {"shared_cost_usd": share.shared_cost, "shared_allocated_usd": allocated,
                   "unassigned_usd": share.unassigned}  # fmt: skip
        if share.shared_cost or share.shared_unpriced_requests:  # the month had shared usage
            notes.append(_shared_note(share, label))
        if share.unassigned and not share.of_unassigned:
            notes.append(_unassigned_note(share, label))
    if state.startswith("not started"):
        notes.append(f"{label} has not started yet (it begins {month.first}): no usage so far, amounts are 0.")
    elif state != "final":
        notes.append(f"Draft: {label} is not over yet; the amounts will grow.")
    notes += _unpriced_notes(unpriced, requests=unpriced_requests)
    notes += usage_notes
    sections = [
        Section("summary", "Summary", SUMMARY_COLUMNS, tuple(summary)),
        Section("tokens", "Token breakdown", (Column("item", "Bucket"), Column("quantity", "Quantity", "int"))
                + SPLIT_TAIL, tuple(token_rows)),
        Section("features", "Charges by feature", (Column("feature", "Feature"), Column("requests", "Requests", "int"),
                Column("total_tokens", "Tokens", "int")) + SPLIT_TAIL, tuple(feature_rows)),
    ]  # fmt: skip
    if credit_rows:
        sections.append(Section("credits", "Credits", CREDIT_COLUMNS, tuple(credit_rows)))
    if paid_now is not None:
        sections.append(Section("payments", "Payment history", PAYMENT_COLUMNS, tuple(payment_rows(paid))))
    return Report(
        name="invoice",
        title=f"Invoice {label} ({tz})",
        filters=flt_dict | {"month": label},
        columns=LINE_COLUMNS,
        rows=tuple(lines),
        totals=totals,
        overview=tuple(overview),
        sections=tuple(sections),
        notes=tuple(notes),
    )


def _total_note(month: _Month, tax: Tax | None, balance: tuple[Decimal, Decimal, Decimal] | None = None) -> str:
    """How the total (and the balance) follow from the charge lines. A CSV holds the charge lines
    only and its notes go to stderr: without this one a CSV of a $7.14 invoice read as $10.00
    owed, its credit, tax and payments nowhere (QA)."""
    levy = f"{tax.label} ({tax.rate.normalize():f}%)" if tax else "tax"
    lines = f"usage subtotal {format_money(month.subtotal)} (the sum of the charge lines)"
    if balance is None:  # a statement has no credits (they are the account's)
        return f"Statement total {format_money(month.total)} = {lines} + {levy} {format_money(month.tax)}."
    text = (
        f"Invoice total {format_money(month.total)} = {lines} - credits {format_money(month.credit)} + {levy} "
        f"{format_money(month.tax)}"
    )
    previous, received, due = balance
    return (
        f"{text}; balance due {format_money(due)} = previous balance {format_money(previous)} + "
        f"{format_money(month.total)} - payments this month {format_money(received)}."
    )


def _unassigned_note(share: Chargeback, label: str) -> str:
    """The usage no unit of the statement's level holds ("(no team)": a member mapped to no team,
    a team's batch job with no member) is on no unit's statement but its own: said on each, so
    that it is billed too and the statements add up to the account (QA: $1.25 of $5.00 was on
    no team's statement, while the note said the statements add up)."""
    unit = share.level.replace("_", " ")
    option = share.level.replace("_", "-")
    none = NONE_LABEL[share.level]
    return (
        f"Usage that no {unit} holds (the row {none} of `usagectl report team --by {option}`) cost "
        f"{format_money(share.unassigned)} in {label}: no {unit}'s statement charges it but its own, "
        f'`usagectl invoice --month {label} --{option} "{none}"`; without it the statements fall short of the '
        "account's usage."
    )


def _shared_note(share: Chargeback, label: str) -> str:
    """What the statement's shared-usage line is: the month's shared cost and how this
    statement's part of it was found (the same part `report team --by LEVEL` shows)."""
    level = share.level.replace("_", "-")
    how = "in proportion to their own priced cost" if share.mode == "proportional" else "evenly"
    text = f"Shared usage (no member, no team) in {label} cost {format_money(share.shared_cost)}"
    if share.unallocated:
        text += f"; with no {level.replace('-', ' ')} to take it, none of it is charged here."
    else:
        text += (
            f"; {format_money(share.allocated)} of it is charged here ({SHARED_LINE!r}): allocated to each "
            f"{level.replace('-', ' ')} {how}, as `usagectl report team --by {level}` shows, so that the statements "
            f"of all {level.replace('-', ' ')}s ({NONE_LABEL[share.level]!r} included) add up to the account's usage "
            "(but for each line's rounding to the cent)."
        )
    if share.shared_unpriced_requests:
        text += " Unpriced shared usage has no cost and is not allocated."
    return text


# --------------------------------------------------------------------------- payments


MAX_PAYMENT = Decimal(10) ** 12  # exclusive: no real payment is a trillion dollars; a typo is
_PLAIN = re.compile(r"[+-]?\d+(\.\d+)?")
_GROUPED = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?")


def parse_amount(text: str) -> Decimal:
    """A payment in dollars: ``120``, ``-20``, ``19.99``, ``$1,500``, at most 2 decimals.

    A comma only groups thousands (groups of three digits): ``1,5`` and ``1,50`` are refused as
    ambiguous, since with a decimal comma they mean $1.50 and read as grouping they would be
    recorded as $15. NaN, infinities and exponents are not amounts; neither is anything of a
    trillion dollars or more (a typo, and past what the invoice prints to the cent).
    """
    s = text.replace("$", "").strip()
    if "," in s and not _GROUPED.fullmatch(s):
        raise UsageError(
            f"AMOUNT: {text!r} is ambiguous: a comma only groups thousands (1,500); write a decimal with a point (1.50)"
        )
    s = s.replace(",", "")
    if not _PLAIN.fullmatch(s):
        what = "not a number" if s.lower().lstrip("+-") in {"nan", "snan", "inf", "infinity"} else "not an amount"
        raise UsageError(f"AMOUNT: {text!r} is {what} (use 120, 19.99 or '$1,500')")
    d = Decimal(s)
    if d == 0:
        raise UsageError(f"AMOUNT: {text!r} must be a non-zero amount (a negative one records a refund)")
    if d != d.quantize(CENT):
        raise UsageError(f"AMOUNT: {text!r} has more than 2 decimals (cents)")
    if abs(d) >= MAX_PAYMENT:
        raise UsageError(f"AMOUNT: {text!r} is too large (at most $999,999,999,999.99)")
    return d


def parse_payment_date(text: str, today: date) -> date:
    """The day a payment was made: a calendar date (no relative range), not after ``today``.
    Only the two spellings the README gives: 202611 is a month, not 2026-01-01. Like every date
    option, it lies from 1970-01-01 on (QA: 1969-12-31 was recorded)."""
    day = check_day(parse_day(text, option="DATE"), option="DATE", text=text)
    if day > today:
        raise UsageError(f"DATE: {day} is in the future (today is {today}): record a payment once it is made")
    return day


def add_payment(
    ctx: AppContext, paid_on: str, amount: str, note: str | None, now: datetime | None = None
) -> dict[str, Any]:
    """Record a payment; returns it (id, date, amount, note) and ``same_as``: the ids of the
    identical payments (date, amount, note) recorded before it. Both values are checked first.
    An identical payment is recorded all the same (two equal transfers can be real); the caller
    warns, so that a re-run script or a double paste is noticed."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    tz = effective_timezone(None, ctx.config)
    day = parse_payment_date(paid_on, local_today(tz, now))
    value = parse_amount(amount)
    text = (note or "").strip() or None  # "wire " is the note "wire" (QA: not told apart from it)
    with connect(ctx.db_path, must_exist=True) as con:  # a mistyped --db must not get the payment
        same = payments.identical(con, day, value, text)
        pid = payments.add(con, day, value, text, now)
    return {"payment_id": pid, "paid_on": day, "amount_usd": value, "note": text, "same_as": same}


def remove_payment(ctx: AppContext, payment_id: int) -> dict[str, Any]:
    """Delete one payment (a wrong one cannot be fixed otherwise); returns it. ``UsageError``
    (exit 2) when there is no payment with that id."""
    with connect(ctx.db_path, must_exist=True) as con:
        gone = payments.remove(con, payment_id)
    if gone is None:
        raise UsageError(f"no payment #{payment_id}", hint="usagectl payment list shows the payments and their ids")
    return gone


PAYMENT_COLUMNS: tuple[Column, ...] = (
    Column("payment_id", "ID", "int"),
    Column("paid_on", "Date", "date"),
    Column("amount_usd", "Amount", "money"),
    Column("note", "Note"),
    Column("created_at", "Recorded", in_table=False),
)


def payment_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r | {"amount_usd": half_up(r["amount_usd"])} for r in rows]


def payments_report(ctx: AppContext, since: str | None = None, until: str | None = None) -> Report:
    tz = effective_timezone(None, ctx.config)
    today = local_today(tz)
    lo = parse_date(since, today=today, option="--since") if since is not None else None
    hi = parse_date(until, today=today, option="--until") if until is not None else None
    with connect(ctx.db_path, read_only=True) as con:
        rows = payment_rows(payments.listing(con, lo, hi))
    return Report(
        name="payments",
        title="Payments",
        filters={"since": lo.isoformat() if lo else None, "until": hi.isoformat() if hi else None},
        columns=PAYMENT_COLUMNS,
        rows=tuple(rows),
        totals={"amount_usd": sum((r["amount_usd"] for r in rows), ZERO), "payments": len(rows)},
    )


__all__ = [
    "Section",
    "add_payment",
    "invoice",
    "load_credits",
    "load_tax",
    "payments_report",
    "remove_payment",
]
