"""Presentation only: reports and summaries to table (Rich), JSON, CSV and Markdown.

Rich is imported only when a table or a human summary is drawn, so ``--format json``
does not pay for it. See :mod:`usagectl.render.formats` for the rounding rules and
:mod:`usagectl.render.text` for the JSON money form.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO, assert_never

from usagectl.models import ImportSummary, Report
from usagectl.render.formats import OutputFormat, format_int, format_money, format_pct
from usagectl.render.text import json_dumps, write_csv, write_json, write_markdown

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "OutputFormat",
    "format_int",
    "format_money",
    "format_pct",
    "json_dumps",
    "make_console",
    "render_import_summary",
    "render_report",
]


def render_report(
    report: Report,
    fmt: OutputFormat,
    out: TextIO,
    *,
    width: int | None = None,
    color: bool | None = None,
) -> None:
    """Write ``report`` to ``out`` in ``fmt``. ``width``/``color`` only matter for TABLE.

    CSV uses ``\\r\\n`` line endings (RFC 4180): open files with ``newline=""``.
    """
    fmt = OutputFormat(fmt)
    match fmt:
        case OutputFormat.TABLE:
            from usagectl.render.table import render_table

            render_table(report, out, width=width, color=color)
        case OutputFormat.JSON:
            write_json(report, out)
        case OutputFormat.CSV:
            write_csv(report, out)
        case OutputFormat.MARKDOWN:
            write_markdown(report, out)
        case _:
            assert_never(fmt)


def render_import_summary(summary: ImportSummary, err: TextIO, *, color: bool | None = None) -> None:
    """Human summary of an import on ``err`` (stderr): per-file lines, totals, rejects hint."""
    from usagectl.render.summary import render_import_summary as _render

    _render(summary, err, color=color)


def make_console(stream: TextIO, *, width: int | None = None, color: bool | None = None) -> Console:
    """A Rich Console that respects NO_COLOR, has no colour off a TTY, and soft wrap off."""
    from usagectl.render.table import make_console as _make

    return _make(stream, width=width, color=color)
