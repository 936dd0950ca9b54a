"""`usagectl export`: CSV, JSON, JSONL, Parquet, FinOps FOCUS and PDF exports."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any, BinaryIO, TextIO, cast

import typer

from usagectl.cli._options import (
    ConfigOpt,
    CostCenterOpt,
    DbOpt,
    DepartmentOpt,
    FeatureOpt,
    IntegrationOpt,
    MemberOpt,
    ModelOpt,
    PlatformOpt,
    ProjectOpt,
    ProviderOpt,
    SinceOpt,
    TeamOpt,
    ToolOpt,
    TzOpt,
    UntilOpt,
    month_label,
    month_span,
    print_notes,
    say,
    text_value,
    where_from,
    with_month,
)
from usagectl.errors import UsageError, os_reason, unwritable

if TYPE_CHECKING:
    from usagectl.models import Report
    from usagectl.services.context import AppContext
    from usagectl.services.export import ExportSummary
    from usagectl.services.reports import ReportRequest

Flag = Annotated[bool, typer.Option(show_default=False)]
# text, not a Path: pathlib drops the trailing "/" of "reports/", which names a folder (``_out_target``)
OutOpt = Annotated[
    str | None,
    typer.Option(
        "--out",
        "-o",
        metavar="PATH",
        help="Write here (a folder with --partition-by); default or '-': stdout (text formats only). "
        "Without a format option the file's extension chooses it (.csv .json .jsonl .parquet .pdf).",
    ),
]
ReportOpt = Annotated[
    str | None,
    typer.Option(
        "--report",
        metavar="events|daily|monthly|month|by-model|by-member|team|cost-centers|invoice",
        help="What to export (default: events; month for --pdf).",
        show_default=False,
    ),
]
PartitionOpt = Annotated[
    str | None, typer.Option("--partition-by", metavar="month", help="Parquet events: a Hive folder month=YYYY-MM/.")
]
MonthOpt = Annotated[
    str | None,
    typer.Option(
        "--month", metavar="YYYY-MM", help="A calendar month: the month of --report month and invoice, else the range."
    ),
]
MemoryOpt = Annotated[
    str | None,
    typer.Option(
        "--memory-limit",
        help="DuckDB memory limit of an events export [default: 512MB].",
        show_default=False,
        callback=text_value("--memory-limit"),
    ),
]


def export(
    csv: Annotated[bool, typer.Option("--csv", help="CSV (RFC 4180, UTF-8); the default.")] = False,
    json: Annotated[bool, typer.Option("--json", help="JSON document (the report contract).")] = False,
    jsonl: Annotated[bool, typer.Option("--jsonl", help="One JSON object per row.")] = False,
    parquet: Annotated[bool, typer.Option("--parquet", help="Typed Parquet (needs --out).")] = False,
    focus: Annotated[bool, typer.Option("--focus", help="FinOps FOCUS 1.3 cost and usage (CSV, or .parquet --out).")] = False,
    pdf: Annotated[bool, typer.Option("--pdf", help="PDF report with charts (needs --out).")] = False,
    out_given: OutOpt = None,
    report: ReportOpt = None,
    partition_by: PartitionOpt = None,
    month: MonthOpt = None,
    memory_limit: MemoryOpt = None,
    since: SinceOpt = None, until: UntilOpt = None, tz: TzOpt = None,
    model: ModelOpt = None, provider: ProviderOpt = None, member: MemberOpt = None, team: TeamOpt = None,
    department: DepartmentOpt = None,
    cost_center: CostCenterOpt = None, project: ProjectOpt = None, feature: FeatureOpt = None, tool: ToolOpt = None,
    integration: IntegrationOpt = None, platform: PlatformOpt = None,
    db: DbOpt = None, config: ConfigOpt = None,
) -> None:  # fmt: skip
    """Export events or a report: CSV, JSON, JSONL, Parquet, FinOps FOCUS or a PDF with charts."""
    from usagectl.services import export as svc
    from usagectl.services.context import make_context
    from usagectl.services.reports import ReportRequest

    chosen = [n for n, on in (("csv", csv), ("json", json), ("jsonl", jsonl), ("parquet", parquet),
                              ("focus", focus), ("pdf", pdf)) if on]  # fmt: skip
    if len(chosen) > 1:
        raise UsageError(f"choose one format, not {' and '.join('--' + c for c in chosen)}")
    fmt = _format_for(chosen[0] if chosen else None, out_given)
    name = svc.check_choice(report, svc.REPORTS, "--report") or ("month" if fmt == "pdf" else "events")
    out = _out_target(out_given, fmt, partitioned=partition_by is not None)
    if fmt in svc.BINARY_FORMATS and out is None:
        raise UsageError(f"--{fmt} writes a binary file: give --out FILE", hint=f"usagectl export --{fmt} --out FILE")
    if partition_by is not None and not (fmt == "parquet" and name == "events"):
        raise UsageError("--partition-by is for --parquet --report events")
    if fmt == "focus" and report is not None:
        raise UsageError("--focus exports cost and usage rows; it takes no --report")
    asked = None  # a --month that made the range: said in the JSON's filters (``with_month``)
    if month is not None and name not in ("month", "invoice"):  # another report, events or FOCUS: its range
        since, until = month_span(month, since, until)  # (QA: --report team --month was refused)
        asked, month = month, None
    where = where_from(model=model, provider=provider, member=member, team=team, department=department,
                       cost_center=cost_center,
                       project=project, feature=feature, tool=tool, integration=integration, platform=platform)  # fmt: skip
    ctx = make_context(config, db)
    if out is not None:
        svc.refuse_own_files(ctx, out)
    req = ReportRequest(since=since, until=until, tz=tz, where=where)
    summary: ExportSummary | None = None
    if fmt == "focus":
        _focus(ctx, req, out)
    elif fmt == "pdf":
        assert out is not None
        _pdf(ctx, req, name, month, out)
    elif name == "events":
        if fmt == "parquet" and partition_by is not None:
            assert out is not None
            summary = svc.events_parquet(ctx, req, out, partition_by=partition_by, memory_limit=memory_limit)
        elif fmt == "parquet":
            assert out is not None
            with _staged(out, by_duckdb=True) as part:
                summary = svc.events_parquet(ctx, req, part, memory_limit=memory_limit)
            summary = replace(summary, path=out)
        else:
            with _bytes_out(out) as raw:
                notes = _events_text(ctx, req, fmt, raw, memory_limit, _target(out), asked)
            print_notes(notes)  # once the file is in place
    else:
        result = with_month(svc.build_report(ctx, name, req, month), asked)
        if fmt == "parquet":
            assert out is not None
            with _staged(out, by_duckdb=True) as part:
                summary = replace(svc.report_parquet(result, part), path=out)
        else:
            with _text_out(out) as stream:
                _report_text(result, fmt, stream)
    if summary is not None:
        cost = "" if summary.cost_usd is None else f", priced cost ${summary.cost_usd:,.6f}"
        from usagectl.models import counted

        say(f"wrote {counted(summary.rows, 'row')} to {summary.path}{cost}")
        print_notes(summary.notes)


# what an --out file's extension names, when no format option is given
_BY_SUFFIX = {".csv": "csv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet",
              ".pq": "parquet", ".pdf": "pdf"}  # fmt: skip
_NAMES = {"csv": "CSV", "json": "JSON", "jsonl": "JSONL", "parquet": "Parquet", "pdf": "PDF"}


def _format_for(flag: str | None, out: str | None) -> str:
    """The format to write: the option given, else the one ``--out``'s extension names, else
    CSV. An option whose output the extension contradicts (``--csv --out x.parquet``) is
    refused: the file would not be what its name says (FOCUS is CSV or Parquet, by the name)."""
    suffix = _BY_SUFFIX.get(Path(out).suffix.lower()) if out not in (None, "-") else None
    if flag is None:
        return suffix or "csv"
    fits = suffix is None or suffix == flag or (flag == "focus" and suffix in ("csv", "parquet"))
    if not fits:
        assert out is not None and suffix is not None
        raise UsageError(
            f"--{flag} does not write {_NAMES[suffix]}, which --out {out} names by its extension",
            hint=f"drop --{flag} to write {_NAMES[suffix]}, or give --out a name that fits --{flag}",
        )
    return flag


def _out_target(raw: str | None, fmt: str, *, partitioned: bool) -> Path | None:
    """``--out`` checked before any work: ``-`` is stdout (None) for the text formats, and a
    file's folder must exist (the export would fail only at its end, after the queries). A
    missing folder is a usage error (exit 2): exit 4 is for an input that cannot be read.

    A name ending in ``/`` (or ``/.``) is a folder: one that does not exist is said so, as for
    a file in it (pathlib drops the ``/``, and ``--out reports/`` wrote a FILE named reports: QA);
    one that exists is refused by the writer as a directory. A partitioned export creates its
    folder."""
    from usagectl.services.export import BINARY_FORMATS

    if raw is None:
        return None
    if not raw.strip():  # ``--out "$FILE"`` with FILE unset named the current folder (QA)
        raise UsageError("--out: empty")
    if raw == "-":
        if fmt in BINARY_FORMATS:
            raise UsageError(f"--out - is stdout; --{fmt} writes a binary file: give --out FILE")
        return None
    out = Path(raw)
    if partitioned:
        return out
    if os.path.basename(raw) in ("", ".") and not out.is_dir():
        raise UsageError(f"--out {raw}: folder {out} does not exist")
    if not out.parent.is_dir():
        raise UsageError(f"--out {out}: folder {out.parent} does not exist")
    return out


@contextmanager
def _text_out(out: Path | None) -> Iterator[TextIO]:
    """stdout, or a file written next to its target and renamed into place when complete."""
    if out is None:
        yield sys.stdout
        return
    with _file_out(out, binary=False) as fh:
        yield cast("TextIO", fh)


@contextmanager
def _bytes_out(out: Path | None) -> Iterator[BinaryIO]:
    """The binary side of ``_text_out`` (events text is written as UTF-8 bytes by DuckDB)."""
    if out is None:
        sys.stdout.flush()
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    with _file_out(out, binary=True) as fh:
        yield cast("BinaryIO", fh)


@contextmanager
def _staged(out: Path, *, by_duckdb: bool = False) -> Iterator[Path]:
    """The path to write a binary export (Parquet, PDF) to: a file next to ``out``, renamed into
    place once the export has finished and removed when it fails or is interrupted (Ctrl-C),
    so ``out`` is either the complete result or left as it was. ``by_duckdb``: the writer is
    DuckDB, which opens only UTF-8 names; a Latin-1 ``--out`` (QA: "unexpected error:
    InvalidInputException … surrogate") gets a UTF-8 name for its part file (the byte shown as
    ``\\xe9``), and a Latin-1 folder is reached through a link (``folder_for_duckdb``); the rename
    into place gives the file the name given."""
    from usagectl.errors import shown_bytes
    from usagectl.services.export import folder_for_duckdb

    if out.is_dir():
        raise UsageError(f"--out {out} is a directory; give a file name")
    target = _regular_target(out)
    part = target.with_name(f".{shown_bytes(target.name) if by_duckdb else target.name}.part")
    try:
        part.open("wb").close()  # the folder takes a new file (before the writer: its own errors say less)
        if by_duckdb:
            with folder_for_duckdb(part.parent, out) as folder:
                yield folder / part.name
        else:
            yield part
        os.replace(part, target)
    except OSError as exc:  # named as given: the .part file beside it is ours, not the user's
        # also what DuckDB could not write of a Parquet file (``store.export._copy``)
        what, where = f"--out {out} cannot be written", f" (in {target.parent})"
        raise unwritable(what, exc, where) or UsageError(f"{what}: {exc.strerror or exc}{where}") from exc
    finally:
        # on a read-only file system even removing a file that is not there fails (EROFS)
        with suppress(OSError):
            part.unlink(missing_ok=True)


def _regular_target(out: Path) -> Path:
    """The file an export replaces: ``out``, or the file a symlink ``out`` points to (written
    through the link, which stays). A device, pipe or socket is refused: renaming the finished
    file over it would replace it (as root, a node in /dev) and its reader would get nothing."""
    import stat

    target = Path(os.path.realpath(out)) if out.is_symlink() else out
    try:
        mode = target.stat().st_mode
    except OSError:
        return target  # a new file (or one the rename will say it cannot write)
    if not stat.S_ISREG(mode):
        raise UsageError(
            f"--out {out} is not a regular file (a device, pipe or socket): give a file name, "
            "or leave out --out to write a text format to stdout"
        )
    return target


@contextmanager
def _file_out(out: Path, *, binary: bool) -> Iterator[IO[Any]]:
    """``out`` opened for a streamed export, written through ``_staged`` (whole or not at all)."""
    with _staged(out) as part:
        try:
            fh = part.open("wb") if binary else part.open("w", encoding="utf-8", newline="")
        except OSError as exc:
            raise UsageError(f"--out {out} cannot be written: {os_reason(exc)}") from exc
        with fh:
            yield fh


class _JsonRows:
    """Turns JSONL bytes into the rows of a JSON array: ``\n`` before the first row, ``,\n``
    between rows; the last line break is held back for the closing ``\n]``."""

    def __init__(self, out: BinaryIO) -> None:
        self.out, self.first, self.held = out, True, False

    def write(self, data: bytes) -> int:
        if not data:
            return 0
        self.out.write(b"\n" if self.first else b",\n" if self.held else b"")
        self.first = False
        self.held = data.endswith(b"\n")
        self.out.write((data[:-1] if self.held else data).replace(b"\n", b",\n"))
        return len(data)


def _target(out: Path | None) -> str:
    """What an export's messages call its output."""
    return "the export to standard output" if out is None else f"--out {out}"


