"""`usagectl cost`, `invoice`, `payment add|list`, `doctor`, `report integrations|platforms`."""

from __future__ import annotations

import sys
from typing import Annotated, Any

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
    pick_format,
    print_report,
    say,
    where_from,
)

MonthOpt = Annotated[str | None, typer.Option("--month", help="The month, YYYY-MM (default: the current month).")]

payment_app = typer.Typer(help="Payments recorded against invoices.", no_args_is_help=True)


def _service_report(kind: str, db, config, since, until, tz, fmt, as_json, **filters) -> None:  # type: ignore[no-untyped-def]
    from usagectl.services import integrations
    from usagectl.services.context import make_context
    from usagectl.services.reports import ReportRequest

    ctx = make_context(config, db)
    req = ReportRequest(since=since, until=until, tz=tz, where=where_from(**filters))
    result = integrations.integrations(ctx, req) if kind == "integration" else integrations.platforms(ctx, req)
    print_report(result, pick_format(fmt, as_json))


def report_integrations(
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
    """Tokens, cost, latency p50/p95, error rate and top errors per connected service (default: this month)."""
    _service_report("integration", db, config, since, until, tz, fmt, as_json, model=model, provider=provider,
                    member=member, team=team, department=department,
                    cost_center=cost_center, project=project, feature=feature, tool=tool,
                    integration=integration, platform=platform)  # fmt: skip


def report_platforms(
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
    """Tokens, cost, latency, error rate and voice-message cost per platform (default: this month)."""
    _service_report("platform", db, config, since, until, tz, fmt, as_json, model=model, provider=provider,
                    member=member, team=team, department=department,
                    cost_center=cost_center, project=project, feature=feature, tool=tool,
                    integration=integration, platform=platform)  # fmt: skip


def cost(
    month: MonthOpt = None,
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
    """Cost lines per model and bucket (quantity × rate = amount), tool fees, per-model cost and share."""
    from usagectl.services.context import make_context
    from usagectl.services.costs import cost_detail
    from usagectl.services.reports import ReportRequest

    where = where_from(model=model, provider=provider, member=member, team=team, department=department,
                       cost_center=cost_center,
                       project=project, feature=feature, tool=tool, integration=integration, platform=platform)  # fmt: skip
    req = ReportRequest(since=since, until=until, tz=tz, where=where)
    from usagectl.services.reports import with_filter_notes

    ctx = make_context(config, db)
    print_report(with_filter_notes(ctx, cost_detail(ctx, req, month)), pick_format(fmt, as_json))


def invoice(
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
    """A month's invoice: charges per model, token and feature breakdown, credits, tax, payments, balance."""
    from usagectl.services.context import make_context
    from usagectl.services.invoice import InvoiceRequest
    from usagectl.services.invoice import invoice as run

    where = where_from(model=model, provider=provider, member=member, team=team, department=department,
                       cost_center=cost_center,
                       project=project, feature=feature, tool=tool, integration=integration, platform=platform)  # fmt: skip
    req = InvoiceRequest(month=month, tz=tz, where=where)
    print_report(run(make_context(config, db), req), pick_format(fmt, as_json))


@payment_app.command("add")
def payment_add(
    paid_on: Annotated[str, typer.Argument(help="Date paid: YYYY-MM-DD (or YYYYMMDD).", metavar="DATE")],
    amount: Annotated[
        str,
        typer.Argument(
            help="Dollars: 120, 19.99 or '$1,500'; a refund is negative, after `--`: payment add -- DATE -20.",
            metavar="AMOUNT",
        ),
    ],
    note: Annotated[str | None, typer.Option("--note", help="A reference, e.g. the bank transfer id.")] = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Record a payment; invoices count it toward the balance."""
    from usagectl.services.context import make_context
    from usagectl.services.invoice import add_payment

    p = add_payment(make_context(config, db), paid_on, amount, note)
    print(f"Recorded {_payment_text(p)}", file=sys.stderr)
    if p["same_as"]:
        say(f"warning: {_same_text(p)}")


def _same_text(p: dict[str, Any]) -> str:
    """The identical payments recorded before ``p``, by id, and how to undo ``p`` if it is one
    of them recorded twice (the balance counts every payment)."""
    ids = ", ".join(f"#{i}" for i in p["same_as"])
    which = "payment" if len(p["same_as"]) == 1 else "payments"
    verb = "has" if len(p["same_as"]) == 1 else "have"
    pid = p["payment_id"]
    return (
        f"{which} {ids} {verb} the same date, amount and note, and the balance counts each: if #{pid} is the "
        f"same payment recorded again by mistake, `usagectl payment rm {pid}` removes it."
    )


@payment_app.command("rm")
def payment_rm(
    payment_id: Annotated[int, typer.Argument(help="The payment's ID (see `payment list`).", metavar="ID")],
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Delete a payment recorded by mistake (exit 2 if there is none with that ID)."""
    from usagectl.services.context import make_context
    from usagectl.services.invoice import remove_payment

    p = remove_payment(make_context(config, db), payment_id)
    print(f"Removed {_payment_text(p)}", file=sys.stderr)


def _payment_text(p: dict[str, Any]) -> str:
    """``payment #2: 2026-11-03 -$20.00 (note)``: the amount as ``payment list`` shows it."""
    from usagectl.render.formats import format_money

    extra = f" ({p['note']})" if p["note"] else ""
    return f"payment #{p['payment_id']}: {p['paid_on']} {format_money(p['amount_usd'])}{extra}"


@payment_app.command("list")
def payment_list(
    since: Annotated[str | None, typer.Option("--since", help="First payment date, inclusive.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Last payment date, inclusive.")] = None,
    fmt: FormatOpt = None,
    as_json: JsonOpt = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Recorded payments, oldest first, with their total."""
    from usagectl.services.context import make_context
    from usagectl.services.invoice import payments_report

    print_report(payments_report(make_context(config, db), since, until), pick_format(fmt, as_json))


def doctor(
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
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 when a finding is a warning or worse.")] = False,
    fmt: FormatOpt = None,
    as_json: JsonOpt = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Data gaps, unpriced models, members without team, cost mismatches, future events, time zone."""
    from usagectl.services.context import make_context
    from usagectl.services.doctor import DoctorRequest, strict_failure
    from usagectl.services.doctor import doctor as run

    where = where_from(model=model, provider=provider, member=member, team=team, department=department,
                       cost_center=cost_center,
                       project=project, feature=feature, tool=tool, integration=integration, platform=platform)  # fmt: skip
    report = run(make_context(config, db), DoctorRequest(since=since, until=until, tz=tz, where=where))
    print_report(report, pick_format(fmt, as_json))
    if strict and (failure := strict_failure(report)) is not None:
        raise failure


def register(app: typer.Typer) -> None:
    """Add the commands to the root app and to `usagectl report`."""
    from usagectl.cli import report

    app.command("cost")(cost)
    app.command("invoice")(invoice)
    app.add_typer(payment_app, name="payment")
    app.command("doctor")(doctor)
    report.app.command("integrations")(report_integrations)
    report.app.command("platforms")(report_platforms)
