"""Output formats and the cell formatting every renderer shares (no Rich here).

Rounding rules, in one place:

* Money is ``Decimal`` end to end. Machine formats (JSON, CSV) round half-even to 6 decimal
  places; human formats (table, Markdown) round half-even to 2 places, except that a non-zero
  amount under one cent keeps two significant digits (up to 6 decimals) so it never shows as
  ``$0.00``. ``None`` means *unpriced* and is never shown as zero.
* Percentages are 0-100: JSON rounds to 2 decimals, tables show 1 decimal (``45.2%``). The
  part of a quota or budget used (kind ``used_pct``) is shown rounded DOWN (:func:`floor_pct`),
  so 99.98 % reads 99.9 %, never an exhausted 100.0 % or a threshold the usage has not reached;
  machine formats round it down to 2 decimals (:func:`used_pct_machine`: 99.996 is 99.99).
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Sequence
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal, localcontext
from enum import Enum
from typing import TYPE_CHECKING, Any, TextIO

from usagectl.models import printable

if TYPE_CHECKING:
    from usagectl.models import Column

UNPRICED = "unpriced"
MISSING = "–"  # en dash: shown for an absent number
MONEY_PLACES_MACHINE = 6
PCT_PLACES_MACHINE = 2


class OutputFormat(str, Enum):
    """Every ``--format`` a report accepts; ``render_report`` handles each one."""

    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    MARKDOWN = "markdown"

    def __str__(self) -> str:
        return self.value


def to_decimal(value: Decimal | float | str) -> Decimal:
    """Exact Decimal for a number; floats go through ``repr`` so 0.1 stays 0.1."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def quantize(value: Decimal, places: int) -> Decimal:
    """Round half-even to ``places`` decimals, whatever the magnitude (no InvalidOperation)."""
    exp = Decimal(1).scaleb(-places)
    with localcontext() as ctx:
        ctx.prec = max(28, value.adjusted() + places + 2)
        return value.quantize(exp, rounding=ROUND_HALF_EVEN)


def plain_number(value: Decimal) -> str:
    """Shortest plain (never exponent) form: 12.5, 0.000312, 100, 0 (never -0)."""
    if value.is_zero():
        return "0"
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def money_machine(value: Decimal | float) -> str | None:
    """JSON/CSV-neutral money: half-even to 6 places, plain form; None if not finite."""
    d = to_decimal(value)
    if not d.is_finite():
        return None
    return plain_number(quantize(d, MONEY_PLACES_MACHINE))


def money_fixed(value: Decimal | float) -> str:
    """CSV money: half-even to exactly 6 places (``0.000312``, ``-0.500000``)."""
    d = to_decimal(value)
    if not d.is_finite():
        return ""
    q = quantize(d, MONEY_PLACES_MACHINE)
    if q.is_zero():
        q = abs(q)
    return format(q, "f")


def pct_machine(value: Decimal | float) -> Decimal | None:
    d = to_decimal(value)
    if not d.is_finite():
        return None
    return quantize(d, PCT_PLACES_MACHINE)


def used_pct_machine(value: Decimal | float) -> Decimal | None:
    """A used share of a quota or budget for machine formats (JSON, CSV, webhook payloads): 2
    decimals rounded DOWN, as ``floor_pct`` rounds it for people: 99.996 % is 99.99, never a 100
    the usage has not reached (QA: `report month --json` said quota_pct 100 at 999,960 of
    1,000,000 tokens, so a script testing quota_pct >= 100 saw a quota used up that was not)."""
    d = to_decimal(value)
    if not d.is_finite():
        return None
    with localcontext() as ctx:
        ctx.prec = max(28, d.adjusted() + PCT_PLACES_MACHINE + 2)
        return d.quantize(Decimal(1).scaleb(-PCT_PLACES_MACHINE), rounding=ROUND_FLOOR)


def _group(text: str) -> str:
    """Thousands separators on a plain non-negative decimal string."""
    whole, dot, frac = text.partition(".")
    return f"{int(whole):,}" + dot + frac


def format_rate(value: Decimal) -> str:
    """A price exactly as the table gives it, at least 2 decimals: ``$3.00``, ``$1.875``, ``$0.075``."""
    d = value.normalize()
    exponent = d.as_tuple().exponent
    places = max(2, -exponent if isinstance(exponent, int) else 2)
    return f"${value:,.{places}f}"


def format_money_exact(value: Decimal) -> str:
    """Exact dollars, at least 2 decimals, thousands separated: ``$0.04523``, ``$1,234.50``."""
    exponent = value.normalize().as_tuple().exponent
    places = max(2, -exponent if isinstance(exponent, int) else 2)
    return f"${value:,.{places}f}" if value >= 0 else f"-${-value:,.{places}f}"


