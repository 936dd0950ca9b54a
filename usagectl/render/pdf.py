# mypy: disable-error-code="import-untyped"
"""PDF reports with reportlab platypus (imported inside functions: ``--help`` stays light).

* ``write_month_pdf(data, path)``: the month report a manager forwards: page 1 = title, period,
  totals and the overview panel; then charts (daily cost, model distribution, cost by team)
  and tables (per model, per team, per member, cost centers, budgets vs actual), then every
  Report of ``data.extras`` (e.g. "Top optimization opportunities"), each as a titled table.
* ``write_report_pdf(report, path)``: any other Report as overview + table + sections.

Every page has a footer "Page N of M". Cells use the human formats of
``usagectl.render.formats`` (money half-even to cents, unpriced never $0).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from usagectl.models import Column, Report, Section
from usagectl.render.formats import (
    display_cell,
    dropped_headers,
    format_compact,
    format_int,
    format_money,
    overview_kind,
)
from usagectl.render.text import filters_text

if TYPE_CHECKING:
    from usagectl.services.pdf_report import PdfReport

FONT, BOLD = "UsagectlSans", "UsagectlSans-Bold"
_FONT_FILES = (
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
)
KEEP_TOGETHER_ROWS = 25  # a longer table starts where it is and runs over pages, its header row repeated
TABLE_SIZES = (7.5, 7.0, 6.5)  # the font sizes a table tries before it leaves columns out
LEAST_SIZE = 5.0  # the smallest font a table shrinks to, with counts abbreviated, to keep numbers whole
# a word wider than this share of the page (an 84-character member name) cannot stay whole in any
# layout, so its column wraps it at TEXT_FLOOR_EM x the font size (a dozen characters) if need be,
# leaving the numbers their width
LONG_WORD = 0.4
TEXT_FLOOR_EM = 8.0
CELL_PAD = 4.0  # a table cell's padding each side
_JOINTS = re.compile(r"[^-_/.:]*[-_/.:]+|[^-_/.:]+$")  # a name's pieces, each ending at a joint
COMPACT_NOTE = "k = thousand, M = million, B = billion; exact counts in the CSV or JSON export"
DROPPED_NOTE = "Not shown for want of room: {} (the CSV or JSON export has every column)."
# page 1's headline figures: 15 pt, stepping down to 9 pt so that a figure is never wrapped (a
# billion tokens a month is ordinary with cache reads); a tile pads 6 pt each side
KPI_SIZE, KPI_LEAST, KPI_PAD = 15.0, 9.0, 6.0


# Chinese, Japanese and Korean names: DejaVu has no glyphs for them, so runs of such characters
# are set in one of the CID fonts every PDF viewer knows (Adobe's CJK collections). They are not
# embedded: the viewer supplies the glyphs (Acrobat, Preview, pdf.js, poppler with CJK fonts);
# the text is in the file either way, so it can be searched and copied. Emoji have no such font.
CJK_FONTS = {"ja": "HeiseiKakuGo-W5", "zh": "STSong-Light", "ko": "HYGothic-Medium"}
_HANGUL = ((0x1100, 0x11FF), (0x3130, 0x318F), (0xA960, 0xA97F), (0xAC00, 0xD7FF))
_KANA = ((0x3040, 0x30FF), (0x31F0, 0x31FF), (0xFF65, 0xFF9F))
_HAN = ((0x2E80, 0x2FDF), (0x3000, 0x303F), (0x3190, 0x31EF), (0x3200, 0x4DBF), (0x4E00, 0x9FFF),
        (0xF900, 0xFAFF), (0xFE30, 0xFE4F), (0xFF00, 0xFFEF), (0x20000, 0x3134F))  # fmt: skip


def _in(ch: str, ranges: Sequence[tuple[int, int]]) -> bool:
    return any(lo <= ord(ch) <= hi for lo, hi in ranges)


def _runs(text: str) -> list[tuple[str | None, str]]:
    """``text`` cut into (font, piece): None for the body font, else the CJK font for the
    characters the body font has no glyph for. Han characters are set in the Japanese font when
    the text has kana, else in the Chinese one; Hangul in the Korean one."""
    from reportlab.pdfbase import pdfmetrics

    if text.isascii():
        return [(None, text)]
    glyphs = pdfmetrics.getFont(FONT).face.charToGlyph
    han = CJK_FONTS["ja"] if any(_in(ch, _KANA) for ch in text) else CJK_FONTS["zh"]
    runs: list[tuple[str | None, str]] = []
    for ch in text:
        font = None
        if ord(ch) not in glyphs:
            font = CJK_FONTS["ko"] if _in(ch, _HANGUL) else CJK_FONTS["ja"] if _in(ch, _KANA) else han if _in(
                ch, _HAN) else None  # fmt: skip
        if runs and runs[-1][0] == font:
            runs[-1] = (font, runs[-1][1] + ch)
        else:
            runs.append((font, ch))
    return runs


def label_font(text: str, font: str) -> str:
    """The font for a one-font label (a chart's category): a CJK font when ``text`` has
    characters ``font`` cannot draw and a CJK font can (its Latin letters are drawn too)."""
    return next((f for f, _piece in _runs(text) if f is not None), font)


def _width(text: str, font: str, size: float) -> float:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    return float(sum(stringWidth(piece, f or font, size) for f, piece in _runs(text)))


def _fonts() -> None:
    """A Unicode TTF (member names are not all Latin-1): DejaVu if installed, else reportlab's
    Vera; and the CJK fonts of ``CJK_FONTS`` for what it cannot draw."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFont

    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    for cid in CJK_FONTS.values():
        pdfmetrics.registerFont(UnicodeCIDFont(cid))
    import reportlab

    vera = Path(reportlab.__file__).parent / "fonts"
    pairs = [*_FONT_FILES, (str(vera / "Vera.ttf"), str(vera / "VeraBd.ttf"))]
    regular, bold = next((r, b) for r, b in pairs if Path(r).is_file() and Path(b).is_file())
    pdfmetrics.registerFont(TTFont(FONT, regular))
    pdfmetrics.registerFont(TTFont(BOLD, bold))


def _styles() -> dict[str, Any]:
    from reportlab.lib.colors import HexColor
    from reportlab.lib.styles import ParagraphStyle

    base = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12)
    return {
        "body": base,
        "title": ParagraphStyle("title", parent=base, fontName=BOLD, fontSize=20, leading=24, spaceAfter=4),
        "sub": ParagraphStyle("sub", parent=base, fontSize=11, leading=15, textColor=HexColor("#4b5563")),
        "h2": ParagraphStyle("h2", parent=base, fontName=BOLD, fontSize=13, leading=17, spaceBefore=10, spaceAfter=6),
        "note": ParagraphStyle("note", parent=base, fontSize=8, leading=10.5, textColor=HexColor("#92400e")),
        "cell": ParagraphStyle("cell", parent=base, fontSize=7.5, leading=9),
        "kpi_label": ParagraphStyle("kl", parent=base, fontSize=8, textColor=HexColor("#6b7280"), alignment=1),
        "kpi": ParagraphStyle("kv", parent=base, fontName=BOLD, fontSize=15, leading=19, alignment=1),
    }


