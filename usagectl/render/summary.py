"""The human summary of an import, written to stderr (stdout stays for data)."""

from __future__ import annotations

from typing import TextIO

from rich.cells import cell_len
from rich.text import Text

from usagectl.models import FileImportResult, ImportSummary
from usagectl.render.formats import format_int
from usagectl.render.table import make_console

MAX_FILE_LINES = 10
MAX_WARNING_LINES = 20
REJECTS_HINT = "rejected records are kept with file, line and reason (usagectl db rejects)"


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{format_int(n)} {word if n == 1 else (plural or word + 's')}"


def totals_line(summary: ImportSummary) -> str:
    """``Imported 1,234 events from 3 files (records 1,300, duplicates 50, rejected 16) in 0.42 s``
    (``replaced N`` after the duplicates when a re-fetch replaced stored records: records =
    imported + duplicates + replaced + rejected)."""
    replaced = f", replaced {format_int(summary.replaced)}" if summary.replaced else ""
    return (
        f"Imported {_plural(summary.imported, 'event')} from {_plural(len(summary.files), 'file')} "
        f"(records {format_int(summary.records)}, duplicates {format_int(summary.duplicates)}{replaced}, "
        f"rejected {format_int(summary.rejected)}) in {summary.seconds:.2f} s"
    )


def file_lines(files: list[FileImportResult]) -> list[Text]:
    """Aligned per-file lines; never wrapped by us (a long path is left to the terminal)."""
    if not files:
        return []
    path_w = max(cell_len(f.path) for f in files)
    counted = [f for f in files if not f.skipped_unchanged and not f.error]

    def width(attr: str) -> int:
        return max((len(format_int(getattr(f, attr))) for f in counted), default=0)

    w = {a: width(a) for a in ("records", "imported", "duplicates", "replaced", "rejected")}
    any_replaced = any(f.replaced for f in counted)
    lines = []
    for f in files:
        line = Text(f.path + " " * (path_w - cell_len(f.path)))
        if f.error:
            line.append("  not imported: could not be read", style="red")
        elif f.skipped_unchanged:
            line.append("  unchanged", style="dim")
        else:
            line.append(f"  {format_int(f.records):>{w['records']}} records")
            line.append(f"  {format_int(f.imported):>{w['imported']}} imported")
            line.append(f"  {format_int(f.duplicates):>{w['duplicates']}} duplicates")
            if any_replaced:
                line.append(f"  {format_int(f.replaced):>{w['replaced']}} replaced")
            line.append(
                f"  {format_int(f.rejected):>{w['rejected']}} rejected",
                style="yellow" if f.rejected else "",
            )
        lines.append(line)
    return lines


def render_import_summary(summary: ImportSummary, err: TextIO, *, color: bool | None = None) -> None:
    """One line per file (when there are at most 10; otherwise only the files with rejects or
    warnings), each file's warnings, the totals line, and a hint when anything was rejected."""
    console = make_console(err, color=color)
    files = summary.files
    shown = files if len(files) <= MAX_FILE_LINES else [f for f in files if f.rejected or f.warnings or f.error]
    hidden = len(files) - len(shown[:MAX_FILE_LINES])
    shown = shown[:MAX_FILE_LINES]
    for line in file_lines(shown):
        console.print(line, soft_wrap=True)
    if len(files) > MAX_FILE_LINES and hidden:
        console.print(Text(f"… and {_plural(hidden, 'more file')}", style="dim"), soft_wrap=True)
    warnings = [f"warning: {f.path}: {w}" for f in files for w in f.warnings]
    for warning in warnings[:MAX_WARNING_LINES]:
        console.print(Text(warning, style="yellow"), soft_wrap=True)
    if len(warnings) > MAX_WARNING_LINES:
        more = len(warnings) - MAX_WARNING_LINES
        console.print(Text(f"… and {_plural(more, 'more warning')}", style="yellow"), soft_wrap=True)
    console.print(Text(totals_line(summary), style="bold"), soft_wrap=True)
    if summary.rejected:
        console.print(Text(REJECTS_HINT, style="yellow"), soft_wrap=True)
