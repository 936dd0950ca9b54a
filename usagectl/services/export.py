"""`usagectl export`: which rows an export holds, and the typed writes that need the store.

* ``--report events``: one row per event, formatted and written by DuckDB (``COPY``): CSV or
  JSONL (``events_text``), or Parquet (``events_parquet``), optionally Hive-partitioned by month.
* Every other ``--report`` is an existing report service (``build_report``); its rows go to
  CSV/JSON/JSONL through the renderers, or to typed Parquet (``report_parquet``).
* FOCUS is in ``usagectl.services.focus``, the PDF's data in ``usagectl.services.pdf_report``.

Money stays Decimal: DECIMAL(38,12) in Parquet, fixed 6 decimals in event CSV (half-even).
"""

from __future__ import annotations

import dataclasses
import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO, cast

from usagectl.errors import OutOfMemory, OutputError, UsageError, os_reason, ran_out_of_memory, shown_bytes, unwritable
from usagectl.models import Column, Filters, Report, counted
from usagectl.services.context import AppContext
from usagectl.services.reports import ReportRequest, build_filters
from usagectl.timeutil import day_start_utc

REPORTS = ("events", "daily", "monthly", "month", "by-model", "by-member", "team", "cost-centers", "invoice")
FORMATS = ("csv", "json", "jsonl", "parquet", "focus", "pdf")
BINARY_FORMATS = ("parquet", "pdf")
PARTITIONS = ("month",)

# column kind of the store's export columns -> the render kind of a Column
_RENDER_KIND = {"str": "str", "int": "int", "money": "money", "exact": "money_exact", "ts": "str", "json": "str"}
# render kind -> Parquet (DuckDB) type of a report column: every kind of ``models.Column``
# (``amount`` is money where None means "not applicable"); a column whose values are all
# True/False (a report's ``spike`` flag, kind int) is BOOLEAN whatever its kind
_REPORT_TYPES = {"int": "BIGINT", "money": "DECIMAL(38,12)", "amount": "DECIMAL(38,12)", "rate": "DECIMAL(38,12)",
                 "pct": "DECIMAL(38,6)", "used_pct": "DECIMAL(38,6)", "float": "DOUBLE", "date": "DATE",
                 "str": "VARCHAR"}  # fmt: skip


@dataclass(frozen=True)
class ExportSummary:
    """What an export to a file wrote (for the stderr summary)."""

    path: Path
    rows: int
    cost_usd: Decimal | None = None
    unpriced_rows: int = 0
    notes: tuple[str, ...] = ()


def check_choice(value: str | None, choices: tuple[str, ...], option: str) -> str | None:
    if value is None:
        return None
    norm = value.strip().lower().replace("_", "-")
    if norm not in choices:
        raise UsageError(f"{option}: unknown value {value!r}; choose from {', '.join(choices)}")
    return norm


def refuse_own_files(ctx: AppContext, out: Path) -> None:
    """Refuse an ``--out`` that is a file this command reads: the database (payments live only
    there), its WAL, or the config file. The export would replace it with its rows and the data
    stored before would be lost. Compared after resolving relative paths and symlinks, and by
    inode when both exist (a hard link names the same file too)."""
    own = [("the database in use", ctx.db_path), ("the WAL of the database in use", Path(f"{ctx.db_path}.wal"))]
    if ctx.config.path is not None:
        own.append(("the config file in use", ctx.config.path))
    target = os.path.realpath(out)
    for what, path in own:
        if target == os.path.realpath(path) or _same_file(out, path):
            raise UsageError(
                f"--out {out} is {what} ({path}): the export would overwrite it", hint="give another --out file"
            )