def format_money(value: Decimal | None, *, places: int = 2) -> str:
    """``$1,234.57``; under a cent keeps 2 significant digits (``$0.0031``); None -> ``unpriced``.

    Rounds half-even. Amounts that are non-zero but under $0.000001 show as ``<$0.000001``.
    """
    if value is None:
        return UNPRICED
    d = to_decimal(value)
    if not d.is_finite():
        return str(d)
    sign = "-" if d < 0 else ""
    mag = abs(d)
    threshold = Decimal(1).scaleb(-places)
    if mag.is_zero() or mag >= threshold:
        q = quantize(mag, places)
    else:
        # two significant digits, at most 6 decimals
        decimals = min(MONEY_PLACES_MACHINE, max(places, -mag.adjusted() + 1))
        q = quantize(mag, decimals)
        if q.is_zero():
            return "<$0.000001" if not sign else ">-$0.000001"
        if q >= threshold:  # 0.00999 -> 0.010 -> show as 0.01
            q = quantize(q, places)
    if q.is_zero():
        sign = ""
    return f"{sign}${_group(format(q, 'f'))}"


def format_cents(value: Decimal | None) -> str:
    """``format_money`` rounded half-even to the cent even under a cent (``$0.0068`` -> ``$0.01``),
    for an amount read against a limit set in cents rather than for a cost of its own."""
    if value is None:
        return UNPRICED
    d = to_decimal(value)
    return format_money(quantize(d, 2) if d.is_finite() else d)


def format_int(n: int | None) -> str:
    """``1,234,567``; None -> ``–``."""
    if n is None:
        return MISSING
    return f"{int(n):,}"


_SUFFIXES = ("", "k", "M", "B", "T")


def format_compact(n: int | None) -> str:
    """Three significant digits with a suffix for narrow tables: ``12.3k``, ``988M``, ``1.98B``.

    Below 10,000 the exact ``format_int`` form is kept.
    """
    if n is None:
        return MISSING
    n = int(n)
    if abs(n) < 10_000:
        return format_int(n)
    sign = "-" if n < 0 else ""
    d = Decimal(abs(n))
    idx = 0
    while idx < len(_SUFFIXES) - 1 and d >= 1000:
        d = d.scaleb(-3)
        idx += 1
    while True:
        places = 2 if d < 10 else 1 if d < 100 else 0
        q = quantize(d, places)
        if (q >= 10 and places == 2) or (q >= 100 and places == 1):
            d = q  # 9.996 -> 10.00 -> 10.0; 99.99 -> 100.0 -> 100
            continue
        if q >= 1000 and idx < len(_SUFFIXES) - 1:  # 999.6k -> 1.00M
            d, idx = q.scaleb(-3), idx + 1
            continue
        return f"{sign}{q:,f}{_SUFFIXES[idx]}"


def format_pct(value: Decimal | float | None, *, places: int = 1) -> str:
    """``45.2%`` for a 0-100 value; None -> ``–``."""
    if value is None:
        return MISSING
    d = to_decimal(value)
    if not d.is_finite():
        return str(d)
    q = quantize(d, places)
    if q.is_zero():
        q = abs(q)
    return f"{q:,f}%"


def floor_pct(value: Decimal | float) -> Decimal:
    """A used share of a quota or budget to show (one decimal), rounded DOWN: 74.996 % is 74.9 %,
    never a 75.0 % the level (decided on the exact value) does not have, nor 99.99 % a 100.0 %.
    Every quota and budget percentage a human sees goes through here (tables, status line,
    dashboard, PDF, webhook texts), so the same usage never reads 99.9 % in one place and 100.0 %
    in another."""
    d = to_decimal(value)
    if not d.is_finite():
        return d
    with localcontext() as ctx:
        ctx.prec = max(28, d.adjusted() + 3)
        return d.quantize(Decimal("0.1"), rounding=ROUND_FLOOR)


def format_used_pct(value: Decimal | float | None) -> str:
    """``99.9%`` for 99.98 % of a quota or budget (see :func:`floor_pct`); None -> ``–``."""
    return format_pct(None if value is None else floor_pct(value))


def format_float(value: float | Decimal | None, *, places: int = 2) -> str:
    if value is None:
        return MISSING
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    d = to_decimal(value)
    q = quantize(d, places)
    if q.is_zero():
        q = abs(q)
    return f"{q:,f}"


