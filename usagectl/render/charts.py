# mypy: disable-error-code="import-untyped"
"""Charts for the PDF, drawn by ``reportlab.graphics.charts`` (imported inside functions).

Each function returns a reportlab ``Drawing`` (a flowable) sized to ``width`` points. Money
arrives as Decimal and is converted to float only here, for the drawing's coordinates; every
number printed next to a chart is formatted from the Decimal.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

PALETTE = ("#2563eb", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#06b6d4", "#84cc16", "#9ca3af")
AXIS_FONT = 7


def _color(i: int) -> Any:
    from reportlab.lib.colors import HexColor

    return HexColor(PALETTE[i % len(PALETTE)])


def _nice_max(value: float) -> float:
    """An axis maximum a reader likes: 1, 2, 2.5 or 5 × 10^n above ``value``."""
    if value <= 0:
        return 1.0
    import math

    exp = math.floor(math.log10(value))
    for step in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        top = step * 10**exp
        if top >= value * 1.04:
            return float(top)
    return float(10 ** (exp + 1))


def _money_axis(value: float) -> str:
    """Axis label: whole dollars when the value is whole, else cents (``$0``, ``$15``, ``$2.50``)."""
    if value >= 10_000:
        return f"${value / 1000:,.0f}k"
    if abs(value - round(value)) < 1e-9:
        return f"${value:,.0f}"
    return f"${value:,.2f}"


def daily_bars(labels: Sequence[str], values: Sequence[Decimal | None], width: float, font: str, height: float = 170
               ) -> Any:  # fmt: skip
    """Cost per day as vertical bars; every label is a day of the month, thinned to fit."""
    from reportlab.graphics.charts.barcharts import VerticalBarChart
    from reportlab.graphics.shapes import Drawing

    data = [float(v or 0) for v in values] or [0.0]
    d = Drawing(width, height)
    chart = VerticalBarChart()
    chart.x, chart.y = 42, 28
    chart.width, chart.height = width - 54, height - 40
    chart.data = [data]
    chart.bars[0].fillColor = _color(0)
    chart.bars[0].strokeColor = None
    chart.barSpacing = 1
    chart.groupSpacing = 2
    top = _nice_max(max(data))
    chart.valueAxis.valueMin, chart.valueAxis.valueMax = 0, top
    chart.valueAxis.valueStep = top / 4
    chart.valueAxis.labelTextFormat = _money_axis
    chart.valueAxis.labels.fontName, chart.valueAxis.labels.fontSize = font, AXIS_FONT
    chart.valueAxis.gridStrokeColor = _grey()
    chart.valueAxis.visibleGrid = True
    every = max(1, -(-len(labels) // 16))  # at most ~16 labels: no overlap on A4
    chart.categoryAxis.categoryNames = [lab if i % every == 0 else "" for i, lab in enumerate(labels)] or [""]
    chart.categoryAxis.labels.fontName, chart.categoryAxis.labels.fontSize = font, AXIS_FONT
    chart.categoryAxis.labels.dy = -2
    chart.categoryAxis.tickShift = 0
    d.add(chart)
    return d


def _grey() -> Any:
    from reportlab.lib.colors import HexColor

    return HexColor("#e5e7eb")


def share_pie(items: Sequence[tuple[str, Decimal]], width: float, font: str, height: float = 160) -> Any:
    """Cost share as a pie with a legend beside it (label, amount and share); no labels on the
    slices, so small slices never overlap. ``items`` are (label, amount), largest first; past 6
    they are folded into "Other"."""
    from reportlab.graphics.charts.legends import Legend
    from reportlab.graphics.charts.piecharts import Pie
    from reportlab.graphics.shapes import Drawing, String

    items = [(k, v) for k, v in items if v and v > 0]
    if len(items) > 7:
        rest = sum((v for _k, v in items[6:]), Decimal(0))
        items = items[:6] + [(f"Other ({len(items) - 6})", rest)]
    d = Drawing(width, height)
    if not items:
        d.add(String(width / 2, height / 2, "no priced cost", fontName=font, fontSize=9, textAnchor="middle"))
        return d
    total = sum((v for _k, v in items), Decimal(0))
    pie = Pie()
    size = min(height - 20, 140)
    pie.x, pie.y, pie.width, pie.height = 10, (height - size) / 2, size, size
    pie.data = [float(v) for _k, v in items]
    pie.labels = None
    pie.slices.strokeColor = None
    pie.slices.strokeWidth = 0.5
    for i in range(len(items)):
        pie.slices[i].fillColor = _color(i)
    d.add(pie)
    legend = Legend()
    legend.x, legend.y = size + 34, height - 16
    legend.fontName, legend.fontSize = font, 8
    legend.alignment = "right"
    legend.deltay = 14
    legend.columnMaximum = 8
    legend.colorNamePairs = [
        (_color(i), f"{_short(k, 34)}  ${v:,.2f}  ({v * 100 / total:.1f}%)") for i, (k, v) in enumerate(items)
    ]
    d.add(legend)
    return d


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def horizontal_bars(items: Sequence[tuple[str, Decimal | None]], width: float, font: str) -> Any:
    """Cost per group (e.g. team) as horizontal bars, largest on top; height grows with rows."""
    from reportlab.graphics.charts.barcharts import HorizontalBarChart
    from reportlab.graphics.shapes import Drawing, String

    from usagectl.render.pdf import label_font

    items = [(k, v) for k, v in items if v is not None][:12]
    height = 36 + 18 * max(1, len(items))
    d = Drawing(width, height)
    if not items:
        d.add(String(width / 2, height / 2, "no priced cost", fontName=font, fontSize=9, textAnchor="middle"))
        return d
    items = list(reversed(items))  # the chart draws the first category at the bottom
    label_w = min(150, 12 + 5 * max(len(_short(k, 26)) for k, _v in items))
    chart = HorizontalBarChart()
    chart.x, chart.y = label_w, 22
    chart.width, chart.height = width - label_w - 60, height - 30
    data = [float(v or 0) for _k, v in items]
    chart.data = [data]
    chart.bars[0].fillColor = _color(2)
    chart.bars[0].strokeColor = None
    top = _nice_max(max(data))
    chart.valueAxis.valueMin, chart.valueAxis.valueMax, chart.valueAxis.valueStep = 0, top, top / 4
    chart.valueAxis.labelTextFormat = _money_axis
    chart.valueAxis.labels.fontName, chart.valueAxis.labels.fontSize = font, AXIS_FONT
    chart.valueAxis.visibleGrid = True
    chart.valueAxis.gridStrokeColor = _grey()
    chart.categoryAxis.categoryNames = [_short(k, 26) for k, _v in items]
    chart.categoryAxis.labels.fontName, chart.categoryAxis.labels.fontSize = font, 8
    for i, name in enumerate(chart.categoryAxis.categoryNames):  # a CJK team name in a CJK font
        chart.categoryAxis.labels[i].fontName = label_font(name, font)
    chart.barLabelFormat = lambda v: _money_axis(v) if v >= 10 else f"${v:,.2f}"
    chart.barLabels.fontName, chart.barLabels.fontSize = font, 7
    chart.barLabels.boxAnchor, chart.barLabels.dx = "w", 3
    d.add(chart)
    return d