def _utf8_temp_folder() -> None:
    """An export spills to, and writes its runs in, the temporary folder (TMPDIR) through DuckDB,
    which takes only UTF-8 folder names: one that is not UTF-8 failed in DuckDB as an "unexpected
    error" (exit 1; QA). A usage error naming it instead (exit 2, as any other TMPDIR that an
    export cannot write)."""
    folder = tempfile.gettempdir()
    if not _is_utf8(folder):
        raise UsageError(
            f"the temporary folder {shown_bytes(folder)} (TMPDIR) has a name that is not UTF-8, and DuckDB "
            "writes an export's temporary files only under UTF-8 names",
            hint="set TMPDIR to a folder whose name is UTF-8, e.g. TMPDIR=/tmp",
        )


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@contextmanager
def folder_for_duckdb(folder: Path, out: Path) -> Iterator[Path]:
    """``folder`` under a name DuckDB can open. DuckDB takes file names as UTF-8 text only: a
    Latin-1 ``--out`` failed in its COPY as "unexpected error: InvalidInputException …
    surrogate" (QA: ``export --parquet --out eJos\\xe9.parquet``; CSV, JSONL and PDF, written by
    Python, take any name). A UTF-8 path is itself. Any other is reached through a symlink in a
    private temporary folder (mode 0700, a UTF-8 name): DuckDB writes in ``folder`` itself, on its
    file system (the caller's rename into place stays atomic), and the link is removed after. An
    OSError names ``folder``'s path, not the link's. Where no such link can be made (a temporary
    folder whose name is not UTF-8 either, or a file system without symlinks): a usage error
    naming ``out``, the ``--out`` given."""
    if _is_utf8(str(folder)):
        yield folder
        return
    holder = _link_to(folder)
    if holder is None:
        raise UsageError(
            f"--out {shown_bytes(out)}: its name is not UTF-8, and DuckDB writes Parquet only to UTF-8 file names",
            hint="give --out a name that is UTF-8 (or export --csv or --jsonl, which take any name)",
        )
    link = Path(holder) / _LINK
    try:
        yield link
    except OSError as exc:
        if isinstance(exc.filename, str) and exc.filename.startswith(str(link)):
            exc.filename = str(folder) + exc.filename[len(str(link)) :]
        raise
    finally:
        shutil.rmtree(holder, ignore_errors=True)  # the link only: rmtree does not follow it


_LINK = "out"


def _link_to(folder: Path) -> str | None:
    """A new private temporary folder holding ``_LINK``, a symlink to ``folder``, when the
    link's path is UTF-8; None (and nothing left behind) when it cannot be made so."""
    try:
        holder = tempfile.mkdtemp(prefix="usagectl-out-")
    except OSError:
        return None
    link = os.path.join(holder, _LINK)
    try:
        if _is_utf8(link):
            os.symlink(os.path.abspath(folder), link, target_is_directory=True)
            return holder
    except OSError:
        pass
    shutil.rmtree(holder, ignore_errors=True)
    return None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # either does not exist (yet): not the same file
        return False


@contextmanager
def _within_memory_limit(memory_limit: str | None) -> Iterator[None]:
    """DuckDB running out of memory under the export's limit, said as such: a ``--memory-limit``
    the user gave is too small for this export (exit 2); the default one (512MB) is an
    ``OutOfMemory`` naming it (exit 1). Both suggest a larger ``--memory-limit``."""
    from usagectl.store.export import DEFAULT_MEMORY_LIMIT

    try:
        yield
    except Exception as exc:
        if not ran_out_of_memory(exc):
            raise
        if memory_limit is not None:
            raise UsageError(
                f"--memory-limit {memory_limit} is too small for this export: DuckDB ran out of memory",
                hint=f"run again with a larger --memory-limit (the default is {DEFAULT_MEMORY_LIMIT})",
            ) from None
        raise OutOfMemory(
            f"the export ran out of memory under its default limit of {DEFAULT_MEMORY_LIMIT}",
            hint="run again with a larger --memory-limit, e.g. --memory-limit 2GB",
        ) from None