def _events_text(
    ctx: AppContext, req: ReportRequest, fmt: str, stream: BinaryIO, memory_limit: str | None, target: str,
    month: str | None = None,
) -> tuple[str, ...]:  # fmt: skip
    """Write the events as ``fmt`` to ``stream``; the notes on them (unpriced events), for stderr.
    ``target`` names the output in an error (``_target``); ``month``, the ``--month`` that made
    the range (in the JSON's filters)."""
    from usagectl.render.text import json_dumps
    from usagectl.services import export as svc

    if fmt in ("csv", "jsonl"):
        return svc.events_text(ctx, req, fmt, stream, memory_limit=memory_limit, target=target).notes
    # one JSON document, streamed: the JSONL rows inside, totals counted by the store; the
    # filters are the range the rows cover (every stored event without --since/--until)
    flt = svc.events_filters(ctx, req)
    filters = flt.as_dict() | ({"month": month_label(month)} if month is not None else {})
    head = '{"report": "events", "filters": ' + json_dumps(filters, indent=None)
    stream.write((head + ', "rows": [').encode("utf-8"))
    rows = cast("BinaryIO", _JsonRows(stream))
    res = svc.events_text(ctx, req, "jsonl", rows, memory_limit=memory_limit, flt=flt, target=target)
    totals = {"events": res.events, "cost_usd": res.cost_usd, "unpriced_events": res.unpriced_events}
    stream.write(('\n], "totals": ' + json_dumps(totals, indent=None) + "}\n").encode("utf-8"))
    return res.notes


