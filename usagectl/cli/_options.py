"""Shared Annotated options, so every command spells them the same way."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from usagectl.errors import UsageError
from usagectl.render import OutputFormat, render_report

if TYPE_CHECKING:
    from usagectl.models import Report


def path_value(option: str) -> Callable[[str], Path]:
    """A parser for a path option that refuses an empty value: ``Path("")`` is ``.``, so
    ``--db "$DB"`` with an unset variable would otherwise name the current directory."""

    def parse(text: str) -> Path:
        if not text.strip():
            raise UsageError(f"{option}: empty path")
        return Path(text)

    return parse


def filter_values(option: str) -> Callable[[list[str] | None], list[str] | None]:
    """A callback for a repeatable filter option that refuses an empty value: ``--member
    "$MEMBER"`` with an unset variable would match nothing and report $0 with exit 0."""

    def check(values: list[str] | None) -> list[str] | None:
        if values and any(not v.strip() for v in values):
            raise UsageError(f"{option}: empty")
        return values

    return check


DbOpt = Annotated[
    Path | None,
    typer.Option(
        "--db",
        help="Database file (default: $USAGECTL_DB, config [database] path, user data dir).",
        show_default=False,
        parser=path_value("--db"),
        metavar="PATH",
    ),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="Config file (default: $USAGECTL_CONFIG, ./usagectl.toml, user config dir).",
        show_default=False,
        parser=path_value("--config"),
        metavar="PATH",
    ),
]
SinceOpt = Annotated[
    str | None, typer.Option("--since", help="First day, inclusive: YYYY-MM-DD, YYYYMMDD or relative (7d, 2w, 3m).")
]
UntilOpt = Annotated[str | None, typer.Option("--until", help="Last day, inclusive (same forms as --since).")]
MonthOpt = Annotated[
    str | None,
    typer.Option("--month", metavar="YYYY-MM", help="A calendar month: --since its first day --until its last."),
]
TzOpt = Annotated[
    str | None, typer.Option("--tz", help="IANA time zone for days and months (default: config, else local).")
]
# no default of its own (None = not given), so that pick_format can tell "--json --format csv"
# (a conflict) from "--json" alone; the help still shows the table default
FormatOpt = Annotated[
    OutputFormat | None,
    typer.Option("--format", "-f", help="Output format (default: table).", case_sensitive=False, show_default=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Shorthand for --format json.")]
ModelOpt = Annotated[
    list[str] | None,
    typer.Option("--model", callback=filter_values("--model"), help="Only these models (repeatable; aliases resolve)."),
]
ProviderOpt = Annotated[
    list[str] | None,
    typer.Option("--provider", callback=filter_values("--provider"), help="Only these providers (repeatable)."),
]
MemberOpt = Annotated[
    list[str] | None,
    typer.Option("--member", callback=filter_values("--member"), help="Only these members (repeatable)."),
]
TeamOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--team", callback=filter_values("--team"), help="Only these teams (repeatable; event or config mapping)."
    ),
]
FeatureOpt = Annotated[
    list[str] | None,
    typer.Option("--feature", callback=filter_values("--feature"), help="Only these features (repeatable)."),
]
ProjectOpt = Annotated[
    list[str] | None,
    typer.Option("--project", callback=filter_values("--project"), help="Only these projects (repeatable)."),
]


# DuckDB binds a count as a 64-bit signed integer (BIGINT): a larger --top reached the query and
# failed there ("unexpected error: ConversionException … LIMIT $top", exit 1; QA), while other
# commands took it; every count option now stops at this bound, before any SQL
MAX_COUNT = 2**63 - 1


def count_value(option: str) -> Callable[[int | None], int | None]:
    """The one rule for every count option (``--top N``, ``--limit N``): 0 means all; a negative N,
    or one beyond the 64-bit integer the store binds it as, is a usage error (exit 2)."""

    def check(value: int | None) -> int | None:
        if value is not None and not 0 <= value <= MAX_COUNT:
            raise UsageError(f"{option} {value}: must be between 0 (all) and {MAX_COUNT}")
        return value

    return check


top_value = count_value("--top")


def text_value(option: str) -> Callable[[str | None], str | None]:
    """A callback for a text option that refuses an empty value, as :func:`filter_values` does for
    the filters: ``--by "$DIM"`` or ``--at "$DAY"`` with an unset variable was taken as not given
    (the default report, exit 0)."""

    def check(value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise UsageError(f"{option}: empty")
        return value

    return check


def typed_command(ctx: typer.Context) -> str:
    """The command's words as typed after the program (``report by chat``, ``report chats``),
    whatever the program was called: ``ctx.command_path`` starts with the program's name, one
    word for the ``usagectl`` script but ``python -m usagectl`` under ``-m`` (QA: a message
    quoted "-m usagectl report chats" when only the first word was cut off)."""
    program = ctx.find_root().command_path
    return ctx.command_path.removeprefix(program).lstrip()


def print_report(report: Report, fmt: OutputFormat) -> None:
    """``report`` on stdout in ``fmt``. A CSV has no place for the report's notes (unpriced usage
    left out of the cost, a filter value no event holds and its close matches, a list cut at
    --top), and they were lost; they go to stderr, one a line, as `export --csv` prints them."""
    render_report(report, fmt, sys.stdout)
    if fmt is OutputFormat.CSV and report.notes:
        print_notes(tuple(report.notes))


def say(text: str) -> None:
    """A line for stderr, shown ``printable``: a note names models, members and paths taken from
    the input (QA: "Unpriced: … my\\x1b[2Jmodel" cleared the screen); the file keeps them exact."""
    from usagectl.models import printable_lines

    print(printable_lines(text), file=sys.stderr)


def print_notes(notes: tuple[str, ...]) -> None:
    """Notes on stderr, each a line starting "note: " (what a CSV or a file cannot hold)."""
    for note in notes:
        say(f"note: {note}")


def pick_format(fmt: OutputFormat | None, as_json: bool) -> OutputFormat:
    """The output format of --format / --json (table when neither is given). Both at once with
    different formats is a usage error: which one wins would be a guess about what the caller
    meant (a script that parses the output gets the other format)."""
    if as_json and fmt not in (None, OutputFormat.JSON):
        raise UsageError(f"--json and --format {fmt.value} conflict: give one of them")
    if as_json:
        return OutputFormat.JSON
    return fmt or OutputFormat.TABLE


def month_span(month: str | None, since: str | None, until: str | None) -> tuple[str | None, str | None]:
    """``--since/--until`` of a report that also takes ``--month`` (as ``invoice``, ``cost`` and
    ``report month`` do: QA, `report team --month 2026-10` beside the month's invoice was "No
    such option"): the month's first and last day; with either of the others, a usage error."""
    if month is None:
        return since, until
    from usagectl.timeutil import days_in_month, month_or_range, parse_month

    month_or_range(month, since, until)
    year, number = parse_month(month)
    return f"{year:04d}-{number:02d}-01", f"{year:04d}-{number:02d}-{days_in_month(year, number):02d}"


def with_month(report: Report, month: str | None) -> Report:
    """``report`` with the ``--month`` it was asked for in its filters (``"month": "YYYY-MM"``,
    as ``report month`` and ``invoice`` say it), beside the range ``month_span`` made of it: a
    script reading the JSON sees what was asked, not only the days (QA)."""
    if month is None:
        return report
    from dataclasses import replace

    return replace(report, filters={**report.filters, "month": month_label(month)})


def month_label(month: str) -> str:
    """A ``--month`` as filters say it (``YYYY-MM``, as ``parse_month`` read it)."""
    from usagectl.timeutil import parse_month

    year, number = parse_month(month)
    return f"{year:04d}-{number:02d}"


def where_from(**kwargs: list[str] | None) -> dict[str, tuple[str, ...]]:
    return {k: tuple(v) for k, v in kwargs.items() if v}


# analytics filters (issue 4: team, chats, files)
DepartmentOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--department",
        callback=filter_values("--department"),
        help="Only these departments (repeatable; event or config mapping).",
    ),
]
CostCenterOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--cost-center",
        callback=filter_values("--cost-center"),
        help="Only these cost centers (repeatable; event or config mapping).",
    ),
]
ToolOpt = Annotated[
    list[str] | None, typer.Option("--tool", callback=filter_values("--tool"), help="Only these tools (repeatable).")
]
IntegrationOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--integration", callback=filter_values("--integration"), help="Only these integrations (repeatable)."
    ),
]
PlatformOpt = Annotated[
    list[str] | None,
    typer.Option("--platform", callback=filter_values("--platform"), help="Only these platforms (repeatable)."),
]


# analytics time (issue 4: breakdowns and time)
WeekStartOpt = Annotated[
    str | None,
    typer.Option("--week-start", help="First day of a week: monday … sunday (default: config [display] week_start)."),
]


def bar_label(name: str) -> str:
    """A file name as a progress bar's description: its control characters escaped (a name
    holding ESC [2J cleared the screen; QA) and Rich markup taken literally ("[bold]a.jsonl")."""
    from rich.markup import escape

    from usagectl.models import printable

    return escape(printable(name)) if name else "done"