def event_columns() -> tuple[Column, ...]:
    """The per-event export columns, in their stable order (header of CSV, keys of JSONL)."""
    from usagectl.store.export import EVENT_EXPORT_COLUMNS

    return tuple(Column(name, name, cast(Any, _RENDER_KIND[kind])) for name, _e, _t, kind in EVENT_EXPORT_COLUMNS)


@dataclass(frozen=True)
class EventTotals:
    """What an events text export held: rows, priced cost (exact, None if nothing priced),
    unpriced rows and the notes on them (``unpriced_event_notes``)."""

    events: int
    cost_usd: Decimal | None = None
    unpriced_events: int = 0
    notes: tuple[str, ...] = ()


def unpriced_event_notes(con: Any, flt: Filters, unpriced_events: int) -> tuple[str, ...]:
    """The notes of an event export with ``unpriced_events`` events that have no price: their
    ``cost_usd`` is empty, and the models (and causes) they are, as every report names them.
    The models are looked up (one more scan) only when there are such events."""
    if not unpriced_events:
        return ()
    from usagectl.services.reports import _unpriced_notes
    from usagectl.store import reports as q

    one = unpriced_events == 1
    said = (
        f"{counted(unpriced_events, 'event')} {'is' if one else 'are'} unpriced: "
        f"{'its' if one else 'their'} cost_usd is empty (null), never 0."
    )
    return (said, *_unpriced_notes(q.unpriced(con, flt)))


def events_text(
    ctx: AppContext,
    req: ReportRequest,
    fmt: str,
    out: BinaryIO,
    *,
    memory_limit: str | None = None,
    chunk_events: int | None = None,
    flt: Filters | None = None,
    target: str = "the export",
) -> EventTotals:
    """Write the per-event rows (``event_columns``), sorted by ts then event_id, to ``out`` as
    ``csv`` (a header, then RFC 4180 rows, CRLF, formula-looking text neutralised, money fixed
    to 6 places half-even) or ``jsonl`` (one ``json_dumps(row, indent=None)`` object per line).

    DuckDB formats and writes every row (``COPY``) to a private temp folder, one sorted run of
    UTC days at a time; each run is appended to ``out`` and deleted, so memory follows
    ``memory_limit`` and disk one run. Default range: every stored event (``events_filters``;
    ``flt``, when given, is what it returned for ``req``). The totals cost one more scan
    (``count_events``): the unpriced events are noted for every format. A run that cannot be
    written (the temporary folder's disk full, a file size limit) is an ``OutputError`` naming
    ``target`` (``--out FILE``, or the export to standard output) and the folder; a failure
    writing ``out`` is the caller's to name."""
    from usagectl.store import export as store
    from usagectl.store import reports as q
    from usagectl.store.connection import connect

    if fmt not in store.TEXT_FORMATS:
        raise UsageError(f"events text export: unknown format {fmt!r}")
    flt = flt or events_filters(ctx, req)
    rows = 0
    with (
        connect(ctx.db_path, read_only=True) as con,
        tempfile.TemporaryDirectory(prefix="usagectl-export-") as tmp,
        _within_memory_limit(memory_limit),
    ):
        _utf8_temp_folder()
        try:
            store.tune(con, memory_limit or store.DEFAULT_MEMORY_LIMIT)
        except ValueError as exc:
            raise UsageError(f"--memory-limit: {exc}") from None
        q.prepare_session(con, ctx.pricebook(), ctx.config.members, flt)
        if fmt == "csv":  # the header once; the runs have none
            out.write((",".join(store.EVENT_EXPORT_NAMES) + "\r\n").encode("utf-8"))
        runs = _runs_in(store.copy_event_runs(con, flt, fmt, Path(tmp), chunk_events or store.CHUNK_EVENTS), target)
        to_person = fmt == "csv" and _is_terminal(out)  # a file or a pipe gets the exact text
        for path, n in runs:
            with path.open("rb") as fh:
                if to_person:
                    _copy_printable(fh, out)
                else:
                    shutil.copyfileobj(fh, out, 1 << 20)
            path.unlink()
            rows += n
        counts = store.count_events(con, flt)
        notes = unpriced_event_notes(con, flt, counts["unpriced_rows"])
    return EventTotals(rows, counts["cost_usd"], counts["unpriced_rows"], notes)