def _esc(text: str) -> str:
    """Paragraph markup for plain text: XML-escaped, CJK runs in their font (``_runs``)."""
    out = []
    for font, piece in _runs(text):
        piece = piece.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        out.append(piece if font is None else f'<font name="{font}">{piece}</font>')
    return "".join(out)


def _canvas_class(title: str, footer_left: str) -> Any:
    """A canvas that knows the page count at the end, for "Page N of M" (two-pass free)."""
    from reportlab.pdfgen.canvas import Canvas

    class NumberedCanvas(Canvas):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # reportlab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                self._footer(total)
                Canvas.showPage(self)
            Canvas.save(self)

        def _footer(self, total: int) -> None:
            width, _h = self._pagesize
            self.setFont(FONT, 7.5)
            self.setFillGray(0.45)
            self.drawString(40, 22, footer_left)
            self.drawRightString(width - 40, 22, f"Page {self._pageNumber} of {total}")
            if self._pageNumber > 1:
                self.drawString(40, self._pagesize[1] - 26, title)
            self.setStrokeGray(0.85)
            self.line(40, 32, width - 40, 32)

    return NumberedCanvas


def _table(columns: Sequence[Column], rows: Sequence[dict[str, Any]], width: float, *,
           totals: dict[str, Any] | None = None) -> list[Any]:  # fmt: skip
    """A zebra table of the ``in_table`` columns with every row (a report's table is whole: a
    long one runs over pages with its header row repeated); text wraps; numbers right-aligned and
    never wrapped (see :func:`_fit_table`). ``totals`` adds a bold Total row as in the terminal
    table."""
    from reportlab.lib.colors import HexColor, white
    from reportlab.platypus import Paragraph, Table, TableStyle

    st = _styles()
    fit = _fit_table([c for c in columns if c.in_table], rows, totals, width)
    cell = st["cell"].clone("cell_fit", fontSize=fit.size, leading=round(fit.size * 1.2, 2))
    head_style = cell.clone("head", fontName=BOLD, textColor=white)
    head_right = head_style.clone("head_r", alignment=2)
    right = cell.clone("cell_r", alignment=2)
    data = [[Paragraph(_esc(c.header), head_right if n else head_style) for c, n in zip(fit.columns, fit.numeric,
                                                                                         strict=True)]]  # fmt: skip
    rooms = [w - 2 * CELL_PAD - 0.5 for w in fit.widths]  # a hair to spare, as reportlab measures
    for row in fit.texts:
        data.append([(t if fit.numbers_whole else Paragraph(_esc(t), right)) if n
                     else Paragraph(_at_joints(t, room, fit.size), cell)
                     for t, n, room in zip(row, fit.numeric, rooms, strict=True)])  # fmt: skip
    if fit.total_texts is not None:
        bold, bold_right = cell.clone("total", fontName=BOLD), right.clone("total_r", fontName=BOLD)
        data.append([Paragraph(_esc(t), bold_right if n and i else bold)
                     for i, (t, n) in enumerate(zip(fit.total_texts, fit.numeric, strict=True))])  # fmt: skip
    table = Table(data, colWidths=fit.widths, repeatRows=1)
    style = [
        ("BACKGROUND", (0, 0), (-1, 0), HexColor("#1f2937")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("LEFTPADDING", (0, 0), (-1, -1), CELL_PAD),
        ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PAD),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, HexColor("#e5e7eb")),
    ]
    for i, n in enumerate(fit.numeric):  # numbers as plain strings: one line, and half the layout time
        if n:
            style += [
                ("FONTNAME", (i, 1), (i, -1), FONT),
                ("FONTSIZE", (i, 1), (i, -1), fit.size),
                ("LEADING", (i, 1), (i, -1), cell.leading),
                ("ALIGN", (i, 1), (i, -1), "RIGHT"),
            ]
    for i in range(1, len(data)):
        if i % 2 == 0:
            style.append(("BACKGROUND", (0, i), (-1, i), HexColor("#f3f4f6")))
    if fit.total_texts is not None:
        style.append(("LINEABOVE", (0, -1), (-1, -1), 0.8, HexColor("#1f2937")))
    table.setStyle(TableStyle(style))
    out: list[Any] = [table]
    if fit.compact:
        out.append(Paragraph(COMPACT_NOTE, st["note"]))
    if fit.dropped:
        out.append(Paragraph(_esc(DROPPED_NOTE.format(", ".join(fit.dropped))), st["note"]))
    return out