def format_date(value: Any) -> str:
    """A date as ISO 8601; a moment in UTC as ``2026-11-26 03:07:26`` (the columns that hold
    one say "(UTC)" in their header: the ``+00:00`` would only make the column wrap)."""
    if value is None:
        return MISSING
    if isinstance(value, dt.datetime) and value.utcoffset() == dt.timedelta(0):
        return value.isoformat(" ", "seconds" if not value.microsecond else "auto")[:-6]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def display_cell(value: Any, kind: str, *, compact: bool = False, cents: bool = False, exact: bool = False) -> str:
    """The text a human sees for one value of a column of ``kind`` (table and Markdown).

    ``compact`` abbreviates counts (``988M``) for tables that would not fit otherwise;
    ``cents`` rounds money to the cent (``Column.cents``); ``exact`` shows a Decimal amount with
    every digit it has (``Column.exact``).
    """
    if exact and isinstance(value, Decimal) and value.is_finite():
        return format_money_exact(value)
    if kind in ("money", "money_exact") and value is None:
        return UNPRICED
    if kind == "money_exact":
        return format_money_exact(to_decimal(value))
    if kind == "amount":
        kind = "money" if value is not None else "float"
    if value is None:
        return MISSING if kind != "str" else ""
    number = isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)
    if kind == "money" and number:
        return format_cents(to_decimal(value)) if cents else format_money(to_decimal(value))
    if kind == "rate" and number:
        return format_rate(to_decimal(value))
    if kind == "int" and number and not isinstance(value, float):
        return format_compact(int(value)) if compact else format_int(int(value))
    if kind == "pct" and number:
        return format_pct(value)
    if kind == "used_pct" and number:
        return format_used_pct(value)
    if kind in ("float", "int") and number:
        # a measured quantity of 100 or more (a latency in ms, tokens per day) reads whole:
        # its hundredths are noise in a table (JSON and CSV keep the value)
        return format_float(value, places=0 if abs(value) >= 100 else 2)
    if kind == "date":
        return format_date(value)
    # text cells hold what the input files held (a reject's reason and value, a model or member
    # name): the table and Markdown show it printable, never a terminal control sequence
    return printable(format_value(value))


def format_value(value: Any) -> str:
    """Human text for a value whose kind is not declared (str columns, extra keys)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return format_int(value)
    if isinstance(value, Decimal):
        return format_money(value)
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, (list, tuple)):
        return ", ".join(format_value(v) for v in value)
    return str(value)


def overview_kind(key: str, value: Any) -> str:
    """Overview lines carry no Column, so their kind is inferred from the key and value.

    ``*_pct`` / ``pct`` keys are percentages, those of a quota or budget (``quota_pct``,
    ``projected_quota_pct``) shown rounded down; a spike threshold that is None does not apply
    ("–"), nor does a change whose side is unpriced (``*_change*``: unknown, "–", not "unpriced"),
    nor a projection of a period that has not started (``projected_*``: none, "–", not "unpriced";
    the report's "Projection" line says why); ``*_exact`` is money with every digit (JSON: a
    decimal string, the exact value that ``cost_usd`` rounds to 6 decimals);
    Decimals, and None under a key naming cost/usd, are money (None: unpriced); ints are counts; dates are dates; anything else is shown as text.
    """
    k = key.lower()
    if k.endswith("_exact"):  # every digit of an amount (``cost_usd_exact``)
        return "money_exact"
    if k == "pct" or k.endswith(("_pct", "_percent")):
        return "used_pct" if ("quota" in k or "budget" in k) else "pct"
    if value is None and (k.startswith(("spike_above", "projected_")) or "_change" in k):  # nothing to show
        return "amount"
    if isinstance(value, Decimal) or (value is None and ("cost" in k or "usd" in k)):
        return "money"
    if isinstance(value, bool):
        return "str"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, (dt.date, dt.datetime)):
        return "date"
    return "str"


def color_wanted(stream: TextIO) -> bool:
    """Auto colour: off when ``NO_COLOR`` is set (any non-empty value) or ``stream`` is no TTY."""
    if os.environ.get("NO_COLOR", ""):
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # closed stream
        return False


def dropped_headers(columns: Sequence[Column], gone: Sequence[Column]) -> list[str]:
    """The headers of the ``gone`` columns for the "not shown" note: by ``narrow_drop`` mark and,
    within a mark, in the order of ``columns`` (a mark's columns go rightmost first, but a note
    that reads "Expected to, Expected from" is backwards)."""
    order = list(columns)
    return [c.header for c in sorted(gone, key=lambda c: (c.narrow_drop, order.index(c)))]