def _runs_in(runs: Iterator[tuple[Path, int]], target: str) -> Iterator[tuple[Path, int]]:
    """``runs`` (``store.copy_event_runs``), a run that cannot be written said as what it is to
    the user: ``target`` cannot be written for want of room (or under a limit) in the temporary
    folder (TMPDIR), which may be on another disk than the output. Its DuckDB error was taken
    for a write of the database (QA: "database …: the file grew past a file size limit", exit 3,
    for ``export --csv --out f.csv`` under ``ulimit -f``)."""
    try:
        yield from runs
    except OSError as exc:
        folder = Path(exc.filename).parent.parent if exc.filename else Path(tempfile.gettempdir())
        what = f"{target} cannot be written"
        where = f", writing its rows first to a temporary file in {folder}"
        known = unwritable(what, exc, where)
        if known is not None and exc.errno == errno.ENOSPC:
            known.hint = "free some space there (or set TMPDIR to a folder on another disk) and run the command again"
        raise known or OutputError(f"{what}: {exc.strerror or exc}{where}") from exc


def _is_terminal(out: BinaryIO) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def _copy_printable(fh: BinaryIO, out: BinaryIO) -> None:
    """A CSV run as a terminal may show it (read by a person, as ``render.text.write_csv``
    writes a report's CSV there): every record's control characters escaped (``\\x1b``), its
    CRLF kept. JSONL needs nothing: JSON writes them escaped (``\\u001b``)."""
    from usagectl.models import printable

    for line in (raw.decode("utf-8", "surrogateescape") for raw in fh):
        body, end = (line[:-2], "\r\n") if line.endswith("\r\n") else (line, "")
        out.write((printable(body) + end).encode("utf-8", "surrogateescape"))


def events_filters(ctx: AppContext, req: ReportRequest) -> Filters:
    """The filters of an events export: without --since/--until it holds every stored event (a
    backup), also those dated before 2000 or after today (a report's default range would leave
    them out without a word: QA); a range given bounds it as a report's does. Its ``since`` and
    ``until`` are the range the export covers, what the header of ``--json`` says (it said the
    report's default ``until``, today, above rows dated after it: QA)."""
    from zoneinfo import ZoneInfo

    from usagectl.config import effective_timezone
    from usagectl.store import export as store
    from usagectl.store.connection import connect

    with connect(ctx.db_path, read_only=True) as con:
        span = store.event_span(con)
    if span is None:
        return build_filters(ctx, req)
    zone = ZoneInfo(effective_timezone(req.tz, ctx.config))
    first, last = (t.astimezone(zone).date() for t in span)
    today = build_filters(ctx, dataclasses.replace(req, since=None, until=None)).until
    return build_filters(ctx, req, default=(min(first, date(2000, 1, 1)), max(last, today)))


