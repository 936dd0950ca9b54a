"""Drawing the report tables' rows without Rich's general cell machinery.

Rich renders every cell of a :class:`rich.table.Table` through its full text pipeline (wrap,
justify, padding, crop): ~40 µs a cell, 0.05-0.08 s for a daily report of a few months, a
quarter of the whole command. The tables :func:`usagectl.render.table.build_table` lays out
have every column's width decided already, and almost every cell is one short line that fits
it. :class:`FastTable` draws such a table with the segments Rich would produce, building the
simple cells (one line, no markup spans, no control characters, fits its column) directly and
handing every other cell (a wrapped header, a long name) to Rich's own ``render_lines``; a
table in any form it does not know is drawn by Rich. ``tests/test_render_grid.py`` holds its
output equal to Rich's, in colour and without, over generated tables.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.padding import Padding
from rich.segment import Segment
from rich.style import Style
from rich.table import Column, Table
from rich.text import Text

_NOT_SIMPLE = re.compile(r"[\x00-\x1f\x7f-\x9f]|^\s|\s$")  # control characters, edge whitespace

_Lines = list[list[Segment]]


def _known(table: Table) -> bool:
    """Whether ``table`` is in the form :class:`FastTable` draws (the form build_table makes)."""
    return (
        table.box is not None
        and not table.show_edge
        and not table.pad_edge
        and not table.collapse_padding
        and not table.show_lines
        and not table.leading
        and not table.expand
        and table.width is None
        and table.min_width is None
        and table.show_header
        and not table.title
        and not table.caption
        and not table.row_styles
        and table.padding[0] == 0
        and table.padding[2] == 0
        and all(row.style is None and not row.end_section for row in table.rows)
        and all(
            c.width is not None
            and c.min_width is None
            and c.max_width is None
            and c.ratio is None
            and not c.no_wrap
            and not c.highlight
            and c.vertical == "top"
            for c in table.columns
        )
    )


class FastTable:
    """A Rich renderable drawing ``table`` (see the module docstring)."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        table = self.table
        columns = table.columns
        styled = console.get_style(table.style or "") or console.get_style(table.border_style or "")
        if not columns or styled or not _known(table):
            yield table
            return
        last = len(columns) - 1
        _, pad_right, _, pad_left = table.padding
        pads = [(0 if i == 0 else pad_left, 0 if i == last else pad_right) for i in range(len(columns))]
        widths = [c.width + left + right for c, (left, right) in zip(columns, pads)]  # type: ignore[operator]
        if sum(widths) + last > options.max_width:
            yield table  # Rich narrows the columns to fit; only its own drawing does that right
            return
        box = table.box.substitute(options, safe=table.safe_box if table.safe_box is not None else console.safe_box)  # type: ignore[union-attr]
        get_style = console.get_style
        head_style = [get_style(table.header_style or "") + get_style(c.header_style) for c in columns]
        foot_style = [get_style(table.footer_style or "") + get_style(c.footer_style) for c in columns]
        body_style = [get_style(c.style or "") + Style.null() for c in columns]
        new_line = Segment.line()

        def row(cells: list[object], styles: list[Style], where: str) -> Iterator[Segment]:
            rendered = [
                _cell(console, options, cell, col, width, pad, style)
                for cell, col, width, pad, style in zip(cells, columns, widths, pads, styles)
            ]
            height = max(len(lines) for lines, _ in rendered)
            shaped = []
            for (lines, exact), width, style in zip(rendered, widths, styles):
                if len(lines) < height:
                    blank = [Segment(" " * width, style)]
                    extra = [blank] * (height - len(lines))
                    lines = extra + lines if where == "head" else lines + extra
                shaped.append(lines if exact and height == 1 else Segment.set_shape(lines, width, height))
            divider = Segment(getattr(box, f"{where}_vertical"), Style.null())
            for line_no in range(height):
                for i, lines in enumerate(shaped):
                    yield from lines[line_no]
                    if i != last:
                        yield divider
                yield new_line

        yield from row([c.header for c in columns], head_style, "head")
        yield Segment(box.get_row(widths, "head", edge=False), Style.null())
        yield new_line
        for r in range(table.row_count):
            where = "mid" if r < table.row_count - 1 or table.show_footer else "foot"
            yield from row([c._cells[r] for c in columns], body_style, where)
        if table.show_footer:
            yield Segment(box.get_row(widths, "foot", edge=False), Style.null())
            yield new_line
            yield from row([c.footer for c in columns], foot_style, "foot")


def _cell(
    console: Console,
    options: ConsoleOptions,
    cell: object,
    column: Column,
    width: int,
    pad: tuple[int, int],
    style: Style,
) -> tuple[_Lines, bool]:
    """The lines of one cell as Rich's table draws them, and whether they are exactly ``width``
    cells wide already (a simple cell, built here)."""
    left, right = pad
    room = width - left - right
    text = Text(cell) if isinstance(cell, str) and cell == "" else cell
    if (
        isinstance(text, Text)
        and not text.spans
        and text.justify is None
        and text.overflow is None
        and text.no_wrap is None
        and column.justify in ("left", "right")
        and not _NOT_SIMPLE.search(text.plain)
        and cell_len(text.plain) <= room
    ):
        plain = text.plain
        fill = " " * (room - cell_len(plain))
        own = console.get_style(text.style) if text.style else None
        line = [Segment(plain + fill if column.justify == "left" else fill + plain, style + own if own else style)]
        if left:
            line.insert(0, Segment(" " * left, style))
        if right:
            line.append(Segment(" " * right, style))
        return [line], True
    render_options = options.update(
        width=width, justify=column.justify, no_wrap=column.no_wrap, overflow=column.overflow, height=None,
        highlight=column.highlight,
    )  # fmt: skip
    return console.render_lines(Padding(cell, (0, right, 0, left)), render_options, style=style), False  # type: ignore[arg-type]
