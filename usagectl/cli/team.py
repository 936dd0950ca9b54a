"""`usagectl report team|chats|files`, `usagectl chat show ID`, `usagectl message show ID`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

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
    month_span,
    pick_format,
    print_report,
    text_value,
    top_value,
    typed_command,
    where_from,
    with_month,
)
from usagectl.errors import UsageError

if TYPE_CHECKING:
    from usagectl.services.context import AppContext
    from usagectl.services.reports import ReportRequest

TopOpt = Annotated[
    int, typer.Option("--top", callback=top_value, help="Show the N most expensive (0: all); totals cover all.")
]
AllocateOpt = Annotated[
    str | None,
    typer.Option(
        "--allocate",
        help="Shared cost: proportional (to own cost) or even (default: config [team] allocate, else proportional).",
        show_default=False,
    ),
]
ByOpt = Annotated[
    str,
    typer.Option(
        "--by",
        help="Allocate shared cost to each member, team, department or cost-center first.",
        callback=text_value("--by"),
    ),
]

chat_app = typer.Typer(help="One chat (session) message by message.", no_args_is_help=True)
message_app = typer.Typer(
    help="One message: input breakdown, output, processing time, exact cost.", no_args_is_help=True
)


def _request(since: str | None, until: str | None, tz: str | None, **filters: list[str] | None) -> ReportRequest:
    from usagectl.services.reports import ReportRequest

    return ReportRequest(since=since, until=until, tz=tz, where=where_from(**filters))


def _context(config: Path | None, db: Path | None) -> AppContext:
    from usagectl.services.context import make_context

    return make_context(config, db)


def team(
    allocate: AllocateOpt = None,
    by: ByOpt = "member",
    since: SinceOpt = None,
    until: UntilOpt = None,
    month: MonthOpt = None,
    tz: TzOpt = None,
    model: ModelOpt = None,
    provider: ProviderOpt = None,
    member: MemberOpt = None,
    team: TeamOpt = None,
    department: DepartmentOpt = None,
    cost_center: CostCenterOpt = None,
    project: ProjectOpt = None,
    feature: FeatureOpt = None,
    tool: ToolOpt = None,
    integration: IntegrationOpt = None,
    platform: PlatformOpt = None,
    fmt: FormatOpt = None,
    as_json: JsonOpt = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Per member, team, department and cost center (default: the current month), with the
    shared cost (usage with no member) allocated exactly to the last $0.000001."""
    from usagectl.services import team as svc

    req = _request(*month_span(month, since, until), tz, model=model, provider=provider, member=member, team=team,
                   department=department, cost_center=cost_center, project=project, feature=feature, tool=tool,
                   integration=integration, platform=platform)  # fmt: skip
    result = svc.team(_context(config, db), req, allocate_mode=allocate, by=by)
    print_report(with_month(result, month), pick_format(fmt, as_json))


def chats(
    ctx: typer.Context,
    top: TopOpt = 50,
    since: SinceOpt = None,
    until: UntilOpt = None,
    month: MonthOpt = None,
    tz: TzOpt = None,
    model: ModelOpt = None,
    provider: ProviderOpt = None,
    member: MemberOpt = None,
    team: TeamOpt = None,
    department: DepartmentOpt = None,
    cost_center: CostCenterOpt = None,
    project: ProjectOpt = None,
    feature: FeatureOpt = None,
    tool: ToolOpt = None,
    integration: IntegrationOpt = None,
    platform: PlatformOpt = None,
    fmt: FormatOpt = None,
    as_json: JsonOpt = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
    second: Annotated[str | None, typer.Option("--by", hidden=True)] = None,
) -> None:
    """Per chat (session): title, messages, input/output tokens, cost, duration, models; by cost
    (default: the current month)."""
    from usagectl.services import chats as svc

    if second is not None:
        # `report by chat` sits beside the two-level `report by DIM --by DIM2`, so --by is tried
        # here too; Click's "No such option" would not say what to use instead. (Not named `by`:
        # `report by chat,model` is refused before it gets here, by that name.)
        typed = typed_command(ctx)  # `report by chat` or `report chats`, as typed
        raise UsageError(
            f"{typed} --by {second}: a chat has no second level (each chat's models are in its Models "
            "column; `usagectl chat show ID` lists one chat's messages); two levels combine two of "
            "model, provider, member, team, … (`usagectl report by model --by project`)"
        )

    req = _request(*month_span(month, since, until), tz, model=model, provider=provider, member=member, team=team,
                   department=department, cost_center=cost_center, project=project, feature=feature, tool=tool,
                   integration=integration, platform=platform)  # fmt: skip
    result = svc.report_chats(_context(config, db), req, top=top)
    print_report(with_month(result, month), pick_format(fmt, as_json))