def events_parquet(
    ctx: AppContext, req: ReportRequest, out: Path, *, partition_by: str | None = None, memory_limit: str | None = None
) -> ExportSummary:
    """COPY the per-event rows to Parquet (TIMESTAMPTZ ts, BIGINT counts, DECIMAL(38,12) money);
    with ``partition_by="month"`` ``out`` is a folder of ``month=YYYY-MM/`` parts (months in the
    report's zone). Memory is bounded by ``memory_limit`` (default 512MB; running out of it is
    a clear error, ``_within_memory_limit``). A partitioned export
    that fails or is interrupted (Ctrl-C) leaves ``out`` as it found it (absent, or an empty
    folder); a single file is written by the caller to a temporary name (``cli.export._staged``)."""
    partition = check_choice(partition_by, PARTITIONS, "--partition-by")
    if partition is None and out.is_dir():
        raise UsageError(f"--out {out} is a directory; give a file name, or use --partition-by month")
    if partition is not None and out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"--out {out} exists; --partition-by writes a new folder (remove it or pick another name)")
    flt = events_filters(ctx, req)
    was_empty_folder = out.is_dir()
    if partition is not None:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"--out {out} cannot be written: {os_reason(exc)}") from exc
    try:
        # a folder the file system names in Latin-1 is written through a UTF-8 link (``folder_for_duckdb``);
        # a single file's name is the caller's (``cli.export._staged`` hands over one DuckDB can open)
        with folder_for_duckdb(out, out) if partition is not None else nullcontext(out) as where:
            rows, counts = _copy_parquet(ctx, flt, where, partition, memory_limit, shown=out)
    except BaseException as exc:  # failed or interrupted (Ctrl-C): no half-written folder of parts
        if partition is None:
            raise  # a file: the caller named it (``cli.export._staged``)
        shutil.rmtree(out, ignore_errors=True)
        if was_empty_folder:
            out.mkdir(exist_ok=True)
        if isinstance(exc, OSError):  # a part (or its month= folder) that could not be written
            what = f"--out {out} cannot be written"
            raise unwritable(what, exc, f", writing {exc.filename}" if exc.filename else "") or UsageError(
                f"{what}: {os_reason(exc)}"
            ) from exc
        raise
    return ExportSummary(out, rows, counts["cost_usd"], counts["unpriced_rows"], counts["notes"])


def _copy_parquet(
    ctx: AppContext, flt: Filters, out: Path, partition: str | None, memory_limit: str | None, *, shown: Path
) -> tuple[int, dict[str, Any]]:
    """COPY the rows to ``out`` (one file, or one part per ``partition`` value); the rows written
    and the totals read back from the files. ``shown``: what a note calls ``out`` (the --out
    given, which ``out`` may reach through a link: ``folder_for_duckdb``)."""
    from usagectl.store import export as store
    from usagectl.store import reports as q
    from usagectl.store.connection import connect

    with connect(ctx.db_path, read_only=True) as con, _within_memory_limit(memory_limit):
        _utf8_temp_folder()
        try:
            store.tune(con, memory_limit or store.DEFAULT_MEMORY_LIMIT)
        except ValueError as exc:
            raise UsageError(f"--memory-limit: {exc}") from None
        q.prepare_session(con, ctx.pricebook(), ctx.config.members, flt)
        files: list[Path] = [out]
        empty: tuple[str, ...] = ()
        if partition is None:
            rows = store.copy_events_parquet(con, flt, out)
        else:
            rows, files = 0, []
            for value, _n in store.event_partitions(con, flt, partition):
                folder = out / f"{partition}={value}"
                folder.mkdir(parents=True, exist_ok=True)
                files.append(folder / "data_0.parquet")
                rows += store.copy_events_parquet(con, _month_slice(flt, value), files[-1])
            if not files:
                # nothing selected: an empty folder is no table (DuckDB finds no file, `import`
                # refuses it: QA), so one file of 0 rows with the columns, as an unpartitioned
                # export writes; no month holds it, so it has no month= folder
                files.append(out / "data_0.parquet")
                rows += store.copy_events_parquet(con, flt, files[-1])
                empty = (f"no {partition} holds events: {shown} holds one file of 0 rows with the columns "
                         f"(data_0.parquet, in no {partition}= folder)",)  # fmt: skip
        totals = store.written_totals(con, files)
        return rows, totals | {"notes": empty + unpriced_event_notes(con, flt, totals["unpriced_rows"])}


