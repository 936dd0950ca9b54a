"""`usagectl budget set|list|rm|status|history`"""

from __future__ import annotations

import sys
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import typer

from usagectl.cli._options import ConfigOpt, DbOpt, FormatOpt, JsonOpt, TzOpt, pick_format, print_report

if TYPE_CHECKING:
    from usagectl.services.budget_config import ConfigEdit

app = typer.Typer(
    help="Budgets in the config file ([[budgets]]) and spend against them.",
    no_args_is_help=True,
)


class Period(str, Enum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


class FailOn(str, Enum):
    WARNING = "warning"
    CAUTION = "caution"
    CRITICAL = "critical"
    EXCEEDED = "exceeded"


ScopeArg = Annotated[
    str,
    typer.Argument(
        help="global, member:NAME, team:NAME, department:NAME, project:NAME, cost-center:NAME, model:NAME or feature:NAME.",
        metavar="SCOPE",
        show_default=False,
    ),
]
PeriodOpt = Annotated[
    Period, typer.Option("--period", help="Calendar period in the configured zone.", case_sensitive=False)
]
PeriodFilterOpt = Annotated[
    Period | None,
    typer.Option("--period", help="The budget's period, when the scope has several.", case_sensitive=False),
]


@app.command("set")
def set_cmd(
    scope: ScopeArg,
    amount: Annotated[
        str,
        typer.Argument(
            help="Dollars (500, 19.99, '$1,500') or, with --tokens, tokens.", metavar="AMOUNT", show_default=False
        ),
    ],
    period: PeriodOpt = Period.MONTH,
    thresholds: Annotated[
        str | None,
        typer.Option(
            "--thresholds",
            help="Warning, caution, critical percentages (default 75,90,95; kept when replacing). Exceeded is 100.",
        ),
    ] = None,
    tokens: Annotated[bool, typer.Option("--tokens", help="AMOUNT is a number of tokens, not dollars.")] = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Add a budget to the config file, or replace the one with the same scope and period.

    Only the lines of that budget change (atomically: temporary file + rename); comments,
    formatting, line endings and every other section stay as they were. A scope that matches
    nothing (a model the price tables do not know, a name with no usage in the database and not
    in [members]) is set all the same, with a warning.
    """
    from usagectl.services import budgets
    from usagectl.services.context import make_context

    edit = budgets.set_budget(config, scope, amount, period=period.value, thresholds=thresholds, tokens=tokens)
    _said(edit)
    warning = budgets.scope_warning(make_context(edit.path, db), scope)
    if warning:
        print(f"warning: {warning}", file=sys.stderr)


@app.command("rm")
def rm_cmd(scope: ScopeArg, period: PeriodFilterOpt = None, config: ConfigOpt = None) -> None:
    """Remove a budget from the config file (exit 2 if there is none).

    Only the lines of that budget change (atomically: temporary file + rename); comments,
    formatting and every other section stay as they were.
    """
    from usagectl.services import budgets

    _said(budgets.remove_budget(config, scope, period.value if period else None))


def _said(edit: ConfigEdit) -> None:
    print(f"{edit.what} ({edit.path})", file=sys.stderr)
    if edit.warning:
        print(f"warning: {edit.warning}", file=sys.stderr)


@app.command("list")
def list_cmd(fmt: FormatOpt = None, as_json: JsonOpt = False, config: ConfigOpt = None) -> None:
    """The budgets: scope, period, limit, thresholds, and where each is set (the plan quota too)."""
    from usagectl.services import budgets
    from usagectl.services.context import make_context

    print_report(budgets.list_report(make_context(config, None)), pick_format(fmt, as_json))


@app.command("status")
def status_cmd(
    fail_on: Annotated[
        FailOn | None,
        typer.Option(
            "--fail-on",
            help="Exit 5 when any budget is at or above this level (after showing the table).",
            case_sensitive=False,
        ),
    ] = None,
    tz: TzOpt = None,
    fmt: FormatOpt = None,
    as_json: JsonOpt = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Each budget in its current period: spend, % used, level, projection, day it hits 100 %."""
    from usagectl.config import effective_timezone
    from usagectl.services import budgets
    from usagectl.services.context import make_context

    ctx = make_context(config, db)
    zone = effective_timezone(tz, ctx.config)
    states = budgets.budget_status(ctx, tz=zone)
    print_report(budgets.status_report(states, zone), pick_format(fmt, as_json))
    if fail_on is not None:
        error = budgets.fail_on_error(states, fail_on.value)
        if error is not None:
            raise error


@app.command("history")
def history_cmd(
    scope: Annotated[
        str,
        typer.Argument(help="The budget's scope (or 'plan' for the plan quota).", metavar="SCOPE", show_default=False),
    ],
    period: PeriodFilterOpt = None,
    periods: Annotated[int, typer.Option("--periods", help="How many complete periods before the current one.")] = 12,
    tz: TzOpt = None,
    fmt: FormatOpt = None,
    as_json: JsonOpt = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Budget vs actual for the last complete periods and the current one."""
    from usagectl.services import budgets
    from usagectl.services.context import make_context

    ctx = make_context(config, db)
    report = budgets.budget_history(ctx, scope, period=period.value if period else None, periods=periods, tz=tz)
    print_report(report, pick_format(fmt, as_json))
