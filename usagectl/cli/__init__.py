"""Root of the command line: wiring of the sub-apps and the one error handler."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from typer.core import TyperGroup

from usagectl import __version__, termination
from usagectl.cli import db as db_cmd
from usagectl.cli import demo as demo_cmd
from usagectl.cli import ingest as ingest_cmd
from usagectl.cli import pricing as pricing_cmd
from usagectl.cli import report as report_cmd
from usagectl.errors import (
    ExitCode,
    Interrupted,
    OutOfMemory,
    UsagectlError,
    UsageError,
    ran_out_of_memory,
    shown_bytes,
    unwritable,
    was_interrupted,
)
from usagectl.models import printable


def _reader_gone() -> None:
    """stdout's reader went away (`| head`, `| true`): the usual Unix behaviour is a quiet
    success, so `set -o pipefail` scripts pass. stdout is pointed at /dev/null so that what is
    still buffered has somewhere to go when the interpreter flushes it at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _flush_stdout() -> None:
    """Flush stdout before exiting: a closed pipe found only here (a short output that stayed
    in the buffer) is then quiet too, instead of Python's "Exception ignored" and exit 120."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _reader_gone()


def report_error(exc: UsagectlError) -> int:
    """Print an expected failure on stderr (no traceback) and return its exit code. The one
    place every error is printed: what it quotes of an input file (a header, a value, a file
    name) is shown ``printable`` (a control character as ``\\x1b``), never sent to the terminal."""
    if os.environ.get("USAGECTL_DEBUG"):
        import traceback

        traceback.print_exception(exc, file=sys.stderr)
    if isinstance(exc, Interrupted):  # Ctrl-C or SIGTERM: not an error to look into
        print(f"usagectl: {printable(termination.describe(exc.message))}", file=sys.stderr)
        return termination.exit_code()
    print(f"usagectl: error: {printable(exc.message)}", file=sys.stderr)
    if exc.hint:
        print(f"hint: {printable(exc.hint)}", file=sys.stderr)
    return int(exc.exit_code)


_T = TypeVar("_T")


def _names_a_file(param: Any) -> bool:
    """Whether a parameter is a file name (``import PATH``, ``source add PATH``, ``--db``,
    ``--config``, ``--out``: a path type, or the PATH metavar every path option is shown with).
    A file name is bytes to the system: one in Latin-1 is a real file, opened by those bytes
    (``export --out`` writes it; ``import`` and ``source add`` refuse it with their own message)."""
    return param.metavar == "PATH" or getattr(param.type, "name", None) == "path"


def _not_utf8(text: str) -> bool:
    """Whether ``text`` holds a byte of the command line that is not UTF-8: Python decodes argv
    with ``surrogateescape``, so such a byte is a lone surrogate, which no UTF-8 text can hold."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _as_typed(text: str) -> str:
    """``text`` with each byte that is not UTF-8 shown as ``\\xe9``: the bytes given, as
    ``import`` shows a file name that is not UTF-8."""
    try:
        return shown_bytes(text)
    except UnicodeEncodeError:  # a surrogate that is no escaped byte: ``printable`` shows it
        return printable(text)


def _shown_name(param: Any) -> str:
    """An option by its long name (``--member``), an argument as the usage line shows it
    (``SCOPE``, ``MODEL``), as the other messages about a value name them (``DATE: 'x' is not
    a date``)."""
    if param.param_type_name == "option":
        return str(max(param.opts, key=len))
    return str(param.metavar or param.name.upper())


def _refuse_text_not_utf8(ctx: Any) -> None:
    """A text value of the command line that is not UTF-8 (``--member $'Jos\\xe9'`` from a Latin-1
    crontab) is a usage error naming the option or argument and the value. It reached DuckDB,
    the config file or the terminal, which all need UTF-8, and failed there as an "unexpected
    error" (exit 1; QA). File names are let through (``_names_a_file``)."""
    for param in ctx.command.get_params(ctx):
        if param.name is None or _names_a_file(param):
            continue
        value = ctx.params.get(param.name)
        for text in value if isinstance(value, list | tuple) else (value,):
            if isinstance(text, str) and _not_utf8(text):
                raise UsageError(
                    f"{_shown_name(param)}: '{_as_typed(text)}' is not UTF-8 text",
                    hint="the command line is read as UTF-8: save the script or crontab that holds the value as "
                    "UTF-8 (e.g. iconv -f latin1 -t utf-8)",
                )


