"""Column kind ``amount``: money where None means "not applicable", never "unpriced"."""

from __future__ import annotations

import io
import json
from decimal import Decimal

from usagectl.models import Column, Report
from usagectl.render import OutputFormat, render_report


def _report() -> Report:
    return Report(
        name="t", title="t", filters={},
        columns=(Column("k", "K"), Column("v", "Value", "amount"), Column("c", "Cost", "money")),
        rows=({"k": "a", "v": Decimal("4.1"), "c": None}, {"k": "b", "v": None, "c": Decimal("1.5")}),
        totals={},
    )  # fmt: skip


def _out(fmt: OutputFormat) -> str:
    buf = io.StringIO()
    render_report(_report(), fmt, buf)
    return buf.getvalue()


def test_amount_none_is_a_dash_and_money_none_is_unpriced() -> None:
    md = _out(OutputFormat.MARKDOWN)
    assert "| a | $4.10 | unpriced |" in md
    assert "| b | – | $1.50 |" in md


def test_amount_in_machine_formats() -> None:
    rows = json.loads(_out(OutputFormat.JSON))["rows"]
    assert rows == [{"k": "a", "v": 4.1, "c": None}, {"k": "b", "v": None, "c": 1.5}]
    csv = _out(OutputFormat.CSV).splitlines()
    assert csv[1:] == ["a,4.100000,", "b,,1.500000"]