def _at_joints(text: str, room: float, size: float) -> str:
    """Paragraph markup of a text cell, with line breaks after ``-``, ``_``, ``/``, ``.`` or
    ``:`` in each word wider than ``room``, so that a long name wraps at its own joints
    (``member-with-a-long-`` / ``name``) as in the terminal's table; a piece still too wide is
    left for reportlab, which breaks it between letters."""
    if _width(text, FONT, size) <= room:
        return _esc(text)
    words = []
    for word in text.split(" "):
        lines, line = [], ""
        for piece in _JOINTS.findall(word) if _width(word, FONT, size) > room else [word]:
            if line and _width(line + piece, FONT, size) > room:
                lines.append(line)
                line = ""
            line += piece
        words.append("<br/>".join(_esc(part) for part in [*lines, line]))
    return " ".join(words)


@dataclass(frozen=True)
class _Fit:
    """How a table fits the page: the columns kept, their cell texts, font size and widths."""

    columns: list[Column]
    numeric: list[bool]
    texts: list[list[str]]
    total_texts: list[str] | None
    size: float
    widths: list[float]
    compact: bool
    dropped: list[str]
    numbers_whole: bool = True  # False: the numbers alone are wider than the page and wrap


def _fit_table(cols: Sequence[Column], rows: Sequence[dict[str, Any]], totals: dict[str, Any] | None, width: float
               ) -> _Fit:  # fmt: skip
    """The first layout in which every number is whole on one line, as the terminal table
    decides it (``render.table.build_table``): the font steps down from 7.5 to 6.5 pt; then the
    ``narrow_drop`` columns are left out (lowest mark first, the rightmost of a mark first; the
    note lists them as the terminal's does, ``render.formats.dropped_headers``);
    then counts are abbreviated (``1.09M``); then names break inside their words; then the font
    shrinks until the numbers fit. A name too long to stay whole in any layout (see
    :func:`_widths`) breaks from the start: it costs no smaller font, column or digit.
    Only a table whose numbers alone do not fit at the smallest font lets its numbers wrap."""
    shown = list(cols)
    spare = sorted((c for c in cols if c.narrow_drop), key=lambda c: (c.narrow_drop, -list(cols).index(c)))
    gone_columns: list[Column] = []
    dropped: list[str] = []
    while True:
        for size in TABLE_SIZES:
            fit = _try_fit(shown, rows, totals, width, size, compact=False, dropped=dropped)
            if fit is not None:
                return fit
        if not spare:
            break
        gone = spare.pop(0)
        shown.remove(gone)
        gone_columns.append(gone)
        dropped = dropped_headers(cols, gone_columns)
    # abbreviating counts reads better than names broken across lines (as in the terminal)
    size = TABLE_SIZES[-1]
    fit = _try_fit(shown, rows, totals, width, size, compact=True, dropped=dropped)
    while fit is None and size >= LEAST_SIZE:
        fit = _try_fit(shown, rows, totals, width, size, compact=True, dropped=dropped, break_words=True)
        size -= 0.5
    if fit is None:
        fit = _try_fit(shown, rows, totals, width, LEAST_SIZE, compact=True, dropped=dropped, break_words=True,
                       force=True)  # fmt: skip
        assert fit is not None  # forced widths are always given
        if sum(fit.widths) > width + 0.01:  # the numbers alone do not fit: everything shrinks, numbers wrap
            fit = dataclasses.replace(fit, widths=_scaled(fit.widths, width), numbers_whole=False)
    return fit