class _TextCheckedContext(typer.Context):
    """The context of every command: before a command (or group) runs, the text values Click
    parsed for it are checked once, in one place for all ~80 commands (``_refuse_text_not_utf8``)."""

    def invoke(self, callback: Callable[..., _T], /, *args: Any, **kwargs: Any) -> _T:
        _refuse_text_not_utf8(self)
        return super().invoke(callback, *args, **kwargs)


def _check_text_values(command: Any) -> None:
    """Give ``command`` and every command below it ``_TextCheckedContext``: Click makes each
    level's context with that level's own ``context_class``, which is not inherited."""
    command.context_class = _TextCheckedContext
    for sub in getattr(command, "commands", {}).values():
        _check_text_values(sub)


class _RootGroup(TyperGroup):
    """Maps every UsagectlError raised by any command to its documented exit code, and Ctrl-C
    (however DuckDB surfaced it) to one "interrupted" line and exit 130 (SIGTERM: 143)."""

    def invoke(self, ctx):  # type: ignore[no-untyped-def]
        from usagectl.config import reset_warnings
        from usagectl.store.closing import deferred_closes

        reset_warnings()
        _check_text_values(self)
        try:
            with deferred_closes():
                return super().invoke(ctx)
        except UsagectlError as exc:
            raise typer.Exit(report_error(exc)) from None
        except BrokenPipeError:
            # caught here, before Click's own handler turns a closed pipe into exit 1
            _reader_gone()
            raise typer.Exit(int(ExitCode.OK)) from None
        except (Exception, KeyboardInterrupt) as exc:
            if not was_interrupted(exc):
                raise
            raise typer.Exit(report_error(Interrupted("interrupted"))) from exc


