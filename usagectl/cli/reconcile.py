"""`usagectl reconcile`: computed cost beside the providers' billed cost (UTC days)."""

from __future__ import annotations

from typing import Annotated

import typer

from usagectl.cli._options import (
    ConfigOpt,
    DbOpt,
    FormatOpt,
    JsonOpt,
    ProviderOpt,
    SinceOpt,
    UntilOpt,
    filter_values,
    pick_format,
    print_report,
)

TzOpt = Annotated[
    str | None,
    typer.Option("--tz", help="IANA time zone that decides today's date; reconcile days are always UTC days."),
]
SourceOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--source",
        callback=filter_values("--source"),
        help="Only events of these sources (repeatable), e.g. openai-usage; without --provider, beside the "
        "bills of their providers only.",
    ),
]


def reconcile(
    month: Annotated[
        str | None, typer.Option("--month", help="The month, YYYY-MM (default: the current month).")
    ] = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    tz: TzOpt = None,
    provider: ProviderOpt = None,
    source: SourceOpt = None,
    fmt: FormatOpt = None,
    as_json: JsonOpt = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Computed vs billed cost per UTC day and model, with the difference in $ and %."""
    from usagectl.services.context import make_context
    from usagectl.services.reconcile import ReconcileRequest
    from usagectl.services.reconcile import reconcile as run

    req = ReconcileRequest(
        month=month, since=since, until=until, tz=tz, providers=tuple(provider or ()), sources=tuple(source or ())
    )
    print_report(run(make_context(config, db), req), pick_format(fmt, as_json))