def _scaled(widths: Sequence[float], width: float) -> list[float]:
    """``widths`` shrunk to ``width`` in proportion to their room above a cell's padding (a
    narrower cell has no room for text at all)."""
    least = 2 * CELL_PAD + 1.0
    room = sum(w - least for w in widths)
    scale = max(0.0, (width - least * len(widths)) / room) if room > 0 else 0.0
    return [least + (w - least) * scale for w in widths]


def _try_fit(cols: Sequence[Column], rows: Sequence[dict[str, Any]], totals: dict[str, Any] | None, width: float,
             size: float, *, compact: bool, dropped: list[str], break_words: bool = False, force: bool = False
             ) -> _Fit | None:  # fmt: skip
    numeric = [c.kind in ("int", "money", "amount", "rate", "pct", "used_pct", "float") for c in cols]
    texts = [[display_cell(r.get(c.key), c.kind, compact=compact and c.abbreviate, cents=c.cents, exact=c.exact) for c in cols]
             for r in rows]  # fmt: skip
    total_texts = None
    if totals is not None and any(c.key in totals for c in cols):  # as the terminal's footer
        total_texts = [
            display_cell(totals[c.key], c.kind, compact=compact and c.abbreviate, cents=c.cents, exact=c.exact) if c.key in totals
            else "Total" if i == 0 else ""
            for i, c in enumerate(cols)
        ]  # fmt: skip
    widths = _widths([c.header for c in cols], texts + ([total_texts] if total_texts else []), numeric, width,
                     size, break_words=break_words, force=force)  # fmt: skip
    if widths is None:
        return None
    return _Fit(list(cols), numeric, texts, total_texts, size, widths, compact, list(dropped))


