"""`usagectl report ...`: month, daily, weekly, monthly, hourly, compare and `by DIM[,DIM2]`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from usagectl.cli._options import (
    ConfigOpt,
    CostCenterOpt,
    DbOpt,
    DepartmentOpt,
    FeatureOpt,
    FormatOpt,
    IntegrationOpt,
    JsonOpt,
    MemberOpt,
    ModelOpt,
    MonthOpt,
    PlatformOpt,
    ProjectOpt,
    ProviderOpt,
    SinceOpt,
    TeamOpt,
    ToolOpt,
    TzOpt,
    UntilOpt,
    WeekStartOpt,
    month_span,
    pick_format,
    print_report,
    text_value,
    top_value,
    where_from,
    with_month,
)
from usagectl.errors import UsageError
from usagectl.render import OutputFormat

if TYPE_CHECKING:
    from usagectl.models import Report
    from usagectl.services.context import AppContext
    from usagectl.services.reports import ReportRequest

# the dimensions of `report by` (the allow-list itself is usagectl.services.breakdowns.DIMENSIONS)
DIMENSION_NAMES = (
    "model", "provider", "member", "team", "department", "cost-center", "project", "workspace", "api-key",
    "feature", "tool", "integration", "platform", "service-tier", "source",
)  # fmt: skip

ByOpt = Annotated[
    str | None,
    typer.Option(
        "--by",
        callback=text_value("--by"),
        help="The levels, one or two comma-separated dimensions (e.g. team,model).",
        metavar="DIMS",
    ),
]
TopOpt = Annotated[
    int | None,
    typer.Option(
        "--top", callback=top_value, help="Keep the N largest rows (per first-level group); fold the rest (0: all)."
    ),
]
MetricOpt = Annotated[
    str, typer.Option("--metric", metavar="tokens|cost", help="What the heat map counts: tokens or cost.")
]

app = typer.Typer(help="Usage and cost reports.", no_args_is_help=True)


def _context(config: Any, db: Any, since: str | None, until: str | None, tz: str | None, **filters: list[str] | None
             ) -> tuple[AppContext, ReportRequest]:  # fmt: skip
    from usagectl.services.context import make_context
    from usagectl.services.reports import ReportRequest

    return make_context(config, db), ReportRequest(since=since, until=until, tz=tz, where=where_from(**filters))


def _show(result: Report, fmt: OutputFormat | None, as_json: bool, ctx: AppContext) -> None:
    from usagectl.services.reports import with_empty_notes

    # no usage shown: say why (an empty database, or a filter value no event holds)
    print_report(with_empty_notes(ctx, result), pick_format(fmt, as_json))


@app.command("month")
def month(
    month: str = typer.Option(None, "--month", help="The month, YYYY-MM (default: the current month)."),
    since: SinceOpt = None, until: UntilOpt = None, tz: TzOpt = None,
    model: ModelOpt = None, provider: ProviderOpt = None, member: MemberOpt = None, team: TeamOpt = None,
    department: DepartmentOpt = None,
    cost_center: CostCenterOpt = None, project: ProjectOpt = None, feature: FeatureOpt = None, tool: ToolOpt = None,
    integration: IntegrationOpt = None, platform: PlatformOpt = None,
    fmt: FormatOpt = None, as_json: JsonOpt = False, db: DbOpt = None, config: ConfigOpt = None,
) -> None:  # fmt: skip
    """Month overview: usage vs quota, daily average, cost, projection, models, days."""
    from usagectl.services import reports

    ctx, req = _context(config, db, since, until, tz, model=model, provider=provider, member=member, team=team,
                        department=department, cost_center=cost_center, project=project, feature=feature, tool=tool,
                        integration=integration, platform=platform)  # fmt: skip
    _show(reports.month(ctx, req, month), fmt, as_json, ctx)


def _periodic(unit: str, week_start: str | None, config: Any, db: Any, since: str | None, until: str | None,
              tz: str | None, fmt: OutputFormat | None, as_json: bool, **filters: list[str] | None) -> None:  # fmt: skip
    from usagectl.services.timeseries import periodic

    ctx, req = _context(config, db, since, until, tz, **filters)
    _show(periodic(ctx, req, unit, week_start=week_start), fmt, as_json, ctx)  # type: ignore[arg-type]


@app.command("daily")
def daily(
    since: SinceOpt = None, until: UntilOpt = None, tz: TzOpt = None,
    model: ModelOpt = None, provider: ProviderOpt = None, member: MemberOpt = None, team: TeamOpt = None,
    department: DepartmentOpt = None,
    cost_center: CostCenterOpt = None, project: ProjectOpt = None, feature: FeatureOpt = None, tool: ToolOpt = None,
    integration: IntegrationOpt = None, platform: PlatformOpt = None,
    fmt: FormatOpt = None, as_json: JsonOpt = False, db: DbOpt = None, config: ConfigOpt = None,
) -> None:  # fmt: skip
    """Tokens and cost per calendar day, change vs the day before, spikes (default: the last 30 days)."""
    _periodic("day", None, config, db, since, until, tz, fmt, as_json, model=model, provider=provider, member=member,
              team=team, department=department, cost_center=cost_center, project=project, feature=feature, tool=tool,
              integration=integration, platform=platform)  # fmt: skip


@app.command("weekly")
def weekly(
    week_start: WeekStartOpt = None, since: SinceOpt = None, until: UntilOpt = None, tz: TzOpt = None,
    model: ModelOpt = None, provider: ProviderOpt = None, member: MemberOpt = None, team: TeamOpt = None,
    department: DepartmentOpt = None,
    cost_center: CostCenterOpt = None, project: ProjectOpt = None, feature: FeatureOpt = None, tool: ToolOpt = None,
    integration: IntegrationOpt = None, platform: PlatformOpt = None,
    fmt: FormatOpt = None, as_json: JsonOpt = False, db: DbOpt = None, config: ConfigOpt = None,
) -> None:  # fmt: skip
    """Tokens and cost per calendar week, week-over-week change, spikes (default: the last 12 weeks)."""
    _periodic("week", week_start, config, db, since, until, tz, fmt, as_json, model=model, provider=provider,
              member=member, team=team, department=department,
              cost_center=cost_center, project=project, feature=feature, tool=tool,
              integration=integration, platform=platform)  # fmt: skip


@app.command("monthly")
def monthly(
    since: SinceOpt = None, until: UntilOpt = None, tz: TzOpt = None,
    model: ModelOpt = None, provider: ProviderOpt = None, member: MemberOpt = None, team: TeamOpt = None,
    department: DepartmentOpt = None,
    cost_center: CostCenterOpt = None, project: ProjectOpt = None, feature: FeatureOpt = None, tool: ToolOpt = None,
    integration: IntegrationOpt = None, platform: PlatformOpt = None,
    fmt: FormatOpt = None, as_json: JsonOpt = False, db: DbOpt = None, config: ConfigOpt = None,
) -> None:  # fmt: skip
    """Tokens and cost per calendar month, month-over-month change, spikes, budget vs actual (default: 12 months)."""
    _periodic("month", None, config, db, since, until, tz, fmt, as_json, model=model, provider=provider,
              member=member, team=team, department=department,
              cost_center=cost_center, project=project, feature=feature, tool=tool,
              integration=integration, platform=platform)  # fmt: skip


@app.command("hourly")
def hourly(
    metric: MetricOpt = "tokens", week_start: WeekStartOpt = None,
    since: SinceOpt = None, until: UntilOpt = None, tz: TzOpt = None,
    model: ModelOpt = None, provider: ProviderOpt = None, member: MemberOpt = None, team: TeamOpt = None,
    department: DepartmentOpt = None,
    cost_center: CostCenterOpt = None, project: ProjectOpt = None, feature: FeatureOpt = None, tool: ToolOpt = None,
    integration: IntegrationOpt = None, platform: PlatformOpt = None,
    fmt: FormatOpt = None, as_json: JsonOpt = False, db: DbOpt = None, config: ConfigOpt = None,
) -> None:  # fmt: skip
    """Hour-of-day × weekday heat map of tokens or cost; busiest hours, days, peaks (default: the last 28 days)."""
    from usagectl.services.hourly import hourly as build

    ctx, req = _context(config, db, since, until, tz, model=model, provider=provider, member=member, team=team,
                        department=department, cost_center=cost_center, project=project, feature=feature, tool=tool,
                        integration=integration, platform=platform)  # fmt: skip
    _show(build(ctx, req, metric=metric, week_start=week_start), fmt, as_json, ctx)


@app.command("compare")
def compare(
    period: str = typer.Option(..., "--period", metavar="RANGE", help="Range A: YYYY, YYYY-Qn, YYYY-MM, YYYY-Www, YYYY-MM-DD or "
                               "YYYY-MM-DD..YYYY-MM-DD."),
    vs: str = typer.Option(None, "--vs", metavar="RANGE", callback=text_value("--vs"),
                           help="Range B, the same forms, or previous (default) or year-ago."),
    by: str = typer.Option("model", "--by", help="The dimension of the rows.", metavar="DIM"),
    tz: TzOpt = None,
    model: ModelOpt = None, provider: ProviderOpt = None, member: MemberOpt = None, team: TeamOpt = None,
    department: DepartmentOpt = None,
    cost_center: CostCenterOpt = None, project: ProjectOpt = None, feature: FeatureOpt = None, tool: ToolOpt = None,
    integration: IntegrationOpt = None, platform: PlatformOpt = None,
    fmt: FormatOpt = None, as_json: JsonOpt = False, db: DbOpt = None, config: ConfigOpt = None,
) -> None:  # fmt: skip
    """Two ranges side by side per dimension: A, B, change and change % (month vs month, year over year)."""
    from usagectl.services.compare import compare as build

    ctx, req = _context(config, db, None, None, tz, model=model, provider=provider, member=member, team=team,
                        department=department, cost_center=cost_center, project=project, feature=feature, tool=tool,
                        integration=integration, platform=platform)  # fmt: skip
    _show(build(ctx, req, period, vs, by=by), fmt, as_json, ctx)


# --------------------------------------------------------------------------- report by


class _ByGroup(TyperGroup):
    """``report by DIM`` is a command per dimension; ``report by team,model`` and
    ``report by --by team,model`` run the command of the first level with ``--by``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and (args[0] == "--by" or args[0].startswith("--by=")):
            value = args[1] if args[0] == "--by" and len(args) > 1 else args[0][5:]
            if not ctx.resilient_parsing:  # `report by --by ''`: Click's "No such command ''" otherwise
                text_value("--by")(value)
            self._check_two_levels(ctx, value, typed=_typed(args))
            args = [value.split(",")[0].strip(), *args]
        return super().parse_args(ctx, args)

    @staticmethod
    def command_for(arg: str) -> str:
        """The dimension command that ``arg`` (``Model``, ``team,model``) runs."""
        return arg.strip().lower().replace("_", "-").split(",")[0].strip()

    def _check_two_levels(self, ctx: Any, levels: str, *, typed: str | None = None) -> None:
        """``report by chat,model``: a command without --by (``chat``, an alias of `report chats`)
        has no second level. Said in the words the user typed, not Click's "No such option: --by"
        about an option they never gave."""
        first = self.command_for(levels)
        if ctx.resilient_parsing or not first or first.startswith("-"):
            return
        command = self.get_command(ctx, first)
        if command is not None and not any(p.name == "by" for p in command.params):
            raise UsageError(
                f"{typed or f'report by {levels}'}: {first} has no second level (`report by {first}` alone); "
                f"two levels combine two of {', '.join(DIMENSION_NAMES)}"
            )

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        typed = _typed(args)
        raw = args[0] if args else ""
        name = raw.strip().lower().replace("_", "-")
        if args and not name and not ctx.resilient_parsing:  # `report by "$DIM"` with DIM unset
            raise UsageError(f"report by: empty dimension; choose from {', '.join(self.list_commands(ctx))}")
        if args and not name.startswith("-"):
            args = [name, *args[1:]]
        if "," in name:
            if any(a == "--by" or a.startswith("--by=") for a in args[1:]):
                raise UsageError(f"{typed}: give the levels once, as DIM,DIM2 or with --by")
            self._check_two_levels(ctx, name, typed=typed)
            args = [self.command_for(name), "--by", name, *args[1:]]
        if not ctx.resilient_parsing and name and not name.startswith("-"):
            first = args[0]
            if self.get_command(ctx, first) is None:
                from usagectl.services.breakdowns import unknown_dimension

                raise unknown_dimension("report by", raw.split(",")[0], self.list_commands(ctx))
        return super().resolve_command(ctx, args)


