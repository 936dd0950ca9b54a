"""Anthropic Admin API cost report: saved pages of ``GET /v1/organizations/cost_report``
(FORMATS.md §1b).

Cost lines are NOT events: they go to ``billed_costs`` (``target``), for ``usagectl reconcile``.
``amount`` is a decimal STRING in CENTS (the currency's lowest unit): ``"54.702"`` is $0.54702.
It is parsed with Decimal and divided by 100; reading it as dollars would overstate cost 100×,
and a JSON number is rejected rather than guessed. ``workspace_id`` null in a page grouped by
workspace is the default workspace. The report leaves out the Priority Tier (reconcile says so).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from usagectl.importers import _pages
from usagectl.models import MONEY_LIMIT, MONEY_LIMIT_TEXT, Record

NAME = "anthropic-cost"
DIMS = (
    "workspace_id", "description", "cost_type", "token_type", "model", "service_tier", "context_window",
    "inference_geo", "speed",
)  # fmt: skip
HUNDRED = Decimal(100)


class AnthropicCostImporter:
    name = NAME
    description = "Anthropic Admin API cost_report pages: billed cost lines, amounts in cents (for reconcile)"
    conflict = "max-amount"  # billed_costs: see usagectl.store.billing.import_cost_lines
    # after anthropic-usage: a page of a period without usage (every bucket's results empty) is
    # claimed by both and gives no record either way; --format auto names it usage
    sniff_order = 21
    target = "billed_costs"

    def sniff(self, path: Path, head: bytes) -> bool:
        return cost_rows_in(head) or _pages.empty_report(head) == "anthropic"

    def files(self, root: Path) -> list[Path]:
        return _pages.files(root)

    def read(self, path: Path) -> Iterator[Record]:
        return _pages.anthropic_records(path, DIMS, _record)


def cost_rows_in(head: bytes) -> bool:
    """Whether the start of a file holds rows of a cost report (bucket times, amounts, currency)."""
    return b'"starting_at"' in head and b'"amount"' in head and b'"currency"' in head


# a decimal written with ASCII digits, as the API writes amounts ("54.702", "-1.5", "1e3")
_DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
_CENTS_LIMIT = Decimal(MONEY_LIMIT) * 100  # models.MONEY_LIMIT dollars


def cents_to_dollars(amount: Any) -> tuple[Decimal | None, str | None]:
    """``"54.702"`` (cents, a decimal string) -> Decimal("0.54702") dollars."""
    if not isinstance(amount, str):
        what = "missing" if amount is None else f"expected a decimal string of cents, found {_pages.dumps(amount)[:40]}"
        return None, f"amount: {what}"
    if not _DECIMAL.fullmatch(amount.strip()):  # Decimal() also takes "1_000", "٥٠", "NaN"
        return None, f"amount: not a decimal ({amount[:40]!r})"
    try:  # an exponent Decimal cannot hold, or one whose arithmetic would overflow
        cents = Decimal(amount.strip())
        too_large = cents.copy_abs() > _CENTS_LIMIT
    except ArithmeticError:
        cents, too_large = Decimal(0), True
    if too_large:
        return None, f"amount: out of range ({amount[:40]!r} cents; {MONEY_LIMIT_TEXT})"
    return cents / HUNDRED, None


def _record(
    rec: int, line: int | None, start: datetime, end: datetime, row: Any, sig: tuple[str, ...], by_workspace: bool
) -> Record:
    raw = _pages.dumps(row)[: _pages.RAW_MAX]
    if not isinstance(row, dict):
        return Record(rec, line, problem="result: not an object", raw=raw)
    problems: list[str] = []
    dollars, problem = cents_to_dollars(row.get("amount"))
    if problem:
        problems.append(problem)
    currency = row.get("currency")
    if currency is not None and (not isinstance(currency, str) or currency.upper() != "USD"):
        problems.append(f"currency: {_pages.dumps(currency)[:40]} is not USD (only USD amounts are reconciled)")
    dims: dict[str, str | None] = {}
    for key in DIMS:
        dims[key], problem = _pages.text_or_none(row, key)
        if problem:
            problems.append(problem)
    if problems:
        return Record(rec, line, problem="; ".join(problems), raw=raw)
    key = _pages.key_hash(_pages.iso(start), _pages.iso(end), list(sig), [dims[d] for d in sig])
    extra: dict[str, Any] = {
        "group_by": _pages.group_by(sig),
        "amount_cents": row.get("amount"),  # the string as reported
        "currency": currency or "USD",
        **{d: dims[d] for d in ("cost_type", "inference_geo", "speed") if dims[d] is not None},
    }
    fields: dict[str, Any] = {
        "line_id": f"{NAME}:{key}",
        "start_ts": start,
        "end_ts": end,
        "provider": "anthropic",
        "model_raw": dims["model"],
        "token_type": dims["token_type"],
        "service_tier": dims["service_tier"],
        "context_window": dims["context_window"],
        "workspace": dims["workspace_id"] or ("default" if by_workspace else None),
        "description": dims["description"],
        "amount_usd": dollars,
        "extra": extra,
    }
    return Record(rec, line, fields=fields, raw=raw)


IMPORTER = AnthropicCostImporter()
