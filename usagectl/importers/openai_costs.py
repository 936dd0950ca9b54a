"""OpenAI Admin API costs: saved pages of ``GET /v1/organization/costs`` (FORMATS.md §2b).

Cost lines are NOT events: they go to ``billed_costs`` (``target``), for ``usagectl reconcile``.
``amount.value`` is in DOLLARS (a JSON number, read exactly as a Decimal), unlike Anthropic's
cents; the currency is lowercase ``usd`` and any other currency is rejected. ``line_item``
(``"gpt-4o-2024-08-06, input"``) is split into the model as logged and the token type; a line
item of another shape keeps no model. A re-fetch of a line replaces it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from usagectl.importers import _pages
from usagectl.models import Record

NAME = "openai-costs"
RESULT_OBJECT = "organization.costs.result"
DIMS = ("line_item", "project_id", "api_key_id")
_MODEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@-]*")


def parse_line_item(line_item: str | None) -> tuple[str | None, str | None]:
    """``"gpt-4o-2024-08-06, input"`` -> (``gpt-4o-2024-08-06``, ``input``); other shapes -> (None, None).
    The format is not documented (FORMATS.md: observed values only), so nothing is guessed."""
    if not line_item or ", " not in line_item:
        return None, None
    model, _, kind = line_item.rpartition(", ")
    model, kind = model.strip(), kind.strip()
    if not kind or not _MODEL.fullmatch(model):
        return None, None
    return model, kind


class OpenAICostsImporter:
    name = NAME
    description = "OpenAI Admin API costs pages: billed cost lines in dollars (for reconcile)"
    conflict = "max-amount"  # billed_costs: see usagectl.store.billing.import_cost_lines
    # after openai-usage: a page of a period without usage (every bucket's results empty) is
    # claimed by both and gives no record either way; --format auto names it usage
    sniff_order = 21
    target = "billed_costs"

    def sniff(self, path: Path, head: bytes) -> bool:
        return b'"' + RESULT_OBJECT.encode() + b'"' in head or _pages.empty_report(head) == "openai"

    def files(self, root: Path) -> list[Path]:
        return _pages.files(root)

    def read(self, path: Path) -> Iterator[Record]:
        return _pages.openai_records(
            path,
            "/costs",
            DIMS,
            _bucket,
            lambda rec, line, _, start, end, row, sig: _record(rec, line, start, end, row, sig),
        )


def _bucket(bucket: Any) -> _pages.OpenAIBucket:
    rows = _pages.openai_rows(bucket)  # the rows the reader weighed the fetch's group-by by
    start, p1 = _pages.unix_time(bucket.get("start_time") if isinstance(bucket, dict) else None, "start_time")
    end, p2 = _pages.unix_time(bucket.get("end_time") if isinstance(bucket, dict) else None, "end_time")
    problem = ("bucket: no results array" if rows is None else None) or p1 or p2
    return rows, start, end, problem or _pages.bucket_range(start, end)


def _dollars(amount: Any) -> tuple[Decimal | None, str | None, str | None]:
    """(value, currency, problem) of ``amount`` = ``{"value": number, "currency": "usd"}``."""
    if not isinstance(amount, dict):
        return None, None, "amount: missing" if amount is None else "amount: not an object"
    value = amount.get("value")
    currency = amount.get("currency")
    if not isinstance(currency, str) or currency.lower() != "usd":
        what = "missing" if currency is None else f"{_pages.dumps(currency)[:40]} is not usd"
        return None, None, f"amount.currency: {what} (only USD amounts are reconciled)"
    if isinstance(value, bool) or value is None:
        return None, None, f"amount.value: not a number ({value!r})"
    try:
        d = Decimal(value) if isinstance(value, (int, Decimal, str)) else None
    except InvalidOperation:
        d = None
    if d is None or not d.is_finite():
        return None, None, f"amount.value: not a number ({str(value)[:40]})"
    return d, currency, None


def _record(rec: int, line: int | None, start: datetime, end: datetime, row: Any, sig: tuple[str, ...]) -> Record:
    raw = _pages.dumps(row)[: _pages.RAW_MAX]
    if not isinstance(row, dict):
        return Record(rec, line, problem="result: not an object", raw=raw)
    obj = row.get("object")
    if obj != RESULT_OBJECT:
        what = "missing" if obj is None else f"{obj!r} is not a costs result ({RESULT_OBJECT})"
        return Record(rec, line, problem=f"object: {what}", raw=raw)
    problems: list[str] = []
    amount, currency, problem = _dollars(row.get("amount"))
    if problem:
        problems.append(problem)
    dims: dict[str, str | None] = {}
    for key in (*DIMS, "quantity_unit"):
        dims[key], problem = _pages.text_or_none(row, key)
        if problem:
            problems.append(problem)
    quantity = row.get("quantity")
    if quantity is not None and (isinstance(quantity, bool) or not isinstance(quantity, (int, Decimal))):
        problems.append(f"quantity: not a number ({str(quantity)[:40]})")
    if problems:
        return Record(rec, line, problem="; ".join(problems), raw=raw)
    model_raw, token_type = parse_line_item(dims["line_item"])
    key = _pages.key_hash(_pages.iso(start), _pages.iso(end), list(sig), [dims[d] for d in sig])
    fields: dict[str, Any] = {
        "line_id": f"{NAME}:{key}",
        "start_ts": start,
        "end_ts": end,
        "provider": "openai",
        "model_raw": model_raw,
        "line_item": dims["line_item"],
        "token_type": token_type,
        "service_tier": "batch" if token_type and "batch" in token_type.lower() else None,
        "project": dims["project_id"],
        "api_key": dims["api_key_id"],
        "amount_usd": amount,
        "quantity": Decimal(quantity) if quantity is not None else None,
        "quantity_unit": dims["quantity_unit"],
        "extra": {"group_by": _pages.group_by(sig), "currency": currency, "amount_value": str(amount)},
    }
    return Record(rec, line, fields=fields, raw=raw)


IMPORTER = OpenAICostsImporter()