def files(
    top: TopOpt = 50,
    since: SinceOpt = None,
    until: UntilOpt = None,
    month: MonthOpt = None,
    tz: TzOpt = None,
    model: ModelOpt = None,
    provider: ProviderOpt = None,
    member: MemberOpt = None,
    team: TeamOpt = None,
    department: DepartmentOpt = None,
    cost_center: CostCenterOpt = None,
    project: ProjectOpt = None,
    feature: FeatureOpt = None,
    tool: ToolOpt = None,
    integration: IntegrationOpt = None,
    platform: PlatformOpt = None,
    fmt: FormatOpt = None,
    as_json: JsonOpt = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Per uploaded file: size, extracted tokens (first read, re-reads), processing cost, reuse
    count (distinct chats); by cost (default: the current month)."""
    from usagectl.services import files_report as svc

    req = _request(*month_span(month, since, until), tz, model=model, provider=provider, member=member, team=team,
                   department=department, cost_center=cost_center, project=project, feature=feature, tool=tool,
                   integration=integration, platform=platform)  # fmt: skip
    result = svc.report_files(_context(config, db), req, top=top)
    print_report(with_month(result, month), pick_format(fmt, as_json))


@chat_app.command("show")
def chat_show(
    session_id: Annotated[str, typer.Argument(metavar="ID", help="The chat's session id.")],
    since: SinceOpt = None,
    until: UntilOpt = None,
    tz: TzOpt = None,
    model: ModelOpt = None,
    provider: ProviderOpt = None,
    member: MemberOpt = None,
    team: TeamOpt = None,
    department: DepartmentOpt = None,
    cost_center: CostCenterOpt = None,
    project: ProjectOpt = None,
    feature: FeatureOpt = None,
    tool: ToolOpt = None,
    integration: IntegrationOpt = None,
    platform: PlatformOpt = None,
    fmt: FormatOpt = None,
    as_json: JsonOpt = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Each message of one chat: time in the zone, model, input buckets, output, latency, cost
    (searches every day, usage dated after today included, unless --since/--until narrow it)."""
    from usagectl.services import chats as svc

    req = _request(since, until, tz, model=model, provider=provider, member=member, team=team,
                   department=department, cost_center=cost_center, project=project, feature=feature, tool=tool,
                   integration=integration, platform=platform)  # fmt: skip
    result = svc.chat_show(_context(config, db), req, session_id)
    print_report(result, pick_format(fmt, as_json))


@message_app.command("show")
def message_show(
    ident: Annotated[str, typer.Argument(metavar="ID", help="A message id or an event id.")],
    since: SinceOpt = None,
    until: UntilOpt = None,
    tz: TzOpt = None,
    fmt: FormatOpt = None,
    as_json: JsonOpt = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """One event: input (message, context, files; uncached, cache read, cache writes), output
    (response, tool outputs), processing time, and the exact cost: each bucket × the rate of the
    price period, tier and band that applied = amount (searches every day, usage dated after
    today included, unless --since/--until narrow it)."""
    from usagectl.services import chats as svc

    result = svc.message_show(_context(config, db), _request(since, until, tz), ident)
    print_report(result, pick_format(fmt, as_json))


def register(root: typer.Typer) -> None:
    """Add `report team|chats|files` to the report sub-app and `chat`, `message` to the root."""
    from usagectl.cli import report

    report.app.command("team", help="Team usage: members, teams, departments, cost centers; shared cost allocated.")(
        team
    )
    report.app.command("chats", help="Per chat (session): messages, input/output tokens, cost, duration.")(chats)
    report.by_app.command("chat", help="Alias of `report chats`: per chat (session).")(chats)
    report.app.command("files", help="Per file: size, extracted tokens, processing cost, reuse count.")(files)
    root.add_typer(chat_app, name="chat")
    root.add_typer(message_app, name="message")