def _widths(headers: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[bool], width: float,
            size: float, *, break_words: bool = False, force: bool = False) -> list[float] | None:  # fmt: skip
    """Column widths from the content at font ``size``, or None when the numbers would wrap:
    numbers never wrap and keep their width; headers wrap only between words; text columns
    give up room down to their longest word, then wrap, or take what is left over. A column
    whose longest word is wider than ``LONG_WORD`` of the page (a long member or team name)
    breaks that word anyway, so it may narrow down to ``TEXT_FLOOR_EM`` (its header's words
    whole) and wrap there rather than squeeze the numbers; with ``break_words`` every text
    column may. ``force`` squeezes the text columns further and returns the widths instead of
    None, wider than the page if the numbers alone are."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    pad = 2 * CELL_PAD + 1.0
    natural, whole, least = [], [], []
    for i, header in enumerate(headers):
        head = max((_width(w, BOLD, size) for w in header.split()), default=0.0)
        longest = max([head, *(_width(w, BOLD, size) for r in rows for w in r[i].split())])
        body = max((_width(r[i], BOLD, size) for r in rows), default=0.0)
        natural.append(max(longest, body, stringWidth(header, BOLD, size) if numeric[i] else 0.0) + pad)
        whole.append(max(longest, body) + pad)  # a number and each header word on one line
        keep_words = not break_words and longest + pad <= width * LONG_WORD
        least.append(longest + pad if keep_words else min(longest, max(head, TEXT_FLOOR_EM * size)) + pad)
    text_cols = [i for i, n in enumerate(numeric) if not n] or list(range(len(headers)))
    spare = width - sum(natural)
    if spare >= 0:
        for i in text_cols:
            natural[i] += spare / len(text_cols)
        return natural
    # too wide: numeric headers wrap between words, then text columns give up what they have
    # above their floor
    _give(natural, {i: whole[i] for i, n in enumerate(numeric) if n}, sum(natural) - width)
    _give(natural, {i: least[i] for i in text_cols}, sum(natural) - width)
    if sum(natural) <= width + 0.01:
        return natural
    if not force:
        return None
    # numbers whole as long as they alone fit: text columns go down to an em
    _give(natural, {i: pad + size for i, n in enumerate(numeric) if not n}, sum(natural) - width)
    return natural


def _give(widths: list[float], floors: dict[int, float], need: float) -> None:
    """Take up to ``need`` points from the columns of ``floors``, each in proportion to its room
    above its floor."""
    excess = {i: widths[i] - f for i, f in floors.items() if widths[i] > f}
    room = sum(excess.values())
    if need <= 0 or room <= 0:
        return
    give = min(need, room)
    for i, e in excess.items():
        widths[i] -= give * e / room


def _overview_table(lines: Sequence[tuple[str, str, Any]], width: float) -> Any:
    from reportlab.lib.colors import HexColor
    from reportlab.platypus import Paragraph, Table, TableStyle

    st = _styles()
    data = [[Paragraph(_esc(label), st["cell"]), Paragraph(_esc(display_cell(value, overview_kind(key, value))),
             st["cell"])] for key, label, value in lines]  # fmt: skip
    table = Table(data, colWidths=[width * 0.32, width * 0.68])
    table.setStyle(TableStyle([
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, HexColor("#e5e7eb")),
        ("BACKGROUND", (0, 0), (0, -1), HexColor("#f9fafb")),
        ("TOPPADDING", (0, 0), (-1, -1), 3), ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]))  # fmt: skip
    return table


def _kpi_size(values: Sequence[str], room: float) -> float | None:
    """The largest font, from ``KPI_SIZE`` down to ``KPI_LEAST``, at which every value fits
    ``room`` on one line; None if none does."""
    size = KPI_SIZE
    while size >= KPI_LEAST:
        if all(_width(v, BOLD, size) <= room - 0.5 for v in values):  # a hair to spare: no wrap on rounding
            return size
        size -= 0.5
    return None


def _kpis(items: Sequence[tuple[str, str, str]], width: float) -> Any:
    """The headline tiles: (label, exact value, short value) each. The figures are never wrapped:
    the row steps its font down together (tiles of one size read as a set) and keeps the exact
    figures, which match the overview and the tables; only a figure too long even at
    ``KPI_LEAST`` (about 20 digits) takes its short form (``100,000T``)."""
    from reportlab.lib.colors import HexColor
    from reportlab.platypus import Paragraph, Table, TableStyle

    st = _styles()
    room = width / len(items) - 2 * KPI_PAD
    values = [exact for _l, exact, _s in items]
    size = _kpi_size(values, room)
    if size is None:
        size = KPI_LEAST
        values = [e if _width(e, BOLD, size) <= room - 0.5 else short for _l, e, short in items]
    style = st["kpi"].clone("kv_fit", fontSize=size)  # same leading: the tiles keep their height
    row1 = [Paragraph(_esc(value), style) for value in values]
    row2 = [Paragraph(_esc(label), st["kpi_label"]) for label, _e, _s in items]
    table = Table([row1, row2], colWidths=[width / len(items)] * len(items))
    table.setStyle(TableStyle([
        ("LEFTPADDING", (0, 0), (-1, -1), KPI_PAD), ("RIGHTPADDING", (0, 0), (-1, -1), KPI_PAD),
        ("BOX", (0, 0), (-1, -1), 0.5, HexColor("#d1d5db")),
        ("LINEAFTER", (0, 0), (-2, -1), 0.5, HexColor("#d1d5db")),
        ("BACKGROUND", (0, 0), (-1, -1), HexColor("#eff6ff")),
        ("TOPPADDING", (0, 0), (-1, 0), 8), ("BOTTOMPADDING", (0, -1), (-1, -1), 8),
    ]))  # fmt: skip
    return table


def _notes(notes: Sequence[str]) -> list[Any]:
    from reportlab.platypus import Paragraph

    return [Paragraph(_esc(n), _styles()["note"]) for n in notes]


def _section_block(title: str, columns: Sequence[Column], rows: Sequence[dict[str, Any]], width: float,
                   intro: str | None = None, totals: dict[str, Any] | None = None) -> list[Any]:  # fmt: skip
    from reportlab.platypus import CondPageBreak, KeepTogether, Paragraph

    st = _styles()
    out: list[Any] = [Paragraph(_esc(title), st["h2"])]
    if intro:
        out.append(Paragraph(_esc(intro), st["body"]))
    if rows:
        out.extend(_table(columns, rows, width, totals=totals))
    elif not intro:
        out.append(Paragraph("Nothing in this period.", st["body"]))
    if len(rows) <= KEEP_TOGETHER_ROWS:  # a short table is not split over two pages
        return [KeepTogether(out)]
    return [CondPageBreak(120), *out]


def _chart_block(title: str, drawing: Any) -> list[Any]:
    from reportlab.platypus import KeepTogether, Paragraph

    return [KeepTogether([Paragraph(_esc(title), _styles()["h2"]), drawing])]


def _doc(path: Path, title: str) -> Any:
    from reportlab.lib.pagesizes import A4
    from reportlab.platypus import SimpleDocTemplate

    return SimpleDocTemplate(str(path), pagesize=A4, leftMargin=40, rightMargin=40, topMargin=40, bottomMargin=44,
                             title=title, author="usagectl")  # fmt: skip


def _extra_block(report: Report, width: float) -> list[Any]:
    out = _section_block(report.title, report.columns, report.rows, width)
    for sec in report.sections:
        out += _section_block(sec.title, sec.columns, sec.rows, width)
    return out + _notes(report.notes)


def write_month_pdf(data: PdfReport, path: Path) -> None:
    """The month report (see the module docstring); written to ``path``."""
    from reportlab.platypus import Paragraph, Spacer

    from usagectl.render import charts

    _fonts()
    st = _styles()
    doc = _doc(path, data.title)
    width = doc.width
    month, team = data.month, data.team
    ov = {k: v for k, _l, v in month.overview}
    totals = month.totals
    story: list[Any] = [
        Paragraph(_esc(data.title), st["title"]),
        Paragraph(_esc(f"Period: {data.period}"), st["sub"]),
        Paragraph(_esc(f"Generated {data.generated:%Y-%m-%d %H:%M} UTC by usagectl"), st["sub"]),
        Spacer(1, 12),
        _kpis(_kpi_items(totals, ov.get("projected_cost_usd")), width),
        Spacer(1, 10),
        Paragraph("Overview", st["h2"]),
        _overview_table(month.overview, width),
        Spacer(1, 6),
        *_notes(month.notes),
    ]
    labels = [str(r["date"].day) if hasattr(r["date"], "day") else str(r["date"]) for r in month.rows]
    story += _chart_block("Daily cost (USD)", charts.daily_bars(labels, [r.get("cost_usd") for r in month.rows],
                                                                width, FONT))  # fmt: skip
    models = _find(month, "models")
    model_rows = models.rows if models else ()
    pie_items = [(str(r["model"]), r["cost_usd"]) for r in model_rows if r.get("cost_usd") is not None]
    story += _chart_block("Model distribution (share of cost)", charts.share_pie(pie_items, width, FONT))
    teams = _find(team, "teams")
    team_rows = teams.rows if teams else ()
    story += _chart_block(
        "Cost by team (shared cost allocated)",
        charts.horizontal_bars([(str(r["team"]), r.get("cost_usd")) for r in team_rows], width, FONT),
    )
    if models:
        story += _section_block("Per model", models.columns, models.rows, width, totals=_model_totals(totals))
    if teams:
        story += _section_block("Per team", teams.columns, teams.rows, width)
    story += _section_block("Per member", team.columns, team.rows, width)
    centers = _find(team, "cost_centers")
    if centers:
        story += _section_block("Cost centers", centers.columns, centers.rows, width)
    if data.budgets is not None:  # the intro: as of a past range's end, or a month not begun
        story += _section_block("Budgets vs actual", data.budgets.columns, data.budgets.rows, width,
                                intro=data.budgets_intro)  # fmt: skip
    else:
        story += _section_block("Budgets vs actual", (), (), width, intro="No budgets are configured.")
    story += _notes([n for n in team.notes if n not in month.notes])
    for extra in data.extras:
        story += _extra_block(extra, width)
    story += _section_block(
        "Daily breakdown",
        month.columns,
        month.rows,
        width,
        totals=totals,
    )
    doc.build(story, canvasmaker=_canvas_class(data.title, f"usagectl · {data.period}"))


def _kpi_items(totals: dict[str, Any], projected: Any) -> list[tuple[str, str, str]]:
    """Page 1's tiles: (label, exact, short); a count's short form (``100,000T``) is for a
    figure whose exact form does not fit a tile even at ``KPI_LEAST``."""
    cost, tokens, requests = totals.get("cost_usd"), totals.get("total_tokens"), totals.get("requests")
    projected_text = format_money(projected) if projected is not None else "–"
    return [
        ("Total cost", format_money(cost), format_money(cost)),
        ("Tokens", format_int(tokens), format_compact(tokens)),
        ("Requests", format_int(requests), format_compact(requests)),
        ("Projected cost", projected_text, projected_text),
    ]


def _find(report: Report, key: str) -> Section | None:
    return next((s for s in report.sections if s.key == key), None)


def _model_totals(totals: dict[str, Any]) -> dict[str, Any]:
    return {"total_tokens": totals.get("total_tokens"), "cost_usd": totals.get("cost_usd"),
            "requests": totals.get("requests"), "unpriced_requests": totals.get("unpriced_requests"),
            "token_share_pct": Decimal(100) if totals.get("total_tokens") else None,
            "cost_share_pct": Decimal(100) if totals.get("cost_usd") else None}  # fmt: skip


def write_report_pdf(report: Report, path: Path) -> None:
    """Any Report as a PDF: title, filters (as the terminal shows them), overview panel, the
    table with its Total row, its sections, notes."""
    from reportlab.platypus import Paragraph, Spacer

    _fonts()
    st = _styles()
    doc = _doc(path, report.title)
    width = doc.width
    story: list[Any] = [Paragraph(_esc(report.title), st["title"]), Paragraph(_esc(filters_text(report.filters)),
                        st["sub"]), Spacer(1, 10)]  # fmt: skip
    if report.overview:
        story += [Paragraph("Overview", st["h2"]), _overview_table(report.overview, width)]
    story += _section_block(report.title if not report.overview else "Details", report.columns, report.rows, width,
                            totals=report.totals)  # fmt: skip
    for sec in report.sections:
        story += _section_block(sec.title, sec.columns, sec.rows, width)
    story += _notes(report.notes)
    doc.build(story, canvasmaker=_canvas_class(report.title, f"usagectl · {report.name}"))
