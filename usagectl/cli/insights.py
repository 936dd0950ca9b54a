"""`usagectl forecast`, `usagectl anomalies`, `usagectl optimize`."""

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
    PlatformOpt,
    ProjectOpt,
    ProviderOpt,
    SinceOpt,
    TeamOpt,
    ToolOpt,
    TzOpt,
    UntilOpt,
    filter_values,
    pick_format,
    print_report,
    text_value,
    top_value,
    where_from,
)

if TYPE_CHECKING:
    from usagectl.services.context import AppContext
    from usagectl.services.reports import ReportRequest

DaysOpt = Annotated[int, typer.Option("--days", help="Days to forecast after the last complete day.")]
MetricOpt = Annotated[str, typer.Option("--metric", help="cost (priced USD) or tokens.")]
TopOpt = Annotated[
    int, typer.Option("--top", callback=top_value, help="With --by: forecast the N largest groups (0: all).")
]
ForecastByOpt = Annotated[
    str | None,
    typer.Option("--by", callback=text_value("--by"), help="Forecast each group: member, team, department, project, "
                 "model, provider, feature, api-key, integration."),
]  # fmt: skip
AnomalyByOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--by",
        callback=filter_values("--by"),
        help="Also check each member, model, feature, api-key or integration (repeatable).",
    ),
]


def _request(since: str | None, until: str | None, tz: str | None, **filters: list[str] | None) -> ReportRequest:
    from usagectl.services.reports import ReportRequest

    return ReportRequest(since=since, until=until, tz=tz, where=where_from(**filters))


def _dimension(typed: str, allowed: tuple[str, ...]) -> str:
    """A --by value as the service's key (``api-key`` -> ``api_key``), refused here, where the
    value as typed is known: the service sees only its key (``--by cost-center`` was echoed as
    'cost_center', with ``api_key`` among the choices where the help says ``api-key``)."""
    from usagectl.services.breakdowns import unknown_dimension

    key = typed.replace("-", "_")
    if key not in allowed:  # with the close one, as ``report by`` says it ("did you mean model?")
        raise unknown_dimension("--by", typed, tuple(k.replace("_", "-") for k in allowed))
    return key


def _context(config: Path | None, db: Path | None) -> AppContext:
    from usagectl.services.context import make_context

    return make_context(config, db)


def forecast(
    days: DaysOpt = 30,
    by: ForecastByOpt = None,
    metric: MetricOpt = "cost",
    top: TopOpt = 5,
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
    """Next N days as conservative / likely / aggressive (P10 / P50 / P90), the month-end
    projection, and each budget's chance and likely date of crossing (history: the 12 weeks up
    to yesterday, or up to --until; --since sets its start)."""
    from usagectl.services import forecast as svc

    req = _request(since, until, tz, model=model, provider=provider, member=member, team=team,
                   department=department, cost_center=cost_center, project=project, feature=feature, tool=tool,
                   integration=integration, platform=platform)  # fmt: skip
    key = _dimension(by, svc.FORECAST_DIMS) if by is not None else None
    freq = svc.ForecastRequest(days=days, by=key, metric=metric, top=top)  # type: ignore[arg-type]
    from usagectl.services.reports import with_filter_notes

    ctx = _context(config, db)
    print_report(with_filter_notes(ctx, svc.forecast_report(ctx, req, freq)), pick_format(fmt, as_json))


def anomalies(
    by: AnomalyByOpt = None,
    metric: MetricOpt = "cost",
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
    """Spikes and drops against each series' own weekly pattern, off-hours activity, new heavy
    models or keys, error bursts and model-switch recommendations (default: the last 14 complete
    days, judged against the 8 weeks before)."""
    from usagectl.services import anomalies as svc

    req = _request(since, until, tz, model=model, provider=provider, member=member, team=team,
                   department=department, cost_center=cost_center, project=project, feature=feature, tool=tool,
                   integration=integration, platform=platform)  # fmt: skip
    dims = tuple(_dimension(d, svc.ANOMALY_DIMS) for d in by or ())
    from usagectl.services.reports import with_filter_notes

    ctx = _context(config, db)
    result = svc.anomalies_report(ctx, req, by=dims, metric=metric)  # type: ignore[arg-type]
    print_report(with_filter_notes(ctx, result), pick_format(fmt, as_json))


def optimize(
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
    """Ranked savings: cheaper model for simple requests, batch tier, prompt caching, context
    management, file summaries; each with its events and $/month, by repricing those events
    (default: the last 30 days)."""
    from usagectl.services import optimize as svc

    req = _request(since, until, tz, model=model, provider=provider, member=member, team=team,
                   department=department, cost_center=cost_center, project=project, feature=feature, tool=tool,
                   integration=integration, platform=platform)  # fmt: skip
    from usagectl.services.reports import with_filter_notes

    ctx = _context(config, db)
    print_report(with_filter_notes(ctx, svc.optimize_report(ctx, req)), pick_format(fmt, as_json))


def register(root: typer.Typer) -> None:
    """Add `forecast`, `anomalies` and `optimize` to the root app."""
    root.command("forecast", help="Forecast the next days: P10/P50/P90, month end, budget crossing.")(forecast)
    root.command("anomalies", help="Spikes, drops and suspicious patterns against each series' own weekly rhythm.")(
        anomalies
    )
    root.command("optimize", help="Ranked savings, each computed by repricing the events it covers.")(optimize)
