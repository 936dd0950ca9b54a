"""The human summary of an import, written to stderr (stdout stays for data).

Without colour (stderr not a terminal: cron, CI, a pipe) the lines are written as plain text,
without Rich: importing it costs an import ~45 ms, as much as printing its 12k-file JSON.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from rich.cells import cell_len

from usagectl.models import FileImportResult, ImportSummary, counted, printable
from usagectl.render.formats import color_wanted, format_int

if TYPE_CHECKING:
    from rich.text import Text

MAX_FILE_LINES = 10
MAX_WARNING_LINES = 20
REJECTS_HINT = "rejected records are kept with file, line and reason (usagectl db rejects)"

# a line as (text, style) pieces: plain text joins them, Rich styles them
Line = list[tuple[str, str]]


def totals_line(summary: ImportSummary) -> str:
    """``Imported 1,234 events from 3 files (records 1,300, duplicates 50, rejected 16) in 0.42 s``
    (``replaced N`` after the duplicates when a re-fetch replaced stored records: records =
    imported + duplicates + replaced + rejected; the lead then says ``… and N replacements``,
    since those records are stored too). Provider cost reports are billed cost lines,
    not events, and are counted as such (``Imported 3 cost lines``, ``… 10 events and 3 cost lines``)."""
    replaced = f", replaced {format_int(summary.replaced)}" if summary.replaced else ""
    # records that replaced stored ones are stored too: not "Imported 0 events" for a re-fetch
    parts = [*_what(summary), *([counted(summary.replaced, "replacement")] if summary.replaced else [])]
    what = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
    return (
        f"Imported {what} from {counted(sum(1 for f in summary.files if not f.folder), 'file')} "
        f"(records {format_int(summary.records)}, duplicates {format_int(summary.duplicates)}{replaced}, "
        f"rejected {format_int(summary.rejected)}) in {summary.seconds:.2f} s"
    )


def _what(summary: ImportSummary) -> list[str]:
    """What was stored: events, cost lines, or both (each counted)."""
    lines = summary.imported_cost_lines
    events = counted(summary.imported - lines, "event")
    only_lines = bool(summary.files) and all(f.stored_as == "cost lines" for f in summary.files)
    if not lines and not only_lines:
        return [events]
    cost_lines = counted(lines, "cost line")
    return [cost_lines] if only_lines else [events, cost_lines]


def _file_lines(files: list[FileImportResult]) -> list[Line]:
    """Aligned per-file lines; never wrapped by us (a long path is left to the terminal)."""
    if not files:
        return []
    paths = [printable(f.path) for f in files]  # a file name can hold control characters too
    path_w = max(cell_len(p) for p in paths)
    counted = [f for f in files if not f.skipped_unchanged and not f.error]

    def width(attr: str) -> int:
        return max((len(format_int(getattr(f, attr))) for f in counted), default=0)

    w = {a: width(a) for a in ("records", "imported", "duplicates", "replaced", "rejected")}
    any_replaced = any(f.replaced for f in counted)
    lines = []
    for f, path in zip(files, paths, strict=True):
        line = [(path + " " * (path_w - cell_len(path)), "")]
        if f.error:
            line.append(("  not imported: could not be read", "red"))
        elif f.skipped_unchanged:
            line.append(("  unchanged", "dim"))
        else:
            line.append((f"  {format_int(f.records):>{w['records']}} records", ""))
            line.append((f"  {format_int(f.imported):>{w['imported']}} imported", ""))
            line.append((f"  {format_int(f.duplicates):>{w['duplicates']}} duplicates", ""))
            if any_replaced:
                line.append((f"  {format_int(f.replaced):>{w['replaced']}} replaced", ""))
            line.append((f"  {format_int(f.rejected):>{w['rejected']}} rejected", "yellow" if f.rejected else ""))
        lines.append(line)
    return lines


def _quiet_files(files: list[FileImportResult]) -> str:
    """The line for many files of which none has anything to show (no rejects, warnings or errors)."""
    unchanged = sum(1 for f in files if f.skipped_unchanged)
    if unchanged == len(files):
        return f"{counted(len(files), 'file')}, all unchanged since their last import"
    also = f" ({format_int(unchanged)} unchanged)" if unchanged else ""
    return f"{counted(len(files), 'file')}{also}, none with rejects or warnings (--json lists each file)"


def _text(line: Line) -> Text:
    from rich.text import Text

    text = Text()
    for piece, style in line:
        text.append(piece, style=style)
    return text


def file_lines(files: list[FileImportResult]) -> list[Text]:
    """The per-file lines as Rich text (styled)."""
    return [_text(line) for line in _file_lines(files)]


def render_import_summary(summary: ImportSummary, err: TextIO, *, color: bool | None = None) -> None:
    """One line per file (when there are at most 10; otherwise only the files with rejects or
    warnings), each file's warnings and notes, the totals line, and a hint when anything was rejected."""
    files = summary.files
    shown = files if len(files) <= MAX_FILE_LINES else [f for f in files if f.rejected or f.warnings or f.error]
    hidden = len(files) - len(shown[:MAX_FILE_LINES])
    lines = _file_lines(shown[:MAX_FILE_LINES])
    if len(files) > MAX_FILE_LINES and hidden:
        lines.append([(f"… and {counted(hidden, 'more file')}" if shown else _quiet_files(files), "dim")])
    # warnings quote the input (a CSV header, a column name): shown printable, never raw
    warnings = [printable(f"warning: {f.path}: {w}") for f in files for w in f.warnings]
    lines.extend([(warning, "yellow")] for warning in warnings[:MAX_WARNING_LINES])
    if len(warnings) > MAX_WARNING_LINES:
        more = len(warnings) - MAX_WARNING_LINES
        lines.append([(f"… and {counted(more, 'more warning')}", "yellow")])
    notes = [printable(f"note: {f.path}: {n}") for f in files for n in f.notes]
    lines.extend([(note, "dim")] for note in notes[:MAX_WARNING_LINES])
    if len(notes) > MAX_WARNING_LINES:
        lines.append([(f"… and {counted(len(notes) - MAX_WARNING_LINES, 'more note')}", "dim")])
    lines.append([(totals_line(summary), "bold")])
    if summary.rejected:
        lines.append([(REJECTS_HINT, "yellow")])
    if not (color_wanted(err) if color is None else color):
        err.write("".join("".join(piece for piece, _ in line) + "\n" for line in lines))
        return
    from usagectl.render.table import make_console

    console = make_console(err, color=True)
    for line in lines:
        console.print(_text(line), soft_wrap=True)
