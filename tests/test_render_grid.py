"""FastTable draws exactly what Rich's Table draws, for the tables build_table lays out.

The independent path is Rich itself: the same Table object printed by Rich and by FastTable,
in colour and without, at widths from very narrow to wide, over generated columns and cells
(names with joints and spaces, wide characters, control characters, edge spaces, empty and
missing values, negative money, multi-line text, totals or none).
"""

from __future__ import annotations

import contextlib
import io
from decimal import Decimal
from typing import Any
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.table import Table
from rich.text import Text

from usagectl.models import Column
from usagectl.render.grid import FastTable
from usagectl.render.table import build_table, make_console

KINDS = ("str", "int", "money", "amount", "pct", "date", "float")

SAMPLES = ["claude-sonnet-4-5-20250929", "gpt-4o-mini", "acme/web-app", "日本語プロジェクト", "", " x ", "a\tb",
           "line\nbreak", "ctl\x07char", "a b c d e f g h", "x" * 40, "(none)"]  # fmt: skip
names = st.one_of(st.sampled_from(SAMPLES), st.text(max_size=30))


def value(kind: str) -> st.SearchStrategy[Any]:
    if kind in ("str", "date"):
        return names
    if kind == "int":
        return st.one_of(st.none(), st.integers(-(10**12), 10**12))
    if kind in ("money", "amount"):
        return st.one_of(st.none(), st.decimals(-(10**6), 10**7, places=6, allow_nan=False))
    return st.one_of(st.none(), st.floats(-5, 500, allow_nan=False))


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[Column], list[dict[str, Any]], dict[str, Any] | None, int]:
    n = draw(st.integers(1, 7))
    columns = []
    for i in range(n):
        kind = draw(st.sampled_from(KINDS)) if i else draw(st.sampled_from(("str", "date", "int")))
        header = draw(st.sampled_from(["Model", "Input tokens", "Cache write 1h tokens", "Cost", "Share", "x", "日本"]))
        key = "share_pct" if header == "Share" and kind == "pct" else f"c{i}"
        columns.append(Column(key, header, kind, narrow_drop=draw(st.integers(0, 2)) if i else 0))  # type: ignore[arg-type]
    rows = [{c.key: draw(value(c.kind)) for c in columns} for _ in range(draw(st.integers(1, 8)))]
    totals = None
    if draw(st.booleans()):
        totals = {c.key: draw(value(c.kind)) for c in columns[1:] if c.kind != "str"}
    width = draw(st.integers(8, 160))
    return columns, rows, totals, width


class RichDrew(Exception):
    pass


def draw_both(table: Table, width: int, color: bool, *, fast_only: bool = False) -> tuple[str, str]:
    """Rich's drawing and FastTable's; with ``fast_only``, FastTable may not hand the table to Rich."""
    outs = []
    for renderable in (table, FastTable(table)):
        buf = io.StringIO()
        with contextlib.ExitStack() as stack:
            if fast_only and renderable is not table:
                stack.enter_context(mock.patch.object(Table, "__rich_console__", side_effect=RichDrew))
            make_console(buf, width=width, color=color).print(renderable)
        outs.append(buf.getvalue())
    return outs[0], outs[1]


@settings(max_examples=400)
@given(tables(), st.booleans())
def test_fast_table_draws_what_rich_draws(spec: Any, color: bool) -> None:
    columns, rows, totals, width = spec
    table, _, _ = build_table(columns, rows, totals, width)
    pads = (len(table.columns) - 1) * (table.padding[1] + table.padding[3])  # edges unpadded
    fits = sum(c.width or 0 for c in table.columns) + pads + len(table.columns) - 1 <= width
    # a table that fits (every one build_table lays out, unless the terminal is narrower than
    # one cell a column) is drawn by FastTable itself, never handed back to Rich
    rich_out, fast_out = draw_both(table, width, color, fast_only=fits)
    assert fast_out == rich_out


def test_a_hand_built_report_table_matches_rich_line_for_line(monkeypatch: Any) -> None:
    columns = [Column("model", "Model"), Column("tok", "Input tokens", "int"), Column("cost", "Cost", "money")]
    rows = [
        {"model": "claude-sonnet-4-5-20250929", "tok": 12345, "cost": Decimal("1.5")},
        {"model": "gpt", "tok": 1, "cost": None},
        {"model": "x", "tok": 2, "cost": Decimal("-3")},
    ]
    table, _, _ = build_table(columns, rows, {"tok": 12348, "cost": Decimal("-1.5")}, 40)
    for color in (False, True):
        rich_out, fast_out = draw_both(table, 40, color)
        assert fast_out == rich_out
    # FastTable drew it itself: with Rich's table drawing broken, it still draws the same
    expected = draw_both(table, 40, False)[0]

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("Rich's Table drew it")

    monkeypatch.setattr(Table, "__rich_console__", broken)
    buf = io.StringIO()
    make_console(buf, width=40, color=False).print(FastTable(table))
    assert buf.getvalue() == expected
    monkeypatch.undo()
    # and what it shows, read by hand: the long name wraps at its joint, unpriced is named
    plain = expected.splitlines()
    assert plain[3].startswith("claude-sonnet-4-5-") and plain[3].rstrip().endswith("$1.50")
    assert plain[4].strip() == "20250929"
    assert plain[5].split() == ["gpt", "1", "unpriced"]
    assert plain[-1].split() == ["Total", "12.3k", "-$1.50"]


def test_a_table_in_another_form_is_drawn_by_rich() -> None:
    table = Table(title="With a title")  # a form FastTable does not draw itself
    table.add_column("A")
    table.add_row(Text("1"))
    rich_out, fast_out = draw_both(table, 30, False)
    assert fast_out == rich_out and "With" in fast_out


def test_a_table_wider_than_the_console_is_left_to_rich() -> None:
    columns = [Column("a", "A"), Column("b", "B", "int")]
    table, _, _ = build_table(columns, [{"a": "x" * 50, "b": 1}], None, 80)
    rich_out, fast_out = draw_both(table, 20, False)  # printed narrower than it was laid out for
    assert fast_out == rich_out