def _month_slice(flt: Filters, month: str) -> Filters:
    """``flt`` narrowed to one calendar month (YYYY-MM) in its zone."""
    year, mon = (int(x) for x in month.split("-"))
    first = date(year, mon, 1)
    nxt = date(year + mon // 12, mon % 12 + 1, 1)
    start = max(flt.start, day_start_utc(first, flt.tz))
    end = min(flt.end, day_start_utc(nxt, flt.tz))
    return dataclasses.replace(flt, start=start, end=end)


def build_report(ctx: AppContext, report: str, req: ReportRequest, month: str | None = None) -> Report:
    """The Report behind ``--report NAME`` (not ``events``); ``month`` is for month and invoice."""
    name = check_choice(report, REPORTS, "--report")
    if month is not None and name not in ("month", "invoice"):
        raise UsageError(f"--month is for --report month or invoice, not {name}")
    match name:
        case "daily" | "monthly":
            from usagectl.services.timeseries import periodic

            return periodic(ctx, req, "day" if name == "daily" else "month")
        case "month":
            from usagectl.services.reports import month as month_report

            return month_report(ctx, req, month)
        case "by-model" | "by-member":
            from usagectl.services.breakdowns import breakdown

            return breakdown(ctx, req, [name.removeprefix("by-")])
        case "team":
            from usagectl.services.team import team

            return team(ctx, req)
        case "cost-centers":
            return cost_centers(ctx, req)
        case "invoice":
            from usagectl.services.invoice import InvoiceRequest, invoice

            if req.since or req.until:
                raise UsageError("--report invoice covers one month: use --month YYYY-MM, not --since/--until")
            return invoice(ctx, InvoiceRequest(month=month, tz=req.tz, where=dict(req.where), now=req.now))
        case _:
            raise UsageError(f"--report {name}: per-event rows are streamed, not a report")


def cost_centers(ctx: AppContext, req: ReportRequest) -> Report:
    """Cost-center allocations: the team report's cost-center level, shared cost (usage with no
    member) allocated to the cost centers (default: the current month)."""
    from usagectl.services.team import team

    full = team(ctx, req, by="cost_center")
    section = next(s for s in full.sections if s.key == "cost_centers")
    return Report(
        name="cost-centers",
        title=full.title.replace("Team usage", "Cost-center allocations"),
        filters=full.filters,
        columns=section.columns,
        rows=section.rows,
        totals=full.totals,
        overview=full.overview,
        notes=full.notes,
    )


def report_parquet(report: Report, out: Path) -> ExportSummary:
    """A report's main rows as one typed Parquet file (DECIMAL money, DATE dates, BIGINT counts).

    Columns whose values do not fit their kind (e.g. a folded "(other)" label) are written as text."""
    from usagectl.store.export import write_parquet_table

    if out.is_dir():
        raise UsageError(f"--out {out} is a directory; give a file name")
    columns = [(c.key, _parquet_type(c.kind, [r.get(c.key) for r in report.rows])) for c in report.columns]
    rows = [[_plain(r.get(c.key)) for c in report.columns] for r in report.rows]
    n = write_parquet_table(out, columns, rows)
    return ExportSummary(out, n, report.totals.get("cost_usd"), notes=report.notes)


def _parquet_type(kind: str, values: list[Any]) -> str:
    """The Parquet type of a report column of ``kind`` holding ``values`` (``_REPORT_TYPES``)."""
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return "BOOLEAN"
    duck = _REPORT_TYPES.get(kind, "VARCHAR")
    return duck if all(_fits(v, kind) for v in present) else "VARCHAR"


def _fits(value: Any, kind: str) -> bool:
    if kind == "str":
        return True
    if kind == "date":
        return hasattr(value, "isoformat") and not isinstance(value, str)
    if kind == "int":  # a BIGINT: a whole number only (a Decimal 2.5 would be rounded)
        if isinstance(value, Decimal):
            return value.is_finite() and value == value.to_integral_value()
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, (int, Decimal, float)) and not isinstance(value, bool)


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple, set)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        import json

        return json.dumps(value, default=str)
    return value
