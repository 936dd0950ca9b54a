"""Rich rendering of reports for a terminal (the ``table`` format) and the console factory.

Column widths are fitted here rather than left to Rich, so numbers do not fold at 80 columns:
long headers wrap at spaces, the gap between columns narrows, counts are abbreviated
(``98.8M``, with a legend line), text columns wrap; only on a very narrow terminal does
anything fold (see :func:`build_table`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import Any, TextIO

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from usagectl.models import Column, Report, printable, printable_lines
from usagectl.render.formats import color_wanted, display_cell, dropped_headers, overview_kind, to_decimal
from usagectl.render.grid import FastTable
from usagectl.render.text import filters_text

NUMERIC = frozenset({"int", "money", "amount", "rate", "pct", "used_pct", "float"})
BAR_WIDTH = 10
_STR_FLOOR = 10  # a text column is not squeezed below this before anything folds
_NAME_FLOOR = 7  # a text column that wraps anyway may go down to this before a header word folds
_BREAK = re.compile(r"[^-_/.:]*[-_/.:]+|[^-_/.:]+$")  # a name's pieces, each ending at a mark
# a header word's pieces: a date range (``2026-10-30..2026-11-28``) breaks after its ``..``, never
# inside a date (QA: ``2026-10-30..2`` / ``026-11-28`` at 80 columns)
_HEADER_BREAK = re.compile(r".*?\.\.+|.+")
_EIGHTHS = " ▏▎▍▌▋▊▉"


def make_console(stream: TextIO, *, width: int | None = None, color: bool | None = None) -> Console:
    """A Console on ``stream``: no ANSI at all unless colour is on; soft wrap off; no highlighting.

    ``color=None`` decides by :func:`color_wanted`. ``width=None`` lets Rich use ``COLUMNS``,
    else the terminal width, else 80 (a ``COLUMNS`` of 0 or not a number counts as not set:
    :func:`console_environ`).
    """
    if color is None:
        color = color_wanted(stream)
    return Console(
        file=stream,
        width=width,
        force_terminal=color,
        force_interactive=False if not color else None,
        color_system="auto" if color else None,
        no_color=not color,
        soft_wrap=False,
        highlight=False,
        emoji=False,
        legacy_windows=False,
        force_jupyter=False,
        _environ=console_environ(),
    )


def env_size(name: str) -> int | None:
    """``COLUMNS`` or ``LINES`` when it is a positive whole number, else None (not set). Some
    containers and CI runners export ``COLUMNS=0``: Rich took it as a width of 0 and every table
    printed nothing at all, exit 0 (QA)."""
    given = os.environ.get(name, "").strip()
    return int(given) if given.isascii() and given.isdigit() and int(given) > 0 else None


def console_environ() -> dict[str, str] | None:
    """The environment a Rich Console is to read its size from (its ``_environ``): None (the
    process's own) unless ``COLUMNS`` or ``LINES`` is set to something else than a positive whole
    number; then a copy in which such a value is left out (0, empty, not a number: Rich then
    measures the terminal, else takes 80 x 25, as when it is unset) or written plainly (`` 80``,
    which Rich ignored and :func:`env_size` reads as 80)."""
    env: dict[str, str] | None = None
    for name in ("COLUMNS", "LINES"):
        raw = os.environ.get(name)
        value = env_size(name)
        if raw is None or raw == str(value):
            continue
        env = env if env is not None else dict(os.environ)
        if value is None:
            del env[name]
        else:
            env[name] = str(value)
    return env


# --------------------------------------------------------------------------- cells


def _cell(value: Any, kind: str, compact: bool = False, cents: bool = False, exact: bool = False) -> Text:
    text = display_cell(value, kind, compact=compact, cents=cents, exact=exact)
    if kind == "amount":
        kind = "money" if value is not None else "float"
    style = ""
    if kind == "money":
        if value is None:
            style = "yellow"
        elif isinstance(value, (Decimal, int, float)):
            d = to_decimal(value)
            style = "red" if d.is_finite() and d < 0 else ""
    return Text(text, style=style)


def _bar(value: Any) -> Text:
    if not isinstance(value, (Decimal, int, float)) or isinstance(value, bool):
        return Text("")
    share = min(max(float(value), 0.0), 100.0) / 100.0
    eighths = round(share * BAR_WIDTH * 8)
    full, part = divmod(eighths, 8)
    return Text("█" * full + (_EIGHTHS[part] if part else ""), style="cyan")


@dataclass
class _Col:
    header: str
    numeric: bool
    cells: list[Text]
    footer: Text | None

    # computed once: the layout asks for them per attempt, and a table may have 10k+ rows
    @cached_property
    def data_width(self) -> int:
        widths = [cell_len(c.plain) for c in self.cells]
        if self.footer is not None:
            widths.append(cell_len(self.footer.plain))
        return max(widths, default=0)

    @cached_property
    def word_width(self) -> int:
        return max((cell_len(p) for w in self.header.split() for p in _HEADER_BREAK.findall(w)), default=0)

    @cached_property
    def want(self) -> int:
        return max(self.data_width, cell_len(self.header), 1)


# a column's cells as built for one form (compact counts or not, first column or not): the
# layout tries up to six forms for each set of columns left out, and builds each column once
_Built = dict[tuple[int, bool, bool], "_Col"]


def _cols(
    columns: Sequence[Column],
    rows: Sequence[Mapping[str, Any]],
    totals: Mapping[str, Any] | None,
    *,
    compact: bool,
    bars: bool,
    built: _Built | None = None,
) -> list[_Col]:
    cols: list[_Col] = []
    for i, c in enumerate(columns):
        key = (id(c), compact, i == 0)
        col = built.get(key) if built is not None else None
        if col is None:
            footer: Text | None = None
            if totals:
                if c.key in totals:
                    footer = _cell(totals[c.key], c.kind, compact and c.abbreviate, c.cents, c.exact)
                else:
                    footer = Text("Total" if i == 0 else "")
            short = compact and c.abbreviate
            cells = [_cell(row.get(c.key), c.kind, short, c.cents, c.exact) for row in rows]
            col = _Col(c.header, c.kind in NUMERIC, cells, footer)
            if built is not None:
                built[key] = col
        cols.append(col)
        if bars and c.key == "share_pct":
            bar_cells = [_bar(row.get(c.key)) for row in rows]
            cols.append(_Col("", False, bar_cells, Text("") if totals else None))
    return cols


def _shrink(widths: list[int], floors: Sequence[int], avail: int) -> None:
    """Take one cell at a time from the column with most room above its floor."""
    excess = sum(widths) - avail
    while excess > 0:
        idx = max(range(len(widths)), key=lambda i: (widths[i] - floors[i], -i))
        if widths[idx] <= floors[idx]:
            return
        widths[idx] -= 1
        excess -= 1


def _fit_soft(cols: Sequence[_Col], avail: int, str_floor: int | None) -> list[int] | None:
    """Widths that fit without folding a number or a header word, or None."""
    widths = [c.want for c in cols]
    # numeric headers wrap onto more lines first, then text columns wrap or fold
    _shrink(widths, [max(c.data_width, c.word_width, 1) if c.numeric else w for c, w in zip(cols, widths)], avail)
    _shrink(
        widths,
        [w if c.numeric or str_floor is None else min(w, max(c.word_width, str_floor)) for c, w in zip(cols, widths)],
        avail,
    )
    return widths if sum(widths) <= avail else None


def _fit_hard(cols: Sequence[_Col], avail: int) -> list[int]:
    """A very narrow terminal: text columns that wrap anyway (names longer than the column)
    narrow further, then header words fold, then text, then anything."""
    widths = [c.want for c in cols]
    whole = [max(c.data_width, c.word_width, 1) for c in cols]  # numbers and header words whole
    _shrink(
        widths, [whole[i] if c.numeric else min(w, _STR_FLOOR) for i, (c, w) in enumerate(zip(cols, widths))], avail
    )
    _shrink(
        widths,
        [
            whole[i] if c.numeric else min(w, max(c.word_width, _NAME_FLOOR)) if c.data_width > w else w
            for i, (c, w) in enumerate(zip(cols, widths))
        ],
        avail,
    )
    _shrink(
        widths,
        [max(c.data_width, 1) if c.numeric else min(w, _STR_FLOOR) for c, w in zip(cols, widths)],
        avail,
    )
    _shrink(widths, [max(c.data_width, 1) if c.numeric else min(w, 4) for c, w in zip(cols, widths)], avail)
    _shrink(widths, [1] * len(widths), avail)
    return widths


# (compact counts, gap between columns, narrowest a text column may wrap to), tried in order:
# abbreviating counts reads better than names broken across lines.
_ATTEMPTS: tuple[tuple[bool, int, int | None], ...] = (
    (False, 3, None),
    (False, 2, None),
    (True, 2, None),
    (True, 1, None),
    (True, 1, _STR_FLOOR),
)


def _layout(
    columns: Sequence[Column],
    rows: Sequence[Mapping[str, Any]],
    totals: Mapping[str, Any] | None,
    width: int,
    *,
    hard: bool,
    built: _Built | None = None,
) -> tuple[list[_Col], list[int], int, bool] | None:
    """(columns, widths, gap, compact) of the first layout that fits ``width``: at full size
    with share bars; else numeric headers wrap at spaces, the gap narrows, counts are
    abbreviated, and (only with ``hard``) text columns wrap, then numbers or header words fold.
    None when nothing fits without wrapping a name and ``hard`` is off."""
    has_bars = any(c.key == "share_pct" for c in columns)
    cols = _cols(columns, rows, totals, compact=False, bars=has_bars, built=built)
    if has_bars and sum(c.want for c in cols) + 3 * (len(cols) - 1) <= width:
        return cols, [c.want for c in cols], 3, False
    gap, compact = 3, False
    for compact, gap, str_floor in _ATTEMPTS:
        if str_floor is not None and not hard:
            return None
        cols = _cols(columns, rows, totals, compact=compact, bars=False, built=built)
        widths = _fit_soft(cols, width - gap * (len(cols) - 1), str_floor)
        if widths is not None:
            return cols, widths, gap, compact
    return cols, _fit_hard(cols, max(width - gap * (len(cols) - 1), len(cols))), gap, compact


def build_table(
    columns: Sequence[Column],
    rows: Sequence[Mapping[str, Any]],
    totals: Mapping[str, Any] | None,
    width: int,
) -> tuple[Table, bool, list[str]]:
    """The Rich table, whether counts had to be abbreviated to fit ``width`` (and some count
    reads shorter for it), and the headers of the columns left out for it.

    Widths are decided here (``_layout``). When nothing fits without wrapping a name, the
    columns marked ``narrow_drop`` are left out one at a time (lowest mark first, the rightmost
    of a mark first) until the rest fits; only then do names wrap, and, on a very narrow
    terminal, numbers or header words fold.
    """
    shown = list(columns)
    spare = sorted((c for c in columns if c.narrow_drop), key=lambda c: (c.narrow_drop, -columns.index(c)))
    dropped: list[str] = []
    built: _Built = {}
    while (layout := _layout(shown, rows, totals, width, hard=not spare, built=built)) is None:
        gone = spare.pop(0)
        shown.remove(gone)
        dropped.append(gone.header)
    cols, widths, gap, compact = layout
    pad_right = 1 if gap >= 2 else 0
    pad_left = 1 if gap >= 3 else 0
    table = Table(
        box=box.SIMPLE,
        show_edge=False,
        pad_edge=False,
        padding=(0, pad_right, 0, pad_left),
        show_footer=bool(totals),
        header_style="bold",
        footer_style="bold",
        expand=False,
    )
    for col, w in zip(cols, widths):
        table.add_column(
            Text(_break_header(col.header, w)),
            footer=col.footer if col.footer is not None else "",
            justify="right" if col.numeric else "left",
            width=w,
            overflow="fold",
        )
    for r in range(len(rows)):
        table.add_row(*(col.cells[r] if col.numeric else _break_names(col.cells[r], w) for col, w in zip(cols, widths)))
    return table, compact and _abbreviated(shown, rows, totals), dropped


def _abbreviated(
    columns: Sequence[Column], rows: Sequence[Mapping[str, Any]], totals: Mapping[str, Any] | None
) -> bool:
    """Whether the abbreviated form changed any count shown (``98.8M``): the legend is for
    such a table only, not one whose counts read the same either way (line numbers of rejects)."""
    values = [*rows, totals or {}]
    return any(
        display_cell(v, c.kind, compact=True, cents=c.cents, exact=c.exact)
        != display_cell(v, c.kind, cents=c.cents, exact=c.exact)
        for c in columns
        if c.abbreviate
        for v in (r.get(c.key) for r in values)
    )


def _break_header(header: str, width: int) -> str:
    """``header`` with a line break after the ``..`` of each word longer than ``width`` (a date
    range), as ``_HEADER_BREAK`` counts its pieces; Rich wraps the rest at spaces."""
    if cell_len(header) <= width or ".." not in header:
        return header
    return _break_words(header, width, _HEADER_BREAK)


def _break_words(text: str, width: int, joints: re.Pattern[str]) -> str:
    """``text`` with each word longer than ``width`` split into lines at its ``joints`` (the
    pieces the pattern finds), as many pieces a line as fit; shorter words as they are."""
    words = []
    for word in text.split(" "):
        if cell_len(word) <= width:
            words.append(word)
            continue
        lines, line = [], ""
        for piece in joints.findall(word):
            if line and cell_len(line) + cell_len(piece) > width:
                lines.append(line)
                line = ""
            line += piece
        words.append("\n".join([*lines, line]))
    return " ".join(words)


def _break_names(text: Text, width: int) -> Text:
    """A text cell whose words are longer than ``width``, with line breaks after ``-``, ``_``,
    ``/``, ``.`` or ``:`` so that a name wraps at its own joints (``claude-`` / ``sonnet-4-5``)
    instead of being folded mid-word; a piece still too long is left for Rich to fold."""
    plain = text.plain
    if cell_len(plain) <= width or text.spans or "\n" in plain:
        return text
    return Text(_break_words(plain, width, _BREAK), style=text.style)


# --------------------------------------------------------------------------- report


def _overview(report: Report, width: int) -> list[Table]:
    """Overview lines as label/value pairs, two pairs to a row when they are short enough.

    A value longer than half a row (a sentence such as the projection method) gets a row of its
    own below; every other pair keeps its place in the grid, however long its label (QA: "First
    message 2026-10-25 02:30:00 CEST", one cell over half a row with its label, went below "Cost").
    """
    items = [(label, _cell(value, overview_kind(key, value))) for key, label, value in report.overview]
    half = (width - 4) // 2  # two pairs plus a 4-cell gutter
    short = [pair for pair in items if cell_len(pair[1].plain) <= half]
    pairs = 2 if len(short) > 3 and _two_pairs_fit(short, width) else 1
    if pairs == 1:
        short = _one_pair_a_row(short, width)
    kept = {id(pair) for pair in short}
    long = [pair for pair in items if id(pair) not in kept]
    grids: list[Table] = []
    if short:
        grid = Table.grid(padding=(0, 2))
        for i in range(pairs):
            grid.add_column(style="dim", no_wrap=True, min_width=0)
            grid.add_column(justify="right", no_wrap=True)
            if i + 1 < pairs:
                grid.add_column(width=0)  # the gutter between pairs (padding makes it 4 cells)
        n_rows = -(-len(short) // pairs)
        for r in range(n_rows):
            row: list[Text | str] = []
            for i in range(pairs):
                idx = r + i * n_rows  # fill down the first pair, then the second
                lbl, val = short[idx] if idx < len(short) else ("", Text(""))
                row += [Text(lbl), val]
                if i + 1 < pairs:
                    row.append("")
            grid.add_row(*row)
        grids.append(grid)
    if long:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column(overflow="fold")
        for lbl, val in long:
            grid.add_row(Text(lbl), val)
        grids.append(grid)
    return grids


def _one_pair_a_row(items: list[tuple[str, Text]], width: int) -> list[tuple[str, Text]]:
    """The pairs that fit a one-pair-a-row grid ``width`` wide, in their order. The label column
    is as wide as the longest label of the pairs that fit the width on their own, so a value goes
    in when it fits beside that label (else Rich would cut it with "…")."""
    label = max((cell_len(lbl) for lbl, val in items if cell_len(lbl) + 2 + cell_len(val.plain) <= width), default=0)
    # the pairs themselves (not copies): the caller tells the rest apart by identity
    return [pair for pair in items if cell_len(pair[0]) <= label and label + 2 + cell_len(pair[1].plain) <= width]


def _two_pairs_fit(items: list[tuple[str, Text]], width: int) -> bool:
    """Whether two label/value pairs a row fit in ``width`` as laid out (filled down the first
    pair, then the second): each side is as wide as its longest label plus its longest value,
    so pairs that fit one by one may not fit side by side (and would be cut with "…")."""
    n_rows = -(-len(items) // 2)

    def side(part: list[tuple[str, Text]]) -> int:
        return max(cell_len(lbl) for lbl, _ in part) + 2 + max(cell_len(val.plain) for _, val in part)

    return side(items[:n_rows]) + 4 + side(items[n_rows:]) <= width


COMPACT_NOTE = "k = thousand, M = million, B = billion; exact counts with --format csv or json"
NARROW_NOTE = "not shown at this width: {} (a wider terminal, or --format csv or json, shows them)"


def _print_table(
    console: Console,
    columns: Sequence[Column],
    rows: Sequence[Mapping[str, Any]],
    totals: Mapping[str, Any] | None,
) -> None:
    if not rows:
        console.print(Text("No rows.", style="dim"))
        return
    table, compact, dropped = build_table(columns, rows, totals, console.width)
    console.print(FastTable(table))
    if compact:
        console.print(Text(COMPACT_NOTE, style="dim"))
    if dropped:
        # named by mark and in the table's order within one ("Expected from, Expected to"), not
        # in the order they went (the rightmost of a mark first)
        named = dropped_headers(columns, [c for c in columns if c.header in dropped])
        console.print(Text(NARROW_NOTE.format(", ".join(named)), style="dim"))


def render_table(report: Report, out: TextIO, *, width: int | None = None, color: bool | None = None) -> None:
    """Title, filters, overview, the main table with a totals footer, sections, then notes."""
    console = make_console(out, width=width, color=color)
    with console.capture() as capture:
        _print_report(console, report)
    out.write(strip_trailing_spaces(capture.get()))


_TRAILING = re.compile(r"[ ]+((?:\x1b\[[0-9;]*m)*)$", re.MULTILINE)


def strip_trailing_spaces(text: str) -> str:
    """Drop the padding Rich leaves at line ends (kept out of golden files and copy-paste)."""
    return _TRAILING.sub(r"\1", text)


def _print_report(console: Console, report: Report) -> None:
    console.print(Text(printable(report.title), style="bold"))
    ftext = filters_text(report.filters)
    if ftext:
        console.print(Text(ftext, style="dim"))
    if report.overview:
        console.print()
        for grid in _overview(report, console.width):
            console.print(grid)
    console.print()
    shown = [c for c in report.columns if c.in_table]
    # a totals row only when the totals hold at least one of the shown columns
    totals = report.totals if any(c.key in (report.totals or {}) for c in shown) else None
    _print_table(console, shown, report.rows, totals)
    for section in report.sections:
        console.print()
        console.print(Text(printable(section.title), style="bold"))
        _print_table(console, [c for c in section.columns if c.in_table], section.rows, None)
    if report.notes:
        console.print()
        for note in report.notes:
            console.print(Text(f"Note: {printable_lines(note)}", style="yellow"))
