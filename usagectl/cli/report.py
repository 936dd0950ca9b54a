"""`usagectl report ...`"""

from __future__ import annotations

import sys

import typer

from usagectl.cli._options import (
    ConfigOpt,
    DbOpt,
    FeatureOpt,
    FormatOpt,
    JsonOpt,
    MemberOpt,
    ModelOpt,
    ProjectOpt,
    ProviderOpt,
    SinceOpt,
    TeamOpt,
    TzOpt,
    UntilOpt,
    pick_format,
    where_from,
)
from usagectl.render import OutputFormat, render_report

app = typer.Typer(help="Usage and cost reports.", no_args_is_help=True)


def _run(kind: str, db, config, since, until, tz, fmt, as_json, month=None, **filters) -> None:  # type: ignore[no-untyped-def]
    from usagectl.services import reports
    from usagectl.services.context import make_context

    ctx = make_context(config, db)
    req = reports.ReportRequest(since=since, until=until, tz=tz, where=where_from(**filters))
    if kind == "month":
        result = reports.month(ctx, req, month)
    elif kind == "daily":
        result = reports.daily(ctx, req)
    else:
        result = reports.by_model(ctx, req)
    render_report(result, pick_format(fmt, as_json), sys.stdout)


@app.command("month")
def month(
    month: str = typer.Option(None, "--month", help="The month, YYYY-MM (default: the current month)."),
    since: SinceOpt = None,
    until: UntilOpt = None,
    tz: TzOpt = None,
    model: ModelOpt = None,
    provider: ProviderOpt = None,
    member: MemberOpt = None,
    team: TeamOpt = None,
    project: ProjectOpt = None,
    feature: FeatureOpt = None,
    fmt: FormatOpt = OutputFormat.TABLE,
    as_json: JsonOpt = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Month overview: usage vs quota, daily average, cost, projection, models, days."""
    _run("month", db, config, since, until, tz, fmt, as_json, month=month, model=model, provider=provider,
         member=member, team=team, project=project, feature=feature)  # fmt: skip


@app.command("daily")
def daily(
    since: SinceOpt = None,
    until: UntilOpt = None,
    tz: TzOpt = None,
    model: ModelOpt = None,
    provider: ProviderOpt = None,
    member: MemberOpt = None,
    team: TeamOpt = None,
    project: ProjectOpt = None,
    feature: FeatureOpt = None,
    fmt: FormatOpt = OutputFormat.TABLE,
    as_json: JsonOpt = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Tokens and cost per calendar day (default: the last 30 days)."""
    _run("daily", db, config, since, until, tz, fmt, as_json, model=model, provider=provider,
         member=member, team=team, project=project, feature=feature)  # fmt: skip


by_app = typer.Typer(help="Breakdowns by a dimension.", no_args_is_help=True)
app.add_typer(by_app, name="by")


@by_app.command("model")
def by_model(
    since: SinceOpt = None,
    until: UntilOpt = None,
    tz: TzOpt = None,
    model: ModelOpt = None,
    provider: ProviderOpt = None,
    member: MemberOpt = None,
    team: TeamOpt = None,
    project: ProjectOpt = None,
    feature: FeatureOpt = None,
    fmt: FormatOpt = OutputFormat.TABLE,
    as_json: JsonOpt = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Tokens, cost and shares per model (default: the current month)."""
    _run("by-model", db, config, since, until, tz, fmt, as_json, model=model, provider=provider,
         member=member, team=team, project=project, feature=feature)  # fmt: skip