def _typed(args: list[str]) -> str:
    """``report by`` and the levels as the user typed them, for a message: ``report by
    Chat,Model``, ``report by chat, model`` (a space after the comma splits the levels into two
    words), ``report by --by=chat,model``; never a form of ours (``chat,:``, ``--by chat,model``)."""
    words = args[:1]
    if args and args[0] == "--by":
        words = args[:2]
    elif args and args[0].rstrip().endswith(",") and len(args) > 1 and not args[1].startswith("-"):
        words = args[:2]
    return " ".join(["report by", *words])


by_app = typer.Typer(
    cls=_ByGroup,
    help="Tokens, cost and shares per dimension: `report by DIM`, two levels with `report by DIM,DIM2` or --by.",
    no_args_is_help=True,
)
app.add_typer(by_app, name="by")


def _levels(dim: str, by: str | None) -> list[str]:
    """``report by team`` -> [team]; ``--by team,model`` or ``--by model`` -> [team, model]."""
    parts = [p.strip() for p in by.split(",")] if by else []
    if parts and parts[0].replace("_", "-").lower() == dim:
        return parts
    return [dim, *parts]


def _by_command(dim: str) -> Any:
    def command(
        by: ByOpt = None, top: TopOpt = None, since: SinceOpt = None, until: UntilOpt = None, month: MonthOpt = None,
        tz: TzOpt = None,
        model: ModelOpt = None, provider: ProviderOpt = None, member: MemberOpt = None, team: TeamOpt = None,
        department: DepartmentOpt = None,
        cost_center: CostCenterOpt = None, project: ProjectOpt = None, feature: FeatureOpt = None,
        tool: ToolOpt = None, integration: IntegrationOpt = None, platform: PlatformOpt = None,
        fmt: FormatOpt = None, as_json: JsonOpt = False, db: DbOpt = None, config: ConfigOpt = None,
    ) -> None:  # fmt: skip
        from usagectl.services.breakdowns import breakdown, parse_dimensions

        keys = parse_dimensions([",".join(_levels(dim, by))], option="report by")
        since, until = month_span(month, since, until)
        ctx, req = _context(config, db, since, until, tz, model=model, provider=provider, member=member, team=team,
                            department=department, cost_center=cost_center, project=project, feature=feature, tool=tool,
                            integration=integration, platform=platform)  # fmt: skip
        _show(with_month(breakdown(ctx, req, keys, top=top or None), month), fmt, as_json, ctx)

    what = {"cost-center": "cost center", "api-key": "API key", "service-tier": "service tier"}.get(dim, dim)
    command.__doc__ = f"Tokens, cost and shares per {what}; --by {dim},DIM2 for two levels (default: this month)."
    command.__name__ = f"by_{dim.replace('-', '_')}"
    return command


for _dim in DIMENSION_NAMES:
    by_app.command(_dim)(_by_command(_dim))