def _report_text(result: Report, fmt: str, stream: TextIO) -> None:
    from usagectl.render import OutputFormat, render_report
    from usagectl.render.text import json_dumps, report_to_jsonable

    if fmt == "jsonl":
        for row in report_to_jsonable(result)["rows"]:
            stream.write(json_dumps(row, indent=None) + "\n")
    else:
        render_report(result, OutputFormat.CSV if fmt == "csv" else OutputFormat.JSON, stream)
    print_notes(tuple(result.notes))


def _focus(ctx: AppContext, req: ReportRequest, out: Path | None) -> None:
    from usagectl.render import OutputFormat, render_report
    from usagectl.services import focus as svc
    from usagectl.services.reports import build_filters

    result = svc.focus_export(ctx, req)
    if out is not None and out.suffix.lower() in (".parquet", ".pq"):
        with _staged(out, by_duckdb=True) as part:
            n = svc.write_parquet(result, part)
        say(f"wrote {n:,} FOCUS rows to {out}, BilledCost ${result.total_cost:,.6f}")
    else:
        with _text_out(out) as stream:
            render_report(svc.as_report(result, build_filters(ctx, req).as_dict()), OutputFormat.CSV, stream)
    print_notes(tuple(result.notes))


def _pdf(ctx: AppContext, req: ReportRequest, name: str, month: str | None, out: Path) -> None:
    from usagectl.render import pdf as render
    from usagectl.services import export as svc

    if out.is_dir():
        raise UsageError(f"--out {out} is a directory; give a file name")
    if name == "events":
        raise UsageError(
            "a PDF (--pdf, or an --out ending .pdf) draws a report: --report month (default), daily, monthly, "
            "by-model, ... not events"
        )
    if name == "month":
        from usagectl.services.optimize import optimize_report
        from usagectl.services.pdf_report import month_pdf_data, month_request

        # the month in progress: its savings from the days so far (the days to come hold no usage yet)
        opportunities = optimize_report(ctx, month_request(ctx, req, month), through_today=True)
        data = month_pdf_data(ctx, req, month, opportunities=opportunities)
        with _staged(out) as part:
            render.write_month_pdf(data, part)
    else:
        result = svc.build_report(ctx, name, req, month)
        with _staged(out) as part:
            render.write_report_pdf(result, part)
    say(f"wrote {out}")


def register(root: typer.Typer) -> None:
    """Add the root command `export`."""
    root.command("export", help="Export events or a report: CSV, JSON, JSONL, Parquet, FOCUS, PDF with charts.")(export)