app = typer.Typer(
    cls=_RootGroup,
    name="usagectl",
    help="Where your LLM tokens and money go: import usage logs, price them exactly, report.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"usagectl {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    """usagectl: local-first LLM usage and cost reports."""


app.command("import", help="Import canonical event files (JSONL, CSV, Parquet) or directories.")(ingest_cmd.import_cmd)
app.command("demo", help="Generate a realistic demo dataset, import it and show the month overview.")(demo_cmd.demo)
app.add_typer(report_cmd.app, name="report")
app.add_typer(db_cmd.app, name="db")
app.add_typer(pricing_cmd.app, name="pricing")
from usagectl.cli import budget as budget_cmd  # noqa: E402

app.add_typer(budget_cmd.app, name="budget")
from usagectl.cli import notify as notify_cmd  # noqa: E402

app.command("notify", help="Deliver due webhook events (budgets, summaries, anomalies, invoices).")(notify_cmd.notify)
from usagectl.cli import reconcile as reconcile_cmd  # noqa: E402

app.command("reconcile", help="Computed vs billed cost (imported cost reports) per UTC day and model.")(
    reconcile_cmd.reconcile
)
from usagectl.cli import source as source_cmd  # noqa: E402
from usagectl.cli import sync as sync_cmd  # noqa: E402

app.add_typer(source_cmd.app, name="source")
app.command("sync", help="Import what is new in the registered sources (unchanged files cost a stat).")(sync_cmd.sync)
from usagectl.cli import dedup as dedup_cmd  # noqa: E402
from usagectl.cli import report as _report  # noqa: E402

_report.app.command("duplicates", help="Per import batch: records dropped as duplicates, and by which rule.")(
    dedup_cmd.duplicates
)
# wiring: analytics breakdowns and time
from usagectl.cli import team as team_cmd  # noqa: E402

team_cmd.register(app)
from usagectl.cli import billing as billing_cmd  # noqa: E402

billing_cmd.register(app)
from usagectl.cli import export as export_cmd  # noqa: E402

export_cmd.register(app)
from usagectl.cli import insights as insights_cmd  # noqa: E402

insights_cmd.register(app)
from usagectl.cli import dashboard as dashboard_cmd  # noqa: E402

dashboard_cmd.register(app)


class _StdoutFile(io.FileIO):
    """Descriptor 1 beneath ``sys.stdout``: a write that finds the disk full, a file size limit
    or a disk quota reached, or the device failing (``> /dev/full``, ``> /full/x.csv``) is
    raised as "cannot write standard output: <reason>" (exit 2), not as an OSError that reached
    the top as an "unexpected error" (QA). Said here because only here is it known that the
    failing file is stdout: an OSError caught higher up names no file. A closed pipe stays a
    BrokenPipeError (a quiet success, ``_reader_gone``). Once a write has failed, later ones are
    dropped: the flush at exit would fail again and say it twice."""

    failed = False

    def write(self, data: Any) -> int:
        if self.failed or not memoryview(data).nbytes:  # Click probes with write(""): /dev/full
            return memoryview(data).nbytes  # refuses even that, and Click swallows what is raised
        try:
            return super().write(data)
        except OSError as exc:
            error = unwritable("cannot write standard output", exc)
            if error is None:
                raise
            self.failed = True
            raise error from exc


def _guard_stdout() -> None:
    """Put ``_StdoutFile`` beneath the process's own stdout (a replacement, as a test's
    capture, is left alone), keeping its encoding, error handler and buffering."""
    old = sys.stdout
    if old is not sys.__stdout__ or not isinstance(old, io.TextIOWrapper):
        return
    try:
        fd = old.fileno()
    except (OSError, ValueError):  # no descriptor (io.UnsupportedOperation is an OSError)
        return
    old.flush()
    raw = _StdoutFile(fd, "w", closefd=False)
    raw.name = old.name  # "<stdout>", as before
    # unbuffered as before under ``python -u`` / PYTHONUNBUFFERED (Python then writes straight
    # to the descriptor)
    unbuffered = isinstance(old.buffer, io.RawIOBase)
    sys.stdout = io.TextIOWrapper(
        raw if unbuffered else io.BufferedWriter(raw),
        encoding=old.encoding,
        errors=old.errors,
        newline="\n",  # what Python gives stdout on POSIX: "\n" written as is
        line_buffering=old.line_buffering,
        write_through=old.write_through,
    )


def _check_streams() -> None:
    """A closed stdout (``>&-``: Python sets ``sys.stdout`` to None) is refused before anything
    opens a file, which could get descriptor 1 and receive the output. A stdout or stderr that
    is not UTF-8 (a legacy locale, ``PYTHONIOENCODING=ascii``) writes what it cannot encode as
    ``?`` instead of failing mid-table with UnicodeEncodeError."""
    if sys.stdout is None:
        if sys.stderr is not None:
            print("usagectl: error: stdout is closed; give the command somewhere to write", file=sys.stderr)
        sys.exit(int(ExitCode.USAGE))
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "").replace("_", "")
        if encoding not in ("utf8", "utf8sig") and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    _guard_stdout()


def main() -> None:
    from usagectl.cli._lazy import pruned

    termination.install()  # already done by ``usagectl.__main__``; not by a script made before it
    _check_streams()
    try:
        try:
            pruned(app, sys.argv[1:])()
        finally:
            _flush_stdout()
    except UsagectlError as exc:
        sys.exit(report_error(exc))
    except KeyboardInterrupt:  # outside a command (while the command line is parsed)
        sys.exit(report_error(Interrupted("interrupted")))
    except BrokenPipeError:  # outside a command (e.g. `--help | head`)
        _reader_gone()
        sys.exit(int(ExitCode.OK))
    except Exception as exc:
        if was_interrupted(exc):
            sys.exit(report_error(Interrupted("interrupted")))
        if os.environ.get("USAGECTL_DEBUG"):
            raise
        if ran_out_of_memory(exc):  # a resource this machine lacks, not a bug to report
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            sys.exit(report_error(OutOfMemory(
                f"DuckDB ran out of memory: {first}",
                hint="free memory (other programs), or narrow the command (--since/--until, filters)",
            )))  # fmt: skip
        print(f"usagectl: unexpected error: {type(exc).__name__}: {printable(str(exc))}", file=sys.stderr)
        print("hint: run again with USAGECTL_DEBUG=1 for a traceback, and report it", file=sys.stderr)
        sys.exit(int(ExitCode.UNEXPECTED))
